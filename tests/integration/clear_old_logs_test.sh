#!/usr/bin/env bash
# scripts/clear_old_logs.sh deletes only rustnet logs older than N days.
set -u
script="$SOURCE_DIR/scripts/clear_old_logs.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }

touch -d '10 days ago' "$dir/rustnet_2020-01-01_00-00-00.log"
touch -d '2 days ago' "$dir/rustnet_2020-01-09_00-00-00.log"
touch "$dir/rustnet_2020-01-10_00-00-00.log"
touch -d '10 days ago' "$dir/other.log"
out=$("$script" 7 "$dir")
check "reports one deletion" '[[ $out == *"deleted 1 log file"* ]]'
check "old log deleted" '[[ ! -e $dir/rustnet_2020-01-01_00-00-00.log ]]'
check "recent logs kept" '[[ -e $dir/rustnet_2020-01-09_00-00-00.log && -e $dir/rustnet_2020-01-10_00-00-00.log ]]'
check "foreign file kept" '[[ -e $dir/other.log ]]'
"$script" 1 "$dir" >/dev/null
check "1 day removes the 2-day-old log" '[[ ! -e $dir/rustnet_2020-01-09_00-00-00.log ]]'
"$script" abc "$dir" 2>/dev/null; rc=$?
check "bad DAYS is an error" '[[ $rc -ne 0 ]]'
"$script" 7 "$dir/nope" 2>/dev/null; rc=$?
check "missing dir is an error" '[[ $rc -ne 0 ]]'
echo "$pass passed, $fail failed"
((fail == 0))
