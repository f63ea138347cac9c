"""The in-memory history of closed connections, end to end through the API.

A capture made here: a TCP session closed by FIN (it enters TIME_WAIT), one
left open, and, 30 s of packet time later (past the 10 s TIME_WAIT
timeout), one UDP packet that moves the daemon's clock on, so the closed
session is removed from the table. Served by `rustnetd --read FILE
--socket`, the closed session must be gone from ListConnections, and be
there with include_closed (closed, closedAt, closeReason FIN) with the
counters `--dump json --dump-expired` gives it; filters and paging apply
to it; WatchConnections with include_closed carries it; GetStats counts the
history. Then, with three closed sessions and --history-size 1, one is
kept and two are counted as dropped; and --history-size 0 keeps none.

Prints one line per check and "N passed, M failed"; exits 1 on failure.
Environment (set by CTest): RUSTNETD, FIXTURES, BUILD_DIR, SOURCE_DIR.
"""
import os
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, PcapWriter, dump_json, import_grpc,  # noqa: E402
                      kill_children, n64, projection, tcp_session, serve_replay)


def make_capture(path, closed_sessions):
    """`closed_sessions` FIN sessions from 10.0.0.1:40000.., one open session
    from 10.0.0.1:41000, then a UDP packet 30 s later."""
    w = PcapWriter(path)
    for i in range(closed_sessions):
        tcp_session(w, ("10.0.0.1", 40000 + i), ("10.0.0.2", 80), 120 + i, 1200, "fin")
    tcp_session(w, ("10.0.0.1", 41000), ("10.0.0.3", 443), 300, 3000, "open")
    w.udp("10.0.0.1", "10.0.0.53", 33333, 53, b"late", dt=30.0)
    w.close()


def local_port(row):
    return int(row.get("local", {}).get("port", 0))


serve = serve_replay  # (daemon, reflector, stats)


def closed_checks(c, g, work):
    capture = os.path.join(work, "closed.pcap")
    make_capture(capture, 1)
    rc, final, err = dump_json(capture, work)
    c.check("--dump json: the FIN session is gone from the final table",
            rc == 0 and sorted(local_port(x) for x in final) == [33333, 41000],
            "rc %d, rows %s, stderr %s" % (rc, final, err))
    rc, expired, err = dump_json(capture, work, ["--dump-expired"])
    dumped = [x for x in expired if local_port(x) == 40000]
    c.check("--dump json --dump-expired: the FIN session is there, in TIME_WAIT",
            rc == 0 and len(dumped) == 1 and
            dumped[0].get("state") == "CONNECTION_STATE_TIME_WAIT",
            "rc %d, rows %s, stderr %s" % (rc, expired, err))
    if not dumped:
        return
    dumped = dumped[0]

    d, r, stats = serve(c, g, work, "history", capture)
    if r is None:
        return
    live = r.call(MONITOR + "/ListConnections", {}, timeout=10)
    rows = live.get("connections", [])
    c.check("ListConnections: the closed session is gone from the live list",
            sorted(local_port(x) for x in rows) == [33333, 41000] and
            not any(x.get("closed") for x in rows), rows)

    both = r.call(MONITOR + "/ListConnections", {"include_closed": True}, timeout=10)
    rows = both.get("connections", [])
    closed = [x for x in rows if local_port(x) == 40000]
    c.check("include_closed: live and closed rows, total and matched count both (3)",
            len(rows) == 3 and n64(both, "total") == 3 and n64(both, "matched") == 3, both)
    ok = len(closed) == 1
    c.check("include_closed: the session is there once, closed", ok and closed[0].get("closed"),
            rows)
    if ok:
        row = closed[0]
        c.check("its close reason is FIN (the table closed it before the timeout)",
                row.get("closeReason") == "CLOSE_REASON_FIN", row)
        c.check("it has closedAt, after its last packet",
                "closedAt" in row and row["closedAt"] >= row.get("lastSeen", ""), row)
        c.check("its id, endpoints, counters and state are the --dump-expired row's",
                projection(row) == projection(dumped),
                "api  %s\ndump %s" % (projection(row), projection(dumped)))
        c.check("its application record and first/last seen are the dump's too",
                row.get("app") == dumped.get("app") and
                row.get("firstSeen") == dumped.get("firstSeen") and
                row.get("lastSeen") == dumped.get("lastSeen"),
                "api  %s\ndump %s" % (row, dumped))
    live_rows = [x for x in rows if local_port(x) != 40000]
    c.check("include_closed: the live rows are not marked closed",
            len(live_rows) == 2 and not any(x.get("closed") or "closedAt" in x
                                            for x in live_rows), live_rows)

    # Filters and paging work across both.
    f = r.call(MONITOR + "/ListConnections", {"include_closed": True, "filter": "port:80"},
               timeout=10)
    c.check("include_closed with filter port:80: only the closed session",
            [local_port(x) for x in f.get("connections", [])] == [40000] and
            n64(f, "matched") == 1, f)
    pages = []
    for offset in range(4):
        p = r.call(MONITOR + "/ListConnections",
                   {"include_closed": True, "sort": "SORT_FIELD_BYTES_TOTAL",
                    "order": "SORT_ORDER_DESCENDING", "offset": offset, "limit": 1}, timeout=10)
        pages += [x.get("id") for x in p.get("connections", [])]
    full = r.call(MONITOR + "/ListConnections",
                  {"include_closed": True, "sort": "SORT_FIELD_BYTES_TOTAL",
                   "order": "SORT_ORDER_DESCENDING"}, timeout=10)
    c.check("include_closed: pages of 1 concatenate to the sorted list",
            pages == [x.get("id") for x in full.get("connections", [])] and len(pages) == 3,
            "pages %s, full %s" % (pages, full))

    # WatchConnections.
    try:
        with r.stream(MONITOR + "/WatchConnections",
                      {"include_closed": True, "filter": "port:80"}, timeout=10) as s:
            update = next(s)
        page = update.get("page", {}).get("connections", [])
        c.check("WatchConnections with include_closed carries the closed session",
                len(page) == 1 and page[0].get("closed") and local_port(page[0]) == 40000,
                update)
    except Exception as e:  # noqa: BLE001
        c.check("WatchConnections with include_closed carries the closed session", False, repr(e))

    conns = stats.get("connections", {})
    c.check("GetStats: history size 1, capacity 10000, nothing dropped",
            n64(conns, "historySize") == 1 and n64(conns, "historyCapacity") == 10000 and
            n64(conns, "historyDropped") == 0, conns)
    r.close()
    c.check("the daemon stops cleanly on SIGTERM", d.stop() == 0, d.stderr())


def bounded_checks(c, g, work):
    capture = os.path.join(work, "three.pcap")
    make_capture(capture, 3)
    d, r, stats = serve(c, g, work, "one", capture, ["--history-size", "1"])
    if r is None:
        return
    conns = stats.get("connections", {})
    c.check("--history-size 1: three closed, one kept, two dropped",
            n64(conns, "historySize") == 1 and n64(conns, "historyCapacity") == 1 and
            n64(conns, "historyDropped") == 2, conns)
    rows = r.call(MONITOR + "/ListConnections", {"include_closed": True},
                  timeout=10).get("connections", [])
    closed = [x for x in rows if x.get("closed")]
    c.check("--history-size 1: include_closed gives the two live rows and one closed",
            len(rows) == 3 and len(closed) == 1 and 40000 <= local_port(closed[0]) <= 40002,
            rows)
    r.close()
    d.stop()

    d, r, stats = serve(c, g, work, "off", capture, ["--history-size", "0"])
    if r is None:
        return
    conns = stats.get("connections", {})
    rows = r.call(MONITOR + "/ListConnections", {"include_closed": True},
                  timeout=10).get("connections", [])
    c.check("--history-size 0: no history (capacity 0), include_closed gives the live rows",
            n64(conns, "historyCapacity") == 0 and len(rows) == 2 and
            not any(x.get("closed") for x in rows), "%s %s" % (conns, rows))
    r.close()
    d.stop()


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnhist.")
    try:
        closed_checks(c, g, work)
        bounded_checks(c, g, work)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
