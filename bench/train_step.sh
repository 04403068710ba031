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
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" bench/peers/train_torch.py "$@"
