"""HDF5 (generic, DSEC, Prophesee), NumPy .npy/.npz and text formats.

There is no public sample small enough for ../shared/data in these layouts (FIELD-NOTES §1),
so besides round trips through our writers, each layout is also written here directly with
h5py / numpy / plain text as the layout's own tools write it (DSEC's Blosc-ZSTD filter from
hdf5plugin, Prophesee's compound ``/CD/events``, numpy.savez, RPG ``events.txt`` lines), and
the reader must decode those files exactly.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest
from spikesim.sensors import io
from spikesim.sensors.errors import EventFormatError, TruncatedFileError, UnsupportedEventTypeError
from spikesim.sensors.events import EVENT_DTYPE, make_events
from spikesim.sensors.formats import hdf5, numpy_files, text


def _events(seed: int, n: int, size=(640, 480), t0: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return make_events(
        t0 + np.sort(rng.integers(0, 3_000_000, n)),
        rng.integers(0, size[0], n),
        rng.integers(0, size[1], n),
        rng.integers(0, 2, n),
    )


def _chunks_equal(path: Path, ev: np.ndarray, chunk_events: int = 777) -> None:
    chunks = list(io.open(path).iter_chunks(chunk_events=chunk_events))
    assert all(0 < len(c) <= chunk_events for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), ev)


# ------------------------------------------------------------------------------- HDF5
@pytest.mark.parametrize(
    ("layout", "compression"),
    [("generic", "none"), ("generic", "gzip"), ("dsec", None), ("prophesee", "blosc-lz4")],
)
def test_hdf5_round_trip_every_layout(tmp_path: Path, layout: str, compression) -> None:
    ev = _events(1, 20_000, t0=1_600_000_000_000_000)
    path = tmp_path / f"{layout}.h5"
    hdf5.write(path, ev, sensor_size=(640, 480), layout=layout, compression=compression)
    reader = io.open(path)
    assert (reader.format, reader.metadata["layout"], reader.sensor_size) == (
        "HDF5",
        layout,
        (640, 480),
    )
    assert reader.metadata["n_events"] == 20_000
    rec = reader.read()
    assert rec.events.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(rec.events, ev)
    _chunks_equal(path, ev)


def test_hdf5_dsec_file_structure_and_t_offset(tmp_path: Path) -> None:
    ev = _events(2, 10_000, t0=52_000_123)
    path = tmp_path / "events.h5"
    hdf5.write(path, ev, sensor_size=(640, 480), layout="dsec")
    with h5py.File(path, "r") as f:
        assert f["t_offset"][()] == 52_000_123 + int(ev["t"][0] - 52_000_123)
        t_rel = f["events/t"][:]
        assert f["events/t"].dtype == np.uint32 and f["events/p"].dtype == np.uint8
        np.testing.assert_array_equal(t_rel, ev["t"] - ev["t"][0])
        # Blosc (hdf5plugin, filter 32001) with ZSTD (compressor code 5), as DSEC releases
        plist = f["events/x"].id.get_create_plist()
        code, _, values, _ = plist.get_filter(0)
        assert (plist.get_nfilters(), code, values[4:7]) == (1, hdf5plugin.BLOSC_ID, (5, 1, 5))
        ms_to_idx = f["ms_to_idx"][:]
    # ms_to_idx[k] is the index of the first event at or after k milliseconds
    ks = np.arange(ms_to_idx.shape[0])
    np.testing.assert_array_equal(ms_to_idx, np.searchsorted(t_rel, ks * 1000, "left"))
    assert ms_to_idx.shape[0] == int(t_rel[-1]) // 1000 + 1
    pieces = tmp_path / "pieces.h5"  # streamed in uneven pieces: the same index
    with hdf5.open_writer(pieces, sensor_size=(640, 480), layout="dsec") as w:
        for part in np.array_split(ev, [1, 4000, 4001]):
            w.append(part)
    with h5py.File(pieces, "r") as f:
        np.testing.assert_array_equal(f["ms_to_idx"][:], ms_to_idx)
        np.testing.assert_array_equal(f["events/t"][:], t_rel)
    rec = hdf5.read(path, add_t_offset=False)
    np.testing.assert_array_equal(rec.events["t"], t_rel)
    assert rec.metadata["t_offset_us"] == int(ev["t"][0])
    assert rec.metadata["t_offset_applied"] is False


def test_hdf5_reads_dsec_layout_written_with_hdf5plugin_directly(tmp_path: Path) -> None:
    """The DSEC layout as DSEC's own scripts write it: Blosc-ZSTD columns, no sensor size."""
    ev = _events(3, 5000)
    t_offset = 49_599_300_523
    path = tmp_path / "dsec_events.h5"
    blosc = hdf5plugin.Blosc(cname="zstd", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)
    with h5py.File(path, "w") as f:
        g = f.create_group("events")
        g.create_dataset("p", data=ev["p"].astype(np.uint8), chunks=True, **blosc)
        g.create_dataset("t", data=ev["t"].astype(np.uint32), chunks=True, **blosc)
        g.create_dataset("x", data=ev["x"], chunks=True, **blosc)
        g.create_dataset("y", data=ev["y"], chunks=True, **blosc)
        f.create_dataset("t_offset", data=np.int64(t_offset))
        f.create_dataset("ms_to_idx", data=np.searchsorted(ev["t"], np.arange(3001) * 1000))
    reader = io.open(path)
    assert reader.metadata["layout"] == "dsec" and reader.sensor_size is None
    assert reader.metadata["t_offset_us"] == t_offset
    rec = reader.read()
    np.testing.assert_array_equal(rec.events["t"], ev["t"] + t_offset)
    for k in "xyp":
        np.testing.assert_array_equal(rec.events[k], ev[k])
    first = next(iter(reader.iter_windows(window_us=1000)))
    assert first.t_start_us == int(ev["t"][0]) + t_offset


def test_hdf5_dsec_ms_to_idx_seeks_to_t_start(tmp_path: Path) -> None:
    ev = _events(11, 30_000, t0=7_000_000)
    path = tmp_path / "seek.h5"
    hdf5.write(path, ev, sensor_size=(640, 480), layout="dsec")
    t_start = 7_000_000 + 2_000_500
    t_offset = int(ev["t"][0])  # the DSEC writer's default t_offset
    ms = (t_start - t_offset) // 1000
    first_needed = int(np.searchsorted(ev["t"] - t_offset, ms * 1000, "left"))
    assert first_needed > 19_000
    # reading starts at ms_to_idx[ms]: the events before it are never read
    chunks = list(hdf5.iter_chunks(path, chunk_events=1000, t_start_us=t_start))
    np.testing.assert_array_equal(np.concatenate(chunks), ev[first_needed:])
    wins = list(io.open(path).iter_windows(window_us=10_000, t_start_us=t_start))
    np.testing.assert_array_equal(np.concatenate([w.events for w in wins]), ev[ev["t"] >= t_start])
    assert wins[0].t_start_us == t_start
    with h5py.File(path, "a") as f:  # a damaged index is refused, not trusted
        f["ms_to_idx"][ms] = 5
    with pytest.raises(EventFormatError, match=rf"ms_to_idx\[{ms}\] = 5 does not point"):
        list(io.open(path).iter_windows(window_us=10_000, t_start_us=t_start))


def test_hdf5_prophesee_cd_events_and_missing_ecf_plugin(tmp_path: Path) -> None:
    ev = _events(4, 3000, size=(1280, 720))
    cd = np.zeros(3000, dtype=hdf5.PROPHESEE_CD_DTYPE)
    for k in "xytp":
        cd[k] = ev[k]
    plain = tmp_path / "plain.hdf5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("CD/events", data=cd, chunks=(1024,), maxshape=(None,))
        f.attrs["geometry"] = "1280x720"
        f.attrs["format"] = "EVT3"
    reader = io.open(plain)
    assert (reader.metadata["layout"], reader.sensor_size) == ("prophesee", (1280, 720))
    assert reader.metadata["file_attrs"]["format"] == "EVT3"
    np.testing.assert_array_equal(reader.read().events, ev)
    # ECF (filter 0x8ECF) is not installed here: a typed error that says what to install
    ecf = tmp_path / "ecf.hdf5"
    with h5py.File(ecf, "w") as f:
        d = f.create_dataset(
            "CD/events",
            (2048,),
            dtype=hdf5.PROPHESEE_CD_DTYPE,
            chunks=(1024,),
            maxshape=(None,),
            compression=hdf5.ECF_FILTER_ID,
            allow_unknown_filter=True,
        )
        d.id.write_direct_chunk((0,), b"\x01" * 64)
        f.attrs["geometry"] = "1280x720"
    if h5py.h5z.filter_avail(hdf5.ECF_FILTER_ID):
        pytest.skip("the ECF plugin is installed here; the missing-plugin path cannot run")
    reader = io.open(ecf)
    assert reader.metadata["n_events"] == 2048
    with pytest.raises(UnsupportedEventTypeError, match=r"0x8ecf \(ECF\).*HDF5_PLUGIN_PATH") as e:
        reader.read()
    assert str(ecf) in str(e.value)
    with pytest.raises(UnsupportedEventTypeError, match="ECF"):
        list(reader.iter_chunks())


def test_hdf5_generic_conventions_and_bad_content(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f["events/x"] = np.array([1, 2, 3], dtype=np.int32)
        f["events/y"] = np.array([4, 5, 6], dtype=np.int64)
        f["events/t"] = np.array([10, 20, 30], dtype=np.uint32)
        f["events/p"] = np.array([-1, 1, -1], dtype=np.int8)  # -1 = OFF convention
    rec = io.open(path).read()
    assert rec.events.tolist() == [(10, 1, 4, 0), (20, 2, 5, 1), (30, 3, 6, 0)]
    assert rec.sensor_size is None
    with h5py.File(path, "a") as f:
        del f["events/x"]
        f["events/x"] = np.array([1, 70_000, 3], dtype=np.int32)
    with pytest.raises(EventFormatError, match=r"events/x: event 1 has x=70000, outside 0..65535"):
        io.open(path).read()
    with h5py.File(path, "a") as f:
        del f["events/x"]
        f["events/x"] = np.array([1, 2], dtype=np.int32)
    with pytest.raises(EventFormatError, match="different lengths"):
        io.open(path)
    with h5py.File(path, "w") as f:
        f["images/frame0"] = np.zeros((4, 4))
    with pytest.raises(UnsupportedEventTypeError, match=r"top-level keys: \['images'\]"):
        io.open(path)
    with h5py.File(path, "w") as f:
        f["events/x"] = np.zeros(2)
    with pytest.raises(EventFormatError, match=r"lacks dataset\(s\) \['y', 't', 'p'\]"):
        io.open(path)
    # a declared length that no stored data backs would read back as fill values: refused
    with h5py.File(path, "w") as f:
        for k in "xytp":
            f.create_dataset(f"events/{k}", (10**9,), dtype="u2", chunks=(1000,))
        f["events/x"][:5] = 1
    with pytest.raises(TruncatedFileError, match=r"'/events/x' declares 1000000000 events"):
        list(io.open(path).iter_chunks())
    # coordinates outside the sensor size the file records are an error, not clipped
    ev = _events(5, 100, size=(32, 32))
    hdf5.write(path, ev, sensor_size=(32, 32))
    with h5py.File(path, "a") as f:
        f.attrs["sensor_width"] = 16
    with pytest.raises(EventFormatError, match=r"outside the 16x32 sensor"):
        hdf5.read(path)
    # a negative stated size is refused by name (it was taken as the sensor size); 0 = unknown
    with h5py.File(path, "a") as f:
        f.attrs["sensor_width"] = -16
    with pytest.raises(EventFormatError, match=r"sensor_width/sensor_height: .* found -16 x 32"):
        hdf5.read(path)
    with h5py.File(path, "a") as f:
        f.attrs["sensor_width"] = 0
    assert hdf5.read(path).sensor_size is None


def test_hdf5_writer_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    ev = _events(6, 10, size=(100, 100))
    with pytest.raises(ValueError, match=r"expected 0 <= x < 50 and 0 <= y < 100"):
        hdf5.write(tmp_path / "a.h5", ev, sensor_size=(50, 100))
    with pytest.raises(ValueError, match="non-decreasing"):
        hdf5.write(
            tmp_path / "b.h5",
            make_events([10, 20, 15], [1, 2, 3], [1, 2, 3], [0, 1, 0]),
            sensor_size=(100, 100),
            layout="dsec",
        )
    with pytest.raises(ValueError, match="layout: expected one of"):
        hdf5.write(tmp_path / "c.h5", ev, sensor_size=(100, 100), layout="rpg")
    with pytest.raises(ValueError, match="compression: expected one of"):
        hdf5.write(tmp_path / "d.h5", ev, sensor_size=(100, 100), compression="snappy")
    with hdf5.open_writer(tmp_path / "s.h5", sensor_size=(100, 100), chunk_events=4) as w:
        w.append(ev[:3])
        w.append(ev[3:])
    np.testing.assert_array_equal(hdf5.read(tmp_path / "s.h5").events, ev)


# ------------------------------------------------------------------------------- NumPy
def test_npy_structured_arrays_any_field_order_and_byte_order(tmp_path: Path) -> None:
    ev = _events(7, 4000)
    tonic_like = np.zeros(4000, dtype=[("x", "<i8"), ("y", "<i8"), ("p", "<i8"), ("t", "<i8")])
    big_endian = np.zeros(4000, dtype=[("t", ">i8"), ("x", ">u2"), ("y", ">u2"), ("p", "?")])
    for arr in (tonic_like, big_endian):
        for k in "txyp":
            arr[k] = ev[k]
        path = tmp_path / "ev.npy"
        np.save(path, arr)
        reader = io.open(path)
        assert (reader.format, reader.metadata["container"], reader.sensor_size) == (
            "NumPy",
            "npy",
            None,
        )
        np.testing.assert_array_equal(reader.read().events, ev)
        _chunks_equal(path, ev)
    assert numpy_files.read(path, sensor_size=(640, 480)).sensor_size == (640, 480)


def test_npz_events_and_column_layouts(tmp_path: Path) -> None:
    ev = _events(8, 6000, size=(346, 260))
    ours = tmp_path / "ours.npz"
    numpy_files.write(ours, ev, sensor_size=(346, 260), compress=True)
    with np.load(ours) as z:  # a plain numpy archive
        assert sorted(z.files) == ["events", "sensor_size"]
        np.testing.assert_array_equal(z["events"], ev)
        assert z["sensor_size"].tolist() == [346, 260]
    cols = tmp_path / "cols.npz"
    np.savez_compressed(
        cols,
        t=ev["t"],
        x=ev["x"].astype(np.int32),
        y=ev["y"],
        p=ev["p"].astype(bool),
        sensor_size=np.array([346, 260]),
    )
    for path, layout in ((ours, "events"), (cols, "columns")):
        reader = io.open(path)
        assert reader.metadata["layout"] == layout and reader.sensor_size == (346, 260)
        np.testing.assert_array_equal(reader.read().events, ev)
        _chunks_equal(path, ev, chunk_events=1000)
    np.savez(tmp_path / "partial.npz", t=ev["t"], x=ev["x"])
    with pytest.raises(UnsupportedEventTypeError, match=r"missing \['y', 'p'\]"):
        io.open(tmp_path / "partial.npz")
    with pytest.raises(ValueError, match="sensor_size is required"):
        numpy_files.write(tmp_path / "nosize.npz", ev)


def test_npy_refuses_bad_content_with_offsets(tmp_path: Path) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros((10, 4), dtype=np.int64))
    with pytest.raises(EventFormatError, match=r"expected a 1-D array, found shape \(10, 4\)"):
        io.open(path)
    np.save(path, np.array([{"t": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsupportedEventTypeError, match="object arrays are refused"):
        io.open(path)
    np.save(path, np.zeros(3, dtype=[("t", "f8"), ("x", "u2"), ("y", "u2"), ("p", "u1")]))
    with pytest.raises(UnsupportedEventTypeError, match="field 't' must be a scalar integer"):
        io.open(path)
    ev = _events(9, 1000)
    numpy_files.write(path, ev)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    with pytest.raises(TruncatedFileError, match="declares 1000 records") as e:
        io.open(path).read()
    assert e.value.offset == len(data) - 20
    # a header claiming 2**40 records of a 5-byte file is refused before any allocation
    header = data[: len(data) - 13 * 1000].replace(b"(1000,)", b"(1099511627776,)")
    path.write_bytes(header[: len(header)])
    with pytest.raises(TruncatedFileError, match="1099511627776 records"):
        list(io.open(path).iter_chunks())
    bad_p = ev.copy()
    bad_p["p"][17] = 5
    np.save(path, bad_p)
    with pytest.raises(EventFormatError, match=r"p: event 17 has polarity 5"):
        numpy_files.read(path)


# ------------------------------------------------------------------------------- text
RPG_SAMPLE = b"""240 180
0.003811000 96 133 0
0.003820000 127 171 0
0.003836000 4 160 0
0.003862000 149 122 1

# comment lines and blank lines are skipped
1.000001 239 179 1
12.5 0 0 1
"""


def test_text_rpg_layout_exact_microseconds(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_bytes(RPG_SAMPLE)
    reader = io.open(path)
    assert (reader.format, reader.sensor_size) == ("text", (240, 180))
    assert reader.read().events.tolist() == [
        (3811, 96, 133, 0),
        (3820, 127, 171, 0),
        (3836, 4, 160, 0),
        (3862, 149, 122, 1),
        (1_000_001, 239, 179, 1),
        (12_500_000, 0, 0, 1),
    ]
    # large timestamps survive where parsing float seconds would lose the last microsecond
    path.write_bytes(b"9007199254.740993 1 2 1\n-0.000005 3 4 0\n")
    assert text.read(path).events["t"].tolist() == [9_007_199_254_740_993, -5]
    assert int(np.rint(float("9007199254.740993") * 1e6)) == 9_007_199_254_740_994


def test_text_sub_microsecond_digits_round_or_refuse(tmp_path: Path) -> None:
    path = tmp_path / "esim.txt"
    path.write_bytes(b"0.000001499 1 1 1\n0.000001500 1 1 1\n2.9999995 1 1 0\n")
    assert text.read(path).events["t"].tolist() == [1, 2, 3_000_000]
    with pytest.raises(EventFormatError, match=r"event 0: t=0.000001499 s has a fraction"):
        text.read(path, sub_us="error")
    assert io.open(path, sub_us="round").read().events["t"].tolist() == [1, 2, 3_000_000]


def test_text_round_trip_streaming_across_blocks(tmp_path: Path, monkeypatch) -> None:
    ev = _events(10, 5000, size=(304, 240), t0=123_456_789)
    ev["t"][::7] *= -1  # negative times are written and read back exactly too
    path = tmp_path / "rt.txt"
    text.write(path, ev, sensor_size=(304, 240))
    lines = path.read_bytes().split(b"\n")
    assert lines[0] == b"304 240"
    t1 = int(ev["t"][1])
    assert lines[2] == b"%d.%06d %d %d %d" % (
        t1 // 10**6,
        t1 % 10**6,
        ev["x"][1],
        ev["y"][1],
        ev["p"][1],
    )
    t0 = -int(ev["t"][0])
    assert lines[1].startswith(b"-%d.%06d " % (t0 // 10**6, t0 % 10**6))
    monkeypatch.setattr(text, "READ_BLOCK_BYTES", 1000)  # lines cut by every block
    np.testing.assert_array_equal(text.read(path).events, ev)
    _chunks_equal(path, ev, chunk_events=333)
    text.write(tmp_path / "us.txt", ev, t_unit="us")
    np.testing.assert_array_equal(text.read(tmp_path / "us.txt", t_unit="us").events, ev)


def test_text_integer_microseconds_are_declared_and_read_back(tmp_path: Path) -> None:
    # an integer-microsecond file used to read back as seconds by default: times x 10^6
    ev = _events(11, 300, size=(64, 48), t0=5_000_000)
    path = tmp_path / "us.txt"
    text.write(path, ev, sensor_size=(64, 48), t_unit="us")
    assert path.read_bytes().split(b"\n")[:2] == [b"# t_unit: us", b"64 48"]
    rec = text.read(path)  # the default follows the file's declaration
    np.testing.assert_array_equal(rec.events, ev)
    assert rec.sensor_size == (64, 48) and rec.metadata["t_unit"] == "us"
    np.testing.assert_array_equal(io.open(path).read().events, ev)
    np.testing.assert_array_equal(np.concatenate(list(text.iter_chunks(path))), ev)
    for call in (
        lambda: text.read(path, t_unit="s"),
        lambda: list(text.iter_chunks(path, t_unit="s")),
    ):
        with pytest.raises(EventFormatError, match=r"us\.txt.*declares t_unit 'us'.*t_unit='s'"):
            call()
    # seconds files carry no comment (the RPG layout) and files without one read as before
    text.write(tmp_path / "s.txt", ev, t_unit="s")
    assert not (tmp_path / "s.txt").read_bytes().startswith(b"#")
    np.testing.assert_array_equal(text.read(tmp_path / "s.txt").events, ev)
    plain = tmp_path / "plain_us.txt"
    plain.write_bytes(path.read_bytes().split(b"\n", 1)[1])
    np.testing.assert_array_equal(text.read(plain, t_unit="us").events, ev)
    bad = tmp_path / "bad_unit.txt"
    bad.write_bytes(b"# t_unit: ms\n" + plain.read_bytes())
    with pytest.raises(EventFormatError, match=r"bad_unit\.txt.*declares 'ms'"):
        text.read(bad)


def test_text_malformed_lines_name_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"10 10\n0.1 1 2 1\n0.2 1 2\n")
    with pytest.raises(EventFormatError, match=r"line 3: expected 't x y p'.*'0.2 1 2'") as e:
        text.read(path)
    assert e.value.offset == len(b"10 10\n0.1 1 2 1\n")
    path.write_bytes(b"10 10\n0.1 11 2 1\n")
    with pytest.raises(EventFormatError, match=r"x: event 0 has x=11, outside the 10x10 sensor"):
        text.read(path)
    path.write_bytes(b"0.1 1 2 7\n")
    with pytest.raises(EventFormatError, match="polarity 7"):
        text.read(path)
    path.write_bytes(b"1.5 1 2 1\n")
    with pytest.raises(EventFormatError, match="t_unit='us' expects integer microseconds"):
        text.read(path, t_unit="us")
    with pytest.raises(ValueError, match="t_unit: expected one of"):
        text.read(path, t_unit="ms")
