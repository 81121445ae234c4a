"""Sequence tasks of the wave-RNN paper: adding, copy, sequential and permuted sequential MNIST.

Every task draws its batches from an explicit ``torch.Generator`` (same seed -> same batches) and
returns time-first tensors ``x`` ``(T, batch, n_inp)`` and targets.

* Adding (Hochreiter & Schmidhuber 1997; Le et al. 2015): two input channels, values
  ``U[0, 1]`` and a marker that is 1 at one random step of each half of the sequence; the target
  is the sum of the two marked values (MSE; "solved" at MSE <= 0.05, the paper's threshold; the
  trivial answer 1.0 scores ~0.167).
* Copy: ten tokens from 1..8 (one-hot over 10 symbols), ``T`` blank steps (symbol 0), the
  delimiter 9, then ten recall steps on which the ten tokens must be output in order. Length
  ``T + 21``; the target is a symbol at every step (0 everywhere except the recall steps); loss is
  the cross-entropy per step, averaged over all steps (the official code's objective, without its
  extra division by the batch size).
* sMNIST / psMNIST: the 784 pixels of a 28x28 digit fed one per step (scaled to [0, 1]), in
  raster order or in a fixed random permutation; classify at the last step. The data are the
  MNIST *test set* (10,000 images, ``t10k-*``) split into a fixed train/test partition
  (:func:`load_mnist_split`), because that is the only MNIST data available here; accuracies are
  therefore not comparable one-to-one with the paper's (trained on the 60,000 training images).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from numpy.typing import DTypeLike

from spikesim._validate import check_int
from spikesim.errors import ParameterError, ShapeError

from .._checks import (
    check_device,
    check_fits,
    check_float_dtype,
    check_generator,
    check_seed,
    finite_array,
)

__all__ = [
    "adding_batch",
    "copy_batch",
    "copy_metrics",
    "COPY_TOKENS",
    "read_idx",
    "load_mnist_split",
    "MNISTSequences",
]

COPY_TOKENS = 10  # tokens to remember in the copy task
ADDING_SOLVED_MSE = 0.05


def _check_int(where: str, field: str, value: object, minimum: int) -> int:
    return check_int(where, field, value, minimum=minimum)


def _check_batch_args(
    where: str, generator: object, device: object, dtype: object, n_values: float
) -> None:
    """An explicit torch.Generator, a device and float dtype torch knows, a batch that fits."""
    if generator is None:
        raise ParameterError(where, "generator", "a torch.Generator (explicit seed)", None)
    check_generator(where, generator)
    check_device(where, device)
    dtype = check_float_dtype(where, "dtype", dtype)
    itemsize = torch.finfo(dtype).bits // 8
    check_fits(where, "batch", n_values * itemsize, f"{n_values:.3g} values")


def adding_batch(
    T: int,
    batch: int,
    *,
    generator: torch.Generator,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of the adding task: ``x`` ``(T, batch, 2)``, target ``(batch, 1)``."""
    T = _check_int("adding task", "T", T, 2)
    batch = _check_int("adding task", "batch", batch, 1)
    _check_batch_args("adding task", generator, device, dtype, float(T) * batch * 4)
    values = torch.rand(T, batch, generator=generator, dtype=dtype)
    half = T // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, T, (batch,), generator=generator)
    marks = torch.zeros(T, batch, dtype=dtype)
    cols = torch.arange(batch)
    marks[first, cols] = 1.0
    marks[second, cols] = 1.0
    x = torch.stack([values, marks], dim=-1)
    y = (values * marks).sum(0, keepdim=False)[:, None]
    return x.to(device), y.to(device)


def copy_batch(
    T: int,
    batch: int,
    *,
    generator: torch.Generator,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of the copy task with ``T`` blank steps.

    Returns ``x`` ``(T + 21, batch, 10)`` one-hot and targets ``(T + 21, batch)`` int64 symbols.
    """
    T = _check_int("copy task", "T", T, 0)
    batch = _check_int("copy task", "batch", batch, 1)
    _check_batch_args("copy task", generator, device, dtype, (T + 21.0) * batch * 13)
    m = COPY_TOKENS
    length = T + 2 * m + 1
    sym = torch.zeros(length, batch, dtype=torch.int64)
    tokens = torch.randint(1, 9, (m, batch), generator=generator)
    sym[:m] = tokens
    sym[m + T] = 9
    target = torch.zeros(length, batch, dtype=torch.int64)
    target[-m:] = tokens
    x = torch.nn.functional.one_hot(sym, 10).to(dtype)
    return x.to(device), target.to(device)


def copy_metrics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Cross-entropy per step (all steps) and accuracy on the ten recall steps."""
    for name, t in (("logits", logits), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise ParameterError("copy task", name, "a torch.Tensor", type(t).__name__)
    if target.dtype != torch.int64:
        raise ParameterError("copy task", "target.dtype", "torch.int64 symbols", target.dtype)
    if target.numel() and (int(target.min()) < 0 or int(target.max()) > 9):
        found = (int(target.min()), int(target.max()))
        raise ParameterError("copy task", "target", "symbols in [0, 9]", found)
    if logits.ndim != 3 or logits.shape[:2] != target.shape or logits.shape[2] != 10:
        raise ShapeError("copy task", "logits", (*target.shape, 10), tuple(logits.shape))
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), target.reshape(-1))
    rec = logits[-COPY_TOKENS:].argmax(-1) == target[-COPY_TOKENS:]
    return {"ce": float(ce), "recall_accuracy": float(rec.float().mean())}


# ----------------------------------------------------------------------------------- MNIST


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) as a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ParameterError("read_idx", "path", "an existing IDX file", str(path)) from None
    except (OSError, EOFError) as exc:  # a folder, a damaged gzip stream
        raise ParameterError(
            "read_idx", "path", f"a readable IDX file ({exc})", str(path)
        ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ParameterError("read_idx", "path", "an IDX file (magic 0x0000)", str(path))
    dtypes: dict[int, DTypeLike] = {
        0x08: np.uint8,
        0x09: np.int8,
        0x0B: ">i2",
        0x0C: ">i4",
        0x0D: ">f4",
        0x0E: ">f8",
    }
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise ParameterError("read_idx", "type code", f"one of {sorted(dtypes)}", code)
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=dtypes[code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ShapeError("read_idx", str(path), dims, (arr.size,))
    return arr.reshape(dims)


def load_mnist_split(
    mnist_dir: str | Path, *, n_test: int = 2000, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The MNIST test set (``t10k-*``) split into a fixed (train, test) partition.

    The split is a permutation drawn from ``seed``; ``n_test`` images are held out, the rest
    (``10000 - n_test``) are for training. Images are float32 in [0, 1], shape ``(N, 784)``.
    """
    d = Path(mnist_dir)
    images = read_idx(d / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    labels = read_idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ShapeError("load_mnist_split", "labels", (images.shape[0],), labels.shape)
    n_test = _check_int("load_mnist_split", "n_test", n_test, 1)
    if n_test >= images.shape[0]:
        raise ParameterError("load_mnist_split", "n_test", f"< {images.shape[0]}", n_test)
    order = np.random.default_rng(check_seed("load_mnist_split", seed)).permutation(images.shape[0])
    te, tr = order[:n_test], order[n_test:]
    return (images[tr], labels[tr]), (images[te], labels[te])


class MNISTSequences:
    """Pixel-by-pixel MNIST batches, raster order (sMNIST) or a fixed permutation (psMNIST)."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        permute: bool = False,
        permutation_seed: int = 0,
        pixels_per_step: int = 1,
    ) -> None:
        w = "MNISTSequences"
        images = finite_array(w, "images", images).astype(np.float32)
        if images.ndim != 2 or images.shape[1] != 784 or images.shape[0] < 1:
            raise ShapeError(w, "images", ("N >= 1", 784), images.shape)
        lab = np.asarray(labels)
        if lab.shape != (images.shape[0],):
            raise ShapeError(w, "labels", (images.shape[0],), lab.shape)
        if lab.dtype.kind == "f" and np.all(np.isfinite(lab)) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        if lab.dtype.kind not in "iu" or lab.min() < 0 or lab.max() > 9:
            found = lab.dtype if lab.dtype.kind not in "iu" else (int(lab.min()), int(lab.max()))
            raise ParameterError(w, "labels", "integer digit classes in [0, 9]", found)
        check_seed(w, permutation_seed, "permutation_seed")
        self.pixels_per_step = _check_int("MNISTSequences", "pixels_per_step", pixels_per_step, 1)
        if 784 % self.pixels_per_step:
            raise ParameterError(
                "MNISTSequences", "pixels_per_step", "a divisor of 784", pixels_per_step
            )
        perm = (
            np.random.default_rng(permutation_seed).permutation(784) if permute else np.arange(784)
        )
        self.permutation = perm
        self.images = torch.as_tensor(images[:, perm])
        self.labels = torch.as_tensor(lab.astype(np.int64))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def sequences(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(784 / pixels_per_step, batch, pixels_per_step)`` and labels ``(batch,)``."""
        img = self.images[idx]
        x = img.reshape(img.shape[0], -1, self.pixels_per_step).permute(1, 0, 2).contiguous()
        return x, self.labels[idx]

    def batch(self, batch: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        batch = _check_int("MNISTSequences", "batch", batch, 1)
        check_generator("MNISTSequences", generator)
        idx = torch.randint(0, len(self), (batch,), generator=generator)
        return self.sequences(idx)
