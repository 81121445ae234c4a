"""One description, two modes: the rate run predicts the spiking run's population rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spikesim as ss
from spikesim.dynamics.rate import lif_noiseless_rate, siegert_rate


def _two_layer(input_hz: float) -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("in", 1000, rate_hz=input_hz)
    lif = ss.LIF(
        tau_mem_s=20e-3,
        tau_syn_exc_s=1e-3,
        tau_syn_inh_s=1e-3,
        t_ref_s=2e-3,
        v_rest_mV=-65.0,
        v_reset_mV=-65.0,
        v_th_mV=-50.0,
    )
    net.add_population("l1", 400, lif)
    net.add_population("l2", 400, lif)
    net.add_projection("a", "in", "l1", ss.FixedFanIn(k=80, weight=20.0))
    net.add_projection("b", "l1", "l2", ss.FixedFanIn(k=80, weight=10.0))
    net.add_projection("c", "in", "l2", ss.FixedFanIn(k=40, weight=8.0), receptor="inh")
    net.monitor_spikes("l1")
    net.monitor_spikes("l2")
    net.monitor_rate("l1", bin_s=0.01)
    net.monitor_rate("l2", bin_s=0.01)
    return net


@pytest.mark.parametrize("input_hz", [15.0, 30.0])
def test_rate_mode_predicts_spiking_population_rates_within_10_percent(input_hz):
    net = _two_layer(input_hz)
    spiking = ss.simulate(net, duration_s=0.5, seed=1)
    rate = ss.simulate(net, duration_s=0.12, mode="rate", seed=1)
    for pop in ("l1", "l2"):
        measured = spiking.mean_rate_hz(f"{pop}_spikes")
        predicted = float(rate.rates[f"{pop}_rate"].rate_hz[-2:].mean())
        assert measured > 5.0
        assert abs(predicted - measured) / measured < 0.10, (pop, predicted, measured)


def test_noiseless_lif_rate_is_the_inverse_charging_time():
    # I = 20 mV above rest, threshold 15 mV: T = t_ref + tau ln(I / (I - 15))
    r = lif_noiseless_rate(
        torch.tensor([-45.0, -60.0]), tau_mem_s=20e-3, v_th_mV=-50.0, v_reset_mV=-65.0, t_ref_s=2e-3
    )
    expected = 1.0 / (2e-3 + 20e-3 * np.log(20.0 / 5.0))
    assert float(r[0]) == pytest.approx(expected, rel=1e-6)
    assert float(r[1]) == 0.0


def test_siegert_tends_to_noiseless_rate_for_small_noise_and_grows_with_noise():
    mu = torch.tensor([-45.0])
    kw = {
        "tau_mem_s": 20e-3,
        "tau_syn_s": 1e-4,
        "v_th_mV": -50.0,
        "v_reset_mV": -65.0,
        "t_ref_s": 2e-3,
    }
    small = float(siegert_rate(mu, torch.tensor([0.05]), **kw)[0])
    expected = 1.0 / (2e-3 + 20e-3 * np.log(20.0 / 5.0))
    assert small == pytest.approx(expected, rel=0.02)
    sub = torch.tensor([-52.0])
    r1 = float(siegert_rate(sub, torch.tensor([1.0]), **kw)[0])
    r2 = float(siegert_rate(sub, torch.tensor([4.0]), **kw)[0])
    assert 0.0 <= r1 < r2 and r2 > 1.0
