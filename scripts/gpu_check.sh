#!/usr/bin/env bash
# GPU check (docs/performance.md): the suite's training and retrieval speed on one GPU, written to
# $OUT/gpu_check.{json,md} (or --out). On the device machine, with .whl/ carried (make gpu-wheels):
#   bash scripts/gpu_check.sh
# The CPU dry run that CI keeps working: bash scripts/gpu_check.sh --device cpu --tiny --out /tmp/x
# PYTHON names the interpreter (default python3: on the GPU machines, the one that holds PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" scripts/gpu_check.py "$@"
