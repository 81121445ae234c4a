"""Prophesee EVT 2.1 RAW: ``%`` text header, then 64-bit little-endian words.

Each word (OpenEB ``Evt21Raw``): bits 60–63 type (0 EVT_NEG, 1 EVT_POS, 8 EVT_TIME_HIGH,
0xA EXT_TRIGGER, 0xE OTHERS, 0xF CONTINUED), bits 54–59 timestamp low bits, bits 43–53 x
base, bits 32–42 y, bits 0–31 a valid mask: bit k set is an event at x base + k. TIME_HIGH
holds t >> 6 in bits 32–59. The legacy layout (``Evt21LegacyRaw``, header
``% format EVT21;...;endianness=legacy``, as IMX636 cameras record it) swaps the two 32-bit
halves: the mask is in bits 32–63 and everything else in bits 0–31.

Decoding follows OpenEB's ``EVT21GenericDecoder``: words before the first TIME_HIGH are
skipped; an event's time is the TIME_HIGH << 6 (plus loop · 2^34 µs) with its 6 low bits
replaced by the word's timestamp; a loop is counted only when TIME_HIGH goes from its maximum
to 0 (a fall of 2^28 − 1). Events are emitted per word in increasing x. Coordinates outside
the sensor raise :class:`EventFormatError` (``strict=False`` drops them).

No public EVT 2.1 sample exists in the shared data: the tests use files built word by word
from this layout and files written by :func:`write` (one event per word, mask bit 0).
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
    merge_emitters,
    open_raw,
    raw_header,
    sniff_encoding,
    write_sensor,
)

__all__ = ["SPEC", "Evt21Writer", "iter_chunks", "open_writer", "probe", "read", "sniff", "write"]

ENCODING = "EVT21"
WORD_BYTES = 8
EVT_NEG, EVT_POS, TIME_HIGH = 0, 1, 8
_MAX_TH = (1 << 28) - 1
T_LIMIT = 1 << 34


def sniff(head: bytes, path: str = "") -> bool:
    """True for a ``%`` header announcing EVT 2.1 (``% evt 2.1`` or ``% format EVT21``)."""
    return sniff_encoding(head, ENCODING)


def is_legacy(h: dict) -> bool:
    """True when the header's format line says ``endianness=legacy``."""
    return h["format_options"].get("endianness", "").lower() == "legacy"


class _Decoder:
    def __init__(self, path, sensor, strict: bool, legacy: bool) -> None:
        self.path = path
        self.sensor = sensor
        self.strict = strict
        self.legacy = legacy
        self.started = False
        self.th = 0
        self.loops = 0

    def __call__(self, w: np.ndarray, offset: int, final: bool) -> tuple[np.ndarray, int]:
        n = w.shape[0]
        if self.legacy:
            head = (w & 0xFFFFFFFF).astype(np.int64)
            mask = w >> 32
        else:
            head = (w >> 32).astype(np.int64)
            mask = w & 0xFFFFFFFF
        typ = head >> 28
        start = 0
        if not self.started:
            first = np.flatnonzero(typ == TIME_HIGH)
            if first.shape[0] == 0:
                return np.zeros(0, dtype=EVENT_DTYPE), n
            start = int(first[0])
            self.th = 0  # OpenEB starts from last_timestamp_ = 0
            self.started = True
            head, mask, typ = head[start:], mask[start:], typ[start:]
        th_pos = np.flatnonzero(typ == TIME_HIGH)
        th_val = head[th_pos] & 0x0FFFFFFF
        prev = np.empty_like(th_val)
        if th_val.shape[0]:
            prev[0] = self.th
            prev[1:] = th_val[:-1]
        loops = self.loops + np.cumsum((prev - th_val) >= _MAX_TH)
        cd_pos = np.flatnonzero(typ <= EVT_POS)
        k = np.searchsorted(th_pos, cd_pos) - 1
        high = (th_val << 6) | (loops << 34)
        high0 = (self.th << 6) | (self.loops << 34)
        base = np.where(k >= 0, high[np.maximum(k, 0)], high0) if th_pos.shape[0] else high0
        cw = head[cd_pos]
        t = base + ((cw >> 22) & 0x3F)
        xb = (cw >> 11) & 0x7FF
        y = cw & 0x7FF
        p = cw >> 28
        n_cd = cd_pos.shape[0]
        ev, ends = merge_emitters(
            np.zeros(n_cd, dtype=bool), xb, p, np.arange(n_cd), mask[cd_pos], xb, p, t, y
        )
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
                    rows = np.searchsorted(ends, np.arange(ev.shape[0]), side="right")
                    offs = offset + (start + cd_pos[rows]) * WORD_BYTES
                    check_sensor(self.path, offs, ev, self.sensor, "CD event")
                ev = ev[~bad]
        return ev, n


def _facts(h: dict) -> dict[str, Any]:
    return {"legacy_layout": is_legacy(h)}


def _open(path: str | os.PathLike, sensor_size: Any) -> Opened:
    return open_raw(path, ENCODING, sensor_size, "evt21", facts=_facts)


_READER = WordReader(
    name="EVT2.1",
    where="evt21",
    what="EVT 2.1",
    word=np.dtype("<u8"),
    open=_open,
    decoder=lambda path, opened, strict: _Decoder(
        path, opened.sensor, strict, opened.facts["legacy_layout"]
    ),
)
iter_chunks = _READER.iter_chunks  # (path, *, chunk_events, sensor_size, strict, ...)
probe = _READER.probe  # header facts: sensor size and source, legacy_layout, camera, ...
read = _READER.read  # the whole file as a Recording (t in µs as stored)


# ---------------------------------------------------------------- writing
def _encode(events, sensor, prev_th: int, prev_t: int, legacy: bool):
    ev = check_events_for_write(events, "evt21 write")
    if ev.shape[0] == 0:
        return b"", prev_th, prev_t
    t = ev["t"].astype(np.int64)
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    if t[0] < prev_t or (t.shape[0] > 1 and np.any(np.diff(t) < 0)):
        raise ValueError("evt21 write t: expected non-decreasing timestamps (file order)")
    if t[0] < 0 or t[-1] >= T_LIMIT:
        raise ValueError(
            f"evt21 write t: expected 0 <= t < 2**34 us (28-bit TIME_HIGH, no loops written), "
            f"found t in [{t.min()}, {t.max()}]"
        )
    for name, v, lim in (("x", x, sensor[0]), ("y", y, sensor[1])):
        if v.min() < 0 or v.max() >= lim:
            raise ValueError(
                f"evt21 write {name}: expected 0 <= {name} < {lim} (sensor size), "
                f"found {name} in [{v.min()}, {v.max()}]"
            )
    th = t >> 6
    prev = np.empty_like(th)
    prev[0] = prev_th
    prev[1:] = th[:-1]
    new_th = th != prev
    ends = np.cumsum(1 + new_th)
    heads = np.empty(int(ends[-1]), dtype=np.uint64)
    masks = np.zeros(int(ends[-1]), dtype=np.uint64)
    cd_at = ends - 1
    heads[cd_at] = (
        ((ev["p"] > 0).astype(np.uint64) << 28)
        | ((t & 0x3F).astype(np.uint64) << 22)
        | (x.astype(np.uint64) << 11)
        | y.astype(np.uint64)
    )
    masks[cd_at] = 1
    heads[cd_at[new_th] - 1] = (np.uint64(TIME_HIGH) << np.uint64(28)) | th[new_th].astype(
        np.uint64
    )
    if legacy:
        words = heads | (masks << np.uint64(32))
    else:
        words = (heads << np.uint64(32)) | masks
    return words.astype("<u8").tobytes(), int(th[-1]), int(t[-1])


def _write_sensor(sensor_size: Any) -> tuple[int, int]:
    return write_sensor(sensor_size, "evt21 write", bits=11)


class Evt21Writer(FileWriter):
    """Streaming EVT 2.1 writer (one event per word); ``legacy=True`` swaps the halves."""

    def __init__(self, path: str | os.PathLike, *, sensor_size: Any, legacy: bool = False):
        self.sensor = _write_sensor(sensor_size)
        self.legacy = bool(legacy)
        options = ";endianness=legacy" if legacy else ""
        super().__init__(path, raw_header("2.1", "EVT21", self.sensor, options))
        self._th = -1
        self._t = -1

    def append(self, events: np.ndarray) -> None:
        words, self._th, self._t = _encode(events, self.sensor, self._th, self._t, self.legacy)
        self._f.write(words)


def open_writer(
    path: str | os.PathLike, *, sensor_size: Any = None, legacy: bool = False, **options: Any
) -> Evt21Writer:
    """A streaming :class:`Evt21Writer`."""
    if options:
        raise ValueError(f"evt21 write: unknown options {sorted(options)}")
    return Evt21Writer(path, sensor_size=sensor_size, legacy=legacy)


def write(
    path: str | os.PathLike, events: np.ndarray, *, sensor_size: Any = None, legacy: bool = False
) -> None:
    """Write CD events (non-decreasing t) as EVT 2.1 words so :func:`read` returns them."""
    sensor = _write_sensor(sensor_size)
    words, _, _ = _encode(events, sensor, -1, -1, legacy)  # validate before creating the file
    with Evt21Writer(path, sensor_size=sensor, legacy=legacy) as wr:
        wr._f.write(words)


SPEC = FormatSpec(
    name=_READER.name,
    description="Prophesee EVT 2.1 RAW (64-bit words, standard and legacy layouts)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".raw",),
)
