#!/usr/bin/env bash
# Deletes rustnet log files older than N days (default 7).
# Usage: scripts/clear_old_logs.sh [DAYS] [LOG_DIR]   (LOG_DIR default: logs)
set -euo pipefail
days=${1:-7}
dir=${2:-logs}
if ! [[ $days =~ ^[0-9]+$ ]]; then
  echo "clear_old_logs: DAYS must be a whole number, got \"$days\"" >&2
  exit 2
fi
if [[ ! -d $dir ]]; then
  echo "clear_old_logs: no log directory $dir; pass the directory as the second argument" >&2
  exit 1
fi
count=$(find "$dir" -maxdepth 1 -type f -name "rustnet*_*.log" -mmin "+$((days * 1440))" -print -delete | wc -l)
echo "clear_old_logs: deleted $count log file(s) older than $days day(s) from $dir"
