#!/bin/sh
# run_afl_custom.sh AFL_FUZZ LIBRARY TARGET SEEDS WORKDIR: runs afl-fuzz for 8 seconds with only the
# mailharness custom mutator on the desocketed SMTP target, then checks from fuzzer_stats that it
# ran (execs_done > 100) and from the log and the queue that the custom mutator did the work.
# Fails, with the reason, when afl-fuzz or the pieces are missing: CI installs afl++.
set -u
afl=$1 lib=$2 target=$3 seeds=$4 work=$5

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -n "$afl" ] && [ -x "$afl" ] || fail "afl-fuzz not found: install afl++ (apt-get install afl++) and re-run cmake"
[ -n "$lib" ] && [ -f "$lib" ] || fail "custom mutator library not built ('$lib'): configure with -DMH_BUILD_AFL_MUTATOR=ON"
[ -n "$target" ] && [ -x "$target" ] || fail "afl_smtp_target not built ('$target'): afl-clang-fast was missing when cmake ran"

rm -rf "$work"
mkdir -p "$work"
# The target is not sanitized; the caller's ASAN_OPTIONS (ci/test.sh sets some) would make
# afl-fuzz refuse to start ("Custom ASAN_OPTIONS set without symbolize=0").
unset ASAN_OPTIONS UBSAN_OPTIONS MSAN_OPTIONS
AFL_CUSTOM_MUTATOR_LIBRARY=$lib AFL_CUSTOM_MUTATOR_ONLY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 \
	AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
	MAILHARNESS_PROTO=smtp \
	timeout 40 "$afl" -V 8 -i "$seeds" -o "$work/out" -- "$target" @@ >"$work/afl.log" 2>&1
rc=$?
stats=$work/out/default/fuzzer_stats
if [ ! -f "$stats" ]; then
	tail -n 30 "$work/afl.log" >&2
	fail "afl-fuzz wrote no fuzzer_stats (exit status $rc; log: $work/afl.log)"
fi

stat() { sed -n "s/^$1 *: *//p" "$stats" | head -n 1; }
execs=$(stat execs_done)
echo "afl-fuzz exit $rc: execs_done=$execs execs_per_sec=$(stat execs_per_sec) corpus_count=$(stat corpus_count) run_time=$(stat run_time)"

[ -n "$execs" ] && [ "$execs" -gt 100 ] || fail "execs_done is '$execs', want more than 100 (log: $work/afl.log)"
grep -q "Custom mutator.*installed successfully" "$work/afl.log" ||
	fail "afl-fuzz did not load the custom mutator (log: $work/afl.log)"
# queue entries afl-fuzz found through the mutator carry its description ("mh:<operators>")
found=$(ls "$work/out/default/queue" | grep -c 'mh:')
echo "queue entries from the custom mutator: $found, e.g. $(ls "$work/out/default/queue" | grep 'mh:' | head -n 1)"
[ "$found" -gt 0 ] || fail "no queue entry names the custom mutator's operators (mh:...)"
echo "PASS"
