#!/usr/bin/env bash
# The whole GPU session in one script (the device lease is short: one call, every part under a
# hard timeout, each part writing one log file under OUT).
#
#   bash benchmarks/gpu/run_all.sh "$OUT"        # on the GPU machine, from the repository root
#
# The GPU machine has its own python3 (torch + CUDA, triton, numpy, scipy, h5py, ...) and no
# network. The peers and the pure-Python dependencies it lacks travel as wheels in .whl/
# (snntorch, norse, spikingjelly, nir, nirtorch, tomli_w, loguru); MNIST travels in gpu_data/.
# spikesim is laid out as the installed package would be (models/, sensors/, hardware/ copied
# under spikesim/ in the device's copy of the tree), the tree first on PYTHONPATH. NEVER run
# this script in a checkout you keep: it writes spikesim/models etc. into the tree.
#
# Run as: SPIKESIM_GPU_MACHINE=1 bash benchmarks/gpu/run_all.sh "$OUT"
# Parts and their hard limits (seconds): setup 30, gpu tests 45, linear_lif 160,
# precision 60, scale 25 + 60, wave 110, spindle 50 -> at most ~510 s.
# Logs: tests.log, linear.log, precision.log, scale.log, wave.log, spindle.log.

source benchmarks/gpu/setup_env.sh "${1:?usage: run_all.sh OUTDIR}" run_all
python3 - <<'EOF' 2>&1 | tee -a "$OUT/tests.log"
import platform, torch, triton, numpy, spikesim, spikesim.models, spikesim.hardware
from spikesim.dynamics import triton_lif
print("python", platform.python_version(), "torch", torch.__version__, "triton", triton.__version__,
      "numpy", numpy.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())
print("spikesim from", spikesim.__file__, "| triton kernels usable:",
      triton_lif.available(torch.zeros(1, device="cuda")))
for m in ("snntorch", "norse", "spikingjelly"):
    try:
        mod = __import__(m)
        print(m, getattr(mod, "__version__", "?"))
    except Exception as e:
        print(m, "IMPORT FAILED", type(e).__name__, e)
EOF

say "gpu tests"
timeout 45 python3 -P -m pytest -p no:cacheprovider -q -m gpu -W ignore::DeprecationWarning \
    --continue-on-collection-errors \
    tests/core/test_fused_triton.py tests/core/test_cuda.py tests/core/test_spike_matmul.py \
    tests/core/test_training.py tests/hardware/test_loihi_fixed_point.py \
    tests/sensors/test_representations.py 2>&1 | tail -25 | tee -a "$OUT/tests.log"
say "gpu tests done (rc ${PIPESTATUS[0]})"

say "linear_lif"
{
    echo "+ python3 benchmarks/linear_lif.py --device cuda --repeat 3 --check --norse-compile --only ..."
    timeout 160 python3 benchmarks/linear_lif.py --device cuda --repeat 3 --check --norse-compile \
        --only floor,fused,spikesim,fused_torch,floor_bf16,fused_bf16,spikesim_bf16,floor_fp8,fused_fp8,fused_sparse,spikingjelly,norse,snntorch,plain_gemm,plain_loop,spikesim_steps
    echo "rc $?"
} > "$OUT/linear.log" 2>&1
say "linear_lif done"

say "precision"
timeout 62 bash benchmarks/gpu/part_precision.sh "$OUT" > /dev/null 2>&1
say "precision done (rc $?)"

say "scale"
{
    echo "+ python3 benchmarks/scale_series.py --device cuda --sizes 10000 100000 --duration-s 0.2 --threads 8"
    timeout 25 python3 benchmarks/scale_series.py --device cuda --sizes 10000 100000 --duration-s 0.2 --threads 8
    echo "rc $?"
    echo "+ python3 benchmarks/scale_series.py --device cuda --sizes 1000000 --duration-s 0.2 --threads 8"
    timeout 60 python3 benchmarks/scale_series.py --device cuda --sizes 1000000 --duration-s 0.2 --threads 8
    echo "rc $?"
} > "$OUT/scale.log" 2>&1
say "scale done"

say "wave"
timeout 112 bash benchmarks/gpu/part_wave.sh "$OUT" > /dev/null 2>&1
say "wave done (rc $?)"

say "spindle"
timeout 52 bash benchmarks/gpu/part_spindle.sh "$OUT" > /dev/null 2>&1
say "spindle done (rc $?)"
say "end $(date -u '+%H:%M:%S UTC')"
