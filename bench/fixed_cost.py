#!/usr/bin/env python3
"""rustnetd's fixed cost: what a replay of a tiny capture costs beyond its CPU.

Issue 20's target 2: a run on a 10-packet file should take at most 10 ms of
wall time above its CPU time (no sleeps or polling intervals on the way in
or out). Runs, interleaved so load from other users hits all alike:

  * the bare libpcap read (bench_bare_read) of the same file: the floor,
    whose wall - CPU is the cost of starting any process here;
  * rustnetd --read FILE --dump json (default threads), and --threads 1.

Wall time from perf_counter around fork/exec/wait; CPU (user + sys, the
process and its threads) from wait4's rusage, at microsecond resolution
(GNU time's 10 ms is too coarse here). Prints medians and the best run.

Usage: bench/fixed_cost.py [--result OUT] [--baseline OLD_RUSTNETD] RUSTNETD BARE_READ FILE [ROUNDS]
  (--baseline: another build, e.g. the last commit's, run interleaved too,
  so before and after come from the same run and the same load)
  (bench/run.sh builds both into build-bench/; FILE: e.g.
  tests/fixtures/http.pcap). --result writes "name<TAB>value" lines for
  bench/run.sh's target table (the medians, in ms).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv):
    """(wall s, cpu s) of one run, output discarded."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("failed (exit %d): %s" % (p.returncode, " ".join(argv)))
    return wall, usage.ru_utime + usage.ru_stime


def main():
    args = sys.argv[1:]
    result = None
    baseline = None
    while args[:1] in (["--result"], ["--baseline"]) and len(args) > 1:
        if args[0] == "--result":
            result = args[1]
        else:
            baseline = args[1]
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    rustnetd, bare, path = args[:3]
    rounds = int(args[3]) if len(args) > 3 else 31
    logs = tempfile.mkdtemp(prefix="rn-fixed-cost-")
    cases = [
        ("bare libpcap read", [bare, path]),
        ("rustnetd --dump json", [rustnetd, "--read", path, "--dump", "json", "--log-dir", logs]),
        ("rustnetd --dump json --threads 1",
         [rustnetd, "--read", path, "--dump", "json", "--threads", "1", "--log-dir", logs]),
    ]
    if baseline:
        cases += [
            ("baseline --dump json", [baseline, "--read", path, "--dump", "json", "--log-dir", logs]),
            ("baseline --dump json --threads 1",
             [baseline, "--read", path, "--dump", "json", "--threads", "1", "--log-dir", logs]),
        ]
    samples = {name: [] for name, _ in cases}
    for argv in (a for _, a in cases):  # Warm the page cache and the loader.
        run(argv)
    for _ in range(rounds):
        for name, argv in cases:
            samples[name].append(run(argv))
    print("fixed cost on %s, %d rounds interleaved; %d cores, load %s" %
          (os.path.basename(path), rounds, os.cpu_count(),
           " ".join(open("/proc/loadavg").read().split()[:3])))
    print("  %-34s %10s %10s %14s %14s" % ("", "wall ms", "CPU ms", "wall-CPU ms", "best wall-CPU"))
    for name, _ in cases:
        walls = [w for w, _ in samples[name]]
        cpus = [c for _, c in samples[name]]
        idle = [w - c for w, c in samples[name]]
        print("  %-34s %10.1f %10.1f %14.1f %14.1f" %
              (name, 1e3 * statistics.median(walls), 1e3 * statistics.median(cpus),
               1e3 * statistics.median(idle), 1e3 * min(idle)))
    base = statistics.median(w - c for w, c in samples["bare libpcap read"])
    lines = []
    for name, _ in cases[1:]:
        if name.startswith("baseline"):
            extra = statistics.median(w - c for w, c in samples[name]) - base
            print("  %s: %.1f ms of wall above its CPU beyond the bare read's" % (name, 1e3 * extra))
            continue
        extra = statistics.median(w - c for w, c in samples[name]) - base
        print("  %s: %.1f ms of wall above its CPU beyond the bare read's (target <= 10 ms)"
              % (name, 1e3 * extra))
        lines.append("%s\textra_ms\t%.1f" % (name, 1e3 * extra))
        lines.append("%s\twall_ms\t%.1f" % (name, 1e3 * statistics.median(w for w, _ in samples[name])))
        lines.append("%s\tcpu_ms\t%.1f" % (name, 1e3 * statistics.median(c for _, c in samples[name])))
    if result:
        with open(result, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
