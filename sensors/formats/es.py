"""Event Stream ``.es`` (neuromorphic-paris ``loris`` / ``faery``), version 2.x, DVS type.

Header: ``Event Stream`` (12 bytes), major, minor, patch version bytes, the stream type byte
(0 generic, 1 DVS, 2 ATIS, 3 asynchronous display, 4 color) and, for DVS, width and height as
little-endian uint16. Only the DVS type carries polarity events; every other type is refused
with :class:`UnsupportedEventTypeError` naming the type found.

DVS byte stream (state machine of the specification): in the idle state a byte is either
``0xFF`` (overflow: the next event's time step grows by 127 µs), ``0xFE`` (reset, ignored) or
the first of a 5-byte event: bits 1–7 = time since the previous event (µs), bit 0 =
is_increase (1 = ON), then x (uint16 LE) and y (uint16 LE). The first event's time counts
from 0. Decoding is vectorised: runs of events are found on the stride-5 lattice (one numpy
search per run of overflow/reset bytes, not per event) and times are a cumulative sum; the
file is read in 4 MiB blocks with the time and any partial event carried across blocks.

A file that ends inside an event is a :class:`TruncatedFileError`; with
``allow_truncated=True`` the events before it are returned and a
:class:`TruncatedFileWarning` names the file and the byte offset of the partial event. A file
cut inside its header always raises.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from ..events import EVENT_DTYPE, Recording
from . import FormatSpec
from ._chunks import (
    DEFAULT_CHUNK_EVENTS,
    READ_BLOCK_BYTES,
    check_chunk_events,
    chunked,
    first_outside,
    joined,
)

__all__ = ["SPEC", "iter_chunks", "probe", "read", "sniff"]

MAGIC = b"Event Stream"
TYPES = {0: "generic", 1: "DVS", 2: "ATIS", 3: "asynchronous display", 4: "color"}
DVS_TYPE = 1
_OVERFLOW_US = 127
_DATA_START = 20


def sniff(head: bytes, path: str = "") -> bool:
    """True when the file starts with ``Event Stream``."""
    return head.startswith(MAGIC)


def _header(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, "rb") as f:
        head = f.read(_DATA_START)
    if not head.startswith(MAGIC):
        raise EventFormatError(path, 0, f"expected 'Event Stream' signature, found {head[:12]!r}")
    if len(head) < 16:
        raise TruncatedFileError(
            path, len(head), "file ends inside the 16-byte Event Stream header"
        )
    major, minor, patch, kind = head[12], head[13], head[14], head[15]
    version = f"{major}.{minor}.{patch}"
    if major != 2:
        raise EventFormatError(
            path, 12, f"Event Stream version {version} is not supported (expected 2.x)"
        )
    if kind != DVS_TYPE:
        if kind in TYPES:
            raise UnsupportedEventTypeError(
                path,
                15,
                f"Event Stream type {kind} ({TYPES[kind]}) holds no DVS polarity events; "
                "only the DVS type (1) is decoded",
            )
        raise EventFormatError(path, 15, f"unknown Event Stream type byte {kind} (expected 0-4)")
    if len(head) < _DATA_START:
        raise TruncatedFileError(path, len(head), "file ends before the DVS width/height bytes")
    width = int.from_bytes(head[16:18], "little")
    height = int.from_bytes(head[18:20], "little")
    return {"version": version, "type": TYPES[kind], "width": width, "height": height}


def _scan(b: np.ndarray, overflows: int) -> tuple[list[tuple[int, int, int]], int, int]:
    """Find event runs in ``b``: ([(start, count ≥ 1, overflows before)], consumed, overflows).

    ``overflows`` counts overflow bytes carried from the previous block; the returned count is
    the overflow bytes after the last event. Bytes after ``consumed`` (a partial event, < 5
    bytes) belong to the next block.
    """
    n = b.shape[0]
    segments: list[tuple[int, int, int]] = []
    pos = 0
    window = 64
    while pos < n:
        if b[pos] >= 0xFE:
            end = pos
            w = 64
            while True:  # find the end of the run of overflow/reset bytes
                below = np.flatnonzero(b[end : end + w] < 0xFE)
                if below.shape[0]:
                    end += int(below[0])
                    break
                end = min(end + w, n)
                if end >= n:
                    break
                w *= 2
            overflows += int(np.count_nonzero(b[pos:end] == 0xFF))
            pos = end
            continue
        if n - pos < 5:
            break
        start = pos
        count = 0
        while True:  # events on the stride-5 lattice until a special byte or the block end
            lattice = b[pos : min(n, pos + 5 * window) : 5]
            full = (n - pos) // 5  # complete events left in the block
            hits = np.flatnonzero(lattice >= 0xFE)
            k = int(hits[0]) if hits.shape[0] else lattice.shape[0]
            k_complete = min(k, full)
            count += k_complete
            pos += 5 * k_complete
            if hits.shape[0] or k_complete < lattice.shape[0] or pos >= n:
                window = max(64, 2 * k)
                break
            window = min(window * 2, 1 << 20)
        segments.append((start, count, overflows))
        overflows = 0
        if pos < n and b[pos] < 0xFE:
            break  # partial event at the end of the block
    return segments, pos, overflows


_PACKED = (
    EVENT_DTYPE.itemsize == 13
    and EVENT_DTYPE.fields is not None  # a structured dtype: never None
    and [EVENT_DTYPE.fields[k][1] for k in "txyp"] == [0, 8, 10, 12]
)


def _events(b: np.ndarray, segments: list[tuple[int, int, int]], t0: int) -> np.ndarray:
    rows = np.concatenate([b[s : s + 5 * c].reshape(c, 5) for s, c, _ in segments])
    dt = (rows[:, 0] >> 1).astype(np.int64)
    first = 0
    for _, c, ov in segments:
        if ov:
            dt[first] += _OVERFLOW_US * ov
        first += c
    n = rows.shape[0]
    out = np.empty(n, dtype=EVENT_DTYPE)
    np.cumsum(dt, out=dt)
    dt += t0
    out["t"] = dt
    if _PACKED:  # x and y are little-endian uint16 in both layouts: one strided byte copy
        out.view(np.uint8).reshape(n, 13)[:, 8:12] = rows[:, 1:5]
    else:  # pragma: no cover - only if EVENT_DTYPE's layout ever changes
        out["x"] = rows[:, 1].astype(np.uint16) | (rows[:, 2].astype(np.uint16) << 8)
        out["y"] = rows[:, 3].astype(np.uint16) | (rows[:, 4].astype(np.uint16) << 8)
    out["p"] = rows[:, 0] & 1
    return out


def _iter_decoded(path: str | os.PathLike, h: dict[str, Any]) -> Iterator[np.ndarray]:
    width, height = h["width"], h["height"]
    size = os.stat(path).st_size
    t = 0
    overflows = 0
    carry = b""
    offset = _DATA_START
    with open(path, "rb") as f:
        f.seek(_DATA_START)
        while True:
            block = f.read(READ_BLOCK_BYTES)
            final = not block or f.tell() >= size
            data = carry + block
            if not data:
                break
            b = np.frombuffer(data, dtype=np.uint8)
            segments, consumed, overflows = _scan(b, overflows)
            if segments:
                ev = _events(b, segments, t)
                bad = first_outside(ev, (width, height))
                if bad is not None:
                    raise EventFormatError(
                        path,
                        offset + segments[0][0],
                        f"event {bad} of this block at x={int(ev['x'][bad])}, "
                        f"y={int(ev['y'][bad])} is outside the {width}x{height} sensor "
                        "declared in the header",
                    )
                t = int(ev["t"][-1])
                yield ev
            carry = data[consumed:]
            offset += consumed
            if final:
                break
    if carry:
        raise TruncatedFileError(
            path, offset, f"file ends inside an event ({len(carry)} of 5 bytes present)"
        )


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    allow_truncated: bool = False,
) -> Iterator[np.ndarray]:
    """Decode DVS events in chunks of at most ``chunk_events`` (4 MiB reads).

    ``allow_truncated=True``: a partial last event ends the stream with a
    :class:`TruncatedFileWarning` instead of a :class:`TruncatedFileError`.
    """
    chunk_events = check_chunk_events(chunk_events)
    h = _header(path)  # header errors raise whatever allow_truncated says
    yield from chunked(
        _iter_decoded(path, h), chunk_events, allow_truncated=allow_truncated, what="Event Stream"
    )


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Header facts: version, stream type, sensor size (refuses non-DVS types)."""
    h = _header(path)
    return {
        "format": SPEC.name,
        "sensor_size": (h["width"], h["height"]),
        "version": h["version"],
        "event_type": h["type"],
    }


def read(path: str | os.PathLike, *, allow_truncated: bool = False) -> Recording:
    """Decode the whole DVS stream into a :class:`Recording`.

    ``allow_truncated=True``: a partial last event gives a :class:`TruncatedFileWarning` and
    the events before it instead of a :class:`TruncatedFileError`.
    """
    facts = probe(path)
    pieces = _iter_decoded(path, _header(path))
    events = joined(pieces, allow_truncated=allow_truncated, what="Event Stream")
    meta = {"version": facts["version"], "event_type": facts["event_type"]}
    return Recording(events, facts["sensor_size"], SPEC.name, os.fspath(path), meta)


SPEC = FormatSpec(
    name="EventStream",
    description="Event Stream .es 2.x (loris/faery), DVS type",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=None,
    extensions=(".es",),
)
