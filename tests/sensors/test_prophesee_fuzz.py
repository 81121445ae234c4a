"""Fuzzing the Prophesee decoders with mutated and truncated real files (bounded budget).

Each example overwrites a few bytes (anywhere, or inside the text header and first words)
and cuts the file somewhere. The decoder must either raise a typed error from
``spikesim.sensors.errors`` or return valid events: :data:`EVENT_DTYPE`, polarity 0/1 and
coordinates inside the sensor the header declares. Both the strict reader and the lenient
one (``strict=False, allow_truncated=True``) are exercised. EVT 2.1 has no public sample:
its seed file is written by our writer from real EVT 2.0 events.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.events import EVENT_DTYPE
from spikesim.sensors.formats import dat, evt2, evt3, evt21

_FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _edits():
    return st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    )


def _mutate(data: bytes, edits, cut: float, head: bool) -> bytes:
    buf = bytearray(data)
    span = min(len(buf), 512) if head else len(buf)
    for where, value in edits:
        buf[int(where * span)] = value
    return bytes(buf[: max(1, int(cut * len(buf)))])


def _check(module, data: bytes, lenient: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.bin"
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TruncationWarning in lenient mode
                if lenient:
                    rec = module.read(path, strict=False, allow_truncated=True)
                else:
                    rec = module.read(path)
        except EventFormatError as exc:
            assert exc.path == str(path) and exc.reason
            return
    ev = rec.events
    assert ev.dtype == EVENT_DTYPE
    if len(ev):
        assert set(np.unique(ev["p"]).tolist()) <= {0, 1}
        if rec.sensor_size is not None:
            assert int(ev["x"].max()) < rec.sensor_size[0]
            assert int(ev["y"].max()) < rec.sensor_size[1]


@pytest.fixture(scope="module")
def samples(dvs_dir: Path) -> dict[str, bytes]:
    out = {}
    raw2 = dvs_dir / "evt2/expelliarmus_evt2_sample.raw"
    off = evt2.probe(raw2)["data_offset"]
    out["evt2"] = raw2.read_bytes()[: off + 4 * 6000]  # header + 6,000 real words
    out["evt3"] = (dvs_dir / "evt3/expelliarmus_evt3_test_pedestrians.raw").read_bytes()
    out["dat"] = (dvs_dir / "dat/tonic_sample_ncars.dat").read_bytes()
    with tempfile.TemporaryDirectory() as d:
        events = evt2.read(raw2).events[:3000]
        p = Path(d) / "seed21.raw"
        evt21.write(p, events, sensor_size=(640, 480), legacy=True)
        out["evt21"] = p.read_bytes()
    return out


MODULES = {"evt2": evt2, "evt3": evt3, "dat": dat, "evt21": evt21}


@pytest.mark.parametrize("name", sorted(MODULES))
@_FUZZ
@given(edits=_edits(), cut=st.floats(0.0, 1.0), head=st.booleans(), lenient=st.booleans())
def test_fuzz_prophesee_mutations(
    samples, name: str, edits, cut: float, head: bool, lenient: bool
) -> None:
    _check(MODULES[name], _mutate(samples[name], edits, cut, head), lenient)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_unmutated_seeds_decode(dvs_dir: Path, samples, name: str) -> None:
    """The seeds decode to real events (so the fuzz examples start from valid files)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "seed.bin"
        path.write_bytes(samples[name])
        ev = MODULES[name].read(path).events
    real = {
        "evt2": "evt2/expelliarmus_evt2_sample.raw",
        "evt21": "evt2/expelliarmus_evt2_sample.raw",
        "evt3": "evt3/expelliarmus_evt3_test_pedestrians.raw",
        "dat": "dat/tonic_sample_ncars.dat",
    }[name]
    full = (evt2 if name == "evt21" else MODULES[name]).read(dvs_dir / real).events
    assert len(ev) == {"evt2": 5966, "evt21": 3000, "evt3": 5000, "dat": 2009}[name]
    np.testing.assert_array_equal(ev, full[: len(ev)])
