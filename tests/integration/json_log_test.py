"""The connection log, `rustnetd --json-log FILE`.

1. Replay equivalence, on every capture under $FIXTURES (also dpi/): with
   `--read F --json-log LOG --dump json`, the closed lines of LOG and the
   dump list the same connections (ids), each once, with the same counters
   (packets and bytes each way); every line is a rustnet.v1.ConnectionEvent
   (the unit tests compare each line with protobuf's printer), sequences run 1..N with nothing lost, an
   opened line (when there is one) comes before its connection's closed
   line, and the file is mode 0600.
2. --json-log-events closed: only closed lines, the same ones.
3. Rotation: a daemon serving a replayed file; the log is moved aside, SIGHUP
   reopens the path, SIGTERM writes the open connections closed
   (CLOSE_REASON_SHUTDOWN) into the new file: both files together hold
   every event once, sequences 1..N without a gap, and the new file is 0600.
4. tshark's conversation tables (`tshark -q -z conv,tcp -z conv,udp`, parsed
   as tests/integration/tshark_conv_test.py parses them) agree with the
   closed lines: the same TCP and UDP conversations, the same frames each
   way, on captures without IP fragments (tshark counts a reassembled
   datagram once, rustnet each fragment).

Prints one line per check and "N passed, M failed"; exits 1 on any failure.
Environment (set by CTest): RUSTNETD, FIXTURES. Stdlib only.
"""
import glob
import importlib.util
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

RUSTNETD = os.environ.get("RUSTNETD", "")
FIXTURES = os.environ.get("FIXTURES", "")
HERE = os.path.dirname(os.path.abspath(__file__))

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + name)
    else:
        failed += 1
        print("FAIL: " + name + (("\n        " + str(detail)[-2000:]) if detail else ""))
    return ok


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def n64(d, *path):
    for p in path:
        d = (d or {}).get(p)
    return int(d or 0)


def counters(row):
    return (n64(row, "sent", "packets"), n64(row, "sent", "bytes"),
            n64(row, "received", "packets"), n64(row, "received", "bytes"))


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def replay(path, work, extra=()):
    log = os.path.join(work, "events.jsonl")
    if os.path.exists(log):
        os.remove(log)
    p = subprocess.run([RUSTNETD, "--read", path, "--json-log", log, "--dump", "json",
                        "--log-dir", os.path.join(work, "logs")] + list(extra),
                       capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p, rows, log


def check_sequences(name, events):
    seqs = [int(e.get("sequence", "0")) for e in events]
    check("%s: sequences run 1..%d, nothing lost" % (name, len(seqs)),
          seqs == list(range(1, len(seqs) + 1)) and all("lost" not in e for e in events),
          seqs[:20])


def check_replay(path, work):
    name = os.path.relpath(path, FIXTURES)
    p, rows, log = replay(path, work)
    if not check("%s: rustnetd --read --json-log --dump json exits 0" % name, p.returncode == 0,
                 p.stderr):
        return
    events = read_lines(log)
    check("%s: the log is mode 0600" % name, mode(log) == 0o600, oct(mode(log)))
    closed = [e for e in events if e.get("type") == "EVENT_TYPE_CLOSED"]
    ids = [e["connection"]["id"] for e in closed]
    dump = {r["id"]: r for r in rows}
    check("%s: one closed line per connection (%d)" % (name, len(ids)),
          len(ids) == len(set(ids)), sorted(ids))
    check("%s: the closed lines' connections are the dump's" % name, set(ids) == set(dump),
          (sorted(set(ids) - set(dump)), sorted(set(dump) - set(ids))))
    bad = [e["connection"]["id"] for e in closed
           if e["connection"]["id"] in dump and
           counters(e["connection"]) != counters(dump[e["connection"]["id"]])]
    check("%s: the same counters each way" % name, not bad, bad)
    # The dump is of the final table: its connections are all still open.
    check("%s: each closed at the end (CLOSE_REASON_SHUTDOWN)" % name,
          all(e.get("closeReason") == "CLOSE_REASON_SHUTDOWN" and e["connection"].get("closed")
              for e in closed))
    check_sequences(name, events)
    seen_closed = set()
    misordered = []
    for e in events:
        cid = e["connection"]["id"]
        if e["type"] == "EVENT_TYPE_CLOSED":
            seen_closed.add(cid)
        elif cid in seen_closed:
            misordered.append(cid)
    check("%s: opened and classified lines before their closed line" % name, not misordered,
          misordered)
    opened = {e["connection"]["id"] for e in events if e["type"] == "EVENT_TYPE_OPENED"}
    check("%s: an opened line per connection" % name, opened == set(ids),
          sorted(set(ids) - opened))


def check_expired(path, work):
    """--dump-expired: closed lines for the connections that left before the
    end (their real reason) and SHUTDOWN for the rest, each once."""
    name = os.path.relpath(path, FIXTURES) + " --dump-expired"
    p, rows, log = replay(path, work, ["--dump-expired"])
    if not check("%s: exits 0" % name, p.returncode == 0, p.stderr):
        return
    closed = [e for e in read_lines(log) if e.get("type") == "EVENT_TYPE_CLOSED"]
    ids = [e["connection"]["id"] for e in closed]
    dump = {r["id"]: r for r in rows}
    check("%s: one closed line per dumped connection (%d)" % (name, len(ids)),
          len(ids) == len(set(ids)) and set(ids) == set(dump),
          (sorted(ids), sorted(dump)))
    bad = [e["connection"]["id"] for e in closed
           if counters(e["connection"]) != counters(dump.get(e["connection"]["id"], {}))]
    check("%s: the same counters each way" % name, not bad, bad)


def check_closed_only(path, work):
    name = os.path.relpath(path, FIXTURES) + " --json-log-events closed"
    p, rows, log = replay(path, work, ["--json-log-events", "closed"])
    if not check("%s: exits 0" % name, p.returncode == 0, p.stderr):
        return
    events = read_lines(log)
    check("%s: only closed lines, one per dumped connection" % name,
          all(e["type"] == "EVENT_TYPE_CLOSED" for e in events) and
          sorted(e["connection"]["id"] for e in events) == sorted(r["id"] for r in rows))


def check_rotation(path, work):
    name = "rotation on " + os.path.basename(path)
    log = os.path.join(work, "rot.jsonl")
    moved = log + ".1"
    sock = os.path.join(work, "rustnetd.sock")
    d = subprocess.Popen([RUSTNETD, "--read", path, "--json-log", log, "--socket", sock,
                          "--log-dir", os.path.join(work, "rot-logs")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The opened lines come while the file is read; wait for them.
        deadline = time.time() + 20
        while time.time() < deadline and (not os.path.exists(log) or
                                          os.path.getsize(log) == 0):
            time.sleep(0.05)
        time.sleep(0.5)
        before = len(read_lines(log))
        check("%s: lines written while serving (%d)" % (name, before), before > 0)
        os.rename(log, moved)
        d.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(log):
            time.sleep(0.05)
        check("%s: SIGHUP reopened the path" % name, os.path.exists(log))
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=30)
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
    check("%s: the daemon stopped cleanly" % name, d.returncode == 0, d.stderr.read())
    if not os.path.exists(log):
        return
    old, new = read_lines(moved), read_lines(log)
    check("%s: the new file is 0600" % name, mode(log) == 0o600, oct(mode(log)))
    check("%s: lines continue in the new file (%d, %d)" % (name, len(old), len(new)),
          len(new) > 0 and all(e["type"] == "EVENT_TYPE_CLOSED" for e in new))
    events = old + new
    check_sequences(name, events)
    opened = [e["connection"]["id"] for e in events if e["type"] == "EVENT_TYPE_OPENED"]
    closed = [e["connection"]["id"] for e in events if e["type"] == "EVENT_TYPE_CLOSED"]
    check("%s: every connection opened once and closed once across both files" % name,
          sorted(opened) == sorted(closed) and len(set(closed)) == len(closed),
          (sorted(opened), sorted(closed)))


def check_tshark(path, work, tshark_conv):
    name = "tshark conversations of " + os.path.basename(path)
    p, _, log = replay(path, work, ["--json-log-events", "closed"])
    if not check("%s: rustnetd exits 0" % name, p.returncode == 0, p.stderr):
        return
    ours = {}
    for e in read_lines(log):
        c = e["connection"]
        proto = {"PROTOCOL_TCP": "tcp", "PROTOCOL_UDP": "udp"}.get(c.get("protocol"))
        if not proto:
            continue
        local = (tshark_conv.addr(c["local"]["address"]), c["local"].get("port", 0))
        remote = (tshark_conv.addr(c["remote"]["address"]), c["remote"].get("port", 0))
        per = ours.setdefault(tshark_conv.conv_key(proto, local, remote), {local: 0, remote: 0})
        per[local] += n64(c, "sent", "packets")
        per[remote] += n64(c, "received", "packets")
    theirs = tshark_conv.tshark_conv_tables(path)
    check("%s: the same TCP and UDP conversations (%d)" % (name, len(theirs)),
          set(ours) == set(theirs) and len(theirs) > 0,
          (sorted(map(tshark_conv.label, set(ours) - set(theirs))),
           sorted(map(tshark_conv.label, set(theirs) - set(ours)))))
    bad = [tshark_conv.label(k) for k in theirs if k in ours and ours[k] != theirs[k]]
    check("%s: the same frames each way" % name, not bad, bad)


def main():
    if not RUSTNETD or not FIXTURES:
        check("RUSTNETD and FIXTURES are set (CTest sets them)", False)
        return 1
    captures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                      glob.glob(os.path.join(FIXTURES, "*.pcapng")) +
                      glob.glob(os.path.join(FIXTURES, "dpi", "*.pcap")) +
                      glob.glob(os.path.join(FIXTURES, "dpi", "*.pcapng")))
    check("fixture captures found (%d)" % len(captures), len(captures) >= 15)
    with tempfile.TemporaryDirectory(prefix="rn-json-log-") as work:
        for path in captures:
            check_replay(path, work)
        check_expired(os.path.join(FIXTURES, "dns.pcap"), work)
        check_closed_only(os.path.join(FIXTURES, "tls.pcap"), work)
        check_rotation(os.path.join(FIXTURES, "http.pcap"), work)
        if shutil.which("tshark") is None:
            check("tshark is installed (scripts/setup.sh test installs it)", False)
        else:
            tshark_conv = load_module("tshark_conv_test")
            for f in ("tls.pcap", "dns.pcap", "http.pcap"):
                check_tshark(os.path.join(FIXTURES, f), work, tshark_conv)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
