"""``spikesim events info | convert | view`` through click's CliRunner.

``info`` runs on every shared recording whose format is registered (the list grows as
readers land) and must report reference.json's numbers; ``convert`` is checked through every
writable registered format by converting a real sample there and back and comparing events;
``view`` output is checked pixel by pixel on a recording with known events.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from spikesim.sensors import io
from spikesim.sensors.cli import WRITER_OPTIONS, events
from spikesim.sensors.cli_view import SATURATION
from spikesim.sensors.errors import EventFormatError, TruncatedFileError, TruncatedFileWarning
from spikesim.sensors.events import make_events
from spikesim.sensors.formats import all_formats, numpy_files

NMNIST = "nmnist_bin/tonic_sample_nmnist.bin"


@pytest.fixture(scope="module")
def reference(dvs_dir: Path) -> dict:
    return json.loads((dvs_dir / "reference.json").read_text())["files"]


def _invoke(*args: str):
    return CliRunner().invoke(events, [str(a) for a in args], catch_exceptions=False)


def _info(path: Path) -> dict:
    res = _invoke("info", path, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


# ------------------------------------------------------------------------------- info
def test_info_reports_reference_numbers_for_every_recognised_shared_file(
    dvs_dir: Path, reference: dict
) -> None:
    checked = []
    for name, ref in reference.items():
        if "format" not in ref:
            continue
        try:
            io.detect_format(dvs_dir / name)
        except EventFormatError:
            continue  # no reader registered for this format yet
        out = _info(dvs_dir / name)
        assert out["format"] == io.open(dvs_dir / name).format
        got = (out["n_events"], out["n_on"], out["n_off"], out["t_first_us"], out["t_last_us"])
        exp = (ref["n_events"], ref["n_on"], ref["n_off"], ref["t_first"], ref["t_last"])
        assert got == exp, name
        size = [ref["width"], ref["height"]] if ref.get("width") is not None else None
        assert out["sensor_size"] == size, name
        span = (ref["t_last"] - ref["t_first"]) * 1e-6
        assert out["duration_s"] == pytest.approx(span)
        assert out["mean_rate_hz"] == pytest.approx(ref["n_events"] / span)
        assert out["monotonic"] is ref["t_monotonic"], name
        checked.append(name)
    assert {"aedat4/tonic_sample.aedat4", "es/faery_dvs.es", NMNIST} <= set(checked)


def test_info_text_output_and_refusals(dvs_dir: Path) -> None:
    res = _invoke("info", dvs_dir / "aedat4/tonic_sample.aedat4")
    assert res.exit_code == 0
    assert "format:      AEDAT4 (compression lz4)" in res.output
    assert "sensor size: 320 x 240" in res.output
    assert "events:      111,954 (ON 55,023, OFF 56,931)" in res.output
    assert "duration:    0.589917 s" in res.output
    assert "mean rate:   189,779.2 events/s" in res.output
    color = dvs_dir / "es/faery_color.es"
    res = _invoke("info", color)
    assert res.exit_code == 1
    assert str(color) in res.output and "type 4 (color)" in res.output


def test_info_unknown_file_lists_formats(tmp_path: Path) -> None:
    path = tmp_path / "junk.raw"
    path.write_bytes(b"\x00\x01\x02" * 100)
    res = _invoke("info", path)
    assert res.exit_code == 1
    assert "no registered event format recognises this file" in res.output
    assert all(spec.name in res.output for spec in all_formats())


def _cut_nmnist(dvs_dir: Path, tmp_path: Path) -> Path:
    """The shared N-MNIST sample (21625 bytes, 4325 records) without its last 2 bytes."""
    path = tmp_path / "cut.bin"
    path.write_bytes((dvs_dir / NMNIST).read_bytes()[:-2])
    return path


def test_info_on_a_truncated_nmnist_file_says_what_the_reader_reports(
    dvs_dir: Path, tmp_path: Path
) -> None:
    """N-MNIST has no header: its sniffer takes .bin files whose size is a multiple of 5, so
    a cut one matched no format. Detection's error now names the formats tried and what the
    N-MNIST reader (whose extension the file has) reports, and how to force the format;
    `info --format` forces it and gives the reader's TruncatedFileError."""
    path = _cut_nmnist(dvs_dir, tmp_path)
    res = _invoke("info", path)
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "no registered event format recognises this file (formats tried: AEDAT4," in text
    assert (
        "the extension .bin is that of N-MNIST: the N-MNIST reader reports: at byte 21620: "
        "file ends with a partial 3-byte record (N-MNIST records are 5 bytes; file size 21623)"
    ) in text
    assert "give the format: --format N-MNIST on the command line" in text
    forced = io.open(path, format="N-MNIST")
    with pytest.raises(TruncatedFileError) as err:
        forced.read()
    assert err.value.offset == 21620
    for name in ("N-MNIST", "n-mnist"):
        res = _invoke("info", path, "--format", name)
        assert res.exit_code == 1 and res.output.strip() == f"Error: {err.value}"
    res = _invoke("info", path, "--format", "MNIST")
    assert res.exit_code == 2 and "unknown event format 'MNIST'; known formats: AEDAT4" in (
        res.output
    )
    # the events before the cut, through the Python API the message points at
    with pytest.warns(TruncatedFileWarning, match="at byte 21620"):
        kept = io.open(path, format="N-MNIST", allow_truncated=True).read().events
    assert len(kept) == 4324


def test_detection_names_every_format_of_an_extension(tmp_path: Path) -> None:
    path = tmp_path / "junk.aedat"
    path.write_bytes(b"not an aedat file\n" * 10)
    with pytest.raises(EventFormatError) as err:
        io.detect_format(path)
    assert (
        "the extension .aedat is that of AEDAT4, AEDAT3.1 and AEDAT2: no AEDAT4 or AEDAT3.1 "
        "or AEDAT2 header at the start"
    ) in str(err.value)
    path = tmp_path / "junk.xyz"  # no format has the extension: no such note
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(EventFormatError) as err:
        io.detect_format(path)
    assert "extension" not in str(err.value)


def test_forced_input_format_in_info_convert_and_view(dvs_dir: Path, tmp_path: Path) -> None:
    """An N-MNIST file under another name is recognised by nothing; --format (info, view) and
    --in-format (convert) read it with the named reader: the reference numbers."""
    path = tmp_path / "sample.events"
    path.write_bytes((dvs_dir / NMNIST).read_bytes())
    assert _invoke("info", path).exit_code == 1
    out = json.loads(_invoke("info", path, "--json", "--format", "N-MNIST").output)
    assert out["format"] == "N-MNIST" and out["n_events"] == 4325
    assert out["n_on"] == 2145 and out["sensor_size"] == [34, 34]
    res = _invoke("convert", path, tmp_path / "s.npy", "--in-format", "N-MNIST")
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(
        io.open(tmp_path / "s.npy").read().events, io.open(dvs_dir / NMNIST).read().events
    )
    res = _invoke("view", path, "--out", tmp_path / "s.png", "--format", "N-MNIST")
    assert res.exit_code == 0 and "4,325 events" in res.output
    res = _invoke("convert", path, tmp_path / "t.npy", "--in-format", "nope")
    assert res.exit_code == 2 and "--in-format" in res.output
    assert not (tmp_path / "t.npy").exists()


def test_every_events_option_says_what_it_does_and_its_default() -> None:
    ctx = click.Context(events)
    count = 0
    for name in events.list_commands(ctx):
        cmd = events.get_command(ctx, name)
        assert cmd is not None
        for opt in cmd.params:
            if not isinstance(opt, click.Option) or opt.name == "help":
                continue
            count += 1
            assert opt.help and len(opt.help) > 15, (name, opt.name)
            if not (opt.required or opt.is_flag or opt.multiple) and opt.default is not None:
                assert opt.show_default, (name, opt.name)
            if opt.default is None and opt.name in ("fmt", "in_format", "sensor_size", "fps"):
                assert isinstance(opt.show_default, str), (name, opt.name)  # where from
    assert count >= 13


# ------------------------------------------------------------------------------- convert
WRITABLE = sorted(spec.name for spec in all_formats() if spec.write is not None)


@pytest.mark.parametrize("fmt", WRITABLE)
def test_convert_real_sample_to_every_writable_format_and_back(
    dvs_dir: Path, tmp_path: Path, fmt: str
) -> None:
    """N-MNIST's sample (34x34, t < 2**23 us) fits every writer; the events must come back
    unchanged, and converting back to .bin must reproduce the original bytes."""
    src = dvs_dir / NMNIST
    spec = next(s for s in all_formats() if s.name == fmt)
    out = tmp_path / f"converted{spec.extensions[0]}"
    res = _invoke("convert", src, out, "--format", fmt, "--chunk-events", 1000)
    assert res.exit_code == 0, res.output
    assert "wrote 4,325 events" in res.output and "sensor 34x34" in res.output
    converted = io.open(out)
    assert converted.format == fmt  # detected from the bytes written
    np.testing.assert_array_equal(converted.read().events, io.open(src).read().events)
    back = tmp_path / "back.bin"
    res = _invoke("convert", out, back)
    assert res.exit_code == 0, res.output
    assert back.read_bytes() == src.read_bytes()


def test_convert_aedat4_through_hdf5_dsec_npz_and_text(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "aedat4/tonic_sample.aedat4"
    original = io.open(src).read().events
    chain = [
        (tmp_path / "a.h5", ["-o", "layout=dsec", "-o", "compression=blosc-zstd"]),
        (tmp_path / "b.npz", ["-o", "compress=true"]),
        (tmp_path / "c.txt", []),
        (tmp_path / "d.aedat4", ["-o", "compression=zstd"]),
    ]
    prev = src
    for out, opts in chain:
        res = _invoke("convert", prev, out, *opts)
        assert res.exit_code == 0, res.output
        assert "streamed, sensor 320x240" in res.output
        rec = io.open(out)
        assert rec.sensor_size == (320, 240)
        np.testing.assert_array_equal(rec.read().events, original)
        prev = out
    assert io.open(tmp_path / "a.h5").metadata["layout"] == "dsec"
    assert io.open(tmp_path / "d.aedat4").metadata["compression"] == "zstd"


def test_convert_refusals_leave_no_output(dvs_dir: Path, tmp_path: Path) -> None:
    src = dvs_dir / "aedat4/tonic_sample.aedat4"
    res = _invoke("convert", src, tmp_path / "x.unknown")
    assert res.exit_code == 2 and "cannot tell the output format from extension '.unknown'" in (
        res.output
    )
    res = _invoke("convert", src, tmp_path / "x.h5", "-o", "bogus=1")
    assert res.exit_code == 2 and "unknown option 'bogus' for HDF5 output" in res.output
    assert not (tmp_path / "x.h5").exists()
    # a 320x240 recording does not fit N-MNIST's one-byte coordinates: refused, nothing left
    out = tmp_path / "too_big.bin"
    res = _invoke("convert", src, out)
    assert res.exit_code == 1 and "expected at most 256x256" in res.output
    assert not out.exists()
    # the AEDAT4 timestamps (1.6e15 us) do not fit its 23-bit time field either; the refusal
    # comes from the first chunk, after the output was created, which is then removed
    res = _invoke("convert", src, out, "--sensor-size", "256x256")
    assert res.exit_code == 1 and "expected 0 <= t < 2**23" in res.output
    assert not out.exists()
    res = _invoke("convert", src, src)
    assert res.exit_code == 2


def test_writer_option_table_is_the_writers(tmp_path: Path) -> None:
    """WRITER_OPTIONS (what --option's help and checks use) lists exactly each writer's
    keyword options, their accepted values and defaults; every listed value converts."""
    import inspect

    from spikesim.sensors.formats import aedat4, hdf5, text

    for spec in all_formats():
        if spec.write is None:
            continue
        params = inspect.signature(spec.write).parameters
        keywords = {k for k, p in params.items() if p.kind is p.KEYWORD_ONLY} - {"sensor_size"}
        table = WRITER_OPTIONS.get(spec.name, {})
        assert set(table) == keywords, spec.name
        for key, (kind, default) in table.items():
            given = params[key].default
            if given is not None:  # the table's default is the signature's
                assert default is not None and default.split(";")[0] == str(given).lower()
            if isinstance(kind, tuple):
                assert kind[0] == default or given is None, (spec.name, key)
    assert set(WRITER_OPTIONS["AEDAT4"]["compression"][0]) == set(aedat4.COMPRESSIONS)
    assert WRITER_OPTIONS["HDF5"]["compression"][0] == hdf5.COMPRESSIONS
    assert WRITER_OPTIONS["HDF5"]["layout"][0] == hdf5.LAYOUTS
    assert WRITER_OPTIONS["text"]["t_unit"][0] == text.T_UNITS
    ev = make_events([5, 9, 12], [3, 7, 1], [4, 2, 13], [1, 0, 1])
    src = tmp_path / "src.npy"
    numpy_files.write(src, ev)
    cases = [
        (ext, key, value)
        for ext, name in ((".aedat4", "AEDAT4"), (".h5", "HDF5"), (".npz", "NumPy"))
        for key, (kind, _) in WRITER_OPTIONS[name].items()
        if isinstance(kind, tuple)
        for value in kind
    ]
    cases += [(".txt", "t_unit", "us"), (".npz", "compress", "true"), (".raw", "legacy", "true")]
    for i, (ext, key, value) in enumerate(cases):
        out = tmp_path / f"o{i}{ext}"
        args = ["-o", f"{key}={value}"] + (["--format", "EVT2.1"] if ext == ".raw" else [])
        res = _invoke("convert", src, out, "--sensor-size", "16x16", *args)
        assert res.exit_code == 0, (key, value, res.output)
        fmt = "NumPy" if key == "container" else None  # a .npy inside a .npz name
        unit = {"t_unit": value} if key == "t_unit" else {}  # the text has no unit marker
        np.testing.assert_array_equal(io.open(out, format=fmt, **unit).read().events, ev)
    assert len(cases) == 18


def test_convert_option_errors_list_the_accepted_values(dvs_dir: Path, tmp_path: Path) -> None:
    """The help's examples work; a value the writer does not take is a usage error listing
    what it takes (HDF5's zstd is blosc-zstd, suggested); nothing is written."""
    src = dvs_dir / NMNIST
    help_text = " ".join(_invoke("convert", "--help").output.split())
    assert "e.g. -o compression=blosc-zstd for HDF5 or -o compression=zstd for AEDAT4" in (
        help_text
    )
    assert "HDF5: layout=generic|dsec|prophesee (default generic), compression=none|gzip|lzf|" in (
        help_text
    )
    import h5py

    for out, value in (("ok.h5", "blosc-zstd"), ("ok.aedat4", "zstd")):
        res = _invoke("convert", src, tmp_path / out, "-o", f"compression={value}")
        assert res.exit_code == 0, res.output
    assert io.open(tmp_path / "ok.aedat4").metadata["compression"] == "zstd"
    with h5py.File(tmp_path / "ok.h5", "r") as f:
        plist = f["events/t"].id.get_create_plist()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        assert 32001 in filters  # Blosc's registered HDF5 filter id
    cases = [
        ("x.h5", "compression=zstd", "compression='zstd': expected compression=none|gzip|lzf|"
         "blosc-zstd|blosc-lz4 for HDF5 output (did you mean compression=blosc-zstd?)"),
        ("x.aedat4", "compression=blosc-zstd", "compression='blosc-zstd': expected "
         "compression=lz4|none|lz4_high|zstd|zstd_high for AEDAT4 output"),
        ("x.npz", "compress=maybe", "compress='maybe': expected compress=true|false"),
        ("x.h5", "chunk_events=many", "chunk_events='many': expected chunk_events=INTEGER"),
        ("x.raw", "compression=zstd", "unknown option 'compression' for EVT3.0 output; the "
         "EVT3.0 writer's options: none"),
        ("x.txt", "unit=us", "unknown option 'unit' for text output; the text writer's "
         "options: t_unit=s|us (default s)"),
    ]  # fmt: skip
    for out, option, message in cases:
        res = _invoke("convert", src, tmp_path / out, "-o", option)
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert "Invalid value for --option" in text and message in text, text
        assert not (tmp_path / out).exists()


def test_convert_infers_sensor_size_when_the_source_has_none(tmp_path: Path) -> None:
    ev = make_events([5, 9, 12], [3, 70, 1], [4, 2, 33], [1, 0, 1])
    src = tmp_path / "plain.npy"
    numpy_files.write(src, ev)
    res = _invoke("convert", src, tmp_path / "out.h5")
    assert res.exit_code == 0 and "sensor 71x34" in res.output
    assert io.open(tmp_path / "out.h5").sensor_size == (71, 34)
    res = _invoke("convert", src, tmp_path / "given.h5", "--sensor-size", "128x64")
    assert io.open(tmp_path / "given.h5").sensor_size == (128, 64)
    res = _invoke("convert", src, tmp_path / "bad.h5", "--sensor-size", "128")
    assert res.exit_code == 2 and "expected WIDTHxHEIGHT" in res.output


# ------------------------------------------------------------------------------- view
@pytest.fixture
def known_recording(tmp_path: Path) -> Path:
    # window 0 [0, 10 ms): pixel (1, 2) gets 2 ON, pixel (5, 0) 1 OFF, pixel (7, 7) ON+OFF
    # window 1 [10, 20 ms): pixel (3, 3) gets 5 ON (saturates); window 2: (0, 9) 1 OFF
    t = [0, 100, 200, 300, 400, 10_000, 10_001, 10_002, 10_003, 10_004, 20_000]
    x = [1, 1, 5, 7, 7, 3, 3, 3, 3, 3, 0]
    y = [2, 2, 0, 7, 7, 3, 3, 3, 3, 3, 9]
    p = [1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0]
    path = tmp_path / "known.npz"
    numpy_files.write(path, make_events(t, x, y, p), sensor_size=(8, 10))
    return path


def test_view_png_frames_pixel_by_pixel(known_recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames.png"
    res = _invoke("view", known_recording, "--out", out, "--window-ms", 10, "--scale", 2)
    assert res.exit_code == 0, res.output
    assert "wrote 3 frame(s) of 8x10 (11 events, 10 ms each)" in res.output
    with Image.open(out) as png:
        img = np.asarray(png.convert("RGB"))
    # 3 frames in a 2x2 grid of 16x20 tiles with 2-pixel gutters
    assert img.shape == (20 * 2 + 2, 16 * 2 + 2, 3)
    step = 255 // SATURATION

    def px(frame: int, x: int, y: int) -> tuple[int, ...]:
        r, c = divmod(frame, 2)
        return tuple(img[r * 22 + 2 * y, c * 18 + 2 * x].tolist())

    assert px(0, 1, 2) == (255 - 2 * step, 255 - 2 * step, 255)  # 2 ON: blue
    assert px(0, 5, 0) == (255, 255 - step, 255 - step)  # 1 OFF: red
    assert px(0, 7, 7) == (255, 255, 255)  # ON + OFF cancel
    assert px(1, 3, 3) == (255 - SATURATION * step, 255 - SATURATION * step, 255)
    assert px(2, 0, 9) == (255, 255 - step, 255 - step)
    assert px(0, 0, 0) == (255, 255, 255)
    assert tuple(img[20, 0].tolist()) == (160, 160, 160)  # gutter


def test_view_gif_one_frame_per_window(known_recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "anim.gif"
    res = _invoke("view", known_recording, "--out", out, "--window-ms", 5)
    assert res.exit_code == 0, res.output
    with Image.open(out) as gif:
        # windows of 5 ms from t=0 to 20 ms: 5 frames, empty ones included; scaled to 128 px
        assert (gif.n_frames, gif.size) == (5, (128, 160))
        assert gif.info["duration"] == 20  # 1000 / 5 ms = 200 fps, capped at 50
    res = _invoke("view", known_recording, "--out", tmp_path / "x.jpg")
    assert res.exit_code == 2 and "expected a .png or .gif" in res.output
    res = _invoke("view", known_recording, "--out", out, "--max-frames", 10_000, "--scale", 32)
    assert res.exit_code == 1 and "over the 1,074 MB limit" in res.output


def test_view_real_sample(dvs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nmnist.png"
    res = _invoke("view", dvs_dir / NMNIST, "--out", out, "--window-ms", 50, "--max-frames", 4)
    assert res.exit_code == 0, res.output
    ev = io.open(dvs_dir / NMNIST).read().events
    n_first = int((ev["t"] < ev["t"][0] + 200_000).sum())
    assert f"wrote 4 frame(s) of 34x34 ({n_first:,} events, 50 ms each)" in res.output
    with Image.open(out) as png:
        assert png.size == (2 * 136 + 2, 2 * 136 + 2)
