"""The offline event dataset: saccade recordings generated from the MNIST test set.

N-MNIST was made by moving MNIST digits in front of an event camera along three saccades;
:func:`spikesim.sensors.synthetic.saccade_events` emulates that (34×34 sensor, 300 ms). This
module turns the 10,000 MNIST test images in a folder (``t10k-images-idx3-ubyte[.gz]`` and
``t10k-labels-idx1-ubyte[.gz]``) into a dataset with a fixed split: images 0–7999 are the
training pool, 8000–9999 the test pool; ``n_train`` / ``n_test`` take the first images of each
pool (reduced sizes for CI). Image i is recorded with seed ``seed + i``, so a sample does not
depend on the sizes chosen.

Generated events are cached in an HDF5 file per split (``cache_dir``), keyed by the generator
settings; :meth:`SaccadeMNIST.tensors` bins them into compact spike tensors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spikesim.sensors.events import EVENT_DTYPE

from spikesim._validate import check_int
from spikesim.errors import ParameterError

from .._checks import check_seed
from .datasets import EventDataset, Sample, TensorDataset, ToSpikeTensor
from .errors import CorruptFileError, MissingFileError

__all__ = ["SaccadeMNIST", "POOL_TRAIN", "POOL_TEST", "find_mnist_files", "SACCADE_OPTIONS"]

POOL_TRAIN = (0, 8000)
POOL_TEST = (8000, 10000)
#: generator settings (N-MNIST geometry; 10 ms screen frames, events interpolated in between)
SACCADE_OPTIONS: dict[str, Any] = {"frame_dt_us": 10_000}
DURATION_US = 300_000


def find_mnist_files(folder: str | os.PathLike) -> tuple[Path, Path]:
    """The MNIST test-set image and label IDX files in ``folder`` (gzip or raw)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(folder, "MNIST folder not found")
    found = []
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                found.append(folder / name)
                break
        else:
            raise MissingFileError(
                folder / (stem + ".gz"), "MNIST test-set file not found (gzip or raw)"
            )
    return found[0], found[1]


def _record(args: tuple[np.ndarray, int, dict[str, Any]]) -> np.ndarray:
    from spikesim.sensors.synthetic import saccade_events

    image, seed, options = args
    return saccade_events(image, seed=seed, **options)


class SaccadeMNIST(EventDataset):
    """Saccade-style N-MNIST-like recordings of MNIST test digits (10 classes, 34×34).

    Parameters
    ----------
    mnist_dir: folder with the MNIST test-set IDX files.
    train: the training pool (images 0–7999) or the test pool (8000–9999).
    n: how many images of the pool (default: all of it).
    seed: recording seeds are ``seed + image index``.
    cache_dir: where the events are cached (HDF5); None keeps them in memory only.
    workers: processes used to generate missing recordings.
    """

    sensor_size = (34, 34)

    def __init__(
        self,
        mnist_dir: str | os.PathLike,
        *,
        train: bool = True,
        n: int | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        workers: int = 1,
        transform: Callable | None = None,
        progress: bool = False,
    ) -> None:
        if not isinstance(train, bool) or not isinstance(progress, bool):
            bad = ("train", train) if not isinstance(train, bool) else ("progress", progress)
            raise ParameterError("SaccadeMNIST", bad[0], "True or False", bad[1])
        images_path, labels_path = find_mnist_files(mnist_dir)
        super().__init__(Path(mnist_dir), transform=transform, on_error="raise")
        lo, hi = POOL_TRAIN if train else POOL_TEST
        n = hi - lo if n is None else check_int("SaccadeMNIST", "n", n, minimum=1)
        if not 1 <= n <= hi - lo:
            raise ParameterError("SaccadeMNIST", "n", f"in [1, {hi - lo}]", n)
        seed = check_seed("SaccadeMNIST", seed)
        workers = check_int("SaccadeMNIST", "workers", workers, minimum=1)
        from spikesim.sensors.errors import EventFormatError
        from spikesim.sensors.synthetic import load_mnist_idx

        try:
            images, labels = load_mnist_idx(images_path, labels_path)
        except EventFormatError as exc:
            raise CorruptFileError(
                exc.path or images_path, f"cannot read MNIST IDX data: {exc.reason}"
            ) from None
        if images.shape[0] < hi:
            raise CorruptFileError(
                images_path,
                f"expected the 10,000-image MNIST test set, found {images.shape[0]} images",
            )
        self.classes = [str(d) for d in range(10)]
        self.indices = np.arange(lo, lo + n)
        self.seed = int(seed)
        self.samples = [Sample(os.fspath(images_path), int(labels[i])) for i in self.indices]
        key = json.dumps(
            {"seed": self.seed, "options": SACCADE_OPTIONS, "version": 1}, sort_keys=True
        )
        self._events = self._load_or_generate(
            images, key, cache_dir, "train" if train else "test", workers, progress
        )

    def _load_or_generate(
        self, images: np.ndarray, key: str, cache_dir: Any, split: str, workers: int, progress: bool
    ) -> list[np.ndarray]:
        import h5py

        have: dict[int, np.ndarray] = {}
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"saccade_mnist_{split}.h5"
            if path.exists():
                try:
                    with h5py.File(path, "r") as f:
                        if f.attrs.get("key") == key:
                            idx, off, ev = f["index"][:], f["offsets"][:], f["events"][:]
                            for j, i in enumerate(idx.tolist()):
                                have[i] = ev[off[j] : off[j + 1]]
                except OSError:
                    have = {}
        todo = [int(i) for i in self.indices if int(i) not in have]
        if todo:
            jobs = [(images[i], self.seed + i, SACCADE_OPTIONS) for i in todo]
            if progress:
                from tqdm import tqdm
            it: Iterator[np.ndarray]
            if workers > 1:
                import multiprocessing as mp

                with mp.get_context("spawn").Pool(workers) as pool:
                    it = pool.imap(_record, jobs, chunksize=16)
                    if progress:
                        it = tqdm(it, total=len(jobs), desc=f"saccade MNIST {split}", unit="digit")
                    new = list(it)
            else:
                it = map(_record, jobs)
                if progress:
                    it = tqdm(it, total=len(jobs), desc=f"saccade MNIST {split}", unit="digit")
                new = list(it)
            have.update(zip(todo, new, strict=True))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                order = sorted(have)
                lens = np.asarray([len(have[i]) for i in order], dtype=np.int64)
                tmp = path.with_name(path.name + ".tmp")
                with h5py.File(tmp, "w") as f:
                    f.create_dataset("index", data=np.asarray(order, dtype=np.int64))
                    f.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(lens)]))
                    evs = (
                        np.concatenate([have[i] for i in order])
                        if order
                        else np.zeros(0, EVENT_DTYPE)
                    )
                    f.create_dataset("events", data=evs, compression="gzip", compression_opts=1)
                    f.attrs["key"] = key
                os.replace(tmp, path)
        return [have[int(i)] for i in self.indices]

    def read_events(self, i: int) -> np.ndarray:
        return self._events[i]

    def fingerprint(self) -> str:
        return f"saccade-{self.seed}-{self.indices[0]}-{len(self.indices)}-{json.dumps(SACCADE_OPTIONS, sort_keys=True)}"

    def tensors(
        self, *, n_steps: int = 20, duration_us: float = DURATION_US, mode: str = "binary"
    ) -> TensorDataset:
        """All samples as spike tensors ``[N, n_steps, 2, 34, 34]`` (uint8, bit-packed in memory)."""
        tf = ToSpikeTensor(
            sensor_size=self.sensor_size, n_steps=n_steps, duration_us=duration_us, mode=mode
        )
        x = torch.stack([tf(ev) for ev in self._events])
        y = torch.as_tensor(self.labels, dtype=torch.int64)
        out = TensorDataset(x, y, classes=self.classes, packed=(mode == "binary"))
        out.root = self.root  # type: ignore[attr-defined]  # named by errors
        return out
