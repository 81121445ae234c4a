"""The Triton backend of ``cuba_lif_sequence`` against its torch loop.

On CPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``; skipped where Triton
is not installed): spikes and states must be the same bits as the torch loop, gradients equal
to float rounding. The ``gpu`` test repeats the comparison with the compiled kernels on CUDA.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from spikesim import dynamics as dyn
from spikesim.dynamics import triton_lif
from spikesim.errors import ParameterError

HAS_TRITON = importlib.util.find_spec("triton") is not None
DT_S = 1e-3


def _case(device: str, *, T: int, B: int, n: int, bias: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, n, generator=g) * 0.9).to(device)
    u0 = (torch.rand(B, n, generator=g) * 0.2).to(device)
    v0 = (torch.rand(B, n, generator=g) * 0.8).to(device)
    b = (torch.rand(n, generator=g) * 0.05).to(device) if bias else 0.0
    p = dyn.CubaLIFParams(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0, bias=b)
    gz = torch.randn(T, B, n, generator=g).to(device)
    gu = torch.randn(B, n, generator=g).to(device)
    return x, u0, v0, p, gz, gu


def _run(backend: str, x, u0, v0, p, gz, gu):
    x = x.clone().requires_grad_(True)
    u0 = u0.clone().requires_grad_(True)
    v0 = v0.clone().requires_grad_(True)
    z, st = dyn.cuba_lif_sequence(
        x, dyn.CubaLIFState(u0, v0), p, dt_s=DT_S, alpha=100.0, backend=backend
    )
    ((z * gz).sum() + (st.u * gu).sum() + st.v.sum()).backward()
    return z.detach(), st.u.detach(), st.v.detach(), x.grad, u0.grad, v0.grad


def _compare(device: str, **kw) -> None:
    case = _case(device, **kw)
    ref = _run("torch", *case)
    got = _run("triton", *case)
    assert ref[0].sum() > 10, "the test input must make spikes"
    for name, a, b in zip(("z", "u", "v"), got[:3], ref[:3], strict=True):
        assert torch.equal(a, b), f"{name}: triton differs from the torch loop"
    for name, a, b in zip(("grad x", "grad u0", "grad v0"), got[3:], ref[3:], strict=True):
        assert a is not None and b is not None
        err = float((a - b).abs().max() / b.abs().max())
        assert err < 1e-5, f"{name}: max relative difference {err:.2e}"


@pytest.fixture
def interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    triton_lif._kernels.cache_clear()
    yield
    triton_lif._kernels.cache_clear()


@pytest.mark.filterwarnings("ignore:Conversion of an array with ndim > 0:DeprecationWarning")
@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed (pip install triton)")
@pytest.mark.parametrize("bias", [False, True])
def test_triton_interpreter_matches_torch_loop(interpreter, bias):
    # n * B = 111 neurons: not a multiple of the block, so the masked tail is exercised
    _compare("cpu", T=30, B=3, n=37, bias=bias)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
@pytest.mark.parametrize("bias", [False, True])
def test_triton_cuda_matches_torch_loop(bias):
    _compare("cuda", T=200, B=16, n=3001, bias=bias)


def test_auto_uses_torch_loop_on_cpu_and_float64():
    x, u0, v0, p, gz, gu = _case("cpu", T=5, B=2, n=4, bias=False)
    # float64 never goes to the kernels; "auto" must run and "triton" must be refused
    z, _ = dyn.cuba_lif_sequence(
        x.double(), dyn.CubaLIFState(u0.double(), v0.double()), p, dt_s=DT_S
    )
    assert z.dtype == torch.float64
    with pytest.raises(ParameterError, match="backend"):
        dyn.cuba_lif_sequence(
            x.double(), dyn.CubaLIFState(u0.double(), v0.double()), p, dt_s=DT_S, backend="triton"
        )
    with pytest.raises(ParameterError, match="'auto', 'torch' or 'triton'"):
        dyn.cuba_lif_sequence(x, dyn.CubaLIFState(u0, v0), p, dt_s=DT_S, backend="cuda")
