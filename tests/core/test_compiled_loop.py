"""The compiled (numba) fast loop against the torch fast loop: the same spikes, bit for bit.

``Simulator.compiled_loop = True`` runs the no-gradient spiking loop as one compiled call per
chunk of steps. A user switching it on must get exactly the spikes and rates of the torch loop
for the same seed (float64 and float32, batch > 1), and a network it does not support must
still run (on the torch loop) and say why in ``compiled_reason``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import spikesim as ss


def _net(*, dense: bool = False) -> ss.Network:
    """COBA-like: conductance-based exc/inh populations driven by Poisson input, plus a
    current-based LIF pair with refractoriness, delays 0-3 steps, several projections into
    the same population and receptor."""
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("ext", 100, rate_hz=50.0)
    net.add_spike_times("st", 3, indices=[0, 1, 2, 0, 2], times_s=[0.001, 0.002, 0.004, 0.01, 0.01])
    coba = ss.LIF(
        tau_mem_s=20e-3,
        v_rest_mV=-60.0,
        v_reset_mV=-60.0,
        v_th_mV=-50.0,
        t_ref_s=5e-3,
        synapse="conductance",
        e_exc_mV=0.0,
        e_inh_mV=-80.0,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
        i_bias_mV=20.0,
        v_init_mV=ss.Uniform(-60.0, -50.0),
    )
    cond2 = ss.LIF(
        tau_mem_s=25e-3,
        synapse="conductance",
        e_exc_mV=10.0,
        e_inh_mV=-75.0,
        i_bias_mV=8.0,
        t_ref_s=2e-3,
    )
    cur = ss.LIF(tau_mem_s=15e-3, t_ref_s=2e-3, v_init_mV=ss.Uniform(-65, -50))
    net.add_population("exc", 160, coba)
    net.add_population("inh", 40, coba)
    net.add_population("c2", 30, cond2)
    net.add_population("a", 50, cur)
    net.add_population("b", 30, cur)
    for pre, receptor, w in (("exc", "exc", 0.6), ("inh", "inh", 6.7)):
        for post in ("exc", "inh"):
            net.add_projection(
                f"{pre}_{post}", pre, post, ss.Sparse(p=0.1, weight=w), receptor=receptor
            )
    net.add_projection("ext_exc", "ext", "exc", ss.FixedFanIn(k=10, weight=0.3))
    net.add_projection("ext_a", "ext", "a", ss.FixedFanIn(k=20, weight=ss.Normal(6.0, 1.0)))
    net.add_projection("ext_b", "ext", "b", ss.FixedFanIn(k=20, weight=7.0))
    net.add_projection("st_b", "st", "b", ss.FixedFanIn(k=2, weight=20.0), delay_steps=1)
    net.add_projection("st_c2", "st", "c2", ss.Sparse(p=0.5, weight=1.0))
    net.add_projection("a_b", "a", "b", ss.Sparse(p=0.1, weight=2.0), receptor="inh", delay_steps=2)
    net.add_projection("b_a", "b", "a", ss.Sparse(p=0.1, weight=1.5), receptor="inh")
    net.add_projection("a_a", "a", "a", ss.Sparse(p=0.05, weight=1.0))
    net.add_projection("a_a2", "a", "a", ss.Sparse(p=0.05, weight=0.7))
    net.add_projection("exc_c2", "exc", "c2", ss.Sparse(p=0.2, weight=0.2), delay_steps=3)
    net.add_projection("a_c2", "a", "c2", ss.Sparse(p=0.2, weight=0.25), delay_steps=1)
    net.add_projection("c2_b", "c2", "b", ss.Sparse(p=0.3, weight=1.0), receptor="inh")
    if dense:
        net.add_projection("b_c2", "b", "c2", ss.Dense(weight=0.05))
    for p in ("exc", "inh", "c2", "a", "b"):
        net.monitor_spikes(p)
    net.monitor_spikes("st")
    net.monitor_spikes("a", name="a_some", indices=[7, 1, 30, 2])
    net.monitor_rate("exc", bin_s=5e-3)
    return net


def _run(net: ss.Network, *, compiled: bool, dtype: str, batch: int) -> tuple[ss.Simulator, Any]:
    sim = ss.Simulator(net, seed=11, dtype=dtype, batch_size=batch)
    sim.compiled_loop = compiled
    return sim, sim.run(0.06, chunk_steps=250)


def _same(r1: Any, r2: Any) -> None:
    assert set(r1.spikes) == set(r2.spikes)
    for name, s1 in r1.spikes.items():
        s2 = r2.spikes[name]
        for field in ("step", "batch", "index"):
            np.testing.assert_array_equal(getattr(s1, field), getattr(s2, field), err_msg=name)
    for name, q1 in r1.rates.items():
        np.testing.assert_array_equal(q1.rate_hz, r2.rates[name].rate_hz, err_msg=name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_loop_gives_the_torch_fast_loop_spikes(dtype: str) -> None:
    net = _net()
    _, ref = _run(net, compiled=False, dtype=dtype, batch=2)
    sim, ours = _run(net, compiled=True, dtype=dtype, batch=2)
    assert sim.compiled_reason is None  # it really ran compiled
    # every population spikes in both trials: the comparison is not between empty rasters
    for name, s in ref.spikes.items():
        if name == "st_spikes":
            continue
        assert s.count(batch=0) > 5 and s.count(batch=1) > 5, name
    _same(ref, ours)
    st = ours.spikes["st_spikes"]  # the given spike times, in every trial
    assert st.count(batch=0) == 5 and st.count(batch=1) == 5
    np.testing.assert_array_equal(st.step[st.batch == 1], [10, 20, 40, 100, 100])
    # the trials differ (independent Poisson draws), so batch handling is exercised
    e = ref.spikes["exc_spikes"]
    assert not np.array_equal(e.index[e.batch == 0][:20], e.index[e.batch == 1][:20])


def test_unsupported_network_falls_back_and_says_why() -> None:
    net = _net(dense=True)
    _, ref = _run(net, compiled=False, dtype="float64", batch=1)
    sim, ours = _run(net, compiled=True, dtype="float64", batch=1)
    assert sim.compiled_reason is not None and "b_c2" in sim.compiled_reason
    _same(ref, ours)
    # rate mode has no fused spiking loop: it runs as before and says so
    rate = ss.Simulator(_net(), mode="rate", seed=11)
    rate.compiled_loop = True
    rate.run(0.01)
    assert rate.compiled_reason is not None and "rate mode" in rate.compiled_reason


def test_compiled_loop_streams_the_same_spikes_to_hdf5(tmp_path: Any) -> None:
    """Chunks of 100 steps written to disk as the run goes: the file holds the torch spikes."""
    net = _net()
    back = []
    for compiled in (False, True):
        sim = ss.Simulator(net, seed=5, batch_size=2)
        sim.compiled_loop = compiled
        path = tmp_path / f"run_{compiled}.h5"
        sim.run(0.05, chunk_steps=100, out=path)
        back.append(ss.Result.from_hdf5(path))
    assert sim.compiled_reason is None
    assert back[0].spikes["exc_spikes"].count() > 100
    _same(back[0], back[1])
