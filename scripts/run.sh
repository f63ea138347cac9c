#!/usr/bin/env bash
# Quick start: install what is missing, build, and start the monitor.
# Usage (as root): scripts/run.sh [rustnetd options]   e.g. scripts/run.sh -i eth0
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo "run: starting build/daemon/rustnetd $* (logs in ./logs; Ctrl+C stops)"
exec build/daemon/rustnetd "$@"
