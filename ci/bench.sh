#!/usr/bin/env bash
# ci/bench.sh: benchmark, not a test. Runs the shipped suites against the local Dovecot and
# Postfix (ci/servers) and prints wall time, cases per second and peak RSS (/usr/bin/time -v)
# for --jobs 1 and --jobs 2, per protocol and for all three suites in one run. Builds a release
# binary in build-bench unless MH_BIN is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash ci/deps.sh >/dev/null
mh=${MH_BIN:-}
if [ -z "$mh" ]; then
	cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DMH_BUILD_TESTS=OFF >/dev/null
	cmake --build "$root/build-bench" -j "$(nproc)" >/dev/null
	mh=$root/build-bench/mailharness
fi
export MH_SERVER_DIR=${MH_SERVER_DIR:-/tmp/mailharness-servers}
started=0
if ! bash ci/servers/status.sh >/dev/null 2>&1; then
	bash ci/servers/start.sh --fresh >/dev/null
	started=1
fi
cleanup() { [ "$started" = 1 ] && bash ci/servers/stop.sh >/dev/null 2>&1 || true; }
trap cleanup EXIT
# shellcheck disable=SC1091
. "$MH_SERVER_DIR/env"
out=$(mktemp -d)
# The baselines of every protocol in one file, for the run of all three suites together.
python3 - "$out/baseline.json" ci/baseline/*.json <<'PY'
import json, sys
entries = []
for path in sys.argv[2:]:
    entries += json.load(open(path))["entries"]
json.dump({"baseline_version": 1, "entries": entries}, open(sys.argv[1], "w"), indent=2)
PY
smtp="smtp://127.0.0.1:$MH_SMTP_PORT?starttls"
imap="imap://127.0.0.1:$MH_IMAP_PORT?starttls"
pop3="pop3://127.0.0.1:$MH_POP3_PORT?starttls"

# measure LABEL JOBS BASELINE TARGET...: one run, one line of figures
measure() {
	local label=$1 jobs=$2 baseline=$3
	shift 3
	local targets=() bl=() t
	for t in "$@"; do targets+=(--target "$t"); done
	[ -f "$baseline" ] && bl=(--baseline "$baseline")
	local start end rss
	start=$(date +%s.%N)
	/usr/bin/time -v -o "$out/time" "$mh" run "${targets[@]}" --user "$MH_USER1" \
		--password-file "$MH_PASSFILE1" --param "rcpt=$MH_ADDR1" --jobs "$jobs" \
		"${bl[@]}" --report "$out/r.json" --no-color >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/time")
	python3 - "$out/r.json" "$start" "$end" "$rss" "$label" "$jobs" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n = len(doc["cases"])
wall = float(sys.argv[3]) - float(sys.argv[2])
v = {}
for c in doc["cases"]:
    v[c["verdict"]] = v.get(c["verdict"], 0) + 1
print(f"{sys.argv[5]:<8} {sys.argv[6]:<5} {n:>6} {wall:>9.2f} {n / wall:>9.1f} {int(sys.argv[4]) / 1024:>8.1f}MB {v}")
PY
}

printf '%-8s %-5s %6s %9s %9s %10s %s\n' proto jobs cases wall_s cases/s peak_rss verdicts
for proto in smtp imap pop3; do
	for jobs in 1 2; do
		measure "$proto" "$jobs" "ci/baseline/$proto.json" "${!proto}"
	done
done
# all three suites in one process, as a user runs them against a whole mail server
for jobs in 1 2; do
	measure all "$jobs" "$out/baseline.json" "$smtp" "$imap" "$pop3"
done
rm -rf "$out"
