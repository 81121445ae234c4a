"""The torch backend: runs a :class:`~spikesim.network.Network` in spiking or rate mode.

``Simulator`` builds tensors from the description once (weights drawn from the seed), then
steps every population with its pure kernel from :mod:`spikesim.dynamics`. It runs on any torch
device, with a batch of independent trials, in float32 (default) or float64. Sparse
projections propagate event-driven (work and memory grow with synapses and spikes, not N²);
long runs are processed in chunks whose monitor data can be streamed to an HDF5 file. With
``differentiable=True`` spikes use a surrogate gradient so the network trains by BPTT.

Spiking runs without gradient (``Simulator.run`` by default) use a fused loop
(:class:`_FastLoop`): LIF populations with equal parameters share one state tensor and one
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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import dynamics as dyn
from ._validate import check_choice, check_int, check_positive
from .connectivity import (
    Circulant,
    Conv2d,
    Dense,
    OneToOne,
    materialize,
)
from .dynamics import rate as rate_fn
from .errors import ParameterError, ShapeError, SimulationError
from .network import (
    Network,
    PoissonSource,
    Population,
    RateMonitor,
    SpikeMonitor,
    SpikeTensorSource,
    SpikeTimesSource,
    StateMonitor,
    draw_population_values,
)
from .neurons import LIF, AdLIF, CubaLIF, Izhikevich, RateUnit
from .results import RateData, Result, ResultWriter, SpikeData, StateData, versions
from .values import draw

__all__ = ["Simulator", "simulate"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_BATCHED_KINDS = ("dense", "one_to_one", "conv2d")  # projections batched over all steps


def _dtype(d: Any) -> torch.dtype:
    if isinstance(d, torch.dtype):
        if d not in (torch.float32, torch.float64):
            raise ParameterError("run", "dtype", "torch.float32 or torch.float64", d)
        return d
    if d not in _DTYPES:
        raise ParameterError("run", "dtype", "'float32' or 'float64'", d)
    return _DTYPES[d]


# ------------------------------------------------------------------------ propagation


_COUNTING_SORT: list[Any] = []


def _stable_argsort(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, n_keys)``.

    Large arrays go through a counting sort compiled by numba (linear time: ~20x faster than
    numpy's stable comparison sort at 2e8 synapses, the same order); small ones, or without
    numba, through numpy."""
    if keys.size < 1 << 22 or n_keys > 4 * keys.size:  # small, or a too large count table
        return np.argsort(keys, kind="stable")
    if not _COUNTING_SORT:
        try:
            import numba

            @numba.njit(nogil=True)
            def counting_sort(keys, n_keys):  # pragma: no cover - compiled
                start = np.zeros(n_keys + 1, np.int64)
                for key in keys:
                    start[key + 1] += 1
                for i in range(n_keys):
                    start[i + 1] += start[i]
                order = np.empty(keys.size, np.int64)
                for i in range(keys.size):
                    key = keys[i]
                    order[start[key]] = i
                    start[key] += 1
                return order

            _COUNTING_SORT.append(counting_sort)
        except ImportError:  # pragma: no cover - numba is a dependency
            _COUNTING_SORT.append(None)
    fn = _COUNTING_SORT[0]
    if fn is None or int(keys.min()) < 0 or int(keys.max()) >= n_keys:
        return np.argsort(keys, kind="stable")
    return fn(keys, n_keys)


class _Projection(torch.nn.Module):
    """Runtime form of one projection: maps pre activity [B, N_pre] to post input [B, N_post]."""

    # attribute types (nn.Module's __getattr__ would otherwise type them Tensor | Module)
    name: str
    pre: str
    post: str
    receptor: str
    n_pre: int
    n_post: int
    base_delay: int
    max_delay: int
    hetero: bool
    differentiable: bool
    in_shape: tuple[int, ...]
    stride: int
    padding: int
    channels: int
    ring: int
    offsets: tuple[int, ...]
    weight: torch.Tensor
    rows_w: torch.Tensor
    rows_post: torch.Tensor
    rows_delay: torch.Tensor
    syn_pre: torch.Tensor
    syn_post: torch.Tensor
    n_syn: int

    def __init__(
        self,
        name: str,
        network: Network,
        gen: np.random.Generator,
        *,
        device: torch.device,
        dtype: torch.dtype,
        differentiable: bool,
        keep_coo: bool = True,
    ) -> None:
        super().__init__()
        pr = network.projections[name]
        self.name = name
        self.pre, self.post, self.receptor = pr.pre, pr.post, pr.receptor
        pre, post = network.populations[pr.pre], network.populations[pr.post]
        self.n_pre, self.n_post = pre.size, post.size
        self.base_delay = pr.delay_steps
        where = f"projection {name!r}"
        conn = pr.connectivity
        self.kind: str
        self.max_delay = pr.delay_steps
        self.hetero = False
        make = torch.nn.Parameter if pr.trainable else (lambda t: t)
        if isinstance(conn, Dense):
            w = draw(conn.weight, (self.n_post, self.n_pre), gen, where=where, field="weight")
            self.kind = "dense"
            self._set("weight", make(torch.as_tensor(w, dtype=dtype, device=device)), pr.trainable)
        elif isinstance(conn, OneToOne):
            w = draw(conn.weight, (self.n_pre,), gen, where=where, field="weight")
            self.kind = "one_to_one"
            self._set("weight", make(torch.as_tensor(w, dtype=dtype, device=device)), pr.trainable)
        elif isinstance(conn, Conv2d):
            self.kind = "conv2d"
            self.in_shape = pre.dims
            self.stride, self.padding = conn.stride, conn.padding
            k = torch.as_tensor(np.asarray(conn.kernel), dtype=dtype, device=device)
            self._set("weight", make(k), pr.trainable)
        elif isinstance(conn, Circulant):
            self.kind = "circulant"
            self.channels = conn.channels
            self.ring = self.n_pre // conn.channels
            self.offsets = tuple(int(o) for o in conn.offsets)
            k = torch.as_tensor(conn.kernel3(), dtype=dtype, device=device)
            self._set("weight", make(k), pr.trainable)
        else:
            table = materialize(
                conn,
                where=where,
                pre_shape=pre.dims,
                post_shape=post.dims,
                generator=gen,
                dt_s=network.dt_s,
                pre_layout=pre.layout,
                post_layout=post.layout,
            )
            self.kind = "sparse"
            n_syn = len(table)
            idx_np = np.int32 if max(self.n_pre, self.n_post) < 2**31 - 1 else np.int64
            w_np = np.float32 if dtype == torch.float32 else np.float64
            # pre-major (CSR over pre), post ascending within a pre neuron; where the table is
            # already sorted by post (fixed fan-in draws are), a stable radix sort over pre
            # gives the same order as the lexsort, several times faster
            if n_syn and bool(np.all(table.post[1:] >= table.post[:-1])):
                order = _stable_argsort(table.pre, self.n_pre)
            else:
                order = np.lexsort((table.post, table.pre))
            pre_i = table.pre[order].astype(idx_np)
            post_i = table.post[order].astype(idx_np)
            # float64 draws rounded once to the run's dtype (as torch.as_tensor would)
            w_i = table.weight[order].astype(w_np)
            d_raw = table.delay_steps
            uniform = not n_syn or d_raw.min() == d_raw.max()
            delays = (
                np.full(1, int(d_raw[0]) if n_syn else 0) if uniform else d_raw[order]
            ) + pr.delay_steps
            del table, order, d_raw  # the COO copies are not kept (memory per synapse)
            counts = np.bincount(pre_i, minlength=self.n_pre)
            indptr = np.concatenate([[0], np.cumsum(counts)])
            self.hetero = not uniform
            if n_syn and not self.hetero:
                self.base_delay = int(
                    delays[0]
                )  # one delay for every synapse (rule's + projection's)
            self.max_delay = int(delays.max()) if n_syn else pr.delay_steps
            # padded rows per pre neuron (ELL): one gather + one scatter per step, whatever
            # the number of spikes; memory = n_pre x max fan-out (pad index = n_post)
            fan = max(int(counts.max()) if counts.size else 0, 1)
            # flat slot of each synapse in the padded rows: pre * fan + rank within its row
            col = np.arange(n_syn, dtype=np.int64)
            col -= indptr[pre_i]
            col += pre_i.astype(np.int64) * fan
            rows_post = np.full((self.n_pre, fan), self.n_post, dtype=idx_np)
            rows_post.reshape(-1)[col] = post_i
            rows_w = np.zeros((self.n_pre, fan), dtype=w_np)
            rows_w.reshape(-1)[col] = w_i
            keep = keep_coo or pr.trainable
            if self.hetero or keep:  # per-synapse delays where they differ (or kept, below)
                rows_d = np.zeros((self.n_pre, fan), dtype=np.int64)
                rows_d.reshape(-1)[col] = delays
                self.register_buffer("rows_delay", torch.as_tensor(rows_d, device=device))
            del col
            self.n_syn = n_syn
            # the synapse list (COO, for rates and gradients) only where a run needs it; an
            # event-driven spiking run reads the padded rows alone. Where it is kept, the
            # buffers are those of earlier versions (a saved state_dict loads strictly).
            if keep:
                self.register_buffer("syn_pre", torch.as_tensor(pre_i, device=device))
                self.register_buffer("syn_post", torch.as_tensor(post_i, device=device))
                syn_d = np.broadcast_to(delays, (n_syn,)).astype(np.int64)
                self.register_buffer("syn_delay", torch.as_tensor(syn_d, device=device))
            del pre_i, post_i
            self.register_buffer("rows_post", torch.as_tensor(rows_post, device=device))
            self._set(
                "weight",
                make(torch.as_tensor(w_i, dtype=dtype, device=device)),
                pr.trainable,
            )
            self.register_buffer("rows_w", torch.as_tensor(rows_w, dtype=dtype, device=device))
            if differentiable and self.hetero:
                raise ParameterError(
                    where,
                    "connectivity",
                    "uniform delays for a differentiable run",
                    "per-synapse delays",
                )
        self.differentiable = differentiable

    def sync_rows(self) -> None:
        """Copy a trainable sparse ``weight`` into the padded rows ``rows_w`` if it changed.

        Event-driven delivery (runs without gradient, fused loop included) reads ``rows_w``;
        an optimizer step or an in-place edit changes the parameter only. The check is the
        parameter's identity and version counter (one comparison per run); the copy is the
        parameter's values in its own dtype (bit-identical to a projection built with them).
        """
        if self.kind != "sparse" or not isinstance(self.weight, torch.nn.Parameter):
            return
        w = self.weight
        key = (id(w), w._version, w.dtype, w.device)
        if self.__dict__.get("_rows_key") == key:
            return
        with torch.no_grad():
            valid = self.rows_post < self.n_post  # row-major: the order of ``weight``
            if self.rows_w.dtype != w.dtype or self.rows_w.device != w.device:
                self.rows_w = self.rows_w.to(device=w.device, dtype=w.dtype)
            self.rows_w[valid] = w.detach()
        self.__dict__["_rows_key"] = (id(w), w._version, w.dtype, w.device)

    def _set(self, name: str, t: torch.Tensor, trainable: bool) -> None:
        if trainable:
            self.register_parameter(name, t)  # type: ignore[arg-type]
        else:
            self.register_buffer(name, t)

    @property
    def n_synapses(self) -> int:
        if self.kind == "dense":
            return self.n_pre * self.n_post
        if self.kind == "one_to_one":
            return self.n_pre
        if self.kind == "sparse":
            return self.n_syn
        if self.kind == "conv2d":
            c_out, c_in, kh, kw = self.weight.shape
            return int(self.n_post * c_in * kh * kw)
        return int(self.n_post * self.channels * len(self.offsets))

    def forward(
        self,
        a: torch.Tensor,
        *,
        square: bool = False,
        dense_activity: bool = False,
        active: Any = None,
    ) -> torch.Tensor:
        """Weighted sum of pre activity (spikes or rates); ``square`` uses the squared weights.

        Sparse projections are event-driven for spikes; ``dense_activity`` (rates) or a
        differentiable run uses a sparse matrix product instead.
        """
        w = self.weight * self.weight if square else self.weight
        B = a.shape[0]
        if self.kind == "dense":
            return a @ w.t()
        if self.kind == "one_to_one":
            return a * w
        if self.kind == "conv2d":
            c, h, ww = self.in_shape
            out = torch.nn.functional.conv2d(
                a.reshape(B, c, h, ww), w, stride=self.stride, padding=self.padding
            )
            return out.reshape(B, -1)
        if self.kind == "circulant":
            x = a.reshape(B, self.channels, self.ring)
            out = torch.zeros_like(x)
            for j, off in enumerate(self.offsets):
                rolled = torch.roll(x, shifts=off, dims=2)
                out = out + torch.einsum("oi,bin->bon", w[:, :, j], rolled)
            return out.reshape(B, -1)
        # sparse: gather-scatter over all synapses for rates and for differentiable runs
        # (differentiable in weights and activity); event-driven for spikes
        if self.differentiable or dense_activity:
            syn_pre, syn_post = self.coo()
            out = torch.zeros(B, self.n_post, dtype=w.dtype, device=a.device)
            return out.index_add(1, syn_post, a[:, syn_pre] * w)
        return self._event_driven(a, w, active)

    def coo(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(pre, post) index of every synapse of a sparse projection, in ``weight``'s order.

        Kept when the simulator needs them (rate mode, gradients, trainable weights); else
        read from the padded rows (pre-major, the same order).
        """
        if "syn_pre" in self._buffers:
            return self.syn_pre, self.syn_post
        valid = self.rows_post < self.n_post
        return torch.nonzero(valid)[:, 0].to(self.rows_post.dtype), self.rows_post[valid]

    def _event_driven(self, a: torch.Tensor, w: torch.Tensor, active: Any = None) -> torch.Tensor:
        """Gather the padded rows of the active pre neurons and scatter-add into the targets.

        ``active`` is ``torch.nonzero(a, as_tuple=True)`` when the caller already has it (all
        projections leaving one population share it).
        """
        B = a.shape[0]
        n1 = self.n_post + 1
        out = torch.zeros(B * n1, dtype=self.rows_w.dtype, device=a.device)
        b, i = torch.nonzero(a, as_tuple=True) if active is None else active
        if b.numel():
            rw = self.rows_w[i] if w is self.weight else self.rows_w[i] ** 2
            vals = rw * a[b, i].to(rw.dtype).unsqueeze(1)
            out.index_add_(
                0, (b.unsqueeze(1) * n1 + self.rows_post[i]).reshape(-1), vals.reshape(-1)
            )
        return out.view(B, n1)[:, : self.n_post]

    def scatter_delayed(
        self,
        a: torch.Tensor,
        buf: torch.Tensor,
        step: int,
        *,
        square: bool = False,
        active: Any = None,
    ) -> None:
        """Per-synapse delays: add each active synapse's weight to buf[(step + 1 + d) % L].

        The ring buffer has one spare column per trial (index n_post) that absorbs padding.
        """
        b, i = torch.nonzero(a, as_tuple=True) if active is None else active
        if not b.numel():
            return
        L, B, N1 = buf.shape
        rw = self.rows_w[i] ** 2 if square else self.rows_w[i]
        vals = rw * a[b, i].to(rw.dtype).unsqueeze(1)
        slot = (step + 1 + self.rows_delay[i]) % L
        idx = (slot * B + b.unsqueeze(1)) * N1 + self.rows_post[i]
        buf.view(-1).index_add_(0, idx.reshape(-1), vals.reshape(-1))


class _SparseGroup:
    """The event-driven sparse projections leaving one population, delivered together.

    Their padded rows are concatenated (targets offset into one flat output), so one
    nonzero, one gather and one index_add serve them all. Each target element receives the
    same terms in the same order as with one projection at a time, so the sums are identical.
    """

    def __init__(self, projections: list[_Projection], B: int, *, binary: bool) -> None:
        self.B = B
        self.n_pre = projections[0].n_pre
        self.binary = binary  # activity is 0/1: the weights need no product with it
        posts, ws, strides = [], [], []
        self.members: list[tuple[_Projection, int, int]] = []
        off = 0
        for pr in projections:
            n1 = pr.n_post + 1
            posts.append(pr.rows_post.to(torch.int64) + off)
            ws.append(pr.rows_w)
            strides.append(torch.full((pr.rows_post.shape[1],), n1, dtype=torch.int64))
            self.members.append((pr, off, n1))
            off += B * n1
        self.total = off
        self.rows_post = torch.cat(posts, dim=1)
        self.rows_w = torch.cat(ws, dim=1)
        self.stride = torch.cat(strides).to(self.rows_post.device).unsqueeze(0)

    def deliver(self, a: torch.Tensor, out: dict[str, torch.Tensor]) -> None:
        B = self.B
        buf = torch.zeros(self.total, dtype=self.rows_w.dtype, device=a.device)
        flat_a = a.reshape(-1)
        j = torch.nonzero(flat_a).view(-1)  # row-major: the order of nonzero(a, as_tuple)
        if j.numel():
            if B == 1:
                i = j
                idx = self.rows_post[i]
            else:
                b = torch.div(j, self.n_pre, rounding_mode="floor")
                i = j - b * self.n_pre
                idx = self.rows_post[i] + b.unsqueeze(1) * self.stride
            vals = self.rows_w[i]
            if not self.binary:
                vals = vals * flat_a[j].to(vals.dtype).unsqueeze(1)
            buf.index_add_(0, idx.view(-1), vals.view(-1))
        for pr, off, n1 in self.members:
            out[pr.name] = buf[off : off + B * n1].view(B, n1)[:, : pr.n_post]


# ------------------------------------------------------------------- fused fast loop


_SPLIT_ENTRIES = 1 << 24  # padded synapse entries above which a unit keeps per-projection rows


class _Group:
    """Neuron populations stepped as one: members share one state tensor and one kernel call.

    LIF populations with identical parameters (shared scalars, no external current) are
    fused and stepped in place by :func:`~spikesim.dynamics.lif_step_`; any other population
    is a group of its own stepped by its functional kernel.
    """

    def __init__(
        self, sim: Simulator, members: list[_Pop], B: int, A: torch.Tensor, off: int, *, fused: bool
    ) -> None:
        self.members = members
        self.names = [p.name for p in members]
        self.n = sum(p.size for p in members)
        self.offsets: dict[str, int] = {}
        o = 0
        for p in members:
            self.offsets[p.name] = o
            o += p.size
        self.z = A[:, off : off + self.n]
        self.p0 = members[0]
        self.fused = fused
        self.S: torch.Tensor | None = None
        self.views: dict[str, Any] = {}
        self.x_syn: torch.Tensor | None = None  # both receptors' arrivals as one [2, B, n]
        self.arrive: dict[str, torch.Tensor | None] = {"exc": None, "inh": None}
        self.rings: list[torch.Tensor] = []
        if fused:
            dev, dt = sim.device, sim.dtype
            self.S = torch.empty(3, B, self.n, dtype=dt, device=dev)
            # lif_step_ keeps the step of the last spike (not the countdown of lif_step)
            last = torch.full((B, self.n), -(2**30), dtype=torch.int32, device=dev)
            self.state = dyn.LIFState(self.S[0], self.S[1], self.S[2], last)
            for p in members:
                o, n = self.offsets[p.name], p.size
                view = dyn.LIFState(*(t[:, o : o + n] for t in self.state))
                v, i_e, i_i, _ = sim._init_state(p, B)
                view.v.copy_(v)
                view.i_exc.copy_(i_e)
                view.i_inh.copy_(i_i)
                self.views[p.name] = view
            self.scratch = dyn.lif_scratch(
                self.S[0], self.p0.params, dt_s=sim.dt_s, syn=self.S[1:3]
            )
        else:
            self.state = sim._init_state(self.p0, B)


class _FastLoop:
    """The spiking run without gradient: fused populations, one delivery per source unit.

    All neuron spikes and source events live in one activity tensor ``A`` [B, N_total].
    Projections write into one arrival buffer [B, T] made of regions, one per (group,
    receptor, delay, layer); projections into the same region never share a target
    population, so every target element sums the same terms in the same order as the general
    loop and the results are bit-identical to it. The sparse projections leaving one group
    or source form one padded table: one nonzero, one gather and one index_add per step.
    Regions with a delay (or several layers) are added into a ring buffer per (group,
    receptor); a lone region without delay is read in place.
    """

    @staticmethod
    def eligible(sim: Simulator, carry: Any, rec: Any) -> bool:
        return (
            sim.fast_loop
            and sim.mode == "spiking"
            and not sim.differentiable
            and carry is None
            and isinstance(rec, _Recorder)
            and not torch.is_grad_enabled()
            and not any(pr.hetero for pr in sim._projections())
        )

    def __init__(self, sim: Simulator, B: int, precomputed: dict[str, torch.Tensor]) -> None:
        self.sim = sim
        self.B = B
        dev, dt = sim.device, sim.dtype
        self.currents = sim._currents()
        pops = sim.pops
        sources = [
            p
            for p in pops.values()
            if isinstance(p.model, (PoissonSource, SpikeTimesSource, SpikeTensorSource))
        ]
        neurons = [p for p in pops.values() if p.step is not None or isinstance(p.model, RateUnit)]
        # groups: LIF populations with equal shared parameters and no current are fused
        buckets: dict[Any, list[_Pop]] = {}
        for p in neurons:
            key: Any = p.name
            if (
                type(p.model) is LIF
                and not self.currents[p.name]
                and isinstance(p.params.i_bias_mV, float)
            ):
                key = ("lif", p.params)
            buckets.setdefault(key, []).append(p)
        n_total = sum(p.size for p in sources) + sum(p.size for p in neurons)
        self.A = torch.zeros(B, n_total, dtype=dt, device=dev)
        off = 0
        self.sources: list[tuple[_Pop, torch.Tensor]] = []
        self.where: dict[str, tuple[int, int]] = {}  # population -> (offset in A, size)
        unit_of: dict[str, tuple[str, int]] = {}  # population -> (unit, offset in unit)
        unit_span: dict[str, tuple[int, int, bool]] = {}  # unit -> (offset in A, size, binary)
        self.mask: dict[str, torch.Tensor] = {}  # unit -> its spikes as bool [B, n]
        for p in sources:
            if isinstance(p.model, PoissonSource):
                self.mask[p.name] = torch.zeros(B, p.size, dtype=torch.bool, device=dev)
            self.sources.append((p, self.A[:, off : off + p.size]))
            self.where[p.name] = (off, p.size)
            unit_of[p.name] = (p.name, 0)
            unit_span[p.name] = (off, p.size, not isinstance(p.model, SpikeTensorSource))
            off += p.size
        self.groups: list[_Group] = []
        group_of: dict[str, int] = {}
        for key, members in buckets.items():
            g = _Group(sim, members, B, self.A, off, fused=isinstance(key, tuple))
            uname = "group:" + g.names[0]
            unit_span[uname] = (off, g.n, True)
            if g.fused:
                self.mask[uname] = g.scratch.spk
            for name in g.names:
                group_of[name] = len(self.groups)
                self.where[name] = (off + g.offsets[name], pops[name].size)
                unit_of[name] = (uname, g.offsets[name])
            self.groups.append(g)
            off += g.n
        self.activity = {name: self.A[:, o : o + n] for name, (o, n) in self.where.items()}
        self.states: dict[str, Any] = {}
        # regions of the arrival buffer: a projection goes to the first layer of its (group,
        # receptor, delay) that no earlier projection to the same population uses
        projections = sim._projections()
        used: dict[tuple[int, int, int, str], set[str]] = {}
        key_of: dict[str, tuple[int, int, int, str]] = {}
        for pr in projections:
            gi = group_of[pr.post]
            layer = 0
            while pr.post in used.get((gi, pr.base_delay, layer, pr.receptor), set()):
                layer += 1
            key = (gi, pr.base_delay, layer, pr.receptor)
            used.setdefault(key, set()).add(pr.post)
            key_of[pr.name] = key
        regions: dict[tuple[int, int, int, str], int] = {}
        T = 0
        for key in sorted(used):  # exc next to inh: one addition brings both
            regions[key] = T
            T += self.groups[key[0]].n + 1  # one spare column absorbs a table's padding
        T += 1  # the last column absorbs the padding between tables of different widths
        self.T = T
        self.buf = torch.zeros(B, T, dtype=dt, device=dev)
        self.flat = self.buf.view(-1)
        self.to_ring: list[tuple[torch.Tensor, int, torch.Tensor]] = []  # (ring, delay, region)
        # undelayed layers are summed into layer 0 (in layer order: the projections' order)
        self.merge: list[tuple[torch.Tensor, torch.Tensor]] = []
        for gi, g in enumerate(self.groups):
            keys = {r: sorted(k for k in regions if k[0] == gi and k[3] == r) for r in g.arrive}
            for r, ks in keys.items():
                if not ks:
                    continue
                if all(k[1] == 0 for k in ks):
                    o = regions[ks[0]]
                    first = self.buf[:, o : o + g.n]
                    g.arrive[r] = first
                    for k in ks[1:]:
                        ok = regions[k]
                        self.merge.append((first, self.buf[:, ok : ok + g.n]))
                    continue
                ring = torch.zeros(max(k[1] for k in ks) + 1, B, g.n, dtype=dt, device=dev)
                g.rings.append(ring)
                g.arrive[r] = ring
                for k in ks:
                    o = regions[k]
                    self.to_ring.append((ring, k[1], self.buf[:, o : o + g.n]))
            if (
                g.fused
                and not g.rings
                and all(ks for ks in keys.values())
                and regions[keys["inh"][0]] == regions[keys["exc"][0]] + g.n + 1
            ):
                o = regions[keys["exc"][0]]
                pair = self.buf[:, o : o + 2 * (g.n + 1)].view(B, 2, g.n + 1)
                g.x_syn = pair[:, :, : g.n].transpose(0, 1)
        # sparse tables per unit; every other projection adds its product into its region
        self.others: list[tuple[_Projection, torch.Tensor, torch.Tensor | None]] = []
        by_unit: dict[str, list[_Projection]] = {}
        for pr in projections:
            gi = group_of[pr.post]
            g = self.groups[gi]
            ro, o = regions[key_of[pr.name]], g.offsets[pr.post]
            if pr.kind == "sparse" and pr.name not in precomputed:
                by_unit.setdefault(unit_of[pr.pre][0], []).append(pr)
            else:
                self.others.append(
                    (pr, self.buf[:, ro + o : ro + o + pr.n_post], precomputed.get(pr.name))
                )
        idx_dtype = torch.int32 if B * T < 2**31 - 1 else torch.int64
        self.tables: list[tuple[torch.Tensor, int, bool, torch.Tensor, torch.Tensor]] = []
        # a unit with one projection, or a large one, keeps each projection's own rows (no
        # second copy of every synapse): one gather and index_add per projection, into its
        # region at an offset
        self.split: list[tuple[str, torch.Tensor, int, int, bool, Any, Any, int]] = []
        for uname, prs in by_unit.items():
            a_off, n_u, binary = unit_span[uname]
            unit_a = self.mask.get(uname, self.A[:, a_off : a_off + n_u])
            if len(prs) == 1 or sum(pr.rows_post.numel() for pr in prs) > _SPLIT_ENTRIES:
                for pr in prs:
                    g = self.groups[group_of[pr.post]]
                    base = regions[key_of[pr.name]] + g.offsets[pr.post]
                    u0 = unit_of[pr.pre][1]
                    a_pre = unit_a[:, u0 : u0 + pr.n_pre]
                    self.split.append(
                        (pr.pre, a_pre, pr.n_pre, pr.n_post, binary, pr.rows_post, pr.rows_w, base)
                    )
                continue
            width: dict[str, int] = {}
            for pr in prs:
                width[pr.pre] = width.get(pr.pre, 0) + int(pr.rows_post.shape[1])
            W = max(width.values())
            rows = torch.full((n_u, W), T - 1, dtype=idx_dtype, device=dev)
            w = torch.zeros(n_u, W, dtype=dt, device=dev)
            col: dict[str, int] = {}
            for pr in prs:
                g = self.groups[group_of[pr.post]]
                ro, o = regions[key_of[pr.name]], g.offsets[pr.post]
                u0 = unit_of[pr.pre][1]
                c0 = col.get(pr.pre, 0)
                c1 = c0 + int(pr.rows_post.shape[1])
                rp = pr.rows_post.to(idx_dtype)
                target = torch.where(rp == pr.n_post, ro + g.n, ro + o + rp)
                rows[u0 : u0 + pr.n_pre, c0:c1] = target
                w[u0 : u0 + pr.n_pre, c0:c1] = pr.rows_w
                col[pr.pre] = c1
            self.tables.append((unit_a, n_u, binary, rows, w))
        self.stride = torch.arange(B, dtype=idx_dtype, device=dev).mul_(T)

    def run(self, n_steps: int, inputs, rec, chunk_steps: int, bar: Any, nan_every: int, tgen):
        sim, B, dev, dt = self.sim, self.B, self.sim.device, self.sim.dtype
        dt_s = sim.dt_s
        prob = {
            p.name: (p.params * dt_s).expand(B, p.size)
            for p, _ in self.sources
            if isinstance(p.model, PoissonSource)
        }
        currents = self.currents
        states = self.states
        for g in self.groups:
            if g.fused:
                states.update(g.views)
            else:
                states[g.p0.name] = g.state
        rec.use_block(self.A, self.where)
        check = self._check_finite
        for k in range(n_steps):
            # 1) sources write their events into A
            for p, z in self.sources:
                m = p.model
                if isinstance(m, PoissonSource):
                    mask = self.mask[p.name]
                    r = torch.rand(B, p.size, generator=tgen, device=dev, dtype=dt)
                    z.copy_(torch.lt(r, prob[p.name], out=mask))
                elif isinstance(m, SpikeTimesSource):
                    steps, idx = p.params
                    lo, hi = np.searchsorted(steps, k), np.searchsorted(steps, k, side="right")
                    z.zero_()
                    if hi > lo:
                        z[:, torch.as_tensor(idx[lo:hi], device=dev)] = 1.0
                else:
                    z.copy_(inputs[p.name][k])
            # 2) neurons
            for g in self.groups:
                exc, inh = g.arrive["exc"], g.arrive["inh"]
                if g.rings:
                    if exc is not None and exc.dim() == 3:
                        exc = exc[k % exc.shape[0]]
                    if inh is not None and inh.dim() == 3:
                        inh = inh[k % inh.shape[0]]
                if g.fused:
                    dyn.lif_step_(
                        dyn.SynapticInput(exc, inh, 0.0),  # type: ignore[arg-type]
                        g.state,
                        g.p0.params,
                        dt_s=dt_s,
                        step=k,
                        z_out=g.z,
                        scratch=g.scratch,
                        x_syn=g.x_syn,
                    )
                else:
                    cur: Any = 0.0
                    for start, stop, amp in currents[g.p0.name]:
                        if k >= start and (stop is None or k < stop):
                            cur = cur + amp
                    x3 = (0.0 if exc is None else exc, 0.0 if inh is None else inh, cur)
                    z, g.state = sim._step(g.p0, x3, g.state, tgen, False)
                    states[g.p0.name] = g.state
                    g.z.copy_(z)
                for ring in g.rings:  # consumed: free the slot for step k + L
                    ring[k % ring.shape[0]].zero_()
            # 3) deliver: every projection into its region, then delayed regions into rings
            self.buf.zero_()
            for a, n_u, binary, rows, w in self.tables:
                flat_a = a.reshape(-1)
                j = torch.nonzero(flat_a).view(-1)
                if not j.numel():
                    continue
                if B == 1:
                    idx = rows.index_select(0, j)
                    vals = w.index_select(0, j)
                else:
                    b = torch.div(j, n_u, rounding_mode="floor")
                    i = j - b * n_u
                    idx = rows.index_select(0, i).add_(self.stride[b].unsqueeze(1))
                    vals = w.index_select(0, i)
                if not binary:
                    vals = vals * flat_a[j].to(vals.dtype).unsqueeze(1)
                self.flat.index_add_(0, idx.view(-1), vals.view(-1))
            active: dict[str, torch.Tensor] = {}
            for name, a, n_pre, n_post, binary, rows, w, base in self.split:
                flat_a = a.reshape(-1)
                found = active.get(name)
                if found is None:
                    found = active[name] = torch.nonzero(flat_a).view(-1)
                j = found
                if not j.numel():
                    continue
                if B == 1:  # padding (index n_post, weight 0) lands at base + n_post
                    out = self.flat[base : base + n_post + 1]
                    idx = rows.index_select(0, j)
                    vals = w.index_select(0, j)
                else:
                    b = torch.div(j, n_pre, rounding_mode="floor")
                    i = j - b * n_pre
                    idx = rows.index_select(0, i).to(torch.int64)
                    idx += (b * self.T + base).unsqueeze(1)
                    vals = w.index_select(0, i)
                    out = self.flat
                if not binary:
                    vals = vals * flat_a[j].to(vals.dtype).unsqueeze(1)
                out.index_add_(0, idx.view(-1), vals.view(-1))
            for pr, region, pre in self.others:
                region.add_(pre[k] if pre is not None else pr(self.activity[pr.pre]))
            for dst, src in self.merge:
                dst.add_(src)
            for ring, d, region in self.to_ring:
                ring[(k + 1 + d) % ring.shape[0]].add_(region)
            # 4) record, check
            rec.record(k, self.activity, states)
            if (k + 1) % nan_every == 0 or k == n_steps - 1:
                check(k)
            if (k + 1) % chunk_steps == 0:
                rec.flush()
            if bar is not None:
                bar.update(1)

    def _check_finite(self, k: int) -> None:
        # one sum per fused group (its whole state is one tensor) and one host read
        if not self.groups:
            return
        fused = [g.S.sum() for g in self.groups if g.S is not None]
        if len(fused) == len(self.groups):
            total = fused[0] if len(fused) == 1 else torch.stack(fused).sum()
            if math.isfinite(total.item()):
                return
        self.sim._check_finite(self.states, k)


# ------------------------------------------------------------------------- populations


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

    Parameters
    ----------
    network: the description.
    mode: ``"spiking"`` or ``"rate"``.
    batch_size: independent trials run side by side.
    device, dtype: where and in which precision (``"float32"`` default, ``"float64"``).
    seed: draws connectivity and initial values (numpy) and runtime noise (torch).
    differentiable: spikes with a surrogate gradient (BPTT); ``surrogate_alpha`` its steepness.

    Attribute ``fast_loop`` (default True): spiking runs without gradient use the fused loop;
    False selects the general loop (same results, more operations per step).
    Attribute ``fused_layers`` (default True): in a differentiable ``forward``, a CubaLIF or
    current-based LIF population fed only by dense, one-to-one or convolutional projections
    from spike-tensor inputs or from populations that already ran this way runs over all
    steps as one autograd node (:mod:`spikesim.dynamics.fused`), its input the projection of
    all steps in one batched product. A feed-forward chain thus runs layer by layer, and with
    no step loop at all when every population qualifies (``fused_populations`` names those
    that did). The same spikes and carry as the step loop, gradients equal to float rounding,
    less memory and time for BPTT; False steps every population (the step-by-step graph).
    Attribute ``compiled_loop`` (default False): True runs that fused loop compiled (numba,
    CPU, :mod:`spikesim.compiled`) when the network is supported: the same spikes bit for
    bit, several times faster; otherwise the torch loop runs and ``compiled_reason`` says why
    (None after a compiled run).
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
        self.network = network
        self.mode = check_choice("run", "mode", mode, ("spiking", "rate"))
        self.batch_size = check_int("run", "batch_size", batch_size, minimum=1)
        self.device = torch.device(device if device is not None else "cpu")
        self.dtype = _dtype(dtype)
        self.seed = check_int("run", "seed", seed, minimum=0)
        self.differentiable = bool(differentiable)
        self.surrogate_alpha = check_positive("run", "surrogate_alpha", surrogate_alpha)
        self.dt_s = network.dt_s
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
        inputs = dict(inputs or {})
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
            t = torch.as_tensor(t)
            size = self.pops[name].size
            expected = (n_steps, self.batch_size, size)
            if t.dim() > 3:
                t = t.reshape(t.shape[0], t.shape[1], -1)
            if tuple(t.shape) != expected:
                raise ShapeError(f"input {name!r}", "spike tensor", expected, tuple(t.shape))
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

        ``inputs`` maps spike_tensor sources to tensors [steps, batch, size]. Runs are processed
        in chunks of ``chunk_steps``; with ``out`` the monitor data of each chunk is streamed to
        that HDF5 file as the run goes (memory bounded by one chunk; an interrupted run leaves
        what it recorded, marked incomplete) and the returned result is read back from it. A
        progress bar shows for long runs (``progress=None``: from 100,000 steps on).
        """
        duration_s = check_positive("run", "duration_s", duration_s)
        n_steps = int(round(duration_s / self.dt_s))
        if n_steps < 1:
            raise ParameterError("run", "duration_s", f">= dt_s ({self.dt_s})", duration_s)
        inputs = self._check_inputs(inputs, n_steps)
        if chunk_steps is None:
            total = sum(p.size for p in self.pops.values()) * self.batch_size
            chunk_steps = int(max(1, min(10_000, (1 << 26) // max(total, 1))))
        nan_every = nan_check_every or (1 if self.device.type == "cpu" else 100)
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
        """
        if n_steps is None:
            n_steps = next(iter(inputs.values())).shape[0] if inputs else 1
        inputs = self._check_inputs(inputs, n_steps)
        rec = _TensorRecorder(record)
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
                from .compiled import CompiledLoop, unsupported_reason

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
                    else:
                        contrib = pr(a, dense_activity=rate_mode, active=active)
                    if rate_mode:
                        contrib = (contrib, pr(a, square=True, dense_activity=True))
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
            from .spike_matmul import spike_linear

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


class _Recorder:
    """Collects monitor data chunk by chunk into numpy arrays."""

    def __init__(
        self, sim: Simulator, n_steps: int, *, out: str | os.PathLike | None = None
    ) -> None:
        self.sim = sim
        self.n_steps = n_steps
        self.sink: ResultWriter | None = None
        if out is not None:
            self.sink = ResultWriter(
                out,
                network=sim.network.to_dict(),
                run=self._run_meta(sim, n_steps, sim.network.monitors.values()),
            )
        net = sim.network
        self.mons = list(net.monitors.values())
        self.spk: dict[str, list[np.ndarray]] = {}
        self.buf: dict[str, list[torch.Tensor]] = {}
        self.buf_start: dict[str, int] = {}
        self.states: dict[str, dict[str, list[np.ndarray]]] = {}
        self.state_steps: dict[str, list[int]] = {}
        self.rate_acc: dict[str, list[np.ndarray]] = {}
        self.rate_cur: dict[str, torch.Tensor] = {}
        self.index: dict[str, torch.Tensor | None] = {}
        for m in self.mons:
            idx = getattr(m, "indices", None)
            self.index[m.name] = None if idx is None else torch.as_tensor(idx, device=sim.device)
            if isinstance(m, SpikeMonitor):
                self.spk[m.name] = []
                self.buf[m.name] = []
                self.buf_start[m.name] = 0
            elif isinstance(m, StateMonitor):
                self.states[m.name] = {v: [] for v in m.variables}
                self.state_steps[m.name] = []
            else:
                self.rate_acc[m.name] = []
        self.rate_mode = sim.mode == "rate"
        # block mode: spike monitors read one copy of a tensor holding every population
        self.block: torch.Tensor | None = None
        self.block_of: dict[str, tuple[int, int]] = {}
        self.block_buf: list[torch.Tensor] = []
        self.block_bool: list[torch.Tensor] = []
        self.block_start = 0

    def use_block(self, block: torch.Tensor, where: dict[str, tuple[int, int]]) -> None:
        """Spike monitors of these populations read ``block[:, off:off + n]`` (``where``)."""
        self.block_of = {
            m.name: where[m.target]
            for m in self.mons
            if isinstance(m, SpikeMonitor) and m.target in where and not self.rate_mode
        }
        self.block = block if self.block_of else None

    def record(self, k: int, activity: dict[str, torch.Tensor], states: dict[str, Any]) -> None:
        if self.block is not None:
            if not self.block_buf and not self.block_bool:
                self.block_start = k
            self.block_buf.append(self.block.clone())  # compared with 0 in bulk
            if len(self.block_buf) * self.block.numel() >= 1 << 22:
                self._compact()
        self._record_mons(k, activity, states)

    def _record_mons(
        self, k: int, activity: dict[str, torch.Tensor], states: dict[str, Any]
    ) -> None:
        for m in self.mons:
            a = activity[m.target]
            if isinstance(m, SpikeMonitor):
                if self.rate_mode or m.name in self.block_of:
                    continue
                idx = self.index[m.name]
                z = a if idx is None else a[:, idx]
                if not self.buf[m.name]:
                    self.buf_start[m.name] = k
                self.buf[m.name].append(z.detach() > 0)
            elif isinstance(m, StateMonitor):
                if k % m.every_steps:
                    continue
                st = states[m.target]
                idx = self.index[m.name]
                for v in m.variables:
                    val = st[v] if isinstance(st, dict) else (a if v == "r" else getattr(st, v))
                    if v == "r" and not isinstance(st, dict):
                        val = a / self.sim.dt_s  # instantaneous rate of a spiking run
                    val = val if idx is None else val[:, idx]
                    self.states[m.name][v].append(
                        val.detach().to("cpu", torch.float64).numpy().copy()
                    )
                self.state_steps[m.name].append(k)
            else:
                steps_per_bin = int(round(m.bin_s / self.sim.dt_s))
                mean = a.detach().mean(dim=1)
                if not self.rate_mode:
                    mean = mean / self.sim.dt_s
                cur = self.rate_cur.get(m.name)
                self.rate_cur[m.name] = mean if cur is None else cur + mean
                if (k + 1) % steps_per_bin == 0:
                    self.rate_acc[m.name].append(
                        (self.rate_cur.pop(m.name) / steps_per_bin).to("cpu", torch.float64).numpy()
                    )

    def record_block(
        self,
        k0: int,
        hist: torch.Tensor,
        events: tuple[np.ndarray, np.ndarray, np.ndarray],
        where: dict[str, tuple[int, int]],
    ) -> None:
        """Record steps ``k0 ..`` at once: ``hist`` [steps, B, N_total] is the block (bool),
        ``events`` its nonzero entries (step from 0, trial, column), ordered by step, trial,
        column: the same spikes in the same order as recording step by step."""
        steps, batch, cols = events
        for name, (o, n) in self.block_of.items():
            idx = self.index[name]
            if idx is None:
                sel = (cols >= o) & (cols < o + n)
                self.spk[name].append(np.stack([steps[sel] + k0, batch[sel], cols[sel] - o]))
            else:
                t, b, i = torch.nonzero(hist[:, :, o : o + n][:, :, idx], as_tuple=True)
                self.spk[name].append(np.stack([(t + k0).numpy(), b.numpy(), idx[i].cpu().numpy()]))
        if any(not (isinstance(m, SpikeMonitor) and m.name in self.block_of) for m in self.mons):
            for kk in range(hist.shape[0]):
                activity = {
                    name: hist[kk, :, o : o + n].to(self.sim.dtype)
                    for name, (o, n) in where.items()
                }
                self._record_mons(k0 + kk, activity, {})

    def _compact(self) -> None:
        if self.block_buf:
            self.block_bool.append(torch.stack(self.block_buf) > 0)
            self.block_buf = []

    def flush(self) -> None:
        self._compact()
        if self.block_bool:
            zall = torch.cat(self.block_bool)  # [T, B, N_total]
            for name, (o, n) in self.block_of.items():
                self.buf[name] = [zall[:, :, o : o + n]]
                self.buf_start[name] = self.block_start
            self.block_bool = []
        for name, chunks in self.buf.items():
            if not chunks:
                continue
            idx = self.index[name]
            if name in self.block_of:  # one [T, B, N] slice of the block
                z = chunks[0] if idx is None else chunks[0][:, :, idx]
            else:
                z = torch.stack(chunks)  # [T, B, N]
            t, b, i = torch.nonzero(z, as_tuple=True)
            i = i if idx is None else idx[i]
            self.spk[name].append(
                np.stack(
                    [(t + self.buf_start[name]).cpu().numpy(), b.cpu().numpy(), i.cpu().numpy()]
                )
            )
            self.buf[name] = []
        if self.sink is not None:
            self._drain()

    def _drain(self) -> None:
        """Move everything recorded so far into the HDF5 sink."""
        sink, net = self.sink, self.sim.network
        assert sink is not None
        for m in self.mons:
            pop = net.populations[m.target]
            if isinstance(m, SpikeMonitor) and self.spk[m.name]:
                arr = np.concatenate(self.spk[m.name], axis=1)
                sink.append_spikes(
                    m.name,
                    population=m.target,
                    size=pop.size,
                    step=arr[0],
                    batch=arr[1],
                    index=arr[2],
                )
                self.spk[m.name] = []
            elif isinstance(m, StateMonitor) and self.state_steps[m.name]:
                idx = np.arange(pop.size) if m.indices is None else np.asarray(m.indices)
                vals = {v: np.stack(x) for v, x in self.states[m.name].items()}
                sink.append_states(
                    m.name,
                    population=m.target,
                    indices=idx,
                    steps=np.asarray(self.state_steps[m.name]),
                    values=vals,
                )
                self.states[m.name] = {v: [] for v in m.variables}
                self.state_steps[m.name] = []
            elif isinstance(m, RateMonitor) and self.rate_acc[m.name]:
                sink.append_rates(
                    m.name,
                    population=m.target,
                    bin_s=m.bin_s,
                    rate_hz=np.stack(self.rate_acc[m.name]),
                )
                self.rate_acc[m.name] = []

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()

    @staticmethod
    def _run_meta(sim: Simulator, n_steps: int, mons: Any) -> dict[str, Any]:
        return {
            "n_steps": n_steps,
            "dt_s": sim.dt_s,
            "mode": sim.mode,
            "batch_size": sim.batch_size,
            "seed": sim.seed,
            "dtype": str(sim.dtype).replace("torch.", ""),
            "device": str(sim.device),
            "monitor_indices": {
                m.name: list(m.indices) for m in mons if getattr(m, "indices", None)
            },
        }

    def result(self, wall_s: float) -> Result:
        sim = self.sim
        net = sim.network
        run = self._run_meta(sim, self.n_steps, self.mons)
        provenance = {
            "versions": versions(),
            "wall_time_s": wall_s,
            "device_name": _device_name(sim.device),
        }
        if self.sink is not None:
            self._drain()
            empty: dict[str, tuple[str, Any]] = {}
            for m in self.mons:
                pop = net.populations[m.target]
                if isinstance(m, SpikeMonitor):
                    empty[m.name] = ("spikes", (m.target, pop.size))
                elif isinstance(m, StateMonitor):
                    empty[m.name] = (
                        "states",
                        (
                            m.target,
                            np.arange(pop.size) if m.indices is None else np.asarray(m.indices),
                        ),
                    )
                else:
                    empty[m.name] = ("rates", (m.target, m.bin_s, sim.batch_size))
            self.sink.close(run=run, provenance=provenance, empty=empty)
            return Result.from_hdf5(self.sink.path)
        res = Result(network=net.to_dict(), run=run, provenance=provenance)
        for m in self.mons:
            pop = net.populations[m.target]
            if isinstance(m, SpikeMonitor):
                arr = (
                    np.concatenate(self.spk[m.name], axis=1)
                    if self.spk[m.name]
                    else np.zeros((3, 0), np.int64)
                )
                res.spikes[m.name] = SpikeData(
                    m.target,
                    pop.size,
                    arr[0].astype(np.int64),
                    arr[1].astype(np.int32),
                    arr[2].astype(np.int64),
                )
            elif isinstance(m, StateMonitor):
                vals = {
                    v: np.stack(x) if x else np.zeros((0, sim.batch_size, 0))
                    for v, x in self.states[m.name].items()
                }
                idx = np.arange(pop.size) if m.indices is None else np.asarray(m.indices)
                res.states[m.name] = StateData(
                    m.target, np.asarray(self.state_steps[m.name], np.int64), idx, vals
                )
            else:
                r = (
                    np.stack(self.rate_acc[m.name])
                    if self.rate_acc[m.name]
                    else np.zeros((0, sim.batch_size))
                )
                res.rates[m.name] = RateData(m.target, m.bin_s, r)
        return res


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


class _TensorRecorder:
    """Keeps the activity of chosen populations as tensors (with their graph, for training)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.data: dict[str, list[torch.Tensor]] = {n: [] for n in names}
        self.whole: dict[str, torch.Tensor] = {}  # [T, B, n] tensors of a run without loop

    def record(self, k: int, activity: dict[str, torch.Tensor], states: dict[str, Any]) -> None:
        for n in self.names:
            self.data[n].append(activity[n])

    def flush(self) -> None:
        return None

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            n: self.whole[n] if n in self.whole else torch.stack(v) for n, v in self.data.items()
        }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine()


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
) -> Result:
    """Build a :class:`Simulator` and run it once (the one-call API)."""
    sim = Simulator(
        network, mode=mode, batch_size=batch_size, seed=seed, device=device, dtype=dtype
    )
    return sim.run(duration_s, inputs=inputs, out=out, progress=progress, chunk_steps=chunk_steps)
