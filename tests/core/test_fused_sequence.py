"""The fused layer kernels (:func:`lif_sequence`, :func:`cuba_lif_sequence`) against T calls
of the step kernels with the SuperSpike surrogate: the same spikes and final states bit for
bit (float32 and float64), and the same gradients (float64, relative tolerance 1e-10, which
is float rounding of a different summation order)."""

from __future__ import annotations

import pytest
import torch

from spikesim import dynamics as dyn
from spikesim.dynamics import surrogate
from spikesim.errors import ParameterError, ShapeError

T, B, N, DT, ALPHA = 60, 3, 40, 1e-3, 100.0


def _lif_params(ref_steps: int, bias: float | torch.Tensor = 15.5) -> dyn.LIFParams:
    return dyn.LIFParams(
        20e-3, 5e-3, 10e-3, -65.0, -70.0, -50.0, bias, ref_steps, False, 0.0, -80.0
    )


def _inputs(dtype: torch.dtype, seed: int, *, inh: bool):
    g = torch.Generator().manual_seed(seed)
    xe = (
        (torch.rand(T, B, N, generator=g) < 0.3).to(dtype)
        * 12.0
        * torch.rand(T, B, N, generator=g, dtype=dtype)
    )
    xi = (torch.rand(T, B, N, generator=g) < 0.2).to(dtype) * 6.0 if inh else None
    v0 = -65.0 + 14.0 * torch.rand(B, N, generator=g, dtype=dtype)
    e0 = torch.rand(B, N, generator=g, dtype=dtype)
    h0 = torch.rand(B, N, generator=g, dtype=dtype) if inh else torch.zeros(B, N, dtype=dtype)
    return xe, xi, v0, e0, h0


def _lif_steps(xe, xi, state, p):
    fn = lambda x: dyn.superspike(x, ALPHA)  # noqa: E731
    zs = []
    for k in range(xe.shape[0]):
        x = dyn.SynapticInput(xe[k], 0.0 if xi is None else xi[k], 0.0)
        z, state = dyn.lif_step(x, state, p, dt_s=DT, spike_fn=fn)
        zs.append(z)
    return torch.stack(zs), state


def _loss(z, v, e, w):
    return (z * w).sum() + (v * 0.01).sum() + (e * 0.1).sum()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ref_steps,inh", [(0, False), (3, True)], ids=["plain", "refractory_inh"])
def test_lif_sequence_equals_the_step_kernel(dtype, ref_steps, inh):
    p = _lif_params(ref_steps)
    xe, xi, v0, e0, h0 = _inputs(dtype, 1, inh=inh)
    w = torch.randn(T, B, N, generator=torch.Generator().manual_seed(9), dtype=dtype)
    leaves = [t.clone().requires_grad_() for t in (xe, v0, e0, h0)] + (
        [xi.clone().requires_grad_()] if inh else []
    )
    ref0 = torch.zeros(B, N, dtype=torch.int32)
    grads = []
    results = []
    for fused in (True, False):
        xe_, v0_, e0_, h0_, *xi_ = (t.detach().clone().requires_grad_() for t in leaves)
        xi_t = xi_[0] if xi_ else None
        st = dyn.LIFState(v0_, e0_, h0_, ref0)
        if fused:
            z, out = dyn.lif_sequence(xe_, st, p, dt_s=DT, alpha=ALPHA, x_inh=xi_t)
        else:
            z, out = _lif_steps(xe_, xi_t, st, p)
        _loss(z, out.v, out.i_exc, w).backward()
        results.append((z.detach(), out))
        grads.append([t.grad for t in (xe_, v0_, e0_, h0_, *xi_)])
    (zf, sf), (zs, ss_) = results
    assert 0.008 < float(zf.mean()) < 0.5  # >= 58 spikes: not silent, not saturated
    assert torch.equal(zf, zs)
    for a, b in zip(sf, ss_, strict=True):
        assert torch.equal(a.detach(), b.detach())
    if dtype == torch.float64:
        for gf, gs in zip(*grads, strict=True):
            assert gs.abs().max() > 0
            torch.testing.assert_close(gf, gs, rtol=1e-10, atol=1e-12)
    else:
        for gf, gs in zip(*grads, strict=True):
            torch.testing.assert_close(gf, gs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuba_lif_sequence_equals_the_step_kernel(dtype):
    p = dyn.CubaLIFParams(5e-3, 20e-3, 1.0, 0.02)
    g = torch.Generator().manual_seed(4)
    x = (
        (torch.rand(T, B, N, generator=g) < 0.3).to(dtype)
        * 0.5
        * torch.rand(T, B, N, generator=g, dtype=dtype)
    )
    u0 = 0.1 * torch.rand(B, N, generator=g, dtype=dtype)
    v0 = torch.rand(B, N, generator=g, dtype=dtype)
    w = torch.randn(T, B, N, generator=torch.Generator().manual_seed(5), dtype=dtype)
    out = []
    for fused in (True, False):
        xs, us, vs = (t.clone().requires_grad_() for t in (x, u0, v0))
        st = dyn.CubaLIFState(us, vs)
        if fused:
            z, st = dyn.cuba_lif_sequence(xs, st, p, dt_s=DT, alpha=ALPHA)
        else:
            zs = []
            for k in range(T):
                zk, st = dyn.cuba_lif_step(
                    dyn.SynapticInput(xs[k]),
                    st,
                    p,
                    dt_s=DT,
                    spike_fn=lambda a: dyn.superspike(a, ALPHA),
                )
                zs.append(zk)
            z = torch.stack(zs)
        ((z * w).sum() + st.v.sum() + st.u.sum()).backward()
        out.append((z.detach(), st.u.detach(), st.v.detach(), xs.grad, us.grad, vs.grad))
    assert 0.05 < float(out[0][0].mean()) < 0.5
    for a, b in zip(out[0][:3], out[1][:3], strict=True):
        assert torch.equal(a, b)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}
    for a, b in zip(out[0][3:], out[1][3:], strict=True):
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b, **tol)


def test_fused_spikes_are_saved_as_bool_by_compact_saved_spikes():
    p = _lif_params(2)
    xe, _, v0, e0, h0 = _inputs(torch.float32, 3, inh=False)
    st = dyn.LIFState(v0, e0, h0, torch.zeros(B, N, dtype=torch.int32))
    w = torch.ones(N, 4, requires_grad=True)
    with surrogate.compact_saved_spikes() as stats:
        z, _ = dyn.lif_sequence(xe, st, p, dt_s=DT)
        (z.reshape(-1, N) @ w).sum().backward()
    # the product saved the spikes [T*B, N] for w's gradient: stored as bool (1 byte)
    assert stats.n_compacted == 1
    assert torch.equal(w.grad[:, 0], z.reshape(-1, N).sum(0))


def test_bad_input_is_refused():
    p = _lif_params(0)
    st = dyn.LIFState(
        torch.zeros(2, 3),
        torch.zeros(2, 3),
        torch.zeros(2, 3),
        torch.zeros(2, 3, dtype=torch.int32),
    )
    with pytest.raises(ShapeError, match="x_exc"):
        dyn.lif_sequence(torch.zeros(4, 2, 4), st, p, dt_s=DT)
    with pytest.raises(ParameterError, match="x_exc"):
        dyn.lif_sequence(torch.zeros(4, 2, 3, dtype=torch.float64), st, p, dt_s=DT)
    with pytest.raises(ParameterError, match="conductance"):
        dyn.lif_sequence(torch.zeros(4, 2, 3), st, p._replace(conductance=True), dt_s=DT)
