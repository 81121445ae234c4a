#!/usr/bin/env bash
# One GPU call for the figure issue 2 still lacks: Norse under torch.compile at the anchor size
# (Linear(16384->16384) + LIF, batch 16, 500 steps), beside the matrix products alone (floor),
# spikesim, Norse eager and Norse's compiled per-step cell.
#
#   SPIKESIM_GPU_MACHINE=1 bash benchmarks/gpu/run_next.sh "$OUT"
#
# Order by risk: torch.compile over the whole 500-step forward is compiled first, in its own
# process beside the floor, with most of the call's time. Its compile did not finish inside the
# 90-160 s part limits of both H200 calls of 2026-11-26; on the 2-core CPU sandbox the same
# compile (N = 256) took 63 s at T = 100, 183 s at T = 250 and 349 s at T = 500 (first call,
# cold inductor cache; about 3/4 of it inductor code generation, the rest Dynamo and AOT
# tracing). Then the other variants in a second process, then the GPU tests with what is left.
#
# Hard limits (s): setup 30, compiled Norse 420, the rest until 560 s, tests until 585 s
# (one call's limit is 600). Logs: tests.log, linear_compiled.log, linear.log.

source benchmarks/gpu/setup_env.sh "${1:?usage: run_next.sh OUTDIR}" next

left() { echo $(($1 - (SECONDS - T0))); }  # seconds until mark $1 (counted from the start)

say "linear_lif: floor + norse_compiled"
{
    echo "+ python3 benchmarks/linear_lif.py --device cuda --repeat 3 --only floor,norse_compiled"
    timeout 420 python3 benchmarks/linear_lif.py --device cuda --repeat 3 \
        --only floor,norse_compiled
    echo "rc $?"
} > "$OUT/linear_compiled.log" 2>&1
say "norse_compiled done: $(grep -E '^# norse_compiled' "$OUT/linear_compiled.log" || echo 'no row')"

say "linear_lif: floor, spikesim, norse, norse_cell_compiled ($(left 560) s)"
{
    echo "+ python3 benchmarks/linear_lif.py --device cuda --repeat 3 --only floor,spikesim,norse,norse_cell_compiled"
    timeout "$(left 560)" python3 benchmarks/linear_lif.py --device cuda --repeat 3 \
        --only floor,spikesim,norse,norse_cell_compiled
    echo "rc $?"
} > "$OUT/linear.log" 2>&1
say "linear_lif done"

if [ "$(left 585)" -gt 10 ]; then
    say "gpu tests ($(left 585) s)"
    timeout "$(left 585)" python3 -P -m pytest -p no:cacheprovider -q -m gpu \
        -W ignore::DeprecationWarning --continue-on-collection-errors --tb=short -rfE \
        tests/core/test_fused_triton.py tests/core/test_cuda.py tests/core/test_spike_matmul.py \
        tests/core/test_training.py >> "$OUT/tests.log" 2>&1
    say "gpu tests done (rc $?)"
fi
say "end $(date -u '+%H:%M:%S UTC')"
