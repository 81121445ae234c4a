"""The fused loop of spiking runs without gradient (``Simulator.fast_loop``): LIF populations
with equal parameters share one state tensor and one in-place kernel call, and all
projections deliver through one arrival buffer; results bit-identical to the general loop.
The compiled loop (:mod:`spikesim.compiled`) runs the tensors it builds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .. import dynamics as dyn
from ..network import (
    PoissonSource,
    SpikeTensorSource,
    SpikeTimesSource,
)
from ..neurons import LIF, RateUnit
from .recording import _Recorder

if TYPE_CHECKING:
    from .projection import _Projection
    from .simulator import Simulator, _Pop


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
