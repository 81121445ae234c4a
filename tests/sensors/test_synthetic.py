"""Synthetic events: DVS emulator physics (edges, polarity, thresholds, refractory, noise,
determinism), MNIST IDX loading and N-MNIST-style saccades; bad input."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import torch
from spikesim.sensors.errors import EventFormatError, TruncatedFileError
from spikesim.sensors.events import EVENT_DTYPE
from spikesim.sensors.representations import count_frame
from spikesim.sensors.synthetic import (
    DVSEmulator,
    SaccadeRecorder,
    emulate_dvs,
    load_mnist_idx,
    saccade_dataset,
    saccade_events,
    saccade_frames,
    saccade_recording,
)

from spikesim.errors import ParameterError

DARK, BRIGHT, EPS = 0.1, 1.0, 1e-3


def moving_bar(n_frames: int = 9, width: int = 20, height: int = 6, bar: int = 3, x0: int = 2):
    """A bright vertical bar moving right by one pixel per frame (frames 1 ms apart)."""
    frames = np.full((n_frames, height, width), DARK)
    for k in range(n_frames):
        frames[k, :, x0 + k : x0 + k + bar] = BRIGHT
    return frames, np.arange(n_frames, dtype=np.int64) * 1000


def test_moving_bar_events_only_at_edges_with_polarity():
    frames, times = moving_bar()
    th = 0.5
    ev = emulate_dvs(frames, times_us=times, threshold_on=th, threshold_off=th)
    assert ev.dtype == EVENT_DTYPE
    per_crossing = math.floor(math.log((BRIGHT + EPS) / (DARK + EPS)) / th)  # 4 events per edge
    assert per_crossing == 4
    # interval k (frames k-1 -> k): column 2+k+2 brightens (leading edge), column 2+k-1 darkens
    interval = np.searchsorted(times, ev["t"], side="left")
    interval = np.maximum(interval, 1)
    on, off = ev[ev["p"] == 1], ev[ev["p"] == 0]
    k_on = interval[ev["p"] == 1]
    k_off = interval[ev["p"] == 0]
    np.testing.assert_array_equal(on["x"], 2 + k_on + 2)
    np.testing.assert_array_equal(off["x"], 2 + k_off - 1)
    # every row, every interval, 4 events per edge; the OFF edge returns the reference exactly
    assert on.size == 8 * 6 * per_crossing
    assert off.size == 8 * 6 * per_crossing
    # times interpolated inside the frame interval at the threshold crossings
    rel = ev["t"] - times[interval - 1]
    assert rel.min() >= 0 and rel.max() <= 1000
    first_row_px = on[(on["x"] == 5) & (on["y"] == 0)]
    span = math.log((BRIGHT + EPS) / (DARK + EPS))
    expected = [math.floor(1000 * i * th / span) for i in range(1, 5)]  # enters in frame 0 -> 1
    assert first_row_px["t"].tolist() == expected
    assert np.all(np.diff(ev["t"]) >= 0)


def test_brighter_gives_on_darker_gives_off():
    n = 12
    up = np.stack([np.full((4, 5), 0.1 * 1.2**k) for k in range(n)])
    times = np.arange(n, dtype=np.int64) * 500
    ev = emulate_dvs(up, times_us=times, threshold_on=0.2, threshold_off=0.2)
    expected = math.floor(math.log((up[-1, 0, 0] + EPS) / (up[0, 0, 0] + EPS)) / 0.2)
    assert np.all(ev["p"] == 1)
    np.testing.assert_array_equal(count_frame(ev, sensor_size=(5, 4)), expected)
    down = emulate_dvs(up[::-1].copy(), times_us=times, threshold_on=0.2, threshold_off=0.2)
    assert np.all(down["p"] == 0) and down.size == ev.size
    assert emulate_dvs(up[:1].repeat(5, axis=0), times_us=times[:5]).size == 0


def _min_gap_per_pixel(ev: np.ndarray) -> int:
    pix = ev["y"].astype(np.int64) * 10_000 + ev["x"]
    order = np.lexsort((ev["t"], pix))
    same = pix[order][1:] == pix[order][:-1]
    gaps = np.diff(ev["t"][order])[same]
    return int(gaps.min())


def test_refractory_period_respected_with_noise():
    n = 20
    fast = np.stack([np.full((3, 4), 0.05 * 2.0**k) for k in range(n)])  # ~3.5 crossings per frame
    times = np.arange(n, dtype=np.int64) * 1000
    free = emulate_dvs(fast, times_us=times, threshold_on=0.2)
    assert _min_gap_per_pixel(free) < 300
    ev = emulate_dvs(
        fast, times_us=times, threshold_on=0.2, refractory_us=2500, noise_rate_hz=200.0, seed=3
    )
    assert _min_gap_per_pixel(ev) >= 2500
    assert ev.size < free.size
    # a pixel that could not fire during the refractory time fires later: nothing is lost
    # for good, the signal keeps rising, so every pixel fires in every 2.5 ms
    assert count_frame(ev[ev["p"] == 1], sensor_size=(4, 3)).min() >= 19_000 // 2500 - 1


def test_same_seed_identical_different_seed_differs():
    frames, times = moving_bar()
    emu = DVSEmulator(
        threshold_on=0.3, threshold_off=0.3, threshold_sigma=0.05, noise_rate_hz=50.0, seed=7
    )
    a, b = emu(frames, times_us=times), emu(frames, times_us=times)
    np.testing.assert_array_equal(a, b)
    c = emulate_dvs(
        frames,
        times_us=times,
        threshold_on=0.3,
        threshold_off=0.3,
        threshold_sigma=0.05,
        noise_rate_hz=50.0,
        seed=8,
    )
    assert not np.array_equal(a, c)
    with pytest.raises(AttributeError):
        emu.seed = 1  # frozen


def test_threshold_mismatch_spreads_counts():
    n = 30
    ramp = np.stack([np.full((10, 10), 0.1 * 1.1**k) for k in range(n)])
    times = np.arange(n, dtype=np.int64) * 1000
    even = count_frame(emulate_dvs(ramp, times_us=times, threshold_on=0.2), sensor_size=(10, 10))
    assert even.min() == even.max()
    spread = count_frame(
        emulate_dvs(ramp, times_us=times, threshold_on=0.2, threshold_sigma=0.04, seed=1),
        sensor_size=(10, 10),
    )
    assert spread.max() - spread.min() >= 3
    assert abs(spread.mean() - even.mean()) < 0.15 * even.mean()


def test_noise_rate():
    static = np.full((11, 20, 20), 0.5)
    times = np.arange(11, dtype=np.int64) * 100_000  # 1 s
    ev = emulate_dvs(static, times_us=times, noise_rate_hz=10.0, seed=0)
    expected = 10.0 * 400 * 1.0
    assert abs(ev.size - expected) < 5 * math.sqrt(expected)
    assert 0.4 < ev["p"].mean() < 0.6
    assert ev["t"].min() >= 0 and ev["t"].max() <= 1_000_000


def test_torch_frames_and_uint8_frames():
    frames, times = moving_bar()
    ref = emulate_dvs(frames, times_us=times, threshold_on=0.5, threshold_off=0.5)
    np.testing.assert_array_equal(
        emulate_dvs(torch.from_numpy(frames), times_us=times, threshold_on=0.5, threshold_off=0.5),
        ref,
    )
    u8 = (frames * 255).astype(np.uint8)
    ev8 = emulate_dvs(u8, times_us=times, threshold_on=0.5, threshold_off=0.5)
    assert ev8.size == ref.size and np.array_equal(ev8["x"], ref["x"])


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"frames": np.zeros((3, 4))}, "frames"),
        ({"frames": -np.ones((3, 4, 4))}, "frames"),
        ({"frames": np.full((3, 4, 4), np.nan)}, "frames"),
        ({"times_us": [0, 10, 10]}, "times_us"),
        ({"times_us": [0.0, 1.0, 2.0]}, "times_us"),
        ({"times_us": [0, 1]}, "times_us"),
        ({"threshold_on": 0.0}, "threshold_on"),
        ({"threshold_off": -0.1}, "threshold_off"),
        ({"refractory_us": -5}, "refractory_us"),
        ({"noise_rate_hz": -1.0}, "noise_rate_hz"),
        ({"threshold_sigma": -0.1}, "threshold_sigma"),
    ],
)
def test_emulator_bad_input(kwargs, field):
    args = {"frames": np.ones((3, 4, 4)), "times_us": [0, 10, 20]}
    args.update(kwargs)
    frames = args.pop("frames")
    with pytest.raises(ParameterError, match=field):
        emulate_dvs(frames, **args)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist_idx(
        mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz"
    )


def test_load_mnist(mnist):
    images, labels = mnist
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.tolist()[:10] == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_saccade_of_mnist_digits_is_nmnist_like(mnist):
    images, _ = mnist
    counts = []
    for i in range(4):
        ev = saccade_events(images[i], seed=i)
        assert ev.dtype == EVENT_DTYPE
        assert ev["x"].max() < 34 and ev["y"].max() < 34
        assert ev["t"].min() >= 0 and ev["t"].max() <= 300_000
        # N-MNIST samples hold a few thousand events (the shared sample: 4,325, 50 % ON)
        assert 1_500 <= ev.size <= 8_000
        assert 0.4 <= ev["p"].mean() <= 0.6
        # all three saccades produce events
        per_saccade = np.bincount(np.minimum(ev["t"] // 100_000, 2), minlength=3)
        assert per_saccade.min() > 0.15 * ev.size
        # the events sit on the digit: pixels the moving strokes never reach stay silent
        frames, _ = saccade_frames(images[i])
        lit = frames.max(axis=0) > frames.min(axis=0)  # pixels whose intensity changes
        quiet = saccade_events(images[i], seed=i, noise_rate_hz=0.0)
        assert count_frame(quiet, sensor_size=(34, 34))[lit].sum() == quiet.size
        # with the default noise (0.2 Hz per pixel: ~69 expected events) a few land elsewhere
        off_digit = count_frame(ev, sensor_size=(34, 34))[~lit].sum()
        assert off_digit <= 0.2 * 34 * 34 * 0.3 * 2
        counts.append(ev.size)
    assert len(set(counts)) > 1
    np.testing.assert_array_equal(
        saccade_events(images[0], seed=0), SaccadeRecorder()(images[0], seed=0)
    )
    rec = saccade_recording(images[0], seed=0)
    assert rec.sensor_size == (34, 34) and np.array_equal(
        rec.events, saccade_events(images[0], seed=0)
    )
    batch = saccade_dataset(images[:2], seed=0)
    np.testing.assert_array_equal(batch[1], saccade_events(images[1], seed=1))


def test_saccade_frames_geometry():
    img = np.zeros((28, 28), dtype=np.uint8)
    img[14, 14] = 255
    frames, times = saccade_frames(img, blur_px=0.0, frame_dt_us=10_000)
    assert frames.shape == (31, 34, 34) and times[0] == 0 and times[-1] == 300_000
    # the dot starts at the first vertex (-2, +2) from the centred position (row 17, col 17)
    y, x = np.unravel_index(np.argmax(frames[0]), frames[0].shape)
    assert (x, y) == (17 - 2, 17 + 2)
    y, x = np.unravel_index(np.argmax(frames[10]), frames[10].shape)  # end of saccade 1
    assert (x, y) == (17, 17 - 2)
    assert frames.min() == pytest.approx(0.05)


def test_saccade_bad_input():
    with pytest.raises(ParameterError, match="image"):
        saccade_events(np.zeros((40, 40)))
    with pytest.raises(ParameterError, match="image"):
        saccade_events(np.zeros((2, 28, 28)))
    with pytest.raises(ParameterError, match="image"):
        saccade_events(np.full((28, 28), 2.0))
    with pytest.raises(ParameterError, match="saccade_duration_us"):
        saccade_events(np.zeros((28, 28)), saccade_duration_us=-1)
    with pytest.raises(ParameterError, match="sensor_size"):
        saccade_events(np.zeros((28, 28)), sensor_size=(34,))


def test_mnist_idx_bad_files(tmp_path, mnist_dir):
    wrong = tmp_path / "labels_as_images.gz"
    wrong.write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(EventFormatError, match="magic"):
        load_mnist_idx(wrong)
    raw = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    cut = tmp_path / "cut.idx"
    cut.write_bytes(raw[:5000])
    with pytest.raises(TruncatedFileError, match="cut.idx"):
        load_mnist_idx(cut)
    short = tmp_path / "short.idx"
    short.write_bytes(raw[:10])
    with pytest.raises(TruncatedFileError, match="dimensions"):
        load_mnist_idx(short)
    few_labels = tmp_path / "few.idx"
    few_labels.write_bytes(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(EventFormatError, match="3 labels for 10000 images"):
        load_mnist_idx(mnist_dir / "t10k-images-idx3-ubyte.gz", few_labels)
    two = tmp_path / "two.idx"  # uncompressed IDX with the first two images
    two.write_bytes(raw[:4] + (2).to_bytes(4, "big") + raw[8:16] + raw[16 : 16 + 2 * 784])
    images, labels = load_mnist_idx(two)
    assert labels is None and images.shape == (2, 28, 28)
    np.testing.assert_array_equal(
        images.reshape(-1), np.frombuffer(raw[16 : 16 + 2 * 784], np.uint8)
    )


def _reference_pixel_model(frames, times, th_on, th_off, refractory_us, eps=1e-3):
    """Straightforward per-pixel loop of the documented DVS model (no mismatch, no noise)."""
    n, h, w = frames.shape
    L = np.log(frames + eps)
    out = []
    for y in range(h):
        for x in range(w):
            ref, last = L[0, y, x], None
            for k in range(1, n):
                lo, ln, t0, t1 = L[k - 1, y, x], L[k, y, x], int(times[k - 1]), int(times[k])
                while True:
                    d = ln - ref
                    if d > 0 and d / th_on + 1e-9 >= 1:
                        sign, th = 1, th_on
                    elif d < 0 and -d / th_off + 1e-9 >= 1:
                        sign, th = -1, th_off
                    else:
                        break
                    level = ref + sign * th
                    frac = (level - lo) / (ln - lo) if ln != lo else 0.0
                    te = math.floor(t0 + min(max(frac, 0.0), 1.0) * (t1 - t0))
                    if last is not None:
                        te = max(te, last + refractory_us)
                    if te > t1:
                        break
                    out.append((te, x, y, 1 if sign > 0 else 0))
                    ref += sign * th
                    last = te
    return sorted(out)


@pytest.mark.parametrize("trial", range(6))
def test_emulator_equals_per_pixel_reference_model(trial):
    rng = np.random.default_rng(100 + trial)
    n, h, w = 8, 3, 4
    frames = rng.uniform(0.0, 1.0, (n, h, w)) ** 3
    times = np.cumsum(rng.integers(1, 2000, n))
    th_on, th_off = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4)
    refractory = int(rng.choice([0, 150, 900]))
    ev = emulate_dvs(
        frames, times_us=times, threshold_on=th_on, threshold_off=th_off, refractory_us=refractory
    )
    expected = _reference_pixel_model(frames, times, th_on, th_off, refractory)
    assert len(expected) > 20
    assert sorted(ev.tolist()) == expected
