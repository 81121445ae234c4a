"""Rate mode's synapse sums and Siegert evaluation, as sped up on 2026-11-26: the values must
be the ones a user got before (same terms, same order), and the kept copies (int64 synapse
indices, squared weights) must follow any change of the tables or weights between runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

import spikesim as ss
from spikesim.connectivity import Connectivity
from spikesim.dynamics.rate import _erfcx_antiderivative, siegert_rate


def _net(
    conn: Connectivity, *, trainable: bool = False, rate_hz: float | None = None
) -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("input", 300, rate_hz=ss.Uniform(5.0, 25.0) if rate_hz is None else rate_hz)
    net.add_population("exc", 120, ss.LIF(tau_mem_s=20e-3, tau_syn_exc_s=2e-3, t_ref_s=2e-3))
    net.add_projection("in_exc", "input", "exc", conn, trainable=trainable)
    net.monitor_rate("exc", bin_s=1e-3)
    return net


CONNS = {
    "sparse": ss.Sparse(p=0.1, weight=ss.Uniform(5.0, 20.0)),
    "fan_in": ss.FixedFanIn(k=30, weight=ss.Normal(12.0, 3.0)),
    "dense": ss.Dense(weight=ss.Uniform(0.0, 2.0)),
}


@pytest.mark.parametrize("kind", sorted(CONNS))
def test_rate_pair_is_the_two_sums_over_the_synapse_list(kind: str) -> None:
    sim = ss.Simulator(_net(CONNS[kind]), mode="rate", seed=3)
    pr = sim.projs["in_exc"]
    a = torch.rand(3, 300, generator=torch.Generator().manual_seed(0)) * 40.0
    mean, var = pr.rate_pair(a)
    # exactly what the one-sum-at-a-time path gives
    assert torch.equal(mean, pr(a, dense_activity=True))
    assert torch.equal(var, pr(a, square=True, dense_activity=True))
    # and the sums themselves, in float64 from the weight matrix (float32 rounding: 1e-5)
    if kind == "dense":
        w = pr.weight.double()
    else:
        pre, post = pr.coo()
        w = torch.zeros(120, 300, dtype=torch.float64)
        w.index_put_((post.long(), pre.long()), pr.weight.double(), accumulate=True)
    a64 = a.double()
    assert mean.double().numpy() == pytest.approx((a64 @ w.t()).numpy(), rel=1e-5, abs=1e-3)
    assert var.double().numpy() == pytest.approx((a64 @ (w * w).t()).numpy(), rel=1e-5, abs=1e-2)


def test_kept_copies_follow_weight_and_table_changes_between_runs() -> None:
    """A weight edited in place (an optimizer step, a user's edit) or tables loaded from
    another network: the next rate run uses the new values, exactly as a fresh simulator."""
    conn = ss.Sparse(p=0.1, weight=ss.Uniform(5.0, 20.0))
    sim = ss.Simulator(_net(conn, trainable=True), mode="rate", seed=3)
    with torch.no_grad():
        first = sim.run(0.01, progress=False).rates["exc_rate"].rate_hz
        sim.projs["in_exc"].weight.mul_(0.5)  # in place: same tensor, new version
        second = sim.run(0.01, progress=False).rates["exc_rate"].rate_hz
    assert not np.array_equal(first, second)
    fresh = ss.Simulator(_net(conn, trainable=True), mode="rate", seed=3)
    fresh.load_state_dict(sim.state_dict())
    with torch.no_grad():
        assert np.array_equal(fresh.run(0.01, progress=False).rates["exc_rate"].rate_hz, second)

    # another draw's synapse list copied into the same tensors (fan-in: same synapse count)
    net = _net(ss.FixedFanIn(k=30, weight=ss.Uniform(5.0, 15.0)), rate_hz=15.0)
    other = ss.Simulator(net, mode="rate", seed=4)
    target = ss.Simulator(net, mode="rate", seed=5)
    before = target.run(0.01, progress=False).rates["exc_rate"].rate_hz
    with torch.no_grad():  # the synapse list rate mode reads, copied in place
        for name in ("syn_pre", "syn_post", "weight"):
            getattr(target.projs["in_exc"], name).copy_(getattr(other.projs["in_exc"], name))
    after = target.run(0.01, progress=False).rates["exc_rate"].rate_hz
    expected = other.run(0.01, progress=False).rates["exc_rate"].rate_hz
    assert not np.array_equal(before, after)
    assert np.array_equal(after, expected)


def test_squared_weight_stays_in_the_graph_when_training() -> None:
    """With gradient on, the variance term's squared weights are part of the graph: the
    gradient of a rate-mode loss reaches the weights through both sums."""
    sim = ss.Simulator(_net(CONNS["sparse"], trainable=True), mode="rate", seed=3)
    pr = sim.projs["in_exc"]
    a = torch.rand(2, 300, generator=torch.Generator().manual_seed(1)) * 20.0
    mean, var = pr.rate_pair(a)
    var.sum().backward()
    pre, post = pr.coo()
    # d/dw_s sum_b sum_post (a[b, pre_s] w_s^2) = 2 w_s sum_b a[b, pre_s]
    expected = 2 * pr.weight.detach().double() * a.double()[:, pre.long()].sum(0)
    assert pr.weight.grad is not None
    assert pr.weight.grad.double().numpy() == pytest.approx(expected.numpy(), rel=1e-5)


def test_erfcx_antiderivative_batched_equals_single_calls_and_the_integral() -> None:
    gen = torch.Generator().manual_seed(0)
    for n in (1, 7, 37, 401):  # odd sizes: vectorised bodies and scalar tails differ in place
        ys = [torch.rand(2, n, generator=gen, dtype=torch.float64) * 60 - 40 for _ in range(2)]
        ys[1][0, : min(n, 3)] = -1e3  # far below the table (the asymptotic series)
        together = _erfcx_antiderivative(*ys)
        for y, g in zip(ys, together, strict=True):
            (alone,) = _erfcx_antiderivative(y)
            assert torch.equal(g, alone)
    # against the integral itself (scipy quad): 1e-9 relative on the table and below it (the
    # asymptotic series to its 1/x^10 term; with only the 1/x^4 term, as before 2026-11-26,
    # every value below -12 was off by 5.9e-8)
    for x in (-1e3, -100.0, -30.0, -12.5, -11.99, -3.0, 0.5, 4.0, 20.0):
        ref = integrate.quad(lambda u: special.erfcx(-u), 0.0, x, limit=400)[0]
        (g_y,) = _erfcx_antiderivative(torch.tensor([x], dtype=torch.float64))
        assert float(g_y[0]) == pytest.approx(ref, rel=1e-9, abs=1e-12), x


def test_siegert_rate_matches_the_integral_formula() -> None:
    """1 / (t_ref + tau sqrt(pi) int_{y_r}^{y_th} erfcx(-u) du): from the tabulated
    antiderivative, within 1e-7 relative of direct quadrature (below and above threshold)."""
    kw = dict(tau_mem_s=20e-3, tau_syn_s=2e-3, v_th_mV=-50.0, v_reset_mV=-60.0, t_ref_s=2e-3)
    mu = torch.tensor([-70.0, -55.0, -50.0, -45.0, -20.0], dtype=torch.float64)
    sigma = torch.tensor([3.0, 1.0, 4.0, 2.0, 5.0], dtype=torch.float64)
    got = siegert_rate(mu, sigma, **kw)
    shift = 1.4603545088095868 * math.sqrt(2.0) / 2 * math.sqrt(2e-3 / 20e-3)
    for m, s, r in zip(mu.tolist(), sigma.tolist(), got.tolist(), strict=True):
        y_th, y_r = (-50.0 - m) / s + shift, (-60.0 - m) / s + shift
        integral = integrate.quad(lambda u: special.erfcx(-u), y_r, y_th, limit=200)[0]
        assert r == pytest.approx(1 / (2e-3 + 20e-3 * math.sqrt(math.pi) * integral), rel=1e-7)
