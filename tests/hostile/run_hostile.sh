#!/usr/bin/env bash
# run_hostile.sh: one hostile-server test. Starts tests/hostile/hostile_server in MODE on
# loopback, runs `mailharness run` with cases/MODE.lua against it under /usr/bin/time -v, and
# has check_hostile.py judge the JSON report, exit status, wall time and max RSS.
#
# Two phases per mode (--phases, default "probe case"):
#   probe  every connection is hostile, so the harness's own probe connection meets it first;
#   case   the first connection (the probe) gets a normal dialogue, the case's connections
#          meet the hostile behaviour.
# Usage: run_hostile.sh --mailharness BIN --server BIN --mode MODE [--workdir DIR]
#                       [--phases "probe case"]
# Bounded: every wait has a deadline, mailharness runs under timeout(1), the server has a
# lifetime and is killed by pid on exit.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mh='' srv='' mode='' wd='' phases='probe case'
TIMEOUT_MS=3000
CASE_TIMEOUT_MS=8000

while [ $# -gt 0 ]; do
	case $1 in
	--mailharness) mh=$2; shift 2 ;;
	--server) srv=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--workdir) wd=$2; shift 2 ;;
	--phases) phases=$2; shift 2 ;;
	*) echo "run_hostile: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$mh" ] || [ -z "$srv" ] || [ -z "$mode" ]; then
	echo "usage: run_hostile.sh --mailharness BIN --server BIN --mode MODE [--workdir DIR] [--phases LIST]" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "run_hostile: /usr/bin/time is missing (Debian package 'time'; ci/deps.sh installs it)" >&2
	exit 1
fi
for tool in timeout python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "run_hostile: '$tool' is missing" >&2; exit 1; }
done
suite=$here/cases/$mode.lua
[ -f "$suite" ] || { echo "run_hostile: no suite $suite" >&2; exit 2; }
case $mode in
huge-literal | lying-literal-small) scheme=imap ;;
*) scheme=smtp ;;
esac
[ -n "$wd" ] || wd=$(mktemp -d "${TMPDIR:-/tmp}/mh-hostile.XXXXXX")
mkdir -p "$wd"
# the specs and the Lua library of this source tree, wherever the binary was built
export MAILHARNESS_DATADIR=${MAILHARNESS_DATADIR:-$root}

srv_pid=''
stop_server() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null
		for _ in $(seq 50); do # 5 s, then SIGKILL
			kill -0 "$srv_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
		srv_pid=''
	fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

status=0
for phase in $phases; do
	case $phase in
	probe) normal_first=0 ;;
	case) normal_first=1 ;;
	*) echo "run_hostile: unknown phase '$phase'" >&2; exit 2 ;;
	esac
	pd=$wd/$phase
	rm -rf "$pd"
	mkdir -p "$pd"
	"$srv" --mode "$mode" --port-file "$pd/port" --lifetime 60 --normal-first "$normal_first" \
		>"$pd/server.out" 2>"$pd/server.err" &
	srv_pid=$!
	for _ in $(seq 100); do
		[ -s "$pd/port" ] && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$pd/port" ]; then
		echo "hostile $mode/$phase: the server did not start" >&2
		cat "$pd/server.err" >&2
		exit 1
	fi
	port=$(cat "$pd/port")
	start=$(date +%s%N)
	timeout -k 5 60 /usr/bin/time -v -o "$pd/time.txt" \
		"$mh" run --target "$scheme://127.0.0.1:$port" --suite "$suite" \
		--timeout "$TIMEOUT_MS" --case-timeout "$CASE_TIMEOUT_MS" \
		--report "$pd/report.json" --junit "$pd/report.xml" --no-color \
		>"$pd/stdout" 2>"$pd/stderr"
	rc=$?
	end=$(date +%s%N)
	stop_server
	wall_ms=$(((end - start) / 1000000))
	rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$pd/time.txt")
	echo "hostile $mode/$phase: exit $rc, wall ${wall_ms} ms, max RSS ${rss_kb:-?} kB"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "  PROBLEM: mailharness did not finish within 60 s (killed by timeout)"
		status=1
		continue
	fi
	if ! python3 "$here/check_hostile.py" --mode "$mode" --phase "$phase" \
		--report "$pd/report.json" --exit "$rc" --wall-ms "$wall_ms" --rss-kb "${rss_kb:-0}" \
		--case-timeout-ms "$CASE_TIMEOUT_MS"; then
		status=1
		echo "  --- mailharness stderr ($pd/stderr):"
		tail -n 20 "$pd/stderr" | sed 's/^/  /'
	fi
done
exit $status
