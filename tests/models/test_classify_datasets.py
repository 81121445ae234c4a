"""Classification datasets on folders generated in tmp_path plus the real shared sample files.

N-MNIST/N-Caltech101 recordings are written with sensors' own N-MNIST writer. The sensors
package has no AEDAT 3.1 writer, and no public DVS128 Gesture .aedat sample exists (the shared
folder holds only a real label CSV), so AEDAT 3.1 files are written here by a small helper that
follows the format specification (28-byte packet header, 8-byte polarity events).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from spikesim.models.classify import (
    NMNIST,
    CachedSpikeTensors,
    ClassCountError,
    CorruptFileError,
    DVSGesture,
    LabelMismatchError,
    MissingFileError,
    NCaltech101,
    ToSpikeTensor,
    check_classes,
)
from spikesim.sensors.events import EVENT_DTYPE, make_events
from spikesim.sensors.formats import aedat3, nmnist_bin


def _events(rng: np.random.Generator, n: int, w: int, h: int, t0: int, t1: int) -> np.ndarray:
    t = np.sort(rng.integers(t0, t1, n))
    return make_events(t, rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n))


def write_aedat31(path: Path, events: np.ndarray, *, per_packet: int = 500) -> None:
    """AEDAT 3.1 per the specification: header lines, then type-1 polarity packets."""
    with open(path, "wb") as f:
        f.write(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n")
        for i in range(0, len(events), per_packet):
            ev = events[i : i + per_packet]
            n = len(ev)
            overflow = int(ev["t"][0]) >> 31
            f.write(struct.pack("<hhiiiiii", 1, 1, 8, 4, overflow, n, n, n))
            data = (
                1
                | (ev["p"].astype(np.uint32) << 1)
                | (ev["y"].astype(np.uint32) << 2)
                | (ev["x"].astype(np.uint32) << 17)
            )
            rec = np.empty(n, dtype=[("d", "<u4"), ("t", "<i4")])
            rec["d"] = data
            rec["t"] = (ev["t"] & 0x7FFFFFFF).astype(np.int32)
            f.write(rec.tobytes())


def _nmnist_tree(root: Path, n_per_class: int = 2, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        for d in range(10):
            cdir = root / split / str(d)
            cdir.mkdir(parents=True)
            for k in range(n_per_class):
                nmnist_bin.write(cdir / f"{k:05d}.bin", _events(rng, 200 + d, 34, 34, 0, 300_000))


def test_nmnist_reads_layout_and_real_sample(tmp_path: Path, dvs_dir: Path) -> None:
    _nmnist_tree(tmp_path)
    real = dvs_dir / "nmnist_bin" / "tonic_sample_nmnist.bin"
    shutil.copy(real, tmp_path / "Train" / "3" / "99999.bin")
    ds = NMNIST(tmp_path, train=True)
    assert len(ds) == 21 and ds.n_classes == 10
    assert np.bincount(ds.labels).tolist() == [2, 2, 2, 3, 2, 2, 2, 2, 2, 2]
    ev, label = ds[len(ds) - 1 - 2 * 6]  # last file of class 3 is the real recording
    ref = json.loads((dvs_dir / "reference.json").read_text())["files"][
        "nmnist_bin/tonic_sample_nmnist.bin"
    ]
    assert label == 3 and ev.dtype == EVENT_DTYPE
    assert (
        len(ev) == ref["n_events"]
        and int(ev["t"][0]) == ref["t_first"]
        and int(ev["t"][-1]) == ref["t_last"]
    )
    assert int((ev["p"] == 1).sum()) == ref["n_on"]
    test = NMNIST(tmp_path, train=False)
    assert len(test) == 20 and test[5][1] == 2 and len(test[5][0]) == 202
    # spike tensor of the real sample: 2 polarities x 34 x 34, every event lands in a step
    tf = ToSpikeTensor(sensor_size=(34, 34), n_steps=10, duration_us=320_000, mode="count")
    x = tf(ev)
    assert x.shape == (10, 2, 34, 34) and x.dtype == torch.uint8
    assert int(x.sum()) == ref["n_events"]
    assert int(x[:, 1].sum()) == ref["n_on"]


def test_nmnist_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nowhere"):
        NMNIST(tmp_path / "nowhere")
    with pytest.raises(MissingFileError, match="Train"):
        NMNIST(tmp_path)
    _nmnist_tree(tmp_path)
    bad = tmp_path / "Train" / "4" / "00001.bin"
    bad.write_bytes(bad.read_bytes()[:-2])  # truncated record
    shutil.rmtree(tmp_path / "Train" / "7")
    with pytest.raises(CorruptFileError, match="00001.bin"):
        NMNIST(tmp_path)
    ds = NMNIST(tmp_path, on_error="skip")
    assert len(ds) == 20 - 1 - 2
    reasons = dict(ds.skipped)
    assert str(bad) in reasons and "multiple of the 5-byte" in reasons[str(bad)]
    assert str(tmp_path / "Train" / "7") in reasons
    with pytest.raises(ValueError, match="on_error"):
        NMNIST(tmp_path, on_error="ignore")


def test_ncaltech_split_is_fixed_and_disjoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for c, n in (("accordion", 5), ("airplanes", 7), ("BACKGROUND_Google", 3)):
        (tmp_path / c).mkdir()
        for k in range(n):
            nmnist_bin.write(
                tmp_path / c / f"image_{k:04d}.bin", _events(rng, 50, 240, 180, 0, 200_000)
            )
    tr, te = NCaltech101(tmp_path, train=True), NCaltech101(tmp_path, train=False)
    assert tr.classes == ["accordion", "airplanes"]
    assert (len(tr), len(te)) == (4 + 5, 1 + 2)
    assert not {s.path for s in tr.samples} & {s.path for s in te.samples}
    assert [s.path for s in NCaltech101(tmp_path, train=False).samples] == [
        s.path for s in te.samples
    ]
    other = NCaltech101(tmp_path, train=False, seed=3)
    assert [s.path for s in other.samples] != [s.path for s in te.samples]
    ev, label = te[0]
    assert len(ev) == 50 and label == 0


def _gesture_tree(root: Path, dvs_dir: Path) -> np.ndarray:
    """Two trials: user01_natural (the real label CSV) and user02_led (a short one)."""
    rng = np.random.default_rng(2)
    ev1 = _events(rng, 6000, 128, 128, 50_000_000, 180_000_000)
    write_aedat31(root / "user01_natural.aedat", ev1)
    shutil.copy(
        dvs_dir / "dvs_gesture" / "user01_natural_labels.csv", root / "user01_natural_labels.csv"
    )
    ev2 = _events(rng, 3000, 128, 128, 1_000_000, 4_000_000)
    write_aedat31(root / "user02_led.aedat", ev2)
    (root / "user02_led_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n11,1000000,2500000\n4,2500000,4000000\n"
    )
    (root / "trials_to_train.txt").write_text("user01_natural.aedat\n")
    (root / "trials_to_test.txt").write_text("user02_led.aedat\n")
    return ev1


def test_dvs_gesture_windows_from_label_csv(tmp_path: Path, dvs_dir: Path) -> None:
    ev1 = _gesture_tree(tmp_path, dvs_dir)
    ds = DVSGesture(tmp_path, train=True, verify=True)
    assert len(ds) == 12 and ds.n_classes == 11
    assert ds.labels.tolist() == [0, 1, 2, 4, 3, 5, 6, 7, 7, 8, 9, 10]
    ev, label = ds[3]
    assert label == 4
    inside = (ev1["t"] >= 87200306) & (ev1["t"] < 97835393)
    assert len(ev) == int(inside.sum()) > 0
    assert np.array_equal(ev, ev1[inside])
    te = DVSGesture(tmp_path, train=False)
    assert te.labels.tolist() == [10, 3]
    tf = ToSpikeTensor(
        sensor_size=(128, 128), n_steps=8, duration_us=1_500_000, downsample=4, mode="count"
    )
    x = tf(te[0][0])
    assert x.shape == (8, 2, 32, 32) and int(x.sum()) == len(te[0][0])


def test_dvs_gesture_sample_window_bound_none_is_open(tmp_path: Path, dvs_dir: Path) -> None:
    # Sample documents its window as optional; a None bound used to reach np.searchsorted
    # and fail with "TypeError: '<' not supported between ... 'NoneType'"
    _gesture_tree(tmp_path, dvs_dir)
    te = DVSGesture(tmp_path, train=False)  # user02_led: [1.0 s, 2.5 s) and [2.5 s, 4.0 s)
    full = aedat3.read(tmp_path / "user02_led.aedat").events
    te.samples[0] = dataclasses.replace(te.samples[0], start_us=None)
    te.samples[1] = dataclasses.replace(te.samples[1], end_us=None)
    before, after = te.read_events(0), te.read_events(1)
    assert np.array_equal(before, full[full["t"] < 2_500_000])
    assert np.array_equal(after, full[full["t"] >= 2_500_000])
    assert len(before) + len(after) == len(full) == 3000


def test_dvs_gesture_bad_labels(tmp_path: Path, dvs_dir: Path) -> None:
    _gesture_tree(tmp_path, dvs_dir)
    lab = tmp_path / "user02_led_labels.csv"
    lab.write_text("class,startTime_usec,endTime_usec\n12,1000000,2500000\n")
    with pytest.raises(LabelMismatchError, match="user02_led_labels.csv.*class 12"):
        DVSGesture(tmp_path, train=False)
    lab.write_text("class,startTime_usec,endTime_usec\n3,9000000,9500000\n")
    DVSGesture(tmp_path, train=False)  # cheap checks cannot see the window
    with pytest.raises(LabelMismatchError, match="outside the recording user02_led.aedat"):
        DVSGesture(tmp_path, train=False, verify=True)
    lab.write_text("cls,start,end\n3,1,2\n")
    with pytest.raises(CorruptFileError, match="user02_led_labels.csv"):
        DVSGesture(tmp_path, train=False)
    lab.unlink()
    with pytest.raises(MissingFileError, match="user02_led_labels.csv"):
        DVSGesture(tmp_path, train=False)
    (tmp_path / "trials_to_test.txt").write_text("user02_led.aedat\nuser03_fluorescent.aedat\n")
    ds = DVSGesture(tmp_path, train=False, on_error="skip")
    assert len(ds) == 0
    assert {Path(p).name for p, _ in ds.skipped} == {
        "user02_led_labels.csv",
        "user03_fluorescent.aedat",
    }
    (tmp_path / "user01_natural.aedat").write_bytes(b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n")
    with pytest.raises(CorruptFileError, match="user01_natural.aedat"):
        DVSGesture(tmp_path, train=True)


def test_cached_spike_tensors(tmp_path: Path) -> None:
    _nmnist_tree(tmp_path / "nm", n_per_class=1)
    ds = NMNIST(tmp_path / "nm", train=False)
    tf = ToSpikeTensor(sensor_size=(34, 34), n_steps=6, duration_us=300_000)
    cache = CachedSpikeTensors(ds, tmp_path / "c.h5", transform=tf)
    mtime = os.stat(tmp_path / "c.h5").st_mtime_ns
    assert len(cache) == 10 and cache.n_classes == 10
    for i in (0, 7):
        x, y = cache[i]
        assert x.dtype == torch.uint8 and x.shape == (6, 2, 34, 34)
        assert torch.equal(x, tf(ds[i][0])) and y == ds.samples[i].label
    CachedSpikeTensors(ds, tmp_path / "c.h5", transform=tf)
    assert os.stat(tmp_path / "c.h5").st_mtime_ns == mtime  # reused
    tf2 = ToSpikeTensor(sensor_size=(34, 34), n_steps=4, duration_us=300_000)
    c2 = CachedSpikeTensors(ds, tmp_path / "c.h5", transform=tf2)
    assert c2[0][0].shape == (4, 2, 34, 34)  # rebuilt for the new transform
    mem = c2.to_memory()
    assert torch.equal(mem[3][0], c2[3][0])
    check_classes(cache, 10)
    with pytest.raises(ClassCountError, match="11 outputs"):
        check_classes(cache, 11)
