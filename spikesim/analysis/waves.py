"""Traveling-wave analysis on electrode grids (Muller et al., eLife 2016, "Rotating waves
during human sleep spindles"), for any [channels x time] array with electrode positions.

Pipeline (:func:`analyze_waves`):

1. zero-phase band-pass (default 9-18 Hz, 8th-order Butterworth) and the analytic-signal
   phase of every channel (or the generalized phase);
2. one phase map per oscillation cycle: the sample where the phase of the channel-summed
   analytic signal crosses zero (the peak of the mean oscillation), inside spindles if given;
3. the phase gradient on the grid by complex multiplication of neighbours
   (``angle(z[x+1] conj(z[x-1])) / 2 dx``), the propagation direction ``-grad phi``
   normalised to unit length, and its curl and divergence;
4. scores: rotating = |circular correlation| of phase with the polar angle around the
   maximum of |curl|; expanding = circular-linear correlation of phase with the distance from
   the maximum of |divergence|; each compared with the ``1 - alpha`` quantile (99th
   percentile by default) of the same score for the phase map shuffled across electrodes;
5. class per cycle: ``"planar"`` (phase gradient directionality >= ``pgd_threshold``), else
   ``"rotating"`` (significant rotating score, not smaller than a significant expanding
   score), else ``"expanding"`` (significant expanding score), else ``"other"``; rotation direction from the sign of the curl at the centre; phase speed
   ``2 pi f / |grad phi|`` (median over electrodes) in m/s.

Coordinates: positions are (x, y) in metres in a right-handed frame (x to the right, y up),
so a positive curl is a counter-clockwise rotation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import signal as sps

from .._validate import check_int
from ..errors import ParameterError, ShapeError
from .signal import Spindle, as_channels, bandpass, detect_spindles, generalized_phase

__all__ = [
    "electrode_grid",
    "Grid",
    "grid_of",
    "phase_gradient",
    "circular_correlation",
    "circular_linear_correlation",
    "WaveCycle",
    "WaveAnalysis",
    "classify_phase_maps",
    "analyze_waves",
]

KINDS = ("rotating", "expanding", "planar", "other")


def electrode_grid(
    *,
    rows: int = 8,
    cols: int = 8,
    spacing_m: float = 0.01,
    origin_m: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Positions [rows*cols, 2] (x, y in metres) of a regular grid, channel = row * cols + col."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 2:
        raise ParameterError("electrode_grid", "rows", "an integer >= 2", rows)
    if isinstance(cols, bool) or not isinstance(cols, int) or cols < 2:
        raise ParameterError("electrode_grid", "cols", "an integer >= 2", cols)
    if not np.isfinite(spacing_m) or spacing_m <= 0:
        raise ParameterError("electrode_grid", "spacing_m", "> 0", spacing_m)
    yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    pos = np.stack([xx.ravel(), yy.ravel()], axis=1) * float(spacing_m)
    return pos + np.asarray(origin_m, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A regular electrode grid: channel ``c`` sits at node (``row[c]``, ``col[c]``)."""

    rows: int
    cols: int
    dx_m: float
    dy_m: float
    x0_m: float
    y0_m: float
    row: np.ndarray
    col: np.ndarray

    @property
    def n_channels(self) -> int:
        return self.rows * self.cols

    def node_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (metres) of every node, each [rows, cols]."""
        yy, xx = np.meshgrid(np.arange(self.rows), np.arange(self.cols), indexing="ij")
        return self.x0_m + xx * self.dx_m, self.y0_m + yy * self.dy_m

    def to_grid(self, values: np.ndarray) -> np.ndarray:
        """[..., channels] -> [..., rows, cols]."""
        out = np.empty(values.shape[:-1] + (self.rows, self.cols), dtype=values.dtype)
        out[..., self.row, self.col] = values
        return out

    def to_channels(self, values: np.ndarray) -> np.ndarray:
        """[..., rows, cols] -> [..., channels]."""
        return values[..., self.row, self.col]


def grid_of(
    positions_m: np.ndarray, *, n_channels: int | None = None, where: str = "grid_of"
) -> Grid:
    """The regular grid that ``positions_m`` [channels, 2] (metres) fill completely.

    Refuses positions that are not a complete rows x cols lattice (each node exactly once),
    or whose number does not match ``n_channels``.
    """
    pos = np.asarray(positions_m, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ShapeError(
            where,
            "positions_m",
            (n_channels if n_channels is not None else "channels", 2),
            pos.shape,
        )
    if n_channels is not None and pos.shape[0] != n_channels:
        raise ShapeError(
            where, "positions_m (one row per channel of data)", (n_channels, 2), pos.shape
        )
    if not np.all(np.isfinite(pos)):
        raise ParameterError(where, "positions_m", "finite coordinates in metres", "NaN/Inf")
    xs, ys = pos[:, 0], pos[:, 1]
    span = max(np.ptp(xs), np.ptp(ys), 1e-12)
    tol = 1e-6 * span

    def axis(v: np.ndarray) -> tuple[np.ndarray, float]:
        u = np.sort(v)
        levels = [u[0]]
        for val in u[1:]:
            if val - levels[-1] > tol:
                levels.append(val)
        lv = np.asarray(levels)
        if lv.size < 2:
            return lv, 0.0
        steps = np.diff(lv)
        if np.ptp(steps) > 1e-3 * steps.mean():
            raise ParameterError(
                where,
                "positions_m",
                "a regular grid (equal spacing along x and y)",
                f"spacings {np.unique(np.round(steps, 9))}",
            )
        return lv, float(steps.mean())

    lx, dx = axis(xs)
    ly, dy = axis(ys)
    if lx.size < 2 or ly.size < 2:
        raise ParameterError(
            where,
            "positions_m",
            "a 2-D grid of at least 2 x 2 electrodes",
            f"{ly.size} x {lx.size}",
        )
    col = np.rint((xs - lx[0]) / dx).astype(np.int64)
    row = np.rint((ys - ly[0]) / dy).astype(np.int64)
    rows, cols = ly.size, lx.size
    if pos.shape[0] != rows * cols or np.unique(row * cols + col).size != pos.shape[0]:
        raise ParameterError(
            where,
            "positions_m",
            f"a complete {rows} x {cols} grid (each node once)",
            f"{pos.shape[0]} positions",
        )
    return Grid(rows, cols, dx, dy, float(lx[0]), float(ly[0]), row, col)


# ------------------------------------------------------------------------- grid calculus


def _grid_gradient(z: np.ndarray, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Phase gradient (rad/m) of unit phasors z [..., rows, cols] by complex multiplication."""
    gx = np.empty(z.shape, dtype=np.float64)
    gy = np.empty(z.shape, dtype=np.float64)
    gx[..., :, 1:-1] = np.angle(z[..., :, 2:] * np.conj(z[..., :, :-2])) / (2 * dx)
    gx[..., :, 0] = np.angle(z[..., :, 1] * np.conj(z[..., :, 0])) / dx
    gx[..., :, -1] = np.angle(z[..., :, -1] * np.conj(z[..., :, -2])) / dx
    gy[..., 1:-1, :] = np.angle(z[..., 2:, :] * np.conj(z[..., :-2, :])) / (2 * dy)
    gy[..., 0, :] = np.angle(z[..., 1, :] * np.conj(z[..., 0, :])) / dy
    gy[..., -1, :] = np.angle(z[..., -1, :] * np.conj(z[..., -2, :])) / dy
    return gx, gy


def phase_gradient(phase: np.ndarray, positions_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spatial phase gradient (rad/m) of phase maps [channels] or [channels, time].

    Computed by complex multiplication of neighbouring electrodes' phasors (central
    differences inside the grid, one-sided at its edges), so phase wrapping never matters.
    Returns (d phi/dx, d phi/dy), each shaped like ``phase``.
    """
    ph = np.asarray(phase, dtype=np.float64)
    if ph.ndim not in (1, 2) or ph.size == 0:
        raise ShapeError("phase_gradient", "phase", ("channels", "[time]"), ph.shape)
    if not np.all(np.isfinite(ph)):
        raise ParameterError("phase_gradient", "phase", "finite phases (radians)", "NaN/Inf")
    g = grid_of(positions_m, n_channels=ph.shape[0], where="phase_gradient")
    maps = g.to_grid(np.moveaxis(ph, 0, -1))
    gx, gy = _grid_gradient(np.exp(1j * maps), g.dx_m, g.dy_m)
    return np.moveaxis(g.to_channels(gx), -1, 0), np.moveaxis(g.to_channels(gy), -1, 0)


def circular_correlation(
    a: np.ndarray, b: np.ndarray, *, axis: int = -1, weights: np.ndarray | None = None
) -> np.ndarray:
    """Circular-circular correlation of angles a and b along ``axis``, in [-1, 1].

    Fisher & Lee's (1983) coefficient
    ``sum_{i<j} sin(a_i - a_j) sin(b_i - b_j) / sqrt(sum sin^2(a_i - a_j) sum sin^2(b_i - b_j))``,
    computed in O(n). Unlike the Jammalamadaka-SenGupta form (CircStat's ``circ_corrcc``,
    which subtracts each variable's mean direction) it stays defined when the angles are
    uniform around the circle, as the polar angles around a rotating wave's centre are: there
    the mean direction is undefined and the JS value of a perfect rotation scatters between
    about 0.5 and 1. ``weights`` (0/1 or non-negative) leave samples out.
    """
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    b = np.moveaxis(np.asarray(b, dtype=np.float64), axis, -1)
    w = (
        np.ones(np.broadcast_shapes(a.shape, b.shape))
        if weights is None
        else np.moveaxis(np.asarray(weights, dtype=np.float64), axis, -1)
    )
    sa, ca, sb, cb = np.sin(a), np.cos(a), np.sin(b), np.cos(b)

    def S(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (w * u * v).sum(-1)

    num = S(sa, sb) * S(ca, cb) - S(sa, cb) * S(ca, sb)
    da = S(sa, sa) * S(ca, ca) - S(sa, ca) ** 2
    db = S(sb, sb) * S(cb, cb) - S(sb, cb) ** 2
    den = np.sqrt(np.clip(da * db, 0.0, None))
    return np.where(den > 1e-30, num / np.where(den > 1e-30, den, 1.0), 0.0)


def circular_linear_correlation(alpha: np.ndarray, x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Circular-linear correlation (Mardia) of angles ``alpha`` with a linear variable ``x``, in [0, 1]."""

    def corr(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u = u - u.mean(axis, keepdims=True)
        v = v - v.mean(axis, keepdims=True)
        den = np.sqrt((u**2).sum(axis) * (v**2).sum(axis))
        return np.where(den > 0, (u * v).sum(axis) / np.where(den > 0, den, 1.0), 0.0)

    x = np.broadcast_to(x, alpha.shape)
    s, c = np.sin(alpha), np.cos(alpha)
    rxs, rxc, rcs = corr(x, s), corr(x, c), corr(s, c)
    num = rxc**2 + rxs**2 - 2 * rxc * rxs * rcs
    den = 1 - rcs**2
    return np.sqrt(
        np.clip(np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0), 0.0, 1.0)
    )


def _field_max(
    node: np.ndarray, cell: np.ndarray, g: Grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Location (x, y) and sign of the largest |value| of a field known at the grid nodes
    [..., R, C] and at the cell centres [..., R-1, C-1] (a grid of half the spacing)."""
    R, C = node.shape[-2:]
    x, y = g.node_positions()
    allv = np.concatenate(
        [node.reshape(node.shape[:-2] + (-1,)), cell.reshape(cell.shape[:-2] + (-1,))], -1
    )
    xs = np.concatenate([x.ravel(), (x[:-1, :-1] + g.dx_m / 2).ravel()])
    ys = np.concatenate([y.ravel(), (y[:-1, :-1] + g.dy_m / 2).ravel()])
    k = np.abs(allv).argmax(-1)
    sign = np.sign(np.take_along_axis(allv, k[..., None], -1)[..., 0])
    return xs[k], ys[k], sign


@dataclasses.dataclass
class _Scores:
    rot: np.ndarray
    exp: np.ndarray
    curl_sign: np.ndarray
    centre: np.ndarray
    source: np.ndarray
    pgd: np.ndarray
    direction: np.ndarray
    gmag: np.ndarray


def _scores(maps: np.ndarray, g: Grid) -> _Scores:
    """Scores of phase maps [..., rows, cols] (radians)."""
    z = np.exp(1j * maps)
    gx, gy = _grid_gradient(z, g.dx_m, g.dy_m)
    mag = np.hypot(gx, gy)
    safe = np.where(mag > 0, mag, 1.0)
    ux, uy = -gx / safe, -gy / safe  # unit propagation direction
    curl = np.gradient(uy, g.dx_m, axis=-1) - np.gradient(ux, g.dy_m, axis=-2)
    div = np.gradient(ux, g.dx_m, axis=-1) + np.gradient(uy, g.dy_m, axis=-2)
    # the same on the cell centres, from the circulation and the flux through each cell
    mx = (ux[..., :-1, :] + ux[..., 1:, :]) / 2  # ux at the middle of vertical edges
    my = (uy[..., :, :-1] + uy[..., :, 1:]) / 2  # uy at the middle of horizontal edges
    hx = (ux[..., :, :-1] + ux[..., :, 1:]) / 2  # ux at the middle of horizontal edges
    vy = (uy[..., :-1, :] + uy[..., 1:, :]) / 2  # uy at the middle of vertical edges
    curl_c = (vy[..., :, 1:] - vy[..., :, :-1]) / g.dx_m - (
        hx[..., 1:, :] - hx[..., :-1, :]
    ) / g.dy_m
    div_c = (mx[..., :, 1:] - mx[..., :, :-1]) / g.dx_m + (
        my[..., 1:, :] - my[..., :-1, :]
    ) / g.dy_m
    x, y = g.node_positions()
    cx, cy, csign = _field_max(curl, curl_c, g)
    sx, sy, _ = _field_max(div, div_c, g)
    ph = maps.reshape(maps.shape[:-2] + (-1,))
    dxc = x.ravel() - cx[..., None]
    dyc = y.ravel() - cy[..., None]
    rc = np.hypot(dxc, dyc)
    theta = np.arctan2(dyc, dxc)
    # electrodes within a tenth of a spacing of the centre have no defined polar angle
    keep = rc > 0.1 * min(g.dx_m, g.dy_m)
    rot = np.abs(circular_correlation(ph, theta, weights=keep))
    # the source: the divergence maximum, refined to the best of it and its 8 neighbours on
    # the half-spacing grid (a source on an electrode leaves that electrode's gradient
    # undefined, which can move the maximum by one step); shuffles get the same refinement
    offs = np.array([(i * g.dx_m / 2, j * g.dy_m / 2) for i in (-1, 0, 1) for j in (-1, 0, 1)])
    cand_x = sx[..., None] + offs[:, 0]
    cand_y = sy[..., None] + offs[:, 1]
    dist = np.hypot(x.ravel() - cand_x[..., None], y.ravel() - cand_y[..., None])
    exp_all = circular_linear_correlation(np.broadcast_to(ph[..., None, :], dist.shape), dist)
    best = exp_all.argmax(-1)
    exp = np.take_along_axis(exp_all, best[..., None], -1)[..., 0]
    sx = np.take_along_axis(cand_x, best[..., None], -1)[..., 0]
    sy = np.take_along_axis(cand_y, best[..., None], -1)[..., 0]
    mgx, mgy = gx.mean((-2, -1)), gy.mean((-2, -1))
    pgd = np.hypot(mgx, mgy) / np.maximum(mag.mean((-2, -1)), 1e-30)
    return _Scores(
        rot,
        exp,
        csign,
        np.stack([cx, cy], -1),
        np.stack([sx, sy], -1),
        pgd,
        np.arctan2(-mgy, -mgx),
        mag.reshape(mag.shape[:-2] + (-1,)),
    )


# ------------------------------------------------------------------------ classification


@dataclasses.dataclass(frozen=True)
class WaveCycle:
    """The wave of one oscillation cycle.

    ``rotation`` is +1 for counter-clockwise, -1 for clockwise (sign of the curl at the
    centre, x right and y up), 0 when the cycle is not rotating. ``centre_m`` is the rotation
    centre, ``source_m`` the expanding-wave source (x, y in metres). ``direction_rad`` is the
    mean propagation direction (for planar waves) and ``pgd`` the phase gradient
    directionality (1 = perfectly planar).
    """

    time_s: float
    kind: str
    rotating_score: float
    expanding_score: float
    rotating_threshold: float
    expanding_threshold: float
    rotation: int
    centre_m: tuple[float, float]
    source_m: tuple[float, float]
    speed_m_s: float
    direction_rad: float
    pgd: float
    frequency_hz: float
    spindle: int = -1


@dataclasses.dataclass
class WaveAnalysis:
    """Per-cycle waves of a recording plus the phase maps they came from."""

    cycles: list[WaveCycle]
    phase_maps: np.ndarray  # [cycles, channels] radians
    positions_m: np.ndarray
    spindles: list[Spindle]
    fs_hz: float
    windows_s: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    """The (start_s, stop_s) windows whose cycles were analysed: the detected or given spindles;
    empty when the whole record was analysed (``spindles=None``)."""

    def __len__(self) -> int:
        return len(self.cycles)

    def fraction(self, kind: str) -> float:
        """Fraction of cycles of ``kind`` (rotating, expanding, planar, other)."""
        if kind not in KINDS:
            raise ParameterError("WaveAnalysis.fraction", "kind", f"one of {KINDS}", kind)
        if not self.cycles:
            return float("nan")
        return sum(c.kind == kind for c in self.cycles) / len(self.cycles)

    def counterclockwise_fraction(self) -> float:
        """Among rotating cycles, the fraction turning counter-clockwise (NaN if none)."""
        rot = [c.rotation for c in self.cycles if c.kind == "rotating"]
        return float(np.mean(np.asarray(rot) > 0)) if rot else float("nan")

    def speeds_m_s(self, kind: str | None = None) -> np.ndarray:
        return np.asarray([c.speed_m_s for c in self.cycles if kind is None or c.kind == kind])

    def summary(self) -> dict[str, float]:
        sp = self.speeds_m_s()
        sp = sp[np.isfinite(sp)]
        return {
            "cycles": float(len(self.cycles)),
            "spindles": float(len(self.windows_s)),
            **{f"{k}_fraction": self.fraction(k) for k in KINDS},
            "counterclockwise_fraction": self.counterclockwise_fraction(),
            "speed_median_m_s": float(np.median(sp)) if sp.size else float("nan"),
            "speed_p20_m_s": float(np.percentile(sp, 20)) if sp.size else float("nan"),
            "speed_p80_m_s": float(np.percentile(sp, 80)) if sp.size else float("nan"),
            "frequency_median_hz": float(np.median([c.frequency_hz for c in self.cycles]))
            if self.cycles
            else float("nan"),
        }


def classify_phase_maps(
    phase_maps: np.ndarray,
    positions_m: np.ndarray,
    *,
    frequency_hz: float | np.ndarray,
    n_shuffles: int = 200,
    alpha: float = 0.01,
    pgd_threshold: float = 0.5,
    seed: int = 0,
    times_s: np.ndarray | None = None,
    chunk: int = 64,
) -> list[WaveCycle]:
    """Classify phase maps [cycles, channels] (radians) on the grid of ``positions_m``.

    ``frequency_hz`` (scalar or one per map) converts phase gradients to speeds. Each map's
    scores are compared with the ``1 - alpha`` quantile of ``n_shuffles`` spatial shuffles of
    that map (phases permuted across electrodes) drawn from ``seed``.
    """
    where = "classify_phase_maps"
    maps = np.asarray(phase_maps, dtype=np.float64)
    if maps.ndim == 1:
        maps = maps[None]
    if maps.ndim != 2 or maps.shape[0] == 0:
        raise ShapeError(where, "phase_maps", ("cycles", "channels"), maps.shape)
    if not np.all(np.isfinite(maps)):
        raise ParameterError(where, "phase_maps", "finite phases", "NaN/Inf")
    g = grid_of(positions_m, n_channels=maps.shape[1], where=where)
    if isinstance(n_shuffles, bool) or not isinstance(n_shuffles, int) or n_shuffles < 1:
        raise ParameterError(where, "n_shuffles", "an integer >= 1", n_shuffles)
    if not 0 < alpha < 1:
        raise ParameterError(where, "alpha", "in (0, 1)", alpha)
    if n_shuffles * alpha < 1:
        raise ParameterError(
            where,
            "n_shuffles",
            f">= 1 / alpha = {int(np.ceil(1 / alpha))} to estimate the {1 - alpha:g} quantile",
            n_shuffles,
        )
    freq = np.broadcast_to(np.asarray(frequency_hz, dtype=np.float64), (maps.shape[0],))
    if not np.all(np.isfinite(freq)):
        raise ParameterError(where, "frequency_hz", "finite frequencies", "NaN/Inf")
    times = (
        np.full(maps.shape[0], np.nan) if times_s is None else np.asarray(times_s, dtype=np.float64)
    )
    rng = np.random.default_rng(check_int(where, "seed", seed, minimum=0))
    n, nch = maps.shape
    out: list[WaveCycle] = []
    for s0 in range(0, n, chunk):
        m = maps[s0 : s0 + chunk]
        b = m.shape[0]
        perm = np.argsort(rng.random((b, n_shuffles, nch)), axis=-1)
        shuf = np.take_along_axis(np.broadcast_to(m[:, None, :], perm.shape), perm, -1)
        allm = np.concatenate([m[:, None, :], shuf], axis=1)  # [b, 1 + S, ch]
        sc = _scores(g.to_grid(allm), g)
        thr_rot = np.quantile(sc.rot[:, 1:], 1 - alpha, axis=1)
        thr_exp = np.quantile(sc.exp[:, 1:], 1 - alpha, axis=1)
        for i in range(b):
            rot, exp, pgd = float(sc.rot[i, 0]), float(sc.exp[i, 0]), float(sc.pgd[i, 0])
            rs, es = rot > thr_rot[i], exp > thr_exp[i]
            if pgd >= pgd_threshold:
                kind = "planar"
            elif rs and (not es or rot >= exp):
                kind = "rotating"
            elif es:
                kind = "expanding"
            else:
                kind = "other"
            f = freq[s0 + i]
            gm = sc.gmag[i, 0]
            sp = 2 * np.pi * abs(f) / gm[gm > 0]
            out.append(
                WaveCycle(
                    time_s=float(times[s0 + i]),
                    kind=kind,
                    rotating_score=rot,
                    expanding_score=exp,
                    rotating_threshold=float(thr_rot[i]),
                    expanding_threshold=float(thr_exp[i]),
                    rotation=int(sc.curl_sign[i, 0]) if kind == "rotating" else 0,
                    centre_m=(float(sc.centre[i, 0, 0]), float(sc.centre[i, 0, 1])),
                    source_m=(float(sc.source[i, 0, 0]), float(sc.source[i, 0, 1])),
                    speed_m_s=float(np.median(sp)) if sp.size else float("inf"),
                    direction_rad=float(sc.direction[i, 0]),
                    pgd=pgd,
                    frequency_hz=float(f),
                )
            )
    return out


def _intervals(
    spindles: Sequence[Spindle] | Sequence[tuple[float, float]], where: str
) -> list[tuple[float, float]]:
    out = []
    for s in spindles:
        if isinstance(s, Spindle):
            out.append((s.start_s, s.stop_s))
        else:
            try:
                a, b = (float(v) for v in s)
            except (TypeError, ValueError):
                raise ParameterError(
                    where, "spindles", "Spindle objects or (start_s, stop_s) pairs", s
                ) from None
            if not (np.isfinite(a) and np.isfinite(b)) or b <= a:
                raise ParameterError(where, "spindles", "intervals with start_s < stop_s", s)
            out.append((a, b))
    return out


def analyze_waves(
    data: np.ndarray,
    *,
    fs_hz: float,
    positions_m: np.ndarray,
    band_hz: tuple[float, float] = (9.0, 18.0),
    spindles: Sequence[Spindle] | Sequence[tuple[float, float]] | str | None = "detect",
    phase: str = "analytic",
    n_shuffles: int = 200,
    alpha: float = 0.01,
    pgd_threshold: float = 0.5,
    seed: int = 0,
    detect_kwargs: dict | None = None,
) -> WaveAnalysis:
    """Waves in a recording ``data`` [channels x time] sampled at ``fs_hz``.

    ``positions_m`` [channels, 2] must form a complete regular grid. ``spindles``: ``"detect"``
    (default: :func:`~spikesim.analysis.signal.detect_spindles` with ``detect_kwargs``), a list
    of spindles or (start_s, stop_s) intervals whose cycles are analysed, or ``None`` for every
    cycle of the record. ``phase``: ``"analytic"`` (Hilbert phase of the band-passed signal) or
    ``"generalized"`` (generalized phase of the band-passed signal).
    """
    where = "analyze_waves"
    x = as_channels(data, where=where)
    g = grid_of(positions_m, n_channels=x.shape[0], where=where)
    if phase not in ("analytic", "generalized"):
        raise ParameterError(where, "phase", "'analytic' or 'generalized'", phase)
    xb = bandpass(x, fs_hz=fs_hz, band_hz=band_hz)
    fs = float(fs_hz)
    if phase == "analytic":
        z = sps.hilbert(xb, axis=1)
        ph = np.angle(z)
    else:
        ph = generalized_phase(xb, fs_hz=fs)
        z = np.abs(sps.hilbert(xb, axis=1)) * np.exp(1j * ph)
    if np.all(xb == 0):
        raise ParameterError(
            where, "data", "a signal with power in band_hz", "all zero after band-pass"
        )
    if isinstance(spindles, str):
        if spindles != "detect":
            raise ParameterError(
                where, "spindles", "'detect', None or a list of intervals", spindles
            )
        found = detect_spindles(x, fs_hz=fs, **(detect_kwargs or {}))
        intervals = [(s.start_s, s.stop_s) for s in found]
        spl = list(found)
        windows = intervals
    elif spindles is None:
        intervals = [(0.0, x.shape[1] / fs)]
        spl = []
        windows = []
    else:
        intervals = _intervals(spindles, where)
        spl = [s for s in spindles if isinstance(s, Spindle)]
        windows = intervals
    ref = np.angle(z.sum(axis=0))
    up = np.nonzero((ref[:-1] < 0) & (ref[1:] >= 0) & (np.abs(ref[1:] - ref[:-1]) < np.pi))[0] + 1
    unwrapped = np.unwrap(ph, axis=1)
    inst_f = np.gradient(unwrapped, axis=1) * fs / (2 * np.pi)
    t = up / fs
    which = np.full(up.shape, -1)
    for k, (a, b) in enumerate(intervals):
        which[(t >= a) & (t < b)] = k
    sel = which >= 0
    up, which, t = up[sel], which[sel], t[sel]
    if up.size == 0:
        return WaveAnalysis(
            [], np.zeros((0, x.shape[0])), np.asarray(positions_m, float), spl, fs, windows
        )
    maps = ph[:, up].T
    freq = np.median(inst_f[:, up], axis=0)
    cycles = classify_phase_maps(
        maps,
        positions_m,
        frequency_hz=freq,
        n_shuffles=n_shuffles,
        alpha=alpha,
        pgd_threshold=pgd_threshold,
        seed=seed,
        times_s=t,
    )
    cycles = [dataclasses.replace(c, spindle=int(k)) for c, k in zip(cycles, which, strict=True)]
    del g
    return WaveAnalysis(cycles, maps, np.asarray(positions_m, dtype=np.float64), spl, fs, windows)
