"""The API over TCP: --listen with TLS (and client certificates), and
--insecure-listen.

A test CA, a server certificate (SAN localhost and 127.0.0.1), a client
certificate, and a second "rogue" CA with its own client certificate are made
with `openssl` in a temporary directory. rustnetd replays a capture made by
api_test.make_capture and serves it on its Unix socket and on 127.0.0.1:PORT
(a port found free here first: the daemon logs the port it bound, but the
test should not depend on parsing the log). Checks:
  * --tls-client-ca: a client with the CA and a client certificate works
    (Health, reflection, GetStats, ListConnections) by name and by IP; no
    client certificate, a client certificate from another CA, a client that
    does not trust the server's CA, and a plaintext client all fail;
  * without --tls-client-ca: a client with only the CA works;
  * --listen without --tls-cert, a certificate that is not PEM, an address
    already in use: a non-zero exit with one sentence on stderr;
  * --insecure-listen: plaintext works, TLS does not;
  * SIGTERM ends each daemon with exit code 0.
Traffic stays on 127.0.0.1.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, make_capture, ...)
from api_test import MONITOR, HEALTH_CHECK, Checker, Daemon, n64  # noqa: E402

RUSTNETD = api_test.RUSTNETD


def openssl(c, work, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=work, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        c.check("openssl %s" % " ".join(args[:3]), False, p.stderr)
        return False
    return True


def make_pki(c, work):
    """CA, server and client certificates; False if openssl failed."""
    ok = True
    for ca in ("ca", "rogue-ca"):
        ok = ok and openssl(c, work, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            ca + ".key", "-out", ca + ".pem", "-days", "2", "-subj",
                            "/CN=rustnet test %s" % ca, "-addext",
                            "basicConstraints=critical,CA:TRUE", "-addext",
                            "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(work, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n")
    with open(os.path.join(work, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("rogue-client", "rogue-ca", "client.ext")):
        ok = ok and openssl(c, work, "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            name + ".key", "-out", name + ".csr", "-subj",
                            "/CN=rustnet test %s" % name)
        ok = ok and openssl(c, work, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                            "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem",
                            "-days", "2", "-extfile", ext)
    return ok


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    g = api_test.import_grpc(c)
    if g is None:
        return c.finish()
    import grpc
    if shutil.which("openssl") is None:
        c.check("openssl is installed (it makes the test certificates)", False)
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnapitls.")
    os.chmod(work, 0o755)
    try:
        run(c, g, grpc, work)
    finally:
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


def run(c, g, grpc, work):
    if not c.check("openssl makes a CA, a server and two client certificates", make_pki(c, work)):
        return

    def read(name):
        with open(os.path.join(work, name), "rb") as f:
            return f.read()

    capture = os.path.join(work, "api.pcap")
    api_test.make_capture(capture)
    logs = os.path.join(work, "logs")
    sock = os.path.join(work, "s.sock")
    ca, rogue_ca = read("ca.pem"), read("rogue-ca.pem")
    client = (read("client.key"), read("client.pem"))
    rogue = (read("rogue-client.key"), read("rogue-client.pem"))

    def creds(root, pair=None):
        return grpc.ssl_channel_credentials(root_certificates=root,
                                            private_key=pair[0] if pair else None,
                                            certificate_chain=pair[1] if pair else None)

    def attempt(target, credentials):
        """(ok, detail) of Health/Check + GetStats with fresh channel."""
        try:
            with g.Reflector(target, credentials=credentials) as r:
                health = r.call(HEALTH_CHECK, {}, timeout=5)
                stats = r.call(MONITOR + "/GetStats", {}, timeout=5)
                return (health.get("status") == "SERVING" and bool(stats.get("version")),
                        "health %s" % health)
        except grpc.RpcError as e:
            return False, "%s: %s" % (e.code().name, e.details())
        except Exception as e:  # noqa: BLE001
            return False, repr(e)

    def refused(target, credentials):
        """(refused, detail): the call must fail (any gRPC error; typically
        UNAVAILABLE after a failed handshake)."""
        ok, detail = attempt(target, credentials)
        return not ok and ("UNAVAILABLE" in detail or "DEADLINE" in detail or
                           "UNKNOWN" in detail or "CANCELLED" in detail), detail

    # --- TLS with client certificates ------------------------------------------
    port = free_port()
    tls_args = ["--read", capture, "--socket", sock, "--log-dir", logs,
                "--listen", "127.0.0.1:%d" % port,
                "--tls-cert", os.path.join(work, "server.pem"),
                "--tls-key", os.path.join(work, "server.key")]
    d = Daemon(work, tls_args + ["--tls-client-ca", os.path.join(work, "ca.pem")], "mtls")
    up = api_test.wait_serving(g, d, "unix:" + sock)
    c.check("rustnetd --listen 127.0.0.1:%d with TLS and --tls-client-ca starts (Unix socket "
            "answers)" % port, up, "rc %s, stderr: %s" % (d.proc.poll(), d.stderr()))
    if up:
        for target in ("localhost:%d" % port, "127.0.0.1:%d" % port):
            ok, detail = attempt(target, creds(ca, client))
            c.check("mTLS: client with the CA and a client certificate works on %s" % target,
                    ok, detail)
        try:
            with g.Reflector("localhost:%d" % port, credentials=creds(ca, client)) as r:
                services = r.list_services(timeout=5)
                listing = r.call(MONITOR + "/ListConnections", {"filter": "proto:tcp"},
                                 timeout=5)
            c.check("mTLS: reflection and ListConnections work over TLS (%d services, matched "
                    "%s)" % (len(services), listing.get("matched")),
                    MONITOR in services and n64(listing, "matched") == 4)
        except Exception as e:  # noqa: BLE001
            c.check("mTLS: reflection and ListConnections work over TLS", False, repr(e))
        ok, detail = refused("localhost:%d" % port, creds(ca))
        c.check("mTLS: a client without a certificate is refused (%s)" % detail, ok)
        ok, detail = refused("localhost:%d" % port, creds(ca, rogue))
        c.check("mTLS: a client certificate from another CA is refused (%s)" % detail, ok)
        ok, detail = refused("localhost:%d" % port, creds(rogue_ca, client))
        c.check("mTLS: a client that does not trust the server's CA fails (%s)" % detail, ok)
        ok, detail = refused("127.0.0.1:%d" % port, None)
        c.check("mTLS: a plaintext client to the TLS port fails (%s)" % detail, ok)
        c.check("mTLS daemon: still serves on the Unix socket after the refused clients",
                api_test.health_ok(g, "unix:" + sock))
    rc = d.stop()
    c.check("mTLS daemon exits 0 on SIGTERM (got %s)" % rc, rc == 0, d.stderr())
    log = ""  # Read after the exit: the log is flushed every 2 s.
    for name in os.listdir(logs):
        with open(os.path.join(logs, name), errors="replace") as f:
            log += f.read()
    c.check("the log names the TLS listener (127.0.0.1:%d (TLS))" % port,
            "127.0.0.1:%d (TLS)" % port in log)
    c.check("mTLS daemon printed nothing on stderr (refused handshakes are the clients' "
            "problem, not lines on the daemon's stderr)", d.stderr() == "", d.stderr())

    # --- TLS without client certificates ----------------------------------------
    port = free_port()
    tls_args[tls_args.index("--listen") + 1] = "127.0.0.1:%d" % port
    d = Daemon(work, tls_args, "tls")
    up = api_test.wait_serving(g, d, "unix:" + sock)
    c.check("rustnetd --listen with TLS, no --tls-client-ca, starts", up, d.stderr())
    if up:
        ok, detail = attempt("localhost:%d" % port, creds(ca))
        c.check("TLS: a client with only the CA works", ok, detail)
        ok, detail = attempt("localhost:%d" % port, creds(ca, client))
        c.check("TLS: a client that also presents a certificate works", ok, detail)
        ok, detail = refused("localhost:%d" % port, None)
        c.check("TLS: a plaintext client fails (%s)" % detail, ok)
        ok, detail = refused("localhost:%d" % port, creds(rogue_ca))
        c.check("TLS: a client trusting another CA fails (%s)" % detail, ok)
    rc = d.stop()
    c.check("TLS daemon exits 0 on SIGTERM (got %s)" % rc, rc == 0, d.stderr())

    # --- Mistakes: one sentence, non-zero exit -----------------------------------
    def expect_error(name, args, words):
        e = Daemon(work, args, "error")
        rc = e.wait(15)
        if rc is None:
            e.stop(signal.SIGKILL)
        err = e.stderr().splitlines()
        ours = [line for line in err if line.startswith("rustnetd: ")]
        c.check("%s: non-zero exit (got %s) and a line 'rustnetd: ...' mentioning %s" % (
            name, rc, " and ".join(repr(w) for w in words)),
                rc not in (0, None) and len(ours) == 1 and all(w in ours[0] for w in words),
                "\n".join(err))
        c.check("%s: that sentence is all of stderr (%d lines)" % (name, len(err)),
                len(err) == 1 and len(ours) == 1, "\n".join(err))
        c.check("%s: leaves no socket behind" % name, not os.path.lexists(sock))

    port = free_port()
    expect_error("--listen without --tls-cert",
                 ["--read", capture, "--socket", sock, "--log-dir", logs,
                  "--listen", "127.0.0.1:%d" % port], ["--listen", "--tls-cert"])
    expect_error("--tls-cert that is not PEM",
                 ["--read", capture, "--socket", sock, "--log-dir", logs,
                  "--listen", "127.0.0.1:%d" % port, "--tls-cert", os.path.join(work, "server.ext"),
                  "--tls-key", os.path.join(work, "server.key")], ["not a PEM file"])
    expect_error("--tls-cert that does not exist",
                 ["--read", capture, "--socket", sock, "--log-dir", logs,
                  "--listen", "127.0.0.1:%d" % port, "--tls-cert", os.path.join(work, "missing.pem"),
                  "--tls-key", os.path.join(work, "server.key")], ["missing.pem"])
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    busy_port = busy.getsockname()[1]
    try:
        expect_error("--insecure-listen on a port in use",
                     ["--read", capture, "--socket", sock, "--log-dir", logs,
                      "--insecure-listen", "127.0.0.1:%d" % busy_port],
                     ["127.0.0.1:%d" % busy_port])
    finally:
        busy.close()

    # --- Plaintext TCP -------------------------------------------------------------
    port = free_port()
    d = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs,
                      "--insecure-listen", "127.0.0.1:%d" % port], "insecure")
    up = api_test.wait_serving(g, d, "unix:" + sock)
    c.check("rustnetd --insecure-listen 127.0.0.1:%d starts" % port, up, d.stderr())
    if up:
        ok, detail = attempt("127.0.0.1:%d" % port, None)
        c.check("insecure: a plaintext client works over TCP", ok, detail)
        try:
            with g.Reflector("127.0.0.1:%d" % port) as r:
                stats = api_test.wait_replayed(r)
            c.check("insecure: GetStats over TCP shows the replayed table",
                    stats is not None and n64(stats, "connections", "current") == 9)
        except Exception as e:  # noqa: BLE001
            c.check("insecure: GetStats over TCP shows the replayed table", False, repr(e))
        ok, detail = refused("localhost:%d" % port, creds(ca))
        c.check("insecure: a TLS client fails against the plaintext port (%s)" % detail, ok)
    rc = d.stop()
    c.check("insecure daemon exits 0 on SIGTERM (got %s)" % rc, rc == 0, d.stderr())
    # The TCP port is released: bind it again.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR: connections the daemon closed may sit in TIME_WAIT; only
    # a listener still bound makes this bind fail.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        released = True
    except OSError:
        released = False
    finally:
        s.close()
    c.check("insecure daemon released port %d" % port, released)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
