"""The original rustnet's filter syntax through the API: one parser serves
ListConnections, WatchConnections, GroupConnections and QueryHistory, so the
original's spellings (sport:, dport:, src:, dst:, its state names) and
/regex/ terms select there exactly what our spellings select, each set also
recomputed here from `rustnetd --dump json` of the same capture; the
original's states without a counterpart and bad patterns are
INVALID_ARGUMENT with one sentence naming the column.

One daemon replays api_test.py's capture (TCP closed and open, DNS, one-way
UDP, ICMP echo) with a history store that `--dump json --history-db` filled
first. Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
Prints one line per check and "N passed, M failed"; exits 1 on failure.
"""
import os
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, Daemon, dump_json, grpc_error,  # noqa: E402
                      import_grpc, kill_children, make_capture, wait_replayed, wait_serving)


def ids(rows):
    return sorted(int(x.get("id", 0)) for x in rows)


def port(row, end):
    return int(row.get(end, {}).get("port", 0))


def addr(row, end):
    return row.get(end, {}).get("address", "")


# (original syntax, our syntax, which dump rows both must select).
PAIRS = [
    ("sport:40000", "lport:40000", lambda x: port(x, "local") == 40000),
    ("dport:53", "rport:53", lambda x: port(x, "remote") == 53),
    ("dest-port:22", "rport:22", lambda x: port(x, "remote") == 22),
    ("src:192.168", "laddr:192.168", lambda x: "192.168" in addr(x, "local")),
    ("dst:10.0.0.53", "raddr:10.0.0.53", lambda x: addr(x, "remote") == "10.0.0.53"),
    ("destination:172.16", "raddr:172.16.0.0/12",
     lambda x: addr(x, "remote").startswith("172.16.")),
    ("state:udp_active", "proto:udp state:active",
     lambda x: x.get("protocol") == "PROTOCOL_UDP" and
     x.get("state") == "CONNECTION_STATE_ACTIVE"),
    ("state:UDP_ACTIVE -dst:8.8.8.8", "proto:udp state:active -raddr:8.8.8.8",
     lambda x: x.get("protocol") == "PROTOCOL_UDP" and
     x.get("state") == "CONNECTION_STATE_ACTIVE" and addr(x, "remote") != "8.8.8.8"),
    ("state:echo_reply", "proto:icmp state:active",
     lambda x: x.get("protocol") == "PROTOCOL_ICMP" and
     x.get("state") == "CONNECTION_STATE_ACTIVE"),
    ("application:dns", "app:dns",
     lambda x: (x.get("app") or {}).get("protocol") == "APP_PROTOCOL_DNS"),
    ("dport:/^(22|80)$/", "proto:tcp -rport:443 -rport:8080",
     lambda x: port(x, "remote") in (22, 80)),
    ("/^192\\.168\\.1\\.20:/", "laddr:192.168.1.20",
     lambda x: addr(x, "local") == "192.168.1.20"),
]

# The original's states without a counterpart, and bad patterns: the
# message after "bad filter: ".
ERRORS = [
    ("state:udp_idle", "column 7: state:udp_idle is the original rustnet's idle-time state, "
                       "which rustnetd does not track; use proto:udp with state:active or "
                       "state:unreplied"),
    ("proto:tcp sni:/a(b/", "column 15: bad regular expression /a(b/: "),
    ("ip:/4/", "column 4: this key takes no /regex/; write its value as text"),
]


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnfcompat.")
    os.chmod(work, 0o755)
    try:
        checks(c, g, work)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


def checks(c, g, work):
    capture = os.path.join(work, "compat.pcap")
    make_capture(capture)
    db = os.path.join(work, "history.db")
    # The capture's clock is years ago: --history-retention 0 keeps its rows.
    keep = ["--history-retention", "0"]
    rc, dump, err = dump_json(capture, work, ["--history-db", db] + keep)
    c.check("--dump json --history-db of the capture: %d connections" % len(dump),
            rc == 0 and len(dump) == 9, "rc %d: %s" % (rc, err))
    for original, ours, want in PAIRS:
        n = len([x for x in dump if want(x)])
        c.check("the dump has rows for %s and rows without (%d of %d)" % (original, n, len(dump)),
                0 < n < len(dump))

    sock = os.path.join(work, "s.sock")
    d = Daemon(work, ["--read", capture, "--socket", sock, "--history-db", db, "--log-dir",
                      os.path.join(work, "logs")] + keep, "compat")
    target = "unix:" + sock
    up = wait_serving(g, d, target)
    c.check("rustnetd --read --history-db is serving", up, d.stderr())
    if not up:
        return
    r = g.Reflector(target)
    c.check("the capture is replayed", wait_replayed(r) is not None)
    by_id = {}
    listing = r.call(MONITOR + "/ListConnections", {}, timeout=10)
    for x in listing.get("connections", []):
        by_id[int(x["id"])] = x

    for original, ours, want in PAIRS:
        a = r.call(MONITOR + "/ListConnections", {"filter": original}, timeout=10)
        b = r.call(MONITOR + "/ListConnections", {"filter": ours}, timeout=10)
        expected = sorted(int(x["id"]) for x in listing.get("connections", []) if want(x))
        c.check("ListConnections: %r selects what %r does (%d rows), as the dump says" %
                (original, ours, len(expected)),
                ids(a.get("connections", [])) == ids(b.get("connections", [])) == expected
                and expected, "got %s and %s, want %s" % (
                    ids(a.get("connections", [])), ids(b.get("connections", [])), expected))

    # WatchConnections: the first update of a stream with the original's
    # syntax is the listing with ours.
    original, ours, _ = PAIRS[3]
    stream = r.stream(MONITOR + "/WatchConnections", {"filter": original, "interval_ms": 100},
                      timeout=10)
    try:
        first = next(iter(stream))
    except Exception as e:  # noqa: BLE001
        first = {"error": repr(e)}
    finally:
        stream.cancel()
    b = r.call(MONITOR + "/ListConnections", {"filter": ours}, timeout=10)
    c.check("WatchConnections with %r streams what ListConnections %r lists" % (original, ours),
            ids(first.get("page", {}).get("connections", [])) ==
            ids(b.get("connections", [])) and
            b.get("connections"), "%s vs %s" % (first, b))

    # GroupConnections: the same totals.
    for original, ours, want in (PAIRS[1], PAIRS[6], PAIRS[10]):
        req = {"group_by": "GROUP_BY_PROTOCOL", "include_closed": True}
        a = r.call(MONITOR + "/GroupConnections", dict(req, filter=original), timeout=10)
        b = r.call(MONITOR + "/GroupConnections", dict(req, filter=ours), timeout=10)
        total = sum(int(x.get("totalConnections", 0)) for x in a.get("groups", []))
        c.check("GroupConnections: %r groups as %r does (%d connections, the dump's %d)" %
                (original, ours, total, len([x for x in dump if want(x)])),
                a.get("groups") == b.get("groups") and
                total == len([x for x in dump if want(x)]), "%s\nvs %s" % (a, b))

    # QueryHistory: the stored rows (every dumped connection).
    stored = r.call(MONITOR + "/QueryHistory", {}, timeout=20)
    c.check("QueryHistory holds the dumped connections (%s)" % stored.get("total"),
            int(stored.get("total", 0)) >= len(dump))
    for original, ours, want in (PAIRS[0], PAIRS[4], PAIRS[10], PAIRS[11]):
        a = r.call(MONITOR + "/QueryHistory", {"filter": original}, timeout=20)
        b = r.call(MONITOR + "/QueryHistory", {"filter": ours}, timeout=20)
        rows_a = sorted((addr(x, "local"), port(x, "local"), addr(x, "remote"), port(x, "remote"))
                        for x in a.get("connections", []))
        rows_b = sorted((addr(x, "local"), port(x, "local"), addr(x, "remote"), port(x, "remote"))
                        for x in b.get("connections", []))
        n = len([x for x in dump if want(x)])
        c.check("QueryHistory: %r finds what %r does (%d rows, the dump's %d at least)" %
                (original, ours, len(rows_a), n),
                rows_a == rows_b and len(rows_a) >= n > 0, "%s\nvs %s" % (rows_a, rows_b))

    # Errors: the same sentence from every method.
    for expr, message in ERRORS:
        for method, req in (("ListConnections", {}), ("GroupConnections",
                                                      {"group_by": "GROUP_BY_PROTOCOL"}),
                            ("QueryHistory", {})):
            code, details = grpc_error(
                lambda method=method, req=req: r.call(MONITOR + "/" + method,
                                                      dict(req, filter=expr), timeout=10))
            ok = code == "INVALID_ARGUMENT" and message in details and "\n" not in details
            c.check("%s %r: INVALID_ARGUMENT, %r" % (method, expr, details), ok,
                    "code %s, details %r" % (code, details))
    # A hostile pattern over every row answers like any other filter.
    code, result = grpc_error(lambda: r.call(MONITOR + "/ListConnections",
                                             {"filter": "/(a+)+$/ /(.*a){20}x/"}, timeout=10))
    c.check("a backtracking-hostile pattern is answered (no rows)",
            code is None and not result.get("connections"), "%s %s" % (code, result))
    rc = d.stop()
    c.check("rustnetd exits 0 on SIGTERM", rc == 0, "rc %s: %s" % (rc, d.stderr()))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
