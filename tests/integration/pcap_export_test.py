"""The pcap export (--pcap-export), checked with tshark.

Replay: every fixture in $FIXTURES is replayed with --read FIXTURE --dump json
--dump-expired --pcap-export OUT. tshark reads OUT; it holds as many packets
as tshark counts in the fixture; every packet comment names a connection id
of the dump, the packets commented with an id are exactly that connection's
packets (their number is the dump's sent + received packets) and carry its
addresses (and ports); OUT is mode 0600. Rotation: a small
--pcap-export-size gives several files, each readable by tshark, whose
packet counts add up to the fixture's, at most --pcap-export-count of them;
with a count of 2 only the newest two stay. A path that cannot be written
is one sentence and a non-zero exit.

Live: rustnetd -i lo in a network namespace of the test's own, with
--pcap-export, while curl fetches (slowly, so it lives long enough to be
looked up) from python3's http.server: the comments of curl's packets name
curl and its pid, and the server's name python3; GetStats reports the
export; the file holds the packets after SIGTERM.

Needs root (network namespaces) and tshark. Environment (set by CTest):
RUSTNETD, FIXTURES.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, dump_json, ...)

RUSTNETD = api_test.RUSTNETD
FIXTURES = api_test.FIXTURES
MONITOR = api_test.MONITOR
NS = "rnpcapx-%d" % os.getpid()
HTTP_PORT = 8000
N_CURL = 3

# python3's http.server, answering slowly (20 chunks 0.1 s apart), so that
# curl lives about 2 s with packets flowing all along: long enough to be
# looked up while its packets are captured.
SLOW_SERVER = r"""
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(20 * 1024))
        self.end_headers()
        for _ in range(20):
            self.wfile.write(b"x" * 1024)
            self.wfile.flush()
            time.sleep(0.1)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
"""

FIELDS = ["frame.comment", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "arp.src.proto_ipv4",
          "arp.dst.proto_ipv4", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]


def tshark_count(path):
    p = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return None, p.stderr
    return len([x for x in p.stdout.splitlines() if x.strip()]), p.stderr


def tshark_packets(path):
    """One dict per packet: comment, addresses (a set), ports (a set)."""
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = []
    for line in p.stdout.splitlines():
        v = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        out.append({"comment": v[0],
                    "addresses": {x for x in v[1:7] if x},
                    "ports": {int(x) for x in v[7:11] if x}})
    return out


def connection_id(comment):
    prefix = "rustnet: connection "
    if not comment.startswith(prefix):
        return None
    return comment[len(prefix):].split(";")[0]


def replay_checks(c, work):
    fixtures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                      glob.glob(os.path.join(FIXTURES, "*.pcapng")))
    c.check("fixtures found in %s" % FIXTURES, len(fixtures) >= 5, fixtures)
    for fixture in fixtures:
        name = os.path.basename(fixture)
        out = os.path.join(work, name + ".export.pcapng")
        rc, rows, err = api_test.dump_json(fixture, work,
                                           ["--dump-expired", "--pcap-export", out])
        if not c.check("%s: replay with --pcap-export exits 0" % name, rc == 0, err):
            continue
        want, _ = tshark_count(fixture)
        got, terr = tshark_count(out)
        c.check("%s: tshark reads the export: %s packets, the fixture has %s" % (name, got, want),
                got is not None and got == want and want > 0, terr)
        c.check("%s: the export is mode 0600" % name,
                (os.stat(out).st_mode & 0o777) == 0o600, oct(os.stat(out).st_mode))
        by_id = {r["id"]: r for r in rows}
        packets = tshark_packets(out)
        per_id = {}
        unknown = []
        for p in packets:
            if not p["comment"]:
                continue
            cid = connection_id(p["comment"])
            if cid not in by_id:
                unknown.append(p["comment"])
                continue
            per_id.setdefault(cid, []).append(p)
        c.check("%s: every comment names a connection of the dump (%d commented packets)"
                % (name, sum(len(v) for v in per_id.values())),
                not unknown and per_id, unknown[:5])
        bad_counts, bad_tuples = [], []
        for cid, ps in per_id.items():
            r = by_id[cid]
            n = api_test.n64(r, "sent", "packets") + api_test.n64(r, "received", "packets")
            if n != len(ps):
                bad_counts.append((cid, n, len(ps)))
            addresses = {r.get("local", {}).get("address"), r.get("remote", {}).get("address")}
            ports = {x for x in (r.get("local", {}).get("port"), r.get("remote", {}).get("port"))
                     if x}
            for p in ps:
                if not p["addresses"] & addresses or (ports and p["ports"] and
                                                      not p["ports"] <= ports):
                    bad_tuples.append((cid, sorted(addresses), sorted(ports),
                                       sorted(p["addresses"]), sorted(p["ports"])))
        c.check("%s: each connection's commented packets are as many as the dump counts"
                % name, not bad_counts, bad_counts[:5])
        c.check("%s: and carry its addresses and ports" % name, not bad_tuples, bad_tuples[:5])
        # Every connection of the dump has its packets commented.
        missing = [cid for cid in by_id if cid not in per_id]
        c.check("%s: every connection of the dump has commented packets" % name, not missing,
                missing[:5])


def rotation_checks(c, work):
    fixture = os.path.join(FIXTURES, "http.pcap")
    want, _ = tshark_count(fixture)
    size = os.path.getsize(fixture)
    for count in (50, 2):
        d = os.path.join(work, "rot%d" % count)
        os.mkdir(d)
        out = os.path.join(d, "cap.pcapng")
        rc, _, err = api_test.dump_json(fixture, work, [
            "--pcap-export", out, "--pcap-export-size", "4K", "--pcap-export-count", str(count)])
        c.check("rotation (count %d): replay exits 0" % count, rc == 0, err)
        files = sorted(os.listdir(d))
        counts = {}
        for f in files:
            n, terr = tshark_count(os.path.join(d, f))
            counts[f] = n
        sizes = {f: os.path.getsize(os.path.join(d, f)) for f in files}
        expected_names = ["cap.pcapng"] + ["cap.pcapng.%d" % i for i in range(1, len(files))]
        c.check("rotation (count %d): files named cap.pcapng, .1, .2, ...: %s"
                % (count, files), sorted(files) == sorted(expected_names), files)
        c.check("rotation (count %d): each file read by tshark, at most 4 KiB: %s"
                % (count, counts), all(n is not None and n > 0 for n in counts.values())
                and all(s <= 4096 for s in sizes.values()), sizes)
        if count == 50:
            c.check("rotation: a %d-byte capture gives several files (%d), at most 50"
                    % (size, len(files)), 1 < len(files) <= 50)
            c.check("rotation: their packets add up to the fixture's %d" % want,
                    sum(n or 0 for n in counts.values()) == want, counts)
        else:
            c.check("rotation (count 2): two files kept, the oldest deleted", len(files) == 2,
                    files)
            c.check("rotation (count 2): fewer packets than the fixture's %d are left" % want,
                    sum(n or 0 for n in counts.values()) < want, counts)

    rc, _, err = api_test.dump_json(fixture, work,
                                    ["--pcap-export", "/nonexistent-dir/x.pcapng"])
    lines = [x for x in err.strip().splitlines() if x.strip()]
    c.check("an unwritable export path: non-zero exit, one sentence naming it",
            rc != 0 and len(lines) == 1 and "/nonexistent-dir/x.pcapng" in lines[0], err)
    rc, _, err = api_test.dump_json(fixture, work, ["--pcap-export", os.path.join(work, "y"),
                                                    "--pcap-export-size", "12Q"])
    c.check("a bad --pcap-export-size: one sentence", rc != 0 and "--pcap-export-size" in err,
            err)


def ns(*cmd):
    return ["ip", "netns", "exec", NS] + list(cmd)


def live_checks(c, work):
    grpc_reflect = api_test.import_grpc(c)
    if grpc_reflect is None:
        return
    procs = []
    daemon = None
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True)
        subprocess.run(ns("ip", "link", "set", "lo", "up"), check=True)
        out = os.path.join(work, "live.pcapng")
        sock = os.path.join(work, "live.sock")
        daemon = api_test.Daemon(work, ["-i", "lo", "--socket", sock, "--pcap-export", out],
                                 "live", netns=NS)
        target = "unix:" + sock
        c.check("live: rustnetd -i lo --pcap-export answers",
                api_test.wait_serving(grpc_reflect, daemon, target), daemon.stderr())
        http = subprocess.Popen(ns("/usr/bin/python3", "-c", SLOW_SERVER, str(HTTP_PORT)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(http)
        deadline = time.time() + 15
        while time.time() < deadline:
            if subprocess.run(ns("curl", "-s", "-o", "/dev/null", "--max-time", "2",
                                 "http://127.0.0.1:%d/" % HTTP_PORT)).returncode == 0:
                break
            time.sleep(0.2)
        curls = {}
        for _ in range(N_CURL):
            p = subprocess.Popen(ns("curl", "-s", "-o", "/dev/null", "-w", "%{local_port}",
                                    "http://127.0.0.1:%d/slow" % HTTP_PORT),
                                 stdout=subprocess.PIPE, text=True)
            port = int(p.communicate(timeout=30)[0].strip() or 0)
            curls[port] = p.pid  # `ip netns exec` execs curl: its pid.
        time.sleep(1.5)
        with grpc_reflect.Reflector(target) as r:
            stats = r.call(MONITOR + "/GetStats", {}, timeout=5).get("pcapExport", {})
        c.check("live: GetStats reports the export (path, packets written, nothing dropped)",
                stats.get("path") == out and int(stats.get("written", 0)) > 0
                and int(stats.get("dropped", 0)) == 0 and stats.get("healthy"), stats)
        rc = daemon.stop()
        daemon = None
        c.check("live: rustnetd stops on SIGTERM", rc == 0, rc)
        cmd = ["tshark", "-r", out, "-T", "fields", "-E", "separator=\t", "-e", "tcp.srcport",
               "-e", "tcp.dstport", "-e", "frame.comment", "-Y", "tcp.port == %d" % HTTP_PORT]
        lines = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
        per_port = {}
        for line in lines.splitlines():
            v = (line.split("\t") + ["", "", ""])[:3]
            if not v[0] or not v[1]:
                continue
            client = int(v[0]) if int(v[1]) == HTTP_PORT else int(v[1])
            per_port.setdefault(client, []).append(v[2])
        for port, pid in curls.items():
            comments = per_port.get(port, [])
            named = [x for x in comments if "curl (pid %d)" % pid in x]
            ids = {connection_id(x) for x in comments}
            c.check("live: curl (pid %d, port %d): %d packets, one connection id, %d comments "
                    "name curl and its pid" % (pid, port, len(comments), len(named)),
                    len(comments) > 10 and len(ids) == 1 and None not in ids
                    and len(named) >= len(comments) // 2, comments[:3] + comments[-3:])
            c.check("live: ... and the server, python3", any("python3" in x for x in named),
                    named[-3:])
    finally:
        if daemon is not None:
            daemon.stop()
        api_test.stop_and_delete(procs, [NS])


def main():
    c = api_test.Checker()
    if not RUSTNETD or not FIXTURES:
        c.check("RUSTNETD and FIXTURES are set", False)
        return c.finish()
    if not shutil.which("tshark"):
        c.check("tshark is installed", False)
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnpcapx.")
    try:
        replay_checks(c, work)
        rotation_checks(c, work)
        if os.geteuid() != 0:
            c.check("running as root (network namespaces) for the live part", False)
        elif not shutil.which("curl"):
            c.check("curl is installed", False)
        else:
            live_checks(c, work)
    finally:
        api_test.kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
