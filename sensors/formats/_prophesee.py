"""Shared parts of the Prophesee readers and writers (EVT 2.0, EVT 2.1, EVT 3.0, ``.dat``).

Prophesee files start with a text header of lines beginning with ``%`` (OpenEB reads lines
while the next byte is ``%`` and stops early at a ``% end`` line). RAW files name their
encoding with ``% evt 2.0|2.1|3.0`` or ``% format EVT2|EVT21|EVT3;height=H;width=W[;...]``;
the sensor size comes from the format options, a ``% geometry WxH`` line, ``% width`` /
``% height`` lines or, for older files that give none of these, the HAL plugin that recorded
them (``% plugin_name hal_plugin_gen3_fx3`` is a 640×480 Gen3 VGA sensor, as in OpenEB's file
plugin table). ``.dat`` files have the same kind of header and no encoding key.

:func:`stream_words` reads the payload in bounded blocks of whole words, carrying a partial
word (or a multi-word group a decoder cannot finish yet) to the next block, so every decoder
runs in constant memory whatever the file size. :class:`WordReader` holds what a format
module states (name, word dtype, how to open the file, its decoder) and gives the
``iter_chunks`` / ``probe`` / ``read`` functions all four readers share.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from ..errors import EventFormatError, TruncatedFileError
from ..events import EVENT_DTYPE, Recording
from ._chunks import DEFAULT_CHUNK_EVENTS, check_chunk_events, first_outside, join_events, rechunk

__all__ = [
    "MAX_HEADER_BYTES",
    "READ_BLOCK_BYTES",
    "PLUGIN_GEOMETRY",
    "Header",
    "Opened",
    "TruncationWarning",
    "WordReader",
    "camera_metadata",
    "block_words",
    "check_events_for_write",
    "check_sensor",
    "header_text",
    "merge_emitters",
    "parse_header",
    "parse_header_bytes",
    "raw_header",
    "read_header",
    "resolve_sensor",
    "sensor_of",
    "sniff_encoding",
    "stream_words",
    "user_sensor",
    "write_sensor",
]

READ_BLOCK_BYTES = 1 << 18  # 256 KiB per read: faster than 4 MiB (temporaries stay in cache)
MAX_HEADER_BYTES = 1 << 20  # a header longer than 1 MiB is refused, not read without bound
_MAX_LINE = 1 << 16

# HAL plugin -> (width, height): OpenEB's RAW file plugin table (sensor generation 3.x: VGA,
# 4.x: HD) plus the IMX636 EVK4 plugin (HD) that newer headers name.
PLUGIN_GEOMETRY: dict[str, tuple[int, int]] = {
    "hal_plugin_gen3_fx3": (640, 480),
    "hal_plugin_gen31_fx3": (640, 480),
    "hal_plugin_gen31_evk2": (640, 480),
    "hal_plugin_gen31_evk3": (640, 480),
    "hal_plugin_gen4_fx3": (1280, 720),
    "hal_plugin_gen4_evk2": (1280, 720),
    "hal_plugin_gen41_evk2": (1280, 720),
    "hal_plugin_gen41_evk3": (1280, 720),
    "hal_plugin_imx636_evk4": (1280, 720),
}

_EVT_VERSIONS = {"2.0": "EVT2", "2.1": "EVT21", "3.0": "EVT3"}
_FORMAT_NAMES = {"EVT2": "EVT2", "EVT20": "EVT2", "EVT21": "EVT21", "EVT3": "EVT3", "EVT30": "EVT3"}


class TruncationWarning(UserWarning):
    """A truncated file was decoded up to the truncation because ``allow_truncated=True``."""


class Header(dict):
    """Parsed header: ``fields`` (key -> value, last one wins), ``lines``, ``data_offset``,
    ``encoding`` (``"EVT2"``, ``"EVT21"``, ``"EVT3"`` or ``None``), ``format_options``."""


def _split_lines(data: bytes, complete: bool) -> tuple[list[str], int, bool]:
    """Header lines of ``data``: (lines without '% ', byte offset where data starts, ended).

    ``ended`` is False when ``data`` ran out while still inside the header (only possible
    when ``complete`` is False).
    """
    lines: list[str] = []
    pos = 0
    n = len(data)
    while pos < n and data[pos : pos + 1] == b"%":
        nl = data.find(b"\n", pos, pos + _MAX_LINE + 1)
        if nl < 0:
            if not complete and n - pos <= _MAX_LINE:
                return lines, pos, False
            raise ValueError(
                f"header line at byte {pos} has no end of line within {_MAX_LINE} bytes"
            )
        raw = data[pos:nl].rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"header line at byte {pos} is not text: {raw[:40]!r}") from exc
        pos = nl + 1
        body = text[1:].strip()
        lines.append(body)
        if body == "end":
            return lines, pos, True
    if pos >= n and not complete:
        return lines, pos, False
    return lines, pos, True


def parse_header_bytes(data: bytes, *, complete: bool) -> Header | None:
    """Header facts from the first bytes of a file (``None`` when it has no ``%`` header)."""
    if not data.startswith(b"%"):
        return None
    lines, offset, ended = _split_lines(data, complete)
    fields: dict[str, str] = {}
    for body in lines:
        if not body or body == "end":
            continue
        key, _, value = body.partition(" ")
        fields[key] = value.strip()
    h = Header(lines=lines, fields=fields, data_offset=offset, header_complete=ended)
    encoding = None
    options: dict[str, str] = {}
    if "format" in fields:
        parts = [p.strip() for p in fields["format"].split(";")]
        encoding = _FORMAT_NAMES.get(parts[0].upper().replace(".", ""), parts[0])
        for part in parts[1:]:
            k, sep, v = part.partition("=")
            if sep:
                options[k.strip()] = v.strip()
    elif "evt" in fields:
        encoding = _EVT_VERSIONS.get(fields["evt"], f"evt {fields['evt']}")
    h["encoding"] = encoding
    h["format_options"] = options
    return h


def read_header(path: str | os.PathLike) -> Header:
    """Parse the ``%`` header of ``path``; a file without one is an :class:`EventFormatError`."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        if len(head) == 1 << 16 and head.startswith(b"%"):
            try:  # most headers are a few hundred bytes: read 1 MiB only when needed
                h = parse_header_bytes(head, complete=False)
            except ValueError:
                h = None
            if h is not None and h["header_complete"]:
                return h
            head += f.read(MAX_HEADER_BYTES + 1 - len(head))
    if not head.startswith(b"%"):
        raise EventFormatError(
            path, 0, f"expected a Prophesee '%' text header, found {head[:16]!r}"
        )
    try:
        h = parse_header_bytes(head[:MAX_HEADER_BYTES], complete=len(head) <= MAX_HEADER_BYTES)
    except ValueError as exc:
        raise EventFormatError(path, None, f"bad Prophesee header: {exc}") from exc
    assert h is not None
    if not h["header_complete"]:
        raise EventFormatError(
            path, MAX_HEADER_BYTES, f"Prophesee header longer than {MAX_HEADER_BYTES} bytes"
        )
    return h


def parse_header(path: str | os.PathLike, encoding: str) -> Header:
    """:func:`read_header` checked to name ``encoding`` (``"EVT2"``, ``"EVT21"``, ``"EVT3"``)."""
    h = read_header(path)
    if h["encoding"] != encoding:
        found = h["encoding"] or "no 'evt' or 'format' line"
        raise EventFormatError(
            path,
            0,
            f"header does not announce {encoding} (expected it in '% evt' or "
            f"'% format'), found {found}",
        )
    return h


def _int_field(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        v = int(value.strip())
    except ValueError:
        return None
    return v if 0 < v <= 1 << 16 else None


def resolve_sensor(h: Header) -> tuple[tuple[int, int] | None, str | None]:
    """(width, height) the header gives and where it came from (``None`` when unknown)."""
    opts = h["format_options"]
    fields = {k.lower(): v for k, v in h["fields"].items()}
    w, hh = _int_field(opts.get("width")), _int_field(opts.get("height"))
    if w and hh:
        return (w, hh), "format line"
    geometry = fields.get("geometry")
    if geometry:
        a, sep, b = geometry.lower().partition("x")
        w, hh = _int_field(a), _int_field(b)
        if sep and w and hh:
            return (w, hh), "geometry line"
    w, hh = _int_field(fields.get("width")), _int_field(fields.get("height"))
    if w and hh:
        return (w, hh), "width/height lines"
    plugin = fields.get("plugin_name")
    if plugin in PLUGIN_GEOMETRY:
        return PLUGIN_GEOMETRY[plugin], f"plugin {plugin}"
    return None, None


def camera_metadata(h: Header) -> dict[str, Any]:
    """Camera facts of a RAW/DAT header (only the keys present)."""
    f = h["fields"]
    keys = {
        "serial_number": "serial_number",
        "system_ID": "system_id",
        "plugin_name": "plugin_name",
        "integrator_name": "integrator",
        "camera_integrator_name": "integrator",
        "firmware_version": "firmware_version",
        "sensor_generation": "sensor_generation",
        "generation": "sensor_generation",
        "Date": "date",
        "date": "date",
    }
    out: dict[str, Any] = {}
    for key, name in keys.items():
        if key in f and name not in out:
            out[name] = f[key]
    return out


def user_sensor(sensor_size: Any, where: str) -> tuple[int, int] | None:
    """A ``sensor_size`` option as (width, height) of positive ints, or ``None``."""
    if sensor_size is None:
        return None
    try:
        w, hh = (int(v) for v in sensor_size)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{where} sensor_size: expected (width, height), found {sensor_size!r}"
        ) from exc
    if w < 1 or hh < 1:
        raise ValueError(f"{where} sensor_size: expected positive sizes, found {(w, hh)}")
    return (w, hh)


def sensor_of(h: Header, sensor_size: Any, where: str) -> tuple[tuple[int, int] | None, str]:
    """Sensor size of a header and where it came from; a ``sensor_size`` option overrides it."""
    user = user_sensor(sensor_size, where)
    if user is not None:
        return user, "sensor_size option"
    sensor, source = resolve_sensor(h)
    return sensor, source or "unknown"


class Opened(NamedTuple):
    """A Prophesee file whose header has been read: what the decoder and probe need."""

    header: Header
    sensor: tuple[int, int] | None  # (width, height), None when unknown
    source: str  # where the sensor size came from
    data_offset: int  # byte offset of the first word / record
    facts: dict[str, Any]  # format-specific probe facts, also kept in the metadata


def open_raw(
    path: str | os.PathLike,
    encoding: str,
    sensor_size: Any,
    where: str,
    facts: Callable[[Header], dict[str, Any]] | None = None,
) -> Opened:
    """Header of a RAW file announcing ``encoding``, its sensor size and where the size came
    from (a ``sensor_size`` option overrides the header's); ``facts`` adds format facts."""
    h = parse_header(path, encoding)
    sensor, source = sensor_of(h, sensor_size, where)
    return Opened(h, sensor, source, h["data_offset"], facts(h) if facts else {})


def sniff_encoding(head: bytes, encoding: str) -> bool:
    """True when ``head`` starts with a ``%`` header announcing ``encoding``."""
    try:
        h = parse_header_bytes(head, complete=False)
    except ValueError:
        return False
    return h is not None and h["encoding"] == encoding


def recording_from(
    path: str | os.PathLike,
    parts: Iterable[np.ndarray],
    *,
    name: str,
    facts: dict[str, Any],
    sensor_size: Any,
    where: str,
    extra_meta: tuple[str, ...] = (),
) -> Recording:
    """Join decoded chunks into a :class:`Recording` with the probe's facts as metadata."""
    sensor = user_sensor(sensor_size, where) or facts["sensor_size"]
    events = join_events(list(parts))
    meta = {key: facts[key] for key in extra_meta}
    meta.update(
        camera=facts["camera"],
        header=facts["header"],
        sensor_size_source=facts["sensor_size_source"] if sensor_size is None else "option",
        start_time_us=int(events["t"][0]) if len(events) else None,
    )
    return Recording(events, sensor, name, os.fspath(path), meta)


Decoder = Callable[[np.ndarray, int, bool], tuple[np.ndarray, int]]


@dataclasses.dataclass(frozen=True)
class WordReader:
    """The reading functions of one Prophesee format, from what differs between them.

    ``open(path, sensor_size)`` reads and checks the header (:func:`open_raw` for RAW files);
    ``decoder(path, opened, strict)`` makes the block decoder :func:`stream_words` feeds.
    The bound methods ``iter_chunks``, ``probe`` and ``read`` are the module's functions.
    """

    name: str  # the FormatSpec name, e.g. "EVT3.0"
    where: str  # prefix of option errors, e.g. "evt3"
    what: str  # the word or record in truncation messages, e.g. "EVT 3.0"
    word: np.dtype  # one word / record as stored
    open: Callable[[str | os.PathLike, Any], Opened]
    decoder: Callable[[str | os.PathLike, Opened, bool], Decoder]
    count_key: str = "n_words"  # probe key of the number of whole words / records

    def _decoded(
        self,
        path: str | os.PathLike,
        sensor_size: Any,
        strict: bool,
        allow_truncated: bool,
        block_bytes: int,
    ) -> Iterator[np.ndarray]:
        opened = self.open(path, sensor_size)
        size = self.word.itemsize
        yield from stream_words(
            path,
            opened.data_offset,
            size,
            self.decoder(path, opened, strict),
            self.word,
            block_words=block_words(block_bytes, size),
            allow_truncated=allow_truncated,
            what=self.what,
        )

    def iter_chunks(
        self,
        path: str | os.PathLike,
        *,
        chunk_events: int = DEFAULT_CHUNK_EVENTS,
        sensor_size: Any = None,
        strict: bool = True,
        allow_truncated: bool = False,
        block_bytes: int = READ_BLOCK_BYTES,
    ) -> Iterator[np.ndarray]:
        """Decode CD events in file order, in chunks of at most ``chunk_events``.

        The file is read ``block_bytes`` at a time (default 256 KiB), so memory stays bounded
        whatever its size.
        """
        chunk_events = check_chunk_events(chunk_events)
        yield from rechunk(
            self._decoded(path, sensor_size, strict, allow_truncated, block_bytes), chunk_events
        )

    def probe(self, path: str | os.PathLike) -> dict[str, Any]:
        """Header facts without decoding: sensor size (and its source), the format's own
        facts, camera, header fields, data offset and the number of whole words."""
        return self._facts(path, self.open(path, None))

    def _facts(self, path: str | os.PathLike, opened: Opened) -> dict[str, Any]:
        size = os.stat(path).st_size
        return {
            "format": self.name,
            "sensor_size": opened.sensor,
            "sensor_size_source": opened.source,
            **opened.facts,
            "camera": camera_metadata(opened.header),
            "header": dict(opened.header["fields"]),
            "data_offset": opened.data_offset,
            self.count_key: (size - opened.data_offset) // self.word.itemsize,
        }

    def read(
        self,
        path: str | os.PathLike,
        *,
        sensor_size: Any = None,
        strict: bool = True,
        allow_truncated: bool = False,
        block_bytes: int = READ_BLOCK_BYTES,
    ) -> Recording:
        """Decode the whole file into a :class:`Recording` (t in µs as stored)."""
        parts = self._decoded(path, sensor_size, strict, allow_truncated, block_bytes)
        opened = self.open(path, None)  # the header's own facts, as probe reports them
        return recording_from(
            path,
            parts,
            name=self.name,
            facts=self._facts(path, opened),
            sensor_size=sensor_size,
            where=self.where,
            extra_meta=tuple(opened.facts),
        )


def block_words(block_bytes: int, word_bytes: int) -> int:
    """The ``block_bytes`` option (bytes per read, ≥ 1) as whole words (at least one)."""
    if isinstance(block_bytes, bool) or not isinstance(block_bytes, (int, np.integer)):
        raise ValueError(
            f"block_bytes: expected a positive integer, found {type(block_bytes).__name__}"
        )
    if block_bytes < 1:
        raise ValueError(f"block_bytes: expected a positive integer, found {block_bytes}")
    return max(1, int(block_bytes) // word_bytes)


def check_sensor(
    path: str | os.PathLike,
    offsets: np.ndarray,
    events: np.ndarray,
    sensor: tuple[int, int] | None,
    what: str,
) -> None:
    """Raise for the first event outside ``sensor`` (nothing when all are inside).

    ``offsets`` are the byte offsets of the words that produced each event.
    """
    i = first_outside(events, sensor)
    if i is None:
        return
    assert sensor is not None
    raise EventFormatError(
        path,
        int(offsets[i]),
        f"{what} at x={int(events['x'][i])}, y={int(events['y'][i])} is outside the "
        f"{sensor[0]}x{sensor[1]} sensor (expected x < width and y < height; pass "
        "strict=False to drop such events)",
    )


def stream_words(
    path: str | os.PathLike,
    data_offset: int,
    word_bytes: int,
    decode: Callable[[np.ndarray, int, bool], tuple[np.ndarray, int]],
    dtype: np.dtype,
    *,
    block_words: int,
    allow_truncated: bool,
    what: str,
) -> Iterator[np.ndarray]:
    """Feed ``decode(words, byte_offset_of_words[0], final)`` blocks of whole words.

    ``decode`` returns (events, words consumed); unconsumed words (an unfinished multi-word
    group) are carried to the next block. At the end of the file a partial word or an
    unfinished group is a :class:`TruncatedFileError`, or with ``allow_truncated`` a
    :class:`TruncationWarning` after the events decoded before it.
    """
    size = os.stat(path).st_size
    payload = size - data_offset
    whole_end = data_offset + payload - payload % word_bytes
    carry = b""
    offset = data_offset  # byte offset of carry[0] (or of the next read)
    with open(path, "rb") as f:
        f.seek(data_offset)
        pos = data_offset
        while True:
            want = min(block_words * word_bytes, whole_end - pos)
            block = f.read(want) if want > 0 else b""
            if want > 0 and len(block) != want:
                raise TruncatedFileError(path, pos + len(block), "file changed size while reading")
            pos += len(block)
            final = pos >= whole_end
            data = carry + block if carry else block
            if not data:
                break
            words = np.frombuffer(data, dtype=dtype)
            events, consumed = decode(words, offset, final)
            if events.shape[0]:
                yield events
            carry = data[consumed * word_bytes :]
            offset += consumed * word_bytes
            if final:
                break
    problem = None
    if carry:
        problem = (
            offset,
            f"file ends inside a multi-word {what} group ({len(carry) // word_bytes} of its "
            "words present)",
        )
    elif payload % word_bytes:
        problem = (
            whole_end,
            f"file ends with a partial {what} word ({payload % word_bytes} of {word_bytes} "
            f"bytes present; file size {size})",
        )
    if problem is not None:
        if not allow_truncated:
            raise TruncatedFileError(path, problem[0], problem[1])
        warnings.warn(
            f"{os.fspath(path)} at byte {problem[0]}: {problem[1]}; returning the events "
            "decoded before it (allow_truncated=True)",
            TruncationWarning,
            stacklevel=3,
        )


@overload
def write_sensor(
    sensor_size: Any, where: str, *, bits: int, required: Literal[True] = ...
) -> tuple[int, int]: ...
@overload
def write_sensor(
    sensor_size: Any, where: str, *, bits: int, required: bool
) -> tuple[int, int] | None: ...
def write_sensor(
    sensor_size: Any, where: str, *, bits: int, required: bool = True
) -> tuple[int, int] | None:
    """A writer's ``sensor_size`` as (width, height), each at most ``2**bits`` (the width of the
    x / y fields); ``None`` only when not ``required``."""
    s = user_sensor(sensor_size, where)
    if s is None:
        if required:
            raise ValueError(f"{where} sensor_size: expected (width, height), found None")
        return None
    limit = 1 << bits
    if s[0] > limit or s[1] > limit:
        raise ValueError(
            f"{where} sensor_size: expected at most {limit}x{limit} ({bits}-bit x, y), found {s}"
        )
    return s


def raw_header(version: str, encoding: str, sensor: tuple[int, int], options: str = "") -> bytes:
    """The header our RAW writers put before the words: ``% evt``, ``% format`` (with
    ``options`` appended, e.g. ``";endianness=legacy"``), ``% geometry``, integrator, ``% end``."""
    w, h = sensor
    lines = [
        f"evt {version}",
        f"format {encoding};height={h};width={w}{options}",
        f"geometry {w}x{h}",
        "integrator_name spikesim",
        "end",
    ]
    return header_text(lines)


def check_events_for_write(events: np.ndarray, where: str) -> np.ndarray:
    """Validate an event array for a writer (fields, non-decreasing t ≥ 0)."""
    events = np.asarray(events)
    if events.dtype.names is None or not {"t", "x", "y", "p"} <= set(events.dtype.names):
        raise ValueError(
            f"{where} events: expected a structured array with t, x, y, p, found dtype "
            f"{events.dtype}"
        )
    if events.ndim != 1:
        raise ValueError(f"{where} events: expected a 1-D array, found shape {events.shape}")
    return events


_POP8 = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)
_BITS8 = np.array(
    [[k for k in range(8) if v >> k & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int64,
)


def merge_emitters(
    single: np.ndarray,
    xbase: np.ndarray,
    pol: np.ndarray,
    vec_idx: np.ndarray,
    vec_masks: np.ndarray,
    vec_x: np.ndarray,
    vec_pol: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Events of a block's emitters in file order: (events, cumulative events per emitter).

    Emitter ``i`` carries time ``t[i]`` and row ``y[i]``. Where ``single[i]`` it is one event
    at ``xbase[i]`` with polarity ``pol[i]``; emitters ``vec_idx`` are 32-pixel valid masks:
    bit ``k`` of ``vec_masks[j]`` is an event at ``vec_x[j] + k`` with ``vec_pol[j]``, lowest
    bit first (OpenEB's count-trailing-zeros order). The expansion works on the non-zero mask
    bytes with lookup tables, so its cost follows the number of events, not 32 per mask.
    """
    e = t.shape[0]
    if vec_idx.shape[0] == 0:  # one event per emitter: copy the selected emitters
        si = slice(None) if bool(single.all()) else np.flatnonzero(single)
        out = np.empty(t[si].shape[0], dtype=EVENT_DTYPE)
        out["t"] = t[si]
        out["x"] = xbase[si]
        out["y"] = y[si]
        out["p"] = pol[si]
        return out, np.cumsum(single)
    b = np.ascontiguousarray(vec_masks, dtype="<u4").view(np.uint8).reshape(-1, 4)
    vcount = _POP8[b].sum(axis=1)
    cnt = single.astype(np.int64)
    cnt[vec_idx] = vcount
    ends = np.cumsum(cnt)
    total = int(ends[-1]) if e else 0
    em_of = np.repeat(np.arange(e), cnt)  # emitter of each event
    xb = xbase.astype(np.int64)  # a copy: the masks' base x and polarity go in
    xb[vec_idx] = vec_x
    pb = pol.copy()
    pb[vec_idx] = vec_pol
    flat = b.ravel()
    nz = np.flatnonzero(flat)
    vals = flat[nz].astype(np.intp)
    bc = _POP8[vals]
    rep = np.repeat(np.arange(nz.shape[0]), bc)
    n_v = rep.shape[0]
    rank = np.arange(n_v) - np.repeat(np.cumsum(bc) - bc, bc)
    byte_of = nz[rep]
    vrow = byte_of >> 2
    vstart = np.cumsum(vcount) - vcount
    dest = (ends - cnt)[vec_idx[vrow]] - vstart[vrow] + np.arange(n_v)
    x = xb[em_of]
    x[dest] += _BITS8[vals[rep], rank] + ((byte_of & 3) << 3)
    out = np.empty(total, dtype=EVENT_DTYPE)
    np.take(t, em_of, out=out["t"], mode="clip")  # straight into the fields: no temporaries
    out["x"] = x
    np.take(y.astype(np.uint16), em_of, out=out["y"], mode="clip")
    np.take(pb.astype(np.int8), em_of, out=out["p"], mode="clip")
    return out, ends


def header_text(lines: list[str]) -> bytes:
    """``% `` header lines joined (ASCII), each ending in a newline."""
    return "".join(f"% {line}\n" for line in lines).encode("ascii")
