#!/usr/bin/env bash
# Installs what rustnet needs from Debian 12's packages, only what is
# missing. Usage: scripts/setup.sh [build|package|test]   (default: build)
#   build:   compilers and libraries to build rustnetd
#   package: also what scripts/package.sh needs (dpkg-shlibdeps, file)
#   test:    also the real tools the tests drive (tshark, tcpdump, curl,
#            systemd-analyze, lintian, ...), and the GeoIP database below
#   geoip:   only fetch the openly licensed country database of the
#            ip-location-db project (geo-whois-asn-country, CC0, from the npm
#            registry: @ip-location-db/geo-whois-asn-country-mmdb) into
#            /var/lib/rustnet/geoip/, where rustnetd looks for it, unless a
#            copy is there already
set -euo pipefail

what=${1:-build}

# The ip-location-db country database (see geoip above). Needs npm (Debian's
# npm package, or Node.js's); fails with a sentence if it cannot fetch.
fetch_geoip() {
  local dir=/var/lib/rustnet/geoip
  [[ -f $dir/geo-whois-asn-country.mmdb ]] && return 0
  if [[ $(id -u) != 0 ]]; then
    echo "setup: run as root (sudo) to put the GeoIP database in $dir" >&2
    return 1
  fi
  if ! command -v npm >/dev/null; then
    echo "setup: npm is needed to fetch the GeoIP database: apt-get install npm" >&2
    return 1
  fi
  local tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && npm pack --silent @ip-location-db/geo-whois-asn-country-mmdb >/dev/null &&
    tar xzf ./*.tgz); then
    rm -rf "$tmp"
    echo "setup: could not fetch @ip-location-db/geo-whois-asn-country-mmdb from the npm registry" >&2
    return 1
  fi
  install -d -m 0755 "$dir"
  install -m 0644 "$tmp/package/geo-whois-asn-country.mmdb" "$dir/"
  # Its licence and attribution travel with it.
  for f in README.md NRO_LICENSE LICENSE; do
    [[ -f $tmp/package/$f ]] && install -m 0644 "$tmp/package/$f" "$dir/geo-whois-asn-country.$f"
  done
  rm -rf "$tmp"
  echo "setup: GeoIP country database in $dir (ip-location-db, CC0)"
}
if [[ $what == geoip ]]; then
  fetch_geoip
  exit
fi
build_pkgs=(
  cmake ninja-build g++ pkg-config
  libpcap-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libsystemd-dev catch2 libssl-dev libncurses-dev
  libsqlite3-dev libmaxminddb-dev libc-ares-dev ieee-data libmicrohttpd-dev libcrypt-dev
  libre2-dev clang llvm libbpf-dev bpftool
)
package_pkgs=(dpkg-dev file gzip)
test_pkgs=(
  tshark tcpdump tcpreplay netsniff-ng iproute2 curl openssl bind9-dnsutils dnsmasq-base
  nfdump pmacct
  python3 python3-grpcio python3-protobuf iputils-ping procps psmisc util-linux time
  clang libclang-rt-14-dev
  tmux
  sqlite3 libmaxmind-db-writer-perl
  prometheus
  systemd lintian bash-completion adduser init-system-helpers
  libcap2-bin
)
pkgs=("${build_pkgs[@]}")
[[ $what == package || $what == test ]] && pkgs+=("${package_pkgs[@]}")
[[ $what == test ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run this as root (sudo) to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ $what == test ]] && fetch_geoip
exit 0
