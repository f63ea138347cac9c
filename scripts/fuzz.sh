#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and runs each for
# SECONDS (default 10). The test command runs this briefly; a nightly-style
# run is `scripts/fuzz.sh 3600`. Corpora start from the fixture captures
# (tests/fixtures, including nDPI's) and grow in build-fuzz/corpus/; a crash
# leaves its input in build-fuzz/crashes/ and makes the script exit 1 — add
# it to tests/fixtures/crashers/ as a named regression input.
# Usage: scripts/fuzz.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
dir=build-fuzz
fuzzers=(decoder pcap_file filter tls http dns ssh quic simple_udp tui_render
         mail ftp db remote lan iot p2p vpn netmgmt text_services)

CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUSTNET_FUZZ=ON -DRUSTNET_BUILD_TESTS=OFF -DRUSTNET_WERROR=ON >/dev/null || exit 1
targets=()
for f in "${fuzzers[@]}"; do targets+=("fuzz_$f"); done
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}" || { echo "fuzz: BUILD FAILED"; exit 1; }

mkdir -p "$dir/crashes"
failed=0
for f in "${fuzzers[@]}"; do
  corpus="$dir/corpus/$f"
  mkdir -p "$corpus"
  # Seeds: real captures for the reader and decoder; any committed
  # regression inputs for every target.
  if [[ $f == pcap_file || $f == decoder ]]; then
    find tests/fixtures -name '*.pcap' -size -64k -exec cp -n {} "$corpus/" \;
  fi
  [[ -d tests/fixtures/crashers/$f ]] && cp -n tests/fixtures/crashers/$f/* "$corpus/" 2>/dev/null
  log="$dir/$f.log"
  if "$dir/tests/fuzz/fuzz_$f" "$corpus" -max_total_time="$seconds" -max_len=65536 \
      -artifact_prefix="$dir/crashes/$f-" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz $f: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz $f: FAILED (see $log)"
    tail -30 "$log"
    failed=1
  fi
done
exit $failed
