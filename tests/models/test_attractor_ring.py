"""Bump ring attractor (Zhang 1996 rate model, spiking E/I network) and line attractor."""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.models.wave.attractors import (
    ZhangRing,
    bump_angle,
    line_attractor_network,
    ring_attractor_network,
    run_line_attractor,
    spiking_bump_angles,
)

from spikesim import CubaLIF, Network, ParameterError

pytestmark = pytest.mark.usefixtures("one_thread")


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def test_bump_persists_without_input_for_10_s():
    z = ZhangRing()
    u = z.settle(1.0)
    t, r = z.run(10.0, u0=u, record_every=100)
    angles = bump_angle(r)
    # drift bound: 0.01 rad over 10 s without input
    assert np.max(np.abs(_wrap(angles - 1.0))) < 0.01
    # the bump stays a bump: a high peak, a silent flank, a stable width
    assert r[-1].max() > 0.9 and r[-1].min() < 1e-3
    width = (r > 0.5).sum(1)
    assert width.min() == width.max() and 10 < width[0] < z.n // 2


def test_no_bump_without_cue():
    z = ZhangRing()
    _, r = z.run(1.0, record_every=100)
    assert r.max() < 0.05  # the uniform low state is stable: the bump needs the cue


def test_bump_speed_is_proportional_to_gamma():
    z = ZhangRing()
    gammas = np.array([-0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.3])
    speeds = []
    for g in gammas:
        u = z.settle(0.0)
        t, r = z.run(0.6, u0=u, gamma=float(g), record_every=5)
        a = np.unwrap(bump_angle(r))
        speeds.append(np.polyfit(t[20:], a[20:], 1)[0])
    speeds = np.asarray(speeds)
    slope, intercept = np.polyfit(gammas, speeds, 1)
    pred = slope * gammas + intercept
    r2 = 1 - ((speeds - pred) ** 2).sum() / ((speeds - speeds.mean()) ** 2).sum()
    assert r2 > 0.999
    assert abs(intercept) < 0.05  # rad/s
    # Zhang: omega = gamma / tau for the cosine profile (within 10 % at dt = tau / 10)
    assert slope == pytest.approx(1 / z.tau_s, rel=0.1)


def test_angular_velocity_is_integrated():
    z = ZhangRing()
    # calibrate the gain omega/gamma once, then integrate a time-varying head turn
    u = z.settle(0.0)
    t, r = z.run(0.5, u0=u, gamma=0.1, record_every=5)
    a = np.unwrap(bump_angle(r))
    gain = np.polyfit(t[20:], a[20:], 1)[0] / 0.1
    steps = 3000
    tt = np.arange(steps) * z.dt_s
    omega = 3.0 * np.sin(2 * np.pi * tt / 1.5) + 1.0  # rad/s
    u = z.settle(0.5)
    start = bump_angle(z.f(u).numpy())
    t, r = z.run(steps * z.dt_s, u0=u, gamma=omega / gain, record_every=10)
    decoded = np.unwrap(np.concatenate([[start], bump_angle(r)]))[1:]
    true = start + np.cumsum(omega)[9::10] * z.dt_s
    err = np.abs(decoded - true)
    # 3 s of turning (about 3 rad in total): integration error below 0.05 rad throughout
    assert np.max(err) < 0.05
    assert abs(true[-1] - true[0]) > 2.5


def test_line_attractor_integrates_and_holds():
    net, e = line_attractor_network(n=6, tau_s=0.1, seed=3, dt_s=5e-3)
    rng = np.random.default_rng(0)
    b = rng.normal(size=6)
    # two input pulses (0.2 s each), then 10 s without input
    net.add_current("pulse1", "units", amplitude_mV=b, start_s=0.1, stop_s=0.3)
    net.add_current("pulse2", "units", amplitude_mV=-0.5 * b, start_s=0.5, stop_s=0.7)
    r = run_line_attractor(net, 10.8)
    proj = r @ e
    dt = net.dt_s
    # tau d(e.r)/dt = e.B u: each pulse adds (e.b) * duration / tau; with the input held over
    # a step the exact per-step gain is 1 - exp(-dt / tau) instead of dt / tau
    per_step = 1 - np.exp(-dt / 0.1)
    expected_after = (e @ b) * (40 - 0.5 * 40) * per_step
    k_end = int(round(0.8 / dt))
    assert proj[k_end] == pytest.approx(expected_after, rel=1e-9)
    assert expected_after == pytest.approx((e @ b) * (0.2 - 0.1) / 0.1, rel=0.03)  # continuous
    # holds over the next 10 s: drift below 1e-6 (relative), the other modes have decayed
    assert np.max(np.abs(proj[k_end:] - proj[k_end])) < 1e-6 * abs(proj[k_end])
    off = r[-1] - proj[-1] * e
    assert np.linalg.norm(off) < 1e-6 * abs(proj[-1])


def test_spiking_ring_attractor_holds_bump():
    cue = 2.0
    net = ring_attractor_network(cue_angle_rad=cue)
    centres, angles, rates = spiking_bump_angles(net, 0.8, window_s=0.1, seed=1)
    late = centres > 0.35  # the cue stops at 0.25 s
    # the bump persists without the cue: activity stays on (> 1 Hz mean) ...
    assert rates[late].min() > 1.0
    # ... at the cued angle: drift below 0.2 rad over the 0.5 s after the cue
    assert np.max(np.abs(_wrap(angles[late] - cue))) < 0.2


def test_cuba_ring_attractor_holds_a_localised_bump():
    # the CubaLIF variant (for Lava export): same structure, weights rescaled to CUBA units
    cue = 2.0
    net = ring_attractor_network(neuron="cuba", cue_angle_rad=cue)
    centres, angles, rates = spiking_bump_angles(net, 0.7, window_s=0.1, seed=1)
    late = centres > 0.35
    assert rates[late].min() > 1.0
    assert np.max(np.abs(_wrap(angles[late] - cue))) < 0.2


def test_spiking_network_descriptions_and_errors():
    net = ring_attractor_network(neuron="cuba")
    assert isinstance(net, Network)
    assert isinstance(net.populations["exc"].model, CubaLIF)
    assert type(net.projections["ee"].connectivity).__name__ == "Circulant"
    again = Network.from_dict(net.to_dict())
    assert set(again.populations) == set(net.populations)
    with pytest.raises(ParameterError) as e:
        ring_attractor_network(neuron="izhikevich")
    assert e.value.field == "neuron"
    with pytest.raises(ParameterError) as e:
        ring_attractor_network(n_exc=4)
    assert e.value.field == "n_exc"
    with pytest.raises(ParameterError) as e:
        ZhangRing(n=4)
    assert e.value.field == "n"
    with pytest.raises(ParameterError) as e:
        line_attractor_network(other_eigenvalues=(0.0, 1.0))
    assert e.value.field == "other_eigenvalues"
