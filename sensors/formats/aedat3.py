"""AEDAT 3.1 (cAER / DVS128 Gesture): header lines up to ``#!END-HEADER\\r\\n``, then packets.

Each packet has a little-endian 28-byte header: int16 eventType, int16 eventSource,
int32 eventSize, eventTSOffset, eventTSOverflow, eventCapacity, eventNumber, eventValid,
followed by ``eventCapacity * eventSize`` bytes of events (files are written with
capacity == number). Polarity packets (type 1) hold 8-byte events: u32 data + i32 timestamp;
data bit 0 = valid, bit 1 = polarity (1 = ON), y = bits 2–16, x = bits 17–31; the full
timestamp is ``eventTSOverflow << 31 | ts``. Events with the valid bit 0 are dropped; other
packet types (special, frame, IMU, ...) are skipped. Coordinates are raw (origin top-left per
the 3.1 specification). The sensor size comes from the ``#Source <id>: <device>`` line.

Valid polarity events with x or y outside that sensor size are an :class:`EventFormatError`
naming the byte offset of the event (checked per packet, vectorised); when the device is
unknown (no size) coordinates are not checked. A file that ends inside a packet is a
:class:`TruncatedFileError`; with ``allow_truncated=True`` the events of the complete packets
before it are returned and a :class:`TruncatedFileWarning` names the file and the byte offset
of the cut packet.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import EventFormatError, TruncatedFileError
from ..events import EVENT_DTYPE, Recording
from . import FormatSpec
from ._chunks import (
    DEFAULT_CHUNK_EVENTS,
    check_chunk_events,
    chunked,
    first_outside,
    joined,
)

__all__ = ["PACKET_HEADER", "POLARITY_EVENT", "SPEC", "iter_chunks", "probe", "read", "sniff"]

MAGIC = b"#!AER-DAT3.1"
END_HEADER = b"#!END-HEADER\r\n"
PACKET_HEADER = np.dtype(
    [
        ("type", "<i2"),
        ("source", "<i2"),
        ("size", "<i4"),
        ("ts_offset", "<i4"),
        ("ts_overflow", "<i4"),
        ("capacity", "<i4"),
        ("number", "<i4"),
        ("valid", "<i4"),
    ]
)
POLARITY_EVENT = np.dtype([("data", "<u4"), ("ts", "<i4")])
POLARITY_TYPE = 1
_MAX_HEADER_BYTES = 16 << 20
_SOURCES: tuple[tuple[str, tuple[int, int]], ...] = (
    ("dvs128", (128, 128)),
    ("davis346", (346, 260)),
    ("davis240", (240, 180)),
    ("davis640", (640, 480)),
    ("davis208", (208, 192)),
    ("davis128", (128, 128)),
    ("dvxplorer", (640, 480)),
)


def sniff(head: bytes, path: str = "") -> bool:
    """True when the file starts with ``#!AER-DAT3.1``."""
    return head.startswith(MAGIC)


def _parse_header(path: str | os.PathLike) -> tuple[list[str], int]:
    with open(path, "rb") as f:
        first = f.readline(4096)
        if not first.startswith(MAGIC):
            found = first[:16].rstrip(b"\r\n")
            raise EventFormatError(
                path, 0, f"expected version line '#!AER-DAT3.1', found {found!r}"
            )
        lines = [first.rstrip(b"\r\n").decode("ascii", "replace")]
        offset = len(first)
        while True:
            line = f.readline(1 << 16)
            if not line:
                raise TruncatedFileError(path, offset, "file ends before '#!END-HEADER'")
            if not line.startswith(b"#"):
                raise EventFormatError(
                    path,
                    offset,
                    f"expected a '#' header line or '#!END-HEADER', found {line[:16]!r}",
                )
            offset += len(line)
            if line == END_HEADER or line.rstrip(b"\r\n") == END_HEADER.rstrip():
                return lines, offset
            lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
            if offset > _MAX_HEADER_BYTES:
                raise EventFormatError(path, offset, "AEDAT 3.1 header longer than 16 MiB")


def _sensor_size(lines: list[str]) -> tuple[tuple[int, int] | None, str | None]:
    for line in lines:
        m = re.match(r"#Source\s+(\d+)\s*:\s*(.+)", line)
        if not m:
            continue
        device = m.group(2).strip()
        low = device.lower().replace("_", "").replace(" ", "")
        for pattern, size in _SOURCES:
            if pattern in low:
                return size, device
        return None, device
    return None, None


def _iter_packets(
    path: str | os.PathLike, data_offset: int, sensor: tuple[int, int] | None
) -> Iterator[np.ndarray]:
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        f.seek(data_offset)
        pos = data_offset
        while pos < size:
            raw = f.read(PACKET_HEADER.itemsize)
            if len(raw) < PACKET_HEADER.itemsize:
                raise TruncatedFileError(
                    path, pos, f"partial packet header ({len(raw)} of 28 bytes)"
                )
            h = np.frombuffer(raw, dtype=PACKET_HEADER)[0]
            ev_size, cap, num = int(h["size"]), int(h["capacity"]), int(h["number"])
            if ev_size < 1 or cap < 0 or not 0 <= num <= cap or not 0 <= int(h["valid"]) <= num:
                raise EventFormatError(
                    path,
                    pos,
                    "invalid packet header: expected eventSize ≥ 1 and "
                    "0 ≤ eventValid ≤ eventNumber ≤ eventCapacity, found "
                    f"size={ev_size} capacity={cap} number={num} valid={int(h['valid'])}",
                )
            n_bytes = cap * ev_size
            if pos + PACKET_HEADER.itemsize + n_bytes > size:
                raise TruncatedFileError(
                    path,
                    pos,
                    f"packet of {n_bytes} data bytes runs past the end of the file ({size} bytes)",
                )
            pos += PACKET_HEADER.itemsize + n_bytes
            if int(h["type"]) != POLARITY_TYPE:
                f.seek(n_bytes, os.SEEK_CUR)
                continue
            ts_off = int(h["ts_offset"])
            if ev_size < 8 or ts_off != 4:
                raise EventFormatError(
                    path,
                    pos - n_bytes - PACKET_HEADER.itemsize,
                    "polarity packet: expected eventSize ≥ 8 and eventTSOffset 4, "
                    f"found eventSize={ev_size} eventTSOffset={ts_off}",
                )
            buf = f.read(n_bytes)
            dtype = np.dtype(
                {
                    "names": ["data", "ts"],
                    "formats": ["<u4", "<i4"],
                    "offsets": [0, 4],
                    "itemsize": ev_size,
                }
            )
            ev = np.frombuffer(buf, dtype=dtype, count=num)
            d = ev["data"]
            keep = (d & 1).astype(bool)
            d = d[keep]
            out = np.empty(d.shape[0], dtype=EVENT_DTYPE)
            out["t"] = (np.int64(int(h["ts_overflow"])) << np.int64(31)) | ev["ts"][keep].astype(
                np.int64
            )
            out["x"] = (d >> 17) & 0x7FFF
            out["y"] = (d >> 2) & 0x7FFF
            out["p"] = (d >> 1) & 1
            if sensor is not None:
                _check_inside(path, out, keep, pos - n_bytes, ev_size, sensor)
            yield out


def _check_inside(
    path: str | os.PathLike,
    out: np.ndarray,
    keep: np.ndarray,
    data_pos: int,
    ev_size: int,
    sensor: tuple[int, int],
) -> None:
    """``EventFormatError`` at the first valid event whose x/y is outside ``sensor``."""
    i = first_outside(out, sensor)
    if i is None:
        return
    width, height = sensor
    k = int(np.flatnonzero(keep)[i])
    raise EventFormatError(
        path,
        data_pos + k * ev_size,
        f"polarity event at x={int(out['x'][i])}, y={int(out['y'][i])} is outside the "
        f"{width}x{height} sensor of the header's #Source line "
        "(expected x < width and y < height)",
    )


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    allow_truncated: bool = False,
) -> Iterator[np.ndarray]:
    """Decode valid polarity events packet by packet, in chunks of at most ``chunk_events``.

    ``allow_truncated=True``: a packet cut by the end of the file ends the stream with a
    :class:`TruncatedFileWarning` instead of a :class:`TruncatedFileError`.
    """
    chunk_events = check_chunk_events(chunk_events)
    lines, offset = _parse_header(path)  # header errors raise whatever allow_truncated says
    sensor, _ = _sensor_size(lines)
    yield from chunked(
        _iter_packets(path, offset, sensor),
        chunk_events,
        allow_truncated=allow_truncated,
        what="AEDAT 3.1",
    )


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Header facts: source device, sensor size, data offset, header lines."""
    lines, offset = _parse_header(path)
    size, device = _sensor_size(lines)
    return {
        "format": SPEC.name,
        "sensor_size": size,
        "source": device,
        "data_offset": offset,
        "header": lines,
    }


def read(path: str | os.PathLike, *, allow_truncated: bool = False) -> Recording:
    """Decode the whole file into a :class:`Recording`.

    ``allow_truncated=True``: a packet cut by the end of the file gives a
    :class:`TruncatedFileWarning` and the events of the packets before it instead of a
    :class:`TruncatedFileError`.
    """
    facts = probe(path)
    pieces = _iter_packets(path, facts["data_offset"], facts["sensor_size"])
    events = joined(pieces, allow_truncated=allow_truncated, what="AEDAT 3.1")
    meta = {"source": facts["source"], "header": facts["header"]}
    return Recording(events, facts["sensor_size"], SPEC.name, os.fspath(path), meta)


SPEC = FormatSpec(
    name="AEDAT3.1",
    description="cAER AEDAT 3.1 (.aedat, DVS128 Gesture): polarity packets",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=None,
    extensions=(".aedat", ".aedat3"),
)
