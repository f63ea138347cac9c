#!/usr/bin/env bash
# The Debian package, built by scripts/package.sh from the build under test:
#   - its contents (dpkg-deb -c): binaries, units, the conffile, man pages,
#     completions, copyright, the Prometheus examples (scrape config, alert
#     rules, Grafana dashboard); nothing outside the expected directories;
#   - Depends derived from the libraries the binaries link (every NEEDED
#     library's package is listed), conffiles and maintainer scripts;
#   - installed for real (this must run as root, in a throwaway machine or
#     container): the rustnet user and group, files in place, units enabled
#     without a running systemd, `rustnetd --version` from /usr/sbin, the
#     daemon run as the service would run it (user rustnet, ambient
#     CAP_NET_RAW), man pages and bash completion working;
#   - upgraded (reinstalled) keeping a modified conffile, removed (the
#     conffile stays), purged: nothing left (files, user, group, units'
#     state), and a direct purge too;
#   - lintian: errors fail, warnings are reported.
# Refuses to touch a machine where rustnet is installed or a rustnet user or
# group exists. Prints "ok:/FAIL:" per check and "N passed, M failed"; a
# missing tool is a FAIL.
# Environment (set by CTest): RUSTNETD, BUILD_DIR, SOURCE_DIR, FIXTURES.
set -u
: "${BUILD_DIR:?BUILD_DIR must point to the build tree}"
: "${SOURCE_DIR:?SOURCE_DIR must point to the source tree}"
: "${FIXTURES:?FIXTURES must point to tests/fixtures}"
PYTHON=/usr/bin/python3

pass=0 fail=0
work=$(mktemp -d /tmp/rndeb.XXXXXX)
chmod 0755 "$work"
installed_by_us=0
daemon=""
saved_var_lib=""
cleanup() {
  [[ -n $daemon ]] && kill -KILL "$daemon" 2>/dev/null
  if ((installed_by_us)); then
    dpkg --purge rustnet >/dev/null 2>&1
  fi
  # Put back what was in /var/lib/rustnet before (see below).
  if [[ -n $saved_var_lib && -e $saved_var_lib ]]; then
    rm -rf /var/lib/rustnet
    mv "$saved_var_lib" /var/lib/rustnet
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() {
  pass=$((pass + 1))
  echo "ok:   $1"
}
bad() {
  fail=$((fail + 1))
  echo "FAIL: $1"
  shift
  local d
  for d in "$@"; do [[ -n $d ]] && printf '%s\n' "$d" | sed 's/^/        /'; done
}
check() {  # check NAME COMMAND...; failure detail from $detail
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name" "${detail:-}"; fi
  detail=""
}
summary() {
  echo "$pass passed, $fail failed"
  ((fail == 0))
  exit
}

# --- Tools ------------------------------------------------------------------------
for tool in dpkg dpkg-deb cpack dpkg-shlibdeps file lintian readelf ldconfig getent \
  deb-systemd-helper setpriv groff "$PYTHON"; do
  if command -v "$tool" >/dev/null; then
    ok "tool $tool is installed"
  else
    bad "tool $tool is installed" "install it (scripts/setup.sh test)"
  fi
done
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
  ok "tool bash-completion is installed"
else
  bad "tool bash-completion is installed" "apt-get install bash-completion"
fi

# --- Build ------------------------------------------------------------------------
"$SOURCE_DIR/scripts/package.sh" "$BUILD_DIR" >"$work/package.out" 2>&1
rc=$?
deb=$(tail -1 "$work/package.out")
detail="exit code $rc; $(tail -20 "$work/package.out")"
check "scripts/package.sh builds the .deb" \
  bash -c "[[ $rc == 0 && -f '$deb' && '$deb' == */rustnet_*-*_*.deb ]]"
[[ -f $deb ]] || summary

dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' | sed 's| \./| /|' >"$work/contents"
tui_built=0
[[ -x $BUILD_DIR/client/rustnet-tui ]] && tui_built=1
expect=(
  "-rwxr-xr-x root/root /usr/sbin/rustnetd"
  "-rw-r--r-- root/root /lib/systemd/system/rustnetd.service"
  "-rw-r--r-- root/root /lib/systemd/system/rustnetd.socket"
  "-rw-r--r-- root/root /etc/rustnet/rustnetd.conf"
  "-rw-r--r-- root/root /usr/share/man/man8/rustnetd.8.gz"
  "-rw-r--r-- root/root /usr/share/bash-completion/completions/rustnetd"
  "-rw-r--r-- root/root /usr/share/doc/rustnet/copyright"
  "-rw-r--r-- root/root /usr/share/doc/rustnet/changelog.Debian.gz"
  "-rw-r--r-- root/root /usr/share/rustnet/prometheus/prometheus.yml"
  "-rw-r--r-- root/root /usr/share/rustnet/prometheus/rustnet_alerts.yml"
  "-rw-r--r-- root/root /usr/share/rustnet/prometheus/grafana_dashboard.json"
)
if ((tui_built)); then
  expect+=(
    "-rwxr-xr-x root/root /usr/bin/rustnet-tui"
    "-rw-r--r-- root/root /usr/share/man/man1/rustnet-tui.1.gz"
    "-rw-r--r-- root/root /usr/share/bash-completion/completions/rustnet-tui"
  )
else
  echo "note: this build has no rustnet-tui; the package is checked without it"
fi
for e in "${expect[@]}"; do
  detail="$(cat "$work/contents")"
  check "dpkg-deb -c lists ${e##* } (${e% *})" grep -qxF -- "$e" "$work/contents"
done
strays=$(awk '$1 !~ /^d/ {print $3}' "$work/contents" | grep -vE \
  '^/(usr/s?bin/rustnet|lib/systemd/system/rustnetd\.|etc/rustnet/|etc/logrotate\.d/rustnetd$|usr/share/(man/man[18]/rustnet|bash-completion/completions/rustnet|doc/rustnet/|lintian/overrides/rustnet$|rustnet/))')
detail="$strays"
check "dpkg-deb -c: nothing outside the expected places" test -z "$strays"

# --- Control ----------------------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
detail="Depends: $depends"
check "Depends is non-empty: $depends" test -n "$depends"
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x"
binaries=("$work/x/usr/sbin/rustnetd")
[[ -f $work/x/usr/bin/rustnet-tui ]] && binaries+=("$work/x/usr/bin/rustnet-tui")
# Package names in Depends, one per line (versions and alternatives apart).
depends_names=$(tr ',|' '\n\n' <<<"$depends" | sed -E 's/\(.*\)//; s/^ +//; s/ +$//' | grep .)
missing=()
for bin in "${binaries[@]}"; do
  for lib in $(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit|AArch64/ {print $NF; exit}')
    [[ -z $path ]] && path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    pkg=""
    for p in "$path" "$(readlink -f "$path")" "${path/#\/usr\/lib/\/lib}" "/usr${path}"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $pkg ]] && break
    done
    # The package, or a virtual one it provides (its shlibs may name that:
    # libspdlog1.10 provides libspdlog1.10-fmt9).
    names=("$pkg")
    if [[ -n $pkg ]]; then
      read -ra provided <<<"$(dpkg-query -W -f='${Provides}' "$pkg" 2>/dev/null |
        sed -E 's/\([^)]*\)//g; s/,/ /g')"
      names+=("${provided[@]}")
    fi
    found=0
    for n in "${names[@]}"; do
      [[ -n $n ]] && grep -qxF -- "$n" <<<"$depends_names" && found=1
    done
    if ((!found)); then
      missing+=("${bin##*/}: $lib (${pkg:-no package}) not in Depends")
    fi
  done
done
detail="$(printf '%s\n' "${missing[@]}")"
check "Depends covers the package of every library the binaries link (dpkg-shlibdeps)" \
  test "${#missing[@]}" -eq 0
detail="$(dpkg-deb -f "$deb" Depends)"
check "Depends has adduser (the postinst uses it)" grep -q 'adduser' <<<"$depends"
mkdir -p "$work/control"
dpkg-deb -e "$deb" "$work/control"
detail="$(cat "$work/control/conffiles" 2>&1)"
check "conffiles: /etc/rustnet/rustnetd.conf" grep -qx /etc/rustnet/rustnetd.conf "$work/control/conffiles"
for script in postinst prerm postrm; do
  detail="$(ls -l "$work/control/$script" 2>&1; sh -n "$work/control/$script" 2>&1)"
  check "maintainer script $script: executable, valid sh" \
    bash -c "[[ -x '$work/control/$script' ]] && sh -n '$work/control/$script'"
done

# --- lintian ------------------------------------------------------------------------
lintian --no-tag-display-limit "$deb" >"$work/lintian" 2>&1
errors=$(grep -c '^E:' "$work/lintian")
warnings=$(grep -c '^W:' "$work/lintian")
grep -E '^[EW]:' "$work/lintian" | sed 's/^/        lintian| /'
detail="$(grep '^E:' "$work/lintian")"
check "lintian: no errors ($warnings warnings, reported above)" test "$errors" -eq 0

# --- Install for real -------------------------------------------------------------
if [[ $(id -u) != 0 ]]; then
  bad "install: running as root" "dpkg -i needs root; run the suite with sudo in a throwaway machine"
  summary
fi
if dpkg-query -W -f='${Status}' rustnet 2>/dev/null | grep -q 'installed'; then
  bad "install: rustnet is not installed already" \
    "this test installs and purges the package for real; run it where rustnet is not installed"
  summary
fi
if getent passwd rustnet >/dev/null || getent group rustnet >/dev/null; then
  bad "install: no rustnet user or group exists yet" \
    "purging would delete them; run the test where they do not exist"
  summary
fi
ok "install: a clean machine (no rustnet package, user or group)"

# /var/lib/rustnet may hold what scripts/setup.sh fetched (the GeoIP
# database other tests use); the purge below deletes the package's state
# there, so it is moved aside for this test and put back at the end.
if [[ -e /var/lib/rustnet ]]; then
  saved_var_lib="$work/var-lib-rustnet"
  mv /var/lib/rustnet "$saved_var_lib"
fi

# What may change on install and must be back after purge: files in these
# places, and the account databases.
snapshot() {
  find /etc /lib/systemd/system /usr/sbin /usr/bin /usr/share/man/man1 /usr/share/man/man8 \
    /usr/share/doc /usr/share/bash-completion /usr/share/lintian /usr/share/rustnet \
    /var/lib/systemd /var/log /run/rustnet \
    -path /etc/ld.so.cache -prune -o -name '*-' -prune -o -print 2>/dev/null | sort
  local f
  for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow; do sort "$f"; done
}
# An empty /run/rustnet left by an earlier run would go with the purge.
rmdir /run/rustnet 2>/dev/null
snapshot >"$work/before"

dpkg -i "$deb" >"$work/dpkg.out" 2>&1
rc=$?
installed_by_us=1
detail="$(cat "$work/dpkg.out")"
check "dpkg -i succeeds without systemd running" test "$rc" -eq 0
detail="$(dpkg -s rustnet 2>&1 | head -3)"
check "dpkg -s: install ok installed" bash -c "dpkg -s rustnet | grep -q '^Status: install ok installed'"
user=$(getent passwd rustnet)
detail="passwd: $user"
check "the system user rustnet exists (system uid, no login, home /nonexistent)" \
  bash -c "IFS=: read -r n _ uid gid _ home shell <<<'$user' && ((uid < 1000)) &&
           [[ \$home == /nonexistent && \$shell == */nologin ]] &&
           [[ \$(getent group rustnet | cut -d: -f3) == \$gid ]]"
for f in /usr/sbin/rustnetd /lib/systemd/system/rustnetd.service \
  /lib/systemd/system/rustnetd.socket /etc/rustnet/rustnetd.conf \
  /usr/share/man/man8/rustnetd.8.gz /usr/share/bash-completion/completions/rustnetd; do
  check "installed: $f" test -f "$f"
done
((tui_built)) && check "installed: /usr/bin/rustnet-tui" test -x /usr/bin/rustnet-tui
for link in /etc/systemd/system/sockets.target.wants/rustnetd.socket \
  /etc/systemd/system/multi-user.target.wants/rustnetd.service; do
  detail="$(ls -la "$(dirname "$link")" 2>&1)"
  check "enabled without a running systemd: $link" test -L "$link"
done
version=$(/usr/sbin/rustnetd --version 2>&1)
detail="$version"
check "/usr/sbin/rustnetd --version: $version" bash -c "[[ '$version' =~ ^rustnetd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]"
if ((tui_built)); then
  tui_version=$(/usr/bin/rustnet-tui --version 2>&1)
  detail="$tui_version"
  check "/usr/bin/rustnet-tui --version: $tui_version" grep -q '^rustnet-tui ' <<<"$tui_version"
fi
timeout 20 /usr/sbin/rustnetd --read "$FIXTURES/http.pcap" --dump json --log-dir "$work/logs" \
  >"$work/dump" 2>"$work/dump.err" </dev/null
rc=$?
detail="exit code $rc; $(cat "$work/dump.err")"
check "the installed daemon reads the installed configuration (all defaults) and dumps" \
  bash -c "[[ $rc == 0 && -s '$work/dump' ]]"
# Left out: what contradicts --read/--dump or another key (metrics-listen
# serves only without --dump; its web config file does not exist). What
# writes or sends goes to this test's own places: the pcap export into
# $work, IPFIX to a loopback port (traffic stays on this machine).
sed -E 's/^#([a-z-]+ = )/\1/' /etc/rustnet/rustnetd.conf |
  grep -vE '^(read|insecure-listen|listen|tls-[a-z-]+|socket-group|json-log|history-db|metrics-listen|metrics-web-config) = ' |
  sed -E "s|^pcap-export = .*|pcap-export = $work/export.pcapng|; s|^ipfix = .*|ipfix = udp://127.0.0.1:9|" \
    >"$work/all.conf"
timeout 20 /usr/sbin/rustnetd --config "$work/all.conf" --read "$FIXTURES/http.pcap" \
  --dump json --log-dir "$work/logs" >"$work/dump2" 2>"$work/dump2.err" </dev/null
rc=$?
detail="exit code $rc; $(cat "$work/dump2.err"; grep -v '^#' "$work/all.conf" | grep .)"
check "every option of the example configuration, uncommented, is accepted" \
  bash -c "[[ $rc == 0 && -s '$work/dump2' ]]"
for page in /usr/share/man/man8/rustnetd.8.gz /usr/share/man/man1/rustnet-tui.1.gz; do
  [[ -f $page ]] || continue
  zcat "$page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z >"$work/groff" 2>&1
  rc=$?
  detail="$(cat "$work/groff")"
  check "man page ${page##*/} renders without warnings" bash -c "[[ $rc == 0 && ! -s '$work/groff' ]]"
done

# bash completion: complete a word as bash would, print the candidates.
complete_words() {  # complete_words COMMAND-LINE (the last word is completed)
  bash -c '
    source /usr/share/bash-completion/bash_completion
    read -ra COMP_WORDS <<<"$1"
    [[ $1 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$1 COMP_POINT=${#1}
    _completion_loader "${COMP_WORDS[0]}"
    f=$(complete -p "${COMP_WORDS[0]}" | sed -E "s/.*-F ([^ ]+).*/\1/")
    "$f" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$1" 2>&1
}
out=$(complete_words "rustnetd --log-l")
detail="$out"
check "bash completion: rustnetd --log-l<TAB> offers --log-level" grep -qx -- '--log-level' <<<"$out"
out=$(complete_words "rustnetd --log-level d")
detail="$out"
check "bash completion: rustnetd --log-level d<TAB> offers debug" grep -qx debug <<<"$out"
out=$(complete_words "rustnetd --con")
detail="$out"
check "bash completion: rustnetd --con<TAB> offers --config" grep -qx -- '--config' <<<"$out"
if ((tui_built)); then
  out=$(complete_words "rustnet-tui --refr")
  detail="$out"
  check "bash completion: rustnet-tui --refr<TAB> offers --refresh-interval" \
    grep -qx -- '--refresh-interval' <<<"$out"
fi

# The daemon as the service runs it: user rustnet, the unit's ambient
# capabilities (no CAP_SETPCAP: the bounding set is the unit's business),
# capturing on lo, serving a socket in a directory it owns.
svc="$work/service"
install -d -o rustnet -g rustnet -m 0750 "$svc"
setpriv --reuid=rustnet --regid=rustnet --init-groups \
  --inh-caps=-all,+net_raw,+sys_ptrace,+dac_read_search \
  --ambient-caps=-all,+net_raw,+sys_ptrace,+dac_read_search \
  /usr/sbin/rustnetd -i lo --socket "$svc/api.sock" --log-dir "$svc/logs" --config /dev/null \
  >"$work/svc.out" 2>"$work/svc.err" </dev/null &
daemon=$!
for _ in $(seq 100); do [[ -S $svc/api.sock ]] && break; sleep 0.1; done
sleep 1
log=$(ls "$svc"/logs/*.log 2>/dev/null | head -1)
cat >"$work/health.py" <<'EOF'
import sys, grpc
channel = grpc.insecure_channel("unix:" + sys.argv[1])
print("SERVING" if channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10) == b"\x08\x01" else "NOT SERVING")
EOF
health=$(timeout 20 "$PYTHON" "$work/health.py" "$svc/api.sock" 2>&1)
detail="$health; $(cat "$work/svc.err"; cat "$log" 2>/dev/null)"
check "as user rustnet with the unit's capabilities: captures on lo and serves the API" \
  grep -q SERVING <<<"$health"
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$daemon/status" 2>/dev/null)
detail="CapEff=$caps; $(cat "$log" 2>/dev/null)"
check "as user rustnet: only the unit's three capabilities remain, CAP_NET_RAW to reopen the interface (CapEff $caps)" \
  test "$caps" = 0000000000082004
kill -TERM "$daemon" 2>/dev/null
wait "$daemon"
rc=$?
daemon=""
detail="exit code $rc; $(cat "$work/svc.err")"
check "as user rustnet: SIGTERM is a clean stop" test "$rc" -eq 0

# --- Upgrade (reinstall), remove, purge -------------------------------------------
echo "# changed by deb_test" >>/etc/rustnet/rustnetd.conf
dpkg -i "$deb" >"$work/dpkg2.out" 2>&1
rc=$?
detail="$(cat "$work/dpkg2.out")"
check "upgrade (dpkg -i again) succeeds" test "$rc" -eq 0
detail="$(tail -2 /etc/rustnet/rustnetd.conf)"
check "upgrade keeps the administrator's change to the conffile" \
  grep -q 'changed by deb_test' /etc/rustnet/rustnetd.conf
check "upgrade keeps the user rustnet" getent passwd rustnet

dpkg -r rustnet >"$work/dpkg3.out" 2>&1
rc=$?
detail="$(cat "$work/dpkg3.out")"
check "dpkg -r succeeds" test "$rc" -eq 0
check "removed: /usr/sbin/rustnetd is gone" test ! -e /usr/sbin/rustnetd
check "removed: the units are gone" test ! -e /lib/systemd/system/rustnetd.service
check "removed: the conffile stays until purge" test -f /etc/rustnet/rustnetd.conf

dpkg --purge rustnet >"$work/dpkg4.out" 2>&1
rc=$?
detail="$(cat "$work/dpkg4.out")"
check "dpkg --purge succeeds" test "$rc" -eq 0
installed_by_us=0
snapshot >"$work/after"
detail="$(diff "$work/before" "$work/after")"
check "purged: nothing left (files, units' state, user, group, /etc/rustnet)" \
  cmp -s "$work/before" "$work/after"
check "purged: dpkg forgets the package" bash -c "! dpkg -s rustnet >/dev/null 2>&1"

# Installed, then purged at once.
dpkg -i "$deb" >"$work/dpkg5.out" 2>&1 && installed_by_us=1
dpkg --purge rustnet >"$work/dpkg6.out" 2>&1
rc=$?
installed_by_us=0
snapshot >"$work/after2"
detail="exit code $rc; $(cat "$work/dpkg6.out"); $(diff "$work/before" "$work/after2")"
check "install then purge at once: nothing left" \
  bash -c "[[ $rc == 0 ]] && cmp -s '$work/before' '$work/after2'"

summary
