"""Band-limited signal tools for [channels x time] arrays: zero-phase filters, analytic signal,
generalized phase and amplitude-envelope event detection (e.g. sleep spindles).

Every function takes the sampling rate as ``fs_hz`` and refuses input it cannot analyse
(empty, NaN, a band above Nyquist, too short for the filter) with a typed error that names the
argument.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal as sps
from scipy.interpolate import PchipInterpolator

from ..errors import ParameterError, ShapeError

__all__ = [
    "as_channels",
    "bandpass",
    "analytic_signal",
    "generalized_phase",
    "instantaneous_frequency_hz",
    "Spindle",
    "detect_spindles",
]


def as_channels(data: np.ndarray, *, where: str, name: str = "data") -> np.ndarray:
    """``data`` as a float64 [channels, time] array; 1-D input is one channel.

    Refuses empty arrays, more than two dimensions and NaN/Inf samples.
    """
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ShapeError(where, name, ("channels", "time"), x.shape)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ParameterError(where, name, "a non-empty [channels x time] array", f"shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ParameterError(
            where,
            name,
            "finite samples (no NaN or Inf)",
            f"{x[tuple(bad)]} at channel {bad[0]}, sample {bad[1]}",
            hint="Interpolate or cut out bad segments before the analysis.",
        )
    return x


def _check_fs_band(
    where: str, fs_hz: float, band_hz: tuple[float, float]
) -> tuple[float, float, float]:
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        raise ParameterError(where, "fs_hz", "a positive number", fs_hz) from None
    if not np.isfinite(fs) or fs <= 0:
        raise ParameterError(where, "fs_hz", "a positive number", fs_hz)
    try:
        lo, hi = (float(b) for b in band_hz)
    except (TypeError, ValueError):
        raise ParameterError(where, "band_hz", "a pair (low_hz, high_hz)", band_hz) from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or not 0 < lo < hi:
        raise ParameterError(where, "band_hz", "0 < low_hz < high_hz", band_hz)
    if hi >= fs / 2:
        raise ParameterError(
            where,
            "fs_hz",
            f"> 2 x the band's upper edge ({2 * hi:g} Hz, Nyquist)",
            fs,
            hint=f"Sample faster or lower band_hz (upper edge {hi:g} Hz).",
        )
    return fs, lo, hi


def bandpass(
    data: np.ndarray, *, fs_hz: float, band_hz: tuple[float, float] = (9.0, 18.0), order: int = 4
) -> np.ndarray:
    """Zero-phase Butterworth band-pass along time (``scipy.signal.sosfiltfilt``).

    ``order`` is the Butterworth design order N; the band-pass has order 2N (N = 4 gives the
    8th-order filter of Muller et al. 2016) and forward-backward filtering squares its gain.
    Returns [channels, time] (1-D input gives one channel).
    """
    where = "bandpass"
    x = as_channels(data, where=where)
    fs, lo, hi = _check_fs_band(where, fs_hz, band_hz)
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ParameterError(where, "order", "an integer >= 1", order)
    sos = sps.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    if x.shape[1] <= padlen:
        raise ParameterError(
            where, "data", f"more than {padlen} samples along time for this filter", x.shape[1]
        )
    return sps.sosfiltfilt(sos, x, axis=1)


def analytic_signal(data: np.ndarray) -> np.ndarray:
    """The analytic signal x + i H[x] of each channel (complex [channels, time])."""
    x = as_channels(data, where="analytic_signal")
    return sps.hilbert(x, axis=1)


def instantaneous_frequency_hz(phase: np.ndarray, *, fs_hz: float) -> np.ndarray:
    """Instantaneous frequency (Hz) from a phase array [channels, time] (same shape, centred)."""
    ph = np.unwrap(np.asarray(phase, dtype=np.float64), axis=-1)
    return np.gradient(ph, axis=-1) * float(fs_hz) / (2 * np.pi)


def generalized_phase(
    data: np.ndarray, *, fs_hz: float, band_hz: tuple[float, float] | None = None
) -> np.ndarray:
    """Generalized phase (Davis, Muller et al., Nature 2020) of each channel, in (-pi, pi].

    The analytic signal of the (optionally band-passed) signal has stretches of negative
    instantaneous frequency where its phase runs backwards (riding waves, noise). Each such
    stretch is extended by its own length and the unwrapped phase is re-interpolated across
    it (shape-preserving cubic), so the phase advances monotonically as a wide-band
    oscillation's should.
    """
    x = as_channels(data, where="generalized_phase")
    if band_hz is not None:
        x = bandpass(x, fs_hz=fs_hz, band_hz=band_hz)
    elif not isinstance(fs_hz, (int, float)) or not np.isfinite(fs_hz) or fs_hz <= 0:
        raise ParameterError("generalized_phase", "fs_hz", "a positive number", fs_hz)
    z = sps.hilbert(x - x.mean(axis=1, keepdims=True), axis=1)
    ph = np.unwrap(np.angle(z), axis=1)
    d = np.diff(ph, axis=1)
    out = np.empty_like(ph)
    n = ph.shape[1]
    t = np.arange(n)
    for c in range(ph.shape[0]):
        neg = np.zeros(n, dtype=bool)
        neg[1:] = d[c] < 0
        if neg.any():
            # extend each negative-frequency run by its own length (forward in time)
            edges = np.diff(np.concatenate([[0], neg.view(np.int8), [0]]))
            starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
            bad = neg.copy()
            for s, e in zip(starts, stops, strict=True):
                bad[s : min(n, e + (e - s))] = True
            good = ~bad
            if good.sum() >= 2:
                out[c] = PchipInterpolator(t[good], ph[c, good], extrapolate=True)(t)
                continue
        out[c] = ph[c]
    return np.angle(np.exp(1j * out))


@dataclasses.dataclass(frozen=True)
class Spindle:
    """One detected spindle: start and stop (s), peak envelope and mean frequency (Hz)."""

    start_s: float
    stop_s: float
    peak_amplitude: float
    frequency_hz: float

    @property
    def duration_s(self) -> float:
        return self.stop_s - self.start_s


def detect_spindles(
    data: np.ndarray,
    *,
    fs_hz: float,
    band_hz: tuple[float, float] = (11.0, 15.0),
    min_duration_s: float = 0.5,
    max_duration_s: float = 3.0,
    high_factor: float = 3.0,
    low_factor: float = 1.5,
    smooth_s: float = 0.1,
    baseline: float | None = None,
) -> list[Spindle]:
    """Spindles from the band's amplitude envelope, with amplitude and duration thresholds.

    The signal is band-passed (zero phase) to ``band_hz``; the envelope is the magnitude of the
    analytic signal, averaged over channels and smoothed with a ``smooth_s`` moving average.
    An event is a stretch where the envelope exceeds ``low_factor x baseline`` that reaches
    ``high_factor x baseline`` and lasts ``min_duration_s`` to ``max_duration_s``. The
    ``baseline`` is the envelope's median unless given (give it when spindles fill most of the
    record). Frequency is the mean instantaneous frequency of the channel-averaged band signal.
    """
    where = "detect_spindles"
    x = as_channels(data, where=where)
    fs, lo, hi = _check_fs_band(where, fs_hz, band_hz)
    for name, v in (
        ("min_duration_s", min_duration_s),
        ("max_duration_s", max_duration_s),
        ("high_factor", high_factor),
        ("low_factor", low_factor),
        ("smooth_s", smooth_s),
    ):
        if not np.isfinite(v) or v <= 0:
            raise ParameterError(where, name, "> 0", v)
    if max_duration_s <= min_duration_s:
        raise ParameterError(
            where, "max_duration_s", f"> min_duration_s ({min_duration_s})", max_duration_s
        )
    if high_factor < low_factor:
        raise ParameterError(where, "high_factor", f">= low_factor ({low_factor})", high_factor)
    if x.shape[1] < min_duration_s * fs:
        raise ParameterError(
            where,
            "data",
            f"at least min_duration_s x fs_hz = {int(min_duration_s * fs)} samples",
            x.shape[1],
        )
    xb = bandpass(x, fs_hz=fs, band_hz=(lo, hi))
    z = sps.hilbert(xb, axis=1)
    env = np.abs(z).mean(axis=0)
    w = max(1, int(round(smooth_s * fs)))
    env = np.convolve(env, np.ones(w) / w, mode="same")
    base = float(np.median(env)) if baseline is None else float(baseline)
    if not np.isfinite(base) or base <= 0:
        raise ParameterError(
            where, "baseline", "a positive envelope baseline (is the band signal all zero?)", base
        )
    above = env > low_factor * base
    edges = np.diff(np.concatenate([[0], above.view(np.int8), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    ref_phase = np.angle(z.mean(axis=0))
    freq = instantaneous_frequency_hz(ref_phase, fs_hz=fs)
    out = []
    for s, e in zip(starts, stops, strict=True):
        dur = (e - s) / fs
        peak = float(env[s:e].max())
        if not (min_duration_s <= dur <= max_duration_s) or peak < high_factor * base:
            continue
        out.append(Spindle(s / fs, e / fs, peak, float(np.median(freq[s:e]))))
    return out
