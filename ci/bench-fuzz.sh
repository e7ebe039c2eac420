#!/usr/bin/env bash
# ci/bench-fuzz.sh: benchmark of `mailharness fuzz`, not a test; prints figures.
#
#   ci/bench-fuzz.sh [RSS_SECONDS]      (default 300: the length of the peak-RSS campaign)
#
# 1. dialogues/s of fuzz against the fixture server (tests/fuzz, bugs switched off with
#    --no-bugs so that no timeout or restart weighs in) next to tests/fuzz/raw_client replaying
#    the same seed dialogue in a loop against the same server: the ratio;
# 2. the same with --coverage afl (fixture built with afl-clang-fast) and with --forkserver;
# 3. dialogues/s against the real Postfix (SMTP) and Dovecot (IMAP, POP3), started by the
#    fuzzer with --exec on the 12xxx ports (MH_SERVER_DIR=/tmp/mh-fuzz-servers), once with their
#    configuration as the tests use it and once with their anti-abuse delays off (a copy);
# 4. peak RSS of one campaign against the fixture (with its bugs) sampled every 3 s: min / max.
# Environment: MH_BIN (default: a release build in build-bench-fuzz), BENCH_S (seconds per
# rate measurement, default 20), SKIP_REAL=1 (no Postfix / Dovecot).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rss_s=${1:-300}
bench_s=${BENCH_S:-20}
build=$root/build-bench-fuzz
if [ -z "${MH_BIN:-}" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2
	cmake --build "$build" -j "$(nproc)" --target mailharness fuzz_fixture fuzz_raw_client \
		>/dev/null || exit 2
	cmake --build "$build" --target fuzz_fixture_afl >/dev/null 2>&1 || true
fi
mh=${MH_BIN:-$build/mailharness}
fx=$build/tests/fuzz/fuzz_fixture
fxafl=$build/tests/fuzz/fuzz_fixture_afl
raw=$build/tests/fuzz/fuzz_raw_client
seeds=$root/tests/fuzz/seeds
seed=$seeds/transaction.dlg
export MAILHARNESS_DATADIR=$root
work=$(mktemp -d /tmp/mh-bench-fuzz.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2).close()" \
			2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# rate OUT: execs_per_sec of this session from the worker's fuzzer_stats
rate() { sed -n 's/^execs_per_sec *: *//p' "$1/w0/fuzzer_stats"; }

printf '%-58s %s\n' "measurement" "figure"
line() { printf '%-58s %s\n' "$1" "$2"; }

# ---- 1. fixture: fuzz vs raw client -----------------------------------------------------------
port=$(free_port)
"$fx" --no-bugs --port "$port" >/dev/null 2>&1 &
pids+=($!)
wait_port "$port" || { echo "fixture did not start" >&2; exit 2; }
raw_out=$("$raw" --port "$port" --dialogue "$seed" --time "$bench_s")
raw_rate=$(echo "$raw_out" | sed 's/.*: \([0-9.]*\) dialogues\/s.*/\1/')
line "raw client, seed dialogue in a loop (dialogues/s)" "$raw_rate"
line "  replies/s" "$(echo "$raw_out" | sed 's/.* \([0-9.]*\) replies\/s.*/\1/')"

fuzz_run() { # NAME BIN EXTRA...: a --time run against the fixture started by --exec
	local name=$1 bin=$2 p
	shift 2
	p=$(free_port)
	"$mh" fuzz --target "smtp://127.0.0.1:$p" --out "$work/$name" --seeds "$seeds" \
		--time "$bench_s" --seed 1 --no-minimize --timeout 1000 \
		--exec "$bin --no-bugs --port $p" "$@" >"$work/$name.log" 2>&1
	rate "$work/$name"
}
# replies/s of a run: replies read over the time spent
rps() { python3 -c "
import re,sys
t=open('$1/w0/fuzzer_stats').read()
g=lambda k: float(re.search(r'^'+k+r' *: *([0-9.]+)', t, re.M).group(1))
print(f\"{g('mh_replies')/g('run_time'):.1f}\" if g('run_time') > 0 else 0)"; }
r=$(fuzz_run plain "$fx")
line "fuzz, black-box (dialogues/s)" "$r"
line "  ratio to the raw client (seed loop)" "$(python3 -c "print(f'{$r/$raw_rate:.2f}')")"
line "  replies/s" "$(rps "$work/plain")"
line "  dialogue time / wall time" "$(python3 -c "
import re; t=open('$work/plain/w0/fuzzer_stats').read()
g=lambda k: float(re.search(r'^'+k+r' *: *([0-9.]+)', t, re.M).group(1))
print(f\"{g('mh_exec_ms')/10/g('run_time'):.0f}% (the rest: mutation, oracles, supervision)\")")"
# the same dialogue for both: only the seed, mutated by one bit flip (MH_FUZZ_OPS)
mkdir -p "$work/one-seed"
cp "$seed" "$work/one-seed/"
p1=$(free_port)
MH_FUZZ_OPS=byte-flip "$mh" fuzz --target "smtp://127.0.0.1:$p1" --out "$work/same" \
	--seeds "$work/one-seed" --time "$bench_s" --seed 1 --no-minimize --timeout 1000 \
	--exec "$fx --no-bugs --port $p1" >"$work/same.log" 2>&1
r1=$(rate "$work/same")
line "fuzz, the seed dialogue with one bit flipped (dialogues/s)" "$r1"
line "  ratio to the raw client (same dialogue)" "$(python3 -c "print(f'{$r1/$raw_rate:.2f}')")"
line "  replies/s" "$(rps "$work/same")"
kill "${pids[-1]}"
if [ -x "$fxafl" ]; then
	# coverage feedback keeps inputs that loop more: longer dialogues, so replies/s matter too
	r=$(fuzz_run cov "$fxafl" --coverage afl)
	line "fuzz, --coverage afl (dialogues/s)" "$r"
	line "  ratio to the raw client (seed loop)" "$(python3 -c "print(f'{$r/$raw_rate:.2f}')")"
	line "  replies/s" "$(rps "$work/cov")"
	line "  edges found" "$(sed -n 's/^edges_found *: *//p' "$work/cov/w0/fuzzer_stats") of $(sed -n 's/^total_edges *: *//p' "$work/cov/w0/fuzzer_stats")"
	r=$(fuzz_run fsrv "$fxafl" --forkserver)
	line "fuzz, --forkserver (dialogues/s)" "$r"
	line "  replies/s" "$(rps "$work/fsrv")"
	r=$(fuzz_run fsrvcov "$fxafl" --forkserver --coverage afl)
	line "fuzz, --forkserver --coverage afl (dialogues/s)" "$r"
	line "  replies/s" "$(rps "$work/fsrvcov")"
else
	line "fuzz, --coverage afl / --forkserver" "skipped (no afl-clang-fast)"
fi

# ---- 3. real Postfix and Dovecot ------------------------------------------------------------
if [ "${SKIP_REAL:-0}" != 1 ]; then
	export MH_SERVER_DIR=/tmp/mh-fuzz-servers MH_SMTP_PORT=12025 MH_SMTPS_PORT=12465 \
		MH_SUBMISSION_PORT=12587 MH_IMAP_PORT=12143 MH_IMAPS_PORT=12993 MH_POP3_PORT=12110 \
		MH_POP3S_PORT=12995
	# the configurations, users and certificate come from the test servers' script; the
	# fuzzer then starts the servers itself, in the foreground
	bash ci/servers/start.sh >/dev/null 2>&1 && bash ci/servers/stop.sh >/dev/null 2>&1
	# shellcheck disable=SC1091
	. "$MH_SERVER_DIR/env"
	fast=$work/fast
	mkdir -p "$fast"
	cp -a "$MH_POSTFIX_CONF_DIR" "$fast/postfix"
	postconf -c "$fast/postfix" -e smtpd_error_sleep_time=0 smtpd_soft_error_limit=1000 \
		smtpd_hard_error_limit=1000 smtpd_junk_command_limit=1000
	cp "$MH_DOVECOT_CONF" "$fast/dovecot.conf"
	printf 'auth_failure_delay = 0\n' >>"$fast/dovecot.conf"
	real_run() { # NAME URL CMD
		"$mh" fuzz --target "$2" --out "$work/$1" --time "$bench_s" --seed 1 --no-minimize \
			--timeout 3000 --user alice --password-file "$MH_PASSFILE1" --exec "$3" \
			>"$work/$1.log" 2>&1
		echo "$(rate "$work/$1") ($(rps "$work/$1") replies/s)"
	}
	dov="dovecot -F -c $MH_DOVECOT_CONF"
	dovf="dovecot -F -c $fast/dovecot.conf"
	line "Postfix 3.7, smtp (dialogues/s)" \
		"$(real_run pf smtp://127.0.0.1:$MH_SMTP_PORT "$dov & exec postfix -c $MH_POSTFIX_CONF_DIR start-fg")"
	line "Postfix 3.7, smtp, error delays off (dialogues/s)" \
		"$(real_run pff smtp://127.0.0.1:$MH_SMTP_PORT "$dovf & exec postfix -c $fast/postfix start-fg")"
	line "Dovecot 2.3, imap (dialogues/s)" "$(real_run di imap://127.0.0.1:$MH_IMAP_PORT "exec $dov")"
	line "Dovecot 2.3, imap, auth_failure_delay 0 (dialogues/s)" \
		"$(real_run dif imap://127.0.0.1:$MH_IMAP_PORT "exec $dovf")"
	line "Dovecot 2.3, pop3 (dialogues/s)" "$(real_run dp pop3://127.0.0.1:$MH_POP3_PORT "exec $dov")"
	line "Dovecot 2.3, pop3, auth_failure_delay 0 (dialogues/s)" \
		"$(real_run dpf pop3://127.0.0.1:$MH_POP3_PORT "exec $dovf")"
fi

# ---- 4. peak RSS over a campaign ----------------------------------------------------------------
p=$(free_port)
"$mh" fuzz --target "smtp://127.0.0.1:$p" --out "$work/rss" --seeds "$seeds" --time "$rss_s" \
	--seed 1 --timeout 1000 --exec "$fx --port $p" >"$work/rss.log" 2>&1 &
fpid=$!
pids+=("$fpid")
samples=()
while kill -0 "$fpid" 2>/dev/null; do
	kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$fpid/status" 2>/dev/null)
	[ -n "$kb" ] && samples+=("$kb")
	sleep 3
done
wait "$fpid"
if [ "${#samples[@]}" -gt 0 ]; then
	sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
	line "campaign of ${rss_s} s against the fixture: RSS samples" "${#samples[@]} (every 3 s)"
	line "  RSS min / max (MB)" "$(( $(echo "$sorted" | head -1) / 1024 )) / $(( $(echo "$sorted" | tail -1) / 1024 ))"
	n=${#samples[@]}
	line "  RSS at 10% / 25% / 50% / 75% / 100% of the run (MB)" \
		"$((samples[n / 10] / 1024)) / $((samples[n / 4] / 1024)) / $((samples[n / 2] / 1024)) / $((samples[n * 3 / 4] / 1024)) / $((samples[n - 1] / 1024))"
	line "  peak RSS, VmHWM (MB)" "$(sed -n 's/^peak_rss_mb *: *//p' "$work/rss/w0/fuzzer_stats")"
	line "  dialogues, findings" "$(sed -n 's/^execs_done *: *//p' "$work/rss/w0/fuzzer_stats") dialogues; $(grep -o 'new: .*disconnects' "$work/rss.log")"
fi
echo "(work files in $work)"
