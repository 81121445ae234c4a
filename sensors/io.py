"""Open any registered event recording, stream it, and play it back like a live camera.

:func:`open` detects the format from the file's first bytes through the registry's sniffers
(never from the extension alone) and returns an :class:`EventReader`. The reader streams:

* :meth:`EventReader.iter_chunks` — bounded chunks in file order (constant memory);
* :meth:`EventReader.iter_windows` — consecutive time windows of ``window_us`` (or
  ``window_s``), carrying events across chunk boundaries, empty windows yielded or skipped;
* :meth:`EventReader.iter_batches` — consecutive batches of exactly ``events_per_batch``
  events (the last one shorter).

:func:`play` paces windows to the wall clock (``speed`` × real time) and :func:`aplay` does
the same as an async iterator for live pipelines; both take injectable clock and sleep
functions so they can be tested without waiting.

Windows are cut in file order: window ``k`` covers ``[t0 + k·w, t0 + (k+1)·w)`` and ends at the
first event whose timestamp reaches its end. In a file whose timestamps step back (real EVT3
recordings do, by design of the format), an event earlier than its window's start stays in
the window being filled, so no event is lost or reordered.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import inspect
import math
import numbers
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import numpy as np

from spikesim.errors import ParameterError

from ._checks import (
    check_bool,
    check_event_fields,
    check_int,
    check_sensor_size,
    check_time_origin,
)
from .errors import EventFormatError
from .events import EVENT_DTYPE, Recording
from .formats import FormatSpec, all_formats, get_format
from .formats._chunks import DEFAULT_CHUNK_EVENTS, check_chunk_events, join_events

__all__ = [
    "SNIFF_BYTES",
    "EventReader",
    "EventWindow",
    "aplay",
    "detect_format",
    "open",
    "play",
]

SNIFF_BYTES = 4096


@dataclasses.dataclass(frozen=True)
class EventWindow:
    """Events of one time window ``[t_start_us, t_end_us)`` (``index`` counts from 0)."""

    index: int
    t_start_us: int
    t_end_us: int
    events: np.ndarray = dataclasses.field(repr=False)

    def __len__(self) -> int:
        return int(self.events.shape[0])

    def __repr__(self) -> str:
        return (
            f"EventWindow(index={self.index}, t_start_us={self.t_start_us}, "
            f"t_end_us={self.t_end_us}, n_events={len(self)})"
        )


def detect_format(path: str | os.PathLike) -> FormatSpec:
    """The first registered format whose sniffer accepts the file's first bytes.

    Raises :class:`EventFormatError` naming the file, the formats tried and the first bytes
    found when none does, and for each format whose extension the file has, what its reader
    reports (e.g. a ``.bin`` N-MNIST file that ends with a partial record) or that its header
    was not found, with how to force it; ``FileNotFoundError`` / ``IsADirectoryError`` for a
    missing path.
    """
    path = os.fspath(path)
    with builtins.open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    specs = all_formats()
    for spec in specs:
        if spec.sniff(head, path):
            return spec
    tried = ", ".join(s.name for s in specs)
    ext = os.path.splitext(path)[1].lower()
    owners = [s for s in specs if ext and ext in s.extensions]
    hint = ""
    if owners:  # the formats the name points at: what their readers say about it
        reports = [(s.name, s.diagnose(path) if s.diagnose is not None else None) for s in owners]
        said = [f"the {name} reader reports: {found}" for name, found in reports if found]
        silent = [name for name, found in reports if not found]
        if silent:
            said.append(f"no {' or '.join(silent)} header at the start")
        first = owners[0].name
        names = [s.name for s in owners]
        named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        hint = (
            f"; the extension {ext} is that of {named}: "
            + "; ".join(said)
            + f" (to try a reader, give the format: --format {first} on the command line "
            "(--in-format for events convert), "
            f"format={first!r} in spikesim.sensors.io.open, where allow_truncated=True keeps "
            "the events before a cut)"
        )
    raise EventFormatError(
        path,
        0,
        f"no registered event format recognises this file (formats tried: {tried}); "
        f"first bytes: {head[:16]!r}{hint}",
    )


def _accepts(func: Callable[..., Any], name: str) -> bool:
    params = inspect.signature(func).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def open(path: str | os.PathLike, *, format: str | None = None, **options: Any) -> EventReader:  # noqa: A001
    """Open an event recording; the format comes from the file's first bytes.

    ``format`` forces a registered format by name (e.g. ``"HDF5"``) instead of sniffing;
    ``options`` go to the format's reader (e.g. ``stream_id`` for AEDAT4, ``t_unit`` for
    text). The file is not decoded here: only its header is probed.
    """
    path = os.fspath(path)
    if format is None:
        spec = detect_format(path)
    else:
        spec = get_format(format)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
    for key in options:
        if not (_accepts(spec.read, key) or _accepts(spec.iter_chunks, key)):
            raise ParameterError(
                f"open {path}",
                "options",
                f"options the {spec.name} reader understands",
                key,
                hint=f"option {key!r} is not understood by the {spec.name} reader",
            )
    if options.get("sensor_size") is not None:
        check_sensor_size(f"open {path}", options["sensor_size"])
    return EventReader(path, spec, options)


class EventReader:
    """A recording opened by :func:`open`: header facts now, events on demand.

    ``format`` is the detected format's name, ``sensor_size`` ``(width, height)`` or ``None``
    when the file does not record it, ``metadata`` the header facts the format's probe found.
    """

    def __init__(self, path: str, spec: FormatSpec, options: dict[str, Any]) -> None:
        self.path = path
        self.spec = spec
        self.options = dict(options)
        facts = dict(spec.probe(path))
        size = facts.get("sensor_size")
        override = options.get("sensor_size")
        if isinstance(override, tuple | list) and len(override) == 2:
            size = override
        self.sensor_size: tuple[int, int] | None = (
            (int(size[0]), int(size[1])) if size is not None else None
        )
        self.metadata: dict[str, Any] = facts

    @property
    def format(self) -> str:
        """Name of the detected format (the registry's :attr:`FormatSpec.name`)."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"EventReader({self.path!r}, format={self.format!r}, sensor_size={self.sensor_size})"

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    # ------------------------------------------------------------------ whole and chunks
    def read(self) -> Recording:
        """Decode the whole recording into a :class:`Recording`."""
        return self.spec.read(self.path, **self.options)

    def iter_chunks(
        self, *, chunk_events: int = DEFAULT_CHUNK_EVENTS, **hints: Any
    ) -> Iterator[np.ndarray]:
        """File-order chunks of at most ``chunk_events`` events, never empty.

        ``hints`` (e.g. ``t_start_us``) go to formats whose ``iter_chunks`` accepts them.
        """
        chunk_events = check_chunk_events(chunk_events)
        opts = {k: v for k, v in self.options.items() if _accepts(self.spec.iter_chunks, k)}
        opts.update({k: v for k, v in hints.items() if _accepts(self.spec.iter_chunks, k)})
        for chunk in self.spec.iter_chunks(self.path, chunk_events=chunk_events, **opts):
            if chunk.shape[0]:
                yield chunk

    def iter_batches(
        self, *, events_per_batch: int, chunk_events: int = DEFAULT_CHUNK_EVENTS
    ) -> Iterator[np.ndarray]:
        """Consecutive batches of exactly ``events_per_batch`` events (the last one shorter)."""
        n = check_chunk_events(events_per_batch, name="events_per_batch", where="iter_batches")
        pending: list[np.ndarray] = []
        have = 0
        for chunk in self.iter_chunks(chunk_events=chunk_events):
            while chunk.shape[0]:
                take = min(n - have, chunk.shape[0])
                pending.append(chunk[:take])
                have += take
                chunk = chunk[take:]
                if have == n:
                    yield join_events(pending)
                    pending, have = [], 0
        if have:
            yield join_events(pending)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iter_chunks()

    # ------------------------------------------------------------------ time windows
    def iter_windows(
        self,
        *,
        window_us: int | None = None,
        window_s: float | None = None,
        t_start_us: int | None = None,
        t_end_us: int | None = None,
        skip_empty: bool = False,
        chunk_events: int = DEFAULT_CHUNK_EVENTS,
    ) -> Iterator[EventWindow]:
        """Consecutive windows of ``window_us`` microseconds (or ``window_s`` seconds).

        Windows start at ``t_start_us`` (default: the first event's timestamp); events before
        it, and from ``t_end_us`` on, are dropped (formats with a time index, such as DSEC's
        ``ms_to_idx``, skip to it instead of reading the events before it). Empty windows between events are yielded
        unless ``skip_empty``; with ``t_end_us`` the windows run up to it. Memory holds one
        chunk plus the events of one window, whatever the file size.
        """
        width_us = _window_width_us(window_us, window_s)
        t_start_us, t_end_us = _window_range(t_start_us, t_end_us)
        skip_empty = check_bool("iter_windows", "skip_empty", skip_empty)
        chunk_events = check_chunk_events(chunk_events, where="iter_windows")
        # formats with a time index (DSEC's ms_to_idx) start reading near t_start_us
        seek = {} if t_start_us is None else {"t_start_us": t_start_us}
        return iter_windows(
            self.iter_chunks(chunk_events=chunk_events, **seek),
            window_us=width_us,
            t_start_us=t_start_us,
            t_end_us=t_end_us,
            skip_empty=skip_empty,
        )


def _window_width_us(window_us: int | None, window_s: float | None) -> int:
    where = "iter_windows"
    if (window_us is None) == (window_s is None):
        raise ParameterError(
            where,
            "window_us / window_s",
            "exactly one of window_us and window_s",
            {"window_us": window_us, "window_s": window_s},
        )
    if window_s is not None:
        if (
            isinstance(window_s, (bool, np.bool_))
            or not isinstance(window_s, numbers.Real)
            or not (math.isfinite(window_s) and window_s > 0)
        ):
            raise ParameterError(where, "window_s", "a positive number of seconds", window_s)
        width = round(float(window_s) * 1e6)
        if width < 1:
            raise ParameterError(where, "window_s", "at least 1 microsecond (1e-6 s)", window_s)
        return width
    return check_int(where, "window_us", window_us, minimum=1)


def _window_range(t_start_us: Any, t_end_us: Any) -> tuple[int | None, int | None]:
    """``t_start_us`` / ``t_end_us`` as ints (or None), the end after the start."""
    where = "iter_windows"
    t0 = None if t_start_us is None else check_time_origin(where, "t_start_us", t_start_us)
    t1 = None if t_end_us is None else check_time_origin(where, "t_end_us", t_end_us)
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ParameterError("iter_windows", "t_end_us", f"greater than t_start_us ({t0})", t1)
    return t0, t1


def iter_windows(
    chunks: Iterator[np.ndarray],
    *,
    window_us: int,
    t_start_us: int | None = None,
    t_end_us: int | None = None,
    skip_empty: bool = False,
) -> Iterator[EventWindow]:
    """Cut a stream of event chunks into time windows (see :meth:`EventReader.iter_windows`)."""
    w = _window_width_us(window_us, None)
    t0, t_end = _window_range(t_start_us, t_end_us)
    skip_empty = check_bool("iter_windows", "skip_empty", skip_empty)
    run_max: int | None = None  # running maximum of timestamps seen so far
    current = -1  # index of the window being filled
    pending: list[np.ndarray] = []
    empty = np.zeros(0, dtype=EVENT_DTYPE)

    def emit(k: int, origin: int) -> EventWindow:
        ev = empty if not pending else join_events(pending)
        return EventWindow(k, origin + k * w, origin + (k + 1) * w, ev)

    finished = False
    for chunk in chunks:
        check_event_fields("iter_windows", chunk, "chunk")
        if chunk.shape[0] == 0:
            continue  # nothing to place (readers never yield one; other chunk sources may)
        t = chunk["t"]
        if t0 is None:
            t0 = int(t[0])
            if t_end is not None and t_end <= t0:
                return
        if t_end is not None and int(t.max()) >= t_end:
            # stop at the first event (file order) that reaches t_end
            cut = int(np.argmax(t >= t_end))
            chunk, t = chunk[:cut], t[:cut]
            finished = True
        if t_start_us is not None and chunk.shape[0] and int(t.min()) < t0:
            chunk = chunk[t >= t0]
            t = chunk["t"]
        if chunk.shape[0]:
            m = np.array(t, dtype=np.int64)  # contiguous copy: accumulate is ~10x slower
            np.maximum.accumulate(m, out=m)  # on the strided field view
            if run_max is not None and run_max > m[0]:
                np.maximum(m, run_max, out=m)
            run_max = int(m[-1])
            starts, ends, ks = _segments(m, t0, w)
            for s, e, k in zip(starts, ends, ks, strict=True):
                if k != current:
                    if current >= 0:
                        yield emit(current, t0)
                    pending = []
                    if not skip_empty:
                        for j in range(current + 1, k):
                            yield EventWindow(j, t0 + j * w, t0 + (j + 1) * w, empty)
                    current = k
                pending.append(chunk[s:e])
        if finished:
            break
    if t0 is None:
        if t_start_us is None or t_end is None or skip_empty:
            return
        t0 = int(t_start_us)
    if current >= 0:
        yield emit(current, t0)
    if t_end is not None and not skip_empty:
        last = -(-(t_end - t0) // w)  # number of windows needed to reach t_end
        for j in range(current + 1, last):
            yield EventWindow(j, t0 + j * w, t0 + (j + 1) * w, empty)


def _segments(m: np.ndarray, t0: int, w: int) -> tuple[list[int], list[int], list[int]]:
    """(starts, ends, window indices) of the runs of a chunk, given its running maximum ``m``.

    ``m`` is non-decreasing, so window edges are found by binary search when the chunk spans
    no more windows than it has events; across a long gap, by dividing every timestamp.
    """
    n = m.shape[0]
    k_first, k_last = (int(m[0]) - t0) // w, (int(m[-1]) - t0) // w
    if k_first == k_last:
        return [0], [n], [k_first]
    if k_last - k_first <= n:
        ks = np.arange(k_first, k_last + 1)
        cuts = np.searchsorted(m, t0 + w * ks[1:], "left")
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [n]))
        keep = ends > starts
        return starts[keep].tolist(), ends[keep].tolist(), ks[keep].tolist()
    idx = (m - t0) // w
    bounds = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    return starts.tolist(), ends.tolist(), idx[starts].tolist()


# ---------------------------------------------------------------------- playback
def _check_play(where: str, speed: Any, clock: Any, sleep: Any) -> float:
    if (
        isinstance(speed, (bool, np.bool_))
        or not isinstance(speed, numbers.Real)
        or not float(speed) > 0
    ):
        raise ParameterError(where, "speed", "a positive factor (1.0 = real time)", speed)
    for name, fn in (("clock", clock), ("sleep", sleep)):
        if not callable(fn):
            raise ParameterError(where, name, "a function", fn)
    return float(speed)


def _windows_for_play(
    where: str,
    source: EventReader | Iterator[EventWindow],
    window_us: int | None,
    window_s: float | None,
) -> Iterator[EventWindow]:
    if isinstance(source, EventReader):
        return source.iter_windows(
            window_us=_window_width_us(window_us, window_s) if window_s is not None else window_us
        )
    if isinstance(source, (Recording, np.ndarray, str, bytes)) or not hasattr(source, "__iter__"):
        raise ParameterError(
            where,
            "reader",
            "an EventReader (spikesim.sensors.open) or an iterator of EventWindow",
            type(source).__name__,
        )

    def checked() -> Iterator[EventWindow]:
        for win in source:
            if not isinstance(win, EventWindow):
                raise ParameterError(where, "reader", "windows of type EventWindow", win)
            yield win

    return checked()


def play(
    reader: EventReader,
    *,
    speed: float = 1.0,
    window_us: int | None = 10_000,
    window_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[EventWindow]:
    """Yield the recording's windows paced to the wall clock, as a live camera would.

    Window ``k`` is released once ``(t_end_us - t0) / speed`` microseconds of wall time
    have passed since playback began (a camera delivers events after they happen).
    ``speed=2.0`` plays twice as fast, ``math.inf`` as fast as possible. A consumer that
    falls behind gets the late windows at once (none dropped). ``clock`` (seconds) and
    ``sleep`` are injectable for tests.
    """
    speed = _check_play("play", speed, clock, sleep)
    if window_s is not None:
        window_us = None
    origin: tuple[float, int] | None = None  # (wall clock, t_start_us) at the first window
    for win in _windows_for_play("play", reader, window_us, window_s):
        if origin is None:
            origin = (clock(), win.t_start_us)
        start_wall, t0 = origin
        if math.isfinite(speed):
            due = start_wall + (win.t_end_us - t0) * 1e-6 / speed
            delay = due - clock()
            if delay > 0:
                sleep(delay)
        yield win


def _next_window(windows: Iterator[EventWindow]) -> EventWindow | None:
    return next(windows, None)  # windows are never None, so None marks the end


async def aplay(
    reader: EventReader,
    *,
    speed: float = 1.0,
    window_us: int | None = 10_000,
    window_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    decode_in_thread: bool = True,
) -> AsyncIterator[EventWindow]:
    """``async for window in aplay(reader)``: :func:`play` for asyncio pipelines.

    Decoding of the next window runs in a worker thread (``decode_in_thread``) so other tasks
    keep running while the file is read; waiting uses ``await sleep(delay)``.
    """
    speed = _check_play("aplay", speed, clock, sleep)
    decode_in_thread = check_bool("aplay", "decode_in_thread", decode_in_thread)
    if window_s is not None:
        window_us = None
    windows = _windows_for_play("aplay", reader, window_us, window_s)
    origin: tuple[float, int] | None = None  # (wall clock, t_start_us) at the first window
    while True:
        if decode_in_thread:
            win = await asyncio.to_thread(_next_window, windows)
        else:
            win = _next_window(windows)
        if win is None:
            return
        if origin is None:
            origin = (clock(), win.t_start_us)
        start_wall, t0 = origin
        if math.isfinite(speed):
            delay = start_wall + (win.t_end_us - t0) * 1e-6 / speed - clock()
            if delay > 0:
                await sleep(delay)
        yield win
