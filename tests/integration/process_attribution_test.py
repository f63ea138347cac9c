"""Process attribution, live: rustnetd captures on the loopback interface of a
private network namespace while real processes talk there.

- A server started from an executable whose name is longer than the kernel's
  15-character comm (a copy of Debian's python3 named
  rn-attribution-test-server) serves HTTP on 127.0.0.1:8080 as user nobody,
  and also answers UDP on an unconnected socket.
- curl fetches from it several times.
- A client (another copy of python3, rn-short-lived-test-client) connects,
  fetches, and exits less than 50 ms after connecting.

Checked through the API (a reflection-only client): every connection carries
the server's full name, pid, user, command line and executable; the
short-lived client is attributed by name and pid and later marked exited;
UDP is attributed through the bound socket; the filters process:, pid: and
user: and sorting by process work; GetStats reports the attribution counters;
--no-process turns it off; the /proc/net fallback (RUSTNET_SOCKET_TABLE=procfs)
still attributes and says so.

Needs root (network namespaces). Environment (set by CTest): RUSTNETD.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, wait_serving, ...)

RUSTNETD = api_test.RUSTNETD
MONITOR = api_test.MONITOR
NS = "rnproc-%d" % os.getpid()
SERVER_NAME = "rn-attribution-test-server"   # 26 characters: comm keeps 15
CLIENT_NAME = "rn-short-lived-test-client"
HTTP_PORT = 8080
UDP_PORT = 9999
N_CURL = 5


def ns(*cmd):
    return ["ip", "netns", "exec", NS] + list(cmd)


UDP_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""

# Connects, fetches, exits; prints its pid, its local port and how long it
# lived after connecting (ms).
SHORT_CLIENT = r"""
import os, socket, sys, time
s = socket.socket()
t0 = time.monotonic()
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
while s.recv(65536):
    pass
port = s.getsockname()[1]
# Stay long enough to be a real client, short enough to be "short-lived".
time.sleep(max(0.0, 0.030 - (time.monotonic() - t0)))
lived = (time.monotonic() - t0) * 1000
print(os.getpid(), port, "%.1f" % lived, flush=True)
os._exit(0)
"""


def start_daemon(grpc_reflect, c, work, name, extra=(), env_extra=None):
    """rustnetd -i lo in the namespace, checked to answer; its target."""
    sock = os.path.join(work, name + ".sock")
    d = api_test.Daemon(work, ["-i", "lo", "--socket", sock, "--log-level", "debug"] + list(extra),
                        name, netns=NS, env_extra=env_extra)
    target = "unix:" + sock
    c.check("rustnetd %s answers" % " ".join(["-i lo"] + list(extra)),
            api_test.wait_serving(grpc_reflect, d, target), d.stderr())
    return d, grpc_reflect.Reflector(target)


def list_conns(r, flt="", **kw):
    req = {"filter": flt}
    req.update(kw)
    return r.call(MONITOR + "/ListConnections", req, timeout=5).get("connections", [])


def poll(fn, timeout=8.0):
    """fn() until it returns something truthy (returned) or the time is up."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.2)


def main():
    c = api_test.Checker()
    if os.geteuid() != 0:
        c.check("running as root (network namespaces); run the tests with sudo", False)
        return c.finish()
    if not RUSTNETD:
        c.check("RUSTNETD names the rustnetd binary", False)
        return c.finish()
    grpc_reflect = api_test.import_grpc(c)
    if grpc_reflect is None:
        return c.finish()
    for tool in ("curl", "runuser"):
        if not shutil.which(tool):
            c.check("%s is installed" % tool, False)
            return c.finish()

    work = tempfile.mkdtemp(prefix="rnproc.")
    os.chmod(work, 0o755)
    procs = []
    daemon = None
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True)
        subprocess.run(ns("ip", "link", "set", "lo", "up"), check=True)
        python = os.path.realpath("/usr/bin/python3")
        server_exe = os.path.join(work, SERVER_NAME)
        client_exe = os.path.join(work, CLIENT_NAME)
        shutil.copy(python, server_exe)
        shutil.copy(python, client_exe)
        os.chmod(server_exe, 0o755)
        os.chmod(client_exe, 0o755)
        with open(os.path.join(work, "index.html"), "w") as f:
            f.write("hello\n")
        os.chmod(os.path.join(work, "index.html"), 0o644)

        daemon, r = start_daemon(grpc_reflect, c, work, "main")

        # The servers start after the daemon: their sockets are new to it.
        http = subprocess.Popen(
            ns("runuser", "-u", "nobody", "--", server_exe, "-m", "http.server", "--bind",
               "127.0.0.1", "--directory", work, str(HTTP_PORT)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(http)
        udp = subprocess.Popen(
            ns("runuser", "-u", "nobody", "--", server_exe, "-c", UDP_SERVER, str(UDP_PORT)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(udp)

        def server_pids():
            out = subprocess.run(["pgrep", "-f", "^" + server_exe], capture_output=True,
                                 text=True).stdout.split()
            return [int(p) for p in out]

        def http_up():
            return subprocess.run(ns("curl", "-s", "-o", "/dev/null", "--max-time", "2",
                                     "http://127.0.0.1:%d/index.html" % HTTP_PORT)).returncode == 0
        c.check("the long-named HTTP server answers", poll(http_up, 15))
        pids = server_pids()
        c.check("two server processes run as %s (pids %s)" % (SERVER_NAME, pids), len(pids) == 2)

        for _ in range(N_CURL):
            subprocess.run(ns("curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/" % HTTP_PORT))

        out = subprocess.run(ns(client_exe, "-c", SHORT_CLIENT, str(HTTP_PORT)),
                             capture_output=True, text=True).stdout.split()
        short_pid, short_port, short_ms = int(out[0]), int(out[1]), float(out[2])
        c.check("the short-lived client lived %.1f ms after connecting (< 50)" % short_ms,
                short_ms < 50)

        # UDP: a client with a connected socket to the unconnected server.
        # The test itself is not in the namespace: send from inside it.
        subprocess.run(ns(python, "-c",
                          "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                          "s.settimeout(2);s.connect(('127.0.0.1',%d));s.send(b'x');s.recv(9)"
                          % UDP_PORT), check=False)

        http_pid = None
        for p in pids:
            cmd = open("/proc/%d/cmdline" % p).read()
            if "http.server" in cmd:
                http_pid = p
        want_user = "nobody"

        def answered(conns):
            # Leave out the probes refused before the server listened (RST).
            return [x for x in conns if not int(x.get("tcp", {}).get("flagsSeen", 0)) & 0x04]

        def http_conns():
            conns = answered(list_conns(r, "rport:%d proto:tcp" % HTTP_PORT))
            named = [x for x in conns if x.get("remoteProcess", {}).get("pid") == http_pid]
            return conns if len(named) >= N_CURL + 1 else None
        conns = poll(http_conns) or answered(list_conns(r, "rport:%d proto:tcp" % HTTP_PORT))
        c.check("the %d curl and the short-lived connections are tracked (%d)"
                % (N_CURL, len(conns)), len(conns) >= N_CURL + 1)
        served = [x for x in conns if x.get("remoteProcess", {}).get("pid") == http_pid]
        c.check("every connection to :%d carries the server's pid %s (%d of %d)"
                % (HTTP_PORT, http_pid, len(served), len(conns)),
                len(served) == len(conns) and served, conns[:1])
        for name, ok in [
            ("full name %s (not the 15-character comm)" % SERVER_NAME,
             all(x["remoteProcess"].get("name") == SERVER_NAME for x in served)),
            ("user %s" % want_user,
             all(x["remoteProcess"].get("user") == want_user for x in served)),
            ("uid of nobody",
             all(x["remoteProcess"].get("uid") == 65534 for x in served)),
            ("executable path",
             all(x["remoteProcess"].get("executable") == server_exe for x in served)),
            ("command line",
             all(x["remoteProcess"].get("commandLine", [])[1:3] == ["-m", "http.server"]
                 for x in served)),
            ("start time",
             all(x["remoteProcess"].get("started", "").startswith("20") for x in served)),
            ("not exited", all(not x["remoteProcess"].get("exited") for x in served)),
        ]:
            c.check("server side: " + name, served and ok, served[:1])

        short = [x for x in conns if x.get("local", {}).get("port") == short_port]
        c.check("the short-lived client's connection is tracked", len(short) == 1, conns)
        if short:
            sp = short[0].get("process", {})
            c.check("the short-lived client is attributed: %s pid %s (want %s pid %d)"
                    % (sp.get("name"), sp.get("pid"), CLIENT_NAME, short_pid),
                    sp.get("name") == CLIENT_NAME and sp.get("pid") == short_pid, short[0])
            c.check("  by its own socket", sp.get("method") == "ATTRIBUTION_METHOD_SOCKET", sp)

            def exited():
                x = list_conns(r, "lport:%d" % short_port)
                return x if x and x[0].get("process", {}).get("exited") else None
            c.check("  and marked exited after it exited, attribution kept",
                    poll(exited, 6) is not None, list_conns(r, "lport:%d" % short_port))

        curl_named = [x for x in conns if x.get("process", {}).get("name") == "curl"]
        print("info: curl's side attributed on %d of %d curl connections (curl lives a few ms)"
              % (len(curl_named), N_CURL), flush=True)

        # UDP through the server's unconnected (bound) socket.
        def udp_conns():
            x = list_conns(r, "proto:udp rport:%d" % UDP_PORT)
            return x if x and x[0].get("remoteProcess") else None
        ux = poll(udp_conns) or list_conns(r, "proto:udp rport:%d" % UDP_PORT)
        c.check("the UDP exchange is tracked", len(ux) >= 1)
        if ux:
            rp = ux[0].get("remoteProcess", {})
            c.check("UDP server side: %s, bound socket, pid of the UDP server" % rp.get("name"),
                    rp.get("name") == SERVER_NAME and rp.get("method") == "ATTRIBUTION_METHOD_BOUND"
                    and rp.get("pid") in pids and rp.get("pid") != http_pid, ux[0])

        # Filters and sorting.
        served_ids = sorted(x["id"] for x in served)

        def ids(flt):
            return sorted(x["id"] for x in list_conns(r, flt))
        c.check("filter process:%s matches exactly the server's connections" % SERVER_NAME,
                ids("process:%s rport:%d" % (SERVER_NAME, HTTP_PORT)) == served_ids,
                (ids("process:%s rport:%d" % (SERVER_NAME, HTTP_PORT)), served_ids))
        c.check("filter pid:%d matches them too" % http_pid,
                ids("pid:%d rport:%d" % (http_pid, HTTP_PORT)) == served_ids)
        c.check("filter user:nobody matches them too",
                ids("user:nobody rport:%d" % HTTP_PORT) == served_ids)
        c.check("filter process:no-such-process matches nothing",
                list_conns(r, "process:no-such-process") == [])
        c.check("a bare word matches the process name",
                len(list_conns(r, "%s rport:%d" % (CLIENT_NAME, HTTP_PORT))) == 1)
        ordered = list_conns(r, "", sort="SORT_FIELD_PROCESS")
        names = [x.get("process", {}).get("name") for x in ordered]
        known = [n for n in names if n]
        c.check("sorted by process: named rows first, in name order",
                known == sorted(known) and names[:len(known)] == known, names)

        stats = r.call(MONITOR + "/GetStats", {}, timeout=5).get("attribution", {})
        c.check("GetStats: socket source netlink", stats.get("socketSource") == "netlink", stats)
        # A handful of connections at a time: each is asked for by its own
        # sock_diag lookup, not by dumping the table.
        # (With the eBPF tracker active, its records may answer every one
        # of these connections: no sock_diag lookup at all.)
        c.check("GetStats: requests, attributed, per-socket lookup batches and scans counted",
                int(stats.get("requests", 0)) > 0 and int(stats.get("attributed", 0)) > 0
                and (int(stats.get("socketLookupBatches", 0)) > 0
                     or stats.get("source") == "ebpf")
                and int(stats.get("processesScanned", 0)) > 0, stats)
        c.check("GetStats: latency and thread CPU reported",
                int(stats.get("latencyUsMax", 0)) > 0 and stats.get("threadCpuSeconds", 0) > 0,
                stats)
        print("info: attribution stats: %s" % stats, flush=True)
        daemon.stop()
        daemon = None

        # --no-process.
        off, ro = start_daemon(grpc_reflect, c, work, "off", ["--no-process"])
        subprocess.run(ns("curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/" % HTTP_PORT))
        time.sleep(1.5)
        oc = list_conns(ro, "rport:%d" % HTTP_PORT)
        c.check("--no-process: connections tracked but carry no process",
                oc and all("process" not in x and "remoteProcess" not in x for x in oc), oc)
        c.check("--no-process: GetStats says off",
                ro.call(MONITOR + "/GetStats", {}, timeout=5)["attribution"]["socketSource"]
                == "off")
        off.stop()

        # The /proc/net fallback.
        fb, rf = start_daemon(grpc_reflect, c, work, "procfs",
                              env_extra={"RUSTNET_SOCKET_TABLE": "procfs"})
        subprocess.run(ns("curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/" % HTTP_PORT))

        def fb_conns():
            x = list_conns(rf, "rport:%d" % HTTP_PORT)
            return x if x and x[0].get("remoteProcess", {}).get("pid") == http_pid else None
        fx = poll(fb_conns)
        c.check("/proc/net fallback: the server is attributed", fx is not None,
                list_conns(rf, "rport:%d" % HTTP_PORT))
        c.check("/proc/net fallback: GetStats says procfs",
                rf.call(MONITOR + "/GetStats", {}, timeout=5)["attribution"]["socketSource"]
                == "procfs")
        fb.stop()
    finally:
        if daemon:
            daemon.stop()
        for p in procs:
            p.kill()
        out = subprocess.run(["ip", "netns", "pids", NS], capture_output=True, text=True).stdout
        for pid in out.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
