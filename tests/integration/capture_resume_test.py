"""Live capture survives its interface: rustnetd captures on one end of a veth
pair between two network namespaces of the test's own while the test takes
the interface down, deletes it, renames it, and stops the daemon while it
waits. Nothing leaves the namespaces.

Traffic is UDP from the other namespace, a new destination port per step, so
"a new connection appears" names one step's traffic exactly (a datagram is
sent every 50 ms until it shows up, or a generous timeout ends the check).

1. down / up: the daemon keeps running and answering; ListConnections still
   has the earlier connection; GetStats says CAPTURE_STATE_WAITING, why, since
   when, one interruption; the snapshot clock keeps moving (expiry goes on);
   the log says "stopped" once, however long the wait. Up again: capturing,
   new traffic is seen, the log says "resumed after", and the received
   counter went on from where it was (cumulative across handles).
2. removed / re-created with the same name (a new ifindex): waiting for "no
   interface named ...", still serving; re-created: resumes, new traffic seen.
3. renamed while up: the capture goes on (the socket is bound to the
   ifindex): new traffic is seen, GetStats' renamed_to and ListInterfaces
   name the new name, the log says so once. Taken down under the new name:
   waiting for the original name; up again under the new name it stays
   waiting (traffic there is not seen); renamed back: resumes.
4. SIGTERM while waiting: exit 0 within seconds.

Needs root (network namespaces) and a kernel that renames interfaces while
they are up (Linux 6.2+). Environment (set by CTest): RUSTNETD.
"""
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
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, wait_serving, ...)

MONITOR = api_test.MONITOR
PID = os.getpid()
NS_A, NS_B = "rnres-a-%d" % PID, "rnres-b-%d" % PID
IF_A, IF_B, IF_RENAMED = "rnres0", "rnres1", "rnres9"
IP_A, IP_B = "10.213.0.1", "10.213.0.2"

# Runs in NS_B: each line on stdin "PORT COUNT" sends COUNT datagrams to
# IP_A:PORT (errors while the link is gone are ignored).
SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for line in sys.stdin:
    port, count = (int(x) for x in line.split())
    for _ in range(count):
        try:
            s.sendto(b"rustnet capture resume test", (sys.argv[1], port))
        except OSError:
            pass
        if count > 1:
            time.sleep(0.001)
"""


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=20)


def poll(fn, timeout=15.0, every=0.1):
    """fn() until it returns something truthy (returned) or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(every)


def make_veth(c, what):
    """The veth pair between the namespaces, addressed and up."""
    return api_test.run_steps(c, what, api_test.veth_steps(NS_A, IF_A, IP_A, NS_B, IF_B, IP_B))


def ifindex(name):
    m = re.match(r"(\d+):", run("ip", "-n", NS_A, "-o", "link", "show", name).stdout)
    return int(m.group(1)) if m else None


class Test:
    def __init__(self, c, g, work):
        self.c, self.g, self.work = c, g, work
        self.sender = None
        self.daemon = None
        self.r = None

    # --- helpers ---------------------------------------------------------------

    def send(self, port, count=1):
        self.sender.stdin.write("%d %d\n" % (port, count))
        self.sender.stdin.flush()

    def capture(self):
        try:
            stats = self.r.call(MONITOR + "/GetStats", {}, timeout=5)
        except Exception as e:  # noqa: BLE001 - reported by the check using it
            return {"rpcError": str(e)}
        return (stats.get("captures") or [{}])[0]

    def conns(self, flt):
        try:
            return self.r.call(MONITOR + "/ListConnections", {"filter": flt},
                               timeout=5).get("connections", [])
        except Exception:  # noqa: BLE001
            return None

    def seen(self, port, timeout=20.0):
        """Sends to port every 50 ms until a connection to it is listed."""
        def once():
            self.send(port)
            return self.conns("proto:udp port:%d" % port)
        return bool(poll(once, timeout=timeout, every=0.05))

    def wait_state(self, state, timeout=15.0):
        return poll(lambda: (lambda cap: cap if cap.get("state") == state else None)(
            self.capture()), timeout=timeout)

    def log_count(self, text):
        return self.daemon.stderr().count(text)

    def snapshot_moves(self, seconds=2.0, timeout=15.0):
        """The table's snapshot time advances by `seconds` (the workers'
        clock moves, so expiry and publication go on)."""
        def snapshot_time():
            try:
                t = self.r.call(MONITOR + "/ListConnections", {"limit": 1},
                                timeout=5).get("snapshotTime", "")
            except Exception:  # noqa: BLE001
                return None
            m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", t)
            if not m:
                return None
            return time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float(
                m.group(2) or 0)
        first = snapshot_time()
        if first is None:
            return False
        return bool(poll(lambda: (snapshot_time() or 0) >= first + seconds, timeout=timeout))

    # --- the steps -------------------------------------------------------------

    def start(self):
        c = self.c
        self.sender = subprocess.Popen(
            ["ip", "netns", "exec", NS_B, "/usr/bin/python3", "-c", SENDER, IP_A],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True)
        sock = os.path.join(self.work, "rustnetd.sock")
        self.daemon = api_test.Daemon(
            self.work, ["-i", IF_A, "--socket", sock, "--no-process",
                        "--log-dir", os.path.join(self.work, "logs")], "rustnetd", netns=NS_A)
        up = api_test.wait_serving(self.g, self.daemon, "unix:" + sock)
        c.check("rustnetd -i %s in %s serves the API" % (IF_A, NS_A), up, self.daemon.stderr())
        if not up:
            return False
        self.r = self.g.Reflector("unix:" + sock)
        c.check("traffic before any trouble is seen (udp port 40001)", self.seen(40001))
        self.send(40001, 400)  # So the kernel's counter is well above what follows.
        cap = poll(lambda: (lambda x: x if int(x.get("received", "0")) >= 400 else None)(
            self.capture()))
        c.check("GetStats: capturing, no interruptions, a last packet, 400+ received (%s)" % cap,
                cap and cap.get("state") == "CAPTURE_STATE_CAPTURING"
                and cap.get("interruptions", 0) == 0 and cap.get("lastPacket"))
        return True

    def down_up(self):
        c = self.c
        received_before = int(self.capture().get("received", "0"))
        run("ip", "-n", NS_A, "link", "set", IF_A, "down")
        cap = self.wait_state("CAPTURE_STATE_WAITING")
        c.check("down: GetStats says waiting, why, since when, 1 interruption (%s)" % cap,
                cap and cap.get("error") == "interface %s is down" % IF_A
                and cap.get("interruptions") == 1 and cap.get("waitingSince")
                and cap.get("finished") is not True)
        c.check("down: the table is still served (the udp port 40001 connection)",
                bool(self.conns("port:40001")))
        c.check("down: the snapshot clock keeps moving while waiting", self.snapshot_moves())
        c.check("down: the daemon is running", self.daemon.running(), self.daemon.stderr())
        stopped = "capture on %s stopped: the interface went down; waiting for it to come back" \
            % IF_A
        c.check("down: the log says it stopped, once (after several retries)",
                self.log_count(stopped) == 1 and self.log_count("stopped:") == 1,
                self.daemon.stderr())
        received_waiting = int(self.capture().get("received", "0"))
        c.check("down: the received counter kept its value (%d >= %d)"
                % (received_waiting, received_before), received_waiting >= received_before)

        run("ip", "-n", NS_A, "link", "set", IF_A, "up")
        cap = self.wait_state("CAPTURE_STATE_CAPTURING")
        c.check("up: GetStats says capturing again, no error, still 1 interruption (%s)" % cap,
                cap and not cap.get("error") and cap.get("interruptions") == 1
                and not cap.get("waitingSince"))
        c.check("up: new traffic is seen (udp port 40002)", self.seen(40002))
        c.check("up: the log says it resumed, once",
                len(re.findall(r"capture on %s resumed after \d+\.\d s" % IF_A,
                               self.daemon.stderr())) == 1, self.daemon.stderr())
        received_after = int(self.capture().get("received", "0"))
        c.check("up: the received counter goes on from before (%d > %d)"
                % (received_after, received_waiting), received_after > received_waiting)

    def remove_recreate(self):
        c = self.c
        old_index = ifindex(IF_A)
        run("ip", "-n", NS_A, "link", "del", IF_A)
        cap = poll(lambda: (lambda x: x if x.get("state") == "CAPTURE_STATE_WAITING" and x.get(
            "error") == "no interface named %s" % IF_A else None)(self.capture()))
        c.check("removed: waiting for 'no interface named %s', 2 interruptions (%s)"
                % (IF_A, cap), cap and cap.get("interruptions") == 2)
        c.check("removed: the table is still served (ports 40001 and 40002)",
                bool(self.conns("port:40001")) and bool(self.conns("port:40002")))
        c.check("removed: the log says it stopped, once more (2 in all)",
                self.log_count("capture on %s stopped: " % IF_A) == 2, self.daemon.stderr())
        if not make_veth(c, "re-create the veth pair"):
            return False
        new_index = ifindex(IF_A)
        c.check("re-created: %s has a new ifindex (%s, was %s)" % (IF_A, new_index, old_index),
                new_index is not None and new_index != old_index)
        cap = self.wait_state("CAPTURE_STATE_CAPTURING")
        c.check("re-created: capturing again (%s)" % cap, bool(cap))
        c.check("re-created: new traffic is seen (udp port 40003)", self.seen(40003))
        c.check("re-created: the log says it resumed (2 in all)",
                self.log_count("capture on %s resumed after" % IF_A) == 2, self.daemon.stderr())
        return True

    def rename(self):
        c = self.c
        p = run("ip", "-n", NS_A, "link", "set", IF_A, "name", IF_RENAMED)
        c.check("renamed %s to %s while up (needs Linux 6.2+)" % (IF_A, IF_RENAMED),
                p.returncode == 0, p.stderr)
        if p.returncode != 0:
            return
        cap = poll(lambda: (lambda x: x if x.get("renamedTo") == IF_RENAMED else None)(
            self.capture()))
        c.check("renamed: GetStats says renamed_to %s, still capturing, 2 interruptions (%s)"
                % (IF_RENAMED, cap), cap and cap.get("state") == "CAPTURE_STATE_CAPTURING"
                and cap.get("interruptions") == 2 and cap.get("name") == IF_A)
        c.check("renamed: traffic on the renamed interface is seen (udp port 40004)",
                self.seen(40004))
        c.check("renamed: the log says so, once",
                self.log_count("interface %s is now called %s; still capturing it"
                               % (IF_A, IF_RENAMED)) == 1, self.daemon.stderr())
        try:
            ifaces = self.r.call(MONITOR + "/ListInterfaces", {}, timeout=5).get("interfaces", [])
        except Exception as e:  # noqa: BLE001
            ifaces = [{"error": str(e)}]
        capturing = [i.get("name") for i in ifaces if i.get("capturing")]
        c.check("renamed: ListInterfaces marks %s as captured (%s)" % (IF_RENAMED, capturing),
                capturing == [IF_RENAMED])

        run("ip", "-n", NS_A, "link", "set", IF_RENAMED, "down")
        cap = poll(lambda: (lambda x: x if x.get("state") == "CAPTURE_STATE_WAITING" and x.get(
            "error") == "no interface named %s" % IF_A else None)(self.capture()))
        c.check("renamed, then down: waiting for the original name %s (%s)" % (IF_A, cap),
                bool(cap))
        c.check("renamed, then down: the log names both names",
                self.log_count("capture on %s (renamed %s) stopped: the interface went down; "
                               "waiting for an interface named %s" % (IF_A, IF_RENAMED, IF_A))
                == 1, self.daemon.stderr())
        run("ip", "-n", NS_A, "link", "set", IF_RENAMED, "up")
        # Up under the new name: not captured. Traffic to it for 3 s must not
        # show up, and the capture must stay waiting.
        c.check("renamed, up under the new name: traffic there is not seen (udp port 40005)",
                not self.seen(40005, timeout=3.0))
        cap = self.capture()
        c.check("renamed, up under the new name: still waiting (%s)" % cap,
                cap.get("state") == "CAPTURE_STATE_WAITING")
        run("ip", "-n", NS_A, "link", "set", IF_RENAMED, "name", IF_A)
        cap = self.wait_state("CAPTURE_STATE_CAPTURING")
        c.check("renamed back to %s: capturing, renamed_to empty, 3 interruptions (%s)"
                % (IF_A, cap), cap and not cap.get("renamedTo")
                and cap.get("interruptions") == 3)
        c.check("renamed back: new traffic is seen (udp port 40006)", self.seen(40006))

    def sigterm_while_waiting(self):
        c = self.c
        run("ip", "-n", NS_A, "link", "set", IF_A, "down")
        cap = self.wait_state("CAPTURE_STATE_WAITING")
        c.check("down again: waiting (%s)" % cap, bool(cap))
        t0 = time.monotonic()
        rc = self.daemon.stop(signal.SIGTERM, timeout=10)
        took = time.monotonic() - t0
        c.check("SIGTERM while waiting: exit 0 within 10 s (rc %s after %.1f s)" % (rc, took),
                rc == 0, self.daemon.stderr())
        c.check("SIGTERM while waiting: no error in the log",
                "[error]" not in self.daemon.stderr(), self.daemon.stderr())


def main():
    c = api_test.Checker()
    if os.geteuid() != 0:
        c.check("running as root (network namespaces); run the tests with sudo", False)
        return c.finish()
    if not api_test.RUSTNETD:
        c.check("RUSTNETD names the rustnetd binary", False)
        return c.finish()
    g = api_test.import_grpc(c)
    if g is None:
        return c.finish()
    if shutil.which("ip") is None:
        c.check("iproute2 (ip) is installed", False)
        return c.finish()
    # Namespaces left by a killed run of this test (the pid in the name is gone).
    for m in re.finditer(r"^(rnres-[ab]-(\d+))\b", run("ip", "netns", "list").stdout, re.M):
        if not os.path.exists("/proc/" + m.group(2)):
            run("ip", "netns", "del", m.group(1))

    work = tempfile.mkdtemp(prefix="rnres.")
    test = Test(c, g, work)
    try:
        if not api_test.run_steps(c, "create namespaces", api_test.namespace_steps(NS_A, NS_B)):
            return c.finish()
        if not make_veth(c, "create the veth pair"):
            return c.finish()
        if test.start():
            test.down_up()
            if test.remove_recreate():
                test.rename()
            test.sigterm_while_waiting()
    finally:
        if test.daemon is not None and test.daemon.running():
            test.daemon.stop(signal.SIGKILL)
        if test.sender is not None:
            test.sender.kill()
            test.sender.wait()
        api_test.kill_children()
        for ns in (NS_A, NS_B):
            run("ip", "netns", "del", ns)
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
