#!/usr/bin/env bash
# GPU part "precision": spike products in fp32 / bf16 / fp8 (spikesim.spike_matmul), training
# accuracy and time per epoch at equal settings; figures go to benchmarks/linear_lif_precision.md.
# Budget: 60 s in total, start-up and CUDA warm-up included (one python process, timeout 52 s;
# the script itself stops further epochs after 38 s and the per-epoch lines are printed as they
# come, so a timeout still leaves the figures measured so far in the log).
# Needs gpu_data/t10k-images-idx3-ubyte.gz and gpu_data/t10k-labels-idx1-ubyte.gz.
# No `set -e`: a failing step must not stop the part.
OUT="${1:?usage: part_precision.sh OUT_DIR}"
LOG="$OUT/precision.log"
{
  echo "== part_precision start $(date -u +%Y-%m-%dT%H:%M:%SZ) host $(hostname)"
  timeout 10 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -2
  ls -l gpu_data/t10k-images-idx3-ubyte.gz gpu_data/t10k-labels-idx1-ubyte.gz 2>&1
} 2>&1 | tee -a "$LOG"

CMD=(python3 benchmarks/linear_lif_precision.py --device cuda --precisions fp32,bf16,fp8
     --hidden 8192 --layers 2 --batch-size 256 --steps 25 --epochs 2 --lr 0.001
     --data-dir gpu_data --seed 0 --threads 8 --budget-s 38)
echo "command: timeout 52 ${CMD[*]}" | tee -a "$LOG"
timeout 52 "${CMD[@]}" 2>&1 | tee -a "$LOG"
echo "== part_precision exit code ${PIPESTATUS[0]} (124: timed out) end $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$LOG"
