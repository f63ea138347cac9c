#!/usr/bin/env bash
# bench/live_trafgen.sh: the highest packet rate each tool takes without a
# single kernel drop, stepped up with trafgen (Debian's netsniff-ng: it
# sends millions of packets a second over a veth, where tcpreplay tops out
# at ~240 kpps) — rustnetd next to `tcpdump -w /dev/null` and a bare
# libpcap loop (bench_bare_live, opened as rustnetd opens an interface).
#
# Two private network namespaces joined by a veth pair; trafgen in the
# sender's sends small packets (64-byte UDP and 128-byte TCP frames,
# alternating) in many flows (source ports counting through 1024-65535,
# so the flow hash spreads them: 129,024 flows) at each step's rate for
# LIVE_SECONDS; the tool captures on the receiving end. Per step and tool:
# the rate achieved (from the receiving veth's rx_packets: what reached the
# interface, whatever trafgen aimed for), and what the tool lost: libpcap's
# ps_drop + ps_ifdrop (tcpdump's "dropped by kernel/interface", the bare
# loop's pcap_stats), rustnetd's kernel + interface drops (summed over its
# capture handles) + queue drops (a worker fell behind; GetStats'
# pipeline.dropped_queues). Tools alternate within a step, the order
# rotating from step to step.
#
# Usage (root; all traffic stays in the namespaces; ~2 minutes):
#   bench/live_trafgen.sh            (bench/run.sh runs it with LIVE=1)
# Environment:
#   RUSTNETD=build-bench/daemon/rustnetd   BARE_LIVE=build-bench/bench/bench_bare_live
#   OUT=bench/out                          results: OUT/live_trafgen.txt, OUT/live_trafgen/
#   LIVE_STEPS="250000 500000 750000 1000000 1500000 topspeed"   packets/s
#   LIVE_SECONDS=3                         seconds of traffic per step
#   LIVE_TOOLS="tcpdump bare rustnetd"     rustnetd-cN: rustnetd --capture-threads N
#                                          (capture fan-out), a column of its own
#   LIVE_RUSTNETD_ARGS="--no-process"      extra rustnetd arguments
#   LIVE_RING_KIB=32768                    every tool's kernel ring (rustnetd: per
#                                          capture thread; RUSTNET_CAPTURE_BUFFER_KIB)
#   LIVE_BLOCK_MS=                         rustnetd's TPACKET_V3 block timeout
#                                          (RUSTNET_CAPTURE_BLOCK_TIMEOUT_MS; empty:
#                                          its default, 2 ms)
# trafgen: one process (-P 1); below topspeed it paces itself (-b, its
# "slow mode": a sendto() and a sleep per packet, which caps the rate it
# can reach well below topspeed: ~55 kpps on a loaded 2-core machine), at
# topspeed it fills a TX_RING (no pacing).
# The sender shares the machine's cores with the tool: on 2 cores, trafgen
# takes one of them at the top steps. Fairness: every tool gets a 32 MiB
# ring (LIVE_RING_KIB) and snaplen 262144 (rustnetd's defaults); the
# receiving veth is promiscuous for all. (rustnetd-cN has N rings.)
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/bench/out}"
RUSTNETD="${RUSTNETD:-$ROOT/build-bench/daemon/rustnetd}"
BARE_LIVE="${BARE_LIVE:-$(dirname "$(dirname "$RUSTNETD")")/bench/bench_bare_live}"
LIVE_STEPS="${LIVE_STEPS:-250000 500000 750000 1000000 1500000 topspeed}"
LIVE_SECONDS="${LIVE_SECONDS:-3}"
LIVE_TOOLS="${LIVE_TOOLS:-tcpdump bare rustnetd}"
LIVE_RUSTNETD_ARGS="${LIVE_RUSTNETD_ARGS:---no-process}"
BUFFER_KIB="${LIVE_RING_KIB:-32768}"
LIVE_BLOCK_MS="${LIVE_BLOCK_MS:-}"

die() { echo "bench/live_trafgen.sh: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (it creates network namespaces)"
[[ -x "$RUSTNETD" ]] || die "no rustnetd at $RUSTNETD; build it or set RUSTNETD"
[[ -x "$BARE_LIVE" ]] || die "no bench_bare_live at $BARE_LIVE; build it (target bench_bare_live) or set BARE_LIVE"
for tool in ip trafgen tcpdump; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install iproute2 netsniff-ng tcpdump"
done

. "$ROOT/bench/netns_lib.sh"
bench_netns_up rntg rntg0 rntg1 rnbench-trafgen

# 64-byte UDP and 128-byte TCP frames (without FCS: 60 and 124 on the
# wire + 4), source ports counting up so that consecutive packets are
# different flows.
cat >"$WORK/flows.cfg" <<'EOF'
{
  eth(da=02:52:4e:00:00:02, sa=02:52:4e:00:00:01),
  ipv4(sa=10.77.0.1, da=10.77.0.2, ttl=64),
  udp(sp=dinc(1024, 65535), dp=4000),
  fill(0x41, 18)
}
{
  eth(da=02:52:4e:00:00:02, sa=02:52:4e:00:00:01),
  ipv4(sa=10.77.0.3, da=10.77.0.2, ttl=64),
  tcp(sp=dinc(1024, 65535), dp=8080, seq=dinc(), ack, win=512),
  fill(0x42, 70)
}
EOF

mkdir -p "$OUT/live_trafgen"
rm -f "$OUT"/live_trafgen/*
# CPU ticks (utime+stime) of each thread: "tid ticks name".
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    awk -v t="${t##*/}" -v n="$(tr -c '[:alnum:]\n_-' _ <"$t/comm" 2>/dev/null)" \
      '{print t, $14 + $15, n}' "$t/stat" 2>/dev/null || true
  done
}
rx_packets() { ip netns exec "$NS_R" cat "/sys/class/net/$IF_R/statistics/rx_packets"; }
now_s() { date +%s.%N; }

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

# One step: TOOL RATE -> a row in $WORK/rows:
# rate tool achieved_pps rx captured kernel_lost queue_lost cpu_s busiest_thread_s name
step() {
  local tool="$1" rate="$2"
  local tag="$tool-$rate" log="$OUT/live_trafgen/$tool-$rate"
  local logdir="$WORK/logs-$tag"
  mkdir -p "$logdir"
  case "$tool" in
    tcpdump)
      ip netns exec "$NS_R" tcpdump -i "$IF_R" -n -B "$BUFFER_KIB" -w /dev/null 2>"$log.err" &
      TOOL_PID=$!
      wait_for "$log.err" 'listening on' "$TOOL_PID" 10 || die "tcpdump did not start: $(cat "$log.err")"
      ;;
    bare)
      ip netns exec "$NS_R" "$BARE_LIVE" "$IF_R" $((BUFFER_KIB * 1024)) >"$log.out" 2>"$log.err" &
      TOOL_PID=$!
      wait_for "$log.err" 'listening on' "$TOOL_PID" 10 || die "bench_bare_live did not start: $(cat "$log.err")"
      ;;
    rustnetd*)
      local fanout=()
      [[ "$tool" == rustnetd-c* ]] && fanout=(--capture-threads "${tool#rustnetd-c}")
      # shellcheck disable=SC2086  # extra arguments are words
      ip netns exec "$NS_R" env RUSTNET_CAPTURE_BUFFER_KIB="$BUFFER_KIB" \
        ${LIVE_BLOCK_MS:+RUSTNET_CAPTURE_BLOCK_TIMEOUT_MS="$LIVE_BLOCK_MS"} \
        "$RUSTNETD" -i "$IF_R" --socket "$WORK/$tag.sock" --log-dir "$logdir" \
        --stats-interval 1 "${fanout[@]}" $LIVE_RUSTNETD_ARGS >/dev/null 2>"$log.err" &
      TOOL_PID=$!
      wait_for "$logdir" 'capturing on' "$TOOL_PID" 20 ||
        die "rustnetd did not start: $(cat "$log.err" "$logdir"/*.log 2>/dev/null)"
      ;;
  esac
  sleep 0.5
  local cpu0 rx0 t0 rx1 t1 threads0
  cpu0=$(awk '{print $14 + $15}' "/proc/$TOOL_PID/stat")
  threads0=$(thread_ticks "$TOOL_PID")
  rx0=$(rx_packets)
  t0=$(now_s)
  if [[ "$rate" == topspeed ]]; then
    ip netns exec "$NS_S" timeout -s INT "$LIVE_SECONDS" trafgen -P 1 -C -i "$WORK/flows.cfg" \
      -o "$IF_S" >"$log.trafgen" 2>&1 || true
  else
    # Stopped after LIVE_SECONDS like topspeed (not by a packet count: in
    # slow mode it may fall far short of the rate asked).
    ip netns exec "$NS_S" timeout -s INT "$LIVE_SECONDS" trafgen -P 1 -C -i "$WORK/flows.cfg" \
      -o "$IF_S" -b "${rate}pps" >"$log.trafgen" 2>&1 || true
  fi
  t1=$(now_s)
  rx1=$(rx_packets)
  # (trafgen 0.6.8 exits non-zero after a run on Debian 12 — "xfree: NULL
  # pointer given as argument" — so its packets, not its status, tell.)
  ((rx1 > rx0)) || die "trafgen sent nothing: $(cat "$log.trafgen")"
  local captured kernel queues=0
  if [[ "$tool" == rustnetd* ]]; then
    # Until its packet count (logged every second) stops moving.
    local last=-1 now i
    for ((i = 0; i < 30; i++)); do
      sleep 1
      read -r _ _ _ _ now <<<"$(rustnetd_stats "$logdir")" || true
      [[ "$now" == "$last" ]] && break
      last=$now
    done
  else
    sleep 1
  fi
  local cpu1 busiest busiest_name
  cpu1=$(awk '{print $14 + $15}' "/proc/$TOOL_PID/stat")
  read -r busiest busiest_name <<<"$(thread_ticks "$TOOL_PID" | awk -v before="$threads0" '
    BEGIN {n = split(before, b, "\n"); for (i = 1; i <= n; i++) {split(b[i], f, " "); t0[f[1]] = f[2]}}
    {d = $2 - t0[$1]; if (d > m) {m = d; name = $3}} END {print m + 0, name}')"
  case "$tool" in
    tcpdump)
      kill -INT "$TOOL_PID"
      wait "$TOOL_PID" || true
      captured=$(sed -nE 's/^([0-9]+) packets captured/\1/p' "$log.err")
      # ("dropped by interface" is printed only when libpcap has the count.)
      kernel=$(awk '/packets dropped by (kernel|interface)/ {n += $1} END {print n + 0}' "$log.err")
      ;;
    bare)
      kill -INT "$TOOL_PID"
      wait "$TOOL_PID" || true
      captured=$(sed -nE 's/.*captured=([0-9]+).*/\1/p' "$log.out")
      kernel=$(sed -nE 's/.*dropped=([0-9]+) ifdropped=([0-9]+).*/\1 + \2/p' "$log.out")
      kernel=$((kernel))
      ;;
    rustnetd*)
      kill -TERM "$TOOL_PID"
      wait "$TOOL_PID" || die "rustnetd did not stop cleanly: $(cat "$log.err")"
      cp "$logdir"/rustnet_*.log "$log.log"
      local iface
      read -r _ kernel iface queues captured <<<"$(rustnetd_stats "$logdir")"
      kernel=$((kernel + iface))
      ;;
  esac
  TOOL_PID=""
  [[ -n "$captured" && -n "$kernel" ]] || die "cannot read $tool's statistics ($log.*)"
  awk -v r="$rate" -v t="$tool" -v rx="$((rx1 - rx0))" -v sec="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    -v c="$captured" -v k="$kernel" -v q="$queues" -v c0="$cpu0" -v c1="$cpu1" -v hz="$(getconf CLK_TCK)" \
    -v b="$busiest" -v bn="${busiest_name:-?}" \
    'BEGIN {printf "%s %s %.0f %d %d %d %d %.2f %.2f %s\n", r, t, rx / sec, rx, c, k, q, (c1 - c0) / hz, b / hz, bn}' >>"$WORK/rows"
  tail -1 "$WORK/rows"
}

echo "== live (trafgen): steps $LIVE_STEPS, ${LIVE_SECONDS} s each, tools $LIVE_TOOLS =="
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/rows"
n=0
read -ra tools <<<"$LIVE_TOOLS"
for rate in $LIVE_STEPS; do
  for ((i = 0; i < ${#tools[@]}; i++)); do
    step "${tools[(i + n) % ${#tools[@]}]}" "$rate"
  done
  n=$((n + 1))
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "Live capture, trafgen (-P 1) over a veth pair between two namespaces: 64-byte UDP and 128-byte TCP"
  echo "  frames alternating, 129,024 flows, ${LIVE_SECONDS} s per step; $(nproc) cores ($(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -1));"
  echo "  load average before $LOAD_BEFORE, after $LOAD_AFTER; rustnetd ${LIVE_RUSTNETD_ARGS:-(defaults)};"
  echo "  rings ${BUFFER_KIB} KiB; rustnetd's block timeout ${LIVE_BLOCK_MS:-2 (default)} ms"
  echo "  achieved = the receiving veth's rx_packets / seconds of sending; lost = kernel drops (ps_drop +"
  echo "  ps_ifdrop; rustnetd's summed over its handles) + rustnetd's queue drops; CPU = the tool's user+sys"
  printf "  %-9s %11s" "step" "achieved"
  for tool in $LIVE_TOOLS; do printf " | %-22s" "$tool lost (CPU s)"; done
  echo
  for rate in $LIVE_STEPS; do
    awk -v r="$rate" -v tools="$LIVE_TOOLS" '
      $1 == r {ach[$2] = $3; lost[$2] = $6 + $7; cpu[$2] = $8}
      END {
        a = 0; n = 0; for (t in ach) {a += ach[t]; n++}
        printf "  %-9s %11.0f", r, n ? a / n : 0
        k = split(tools, ts, " ")
        for (i = 1; i <= k; i++) {
          t = ts[i]
          if (t in lost) printf " | %13s (%6.2f)", lost[t], cpu[t]; else printf " | %22s", "-"
        }
        printf "\n"
      }' "$WORK/rows"
  done
  echo "  (achieved: the mean over the tools' runs of the step; each run's own in OUT/live_trafgen.rows)"
  for tool in $LIVE_TOOLS; do
    [[ "$tool" == rustnetd* ]] || continue
    echo "  $tool's busiest thread per step (CPU s, name):" \
      "$(awk -v t="$tool" '$2 == t {printf "%s: %.2f %s; ", $1, $9, $10}' "$WORK/rows")"
  done
  for tool in $LIVE_TOOLS; do
    best=$(awk -v t="$tool" '$2 == t && $6 + $7 == 0 && $3 > m {m = $3} END {print m + 0}' "$WORK/rows")
    first_loss=$(awk -v t="$tool" '$2 == t && $6 + $7 > 0 {printf "%s", $3; exit}' "$WORK/rows")
    printf "  %-9s highest rate with nothing lost: %s pps%s\n" "$tool" "$best" \
      "${first_loss:+; first loss at $first_loss pps}"
  done
} | tee "$OUT/live_trafgen.txt"
cp "$WORK/rows" "$OUT/live_trafgen.rows"
