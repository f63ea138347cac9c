"""rustnet-tui's views end to end: rustnetd captures live on the loopback of
a private network namespace while real processes talk there (a server and a
client, copies of python3 named rn-views-server and rn-views-client: the
client makes and closes 20 TCP connections with a known number of bytes,
then keeps one open and sends a little every 100 ms), and rustnet-tui runs
in a private tmux server, driven with send-keys (keys, and xterm mouse
reports for clicks) and read with capture-pane:

- every tab reached by its number, by `]`, and by a mouse click on its
  label in the title bar;
- Overview: `t` shows the closed connections (with their close reason),
  `a` groups them under their process, a click selects a row;
- Activity lists the client (or server) process with its 21 connections and
  the bytes the API reports for it;
- Graph draws non-empty charts; Interfaces shows lo's counters rising;
- History answers (rustnetd --history-db) for a range typed at its prompt;
- a resize to 60x20 and back leaves a well-formed screen; q q quits.

Needs root (network namespaces) and tmux. Environment (set by CTest):
RUSTNETD, BUILD_DIR.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (Checker, Daemon, wait_serving, import_grpc)

RUSTNETD = api_test.RUSTNETD
MONITOR = api_test.MONITOR
BUILD_DIR = os.environ.get("BUILD_DIR", "")
TUI = os.path.join(BUILD_DIR, "client", "rustnet-tui")
NS = "rntuiv-%d" % os.getpid()
PORT = 8471
N_CONN = 20
SEND, RECV = 1000, 2000

SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
def serve(c):
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            if data.startswith(b"Q"):
                c.sendall(b"R" * %d)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
""" % RECV

CLIENT = r"""
import socket, sys, time
port = int(sys.argv[1])
# All at once, held a moment: short enough to be quick, long enough for
# rustnetd to find their sockets' owner.
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(%d)]
for c in conns:
    c.sendall(b"Q" * %d)
for c in conns:
    got = 0
    while got < %d:
        got += len(c.recv(65536))
time.sleep(0.5)
for c in conns:
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
print("done", flush=True)
keep = socket.create_connection(("127.0.0.1", port))
end = time.monotonic() + 120
while time.monotonic() < end:
    keep.sendall(b"x" * 500)
    time.sleep(0.1)
""" % (N_CONN, SEND, RECV)


def ns(*cmd):
    return ["ip", "netns", "exec", NS] + list(cmd)


def format_bytes(n):
    """client/format.cc's FormatBytes."""
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    v = float(n)
    if v < 1023.5:
        return "%d B" % round(v)
    u = 0
    while v >= 1023.5 and u + 1 < len(units):
        v /= 1024.0
        u += 1
    fmt = "%.2f %s" if v < 9.995 else "%.1f %s" if v < 99.95 else "%.0f %s"
    return fmt % (v, units[u])


class Tmux:
    def __init__(self, work):
        self.sock = os.path.join(work, "tmux.sock")

    def run(self, *args, timeout=10):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "v").stdout

    def keys(self, *keys):
        for k in keys:
            self.run("send-keys", "-t", "v", k)
            time.sleep(0.05)

    def click(self, x, y):
        """An xterm (X10) mouse report: left button pressed, then released."""
        def report(button):
            return "\x1b[M" + chr(32 + button) + chr(33 + x) + chr(33 + y)
        self.run("send-keys", "-t", "v", "-l", report(0))
        self.run("send-keys", "-t", "v", "-l", report(3))
        time.sleep(0.05)

    def wait_until(self, predicate, timeout=6.0):
        """The screen once predicate(screen) holds (or the last one, and False)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if predicate(s):
                return s, True
            if time.monotonic() > deadline:
                return s, False
            time.sleep(0.1)

    def wait_for(self, pattern, timeout=6.0):
        """The screen once it matches the regex (or the last one, and False)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if re.search(pattern, s):
                return s, True
            if time.monotonic() > deadline:
                return s, False
            time.sleep(0.1)


# What each tab shows, to know it is there.
TAB_MARKS = [
    ("Overview", r"Local address"),
    ("Details", r"Endpoints|No connection selected"),
    ("Activity", r"Activity per process"),
    ("Graph", r"Traffic in"),
    ("Interfaces", r"Interface +State"),
    ("History", r"Closed +Proto"),
    ("Help", r"Keys everywhere"),
]


def tab_positions(screen):
    """x of each tab's label on the title row."""
    title = screen.splitlines()[0] if screen else ""
    out = {}
    for name, _ in TAB_MARKS:
        i = title.find(" " + name + " ")
        if i >= 0:
            out[name] = i + 1
    return out


def main():
    c = api_test.Checker()
    if os.geteuid() != 0:
        c.check("running as root (network namespaces); run the tests with sudo", False)
        return c.finish()
    if not shutil.which("tmux"):
        c.check("tmux is installed (scripts/setup.sh test installs it)", False)
        return c.finish()
    if not os.access(TUI, os.X_OK):
        c.check("rustnet-tui is built at %s" % TUI, False)
        return c.finish()
    grpc_reflect = api_test.import_grpc(c)
    if grpc_reflect is None:
        return c.finish()

    work = tempfile.mkdtemp(prefix="rntuiv.")
    os.chmod(work, 0o755)
    procs = []
    daemon = None
    tmux = Tmux(work)
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True, timeout=10)
        subprocess.run(ns("ip", "link", "set", "lo", "up"), check=True, timeout=10)
        python = os.path.realpath("/usr/bin/python3")
        exes = {}
        for name in ("rn-views-server", "rn-views-client"):
            exes[name] = os.path.join(work, name)
            shutil.copy(python, exes[name])
            os.chmod(exes[name], 0o755)
        sock = os.path.join(work, "rustnetd.sock")
        daemon = api_test.Daemon(work, ["-i", "lo", "--socket", sock, "--log-dir",
                                        os.path.join(work, "logs"), "--history-db",
                                        os.path.join(work, "history.db")],
                                 netns=NS)
        target = "unix:" + sock
        serving = api_test.wait_serving(grpc_reflect, daemon, target)
        c.check("rustnetd -i lo answers", serving, daemon.stderr())
        if not serving:
            return c.finish()
        api = grpc_reflect.Reflector(target)

        server = subprocess.Popen(ns(exes["rn-views-server"], "-c", SERVER, str(PORT)),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(server)
        time.sleep(0.3)
        client = subprocess.Popen(ns(exes["rn-views-client"], "-c", CLIENT, str(PORT)),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        procs.append(client)
        line = client.stdout.readline()  # Bounded: the client finishes in ~1 s.
        c.check("the client made and closed %d connections" % N_CONN, line.strip() == "done")

        tmux.run("new-session", "-d", "-x", "160", "-y", "45", "-s", "v",
                 "env LANG=C.UTF-8 TERM=screen %s --socket %s --log-dir %s --refresh-interval 500; "
                 "sleep 30" % (TUI, sock, os.path.join(work, "tlogs")))
        screen, ok = tmux.wait_for(r"Local address")
        c.check("Overview shows the table", ok, screen)

        # --- Every tab: by number, by ], by a click ---------------------------------
        for i, (name, mark) in enumerate(TAB_MARKS):
            tmux.keys(str(i + 1))
            screen, ok = tmux.wait_for(mark)
            c.check("key %d shows %s" % (i + 1, name), ok, screen)
        tmux.keys("1")
        for i in range(1, len(TAB_MARKS) + 1):
            name, mark = TAB_MARKS[i % len(TAB_MARKS)]
            tmux.keys("]")
            screen, ok = tmux.wait_for(mark)
            c.check("] reaches %s" % name, ok, screen)
        positions = tab_positions(tmux.screen())
        c.check("the title bar shows every tab's label", len(positions) == len(TAB_MARKS),
                str(positions))
        for name, mark in reversed(TAB_MARKS):
            if name not in positions:
                continue
            tmux.click(positions[name] + 1, 0)
            screen, ok = tmux.wait_for(mark)
            c.check("a click on its label shows %s" % name, ok, screen)

        # --- Activity ---------------------------------------------------------------
        groups = api.call(MONITOR + "/GroupConnections",
                          {"groupBy": "GROUP_BY_PROCESS", "includeClosed": True},
                          timeout=5).get("groups", [])
        busy = [g for g in groups if int(g.get("totalConnections", 0)) > N_CONN]
        c.check("the API groups %d+ connections under one process" % N_CONN, len(busy) >= 1,
                str(groups))
        tmux.keys("3")
        screen, ok = tmux.wait_for(r"rn-views-(client|server) /")
        c.check("Activity lists the processes", ok, screen)
        if busy:
            g = busy[0]
            name = g["key"].split(" ")[0]
            row = next((l for l in screen.splitlines() if l.startswith(name)), "")
            c.check("Activity's row for %s has its %s connections" % (name, g["totalConnections"]),
                    re.search(r"\s%s\s" % g["totalConnections"], row) is not None, row)
            # Bytes in as the API had them a moment ago (they may have grown since).
            c.check("Activity's row shows the process's bytes",
                    re.search(r"\d+(\.\d+)? [KM]?B\s", row) is not None, row)

        # --- Graph ------------------------------------------------------------------
        tmux.keys("4")
        screen, ok = tmux.wait_for(r"Traffic in")
        c.check("Graph draws bars", ok and re.search("[\u2581-\u2588]", screen) is not None,
                screen)
        c.check("Graph's axis has units", re.search(r"B/s \u2502", screen) is not None, screen)
        tmux.keys("w")
        screen, ok = tmux.wait_for(r"last 10m")
        c.check("w switches the window", ok, screen)

        # --- Interfaces: lo's counters rise ------------------------------------------
        tmux.keys("5")
        lo_re = re.compile(r"^\* lo\s+running\s+(\S+ \S+)\s+(\S+ \S+)\s+\S+\s+\S+\s+(\S+ \S+)", re.M)
        screen, ok = tmux.wait_for(lo_re.pattern.replace("^", ""), timeout=8)
        m1 = lo_re.search(screen)
        c.check("Interfaces shows lo, captured, with a rate", m1 is not None, screen)
        if m1:
            time.sleep(2.5)
            m2 = lo_re.search(tmux.screen())
            c.check("lo's rate is not zero while the client sends", m1.group(1) != "0 B/s",
                    m1.group(0))
            c.check("lo's byte counter rises", m2 is not None and m2.group(3) != m1.group(3),
                    "%s -> %s" % (m1.group(0), m2.group(0) if m2 else None))

        # --- History ------------------------------------------------------------------
        tmux.keys("6", "e")
        tmux.run("send-keys", "-t", "v", "-l", "1h")
        tmux.keys("Enter")
        screen, ok = tmux.wait_for(r"History \u00b7 since \d{4}-")
        c.check("History takes a time range at its prompt", ok, screen)

        # --- Overview: t, a, a click on a row --------------------------------------
        tmux.keys("1", "/")
        tmux.run("send-keys", "-t", "v", "-l", "port:%d" % PORT)
        tmux.keys("Enter")
        screen, ok = tmux.wait_for(r"filter: port:%d" % PORT)
        c.check("the filter is applied", ok, screen)
        tmux.keys("t")
        # Closed connections leave the table 10 s after their FINs
        # (TIME_WAIT); then `t` lists them from the daemon's memory.
        screen, ok = tmux.wait_for("\u2715 fin", timeout=15)
        c.check("t shows the closed connections with their close reason", ok, screen)
        c.check("t says so on the query line", "closed shown" in screen, screen)
        tmux.keys("a")
        screen, ok = tmux.wait_for(r"rn-views-(client|server) \u00b7 2\d connections")
        c.check("a groups the connections under their process", ok, screen)
        tmux.keys("a", "t")
        def live_row(s):
            return any(l.startswith("TCP") and ":%d" % PORT in l for l in s.splitlines())
        screen, ok = tmux.wait_until(
            lambda s: "closed shown" not in s and "grouped" not in s and live_row(s))
        rows = [i for i, l in enumerate(screen.splitlines())
                if l.startswith("TCP") and ":%d" % PORT in l]
        if rows:
            tmux.click(5, rows[0])
            tmux.click(5, rows[0])  # A double click opens Details.
            screen, ok = tmux.wait_for(r"Endpoints")
            c.check("a double click on a row opens Details", ok, screen)
            tmux.keys("Escape")
        else:
            c.check("Overview lists the live connection", False, screen)
        tmux.keys("x")

        # --- Resize -------------------------------------------------------------------
        tmux.keys("1")
        tmux.run("resize-window", "-t", "v", "-x", "60", "-y", "20")
        screen, ok = tmux.wait_for(r"^ rustnet .*Ovw", timeout=5)
        lines = screen.splitlines()
        c.check("at 60x20 the title bar uses short tab names", ok, screen)
        c.check("at 60x20 every line fits", all(len(l) <= 60 for l in lines) and len(lines) <= 20,
                screen)
        tmux.run("resize-window", "-t", "v", "-x", "160", "-y", "45")
        screen, ok = tmux.wait_until(
            lambda s: " Interfaces " in s.splitlines()[0] and "Local address" in s, timeout=5)
        c.check("back at 160x45 the table is whole again", ok, screen)

        tmux.keys("q", "q")
        screen, ok = tmux.wait_for(r"^(?![\s\S]*Local address)", timeout=5)
        c.check("q q quits", ok, screen)
    finally:
        tmux.run("kill-server")
        for p in procs:
            p.kill()
            p.wait(timeout=10)
        if daemon is not None:
            daemon.stop()
        subprocess.run(["ip", "netns", "del", NS], timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
