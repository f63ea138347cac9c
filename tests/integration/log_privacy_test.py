"""No traffic content in the logs at the default level.

For every capture in $FIXTURES/dpi (HTTP, TLS 1.2/1.3, DNS over UDP and
TCP, QUIC, SSH), `rustnetd --read FILE --dump json` runs at the default log
level; the strings DPI found in the traffic (HTTP host, path and user
agent, TLS SNI and ALPN, DNS names and answers, SSH banners, DHCP host
names: read from the dump itself) must appear neither in the log file nor on
stderr. A capture made here adds an HTTP request with a distinctive path,
an Authorization header, a cookie and a response body, all of which must
stay out of the log too. The HTTP, TLS and DNS fixtures are also served over the API
(`--read FILE --socket`) and queried (ListConnections with a host filter,
GetStats, a short WatchConnections) before the same check.

Strings shorter than 4 characters ("/", "h2") are left out: they would
match unrelated log text.

Environment (set by CTest): RUSTNETD, FIXTURES.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, wait_serving, ...)

MONITOR = api_test.MONITOR
FIXTURES = os.environ.get("FIXTURES", "")


def secrets_of(rows):
    """The traffic's strings DPI put in the dump rows, by kind."""
    found = {}

    def add(kind, value):
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and len(v) >= 4:
                found.setdefault(v, kind)

    for row in rows:
        app = row.get("app", {})
        http, tls, dns, ssh = (app.get(k, {}) for k in ("http", "tls", "dns", "ssh"))
        add("http host", http.get("host"))
        add("http path", http.get("path"))
        add("http user agent", http.get("userAgent"))
        add("tls sni", tls.get("sni"))
        add("tls alpn", tls.get("alpn", []))
        add("dns query", dns.get("query"))
        add("dns answer", dns.get("answers", []))
        add("ssh banner", [ssh.get("client"), ssh.get("server")])
        add("dhcp hostname", app.get("dhcpHostname"))
        add("hostname", row.get("hostname"))
    return found


def read_logs(log_dir, stderr_text):
    text = stderr_text
    for path in glob.glob(os.path.join(log_dir, "*")):
        with open(path, errors="replace") as f:
            text += f.read()
    return text


def leaks(text, secrets):
    return ["%s %r" % (kind, s) for s, kind in secrets.items() if s in text]


# Sent in the capture made here; never in a dump row except the path.
PATH = "/private/rn-secret-path/report.pdf?session=rn-secret-session-4711"
RAW_SECRETS = {"Bearer rn-secret-bearer-token-0815": "http authorization",
               "rn-secret-cookie-value-1234": "http cookie",
               "rn-secret-response-body-5678": "http body"}


def make_http_capture(path):
    w = api_test.PcapWriter(path)
    cli, srv = ("10.0.0.1", 40100), ("10.0.0.2", 80)
    fwd = lambda *a: w.tcp(cli[0], srv[0], cli[1], srv[1], *a)  # noqa: E731
    rev = lambda *a: w.tcp(srv[0], cli[0], srv[1], cli[1], *a,  # noqa: E731
                           macs=(api_test.MAC_B, api_test.MAC_A))
    request = ("GET %s HTTP/1.1\r\nHost: intranet.rn-secret-host.example\r\n"
               "User-Agent: rn-secret-agent/9.9\r\nAuthorization: Bearer "
               "rn-secret-bearer-token-0815\r\nCookie: sid=rn-secret-cookie-value-1234\r\n"
               "\r\n" % PATH).encode()
    body = b"rn-secret-response-body-5678\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    fwd(1000, 0, api_test.SYN)
    rev(5000, 1001, api_test.SYN | api_test.ACK)
    fwd(1001, 5001, api_test.ACK)
    fwd(1001, 5001, api_test.PSH | api_test.ACK, request)
    rev(5001, 1001 + len(request), api_test.PSH | api_test.ACK, response)
    fwd(1001 + len(request), 5001 + len(response), api_test.FIN | api_test.ACK)
    w.close()


def main():
    c = api_test.Checker()
    captures = sorted(glob.glob(os.path.join(FIXTURES, "dpi", "*.pcap")))
    if not c.check("fixtures found in %s/dpi (%d)" % (FIXTURES, len(captures)),
                   len(captures) >= 5):
        return c.finish()
    work = tempfile.mkdtemp(prefix="rn-log-privacy-")
    kinds = set()
    try:
        made = os.path.join(work, "http_secrets.pcap")
        make_http_capture(made)
        captures.append(made)
        secrets_by_capture = {}
        for capture in captures:
            name = os.path.basename(capture)
            log_dir = os.path.join(work, name + "-dump-logs")
            p = subprocess.run([api_test.RUSTNETD, "--read", capture, "--dump", "json",
                                "--log-dir", log_dir], capture_output=True, text=True,
                               timeout=60)
            rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
            secrets = secrets_of(rows)
            if capture == made:
                c.check("the capture made here: the dump shows its path and host",
                        secrets.get(PATH) == "http path" and
                        "intranet.rn-secret-host.example" in secrets, secrets)
                secrets.update(RAW_SECRETS)
            secrets_by_capture[capture] = secrets
            kinds.update(secrets.values())
            logs = read_logs(log_dir, p.stderr)
            c.check("%s: --dump json ran and logged (%d rows, %d log bytes)" % (
                name, len(rows), len(logs)), p.returncode == 0 and rows and
                "starting" in logs, p.stderr)
            found = leaks(logs, secrets)
            c.check("%s: the log holds none of the traffic's %d strings" % (name, len(secrets)),
                    secrets and not found, "\n".join(found))
        for kind in ("http host", "http path", "http user agent", "tls sni", "dns query",
                     "dns answer"):
            c.check("the fixtures give strings of kind %r to look for" % kind, kind in kinds,
                    sorted(kinds))

        g = api_test.import_grpc(c)
        if g is None:
            return c.finish()
        for capture in (os.path.join(FIXTURES, "dpi", "https_tls13.pcap"),
                        os.path.join(FIXTURES, "dpi", "dns_udp_tcp.pcap"), made):
            fixture = os.path.basename(capture)
            secrets = secrets_by_capture.get(capture, {})
            log_dir = os.path.join(work, fixture + "-serve-logs")
            sock = os.path.join(work, fixture + ".sock")
            d = api_test.Daemon(work, ["--read", capture, "--socket", sock, "--log-dir",
                                       log_dir], fixture)
            target = "unix:" + sock
            if not c.check("%s: served over the API" % fixture,
                           api_test.wait_serving(g, d, target, timeout=30), d.stderr()):
                d.stop()
                continue
            host = next((s for s, k in secrets.items() if k in ("http host", "tls sni",
                                                                  "dns query")), "none.test")
            with g.Reflector(target) as r:
                api_test.wait_replayed(r)
                listing = r.call(MONITOR + "/ListConnections", {"filter": "host:" + host},
                                 timeout=20)
                r.call(MONITOR + "/GetStats", {}, timeout=20)
                updates = 0
                stream = r.stream(MONITOR + "/WatchConnections", {}, timeout=3)
                try:
                    for _ in stream:
                        updates += 1
                        if updates >= 2:
                            break
                except Exception:  # noqa: BLE001 - the deadline ends it
                    pass
                stream.cancel()
            c.check("%s: the API answered (host:%s matched %s rows, %d updates)" % (
                fixture, host, listing.get("matched", 0), updates),
                    int(listing.get("matched", 0)) >= 1 and updates >= 1)
            rc = d.stop()
            logs = read_logs(log_dir, d.stderr())
            found = leaks(logs, secrets)
            c.check("%s: served and queried, rustnetd exits 0 and its log holds none of the "
                    "traffic's %d strings" % (fixture, len(secrets)),
                    rc == 0 and secrets and "starting" in logs and not found,
                    "\n".join(found) or d.stderr())
    finally:
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
