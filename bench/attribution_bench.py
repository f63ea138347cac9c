#!/usr/bin/python3
"""Process attribution cost, next to `ss -tanp` (iproute2 reading the same
socket table and every process's descriptors) measured in the same run.

In a private network namespace (loopback only): rustnetd -i lo; a host
crowded with PROCS extra processes (sleep) and one process holding SOCKETS
established TCP sockets; then a burst of BURST short TCP connections (a
client connecting and closing as fast as it can, to a server accepting).

Runs the burst twice, with the eBPF socket tracker and with --no-ebpf
(sock_diag + /proc only), each against a fresh daemon. Prints for each:
connections per second in the burst and how many got their client and
server process; with eBPF, the records and the kernel-side run time of the
BPF programs (kernel.bpf_stats_enabled is set to 1 during the burst); request -> answer latency (avg / max); the attribution
thread's CPU time for the burst (total and per connection); and the time of
one `ss -tanp` (median of 5) on the same crowded host: what a monitor that
rescans everything per lookup would pay each time.

Usage (root): bench/attribution_bench.py [RUSTNETD]   (default build-bench/daemon/rustnetd,
then build/daemon/rustnetd). Knobs: PROCS=2000 SOCKETS=50000 BURST=10000.
"""
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc_reflect  # noqa: E402

PROCS = int(os.environ.get("PROCS", "2000"))
SOCKETS = int(os.environ.get("SOCKETS", "50000"))
BURST = int(os.environ.get("BURST", "10000"))
NS = "rnattrbench-%d" % os.getpid()
MONITOR = "rustnet.v1.Monitor"

HOLDER = r"""
import socket, sys, time, resource
n = int(sys.argv[1]) // 2
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.2", int(sys.argv[2]))); l.listen(4096)
keep = []
for i in range(n):
    c = socket.socket(); c.connect(("127.0.0.2", int(sys.argv[2]))); a, _ = l.accept()
    keep += [c, a]
print("ready", flush=True)
time.sleep(100000)
"""

SERVER = r"""
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7100)); l.listen(4096)
print("ready", flush=True)
while True:
    a, _ = l.accept(); a.close()
"""

CLIENT = r"""
import socket, sys, time
n = int(sys.argv[1])
t0 = time.monotonic()
for i in range(n):
    c = socket.socket()
    c.connect(("127.0.0.1", 7100)); c.close()
print("%.3f" % (time.monotonic() - t0), flush=True)
"""


def ns(*cmd):
    return ["ip", "netns", "exec", NS] + list(cmd)


def stats(r):
    return r.call(MONITOR + "/GetStats", {}, timeout=10).get("attribution", {})


def matched(r, flt):
    return int(r.call(MONITOR + "/ListConnections", {"filter": flt, "limit": 1},
                      timeout=30).get("matched", 0))


def run_mode(rustnetd, work, procs, nprocs, mode, extra):
    """One daemon, one burst; prints its numbers, returns its CPU per connection."""
    slug = "ebpf" if not extra else "no-ebpf"
    sock = os.path.join(work, "s-%s.sock" % slug)
    log = open(os.path.join(work, "d-%s.log" % slug), "w")
    d = subprocess.Popen(ns(rustnetd, "-i", "lo", "--socket", sock, "-f",
                            "not host 127.0.0.2", *extra), stdout=log,
                         stderr=subprocess.STDOUT)
    procs.append(d)
    r = grpc_reflect.Reflector("unix:" + sock)
    for _ in range(100):
        try:
            before = stats(r)
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    # Until the thread has read every process once (its start-up scan of
    # the crowd), so both runs start the burst from the same state.
    for _ in range(300):
        if int(stats(r).get("processesKnown", 0)) > 0:
            break
        time.sleep(0.1)
    time.sleep(1)
    before = stats(r)

    bpf_stats_was = read_bpf_stats()
    write_bpf_stats("1")  # Kernel-side run time of the BPF programs.
    out = subprocess.run(ns("python3", "-c", CLIENT, str(BURST)), capture_output=True,
                         text=True).stdout.split()
    write_bpf_stats(bpf_stats_was)
    burst_s = float(out[0])
    time.sleep(3)  # Let the last answers arrive.
    after = stats(r)
    # The burst's connections only (include_closed: most are closed).
    flt = "rport:7100 proto:tcp"
    total = matched(r, flt)
    conns = []
    while True:  # Pages: a whole 10k-row reply is over gRPC's default 4 MB.
        page = r.call(MONITOR + "/ListConnections",
                      {"filter": flt, "offset": len(conns), "limit": 2000},
                      timeout=60).get("connections", [])
        conns += page
        if len(page) < 2000:
            break
    client_named = sum(1 for c in conns if c.get("process", {}).get("pid"))
    server_named = sum(1 for c in conns if c.get("remoteProcess", {}).get("pid"))
    both = sum(1 for c in conns if c.get("process", {}).get("pid")
               and c.get("remoteProcess", {}).get("pid"))

    def delta(k):
        return float(after.get(k, 0)) - float(before.get(k, 0))
    cpu = delta("threadCpuSeconds")
    req = delta("requests")
    print("== process attribution, %s (%d processes, %d TCP sockets, burst of %d "
          "connections)" % (mode, nprocs, SOCKETS, BURST))
    print("source: %s (%s)" % (after.get("source"), after.get("ebpfStatus")))
    print("burst: %.2f s, %.0f connections/s; tracked %d" % (burst_s, BURST / burst_s, total))
    print("attributed: client side %d (%.1f%%), server side %d (%.1f%%), both %d"
          % (client_named, 100.0 * client_named / max(total, 1), server_named,
             100.0 * server_named / max(total, 1), both))
    print("requests %d, socket-table reads %d, fd dirs read %d, links read %d"
          % (req, delta("socketDumps"), delta("processesScanned"), delta("fdLinksRead")))
    print("latency request->answer: avg %s us, max %s us (whole run)"
          % (after.get("latencyUsAvg"), after.get("latencyUsMax")))
    print("attribution thread CPU: %.3f s for the burst, %.0f us per connection = capacity "
          "%.0f new connections per CPU-second" % (cpu, 1e6 * cpu / max(BURST, 1),
                                                    BURST / max(cpu, 1e-9)))
    if delta("ebpfRunCount") > 0:
        print("eBPF: %d records (%d lost), %d late answers; kernel side %.0f us in %d "
              "program runs = %.2f us per connection"
              % (delta("ebpfEvents"), delta("ebpfLost"), delta("ebpfLate"),
                                            delta("ebpfRunNs") / 1e3, delta("ebpfRunCount"),
                                            delta("ebpfRunNs") / 1e3 / max(BURST, 1)))
    d.send_signal(signal.SIGTERM)
    d.wait(10)
    log.close()
    return cpu / max(BURST, 1)


def read_bpf_stats():
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            return f.read().strip()
    except OSError:
        return "0"


def write_bpf_stats(value):
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(value)
    except OSError:
        pass


def main():
    if os.geteuid() != 0:
        print("attribution_bench.py needs root (network namespaces): run it with sudo")
        return 2
    rustnetd = sys.argv[1] if len(sys.argv) > 1 else next(
        (p for p in (os.path.join(ROOT, "build-bench/daemon/rustnetd"),
                     os.path.join(ROOT, "build/daemon/rustnetd")) if os.path.exists(p)), "")
    if not rustnetd:
        print("no rustnetd built: build it first (cmake --build build) or pass its path")
        return 2
    work = tempfile.mkdtemp(prefix="rnattrbench.")
    procs = []
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True)
        subprocess.run(ns("ip", "link", "set", "lo", "up"), check=True)
        subprocess.run(ns("ip", "addr", "add", "127.0.0.2/8", "dev", "lo"), capture_output=True)
        # The crowd: processes and sockets, made before the daemon starts.
        for _ in range(PROCS):
            procs.append(subprocess.Popen(["sleep", "100000"]))
        # Several holders: the hard limit on descriptors per process may be low.
        per_holder = 10000
        holders = []
        for i in range((SOCKETS + per_holder - 1) // per_holder):
            n = min(per_holder, SOCKETS - i * per_holder)
            h = subprocess.Popen(ns("python3", "-c", HOLDER, str(n), str(7000 + i)),
                                 stdout=subprocess.PIPE, text=True)
            procs.append(h)
            holders.append(h)
        for h in holders:
            h.stdout.readline()
        server = subprocess.Popen(ns("python3", "-c", SERVER), stdout=subprocess.PIPE, text=True)
        procs.append(server)
        server.stdout.readline()
        nprocs = len([d for d in os.listdir("/proc") if d.isdigit()])

        per_conn = {}
        for mode, extra in (("with eBPF", ()), ("without eBPF (--no-ebpf)", ("--no-ebpf",))):
            per_conn[mode] = run_mode(rustnetd, work, procs, nprocs, mode, extra)
        ss_times = []
        for _ in range(5):
            t0 = time.monotonic()
            subprocess.run(ns("ss", "-tanpH"), capture_output=True)
            ss_times.append(time.monotonic() - t0)
        ss_med = statistics.median(ss_times)

        print("baseline: one `ss -tanp` on this host: %.3f s (median of 5) = %.0f us per lookup "
              "if each new connection rescanned" % (ss_med, 1e6 * ss_med))
        for mode, cpu in per_conn.items():
            print("ratio %s: ss -tanp per lookup / rustnetd per connection = %.0fx"
                  % (mode, ss_med / max(cpu, 1e-9)))
    finally:
        for p in procs:
            try:
                p.kill()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(5)
            except Exception:  # noqa: BLE001
                pass
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
