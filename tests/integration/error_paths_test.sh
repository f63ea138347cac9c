#!/usr/bin/env bash
# Every user mistake gets ONE clear line on stderr ("rustnetd: ...") and a
# non-zero exit, never a hang, a crash or a half-printed table: bad options,
# unknown interfaces, missing or unreadable capture files, damaged pcaps,
# unsupported link types, bad BPF filters, no capture permission.
# A capture file with good packets followed by damage is not a mistake of the
# user's: rustnetd prints the good part, warns on one line and exits 0.
#
# Environment (set by CTest): RUSTNETD, BUILD_DIR, SOURCE_DIR, FIXTURES.
set -u
: "${RUSTNETD:?RUSTNETD must point to the rustnetd binary}"

pass=0 fail=0
work=$(mktemp -d /tmp/rnerr.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
logs="$work/logs"

# run NAME CMD...: runs CMD under `timeout 20`; sets rc, out, err.
run() {
  shift  # NAME: for the reader
  timeout 20 "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  mapfile -t err_lines <"$work/err"
  err=$(cat "$work/err")
  out=$(cat "$work/out")
}

report() {  # report NAME PROBLEMS...: one result per case
  local name=$1
  shift
  if (($# == 0)); then
    pass=$((pass + 1))
    echo "ok:   $name"
    return
  fi
  fail=$((fail + 1))
  echo "FAIL: $name"
  local p
  for p in "$@"; do echo "        - $p"; done
  echo "        exit code: $rc"
  sed 's/^/        stderr| /' "$work/err"
  [[ -s $work/out ]] && head -c 400 "$work/out" | sed 's/^/        stdout| /'
}

# expect_error NAME "KEYWORD1|KEYWORD2|..." CMD...: exit code non-zero (and
# not a timeout or signal), exactly one line on stderr starting with
# "rustnetd: " and containing every keyword, nothing on stdout.
expect_error() {
  local name=$1 keywords=$2
  shift 2
  run "$name" "$@"
  local problems=() k
  ((rc == 0)) && problems+=("exit code is 0")
  ((rc >= 124)) && problems+=("exit code $rc: timeout, signal or not executable")
  ((${#err_lines[@]} != 1)) && problems+=("stderr has ${#err_lines[@]} lines, expected 1")
  [[ $err == rustnetd:\ * ]] || problems+=("stderr does not start with 'rustnetd: '")
  IFS='|' read -ra kws <<<"$keywords"
  for k in "${kws[@]}"; do
    [[ $err == *"$k"* ]] || problems+=("stderr does not mention '$k'")
  done
  [[ -z $out ]] || problems+=("stdout is not empty")
  report "$name" "${problems[@]}"
}

# --- Capture files, hand-built ---------------------------------------------------
cat >"$work/mkpcap.py" <<'EOF'
import random, struct, sys

def global_header(linktype=1, snaplen=65535):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)

def record(data, ts=1_700_000_000):
    return struct.pack("<IIII", ts, 0, len(data), len(data)) + data

def udp_packet(sport, dport=7, payload=b"hello"):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip

def huge_record_header():
    return struct.pack("<IIII", 1_700_000_000, 0, 0xFFFFFFF0, 0xFFFFFFF0)

kind = sys.argv[1]
out = sys.stdout.buffer
if kind == "random":
    # Fixed bytes that are no capture format's magic number.
    rng = random.Random(1234)
    out.write(b"\x00\x11\x22\x33" + bytes(rng.randrange(256) for _ in range(4092)))
elif kind == "truncated":
    # A valid global header, then half of the first record.
    rec = record(udp_packet(1000))
    out.write(global_header() + rec[: len(rec) // 2])
elif kind == "header-truncated":
    out.write(global_header()[:13])
elif kind == "huge":
    out.write(global_header() + huge_record_header() + b"x" * 64)
elif kind == "linktype147":
    out.write(global_header(linktype=147) + record(b"\x01\x02\x03\x04" * 10))
elif kind == "good-then-truncated":
    rec = record(udp_packet(1003))
    out.write(global_header() + record(udp_packet(1001)) + record(udp_packet(1002)) +
              rec[: len(rec) // 2])
elif kind == "good-then-huge":
    out.write(global_header() + record(udp_packet(1001)) + huge_record_header() + b"x" * 64)
elif kind == "good":
    out.write(global_header() + record(udp_packet(1001)) + record(udp_packet(1002)))
elif kind == "snaplen0":
    # Snapshot length 0 in the global header (some writers leave it unset);
    # a record of 0 captured bytes (wire length 60).
    out.write(global_header(snaplen=0) + record(udp_packet(1001)) + record(udp_packet(1002)) +
              struct.pack("<IIII", 1_700_000_001, 0, 0, 60))
else:
    sys.exit("unknown kind " + kind)
EOF
for kind in snaplen0 random truncated header-truncated huge linktype147 good-then-truncated \
  good-then-huge good; do
  python3 "$work/mkpcap.py" "$kind" >"$work/$kind.pcap" || echo "cannot build $kind.pcap"
done

R=$RUSTNETD
L=(--log-dir "$logs")

# --- Options ---------------------------------------------------------------------
expect_error "unknown flag" "--bogus|unknown option|--help" "$R" --bogus "${L[@]}"
expect_error "unknown short flag" "-z|unknown option" "$R" -z "${L[@]}"
expect_error "stray argument" "eth0|unexpected argument" "$R" eth0 "${L[@]}"
expect_error "--threads abc" "--threads|abc|whole number" "$R" --threads abc "${L[@]}"
expect_error "--threads 0 (out of range)" "--threads|1 to 64" "$R" --threads 0 "${L[@]}"
expect_error "--threads without a value" "--threads|needs a value" "$R" "${L[@]}" --threads
expect_error "--dump xml" "--dump|xml|json" "$R" --read "$work/good.pcap" --dump xml "${L[@]}"
expect_error "--dump json without --read" "--dump|--read" "$R" --dump json "${L[@]}"
expect_error "--read together with -i" "--read|-i" "$R" --read "$work/good.pcap" -i lo "${L[@]}"
expect_error "--log-level loud" "--log-level|loud" "$R" --log-level loud "${L[@]}"
expect_error "--help takes no value" "--help|no value" "$R" --help=yes

# --- Interfaces ------------------------------------------------------------------
# (Unprivileged, libpcap fails on the socket before it looks the name up.)
if [[ $(id -u) -eq 0 ]]; then
  expect_error "-i nosuchif0 lists the real interfaces" \
    "no interface named nosuchif0|interfaces that can be captured: |lo" \
    "$R" -i nosuchif0 "${L[@]}"
  # Every name in the list must be a real interface (or libpcap's "any").
  listed=${err##*captured: }
  bogus=()
  IFS=', ' read -ra names <<<"$listed"
  for n in "${names[@]}"; do
    [[ $n == any || -e /sys/class/net/$n ]] || bogus+=("$n")
  done
  problems=()
  ((${#names[@]} > 0)) || problems+=("no interfaces listed")
  ((${#bogus[@]} == 0)) || problems+=("not interfaces: ${bogus[*]}")
  report "the interface list holds only real interfaces (${names[*]})" "${problems[@]}"
else
  report "-i nosuchif0" "needs root; run the tests with sudo"
fi

# --- Capture files ---------------------------------------------------------------
expect_error "--read a missing file" "$work/missing.pcap|No such file" \
  "$R" --read "$work/missing.pcap" --dump json "${L[@]}"
expect_error "--read a directory" "$work|directory" "$R" --read "$work" --dump json "${L[@]}"
mkfifo "$work/fifo"
expect_error "--read a FIFO (no hang)" "$work/fifo|not a regular file" \
  "$R" --read "$work/fifo" --dump json "${L[@]}"
: >"$work/empty.pcap"
expect_error "--read an empty file" "$work/empty.pcap|cannot read capture file" \
  "$R" --read "$work/empty.pcap" --dump json "${L[@]}"
expect_error "--read a 13-byte global header" "$work/header-truncated.pcap" \
  "$R" --read "$work/header-truncated.pcap" --dump json "${L[@]}"
expect_error "--read random bytes" "$work/random.pcap|unknown file format" \
  "$R" --read "$work/random.pcap" --dump json "${L[@]}"
expect_error "--read a pcap truncated inside its first record" \
  "$work/truncated.pcap|truncated" \
  "$R" --read "$work/truncated.pcap" --dump json "${L[@]}"
expect_error "--read a pcap whose first record claims 0xFFFFFFF0 bytes" \
  "$work/huge.pcap|4294967280" \
  "$R" --read "$work/huge.pcap" --dump json "${L[@]}"
expect_error "--read a pcap with link type 147 (USER0)" "$work/linktype147.pcap|link type|147" \
  "$R" --read "$work/linktype147.pcap" --dump json "${L[@]}"
chmod 0644 "$work/good.pcap"
expect_error "bad BPF filter on a file" "invalid BPF filter|not a filter (((" \
  "$R" --read "$work/good.pcap" --dump json -f 'not a filter (((' "${L[@]}"
expect_error "--log-dir is a regular file" "$work/good.pcap|--log-dir" \
  "$R" --read "$work/good.pcap" --dump json --log-dir "$work/good.pcap"

# Good packets, then damage: the good part, one warning line, exit 0.
expect_partial() {  # expect_partial NAME FILE JSON_LINES
  local name=$1 file=$2 lines=$3
  run "$name" "$R" --read "$file" --dump json "${L[@]}"
  local problems=()
  ((rc == 0)) || problems+=("exit code $rc, expected 0")
  ((${#err_lines[@]} == 1)) || problems+=("stderr has ${#err_lines[@]} lines, expected 1")
  [[ $err == *warning* && $err == *"$file is damaged"* ]] ||
    problems+=("stderr is not a warning that $file is damaged")
  local got
  got=$(grep -c '^{"id":' "$work/out")
  ((got == lines)) || problems+=("stdout has $got connections, expected $lines")
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/out" \
    2>/dev/null || problems+=("stdout is not JSON Lines")
  report "$name" "${problems[@]}"
}
expect_partial "--read 2 good packets then a truncated record" \
  "$work/good-then-truncated.pcap" 2
expect_partial "--read 1 good packet then a 0xFFFFFFF0-byte record" \
  "$work/good-then-huge.pcap" 1

# Snapshot length 0 in the header means "no limit" to libpcap and tcpdump:
# read as such, and a record of 0 captured bytes is counted, not fatal.
run "snaplen 0" "$R" --read "$work/snaplen0.pcap" --dump json "${L[@]}"
problems=()
((rc == 0)) || problems+=("exit code $rc")
[[ -z $err ]] || problems+=("stderr not empty: $err")
(($(grep -c '^{"id":' "$work/out") == 2)) || problems+=("not 2 connections")
report "--read a pcap with snaplen 0 and a 0-byte record: exit 0, 2 connections" "${problems[@]}"

# The control: the good file reads cleanly.
run "good file" "$R" --read "$work/good.pcap" --dump json "${L[@]}"
problems=()
((rc == 0)) || problems+=("exit code $rc")
[[ -z $err ]] || problems+=("stderr not empty")
(($(grep -c '^{"id":' "$work/out") == 2)) || problems+=("not 2 connections")
report "--read a good file: exit 0, 2 connections, stderr empty" "${problems[@]}"

# --- Live capture ----------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
  expect_error "bad BPF filter on an interface" "invalid BPF filter|not a filter (((" \
    "$R" -i lo -f 'not a filter (((' "${L[@]}"
else
  report "bad BPF filter on an interface" "needs root; run the tests with sudo"
fi

# No permission: an unprivileged user, and a copy of the binary so no file
# capabilities come along.
cp "$R" "$work/rustnetd" && chmod 0755 "$work/rustnetd"
mkdir -m 0777 "$work/nobody-logs"
if [[ $(id -u) -eq 0 ]]; then
  as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
    --bounding-set=-all)
else
  as_nobody=()
fi
expect_error "live capture without permission names setcap" \
  "no permission to capture on lo|setcap cap_net_raw,cap_net_admin=eip" \
  "${as_nobody[@]}" "$work/rustnetd" -i lo --log-dir "$work/nobody-logs"

echo "$pass passed, $fail failed"
((fail == 0))
