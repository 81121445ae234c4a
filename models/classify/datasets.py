"""Event-data classification datasets read from a folder the user points at (no downloads).

- :class:`NMNIST`: ``root/Train/<digit>/*.bin`` and ``root/Test/<digit>/*.bin`` (the layout of
  the N-MNIST archives; folder names are matched case-insensitively).
- :class:`NCaltech101`: ``root/<class>/*.bin``; the dataset defines no split, so a fixed
  per-class split is drawn from ``seed`` (``test_fraction`` of each class).
- :class:`DVSGesture`: ``root/user*_*.aedat`` (AEDAT 3.1) with ``user*_*_labels.csv``
  (``class,startTime_usec,endTime_usec``, classes 1–11) and the official split lists
  ``trials_to_train.txt`` / ``trials_to_test.txt``; every labelled window is one sample.
- :class:`SaccadeMNIST` (in :mod:`.saccade`): the offline dataset generated from MNIST.

Samples are ``(events, label)`` with events in :data:`spikesim.sensors.events.EVENT_DTYPE`, or
``(transform(events), label)`` with a ``transform`` such as :class:`ToSpikeTensor`.
:class:`CachedSpikeTensors` stores the spike tensors of a dataset once in an HDF5 file (uint8,
compressed) and serves them from there.

Bad input raises typed errors naming the file (:mod:`.errors`); with ``on_error="skip"``
broken recordings are left out and listed in ``dataset.skipped`` as ``(path, reason)``.
``verify=True`` decodes every recording while the dataset is built (thorough, slower);
otherwise only cheap checks run then (existence, size, headers, label files).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.formats import aedat3, nmnist_bin

from spikesim._validate import check_choice, check_finite, check_int, check_positive
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_seed
from .errors import (
    ClassCountError,
    CorruptFileError,
    DatasetError,
    LabelMismatchError,
    MissingFileError,
)

__all__ = [
    "Sample",
    "EventDataset",
    "NMNIST",
    "NCaltech101",
    "DVSGesture",
    "ToSpikeTensor",
    "CachedSpikeTensors",
    "TensorDataset",
    "check_classes",
    "GESTURE_CLASSES",
]

GESTURE_CLASSES = (
    "hand_clapping",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_clockwise",
    "right_arm_counter_clockwise",
    "left_arm_clockwise",
    "left_arm_counter_clockwise",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One sample: a recording file, its class index and an optional time window [start, end)."""

    path: str
    label: int
    start_us: int | None = None
    end_us: int | None = None


def _check_on_error(on_error: str) -> str:
    if on_error not in ("raise", "skip"):
        raise ParameterError("dataset", "on_error", "'raise' or 'skip'", on_error)
    return on_error


def _check_flags(where: str, **flags: Any) -> None:
    """Boolean options are bools (a string such as "test" would be taken as true)."""
    for field, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(where, field, "True or False", v)


def _child(root: Path, name: str) -> Path | None:
    """``root/name`` matched case-insensitively (None when absent)."""
    exact = root / name
    if exact.exists():
        return exact
    if root.is_dir():
        for p in root.iterdir():
            if p.name.lower() == name.lower():
                return p
    return None


class EventDataset(torch.utils.data.Dataset):
    """Base class: a list of :class:`Sample`, class names, and the events reader."""

    sensor_size: tuple[int, int] | None = None

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        transform: Callable[[np.ndarray], Any] | None,
        on_error: str,
    ) -> None:
        self.root = Path(root)
        if transform is not None and not callable(transform):
            raise ParameterError(type(self).__name__, "transform", "None or a callable", transform)
        self.transform = transform
        self.on_error = _check_on_error(on_error)
        self.samples: list[Sample] = []
        self.classes: list[str] = []
        self.skipped: list[tuple[str, str]] = []
        if not self.root.is_dir():
            raise MissingFileError(self.root, "dataset folder not found")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def labels(self) -> np.ndarray:
        return np.asarray([s.label for s in self.samples], dtype=np.int64)

    def _problem(self, err: DatasetError) -> None:
        if self.on_error == "raise":
            raise err
        self.skipped.append((err.path, err.problem))

    def __len__(self) -> int:
        return len(self.samples)

    def read_events(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[Any, int]:
        ev = self.read_events(i)
        label = self.samples[i].label
        return (self.transform(ev) if self.transform is not None else ev), label

    def fingerprint(self) -> str:
        """A hash of the sample list (paths, sizes, windows, labels): changes when files do."""
        h = hashlib.sha256()
        for s in self.samples:
            size = os.stat(s.path).st_size if os.path.exists(s.path) else -1
            h.update(
                f"{os.path.relpath(s.path, self.root)}|{size}|{s.label}|{s.start_us}|{s.end_us}\n".encode()
            )
        return h.hexdigest()[:16]


def check_classes(dataset: Any, n_classes: int) -> None:
    """Refuse a dataset whose class count differs from the model's (names the dataset root)."""
    n_classes = check_int("check_classes", "n_classes", n_classes, minimum=1)
    k = getattr(dataset, "n_classes", None)
    if k is not None and int(k) != n_classes:
        root = getattr(dataset, "root", type(dataset).__name__)
        raise ClassCountError(
            root, f"the dataset has {k} classes but the model has {n_classes} outputs"
        )


# ---------------------------------------------------------------------------- .bin sets


def _read_bin(path: str, sensor_size: tuple[int, int] | None) -> np.ndarray:
    try:
        ev = nmnist_bin.read(path, sensor_size=None).events
    except (EventFormatError, OSError) as exc:
        raise CorruptFileError(path, f"cannot decode N-MNIST .bin recording: {exc}") from None
    if sensor_size is not None:
        w, h = sensor_size
        ev = ev[(ev["x"] < w) & (ev["y"] < h)]
    return ev


class _BinDataset(EventDataset):
    def _add_bin(self, path: Path, label: int, verify: bool) -> None:
        size = path.stat().st_size
        if size == 0:
            self._problem(CorruptFileError(path, "empty recording (0 bytes)"))
            return
        if size % 5:
            self._problem(
                CorruptFileError(
                    path,
                    f"size {size} bytes is not a multiple of the 5-byte event record (truncated?)",
                )
            )
            return
        if verify:
            try:
                _read_bin(os.fspath(path), None)
            except CorruptFileError as err:
                self._problem(err)
                return
        self.samples.append(Sample(os.fspath(path), label))

    def read_events(self, i: int) -> np.ndarray:
        return _read_bin(self.samples[i].path, self.sensor_size)


class NMNIST(_BinDataset):
    """N-MNIST (Orchard et al. 2015): ``root/Train|Test/<0..9>/*.bin``, 34×34, 10 classes."""

    sensor_size: tuple[int, int] = (34, 34)

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        train: bool = True,
        transform: Callable | None = None,
        on_error: str = "raise",
        verify: bool = False,
    ) -> None:
        _check_flags("NMNIST", train=train, verify=verify)
        super().__init__(root, transform=transform, on_error=on_error)
        split = "Train" if train else "Test"
        folder = _child(self.root, split)
        if folder is None or not folder.is_dir():
            raise MissingFileError(self.root / split, f"N-MNIST {split} folder not found")
        self.classes = [str(d) for d in range(10)]
        for d in range(10):
            cdir = folder / str(d)
            if not cdir.is_dir():
                self._problem(MissingFileError(cdir, f"N-MNIST class folder {d} not found"))
                continue
            files = sorted(cdir.glob("*.bin"))
            if not files:
                self._problem(MissingFileError(cdir, "no .bin recordings in this class folder"))
            for f in files:
                self._add_bin(f, d, verify)


class NCaltech101(_BinDataset):
    """N-Caltech101 (Orchard et al. 2015): ``root/<class>/*.bin`` (sorted class folders).

    No official split: each class's recordings are shuffled with ``seed`` and the last
    ``ceil(test_fraction * n)`` form the test set. Events beyond ``sensor_size`` (240×180)
    are dropped so every sample has one frame size.
    """

    sensor_size: tuple[int, int] = (240, 180)

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        train: bool = True,
        test_fraction: float = 0.2,
        seed: int = 0,
        transform: Callable | None = None,
        on_error: str = "raise",
        verify: bool = False,
        exclude: Sequence[str] = ("BACKGROUND_Google",),
    ) -> None:
        _check_flags("NCaltech101", train=train, verify=verify)
        check_seed("NCaltech101", seed)
        if isinstance(exclude, (str, bytes)) or not all(isinstance(e, str) for e in exclude):
            raise ParameterError(
                "NCaltech101", "exclude", "a sequence of class folder names", exclude
            )
        super().__init__(root, transform=transform, on_error=on_error)
        if not 0.0 < check_finite("NCaltech101", "test_fraction", test_fraction) < 1.0:
            raise ParameterError("NCaltech101", "test_fraction", "in (0, 1)", test_fraction)
        base = self.root
        inner = _child(self.root, "Caltech101")
        if inner is not None and inner.is_dir():
            base = inner
        dirs = sorted(p for p in base.iterdir() if p.is_dir() and p.name not in set(exclude))
        if not dirs:
            raise MissingFileError(base, "no class folders found")
        self.classes = [p.name for p in dirs]
        for label, cdir in enumerate(dirs):
            files = sorted(cdir.glob("*.bin"))
            if not files:
                self._problem(MissingFileError(cdir, "no .bin recordings in this class folder"))
                continue
            order = np.random.default_rng([seed, label]).permutation(len(files))
            n_test = int(np.ceil(test_fraction * len(files))) if len(files) > 1 else 0
            chosen = order[: len(files) - n_test] if train else order[len(files) - n_test :]
            for j in sorted(chosen.tolist()):
                self._add_bin(files[j], label, verify)


# ------------------------------------------------------------------------- DVS Gesture


def _read_trials(path: Path) -> list[str]:
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _read_labels(path: Path) -> list[tuple[int, int, int]]:
    rows = []
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != [
                "class",
                "startTime_usec",
                "endTime_usec",
            ]:
                raise CorruptFileError(
                    path, f"expected header 'class,startTime_usec,endTime_usec', found {header!r}"
                )
            for n, row in enumerate(reader, start=2):
                if not row or not "".join(row).strip():
                    continue
                if len(row) != 3:
                    raise CorruptFileError(path, f"line {n}: expected 3 fields, found {len(row)}")
                try:
                    c, a, b = (int(v) for v in row)
                except ValueError:
                    raise CorruptFileError(
                        path, f"line {n}: expected integers, found {row!r}"
                    ) from None
                if not 1 <= c <= len(GESTURE_CLASSES):
                    raise LabelMismatchError(
                        path, f"line {n}: class {c} outside 1..{len(GESTURE_CLASSES)}"
                    )
                if b <= a:
                    raise LabelMismatchError(
                        path, f"line {n}: end time {b} is not after start time {a}"
                    )
                rows.append((c - 1, a, b))
    except UnicodeDecodeError:
        raise CorruptFileError(path, "label file is not text") from None
    if not rows:
        raise LabelMismatchError(path, "label file lists no gestures")
    return rows


class DVSGesture(EventDataset):
    """IBM DVS128 Gesture (Amir et al. 2017): 11 classes, 128×128, AEDAT 3.1 + label CSVs.

    Each row of ``<trial>_labels.csv`` is one sample: the events of ``<trial>.aedat`` with
    ``startTime_usec <= t < endTime_usec``. With ``verify=True`` every recording is decoded
    and label windows that fall outside it raise :class:`LabelMismatchError`.
    """

    sensor_size: tuple[int, int] = (128, 128)

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        train: bool = True,
        transform: Callable | None = None,
        on_error: str = "raise",
        verify: bool = False,
    ) -> None:
        _check_flags("DVSGesture", train=train, verify=verify)
        super().__init__(root, transform=transform, on_error=on_error)
        base = self.root
        inner = _child(self.root, "DvsGesture")
        if inner is not None and inner.is_dir():
            base = inner
        split = "trials_to_train.txt" if train else "trials_to_test.txt"
        listing = base / split
        if not listing.is_file():
            raise MissingFileError(listing, "DVS Gesture split list not found")
        self.classes = list(GESTURE_CLASSES)
        self._cache: tuple[str, np.ndarray] | None = None
        for name in _read_trials(listing):
            rec = base / name
            lab = base / (Path(name).stem + "_labels.csv")
            if not rec.is_file():
                self._problem(MissingFileError(rec, f"recording listed in {split} not found"))
                continue
            if not lab.is_file():
                self._problem(MissingFileError(lab, f"label file of {rec.name} not found"))
                continue
            try:
                rows = _read_labels(lab)
                aedat3.probe(rec)
            except DatasetError as err:
                self._problem(err)
                continue
            except (EventFormatError, OSError) as exc:
                self._problem(CorruptFileError(rec, f"cannot read AEDAT 3.1 header: {exc}"))
                continue
            if verify:
                try:
                    ev = self._events_of(os.fspath(rec))
                except CorruptFileError as err:
                    self._problem(err)
                    continue
                t0, t1 = (int(ev["t"][0]), int(ev["t"][-1])) if len(ev) else (0, -1)
                bad = [r for r in rows if r[1] > t1 or r[2] <= t0]
                if bad:
                    self._problem(
                        LabelMismatchError(
                            lab,
                            f"{len(bad)} label window(s) outside the recording {rec.name} "
                            f"(events span {t0}..{t1} us), first: {bad[0][1]}..{bad[0][2]}",
                        )
                    )
                    continue
            for c, a, b in rows:
                self.samples.append(Sample(os.fspath(rec), c, a, b))

    def _events_of(self, path: str) -> np.ndarray:
        if self._cache is not None and self._cache[0] == path:
            return self._cache[1]
        try:
            ev = aedat3.read(path).events
        except (EventFormatError, OSError) as exc:
            raise CorruptFileError(path, f"cannot decode AEDAT 3.1 recording: {exc}") from None
        self._cache = (path, ev)
        return ev

    def read_events(self, i: int) -> np.ndarray:
        s = self.samples[i]
        ev = self._events_of(s.path)
        t = ev["t"]  # a window bound of None leaves that side open
        lo = 0 if s.start_us is None else int(np.searchsorted(t, s.start_us))
        hi = len(t) if s.end_us is None else int(np.searchsorted(t, s.end_us))
        return ev[lo:hi].copy()


# ------------------------------------------------------------------ tensors and caching


class ToSpikeTensor:
    """Events → spikes ``[n_steps, 2, H, W]`` (uint8 by default) over a fixed duration.

    Time: ``n_steps`` bins of ``duration_us / n_steps`` from the first event (events after
    ``duration_us`` are dropped). Space: coordinates divided by ``downsample``. ``mode``
    ``"binary"`` (a pixel spikes once per step at most) or ``"count"``.
    """

    def __init__(
        self,
        *,
        sensor_size: tuple[int, int],
        n_steps: int,
        duration_us: float,
        downsample: int = 1,
        mode: str = "binary",
        dtype: torch.dtype = torch.uint8,
    ) -> None:
        where = "ToSpikeTensor"
        if (
            isinstance(sensor_size, (str, bytes))
            or not isinstance(sensor_size, (tuple, list, np.ndarray))
            or len(sensor_size) != 2
        ):
            raise ParameterError(where, "sensor_size", "(width, height)", sensor_size)
        self.sensor_size = (
            check_int(where, "sensor_size", sensor_size[0], minimum=1),
            check_int(where, "sensor_size", sensor_size[1], minimum=1),
        )
        self.n_steps = check_int(where, "n_steps", n_steps, minimum=1)
        self.duration_us = check_positive(where, "duration_us", duration_us)
        self.downsample = check_int(where, "downsample", downsample, minimum=1)
        self.mode = check_choice(where, "mode", mode, ("binary", "count"))
        if not isinstance(dtype, torch.dtype) or dtype.is_complex:
            raise ParameterError(where, "dtype", "a real torch dtype (torch.uint8, ...)", dtype)
        self.dtype = dtype
        w, h = self.sensor_size
        self.out_size = (-(-w // self.downsample), -(-h // self.downsample))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        w, h = self.out_size
        return (self.n_steps, 2, h, w)

    def __repr__(self) -> str:
        return (
            f"ToSpikeTensor(sensor_size={self.sensor_size}, n_steps={self.n_steps}, duration_us={self.duration_us}, "
            f"downsample={self.downsample}, mode={self.mode!r}, dtype={self.dtype})"
        )

    def __call__(self, events: np.ndarray) -> torch.Tensor:
        from spikesim.sensors.representations import spike_tensor

        ev = np.asarray(events)
        if ev.dtype.names is None or not {"t", "x", "y", "p"} <= set(ev.dtype.names):
            raise ParameterError(
                "ToSpikeTensor",
                "events",
                "a structured event array with fields t, x, y, p",
                f"an array of dtype {ev.dtype} and shape {ev.shape}",
            )
        if self.downsample > 1 and len(ev):
            ev = ev.copy()
            ev["x"] //= self.downsample
            ev["y"] //= self.downsample
        t0 = int(ev["t"].min()) if len(ev) else 0
        return spike_tensor(
            ev,
            sensor_size=self.out_size,
            dt_us=self.duration_us / self.n_steps,
            n_steps=self.n_steps,
            t_start_us=t0,
            mode=self.mode,
            dtype=self.dtype,
        )


class TensorDataset(torch.utils.data.Dataset):
    """In-memory spike tensors ``x [N, T, ...]`` with labels ``y [N]``.

    With ``packed=True`` binary spikes are kept bit-packed (8 per byte, ``np.packbits`` of each
    flattened sample) and unpacked to uint8 per sample.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        classes: Sequence[str] | None = None,
        packed: bool = False,
    ) -> None:
        w = "TensorDataset"
        for field, t in (("x", x), ("y", y)):
            if not isinstance(t, torch.Tensor):
                raise ParameterError(w, field, "a torch.Tensor", type(t).__name__)
        if x.ndim < 1 or x.shape[0] < 1:
            raise ParameterError(w, "x", "at least one sample [N >= 1, ...]", tuple(x.shape))
        if y.ndim != 1:
            raise ShapeError(w, "y", (x.shape[0],), tuple(y.shape))
        if x.shape[0] != y.shape[0]:
            raise ParameterError(w, "y", f"{x.shape[0]} labels", y.shape[0])
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ParameterError(w, "y.dtype", "an integer dtype (class indices)", y.dtype)
        if int(y.min()) < 0:
            raise ParameterError(w, "y", "class indices >= 0", int(y.min()))
        if classes is not None and int(y.max()) >= len(classes):
            raise ParameterError(
                w, "y", f"class indices < len(classes) = {len(classes)}", int(y.max())
            )
        self.shape = tuple(x.shape[1:])
        self.packed = bool(packed)
        if self.packed:
            arr = x.numpy()
            bad = arr[(arr != 0) & (arr != 1)] if arr.size else arr[:0]
            if bad.size:
                raise ParameterError(
                    "TensorDataset", "x", "binary spikes (0/1) when packed", bad.flat[0].item()
                )
            flat = arr.astype(np.uint8).reshape(arr.shape[0], -1)
            self.x = torch.from_numpy(np.packbits(flat, axis=1))
        else:
            self.x = x
        self.y = y.to(torch.int64)
        self.classes = (
            list(classes) if classes is not None else [str(i) for i in range(int(y.max()) + 1)]
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def labels(self) -> np.ndarray:
        return self.y.numpy()

    @property
    def nbytes(self) -> int:
        return int(self.x.numel() * self.x.element_size())

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.packed:
            x = np.unpackbits(self.x[i].numpy(), count=int(np.prod(self.shape)))
            return torch.from_numpy(x.reshape(self.shape)), self.y[i]
        return self.x[i], self.y[i]


class CachedSpikeTensors(torch.utils.data.Dataset):
    """Spike tensors of an event dataset, computed once and kept in an HDF5 file.

    The file holds ``x`` ``[N, T, P, H, W]`` uint8 (gzip, one chunk per sample), ``y`` and
    the key (dataset fingerprint + transform) in its attributes; a file with another key is
    rebuilt. Items are read lazily (the file is opened once per process).
    """

    def __init__(
        self,
        dataset: EventDataset,
        path: str | os.PathLike,
        *,
        transform: ToSpikeTensor,
        progress: bool = False,
    ) -> None:
        import h5py

        w = "CachedSpikeTensors"
        if not isinstance(transform, ToSpikeTensor):
            raise ParameterError(w, "transform", "a ToSpikeTensor", type(transform).__name__)
        if not isinstance(dataset, EventDataset):
            raise ParameterError(w, "dataset", "an event dataset", type(dataset).__name__)
        if not isinstance(path, (str, os.PathLike)) or Path(path).is_dir():
            raise ParameterError(w, "path", "an HDF5 file path (not a folder)", path)
        self.path = Path(path)
        self.classes = list(dataset.classes)
        self.skipped = list(getattr(dataset, "skipped", []))
        self.root = getattr(dataset, "root", self.path)
        key = json.dumps(
            {
                "dataset": type(dataset).__name__,
                "fingerprint": dataset.fingerprint(),
                "transform": repr(transform),
            }
        )
        ok = False
        if self.path.exists():
            try:
                with h5py.File(self.path, "r") as f:
                    ok = f.attrs.get("key") == key and f.attrs.get("complete", False)
            except OSError:
                ok = False
        if not ok:
            self._build(dataset, transform, key, progress)
        with h5py.File(self.path, "r") as f:
            self._n = int(f["y"].shape[0])
            self.labels = f["y"][:].astype(np.int64)
        self._file: Any = None
        self._pid = -1

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def _build(
        self, dataset: EventDataset, transform: ToSpikeTensor, key: str, progress: bool
    ) -> None:
        import h5py

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        shape = transform.shape
        it = range(len(dataset))
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc=f"caching {self.path.name}", unit="sample")
        with h5py.File(tmp, "w") as f:
            x = f.create_dataset(
                "x",
                shape=(len(dataset), *shape),
                dtype="u1",
                chunks=(1, *shape),
                compression="gzip",
                compression_opts=1,
            )
            y = f.create_dataset("y", shape=(len(dataset),), dtype="i8")
            for i in it:
                ev = dataset.read_events(i)
                x[i] = transform(ev).to(torch.uint8).numpy()
                y[i] = dataset.samples[i].label
            f.attrs["key"] = key
            f.attrs["complete"] = True
        os.replace(tmp, self.path)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        import h5py

        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return torch.from_numpy(self._file["x"][i]), int(self.labels[i])

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["_file"] = None
        return d

    def to_memory(self) -> TensorDataset:
        """Load every tensor (uint8) into memory."""
        import h5py

        with h5py.File(self.path, "r") as f:
            x = torch.from_numpy(f["x"][:])
        return TensorDataset(x, torch.from_numpy(self.labels), classes=self.classes)
