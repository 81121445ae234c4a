"""Spiking wave ring: spikes travel one unit per step and carry the decodable input history."""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.models.wave.ring import spacetime_velocity
from spikesim.models.wave.spiking_ring import (
    decoding_comparison,
    encode_input,
    run_spiking_ring,
    spiking_ring_network,
)

from spikesim import Network, ParameterError, ShapeError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_spikes_are_an_exact_delayed_copy_of_the_input_code():
    rng = np.random.default_rng(0)
    n, copies = 40, 4
    steps = n  # the first spikes reach the last position, none wraps round to the site yet
    x = rng.random(steps)
    code = encode_input(x, copies=copies, code="bernoulli", seed=1)
    spikes = run_spiking_ring(spiking_ring_network(n=n, copies=copies), code)[:, 0]
    # position k at step t fired iff the input line fired at step t - k - 1
    expected = np.zeros_like(spikes)
    for t in range(steps):
        for k in range(min(t, n)):
            expected[t, :, k] = code[t - k - 1]
    assert spikes.sum() > 100
    np.testing.assert_array_equal(spikes, expected)


def test_spiking_wave_moves_one_unit_per_step():
    n, copies = 24, 2
    code = np.zeros((3 * n, copies))
    code[[0, 3, 4, 9], 0] = 1.0
    code[[1, 5], 1] = 1.0
    spikes = run_spiking_ring(spiking_ring_network(n=n, copies=copies), code)[:, 0]
    v, frac = spacetime_velocity(spikes.sum(1))
    assert v == 1 and frac == pytest.approx(1.0, abs=1e-9)


def test_decoding_accuracy_against_the_rate_ring():
    res = decoding_comparison(n=16, copies=8, trials=600, seed=0)
    assert res["min_r2_rate"] > 1 - 1e-9  # the rate ring holds the history exactly
    # thermometer code, 8 copies: quantisation bounds R^2 at 1 - 1/64 ~ 0.984; floor 0.95
    assert res["mean_r2_spiking_thermometer"] > 0.95
    assert res["min_r2_spiking_thermometer"] > 0.93
    # Bernoulli code, 8 copies: binomial noise, R^2 ~ 0.8 at best; floor 0.5
    assert res["mean_r2_spiking_bernoulli"] > 0.5
    assert res["mean_r2_spiking_bernoulli"] < res["mean_r2_spiking_thermometer"]


def test_spiking_ring_errors():
    with pytest.raises(ParameterError) as e:
        spiking_ring_network(n=2)
    assert e.value.field == "n"
    with pytest.raises(ParameterError) as e:
        spiking_ring_network(n=8, copies=0)
    assert e.value.field == "copies"
    with pytest.raises(ParameterError) as e:
        encode_input(np.array([0.5, 1.5]), copies=4)
    assert e.value.field == "x"
    with pytest.raises(ShapeError) as e:
        run_spiking_ring(spiking_ring_network(n=8, copies=2), np.zeros((5, 3)))
    assert e.value.field == "spikes_in"


def test_run_spiking_ring_refuses_a_ring_without_a_copies_by_n_shape():
    # a hand-built network whose "ring" has no (copies, n) shape used to fail with
    # "TypeError: cannot unpack non-iterable NoneType object"
    net = spiking_ring_network(n=8, copies=1)
    flat = Network(dt_s=net.dt_s)
    flat.add_spike_tensor("x", 1)
    flat.add_population("ring", 8, net.populations["ring"].model)
    with pytest.raises(ParameterError) as e:
        run_spiking_ring(flat, np.zeros((5, 1)))
    assert e.value.field == "net"
    assert "shape (copies, n)" in str(e.value) and "None" in str(e.value)
