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
from event_file_checks import FUZZ, byte_edits, decode_or_format_error, mutate
from hypothesis import given
from hypothesis import strategies as st
from spikesim.sensors.formats import dat, evt2, evt3, evt21


def _check(module, data: bytes, lenient: bool) -> None:
    options = {"strict": False, "allow_truncated": True} if lenient else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TruncationWarning in lenient mode
        decode_or_format_error(module.read, data, ".bin", **options)


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
@FUZZ
@given(edits=byte_edits(), cut=st.floats(0.0, 1.0), head=st.booleans(), lenient=st.booleans())
def test_fuzz_prophesee_mutations(
    samples, name: str, edits, cut: float, head: bool, lenient: bool
) -> None:
    _check(
        MODULES[name], mutate(samples[name], edits, cut, head_bytes=512 if head else None), lenient
    )


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
