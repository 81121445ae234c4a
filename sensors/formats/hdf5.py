"""HDF5 event files: the generic ``events/{x,y,t,p}`` layout, DSEC, and Prophesee ``/CD/events``.

Layouts (detected from the file's structure, reported as ``metadata["layout"]``):

* ``generic``: datasets ``events/x``, ``events/y``, ``events/t``, ``events/p`` of equal
  length (any integer types; ``p`` 0/1, or -1/1 with -1 = OFF); ``t`` in microseconds.
  Sensor size from the ``sensor_width``/``sensor_height`` attributes (root or ``events``)
  when present. This module's writer writes it, chunked, optionally compressed.
* ``dsec``: DSEC (Gehrig et al. 2021) ``events/{p,t,x,y}`` plus ``t_offset`` (int64 µs) and
  ``ms_to_idx`` (index of the first event at or after each millisecond of relative time),
  Blosc/ZSTD-compressed (``import hdf5plugin`` registers the filter). Stored ``t`` is
  relative to ``t_offset``; like DSEC's own loader, the reader returns ``t + t_offset``
  (the camera's clock) unless ``add_t_offset=False``. ``iter_chunks(t_start_us=...)``
  starts reading at ``ms_to_idx`` of that millisecond (the index is checked against the
  two events around it), so time-range streaming does not read the file from its start. DSEC files store no sensor size
  (the DSEC cameras are 640×480): ``sensor_size`` is ``None`` unless the file carries
  ``sensor_width``/``sensor_height`` attributes (this module's writer adds them).
* ``prophesee``: Metavision ``/CD/events``, a compound dataset {x u2, y u2, p i2, t i8},
  normally compressed with Prophesee's ECF codec (HDF5 filter 0x8ECF). When that filter
  plugin is not installed (``HDF5_PLUGIN_PATH``) reading raises
  :class:`UnsupportedEventTypeError` saying so. Sensor size from the root ``geometry``
  attribute (``"1280x720"``) when present.

Every layout is read slice by slice (``iter_chunks``): memory is bounded by ``chunk_events``
whatever the file size. Values the event dtype cannot hold (negative or > 65535
coordinates, polarity other than -1/0/1, coordinates outside a recorded sensor size) raise
:class:`EventFormatError` naming the dataset and the event index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal

import h5py
import hdf5plugin
import numpy as np

from ..errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from ..events import Recording
from . import FormatSpec
from ._chunks import DEFAULT_CHUNK_EVENTS, check_chunk_events, join_events
from .numpy_files import columns_to_events

__all__ = [
    "COMPRESSIONS",
    "ECF_FILTER_ID",
    "LAYOUTS",
    "PROPHESEE_CD_DTYPE",
    "SPEC",
    "Hdf5Writer",
    "iter_chunks",
    "open_writer",
    "probe",
    "read",
    "sniff",
    "write",
]

MAGIC = b"\x89HDF\r\n\x1a\n"
ECF_FILTER_ID = 0x8ECF
LAYOUTS = ("generic", "dsec", "prophesee")
PROPHESEE_CD_DTYPE = np.dtype(
    {
        "names": ["x", "y", "p", "t"],
        "formats": ["<u2", "<u2", "<i2", "<i8"],
        "offsets": [0, 2, 4, 8],
        "itemsize": 16,
    }
)
_HDF5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError)
#: The writer's ``compression`` values (``events convert -o compression=...``).
COMPRESSIONS = ("none", "gzip", "lzf", "blosc-zstd", "blosc-lz4")
_COMPRESSIONS = COMPRESSIONS


def sniff(head: bytes, path: str = "") -> bool:
    """True when the HDF5 superblock signature is at byte 0, 512, 1024 or 2048."""
    return any(head[o : o + 8] == MAGIC for o in (0, 512, 1024, 2048))


def _open(path: str | os.PathLike) -> h5py.File:
    try:
        return h5py.File(os.fspath(path), "r", locking=False)
    except _HDF5_ERRORS as exc:
        raise EventFormatError(path, None, f"cannot open as HDF5: {exc}") from exc


def _attr_int(obj: Any, name: str) -> int | None:
    try:
        v = obj.attrs.get(name)
    except _HDF5_ERRORS:
        return None
    if v is None:
        return None
    try:
        return int(np.asarray(v).reshape(-1)[0])
    except (ValueError, TypeError, IndexError):
        return None


def _layout(f: h5py.File, path: str | os.PathLike) -> str:
    try:
        if "CD" in f and isinstance(f["CD"], h5py.Group) and "events" in f["CD"]:
            return "prophesee"
        if "events" in f and isinstance(f["events"], h5py.Group):
            g = f["events"]
            missing = [k for k in "xytp" if k not in g]
            if missing:
                raise EventFormatError(
                    path,
                    None,
                    f"HDF5 group 'events' lacks dataset(s) {missing}; expected events/x, "
                    f"events/y, events/t, events/p (found {sorted(g.keys())})",
                )
            return "dsec" if "t_offset" in f or "ms_to_idx" in f else "generic"
        found = sorted(f.keys())
    except EventFormatError:
        raise
    except _HDF5_ERRORS as exc:
        raise EventFormatError(path, None, f"unreadable HDF5 structure: {exc}") from exc
    raise UnsupportedEventTypeError(
        path,
        None,
        f"HDF5 file holds no event layout spikesim knows (expected events/{{x,y,t,p}}, DSEC "
        f"events/ + t_offset + ms_to_idx, or Prophesee /CD/events); top-level keys: {found}",
    )


def _dataset(f: h5py.File, name: str, path: str | os.PathLike) -> h5py.Dataset:
    try:
        d = f[name]
    except _HDF5_ERRORS as exc:
        raise EventFormatError(path, None, f"cannot open dataset {name!r}: {exc}") from exc
    if not isinstance(d, h5py.Dataset):
        raise EventFormatError(path, None, f"{name!r} is a group, expected a dataset")
    return d


def _check_filters(d: h5py.Dataset, path: str | os.PathLike) -> None:
    """Refuse, with the plugin named, a dataset whose compression filter is not available."""
    try:
        plist = d.id.get_create_plist()
        n = plist.get_nfilters()
        filters = [plist.get_filter(i) for i in range(n)]
    except _HDF5_ERRORS as exc:
        raise EventFormatError(
            path, None, f"dataset {d.name!r}: unreadable filters: {exc}"
        ) from exc
    for code, _flags, _values, name in filters:
        if not h5py.h5z.filter_avail(code):
            label = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
            label = label or ("ECF" if code == ECF_FILTER_ID else "unnamed")
            hint = (
                "Prophesee's ECF codec plugin (github.com/prophesee-ai/hdf5_ecf) is not "
                "installed; install it and set HDF5_PLUGIN_PATH to its folder"
                if code == ECF_FILTER_ID
                else "no installed HDF5 filter plugin provides it (hdf5plugin is loaded)"
            )
            raise UnsupportedEventTypeError(
                path,
                None,
                f"dataset {d.name!r} is compressed with HDF5 filter {code:#x} ({label}): {hint}",
            )
    # A dataset whose declared length is not backed by stored data would read back as fill
    # values (silently wrong events), and a corrupt length could make that run for ever.
    n = d.shape[0] if d.ndim == 1 else 0
    if n:
        try:
            stored = d.id.get_storage_size()
        except _HDF5_ERRORS as exc:
            raise EventFormatError(path, None, f"dataset {d.name!r}: {exc}") from exc
        need = n * d.dtype.itemsize
        if stored == 0 or (not filters and stored < need):
            raise TruncatedFileError(
                path,
                None,
                f"dataset {d.name!r} declares {n} events ({need} bytes) but only {stored} "
                "bytes are stored",
            )


def _sensor_size(f: h5py.File, layout: str) -> tuple[int, int] | None:
    """The sensor (width, height) the file states, or None where it states none (or a 0 side).
    A stated size with a negative side is an :class:`EventFormatError` naming the attribute."""
    if layout == "prophesee":
        geometry = f.attrs.get("geometry")
        if geometry is not None:
            text = geometry.decode() if isinstance(geometry, bytes) else str(geometry)
            try:
                w, h = (int(v) for v in text.lower().split("x"))
                return _positive_size(f, "geometry", w, h)
            except ValueError:
                pass
        width, height = _attr_int(f, "width"), _attr_int(f, "height")
        return _positive_size(f, "width/height", width, height)
    for obj in (f, f["events"]):
        width, height = _attr_int(obj, "sensor_width"), _attr_int(obj, "sensor_height")
        size = _positive_size(f, "sensor_width/sensor_height", width, height)
        if size is not None:
            return size
    return None


def _positive_size(
    f: h5py.File, attr: str, width: int | None, height: int | None
) -> tuple[int, int] | None:
    if width is None or height is None or width == 0 or height == 0:
        return None  # not stated (some writers put 0 for unknown)
    if width < 0 or height < 0:
        raise EventFormatError(
            f.filename,
            None,
            f"attribute {attr}: expected a positive sensor size, found {width} x {height}",
        )
    return (width, height)


def _guarded(path: str | os.PathLike, what: str) -> Any:
    """Context that turns h5py's errors on a damaged file into :class:`EventFormatError`."""
    return _Guard(path, what)


class _Guard:
    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, EventFormatError):
            return False
        if isinstance(exc, _HDF5_ERRORS):  # h5py: OSError, KeyError, UnicodeDecodeError ...
            raise EventFormatError(
                self.path, None, f"{self.what}: damaged HDF5 structure ({exc!r})"
            ) from exc
        return False


def _describe(path: str | os.PathLike) -> dict[str, Any]:
    with _guarded(path, "reading the HDF5 layout"):
        return _describe_unguarded(path)


def _describe_unguarded(path: str | os.PathLike) -> dict[str, Any]:
    """Layout, datasets, length, sensor size and DSEC facts (no event data read)."""
    with _open(path) as f:
        layout = _layout(f, path)
        facts: dict[str, Any] = {"layout": layout}
        if layout == "prophesee":
            d = _dataset(f, "CD/events", path)
            if d.dtype.names is None or not {"x", "y", "p", "t"} <= set(d.dtype.names):
                raise EventFormatError(
                    path, None, f"/CD/events: expected fields x, y, p, t, found dtype {d.dtype}"
                )
            if d.ndim != 1:
                raise EventFormatError(path, None, f"/CD/events: expected 1-D, found {d.shape}")
            n = d.shape[0]
            attrs = {}
            for key in ("format", "version", "serial_number", "generation", "plugin_name"):
                v = f.attrs.get(key)
                if v is not None:
                    attrs[key] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            facts["file_attrs"] = attrs
        else:
            lengths = {}
            for k in "xytp":
                d = _dataset(f, f"events/{k}", path)
                if d.ndim != 1 or d.dtype.kind not in "iub":
                    raise EventFormatError(
                        path,
                        None,
                        f"events/{k}: expected a 1-D integer dataset, found shape {d.shape} "
                        f"dtype {d.dtype}",
                    )
                lengths[k] = d.shape[0]
            if len(set(lengths.values())) != 1:
                raise EventFormatError(
                    path, None, f"events/x, y, t, p have different lengths: {lengths}"
                )
            n = lengths["x"]
            if layout == "dsec":
                t_offset = 0
                if "t_offset" in f:
                    try:
                        t_offset = int(np.asarray(_dataset(f, "t_offset", path)[()]).reshape(-1)[0])
                    except (IndexError, ValueError, TypeError, OSError) as exc:
                        raise EventFormatError(path, None, f"unreadable t_offset: {exc}") from exc
                facts["t_offset_us"] = t_offset
                if "ms_to_idx" in f:
                    facts["ms_to_idx_length"] = int(_dataset(f, "ms_to_idx", path).shape[0])
        facts["n_events"] = int(n)
        facts["sensor_size"] = _sensor_size(f, layout)
    return facts


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """Layout, event count, sensor size (and t_offset for DSEC) without reading events."""
    facts = _describe(path)
    facts["format"] = SPEC.name
    return facts


def _dsec_seek(f: h5py.File, t: h5py.Dataset, t_rel_us: int, path: str | os.PathLike) -> int:
    """Index of the first event at or after ``t_rel_us`` milliseconds' floor, via ``ms_to_idx``.

    The two events around the index are checked against it, so a damaged index raises
    instead of silently skipping events.
    """
    if t_rel_us <= 0:
        return 0
    index = _dataset(f, "ms_to_idx", path)
    ms = t_rel_us // 1000
    if index.ndim != 1 or index.shape[0] == 0:
        return 0
    if ms >= index.shape[0]:
        ms = index.shape[0] - 1
    i = int(index[ms])
    n = t.shape[0]
    bound = ms * 1000
    ok = 0 <= i <= n and (i == n or int(t[i]) >= bound) and (i == 0 or int(t[i - 1]) < bound)
    if not ok:
        raise EventFormatError(
            path,
            None,
            f"ms_to_idx[{ms}] = {i} does not point at the first event at or after {bound} us "
            f"(relative time) in events/t of {n} events",
        )
    return i


def _iter_layout(
    path: str | os.PathLike,
    chunk_events: int,
    add_t_offset: bool,
    t_start_us: int | None = None,
) -> Iterator[np.ndarray]:
    with _open(path) as f:
        layout = _layout(f, path)
        sensor = _sensor_size(f, layout)
        if layout == "prophesee":
            d = _dataset(f, "CD/events", path)
            _check_filters(d, path)
            n = d.shape[0]
            for s in range(0, n, chunk_events):
                try:
                    raw = d[s : min(n, s + chunk_events)]
                except _HDF5_ERRORS as exc:
                    raise EventFormatError(
                        path, None, f"/CD/events: cannot read events {s}..: {exc}"
                    ) from exc
                c = np.ascontiguousarray  # packing from contiguous columns is ~1.5x faster
                yield columns_to_events(
                    c(raw["t"]),
                    c(raw["x"]),
                    c(raw["y"]),
                    c(raw["p"]),
                    start=s,
                    sensor_size=sensor,
                    path=path,
                    where="/CD/events ",
                )
            return
        ds = {k: _dataset(f, f"events/{k}", path) for k in "xytp"}
        for d in ds.values():
            _check_filters(d, path)
        n = ds["x"].shape[0]
        if any(d.shape[0] != n for d in ds.values()):
            raise EventFormatError(path, None, "events/x, y, t, p have different lengths")
        offset = 0  # added to the stored (relative) DSEC timestamps
        if layout == "dsec" and add_t_offset and "t_offset" in f:
            try:
                offset = int(np.asarray(f["t_offset"][()]).reshape(-1)[0])
            except _HDF5_ERRORS as exc:
                raise EventFormatError(path, None, f"unreadable t_offset: {exc}") from exc
        first = 0
        if t_start_us is not None and layout == "dsec" and "ms_to_idx" in f:
            first = _dsec_seek(f, ds["t"], int(t_start_us) - offset, path)
        for s in range(first, n, chunk_events):
            e = min(n, s + chunk_events)
            try:
                cols = {k: d[s:e] for k, d in ds.items()}
            except _HDF5_ERRORS as exc:
                raise EventFormatError(
                    path, None, f"events/: cannot read events {s}..{e}: {exc}"
                ) from exc
            t = cols["t"].astype(np.int64, copy=False)  # a fresh array from h5py
            if offset:
                t += offset
            if not (cols["x"].shape == cols["y"].shape == t.shape == cols["p"].shape):
                raise TruncatedFileError(path, None, f"events/: short read at event {s}")
            yield columns_to_events(
                t,
                cols["x"],
                cols["y"],
                cols["p"],
                start=s,
                sensor_size=sensor,
                path=path,
                where="events/",
            )


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    add_t_offset: bool = True,
    t_start_us: int | None = None,
) -> Iterator[np.ndarray]:
    """Read the events slice by slice (``chunk_events`` per slice), in file order.

    ``t_start_us`` is a seek hint: in the DSEC layout, reading starts at the ``ms_to_idx``
    entry of that millisecond (events before ``t_start_us`` in that millisecond still come
    out; other layouts start at the beginning). ``io``'s ``iter_windows`` passes it.
    """
    chunk_events = check_chunk_events(chunk_events)
    with _guarded(path, "reading events"):
        yield from _iter_layout(path, chunk_events, add_t_offset, t_start_us)


def read(path: str | os.PathLike, *, add_t_offset: bool = True) -> Recording:
    """Decode the whole file; ``add_t_offset`` applies to the DSEC layout only."""
    facts = _describe(path)
    events = join_events(list(iter_chunks(path, chunk_events=1 << 22, add_t_offset=add_t_offset)))
    sensor = facts["sensor_size"]
    meta = {k: v for k, v in facts.items() if k not in ("sensor_size", "n_events")}
    if facts["layout"] == "dsec":
        meta["t_offset_applied"] = bool(add_t_offset)
    return Recording(events, sensor, SPEC.name, os.fspath(path), meta)


# ---------------------------------------------------------------------- writing
def _filter_kwargs(compression: str) -> dict[str, Any]:
    if compression == "none":
        return {}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression == "blosc-zstd":
        return dict(hdf5plugin.Blosc(cname="zstd", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    if compression == "blosc-lz4":
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    raise ValueError(f"hdf5 compression: expected one of {_COMPRESSIONS}, found {compression!r}")


def _check_events(events: np.ndarray) -> np.ndarray:
    events = np.asarray(events)
    if events.dtype.names is None or not {"t", "x", "y", "p"} <= set(events.dtype.names):
        raise ValueError(
            f"hdf5 write events: expected a structured array with t, x, y, p, found {events.dtype}"
        )
    return events


class Hdf5Writer:
    """Streaming HDF5 writer: ``append`` chunks of events, then ``close``.

    ``layout="generic"`` writes ``events/{x,y,t,p}`` (u2, u2, i8, u1) with the sensor size as
    root attributes; ``layout="dsec"`` writes DSEC's ``events/{p u1, t u4, x u2, y u2}``
    relative to ``t_offset`` (the first event's time unless given) plus ``ms_to_idx``;
    ``layout="prophesee"`` writes the ``/CD/events`` compound dataset (without ECF, which
    needs Prophesee's plugin: any HDF5 reader can read it). ``compression`` is one of
    ``none``, ``gzip``, ``lzf``, ``blosc-zstd`` (DSEC's choice, the DSEC default) or
    ``blosc-lz4``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        sensor_size: tuple[int, int] | None,
        layout: str = "generic",
        compression: str | None = None,
        chunk_events: int = 1 << 16,
        t_offset_us: int | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"hdf5 layout: expected one of {LAYOUTS}, found {layout!r}")
        if compression is None:
            compression = "blosc-zstd" if layout == "dsec" else "none"
        kwargs = _filter_kwargs(compression)
        self.chunk_events = check_chunk_events(chunk_events)
        self.layout = layout
        self.path = os.fspath(path)
        self.sensor_size = (
            None if sensor_size is None else (int(sensor_size[0]), int(sensor_size[1]))
        )
        self.n_events = 0
        self._t_offset = t_offset_us
        self._last_t_rel = -1
        self._ms_to_idx: list[np.ndarray] = []  # uint64 pieces, joined at close
        self._n_ms = 0
        self._f = h5py.File(self.path, "w")
        f = self._f
        f.attrs["spikesim_layout"] = layout
        opts = dict(maxshape=(None,), chunks=(self.chunk_events,), **kwargs)
        if layout == "prophesee":
            g = f.create_group("CD")
            self._ds = {"cd": g.create_dataset("events", (0,), dtype=PROPHESEE_CD_DTYPE, **opts)}
            if self.sensor_size is not None:
                f.attrs["geometry"] = f"{self.sensor_size[0]}x{self.sensor_size[1]}"
            f.attrs["format"] = "spikesim"
            return
        g = f.create_group("events")
        types = (
            {"x": "<u2", "y": "<u2", "t": "<i8", "p": "u1"}
            if layout == "generic"
            else {"p": "u1", "t": "<u4", "x": "<u2", "y": "<u2"}
        )
        self._ds = {k: g.create_dataset(k, (0,), dtype=v, **opts) for k, v in types.items()}
        if self.sensor_size is not None:
            f.attrs["sensor_width"] = self.sensor_size[0]
            f.attrs["sensor_height"] = self.sensor_size[1]

    def append(self, events: np.ndarray) -> None:
        """Append a chunk (validated: coordinates fit the sensor, DSEC times ordered)."""
        events = _check_events(events)
        n = events.shape[0]
        if n == 0:
            return
        x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
        lim = self.sensor_size if self.sensor_size is not None else (1 << 16, 1 << 16)
        if x.min() < 0 or y.min() < 0 or x.max() >= lim[0] or y.max() >= lim[1]:
            raise ValueError(
                f"hdf5 write: expected 0 <= x < {lim[0]} and 0 <= y < {lim[1]}, "
                f"found x in [{x.min()}, {x.max()}], y in [{y.min()}, {y.max()}]"
            )
        t = events["t"].astype(np.int64)
        p = (events["p"] > 0).astype(np.uint8)
        s, e = self.n_events, self.n_events + n
        if self.layout == "prophesee":
            rec = np.zeros(n, dtype=PROPHESEE_CD_DTYPE)
            rec["x"], rec["y"], rec["p"], rec["t"] = x, y, p, t
            d = self._ds["cd"]
            d.resize((e,))
            d[s:e] = rec
            self.n_events = e
            return
        if self.layout == "dsec":
            if self._t_offset is None:
                self._t_offset = int(t[0])
            t = t - self._t_offset
            if t.min() < 0 or t.max() >= 1 << 32:
                raise ValueError(
                    f"hdf5 dsec write t: expected 0 <= t - t_offset < 2**32 us, found "
                    f"[{t.min()}, {t.max()}] (t_offset {self._t_offset})"
                )
            if int(t[0]) < self._last_t_rel or bool(np.any(t[1:] < t[:-1])):
                raise ValueError("hdf5 dsec write t: DSEC layout needs non-decreasing timestamps")
            self._last_t_rel = int(t[-1])
            # ms_to_idx[ms] = index of the first event with t >= ms * 1000
            ms_needed = int(t[-1]) // 1000 + 1
            have = self._n_ms
            if ms_needed > have:
                bounds = np.arange(have, ms_needed, dtype=np.int64) * 1000
                self._ms_to_idx.append((np.searchsorted(t, bounds, "left") + s).astype(np.uint64))
                self._n_ms = ms_needed
        for k, v in (("x", x), ("y", y), ("t", t), ("p", p)):
            d = self._ds[k]
            d.resize((e,))
            d[s:e] = v
        self.n_events = e

    def close(self) -> None:
        """Write DSEC's ``t_offset`` and ``ms_to_idx`` and close the file."""
        if not self._f.id.valid:
            return
        try:
            if self.layout == "dsec":
                self._f.create_dataset("t_offset", data=np.int64(self._t_offset or 0))
                idx = (
                    np.concatenate(self._ms_to_idx)
                    if self._ms_to_idx
                    else np.zeros(0, dtype=np.uint64)
                )
                self._f.create_dataset("ms_to_idx", data=idx, **_filter_kwargs("none"))
        finally:
            self._f.close()

    def __enter__(self) -> Hdf5Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_writer(
    path: str | os.PathLike, *, sensor_size: tuple[int, int] | None, **options: Any
) -> Hdf5Writer:
    """A streaming :class:`Hdf5Writer` (the ``events convert`` command appends chunks)."""
    return Hdf5Writer(path, sensor_size=sensor_size, **options)


def write(
    path: str | os.PathLike,
    events: np.ndarray,
    *,
    sensor_size: tuple[int, int] | None,
    layout: str = "generic",
    compression: str | None = None,
    chunk_events: int = 1 << 16,
    t_offset_us: int | None = None,
) -> None:
    """Write events in one of :data:`LAYOUTS` (see :class:`Hdf5Writer`)."""
    events = _check_events(events)
    with Hdf5Writer(
        path,
        sensor_size=sensor_size,
        layout=layout,
        compression=compression,
        chunk_events=chunk_events,
        t_offset_us=t_offset_us,
    ) as w:
        for s in range(0, events.shape[0], 1 << 22):
            w.append(events[s : s + (1 << 22)])


SPEC = FormatSpec(
    name="HDF5",
    description="HDF5 events: generic events/{x,y,t,p}, DSEC (Blosc), Prophesee /CD/events",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".h5", ".hdf5"),
)
