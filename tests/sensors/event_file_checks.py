"""Scaffolding shared by the event-file reader tests (imported by the test modules).

* :func:`summary` / :func:`reference_summary`: the facts ``dvs/reference.json`` records per sample file,
  computed from a :class:`Recording` and read from the reference table;
* :data:`FUZZ`, :func:`byte_edits`, :func:`mutate`, :func:`decode_or_format_error`: mutation
  fuzzing of a reader: a few overwritten bytes and a cut, after which the reader must either
  raise an :class:`EventFormatError` naming the file or return valid events;
* :func:`aedat31_packet`, :func:`aedat31_polarity`: AEDAT 3.1 byte builders from the
  iniVation specification (the format has no public sample and no writer here).
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.events import EVENT_DTYPE, Recording

__all__ = [
    "AEDAT31_DVS128_HEADER",
    "FUZZ",
    "aedat31_packet",
    "aedat31_polarity",
    "byte_edits",
    "decode_or_format_error",
    "mutate",
    "reference_summary",
    "summary",
]

# Deterministic (derandomize) and bounded: 150 examples per fuzz test.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def summary(rec: Recording) -> dict:
    """The facts reference.json holds for a sample: counts, sensor size, t/x/y ranges."""
    e = rec.events
    return {
        "n_events": len(e),
        "width": rec.sensor_size[0] if rec.sensor_size else None,
        "height": rec.sensor_size[1] if rec.sensor_size else None,
        "t_first": int(e["t"][0]),
        "t_last": int(e["t"][-1]),
        "n_on": int((e["p"] == 1).sum()),
        "n_off": int((e["p"] == 0).sum()),
        "x_min": int(e["x"].min()),
        "x_max": int(e["x"].max()),
        "y_min": int(e["y"].min()),
        "y_max": int(e["y"].max()),
        "t_monotonic": bool(np.all(np.diff(e["t"]) >= 0)),
    }


def reference_summary(reference: dict, name: str) -> dict:
    """reference.json's summary of ``name`` (without its ``format`` and ``agrees`` keys)."""
    return {k: v for k, v in reference[name].items() if k not in ("format", "agrees")}


def byte_edits() -> st.SearchStrategy:
    """1-8 (relative position in [0, 1), new byte value) edits."""
    return st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    )


def mutate(data: bytes, edits, cut: float, *, head_bytes: int | None = None) -> bytes:
    """``data`` with ``edits`` applied (positions relative to the whole file, or to its first
    ``head_bytes``), then cut to a fraction ``cut`` of its length (at least one byte)."""
    buf = bytearray(data)
    span = min(len(buf), head_bytes) if head_bytes else len(buf)
    for where, value in edits:
        buf[int(where * span)] = value
    return bytes(buf[: max(1, int(cut * len(buf)))])


def decode_or_format_error(
    read: Callable[..., Recording], data: bytes, suffix: str, **options: Any
) -> Recording | None:
    """Write ``data`` to a temporary file and decode it with ``read(path, **options)``.

    Either an :class:`EventFormatError` naming the file (returns ``None``) or events of
    :data:`EVENT_DTYPE`, polarity 0/1 and inside the recording's sensor size when it has one.
    """
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            rec = read(path, **options)
        except EventFormatError as exc:
            assert exc.path == str(path) and exc.reason
            return None
    ev = rec.events
    assert ev.dtype == EVENT_DTYPE
    if len(ev):
        assert set(np.unique(ev["p"]).tolist()) <= {0, 1}
        if rec.sensor_size is not None:
            assert int(ev["x"].max()) < rec.sensor_size[0]
            assert int(ev["y"].max()) < rec.sensor_size[1]
    return rec


# ------------------------------------------------------------------ AEDAT 3.1 byte builders
AEDAT31_DVS128_HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def aedat31_packet(
    ev_type: int, events: bytes, *, ev_size: int, number: int, valid: int, overflow: int = 0
) -> bytes:
    """A packet: the 28-byte little-endian header (type, source 1, eventSize, eventTSOffset 4,
    eventTSOverflow, eventCapacity = eventNumber, eventNumber, eventValid), then ``events``."""
    head = struct.pack("<hhiiiiii", ev_type, 1, ev_size, 4, overflow, number, number, valid)
    assert len(head) == 28
    return head + events


def aedat31_polarity(x, y, p, valid, ts) -> bytes:
    """Polarity events: u32 data (valid bit 0, polarity bit 1, y bits 2-16, x bits 17-31) and
    an i32 timestamp each."""
    d = (np.asarray(x, np.uint32) << 17) | (np.asarray(y, np.uint32) << 2)
    d |= np.asarray(p, np.uint32) << 1
    d |= np.asarray(valid, np.uint32)
    rec = np.zeros(len(d), dtype=[("d", "<u4"), ("ts", "<i4")])
    rec["d"] = d
    rec["ts"] = ts
    return rec.tobytes()
