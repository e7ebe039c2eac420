#!/usr/bin/env bash
# install_test.sh BUILD PREFIX SOURCE: installs BUILD into PREFIX and checks the result.
set -euo pipefail
build=$1 prefix=$2 src=$3
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
bin=$prefix/bin/mailharness
data=$prefix/share/mailharness
for f in "$bin" "$data/specs/smtp.json" "$data/specs/imap.json" "$data/specs/pop3.json" \
	"$data/specs/schema.json" "$data/reports/schema.json" "$data/scripts/lib/mh/smtp.lua"; do
	[ -e "$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
for p in smtp imap pop3; do
	ls "$data/scripts/$p/"*.lua >/dev/null 2>&1 || { echo "FAIL: no $p suite installed"; exit 1; }
done
unset MAILHARNESS_DATADIR
used=$("$bin" --version | sed -n 's/^data: //p')
[ "$(cd "$used" && pwd -P)" = "$(cd "$data" && pwd -P)" ] ||
	{ echo "FAIL: installed binary uses '$used', not $data"; exit 1; }
n=$("$bin" list | tail -1 | awk '{print $1}')
m=$(MAILHARNESS_DATADIR=$src "$bin" list | tail -1 | awk '{print $1}')
[ "$n" = "$m" ] && [ "$n" -gt 0 ] || { echo "FAIL: installed list shows $n cases, source $m"; exit 1; }
"$bin" spec smtp | grep -q RCPT || { echo "FAIL: spec smtp from the install"; exit 1; }
echo "ok: $n cases, data in $used"
