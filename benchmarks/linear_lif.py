"""Linear(N->N) + LIF, forward + backward through time: spikesim against peers and the floor.

The speed anchor of FIELD-NOTES section 7 (Linear(16384->16384) + LIF, batch 16, 500 steps,
forward + backward, fp32). Every variant runs in this process on the same input spikes
(Bernoulli p=0.05), the same weight matrix (spikesim's draw, copied into the others) and the
same loss, ``sum over neurons of (mean spike count per step - target rate)^2``:

* ``spikesim``    the network description (spike tensor -> Dense trainable projection ->
                  CubaLIF) run by ``Simulator(differentiable=True).forward`` with
                  ``fused_layers = True`` (the layer by ``cuba_lif_sequence``);
* ``spikesim_steps`` the same with ``fused_layers = False`` (the step-by-step graph);
* ``spikesim_bf16`` the same with ``sim.spike_product_precision = "bf16"`` (see ``fused_bf16``);
* ``spikesim_sparse`` the same with ``sim.sparse_spike_products = True`` (see ``fused_sparse``);
* ``plain_loop``  a hand-written PyTorch loop, one ``x[t] @ W.T`` per step, the same CubaLIF
                  update and SuperSpike surrogate as spikesim (checked with ``--check``);
* ``plain_gemm``  the same, but the input current for all steps computed by one matmul first
                  (possible because the layer is feed-forward);
* ``fused``       one matmul for all steps, then ``spikesim.dynamics.cuba_lif_sequence``: the
                  CubaLIF over all T steps as one autograd node with a hand-written surrogate
                  backward (saves the membrane once plus bool spikes); same spikes and weight
                  gradient as ``plain_gemm`` (``--check``);
* ``snntorch``    ``snn.Leaky`` (subtract reset, fast-sigmoid surrogate), per-step Linear;
* ``norse``       ``nn.Linear`` over the whole sequence, then ``norse.torch.LIF`` (eager;
                  ``--norse-compile`` adds a ``torch.compile`` run of the whole forward);
* ``norse_cell_compiled`` the same with Norse's per-step ``LIFCell`` compiled
                  (``torch.compile``) and stepped by a Python loop, as ``LIF`` steps it;
* ``spikingjelly`` ``layer.Linear`` + ``neuron.LIFNode`` in multi-step mode (SpikingJelly picks
                  its kernels by device: its Torch reference on CPU, fused kernels on CUDA);
* ``fused_torch`` ``fused`` with ``backend="torch"``: the sequence kernel's torch loop (on CUDA
                  ``fused`` takes the Triton kernels of ``spikesim.dynamics.triton_lif``);
* ``fused_bf16``  ``fused`` with the products by ``spikesim.spike_matmul.spike_linear(...,
                  precision="bf16")``: spikes exact in bf16, weights (forward) and the output
                  gradient (weight gradient) rounded to bf16, fp32 accumulation and output;
                  ``--check`` reports spike agreement and weight-gradient difference to ``fused``;
* ``fused_sparse`` ``fused`` with the input spikes as a sparse CSR matrix (converted once,
                  outside the timing: event data arrive as events) and a sparse-dense product
                  forward and backward (event-driven propagation, fp32);
* ``fused_fp8``   the same with ``precision="fp8"`` (e4m3 weights, e5m2 gradient, per-tensor
                  scales, ``torch._scaled_mm``; CUDA compute capability >= 8.9 only);
* ``floor``       the matrix products alone: ``X @ W.T`` over all steps and the weight gradient;
                  ``floor_bf16`` / ``floor_fp8`` the same products through ``spike_linear``.

The neuron equations differ between libraries (one or two state variables, reset rule,
surrogate); the layer size, input, loss and weights are the same. spikesim delivers a
projection's output one step later (delay 0 means "next step"), so its spikes are those of
the plain loop fed with the input shifted by one step; ``--check`` verifies this.

Usage::

    python benchmarks/linear_lif.py --device cpu --n 2048 --steps 100 --repeat 3
    python benchmarks/linear_lif.py --device cuda            # N=16384, T=500 by default
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

TAU_SYN_S = 5e-3
TAU_MEM_S = 20e-3
DT_S = 1e-3
V_TH = 1.0
ALPHA = 100.0  # SuperSpike / fast-sigmoid steepness
P_IN = 0.05
TARGET_RATE = 0.05  # spikes per step

# ------------------------------------------------------------------------- helpers


def loss_fn(z: torch.Tensor) -> torch.Tensor:
    """z: spikes [T, B, N] -> sum of squared errors of the per-step rate to the target."""
    return ((z.mean(0) - TARGET_RATE) ** 2).sum()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Peak memory above the level at entry: CUDA allocator stats, or sampled RSS on CPU.

    On CPU torch's allocations bypass tracemalloc, so the resident set size is sampled every
    ``interval_s`` by a thread (short peaks between samples can be missed; memory freed to
    the C allocator but not to the OS is not counted again).
    """

    def __init__(self, device: torch.device, interval_s: float = 0.002) -> None:
        self.device, self.interval_s = device, interval_s
        self.peak = 0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            sync(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            self.base = _rss_bytes()
            self._stop = threading.Event()
            self._max = self.base
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, _rss_bytes())
            time.sleep(self.interval_s)

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            sync(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device) - self.base
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._max, _rss_bytes()) - self.base


class SuperSpike(torch.autograd.Function):
    """Heaviside forward, 1 / (alpha |x| + 1)^2 backward (written here for the plain loop)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return g / (ALPHA * x.abs() + 1.0) ** 2


def cuba_lif_loop(currents: Callable[[int], torch.Tensor], T: int) -> torch.Tensor:
    """CubaLIF as spikesim integrates it: u decays and integrates, v integrates u, reset to 0."""
    du, dv = math.exp(-DT_S / TAU_SYN_S), math.exp(-DT_S / TAU_MEM_S)
    u = v = None
    out = []
    for t in range(T):
        i_t = currents(t)
        u = i_t if u is None else u * du + i_t
        v = u if v is None else v * dv + u
        z = SuperSpike.apply(v - V_TH)
        v = v * (1 - z)
        out.append(z)
    return torch.stack(out)


# ------------------------------------------------------------------------ variants
# each builder returns (step, params): step() runs forward + loss + backward once


def build_spikesim(
    x: torch.Tensor,
    n: int,
    device: torch.device,
    weight_std: float,
    fused: bool = True,
    precision: str = "fp32",
    sparse: bool = False,
):
    import spikesim

    T, B, _ = x.shape
    net = spikesim.Network(dt_s=DT_S)
    net.add_spike_tensor("x", n)
    net.add_population(
        "y", n, spikesim.CubaLIF(tau_syn_s=TAU_SYN_S, tau_mem_s=TAU_MEM_S, v_th=V_TH)
    )
    net.add_projection(
        "w", "x", "y", spikesim.Dense(weight=spikesim.Normal(0.0, weight_std)), trainable=True
    )
    sim = spikesim.Simulator(
        net, batch_size=B, device=device, differentiable=True, surrogate_alpha=ALPHA
    )
    sim.fused_layers = fused  # y is fed by the spike tensor only: one fused autograd node
    sim.spike_product_precision = precision
    sim.sparse_spike_products = sparse
    params = list(sim.parameters())

    def forward() -> torch.Tensor:
        return sim(inputs={"x": x}, record=("y",))["y"]

    def step() -> float:
        z = forward()
        loss = loss_fn(z)
        loss.backward()
        return float(loss)

    return step, params, sim, forward


def build_plain_loop(x: torch.Tensor, w0: torch.Tensor):
    w = torch.nn.Parameter(w0.clone())
    T = x.shape[0]

    def forward(inp: torch.Tensor = x) -> torch.Tensor:
        return cuba_lif_loop(lambda t: inp[t] @ w.t(), T)

    def step() -> float:
        loss = loss_fn(forward())
        loss.backward()
        return float(loss)

    return step, [w], forward


def build_plain_gemm(x: torch.Tensor, w0: torch.Tensor):
    w = torch.nn.Parameter(w0.clone())
    T, B, N = x.shape

    def step() -> float:
        cur = (x.reshape(T * B, N) @ w.t()).reshape(T, B, -1)
        loss = loss_fn(cuba_lif_loop(lambda t: cur[t], T))
        loss.backward()
        return float(loss)

    return step, [w]


def build_snntorch(x: torch.Tensor, w0: torch.Tensor):
    import snntorch as snn
    from snntorch import surrogate

    T, B, N = x.shape
    fc = torch.nn.Linear(N, w0.shape[0], bias=False, device=w0.device)
    with torch.no_grad():
        fc.weight.copy_(w0)
    lif = snn.Leaky(beta=math.exp(-DT_S / TAU_MEM_S), spike_grad=surrogate.fast_sigmoid(ALPHA))
    lif = lif.to(w0.device)  # its beta is a CPU tensor otherwise

    def step() -> float:
        mem = lif.init_leaky()
        out = []
        for t in range(T):
            spk, mem = lif(fc(x[t]), mem)
            out.append(spk)
        loss = loss_fn(torch.stack(out))
        loss.backward()
        return float(loss)

    return step, list(fc.parameters())


def _norse_layer(x: torch.Tensor, w0: torch.Tensor) -> tuple[torch.nn.Linear, Any]:
    """The Linear layer (weights ``w0``) and Norse's LIF parameters shared by the Norse forms."""
    from norse.torch import LIFParameters

    fc = torch.nn.Linear(x.shape[2], w0.shape[0], bias=False, device=w0.device)
    with torch.no_grad():
        fc.weight.copy_(w0)
    p = LIFParameters(
        tau_syn_inv=torch.tensor(1.0 / TAU_SYN_S),
        tau_mem_inv=torch.tensor(1.0 / TAU_MEM_S),
        v_th=torch.tensor(V_TH),
        method="super",
        alpha=torch.tensor(ALPHA),
    )
    return fc, p


def build_norse(x: torch.Tensor, w0: torch.Tensor, compile_: bool = False):
    from norse.torch import LIF

    fc, p = _norse_layer(x, w0)
    lif = LIF(p, dt=DT_S).to(w0.device)

    def forward() -> torch.Tensor:
        z, _ = lif(fc(x))
        return z

    fwd = torch.compile(forward) if compile_ else forward

    def step() -> float:
        loss = loss_fn(fwd())
        loss.backward()
        return float(loss)

    return step, list(fc.parameters())


def build_norse_cell_compiled(x: torch.Tensor, w0: torch.Tensor):
    """Norse's per-step ``LIFCell`` under ``torch.compile``, stepped by a Python loop over the
    sequence as ``norse.torch.LIF`` steps it: one small graph compiled (two with the first
    call's empty state) instead of the 500-step unrolled graph of ``torch.compile`` over the
    whole forward, whose compile did not finish within minutes on the GPU machine."""
    from norse.torch import LIFCell

    T = x.shape[0]
    fc, p = _norse_layer(x, w0)
    cell = torch.compile(LIFCell(p, dt=DT_S).to(w0.device))

    def forward() -> torch.Tensor:
        cur = fc(x)
        state = None
        zs = []
        for t in range(T):
            z, state = cell(cur[t], state)
            zs.append(z)
        return torch.stack(zs)

    def step() -> float:
        loss = loss_fn(forward())
        loss.backward()
        return float(loss)

    return step, list(fc.parameters())


def build_spikingjelly(x: torch.Tensor, w0: torch.Tensor):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    T, B, N = x.shape
    fc = layer.Linear(N, w0.shape[0], bias=False, step_mode="m").to(w0.device)
    with torch.no_grad():
        fc.weight.copy_(w0)
    lif = neuron.LIFNode(
        tau=TAU_MEM_S / DT_S,
        decay_input=False,
        v_threshold=V_TH,
        surrogate_function=surrogate.Sigmoid(),
        step_mode="m",
    )

    def step() -> float:
        functional.reset_net(lif)
        loss = loss_fn(lif(fc(x)))
        loss.backward()
        return float(loss)

    return step, list(fc.parameters())


def build_fused(x: torch.Tensor, w0: torch.Tensor, precision: str = "fp32", backend: str = "auto"):
    from spikesim import dynamics as dyn
    from spikesim.spike_matmul import spike_linear

    w = torch.nn.Parameter(w0.clone())
    T, B, N = x.shape
    p = dyn.CubaLIFParams(TAU_SYN_S, TAU_MEM_S, V_TH, 0.0)
    zero = torch.zeros(B, w0.shape[0], device=w0.device, dtype=w0.dtype)
    xf = x.reshape(T * B, N)
    if precision == "sparse":  # event-driven: the input spikes as a CSR matrix (built once)
        xs = xf.to_sparse_csr()

    def forward() -> torch.Tensor:
        if precision == "sparse":
            cur = (xs @ w.t()).reshape(T, B, -1)  # cuSPARSE / MKL SpMM; backward likewise
        elif precision == "fp32":
            cur = (xf @ w.t()).reshape(T, B, -1)
        else:  # spikes exact in bf16 / fp8, weights (and the backward's gradient) rounded
            cur = spike_linear(xf, w, precision=precision).reshape(T, B, -1)
        z, _ = dyn.cuba_lif_sequence(
            cur, dyn.CubaLIFState(zero, zero), p, dt_s=DT_S, alpha=ALPHA, backend=backend
        )
        return z

    def step() -> float:
        loss = loss_fn(forward())
        loss.backward()
        return float(loss)

    return step, [w], forward


def build_floor(x: torch.Tensor, w0: torch.Tensor, precision: str = "fp32"):
    from spikesim.spike_matmul import spike_linear

    w = torch.nn.Parameter(w0.clone())
    T, B, N = x.shape
    g = torch.randn(T * B, w0.shape[0], device=w0.device, dtype=w0.dtype)

    def step() -> float:
        if precision == "fp32":
            y = x.reshape(T * B, N) @ w.t()  # forward product
        else:
            y = spike_linear(x.reshape(T * B, N), w, precision=precision)
        y.backward(g)  # weight gradient g.T @ X (x needs no gradient)
        return 0.0

    return step, [w]


# --------------------------------------------------------------------------- timing


class SavedBytes:
    """Bytes autograd keeps for the backward pass (distinct storages packed by saved-tensor hooks).

    Deterministic and device-independent: the BPTT activation memory of a variant. Storages
    alive anyway (the input spikes, the weights) are counted too, once.
    """

    def __init__(self) -> None:
        self.storages: dict[int, int] = {}

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        if t.layout == torch.sparse_csr:  # its index and value arrays
            parts = [t.crow_indices(), t.col_indices(), t.values()]
        elif t.layout == torch.sparse_coo:
            parts = [t._indices(), t._values()]
        else:
            parts = [t]
        for part in parts:
            st = part.untyped_storage()
            self.storages[st.data_ptr()] = st.nbytes()
        return t

    @property
    def total(self) -> int:
        return sum(self.storages.values())


def time_variant(step, params, device: torch.device, repeat: int, count_saved: bool = True):
    """One warm-up (counting saved tensors), then ``repeat`` timed runs.

    Returns (median s, peak bytes, loss, warm-up s, saved-for-backward bytes, median CPU s).
    """
    times = []
    cpu = []
    saved = SavedBytes()
    with PeakMemory(device) as mem:
        for i in range(repeat + 1):
            for p in params:
                p.grad = None
            sync(device)
            t0 = time.perf_counter()
            c0 = time.process_time()
            if i == 0 and count_saved:
                with torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t):
                    loss = step()
            else:
                loss = step()
            sync(device)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return (
        statistics.median(times[1:]),
        mem.peak,
        loss,
        times[0],
        saved.total,
        statistics.median(cpu[1:]),
    )


def check(x: torch.Tensor, sim_forward, sim_params, plain_forward, plain_params) -> str:
    """spikesim == plain loop on the input shifted by one step (spikes and weight gradient)."""
    shifted = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
    grads = []
    spikes = []
    for fwd, params, args in (
        (sim_forward, sim_params, ()),
        (plain_forward, plain_params, (shifted,)),
    ):
        for p in params:
            p.grad = None
        z = fwd(*args)
        loss_fn(z).backward()
        spikes.append(z.detach())
        grads.append(params[0].grad.detach().clone())
    same = bool(torch.equal(spikes[0], spikes[1]))
    err = float((grads[0] - grads[1]).abs().max() / grads[1].abs().max().clamp_min(1e-30))
    rate = float(spikes[0].mean())
    return (
        f"check: spikes identical={same}, max rel. weight-gradient difference={err:.2e}, "
        f"output rate={rate:.4f} spikes/step"
    )


def check_fused(x: torch.Tensor, w0: torch.Tensor) -> str:
    """The fused sequence kernel == plain_gemm (same input): spikes and weight gradient."""
    _, fused_params, fused_forward = build_fused(x, w0)
    w = torch.nn.Parameter(w0.clone())
    T, B, N = x.shape
    cur = (x.reshape(T * B, N) @ w.t()).reshape(T, B, -1)
    z_plain = cuba_lif_loop(lambda t: cur[t], T)
    loss_fn(z_plain).backward()
    z_fused = fused_forward()
    loss_fn(z_fused).backward()
    g0, g1 = fused_params[0].grad, w.grad
    assert g0 is not None and g1 is not None
    same = bool(torch.equal(z_fused.detach(), z_plain.detach()))
    err = float((g0 - g1).abs().max() / g1.abs().max().clamp_min(1e-30))
    _, tp_params, tp_forward = build_fused(x, w0, backend="torch")
    z_tp = tp_forward()
    loss_fn(z_tp).backward()
    g3 = tp_params[0].grad
    assert g3 is not None
    same_tp = bool(torch.equal(z_fused.detach(), z_tp.detach()))
    err_tp = float((g0 - g3).abs().max() / g3.abs().max().clamp_min(1e-30))
    _, bf_params, bf_forward = build_fused(x, w0, precision="bf16")
    z_bf = bf_forward()
    loss_fn(z_bf).backward()
    g2 = bf_params[0].grad
    assert g2 is not None
    agree = float((z_bf.detach() == z_fused.detach()).float().mean())
    _, sp_params, sp_forward = build_fused(x, w0, precision="sparse")
    z_sp = sp_forward()
    loss_fn(z_sp).backward()
    g_sp = sp_params[0].grad
    assert g_sp is not None
    agree_sp = float((z_sp.detach() == z_fused.detach()).float().mean())
    err_sp = float((g_sp - g0).abs().max() / g0.abs().max().clamp_min(1e-30))
    fp8 = (
        f"; fused_sparse vs fused: spike agreement {agree_sp:.6f}, max rel. weight-gradient "
        f"difference {err_sp:.2e}"
    )
    from spikesim.spike_matmul import fp8_supported

    if fp8_supported(x.device):
        _, f8_params, f8_forward = build_fused(x, w0, precision="fp8")
        z8 = f8_forward()
        loss_fn(z8).backward()
        g8 = f8_params[0].grad
        assert g8 is not None
        agree8 = float((z8.detach() == z_fused.detach()).float().mean())
        cos8 = float(torch.nn.functional.cosine_similarity(g8.reshape(1, -1), g0.reshape(1, -1)))
        fp8 += f"; fused_fp8 vs fused: spike agreement {agree8:.6f}, gradient cosine {cos8:.6f}"
    err_bf = float((g2 - g0).abs().max() / g0.abs().max().clamp_min(1e-30))
    cos = float(torch.nn.functional.cosine_similarity(g2.reshape(1, -1), g0.reshape(1, -1)))
    return (
        f"check fused: spikes identical to plain_gemm={same}, max rel. weight-gradient "
        f"difference={err:.2e}; fused (backend auto) vs fused_torch: spikes identical="
        f"{same_tp}, max rel. weight-gradient difference {err_tp:.2e}; fused_bf16 vs fused: spike agreement {agree:.6f}, "
        f"max rel. weight-gradient difference {err_bf:.2e}, gradient cosine {cos:.6f}{fp8}"
    )


def profile_spikesim(forward, top: int) -> str:
    pr = cProfile.Profile()
    pr.enable()
    z = forward()
    loss_fn(z).backward()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(top)
    return s.getvalue()


def run_isolated(name: str, argv: list[str]) -> tuple | None:
    """Run one variant in a fresh interpreter (its own allocator: a clean RSS peak)."""
    drop = {"--isolate", "--check", "--norse-compile"}
    args, skip = [], False
    for tok in argv:
        if skip:
            skip = False
            continue
        if tok in drop:
            continue
        if tok in ("--only", "--profile"):
            skip = True
            continue
        if tok.startswith(("--only=", "--profile=")):
            continue
        args.append(tok)
    cmd = [sys.executable, os.path.abspath(__file__), *args, "--only", name, "--child"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            _, _, s, mem, loss, first, saved, cpu = line.split()
            return float(s), int(mem), float(loss), float(first), int(saved), float(cpu)
        if line.startswith(f"# {name}: FAILED"):
            print(line)
            return None
    print(f"# {name}: FAILED in child (rc {res.returncode}): {res.stderr.strip()[-300:]}")
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=None, help="neurons (16384 cuda, 2048 cpu)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None, help="time steps (500 cuda, 100 cpu)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--weight-std", type=float, default=None, help="default 2/sqrt(N)")
    ap.add_argument(
        "--only",
        default="spikesim,spikesim_steps,fused,fused_bf16,plain_loop,plain_gemm,snntorch,norse,spikingjelly,floor",
        help="comma-separated variants",
    )
    ap.add_argument("--norse-compile", action="store_true", help="also time torch.compile'd Norse")
    ap.add_argument("--check", action="store_true", help="spikesim == plain loop (shifted)")
    ap.add_argument("--profile", type=int, default=0, help="cProfile spikesim: show top K")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--isolate", action="store_true", help="each variant in its own process (clean RSS peak)"
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    device = torch.device(a.device)
    gpu = device.type == "cuda"
    n = a.n or (16384 if gpu else 2048)
    T = a.steps or (500 if gpu else 100)
    B = a.batch
    std = a.weight_std or 2.0 / math.sqrt(n)
    torch.manual_seed(a.seed)
    x = (torch.rand(T, B, n, device=device) < P_IN).float()

    sim_step, sim_params, sim, sim_forward = build_spikesim(x, n, device, std)
    w0 = sim.projs["w"].weight.detach().clone()  # the same weights for every variant

    if a.child:
        a.check = False
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    header = (
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}  "
        f"torch {torch.__version__}  python {platform.python_version()}  device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if gpu else "")
        + f"  threads {torch.get_num_threads()}  load {load[0]:.1f}"
    )
    if not a.child:
        print(header)
        print(f"# N={n} B={B} T={T} weight std={std:.4g} input p={P_IN} fp32")
    if a.check:
        _, plain_params, plain_forward = build_plain_loop(x, w0)
        print("#", check(x, sim_forward, sim_params, plain_forward, plain_params))
        print("#", check_fused(x, w0))
    if gpu:  # fp32 means fp32: no TF32 products for anyone (torch's default, enforced)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    builders: dict[str, Callable[[], tuple]] = {
        "spikesim": lambda: (sim_step, sim_params),
        "spikesim_steps": lambda: build_spikesim(x, n, device, std, fused=False)[:2],
        "spikesim_bf16": lambda: build_spikesim(x, n, device, std, precision="bf16")[:2],
        "spikesim_sparse": lambda: build_spikesim(x, n, device, std, sparse=True)[:2],
        "plain_loop": lambda: build_plain_loop(x, w0)[:2],
        "plain_gemm": lambda: build_plain_gemm(x, w0),
        "fused": lambda: build_fused(x, w0)[:2],
        "fused_bf16": lambda: build_fused(x, w0, precision="bf16")[:2],
        "fused_fp8": lambda: build_fused(x, w0, precision="fp8")[:2],
        "fused_sparse": lambda: build_fused(x, w0, precision="sparse")[:2],
        "fused_torch": lambda: build_fused(x, w0, backend="torch")[:2],
        "snntorch": lambda: build_snntorch(x, w0),
        "norse": lambda: build_norse(x, w0),
        "norse_compiled": lambda: build_norse(x, w0, compile_=True),
        "norse_cell_compiled": lambda: build_norse_cell_compiled(x, w0),
        "spikingjelly": lambda: build_spikingjelly(x, w0),
        "floor": lambda: build_floor(x, w0),
        "floor_bf16": lambda: build_floor(x, w0, precision="bf16"),
        "floor_fp8": lambda: build_floor(x, w0, precision="fp8"),
    }
    names = [s.strip() for s in a.only.split(",") if s.strip()]
    if a.norse_compile and "norse_compiled" not in names:
        names.append("norse_compiled")
    rows: dict[str, tuple] = {}
    for name in names:
        if a.isolate:
            rows_child = run_isolated(name, argv if argv is not None else sys.argv[1:])
            if rows_child is None:
                continue
            rows[name] = rows_child
        else:
            try:
                step, params = builders[name]()
                rows[name] = time_variant(
                    step, params, device, a.repeat, count_saved="compiled" not in name
                )
                if gpu and torch.backends.cuda.matmul.allow_tf32:
                    print(f"# WARNING: {name} switched TF32 on; switched off again")
                    torch.backends.cuda.matmul.allow_tf32 = False
            except Exception as e:  # report and go on: one broken peer must not hide the rest
                print(f"# {name}: FAILED {type(e).__name__}: {e}".splitlines()[0])
                continue
        s, mem, loss, first, saved, cpu = rows[name]
        if a.child:
            print("RESULT", name, s, mem, loss, first, saved, cpu, flush=True)
            continue
        print(
            f"# {name}: {s:.4f} s (CPU {cpu:.4f} s; first call {first:.2f} s)  peak +{mem / 2**20:.0f} MiB  "
            f"saved for backward {saved / 2**20:.1f} MiB  loss {loss:.4g}",
            flush=True,
        )
    if a.child:
        return 0

    base = rows.get("spikesim", (float("nan"),))[0]
    floor = rows.get("floor", (float("nan"),))[0]
    floor_cpu = rows.get("floor", (float("nan"),) * 6)[5]
    mem_label = "peak CUDA alloc" if gpu else "peak RSS delta"
    print(
        f"\n| variant | wall s / fwd+bwd | CPU s | {mem_label} (MiB) | saved for backward (MiB) "
        "| x spikesim | x floor (wall) | x floor (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (s, mem, _, _, saved, cpu) in rows.items():
        print(
            f"| {name} | {s:.3f} | {cpu:.3f} | {mem / 2**20:.0f} | {saved / 2**20:.1f} "
            f"| {s / base:.2f} | {s / floor:.2f} | {cpu / floor_cpu:.2f} |"
        )
    if a.profile:
        print("\n# cProfile of one spikesim forward + backward (sorted by own time)")
        print(profile_spikesim(sim_forward, a.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
