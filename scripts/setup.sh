#!/usr/bin/env bash
# Installs what rustnet needs from Debian 12's packages, only what is
# missing. Usage: scripts/setup.sh [build|package|test]   (default: build)
#   build:   compilers and libraries to build rustnetd
#   package: also what scripts/package.sh needs (dpkg-shlibdeps, file)
#   test:    also the real tools the tests drive (tshark, tcpdump, curl,
#            systemd-analyze, lintian, ...)
set -euo pipefail

what=${1:-build}
build_pkgs=(
  cmake ninja-build g++ pkg-config
  libpcap-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libsystemd-dev catch2 libssl-dev libncurses-dev
  libsqlite3-dev libmaxminddb-dev libc-ares-dev ieee-data libmicrohttpd-dev libcrypt-dev
)
package_pkgs=(dpkg-dev file gzip)
test_pkgs=(
  tshark tcpdump tcpreplay iproute2 curl openssl bind9-dnsutils dnsmasq-base
  nfdump pmacct
  python3 python3-grpcio python3-protobuf iputils-ping procps psmisc util-linux time
  clang libclang-rt-14-dev
  tmux
  sqlite3 libmaxmind-db-writer-perl
  prometheus
  systemd lintian bash-completion adduser init-system-helpers
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
