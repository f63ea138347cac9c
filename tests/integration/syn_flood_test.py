"""SYN flood on a veth: rustnetd stays bounded, responsive, and keeps the
connections that matter.

Two network namespaces of the test's own joined by a veth pair; rustnetd
captures on the server side's end with --max-connections 20000 and
--threads 2 (the same memory on every machine). From the
other namespace tests/tools/syn_flood.cc (rn_syn_flood) sends TCP SYNs from
random addresses in 172.16.0.0/12 and random ports to random ports of the
server side for FLOOD_SECONDS, as fast as one thread can: millions of
distinct 5-tuples, far above the cap. The server side has a default route
back through the veth, so its kernel answers every SYN (RST for closed
ports) and the daemon sees answered half-open connections as well as bare
SYNs. Nothing leaves the namespaces.

During the flood:
- GetStats and ListConnections keep answering (each polled about twice a
  second, with a generous 20 s deadline; a call that fails is a FAIL), and
  the tracked count they report never exceeds the cap;
- a real TCP connection is made to an echo server (port 18086) and left
  open, and curl fetches a page from python3 -m http.server (port 18080).
Afterwards (it sends one more segment once the flood is over, for the case
where the kernel dropped every packet of it during the flood, which a slow
sanitizer build makes likely and GetStats counts): that connection was seen
during the flood or the kernel reported drops; it is in the table, the same
row as during the flood if it was seen then, ESTABLISHED, with packets both
ways (at capacity the daemon evicts one-way and half-open connections before
any that completed a handshake: connections.evictedEstablished stays 0);
GetStats counts the evictions; the peak RSS (VmHWM) stays under
  baseline VmHWM + 32 MiB (the capture ring, pcap_source.h) + cap x 1 KiB
(a connection is 248 bytes in a worker's table, plus its copies in the
published snapshot and in a query's answer: well under 1 KiB); rustnetd
exits 0 on SIGTERM.

Prints the figures (packets/s sent, received by the daemon, dropped by the
kernel or the daemon's queues): reported, not thresholds.

Needs root. Environment (set by CTest): RUSTNETD, RN_SYN_FLOOD.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, wait_serving, ...)

MONITOR = api_test.MONITOR
n64 = api_test.n64
FLOOD = os.environ.get("RN_SYN_FLOOD", "")
FLOOD_SECONDS = 10
CAP = 20000
RING_KIB = 32 * 1024        # PcapSource's default kernel ring (buffer_bytes).
PER_CONNECTION_KIB = 1
NS_D = "rnflood-d-%d" % os.getpid()  # rustnetd, the servers
NS_F = "rnflood-f-%d" % os.getpid()  # the flood, the clients
IF_D, IF_F = "rnflood0", "rnflood1"
IP_D, IP_F = "10.231.0.1", "10.231.0.2"
FLOOD_SOURCES = "172.16.0.0/12"
ECHO_PORT = 18086
HTTP_PORT = 18080

ECHO_SERVER = r"""
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(16)
kept = []
while True:
    c, _ = srv.accept()
    kept.append(c)
    c.sendall(c.recv(100))
"""

# Connects, exchanges a line, prints its local port and the echo, then holds
# the connection open until stdin closes; a line "again" on stdin sends one
# more segment first.
ECHO_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"still-here\n")
echo = s.recv(100)
print(s.getsockname()[1], echo.decode().strip(), flush=True)
if sys.stdin.readline().strip() == "again":
    s.sendall(b"after-the-flood\n")
sys.stdin.read()
s.close()
"""


def client_rows(r, client_port, timeout):
    """(the rows of the echo connection from client_port, every row on the
    echo port); empty if the call fails."""
    code, listing = api_test.grpc_error(lambda: r.call(
        MONITOR + "/ListConnections", {"filter": "port:%d" % ECHO_PORT}, timeout=timeout))
    rows = listing.get("connections", []) if code is None else []
    return [row for row in rows if client_port in (row.get("remote", {}).get("port"),
                                                   row.get("local", {}).get("port"))], rows


def run(*cmd, timeout=20):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


def ns(name, *cmd):
    return ["ip", "netns", "exec", name] + list(cmd)


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def remove_stale_namespaces():
    """Namespaces left by a killed run of this test (the pid in the name is gone)."""
    listed = run("ip", "netns", "list").stdout
    for m in re.finditer(r"^(rnflood-[df]-(\d+))\b", listed, re.M):
        if not os.path.exists("/proc/" + m.group(2)):
            run("ip", "netns", "del", m.group(1))


def setup_namespaces(c):
    steps = [["ip", "netns", "add", NS_D], ["ip", "netns", "add", NS_F]]
    for name in (NS_D, NS_F):
        steps += [ns(name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"),
                  ns(name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"),
                  ["ip", "-n", name, "link", "set", "lo", "up"]]
    steps += [["ip", "link", "add", "name", IF_D, "netns", NS_D, "type", "veth", "peer", "name",
               IF_F, "netns", NS_F],
              ["ip", "-n", NS_D, "addr", "add", IP_D + "/24", "dev", IF_D],
              ["ip", "-n", NS_F, "addr", "add", IP_F + "/24", "dev", IF_F],
              ["ip", "-n", NS_D, "link", "set", IF_D, "up"],
              ["ip", "-n", NS_F, "link", "set", IF_F, "up"],
              # The server side answers the flood (RSTs, SYN-ACKs) back through
              # the veth; the flood side, no router, drops those answers.
              ["ip", "-n", NS_D, "route", "add", "default", "via", IP_F]]
    for step in steps:
        p = run(*step)
        if p.returncode != 0:
            c.check("create namespaces and veth pair (%s)" % " ".join(step), False, p.stderr)
            return False
    return True


def mac_of(name, ifname):
    return run(*ns(name, "cat", "/sys/class/net/%s/address" % ifname)).stdout.strip()


def wait_listening(name, port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (":%d " % port) in run(*ns(name, "ss", "-Hltn")).stdout:
            return True
        time.sleep(0.1)
    return False


class Poller(threading.Thread):
    """Calls GetStats and ListConnections about twice a second until stopped;
    records failures, the largest count seen and the slowest answer."""

    def __init__(self, g, target):
        super().__init__(daemon=True)
        self.g, self.target = g, target
        self.stop_event = threading.Event()
        self.calls = 0
        self.failures = []
        self.max_current = 0
        self.max_total = 0
        self.slowest = 0.0

    def run(self):
        with self.g.Reflector(self.target) as r:
            while not self.stop_event.is_set():
                for method, req in (("GetStats", {}), ("ListConnections", {"limit": 1})):
                    t0 = time.monotonic()
                    try:
                        got = r.call(MONITOR + "/" + method, req, timeout=20)
                    except Exception as e:  # noqa: BLE001 - any failure is recorded
                        self.failures.append("%s: %r" % (method, e))
                        continue
                    self.slowest = max(self.slowest, time.monotonic() - t0)
                    self.calls += 1
                    if method == "GetStats":
                        self.max_current = max(self.max_current,
                                               n64(got, "connections", "current"))
                    else:
                        self.max_total = max(self.max_total, n64(got, "total"))
                self.stop_event.wait(0.5)


def main():
    c = api_test.Checker()
    g = api_test.import_grpc(c)
    if g is None:
        return c.finish()
    if os.geteuid() != 0:
        c.check("running as root (needed for network namespaces); run the tests with sudo",
                False)
        return c.finish()
    for tool, path in (("rustnetd ($RUSTNETD)", api_test.RUSTNETD),
                       ("rn_syn_flood ($RN_SYN_FLOOD)", FLOOD)):
        if not path or not os.access(path, os.X_OK):
            c.check("%s is built: %r" % (tool, path), False)
            return c.finish()
    for tool in ("ip", "curl", "ss"):
        if shutil.which(tool) is None:
            c.check("required tool %s is installed" % tool, False)
            return c.finish()

    remove_stale_namespaces()
    work = tempfile.mkdtemp(prefix="rn-syn-flood-")
    procs = []
    d = None
    try:
        if not setup_namespaces(c):
            return c.finish()
        www = os.path.join(work, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("served during a SYN flood\n")
        procs.append(subprocess.Popen(
            ns(NS_D, "/usr/bin/python3", "-m", "http.server", str(HTTP_PORT), "--bind", IP_D,
               "--directory", www), stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "servers.err"), "ab")))
        procs.append(subprocess.Popen(
            ns(NS_D, "/usr/bin/python3", "-c", ECHO_SERVER, IP_D, str(ECHO_PORT)),
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "servers.err"), "ab")))

        sock = os.path.join(work, "api", "rustnetd.sock")
        target = "unix:" + sock
        logs = os.path.join(work, "logs")
        d = api_test.Daemon(work, ["-i", IF_D, "--socket", sock, "--log-dir", logs,
                                   "--max-connections", str(CAP), "--threads", "2"], "flood",
                            netns=NS_D)
        procs.append(d.proc)
        up = api_test.wait_serving(g, d, target)
        c.check("rustnetd -i %s --max-connections %d serves the API" % (IF_D, CAP), up,
                d.stderr())
        if not up:
            return c.finish()
        listening = wait_listening(NS_D, HTTP_PORT) and wait_listening(NS_D, ECHO_PORT)
        with open(os.path.join(work, "servers.err"), errors="replace") as f:
            c.check("the HTTP and echo servers listen", listening,
                    f.read() + run(*ns(NS_D, "ss", "-Hltn")).stdout)
        if not listening:
            return c.finish()
        time.sleep(1.0)  # The daemon settles (threads started, first snapshots).
        baseline_hwm = status_kb(d.pid, "VmHWM")

        poller = Poller(g, target)
        poller.start()
        flood = subprocess.Popen(
            ns(NS_F, FLOOD, IF_F, mac_of(NS_F, IF_F), mac_of(NS_D, IF_D), IP_D, FLOOD_SOURCES,
               str(FLOOD_SECONDS)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(flood)

        # Mid-flood: a connection left open, and an HTTP fetch.
        time.sleep(FLOOD_SECONDS * 0.4)
        client = subprocess.Popen(ns(NS_F, "/usr/bin/python3", "-c", ECHO_CLIENT, IP_D,
                                     str(ECHO_PORT)), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(client)
        line = client.stdout.readline().split()
        client_port = int(line[0]) if len(line) == 2 and line[0].isdigit() else None
        c.check("during the flood: a TCP connection to %s:%d exchanges data (local port %s)" %
                (IP_D, ECHO_PORT, client_port),
                client_port is not None and line[1] == "still-here",
                "client said %r" % line)
        curl = run(*ns(NS_F, "curl", "--noproxy", "*", "-sS", "--max-time", "20", "http://%s:%d/"
                       % (IP_D, HTTP_PORT)), timeout=30)
        c.check("during the flood: curl gets the page from %s:%d" % (IP_D, HTTP_PORT),
                curl.stdout == "served during a SYN flood\n", curl.stderr)
        flood_running = flood.poll() is None
        c.check("the connection and the fetch happened while the flood ran", flood_running)
        # Its row as the daemon saw it during the flood (a snapshot a second).
        id_during = None
        look = g.Reflector(target)
        until = time.monotonic() + 3
        while id_during is None and time.monotonic() < until and flood.poll() is None:
            seen, _ = client_rows(look, client_port, timeout=5)
            id_during = seen[0].get("id") if seen else None
            time.sleep(0.3)
        look.close()

        try:
            out, err = flood.communicate(timeout=FLOOD_SECONDS + 60)
        except subprocess.TimeoutExpired:
            flood.kill()
            out, err = flood.communicate()
        m = re.match(r"sent (\d+) seconds ([\d.]+) rate (\d+)", out)
        c.check("rn_syn_flood ran (%s)" % out.strip(), flood.returncode == 0 and m, err)
        sent, secs = (int(m.group(1)), float(m.group(2))) if m else (0, 1.0)
        # (The flood runs for a fixed time; how many it sends is the
        # machine's speed: on a loaded 2-core machine ~180 k.)
        c.check("the flood sent several times more SYNs than the cap (%d > 4 x %d)" % (sent, CAP),
                sent > 4 * CAP)

        # Let the daemon drain what the flood left queued: its packet count
        # stops moving.
        r = g.Reflector(target)
        stats, last, stable = None, -1, 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and stable < 3:
            code, stats = api_test.grpc_error(
                lambda: r.call(MONITOR + "/GetStats", {}, timeout=20))
            now = n64(stats, "pipeline", "packets") if code is None else -1
            stable = stable + 1 if now == last and now >= 0 else 0
            last = now
            time.sleep(0.5)
        poller.stop_event.set()
        poller.join(60)
        c.check("the API answered every call during the flood (%d calls, slowest %.2f s)" %
                (poller.calls, poller.slowest),
                not poller.failures and poller.calls >= 2 * FLOOD_SECONDS,
                "\n".join(poller.failures[:10]))
        # Both counts add up per-worker figures taken at different moments
        # (GetStats: each worker's size after its last batch; ListConnections:
        # each worker's latest snapshot, up to a second apart). The workers
        # share the cap's pool, so a place that moved from one worker to the
        # other in between can be counted twice: within 1 % of the cap. (That
        # the table itself never exceeds it is flow_table's and pipeline's
        # unit tests.)
        c.check("the tracked count stayed at --max-connections, within 1%% for counts taken "
                "apart (GetStats current max %d, ListConnections total max %d, cap %d)"
                % (poller.max_current, poller.max_total, CAP),
                0 < poller.max_current <= CAP + CAP // 100 and
                0 < poller.max_total <= CAP + CAP // 100)
        c.check("the table did fill to the cap (max current %d)" % poller.max_current,
                poller.max_current >= CAP * 9 // 10)
        conns = (stats or {}).get("connections", {})
        created, evicted = n64(conns, "created"), n64(conns, "evicted")
        evicted_established = n64(conns, "evictedEstablished")
        c.check("GetStats: current %d <= capacity %d == --max-connections" % (
            n64(conns, "current"), n64(conns, "capacity")),
                n64(conns, "current") <= CAP and n64(conns, "capacity") == CAP, conns)
        c.check("GetStats counts the evictions (created %d, evicted %d)" % (created, evicted),
                created > CAP and evicted > 0, conns)
        c.check("no connection that completed a handshake was evicted (evictedEstablished %d)" %
                evicted_established, "evicted" in conns and evicted_established == 0, conns)

        # One more segment on the connection after the flood: if the kernel
        # dropped all of its packets during the flood (it counts them; a slow
        # sanitizer build falls far behind), it is seen now all the same.
        client.stdin.write("again\n")
        client.stdin.flush()
        time.sleep(2.0)  # Two snapshot intervals.
        dropped_kernel = n64((stats or {}).get("captures", [{}])[0], "droppedKernel")
        c.check("the connection was seen during the flood (row %s), or the kernel says it "
                "dropped packets (%d)" % (id_during, dropped_kernel),
                id_during is not None or dropped_kernel > 0)
        mine, on_port = client_rows(r, client_port, timeout=20)
        c.check("the connection made during the flood is in the table afterwards (%d rows for "
                "port %d)" % (len(mine), ECHO_PORT), len(mine) == 1, on_port)
        if mine and id_during is not None:
            c.check("... the same row as during the flood: it was not evicted (id %s, then %s)"
                    % (id_during, mine[0].get("id")), mine[0].get("id") == id_during)
        if mine:
            row = mine[0]
            c.check("... ESTABLISHED, with packets both ways (%s, %d/%d packets)" % (
                row.get("state"), n64(row, "sent", "packets"), n64(row, "received", "packets")),
                    row.get("state") == "CONNECTION_STATE_ESTABLISHED" and
                    n64(row, "sent", "packets") > 0 and n64(row, "received", "packets") > 0, row)

        peak_hwm = status_kb(d.pid, "VmHWM")
        bound = (baseline_hwm or 0) + RING_KIB + CAP * PER_CONNECTION_KIB
        what = ("peak RSS (VmHWM) %s KiB <= baseline %s KiB + ring %d KiB + %d x %d KiB = %d KiB"
                % (peak_hwm, baseline_hwm, RING_KIB, CAP, PER_CONNECTION_KIB, bound))
        if api_test.sanitized_build():
            print("info: sanitizer build, not compared (the release run asserts it): " + what)
            c.check("VmHWM readable", bool(baseline_hwm and peak_hwm))
        else:
            c.check(what, baseline_hwm and peak_hwm and peak_hwm <= bound)

        cap = ((stats or {}).get("captures") or [{}])[0]
        received, dropped = n64(cap, "received"), n64(cap, "droppedKernel")
        print("figures: flood sent %d SYNs in %.1f s = %.0f packets/s; daemon received %d "
              "(%.0f/s, SYNs and the kernel's answers), kernel dropped %d, queues dropped %d; "
              "cap %d, created %d, evicted %d (established %d); VmHWM %s -> %s KiB; API calls "
              "%d, slowest %.2f s" % (
                  sent, secs, sent / secs, received, received / secs, dropped,
                  n64(stats, "pipeline", "droppedQueues"), CAP, created, evicted,
                  evicted_established, baseline_hwm, peak_hwm, poller.calls, poller.slowest),
              flush=True)

        client.stdin.close()
        client.wait(10)
        r.close()
        rc = d.stop(timeout=30)
        c.check("rustnetd exits 0 on SIGTERM (got %s)" % rc, rc == 0, d.stderr())
        c.check("rustnetd printed no error (stderr empty or info only)",
                not re.search(r"\b(error|critical)\b", d.stderr(), re.I), d.stderr())
    finally:
        api_test.stop_and_delete(procs, (NS_D, NS_F))
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
