"""Pure step kernels of the spiking neuron models, on torch tensors.

Each kernel has the form ``step(x, state, p, *, dt_s) -> (z, state)``:

- ``x`` is a :class:`SynapticInput`: the increments of the synaptic variables that arrive at
  this step (from spikes of the previous step, or earlier with a delay) and the external drive
  (mV) held over the step;
- ``state`` a NamedTuple of tensors shaped [batch, n];
- ``p`` a NamedTuple of parameters (python floats shared by the population, or tensors [n]).

Order inside a step (as Brian2's default schedule, so both simulators agree step for step):
the arriving increments are added to the synaptic variables, the state is integrated exactly
over ``dt_s``, the threshold is tested, spiking neurons are reset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from .surrogate import heaviside

__all__ = [
    "SynapticInput",
    "LIFParams",
    "LIFState",
    "lif_step",
    "LIFScratch",
    "lif_scratch",
    "lif_step_",
    "AdLIFParams",
    "AdLIFState",
    "adlif_step",
    "CubaLIFParams",
    "CubaLIFState",
    "cuba_lif_step",
    "IzhikevichParams",
    "IzhikevichState",
    "izhikevich_step",
    "syn_coefficient",
]

SpikeFn = Callable[[torch.Tensor], torch.Tensor]
Scalar = float | torch.Tensor


class SynapticInput(NamedTuple):
    exc: torch.Tensor | float = 0.0
    inh: torch.Tensor | float = 0.0
    current: torch.Tensor | float = 0.0  # external drive in mV (or model units)


def syn_coefficient(tau_syn_s: float, tau_mem_s: float, dt_s: float) -> float:
    """Effect on v after dt of a unit exponential current (exact solution of the 2-D system)."""
    a_m = math.exp(-dt_s / tau_mem_s)
    if abs(tau_syn_s - tau_mem_s) < 1e-12 * tau_mem_s:
        return dt_s / tau_mem_s * a_m
    a_s = math.exp(-dt_s / tau_syn_s)
    return tau_syn_s / (tau_syn_s - tau_mem_s) * (a_s - a_m)


# ----------------------------------------------------------------------------------- LIF


class LIFParams(NamedTuple):
    tau_mem_s: float
    tau_syn_exc_s: float
    tau_syn_inh_s: float
    v_rest_mV: float
    v_reset_mV: float
    v_th_mV: float
    i_bias_mV: Scalar
    ref_steps: int
    conductance: bool
    e_exc_mV: float
    e_inh_mV: float


class LIFState(NamedTuple):
    v: torch.Tensor
    i_exc: torch.Tensor  # synaptic drive (mV) or conductance (relative to leak)
    i_inh: torch.Tensor
    ref: torch.Tensor  # steps of refractoriness left (integer tensor)


def _reset(v: torch.Tensor, z: torch.Tensor, v_reset: Scalar, spike_fn_used: bool) -> torch.Tensor:
    if spike_fn_used:  # keep a gradient path through the reset
        return v - z * (v - v_reset)
    return torch.where(z > 0, torch.as_tensor(v_reset, dtype=v.dtype, device=v.device), v)


def lif_step(
    x: SynapticInput,
    state: LIFState,
    p: LIFParams,
    *,
    dt_s: float,
    spike_fn: SpikeFn | None = None,
) -> tuple[torch.Tensor, LIFState]:
    """One exact step of the LIF neuron with exponential synapses.

    Current synapses: the linear system (v, i_exc, i_inh) is solved in closed form.
    Conductance synapses: conductances are held over the step and v follows the exact
    solution of the resulting linear equation (exponential Euler, as Brian2).
    """
    i_exc = state.i_exc + x.exc
    i_inh = state.i_inh + x.inh
    a_e = math.exp(-dt_s / p.tau_syn_exc_s)
    a_i = math.exp(-dt_s / p.tau_syn_inh_s)
    drive = p.v_rest_mV + p.i_bias_mV + x.current
    # without a gradient the same operations run in place on fresh temporaries (same values,
    # fewer allocations); with one the kernel stays purely functional
    inplace = spike_fn is None and not torch.is_grad_enabled()
    if p.conductance:
        if inplace:
            g_tot = torch.add(i_exc, 1.0).add_(i_inh)
            v_inf = torch.mul(i_exc, p.e_exc_mV).add_(drive).add_(i_inh * p.e_inh_mV).div_(g_tot)
            decay = g_tot.mul_(-dt_s / p.tau_mem_s).exp_()
            v_new = torch.sub(state.v, v_inf).mul_(decay).add_(v_inf)
        else:
            g_tot = 1.0 + i_exc + i_inh
            v_inf = (drive + i_exc * p.e_exc_mV + i_inh * p.e_inh_mV) / g_tot
            v_new = v_inf + (state.v - v_inf) * torch.exp(-dt_s / p.tau_mem_s * g_tot)
    else:
        a_m = math.exp(-dt_s / p.tau_mem_s)
        c_e = syn_coefficient(p.tau_syn_exc_s, p.tau_mem_s, dt_s)
        c_i = syn_coefficient(p.tau_syn_inh_s, p.tau_mem_s, dt_s)
        v_new = drive + (state.v - drive) * a_m + i_exc * c_e - i_inh * c_i
    i_exc = i_exc * a_e
    i_inh = i_inh * a_i
    if inplace:
        # same values as the branch below: masked_fill == where with a constant, and a 0/1
        # spike times a 0/1 mask == the spike with the masked entries cleared
        if p.ref_steps > 0:
            refractory = state.ref > 0
            v_new.masked_fill_(refractory, p.v_reset_mV)
            spk = ((v_new - p.v_th_mV) > 0).masked_fill_(refractory, False)
            ref = (state.ref - 1).clamp_min_(0).masked_fill_(spk, p.ref_steps - 1)
        else:
            spk = (v_new - p.v_th_mV) > 0
            ref = state.ref
        z = spk.to(v_new.dtype)
        v_new.masked_fill_(spk, p.v_reset_mV)
        return z, LIFState(v_new, i_exc, i_inh, ref)
    if p.ref_steps > 0:
        refractory = state.ref > 0
        v_new = torch.where(refractory, torch.full_like(v_new, p.v_reset_mV), v_new)
    fn = spike_fn or heaviside
    z = fn(v_new - p.v_th_mV)
    if p.ref_steps > 0:
        z = z * (~refractory).to(z.dtype)
        # Brian2's rule: not refractory once (k - k_spike) >= ref_steps, i.e. the membrane is
        # clamped for ref_steps - 1 steps after the spike step
        ref = torch.where(
            z > 0, torch.full_like(state.ref, p.ref_steps - 1), (state.ref - 1).clamp_min(0)
        )
    else:
        ref = state.ref
    v_new = _reset(v_new, z, p.v_reset_mV, spike_fn is not None)
    return z, LIFState(v_new, i_exc, i_inh, ref)


class LIFScratch(NamedTuple):
    """Preallocated temporaries and constants of :func:`lif_step_` (tensors [batch, n]).

    The constants are 0-dim tensors of the state's dtype holding exactly the float the
    scalar form would use (an operation with them gives the same bits, at less cost per call).
    """

    g: torch.Tensor  # total conductance, then the decay factor
    num: torch.Tensor  # v_inf
    tmp: torch.Tensor
    refractory: torch.Tensor  # bool
    spk: torch.Tensor  # bool
    syn: torch.Tensor | None  # [2, batch, n] block whose rows are state.i_exc and state.i_inh
    decay: torch.Tensor  # [2, 1, 1]: exp(-dt / tau_syn_exc), exp(-dt / tau_syn_inh)
    const: dict[str, torch.Tensor]


def lif_scratch(
    like: torch.Tensor, p: LIFParams, *, dt_s: float, syn: torch.Tensor | None = None
) -> LIFScratch:
    """Temporaries and constants for :func:`lif_step_`, shaped and typed like ``like``.

    ``syn``: the [2, batch, n] tensor whose two rows are the state's ``i_exc`` and ``i_inh``
    (then both decay in one operation), or None.
    """
    f = [torch.empty_like(like) for _ in range(3)]
    b = [torch.empty_like(like, dtype=torch.bool) for _ in range(2)]

    def c(x: float) -> torch.Tensor:
        return torch.tensor(x, dtype=like.dtype, device=like.device)

    decay = torch.tensor(
        [math.exp(-dt_s / p.tau_syn_exc_s), math.exp(-dt_s / p.tau_syn_inh_s)],
        dtype=like.dtype,
        device=like.device,
    ).view(2, 1, 1)
    const = {
        "one": c(1.0),
        "e_exc": c(p.e_exc_mV),
        "e_inh": c(p.e_inh_mV),
        "leak": c(-dt_s / p.tau_mem_s),
        "a_m": c(math.exp(-dt_s / p.tau_mem_s)),
        "c_e": c(syn_coefficient(p.tau_syn_exc_s, p.tau_mem_s, dt_s)),
        "c_i": c(syn_coefficient(p.tau_syn_inh_s, p.tau_mem_s, dt_s)),
        "v_th": c(p.v_th_mV),
        "v_reset": c(p.v_reset_mV),
        "since": torch.zeros((), dtype=torch.int32, device=like.device),  # step - ref_steps
    }
    if isinstance(p.i_bias_mV, float):
        const["drive"] = c(p.v_rest_mV + p.i_bias_mV + 0.0)
    return LIFScratch(f[0], f[1], f[2], b[0], b[1], syn, decay, const)


def lif_step_(
    x: SynapticInput,
    state: LIFState,
    p: LIFParams,
    *,
    dt_s: float,
    step: int,
    z_out: torch.Tensor,
    scratch: LIFScratch,
    x_syn: torch.Tensor | None = None,
) -> None:
    """:func:`lif_step` without a gradient, updating ``state`` and ``z_out`` in place.

    The same floating-point operations in the same order as ``lif_step`` (so the same bits),
    written into preallocated tensors: no allocation per step and about 18 tensor operations
    instead of 30. ``x.exc``/``x.inh`` are the arriving increments (None: nothing arrives),
    ``x.current`` the external drive in mV; ``x_syn`` [2, batch, n] may carry both increments
    at once (with ``scratch.syn``). ``z_out`` receives the spikes (0/1).

    Unlike ``lif_step``, ``state.ref`` holds the step of each neuron's last spike (integers;
    a large negative number before the first): a neuron is refractory at step ``step`` while
    ``step - last < ref_steps``, which is the countdown of ``lif_step`` in one comparison.
    Skipped operations are exact identities: ``x * 0 + y == y`` for a reversal potential of
    0 mV, and the threshold test of a refractory neuron (clamped at ``v_reset_mV`` below
    ``v_th_mV``) is false already.
    """
    v, i_exc, i_inh, last = state
    g, num, tmp, refractory, spk, syn, decay, c = scratch
    if x_syn is not None and syn is not None:
        syn.add_(x_syn)
    else:
        if x.exc is not None:
            i_exc.add_(x.exc)
        if x.inh is not None:
            i_inh.add_(x.inh)
    if "drive" in c and isinstance(x.current, float) and x.current == 0.0:
        drive: Scalar = c["drive"]
    else:
        drive = p.v_rest_mV + p.i_bias_mV + x.current
    if p.conductance:
        torch.add(i_exc, c["one"], out=g).add_(i_inh)
        if p.e_exc_mV == 0.0:  # i_exc * 0 + drive == drive (finite conductances)
            torch.mul(i_inh, c["e_inh"], out=num).add_(drive)
        else:
            torch.mul(i_exc, c["e_exc"], out=num).add_(drive)
            num.add_(torch.mul(i_inh, c["e_inh"], out=tmp))
        num.div_(g)
        g.mul_(c["leak"]).exp_()
        v.sub_(num).mul_(g).add_(num)
    else:
        v.sub_(drive).mul_(c["a_m"]).add_(drive)
        v.add_(torch.mul(i_exc, c["c_e"], out=tmp))
        v.sub_(torch.mul(i_inh, c["c_i"], out=tmp))
    if syn is not None:
        syn.mul_(decay)
    else:
        i_exc.mul_(decay[0, 0, 0])
        i_inh.mul_(decay[1, 0, 0])
    # v > th is (v - th) > 0 for floats (a difference rounds to 0 only for equal numbers)
    # torch.where(mask, constant, v, out=v) is v.masked_fill_(mask, constant), and cheaper
    if p.ref_steps > 0:
        since = c["since"]
        since.fill_(step - p.ref_steps)
        torch.gt(last, since, out=refractory)
        torch.where(refractory, c["v_reset"], v, out=v)
        torch.gt(v, c["v_th"], out=spk)
        if not p.v_reset_mV < p.v_th_mV:
            spk.masked_fill_(refractory, False)
        last.masked_fill_(spk, step)
    else:
        torch.gt(v, c["v_th"], out=spk)
    z_out.copy_(spk)
    torch.where(spk, c["v_reset"], v, out=v)


# ------------------------------------------------------------------------------- AdLIF


class AdLIFParams(NamedTuple):
    lif: LIFParams
    tau_adapt_s: float
    a: float
    b_mV: float


class AdLIFState(NamedTuple):
    v: torch.Tensor
    i_exc: torch.Tensor
    i_inh: torch.Tensor
    ref: torch.Tensor
    w: torch.Tensor  # adaptation drive (mV)


def adlif_step(
    x: SynapticInput,
    state: AdLIFState,
    p: AdLIFParams,
    *,
    dt_s: float,
    spike_fn: SpikeFn | None = None,
) -> tuple[torch.Tensor, AdLIFState]:
    """LIF step with the adaptation drive ``w`` held over the step, then w integrated exactly."""
    lp = p.lif
    x_eff = SynapticInput(x.exc, x.inh, x.current - state.w)
    z, s = lif_step(
        x_eff,
        LIFState(state.v, state.i_exc, state.i_inh, state.ref),
        lp,
        dt_s=dt_s,
        spike_fn=spike_fn,
    )
    a_w = math.exp(-dt_s / p.tau_adapt_s)
    w_inf = p.a * (state.v - lp.v_rest_mV)
    w = w_inf + (state.w - w_inf) * a_w + p.b_mV * z
    return z, AdLIFState(s.v, s.i_exc, s.i_inh, s.ref, w)


# ---------------------------------------------------------------------------- CUBA LIF


class CubaLIFParams(NamedTuple):
    tau_syn_s: float
    tau_mem_s: float
    v_th: float
    bias: Scalar


class CubaLIFState(NamedTuple):
    u: torch.Tensor
    v: torch.Tensor


def _is_zero(a: object) -> bool:
    return isinstance(a, (int, float)) and a == 0


def cuba_lif_step(
    x: SynapticInput,
    state: CubaLIFState,
    p: CubaLIFParams,
    *,
    dt_s: float,
    spike_fn: SpikeFn | None = None,
) -> tuple[torch.Tensor, CubaLIFState]:
    """Loihi's current-based LIF in floating point: u, v decay geometrically; reset to 0."""
    du = math.exp(-dt_s / p.tau_syn_s)
    dv = math.exp(-dt_s / p.tau_mem_s)
    # terms that are the scalar 0 are skipped: same values, fewer tensor ops (and autograd
    # nodes) per step, which matters when training by BPTT
    u = state.u * du + x.exc
    if not _is_zero(x.inh):
        u = u - x.inh
    v = state.v * dv + u
    if not _is_zero(p.bias):
        v = v + p.bias
    if not _is_zero(x.current):
        v = v + x.current
    fn = spike_fn or heaviside
    z = fn(v - p.v_th)
    v = v * (1 - z) if spike_fn is not None else torch.where(z > 0, torch.zeros_like(v), v)
    return z, CubaLIFState(u, v)


# --------------------------------------------------------------------------- Izhikevich


class IzhikevichParams(NamedTuple):
    a: Scalar
    b: Scalar
    c: Scalar
    d: Scalar
    v_peak_mV: float
    i_bias: Scalar
    tau_syn_exc_s: float
    tau_syn_inh_s: float


class IzhikevichState(NamedTuple):
    v: torch.Tensor
    u: torch.Tensor
    i_exc: torch.Tensor
    i_inh: torch.Tensor


def izhikevich_step(
    x: SynapticInput,
    state: IzhikevichState,
    p: IzhikevichParams,
    *,
    dt_s: float,
    spike_fn: SpikeFn | None = None,
) -> tuple[torch.Tensor, IzhikevichState]:
    """Izhikevich (2003): v in two half steps (numerically stable as in the paper), u Euler."""
    i_exc = state.i_exc + x.exc
    i_inh = state.i_inh + x.inh
    current = i_exc - i_inh + p.i_bias + x.current
    h = dt_s * 1e3  # ms
    v, u = state.v, state.u
    for _ in range(2):
        v = v + 0.5 * h * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
    v = torch.clamp(v, max=p.v_peak_mV + 1e3)  # keep overshoot finite before the reset
    u = u + h * p.a * (p.b * state.v - u)
    fn = spike_fn or heaviside
    z = fn(v - p.v_peak_mV)
    if spike_fn is not None:
        v = v - z * (v - p.c)
    else:
        v = torch.where(z > 0, torch.as_tensor(p.c, dtype=v.dtype, device=v.device).expand_as(v), v)
    u = u + z * p.d
    i_exc = i_exc * math.exp(-dt_s / p.tau_syn_exc_s)
    i_inh = i_inh * math.exp(-dt_s / p.tau_syn_inh_s)
    return z, IzhikevichState(v, u, i_exc, i_inh)
