#!/bin/sh
# kiln vs PyTorch CPU on whole training steps and inference (docs/benchmarks.md):
#   bench/train_step.sh [--quick] [--repeat N] [--models resnet18,mobilenet_v2] [--steps N]
# resnet18 and mobilenet_v2 at width 0.5, 3x128x128, batch 32, 4 classes, AdamW;
# inference latency at batch 1 and throughput at batch 32; peak RSS of each
# process. Prints a table of ratios kiln / PyTorch (default and best).
# OPENBLAS_CORETYPE is unset (forcing a core type halves OpenBLAS's speed on
# AVX-512 CPUs); both sides get OMP_NUM_THREADS threads (default 2).
# Debian's python3-torch lives in /usr/bin/python3 (python3 on PATH may be another Python).
cd "$(dirname "$0")/.." || exit 1
unset OPENBLAS_CORETYPE
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# Threads that wait for work sleep instead of spinning (both sides use libgomp).
# On a machine shared with other jobs a spinning thread holds a core while its
# partner, which has the work, waits for one: with the default policy both
# kiln and PyTorch ran 2-6x slower at 2 threads than at 1 (docs/benchmarks.md).
# OMP_WAIT_POLICY=active bench/train_step.sh measures the default behaviour.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
# kiln's side is a CPU-only build (build-cpu/, configured and brought up to
# date here): a build with CUDA maps cuBLAS/cuDNN into every process, which
# adds about 150 MiB of resident memory that a CPU run never uses, and
# Debian's PyTorch is a CPU-only build too. --kiln PATH runs another binary.
case " $* " in
*" --kiln "*) ;;
*)
    if [ ! -f build-cpu/CMakeCache.txt ]; then
        cmake -S . -B build-cpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_WITH_CUDA=OFF >/dev/null || exit 1
    fi
    cmake --build build-cpu --target bench_train_step >/dev/null || exit 1
    set -- --kiln build-cpu/bench/bench_train_step "$@"
    ;;
esac
exec "$PYTHON" bench/peers/train_torch.py "$@"
