#!/usr/bin/env bash
# Live capture end to end: rustnetd captures on one end of a veth pair between
# two private network namespaces while real traffic flows (HTTP with
# python3 -m http.server + curl in both directions, a UDP echo exchange, ICMP
# echo from a python raw socket). A tcpdump on the same interface records the
# same packets. After SIGTERM the test checks rustnetd's exit code, its log
# file (interface, final statistics matching tcpdump's packet count, mode
# 0600), and replays tcpdump's capture with `rustnetd --read --dump json` to
# check the connection table (states, counters, services).
#
# Needs root (network namespaces); all traffic stays inside the namespaces.
# Environment (set by CTest): RUSTNETD, BUILD_DIR, SOURCE_DIR, FIXTURES.
set -u

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok:   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; return 1; fi; }
finish() { echo "$pass passed, $fail failed"; ((fail == 0)); exit $?; }

: "${RUSTNETD:?RUSTNETD must point to the rustnetd binary}"
if [[ $(id -u) -ne 0 ]]; then
  # No hidden skips: the test command runs as root; anything else fails.
  bad "running as root (needed to create network namespaces); run the tests with sudo"
  finish
fi
for tool in ip tcpdump curl python3 ss timeout; do
  if ! command -v "$tool" >/dev/null; then
    bad "required tool $tool is installed"
    finish
  fi
done

# Unique names: the pid keeps concurrent runs (and leftovers) apart. The veth
# ends are created directly inside the namespaces, so their names never touch
# the host's namespace.
NS_A="rnlive-a-$$"
NS_B="rnlive-b-$$"
IF_A=rnl0
IF_B=rnl1
IP_A=10.200.0.1
IP_B=10.200.0.2
HTTP_PORT=8080   # in common/services.cc as "http-alt" (8000 is not in the table)
UDP_PORT=7       # "echo" for UDP
ICMP_ID=16962    # 0x4242
N_UDP=5
N_PING=3

work=$(mktemp -d /tmp/rnlive.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null
  done
  # Deleting the namespaces kills whatever is left in them and the veth pair.
  ip netns pids "$NS_A" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns pids "$NS_B" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Namespaces left by an earlier run that was killed (e.g. by CTest's timeout)
# before its trap ran: the pid in the name no longer exists.
for ns in $(ip netns list 2>/dev/null | awk '/^rnlive-[ab]-[0-9]+/ {print $1}'); do
  owner=${ns##*-}
  if ! kill -0 "$owner" 2>/dev/null; then
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  fi
done

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}

# --- Namespaces and the veth pair ------------------------------------------
setup() {
  ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
  local ns
  for ns in "$NS_A" "$NS_B"; do
    # No IPv6: no router/neighbour solicitations or MLD reports appearing
    # at random moments, so the link carries only the test's traffic.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || return 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || return 1
    ip -n "$ns" link set lo up || return 1
  done
  ip link add name "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
  ip -n "$NS_A" addr add "$IP_A/24" dev "$IF_A" || return 1
  ip -n "$NS_B" addr add "$IP_B/24" dev "$IF_B" || return 1
  # One ARP exchange at the first packet and no spontaneous re-probes while
  # the test runs: neighbour entries stay REACHABLE/DELAY for a minute.
  for ns in "$NS_A" "$NS_B"; do
    local ifname=$IF_A
    [[ $ns == "$NS_B" ]] && ifname=$IF_B
    ip netns exec "$ns" sysctl -qw "net.ipv4.neigh.$ifname.base_reachable_time_ms=120000" \
      "net.ipv4.neigh.$ifname.delay_first_probe_time=120" || return 1
  done
  ip -n "$NS_A" link set "$IF_A" up && ip -n "$NS_B" link set "$IF_B" up
}
if ! setup; then
  bad "create namespaces $NS_A/$NS_B and the veth pair"
  finish
fi
MAC_B=$(in_b cat "/sys/class/net/$IF_B/address")

# --- Servers (started before any capture; they are silent until used) -------
mkdir -p "$work/www"
echo "hello from rustnet's live test" >"$work/www/index.html"
cat >"$work/udp_echo_server.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
EOF
cat >"$work/udp_client.py" <<'EOF'
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for i in range(count):
    msg = b"rustnet udp %d" % i
    s.sendto(msg, (host, port))
    data, _ = s.recvfrom(2048)
    if data != msg:
        sys.exit("bad echo %r" % data)
print(s.getsockname()[1])
EOF
cat >"$work/ping.py" <<'EOF'
# ICMP echo with a raw socket (root), so the test needs no ping binary.
import socket, struct, sys, time
host, ident, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(3)
for seq in range(1, count + 1):
    payload = b"rustnet-ping-%d" % seq
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, seq) + payload
    s.sendto(pkt, (host, 0))
    while True:
        data, _ = s.recvfrom(4096)
        ihl = (data[0] & 0x0F) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and i == ident and q == seq:
            break
    time.sleep(0.05)
EOF

# Started with `ip netns exec` directly (not through a shell function) so
# that $! is the process itself and signals reach it.
ip netns exec "$NS_B" timeout 120 python3 -m http.server "$HTTP_PORT" --bind "$IP_B" \
  --directory "$work/www" >"$work/http_b.log" 2>&1 &
pids+=($!)
ip netns exec "$NS_A" timeout 120 python3 -m http.server "$HTTP_PORT" --bind "$IP_A" \
  --directory "$work/www" >"$work/http_a.log" 2>&1 &
pids+=($!)
ip netns exec "$NS_B" timeout 120 python3 "$work/udp_echo_server.py" "$IP_B" "$UDP_PORT" \
  >"$work/udp_b.log" 2>&1 &
pids+=($!)
listening() { ip netns exec "$1" ss -Hln "$2" | grep -q "$3"; }
if ! wait_for 15 listening "$NS_B" -t "$IP_B:$HTTP_PORT" ||
  ! wait_for 15 listening "$NS_A" -t "$IP_A:$HTTP_PORT" ||
  ! wait_for 15 listening "$NS_B" -u "$IP_B:$UDP_PORT"; then
  bad "test servers start listening"
  cat "$work"/*.log
  finish
fi

# --- Captures: tcpdump first, then rustnetd ---------------------------------
# tcpdump's window encloses rustnetd's (started before, stopped after) and
# the link is silent outside the traffic phase, so both see the same packets.
capture="$work/capture.pcap"
ip netns exec "$NS_A" timeout 120 tcpdump -i "$IF_A" -n -U -Z root -w "$capture" \
  >"$work/tcpdump.out" 2>"$work/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
if ! wait_for 15 grep -q "listening on" "$work/tcpdump.err"; then
  bad "tcpdump starts on $IF_A"
  cat "$work/tcpdump.err"
  finish
fi

logdir="$work/logs"
# umask 0: the log file must still be 0600. `ip netns exec` and bash exec
# into timeout, so $! is timeout's pid: it forwards SIGTERM to rustnetd and
# exits with rustnetd's status.
ip netns exec "$NS_A" bash -c 'umask 0; exec timeout 120 "$@"' bash \
  "$RUSTNETD" -i "$IF_A" --log-dir "$logdir" --stats-interval 1 \
  >"$work/rustnetd.out" 2>"$work/rustnetd.err" &
rustnetd_pid=$!
pids+=($rustnetd_pid)
log_has() { compgen -G "$logdir/rustnet_*.log" >/dev/null && grep -q "$1" "$logdir"/rustnet_*.log; }
if ! wait_for 15 log_has "capturing on $IF_A"; then
  bad "rustnetd starts capturing on $IF_A"
  cat "$work/rustnetd.err" "$logdir"/rustnet_*.log 2>/dev/null
  finish
fi
# Let the pipeline's threads start and rustnetd log its first periodic
# statistics (the link is still idle).
sleep 1.5

# --- Traffic ------------------------------------------------------------------
curl_ok() {  # curl_ok NS URL
  local code
  code=$(ip netns exec "$1" timeout 15 curl --noproxy '*' -sS --max-time 10 -o /dev/null \
    -w '%{http_code}' "$2")
  [[ $code == 200 ]]
}
n_tcp=0
for i in 1 2 3; do
  check "curl $NS_A -> $IP_B:$HTTP_PORT ($i)" "curl_ok '$NS_A' 'http://$IP_B:$HTTP_PORT/'"
  n_tcp=$((n_tcp + 1))
done
for i in 1 2; do
  check "curl $NS_B -> $IP_A:$HTTP_PORT ($i)" "curl_ok '$NS_B' 'http://$IP_A:$HTTP_PORT/'"
  n_tcp=$((n_tcp + 1))
done
udp_port=$(in_a timeout 20 python3 "$work/udp_client.py" "$IP_B" "$UDP_PORT" "$N_UDP")
check "UDP echo exchange ($N_UDP datagrams each way)" '[[ $udp_port =~ ^[0-9]+$ ]]'
check "ICMP echo exchange ($N_PING requests, python raw socket)" \
  "in_a timeout 20 python3 '$work/ping.py' '$IP_B' $ICMP_ID $N_PING"
# Quiet time so the last packets are read and statistics sampled.
sleep 1.5

# --- Stop rustnetd, then tcpdump ----------------------------------------------
kill -TERM "$rustnetd_pid"
if timeout 20 tail --pid="$rustnetd_pid" -f /dev/null; then
  wait "$rustnetd_pid"
  rc=$?
else
  rc="hung"
fi
check "rustnetd exits 0 on SIGTERM (got $rc)" '[[ $rc == 0 ]]'
check "rustnetd printed nothing on stdout/stderr" \
  '[[ ! -s $work/rustnetd.out && ! -s $work/rustnetd.err ]]'
sleep 0.3
kill -INT "$tcpdump_pid"
if timeout 10 tail --pid="$tcpdump_pid" -f /dev/null; then
  wait "$tcpdump_pid"
  rc=$?
else
  kill -9 "$tcpdump_pid"
  rc="hung"
fi
check "tcpdump exits 0 on SIGINT (got $rc)" '[[ $rc == 0 ]]'

captured=$(timeout 20 tcpdump -n -r "$capture" 2>/dev/null | wc -l)
count() { timeout 20 tcpdump -n -r "$capture" "$1" 2>/dev/null | wc -l; }
tcp_packets=$(count "tcp port $HTTP_PORT")
udp_packets=$(count "udp port $UDP_PORT")
icmp_packets=$(count "icmp")
arp_packets=$(count "arp")
echo "tcpdump: $captured packets (tcp $tcp_packets, udp $udp_packets," \
  "icmp $icmp_packets, arp $arp_packets)"
check "tcpdump saw every test packet" \
  '((captured > 0 && captured == tcp_packets + udp_packets + icmp_packets + arp_packets))'
check "tcpdump saw the UDP and ICMP exchanges" \
  '((udp_packets == 2 * N_UDP && icmp_packets == 2 * N_PING))'
check "tcpdump dropped nothing" 'grep -q "^0 packets dropped by kernel" "$work/tcpdump.err"' ||
  cat "$work/tcpdump.err"

# --- The live log ---------------------------------------------------------------
logs=("$logdir"/rustnet_*.log)
check "exactly one log file in --log-dir" '[[ ${#logs[@]} -eq 1 && -f ${logs[0]} ]]'
log=${logs[0]}
check "log file mode is 0600 (got $(stat -c %a "$log" 2>/dev/null))" \
  '[[ $(stat -c %a "$log") == 600 ]]'
check "log directory mode is 0700 (got $(stat -c %a "$logdir" 2>/dev/null))" \
  '[[ $(stat -c %a "$logdir") == 700 ]]'
check "log names the interface" 'grep -q "capturing on $IF_A (" "$log"'
check "log has periodic statistics while running" \
  '(($(grep -c "capture $IF_A: received" "$log") >= 2))'
check "log records the shutdown by SIGTERM" 'grep -q "shutting down (signal 15)" "$log"'
check "log ends with rustnetd stopped" '[[ $(tail -n 1 "$log") == *"rustnetd stopped"* ]]'
check "log has no warnings or errors" '! grep -Eq "\[(warning|error|critical)\]" "$log"'

# The final statistics: the last "capture IFACE:" line, after "shutting down".
final=$(sed -n '/shutting down/,$p' "$log" | grep "capture $IF_A: received" | tail -n 1)
echo "final statistics: ${final#*] }"
stat_of() {  # stat_of LABEL: the number after LABEL in the final line
  sed -nE "s/.*[ :;(,]$1 ([0-9]+).*/\1/p" <<<"$final"
}
received=$(stat_of "received")
packets=$(stat_of "packets")
tracked=$(stat_of "tracked")
check "final statistics logged after shutdown" '[[ -n $final ]]'
check "final statistics: packets $packets == tcpdump's $captured" \
  '[[ $packets == "$captured" ]]'
check "final statistics: received $received == tcpdump's $captured" \
  '[[ $received == "$captured" ]]'
check "final statistics: tracked $tracked == $captured" '[[ $tracked == "$captured" ]]'
check "final statistics: no drops" '[[ $(stat_of "dropped by kernel") == 0 &&
  $(stat_of "dropped by interface") == 0 && $(stat_of "dropped by queues") == 0 ]]'
check "final statistics: nothing malformed or untracked" '[[ $(stat_of "malformed") == 0 &&
  $(stat_of "untracked fragments") == 0 && $(stat_of "not IP") == 0 ]]'
created=$(stat_of "created")

# --- Replay tcpdump's capture ---------------------------------------------------
json="$work/table.jsonl"
timeout 20 "$RUSTNETD" --read "$capture" --dump json --log-dir "$work/replay-logs" \
  >"$json" 2>"$work/replay.err"
rc=$?
check "--read --dump json of the capture exits 0 (got $rc)" '[[ $rc == 0 ]]'
check "--read --dump json prints nothing on stderr" '[[ ! -s $work/replay.err ]]'
replay_log=$(ls "$work"/replay-logs/rustnet_*.log 2>/dev/null | head -n 1)
check "replay log counts the same $captured packets" \
  'grep -Eq "packets $captured, tracked $captured, not IP 0, malformed 0" "$replay_log"'
check "live run created as many connections ($created) as the replay shows" \
  '[[ $created == $(wc -l <"$json") ]]'

python3 - "$json" "$capture" "$IP_A" "$IP_B" "$HTTP_PORT" "$UDP_PORT" "$udp_port" "$ICMP_ID" \
  "$N_UDP" "$N_PING" "$n_tcp" "$captured" "$MAC_B" "$arp_packets" "$tcp_packets" \
  >"$work/json_checks.out" 2>"$work/json_checks.err" <<'EOF'
import json, sys
(path, capture, ip_a, ip_b, http_port, udp_port, udp_client_port, icmp_id, n_udp, n_ping,
 n_tcp, captured, mac_b, arp_packets, tcp_packets) = sys.argv[1:]
http_port, udp_port, icmp_id = int(http_port), int(udp_port), int(icmp_id)
n_udp, n_ping, n_tcp, captured = int(n_udp), int(n_ping), int(n_tcp), int(captured)
arp_packets, tcp_packets = int(arp_packets), int(tcp_packets)
udp_client_port = int(udp_client_port) if udp_client_port.isdigit() else -1

def check(name, cond):
    print(("ok   " if cond else "FAIL ") + name)

rows = []
try:
    with open(path) as f:
        for line in f:
            rows.append(json.loads(line))
    check("every output line is a JSON object (%d lines)" % len(rows), bool(rows))
except ValueError as e:
    check("every output line is a JSON object: %s" % e, False)

def n(counter, field="packets"):
    # proto3 JSON: uint64 as strings, zero values omitted.
    return int((counter or {}).get(field, "0"))

by_proto = {}
for r in rows:
    by_proto.setdefault(r.get("protocol"), []).append(r)
tcp = by_proto.get("PROTOCOL_TCP", [])
udp = by_proto.get("PROTOCOL_UDP", [])
icmp = by_proto.get("PROTOCOL_ICMP", [])
arp = by_proto.get("PROTOCOL_ARP", [])
check("only TCP/UDP/ICMP/ARP connections (got %s)" % sorted(by_proto),
      set(by_proto) <= {"PROTOCOL_TCP", "PROTOCOL_UDP", "PROTOCOL_ICMP", "PROTOCOL_ARP"})
check("ids are unique", len({r.get("id") for r in rows}) == len(rows))
check("interface is the capture file", all(r.get("interface") == capture for r in rows))
check("every connection has firstSeen <= lastSeen",
      all(r.get("firstSeen", "") <= r.get("lastSeen", "~") for r in rows))
total = sum(n(r.get("sent")) + n(r.get("received")) for r in rows)
check("packets over all connections (%d) == tcpdump's count (%d)" % (total, captured),
      total == captured)

# TCP: one connection per curl, each fully closed: CLOSED when the server
# closed first (seen from the client, the local side in a replay),
# TIME_WAIT when curl did.
check("%d TCP connections, one per curl (got %d)" % (n_tcp, len(tcp)), len(tcp) == n_tcp)
check("TCP packets (%d) == tcpdump's port %d count (%d)" % (
    sum(n(r.get("sent")) + n(r.get("received")) for r in tcp), http_port, tcp_packets),
      sum(n(r.get("sent")) + n(r.get("received")) for r in tcp) == tcp_packets)
for r in tcp:
    cid = "TCP id %s %s:%s -> %s:%s" % (r.get("id"), r["local"].get("address"),
                                        r["local"].get("port"), r["remote"].get("address"),
                                        r["remote"].get("port"))
    check(cid + " remote port is the server's %d" % http_port,
          r["remote"].get("port") == http_port)
    check(cid + " state CLOSED/TIME_WAIT (got %s)" % r.get("state"),
          r.get("state") in ("CONNECTION_STATE_CLOSED", "CONNECTION_STATE_TIME_WAIT"))
    check(cid + " direction OUTBOUND (replay: local is the initiator)",
          r.get("direction") == "DIRECTION_OUTBOUND")
    check(cid + " sent and received packets > 0",
          n(r.get("sent")) > 0 and n(r.get("received")) > 0)
    check(cid + " sent and received bytes > 0",
          n(r.get("sent"), "bytes") > 0 and n(r.get("received"), "bytes") > 0)
    check(cid + " service http-alt (got %r)" % r.get("service"), r.get("service") == "http-alt")
    t = r.get("tcp", {})
    check(cid + " handshake RTT measured", "handshakeRtt" in t)
    # Both legs timed from the handshake on (TCP timestamps: Linux sends them).
    check(cid + " smoothed RTT (%s) and its legs (%s, %s) measured"
          % (t.get("srtt"), t.get("localLegRtt"), t.get("remoteLegRtt")),
          "srtt" in t and "rttvar" in t and "localLegRtt" in t and "remoteLegRtt" in t)
    check(cid + " SYN, FIN and ACK seen (flags %s)" % t.get("flagsSeen"),
          t.get("flagsSeen", 0) & 0x13 == 0x13)
    check(cid + " no retransmissions or zero windows",
          "retransmissions" not in t and "zeroWindows" not in t)
    check(cid + " MACs recorded", bool(r["local"].get("mac")) and bool(r["remote"].get("mac")))
clients = sorted(r["local"].get("address") for r in tcp)
check("TCP clients: 3 from %s, 2 from %s (got %s)" % (ip_a, ip_b, clients),
      clients == sorted([ip_a] * 3 + [ip_b] * 2))

# UDP: one echo exchange.
check("one UDP connection (got %d)" % len(udp), len(udp) == 1)
for r in udp:
    check("UDP %s:%s -> %s:%s" % (r["local"].get("address"), r["local"].get("port"),
                                  r["remote"].get("address"), r["remote"].get("port")) +
          " is the client's socket", r["local"].get("address") == ip_a and
          r["local"].get("port") == udp_client_port and r["remote"].get("address") == ip_b and
          r["remote"].get("port") == udp_port)
    check("UDP state ACTIVE (got %s)" % r.get("state"),
          r.get("state") == "CONNECTION_STATE_ACTIVE")
    sent, received = n(r.get("sent")), n(r.get("received"))
    check("UDP sent %d received %d (expected %d each)" % (sent, received, n_udp),
          sent == n_udp and received == n_udp)
    check("UDP bytes: 20+8+len(payload) per datagram",
          n(r.get("sent"), "bytes") == sum(28 + len(b"rustnet udp %d" % i) for i in range(n_udp)))
    check("UDP service echo (got %r)" % r.get("service"), r.get("service") == "echo")

# ICMP: one echo session.
check("one ICMP connection (got %d)" % len(icmp), len(icmp) == 1)
for r in icmp:
    check("ICMP echo id %d (got %s)" % (icmp_id, r.get("icmp", {}).get("echoId")),
          r.get("icmp", {}).get("echoId") == icmp_id)
    check("ICMP %s -> %s" % (r["local"].get("address"), r["remote"].get("address")),
          r["local"].get("address") == ip_a and r["remote"].get("address") == ip_b)
    check("ICMP state ACTIVE (got %s)" % r.get("state"),
          r.get("state") == "CONNECTION_STATE_ACTIVE")
    sent, received = n(r.get("sent")), n(r.get("received"))
    check("ICMP sent %d received %d (expected %d each)" % (sent, received, n_ping),
          sent == n_ping and received == n_ping)
    check("ICMP last type is echo reply (0)", r.get("icmp", {}).get("lastType", 0) == 0)
    check("ICMP has no ports", "port" not in r["local"] and "port" not in r["remote"])

# ARP: the namespaces start with empty neighbour tables, so the first curl
# makes A ask for B's address.
arp_total = sum(n(r.get("sent")) + n(r.get("received")) for r in arp)
check("ARP packets (%d) == tcpdump's arp count (%d)" % (arp_total, arp_packets),
      arp_total == arp_packets)
a_asks_b = [r for r in arp
            if r["local"].get("address") == ip_a and r["remote"].get("address") == ip_b]
check("one ARP connection %s -> %s (got %d)" % (ip_a, ip_b, len(a_asks_b)), len(a_asks_b) == 1)
for r in a_asks_b:
    a = r.get("arp", {})
    check("ARP %s asked for %s and got its MAC %s (got %s)" % (
        ip_a, ip_b, mac_b, a.get("resolvedMac")),
          int(a.get("requests", "0")) >= 1 and int(a.get("replies", "0")) >= 1 and
          a.get("resolvedMac") == mac_b)
    check("ARP state ACTIVE (got %s)" % r.get("state"),
          r.get("state") == "CONNECTION_STATE_ACTIVE")
print("END")
EOF
checker_rc=$?
check "replay checker ran to the end (rc $checker_rc)" \
  '[[ $checker_rc == 0 && $(tail -n 1 "$work/json_checks.out") == END ]]'
[[ -s $work/json_checks.err ]] && cat "$work/json_checks.err"
while IFS= read -r line; do
  case $line in
    "ok   "*) ok "replay: ${line#ok   }" ;;
    "FAIL "*) bad "replay: ${line#FAIL }" ;;
    END) ;;
    *) bad "replay checker: $line" ;;
  esac
done <"$work/json_checks.out"

if ((fail > 0)); then
  echo "--- rustnetd log ($log)"
  cat "$log" 2>/dev/null
  echo "--- replayed table"
  cat "$json" 2>/dev/null
fi
finish
