"""models.replay: behaviour, place cells, CA3 STDP learning and ripple replay (reduced sizes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikesim.models.replay import (
    CA3Config,
    CA3Model,
    PlaceCells,
    arena_walk,
    build_ca3_network,
    linear_track_laps,
)
from spikesim.models.replay.experiments import event_counts

from spikesim.analysis import replay as rp
from spikesim.errors import ParameterError, ShapeError

LENGTH_M = 0.75
N_CELLS = 60  # same density as the default (80 cells per metre)
SPEED = 0.5


def test_track_laps_running_and_rest():
    tr = linear_track_laps(
        length_m=1.0, speed_m_s=0.4, n_laps=3, rest_s=0.5, dt_s=1e-3, seed=0, speed_jitter=0.0
    )
    assert tr.rest_periods_s().shape == (4, 2)
    assert np.allclose(tr.rest_periods_s()[:, 1] - tr.rest_periods_s()[:, 0], 0.5, atol=2e-3)
    assert np.median(tr.speed_m_s[tr.running]) == pytest.approx(0.4, rel=0.01)
    assert tr.positions_m.min() >= 0 and tr.positions_m.max() <= 1.0
    back = linear_track_laps(
        length_m=1.0, speed_m_s=0.4, n_laps=2, rest_s=0.1, dt_s=1e-3, seed=0, back_and_forth=True
    )
    assert set(np.unique(back.direction[back.running])) == {-1, 1}


def test_arena_walk_inside_and_rests():
    tr = arena_walk(width_m=1.0, height_m=0.8, duration_s=60.0, speed_m_s=0.2, dt_s=0.01, seed=3)
    assert tr.positions_m.shape == (6000, 2)
    assert np.all(tr.positions_m >= 0) and np.all(tr.positions_m <= [1.0, 0.8])
    assert 0.05 < 1 - tr.running.mean() < 0.5
    a = arena_walk(width_m=1.0, height_m=0.8, duration_s=60.0, speed_m_s=0.2, dt_s=0.01, seed=3)
    assert np.array_equal(a.positions_m, tr.positions_m)
    assert np.median(tr.speed_m_s[tr.running]) == pytest.approx(0.2, rel=0.05)


def test_place_cells_bad_input():
    with pytest.raises(ParameterError, match="centres_m"):
        PlaceCells(np.array([0.2, 1.3]), (1.0,))
    with pytest.raises(ShapeError, match="centres_m"):
        PlaceCells(np.zeros((3, 3)), (1.0, 1.0))
    pcs = PlaceCells.tiling(10, length_m=1.0)
    tr = arena_walk(width_m=1.0, height_m=1.0, duration_s=1.0, speed_m_s=0.2, dt_s=0.01, seed=0)
    with pytest.raises(ParameterError, match="extent_m"):
        pcs.rates_hz(tr)


def test_theta_phase_precession():
    """The mean theta phase of a cell's firing falls by more than pi/2 across its field."""
    pcs = PlaceCells(np.array([0.5]), (1.0,), sigma_m=0.08, peak_hz=20.0, kappa=2.0)
    tr = linear_track_laps(length_m=1.0, speed_m_s=0.25, n_laps=6, rest_s=0.1, dt_s=5e-4, seed=0)
    r = pcs.rates_hz(tr)[:, 0]
    phase = (2 * np.pi * 7.0 * tr.times_s) % (2 * np.pi)
    x = tr.positions_m

    def mean_phase(lo, hi):
        m = tr.running & (x >= lo) & (x < hi)
        return np.angle(np.sum(r[m] * np.exp(1j * phase[m]))) % (2 * np.pi)

    entry, exit_ = mean_phase(0.38, 0.46), mean_phase(0.54, 0.62)
    assert entry - exit_ > np.pi / 2
    # theta modulation: the rate at the field centre oscillates at 7 Hz (spectral peak)
    m = tr.running & (np.abs(x - 0.5) < 0.1)
    spec = np.abs(np.fft.rfft(r[m] - r[m].mean()))
    f = np.fft.rfftfreq(m.sum(), 5e-4)
    assert f[np.argmax(spec)] == pytest.approx(7.0, abs=1.5)


def test_network_description_roundtrip():
    net = build_ca3_network(CA3Config(n_exc=20, n_inh=5))
    back = type(net).from_dict(net.to_dict())
    assert set(back.populations) == {"pc", "exc", "inh"}
    assert back.populations["exc"].model == net.populations["exc"].model
    assert set(net.projections) == {"pc_exc", "exc_exc", "exc_inh", "inh_exc", "inh_inh"}
    assert net.projections["exc_exc"].trainable


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    cfg = CA3Config(n_exc=N_CELLS, n_inh=15)
    pcs = PlaceCells.tiling(N_CELLS, length_m=LENGTH_M, sigma_m=0.07)
    model = CA3Model(cfg, place_cells=pcs, seed=0)
    traj = linear_track_laps(
        length_m=LENGTH_M, speed_m_s=SPEED, n_laps=6, rest_s=0.1, dt_s=cfg.dt_s, seed=0
    )
    exc, _ = model.run_running(traj, seed=1)
    tc = rp.tuning_curves(
        PlaceCells.raster_to_times(exc, cfg.dt_s),
        traj.positions_m,
        traj.times_s,
        extent_m=LENGTH_M,
        bin_m=0.03,
        smooth_m=0.03,
    )
    return model, tc


def test_stdp_learns_asymmetric_weights(trained):
    model, _ = trained
    assert model.weight_asymmetry() > 0.03  # forward (pre field before post field) > backward
    off, prof = model.weight_profile(bin_m=0.02, max_offset_m=0.2)
    # weights fall with field distance: neighbours >> cells 20 cm apart
    assert prof[np.abs(off) < 0.03].mean() > 5 * prof[np.abs(off) > 0.17].mean()
    assert float(model.w_ee.diagonal().abs().max()) == 0.0
    assert model.w_ee.sum(dim=1).mean().item() == pytest.approx(model.cfg.w_ee_sum_mV, rel=0.02)


def test_ripple_replays_forward_and_reverse_compressed(trained):
    model, tc = trained
    ev = model.replay_events(kinds=("forward", "reverse", "forward", "reverse"), seed=3)
    dt = model.cfg.dt_s
    on0 = int(np.flatnonzero(ev.times_s >= 0)[0])
    for b, kind in enumerate(ev.kind):
        n_steps = int(ev.duration_s[b] / dt)
        counts = event_counts(ev.exc_spikes[b], on0, on0 + n_steps, int(0.01 / dt))
        sc = rp.score_event(
            counts, tc, bin_s=0.01, bin_m=0.03, seed=b, n_shuffles=30, shuffles=("column_cycle",)
        )
        assert sc.direction == kind
        assert abs(sc.weighted_correlation) > 0.6
        # compressed 10-20x relative to running speed (tolerance: 8-25x in this reduced net)
        assert 8 * SPEED < sc.speed_m_s < 25 * SPEED, sc.speed_m_s
    # ripple LFP proxy: detected by the ripple-band envelope, peak within 15 Hz of the pacing
    b = 0
    on = (ev.times_s >= 0) & (ev.times_s < ev.duration_s[b])
    seg = ev.lfp[b][on] - ev.lfp[b][on].mean()
    f = np.fft.rfftfreq(seg.size, dt)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    band = (f > 100) & (f < 300)
    assert f[band][np.argmax(spec[band])] == pytest.approx(ev.ripple_hz[b], abs=15)
    # in a longer rest window the ripple-band envelope finds the event (start and length)
    long = model.replay_events(kinds=("forward",), seed=4, margin_s=0.4, background_hz=2.0)
    found = rp.ripple_events(
        long.lfp[0], fs_hz=1 / dt, start_s=float(long.times_s[0]), min_duration_s=0.02
    )
    assert found.shape[0] == 1
    assert found[0, 0] == pytest.approx(0.0, abs=0.02)
    assert found[0, 1] - found[0, 0] == pytest.approx(long.duration_s[0], abs=0.03)


def test_replay_deterministic_with_seed(trained):
    model, _ = trained
    a = model.replay_events(kinds=("random", "none"), seed=5, background_hz=2.0)
    b = model.replay_events(kinds=("random", "none"), seed=5, background_hz=2.0)
    assert np.array_equal(a.exc_spikes, b.exc_spikes)
    with pytest.raises(ParameterError, match="kinds"):
        model.replay_events(kinds=("sideways",), seed=0)
    with pytest.raises(ParameterError, match="ripple_hz"):
        model.replay_events(kinds=("forward",), seed=0, ripple_hz=(100.0, 120.0))
