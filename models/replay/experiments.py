"""Experiments (plain functions of keyword parameters, usable with :func:`spikesim.sweep.sweep`).

:func:`track_session` runs the hippocampal story on a linear track: laps with STDP, decoding
of a held-out lap, simulated sleep with sharp-wave ripples, candidate-event detection on the
multi-unit activity and replay scoring with the three shuffles. :func:`track_point` returns
its scalar summary (one sweep point).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np
import torch

from spikesim._validate import check_int, check_positive
from spikesim.analysis import replay as rp
from spikesim.errors import ParameterError

from .._checks import finite_array
from .behavior import Trajectory, linear_track_laps
from .ca3 import CA3Config, CA3Model, ReplayEvents
from .place_cells import PlaceCells

__all__ = ["TrackSession", "track_session", "track_point", "event_counts"]


@dataclasses.dataclass
class TrackSession:
    model: CA3Model
    train: Trajectory
    tuning: rp.TuningCurves
    test: Trajectory
    decoded_m: np.ndarray  # MAP position per decoding bin of the held-out lap(s)
    true_m: np.ndarray
    events: ReplayEvents
    candidates_s: np.ndarray  # [k, 2] candidate events on the concatenated sleep time axis
    scores: list[rp.ReplayScore]
    posteriors: list[np.ndarray]
    candidate_kind: list[str]  # the cue of the ripple segment each candidate fell in
    params: dict[str, Any]

    def summary(self, *, alpha: float = 0.01) -> dict[str, float]:
        err = np.abs(self.decoded_m - self.true_m)
        sig = [s for s in self.scores if s.significant(alpha)]
        speeds = np.array([s.speed_m_s for s in sig])
        running = self.params["speed_m_s"]
        fwd = [s for s in sig if s.direction == "forward"]
        return {
            "track_m": float(self.params["length_m"]),
            "decode_median_error_m": float(np.median(err)),
            "decode_bin_s": float(self.params["decode_bin_s"]),
            "weight_asymmetry": self.model.weight_asymmetry(),
            "n_ripples": float(len(self.events.kind)),
            "n_candidates": float(len(self.scores)),
            "fraction_significant": float(len(sig) / max(len(self.scores), 1)),
            "fraction_forward": float(len(fwd) / max(len(sig), 1)),
            "replay_speed_median_m_s": float(np.median(speeds)) if speeds.size else float("nan"),
            "compression_median": float(np.median(speeds) / running)
            if speeds.size
            else float("nan"),
            "abs_weighted_corr_median": float(np.median([abs(s.weighted_correlation) for s in sig]))
            if sig
            else float("nan"),
        }


def event_counts(spikes: np.ndarray, start: int, stop: int, bin_steps: int) -> np.ndarray:
    """Counts [n_units, n_bins] of a raster [T, n] between steps ``start`` and ``stop``."""
    nb = max(1, (stop - start) // bin_steps)
    seg = spikes[start : start + nb * bin_steps].astype(np.float64)
    return seg.reshape(nb, bin_steps, -1).sum(axis=1).T


def track_session(
    *,
    seed: int = 0,
    n_cells: int = 120,
    length_m: float = 1.5,
    speed_m_s: float = 0.5,
    n_laps: int = 6,
    n_ripples: int = 24,
    kinds_p: tuple[float, float, float, float] = (0.3, 0.3, 0.2, 0.2),
    background_hz: float = 2.0,
    decode_bin_s: float = 0.25,
    event_bin_s: float = 0.01,
    bin_m: float = 0.03,
    n_shuffles: int = 100,
    config: CA3Config | None = None,
) -> TrackSession:
    """Run the track story. ``kinds_p``: probabilities of forward / reverse / random-position
    / no cue for the ripples of the sleep session (each ripple in its own segment with
    ``margin_s`` = 0.75 s of rest around it, so ripples take ~5 % of the time)."""
    where = "track_session"
    check_int(where, "n_ripples", n_ripples, minimum=1)
    check_int(where, "n_shuffles", n_shuffles, minimum=1)
    for field, v in (
        ("decode_bin_s", decode_bin_s),
        ("event_bin_s", event_bin_s),
        ("bin_m", bin_m),
    ):
        check_positive(where, field, v)
    p = finite_array(where, "kinds_p", kinds_p)
    if p.shape != (4,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ParameterError(
            where, "kinds_p", "4 probabilities >= 0 summing to 1", tuple(np.ravel(p).tolist())
        )
    if config is not None and not isinstance(config, CA3Config):
        raise ParameterError(where, "config", "None or a CA3Config", type(config).__name__)
    torch.set_num_threads(1)
    cfg = dataclasses.replace(config or CA3Config(), n_exc=n_cells)
    pcs = PlaceCells.tiling(n_cells, length_m=length_m, sigma_m=0.07)
    model = CA3Model(cfg, place_cells=pcs, seed=seed)
    train = linear_track_laps(
        length_m=length_m, speed_m_s=speed_m_s, n_laps=n_laps, rest_s=0.2, dt_s=cfg.dt_s, seed=seed
    )
    exc, _ = model.run_running(train, seed=seed + 1000)
    spk = PlaceCells.raster_to_times(exc, cfg.dt_s)
    tuning = rp.tuning_curves(
        spk, train.positions_m, train.times_s, extent_m=length_m, bin_m=bin_m, smooth_m=bin_m
    )
    # held-out laps (no plasticity) for decoding while running
    test = linear_track_laps(
        length_m=length_m, speed_m_s=speed_m_s, n_laps=2, rest_s=0.2, dt_s=cfg.dt_s, seed=seed + 1
    )
    w_keep = model.w_ee.clone()
    exc_t, _ = model.run_running(test, seed=seed + 2000, plastic=False)
    model.w_ee = w_keep
    bin_steps = int(round(decode_bin_s / cfg.dt_s))
    run_bins = [
        k
        for k in range(len(test.times_s) // bin_steps)
        if test.running[k * bin_steps : (k + 1) * bin_steps].all()
    ]
    counts = np.stack(
        [exc_t[k * bin_steps : (k + 1) * bin_steps].sum(axis=0) for k in run_bins], axis=1
    ).astype(float)
    post = rp.decode_posterior(counts, tuning, bin_s=decode_bin_s)
    decoded = rp.decode_positions(post, tuning.centers_m)
    true = np.array(
        [test.positions_m[k * bin_steps : (k + 1) * bin_steps].mean() for k in run_bins]
    )
    # sleep: ripple segments side by side
    rng = np.random.default_rng(seed + 3)
    kinds = tuple(
        rng.choice(["forward", "reverse", "random", "none"], size=n_ripples, p=np.asarray(kinds_p))
    )
    ev = model.replay_events(kinds=kinds, seed=seed + 4, margin_s=0.75, background_hz=background_hz)
    T = ev.times_s.size
    sleep = ev.exc_spikes.reshape(-1, n_cells)  # concatenated segments [B*T, n]
    trains = PlaceCells.raster_to_times(sleep, cfg.dt_s)
    cands = rp.mua_events(
        trains,
        start_s=0.0,
        stop_s=sleep.shape[0] * cfg.dt_s,
        min_duration_s=0.03,
        max_duration_s=0.5,
    )
    eb = int(round(event_bin_s / cfg.dt_s))
    ev_counts, posts, ckind = [], [], []
    for a, b in cands:
        i0, i1 = int(round(a / cfg.dt_s)), int(round(b / cfg.dt_s))
        c = event_counts(sleep, i0, i1, eb)
        if c.shape[1] < 3 or c.sum() == 0:
            continue
        ev_counts.append(c)
        posts.append(rp.decode_posterior(c, tuning, bin_s=event_bin_s))
        ckind.append(kinds[min(i0 // T, len(kinds) - 1)])
    pool = np.concatenate(posts) if posts else None
    scores = [
        rp.score_event(
            c,
            tuning,
            bin_s=event_bin_s,
            bin_m=bin_m,
            seed=seed * 7919 + k,
            n_shuffles=n_shuffles,
            pseudo_pool=pool,
        )
        for k, c in enumerate(ev_counts)
    ]
    params = dict(
        seed=seed,
        n_cells=n_cells,
        length_m=length_m,
        speed_m_s=speed_m_s,
        n_laps=n_laps,
        n_ripples=n_ripples,
        decode_bin_s=decode_bin_s,
        event_bin_s=event_bin_s,
        n_shuffles=n_shuffles,
    )
    return TrackSession(
        model, train, tuning, test, decoded, true, ev, cands, scores, posts, ckind, params
    )


def track_point(**params: Any) -> dict[str, float]:
    """One sweep point: the scalar summary of :func:`track_session` (``alpha`` optional)."""
    known = [*inspect.signature(track_session).parameters, "alpha"]
    unknown = sorted(set(params) - set(known))
    if unknown:  # a sweep file's misspelt parameter, named instead of a TypeError per point
        raise ParameterError(
            "track_point", "params", f"keywords among {', '.join(known)}", unknown[0]
        )
    alpha = params.pop("alpha", 0.01)
    return track_session(**params).summary(alpha=alpha)
