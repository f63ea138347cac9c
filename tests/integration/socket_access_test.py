#!/usr/bin/env python3
"""The API socket's owner, group and mode are its access control.

rustnetd --read (a fixture) serving on a Unix socket in a fresh directory
with --socket-group set to a group made for the test; then, each as a
separate process under setpriv:
  * a user outside the group (nobody) cannot connect (EACCES), and a gRPC
    call from it fails;
  * the same user with the group as a supplementary group connects, and a
    gRPC call through the socket answers;
  * root (the daemon's owner) connects.
Also: the socket is 0660, owned by the daemon's user and the group.

(What rustnet-tui shows then, a screen naming the socket and the group to
join, is checked by tui_test.)

Environment (set by CTest): RUSTNETD, FIXTURES.
"""
import grp
import os
import pwd
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, Daemon, wait_serving, ...)

GROUP = "rntestaccess"
CONNECT = r"""
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""


def as_user(cmd, groups=None, timeout=20):
    """Runs cmd as nobody (with `groups` as its only supplementary groups)."""
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup"]
    prefix += ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    return subprocess.run(prefix + ["--inh-caps=-all"] + cmd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def main():
    c = api_test.Checker()
    grpc_reflect = api_test.import_grpc(c)
    made_group = False
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        made_group = subprocess.run(["groupadd", "--system", GROUP]).returncode == 0
        c.check("groupadd --system %s" % GROUP, made_group)
    work = tempfile.mkdtemp(prefix="rnaccess.")
    os.chmod(work, 0o755)  # Others may reach the socket's directory; the socket decides.
    daemon = None
    try:
        gid = grp.getgrnam(GROUP).gr_gid
        sock = os.path.join(work, "run", "rustnetd.sock")
        fixture = os.path.join(os.environ["FIXTURES"], "http.pcap")
        daemon = api_test.Daemon(work, ["--read", fixture, "--socket", sock, "--socket-group",
                                        GROUP, "--log-dir", os.path.join(work, "logs"),
                                        "--config", "/dev/null"])
        up = grpc_reflect is not None and api_test.wait_serving(grpc_reflect, daemon,
                                                                "unix:" + sock)
        c.check("rustnetd serves on %s with --socket-group %s" % (sock, GROUP), up,
                daemon.stderr())
        if not up:
            return c.finish()
        st = os.stat(sock)
        c.check("the socket is 0660 (got %o)" % stat.S_IMODE(st.st_mode),
                stat.S_IMODE(st.st_mode) == 0o660)
        c.check("the socket belongs to the daemon's user and group %s (got %s:%s)" % (
            GROUP, pwd.getpwuid(st.st_uid).pw_name, st.st_gid),
            st.st_uid == os.geteuid() and st.st_gid == gid)

        out = as_user([sys.executable, "-c", CONNECT, sock]).stdout.strip()
        c.check("a user outside the group cannot connect (got %s)" % out, out == "EACCES")
        out = as_user([sys.executable, "-c", CONNECT, sock], groups=[gid]).stdout.strip()
        c.check("the same user in group %s connects (got %s)" % (GROUP, out), out == "connected")
        out = subprocess.run([sys.executable, "-c", CONNECT, sock], capture_output=True,
                             text=True, timeout=20).stdout.strip()
        c.check("the daemon's own user connects (got %s)" % out, out == "connected")

        # A gRPC call through the socket, as a group member.
        call = ("import sys; sys.path.insert(0, %r); import grpc_reflect; "
                "r = grpc_reflect.Reflector('unix:' + sys.argv[1]); "
                "print(r.call('rustnet.v1.Monitor/GetStats', {}, timeout=5)['connections'])"
                % os.path.dirname(os.path.abspath(__file__)))
        member = as_user([sys.executable, "-c", call, sock], groups=[gid])
        c.check("a group member's GetStats answers", member.returncode == 0 and
                "current" in member.stdout, member.stderr[-500:])
        outsider = as_user([sys.executable, "-c", call, sock])
        c.check("an outsider's GetStats fails", outsider.returncode != 0, outsider.stdout)

    finally:
        if daemon is not None:
            daemon.stop()
        if made_group:
            subprocess.run(["groupdel", GROUP])
        subprocess.run(["rm", "-rf", work])
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
