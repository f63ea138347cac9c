"""nDPI's own test captures as a peer's test suite.

tests/fixtures/ndpi/ holds 26 captures from nDPI's test suite with
ndpiReader's expected output (see its README). Every capture is replayed
with `rustnetd --read FILE --dump json`; for every flow where nDPI reports a
`Hostname/SNI` (TLS or QUIC server name, HTTP Host, DNS query name, or for
SSH the client banner), the same flow (same two endpoints) must carry the
same name in rustnet's record. Where nDPI reports a JA4 fingerprint, ours
must be identical. Prints a table per capture and "N passed, M failed".

Known, deliberate differences are listed in EXCEPTIONS with the reason; they
are reported, not counted as failures.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

RUSTNETD = os.environ.get("RUSTNETD", "")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
CORPUS = os.path.join(SOURCE_DIR, "tests", "fixtures", "ndpi")

# (capture, nDPI's name) -> why we differ on purpose.
EXCEPTIONS = {}

LINE = re.compile(r"^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+<->\s+(\S+)\s+\[")


def split_endpoint(text):
    if text.startswith("["):
        addr, port = text[1:].rsplit("]:", 1)
    else:
        addr, port = text.rsplit(":", 1)
    return (addr.lower(), int(port))


def expected_flows(path):
    flows = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            fields = dict(re.findall(r"\[([^:\]]+): ([^\]]*)\]", line))
            proto_field = re.search(r"\[proto: [^/\]]*/([^\]]*)\]", line)
            flows.append({
                "transport": m.group(1).lower(),
                "ends": frozenset([split_endpoint(m.group(2)), split_endpoint(m.group(3))]),
                "name": fields.get("Hostname/SNI"),
                "ja4": fields.get("JA4"),
                "app": proto_field.group(1) if proto_field else "",
                "fields": fields,
            })
    return flows


def our_flows(capture, log_dir):
    p = subprocess.run([RUSTNETD, "--read", capture, "--dump", "json", "--dump-expired",
                        "--log-dir", log_dir],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("rustnetd exited %d: %s" % (p.returncode, p.stderr.strip()))
    return dump_flows(p.stdout.splitlines())


def dump_flows(lines):
    """rustnetd's --dump json rows keyed like expected_flows: (transport, ends)."""
    flows = {}
    for line in lines:
        c = json.loads(line)
        transport = {"PROTOCOL_TCP": "tcp", "PROTOCOL_UDP": "udp"}.get(c.get("protocol"))
        if not transport:
            continue
        ends = frozenset([(c["local"]["address"].lower(), c["local"].get("port", 0)),
                          (c["remote"]["address"].lower(), c["remote"].get("port", 0))])
        flows[(transport, ends)] = c
    return flows


def names_of(c):
    """Every name our record carries for the flow."""
    app = c.get("app", {})
    names = set()
    if c.get("hostname"):
        names.add(c["hostname"].lower())
    for section in ("tls",):
        if app.get(section, {}).get("sni"):
            names.add(app[section]["sni"].lower())
    quic_tls = app.get("quic", {}).get("tls", {})
    if quic_tls.get("sni"):
        names.add(quic_tls["sni"].lower())
    http_host = app.get("http", {}).get("host", "")
    if http_host:
        names.add(http_host.lower())
        names.add(re.sub(r":\d+$", "", http_host.lower()))
    if app.get("dns", {}).get("query"):
        names.add(app["dns"]["query"].lower())
    # nDPI's Hostname/SNI for NetBIOS is the name asked for (ours keeps its
    # suffix byte: "XSTREAM_HY<00>"), for SMTP the server greeting's host
    # (RFC 5321 §4.2: "220 domain ...": ours keeps the greeting after 220).
    lan_name = app.get("lan", {}).get("name", "")
    if lan_name:
        names.add(re.sub(r"<[0-9a-f]{2}>$", "", lan_name.lower()))
    greeting = app.get("mail", {}).get("greeting", "").split()
    if greeting:
        names.add(greeting[0].lower())
    # nDPI's Hostname/SNI for STUN is the REALM attribute.
    if app.get("stun", {}).get("realm"):
        names.add(app["stun"]["realm"].lower())
    # nDPI's Hostname/SNI for SSH is the first banner it sees (usually the
    # server's, which speaks first), so either banner counts.
    for side in ("client", "server"):
        if app.get("ssh", {}).get(side):
            names.add(app["ssh"][side].lower())
    return names


def ja4_of(c):
    app = c.get("app", {})
    return app.get("tls", {}).get("ja4") or app.get("quic", {}).get("tls", {}).get("ja4")


ja4_deviations = 0


def ja4_known_difference(ours, theirs):
    """True if two JA4 strings differ only where nDPI departs from FoxIO's
    JA4 specification: the SNI letter (nDPI writes 'd' even when the
    ClientHello has no server_name extension) and the two ALPN characters
    (the spec takes the first and last character of the first ALPN value,
    "http/1.1" -> "h1"; nDPI does not). The version, the counts and both
    hashes must be identical."""
    a, b = ours.split("_", 1), theirs.split("_", 1)
    if len(a) != 2 or len(b) != 2 or a[1] != b[1] or len(a[0]) != 10 or len(b[0]) != 10:
        return False
    return a[0][:3] == b[0][:3] and a[0][4:8] == b[0][4:8]


def main():
    if not RUSTNETD:
        print("FAIL: RUSTNETD must be set")
        return 1
    captures = sorted(os.listdir(os.path.join(CORPUS, "pcap")))
    passed = failed = excepted = 0
    global ja4_deviations
    total_names = found_names = total_ja4 = found_ja4 = 0
    print("%-55s %9s %9s" % ("capture", "names", "JA4"))
    with tempfile.TemporaryDirectory() as logs:
        for name in captures:
            expected = expected_flows(os.path.join(CORPUS, "expected", name + ".out"))
            try:
                ours = our_flows(os.path.join(CORPUS, "pcap", name), logs)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print("FAIL: %s: %s" % (name, e))
                failed += 1
                continue
            n_names = n_found = n_ja4 = n_ja4_found = 0
            problems = []
            for flow in expected:
                ours_c = ours.get((flow["transport"], flow["ends"]))
                if flow["name"]:
                    n_names += 1
                    got = names_of(ours_c) if ours_c else set()
                    if flow["name"].lower() in got:
                        n_found += 1
                    elif (name, flow["name"]) in EXCEPTIONS:
                        excepted += 1
                        print("  known difference: %s %r: %s" %
                              (name, flow["name"], EXCEPTIONS[(name, flow["name"])]))
                    else:
                        problems.append("name %r (%s) on %s: we have %s" % (
                            flow["name"], flow["app"], sorted(flow["ends"]),
                            sorted(got) if ours_c else "no such flow"))
                if flow["ja4"]:
                    n_ja4 += 1
                    ours_ja4 = ja4_of(ours_c) if ours_c else None
                    if ours_ja4 == flow["ja4"]:
                        n_ja4_found += 1
                    elif ours_ja4 and ja4_known_difference(ours_ja4, flow["ja4"]):
                        n_ja4_found += 1
                        ja4_deviations += 1
                    else:
                        problems.append("JA4 %s on %s: we have %s" %
                                        (flow["ja4"], sorted(flow["ends"]), ours_ja4))
            total_names += n_names
            found_names += n_found
            total_ja4 += n_ja4
            found_ja4 += n_ja4_found
            print("%-55s %4d/%-4d %4d/%-4d" % (name, n_found, n_names, n_ja4_found, n_ja4))
            if problems:
                failed += 1
                print("FAIL: %s" % name)
                for p in problems[:10]:
                    print("        " + p)
            else:
                passed += 1
                print("ok:   %s" % name)
    print("names found: %d of %d (%d known differences); JA4 agreeing: %d of %d "
          "(%d differ only where nDPI departs from the JA4 spec)" %
          (found_names, total_names, excepted, found_ja4, total_ja4, ja4_deviations))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
