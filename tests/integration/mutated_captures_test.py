#!/usr/bin/env python3
"""Damaged capture files never crash or hang rustnetd.

Takes every capture in $FIXTURES plus a set of hand-built ones (Ethernet,
VLAN, IPv4/IPv6, TCP/UDP/ICMP/ICMPv6/ARP, fragments, IPv6 extension headers;
pcap in both byte orders and with nanosecond timestamps, pcapng, Linux cooked
v1/v2, raw IP, BSD loopback), makes about 200 mutations with a fixed seed
(random byte flips, flips aimed at protocol headers, truncation at random
points, record lengths that lie, global-header damage, timestamps at the
edges, fragment floods) and
runs `rustnetd --read FILE --dump json` on each under `timeout 20`.

A run passes when rustnetd exits 0 or 1 (never a signal, a timeout or
another code); when it exits 1, stderr is a single line; when it exits 0,
stdout is JSON Lines and stderr at most one (warning) line.

Stdlib only. Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR.
Optional: RUSTNET_MUTATION_SEED, RUSTNET_MUTATIONS (count). Failing inputs
are kept in $BUILD_DIR/mutated_captures_failures/ for reproduction.
"""

import concurrent.futures
import glob
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

SEED = int(os.environ.get("RUSTNET_MUTATION_SEED", "20241125"))
COUNT = int(os.environ.get("RUSTNET_MUTATIONS", "200"))
TIMEOUT_S = 20

# --- Packet building ---------------------------------------------------------


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
V4_A, V4_B = bytes([192, 168, 7, 1]), bytes([192, 168, 7, 2])
V6_A = bytes.fromhex("fd000000000000000000000000000001")
V6_B = bytes.fromhex("fd000000000000000000000000000002")


def ether(payload, ethertype, src=MAC_A, dst=MAC_B, vlans=()):
    # Each VLAN tag is a TPID and a TCI before the real ethertype.
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return dst + src + tags + struct.pack("!H", ethertype) + payload


def ipv4(payload, proto, src=V4_A, dst=V4_B, ident=1, frag=0, ttl=64, total=None):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(payload), ident, frag, ttl,
                      proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(payload, next_header, src=V6_A, dst=V6_B):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", window=64240, options=b""):
    offset = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0,
                       0) + options + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(kind, ident, seq, payload=b"ping"):
    hdr = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    return hdr[:2] + struct.pack("!H", checksum(hdr)) + hdr[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def tcp_conversation(ip, sport, dport, src, dst, isn_c=1000, isn_s=5000):
    """IP packets (built by `ip`) of a whole TCP connection, both ways."""
    def c2s(segment):
        return ip(segment, 6, src, dst)

    def s2c(segment):
        return ip(segment, 6, dst, src)

    mss = b"\x02\x04\x05\xb4"
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    c, s = isn_c, isn_s
    return [
        c2s(tcp(sport, dport, c, 0, SYN, options=mss)),
        s2c(tcp(dport, sport, s, c + 1, SYN | ACK, options=mss)),
        c2s(tcp(sport, dport, c + 1, s + 1, ACK)),
        c2s(tcp(sport, dport, c + 1, s + 1, PSH | ACK, req)),
        s2c(tcp(dport, sport, s + 1, c + 1 + len(req), ACK)),
        s2c(tcp(dport, sport, s + 1, c + 1 + len(req), PSH | ACK, resp)),
        # A retransmission and a zero window.
        s2c(tcp(dport, sport, s + 1, c + 1 + len(req), PSH | ACK, resp)),
        c2s(tcp(sport, dport, c + 1 + len(req), s + 1 + len(resp), ACK, window=0)),
        s2c(tcp(dport, sport, s + 1 + len(resp), c + 1 + len(req), FIN | ACK)),
        c2s(tcp(sport, dport, c + 1 + len(req), s + 2 + len(resp), FIN | ACK)),
        s2c(tcp(dport, sport, s + 2 + len(resp), c + 2 + len(req), ACK)),
    ]


def v4(payload, proto, src=V4_A, dst=V4_B):
    return ipv4(payload, proto, src, dst)


def v6(payload, proto, src=V6_A, dst=V6_B):
    return ipv6(payload, proto, src, dst)


def ip_packets():
    """(ethertype, IP or ARP packet) for a bit of everything rustnetd decodes."""
    out = [(0x0800, p) for p in tcp_conversation(v4, 40000, 443, V4_A, V4_B)]
    out += [(0x86DD, p) for p in tcp_conversation(v6, 40001, 22, V6_A, V6_B)]
    # UDP (DNS-like) both ways, UDP to an unknown port, one way.
    out.append((0x0800, v4(udp(53000, 53, b"\x12\x34\x01\x00\x00\x01" + b"\0" * 6), 17)))
    out.append((0x0800, v4(udp(53, 53000, b"\x12\x34\x81\x80\x00\x01" + b"\0" * 6), 17,
                           V4_B, V4_A)))
    out.append((0x86DD, v6(udp(5353, 5353, b"mdns"), 17)))
    out.append((0x0800, v4(udp(40002, 33333, b"x" * 100), 17)))
    # ICMP and ICMPv6 echo, and an ICMP error quoting a UDP packet.
    out.append((0x0800, v4(icmp_echo(8, 77, 1), 1)))
    out.append((0x0800, v4(icmp_echo(0, 77, 1), 1, V4_B, V4_A)))
    out.append((0x86DD, v6(icmp_echo(128, 78, 1), 58)))
    out.append((0x86DD, v6(icmp_echo(129, 78, 1), 58, V6_B, V6_A)))
    quoted = v4(udp(40002, 33333, b"x" * 8), 17)[:28]
    out.append((0x0800, v4(struct.pack("!BBHI", 3, 3, 0, 0) + quoted, 1, V4_B, V4_A)))
    # ARP who-has and is-at.
    out.append((0x0806, arp(1, MAC_A, V4_A, b"\0" * 6, V4_B)))
    out.append((0x0806, arp(2, MAC_B, V4_B, MAC_A, V4_A)))
    # IPv4 fragments: first (with the UDP header) and a later one; and a
    # later fragment whose first never came.
    big = udp(40003, 9999, bytes(range(256)) * 2)
    out.append((0x0800, ipv4(big[:256], 17, ident=4242, frag=0x2000)))
    out.append((0x0800, ipv4(big[256:], 17, ident=4242, frag=256 // 8)))
    out.append((0x0800, ipv4(b"y" * 64, 17, ident=4343, frag=64 // 8)))
    # IPv6: a hop-by-hop option header before TCP, a fragment header.
    hbh = struct.pack("!BB", 6, 0) + b"\x01\x04\0\0\0\0"
    out.append((0x86DD, ipv6(hbh + tcp(40004, 80, 1, 0, SYN), 0)))
    frag_hdr = struct.pack("!BBHI", 17, 0, 0x0001, 99)  # offset 0, more fragments
    out.append((0x86DD, ipv6(frag_hdr + udp(40005, 7, b"z" * 48)[:40], 44)))
    frag_hdr2 = struct.pack("!BBHI", 17, 0, 40 // 8 << 3, 99)  # offset 40, last
    out.append((0x86DD, ipv6(frag_hdr2 + b"z" * 16, 44)))
    # A TCP reset.
    out.append((0x0800, v4(tcp(40006, 8080, 9, 0, SYN), 6)))
    out.append((0x0800, v4(tcp(8080, 40006, 0, 10, RST | ACK), 6, V4_B, V4_A)))
    return out


def ethernet_frames():
    frames = []
    for i, (ethertype, pkt) in enumerate(ip_packets()):
        if i % 7 == 3:
            frames.append(ether(pkt, ethertype, vlans=[(0x8100, 10)]))
        elif i % 11 == 5:
            frames.append(ether(pkt, ethertype, vlans=[(0x88A8, 20), (0x8100, 30)]))
        else:
            frames.append(ether(pkt, ethertype))
    return frames


# --- Capture file formats --------------------------------------------------------

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101
LINKTYPE_SLL, LINKTYPE_SLL2 = 113, 276


def pcap(frames, linktype=LINKTYPE_ETHERNET, endian="<", nano=False, snaplen=262144):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    ts = 1_700_000_000
    for i, f in enumerate(frames):
        frac = i * (1000 if nano else 1) * 1000
        out.append(struct.pack(endian + "IIII", ts + i // 10, frac % (10**9 if nano else 10**6),
                               len(f), len(f)) + f)
    return b"".join(out)


def pcapng(frames, linktype=LINKTYPE_ETHERNET):
    def block(kind, body):
        length = 12 + len(body)
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", linktype, 0, 262144))
    out = [shb, idb]
    ts = 1_700_000_000 * 1_000_000
    for i, f in enumerate(frames):
        t = ts + i * 1000
        pad = b"\0" * (-len(f) % 4)
        out.append(block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(f), len(f)) +
                         f + pad))
    return b"".join(out)


def strip_ether(frame):
    """(ethertype, payload) of an untagged or tagged Ethernet frame."""
    off = 12
    ethertype = struct.unpack("!H", frame[off:off + 2])[0]
    while ethertype in (0x8100, 0x88A8, 0x9100):
        off += 4
        ethertype = struct.unpack("!H", frame[off:off + 2])[0]
    return ethertype, frame[off + 2:]


def sll(frames):
    out = []
    for f in frames:
        ethertype, payload = strip_ether(f)
        out.append(struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", ethertype) + payload)
    return out


def sll2(frames):
    out = []
    for f in frames:
        ethertype, payload = strip_ether(f)
        out.append(struct.pack("!HHIHBB8s", ethertype, 0, 2, 1, 4, 6, MAC_A + b"\0\0") + payload)
    return out


def raw_ip(frames):
    return [p for t, p in map(strip_ether, frames) if t in (0x0800, 0x86DD)]


def bsd_null(frames):
    out = []
    for t, p in map(strip_ether, frames):
        if t == 0x0800:
            out.append(struct.pack("<I", 2) + p)
        elif t == 0x86DD:
            out.append(struct.pack("<I", 30) + p)
    return out


def base_captures(fixtures_dir):
    """{name: bytes}: the fixtures, then the hand-built captures."""
    bases = {}
    if fixtures_dir and os.path.isdir(fixtures_dir):
        for path in sorted(glob.glob(os.path.join(fixtures_dir, "**", "*"), recursive=True)):
            if path.endswith((".pcap", ".pcapng", ".cap")) and os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                if len(data) <= 4 << 20:  # Keep the run short.
                    bases["fixture:" + os.path.relpath(path, fixtures_dir)] = data
    frames = ethernet_frames()
    bases["ethernet.pcap"] = pcap(frames)
    bases["ethernet-bigendian.pcap"] = pcap(frames, endian=">")
    bases["ethernet-nanosecond.pcap"] = pcap(frames, nano=True)
    bases["ethernet.pcapng"] = pcapng(frames)
    bases["linux-cooked-v1.pcap"] = pcap(sll(frames), LINKTYPE_SLL)
    bases["linux-cooked-v2.pcap"] = pcap(sll2(frames), LINKTYPE_SLL2)
    bases["raw-ip.pcap"] = pcap(raw_ip(frames), LINKTYPE_RAW)
    bases["bsd-loopback.pcap"] = pcap(bsd_null(frames), LINKTYPE_NULL)
    return bases


# --- Mutations ----------------------------------------------------------------------


def pcap_records(data):
    """[(offset of record header, incl_len)] of a classic pcap; [] otherwise."""
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return []
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        out.append((off, incl, endian))
        off += 16 + incl
    return out


def pcapng_blocks(data):
    out, off = [], 0
    while off + 12 <= len(data):
        kind, length = struct.unpack("<II", data[off:off + 8])
        if length < 12:
            break
        out.append((off, kind, length))
        off += length
    return out


def flip_bytes(rng, data, lo, hi, n):
    data = bytearray(data)
    hi = min(hi, len(data))
    if hi <= lo:
        return bytes(data), "nothing to flip"
    where = sorted(rng.randrange(lo, hi) for _ in range(n))
    for w in where:
        data[w] ^= rng.randrange(1, 256)
    return bytes(data), "flipped %d byte(s) at %s" % (n, where[:8])


def mutate(rng, data):
    """(mutated bytes, description)."""
    recs = pcap_records(data)
    blocks = pcapng_blocks(data) if not recs else []
    kind = rng.choice(["flip", "flip", "header-flip", "header-flip", "truncate", "lie", "lie",
                       "global", "flood", "timestamp", "combo"])
    if kind == "flip":
        return flip_bytes(rng, data, 24, len(data), rng.randint(1, 24))
    if kind == "header-flip":
        # Flip bytes in the first 80 bytes of some records: link, IP and
        # transport headers.
        data = bytearray(data)
        spots = []
        if recs:
            for off, incl, _ in rng.sample(recs, min(len(recs), rng.randint(1, 8))):
                start = off + 16
                for _ in range(rng.randint(1, 4)):
                    w = start + rng.randrange(max(1, min(incl, 80)))
                    if w < len(data):
                        data[w] ^= rng.randrange(1, 256)
                        spots.append(w)
        elif blocks:
            for off, kind_, length in rng.sample(blocks, min(len(blocks), rng.randint(1, 8))):
                for _ in range(rng.randint(1, 4)):
                    w = off + 8 + rng.randrange(max(1, min(length - 12, 100)))
                    if w < len(data):
                        data[w] ^= rng.randrange(1, 256)
                        spots.append(w)
        return bytes(data), "header flips at %s" % sorted(spots)[:10]
    if kind == "truncate":
        cut = rng.randrange(1, len(data))
        return data[:cut], "truncated to %d of %d bytes" % (cut, len(data))
    if kind == "lie":
        data = bytearray(data)
        if recs:
            off, incl, endian = rng.choice(recs)
            field = rng.choice([8, 12])  # incl_len or orig_len
            remaining = len(data) - off - 16
            value = rng.choice([0, 1, incl - 1, incl + 1, remaining + 1, 65535, 65536, 262144,
                                262145, 0x7FFFFFFF, 0xFFFFFFF0, 0xFFFFFFFF])
            value &= 0xFFFFFFFF
            data[off + field:off + field + 4] = struct.pack(endian + "I", value)
            return bytes(data), "record at %d: %s = %d (was %d)" % (
                off, "incl_len" if field == 8 else "orig_len", value, incl)
        if blocks:
            off, kind_, length = rng.choice(blocks)
            # The leading or trailing block length, or an EPB's captured length.
            fields = {"block length": 4, "trailing block length": length - 4}
            if kind_ == 6:
                fields["captured length"] = 20
            name = rng.choice(sorted(fields))
            value = rng.choice([0, 4, 12, length - 4, length + 4, 0xFFFF, 0x7FFFFFFF,
                                0xFFFFFFFC, 0xFFFFFFFF]) & 0xFFFFFFFF
            where = off + fields[name]
            data[where:where + 4] = struct.pack("<I", value)
            return bytes(data), "block at %d: %s = %d (was %d)" % (off, name, value, length)
        return flip_bytes(rng, bytes(data), 0, len(data), 4)
    if kind == "global":
        data = bytearray(data)
        if recs:
            endian = recs[0][2]
            what = rng.choice(["snaplen", "linktype", "version", "magic-byte"])
            if what == "snaplen":
                v = rng.choice([0, 1, 14, 64, 0x7FFFFFFF, 0xFFFFFFFF])
                data[16:20] = struct.pack(endian + "I", v)
            elif what == "linktype":
                v = rng.choice([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 0x8000_0001])
                data[20:24] = struct.pack(endian + "I", v)
            elif what == "version":
                v = rng.choice([0, 1, 3, 0xFFFF])
                data[4:6] = struct.pack(endian + "H", v)
            else:
                data[rng.randrange(4)] ^= rng.randrange(1, 256)
                v = None
            return bytes(data), "global header %s = %s" % (what, v)
        return flip_bytes(rng, bytes(data), 0, min(len(data), 64), rng.randint(1, 4))
    if kind == "timestamp":
        # Timestamps at the edges: before 1970 (libpcap reads a classic
        # pcap's seconds as signed), microseconds past a second, the far
        # future of a 64-bit pcapng timestamp.
        data = bytearray(data)
        if recs:
            off, _, endian = rng.choice(recs)
            sec = rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xC0000000, 0xFFFFFFFF])
            frac = rng.choice([0, 1, 999999, 1000000, 999999999, 0xFFFFFFFF])
            data[off:off + 8] = struct.pack(endian + "II", sec, frac)
            return bytes(data), "record at %d: timestamp %d.%d" % (off, sec, frac)
        epbs = [b for b in blocks if b[1] == 6]
        if epbs:
            off = rng.choice(epbs)[0]
            ts = rng.choice([0, 1, 2**53, 2**63 - 1, 2**63, 2**64 - 1])
            data[off + 12:off + 20] = struct.pack("<II", ts >> 32, ts & 0xFFFFFFFF)
            return bytes(data), "block at %d: timestamp %d" % (off, ts)
        return flip_bytes(rng, bytes(data), 0, len(data), 4)
    if kind == "flood":
        # Many copies of one record (e.g. a later fragment without its first)
        # to fill tables; only for classic pcap.
        if recs:
            off, incl, _ = rng.choice(recs)
            rec = data[off:off + 16 + incl]
            copies = rng.choice([500, 2000, 5000])
            return data + rec * copies, "appended %d copies of the record at %d" % (copies, off)
        return flip_bytes(rng, data, 0, len(data), 8)
    # combo: flips, then a lie or a truncation.
    d1, s1 = flip_bytes(rng, data, 24, len(data), rng.randint(1, 8))
    if rng.random() < 0.5:
        cut = rng.randrange(1, len(d1))
        return d1[:cut], s1 + "; truncated to %d" % cut
    d2, s2 = mutate(rng, d1)
    return d2, s1 + "; " + s2


# --- Running rustnetd ------------------------------------------------------------------


def run_one(rustnetd, path, log_dir):
    try:
        p = subprocess.run(["timeout", str(TIMEOUT_S), rustnetd, "--read", path, "--dump", "json",
                            "--log-dir", log_dir], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT_S + 10)
    except subprocess.TimeoutExpired:
        return None, b"", b"(python-side timeout)"
    return p.returncode, p.stdout, p.stderr


def judge(rc, out, err):
    """[] when the run passes, else the problems."""
    problems = []
    err_lines = err.decode("utf-8", "replace").splitlines()
    if rc is None or rc == 124:
        problems.append("timed out (hang)")
    elif rc < 0 or rc >= 128:
        problems.append("killed by signal %d" % (-rc if rc < 0 else rc - 128))
    elif rc not in (0, 1):
        problems.append("exit code %d, expected 0 or 1" % rc)
    if rc == 1:
        if len(err_lines) != 1:
            problems.append("exit 1 with %d stderr lines, expected 1" % len(err_lines))
        elif not err_lines[0].startswith("rustnetd: "):
            problems.append("exit 1 and stderr does not start with 'rustnetd: '")
    if rc == 0:
        if len(err_lines) > 1:
            problems.append("exit 0 with %d stderr lines, expected at most 1" % len(err_lines))
        for i, line in enumerate(out.decode("utf-8", "replace").splitlines()):
            try:
                if not isinstance(json.loads(line), dict):
                    raise ValueError("not an object")
            except ValueError as e:
                problems.append("stdout line %d is not a JSON object: %s" % (i + 1, e))
                break
    return problems


def main():
    rustnetd = os.environ.get("RUSTNETD")
    if not rustnetd or not os.access(rustnetd, os.X_OK):
        print("RUSTNETD must point to the rustnetd binary")
        print("0 passed, 1 failed")
        return 1
    rng = random.Random(SEED)
    bases = base_captures(os.environ.get("FIXTURES"))
    names = sorted(bases)
    work = tempfile.mkdtemp(prefix="rnmut.")
    failures_dir = os.path.join(os.environ.get("BUILD_DIR") or work,
                                "mutated_captures_failures")
    shutil.rmtree(failures_dir, ignore_errors=True)
    print("seed %d, %d mutations of %d base captures: %s" % (SEED, COUNT, len(names),
                                                             ", ".join(names)))
    cases = []
    # The unmutated bases first. The hand-built ones must read cleanly (exit
    # 0, a table, no stderr); fixtures may be damaged on purpose, so they
    # only have to pass like a mutation.
    for i, name in enumerate(names):
        path = os.path.join(work, "base-%02d%s" % (i, os.path.splitext(name)[1]))
        with open(path, "wb") as f:
            f.write(bases[name])
        cases.append(("base %s" % name, path, not name.startswith("fixture:")))
    for i in range(COUNT):
        name = names[i % len(names)]
        data, how = mutate(rng, bases[name])
        path = os.path.join(work, "mut-%03d%s" % (i, os.path.splitext(name)[1]))
        with open(path, "wb") as f:
            f.write(data)
        cases.append(("mutation %03d of %s: %s" % (i, name, how), path, False))

    log_dir = os.path.join(work, "logs")
    passed = failed = 0
    outcomes = {}
    workers = max(1, min(8, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda c: run_one(rustnetd, c[1], log_dir), cases))
    for (label, path, is_base), (rc, out, err) in zip(cases, results):
        problems = judge(rc, out, err)
        if is_base:
            if rc != 0 or err or not out:
                problems.append("an unmutated capture must read cleanly (exit 0, a table, "
                                "no stderr)")
        key = "exit %s" % rc
        outcomes[key] = outcomes.get(key, 0) + 1
        if not problems:
            passed += 1
            continue
        failed += 1
        os.makedirs(failures_dir, exist_ok=True)
        kept = os.path.join(failures_dir, os.path.basename(path))
        shutil.copyfile(path, kept)
        print("FAIL: %s" % label)
        for p in problems:
            print("        - %s" % p)
        for line in err.decode("utf-8", "replace").splitlines()[:6]:
            print("        stderr| %s" % line)
        print("        reproduce: timeout %d %s --read %s --dump json --log-dir /tmp/rnlogs" % (
            TIMEOUT_S, rustnetd, kept))
    shutil.rmtree(work, ignore_errors=True)
    print("outcomes: %s" % ", ".join("%s: %d" % kv for kv in sorted(outcomes.items())))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
