"""`rustnetd --read FILE --dump json` on a table bigger than one formatting
block: every connection exactly once, oldest first, whatever the number of
threads that format the rows (the dump formats blocks of 2,048 rows on as
many threads as the replay ran, --threads + 1, and writes them in order).

A capture made here holds N_FLOWS one-packet UDP flows, each from its own
source port, 10 us apart, then TIES more that share one timestamp (ties
are broken by connection id). For --threads 1, 2 and 4: one row per flow,
rows ordered by (firstSeen, id), so the untied flows come in the
capture's order; with one worker ids follow creation, so there the tied
ones do too. (--no-dpi: nothing here for DPI to do.)

Environment (set by CTest): RUSTNETD.
"""
import datetime
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, PcapWriter, dump_json)

N_FLOWS = 9000  # Five blocks of 2,048 rows: every dump thread gets some.
TIES = 3


def make_capture(path):
    w = api_test.PcapWriter(path)
    for i in range(N_FLOWS):
        w.udp("10.9.0.2", "10.9.0.1", 1024 + i, 9999, b"x", dt=0.00001)
    # Same timestamp (dt=0) for the last TIES flows.
    for i in range(TIES):
        w.udp("10.9.0.2", "10.9.0.1", 1024 + N_FLOWS + i, 9999, b"y", dt=0.0 if i else 0.00001)
    w.close()


def micros(rfc3339):
    """"2023-11-14T22:13:20.00001Z" -> microseconds since the epoch (the
    fraction has 0, 3, 6 or 9 digits: strings do not sort as times)."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1_000_000 + int((frac + "000000")[:6])


def main():
    c = api_test.Checker()
    work = tempfile.mkdtemp(prefix="rn-dump-order-")
    try:
        capture = os.path.join(work, "flows.pcap")
        make_capture(capture)
        expected = list(range(1024, 1024 + N_FLOWS + TIES))
        for threads in (1, 2, 4):
            rc, rows, err = api_test.dump_json(
                capture, work, ["--no-dpi", "--no-process", "--threads", str(threads)])
            if not c.check("--threads %d: rustnetd exits 0 (got %d)" % (threads, rc), rc == 0,
                           err):
                continue
            ports = [r.get("local", {}).get("port") if r.get("local", {}).get("address") ==
                     "10.9.0.2" else r.get("remote", {}).get("port") for r in rows]
            c.check("--threads %d: %d rows, one per flow (got %d, %d distinct)" % (
                threads, len(expected), len(rows), len(set(ports))),
                    sorted(ports) == expected)
            order = [(micros(r.get("firstSeen", "")), int(r.get("id", "0"))) for r in rows]
            c.check("--threads %d: rows ordered by (firstSeen, id)" % threads,
                    order == sorted(order))
            untied = N_FLOWS if threads > 1 else len(expected)
            first_wrong = next((i for i, (a, b) in enumerate(zip(ports[:untied], expected))
                                if a != b), None)
            c.check("--threads %d: the first %d rows in the capture's order (first difference "
                    "at row %s)" % (threads, untied, first_wrong), first_wrong is None,
                    ports[first_wrong:first_wrong + 5] if first_wrong is not None else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
