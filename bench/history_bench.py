#!/usr/bin/python3
"""History benchmark: what remembering costs, and what asking it costs.

Usage: bench/history_bench.py RUSTNETD CAPTURE [--reps N] [--rows N]

CAPTURE is bench/run.sh's mixed capture (1M packets, 60k flows; make it
with `SPEED=0 MEMORY=0 PEER=0 LIVE=0 bench/run.sh` or bench_make_capture).
Measures side by side in one run:
  1. Replay of CAPTURE (`rustnetd --read CAPTURE --dump json >/dev/null`)
     with nothing kept, with the history store (--history-db, a fresh file
     each time), with the connection log (--json-log), and with both; N
     rounds interleaved so the machine's other load hits all alike; median
     wall times and the ratio to nothing kept; rows the store wrote.
  2. A store of --rows rows (default 1,000,000: one per distinct UDP flow of
     a generated capture, 100 us apart: written as they time out and, the
     rest, at the end of the replay): the time that takes (rows per
     second), then, with rustnetd
     serving that capture's table (--rows live connections) and
     the store over its Unix socket: QueryHistory 50-row pages (newest
     first, sorted by bytes, filtered), GroupConnections (by remote address,
     by protocol, with the closed totals) and GetTimeline, next to the
     floor (an empty unary call).
Prints numbers, never judges them (these machines are shared).
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from api_bench import compile_protos, median_ms, write_capture  # noqa: E402


def replay(rustnetd, capture, work, extra):
    t0 = time.perf_counter()
    subprocess.run([rustnetd, "--read", capture, "--dump", "json", "--log-dir",
                    os.path.join(work, "logs")] + extra, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def rows_in(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT count(*) FROM connections").fetchone()[0]
    finally:
        con.close()


def replay_part(args, work):
    modes = {
        "nothing kept": lambda i: ["--no-history-db"],
        # (Retention 0: the capture's packets are older than 30 days.)
        "--history-db": lambda i: ["--history-db", os.path.join(work, "h%d.db" % i),
                                   "--history-retention", "0"],
        "--json-log": lambda i: ["--no-history-db", "--json-log",
                                 os.path.join(work, "l%d.jsonl" % i)],
        "both": lambda i: ["--history-db", os.path.join(work, "b%d.db" % i),
                           "--history-retention", "0", "--json-log",
                           os.path.join(work, "b%d.jsonl" % i)],
    }
    times = {m: [] for m in modes}
    stored = 0
    for i in range(args.reps):
        for m, extra in modes.items():
            times[m].append(replay(args.rustnetd, args.capture, work, extra(i)))
        stored = rows_in(os.path.join(work, "h%d.db" % i))
        for f in os.listdir(work):
            if f.endswith((".db", ".jsonl", ".db-wal", ".db-shm")):
                os.unlink(os.path.join(work, f))
    base = statistics.median(times["nothing kept"])
    print("\n1. Replay of %s, %d rounds, median wall time" % (os.path.basename(args.capture),
                                                               args.reps))
    print("%-16s %9s %8s %s" % ("mode", "seconds", "ratio", "all runs"))
    for m, t in times.items():
        med = statistics.median(t)
        print("%-16s %9.2f %7.2fx %s" % (m, med, med / base, " ".join("%.2f" % x for x in t)))
    print("rows the store wrote per replay: %d" % stored)


def store_part(args, work):
    os.makedirs(os.path.join(work, "py"), exist_ok=True)
    monitor_pb2 = compile_protos(os.path.join(work, "py"))
    capture = os.path.join(work, "distinct.pcap")
    write_capture(capture, args.rows)
    db = os.path.join(work, "big.db")
    t_off = replay(args.rustnetd, capture, work, ["--no-history-db", "--max-connections",
                                                 str(args.rows * 2)])
    keep_all = ["--history-max-size", "0", "--history-retention", "0"]
    t_on = replay(args.rustnetd, capture, work,
                  ["--history-db", db, "--max-connections", str(args.rows * 2)] + keep_all)
    n = rows_in(db)
    print("\n2. A store of %d rows (%d distinct UDP flows over %d s: those past the 60 s UDP "
          "timeout written as they expire, the rest at the end)" % (n, args.rows,
                                                                    args.rows // 10000))
    print("replay without the store %.1f s, with it %.1f s: %.0f rows/s for the extra %.1f s"
          % (t_off, t_on, n / max(t_on - t_off, 1e-9), t_on - t_off))
    print("database file: %.0f MB" % (os.path.getsize(db) / 1e6))

    sock = os.path.join(work, "api.sock")
    daemon = subprocess.Popen([args.rustnetd, "--read", capture, "--socket", sock, "--log-dir",
                               os.path.join(work, "logs"), "--history-db", db,
                               "--max-connections", str(args.rows * 2)] + keep_all,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ch = grpc.insecure_channel("unix:" + sock)
        grpc.channel_ready_future(ch).result(timeout=60)

        def unary(name, req_cls, resp_cls):
            return ch.unary_unary("/rustnet.v1.Monitor/" + name,
                                  request_serializer=req_cls.SerializeToString,
                                  response_deserializer=resp_cls.FromString)
        stats = unary("GetStats", monitor_pb2.GetStatsRequest, monitor_pb2.Stats)
        deadline = time.time() + 600
        last = -1
        while time.time() < deadline:
            s = stats(monitor_pb2.GetStatsRequest(), timeout=30)
            if s.captures and s.captures[0].finished and s.connections.current == last:
                break
            last = s.connections.current
            time.sleep(1)
        live = s.connections.current
        qh = unary("QueryHistory", monitor_pb2.QueryHistoryRequest,
                   monitor_pb2.QueryHistoryResponse)
        gc = unary("GroupConnections", monitor_pb2.GroupConnectionsRequest,
                   monitor_pb2.GroupConnectionsResponse)
        tl = unary("GetTimeline", monitor_pb2.GetTimelineRequest,
                   monitor_pb2.GetTimelineResponse)
        health = ch.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda _: b"",
                                response_deserializer=lambda b: b)
        m = monitor_pb2
        calls = [
            ("floor: empty unary call (Health/Check)", lambda: health(None, timeout=60)),
            ("QueryHistory 50 rows, newest first",
             lambda: qh(m.QueryHistoryRequest(limit=50, order=m.SORT_ORDER_DESCENDING),
                        timeout=120)),
            ("QueryHistory 50 rows, by total bytes",
             lambda: qh(m.QueryHistoryRequest(limit=50, sort=m.SORT_FIELD_BYTES_TOTAL,
                                              order=m.SORT_ORDER_DESCENDING), timeout=120)),
            ("QueryHistory 50 rows, filter rport:53 (in SQL)",
             lambda: qh(m.QueryHistoryRequest(limit=50, filter="rport:53"), timeout=120)),
            ("GroupConnections by protocol, live + closed",
             lambda: gc(m.GroupConnectionsRequest(group_by=m.GROUP_BY_PROTOCOL,
                                                  include_closed=True), timeout=120)),
            ("GroupConnections by remote address, top 50",
             lambda: gc(m.GroupConnectionsRequest(group_by=m.GROUP_BY_REMOTE_ADDRESS,
                                                  limit=50), timeout=120)),
            ("GroupConnections by protocol, filter proto:udp",
             lambda: gc(m.GroupConnectionsRequest(group_by=m.GROUP_BY_PROTOCOL,
                                                  filter="proto:udp"), timeout=120)),
            ("GetTimeline, 3,600 seconds",
             lambda: tl(m.GetTimelineRequest(), timeout=60)),
            ("GetTimeline, 1,440 minutes",
             lambda: tl(m.GetTimelineRequest(resolution=m.TIMELINE_RESOLUTION_MINUTE),
                        timeout=60)),
        ]
        print("API over %d stored rows and %d live connections (median of %d calls):" %
              (n, live, args.calls))
        for name, fn in calls:
            print("  %-52s %9.1f ms" % (name, median_ms(fn, args.calls)))
        ch.close()
    finally:
        daemon.terminate()
        daemon.wait(timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rustnetd")
    ap.add_argument("capture")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rnhistbench.")
    try:
        replay_part(args, work)
        store_part(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
