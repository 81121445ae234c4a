"""The one event representation shared by every reader, writer, transform and representation.

Events are a numpy structured array of :data:`EVENT_DTYPE` with tonic's field names, so tonic
transforms accept them: ``t`` int64 microseconds as stored in the file (never shifted unless
asked), ``x``/``y`` uint16 as stored (never flipped unless asked), ``p`` int8 with 1 = ON and
0 = OFF.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["EVENT_DTYPE", "Recording", "empty_events", "make_events"]

EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "i1")])


def empty_events(n: int = 0) -> np.ndarray:
    """A zero-filled event array of length ``n``."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def make_events(t: Any, x: Any, y: Any, p: Any) -> np.ndarray:
    """Pack four equal-length sequences into an :data:`EVENT_DTYPE` array (copying)."""
    t = np.asarray(t)
    n = t.shape[0]
    for name, arr in (("x", x), ("y", y), ("p", p)):
        if np.shape(arr) != (n,):
            raise ValueError(f"make_events: {name} must have shape ({n},), got {np.shape(arr)}")
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev["t"] = t
    ev["x"] = x
    ev["y"] = y
    ev["p"] = p
    return ev


@dataclasses.dataclass(frozen=True)
class Recording:
    """Decoded events plus what the file says about them.

    ``sensor_size`` is ``(width, height)`` or ``None`` when the format does not record it;
    ``format`` names the detected format (e.g. ``"EVT3.0"``); ``metadata`` holds camera,
    start time and any header fields.
    """

    events: np.ndarray
    sensor_size: tuple[int, int] | None
    format: str
    path: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.events.shape[0])
