#!/usr/bin/env bash
# bench/pcap_export_bench.sh: what --pcap-export costs a replay. The mixed
# bench capture (bench/make_capture.cc, 1M packets) is replayed with
# `rustnetd --read MIXED --dump json --threads T >/dev/null`, without
# `--pcap-export`, with it to a file, and with it to /dev/null (the copies,
# queues and block encoding without the file system), REPS rounds interleaved so load from other users
# hits both alike; prints each side's median and best wall time, the ratio
# of the medians, the export's throughput, and checks that the export holds
# every packet (a replay loses nothing). Never a fixed threshold: only the
# ratio, measured in the same run, means something on a shared machine.
#
# Usage (from anywhere; ~2 minutes on 2 cores, plus the build and ~10 s to
# generate the capture the first time):
#   bench/pcap_export_bench.sh
# Knobs (environment):
#   REPS=5 THREADS=2 PACKETS=1000000 FLOWS=60000 SEED=1 JOBS=2
#   BUILD=DIR       build directory (default: build-bench, Release, as run.sh)
#   NO_BUILD=1      use BUILD as it is (its rustnetd and bench_make_capture)
#   EXPORT_DIR=DIR  where the export is written (default: bench/out/export)
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
OUT="$ROOT/bench/out"
REPS="${REPS:-5}"
THREADS="${THREADS:-2}"
PACKETS="${PACKETS:-1000000}"
FLOWS="${FLOWS:-60000}"
SEED="${SEED:-1}"
JOBS="${JOBS:-2}"
EXPORT_DIR="${EXPORT_DIR:-$OUT/export}"

die() { echo "bench/pcap_export_bench.sh: $*" >&2; exit 1; }

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  echo "== building (Release, $BUILD) =="
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; die "cmake configure failed"; }
  cmake --build "$BUILD" -j "$JOBS" --target rustnetd bench_make_capture >"$BUILD.build.log" 2>&1 ||
    { tail -40 "$BUILD.build.log"; die "build failed (log: $BUILD.build.log)"; }
fi
RUSTNETD="$BUILD/daemon/rustnetd"
MAKE_CAPTURE="$BUILD/bench/bench_make_capture"
for b in "$RUSTNETD" "$MAKE_CAPTURE"; do [[ -x "$b" ]] || die "missing $b"; done

mkdir -p "$OUT" "$EXPORT_DIR"
MIXED="$OUT/mixed-${PACKETS}p-${FLOWS}f-s${SEED}.pcap"
if [[ -s "$MIXED" ]]; then
  echo "have $MIXED"
else
  "$MAKE_CAPTURE" --packets "$PACKETS" --flows "$FLOWS" --seed "$SEED" "$MIXED.tmp"
  mv "$MIXED.tmp" "$MIXED"
fi
LOGS="$OUT/pcap-export-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
EXPORT="$EXPORT_DIR/bench.pcapng"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }
minimum() { sort -g | head -1; }

# timed FILE CMD...: appends CMD's wall time (s) to FILE.
timed() {
  local file="$1"; shift
  local t0=$EPOCHREALTIME
  "$@" >/dev/null || die "failed: $*"
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f\n", b - a}' >>"$file"
}

rm -f "$LOGS"/off.txt "$LOGS"/on.txt "$LOGS"/null.txt
for ((r = 1; r <= REPS; ++r)); do
  echo "== round $r/$REPS =="
  timed "$LOGS/off.txt" "$RUSTNETD" --read "$MIXED" --dump json --threads "$THREADS" \
    --log-dir "$LOGS/off"
  rm -f "$EXPORT" "$EXPORT".*
  timed "$LOGS/on.txt" "$RUSTNETD" --read "$MIXED" --dump json --threads "$THREADS" \
    --log-dir "$LOGS/on" --pcap-export "$EXPORT" --pcap-export-size 4G --pcap-export-count 1
  timed "$LOGS/null.txt" "$RUSTNETD" --read "$MIXED" --dump json --threads "$THREADS" \
    --log-dir "$LOGS/null" --pcap-export /dev/null
done

# The export of the last round: every packet, and its size.
line=$(grep -h "pcap export .*packets written" "$LOGS"/on/*.log | tail -1)
written=$(sed -E 's/.*: ([0-9]+) packets written.*/\1/' <<<"$line")
export_bytes=$(stat -c %s "$EXPORT")
capture_bytes=$(stat -c %s "$MIXED")
off_med=$(median <"$LOGS/off.txt")
on_med=$(median <"$LOGS/on.txt")
off_min=$(minimum <"$LOGS/off.txt")
on_min=$(minimum <"$LOGS/on.txt")
null_med=$(median <"$LOGS/null.txt")
null_min=$(minimum <"$LOGS/null.txt")
{
  echo
  echo "== pcap export: replay of $(basename "$MIXED") ($PACKETS packets, $capture_bytes bytes), --threads $THREADS, $REPS rounds, load $(cut -d' ' -f1-3 /proc/loadavg) =="
  printf "  %-34s median %8.3f s   best %8.3f s\n" "without --pcap-export" "$off_med" "$off_min"
  printf "  %-34s median %8.3f s   best %8.3f s\n" "with --pcap-export" "$on_med" "$on_min"
  printf "  %-34s median %8.3f s   best %8.3f s\n" "with --pcap-export /dev/null" "$null_med" "$null_min"
  awk -v a="$on_med" -v b="$off_med" 'BEGIN {printf "  ratio (medians, with / without)     %.2fx\n", a / b}'
  awk -v a="$null_med" -v b="$off_med" 'BEGIN {printf "  ratio (medians, /dev/null / without) %.2fx\n", a / b}'
  awk -v n="$written" -v s="$export_bytes" -v t="$on_med" \
    'BEGIN {printf "  export: %d packets written, %d bytes (%.1f MB/s, %.0f packets/s over the whole run)\n", n, s, s / t / 1e6, n / t}'
  echo "  log: $line"
  if [[ "$written" == "$PACKETS" ]]; then
    echo "  every packet exported"
  else
    echo "  NOT every packet exported: $written of $PACKETS"
  fi
} | tee "$OUT/pcap_export_summary.txt"
rm -f "$EXPORT" "$EXPORT".*
