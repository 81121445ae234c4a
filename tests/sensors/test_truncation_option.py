"""``allow_truncated`` on the iniVation, N-MNIST and Event Stream readers.

Truncated copies of the real shared recordings (and of a spec-built AEDAT 3.1 file: there is
no public sample): by default a :class:`TruncatedFileError`; with ``allow_truncated=True`` the
events decoded before the cut (a prefix of the whole file's events, equal between ``read``
and ``iter_chunks`` and through ``io.open``; N-MNIST's sniffer refuses a size that is not a
multiple of 5, so the format is named) and a :class:`TruncatedFileWarning` naming the
file and the byte offset. A file cut inside its header still raises.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from event_file_checks import AEDAT31_DVS128_HEADER, aedat31_packet, aedat31_polarity
from spikesim.sensors import io
from spikesim.sensors.errors import TruncatedFileError, TruncatedFileWarning
from spikesim.sensors.formats import aedat2, aedat3, aedat4, es, nmnist_bin


def _cut(src: Path, n: int, folder: Path) -> Path:
    path = folder / f"cut_{n}{src.suffix}"
    path.write_bytes(src.read_bytes()[:n])
    return path


def _check_prefix(module, path: Path, full: np.ndarray, offset: int | None, **kw) -> np.ndarray:
    """Default raises; allow_truncated returns a prefix of ``full`` with a warning naming
    ``path`` (and ``offset`` when given). Returns the events."""
    with pytest.raises(TruncatedFileError):
        module.read(path, **kw)
    with pytest.raises(TruncatedFileError):
        list(module.iter_chunks(path, **kw))
    at = rf" at byte {offset}:" if offset is not None else " at byte "
    with pytest.warns(TruncatedFileWarning, match=str(path) + at) as caught:
        events = module.read(path, allow_truncated=True, **kw).events
    w = caught[0].message
    assert isinstance(w, UserWarning) and w.path == str(path)
    assert offset is None or w.offset == offset
    assert 0 < len(events) < len(full)
    np.testing.assert_array_equal(events, full[: len(events)])
    with pytest.warns(TruncatedFileWarning, match=at):
        chunks = list(module.iter_chunks(path, chunk_events=1000, allow_truncated=True, **kw))
    np.testing.assert_array_equal(np.concatenate(chunks), events)
    with pytest.warns(TruncatedFileWarning, match=at):
        via_open = io.open(path, format=module.SPEC.name, allow_truncated=True).read().events
    np.testing.assert_array_equal(via_open, events)
    return events


def test_aedat2_partial_record(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "aedat2/PyAedatTools_IMU_translBoxes.aedat"
    full = aedat2.read(src).events
    start = aedat2.probe(src)["data_offset"]
    k = 70_000  # records (some APS/IMU, skipped)
    path = _cut(src, start + 8 * k + 5, tmp_path)
    events = _check_prefix(aedat2, path, full, start + 8 * k)
    # The same as a file cut at the record boundary, which is complete (no warning).
    whole = aedat2.read(_cut(src, start + 8 * k, tmp_path)).events
    np.testing.assert_array_equal(events, whole)


def test_nmnist_partial_record(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "nmnist_bin/tonic_sample_nmnist.bin"
    full = nmnist_bin.read(src).events
    path = _cut(src, 5 * 2000 + 2, tmp_path)
    events = _check_prefix(nmnist_bin, path, full, 5 * 2000)
    assert len(events) == 2000
    assert nmnist_bin.probe(path)["n_events"] == 2000  # probe looks at whole records only


def test_es_partial_event(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "es/loris_test.es"
    full = es.read(src).events
    size = src.stat().st_size
    # Cut 1, 2, 3 bytes into the region after the middle: at least one lands inside an event.
    cut_any = False
    for n in range(size // 2, size // 2 + 5):
        path = _cut(src, n, tmp_path)
        try:
            es.read(path)
        except TruncatedFileError:
            _check_prefix(es, path, full, None)
            cut_any = True
    assert cut_any
    with pytest.raises(TruncatedFileError):  # cut inside the header: nothing to return
        es.read(_cut(src, 16, tmp_path), allow_truncated=True)


def test_aedat4_cut_packet_and_missing_table(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "aedat4/tonic_sample.aedat4"
    full = aedat4.read(src).events
    size = src.stat().st_size
    path = _cut(src, int(size * 0.6), tmp_path)
    _check_prefix(aedat4, path, full, None)
    # Cut at a packet boundary, before the data table the IOHeader names.
    data = src.read_bytes()
    pos = aedat4._read_header(src)["data_start"]
    while pos < size // 2:
        pos += 8 + struct.unpack_from("<i", data, pos + 4)[0]
    path = _cut(src, pos, tmp_path)
    with pytest.raises(TruncatedFileError, match="before the data table"):
        aedat4.read(path)
    _check_prefix(aedat4, path, full, pos)
    with pytest.raises(TruncatedFileError):  # cut inside the IOHeader
        aedat4.read(_cut(src, 20, tmp_path), allow_truncated=True)


def _aedat31(n_packets: int = 5, n: int = 100) -> tuple[bytes, list[int]]:
    """DVS128 AEDAT 3.1 file of polarity packets; also the byte offset of each packet."""
    rng = np.random.default_rng(5)
    out = bytearray(AEDAT31_DVS128_HEADER)
    starts = []
    for i in range(n_packets):
        starts.append(len(out))
        x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
        events = aedat31_polarity(x, y, p, 1, np.arange(n) + i * n)
        out += aedat31_packet(1, events, ev_size=8, number=n, valid=n)
    return bytes(out), starts


def test_aedat3_cut_packet(tmp_path: Path) -> None:
    data, starts = _aedat31()
    src = tmp_path / "full.aedat"
    src.write_bytes(data)
    full = aedat3.read(src).events
    path = _cut(src, starts[3] + 28 + 8 * 40 + 3, tmp_path)
    events = _check_prefix(aedat3, path, full, starts[3])
    assert len(events) == 300  # the three whole packets
    with pytest.raises(TruncatedFileError, match="END-HEADER"):
        aedat3.read(_cut(src, 30, tmp_path), allow_truncated=True)


def test_complete_files_do_not_warn(dvs_dir: Path) -> None:
    """allow_truncated=True changes nothing for a complete file (warnings are errors here)."""
    for module, name in (
        (aedat2, "aedat2/PyAedatTools_TranslatingBarX.aedat"),
        (aedat4, "aedat4/tonic_sample.aedat4"),
        (es, "es/loris_test.es"),
        (nmnist_bin, "nmnist_bin/tonic_sample_nmnist.bin"),
    ):
        path = dvs_dir / name
        np.testing.assert_array_equal(
            module.read(path, allow_truncated=True).events, module.read(path).events
        )
