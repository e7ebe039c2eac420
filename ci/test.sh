#!/usr/bin/env bash
# ci/test.sh: the test command. Installs what is missing, builds with ASan+UBSan, runs every unit,
# spec, report, golden, hostile-server, fuzz-replay and integration test (the integration tests
# start real Dovecot and Postfix on loopback high ports), then a short libFuzzer run under clang.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash ci/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
build=${MH_BUILD_DIR:-$root/build-ci}
echo "== format"
bash ci/check-format.sh

echo "== configure ($build, ASan+UBSan)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMH_SANITIZE=address,undefined \
	-DMH_BUILD_TESTS=ON >/dev/null
echo "== build"
cmake --build "$build" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export MH_SERVER_DIR=${MH_SERVER_DIR:-/tmp/mailharness-ci-servers}

echo "== ctest"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600

if command -v clang >/dev/null 2>&1; then
	echo "== libFuzzer (clang, short runs)"
	fbuild=${MH_FUZZ_BUILD_DIR:-$root/build-fuzz}
	CC=clang cmake -S "$root" -B "$fbuild" -DMH_BUILD_FUZZERS=ON -DMH_BUILD_TESTS=ON \
		-DMH_SANITIZE=address,undefined >/dev/null
	cmake --build "$fbuild" -j "$jobs"
	ctest --test-dir "$fbuild" --output-on-failure -R '^fuzz_run_' --timeout 300
fi
echo "== all tests passed"
