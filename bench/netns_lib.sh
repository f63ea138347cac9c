# shellcheck shell=bash
# bench/netns_lib.sh: the setup live_bench.sh and live_trafgen.sh share,
# sourced by them (it runs nothing by itself).
#
#   bench_netns_up PREFIX IF_S IF_R WORKNAME
#
# Two private network namespaces, PREFIX-s-PID (the sender's) and
# PREFIX-r-PID (the receiver's), joined by a veth pair IF_S / IF_R, both
# up, the receiving end promiscuous (a tool then takes every frame, whatever
# its MAC), no IPv6 (no router solicitations or neighbour discovery of their
# own: every frame on the link is one the sender sent). Sets NS_S NS_R IF_S
# IF_R, WORK (a temporary folder /tmp/WORKNAME.XXXXXX) and TOOL_PID="" (the
# script sets it to the capturing tool while one runs), and installs the
# EXIT trap that kills TOOL_PID and whatever runs in the namespaces, deletes
# them and removes WORK. First it removes the namespaces a run killed before
# its trap ran left behind (PREFIX-[sr]-PID whose PID is gone).

bench_netns_up() {
  local prefix=$1 ns
  NS_S="$prefix-s-$$"
  NS_R="$prefix-r-$$"
  IF_S=$2
  IF_R=$3
  WORK=$(mktemp -d "/tmp/$4.XXXXXX")
  TOOL_PID=""
  trap bench_netns_cleanup EXIT
  trap 'exit 130' INT TERM

  for ns in $(ip netns list 2>/dev/null | awk -v re="^$prefix-[sr]-[0-9]+" '$1 ~ re {print $1}'); do
    kill -0 "${ns##*-}" 2>/dev/null && continue
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done

  ip netns add "$NS_S"
  ip netns add "$NS_R"
  for ns in "$NS_S" "$NS_R"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_R" netns "$NS_R"
  ip -n "$NS_S" link set "$IF_S" up
  ip -n "$NS_R" link set "$IF_R" up promisc on
}

bench_netns_cleanup() {
  if [[ -n "$TOOL_PID" ]]; then kill "$TOOL_PID" 2>/dev/null || true; fi
  local ns
  for ns in "$NS_S" "$NS_R"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
