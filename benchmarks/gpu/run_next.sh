#!/usr/bin/env bash
# One GPU call for the figure issue 2 still lacks: Norse under torch.compile in the same run as
# the floor, spikesim and Norse eager (Linear(16384->16384) + LIF, batch 16, 500 steps). Two
# compiled forms: Norse's per-step LIFCell compiled and stepped in Python (compiles in seconds),
# then torch.compile over the whole 500-step forward (did not finish inside 90-160 s in either
# call of 2026-11-26, so it runs last with the most time). Also the GPU tests once more (the
# fused feed-forward chain of the engine changed since the last GPU call).
#
#   SPIKESIM_GPU_MACHINE=1 bash benchmarks/gpu/run_next.sh "$OUT"
#
# Hard limits (s): setup 30, tests 40, linear 480 -> at most ~550 s (one call's limit is 600).
# Logs: tests.log, linear.log.

source benchmarks/gpu/setup_env.sh "${1:?usage: run_next.sh OUTDIR}" next

say "gpu tests"
timeout 40 python3 -P -m pytest -p no:cacheprovider -q -m gpu -W ignore::DeprecationWarning \
    --continue-on-collection-errors --tb=short -rfE \
    tests/core/test_fused_triton.py tests/core/test_cuda.py tests/core/test_spike_matmul.py \
    tests/core/test_training.py >> "$OUT/tests.log" 2>&1
say "gpu tests done (rc $?)"

say "linear_lif"
{
    echo "+ python3 benchmarks/linear_lif.py --device cuda --repeat 3 --only floor,spikesim,norse,norse_cell_compiled,norse_compiled"
    timeout 480 python3 benchmarks/linear_lif.py --device cuda --repeat 3 \
        --only floor,spikesim,norse,norse_cell_compiled,norse_compiled
    echo "rc $?"
} > "$OUT/linear.log" 2>&1
say "linear_lif done"
say "end $(date -u '+%H:%M:%S UTC')"
