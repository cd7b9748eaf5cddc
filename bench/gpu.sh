#!/usr/bin/env bash
# The GPU check (sized for a few minutes on one modern GPU; not yet measured): the main job's training from JPEG files through fastai and through a
# plain PyTorch loop, and batch Grad-CAM throughput against inference, in bf16 mixed precision with channels_last.
#
#   bash bench/gpu.sh [WHEELS]    # WHEELS: a folder of wheels (lung_xai's and its dependencies'), installed offline
#                                 # into a fresh virtual environment; without it, the lung_xai on this Python is used.
# Writes gpu.json (rows with their baselines and ratios) to $OUT or the current folder, and prints the table.
set -euo pipefail
if [ -n "${1:-}" ]; then
  python3 -m venv /tmp/lung_xai_gpu && . /tmp/lung_xai_gpu/bin/activate
  pip install -q --no-index --find-links "$1" lung_xai
fi
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'bench/gpu.sh: no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export MPLBACKEND=Agg PYTHONUNBUFFERED=1
timeout 600 lung_xai_bench --only gpu --arch "${ARCH:-resnet34}" --size "${SIZE:-224}" --json "${OUT:-.}/gpu.json"
