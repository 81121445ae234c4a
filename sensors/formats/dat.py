"""Prophesee ``.dat`` (CD / Event2d events, e.g. the N-CARS and loris files).

Layout: ``%`` text header lines (``% Data file containing N9Chronocam7Event2dE events.``,
``% Version 2``, ``% Date ...``, optionally ``% Height H`` / ``% Width W`` or
``% geometry WxH``), then one byte event type (0 = Event2d, 12 = EventCD) and one byte event
size (8), then records of u32 t (µs, as stored) and u32 data: x bits 0–13, y bits 14–27,
polarity bits 28–31 (0 OFF, 1 ON). Files that name no size (N-CARS) give
``sensor_size=None`` unless the ``sensor_size`` option sets it.

Bad input: a record cut short is a :class:`TruncatedFileError` (``allow_truncated=True`` warns
and returns the whole records); an event type other than 0/12 is
:class:`UnsupportedEventTypeError`; a polarity other than 0/1, or coordinates outside a known
sensor, is :class:`EventFormatError` naming the record's byte offset (``strict=False`` drops
such records).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from ..events import EVENT_DTYPE
from . import FormatSpec
from ._chunks import FileWriter
from ._prophesee import (
    Opened,
    WordReader,
    check_events_for_write,
    check_sensor,
    header_text,
    parse_header_bytes,
    read_header,
    sensor_of,
    write_sensor,
)

__all__ = ["SPEC", "DatWriter", "iter_chunks", "open_writer", "probe", "read", "sniff", "write"]

RECORD_BYTES = 8
EVENT_TYPES = {0: "Event2d", 12: "EventCD"}
_RECORD = np.dtype([("t", "<u4"), ("d", "<u4")])


def sniff(head: bytes, path: str = "") -> bool:
    """A ``%`` header with no RAW encoding line, from a ``.dat`` writer (Version line, "Data
    file containing" line, or the event type/size bytes (type, 8) right after it)."""
    try:
        h = parse_header_bytes(head, complete=False)
    except ValueError:
        return False
    if h is None or h["encoding"] is not None:
        return False
    first = h["lines"][0] if h["lines"] else ""
    if first.startswith("Data file containing") or "Version" in h["fields"]:
        return True
    off = h["data_offset"]
    return h["header_complete"] and len(head) >= off + 2 and head[off + 1] == RECORD_BYTES


def _open(path: str | os.PathLike, sensor_size: Any) -> Opened:
    h = read_header(path)
    if h["encoding"] is not None:
        raise EventFormatError(
            path, 0, f"header announces the RAW encoding {h['encoding']}, not a .dat file"
        )
    off = h["data_offset"]
    with open(path, "rb") as f:
        f.seek(off)
        ts = f.read(2)
    if len(ts) < 2:
        raise TruncatedFileError(
            path, off + len(ts), "file ends before the .dat event type and size bytes"
        )
    etype, esize = ts[0], ts[1]
    if esize != RECORD_BYTES:
        raise EventFormatError(path, off + 1, f"expected .dat event size 8 bytes, found {esize}")
    if etype not in EVENT_TYPES:
        raise UnsupportedEventTypeError(
            path,
            off,
            f".dat event type {etype} is not a CD event type (expected 0 Event2d or 12 EventCD)",
        )
    sensor, source = sensor_of(h, sensor_size, "dat")
    return Opened(h, sensor, source, off + 2, {"event_type": EVENT_TYPES[etype]})


class _Decoder:
    def __init__(self, path, sensor, strict: bool) -> None:
        self.path = path
        self.sensor = sensor
        self.strict = strict

    def __call__(self, r: np.ndarray, offset: int, final: bool) -> tuple[np.ndarray, int]:
        d = r["d"]
        ev = np.empty(r.shape[0], dtype=EVENT_DTYPE)
        ev["t"] = r["t"]
        ev["x"] = d & 0x3FFF
        ev["y"] = (d >> 14) & 0x3FFF
        pol = d >> 28
        ev["p"] = pol & 1
        if ev.shape[0] == 0:
            return ev, 0
        suspect = int(pol.max()) > 1 or (
            self.sensor is not None
            and (int(ev["x"].max()) >= self.sensor[0] or int(ev["y"].max()) >= self.sensor[1])
        )
        if suspect:
            bad = pol > 1
            if self.sensor is not None:
                bad |= (ev["x"] >= self.sensor[0]) | (ev["y"] >= self.sensor[1])
            if self.strict:
                i = int(np.flatnonzero(bad)[0])
                at = offset + i * RECORD_BYTES
                if pol[i] > 1:
                    raise EventFormatError(
                        self.path, at, f"polarity {int(pol[i])} in record (expected 0 or 1)"
                    )
                check_sensor(self.path, np.array([at]), ev[i : i + 1], self.sensor, "event")
            ev = ev[~bad]
        return ev, r.shape[0]


_READER = WordReader(
    name="DAT",
    where="dat",
    what=".dat record",
    word=_RECORD,
    open=_open,
    decoder=lambda path, opened, strict: _Decoder(path, opened.sensor, strict),
    count_key="n_events",
)
iter_chunks = _READER.iter_chunks  # (path, *, chunk_events, sensor_size, strict, ...)
probe = _READER.probe  # header facts: event type, sensor size (None when not recorded), ...
read = _READER.read  # the whole file as a Recording (t in µs as stored)


# ---------------------------------------------------------------- writing
def _encode(events: np.ndarray, sensor: tuple[int, int] | None) -> bytes:
    ev = check_events_for_write(events, "dat write")
    if ev.shape[0] == 0:
        return b""
    t = ev["t"].astype(np.int64)
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    p = ev["p"].astype(np.int64)
    if t.min() < 0 or t.max() >= 1 << 32:
        raise ValueError(
            f"dat write t: expected 0 <= t < 2**32 us (u32 field), found t in [{t.min()}, "
            f"{t.max()}]"
        )
    lims = sensor or (1 << 14, 1 << 14)
    for name, v, lim in (("x", x, lims[0]), ("y", y, lims[1])):
        if v.min() < 0 or v.max() >= lim:
            raise ValueError(
                f"dat write {name}: expected 0 <= {name} < {lim}, found {name} in "
                f"[{v.min()}, {v.max()}]"
            )
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"dat write p: expected 0 or 1, found p in [{p.min()}, {p.max()}]")
    r = np.empty(t.shape[0], dtype=_RECORD)
    r["t"] = t
    r["d"] = x | (y << 14) | (p << 28)
    return r.tobytes()


def _write_sensor(sensor_size: Any) -> tuple[int, int] | None:
    return write_sensor(sensor_size, "dat write", bits=14, required=False)


class DatWriter(FileWriter):
    """Streaming ``.dat`` writer (Event2d records); ``sensor_size`` may be ``None``."""

    def __init__(self, path: str | os.PathLike, *, sensor_size: Any = None) -> None:
        self.sensor = _write_sensor(sensor_size)
        lines = ["Data file containing Event2d events.", "Version 2"]
        if self.sensor is not None:
            lines += [f"Height {self.sensor[1]}", f"Width {self.sensor[0]}"]
        super().__init__(path, header_text(lines) + bytes([0, RECORD_BYTES]))

    def append(self, events: np.ndarray) -> None:
        self._f.write(_encode(events, self.sensor))


def open_writer(path: str | os.PathLike, *, sensor_size: Any = None, **options: Any) -> DatWriter:
    """A streaming :class:`DatWriter`."""
    if options:
        raise ValueError(f"dat write: unknown options {sorted(options)}")
    return DatWriter(path, sensor_size=sensor_size)


def write(path: str | os.PathLike, events: np.ndarray, *, sensor_size: Any = None) -> None:
    """Write events as ``.dat`` Event2d records so :func:`read` returns them."""
    sensor = _write_sensor(sensor_size)
    data = _encode(events, sensor)  # validate before creating the file
    with DatWriter(path, sensor_size=sensor) as wr:
        wr._f.write(data)


SPEC = FormatSpec(
    name=_READER.name,
    description="Prophesee .dat (Event2d / CD records)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".dat",),
)
