"""A neuron layer advanced over all T steps as one autograd node (training fast path).

In a feed-forward layer the synaptic input of every step is known before the layer runs
(one batched matrix product over ``[T * B, N_in]``), so the neuron recursion can run over
the whole sequence without building a graph step by step. :func:`lif_sequence` and
:func:`cuba_lif_sequence` do that: the forward pass runs the same floating-point operations
as T calls of :func:`~spikesim.dynamics.lif_step` / :func:`~spikesim.dynamics.cuba_lif_step`
with the SuperSpike surrogate (so the same spikes, bit for bit, and the same states), in
place; the backward pass is the hand-written adjoint of that recursion. Saved for backward
per neuron and step: the membrane before the reset (float) and the spike (bool), plus the
refractory mask (bool) when the LIF has a refractory period — instead of the four to six
float tensors per step that autograd keeps through the step kernel.

The first output (spikes) is registered with
:func:`~spikesim.dynamics.surrogate.register_spike_function`, so
:func:`~spikesim.dynamics.surrogate.compact_saved_spikes` stores it as bool where a later
layer saves it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import ParameterError, ShapeError
from . import triton_lif
from .spiking import CubaLIFParams, CubaLIFState, LIFParams, LIFState, syn_coefficient
from .surrogate import register_spike_function

__all__ = ["lif_sequence", "cuba_lif_sequence"]


def _surrogate(m: torch.Tensor, v_th: float, alpha: float) -> torch.Tensor:
    """SuperSpike derivative ``1 / (alpha |m - v_th| + 1)^2`` (a fresh tensor)."""
    d = torch.sub(m, v_th).abs_().mul_(alpha).add_(1.0)
    return d.mul_(d).reciprocal_()


class _LIFSequence(torch.autograd.Function):
    """T steps of the current-based LIF with exponential synapses and the SuperSpike
    surrogate (the differentiable form of :func:`~spikesim.dynamics.lif_step`)."""

    @staticmethod
    def forward(ctx, x_exc, x_inh, v0, e0, h0, ref0, p, dt_s, alpha):  # type: ignore[override]
        T = x_exc.shape[0]
        a_m = math.exp(-dt_s / p.tau_mem_s)
        a_e = math.exp(-dt_s / p.tau_syn_exc_s)
        a_i = math.exp(-dt_s / p.tau_syn_inh_s)
        c_e = syn_coefficient(p.tau_syn_exc_s, p.tau_mem_s, dt_s)
        c_i = syn_coefficient(p.tau_syn_inh_s, p.tau_mem_s, dt_s)
        drive = p.v_rest_mV + p.i_bias_mV + 0.0  # lif_step's drive with no external current
        v = v0.detach().clone()
        e = e0.detach().clone()
        h = h0.detach().clone()
        ref = ref0.clone()
        # the inhibitory current stays exactly 0 without inhibitory input from a zero state
        inh = x_inh is not None or bool(h.any())
        pre = torch.empty(x_exc.shape, dtype=v.dtype, device=v.device)  # membrane before reset
        z = torch.empty_like(pre)
        tmp = torch.empty_like(v)
        refr = (
            torch.empty(x_exc.shape, dtype=torch.bool, device=v.device) if p.ref_steps > 0 else None
        )
        for k in range(T):
            e.add_(x_exc[k])  # i_exc = i_exc + x.exc
            if x_inh is not None:
                h.add_(x_inh[k])
            m = pre[k]
            # v_new = drive + (v - drive) a_m + i_exc c_e - i_inh c_i (lif_step's order)
            torch.sub(v, drive, out=m).mul_(a_m).add_(drive)
            m.add_(torch.mul(e, c_e, out=tmp))
            if inh:
                m.sub_(torch.mul(h, c_i, out=tmp))
            e.mul_(a_e)
            if inh:
                h.mul_(a_i)
            zk = z[k]
            if refr is not None:
                r = torch.gt(ref, 0, out=refr[k])
                m.masked_fill_(r, p.v_reset_mV)
                torch.gt(torch.sub(m, p.v_th_mV, out=tmp), 0, out=zk)  # superspike's test
                zk.masked_fill_(r, 0.0)  # z (1 - refractory)
                ref = torch.where(zk > 0, p.ref_steps - 1, (ref - 1).clamp_min_(0)).to(ref.dtype)
            else:
                torch.gt(torch.sub(m, p.v_th_mV, out=tmp), 0, out=zk)
            # reset with a gradient path: v = v_new - z (v_new - v_reset)
            torch.sub(m, torch.sub(m, p.v_reset_mV, out=tmp).mul_(zk), out=v)
        saved = [pre, z.to(torch.bool)]
        if refr is not None:
            saved.append(refr)
        ctx.save_for_backward(*saved)
        ctx.coef = (a_m, a_e, a_i, c_e, c_i, p.v_th_mV, p.v_reset_mV, alpha)
        ctx.has_inh = x_inh is not None
        ctx.mark_non_differentiable(ref)
        return z, v, e, h, ref

    @staticmethod
    def backward(ctx, g_z, g_v, g_e, g_h, _g_ref):  # type: ignore[override]
        pre, bits, *rest = ctx.saved_tensors
        refr = rest[0] if rest else None
        a_m, a_e, a_i, c_e, c_i, v_th, v_reset, alpha = ctx.coef
        T = pre.shape[0]
        zero = torch.zeros_like(pre[0])
        gv = zero.clone() if g_v is None else g_v.clone()
        ge = zero.clone() if g_e is None else g_e.clone()
        gh = zero.clone() if g_h is None else g_h.clone()
        gx_e = torch.empty_like(pre)
        gx_i = torch.empty_like(pre) if ctx.has_inh else None
        u8 = bits.view(torch.uint8)  # uint8 -> float: the fast conversion on CPU
        for k in range(T - 1, -1, -1):
            m = pre[k]
            z = u8[k].to(m.dtype)
            # d v / d z = -(m - v_reset); d v / d m = 1 - z
            gz = torch.sub(m, v_reset).mul_(gv).neg_()
            if g_z is not None:
                gz.add_(g_z[k])
            gm = gz.mul_(_surrogate(m, v_th, alpha)).add_(gv - gv * z)
            if refr is not None:  # a clamped membrane passes no gradient
                gm.masked_fill_(refr[k], 0.0)
            ge.mul_(a_e).add_(gm, alpha=c_e)  # gradient of i_exc after the increment
            gx_e[k] = ge
            if gx_i is not None or g_h is not None or ctx.needs_input_grad[4]:
                gh.mul_(a_i).sub_(gm, alpha=c_i)
                if gx_i is not None:
                    gx_i[k] = gh
            gv = gm.mul_(a_m)
        return gx_e, gx_i, gv, ge, gh, None, None, None, None


class _CubaLIFSequence(torch.autograd.Function):
    """T steps of :func:`~spikesim.dynamics.cuba_lif_step` with the SuperSpike surrogate."""

    @staticmethod
    def forward(ctx, x, u0, v0, du, dv, v_th, bias, alpha, use_triton):  # type: ignore[override]
        ctx.coef = (du, dv, v_th, alpha)
        ctx.use_triton = False
        if use_triton:  # "auto" (1): on a failure to compile or launch, fall back once, warn
            try:
                z, pre, bits, u, v = triton_lif.cuba_forward(x, u0, v0, du, dv, v_th, bias)
            except Exception as e:
                if use_triton == 2:
                    raise
                triton_lif.disable(e)
            else:
                ctx.use_triton = True
                ctx.save_for_backward(pre, bits)
                return z, u, v
        T = x.shape[0]
        u = u0.detach().clone()
        v = v0.detach().clone()
        pre = torch.empty(x.shape, dtype=u.dtype, device=u.device)
        z = torch.empty_like(pre)
        tmp = torch.empty_like(u)
        for k in range(T):
            u.mul_(du).add_(x[k])  # u = u du + x.exc
            m = pre[k]
            torch.add(v.mul_(dv), u, out=m)  # v = v dv + u
            if bias is not None:
                m.add_(bias)
            zk = z[k]
            torch.gt(torch.sub(m, v_th, out=tmp), 0, out=zk)  # superspike's test
            # v (1 - z) as m - m z: the same values for z in {0, 1} (up to the sign of 0)
            torch.addcmul(m, m, zk, value=-1.0, out=v)
        ctx.save_for_backward(pre, z.to(torch.bool))
        return z, u, v

    @staticmethod
    def backward(ctx, g_z, g_u, g_v):  # type: ignore[override]
        pre, bits = ctx.saved_tensors
        du, dv, v_th, alpha = ctx.coef
        if ctx.use_triton:
            gx, gu, gv = triton_lif.cuba_backward(pre, bits, g_z, g_u, g_v, du, dv, v_th, alpha)
            return gx, gu, gv, None, None, None, None, None, None
        T = pre.shape[0]
        zero = torch.zeros_like(pre[0])
        gu = zero.clone() if g_u is None else g_u.clone()
        gv = zero.clone() if g_v is None else g_v.clone()
        gx = torch.empty_like(pre)
        # step by step (tensors of one step stay in cache; measured faster on CPU than the
        # non-recursive parts for all steps at once)
        for k in range(T - 1, -1, -1):
            m = pre[k]
            # v = m (1 - z): d v / d z = -m, d v / d m = 1 - z
            if g_z is not None:
                gz = torch.addcmul(g_z[k], gv, m, value=-1.0)
            else:
                gz = torch.mul(gv, m).neg_()
            d = torch.sub(m, v_th).abs_().mul_(alpha).add_(1.0)  # SuperSpike: 1 / d^2
            gm = gz.div_(d.mul_(d)).add_(gv.masked_fill_(bits[k], 0.0))
            g = gx[k]
            torch.add(gu, gm, out=g)  # m = v dv + u: u_k's gradient
            torch.mul(g, du, out=gu)
            gv = gm.mul_(dv)
        return gx, gu, gv, None, None, None, None, None, None


register_spike_function(_LIFSequence)
register_spike_function(_CubaLIFSequence)


def _check_x(x: torch.Tensor, like: torch.Tensor, where: str, field: str) -> None:
    if x.dim() != 3 or tuple(x.shape[1:]) != tuple(like.shape):
        raise ShapeError(where, field, ("T", *like.shape), tuple(x.shape))
    if x.dtype != like.dtype or x.device != like.device:
        raise ParameterError(
            where, field, f"{like.dtype} on {like.device} (the state's)", f"{x.dtype} on {x.device}"
        )


def lif_sequence(
    x_exc: torch.Tensor,
    state: LIFState,
    p: LIFParams,
    *,
    dt_s: float,
    alpha: float = 100.0,
    x_inh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, LIFState]:
    """Run the current-based LIF over ``x_exc`` [T, B, n] (the excitatory increments, mV,
    arriving at each step; ``x_inh`` likewise) from ``state``; SuperSpike surrogate of
    steepness ``alpha`` (as ``superspike``). Returns (spikes [T, B, n], final state).

    Same spikes and states, bit for bit, as T calls of :func:`~spikesim.dynamics.lif_step`
    with ``spike_fn=superspike`` (refractory period included); gradients with respect to the
    inputs and the initial ``v``, ``i_exc``, ``i_inh`` equal autograd's through the step
    kernel up to float rounding. Parameters get no gradient (a tensor ``i_bias_mV`` that
    requires one is refused). Conductance synapses are not supported (ParameterError).
    """
    where = "lif_sequence"
    if p.conductance:
        raise ParameterError(
            where, "p.conductance", "current synapses (False)", True, hint="use lif_step"
        )
    if isinstance(p.i_bias_mV, torch.Tensor) and p.i_bias_mV.requires_grad:
        raise ParameterError(where, "p.i_bias_mV", "a tensor without gradient", "requires_grad")
    _check_x(x_exc, state.v, where, "x_exc")
    if x_inh is not None:
        _check_x(x_inh, state.v, where, "x_inh")
    z, v, e, h, ref = _LIFSequence.apply(
        x_exc, x_inh, state.v, state.i_exc, state.i_inh, state.ref, p, dt_s, alpha
    )
    return z, LIFState(v, e, h, ref)


def cuba_lif_sequence(
    x: torch.Tensor,
    state: CubaLIFState,
    p: CubaLIFParams,
    *,
    dt_s: float,
    alpha: float = 100.0,
    backend: str = "auto",
) -> tuple[torch.Tensor, CubaLIFState]:
    """Run the Loihi-style CubaLIF over ``x`` [T, B, n] (the increments of ``u`` arriving at
    each step; negate inhibitory input) from ``state``. Same spikes and states, bit for bit,
    as T calls of :func:`~spikesim.dynamics.cuba_lif_step` with ``spike_fn=superspike``;
    gradients (inputs, initial ``u`` and ``v``) equal autograd's up to float rounding.

    ``backend``: ``"torch"`` runs the step loop in torch operations (any device and dtype);
    ``"triton"`` runs one Triton kernel forward and one backward (float32 on CUDA, see
    :mod:`spikesim.dynamics.triton_lif`); ``"auto"`` (default) takes Triton where it can run
    (float32 CUDA tensors, Triton installed) and the torch loop elsewhere."""
    where = "cuba_lif_sequence"
    if backend not in ("auto", "torch", "triton"):
        raise ParameterError(where, "backend", "'auto', 'torch' or 'triton'", backend)
    can_triton = x.dtype == torch.float32 and triton_lif.available(x)
    if backend == "triton" and not can_triton:
        raise ParameterError(
            where,
            "backend",
            "float32 tensors on a CUDA device with Triton installed",
            f"{x.dtype} on {x.device}" + ("" if triton_lif._triton() else " (no triton)"),
            hint='use backend="auto" or "torch"',
        )
    if isinstance(p.bias, torch.Tensor) and p.bias.requires_grad:
        raise ParameterError(where, "p.bias", "a tensor without gradient", "requires_grad")
    _check_x(x, state.v, where, "x")
    du = math.exp(-dt_s / p.tau_syn_s)
    dv = math.exp(-dt_s / p.tau_mem_s)
    bias: Any = None if isinstance(p.bias, (int, float)) and p.bias == 0 else p.bias
    # "auto" takes Triton on CUDA only (Triton's interpreter on CPU is for tests)
    use_triton = 2 if backend == "triton" else int(backend == "auto" and can_triton and x.is_cuda)
    z, u, v = _CubaLIFSequence.apply(x, state.u, state.v, du, dv, p.v_th, bias, alpha, use_triton)
    return z, CubaLIFState(u, v)
