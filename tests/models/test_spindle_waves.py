"""Rotating waves emerge from the spindle model's delayed thalamic ring (rate mode, reduced size).

The thalamic ring is coupled all round with conduction delays whose antipodal value is about
half a spindle period, so its in-phase state is unstable and the winding-1 (twisted) state
stable; the topographic thalamocortical map turns a twisted ring into a rotating wave on the
cortical sheet. Reduced size: 8 modules, 10 x 10 sites at 8 mm, dt 2 ms, 16 trials x 1.8 s
(one episode each, about 165 spindle cycles per run).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from spikesim.models.spindle import SpindleConfig, electrode_positions, lfp, run_spindles

from spikesim.analysis.waves import analyze_waves

CFG = SpindleConfig(
    dt_s=2e-3,
    duration_s=1.8,
    first_episode_s=0.3,
    min_episode_s=1.0,
    max_episode_s=1.3,
    min_interval_s=0.4,
    max_interval_s=0.6,
    n_modules=8,
    units_per_module=4,
    rows=10,
    cols=10,
    spacing_m=8e-3,
)
TRIALS = 16


def _cycles(cfg: SpindleConfig, *, seed: int) -> list:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res, eps = run_spindles(cfg, mode="rate", batch_size=TRIALS, seed=seed)
    finally:
        torch.set_num_threads(n)
    el = electrode_positions(cfg)
    out = []
    for b in range(TRIALS):
        x, fs = lfp(res, cfg, batch=b)
        iv = [(e.start_s + 0.2, e.start_s + e.duration_s - 0.2) for e in eps[b]]
        out += analyze_waves(x, fs_hz=fs, positions_m=el, spindles=iv, seed=b).cycles
    return out


def _fraction(cycles: list, kind: str) -> float:
    return float(np.mean([c.kind == kind for c in cycles]))


def test_rotating_waves_are_common_and_in_band():
    cycles = _cycles(CFG, seed=2)
    freq = np.median([c.frequency_hz for c in cycles])
    assert len(cycles) >= 150  # measured 167
    # measured 42.5 % rotating (71 of 167), 18.6 % expanding, 38 % planar, median 14.4 Hz;
    # paper 50.8 % rotating, 11-15 Hz. Tolerance: 7.5 points (2 binomial s.d.)
    assert _fraction(cycles, "rotating") >= 0.35
    assert 13.0 <= freq <= 15.0


def test_short_range_ring_rotates_less():
    # control: the ring coupled to its nearest neighbours only (the earlier model), whose
    # in-phase state is stable, gives far fewer rotating waves from the same episodes
    cfg = dataclasses.replace(
        CFG, lateral_sigma_modules=1.0, lateral_fraction=0.12, thalamic_speed_m_s=2.0
    )
    # measured 10 % (17 of 166) vs 42.5 % for the delayed all-round ring; tolerance 10
    # points (2.6 binomial s.d.)
    assert _fraction(_cycles(cfg, seed=2), "rotating") <= 0.2
