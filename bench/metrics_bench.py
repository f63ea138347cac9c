#!/usr/bin/python3
"""Metrics benchmark: what `--metrics-listen` costs the replay, and how long
a scrape of a 100,000-connection table takes.

Usage: bench/metrics_bench.py RUSTNETD BENCH_MAKE_CAPTURE [--packets N]
           [--flows N] [--connections N] [--reps N] [--scrapes N]
           [--scrape-interval SEC] [--out DIR]

1. Replay, metrics off vs on, in the same run (REPS rounds, interleaved so
   load from other users hits both alike): `rustnetd --read MIXED` (the
   mixed capture of bench_make_capture, default 1,000,000 packets in
   60,000 flows), timed from start until GetStats says the capture
   finished (every packet tracked, the final snapshots published; polled
   every 10 ms over the API socket; the daemon then keeps serving and is
   stopped). "On" is
   --metrics-listen with a scraper fetching /metrics every SCRAPE_INTERVAL
   seconds during the replay (default 0.1: far more often than
   Prometheus' usual 15 s, so that a replay of a second sees scrapes).
   Printed: wall and CPU seconds (median), and the on/off ratio.
2. Scrape latency: `rustnetd --read DISTINCT` of N distinct flows
   (default 100,000; bench_make_capture --distinct-flows, over 10 s so all
   are still in the table), then SCRAPES scrapes of /metrics in the text
   format and in OpenMetrics, next to GET / (the floor: the HTTP round trip
   without rendering). Printed: median and 90th percentile, and the size.
Prints numbers, never judges them (these machines are shared).
"""
import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc_reflect  # noqa: E402  (the tests' reflection client)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(port, path="/metrics", accept=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Accept": accept} if accept else {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


class Replay:
    """rustnetd --read FILE until its log says the file ended."""

    def __init__(self, rustnetd, capture, work, name, metrics_port=None, threads=2):
        self.logs = os.path.join(work, name + "-logs")
        shutil.rmtree(self.logs, ignore_errors=True)
        os.makedirs(self.logs)
        self.sock = os.path.join(work, name + ".sock")
        args = [rustnetd, "--read", capture, "--socket", self.sock,
                "--log-dir", self.logs, "--threads", str(threads), "--history-size", "0"]
        if metrics_port:
            args += ["--metrics-listen", "127.0.0.1:%d" % metrics_port]
        self.start = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_end(self, timeout=600):
        """(wall seconds, CPU seconds) at the end of the file."""
        deadline = time.monotonic() + timeout
        r = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("rustnetd exited early (%d)" % self.proc.returncode)
            try:
                if r is None and os.path.exists(self.sock):
                    r = grpc_reflect.Reflector("unix:" + self.sock)
                if r is not None:
                    caps = r.call("rustnet.v1.Monitor/GetStats", {}, timeout=5).get("captures")
                    if caps and caps[0].get("finished"):
                        wall = time.monotonic() - self.start
                        r.close()
                        return wall, cpu_seconds(self.proc.pid)
            except Exception:  # noqa: BLE001  (not serving yet)
                pass
            time.sleep(0.01)
        raise SystemExit("the replay did not end within %d s" % timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_capture(make, path, args):
    if not os.path.exists(path):
        subprocess.run([make] + args + [path], check=True, stdout=subprocess.DEVNULL)


def replay_bench(a, work, mixed):
    off, on, scrapes = [], [], []
    for rep in range(a.reps):
        for mode in ("off", "on"):
            port = free_port() if mode == "on" else None
            r = Replay(a.rustnetd, mixed, work, "replay-%s-%d" % (mode, rep), port)
            stop = threading.Event()
            count = [0]

            def scraper():
                while not stop.wait(a.scrape_interval):
                    try:
                        if get(port)[0] == 200:
                            count[0] += 1
                    except OSError:
                        pass

            t = threading.Thread(target=scraper) if port else None
            if t:
                t.start()
            wall, cpu = r.wait_end()
            stop.set()
            if t:
                t.join()
                scrapes.append(count[0])
            r.stop()
            (on if mode == "on" else off).append((wall, cpu))
            print("  round %d metrics %-3s: %.2f s wall, %.2f s CPU%s" % (
                rep + 1, mode, wall, cpu, " (%d scrapes)" % count[0] if port else ""),
                flush=True)
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    print("replay of %s (%d packets, %d flows), --threads 2, median of %d:" % (
        os.path.basename(mixed), a.packets, a.flows, a.reps))
    print("  metrics off: %.2f s wall, %.2f s CPU" % (med(off, 0), med(off, 1)))
    print("  metrics on : %.2f s wall, %.2f s CPU (scraped every %g s: %s scrapes)" % (
        med(on, 0), med(on, 1), a.scrape_interval, scrapes))
    print("  ratio on/off: wall %.3f, CPU %.3f" % (med(on, 0) / med(off, 0),
                                                  med(on, 1) / med(off, 1)))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def scrape_bench(a, work, distinct):
    port = free_port()
    r = Replay(a.rustnetd, distinct, work, "scrape", port)
    r.wait_end()
    # The final snapshots: wait until a scrape shows the whole table.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, body = get(port)
        opened = sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                     if line.startswith("rustnet_connections_opened_total"))
        if opened >= a.connections:
            break
        time.sleep(0.2)
    rss_before = 0
    with open("/proc/%d/status" % r.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_before = int(line.split()[1])
    results = {}
    for label, path, accept in (("GET / (floor)", "/", None),
                                ("GET /metrics, text 0.0.4", "/metrics", None),
                                ("GET /metrics, OpenMetrics", "/metrics",
                                 "application/openmetrics-text;version=1.0.0")):
        times, size = [], 0
        cpu0 = cpu_seconds(r.proc.pid)
        for _ in range(a.scrapes):
            t0 = time.perf_counter()
            status, body = get(port, path, accept)
            times.append(time.perf_counter() - t0)
            size = len(body)
            if status != 200:
                raise SystemExit("%s answered %d" % (path, status))
        cpu = (cpu_seconds(r.proc.pid) - cpu0) / a.scrapes
        results[label] = (statistics.median(times), pct(times, 90), size, cpu)
    print("scrape latency with %d connections in the table (%d scrapes each):" % (
        int(opened), a.scrapes))
    for label, (med, p90, size, cpu) in results.items():
        print("  %-28s median %7.2f ms, p90 %7.2f ms, %8d bytes, daemon CPU %.2f ms/scrape" % (
            label, med * 1e3, p90 * 1e3, size, cpu * 1e3))
    print("  daemon RSS %d KB" % rss_before)
    r.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("rustnetd")
    p.add_argument("make_capture")
    p.add_argument("--packets", type=int, default=1_000_000)
    p.add_argument("--flows", type=int, default=60_000)
    p.add_argument("--connections", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--scrapes", type=int, default=20)
    p.add_argument("--scrape-interval", type=float, default=0.1)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "out"))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    mixed = os.path.join(a.out, "metrics-mixed-%d-%d.pcap" % (a.packets, a.flows))
    distinct = os.path.join(a.out, "metrics-distinct-%d.pcap" % a.connections)
    make_capture(a.make_capture, mixed, ["--packets", str(a.packets), "--flows", str(a.flows)])
    make_capture(a.make_capture, distinct, ["--distinct-flows", str(a.connections),
                                            "--duration", "10"])
    work = tempfile.mkdtemp(prefix="rnmetricsbench.")
    try:
        replay_bench(a, work, mixed)
        scrape_bench(a, work, distinct)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
