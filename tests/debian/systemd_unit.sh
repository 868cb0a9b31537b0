#!/usr/bin/env bash
# meshbot.service as the meshbot package installs it: its sysusers.d and tmpfiles.d entries make
# its user and state folder, `systemd-analyze verify` accepts it, and `systemd-analyze security`
# rates its exposure at most 3.0 ("OK"). All of it happens in a root the package is extracted
# into, so the unit's ExecStart binary is the packaged one and this machine is left alone.
#   systemd_unit.sh <package dir> [max exposure, default 3.0]
set -euo pipefail

deb=$(find "$1" -maxdepth 1 -name 'meshbot_*.deb' | head -1)
max=${2:-3.0}
[ -n "$deb" ] || { echo "FAIL: no meshbot_*.deb in $1" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
unit="$root/usr/lib/systemd/system/meshbot.service"
[ -f "$unit" ] || { echo "FAIL: the package has no /usr/lib/systemd/system/meshbot.service" >&2; exit 1; }

# The user and the state folder, as postinst makes them (systemd-sysusers, systemd-tmpfiles),
# made inside the root: the unit's User=meshbot, in the group dialout, owning /var/lib/meshbot.
mkdir -p "$root/etc"
systemd-sysusers --root="$root" meshbot.conf >/dev/null 2>&1 ||
  { echo "FAIL: systemd-sysusers refuses the package's sysusers.d/meshbot.conf" >&2; exit 1; }
uid=$(awk -F: '$1 == "meshbot" { print $3 }' "$root/etc/passwd")
[ -n "$uid" ] || { echo "FAIL: sysusers.d/meshbot.conf makes no user meshbot" >&2; exit 1; }
grep -Eq '^dialout:[^:]*:[0-9]+:(.*,)?meshbot(,|$)' "$root/etc/group" ||
  { echo "FAIL: sysusers.d/meshbot.conf does not put meshbot in dialout" >&2; exit 1; }
systemd-tmpfiles --root="$root" --create meshbot.conf ||
  { echo "FAIL: systemd-tmpfiles refuses the package's tmpfiles.d/meshbot.conf" >&2; exit 1; }
[ "$(stat -c '%u %a' "$root/var/lib/meshbot")" = "$uid 750" ] ||
  { echo "FAIL: /var/lib/meshbot is not mode 0750 owned by meshbot ($uid)" >&2; exit 1; }
echo "sysusers.d and tmpfiles.d: user meshbot ($uid) in dialout, /var/lib/meshbot 0750"

# verify resolves everything inside the root: the unit's dependencies (sysinit.target, ...) and
# ExecReload's /bin/kill come from this machine, the unit and its ExecStart from the package.
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
[ -e "$root/bin" ] || ln -s usr/bin "$root/bin"
[ -e "$root/usr/bin/kill" ] || cp /usr/bin/kill "$root/usr/bin/kill"

# verify: unknown or misspelt keys, bad values, an ExecStart that does not exist. Some problems
# are only warnings (exit status 0), so any output fails the test. (--man=no: the
# Documentation= links are files of the package, not man pages of this machine.)
status=0
verify=$(systemd-analyze verify --man=no --root="$root" "$unit" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$verify" ]; then
  echo "$verify"
  echo "FAIL: systemd-analyze verify complains about meshbot.service (exit status $status)" >&2
  exit 1
fi
echo "systemd-analyze verify: ok"

security=$(systemd-analyze security --offline=yes --root="$root" meshbot.service 2>&1) || {
  echo "$security"
  echo "FAIL: systemd-analyze security failed" >&2
  exit 1
}
echo "$security"
exposure=$(sed -n 's/.*Overall exposure level for meshbot.service: \([0-9.]*\).*/\1/p' <<<"$security")
[ -n "$exposure" ] || { echo "FAIL: no exposure level in the output above" >&2; exit 1; }
echo "exposure: $exposure (at most $max)"
awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }' || {
  echo "FAIL: exposure $exposure is above $max" >&2
  exit 1
}
