"""GeoIP against a real database, when one is installed (geoipupdate's
GeoLite2 files in /usr/share/GeoIP or /var/lib/GeoIP, or the ip-location-db
ones scripts/setup.sh fetches into /var/lib/rustnet/geoip).

rustnetd, started without --geoip-* flags, must find it in the standard
directories and place well-known, long-stable addresses: 8.8.8.8 in the US
(and AS15169, Google, with an ASN database), 1.1.1.1 in AS13335
(Cloudflare).

Without a real database this test is SKIPPED, visibly: it prints why and
exits 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE in
tests/CMakeLists.txt), never as a pass.
"""
import os
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, PcapWriter, import_grpc,  # noqa: E402
                      kill_children, tcp_session)
from geoip_test import by_remote, rows, serve  # noqa: E402

DIRS = ["/usr/share/GeoIP", "/var/lib/GeoIP", "/var/lib/rustnet/geoip"]
COUNTRY = ["GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb", "GeoLite2-City.mmdb",
           "geo-whois-asn-country.mmdb"]
ASN = ["GeoLite2-ASN.mmdb", "asn.mmdb"]


def find(names):
    for d in DIRS:
        for n in names:
            if os.path.isfile(os.path.join(d, n)):
                return os.path.join(d, n)
    return None


def main():
    country, asn = find(COUNTRY), find(ASN)
    if country is None and asn is None:
        print("SKIPPED: no real GeoIP database in %s (looked for %s); install one with "
              "geoipupdate or scripts/setup.sh to run this check" %
              (", ".join(DIRS), ", ".join(COUNTRY + ASN)), flush=True)
        return 77
    c = Checker()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rngeoreal.")
    try:
        capture = os.path.join(work, "real.pcap")
        w = PcapWriter(capture)
        for server in ("8.8.8.8", "1.1.1.1"):
            tcp_session(w, ("192.168.1.20", 40000), (server, 443), 100, 1000, "open")
        w.close()
        d, r, _ = serve(c, g, work, "real", capture, [])
        if r is None:
            return c.finish()
        try:
            table = by_remote(rows(r))
            google = table.get("8.8.8.8", {}).get("remoteLocation", {})
            cloudflare = table.get("1.1.1.1", {}).get("remoteLocation", {})
            if country:
                c.check("%s: 8.8.8.8 is in the US" % country, google.get("countryCode") == "US",
                        google)
            if asn:
                c.check("%s: 8.8.8.8 is AS15169 (Google)" % asn,
                        google.get("asn") == 15169 and "google" in google.get("asOrg", "").lower(),
                        google)
                c.check("%s: 1.1.1.1 is AS13335 (Cloudflare)" % asn,
                        cloudflare.get("asn") == 13335, cloudflare)
            stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("enrich", {})
            print("databases: %s" % stats.get("databases"), flush=True)
        finally:
            d.stop()
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        print("FAIL: RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD)
        sys.exit(1)
    sys.exit(main())
