#!/usr/bin/env bash
# GPU part of issue 5 (sleep-spindle traveling waves); budget 50 s in total (timeouts 34 + 9 = 43 s).
# Called from the repository root as: bash benchmarks/gpu/part_spindle.sh "$OUT"
# Writes one file, $OUT/spindle.log. Every python call runs under `timeout`; no `set -e`,
# so a failing step does not stop the next one.
# The GPU name and torch version are in every TIMING line (device_name, torch).
#   1. TIMING lines (one process, timeout 34 s, about 2.5 s timed per line): the full-size spiking model (30 x 30 E + I sheet, LIF
#      thalamus 16 x 8 TC + RE, dt 1 ms, float32, seed 4) on CUDA, wall per step, for
#      batch 1 (one continuous trial) and batch 24 (24 segments) with the default monitors
#      (the configuration of the CPU rows in benchmarks/spindle_waves.md), and batch 24 and
#      256 with the session monitors (E and TC spikes only); each line gives
#      hour_session_min = 3.6e6 / batch steps x wall per step.
#   2. THROUGHPUT (timeout 9 s): analysis electrode-cycles/s of analyze_waves on a 10 s
#      synthetic 8 x 8 recording, on the GPU machine's CPU (the analysis is numpy/scipy).
# Dry run on a CPU machine (not used on the GPU): PYTHON=.venv/bin/python SPINDLE_PART_DEVICE=cpu
#   SPINDLE_PART_ROWS=12 SPINDLE_PART_BIG=4 bash benchmarks/gpu/part_spindle.sh /tmp/part_dry
OUT="${1:?usage: part_spindle.sh OUT_DIR}"
LOG="$OUT/spindle.log"
DEV="${SPINDLE_PART_DEVICE:-cuda}"
ROWS="${SPINDLE_PART_ROWS:-30}"
PY="${PYTHON:-python3}"
BIG="${SPINDLE_PART_BIG:-256}"
TMPD="$(mktemp -d)"  # the bench's JSON reports go here, not to $OUT (one file back: the log)
mkdir -p "$OUT"
{
  echo "== part_spindle start $(date -u '+%Y-%m-%d %H:%M:%S UTC') device=$DEV rows=$ROWS"
  echo "git $(git rev-parse --short HEAD 2>/dev/null)"
} 2>&1 | tee -a "$LOG"

CMD1=("$PY" benchmarks/spindle_waves_bench.py --out "$TMPD/timing" --parts timing --device "$DEV" --rows "$ROWS" --batches "1:default,24:default,24:session,$BIG:session" --budget-s 20)
echo "== CMD ${CMD1[*]}" | tee -a "$LOG"
timeout 34 "${CMD1[@]}" 2>&1 | tee -a "$LOG"
echo "== rc ${PIPESTATUS[0]}" | tee -a "$LOG"

CMD2=("$PY" benchmarks/spindle_waves_bench.py --out "$TMPD/throughput" --parts throughput --analysis-s 10)
echo "== CMD ${CMD2[*]}" | tee -a "$LOG"
timeout 9 "${CMD2[@]}" 2>&1 | tee -a "$LOG"
echo "== rc ${PIPESTATUS[0]}" | tee -a "$LOG"

# summary: the TIMING / throughput lines again, compact
{
  echo "== SUMMARY (hour_session_min = wall of a 1-hour simulated session on $DEV)"
  grep -h '^TIMING' "$LOG" | sed -E 's/.*"batch": ([0-9]+), "monitors": "([a-z]+)".*"steps": ([0-9]+).*"ms_per_step": ([0-9.]+).*"hour_session_min": ([0-9.]+).*/batch=\1 monitors=\2 steps=\3 ms_per_step=\4 hour_session_min=\5/'
  grep -h '^analysis electrode-cycles/s' "$LOG" | grep -v SUMMARY
  echo "== part_spindle end $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
} 2>&1 | tee -a "$TMPD/summary"
cat "$TMPD/summary" >> "$LOG"; rm -rf "$TMPD"
