"""Bit-exact fixed-point execution of a :class:`LoihiNetwork`, batched, in torch.

This reproduces lava-nc 0.10's ``fixed_pt`` process models step by step
(``lava/proc/lif/models.py::PyLifModelBitAcc``, ``lava/proc/dense/models.py::
PyDenseModelBitAcc`` and ``PyDelayDenseModelBitAcc``, ``lava/proc/sparse/models.py::
PySparseModelBitAcc``), including the integer widths Lava's numpy code uses:

LIF, per step (``a_in`` = sum of all incoming connection outputs, int32)::

    u' = trunc(u * (4096 - (du + 1)) / 4096) + (a_in << 6)        (int32 arithmetic)
    u' = u' - 2**24 if u' > 2**23; u' = u' + 2**24 if u' <= -2**23  (24-bit wrap, Lava's rule)
    v' = clip(trunc(v * (4096 - dv) / 4096) + u' + bias, -(2**23 - 1), 2**23 - 1)
    spike = v' > (vth << 6);  v' = 0 where spike

Dense/Sparse, per step: first send the activation computed at the previous step, then
compute ``a = (Wq @ s) << weight_exp`` (``>> -weight_exp``, flooring, when weight_exp <= 0)
from this step's source spikes. DelayDense keeps a ring buffer of ``max_delay + 1`` columns;
the weight shift is applied per delay column at the step the spikes arrive at the connection,
before the columns are accumulated (as Lava does), so a delay d arrives d + 1 steps later.

Step t of the result corresponds to Lava's ``time_step`` t + 1; input spikes given for step t
are injected at step t (what Lava's ``RingBuffer`` sends at time_step t + 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from spikesim.errors import ParameterError, ShapeError

from .network import (
    DECAY_RANGE,
    VTH_RANGE,
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    Sparse,
    _int,
    require_memory,
)

__all__ = ["FixedPointResult", "lif_step", "simulate_fixed_point", "wrap_int32"]

_U_MAX = 2**23  # Lava's max_uv_val
_V_LIMIT = 2**23 - 1
_DECAY_UNITY = 4096


@dataclass(frozen=True, eq=False)
class FixedPointResult:
    """Output of :func:`simulate_fixed_point`.

    spikes: population name -> bool tensor ``[n_steps, batch, n]``.
    u, v: population name -> int32 tensor ``[n_steps, batch, n]`` (state after step t, v after
    the reset), present only when ``record_state=True``.
    """

    spikes: dict[str, torch.Tensor]
    u: dict[str, torch.Tensor] | None = None
    v: dict[str, torch.Tensor] | None = None


def _device(device: Any) -> torch.device:
    """The torch device, refused with a typed error when misspelt or absent (the engine's
    check, :func:`spikesim.engine.simulator._device`)."""
    from spikesim.engine.simulator import _device as engine_device

    try:
        return engine_device(device)
    except ParameterError as err:
        raise ParameterError("simulate_fixed_point", "device", err.expected, device) from None


def wrap_int32(x: torch.Tensor) -> torch.Tensor:
    """Two's-complement wrap of an int64 tensor to the int32 range (numpy int32 overflow)."""
    return ((x + 2**31) & (2**32 - 1)) - 2**31


def lif_step(
    u: torch.Tensor,
    v: torch.Tensor,
    a_in: torch.Tensor,
    *,
    du: int,
    dv: int,
    vth: int,
    bias: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One bit-accurate LIF update on int64 tensors; returns ``(u, v, spikes)``.

    ``bias`` is the effective bias (``bias_mant`` shifted by ``bias_exp``).
    """
    _int("lif_step", "du", du, *DECAY_RANGE)
    _int("lif_step", "dv", dv, *DECAY_RANGE)
    _int("lif_step", "vth", vth, *VTH_RANGE)
    decayed_u = torch.div(u * (_DECAY_UNITY - (du + 1)), _DECAY_UNITY, rounding_mode="trunc")
    act = wrap_int32(wrap_int32(a_in) << 6)
    pre = wrap_int32(decayed_u + act)
    wrapped = torch.where(pre > _U_MAX, pre - 2 * _U_MAX, pre)
    u_new = torch.where(wrapped <= -_U_MAX, pre + 2 * _U_MAX, wrapped)
    decayed_v = torch.div(v * (_DECAY_UNITY - dv), _DECAY_UNITY, rounding_mode="trunc")
    v_new = torch.clamp(wrap_int32(decayed_v + u_new + bias), -_V_LIMIT, _V_LIMIT)
    spikes = v_new > (vth << 6)
    v_new = torch.where(spikes, torch.zeros_like(v_new), v_new)
    return u_new, v_new, spikes


def _shift(acc: torch.Tensor, weight_exp: int) -> torch.Tensor:
    # Lava: left_shift if weight_exp > 0 else right_shift(-weight_exp) (arithmetic, floors).
    return acc << weight_exp if weight_exp > 0 else acc >> (-weight_exp)


def _float_dtype(device: torch.device, max_abs_sum: int) -> torch.dtype:
    """A float dtype in which every partial sum of the matmul is an exact integer."""
    if (
        device.type == "cpu"
        and max_abs_sum < 2**24
        and torch.get_float32_matmul_precision() == "highest"
    ):
        return torch.float32
    if max_abs_sum >= 2**53:
        raise ParameterError(
            "simulate_fixed_point", "fan-in", "a weight sum below 2**53", max_abs_sum
        )
    return torch.float64  # exact; also immune to TF32 on CUDA


class _Conn:
    """Prepared connection state for the simulation loop."""

    def __init__(self, conn: Dense | Sparse | DelayDense, batch: int, device: torch.device):
        self.conn = conn
        self.source = conn.source
        self.target = conn.target
        self.weight_exp = int(conn.weight_exp)
        n_t, n_s = conn.shape
        wq = conn.quantized_weights()  # int64 (n_t, n_s)
        self.w: torch.Tensor | None = None  # dense (or delay-stacked) weights
        self.w_sparse: torch.Tensor | None = None  # COO weights of a Sparse connection
        max_abs_sum = int(np.abs(wq).sum(axis=1).max()) if wq.size else 0
        self.dtype = _float_dtype(device, max_abs_sum)
        self.is_delay = isinstance(conn, DelayDense)
        if self.is_delay:
            assert isinstance(conn, DelayDense)
            self.n_cols = conn.max_delay + 1
            # stacked (n_src, n_cols * n_t): column block k holds the synapses of delay k
            stacked = np.zeros((self.n_cols, n_t, n_s), dtype=np.int64)
            for k in np.unique(conn.delays):
                stacked[k] = np.where(conn.delays == k, wq, 0)
            mat = stacked.reshape(self.n_cols * n_t, n_s).T
            self.w = torch.as_tensor(np.ascontiguousarray(mat), dtype=self.dtype, device=device)
            self.ring = torch.zeros(batch, n_t, self.n_cols, dtype=torch.int64, device=device)
        else:
            if isinstance(conn, Sparse):
                q = quant_sparse(conn)
                idx = torch.as_tensor(np.stack([conn.rows, conn.cols]), device=device)
                # invariants checked explicitly (torch 2.11 on CUDA warns when left implicit)
                with torch.sparse.check_sparse_tensor_invariants(enable=True):
                    self.w_sparse = torch.sparse_coo_tensor(
                        idx,
                        torch.as_tensor(q, dtype=self.dtype, device=device),
                        (n_t, n_s),
                        check_invariants=True,
                    ).coalesce()
                self.w = None
            else:
                self.w_sparse = None
                self.w = torch.as_tensor(
                    np.ascontiguousarray(wq.T), dtype=self.dtype, device=device
                )
            self.buff = torch.zeros(batch, n_t, dtype=torch.int64, device=device)
        self.n_t = n_t

    def output(self) -> torch.Tensor:
        """What the connection sends this step (computed at the previous step)."""
        return self.ring[:, :, 0] if self.is_delay else self.buff

    def _accumulate(self, s: torch.Tensor) -> torch.Tensor:
        if self.w is not None:
            b, i = torch.nonzero(s, as_tuple=True)
            if b.numel() * 8 < s.numel():
                # event-driven: add the weight rows of the active sources (exact integer sums
                # in self.dtype, whatever the order)
                acc = torch.zeros(s.shape[0], self.w.shape[1], dtype=self.dtype, device=s.device)
                acc.index_add_(0, b, self.w.index_select(0, i))
                return acc.round().to(torch.int64)
            acc = s.to(self.dtype) @ self.w
        else:
            acc = torch.sparse.mm(self.w_sparse, s.to(self.dtype).T).T
        return acc.round().to(torch.int64)

    def update(self, s: torch.Tensor) -> None:
        """Receive this step's source spikes ``s`` [batch, n_src] (bool)."""
        acc = self._accumulate(s)
        if self.is_delay:
            per_delay = _shift(acc.view(-1, self.n_cols, self.n_t).transpose(1, 2), self.weight_exp)
            # Lava: a_buff[:, 0] = 0; a_buff = roll(a_buff, -1); a_buff += shifted (int32)
            ring = torch.roll(self.ring, shifts=-1, dims=2)
            ring[:, :, -1] = 0
            self.ring = wrap_int32(ring + per_delay)
        else:
            # numpy int64 sum, left/right shift, then the int32 channel to the target
            self.buff = wrap_int32(_shift(acc, self.weight_exp))


def quant_sparse(conn: Sparse) -> np.ndarray:
    """Quantised values of a Sparse connection (same rule as dense weights)."""
    from .network import quantize_weights

    return quantize_weights(
        conn.values, sign_mode=conn.sign_mode, num_weight_bits=conn.num_weight_bits
    )


def _prepare_inputs(
    net: LoihiNetwork,
    inputs: dict[str, Any] | None,
    n_steps: int,
    batch_size: int | None,
    device: torch.device,
) -> tuple[dict[str, torch.Tensor], int]:
    if inputs is not None and not isinstance(inputs, Mapping):
        raise ParameterError(
            "simulate_fixed_point",
            "inputs",
            "a dict of input name -> spikes",
            type(inputs).__name__,
        )
    inputs = dict(inputs or {})
    names = {i.name: i for i in net.inputs}
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise ParameterError(
            "simulate_fixed_point", "inputs", f"keys among {sorted(names)}", unknown
        )
    missing = sorted(set(names) - set(inputs))
    if missing:
        raise ParameterError(
            "simulate_fixed_point",
            "inputs",
            f"a spike train for every input {sorted(names)}",
            f"missing {missing}",
        )
    batch = batch_size
    out: dict[str, torch.Tensor] = {}
    for name, data in inputs.items():
        where = f"input {name!r}"
        try:
            t = torch.as_tensor(data) if not isinstance(data, torch.Tensor) else data
        except (TypeError, ValueError, RuntimeError):  # strings, objects, ragged nesting
            kind = getattr(np.asarray(data), "dtype", type(data).__name__)
            raise ParameterError(
                where, "spikes", "binary values (0/1 or bool)", f"{kind}"
            ) from None
        if t.dim() != 3:
            raise ShapeError(
                where,
                "spikes [n_steps, batch, n]",
                (n_steps, batch or -1, names[name].n),
                tuple(t.shape),
            )
        if batch is None:
            batch = int(t.shape[1])
        expected = (n_steps, batch, names[name].n)
        if tuple(t.shape) != expected:
            raise ShapeError(where, "spikes [n_steps, batch, n]", expected, tuple(t.shape))
        if t.dtype != torch.bool:
            if t.is_floating_point() or t.is_complex():
                ok = bool(((t == 0) | (t == 1)).all())
            else:
                ok = bool(((t == 0) | (t == 1)).all())
            if not ok:
                raise ParameterError(where, "spikes", "binary values (0/1 or bool)", "other values")
            t = t != 0
        out[name] = t.to(device)
    if batch is None:
        batch = 1
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ParameterError("simulate_fixed_point", "batch_size", "an integer >= 1", batch)
    return out, int(batch)


def simulate_fixed_point(
    net: LoihiNetwork,
    *,
    n_steps: int,
    inputs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    record_state: bool = False,
) -> FixedPointResult:
    """Run ``net`` bit-exactly as Lava's fixed-point models for ``n_steps`` steps.

    Parameters
    ----------
    net: the network.
    n_steps: number of time steps (>= 1).
    inputs: input name -> spike train ``[n_steps, batch, n]`` (bool or 0/1; numpy or torch).
      Every input of the network needs one; all share the batch size.
    batch_size: batch size when the network has no inputs (default 1); must match otherwise.
    device: torch device (default: CPU). Results are identical on every device.
    record_state: also return the ``u`` and ``v`` traces (int32).

    Returns a :class:`FixedPointResult` with per-population spikes ``[n_steps, batch, n]``.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ParameterError("simulate_fixed_point", "n_steps", "an integer >= 1", n_steps)
    n_steps = int(n_steps)
    if not isinstance(net, LoihiNetwork):
        raise ParameterError("simulate_fixed_point", "net", "a LoihiNetwork", type(net).__name__)
    if not isinstance(record_state, (bool, np.bool_)):
        raise ParameterError("simulate_fixed_point", "record_state", "True or False", record_state)
    dev = _device(device)
    ins, batch = _prepare_inputs(net, inputs, n_steps, batch_size, dev)
    if batch_size is not None and batch_size != batch:
        raise ParameterError(
            "simulate_fixed_point", "batch_size", f"{batch} (the inputs' batch)", batch_size
        )
    n_neurons = sum(p.n for p in net.populations)
    # the recorded spikes (bool) and, with record_state, u and v (int32) of every step
    require_memory(
        "simulate_fixed_point",
        "n_steps",
        float(n_steps) * batch * n_neurons * (9 if record_state else 1),
        f"{n_steps} steps x batch {batch} x {n_neurons} neurons",
        hint="Run fewer steps (or a smaller batch) at a time.",
    )

    conns = [_Conn(c, batch, dev) for c in net.connections]
    pops: list[LifPopulation] = list(net.populations)
    bias = {p.name: torch.as_tensor(p.bias(), dtype=torch.int64, device=dev) for p in pops}
    u = {p.name: torch.zeros(batch, p.n, dtype=torch.int64, device=dev) for p in pops}
    v = {p.name: torch.zeros(batch, p.n, dtype=torch.int64, device=dev) for p in pops}
    spikes = {p.name: torch.zeros(n_steps, batch, p.n, dtype=torch.bool, device=dev) for p in pops}
    u_tr = v_tr = None
    if record_state:
        u_tr = {
            p.name: torch.zeros(n_steps, batch, p.n, dtype=torch.int32, device=dev) for p in pops
        }
        v_tr = {
            p.name: torch.zeros(n_steps, batch, p.n, dtype=torch.int32, device=dev) for p in pops
        }
    incoming: dict[str, list[_Conn]] = {p.name: [] for p in pops}
    for c in conns:
        incoming[c.target].append(c)

    for t in range(n_steps):
        # 1. every connection sends what it computed at t-1; targets integrate it
        step_spikes: dict[str, torch.Tensor] = {}
        for p in pops:
            a_in = torch.zeros(batch, p.n, dtype=torch.int64, device=dev)
            for c in incoming[p.name]:
                a_in = a_in + c.output()
            un, vn, s = lif_step(
                u[p.name],
                v[p.name],
                wrap_int32(a_in),
                du=p.du,
                dv=p.dv,
                vth=p.vth,
                bias=bias[p.name],
            )
            u[p.name], v[p.name] = un, vn
            spikes[p.name][t] = s
            step_spikes[p.name] = s
            if record_state:
                u_tr[p.name][t] = un.to(torch.int32)  # type: ignore[index]
                v_tr[p.name][t] = vn.to(torch.int32)  # type: ignore[index]
        for name, data in ins.items():
            step_spikes[name] = data[t]
        # 2. connections receive this step's spikes and compute next step's activation
        for c in conns:
            c.update(step_spikes[c.source])
    return FixedPointResult(spikes=spikes, u=u_tr, v=v_tr)
