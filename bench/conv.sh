#!/bin/sh
# kiln conv2d vs PyTorch CPU, same layers, batch and threads (2):
#   bench/conv.sh [--batch N] [--quick] [--width W] [--only r18|mv2]
# (--width 0.5 --batch 32: the layers of bench/train_step.sh's training step)
# OPENBLAS_CORETYPE is unset: forcing a core type halves OpenBLAS's speed on AVX-512 CPUs.
# Debian's python3-torch lives in /usr/bin/python3 (python3 on PATH may be another Python).
cd "$(dirname "$0")/.." || exit 1
unset OPENBLAS_CORETYPE
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" bench/peers/conv_torch.py "$@"
