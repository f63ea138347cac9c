"""grpcurl in Python: call any gRPC server that has server reflection, with
JSON in and JSON out, knowing none of its .proto files.

It speaks grpc.reflection.v1alpha.ServerReflection (the bidi stream
ServerReflectionInfo) through message classes built here from a
hand-written FileDescriptorProto of reflection.proto, lists the services,
fetches the file descriptors that define a symbol (and their dependencies,
by file name, falling back to this interpreter's own copy for files the
server does not send, such as google/protobuf/timestamp.proto), loads them
into a private DescriptorPool and builds message classes from it. Requests
and responses go through google.protobuf.json_format, so field names are
protobuf's JSON names ("intervalMs") and 64-bit integers are strings, as
grpcurl prints them.

grpc.health.v1.Health is usually served without a descriptor (gRPC C++'s
default health service encodes its messages by hand), so reflection can
name it but not describe it; its three-message file is built in here too
and used when the server does not send one.

Library:
    r = Reflector("unix:/run/rustnet/rustnetd.sock")
    r.list_services()                   # ["grpc.health.v1.Health", ...]
    print(r.describe("rustnet.v1.Monitor"))
    r.call("rustnet.v1.Monitor/GetStats", {}, timeout=5)        # -> dict
    s = r.stream("rustnet.v1.Monitor/WatchConnections", {"intervalMs": 100})
    for update in s: ...; s.cancel()
Errors from the server are grpc.RpcError (code(), details()); a symbol
reflection does not know is LookupError.

Command line (plaintext unless TLS files are given):
    grpc_reflect.py [--cacert F [--cert F --key F]] TARGET list
    grpc_reflect.py TARGET describe SYMBOL
    grpc_reflect.py TARGET call SERVICE/METHOD ['{"json": 1}']
TARGET is "unix:/path/to.sock" or "host:port".

Needs python3-grpcio and python3-protobuf (Debian's /usr/bin/python3).
"""
import json
import sys
import threading

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import json_format
from google.protobuf import message_factory
# Imported so the default pool holds these files, for servers that do not
# send the well-known types they depend on.
from google.protobuf import duration_pb2  # noqa: F401
from google.protobuf import empty_pb2  # noqa: F401
from google.protobuf import timestamp_pb2  # noqa: F401
from google.protobuf import wrappers_pb2  # noqa: F401

REFLECTION_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
HEALTH_SERVICE = "grpc.health.v1.Health"

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "int32": _F.TYPE_INT32,
}


def _file(name, package, messages, enums=(), services=()):
    """A FileDescriptorProto from compact tables.

    messages: [(name, [(field name, number, type, label, oneof index or None)],
                [oneof names])]; type is a scalar name or ".full.MessageName".
    enums: [(name, [(value name, number)])].
    services: [(name, [(method, input, output, client streaming, server streaming)])].
    """
    f = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    for ename, values in enums:
        e = f.enum_type.add(name=ename)
        for vname, number in values:
            e.value.add(name=vname, number=number)
    for mname, fields, oneofs in messages:
        m = f.message_type.add(name=mname)
        for oneof in oneofs:
            m.oneof_decl.add(name=oneof)
        for fname, number, ftype, label, oneof in fields:
            fd = m.field.add(name=fname, number=number, json_name=_json_name(fname))
            fd.label = _F.LABEL_REPEATED if label == "repeated" else _F.LABEL_OPTIONAL
            if ftype in _SCALARS:
                fd.type = _SCALARS[ftype]
            elif ftype.startswith("enum:"):
                fd.type = _F.TYPE_ENUM
                fd.type_name = ftype[5:]
            else:
                fd.type = _F.TYPE_MESSAGE
                fd.type_name = ftype
            if oneof is not None:
                fd.oneof_index = oneof
    for sname, methods in services:
        s = f.service.add(name=sname)
        for mname, inp, out, cs, ss in methods:
            s.method.add(name=mname, input_type=inp, output_type=out, client_streaming=cs,
                         server_streaming=ss)
    return f


def _json_name(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# grpc/reflection/v1alpha/reflection.proto, as published by gRPC.
_R = ".grpc.reflection.v1alpha."
REFLECTION_FILE = _file(
    "grpc/reflection/v1alpha/reflection.proto", "grpc.reflection.v1alpha",
    messages=[
        ("ServerReflectionRequest", [
            ("host", 1, "string", None, None),
            ("file_by_filename", 3, "string", None, 0),
            ("file_containing_symbol", 4, "string", None, 0),
            ("file_containing_extension", 5, _R + "ExtensionRequest", None, 0),
            ("all_extension_numbers_of_type", 6, "string", None, 0),
            ("list_services", 7, "string", None, 0),
        ], ["message_request"]),
        ("ExtensionRequest", [
            ("containing_type", 1, "string", None, None),
            ("extension_number", 2, "int32", None, None),
        ], []),
        ("ServerReflectionResponse", [
            ("valid_host", 1, "string", None, None),
            ("original_request", 2, _R + "ServerReflectionRequest", None, None),
            ("file_descriptor_response", 4, _R + "FileDescriptorResponse", None, 0),
            ("all_extension_numbers_response", 5, _R + "ExtensionNumberResponse", None, 0),
            ("list_services_response", 6, _R + "ListServiceResponse", None, 0),
            ("error_response", 7, _R + "ErrorResponse", None, 0),
        ], ["message_response"]),
        ("FileDescriptorResponse", [
            ("file_descriptor_proto", 1, "bytes", "repeated", None),
        ], []),
        ("ExtensionNumberResponse", [
            ("base_type_name", 1, "string", None, None),
            ("extension_number", 2, "int32", "repeated", None),
        ], []),
        ("ListServiceResponse", [
            ("service", 1, _R + "ServiceResponse", "repeated", None),
        ], []),
        ("ServiceResponse", [("name", 1, "string", None, None)], []),
        ("ErrorResponse", [
            ("error_code", 1, "int32", None, None),
            ("error_message", 2, "string", None, None),
        ], []),
    ],
    services=[("ServerReflection", [
        ("ServerReflectionInfo", _R + "ServerReflectionRequest",
         _R + "ServerReflectionResponse", True, True)])])

# grpc/health/v1/health.proto, as published by gRPC.
_H = ".grpc.health.v1."
HEALTH_FILE = _file(
    "grpc/health/v1/health.proto", "grpc.health.v1",
    messages=[
        ("HealthCheckRequest", [("service", 1, "string", None, None)], []),
        ("HealthCheckResponse", [
            ("status", 1, "enum:" + _H + "HealthCheckResponse.ServingStatus", None, None),
        ], []),
    ],
    services=[("Health", [
        ("Check", _H + "HealthCheckRequest", _H + "HealthCheckResponse", False, False),
        ("Watch", _H + "HealthCheckRequest", _H + "HealthCheckResponse", False, True),
    ])])
_serving = HEALTH_FILE.message_type[1].enum_type.add(name="ServingStatus")
for _n, _v in (("UNKNOWN", 0), ("SERVING", 1), ("NOT_SERVING", 2), ("SERVICE_UNKNOWN", 3)):
    _serving.value.add(name=_n, number=_v)
del _serving, _n, _v


def _message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def _pool_with(*files):
    pool = descriptor_pool.DescriptorPool()
    for f in files:
        pool.Add(f)
    return pool


_reflection_pool = _pool_with(REFLECTION_FILE)
_ReflectionRequest = _message_class(
    _reflection_pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest"))
_ReflectionResponse = _message_class(
    _reflection_pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse"))


class Stream:
    """Iterator of dicts over a server-streaming call (of the messages
    themselves with as_dict=False: converting a big message to a dict costs
    the client far more than the server spent on it); cancel() ends it (the
    iteration then stops quietly, without an exception)."""

    def __init__(self, call, response_class, as_dict=True):
        self._call = call
        self._response_class = response_class
        self._as_dict = as_dict
        self._cancelled = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            message = next(self._call)
        except grpc.RpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise
        return _to_dict(message) if self._as_dict else message

    def cancel(self):
        self._cancelled = True
        self._call.cancel()

    def code(self):
        return self._call.code()

    def details(self):
        return self._call.details()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()


def _to_dict(message):
    return json_format.MessageToDict(message)


class Reflector:
    """A client for one server, driven by its reflection service."""

    def __init__(self, target, credentials=None, options=None, channel=None):
        self.target = target
        if channel is not None:
            self.channel = channel
        elif credentials is not None:
            self.channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self._pool = descriptor_pool.DescriptorPool()
        self._loaded = set()  # File names added to self._pool.
        self._lock = threading.Lock()
        self._info = self.channel.stream_stream(
            "/" + REFLECTION_SERVICE + "/ServerReflectionInfo",
            request_serializer=_ReflectionRequest.SerializeToString,
            response_deserializer=_ReflectionResponse.FromString)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- Reflection -----------------------------------------------------------

    def _ask(self, timeout=10, **request):
        """Sends one ServerReflectionRequest on its own stream and returns the
        response (raises LookupError on an ErrorResponse)."""
        req = _ReflectionRequest(**request)
        responses = self._info(iter([req]), timeout=timeout)
        try:
            response = next(responses)
        finally:
            responses.cancel()
        if response.WhichOneof("message_response") == "error_response":
            raise LookupError("%s: %s (code %d)" % (
                json_format.MessageToJson(req, indent=None).strip(),
                response.error_response.error_message, response.error_response.error_code))
        return response

    def list_services(self, timeout=10):
        response = self._ask(timeout=timeout, list_services="*")
        return sorted(s.name for s in response.list_services_response.service)

    def _add_files(self, serialized, timeout):
        """Adds FileDescriptorProtos (bytes) and, first, their dependencies."""
        by_name = {}
        for blob in serialized:
            f = descriptor_pb2.FileDescriptorProto.FromString(blob)
            by_name.setdefault(f.name, f)

        def add(name, stack):
            if name in self._loaded:
                return
            if name in stack:
                raise LookupError("import cycle through " + name)
            f = by_name.get(name) or self._fetch_file(name, timeout)
            for dep in f.dependency:
                add(dep, stack + (name,))
            self._pool.Add(f)
            self._loaded.add(name)

        for name in by_name:
            add(name, ())

    def _fetch_file(self, name, timeout):
        """A dependency the server did not send with the file that needs it:
        ask for it by name, else take this interpreter's copy (the
        well-known types), else the built-in health.proto."""
        try:
            response = self._ask(timeout=timeout, file_by_filename=name)
            for blob in response.file_descriptor_response.file_descriptor_proto:
                f = descriptor_pb2.FileDescriptorProto.FromString(blob)
                if f.name == name:
                    return f
        except LookupError:
            pass
        try:
            f = descriptor_pb2.FileDescriptorProto()
            descriptor_pool.Default().FindFileByName(name).CopyToProto(f)
            return f
        except KeyError:
            pass
        if name == HEALTH_FILE.name:
            return HEALTH_FILE
        raise LookupError("the server has no file %s and there is no local copy" % name)

    def _find(self, symbol, timeout=10):
        """The descriptor (service, method, message or enum) named `symbol`."""
        symbol = symbol.lstrip(".")
        with self._lock:
            found = self._lookup(symbol)
            if found is not None:
                return found
            try:
                response = self._ask(timeout=timeout, file_containing_symbol=symbol)
                self._add_files(response.file_descriptor_response.file_descriptor_proto, timeout)
            except LookupError:
                # Known services served without a descriptor.
                if not (symbol == HEALTH_SERVICE or symbol.startswith(HEALTH_SERVICE + ".") or
                        symbol.startswith("grpc.health.v1.")):
                    raise
                self._add_files([HEALTH_FILE.SerializeToString()], timeout)
            found = self._lookup(symbol)
        if found is None:
            raise LookupError("symbol %s not found in the files the server sent" % symbol)
        return found

    def _lookup(self, symbol):
        for finder in (self._pool.FindServiceByName, self._pool.FindMessageTypeByName,
                       self._pool.FindEnumTypeByName, self._pool.FindMethodByName):
            try:
                return finder(symbol)
            except (KeyError, AttributeError):
                continue
        return None

    def method(self, name, timeout=10):
        """The MethodDescriptor for "pkg.Service/Method" or "pkg.Service.Method"."""
        if "/" in name:
            service, method = name.lstrip("/").rsplit("/", 1)
        else:
            service, method = name.rsplit(".", 1)
        s = self._find(service, timeout)
        if not hasattr(s, "methods_by_name"):
            raise LookupError("%s is not a service" % service)
        if method not in s.methods_by_name:
            raise LookupError("service %s has no method %s (it has %s)" % (
                service, method, ", ".join(sorted(s.methods_by_name))))
        return s.methods_by_name[method]

    # --- Calls ----------------------------------------------------------------

    def _prepare(self, method_name, request, timeout):
        m = self.method(method_name, timeout=10 if timeout is None else timeout)
        request_class = _message_class(m.input_type)
        response_class = _message_class(m.output_type)
        if isinstance(request, (bytes, str)):
            message = json_format.Parse(request, request_class())
        else:
            message = json_format.ParseDict(request or {}, request_class())
        path = "/%s/%s" % (m.containing_service.full_name, m.name)
        return m, message, request_class, response_class, path

    def call(self, method_name, request=None, timeout=10, metadata=None):
        """A unary call: request as a dict (or JSON text), response as a dict."""
        m, message, request_class, response_class, path = self._prepare(
            method_name, request, timeout)
        if m.client_streaming or m.server_streaming:
            raise ValueError("%s is a streaming method; use stream()" % method_name)
        stub = self.channel.unary_unary(path, request_serializer=request_class.SerializeToString,
                                        response_deserializer=response_class.FromString)
        return _to_dict(stub(message, timeout=timeout, metadata=metadata))

    def stream(self, method_name, request=None, timeout=None, metadata=None, as_dict=True):
        """A server-streaming call: a Stream (iterator of dicts, or of
        messages with as_dict=False; cancel())."""
        m, message, request_class, response_class, path = self._prepare(
            method_name, request, timeout)
        if m.client_streaming or not m.server_streaming:
            raise ValueError("%s is not a server-streaming method" % method_name)
        stub = self.channel.unary_stream(path, request_serializer=request_class.SerializeToString,
                                         response_deserializer=response_class.FromString)
        return Stream(stub(message, timeout=timeout, metadata=metadata), response_class, as_dict)

    # --- Describe -------------------------------------------------------------

    def describe(self, symbol, timeout=10):
        """grpcurl-style text for a service, method, message or enum."""
        d = self._find(symbol, timeout)
        name = d.full_name
        if hasattr(d, "methods_by_name"):
            lines = ["%s is a service:" % name, "service %s {" % d.name]
            for m in d.methods:
                lines.append("  " + _rpc_line(m))
            lines.append("}")
        elif hasattr(d, "containing_service"):
            lines = ["%s is a method:" % name, _rpc_line(d)]
        elif hasattr(d, "fields_by_name"):
            lines = ["%s is a message:" % name] + _message_lines(d, "")
        else:
            lines = ["%s is an enum:" % name, "enum %s {" % d.name]
            lines += ["  %s = %d;" % (v.name, v.number) for v in d.values]
            lines.append("}")
        return "\n".join(lines)


def _rpc_line(m):
    return "rpc %s ( %s.%s ) returns ( %s.%s );" % (
        m.name, "stream " if m.client_streaming else "", m.input_type.full_name,
        "stream " if m.server_streaming else "", m.output_type.full_name)


_TYPE_NAMES = {v: k[5:].lower() for k, v in vars(_F).items()
               if k.startswith("TYPE_") and isinstance(v, int)}


def _field_type(f):
    if f.message_type is not None:
        if f.message_type.GetOptions().map_entry:
            k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
            return "map<%s, %s>" % (_field_type(k), _field_type(v))
        return "." + f.message_type.full_name
    if f.enum_type is not None:
        return "." + f.enum_type.full_name
    return _TYPE_NAMES.get(f.type, str(f.type))


def _message_lines(d, indent):
    lines = [indent + "message %s {" % d.name]
    for f in d.fields:
        is_map = f.message_type is not None and f.message_type.GetOptions().map_entry
        label = "repeated " if f.label == _F.LABEL_REPEATED and not is_map else ""
        lines.append(indent + "  %s%s %s = %d;" % (label, _field_type(f), f.name, f.number))
    lines.append(indent + "}")
    return lines


# --- Command line -------------------------------------------------------------

def _main(argv):
    import argparse
    p = argparse.ArgumentParser(description="grpcurl-like client driven by server reflection")
    p.add_argument("--cacert", help="PEM CA certificate: use TLS")
    p.add_argument("--cert", help="PEM client certificate (with --key)")
    p.add_argument("--key", help="PEM client key")
    p.add_argument("--timeout", type=float, default=10, help="seconds per call (default 10)")
    p.add_argument("target", help='"unix:/path" or "host:port"')
    p.add_argument("verb", choices=["list", "describe", "call"])
    p.add_argument("args", nargs="*")
    a = p.parse_args(argv)
    credentials = None
    if a.cacert:
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            read(a.cacert), read(a.key) if a.key else None, read(a.cert) if a.cert else None)
    try:
        with Reflector(a.target, credentials=credentials) as r:
            if a.verb == "list":
                for s in r.list_services(timeout=a.timeout):
                    print(s)
            elif a.verb == "describe":
                if len(a.args) != 1:
                    p.error("describe needs a SYMBOL")
                print(r.describe(a.args[0], timeout=a.timeout))
            else:
                if len(a.args) not in (1, 2):
                    p.error("call needs SERVICE/METHOD and optionally a JSON request")
                request = json.loads(a.args[1]) if len(a.args) == 2 else {}
                m = r.method(a.args[0], timeout=a.timeout)
                if m.server_streaming:
                    with r.stream(a.args[0], request) as s:
                        for message in s:
                            print(json.dumps(message, indent=2), flush=True)
                else:
                    print(json.dumps(r.call(a.args[0], request, timeout=a.timeout), indent=2))
    except grpc.RpcError as e:
        print("ERROR:\n  Code: %s\n  Message: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    except (LookupError, ValueError, json_format.ParseError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `| head`: the reader is gone.
        sys.stdout = None
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
