#!/usr/bin/env python3
"""The history store wired into rustnetd (--history-db PATH, QueryHistory).

  - --read F --history-db DB --dump json: the dump is the one without the
    store, and every dumped connection is stored (closed at the end, reason
    shutdown);
  - a serving daemon on another capture appends to the same store; after
    SIGTERM and a third daemon, the rows of all three runs are there
    (compared by endpoints and counters: ids are each run's own);
  - QueryHistory: a filter and a time window give the dump's matching rows,
    total counts them, pages of 2 concatenate to the whole list; bad
    filters and limits are INVALID_ARGUMENT; GetStats.history_store counts
    the rows; sqlite3's PRAGMA integrity_check is ok;
  - SIGKILL mid-replay of a larger capture: the store opens, is consistent,
    and holds no more rows than the capture's connections;
  - a read-only directory at start: the daemon serves anyway, GetStats shows
    history_store.healthy false with last_error, the failure is logged once;
  - the store's disk fills up mid-replay (a 1 MiB tmpfs): capture and the
    API go on, GetStats shows the error and the rows dropped, it is logged
    once; once the filesystem grows, the final table is stored;
  - the database overwritten with garbage while serving: it is moved aside
    and a fresh store holds the final table;
  - without --history-db: QueryHistory is FAILED_PRECONDITION with the
    sentence that says what to do.
"""
import datetime
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_test import (MONITOR, RUSTNETD, Checker, Daemon, PcapWriter, dump_json, grpc_error,  # noqa: E402
                      import_grpc, kill_children, n64, tcp_session, serve_replay, wait_serving)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def key(row):
    """A connection across runs: endpoints and counters (ids restart)."""
    return (row.get("protocol"), row.get("local", {}).get("address"),
            row.get("local", {}).get("port", 0), row.get("remote", {}).get("address"),
            row.get("remote", {}).get("port", 0), n64(row, "sent", "packets"),
            n64(row, "sent", "bytes"), n64(row, "received", "packets"),
            n64(row, "received", "bytes"))


def unnamed(row):
    return {k: v for k, v in row.items() if k not in ("hostname", "hostnameSource")}


def ports(row):
    return {row.get("local", {}).get("port", 0), row.get("remote", {}).get("port", 0)}


def integrity(db):
    p = subprocess.run(["sqlite3", db, "PRAGMA integrity_check;"], capture_output=True,
                       text=True, timeout=60)
    return p.stdout.strip(), p.stderr.strip()


def row_count(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        name = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                           "'sqlite_%' ORDER BY name").fetchall()
        tables = [n[0] for n in name]
        table = "connections" if "connections" in tables else tables[0]
        return con.execute("SELECT COUNT(*) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


def serve(c, g, work, name, capture, extra_args):
    return serve_replay(c, g, work, name, capture, extra_args)[:2]


def query(r, request):
    return r.call(MONITOR + "/QueryHistory", request, timeout=20)


def stored_checks(c, g, work):
    db = os.path.join(work, "history.db")
    first = os.path.join(FIXTURES, "dns.pcap")
    second = os.path.join(FIXTURES, "http.pcap")
    third = os.path.join(FIXTURES, "tls.pcap")

    rc, plain, err = dump_json(first, work)
    # The fixtures are years old: --history-retention 0 keeps their rows.
    keep = ["--history-retention", "0"]
    rc2, dumped, err2 = dump_json(first, work, ["--history-db", db] + keep)
    # (hostname from the DNS cache depends on which worker saw the answer
    # first, with or without the store: left out.)
    c.check("--dump json with --history-db: exit 0, the same dump as without",
            rc == 0 and rc2 == 0 and [unnamed(x) for x in plain] == [unnamed(x) for x in dumped]
            and len(dumped) > 0,
            "rc %d/%d, stderr %s / %s" % (rc, rc2, err, err2))
    c.check("the store exists after the dump", os.path.exists(db))
    _, second_dump, _ = dump_json(second, work)
    expired_db = os.path.join(work, "expired.db")
    rc, expired, err = dump_json(second, work, ["--dump-expired", "--history-db", expired_db])
    try:
        n = row_count(expired_db)
    except Exception as e:  # noqa: BLE001
        n, err = -1, str(e)
    c.check("--dump-expired --history-db: each connection stored once (%d)" % len(expired),
            rc == 0 and n == len(expired), "rc %d, rows %s, %s" % (rc, n, err))
    _, third_dump, _ = dump_json(third, work)

    d, r = serve(c, g, work, "second", second, ["--history-db", db] + keep)
    if r is None:
        return
    rc = d.stop()
    c.check("second: SIGTERM stops it (exit 0)", rc == 0, "rc %s, stderr %s" % (rc, d.stderr()))
    d, r = serve(c, g, work, "third", third, ["--history-db", db] + keep)
    if r is None:
        return
    try:
        everything = query(r, {})
        rows = everything.get("connections", [])
        stored = sorted(key(x) for x in rows)
        c.check("QueryHistory: before the third run ends, the first two runs' rows, total right",
                sorted(key(x) for x in dumped + second_dump) ==
                sorted(k for k in stored if k in set(key(x) for x in dumped + second_dump)) and
                n64(everything, "total") == len(rows),
                "stored %s\nfirst %s\nsecond %s" % (stored, sorted(key(x) for x in dumped),
                                                   sorted(key(x) for x in second_dump)))
        c.check("stored rows are closed, with closedAt and a close reason",
                rows and all(x.get("closed") and "closedAt" in x and "closeReason" in x
                             for x in rows), rows[:3])

        # A filter and a time window: the first capture's port-53 rows.
        dns_rows = [x for x in dumped if 53 in ports(x)]
        since = min(x["firstSeen"] for x in dumped)
        last = max(datetime.datetime.fromisoformat(x["lastSeen"].replace("Z", "+00:00"))
                   for x in dumped)
        until = (last + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        got = query(r, {"filter": "port:53", "since": since, "until": until})
        got_rows = got.get("connections", [])
        expect = sorted(key(x) for x in dns_rows)
        c.check("QueryHistory filter port:53 with the first capture's window: its port-53 rows",
                len(dns_rows) > 0 and all(53 in ports(x) for x in got_rows) and
                all(k in [key(x) for x in got_rows] for k in expect) and
                n64(got, "total") == len(got_rows),
                "expected %s\ngot %s" % (expect, sorted(key(x) for x in got_rows)))
        never = query(r, {"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"})
        c.check("QueryHistory: a window before every capture is empty",
                not never.get("connections") and n64(never, "total") == 0, never)

        # Paging.
        order = {"sort": "SORT_FIELD_BYTES_TOTAL", "order": "SORT_ORDER_DESCENDING"}
        full = query(r, order)
        pages = []
        for offset in range(0, len(full.get("connections", [])) + 2, 2):
            p = query(r, dict(order, offset=offset, limit=2))
            pages += p.get("connections", [])
            c.check("page at offset %d: total is the whole count" % offset,
                    n64(p, "total") == n64(full, "total"), p)
        c.check("pages of 2 concatenate to the sorted list",
                [key(x) for x in pages] == [key(x) for x in full.get("connections", [])], "")

        code, detail = grpc_error(lambda: query(r, {"filter": "port:"}))
        c.check("a bad filter: INVALID_ARGUMENT with the parser's message",
                code == "INVALID_ARGUMENT" and detail, "%s %s" % (code, detail))
        code, detail = grpc_error(lambda: query(r, {"limit": 10001}))
        c.check("limit over 10,000: INVALID_ARGUMENT",
                code == "INVALID_ARGUMENT" and "10000" in detail, "%s %s" % (code, detail))

        stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("historyStore", {})
        c.check("GetStats history_store: path, healthy",
                stats.get("path") == db and stats.get("healthy"), stats)
    finally:
        rc = d.stop()
    c.check("third: SIGTERM stops it (exit 0)", rc == 0, "rc %s" % rc)
    logs = os.path.join(work, "third-logs")
    text = "".join(open(os.path.join(logs, f), errors="replace").read() for f in os.listdir(logs))
    c.check("third: its rows (%d) are written at shutdown, and logged" % len(third_dump),
            "history store %s: %d rows written, 0 dropped" % (db, len(third_dump)) in text,
            [x for x in text.splitlines() if "history store" in x])
    want = sorted(key(x) for x in dumped + second_dump + third_dump)
    have = sorted(key(x) for x in [])
    try:
        con_rows = row_count(db)
    except Exception as e:  # noqa: BLE001
        con_rows = str(e)
    c.check("after three runs the store holds every run's rows (%d)" % len(want),
            con_rows == len(want), "rows %s, want %d %s" % (con_rows, len(want), have))
    ok, err = integrity(db)
    c.check("sqlite3 PRAGMA integrity_check: ok", ok == "ok", "%s %s" % (ok, err))


def make_big_capture(path, sessions):
    w = PcapWriter(path)
    for i in range(sessions):
        a = "10.%d.%d.1" % (1 + i // 60000, (i // 250) % 240)
        tcp_session(w, (a, 1024 + i % 60000), ("10.200.0.2", 80), 100, 300, "fin")
    w.close()


def kill_checks(c, g, work):
    capture = os.path.join(work, "big.pcap")
    sessions = 60000
    make_big_capture(capture, sessions)
    db = os.path.join(work, "killed.db")
    sock = os.path.join(work, "kill.sock")
    # (The capture is from 2023: the default retention of 30 days would
    # delete its rows as they come.)
    d = Daemon(work, ["--read", capture, "--history-db", db, "--history-retention", "0",
                      "--socket", sock, "--log-dir", os.path.join(work, "kill-logs")], "killed")
    # Rows GetStats says were committed: a SIGKILL must not lose them (only
    # what was queued or in the batch being written).
    committed = expired = 0
    if wait_serving(g, d, "unix:" + sock):
        r = g.Reflector("unix:" + sock)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and d.running():
            try:
                h = r.call(MONITOR + "/GetStats", {}, timeout=5).get("historyStore", {})
                committed = n64(h, "rowsWritten")
                expired = n64(h, "rowsExpired")
            except Exception:  # noqa: BLE001
                pass
            if committed > 0:
                break
            time.sleep(0.02)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    c.check("SIGKILL once rows were committed (%d)" % committed, committed > 0, d.stderr())
    ok, err = integrity(db)
    c.check("after SIGKILL: integrity_check ok", ok == "ok", "%s %s" % (ok, err))
    try:
        n = row_count(db)
    except Exception as e:  # noqa: BLE001
        n = -1
        err = str(e)
    c.check("after SIGKILL: %d rows: every committed one (%d), at most the capture's %d "
            "connections" % (n, committed, sessions),
            expired == 0 and committed <= n <= sessions, "%s expired, %s" % (expired, err))


def open_error_checks(c, work):
    for db, sentence in (
            ("/nonexistent/dir/h.db", "rustnetd: the directory of --history-db "
             "/nonexistent/dir/h.db (/nonexistent/dir) does not exist; create it first\n"),
            (work, "rustnetd: --history-db %s is a directory; give a file name inside it\n"
             % work)):
        rc, rows, err = dump_json(os.path.join(FIXTURES, "dns.pcap"), work, ["--history-db", db])
        c.check("--history-db %s: exit 1 with one sentence" % db,
                rc == 1 and err == sentence and not rows, "rc %d, stderr %r" % (rc, err))


def read_only_checks(c, g, work):
    ro = os.path.join(work, "ro")
    os.mkdir(ro)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]).returncode != 0:
        c.check("read-only directory: tmpfs mounted (needs root)", False)
        return
    try:
        db = os.path.join(ro, "history.db")
        d, r = serve(c, g, work, "readonly", os.path.join(FIXTURES, "http.pcap"),
                     ["--history-db", db])
        if r is None:
            return
        try:
            live = r.call(MONITOR + "/ListConnections", {}, timeout=10)
            c.check("read-only directory: the API serves the capture",
                    len(live.get("connections", [])) > 0, live)
            time.sleep(1.5)
            stats = r.call(MONITOR + "/GetStats", {}, timeout=10).get("historyStore", {})
            c.check("GetStats history_store: healthy false, last_error set",
                    not stats.get("healthy") and stats.get("lastError"), stats)
        finally:
            d.stop()
        logs = os.path.join(work, "readonly-logs")
        text = "".join(open(os.path.join(logs, f), errors="replace").read()
                       for f in os.listdir(logs))
        failures = [line for line in text.splitlines()
                    if db in line and ("error" in line or "warn" in line)
                    and "rows written" not in line]
        c.check("the failure is logged once", len(failures) == 1, "\n".join(failures) or text)
    finally:
        subprocess.run(["umount", ro])


def log_text(logs):
    return "".join(open(os.path.join(logs, f), errors="replace").read()
                   for f in os.listdir(logs))


def disk_full_checks(c, g, work):
    """The store's disk fills up mid-replay: capture and the API go on, the
    failure is logged once and shown in GetStats, rows are dropped and
    counted; given room, the store writes again (the final table at
    shutdown)."""
    mnt = os.path.join(work, "small")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).returncode:
        c.check("disk full: tmpfs mounted (needs root)", False)
        return
    try:
        capture = os.path.join(work, "big.pcap")
        if not os.path.exists(capture):
            make_big_capture(capture, 60000)
        db = os.path.join(mnt, "history.db")
        d, r = serve(c, g, work, "diskfull", capture,
                        ["--history-db", db, "--history-retention", "0",
                         "--history-max-size", "0"])
        if r is None:
            return
        try:
            h = {}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                h = r.call(MONITOR + "/GetStats", {}, timeout=10).get("historyStore", {})
                if not h.get("healthy") and n64(h, "rowsDropped") > 0:
                    break
                time.sleep(0.2)
            c.check("disk full: GetStats shows the store unhealthy, the error, rows dropped",
                    not h.get("healthy") and "full" in h.get("lastError", "") and
                    n64(h, "rowsDropped") > 0 and n64(h, "rowsWritten") > 0, h)
            live = r.call(MONITOR + "/ListConnections", {"limit": 5}, timeout=10)
            stats = r.call(MONITOR + "/GetStats", {}, timeout=10)
            c.check("disk full: the capture went to its end and the API serves it",
                    stats.get("captures", [{}])[0].get("finished") is True and
                    len(live.get("connections", [])) == 5, stats.get("captures"))
            # Room again (the filesystem grows): the shutdown's final table
            # is written.
            subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
            before = row_count(db)
        finally:
            d.stop()
        logs = os.path.join(work, "diskfull-logs")
        text = log_text(logs)
        failures = [line for line in text.splitlines() if "full" in line and "[info]" not in line]
        c.check("disk full: the failure is logged once", len(failures) == 1,
                "\n".join(failures) or text[-2000:])
        ok, err = integrity(db)
        after = row_count(db)
        c.check("disk full: after room came back, the final table was stored (%d -> %d rows), "
                "integrity ok" % (before, after), ok == "ok" and after > before,
                "%s %s\n%s" % (ok, err, text[-2000:]))
    finally:
        subprocess.run(["umount", "-l", mnt])


def garbage_checks(c, g, work):
    """The database file is overwritten with garbage while rustnetd serves:
    the next write moves it aside and starts a fresh store."""
    db = os.path.join(work, "garbage.db")
    capture = os.path.join(FIXTURES, "http.pcap")
    rc, rows, _ = dump_json(capture, work)
    d, r = serve(c, g, work, "garbage", capture, ["--history-db", db,
                                                     "--history-retention", "0"])
    if r is None:
        return
    try:
        with open(db, "r+b") as f:
            f.write(os.urandom(64 * 1024))
        live = r.call(MONITOR + "/ListConnections", {}, timeout=10)
        c.check("garbage: the API still serves", len(live.get("connections", [])) == len(rows),
                live)
    finally:
        d.stop()
    aside = [f for f in os.listdir(work) if f.startswith("garbage.db.corrupt-")]
    ok, err = integrity(db)
    n = row_count(db) if ok == "ok" else -1
    text = log_text(os.path.join(work, "garbage-logs"))
    c.check("garbage: moved aside (%s), a fresh store holds the %d connections of the end" %
            (aside, len(rows)), len(aside) == 1 and ok == "ok" and n == len(rows),
            "%s %s rows %d\n%s" % (ok, err, n, text[-2000:]))


def no_store_checks(c, g, work):
    d, r = serve(c, g, work, "nostore", os.path.join(FIXTURES, "http.pcap"), [])
    if r is None:
        return
    try:
        code, detail = grpc_error(lambda: query(r, {}))
        c.check("without --history-db: FAILED_PRECONDITION and what to do",
                code == "FAILED_PRECONDITION" and
                detail == "no history store: start rustnetd with --history-db PATH",
                "%s %s" % (code, detail))
        stats = r.call(MONITOR + "/GetStats", {}, timeout=10)
        c.check("without --history-db: no history_store in GetStats",
                "historyStore" not in stats, stats.get("historyStore"))
    finally:
        d.stop()


def main():
    c = Checker()
    if not RUSTNETD or not os.access(RUSTNETD, os.X_OK):
        c.check("RUSTNETD points to the rustnetd binary (%r)" % RUSTNETD, False)
        return c.finish()
    if not shutil.which("sqlite3"):
        c.check("sqlite3 is installed", False)
        return c.finish()
    g = import_grpc(c)
    if g is None:
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnhistdb.")
    try:
        stored_checks(c, g, work)
        no_store_checks(c, g, work)
        kill_checks(c, g, work)
        open_error_checks(c, work)
        garbage_checks(c, g, work)
        if os.geteuid() == 0:
            read_only_checks(c, g, work)
            disk_full_checks(c, g, work)
        else:
            c.check("read-only and disk-full checks need root (mounts); run the tests as root",
                    False)
    finally:
        kill_children()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
