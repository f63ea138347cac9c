"""Capture fan-out end to end: `rustnetd --capture-threads 2` on one end of a
veth pair between two network namespaces of the test's own, while real TCP
and UDP traffic runs across it (HTTP GETs of a 64 KiB file from
python3 -m http.server, each a new connection, and UDP echo exchanges, each
from its own socket). A tcpdump on the same interface records the same
packets beside it (started before rustnetd, stopped after the traffic).

The kernel's PACKET_FANOUT hash is not symmetric for locally sent packets
(each socket's own random txhash), so a connection's two directions
usually reach different capture threads; rustnetd must still track each
connection once, with each direction's packets and IP bytes equal to what
tshark counts in tcpdump's capture. GetStats shows the two capture threads,
each having read some of the traffic, their figures adding up to the
totals, and nothing dropped.

Needs root (network namespaces). Environment (set by CTest): RUSTNETD.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (Checker, Daemon, wait_serving, ...)
import tshark_conv_test as tconv  # noqa: E402  (tshark_frames, conv_key, addr)

MONITOR = api_test.MONITOR
PID = os.getpid()
NS_A, NS_B = "rnfan-a-%d" % PID, "rnfan-b-%d" % PID
IF_A, IF_B = "rnfan0", "rnfan1"
IP_A, IP_B = "10.214.0.1", "10.214.0.2"
HTTP_PORT, UDP_PORT = 8080, 7007
N_HTTP, N_UDP, UDP_EACH = 30, 20, 5

UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""

# Runs in NS_B: the HTTP GETs (one connection each) and the UDP exchanges
# (one socket each, open until all have sent, so no 4-tuple repeats).
CLIENT = r"""
import http.client, socket, sys
host, http_port, udp_port, n_http, n_udp, each = sys.argv[1], *map(int, sys.argv[2:])
got = 0
for i in range(n_http):
    c = http.client.HTTPConnection(host, http_port, timeout=5)
    c.request("GET", "/data.bin")
    got += len(c.getresponse().read())
    c.close()
socks = []
for i in range(n_udp):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    for j in range(each):
        msg = b"fanout %d %d" % (i, j)
        s.sendto(msg, (host, udp_port))
        if s.recvfrom(2048)[0] != msg:
            sys.exit("bad echo")
    socks.append(s)
print(got)
"""


def run(*cmd, timeout=20):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


def poll(fn, timeout=10.0, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(every)


def setup(c):
    return api_test.run_steps(c, "set up", api_test.namespace_steps(NS_A, NS_B) +
                              api_test.veth_steps(NS_A, IF_A, IP_A, NS_B, IF_B, IP_B))


def listening(ns, flag, what):
    return what in run("ip", "netns", "exec", ns, "ss", "-Hln", flag).stdout


def rustnet_conversations(conns):
    """{key: {"rows": n, endpoint: [packets, bytes]}} for TCP and UDP."""
    out = {}
    for row in conns:
        proto = tconv.PROTOCOLS.get(row.get("protocol"))
        if proto not in ("tcp", "udp"):
            continue
        local = (tconv.addr(row["local"]["address"]), row["local"].get("port", 0))
        remote = (tconv.addr(row["remote"]["address"]), row["remote"].get("port", 0))
        e = out.setdefault(tconv.conv_key(proto, local, remote),
                           {"rows": 0, local: [0, 0], remote: [0, 0]})
        e["rows"] += 1
        for ep, counters in ((local, row.get("sent", {})), (remote, row.get("received", {}))):
            e[ep][0] += int(counters.get("packets", "0"))
            e[ep][1] += int(counters.get("bytes", "0"))
    return out


# Runs in NS_B: one socket, COUNT echo exchanges; prints its port.
ECHO_BURST = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for i in range(int(sys.argv[3])):
    s.sendto(b"after resume %d" % i, (sys.argv[1], int(sys.argv[2])))
    s.recvfrom(2048)
print(s.getsockname()[1])
"""


def check_resume(c, r):
    """The interface goes down and up: both sockets reopen and join the
    fan-out group again, so traffic after it is counted once, not twice."""
    def capture():
        try:
            return (r.call(MONITOR + "/GetStats", {}, timeout=5).get("captures") or [{}])[0]
        except Exception:  # noqa: BLE001 - reported by the checks using it
            return {}
    run("ip", "-n", NS_A, "link", "set", IF_A, "down")
    waiting = poll(lambda: capture().get("state") == "CAPTURE_STATE_WAITING")
    run("ip", "-n", NS_A, "link", "set", IF_A, "up")
    back = poll(lambda: (lambda x: x.get("state") == "CAPTURE_STATE_CAPTURING"
                         and x.get("interruptions", 0) >= 1)(capture()))
    c.check("interface down and up: waiting, then capturing again", waiting and back)
    count = 100
    p = run("ip", "netns", "exec", NS_B, "/usr/bin/python3", "-c", ECHO_BURST, IP_A,
            str(UDP_PORT), str(count))
    port = p.stdout.strip()
    if p.returncode != 0 or not port.isdigit():
        c.check("after resume: %d UDP echo exchanges" % count, False, p.stderr)
        return

    def counts():
        try:
            rows = r.call(MONITOR + "/ListConnections", {"filter": "port:" + port},
                          timeout=5).get("connections", [])
        except Exception:  # noqa: BLE001
            return None
        return [(int(x.get("sent", {}).get("packets", "0")),
                 int(x.get("received", {}).get("packets", "0"))) for x in rows]
    poll(lambda: (counts() or [(0, 0)])[0][0] + (counts() or [(0, 0)])[0][1] >= 2 * count)
    time.sleep(0.3)  # (A duplicate would come with the original.)
    got = counts()
    c.check("after resume: the exchange is one connection of %d packets each way, counted "
            "once by the two capture threads (%s)" % (count, got), got == [(count, count)])


def check_traffic(c, g, work):
    procs = []

    def spawn(args, name):
        with open(os.path.join(work, name + ".log"), "wb") as log:
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        procs.append(p)
        return p

    www = os.path.join(work, "www")
    os.makedirs(www)
    with open(os.path.join(www, "data.bin"), "wb") as f:
        f.write(bytes(range(256)) * 256)  # 64 KiB: dozens of segments per connection
    spawn(["ip", "netns", "exec", NS_A, "timeout", "60", "/usr/bin/python3", "-m", "http.server",
           str(HTTP_PORT), "--bind", IP_A, "--directory", www], "http")
    spawn(["ip", "netns", "exec", NS_A, "timeout", "60", "/usr/bin/python3", "-c", UDP_ECHO, IP_A,
           str(UDP_PORT)], "udp_echo")
    if not (poll(lambda: listening(NS_A, "-t", "%s:%d" % (IP_A, HTTP_PORT))) and
            poll(lambda: listening(NS_A, "-u", "%s:%d" % (IP_A, UDP_PORT)))):
        c.check("test servers listen", False)
        return procs

    capture = os.path.join(work, "capture.pcap")
    tcpdump_err = os.path.join(work, "tcpdump.err")
    with open(tcpdump_err, "wb") as err:
        tcpdump = subprocess.Popen(["ip", "netns", "exec", NS_A, "timeout", "60", "tcpdump", "-i",
                                    IF_A, "-n", "-U", "-B", "32768", "-Z", "root",
                                    "-w", capture],
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   stdin=subprocess.DEVNULL)
    procs.append(tcpdump)
    if not poll(lambda: "listening on" in open(tcpdump_err, errors="replace").read()):
        c.check("tcpdump starts", False)
        return procs

    sock = os.path.join(work, "rustnetd.sock")
    daemon = api_test.Daemon(work, ["-i", IF_A, "--capture-threads", "2", "--threads", "2",
                                    "--socket", sock, "--no-process", "--log-dir",
                                    os.path.join(work, "logs")], netns=NS_A)
    up = api_test.wait_serving(g, daemon, "unix:" + sock)
    c.check("rustnetd -i %s --capture-threads 2 serves the API" % IF_A, up, daemon.stderr())
    if not up:
        return procs
    r = g.Reflector("unix:" + sock)

    client = run("ip", "netns", "exec", NS_B, "/usr/bin/python3", "-c", CLIENT, IP_A,
                 str(HTTP_PORT), str(UDP_PORT), str(N_HTTP), str(N_UDP), str(UDP_EACH),
                 timeout=30)
    c.check("client: %d HTTP GETs of 64 KiB and %d UDP exchanges" % (N_HTTP, N_UDP),
            client.returncode == 0 and client.stdout.strip() == str(N_HTTP * 65536),
            client.stdout + client.stderr)

    def stats():
        try:
            return r.call(MONITOR + "/GetStats", {}, timeout=5)
        except Exception:  # noqa: BLE001 - reported by the checks using it
            return {}

    def packets():
        return int(stats().get("pipeline", {}).get("packets", "0"))

    # The last FINs and ACKs: until rustnetd's count stays put for 0.5 s
    # (its ring hands over a block within 2 ms).
    last = [-1]

    def settled():
        now = packets()
        done = now == last[0]
        last[0] = now
        return done
    poll(settled, timeout=10, every=0.5)
    # And until tcpdump (packet-buffered, -U) has written as many: its ring
    # hands over a partly filled block after 1 s, and SIGINT would cut it.
    poll(lambda: (api_test.pcap_records(capture) or 0) >= last[0], timeout=10)
    tcpdump.send_signal(signal.SIGINT)
    try:
        tcpdump.wait(timeout=10)
    except subprocess.TimeoutExpired:
        tcpdump.kill()
    tcpdump_lost = re.findall(r"(\d+) packets? dropped by (?:kernel|interface)",
                              open(tcpdump_err, errors="replace").read())
    c.check("tcpdump, the reference, lost nothing (%s)" % tcpdump_lost,
            tcpdump_lost and all(n == "0" for n in tcpdump_lost))
    frames = tconv.tshark_frames(capture)
    s = stats()
    pipe = s.get("pipeline", {})
    cap = (s.get("captures") or [{}])[0]
    threads = s.get("captureThreadStats", [])
    c.check("GetStats: 2 capture threads, each one's figures (%s, %s)"
            % (s.get("captureThreads"), threads),
            s.get("captureThreads") == 2 and len(threads) == 2)
    if len(threads) == 2:
        per = [int(t.get("packets", "0")) for t in threads]
        c.check("both capture threads read part of the traffic (%s)" % per, min(per) > 0)
        c.check("the threads' packets add up to the pipeline's (%s = %s)"
                % (per, pipe.get("packets")), sum(per) == int(pipe.get("packets", "-1")))
        received = [int(t.get("received", "0")) for t in threads]
        c.check("the threads' kernel counts add up to the capture's (%s = %s)"
                % (received, cap.get("received")), sum(received) == int(cap.get("received", "-1")))
    lost = [int(cap.get("droppedKernel", "0")), int(cap.get("droppedInterface", "0")),
            int(pipe.get("droppedQueues", "0"))]
    c.check("nothing dropped (kernel, interface, queues: %s)" % lost, lost == [0, 0, 0])

    conns = r.call(MONITOR + "/ListConnections", {"include_closed": True, "limit": 10000},
                   timeout=5).get("connections", [])
    ours = rustnet_conversations(conns)
    theirs = {k: v for k, v in frames.items() if k[0] in ("tcp", "udp")}
    want = N_HTTP + N_UDP
    c.check("tshark sees %d TCP/UDP conversations in tcpdump's capture (%d)"
            % (want, len(theirs)), len(theirs) == want)
    c.check("rustnetd tracks the same conversations (missing %s, extra %s)"
            % (sorted(set(theirs) - set(ours))[:3], sorted(set(ours) - set(theirs))[:3]),
            set(ours) == set(theirs))
    twice = [tconv.label(k) for k, v in ours.items() if v["rows"] != 1]
    c.check("every connection is seen once (%d seen more than once: %s)"
            % (len(twice), twice[:3]), not twice)
    wrong = []
    for key, counts in theirs.items():
        if key not in ours:
            continue
        for ep in (key[1], key[2]):
            got = ours[key][ep]
            exp = counts.get(ep)[:2]
            if got != exp:
                wrong.append("%s from %s:%d: rustnetd %s, tshark %s"
                             % (tconv.label(key), ep[0], ep[1], got, exp))
    c.check("each direction's packets and IP bytes equal tshark's, every connection "
            "(%d wrong: %s)" % (len(wrong), wrong[:3]), not wrong)
    tcp_segments = sum(d[0] for k, v in theirs.items() if k[0] == "tcp" for d in v.dirs.values())
    c.check("the TCP connections carried many segments (%d)" % tcp_segments,
            tcp_segments >= N_HTTP * 10)
    check_resume(c, r)
    rc = daemon.stop()
    c.check("rustnetd exits 0 on SIGTERM (%s)" % rc, rc == 0, daemon.stderr())
    log = "".join(open(f, errors="replace").read()
                  for f in sorted(glob.glob(os.path.join(work, "logs", "*.log"))))
    c.check("the log names the capture threads and the fan-out group",
            re.search(r"capturing on %s \(.*2 capture threads, fan-out group \d+\)" % IF_A, log),
            log[-2000:])
    c.check("no error in rustnetd's output", "[error]" not in daemon.stderr(), daemon.stderr())
    return procs


def main():
    c = api_test.Checker()
    if os.geteuid() != 0:
        c.check("running as root (network namespaces); run the tests with sudo", False)
        return c.finish()
    if not api_test.RUSTNETD:
        c.check("RUSTNETD names the rustnetd binary", False)
        return c.finish()
    for tool in ("ip", "tcpdump", "tshark", "ss"):
        if shutil.which(tool) is None:
            c.check("%s is installed" % tool, False)
            return c.finish()
    g = api_test.import_grpc(c)
    if g is None:
        return c.finish()
    # Namespaces left by a killed run of this test (the pid in the name is gone).
    for m in re.finditer(r"^(rnfan-[ab]-(\d+))\b", run("ip", "netns", "list").stdout, re.M):
        if not os.path.exists("/proc/" + m.group(2)):
            run("ip", "netns", "del", m.group(1))
    work = tempfile.mkdtemp(prefix="rnfan.")
    os.chmod(work, 0o755)
    procs = []
    try:
        if setup(c):
            procs = check_traffic(c, g, work)
    finally:
        api_test.kill_children()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in (NS_A, NS_B):
            pids = run("ip", "netns", "pids", ns).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            run("ip", "netns", "del", ns)
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
