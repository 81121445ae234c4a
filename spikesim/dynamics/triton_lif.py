"""Triton kernels for the fused CubaLIF sequence (the CUDA backend of ``cuba_lif_sequence``).

One program owns ``BLOCK`` neurons (of the flattened ``[B, n]`` state) and walks all T steps
with the state in registers: the forward pass reads the input current of each step once and
writes the pre-reset membrane (fp32), the spike (float, the layer's output) and the spike as
one byte (saved for backward); the backward pass walks the steps in reverse, reading the
membrane, the spike byte and the incoming spike gradient, and writes the input gradient. So a
layer costs one launch forward and one backward, and moves about 13 bytes per neuron and step
each way, instead of the T x (5-7) launches of the step-by-step torch loop.

The arithmetic is the torch loop's, operation for operation, compiled without fusing
multiplies and adds into FMAs (``enable_fp_fusion=False``): spikes and states are the same
bits as :func:`~spikesim.dynamics.cuba_lif_step` gives on the same device.

Triton is imported lazily: the module imports without it, and :func:`available` says whether
the kernels can run on a tensor's device (CUDA with Triton installed; with
``TRITON_INTERPRET=1`` Triton's interpreter runs them on CPU tensors, which the tests use).
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

import torch

__all__ = ["available", "cuba_forward", "cuba_backward"]

BLOCK = 512
NUM_WARPS = 4


def _interpret() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.lru_cache(maxsize=1)
def _triton() -> Any:
    try:
        import triton
        import triton.language  # noqa: F401
    except Exception:  # not installed, or broken: the torch loop is used
        return None
    return triton


_DISABLED: list[str] = []  # why the kernels failed once in this process (then not used again)


def disable(err: BaseException) -> None:
    """Stop using the kernels in this process after ``err`` (a failed compile or launch), with
    one RuntimeWarning; ``backend="auto"`` then takes the torch loop."""
    if not _DISABLED:
        _DISABLED.append(f"{type(err).__name__}: {err}")
        warnings.warn(
            f"spikesim: the Triton CubaLIF kernels failed ({_DISABLED[0][:300]}); "
            "using the torch loop from now on",
            RuntimeWarning,
            stacklevel=3,
        )


def available(t: torch.Tensor) -> bool:
    """True when the kernels can run on ``t``'s device (CUDA + Triton, or Triton's interpreter)."""
    if _triton() is None or _DISABLED:
        return False
    return t.is_cuda or (_interpret() and t.device.type == "cpu")


@functools.lru_cache(maxsize=1)
def _kernels() -> tuple[Any, Any]:
    triton = _triton()
    if triton is None:  # pragma: no cover - callers check available() first
        raise RuntimeError("triton is not installed")
    tl = triton.language

    @triton.jit
    def fwd(
        x_ptr,
        u_ptr,
        v_ptr,
        bias_ptr,
        pre_ptr,
        z_ptr,
        bits_ptr,
        u_out_ptr,
        v_out_ptr,
        T,
        n_elem,
        du,
        dv,
        v_th,
        HAS_BIAS: tl.constexpr,  # type: ignore[name-defined]
        BLOCK: tl.constexpr,  # type: ignore[name-defined]
    ):
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n_elem
        u = tl.load(u_ptr + offs, mask=mask, other=0.0)
        v = tl.load(v_ptr + offs, mask=mask, other=0.0)
        if HAS_BIAS:
            b = tl.load(bias_ptr + offs, mask=mask, other=0.0)
        # pointers advance by one step per iteration (64-bit pointer arithmetic: no int32
        # overflow of t * n_elem for tensors of 2^31 elements or more)
        x_p = x_ptr + offs
        pre_p = pre_ptr + offs
        z_p = z_ptr + offs
        bits_p = bits_ptr + offs
        for _t in range(T):
            x = tl.load(x_p, mask=mask, other=0.0)
            u = u * du + x  # u = u du + x
            m = v * dv + u  # v = v dv + u
            if HAS_BIAS:
                m = m + b
            spike = (m - v_th) > 0.0  # superspike's test
            zf = spike.to(tl.float32)
            tl.store(pre_p, m, mask=mask)
            tl.store(z_p, zf.to(z_ptr.dtype.element_ty), mask=mask)
            tl.store(bits_p, spike.to(tl.uint8), mask=mask)
            v = m - m * zf  # v (1 - z)
            x_p += n_elem
            pre_p += n_elem
            z_p += n_elem
            bits_p += n_elem
        tl.store(u_out_ptr + offs, u, mask=mask)
        tl.store(v_out_ptr + offs, v, mask=mask)

    @triton.jit
    def bwd(
        pre_ptr,
        bits_ptr,
        gz_ptr,
        gu_ptr,
        gv_ptr,
        gx_ptr,
        gu_out_ptr,
        gv_out_ptr,
        T,
        n_elem,
        last,
        du,
        dv,
        v_th,
        alpha,
        HAS_GZ: tl.constexpr,  # type: ignore[name-defined]
        BLOCK: tl.constexpr,  # type: ignore[name-defined]
    ):
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n_elem
        gu = tl.load(gu_ptr + offs, mask=mask, other=0.0)
        gv = tl.load(gv_ptr + offs, mask=mask, other=0.0)
        # from the last step (offset ``last`` = (T - 1) n_elem, computed on the host) down
        pre_p = pre_ptr + last + offs
        bits_p = bits_ptr + last + offs
        gz_p = gz_ptr + last + offs
        gx_p = gx_ptr + last + offs
        for _i in range(T):
            m = tl.load(pre_p, mask=mask, other=0.0)
            bit = tl.load(bits_p, mask=mask, other=0)
            # v = m (1 - z): d v / d z = -m, d v / d m = 1 - z
            if HAS_GZ:
                gz = tl.load(gz_p, mask=mask, other=0.0).to(tl.float32) - gv * m
            else:
                gz = -(gv * m)
            d = tl.abs(m - v_th) * alpha + 1.0  # SuperSpike: 1 / d^2
            gm = gz / (d * d) + tl.where(bit != 0, 0.0, gv)
            g = gu + gm  # m = v dv + u: the gradient of u_k, = the gradient of x_k
            tl.store(gx_p, g, mask=mask)
            gu = g * du
            gv = gm * dv
            pre_p -= n_elem
            bits_p -= n_elem
            gz_p -= n_elem
            gx_p -= n_elem
        tl.store(gu_out_ptr + offs, gu, mask=mask)
        tl.store(gv_out_ptr + offs, gv, mask=mask)

    return fwd, bwd


def _launch_options() -> dict[str, Any]:
    if _interpret():
        return {}
    return {"num_warps": NUM_WARPS, "enable_fp_fusion": False}


def cuba_forward(
    x: torch.Tensor,
    u0: torch.Tensor,
    v0: torch.Tensor,
    du: float,
    dv: float,
    v_th: float,
    bias: torch.Tensor | float | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward CubaLIF over ``x`` [T, B, n] (fp32) from (u0, v0) [B, n].

    Returns (spikes [T, B, n] in x's dtype, pre-reset membrane [T, B, n], spike bytes
    [T, B, n] as torch.bool, u_T, v_T).
    """
    fwd, _ = _kernels()
    T = x.shape[0]
    x = x.contiguous()
    u0 = u0.detach().contiguous()
    v0 = v0.detach().contiguous()
    n_elem = u0.numel()
    pre = torch.empty(x.shape, dtype=torch.float32, device=x.device)
    z = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    bits = torch.empty(x.shape, dtype=torch.bool, device=x.device)
    u_out = torch.empty_like(u0)
    v_out = torch.empty_like(v0)
    has_bias = bias is not None
    if isinstance(bias, torch.Tensor):
        b = bias.detach().to(u0.dtype).expand_as(u0).contiguous()
    elif bias is not None:
        b = torch.full_like(u0, float(bias))
    else:
        b = u0  # not read
    grid = (triton_cdiv(n_elem, BLOCK),)
    if T > 0:
        fwd[grid](
            x,
            u0,
            v0,
            b,
            pre,
            z,
            bits.view(torch.uint8),
            u_out,
            v_out,
            T,
            n_elem,
            float(du),
            float(dv),
            float(v_th),
            HAS_BIAS=has_bias,
            BLOCK=BLOCK,
            **_launch_options(),
        )
    else:
        u_out.copy_(u0)
        v_out.copy_(v0)
    return z, pre, bits, u_out, v_out


def cuba_backward(
    pre: torch.Tensor,
    bits: torch.Tensor,
    g_z: torch.Tensor | None,
    g_u: torch.Tensor | None,
    g_v: torch.Tensor | None,
    du: float,
    dv: float,
    v_th: float,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adjoint of :func:`cuba_forward`: (gradient of x [T, B, n], of u0, of v0)."""
    _, bwd = _kernels()
    T = pre.shape[0]
    n_elem = pre[0].numel() if T > 0 else 0
    zeros = torch.zeros(pre.shape[1:], dtype=torch.float32, device=pre.device)
    gu = zeros if g_u is None else g_u.detach().to(torch.float32).contiguous()
    gv = zeros if g_v is None else g_v.detach().to(torch.float32).contiguous()
    gx = torch.empty(pre.shape, dtype=torch.float32, device=pre.device)
    gu_out = torch.empty_like(zeros)
    gv_out = torch.empty_like(zeros)
    gz = g_z.contiguous() if g_z is not None else pre  # not read without HAS_GZ
    if T > 0:
        bwd[(triton_cdiv(n_elem, BLOCK),)](
            pre,
            bits.view(torch.uint8),
            gz,
            gu,
            gv,
            gx,
            gu_out,
            gv_out,
            T,
            n_elem,
            (T - 1) * n_elem,
            float(du),
            float(dv),
            float(v_th),
            float(alpha),
            HAS_GZ=g_z is not None,
            BLOCK=BLOCK,
            **_launch_options(),
        )
    else:
        gu_out.copy_(gu)
        gv_out.copy_(gv)
    return gx, gu_out, gv_out


def triton_cdiv(a: int, b: int) -> int:
    return -(-a // b)
