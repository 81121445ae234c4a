"""The simulator: runs a :class:`~spikesim.network.Network` in spiking or rate mode.

``Simulator`` builds tensors from the description once (weights drawn from the seed), then
steps every population with its pure kernel from :mod:`spikesim.dynamics`. It runs on any torch
device, with a batch of independent trials, in float32 (default) or float64. Sparse
projections propagate event-driven (work and memory grow with synapses and spikes, not N²);
long runs are processed in chunks whose monitor data can be streamed to an HDF5 file. With
``differentiable=True`` spikes use a surrogate gradient so the network trains by BPTT.

Spiking runs without gradient (``Simulator.run`` by default) use a fused loop
(:class:`.fast_loop._FastLoop`): LIF populations with equal parameters share one state tensor and one
in-place kernel call, and all projections deliver through one arrival buffer, with results
bit-identical to the general loop (``Simulator.fast_loop = False``), which rate mode,
training, carried state and per-synapse delays use.

The same seed gives bit-identical results on CPU.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .. import dynamics as dyn
from .._memory import check_memory, host_memory_bytes
from .._validate import check_choice, check_int, check_positive
from ..dynamics import rate as rate_fn
from ..errors import ParameterError, ShapeError, SimulationError
from ..network import (
    Network,
    PoissonSource,
    Population,
    SpikeTensorSource,
    SpikeTimesSource,
    draw_population_values,
)
from ..neurons import LIF, AdLIF, CubaLIF, Izhikevich, RateUnit
from ..results import Result
from ..values import draw
from .fast_loop import _FastLoop
from .projection import _Projection, _SparseGroup
from .recording import _Recorder, _TensorRecorder

__all__ = ["Simulator", "simulate"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_BATCHED_KINDS = ("dense", "one_to_one", "conv2d")  # projections batched over all steps


def _input_dict(where: str, inputs: Any) -> dict[str, Any]:
    """``inputs`` of run/forward as a new dict (None: empty); anything but a mapping is a
    ParameterError."""
    if inputs is None:
        return {}
    if not isinstance(inputs, Mapping):
        raise ParameterError(
            where,
            "inputs",
            "a dict mapping spike_tensor sources to tensors",
            f"a {type(inputs).__name__}",
        )
    return dict(inputs)


def _device(d: Any) -> torch.device:
    """A torch device this process can use (a typed error for a misspelt or absent one)."""
    try:
        dev = torch.device(d if d is not None else "cpu")
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ParameterError(
            "run", "device", "a torch device such as 'cpu' or 'cuda:0'", d, hint=str(exc)
        ) from None
    if dev.type == "meta":
        raise ParameterError("run", "device", "a device that holds data (not 'meta')", d)
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ParameterError("run", "device", "'cpu' (no CUDA device is available)", d)
        if dev.index is not None and dev.index >= n:
            raise ParameterError("run", "device", f"one of cuda:0 .. cuda:{n - 1}", d)
    elif dev.type != "cpu":
        try:
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError) as exc:
            raise ParameterError(
                "run", "device", "an available torch device", d, hint=str(exc)
            ) from None
    return dev


def _memory_limits(device: torch.device) -> tuple[int | None, int | None]:
    """(host, device) memory in bytes, None where unknown."""
    host = host_memory_bytes()
    if device.type == "cuda":
        return host, int(torch.cuda.get_device_properties(device).total_memory)
    return host, host if device.type == "cpu" else None


def _check_memory(network: Network, batch: int, itemsize: int, device: torch.device) -> None:
    """Refuse, before allocating, what cannot fit the memory of ``device`` (see
    :func:`spikesim._memory.check_memory`)."""
    host, dev_limit = _memory_limits(device)
    check_memory(
        network,
        batch=batch,
        itemsize=itemsize,
        host_bytes=host,
        device_bytes=dev_limit,
        device=str(device) if device.type != "cpu" else None,
    )


_VALUES_EXPECTED = {
    "real": "finite numbers (values='real')",
    "count": "integers >= 0 (values='count': events per step)",
    "binary": "0 or 1 (values='binary': spikes)",
}
_CHECK_BLOCK = 1 << 24  # entries range-checked at a time (bounded temporaries)
_FRACTION_BLOCK_CPU = 1 << 18  # entries checked for fractions at a time: stays in cache


def _block_ok(c: torch.Tensor, values: str) -> bool:
    """Whether every entry of ``c`` is one ``values`` allows: one min/max reduction (no
    temporary; NaN propagates through it), and for 'count' and 'binary' floats one pass for
    fractions (in the range checked first, integers are all 'binary' takes)."""
    floating = c.dtype.is_floating_point
    lo, hi = torch.aminmax(c)
    if floating and not bool(torch.isfinite(lo) & torch.isfinite(hi)):
        return False
    if values == "real":
        return True
    if not bool(lo >= 0) or values == "binary" and not bool(hi <= 1):
        return False
    if not floating:
        return True
    size = _FRACTION_BLOCK_CPU if c.device.type == "cpu" else c.numel()
    return not any(bool(piece.frac().any()) for piece in c.reshape(-1).split(size))


def _first_bad(c: torch.Tensor, values: str) -> tuple[int, ...]:
    """Index of the first entry of ``c`` (in step, batch, neuron order) ``values`` refuses."""
    if values == "binary":
        bad = (c != 0) & (c != 1)
    else:
        bad = (
            ~torch.isfinite(c)
            if c.dtype.is_floating_point
            else torch.zeros_like(c, dtype=torch.bool)
        )
        if values == "count":
            bad |= c < 0
            if c.dtype.is_floating_point:
                bad |= c != torch.trunc(c)
    return tuple(int(i) for i in torch.nonzero(bad)[0])


def check_spike_values(where: str, t: torch.Tensor, values: str) -> None:
    """Refuse an input tensor [steps, batch, neurons] with an entry ``values`` does not allow
    (see :class:`~spikesim.network.SpikeTensorSource`), naming the first one and its place.
    Bool tensors are 0/1 and integer tensors finite by construction; the others are read once
    or twice, in blocks of whole steps (benchmarks/spike_input_check.md has the cost)."""
    if t.dtype == torch.bool or values == "real" and not t.dtype.is_floating_point:
        return
    x = t.detach()
    steps = max(1, _CHECK_BLOCK // max(1, x[0].numel()))
    for s0 in range(0, x.shape[0], steps):
        c = x[s0 : s0 + steps]
        if _block_ok(c, values):
            continue
        i = _first_bad(c, values)
        value = c[i].item()
        raise ParameterError(
            where,
            "spike tensor",
            _VALUES_EXPECTED[values],
            f"{value!r} at step {s0 + i[0]}, batch {i[1]}, neuron {i[2]}",
            hint={
                "binary": "Graded input needs add_spike_tensor(..., values='count' or 'real').",
                "count": "Graded input needs add_spike_tensor(..., values='real').",
            }.get(values, ""),
        )


def _dtype(d: Any) -> torch.dtype:
    if isinstance(d, torch.dtype):
        if d not in (torch.float32, torch.float64):
            raise ParameterError("run", "dtype", "torch.float32 or torch.float64", d)
        return d
    if d not in _DTYPES:
        raise ParameterError("run", "dtype", "'float32' or 'float64'", d)
    return _DTYPES[d]


@dataclasses.dataclass
class _Pop:
    name: str
    size: int
    model: Any
    params: Any = None
    step: Callable[..., Any] | None = None
    init: Callable[[int], Any] | None = None
    # rate-mode helpers
    fi_table: tuple[torch.Tensor, torch.Tensor] | None = None


def _per_neuron(
    value: Any, n: int, gen: np.random.Generator, where: str, field: str, device, dtype
):
    arr = draw(value, (n,), gen, where=where, field=field)
    if np.all(arr == arr[0]) and not isinstance(value, np.ndarray):
        return float(arr[0])
    return torch.as_tensor(arr, dtype=dtype, device=device)


class Simulator(torch.nn.Module):
    """Runs one network description; reusable for several runs and for training.

    Building draws the connectivity and per-neuron values from ``seed`` (numpy, in the order
    :meth:`Network.frozen` and the Brian2 reference use); :meth:`run` simulates and records
    the monitors, :meth:`forward` is the differentiable run for training (BPTT). The same
    seed gives identical results on the CPU.

    Parameters
    ----------
    network : Network
        The description.
    mode : str
        ``"spiking"`` (default) or ``"rate"``.
    batch_size : int
        Independent trials run side by side (>= 1; default 1).
    device : str or torch.device, optional
        Where to run; default ``"cpu"``.
    dtype : str or torch.dtype
        ``"float32"`` (default) or ``"float64"``.
    seed : int
        In ``[0, 2**62)``: draws connectivity and initial values (numpy) and the runtime
        noise of Poisson sources (torch).
    differentiable : bool
        Spikes with a surrogate gradient, for BPTT through :meth:`forward` (default False).
    surrogate_alpha : float
        Steepness of the SuperSpike surrogate gradient (> 0; default 100).

    Raises
    ------
    ParameterError
        An invalid option, or a network whose state and synapse tables cannot fit in the
        memory of ``device`` (refused before anything is allocated).

    Attributes
    ----------
    Settings that may be changed between runs:

    fast_loop : bool
        Default True: spiking runs without gradient use the fused loop; False selects the
        general loop (same results, more operations per step).
    compiled_loop : bool
        Default False. True runs that fused loop compiled (numba, CPU,
        :mod:`spikesim.compiled`) when the network is supported: the same spikes bit for
        bit, several times faster; otherwise the torch loop runs and ``compiled_reason``
        says why (None after a compiled run).
    fused_layers : bool
        Default True: in a differentiable ``forward``, a CubaLIF or current-based LIF
        population fed only by dense, one-to-one or convolutional projections from
        spike-tensor inputs or from populations that already ran this way runs over all
        steps as one autograd node (:mod:`spikesim.dynamics.fused`), its input the
        projection of all steps in one batched product. A feed-forward chain thus runs
        layer by layer, and with no step loop at all when every population qualifies. The
        same spikes and carry as the step loop, gradients equal to float rounding, less
        memory and time for BPTT; False steps every population (the step-by-step graph).
    spike_product_precision : str
        Precision of the batched product of a dense projection leaving a spike tensor or a
        fused layer (spiking mode): ``"fp32"`` (default), ``"bf16"`` or ``"fp8"`` (spikes
        exact, the weight and the backward's output gradient rounded, fp32 accumulation
        and result; fp8 needs a CUDA GPU of compute capability >= 8.9). See
        :func:`spikesim.spike_matmul.spike_linear`; another value is a ParameterError
        when such a product runs.
    sparse_spike_products : bool
        Default False. True: that product takes the spikes as a sparse CSR matrix
        (event-driven: work and memory grow with the number of spikes; fp32 only, a
        ParameterError with another ``spike_product_precision``). On the 2-core CPU it
        beat the dense product at 5 % input activity; on an H200 the dense product was
        4.4x faster (benchmarks/linear_lif.md).

    Set by the last run (read only):

    compiled_reason : str or None
        Why the last run did not run compiled (None: it did).
    fused_populations : tuple of str
        The populations the last differentiable ``forward`` ran as fused layers, in the
        order they ran (all of them: that run had no step loop).
    dt_s : float
        The network's time step in seconds.
    """

    def __init__(
        self,
        network: Network,
        *,
        mode: str = "spiking",
        batch_size: int = 1,
        device: str | torch.device | None = None,
        dtype: Any = "float32",
        seed: int = 0,
        differentiable: bool = False,
        surrogate_alpha: float = 100.0,
    ) -> None:
        super().__init__()
        if not isinstance(network, Network):
            raise ParameterError("run", "network", "a spikesim.Network", network)
        self.network = network
        self.mode = check_choice("run", "mode", mode, ("spiking", "rate"))
        self.batch_size = check_int("run", "batch_size", batch_size, minimum=1)
        self.device = _device(device)
        self.dtype = _dtype(dtype)
        self.seed = check_int("run", "seed", seed, minimum=0)
        if self.seed >= 1 << 62:  # torch seeds are 64-bit; leave room for the offsets added
            raise ParameterError("run", "seed", "an integer in [0, 2**62)", seed)
        self.differentiable = bool(differentiable)
        self.surrogate_alpha = check_positive("run", "surrogate_alpha", surrogate_alpha)
        self.dt_s = network.dt_s
        _check_memory(network, self.batch_size, self.dtype.itemsize, self.device)
        gen = np.random.default_rng(self.seed)
        self.pops: dict[str, _Pop] = {}
        for p in network.populations.values():
            self.pops[p.name] = self._build_pop(p, gen)
        self.projs = torch.nn.ModuleDict()
        for name in network.projections:
            self.projs[name] = _Projection(
                name,
                network,
                gen,
                device=self.device,
                dtype=self.dtype,
                differentiable=self.differentiable,
                keep_coo=self.differentiable or self.mode == "rate",
            )
        self._incoming: dict[str, list[_Projection]] = {n: [] for n in network.populations}
        for pr in self._projections():
            self._incoming[pr.post].append(pr)  # type: ignore[index]
        self._spike_fn = (
            (lambda x: dyn.superspike(x, self.surrogate_alpha)) if self.differentiable else None
        )
        # spiking runs without gradient use the fused loop (same results, fewer operations
        # per step); False selects the general loop, which steps one population at a time
        self.fast_loop = True
        # True (default): differentiable runs step a population fed only by spike-tensor inputs
        # or by populations already run this way over all steps at once (one autograd node);
        # False steps it with the others (same spikes; the step-by-step graph)
        self.fused_layers = True
        # True: the fast loop runs compiled (numba, CPU; :mod:`spikesim.compiled`) when the
        # network is supported: the same spikes as the torch fast loop. Otherwise (or False)
        # the torch loop runs; ``compiled_reason`` then says why (None: it ran compiled)
        self.compiled_loop = False
        self.compiled_reason: str | None = None
        # the populations the last differentiable forward ran as fused layers (in the order
        # they ran); all of them: that run had no step loop
        self.fused_populations: tuple[str, ...] = ()
        # precision of the one batched product of a dense projection leaving a spike tensor
        # (spiking mode): "fp32" (default), "bf16" or "fp8" (spikes exact, the weight and the
        # backward's output gradient rounded, fp32 accumulation and result; fp8 needs a CUDA
        # GPU of compute capability >= 8.9). See :func:`spikesim.spike_matmul.spike_linear`.
        self.spike_product_precision = "fp32"
        # True: that product takes the spike tensor as a sparse CSR matrix (event-driven:
        # work and memory grow with the number of spikes; fp32). On the 2-core CPU it beat the
        # dense product at 5 % input activity; on an H200 the dense product was 4.4x faster
        # (benchmarks/linear_lif.md). Only with spike_product_precision "fp32".
        self.sparse_spike_products = False

    # ---------------------------------------------------------------------- building
    def _build_pop(self, p: Population, gen: np.random.Generator) -> _Pop:
        where = f"population {p.name!r}"
        m, n, dev, dt = p.model, p.size, self.device, self.dtype
        pop = _Pop(p.name, n, m)
        vals = draw_population_values(p, gen)  # same order as Network.frozen and Brian2

        def val(field: str) -> float | torch.Tensor:
            arr = vals[field]
            if arr.size and np.all(arr == arr[0]):
                return float(arr[0])
            return torch.as_tensor(arr, dtype=dt, device=dev)

        if isinstance(m, PoissonSource):
            pop.params = torch.as_tensor(vals["rate_hz"], dtype=dt, device=dev)
        elif isinstance(m, SpikeTimesSource):
            steps = np.floor(
                (np.asarray(m.times_s, dtype=np.float64) + 1e-3 * self.dt_s) / self.dt_s
            ).astype(np.int64)
            order = np.argsort(steps, kind="stable")
            pop.params = (steps[order], np.asarray(m.indices, np.int64)[order])
        elif isinstance(m, SpikeTensorSource):
            pop.params = None
        elif isinstance(m, LIF):  # also AdLIF
            lp = dyn.LIFParams(
                m.tau_mem_s,
                m.tau_syn_exc_s,
                m.tau_syn_inh_s,
                m.v_rest_mV,
                m.v_reset_mV,
                m.v_th_mV,
                val("i_bias_mV"),
                int(round(m.t_ref_s / self.dt_s)),
                m.synapse == "conductance",
                m.e_exc_mV,
                m.e_inh_mV,
            )
            v0 = val("v_init_mV")
            if isinstance(m, AdLIF):
                pop.params = dyn.AdLIFParams(lp, m.tau_adapt_s, m.a, m.b_mV)
                pop.step = dyn.adlif_step
            else:
                pop.params = lp
                pop.step = dyn.lif_step
            adaptive = isinstance(m, AdLIF)
            pop.init = lambda B, v0=v0, n=n, ad=adaptive: self._lif_init(B, n, v0, ad)
        elif isinstance(m, CubaLIF):
            pop.params = dyn.CubaLIFParams(m.tau_syn_s, m.tau_mem_s, m.v_th, val("bias"))
            v0 = val("v_init")
            pop.step = dyn.cuba_lif_step
            pop.init = lambda B, v0=v0, n=n: dyn.CubaLIFState(
                self._zeros(B, n), self._full(B, n, v0)
            )
        elif isinstance(m, Izhikevich):
            a, b, c, d, ib = (val(f) for f in ("a", "b", "c", "d", "i_bias"))
            pop.params = dyn.IzhikevichParams(
                a, b, c, d, m.v_peak_mV, ib, m.tau_syn_exc_s, m.tau_syn_inh_s
            )
            v0 = val("v_init_mV")
            pop.step = dyn.izhikevich_step

            def init(B, v0=v0, n=n, b=b):
                v = self._full(B, n, v0)
                return dyn.IzhikevichState(v, v * b, self._zeros(B, n), self._zeros(B, n))

            pop.init = init
            if self.mode == "rate":
                if not all(isinstance(v, float) for v in (a, b, c, d)):
                    raise ParameterError(
                        where,
                        "a, b, c, d",
                        "shared (scalar) values in rate mode",
                        "per-neuron values",
                    )
                cur, rt = rate_fn.izhikevich_fi_table(a, b, c, d, v_peak_mV=m.v_peak_mV)  # type: ignore[arg-type]
                pop.fi_table = (
                    torch.as_tensor(cur, dtype=dt, device=dev),
                    torch.as_tensor(rt, dtype=dt, device=dev),
                )
        elif isinstance(m, RateUnit):
            pop.params = m
        else:  # pragma: no cover
            raise ParameterError(where, "model", "a known neuron model", m)
        return pop

    def _zeros(self, B: int, n: int) -> torch.Tensor:
        return torch.zeros(B, n, dtype=self.dtype, device=self.device)

    def _full(self, B: int, n: int, v: Any) -> torch.Tensor:
        if isinstance(v, torch.Tensor):
            return v.expand(B, n).clone()
        return torch.full((B, n), float(v), dtype=self.dtype, device=self.device)

    def _lif_init(self, B: int, n: int, v0: Any, adaptive: bool):
        v = self._full(B, n, v0)
        ref = torch.zeros(B, n, dtype=torch.int32, device=self.device)
        if adaptive:
            return dyn.AdLIFState(v, self._zeros(B, n), self._zeros(B, n), ref, self._zeros(B, n))
        return dyn.LIFState(v, self._zeros(B, n), self._zeros(B, n), ref)

    # ---------------------------------------------------------------- run helpers
    def _currents(self) -> dict[str, list[tuple[int, int | None, Any]]]:
        gen = np.random.default_rng(self.seed + 7919)
        out: dict[str, list[tuple[int, int | None, Any]]] = {n: [] for n in self.pops}
        for c in self.network.currents.values():
            n = self.pops[c.target].size
            amp = _per_neuron(
                c.amplitude_mV,
                n,
                gen,
                f"current {c.name!r}",
                "amplitude_mV",
                self.device,
                self.dtype,
            )
            start = int(round(c.start_s / self.dt_s))
            stop = None if c.stop_s is None else int(round(c.stop_s / self.dt_s))
            out[c.target].append((start, stop, amp))
        return out

    def _check_inputs(
        self, inputs: dict[str, torch.Tensor] | None, n_steps: int
    ) -> dict[str, torch.Tensor]:
        inputs = _input_dict("run", inputs)
        for name, pop in self.pops.items():
            if isinstance(pop.model, SpikeTensorSource) and name not in inputs:
                raise ParameterError(
                    f"population {name!r}",
                    "inputs",
                    f"a spike tensor [steps, batch, {pop.size}] for this spike_tensor source",
                    "nothing",
                )
        for name, t in inputs.items():
            if name not in self.pops or not isinstance(self.pops[name].model, SpikeTensorSource):
                raise ParameterError("run", "inputs", "names of spike_tensor sources", name)
            try:
                t = torch.as_tensor(t)
            except (TypeError, ValueError, RuntimeError):
                raise ParameterError(
                    f"input {name!r}",
                    "spike tensor",
                    "a tensor or array of numbers",
                    t if isinstance(t, str) else f"a {type(t).__name__}",
                ) from None
            if t.dtype.is_complex:
                raise ParameterError(f"input {name!r}", "spike tensor", "real numbers", t.dtype)
            size = self.pops[name].size
            expected = (n_steps, self.batch_size, size)
            if t.dim() > 3:
                t = t.reshape(t.shape[0], t.shape[1], -1)
            if tuple(t.shape) != expected:
                raise ShapeError(f"input {name!r}", "spike tensor", expected, tuple(t.shape))
            check_spike_values(f"input {name!r}", t, self.pops[name].model.values)
            inputs[name] = t
        return inputs

    # -------------------------------------------------------------------- the loop
    def run(
        self,
        duration_s: float,
        *,
        inputs: dict[str, torch.Tensor] | None = None,
        out: str | os.PathLike | None = None,
        chunk_steps: int | None = None,
        progress: bool | None = None,
        nan_check_every: int | None = None,
    ) -> Result:
        """Simulate ``duration_s`` of biological time and return the monitored data.

        Parameters
        ----------
        duration_s : float
            Simulated time in seconds (> 0), rounded to a whole number of steps (>= 1).
        inputs : dict, optional
            Maps each spike_tensor source to a tensor [steps, batch, size] (or [steps,
            batch, *shape]) of exactly the run's steps and ``batch_size``, its entries as the
            source's ``values`` says; required when the network has such sources.
        out : str or os.PathLike, optional
            HDF5 file the monitor data of each chunk is streamed to as the run goes (memory
            bounded by one chunk; an interrupted run leaves what it recorded, marked
            incomplete); the returned result is then read back from it.
        chunk_steps : int, optional
            Steps per chunk (>= 1); default: as many as keep one chunk's state near 2**26
            values, at most 10,000. Results do not depend on it.
        progress : bool, optional
            Show a progress bar; None (default): for runs of 100,000 steps or more.
        nan_check_every : int, optional
            Check every this many steps (>= 1) that no state variable became NaN or Inf
            (each check is one reduction; on a GPU a device sync). Default: every step on
            the CPU, every 100 steps on a GPU; the last step is always checked, and the
            compiled loop checks after each block it runs.

        Returns
        -------
        Result
            Spikes, states and rates of the monitors, the run settings and provenance.

        Raises
        ------
        ParameterError
            An invalid option or a missing or wrong input (a ShapeError for a wrong shape).
        SimulationError
            A state variable became NaN or Inf (naming the population, variable and step).
        """
        duration_s = check_positive("run", "duration_s", duration_s)
        n_steps = int(round(duration_s / self.dt_s))
        if n_steps < 1:
            raise ParameterError("run", "duration_s", f">= dt_s ({self.dt_s})", duration_s)
        inputs = self._check_inputs(inputs, n_steps)
        if chunk_steps is None:
            total = sum(p.size for p in self.pops.values()) * self.batch_size
            chunk_steps = int(max(1, min(10_000, (1 << 26) // max(total, 1))))
        chunk_steps = check_int("run", "chunk_steps", chunk_steps, minimum=1)
        if nan_check_every is not None:
            check_int("run", "nan_check_every", nan_check_every, minimum=1)
        nan_every = nan_check_every or (1 if self.device.type == "cpu" else 100)
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise ParameterError("run", "progress", "True, False or None", progress)
        show = progress if progress is not None else n_steps >= 100_000
        t0 = time.perf_counter()
        rec = _Recorder(self, n_steps, out=out)
        try:
            with torch.no_grad() if not self.differentiable else torch.enable_grad():
                self._loop(n_steps, inputs, rec, chunk_steps, show, nan_every)
        except BaseException:
            rec.abort()
            raise
        wall = time.perf_counter() - t0
        return rec.result(wall)

    def forward(
        self,
        inputs: dict[str, torch.Tensor],
        *,
        n_steps: int | None = None,
        record: tuple[str, ...] = (),
        carry: dict[str, Any] | None = None,
        return_carry: bool = False,
    ) -> Any:
        """Differentiable run for training: returns the spikes (or rates) [T, B, N] of ``record``.

        For truncated BPTT a long input can be run in pieces: ``return_carry=True`` returns
        ``(tensors, carry)`` where ``carry`` holds the neuron states and the deliveries still
        in flight at the end of the piece; passing it as ``carry=`` to the next call continues
        the run exactly where it stopped (detach its tensors to cut the gradient there). The
        state lives in the carry, never in the module, so the module stays stateless across
        calls (safe under DistributedDataParallel).

        Parameters
        ----------
        inputs : dict
            Maps each spike_tensor source to a tensor [T, batch_size, size] (as :meth:`run`).
        n_steps : int, optional
            Steps T to run (>= 1); default: the first input's length (1 without inputs).
        record : str or tuple of str
            Names of the populations whose output is returned.
        carry : dict, optional
            The carry a previous call returned: continue from there.
        return_carry : bool
            Also return the carry at the end of this piece.

        Returns
        -------
        dict or tuple
            ``{population: tensor [T, B, N]}`` (spikes in spiking mode, rates in Hz in rate
            mode), or ``(that dict, carry)`` with ``return_carry=True``.

        Raises
        ------
        ParameterError
            An unknown population in ``record``, a bad ``n_steps``, input or ``carry``, or a
            carry with a network that has per-synapse delays or spike_times sources.
        """
        inputs = _input_dict("forward", inputs)
        if n_steps is None:
            first: Any = next(iter(inputs.values())) if inputs else None
            shp: Any = getattr(first, "shape", None) if first is not None else ()
            shp = np.shape(first) if shp is None else shp
            n_steps = int(shp[0]) if len(shp) else 1
        n_steps = check_int("forward", "n_steps", n_steps, minimum=1)
        inputs = self._check_inputs(inputs, n_steps)
        if isinstance(record, str):
            record = (record,)
        for name in record:
            if name not in self.pops:
                known = ", ".join(self.pops)
                raise ParameterError(
                    "forward", "record", f"names of populations (known: {known})", name
                )
        if carry is not None:
            keys = {"step", "states", "pending"}
            if not isinstance(carry, dict) or not keys <= set(carry):
                raise ParameterError(
                    "forward",
                    "carry",
                    "the carry a previous forward(..., return_carry=True) returned",
                    carry if not isinstance(carry, dict) else f"a dict with keys {sorted(carry)}",
                )
            unknown = sorted(set(carry["states"]) - set(self.pops))
            if unknown:
                raise ParameterError(
                    "forward", "carry", "states of populations of this network", unknown[0]
                )
        rec = _TensorRecorder(tuple(record))
        out_carry = self._loop(n_steps, inputs, rec, n_steps, False, 10**9, carry=carry)
        if return_carry:
            return rec.tensors(), out_carry
        return rec.tensors()

    def _loop(
        self,
        n_steps: int,
        inputs: dict[str, torch.Tensor],
        rec: Any,
        chunk_steps: int,
        show: bool,
        nan_every: int,
        carry: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        B, dev, dt = self.batch_size, self.device, self.dtype
        rate_mode = self.mode == "rate"
        start = 0 if carry is None else int(carry["step"])
        tgen = torch.Generator(device=dev)
        tgen.manual_seed(self.seed if start == 0 else self.seed + 1_000_003 * start)
        currents = self._currents()
        neuron_pops = [
            p for p in self.pops.values() if p.step is not None or isinstance(p.model, RateUnit)
        ]
        states: dict[str, Any] = {}
        for p in neuron_pops:
            states[p.name] = self._init_state(p, B)
        # delivery: per (post, receptor) a dict step -> tensor, or a ring buffer for hetero delays
        pending: dict[tuple[str, str], dict[int, Any]] = {
            (p, r): {} for p in self.pops for r in ("exc", "inh")
        }
        rings: dict[tuple[str, str, bool], torch.Tensor] = {}
        for pr in self._projections():
            if pr.hetero:
                L = pr.max_delay + 2
                for sq in (False, True) if rate_mode else (False,):
                    key = (pr.post, pr.receptor, sq)
                    old = rings.get(key)
                    if old is None or old.shape[0] < L:
                        rings[key] = torch.zeros(L, B, pr.n_post + 1, dtype=dt, device=dev)
        if carry is not None:
            if rings or any(isinstance(p.model, SpikeTimesSource) for p in self.pops.values()):
                raise ParameterError(
                    "run",
                    "carry",
                    "a network without per-synapse delays or spike_times sources",
                    "carry",
                )
            states.update(carry["states"])
            for key, due in carry["pending"].items():
                pending[key] = dict(due)
        for pr in self._projections():  # trainable sparse weights into the padded rows
            pr.sync_rows()
        times = {n: p.params for n, p in self.pops.items() if isinstance(p.model, SpikeTimesSource)}
        # projections leaving a spike-tensor source: the whole input is known before the loop,
        # so one batched product for all steps replaces one small product per step (and one
        # weight-gradient term per step in BPTT), when the result fits in 2**27 elements (no
        # limit in a differentiable run: BPTT keeps O(T * B * n) per population anyway)
        precomputed: dict[str, torch.Tensor] = {}
        if not rate_mode:
            for pr in self._projections():
                src = self.pops[pr.pre].model
                if (
                    isinstance(src, SpikeTensorSource)
                    and pr.kind in _BATCHED_KINDS
                    and (self.differentiable or n_steps * B * pr.n_post <= 1 << 27)
                ):
                    x_all = inputs[pr.pre][:n_steps].to(device=dev, dtype=dt)
                    precomputed[pr.name] = self._batched_product(pr, x_all)
        # populations driven only by batched products run over all steps at once; their own
        # outgoing products are then batched too, so a feed-forward chain runs layer by layer
        layer_spikes: dict[str, tuple[torch.Tensor, ...]] = {}
        self.fused_populations = ()
        if self.fused_layers and isinstance(rec, _TensorRecorder):
            whole: dict[str, torch.Tensor] = {}
            progressed = True
            while progressed:  # in dependency order, whatever the order of the description
                progressed = False
                for p in neuron_pops:
                    if p.name in whole:
                        continue
                    fused = self._fused_layer(p, n_steps, B, precomputed, currents, states, pending)
                    if fused is None:
                        continue
                    whole[p.name] = fused
                    progressed = True
                    for pr in self._projections():
                        if pr.pre == p.name and pr.kind in _BATCHED_KINDS and not pr.hetero:
                            precomputed[pr.name] = self._batched_product(pr, fused)
            self.fused_populations = tuple(whole)
            if (
                whole
                and len(whole) == len(neuron_pops)
                and all(pr.name in precomputed for pr in self._projections())
            ):
                # every population ran fused and nothing is left to step: no step loop
                return self._finish_fused(
                    whole, precomputed, inputs, rec, states, pending, start, n_steps, show
                )
            for name, z in whole.items():
                # fresh per-step tensors: a BLAS product of a view at an unaligned offset may
                # round differently, and the populations downstream must get the loop's bits
                layer_spikes[name] = tuple(t.clone() for t in z.unbind(0))
        bar = None
        if show:
            from tqdm import tqdm

            bar = tqdm(total=n_steps, unit="step", desc=self.network.name)
        self.compiled_reason = (
            "the fused fast loop does not apply (fast_loop off, rate mode, gradient, a carried "
            "state, a custom recorder or per-synapse delays)"
        )
        if _FastLoop.eligible(self, carry, rec):
            loop = _FastLoop(self, B, precomputed)
            self.compiled_reason = "compiled_loop is False"
            if self.compiled_loop:
                from ..compiled import CompiledLoop, unsupported_reason

                rec.use_block(loop.A, loop.where)
                self.compiled_reason = unsupported_reason(loop, rec)
            if self.compiled_reason is None:
                CompiledLoop(loop).run(n_steps, rec, chunk_steps, bar, tgen)
            else:
                loop.run(n_steps, inputs, rec, chunk_steps, bar, nan_every, tgen)
            rec.flush()
            if bar is not None:
                bar.close()
            return {"step": start + n_steps, "states": {}, "pending": {}}
        projections = self._projections()
        sources = [
            (name, p)
            for name, p in self.pops.items()
            if isinstance(p.model, (PoissonSource, SpikeTimesSource, SpikeTensorSource))
        ]
        # event-driven sparse projections leaving one population: one gather-scatter for all
        groups = (
            self._sparse_groups(projections, B, precomputed)
            if not rate_mode and not self.differentiable
            else {}
        )
        grouped = {pr.name for g in groups.values() for pr, _, _ in g.members}
        # populations whose arrivals are only the pending deliveries (no ring, no current)
        ring_posts = {key[0] for key in rings}
        plain = {
            p.name: (pending[(p.name, "exc")], pending[(p.name, "inh")])
            for p in neuron_pops
            if p.name not in ring_posts and not currents[p.name]
        }
        activity: dict[str, torch.Tensor] = {}
        # the batched products as per-step views: indexing [k] in the loop would make BPTT
        # build a zero [T, B, n] gradient per step (O(T^2)); unbind's backward stacks once
        by_step = {name: cur.unbind(0) for name, cur in precomputed.items()}
        for k in range(n_steps):
            # 1) sources
            for name, p in sources:
                m = p.model
                if isinstance(m, PoissonSource):
                    prob = (p.params * self.dt_s).expand(B, p.size)
                    activity[name] = (
                        prob / self.dt_s
                        if rate_mode
                        else (
                            torch.rand(B, p.size, generator=tgen, device=dev, dtype=dt) < prob
                        ).to(dt)
                    )
                elif isinstance(m, SpikeTimesSource):
                    steps, idx = times[name]
                    lo, hi = np.searchsorted(steps, k), np.searchsorted(steps, k, side="right")
                    z = torch.zeros(B, p.size, dtype=dt, device=dev)
                    if hi > lo:
                        z[:, torch.as_tensor(idx[lo:hi], device=dev)] = 1.0
                    activity[name] = z / self.dt_s if rate_mode else z
                elif isinstance(m, SpikeTensorSource):
                    z = inputs[name][k].to(device=dev, dtype=dt)
                    activity[name] = z / self.dt_s if rate_mode else z
            # 2) neurons
            for p in neuron_pops:
                z_seq = layer_spikes.get(p.name)
                if z_seq is not None:  # run before the loop; its arrivals were in it
                    pending[(p.name, "exc")].pop(k, None)
                    pending[(p.name, "inh")].pop(k, None)
                    activity[p.name] = z_seq[k]
                    continue
                due_now = plain.get(p.name)
                if due_now is not None:
                    x = (due_now[0].pop(k, 0.0), due_now[1].pop(k, 0.0), 0.0)
                else:
                    x = self._arrivals(p, k, pending, rings, currents)
                z, states[p.name] = self._step(p, x, states[p.name], tgen, rate_mode)
                activity[p.name] = z
            # 3) propagate to future steps
            nonzero: dict[str, Any] = {}  # active (trial, neuron) pairs, shared per pre population
            merged: dict[str, torch.Tensor] = {}
            for pre, g in groups.items():
                g.deliver(activity[pre], merged)
            for pr in projections:
                contrib: Any
                if pr.name in grouped:
                    contrib = merged[pr.name]
                else:
                    a = activity[pr.pre]
                    active = None
                    if pr.kind == "sparse" and not rate_mode and not self.differentiable:
                        active = nonzero.get(pr.pre)
                        if active is None:
                            active = nonzero[pr.pre] = torch.nonzero(a, as_tuple=True)
                    if pr.hetero:
                        pr.scatter_delayed(
                            a, rings[(pr.post, pr.receptor, False)], k, active=active
                        )
                        if rate_mode:
                            pr.scatter_delayed(
                                a, rings[(pr.post, pr.receptor, True)], k, square=True
                            )
                        continue
                    if pr.name in precomputed:
                        contrib = by_step[pr.name][k]
                    elif rate_mode:  # mean and variance terms (one gather for both)
                        contrib = pr.rate_pair(a)
                    else:
                        contrib = pr(a, active=active)
                slot = pending[(pr.post, pr.receptor)]
                due = k + 1 + pr.base_delay
                slot[due] = contrib if due not in slot else _add(slot[due], contrib)
            # 4) record, check
            rec.record(k, activity, states)
            if (k + 1) % nan_every == 0 or k == n_steps - 1:
                self._check_finite(states, k)
            if (k + 1) % chunk_steps == 0:
                rec.flush()
            if bar is not None:
                bar.update(1)
        rec.flush()
        if bar is not None:
            bar.close()
        return _carry(start, n_steps, states, pending)

    def _finish_fused(
        self,
        whole: dict[str, torch.Tensor],
        precomputed: dict[str, torch.Tensor],
        inputs: dict[str, torch.Tensor],
        rec: _TensorRecorder,
        states: dict[str, Any],
        pending: dict[tuple[str, str], dict[int, Any]],
        start: int,
        n_steps: int,
        show: bool,
    ) -> dict[str, Any]:
        """End a run in which every population ran as one fused layer (a feed-forward net
        from spike tensors): record the whole spike tensors, keep the deliveries due after the
        run for the carry (as the step loop leaves them), check the final states once."""
        for name in rec.names:
            if name in whole:
                rec.whole[name] = whole[name]
            else:  # a spike-tensor source
                x = inputs[name][:n_steps].to(device=self.device, dtype=self.dtype)
                rec.whole[name] = x
        for pr in self._projections():  # projection order: the loop's order of summation
            cur = precomputed[pr.name]
            slot = pending[(pr.post, pr.receptor)]
            for k in range(max(0, n_steps - 1 - pr.base_delay), n_steps):
                due = k + 1 + pr.base_delay
                slot[due] = cur[k] if due not in slot else _add(slot[due], cur[k])
        self._check_finite(states, n_steps - 1)
        if show:
            from tqdm import tqdm

            with tqdm(total=n_steps, unit="step", desc=self.network.name) as bar:
                bar.update(n_steps)
        return _carry(start, n_steps, states, pending)

    def _batched_product(self, pr: _Projection, spikes: torch.Tensor) -> torch.Tensor:
        """The projection of spikes [T, B, n_pre] for every step in one product: [T, B, n_post].

        Dense products take ``spike_product_precision`` (spikes are exact in bf16/fp8) or CSR
        spikes (``sparse_spike_products``); convolutions run channels-last (on CPU about 1.6x
        faster for the few input channels of event data; same values)."""
        T, B = int(spikes.shape[0]), int(spikes.shape[1])
        flat = spikes.reshape(T * B, -1)
        if pr.kind == "dense" and self.spike_product_precision != "fp32":
            if self.sparse_spike_products:
                raise ParameterError(
                    "simulator",
                    "sparse_spike_products",
                    "False when spike_product_precision is not 'fp32'",
                    True,
                )
            from ..spike_matmul import spike_linear

            out = spike_linear(flat, pr.weight, precision=self.spike_product_precision)
        elif pr.kind == "dense" and self.sparse_spike_products:
            with warnings.catch_warnings():  # torch calls CSR support "beta"
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
                out = flat.to_sparse_csr() @ pr.weight.t()  # sparse x dense (SpMM)
        elif pr.kind == "conv2d":
            c, h, w = pr.in_shape  # type: ignore[misc]
            img = flat.reshape(T * B, c, h, w).contiguous(memory_format=torch.channels_last)
            out = torch.nn.functional.conv2d(
                img,
                pr.weight,
                stride=pr.stride,  # type: ignore[arg-type]
                padding=pr.padding,  # type: ignore[arg-type]
            )
        else:
            out = pr(flat)
        return out.contiguous().reshape(T, B, -1)

    def _fused_layer(
        self,
        p: _Pop,
        n_steps: int,
        B: int,
        precomputed: dict[str, torch.Tensor],
        currents: dict[str, list[tuple[int, int | None, Any]]],
        states: dict[str, Any],
        pending: dict[tuple[str, str], dict[int, Any]],
    ) -> torch.Tensor | None:
        """Run population ``p`` over all steps with a fused sequence kernel
        (:mod:`spikesim.dynamics.fused`) if every incoming projection is precomputed (from a
        spike tensor), it has no injected current and its model is CubaLIF (one receptor) or a
        current-based LIF. Returns its spikes [T, B, n] (and sets its final state), or None.

        The arrivals of each step are the precomputed products shifted by one step plus the
        projection's delay and summed in projection order, as the step loop adds them, plus
        the deliveries a carry brought in (due in this run; taken out of ``pending``), so the
        spikes are the step loop's, bit for bit (with at most two terms meeting in one step,
        as in a chain; more may round differently); gradients equal up to float rounding.
        """
        incoming = self._incoming[p.name]
        if (
            not self.differentiable
            or not incoming
            or currents[p.name]
            or any(pr.name not in precomputed for pr in incoming)
        ):
            return None
        m = p.model
        cuba = type(m) is CubaLIF
        if not (cuba or (type(m) is LIF and not p.params.conductance)):
            return None
        receptors = {pr.receptor for pr in incoming}
        if cuba and len(receptors) != 1:
            return None
        drives: dict[str, torch.Tensor] = {}
        for pr in incoming:  # projection order: the order the step loop sums them in
            lag = 1 + pr.base_delay
            cur = precomputed[pr.name].to(self.dtype)  # autocast may have made it bf16/fp16
            if lag >= n_steps:
                continue
            pad = torch.zeros((lag, *cur.shape[1:]), dtype=cur.dtype, device=cur.device)
            shifted = torch.cat([pad, cur[: n_steps - lag]])
            old = drives.get(pr.receptor)
            drives[pr.receptor] = shifted if old is None else old + shifted
        if not drives:
            return None
        if any(
            k < n_steps for r in ("exc", "inh") if r not in drives for k in pending[(p.name, r)]
        ):
            return None  # a carried delivery on a receptor nothing in this run drives
        for receptor, x in list(drives.items()):  # deliveries carried in from the last piece
            slot = pending[(p.name, receptor)]
            due = sorted(k for k in slot if k < n_steps)
            if due:
                extra = torch.zeros_like(x)
                for k in due:
                    extra[k] = slot.pop(k)
                drives[receptor] = x + extra
        state = states[p.name]
        st: Any
        if cuba:
            ((rec, x),) = drives.items()
            z, st = dyn.cuba_lif_sequence(
                -x if rec == "inh" else x,
                state,
                p.params,
                dt_s=self.dt_s,
                alpha=self.surrogate_alpha,
            )
        else:
            exc = drives.get("exc")
            if exc is None:  # inhibitory input only: nothing excitatory arrives
                exc = torch.zeros((n_steps, B, p.size), dtype=self.dtype, device=self.device)
            z, st = dyn.lif_sequence(
                exc,
                state,
                p.params,
                dt_s=self.dt_s,
                alpha=self.surrogate_alpha,
                x_inh=drives.get("inh"),
            )
        states[p.name] = st
        return z

    def _sparse_groups(
        self, projections: list[_Projection], B: int, precomputed: dict[str, torch.Tensor]
    ) -> dict[str, _SparseGroup]:
        by_pre: dict[str, list[_Projection]] = {}
        for pr in projections:
            if pr.kind == "sparse" and not pr.hetero and pr.name not in precomputed:
                by_pre.setdefault(pr.pre, []).append(pr)
        return {
            pre: _SparseGroup(
                prs, B, binary=not isinstance(self.pops[pre].model, SpikeTensorSource)
            )
            for pre, prs in by_pre.items()
        }

    def _init_state(self, p: _Pop, B: int) -> Any:
        if self.mode == "rate" or isinstance(p.model, RateUnit):
            z = self._zeros(B, p.size)
            return {"r": z, "s_exc": z, "s_inh": z, "w": z}
        return p.init(B)  # type: ignore[misc]

    def _arrivals(self, p: _Pop, k: int, pending, rings, currents) -> tuple[Any, Any, Any]:
        out = []
        for rec in ("exc", "inh"):
            v = pending[(p.name, rec)].pop(k, 0.0)
            for sq in (False, True):
                ring = rings.get((p.name, rec, sq))
                if ring is not None:
                    slot = k % ring.shape[0]
                    extra = ring[slot, :, :-1].clone()
                    ring[slot].zero_()
                    if self.mode == "rate":
                        v = _add(v, (extra, 0.0) if not sq else (0.0, extra))
                    elif not sq:
                        v = _add(v, extra)
            out.append(v)
        cur: Any = 0.0
        for start, stop, amp in currents[p.name]:
            if k >= start and (stop is None or k < stop):
                cur = cur + amp
        return out[0], out[1], cur

    def _step(
        self, p: _Pop, x: tuple[Any, Any, Any], state: Any, tgen: torch.Generator, rate_mode: bool
    ):
        exc, inh, cur = x
        if rate_mode:
            return self._rate_step(p, exc, inh, cur, state)
        if isinstance(p.model, RateUnit):
            r, state = self._rate_unit(p, exc, inh, cur, state, spiking=True)
            z = (
                torch.rand(r.shape, generator=tgen, device=self.device, dtype=self.dtype)
                < r * self.dt_s
            ).to(self.dtype)
            return z, state
        assert p.step is not None  # every spiking model has a kernel
        return p.step(
            dyn.SynapticInput(exc, inh, cur),
            state,
            p.params,
            dt_s=self.dt_s,
            spike_fn=self._spike_fn,
        )

    def _rate_unit(self, p: _Pop, exc, inh, cur, state, *, spiking: bool):
        m: RateUnit = p.model
        st = dict(state)
        for rec, tau in (("exc", m.tau_syn_exc_s), ("inh", m.tau_syn_inh_s)):
            inc = exc if rec == "exc" else inh
            if tau == 0:  # no synaptic filter: what arrives this step drives this step only
                inc = inc if spiking else self.dt_s * _first(inc)
                st[f"s_{rec}"] = torch.zeros_like(st["r"]) + inc
                continue
            a = math.exp(-self.dt_s / tau)
            if spiking:
                st[f"s_{rec}"] = (st[f"s_{rec}"] + inc) * a
            else:
                target = tau * _first(inc)
                st[f"s_{rec}"] = target + (st[f"s_{rec}"] - target) * a
        drive = st["s_exc"] - st["s_inh"] + cur - m.threshold_mV
        if m.transfer == "relu":
            phi = m.gain_hz_per_mV * torch.relu(drive)
        elif m.transfer == "linear":
            phi = m.gain_hz_per_mV * drive
        elif m.transfer == "sigmoid":
            phi = m.max_rate_hz * torch.sigmoid(
                m.gain_hz_per_mV * drive / max(m.max_rate_hz, 1e-12)
            )
        else:
            phi = m.max_rate_hz * torch.tanh(m.gain_hz_per_mV * drive / max(m.max_rate_hz, 1e-12))
        if m.tau_s == 0:  # discrete-time map: r[k] = f(drive[k])
            st["r"] = phi
            return phi, st
        a = math.exp(-self.dt_s / m.tau_s)
        st["r"] = phi + (st["r"] - phi) * a
        return st["r"], st

    def _rate_step(self, p: _Pop, exc, inh, cur, state):
        m = p.model
        if isinstance(m, RateUnit):
            return self._rate_unit(p, exc, inh, cur, state, spiking=False)
        st = dict(state)
        dt = self.dt_s
        ref = state["r"]
        (m_e, q_e), (m_i, q_i) = ((_tensor(v, ref) for v in _pair(x)) for x in (exc, inh))
        if isinstance(m, CubaLIF):
            du = math.exp(-dt / m.tau_syn_s)
            st["s_exc"] = st["s_exc"] * du + (m_e - m_i) * dt
            bias = p.params.bias
            phi = rate_fn.cuba_lif_rate(
                st["s_exc"] + bias + cur, tau_mem_s=m.tau_mem_s, v_th=m.v_th, dt_s=dt
            )
            tau_r = m.tau_rate_s or m.tau_mem_s
        else:
            tau_e, tau_i = m.tau_syn_exc_s, m.tau_syn_inh_s
            for key, mean, tau in (("s_exc", m_e, tau_e), ("s_inh", m_i, tau_i)):
                target = tau * mean
                st[key] = target + (st[key] - target) * math.exp(-dt / tau)
            if isinstance(m, Izhikevich):
                current = st["s_exc"] - st["s_inh"] + p.params.i_bias + cur
                phi = rate_fn.interp(current, *p.fi_table)  # type: ignore[misc]
                tau_r = m.tau_rate_s or m.tau_syn_exc_s
            else:
                lp = p.params.lif if isinstance(m, AdLIF) else p.params
                tau_m = m.tau_mem_s
                drive = m.v_rest_mV + lp.i_bias_mV + cur
                if isinstance(m, AdLIF):
                    drive = drive - st["w"]
                if m.synapse == "conductance":
                    g = 1.0 + st["s_exc"] + st["s_inh"]
                    mu = (drive + st["s_exc"] * m.e_exc_mV + st["s_inh"] * m.e_inh_mV) / g
                    tau_eff = tau_m / g
                    k_e, k_i = (m.e_exc_mV - mu), (m.e_inh_mV - mu)
                else:
                    mu = drive + st["s_exc"] - st["s_inh"]
                    tau_eff = torch.full_like(mu, tau_m)
                    k_e = k_i = 1.0
                var_e = q_e * (k_e * tau_e / tau_m) ** 2
                var_i = q_i * (k_i * tau_i / tau_m) ** 2
                var = tau_eff * (var_e + var_i)
                tot = var_e + var_i
                tau_s = torch.where(
                    tot > 0,
                    (var_e * tau_e + var_i * tau_i)
                    / torch.where(tot > 0, tot, torch.ones_like(tot)),
                    torch.full_like(tot, tau_e),
                )
                sigma = torch.sqrt(torch.clamp(var, min=0.0))
                phi = rate_fn.siegert_rate(
                    mu,
                    sigma,
                    tau_mem_s=tau_eff,
                    tau_syn_s=tau_s,
                    v_th_mV=m.v_th_mV,
                    v_reset_mV=m.v_reset_mV,
                    t_ref_s=m.t_ref_s,
                )
                tau_r = m.tau_rate_s or m.tau_mem_s
                if isinstance(m, AdLIF):
                    w_inf = m.a * (mu - m.v_rest_mV) + m.b_mV * m.tau_adapt_s * st["r"]
                    st["w"] = w_inf + (st["w"] - w_inf) * math.exp(-dt / m.tau_adapt_s)
        st["r"] = phi + (st["r"] - phi) * math.exp(-dt / tau_r)
        return st["r"], st

    def _projections(self) -> list[_Projection]:
        return [pr for pr in self.projs.values() if isinstance(pr, _Projection)]

    def _check_finite(self, states: dict[str, Any], k: int) -> None:
        # one reduction and one synchronisation for all populations; only when it is not
        # finite are the populations looked at one by one (an overflow of the total alone
        # passes there, as it did before)
        sums = [
            t.sum()
            for st in states.values()
            for t in (st.values() if isinstance(st, dict) else st)
            if isinstance(t, torch.Tensor) and t.is_floating_point()
        ]
        if not sums or bool(torch.isfinite(torch.stack(sums).sum())):
            return
        for name, st in states.items():
            values = list(st.items() if isinstance(st, dict) else zip(st._fields, st, strict=True))
            floats = [t for _, t in values if isinstance(t, torch.Tensor) and t.is_floating_point()]
            total = torch.stack([t.sum() for t in floats]).sum() if floats else None
            if total is None or bool(torch.isfinite(total)):  # one reduction per population
                continue
            for var, t in values:
                if (
                    isinstance(t, torch.Tensor)
                    and t.is_floating_point()
                    and not bool(torch.isfinite(t).all())
                ):
                    raise SimulationError(
                        name,
                        k,
                        f"state variable {var!r} became NaN or Inf; check parameters, weights and dt_s",
                    )


def _tensor(x: Any, like: torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.full_like(like, float(x))


def _first(x: Any) -> Any:
    return x[0] if isinstance(x, tuple) else x


def _pair(x: Any) -> tuple[Any, Any]:
    if isinstance(x, tuple):
        return x
    return x, 0.0


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, tuple) or isinstance(b, tuple):
        a, b = _pair(a), _pair(b)
        return (a[0] + b[0], a[1] + b[1])
    return a + b


# --------------------------------------------------------------------------- recording


def _carry(
    start: int, n_steps: int, states: dict[str, Any], pending: dict[Any, dict[int, Any]]
) -> dict[str, Any]:
    """What a continuation needs: the states and the deliveries due after this run (their
    steps renumbered from the run's end)."""
    return {
        "step": start + n_steps,
        "states": states,
        "pending": {
            key: {k - n_steps: v for k, v in due.items()} for key, due in pending.items() if due
        },
    }


def simulate(
    network: Network,
    *,
    duration_s: float,
    mode: str = "spiking",
    batch_size: int = 1,
    seed: int = 0,
    device: str | torch.device | None = None,
    dtype: Any = "float32",
    inputs: dict[str, torch.Tensor] | None = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    chunk_steps: int | None = None,
    nan_check_every: int | None = None,
) -> Result:
    """Build a :class:`Simulator` and run it once (the one-call API).

    The arguments are those of :class:`Simulator` (``mode``, ``batch_size``, ``seed``,
    ``device``, ``dtype``) and of :meth:`Simulator.run` (``duration_s`` in seconds and the
    rest); returns the run's :class:`~spikesim.results.Result`.
    """
    sim = Simulator(
        network, mode=mode, batch_size=batch_size, seed=seed, device=device, dtype=dtype
    )
    return sim.run(
        duration_s,
        inputs=inputs,
        out=out,
        progress=progress,
        chunk_steps=chunk_steps,
        nan_check_every=nan_check_every,
    )
