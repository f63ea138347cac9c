"""GeoIP, ASN and MAC vendors through the API, end to end.

A capture written here (TCP and UDP from 192.168.1.20 to public IPv4
addresses, a CGNAT one, one no database covers, and IPv6 to a public
address; the client's MAC a Cisco one, the server's randomised) is replayed
by `rustnetd --read FILE --socket` with GeoIP databases this test writes
with Debian's libmaxmind-db-writer-perl (tests/tools/make_mmdb.pl) covering
those addresses. ListConnections must show each remote end's country, city,
ASN and organisation, special ranges named, MAC vendors; the filters
country:, asn:, org: must select exactly the rows the databases place; the
location sort must order them; GetStats must show the databases and the
cache. Replacing the country database at run time must change the answer
(the watcher, then SIGHUP); a corrupt file must give one clear log line and
a daemon that runs (and places nothing); --no-geoip none at all; the
fixture ipv6.pcap's unique-local addresses are named as such.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
Run with /usr/bin/python3 (python3-grpcio, python3-protobuf).
"""
import glob
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, PcapWriter, import_grpc, kill_children,  # noqa: E402
                      tcp_session, serve_replay)

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_MMDB = os.path.join(HERE, "..", "tools", "make_mmdb.pl")
FIXTURES = os.environ.get("FIXTURES") or os.path.join(HERE, "..", "fixtures")

CLIENT = "192.168.1.20"
CISCO_MAC = bytes.fromhex("00000c123456")      # MA-L 00:00:0C, Cisco Systems.
RANDOM_MAC = bytes.fromhex("da0000abcdef")     # U/L bit set: randomised.
V6_CLIENT = "2001:db8::20"
V6_SERVER = "2a02:cf40::9"

COUNTRY = {
    "81.2.69.0/24": {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}},
    "1.1.1.0/24": {"country": {"iso_code": "AU", "names": {"en": "Australia"}}},
    "2a02:cf40::/29": {"country": {"iso_code": "DE", "names": {"en": "Germany"}}},
}
CITY = {
    "81.2.69.0/24": {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
                     "city": {"names": {"en": "London"}}},
}
ASN = {
    "81.2.69.0/24": {"autonomous_system_number": 20712,
                     "autonomous_system_organization": "Andrews & Arnold Ltd"},
    "1.1.1.0/24": {"autonomous_system_number": 13335,
                   "autonomous_system_organization": "Cloudflare, Inc."},
    "2a02:cf40::/29": {"autonomous_system_number": 64500,
                       "autonomous_system_organization": "Example IPv6 AS"},
}


def make_db(path, db_type, networks):
    """Writes a database (renamed into place, as geoipupdate does)."""
    p = subprocess.run(["/usr/bin/perl", MAKE_MMDB, path, db_type, json.dumps(networks)],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("make_mmdb.pl failed: " + p.stderr)


def ipv6_udp(w, src, dst, sport, dport, payload, macs):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(seg), 17, 64,
                         socket.inet_pton(socket.AF_INET6, src),
                         socket.inet_pton(socket.AF_INET6, dst))
    w.frame(header + seg, macs[0], macs[1], ethertype=0x86DD)


def make_capture(path):
    w = PcapWriter(path)
    macs_out, macs_in = (CISCO_MAC, RANDOM_MAC), (RANDOM_MAC, CISCO_MAC)
    for server, port in (("81.2.69.142", 443), ("1.1.1.1", 443), ("100.64.7.9", 8443),
                         ("8.8.4.4", 443)):
        cli = (CLIENT, 40000 + port % 1000 + len(server))
        # tcp_session uses api_test's MACs; these frames carry ours.
        w_tcp = w.tcp

        def tcp(src, dst, sport, dport, *a, macs=None, **k):
            return w_tcp(src, dst, sport, dport, *a,
                         macs=macs_out if src == CLIENT else macs_in, **k)
        w.tcp = tcp
        tcp_session(w, cli, (server, port), 200, 2000, "open")
        w.tcp = w_tcp
    for i in range(2):
        ipv6_udp(w, V6_CLIENT, V6_SERVER, 50000, 443, b"q" * (30 + i), (CISCO_MAC, RANDOM_MAC))
        ipv6_udp(w, V6_SERVER, V6_CLIENT, 443, 50000, b"r" * (60 + i), (RANDOM_MAC, CISCO_MAC))
    w.close()


def rows(r, **request):
    return r.call(MONITOR + "/ListConnections", dict(request), timeout=20).get("connections", [])


def by_remote(listing):
    return {row.get("remote", {}).get("address"): row for row in listing}


def remotes(listing):
    return [row.get("remote", {}).get("address") for row in listing]


def serve(c, g, work, name, capture, extra):
    d, r, _ = serve_replay(c, g, work, name, capture, extra)
    return d, r, os.path.join(work, name + "-logs")


def log_text(logs):
    text = ""
    for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
        with open(path, errors="replace") as f:
            text += f.read()
    return text


def wait_for(fn, timeout=30):
    """fn()'s value once truthy, else its last value after timeout s."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fn()
    return value


def n64(x, *path):
    """An int64 field of a JSON dump (strings there), 0 when absent."""
    for key in path:
        x = x.get(key, {}) if isinstance(x, dict) else {}
    return int(x) if not isinstance(x, dict) else 0


def group_checks(c, r, listing):
    """GroupConnections by country and by AS: each group is the dump's."""
    want_keys = {
        "GROUP_BY_COUNTRY": {"81.2.69.142": "GB", "1.1.1.1": "AU", V6_SERVER: "DE",
                             "100.64.7.9": "CGNAT", "8.8.4.4": ""},
        "GROUP_BY_ASN": {"81.2.69.142": "AS20712 Andrews & Arnold Ltd",
                         "1.1.1.1": "AS13335 Cloudflare, Inc.",
                         V6_SERVER: "AS64500 Example IPv6 AS",
                         "100.64.7.9": "CGNAT", "8.8.4.4": ""},
    }
    for by, key_of in want_keys.items():
        want = {}
        for row in listing:
            key = key_of[row.get("remote", {}).get("address")]
            totals = want.setdefault(key, [0, 0, 0])
            totals[0] += 1
            totals[1] += n64(row, "received", "bytes")
            totals[2] += n64(row, "sent", "bytes")
        resp = r.call(MONITOR + "/GroupConnections", {"group_by": by, "include_closed": True},
                      timeout=10)
        got = {g.get("key", ""): [n64(g, "totalConnections"), n64(g, "bytesIn"),
                                  n64(g, "bytesOut")] for g in resp.get("groups", [])}
        c.check("GroupConnections %s: keys %s, connections and bytes the dump's" %
                (by, sorted(want)), got == want and resp.get("complete") is True and
                all(v[1] > 0 and v[2] > 0 for v in want.values()),
                "got %s\nwant %s" % (got, want))
    gb = [row for row in listing if row.get("remote", {}).get("address") == "81.2.69.142"]
    for by, key in (("GROUP_BY_COUNTRY", "GB"), ("GROUP_BY_ASN", "AS20712 Andrews & Arnold Ltd"),
                    ("GROUP_BY_PROTOCOL", "tcp")):
        resp = r.call(MONITOR + "/GroupConnections",
                      {"group_by": by, "include_closed": True, "filter": "country:gb"},
                      timeout=10)
        got = [(g.get("key", ""), n64(g, "totalConnections"), n64(g, "bytesIn"))
               for g in resp.get("groups", [])]
        c.check("GroupConnections %s with filter country:gb: one group %s" % (by, key),
                len(gb) == 1 and got == [(key, 1, n64(gb[0], "received", "bytes"))] and
                resp.get("complete") is True, "got %s, row %s" % (got, gb))
    resp = r.call(MONITOR + "/GroupConnections",
                  {"group_by": "GROUP_BY_COUNTRY", "include_closed": True,
                   "filter": "-country:gb -country:au"}, timeout=10)
    got = sorted(g.get("key", "") for g in resp.get("groups", []))
    c.check("GroupConnections by country with -country:gb -country:au: CGNAT, DE and unknown",
            got == ["", "CGNAT", "DE"], got)


def located_checks(c, g, work, capture):
    dbs = os.path.join(work, "db")
    os.makedirs(dbs)
    country = os.path.join(dbs, "country.mmdb")
    make_db(country, "GeoLite2-Country", COUNTRY)
    make_db(os.path.join(dbs, "city.mmdb"), "GeoLite2-City", CITY)
    make_db(os.path.join(dbs, "asn.mmdb"), "GeoLite2-ASN", ASN)
    d, r, logs = serve(c, g, work, "geo", capture,
                       ["--geoip-country", country, "--geoip-city", os.path.join(dbs, "city.mmdb"),
                        "--geoip-asn", os.path.join(dbs, "asn.mmdb")])
    if r is None:
        return
    try:
        listing = rows(r)
        table = by_remote(listing)
        c.check("five connections replayed", len(listing) == 5, remotes(listing))
        gb = table.get("81.2.69.142", {})
        loc = gb.get("remoteLocation", {})
        c.check("81.2.69.142: GB, United Kingdom, London, AS20712 Andrews & Arnold Ltd",
                (loc.get("countryCode"), loc.get("countryName"), loc.get("city"),
                 loc.get("asn"), loc.get("asOrg")) ==
                ("GB", "United Kingdom", "London", 20712, "Andrews & Arnold Ltd"), gb)
        c.check("the local end (192.168.1.20) is named private",
                gb.get("localLocation", {}).get("special") == "private", gb)
        au = table.get("1.1.1.1", {}).get("remoteLocation", {})
        c.check("1.1.1.1: AU, AS13335 Cloudflare, Inc., no city",
                (au.get("countryCode"), au.get("asn"), au.get("asOrg"), au.get("city", "")) ==
                ("AU", 13335, "Cloudflare, Inc.", ""), au)
        de = table.get(V6_SERVER, {}).get("remoteLocation", {})
        c.check("IPv6 %s: DE, AS64500" % V6_SERVER,
                (de.get("countryCode"), de.get("asn")) == ("DE", 64500), de)
        c.check("IPv6 local end %s is named documentation" % V6_CLIENT,
                table.get(V6_SERVER, {}).get("localLocation", {}).get("special") ==
                "documentation", table.get(V6_SERVER))
        c.check("100.64.7.9 is named CGNAT",
                table.get("100.64.7.9", {}).get("remoteLocation", {}).get("special") == "CGNAT",
                table.get("100.64.7.9"))
        c.check("8.8.4.4 (in no database) has no remote location",
                "remoteLocation" not in table.get("8.8.4.4", {"remoteLocation": 1}),
                table.get("8.8.4.4"))
        mac_l = gb.get("localMacVendor", {})
        mac_r = gb.get("remoteMacVendor", {})
        c.check("the local MAC 00:00:0c:... is Cisco's (ieee-data)",
                "Cisco" in mac_l.get("vendor", "") and not mac_l.get("locallyAdministered"),
                gb)
        c.check("the remote MAC da:00:... is locally administered, no vendor",
                mac_r.get("locallyAdministered") is True and not mac_r.get("vendor"), gb)

        for flt, want in (("country:gb", ["81.2.69.142"]),
                          ("country:GB", ["81.2.69.142"]),
                          ("country:australia", ["1.1.1.1"]),
                          ("country:de", [V6_SERVER]),
                          ("country:cgnat", ["100.64.7.9"]),
                          ("asn:13335", ["1.1.1.1"]),
                          ("asn:AS20712", ["81.2.69.142"]),
                          ("asn:20000-70000", ["81.2.69.142", V6_SERVER]),
                          ("org:cloudflare", ["1.1.1.1"]),
                          ("org:\"andrews & arnold\"", ["81.2.69.142"]),
                          ("-country:gb -country:au -country:de -country:cgnat", ["8.8.4.4"]),
                          ("country:private", [])):
            got = sorted(remotes(rows(r, filter=flt)))
            c.check("filter %s selects %s" % (flt, want), got == sorted(want), got)
        try:
            r.call(MONITOR + "/ListConnections", {"filter": "asn:google"}, timeout=10)
            c.check("asn:google is INVALID_ARGUMENT", False)
        except Exception as e:  # noqa: BLE001
            c.check("asn:google is INVALID_ARGUMENT naming the column",
                    "INVALID_ARGUMENT" in str(e.code()) and "column 5" in e.details(), e)
        order = remotes(rows(r, sort="SORT_FIELD_LOCATION", order="SORT_ORDER_ASCENDING"))
        c.check("sort by location: AU, DE, GB, then CGNAT, then unknown",
                order[:4] == ["1.1.1.1", V6_SERVER, "81.2.69.142", "100.64.7.9"] and
                order[4] == "8.8.4.4", order)

        stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
        roles = sorted(db.get("role") for db in stats.get("databases", []))
        c.check("GetStats.enrich: three databases loaded", roles == ["asn", "city", "country"],
                stats)
        c.check("GetStats.enrich: cache hits and misses counted",
                int(stats.get("cacheHits", 0)) > 0 and int(stats.get("cacheMisses", 0)) >= 7 and
                int(stats.get("cacheEntries", 0)) >= 7 and int(stats.get("cacheBytes", 0)) > 0,
                stats)
        c.check("GetStats.enrich: MAC vendor prefixes loaded",
                int(stats.get("macVendorPrefixes", 0)) > 30000, stats)

        group_checks(c, r, listing)

        # geoipupdate's way: a new file renamed over the old one.
        make_db(country, "GeoLite2-Country",
                {"81.2.69.0/24": {"country": {"iso_code": "FR", "names": {"en": "France"}}}})

        def code():
            return by_remote(rows(r, filter="raddr:81.2.69.142")).get(
                "81.2.69.142", {}).get("remoteLocation", {}).get("countryCode") == "FR"
        c.check("the country database replaced at run time: FR within 30 s (watcher)",
                wait_for(code))
        # SIGHUP re-opens it too (the watcher would take up to 5 s more).
        make_db(country, "GeoLite2-Country",
                {"81.2.69.0/24": {"country": {"iso_code": "NL", "names": {"en": "Netherlands"}}}})
        os.kill(d.pid, signal.SIGHUP)

        def code_nl():
            return by_remote(rows(r, filter="country:nl")).get("81.2.69.142") is not None
        c.check("replaced again and SIGHUP: country:nl selects it", wait_for(code_nl))
        stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
        c.check("GetStats.enrich.reloads counts the re-opens", int(stats.get("reloads", 0)) >= 2,
                stats)
    finally:
        rc = d.stop()
        c.check("geo: SIGTERM stops it with exit 0", rc == 0, d.stderr())


def corrupt_checks(c, g, work, capture):
    bad = os.path.join(work, "corrupt.mmdb")
    with open(bad, "wb") as f:
        f.write(b"\xab\xcd\xefMaxMind.com" + os.urandom(64) + b"\0" * 100)
    missing = os.path.join(work, "missing", "GeoLite2-ASN.mmdb")
    d, r, logs = serve(c, g, work, "corrupt", capture,
                       ["--geoip-country", bad, "--geoip-asn", missing])
    if r is None:
        return
    try:
        listing = rows(r)
        c.check("corrupt database: the daemon runs and lists every connection", len(listing) == 5)
        c.check("corrupt database: nothing is placed, special ranges still named",
                all(not row.get("remoteLocation", {}).get("countryCode") for row in listing) and
                by_remote(listing).get("100.64.7.9", {}).get("remoteLocation", {}).get("special")
                == "CGNAT", listing)
        text = log_text(logs)
        lines = [line for line in text.splitlines() if "GeoIP:" in line and bad in line]
        c.check("corrupt database: one log line saying what is wrong and what happens",
                len(lines) == 1 and "is not a MaxMind database" in lines[0] and
                "running without the country database" in lines[0], lines)
        lines = [line for line in text.splitlines() if "GeoIP:" in line and missing in line]
        c.check("missing database: one log line naming it",
                len(lines) == 1 and "cannot open" in lines[0] and
                "No such file or directory" in lines[0], lines)
        stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
        c.check("corrupt database: GetStats counts 2 load errors, no database",
                int(stats.get("loadErrors", 0)) == 2 and not stats.get("databases"), stats)
    finally:
        rc = d.stop()
        c.check("corrupt: SIGTERM stops it with exit 0", rc == 0, d.stderr())


def off_checks(c, g, work, capture):
    d, r, logs = serve(c, g, work, "off", capture, ["--no-geoip"])
    if r is None:
        return
    try:
        listing = rows(r)
        c.check("--no-geoip: no locations at all",
                len(listing) == 5 and all("remoteLocation" not in row and
                                          "localLocation" not in row for row in listing), listing)
        c.check("--no-geoip: country:private matches nothing",
                rows(r, filter="country:private") == [])
        stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
        c.check("--no-geoip: GetStats.enrich.geoipEnabled is false",
                not stats.get("geoipEnabled"), stats)
    finally:
        d.stop()
    # The ipv6.pcap fixture: its fd00:77::/64 addresses are unique-local.
    d, r, logs = serve(c, g, work, "ula", os.path.join(FIXTURES, "ipv6.pcap"),
                       ["--geoip-country", os.path.join(work, "db", "country.mmdb")])
    if r is None:
        return
    try:
        listing = rows(r, filter="raddr:fd00:77::")
        c.check("fixture ipv6.pcap: fd00:77:: ends named unique-local",
                listing and all(row.get("remoteLocation", {}).get("special") == "unique-local" and
                                row.get("localLocation", {}).get("special") == "unique-local"
                                for row in listing), listing)
    finally:
        d.stop()


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    if not c.check("libmaxmind-db-writer-perl is installed (writes the test databases)",
                   subprocess.run(["/usr/bin/perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                                  capture_output=True).returncode == 0):
        return c.finish()
    work = tempfile.mkdtemp(prefix="rngeoip.")
    try:
        capture = os.path.join(work, "geo.pcap")
        make_capture(capture)
        located_checks(c, g, work, capture)
        corrupt_checks(c, g, work, capture)
        off_checks(c, g, work, capture)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
