#include "daemon/rpc/server.h"

#include <google/protobuf/stubs/logging.h>
#include <grp.h>
#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "daemon/service/accept_loop.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", std::string(what), " ", path,
                                                   ": ", std::strerror(errno),
                                                   "; check the path and its permissions"));
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " ", path, " is not a PEM file; give a PEM file"));
  }
  return s.str();
}

// mkdir -p with 0755 for the parts it creates.
absl::Status MakeDirectories(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory; choose another --socket path"));
  }
  const size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (absl::Status s = MakeDirectories(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create the socket directory ", dir, ": ", std::strerror(errno),
        "; run rustnetd as root or pass --socket PATH in a directory you can write"));
  }
  chmod(dir.c_str(), 0755);  // Regardless of the umask.
  return absl::OkStatus();
}

// Clears the way for a new socket at `path`: removes a stale socket, refuses
// to touch a live one or a file that is not a socket.
absl::Status PrepareSocketPath(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path ", path, " is longer than ",
                                                   sizeof(sockaddr_un::sun_path) - 1,
                                                   " bytes; choose a shorter --socket"));
  }
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (absl::Status s = MakeDirectories(path.substr(0, slash)); !s.ok()) return s;
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " exists and is not a socket; remove it or choose another --socket"));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(): ", std::strerror(errno)));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  close(fd);
  if (rc == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "another rustnetd is running on ", path,
        "; stop it first, or give this one its own --socket PATH"));
  }
  if (err != ECONNREFUSED && err != ENOENT) {
    return absl::PermissionDeniedError(absl::StrCat("cannot check the existing socket ", path,
                                                    ": ", std::strerror(err),
                                                    "; run rustnetd as root"));
  }
  spdlog::info("removing stale socket {} (no daemon answers on it)", path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::PermissionDeniedError(absl::StrCat("cannot remove the stale socket ", path, ": ",
                                                    std::strerror(errno),
                                                    "; remove it by hand or run as root"));
  }
  return absl::OkStatus();
}

// The group the socket gets: --socket-group (must exist), else "rustnet"
// when it exists; -1 to leave the daemon's own group.
absl::StatusOr<gid_t> SocketGroup(const ApiServerOptions& o) {
  const std::string name = o.socket_group_set ? o.socket_group : "rustnet";
  group g{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (found != nullptr) return found->gr_gid;
  if (o.socket_group_set) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group ", name, " does not exist; create it (groupadd ", name,
        ") or leave out --socket-group"));
  }
  return static_cast<gid_t>(-1);
}

// gRPC's threads are never joined, so nothing orders their last use of
// spdlog before spdlog is shut down or its registry destroyed at exit
// (ThreadSanitizer saw a logger freed after a gRPC thread had read it).
// The library callbacks log while holding this gate, and
// StopLibraryLogging closes it: whatever a callback did before is then
// ordered before the teardown, and later callbacks log nothing. Never
// destroyed: gRPC threads may call in during exit.
struct LibraryLogGate {
  absl::Mutex mu;
  bool open ABSL_GUARDED_BY(mu) = true;
};

LibraryLogGate& Gate() {
  static auto* gate = new LibraryLogGate;
  return *gate;
}

template <typename... Args>
void LibraryDebug(spdlog::format_string_t<Args...> format, Args&&... args) {
  LibraryLogGate& gate = Gate();
  absl::MutexLock lock(&gate.mu);
  if (!gate.open) return;
  // A counted reference, not default_logger_raw(): the default logger may
  // be replaced meanwhile (log file set up, reopened).
  if (const std::shared_ptr<spdlog::logger> logger = spdlog::default_logger()) {
    logger->debug(format, std::forward<Args>(args)...);
  }
}

// gRPC and protobuf write their own diagnostics to stderr; anyone who can
// reach the API could fill the daemon's stderr with them (failed TLS
// handshakes, malformed requests). Route them to our log at debug level.
void GrpcLog(gpr_log_func_args* args) {
  LibraryDebug("grpc: {}:{}: {}", args->file != nullptr ? args->file : "?", args->line,
               args->message != nullptr ? args->message : "");
}

void ProtobufLog(google::protobuf::LogLevel /*level*/, const char* file, int line,
                 const std::string& message) {
  LibraryDebug("protobuf: {}:{}: {}", file != nullptr ? file : "?", line, message);
}

}  // namespace

void RouteLibraryLogging() {
  static const bool once = [] {
    // spdlog's registry is built before the handler is registered, so it is
    // destroyed after the handler ran (atexit runs in reverse order).
    spdlog::default_logger_raw();
    std::atexit(StopLibraryLogging);
    return true;
  }();
  (void)once;
  gpr_set_log_function(GrpcLog);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  google::protobuf::SetLogHandler(ProtobufLog);
}

void StopLibraryLogging() {
  LibraryLogGate& gate = Gate();
  absl::MutexLock lock(&gate.mu);
  gate.open = false;
}

std::string SocketFilePath(const std::string& value) {
  if (absl::StartsWith(value, "unix://")) return value.substr(7);
  if (absl::StartsWith(value, "unix:")) return value.substr(5);
  return value;
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiServerOptions& options,
                                                            MonitorService* service) {
  std::unique_ptr<ApiServer> api(new ApiServer());
  api->service_ = service;
  api->socket_path_ = SocketFilePath(options.socket_path);
  const bool passed_socket = options.listen_fd >= 0;
  api->owns_socket_file_ = !passed_socket;
  absl::StatusOr<gid_t> gid = static_cast<gid_t>(-1);
  if (!passed_socket) {
    if (api->socket_path_.empty()) {
      return absl::InvalidArgumentError("--socket needs a path");
    }
    if (absl::Status s = PrepareSocketPath(api->socket_path_); !s.ok()) return s;
    gid = SocketGroup(options);
    if (!gid.ok()) return gid.status();
  }

  RouteLibraryLogging();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (passed_socket) {
    api->acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
        grpc::InsecureServerCredentials());
  } else {
    builder.AddListeningPort("unix:" + api->socket_path_, grpc::InsecureServerCredentials());
  }

  int tcp_port = 0;
  std::string tcp_host;
  if (!options.listen.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return absl::InvalidArgumentError(
          "--listen needs --tls-cert and --tls-key (or use --insecure-listen for plaintext)");
    }
    auto cert = ReadPem(options.tls_cert, "TLS certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(options.tls_key, "TLS key");
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options.tls_client_ca.empty()) {
      auto ca = ReadPem(options.tls_client_ca, "client CA");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    builder.AddListeningPort(options.listen, grpc::SslServerCredentials(ssl), &tcp_port);
    tcp_host = options.listen;
  } else if (!options.insecure_listen.empty()) {
    builder.AddListeningPort(options.insecure_listen, grpc::InsecureServerCredentials(),
                             &tcp_port);
    tcp_host = options.insecure_listen;
  }

  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  // Sync server: a thread per call in flight. Room for every Watch stream
  // plus a generous margin for unary calls, reflection and health streams
  // (which --max-streams does not count); past it gRPC answers
  // RESOURCE_EXHAUSTED rather than queueing without bound.
  grpc::ResourceQuota quota("rustnetd");
  quota.SetMaxThreads(options.max_streams + kExtraApiThreads);
  builder.SetResourceQuota(quota);

  // The socket is born 0660 (no window where it is wider), then given its
  // group.
  const mode_t old_umask = umask(0117);
  api->server_ = builder.BuildAndStart();
  umask(old_umask);
  if (!api->server_) {
    return absl::UnavailableError(absl::StrCat(
        "cannot start the API on unix:", api->socket_path_, passed_socket ? " (passed)" : "",
        tcp_host.empty() ? "" : absl::StrCat(" and ", tcp_host),
        "; check that the socket directory is writable and the TCP address is free"));
  }
  if (!tcp_host.empty()) {
    if (tcp_port == 0) {
      api->Shutdown(absl::ZeroDuration());
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", tcp_host, "; check the address and that the port is free"));
    }
    const size_t colon = tcp_host.rfind(':');
    api->tcp_address_ = absl::StrCat(tcp_host.substr(0, colon), ":", tcp_port);
  }
  if (passed_socket) {
    // The server has started, so the acceptor takes every connection the
    // loop hands over until Shutdown stops the loop first.
    grpc::experimental::ExternalConnectionAcceptor* acceptor = api->acceptor_.get();
    const int listen_fd = options.listen_fd;
    auto loop = AcceptLoop::Start(listen_fd, [acceptor, listen_fd](int fd) {
      grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
      p.listener_fd = listen_fd;
      p.fd = fd;
      acceptor->HandleNewConnection(&p);
    });
    if (!loop.ok()) {
      api->Shutdown(absl::ZeroDuration());
      return loop.status();
    }
    api->accept_loop_ = std::move(*loop);
    return api;
  }
  if (chmod(api->socket_path_.c_str(), 0660) != 0 ||
      (*gid != static_cast<gid_t>(-1) &&
       chown(api->socket_path_.c_str(), static_cast<uid_t>(-1), *gid) != 0)) {
    const std::string why = std::strerror(errno);
    api->Shutdown(absl::ZeroDuration());
    return absl::PermissionDeniedError(absl::StrCat("cannot set the owner or mode of ",
                                                    api->socket_path_, ": ", why,
                                                    "; run rustnetd as root"));
  }
  return api;
}

ApiServer::ApiServer() = default;

ApiServer::~ApiServer() { Shutdown(absl::Seconds(1)); }

void ApiServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  // New connections first: those not yet accepted stay in the passed
  // socket's backlog for the next daemon.
  if (accept_loop_) accept_loop_->Stop();
  service_->BeginShutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  if (owns_socket_file_) unlink(socket_path_.c_str());
}

}  // namespace rustnet
