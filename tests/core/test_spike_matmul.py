"""spike_linear: the spike side of a product is exact in bf16/fp8; only the weight (forward)
and the output gradient (weight gradient) are rounded, with fp32 accumulation and output."""

from __future__ import annotations

import pytest
import torch

from spikesim.errors import ParameterError, ShapeError
from spikesim.spike_matmul import _E4M3, _E5M2, _mm_fp8, fp8_supported, spike_linear

U_BF16 = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits, round to nearest)
U_E4M3 = 2.0**-4  # 4 significant bits
U_E5M2 = 2.0**-3  # 3 significant bits


def _data(seed: int = 0, m: int = 96, k: int = 80, n: int = 48, p: float = 0.2):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(m, k, generator=g) < p).float()
    w = torch.randn(n, k, generator=g) * 0.1
    gy = torch.randn(m, n, generator=g)
    return x, w, gy


def test_fp32_is_the_exact_float32_product_and_gradients():
    x, w, gy = _data()
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    y = spike_linear(xs, ws, precision="fp32")
    assert y.dtype == torch.float32
    assert torch.equal(y, x @ w.t())
    y.backward(gy)
    assert torch.equal(ws.grad, gy.t() @ x)
    assert torch.equal(xs.grad, gy @ w)


def test_leading_dimensions_are_kept():
    x, w, _ = _data(m=24)
    y = spike_linear(x.reshape(4, 6, -1), w, precision="bf16")
    assert y.shape == (4, 6, w.shape[0])
    torch.testing.assert_close(
        y.reshape(24, -1), spike_linear(x, w, precision="bf16"), rtol=0, atol=0
    )


def test_bf16_spike_side_exact_and_weight_gradient_within_bf16_rounding_of_g():
    x, w, gy = _data(seed=1)
    w16 = w.to(torch.bfloat16).float()  # weights already representable in bf16
    ws = w16.clone().requires_grad_()
    y = spike_linear(x, ws, precision="bf16")
    # the forward product has no rounding but fp32 accumulation's: equal to fp32 to 1e-6
    torch.testing.assert_close(y, x @ w16.t(), rtol=1e-6, atol=1e-6)
    y.backward(gy)
    exact = gy.t() @ x
    # rounding g to bf16 changes each term by at most U_BF16 |g|: a rigorous bound (+ fp32 slack)
    bound = U_BF16 * (gy.abs().t() @ x) + 1e-5
    err = (ws.grad - exact).abs()
    assert bool((err <= bound).all()), float((err - bound).max())
    assert float(err.max()) > 0  # the gradient is really rounded to bf16 (this is not fp32)
    # and it is exactly the product of the bf16-rounded g with the spikes
    ref = gy.to(torch.bfloat16).float().t() @ x
    torch.testing.assert_close(ws.grad, ref, rtol=1e-6, atol=1e-5)


def test_bf16_forward_error_bounded_by_weight_rounding():
    x, w, _ = _data(seed=2)
    y = spike_linear(x, w, precision="bf16")
    err = (y - x @ w.t()).abs()
    bound = U_BF16 * (x @ w.abs().t()) + 1e-6
    assert bool((err <= bound).all())
    assert float(err.max()) > 0


def test_bf16_input_gradient_when_spikes_require_grad():
    x, w, gy = _data(seed=3)
    xs = x.clone().requires_grad_()
    spike_linear(xs, w, precision="bf16").backward(gy)
    ref = gy.to(torch.bfloat16).float() @ w.to(torch.bfloat16).float()
    torch.testing.assert_close(xs.grad, ref, rtol=1e-6, atol=1e-5)


@pytest.mark.skipif(not hasattr(torch, "_scaled_mm"), reason="torch without _scaled_mm")
def test_fp8_product_internals_within_e4m3_e5m2_rounding():
    """The fp8 arithmetic (per-tensor scales, layouts, padding to 16) checked through
    ``torch._scaled_mm``'s CPU kernel; the public function still refuses fp8 on CPU."""
    x, w, gy = _data(seed=4, m=37, k=70, n=10)  # K, N not multiples of 16: padded
    try:
        y = _mm_fp8(x, w.t(), a_dtype=_E4M3, b_dtype=_E4M3, a_exact=True, b_exact=False)
    except (RuntimeError, NotImplementedError) as e:  # pragma: no cover - torch build dependent
        pytest.skip(f"this torch build has no CPU _scaled_mm: {e}")
    s_w = float(w.abs().max()) / 448.0
    # per element: relative U_E4M3 for normals, half the subnormal spacing (2^-10 s) below
    bound = x @ (U_E4M3 * w.abs() + 2.0**-10 * s_w).t() + 1e-6
    assert y.shape == (37, 10)
    assert bool(((y - x @ w.t()).abs() <= bound).all())
    gw = _mm_fp8(gy.t(), x, a_dtype=_E5M2, b_dtype=_E4M3, a_exact=False, b_exact=True)
    s_g = float(gy.abs().max()) / 57344.0
    bound = (U_E5M2 * gy.abs() + 2.0**-17 * s_g).t() @ x + 1e-5
    assert bool(((gw - gy.t() @ x).abs() <= bound).all())


def test_fp8_on_cpu_is_a_typed_error_naming_precision_and_device():
    x, w, _ = _data()
    assert not fp8_supported("cpu")
    with pytest.raises(ParameterError) as ei:
        spike_linear(x, w, precision="fp8")
    assert ei.value.field == "precision"
    assert "cpu" in str(ei.value) and "bf16" in str(ei.value)


@pytest.mark.parametrize(
    "kwargs, error, field",
    [
        ({"precision": "fp16"}, ParameterError, "precision"),
        ({"spikes": torch.ones(4, 7)}, ShapeError, "spikes"),
        ({"weight": torch.ones(2, 3, 8)}, ShapeError, "weight"),
        ({"spikes": torch.ones(4, 8, dtype=torch.int64)}, ParameterError, "spikes.dtype"),
        ({"weight": torch.ones(3, 8, dtype=torch.float64)}, ParameterError, "weight.dtype"),
        ({"spikes": torch.full((4, 8), 0.5), "precision": "bf16"}, ParameterError, "spikes"),
        ({"spikes": [[0.0] * 8]}, ParameterError, "spikes"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_parameter(kwargs, error, field):
    args = {"spikes": torch.ones(4, 8), "weight": torch.ones(3, 8), "precision": "fp32"}
    args.update(kwargs)
    with pytest.raises(error) as ei:
        spike_linear(args.pop("spikes"), args.pop("weight"), **args)
    assert ei.value.field == field


def test_graded_input_is_allowed_in_fp32_and_without_the_check():
    x = torch.full((4, 8), 0.5)
    w = torch.ones(3, 8)
    assert torch.equal(spike_linear(x, w), x @ w.t())
    assert spike_linear(x, w, precision="bf16", check_values=False).shape == (4, 3)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["bf16", "fp8"])
def test_cuda_low_precision_matches_fp32_within_rounding(precision):
    if precision == "fp8" and not fp8_supported("cuda"):
        pytest.skip("fp8 needs compute capability >= 8.9")
    x, w, gy = (t.cuda() for t in _data(seed=5, m=256, k=784, n=512))
    ws = w.clone().requires_grad_()
    y = spike_linear(x, ws, precision=precision)
    y.backward(gy)
    cos = torch.nn.functional.cosine_similarity
    assert float(cos(y.detach().flatten(), (x @ w.t()).flatten(), dim=0)) > 0.995
    assert float(cos(ws.grad.flatten(), (gy.t() @ x).flatten(), dim=0)) > 0.995
