#!/usr/bin/env python3
"""Detection on the same flows: ndpiReader's per-flow output against
rustnetd's --dump json rows, per protocol.

Usage: bench/ndpi_compare.py NDPI_OUT RUSTNET_JSONL [EXAMPLES]

NDPI_OUT is what `ndpiReader -i FILE -q -v 2 -w NDPI_OUT` writes (the format
of nDPI's own test suite, parsed by tests/integration/ndpi_corpus_test.py);
RUSTNET_JSONL is `rustnetd --read FILE --dump json --dump-expired` (every
flow, also those that ended before the end of the file). Flows are matched
by transport and their two endpoints (each flow of the bench capture has its
own client endpoint, so that is its 5-tuple).

For each protocol (TLS SNI, HTTP Host, DNS query, SSH banners, QUIC SNI)
prints: the flows either side classified as it, how many each side
classified, how many carry the name on each side, on both, how many of
those agree, and the flows where only one side has the name, with up to
EXAMPLES (default 3) examples of each kind of difference.

SSH: nDPI 4.2 prints the banner it saw first as Hostname/SNI and the other
as "Server", ordered by its own packet direction (not by who opened the
connection), so the two banners are compared as a pair, ignoring order.
"""
import ipaddress
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))
import ndpi_corpus_test  # noqa: E402  (expected_flows, dump_flows)

# Our protocol -> nDPI's master protocols that mean the same.
NDPI_MASTERS = {
    "TLS": {"TLS"},
    "HTTP": {"HTTP", "HTTP_Proxy", "HTTP_Connect"},
    "DNS": {"DNS"},
    "SSH": {"SSH"},
    "QUIC": {"QUIC"},
}
LABELS = {"TLS": "TLS SNI", "HTTP": "HTTP Host", "DNS": "DNS query", "SSH": "SSH banners",
          "QUIC": "QUIC SNI"}


def canonical(key):
    """nDPI 4.2 writes some IPv6 addresses unlike inet_ntop (a single zero
    group as "::"); both sides' addresses go through ipaddress."""
    transport, ends = key
    return (transport, frozenset((str(ipaddress.ip_address(a)), p) for a, p in ends))


def host(name):
    """Lower case, without a :port (HTTP Host may carry one)."""
    return re.sub(r":\d+$", "", name.strip().lower()) if name else None


def ndpi_name(proto, flow):
    if proto == "SSH":
        banners = [flow["fields"].get("Hostname/SNI"), flow["fields"].get("Server")]
        banners = [b for b in banners if b]
        return frozenset(banners) if banners else None
    return host(flow["name"])


def our_name(proto, c):
    app = c.get("app", {})
    if proto == "TLS":
        return host(app.get("tls", {}).get("sni"))
    if proto == "HTTP":
        return host(app.get("http", {}).get("host"))
    if proto == "DNS":
        return host(app.get("dns", {}).get("query"))
    if proto == "QUIC":
        return host(app.get("quic", {}).get("tls", {}).get("sni"))
    if proto == "SSH":
        banners = [app.get("ssh", {}).get(s) for s in ("client", "server")]
        banners = [b for b in banners if b]
        return frozenset(banners) if banners else None
    return None


def show(name):
    if isinstance(name, frozenset):
        return " + ".join(sorted(name))
    return name if name is not None else "-"


def ends_text(key):
    transport, ends = key
    return transport + " " + " <-> ".join(
        ("[%s]:%d" if ":" in a else "%s:%d") % (a, p) for a, p in sorted(ends))


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    examples = int(sys.argv[3]) if len(sys.argv) == 4 else 3
    theirs = {}
    for f in ndpi_corpus_test.expected_flows(sys.argv[1]):
        theirs[canonical((f["transport"], f["ends"]))] = f
    with open(sys.argv[2]) as fh:
        ours = {canonical(k): c for k, c in ndpi_corpus_test.dump_flows(fh).items()}
    both_keys = theirs.keys() & ours.keys()
    print("flows (TCP/UDP): nDPI %d, rustnetd %d, matched by 5-tuple %d" %
          (len(theirs), len(ours), len(both_keys)))
    header = ("%-12s %7s %7s %7s %7s %7s %7s %7s %9s %7s" %
              ("", "flows", "nDPI", "ours", "nDPI nm", "our nm", "both", "agree",
               "only nDPI", "only us"))
    print(header)
    notes = []
    totals = {"theirs": 0, "ours": 0, "both": 0, "agree": 0}
    for proto, masters in NDPI_MASTERS.items():
        ours_proto = "APP_PROTOCOL_" + proto
        keys = set()
        n_theirs = n_ours = 0
        for k, f in theirs.items():
            if f["app"].split(".")[0] in masters:
                keys.add(k)
                n_theirs += 1
        for k, c in ours.items():
            if c.get("app", {}).get("protocol") == ours_proto:
                keys.add(k)
                n_ours += 1
        name_t = name_o = both = agree = only_t = only_o = 0
        differ, only_t_ex, only_o_ex = [], [], []
        for k in sorted(keys, key=ends_text):
            t = theirs.get(k)
            o = ours.get(k)
            nt = ndpi_name(proto, t) if t and t["app"].split(".")[0] in masters else None
            no = our_name(proto, o) if o else None
            name_t += nt is not None
            name_o += no is not None
            if nt is not None and no is not None:
                both += 1
                if nt == no:
                    agree += 1
                else:
                    differ.append("%s: nDPI %r, rustnetd %r" % (ends_text(k), show(nt), show(no)))
            elif nt is not None:
                only_t += 1
                only_t_ex.append("%s: nDPI %r (%s), rustnetd %s" % (
                    ends_text(k), show(nt), t["app"],
                    o.get("app", {}).get("protocol", "no app") if o else "no such flow"))
            elif no is not None:
                only_o += 1
                only_o_ex.append("%s: rustnetd %r, nDPI %s" % (
                    ends_text(k), show(no), "[%s] %s" % (t["app"], t["name"] or "no name")
                    if t else "no such flow"))
        print("%-12s %7d %7d %7d %7d %7d %7d %7d %9d %7d" %
              (LABELS[proto], len(keys), n_theirs, n_ours, name_t, name_o, both, agree,
               only_t, only_o))
        totals["theirs"] += name_t
        totals["ours"] += name_o
        totals["both"] += both
        totals["agree"] += agree
        for title, items in (("values differ", differ), ("only nDPI", only_t_ex),
                             ("only rustnetd", only_o_ex)):
            if items:
                notes.append("  %s, %s (%d), e.g.:" % (LABELS[proto], title, len(items)))
                notes.extend("    " + x for x in items[:examples])
    print("%-12s %7s %7s %7s %7d %7d %7d %7d" % ("all", "", "", "", totals["theirs"],
                                                 totals["ours"], totals["both"],
                                                 totals["agree"]))
    print("columns: flows = either side classified it as the protocol; nDPI/ours = classified;")
    print("  nm = carries the name; both = both have one; agree = same value (case-insensitive,")
    print("  HTTP without :port, SSH banners as a pair); only = one side has the name")
    if notes:
        print("differences:")
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
