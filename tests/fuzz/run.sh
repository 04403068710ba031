#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan, build tree build-fuzz)
# and fuzzes one of them:  tests/fuzz/run.sh TARGET SECONDS
#   TARGET: safetensors | image | csv | config       SECONDS: how long (e.g. 30, 600)
# Seeds are tests/fuzz/corpus/TARGET (read only); new inputs go to
# build-fuzz/corpus/TARGET, crashes to build-fuzz/artifacts/TARGET/. Exit
# status non-zero on any crash, hang (> 30 s per input), leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tests/fuzz/run.sh safetensors|image|csv|config SECONDS}
seconds=${2:?usage: tests/fuzz/run.sh TARGET SECONDS}
cxx=${KILN_FUZZ_CXX:-clang++-14}
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DKILN_FUZZ=ON -DKILN_WITH_CUDA=OFF \
        -DKILN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
fi
cmake --build build-fuzz --target "fuzz_$target" -- -j"${KILN_FUZZ_JOBS:-2}" >/dev/null
mkdir -p "build-fuzz/corpus/$target" "build-fuzz/artifacts/$target"
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 \
  -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target/" \
  "build-fuzz/corpus/$target" "tests/fuzz/corpus/$target"
