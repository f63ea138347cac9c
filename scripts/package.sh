#!/usr/bin/env bash
# Builds the Debian package: rustnetd, rustnet-tui (once client/ installs
# it), the systemd units, the example configuration, man pages and bash
# completions, with Depends computed by dpkg-shlibdeps.
# Usage: scripts/package.sh [BUILD_DIR]   (default: build)
# Writes BUILD_DIR/rustnet_<version>-<release>_<arch>.deb and prints its path.
# A new BUILD_DIR is configured as the tested RelWithDebInfo build (CPack
# strips the binaries), without tests, with Debian's hardening flags; an
# existing one is packaged as it is configured.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
for tool in cmake cpack dpkg-deb dpkg-shlibdeps file gzip; do
  if ! command -v "$tool" >/dev/null; then
    echo "package: $tool is missing; run scripts/setup.sh package (as root)" >&2
    exit 1
  fi
done
if [[ ! -f $dir/CMakeCache.txt ]]; then
  # Debian's hardening flags (fortify, stack protector, full RELRO, bind
  # now), as a Debian build would set them.
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  cppflags=$(dpkg-buildflags --get CPPFLAGS)
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUSTNET_BUILD_TESTS=OFF \
    -DCMAKE_C_FLAGS="$cppflags $(dpkg-buildflags --get CFLAGS)" \
    -DCMAKE_CXX_FLAGS="$cppflags $(dpkg-buildflags --get CXXFLAGS)" \
    -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"
rm -f "$dir"/rustnet_*.deb
(cd "$dir" && cpack -G DEB >cpack.log 2>&1) || {
  echo "package: cpack failed; see $dir/cpack.log" >&2
  tail -20 "$dir/cpack.log" >&2
  exit 1
}
deb=$(ls "$dir"/rustnet_*.deb)
echo "$deb"
