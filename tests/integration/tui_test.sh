#!/usr/bin/env bash
# rustnet-tui end to end: rustnetd replays a capture made here (python3
# struct: TCP with an HTTP Host, TLS-looking TCP, a SYN alone, UDP both ways
# and one way, ICMP echo, ARP, IPv6 TCP, and UDP fillers) on a private
# socket, and rustnet-tui runs in a private tmux server, driven with
# send-keys and read with capture-pane:
#   the table and header, j/k/arrows/PageUp/PageDown/g/G (the selected row
#   is found by its reverse-video attribute, NO_COLOR=1), Enter -> Details,
#   Esc, Tab (Overview, Details, Activity; 7 to Help), h, the / filter (applied and refused with its column), s/S,
#   n, c (OSC 52: proven twice, by tmux's clipboard buffer and by the raw
#   bytes in a `script` log), q then q, Ctrl+C, SIGTERM and SIGSEGV (the
#   terminal is given back each time: alternate screen left, cursor shown,
#   stty settings as before), the daemon stopped (the cannot-reach screen
#   names the socket) and started again (the table comes back by itself),
#   80x24, 250x60 and a live resize, 100,008 connections with a 5 s
#   refresh interval (End answers at once: only the needed rows are asked for),
#   and --connect to a TLS listener that requires client certificates.
#
# Environment (set by CTest): RUSTNETD, BUILD_DIR (rustnet-tui is
# $BUILD_DIR/client/rustnet-tui), SOURCE_DIR, FIXTURES.
# Prints "ok:"/"FAIL:" per check and "N passed, M failed"; exits non-zero on
# any failure (tmux missing is a failure).
set -u
: "${RUSTNETD:?RUSTNETD must point to the rustnetd binary}"
: "${BUILD_DIR:?BUILD_DIR must point to the build directory}"
TUI=$BUILD_DIR/client/rustnet-tui
# The checks read UTF-8 (arrows, middle dots) off tmux's screens.
export LANG=C.UTF-8 LC_ALL=C.UTF-8

pass=0 fail=0
ok() {
  pass=$((pass + 1))
  echo "ok:   $1"
}
bad() {
  fail=$((fail + 1))
  echo "FAIL: $1"
  shift
  local line
  for line in "$@"; do echo "        $line"; done
}
summary() {
  echo "$pass passed, $fail failed"
  ((fail == 0))
  exit $?
}

if ! command -v tmux >/dev/null; then
  bad "tmux is installed (scripts/setup.sh test installs it)"
  summary
fi
if [[ ! -x $TUI ]]; then
  bad "rustnet-tui is built at $TUI"
  summary
fi

work=$(mktemp -d /tmp/rntui.XXXXXX)
chmod 0755 "$work"
sock=$work/rustnetd.sock
daemon_pid=""
T() { tmux -S "$work/tmux.sock" "$@"; }
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  T kill-server 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- The capture ----------------------------------------------------------------
cat >"$work/mkpcap.py" <<'EOF'
import ipaddress, struct, sys

T0 = 1_700_000_000
out = []
def rec(ts, frame):
    sec = int(ts); usec = int(round((ts - sec) * 1e6))
    if usec >= 1_000_000: sec, usec = sec + 1, usec - 1_000_000
    out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)

CLIENT_MAC, SERVER_MAC = bytes.fromhex("020000000010"), bytes.fromhex("020000000020")

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def eth(from_client, etype, payload, dst=None):
    src = CLIENT_MAC if from_client else SERVER_MAC
    if dst is None: dst = SERVER_MAC if from_client else CLIENT_MAC
    return dst + src + struct.pack("!H", etype) + payload

def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload

def ipv6(src, dst, nh, payload):
    return (struct.pack("!IHBB", 6 << 28, len(payload), nh, 64) +
            ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)

def tcp(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data

def udp(sport, dport, data): return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data

SYN, ACK, PSH = 0x02, 0x10, 0x08

def tcp_conv(t, c, s, cp, sp, exchanges, v6=False, syn_only=False):
    def pkt(from_client, seq, ack, flags, data=b""):
        a, b, pa, pb = (c, s, cp, sp) if from_client else (s, c, sp, cp)
        seg = tcp(pa, pb, seq, ack, flags, data)
        if v6: return eth(from_client, 0x86DD, ipv6(a, b, 6, seg))
        return eth(from_client, 0x0800, ipv4(a, b, 6, seg))
    cs, ss = 1000, 5000
    rec(t, pkt(True, cs, 0, SYN)); t += 0.001
    if syn_only: return t
    rec(t, pkt(False, ss, cs + 1, SYN | ACK)); t += 0.001
    rec(t, pkt(True, cs + 1, ss + 1, ACK)); t += 0.001
    cs += 1; ss += 1
    for from_client, data in exchanges:
        if from_client:
            rec(t, pkt(True, cs, ss, PSH | ACK, data)); cs += len(data)
        else:
            rec(t, pkt(False, ss, cs, PSH | ACK, data)); ss += len(data)
        t += 0.01
    return t

path, fillers = sys.argv[1], int(sys.argv[2])
t = T0
t = tcp_conv(t, "192.0.2.10", "198.51.100.7", 40001, 80,
             [(True, b"GET / HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: tui-test\r\n\r\n"),
              (False, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")])
t = tcp_conv(t, "192.0.2.10", "203.0.113.5", 40002, 443,
             [(True, b"\x17\x03\x03" + b"x" * 300), (False, b"\x17\x03\x03" + b"y" * 900)])
t = tcp_conv(t, "192.0.2.10", "203.0.113.9", 40003, 22, [], syn_only=True)
rec(t, eth(True, 0x0800, ipv4("192.0.2.10", "192.0.2.53", 17, udp(50001, 5354, b"ping")))); t += 0.01
rec(t, eth(False, 0x0800, ipv4("192.0.2.53", "192.0.2.10", 17, udp(5354, 50001, b"pong")))); t += 0.01
rec(t, eth(True, 0x0800, ipv4("192.0.2.10", "198.51.100.99", 17, udp(50002, 123, b"\x23" + b"\0" * 47)))); t += 0.01
for typ, a, b in ((8, "192.0.2.10", "192.0.2.1"), (0, "192.0.2.1", "192.0.2.10")):
    body = struct.pack("!BBHHH", typ, 0, 0, 77, 1) + b"abcdefgh"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    rec(t, eth(typ == 8, 0x0800, ipv4(a, b, 1, body))); t += 0.01
sa, ta = ipaddress.IPv4Address("192.0.2.10").packed, ipaddress.IPv4Address("192.0.2.1").packed
rec(t, eth(True, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, CLIENT_MAC, sa, b"\0" * 6, ta),
           dst=b"\xff" * 6)); t += 0.01
rec(t, eth(False, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, SERVER_MAC, ta, CLIENT_MAC, sa))); t += 0.01
t = tcp_conv(t, "2001:db8::10", "2001:db8::20", 40010, 8080, [(True, b"hi")], v6=True)
# Fillers: UDP 10.9.x.y:600z -> 10.8.0.1:7000, one packet each, within a second.
for i in range(fillers):
    src = "10.9.%d.%d" % ((i >> 8) & 255, i & 255)
    rec(t, eth(True, 0x0800, ipv4(src, "10.8.0.1", 17, udp(6000 + (i >> 16), 7000, b"f"), ident=i & 0xFFFF)))
    t += 1.0 / max(fillers, 1)
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    f.write(b"".join(out))
EOF
python3 "$work/mkpcap.py" "$work/small.pcap" 60 || { bad "generate the capture"; summary; }
python3 "$work/mkpcap.py" "$work/large.pcap" 100000 || { bad "generate the large capture"; summary; }

# --- Helpers ----------------------------------------------------------------------
start_daemon() {  # start_daemon PCAP: replays it on $sock; waits for the socket
  "$RUSTNETD" --read "$1" --socket "$sock" --log-dir "$work/dlogs" >"$work/daemon.out" 2>&1 &
  daemon_pid=$!
  local i
  for i in $(seq 100); do
    [[ -S $sock ]] && return 0
    sleep 0.1
  done
  return 1
}
stop_daemon() {
  [[ -n $daemon_pid ]] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=""
}

# new_pane NAME WIDTH HEIGHT: a tmux session running a plain shell.
new_pane() {
  T new-session -d -s "$1" -x "$2" -y "$3" "env PS1='$ ' bash --norc --noprofile"
  T set-option -t "$1" status off >/dev/null
  sleep 0.3
  T send-keys -t "$1" "ulimit -c 0; cd $work" Enter
}
# run_tui NAME ENV... -- ARGS...: records stty before, runs rustnet-tui, then
# writes its exit code and stty after to $work/NAME.{before,exit,after}.
run_tui() {
  local name=$1
  shift
  local envs=()
  while [[ $# -gt 0 && $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  rm -f "$work/$name.exit" "$work/$name.after"
  T send-keys -t "$name" "clear; stty -g > $name.before; env LANG=C.UTF-8 ${envs[*]} $TUI --socket $sock --log-dir $work/tlogs $*; echo \$? > $name.exit; stty -g > $name.after" Enter
}
screen() { T capture-pane -p -t "$1"; }
# wait_for NAME TEXT [SECONDS]: until the screen shows TEXT (fixed string).
wait_for() {
  local deadline=$((SECONDS + ${3:-10}))
  while ((SECONDS < deadline)); do
    screen "$1" | grep -qF -- "$2" && return 0
    sleep 0.1
  done
  return 1
}
wait_gone() {
  local deadline=$((SECONDS + ${3:-10}))
  while ((SECONDS < deadline)); do
    screen "$1" | grep -qF -- "$2" || return 0
    sleep 0.1
  done
  return 1
}
keys() {  # keys NAME KEY...: one key at a time, as a person types
  local name=$1 k
  shift
  for k in "$@"; do
    T send-keys -t "$name" "$k"
    sleep 0.15
  done
}
# The selected row (NO_COLOR: the one table row drawn in reverse video),
# without attributes.
selected() {
  T capture-pane -e -p -t "$1" | sed -n '5,$p' | grep -aE $'^\e\\[(0;)?7m' | head -1 |
    sed 's/\x1b\[[0-9;]*m//g'
}
# expect_selected NAME CHECK TEXT: waits up to 3 s for the selection to hold TEXT.
expect_selected() {
  local deadline=$((SECONDS + 3)) row=""
  while ((SECONDS < deadline)); do
    row=$(selected "$1")
    [[ $row == *"$3"* ]] && { ok "$2"; return; }
    sleep 0.1
  done
  bad "$2" "selected row: '$row'" "expected it to contain '$3'"
}
check_screen() {  # check_screen NAME CHECK TEXT...: every TEXT is on screen now
  local name=$1 what=$2 text missing=()
  shift 2
  local s
  s=$(screen "$name")
  for text in "$@"; do
    [[ $s == *"$text"* ]] || missing+=("missing: '$text'")
  done
  if ((${#missing[@]} == 0)); then ok "$what"; else bad "$what" "${missing[@]}" "screen:" "$s"; fi
}
# expect_exit NAME CHECK CODE: rustnet-tui exited with CODE and the terminal
# is as it was (normal screen, cursor visible, same stty settings).
expect_exit() {
  local name=$1 what=$2 want=$3 i
  for i in $(seq 50); do
    [[ -s $work/$name.after ]] && break
    sleep 0.1
  done
  local problems=()
  local code
  code=$(cat "$work/$name.exit" 2>/dev/null)
  [[ $code == "$want" ]] || problems+=("exit code '$code', expected $want")
  [[ $(T display -p -t "$name" '#{alternate_on}') == 0 ]] || problems+=("still on the alternate screen")
  [[ $(T display -p -t "$name" '#{cursor_flag}') == 1 ]] || problems+=("cursor hidden")
  cmp -s "$work/$name.before" "$work/$name.after" ||
    problems+=("stty before: $(cat "$work/$name.before" 2>/dev/null)" "stty after:  $(cat "$work/$name.after" 2>/dev/null)")
  if ((${#problems[@]} == 0)); then ok "$what"; else bad "$what" "${problems[@]}"; fi
}
tui_pid() { pgrep -P "$(T display -p -t "$1" '#{pane_pid}')" | head -1; }
# Table rows look like rows: protocol, addresses, state, rates; nothing else
# (no escape-sequence debris, no wrapped lines).
check_rows() {
  local name=$1 what=$2 width=$3 bad_lines=() line
  while IFS= read -r line; do
    [[ -z $line ]] && continue
    [[ $line =~ ^(TCP|UDP|ICMP|ICMP6|ARP)\ +[^\ ]+\ +[^\ ]+\ +[A-Z_]+\ .*B/s\ +[0-9.]+\ [KMGT]?B/s ]] ||
      bad_lines+=("row: '$line'")
    ((${#line} <= width)) || bad_lines+=("longer than $width: '$line'")
  done < <(screen "$name" | sed -n '5,$p' | sed '$d')
  screen "$name" | grep -qaE $'\e|\\^\\[|\\[[0-9;]+m' && bad_lines+=("escape debris on screen")
  if ((${#bad_lines[@]} == 0)); then ok "$what"; else bad "$what" "${bad_lines[@]:0:5}"; fi
}

# --- The table ----------------------------------------------------------------------
if ! start_daemon "$work/small.pcap"; then
  bad "rustnetd starts" "$(cat "$work/daemon.out")"
  summary
fi
new_pane main 120 40
T set-option -s set-clipboard on
run_tui main NO_COLOR=1 --
if wait_for main "www.example.test:80"; then ok "the table shows the capture's connections"; else
  bad "the table shows the capture's connections" "$(screen main)"; fi
check_screen main "rows for TCP, UDP, ICMP, ARP and IPv6" "203.0.113.5:443" "203.0.113.9:22" \
  "198.51.100.99:123" "[2001:db8::20]:8080" "10.9.0.0:6000" "ESTABLISHED" "SYN_SENT" \
  "UNREPLIED" "HTTP · www.exam"
if screen main | grep -qE '^ICMP +192\.0\.2\.10 +192\.0\.2\.1 +ACTIVE' &&
  screen main | grep -qE '^ARP +192\.0\.2\.10 +192\.0\.2\.1 +ACTIVE'; then
  ok "ICMP and ARP rows show bare addresses"; else bad "ICMP and ARP rows show bare addresses" "$(screen main)"; fi
wait_for main "connections 68" 5
check_screen main "the header: source, packets, dropped, connections, uptime, filter, sort" \
  "small.pcap (file, done)" "packets 82" "dropped 0" "connections 68 (tcp 4, udp 62, icmp 1, arp 1)" \
  "rustnetd 0.1.0 · up" "filter: none" "showing 68 of 68" "sort: first seen ↑"
check_rows main "table rows are clean at 120 columns" 120

# --- Moving -------------------------------------------------------------------------
expect_selected main "the first row is selected" "192.0.2.10:40001"
keys main j
expect_selected main "j moves down" "192.0.2.10:40002"
keys main Down
expect_selected main "Down moves down" "192.0.2.10:40003"
keys main k
expect_selected main "k moves up" "192.0.2.10:40002"
keys main Up
expect_selected main "Up moves up" "192.0.2.10:40001"
keys main NPage
expect_selected main "PageDown moves by 10" "10.9.0.2:6000"
keys main PPage
expect_selected main "PageUp moves by 10" "192.0.2.10:40001"
keys main G
expect_selected main "G goes to the last row" "10.9.0.59:6000"
keys main g
expect_selected main "g goes to the first row" "192.0.2.10:40001"
keys main End
expect_selected main "End goes to the last row" "10.9.0.59:6000"
keys main Home
expect_selected main "Home goes to the first row" "192.0.2.10:40001"

# --- Details, tabs, help ----------------------------------------------------------------
keys main j Enter
if wait_for main "TCP 192.0.2.10:40002 → 203.0.113.5:443" 3; then
  check_screen main "Enter shows the selected connection's details" "02:00:00:00:00:10" \
    "02:00:00:00:00:20" "outbound" "handshake RTT" "retransmits" "flags seen" "first seen" \
    "2023-11-1" "rate in" "872 B/s" "Process"
else
  bad "Enter shows the selected connection's details" "$(screen main)"
fi
keys main Escape
if wait_for main "Remote address" 3; then ok "Esc goes back to Overview"; else bad "Esc goes back to Overview" "$(screen main)"; fi
expect_selected main "the selection is where it was" "192.0.2.10:40002"
keys main Tab
if wait_for main "first seen" 3 && ! screen main | grep -q "Remote address"; then ok "Tab: Overview -> Details"; else bad "Tab: Overview -> Details" "$(screen main)"; fi
keys main Tab
if wait_for main "Activity per process" 3; then ok "Tab: Details -> Activity"; else bad "Tab: Details -> Activity" "$(screen main)"; fi
keys main 7
if wait_for main "Keys everywhere" 3; then ok "7: Help"; else bad "7: Help" "$(screen main)"; fi
keys main Tab
if wait_for main "Remote address" 3; then ok "Tab: Help -> Overview"; else bad "Tab: Help -> Overview" "$(screen main)"; fi
keys main h
if wait_for main "toggle this help" 3; then
  check_screen main "h shows every key" "q q" "Ctrl+C" "Tab / Shift+Tab" "↑ k / ↓ j" \
    "PageUp / PageDown" "Home g / End G" "Enter" "Esc" "OSC 52" "edit the filter" "s / S" \
    "raw addresses"
else
  bad "h shows every key" "$(screen main)"
fi
keys main h
if wait_for main "Remote address" 3; then ok "h again goes back"; else bad "h again goes back" "$(screen main)"; fi

# --- Names, filter, sort ----------------------------------------------------------------
keys main n
if wait_for main "198.51.100.7:80" 3 && ! screen main | grep -q "www.example.test:80"; then
  ok "n shows raw addresses"; else bad "n shows raw addresses" "$(screen main)"; fi
keys main n
if wait_for main "www.example.test:80" 3; then ok "n again shows names"; else bad "n again shows names" "$(screen main)"; fi

keys main /
T send-keys -t main -l "proto:udp"
keys main Enter
if wait_for main "showing 62 of 68" 3; then
  check_screen main "/ proto:udp narrows the table" "filter: proto:udp" "10.9.0.0:6000"
  if screen main | sed -n '5,$p' | grep -qE '^(TCP|ICMP|ARP) '; then
    bad "no TCP, ICMP or ARP rows under proto:udp" "$(screen main)"
  else
    ok "no TCP, ICMP or ARP rows under proto:udp"
  fi
else
  bad "/ proto:udp narrows the table" "$(screen main)"
fi
keys main / C-u
T send-keys -t main -l "prot:udp"
if wait_for main "bad filter: column 1: unknown key 'prot'" 3; then ok "a bad filter shows its column at once"; else
  bad "a bad filter shows its column at once" "$(screen main)"; fi
keys main Enter
check_screen main "Enter does not apply a bad filter" "bad filter: column 1"
keys main Escape
if wait_for main "filter: proto:udp · showing 62 of 68" 3; then ok "Esc keeps the filter that was applied"; else
  bad "Esc keeps the filter that was applied" "$(screen main)"; fi
keys main / C-u Enter
if wait_for main "showing 68 of 68" 3; then ok "an empty filter shows everything again"; else
  bad "an empty filter shows everything again" "$(screen main)"; fi

keys main s
if wait_for main "sort: protocol ↑" 3; then ok "s sorts by the next column (protocol)"; else bad "s sorts by the next column (protocol)" "$(screen main)"; fi
check_screen main "the sorted column is marked" "Proto↑"
# The selection stayed on its connection (the first UDP one since the
# proto:udp filter).
expect_selected main "the selection follows its connection across a new sort" "192.0.2.10:50001"
keys main g
expect_selected main "the daemon sorted the rows (by protocol name: ARP first)" "ARP"
keys main S
if wait_for main "sort: protocol ↓" 3 && wait_for main "Proto↓" 3; then ok "S reverses the order"; else bad "S reverses the order" "$(screen main)"; fi
keys main g
expect_selected main "reversed: UDP first" "UDP"
for _ in $(seq 14); do keys main s; done  # Full cycle back to first seen.
if wait_for main "sort: first seen ↑" 3; then ok "s cycles back to first seen"; else bad "s cycles back to first seen" "$(screen main)"; fi

# --- Copy (OSC 52) --------------------------------------------------------------------
keys main g
expect_selected main "back on the first row" "192.0.2.10:40001"
T delete-buffer 2>/dev/null
keys main c
if wait_for main "copied 198.51.100.7:80" 3; then ok "c confirms 'copied 198.51.100.7:80'"; else bad "c confirms 'copied 198.51.100.7:80'" "$(screen main)"; fi
sleep 0.3
buffer=$(T show-buffer 2>/dev/null)
if [[ $buffer == "198.51.100.7:80" ]]; then ok "c sets the clipboard through OSC 52 (tmux received it)"; else
  bad "c sets the clipboard through OSC 52 (tmux received it)" "tmux buffer: '$buffer'"; fi

# --- Quitting -------------------------------------------------------------------------
keys main q
if wait_for main "press q again to quit" 3; then ok "q asks to press q again"; else bad "q asks to press q again" "$(screen main)"; fi
keys main j
sleep 0.3
if [[ ! -e $work/main.exit ]] && ! screen main | grep -q "press q again"; then ok "another key cancels the quit"; else
  bad "another key cancels the quit" "$(screen main)"; fi
keys main q q
expect_exit main "q q quits and gives the terminal back" 0

run_tui main NO_COLOR=1 --
wait_for main "www.example.test:80" || bad "rustnet-tui starts again" "$(screen main)"
keys main C-c
expect_exit main "Ctrl+C quits at once and gives the terminal back" 0

run_tui main --
wait_for main "www.example.test:80" || bad "rustnet-tui starts again" "$(screen main)"
if T capture-pane -e -p -t main | grep -qaE $'\e\\[[0-9;]*3[1-6]m'; then ok "colours are used without NO_COLOR"; else
  bad "colours are used without NO_COLOR"; fi
kill -TERM "$(tui_pid main)"
expect_exit main "SIGTERM: the terminal is given back (exit 143)" 143

run_tui main --
wait_for main "www.example.test:80" || bad "rustnet-tui starts again" "$(screen main)"
kill -SEGV "$(tui_pid main)"
# Under AddressSanitizer the signal goes on to ASan's handler (the crash
# handler hands it over), which reports it in the log file and exits 1, or
# aborts (134) when ASAN_OPTIONS has abort_on_error=1 (scripts/test.sh).
segv_exit=139
sleep 0.5
if grep -qa "AddressSanitizer" "$(ls -t "$work"/tlogs/rustnet-tui_*.log | head -1)" 2>/dev/null; then
  segv_exit=1
  [[ ${ASAN_OPTIONS:-} == *abort_on_error=1* ]] && segv_exit=134
fi
expect_exit main "SIGSEGV: the crash handler gives the terminal back, then the signal takes its course (exit $segv_exit)" "$segv_exit"

# --- OSC 52, byte for byte ------------------------------------------------------------
# `script` logs everything rustnet-tui writes to its terminal.
new_pane osc 120 40
T send-keys -t osc "env LANG=C.UTF-8 NO_COLOR=1 script -q -f -c '$TUI --socket $sock --log-dir $work/tlogs' $work/typescript; echo done > osc.exit" Enter
if wait_for osc "www.example.test:80"; then
  keys osc c
  wait_for osc "copied 198.51.100.7:80" 3
  keys osc C-c
  sleep 0.5
  want=$(printf '\e]52;c;%s\a' "$(printf %s 198.51.100.7:80 | base64)")
  if grep -qaF -- "$want" "$work/typescript"; then ok "the OSC 52 bytes are written: ESC ] 52 ; c ; $(printf %s 198.51.100.7:80 | base64) BEL"; else
    bad "the OSC 52 bytes are written" "$(grep -ao $'\e]52[^\a]*' "$work/typescript" | cat -v)"; fi
else
  bad "rustnet-tui runs under script" "$(screen osc)"
fi

# --- The daemon goes away and comes back ---------------------------------------------
run_tui main NO_COLOR=1 --
wait_for main "www.example.test:80" || bad "rustnet-tui starts again" "$(screen main)"
stop_daemon
if wait_for main "Cannot reach rustnetd at $sock" 10; then
  check_screen main "the cannot-reach screen says what to check" "is rustnetd running?" \
    "group rustnet" "comes back by itself" "disconnected"
  ok "daemon stopped: the screen names the socket"
else
  bad "daemon stopped: the screen names the socket" "$(screen main)"
fi
start_daemon "$work/small.pcap" || bad "rustnetd starts again"
start=$SECONDS
if wait_for main "www.example.test:80" 10; then ok "daemon back: the table returns by itself ($((SECONDS - start)) s)"; else
  bad "daemon back: the table returns by itself" "$(screen main)"; fi
keys main C-c
expect_exit main "quits after the reconnect" 0

# --- Sizes ------------------------------------------------------------------------------
new_pane s80 80 24
run_tui s80 NO_COLOR=1 --
if wait_for s80 "www.example.test:80"; then
  check_screen s80 "80x24 keeps protocol, addresses, state and rates" "Proto" "Local address" \
    "Remote address" "State" "Rate in" "Rate out"
  if screen s80 | grep -qE "Service|Application|Process"; then bad "80x24 drops service, application and process" "$(screen s80)"; else
    ok "80x24 drops service, application and process"; fi
  check_rows s80 "80x24 rows are clean" 80
  keys s80 Enter
  if wait_for s80 "more: PageDown" 3; then
    keys s80 NPage
    if wait_for s80 "PageUp scrolls back" 3; then ok "80x24 Details scrolls with PageDown"; else bad "80x24 Details scrolls with PageDown" "$(screen s80)"; fi
  else
    bad "80x24 Details says there is more" "$(screen s80)"
  fi
  keys s80 Escape
  T resize-window -t s80 -x 250 -y 60
  if wait_for s80 "Process" 3; then ok "a resize redraws at once with the columns that now fit"; else
    bad "a resize redraws at once with the columns that now fit" "$(screen s80)"; fi
  keys s80 C-c
  expect_exit s80 "80x24: quits cleanly" 0
else
  bad "80x24 shows the table" "$(screen s80)"
fi

new_pane s250 250 60
run_tui s250 NO_COLOR=1 --
if wait_for s250 "www.example.test:80"; then
  check_screen s250 "250x60 shows all ten columns" "Proto" "Local address" "Remote address" "State" \
    "Service" "Application" "Rate in" "Rate out" "Process" "Location"
  check_rows s250 "250x60 rows are clean" 250
  keys s250 C-c
  expect_exit s250 "250x60: quits cleanly" 0
else
  bad "250x60 shows the table" "$(screen s250)"
fi

# --- Scale ------------------------------------------------------------------------------
stop_daemon
if start_daemon "$work/large.pcap"; then
  new_pane big 120 40
  # A 5 s refresh: anything faster than that was fetched because the query
  # changed, not at the next refresh.
  run_tui big NO_COLOR=1 -- -r 5000
  if wait_for big "showing 100,008 of 100,008" 30; then
    ok "100,008 connections: the header counts them"
    sleep 1
    t0=$(date +%s%N)
    keys big G
    if wait_for big "10.9.134.159:6001" 3; then
      ms=$((($(date +%s%N) - t0) / 1000000))
      expect_selected big "End reaches the last of 100,008 rows in ${ms} ms, without waiting for the 5 s refresh" "10.9.134.159:6001"
    else
      bad "End reaches the last of 100,008 rows before the next refresh" "$(screen big)"
    fi
    t0=$(date +%s%N)
    keys big g
    if wait_for big "192.0.2.10:40001" 3; then ok "Home returns to the first row in $((($(date +%s%N) - t0) / 1000000)) ms"; else
      bad "Home returns to the first row" "$(screen big)"; fi
    keys big /
    T send-keys -t big -l "addr:10.9.134.159"
    keys big Enter
    if wait_for big "showing 2 of 100,008" 3; then ok "a filter over 100,008 connections answers at once"; else
      bad "a filter over 100,008 connections answers at once" "$(screen big)"; fi
  else
    bad "100,008 connections: the header counts them" "$(screen big)"
  fi
  keys big C-c
  expect_exit big "quits cleanly with 100,008 connections" 0
else
  bad "rustnetd replays 100,000 flows" "$(cat "$work/daemon.out")"
fi

# --- A remote daemon over TLS ------------------------------------------------------------
# rustnetd --listen with a certificate from a CA made here, requiring client
# certificates; rustnet-tui --connect with and without one.
tls=$work/tls
mkdir -p "$tls"
if (cd "$tls" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=rntui-ca &&
  openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >srv.ext &&
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile srv.ext &&
  openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj /CN=rntui &&
  openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2) >/dev/null 2>&1; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  stop_daemon
  "$RUSTNETD" --read "$work/small.pcap" --socket "$sock" --log-dir "$work/dlogs" \
    --listen "127.0.0.1:$port" --tls-cert "$tls/srv.pem" --tls-key "$tls/srv.key" \
    --tls-client-ca "$tls/ca.pem" >"$work/daemon.out" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
  new_pane tls 120 40
  T send-keys -t tls "env LANG=C.UTF-8 $TUI --connect localhost:$port --tls-ca $tls/ca.pem --tls-cert $tls/cli.pem --tls-key $tls/cli.key --log-dir $work/tlogs; echo \$? > tls.exit" Enter
  if wait_for tls "www.example.test:80" 10; then ok "--connect over TLS with a client certificate shows the table"; else
    bad "--connect over TLS with a client certificate shows the table" "$(screen tls)"; fi
  keys tls C-c
  sleep 0.5
  T send-keys -t tls "clear; env LANG=C.UTF-8 $TUI --connect localhost:$port --tls-ca $tls/ca.pem --log-dir $work/tlogs; echo \$? > tls.exit" Enter
  if wait_for tls "Cannot reach rustnetd at localhost:$port (TLS)" 10 && wait_for tls "TLS handshake failed" 3; then
    ok "without the client certificate: the cannot-reach screen says the TLS handshake failed"; else
    bad "without the client certificate: the cannot-reach screen says the TLS handshake failed" "$(screen tls)"; fi
  keys tls C-c
  out=$("$TUI" --connect "localhost:$port" --tls-ca "$tls/missing.pem" 2>&1 </dev/null)
  rc=$?
  if ((rc != 0)) && [[ $out == "rustnet-tui: --tls-ca: cannot read $tls/missing.pem"* ]]; then
    ok "an unreadable --tls-ca: one sentence naming the file"; else bad "an unreadable --tls-ca: one sentence naming the file" "exit $rc: $out"; fi
else
  bad "make test certificates with openssl"
fi

# --- Command line ---------------------------------------------------------------------
out=$("$TUI" --bogus 2>&1 </dev/null)
rc=$?
if ((rc != 0)) && [[ $(wc -l <<<"$out") == 1 && $out == "rustnet-tui: --bogus: unknown option"* ]]; then
  ok "a bad flag: one sentence, exit $rc"; else bad "a bad flag: one sentence, non-zero exit" "exit $rc: $out"; fi
out=$("$TUI" --filter "prot:tcp" 2>&1 </dev/null)
rc=$?
if ((rc != 0)) && [[ $out == *"column 1"* ]]; then ok "a bad --filter names the column"; else bad "a bad --filter names the column" "exit $rc: $out"; fi
if "$TUI" --help | grep -q -- "--refresh-interval" && "$TUI" --version | grep -q "^rustnet-tui "; then
  ok "--help and --version"; else bad "--help and --version"; fi
if ls "$work"/tlogs/rustnet-tui_*.log >/dev/null 2>&1; then ok "the client logs to files in --log-dir"; else
  bad "the client logs to files in --log-dir"; fi

summary
