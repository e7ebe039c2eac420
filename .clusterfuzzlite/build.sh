#!/bin/bash -eu
# .clusterfuzzlite/build.sh: builds mailharness's in-process fuzz targets (fuzz/fuzz_*.c: the reply
# parsers, the spec loader, the dialogue parser) the OSS-Fuzz / ClusterFuzzLite way: compiler and
# flags from $CC and $CFLAGS, the fuzzing engine from $LIB_FUZZING_ENGINE. Each target goes to
# $OUT/<target>, its seeds (corpus/<target>/) to $OUT/<target>_seed_corpus.zip.
# Runs locally too: SRC=/tmp/x (holding a copy at $SRC/mailharness) OUT=... WORK=... CC=clang
# CFLAGS="-fsanitize=address,fuzzer-no-link" LIB_FUZZING_ENGINE=-fsanitize=fuzzer .clusterfuzzlite/build.sh

src=$SRC/mailharness
build=$WORK/mailharness-build
mkdir -p "$OUT"

cmake -S "$src" -B "$build" \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
	-DMH_BUILD_FUZZERS=ON -DMH_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
	-DMH_BUILD_TESTS=OFF -DMH_BUILD_AFL_MUTATOR=OFF

# the engine-linked targets only (<target>_libfuzzer), not the CLI or the standalone drivers
targets=$(cmake --build "$build" --target help | sed -n 's/^\.\.\. \(.*_libfuzzer\)$/\1/p')
if [ -z "$targets" ]; then
	echo "build.sh: no fuzz targets configured (is \$CC clang, or MH_FUZZ_ENGINE set?)" >&2
	exit 1
fi
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j"$(nproc)" --target $targets

for t in $targets; do
	name=${t%_libfuzzer}
	cp "$build/fuzz/$t" "$OUT/$name"
	if [ -d "$src/corpus/$name" ]; then
		rm -f "$OUT/${name}_seed_corpus.zip"
		(cd "$src/corpus/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
	fi
	echo "build.sh: $OUT/$name"
done
