"""rustnet-tui's colours end to end: the client runs in a pseudo-terminal
(120x30, TERM=xterm-256color) against rustnetd replaying api_test.py's
capture, and every byte it writes is read: with NO_COLOR, --no-color or
`no-color = true` in tui.conf there is no colour escape at all (SGR 30-49,
90-107, 38;5;N); by default there are some (so the check can fail);
--theme light changes them (its heading is xterm colour 25) and tui.conf's
`theme = light` gives the same; tui.conf's `columns` narrows the table; a
bad tui.conf line, an unknown theme and the daemon's -i are refused with one
sentence and exit 2.

Environment (set by CTest): RUSTNETD, BUILD_DIR (rustnet-tui is
$BUILD_DIR/client/rustnet-tui). Prints one line per check and
"N passed, M failed"; exits 1 on failure.
"""
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (RUSTNETD, Checker, Daemon, import_grpc, kill_children,  # noqa: E402
                      make_capture, wait_serving)

TUI = os.path.join(os.environ.get("BUILD_DIR", ""), "client", "rustnet-tui")
SGR = re.compile(rb"\x1b\[([0-9;:]*)m")
MARKER = b"192.168.1.10"  # A remote address of the capture: the table is drawn.


def colour_codes(data):
    """The colour-setting SGR sequences in data, as strings ("36", "38;5;25")."""
    found = []
    for m in SGR.finditer(data):
        params = m.group(1).decode()
        codes = [int(p) for p in re.split("[;:]", params) if p.isdigit()]
        if any(30 <= n <= 49 or 90 <= n <= 97 or 100 <= n <= 107 for n in codes):
            found.append(params)
    return found


def attribute_codes(data):
    return [m.group(1).decode() for m in SGR.finditer(data)]


class Run:
    def __init__(self, rc, output, stderr_text=""):
        self.rc = rc
        self.output = output
        self.stderr = stderr_text


def run_tui(work, sock, args, env_extra=None, settle=0.6, timeout=10):
    """Runs rustnet-tui in a pty until the table shows, then q q; returns a
    Run with everything it wrote."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "XDG_CONFIG_HOME")}
    env.update({"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "HOME": work, "XDG_STATE_HOME": os.path.join(work, "state")})
    env.update(env_extra or {})
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen([TUI, "--socket", sock, "-r", "200"] + list(args), stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True,
                            close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    seen_at = None
    quit_sent = False
    try:
        while time.monotonic() < deadline:
            if seen_at is None and MARKER in out:
                seen_at = time.monotonic()
            if seen_at is not None and not quit_sent and time.monotonic() - seen_at > settle:
                os.write(master, b"qq")
                quit_sent = True
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break  # EIO: the child has gone.
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Run(rc, bytes(out))


def refused(args, env_extra=None, work=None):
    """rustnet-tui that must refuse to start: (rc, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "XDG_CONFIG_HOME")}
    env.update({"HOME": work})
    env.update(env_extra or {})
    p = subprocess.run([TUI] + list(args), capture_output=True, text=True, timeout=20, env=env,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr.strip()


def write_conf(work, name, text):
    cfg = os.path.join(work, name)
    os.makedirs(os.path.join(cfg, "rustnet"), exist_ok=True)
    with open(os.path.join(cfg, "rustnet", "tui.conf"), "w") as f:
        f.write(text)
    return cfg


def checks(c, g, work):
    capture = os.path.join(work, "theme.pcap")
    make_capture(capture)
    sock = os.path.join(work, "s.sock")
    d = Daemon(work, ["--read", capture, "--socket", sock, "--log-dir",
                      os.path.join(work, "logs")], "theme")
    up = wait_serving(g, d, "unix:" + sock)
    c.check("rustnetd replays the capture on its socket", up, d.stderr())
    if not up:
        return

    classic = run_tui(work, sock, [])
    c.check("default: the table is drawn and q q quits (exit 0)",
            MARKER in classic.output and classic.rc == 0, "rc %s, %d bytes" % (
                classic.rc, len(classic.output)))
    classic_colours = set(colour_codes(classic.output))
    c.check("default (classic): colour escapes are written (%s)" % sorted(classic_colours)[:8],
            len(classic_colours) >= 3)

    for name, args, env in (
            ("NO_COLOR=1", [], {"NO_COLOR": "1"}),
            ("--no-color", ["--no-color"], {}),
            ("tui.conf no-color = true", [],
             {"XDG_CONFIG_HOME": write_conf(work, "cfg-nocolor", "no-color = true\n")}),
            ("NO_COLOR=1 with --theme nord", ["--theme", "nord"], {"NO_COLOR": "1"})):
        r = run_tui(work, sock, args, env)
        colours = colour_codes(r.output)
        attrs = attribute_codes(r.output)
        c.check("%s: the table is drawn, with attributes (%d SGR) and no colour escape at all "
                "(%d)" % (name, len(attrs), len(colours)),
                MARKER in r.output and r.rc == 0 and attrs and not colours,
                "rc %s, colours %s" % (r.rc, colours[:10]))

    light = run_tui(work, sock, ["--theme", "light"])
    light_colours = set(colour_codes(light.output))
    c.check("--theme light: the table is drawn", MARKER in light.output and light.rc == 0)
    c.check("--theme light changes the colours (classic %s, light %s)" % (
        sorted(classic_colours)[:6], sorted(light_colours)[:6]),
        light_colours and light_colours != classic_colours and "38;5;25" in light_colours and
        "38;5;25" not in classic_colours)
    conf_light = run_tui(work, sock, [], {"XDG_CONFIG_HOME": write_conf(work, "cfg-light",
                                                                         "theme = light\n")})
    c.check("tui.conf theme = light draws as --theme light",
            set(colour_codes(conf_light.output)) == light_colours)
    over = run_tui(work, sock, ["--theme", "classic"],
                   {"XDG_CONFIG_HOME": os.path.join(work, "cfg-light")})
    c.check("--theme classic wins over tui.conf's light",
            set(colour_codes(over.output)) == classic_colours)

    narrow = run_tui(work, sock, [], {"XDG_CONFIG_HOME": write_conf(
        work, "cfg-columns", "columns = proto, remote, state\n")})
    c.check("tui.conf columns = proto, remote, state: those headers, not the others",
            b"Proto" in narrow.output and b"Remote address" in narrow.output and
            b"Local address" not in narrow.output and b"Rate in" not in narrow.output and
            b"Local address" in classic.output)

    bad = write_conf(work, "cfg-bad", "theme = light\nrefresh = 5\n")
    rc, err = refused(["--socket", sock], {"XDG_CONFIG_HOME": bad}, work)
    c.check("a bad tui.conf line: exit 2 and one sentence with file and line (%s)" % err,
            rc == 2 and err == "rustnet-tui: %s/rustnet/tui.conf line 2: unknown setting "
            "\"refresh\" (settings are theme, refresh-interval, tab, columns, no-color and "
            "no-localhost)" % bad)
    rc, err = refused(["--theme", "solarized"], work=work)
    c.check("--theme solarized: exit 2, the presets named (%s)" % err,
            rc == 2 and "unknown theme \"solarized\" (use classic, muted, vivid, "
            "catppuccin-mocha, tokyo-night, gruvbox, nord, light, colorblind)" in err and
            "\n" not in err)
    rc, err = refused(["-i", "eth0"], work=work)
    c.check("-i eth0: exit 2, it is rustnetd's option (%s)" % err,
            rc == 2 and "is rustnetd's option" in err and "--filter iface:eth0" in err)
    rc = d.stop()
    c.check("rustnetd exits 0 on SIGTERM", rc == 0, d.stderr())


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK) or not os.access(TUI, os.X_OK):
        c.check("RUSTNETD and BUILD_DIR point to rustnetd and rustnet-tui (%r, %r)" %
                (RUSTNETD, TUI), False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rntheme.")
    os.chmod(work, 0o755)
    try:
        checks(c, g, work)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
