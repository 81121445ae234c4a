"""The counting sort that orders large synapse tables by presynaptic neuron (engine build)
gives exactly numpy's stable argsort order."""

from __future__ import annotations

import numpy as np

from spikesim.engine.projection import _stable_argsort


def test_counting_sort_equals_numpy_stable_argsort():
    rng = np.random.default_rng(0)
    n = (1 << 22) + 12_345  # above the size where the compiled counting sort takes over
    for n_keys in (7, 50_000, 1_000_000):
        keys = rng.integers(0, n_keys, size=n).astype(np.int32)
        got = _stable_argsort(keys, n_keys)
        assert np.array_equal(got, np.argsort(keys, kind="stable")), n_keys


def test_small_or_sparse_keys_use_numpy():
    keys = np.array([5, 1, 5, 0, 1], dtype=np.int64)
    assert np.array_equal(_stable_argsort(keys, 6), [3, 1, 4, 0, 2])
    big = np.array([3, 2**40, 1], dtype=np.int64)  # count table would be huge: numpy path
    assert np.array_equal(_stable_argsort(big, 2**41), [2, 0, 1])
