#!/usr/bin/env bash
# The quick start (scripts/run.sh) builds the two programs and nothing of
# the test suite: its own configure and build commands, taken from the
# script, are planned on a fresh build directory (ninja -t commands), and
# the compile steps they would take are checked. A Release configure of a
# user's plain build (no -Werror) is checked to configure.
set -u
run="$SOURCE_DIR/scripts/run.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }

configure=$(grep -E '^cmake -S \. -B build ' "$run")
build=$(grep -E '^cmake --build build' "$run")
check "run.sh has one configure line" '[[ $(wc -l <<<"$configure") == 1 && -n $configure ]]'
check "run.sh has one build line" '[[ $(wc -l <<<"$build") == 1 && -n $build ]]'

# The same configure, on $dir instead of build, from the source tree; then
# every command ninja would run from scratch for the build line's targets.
configure=${configure/-B build /-B $dir/b }
configure=${configure%%>*}
targets=$(sed -E 's/.*--target +//' <<<"$build")
check "the build line names its targets" '[[ $build == *"--target "* && -n $targets ]]'
(cd "$SOURCE_DIR" && eval "$configure") >"$dir/configure.log" 2>&1
check "configure succeeds" '[[ $? == 0 ]]'
# shellcheck disable=SC2086  # $targets is a list.
ninja -C "$dir/b" -t commands $targets >"$dir/plan.log" 2>&1
check "ninja lists the plan" '[[ $? == 0 ]]'
compiles=$(grep -c -- ' -c ' "$dir/plan.log")
check "it compiles the daemon" 'grep -q -- "-c $SOURCE_DIR/daemon/main.cc" "$dir/plan.log"'
check "it compiles the TUI" 'grep -q -- "-c $SOURCE_DIR/client/main.cc" "$dir/plan.log"'
check "it compiles no test or benchmark ($compiles compile steps)" \
  '! grep -qE -- "-c $SOURCE_DIR/(tests|bench)/" "$dir/plan.log"'

# A user's plain Release configure leaves warnings as warnings.
cmake -S "$SOURCE_DIR" -B "$dir/r" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null 2>&1
check "Release configures" '[[ $? == 0 ]]'
check "Release has RUSTNET_WERROR off by default" 'grep -q "^RUSTNET_WERROR:BOOL=OFF" "$dir/r/CMakeCache.txt"'
check "no -Werror in a plain Release build" '! (cd "$dir/r" && ninja -t commands rustnetd | grep -q -- -Werror)'
echo "$pass passed, $fail failed"
((fail == 0))
