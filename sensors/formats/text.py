"""Text events, one ``t x y p`` per line (the RPG / Event Camera Dataset ``events.txt`` layout).

``t`` is in seconds (a decimal number such as ``0.003811000``) unless ``t_unit="us"``
(integer microseconds); ``x``, ``y`` are integers, ``p`` 0/1 (or -1/1, -1 = OFF). An optional
first line with exactly two integers gives the sensor ``width height``; blank lines and lines
starting with ``#`` are skipped, except that a leading comment ``# t_unit: us`` (or ``s``),
which this module's writer puts first in every integer-microsecond file, declares the unit:
reading with ``t_unit=None`` (the default) follows it, and an explicit ``t_unit`` that
contradicts it is an :class:`EventFormatError` (no silently 10^6-times-wrong times). Seconds are converted to microseconds from the decimal
digits, never through floats, so microsecond-resolution files (DAVIS recordings written with
9 decimals) are exact. Digits finer than a microsecond (simulators write nanoseconds) round
to the nearest microsecond, half away from zero; ``sub_us="error"`` refuses them instead.

The file is parsed in blocks of whole lines (about 4 MiB at a time), so memory is bounded
whatever the file size. A malformed line raises :class:`EventFormatError` with its byte
offset and line number.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import EventFormatError
from ..events import Recording
from . import FormatSpec
from ._chunks import (
    DEFAULT_CHUNK_EVENTS,
    READ_BLOCK_BYTES,
    FileWriter,
    check_chunk_events,
    join_events,
    rechunk,
)
from .numpy_files import columns_to_events

__all__ = ["SPEC", "TextWriter", "iter_chunks", "open_writer", "probe", "read", "sniff", "write"]

T_UNITS = ("s", "us")
_EVENT_LINE = re.compile(
    rb"^[ \t]*(-?\d{1,18}(?:\.\d{0,12})?)[ \t]+(\d{1,6})[ \t]+(\d{1,6})[ \t]+(-?\d{1,3})\s*$"
)
_NUMBER_BYTES = b"0123456789.- \t\r\n"
_SEPARATORS = np.array([0] * 256, dtype=bool)
_SEPARATORS[[9, 10, 13, 32]] = True
_SIZE_LINE = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")
_UNIT_LINE = re.compile(rb"^\s*#\s*t_unit\s*[:=]\s*(\w+)\s*$")
_MAX_LINE = 1 << 12


def _declared_unit(path: str | os.PathLike) -> str | None:
    """The unit a leading ``# t_unit: us`` / ``# t_unit: s`` comment declares (None: none)."""
    with open(path, "rb") as f:
        pos = 0
        for _ in range(64):  # only the comment / blank lines before the data
            line = f.readline(_MAX_LINE)
            if not line or (line.strip() and not line.lstrip().startswith(b"#")):
                return None
            m = _UNIT_LINE.match(line.rstrip(b"\r\n"))
            if m:
                unit = m.group(1).decode("ascii", "replace")
                if unit not in T_UNITS:
                    raise EventFormatError(
                        path,
                        pos,
                        f"the t_unit comment declares {unit!r}; expected one of {T_UNITS}",
                    )
                return unit
            pos += len(line)
    return None


def _unit_of(path: str | os.PathLike, t_unit: str | None) -> str:
    """``t_unit`` checked against what the file declares; None takes the file's (else "s")."""
    declared = _declared_unit(path)
    if t_unit is None:
        return declared or "s"
    _check_unit(t_unit)
    if declared is not None and declared != t_unit:
        raise EventFormatError(
            path,
            0,
            f"the file declares t_unit {declared!r} ('# t_unit: {declared}'), but it was read "
            f"with t_unit={t_unit!r}; pass t_unit={declared!r} or leave t_unit unset",
        )
    return t_unit


def _lines(head: bytes) -> list[bytes]:
    cut = head.rfind(b"\n")
    body = head if cut < 0 else head[:cut]
    return [ln for ln in body.split(b"\n") if ln.strip() and not ln.lstrip().startswith(b"#")]


def sniff(head: bytes, path: str = "") -> bool:
    """True when the first lines are an optional ``width height`` then ``t x y p`` lines."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        return False
    lines = _lines(head)
    if not lines and b"\n" not in head:
        lines = [head]
    if not lines:
        return False
    if _SIZE_LINE.match(lines[0]):
        lines = lines[1:]
        if not lines:
            return True
    return all(_EVENT_LINE.match(ln) for ln in lines[:8])


def _header(path: str | os.PathLike) -> tuple[tuple[int, int] | None, int, int]:
    """(sensor size from the optional first line, byte offset and line index of the data)."""
    with open(path, "rb") as f:
        pos = 0
        n_lines = 0
        while True:
            line = f.readline(_MAX_LINE)
            if not line:
                return None, pos, n_lines
            if line.strip() and not line.lstrip().startswith(b"#"):
                break
            pos += len(line)
            n_lines += line.endswith(b"\n")
    m = _SIZE_LINE.match(line.rstrip(b"\r\n"))
    if m:
        w, h = int(m.group(1)), int(m.group(2))
        if not (0 < w <= 1 << 16 and 0 < h <= 1 << 16):
            raise EventFormatError(path, pos, f"sensor size line: {w} x {h} is not a sensor size")
        return (w, h), pos + len(line), n_lines + 1
    return None, pos, n_lines


def _seconds_to_us(
    tok: np.ndarray, path: str | os.PathLike, base: int, start: int, exact: bool
) -> np.ndarray:
    """Decimal seconds (bytes tokens) -> int64 microseconds, from the digits (no floats).

    Digits beyond the sixth decimal round half away from zero, or raise when ``exact``.
    """
    neg = np.char.startswith(tok, b"-")
    body = np.where(neg, np.char.lstrip(tok, b"-"), tok)
    parts = np.char.partition(body, b".")
    whole, frac = parts[:, 0], parts[:, 2]
    if np.any(np.char.str_len(whole) > 12):
        j = int(np.flatnonzero(np.char.str_len(whole) > 12)[0])
        raise EventFormatError(
            path, base, f"event {start + j}: t={tok[j].decode()} s is out of range"
        )
    carry = np.zeros(tok.shape[0], dtype=np.int64)
    if np.any(np.char.str_len(frac) > 6):
        tail = np.char.rstrip(np.char.ljust(frac, 12, b"0"), b"0")
        sub = np.char.str_len(tail) > 6
        if exact and sub.any():
            j = int(np.flatnonzero(sub)[0])
            raise EventFormatError(
                path,
                base,
                f"event {start + j}: t={tok[j].decode()} s has a fraction of a microsecond "
                "(sub_us='error'; pass sub_us='round' to round to the nearest microsecond)",
            )
        seventh = np.char.ljust(frac, 7, b"0").astype("S7")
        carry = (seventh.astype(np.int64) % 10 >= 5).astype(np.int64)
    frac = np.char.ljust(frac.astype("S6"), 6, b"0")
    whole = np.where(np.char.str_len(whole) == 0, b"0", whole)
    us = whole.astype(np.int64) * 1_000_000 + frac.astype(np.int64) + carry
    return np.where(neg, -us, us)


def _parse_block(
    block: bytes,
    base: int,
    line0: int,
    t_unit: str,
    path: str | os.PathLike,
    sensor: tuple[int, int] | None,
    start: int,
) -> np.ndarray:
    """Events of ``block`` (whole lines starting at byte ``base``, line number ``line0``)."""
    tok = _fast_tokens(block)
    if tok is not None:
        try:
            return _columns(tok, base, t_unit, path, sensor, start)
        except EventFormatError:
            raise
        except ValueError:  # a token numpy cannot parse: the line-by-line path names it
            pass
    rows = []
    pos = base
    for i, ln in enumerate(block.split(b"\n")):
        m = _EVENT_LINE.match(ln)
        if m is not None:
            rows.append(m.groups())
        elif ln.strip() and not ln.lstrip().startswith(b"#"):
            raise EventFormatError(
                path,
                pos,
                f"line {line0 + i + 1}: expected 't x y p' (t decimal seconds or integer "
                f"microseconds, x y p integers), found {ln[:60].decode('ascii', 'replace')!r}",
            )
        pos += len(ln) + 1
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return columns_to_events(z, z, z, z, start=start, sensor_size=sensor, path=path, where="")
    return _columns(np.array(rows, dtype="S32"), base, t_unit, path, sensor, start)


def _fast_tokens(block: bytes) -> np.ndarray | None:
    """``(n, 4)`` tokens when ``block`` holds only lines of four number-like tokens (checked
    on the bytes, vectorised), else ``None`` (comments, blank-only oddities, bad lines)."""
    if not block or block.translate(None, _NUMBER_BYTES):
        return None
    tokens = block.split()
    if len(tokens) % 4 or max(map(len, tokens), default=0) > 24:
        return None
    a = np.frombuffer(block, dtype=np.uint8)
    sep = _SEPARATORS[a]
    starts = ~sep
    starts[1:] &= sep[:-1]
    line_of_token = np.searchsorted(np.flatnonzero(a == 10), np.flatnonzero(starts), "right")
    counts = np.bincount(line_of_token)
    if np.any((counts != 0) & (counts != 4)):
        return None
    tok = np.array(tokens, dtype="S24").reshape(-1, 4)
    t = tok[:, 0]
    if np.any(np.char.count(t, b"-") > 1) or np.any(np.char.count(t, b".") > 1):
        return None
    if not np.all(np.char.isdigit(np.char.lstrip(t, b"-").astype("S1"))):
        return None  # t must start with a digit (after an optional minus)
    return tok


def _columns(
    tok: np.ndarray,
    base: int,
    t_unit: str,
    path: str | os.PathLike,
    sensor: tuple[int, int] | None,
    start: int,
) -> np.ndarray:
    x, y, p = (tok[:, k].astype(np.int64) for k in (1, 2, 3))
    has_dot = np.char.find(tok[:, 0], b".") >= 0
    if t_unit == "us":  # (mode: "s", "s!" exact seconds, or "us")
        if has_dot.any():
            j = int(np.flatnonzero(has_dot)[0])
            raise EventFormatError(
                path,
                base,
                f"event {start + j}: t_unit='us' expects integer microseconds, found "
                f"{tok[j, 0].decode()}",
            )
        t = tok[:, 0].astype(np.int64)
    else:
        t = _seconds_to_us(tok[:, 0], path, base, start, exact=t_unit == "s!")
    return columns_to_events(t, x, y, p, start=start, sensor_size=sensor, path=path, where="")


def _mode(t_unit: str, sub_us: str) -> str:
    _check_unit(t_unit)
    if sub_us not in ("round", "error"):
        raise ValueError(f"text sub_us: expected 'round' or 'error', found {sub_us!r}")
    return "s!" if (t_unit == "s" and sub_us == "error") else t_unit


def _check_unit(t_unit: str) -> str:
    if t_unit not in T_UNITS:
        raise ValueError(f"text t_unit: expected one of {T_UNITS}, found {t_unit!r}")
    return t_unit


def _iter_parsed(
    path: str | os.PathLike, t_unit: str, header: tuple[tuple[int, int] | None, int, int]
) -> Iterator[np.ndarray]:
    sensor, start_at, line_no = header
    with open(path, "rb") as f:
        f.seek(start_at)
        pos = start_at
        carry = b""
        n_done = 0
        while True:
            data = f.read(READ_BLOCK_BYTES)
            if not data:
                break
            data = carry + data
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > _MAX_LINE:
                    raise EventFormatError(
                        path, pos, f"line {line_no + 1} is longer than {_MAX_LINE} bytes"
                    )
                carry = data
                continue
            block, carry = data[:cut], data[cut + 1 :]
            ev = _parse_block(block, pos, line_no, t_unit, path, sensor, n_done)
            pos += cut + 1
            line_no += block.count(b"\n") + 1
            n_done += ev.shape[0]
            yield ev
        if carry.strip():
            yield _parse_block(carry, pos, line_no, t_unit, path, sensor, n_done)


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    t_unit: str | None = None,
    sub_us: str = "round",
) -> Iterator[np.ndarray]:
    """Parse the file block by block; chunks of at most ``chunk_events`` events (``t_unit``
    as for :func:`read`)."""
    chunk_events = check_chunk_events(chunk_events)
    if t_unit is not None:
        _check_unit(t_unit)
    mode = _mode(_unit_of(path, t_unit), sub_us)
    yield from rechunk(_iter_parsed(path, mode, _header(path)), chunk_events)


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Sensor size from the optional first line, and where the events start."""
    sensor, start_at, _ = _header(path)
    return {"format": SPEC.name, "sensor_size": sensor, "data_offset": start_at}


def read(path: str | os.PathLike, *, t_unit: str | None = None, sub_us: str = "round") -> Recording:
    """Parse the whole file (``t_unit``: ``"s"`` decimal seconds, ``"us"`` integers, None:
    what the file's ``# t_unit:`` comment declares, else seconds; ``sub_us``: ``"round"`` or
    ``"error"`` for digits finer than a microsecond)."""
    if t_unit is not None:
        _check_unit(t_unit)
    t_unit = _unit_of(path, t_unit)
    mode = _mode(t_unit, sub_us)
    header = _header(path)
    sensor, start_at, _ = header
    events = join_events(list(_iter_parsed(path, mode, header)))
    meta = {"t_unit": t_unit, "data_offset": start_at}
    return Recording(events, sensor, SPEC.name, os.fspath(path), meta)


# ---------------------------------------------------------------------- writing
def _format(events: np.ndarray, t_unit: str) -> bytes:
    events = np.asarray(events)
    if events.dtype.names is None or not {"t", "x", "y", "p"} <= set(events.dtype.names):
        raise ValueError(
            f"text write events: expected a structured array with t, x, y, p, found {events.dtype}"
        )
    if events.shape[0] == 0:
        return b""
    t = events["t"].astype(np.int64)
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    p = (events["p"] > 0).astype(np.int64)
    if t_unit == "us":
        cols = [t.astype("S20")]
    else:
        a = np.abs(t)
        sign = np.where(t < 0, b"-", b"")
        frac = np.char.zfill((a % 1_000_000).astype("S6"), 6)
        cols = [
            np.char.add(np.char.add(np.char.add(sign, (a // 1_000_000).astype("S20")), b"."), frac)
        ]
    cols += [x.astype("S6"), y.astype("S6"), p.astype("S1")]
    line = cols[0]
    for c in cols[1:]:
        line = np.char.add(np.char.add(line, b" "), c)
    return b"\n".join(line.tolist()) + b"\n"


class TextWriter(FileWriter):
    """Streaming ``t x y p`` writer (first line ``width height`` when the size is known)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        sensor_size: tuple[int, int] | None = None,
        t_unit: str = "s",
        block_events: int = 1 << 18,
    ) -> None:
        self.t_unit = _check_unit(t_unit)
        self.sensor_size = sensor_size
        self.block_events = check_chunk_events(
            block_events, name="block_events", where="text writer"
        )
        # integer microseconds are declared (first, so the size line stays the first data-less
        # line readers look for); seconds, the RPG layout's unit, are not
        head = b"# t_unit: us\n" if self.t_unit == "us" else b""
        if sensor_size is not None:
            head += f"{int(sensor_size[0])} {int(sensor_size[1])}\n".encode()
        super().__init__(path, head)

    def append(self, events: np.ndarray) -> None:
        """Append a chunk (coordinates checked against the sensor size)."""
        events = np.asarray(events)
        if self.sensor_size is not None and events.shape[0]:
            w, h = self.sensor_size
            if int(events["x"].max()) >= w or int(events["y"].max()) >= h:
                raise ValueError(
                    f"text write: coordinates outside the {w}x{h} sensor (x max "
                    f"{int(events['x'].max())}, y max {int(events['y'].max())})"
                )
        for s in range(0, events.shape[0], self.block_events):
            self._f.write(_format(events[s : s + self.block_events], self.t_unit))


def open_writer(
    path: str | os.PathLike, *, sensor_size: tuple[int, int] | None = None, **options: Any
) -> TextWriter:
    """A streaming :class:`TextWriter` (the ``events convert`` command appends chunks)."""
    return TextWriter(path, sensor_size=sensor_size, **options)


def write(
    path: str | os.PathLike,
    events: np.ndarray,
    *,
    sensor_size: tuple[int, int] | None = None,
    t_unit: str = "s",
) -> None:
    """Write events as text, t in seconds with 6 decimals (exact) or integer microseconds."""
    with TextWriter(path, sensor_size=sensor_size, t_unit=t_unit) as w:
        w.append(events)


SPEC = FormatSpec(
    name="text",
    description="text lines 't x y p' (t in seconds; optional 'width height' first line)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".txt",),
)
