"""Place cells: Gaussian fields with theta (~7 Hz) phase precession; rate and spiking versions.

Rate: ``r(x, t) = baseline + peak * G(x) * M(theta(t), x)`` where ``G`` is a Gaussian of SD
``sigma_m`` around the field centre and ``M = exp(kappa (cos(theta - phi(x)) - 1))`` (mean
1 after normalisation) sets the theta phase of firing. With phase precession the preferred
phase ``phi`` falls linearly from 2 pi at field entry to 0 at field exit (+- 2 sigma, along
the running direction), so within a theta cycle cells fire in the order of their fields: the
theta sequences that let STDP with a ~20 ms window learn the traversal. Off the track
(resting) and without running, cells fire at ``baseline_hz`` only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import i0e

from spikesim._validate import check_finite, check_int, check_nonnegative, check_positive
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_fits, check_seed, finite_array
from .behavior import Trajectory

__all__ = ["PlaceCells"]


@dataclasses.dataclass(frozen=True)
class PlaceCells:
    """Place-cell population on a track (``centres_m`` [n]) or arena (``centres_m`` [n, 2])."""

    centres_m: np.ndarray
    extent_m: tuple[float, ...]
    sigma_m: float = 0.07
    peak_hz: float = 20.0
    baseline_hz: float = 0.1
    theta_hz: float = 7.0
    kappa: float = 1.5  # theta locking (0: none)
    precession: bool = True

    def __post_init__(self) -> None:
        where = "PlaceCells"
        c = finite_array(where, "centres_m", self.centres_m)
        ext_arr = finite_array(where, "extent_m", self.extent_m)
        ext = tuple(float(e) for e in np.atleast_1d(ext_arr))
        object.__setattr__(self, "centres_m", c)
        object.__setattr__(self, "extent_m", ext)
        if not isinstance(self.precession, (bool, np.bool_)):
            raise ParameterError(where, "precession", "True or False", self.precession)
        if ext_arr.ndim > 1 or len(ext) not in (1, 2) or any(e <= 0 for e in ext):
            raise ParameterError(
                where, "extent_m", "a track length or (width, height) > 0", self.extent_m
            )
        expected = (c.shape[0],) if len(ext) == 1 else (c.shape[0], 2)
        if c.ndim not in (1, 2) or c.shape != expected or c.shape[0] < 1:
            raise ShapeError(where, "centres_m", expected if c.ndim else ("n",), c.shape)
        c2 = c.reshape(c.shape[0], -1)
        if np.any(c2 < 0) or np.any(c2 > np.asarray(ext)):
            bad = int(np.flatnonzero(np.any((c2 < 0) | (c2 > np.asarray(ext)), axis=1))[0])
            raise ParameterError(
                where,
                "centres_m",
                f"field centres inside the track/arena [0, {list(ext)}] m",
                f"centre {c[bad]} of cell {bad}",
            )
        check_positive(where, "sigma_m", self.sigma_m)
        check_positive(where, "peak_hz", self.peak_hz)
        check_nonnegative(where, "baseline_hz", self.baseline_hz)
        check_positive(where, "theta_hz", self.theta_hz)
        check_nonnegative(where, "kappa", self.kappa)

    @classmethod
    def tiling(cls, n: int, *, length_m: float, seed: int | None = None, **kw) -> PlaceCells:
        """``n`` cells with centres evenly spaced on a track (or uniform random with ``seed``)."""
        n = check_int("PlaceCells.tiling", "n", n, minimum=1)
        length_m = check_positive("PlaceCells.tiling", "length_m", length_m)
        check_fits("PlaceCells.tiling", "n", 16.0 * n, f"{n} cells")
        if seed is None:
            c = (np.arange(n) + 0.5) * length_m / n
        else:
            rng = np.random.default_rng(check_seed("PlaceCells.tiling", seed))
            c = np.sort(rng.uniform(0, length_m, n))
        return cls(c, (length_m,), **kw)

    @property
    def n(self) -> int:
        return int(self.centres_m.shape[0])

    def field(self, positions_m: np.ndarray) -> np.ndarray:
        """Gaussian field values [T, n] in [0, 1]."""
        p = finite_array("PlaceCells.field", "positions_m", positions_m)
        track = len(self.extent_m) == 1
        if (track and p.ndim > 1) or (not track and (p.ndim != 2 or p.shape[1] != 2)):
            want = ("T",) if track else ("T", 2)
            raise ShapeError("PlaceCells.field", "positions_m", want, p.shape)
        check_fits(
            "PlaceCells.field", "positions_m", 24.0 * p.size * self.n, f"{p.size} x {self.n}"
        )
        if len(self.extent_m) == 1:
            d2 = (p.reshape(-1, 1) - self.centres_m[None, :]) ** 2
        else:
            d2 = ((p.reshape(-1, 1, 2) - self.centres_m[None, :, :]) ** 2).sum(axis=2)
        return np.exp(-0.5 * d2 / self.sigma_m**2)

    def rates_hz(self, traj: Trajectory, *, theta: bool = True) -> np.ndarray:
        """Firing rates [T, n] along a trajectory (field x theta modulation while running)."""
        if tuple(traj.extent_m) != tuple(self.extent_m):
            raise ParameterError(
                "PlaceCells.rates_hz",
                "traj.extent_m",
                f"{self.extent_m} (the cells' environment)",
                traj.extent_m,
            )
        g = self.field(traj.positions_m) * traj.running[:, None]
        if theta and self.kappa > 0:
            th = 2 * np.pi * self.theta_hz * traj.times_s[:, None]
            if self.precession and len(self.extent_m) == 1:
                u = (
                    traj.direction[:, None]
                    * (traj.positions_m[:, None] - self.centres_m[None, :])
                    / (2 * self.sigma_m)
                )
                phi = np.pi * (1.0 - np.clip(u, -1.0, 1.0))
            else:
                phi = np.zeros((1, self.n))
            g = g * np.exp(self.kappa * (np.cos(th - phi) - 1.0)) / i0e(self.kappa)
        return self.baseline_hz + self.peak_hz * g

    def poisson_spikes(self, traj: Trajectory, *, seed: int, theta: bool = True) -> np.ndarray:
        """Spike raster [T, n] (bool) by Bernoulli draws with p = rate * dt (seeded)."""
        rng = np.random.default_rng(check_seed("PlaceCells.poisson_spikes", seed))
        r = self.rates_hz(traj, theta=theta)
        p = np.clip(r * traj.dt_s, 0, 1)
        return rng.random(p.shape) < p

    @staticmethod
    def raster_to_times(raster: np.ndarray, dt_s: float, t0_s: float = 0.0) -> list[np.ndarray]:
        """A raster [T, n] as a list of spike-time arrays (spike at the start of its step)."""
        where = "PlaceCells.raster_to_times"
        dt_s = check_positive(where, "dt_s", dt_s)
        t0_s = check_finite(where, "t0_s", t0_s)
        r = np.asarray(raster, bool)
        if r.ndim != 2:
            raise ShapeError(where, "raster", ("T", "n"), r.shape)
        return [t0_s + dt_s * np.flatnonzero(r[:, i]) for i in range(r.shape[1])]
