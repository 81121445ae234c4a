"""Fuzz every registered decoder through ``io.open`` with mutated and truncated real files.

Seeds per format: the smallest real recordings in ../shared/data/dvs that the format's
sniffer claims and decodes without error, plus a file written by the format's own writer (when it has one). Each
example flips a few bytes (some in the header region, some anywhere; drawn from a seeded
generator), optionally truncates the file, and opens it through :func:`spikesim.sensors.io.open`. The only acceptable
outcomes: a typed error from ``spikesim.sensors.errors`` (any :class:`EventFormatError`),
or events of :data:`EVENT_DTYPE` with coordinates inside the reported sensor, polarity 0/1,
and the streamed chunks equal to the whole-file read. Anything else — another exception, a
hang (the timeout marker), a crash — fails. The registry is read at collection time, so
formats added later are fuzzed without touching this file. Budget: 40 examples per format.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from event_file_checks import AEDAT31_DVS128_HEADER, aedat31_packet, aedat31_polarity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikesim.sensors import io
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.events import EVENT_DTYPE, Recording, make_events
from spikesim.sensors.formats import all_formats

SPECS = {spec.name: spec for spec in all_formats()}
MAX_SEEDS_PER_FORMAT = 2
MAX_SEED_BYTES = 3 << 20

_FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def shared_seeds(request) -> dict[str, list[Path]]:
    """Format name -> the smallest shared recordings that format's sniffer claims
    (empty when the shared data folder is missing: written seeds are still fuzzed)."""
    try:
        dvs = request.getfixturevalue("dvs_dir")
    except pytest.skip.Exception:
        return {}
    found: dict[str, list[Path]] = {}
    for path in sorted(dvs.rglob("*"), key=lambda p: (p.stat().st_size, str(p))):
        if not path.is_file() or path.name in ("reference.json", "provenance.txt"):
            continue
        if path.stat().st_size > MAX_SEED_BYTES:
            continue
        try:
            spec = io.detect_format(path)
            if not len(io.open(path).read()):  # seeds with events, so mutations reach them
                continue
        except EventFormatError:
            continue
        seeds = found.setdefault(spec.name, [])
        if len(seeds) < MAX_SEEDS_PER_FORMAT:
            seeds.append(path)
    return found


def _aedat31_from_spec(folder: Path) -> Path:
    """AEDAT 3.1 has no public sample and no writer: a DVS128 file built from FIELD-NOTES §2
    (header lines, then packets: 28-byte little-endian header, polarity events of u32 data
    + i32 timestamp, valid bit 0, polarity bit 1, y bits 2-16, x bits 17-31), with a
    non-polarity packet (type 2) in between that the reader must skip."""
    rng = np.random.default_rng(31)
    out = bytearray(AEDAT31_DVS128_HEADER)
    t = 0
    for packet in range(6):
        kind, n = (2, 5) if packet == 3 else (1, 200)
        x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
        t = t + np.cumsum(rng.integers(0, 50, n))
        out += aedat31_packet(kind, aedat31_polarity(x, y, p, 1, t), ev_size=8, number=n, valid=n)
        t = int(t[-1])
    path = folder / "spec_built.aedat"
    path.write_bytes(bytes(out))
    return path


_BUILT_SEEDS = {"AEDAT3.1": _aedat31_from_spec}


def _written_seed(name: str, folder: Path) -> Path | None:
    """A small file written by the format's own writer (events every writer can hold)."""
    spec = SPECS[name]
    if spec.write is None:
        return _BUILT_SEEDS[name](folder) if name in _BUILT_SEEDS else None
    rng = np.random.default_rng(12)
    n = 3000
    ev = make_events(
        np.sort(rng.integers(0, 1 << 22, n)),
        rng.integers(0, 34, n),
        rng.integers(0, 34, n),
        rng.integers(0, 2, n),
    )
    ext = spec.extensions[0] if spec.extensions else ".dat"
    path = folder / f"written_{name.replace('.', '_')}{ext}"
    spec.write(path, ev, sensor_size=(34, 34))
    return path


def _check(data: bytes, suffix: str) -> Recording | None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            reader = io.open(path)
            chunks = list(reader.iter_chunks(chunk_events=4096))
            rec = reader.read()
        except EventFormatError as exc:
            assert os.fspath(path) in str(exc) or exc.path is None
            return None
        ev = rec.events
        assert ev.dtype == EVENT_DTYPE
        streamed = np.concatenate(chunks) if chunks else ev[:0]
        np.testing.assert_array_equal(streamed, ev)
        if len(ev):
            assert set(np.unique(ev["p"]).tolist()) <= {0, 1}
            size = rec.sensor_size or reader.sensor_size
            if size is not None:
                assert int(ev["x"].max()) < size[0] and int(ev["y"].max()) < size[1]
        return rec


def _mutate(data: bytes, seed: int) -> bytes:
    """1-8 random byte flips (half just past the first 16 bytes, where headers and their
    length fields sit; magic bytes are left alone there so the file still reaches its
    decoder), and a truncation in a third of the cases."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    n = len(buf)
    for _ in range(int(rng.integers(1, 9))):
        if rng.random() < 0.5 and n > 16:
            pos = int(rng.integers(16, min(n, 272)))
        else:
            pos = int(rng.integers(0, n))
        buf[pos] = int(rng.integers(0, 256))
    r = rng.random()
    if r < 0.25:
        buf = buf[: int(n * rng.uniform(0.3, 1.0))]
    elif r < 0.33:
        buf = buf[: int(rng.integers(0, min(n, 512) + 1))]
    return bytes(buf)


@pytest.fixture(scope="module")
def written_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("written_seeds")


# Known decoder defects found by this test (reported; remove an entry once fixed: strict).
KNOWN_DEFECTS: dict[str, str] = {}


def _params() -> list:
    return [
        pytest.param(
            name,
            marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[name])
            if name in KNOWN_DEFECTS
            else (),
        )
        for name in sorted(SPECS)
    ]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", _params())
def test_fuzz_registered_decoder(name: str, shared_seeds, written_dir: Path) -> None:
    seeds = list(shared_seeds.get(name, []))
    written = _written_seed(name, written_dir)
    if written is not None:
        seeds.append(written)
    if not seeds:
        pytest.skip(f"{name}: no shared sample, no writer and no spec-built seed file")
    blobs = [(p.read_bytes(), p.suffix) for p in seeds]
    for data, suffix in blobs:  # every seed itself must decode
        rec = _check(data, suffix)
        assert rec is not None and len(rec) > 0, f"{name}: seed does not decode"

    @_FUZZ
    @given(which=st.integers(0, len(blobs) - 1), seed=st.integers(0, 2**32 - 1))
    def run(which: int, seed: int) -> None:
        data, suffix = blobs[which]
        _check(_mutate(data, seed), suffix)

    run()
