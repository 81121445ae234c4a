"""AEDAT 2.0 (jAER): ``#`` header lines, then big-endian int32 address + int32 timestamp.

The first line is ``#!AER-DAT2.0``; there is no end-of-header marker: the data starts at the
first line that does not begin with ``#`` (a candidate header line must also be printable
text, so a data word that happens to start with 0x23 is not swallowed as header).

Address layouts (raw coordinates, no flips, ``p`` 1 = ON):

* DAVIS (DAVIS240/346/640, DVXplorer via jAER): bit 31 = 1 marks APS/IMU samples, bit 10 = 1
  marks external/special events — both are skipped, never decoded as polarity;
  y = bits 22–30, x = bits 12–21, p = bit 11.
* DVS128: bit 15 marks special events (skipped); y = bits 8–14, x = bits 1–7, p = bit 0.

The layout comes from the header's ``# AEChip:`` / ``# HardwareInterface:`` lines; when the
header names neither, it is inferred from the addresses of the first block (any bit above 15
set → DAVIS). ``layout=`` overrides both. A header-only file is a valid recording with zero
events (AEDAT 2.0 has no event count or end marker, and jAER writes the header before the
first event), so it decodes to an empty array with the sensor size from the header.
Timestamps are the stored int32 values (no wrap-around correction).

Polarity events with x or y outside the sensor size are an :class:`EventFormatError` naming
the file and the byte offset of the record (checked per 4 MiB block, vectorised). The sensor
size is the ``sensor_size=(width, height)`` option when given (for files whose header names no
chip, or names the wrong one), else the one the header names, else jAER's default for the
layout (240x180 DAVIS, 128x128 DVS128) — the same size the :class:`Recording` reports, with
``metadata["sensor_size_source"]`` saying which (``"sensor_size option"``, ``"header"``,
``"layout default"``; ``None`` when the size is unknown).

A file that ends in the middle of a record is a :class:`TruncatedFileError`; with
``allow_truncated=True`` the events of the whole records before it are returned and a
:class:`TruncatedFileWarning` names the file and the byte offset of the partial record.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from spikesim.errors import ParameterError

from .._checks import check_sensor_size
from ..errors import EventFormatError, TruncatedFileError
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

MAGIC = b"#!AER-DAT2.0"
_RECORD = np.dtype([("a", ">u4"), ("t", ">i4")])
_MAX_HEADER_BYTES = 64 << 20
_LAYOUTS = ("davis", "dvs128")

# (pattern on the lower-cased chip class / hardware interface, layout, (width, height))
_CHIPS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("davis346", "davis", (346, 260)),
    ("davis240", "davis", (240, 180)),
    ("sbret10", "davis", (240, 180)),
    ("davis640", "davis", (640, 480)),
    ("davis208", "davis", (208, 192)),
    ("davis128", "davis", (128, 128)),
    ("dvxplorer", "davis", (640, 480)),
    ("dvs128", "dvs128", (128, 128)),
    ("tmpdiff128", "dvs128", (128, 128)),
)
_DEFAULT_DAVIS_SIZE = (240, 180)  # jAER's DAVIS240 default, also PyAedatTools' default


def sniff(head: bytes, path: str = "") -> bool:
    """True for ``#!AER-DAT2.0`` and for AEDAT version lines no other module claims.

    Claiming unknown versions (``#!AER-DAT1.0``, ``#!AER-DAT5.0`` ...) lets :func:`read` refuse
    them with an error that names the version found, instead of "unknown format".
    """
    if not head.startswith(b"#!AER-DAT"):
        return False
    return not (head.startswith(b"#!AER-DAT3.") or head.startswith(b"#!AER-DAT4."))


def _is_header_line(line: bytes) -> bool:
    if not line.startswith(b"#") or not line.endswith(b"\n"):
        return False
    body = line.rstrip(b"\r\n")
    return all(b >= 0x20 or b == 0x09 for b in body) and b"\x7f" not in body


def _parse_header(f: Any, path: str | os.PathLike) -> tuple[list[str], int]:
    """Header lines (decoded) and the byte offset where the event data starts."""
    first = f.readline(4096)
    if not first.startswith(b"#!AER-DAT"):
        raise EventFormatError(path, 0, f"not an AEDAT file: first bytes are {first[:16]!r}")
    version = first.rstrip(b"\r\n").decode("ascii", "replace")
    if not first.startswith(MAGIC):
        raise EventFormatError(
            path, 0, f"expected AEDAT version line '#!AER-DAT2.0', found {version!r}"
        )
    lines = [version]
    offset = len(first)
    while True:
        line = f.readline(1 << 16)
        if not _is_header_line(line):
            break
        lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
        offset += len(line)
        if offset > _MAX_HEADER_BYTES:
            raise EventFormatError(path, offset, "AEDAT 2.0 header longer than 64 MiB")
    return lines, offset


def _chip_from_header(lines: list[str]) -> tuple[str | None, tuple[int, int] | None, str | None]:
    chip = None
    for line in lines:
        m = re.match(r"#\s*(AEChip|HardwareInterface)\s*:\s*(.+)", line)
        if not m:
            continue
        if m.group(1) == "AEChip" or chip is None:
            chip = m.group(2).strip()
    if chip is None:
        return None, None, None
    low = chip.lower().replace("_", "").replace(" ", "")
    for pattern, layout, size in _CHIPS:
        if pattern in low:
            return layout, size, chip
    if "davis" in low:
        return "davis", None, chip
    return None, None, chip


def _header_info(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, "rb") as f:
        lines, offset = _parse_header(f, path)
    layout, size, chip = _chip_from_header(lines)
    return {
        "header_lines": lines,
        "data_offset": offset,
        "layout": layout,
        "size": size,
        "chip": chip,
    }


def _infer_layout(addresses: np.ndarray) -> str:
    """DAVIS when any address uses bits above 15 (DVS128 addresses are 16-bit)."""
    if addresses.shape[0] and int(np.bitwise_or.reduce(addresses)) >> 16:
        return "davis"
    return "dvs128"


def _decode(records: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Polarity events of ``records`` and the mask of the records they come from."""
    a = records["a"].astype(np.uint32)
    if layout == "davis":
        keep = (a & np.uint32(0x80000400)) == 0
        a = a[keep]
        out = np.empty(a.shape[0], dtype=EVENT_DTYPE)
        out["x"] = (a >> 12) & 0x3FF
        out["y"] = (a >> 22) & 0x1FF
        out["p"] = (a >> 11) & 1
    else:
        keep = (a & np.uint32(0xFFFF8000)) == 0
        a = a[keep]
        out = np.empty(a.shape[0], dtype=EVENT_DTYPE)
        out["x"] = (a >> 1) & 0x7F
        out["y"] = (a >> 8) & 0x7F
        out["p"] = a & 1
    out["t"] = records["t"][keep]
    return out, keep


def _sensor_for(
    info: dict[str, Any], layout: str | None, override: tuple[int, int] | None = None
) -> tuple[int, int] | None:
    """The ``sensor_size`` option, else the header's sensor size, else jAER's default for
    ``layout`` (None: layout unknown)."""
    if override is not None:
        return override
    if info["size"] is not None:
        return info["size"]
    if layout is None:
        return None
    return _DEFAULT_DAVIS_SIZE if layout == "davis" else (128, 128)


def _size_source(info: dict[str, Any], override: tuple[int, int] | None) -> str:
    if override is not None:
        return "sensor_size option"
    return "header" if info["size"] is not None else "layout default"


_NAMED_BY = {
    "sensor_size option": "given by the sensor_size option",
    "header": "named by the header",
    "layout default": "(the default: the header names no chip)",
}


def _check_inside(
    path: str | os.PathLike,
    ev: np.ndarray,
    keep: np.ndarray,
    block_offset: int,
    sensor: tuple[int, int],
    source: str,
) -> None:
    """``EventFormatError`` at the first record whose x/y is outside ``sensor``."""
    i = first_outside(ev, sensor)
    if i is None:
        return
    width, height = sensor
    record = int(np.flatnonzero(keep)[i])
    raise EventFormatError(
        path,
        block_offset + record * _RECORD.itemsize,
        f"polarity event at x={int(ev['x'][i])}, y={int(ev['y'][i])} is outside the "
        f"{width}x{height} sensor {_NAMED_BY[source]} (expected x < width and y < height)",
    )


def _user_sensor(sensor_size: Any, where: str) -> tuple[int, int] | None:
    """The ``sensor_size`` option as (width, height) of positive ints, or ``None``."""
    if sensor_size is None:
        return None
    if isinstance(sensor_size, (tuple, list)) and len(sensor_size) != 2:
        raise ParameterError(
            where, "sensor_size", "(width, height) with positive integers", sensor_size
        )
    return check_sensor_size(where, sensor_size)


def _check_layout(layout: str | None) -> None:
    if layout is not None and layout not in _LAYOUTS:
        raise ValueError(f"aedat2 layout: expected one of {_LAYOUTS} or None, found {layout!r}")


def _iter_decoded(
    path: str | os.PathLike,
    layout: str | None,
    info: dict[str, Any],
    override: tuple[int, int] | None = None,
) -> Iterator[np.ndarray]:
    chosen = layout or info["layout"]
    size = os.stat(path).st_size
    n_bytes = size - info["data_offset"]
    if n_bytes % _RECORD.itemsize:
        tail = n_bytes % _RECORD.itemsize
        bad = size - tail
    else:
        tail, bad = 0, None
    block = (READ_BLOCK_BYTES // _RECORD.itemsize) * _RECORD.itemsize
    sensor = _sensor_for(info, chosen, override)
    source = _size_source(info, override)
    with open(path, "rb") as f:
        f.seek(info["data_offset"])
        pos = info["data_offset"]
        remaining = n_bytes - tail
        while remaining > 0:
            buf = f.read(min(block, remaining))
            if len(buf) % _RECORD.itemsize or not buf:
                raise TruncatedFileError(path, f.tell(), "file changed size while reading")
            remaining -= len(buf)
            records = np.frombuffer(buf, dtype=_RECORD)
            if chosen is None:
                chosen = _infer_layout(records["a"])
                sensor = _sensor_for(info, chosen, override)
            ev, keep = _decode(records, chosen)
            if sensor is not None:
                _check_inside(path, ev, keep, pos, sensor, source)
            pos += len(buf)
            yield ev
    if bad is not None:
        raise TruncatedFileError(
            path,
            bad,
            f"AEDAT 2.0 data ends with a partial {tail}-byte record (records are 8 bytes)",
        )


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    layout: str | None = None,
    sensor_size: tuple[int, int] | None = None,
    allow_truncated: bool = False,
) -> Iterator[np.ndarray]:
    """Decode polarity events in chunks of at most ``chunk_events`` (4 MiB reads).

    ``sensor_size=(width, height)`` replaces the header's (or the layout's default) sensor
    size in the bounds check. ``allow_truncated=True``: a partial last record ends the stream
    with a :class:`TruncatedFileWarning` instead of a :class:`TruncatedFileError`.
    """
    chunk_events = check_chunk_events(chunk_events)
    _check_layout(layout)
    override = _user_sensor(sensor_size, "aedat2.iter_chunks")
    info = _header_info(path)  # header errors raise whatever allow_truncated says
    yield from chunked(
        _iter_decoded(path, layout, info, override),
        chunk_events,
        allow_truncated=allow_truncated,
        what="AEDAT 2.0",
    )


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Header facts: chip, layout, sensor size, data offset and number of 8-byte records."""
    info = _header_info(path)
    size = os.stat(path).st_size
    layout = info["layout"]
    sensor = info["size"]
    if layout is None:
        with open(path, "rb") as f:
            f.seek(info["data_offset"])
            n = min(size - info["data_offset"], READ_BLOCK_BYTES) // _RECORD.itemsize
            head = np.frombuffer(f.read(n * _RECORD.itemsize), dtype=_RECORD)
        if head.shape[0]:
            layout = _infer_layout(head["a"])
    if sensor is None and layout is not None:
        sensor = _DEFAULT_DAVIS_SIZE if layout == "davis" else (128, 128)
    return {
        "format": SPEC.name,
        "sensor_size": sensor,
        "layout": layout,
        "chip": info["chip"],
        "sensor_size_from_header": info["size"] is not None,
        "data_offset": info["data_offset"],
        "n_records": (size - info["data_offset"]) // _RECORD.itemsize,
        "header": info["header_lines"],
    }


def read(
    path: str | os.PathLike,
    *,
    layout: str | None = None,
    sensor_size: tuple[int, int] | None = None,
    allow_truncated: bool = False,
) -> Recording:
    """Decode the whole file into a :class:`Recording` (skipped APS/IMU/special words).

    ``sensor_size=(width, height)`` (positive ints) sets the recording's sensor size instead
    of the header's or the layout's default; an event outside it is an
    :class:`EventFormatError` naming the file and the record's byte offset.
    ``allow_truncated=True``: a partial last record gives a :class:`TruncatedFileWarning` and
    the events before it instead of a :class:`TruncatedFileError`.
    """
    _check_layout(layout)
    override = _user_sensor(sensor_size, "aedat2.read")
    facts = probe(path)
    info = _header_info(path)
    pieces = _iter_decoded(path, layout, info, override)
    events = joined(pieces, allow_truncated=allow_truncated, what="AEDAT 2.0")
    meta = {k: facts[k] for k in ("chip", "layout", "sensor_size_from_header", "header")}
    sensor = facts["sensor_size"]
    if layout is not None:
        meta["layout"] = layout
        sensor = _sensor_for(info, layout)
    if override is not None:
        sensor = override
    meta["sensor_size_source"] = None if sensor is None else _size_source(info, override)
    return Recording(events, sensor, SPEC.name, os.fspath(path), meta)


SPEC = FormatSpec(
    name="AEDAT2",
    description="jAER AEDAT 2.0 (.aedat/.dat): DAVIS and DVS128 address layouts",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=None,
    extensions=(".aedat", ".aedat2"),
)
