"""Replay benchmark: decoding error while running, replay compression, fraction of
significant candidate events and replay speed of the CA3 model (models.replay), run as a
sweep over seeds with spikesim.sweep (results in one HDF5 file).

    .venv/bin/python benchmarks/replay_bench.py --seeds 0 1 --out benchmarks/replay_results.h5

Prints a markdown table beside the published numbers (Davidson et al. 2009, FIELD-NOTES §6).
"""

from __future__ import annotations

import argparse

import numpy as np

from spikesim.sweep import sweep


def _mean(values) -> float:
    """Mean of the finite values; nan when there are none (a seed without significant events
    has no replay speed: np.nanmean would warn "Mean of empty slice")."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--n-ripples", type=int, default=24)
    ap.add_argument("--n-shuffles", type=int, default=200)
    ap.add_argument("--out", default="benchmarks/replay_results.h5")
    ap.add_argument("--backend", default="local", choices=["local", "ray"])
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    grid = {
        "seed": a.seeds,
        "n_ripples": [a.n_ripples],
        "n_shuffles": [a.n_shuffles],
        "alpha": [0.01],
    }
    res = sweep(
        "spikesim.models.replay.experiments:track_point",
        grid,
        out=a.out,
        backend=a.backend,
        workers=a.workers,
    )
    keys = [
        "track_m",
        "decode_bin_s",
        "decode_median_error_m",
        "weight_asymmetry",
        "n_candidates",
        "fraction_significant",
        "fraction_forward",
        "replay_speed_median_m_s",
        "compression_median",
        "abs_weighted_corr_median",
    ]
    print("| seed | " + " | ".join(keys) + " |")
    print("|" + "---|" * (len(keys) + 1))
    for p, r in zip(res.params, res.results, strict=True):
        print(f"| {p['seed']} | " + " | ".join(f"{r[k]:.3g}" for k in keys) + " |")
    print("| mean | " + " | ".join(f"{_mean(res.column(k)):.3g}" for k in keys) + " |")


if __name__ == "__main__":
    main()
