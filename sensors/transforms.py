"""Event transforms: pure functions plus frozen-dataclass wrappers, tonic style.

Every function takes events as a numpy structured array with integer fields t, x, y, p (e.g.
:data:`~spikesim.sensors.events.EVENT_DTYPE`, or tonic's dtype) and returns a new array of the
same dtype; given a :class:`~spikesim.sensors.events.Recording` it returns a new Recording with
the sensor size updated (crop, downsample). Inputs are never modified. Spatial transforms
(:func:`crop`, :func:`flip_lr`, :func:`flip_ud`, :func:`downsample`, :func:`merge_polarities`)
also accept dense frames as a torch tensor ``[..., P, H, W]`` (e.g. from
:mod:`spikesim.sensors.representations`) and apply the same operation to them.

Filters work on the stream order of the events (the file order readers return):

* :func:`refractory_filter`: per pixel, drop events closer than ``refractory_us`` to the previous
  event of that pixel (``reference="any"``, tonic's RefractoryPeriod) or to the previous *kept*
  event (``reference="kept"``, a pixel's dead time).
* :func:`denoise`: background-activity filter: keep an event only if a neighbouring pixel (8- or
  4-neighbourhood, not the pixel itself) had an event less than ``filter_time_us`` earlier
  (tonic's Denoise is the 4-neighbourhood case).
* :func:`hot_pixels` / :func:`remove_hot_pixels`: pixels firing above ``max_rate_hz`` averaged
  over the recording (tonic's identify_hot_pixel / drop_pixel).

:class:`DenoiseStream` and :class:`RefractoryStream` apply the two filters chunk by chunk (per
pixel state only) with exactly the whole-stream result, for streamed files and live pipelines.

Random transforms (:func:`drop_events`, :func:`time_jitter`) take ``seed`` (an int or a
``numpy.random.Generator``); an int gives the same result on every call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from spikesim.errors import ParameterError

from ._checks import (
    check_alloc,
    check_bool,
    check_events,
    check_float,
    check_inside,
    check_int,
    check_sensor_size,
    refractory_keep,
)
from .events import Recording

__all__ = [
    "AlignTime",
    "CenterCrop",
    "Compose",
    "Crop",
    "Denoise",
    "DenoiseStream",
    "Downsample",
    "DropEvents",
    "DropPixels",
    "FlipLR",
    "FlipPolarity",
    "FlipUD",
    "MergePolarities",
    "RefractoryFilter",
    "RefractoryStream",
    "RemoveHotPixels",
    "TimeJitter",
    "TimeSkew",
    "align_time",
    "center_crop",
    "crop",
    "denoise",
    "denoise_mask",
    "downsample",
    "drop_events",
    "drop_pixels",
    "flip_lr",
    "flip_polarity",
    "flip_ud",
    "hot_pixels",
    "merge_polarities",
    "refractory_filter",
    "remove_hot_pixels",
    "split_polarities",
    "time_jitter",
    "time_skew",
]


# ----------------------------------------------------------------------------- plumbing
def _in(where: str, events: Any, sensor_size: Any = None, *, need_size: bool = False):
    """(events array, (W, H) or None, recording or None)."""
    rec = events if isinstance(events, Recording) else None
    if rec is not None:
        events = rec.events
        if sensor_size is None:
            sensor_size = rec.sensor_size
    ev = check_events(where, events)
    size = None if sensor_size is None else check_sensor_size(where, sensor_size)
    if need_size and size is None:
        raise ParameterError(where, "sensor_size", "(width, height) (the events carry none)", None)
    if size is not None:
        check_inside(where, ev, size)
    return ev, size, rec


def _out(
    rec: Recording | None, events: np.ndarray, sensor_size: tuple[int, int] | None = None
) -> Any:
    if rec is None:
        return events
    size = rec.sensor_size if sensor_size is None else sensor_size
    return dataclasses.replace(rec, events=events, sensor_size=size, metadata=dict(rec.metadata))


def _frames(where: str, frames: torch.Tensor, min_dim: int = 2) -> torch.Tensor:
    if frames.dim() < min_dim:
        raise ParameterError(
            where,
            "frames",
            f"a tensor [..., H, W] with at least {min_dim} dims",
            tuple(frames.shape),
        )
    return frames


def _check_seed(where: str, seed: Any) -> Any:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(where, "seed", "an int >= 0 or a numpy.random.Generator", seed)
    return int(seed)


def _rng(where: str, seed: Any) -> np.random.Generator:
    seed = _check_seed(where, seed)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _store_t(where: str, field: str, value: Any, out: np.ndarray, t: np.ndarray) -> None:
    """``out["t"] = t`` (int64 values), refused when a value does not fit the events' time
    field (an unsigned field and a negative time, or a narrow field) instead of wrapping."""
    info = np.iinfo(out.dtype["t"])
    if t.size and (int(t.min()) < info.min or int(t.max()) > info.max):
        bad = int(t.min()) if int(t.min()) < info.min else int(t.max())
        raise ParameterError(
            where,
            field,
            f"a value keeping every time in the range of the events' t field "
            f"({out.dtype['t']}: {info.min} .. {info.max})",
            value,
            hint=f"it gives t = {bad}",
        )
    out["t"] = t


def _time_range(where: str, field: str, value: Any, lo: float, hi: float) -> None:
    """Refuse a time transform whose result ``lo .. hi`` (ints, or floats about to be cast)
    leaves int64 (it would wrap silently); compared exactly."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -(2**63) or hi > 2**63 - 1:
        raise ParameterError(
            where,
            field,
            "a value keeping every time within int64 microseconds",
            value,
            hint=f"it gives times up to {hi if hi > 2**63 - 1 else lo:.3g} us",
        )


# ----------------------------------------------------------------------------- spatial
def _crop_box(where: str, x0: Any, y0: Any, width: Any, height: Any) -> tuple[int, int, int, int]:
    return (
        check_int(where, "x0", x0, minimum=0),
        check_int(where, "y0", y0, minimum=0),
        check_int(where, "width", width, minimum=0, strict=True),
        check_int(where, "height", height, minimum=0, strict=True),
    )


def crop(
    events: Any,
    *,
    x0: int,
    y0: int,
    width: int,
    height: int,
    sensor_size: Any = None,
    shift: bool = True,
) -> Any:
    """Keep the events inside the box ``x0 <= x < x0 + width``, ``y0 <= y < y0 + height``.

    With ``shift`` (default) coordinates become relative to the box (tonic's crop) and a
    Recording's sensor size becomes ``(width, height)``. A torch tensor ``[..., H, W]`` is sliced.
    """
    where = "crop"
    x0, y0, width, height = _crop_box(where, x0, y0, width, height)
    shift = check_bool(where, "shift", shift)
    if isinstance(events, torch.Tensor):
        f = _frames(where, events)
        H, W = f.shape[-2:]
        if x0 + width > W or y0 + height > H:
            raise ParameterError(
                where,
                "x0 + width / y0 + height",
                f"inside the frame ({W}x{H})",
                (x0 + width, y0 + height),
            )
        return f[..., y0 : y0 + height, x0 : x0 + width].clone()
    ev, size, rec = _in(where, events, sensor_size)
    if size is not None and (x0 + width > size[0] or y0 + height > size[1]):
        raise ParameterError(
            where,
            "x0 + width / y0 + height",
            f"inside the sensor {size}",
            (x0 + width, y0 + height),
        )
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    out = ev[(x >= x0) & (x < x0 + width) & (y >= y0) & (y < y0 + height)]
    if shift:
        out["x"] -= x0
        out["y"] -= y0
        return _out(rec, out, (width, height))
    return _out(rec, out)


def center_crop(events: Any, *, width: int, height: int, sensor_size: Any = None) -> Any:
    """:func:`crop` of a ``width x height`` box centred on the sensor (offsets rounded down)."""
    where = "center_crop"
    if isinstance(events, torch.Tensor):
        H, W = _frames(where, events).shape[-2:]
        size = (W, H)
    else:
        _, size, _ = _in(where, events, sensor_size, need_size=True)
    width = check_int(where, "width", width, minimum=0, strict=True, maximum=size[0])
    height = check_int(where, "height", height, minimum=0, strict=True, maximum=size[1])
    return crop(
        events,
        x0=(size[0] - width) // 2,
        y0=(size[1] - height) // 2,
        width=width,
        height=height,
        sensor_size=sensor_size,
    )


def _factors(where: str, spatial_factor: Any) -> tuple[float, float]:
    f = (
        spatial_factor
        if isinstance(spatial_factor, (tuple, list))
        else (spatial_factor, spatial_factor)
    )
    if len(f) != 2:
        raise ParameterError(
            where, "spatial_factor", "a factor or (fx, fy) in (0, 1]", spatial_factor
        )
    fx = check_float(where, "spatial_factor", f[0], minimum=0, strict=True, maximum=1)
    fy = check_float(where, "spatial_factor", f[1], minimum=0, strict=True, maximum=1)
    return fx, fy


def downsample(
    events: Any, *, spatial_factor: float | tuple[float, float], sensor_size: Any = None
) -> Any:
    """Scale coordinates: ``x' = floor(x * fx)``, ``y' = floor(y * fy)`` (tonic's Downsample).

    No event is dropped; a Recording's sensor size becomes ``(floor((W-1)*fx)+1, ...)``. For a
    torch tensor ``[..., H, W]`` the factor must be 1/k (k integer): frames are sum-pooled over
    k x k blocks (the last block may be partial), which equals binning the downsampled events.
    """
    where = "downsample"
    fx, fy = _factors(where, spatial_factor)
    if isinstance(events, torch.Tensor):
        f = _frames(where, events)
        ks = []
        for fac in (fy, fx):
            k = round(1 / fac)
            if abs(k * fac - 1) > 1e-9:
                raise ParameterError(
                    where,
                    "spatial_factor",
                    "1/k with k an integer for frame tensors",
                    spatial_factor,
                )
            ks.append(k)
        ky, kx = ks
        H, W = f.shape[-2:]
        Ho, Wo = -(-H // ky), -(-W // kx)
        pad = torch.zeros((*f.shape[:-2], Ho * ky, Wo * kx), dtype=f.dtype, device=f.device)
        pad[..., :H, :W] = f
        pooled = pad.reshape(*f.shape[:-2], Ho, ky, Wo, kx)
        if pooled.dtype == torch.bool:
            return pooled.any(dim=-1).any(dim=-2)
        return pooled.sum(dim=(-1, -3), dtype=f.dtype)
    ev, size, rec = _in(where, events, sensor_size)
    out = ev.copy()
    out["x"] = np.floor(ev["x"] * fx).astype(ev.dtype["x"])
    out["y"] = np.floor(ev["y"] * fy).astype(ev.dtype["y"])
    new = (
        None
        if size is None
        else (math.floor((size[0] - 1) * fx) + 1, math.floor((size[1] - 1) * fy) + 1)
    )
    return _out(rec, out, new)


def flip_lr(events: Any, *, sensor_size: Any = None) -> Any:
    """Mirror left-right: ``x' = W - 1 - x`` (a torch tensor ``[..., H, W]`` is flipped on W)."""
    if isinstance(events, torch.Tensor):
        return torch.flip(_frames("flip_lr", events), dims=(-1,))
    ev, size, rec = _in("flip_lr", events, sensor_size, need_size=True)
    out = ev.copy()
    out["x"] = size[0] - 1 - ev["x"].astype(np.int64)
    return _out(rec, out)


def flip_ud(events: Any, *, sensor_size: Any = None) -> Any:
    """Mirror up-down: ``y' = H - 1 - y`` (a torch tensor ``[..., H, W]`` is flipped on H)."""
    if isinstance(events, torch.Tensor):
        return torch.flip(_frames("flip_ud", events), dims=(-2,))
    ev, size, rec = _in("flip_ud", events, sensor_size, need_size=True)
    out = ev.copy()
    out["y"] = size[1] - 1 - ev["y"].astype(np.int64)
    return _out(rec, out)


def flip_polarity(events: Any) -> Any:
    """Swap ON and OFF: ``p' = 1 - p`` (a torch tensor ``[..., 2, H, W]`` swaps its channels)."""
    if isinstance(events, torch.Tensor):
        f = _frames("flip_polarity", events, 3)
        if f.shape[-3] != 2:
            raise ParameterError(
                "flip_polarity", "frames", "a tensor [..., 2, H, W]", tuple(f.shape)
            )
        return torch.flip(f, dims=(-3,))
    ev, _, rec = _in("flip_polarity", events)
    out = ev.copy()
    out["p"] = 1 - ev["p"]
    return _out(rec, out)


def merge_polarities(events: Any) -> Any:
    """All polarities set to 0 (tonic's MergePolarities); a tensor ``[..., P, H, W]`` is summed
    over P (kept as a size-1 dim; bool tensors: logical or)."""
    if isinstance(events, torch.Tensor):
        f = _frames("merge_polarities", events, 3)
        if f.dtype == torch.bool:
            return f.any(dim=-3, keepdim=True)
        return f.sum(dim=-3, keepdim=True, dtype=f.dtype)
    ev, _, rec = _in("merge_polarities", events)
    out = ev.copy()
    out["p"] = 0
    return _out(rec, out)


def split_polarities(events: Any) -> tuple[Any, Any]:
    """``(off_events, on_events)`` in stream order."""
    ev, _, rec = _in("split_polarities", events)
    on = ev["p"] == 1
    return _out(rec, ev[~on]), _out(rec, ev[on])


# ----------------------------------------------------------------------------- time
def time_skew(events: Any, *, time_scale: float = 1.0, time_offset_us: int = 0) -> Any:
    """``t' = floor(t * time_scale) + time_offset_us`` (tonic's TimeSkew for positive times).

    ``time_scale == 1`` is exact integer arithmetic; otherwise float64 (exact up to 2**53 µs).
    """
    where = "time_skew"
    scale, offset = _skew_params(where, time_scale, time_offset_us)
    ev, _, rec = _in(where, events)
    out = ev.copy()
    t = ev["t"].astype(np.int64)
    if ev.size:
        if scale != 1.0:
            lo, hi = int(t.min()) * scale, int(t.max()) * scale
            _time_range(where, "time_scale", time_scale, lo, hi)
            t = np.floor(t * scale).astype(np.int64)
        lo, hi = int(t.min()) + offset, int(t.max()) + offset
        _time_range(where, "time_offset_us", time_offset_us, lo, hi)
    _store_t(where, "time_offset_us", time_offset_us, out, t + offset)
    return _out(rec, out)


def _skew_params(where: str, time_scale: Any, time_offset_us: Any) -> tuple[float, int]:
    return (
        check_float(where, "time_scale", time_scale, minimum=0, strict=True),
        check_int(where, "time_offset_us", time_offset_us),
    )


def align_time(events: Any) -> Any:
    """Shift times so that the first (smallest) timestamp is 0."""
    ev, _, rec = _in("align_time", events)
    out = ev.copy()
    if ev.size:
        out["t"] = ev["t"] - ev["t"].min()
    return _out(rec, out)


def time_jitter(
    events: Any, *, std_us: float, seed: Any = 0, clip_negative: bool = False, sort: bool = False
) -> Any:
    """Add ``round(N(0, std_us))`` to each timestamp; optionally drop negative times and sort."""
    where = "time_jitter"
    std = _jitter_params(where, std_us, seed, clip_negative, sort)
    rng = _rng(where, seed)
    ev, _, rec = _in(where, events)
    out = ev.copy()
    noise = np.rint(rng.normal(0.0, std, ev.size))
    if ev.size:
        lo = int(ev["t"].min()) + int(noise.min())
        hi = int(ev["t"].max()) + int(noise.max())
        _time_range(where, "std_us", std_us, lo, hi)
    t = ev["t"].astype(np.int64) + noise.astype(np.int64)
    if clip_negative:
        keep = t >= 0
        out, t = out[keep], t[keep]
    _store_t(where, "std_us", std_us, out, t)
    if sort:
        out = out[np.argsort(out["t"], kind="stable")]
    return _out(rec, out)


def _jitter_params(where: str, std_us: Any, seed: Any, clip_negative: Any, sort: Any) -> float:
    _check_seed(where, seed)
    check_bool(where, "clip_negative", clip_negative)
    check_bool(where, "sort", sort)
    return check_float(where, "std_us", std_us, minimum=0)


def drop_events(events: Any, *, fraction: float, seed: Any = 0) -> Any:
    """Drop ``round(fraction * n)`` events chosen uniformly without replacement; order kept."""
    where = "drop_events"
    frac = _drop_params(where, fraction, seed)
    rng = _rng(where, seed)
    ev, _, rec = _in(where, events)
    n_drop = int(frac * ev.size + 0.5)
    keep = np.ones(ev.size, dtype=bool)
    keep[rng.choice(ev.size, size=n_drop, replace=False)] = False
    return _out(rec, ev[keep])


def _drop_params(where: str, fraction: Any, seed: Any) -> float:
    _check_seed(where, seed)
    return check_float(where, "fraction", fraction, minimum=0, maximum=1)


# ----------------------------------------------------------------------------- filters
def _refractory_params(where: str, refractory_us: Any, reference: Any) -> float:
    r = check_float(where, "refractory_us", refractory_us, minimum=0)
    if not isinstance(reference, str) or reference not in ("any", "kept"):
        raise ParameterError(where, "reference", "'any' or 'kept'", reference)
    return r


def _denoise_params(where: str, filter_time_us: Any, neighbourhood: Any) -> float:
    ft = check_float(where, "filter_time_us", filter_time_us, minimum=0, strict=True)
    if isinstance(neighbourhood, (bool, np.bool_)) or not isinstance(
        neighbourhood, (int, np.integer)
    ):
        raise ParameterError(where, "neighbourhood", "8 or 4", neighbourhood)
    if neighbourhood not in _NEIGHBOURS:
        raise ParameterError(where, "neighbourhood", "8 or 4", neighbourhood)
    return ft


def _padded_pixels(ev: np.ndarray) -> tuple[np.ndarray, int]:
    """Pixel index with a one-pixel border, so that every neighbour index is valid and unique."""
    wp = int(ev["x"].max()) + 3
    return (ev["y"].astype(np.int64) + 1) * wp + (ev["x"].astype(np.int64) + 1), wp


def refractory_filter(events: Any, *, refractory_us: float, reference: str = "any") -> Any:
    """Per pixel (both polarities), keep an event when ``t - t_prev > refractory_us``.

    ``reference="any"``: ``t_prev`` is the previous event of the pixel in stream order, kept or
    not (tonic's RefractoryPeriod, except that the first event of a pixel is always kept; tonic
    drops a first event at exactly t = 0). ``reference="kept"``: the previous *kept* event, so a
    pixel fires at most once per refractory period (pixel dead time; per pixel in time order).
    """
    where = "refractory_filter"
    r = _refractory_params(where, refractory_us, reference)
    ev, _, rec = _in(where, events)
    if ev.size == 0:
        return _out(rec, ev.copy())
    pix, _ = _padded_pixels(ev)
    t = ev["t"].astype(np.int64)
    if reference == "kept":
        return _out(rec, ev[refractory_keep(pix, t, r, inclusive=False, where=where)])
    order = np.argsort(pix, kind="stable")  # per pixel in stream order
    ps, ts = pix[order], t[order]
    keep_sorted = np.ones(ev.size, dtype=bool)
    same = ps[1:] == ps[:-1]
    keep_sorted[1:] = ~same | (ts[1:] - ts[:-1] > r)
    keep = np.empty_like(keep_sorted)
    keep[order] = keep_sorted
    return _out(rec, ev[keep])


_NEVER = -(2**62)
_BLOCK = 1 << 16

_NEIGHBOURS = {
    4: ((-1, 0), (1, 0), (0, -1), (0, 1)),
    8: ((-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)),
}


def denoise_mask(events: Any, *, filter_time_us: float, neighbourhood: int = 8) -> np.ndarray:
    """Boolean mask of the events :func:`denoise` keeps."""
    where = "denoise"
    ft = _denoise_params(where, filter_time_us, neighbourhood)
    ev, _, _ = _in(where, events)
    n = ev.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    pix, wp = _padded_pixels(ev)
    cells = (int(ev["y"].max()) + 3) * wp
    memory: Any
    if cells <= max(_DENSE_CELLS, 16 * n):
        memory = np.full(cells, _NEVER, dtype=np.int64)
    else:  # events spread over a huge grid (e.g. one event at x = y = 65535): no dense grid
        memory = _PixelMemory(pix)
    return _denoise_blocks(pix, ev["t"].astype(np.int64), memory, wp, neighbourhood, ft)


_DENSE_CELLS = 1 << 24  # per-pixel memory kept as a dense grid up to 128 MiB


class _PixelMemory:
    """The per-pixel last-event times of :func:`_denoise_blocks` for the pixels that occur
    only (sorted keys, binary search): ``memory[pixels]`` reads (``_NEVER`` for a pixel that
    never fired) and ``memory[pixels] = times`` writes, like the dense grid."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.keys = np.unique(pixels)
        self.values = np.full(self.keys.size + 1, _NEVER, dtype=np.int64)  # last: never

    def _slots(self, pixels: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(self.keys, pixels), self.keys.size - 1)
        return np.where(self.keys[pos] == pixels, pos, self.keys.size)

    def __getitem__(self, pixels: np.ndarray) -> np.ndarray:
        return self.values[self._slots(pixels)]

    def __setitem__(self, pixels: np.ndarray, times: np.ndarray) -> None:
        self.values[self._slots(pixels)] = times


def _denoise_blocks(
    pix: np.ndarray, t: np.ndarray, memory: Any, wp: int, neighbourhood: int, ft: float
) -> np.ndarray:
    """Denoise mask of padded pixel indices ``pix``; ``memory`` (per padded pixel, the time of
    its last event so far) is read and updated in place."""
    n = pix.size
    offsets = [dy * wp + dx for dx, dy in _NEIGHBOURS[neighbourhood]]
    # blocks keep the binary searches inside the cache; memory carries the earlier blocks
    supported = np.zeros(n, dtype=bool)
    for start in range(0, n, _BLOCK):
        pb, tb = pix[start : start + _BLOCK], t[start : start + _BLOCK]
        m = pb.size
        key = pb * m + np.arange(m, dtype=np.int64)  # per pixel, stream order
        order = np.argsort(key)
        keys, kp, tk = key[order], pb[order], tb[order]
        sup = np.zeros(m, dtype=bool)
        for off in offsets:
            # the needles keys + off*m are sorted too, which keeps the binary search cheap
            pos = np.searchsorted(keys, keys + off * m, side="left") - 1
            inside = pos >= 0
            pos[~inside] = 0
            inside &= kp[pos] == kp + off
            t_nb = np.where(inside, tk[pos], memory[kp + off])
            sup |= tk - t_nb < ft
        supported[start + order] = sup
        last = np.r_[kp[1:] != kp[:-1], True]
        memory[kp[last]] = tk[last]
    return supported


def denoise(events: Any, *, filter_time_us: float, neighbourhood: int = 8) -> Any:
    """Background-activity filter: keep an event if one of its neighbouring pixels had an event
    earlier in the stream with ``t - t_neighbour < filter_time_us``.

    ``neighbourhood``: 8 (all surrounding pixels) or 4 (left, right, up, down: tonic's Denoise,
    equal to it except for tonic's start-up quirk of keeping any event with
    ``t < filter_time`` and ``x > 0``). The pixel's own events do not count. Vectorised: for each
    neighbour offset, one binary search per event for that pixel's latest earlier event.
    """
    mask = denoise_mask(events, filter_time_us=filter_time_us, neighbourhood=neighbourhood)
    ev = events.events if isinstance(events, Recording) else events
    return _out(events if isinstance(events, Recording) else None, ev[mask])


def hot_pixels(events: Any, *, max_rate_hz: float) -> np.ndarray:
    """``[k, 2]`` array of (x, y) of pixels whose event count exceeds ``max_rate_hz`` times the
    recording's duration (first to last event), sorted by x then y (tonic's identify_hot_pixel)."""
    where = "hot_pixels"
    rate = check_float(where, "max_rate_hz", max_rate_hz, minimum=0)  # as RemoveHotPixels
    ev, _, _ = _in(where, events)
    if ev.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    duration_s = (int(ev["t"].max()) - int(ev["t"].min())) * 1e-6
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    h = int(y.max()) + 1
    key = x * h + y  # sorted by x then y
    if int(key.max()) < max(4 * ev.size, 1 << 22):  # a small grid: one bincount (fastest)
        hot = np.flatnonzero(np.bincount(key) > rate * duration_s)
    else:  # no dense grid (one outlier at x = y = 65535 would need 32 GiB): the keys present
        keys, counts = np.unique(key, return_counts=True)
        hot = keys[counts > rate * duration_s]
    return np.stack([hot // h, hot % h], axis=1)


def drop_pixels(events: Any, *, pixels: Any) -> Any:
    """Remove every event at the given (x, y) pixels (``[k, 2]`` array-like)."""
    where = "drop_pixels"
    px = _pixel_list(where, pixels)
    ev, _, rec = _in(where, events)
    if px.size == 0 or ev.size == 0:
        return _out(rec, ev.copy())
    w = int(max(ev["x"].max(), px[:, 0].max())) + 1
    bad = np.isin(ev["y"].astype(np.int64) * w + ev["x"], px[:, 1] * w + px[:, 0])
    return _out(rec, ev[~bad])


def _pixel_list(where: str, pixels: Any) -> np.ndarray:
    """``[k, 2]`` int64 (x, y) pairs: integers >= 0 (no truncation, no reshaping)."""
    expected = "a [k, 2] array-like of integer (x, y) pixels >= 0"
    try:
        arr = np.asarray(pixels)
    except (TypeError, ValueError):  # ragged nesting
        raise ParameterError(where, "pixels", expected, pixels) from None
    if arr.size == 0 and arr.ndim <= 2 and (arr.ndim < 2 or arr.shape[1] in (0, 2)):
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iuf":
        raise ParameterError(where, "pixels", expected, f"{arr.dtype} array of shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0].item()
        raise ParameterError(where, "pixels", expected, bad)
    if arr.min() < 0 or arr.max() >= 2**31:
        raise ParameterError(
            where,
            "pixels",
            expected + " (< 2**31)",
            (arr.min() if arr.min() < 0 else arr.max()).item(),
        )
    return arr.astype(np.int64)


def remove_hot_pixels(events: Any, *, max_rate_hz: float) -> Any:
    """:func:`drop_pixels` of :func:`hot_pixels`."""
    return drop_pixels(events, pixels=hot_pixels(events, max_rate_hz=max_rate_hz))


# ----------------------------------------------------------------------------- streaming
class DenoiseStream:
    """:func:`denoise` chunk by chunk with constant memory: feeding a stream in consecutive
    chunks returns exactly the events that :func:`denoise` keeps on the whole stream.

    Holds one timestamp per pixel of ``sensor_size`` (the only state; :meth:`reset` clears it).
    Deliberately not frozen: it is the state of a live pipeline.
    """

    def __init__(self, *, sensor_size: Any, filter_time_us: float, neighbourhood: int = 8) -> None:
        where = "DenoiseStream"
        self.sensor_size = check_sensor_size(where, sensor_size)
        self.filter_time_us = _denoise_params(where, filter_time_us, neighbourhood)
        self.neighbourhood = int(neighbourhood)
        w, h = self.sensor_size
        check_alloc(where, "sensor_size", sensor_size, (h + 2, w + 2), 8)
        self._wp = self.sensor_size[0] + 2
        self.reset()

    def reset(self) -> None:
        self._memory = np.full((self.sensor_size[1] + 2) * self._wp, _NEVER, dtype=np.int64)

    def mask(self, chunk: Any) -> np.ndarray:
        ev, _, _ = _in("DenoiseStream", chunk, self.sensor_size)
        pix = (ev["y"].astype(np.int64) + 1) * self._wp + (ev["x"].astype(np.int64) + 1)
        t = ev["t"].astype(np.int64)
        return _denoise_blocks(
            pix, t, self._memory, self._wp, self.neighbourhood, self.filter_time_us
        )

    def __call__(self, chunk: Any) -> Any:
        m = self.mask(chunk)
        ev = chunk.events if isinstance(chunk, Recording) else chunk
        return _out(chunk if isinstance(chunk, Recording) else None, ev[m])


class RefractoryStream:
    """:func:`refractory_filter` chunk by chunk with one timestamp per pixel of state; feeding
    consecutive chunks returns exactly what the whole-stream filter keeps (for ``"kept"``:
    when each pixel's events arrive in time order, as in time-sorted streams)."""

    def __init__(self, *, sensor_size: Any, refractory_us: float, reference: str = "any") -> None:
        where = "RefractoryStream"
        self.sensor_size = check_sensor_size(where, sensor_size)
        self.refractory_us = _refractory_params(where, refractory_us, reference)
        check_alloc(where, "sensor_size", sensor_size, self.sensor_size, 8)
        self.reference = reference
        self.reset()

    def reset(self) -> None:
        self._memory = np.full(self.sensor_size[0] * self.sensor_size[1], _NEVER, dtype=np.int64)

    def mask(self, chunk: Any) -> np.ndarray:
        ev, _, _ = _in("RefractoryStream", chunk, self.sensor_size)
        n = ev.size
        if n == 0:
            return np.zeros(0, dtype=bool)
        pix = ev["y"].astype(np.int64) * self.sensor_size[0] + ev["x"].astype(np.int64)
        t = ev["t"].astype(np.int64)
        mem = self._memory
        if self.reference == "any":
            order = np.argsort(pix, kind="stable")
            ps, ts = pix[order], t[order]
            prev = np.empty(n, dtype=np.int64)
            prev[0] = mem[ps[0]]
            same = ps[1:] == ps[:-1]
            prev[1:] = np.where(same, ts[:-1], mem[ps[1:]])
            keep_sorted = (prev == _NEVER) | (ts - prev > self.refractory_us)
            keep = np.empty(n, dtype=bool)
            keep[order] = keep_sorted
            last = np.r_[~same, True]
            mem[ps[last]] = ts[last]
            return keep
        # "kept": each pixel's last kept event becomes a virtual first event of the chunk
        seen = np.unique(pix)
        seen = seen[mem[seen] != _NEVER]
        all_pix = np.concatenate([seen, pix])
        all_t = np.concatenate([mem[seen], t])
        keep = refractory_keep(
            all_pix, all_t, self.refractory_us, inclusive=False, where="RefractoryStream"
        )[seen.size :]
        np.maximum.at(mem, pix[keep], t[keep])
        return keep

    def __call__(self, chunk: Any) -> Any:
        m = self.mask(chunk)
        ev = chunk.events if isinstance(chunk, Recording) else chunk
        return _out(chunk if isinstance(chunk, Recording) else None, ev[m])


# ----------------------------------------------------------------------------- wrappers
# Each wrapper checks its fields when it is built (the same checks as its function), so a
# bad pipeline fails where it is written, not at the first sample.
def _check_size_field(where: str, sensor_size: Any) -> None:
    if sensor_size is not None:
        check_sensor_size(where, sensor_size)


@dataclasses.dataclass(frozen=True)
class Crop:
    x0: int
    y0: int
    width: int
    height: int
    sensor_size: tuple[int, int] | None = None
    shift: bool = True

    def __post_init__(self) -> None:
        _crop_box("Crop", self.x0, self.y0, self.width, self.height)
        _check_size_field("Crop", self.sensor_size)
        check_bool("Crop", "shift", self.shift)

    def __call__(self, events: Any) -> Any:
        return crop(events, **dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class CenterCrop:
    width: int
    height: int
    sensor_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _crop_box("CenterCrop", 0, 0, self.width, self.height)
        _check_size_field("CenterCrop", self.sensor_size)

    def __call__(self, events: Any) -> Any:
        return center_crop(events, **dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Downsample:
    spatial_factor: float | tuple[float, float]
    sensor_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _factors("Downsample", self.spatial_factor)
        _check_size_field("Downsample", self.sensor_size)

    def __call__(self, events: Any) -> Any:
        return downsample(events, spatial_factor=self.spatial_factor, sensor_size=self.sensor_size)


@dataclasses.dataclass(frozen=True)
class FlipLR:
    sensor_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _check_size_field("FlipLR", self.sensor_size)

    def __call__(self, events: Any) -> Any:
        return flip_lr(events, sensor_size=self.sensor_size)


@dataclasses.dataclass(frozen=True)
class FlipUD:
    sensor_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _check_size_field("FlipUD", self.sensor_size)

    def __call__(self, events: Any) -> Any:
        return flip_ud(events, sensor_size=self.sensor_size)


@dataclasses.dataclass(frozen=True)
class FlipPolarity:
    def __call__(self, events: Any) -> Any:
        return flip_polarity(events)


@dataclasses.dataclass(frozen=True)
class MergePolarities:
    def __call__(self, events: Any) -> Any:
        return merge_polarities(events)


@dataclasses.dataclass(frozen=True)
class TimeSkew:
    time_scale: float = 1.0
    time_offset_us: int = 0

    def __post_init__(self) -> None:
        _skew_params("TimeSkew", self.time_scale, self.time_offset_us)

    def __call__(self, events: Any) -> Any:
        return time_skew(events, time_scale=self.time_scale, time_offset_us=self.time_offset_us)


@dataclasses.dataclass(frozen=True)
class AlignTime:
    def __call__(self, events: Any) -> Any:
        return align_time(events)


@dataclasses.dataclass(frozen=True)
class TimeJitter:
    std_us: float
    seed: Any = 0
    clip_negative: bool = False
    sort: bool = False

    def __post_init__(self) -> None:
        _jitter_params("TimeJitter", self.std_us, self.seed, self.clip_negative, self.sort)

    def __call__(self, events: Any) -> Any:
        return time_jitter(
            events,
            std_us=self.std_us,
            seed=self.seed,
            clip_negative=self.clip_negative,
            sort=self.sort,
        )


@dataclasses.dataclass(frozen=True)
class DropEvents:
    fraction: float
    seed: Any = 0

    def __post_init__(self) -> None:
        _drop_params("DropEvents", self.fraction, self.seed)

    def __call__(self, events: Any) -> Any:
        return drop_events(events, fraction=self.fraction, seed=self.seed)


@dataclasses.dataclass(frozen=True)
class RefractoryFilter:
    refractory_us: float
    reference: str = "any"

    def __post_init__(self) -> None:
        _refractory_params("RefractoryFilter", self.refractory_us, self.reference)

    def __call__(self, events: Any) -> Any:
        return refractory_filter(events, refractory_us=self.refractory_us, reference=self.reference)


@dataclasses.dataclass(frozen=True)
class Denoise:
    filter_time_us: float
    neighbourhood: int = 8

    def __post_init__(self) -> None:
        _denoise_params("Denoise", self.filter_time_us, self.neighbourhood)

    def __call__(self, events: Any) -> Any:
        return denoise(events, filter_time_us=self.filter_time_us, neighbourhood=self.neighbourhood)


@dataclasses.dataclass(frozen=True)
class DropPixels:
    pixels: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        _pixel_list("DropPixels", self.pixels)

    def __call__(self, events: Any) -> Any:
        return drop_pixels(events, pixels=self.pixels)


@dataclasses.dataclass(frozen=True)
class RemoveHotPixels:
    max_rate_hz: float

    def __post_init__(self) -> None:
        check_float("RemoveHotPixels", "max_rate_hz", self.max_rate_hz, minimum=0)

    def __call__(self, events: Any) -> Any:
        return remove_hot_pixels(events, max_rate_hz=self.max_rate_hz)


@dataclasses.dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order."""

    transforms: tuple[Callable[[Any], Any], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.transforms, Sequence) or not all(
            callable(t) for t in self.transforms
        ):
            raise ParameterError(
                "Compose", "transforms", "a sequence of callables", self.transforms
            )
        object.__setattr__(self, "transforms", tuple(self.transforms))

    def __call__(self, events: Any) -> Any:
        for t in self.transforms:
            events = t(events)
        return events
