#!/usr/bin/env bash
# ci/gen-docs.sh: regenerates docs/SUITES.md from the cases in scripts/ (`mailharness list
# --markdown`); the ctest docs_suites_uptodate fails until this was run after a suite changed.
# Builds the binary in build-docs unless MH_BIN names one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mh=${MH_BIN:-}
if [ -z "$mh" ]; then
	cmake -S "$root" -B "$root/build-docs" -DMH_BUILD_TESTS=OFF >/dev/null
	cmake --build "$root/build-docs" --target mailharness -j "$(nproc)" >/dev/null
	mh=$root/build-docs/mailharness
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
MAILHARNESS_DATADIR=$root "$mh" list --markdown >"$tmp"
chmod 644 "$tmp"
mv "$tmp" docs/SUITES.md
trap - EXIT
echo "docs/SUITES.md: $(grep -c '^| `' docs/SUITES.md) cases"
