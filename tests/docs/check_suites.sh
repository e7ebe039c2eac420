#!/usr/bin/env bash
# check_suites.sh MAILHARNESS SRCDIR OUT: regenerates the suite listing into OUT (the build dir)
# and fails, showing the difference, when docs/SUITES.md is stale.
set -euo pipefail
mh=$1 src=$2 out=$3
MAILHARNESS_DATADIR=$src "$mh" list --markdown >"$out"
if ! diff -u "$src/docs/SUITES.md" "$out"; then
	echo "docs/SUITES.md is stale: run ci/gen-docs.sh" >&2
	exit 1
fi
echo "docs/SUITES.md is up to date ($(grep -c '^| `' "$out") cases)"
