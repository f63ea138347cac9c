"""The gRPC API (rustnet.v1.Monitor) end to end, through server reflection
only: tests/integration/grpc_reflect.py knows none of rustnet's .proto files,
as grpcurl would not.

Replay part: a capture made here (Ethernet/IPv4: TCP sessions closed by FIN
and by RST and left open, DNS over UDP, one-way UDP, ICMP echo; addresses in
10/8, 172.16/12 and 192.168/16) is served by `rustnetd --read FILE --socket`,
and every answer is checked against `rustnetd --read FILE --dump json` of the
same file: ListConnections (totals, ids, endpoints, counters, default order),
filters (each subset recomputed here from the dump), sorting, paging, filter
syntax errors (INVALID_ARGUMENT naming the column), WatchConnections,
GetStats, ListInterfaces, Health, reflection itself; then the socket's life:
mode 0660 in a created 0755 directory, a second daemon on a live socket, a
stale socket after SIGKILL, SIGTERM removing it, a regular file in the way.
Each fixture capture in $FIXTURES is also served and compared with its dump.

Live part: rustnetd captures on a veth end inside a network namespace of the
test's own; a WatchEvents stream must report the OPENED and the CLOSED (FIN)
event of a real HTTP connection (python3 -m http.server, curl) between the
two namespaces. Needs root; nothing leaves the namespaces.

The helpers (Checker, the capture writer, Daemon, wait_*) are shared with
api_tls_test.py and api_abuse_test.py.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
Run with /usr/bin/python3 (python3-grpcio, python3-protobuf).
"""
import glob
import ipaddress
import json
import os
import re
import signal
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The clients' gRPC core logs refused handshakes and cancelled calls on
# stderr, between the check lines; quiet it here (before grpc is imported),
# but not in the daemons: what rustnetd prints is checked.
_DAEMON_ENV = dict(os.environ)
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

RUSTNETD = os.environ.get("RUSTNETD", "")
FIXTURES = os.environ.get("FIXTURES", "")
MONITOR = "rustnet.v1.Monitor"
HEALTH_CHECK = "grpc.health.v1.Health/Check"


# --- Results ------------------------------------------------------------------

class Checker:
    """One line per check; finish() prints the totals and gives the exit code."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok:   " + name, flush=True)
        else:
            self.failed += 1
            print("FAIL: " + name, flush=True)
            if detail:
                for line in str(detail).splitlines()[:40]:
                    print("        " + line, flush=True)
        return bool(ok)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


def import_grpc(c):
    """grpc_reflect, or a FAIL naming what is missing (never a silent skip)."""
    try:
        import grpc_reflect  # noqa: F401
        return grpc_reflect
    except ImportError as e:
        c.check("python3-grpcio and python3-protobuf importable by %s (%s)" % (sys.executable, e),
                False)
        return None


# --- A capture made here ------------------------------------------------------

def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


class PcapWriter:
    """Classic pcap, Ethernet link type, microsecond timestamps."""

    def __init__(self, path, start=1_700_000_000.0):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = start
        self.records = 0
        self._ip_id = 1

    def close(self):
        self.f.close()

    def frame(self, payload, src_mac, dst_mac, ethertype=0x0800, dt=0.001):
        self.t += dt
        frame = dst_mac + src_mac + struct.pack("!H", ethertype) + payload
        sec = int(self.t)
        usec = int(round((self.t - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
        self.records += 1

    def ipv4(self, src, dst, proto, l4, src_mac, dst_mac, dt=0.001):
        self._ip_id = (self._ip_id + 1) & 0xFFFF  # Wraps, as on the wire.
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self._ip_id, 0x4000, 64,
                             proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        self.frame(header + l4, src_mac, dst_mac, dt=dt)

    def _l4_checksum(self, src, dst, proto, segment):
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
            "!BBH", 0, proto, len(segment))
        return _checksum(pseudo + segment)

    def tcp(self, src, dst, sport, dport, seq, ack, flags, payload=b"", macs=None, dt=0.001):
        seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        seg += payload
        csum = self._l4_checksum(src, dst, 6, seg)
        seg = seg[:16] + struct.pack("!H", csum) + seg[18:]
        self.ipv4(src, dst, 6, seg, *(macs or (MAC_A, MAC_B)), dt=dt)

    def udp(self, src, dst, sport, dport, payload, macs=None, dt=0.001):
        seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        csum = self._l4_checksum(src, dst, 17, seg) or 0xFFFF
        seg = seg[:6] + struct.pack("!H", csum) + seg[8:]
        self.ipv4(src, dst, 17, seg, *(macs or (MAC_A, MAC_B)), dt=dt)

    def icmp_echo(self, src, dst, ident, seq, reply, macs=None, dt=0.001):
        payload = b"rustnet-api-test"
        head = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq)
        msg = struct.pack("!BBHHH", 0 if reply else 8, 0, _checksum(head + payload), ident,
                          seq) + payload
        self.ipv4(src, dst, 1, msg, *(macs or (MAC_A, MAC_B)), dt=dt)


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_session(w, cli, srv, c2s, s2c, end="fin"):
    """A client/server TCP session: handshake, a request of c2s bytes, a
    response of s2c bytes, then end = "fin" (client closes, server follows),
    "rst" (server resets) or "open" (left established)."""
    (ca, cp), (sa, sp) = cli, srv
    fwd = lambda *a, **k: w.tcp(ca, sa, cp, sp, *a, macs=(MAC_A, MAC_B), **k)  # noqa: E731
    rev = lambda *a, **k: w.tcp(sa, ca, sp, cp, *a, macs=(MAC_B, MAC_A), **k)  # noqa: E731
    cs, ss = 1000, 5000
    fwd(cs, 0, SYN)
    rev(ss, cs + 1, SYN | ACK)
    fwd(cs + 1, ss + 1, ACK)
    cs, ss = cs + 1, ss + 1
    for i in range(0, c2s, 1000):
        chunk = b"q" * min(1000, c2s - i)
        fwd(cs, ss, PSH | ACK, chunk)
        cs += len(chunk)
        rev(ss, cs, ACK)
    for i in range(0, s2c, 1400):
        chunk = b"r" * min(1400, s2c - i)
        rev(ss, cs, PSH | ACK, chunk)
        ss += len(chunk)
        fwd(cs, ss, ACK)
    if end == "fin":
        fwd(cs, ss, FIN | ACK)
        rev(ss, cs + 1, FIN | ACK)
        fwd(cs + 1, ss + 1, ACK)
    elif end == "rst":
        rev(ss, cs, RST | ACK)


def dns_message(ident, name, answer=None):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack("!HH", 1, 1)
    if answer is None:
        return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(answer)
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + rr


def make_capture(path, extra_udp_flows=0):
    """Writes the test capture; returns the number of records. The table it
    gives (9 + extra_udp_flows connections): see the comments."""
    w = PcapWriter(path)
    # TCP: closed by FIN, left open, closed by FIN, reset.
    tcp_session(w, ("10.0.0.1", 40000), ("10.0.0.2", 80), 120, 1200, "fin")
    tcp_session(w, ("10.0.0.1", 40001), ("192.168.1.10", 443), 300, 3000, "open")
    tcp_session(w, ("192.168.1.20", 50000), ("172.16.0.5", 22), 40, 60, "fin")
    tcp_session(w, ("10.1.2.3", 40002), ("10.0.0.2", 8080), 500, 0, "rst")
    # DNS over UDP: three query/answer pairs, one from 172.16/12 to 10/8.
    for i, (cli, srv, name) in enumerate([
            (("10.0.0.1", 33333), ("10.0.0.53", 53), "example.test"),
            (("192.168.1.20", 44444), ("8.8.8.8", 53), "rustnet.example"),
            (("172.16.0.5", 53000), ("10.0.0.53", 53), "a.much.longer.name.example")]):
        w.udp(cli[0], srv[0], cli[1], srv[1], dns_message(0x100 + i, name),
              macs=(MAC_A, MAC_B))
        w.udp(srv[0], cli[0], srv[1], cli[1], dns_message(0x100 + i, name, "192.0.2.%d" % (i + 1)),
              macs=(MAC_B, MAC_A))
    # One-way UDP between two private hosts, not port 53.
    for i in range(3):
        w.udp("192.168.1.20", "192.168.1.30", 6000, 7000, b"u" * (50 + i), macs=(MAC_A, MAC_B))
    # ICMP echo, two rounds.
    for seq in (1, 2):
        w.icmp_echo("10.0.0.1", "10.0.0.9", 0x1234, seq, False, macs=(MAC_A, MAC_B))
        w.icmp_echo("10.0.0.9", "10.0.0.1", 0x1234, seq, True, macs=(MAC_B, MAC_A))
    # Optionally many small UDP flows (for tests that want a bigger table).
    for i in range(extra_udp_flows):
        src = "10.%d.%d.%d" % (100 + (i >> 16) % 100, (i >> 8) & 255, i & 255 or 1)
        w.udp(src, "192.168.200.1", 10000 + i % 50000, 9999, b"x" * (i % 64), dt=0.0001)
    w.close()
    return w.records


# --- Network namespaces ------------------------------------------------------------

def namespace_steps(*namespaces):
    """ip(8) commands making each namespace, IPv6 off (no router or DAD
    chatter in a test's capture), its loopback up."""
    steps = []
    for ns in namespaces:
        steps += [["ip", "netns", "add", ns],
                  ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                  ["ip", "netns", "exec", ns, "sysctl", "-qw",
                   "net.ipv6.conf.default.disable_ipv6=1"],
                  ["ip", "-n", ns, "link", "set", "lo", "up"]]
    return steps


def veth_steps(ns_a, if_a, ip_a, ns_b, if_b, ip_b):
    """ip(8) commands for a veth pair if_a (in ns_a) - if_b (in ns_b),
    addressed ip_a/24 and ip_b/24, both ends up."""
    return [["ip", "link", "add", "name", if_a, "netns", ns_a, "type", "veth", "peer", "name",
             if_b, "netns", ns_b],
            ["ip", "-n", ns_a, "addr", "add", ip_a + "/24", "dev", if_a],
            ["ip", "-n", ns_b, "addr", "add", ip_b + "/24", "dev", if_b],
            ["ip", "-n", ns_a, "link", "set", if_a, "up"],
            ["ip", "-n", ns_b, "link", "set", if_b, "up"]]


def run_steps(c, what, steps):
    """Runs each command in turn; at the first that fails, a failed check
    "what: command" with its stderr, and False."""
    for step in steps:
        p = subprocess.run(step, capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            c.check("%s: %s" % (what, " ".join(step)), False, p.stderr)
            return False
    return True


# --- The daemon -----------------------------------------------------------------

_children = []
_daemons = []
_SANITIZER_MARKS = ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                    "ERROR: LeakSanitizer", "runtime error: ")


def kill_children():
    """SIGKILLs every Daemon still running (a test that stopped half-way),
    and prints any sanitizer report a daemon wrote (before the test removes
    its work directory)."""
    for proc in _children:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for d in _daemons:
        d.print_sanitizer_report()


class Daemon:
    """rustnetd as a child process, stdout/stderr in files under workdir."""

    def __init__(self, workdir, args, name="rustnetd", netns=None, env_extra=None):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        cmd = [RUSTNETD] + list(args)
        if netns:
            # `ip netns exec` execs the command: the pid is rustnetd's.
            cmd = ["ip", "netns", "exec", netns] + cmd
        env = dict(_DAEMON_ENV, **(env_extra or {}))
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env)
        _children.append(self.proc)
        _daemons.append(self)
        self.pid = self.proc.pid
        self._report_printed = False

    def wait(self, timeout):
        """Exit code, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Sends sig and waits; on a hang, SIGKILL and "hung"."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            rc = "hung"
        self.print_sanitizer_report()
        return rc

    def running(self):
        return self.proc.poll() is None

    def print_sanitizer_report(self):
        """Prints the daemon's sanitizer report in full, once, if it wrote
        one: checks show only the tail of stderr, and a report's first
        stack (the one that says whose memory it is) comes first."""
        # (getattr: a test may make a Daemon-like object of its own.)
        if getattr(self, "_report_printed", False):
            return
        try:
            text = self.stderr()
        except (OSError, AttributeError):
            return
        starts = [text.find(m) for m in _SANITIZER_MARKS if m in text]
        if not starts:
            return
        self._report_printed = True
        start = text.rfind("\n", 0, min(starts)) + 1
        print("sanitizer report from %s (pid %d):\n%s" % (self.name, self.pid, text[start:]),
              flush=True)

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def rss_kb(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def health_ok(grpc_reflect, target, timeout=1.0, credentials=None):
    try:
        with grpc_reflect.Reflector(target, credentials=credentials) as r:
            return r.call(HEALTH_CHECK, {}, timeout=timeout).get("status") == "SERVING"
    except Exception:  # noqa: BLE001 - not up yet, whatever the reason
        return False


def stop_and_delete(procs, namespaces):
    """Ends a live test: terminates procs (SIGKILL after 5 s), kills what
    is left in each network namespace, and deletes the namespaces."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for ns in namespaces:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                              text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def sanitized_build():
    """True if rustnetd was built with ASan or TSan: its memory figures (redzones,
    quarantine, shadow) say nothing about ours, so absolute RSS bounds are for
    the release run only."""
    return any(subprocess.run(["grep", "-q", symbol, RUSTNETD], capture_output=True).returncode
               == 0 for symbol in ("__asan_init", "__tsan_init"))


def wait_serving(grpc_reflect, daemon, target, timeout=15, credentials=None):
    """True once Health/Check answers SERVING on target (False if the daemon
    exits or time runs out). A fresh channel per try: a channel that failed
    to connect backs off for up to seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon is not None and not daemon.running():
            return False
        if health_ok(grpc_reflect, target, credentials=credentials):
            return True
        time.sleep(0.1)
    return False


def wait_replayed(r, timeout=15):
    """Waits until a --read daemon has finished its file and its snapshot
    holds the final table: the capture is finished and ListConnections'
    total equals GetStats' current three times in a row. Returns the last
    GetStats, or None on timeout."""
    deadline = time.monotonic() + timeout
    stable = 0
    while time.monotonic() < deadline:
        try:
            stats = r.call(MONITOR + "/GetStats", {}, timeout=5)
            caps = stats.get("captures", [{}])
            listing = r.call(MONITOR + "/ListConnections", {"limit": 1}, timeout=5)
            done = caps and caps[0].get("finished") and int(listing.get("total", 0)) == int(
                stats.get("connections", {}).get("current", 0))
        except Exception:  # noqa: BLE001
            done = False
            stats = None
        stable = stable + 1 if done else 0
        if stable >= 3:
            return stats
        time.sleep(0.1)
    return None


def serve_replay(c, g, work, name, capture, extra_args=(), netns=None):
    """rustnetd replaying `capture` and serving it on a socket in `work`
    (logs in work/NAME-logs). Checks that it comes up and finishes the file;
    returns (daemon, reflector, last GetStats), the reflector None when the
    daemon did not come up (it is stopped then)."""
    sock = os.path.join(work, name + ".sock")
    d = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir",
                      os.path.join(work, name + "-logs")] + list(extra_args), name, netns=netns)
    up = wait_serving(g, d, "unix:" + sock)
    c.check("%s: rustnetd --read %s is serving" % (name, " ".join(extra_args) or "(defaults)"),
            up, "rc %s, stderr: %s" % (d.proc.poll(), d.stderr()))
    if not up:
        d.stop()
        return d, None, None
    r = g.Reflector("unix:" + sock)
    stats = wait_replayed(r)
    c.check("%s: the file is replayed" % name, stats is not None)
    return d, r, stats


def dump_json(path, workdir, extra_args=()):
    """(exit code, [connection dicts], stderr) of rustnetd --read path --dump json
    [extra_args]."""
    p = subprocess.run([RUSTNETD, "--read", path, "--dump", "json", "--log-dir",
                        os.path.join(workdir, "dump-logs")] + list(extra_args),
                       capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, rows, p.stderr


def n64(d, *path):
    """A (possibly absent) uint64 field, JSON strings as ints."""
    for p in path:
        d = (d or {}).get(p)
    return int(d or 0)


def bytes_total(row):
    return n64(row, "sent", "bytes") + n64(row, "received", "bytes")


def projection(row):
    """What the API and the dump must agree on for one connection."""
    return (row.get("id"), row.get("protocol"), row.get("local", {}).get("address"),
            row.get("local", {}).get("port", 0), row.get("remote", {}).get("address"),
            row.get("remote", {}).get("port", 0), n64(row, "sent", "packets"),
            n64(row, "sent", "bytes"), n64(row, "received", "packets"),
            n64(row, "received", "bytes"), row.get("state"), row.get("direction"))


def grpc_error(fn):
    """(code name, details) of the RpcError fn() raises, or (None, result)."""
    import grpc
    try:
        return None, fn()
    except grpc.RpcError as e:
        return e.code().name, e.details() or ""


def pcap_records(path):
    """Records in a classic pcap file (None for other formats)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return None
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n


# --- The replay checks ----------------------------------------------------------

def replay_checks(c, g, work):
    capture = os.path.join(work, "api.pcap")
    records = make_capture(capture)
    rc, dump, err = dump_json(capture, work)
    c.check("--dump json of the test capture exits 0 with %d connections" % len(dump),
            rc == 0 and len(dump) == 9, "rc %d, stderr %s" % (rc, err))

    sock_dir = os.path.join(work, "run", "sub")
    sock = os.path.join(sock_dir, "s.sock")
    target = "unix:" + sock
    logs = os.path.join(work, "logs")
    old_umask = os.umask(0)  # The socket's and directory's modes must not depend on it.
    try:
        d = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs], "main")
    finally:
        os.umask(old_umask)
    up = wait_serving(g, d, target)
    c.check("rustnetd --read --socket answers Health/Check with SERVING", up,
            "rc %s, stderr: %s" % (d.proc.poll(), d.stderr()))
    if not up:
        d.stop()
        return
    r = g.Reflector(target)

    # The socket and its directory.
    st = os.lstat(sock)
    c.check("the socket is a socket with mode 0660 (got %o)" % stat.S_IMODE(st.st_mode),
            stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660)
    dst = os.stat(sock_dir)
    c.check("its missing directory was created with mode 0755 (got %o)" % stat.S_IMODE(
        dst.st_mode), stat.S_IMODE(dst.st_mode) == 0o755)
    try:
        import grp
        want_gid = grp.getgrnam("rustnet").gr_gid
        group_note = "group rustnet"
    except KeyError:
        want_gid = os.getgid()
        group_note = "no group rustnet: the daemon's group"
    c.check("the socket's group is right (%s, gid %d; got %d)" % (group_note, want_gid,
                                                                  st.st_gid),
            st.st_gid == want_gid)

    # Reflection.
    try:
        services = r.list_services()
    except Exception as e:  # noqa: BLE001
        services = []
        c.check("reflection lists the services", False, repr(e))
    for s in (MONITOR, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
        c.check("reflection lists %s" % s, s in services, "got %s" % services)
    try:
        text = r.describe(MONITOR)
    except Exception as e:  # noqa: BLE001
        text = repr(e)
    rpcs = re.findall(r"rpc (\w+) \( (stream )?\.?([\w.]+) \) returns \( (stream )?\.?([\w.]+) \)",
                      text)
    want = {
        "ListConnections": (False, "rustnet.v1.ListConnectionsRequest", False,
                            "rustnet.v1.ListConnectionsResponse"),
        "WatchConnections": (False, "rustnet.v1.WatchConnectionsRequest", True,
                             "rustnet.v1.ConnectionsUpdate"),
        "WatchEvents": (False, "rustnet.v1.WatchEventsRequest", True,
                        "rustnet.v1.ConnectionEvent"),
        "GetStats": (False, "rustnet.v1.GetStatsRequest", False, "rustnet.v1.Stats"),
        "ListInterfaces": (False, "rustnet.v1.ListInterfacesRequest", False,
                           "rustnet.v1.ListInterfacesResponse"),
        "QueryHistory": (False, "rustnet.v1.QueryHistoryRequest", False,
                         "rustnet.v1.QueryHistoryResponse"),
        "GroupConnections": (False, "rustnet.v1.GroupConnectionsRequest", False,
                             "rustnet.v1.GroupConnectionsResponse"),
        "GetTimeline": (False, "rustnet.v1.GetTimelineRequest", False,
                        "rustnet.v1.GetTimelineResponse"),
    }
    got = {m: (bool(cs), i, bool(ss), o) for m, cs, i, ss, o in rpcs}
    c.check("describe %s shows its %d methods with their types and streaming" %
            (MONITOR, len(want)),
            got == want, text)
    msg_text = ""
    try:
        msg_text = r.describe("rustnet.v1.Connection")
    except Exception as e:  # noqa: BLE001
        msg_text = repr(e)
    c.check("describe rustnet.v1.Connection resolves its imports (Timestamp)",
            ".google.protobuf.Timestamp first_seen = 8;" in msg_text, msg_text)
    code, health = grpc_error(lambda: r.call(HEALTH_CHECK, {"service": ""}, timeout=5))
    c.check("Health/Check (overall) returns SERVING", code is None and
            health.get("status") == "SERVING", "%s %s" % (code, health))

    stats = wait_replayed(r)
    c.check("the replay finishes and the snapshot holds the final table", stats is not None)
    if stats is None:
        d.stop()
        return

    # ListConnections vs the dump.
    code, listing = grpc_error(lambda: r.call(MONITOR + "/ListConnections", {}, timeout=10))
    rows = listing.get("connections", []) if code is None else []
    c.check("ListConnections with no filter answers", code is None, "%s %s" % (code, listing))
    c.check("ListConnections total == matched == dump lines (%s/%s/%d)" % (
        listing.get("total") if code is None else "-", listing.get("matched") if code is None
        else "-", len(dump)), code is None and n64(listing, "total") == len(dump) and
            n64(listing, "matched") == len(dump) and len(rows) == len(dump))
    c.check("ListConnections rows == dump rows (ids, endpoints, counters, state, in order)",
            [projection(x) for x in rows] == [projection(x) for x in dump],
            "api:  %s\ndump: %s" % ([projection(x) for x in rows],
                                    [projection(x) for x in dump]))
    c.check("ListConnections ids are unique", len({x.get("id") for x in rows}) == len(rows))
    c.check("snapshotTime is the capture's last packet time (%s)" % (
        listing.get("snapshotTime") if code is None else "-"),
            code is None and max(x.get("lastSeen", "") for x in dump) ==
            listing.get("snapshotTime"))

    def ips(x):
        return [x.get("local", {}).get("address"), x.get("remote", {}).get("address")]

    def in_net(addr, net):
        try:
            return ipaddress.ip_address(addr) in ipaddress.ip_network(net)
        except ValueError:
            return False

    def ports(x):
        if x.get("protocol") not in ("PROTOCOL_TCP", "PROTOCOL_UDP"):
            return []
        return [x.get("local", {}).get("port", 0), x.get("remote", {}).get("port", 0)]

    filters = {
        "proto:udp": lambda x: x.get("protocol") == "PROTOCOL_UDP",
        "port:53": lambda x: 53 in ports(x),
        "-proto:tcp": lambda x: x.get("protocol") != "PROTOCOL_TCP",
        "!proto:tcp": lambda x: x.get("protocol") != "PROTOCOL_TCP",
        "addr:10.0.0.0/8": lambda x: any(in_net(a, "10.0.0.0/8") for a in ips(x)),
        "proto:tcp addr:192.168.0.0/16": lambda x: x.get("protocol") == "PROTOCOL_TCP" and any(
            in_net(a, "192.168.0.0/16") for a in ips(x)),
        "rport:80-443": lambda x: 80 <= (ports(x) or [0, 0])[1] <= 443,
        "state:established": lambda x: x.get("state") == "CONNECTION_STATE_ESTABLISHED",
        "PROTO:UDP -port:53": lambda x: x.get("protocol") == "PROTOCOL_UDP" and
        53 not in ports(x),
    }
    for expr, pred in filters.items():
        want_ids = [x.get("id") for x in dump if pred(x)]
        code, res = grpc_error(lambda: r.call(MONITOR + "/ListConnections", {"filter": expr},
                                              timeout=10))
        got_ids = [x.get("id") for x in res.get("connections", [])] if code is None else code
        c.check("filter %r gives exactly the %d expected of %d (matched %s)" % (
            expr, len(want_ids), len(dump), res.get("matched") if code is None else "-"),
                code is None and got_ids == want_ids and 0 < len(want_ids) < len(dump) and
                n64(res, "matched") == len(want_ids) and n64(res, "total") == len(dump),
                "want %s, got %s" % (want_ids, got_ids if code is None else (code, res)))

    # Sorting and paging.
    req = {"sort": "SORT_FIELD_BYTES_TOTAL", "order": "SORT_ORDER_DESCENDING"}
    code, full = grpc_error(lambda: r.call(MONITOR + "/ListConnections", req, timeout=10))
    full_rows = full.get("connections", []) if code is None else []
    totals = [bytes_total(x) for x in full_rows]
    c.check("sort by bytes total descending is ordered (%s)" % totals,
            code is None and len(full_rows) == len(dump) and
            all(a >= b for a, b in zip(totals, totals[1:])) and
            sorted(totals, reverse=True) == sorted((bytes_total(x) for x in dump), reverse=True))
    code, asc = grpc_error(lambda: r.call(MONITOR + "/ListConnections", {
        "sort": "SORT_FIELD_BYTES_TOTAL"}, timeout=10))
    asc_totals = [bytes_total(x) for x in asc.get("connections", [])] if code is None else []
    c.check("sort by bytes total ascending is ordered (%s)" % asc_totals,
            code is None and len(asc_totals) == len(dump) and
            all(a <= b for a, b in zip(asc_totals, asc_totals[1:])))
    pages, offset, page_problems = [], 0, []
    while offset < len(dump) + 3:
        code, page = grpc_error(lambda: r.call(MONITOR + "/ListConnections", dict(
            req, offset=offset, limit=4), timeout=10))
        if code is not None:
            page_problems.append("offset %d: %s %s" % (offset, code, page))
            break
        got = page.get("connections", [])
        if page.get("offset", 0) != offset or n64(page, "matched") != len(dump):
            page_problems.append("offset %d: echoed offset %s, matched %s" % (
                offset, page.get("offset"), page.get("matched")))
        if len(got) != max(0, min(4, len(dump) - offset)):
            page_problems.append("offset %d: %d rows" % (offset, len(got)))
        pages += got
        offset += 4
    c.check("offset/limit pages of 4 concatenate to the full ordered list",
            not page_problems and [x.get("id") for x in pages] ==
            [x.get("id") for x in full_rows],
            "; ".join(page_problems) or "pages %s vs full %s" % (
                [x.get("id") for x in pages], [x.get("id") for x in full_rows]))

    # Filter syntax errors.
    for expr, column in [("prot:tcp", 1), ("proto:tcp prot:udp", 11), ("port:abc", 6),
                         ('"unterminated', 1), ('proto:tcp "abc', 11), ("port:70000", 6),
                         ("addr:10.0.0.0/33", 6), ("-", 1)]:
        code, details = grpc_error(lambda: r.call(MONITOR + "/ListConnections",
                                                  {"filter": expr}, timeout=10))
        m = re.search(r"column (\d+)", details if code else "")
        c.check("filter %r: INVALID_ARGUMENT naming column %d (got %s: %s)" % (
            expr, column, code, details if code else "a result"),
                code == "INVALID_ARGUMENT" and m is not None and int(m.group(1)) == column)
    code, details = grpc_error(lambda: r.call(MONITOR + "/ListConnections",
                                              {"sort": 99}, timeout=10))
    c.check("an unknown sort field gives INVALID_ARGUMENT (got %s)" % code,
            code == "INVALID_ARGUMENT")

    # WatchConnections.
    updates, watch_error = [], None
    try:
        s = r.stream(MONITOR + "/WatchConnections", {"intervalMs": 100, "filter": "proto:udp",
                                                     "limit": 2}, timeout=10)
        t0 = time.monotonic()
        for u in s:
            updates.append((time.monotonic() - t0, u))
            if len(updates) >= 3:
                break
        s.cancel()
    except Exception as e:  # noqa: BLE001
        watch_error = repr(e)
    seqs = [n64(u, "sequence") for _, u in updates]
    c.check("WatchConnections intervalMs 100 delivers >= 2 updates (got %d)" % len(updates),
            len(updates) >= 2, watch_error or "")
    c.check("WatchConnections sequence numbers increase from 1 (%s)" % seqs,
            bool(seqs) and seqs[0] == 1 and all(b == a + 1 for a, b in zip(seqs, seqs[1:])))
    udp_count = sum(1 for x in dump if x.get("protocol") == "PROTOCOL_UDP")
    c.check("WatchConnections pages carry the filter and window (matched %d, 2 rows)" % udp_count,
            bool(updates) and all(n64(u, "page", "matched") == udp_count and
                                  len(u.get("page", {}).get("connections", [])) == 2
                                  for _, u in updates))
    if len(updates) >= 3:
        gap = updates[2][0] - updates[1][0]
        c.check("WatchConnections updates come about 100 ms apart (%.0f ms)" % (gap * 1000),
                0.05 <= gap <= 1.0)
    code, details = grpc_error(lambda: list(r.stream(
        MONITOR + "/WatchConnections", {"filter": "port:x"}, timeout=5)))
    c.check("WatchConnections with a bad filter fails with INVALID_ARGUMENT (got %s)" % code,
            code == "INVALID_ARGUMENT" and "column" in details)

    # GetStats. A cancelled stream's handler notices within its 100 ms poll:
    # wait (up to 3 s) for the watches above to be gone.
    deadline = time.monotonic() + 3
    while True:
        code, stats = grpc_error(lambda: r.call(MONITOR + "/GetStats", {}, timeout=10))
        stats = stats if code is None else {}
        if stats.get("api", {}).get("activeStreams", 0) == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    cap = (stats.get("captures") or [{}])[0]
    by_proto = stats.get("connections", {}).get("byProtocol", {})
    c.check("GetStats captures[0]: the file, not live, ethernet, finished (%s)" % cap,
            cap.get("name") == capture and not cap.get("live") and
            cap.get("linkType") == "ethernet" and cap.get("finished") is True)
    c.check("GetStats captures[0].received == records in the file (%s == %d)" % (
        cap.get("received"), records), n64(cap, "received") == records)
    c.check("GetStats pipeline.packets == tracked == records (%s, %s)" % (
        stats.get("pipeline", {}).get("packets"), stats.get("pipeline", {}).get("tracked")),
            n64(stats, "pipeline", "packets") == records and
            n64(stats, "pipeline", "tracked") == records)
    c.check("GetStats connections.current == dump lines (%s == %d)" % (
        stats.get("connections", {}).get("current"), len(dump)),
            n64(stats, "connections", "current") == len(dump))
    c.check("GetStats byProtocol sums to current (%s)" % by_proto,
            sum(int(v) for v in by_proto.values()) == len(dump) and
            by_proto == {"tcp": "4", "udp": "4", "icmp": "1"})
    c.check("GetStats version non-empty (%r)" % stats.get("version"), bool(stats.get("version")))
    c.check("GetStats api: activeStreams back to 0 after the watches ended, maxStreams 64 (%s)" %
            stats.get("api"), stats.get("api", {}).get("maxStreams") == 64 and
            stats.get("api", {}).get("activeStreams", 0) == 0)
    c.check("GetStats uptime and started present", "uptime" in stats and "started" in stats)

    # ListInterfaces.
    code, ifaces = grpc_error(lambda: r.call(MONITOR + "/ListInterfaces", {}, timeout=10))
    names = {i.get("name"): i for i in ifaces.get("interfaces", [])} if code is None else {}
    c.check("ListInterfaces returns lo, loopback and up (%s)" % sorted(names),
            names.get("lo", {}).get("loopback") is True and names.get("lo", {}).get("up") is True)
    c.check("ListInterfaces: nothing is capturing in --read mode",
            code is None and not any(i.get("capturing") for i in names.values()))

    # A second daemon on the same socket.
    d2 = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs], "second")
    rc2 = d2.wait(15)
    err2 = d2.stderr().splitlines()
    c.check("a second rustnetd on the same socket exits 1 (got %s)" % rc2, rc2 == 1)
    c.check("... with one stderr line containing 'another rustnetd is running'",
            len(err2) == 1 and "another rustnetd is running" in err2[0], "\n".join(err2))
    if rc2 is None:
        d2.stop(signal.SIGKILL)
    c.check("... and the first daemon still serves on its socket",
            os.path.exists(sock) and health_ok(g, target))
    r.close()

    # SIGTERM: exit 0, socket gone, nothing on stderr.
    rc = d.stop(signal.SIGTERM)
    c.check("SIGTERM: exit code 0 (got %s)" % rc, rc == 0)
    c.check("SIGTERM: the socket file is removed", not os.path.lexists(sock))
    c.check("the daemon printed nothing on stdout/stderr",
            d.stdout() == "" and d.stderr() == "", d.stderr())

    # A stale socket left by SIGKILL is replaced.
    k = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs], "killed")
    up = wait_serving(g, k, target)
    rc = k.stop(signal.SIGKILL)
    c.check("after SIGKILL the daemon is gone and its socket stays (stale)",
            up and rc == -signal.SIGKILL and os.path.lexists(sock))
    n = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir", logs], "replacement")
    up = wait_serving(g, n, target)
    c.check("a new daemon replaces the stale socket and answers Health", up,
            "rc %s, stderr: %s" % (n.proc.poll(), n.stderr()))
    if up:
        with g.Reflector(target) as r2:
            st2 = wait_replayed(r2)
        c.check("... and serves the table (current %s)" % (
            st2 or {}).get("connections", {}).get("current"),
                st2 is not None and n64(st2, "connections", "current") == len(dump))
    rc = n.stop(signal.SIGTERM)
    c.check("... and exits 0 on SIGTERM, removing the socket (rc %s)" % rc,
            rc == 0 and not os.path.lexists(sock))
    logs_text = ""
    for p in glob.glob(os.path.join(logs, "rustnet_*.log")):
        with open(p, errors="replace") as f:
            logs_text += f.read()
    c.check("a log says the stale socket was removed", "removing stale socket" in logs_text)

    # A regular file where the socket should go.
    plain = os.path.join(work, "plain-file")
    with open(plain, "w") as f:
        f.write("not a socket\n")
    p = Daemon(work, ["--read", capture, "--socket", plain, "--log-dir", logs], "plainfile")
    rc = p.wait(15)
    if rc is None:
        p.stop(signal.SIGKILL)
    err = p.stderr().splitlines()
    c.check("--socket on a regular file: exit 1 (got %s)" % rc, rc == 1)
    c.check("... one stderr line saying it is not a socket and what to do",
            len(err) == 1 and err[0].startswith("rustnetd: ") and "not a socket" in err[0] and
            "--socket" in err[0], "\n".join(err))
    with open(plain) as f:
        c.check("... and the file is left alone", f.read() == "not a socket\n")


def fixture_checks(c, g, work):
    """Each fixture capture, served, lists the same table as its dump."""
    captures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                      glob.glob(os.path.join(FIXTURES, "*.pcapng")))
    if not captures:
        print("note: no fixture captures in %s; the made capture covers the API" % FIXTURES)
        return
    for path in captures:
        name = os.path.basename(path)
        rc, dump, err = dump_json(path, work)
        if rc != 0:
            c.check("%s: --dump json exits 0" % name, False, err)
            continue
        sock = os.path.join(work, "fx.sock")
        d = Daemon(work, ["--read", path, "--socket", sock, "--log-dir",
                          os.path.join(work, "fx-logs")], "fixture")
        ok = wait_serving(g, d, "unix:" + sock)
        stats = listing = None
        if ok:
            with g.Reflector("unix:" + sock) as r:
                stats = wait_replayed(r)
                code, listing = grpc_error(lambda: r.call(MONITOR + "/ListConnections", {},
                                                          timeout=10))
                if code:
                    listing = None
        rows = (listing or {}).get("connections", [])
        c.check("%s: ListConnections == --dump json (%d connections)" % (name, len(dump)),
                listing is not None and n64(listing, "total") == len(dump) and
                [projection(x) for x in rows] == [projection(x) for x in dump],
                "api:  %s\ndump: %s" % ([projection(x) for x in rows],
                                        [projection(x) for x in dump]))
        want = pcap_records(path)
        if stats is not None and want is not None:
            cap = (stats.get("captures") or [{}])[0]
            c.check("%s: GetStats received == %d records" % (name, want),
                    n64(cap, "received") == want, "got %s" % cap.get("received"))
        rc = d.stop()
        c.check("%s: exits 0 on SIGTERM (got %s)" % (name, rc), rc == 0)


# --- Live: WatchEvents ------------------------------------------------------------

def live_events_checks(c, g, work):
    if os.geteuid() != 0:
        c.check("running as root (needed for network namespaces); run the tests with sudo",
                False)
        return
    for tool in ("ip", "curl", "ss"):
        if shutil.which(tool) is None:
            c.check("required tool %s is installed" % tool, False)
            return
    # Namespaces left by a killed run of this test (the pid in the name is gone).
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for m in re.finditer(r"^(rnapi-[ab]-(\d+))\b", listed, re.M):
        if not os.path.exists("/proc/" + m.group(2)):
            subprocess.run(["ip", "netns", "del", m.group(1)], capture_output=True)

    ns_a, ns_b = "rnapi-a-%d" % os.getpid(), "rnapi-b-%d" % os.getpid()
    if_a, if_b = "rnapi0", "rnapi1"
    ip_a, ip_b, port = "10.201.0.1", "10.201.0.2", 8080
    procs = []

    def run(*cmd):
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=20)

    try:
        if not run_steps(c, "live: create namespaces and veth pair",
                         namespace_steps(ns_a, ns_b) +
                         veth_steps(ns_a, if_a, ip_a, ns_b, if_b, ip_b)):
            return
        www = os.path.join(work, "www")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("hello from rustnet's API test\n")
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns_b, "/usr/bin/python3", "-m", "http.server", str(port),
             "--bind", ip_b, "--directory", www], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        procs.append(server)

        sock = os.path.join(work, "live.sock")
        target = "unix:" + sock
        d = Daemon(work, ["-i", if_a, "--socket", sock, "--log-dir",
                          os.path.join(work, "live-logs")], "live", netns=ns_a)
        procs.append(d.proc)
        up = wait_serving(g, d, target)
        c.check("live: rustnetd -i %s in %s serves the API" % (if_a, ns_a), up, d.stderr())
        if not up:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ("%s:%d" % (ip_b, port)) in run("ip", "netns", "exec", ns_b, "ss", "-Hltn").stdout:
                break
            time.sleep(0.1)

        r = g.Reflector(target)
        code, stats = grpc_error(lambda: r.call(MONITOR + "/GetStats", {}, timeout=5))
        cap = (stats.get("captures") or [{}])[0] if code is None else {}
        c.check("live: GetStats says live capture on %s (%s)" % (if_a, cap),
                cap.get("name") == if_a and cap.get("live") is True)
        code, ifaces = grpc_error(lambda: r.call(MONITOR + "/ListInterfaces", {}, timeout=5))
        capturing = [i.get("name") for i in ifaces.get("interfaces", []) if i.get("capturing")] \
            if code is None else code
        c.check("live: ListInterfaces marks %s as capturing (%s)" % (if_a, capturing),
                capturing == [if_a])

        everything, filtered = [], []
        streams = [r.stream(MONITOR + "/WatchEvents", {}, timeout=30),
                   r.stream(MONITOR + "/WatchEvents", {"filter": "port:%d" % port,
                                                       "types": ["EVENT_TYPE_CLOSED"]},
                            timeout=30)]
        errors = []

        def collect(stream, into):
            try:
                for e in stream:
                    into.append(e)
            except Exception as e:  # noqa: BLE001
                if "DEADLINE_EXCEEDED" not in repr(e):
                    errors.append(repr(e))

        threads = [threading.Thread(target=collect, args=(s, into), daemon=True)
                   for s, into in zip(streams, (everything, filtered))]
        for t in threads:
            t.start()
        # Both streams subscribed before the traffic starts.
        deadline = time.monotonic() + 5
        active = 0
        while time.monotonic() < deadline and active < 2:
            code, st = grpc_error(lambda: r.call(MONITOR + "/GetStats", {}, timeout=5))
            active = st.get("api", {}).get("activeStreams", 0) if code is None else 0
            time.sleep(0.05)
        c.check("live: GetStats api.activeStreams counts the 2 WatchEvents streams (%d)" % active,
                active == 2)
        time.sleep(0.3)

        curl = run("ip", "netns", "exec", ns_a, "curl", "--noproxy", "*", "-sS", "--max-time",
                   "10", "-o", "/dev/null", "-w", "%{http_code}",
                   "http://%s:%d/" % (ip_b, port))
        c.check("live: curl %s -> %s:%d gets 200 (%s)" % (ns_a, ip_b, port, curl.stdout),
                curl.stdout == "200", curl.stderr)

        def find(events, etype, reason=None):
            return [e for e in events if e.get("type") == etype and
                    e.get("connection", {}).get("protocol") == "PROTOCOL_TCP" and
                    e.get("connection", {}).get("remote", {}).get("port") == port and
                    (reason is None or e.get("closeReason") == reason)]

        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if find(everything, "EVENT_TYPE_OPENED") and \
                    find(everything, "EVENT_TYPE_CLOSED", "CLOSE_REASON_FIN") and filtered:
                break
            time.sleep(0.1)
        time.sleep(0.3)  # Anything that would arrive late (duplicates).
        for s in streams:
            s.cancel()
        for t in threads:
            t.join(5)
        summary = ["%s %s %s:%s->%s:%s %s" % (
            e.get("sequence"), e.get("type"), e.get("connection", {}).get("local", {}).get(
                "address"), e.get("connection", {}).get("local", {}).get("port"),
            e.get("connection", {}).get("remote", {}).get("address"),
            e.get("connection", {}).get("remote", {}).get("port"), e.get("closeReason", ""))
            for e in everything]
        opened = find(everything, "EVENT_TYPE_OPENED")
        closed = find(everything, "EVENT_TYPE_CLOSED", "CLOSE_REASON_FIN")
        c.check("live: WatchEvents reports EVENT_TYPE_OPENED for the TCP connection to :%d" %
                port, len(opened) == 1, "\n".join(summary) or "no events at all")
        c.check("live: WatchEvents reports EVENT_TYPE_CLOSED, closeReason FIN, for it",
                len(closed) == 1 and bool(opened) and
                closed[0]["connection"].get("id") == opened[0]["connection"].get("id"),
                "\n".join(summary) or "no events at all")
        if opened:
            conn = opened[0]["connection"]
            c.check("live: the OPENED connection is %s -> %s:%d, outbound" % (ip_a, ip_b, port),
                    conn.get("local", {}).get("address") == ip_a and
                    conn.get("remote", {}).get("address") == ip_b and
                    conn.get("direction") == "DIRECTION_OUTBOUND" and
                    conn.get("interface") == if_a, json.dumps(conn))
        if closed:
            conn = closed[0]["connection"]
            c.check("live: the CLOSED event carries the final counters (packets both ways)",
                    n64(conn, "sent", "packets") > 0 and n64(conn, "received", "packets") > 0 and
                    conn.get("state") in ("CONNECTION_STATE_TIME_WAIT",
                                          "CONNECTION_STATE_CLOSED"), json.dumps(conn))
        seqs = [n64(e, "sequence") for e in everything]
        c.check("live: event sequence numbers increase (%s)" % seqs,
                bool(seqs) and all(b > a for a, b in zip(seqs, seqs[1:])))
        c.check("live: the filtered stream (port:%d, CLOSED only) got just the CLOSED event "
                "(%d events)" % (port, len(filtered)),
                len(filtered) == 1 and filtered[0].get("type") == "EVENT_TYPE_CLOSED" and
                filtered[0].get("connection", {}).get("remote", {}).get("port") == port)
        c.check("live: no stream errors", not errors, "\n".join(errors))
        code, st = grpc_error(lambda: r.call(MONITOR + "/GetStats", {}, timeout=5))
        deadline = time.monotonic() + 3
        while code is None and st.get("api", {}).get("activeStreams", 0) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
            code, st = grpc_error(lambda: r.call(MONITOR + "/GetStats", {}, timeout=5))
        c.check("live: activeStreams back to 0 after cancelling (%s)" % (
            st.get("api") if code is None else code),
                code is None and st.get("api", {}).get("activeStreams", 0) == 0)
        r.close()
        rc = d.stop()
        c.check("live: rustnetd exits 0 on SIGTERM (got %s)" % rc, rc == 0, d.stderr())
        c.check("live: the socket is removed", not os.path.lexists(sock))
    finally:
        stop_and_delete(procs, (ns_a, ns_b))


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnapi.")
    os.chmod(work, 0o755)
    try:
        replay_checks(c, g, work)
        fixture_checks(c, g, work)
        live_events_checks(c, g, work)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
