#!/usr/bin/env bash
# lintian on the packages the debian_packages fixture built: no errors. Warnings and the rest
# are printed (docs/operations.md says why those left are accepted).
#   lintian.sh <package dir>
set -euo pipefail

debs=("$1"/*.deb)
[ -f "${debs[0]}" ] || { echo "FAIL: no packages in $1" >&2; exit 1; }
# --fail-on error: the exit status says whether there was an error; every tag is shown.
status=0
output=$(lintian --fail-on error --display-level '>=info' --tag-display-limit 0 "${debs[@]}" 2>&1) || status=$?
echo "$output"
errors=$(grep -c '^E: ' <<<"$output" || true)
warnings=$(grep -c '^W: ' <<<"$output" || true)
echo "lintian: $errors error(s), $warnings warning(s)"
if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ]; then
  echo "FAIL: lintian reports errors (exit status $status)" >&2
  exit 1
fi
