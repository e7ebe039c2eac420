#!/usr/bin/env bash
# run_fuzz_test.sh: one `mailharness fuzz` test against the planted-bug fixture server
# (tests/fuzz/fixture_server.c). Every mode is bounded by a dialogue count (--runs) or by
# timeout(1); servers started here are killed by pid (their pid files), never by name.
#
# Usage: run_fuzz_test.sh --mode MODE --mailharness BIN --fixture BIN --seeds DIR --workdir DIR
#                         [--fixture-asan BIN] [--fixture-afl BIN] [--fixture-fakefs BIN]
# Modes:
#   find-all        all three bugs found within --runs, saved, minimized, each replays (exit 3)
#   detach          the crash is in an orphaned per-connection child: seen by the subreaper
#                   alone (kernel process events switched off)
#   asan            fixture built with ASan: the report is parsed, the finding has a stack hash
#   kill9           kill -9 mid-run loses no saved finding; the same --out resumes, ids go on
#   coverage        --coverage afl against the afl-clang-fast fixture: edges found > 0
#   forkserver      --forkserver, AFL++ 4.04c runtime (old handshake) and a 4.20+ handshake
#   guard           a TEST-NET target is refused with exit 2 before any connect
#   whatsup         afl-whatsup reads the worker's fuzzer_stats while it runs
#   jobs            --jobs 2: two workers, own directories, queue import between them
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode='' mh='' fx='' fx_asan='' fx_afl='' fx_fake='' seeds='' wd=''
while [ $# -gt 0 ]; do
	case $1 in
	--mode) mode=$2; shift 2 ;;
	--mailharness) mh=$2; shift 2 ;;
	--fixture) fx=$2; shift 2 ;;
	--fixture-asan) fx_asan=$2; shift 2 ;;
	--fixture-afl) fx_afl=$2; shift 2 ;;
	--fixture-fakefs) fx_fake=$2; shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	--workdir) wd=$2; shift 2 ;;
	*) echo "run_fuzz_test: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$mode" ] && [ -n "$mh" ] && [ -n "$wd" ] || { sed -n '5,6p' "$0" >&2; exit 2; }
export MAILHARNESS_DATADIR=${MAILHARNESS_DATADIR:-$root}
rm -rf "$wd"
mkdir -p "$wd"
cd "$wd" || exit 2

fail() {
	echo "FAIL ($mode): $*" >&2
	exit 1
}
note() { echo "--- $*"; }

# A free loopback port (and the next one free as well when $1 = 2).
free_port() {
	python3 - "${1:-1}" <<'EOF'
import socket, sys
n = int(sys.argv[1])
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    ok = True
    for k in range(1, n):
        t = socket.socket()
        try: t.bind(("127.0.0.1", p + k))
        except OSError: ok = False
        t.close()
    if ok and p + n < 65535:
        print(p); break
EOF
}

# Fixture servers we start ourselves (for replays): killed by pid at exit.
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
	for f in "$wd"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}
trap cleanup EXIT

start_fixture() { # BIN PORT PIDFILE
	"$1" --port "$2" --pidfile "$3" >"$wd/fixture-$2.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$2),0.2).close()" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "fixture on port $2 did not come up"
}

# fuzz OUT PORT BIN EXTRA... : runs the fuzzer with the fixture started by --exec.
fuzz() {
	local out=$1 port=$2 bin=$3
	shift 3
	timeout 900 "$mh" fuzz --target "smtp://127.0.0.1:$port" --out "$out" \
		--exec "$bin --port $port" --seeds "$seeds" --timeout 400 "$@"
}

finding_files() { # DIR: the finding files (not .txt reports)
	ls -1 "$1" 2>/dev/null | grep -v '\.txt$' | sed "s|^|$1/|"
}

check_replays() { # OUT: every crash, hang and violation replays with exit 3
	local out=$1 port n=0
	# supervised (--exec): a crash in a per-connection child is seen as such
	for f in $(finding_files "$out/w0/crashes") $(finding_files "$out/w0/hangs") \
		$(finding_files "$out/w0/violations"); do
		port=$(free_port)
		"$mh" replay "$f" --target "smtp://127.0.0.1:$port" --exec "$fx --port {port}" \
			--timeout 500 >"$wd/replay.out" 2>&1
		rc=$?
		[ "$rc" = 3 ] || { cat "$wd/replay.out" >&2; fail "replay --exec of $f exited $rc, expected 3"; }
		case $f in
		*/crashes/*)
			grep -q '^crash: server process [0-9]* killed by signal 6 (SIGABRT)' "$wd/replay.out" ||
				{ cat "$wd/replay.out" >&2; fail "replay --exec of $f: no SIGABRT of a server process"; }
			;;
		esac
		n=$((n + 1))
	done
	# unsupervised, against a server started here: the hang and the violation reproduce; the
	# crash shows as the connection lost with replies owed (the replies still owed after the
	# last record are read)
	port=$(free_port)
	start_fixture "$fx" "$port" "$wd/replay.pid"
	for f in $(finding_files "$out/w0/crashes") $(finding_files "$out/w0/hangs") \
		$(finding_files "$out/w0/violations"); do
		"$mh" replay "$f" --target "smtp://127.0.0.1:$port" --timeout 500 >"$wd/replay.out" 2>&1
		rc=$?
		[ "$rc" = 3 ] || { cat "$wd/replay.out" >&2; fail "replay of $f exited $rc, expected 3"; }
		n=$((n + 1))
	done
	note "$n replays, each reproduces (exit 3)"
}

# The seeds plus one dialogue that reaches the memory bug directly: for the modes that test how
# a crash is seen (not whether fuzzing finds it, which find-all does).
crash_seeds() {
	mkdir -p crash-seeds
	cp "$seeds"/*.dlg crash-seeds/
	{
		printf '# mailharness dialogue 1\nproto smtp\n'
		printf 'send HELO seed.example\\r\\n\nreply 250\n'
		printf 'send MAIL FROM:<a@seed.example>\\r\\n\nreply 250\n'
		printf 'send RCPT TO:<%s@fixture.example>\\r\\n\nreply 250\n' "$(printf 'A%.0s' $(seq 300))"
	} >crash-seeds/rcpt-overflow.dlg
	echo "$wd/crash-seeds"
}

case $mode in
find-all)
	fuzz out "$(free_port)" "$fx" --runs 20000 --seed 1 >fuzz.out 2>&1
	rc=$?
	cat fuzz.out
	[ "$rc" = 3 ] || fail "fuzz exited $rc, expected 3 (a crash or hang found)"
	c=$(grep -l '^# dedupe: crash:signal:6:RCPT:' $(finding_files out/w0/crashes) | head -1)
	h=$(grep -l '^# dedupe: hang:VRFY' $(finding_files out/w0/hangs) | head -1)
	[ -n "$c" ] || fail "no crash (SIGABRT at RCPT) saved"
	[ -n "$h" ] || fail "no hang at VRFY saved"
	grep -q '^# signal: 6 (SIGABRT)' "$c" || fail "crash without SIGABRT: $c"
	note "crashes: $(finding_files out/w0/crashes | wc -l), hangs: $(finding_files out/w0/hangs | wc -l), violations: $(finding_files out/w0/violations | wc -l)"
	v=$(grep -l 'RCPT is not allowed in state .*answered 250' $(finding_files out/w0/violations) | head -1)
	[ -n "$v" ] || fail "no RCPT-before-MAIL violation saved"
	for f in "$c" "$h" "$v"; do
		grep -q '^# minimized: ' "$f" || fail "not minimized: $f"
		note "$(basename "$f"): $(grep '^# minimized' "$f")"
	done
	# how many dialogues each took (the file name's execs: field)
	for f in "$c" "$h" "$v"; do
		echo "FOUND $(basename "$(dirname "$f")") after $(basename "$f" | sed 's/.*execs:\([0-9]*\).*/\1/') dialogues"
	done
	check_replays out
	;;
detach)
	MH_FUZZ_NO_PROC_EVENTS=1 timeout 900 "$mh" fuzz --target "smtp://127.0.0.1:$(free_port)" \
		--out out --seeds "$(crash_seeds)" --timeout 400 --runs 300 --seed 1 --no-minimize \
		--exec "$fx --detach --port \$MH_FUZZ_PORT" >fuzz.out 2>&1
	rc=$?
	cat fuzz.out
	grep -q 'process events unavailable' fuzz.out || fail "process events were not switched off"
	c=$(finding_files out/w0/crashes | head -1)
	[ -n "$c" ] || fail "the crash of an orphaned per-connection child was not seen"
	grep -q '^# signal: 6' "$c" || fail "crash without the child's signal: $c"
	[ "$rc" = 3 ] || fail "fuzz exited $rc, expected 3"
	;;
asan)
	[ -n "$fx_asan" ] || fail "--fixture-asan needed"
	seeds=$(crash_seeds)
	# --no-minimize: each run that crashes costs a symbolized report (find-all minimizes)
	fuzz out "$(free_port)" "$fx_asan" --runs 600 --seed 1 --no-minimize >fuzz.out 2>&1
	rc=$?
	cat fuzz.out
	c=$(finding_files out/w0/crashes | head -1)
	[ -n "$c" ] || fail "no crash saved"
	grep -q '^# stack-hash: [0-9a-f]\{16\}$' "$c" || fail "no stack hash in $c"
	grep -q '^# summary: SUMMARY: AddressSanitizer: stack-buffer-overflow' "$c" ||
		fail "no ASan summary in $c"
	grep -q '^# frames: accept_rcpt ' "$c" || fail "top project frame is not accept_rcpt in $c"
	grep -q 'ERROR: AddressSanitizer' "$c.txt" || fail "no report next to $c"
	grep -q '^# dedupe: crash:stack:' "$c" || fail "not deduplicated by stack hash: $c"
	[ "$(finding_files out/w0/crashes | wc -l)" = 1 ] || fail "the one bug gave several crash findings"
	[ "$rc" = 3 ] || fail "fuzz exited $rc, expected 3"
	# minimize --exec: the crash oracle through the supervisor (a per-connection child dies;
	# the plain build: every crashing candidate of the ASan build costs a symbolized report)
	"$mh" minimize "$seeds/rcpt-overflow.dlg" --target "smtp://127.0.0.1:$(free_port)" \
		--exec "$fx --port {port}" --oracle crash --timeout 500 -o min.dlg >min.out 2>&1 ||
		{ cat min.out >&2; fail "minimize --exec --oracle crash exited $?"; }
	cat min.out
	grep -q '^minimize: the original run: server process [0-9]* killed by signal 6' min.out ||
		fail "minimize did not see the original's crash"
	[ "$(wc -c <min.dlg)" -lt "$(wc -c <"$seeds/rcpt-overflow.dlg")" ] ||
		fail "nothing removed: $(cat min.dlg)"
	"$mh" replay min.dlg --target "smtp://127.0.0.1:$(free_port)" --exec "$fx_asan --port {port}" \
		--timeout 500 >replay.out 2>&1
	rc=$?
	cat replay.out
	[ "$rc" = 3 ] || fail "replay --exec of the minimized dialogue exited $rc, expected 3"
	grep -q '^frames: accept_rcpt ' replay.out || fail "replay --exec shows no ASan frames"
	;;
kill9)
	port=$(free_port)
	# not under timeout(1): kill -9 must hit the fuzzer itself (--runs bounds it)
	"$mh" fuzz --target "smtp://127.0.0.1:$port" --out out --seeds "$seeds" \
		--timeout 400 --runs 100000 --seed 2 --no-minimize \
		--exec "$fx --port $port --pidfile $wd/server.pid" >fuzz1.out 2>&1 &
	fpid=$!
	pids+=("$fpid")
	for _ in $(seq 1200); do # up to 120 s for two findings
		[ "$(ls out/w0/crashes out/w0/hangs out/w0/violations 2>/dev/null | grep -c '^id:')" -ge 2 ] && break
		sleep 0.1
	done
	"$mh" fuzz --target "smtp://127.0.0.1:$port" --out out --seeds "$seeds" --runs 1 \
		>second.out 2>&1 && fail "a second fuzzer was allowed on the same directory"
	grep -q 'in use by another mailharness fuzz' second.out || fail "no lock message"
	sleep 0.3
	kill -9 "$fpid"
	wait "$fpid" 2>/dev/null
	[ -f "$wd/server.pid" ] && kill -9 "$(cat "$wd/server.pid")" 2>/dev/null
	before=$(cd out/w0 && ls crashes hangs violations | grep '^id:' | sort)
	[ -n "$before" ] || fail "nothing saved before the kill"
	note "saved before kill -9: $(echo "$before" | wc -l)"
	for f in $(cd out/w0 && for d in crashes hangs violations; do finding_files $d; done); do
		tail -c 1 "out/w0/$f" | od -c | grep -q '\\n' || fail "$f is cut short"
		"$mh" replay "out/w0/$f" --to-lua >/dev/null 2>&1 || fail "$f does not parse"
	done
	ls -a out/w0/* | grep -q '^\.tmp\.' && note "(temp files left by the kill: removed on resume)"
	max_before=$(echo "$before" | sed 's/^id:\([0-9]*\).*/\1/' | sort -n | tail -1)
	q_before=$(ls out/w0/queue | wc -l)
	port=$(free_port)
	fuzz out "$port" "$fx" --runs 1500 --seed 3 --no-minimize >fuzz2.out 2>&1
	cat fuzz2.out
	grep -q 'resuming' fuzz2.out || fail "the second run did not resume"
	for f in $before; do
		[ -f "out/w0/crashes/$f" ] || [ -f "out/w0/hangs/$f" ] || [ -f "out/w0/violations/$f" ] ||
			fail "$f lost"
	done
	ls -a out/w0/queue out/w0/crashes | grep -q '^\.tmp\.' && fail "temp files not cleaned"
	q_after=$(ls out/w0/queue | wc -l)
	[ "$q_after" -ge "$q_before" ] || fail "queue shrank ($q_before -> $q_after)"
	new=$(ls out/w0/queue | sed 's/^id:\([0-9]*\).*/\1/' | sort -n | uniq -d)
	[ -z "$new" ] || fail "queue ids reused: $new"
	after=$(cd out/w0 && ls crashes hangs violations | grep '^id:' | sort)
	added=$(comm -13 <(echo "$before") <(echo "$after"))
	note "findings after resume: $(echo "$after" | wc -l) (ids before: up to $max_before)"
	grep -q '^execs_done' out/w0/fuzzer_stats || fail "no fuzzer_stats"
	;;
coverage)
	[ -n "$fx_afl" ] || fail "--fixture-afl needed"
	fuzz out "$(free_port)" "$fx_afl" --runs 1500 --seed 1 --coverage afl >fuzz.out 2>&1
	cat fuzz.out
	edges=$(sed -n 's/^edges_found *: *//p' out/w0/fuzzer_stats)
	total=$(sed -n 's/^total_edges *: *//p' out/w0/fuzzer_stats)
	[ -n "$edges" ] && [ "$edges" -gt 0 ] || fail "no edges found"
	[ "$total" -gt 0 ] || fail "no map size"
	ls out/w0/queue | grep -q ',+cov' || fail "no queue entry kept for new edges"
	[ -s out/w0/fuzz_bitmap ] || fail "no fuzz_bitmap"
	note "edges found: $edges of a $total-byte map"
	;;
forkserver)
	[ -n "$fx_afl" ] && [ -n "$fx_fake" ] || fail "--fixture-afl and --fixture-fakefs needed"
	# crash seeds: this tests that a crash is seen through the forkserver (find-all tests that
	# fuzzing finds it)
	seeds=$(crash_seeds)
	fuzz out "$(free_port)" "$fx_afl" --runs 2000 --seed 1 --forkserver >fuzz.out 2>&1
	rc=$?
	cat fuzz.out
	grep -q 'forkserver: AFL++ <= 4.1x handshake' fuzz.out || fail "4.04c handshake not reported"
	finding_files out/w0/crashes | grep -q 'sig:06' || fail "no crash through the forkserver"
	[ "$rc" = 3 ] || fail "fuzz exited $rc, expected 3"
	fuzz out2 "$(free_port)" "$fx_fake" --runs 2000 --seed 1 --forkserver >fuzz2.out 2>&1
	rc=$?
	cat fuzz2.out
	grep -q 'forkserver: AFL++ 4.20+ handshake v1 (options 0x00000801), map size 65536' fuzz2.out ||
		fail "4.20+ handshake not reported"
	finding_files out2/w0/crashes | grep -q 'sig:06' || fail "no crash through the new forkserver"
	[ "$rc" = 3 ] || fail "fuzz exited $rc, expected 3"
	;;
guard)
	start=$(date +%s%N)
	if command -v strace >/dev/null 2>&1; then
		ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=connect -o strace.out timeout 20 "$mh" fuzz \
			--target smtp://192.0.2.1:25 --out out >guard.out 2>&1
		rc=$?
		grep -q '192\.0\.2\.1' strace.out && fail "a connect to 192.0.2.1 was attempted"
	else
		timeout 20 "$mh" fuzz --target smtp://192.0.2.1:25 --out out >guard.out 2>&1
		rc=$?
	fi
	cat guard.out
	[ "$rc" = 2 ] || fail "exit $rc, expected 2"
	grep -q 'not a loopback address' guard.out || fail "no refusal message"
	[ ! -e out ] || fail "the output directory was created"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$elapsed" -lt 5000 ] || fail "took $elapsed ms (a connect attempt?)"
	;;
whatsup)
	command -v afl-whatsup >/dev/null || { echo "SKIP: afl-whatsup not installed"; exit 0; }
	port=$(free_port)
	timeout 120 "$mh" fuzz --target "smtp://127.0.0.1:$port" --out camp --seeds "$seeds" \
		--timeout 400 --time 15 --seed 1 --exec "$fx --port $port" >fuzz.out 2>&1 &
	fpid=$!
	for _ in $(seq 100); do
		[ -f camp/w0/fuzzer_stats ] && break
		sleep 0.1
	done
	sleep 1.5
	afl-whatsup camp >whatsup.out 2>whatsup.err
	afl-whatsup -s camp >whatsup-s.out 2>>whatsup.err
	wait "$fpid"
	cat whatsup.out whatsup-s.out
	# afl-whatsup 4.04c's own `tput setaf 9 1 1` fails with Debian's ncurses: not ours
	grep -v '^tput: ' whatsup.err >whatsup.err2
	[ -s whatsup.err2 ] && { cat whatsup.err2 >&2; fail "afl-whatsup complained"; }
	grep -q 'Fuzzers alive : 1' whatsup-s.out || fail "afl-whatsup does not see the live worker"
	grep -q '>>> w0 ' whatsup.out || fail "afl-whatsup does not show w0"
	grep -q 'Total execs' whatsup-s.out || fail "no totals"
	grep -q '^# relative_time' camp/w0/plot_data || fail "no plot_data header"
	[ "$(wc -l <camp/w0/plot_data)" -ge 2 ] || fail "no plot_data line"
	;;
jobs)
	port=$(free_port 2)
	timeout 120 "$mh" fuzz --target "smtp://127.0.0.1:$port" --out camp --seeds "$seeds" \
		--timeout 400 --time 12 --seed 1 --jobs 2 --sync-every 2 --no-minimize \
		--exec "$fx --port {port}" >fuzz.out 2>&1
	rc=$?
	cat fuzz.out
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "fuzz exited $rc"
	for w in w0 w1; do
		[ -f camp/$w/fuzzer_stats ] || fail "no camp/$w/fuzzer_stats"
	done
	grep -q "mh_target *: smtp://127.0.0.1:$((port + 1))" camp/w1/fuzzer_stats ||
		fail "w1 did not fuzz its own port"
	imported=$(cat camp/w0/fuzzer_stats camp/w1/fuzzer_stats | sed -n 's/^corpus_imported *: *//p' |
		awk '{s += $1} END {print s}')
	[ "$imported" -gt 0 ] || fail "no queue entry imported between the workers"
	ls camp/w0/queue camp/w1/queue | grep -q ',sync:w' || fail "no sync: entries"
	note "imported between workers: $imported"
	;;
*)
	fail "unknown mode"
	;;
esac
echo "PASS ($mode)"
