"""Input checks shared by transforms, representations and the synthetic generators.

Every check raises :class:`spikesim.errors.ParameterError` naming the function, the parameter,
what was expected and what was found. None of them copies or modifies the events.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from spikesim.errors import ParameterError

from .events import Recording

_FIELDS = ("t", "x", "y", "p")


def unpack(where: str, events: Any, sensor_size: Any) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Events and (width, height) from either a :class:`Recording` or an array plus ``sensor_size``.

    An explicit ``sensor_size`` wins over the recording's.
    """
    if isinstance(events, Recording):
        if sensor_size is None:
            sensor_size = events.sensor_size
        events = events.events
    ev = check_events(where, events)
    size = None if sensor_size is None else check_sensor_size(where, sensor_size)
    return ev, size


def check_events(where: str, events: Any, name: str = "events") -> np.ndarray:
    """A numpy structured array with integer fields t, x, y, p (x, y >= 0, p in {0, 1})."""
    check_event_fields(where, events, name)
    if events.size:
        for f in ("x", "y"):
            if events.dtype[f].kind == "i" and int(events[f].min()) < 0:
                raise ParameterError(
                    where, f"{name}[{f!r}]", "coordinates >= 0", int(events[f].min())
                )
            if events.dtype[f].itemsize > 2 and int(events[f].max()) > MAX_COORDINATE:
                # wider fields (tonic's int64): pixel indices y * width + x must not overflow
                raise ParameterError(
                    where,
                    f"{name}[{f!r}]",
                    f"coordinates <= {MAX_COORDINATE}",
                    int(events[f].max()),
                )
        p = events["p"]
        if int(p.min()) < 0 or int(p.max()) > 1:
            bad = int(p.min()) if int(p.min()) < 0 else int(p.max())
            raise ParameterError(where, f"{name}['p']", "polarities 0 (OFF) or 1 (ON)", bad)
    return events


MAX_COORDINATE = 2**31 - 1  # x and y beyond this would overflow int64 pixel indices


def check_event_fields(where: str, events: Any, name: str = "events") -> np.ndarray:
    """The structure :func:`check_events` needs (1-D, integer fields t, x, y, p), without
    reading the values (constant time)."""
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        found = type(events).__name__
        if isinstance(events, np.ndarray):
            found = f"ndarray of dtype {events.dtype}"
        raise ParameterError(
            where,
            name,
            "a numpy structured array with fields t, x, y, p (spikesim.sensors.events.EVENT_DTYPE)",
            found,
            hint="build one with spikesim.sensors.events.make_events(t, x, y, p)",
        )
    if events.ndim != 1:
        raise ParameterError(where, name, "a 1-D event array", f"shape {events.shape}")
    missing = [f for f in _FIELDS if f not in events.dtype.names]
    if missing:
        raise ParameterError(
            where, name, "fields t, x, y, p", f"fields {events.dtype.names} (missing {missing})"
        )
    for f in _FIELDS:
        if events.dtype[f].kind not in "iu":
            raise ParameterError(
                where, f"{name}[{f!r}]", "an integer field", f"dtype {events.dtype[f]}"
            )
    return events


def check_sensor_size(where: str, sensor_size: Any) -> tuple[int, int]:
    """``(width, height)``; tonic's ``(width, height, polarities)`` is accepted too."""
    ok = isinstance(sensor_size, (tuple, list)) and len(sensor_size) in (2, 3)
    if ok:
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) > 0
            for v in sensor_size
        )
    if ok and len(sensor_size) == 3 and sensor_size[2] not in (1, 2):
        ok = False
    if not ok:
        raise ParameterError(
            where, "sensor_size", "(width, height) with positive integers", sensor_size
        )
    return int(sensor_size[0]), int(sensor_size[1])


def need_sensor_size(where: str, size: tuple[int, int] | None) -> tuple[int, int]:
    if size is None:
        raise ParameterError(where, "sensor_size", "(width, height) (the events carry none)", None)
    return size


def check_inside(
    where: str, events: np.ndarray, size: tuple[int, int], name: str = "events"
) -> None:
    """Every x < width and y < height."""
    if not events.size:
        return
    w, h = size
    for f, lim, what in (("x", w, "width"), ("y", h, "height")):
        m = int(events[f].max())
        if m >= lim:
            raise ParameterError(
                where,
                f"{name}[{f!r}]",
                f"< {lim} (sensor {what} of sensor_size {size})",
                m,
                hint="pass the recording's sensor_size or crop the events first",
            )


def check_number(
    where: str,
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
    integer: bool = False,
) -> float | int:
    """A finite real number (an integer with ``integer``) within bounds."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ParameterError(where, field, "an integer" if integer else "a finite number", value)
    raw: Any = value  # a numbers.Integral / numbers.Real: int() / float() accept it
    value = int(raw) if integer else float(raw)
    if not math.isfinite(value):
        raise ParameterError(where, field, "a finite number", value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ParameterError(where, field, f"{'>' if strict else '>='} {minimum}", value)
    if maximum is not None and value > maximum:
        raise ParameterError(where, field, f"<= {maximum}", value)
    return value


def check_int(where: str, field: str, value: Any, **bounds: Any) -> int:
    """:func:`check_number` for integers, typed as ``int``."""
    return int(check_number(where, field, value, integer=True, **bounds))


def check_float(where: str, field: str, value: Any, **bounds: Any) -> float:
    """:func:`check_number` for reals, typed as ``float``."""
    return float(check_number(where, field, value, **bounds))


MAX_TIME_ORIGIN_US = 2**62  # |t_start_us|, so that t - t_start_us stays within int64


def check_time_origin(where: str, field: str, value: Any) -> int:
    """A time origin in microseconds (``t_start_us`` ...): an integer within +-2**62."""
    return check_int(where, field, value, minimum=-MAX_TIME_ORIGIN_US, maximum=MAX_TIME_ORIGIN_US)


def check_bool(where: str, field: str, value: Any) -> bool:
    """A switch: ``True`` / ``False`` (numpy bools too), never a string or a number."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(where, field, "True or False", value)
    return bool(value)


def check_device(where: str, device: Any) -> Any:
    """``None`` (numpy output / the CPU) or a torch device this process can use; the core's
    check (:func:`spikesim.engine.simulator._device`) with this function's name."""
    if device is None:
        return None
    from spikesim.engine.simulator import _device

    try:
        return _device(device)
    except ParameterError as exc:
        raise ParameterError(where, "device", exc.expected, exc.found) from None


MAX_OUTPUT_BYTES = 1 << 34  # 16 GiB: the most any dense output may take (less on small hosts)


def max_output_bytes() -> int:
    """:data:`MAX_OUTPUT_BYTES`, or half the machine's memory where that is less."""
    from spikesim._memory import host_memory_bytes

    host = host_memory_bytes()
    return MAX_OUTPUT_BYTES if host is None else min(MAX_OUTPUT_BYTES, host // 2)


def check_alloc(
    where: str,
    field: str,
    value: Any,
    shape: tuple[int | float, ...],
    itemsize: int,
    *,
    advice: str = "use a coarser time step / window, fewer steps, or crop / downsample the "
    "events first",
) -> None:
    """Refuse an output of ``shape`` x ``itemsize`` bytes over :func:`max_output_bytes` before
    anything of that size is allocated (``shape`` may hold floats: counts not yet cast)."""
    limit = max_output_bytes()
    nbytes = float(itemsize)
    for v in shape:
        nbytes *= float(v)
    if not nbytes <= limit:
        dims = tuple(int(v) if math.isfinite(v) and abs(v) < 2**63 else v for v in shape)
        raise ParameterError(
            where,
            field,
            f"a value giving at most {limit / 2**30:.1f} GiB of output",
            value,
            hint=f"the output {dims} would take {nbytes / 2**30:.3g} GiB; {advice}",
        )


def pixel_index(events: np.ndarray, width: int) -> np.ndarray:
    """Flat pixel index ``y * width + x`` as int64."""
    return events["y"].astype(np.int64) * width + events["x"].astype(np.int64)


def refractory_keep(
    pix: np.ndarray,
    t: np.ndarray,
    gap_us: float,
    *,
    inclusive: bool,
    where: str = "refractory filter",
) -> np.ndarray:
    """Mask of events kept by a per-pixel refractory period measured from the last *kept* event.

    Per pixel, events are taken in time order (stream order among equal times); the first is
    kept, and a later one is kept when ``t - t_last_kept > gap_us`` (``>=`` with ``inclusive``).
    Vectorised over pixels: one pass per kept event of the busiest pixel.
    """
    n = t.shape[0]
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    order = np.lexsort((np.arange(n), t, pix))
    ps = pix[order]
    ts = t[order].astype(np.int64)
    tmin = int(ts.min())
    span = int(ts.max()) - tmin
    big = span + 1
    # a gap longer than the span keeps one event per pixel, as span + 1 does: clipping it
    # keeps the integer thresholds below from overflowing (refractory_us = 1e300)
    gap_us = min(float(gap_us), float(big))
    new_pixel = np.r_[True, ps[1:] != ps[:-1]]
    starts = np.flatnonzero(new_pixel)
    gp = np.cumsum(new_pixel, dtype=np.int64) - 1  # rank of the pixel: 0 .. n_pixels - 1
    if starts.size > (2**63 - 1) // big:
        raise ParameterError(
            where,
            "events['t']",
            f"a time span (us) times the number of active pixels ({starts.size}) below 2**63",
            f"a span of {span} us",
            hint="filter the recording in shorter pieces",
        )
    key = gp * big + (ts - tmin)
    keep_sorted = np.zeros(n, dtype=bool)
    cur = starts
    while cur.size:
        keep_sorted[cur] = True
        last = ts[cur]
        if inclusive:
            thr = np.ceil(last + gap_us).astype(np.int64)
        else:
            thr = np.floor(last + gap_us).astype(np.int64) + 1
        rel = thr - tmin
        ok = rel <= span
        cur, rel = cur[ok], rel[ok]
        nxt = np.maximum(np.searchsorted(key, gp[cur] * big + rel, side="left"), cur + 1)
        inside = nxt < n
        nxt, cur = nxt[inside], cur[inside]
        same = gp[nxt] == gp[cur]
        cur = nxt[same]
    keep[order] = keep_sorted
    return keep
