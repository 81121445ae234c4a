#!/usr/bin/env bash
# GPU part of issue 4 (wave-RNN): training throughput of the fused wRNN against the
# official-style nn.Conv1d loop, and the adding task at T = 1000 / 700 for the wRNN and the iRNN.
#
#   bash benchmarks/gpu/part_wave.sh "$OUT"          # on the GPU machine, from the repo root
#   WAVE_DRY=1 PYTHON=.venv/bin/python bash benchmarks/gpu/part_wave.sh /tmp/wave_dry
#                                                    # CPU dry run: same commands, tiny sizes
#
# Budget: 110 s in total, hard. Each python call runs under `timeout`, and each training run
# also has a wall-clock limit (--time-limit-s) after which it evaluates once more and reports
# "not solved within N iterations (S s)". Worst case = the sum of the timeouts = 107 s.
# Writes exactly one file: $OUT/wave.log (results go to benchmarks/wave_rnn.md).
#
# Sizing (estimated, not measured: no GPU was available to write this): the wRNN is launch-bound
# on a GPU: ~5 kernels per step forward + ~4 backward (the batched form of models/wave/fused.py,
# the CUDA default; the per-step CPU form has ~6 + ~11), ~0.1-0.4 ms per step with Python
# dispatch => ~0.15-0.4 s per iteration at T = 1000 => ~50-130 iterations in 20 s. The FLOPs are
# negligible (3 x 128 x 100 x 27 x 27 x 3 x 2 ~ 0.17 GFLOP per step => 0.17 TFLOP per
# iteration at T = 1000, a few ms at ~50 TFLOP/s). The iRNN goes through torch.rnn_relu (one cuDNN call per sequence): ~10-20 ms
# per iteration at T = 1000 => a few hundred iterations in 6 s. The paper needs ~2k-3k (wRNN)
# and 14k-30k+ (iRNN) iterations at these T, so these runs are expected to give lower bounds.
# No `set -e`: a failing step must not stop the next one.

OUT="${1:?usage: part_wave.sh OUTDIR}"
mkdir -p "$OUT"
LOG="$OUT/wave.log"
PY="${PYTHON:-python3}"
BENCH=benchmarks/wave_rnn_bench.py
TMP="$(mktemp -d)"
JSONL="$TMP/wave_gpu.jsonl"

if [ "${WAVE_DRY:-0}" = 1 ]; then
    DEV=cpu
    TP_ARGS=(--T 20 40 --channels 4 --batch 8 --reps 1)
    W_T=(60 40); W_CH=2; W_BATCH=16; W_LIMIT=3; I_LIMIT=2; EVAL_BATCH=32
else
    DEV=cuda
    TP_ARGS=(--T 100 400 784 1000 --channels 27 --batch 128 --reps 3)
    W_T=(1000 700); W_CH=27; W_BATCH=128; W_LIMIT=20; I_LIMIT=6; EVAL_BATCH=256
fi

log() { echo "$*" | tee -a "$LOG"; }

step() {  # step <timeout s> <label> <args...>
    local limit=$1 label=$2
    shift 2
    local t0=$SECONDS
    log ""
    log "=== [wave] $label (timeout ${limit} s) ==="
    log "+ timeout $limit $PY $*"
    timeout "$limit" "$PY" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    log "=== [wave] $label: rc $rc, $((SECONDS - t0)) s (rc 124 = cut by the timeout) ==="
}

log "=== [wave] part_wave.sh start $(date -u '+%Y-%m-%d %H:%M:%S UTC'), device $DEV, dry ${WAVE_DRY:-0} ==="
log "git commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 10 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"
fi

# 1. Training throughput (sequences/s, forward + backward, adding-task input, MSE on the last
#    step), ring n = 100 x 27 channels, batch 128; reference = official-style nn.Conv1d
#    (padding_mode="circular") loop; fused = models/wave/fused.py (the wRNN default).
#    fused_step = the same with its per-step (CPU) form forced, to show what the batched
#    (GPU default) form gains.
step 28 "throughput" "$BENCH" throughput "${TP_ARGS[@]}" --impls fused fused_step --no-floor \
    --device "$DEV"

# 2. Adding task, wRNN (n = 100 x 27 channels, the paper's size), T = 1000 then 700, seed 0,
#    Adam lr 3e-4 (the setting that solved T = 400 on the CPU), clip 1, batch 128,
#    test MSE on 256 held-out sequences every 25 iterations, solved at test MSE <= 0.05.
step 55 "adding wRNN T=${W_T[*]}" "$BENCH" adding --T "${W_T[@]}" --models wrnn --seeds 0 \
    --wrnn-channels "$W_CH" --lr wrnn=3e-4 --cap wrnn=100000 --batch "$W_BATCH" \
    --eval-every 25 --eval-batch "$EVAL_BATCH" --time-limit-s "$W_LIMIT" --device "$DEV" \
    --out "$JSONL"

# 3. Adding task, iRNN (100 hidden, identity recurrence) through cuDNN (irnn_cudnn), same
#    T, seed 0, lr 1e-3 (its setting that solved T = 100 and 200 on the CPU), clip 1, batch 128.
step 24 "adding iRNN (cuDNN) T=${W_T[*]}" "$BENCH" adding --T "${W_T[@]}" --models irnn_cudnn \
    --seeds 0 --lr irnn_cudnn=1e-3 --cap irnn_cudnn=1000000 --batch "$W_BATCH" \
    --eval-every 100 --eval-batch "$EVAL_BATCH" --time-limit-s "$I_LIMIT" --device "$DEV" \
    --out "$JSONL"

log ""
log "=== [wave] SUMMARY ($((SECONDS)) s in total) ==="
log "throughput rows (| T | reference seq/s (median, best) | fused | fused_step | fused / reference | fused_step / reference |):"
grep -E '^\| [0-9]+ \|' "$LOG" >"$TMP/rows" || true
tee -a "$LOG" <"$TMP/rows"
log "adding rows (| task | T | model | seed | params | lr | batch | iterations to solve | final test MSE (best) | train seq/s | wall | stopped by | device |):"
grep -E '^\| adding \|' "$LOG" >"$TMP/rows" || true
tee -a "$LOG" <"$TMP/rows"
log "=== [wave] part_wave.sh end $(date -u '+%Y-%m-%d %H:%M:%S UTC') ==="
rm -rf "$TMP"
