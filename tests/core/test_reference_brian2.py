"""Agreement with Brian2, the reference simulator (same frozen network, same inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.models.classic import vogels_abbott_coba

import spikesim as ss
from spikesim.reference.brian2 import poisson_as_spike_times, run_brian2


def test_lif_spike_steps_identical_to_brian2():
    net = ss.Network(dt_s=1e-4)
    net.add_population(
        "n",
        3,
        ss.LIF(tau_mem_s=20e-3, v_rest_mV=-65.0, v_reset_mV=-70.0, v_th_mV=-50.0, t_ref_s=3e-3),
    )
    net.add_current("const", "n", amplitude_mV=np.array([16.0, 20.0, 40.0]))
    net.add_current(
        "step", "n", amplitude_mV=np.array([5.0, -3.0, 10.0]), start_s=0.05, stop_s=0.12
    )
    net.monitor_spikes("n")
    ours = ss.simulate(net, duration_s=0.2, dtype="float64").spikes["n_spikes"]
    ref = run_brian2(net, duration_s=0.2, seed=0).spikes["n_spikes"]
    assert ours.count() > 20
    a = sorted(zip(ours.index.tolist(), ours.step.tolist(), strict=False))
    b = sorted(zip(ref.index.tolist(), ref.step.tolist(), strict=False))
    assert a == b


def test_current_synapses_driven_by_identical_spike_trains_match_brian2():
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("in", 200, rate_hz=20.0)
    net.add_population(
        "n", 20, ss.LIF(tau_mem_s=10e-3, tau_syn_exc_s=2e-3, tau_syn_inh_s=5e-3, t_ref_s=2e-3)
    )
    net.add_projection("e", "in", "n", ss.FixedFanIn(k=60, weight=8.0))
    net.add_projection("i", "in", "n", ss.FixedFanIn(k=10, weight=2.0), receptor="inh")
    net.monitor_spikes("n")
    fixed = poisson_as_spike_times(net, duration_s=0.3, seed=4)  # the same input spikes for both
    ours = ss.simulate(fixed, duration_s=0.3, seed=4, dtype="float64").spikes["n_spikes"]
    ref = run_brian2(fixed, duration_s=0.3, seed=4).spikes["n_spikes"]
    assert ours.count() > 50
    a = sorted(zip(ours.index.tolist(), ours.step.tolist(), strict=False))
    b = sorted(zip(ref.index.tolist(), ref.step.tolist(), strict=False))
    agree = len(set(a) & set(b)) / max(len(a), len(b))
    assert agree >= 0.99


def test_coba_network_rates_and_irregularity_within_5_percent_of_brian2():
    net = vogels_abbott_coba()
    ours = ss.simulate(net, duration_s=1.0, seed=3)
    ref = run_brian2(net, duration_s=1.0, seed=3)
    for mon in ("exc_spikes", "inh_spikes"):
        r_ours, r_ref = ours.mean_rate_hz(mon), ref.mean_rate_hz(mon)
        assert 5.0 < r_ref < 60.0
        assert abs(r_ours - r_ref) / r_ref < 0.05, (mon, r_ours, r_ref)
        cv_ours, cv_ref = ours.cv_isi(mon), ref.cv_isi(mon)
        assert abs(cv_ours - cv_ref) / cv_ref < 0.05, (mon, cv_ours, cv_ref)


def test_brian2_backend_refuses_what_it_cannot_express():
    net = ss.Network(dt_s=1e-4)
    net.add_population("c", 2, ss.CubaLIF())
    with pytest.raises(ss.ParameterError, match="c"):
        run_brian2(net, duration_s=0.01)
