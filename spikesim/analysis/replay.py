"""Place-cell analysis and replay detection on plain arrays (recorded or simulated).

Conventions: spike trains are a sequence of 1-D arrays of spike times in seconds, one per
unit; positions are sampled at ``times_s`` (``positions_m`` of shape [T] on a linear track or
[T, 2] in an arena). Everything is numpy; randomness comes only from an explicit ``seed``.

Methods (FIELD-NOTES §6):

- occupancy-normalised tuning curves (spike count per spatial bin / time spent there, while
  running faster than a speed threshold), optionally Gaussian-smoothed;
- Poisson Bayesian decoding (Zhang et al. 1998): ``log P(x|n) = sum_i n_i log f_i(x) -
  tau sum_i f_i(x) + log P(x)`` normalised per time bin;
- candidate events: multi-unit activity peaks >= 3 SD at low speed, extended to the mean
  crossings; ripple detection on the Hilbert envelope of the 150-250 Hz band;
- replay scores: weighted correlation between time and position under the posterior, and the
  Davidson et al. (2009) line score (mean posterior mass within a band around the best line);
- significance against cell-identity, column-cycle and pseudo-event shuffles (seeded), replay
  speed in m/s and direction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_int
from ..errors import ParameterError, ShapeError

__all__ = [
    "TuningCurves",
    "speed_m_s",
    "tuning_curves",
    "bin_spikes",
    "decode_posterior",
    "decode_positions",
    "mua_events",
    "ripple_events",
    "weighted_correlation",
    "line_fit",
    "LineFit",
    "ReplayScore",
    "score_event",
    "shuffle_pvalue",
    "SHUFFLES",
]

SHUFFLES = ("cell_identity", "column_cycle", "pseudo_event")
_EPS_HZ = 1e-3  # floor of a tuning curve so log f is finite (a silent bin still allows spikes)


# ------------------------------------------------------------------------------ helpers


def _spike_list(where: str, spike_times_s: Any) -> list[np.ndarray]:
    if isinstance(spike_times_s, np.ndarray) and spike_times_s.dtype != object:
        raise ParameterError(
            where,
            "spike_times_s",
            "a sequence of 1-D arrays of spike times (one per unit)",
            f"a single array of shape {spike_times_s.shape}",
        )
    try:
        trains = [np.asarray(t, dtype=np.float64).reshape(-1) for t in spike_times_s]
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            where,
            "spike_times_s",
            "a sequence of 1-D arrays of spike times",
            type(spike_times_s).__name__,
        ) from exc
    if not trains:
        raise ParameterError(where, "spike_times_s", "at least one unit", "an empty sequence")
    for i, t in enumerate(trains):
        if t.size and not np.all(np.isfinite(t)):
            raise ParameterError(where, f"spike_times_s[{i}]", "finite times", "NaN or Inf")
    return trains


def _positive(where: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(where, field, "a number > 0", value)
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(where, field, "a finite number > 0", value)
    return float(value)


def _positions(where: str, positions_m: Any, times_s: Any) -> tuple[np.ndarray, np.ndarray]:
    pos = np.asarray(positions_m, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ShapeError(where, "times_s", ("T >= 2",), t.shape)
    expected: tuple[int, ...]
    if pos.ndim == 1:
        expected = (t.size,)
    elif pos.ndim == 2 and pos.shape[1] == 2:
        expected = (t.size, 2)
    else:
        raise ShapeError(where, "positions_m", (t.size, "or", t.size, 2), pos.shape)
    if pos.shape != expected:
        raise ShapeError(
            where, "positions_m (one sample per entry of times_s)", expected, pos.shape
        )
    if np.any(np.diff(t) <= 0):
        raise ParameterError(
            where, "times_s", "strictly increasing sample times", "non-increasing values"
        )
    if not np.all(np.isfinite(pos)):
        raise ParameterError(where, "positions_m", "finite positions", "NaN or Inf")
    return pos, t


def speed_m_s(positions_m: Any, times_s: Any, *, smooth_s: float = 0.0) -> np.ndarray:
    """Speed (m/s) at each sample (central differences), optionally Gaussian-smoothed."""
    pos, t = _positions("speed_m_s", positions_m, times_s)
    grad = np.gradient(pos, t, axis=0)
    v = np.abs(grad) if grad.ndim == 1 else np.linalg.norm(grad, axis=1)
    if smooth_s > 0:
        v = _gauss_smooth(v, smooth_s / float(np.median(np.diff(t))))
    return v


def _gauss_smooth(x: np.ndarray, sigma_samples: float, axis: int = -1) -> np.ndarray:
    if sigma_samples <= 0:
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma_samples, axis=axis, mode="nearest")


# -------------------------------------------------------------------------- tuning curves


@dataclasses.dataclass(frozen=True)
class TuningCurves:
    """Occupancy-normalised firing-rate maps.

    ``rates_hz``: [n_units, n_x] (track) or [n_units, n_x, n_y] (arena);
    ``occupancy_s``: time spent per bin (same spatial shape); ``edges_m``: bin edges per axis.
    """

    rates_hz: np.ndarray
    occupancy_s: np.ndarray
    edges_m: tuple[np.ndarray, ...]

    @property
    def centers_m(self) -> tuple[np.ndarray, ...]:
        return tuple(0.5 * (e[1:] + e[:-1]) for e in self.edges_m)

    @property
    def n_units(self) -> int:
        return int(self.rates_hz.shape[0])

    def flat(self) -> np.ndarray:
        """Rates as [n_units, n_bins] (spatial bins flattened in C order)."""
        return self.rates_hz.reshape(self.n_units, -1)

    def peak_positions_m(self) -> np.ndarray:
        """Position of each unit's maximum rate ([n] on a track, [n, 2] in an arena)."""
        idx = np.argmax(self.flat(), axis=1)
        if len(self.edges_m) == 1:
            return self.centers_m[0][idx]
        ix, iy = np.unravel_index(idx, self.rates_hz.shape[1:])
        return np.stack([self.centers_m[0][ix], self.centers_m[1][iy]], axis=1)


def tuning_curves(
    spike_times_s: Sequence[Any],
    positions_m: Any,
    times_s: Any,
    *,
    extent_m: Any,
    bin_m: float = 0.02,
    min_speed_m_s: float = 0.05,
    smooth_m: float = 0.0,
) -> TuningCurves:
    """Occupancy-normalised tuning curves from spikes and the tracked position.

    ``extent_m``: the track length (positions in [0, L]) or ``(width, height)`` of an arena.
    Only samples (and spikes) with speed >= ``min_speed_m_s`` count; each spike takes the
    position of the nearest earlier sample. ``smooth_m`` is the Gaussian SD applied to counts
    and occupancy before division. Unvisited bins get rate 0.
    """
    where = "tuning_curves"
    trains = _spike_list(where, spike_times_s)
    pos, t = _positions(where, positions_m, times_s)
    bin_m = _positive(where, "bin_m", bin_m)
    ext = np.atleast_1d(np.asarray(extent_m, dtype=np.float64))
    if ext.size != (1 if pos.ndim == 1 else 2) or np.any(~np.isfinite(ext)) or np.any(ext <= 0):
        raise ParameterError(
            where,
            "extent_m",
            f"{'a track length' if pos.ndim == 1 else '(width, height)'} > 0",
            extent_m,
        )
    p2 = pos.reshape(len(t), -1)
    if np.any(p2 < -1e-9) or np.any(p2 > ext + 1e-9):
        raise ParameterError(
            where,
            "positions_m",
            f"inside [0, {ext.tolist()}] m",
            f"range [{p2.min():.3g}, {p2.max():.3g}]",
        )
    edges = tuple(np.linspace(0.0, e, max(1, round(e / bin_m)) + 1) for e in ext)
    spd = speed_m_s(pos, t)
    dt = np.diff(t, append=t[-1] + np.median(np.diff(t)))
    keep = spd >= min_speed_m_s
    occ, _ = np.histogramdd(p2[keep], bins=edges, weights=dt[keep])
    counts = np.zeros((len(trains),) + occ.shape)
    for i, st in enumerate(trains):
        st = st[(st >= t[0]) & (st <= t[-1])]
        if not st.size:
            continue
        k = np.clip(np.searchsorted(t, st, side="right") - 1, 0, len(t) - 1)
        k = k[keep[k]]
        counts[i], _ = np.histogramdd(p2[k], bins=edges)
    if smooth_m > 0:
        s = smooth_m / bin_m
        for ax in range(occ.ndim):
            occ = _gauss_smooth(occ, s, axis=ax)
            counts = _gauss_smooth(counts, s, axis=ax + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(occ > 1e-9, counts / np.where(occ > 1e-9, occ, 1.0), 0.0)
    return TuningCurves(rates, occ, edges)


# ------------------------------------------------------------------------------ decoding


def bin_spikes(
    spike_times_s: Sequence[Any], *, start_s: float, stop_s: float, bin_s: float
) -> np.ndarray:
    """Spike counts [n_units, n_bins] in consecutive bins of ``bin_s`` from ``start_s``."""
    where = "bin_spikes"
    trains = _spike_list(where, spike_times_s)
    bin_s = _positive(where, "bin_s", bin_s)
    if not stop_s > start_s:
        raise ParameterError(where, "stop_s", f"> start_s ({start_s})", stop_s)
    n = max(1, int(np.floor((stop_s - start_s) / bin_s + 1e-9)))
    edges = start_s + bin_s * np.arange(n + 1)
    return np.stack([np.histogram(tr, bins=edges)[0] for tr in trains]).astype(np.float64)


def _tuning_flat(where: str, tuning: Any) -> np.ndarray:
    f = tuning.flat() if isinstance(tuning, TuningCurves) else np.asarray(tuning, dtype=np.float64)
    if f.ndim < 2:
        raise ShapeError(where, "tuning_hz", ("n_units", "n_bins"), f.shape)
    f = f.reshape(f.shape[0], -1)
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ParameterError(
            where, "tuning_hz", "finite rates >= 0", "negative or non-finite values"
        )
    return f


def decode_posterior(counts: Any, tuning_hz: Any, *, bin_s: float, prior: Any = None) -> np.ndarray:
    """Poisson Bayesian posterior over spatial bins for each time bin: [n_time, n_bins].

    ``counts``: [n_units, n_time] spike counts; ``tuning_hz``: [n_units, n_bins] rates or a
    :class:`TuningCurves`; ``prior``: [n_bins] (uniform when None). Time bins without spikes
    get the posterior ``prior * exp(-bin_s * sum_i f_i)`` (normalised).
    """
    where = "decode_posterior"
    f = _tuning_flat(where, tuning_hz)
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != f.shape[0]:
        raise ShapeError(
            where,
            "counts (units x time bins, units as in tuning_hz)",
            (f.shape[0], "n_time"),
            n.shape,
        )
    if n.shape[1] == 0:
        raise ParameterError(where, "counts", "at least one time bin", "0 time bins")
    if np.any(n < 0):
        raise ParameterError(where, "counts", "spike counts >= 0", "negative counts")
    bin_s = _positive(where, "bin_s", bin_s)
    logf = np.log(np.maximum(f, _EPS_HZ))
    logp = n.T @ logf - bin_s * np.maximum(f, _EPS_HZ).sum(axis=0)[None, :]
    if prior is not None:
        pr = np.asarray(prior, dtype=np.float64).reshape(-1)
        if pr.shape != (f.shape[1],):
            raise ShapeError(where, "prior", (f.shape[1],), pr.shape)
        logp = logp + np.log(np.maximum(pr, 1e-300))
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def decode_positions(posterior: np.ndarray, centers_m: Sequence[np.ndarray]) -> np.ndarray:
    """Maximum-a-posteriori position per time bin ([n_time] or [n_time, 2])."""
    idx = np.argmax(np.asarray(posterior), axis=1)
    if len(centers_m) == 1:
        return np.asarray(centers_m[0])[idx]
    ix, iy = np.unravel_index(idx, (len(centers_m[0]), len(centers_m[1])))
    return np.stack([centers_m[0][ix], centers_m[1][iy]], axis=1)


# ------------------------------------------------------------------ candidate events


def _runs(mask: np.ndarray) -> np.ndarray:
    """[k, 2] start/stop (exclusive) indices of the runs of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


def _threshold_events(
    signal: np.ndarray,
    t: np.ndarray,
    *,
    peak_sd: float,
    edge_sd: float,
    allowed: np.ndarray,
    min_duration_s: float,
    max_duration_s: float | None,
) -> np.ndarray:
    mu, sd = float(signal.mean()), float(signal.std())
    if sd == 0:
        return np.zeros((0, 2))
    above = signal > mu + edge_sd * sd
    out = []
    for a, b in _runs(above):
        seg = signal[a:b]
        if seg.max() < mu + peak_sd * sd:
            continue
        k = a + int(np.argmax(seg))
        if not allowed[k]:
            continue
        t0, t1 = t[a], t[b - 1] + (t[1] - t[0])
        dur = t1 - t0
        if dur < min_duration_s or (max_duration_s is not None and dur > max_duration_s):
            continue
        out.append((t0, t1))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def mua_events(
    spike_times_s: Sequence[Any],
    *,
    start_s: float,
    stop_s: float,
    speed_m_s: Any = None,
    speed_times_s: Any = None,
    max_speed_m_s: float = 0.05,
    bin_s: float = 1e-3,
    smooth_s: float = 0.015,
    peak_sd: float = 3.0,
    min_duration_s: float = 0.05,
    max_duration_s: float | None = 0.5,
) -> np.ndarray:
    """Candidate replay events [k, 2] (start, stop in s) from multi-unit activity.

    The pooled spike count in ``bin_s`` bins is Gaussian-smoothed (SD ``smooth_s``) and
    z-scored; an event is a peak >= ``peak_sd`` SD, extended to where the rate crosses the
    mean, at a speed below ``max_speed_m_s`` (when the speed is given), lasting between
    ``min_duration_s`` and ``max_duration_s``.
    """
    where = "mua_events"
    trains = _spike_list(where, spike_times_s)
    bin_s = _positive(where, "bin_s", bin_s)
    allst = np.concatenate(trains)
    if allst.size == 0:
        raise ParameterError(where, "spike_times_s", "at least one spike", "no spikes in any unit")
    n = max(1, int(np.floor((stop_s - start_s) / bin_s)))
    edges = start_s + bin_s * np.arange(n + 1)
    mua = _gauss_smooth(np.histogram(allst, bins=edges)[0].astype(np.float64), smooth_s / bin_s)
    tc = edges[:-1]
    allowed = np.ones(n, dtype=bool)
    if speed_m_s is not None:
        if speed_times_s is None:
            raise ParameterError(where, "speed_times_s", "the sample times of speed_m_s", None)
        sp = np.asarray(speed_m_s, dtype=np.float64)
        st = np.asarray(speed_times_s, dtype=np.float64)
        if sp.shape != st.shape or sp.ndim != 1:
            raise ShapeError(
                where, "speed_m_s (one sample per entry of speed_times_s)", st.shape, sp.shape
            )
        allowed = np.interp(tc, st, sp) < max_speed_m_s
    return _threshold_events(
        mua,
        tc,
        peak_sd=peak_sd,
        edge_sd=0.0,
        allowed=allowed,
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
    )


def ripple_events(
    lfp: Any,
    *,
    fs_hz: float,
    band_hz: tuple[float, float] = (150.0, 250.0),
    threshold_sd: float = 2.5,
    edge_sd: float = 1.0,
    min_duration_s: float = 0.015,
    max_duration_s: float | None = 0.5,
    start_s: float = 0.0,
) -> np.ndarray:
    """Ripple events [k, 2] (start, stop in s): band-pass (4th-order Butterworth, zero
    phase), Hilbert envelope smoothed 4 ms, peaks > ``threshold_sd`` SD, edges at ``edge_sd``."""
    from scipy.signal import butter, hilbert, sosfiltfilt

    where = "ripple_events"
    x = np.asarray(lfp, dtype=np.float64)
    if x.ndim != 1 or x.size < 32:
        raise ShapeError(where, "lfp", ("n_samples >= 32",), x.shape)
    fs = _positive(where, "fs_hz", fs_hz)
    lo, hi = (float(b) for b in band_hz)
    if not 0 < lo < hi < fs / 2:
        raise ParameterError(where, "band_hz", f"0 < low < high < fs_hz/2 ({fs / 2:g})", band_hz)
    sos = butter(4, [lo, hi], btype="bandpass", fs=fs, output="sos")
    env = np.abs(hilbert(sosfiltfilt(sos, x)))
    env = _gauss_smooth(env, 0.004 * fs)
    t = start_s + np.arange(x.size) / fs
    return _threshold_events(
        env,
        t,
        peak_sd=threshold_sd,
        edge_sd=edge_sd,
        allowed=np.ones(x.size, bool),
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
    )


# ------------------------------------------------------------------------ replay scores


def _posterior(where: str, posterior: Any) -> np.ndarray:
    p = np.asarray(posterior, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 2 or p.shape[1] < 2:
        raise ShapeError(
            where, "posterior (time bins x position bins, both >= 2)", ("n_time", "n_pos"), p.shape
        )
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ParameterError(
            where, "posterior", "finite probabilities >= 0", "negative or non-finite values"
        )
    return p


def weighted_correlation(posterior: Any) -> float:
    """Correlation between time bin and position bin, weighted by the posterior mass."""
    p = _posterior("weighted_correlation", posterior)
    w = p / p.sum()
    ti, xi = np.meshgrid(np.arange(p.shape[0]), np.arange(p.shape[1]), indexing="ij")
    mt, mx = (w * ti).sum(), (w * xi).sum()
    cov = (w * (ti - mt) * (xi - mx)).sum()
    vt, vx = (w * (ti - mt) ** 2).sum(), (w * (xi - mx) ** 2).sum()
    if vt <= 0 or vx <= 0:
        return 0.0
    return float(cov / np.sqrt(vt * vx))


@dataclasses.dataclass(frozen=True)
class LineFit:
    """Best line through a posterior: ``position_bin = intercept + slope * time_bin``."""

    score: float  # mean posterior mass within +-band_bins of the line
    slope_bins_per_bin: float
    intercept_bins: float


def _line_scores(
    p: np.ndarray, start: np.ndarray, stop: np.ndarray, band_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Scores [n_lines] of the lines from position bin ``start`` (first time bin) to ``stop``
    (last time bin): mean over time bins of the posterior mass within ``band_bins`` of the line.

    Time bins where the line is off the track count the uniform mass, as in Davidson et al.
    (2009), so a line is not rewarded for leaving the track. Also returns the fraction of
    time bins where each line is on the track.
    """
    nt, nx = p.shape
    cum = np.concatenate([np.zeros((nt, 1)), np.cumsum(p, axis=1)], axis=1)  # [nt, nx+1]
    t = np.arange(nt)
    frac = t / max(nt - 1, 1)
    centre = start[:, None] + (stop - start)[:, None] * frac[None, :]  # [L, T]
    c = np.rint(centre).astype(np.int64)
    lo = np.clip(c - band_bins, 0, nx)
    hi = np.clip(c + band_bins + 1, 0, nx)
    mass = cum[t[None, :], hi] - cum[t[None, :], lo]
    outside = (c < 0) | (c >= nx)
    mass = np.where(outside, (2 * band_bins + 1) / nx, mass)
    return mass.mean(axis=1), 1.0 - outside.mean(axis=1)


def line_fit(posterior: Any, *, band_bins: int = 3) -> LineFit:
    """Davidson-style line fit (a discrete Radon transform): every line from an integer
    position bin at the first time bin to one at the last (both within half a track length
    of the track) is scored; the line must lie on the track for at least half of the event.
    """
    p = _posterior("line_fit", posterior)
    nt, nx = p.shape
    p = p / p.sum(axis=1, keepdims=True).clip(min=1e-300)
    ends = np.arange(-(nx // 2), nx + nx // 2, dtype=np.float64)
    a, b = np.meshgrid(ends, ends, indexing="ij")
    a, b = a.ravel(), b.ravel()
    sc, inside = _line_scores(p, a, b, int(band_bins))
    sc = np.where(inside >= 0.5, sc, -np.inf)
    k = int(np.argmax(sc))
    return LineFit(float(sc[k]), float((b[k] - a[k]) / (nt - 1)), float(a[k]))


@dataclasses.dataclass(frozen=True)
class ReplayScore:
    """Scores of one candidate event with shuffle p-values and the replayed speed."""

    weighted_correlation: float
    line: LineFit
    speed_m_s: float  # |slope| in m/s
    direction: str  # "forward" / "reverse" relative to running_direction, "none" if flat
    pvalues: dict[str, float]

    def significant(self, alpha: float = 0.01) -> bool:
        """True when every computed shuffle gives p < alpha (Davidson's criterion)."""
        return bool(self.pvalues) and all(p < alpha for p in self.pvalues.values())


def _shuffle_scores(
    kind: str,
    counts: np.ndarray,
    f: np.ndarray,
    bin_s: float,
    rng: np.random.Generator,
    n_shuffles: int,
    band_bins: int,
    pseudo_pool: np.ndarray | None,
) -> np.ndarray:
    nx = f.shape[1]
    out = np.empty(n_shuffles)
    base = decode_posterior(counts, f, bin_s=bin_s) if kind == "column_cycle" else None
    for s in range(n_shuffles):
        if kind == "cell_identity":
            post = decode_posterior(counts, f[rng.permutation(f.shape[0])], bin_s=bin_s)
        elif kind == "column_cycle":
            assert base is not None
            shifts = np.asarray(rng.integers(0, nx, size=base.shape[0]))
            idx = (np.arange(nx)[None, :] - shifts[:, None]) % nx
            post = np.take_along_axis(base, idx, axis=1)
        else:
            assert pseudo_pool is not None
            post = pseudo_pool[rng.integers(0, pseudo_pool.shape[0], size=counts.shape[1])]
        out[s] = line_fit(post, band_bins=band_bins).score
    return out


def shuffle_pvalue(observed: float, null: np.ndarray) -> float:
    """Monte-Carlo p-value (k + 1) / (n + 1) with k = shuffles scoring >= observed."""
    null = np.asarray(null)
    return float((np.sum(null >= observed) + 1) / (null.size + 1))


def score_event(
    counts: Any,
    tuning_hz: Any,
    *,
    bin_s: float,
    bin_m: float,
    seed: int,
    shuffles: Sequence[str] = SHUFFLES,
    n_shuffles: int = 200,
    band_bins: int = 3,
    pseudo_pool: Any = None,
    running_direction: int = 1,
) -> ReplayScore:
    """Score one candidate event on a linear track.

    ``counts``: [n_units, n_time] spike counts of the event in bins of ``bin_s``;
    ``tuning_hz``: [n_units, n_pos] in bins of ``bin_m``. The line-fit score is compared with
    each shuffle in ``shuffles`` (``n_shuffles`` draws from ``seed``); the pseudo-event
    shuffle draws posterior columns from ``pseudo_pool`` ([n, n_pos], e.g. posteriors of all
    candidate events). Direction: "forward" when the replayed positions move along
    ``running_direction`` (+1: increasing position).
    """
    where = "score_event"
    f = _tuning_flat(where, tuning_hz)
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != f.shape[0]:
        raise ShapeError(
            where,
            "counts (units x time bins, units as in tuning_hz)",
            (f.shape[0], "n_time"),
            n.shape,
        )
    if n.shape[1] < 2:
        raise ParameterError(
            where, "counts", "an event of >= 2 time bins", f"{n.shape[1]} time bins"
        )
    if n.sum() == 0:
        raise ParameterError(where, "counts", "an event with at least one spike", "no spikes")
    bin_s = _positive(where, "bin_s", bin_s)
    bin_m = _positive(where, "bin_m", bin_m)
    if running_direction not in (1, -1):
        raise ParameterError(where, "running_direction", "+1 or -1", running_direction)
    for s in shuffles:
        if s not in SHUFFLES:
            raise ParameterError(where, "shuffles", f"names from {SHUFFLES}", s)
    pool = None
    if "pseudo_event" in shuffles:
        if pseudo_pool is None:
            raise ParameterError(
                where,
                "pseudo_pool",
                "posterior columns [n, n_pos] for the pseudo-event shuffle",
                None,
            )
        pool = np.asarray(pseudo_pool, dtype=np.float64)
        if pool.ndim != 2 or pool.shape[1] != f.shape[1] or pool.shape[0] < 1:
            raise ShapeError(where, "pseudo_pool", ("n >= 1", f.shape[1]), pool.shape)
    post = decode_posterior(n, f, bin_s=bin_s)
    fit = line_fit(post, band_bins=band_bins)
    wc = weighted_correlation(post)
    rng = np.random.default_rng(check_int(where, "seed", seed, minimum=0))
    pvals = {}
    for s in shuffles:
        null = _shuffle_scores(s, n, f, bin_s, rng, int(n_shuffles), band_bins, pool)
        pvals[s] = shuffle_pvalue(fit.score, null)
    speed = abs(fit.slope_bins_per_bin) * bin_m / bin_s
    if fit.slope_bins_per_bin == 0:
        direction = "none"
    else:
        direction = "forward" if np.sign(fit.slope_bins_per_bin) == running_direction else "reverse"
    return ReplayScore(wc, fit, float(speed), direction, pvals)
