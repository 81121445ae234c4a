"""Replay analysis on synthetic data with known answers (spikesim.analysis.replay)."""

from __future__ import annotations

import numpy as np
import pytest

from spikesim.analysis import replay as rp
from spikesim.errors import ParameterError, ShapeError

TRACK_M = 2.0
BIN_M = 0.04
N_UNITS = 40
SIGMA_M = 0.12
PEAK_HZ = 20.0


def _fields(rng):
    return np.sort(rng.uniform(0.05, TRACK_M - 0.05, N_UNITS))


def _rate(centres, x):
    return PEAK_HZ * np.exp(-0.5 * ((x[:, None] - centres[None, :]) / SIGMA_M) ** 2) + 0.1


def _poisson_spikes(rng, rates_hz, t, dt):
    """Inhomogeneous Poisson trains (one per unit) from rates [T, n] sampled at t."""
    spk = rng.random(rates_hz.shape) < rates_hz * dt
    return [t[spk[:, i]] + rng.uniform(0, dt, spk[:, i].sum()) for i in range(rates_hz.shape[1])]


def _running_session(seed=1, laps=10, speed=0.4, dt=0.002):
    rng = np.random.default_rng(seed)
    centres = _fields(rng)
    lap_s = TRACK_M / speed
    t = np.arange(0, laps * lap_s, dt)
    phase = (t / lap_s) % 2.0
    x = np.where(phase < 1, phase, 2 - phase) * TRACK_M
    spikes = _poisson_spikes(rng, _rate(centres, x), t, dt)
    return rng, centres, t, x, spikes


@pytest.fixture(scope="module")
def session():
    rng, centres, t, x, spikes = _running_session()
    tc = rp.tuning_curves(
        spikes, x, t, extent_m=TRACK_M, bin_m=BIN_M, min_speed_m_s=0.05, smooth_m=0.04
    )
    return rng, centres, t, x, spikes, tc


def test_tuning_curves_peak_at_fields_and_rate(session):
    _, centres, _, _, _, tc = session
    assert tc.rates_hz.shape == (N_UNITS, round(TRACK_M / BIN_M))
    # peaks within one bin of the planted centres (median), maps match the true rates
    assert np.median(np.abs(tc.peak_positions_m() - centres)) < BIN_M
    true = _rate(centres, tc.centers_m[0]).T
    assert np.corrcoef(true.ravel(), tc.rates_hz.ravel())[0, 1] > 0.95
    assert np.median(tc.rates_hz.max(axis=1)) == pytest.approx(PEAK_HZ, rel=0.25)


def test_decoding_error_running_below_bound(session):
    rng, centres, _, _, _, tc = session
    # a fresh test lap (not used for the tuning curves)
    _, _, t, x, spikes = _running_session(seed=2, laps=2)
    # same centres: rebuild the spikes from the first session's fields
    rng2 = np.random.default_rng(3)
    spikes = _poisson_spikes(rng2, _rate(centres, x), t, 0.002)
    bin_s = 0.25
    counts = rp.bin_spikes(spikes, start_s=0.0, stop_s=t[-1], bin_s=bin_s)
    post = rp.decode_posterior(counts, tc, bin_s=bin_s)
    est = rp.decode_positions(post, tc.centers_m)
    centres_t = bin_s * (np.arange(counts.shape[1]) + 0.5)
    true = np.interp(centres_t, t, x)
    err = np.abs(est - true)
    # 40 cells, 20 Hz, 250 ms bins on a 2 m track: median error below 6 cm
    assert np.median(err) < 0.06
    assert np.allclose(post.sum(axis=1), 1.0, atol=1e-9)


def _event_counts(rng, centres, *, start_m, speed_m_s, duration_s, bin_s, peak_hz=120.0):
    dt = 5e-4
    t = np.arange(0, duration_s, dt)
    x = start_m + speed_m_s * t
    rates = peak_hz / PEAK_HZ * (_rate(centres, x) - 0.1)
    spikes = _poisson_spikes(rng, rates, t, dt)
    return rp.bin_spikes(spikes, start_s=0.0, stop_s=duration_s, bin_s=bin_s), spikes


def _pool(rng, tc, n_events=20, bin_s=0.02):
    cols = []
    for _ in range(n_events):
        c, _ = _event_counts(
            rng,
            rp.TuningCurves(tc.rates_hz, tc.occupancy_s, tc.edges_m).peak_positions_m(),
            start_m=rng.uniform(0.2, 1.8),
            speed_m_s=rng.choice([-1, 1]) * rng.uniform(2, 10),
            duration_s=0.1,
            bin_s=bin_s,
        )
        cols.append(rp.decode_posterior(c, tc, bin_s=bin_s))
    return np.concatenate(cols)


def test_planted_forward_sequence_significant_forward_at_speed(session):
    _, centres, _, _, _, tc = session
    rng = np.random.default_rng(11)
    speed, bin_s = 8.0, 0.02
    counts, _ = _event_counts(
        rng, centres, start_m=0.3, speed_m_s=speed, duration_s=0.16, bin_s=bin_s
    )
    pool = _pool(np.random.default_rng(12), tc)
    sc = rp.score_event(
        counts, tc, bin_s=bin_s, bin_m=BIN_M, seed=5, n_shuffles=99, pseudo_pool=pool
    )
    assert sc.direction == "forward"
    assert sc.weighted_correlation > 0.8
    assert sc.speed_m_s == pytest.approx(speed, rel=0.2)
    assert all(p < 0.02 for p in sc.pvalues.values()), sc.pvalues
    assert sc.significant(alpha=0.02)
    # reversed in time: reverse replay at the same speed
    sc_r = rp.score_event(
        counts[:, ::-1],
        tc,
        bin_s=bin_s,
        bin_m=BIN_M,
        seed=5,
        n_shuffles=49,
        shuffles=("column_cycle",),
    )
    assert sc_r.direction == "reverse"
    assert sc_r.weighted_correlation < -0.8
    assert sc_r.speed_m_s == pytest.approx(speed, rel=0.2)


def test_shuffled_spikes_not_significant(session):
    _, centres, _, _, _, tc = session
    pvals = []
    for k in range(6):
        rng = np.random.default_rng(100 + k)
        counts, _ = _event_counts(
            rng, centres, start_m=0.3, speed_m_s=8.0, duration_s=0.16, bin_s=0.02
        )
        counts = counts[rng.permutation(N_UNITS)]  # destroy the unit-position relation
        sc = rp.score_event(
            counts,
            tc,
            bin_s=0.02,
            bin_m=BIN_M,
            seed=k,
            n_shuffles=49,
            shuffles=("cell_identity", "column_cycle"),
        )
        pvals.append(max(sc.pvalues.values()))
        assert not sc.significant(alpha=0.01)
    assert np.median(pvals) > 0.05


def test_same_seed_same_pvalues(session):
    _, centres, _, _, _, tc = session
    counts, _ = _event_counts(
        np.random.default_rng(4), centres, start_m=1.5, speed_m_s=-6.0, duration_s=0.12, bin_s=0.02
    )
    a = rp.score_event(
        counts,
        tc,
        bin_s=0.02,
        bin_m=BIN_M,
        seed=9,
        n_shuffles=19,
        shuffles=("cell_identity", "column_cycle"),
    )
    b = rp.score_event(
        counts,
        tc,
        bin_s=0.02,
        bin_m=BIN_M,
        seed=9,
        n_shuffles=19,
        shuffles=("cell_identity", "column_cycle"),
    )
    assert a == b


def test_line_fit_exact_diagonal():
    post = np.full((10, 30), 1e-6)
    for i in range(10):
        post[i, 5 + 2 * i] = 1.0
    fit = rp.line_fit(post, band_bins=0)
    assert fit.slope_bins_per_bin == pytest.approx(2.0)
    assert fit.intercept_bins == pytest.approx(5.0)
    assert fit.score == pytest.approx(1.0, abs=1e-4)
    assert rp.weighted_correlation(post) == pytest.approx(1.0, abs=1e-3)


def test_mua_events_found_at_rest_only():
    rng = np.random.default_rng(0)
    dt = 1e-3
    t = np.arange(0, 20.0, dt)
    rate = np.full((t.size, 30), 2.0)
    bursts = [3.0, 8.0, 15.0]  # 15 s burst happens while running
    for b in bursts:
        rate[(t >= b) & (t < b + 0.1)] = 60.0
    spikes = _poisson_spikes(rng, rate, t, dt)
    speed = np.where((t > 14) & (t < 16), 0.3, 0.0)
    ev = rp.mua_events(
        spikes, start_s=0, stop_s=20, speed_m_s=speed, speed_times_s=t, max_speed_m_s=0.05
    )
    assert ev.shape == (2, 2)
    assert np.allclose(ev[:, 0], [3.0, 8.0], atol=0.04)
    assert np.all((ev[:, 1] - ev[:, 0] > 0.08) & (ev[:, 1] - ev[:, 0] < 0.2))


def test_ripple_detection_on_lfp():
    rng = np.random.default_rng(1)
    fs = 2000.0
    t = np.arange(0, 10.0, 1 / fs)
    lfp = rng.normal(0, 1.0, t.size) + 2.0 * np.sin(2 * np.pi * 8 * t)
    planted = [(2.0, 0.08), (5.5, 0.06), (8.0, 0.1)]
    for t0, d in planted:
        m = (t >= t0) & (t < t0 + d)
        lfp[m] += 4.0 * np.sin(2 * np.pi * 200 * t[m])
    ev = rp.ripple_events(lfp, fs_hz=fs)
    assert ev.shape[0] == 3
    for (t0, d), (a, b) in zip(planted, ev, strict=True):
        assert abs(a - t0) < 0.02 and abs((b - a) - d) < 0.03


def test_bad_inputs():
    t = np.linspace(0, 1, 100)
    with pytest.raises(ShapeError, match="positions_m"):
        rp.tuning_curves([np.array([0.1])], np.zeros(99), t, extent_m=1.0)
    with pytest.raises(ParameterError, match="positions_m"):
        rp.tuning_curves([np.array([0.1])], np.full(100, 1.5), t, extent_m=1.0)
    with pytest.raises(ParameterError, match="spike_times_s"):
        rp.tuning_curves([], np.zeros(100), t, extent_m=1.0)
    with pytest.raises(ShapeError, match="counts"):
        rp.decode_posterior(np.zeros((3, 4)), np.ones((5, 10)), bin_s=0.02)
    with pytest.raises(ParameterError, match="at least one spike"):
        rp.score_event(
            np.zeros((5, 4)),
            np.ones((5, 10)),
            bin_s=0.02,
            bin_m=0.1,
            seed=0,
            shuffles=("column_cycle",),
        )
    with pytest.raises(ParameterError, match="pseudo_pool"):
        rp.score_event(np.ones((5, 4)), np.ones((5, 10)), bin_s=0.02, bin_m=0.1, seed=0)
    with pytest.raises(ParameterError, match="bin_s"):
        rp.bin_spikes([np.array([0.1])], start_s=0, stop_s=1, bin_s=0.0)
    with pytest.raises(ParameterError, match="no spikes"):
        rp.mua_events([np.array([]), np.array([])], start_s=0, stop_s=1)
    with pytest.raises(ParameterError, match="band_hz"):
        rp.ripple_events(np.zeros(1000), fs_hz=400.0)


def test_arena_tuning_and_decoding_2d():
    rng = np.random.default_rng(7)
    dt = 0.01
    t = np.arange(0, 400.0, dt)
    # a smooth random walk in a 1 m x 1 m box (reflecting)
    pos = np.zeros((t.size, 2))
    pos[0] = 0.5
    heading = 0.0
    for i in range(1, t.size):
        heading += rng.normal(0, 0.3)
        p = pos[i - 1] + 0.2 * dt * np.array([np.cos(heading), np.sin(heading)])
        if not (0 <= p[0] <= 1 and 0 <= p[1] <= 1):
            heading += np.pi
            p = np.clip(p, 0, 1)
        pos[i] = p
    centres = rng.uniform(0.05, 0.95, (60, 2))
    d2 = ((pos[:, None, :] - centres[None]) ** 2).sum(axis=2)
    rates = 15.0 * np.exp(-0.5 * d2 / 0.1**2) + 0.2
    spikes = _poisson_spikes(rng, rates, t, dt)
    half = t.size // 2
    tc = rp.tuning_curves(
        [s[s < t[half]] for s in spikes],
        pos[:half],
        t[:half],
        extent_m=(1.0, 1.0),
        bin_m=0.05,
        smooth_m=0.05,
    )
    assert tc.rates_hz.shape == (60, 20, 20)
    assert np.median(np.linalg.norm(tc.peak_positions_m() - centres, axis=1)) < 0.08
    counts = rp.bin_spikes(
        [s[s >= t[half]] for s in spikes], start_s=t[half], stop_s=t[-1], bin_s=0.5
    )
    est = rp.decode_positions(rp.decode_posterior(counts, tc, bin_s=0.5), tc.centers_m)
    tc_t = t[half] + 0.5 * (np.arange(counts.shape[1]) + 0.5)
    true = np.stack([np.interp(tc_t, t, pos[:, 0]), np.interp(tc_t, t, pos[:, 1])], axis=1)
    # 60 cells, 15 Hz fields of SD 10 cm, 0.5 s bins in a 1 m box: median error below 10 cm
    assert np.median(np.linalg.norm(est - true, axis=1)) < 0.10
