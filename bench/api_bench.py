#!/usr/bin/python3
"""API benchmark: rustnetd serving 100,000 connections.

Usage: bench/api_bench.py RUSTNETD [--connections N] [--watchers N] [--seconds S]

Replays a generated capture of N distinct UDP flows (default 100,000) into
rustnetd --read, then, against its Unix socket, measures side by side in one
run:
  * the floor: an empty unary RPC (grpc.health.v1.Health/Check),
  * ListConnections for one 50-row page (default order, sorted by rate, and
    with a filter),
  * ListConnections of everything,
  * the daemon's CPU while W clients (default 16) watch at 1 s, next to its
    CPU with no clients over the same time.
Times are medians of repeated calls; CPU is utime+stime from /proc/PID/stat.
Prints numbers, never judges them (these machines are shared).
"""
import argparse
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def compile_protos(out_dir):
    """Generates Python message classes for rustnet.v1 with protoc."""
    protos = ["rustnet/v1/connection.proto", "rustnet/v1/monitor.proto"]
    subprocess.run(["protoc", "--python_out=" + out_dir, "-I", os.path.join(ROOT, "proto")]
                   + [os.path.join(ROOT, "proto", p) for p in protos], check=True)
    sys.path.insert(0, out_dir)
    from rustnet.v1 import monitor_pb2  # noqa: E402 (generated just now)
    return monitor_pb2


def write_capture(path, flows):
    """N distinct UDP flows, one packet each, raw-IP link type, 1 ms apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        payload = b"x" * 32
        for i in range(flows):
            src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            dst = bytes([192, 168, 0, 1])
            udp = struct.pack("!HHHH", 1024 + (i % 60000), 53, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src,
                             dst) + udp
            ts_us = 1_700_000_000_000_000 + i * 100
            f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(ip),
                                len(ip)))
            f.write(ip)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def median_ms(fn, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rustnetd")
    ap.add_argument("--connections", type=int, default=100_000)
    ap.add_argument("--watchers", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="rn-apibench-")
    daemon = None
    try:
        pb = compile_protos(work)
        capture = os.path.join(work, "flows.pcap")
        write_capture(capture, args.connections)
        sock = os.path.join(work, "s.sock")
        daemon = subprocess.Popen([args.rustnetd, "--read", capture, "--socket", sock,
                                   "--log-dir", os.path.join(work, "logs"),
                                   "--max-connections", str(args.connections * 2)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        channel = grpc.insecure_channel("unix:" + sock, options=[
            ("grpc.max_receive_message_length", 256 << 20)])
        grpc.channel_ready_future(channel).result(timeout=30)

        def unary(method, req_cls, resp_cls):
            return channel.unary_unary("/rustnet.v1.Monitor/" + method,
                                       request_serializer=req_cls.SerializeToString,
                                       response_deserializer=resp_cls.FromString)

        get_stats = unary("GetStats", pb.GetStatsRequest, pb.Stats)
        list_conns = unary("ListConnections", pb.ListConnectionsRequest,
                           pb.ListConnectionsResponse)
        health = channel.unary_unary("/grpc.health.v1.Health/Check")

        deadline = time.time() + 120
        while time.time() < deadline:
            page = list_conns(pb.ListConnectionsRequest(limit=1), timeout=10)
            if page.total >= args.connections:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("rustnetd did not reach %d connections" % args.connections)
        stats = get_stats(pb.GetStatsRequest(), timeout=10)

        floor = median_ms(lambda: health(b"", timeout=10), 300)
        page50 = median_ms(lambda: list_conns(pb.ListConnectionsRequest(limit=50), timeout=10),
                           50)
        page50_rate = median_ms(lambda: list_conns(pb.ListConnectionsRequest(
            limit=50, sort=pb.SORT_FIELD_RATE_TOTAL, order=pb.SORT_ORDER_DESCENDING),
            timeout=10), 50)
        page50_filter = median_ms(lambda: list_conns(pb.ListConnectionsRequest(
            limit=50, filter="proto:udp addr:10.1.0.0/16 -port:9"), timeout=10), 50)
        everything_reply = list_conns(pb.ListConnectionsRequest(), timeout=60)
        everything = median_ms(lambda: list_conns(pb.ListConnectionsRequest(), timeout=60), 5)
        reply_mb = everything_reply.ByteSize() / 1e6

        # CPU: idle, then with watchers, over the same duration.
        c0 = cpu_seconds(daemon.pid)
        time.sleep(args.seconds)
        idle_cpu = (cpu_seconds(daemon.pid) - c0) / args.seconds * 100

        watch = channel.unary_stream("/rustnet.v1.Monitor/WatchConnections",
                                     request_serializer=pb.WatchConnectionsRequest.SerializeToString,
                                     response_deserializer=pb.ConnectionsUpdate.FromString)
        received = [0] * args.watchers
        calls = []

        def reader(i, call):
            try:
                for _ in call:
                    received[i] += 1
            except grpc.RpcError:
                pass

        threads = []
        for i in range(args.watchers):
            call = watch(pb.WatchConnectionsRequest(limit=50, interval_ms=1000,
                                                    sort=pb.SORT_FIELD_RATE_TOTAL,
                                                    order=pb.SORT_ORDER_DESCENDING))
            calls.append(call)
            t = threading.Thread(target=reader, args=(i, call), daemon=True)
            t.start()
            threads.append(t)
        time.sleep(1.5)  # Let every stream start.
        c0 = cpu_seconds(daemon.pid)
        time.sleep(args.seconds)
        watch_cpu = (cpu_seconds(daemon.pid) - c0) / args.seconds * 100
        for call in calls:
            call.cancel()

        print("API benchmark: %d connections tracked (GetStats: %d), rustnetd %s" %
              (args.connections, stats.connections.current, stats.version))
        print("%-52s %12s %10s" % ("call", "median ms", "x floor"))
        for name, ms in [("floor: grpc.health.v1.Health/Check (empty RPC)", floor),
                         ("ListConnections, 50 rows, default order", page50),
                         ("ListConnections, 50 rows, by total rate desc", page50_rate),
                         ("ListConnections, 50 rows, 3-term filter", page50_filter),
                         ("ListConnections, everything (%.1f MB)" % reply_mb, everything)]:
            print("%-52s %12.2f %10.1f" % (name, ms, ms / floor))
        print("%-52s %12s" % ("daemon CPU", "% of a core"))
        print("%-52s %12.1f" % ("  no clients (baseline)", idle_cpu))
        print("%-52s %12.1f" % ("  %d WatchConnections clients, 1 s, 50 rows" % args.watchers,
                                watch_cpu))
        print("  updates received per client in %.0f s: min %d, max %d" %
              (args.seconds, min(received), max(received)))
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
