"""Matrix products with a spike operand in low precision (bf16, fp8), fp32 accumulation.

Spikes are exactly 0 or 1, and both values are exact in bfloat16 and in float8 (e4m3 and
e5m2). In a product ``spikes @ weight.T`` the spike side therefore loses nothing when it is
cast down; with fp32 accumulation and an fp32 output the only rounding is that of the other
operand:

* forward ``y = x @ W.T``: the weight ``W`` is rounded (bf16: 8 significant bits; fp8: e4m3
  with one per-tensor scale, 4 significant bits);
* weight gradient ``dW = g.T @ x``: the output gradient ``g`` is rounded (bf16; fp8: e5m2 with
  one per-tensor scale, 3 significant bits, the wide range gradients need);
* input gradient ``dx = g @ W`` (only when ``x`` requires grad): both ``g`` and ``W`` rounded
  as above.

The master weight, the output and both gradients stay float32. ``precision="fp32"`` is the
plain float32 product (whatever TF32 setting torch has on CUDA).

Devices: ``"fp32"`` and ``"bf16"`` run everywhere. On CPU the bf16 product is computed as the
fp32 product of the bf16-rounded operands, which is exactly "bf16 inputs, fp32 accumulation,
fp32 output" (a product of two bf16 values is exact in fp32) but not faster. On CUDA it uses
``torch.mm(..., out_dtype=torch.float32)`` (bf16 tensor cores, fp32 output) where this torch
has it; otherwise a bf16 product cast to fp32, which adds one bf16 rounding of the output
(:func:`bf16_path` says which one a device gets). ``"fp8"`` uses ``torch._scaled_mm`` and needs a
CUDA GPU with compute capability 8.9 or higher (Ada, Hopper, Blackwell); elsewhere it raises a
:class:`~spikesim.errors.ParameterError`. Dimensions that ``_scaled_mm`` needs as multiples
of 16 are zero-padded internally (zeros add nothing to a sum).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .errors import ParameterError, ShapeError

__all__ = ["PRECISIONS", "spike_linear", "fp8_supported", "bf16_path"]

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp8")

_SPIKE_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
_E4M3 = torch.float8_e4m3fn
_E5M2 = torch.float8_e5m2
_BF16_OUT_DTYPE: dict[str, bool] = {}


def fp8_supported(device: torch.device | str) -> bool:
    """True when ``precision="fp8"`` can run on ``device`` (CUDA, compute capability >= 8.9)."""
    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available() or not hasattr(torch, "_scaled_mm"):
        return False
    return torch.cuda.get_device_capability(dev) >= (8, 9)


def bf16_path(device: torch.device | str) -> str:
    """How ``precision="bf16"`` multiplies on ``device``.

    ``"fp32-emulated"`` (CPU and other non-CUDA devices: fp32 product of bf16-rounded
    operands, the exact bf16-in/fp32-accumulate/fp32-out result), ``"out_dtype"`` (CUDA,
    ``torch.mm(a, b, out_dtype=torch.float32)``: same result on bf16 tensor cores) or
    ``"bf16-output"`` (CUDA without ``out_dtype``: bf16 product cast to fp32, one extra bf16
    rounding of the output)."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return "fp32-emulated"
    key = str(dev)
    if key not in _BF16_OUT_DTYPE:
        a = torch.ones(16, 16, dtype=torch.bfloat16, device=dev)
        try:
            out = torch.mm(a, a, out_dtype=torch.float32)  # type: ignore[call-arg]
            ok = out.dtype == torch.float32 and bool(out[0, 0] == 16.0)
        except Exception:  # any failure (missing overload, old torch): the fallback path
            ok = False
        _BF16_OUT_DTYPE[key] = ok
    return "out_dtype" if _BF16_OUT_DTYPE[key] else "bf16-output"


# ------------------------------------------------------------------------------ products


def _mm_bf16(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` with both operands rounded to bf16, fp32 accumulation, fp32 result."""
    a16 = a.to(torch.bfloat16)
    b16 = b.to(torch.bfloat16)
    path = bf16_path(a.device)
    if path == "out_dtype":
        return torch.mm(a16, b16, out_dtype=torch.float32)  # type: ignore[call-arg]
    if path == "bf16-output":
        return torch.mm(a16, b16).float()
    return torch.mm(a16.float(), b16.float())


def _quantize(
    t: torch.Tensor, dtype: torch.dtype, exact: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``t`` as ``dtype`` with one per-tensor scale: ``t ~= q * scale`` (scale 1 if ``exact``)."""
    if exact:  # spikes: 0 and 1 are exact in every fp8 format
        return t.to(dtype), torch.ones((), dtype=torch.float32, device=t.device)
    fmax = torch.finfo(dtype).max
    amax = t.detach().abs().amax().float()
    scale = torch.where(amax > 0, amax / fmax, torch.ones_like(amax))
    q = (t.float() / scale).clamp_(-fmax, fmax).to(dtype)
    return q, scale


def _pad16(n: int) -> int:
    return (-n) % 16


def _mm_fp8(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    a_dtype: torch.dtype,
    b_dtype: torch.dtype,
    a_exact: bool,
    b_exact: bool,
) -> torch.Tensor:
    """``a [M, K] @ b [K, N]`` through ``torch._scaled_mm``: each operand in its fp8 format with
    a per-tensor scale (scale 1 for an exact 0/1 operand), fp32 accumulation, fp32 result.

    ``_scaled_mm`` wants ``a`` row-major, ``b`` column-major and K, N multiples of 16; both are
    arranged here (zero padding, sliced off the result)."""
    M, K = a.shape
    N = b.shape[1]
    pk, pn = _pad16(K), _pad16(N)
    if pk:
        a = F.pad(a, (0, pk))
        b = F.pad(b, (0, 0, 0, pk))
    if pn:
        b = F.pad(b, (0, pn))
    qa, sa = _quantize(a.contiguous(), a_dtype, a_exact)
    qbt, sb = _quantize(b.t().contiguous(), b_dtype, b_exact)  # [N, K] row-major = b col-major
    out = torch._scaled_mm(qa, qbt.t(), scale_a=sa, scale_b=sb, out_dtype=torch.float32)
    return out[:, :N] if pn else out


def _mm(a: torch.Tensor, b: torch.Tensor, precision: str) -> torch.Tensor:
    """``a @ b`` in ``"fp32"`` or ``"bf16"`` (fp8 calls :func:`_mm_fp8` with its formats)."""
    if precision == "fp32":
        return torch.mm(a.float(), b.float())
    return _mm_bf16(a, b)


class _SpikeLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, precision: str) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, w)
        ctx.precision = precision
        if precision == "fp8":  # y = x @ W.T: spikes e4m3 (exact), W e4m3 with a scale
            return _mm_fp8(x, w.t(), a_dtype=_E4M3, b_dtype=_E4M3, a_exact=True, b_exact=False)
        return _mm(x, w.t(), precision)

    @staticmethod
    def backward(
        ctx: Any, g: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:  # type: ignore[override]
        x, w = ctx.saved_tensors
        p = ctx.precision
        g = g.contiguous()
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = _mm_g(g, w, p).to(x.dtype)  # dx = g @ W
        if ctx.needs_input_grad[1]:
            # dW = g.T @ x: g e5m2 with a scale, x spikes exact
            gw = _mm_gt(g, x, p).to(w.dtype)
        return gx, gw, None


def _mm_g(g: torch.Tensor, w: torch.Tensor, p: str) -> torch.Tensor:
    if p == "fp8":  # g e5m2 (row-major), W e4m3
        return _mm_fp8(g, w, a_dtype=_E5M2, b_dtype=_E4M3, a_exact=False, b_exact=False)
    return _mm(g, w, p)


def _mm_gt(g: torch.Tensor, x: torch.Tensor, p: str) -> torch.Tensor:
    if p == "fp8":  # g.T e5m2, spikes e4m3 exact
        return _mm_fp8(g.t(), x, a_dtype=_E5M2, b_dtype=_E4M3, a_exact=False, b_exact=True)
    return _mm(g.t(), x, p)


# ------------------------------------------------------------------------------ public


def spike_linear(
    spikes: torch.Tensor,
    weight: torch.Tensor,
    *,
    precision: str = "fp32",
    check_values: bool = True,
) -> torch.Tensor:
    """``spikes @ weight.T`` (like ``nn.Linear`` without bias) with the spike side exact in a
    low ``precision``, fp32 accumulation and an fp32 result, differentiable in both operands.

    Parameters
    ----------
    spikes: [..., K] tensor of 0/1 values (float32, bfloat16 or float16), e.g. [T*B, K] or
        [T, B, K] presynaptic spikes per step. Values other than 0 and 1 make the low
        precisions round them too; ``check_values`` rejects them.
    weight: [N, K] float32 weight (the synaptic increment per presynaptic spike, in the units
        of the postsynaptic input, e.g. the ``x`` of :func:`~spikesim.dynamics.cuba_lif_sequence`).
    precision: ``"fp32"`` (exact float32 product), ``"bf16"`` (weight and output gradient
        rounded to bf16) or ``"fp8"`` (weight e4m3, output gradient e5m2, each with a
        per-tensor scale; CUDA with compute capability >= 8.9 only). See the module docstring
        for exactly what is rounded where.
    check_values: for ``"bf16"``/``"fp8"``, verify that ``spikes`` holds only 0 and 1 (one
        reduction over ``spikes``, a device sync on CUDA); pass ``False`` when the spikes come
        straight from a spiking kernel.

    Returns
    -------
    float32 [..., N]: the summed input each of the N postsynaptic neurons receives per entry.
    Gradients: ``weight`` gets ``g.T @ spikes`` and, if ``spikes`` requires grad, it gets
    ``g @ weight``, both computed in ``precision`` as described above and returned as float32
    (the spike gradient in ``spikes``' dtype).
    """
    where = "spike_linear"
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ParameterError(where, "precision", f"one of {PRECISIONS}", precision)
    if not isinstance(spikes, torch.Tensor):
        raise ParameterError(where, "spikes", "a torch.Tensor", type(spikes).__name__)
    if not isinstance(weight, torch.Tensor):
        raise ParameterError(where, "weight", "a torch.Tensor", type(weight).__name__)
    if spikes.dtype not in _SPIKE_DTYPES:
        raise ParameterError(
            where, "spikes.dtype", "float32, bfloat16 or float16", str(spikes.dtype)
        )
    if weight.dtype != torch.float32:
        raise ParameterError(
            where,
            "weight.dtype",
            "float32 (the master weight)",
            str(weight.dtype),
            hint="keep the weight in float32; the low precision is applied inside the product",
        )
    if weight.ndim != 2:
        raise ShapeError(where, "weight", ("N", "K"), tuple(weight.shape))
    if spikes.ndim < 1 or spikes.shape[-1] != weight.shape[1]:
        raise ShapeError(where, "spikes", ("...", weight.shape[1]), tuple(spikes.shape))
    if spikes.device != weight.device:
        raise ParameterError(
            where, "spikes.device", f"the weight's device {weight.device}", str(spikes.device)
        )
    if precision == "fp8" and not fp8_supported(spikes.device):
        raise ParameterError(
            where,
            "precision",
            f"'fp32' or 'bf16' on device {spikes.device}",
            precision,
            hint="'fp8' needs torch._scaled_mm on a CUDA GPU with compute capability >= 8.9 "
            "(Ada, Hopper or newer); use precision='bf16' here",
        )
    if check_values and precision != "fp32" and spikes.numel() > 0:
        if not bool(((spikes == 0) | (spikes == 1)).all()):
            raise ParameterError(
                where,
                "spikes",
                "only 0 and 1 values (spikes)",
                "other values",
                hint=f"precision={precision!r} is exact only for 0/1 inputs; use 'fp32' for "
                "graded inputs",
            )
    lead = spikes.shape[:-1]
    x2 = spikes.reshape(-1, spikes.shape[-1])
    y = _SpikeLinear.apply(x2, weight, precision)
    return y.reshape(*lead, weight.shape[0])
