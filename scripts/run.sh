#!/usr/bin/env bash
# Quick start: install what is missing, build, and start the monitor —
# rustnetd, and, on a terminal, rustnet-tui attached to it. Quitting the TUI
# (q q) stops the daemon. Without a terminal (or with --dump), only rustnetd
# runs, in the foreground.
# Usage (as root): scripts/run.sh [rustnetd options]   e.g. scripts/run.sh -i eth0
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
# Only the two programs: the test suite is scripts/test.sh's to build
# (tests/integration/quick_start_test.sh checks that no test is compiled).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target rustnetd rustnet-tui

# The socket rustnetd serves on: --socket if given, else the default.
socket=/run/rustnet/rustnetd.sock
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --socket) socket=${args[i + 1]:-$socket} ;;
    --socket=*) socket=${args[i]#--socket=} ;;
  esac
done
if [[ ! -t 0 || ! -t 1 || " $* " == *" --dump "* ]]; then
  echo "run: starting build/daemon/rustnetd $* (logs in ./logs; Ctrl+C stops)"
  exec build/daemon/rustnetd "$@"
fi

echo "run: starting build/daemon/rustnetd $* in the background (logs in ./logs)"
build/daemon/rustnetd "$@" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null' EXIT
# Wait for the API socket (or for the daemon to fail and say why).
for _ in $(seq 100); do
  [[ -S $socket ]] && break
  kill -0 "$daemon" 2>/dev/null || { wait "$daemon"; exit $?; }
  sleep 0.1
done
build/client/rustnet-tui --socket "$socket" --log-dir logs
