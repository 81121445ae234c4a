"""Dense representations of event streams for networks.

Every function takes events as a numpy structured array (:data:`~spikesim.sensors.events.EVENT_DTYPE`
or any array with integer fields t, x, y, p) or a :class:`~spikesim.sensors.events.Recording`,
and never modifies them. ``sensor_size`` is ``(width, height)`` (tonic's ``(W, H, P)`` is
accepted); it defaults to the recording's. Layouts follow tonic: frames are ``[T, P, H, W]``
with channel 0 = OFF and channel 1 = ON.

* :func:`count_frame` / :func:`polarity_frame` / :func:`to_frames`: event counts per pixel,
  whole stream or sliced by time window, event count or number of time bins.
* :func:`voxel_grid`: signed event volume with bilinear interpolation in time (Zhu et al. 2019).
* :func:`time_surface` / :func:`time_surfaces`: exponentially decaying time of the last event
  per pixel and polarity (Lagorce et al. 2016, computed over the whole sensor).
* :func:`spike_tensor` / :func:`batch_spike_tensor`: spikes ``[T, (B,) P, H, W]`` at a chosen
  ``dt_us`` on any torch device, compact (bool/uint8) or float; :func:`simulator_inputs` turns a
  batch of recordings into the ``inputs`` dict of a :class:`spikesim.Simulator` spike-tensor
  source (flattened to ``[T, B, P*H*W]``, index ``(p*H + y)*W + x``).

Returned numpy arrays are new; with ``device=...`` the frame-like representations return torch
tensors on that device instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from spikesim.errors import ParameterError

from ._checks import (
    MAX_OUTPUT_BYTES,
    check_alloc,
    check_bool,
    check_device,
    check_float,
    check_inside,
    check_int,
    check_time_origin,
    need_sensor_size,
    unpack,
)
from .events import Recording

__all__ = [
    "MAX_OUTPUT_BYTES",
    "batch_spike_tensor",
    "count_frame",
    "polarity_frame",
    "simulator_inputs",
    "spike_tensor",
    "time_surface",
    "time_surfaces",
    "to_frames",
    "voxel_grid",
]


def _prepare(where: str, events: Any, sensor_size: Any) -> tuple[np.ndarray, int, int]:
    ev, size = unpack(where, events, sensor_size)
    w, h = need_sensor_size(where, size)
    check_inside(where, ev, (w, h))
    return ev, w, h


# Dense outputs over MAX_OUTPUT_BYTES (or half the host's memory) are refused with a typed
# error naming the option that sets their size, before anything of that size is allocated.


def _to_device(arr: np.ndarray, device: Any) -> Any:
    if device is None:
        return arr
    return torch.from_numpy(np.ascontiguousarray(arr)).to(torch.device(device))


# ----------------------------------------------------------------------------- frames
def count_frame(
    events: Any, *, sensor_size: Any = None, split_polarity: bool = False, device: Any = None
) -> Any:
    """Number of events per pixel: ``[H, W]``, or ``[2, H, W]`` (OFF, ON) with ``split_polarity``."""
    where = "count_frame"
    ev, w, h = _prepare(where, events, sensor_size)
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    device = check_device(where, device)
    pix = ev["y"].astype(np.int64) * w + ev["x"]
    if split_polarity:
        pix = pix + ev["p"].astype(np.int64) * (w * h)
        shape: tuple[int, ...] = (2, h, w)
    else:
        shape = (h, w)
    check_alloc(where, "sensor_size", (w, h), shape, 8)
    out = np.bincount(pix, minlength=int(np.prod(shape))).reshape(shape)
    return _to_device(out.astype(np.int64, copy=False), device)


def polarity_frame(
    events: Any, *, sensor_size: Any = None, mode: str = "sum", device: Any = None
) -> Any:
    """Signed polarity image ``[H, W]`` (int64).

    ``mode="sum"``: ON count minus OFF count per pixel. ``mode="last"``: +1 / -1 for the
    polarity of the last event (in stream order) at the pixel, 0 where none.
    """
    where = "polarity_frame"
    ev, w, h = _prepare(where, events, sensor_size)
    if not isinstance(mode, str) or mode not in ("sum", "last"):
        raise ParameterError(where, "mode", "'sum' or 'last'", mode)
    device = check_device(where, device)
    check_alloc(where, "sensor_size", (w, h), (h, w), 16)
    pix = ev["y"].astype(np.int64) * w + ev["x"]
    sign = 2 * ev["p"].astype(np.int64) - 1
    out = np.zeros(w * h, dtype=np.int64)
    if mode == "sum":
        out += np.bincount(pix, weights=sign, minlength=w * h).astype(np.int64)
    elif ev.size:
        # the last occurrence of each pixel: unique on the reversed stream
        rev_pix = pix[::-1]
        u, first = np.unique(rev_pix, return_index=True)
        out[u] = sign[::-1][first]
    return _to_device(out.reshape(h, w), device)


def _time_slices(
    where: str,
    t: np.ndarray,
    *,
    time_window_us: Any,
    event_count: Any,
    n_time_bins: Any,
    t_start_us: Any,
    include_incomplete: Any,
    frame: tuple[int, ...],
    itemsize: int,
    window_field: str = "time_window_us",
) -> tuple[np.ndarray, int]:
    """Frame index of every event (-1: in no frame) and the number of frames.

    The output, that many frames of shape ``frame`` and ``itemsize``, is checked to fit
    (:func:`check_alloc`) before any per-frame array is made; ``window_field`` names the
    time-window option in messages."""
    include_incomplete = check_bool(where, "include_incomplete", include_incomplete)
    if t_start_us is not None:
        t_start_us = check_time_origin(where, "t_start_us", t_start_us)
    given = [v is not None for v in (time_window_us, event_count, n_time_bins)]
    if sum(given) != 1:
        raise ParameterError(
            where,
            "time_window_us / event_count / n_time_bins",
            "exactly one of them",
            {
                window_field: time_window_us,
                "event_count": event_count,
                "n_time_bins": n_time_bins,
            },
        )
    n = t.shape[0]
    if event_count is not None:
        event_count = check_int(where, "event_count", event_count, minimum=0, strict=True)
        n_frames = -(-n // event_count) if include_incomplete else n // event_count
        n_frames = max(n_frames, 1)
        check_alloc(where, "event_count", event_count, (n_frames, *frame), itemsize)
        idx = np.arange(n, dtype=np.int64) // event_count
        idx[idx >= n_frames] = -1
        return idx, n_frames
    if time_window_us is not None:
        w = check_float(where, window_field, time_window_us, minimum=0, strict=True)
    else:
        n_frames = check_int(where, "n_time_bins", n_time_bins, minimum=0, strict=True)
        check_alloc(where, "n_time_bins", n_time_bins, (n_frames, *frame), itemsize)
    if n == 0:
        return np.zeros(0, dtype=np.int64), (n_frames if n_time_bins is not None else 1)
    t0 = int(t.min()) if t_start_us is None else t_start_us
    rel = t.astype(np.int64) - t0
    span = int(t.max()) - t0
    if time_window_us is not None:
        # in floats first: a tiny window would overflow an integer count
        if include_incomplete:
            count = float(np.floor(span / w)) + 1.0  # every event, also one on the last edge
        else:
            count = float(np.floor((span - w) / w)) + 1.0  # np.floor: inf stays inf
        count = max(count, 1.0)
        check_alloc(where, window_field, time_window_us, (count, *frame), itemsize)
        n_frames = int(count)
        idx_f = np.floor(rel / w)
        idx_f[(rel < 0) | (idx_f >= n_frames)] = -1
        return idx_f.astype(np.int64), n_frames
    if span <= 0:
        idx = np.zeros(n, dtype=np.int64)
    else:
        idx = np.minimum((rel * n_frames) // span, n_frames - 1)
    idx[(rel < 0) | (idx >= n_frames)] = -1
    return idx, n_frames


def to_frames(
    events: Any,
    *,
    sensor_size: Any = None,
    time_window_us: float | None = None,
    event_count: int | None = None,
    n_time_bins: int | None = None,
    t_start_us: int | None = None,
    include_incomplete: bool = False,
    split_polarity: bool = True,
    device: Any = None,
) -> Any:
    """Event-count frames ``[T, P, H, W]`` (int32; P = 2 with ``split_polarity``, else 1).

    Give exactly one of ``time_window_us`` (frames of that length from ``t_start_us``, default the
    first event; like tonic the last, incomplete window is left out; ``include_incomplete``
    adds windows until the last event is in one), ``event_count`` (frames of that many events in stream order) or
    ``n_time_bins`` (the span first..last event cut into that many equal windows, the last event
    included). Equal to ``tonic.functional.to_frame_numpy`` for time-sorted events.
    """
    where = "to_frames"
    ev, w, h = _prepare(where, events, sensor_size)
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    device = check_device(where, device)
    n_pol = 2 if split_polarity else 1
    idx, n_frames = _time_slices(
        where,
        ev["t"],
        time_window_us=time_window_us,
        event_count=event_count,
        n_time_bins=n_time_bins,
        t_start_us=t_start_us,
        include_incomplete=include_incomplete,
        frame=(n_pol, h, w),
        itemsize=4,
    )
    keep = idx >= 0
    flat = idx[keep] * n_pol
    if split_polarity:
        flat = flat + ev["p"][keep]
    flat = (flat * h + ev["y"][keep]) * w + ev["x"][keep]
    out = np.zeros(n_frames * n_pol * h * w, dtype=np.int32)
    u, c = _unique_counts(flat)
    out[u] = c
    return _to_device(out.reshape(n_frames, n_pol, h, w), device)


# ----------------------------------------------------------------------------- voxel grid
def voxel_grid(
    events: Any, *, sensor_size: Any = None, n_time_bins: int, device: Any = None
) -> Any:
    """Event volume ``[n_time_bins, H, W]`` (float32), bilinear in time (Zhu et al. 2019).

    Timestamps are normalised to ``tn = (n_time_bins - 1) * (t - t_first) / (t_last - t_first)``
    and each event adds its polarity (+1 ON, -1 OFF) times ``1 - (tn - floor(tn))`` to bin
    ``floor(tn)`` and times ``tn - floor(tn)`` to the next bin, so every event is counted with
    total weight 1. (tonic's ``to_voxel_grid`` normalises by ``n_time_bins`` instead, which
    drops the last event, and writes -1 into its input's OFF polarities; this function does
    neither.) A stream with one distinct timestamp goes entirely into bin 0.
    """
    where = "voxel_grid"
    ev, w, h = _prepare(where, events, sensor_size)
    n_bins = check_int(where, "n_time_bins", n_time_bins, minimum=0, strict=True)
    device = check_device(where, device)
    check_alloc(where, "n_time_bins", n_bins, (n_bins, h, w), 12)
    out = np.zeros(n_bins * h * w, dtype=np.float64)
    if ev.size:
        t = ev["t"].astype(np.float64)
        t0, t1 = t.min(), t.max()
        tn = (n_bins - 1) * (t - t0) / (t1 - t0) if t1 > t0 else np.zeros_like(t)
        lo = np.floor(tn).astype(np.int64)
        frac = tn - lo
        pol = 2.0 * ev["p"].astype(np.float64) - 1.0
        pix = ev["y"].astype(np.int64) * w + ev["x"]
        out += np.bincount(lo * (h * w) + pix, weights=pol * (1.0 - frac), minlength=out.size)
        hi = lo + 1
        ok = hi < n_bins
        out += np.bincount(hi[ok] * (h * w) + pix[ok], weights=(pol * frac)[ok], minlength=out.size)
    return _to_device(out.reshape(n_bins, h, w).astype(np.float32), device)


# ----------------------------------------------------------------------------- time surfaces
def _last_times(ev: np.ndarray, w: int, h: int, n_pol: int) -> np.ndarray:
    """Latest timestamp per (polarity, y, x) as float64, -inf where none."""
    last = np.full(n_pol * h * w, -np.inf)
    if ev.size:
        pix = ev["y"].astype(np.int64) * w + ev["x"]
        if n_pol == 2:
            pix = pix + ev["p"].astype(np.int64) * (h * w)
        np.maximum.at(last, pix, ev["t"].astype(np.float64))
    return last


def time_surface(
    events: Any,
    *,
    sensor_size: Any = None,
    tau_s: float,
    t_us: int | None = None,
    split_polarity: bool = True,
    device: Any = None,
) -> Any:
    """Time surface at time ``t_us``: ``exp(-(t_us - t_last) / tau_s)`` per pixel, ``[P, H, W]``.

    ``t_last`` is the latest event at or before ``t_us`` (default: the last event's time) at the
    pixel, per polarity with ``split_polarity`` (P = 2: OFF, ON); pixels without one are 0.
    """
    where = "time_surface"
    ev, w, h = _prepare(where, events, sensor_size)
    tau_us = check_float(where, "tau_s", tau_s, minimum=0, strict=True) * 1e6
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    device = check_device(where, device)
    check_alloc(where, "sensor_size", (w, h), (2 if split_polarity else 1, h, w), 8)
    if t_us is None:
        t_ref = float(ev["t"].max()) if ev.size else 0.0
    else:
        t_ref = float(check_int(where, "t_us", t_us))
        ev = ev[ev["t"] <= t_us]
    n_pol = 2 if split_polarity else 1
    last = _last_times(ev, w, h, n_pol)
    surf = np.exp((last - t_ref) / tau_us)
    return _to_device(surf.reshape(n_pol, h, w).astype(np.float32), device)


def time_surfaces(
    events: Any,
    *,
    sensor_size: Any = None,
    tau_s: float,
    dt_us: float,
    t_start_us: int | None = None,
    include_incomplete: bool = False,
    split_polarity: bool = True,
    device: Any = None,
) -> Any:
    """Time surfaces sampled at the end of consecutive windows of ``dt_us``: ``[T, P, H, W]``.

    Window k covers ``[t_start + k*dt_us, t_start + (k+1)*dt_us)`` and its surface is evaluated at
    ``t_start + (k+1)*dt_us`` with all events up to the window's end. Windows are counted like
    :func:`to_frames` with ``time_window_us``. Equal to ``tonic.functional.to_timesurface_numpy``
    (with ``tau`` in µs = ``tau_s * 1e6``) for time-sorted events.
    """
    where = "time_surfaces"
    ev, w, h = _prepare(where, events, sensor_size)
    tau_us = check_float(where, "tau_s", tau_s, minimum=0, strict=True) * 1e6
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    device = check_device(where, device)
    n_pol = 2 if split_polarity else 1
    idx, n_frames = _time_slices(
        where,
        ev["t"],
        time_window_us=dt_us,
        event_count=None,
        n_time_bins=None,
        t_start_us=t_start_us,
        include_incomplete=include_incomplete,
        frame=(n_pol, h, w),
        itemsize=4,
        window_field="dt_us",
    )
    dt = float(dt_us)
    t0 = (int(ev["t"].min()) if ev.size else 0) if t_start_us is None else int(t_start_us)
    n_px = n_pol * h * w
    last = np.full(n_px, -np.inf)
    out = np.empty((n_frames, n_px), dtype=np.float32)
    inside = idx >= 0
    if inside.any():
        sel = ev[inside]
        pix = sel["y"].astype(np.int64) * w + sel["x"]
        if n_pol == 2:
            pix = pix + sel["p"].astype(np.int64) * (h * w)
        frame_of, t_sel = idx[inside], sel["t"].astype(np.float64)
    else:
        pix = frame_of = np.zeros(0, dtype=np.int64)
        t_sel = np.zeros(0)
    # frames in blocks of about 2**20 values: per block, the latest event per pixel in each
    # frame, carried forward by a running maximum (no Python loop over frames)
    block = max(1, (1 << 20) // n_px)
    order = np.argsort(frame_of, kind="stable")
    frame_of, pix, t_sel = frame_of[order], pix[order], t_sel[order]
    bounds = np.searchsorted(frame_of, np.arange(0, n_frames + block, block))
    for b, k0 in enumerate(range(0, n_frames, block)):
        k1 = min(k0 + block, n_frames)
        lo, hi = bounds[b], bounds[b + 1]
        buf = np.full((k1 - k0, n_px), -np.inf)
        np.maximum.at(buf, (frame_of[lo:hi] - k0, pix[lo:hi]), t_sel[lo:hi])
        buf[0] = np.maximum(buf[0], last)
        np.maximum.accumulate(buf, axis=0, out=buf)
        last = buf[-1].copy()
        ends = t0 + (np.arange(k0, k1, dtype=np.float64) + 1) * dt
        out[k0:k1] = np.exp((buf - ends[:, None]) / tau_us)
    return _to_device(out.reshape(n_frames, n_pol, h, w), device)


# ----------------------------------------------------------------------------- spike tensors
def _check_torch_dtype(where: str, dtype: Any, mode: str) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or dtype.is_complex:
        raise ParameterError(
            where,
            "dtype",
            "a real torch dtype (torch.bool, torch.uint8, torch.float32, ...)",
            dtype,
        )
    if mode not in ("binary", "count"):
        raise ParameterError(where, "mode", "'binary' or 'count'", mode)
    if mode == "count" and dtype == torch.bool:
        raise ParameterError(where, "dtype", "a numeric dtype for mode='count'", dtype)
    return dtype


def _spike_index(
    where: str,
    ev: np.ndarray,
    w: int,
    h: int,
    *,
    dt_us: float,
    n_steps: int | None,
    t_start_us: int | None,
    split_polarity: bool,
    alloc: tuple[int, int],
) -> tuple[np.ndarray, int]:
    """Flat index ``((step*P + p)*H + y)*W + x`` of every event inside the tensor, and T.

    ``alloc`` = (batch size, itemsize): a tensor of T steps for the whole batch must fit
    (:func:`check_alloc`), checked before any per-step value is cast to an integer."""
    if ev.size == 0:
        t0 = 0
        last_step = -1.0
        rel = np.zeros(0, dtype=np.int64)
    else:
        t0 = int(ev["t"].min()) if t_start_us is None else int(t_start_us)
        rel = ev["t"].astype(np.int64) - t0
        last_step = float(np.floor(float(rel.max()) / dt_us))  # a float: dt_us may be tiny
    n_pol = 2 if split_polarity else 1
    if n_steps is None:
        T_f = max(last_step + 1.0, 1.0)
        check_alloc(where, "dt_us", dt_us, (T_f, alloc[0], n_pol, h, w), alloc[1])
        T = int(T_f)
    else:
        T = n_steps
    step_f = np.floor(rel / dt_us)
    keep = (rel >= 0) & (step_f < T)
    flat = step_f[keep].astype(np.int64) * n_pol
    if split_polarity:
        flat = flat + ev["p"][keep]
    flat = (flat * h + ev["y"][keep]) * w + ev["x"][keep]
    return flat, T


def _unique_counts(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``flat`` and how often each occurs (sort-based, no hashing)."""
    s = np.sort(flat)
    if s.size == 0:
        return s, np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return s[first], np.diff(np.r_[first, s.size])


def _fill(
    flat: np.ndarray, numel: int, *, mode: str, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    out = torch.zeros(numel, dtype=dtype, device=device)
    if flat.size == 0:
        return out
    if mode == "binary":
        out[torch.from_numpy(flat).to(device)] = True if dtype == torch.bool else 1
    else:
        u, c = _unique_counts(flat)
        if not dtype.is_floating_point:
            c = np.minimum(c, torch.iinfo(dtype).max)
        out[torch.from_numpy(u).to(device)] = torch.from_numpy(c).to(device=device, dtype=dtype)
    return out


def _check_steps(where: str, dt_us: Any, n_steps: Any, t_start_us: Any) -> tuple[float, int | None]:
    dt = check_float(where, "dt_us", dt_us, minimum=0, strict=True)
    if n_steps is not None:
        n_steps = check_int(where, "n_steps", n_steps, minimum=0, strict=True)
    if t_start_us is not None:
        check_time_origin(where, "t_start_us", t_start_us)
    return dt, n_steps


def spike_tensor(
    events: Any,
    *,
    sensor_size: Any = None,
    dt_us: float,
    n_steps: int | None = None,
    t_start_us: int | None = None,
    split_polarity: bool = True,
    mode: str = "binary",
    dtype: torch.dtype = torch.bool,
    device: Any = None,
) -> torch.Tensor:
    """Spikes ``[T, P, H, W]`` on ``device``: step k holds the events with
    ``t_start + k*dt_us <= t < t_start + (k+1)*dt_us``.

    ``t_start_us`` defaults to the first event's time; ``n_steps`` defaults to the step of the
    last event + 1 (events beyond ``n_steps`` are left out). ``mode="binary"`` marks a pixel
    that had at least one event in the step (any dtype, bool the most compact);
    ``mode="count"`` stores the number of events (integer dtypes saturate at their maximum).
    P = 2 (OFF, ON) with ``split_polarity``, else 1.
    """
    where = "spike_tensor"
    ev, w, h = _prepare(where, events, sensor_size)
    dt, n_steps = _check_steps(where, dt_us, n_steps, t_start_us)
    dtype = _check_torch_dtype(where, dtype, mode)
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    dev = check_device(where, device) or torch.device("cpu")
    n_pol = 2 if split_polarity else 1
    if n_steps is not None:
        check_alloc(where, "n_steps", n_steps, (n_steps, n_pol, h, w), dtype.itemsize)
    flat, T = _spike_index(
        where,
        ev,
        w,
        h,
        dt_us=dt,
        n_steps=n_steps,
        t_start_us=t_start_us,
        split_polarity=split_polarity,
        alloc=(1, dtype.itemsize),
    )
    return _fill(flat, T * n_pol * h * w, mode=mode, dtype=dtype, device=dev).reshape(
        T, n_pol, h, w
    )


def batch_spike_tensor(
    recordings: Sequence[Any],
    *,
    sensor_size: Any = None,
    dt_us: float,
    n_steps: int | None = None,
    t_start_us: int | None = None,
    split_polarity: bool = True,
    mode: str = "binary",
    dtype: torch.dtype = torch.bool,
    device: Any = None,
) -> torch.Tensor:
    """Spikes ``[T, B, P, H, W]`` for a batch of recordings (or event arrays) of one sensor size.

    Each sample's time starts at its own first event unless ``t_start_us`` is given; T is the
    longest sample's length unless ``n_steps`` is given. Otherwise as :func:`spike_tensor`.
    """
    where = "batch_spike_tensor"
    if (
        isinstance(recordings, (np.ndarray, Recording))
        or not isinstance(recordings, Sequence)
        or len(recordings) == 0
    ):
        raise ParameterError(
            where,
            "recordings",
            "a non-empty sequence of recordings or event arrays",
            type(recordings).__name__,
        )
    dt, n_steps = _check_steps(where, dt_us, n_steps, t_start_us)
    dtype = _check_torch_dtype(where, dtype, mode)
    split_polarity = check_bool(where, "split_polarity", split_polarity)
    dev = check_device(where, device) or torch.device("cpu")
    n_pol = 2 if split_polarity else 1
    B = len(recordings)
    prepared = []
    size = None
    for i, rec in enumerate(recordings):
        ev, w, h = _prepare(f"{where} (sample {i})", rec, sensor_size)
        if size is not None and (w, h) != size:
            raise ParameterError(
                where, f"recordings[{i}] sensor_size", f"{size} like sample 0", (w, h)
            )
        size = (w, h)
        if n_steps is not None and i == 0:
            check_alloc(where, "n_steps", n_steps, (n_steps, B, n_pol, h, w), dtype.itemsize)
        prepared.append(
            _spike_index(
                where,
                ev,
                w,
                h,
                dt_us=dt,
                n_steps=n_steps,
                t_start_us=t_start_us,
                split_polarity=split_polarity,
                alloc=(B, dtype.itemsize),
            )
        )
    assert size is not None  # recordings is non-empty
    w, h = size
    T = max(t for _, t in prepared) if n_steps is None else n_steps
    per_step = n_pol * h * w
    parts = []
    for b, (flat, _) in enumerate(prepared):
        step, rest = np.divmod(flat, per_step)
        parts.append((step * B + b) * per_step + rest)
    flat = np.concatenate(parts)
    return _fill(flat, T * B * per_step, mode=mode, dtype=dtype, device=dev).reshape(
        T, B, n_pol, h, w
    )


def simulator_inputs(
    recordings: Sequence[Any],
    *,
    simulator: Any,
    source: str,
    duration_s: float | None = None,
    sensor_size: Any = None,
    t_start_us: int | None = None,
    split_polarity: bool = True,
    mode: str = "binary",
    dtype: torch.dtype = torch.bool,
) -> dict[str, torch.Tensor]:
    """``{source: spikes [T, B, P*H*W]}`` for ``simulator.run(duration_s, inputs=...)`` / ``forward``.

    The step is the simulator's ``dt_s``, the batch must match its ``batch_size`` and P*H*W the
    size of the spike-tensor source ``source`` (neuron index ``(p*H + y)*W + x``). With
    ``duration_s``, T = ``round(duration_s / dt_s)`` like ``Simulator.run``; otherwise the
    longest recording sets T. The tensor is created on the simulator's device; compact dtypes
    (bool, the default) are converted step by step by the simulator.
    """
    where = "simulator_inputs"
    if not isinstance(source, str):
        raise ParameterError(where, "source", "the name of a spike_tensor source", source)
    for attr in ("pops", "batch_size", "dt_s", "device"):
        if not hasattr(simulator, attr):
            raise ParameterError(
                where, "simulator", "a spikesim.Simulator", type(simulator).__name__
            )
    if source not in simulator.pops:
        names = sorted(simulator.pops)
        raise ParameterError(where, "source", f"a population of the simulator ({names})", source)
    pop = simulator.pops[source]
    if type(getattr(pop, "model", None)).__name__ != "SpikeTensorSource":
        raise ParameterError(
            where, "source", "a spike_tensor source (Network.add_spike_tensor)", source
        )
    n = (
        len(recordings)
        if isinstance(recordings, Sequence) and not isinstance(recordings, np.ndarray)
        else None
    )
    if n is not None and n != simulator.batch_size:
        raise ParameterError(
            where,
            "recordings",
            f"{simulator.batch_size} recordings (the simulator's batch_size)",
            n,
        )
    dt_us = float(simulator.dt_s) * 1e6
    if abs(dt_us - round(dt_us)) < 1e-6:
        dt_us = float(round(dt_us))
    n_steps = None
    if duration_s is not None:
        duration_s = check_float(where, "duration_s", duration_s, minimum=0, strict=True)
        n_steps = int(round(duration_s / simulator.dt_s))
        if n_steps < 1:
            raise ParameterError(where, "duration_s", f">= dt_s ({simulator.dt_s})", duration_s)
    try:
        spikes = batch_spike_tensor(
            recordings,
            sensor_size=sensor_size,
            dt_us=dt_us,
            n_steps=n_steps,
            t_start_us=t_start_us,
            split_polarity=split_polarity,
            mode=mode,
            dtype=dtype,
            device=simulator.device,
        )
    except ParameterError as exc:
        if exc.field != "n_steps" or duration_s is None:
            raise
        # n_steps came from duration_s: name the caller's option
        raise ParameterError(
            where, "duration_s", exc.expected, duration_s, hint=f"{n_steps} steps of dt_s"
        ) from None
    T, B, P, H, W = spikes.shape
    if P * H * W != pop.size:
        raise ParameterError(
            where,
            "source",
            f"a source of size P*H*W = {P}*{H}*{W} = {P * H * W} for these events",
            f"{source!r} of size {pop.size}",
        )
    return {source: spikes.reshape(T, B, P * H * W)}
