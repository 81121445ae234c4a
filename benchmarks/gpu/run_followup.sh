#!/usr/bin/env bash
# Second GPU call of a session, after run_all.sh: the GPU tests again after their fixes (full
# tracebacks), the Linear+LIF variants that changed or failed (spikesim without its step loop,
# snnTorch on the device, Norse under torch.compile), the 1M-neuron scale row (whose build
# timed out before the faster synapse sort), and the adding task at T = 700 with a budget that
# lets the wRNN reach the solve threshold and the cuDNN iRNN run thousands of iterations.
#
#   SPIKESIM_GPU_MACHINE=1 bash benchmarks/gpu/run_followup.sh "$OUT"
#
# Hard limits (s): setup 20, tests 35, linear 90, scale 70, wave 100 + 38 -> at most ~355 s.
# Logs: tests.log, linear.log, scale.log, wave.log (one file each, like run_all.sh).

source benchmarks/gpu/setup_env.sh "${1:?usage: run_followup.sh OUTDIR}" followup

say "gpu tests"
timeout 35 python3 -P -m pytest -p no:cacheprovider -q -m gpu -W ignore::DeprecationWarning \
    --continue-on-collection-errors --tb=short -rfE \
    tests/core/test_fused_triton.py tests/core/test_cuda.py tests/core/test_spike_matmul.py \
    tests/core/test_training.py tests/hardware/test_loihi_fixed_point.py \
    tests/sensors/test_representations.py >> "$OUT/tests.log" 2>&1
say "gpu tests done (rc $?)"

say "linear_lif"
{
    echo "+ python3 benchmarks/linear_lif.py --device cuda --repeat 3 --norse-compile --only floor,fused,spikesim,spikesim_bf16,fused_bf16,spikingjelly,snntorch"
    timeout 90 python3 benchmarks/linear_lif.py --device cuda --repeat 3 --norse-compile \
        --only floor,fused,spikesim,spikesim_bf16,fused_bf16,spikingjelly,snntorch
    echo "rc $?"
} > "$OUT/linear.log" 2>&1
say "linear_lif done"

say "scale 1M"
{
    echo "+ python3 benchmarks/scale_series.py --device cuda --sizes 1000000 --duration-s 0.2 --threads 8"
    timeout 70 python3 benchmarks/scale_series.py --device cuda --sizes 1000000 --duration-s 0.2 --threads 8
    echo "rc $?"
} > "$OUT/scale.log" 2>&1
say "scale done"

say "wave adding T=700"
{
    cmd=(python3 benchmarks/wave_rnn_bench.py adding --T 700 --models wrnn --seeds 0 --wrnn-channels 27
        --lr wrnn=3e-4 --cap wrnn=100000 --batch 128 --eval-every 25 --eval-batch 256
        --time-limit-s 88 --device cuda --out /tmp/wave_followup.jsonl)
    echo "+ timeout 100 ${cmd[*]}"
    timeout 100 "${cmd[@]}"
    echo "rc $?"
    cmd=(python3 benchmarks/wave_rnn_bench.py adding --T 700 --models irnn_cudnn --seeds 0
        --lr irnn_cudnn=1e-3 --cap irnn_cudnn=1000000 --batch 128 --eval-every 250 --eval-batch 256
        --time-limit-s 30 --device cuda --out /tmp/wave_followup.jsonl)
    echo "+ timeout 38 ${cmd[*]}"
    timeout 38 "${cmd[@]}"
    echo "rc $?"
} > "$OUT/wave.log" 2>&1
say "wave done"
say "end $(date -u '+%H:%M:%S UTC')"
