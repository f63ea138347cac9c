"""Replays every fixture capture through rustnetd and checks its connections
against tshark's, an independent dissector.

For each $FIXTURES/*.pcap and *.pcapng (real traffic, made by
tests/fixtures/make_fixtures.sh), `rustnetd --read FILE --dump json
--dump-expired` is compared with two views tshark gives of the same file.
(--dump-expired: a connection that timed out or was replaced before the end
of a long capture is still one of tshark's conversations; rows rustnetd
prints for the same endpoints are summed. The fixtures last seconds, so for
them it changes nothing; with it, the conversations and counts also match on
the nDPI corpus in $FIXTURES/ndpi/pcap, whose captures have gaps of years.)

1. The conversation tables, `tshark -q -z conv,tcp -z conv,udp`: the set of
   TCP and UDP conversations (endpoint pairs, either way round) and the
   frames in each direction. rustnetd must report exactly these
   conversations.

2. One line per frame, `tshark -T fields` with IP reassembly turned off:
   the IP addresses, the transport ports, the IP length and the fragment
   fields of every frame. This is the oracle for the counts:
     * bytes: rustnetd counts IP lengths (connection.proto), tshark's conv
       table counts frame lengths, rounded to kB once past 1 kB, and the
       link-layer overhead differs per link type (Ethernet 14, 802.1Q +4 per
       tag, Linux cooked v1 16, v2 20). Summing each frame's own IP length
       (ip.len; for IPv6 40 + ipv6.plen) needs no overhead table and no
       rounding, so it is exact for every link type.
     * IP fragments: tshark reassembles by default and then counts a
       fragmented datagram once, in the frame of its last fragment (its conv
       table shows 1 frame for a 3-fragment datagram). rustnetd counts every
       fragment on the wire, as a packet of the connection its first
       fragment's ports name; it matches later fragments to the first by
       (source, destination, protocol, IP id), as the per-frame pass here
       does, and reports how many packets were fragments in `fragments`.
       Both are wire-level facts; counting fragments is what rustnet
       documents, so the per-frame pass is the oracle, and the conv table is
       tied to it by a consistency check: conv frames = per-frame frames -
       fragment frames + reassembled datagrams. That check keeps the
       oracle honest (a misparsed conv table, swapped directions or a
       misattributed fragment fail it).

Also checked, from the per-frame pass (tshark has no conv table for them):
ICMP / ICMPv6 echo sessions (address pair + echo identifier, as rustnet
keys them) with their packets, bytes and fragments per direction, and ARP
exchanges (packets per direction, 28 bytes each). And: the traffic is
well-formed, so rustnetd must log no anomalies for it.

Prints one line per check and "N passed, M failed"; exits 1 on any
failure, including a missing tshark (it is the oracle: no silent skip).
Environment (set by CTest): RUSTNETD, FIXTURES (also SOURCE_DIR, BUILD_DIR,
unused here). Stdlib only.
"""
import glob
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUSTNETD = os.environ.get("RUSTNETD", "")
FIXTURES = os.environ.get("FIXTURES", "")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + name)
    else:
        failed += 1
        print("FAIL: " + name + (("\n        " + detail) if detail else ""))


def finish():
    """Prints the totals of check(); the exit code (1 on any failure)."""
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (cmd[0], p.returncode, p.stderr.strip()[-500:]))
    return p.stdout


def addr(text):
    """Canonical text of an IPv4 / IPv6 address (both tools print RFC 5952,
    but do not rely on it)."""
    return str(ipaddress.ip_address(text))


def conv_key(proto, a, b):
    """Direction-agnostic key: the protocol and the two endpoints, sorted.
    An endpoint is (address, port), or (address, echo id) for ICMP."""
    return (proto,) + tuple(sorted([a, b]))


def label(key):
    def ep(e):
        host = "[%s]" % e[0] if ":" in e[0] else e[0]
        return "%s:%d" % (host, e[1])
    return "%s %s <-> %s" % (key[0], ep(key[1]), ep(key[2]))


# --- tshark's conversation tables --------------------------------------------

# "A:pa   <-> B:pb   F_ba BYTES UNIT   F_ab BYTES UNIT   F BYTES UNIT  start dur"
# The first column pair is "<-" (frames B -> A), the second "->" (A -> B).
CONV_LINE = re.compile(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+[\d.]+\s+\S+\s+(\d+)\s+[\d.]+\s+\S+\s")


def tshark_conv_tables(path):
    """{key: {source endpoint: frames}} for TCP and UDP."""
    out = run(["tshark", "-r", path, "-q", "-z", "conv,tcp", "-z", "conv,udp"])
    convs = {}
    proto = None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = "tcp"
        elif line.startswith("UDP Conversations"):
            proto = "udp"
        m = CONV_LINE.match(line)
        if not m or not proto:
            continue
        a = (addr(m.group(1)), int(m.group(2)))
        b = (addr(m.group(3)), int(m.group(4)))
        per = convs.setdefault(conv_key(proto, a, b), {a: 0, b: 0})
        per[b] += int(m.group(5))
        per[a] += int(m.group(6))
    return convs


# --- tshark's frames, reassembly off ---------------------------------------

FIELDS = ["frame.protocols",
          "ip.src", "ip.dst", "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto",
          "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.fraghdr.ident", "ipv6.fraghdr.offset",
          "ipv6.fraghdr.more", "ipv6.fraghdr.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "icmp.type", "icmp.ident", "icmpv6.type", "icmpv6.echo.identifier",
          "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"]
ICMP_ECHO_TYPES = {"icmp": ("0", "8"), "icmpv6": ("128", "129")}


def number(text):
    return int(text, 0) if text else 0


def flag(text):
    return text in ("1", "True", "true")


class Counts:
    """Per direction (keyed by source endpoint): frames, IP bytes, and how
    many of the frames were IP fragments."""

    def __init__(self):
        self.dirs = {}
        self.datagrams = {}  # source endpoint -> ids of fragmented datagrams

    def add(self, src, length, fragment_id=None):
        d = self.dirs.setdefault(src, [0, 0, 0])
        d[0] += 1
        d[1] += length
        if fragment_id is not None:
            d[2] += 1
            self.datagrams.setdefault(src, set()).add(fragment_id)

    def get(self, src):
        return self.dirs.get(src, [0, 0, 0])


def tshark_frames(path):
    """{key: Counts} for tcp, udp, icmp, icmpv6 (echo only) and arp, with
    later IP fragments given to the conversation of their first fragment."""
    cmd = ["tshark", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    convs = {}
    first_fragments = {}  # (src, dst, protocol, id) -> (key, source endpoint)
    for line in run(cmd).splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        layers = v["frame.protocols"].split(":")
        if "arp" in layers and v["arp.src.proto_ipv4"]:
            spa, tpa = addr(v["arp.src.proto_ipv4"]), addr(v["arp.dst.proto_ipv4"])
            key = conv_key("arp", (spa, 0), (tpa, 0))
            convs.setdefault(key, Counts()).add((spa, 0), 28)
            continue
        # The transport is the layer after the first (outer) IP header and
        # its IPv6 extension headers; an ICMP error quoting a TCP header is
        # ICMP, not TCP (-E occurrence=f reads the outer header's fields).
        ip_layer = next((i for i, name in enumerate(layers) if name in ("ip", "ipv6")), None)
        if ip_layer is None:
            continue
        transport = next((n for n in layers[ip_layer + 1:] if not n.startswith("ipv6.")), "")
        if layers[ip_layer] == "ip":
            src, dst = addr(v["ip.src"]), addr(v["ip.dst"])
            length = number(v["ip.len"])
            more, offset = flag(v["ip.flags.mf"]), number(v["ip.frag_offset"])
            frag = (src, dst, number(v["ip.proto"]), number(v["ip.id"]))
        else:
            src, dst = addr(v["ipv6.src"]), addr(v["ipv6.dst"])
            length = 40 + number(v["ipv6.plen"])
            more, offset = flag(v["ipv6.fraghdr.more"]), number(v["ipv6.fraghdr.offset"])
            frag = (src, dst, number(v["ipv6.fraghdr.nxt"]), number(v["ipv6.fraghdr.ident"]))
        is_fragment = more or offset > 0  # an atomic fragment is not one
        if offset > 0:
            # A later fragment: no transport header of its own.
            if frag not in first_fragments:
                continue  # rustnet cannot attribute it either (and counts it)
            key, source = first_fragments[frag]
            convs[key].add(source, length, frag)
            continue
        if transport in ("tcp", "udp"):
            a = (src, number(v[transport + ".srcport"]))
            b = (dst, number(v[transport + ".dstport"]))
        elif transport in ICMP_ECHO_TYPES:
            t = v["icmp.type"] if transport == "icmp" else v["icmpv6.type"]
            if t not in ICMP_ECHO_TYPES[transport]:
                continue  # errors, neighbour discovery: not compared
            ident = number(v["icmp.ident"] if transport == "icmp" else v["icmpv6.echo.identifier"])
            a, b = (src, ident), (dst, ident)
        else:
            continue
        key = conv_key(transport, a, b)
        convs.setdefault(key, Counts()).add(a, length, frag if is_fragment else None)
        if is_fragment:
            first_fragments[frag] = (key, a)
    return convs


# --- rustnetd -------------------------------------------------------------------

PROTOCOLS = {"PROTOCOL_TCP": "tcp", "PROTOCOL_UDP": "udp", "PROTOCOL_ICMP": "icmp",
             "PROTOCOL_ICMPV6": "icmpv6", "PROTOCOL_ARP": "arp"}


def rustnet_connections(path, log_dir):
    """{key: {"rows": n, "fragments": n, source endpoint: [packets, bytes]}},
    rows on the same key (a port reused after close) summed; and the log."""
    out = run([RUSTNETD, "--read", path, "--dump", "json", "--dump-expired", "--log-dir", log_dir])
    convs = {}
    for line in out.splitlines():
        c = json.loads(line)
        proto = PROTOCOLS.get(c.get("protocol"))
        if not proto:
            continue
        if proto in ("icmp", "icmpv6"):
            ident = c.get("icmp", {}).get("echoId", 0)
            if not ident:
                continue  # not an echo session
            local = (addr(c["local"]["address"]), ident)
            remote = (addr(c["remote"]["address"]), ident)
        else:
            local = (addr(c["local"]["address"]), c["local"].get("port", 0))
            remote = (addr(c["remote"]["address"]), c["remote"].get("port", 0))
        e = convs.setdefault(conv_key(proto, local, remote),
                             {"rows": 0, "fragments": 0, local: [0, 0], remote: [0, 0]})
        e["rows"] += 1
        e["fragments"] += int(c.get("fragments", "0"))
        for ep, counters in ((local, c.get("sent", {})), (remote, c.get("received", {}))):
            e[ep][0] += int(counters.get("packets", "0"))
            e[ep][1] += int(counters.get("bytes", "0"))
    logs = ""
    for f in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
        with open(f, encoding="utf-8", errors="replace") as fh:
            logs += fh.read()
    return convs, logs


# --- the comparison -----------------------------------------------------------


def compare_counts(name, key, ours, frames):
    """Packets, bytes and fragments per direction for one conversation."""
    ends = [key[1], key[2]]

    def arrow(a, b):
        return "%s:%d->%s:%d" % (a[0], a[1], b[0], b[1])

    def show(d):
        return ", ".join("%s %s" % (arrow(e, o), d[e]) for e, o in ((ends[0], ends[1]),
                                                                       (ends[1], ends[0])))

    got = {e: ours[e][0] for e in ends}
    want = {e: frames.get(e)[0] for e in ends}
    check("%s: %s: packets per direction" % (name, label(key)), got == want,
          "rustnetd: %s; tshark: %s" % (show(got), show(want)))
    got = {e: ours[e][1] for e in ends}
    want = {e: frames.get(e)[1] for e in ends}
    what = "ARP message bytes" if key[0] == "arp" else "IP bytes"
    check("%s: %s: %s per direction" % (name, label(key), what), got == want,
          "rustnetd: %s; tshark: %s" % (show(got), show(want)))
    fragments = sum(frames.get(e)[2] for e in ends)
    if fragments or ours["fragments"]:
        check("%s: %s: fragments (%d)" % (name, label(key), fragments),
              ours["fragments"] == fragments,
              "rustnetd: %d fragments; tshark: %d" % (ours["fragments"], fragments))


def check_capture(path, log_dir):
    name = os.path.basename(path)
    try:
        ours, logs = rustnet_connections(path, log_dir)
        tables = tshark_conv_tables(path)
        frames = tshark_frames(path)
    except (RuntimeError, ValueError, KeyError) as e:
        check("%s: rustnetd and tshark read it" % name, False, str(e))
        return

    # The oracle agrees with itself: the conv tables against the frames.
    flows = {k: c for k, c in frames.items() if k[0] in ("tcp", "udp")}
    problems = []
    if set(tables) != set(flows):
        problems.append("conv tables only: %s; frames only: %s" % (
            sorted(map(label, set(tables) - set(flows))),
            sorted(map(label, set(flows) - set(tables)))))
    for key in sorted(set(tables) & set(flows)):
        for e in (key[1], key[2]):
            f = flows[key].get(e)
            reassembled = f[0] - f[2] + len(flows[key].datagrams.get(e, ()))
            if tables[key][e] != reassembled:
                problems.append("%s from %s: conv table %d frames, per frame %d (%d fragments "
                                "of %d datagrams)" % (label(key), e, tables[key][e], f[0], f[2],
                                                      len(flows[key].datagrams.get(e, ()))))
    check("%s: tshark's conv tables agree with its per-frame fields (conversations: %d)" %
          (name, len(tables)), tables and not problems, "; ".join(problems) or "no conversations")

    tcp_udp = {k for k in ours if k[0] in ("tcp", "udp")}
    check("%s: same TCP and UDP conversations as tshark (%d)" % (name, len(tables)),
          tcp_udp == set(tables),
          "only rustnetd: %s; only tshark: %s" % (sorted(map(label, tcp_udp - set(tables))),
                                                 sorted(map(label, set(tables) - tcp_udp))))
    others = {k for k in set(ours) | set(frames) if k[0] not in ("tcp", "udp")}
    if others:
        got = {k for k in ours if k in others}
        want = {k for k in frames if k in others}
        check("%s: same ICMP echo sessions and ARP exchanges as tshark (%d)" % (name, len(want)),
              got == want, "only rustnetd: %s; only tshark: %s" % (
                  sorted(map(label, got - want)), sorted(map(label, want - got))))
    for key in sorted(set(ours) & set(frames), key=lambda k: (k[0], label(k))):
        compare_counts(name, key, ours[key], frames[key])

    # Real, well-formed traffic: nothing is malformed and every fragment is
    # attributed. (The daemon logs its final statistics on exit.)
    m = re.findall(r"anomalies: (.*)", logs)
    summary = re.search(r"malformed (\d+), untracked fragments (\d+)", logs)
    check("%s: rustnetd logs no anomalies, malformed packets or untracked fragments" % name,
          not m and summary is not None and summary.groups() == ("0", "0"),
          "anomalies: %s; %s" % ("; ".join(m) or "none",
                                 summary.group(0) if summary else "no statistics line in the log"))


def main():
    if not RUSTNETD or not FIXTURES:
        check("RUSTNETD and FIXTURES are set (CTest sets them)", False)
    elif shutil.which("tshark") is None:
        check("tshark is installed (it is the oracle; scripts/setup.sh test installs it)", False)
    else:
        captures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                          glob.glob(os.path.join(FIXTURES, "*.pcapng")))
        check("fixture captures found in %s (%d)" % (FIXTURES, len(captures)), len(captures) >= 6)
        for path in captures:
            with tempfile.TemporaryDirectory(prefix="rn-tshark-conv-") as log_dir:
                check_capture(path, log_dir)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
