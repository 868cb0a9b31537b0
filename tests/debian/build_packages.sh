#!/usr/bin/env bash
# Builds the Debian packages with CPack from the build tree and checks what they hold and say
# (dpkg-deb -I/-f/-c): the debian_packages fixture of the other tests in this folder and of
# tests/integration/debian_package_test.cpp.
#   build_packages.sh <source dir> <build dir> <out dir> <version> <plugin dir under /usr>
# <out dir> is emptied first; the packages are left there.
set -euo pipefail

source_dir=$1 build_dir=$2 out_dir=$3 version=$4 plugin_dir=$5
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

rm -rf "$out_dir"
mkdir -p "$out_dir"
cpack --config "$build_dir/CPackConfig.cmake" -B "$out_dir"

arch=$(dpkg --print-architecture)
release=$(sed -n 's/^set(CPACK_DEBIAN_PACKAGE_RELEASE "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake")
[ -n "$release" ] || release=1
full_version="$version-$release"
meshbot="$out_dir/meshbot_${full_version}_${arch}.deb"
dev="$out_dir/meshbot-dev_${full_version}_all.deb"
sim="$out_dir/meshbot-sim_${full_version}_${arch}.deb"
for deb in "$meshbot" "$dev" "$sim"; do
  [ -f "$deb" ] || { echo "FAIL: no $deb; cpack wrote:" >&2; ls -l "$out_dir" >&2; exit 1; }
done
count=$(find "$out_dir" -maxdepth 1 -name '*.deb' | wc -l)
[ "$count" -eq 3 ] || fail "expected 3 packages in $out_dir, found $count"

# ---- control fields
field() { dpkg-deb -f "$1" "$2"; }
for deb in "$meshbot" "$dev" "$sim"; do
  echo "== $(basename "$deb")"
  dpkg-deb -f "$deb"
  [ "$(field "$deb" Version)" = "$full_version" ] || fail "$deb: Version is not $full_version"
  [ "$(field "$deb" Source)" = "meshbot" ] || fail "$deb: Source is not meshbot"
  [ "$(field "$deb" Priority)" = "optional" ] || fail "$deb: Priority is not optional"
  [ -n "$(field "$deb" Maintainer)" ] || fail "$deb: no Maintainer"
  [ -n "$(field "$deb" Section)" ] || fail "$deb: no Section"
  [ "$(field "$deb" Description | wc -l)" -gt 2 ] || fail "$deb: no long Description"
done
[ "$(field "$meshbot" Architecture)" = "$arch" ] || fail "meshbot: Architecture is not $arch"
[ "$(field "$dev" Architecture)" = "all" ] || fail "meshbot-dev: Architecture is not all"
depends=$(field "$meshbot" Depends)
for library in libc6 libstdc++6 libprotobuf libseccomp2 libarchive13 libssl3 adduser; do
  [[ "$depends" == *"$library"* ]] || fail "meshbot: Depends ($depends) lacks $library"
done
[[ "$(field "$sim" Depends)" == *libc6* ]] || fail "meshbot-sim: Depends lacks libc6"
[[ "$(field "$dev" Depends)" == *cmake* ]] || fail "meshbot-dev: Depends lacks cmake"

# ---- control files: the config is a conffile, the maintainer scripts are there
[ "$(dpkg-deb -I "$meshbot" conffiles)" = "/etc/meshbot/meshbot.toml" ] ||
  fail "meshbot: conffiles is not exactly /etc/meshbot/meshbot.toml"
for script in postinst prerm postrm; do
  dpkg-deb -I "$meshbot" "$script" >/dev/null 2>&1 || fail "meshbot: no $script"
done

# ---- contents
require_files() {
  local deb=$1
  shift
  local listing
  listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
  for path in "$@"; do
    grep -qxF "./$path" <<<"$listing" || fail "$(basename "$deb") lacks /$path"
  done
}
plugin_files=()
for id in echo monitor remote; do
  plugin_files+=("usr/$plugin_dir/$id/plugin.toml" "usr/$plugin_dir/$id/$id.so")
done
require_files "$meshbot" usr/bin/meshbot usr/bin/meshbot-plugin "${plugin_files[@]}" \
  etc/meshbot/meshbot.toml usr/lib/systemd/system/meshbot.service \
  usr/lib/sysusers.d/meshbot.conf usr/lib/tmpfiles.d/meshbot.conf \
  usr/share/doc/meshbot/copyright usr/share/doc/meshbot/changelog.Debian.gz \
  usr/share/doc/meshbot/README.md usr/share/doc/meshbot/operations.md
require_files "$dev" usr/include/meshbot/abi.h usr/include/meshbot/sdk.hpp \
  usr/lib/cmake/MeshBotSDK/MeshBotSDKConfig.cmake usr/lib/cmake/MeshBotSDK/MeshBotPlugin.cmake \
  usr/lib/cmake/MeshBotSDK/MeshBotSDKTargets.cmake \
  usr/share/meshbot/plugin-template/CMakeLists.txt usr/share/doc/meshbot-dev/copyright \
  usr/share/doc/meshbot-dev/changelog.Debian.gz
require_files "$sim" usr/bin/meshbot-sim usr/share/doc/meshbot-sim/copyright \
  usr/share/doc/meshbot-sim/changelog.Debian.gz
# The simulator and the SDK are not in the daemon's package, nor the daemon in theirs.
dpkg-deb -c "$meshbot" | grep -q 'usr/bin/meshbot-sim\|usr/include' && fail "meshbot holds sim or SDK files"
dpkg-deb -c "$sim" | grep -q 'usr/bin/meshbot$' && fail "meshbot-sim holds the daemon"

# ---- what is inside the files
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$meshbot" "$root"
for binary in usr/bin/meshbot usr/bin/meshbot-plugin "usr/$plugin_dir/echo/echo.so"; do
  file -b "$root/$binary" | grep -q ', stripped' || fail "/$binary is not stripped"
done
# The config is the example with the service's data_dir, after a header of comments.
expected=$(sed 's|^data_dir = "data"$|data_dir = "/var/lib/meshbot"|' "$source_dir/config/meshbot.example.toml")
packaged=$(sed '1,/^#$/d' "$root/etc/meshbot/meshbot.toml")
[ "$packaged" = "$expected" ] || {
  fail "/etc/meshbot/meshbot.toml is not the example with data_dir = \"/var/lib/meshbot\":"
  diff <(echo "$expected") <(echo "$packaged") >&2 || true
}
# ... and the packaged daemon accepts it, [plugins.echo] checked against the packaged plugin.
"$root/usr/bin/meshbot" --check-config "$root/etc/meshbot/meshbot.toml" >/dev/null ||
  fail "the packaged meshbot refuses the packaged /etc/meshbot/meshbot.toml"
"$root/usr/bin/meshbot" --version | grep -qxF "meshbot $version" || fail "meshbot --version is not $version"
zcat "$root/usr/share/doc/meshbot/changelog.Debian.gz" | head -1 | grep -qF "meshbot ($full_version)" ||
  fail "changelog.Debian.gz does not start with meshbot ($full_version)"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "packages ok: $(cd "$out_dir" && echo *.deb)"
