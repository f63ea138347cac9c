"""Replays every fixture capture and compares rustnetd's TCP and UDP
conversations with tshark's, an independent dissector.

For each $FIXTURES/*.pcap and *.pcapng:
  * `tshark -q -z conv,tcp -z conv,udp` gives the set of conversations and
    their frame counts per direction. rustnetd must report the same
    conversations (endpoint pairs) and, per direction, the same packets.
  * tshark's conv table prints bytes in rounded units (kB), and counts frame
    bytes, so the byte check uses tshark per-frame fields instead: for every
    frame, the IP length (ip.len, or 40 + ipv6.plen) summed per conversation
    and direction must equal rustnetd's bytes (IP lengths, see
    connection.proto).
IP fragments: tshark reassembles by default and then counts a fragmented
datagram once, at its last fragment. rustnetd counts every fragment on the
wire under its connection (the first carries the ports; the rest are matched
by IP id). The per-frame pass therefore runs with reassembly off and gives
later fragments to the conversation of their first fragment, as rustnetd
does; for conversations with fragments, frame counts are compared against
that pass, not the reassembled conv table.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

RUSTNETD = os.environ.get("RUSTNETD", "")
FIXTURES = os.environ.get("FIXTURES", "")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + name)
    else:
        failed += 1
        print("FAIL: " + name + (("\n        " + detail) if detail else ""))


def endpoint(addr, port):
    return (addr, int(port))


def conv_key(proto, a, b):
    return (proto,) + tuple(sorted([a, b]))


def tshark_conversations(path):
    """{key: {(src endpoint): frames}} from the conv tables."""
    out = subprocess.run(["tshark", "-r", path, "-q", "-z", "conv,tcp", "-z", "conv,udp"],
                         capture_output=True, text=True, check=True).stdout
    convs = {}
    proto = None
    # "A:pa <-> B:pb   FRAMES BYTES UNIT   FRAMES BYTES UNIT   ..." where the
    # first pair is "<-" (B to A) and the second "->" (A to B).
    line_re = re.compile(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+[\d.]+\s+\S+\s+(\d+)\s")
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = "tcp"
        elif line.startswith("UDP Conversations"):
            proto = "udp"
        m = line_re.match(line)
        if m and proto:
            a = endpoint(m.group(1), m.group(2))
            b = endpoint(m.group(3), m.group(4))
            # Columns: "<-" = frames B->A, "->" = frames A->B.
            convs[conv_key(proto, a, b)] = {b: int(m.group(5)), a: int(m.group(6))}
    return convs


def tshark_frames(path):
    """Per-conversation, per-source-endpoint [frames, ip bytes], fragments
    attributed to their first fragment's ports; and the keys that had
    fragments."""
    fields = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.len", "ipv6.plen", "ip.id",
              "ip.flags.mf", "ip.frag_offset", "ip.proto", "tcp.srcport", "tcp.dstport",
              "udp.srcport", "udp.dstport"]
    cmd = ["tshark", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    counts = {}
    fragmented = set()
    first_fragments = {}  # (src, dst, proto, id) -> (proto name, sport, dport)
    for line in out.splitlines():
        v = dict(zip(fields, line.split("|")))
        if v["ip.src"]:
            src, dst, length = v["ip.src"], v["ip.dst"], int(v["ip.len"])
        elif v["ipv6.src"]:
            src, dst, length = v["ipv6.src"], v["ipv6.dst"], 40 + int(v["ipv6.plen"])
        else:
            continue
        frag_offset = int(v["ip.frag_offset"] or 0)
        more = v["ip.flags.mf"] in ("1", "True")
        is_fragment = frag_offset > 0 or more
        if v["tcp.srcport"]:
            proto, sport, dport = "tcp", v["tcp.srcport"], v["tcp.dstport"]
        elif v["udp.srcport"]:
            proto, sport, dport = "udp", v["udp.srcport"], v["udp.dstport"]
        else:
            proto = None
        frag_id = (src, dst, v["ip.proto"], v["ip.id"])
        if proto and is_fragment:
            first_fragments[frag_id] = (proto, sport, dport)
        elif not proto and is_fragment and frag_id in first_fragments:
            proto, sport, dport = first_fragments[frag_id]
        if not proto:
            continue
        a, b = endpoint(src, sport), endpoint(dst, dport)
        key = conv_key(proto, a, b)
        if is_fragment:
            fragmented.add(key)
        per = counts.setdefault(key, {})
        c = per.setdefault(a, [0, 0])
        c[0] += 1
        c[1] += length
    return counts, fragmented


def rustnet_conversations(path, log_dir):
    p = subprocess.run([RUSTNETD, "--read", path, "--dump", "json", "--log-dir", log_dir],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("rustnetd exited %d: %s" % (p.returncode, p.stderr.strip()))
    convs = {}
    for line in p.stdout.splitlines():
        c = json.loads(line)
        proto = {"PROTOCOL_TCP": "tcp", "PROTOCOL_UDP": "udp"}.get(c.get("protocol"))
        if not proto:
            continue
        local = endpoint(c["local"]["address"], c["local"].get("port", 0))
        remote = endpoint(c["remote"]["address"], c["remote"].get("port", 0))
        sent = c.get("sent", {})
        received = c.get("received", {})
        convs[conv_key(proto, local, remote)] = {
            local: [int(sent.get("packets", 0)), int(sent.get("bytes", 0))],
            remote: [int(received.get("packets", 0)), int(received.get("bytes", 0))],
        }
    return convs


def main():
    if not RUSTNETD or not FIXTURES:
        print("FAIL: RUSTNETD and FIXTURES must be set")
        return 1
    if subprocess.run(["which", "tshark"], capture_output=True).returncode != 0:
        check("tshark is installed (it is the oracle)", False)
        print("%d passed, %d failed" % (passed, failed))
        return 1
    captures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                      glob.glob(os.path.join(FIXTURES, "*.pcapng")))
    check("fixture captures present (%d)" % len(captures), len(captures) >= 5)
    with tempfile.TemporaryDirectory() as logs:
        for path in captures:
            name = os.path.basename(path)
            try:
                ours = rustnet_conversations(path, logs)
            except RuntimeError as e:
                check("%s: rustnetd replays it" % name, False, str(e))
                continue
            conv = tshark_conversations(path)
            frames, fragmented = tshark_frames(path)
            check("%s: tshark sees conversations (%d)" % (name, len(conv)), len(conv) > 0)
            check("%s: same TCP/UDP conversations as tshark" % name,
                  set(ours) == set(conv),
                  "only rustnet: %s; only tshark: %s" %
                  (sorted(set(ours) - set(conv)), sorted(set(conv) - set(ours))))
            for key in sorted(set(ours) & set(conv)):
                label = "%s %s:%d <-> %s:%d" % (key[0], key[1][0], key[1][1], key[2][0],
                                                key[2][1])
                ends = [key[1], key[2]]
                our_packets = {e: ours[key][e][0] for e in ends}
                if key in fragmented:
                    want = {e: frames.get(key, {}).get(e, [0, 0])[0] for e in ends}
                    source = "frames, fragments attributed"
                else:
                    want = {e: conv[key].get(e, 0) for e in ends}
                    source = "conv table"
                check("%s: %s: packets per direction match tshark (%s)" % (name, label, source),
                      our_packets == want, "rustnet %s, tshark %s" % (our_packets, want))
                our_bytes = {e: ours[key][e][1] for e in ends}
                want_bytes = {e: frames.get(key, {}).get(e, [0, 0])[1] for e in ends}
                check("%s: %s: IP bytes per direction match tshark" % (name, label),
                      our_bytes == want_bytes, "rustnet %s, tshark %s" % (our_bytes, want_bytes))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
