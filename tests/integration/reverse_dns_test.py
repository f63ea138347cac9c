"""Reverse DNS (--resolve-dns) end to end, with dnsmasq answering PTR
records inside a network namespace of the test's own.

dnsmasq (Debian's dnsmasq-base) listens on 127.0.0.1:5353 in the namespace
with PTR records for two of the capture's remote addresses and answers
NXDOMAIN for every other reverse name; rustnetd runs in the same namespace,
replays the capture geoip_test.py writes, and asks that server
(--resolve-dns-server). ListConnections must show the two names with
hostname_source "ptr", none for the others; dnsmasq's query log must show
one query per address however often the table is listed; GetStats counts
answered and not-found lookups. Without --resolve-dns no name appears and
no query is sent. Then a resolver that never answers (a UDP socket this
test binds on loopback and never reads): the API answers, rows carry no
names, failures are counted and the queue stays bounded. Last, live
capture on the namespace's loopback (own_lookup_checks): the PTR queries
rustnetd sends to dnsmasq are themselves connections; without
--show-ptr-lookups neither ListConnections nor GroupConnections shows them,
with it they are listed and marked own_lookup.

Needs root (network namespaces): otherwise prints SKIPPED and exits 77
(CTest: Skipped). Prints one line per check and "N passed, M failed".
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, Daemon, import_grpc, kill_children,  # noqa: E402
                      stop_and_delete, serve_replay, wait_serving)
from geoip_test import V6_SERVER, by_remote, make_capture, rows, wait_for  # noqa: E402

PTRS = {"81.2.69.142": "host.example.test", "1.1.1.1": "one.example.test"}
# own_lookup_checks: an address on the namespace's loopback, so traffic to
# it is captured there with a remote end worth a PTR query.
LIVE_ADDR = "192.0.2.7"
LIVE_NAME = "seven.example.test"
DNS_PORT = 5353


def reverse(addr):
    return ".".join(reversed(addr.split("."))) + ".in-addr.arpa"


def serve(c, g, work, name, capture, extra, netns=None):
    return serve_replay(c, g, work, name, capture, ["--no-geoip"] + list(extra), netns)[:2]


def dnsmasq_checks(c, g, work, capture):
    ns = "rnrdns-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        log = os.path.join(work, "dnsmasq.log")
        args = ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--port=5353", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--log-queries", "--log-facility=-", "--user=root",
                "--local=/in-addr.arpa/", "--local=/ip6.arpa/", "--pid-file="]
        args += ["--ptr-record=%s,%s" % (reverse(a), n) for a, n in PTRS.items()]
        with open(log, "wb") as out:
            dnsmasq = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        procs.append(dnsmasq)
        time.sleep(0.3)
        c.check("dnsmasq runs in the namespace", dnsmasq.poll() is None, open(log).read())

        # Off by default: no names, no queries.
        d, r = serve(c, g, work, "off", capture, [], netns=ns)
        if r is not None:
            listing = rows(r)
            c.check("without --resolve-dns: no ptr names",
                    len(listing) == 5 and all(row.get("hostnameSource") != "ptr"
                                              for row in listing), listing)
            stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
            c.check("without --resolve-dns: GetStats says off", not stats.get("reverseDnsEnabled"),
                    stats)
            d.stop()
        time.sleep(0.2)
        c.check("without --resolve-dns: dnsmasq saw no query",
                "query[PTR]" not in open(log).read(), open(log).read())

        d, r = serve(c, g, work, "on", capture,
                     ["--resolve-dns", "--resolve-dns-server", "127.0.0.1:5353",
                      "--resolve-dns-rate", "50"], netns=ns)
        if r is None:
            return
        try:
            def named():
                table = by_remote(rows(r))
                return all(table.get(a, {}).get("hostname") == n for a, n in PTRS.items())
            c.check("PTR names appear within 30 s", wait_for(named))
            table = by_remote(rows(r))
            for addr, name in PTRS.items():
                row = table.get(addr, {})
                c.check("%s: hostname %s, source ptr" % (addr, name),
                        row.get("hostname") == name and row.get("hostnameSource") == "ptr", row)
            for addr in ("8.8.4.4", "100.64.7.9", V6_SERVER):
                row = table.get(addr, {})
                c.check("%s (NXDOMAIN): no name" % addr, not row.get("hostname"), row)
            for _ in range(5):
                rows(r)

            def all_settled():
                s = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
                return s if int(s.get("ptrNotFound", 0)) >= 3 else None
            stats = wait_for(all_settled) or {}
            c.check("GetStats.enrich: 2 answered, 3 not found, nothing dropped or failed",
                    stats.get("reverseDnsEnabled") and int(stats.get("ptrAnswered", 0)) == 2 and
                    int(stats.get("ptrNotFound", 0)) == 3 and int(stats.get("ptrFailed", 0)) == 0
                    and int(stats.get("ptrDropped", 0)) == 0 and
                    int(stats.get("ptrCacheHits", 0)) > 0, stats)
            text = open(log).read()
            counts = {}
            for m in re.finditer(r"query\[PTR\] (\S+) from", text):
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
            c.check("dnsmasq: one query per address, however often the table was listed",
                    counts.get(reverse("81.2.69.142")) == 1 and
                    counts.get(reverse("1.1.1.1")) == 1 and
                    all(v == 1 for v in counts.values()) and len(counts) == 5, counts)
            c.check("the local end (192.168.1.20, 2001:db8::20) is not looked up",
                    reverse("192.168.1.20") not in counts, counts)
        finally:
            rc = d.stop()
            c.check("on: SIGTERM stops it with exit 0", rc == 0, d.stderr())
    finally:
        stop_and_delete(procs, [ns])


def send_udp(ns, dport):
    """Three datagrams from 127.0.0.1 to LIVE_ADDR:dport inside `ns`, to a
    socket bound there (no ICMP port unreachable in the table)."""
    code = ("import socket\n"
            "d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "d.bind((%r, %d))\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" % (LIVE_ADDR, dport) +
            "s.bind(('127.0.0.1', 0))\n"
            "for _ in range(3):\n"
            "    s.sendto(b'hello', (%r, %d))\n" % (LIVE_ADDR, dport))
    subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code], check=True,
                   timeout=30)


def own_lookup_checks(c, g, work):
    """Live on the namespace's lo: the resolver's own queries to dnsmasq."""
    ns = "rnrdnsl-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", LIVE_ADDR + "/32", "dev", "lo"],
                       check=True)
        log = os.path.join(work, "dnsmasq-live.log")
        args = ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=%d" % DNS_PORT,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--log-queries",
                "--log-facility=-", "--user=root", "--local=/in-addr.arpa/",
                "--local=/ip6.arpa/", "--pid-file=",
                "--ptr-record=%s,%s" % (reverse(LIVE_ADDR), LIVE_NAME)]
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT))
        time.sleep(0.3)
        c.check("live: dnsmasq runs in the namespace", procs[0].poll() is None, open(log).read())
        for show in (False, True):
            name = "live-show" if show else "live-hide"
            sock = os.path.join(work, name + ".sock")
            d = Daemon(work, ["-i", "lo", "--socket", sock, "--log-dir",
                              os.path.join(work, name + "-logs"), "--no-geoip",
                              "--snapshot-interval-ms", "100", "--resolve-dns",
                              "--resolve-dns-server", "127.0.0.1:%d" % DNS_PORT] +
                       (["--show-ptr-lookups"] if show else []), name, netns=ns)
            up = wait_serving(g, d, "unix:" + sock)
            c.check("%s: rustnetd is serving" % name, up, d.stderr())
            if not up:
                d.stop()
                continue
            r = g.Reflector("unix:" + sock)
            try:
                port = 9000 + show
                send_udp(ns, port)

                def named(p=port):
                    for row in rows(r, filter="raddr:%s" % LIVE_ADDR):
                        if (int(row.get("remote", {}).get("port", 0)) == p and
                                row.get("hostname") == LIVE_NAME):
                            return row
                    return None
                row = wait_for(named)
                c.check("%s: %s gets its PTR name %s" % (name, LIVE_ADDR, LIVE_NAME),
                        row is not None and row.get("hostnameSource") == "ptr",
                        rows(r))
                c.check("%s: dnsmasq answered the query" % name,
                        "query[PTR] %s from 127.0.0.1" % reverse(LIVE_ADDR) in open(log).read())
                # A datagram sent after the answer: once the table shows it,
                # the query and its answer are in the snapshot too.
                send_udp(ns, port + 10)
                c.check("%s: a later datagram is listed" % name, wait_for(
                    lambda p=port + 10: any(int(x.get("remote", {}).get("port", 0)) == p
                                            for x in rows(r, filter="raddr:%s" % LIVE_ADDR))))
                listing = rows(r, include_closed=True)
                own = [x for x in listing
                       if int(x.get("remote", {}).get("port", 0)) == DNS_PORT]
                groups = r.call(MONITOR + "/GroupConnections",
                                {"group_by": "GROUP_BY_REMOTE_ADDRESS", "include_closed": True},
                                timeout=10).get("groups", [])
                keys = sorted(x.get("key", "") for x in groups)
                if show:
                    c.check("--show-ptr-lookups: the query to 127.0.0.1:%d is listed, marked "
                            "own_lookup, without a PTR name of its own" % DNS_PORT,
                            len(own) >= 1 and all(x.get("ownLookup") is True and
                                                  x.get("protocol") == "PROTOCOL_UDP" and
                                                  x.get("remote", {}).get("address") ==
                                                  "127.0.0.1" and
                                                  x.get("hostnameSource") != "ptr" for x in own),
                            listing)
                    c.check("--show-ptr-lookups: the other rows are not marked",
                            all(not x.get("ownLookup") for x in listing if x not in own),
                            listing)
                    c.check("--show-ptr-lookups: GroupConnections has the DNS server's group",
                            "127.0.0.1" in keys, keys)
                else:
                    c.check("without --show-ptr-lookups: no connection to the DNS server",
                            own == [] and not any(x.get("ownLookup") for x in listing),
                            listing)
                    c.check("without --show-ptr-lookups: filter rport:%d finds nothing"
                            % DNS_PORT, rows(r, filter="rport:%d" % DNS_PORT) == [])
                    c.check("without --show-ptr-lookups: GroupConnections has no group for "
                            "the DNS server, only %s" % LIVE_ADDR, keys == [LIVE_ADDR],
                            "%s\n%s" % (groups, listing))
            finally:
                rc = d.stop()
                c.check("%s: SIGTERM stops it with exit 0" % name, rc == 0, d.stderr())
    finally:
        stop_and_delete(procs, [ns])


def silent_checks(c, g, work, capture):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        d, r = serve(c, g, work, "silent", capture,
                     ["--resolve-dns", "--resolve-dns-server", "127.0.0.1:%d" % port])
        if r is None:
            return
        try:
            listing = rows(r)
            c.check("a resolver that never answers: the API answers, no names",
                    len(listing) == 5 and not any(row.get("hostname") for row in listing),
                    listing)

            def failed():
                s = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
                return s if int(s.get("ptrFailed", 0)) >= 5 else None
            stats = wait_for(failed, timeout=60) or {}
            c.check("a resolver that never answers: failures counted, nothing queued",
                    int(stats.get("ptrFailed", 0)) == 5 and int(stats.get("ptrQueued", 0)) == 0,
                    stats)
            c.check("a resolver that never answers: still no names, still answering",
                    not any(row.get("hostname") for row in rows(r)))
        finally:
            d.stop()
    finally:
        silent.close()


def main():
    if os.geteuid() != 0:
        print("SKIPPED: reverse_dns_test needs root for its network namespace", flush=True)
        return 77
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    if not c.check("dnsmasq is installed (dnsmasq-base)", shutil.which("dnsmasq") is not None):
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnrdns.")
    os.chmod(work, 0o755)
    try:
        capture = os.path.join(work, "geo.pcap")
        make_capture(capture)
        dnsmasq_checks(c, g, work, capture)
        silent_checks(c, g, work, capture)
        own_lookup_checks(c, g, work)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
