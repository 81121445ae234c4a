"""N-MNIST / N-Caltech101 ``.bin``: 5 bytes (40 bits) per event, no header.

Byte 0 = x, byte 1 = y, bit 7 of byte 2 = polarity (1 = ON), the remaining 23 bits
(byte 2 bits 0–6, byte 3, byte 4, big-endian) = t in microseconds. The format stores no
sensor size: ``read(..., sensor_size="infer")`` (the default) gives N-MNIST's 34×34 when every
coordinate fits it, else ``(max x + 1, max y + 1)`` (N-Caltech101 recordings vary in size),
and says so in ``metadata["sensor_size_inferred"]``. Pass ``sensor_size=(w, h)`` or ``None``
to set it yourself.

The writer refuses what the 40-bit record cannot hold (t outside [0, 2^23), x or y outside
[0, 255]) instead of truncating it.

A file whose size is not a multiple of 5 ends with a partial record: a
:class:`TruncatedFileError`, or with ``allow_truncated=True`` the events of the whole records
and a :class:`TruncatedFileWarning` naming the file and the byte offset of the partial record.
:func:`probe` only looks at the whole records.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import TruncatedFileError
from ..events import EVENT_DTYPE, Recording
from . import FormatSpec
from ._chunks import (
    DEFAULT_CHUNK_EVENTS,
    READ_BLOCK_BYTES,
    FileWriter,
    check_chunk_events,
    chunked,
    joined,
)

__all__ = [
    "NMNIST_SIZE",
    "SPEC",
    "NmnistWriter",
    "iter_chunks",
    "open_writer",
    "probe",
    "diagnose",
    "read",
    "sniff",
    "write",
]

RECORD_BYTES = 5
NMNIST_SIZE = (34, 34)
T_LIMIT = 1 << 23


def sniff(head: bytes, path: str = "") -> bool:
    """No magic bytes: accept ``.bin`` files whose size is a multiple of 5 bytes."""
    if not os.fspath(path).lower().endswith(".bin"):
        return False
    try:
        return os.stat(path).st_size % RECORD_BYTES == 0
    except OSError:
        return len(head) % RECORD_BYTES == 0


def _decode(buf: bytes) -> np.ndarray:
    u = np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    out = np.empty(u.shape[0], dtype=EVENT_DTYPE)
    out["x"] = u[:, 0]
    out["y"] = u[:, 1]
    out["p"] = u[:, 2] >> 7
    t = (u[:, 2].astype(np.int64) & 0x7F) << 16
    t |= u[:, 3].astype(np.int64) << 8
    t |= u[:, 4]
    out["t"] = t
    return out


def _iter_decoded(path: str | os.PathLike, *, whole_only: bool = False) -> Iterator[np.ndarray]:
    """Decoded blocks; a partial last record raises :class:`TruncatedFileError` at the end
    unless ``whole_only`` (for :func:`probe`, which reports facts about whole records)."""
    size = os.stat(path).st_size
    whole = size - size % RECORD_BYTES
    block = (READ_BLOCK_BYTES // RECORD_BYTES) * RECORD_BYTES
    with open(path, "rb") as f:
        done = 0
        while done < whole:
            buf = f.read(min(block, whole - done))
            if not buf or len(buf) % RECORD_BYTES:
                raise TruncatedFileError(path, done, "file changed size while reading")
            done += len(buf)
            yield _decode(buf)
    if size % RECORD_BYTES and not whole_only:
        raise TruncatedFileError(path, whole, _partial_record(size))


def _partial_record(size: int) -> str:
    return (
        f"file ends with a partial {size % RECORD_BYTES}-byte record "
        f"(N-MNIST records are 5 bytes; file size {size})"
    )


def diagnose(path: str) -> str | None:
    """What the reader reports for a ``.bin`` file the sniffer rejects: a size that is not a
    multiple of 5 (a truncated file), with the byte offset of the partial record."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    if size % RECORD_BYTES == 0:
        return None
    return f"at byte {size - size % RECORD_BYTES}: {_partial_record(size)}"


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    allow_truncated: bool = False,
) -> Iterator[np.ndarray]:
    """Decode in chunks of at most ``chunk_events`` (4 MiB reads).

    ``allow_truncated=True``: a partial last record ends the stream with a
    :class:`TruncatedFileWarning` instead of a :class:`TruncatedFileError`.
    """
    chunk_events = check_chunk_events(chunk_events)
    yield from chunked(
        _iter_decoded(path), chunk_events, allow_truncated=allow_truncated, what="N-MNIST"
    )


def _infer_size(max_x: int, max_y: int) -> tuple[int, int]:
    if max_x < NMNIST_SIZE[0] and max_y < NMNIST_SIZE[1]:
        return NMNIST_SIZE
    return (max_x + 1, max_y + 1)


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Event count and the inferred sensor size (one streaming pass over x/y bytes)."""
    size = os.stat(path).st_size
    mx = my = -1
    for chunk in _iter_decoded(path, whole_only=True):
        if chunk.shape[0]:
            mx = max(mx, int(chunk["x"].max()))
            my = max(my, int(chunk["y"].max()))
    return {
        "format": SPEC.name,
        "sensor_size": _infer_size(mx, my) if mx >= 0 else None,
        "sensor_size_inferred": True,
        "n_events": size // RECORD_BYTES,
    }


def read(
    path: str | os.PathLike,
    *,
    sensor_size: tuple[int, int] | str | None = "infer",
    allow_truncated: bool = False,
) -> Recording:
    """Decode the whole file; see the module docstring for ``sensor_size``.

    ``allow_truncated=True``: a partial last record gives a :class:`TruncatedFileWarning` and
    the events of the whole records instead of a :class:`TruncatedFileError`.
    """
    events = joined(_iter_decoded(path), allow_truncated=allow_truncated, what="N-MNIST")
    inferred = False
    if isinstance(sensor_size, str):
        if sensor_size != "infer":
            raise ValueError(
                f"nmnist_bin sensor_size: expected 'infer', None or (width, height), "
                f"found {sensor_size!r}"
            )
        inferred = True
        sensor_size = (
            _infer_size(int(events["x"].max()), int(events["y"].max())) if len(events) else None
        )
    elif sensor_size is not None:
        sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
    meta = {"sensor_size_inferred": inferred}
    return Recording(events, sensor_size, SPEC.name, os.fspath(path), meta)


def _encode(events: np.ndarray) -> bytes:
    events = np.asarray(events)
    if events.dtype.names is None or not {"t", "x", "y", "p"} <= set(events.dtype.names):
        raise ValueError(
            f"nmnist_bin write events: expected a structured array with t, x, y, p, "
            f"found dtype {events.dtype}"
        )
    if events.shape[0] == 0:
        return b""
    t = events["t"].astype(np.int64)
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    if t.min() < 0 or t.max() >= T_LIMIT:
        raise ValueError(
            f"nmnist_bin write t: expected 0 <= t < 2**23 us (23-bit field), "
            f"found t in [{t.min()}, {t.max()}]"
        )
    for name, v in (("x", x), ("y", y)):
        if v.min() < 0 or v.max() > 255:
            raise ValueError(
                f"nmnist_bin write {name}: expected 0..255 (one byte), "
                f"found {name} in [{v.min()}, {v.max()}]"
            )
    u = np.empty((events.shape[0], RECORD_BYTES), dtype=np.uint8)
    u[:, 0] = x
    u[:, 1] = y
    u[:, 2] = ((events["p"] > 0).astype(np.uint8) << 7) | ((t >> 16) & 0x7F).astype(np.uint8)
    u[:, 3] = (t >> 8) & 0xFF
    u[:, 4] = t & 0xFF
    return u.tobytes()


def _check_write_size(sensor_size: Any) -> None:
    if sensor_size is not None and (int(sensor_size[0]) > 256 or int(sensor_size[1]) > 256):
        raise ValueError(
            f"nmnist_bin write sensor_size: expected at most 256x256 (one byte per coordinate), "
            f"found {tuple(sensor_size)}"
        )


class NmnistWriter(FileWriter):
    """Streaming ``.bin`` writer: ``append`` chunks, ``close`` (or use as a context manager)."""

    def __init__(self, path: str | os.PathLike, *, sensor_size: Any = None) -> None:
        _check_write_size(sensor_size)
        super().__init__(path, b"")  # no header: 40-bit records from the first byte

    def append(self, events: np.ndarray) -> None:
        self._f.write(_encode(events))


def open_writer(
    path: str | os.PathLike, *, sensor_size: Any = None, **options: Any
) -> NmnistWriter:
    """A streaming :class:`NmnistWriter` (the ``events convert`` command appends chunks)."""
    if options:
        raise ValueError(f"nmnist_bin write: unknown options {sorted(options)}")
    return NmnistWriter(path, sensor_size=sensor_size)


def write(path: str | os.PathLike, events: np.ndarray, *, sensor_size: Any = None) -> None:
    """Write events as 40-bit N-MNIST records (validated before anything is written)."""
    data = _encode(events)
    _check_write_size(sensor_size)
    with open(path, "wb") as f:
        f.write(data)


SPEC = FormatSpec(
    name="N-MNIST",
    description="N-MNIST / N-Caltech101 .bin (40-bit events, no header)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".bin",),
    diagnose=diagnose,
)
