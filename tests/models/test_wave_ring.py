"""Ring temporal convolution: exactness, wave speed, the same ring on the simulator core, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikesim.models.wave.ring import (
    circulant_from_taps,
    periodic_kernel,
    readout_kernel,
    ring_conv_run,
    ring_network,
    run_ring_network,
    shift_kernel,
    spacetime_velocity,
)

from spikesim import ParameterError, ShapeError


def test_shift_kernel_matches_circulant_rule():
    w = shift_kernel(7, 2)
    assert w.shape == (2, 7, 7)
    for ch in range(2):
        for i in range(7):
            row = np.zeros(7)
            row[(i - 1) % 7] = 1.0
            np.testing.assert_array_equal(w[ch, i], row)
    # shift -1 is the transpose (the official orientation)
    np.testing.assert_array_equal(shift_kernel(7, 1, shift=-1)[0], w[0].T)


@pytest.mark.parametrize("c", [1, 3])
def test_linear_readout_equals_numpy_convolution(c):
    rng = np.random.default_rng(1)
    n, T = 40, 40  # T <= n: no wrap-around, the kernel is the readout itself
    x = rng.normal(size=T)
    gain = rng.uniform(0.5, 2.0, size=c)
    readout = rng.normal(size=(c, n))
    states = ring_conv_run(x, n=n, c=c, input_gain=gain).numpy()  # (T, c, n)
    y = np.einsum("tcn,cn->t", states, readout)
    kernel = readout_kernel(readout, gain)
    expected = np.convolve(x, kernel)[:T]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)


def test_linear_readout_after_wrap_is_periodic_convolution():
    rng = np.random.default_rng(2)
    n, T = 16, 70
    x = rng.uniform(-1, 1, size=T)
    readout = rng.normal(size=(1, n))
    states = ring_conv_run(x, n=n, c=1).numpy()
    y = states[:, 0] @ readout[0]
    expected = np.convolve(x, periodic_kernel(readout_kernel(readout), T))[:T]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)


def test_batched_run_equals_single_runs():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(25, 4))
    both = ring_conv_run(x, n=10, c=2).numpy()
    for b in range(4):
        np.testing.assert_array_equal(both[:, b], ring_conv_run(x[:, b], n=10, c=2).numpy())


def test_wave_moves_one_unit_per_step():
    rng = np.random.default_rng(4)
    n, T = 64, 192
    packet = np.zeros(T)
    packet[:20] = rng.uniform(0, 1, size=20)  # a packet, then the ring runs freely
    states = ring_conv_run(packet, n=n, c=1).numpy()[:, 0]
    v, frac = spacetime_velocity(states)
    assert v == 1
    assert frac == pytest.approx(1.0, abs=1e-9)  # all the power lies on the velocity-1 line
    left = ring_conv_run(packet, n=n, c=1, weights=shift_kernel(n, 1, shift=-1)).numpy()[:, 0]
    assert spacetime_velocity(left)[0] == -1
    # with input arriving all the time the band is still at velocity 1 and holds most power
    driven = ring_conv_run(rng.normal(size=T), n=n, c=1).numpy()[:, 0]
    v_d, frac_d = spacetime_velocity(driven)
    assert v_d == 1 and frac_d > 0.5


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_core_network_rate_mode_reproduces_ring(activation):
    rng = np.random.default_rng(5)
    n, c, T = 12, 2, 30
    gain = np.array([1.0, 0.5])
    x = rng.uniform(-1, 1, size=(T, 3))
    net = ring_network(n=n, c=c, input_gain=gain, activation=activation)
    pops = {p.name: p for p in net.populations.values()}
    assert pops["ring"].layout is not None and pops["ring"].shape == (c, n)
    kinds = {pr.name: type(pr.connectivity).__name__ for pr in net.projections.values()}
    assert kinds["recurrent"] == "Circulant"
    core = run_ring_network(net, x, mode="rate")  # (T, batch, c, n)
    ref = ring_conv_run(x, n=n, c=c, input_gain=gain, activation=activation).numpy()
    np.testing.assert_allclose(core, ref, rtol=0, atol=1e-12)
    # the description round-trips through a dict and gives the same trajectory
    from spikesim import Network

    again = run_ring_network(Network.from_dict(net.to_dict()), x, mode="rate")
    np.testing.assert_array_equal(again, core)


def test_bad_input_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="n") as e:
        shift_kernel(2, 1, kernel_size=3)
    assert e.value.field == "n" and e.value.found == 2
    with pytest.raises(ParameterError) as e:
        shift_kernel(8, 0)
    assert e.value.field == "c"
    with pytest.raises(ParameterError) as e:
        ring_conv_run(np.zeros(5), n=8, c=-1)
    assert e.value.field == "c"
    with pytest.raises(ShapeError) as e:
        ring_conv_run(np.zeros(5), n=8, c=2, weights=shift_kernel(9, 2))
    assert e.value.field == "weights" and e.value.expected == (2, 8, 8)
    with pytest.raises(ShapeError) as e:
        ring_conv_run(np.zeros((5, 2, 2)), n=8, c=1)
    assert e.value.field == "x"
    with pytest.raises(ParameterError) as e:
        circulant_from_taps(np.ones((1, 5)), 4)
    assert e.value.field == "n"
    with pytest.raises(ParameterError) as e:
        circulant_from_taps(np.ones((1, 4)), 8)
    assert "kernel_size" in e.value.field
    with pytest.raises(ParameterError) as e:
        ring_network(n=2, c=1)
    assert e.value.field == "n"
    with pytest.raises(ParameterError) as e:
        ring_network(n=8, c=0)
    assert e.value.field == "c"
    net = ring_network(n=8, c=1)
    with pytest.raises(ShapeError) as e:
        run_ring_network(net, np.zeros((5, 2, 2)), mode="rate")
    assert e.value.field == "x"


def test_wave_rnn_linear_state_is_delayed_copy():
    from spikesim.models.wave import WaveRNN

    torch.manual_seed(0)
    m = WaveRNN(1, 1, n=20, channels=2, activation="linear", dtype=torch.float64)
    x = torch.randn(15, 3, 1, dtype=torch.float64)
    _, hid = m(x, return_hidden=True)
    ring = m.ring_state(hid)  # (T, B, c, n)
    ref = ring_conv_run(x[:, :, 0], n=20, c=2).numpy()
    np.testing.assert_allclose(ring.detach().numpy(), ref, atol=1e-12)
