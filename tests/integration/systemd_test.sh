#!/usr/bin/env bash
# rustnetd as a systemd service, checked without a running systemd:
#   - the units pass `systemd-analyze verify` (ExecStart pointed at the built
#     binary) and their exposure (`systemd-analyze security --offline=true`)
#     is at most 2.5;
#   - the sd_notify protocol: READY=1 (once the API answers), STATUS= lines,
#     WATCHDOG=1 (WATCHDOG_USEC/WATCHDOG_PID set), RELOADING=1 on SIGHUP and
#     STOPPING=1 on SIGTERM, received on a NOTIFY_SOCKET this test listens on,
#     for a replayed file and for live capture on lo;
#   - socket activation: under systemd-socket-activate a gRPC health check
#     is answered on the passed socket, and no socket of its own is made;
#   - the configuration file: SIGHUP applies a new log level, reopens a
#     renamed log file, survives a broken file; a mistake at start names the
#     file and line;
#   - capabilities: started as root with every capability, each thread keeps
#     only cap_net_raw, cap_dac_read_search and cap_sys_ptrace (live capture:
#     reopening the interface, process attribution) or nothing (a replayed
#     file), bounding set included, with no_new_privs set.
#
# Prints "ok:/FAIL:" per check and "N passed, M failed"; a missing tool is a
# FAIL. Environment (set by CTest): RUSTNETD, BUILD_DIR, SOURCE_DIR, FIXTURES.
set -u
: "${RUSTNETD:?RUSTNETD must point to the rustnetd binary}"
: "${SOURCE_DIR:?SOURCE_DIR must point to the source tree}"
: "${FIXTURES:?FIXTURES must point to tests/fixtures}"
PYTHON=/usr/bin/python3  # Debian's, with python3-grpcio.

pass=0 fail=0
work=$(mktemp -d /tmp/rnsysd.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

ok() {
  pass=$((pass + 1))
  echo "ok:   $1"
}
bad() {  # bad NAME DETAIL...
  fail=$((fail + 1))
  echo "FAIL: $1"
  shift
  local d
  for d in "$@"; do echo "        $d"; done
}
check() {  # check NAME CONDITION-COMMAND... ; detail from $detail
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name" "${detail:-}"; fi
  detail=""
}
show() {  # show FILE: indented, for failure details
  [[ -f $1 ]] && sed 's/^/        | /' "$1" | tail -40
}

# wait_for FILE PATTERN [SECONDS]: until grep finds PATTERN in FILE.
wait_for() {
  local file=$1 pattern=$2 seconds=${3:-10} i
  for ((i = 0; i < seconds * 10; i++)); do
    grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wait_exit PID [SECONDS]: waits for a child; sets rc (124 on timeout).
wait_exit() {
  local pid=$1 seconds=${2:-10} i
  for ((i = 0; i < seconds * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      rc=$?
      return 0
    fi
    sleep 0.1
  done
  rc=124
  return 1
}

# --- Tools ----------------------------------------------------------------------
tools_ok=1
for tool in systemd-analyze systemd-socket-activate "$PYTHON" setpriv; do
  if command -v "$tool" >/dev/null; then
    ok "tool $tool is installed"
  else
    bad "tool $tool is installed" "install it (scripts/setup.sh test)"
    tools_ok=0
  fi
done
if "$PYTHON" -c 'import grpc' 2>/dev/null; then
  ok "tool python3-grpcio is installed"
else
  bad "tool python3-grpcio is installed" "apt-get install python3-grpcio"
  tools_ok=0
fi
if [[ $(id -u) == 0 ]]; then
  ok "running as root (capture and capability checks need it)"
else
  bad "running as root (capture and capability checks need it)" "run the suite with sudo"
fi

# --- Units: verify and exposure ---------------------------------------------------
units="$work/units"
mkdir -p "$units"
cp "$SOURCE_DIR/systemd/rustnetd.socket" "$units/"
# verify needs ExecStart= to exist: point it at the binary under test.
sed "s|^ExecStart=/usr/sbin/rustnetd|ExecStart=$RUSTNETD|" \
  "$SOURCE_DIR/systemd/rustnetd.service" >"$units/rustnetd.service"
if command -v systemd-analyze >/dev/null; then
  if (cd "$units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
        rustnetd.service rustnetd.socket) >"$work/verify.out" 2>&1 &&
      ! grep -qiE 'warn|error|fail|unknown|ignoring' "$work/verify.out"; then
    ok "systemd-analyze verify rustnetd.service rustnetd.socket: clean"
  else
    bad "systemd-analyze verify rustnetd.service rustnetd.socket: clean" "$(show "$work/verify.out")"
  fi
  systemd-analyze security --offline=true "$units/rustnetd.service" >"$work/security.out" 2>&1
  exposure=$(sed -nE 's/.*Overall exposure level for rustnetd\.service: ([0-9]+\.[0-9]+).*/\1/p' \
    "$work/security.out")
  if [[ -n $exposure ]] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }'; then
    ok "exposure level $exposure <= 2.5 (systemd-analyze security --offline=true)"
  else
    bad "exposure level '${exposure:-?}' <= 2.5 (systemd-analyze security --offline=true)" \
      "$(grep -E '✗' "$work/security.out")"
  fi
else
  bad "systemd-analyze verify" "systemd-analyze is missing"
  bad "exposure level <= 2.5" "systemd-analyze is missing"
fi

# --- sd_notify ------------------------------------------------------------------------
# A fake service manager: prints each datagram as one line ("\n" inside
# becomes " | "), and on READY=1 notes whether the API socket answers.
cat >"$work/notify_listener.py" <<'EOF'
import os, socket, sys, time
path, out, api, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.time() + seconds
with open(out, "w", buffering=1) as f:
    f.write("LISTENING\n")
    while time.time() < end:
        try:
            data = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        f.write("%.3f %s\n" % (time.time(), data.replace("\n", " | ")))
        if data.startswith("READY=1") and api:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(api)
                f.write("API-ANSWERS-AT-READY\n")
            except OSError as e:
                f.write("API-DOWN-AT-READY %s\n" % e)
            c.close()
EOF

# notify_run NAME ARGS...: rustnetd under a fake manager for ~5 s with a 2 s
# watchdog, SIGHUP after 3 s, SIGTERM after 5 s; checks the messages.
notify_run() {
  local name=$1
  shift
  local dir="$work/notify-$name"
  mkdir -p "$dir"
  "$PYTHON" "$work/notify_listener.py" "$dir/notify.sock" "$dir/messages" "$dir/api.sock" 15 &
  local listener=$!
  pids+=("$listener")
  wait_for "$dir/messages" LISTENING 5
  (
    export NOTIFY_SOCKET="$dir/notify.sock" WATCHDOG_USEC=2000000 WATCHDOG_PID=$BASHPID
    exec "$RUSTNETD" "$@" --socket "$dir/api.sock" --log-dir "$dir/logs" --config /dev/null
  ) >"$dir/out" 2>"$dir/err" </dev/null &
  local daemon=$!
  pids+=("$daemon")
  wait_for "$dir/messages" 'READY=1' 10
  sleep 3
  kill -HUP "$daemon" 2>/dev/null
  sleep 2
  kill -TERM "$daemon" 2>/dev/null
  wait_exit "$daemon" 10
  local daemon_rc=$rc
  sleep 0.5
  kill "$listener" 2>/dev/null
  wait "$listener" 2>/dev/null
  local m="$dir/messages"
  detail="$(show "$m"; show "$dir/err")"
  check "notify $name: READY=1 sent" grep -q ' READY=1' "$m"
  detail="$(show "$m")"
  check "notify $name: the API answers when READY=1 arrives" grep -q API-ANSWERS-AT-READY "$m"
  detail="$(show "$m")"
  check "notify $name: STATUS= with packets/s, connections, dropped" \
    grep -qE ' STATUS=.*: [0-9]+ packets/s, [0-9]+ connections, [0-9]+ dropped' "$m"
  local pings
  pings=$(grep -c ' WATCHDOG=1' "$m")
  detail="$(show "$m")"
  check "notify $name: WATCHDOG=1 about every second (got $pings in ~5 s)" test "$pings" -ge 3
  detail="$(show "$m")"
  check "notify $name: SIGHUP sends RELOADING=1 then READY=1" \
    grep -qE ' RELOADING=1 \| MONOTONIC_USEC=[0-9]+' "$m"
  detail="$(show "$m")"
  check "notify $name: SIGTERM sends STOPPING=1 last" \
    bash -c "grep -E '^[0-9.]+ ' '$m' | tail -1 | grep -q ' STOPPING=1'"
  detail="exit code $daemon_rc; $(show "$dir/err")"
  check "notify $name: SIGTERM is a clean stop (exit 0, socket removed)" \
    bash -c "[[ $daemon_rc == 0 && ! -e '$dir/api.sock' ]]"
}
notify_run replay --read "$FIXTURES/http.pcap"
notify_run live -i lo

# A watchdog meant for another process (WATCHDOG_PID) is not ours.
dir="$work/notify-otherpid"
mkdir -p "$dir"
"$PYTHON" "$work/notify_listener.py" "$dir/notify.sock" "$dir/messages" "" 6 &
pids+=("$!")
wait_for "$dir/messages" LISTENING 5
NOTIFY_SOCKET="$dir/notify.sock" WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
  "$RUSTNETD" --read "$FIXTURES/http.pcap" --socket "$dir/api.sock" --log-dir "$dir/logs" \
  --config /dev/null >/dev/null 2>&1 </dev/null &
daemon=$!
pids+=("$daemon")
wait_for "$dir/messages" 'READY=1' 10
sleep 2.5
kill -TERM "$daemon"
wait_exit "$daemon" 10
detail="$(show "$dir/messages")"
check "notify: no WATCHDOG=1 when WATCHDOG_PID names another process" \
  bash -c "grep -q ' READY=1' '$dir/messages' && ! grep -q WATCHDOG=1 '$dir/messages'"

# --- Socket activation ----------------------------------------------------------------
dir="$work/activate"
mkdir -p "$dir"
cat >"$work/health.py" <<'EOF'
import sys, grpc
ok = 0
for i in range(int(sys.argv[2])):
    channel = grpc.insecure_channel("unix:" + sys.argv[1])
    reply = channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
    channel.close()
    ok += reply == b"\x08\x01"  # HealthCheckResponse{status: SERVING}
print("SERVING %d" % ok)
EOF
systemd-socket-activate -l "$dir/x.sock" "$RUSTNETD" --read "$FIXTURES/http.pcap" \
  --socket "$dir/own.sock" --log-dir "$dir/logs" --config /dev/null \
  >"$dir/out" 2>"$dir/err" </dev/null &
activator=$!
pids+=("$activator")
for _ in $(seq 50); do [[ -S $dir/x.sock ]] && break; sleep 0.1; done
# The first connection makes systemd-socket-activate start rustnetd.
timeout 30 "$PYTHON" "$work/health.py" "$dir/x.sock" 5 >"$dir/health" 2>&1
detail="$(show "$dir/health"; show "$dir/err"; show "$(ls "$dir"/logs/*.log 2>/dev/null | head -1)")"
check "socket activation: 5 gRPC health checks answered SERVING on the passed socket" \
  grep -q 'SERVING 5' "$dir/health"
detail="$(ls -la "$dir")"
check "socket activation: rustnetd made no socket of its own (--socket ignored)" \
  test ! -e "$dir/own.sock"
log=$(ls "$dir"/logs/*.log 2>/dev/null | head -1)
detail="$(show "$log")"
check "socket activation: the log says the socket was passed" \
  wait_for "$log" 'API listening on unix:.*x\.sock \(socket passed by the service manager\)' 10
kill -TERM "$activator" 2>/dev/null
wait_exit "$activator" 10
detail="exit code $rc"
check "socket activation: SIGTERM is a clean stop" test "$rc" = 0
detail="$(ls -la "$dir")"
check "socket activation: the passed socket's file is left to its owner" test -S "$dir/x.sock"

# --- Configuration file and SIGHUP --------------------------------------------------
dir="$work/hup"
mkdir -p "$dir"
conf="$dir/rustnetd.conf"
printf '# test\nlog-level = info\nlog-dir = %s/logs\nstats-interval = 60\n' "$dir" >"$conf"
"$RUSTNETD" --config "$conf" --read "$FIXTURES/http.pcap" --socket "$dir/api.sock" \
  >"$dir/out" 2>"$dir/err" </dev/null &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do compgen -G "$dir/logs/*.log" >/dev/null && break; sleep 0.1; done
log=$(ls "$dir"/logs/*.log 2>/dev/null | head -1)
wait_for "$log" 'API listening' 10
detail="$(show "$dir/err"; ls -la "$dir" "$dir/logs")"
check "config: --config's log-dir is used" test -n "$log"
detail="$(show "$log")"
check "config: the log names the configuration file" grep -q "configuration file $conf" "$log"
sed -i 's/^log-level = info/log-level = debug/' "$conf"
kill -HUP "$daemon"
wait_for "$log" 'debug logging is on' 10
detail="$(show "$log")"
check "SIGHUP: the new log level is applied (debug lines appear)" \
  grep -qE 'configuration reloaded: log level debug' "$log"
detail="$(show "$log")"
check "SIGHUP: debug records are written after the reload, not before" \
  bash -c "grep -n '\[debug\]' '$log' | head -1 | cut -d: -f1 | \
           xargs -I{} test {} -gt \$(grep -n 'configuration reloaded' '$log' | head -1 | cut -d: -f1)"
mv "$log" "$log.1"
kill -HUP "$daemon"
for _ in $(seq 100); do [[ -e $log ]] && break; sleep 0.1; done
wait_for "$log" 'configuration reloaded' 10
detail="$(ls -la "$dir/logs"; show "$log")"
check "SIGHUP: a renamed log file is reopened (a new file at the old path)" \
  grep -q "reopened $log" "$log"
detail="$(ls -la "$dir/logs")"
check "SIGHUP: the new log file is mode 0600" \
  bash -c "[[ \$(stat -c %a '$log') == 600 ]]"
detail="$(tail -3 "$log.1")"
check "SIGHUP: the renamed file gets nothing after the reopen" \
  bash -c "[[ \$(grep -c 'configuration reloaded' '$log.1') == 1 ]]"
echo 'this is not an option' >>"$conf"
kill -HUP "$daemon"
wait_for "$log" 'keeping the running configuration' 10
detail="$(show "$log")"
check "SIGHUP: a broken file is reported with its line and the daemon keeps running" \
  bash -c "grep -q 'rustnetd.conf line 5: expected name = value' '$log' && kill -0 $daemon"
printf 'log-level = info\nlog-dir = %s/logs\nstats-interval = 60\nthreads = 3\n' "$dir" >"$conf"
kill -HUP "$daemon"
wait_for "$log" 'threads changed' 10
detail="$(show "$log")"
check "SIGHUP: an option that needs a restart is named" \
  grep -q 'SIGHUP: threads changed; it takes effect when rustnetd restarts' "$log"
kill -TERM "$daemon"
wait_exit "$daemon" 10
detail="exit code $rc; $(show "$dir/err")"
check "config: SIGTERM after reloads is a clean stop" test "$rc" = 0

printf 'interface = lo\nthreads = many\n' >"$dir/bad.conf"
timeout 10 "$RUSTNETD" --config "$dir/bad.conf" --read "$FIXTURES/http.pcap" --dump json \
  >"$dir/out" 2>"$dir/err" </dev/null
rc=$?
detail="exit code $rc; $(show "$dir/err")"
check "config: a bad value at start is one line naming the file and line, exit 2" \
  bash -c "[[ $rc == 2 && \$(wc -l <'$dir/err') == 1 ]] && \
           grep -q '^rustnetd: $dir/bad.conf line 2: --threads:' '$dir/err'"
timeout 10 "$RUSTNETD" --config "$dir/missing.conf" --version >"$dir/out" 2>&1
detail="$(show "$dir/out")"
check "config: --version works whatever the configuration" grep -q '^rustnetd ' "$dir/out"
timeout 10 "$RUSTNETD" --config "$dir/missing.conf" --read "$FIXTURES/http.pcap" --dump json \
  >"$dir/out" 2>"$dir/err" </dev/null
rc=$?
detail="exit code $rc; $(show "$dir/err")"
check "config: a missing --config file is an error" \
  bash -c "[[ $rc != 0 ]] && grep -q 'cannot read configuration file $dir/missing.conf' '$dir/err'"
printf 'interface = lo\n' >"$dir/iface.conf"
timeout 20 "$RUSTNETD" --config "$dir/iface.conf" --read "$FIXTURES/http.pcap" --dump json \
  >"$dir/out" 2>"$dir/err" </dev/null
rc=$?
detail="exit code $rc; $(show "$dir/err")"
check "config: --read on the command line overrides the file's interface" \
  bash -c "[[ $rc == 0 && -s '$dir/out' ]]"

# --- Capabilities -------------------------------------------------------------------
# caps_run NAME EXPECTED_HEX ARGS...: starts rustnetd as root, reads every
# thread's /proc status once it serves.
caps_run() {
  local name=$1 expected=$2
  shift 2
  local dir="$work/caps-$name"
  mkdir -p "$dir"
  "$RUSTNETD" "$@" --socket "$dir/api.sock" --log-dir "$dir/logs" --config /dev/null \
    >"$dir/out" 2>"$dir/err" </dev/null &
  local daemon=$!
  pids+=("$daemon")
  for _ in $(seq 100); do compgen -G "$dir/logs/*.log" >/dev/null && break; sleep 0.1; done
  local log
  log=$(ls "$dir"/logs/*.log 2>/dev/null | head -1)
  wait_for "$log" 'capabilities: ' 10
  sleep 0.5  # Workers and capture thread started.
  local threads=0 wrong=()
  local t field
  for t in /proc/"$daemon"/task/*; do
    threads=$((threads + 1))
    for field in CapEff CapPrm CapBnd CapAmb CapInh; do
      local v
      v=$(awk -v f="$field:" '$1 == f { print $2 }' "$t/status")
      case $field in
        CapAmb | CapInh) [[ $((16#$v & ~16#$expected)) == 0 ]] || wrong+=("${t##*/} $field=$v") ;;
        *) [[ $v == "$expected" ]] || wrong+=("${t##*/} $field=$v") ;;
      esac
    done
    grep -qE '^NoNewPrivs:\s+1' "$t/status" || wrong+=("${t##*/} NoNewPrivs=0")
  done
  detail="$(printf '%s; ' "${wrong[@]}") $(show "$log"; show "$dir/err")"
  check "capabilities $name: all $threads threads hold exactly $expected ($*)" \
    test "${#wrong[@]}" -eq 0 -a "$threads" -ge 3
  timeout 15 "$PYTHON" "$work/health.py" "$dir/api.sock" 1 >"$dir/health" 2>&1
  detail="$(show "$dir/health")"
  check "capabilities $name: the API still answers" grep -q 'SERVING 1' "$dir/health"
  kill -TERM "$daemon"
  wait_exit "$daemon" 10
  detail="exit code $rc; $(show "$dir/err")"
  check "capabilities $name: clean stop without privileges (exit 0, socket removed)" \
    bash -c "[[ $rc == 0 && ! -e '$dir/api.sock' ]]"
}
# cap_dac_read_search (2) + cap_sys_ptrace (19): process attribution;
# cap_net_raw (13): reopening the interface after it went down or away.
caps_run live 0000000000082004 -i lo
caps_run replay 0000000000000000 --read "$FIXTURES/http.pcap"

# Not root: nothing to drop, and a replay works all the same.
dir="$work/unprivileged"
mkdir -p "$dir"
chmod 0777 "$dir"
timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
  "$RUSTNETD" --read "$FIXTURES/http.pcap" --dump json --log-dir "$dir/logs" --config /dev/null \
  >"$dir/out" 2>"$dir/err" </dev/null
rc=$?
detail="exit code $rc; $(show "$dir/err")"
check "capabilities: an unprivileged replay runs (nothing to drop)" \
  bash -c "[[ $rc == 0 && -s '$dir/out' ]]"

echo "$pass passed, $fail failed"
((fail == 0 && tools_ok == 1))
