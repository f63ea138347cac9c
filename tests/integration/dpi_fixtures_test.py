"""Deep packet inspection on real traffic, with tshark as the oracle.

Each capture in tests/fixtures/dpi/ (made by tests/fixtures/make_dpi_fixtures.sh:
curl, openssl, python3 http.server, ssh / sshd, dig / dnsmasq, ngtcp2 and
Chromium talking to each other) is replayed with `rustnetd --read FILE --dump
json --dump-expired`, and tshark reads the same file. For every flow where
tshark decodes an application protocol, rustnetd's record for the same two
endpoints must carry the same values:

  TLS   (ClientHello) SNI, ALPN list, offered versions (supported_versions
        without GREASE, else the legacy version), encrypted_client_hello
        present; (ServerHello) negotiated version (supported_versions, else
        the legacy version) and cipher suite. The hello may span TCP segments
        (tls_big_hello.pcap); tshark reassembles it.
  HTTP  method, Host, path, User-Agent, version of the request; the
        response's status code.
  DNS   query name and type, response code, the answer section (A, AAAA
        and CNAME records, in order), over TCP or not.
  SSH   the client's and the server's identification strings (the client
        is the endpoint that sent the first packet, the SYN).
  QUIC  version of the client's Initial packets and, from the ClientHello
        tshark decrypts from them, SNI, ALPN list and offered versions.

And for every such flow: app.protocol is the protocol tshark found, app.label
is set and names the host, `hostname` is the SNI / Host / query name with the
matching `hostname_source` (SSH carries no name: hostname stays empty there).
rustnetd must log no anomalies for this well-formed traffic.

tshark is told the protocol on the non-standard ports the captures use (HTTP
on 8888, SSH on 2222, TLS on 8443, QUIC on 4433) with -d, so that it decodes
the same flows rustnet recognises by content.

Prints one line per check and "N passed, M failed"; exits 1 on any failure,
including a missing tshark or capture (no silent skip). Environment (set by
CTest): RUSTNETD; SOURCE_DIR (or FIXTURES) to find the captures. Stdlib only.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# One set of checks and tshark helpers with tshark_conv_test (its counters).
from tshark_conv_test import addr, check, finish, number, run  # noqa: E402

RUSTNETD = os.environ.get("RUSTNETD", "")
SOURCE_DIR = os.environ.get("SOURCE_DIR", "")
FIXTURES = os.environ.get("FIXTURES", "")
if SOURCE_DIR:
    DPI_DIR = os.path.join(SOURCE_DIR, "tests", "fixtures", "dpi")
elif FIXTURES:
    DPI_DIR = os.path.join(FIXTURES, "dpi")
else:
    DPI_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "fixtures", "dpi")

# Every capture make_dpi_fixtures.sh makes, with the application protocols
# (as rustnet names them) that must be found in it.
CAPTURES = {
    "https_tls13.pcap": {"TLS"},
    "https_tls12.pcap": {"TLS"},
    "tls_big_hello.pcap": {"TLS"},
    "http_8888.pcap": {"HTTP"},
    "ssh_2222.pcap": {"SSH"},
    "dns_udp_tcp.pcap": {"DNS"},
    "quic_v1.pcap": {"QUIC"},
    "quic_v2.pcap": {"QUIC"},
}

DECODE_AS = ["-d", "tcp.port==8888,http", "-d", "tcp.port==2222,ssh",
             "-d", "tcp.port==8443,tls", "-d", "udp.port==4433,quic"]

# rustnet keeps the first 8 ALPN names of a ClientHello (daemon/dpi/tls.cc,
# kMaxAlpnKept); tls_big_hello.pcap offers 50.
ALPN_KEPT = 8

TLS_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
                0x0304: "TLS 1.3"}
QUIC_VERSIONS = {0x00000001: "v1", 0x6b3343cf: "v2"}
DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
             33: "SRV", 65: "HTTPS"}
DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
ECH_EXTENSION = 0xfe0d

def expect(name, got, want):
    """One check: rustnetd's value against tshark's."""
    check("%s = %r" % (name, want), got == want, "rustnetd: %r; tshark: %r" % (got, want))


def is_grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


# --- tshark --------------------------------------------------------------------

ENDPOINT_FIELDS = ["frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
                   "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
SEP = "\t"
AGG = "\x1f"  # between the values of a multi-valued field


def tshark_rows(path, display_filter, fields):
    """One dict per frame matching the filter: each field's values, a list."""
    cmd = ["tshark", "-r", path] + DECODE_AS + ["-Y", display_filter, "-T", "fields",
                                                 "-E", "separator=/t", "-E", "aggregator=" + AGG,
                                                 "-E", "occurrence=a"]
    all_fields = ENDPOINT_FIELDS + fields
    for f in all_fields:
        cmd += ["-e", f]
    rows = []
    for line in run(cmd).splitlines():
        values = line.split(SEP)
        values += [""] * (len(all_fields) - len(values))
        row = {f: [x for x in v.split(AGG) if x != ""] for f, v in zip(all_fields, values)}
        rows.append(row)
    return rows


def first(row, field, default=""):
    return row[field][0] if row.get(field) else default


def endpoints(row):
    """(transport, source endpoint, destination endpoint) of a frame."""
    src = addr(first(row, "ip.src") or first(row, "ipv6.src"))
    dst = addr(first(row, "ip.dst") or first(row, "ipv6.dst"))
    if row["tcp.srcport"]:
        return "tcp", (src, number(first(row, "tcp.srcport"))), (dst, number(first(row, "tcp.dstport")))
    return "udp", (src, number(first(row, "udp.srcport"))), (dst, number(first(row, "udp.dstport")))


def flow_key(transport, a, b):
    return (transport, frozenset([a, b]))


def flow_name(key):
    a, b = sorted(key[1])
    return "%s %s:%d <-> %s:%d" % (key[0], a[0], a[1], b[0], b[1])


def initiators(path):
    """{flow key: the endpoint that sent the flow's first frame}."""
    out = {}
    for row in tshark_rows(path, "tcp or udp", []):
        transport, src, dst = endpoints(row)
        out.setdefault(flow_key(transport, src, dst), src)
    return out


def tls_expectations(path):
    """{flow key: {field: value}} from the ClientHello(s) and ServerHello."""
    flows = {}
    hello_fields = ["tls.handshake.type", "tls.handshake.extensions_server_name",
                    "tls.handshake.extensions_alpn_str", "tls.handshake.extensions.supported_version",
                    "tls.handshake.version", "tls.handshake.extension.type",
                    "tls.handshake.ciphersuite", "quic.version", "quic.long.packet_type"]
    for row in tshark_rows(path, "tls.handshake.type == 1 or tls.handshake.type == 2", hello_fields):
        transport, src, dst = endpoints(row)
        key = flow_key(transport, src, dst)
        types = row["tls.handshake.type"]
        e = flows.setdefault(key, {"transport": transport})
        if "1" in types:
            if "client_hello" in e:
                continue  # a second ClientHello (QUIC: a retransmission) says the same
            e["client_hello"] = True
            e["sni"] = first(row, "tls.handshake.extensions_server_name")
            e["alpn"] = row["tls.handshake.extensions_alpn_str"]
            offered = [number(v) for v in row["tls.handshake.extensions.supported_version"]]
            offered = [v for v in offered if not is_grease(v)]
            if not offered:
                offered = [number(first(row, "tls.handshake.version"))]
            e["offered_versions"] = [TLS_VERSIONS.get(v, "0x%04x" % v) for v in offered]
            e["ech_offered"] = ECH_EXTENSION in [number(t) for t in row["tls.handshake.extension.type"]]
            if transport == "udp":
                versions = {number(v) for v in row["quic.version"]}
                e["quic_versions"] = versions
        elif "2" in types and transport == "tcp":
            sv = [number(v) for v in row["tls.handshake.extensions.supported_version"]]
            v = sv[0] if sv else number(first(row, "tls.handshake.version"))
            e["version"] = TLS_VERSIONS.get(v, "0x%04x" % v)
            e["cipher_suite"] = "0x%04x" % number(first(row, "tls.handshake.ciphersuite"))
    return flows


def http_expectations(path):
    flows = {}
    for row in tshark_rows(path, "http.request", ["http.request.method", "http.host",
                                                  "http.request.uri", "http.user_agent",
                                                  "http.request.version"]):
        transport, src, dst = endpoints(row)
        e = flows.setdefault(flow_key(transport, src, dst), {})
        if "method" in e:
            continue  # rustnet keeps the first request
        e.update(method=first(row, "http.request.method"), host=first(row, "http.host"),
                 path=first(row, "http.request.uri"), user_agent=first(row, "http.user_agent"),
                 version=first(row, "http.request.version"))
    for row in tshark_rows(path, "http.response", ["http.response.code"]):
        transport, src, dst = endpoints(row)
        e = flows.setdefault(flow_key(transport, src, dst), {})
        e.setdefault("status", number(first(row, "http.response.code")))
    return flows


def dns_expectations(path):
    flows = {}
    for row in tshark_rows(path, "dns.flags.response == 0", ["dns.qry.name", "dns.qry.type"]):
        transport, src, dst = endpoints(row)
        e = flows.setdefault(flow_key(transport, src, dst), {"transport": transport})
        if "query" in e:
            continue
        qtype = number(first(row, "dns.qry.type"))
        e.update(query=first(row, "dns.qry.name"), query_type=DNS_TYPES.get(qtype, str(qtype)))
    fields = ["dns.flags.rcode", "dns.count.answers", "dns.resp.type", "dns.a", "dns.aaaa",
              "dns.cname"]
    for row in tshark_rows(path, "dns.flags.response == 1", fields):
        transport, src, dst = endpoints(row)
        e = flows.setdefault(flow_key(transport, src, dst), {"transport": transport})
        if "response_code" in e:
            continue
        rcode = number(first(row, "dns.flags.rcode"))
        e["response_code"] = DNS_RCODES.get(rcode, str(rcode))
        # The answer section in order: walk the record types and take each
        # record's data from its type's field, in turn.
        queues = {1: list(row["dns.a"]), 28: list(row["dns.aaaa"]), 5: list(row["dns.cname"])}
        answers = []
        for t in [number(t) for t in row["dns.resp.type"]][:number(first(row, "dns.count.answers"))]:
            if t in queues and queues[t]:
                answers.append(queues[t].pop(0))
        e["answers"] = answers
    return flows


def ssh_expectations(path, starters):
    flows = {}
    for row in tshark_rows(path, "ssh.protocol", ["ssh.protocol"]):
        transport, src, dst = endpoints(row)
        key = flow_key(transport, src, dst)
        side = "client" if starters.get(key) == src else "server"
        flows.setdefault(key, {}).setdefault(side, first(row, "ssh.protocol").rstrip("\r\n"))
    return flows


# --- rustnetd ------------------------------------------------------------------

def rustnet_flows(path, log_dir):
    out = run([RUSTNETD, "--read", path, "--dump", "json", "--dump-expired", "--log-dir", log_dir])
    flows = {}
    for line in out.splitlines():
        c = json.loads(line)
        transport = {"PROTOCOL_TCP": "tcp", "PROTOCOL_UDP": "udp"}.get(c.get("protocol"))
        if not transport:
            continue
        key = flow_key(transport, (addr(c["local"]["address"]), c["local"].get("port", 0)),
                       (addr(c["remote"]["address"]), c["remote"].get("port", 0)))
        flows.setdefault(key, []).append(c)
    logs = ""
    for f in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
        with open(f, encoding="utf-8", errors="replace") as fh:
            logs += fh.read()
    return flows, logs


def ours(flows, key, name):
    """rustnetd's record for a flow (the one with an app record if the
    endpoints were reused), or None after a failed check."""
    rows = flows.get(key, [])
    with_app = [c for c in rows if c.get("app")]
    check("%s: rustnetd has the flow and an app record for it" % name, bool(with_app),
          "rows for these endpoints: %d, none with an app record" % len(rows) if rows
          else "no such flow; rustnetd has: %s" % sorted(map(flow_name, flows)))
    return with_app[0] if with_app else None


def check_common(name, c, protocol, hostname, source):
    app = c.get("app", {})
    expect("%s: app.protocol" % name, app.get("protocol"), "APP_PROTOCOL_" + protocol)
    label = app.get("label", "")
    want_in_label = hostname or {"SSH": "OpenSSH"}.get(protocol, "")
    check("%s: app.label is set and names %r" % (name, want_in_label),
          bool(label) and want_in_label in label, "label: %r" % label)
    expect("%s: hostname" % name, c.get("hostname", ""), hostname)
    expect("%s: hostname_source" % name, c.get("hostnameSource", ""), source if hostname else "")


def check_tls_fields(name, tls, e):
    expect("%s: SNI" % name, tls.get("sni", ""), e["sni"])
    want_alpn = e["alpn"][:ALPN_KEPT]
    what = "ALPN list" if len(e["alpn"]) <= ALPN_KEPT else \
        "ALPN list (the first %d of %d)" % (ALPN_KEPT, len(e["alpn"]))
    expect("%s: %s" % (name, what), tls.get("alpn", []), want_alpn)
    expect("%s: offered versions" % name, tls.get("offeredVersions", []), e["offered_versions"])
    expect("%s: ECH offered" % name, tls.get("echOffered", False), e["ech_offered"])


def check_capture(path, log_dir):
    name = os.path.basename(path)
    try:
        flows, logs = rustnet_flows(path, log_dir)
        starters = initiators(path)
        tls = tls_expectations(path)
        http = http_expectations(path)
        dns = dns_expectations(path)
        ssh = ssh_expectations(path, starters)
    except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        check("%s: rustnetd and tshark read it" % name, False, str(e))
        return

    found = set()
    for key, e in sorted(tls.items(), key=lambda kv: flow_name(kv[0])):
        if "client_hello" not in e:
            continue
        quic = e["transport"] == "udp"
        proto = "QUIC" if quic else "TLS"
        found.add(proto)
        fname = "%s: %s %s" % (name, proto, flow_name(key))
        c = ours(flows, key, fname)
        if c is None:
            continue
        check_common(fname, c, proto, e["sni"], "sni")
        app = c.get("app", {})
        if quic:
            versions = e["quic_versions"]
            want = QUIC_VERSIONS.get(next(iter(versions)), "0x%08x" % next(iter(versions))) \
                if len(versions) == 1 else sorted(versions)
            expect("%s: QUIC version" % fname, app.get("quic", {}).get("version", ""), want)
            check_tls_fields(fname, app.get("quic", {}).get("tls", {}), e)
        else:
            t = app.get("tls", {})
            check_tls_fields(fname, t, e)
            check("%s: tshark saw the ServerHello" % fname, "version" in e)
            if "version" in e:
                expect("%s: negotiated version" % fname, t.get("version", ""), e["version"])
                expect("%s: cipher suite" % fname, t.get("cipherSuite", ""), e["cipher_suite"])

    for key, e in sorted(http.items(), key=lambda kv: flow_name(kv[0])):
        found.add("HTTP")
        fname = "%s: HTTP %s" % (name, flow_name(key))
        c = ours(flows, key, fname)
        if c is None:
            continue
        check_common(fname, c, "HTTP", re.sub(r":\d+$", "", e.get("host", "")), "http")
        h = c.get("app", {}).get("http", {})
        for field, theirs in (("method", "method"), ("host", "host"), ("path", "path"),
                              ("userAgent", "user_agent"), ("version", "version"),
                              ("status", "status")):
            expect("%s: %s" % (fname, field), h.get(field, 0 if field == "status" else ""),
                   e.get(theirs, 0 if field == "status" else ""))

    for key, e in sorted(dns.items(), key=lambda kv: flow_name(kv[0])):
        found.add("DNS")
        fname = "%s: DNS %s" % (name, flow_name(key))
        c = ours(flows, key, fname)
        if c is None:
            continue
        check_common(fname, c, "DNS", e.get("query", ""), "dns")
        d = c.get("app", {}).get("dns", {})
        expect("%s: query" % fname, d.get("query", ""), e.get("query", ""))
        expect("%s: query type" % fname, d.get("queryType", ""), e.get("query_type", ""))
        expect("%s: response code" % fname, d.get("responseCode", ""), e.get("response_code", ""))
        expect("%s: answers" % fname, d.get("answers", []), e.get("answers", []))
        expect("%s: over TCP" % fname, d.get("overTcp", False), e["transport"] == "tcp")

    for key, e in sorted(ssh.items(), key=lambda kv: flow_name(kv[0])):
        found.add("SSH")
        fname = "%s: SSH %s" % (name, flow_name(key))
        c = ours(flows, key, fname)
        if c is None:
            continue
        check_common(fname, c, "SSH", "", "")
        s = c.get("app", {}).get("ssh", {})
        check("%s: tshark saw both banners" % fname, "client" in e and "server" in e, repr(e))
        expect("%s: client banner" % fname, s.get("client", ""), e.get("client", ""))
        expect("%s: server banner" % fname, s.get("server", ""), e.get("server", ""))

    want = CAPTURES.get(name, set())
    check("%s: tshark decodes %s in it" % (name, ", ".join(sorted(want)) or "something"),
          want <= found and found, "tshark found: %s" % (sorted(found) or "nothing"))

    m = re.findall(r"anomalies: (.*)", logs)
    summary = re.search(r"malformed (\d+), untracked fragments (\d+)", logs)
    check("%s: rustnetd logs no anomalies or malformed packets" % name,
          not m and summary is not None and summary.group(1) == "0",
          "anomalies: %s; %s" % ("; ".join(m) or "none",
                                 summary.group(0) if summary else "no statistics line in the log"))


def main():
    if not RUSTNETD:
        check("RUSTNETD is set (CTest sets it)", False)
    elif shutil.which("tshark") is None:
        check("tshark is installed (it is the oracle; scripts/setup.sh test installs it)", False)
    else:
        for name in sorted(CAPTURES):
            path = os.path.join(DPI_DIR, name)
            check("%s exists in %s (tests/fixtures/make_dpi_fixtures.sh makes it)" % (name, DPI_DIR),
                  os.path.isfile(path))
            if not os.path.isfile(path):
                continue
            with tempfile.TemporaryDirectory(prefix="rn-dpi-fixtures-") as log_dir:
                check_capture(path, log_dir)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
