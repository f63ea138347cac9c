"""Names DNS answers and TLS certificates carry, and the h2c upgrade, on real
traffic with tshark as the oracle.

tests/fixtures/dpi-names/ holds captures made by
tests/fixtures/make_dpi_names_fixtures.sh (which says how to regenerate
them): dig -> dnsmasq on 5300 (SRV, MX, TXT, PTR, CNAME, HTTPS, a 63-byte
label; SRV over TCP), curl --tls-max 1.2 -> openssl s_server -tls1_2 on 8443
(a certificate with CN and SAN names), and curl --http2 -> a server that
accepts the h2c upgrade on 8080. Each is replayed with `rustnetd --read FILE
--dump json --dump-expired`; tshark, told the protocol of the port with -d,
decodes the same file:

  DNS   each SRV/MX/PTR/CNAME target, SRV port and priority, MX preference,
        HTTPS alpn and port as tshark reads them; the TXT's length, never
        its text; the 63-byte label flagged suspicious; SRV over TCP.
  TLS   the leaf certificate's subject CN and SAN dNSNames as tshark reads
        them (the issuer's and the IP address SAN are not names).
  h2c   HTTP/2 after the 101, with the upgrade request's Host.

Prints one line per check and "N passed, M failed"; exits 1 on any failure,
including a missing tshark or capture (no silent skip).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

RUSTNETD = os.environ.get("RUSTNETD", "")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
DIR = os.path.join(SOURCE_DIR, "tests", "fixtures", "dpi-names")
TXT_TEXT = "v=spf1 -all"  # What the script's dnsmasq serves: never in our output.

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + what)
    else:
        failed += 1
        print("FAIL: " + what)


def ours(capture, logs):
    p = subprocess.run([RUSTNETD, "--read", os.path.join(DIR, capture), "--dump", "json",
                        "--dump-expired", "--log-dir", logs],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("rustnetd exited %d: %s" % (p.returncode, p.stderr.strip()))
    return p.stdout, [json.loads(line) for line in p.stdout.splitlines()]


def tshark_rows(capture, decode_as, display, fields):
    args = ["tshark", "-r", os.path.join(DIR, capture), "-Y", display, "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=|"]
    for d in decode_as:
        args += ["-d", d]
    for f in fields:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("tshark exited %d: %s" % (p.returncode, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines()]


def dns_by_query(conns):
    out = {}
    for c in conns:
        dns = c.get("app", {}).get("dns")
        if dns and dns.get("query"):
            out.setdefault(dns["query"], []).append(dns)
    return out


def record(dnses, rtype):
    for d in dnses:
        for r in d.get("records", []):
            if r.get("type") == rtype:
                return r
    return {}


def main():
    if not RUSTNETD:
        print("FAIL: RUSTNETD must be set")
        return 1
    if not shutil.which("tshark"):
        print("FAIL: tshark is missing; run: sudo scripts/setup.sh test")
        return 1
    dns_as = ["udp.port==5300,dns", "tcp.port==5300,dns"]
    with tempfile.TemporaryDirectory() as logs:
        # --- DNS ------------------------------------------------------------
        text, conns = ours("dns_records_5300.pcap", logs)
        by = dns_by_query(conns)
        rows = tshark_rows("dns_records_5300.pcap", dns_as,
                           "dns.flags.response==1 && dns.count.answers>0",
                           ["dns.qry.name", "dns.srv.target", "dns.srv.port", "dns.srv.priority",
                            "dns.mx.mail_exchange", "dns.mx.preference", "dns.ptr.domain_name",
                            "dns.cname", "dns.txt.length", "tcp.port"])
        want = {}
        for r in rows:
            r += [""] * (10 - len(r))
            want.setdefault(r[0], r)
        # Five names: names.test was asked three times (MX, TXT, HTTPS).
        check(len(want) == 5 and len(rows) == 7,
              "tshark reads %d answers to %d names" % (len(rows), len(want)))

        srv = record(by.get("_sip._udp.names.test", []), "SRV")
        w = want.get("_sip._udp.names.test", [""] * 10)
        check(srv.get("target") == w[1] == "sip1.names.test",
              "dns: SRV target %r (tshark %r)" % (srv.get("target"), w[1]))
        check(str(srv.get("port")) == w[2] and str(srv.get("priority")) == w[3],
              "dns: SRV port %r priority %r (tshark %s, %s)" % (srv.get("port"),
                                                                srv.get("priority"), w[2], w[3]))
        mx = record(by.get("names.test", []), "MX")
        w = want.get("names.test", [""] * 10)
        # names.test was asked three times (MX, TXT, HTTPS): tshark's first row is the MX.
        check(mx.get("target") == w[4] == "mx.names.test" and str(mx.get("priority")) == w[5],
              "dns: MX %r %r (tshark %r %r)" % (mx.get("priority"), mx.get("target"), w[5], w[4]))
        txt = record(by.get("names.test", []), "TXT")
        (txt_len,) = [r[8] for r in rows if r[8]][:1] or [""]
        # tshark's dns.txt.length is the string's; RDATA adds its length byte.
        check(txt_len and txt.get("txtLength") == int(txt_len) + 1,
              "dns: TXT length %r (tshark string length %r)" % (txt.get("txtLength"), txt_len))
        check(TXT_TEXT not in text, "dns: the TXT text is not in the output")
        ptr = record(by.get("7.2.0.192.in-addr.arpa", []), "PTR")
        w = want.get("7.2.0.192.in-addr.arpa", [""] * 10)
        check(ptr.get("target") == w[6] == "host-7.names.test",
              "dns: PTR %r (tshark %r)" % (ptr.get("target"), w[6]))
        cname = record(by.get("alias.names.test", []), "CNAME")
        w = want.get("alias.names.test", [""] * 10)
        check(cname.get("target") == w[7] == "www.names.test",
              "dns: CNAME %r (tshark %r)" % (cname.get("target"), w[7]))
        https = record(by.get("names.test", []), "HTTPS")
        check(https.get("alpn") == ["h2", "h3"] and https.get("port") == 8443 and
              https.get("target") == ".",
              "dns: HTTPS alpn %r port %r target %r" % (https.get("alpn"), https.get("port"),
                                                        https.get("target")))
        long_name = "a" * 63 + ".t.names.test"
        tunnel = by.get(long_name, [{}])[0]
        check(tunnel.get("suspiciousName") is True,
              "dns: the 63-byte label is kept and flagged (%r)" % tunnel.get("suspiciousName"))
        ldap = by.get("_ldap._tcp.names.test", [{}])
        srv_tcp = record(ldap, "SRV")
        check(ldap[0].get("overTcp") is True and srv_tcp.get("target") == "dc1.names.test" and
              srv_tcp.get("port") == 389,
              "dns: SRV over TCP %r:%r" % (srv_tcp.get("target"), srv_tcp.get("port")))

        # --- TLS 1.2 certificate names --------------------------------------
        _, conns = ours("tls12_cert_8443.pcap", logs)
        rows = tshark_rows("tls12_cert_8443.pcap", ["tcp.port==8443,tls"],
                           "tls.handshake.type==11", ["x509sat.printableString",
                                                      "x509sat.uTF8String", "x509ce.dNSName"])
        tls = next((c["app"]["tls"] for c in conns
                    if c.get("app", {}).get("tls", {}).get("version")), {})
        sans = rows[0][2].split("|") if rows and len(rows[0]) > 2 else []
        strings = "|".join(rows[0][:2]).split("|") if rows else []
        check(tls.get("version") == "TLS 1.2", "tls: version %r" % tls.get("version"))
        check(tls.get("certificateCn") == "www.names.test" and "www.names.test" in strings,
              "tls: certificate CN %r (tshark's subject strings %r)" % (tls.get("certificateCn"),
                                                                       strings))
        check(sans and tls.get("certificateNames") == sans,
              "tls: certificate names %r (tshark %r)" % (tls.get("certificateNames"), sans))

        # --- h2c ------------------------------------------------------------
        _, conns = ours("h2c_8080.pcap", logs)
        rows = tshark_rows("h2c_8080.pcap", ["tcp.port==8080,http"], "http.response.code==101",
                           ["http.response.code"])
        app = next((c["app"] for c in conns if c.get("app")), {})
        check(rows and rows[0][0] == "101", "h2c: tshark sees the 101")
        check(app.get("protocol") == "APP_PROTOCOL_HTTP2",
              "h2c: HTTP/2 after the upgrade (%r)" % app.get("protocol"))
        check(app.get("http", {}).get("host") == "www.names.test:8080" and
              app.get("http", {}).get("status") == 101,
              "h2c: the upgrade request's host and status %r" % app.get("http"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
