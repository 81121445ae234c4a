#!/usr/bin/env bash
# One GPU call for the adding task at T = 1000 (issue 4): the wRNN with a budget that lets it
# leave the plateau (on the 2-core CPU it was still on it after ~1,800 iterations of batch 64 at
# lr 1e-4, 2026-11-26) and the cuDNN iRNN at lr 1e-4, its best learning rate at T = 400 and the
# one that solved T = 700. Batch 128 as in the paper and in the T = 700 runs.
#
#   SPIKESIM_GPU_MACHINE=1 bash benchmarks/gpu/run_wave1000.sh "$OUT"
#
# Hard limits (s): setup 30, wRNN 330 (time limit 320), iRNN 130 (120) -> at most ~500 s.
# Logs: tests.log (timestamps), wave.log; results also in wave1000.jsonl.

source benchmarks/gpu/setup_env.sh "${1:?usage: run_wave1000.sh OUTDIR}" wave1000

say "wave adding T=1000"
{
    cmd=(python3 benchmarks/wave_rnn_bench.py adding --T 1000 --models wrnn --seeds 0 --wrnn-channels 27
        --lr wrnn=1e-4 --cap wrnn=100000 --batch 128 --eval-every 25 --eval-batch 256
        --time-limit-s 320 --device cuda --out "$OUT/wave1000.jsonl")
    echo "+ timeout 330 ${cmd[*]}"
    timeout 330 "${cmd[@]}"
    echo "rc $?"
    cmd=(python3 benchmarks/wave_rnn_bench.py adding --T 1000 --models irnn_cudnn --seeds 0
        --lr irnn_cudnn=1e-4 --cap irnn_cudnn=1000000 --batch 128 --eval-every 250 --eval-batch 256
        --time-limit-s 120 --device cuda --out "$OUT/wave1000.jsonl")
    echo "+ timeout 130 ${cmd[*]}"
    timeout 130 "${cmd[@]}"
    echo "rc $?"
} > "$OUT/wave.log" 2>&1
say "wave done"
say "end $(date -u '+%H:%M:%S UTC')"
