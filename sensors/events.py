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
    from ._checks import check_alloc, check_int

    n = check_int("empty_events", "n", n, minimum=0)
    check_alloc("empty_events", "n", n, (n,), EVENT_DTYPE.itemsize)
    return np.zeros(n, dtype=EVENT_DTYPE)


_FIELD_RANGE = {"t": (-(2**63), 2**63 - 1), "x": (0, 65535), "y": (0, 65535), "p": (0, 1)}
_FIELD_MEANING = {
    "t": "integer microseconds",
    "x": "integer columns 0 .. 65535",
    "y": "integer rows 0 .. 65535",
    "p": "polarities 0 (OFF) or 1 (ON)",
}


def _field(name: str, values: Any, n: int | None) -> np.ndarray:
    """One field as an int64 array, refusing what :data:`EVENT_DTYPE` would change silently
    (fractions, NaN, values out of the field's range)."""
    from spikesim.errors import ParameterError, ShapeError

    arr = np.asarray(values)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise ShapeError("make_events", name, (n if n is not None else "n",), arr.shape)
    kinds = "iub" if name == "p" else "iu"
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            found = arr[bad][0].item()
            raise ParameterError("make_events", name, _FIELD_MEANING[name], found)
    elif arr.dtype.kind not in kinds:
        raise ParameterError(
            "make_events", name, _FIELD_MEANING[name], f"an array of dtype {arr.dtype}"
        )
    lo, hi = _FIELD_RANGE[name]
    if arr.size and arr.dtype.kind != "b":
        mn, mx = arr.min().item(), arr.max().item()
        if mn < lo or mx > hi:
            raise ParameterError("make_events", name, _FIELD_MEANING[name], mn if mn < lo else mx)
    return arr


def make_events(t: Any, x: Any, y: Any, p: Any) -> np.ndarray:
    """Pack four equal-length sequences into an :data:`EVENT_DTYPE` array (copying).

    Integer sequences, or floats with integer values; a fraction, NaN, a negative coordinate,
    a coordinate over 65535 or a polarity other than 0/1 is a
    :class:`~spikesim.errors.ParameterError` naming the field (nothing is truncated or
    wrapped), a length mismatch a :class:`~spikesim.errors.ShapeError`.
    """
    t = _field("t", t, None)
    n = t.shape[0]
    fields = {"t": t, "x": _field("x", x, n), "y": _field("y", y, n), "p": _field("p", p, n)}
    ev = np.empty(n, dtype=EVENT_DTYPE)
    for name, arr in fields.items():
        ev[name] = arr
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

    def __post_init__(self) -> None:
        """Checks the structure only (constant time): the event values are checked by the
        functions that use them."""
        from spikesim.errors import ParameterError

        from ._checks import check_event_fields, check_sensor_size
        from .errors import EventFormatError

        try:
            check_event_fields("Recording", self.events)
            if self.sensor_size is not None:
                size = check_sensor_size("Recording", self.sensor_size)
                object.__setattr__(self, "sensor_size", size)
        except ParameterError as exc:
            if self.path is None:
                raise
            # made by a reader: a file whose header gives e.g. a zero width is a format error
            raise EventFormatError(self.path, None, str(exc)) from None

    def __len__(self) -> int:
        return int(self.events.shape[0])
