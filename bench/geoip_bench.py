#!/usr/bin/python3
"""GeoIP benchmark: the bench capture replayed with GeoIP (country + ASN)
on and off in one run, then the API's lookups.

Usage: bench/geoip_bench.py RUSTNETD CAPTURE [--repeat N]

CAPTURE is the mixed bench capture (bench/run.sh writes it with
bench_make_capture: 1,000,000 packets in 60,000 flows). The test databases
are written here with tests/tools/make_mmdb.pl (Debian's
libmaxmind-db-writer-perl): a country and an ASN database whose /20
networks (about 1,400, plus the IPv6 prefixes) cover every server prefix
the generator uses, so every remote server address is found.

Prints, side by side, never judging them (these machines are shared):
  * replay: wall time and daemon CPU from start to the end of the file,
    --no-geoip vs GeoIP on (lookups are not on the packet path: the ratio
    shows that), best of N runs each, interleaved;
  * a country: filter no row matches, over the whole table (one lookup of
    each row's remote address; nothing returned, so the client's decoding
    does not count): off, on with an empty cache (database lookups/s), on
    warm (cached lookups/s);
  * a 50-row page sorted by rate, as the TUI asks: off vs on;
  * the cache after that: entries, bytes (GetStats.enrich), bytes per entry.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

MONITOR = "rustnet.v1.Monitor"
COUNTRIES = ["US", "DE", "GB", "FR", "NL", "JP", "SE", "IE", "SG", "BR", "CA", "AU"]

# bench/make_capture.cc's server prefixes (ServerAddress, Resolver).
V4_PREFIXES = [("93.184.0.0", 16), ("151.101.0.0", 16), ("104.16.0.0", 12),
               ("142.250.0.0", 15), ("52.0.0.0", 10), ("185.199.0.0", 16),
               ("1.1.1.0", 24), ("8.8.8.0", 24)]
V6_PREFIXES = ["2606:4700::/32", "2a00:1450::/32", "2620:1ec::/32", "2a04:4e42::/32",
               "2001:4860::/32"]


def networks():
    """/20s (or the prefix itself when smaller) of every prefix."""
    import ipaddress
    out = []
    for base, bits in V4_PREFIXES:
        net = ipaddress.ip_network("%s/%d" % (base, bits))
        subs = [net] if bits >= 20 else list(net.subnets(new_prefix=20))
        out += [str(s) for s in subs]
    return out + V6_PREFIXES


def write_dbs(work):
    country, asn = {}, {}
    for i, net in enumerate(networks()):
        cc = COUNTRIES[i % len(COUNTRIES)]
        country[net] = {"country": {"iso_code": cc, "names": {"en": "Country " + cc}}}
        asn[net] = {"autonomous_system_number": 64512 + i % 1000,
                    "autonomous_system_organization": "Bench Network %d" % (i % 1000)}
    paths = (os.path.join(work, "country.mmdb"), os.path.join(work, "asn.mmdb"))
    for path, kind, data in ((paths[0], "GeoLite2-Country", country),
                             (paths[1], "GeoLite2-ASN", asn)):
        with open(path + ".json", "w") as f:
            json.dump(data, f)
        subprocess.run(["/usr/bin/perl", os.path.join(ROOT, "tests", "tools", "make_mmdb.pl"),
                        path, kind, "@" + path + ".json"], check=True, timeout=600)
    return paths, len(country)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median_ms(fn, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(api, g, rustnetd, capture, work, name, extra, measure_api):
    sock = os.path.join(work, name + ".sock")
    d = api.Daemon(work, ["--read", capture, "--socket", sock, "--log-dir",
                          os.path.join(work, name + "-logs"), "--history-size", "0"] + extra, name)
    t0 = time.perf_counter()
    if not api.wait_serving(g, d, "unix:" + sock, timeout=60):
        sys.exit("%s: rustnetd did not serve: %s" % (name, d.stderr()))
    r = g.Reflector("unix:" + sock, options=[("grpc.max_receive_message_length", 1 << 30)])
    # The end of the file, polled every 50 ms.
    while True:
        caps = r.call(MONITOR + "/GetStats", {}, timeout=30).get("captures", [{}])
        if caps and caps[0].get("finished"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(d.pid)
    result = {"wall": wall, "cpu": cpu}
    if measure_api:
        if api.wait_replayed(r, timeout=120) is None:
            sys.exit("%s: the table did not settle" % name)
        result["rows"] = int(r.call(MONITOR + "/ListConnections", {"limit": 1},
                                    timeout=30).get("total", 0))
        # A filter no row matches: the daemon looks at every row's remote
        # location and returns nothing, so the client's decoding is no part
        # of the time. The first call finds the cache empty.
        nothing = lambda: r.call(MONITOR + "/ListConnections",  # noqa: E731
                                 {"filter": "country:zz"}, timeout=300)
        t = time.perf_counter()
        nothing()
        result["filter_cold_ms"] = (time.perf_counter() - t) * 1000
        stats = r.call(MONITOR + "/GetStats", {}, timeout=30).get("enrich", {})
        result["cold_misses"] = int(stats.get("cacheMisses", 0))
        result["filter_warm_ms"] = median_ms(nothing, 5)
        # What the TUI asks for: a 50-row page, sorted by rate.
        result["page_ms"] = median_ms(lambda: r.call(
            MONITOR + "/ListConnections",
            {"limit": 50, "sort": "SORT_FIELD_RATE_TOTAL", "order": "SORT_ORDER_DESCENDING"},
            timeout=30), 20)
        result["enrich"] = r.call(MONITOR + "/GetStats", {}, timeout=30).get("enrich", {})
    d.stop()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rustnetd")
    ap.add_argument("capture")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["RUSTNETD"] = os.path.abspath(args.rustnetd)
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    import api_test as api  # noqa: E402 (needs RUSTNETD set)
    import grpc_reflect as g  # noqa: E402
    work = tempfile.mkdtemp(prefix="rngeobench.")
    try:
        t = time.perf_counter()
        (country, asn), n = write_dbs(work)
        print("test databases: %d networks each, written in %.1f s" % (n, time.perf_counter() - t))
        on = ["--geoip-country", country, "--geoip-asn", asn]
        off = ["--no-geoip"]
        replay = {"off": [], "on": []}
        for i in range(args.repeat):
            for mode, extra in (("off", off), ("on", on)):
                replay[mode].append(run(api, g, args.rustnetd, args.capture, work,
                                        "%s%d" % (mode, i), extra, False))
        api_off = run(api, g, args.rustnetd, args.capture, work, "api-off", off, True)
        api_on = run(api, g, args.rustnetd, args.capture, work, "api-on", on, True)
    finally:
        api.kill_children()
        shutil.rmtree(work, ignore_errors=True)

    best = {m: min(replay[m], key=lambda x: x["wall"]) for m in replay}
    print("Replay of %s (best of %d, interleaved):" % (os.path.basename(args.capture),
                                                     args.repeat))
    for m in ("off", "on"):
        print("  GeoIP %-3s  wall %6.2f s   daemon CPU %6.2f s" %
              (m, best[m]["wall"], best[m]["cpu"]))
    print("  ratio on/off: wall %.3f, CPU %.3f" % (best["on"]["wall"] / best["off"]["wall"],
                                                   best["on"]["cpu"] / best["off"]["cpu"]))
    rows = api_on["rows"]
    print("A country:zz filter over all %d rows (matches none; one remote lookup per row):" % rows)
    print("  GeoIP off:                     %8.1f ms (no lookups: the baseline)" %
          api_off["filter_warm_ms"])
    print("  GeoIP on, cache empty (first): %8.1f ms (%d database lookups, one per address)" %
          (api_on["filter_cold_ms"], api_on["cold_misses"]))
    print("  GeoIP on, cache warm:          %8.1f ms" % api_on["filter_warm_ms"])
    cold_extra = (api_on["filter_cold_ms"] - api_off["filter_warm_ms"]) / 1000
    warm_extra = (api_on["filter_warm_ms"] - api_off["filter_warm_ms"]) / 1000
    if cold_extra > 0 and api_on["cold_misses"] > 0:
        print("  database lookups/s (misses / extra time of the first call): %.0f" %
              (api_on["cold_misses"] / cold_extra))
    if warm_extra > 0:
        print("  cached lookups/s (rows / extra time of a warm call):        %.0f" %
              (rows / warm_extra))
    print("A 50-row page sorted by rate (what the TUI asks for): off %.2f ms, on %.2f ms" %
          (api_off["page_ms"], api_on["page_ms"]))
    e = api_on["enrich"]
    entries = int(e.get("cacheEntries", 0))
    cache_bytes = int(e.get("cacheBytes", 0))
    print("Cache: %d entries (capacity %s), %d bytes, %.0f bytes/entry; hits %s, misses %s" %
          (entries, e.get("cacheCapacity"), cache_bytes, cache_bytes / max(entries, 1),
           e.get("cacheHits"), e.get("cacheMisses")))


if __name__ == "__main__":
    main()
