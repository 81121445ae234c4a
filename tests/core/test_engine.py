"""The torch engine: exact dynamics, determinism, batching, precision, delays, sparse equivalence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import spikesim as ss
from spikesim.errors import ParameterError, ShapeError, SimulationError


def _lif_current_net(amplitude_mV, *, dt_s=1e-4, t_ref_s=0.0, n=1):
    net = ss.Network(dt_s=dt_s)
    net.add_population(
        "n",
        n,
        ss.LIF(tau_mem_s=20e-3, v_rest_mV=-65.0, v_reset_mV=-65.0, v_th_mV=-50.0, t_ref_s=t_ref_s),
    )
    net.add_current("i", "n", amplitude_mV=amplitude_mV)
    net.monitor_spikes("n")
    net.monitor_state("n", "v")
    return net


def test_lif_first_spike_matches_analytic_time():
    # v(t) = v_rest + I (1 - exp(-t / tau)) crosses v_th at t* = -tau ln(1 - (v_th - v_rest) / I)
    for amp in (16.0, 20.0, 30.0):
        res = ss.simulate(_lif_current_net(amp), duration_s=0.1)
        idx, t = res.spike_trains("n_spikes")
        t_star = -20e-3 * math.log(1 - 15.0 / amp)
        # step k integrates (k dt, (k+1) dt]; the spike is reported at the first step whose end
        # lies past t*
        assert t[0] == pytest.approx(math.ceil(t_star / 1e-4 - 1e-9) * 1e-4 - 1e-4, abs=1e-12)


def test_lif_rate_with_refractory_period_matches_analytic():
    amp, t_ref = 20.0, 2e-3
    res = ss.simulate(_lif_current_net(amp, t_ref_s=t_ref), duration_s=1.0)
    _, t = res.spike_trains("n_spikes")
    isi = np.diff(t)
    t_star = -20e-3 * math.log(1 - 15.0 / amp)
    # interval = refractory period + charging time, each rounded to the step grid
    assert np.all(np.abs(isi - (t_ref + t_star)) <= 1e-4 + 1e-12)


def test_exact_integration_is_independent_of_dt():
    # subthreshold response to a step current: identical at common time points for any dt
    traces = {}
    for dt in (1e-3, 1e-4):
        res = ss.simulate(_lif_current_net(10.0, dt_s=dt), duration_s=0.05, dtype="float64")
        st = res.states["n_state"]
        traces[dt] = dict(
            zip(np.round((st.steps + 1) * dt, 9), st.values["v"][:, 0, 0], strict=False)
        )  # step k ends at (k + 1) dt
    common = sorted(set(traces[1e-3]) & set(traces[1e-4]))
    assert len(common) >= 40
    for t in common:
        assert traces[1e-3][t] == pytest.approx(traces[1e-4][t], abs=1e-9)
    t_end = common[-1]
    assert traces[1e-3][t_end] == pytest.approx(
        -65.0 + 10.0 * (1 - math.exp(-t_end / 20e-3)), abs=1e-9
    )


def test_cuba_lif_follows_lava_float_formula():
    # Lava's floating-point LIF: u = u (1 - du) + a_in; v = v (1 - dv) + u + bias; spike v > vth; v = 0
    net = ss.Network(dt_s=1e-3)
    net.add_spike_times("src", 1, indices=[0] * 5, times_s=[0.002, 0.004, 0.005, 0.011, 0.012])
    net.add_population("c", 1, ss.CubaLIF(tau_syn_s=4e-3, tau_mem_s=10e-3, v_th=1.5, bias=0.05))
    net.add_projection("p", "src", "c", ss.Dense(weight=0.6))
    net.monitor_state("c", ["u", "v"])
    net.monitor_spikes("c")
    res = ss.simulate(net, duration_s=0.03, dtype="float64")
    du, dv = 1 - math.exp(-1 / 4), 1 - math.exp(-1 / 10)
    u = v = 0.0
    arrivals = {3, 5, 6, 12, 13}  # a spike at step k reaches the target at step k + 1
    us, vs, spikes = [], [], []
    for k in range(30):
        u = u * (1 - du) + (0.6 if k in arrivals else 0.0)
        v = v * (1 - dv) + u + 0.05
        if v > 1.5:
            spikes.append(k)
            v = 0.0
        us.append(u)
        vs.append(v)
    st = res.states["c_state"]
    assert np.allclose(st.values["u"][:, 0, 0], us, atol=1e-12)
    assert np.allclose(st.values["v"][:, 0, 0], vs, atol=1e-12)
    idx, t = res.spike_trains("c_spikes")
    assert np.round(t / 1e-3).astype(int).tolist() == spikes and len(spikes) >= 2


def _noisy_net(n=200):
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("in", 400, rate_hz=20.0)
    net.add_population(
        "out",
        n,
        ss.LIF(tau_mem_s=10e-3, tau_syn_exc_s=2e-3, t_ref_s=2e-3, v_init_mV=ss.Uniform(-65, -50)),
    )
    net.add_projection("p", "in", "out", ss.FixedFanIn(k=40, weight=ss.Normal(12.0, 1.0)))
    net.add_projection(
        "rec", "out", "out", ss.Sparse(p=0.05, weight=1.0), receptor="inh", delay_steps=5
    )
    net.monitor_spikes("out")
    net.monitor_state("out", "v", indices=[0, 1, 2], every_steps=10)
    net.monitor_rate("out", bin_s=5e-3)
    return net


def test_same_seed_is_bit_identical_and_other_seed_differs():
    net = _noisy_net()
    a = ss.simulate(net, duration_s=0.1, seed=3)
    b = ss.simulate(net, duration_s=0.1, seed=3)
    c = ss.simulate(net, duration_s=0.1, seed=4)
    sa, sb, sc = a.spikes["out_spikes"], b.spikes["out_spikes"], c.spikes["out_spikes"]
    assert sa.count() > 100
    assert np.array_equal(sa.step, sb.step) and np.array_equal(sa.index, sb.index)
    assert np.array_equal(a.states["out_state"].values["v"], b.states["out_state"].values["v"])
    assert not (sa.count() == sc.count() and np.array_equal(sa.index, sc.index))


def test_batch_trials_are_independent_with_the_same_statistics():
    res = ss.simulate(_noisy_net(), duration_s=0.2, seed=1, batch_size=4)
    s = res.spikes["out_spikes"]
    counts = [s.count(batch=b) for b in range(4)]
    assert min(counts) > 0
    # different noise per trial, same network: counts differ but agree within 15 %
    assert len(set(counts)) > 1
    assert max(counts) / min(counts) < 1.15
    assert res.rates["out_rate"].rate_hz.shape == (40, 4)


def test_float64_agrees_with_float32_statistically():
    r32 = ss.simulate(_noisy_net(), duration_s=0.2, seed=2, dtype="float32").mean_rate_hz(
        "out_spikes"
    )
    r64 = ss.simulate(_noisy_net(), duration_s=0.2, seed=2, dtype="float64").mean_rate_hz(
        "out_spikes"
    )
    assert r32 > 5.0
    assert abs(r32 - r64) / r64 < 0.05


def test_chunked_run_equals_single_chunk():
    net = _noisy_net()
    a = ss.Simulator(net, seed=9).run(0.05, chunk_steps=7).spikes["out_spikes"]
    b = ss.Simulator(net, seed=9).run(0.05, chunk_steps=100000).spikes["out_spikes"]
    assert np.array_equal(a.step, b.step) and np.array_equal(a.index, b.index)


@pytest.mark.parametrize("delay", [0, 1, 7])
def test_transmission_delay_in_steps(delay):
    net = ss.Network(dt_s=1e-4)
    net.add_spike_times("src", 1, indices=[0], times_s=[0.001])
    net.add_population("dst", 1, ss.CubaLIF(tau_syn_s=1e-4, tau_mem_s=1e-4, v_th=0.5))
    net.add_projection("p", "src", "dst", ss.Dense(weight=1.0), delay_steps=delay)
    net.monitor_spikes("dst")
    res = ss.simulate(net, duration_s=0.003)
    _, t = res.spike_trains("dst_spikes")
    assert np.round(t / 1e-4).astype(int).tolist() == [10 + 1 + delay]


def test_per_synapse_delays_from_distance():
    # two targets on a ring at distances 1 and 3 mm, conduction 1 m/s -> delays 1 ms and 3 ms
    net = ss.Network(dt_s=1e-4)
    net.add_spike_times("src", 1, indices=[0], times_s=[0.0])
    net.add_population("dst", 2, ss.CubaLIF(tau_syn_s=1e-4, tau_mem_s=1e-4, v_th=0.5))
    delays = np.array([10, 30])
    net.add_projection(
        "p",
        "src",
        "dst",
        ss.Explicit(pre=np.array([0, 0]), post=np.array([0, 1]), weight=1.0, delay_steps=delays),
    )
    net.monitor_spikes("dst")
    res = ss.simulate(net, duration_s=0.005)
    idx, t = res.spike_trains("dst_spikes")
    got = dict(zip(idx.tolist(), np.round(t / 1e-4).astype(int).tolist(), strict=False))
    assert got == {0: 11, 1: 31}


def _equivalence_pair(conn_a, conn_b, pre_shape=None, post_shape=None, n_pre=64, n_post=64):
    out = []
    for conn in (conn_a, conn_b):
        net = ss.Network(dt_s=1e-4)
        net.add_poisson("in", n_pre, rate_hz=200.0) if pre_shape is None else net.add_spike_tensor(
            "in", n_pre, shape=pre_shape
        )
        net.add_population(
            "out", n_post, ss.CubaLIF(tau_syn_s=2e-3, tau_mem_s=5e-3, v_th=2.0), shape=post_shape
        )
        net.add_projection("p", "in", "out", conn)
        net.monitor_state("out", "u")
        out.append(net)
    return out


def _dense_from_table(pre, post, w, n_pre, n_post):
    m = np.zeros((n_post, n_pre))
    np.add.at(m, (post, pre), w)
    return m


def test_sparse_event_driven_equals_dense_matrix():
    gen = np.random.default_rng(0)
    pre = gen.integers(0, 64, 500)
    post = gen.integers(0, 64, 500)
    w = gen.normal(0, 1, 500)
    a, b = _equivalence_pair(
        ss.Explicit(pre=pre, post=post, weight=w),
        ss.Dense(weight=_dense_from_table(pre, post, w, 64, 64)),
    )
    ua = ss.simulate(a, duration_s=0.02, seed=5, dtype="float64").states["out_state"].values["u"]
    ub = ss.simulate(b, duration_s=0.02, seed=5, dtype="float64").states["out_state"].values["u"]
    assert np.abs(ua).max() > 1.0
    assert np.allclose(ua, ub, atol=1e-9)


def test_circulant_equals_its_dense_matrix():
    n = 32
    offsets, weights = (-2, 1, 3), np.array([0.5, -1.0, 2.0])
    m = np.zeros((n, n))
    for o, w in zip(offsets, weights, strict=False):
        for i in range(n):
            m[(i + o) % n, i] += w
    a, b = _equivalence_pair(
        ss.Circulant(offsets=offsets, weights=weights), ss.Dense(weight=m), n_pre=n, n_post=n
    )
    ua = ss.simulate(a, duration_s=0.02, seed=5, dtype="float64").states["out_state"].values["u"]
    ub = ss.simulate(b, duration_s=0.02, seed=5, dtype="float64").states["out_state"].values["u"]
    assert np.abs(ua).max() > 1.0
    assert np.allclose(ua, ub, atol=1e-9)


def test_conv2d_equals_torch_conv2d():
    gen = np.random.default_rng(1)
    kernel = gen.normal(0, 1, (3, 2, 3, 3))
    nets = _equivalence_pair(
        ss.Conv2d(kernel=kernel, padding=1),
        ss.Conv2d(kernel=kernel, padding=1),
        pre_shape=(2, 6, 6),
        post_shape=(3, 6, 6),
        n_pre=72,
        n_post=108,
    )
    x = (torch.rand(20, 1, 72, generator=torch.Generator().manual_seed(0)) < 0.2).double()
    sim = ss.Simulator(nets[0], dtype="float64")
    u = sim.run(0.002, inputs={"in": x}).states["out_state"].values["u"]
    # u after step k: decayed sum of conv(x[j]) for j < k
    a = math.exp(-1e-4 / 2e-3)
    ref = torch.zeros(1, 108, dtype=torch.float64)
    expected = []
    for k in range(20):
        inc = (
            torch.zeros_like(ref)
            if k == 0
            else torch.nn.functional.conv2d(
                x[k - 1].reshape(1, 2, 6, 6), torch.as_tensor(kernel), padding=1
            ).reshape(1, -1)
        )
        ref = ref * a + inc
        expected.append(ref.numpy().copy())
    assert np.allclose(u, np.stack(expected), atol=1e-9)


def test_sparse_memory_grows_with_synapses_not_n_squared():
    n = 200_000
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("in", n, rate_hz=5.0)
    net.add_population("out", n, ss.LIF())
    net.add_projection("p", "in", "out", ss.FixedFanIn(k=5, weight=1.0))
    sim = ss.Simulator(net)
    nbytes = sum(b.numel() * b.element_size() for b in sim.projs["p"].buffers())
    assert sim.projs["p"].n_synapses == n * 5
    assert (
        nbytes < 200 * n * 5
    )  # bounded bytes per synapse; a dense matrix would need 4 n^2 = 160 GB
    res = sim.run(0.002)
    assert res.run["n_steps"] == 20


def test_nan_state_raises_named_simulation_error():
    net = ss.Network(dt_s=1e-4)
    net.add_spike_times("src", 1, indices=[0, 0], times_s=[0.0, 0.0002])
    net.add_population("bad", 3, ss.LIF())
    net.add_projection("p", "src", "bad", ss.Dense(weight=3e38))  # overflows float32
    with pytest.raises(SimulationError, match="bad"):
        ss.simulate(net, duration_s=0.001)


def test_missing_or_misshaped_spike_tensor_input():
    net = ss.Network(dt_s=1e-4)
    net.add_spike_tensor("pix", 10)
    net.add_population("n", 2, ss.CubaLIF())
    net.add_projection("p", "pix", "n", ss.Dense())
    sim = ss.Simulator(net, batch_size=2)
    with pytest.raises(ParameterError, match="pix"):
        sim.run(0.001)
    with pytest.raises(ShapeError, match=r"\(10, 2, 10\)"):
        sim.run(0.001, inputs={"pix": torch.zeros(10, 3, 10)})


def test_bad_run_arguments():
    net = _noisy_net(10)
    with pytest.raises(ParameterError, match="mode"):
        ss.Simulator(net, mode="analog")
    with pytest.raises(ParameterError, match="dtype"):
        ss.Simulator(net, dtype="float16")
    with pytest.raises(ParameterError, match="duration_s"):
        ss.simulate(net, duration_s=-1.0)


def test_uniform_delay_given_by_the_rule_is_applied():
    net = ss.Network(dt_s=1e-4)
    net.add_spike_times("src", 2, indices=[0, 1], times_s=[0.001, 0.001])
    net.add_population("dst", 2, ss.CubaLIF(tau_syn_s=1e-4, tau_mem_s=1e-4, v_th=0.5))
    conn = ss.Explicit(
        pre=np.array([0, 1]), post=np.array([0, 1]), weight=1.0, delay_steps=np.array([4, 4])
    )
    net.add_projection("p", "src", "dst", conn, delay_steps=2)
    net.monitor_spikes("dst")
    _, t = ss.simulate(net, duration_s=0.003).spike_trains("dst_spikes")
    assert np.round(t / 1e-4).astype(int).tolist() == [10 + 1 + 4 + 2] * 2


def test_dense_weight_matrix_survives_freezing():
    w = np.arange(6, dtype=float).reshape(3, 2)  # (n_post, n_pre)
    net = ss.Network(dt_s=1e-4)
    net.add_population("a", 2, ss.CubaLIF())
    net.add_population("b", 3, ss.CubaLIF())
    net.add_projection("p", "a", "b", ss.Dense(weight=w))
    frozen = net.frozen(seed=0).projections["p"].connectivity
    m = np.zeros((3, 2))
    m[frozen.post, frozen.pre] = frozen.weight
    assert np.array_equal(m, w)
