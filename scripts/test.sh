#!/usr/bin/env bash
# Runs every test: installs what is missing, builds Release (-O3) and runs
# the suite, then builds with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs the suite again, then with ThreadSanitizer (RelWithDebInfo) runs
# the tests of the threaded parts, then runs every libFuzzer target briefly
# (clang, RelWithDebInfo). Exits non-zero if any test fails; prints each
# phase's wall time.
# Usage (as root: the tests create network namespaces): scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test || exit 1

jobs=$(nproc)
total_pass=0
total_skipped=0
skipped_names=""
total_fail=0
status=0

# Optional: SUITE_TARGETS (build only these), SUITE_TESTS (ctest -R regex),
# SUITE_WRAP (a command ctest runs under).
run_suite() {  # name build_dir cmake_args...
  local name=$1 dir=$2
  shift 2
  local targets=() tests=() wrap=()
  [[ -n ${SUITE_TARGETS:-} ]] && read -ra targets <<<"--target $SUITE_TARGETS"
  [[ -n ${SUITE_TESTS:-} ]] && tests=(-R "$SUITE_TESTS")
  [[ -n ${SUITE_WRAP:-} ]] && read -ra wrap <<<"$SUITE_WRAP"
  local t0=$SECONDS
  echo "== $name: configure and build ($dir)"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >/dev/null ||
    ! cmake --build "$dir" -j "$jobs" "${targets[@]}"; then
    echo "== $name: BUILD FAILED"
    total_fail=$((total_fail + 1))
    status=1
    return
  fi
  echo "== $name: built in $((SECONDS - t0)) s; ctest"
  t0=$SECONDS
  local log="$dir/ctest.log"
  # --timeout: a test without its own TIMEOUT that hangs fails after 5
  # minutes instead of holding the run until CI's limit.
  (cd "$dir" && "${wrap[@]}" ctest --output-on-failure --timeout 300 -j "$jobs" "${tests[@]}" 2>&1) | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: tests ran in $((SECONDS - t0)) s"
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [[ -z $line ]]; then
    echo "== $name: ctest printed no summary"
    total_fail=$((total_fail + 1))
    status=1
    return
  fi
  local failed out_of
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  out_of=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
  # A test that skips (exit 77: a prerequisite this machine lacks) is not a
  # pass: counted and named in the summary.
  local skipped
  skipped=$(grep -E '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" | sed -E 's/^[[:space:]]+[0-9]+ - (.*) \(Skipped\)$/\1/' || true)
  if [[ -n $skipped ]]; then
    total_skipped=$((total_skipped + $(wc -l <<<"$skipped")))
    skipped_names+=" $name:$(tr '\n' ' ' <<<"$skipped")"
  fi
  total_pass=$((total_pass + out_of - failed - $(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" || true)))
  total_fail=$((total_fail + failed))
  ((rc != 0 || failed != 0)) && status=1
}

# Warnings are errors in every build the project makes of itself
# (RUSTNET_WERROR; a user's plain build leaves it off).
werror=-DRUSTNET_WERROR=ON

# Release (-O3, where GCC 12 warns where -O2 does not): the build packagers
# and users make. RelWithDebInfo is built by the TSan and fuzz phases.
run_suite "release" build -DCMAKE_BUILD_TYPE=Release "$werror"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "asan+ubsan" build-asan -DCMAKE_BUILD_TYPE=Debug -DRUSTNET_SANITIZE=ON "$werror"

# ThreadSanitizer (about 5 minutes on 2 cores): only what runs threads, the
# pipeline behind the API, snapshots and events, attribution, the DNS cache,
# the accept loop and watchdog (unit tests), and the daemon serving the API
# on replayed files and live (integration). Only rustnetd and the unit tests
# are built. Abseil's Mutex is annotated for TSan (tests/tsan/); the
# suppressions are for gRPC's and Abseil's uninstrumented libraries only.
# With ASLR off (setarch -R): TSan's shadow layout needs it on kernels with
# large vm.mmap_rnd_bits.
# Not api_abuse_test: with clients vanishing mid-call, about every second
# run reports a race between two of gRPC's own threads on a string gRPC
# made (no rustnet frame in either stack; Debian's gRPC is not built with
# TSan, so its synchronisation is invisible); it runs in the other builds.
# metrics_test's race report (about one run in three under load) was
# libprotobuf's own: gRPC's reflection service serialising a descriptor
# while another thread built its lazy strings (see tests/tsan.supp).
tsan_tests='^unit/(api:|query:|event_hub:|json_writer_|MergeAttribution:|Attributor:|dns_cache:|readers walk snapshots|chunk_ref '
tsan_tests+='|accept_loop |watchdog |closed_history:|pipeline_closed:|timeline:|group_totals:|ipfix |metrics:|pcap export |SocketRecordTable:|fan_in:|fanout:)'
tsan_tests+='|^integration/(api_test|history_test|live_veth_test|ipfix_test|metrics_test|pcap_export_test|ebpf_attribution_test|capture_fanout_test)$'
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
  SUITE_TARGETS="rustnetd rn_unit_tests" SUITE_TESTS=$tsan_tests \
  SUITE_WRAP="setarch $(uname -m) -R" \
  run_suite "tsan" build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUSTNET_SANITIZE=thread "$werror"

# libFuzzer targets (clang, ASan+UBSan), briefly; scripts/fuzz.sh 3600 is
# the long run.
echo "== fuzz: scripts/fuzz.sh ${FUZZ_SECONDS:-10}"
t0=$SECONDS
if scripts/fuzz.sh "${FUZZ_SECONDS:-10}"; then
  total_pass=$((total_pass + 1))
else
  total_fail=$((total_fail + 1))
  status=1
fi
echo "== fuzz: built and ran in $((SECONDS - t0)) s"

echo "all suites: $total_pass passed, $total_fail failed, $total_skipped skipped${skipped_names:+ (}${skipped_names# }${skipped_names:+)} in $((SECONDS / 60)) min"
exit $status
