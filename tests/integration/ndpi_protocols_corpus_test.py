"""nDPI's application-protocol captures: the same application on the same flow.

tests/fixtures/ndpi-protocols/ holds 50 captures from nDPI's test suite with
ndpiReader's expected output (see its README). Every capture is replayed with
`rustnetd --read FILE --dump json`. For every TCP/UDP flow nDPI names by
content (`[Confidence: DPI]`), the same flow (same two endpoints) must carry
the same application protocol in rustnet's record ("app" check), and where
nDPI reports a Hostname/SNI, the same name ("name" check, as
ndpi_corpus_test.py does for ../ndpi/).

Prints a table per capture and the agreement in %. The flows where we still
differ are listed, with the reason, in the README's "Known differences"
table (capture, nDPI protocol, check, flows, reason): a capture/protocol/check
with more differing flows than listed fails the test, so agreement can only
go up. Fewer than listed is reported ("now agrees: shrink the table").
"""
import ipaddress
import os
import re
import sys
import tempfile
import subprocess

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ndpi_corpus_test  # noqa: E402
from ndpi_corpus_test import our_flows, names_of  # noqa: E402

# ndpiReader writes one-way flows "A -> B" (two-way ones "A <-> B").
ndpi_corpus_test.LINE = re.compile(r"^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+<?->\s+(\S+)\s+\[")
expected_flows = ndpi_corpus_test.expected_flows

RUSTNETD = os.environ.get("RUSTNETD", "")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
CORPUS = os.path.join(SOURCE_DIR, "tests", "fixtures", "ndpi-protocols")

# nDPI's master protocol name (lowercased) -> the AppProtocol names of ours
# that mean the same thing. Names not listed map to themselves.
# A mail or FTP connection that upgraded with STARTTLS (AUTH TLS) is ours
# with mail.starttls set ("smtp_starttls" below); nDPI names it by the
# implicit-TLS protocol (SMTPS, FTPS, ...).
ALIASES = {
    "usenet": {"nntp"},
    "ftp_control": {"ftp", "ftp_starttls"},
    "ftp_data": {"ftp_data"},
    "smtp": {"smtp", "smtp_starttls"},
    "imap": {"imap", "imap_starttls"},
    "pop3": {"pop3", "pop3_starttls"},
    "smtps": {"smtps", "tls", "smtp_starttls"},
    "imaps": {"imaps", "tls", "imap_starttls"},
    "pops": {"pops", "tls", "pop3_starttls"},
    "ftps": {"ftps", "tls", "ftp_starttls"},
    "netbios": {"netbios", "netbios_ns", "netbios_session"},
    "smbv1": {"smb"},
    "smbv23": {"smb"},
    "nats": {"nats"},
}


def accepted_apps(ndpi_app):
    """Our protocol names that agree with nDPI's `[proto: ...]` name.

    "TLS.RDP" names the master (TLS) first; "NetBIOS.SMBv1" is NetBIOS
    carrying SMB, where either name agrees."""
    parts = [p.lower() for p in ndpi_app.split(".")]
    master = parts[0]
    ok = set(ALIASES.get(master, {master}))
    if master == "netbios" and len(parts) > 1:
        ok |= ALIASES.get(parts[1], {parts[1]})
    # "TLS.RDP": RDP whose client and server agreed on TLS; ours says RDP.
    if master == "tls" and len(parts) > 1 and parts[1] == "rdp":
        ok.add("rdp")
    return ok


def our_app(c):
    p = c.get("app", {}).get("protocol", "") if c else ""
    name = p[len("APP_PROTOCOL_"):].lower() if p.startswith("APP_PROTOCOL_") else ""
    if name in ("smtp", "imap", "pop3", "ftp") and c.get("app", {}).get("mail", {}).get("starttls"):
        name += "_starttls"
    return name


def normal(ends):
    """Endpoints with addresses as objects: nDPI writes "a:b::1" where we
    write "a:b:0:1"."""
    def address(a):
        try:
            return ipaddress.ip_address(a)
        except ValueError:  # nDPI sometimes prints a v6 address mangled ("a::19::").
            return a
    return frozenset((address(a), p) for a, p in ends)


def dpi_flows(path):
    """The TCP/UDP flows nDPI named by content."""
    flows = []
    for f in expected_flows(path):
        f["ends"] = normal(f["ends"])
        if f["fields"].get("Confidence") != "DPI" or not f["app"]:
            continue
        f["app"] = f["app"].split(":")[-1]  # "GTP:30/DTLS" is DTLS inside GTP.
        flows.append(f)
    return flows


def mangled_match(flow, ours):
    """Our flow for an nDPI flow whose address nDPI printed mangled
    ("2600:1900:4160:5999::19::", two "::"): the one flow of ours with the
    same transport, the same other endpoint and the mangled side's port."""
    good = [(a, p) for a, p in flow["ends"] if not isinstance(a, str)]
    bad = [(a, p) for a, p in flow["ends"] if isinstance(a, str)]
    if len(good) != 1 or len(bad) != 1:
        return None
    found = [c for (t, ends), c in ours.items() if t == flow["transport"] and good[0] in ends and
             any(p == bad[0][1] and e != good[0] for e, p in ((e, e[1]) for e in ends))]
    return found[0] if len(found) == 1 else None


TABLE_ROW = re.compile(r"^\|\s*(\S+)\s*\|\s*(\S+)\s*\|\s*(app|name)\s*\|\s*(\d+)\s*\|\s*(.+?)\s*\|$")


def known_differences():
    """(capture, nDPI protocol, check) -> allowed differing flows, from the README."""
    allowed = {}
    in_table = False
    with open(os.path.join(CORPUS, "README.md")) as f:
        for line in f:
            if line.startswith("## "):
                in_table = line.strip() == "## Known differences"
                continue
            m = TABLE_ROW.match(line.strip()) if in_table else None
            if m:
                key = (m.group(1), m.group(2), m.group(3))
                if key in allowed:
                    raise ValueError("README lists %s twice" % (key,))
                allowed[key] = int(m.group(4))
    return allowed


def main():
    if not RUSTNETD:
        print("FAIL: RUSTNETD must be set")
        return 1
    allowed = known_differences()
    captures = sorted(os.listdir(os.path.join(CORPUS, "pcap")))
    failures = []
    stale = []
    total_app = agree_app = total_name = agree_name = 0
    print("%-28s %-10s %-10s  differences (nDPI -> ours)" % ("capture", "app", "name"))
    with tempfile.TemporaryDirectory() as logs:
        for name in captures:
            flows = dpi_flows(os.path.join(CORPUS, "expected", name + ".out"))
            try:
                ours = {(t, normal(ends)): c for (t, ends), c in
                        our_flows(os.path.join(CORPUS, "pcap", name), logs).items()}
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failures.append("%s: %s" % (name, e))
                continue
            differ = {}  # (nDPI protocol, check) -> [detail]
            n_app = n_app_ok = n_name = n_name_ok = 0
            for flow in flows:
                c = ours.get((flow["transport"], flow["ends"])) or mangled_match(flow, ours)
                n_app += 1
                if our_app(c) in accepted_apps(flow["app"]):
                    n_app_ok += 1
                else:
                    differ.setdefault((flow["app"], "app"), []).append(
                        "%s->%s" % (flow["app"], our_app(c) or ("-" if c else "no flow")))
                if flow["name"]:
                    n_name += 1
                    if c and flow["name"].lower() in names_of(c):
                        n_name_ok += 1
                    else:
                        differ.setdefault((flow["app"], "name"), []).append(
                            "%s %r" % (flow["app"], flow["name"]))
            total_app += n_app
            agree_app += n_app_ok
            total_name += n_name
            agree_name += n_name_ok
            summary = "; ".join("%s x%d" % (v[0], len(v)) for v in differ.values())
            print("%-28s %4d/%-5d %4d/%-5d  %s" % (name, n_app_ok, n_app, n_name_ok, n_name,
                                                 summary))
            for (proto, check), details in sorted(differ.items()):
                limit = allowed.get((name, proto, check), 0)
                if len(details) > limit:
                    failures.append("%s: %s %s differs on %d flows, README allows %d: %s" % (
                        name, proto, check, len(details), limit, ", ".join(details[:5])))
            for (cap, proto, check), limit in allowed.items():
                if cap == name and len(differ.get((proto, check), [])) < limit:
                    stale.append("%s %s %s: %d listed, %d differ" % (
                        cap, proto, check, limit, len(differ.get((proto, check), []))))
    for cap, proto, check in allowed:
        if cap not in captures:
            failures.append("README lists %s, which is not a capture" % cap)
    pct = lambda a, b: 100.0 * a / b if b else 100.0  # noqa: E731
    print("application agrees on %d of %d flows nDPI names by content (%.1f %%); "
          "Hostname/SNI on %d of %d (%.1f %%)" %
          (agree_app, total_app, pct(agree_app, total_app), agree_name, total_name,
           pct(agree_name, total_name)))
    for s in stale:
        print("now agrees (shrink the README table): " + s)
    for f in failures:
        print("FAIL: " + f)
    if total_app < 200:
        print("FAIL: only %d flows read from nDPI's expected output" % total_app)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
