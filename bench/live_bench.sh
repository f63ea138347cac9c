#!/usr/bin/env bash
# bench/live_bench.sh: live capture under load, rustnetd next to tcpdump.
#
# Two private network namespaces joined by a veth pair; tcpreplay in the
# sender namespace replays the bench capture at stepped rates into the
# receiver's end, where either `rustnetd -i IF` (as it runs for real: DPI,
# process attribution, API on a socket in a temporary directory, snapshots
# every second) or `tcpdump -i IF -w /dev/null` captures. For each rate and
# tool: what tcpreplay sent and the rate it really achieved (its own
# summary: the sender shares the same 2 cores), what the tool captured, the
# kernel's drops (ring full: libpcap's ps_drop, tcpdump's "packets dropped
# by kernel", rustnetd's "dropped by kernel"), rustnetd's queue drops (a
# worker fell behind; GetStats' pipeline.dropped_queues, in its log at exit)
# and packets missing (sent but never captured nor counted as dropped), the
# tool's CPU and its busiest thread's. Ends with the highest achieved rate
# at which each tool lost nothing.
#
# Usage (as root: network namespaces; all traffic stays inside them; ~3
# minutes with the defaults): bench/live_bench.sh — bench/run.sh runs it as
# its last step. Results: OUT/live.txt (the table), OUT/live/ (each tool's
# stderr and log, tcpreplay's summary).
# Environment:
#   RUSTNETD=build-bench/daemon/rustnetd
#   CAPTURE=bench/out/mixed-1000000p-60000f-s1.pcap
#     (bench/run.sh builds and generates both)
#   OUT=bench/out                          results: OUT/live.txt, OUT/live/
#   LIVE_RATES="50000 100000 200000 400000 topspeed"   packets/s steps
#   LIVE_LIMIT=0        packets sent per step (0: the whole capture, once)
#   LIVE_REPS=1         rounds over all steps (tools alternate within a step)
#   LIVE_RUSTNETD_ARGS=""   extra rustnetd arguments (e.g. "--threads 1")
#   LIVE_TOOLS="tcpdump rustnetd rustnetd-np"   rustnetd-np is rustnetd
#     --no-process: process attribution's share (in the receiving namespace
#     no connection is local, yet every new one is looked up)
# Fairness: both tools get a 32 MiB kernel ring (rustnetd's is fixed at
# 32 MiB in daemon/capture/pcap_source.h; tcpdump -B 32768) and the same
# snaplen (262144, both defaults); the receiving veth is promiscuous for
# both (rustnetd does not ask for it, tcpdump does). tcpreplay preloads the
# capture into memory (-K) so disk and parsing do not bound the rate; the
# capture's MACs are sent as they are (the promiscuous veth takes all).
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/bench/out}"
RUSTNETD="${RUSTNETD:-$ROOT/build-bench/daemon/rustnetd}"
CAPTURE="${CAPTURE:-$OUT/mixed-1000000p-60000f-s1.pcap}"  # run.sh's default
LIVE_RATES="${LIVE_RATES:-50000 100000 200000 400000 topspeed}"
LIVE_LIMIT="${LIVE_LIMIT:-0}"
LIVE_REPS="${LIVE_REPS:-1}"
LIVE_RUSTNETD_ARGS="${LIVE_RUSTNETD_ARGS:-}"
LIVE_TOOLS="${LIVE_TOOLS:-tcpdump rustnetd rustnetd-np}"
BUFFER_KIB=32768  # = LiveCaptureOptions::buffer_bytes (32 << 20)

die() { echo "bench/live_bench.sh: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (it creates network namespaces)"
[[ -x "$RUSTNETD" ]] || die "no rustnetd at $RUSTNETD; run bench/run.sh (it builds it) or set RUSTNETD"
[[ -s "$CAPTURE" ]] || die "no capture (CAPTURE=$CAPTURE); run bench/run.sh first (it generates bench/out/mixed-*.pcap)"
for tool in ip tcpreplay tcpdump; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install iproute2 tcpreplay tcpdump"
done

. "$ROOT/bench/netns_lib.sh"
bench_netns_up rnbench rnb0 rnb1 rnbench-live
in_s() { ip netns exec "$NS_S" "$@"; }

mkdir -p "$OUT/live"
rm -f "$OUT"/live/*
CAPTURE_PACKETS=$(tcpdump -r "$CAPTURE" -n -q 2>/dev/null | wc -l)

# CPU ticks (utime+stime) of a process and of its busiest thread.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
thread_ticks() {  # PID -> "tid ticks name" per thread
  local t
  for t in /proc/"$1"/task/*; do
    awk -v t="${t##*/}" -v n="$(tr -c '[:alnum:]\n_-' _ <"$t/comm" 2>/dev/null)" \
      '{print t, $14 + $15, n}' "$t/stat" 2>/dev/null || true
  done
}
HZ=$(getconf CLK_TCK)

wait_for() {  # FILE_OR_DIR PATTERN PID SECONDS
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    grep -rqs "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# rustnetd's last statistics line -> "received kernel interface queues packets"
rustnetd_stats() {
  grep -h 'capture .*: received' "$1"/*.log 2>/dev/null | tail -1 |
    sed -E 's/.*received ([0-9]+), filtered [0-9]+, dropped by kernel ([0-9]+), dropped by interface ([0-9]+), dropped by queues ([0-9]+); packets ([0-9]+),.*/\1 \2 \3 \4 \5/'
}

# One step: TOOL RATE ROUND -> appends a row to $WORK/rows:
# tool rate sent seconds achieved_pps captured kernel_drops queue_drops missing cpu_s busiest_s
# busiest_thread
step() {
  local tool="$1" rate="$2" round="$3"
  local tag="$tool-$rate-r$round" log="$OUT/live/$tool-$rate-r$round"
  local logdir="$WORK/logs-$tag"
  mkdir -p "$logdir"
  if [[ "$tool" == tcpdump ]]; then
    # Not through a function: one in the background is a subshell, and
    # TOOL_PID must be the tool (ip netns exec execs it).
    ip netns exec "$NS_R" tcpdump -i "$IF_R" -n -B "$BUFFER_KIB" -w /dev/null 2>"$log.err" &
    TOOL_PID=$!
    wait_for "$log.err" 'listening on' "$TOOL_PID" 10 || die "tcpdump did not start: $(cat "$log.err")"
  else
    local extra=""
    [[ "$tool" == rustnetd-np ]] && extra="--no-process"
    # shellcheck disable=SC2086  # extra arguments are words
    ip netns exec "$NS_R" "$RUSTNETD" -i "$IF_R" --socket "$WORK/$tag.sock" --log-dir "$logdir" \
      --stats-interval 1 $extra $LIVE_RUSTNETD_ARGS >/dev/null 2>"$log.err" &
    TOOL_PID=$!
    wait_for "$logdir" 'capturing on' "$TOOL_PID" 20 ||
      die "rustnetd did not start: $(cat "$log.err" "$logdir"/*.log 2>/dev/null)"
  fi
  sleep 0.5  # The ring is set up before the line; let things settle.
  local cpu0 threads0
  cpu0=$(cpu_ticks "$TOOL_PID")
  threads0=$(thread_ticks "$TOOL_PID")
  local args=(-i "$IF_S" -K)
  if [[ "$rate" == topspeed ]]; then args+=(--topspeed); else args+=("--pps=$rate"); fi
  if ((LIVE_LIMIT > 0)); then args+=("--limit=$LIVE_LIMIT"); fi
  in_s tcpreplay "${args[@]}" "$CAPTURE" >"$log.tcpreplay" 2>&1 || die "tcpreplay failed: $(cat "$log.tcpreplay")"
  local sent seconds achieved
  read -r sent seconds <<<"$(sed -nE 's/^Actual: ([0-9]+) packets .* sent in ([0-9.]+) seconds.*/\1 \2/p' "$log.tcpreplay")"
  achieved=$(sed -nE 's/^Rated: .* ([0-9.]+) pps.*/\1/p' "$log.tcpreplay")
  [[ -n "$sent" && -n "$achieved" ]] || die "cannot read tcpreplay's summary: $(cat "$log.tcpreplay")"
  # CPU while the packets arrived (the tool may still be working through its
  # ring and queues after tcpreplay returns: measured to the end of draining).
  local captured kernel queues missing
  if [[ "$tool" == tcpdump ]]; then
    sleep 2  # Writing to /dev/null: it drains in far less.
  else
    # Until rustnetd's packet count (logged every second) stops moving.
    local last=-1 now i
    for ((i = 0; i < 60; i++)); do
      sleep 1
      read -r _ _ _ _ now <<<"$(rustnetd_stats "$logdir")" || true
      [[ "$now" == "$last" ]] && break
      last=$now
    done
  fi
  local cpu1 busiest busiest_name
  cpu1=$(cpu_ticks "$TOOL_PID")
  read -r busiest busiest_name <<<"$(thread_ticks "$TOOL_PID" | awk -v before="$threads0" '
    BEGIN {n = split(before, b, "\n"); for (i = 1; i <= n; i++) {split(b[i], f, " "); t0[f[1]] = f[2]}}
    {d = $2 - t0[$1]; if (d > m) {m = d; name = $3}} END {print m + 0, name}')"
  if [[ "$tool" == tcpdump ]]; then
    kill -INT "$TOOL_PID"
    wait "$TOOL_PID" || true
    captured=$(sed -nE 's/^([0-9]+) packets captured/\1/p' "$log.err")
    kernel=$(sed -nE 's/^([0-9]+) packets dropped by kernel/\1/p' "$log.err")
    queues=0
  else
    kill -TERM "$TOOL_PID"
    wait "$TOOL_PID" || die "rustnetd did not stop cleanly: $(cat "$log.err")"
    cp "$logdir"/rustnet_*.log "$log.log"
    local iface
    read -r _ kernel iface queues captured <<<"$(rustnetd_stats "$logdir")"
    kernel=$((kernel + iface))
  fi
  TOOL_PID=""
  [[ -n "$captured" && -n "$kernel" ]] || die "cannot read $tool's statistics ($log.*)"
  # rustnetd counts packets its queues dropped among those it read.
  missing=$((sent - captured - kernel))
  if ((missing < 0)); then missing=0; fi
  awk -v t="$tool" -v r="$rate" -v s="$sent" -v sec="$seconds" -v a="$achieved" -v c="$captured" \
    -v k="$kernel" -v q="$queues" -v m="$missing" -v c0="$cpu0" -v c1="$cpu1" -v b="$busiest" -v hz="$HZ" \
    -v bn="${busiest_name:-?}" \
    'BEGIN {printf "%s %s %d %.3f %.0f %d %d %d %d %.2f %.2f %s\n", t, r, s, sec, a, c, k, q, m, (c1 - c0) / hz, b / hz, bn}' \
    >>"$WORK/rows"
  tail -1 "$WORK/rows"
}

echo "== live: $(basename "$CAPTURE") ($CAPTURE_PACKETS packets) replayed into a veth, rates: $LIVE_RATES =="
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/rows"
n=0
for ((round = 1; round <= LIVE_REPS; round++)); do
  for rate in $LIVE_RATES; do
    # Rotate which tool goes first, so drift in the load hits all alike.
    read -ra tools <<<"$LIVE_TOOLS"
    for ((i = 0; i < ${#tools[@]}; i++)); do
      step "${tools[(i + n) % ${#tools[@]}]}" "$rate" "$round"
    done
    n=$((n + 1))
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "Live capture: $(basename "$CAPTURE") replayed by tcpreplay -K (--pps=N or --topspeed) over a veth pair"
  echo "  between two namespaces, ${LIVE_LIMIT/#0/all $CAPTURE_PACKETS} packets per step; rustnetd ${LIVE_RUSTNETD_ARGS:-(defaults)}"
  echo "  (rustnetd-np: with --no-process) vs tcpdump -w /dev/null;"
  echo "  both with a 32 MiB ring and snaplen 262144; load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "  achieved = tcpreplay's own pps; captured = read from the kernel's ring (rustnetd: its queue"
  echo "  drops included); kern drop = ring full; queue drop = rustnetd's workers fell behind;"
  echo "  missing = sent - captured - kern drop; CPU = the tool's user+sys from the start of the send"
  echo "  until it drained, busiest = its busiest thread's"
  printf "  %-9s %-11s %9s %7s %11s %10s %10s %9s %8s %7s %9s\n" "rate" "tool" "sent" "s" "achieved" "captured" \
    "kern drop" "queue drop" "missing" "CPU s" "busiest thread s"
  awk '{printf "  %-9s %-11s %9d %7.2f %11d %10d %10d %9d %8d %7.2f %9.2f %s\n", $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12}' \
    "$WORK/rows"
  for tool in $LIVE_TOOLS; do
    best=$(awk -v t="$tool" '$1 == t && $7 + $8 + $9 == 0 && $5 > m {m = $5} END {print m + 0}' "$WORK/rows")
    lossy=$(awk -v t="$tool" '$1 == t && $7 + $8 + $9 > 0 {printf "%s%s (%d lost)", sep, $2, $7 + $8 + $9; sep = ", "}' "$WORK/rows")
    if [[ -z "$lossy" ]]; then
      printf "  %-11s nothing lost at any step; highest achieved rate %s pps (tcpreplay's limit here)\n" "$tool" "$best"
    else
      printf "  %-11s highest achieved rate with nothing lost: %s pps; lost at %s\n" "$tool" "$best" "$lossy"
    fi
  done
} | tee "$OUT/live.txt"
