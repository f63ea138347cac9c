"""`rustnetd --read FILE --dump json` of a small file runs inline: no capture
thread and no worker threads, the whole replay on the main thread (issue
20's fixed cost). Its output must be the threaded replay's, byte for byte.

For every fixture in tests/fixtures (*.pcap, *.pcapng), with
RUSTNET_INLINE_REPLAY=1 (inline whatever the size) and =0 (threads
whatever the size):
  * --threads 1: the same exit code, the same stdout, byte for byte;
  * --threads 3 --dump-expired: the same, except names a connection got
    from the passive DNS cache (with several worker threads, whether the
    worker that owns a connection has already heard the DNS answer another
    worker holds is a race of the threaded replay, so those two fields are
    left out of the comparison there).
Without the variable: a fixture (small) is replayed inline and a capture
made here of more than 2 MiB with threads (the log says which), both with
one row per flow, and the log file ends with the final statistics (a plain
dump exits without tearing its tables down: the log is flushed first).

Environment (set by CTest): RUSTNETD, FIXTURES.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (shared helpers: Checker, PcapWriter)

RUSTNETD = os.environ.get("RUSTNETD", "rustnetd")
FIXTURES = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))


def dump(path, logs, args, inline):
    """(exit code, stdout, stderr) of one dump; inline: "1", "0" or None (unset)."""
    env = dict(os.environ)
    env.pop("RUSTNET_INLINE_REPLAY", None)
    if inline is not None:
        env["RUSTNET_INLINE_REPLAY"] = inline
    os.makedirs(logs, exist_ok=True)
    p = subprocess.run([RUSTNETD, "--read", path, "--dump", "json", "--log-dir", logs] +
                       list(args), capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def without_dns_cache_names(stdout):
    rows = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("hostnameSource") == "dns-cache":
            row.pop("hostname", None)
            row.pop("hostnameSource", None)
        rows.append(json.dumps(row, sort_keys=True))
    return rows


def log_text(logs):
    text = ""
    for name in sorted(glob.glob(os.path.join(logs, "*.log"))):
        with open(name, encoding="utf-8", errors="replace") as f:
            text += f.read()
    return text


def main():
    c = api_test.Checker()
    work = tempfile.mkdtemp(prefix="rn-inline-replay-")
    try:
        fixtures = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")) +
                          glob.glob(os.path.join(FIXTURES, "*.pcapng")))
        c.check("fixtures found in %s (%d)" % (FIXTURES, len(fixtures)), len(fixtures) >= 5)
        for path in fixtures:
            name = os.path.basename(path)
            for args in (["--threads", "1"], ["--threads", "3", "--dump-expired"]):
                label = "%s %s" % (name, " ".join(args))
                logs = os.path.join(work, "logs", name)
                rc_in, out_in, err_in = dump(path, logs + "-in", args, "1")
                rc_th, out_th, err_th = dump(path, logs + "-th", args, "0")
                c.check("%s: same exit code inline and threaded (%d, %d)" % (label, rc_in, rc_th),
                        rc_in == rc_th, err_in + err_th)
                if args[1] == "1":
                    c.check("%s: same dump, byte for byte (%d rows)" % (
                        label, len(out_th.splitlines())), out_in == out_th,
                            "inline:\n%s\nthreaded:\n%s" % (out_in[:1500], out_th[:1500]))
                else:
                    a, b = without_dns_cache_names(out_in), without_dns_cache_names(out_th)
                    c.check("%s: same rows (%d)" % (label, len(b)), a == b,
                            "first difference: %s" % (next(
                                (x for x in zip(a, b) if x[0] != x[1]), (len(a), len(b))),))
                if rc_in == 0:
                    c.check("%s: the inline run says so in its log" % label,
                            "on the main thread" in log_text(logs + "-in"))
                    c.check("%s: the threaded run says so in its log" % label,
                            "worker threads" in log_text(logs + "-th"))

        # Without the variable: by size.
        small = os.path.join(FIXTURES, "http.pcap")
        if not os.path.exists(small):
            small = fixtures[0]
        logs = os.path.join(work, "logs", "default-small")
        rc, out, err = dump(small, logs, ["--threads", "2"], None)
        text = log_text(logs)
        c.check("%s, no variable: replayed inline (exit %d)" % (os.path.basename(small), rc),
                rc == 0 and "on the main thread" in text, err + text[-2000:])
        c.check("%s: the log ends with the final statistics (flushed before exit)" %
                os.path.basename(small), "received" in text and "dpi: classified" in text,
                text[-2000:])

        big = os.path.join(work, "big.pcap")
        w = api_test.PcapWriter(big)
        flows = 24000  # ~3.4 MB: over the 2 MiB bound.
        for i in range(flows):
            w.udp("10.7.%d.%d" % (i // 250, 1 + i % 250), "10.8.0.1", 1024 + i % 60000, 9999,
                  b"z" * 64, dt=0.00001)
        w.close()
        size = os.path.getsize(big)
        logs = os.path.join(work, "logs", "default-big")
        rc, out, err = dump(big, logs, ["--threads", "2", "--no-dpi"], None)
        text = log_text(logs)
        c.check("capture of %d bytes, no variable: replayed with threads (exit %d)" % (size, rc),
                rc == 0 and "worker threads" in text and "on the main thread" not in text,
                err + text[-2000:])
        rows = [line for line in out.splitlines() if line.strip()]
        c.check("capture of %d flows: one row each (%d)" % (flows, len(rows)), len(rows) == flows)
        rc1, out1, _ = dump(big, logs + "-inline", ["--threads", "2", "--no-dpi"], "1")
        c.check("the same capture inline: the same dump (%d rows)" % len(out1.splitlines()),
                rc1 == 0 and out1 == out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
