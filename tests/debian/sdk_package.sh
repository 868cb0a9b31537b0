#!/usr/bin/env bash
# meshbot-dev is all a plugin author needs besides a compiler: the plugin template it ships
# (/usr/share/meshbot/plugin-template) builds against the SDK it ships, with the package
# extracted into a scratch root instead of installed and no build tree of meshbot in sight.
#   sdk_package.sh <package dir> [c++ compiler]
set -euo pipefail

deb=$(find "$1" -maxdepth 1 -name 'meshbot-dev_*.deb' | head -1)
[ -n "$deb" ] || { echo "FAIL: no meshbot-dev_*.deb in $1" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/root"

args=(-S "$work/root/usr/share/meshbot/plugin-template" -B "$work/build"
      "-DCMAKE_PREFIX_PATH=$work/root/usr")
[ -z "${2:-}" ] || args+=("-DCMAKE_CXX_COMPILER=$2")
cmake "${args[@]}" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; echo "FAIL: configure" >&2; exit 1; }
# The SDK must come from the package, not from an install on this machine.
sdk_dir=$(sed -n 's/^MeshBotSDK_DIR:[A-Z]*=//p' "$work/build/CMakeCache.txt")
[ "$sdk_dir" = "$work/root/usr/lib/cmake/MeshBotSDK" ] ||
  { echo "FAIL: MeshBotSDK found in '$sdk_dir', not in the extracted package" >&2; exit 1; }
cmake --build "$work/build" -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "FAIL: build" >&2; exit 1; }
plugin="$work/build/plugins/hello"
if [ ! -f "$plugin/hello.so" ] || [ ! -f "$plugin/plugin.toml" ]; then
  echo "FAIL: no plugins/hello/{hello.so,plugin.toml}" >&2
  ls -R "$work/build/plugins" >&2 || true
  exit 1
fi
nm -D --defined-only "$plugin/hello.so" | grep -q ' T mb_plugin_entry_v1$' ||
  { echo "FAIL: hello.so does not export mb_plugin_entry_v1" >&2; exit 1; }
echo "the template builds against $(basename "$deb") alone"
