"""Frame rendering for ``spikesim events view``: accumulated polarity frames as PNG or GIF.

Each frame accumulates one time window: a pixel's net count ``ON - OFF`` is drawn on a white
background in blue (net ON) or red (net OFF), saturating at :data:`SATURATION` events. A
``.png`` is a grid of the first frames (row-major, 2-pixel grey gutters); a ``.gif`` is an
animation. Images are written with Pillow (installed with matplotlib).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from spikesim.errors import ParameterError

from ._checks import check_events, check_float, check_inside, check_int, check_sensor_size
from .events import EVENT_DTYPE
from .io import EventReader

__all__ = ["MAX_IMAGE_BYTES", "SATURATION", "ViewSummary", "event_frame", "frame_grid", "render"]

SATURATION = 3
MAX_IMAGE_BYTES = 1 << 30  # all rendered frames together (bounds memory for huge sensors)
_GUTTER = 2
_GUTTER_VALUE = 160


@dataclasses.dataclass(frozen=True)
class ViewSummary:
    n_frames: int
    width: int
    height: int
    n_events: int


def event_frame(events: np.ndarray, sensor_size: tuple[int, int]) -> np.ndarray:
    """``(height, width, 3)`` uint8 image of one window's events (see the module docstring)."""
    events = check_events("event_frame", events)
    w, h = check_sensor_size("event_frame", sensor_size)
    check_inside("event_frame", events, (w, h))
    net = np.zeros(h * w, dtype=np.int64)
    if events.shape[0]:
        flat = events["y"].astype(np.int64) * w + events["x"].astype(np.int64)
        sign = np.where(events["p"] > 0, 1, -1)
        net += np.bincount(flat, weights=sign, minlength=h * w).astype(np.int64)
    level = (np.minimum(np.abs(net), SATURATION) * (255 // SATURATION)).astype(np.uint8)
    img = np.full((h * w, 3), 255, dtype=np.uint8)
    on, off = net > 0, net < 0
    img[on, 0] = 255 - level[on]
    img[on, 1] = 255 - level[on]
    img[off, 1] = 255 - level[off]
    img[off, 2] = 255 - level[off]
    return img.reshape(h, w, 3)


def frame_grid(frames: list[np.ndarray]) -> np.ndarray:
    """Frames tiled row-major in a near-square grid with grey gutters."""
    n = len(frames)
    if n == 0:
        raise ParameterError("frame_grid", "frames", "at least one frame", frames)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fh, fw = frames[0].shape[:2]
    gh, gw = rows * fh + (rows - 1) * _GUTTER, cols * fw + (cols - 1) * _GUTTER
    grid = np.full((gh, gw, 3), _GUTTER_VALUE, dtype=np.uint8)
    for i, fr in enumerate(frames):
        r, c = divmod(i, cols)
        y0, x0 = r * (fh + _GUTTER), c * (fw + _GUTTER)
        grid[y0 : y0 + fh, x0 : x0 + fw] = fr
    return grid


def _sensor_size(reader: EventReader) -> tuple[int, int]:
    if reader.sensor_size is not None:
        return reader.sensor_size
    mx = my = -1
    for chunk in reader.iter_chunks():
        mx = max(mx, int(chunk["x"].max()))
        my = max(my, int(chunk["y"].max()))
    if mx < 0:
        raise ValueError(f"{reader.path}: no events to render and no sensor size in the file")
    return (mx + 1, my + 1)


def render(
    reader: EventReader,
    out: str | os.PathLike,
    *,
    window_us: int,
    max_frames: int | None = None,
    scale: int | None = None,
    fps: float | None = None,
) -> ViewSummary:
    """Render consecutive ``window_us`` frames of ``reader`` to ``out`` (.png grid or .gif)."""
    from PIL import Image

    where = "render"
    if not isinstance(reader, EventReader):
        raise ParameterError(
            where, "reader", "an EventReader (spikesim.sensors.open)", type(reader).__name__
        )
    out = os.fspath(out)
    gif = out.lower().endswith(".gif")
    if max_frames is None:
        max_frames = 100 if gif else 16
    max_frames = check_int(where, "max_frames", max_frames, minimum=1)
    if scale is not None:
        scale = check_int(where, "scale", scale, minimum=1)
    if fps is not None:
        fps = check_float(where, "fps", fps, minimum=0, strict=True)
    window_us = check_int(where, "window_us", window_us, minimum=1)
    size = _sensor_size(reader)
    if scale is None:
        scale = max(1, math.ceil(128 / size[0]))
    frame_bytes = size[0] * size[1] * scale * scale * 3
    if frame_bytes * max_frames > MAX_IMAGE_BYTES:
        raise ValueError(
            f"{max_frames} frame(s) of {size[0]}x{size[1]} pixels at scale {scale} need "
            f"{frame_bytes * max_frames / 1e6:,.0f} MB, over the {MAX_IMAGE_BYTES / 1e6:,.0f} MB "
            "limit; lower --max-frames or --scale"
        )
    frames: list[np.ndarray] = []
    n_events = 0
    for win in reader.iter_windows(window_us=window_us):
        img = event_frame(win.events, size)
        if scale > 1:
            img = img.repeat(scale, axis=0).repeat(scale, axis=1)
        frames.append(img)
        n_events += len(win)
        if len(frames) >= max_frames:
            break
    if not frames:
        frames.append(event_frame(np.zeros(0, dtype=EVENT_DTYPE), size))
    if gif:
        if fps is None:
            fps = min(50.0, 1e6 / window_us)
        images = [Image.fromarray(f) for f in frames]
        images[0].save(
            out,
            save_all=True,
            append_images=images[1:],
            duration=max(20, round(1000 / fps)),
            loop=0,
        )
    else:
        Image.fromarray(frame_grid(frames)).save(out)
    return ViewSummary(len(frames), size[0], size[1], n_events)
