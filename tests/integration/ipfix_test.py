"""IPFIX / NetFlow v9 export (--ipfix) against the collectors fleets run:
nfdump's nfcapd and pmacct's nfacctd, from Debian's packages.

1. Every fixture in $FIXTURES, replayed with `rustnetd --read FILE --dump json
   --dump-expired --ipfix udp://...`, is received by nfcapd; `nfdump -r`
   lists, per direction of every TCP and UDP conversation tshark sees, the
   same packets and IP bytes (tshark_conv_test's oracle: its per-frame pass);
   over all flows (ICMP included) the packets and bytes add up exactly to
   rustnetd's own dump of the same file; IPv6 flows are among them.
   With --ipfix-biflow (RFC 5103), nfdump's in/out counters of each
   connection's one record are the per-direction records' counts.
2. The same through --netflow-v9: the same flows, counts and first/last
   times as the IPFIX export (v9 carries times relative to sysUptime).
3. pmacct's nfacctd (print plugin, CSV) decodes the IPFIX export too, with
   the same per-direction counts as nfdump.
4. Active timeout: a capture made here with one TCP flow whose packets span
   200 s is split, with --ipfix-active-timeout 20s, into several records per
   direction that add up to the flow's counts (and into one per direction
   with 0).
5. A collector started after rustnetd still decodes: templates are resent
   (--ipfix-template-refresh 1s); with a refresh of an hour the same late
   collector decodes nothing (the check can fail).
6. Collectors down: UDP to a closed port and TCP to nothing listening. The
   daemon keeps capturing and serving the API; GetStats' ipfix section shows
   the UDP drops and TCP unconnected; a TCP collector that appears later gets
   a stream that starts with the templates and carries every flow (parsed
   here), sequence numbers counting data records.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
"""
import glob
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import api_test  # noqa: E402
import tshark_conv_test as tc  # noqa: E402
from api_test import Checker, Daemon, PcapWriter, n64  # noqa: E402

RUSTNETD = os.environ.get("RUSTNETD", "")
FIXTURES = os.environ.get("FIXTURES", "")
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
NFDUMP_FMT = "fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%ts|%te"


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_bound(port):
    """True if something listens on UDP port (from /proc/net/udp)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    local = line.split()[1]
                    if int(local.split(":")[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


class Nfcapd:
    """nfcapd on 127.0.0.1:port writing into dir; -E prints each record, so
    the test can wait until it has seen as many as rustnetd sent."""

    def __init__(self, work, name):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.out = os.path.join(work, name + ".out")
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                ["stdbuf", "-oL", "nfcapd", "-b", "127.0.0.1", "-p", str(self.port), "-w", self.dir, "-t", "3600",
                 "-E"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.up = wait_for(lambda: udp_bound(self.port), 15)

    def records_seen(self):
        with open(self.out, errors="replace") as f:
            return f.read().count("Flow Record:")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def flows(self):
        """[(proto, (src, sport), (dst, dport), packets, bytes, first, last)]
        of the files nfcapd wrote."""
        files = sorted(glob.glob(os.path.join(self.dir, "nfcapd.2*")))
        out = []
        for path in files:
            p = subprocess.run(["nfdump", "-r", path, "-q", "-N", "-o", NFDUMP_FMT],
                               capture_output=True, text=True, timeout=60)
            for line in p.stdout.splitlines():
                f = [x.strip() for x in line.split("|")]
                if len(f) != 9 or not f[0].isdigit():
                    continue
                proto = PROTO_NAMES.get(int(f[0]), f[0])
                # ICMP's "ports" print as type.code.
                port = lambda t: int(t) if t.isdigit() else t  # noqa: E731
                out.append((proto, (tc.addr(f[1]), port(f[2])), (tc.addr(f[3]), port(f[4])),
                            int(f[5]), int(f[6]), f[7], f[8]))
        return out


def export_log_line(log_dir, url):
    """(records, dropped) from rustnetd's 'flow export to URL: ...' line."""
    text = ""
    for f in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
        with open(f, errors="replace") as fh:
            text += fh.read()
    m = re.search(re.escape("flow export to " + url) + r": (\d+) records in \d+ messages "
                  r"\(\d+ bytes\), (\d+) dropped", text)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def replay_to(work, capture, urls, extra=(), name="r"):
    """rustnetd --read capture --dump json --dump-expired exporting to urls:
    (exit code, dump rows, log dir)."""
    log_dir = os.path.join(work, name + "-logs")
    args = [RUSTNETD, "--read", capture, "--dump", "json", "--dump-expired", "--log-dir",
            log_dir]
    for u in urls:
        args += ["--ipfix", u]
    p = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=120)
    import json
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, rows, log_dir, p.stderr


def dump_totals(rows):
    packets = bytes_ = 0
    for r in rows:
        if r.get("protocol") == "PROTOCOL_ARP":
            continue
        packets += n64(r, "sent", "packets") + n64(r, "received", "packets")
        bytes_ += n64(r, "sent", "bytes") + n64(r, "received", "bytes")
    return packets, bytes_


def by_direction(flows, protos=("tcp", "udp")):
    """{(proto, src, dst): [packets, bytes, records]} summed over records."""
    out = {}
    for proto, src, dst, pkts, byts, _, _ in flows:
        if proto not in protos:
            continue
        e = out.setdefault((proto, src, dst), [0, 0, 0])
        e[0] += pkts
        e[1] += byts
        e[2] += 1
    return out


def collect(work, name, capture, extra=()):
    """Replays capture into a fresh nfcapd: (nfcapd flows, dump rows,
    records rustnetd sent, problems)."""
    n = Nfcapd(work, name)
    problems = []
    if not n.up:
        problems.append("nfcapd did not bind its port")
    url = "udp://127.0.0.1:%d" % n.port
    rc, rows, log_dir, err = replay_to(work, capture, [url], extra, name)
    if rc != 0:
        problems.append("rustnetd exited %d: %s" % (rc, err[-400:]))
    sent, dropped = export_log_line(log_dir, url)
    if sent is None:
        problems.append("no 'flow export to %s' line in the log" % url)
        sent = 0
    wait_for(lambda: n.records_seen() >= sent, 30)
    n.stop()
    return n.flows(), rows, sent, dropped, problems


# --- 1 and 2: every fixture through nfcapd, IPFIX and NetFlow v9 -------------------

def check_fixture(c, work, path):
    base = os.path.basename(path)
    flows, rows, sent, dropped, problems = collect(work, "ipfix-" + base, path)
    c.check("%s: exported to nfcapd (%d records, %s dropped)" % (base, sent, dropped),
            not problems and sent > 0 and dropped == 0, "; ".join(problems))
    c.check("%s: nfcapd stored every record rustnetd sent (%d of %d)" % (base, len(flows), sent),
            len(flows) == sent)
    # Per direction of each TCP/UDP conversation, tshark's frames and IP bytes.
    want = {}
    for key, counts in tc.tshark_frames(path).items():
        proto = key[0]
        if proto not in ("tcp", "udp"):
            continue
        a, b = key[1], key[2]
        for src, dst in ((a, b), (b, a)):
            frames, ip_bytes, _ = counts.get(src)
            if frames:
                want[(proto, src, dst)] = (frames, ip_bytes)
    got = {k: (v[0], v[1]) for k, v in by_direction(flows).items()}
    diff = ["%s %s -> %s: nfdump %s, tshark %s" % (k[0], k[1], k[2], got.get(k), want.get(k))
            for k in sorted(set(want) | set(got)) if got.get(k) != want.get(k)]
    c.check("%s: nfdump's TCP/UDP flows match tshark's per direction (%d directions)" %
            (base, len(want)), not diff, "\n".join(diff[:20]))
    total = (sum(f[3] for f in flows), sum(f[4] for f in flows))
    c.check("%s: all records add up to the dump's packets and bytes (%s == %s)" %
            (base, total, dump_totals(rows)), total == dump_totals(rows))
    if base.startswith("ipv6"):
        v6 = [f for f in flows if ":" in f[1][0]]
        c.check("%s: IPv6 flows exported and decoded (%d)" % (base, len(v6)), len(v6) > 0)

    v9_flows, _, v9_sent, v9_dropped, problems = collect(work, "v9-" + base, path,
                                                         ["--netflow-v9"])
    c.check("%s: NetFlow v9 to nfcapd (%d records)" % (base, v9_sent),
            not problems and v9_sent == sent and v9_dropped == 0, "; ".join(problems))
    key = lambda f: (f[0], f[1], f[2], f[5], f[6], f[3], f[4])  # noqa: E731
    a, b = sorted(map(key, flows)), sorted(map(key, v9_flows))
    c.check("%s: v9 gives the same flows, counts and first/last times as IPFIX" % base,
            a == b, "ipfix %s\nv9    %s" % (a[:3], b[:3]))
    return flows


# --- biflows (RFC 5103) -----------------------------------------------------------

def check_biflow(c, work, path, uni_flows):
    """--ipfix-biflow: one record per connection whose forward and reverse
    counters (nfdump's in and out) are the two per-direction records."""
    base = os.path.basename(path)
    n = Nfcapd(work, "biflow-" + base)
    url = "udp://127.0.0.1:%d" % n.port
    rc, _, log_dir, err = replay_to(work, path, [url], ["--ipfix-biflow"], "biflow-" + base)
    sent, _ = export_log_line(log_dir, url)
    wait_for(lambda: n.records_seen() >= (sent or 0), 30)
    n.stop()
    got = {}
    for f in sorted(glob.glob(os.path.join(n.dir, "nfcapd.2*"))):
        p = subprocess.run(["nfdump", "-r", f, "-q", "-N", "-o",
                            "fmt:%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt"],
                           capture_output=True, text=True, timeout=60)
        for line in p.stdout.splitlines():
            x = [v.strip() for v in line.split("|")]
            if len(x) != 9 or not x[0].isdigit() or PROTO_NAMES.get(int(x[0])) not in ("tcp", "udp"):
                continue
            proto = PROTO_NAMES[int(x[0])]
            src, dst = (tc.addr(x[1]), int(x[2])), (tc.addr(x[3]), int(x[4]))
            got[(proto, src, dst)] = (int(x[5]), int(x[6]))
            if int(x[7]):
                got[(proto, dst, src)] = (int(x[7]), int(x[8]))
    want = {k: (v[0], v[1]) for k, v in by_direction(uni_flows).items()}
    c.check("%s: biflow records (%s) carry both directions' counts as nfdump's in/out, the "
            "same as the per-direction records" % (base, sent),
            rc == 0 and sent and got == want,
            "%s\ngot  %s\nwant %s" % (err[-200:], sorted(got.items())[:4],
                                     sorted(want.items())[:4]))


# --- 3: pmacct's nfacctd ------------------------------------------------------------

def check_nfacctd(c, work, path, nfdump_flows):
    base = os.path.basename(path)
    d = os.path.join(work, "nfacctd-" + base)
    os.makedirs(d)
    port = free_port()
    csv = os.path.join(d, "out.csv")
    conf = os.path.join(d, "nfacctd.conf")
    with open(conf, "w") as f:
        f.write("daemonize: false\nnfacctd_ip: 127.0.0.1\nnfacctd_port: %d\n"
                "plugins: print\nprint_output: csv\nprint_output_file: %s\n"
                "print_output_file_append: true\nprint_refresh_time: 1\n"
                "aggregate: proto, src_host, dst_host, src_port, dst_port\n" % (port, csv))
    with open(os.path.join(d, "log"), "wb") as log:
        proc = subprocess.Popen(["stdbuf", "-oL", "nfacctd", "-f", conf], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=d)

    def plugin_running():
        # The core binds the port before its print plugin runs; records
        # that come before are lost. The plugin's first purge shows it runs.
        with open(os.path.join(d, "log"), "rb") as f:
            return b"Purging cache - END" in f.read()

    try:
        bound = wait_for(lambda: udp_bound(port), 15) and wait_for(plugin_running, 15)
        rc, rows, _, err = replay_to(work, path, ["udp://127.0.0.1:%d" % port], (),
                                     "nfacctd-r-" + base)
        want_packets = sum(f[3] for f in nfdump_flows)

        def read_csv():
            out = {}
            if not os.path.exists(csv):
                return out
            with open(csv) as f:
                for line in f:
                    p = line.strip().split(",")
                    if len(p) != 7 or not p[5].isdigit():
                        continue
                    k = (p[4].lower(), (tc.addr(p[0]), int(p[2])), (tc.addr(p[1]), int(p[3])))
                    e = out.setdefault(k, [0, 0])
                    e[0] += int(p[5])
                    e[1] += int(p[6])
            return out

        wait_for(lambda: sum(v[0] for v in read_csv().values()) >= want_packets, 30)
        got = {k: tuple(v) for k, v in read_csv().items() if k[0] in ("tcp", "udp")}
        want = {k: (v[0], v[1]) for k, v in by_direction(nfdump_flows).items()}
        c.check("%s: nfacctd (pmacct) decodes the IPFIX export: the same %d TCP/UDP "
                "directions and counts as nfdump" % (base, len(want)),
                bound and rc == 0 and got == want and want,
                "bound %s rc %s %s\nnfacctd %s\nnfdump  %s" % (bound, rc, err[-200:],
                                                             sorted(got.items())[:4],
                                                             sorted(want.items())[:4]))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- 4: active timeout --------------------------------------------------------------

CLI, SRV = "10.1.0.1", "10.2.0.2"


def make_long_capture(path):
    """One TCP flow of 2000 data packets each way over ~200 s, plus a short
    DNS-like UDP exchange."""
    w = PcapWriter(path)
    w.tcp(CLI, SRV, 40000, 443, 100, 0, api_test.SYN)
    w.tcp(SRV, CLI, 443, 40000, 500, 101, api_test.SYN | api_test.ACK)
    w.tcp(CLI, SRV, 40000, 443, 101, 501, api_test.ACK)
    seq_c, seq_s = 101, 501
    for i in range(2000):
        body = bytes([i & 0xFF]) * (10 + i % 50)
        w.tcp(CLI, SRV, 40000, 443, seq_c, seq_s, api_test.PSH | api_test.ACK, body, dt=0.05)
        seq_c += len(body)
        w.tcp(SRV, CLI, 443, 40000, seq_s, seq_c, api_test.ACK, dt=0.05)
    w.udp(CLI, SRV, 5353, 53, b"\x00" * 30)
    w.udp(SRV, CLI, 53, 5353, b"\x00" * 60)
    w.close()


def check_active_timeout(c, work):
    capture = os.path.join(work, "long.pcap")
    make_long_capture(capture)
    flows, rows, sent, _, problems = collect(work, "active", capture,
                                             ["--ipfix-active-timeout", "20s"])
    c.check("active timeout: exported (%d records)" % sent, not problems, "; ".join(problems))
    dirs = by_direction(flows)
    fwd = dirs.get(("tcp", (CLI, 40000), (SRV, 443)), [0, 0, 0])
    rev = dirs.get(("tcp", (SRV, 443), (CLI, 40000)), [0, 0, 0])
    conn = [r for r in rows if r.get("protocol") == "PROTOCOL_TCP"]
    want_fwd = (n64(conn[0], "sent", "packets"), n64(conn[0], "sent", "bytes")) if conn else None
    want_rev = (n64(conn[0], "received", "packets"),
                n64(conn[0], "received", "bytes")) if conn else None
    c.check("active timeout 20s splits the 200 s flow into >= 5 records per direction "
            "(%d and %d)" % (fwd[2], rev[2]), fwd[2] >= 5 and rev[2] >= 5)
    c.check("the deltas add up to the flow's counts (%s, %s == %s, %s)" %
            (fwd[:2], rev[:2], want_fwd, want_rev),
            (fwd[0], fwd[1]) == want_fwd and (rev[0], rev[1]) == want_rev and
            want_fwd[0] == 2002)
    starts = sorted(f[5] for f in flows if f[1] == (CLI, 40000))
    c.check("successive deltas cover successive times (%s .. %s)" % (starts[:1], starts[-1:]),
            len(set(starts)) == len(starts))
    flows0, _, _, _, _ = collect(work, "active0", capture, ["--ipfix-active-timeout", "0"])
    d0 = by_direction(flows0)
    c.check("active timeout 0: one record per direction at the end",
            d0.get(("tcp", (CLI, 40000), (SRV, 443)), [0, 0, 0])[2] == 1 and
            d0.get(("tcp", (SRV, 443), (CLI, 40000)), [0, 0, 0])[2] == 1, str(d0))


# --- 5: a collector that starts late ---------------------------------------------------

def wait_log(log_dir, text, timeout):
    def found():
        for f in glob.glob(os.path.join(log_dir, "*.log")):
            with open(f, errors="replace") as fh:
                if text in fh.read():
                    return True
        return False
    return wait_for(found, timeout)


def check_late_collector(c, work, capture, refresh, name, expect_decoded, want_flows):
    """rustnetd serving a replay, exporting to a port where nothing listens
    yet; nfcapd starts after the replay ended; rustnetd stops (the final
    table is exported)."""
    port = free_port()
    logs = os.path.join(work, name + "-logs")
    d = Daemon(work, ["--read", capture, "--socket", os.path.join(work, name + ".sock"),
                      "--log-dir", logs, "--ipfix", "udp://127.0.0.1:%d" % port,
                      "--ipfix-template-refresh", refresh], name)
    ended = wait_log(logs, "keeping the final table", 30)
    n = Nfcapd.__new__(Nfcapd)  # On the port chosen above, started now.
    n.dir = os.path.join(work, name + "-nf")
    os.makedirs(n.dir)
    n.port = port
    n.out = os.path.join(work, name + "-nf.out")
    with open(n.out, "wb") as out:
        n.proc = subprocess.Popen(["stdbuf", "-oL", "nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", n.dir,
                                   "-t", "3600", "-E"], stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
    n.up = wait_for(lambda: udp_bound(port), 15)
    # Long enough for a 1 s refresh to go out while nfcapd listens.
    time.sleep(2.5)
    rc = d.stop()
    want = {k: (v[0], v[1]) for k, v in by_direction(want_flows).items()}
    wait_for(lambda: n.records_seen() >= len(want), 10 if expect_decoded else 3)
    n.stop()
    flows = n.flows()
    got = {k: (v[0], v[1]) for k, v in by_direction(flows).items()}
    if expect_decoded:
        # The replay's connections all end in TIME_WAIT, still in the table
        # when the file ends: exported at shutdown, after nfcapd started.
        c.check("late collector, template refresh %s: nfcapd decodes the flows exported after "
                "it started (%d records; the same %d directions and counts as the replay "
                "into a running nfcapd)" % (refresh, len(flows), len(want)),
                ended and rc == 0 and n.up and want and got == want,
                "%s\n%s\n%s" % (sorted(got.items())[:3], sorted(want.items())[:3],
                                 d.stderr()[-300:]))
    else:
        c.check("late collector, template refresh %s: without templates nfcapd decodes nothing "
                "(%d records; the refresh is what makes the check above pass)" %
                (refresh, len(flows)), ended and rc == 0 and n.up and len(flows) == 0)


# --- 6: collectors down -------------------------------------------------------------

def parse_ipfix_stream(data):
    """A minimal IPFIX decoder for the TCP check: [(sequence, [records])] per
    message, and whether the first set of the stream is a template set.
    Records are {element id: bytes} (enterprise ids as (pen, id))."""
    templates = {}
    messages = []
    first_set = None
    at = 0
    while at + 16 <= len(data):
        version, length, _, seq, _ = struct.unpack("!HHIII", data[at:at + 16])
        if version != 10 or length < 16 or at + length > len(data):
            break
        msg = data[at + 16:at + length]
        at += length
        records = []
        s = 0
        while s + 4 <= len(msg):
            set_id, set_len = struct.unpack("!HH", msg[s:s + 4])
            body = msg[s + 4:s + set_len]
            s += set_len
            if first_set is None:
                first_set = set_id
            if set_id == 2:
                b = 0
                while b + 4 <= len(body):
                    tid, count = struct.unpack("!HH", body[b:b + 4])
                    b += 4
                    fields = []
                    for _ in range(count):
                        ie, ln = struct.unpack("!HH", body[b:b + 4])
                        b += 4
                        pen = 0
                        if ie & 0x8000:
                            pen = struct.unpack("!I", body[b:b + 4])[0]
                            b += 4
                        fields.append(((pen, ie & 0x7FFF) if pen else ie, ln))
                    templates[tid] = fields
            elif set_id in templates:
                b = 0
                while b < len(body):
                    rec = {}
                    for name, ln in templates[set_id]:
                        if ln == 0xFFFF:
                            ln = body[b]
                            b += 1
                            if ln == 255:
                                ln = struct.unpack("!H", body[b:b + 2])[0]
                                b += 2
                        rec[name] = body[b:b + ln]
                        b += ln
                    records.append(rec)
        messages.append((seq, records))
    return messages, first_set


def check_collectors_down(c, work):
    g = api_test.import_grpc(c)
    if g is None:
        return
    capture = os.path.join(work, "long.pcap")  # Made by check_active_timeout.
    udp_port = free_port()
    tcp_port = free_port(socket.SOCK_STREAM)
    sock = os.path.join(work, "down.sock")
    logs = os.path.join(work, "down-logs")
    d = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs,
                      "--ipfix", "udp://127.0.0.1:%d" % udp_port,
                      "--ipfix", "tcp://127.0.0.1:%d" % tcp_port,
                      "--ipfix-active-timeout", "20s"], "down")
    target = "unix:" + sock
    up = api_test.wait_serving(g, d, target)
    c.check("collectors down: rustnetd starts and serves the API", up, d.stderr())
    if not up:
        d.stop()
        return
    r = g.Reflector(target)
    st = api_test.wait_replayed(r, timeout=30)
    c.check("collectors down: the replay is captured whole (%s packets)" %
            n64(st, "pipeline", "packets"),
            st is not None and n64(st, "pipeline", "packets") == 4005)
    ipfix = (st or {}).get("ipfix", {})
    cols = {x.get("url"): x for x in ipfix.get("collectors", [])}
    udp = cols.get("udp://127.0.0.1:%d" % udp_port, {})
    tcp = cols.get("tcp://127.0.0.1:%d" % tcp_port, {})
    c.check("GetStats ipfix: format, records made (%s), UDP to a closed port drops (%s "
            "dropped)" % (ipfix.get("records"), udp.get("dropped")),
            ipfix.get("format") == "ipfix" and int(ipfix.get("records", 0)) > 0 and
            int(udp.get("dropped", 0)) > 0, str(ipfix))
    c.check("GetStats ipfix: TCP with nothing listening is not connected, nothing sent",
            tcp and not tcp.get("connected", False) and int(tcp.get("records", 0)) == 0,
            str(tcp))

    # A TCP collector appears: rustnetd reconnects (backoff) and sends.
    received = bytearray()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", tcp_port))
    listener.listen(4)
    done = threading.Event()

    def serve():
        listener.settimeout(40)
        try:
            conn, _ = listener.accept()
        except OSError:
            done.set()
            return
        conn.settimeout(40)
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            received.extend(chunk)
        conn.close()
        done.set()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    connected = wait_for(lambda: any(
        x.get("connected") for x in r.call(api_test.MONITOR + "/GetStats", {}, timeout=5)
        .get("ipfix", {}).get("collectors", [])), 30)
    c.check("a TCP collector that appears later is connected to (backoff retries)", connected)
    rc = d.stop()
    done.wait(30)
    listener.close()
    messages, first_set = parse_ipfix_stream(bytes(received))
    c.check("rustnetd stops cleanly with a collector down (rc %s)" % rc, rc == 0, d.stderr())
    c.check("the TCP stream starts with the template set (%s)" % first_set, first_set == 2)
    packets = {}
    expected_seq = None
    seq_ok = True
    for seq, recs in messages:
        if expected_seq is not None and recs and seq != expected_seq:
            seq_ok = False
        if recs or expected_seq is None:
            expected_seq = seq + len(recs)
        for rec in recs:
            src = socket.inet_ntoa(rec[8])
            packets[src] = packets.get(src, 0) + struct.unpack("!Q", rec[2])[0]
    tcp_rows = [x for x in dump_json_rows(work, capture) if x.get("protocol") != "PROTOCOL_ARP"]
    want = {}
    for row in tcp_rows:
        want[row["local"]["address"]] = want.get(row["local"]["address"], 0) + n64(
            row, "sent", "packets")
        want[row["remote"]["address"]] = want.get(row["remote"]["address"], 0) + n64(
            row, "received", "packets")
    # Queued while down (the active-timeout deltas) plus the final records:
    # nothing lost as long as the queue held them.
    c.check("over TCP every packet is accounted for once (%s == %s)" % (packets, want),
            packets == want)
    c.check("IPFIX sequence numbers count the data records before each message", seq_ok)
    c.check("the enterprise elements (PEN 32473) are in the records",
            any((32473, 1) in rec for _, recs in messages for rec in recs))


def dump_json_rows(work, capture):
    _, rows, _ = api_test.dump_json(capture, work)
    return rows


def main():
    c = Checker()
    for tool in ("nfcapd", "nfdump", "nfacctd", "tshark"):
        c.check("%s is installed (Debian: nfdump, pmacct, tshark)" % tool,
                shutil.which(tool) is not None)
    if not RUSTNETD or not FIXTURES:
        c.check("RUSTNETD and FIXTURES are set", False)
        return c.finish()
    work = tempfile.mkdtemp(prefix="rn_ipfix_")
    try:
        captures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                          glob.glob(os.path.join(FIXTURES, "*.pcapng")))
        c.check("fixtures found (%d)" % len(captures), len(captures) >= 5)
        nfdump_flows = {}
        for path in captures:
            nfdump_flows[os.path.basename(path)] = check_fixture(c, work, path)
        for base in ("http.pcap", "ipv6.pcap", "dns.pcap"):
            check_biflow(c, work, os.path.join(FIXTURES, base), nfdump_flows.get(base, []))
        for base in ("http.pcap", "ipv6.pcap"):
            check_nfacctd(c, work, os.path.join(FIXTURES, base), nfdump_flows.get(base, []))
        check_active_timeout(c, work)
        http = os.path.join(FIXTURES, "http.pcap")
        check_late_collector(c, work, http, "1s", "late", True, nfdump_flows["http.pcap"])
        check_late_collector(c, work, http, "1h", "late-none", False, nfdump_flows["http.pcap"])
        check_collectors_down(c, work)
    finally:
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
