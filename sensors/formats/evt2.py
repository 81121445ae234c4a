"""Prophesee EVT 2.0 RAW: ``%`` text header, then 32-bit little-endian words.

Word type in bits 28–31: 0 CD_OFF, 1 CD_ON (timestamp low bits 22–27, x 11–21, y 0–10),
8 TIME_HIGH (bits 0–27 = t >> 6), 0xA external trigger, 0xE others, 0xF continued; every
other type is ignored, as OpenEB's decoder does. Decoding follows OpenEB's ``EVT2Decoder``:
words before the first TIME_HIGH are skipped, a CD event's time is the last TIME_HIGH << 6
plus its 6 low bits (µs, as stored: no shift to zero), and a time loop (2^34 µs) is counted
when TIME_HIGH falls by at least 2^34 − 64 − 10,000 µs.

OpenEB forwards CD events with coordinates outside the sensor; here they are an
:class:`EventFormatError` naming the word's byte offset (``strict=False`` drops them
instead). The sensor size comes from the header (format line, geometry or the recording
plugin, see :mod:`._prophesee`) or the ``sensor_size`` option.

The writer stores events with non-decreasing ``t`` in [0, 2^34) µs and x, y < 2048.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..events import EVENT_DTYPE
from . import FormatSpec
from ._chunks import FileWriter
from ._prophesee import (
    Opened,
    WordReader,
    check_events_for_write,
    check_sensor,
    open_raw,
    raw_header,
    sniff_encoding,
    write_sensor,
)

__all__ = ["SPEC", "Evt2Writer", "iter_chunks", "open_writer", "probe", "read", "sniff", "write"]

ENCODING = "EVT2"
WORD_BYTES = 4
CD_OFF, CD_ON, TIME_HIGH = 0, 1, 8
_MAX_TIMESTAMP = ((1 << 28) - 1) << 6
_LOOP_THRESHOLD = 10_000
_TIME_LOOP = _MAX_TIMESTAMP + (1 << 6)
T_LIMIT = 1 << 34


def sniff(head: bytes, path: str = "") -> bool:
    """True for a ``%`` header announcing EVT 2.0 (``% evt 2.0`` or ``% format EVT2``)."""
    return sniff_encoding(head, ENCODING)


class _Decoder:
    """OpenEB's EVT 2.0 state machine, vectorised per block; state carried across blocks."""

    def __init__(self, path: str | os.PathLike, sensor: tuple[int, int] | None, strict: bool):
        self.path = path
        self.sensor = sensor
        self.strict = strict
        self.started = False  # a TIME_HIGH has been seen
        self.th = 0  # last TIME_HIGH value (28 bits)
        self.loops = 0

    def __call__(self, w: np.ndarray, offset: int, final: bool) -> tuple[np.ndarray, int]:
        n = w.shape[0]
        typ = w >> 28
        start = 0
        if not self.started:
            first = np.flatnonzero(typ == TIME_HIGH)
            if first.shape[0] == 0:
                return np.zeros(0, dtype=EVENT_DTYPE), n
            start = int(first[0])
            self.th = int(w[start] & 0x0FFFFFFF)
            self.started = True
            w, typ = w[start:], typ[start:]
        is_th = typ == TIME_HIGH
        th_pos = np.flatnonzero(is_th)
        th_val = (w[th_pos] & 0x0FFFFFFF).astype(np.int64)
        prev = np.empty_like(th_val)
        if th_val.shape[0]:
            prev[0] = self.th
            prev[1:] = th_val[:-1]
        drop = (prev - th_val) << 6
        loops = np.cumsum(drop >= _MAX_TIMESTAMP - _LOOP_THRESHOLD) + self.loops
        base = np.empty(th_val.shape[0] + 1, dtype=np.int64)  # [before any, after each TH]
        base[0] = (self.th << 6) + self.loops * _TIME_LOOP
        base[1:] = (th_val << 6) + loops * _TIME_LOOP
        is_cd = typ <= CD_ON
        cd_pos = np.flatnonzero(is_cd)
        cw = w[cd_pos]
        ev = np.empty(cd_pos.shape[0], dtype=EVENT_DTYPE)
        if cd_pos.shape[0] + th_pos.shape[0] == w.shape[0]:  # only CD and TIME_HIGH words:
            k = cd_pos - np.arange(cd_pos.shape[0])  # TIME_HIGHs before each CD word
        else:
            k = np.cumsum(is_th, dtype=np.int32)[cd_pos]
        t = base[k]  # the last TIME_HIGH before each CD word
        t += (cw >> 22) & 0x3F
        ev["t"] = t
        ev["x"] = (cw >> 11) & 0x7FF
        ev["y"] = cw & 0x7FF
        ev["p"] = (cw >> 28) & 1
        if th_val.shape[0]:
            self.th = int(th_val[-1])
            self.loops = int(loops[-1])
        if (
            self.sensor is not None
            and ev.shape[0]
            and (int(ev["x"].max()) >= self.sensor[0] or int(ev["y"].max()) >= self.sensor[1])
        ):
            bad = (ev["x"] >= self.sensor[0]) | (ev["y"] >= self.sensor[1])
            if bad.any():
                if self.strict:
                    offs = offset + (start + cd_pos) * WORD_BYTES
                    check_sensor(self.path, offs, ev, self.sensor, "CD event")
                ev = ev[~bad]
        return ev, n


def _open(path: str | os.PathLike, sensor_size: Any) -> Opened:
    return open_raw(path, ENCODING, sensor_size, "evt2")


_READER = WordReader(
    name="EVT2.0",
    where="evt2",
    what="EVT 2.0",
    word=np.dtype("<u4"),
    open=_open,
    decoder=lambda path, opened, strict: _Decoder(path, opened.sensor, strict),
)
iter_chunks = _READER.iter_chunks  # (path, *, chunk_events, sensor_size, strict, ...)
probe = _READER.probe  # header facts: sensor size and source, camera, header, n_words
read = _READER.read  # the whole file as a Recording (t in µs as stored)


# ---------------------------------------------------------------- writing
def _write_sensor(sensor_size: Any) -> tuple[int, int]:
    return write_sensor(sensor_size, "evt2 write", bits=11)


def _encode(
    events: np.ndarray, sensor: tuple[int, int], prev_th: int, prev_t: int
) -> tuple[bytes, int, int]:
    """EVT 2.0 words for ``events`` after a stream whose last TIME_HIGH was ``prev_th``."""
    ev = check_events_for_write(events, "evt2 write")
    if ev.shape[0] == 0:
        return b"", prev_th, prev_t
    t = ev["t"].astype(np.int64)
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    if t[0] < prev_t or (t.shape[0] > 1 and np.any(np.diff(t) < 0)):
        raise ValueError("evt2 write t: expected non-decreasing timestamps (file order)")
    if t[0] < 0 or t[-1] >= T_LIMIT:
        raise ValueError(
            f"evt2 write t: expected 0 <= t < 2**34 us (28-bit TIME_HIGH, no loops written), "
            f"found t in [{t.min()}, {t.max()}]"
        )
    for name, v, lim in (("x", x, sensor[0]), ("y", y, sensor[1])):
        if v.min() < 0 or v.max() >= lim:
            raise ValueError(
                f"evt2 write {name}: expected 0 <= {name} < {lim} (sensor size), "
                f"found {name} in [{v.min()}, {v.max()}]"
            )
    th = t >> 6
    prev = np.empty_like(th)
    prev[0] = prev_th
    prev[1:] = th[:-1]
    new_th = th != prev
    ends = np.cumsum(1 + new_th)
    out = np.empty(int(ends[-1]), dtype="<u4")
    cd_at = ends - 1
    out[cd_at] = (
        ((ev["p"] > 0).astype(np.uint32) << 28)
        | ((t & 0x3F).astype(np.uint32) << 22)
        | (x.astype(np.uint32) << 11)
        | y.astype(np.uint32)
    )
    out[cd_at[new_th] - 1] = (np.uint32(TIME_HIGH) << 28) | th[new_th].astype(np.uint32)
    return out.tobytes(), int(th[-1]), int(t[-1])


class Evt2Writer(FileWriter):
    """Streaming EVT 2.0 writer: ``append`` chunks in time order, ``close`` (context manager)."""

    def __init__(self, path: str | os.PathLike, *, sensor_size: Any) -> None:
        self.sensor = _write_sensor(sensor_size)
        super().__init__(path, raw_header("2.0", "EVT2", self.sensor))
        self._th = -1
        self._t = -1

    def append(self, events: np.ndarray) -> None:
        words, self._th, self._t = _encode(events, self.sensor, self._th, self._t)
        self._f.write(words)


def open_writer(path: str | os.PathLike, *, sensor_size: Any = None, **options: Any) -> Evt2Writer:
    """A streaming :class:`Evt2Writer` (the ``events convert`` command appends chunks)."""
    if options:
        raise ValueError(f"evt2 write: unknown options {sorted(options)}")
    return Evt2Writer(path, sensor_size=sensor_size)


def write(path: str | os.PathLike, events: np.ndarray, *, sensor_size: Any = None) -> None:
    """Write CD events (non-decreasing t) as EVT 2.0 words so :func:`read` returns them."""
    sensor = _write_sensor(sensor_size)
    words, _, _ = _encode(events, sensor, -1, -1)  # validate before creating the file
    with Evt2Writer(path, sensor_size=sensor) as wr:
        wr._f.write(words)


SPEC = FormatSpec(
    name=_READER.name,
    description="Prophesee EVT 2.0 RAW (32-bit words)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".raw",),
)
