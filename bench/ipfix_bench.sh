#!/usr/bin/env bash
# bench/ipfix_bench.sh: what IPFIX export costs a replay, and how many flow
# records per second it exports, each next to a baseline measured in the
# same run (these machines are shared: only the ratios mean something).
#
# Usage (from anywhere; ~2 minutes at REPS=5 on 2 cores, plus the build and
# ~10 s to generate the capture the first time):
#   bench/ipfix_bench.sh
# Knobs (environment):
#   REPS=5                repetitions (interleaved; medians shown)
#   THREADS=2             rustnetd --threads
#   PACKETS=1000000 FLOWS=60000 SEED=1   the mixed capture (bench/make_capture.cc),
#                         shared with bench/run.sh in bench/out/
#   BUILD=build-bench     build directory (Release, as bench/run.sh builds it);
#   RUSTNETD, MAKE_CAPTURE  binaries to use instead of building
#   JOBS=2                build parallelism
#
# Each round runs, in turn:
#   off:   rustnetd --read MIXED --dump json --dump-expired >/dev/null
#   ipfix: the same with --ipfix udp://127.0.0.1:PORT (nfcapd from Debian's
#          nfdump receiving and writing the flows: a real collector)
#          (active timeout 60s: with --dump the workers publish table
#          snapshots only for it, so this includes their copy-on-write cost,
#          which a serving daemon pays for the API anyway)
#   active0: --ipfix-active-timeout 0: final records only, no snapshots (the
#          export's own cost)
#   active1s: --ipfix-active-timeout 1s (deltas every second of the
#          capture's ~60 s: the snapshot path under load)
#   v9:    --netflow-v9
# and prints the median wall time of each, its ratio to "off", the records
# rustnetd exported (from its log), records per second of the replay, and
# the records nfcapd stored (to show the collector kept up, or not).
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

die() { echo "bench/ipfix_bench.sh: $*" >&2; exit 1; }
command -v nfcapd >/dev/null && command -v nfdump >/dev/null ||
  die "nfcapd and nfdump are missing: apt-get install nfdump"

if [[ -z "${RUSTNETD:-}" || -z "${MAKE_CAPTURE:-}" ]]; then
  echo "== build ($BUILD, Release) =="
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; die "cmake configure failed"; }
  cmake --build "$BUILD" -j "$JOBS" --target rustnetd bench_make_capture >"$BUILD.build.log" 2>&1 ||
    { tail -30 "$BUILD.build.log"; die "build failed"; }
  RUSTNETD="${RUSTNETD:-$BUILD/daemon/rustnetd}"
  MAKE_CAPTURE="${MAKE_CAPTURE:-$BUILD/bench/bench_make_capture}"
fi
for b in "$RUSTNETD" "$MAKE_CAPTURE"; do [[ -x "$b" ]] || die "missing $b"; done

mkdir -p "$OUT"
MIXED="$OUT/mixed-${PACKETS}p-${FLOWS}f-s${SEED}.pcap"
if [[ -s "$MIXED" && "$MIXED" -nt "$MAKE_CAPTURE" ]]; then
  echo "have $MIXED"
else
  "$MAKE_CAPTURE" --packets "$PACKETS" --flows "$FLOWS" --seed "$SEED" "$MIXED.tmp"
  mv "$MIXED.tmp" "$MIXED"
fi

WORK="$(mktemp -d /tmp/rn_ipfix_bench.XXXXXX)"
NFCAPD_PID=""
cleanup() {
  [[ -n "$NFCAPD_PID" ]] && kill "$NFCAPD_PID" 2>/dev/null && wait "$NFCAPD_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/flows"
nfcapd -b 127.0.0.1 -p "$PORT" -w "$WORK/flows" -t 3600 -B 8388608 >"$WORK/nfcapd.log" 2>&1 &
NFCAPD_PID=$!
sleep 1
kill -0 "$NFCAPD_PID" 2>/dev/null || { cat "$WORK/nfcapd.log"; die "nfcapd did not start"; }
URL="udp://127.0.0.1:$PORT"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }

declare -A ARGS=(
  [off]=""
  [ipfix]="--ipfix $URL"
  [active0]="--ipfix $URL --ipfix-active-timeout 0"
  [active1s]="--ipfix $URL --ipfix-active-timeout 1s"
  [v9]="--ipfix $URL --netflow-v9"
)
ORDER=(off ipfix active0 active1s v9)
RUN=0
run_one() {  # NAME
  local name="$1" logs t0 t1 records
  RUN=$((RUN + 1))
  logs="$WORK/logs-$RUN"
  # shellcheck disable=SC2086
  t0=$EPOCHREALTIME
  "$RUSTNETD" --read "$MIXED" --dump json --dump-expired --threads "$THREADS" --log-dir "$logs" \
    ${ARGS[$name]} >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; die "rustnetd failed ($name)"; }
  t1=$EPOCHREALTIME
  records=$(grep -ho 'flow export to [^:]*:[^:]*:[0-9]*: [0-9]* records' "$logs"/*.log 2>/dev/null |
            awk '{print $(NF-1)}' | tail -1 || true)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}') ${records:-0}" >>"$WORK/$name"
}

echo "== $REPS rounds: ${ORDER[*]} (rustnetd --threads $THREADS, $MIXED) =="
for ((r = 1; r <= REPS; r++)); do
  for name in "${ORDER[@]}"; do run_one "$name"; done
  echo "  round $r done"
done
sleep 1
kill "$NFCAPD_PID" 2>/dev/null; wait "$NFCAPD_PID" 2>/dev/null || true
NFCAPD_PID=""
STORED=$(nfdump -R "$WORK/flows" -q -N -o 'fmt:%pkt' 2>/dev/null | wc -l)

off=$(awk '{print $1}' "$WORK/off" | median)
echo
echo "IPFIX export: replay of $(basename "$MIXED"), medians of $REPS interleaved runs"
printf "  %-22s %10s %9s %12s %14s\n" "" "wall s" "x off" "records" "records/s"
for name in "${ORDER[@]}"; do
  med=$(awk '{print $1}' "$WORK/$name" | median)
  rec=$(awk '{print $2}' "$WORK/$name" | median)
  printf "  %-22s %10.3f %9.3f %12.0f %14.0f\n" "$name" "$med" \
    "$(awk -v a="$med" -v b="$off" 'BEGIN {print a / b}')" "$rec" \
    "$(awk -v a="$rec" -v b="$med" 'BEGIN {print (a > 0 ? a / b : 0)}')"
done
EXPECTED=$(cat "$WORK"/ipfix "$WORK"/active0 "$WORK"/active1s "$WORK"/v9 | awk '{s += $2} END {print s}')
echo "  nfcapd stored $STORED of the $EXPECTED records sent (UDP: a collector that falls"
echo "  behind drops; rustnetd never waits for it)"
