"""Configured classification runs: datasets + classifier + :func:`spikesim.training.train`.

A run is described by a TOML file (``spikesim train CONFIG.toml``) or the same dict::

    [data]
    kind = "saccade_mnist"        # or "nmnist", "ncaltech101", "dvs_gesture"
    path = "../shared/data/mnist" # the folder the user points at (relative to the file)
    n_train = 600                 # saccade_mnist only (pools of 8000 / 2000)
    n_test = 200
    n_steps = 16                  # time steps per sample
    duration_us = 300000          # recording time binned into n_steps
    downsample = 1                # spatial (dvs_gesture: 4 gives 32x32)
    cache_dir = "cache"           # optional: events / spike tensors cached here (HDF5)
    on_error = "raise"            # or "skip" (broken recordings left out and reported)

    [model]
    kind = "conv"                 # or "dense"
    n_classes = 10                # optional; must match the dataset
    readout = "count"
    # builder options: channels, hidden, kernel_size, stride, tau_syn_s, tau_mem_s, v_th, ...

    [train]
    epochs = 3
    batch_size = 20
    lr = 5e-3
    seed = 0
    out_dir = "runs/saccade"      # metrics.csv, checkpoint.pt, confusion.png, result.json
    # optimizer, lr_schedule, device, checkpoint_every, resume, amp, tbptt_steps, grad_clip

:func:`train_small_classifier` is the short path the demo uses.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from spikesim._validate import check_finite, check_int
from spikesim.errors import ConfigError, ParameterError
from spikesim.network import read_toml
from spikesim.training import evaluate, train

from .datasets import (
    NMNIST,
    CachedSpikeTensors,
    DVSGesture,
    NCaltech101,
    ToSpikeTensor,
    check_classes,
)
from .networks import SpikingClassifier, build_classifier
from .saccade import SaccadeMNIST

__all__ = [
    "RunReport",
    "load_config",
    "run_experiment",
    "train_small_classifier",
    "save_confusion_png",
]

DATA_KEYS = {
    "kind",
    "path",
    "n_train",
    "n_test",
    "n_steps",
    "duration_us",
    "downsample",
    "cache_dir",
    "on_error",
    "verify",
    "seed",
    "workers",
    "mode",
}
MODEL_KEYS = {
    "kind",
    "n_classes",
    "readout",
    "surrogate_alpha",
    "channels",
    "hidden",
    "kernel_size",
    "stride",
    "tau_syn_s",
    "tau_mem_s",
    "v_th",
    "weight_scale",
    "dt_s",
}
TRAIN_KEYS = {
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "out_dir",
    "optimizer",
    "lr_schedule",
    "device",
    "checkpoint_every",
    "resume",
    "amp",
    "tbptt_steps",
    "grad_clip",
    "progress",
}
_DATA_KINDS = ("saccade_mnist", "nmnist", "ncaltech101", "dvs_gesture")
_DEFAULT_DURATION = {
    "saccade_mnist": 300_000,
    "nmnist": 300_000,
    "ncaltech101": 300_000,
    "dvs_gesture": 1_500_000,
}


@dataclasses.dataclass
class RunReport:
    """The outcome of a run: the trained model, metrics per epoch and the test evaluation."""

    model: SpikingClassifier
    history: list[dict[str, float]]
    test_accuracy: float
    confusion: np.ndarray
    classes: list[str]
    train_size: int
    test_size: int
    wall_s: float
    out_dir: Path | None
    #: (file, reason) of recordings left out with on_error = "skip"
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _check_keys(source: str, table: str, d: Any, allowed: set[str]) -> dict[str, Any]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(source, table, "expected a table")
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ConfigError(
            source, f"{table}.{unknown[0]}", f"unknown key; known: {', '.join(sorted(allowed))}"
        )
    return dict(d)


def _cfg_int(source: str, key: str, value: Any, minimum: int) -> int:
    """An integer option of a run file (a float or a string is refused, never truncated)."""
    try:
        return check_int(source, key, value, minimum=minimum)
    except ParameterError as exc:
        raise ConfigError(source, key, f"expected {exc.expected}, found {value!r}") from None


def _cfg_positive(source: str, key: str, value: Any) -> float:
    try:
        v = check_finite(source, key, value)
    except ParameterError as exc:
        raise ConfigError(source, key, f"expected {exc.expected}, found {value!r}") from None
    if v <= 0:
        raise ConfigError(source, key, f"expected a number > 0, found {value!r}")
    return v


def _cfg_bool(source: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(source, key, f"expected true or false, found {value!r}")
    return value


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a run file; relative paths are taken from the file's folder."""
    src = os.fspath(path)
    doc = read_toml(src)  # a missing, unreadable or malformed file is a ConfigError naming it
    unknown = sorted(set(doc) - {"data", "model", "train"})
    if unknown:
        raise ConfigError(src, unknown[0], "unknown table; known: data, model, train")
    for table in ("data", "model", "train"):
        if not isinstance(doc.get(table, {}), dict):
            raise ConfigError(src, table, f"expected a table, found {doc[table]!r}")
    base = Path(src).resolve().parent
    cfg: dict[str, Any] = {
        "data": dict(doc.get("data", {})),
        "model": dict(doc.get("model", {})),
        "train": dict(doc.get("train", {})),
    }
    for table, key in (("data", "path"), ("data", "cache_dir"), ("train", "out_dir")):
        v = cfg[table].get(key)
        if isinstance(v, str) and not os.path.isabs(v):
            cfg[table][key] = os.fspath(base / v)
    cfg["source"] = src
    return cfg


def _datasets(d: dict[str, Any], source: str) -> tuple[Any, Any, tuple[int, ...]]:
    kind = d.get("kind")
    if kind not in _DATA_KINDS:
        raise ConfigError(
            source, "data.kind", f"expected one of {', '.join(_DATA_KINDS)}, found {kind!r}"
        )
    if "path" not in d:
        raise ConfigError(source, "data.path", "missing: the dataset folder")
    path = d["path"]
    n_steps = _cfg_int(source, "data.n_steps", d.get("n_steps", 16), 1)
    duration = _cfg_positive(
        source, "data.duration_us", d.get("duration_us", _DEFAULT_DURATION[kind])
    )
    cache = d.get("cache_dir")
    mode = d.get("mode", "binary")
    if mode not in ("binary", "count"):
        raise ConfigError(source, "data.mode", f"expected 'binary' or 'count', found {mode!r}")
    if kind == "saccade_mnist":
        seed = _cfg_int(source, "data.seed", d.get("seed", 0), 0)
        workers = _cfg_int(source, "data.workers", d.get("workers", 1), 1)
        n_tr, n_te = d.get("n_train"), d.get("n_test")
        if n_tr is not None:
            n_tr = _cfg_int(source, "data.n_train", n_tr, 1)
        if n_te is not None:
            n_te = _cfg_int(source, "data.n_test", n_te, 1)
        saccade_tr = SaccadeMNIST(
            path, train=True, n=n_tr, seed=seed, cache_dir=cache, workers=workers
        )
        saccade_te = SaccadeMNIST(
            path, train=False, n=n_te, seed=seed, cache_dir=cache, workers=workers
        )
        return (
            saccade_tr.tensors(n_steps=n_steps, duration_us=duration, mode=mode),
            saccade_te.tensors(n_steps=n_steps, duration_us=duration, mode=mode),
            (2, 34, 34),
        )
    for key in ("n_train", "n_test", "workers"):
        if key in d:
            raise ConfigError(source, f"data.{key}", f"only for kind 'saccade_mnist', not {kind!r}")
    opts = {
        "on_error": d.get("on_error", "raise"),
        "verify": _cfg_bool(source, "data.verify", d.get("verify", False)),
    }
    classes: dict[str, type[NMNIST] | type[NCaltech101] | type[DVSGesture]] = {
        "nmnist": NMNIST,
        "ncaltech101": NCaltech101,
        "dvs_gesture": DVSGesture,
    }
    cls = classes[kind]
    tr, te = cls(path, train=True, **opts), cls(path, train=False, **opts)
    tf = ToSpikeTensor(
        sensor_size=cls.sensor_size,
        n_steps=n_steps,
        duration_us=duration,
        downsample=_cfg_int(source, "data.downsample", d.get("downsample", 1), 1),
        mode=mode,
    )
    shape = tf.shape[1:]
    if cache is not None:
        return (
            CachedSpikeTensors(tr, Path(cache) / f"{kind}_train.h5", transform=tf),
            CachedSpikeTensors(te, Path(cache) / f"{kind}_test.h5", transform=tf),
            shape,
        )
    tr.transform = te.transform = tf
    return tr, te, shape


def run_experiment(config: dict[str, Any], *, progress: bool | None = None) -> RunReport:
    """Build the datasets and the classifier of ``config``, train, evaluate, write the results."""
    source = config.get("source", "<config>")
    d = _check_keys(source, "data", config.get("data"), DATA_KEYS)
    m = _check_keys(source, "model", config.get("model"), MODEL_KEYS)
    t = _check_keys(source, "train", config.get("train"), TRAIN_KEYS)
    t0 = time.perf_counter()
    train_set, test_set, shape = _datasets(d, source)
    n_classes = _cfg_int(source, "model.n_classes", m.pop("n_classes", train_set.n_classes), 2)
    for ds in (train_set, test_set):
        check_classes(ds, n_classes)
    kind = m.pop("kind", "conv")
    for key in ("channels", "hidden"):
        if key in m:
            if not isinstance(m[key], list):
                raise ConfigError(source, f"model.{key}", f"expected a list, found {m[key]!r}")
            m[key] = tuple(_cfg_int(source, f"model.{key}", v, 1) for v in m[key])
    seed = _cfg_int(source, "train.seed", t.pop("seed", 0), 0)
    batch_size = _cfg_int(source, "train.batch_size", t.pop("batch_size", 20), 1)
    device = t.pop("device", "cpu")
    model = build_classifier(
        kind,
        input_shape=shape,
        n_classes=n_classes,
        batch_size=batch_size,
        seed=seed,
        device=device,
        **m,
    )
    out = t.pop("out_dir", None)
    show = t.pop("progress", True) if progress is None else progress
    result = train(
        model,
        train_set,
        epochs=_cfg_int(source, "train.epochs", t.pop("epochs", 3), 1),
        batch_size=batch_size,
        lr=_cfg_positive(source, "train.lr", t.pop("lr", 5e-3)),
        seed=seed,
        device=device,
        out_dir=out,
        progress=show,
        **t,
    )
    ev = evaluate(model, test_set, batch_size=batch_size, device=device, n_classes=n_classes)
    classes = list(train_set.classes)
    report = RunReport(
        model=model,
        history=result.history,
        test_accuracy=float(ev["accuracy"]),
        confusion=ev["confusion"],
        classes=classes,
        train_size=len(train_set),
        test_size=len(test_set),
        wall_s=time.perf_counter() - t0,
        out_dir=Path(out) if out is not None else None,
        skipped=list(getattr(train_set, "skipped", [])) + list(getattr(test_set, "skipped", [])),
    )
    if out is not None:
        save_confusion_png(
            ev["confusion"],
            classes,
            Path(out) / "confusion.png",
            title=f"{d.get('kind')} {kind} SNN: test accuracy {report.test_accuracy:.1%}",
        )
        summary = {
            "test_accuracy": report.test_accuracy,
            "train_size": report.train_size,
            "test_size": report.test_size,
            "wall_s": report.wall_s,
            "skipped": [list(x) for x in report.skipped],
            "confusion": ev["confusion"].tolist(),
            "classes": classes,
            "config": {k: v for k, v in config.items() if k != "source"},
            "history": result.history,
        }
        (Path(out) / "result.json").write_text(json.dumps(summary, indent=1, default=str))
    return report


def train_small_classifier(
    mnist_dir: str | os.PathLike,
    *,
    n_train: int = 600,
    n_test: int = 200,
    n_steps: int = 16,
    kind: str = "conv",
    epochs: int = 3,
    batch_size: int = 20,
    lr: float = 5e-3,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> RunReport:
    """A small convolutional SNN on the offline saccade-MNIST set (about a minute on a CPU core).

    Defaults give ≈ 90 % test accuracy on 200 test digits after 3 epochs on 600 (CPU).
    """
    config = {
        "data": {
            "kind": "saccade_mnist",
            "path": os.fspath(mnist_dir),
            "n_train": n_train,
            "n_test": n_test,
            "n_steps": n_steps,
            "cache_dir": None if cache_dir is None else os.fspath(cache_dir),
        },
        "model": {"kind": kind},
        "train": {
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "out_dir": None if out_dir is None else os.fspath(out_dir),
            "resume": False,
        },
    }
    return run_experiment(config, progress=progress)


def save_confusion_png(
    confusion: np.ndarray, classes: list[str], path: str | os.PathLike, *, title: str = ""
) -> Path:
    """A confusion-matrix image (rows: true class, columns: predicted; counts in the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    k = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * k, 0.8 + 0.5 * k), dpi=100)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), classes[:k], rotation=90 if max(len(c) for c in classes) > 2 else 0)
    ax.set_yticks(range(k), classes[:k])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = cm.max() if cm.size else 0
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if cm[i, j] > top / 2 else "black",
                )
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
