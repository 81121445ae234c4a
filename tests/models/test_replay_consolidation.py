"""Consolidation: cortex learns a once-experienced sequence only with replay; Go-CLS curves."""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.models.replay.consolidation import (
    HopfieldNotebook,
    cortex_consolidation,
    cortical_recall,
    go_cls,
)

from spikesim.errors import ParameterError, ShapeError


def test_cortex_learns_sequence_only_with_replay():
    r = cortex_consolidation(seed=0, n_replays=20)
    assert r["score_once"] == 0.0  # one lap leaves weights far below threshold
    assert r["w_max_once_mV"] < 0.1
    assert r["score_after_sleep"] > 0.4  # ordered recall over a large part of the track


def test_cortical_recall_needs_order():
    n = 12
    chain = np.zeros((n, n))
    for i in range(n - 1):
        chain[i + 1, i] = 5.0  # post i+1 from pre i
    score, raster = cortical_recall(chain, theta_mV=3.0, k_active=1)
    assert score == pytest.approx(1.0, abs=1e-6)
    assert np.array_equal(np.argmax(raster[:n], axis=1), np.arange(n)) and raster[n:].sum() == 0
    flat = np.full((n, n), 5.0) - 5.0 * np.eye(n)  # no order: random recall order
    assert cortical_recall(flat, theta_mV=3.0, k_active=1, seed=1)[0] < 0.5
    assert cortical_recall(chain * 0.1, theta_mV=3.0, k_active=1)[0] == 0.0


def test_go_cls_reliable_teacher_monotonic():
    r = go_cls(alpha=1.0, snr=float("inf"), epochs=150, seed=0)
    assert r.recall_accuracy > 0.95
    assert np.all(np.diff(r.gen_error) <= 1e-9)  # falls monotonically with consolidation
    assert r.gen_error[-1] < 0.15


def test_go_cls_noisy_teacher_overfits_worst_near_alpha_one():
    finals = {}
    for a in (0.5, 1.0, 2.0):
        r = go_cls(alpha=a, snr=1.0, epochs=150, seed=0)
        k = int(np.argmin(r.gen_error))
        assert 0 < k < len(r.gen_error) - 1  # a minimum, then the error rises
        assert r.gen_error[-1] > r.gen_error.min() + 0.2
        finals[a] = r.gen_error[-1]
    assert finals[1.0] > 2 * max(finals[0.5], finals[2.0])


def test_replay_beats_online_only_with_limited_data_and_reliable_rule():
    adv = {}
    for alpha, snr in ((1.0, float("inf")), (1.0, 1.0), (8.0, float("inf")), (8.0, 1.0)):
        r = go_cls(alpha=alpha, snr=snr, epochs=100, seed=1, recalls_per_memory=2)
        adv[(alpha, snr)] = r.online_error - r.gen_error[-1]  # > 0: replay better
    assert adv[(1.0, float("inf"))] > 0.2
    assert adv[(1.0, 1.0)] < 0  # noisy rule: unregulated replay overfits
    assert abs(adv[(8.0, float("inf"))]) < 0.1  # abundant data: no real advantage
    assert adv[(8.0, 1.0)] < 0.1


def test_bad_inputs():
    with pytest.raises(ParameterError, match="alpha"):
        go_cls(alpha=0.0)
    with pytest.raises(ParameterError, match="snr"):
        go_cls(snr=-1.0)
    nb = HopfieldNotebook(100, seed=0)
    with pytest.raises(ShapeError, match="y"):
        nb.store(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ParameterError, match="x"):
        nb.store(np.zeros((0, 3)), np.zeros(0))
