"""``spikesim.sensors.io``: format detection, chunk/window/batch streaming, paced playback.

Window semantics are checked against a brute-force reference (events selected by time
masks) with chunk sizes that force windows to straddle chunk boundaries; playback pacing is
checked with an injected clock, never with wall-clock timing. The constant-memory test
streams a generated 100 M-event (1.3 GB) file by 10 ms windows and bounds the peak of
traced allocations.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from spikesim.sensors import io
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.events import EVENT_DTYPE, make_events
from spikesim.sensors.formats import all_formats, hdf5, numpy_files, text


def _events(seed: int, n: int, *, t_max: int = 1_000_000, size=(64, 48)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return make_events(
        np.sort(rng.integers(0, t_max, n)),
        rng.integers(0, size[0], n),
        rng.integers(0, size[1], n),
        rng.integers(0, 2, n),
    )


def _reference_windows(ev: np.ndarray, t0: int, w: int, n_windows: int) -> list[np.ndarray]:
    """Brute force for monotonic timestamps: window k = events with t in [t0+kw, t0+(k+1)w)."""
    return [ev[(ev["t"] >= t0 + k * w) & (ev["t"] < t0 + (k + 1) * w)] for k in range(n_windows)]


@pytest.fixture
def npz_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    # bursts separated by gaps, so some 10 ms windows are empty
    a = _events(1, 3000, t_max=25_000)
    b = _events(2, 2000, t_max=15_000)
    b["t"] += 62_000
    ev = np.concatenate([a, b])
    ev["t"] += 1_000_003  # timestamps are kept as stored, not shifted to zero
    path = tmp_path / "rec.npz"
    numpy_files.write(path, ev, sensor_size=(64, 48))
    return path, ev


# ------------------------------------------------------------------------------- detection
def test_open_detects_format_from_bytes_not_extension(tmp_path: Path) -> None:
    ev = _events(3, 500)
    h5_named_bin = tmp_path / "looks_like_nmnist.bin"
    hdf5.write(h5_named_bin, ev, sensor_size=(64, 48))
    npy_named_txt = tmp_path / "looks_like_text.txt"
    numpy_files.write(npy_named_txt, ev, container="npy")
    txt_named_h5 = tmp_path / "looks_like_hdf5.h5"
    text.write(txt_named_h5, ev, sensor_size=(64, 48))
    for path, fmt, size in (
        (h5_named_bin, "HDF5", (64, 48)),
        (npy_named_txt, "NumPy", None),
        (txt_named_h5, "text", (64, 48)),
    ):
        reader = io.open(path)
        assert (reader.format, reader.sensor_size) == (fmt, size)
        np.testing.assert_array_equal(reader.read().events, ev)
    assert io.open(h5_named_bin).metadata["layout"] == "generic"
    assert io.open(h5_named_bin).metadata["n_events"] == 500


def test_open_unknown_bytes_names_file_and_formats_tried(tmp_path: Path) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(EventFormatError) as info:
        io.open(path)
    msg = str(info.value)
    assert str(path) in msg and "formats tried" in msg and "first bytes" in msg
    for spec in all_formats():
        assert spec.name in msg
    with pytest.raises(FileNotFoundError):
        io.open(tmp_path / "missing.h5")


def test_open_forced_format_and_options(tmp_path: Path) -> None:
    ev = _events(4, 200)
    path = tmp_path / "us.txt"
    text.write(path, ev, t_unit="us")
    reader = io.open(path, format="text", t_unit="us")
    np.testing.assert_array_equal(reader.read().events, ev)
    np.testing.assert_array_equal(np.concatenate(list(reader.iter_chunks(chunk_events=64))), ev)
    with pytest.raises(ValueError, match="option 'colour' is not understood by the text reader"):
        io.open(path, colour=True)
    with pytest.raises(ValueError, match="unknown event format 'nope'"):
        io.open(path, format="nope")


def _reference_files(dvs_dir: Path) -> dict:
    return json.loads((dvs_dir / "reference.json").read_text())["files"]


def test_every_shared_recording_streams_like_reference(dvs_dir: Path) -> None:
    """Every shared recording that a registered reader recognises, streamed by 10 ms windows
    and in batches of 10,000 events, gives reference.json's counts (files whose format has
    no registered reader yet are listed, and at least the iniVation/.es/.bin ones must open).
    """
    opened, unrecognised = [], []
    for name, ref in _reference_files(dvs_dir).items():
        if "format" not in ref or "n_events" not in ref:
            continue
        try:
            reader = io.open(dvs_dir / name)
        except EventFormatError as exc:
            if "no registered event format" in str(exc):
                unrecognised.append(name)
                continue
            raise
        opened.append(name)
        wins = list(reader.iter_windows(window_us=10_000, chunk_events=50_000))
        ev = np.concatenate([w.events for w in wins])
        assert len(ev) == ref["n_events"], name
        assert (int(ev["t"][0]), int(ev["t"][-1])) == (ref["t_first"], ref["t_last"]), name
        assert int((ev["p"] == 1).sum()) == ref["n_on"], name
        assert [w.index for w in wins] == list(range(len(wins)))
        assert wins[0].t_start_us == ref["t_first"]
        # empty windows included; windows run to the latest timestamp (files may step back)
        assert len(wins) == (int(ev["t"].max()) - ref["t_first"]) // 10_000 + 1, name
        batches = list(reader.iter_batches(events_per_batch=10_000))
        assert [len(b) for b in batches[:-1]] == [10_000] * (len(batches) - 1)
        np.testing.assert_array_equal(np.concatenate(batches), ev)
    assert {
        "aedat4/tonic_sample.aedat4",
        "es/faery_dvs.es",
        "nmnist_bin/tonic_sample_nmnist.bin",
    } <= set(opened), (opened, unrecognised)


# ------------------------------------------------------------------------------- windows
@pytest.mark.parametrize("chunk_events", [7, 1000, 1 << 20])
def test_windows_match_brute_force_across_chunk_boundaries(npz_file, chunk_events: int) -> None:
    path, ev = npz_file
    reader = io.open(path)
    wins = list(reader.iter_windows(window_us=10_000, chunk_events=chunk_events))
    t0 = int(ev["t"][0])
    n_expected = (int(ev["t"][-1]) - t0) // 10_000 + 1
    assert len(wins) == n_expected == 8
    ref = _reference_windows(ev, t0, 10_000, n_expected)
    for k, (win, exp) in enumerate(zip(wins, ref, strict=True)):
        assert (win.index, win.t_start_us, win.t_end_us) == (
            k,
            t0 + k * 10_000,
            t0 + (k + 1) * 10_000,
        )
        np.testing.assert_array_equal(win.events, exp)
        assert win.events.dtype == EVENT_DTYPE
    assert [len(w) for w in wins].count(0) == 3  # the gap between the bursts
    skipped = list(
        reader.iter_windows(window_us=10_000, skip_empty=True, chunk_events=chunk_events)
    )
    assert [w.index for w in skipped] == [k for k in range(8) if len(ref[k])]
    assert sum(len(w) for w in skipped) == len(ev)


def test_windows_of_a_chunk_stream_with_empty_chunks(npz_file) -> None:
    """``io.iter_windows`` over any chunk source: empty chunks (first, between, last) change
    nothing (an empty first chunk raised IndexError)."""
    path, ev = npz_file
    empty = ev[:0]
    chunks = [empty, ev[:50], empty, empty, ev[50:], empty]
    wins = list(io.iter_windows(iter(chunks), window_us=10_000))
    ref = list(io.open(path).iter_windows(window_us=10_000))
    assert [(w.index, w.t_start_us) for w in wins] == [(w.index, w.t_start_us) for w in ref]
    for w, r in zip(wins, ref, strict=True):
        np.testing.assert_array_equal(w.events, r.events)
    assert list(io.iter_windows(iter([empty, empty]), window_us=10_000)) == []


def test_window_s_and_explicit_range(npz_file) -> None:
    path, ev = npz_file
    reader = io.open(path)
    by_s = list(reader.iter_windows(window_s=0.005))
    by_us = list(reader.iter_windows(window_us=5_000))
    assert [(w.t_start_us, len(w)) for w in by_s] == [(w.t_start_us, len(w)) for w in by_us]
    # an explicit range: events before t_start_us and from t_end_us on are dropped, and the
    # windows run up to t_end_us even where no event falls
    wins = list(
        reader.iter_windows(
            window_us=20_000, t_start_us=1_010_000, t_end_us=1_150_000, chunk_events=333
        )
    )
    assert [w.t_start_us for w in wins] == list(range(1_010_000, 1_150_000, 20_000))
    ref = _reference_windows(ev, 1_010_000, 20_000, 7)
    for win, exp in zip(wins, ref, strict=True):
        np.testing.assert_array_equal(win.events, exp)
    with pytest.raises(
        ValueError, match=r"window_us / window_s must be exactly one of window_us and window_s"
    ):
        list(reader.iter_windows(window_us=10, window_s=0.1))
    with pytest.raises(ValueError, match="window_us must be >= 1, got 0"):
        list(reader.iter_windows(window_us=0))
    with pytest.raises(ValueError, match=r"t_end_us must be greater than t_start_us \(9\), got 5"):
        list(reader.iter_windows(window_us=10, t_start_us=9, t_end_us=5))


def test_windows_keep_every_event_in_file_order_when_time_steps_back(tmp_path: Path) -> None:
    # 130 steps back below 120 (still window 0 by file order); 90 is before the first event
    t = np.array([100, 120, 130, 95, 90, 210, 205, 199, 330, 301, 415])
    ev = make_events(t, np.arange(11), np.zeros(11), np.ones(11))
    path = tmp_path / "backsteps.npy"
    numpy_files.write(path, ev)
    for chunk in (1, 3, 100):
        wins = list(io.open(path).iter_windows(window_us=100, chunk_events=chunk))
        # windows are cut at the first event (file order) that reaches each window's end
        assert [w.events["x"].tolist() for w in wins] == [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9], [10]]


def test_iter_batches_exact_sizes(npz_file) -> None:
    path, ev = npz_file
    batches = list(io.open(path).iter_batches(events_per_batch=1234))
    assert [len(b) for b in batches] == [1234] * 4 + [5000 - 4 * 1234]
    np.testing.assert_array_equal(np.concatenate(batches), ev)
    with pytest.raises(ValueError, match="positive integer"):
        list(io.open(path).iter_batches(events_per_batch=0))


# ------------------------------------------------------------------------------- playback
class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        self.sleeps.append(dt)
        self.now += dt

    async def asleep(self, dt: float) -> None:
        self.sleep(dt)
        await asyncio.sleep(0)


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_play_paces_windows_to_the_wall_clock(npz_file, speed: float) -> None:
    path, ev = npz_file
    clock = FakeClock()
    released = []
    for win in io.play(
        io.open(path), speed=speed, window_us=10_000, clock=clock, sleep=clock.sleep
    ):
        released.append((win.index, round(clock.now - 1000.0, 9)))
        clock.now += 0.001  # the consumer works 1 ms of wall time per window
    # window k is released (k + 1) * 10 ms / speed after the start, the consumer's work
    # being absorbed by shorter sleeps; 8 windows, none dropped
    assert released == [(k, round((k + 1) * 0.010 / speed, 9)) for k in range(8)]
    assert sum(clock.sleeps) == pytest.approx(8 * 0.010 / speed - 7 * 0.001)


def test_play_slow_consumer_gets_late_windows_at_once(npz_file) -> None:
    path, _ = npz_file
    clock = FakeClock()
    n = 0
    for _win in io.play(io.open(path), window_us=10_000, clock=clock, sleep=clock.sleep):
        n += 1
        clock.now += 0.025  # slower than real time: never sleeps after the first window
    assert n == 8 and clock.sleeps == [pytest.approx(0.010)]
    with pytest.raises(
        ValueError, match=r"speed must be a positive factor \(1.0 = real time\), got 0"
    ):
        next(io.play(io.open(path), speed=0))
    fast = FakeClock()
    assert len(list(io.play(io.open(path), speed=float("inf"), clock=fast, sleep=fast.sleep))) == 8
    assert fast.sleeps == []
    by_s = FakeClock()  # window_s: 20 ms windows, released 20 ms apart
    wins = list(io.play(io.open(path), window_s=0.02, clock=by_s, sleep=by_s.sleep))
    assert [w.t_end_us - w.t_start_us for w in wins] == [20_000] * 4
    assert by_s.sleeps == [pytest.approx(0.02)] * 4


def test_aplay_async_iterator_matches_play_and_lets_other_tasks_run(npz_file) -> None:
    path, ev = npz_file

    async def main() -> tuple[list, list, int]:
        clock = FakeClock()
        ticks = 0
        stop = asyncio.Event()

        async def other_task() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other_task())
        got = []
        async for win in io.aplay(
            io.open(path), speed=2.0, window_us=10_000, clock=clock, sleep=clock.asleep
        ):
            got.append((win.index, len(win), round(clock.now - 1000.0, 9)))
        stop.set()
        await task
        return got, clock.sleeps, ticks

    got, sleeps, ticks = asyncio.run(main())
    ref = [len(w) for w in io.open(path).iter_windows(window_us=10_000)]
    assert [g[1] for g in got] == ref and sum(ref) == len(ev)
    assert [g[2] for g in got] == [round((k + 1) * 0.005, 9) for k in range(8)]
    assert sum(sleeps) == pytest.approx(0.040)
    assert ticks >= 8  # the other task ran while windows were decoded and awaited


# ------------------------------------------------------------------------------- memory
def test_streams_100m_events_in_constant_memory(tmp_path: Path) -> None:
    """A 1.3 GB .npy of 100 M events, streamed by 10 ms windows: traced allocations peak
    below 150 MB (about a tenth of the file) and every event arrives in its window."""
    n_total, block = 100_000_000, 4_000_000
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(5)
    ev = np.empty(block, dtype=EVENT_DTYPE)
    ev["x"] = rng.integers(0, 640, block)
    ev["y"] = rng.integers(0, 480, block)
    ev["p"] = rng.integers(0, 2, block)
    idx = np.arange(block, dtype=np.int64)
    try:
        with numpy_files.NumpyWriter(path) as w:
            for k in range(n_total // block):
                ev["t"] = (idx + k * block) // 10  # 10 M events/s, 10 s of recording
                w.append(ev)
        assert 13 * n_total < path.stat().st_size < 13 * n_total + 4096
        reader = io.open(path)
        tracemalloc.start()
        try:
            n_events = n_windows = 0
            last_t = -1
            for win in reader.iter_windows(window_us=10_000):
                t = win.events["t"]
                assert t[0] >= win.t_start_us and t[-1] < win.t_end_us and t[0] > last_t
                last_t = int(t[-1])
                n_events += len(win)
                n_windows += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (n_events, n_windows) == (n_total, 1000)
        assert peak < 150e6, f"peak traced memory {peak / 1e6:.0f} MB"
    finally:
        path.unlink(missing_ok=True)
