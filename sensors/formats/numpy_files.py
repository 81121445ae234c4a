"""NumPy ``.npy`` structured arrays and ``.npz`` archives of events.

``.npy``: a 1-D structured array with integer fields ``t`` (µs), ``x``, ``y`` and ``p``
(bool or integer, 0/1 or -1/1 with -1 = OFF), any field order and byte order (tonic's and
our :data:`EVENT_DTYPE` both qualify). Object arrays are refused (nothing is unpickled).
``.npy`` stores no sensor size; pass ``sensor_size=(w, h)`` to :func:`read` to set one.

``.npz``: either one structured member ``events`` (what :func:`write` writes) or four
members ``t``, ``x``, ``y``, ``p`` of equal length; an optional ``sensor_size`` member
``[width, height]`` gives the sensor size (the writer always stores it).

Both are decoded block by block from the file (``.npz`` members are streamed out of the zip
archive, decompressing as they go): memory is bounded by ``chunk_events`` whatever the file
size. The declared array shape is checked against the bytes present before anything is read,
so a corrupt header cannot trigger a huge allocation. The streaming writer
(:func:`open_writer`) appends chunks to a ``.npy`` and patches the shape in the header at
``close``; an ``.npz`` is assembled from such a ``.npy`` written next to it.
"""

from __future__ import annotations

import ast
import io
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

import numpy as np

from ..errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from ..events import EVENT_DTYPE, Recording
from . import FormatSpec
from ._chunks import DEFAULT_CHUNK_EVENTS, check_chunk_events, join_events

__all__ = [
    "SPEC",
    "NumpyWriter",
    "columns_to_events",
    "join_events",
    "iter_chunks",
    "open_writer",
    "probe",
    "read",
    "sniff",
    "write",
]

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
_FIELDS = ("t", "x", "y", "p")
_MAX_HEADER = 1 << 16
_MAX_RECORD = 1 << 12
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


def sniff(head: bytes, path: str = "") -> bool:
    """``.npy`` magic, or a zip whose first member is a ``.npy`` (an ``.npz`` archive)."""
    if head.startswith(NPY_MAGIC):
        return True
    if head.startswith(ZIP_MAGIC) and len(head) >= 30:
        n_name = struct.unpack_from("<H", head, 26)[0]
        return head[30 : 30 + n_name].endswith(b".npy")
    return False


# ---------------------------------------------------------------------- shared packing
def columns_to_events(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    *,
    start: int,
    sensor_size: tuple[int, int] | None,
    path: str | os.PathLike | None,
    where: str,
) -> np.ndarray:
    """Validated :data:`EVENT_DTYPE` array from four columns (``start``: index of the first).

    Coordinates must lie in ``[0, 65535]`` (or inside ``sensor_size``), polarity in
    ``{-1, 0, 1}`` (mapped to 0/1); otherwise :class:`EventFormatError` names the column,
    the event index and the value.
    """
    n = t.shape[0]
    out = np.empty(n, dtype=EVENT_DTYPE)
    if n == 0:
        return out
    lim = sensor_size if sensor_size is not None else (1 << 16, 1 << 16)
    for name, v, hi_ok in (("x", x, lim[0]), ("y", y, lim[1])):
        lo, hi = int(v.min()), int(v.max())
        if lo < 0 or hi >= hi_ok:
            bad = int(np.flatnonzero((v < 0) | (v >= hi_ok))[0])
            what = (
                f"the {sensor_size[0]}x{sensor_size[1]} sensor"
                if sensor_size is not None
                else "0..65535"
            )
            raise EventFormatError(
                path,
                None,
                f"{where}{name}: event {start + bad} has {name}={v[bad]}, outside {what}",
            )
        out[name] = v
    if p.dtype != np.bool_:
        lo, hi = int(p.min()), int(p.max())
        if lo < -1 or hi > 1:
            bad = int(np.flatnonzero((p < -1) | (p > 1))[0])
            raise EventFormatError(
                path,
                None,
                f"{where}p: event {start + bad} has polarity {p[bad]}, expected 0/1 (or -1/1)",
            )
    out["p"] = p > 0
    if t.dtype == np.uint64 and int(t.max()) >= 1 << 63:
        bad = int(np.argmax(t >= np.uint64(1 << 63)))
        raise EventFormatError(
            path, None, f"{where}t: event {start + bad} has t={t[bad]}, beyond int64 microseconds"
        )
    out["t"] = t
    return out


def _check_dtype(dtype: np.dtype, path: str | os.PathLike, where: str, offset: int) -> None:
    if dtype.hasobject:
        raise UnsupportedEventTypeError(
            path, offset, f"{where}: object arrays are refused (they would need unpickling)"
        )
    fields = dtype.fields  # None exactly when dtype.names is None
    if dtype.names is None or fields is None:
        raise UnsupportedEventTypeError(
            path,
            offset,
            f"{where}: expected a structured array with fields t, x, y, p, found plain {dtype}",
        )
    missing = [k for k in _FIELDS if k not in dtype.names]
    if missing:
        raise UnsupportedEventTypeError(
            path,
            offset,
            f"{where}: structured array lacks field(s) {missing} (found {list(dtype.names)})",
        )
    if dtype.itemsize > _MAX_RECORD:
        raise UnsupportedEventTypeError(
            path, offset, f"{where}: records of {dtype.itemsize} bytes (at most {_MAX_RECORD})"
        )
    for k in _FIELDS:
        kind = fields[k][0].kind
        if kind not in "iub" or fields[k][0].shape:
            raise UnsupportedEventTypeError(
                path,
                offset,
                f"{where}: field {k!r} must be a scalar integer (t in microseconds), "
                f"found {fields[k][0]}",
            )


# ---------------------------------------------------------------------- .npy header
def _read_header(
    f: IO[bytes] | io.BufferedIOBase, path: str | os.PathLike, where: str
) -> tuple[np.dtype, int, int]:
    """(dtype, length, header bytes) of the .npy stream ``f`` positioned at its start."""
    magic = f.read(8)
    if len(magic) < 8:
        raise TruncatedFileError(path, 0, f"{where}: file ends inside the 8-byte .npy magic")
    if magic[:6] != NPY_MAGIC:
        raise EventFormatError(path, 0, f"{where}: expected .npy magic, found {magic[:6]!r}")
    major = magic[6]
    if major == 1:
        raw = f.read(2)
        hlen_size = 2
    elif major in (2, 3):
        raw = f.read(4)
        hlen_size = 4
    else:
        raise EventFormatError(path, 6, f"{where}: .npy version {major}.{magic[7]} unknown")
    if len(raw) < hlen_size:
        raise TruncatedFileError(path, 8, f"{where}: file ends inside the header length")
    hlen = int.from_bytes(raw, "little")
    if hlen > _MAX_HEADER:
        raise EventFormatError(path, 8, f"{where}: header length {hlen} exceeds {_MAX_HEADER}")
    text = f.read(hlen)
    if len(text) < hlen:
        raise TruncatedFileError(path, 8 + hlen_size, f"{where}: file ends inside the header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
        descr = header["descr"]
        shape = tuple(header["shape"])
        dtype = np.lib.format.descr_to_dtype(descr)
    except (ValueError, SyntaxError, KeyError, TypeError, UnicodeDecodeError, MemoryError) as exc:
        raise EventFormatError(
            path, 8 + hlen_size, f"{where}: unreadable .npy header: {exc}"
        ) from exc
    data_start = 8 + hlen_size + hlen
    if len(shape) != 1 or not isinstance(shape[0], int) or shape[0] < 0:
        raise EventFormatError(
            path, 8 + hlen_size, f"{where}: expected a 1-D array, found shape {shape}"
        )
    _check_dtype(dtype, path, where, 8 + hlen_size)
    if dtype.itemsize == 0:
        raise EventFormatError(path, 8 + hlen_size, f"{where}: zero-size records")
    return dtype, int(shape[0]), data_start


def _iter_stream(
    f: io.BufferedIOBase,
    dtype: np.dtype,
    n: int,
    chunk_events: int,
    path: str | os.PathLike,
    where: str,
    data_start: int,
) -> Iterator[np.ndarray]:
    done = 0
    while done < n:
        m = min(chunk_events, n - done)
        arr = np.empty(m, dtype=dtype)  # bounded by chunk_events; filled in place
        try:
            got = f.readinto(arr.view(np.uint8).data)
        except _ZIP_ERRORS as exc:
            raise EventFormatError(
                path, None, f"{where}: cannot read records {done}..{done + m}: {exc}"
            ) from exc
        if got < m * dtype.itemsize:
            raise TruncatedFileError(
                path,
                data_start + done * dtype.itemsize + got,
                f"{where}: data ends after {done + got // dtype.itemsize} of {n} declared records",
            )
        yield arr
        done += m


def _canonical(raw: np.ndarray, sensor: tuple[int, int] | None) -> bool:
    """True when ``raw`` is already valid :data:`EVENT_DTYPE` events (no copy needed)."""
    if raw.dtype != EVENT_DTYPE:
        return False
    if raw.shape[0] == 0:
        return True
    if bool((raw["p"].view(np.uint8) > 1).any()):
        return False
    if sensor is not None:
        return int(raw["x"].max()) < sensor[0] and int(raw["y"].max()) < sensor[1]
    return True


def _npy_chunks(
    path: str | os.PathLike, chunk_events: int, sensor: tuple[int, int] | None
) -> Iterator[np.ndarray]:
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        dtype, n, data_start = _read_header(f, path, ".npy")
        need = data_start + n * dtype.itemsize
        if need > size:
            raise TruncatedFileError(
                path,
                size,
                f".npy declares {n} records of {dtype.itemsize} bytes ({need} bytes in all), "
                f"file has {size}",
            )
        start = 0
        for raw in _iter_stream(f, dtype, n, chunk_events, path, ".npy ", data_start):
            if _canonical(raw, sensor):
                yield raw
                start += raw.shape[0]
                continue
            yield columns_to_events(
                raw["t"],
                raw["x"],
                raw["y"],
                raw["p"],
                start=start,
                sensor_size=sensor,
                path=path,
                where=".npy ",
            )
            start += raw.shape[0]


# ---------------------------------------------------------------------- .npz
def _zip(path: str | os.PathLike) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise EventFormatError(path, None, f"not a readable .npz (zip) archive: {exc}") from exc


def _npz_members(z: zipfile.ZipFile, path: str | os.PathLike) -> dict[str, zipfile.ZipInfo]:
    infos = {i.filename.removesuffix(".npy"): i for i in z.infolist()}
    if "events" in infos:
        return {"events": infos["events"]}
    missing = [k for k in _FIELDS if k not in infos]
    if missing:
        raise UnsupportedEventTypeError(
            path,
            None,
            f".npz holds neither an 'events' array nor t, x, y, p arrays (missing {missing}; "
            f"members: {sorted(infos)})",
        )
    return {k: infos[k] for k in _FIELDS}


def _npz_sensor_size(z: zipfile.ZipFile, path: str | os.PathLike) -> tuple[int, int] | None:
    names = {i.filename for i in z.infolist()}
    if "sensor_size.npy" not in names:
        return None
    info = z.getinfo("sensor_size.npy")
    if info.file_size > 4096:
        raise EventFormatError(path, None, f"sensor_size member of {info.file_size} bytes")
    try:
        with z.open(info) as f:
            dtype, n, _ = _read_column_header(f, path, ".npz member sensor_size")
            if n != 2:
                raise ValueError(f"expected 2 integers [width, height], found {n}")
            size = np.frombuffer(f.read(2 * dtype.itemsize), dtype=dtype)
    except (*_ZIP_ERRORS, ValueError) as exc:
        raise EventFormatError(path, None, f".npz sensor_size: {exc}") from exc
    if size.shape != (2,) or int(size.min()) <= 0 or size.max() > 1 << 16:
        raise EventFormatError(path, None, f".npz sensor_size: expected (w, h), found {size}")
    return (int(size[0]), int(size[1]))


def _open_member(
    z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | os.PathLike
) -> tuple[io.BufferedIOBase, np.dtype, int, int]:
    where = f".npz member {info.filename}"
    try:
        # read mode always gives a ZipExtFile (typeshed says IO[bytes], which lacks readinto)
        f = cast(zipfile.ZipExtFile, z.open(info))
    except _ZIP_ERRORS as exc:
        raise EventFormatError(path, info.header_offset, f"{where}: {exc}") from exc
    try:
        if info.filename.removesuffix(".npy") == "events":
            dtype, n, data_start = _read_header(f, path, where)
        else:
            dtype, n, data_start = _read_column_header(f, path, where)
    except _ZIP_ERRORS as exc:
        f.close()
        raise EventFormatError(path, info.header_offset, f"{where}: {exc}") from exc
    except BaseException:
        f.close()
        raise
    if data_start + n * dtype.itemsize != info.file_size:
        f.close()
        raise TruncatedFileError(
            path,
            info.header_offset,
            f"{where}: header declares {n} records ({data_start + n * dtype.itemsize} bytes), "
            f"the member holds {info.file_size} bytes",
        )
    return f, dtype, n, data_start


def _read_column_header(
    f: IO[bytes] | io.BufferedIOBase, path: str | os.PathLike, where: str
) -> tuple[np.dtype, int, int]:
    """Header of a plain 1-D integer column (t, x, y or p)."""
    magic = f.read(8)
    if magic[:6] != NPY_MAGIC or len(magic) < 8:
        raise EventFormatError(path, None, f"{where}: expected .npy magic, found {magic[:6]!r}")
    major = magic[6]
    hlen_size = 2 if major == 1 else 4
    hlen = int.from_bytes(f.read(hlen_size), "little")
    if hlen > _MAX_HEADER:
        raise EventFormatError(path, None, f"{where}: header length {hlen} exceeds {_MAX_HEADER}")
    text = f.read(hlen)
    try:
        header = ast.literal_eval(text.decode("latin1"))
        dtype = np.lib.format.descr_to_dtype(header["descr"])
        shape = tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError) as exc:
        raise EventFormatError(path, None, f"{where}: unreadable .npy header: {exc}") from exc
    if (
        dtype.hasobject
        or dtype.names is not None
        or dtype.kind not in "iub"
        or dtype.itemsize > 8
        or len(shape) != 1
        or not isinstance(shape[0], int)
        or shape[0] < 0
    ):
        raise UnsupportedEventTypeError(
            path,
            None,
            f"{where}: expected a 1-D integer column, found shape {shape} dtype {dtype}",
        )
    return dtype, int(shape[0]), 8 + hlen_size + hlen


def _npz_chunks(
    path: str | os.PathLike, chunk_events: int, sensor: tuple[int, int] | None
) -> Iterator[np.ndarray]:
    with _zip(path) as z:
        members = _npz_members(z, path)
        if sensor is None:
            sensor = _npz_sensor_size(z, path)
        opened = [(k, *_open_member(z, info, path)) for k, info in members.items()]
        try:
            lengths = {k: n for k, _, _, n, _ in opened}
            if len(set(lengths.values())) != 1:
                raise EventFormatError(path, None, f".npz columns differ in length: {lengths}")
            streams = {
                k: _iter_stream(f, dt, n, chunk_events, path, f".npz {k} ", ds)
                for k, f, dt, n, ds in opened
            }
            start = 0
            while True:
                got = {k: next(s, None) for k, s in streams.items()}
                cols = {k: c for k, c in got.items() if c is not None}
                if len(cols) < len(got):  # a column ended
                    return
                if "events" in cols:
                    raw = cols["events"]
                    if _canonical(raw, sensor):
                        yield raw
                        start += raw.shape[0]
                        continue
                    t, x, y, p = raw["t"], raw["x"], raw["y"], raw["p"]
                else:
                    t, x, y, p = cols["t"], cols["x"], cols["y"], cols["p"]
                yield columns_to_events(
                    t, x, y, p, start=start, sensor_size=sensor, path=path, where=".npz "
                )
                start += t.shape[0]
        finally:
            for _, f, *_ in opened:
                f.close()


# ---------------------------------------------------------------------- reader API
def _container(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGIC):
        return "npz"
    raise EventFormatError(path, 0, f"expected .npy or .npz (zip) magic, found {head!r}")


def _check_size(sensor_size: Any) -> tuple[int, int] | None:
    if sensor_size is None:
        return None
    w, h = (int(v) for v in sensor_size)
    if w <= 0 or h <= 0:
        raise ValueError(
            f"numpy sensor_size: expected positive (width, height), found {sensor_size}"
        )
    return (w, h)


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    sensor_size: tuple[int, int] | None = None,
) -> Iterator[np.ndarray]:
    """Stream ``.npy`` / ``.npz`` events in chunks of at most ``chunk_events``."""
    chunk_events = check_chunk_events(chunk_events)
    sensor = _check_size(sensor_size)
    if _container(path) == "npy":
        yield from _npy_chunks(path, chunk_events, sensor)
    else:
        yield from _npz_chunks(path, chunk_events, sensor)


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Container, event count, stored dtype and (``.npz``) sensor size; no events read."""
    kind = _container(path)
    if kind == "npy":
        with open(path, "rb") as f:
            dtype, n, _ = _read_header(f, path, ".npy")
        return {
            "format": SPEC.name,
            "container": "npy",
            "n_events": n,
            "dtype": str(dtype),
            "sensor_size": None,
        }
    with _zip(path) as z:
        members = _npz_members(z, path)
        sensor = _npz_sensor_size(z, path)
        opened = [_open_member(z, info, path) for info in members.values()]
        for member, *_ in opened:
            member.close()
    return {
        "format": SPEC.name,
        "container": "npz",
        "layout": "events" if "events" in members else "columns",
        "n_events": opened[0][2],
        "sensor_size": sensor,
    }


def read(path: str | os.PathLike, *, sensor_size: tuple[int, int] | None = None) -> Recording:
    """Decode the whole file; ``sensor_size`` overrides (or supplies) the sensor size."""
    facts = probe(path)
    sensor = _check_size(sensor_size) or facts["sensor_size"]
    # .npy lengths are checked against the file size before reading: one read, one array
    chunk = max(1, facts["n_events"]) if facts["container"] == "npy" else 1 << 22
    events = join_events(list(iter_chunks(path, chunk_events=chunk, sensor_size=sensor)))
    meta = {"container": facts["container"]}
    return Recording(events, sensor, SPEC.name, os.fspath(path), meta)


# ---------------------------------------------------------------------- writing
def _npy_header(n: int, dtype: np.dtype, width: int | None = None) -> bytes:
    """Version 1.0 header for ``n`` records, padded to ``width`` bytes (or to 64)."""
    text = repr(
        {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,)}
    )
    body = text.encode("latin1")
    total = width if width is not None else -(-(10 + len(body) + 1 + 24) // 64) * 64
    pad = total - 10 - len(body) - 1
    if pad < 0:
        raise ValueError("internal: .npy header does not fit its reserved space")
    return NPY_MAGIC + b"\x01\x00" + struct.pack("<H", total - 10) + body + b" " * pad + b"\n"


def _validated(events: np.ndarray, sensor: tuple[int, int] | None) -> np.ndarray:
    events = np.asarray(events)
    if events.dtype.names is None or not set(_FIELDS) <= set(events.dtype.names):
        raise ValueError(
            f"numpy write events: expected a structured array with t, x, y, p, found {events.dtype}"
        )
    if events.ndim != 1:
        raise ValueError(f"numpy write events: expected a 1-D array, found shape {events.shape}")
    n = events.shape[0]
    if n and (sensor is not None or events.dtype != EVENT_DTYPE):
        x, y = events["x"], events["y"]
        xmin, xmax, ymin, ymax = int(x.min()), int(x.max()), int(y.min()), int(y.max())
        lim = sensor if sensor is not None else (1 << 16, 1 << 16)
        if xmin < 0 or ymin < 0 or xmax >= lim[0] or ymax >= lim[1]:
            raise ValueError(
                f"numpy write: expected 0 <= x < {lim[0]} and 0 <= y < {lim[1]}, "
                f"found x in [{xmin}, {xmax}], y in [{ymin}, {ymax}]"
            )
    if events.dtype == EVENT_DTYPE and not (n and bool((events["p"].view(np.uint8) > 1).any())):
        return np.ascontiguousarray(events)  # already canonical: written as is
    out = np.empty(n, dtype=EVENT_DTYPE)
    out["t"], out["x"], out["y"] = events["t"], events["x"], events["y"]
    out["p"] = events["p"] > 0
    return out


class NumpyWriter:
    """Streaming writer of :data:`EVENT_DTYPE` records to ``.npy`` or ``.npz``.

    Chunks are appended to a ``.npy`` (the target itself, or a temporary file next to an
    ``.npz`` target); ``close`` patches the record count into the reserved header and, for
    ``.npz``, builds the archive (``events`` + ``sensor_size``; deflated when ``compress``).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        sensor_size: tuple[int, int] | None = None,
        container: str | None = None,
        compress: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.sensor_size = _check_size(sensor_size)
        if container is None:
            container = "npz" if self.path.lower().endswith(".npz") else "npy"
        if container not in ("npy", "npz"):
            raise ValueError(f"numpy container: expected 'npy' or 'npz', found {container!r}")
        if container == "npz" and self.sensor_size is None:
            raise ValueError("numpy write .npz: sensor_size is required (the archive stores it)")
        self.container = container
        self.compress = bool(compress)
        self.n_events = 0
        if container == "npy":
            self._npy_path = self.path
        else:
            fd, self._npy_path = tempfile.mkstemp(
                suffix=".npy", dir=os.path.dirname(os.path.abspath(self.path))
            )
            os.close(fd)
        self._header_size = len(_npy_header(1 << 62, EVENT_DTYPE))
        self._f = open(self._npy_path, "wb")
        self._f.write(_npy_header(0, EVENT_DTYPE, self._header_size))

    def append(self, events: np.ndarray) -> None:
        """Append a chunk (validated against the sensor size)."""
        data = _validated(events, self.sensor_size)
        self._f.write(data.tobytes())
        self.n_events += data.shape[0]

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.seek(0)
            self._f.write(_npy_header(self.n_events, EVENT_DTYPE, self._header_size))
        finally:
            self._f.close()
        if self.container == "npz":
            try:
                mode = zipfile.ZIP_DEFLATED if self.compress else zipfile.ZIP_STORED
                with zipfile.ZipFile(self.path, "w", mode, allowZip64=True) as z:
                    z.write(self._npy_path, "events.npy")
                    with z.open("sensor_size.npy", "w") as f:
                        np.lib.format.write_array(
                            f, np.asarray(self.sensor_size, dtype=np.int64), allow_pickle=False
                        )
            finally:
                os.unlink(self._npy_path)

    def __enter__(self) -> NumpyWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_writer(
    path: str | os.PathLike, *, sensor_size: tuple[int, int] | None = None, **options: Any
) -> NumpyWriter:
    """A streaming :class:`NumpyWriter` (the ``events convert`` command appends chunks)."""
    return NumpyWriter(path, sensor_size=sensor_size, **options)


def write(
    path: str | os.PathLike,
    events: np.ndarray,
    *,
    sensor_size: tuple[int, int] | None = None,
    container: str | None = None,
    compress: bool = False,
) -> None:
    """Write events as ``.npy`` or ``.npz`` (from the extension unless ``container``)."""
    data = _validated(events, _check_size(sensor_size))
    with NumpyWriter(path, sensor_size=sensor_size, container=container, compress=compress) as w:
        w.append(data)


SPEC = FormatSpec(
    name="NumPy",
    description="NumPy .npy structured events / .npz (events or t,x,y,p + sensor_size)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".npy", ".npz"),
)
