"""The fused fast loop (spiking runs without gradient) against the general step loop.

The fast loop steps LIF populations that share their parameters as one state tensor, delivers
every projection through one arrival buffer and keeps only padded rows per synapse. It must
give exactly the same spikes and traces (bit for bit on CPU) as the general loop, which steps
one population and one projection at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import spikesim as ss
from spikesim import dynamics as dyn
from spikesim.engine import fast_loop


def _net() -> ss.Network:
    """Two LIF populations with the same parameters (fused), one with other parameters and
    conductance synapses, one with an external current (never fused), delays 0-3 steps and
    several projections into the same population and receptor."""
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("ext", 120, rate_hz=40.0)
    net.add_spike_times("st", 3, indices=[0, 1, 2, 0], times_s=[0.001, 0.002, 0.004, 0.01])
    shared = ss.LIF(tau_mem_s=15e-3, t_ref_s=2e-3, v_init_mV=ss.Uniform(-65, -50))
    other = ss.LIF(
        tau_mem_s=25e-3,
        synapse="conductance",
        e_exc_mV=0.0,
        e_inh_mV=-80.0,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
        i_bias_mV=5.0,
    )
    net.add_population("a", 50, shared)
    net.add_population("b", 30, shared)
    net.add_population("c", 25, other)
    net.add_population("d", 10, shared)
    net.add_projection("ext_a", "ext", "a", ss.FixedFanIn(k=20, weight=ss.Normal(6.0, 1.0)))
    net.add_projection("ext_b", "ext", "b", ss.FixedFanIn(k=20, weight=7.0))
    net.add_projection("ext_c", "ext", "c", ss.Sparse(p=0.1, weight=0.3))
    net.add_projection("a_c", "a", "c", ss.Sparse(p=0.2, weight=0.2))
    net.add_projection("b_c", "b", "c", ss.Sparse(p=0.2, weight=0.25), delay_steps=3)
    net.add_projection("a_b", "a", "b", ss.Sparse(p=0.1, weight=2.0), receptor="inh", delay_steps=2)
    net.add_projection("b_a", "b", "a", ss.Sparse(p=0.1, weight=1.5), receptor="inh")
    net.add_projection("a_a", "a", "a", ss.Sparse(p=0.05, weight=1.0))
    net.add_projection("a_a2", "a", "a", ss.Sparse(p=0.05, weight=0.7))
    net.add_projection("st_d", "st", "d", ss.Dense(weight=9.0))
    net.add_projection("a_d", "a", "d", ss.FixedFanIn(k=5, weight=3.0), delay_steps=1)
    net.add_projection("c_b", "c", "b", ss.Sparse(p=0.3, weight=1.0), receptor="inh")
    net.add_current("i_d", "d", amplitude_mV=14.0, start_s=0.005, stop_s=0.03)
    for p in "abcd":
        net.monitor_spikes(p)
    net.monitor_state("c", ["v", "i_exc"], indices=[0, 3], every_steps=3)
    net.monitor_state("a", ["v", "i_inh"], every_steps=2)
    net.monitor_rate("b", bin_s=5e-3)
    return net


def _run(net: ss.Network, *, fast: bool, **kw) -> ss.Result:
    sim = ss.Simulator(net, seed=2, **kw)
    sim.fast_loop = fast
    return sim.run(0.04)


def _assert_identical(r1: ss.Result, r2: ss.Result) -> None:
    for name, s in r1.spikes.items():
        t = r2.spikes[name]
        assert np.array_equal(s.step, t.step) and np.array_equal(s.index, t.index), name
        assert np.array_equal(s.batch, t.batch), name
    for name, s in r1.states.items():
        for var, x in s.values.items():
            assert np.array_equal(x, r2.states[name].values[var]), (name, var)
    for name, r in r1.rates.items():
        assert np.array_equal(r.rate_hz, r2.rates[name].rate_hz), name


@pytest.mark.parametrize(
    "kw", [{}, {"batch_size": 2}, {"dtype": "float64"}], ids=["b1", "b2", "f64"]
)
def test_fast_loop_is_bit_identical_to_the_general_loop(kw):
    net = _net()
    fast, general = _run(net, fast=True, **kw), _run(net, fast=False, **kw)
    # every population spikes, so the comparison is not between empty rasters
    assert all(fast.spikes[f"{p}_spikes"].count() > 5 for p in "abcd")
    _assert_identical(fast, general)


def test_large_units_keep_per_projection_rows_with_identical_results(monkeypatch):
    net = _net()
    ref = _run(net, fast=True, batch_size=2)
    monkeypatch.setattr(fast_loop, "_SPLIT_ENTRIES", 0)  # every unit above the threshold
    _assert_identical(_run(net, fast=True, batch_size=2), ref)


def test_populations_with_equal_parameters_are_fused_and_others_are_not():
    sim = ss.Simulator(_net(), seed=2)
    loop = fast_loop._FastLoop(sim, 1, {})
    groups = {tuple(g.names): g.fused for g in loop.groups}
    # "a" and "b" share one state tensor; "c" (other parameters) is alone but also stepped in
    # place; "d" shares a's parameters but has a current: alone, with the functional kernel
    assert groups == {("a", "b"): True, ("c",): True, ("d",): False}
    assert loop.A.shape == (1, 120 + 3 + 50 + 30 + 25 + 10)


@pytest.mark.parametrize("conductance", [False, True])
def test_in_place_lif_kernel_equals_the_functional_kernel(conductance):
    gen = torch.Generator().manual_seed(0)
    B, n, dt_s, ref_steps = 3, 200, 1e-4, 4
    p = dyn.LIFParams(
        20e-3, 5e-3, 10e-3, -60.0, -60.0, -50.0, 20.0 if conductance else 12.0, ref_steps,
        conductance, 0.0, -80.0,
    )  # fmt: skip
    v = -60.0 + 12.0 * torch.rand(B, n, generator=gen)
    ge, gi = torch.rand(B, n, generator=gen), torch.rand(B, n, generator=gen)
    countdown = torch.zeros(B, n, dtype=torch.int32)
    S = torch.stack([v, ge, gi])
    last = torch.full((B, n), -(2**30), dtype=torch.int32)
    state = dyn.LIFState(S[0], S[1], S[2], last)
    scratch = dyn.lif_scratch(S[0], p, dt_s=dt_s, syn=S[1:3])
    z_out = torch.empty(B, n)
    ref_state = dyn.LIFState(v.clone(), ge.clone(), gi.clone(), countdown)
    n_spikes = 0
    with torch.no_grad():
        for k in range(60):
            xe = (torch.rand(B, n, generator=gen) < 0.05).float() * 0.4
            xi = (torch.rand(B, n, generator=gen) < 0.02).float() * 0.8
            z, ref_state = dyn.lif_step(dyn.SynapticInput(xe, xi, 0.0), ref_state, p, dt_s=dt_s)
            x_syn = torch.stack([xe, xi]) if k % 2 else None  # both argument forms
            dyn.lif_step_(
                dyn.SynapticInput(xe, xi, 0.0),
                state,
                p,
                dt_s=dt_s,
                step=k,
                z_out=z_out,
                scratch=scratch,
                x_syn=x_syn,
            )
            assert torch.equal(z, z_out)
            for a, b in zip(ref_state[:3], state[:3], strict=True):
                assert torch.equal(a, b)
            # the countdown and the last spike step say the same about refractoriness
            assert torch.equal(ref_state.ref > 0, (k + 1) - state.ref < ref_steps)
            n_spikes += int(z.sum())
    assert n_spikes > 50
    assert math.isfinite(float(S.sum()))


def test_structured_projections_into_fused_populations_and_a_sources_only_network():
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("p", 16, rate_hz=400.0)
    shared = ss.LIF(t_ref_s=1e-3)
    net.add_population("a", 16, shared)
    net.add_population("b", 16, shared)
    net.add_projection("p_a", "p", "a", ss.OneToOne(weight=20.0))
    net.add_projection("p_b", "p", "b", ss.Dense(weight=3.0))
    circ = ss.Circulant(offsets=(-1, 1), weights=[6.0, 6.0])
    net.add_projection("a_b", "a", "b", circ, delay_steps=2)
    net.add_projection("b_a", "b", "a", ss.Dense(weight=0.5), receptor="inh")
    net.add_projection("a_a", "a", "a", ss.Sparse(p=0.3, weight=1.0))
    net.monitor_spikes("a")
    net.monitor_spikes("b", indices=[1, 3, 5, 7])
    net.monitor_state("b", "v", indices=[0, 2])
    fast, general = _run(net, fast=True, batch_size=2), _run(net, fast=False, batch_size=2)
    assert fast.spikes["a_spikes"].count() > 10 and fast.spikes["b_spikes"].count() > 3
    _assert_identical(fast, general)
    only = ss.Network(dt_s=1e-4)
    only.add_poisson("p", 10, rate_hz=200.0)
    only.monitor_spikes("p")
    fast, general = _run(only, fast=True), _run(only, fast=False)
    assert fast.spikes["p_spikes"].count() > 20
    _assert_identical(fast, general)
