#!/usr/bin/env bash
# bench/run.sh: rustnetd's replay speed, its memory per tracked
# connection, a peer (nDPI's ndpiReader) on the same capture, and live
# capture under load next to tcpdump — each printed next to a baseline
# measured in the same run, never against a fixed threshold: these machines
# are shared, so only the ratios mean something.
#
# Usage (from anywhere; ~8 minutes on 2 cores at load 3-7: fixed cost and
# speed ~1.5, peer ~2, memory ~2, live ~3; plus ~30 s to generate the
# captures the first time and ~3 minutes to build). The summary ends with
# one table: each of issue 20's targets, its measured value on this machine
# (CPU model, cores and load average printed) and whether it holds.
#   sudo bench/run.sh      # everything
#   bench/run.sh           # as a user: live capture is skipped (needs root
#                          # for namespaces), ndpiReader must be installed
#   SPEED=0 MEMORY=0 PEER=0 sudo bench/run.sh   # only the live test
# Knobs (environment):
#   FIXED=1 SPEED=1 MEMORY=1 PEER=1 LIVE=1 BREADTH=1   0 skips that part (LIVE needs root)
#   REPS=5             repetitions of each speed measurement (best and median shown)
#   FIXED_ROUNDS=15    rounds of the fixed-cost measurement (bench/fixed_cost.py)
#   THREADS="default 1"  rustnetd --threads values in the speed test ("default":
#                      no --threads, min(cores, 4) workers); --no-dpi runs with
#                      the default
#   PEER_THREADS="default"  rustnetd --threads values next to ndpiReader
#   PACKETS=1000000 FLOWS=60000 SEED=1   the mixed capture
#   DISTINCT=1000000   flows in the memory test's capture
#   MEM_THREADS="default"  rustnetd --threads values in the memory test's dump
#                      runs (--no-dpi runs with the default); served runs: the
#                      default and --threads 1
#   LIVE_STEPS, LIVE_SECONDS, LIVE_TOOLS, LIVE_RUSTNETD_ARGS: see
#                      bench/live_trafgen.sh (the live part's default)
#   LIVE_TCPREPLAY=1   also bench/live_bench.sh (the capture through
#                      tcpreplay; LIVE_RATES, LIVE_LIMIT, LIVE_REPS there)
#   JOBS=2             build parallelism
#
# Steps:
#  1. Builds rustnetd, bench_make_capture and bench_bare_read (Release) in
#     build-bench/ (its own build directory).
#  2. Generates into bench/out/ (gitignored), unless already there and newer
#     than the generator: the mixed capture (PACKETS packets in FLOWS flows
#     over ~60 s: HTTP, TLS, SSH, DNS, QUIC, ICMP, NTP, a fifth IPv6; see
#     bench/make_capture.cc), DISTINCT one- or two-packet flows over 10 s
#     (shorter than every timeout, so all are still tracked at the end) and
#     a 10-flow capture for the baseline memory.
#  3. Speed (SPEED=1): REPS rounds, each running the bare libpcap read
#     (the floor) and `rustnetd --read MIXED --dump json --threads T
#     >/dev/null` for each T (THREADS) and for --no-dpi (what DPI costs),
#     interleaved so load from other users hits all alike. Times are wall
#     times of the whole process (start-up and the final JSON dump
#     included), CPU is user+sys. The ratio is rustnetd's median over the
#     bare read's median.
#     From rustnetd's log timestamps, each run's wall time is also split
#     into start-up, packets (what the bare read compares with best) and
#     the final dump.
#  4. Peer (PEER=1): nDPI's ndpiReader from Debian's libndpi-bin (installed
#     with apt-get when missing and run as root) on the mixed capture, REPS
#     rounds interleaved with the bare read and
#     `rustnetd --read MIXED --dump json --dump-expired --threads T` (every
#     flow, as ndpiReader reports every flow), for each T in PEER_THREADS:
#     `ndpiReader -i MIXED -q` (detection only, nothing written) and
#     `ndpiReader -i MIXED -q -v 2 -w FILE` (a line per flow with what it
#     found, the format of nDPI's own tests: the counterpart of our dump).
#     ndpiReader reads a file in one thread: its -n (threads) applies to
#     live interfaces only (a thread per -i source). Then
#     bench/ndpi_compare.py matches the two outputs' flows by 5-tuple and
#     tables, per protocol (TLS SNI, HTTP Host, DNS query, SSH banners,
#     QUIC SNI), who found the name, and whether the values agree.
#  5. Memory (MEMORY=1): peak RSS (GNU time's maximum resident set size) of
#     `rustnetd --read DISTINCT --dump json` with the default
#     --max-connections (1,000,000: a promise about the whole table, so all
#     of DISTINCT's flows must be kept), the
#     connections in its dump (counted: every flow must still be there), and
#     the same daemon's peak RSS on the 10-flow capture: bytes per
#     connection raw (peak / connections) and net of that baseline. Also
#     with --no-dpi, to show what DPI state adds. Then the daemon as it
#     really runs (no --dump: API on a socket in bench/out, snapshots
#     published every second): VmHWM and VmRSS from /proc after the file,
#     net of the same on the 10-flow capture.
#  6. Live (LIVE=1, root only): bench/live_trafgen.sh — the highest rate
#     with nothing lost, trafgen stepping 250 kpps .. topspeed of 64/128-byte
#     packets in 129,024 flows, for rustnetd, tcpdump -w /dev/null and a
#     bare libpcap loop (bench_bare_live). With LIVE_TCPREPLAY=1 also
#     bench/live_bench.sh — rustnetd and
#     `tcpdump -w /dev/null` on a veth while tcpreplay replays the mixed
#     capture into it at stepped rates (and rustnetd --no-process, to show
#     what process attribution costs); drops of each at each rate.
#  7. Prints everything in one summary (also saved to bench/out/summary.txt),
#     ending with the targets table. Before the speed test, FIXED=1 runs
#     bench/fixed_cost.py on the 10-flow capture (wall above CPU of a whole
#     run, beyond the bare read's).
set -euo pipefail
export LC_ALL=C  # '.' decimals everywhere (EPOCHREALTIME, awk, printf)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
OUT="$ROOT/bench/out"
REPS="${REPS:-5}"
THREADS="${THREADS:-default 1}"
PACKETS="${PACKETS:-1000000}"
FLOWS="${FLOWS:-60000}"
SEED="${SEED:-1}"
DISTINCT="${DISTINCT:-1000000}"
MEM_THREADS="${MEM_THREADS:-default}"
PEER_THREADS="${PEER_THREADS:-default}"
FIXED="${FIXED:-1}"
FIXED_ROUNDS="${FIXED_ROUNDS:-15}"
SPEED="${SPEED:-1}"
MEMORY="${MEMORY:-1}"
PEER="${PEER:-1}"
LIVE="${LIVE:-1}"
BREADTH="${BREADTH:-1}"
JOBS="${JOBS:-2}"
TIME=/usr/bin/time

die() { echo "bench/run.sh: $*" >&2; exit 1; }

LIVE_SKIPPED=""
if ((LIVE)) && [[ $(id -u) -ne 0 ]]; then
  LIVE=0
  LIVE_SKIPPED="live capture skipped: it needs root (network namespaces); run with sudo"
fi
if ((PEER)) && ! command -v ndpiReader >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "== installing libndpi-bin (ndpiReader) =="
    apt-get install -y -qq libndpi-bin >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libndpi-bin >/dev/null 2>&1; } ||
      die "could not install libndpi-bin (apt-get install libndpi-bin); or skip the peer with PEER=0"
  else
    die "ndpiReader is missing: apt-get install libndpi-bin (as root), or skip the peer with PEER=0"
  fi
fi

if [[ ! -x "$TIME" ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get install -y -qq time >/dev/null || die "could not install GNU time (apt-get install time)"
  else
    die "GNU time is missing: apt-get install time"
  fi
fi

# --- 1. build ---------------------------------------------------------------
echo "== building (Release, $BUILD) =="
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; die "cmake configure failed"; }
if ! cmake --build "$BUILD" -j "$JOBS" --target rustnetd bench_make_capture bench_bare_read bench_bare_live bench_dpi_breadth \
  >"$BUILD.build.log" 2>&1; then
  tail -40 "$BUILD.build.log"
  die "build failed (log: $BUILD.build.log)"
fi
RUSTNETD="$BUILD/daemon/rustnetd"
MAKE_CAPTURE="$BUILD/bench/bench_make_capture"
BARE_READ="$BUILD/bench/bench_bare_read"
for b in "$RUSTNETD" "$MAKE_CAPTURE" "$BARE_READ"; do [[ -x "$b" ]] || die "missing $b"; done

# --- 2. captures ------------------------------------------------------------
mkdir -p "$OUT"
MIXED="$OUT/mixed-${PACKETS}p-${FLOWS}f-s${SEED}.pcap"
DISTINCT_PCAP="$OUT/distinct-${DISTINCT}-s${SEED}.pcap"
TINY="$OUT/tiny-10-s${SEED}.pcap"
generate() {  # FILE ARGS...
  local file="$1"; shift
  if [[ -s "$file" && "$file" -nt "$MAKE_CAPTURE" ]]; then
    echo "have $file"
  else
    "$MAKE_CAPTURE" "$@" --seed "$SEED" "$file.tmp" && mv "$file.tmp" "$file"
  fi
}
echo "== captures ($OUT) =="
generate "$MIXED" --packets "$PACKETS" --flows "$FLOWS"
generate "$DISTINCT_PCAP" --distinct-flows "$DISTINCT"
generate "$TINY" --distinct-flows 10

# --- helpers ----------------------------------------------------------------
LOGS="$OUT/logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
RUN_ID=0

# median / min of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }
minimum() { sort -g | head -1; }

# run_timed NAME OUTFILE CMD... : runs CMD with stdout to OUTFILE and records
# "wall user+sys maxrss_kb" in $OUT/samples/NAME; sets LAST_WALL, LAST_CPU, LAST_RSS.
mkdir -p "$OUT/samples"
rm -f "$OUT"/samples/*
run_timed() {
  local name="$1" outfile="$2"; shift 2
  local tf="$OUT/samples/.time"
  local t0=$EPOCHREALTIME
  "$TIME" -f '%U %S %M' -o "$tf" "$@" >"$outfile" || die "failed: $*"
  local t1=$EPOCHREALTIME
  LAST_T0=$t0
  LAST_T1=$t1
  read -r user sys rss <"$tf"
  LAST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
  LAST_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
  LAST_RSS="$rss"
  echo "$LAST_WALL $LAST_CPU $LAST_RSS" >>"$OUT/samples/$name"
}

# rustnetd's own counters from its log: "packets N ... connections N (created
# N, expired N, evicted N)".
log_stats() {  # LOGDIR -> "packets connections created expired evicted"
  local line
  line=$(grep -h 'capture .*: received' "$1"/*.log | tail -1)
  sed -E 's/.*packets ([0-9]+),.*connections ([0-9]+) \(created ([0-9]+), expired ([0-9]+), evicted ([0-9]+)\).*/\1 \2 \3 \4 \5/' <<<"$line"
}

# Where a rustnetd run's wall time went, from its log's timestamps (ms):
# start-up (exec to the first log line: loading gRPC, protobuf, ...),
# packets (to the statistics logged once every worker has drained) and the
# final JSON dump with exit. -> "startup packets dump"
phases() {  # LOGDIR T0 T1
  local logs start stats
  logs=("$1"/*.log)
  local log="${logs[0]}"
  start=$(head -1 "$log" | sed -E 's/^\[([^]]+)\].*/\1/')
  stats=$(grep 'capture .*: received' "$log" | tail -1 | sed -E 's/^\[([^]]+)\].*/\1/')
  start=$(date -d "$start" +%s.%N)
  stats=$(date -d "$stats" +%s.%N)
  awk -v t0="$2" -v t1="$3" -v a="$start" -v b="$stats" \
    'BEGIN {printf "%.3f %.3f %.3f\n", a - t0, b - a, t1 - b}'
}

# A fresh log directory per rustnetd run (log names have 1 s resolution).
new_logdir() { RUN_ID=$((RUN_ID + 1)); LOGDIR="$LOGS/run-$RUN_ID"; mkdir -p "$LOGDIR"; }

fmt_int() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# "default" -> no flag (min(cores, 4) workers); N -> "--threads N".
threads_arg() { if [[ "$1" == default ]]; then echo ""; else echo "--threads $1"; fi; }
threads_label() { if [[ "$1" == default ]]; then echo "default ($DEFAULT_WORKERS workers)"; else echo "--threads $1"; fi; }

echo
echo "== machine =="
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "$(uname -srm); $(nproc) cores ($CPU_MODEL); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rustnetd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
DEFAULT_WORKERS=$(($(nproc) < 4 ? $(nproc) : 4))

# --- 2a. fixed cost -------------------------------------------------------------
# A tiny capture's whole run: wall above CPU, beyond the bare read's (see
# bench/fixed_cost.py).
if ((FIXED)); then
echo
echo "== fixed cost: $FIXED_ROUNDS rounds on $(basename "$TINY") =="
python3 "$ROOT/bench/fixed_cost.py" --result "$OUT/fixed_cost.tsv" "$RUSTNETD" "$BARE_READ" "$TINY" \
  "$FIXED_ROUNDS" | tee "$OUT/fixed_cost.txt"
fi

# Warm the page cache, check the file reads, and count the dump's rows once.
cat "$MIXED" >/dev/null
BARE_LINE=$("$BARE_READ" "$MIXED")
BARE_PACKETS=$(sed -E 's/.*packets=([0-9]+).*/\1/' <<<"$BARE_LINE")

# --- 2b. DPI breadth ------------------------------------------------------------
# The engine alone on the mixed capture's decoded packets: all dissectors vs
# the round-1 ones (TLS, HTTP, SSH, QUIC, DNS, DHCP, STUN, NTP) and vs round 1
# + part A, REPS rounds interleaved; the with/without ratios and each
# dissector's probe cost in ns (one bench: bench_dpi_breadth).
if ((BREADTH)); then
echo
echo "== DPI breadth: $REPS rounds on $(basename "$MIXED") =="
"$BUILD/bench/bench_dpi_breadth" "$MIXED" "$REPS" | tee "$OUT/dpi_breadth.txt"
fi

# --- 3. speed ---------------------------------------------------------------
if ((SPEED)); then
echo
echo "== speed: $REPS rounds on $(basename "$MIXED") =="
new_logdir
MIXED_ROWS=$("$RUSTNETD" --read "$MIXED" --dump json --log-dir "$LOGDIR" | wc -l)
read -r MIXED_SEEN _ MIXED_CREATED MIXED_EXPIRED MIXED_EVICTED <<<"$(log_stats "$LOGDIR")"
echo "warm-up: bare read $BARE_PACKETS packets; rustnetd read $MIXED_SEEN, created $MIXED_CREATED connections, expired $MIXED_EXPIRED, evicted $MIXED_EVICTED, $MIXED_ROWS in the final dump"

# rustnetd configurations: each --threads value, and one worker without DPI
# (to show DPI's share).
CFG_ARGS=()
CFG_LABEL=()
for t in $THREADS; do CFG_ARGS+=("$(threads_arg "$t")"); CFG_LABEL+=("$(threads_label "$t")"); done
T1_IDX=""
for c in "${!CFG_ARGS[@]}"; do
  if [[ -z "${CFG_ARGS[$c]}" && -z "$T1_IDX" ]]; then T1_IDX=$c; fi
done
CFG_ARGS+=("--no-dpi")
CFG_LABEL+=("--no-dpi, default threads")
T1_NODPI_IDX=$((${#CFG_ARGS[@]} - 1))
SEEN=()
for ((r = 1; r <= REPS; r++)); do
  run_timed bare /dev/null "$BARE_READ" "$MIXED"
  line="round $r: bare ${LAST_WALL}s"
  # The same read through a 1 MiB stdio buffer, as rustnetd reads files:
  # the floor for what rustnetd's own reading can cost.
  run_timed bare-buf /dev/null "$BARE_READ" --buffer 1048576 "$MIXED"
  line+="  bare (1 MiB buffer) ${LAST_WALL}s"
  for c in "${!CFG_ARGS[@]}"; do
    new_logdir
    # shellcheck disable=SC2086  # CFG_ARGS are words without spaces
    run_timed "c$c" /dev/null "$RUSTNETD" --read "$MIXED" --dump json ${CFG_ARGS[$c]} \
      --log-dir "$LOGDIR"
    read -r seen _ <<<"$(log_stats "$LOGDIR")"
    SEEN[c]=$seen
    phases "$LOGDIR" "$LAST_T0" "$LAST_T1" >>"$OUT/samples/phases-c$c"
    line+="  [${CFG_LABEL[$c]}] ${LAST_WALL}s"
  done
  echo "$line"
done
fi

# --- 4. peer: ndpiReader ----------------------------------------------------
if ((PEER)); then
NDPI_VERSION=$( (ndpiReader -h 2>&1 || true) | sed -nE 's/.*nDPI ([0-9][0-9.]*).*/\1/p' | head -1)
NDPI_FLOWS="$OUT/peer-ndpi-flows.txt"
OUR_FLOWS="$OUT/peer-rustnetd.jsonl"
echo
echo "== peer: ndpiReader $NDPI_VERSION and rustnetd, $REPS rounds on $(basename "$MIXED") =="
PEER_CFG=()
PEER_LABEL=()
for t in $PEER_THREADS; do PEER_CFG+=("$(threads_arg "$t")"); PEER_LABEL+=("$(threads_label "$t")"); done
PEER_SEEN=()
for ((r = 1; r <= REPS; r++)); do
  run_timed peer-bare /dev/null "$BARE_READ" "$MIXED"
  line="round $r: bare ${LAST_WALL}s"
  for c in "${!PEER_CFG[@]}"; do
    new_logdir
    # shellcheck disable=SC2086  # PEER_CFG are words without spaces
    run_timed "peer-c$c" "$OUR_FLOWS" "$RUSTNETD" --read "$MIXED" --dump json --dump-expired \
      ${PEER_CFG[$c]} --log-dir "$LOGDIR"
    read -r seen _ <<<"$(log_stats "$LOGDIR")"
    PEER_SEEN[c]=$seen
    line+="  [rustnetd ${PEER_LABEL[$c]}] ${LAST_WALL}s"
  done
  run_timed peer-ndpi-q /dev/null ndpiReader -i "$MIXED" -q
  line+="  [ndpiReader -q] ${LAST_WALL}s"
  run_timed peer-ndpi-v2 /dev/null ndpiReader -i "$MIXED" -q -v 2 -w "$NDPI_FLOWS"
  line+="  [ndpiReader -q -v 2 -w] ${LAST_WALL}s"
  echo "$line"
done
echo "detection on the same flows (bench/ndpi_compare.py; saved to $OUT/ndpi_compare.txt):"
python3 "$ROOT/bench/ndpi_compare.py" "$NDPI_FLOWS" "$OUR_FLOWS" 5 >"$OUT/ndpi_compare.txt" ||
  die "bench/ndpi_compare.py failed"
sed 's/^/  /' "$OUT/ndpi_compare.txt"
fi

# --- 5. memory --------------------------------------------------------------
if ((MEMORY)); then
echo
echo "== memory: $(basename "$DISTINCT_PCAP") and the 10-flow baseline =="
cat "$DISTINCT_PCAP" >/dev/null
MEM_ROWS=()
# With the default --max-connections (1,000,000 = DISTINCT by default): the
# cap is a promise about the whole table, so every flow must be there.
mem_case() {  # LABEL EXTRA...
  local label="$1"; shift 1
  local rows base_rss rss seen created expired evicted
  new_logdir
  run_timed "mem-base" /dev/null "$RUSTNETD" --read "$TINY" --dump json \
    --log-dir "$LOGDIR" "$@"
  base_rss=$LAST_RSS
  new_logdir
  # The dump goes to a file (counted after), not a pipe: GNU time then
  # measures rustnetd alone and nothing competes with it for the CPU.
  local rowfile="$OUT/samples/.rows"
  run_timed "mem" "$rowfile" "$RUSTNETD" --read "$DISTINCT_PCAP" --dump json \
    --log-dir "$LOGDIR" "$@"
  rss=$LAST_RSS
  local startup packets dump
  read -r startup packets dump <<<"$(phases "$LOGDIR" "$LAST_T0" "$LAST_T1")"
  rows=$(wc -l <"$rowfile")
  rm -f "$rowfile"
  read -r seen _ created expired evicted <<<"$(log_stats "$LOGDIR")"
  echo "$label: read $seen packets, dump $rows connections (created $created, expired $expired, evicted $evicted); peak RSS $rss kB, baseline $base_rss kB; ${LAST_WALL}s: start-up ${startup}s, packets ${packets}s, dump+exit ${dump}s"
  MEM_ROWS+=("$label|$rows|$expired|$evicted|$base_rss|$rss|$packets|$dump")
}
for t in $MEM_THREADS; do
  # shellcheck disable=SC2046  # threads_arg is zero or two words
  mem_case "$(threads_label "$t")" $(threads_arg "$t")
done
mem_case "--no-dpi" --no-dpi

# The daemon as it runs for real (no --dump): the API is up and workers
# publish a snapshot every second (sharing their table's chunks, copied
# only where written while a snapshot holds them). Replays FILE,
# waits for "end of" in the log and the final snapshots, reads VmHWM (peak)
# and VmRSS (now) from /proc, stops it with SIGTERM. Sets SERVE_HWM,
# SERVE_RSS (kB) and SERVE_CONNS.
serve_rss() {  # FILE EXTRA...
  local file="$1"; shift 1
  new_logdir
  local sock="$OUT/bench.sock"
  "$RUSTNETD" --read "$file" --socket "$sock" \
    --log-dir "$LOGDIR" "$@" >/dev/null 2>"$LOGDIR/stderr" &
  local pid=$! i
  for ((i = 0; i < 1200; i++)); do
    grep -qs 'end of ' "$LOGDIR"/*.log && break
    kill -0 "$pid" 2>/dev/null || die "rustnetd (served) exited early: $(cat "$LOGDIR/stderr")"
    sleep 0.5
  done
  sleep 3  # The workers' final snapshots.
  SERVE_HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  SERVE_RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || die "rustnetd (served) did not stop cleanly"
  read -r _ SERVE_CONNS _ <<<"$(log_stats "$LOGDIR")"
}
SERVED_ROWS=()
served_case() {  # LABEL EXTRA...
  local label="$1"; shift 1
  local bhwm brss hwm rss conns
  serve_rss "$TINY" "$@"
  bhwm=$SERVE_HWM
  brss=$SERVE_RSS
  serve_rss "$DISTINCT_PCAP" "$@"
  hwm=$SERVE_HWM
  rss=$SERVE_RSS
  conns=$SERVE_CONNS
  echo "served $label: $conns connections tracked; peak RSS $hwm kB, RSS after the file $rss kB; baseline (10 flows) peak $bhwm kB, $brss kB"
  SERVED_ROWS+=("$label|$conns|$bhwm|$hwm|$brss|$rss")
}
served_case "$(threads_label default)"
served_case "--threads 1" --threads 1
fi

# --- 6. live ----------------------------------------------------------------
if ((LIVE)); then
  echo
  # The lossless rate, stepped up with trafgen, next to tcpdump and a bare
  # libpcap loop (issue 20, target 4).
  OUT="$OUT" RUSTNETD="$RUSTNETD" BARE_LIVE="$BUILD/bench/bench_bare_live" \
    "$ROOT/bench/live_trafgen.sh" || die "bench/live_trafgen.sh failed"
  # The bench capture's mix replayed by tcpreplay (tops out at ~240 kpps).
  if ((${LIVE_TCPREPLAY:-0})); then
    echo
    OUT="$OUT" RUSTNETD="$RUSTNETD" CAPTURE="$MIXED" "$ROOT/bench/live_bench.sh" ||
      die "bench/live_bench.sh failed"
  fi
fi

# --- 7. summary -------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
summary() {
  echo "================================================================================"
  echo "SUMMARY  $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($CPU_MODEL)"
  echo "load average before $LOAD_BEFORE, after $LOAD_AFTER (shared machine: compare ratios)"
  local size_mb
  size_mb=$(awk -v b="$(stat -c %s "$MIXED")" 'BEGIN {printf "%.0f", b / 1e6}')
  row() {  # LABEL SAMPLEFILE PACKETS, against $bare_med and $bare_best
    local med best cpu rss
    med=$(awk '{print $1}' "$2" | median)
    best=$(awk '{print $1}' "$2" | minimum)
    cpu=$(awk '{print $2}' "$2" | median)
    rss=$(awk '{print $3}' "$2" | median)
    awk -v l="$1" -v p="$3" -v m="$med" -v b="$best" -v bm="$bare_med" -v bb="$bare_best" -v c="$cpu" -v r="$rss" \
      'BEGIN {printf "  %-30s %10d %9.3f %9.3f %10.2f M %8.2fx %8.2fx %8.2f %9.0f\n", l, p, b, m, p / m / 1e6, m / bm, b / bb, c, r / 1024}'
  }
  local bare_med bare_best c r
  if ((SPEED)); then
  echo
  echo "Replay speed: $(basename "$MIXED") ($(fmt_int "$BARE_PACKETS") packets, $(fmt_int "$FLOWS") flows, $size_mb MB)"
  echo "  rustnetd: $(fmt_int "$MIXED_CREATED") connections created, $(fmt_int "$MIXED_EXPIRED") expired during the file, $(fmt_int "$MIXED_EVICTED") evicted, $(fmt_int "$MIXED_ROWS") in the final dump"
  echo "  runs of each: $REPS; wall time of the whole process; ratio = median / bare read's median"
  printf "  %-30s %10s %9s %9s %12s %9s %9s %8s %9s\n" "" "packets" "best s" "median s" "packets/s" "x bare" "x (best)" "CPU s" "RSS MB"
  bare_med=$(awk '{print $1}' "$OUT/samples/bare" | median)
  bare_best=$(awk '{print $1}' "$OUT/samples/bare" | minimum)
  row "bare libpcap read" "$OUT/samples/bare" "$BARE_PACKETS"
  row "bare read, 1 MiB buffer" "$OUT/samples/bare-buf" "$BARE_PACKETS"
  for c in "${!CFG_ARGS[@]}"; do
    row "rustnetd ${CFG_LABEL[$c]}" "$OUT/samples/c$c" "${SEEN[$c]}"
  done
  echo
  echo "  Where rustnetd's wall time goes (medians; from its log's ms timestamps):"
  echo "  packets = first log line to the statistics logged when every worker has drained;"
  echo "  x bare = that over the bare read's median; dump = the final JSON of $(fmt_int "$MIXED_ROWS") rows, and exit"
  printf "  %-30s %10s %10s %12s %9s %12s\n" "" "start-up s" "packets s" "packets/s" "x bare" "dump+exit s"
  for c in "${!CFG_ARGS[@]}"; do
    local f="$OUT/samples/phases-c$c" su pk dm
    su=$(awk '{print $1}' "$f" | median)
    pk=$(awk '{print $2}' "$f" | median)
    dm=$(awk '{print $3}' "$f" | median)
    awk -v l="rustnetd ${CFG_LABEL[$c]}" -v su="$su" -v pk="$pk" -v dm="$dm" -v p="${SEEN[$c]}" -v bm="$bare_med" \
      'BEGIN {printf "  %-30s %10.3f %10.3f %10.2f M %8.2fx %12.3f\n", l, su, pk, p / pk / 1e6, pk / bm, dm}'
  done
  fi
  if ((PEER)); then
  echo
  echo "Peer: ndpiReader $NDPI_VERSION (Debian's libndpi-bin) on the same file; $REPS rounds, interleaved;"
  echo "  ndpiReader reads a file in one thread (its -n applies to live interfaces); rustnetd with"
  echo "  --dump-expired writes every flow, as ndpiReader -v 2 does; x bare = median / bare read's median"
  printf "  %-30s %10s %9s %9s %12s %9s %9s %8s %9s\n" "" "packets" "best s" "median s" "packets/s" "x bare" "x (best)" "CPU s" "RSS MB"
  bare_med=$(awk '{print $1}' "$OUT/samples/peer-bare" | median)
  bare_best=$(awk '{print $1}' "$OUT/samples/peer-bare" | minimum)
  row "bare libpcap read" "$OUT/samples/peer-bare" "$BARE_PACKETS"
  for c in "${!PEER_CFG[@]}"; do
    row "rustnetd ${PEER_LABEL[$c]}" "$OUT/samples/peer-c$c" "${PEER_SEEN[$c]}"
  done
  row "ndpiReader -q" "$OUT/samples/peer-ndpi-q" "$BARE_PACKETS"
  row "ndpiReader -q -v 2 -w FILE" "$OUT/samples/peer-ndpi-v2" "$BARE_PACKETS"
  local nq nv cq cv
  nq=$(awk '{print $1}' "$OUT/samples/peer-ndpi-q" | median)
  nv=$(awk '{print $1}' "$OUT/samples/peer-ndpi-v2" | median)
  cq=$(awk '{print $2}' "$OUT/samples/peer-ndpi-q" | median)
  cv=$(awk '{print $2}' "$OUT/samples/peer-ndpi-v2" | median)
  for c in "${!PEER_CFG[@]}"; do
    awk -v l="rustnetd ${PEER_LABEL[$c]}" -v m="$(awk '{print $1}' "$OUT/samples/peer-c$c" | median)" \
      -v cm="$(awk '{print $2}' "$OUT/samples/peer-c$c" | median)" -v q="$nq" -v v="$nv" -v cq="$cq" -v cv="$cv" \
      'BEGIN {printf "  %s: ndpiReader -q -v 2 -w takes %.2fx its time (%.2fx its CPU), ndpiReader -q %.2fx (%.2fx CPU); medians\n", l, v / m, cv / cm, q / m, cq / cm}'
  done
  echo "  Detection on the same flows (bench/ndpi_compare.py, flows matched by 5-tuple):"
  sed -n '1,/^differences:/p' "$OUT/ndpi_compare.txt" | grep -v '^differences:' | sed 's/^/  /'
  if grep -q '^differences:' "$OUT/ndpi_compare.txt"; then
    echo "  differences, with examples: $OUT/ndpi_compare.txt"
  fi
  fi
  if ((MEMORY)); then
  echo
  echo "Memory: $(basename "$DISTINCT_PCAP") ($(fmt_int "$DISTINCT") distinct flows, none may expire or be evicted);"
  echo "  baseline = the same command on a 10-flow capture; per connection = RSS / connections in the dump"
  printf "  %-22s %11s %7s %7s %11s %11s %12s %12s %9s %9s\n" "" "connections" "expired" "evicted" "baseline MB" "peak RSS MB" "B/conn raw" "B/conn net" "packets s" "dump s"
  local r
  for r in "${MEM_ROWS[@]}"; do
    IFS='|' read -r label rows expired evicted base rss pk dm <<<"$r"
    awk -v l="$label" -v n="$rows" -v x="$expired" -v e="$evicted" -v b="$base" -v r="$rss" -v pk="$pk" -v dm="$dm" \
      'BEGIN {printf "  %-22s %11d %7d %7d %11.1f %11.1f %12.0f %12.0f %9.2f %9.2f\n", l, n, x, e, b / 1024, r / 1024, r * 1024 / n, (r - b) * 1024 / n, pk, dm}'
  done
  echo
  echo "  Served (no --dump: API up, a snapshot copy of each table published every second), same file;"
  echo "  peak = VmHWM, after = VmRSS 3 s after the end of the file; net = minus the same on the 10-flow capture"
  printf "  %-22s %11s %11s %11s %12s %12s %11s %12s\n" "" "connections" "peak MB" "after MB" "peak B/conn" "peak net" "after B/conn" "after net"
  for r in "${SERVED_ROWS[@]}"; do
    IFS='|' read -r label n bh h br a <<<"$r"
    awk -v l="$label" -v n="$n" -v bh="$bh" -v h="$h" -v br="$br" -v a="$a" \
      'BEGIN {printf "  %-22s %11d %11.1f %11.1f %12.0f %12.0f %11.0f %12.0f\n", l, n, h / 1024, a / 1024, h * 1024 / n, (h - bh) * 1024 / n, a * 1024 / n, (a - br) * 1024 / n}'
  done
  local ok=yes
  for r in "${MEM_ROWS[@]}" "${SERVED_ROWS[@]}"; do
    IFS='|' read -r label rows _ <<<"$r"
    [[ "$rows" -eq "$DISTINCT" ]] || ok=no
  done
  echo "  all $(fmt_int "$DISTINCT") flows tracked in every memory run: $ok"
  fi
  if ((LIVE)); then
    echo
    cat "$OUT/live_trafgen.txt"
    if ((${LIVE_TCPREPLAY:-0})); then echo; cat "$OUT/live.txt"; fi
  elif [[ -n "$LIVE_SKIPPED" ]]; then
    echo
    echo "$LIVE_SKIPPED"
  fi
  if ((FIXED)); then
    echo
    sed 's/^fixed cost/Fixed cost/' "$OUT/fixed_cost.txt"
  fi
  targets
  echo "================================================================================"
}

# Issue 20's targets: one row each, measured in this run. Medians of the
# interleaved rounds; "-" where the part was skipped.
targets() {
  local v ok
  col() { awk -v f="$2" '{print $f}' "$1" | median; }  # FILE FIELD -> median
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }
  le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a == a + 0 && a <= b) ? "yes" : "no"}'; }
  ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a == a + 0 && a >= b) ? "yes" : "no"}'; }
  trow() { printf "  %-66s %12s %10s %5s\n" "$1" "$2" "$3" "$4"; }
  echo
  echo "TARGETS (issue 20) on this machine: $(nproc) cores ($CPU_MODEL);"
  echo "  load average before $LOAD_BEFORE, after $LOAD_AFTER; ratios of medians of interleaved runs"
  trow "target" "measured" "goal" "holds"
  if ((SPEED)) && [[ -n "${T1_IDX:-}" ]]; then
    local bw bc
    bw=$(col "$OUT/samples/bare" 1)
    bc=$(col "$OUT/samples/bare" 2)
    v=$(ratio "$(col "$OUT/samples/c$T1_IDX" 1)" "$bw")
    trow "1. replay --dump json (${CFG_LABEL[$T1_IDX]}), wall / bare read" "${v}x" "<= 2.0x" "$(le "$v" 2.0)"
    v=$(ratio "$(col "$OUT/samples/c$T1_IDX" 2)" "$bc")
    trow "   the same, CPU / bare read's CPU" "${v}x" "<= 3.0x" "$(le "$v" 3.0)"
    v=$(ratio "$(col "$OUT/samples/c$T1_NODPI_IDX" 1)" "$bw")
    trow "   --no-dpi, wall / bare read" "${v}x" "<= 1.5x" "$(le "$v" 1.5)"
  else
    trow "1. replay (SPEED=0: not measured)" "-" "" ""
  fi
  if ((FIXED)); then
    v=$(awk -F'\t' '$1 == "rustnetd --dump json" && $2 == "extra_ms" {print $3}' "$OUT/fixed_cost.tsv")
    trow "2. fixed cost: wall above CPU on $(basename "$TINY"), beyond bare read's" "${v} ms" "<= 10 ms" "$(le "$v" 10)"
  else
    trow "2. fixed cost (FIXED=0: not measured)" "-" "" ""
  fi
  if ((PEER)); then
    local ours
    ours=$(col "$OUT/samples/peer-c0" 1)
    v=$(ratio "$(col "$OUT/samples/peer-ndpi-q" 1)" "$ours")
    trow "3. ndpiReader -q wall / rustnetd --dump json --dump-expired (${PEER_LABEL[0]})" "${v}x" ">= 15x" "$(ge "$v" 15)"
    v=$(ratio "$(col "$OUT/samples/peer-ndpi-v2" 1)" "$ours")
    trow "   ndpiReader -q -v 2 -w FILE wall / the same" "${v}x" ">= 15x" "$(ge "$v" 15)"
    local agree
    agree=$(awk '$1 == "all" {printf "%d/%d", $5, $4}' "$OUT/ndpi_compare.txt")
    if grep -q '^differences:' "$OUT/ndpi_compare.txt"; then ok=no; else ok=yes; fi
    trow "   detection identical flow by flow (names agree / both named)" "$agree" "all" "$ok"
  else
    trow "3. peer (PEER=0: not measured)" "-" "" ""
  fi
  if ((LIVE)); then
    trow "4. live lossless rate (see the live table above)" "above" ">= tcpdump" ""
  else
    trow "4. live (needs root and LIVE=1: not measured)" "-" "" ""
  fi
  if ((MEMORY)); then
    local label n bh h
    IFS='|' read -r label n bh h _ <<<"${SERVED_ROWS[0]}"
    v=$(awk -v n="$n" -v h="$h" 'BEGIN {printf "%.0f", h * 1024 / n}')
    trow "5. bytes per connection at $(fmt_int "$DISTINCT"), served peak ($label)" "$v" "<= 256" "$(le "$v" 256)"
    local rows evicted
    IFS='|' read -r label rows _ evicted _ <<<"${MEM_ROWS[0]}"
    ok=$([[ "$rows" -eq "$DISTINCT" && "$evicted" -eq 0 ]] && echo yes || echo no)
    trow "   default --max-connections keeps all $(fmt_int "$DISTINCT") flows ($label)" "$(fmt_int "$rows")" "all" "$ok"
  else
    trow "5. memory (MEMORY=0: not measured)" "-" "" ""
  fi
}
echo
summary | tee "$OUT/summary.txt"
