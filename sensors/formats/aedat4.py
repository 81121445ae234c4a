"""AEDAT 4.0 (iniVation DV / dv-processing): flatbuffer packets, optionally LZ4/ZSTD-compressed.

Layout (parsed here by hand, no flatbuffers dependency):

* ``#!AER-DAT4.0\\r\\n``, u32 length, an ``IOHE`` IOHeader flatbuffer: compression
  (0 none, 1 LZ4, 2 LZ4 high, 3 ZSTD, 4 ZSTD high), dataTablePosition (int64, -1 when
  absent) and the XML stream description (``outInfo/<id>``: typeIdentifier, sizeX, sizeY).
* Packets: int32 streamId, int32 size, then ``size`` bytes holding one LZ4 *frame* or ZSTD
  frame (or the raw bytes) of a size-prefixed flatbuffer whose identifier names its type
  (``EVTS``, ``FRME``, ``IMUS``, ``TRIG``).
* At dataTablePosition: the compressed, size-prefixed ``FTAB`` FileDataTable (ByteOffset of
  each packet's data, PacketHeader, NumElements, TimestampStart/End); reading stops there.

``EVTS`` packets are a table with one vector of 16-byte structs (int64 t, int16 x, int16 y,
bool on, 3 padding bytes); the vector start is located through the flatbuffer offsets, so any
alignment the writer chose works. Other streams are skipped without being decompressed;
:func:`iter_packets` exposes every packet's decompressed flatbuffer for callers that want
frames, IMU samples or triggers.

A file cut short (a packet running past the end of the file, or the file ending before the
dataTablePosition its IOHeader names) is a :class:`TruncatedFileError`; with
``allow_truncated=True`` the events of the complete packets before the cut are returned and a
:class:`TruncatedFileWarning` names the file and the byte offset. A file cut inside its
IOHeader always raises.
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import lz4.frame
import numpy as np
import zstandard

from ..errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from ..events import EVENT_DTYPE, Recording
from . import FormatSpec
from ._chunks import (
    DEFAULT_CHUNK_EVENTS,
    check_chunk_events,
    chunked,
    joined,
)

__all__ = [
    "AEDAT4_EVENT",
    "COMPRESSIONS",
    "SPEC",
    "Aedat4Writer",
    "iter_chunks",
    "iter_packets",
    "open_writer",
    "probe",
    "read",
    "sniff",
    "write",
]

MAGIC = b"#!AER-DAT4.0\r\n"
AEDAT4_EVENT = np.dtype(
    {
        "names": ["t", "x", "y", "on"],
        "formats": ["<i8", "<i2", "<i2", "u1"],
        "offsets": [0, 8, 10, 12],
        "itemsize": 16,
    }
)
COMPRESSIONS = ("none", "lz4", "lz4_high", "zstd", "zstd_high")
_XML_COMPRESSION = ("NONE", "LZ4", "LZ4_HIGH", "ZSTD", "ZSTD_HIGH")
_MAX_PACKET_BYTES = 1 << 31
_MAX_DECOMPRESSED = 1 << 31


# ---------------------------------------------------------------- flatbuffer reading
class _Flat:
    """Bounds-checked reads of a flatbuffer held in ``buf`` (raises ``_Bad`` on any violation)."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)

    def _need(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > self.n:
            raise _Bad(f"flatbuffer offset {pos}+{size} outside the {self.n}-byte buffer")

    def u32(self, pos: int) -> int:
        self._need(pos, 4)
        return struct.unpack_from("<I", self.buf, pos)[0]

    def i32(self, pos: int) -> int:
        self._need(pos, 4)
        return struct.unpack_from("<i", self.buf, pos)[0]

    def i64(self, pos: int) -> int:
        self._need(pos, 8)
        return struct.unpack_from("<q", self.buf, pos)[0]

    def root(self, start: int = 0) -> int:
        return start + self.u32(start)

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of field ``index`` of the table at ``table`` (None: absent)."""
        vt = table - self.i32(table)
        self._need(vt, 4)
        vsize = struct.unpack_from("<H", self.buf, vt)[0]
        slot = 4 + 2 * index
        if slot + 2 > vsize:
            return None
        self._need(vt + slot, 2)
        off = struct.unpack_from("<H", self.buf, vt + slot)[0]
        return table + off if off else None

    def deref(self, pos: int) -> int:
        return pos + self.u32(pos)

    def vector(self, pos: int, item_size: int) -> tuple[int, int]:
        """(start of elements, length) of the vector referenced at ``pos``."""
        vec = self.deref(pos)
        n = self.u32(vec)
        self._need(vec + 4, n * item_size)
        return vec + 4, n

    def string(self, pos: int) -> bytes:
        start, n = self.vector(pos, 1)
        return bytes(self.buf[start : start + n])


class _Bad(Exception):
    """Internal: a flatbuffer structure violation, turned into EventFormatError by callers."""


# ---------------------------------------------------------------- header
def sniff(head: bytes, path: str = "") -> bool:
    """True when the file starts with ``#!AER-DAT4.0\\r\\n``."""
    return head.startswith(MAGIC)


def _decompressor(compression: int, path: str | os.PathLike):
    if compression == 0:
        return lambda data, pos: data
    if compression in (1, 2):

        def lz4_dec(data: bytes, pos: int) -> bytes:
            try:
                return lz4.frame.decompress(data)
            except RuntimeError as exc:
                raise EventFormatError(
                    path, pos, f"LZ4 frame cannot be decompressed: {exc}"
                ) from exc

        return lz4_dec
    if compression in (3, 4):
        dctx = zstandard.ZstdDecompressor()

        def zstd_dec(data: bytes, pos: int) -> bytes:
            try:
                return dctx.decompressobj().decompress(data)
            except zstandard.ZstdError as exc:
                raise EventFormatError(
                    path, pos, f"ZSTD frame cannot be decompressed: {exc}"
                ) from exc

        return zstd_dec
    raise EventFormatError(path, None, f"unknown IOHeader compression {compression} (expected 0-4)")


def _parse_streams(xml_text: str, path: str | os.PathLike) -> dict[int, dict[str, Any]]:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise EventFormatError(path, 18, f"stream description is not valid XML: {exc}") from exc
    streams: dict[int, dict[str, Any]] = {}
    out_info = None
    for node in root.iter("node"):
        if node.get("name") == "outInfo":
            out_info = node
            break
    if out_info is None:
        return streams
    for node in out_info.findall("node"):
        try:
            sid = int(node.get("name", ""))
        except ValueError:
            continue
        attrs = {a.get("key"): (a.text or "").strip() for a in node.findall("attr")}
        info = {}
        for sub in node.findall("node"):
            if sub.get("name") == "info":
                info = {a.get("key"): (a.text or "").strip() for a in sub.findall("attr")}
        stream: dict[str, Any] = {
            "type": attrs.get("typeIdentifier", ""),
            "name": attrs.get("originalOutputName", ""),
            "source": info.get("source"),
        }
        for key, name in (("sizeX", "width"), ("sizeY", "height"), ("tsOffset", "ts_offset")):
            try:
                stream[name] = int(info[key]) if key in info else None
            except ValueError:
                stream[name] = None
        for key, name in (("sizeX", "width"), ("sizeY", "height")):
            if stream[name] is not None and not 0 < stream[name] <= 65536:
                raise EventFormatError(
                    path, 18, f"stream {sid}: {key} = {stream[name]}, expected 1 .. 65536"
                )
        streams[sid] = stream
    return streams


def _read_header(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 4)
        if not head.startswith(MAGIC):
            line = head.split(b"\n")[0][:16]
            raise EventFormatError(path, 0, f"expected version line '#!AER-DAT4.0', found {line!r}")
        if len(head) < len(MAGIC) + 4:
            raise TruncatedFileError(path, len(MAGIC), "file ends before the IOHeader length")
        (length,) = struct.unpack_from("<I", head, len(MAGIC))
        size = os.fstat(f.fileno()).st_size
        data_start = len(MAGIC) + 4 + length
        if data_start > size:
            raise TruncatedFileError(
                path, len(MAGIC), f"IOHeader of {length} bytes runs past the end of the file"
            )
        buf = f.read(length)
    fb = _Flat(buf)
    try:
        table = fb.root()
        if buf[4:8] != b"IOHE":
            raise _Bad(f"IOHeader identifier is {bytes(buf[4:8])!r}, expected b'IOHE'")
        pos = fb.field(table, 0)
        compression = fb.i32(pos) if pos is not None else 0
        pos = fb.field(table, 1)
        table_pos = fb.i64(pos) if pos is not None else -1
        pos = fb.field(table, 2)
        xml_bytes = fb.string(pos) if pos is not None else b""
    except (_Bad, struct.error) as exc:
        raise EventFormatError(path, len(MAGIC) + 4, f"invalid IOHeader: {exc}") from exc
    if not 0 <= compression <= 4:
        raise EventFormatError(
            path, len(MAGIC) + 4, f"IOHeader compression {compression} unknown (expected 0-4)"
        )
    if table_pos != -1 and table_pos < data_start:
        raise EventFormatError(
            path,
            len(MAGIC) + 4,
            f"dataTablePosition {table_pos} outside the data section [{data_start}, {size}]",
        )
    # A table position past the end: the file was cut short; the packets present are read
    # and the cut is reported as a TruncatedFileError once they are exhausted.
    cut = table_pos > size
    streams = _parse_streams(xml_bytes.decode("utf-8", "replace"), path)
    return {
        "compression": compression,
        "data_start": data_start,
        "data_end": size if table_pos == -1 or cut else table_pos,
        "table_position": table_pos,
        "cut_before_table": cut,
        "streams": streams,
        "file_size": size,
    }


def _event_stream(header: dict[str, Any], stream_id: int | None, path: str | os.PathLike) -> int:
    streams = header["streams"]
    if stream_id is not None:
        if stream_id not in streams or streams[stream_id]["type"] != "EVTS":
            found = {k: v["type"] for k, v in streams.items()}
            raise ValueError(
                f"aedat4 stream_id: expected the id of an EVTS stream, found {stream_id} "
                f"(streams in {os.fspath(path)}: {found})"
            )
        return stream_id
    ids = sorted(k for k, v in streams.items() if v["type"] == "EVTS")
    if not ids:
        types = sorted({v["type"] for v in streams.values()})
        raise UnsupportedEventTypeError(
            path, None, f"no EVTS (polarity event) stream in the file; stream types found: {types}"
        )
    return ids[0]


# ---------------------------------------------------------------- packets
def iter_packets(
    path: str | os.PathLike, *, stream_ids: set[int] | None = None
) -> Iterator[tuple[int, str, bytes]]:
    """Yield ``(stream_id, identifier, flatbuffer)`` for each packet (decompressed).

    ``stream_ids`` limits which packets are decompressed; the others are skipped unread.
    The flatbuffer is size-prefixed, as in the file.
    """
    header = _read_header(path)
    yield from _packets(path, header, stream_ids)


def _packets(
    path: str | os.PathLike, header: dict[str, Any], stream_ids: set[int] | None
) -> Iterator[tuple[int, str, bytes]]:
    decompress = _decompressor(header["compression"], path)
    end = header["data_end"]
    pos = header["data_start"]
    with open(path, "rb") as f:
        f.seek(pos)
        while pos < end:
            raw = f.read(8)
            if len(raw) < 8 or pos + 8 > end:
                raise TruncatedFileError(
                    path, pos, f"partial packet header ({min(len(raw), end - pos)} of 8 bytes)"
                )
            sid, size = struct.unpack("<ii", raw)
            if size < 0 or pos + 8 + size > end:
                raise TruncatedFileError(
                    path, pos, f"packet of {size} bytes runs past the end of the data ({end})"
                )
            if stream_ids is not None and sid not in stream_ids:
                f.seek(size, os.SEEK_CUR)
                pos += 8 + size
                continue
            data = f.read(size)
            if len(data) < size:
                raise TruncatedFileError(path, pos, "file ends inside a packet")
            fb = decompress(data, pos)
            if len(fb) < 12:
                raise EventFormatError(
                    path, pos, f"packet flatbuffer of {len(fb)} bytes is too short"
                )
            ident = bytes(fb[8:12]).decode("ascii", "replace")
            yield sid, ident, fb
            pos += 8 + size
    if header.get("cut_before_table"):
        raise TruncatedFileError(
            path,
            end,
            f"file ends at byte {end}, before the data table at dataTablePosition "
            f"{header['table_position']} that the IOHeader names",
        )


def _evts_bytes(fb: bytes, path: str | os.PathLike, pos: int) -> memoryview:
    """The raw 16-byte event records of one EVTS packet (a view into ``fb``)."""
    flat = _Flat(fb)
    try:
        if bytes(fb[8:12]) != b"EVTS":
            raise _Bad(f"identifier {bytes(fb[8:12])!r} where b'EVTS' was expected")
        table = flat.root(4)
        field = flat.field(table, 0)
        if field is None:
            return memoryview(b"")
        start, n = flat.vector(field, AEDAT4_EVENT.itemsize)
    except (_Bad, struct.error) as exc:
        raise EventFormatError(path, pos, f"invalid EVTS packet: {exc}") from exc
    return memoryview(fb)[start : start + n * AEDAT4_EVENT.itemsize]


_REC = AEDAT4_EVENT.itemsize
_OUT = EVENT_DTYPE.itemsize
# The first 13 bytes of an AEDAT4 record (int64 t, int16 x, int16 y, u8 on) are byte for byte
# an EVENT_DTYPE record (packed int64 t, uint16 x, uint16 y, int8 p) once x, y >= 0 and on in {0, 1}.
_BYTE_COPY = (
    EVENT_DTYPE.itemsize == 13
    and EVENT_DTYPE.fields is not None  # a structured dtype: never None
    and [EVENT_DTYPE.fields[k][1] for k in "txyp"] == [0, 8, 10, 12]
)


def _convert(parts: list[memoryview], path: str | os.PathLike) -> np.ndarray:
    """Raw 16-byte AEDAT4 records (several packets) -> one EVENT_DTYPE array."""
    n = sum(len(p) for p in parts) // _REC
    out = np.empty(n, dtype=EVENT_DTYPE)
    out_u8 = out.view(np.uint8).reshape(n, _OUT) if _BYTE_COPY else None
    i = 0
    fix_p = False
    for part in parts:
        m = len(part) // _REC
        u8 = np.frombuffer(part, dtype=np.uint8).reshape(m, _REC)
        if int(np.bitwise_or(u8[:, 9], u8[:, 11]).max()) & 0x80:
            raise EventFormatError(path, None, "EVTS packet holds negative x or y coordinates")
        if out_u8 is not None:
            out_u8[i : i + m] = u8[:, :_OUT]
            fix_p = fix_p or int(u8[:, 12].max()) > 1
        else:  # pragma: no cover - only if EVENT_DTYPE's layout ever changes
            raw = np.frombuffer(part, dtype=AEDAT4_EVENT)
            for name in "txy":
                out[name][i : i + m] = raw[name]
            out["p"][i : i + m] = raw["on"] != 0
        i += m
    if fix_p:
        out["p"] = out["p"] != 0
    return out


def _iter_events(
    path: str | os.PathLike, header: dict[str, Any], stream_id: int | None, batch_events: int
) -> Iterator[np.ndarray]:
    sid = _event_stream(header, stream_id, path)
    pending: list[memoryview] = []
    n_bytes = 0
    batch_bytes = batch_events * _REC
    try:
        for _, _, fb in _packets(path, header, {sid}):
            raw = _evts_bytes(fb, path, -1)
            if not len(raw):
                continue
            pending.append(raw)
            n_bytes += len(raw)
            if n_bytes >= batch_bytes:
                yield _convert(pending, path)
                pending, n_bytes = [], 0
    except TruncatedFileError:
        if pending:  # the events decoded before the cut, for allow_truncated
            yield _convert(pending, path)
        raise
    if pending:
        yield _convert(pending, path)


def iter_chunks(
    path: str | os.PathLike,
    *,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    stream_id: int | None = None,
    allow_truncated: bool = False,
) -> Iterator[np.ndarray]:
    """Decode the (first, or ``stream_id``) EVTS stream packet by packet, in bounded chunks.

    ``allow_truncated=True``: a file cut short ends the stream with a
    :class:`TruncatedFileWarning` instead of a :class:`TruncatedFileError`.
    """
    chunk_events = check_chunk_events(chunk_events)
    header = _read_header(path)  # header errors raise whatever allow_truncated says
    pieces = _iter_events(path, header, stream_id, chunk_events)
    yield from chunked(pieces, chunk_events, allow_truncated=allow_truncated, what="AEDAT 4.0")


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """IOHeader facts: compression, streams (type, size, source), sensor size of the event stream."""
    header = _read_header(path)
    ids = sorted(k for k, v in header["streams"].items() if v["type"] == "EVTS")
    sensor = None
    if ids:
        s = header["streams"][ids[0]]
        if s["width"] is not None and s["height"] is not None:
            sensor = (s["width"], s["height"])
    return {
        "format": SPEC.name,
        "sensor_size": sensor,
        "compression": COMPRESSIONS[header["compression"]],
        "streams": header["streams"],
        "event_stream_id": ids[0] if ids else None,
        "data_table_position": header["table_position"],
    }


def read(
    path: str | os.PathLike, *, stream_id: int | None = None, allow_truncated: bool = False
) -> Recording:
    """Decode the EVTS stream (first one unless ``stream_id``) into a :class:`Recording`.

    ``allow_truncated=True``: a file cut short gives a :class:`TruncatedFileWarning` and the
    events of the complete packets before the cut instead of a :class:`TruncatedFileError`.
    """
    facts = probe(path)
    sid = stream_id if stream_id is not None else facts["event_stream_id"]
    pieces = _iter_events(path, _read_header(path), stream_id, 1 << 22)
    events = joined(pieces, allow_truncated=allow_truncated, what="AEDAT 4.0")
    sensor = facts["sensor_size"]
    if sid is not None and sid in facts["streams"]:
        s = facts["streams"][sid]
        if s["width"] is not None and s["height"] is not None:
            sensor = (s["width"], s["height"])
    meta = {
        "compression": facts["compression"],
        "streams": facts["streams"],
        "stream_id": sid,
    }
    if sid is not None and sid in facts["streams"]:
        meta["source"] = facts["streams"][sid]["source"]
        meta["ts_offset"] = facts["streams"][sid]["ts_offset"]
    return Recording(events, sensor, SPEC.name, os.fspath(path), meta)


# ---------------------------------------------------------------- writing
def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\x00" * (-len(buf) % align))


def _ioheader(compression: int, table_position: int, xml: bytes) -> bytes:
    """IOHeader flatbuffer (not size-prefixed; the file stores its length before it)."""
    b = bytearray()
    b += struct.pack("<I4s", 24, b"IOHE")  # root table at 24
    b += struct.pack("<HHHHH", 10, 20, 4, 8, 16)  # vtable at 8
    _pad(b, 8)
    b += struct.pack("<iiqI", 24 - 8, compression, table_position, 4)  # string right after
    b += struct.pack("<I", len(xml)) + xml + b"\x00"
    _pad(b, 8)
    return bytes(b)


_IOHEADER_TABLE_POS_OFFSET = 32  # byte offset of dataTablePosition inside _ioheader()


def _evts_flatbuffer(raw: np.ndarray) -> bytes:
    if raw.dtype != AEDAT4_EVENT:
        raise TypeError(f"internal: EVTS records must be {AEDAT4_EVENT}, got {raw.dtype}")
    n = raw.shape[0]
    head = struct.pack("<I I 4s HHH xx i I I", 28 + 16 * n, 16, b"EVTS", 6, 8, 4, 8, 4, n)
    return head + raw.tobytes()


def _ftab_flatbuffer(rows: list[tuple[int, int, int, int, int, int]]) -> bytes:
    """FileDataTable: rows of (byte_offset, stream_id, size, n_elements, t_start, t_end)."""
    n = len(rows)
    b = bytearray(struct.pack("<I4s", 16, b"FTAB"))  # root uoffset stored at 4, table at 20
    b += struct.pack("<HHH", 6, 8, 4)  # root vtable at 12
    _pad(b, 4)
    b += struct.pack("<iI", 20 - 12, 4)  # table at 20: vector at 28
    b += struct.pack("<I", n)
    vec = len(b)  # 32
    b += b"\x00" * (4 * n)
    _pad(b, 2)
    vt = len(b)
    b += struct.pack("<7H", 14, 44, 4, 36, 12, 20, 28)
    _pad(b, 8)  # b starts at byte 4 of the buffer: tables at 4 mod 8, their int64s 8-aligned
    for k, (byte_offset, sid, size, count, t0, t1) in enumerate(rows):
        t = len(b)
        struct.pack_into("<I", b, vec + 4 * k, t - (vec + 4 * k))
        b += struct.pack("<iqqqqii4x", t - vt, byte_offset, count, t0, t1, sid, size)
    while len(b) % 8 != 4:  # whole buffer (with the 4-byte size prefix) a multiple of 8
        b += b"\x00"
    return struct.pack("<I", len(b)) + bytes(b)


def _stream_xml(sensor_size: tuple[int, int], compression: int, source: str) -> bytes:
    w, h = sensor_size
    comp = _XML_COMPRESSION[compression]
    p = "/mainloop/Recorder/outInfo/"
    src = source.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<dv version="2.0">\n'
        f'    <node name="outInfo" path="{p}">\n'
        f'        <node name="0" path="{p}0/">\n'
        f'            <attr key="compression" type="string">{comp}</attr>\n'
        f'            <attr key="originalModuleName" type="string">spikesim</attr>\n'
        f'            <attr key="originalOutputName" type="string">events</attr>\n'
        f'            <attr key="typeDescription" type="string">Array of events (polarity ON/OFF).'
        f"</attr>\n"
        f'            <attr key="typeIdentifier" type="string">EVTS</attr>\n'
        f'            <node name="info" path="{p}0/info/">\n'
        f'                <attr key="sizeX" type="int">{w}</attr>\n'
        f'                <attr key="sizeY" type="int">{h}</attr>\n'
        f'                <attr key="source" type="string">{src}</attr>\n'
        f'                <attr key="tsOffset" type="long">0</attr>\n'
        f"            </node>\n"
        f"        </node>\n"
        f"    </node>\n"
        f"</dv>\n"
    ).encode()


def _check_sensor_size(sensor_size: Any) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"aedat4 write sensor_size: expected (width, height), found {sensor_size!r}"
        ) from None
    if not (0 < w <= 32767 and 0 < h <= 32767):
        raise ValueError(
            f"aedat4 write sensor_size: expected 1..32767 per side (int16 coordinates), "
            f"found {(w, h)}"
        )
    return w, h


class Aedat4Writer:
    """Streaming AEDAT 4.0 writer: ``append`` event chunks, ``close`` writes the FTAB table.

    Events are cut into packets of ``packet_events``; each packet is compressed with
    ``compression`` (``"none"``, ``"lz4"``, ``"lz4_high"``, ``"zstd"``, ``"zstd_high"``).
    Use as a context manager. Coordinates must fit the sensor size and int16.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        sensor_size: tuple[int, int],
        compression: str = "lz4",
        packet_events: int = 8192,
        source: str = "spikesim",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(
                f"aedat4 write compression: expected one of {COMPRESSIONS}, found {compression!r}"
            )
        if (
            isinstance(packet_events, bool)
            or not isinstance(packet_events, int)
            or packet_events < 1
        ):
            raise ValueError(
                f"aedat4 write packet_events: expected a positive integer, found {packet_events!r}"
            )
        self.path = os.fspath(path)
        self.sensor_size = _check_sensor_size(sensor_size)
        self.compression = COMPRESSIONS.index(compression)
        self.packet_events = packet_events
        if self.compression in (1, 2):
            level = 9 if self.compression == 2 else 0
            self._compress = lambda d: lz4.frame.compress(d, compression_level=level)
        elif self.compression in (3, 4):
            cctx = zstandard.ZstdCompressor(level=19 if self.compression == 4 else 3)
            self._compress = cctx.compress
        else:
            self._compress = lambda d: d
        xml = _stream_xml(self.sensor_size, self.compression, source)
        self._header = _ioheader(self.compression, -1, xml)
        self._rows: list[tuple[int, int, int, int, int, int]] = []
        self._pending = np.zeros(0, dtype=AEDAT4_EVENT)
        self._f = open(self.path, "wb")
        self._f.write(MAGIC + struct.pack("<I", len(self._header)) + self._header)
        self.n_events = 0

    def append(self, events: np.ndarray) -> None:
        """Add events (an :data:`EVENT_DTYPE` array) in file order."""
        if self._f.closed:
            raise ValueError(f"aedat4 writer for {self.path} is closed")
        events = np.asarray(events)
        if events.dtype.names is None or not {"t", "x", "y", "p"} <= set(events.dtype.names):
            raise ValueError(
                f"aedat4 write events: expected a structured array with t, x, y, p, "
                f"found dtype {events.dtype}"
            )
        if events.shape[0] == 0:
            return
        w, h = self.sensor_size
        x = events["x"].astype(np.int64)
        y = events["y"].astype(np.int64)
        if x.min() < 0 or y.min() < 0 or x.max() >= w or y.max() >= h:
            raise ValueError(
                f"aedat4 write events: expected 0 <= x < {w} and 0 <= y < {h} (sensor_size), "
                f"found x in [{x.min()}, {x.max()}], y in [{y.min()}, {y.max()}]"
            )
        raw = np.zeros(events.shape[0], dtype=AEDAT4_EVENT)
        raw["t"] = events["t"]
        raw["x"] = x
        raw["y"] = y
        raw["on"] = events["p"] > 0
        if self._pending.shape[0]:  # join as bytes: np.concatenate would drop the padding
            joined = np.concatenate([self._pending.view(np.uint8), raw.view(np.uint8)])
            raw = joined.view(AEDAT4_EVENT)
        self._pending = raw
        while self._pending.shape[0] >= self.packet_events:
            self._write_packet(self._pending[: self.packet_events])
            self._pending = self._pending[self.packet_events :]

    def _write_packet(self, raw: np.ndarray) -> None:
        data = self._compress(_evts_flatbuffer(np.ascontiguousarray(raw)))
        pos = self._f.tell()
        self._f.write(struct.pack("<ii", 0, len(data)))
        self._f.write(data)
        t = raw["t"]
        self._rows.append((pos + 8, 0, len(data), raw.shape[0], int(t[0]), int(t[-1])))
        self.n_events += raw.shape[0]

    def close(self) -> None:
        """Flush the last packet, write the FTAB data table and patch dataTablePosition."""
        if self._f.closed:
            return
        try:
            if self._pending.shape[0]:
                self._write_packet(self._pending)
                self._pending = self._pending[:0]
            table_pos = self._f.tell()
            self._f.write(self._compress(_ftab_flatbuffer(self._rows)))
            self._f.seek(len(MAGIC) + 4 + _IOHEADER_TABLE_POS_OFFSET)
            self._f.write(struct.pack("<q", table_pos))
        finally:
            self._f.close()

    def __enter__(self) -> Aedat4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_writer(
    path: str | os.PathLike, *, sensor_size: tuple[int, int], **options: Any
) -> Aedat4Writer:
    """A streaming :class:`Aedat4Writer` (the ``events convert`` command appends chunks)."""
    return Aedat4Writer(path, sensor_size=sensor_size, **options)


def write(
    path: str | os.PathLike,
    events: np.ndarray,
    *,
    sensor_size: tuple[int, int],
    compression: str = "lz4",
    packet_events: int = 8192,
    source: str = "spikesim",
) -> None:
    """Write events as AEDAT 4.0 (one EVTS stream, FTAB data table, dv-processing layout)."""
    with Aedat4Writer(
        path,
        sensor_size=sensor_size,
        compression=compression,
        packet_events=packet_events,
        source=source,
    ) as w:
        w.append(events)


SPEC = FormatSpec(
    name="AEDAT4",
    description="iniVation AEDAT 4.0 (.aedat4): EVTS stream, LZ4/ZSTD packets",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".aedat4", ".aedat"),
)
