# Sourced by the GPU session scripts (run_all.sh, run_followup.sh) on the GPU machine:
#   source benchmarks/gpu/setup_env.sh "$OUT" <label>
# Refuses to run outside the GPU machine's throwaway copy of the tree (it writes models/,
# sensors/ and hardware/ into spikesim/), defines `say` (timestamped lines into tests.log),
# installs the carried wheels (.whl/: peers and pure-Python dependencies the image lacks) into
# /tmp/peers and puts the tree, laid out as the installed package, first on PYTHONPATH.

OUT="${1:?usage: source setup_env.sh OUTDIR LABEL}"
GPU_LABEL="${2:-gpu}"
if [ -z "${SPIKESIM_GPU_MACHINE:-}" ]; then
    echo "$GPU_LABEL copies models/ sensors/ hardware/ into spikesim/: only on the GPU machine's" >&2
    echo "throwaway copy of the tree (set SPIKESIM_GPU_MACHINE=1 there)" >&2
    exit 2
fi
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
T0=$SECONDS
say() { echo "[$GPU_LABEL +$((SECONDS - T0)) s] $*" | tee -a "$OUT/tests.log"; }

say "start $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$OUT/tests.log"
timeout 30 python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/peers .whl/*.whl 2>&1 | tail -3 | tee -a "$OUT/tests.log"
for d in models sensors hardware; do rm -rf "spikesim/$d" && cp -r "$d" "spikesim/$d"; done
export PYTHONPATH="$PWD:/tmp/peers"
