"""Behaviour: trajectories on a linear track and in a 2-D arena, with running and resting.

A :class:`Trajectory` holds the sampled times, positions (m), speed (m/s) and a running mask;
every generator is keyword-only and takes an explicit ``seed``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spikesim._validate import check_finite, check_int, check_nonnegative, check_positive
from spikesim.errors import ParameterError

from .._checks import check_fits, check_seed

__all__ = ["Trajectory", "linear_track_laps", "arena_walk"]


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """Sampled behaviour: ``positions_m`` [T] (track) or [T, 2] (arena) at ``times_s`` [T]."""

    times_s: np.ndarray
    positions_m: np.ndarray
    speed_m_s: np.ndarray
    running: np.ndarray  # bool [T]
    direction: np.ndarray  # +1 / -1 / 0 along the track (zeros in an arena)
    extent_m: tuple[float, ...]

    @property
    def dt_s(self) -> float:
        return float(self.times_s[1] - self.times_s[0])

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1] + self.dt_s)

    def rest_periods_s(self) -> np.ndarray:
        """[k, 2] start/stop times of the resting periods."""
        d = np.diff(np.concatenate([[0], (~self.running).astype(np.int8), [0]]))
        a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        return (
            np.stack([self.times_s[a], self.times_s[b - 1] + self.dt_s], axis=1)
            if a.size
            else np.zeros((0, 2))
        )


def linear_track_laps(
    *,
    length_m: float,
    speed_m_s: float,
    n_laps: int,
    rest_s: float,
    dt_s: float,
    seed: int,
    speed_jitter: float = 0.1,
    back_and_forth: bool = False,
) -> Trajectory:
    """Laps along a linear track [0, length_m] separated by rests of ``rest_s`` at the ends.

    Each lap runs at ``speed_m_s`` times a per-lap factor drawn from 1 +- ``speed_jitter``
    (uniform). ``back_and_forth``: alternate directions (else every lap runs 0 -> L and the
    animal is returned to the start during the rest, as on a one-way circular run). The
    trajectory starts with a rest.
    """
    where = "linear_track_laps"
    length_m = check_positive(where, "length_m", length_m)
    speed_m_s = check_positive(where, "speed_m_s", speed_m_s)
    n_laps = check_int(where, "n_laps", n_laps, minimum=1)
    rest_s = check_nonnegative(where, "rest_s", rest_s)
    dt_s = check_positive(where, "dt_s", dt_s)
    if not 0 <= check_finite(where, "speed_jitter", speed_jitter) < 1:
        raise ParameterError(where, "speed_jitter", "in [0, 1)", speed_jitter)
    rng = np.random.default_rng(check_seed(where, seed))
    pos, run, dirs = [], [], []
    n_rest = int(round(rest_s / dt_s))
    n_lap = length_m / (speed_m_s * (1 - speed_jitter)) / dt_s + 2
    check_fits(
        where,
        "dt_s",
        40.0 * n_laps * (n_rest + n_lap),
        f"about {n_laps * (n_rest + n_lap):.3g} samples",
    )
    here = 0.0
    for lap in range(n_laps):
        d = -1 if (back_and_forth and lap % 2 == 1) else 1
        start = 0.0 if d == 1 else length_m
        pos.append(np.full(n_rest, start if back_and_forth else 0.0 if lap == 0 else here))
        run.append(np.zeros(n_rest, bool))
        dirs.append(np.zeros(n_rest, np.int8))
        v = speed_m_s * (1 + rng.uniform(-speed_jitter, speed_jitter))
        n = max(2, int(round(length_m / v / dt_s)))
        x = np.linspace(0, length_m, n) if d == 1 else np.linspace(length_m, 0, n)
        pos.append(x)
        run.append(np.ones(n, bool))
        dirs.append(np.full(n, d, np.int8))
        here = x[-1]
    pos.append(np.full(n_rest, here))
    run.append(np.zeros(n_rest, bool))
    dirs.append(np.zeros(n_rest, np.int8))
    p = np.concatenate(pos)
    t = dt_s * np.arange(p.size)
    speed = np.abs(np.gradient(p, dt_s))
    r = np.concatenate(run)
    speed[~r] = 0.0  # the carry back to the start is not running
    return Trajectory(t, p, speed, r, np.concatenate(dirs), (length_m,))


def arena_walk(
    *,
    width_m: float,
    height_m: float,
    duration_s: float,
    speed_m_s: float,
    dt_s: float,
    seed: int,
    rest_fraction: float = 0.2,
    mean_bout_s: float = 4.0,
    turn_sd_rad_s: float = 2.0,
) -> Trajectory:
    """A smooth random walk in a ``width_m`` x ``height_m`` box, reflecting at the walls.

    Alternates running and resting bouts (exponential durations with mean ``mean_bout_s``;
    rests take ``rest_fraction`` of the time on average); the heading diffuses with SD
    ``turn_sd_rad_s`` per sqrt(s).
    """
    where = "arena_walk"
    w = check_positive(where, "width_m", width_m)
    h = check_positive(where, "height_m", height_m)
    duration_s = check_positive(where, "duration_s", duration_s)
    speed_m_s = check_positive(where, "speed_m_s", speed_m_s)
    dt_s = check_positive(where, "dt_s", dt_s)
    if not 0 <= check_finite(where, "rest_fraction", rest_fraction) < 1:
        raise ParameterError(where, "rest_fraction", "in [0, 1)", rest_fraction)
    mean_bout_s = check_positive(where, "mean_bout_s", mean_bout_s)
    turn_sd_rad_s = check_nonnegative(where, "turn_sd_rad_s", turn_sd_rad_s)
    rng = np.random.default_rng(check_seed(where, seed))
    n = int(round(duration_s / dt_s))
    if n < 2:
        raise ParameterError(where, "duration_s", f">= 2 steps of dt_s = {dt_s}", duration_s)
    check_fits(where, "duration_s", 64.0 * n, f"{n} samples")
    running = np.zeros(n, bool)
    k, state = 0, True
    while k < n:
        mean = mean_bout_s * ((1 - rest_fraction) if state else rest_fraction) / 0.5
        m = max(1, int(rng.exponential(mean) / dt_s))
        running[k : k + m] = state
        k += m
        state = not state
    pos = np.zeros((n, 2))
    pos[0] = [w / 2, h / 2]
    heading = rng.uniform(0, 2 * np.pi)
    turns = rng.normal(0, turn_sd_rad_s * np.sqrt(dt_s), n)
    for i in range(1, n):
        if running[i]:
            heading += turns[i]
            p = pos[i - 1] + speed_m_s * dt_s * np.array([np.cos(heading), np.sin(heading)])
            if not 0 <= p[0] <= w:
                heading = np.pi - heading
                p[0] = np.clip(p[0], 0, w)
            if not 0 <= p[1] <= h:
                heading = -heading
                p[1] = np.clip(p[1], 0, h)
            pos[i] = p
        else:
            pos[i] = pos[i - 1]
    t = dt_s * np.arange(n)
    speed = np.linalg.norm(np.gradient(pos, dt_s, axis=0), axis=1)
    return Trajectory(t, pos, speed, running, np.zeros(n, np.int8), (w, h))
