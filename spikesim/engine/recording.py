"""Monitors of a run: :class:`_Recorder` collects spikes, states and rates chunk by chunk into
numpy arrays (optionally streamed to HDF5) and makes the :class:`~spikesim.results.Result`;
:class:`_TensorRecorder` keeps chosen activity as tensors with their graph, for training.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..network import (
    RateMonitor,
    SpikeMonitor,
    StateMonitor,
)
from ..results import RateData, Result, ResultWriter, SpikeData, StateData, versions

if TYPE_CHECKING:
    from .simulator import Simulator


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
                field="out",
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
