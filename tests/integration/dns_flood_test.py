"""A flood of DNS answers: the passive DNS cache stays within its capacity.

A capture made here holds N_RESPONSES DNS exchanges over UDP, each asking a
different long name and answered with ANSWERS A records of distinct
addresses (the dissector keeps the first kMaxDnsAnswersKept = 8 of each:
400,000 addresses, more than the cache's 262,144), then one TCP connection
to an address of the last answer and one to an address of the first.
`rustnetd --read FILE --socket --threads 1` serves it; GetStats must say:
- dpi.dnsCacheEntries <= dpi.dnsCacheCapacity, the cache full,
- dpi.dnsCacheEvicted == addresses learned - entries (every address is
  distinct, so nothing else explains a difference),
and ListConnections names the connection to the last answer's address by
the cache ("dns-cache"), the one to the first's (evicted) by nothing.
The peak RSS (VmHWM) after the replay stays within that of the same replay
with 100 exchanges plus (cache capacity x 512 B: an entry's map slot, its
place in the eviction queue, and its share of a name of up to 255 bytes)
plus N_RESPONSES x 1 KiB for the UDP connections (table rows, their copies
in snapshots and their DPI records).

Environment (set by CTest): RUSTNETD.
"""
import os
import shutil
import socket
import struct
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, PcapWriter, ...)

MONITOR = api_test.MONITOR
n64 = api_test.n64
N_RESPONSES = 50_000
ANSWERS = 12
KEPT = 8  # kMaxDnsAnswersKept (daemon/dpi/dns.h)
CACHE_ENTRY_BYTES = 512
CONNECTION_KIB = 1


def name_of(i):
    # Long, distinct names: 3 labels of 40 bytes and the index.
    return "n%07d.%s.%s.%s.flood.example" % (i, "a" * 40, "b" * 40, "c" * 40)


def address(i, k):
    """The k-th answer of response i: distinct for every (i, k), in 100.64/10."""
    v = (100 << 24) | (64 << 16) | (i * ANSWERS + k)
    return socket.inet_ntoa(struct.pack("!I", v))


def dns_exchange(ident, name, answers):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack("!HH", 1, 1)
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q
    rrs = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(a)
                   for a in answers)
    response = struct.pack("!HHHHHH", ident, 0x8180, 1, len(answers), 0, 0) + q + rrs
    return query, response


def make_capture(path, n):
    w = api_test.PcapWriter(path)
    client, resolver = "192.168.50.2", "192.168.50.53"
    for i in range(n):
        query, response = dns_exchange(i & 0xFFFF, name_of(i),
                                       [address(i, k) for k in range(ANSWERS)])
        port = 10000 + i % 50000
        src = "192.168.%d.%d" % (60 + i // 50000, 2)  # A new flow per exchange.
        w.udp(src, resolver, port, 53, query, dt=0.00001)
        w.udp(resolver, src, 53, port, response, macs=(api_test.MAC_B, api_test.MAC_A),
              dt=0.00001)
    # Connections to an address of the last answer and of the first.
    api_test.tcp_session(w, (client, 41000), (address(n - 1, 0), 443), 100, 100, "open")
    api_test.tcp_session(w, (client, 41001), (address(0, 0), 443), 100, 100, "open")
    w.close()


def replay(c, g, work, n, label):
    """Serves a capture of n exchanges; (final GetStats, ListConnections of the
    two TCP connections, VmHWM KiB) or None."""
    capture = os.path.join(work, "%s.pcap" % label)
    make_capture(capture, n)
    sock = os.path.join(work, label + ".sock")
    # One worker: the TCP connection's first packet must be looked up after
    # the answer before it was learned (with several workers, the one owning
    # the DNS flow may still be behind the one owning the connection).
    d = api_test.Daemon(work, ["--read", capture, "--socket", sock, "--threads", "1",
                               "--log-dir", os.path.join(work, label + "-logs")], label)
    target = "unix:" + sock
    try:
        if not c.check("%s: rustnetd --read serves the API" % label,
                       api_test.wait_serving(g, d, target, timeout=30), d.stderr()):
            return None
        with g.Reflector(target) as r:
            stats = api_test.wait_replayed(r, timeout=240)
            if not c.check("%s: the replay finishes" % label, stats is not None, d.stderr()):
                return None
            listing = r.call(MONITOR + "/ListConnections", {"filter": "tcp"}, timeout=20)
        with open("/proc/%d/status" % d.pid) as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        rc = d.stop(timeout=30)
        c.check("%s: rustnetd exits 0 on SIGTERM (got %s)" % (label, rc), rc == 0, d.stderr())
        return stats, listing.get("connections", []), hwm
    finally:
        if d.running():
            d.stop()


def main():
    c = api_test.Checker()
    g = api_test.import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rn-dns-flood-")
    try:
        small = replay(c, g, work, 100, "small")
        big = replay(c, g, work, N_RESPONSES, "flood")
        if small is None or big is None:
            return c.finish()
        stats, conns, hwm = big
        dpi = stats.get("dpi", {})
        entries, capacity = n64(dpi, "dnsCacheEntries"), n64(dpi, "dnsCacheCapacity")
        evicted = n64(dpi, "dnsCacheEvicted")
        learned = N_RESPONSES * KEPT
        c.check("the cache is within its capacity and full (%d entries, capacity %d)" % (
            entries, capacity), 0 < entries <= capacity and entries > capacity * 3 // 4, dpi)
        c.check("evictions are counted: %d == %d addresses learned - %d entries" % (
            evicted, learned, entries), evicted == learned - entries, dpi)
        c.check("every exchange was classified as DNS (%d >= %d)" % (
            n64(dpi, "classified"), N_RESPONSES), n64(dpi, "classified") >= N_RESPONSES, dpi)

        def row_to(addr):
            return [r for r in conns if r.get("remote", {}).get("address") == addr]

        last, first = row_to(address(N_RESPONSES - 1, 0)), row_to(address(0, 0))
        c.check("the connection to the last answer's address is named by the cache (%s)" % (
            [(r.get("hostname"), r.get("hostnameSource")) for r in last]),
                len(last) == 1 and last[0].get("hostname") == name_of(N_RESPONSES - 1) and
                last[0].get("hostnameSource") == "dns-cache", conns)
        c.check("the connection to the first answer's address (evicted) is not (%s)" % (
            [(r.get("hostname"), r.get("hostnameSource")) for r in first]),
                len(first) == 1 and not first[0].get("hostname"), conns)

        small_hwm = small[2]
        bound = small_hwm + (capacity * CACHE_ENTRY_BYTES) // 1024 + N_RESPONSES * CONNECTION_KIB
        what = "peak RSS (VmHWM) %d KiB <= %d KiB (100 exchanges) + %d x %d B + %d x %d KiB = " \
               "%d KiB" % (hwm, small_hwm, capacity, CACHE_ENTRY_BYTES, N_RESPONSES,
                           CONNECTION_KIB, bound)
        if api_test.sanitized_build():
            print("info: sanitizer build, not compared (the release run asserts it): " + what)
        else:
            c.check(what, hwm <= bound)
        print("figures: %d DNS responses x %d answers (%d kept): cache %d entries (capacity %d), "
              "%d evicted; VmHWM %d KiB (100 exchanges: %d KiB)" % (
                  N_RESPONSES, ANSWERS, KEPT, entries, capacity, evicted, hwm, small_hwm),
              flush=True)
    finally:
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
