"""A general training loop for spiking networks run by :class:`~spikesim.engine.Simulator`.

:func:`train` trains any ``torch.nn.Module`` classifier on a map-style dataset of
``(x, label)`` samples, with

- a deterministic data order (a permutation per epoch drawn from ``(seed, epoch)``), so the
  same seed gives bit-identical weights on CPU;
- checkpoints (model, optimizer, scheduler, RNG states, position in the epoch, the partial
  metric sums) written atomically to ``out_dir/checkpoint.pt`` every ``checkpoint_every``
  optimizer steps and at the end of every epoch; with ``resume=True`` an interrupted run
  continues from the last checkpoint and ends with the same weights as an uninterrupted one;
- per-epoch metrics (loss, accuracy, spike rates per population, throughput) in
  ``out_dir/metrics.csv`` and, when the ``tensorboard`` package is installed, TensorBoard;
- truncated BPTT (``tbptt_steps``): the input is cut into pieces along time, the network
  state is carried from piece to piece (detached) and gradients accumulate over the pieces;
- mixed precision (``amp=True``) on CUDA devices (autocast; a no-op on CPU);
- data-parallel training with ``torch.distributed`` (``distributed=True`` inside an
  initialised process group): each rank takes an equal shard of every epoch's permutation,
  gradients are averaged by DistributedDataParallel. Neuron state is created inside every
  forward call (or passed in a carry), never kept in module buffers, so stateful neurons do
  not break replication.

The model contract: ``model(x)`` with ``x`` a batch ``[B, T, ...]`` returns either a tensor
of logits ``[B, C]`` or a mapping with ``"logits"``, optionally ``"rates"`` (population name →
mean spikes per neuron per step) and, when called as ``model(x, carry=c)`` for truncated
BPTT, ``"carry"`` (the state to continue from; logits then cover all steps seen so far).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import importlib.util
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch

from ._validate import check_int
from .errors import ConfigError, ParameterError

__all__ = ["TrainResult", "train", "evaluate", "epoch_batches", "detach_tree", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.csv"
_OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: per-epoch metrics, where they were written, resume facts."""

    history: list[dict[str, float]]
    out_dir: Path | None
    resumed_from_step: int | None
    steps: int

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1] if self.history else {}


# ----------------------------------------------------------------------------- helpers


def detach_tree(obj: Any) -> Any:
    """Detach every tensor inside nested dicts, lists, tuples and NamedTuples."""
    if isinstance(obj, torch.Tensor):
        return obj.detach()
    if isinstance(obj, dict):
        return {k: detach_tree(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(detach_tree(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(detach_tree(v) for v in obj)
    return obj


def epoch_batches(
    n: int,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    rank: int = 0,
    world: int = 1,
    shuffle: bool = True,
) -> list[list[int]]:
    """The index batches of one epoch for one rank (deterministic in ``seed`` and ``epoch``).

    The permutation is cut to a multiple of ``world`` so that every rank has the same number
    of samples; rank r takes positions r, r + world, ... so the union of the ranks' i-th
    batches is the i-th batch of a single-process run with ``batch_size * world``.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    per_rank = n // world
    mine = order[: per_rank * world][rank::world]
    return [mine[i : i + batch_size].tolist() for i in range(0, per_rank, batch_size)]


def _unpack(out: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor], Any]:
    if isinstance(out, torch.Tensor):
        return out, {}, None
    if isinstance(out, Mapping) and "logits" in out:
        return out["logits"], dict(out.get("rates") or {}), out.get("carry")
    raise ParameterError(
        "train", "model output", "a logits tensor or a mapping with 'logits'", type(out).__name__
    )


def _make_loss(
    loss: str | Callable[..., torch.Tensor],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if callable(loss):
        return loss
    if loss == "ce":
        return torch.nn.functional.cross_entropy
    raise ParameterError("train", "loss", "'ce' or a callable loss(logits, labels)", loss)


def _make_optimizer(
    optimizer: Any, params: Sequence[torch.nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(params)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ParameterError(
        "train",
        "optimizer",
        f"one of {', '.join(_OPTIMIZERS)}, an optimizer or a factory",
        optimizer,
    )


def _dataset_and_collate(
    train_loader: Any, batch_size: int | None
) -> tuple[Any, int, Callable | None, int]:
    """Accept a map-style dataset or a DataLoader (whose order we replace by ours)."""
    if isinstance(train_loader, torch.utils.data.DataLoader):
        bs = batch_size or train_loader.batch_size
        if bs is None:
            raise ParameterError(
                "train", "batch_size", "an int (the DataLoader has no batch_size)", None
            )
        return train_loader.dataset, int(bs), train_loader.collate_fn, int(train_loader.num_workers)
    if not hasattr(train_loader, "__len__") or not hasattr(train_loader, "__getitem__"):
        raise ParameterError(
            "train",
            "train_loader",
            "a map-style dataset or a torch DataLoader",
            type(train_loader).__name__,
        )
    if batch_size is None:
        raise ParameterError("train", "batch_size", "an int when a dataset is given", None)
    return train_loader, int(batch_size), None, 0


def _iterate(
    dataset: Any, batches: list[list[int]], collate: Callable | None, workers: int
) -> Iterator[Any]:
    if not batches:
        return iter(())
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate,
        num_workers=workers,
    )
    return iter(loader)


def _autocast(device: torch.device, amp: bool, amp_dtype: torch.dtype) -> Any:
    if amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=amp_dtype)
    return contextlib.nullcontext()


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_csv(path: Path, history: list[dict[str, float]]) -> None:
    cols: list[str] = []
    for row in history:
        cols += [c for c in row if c not in cols]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in history:
            w.writerow(row)
    os.replace(tmp, path)


class _Sums:
    """Running sums of one epoch (kept in checkpoints so a resumed epoch reports the same)."""

    def __init__(self, d: dict[str, float] | None = None) -> None:
        self.d: dict[str, float] = dict(d or {})

    def add(self, key: str, value: float) -> None:
        self.d[key] = self.d.get(key, 0.0) + float(value)

    def reduce(self, device: torch.device, distributed: bool) -> dict[str, float]:
        if not distributed:
            return dict(self.d)
        import torch.distributed as dist

        keys = sorted(self.d)
        t = torch.tensor([self.d[k] for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return dict(zip(keys, t.tolist(), strict=True))


# ---------------------------------------------------------------------------- forward


def _forward_batch(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable,
    *,
    tbptt_steps: int | None,
    train: bool,
    device: torch.device,
    amp: bool,
    amp_dtype: torch.dtype,
    scaler: Any,
) -> tuple[float, torch.Tensor, dict[str, float]]:
    """One batch: returns (summed loss, logits, summed rates); backward when ``train``."""
    B = x.shape[0]
    if tbptt_steps is None or x.shape[1] <= tbptt_steps:
        with _autocast(device, amp, amp_dtype):
            logits, rates, _ = _unpack(model(x))
            loss = loss_fn(logits.float(), y)
        if train:
            (scaler.scale(loss) if scaler is not None else loss).backward()
        return (
            float(loss.detach()) * B,
            logits.detach(),
            {k: float(v.detach()) * B for k, v in rates.items()},
        )
    T = x.shape[1]
    n_pieces = math.ceil(T / tbptt_steps)
    carry = None
    rate_sum: dict[str, float] = {}
    for j in range(n_pieces):
        piece = x[:, j * tbptt_steps : (j + 1) * tbptt_steps]
        with _autocast(device, amp, amp_dtype):
            logits, rates, carry = _unpack(model(piece, carry=carry))
            if carry is None:
                raise ParameterError(
                    "train",
                    "tbptt_steps",
                    "a model that returns a 'carry' when called with carry=",
                    "no carry",
                )
            loss = loss_fn(logits.float(), y)
        if train:
            part = loss / n_pieces
            (scaler.scale(part) if scaler is not None else part).backward()
        carry = detach_tree(carry)
        w = piece.shape[1] / T
        for k, v in rates.items():
            rate_sum[k] = rate_sum.get(k, 0.0) + float(v.detach()) * w * B
    # the last piece's logits cover the whole input
    return float(loss.detach()) * B, logits.detach(), rate_sum


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    data: Any,
    *,
    batch_size: int | None = None,
    loss: str | Callable = "ce",
    device: str | torch.device = "cpu",
    amp: bool = False,
    amp_dtype: torch.dtype = torch.bfloat16,
    tbptt_steps: int | None = None,
    n_classes: int | None = None,
) -> dict[str, Any]:
    """Loss, accuracy, mean spike rates and the confusion matrix (rows: true class) on ``data``."""
    dataset, bs, collate, workers = _dataset_and_collate(data, batch_size)
    device = torch.device(device)
    loss_fn = _make_loss(loss)
    was_training = model.training
    model.eval()
    sums = _Sums()
    preds: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    batches = epoch_batches(len(dataset), batch_size=bs, seed=0, epoch=0, shuffle=False)
    for x, y in _iterate(dataset, batches, collate, workers):
        x, y = x.to(device), y.to(device)
        lsum, logits, rates = _forward_batch(
            model,
            x,
            y,
            loss_fn,
            tbptt_steps=tbptt_steps,
            train=False,
            device=device,
            amp=amp,
            amp_dtype=amp_dtype,
            scaler=None,
        )
        sums.add("loss", lsum)
        sums.add("n", y.shape[0])
        for k, v in rates.items():
            sums.add(f"rate_{k}", v)
        preds.append(logits.argmax(1).cpu().numpy())
        labels.append(y.cpu().numpy())
    model.train(was_training)
    p = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    t = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    n_cls = n_classes or int(max(p.max(initial=-1), t.max(initial=-1)) + 1)
    cm = np.zeros((n_cls, n_cls), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    n = max(sums.d.get("n", 0.0), 1.0)
    out: dict[str, Any] = {
        "loss": sums.d.get("loss", 0.0) / n,
        "accuracy": float((p == t).mean()) if t.size else float("nan"),
        "confusion": cm,
        "predictions": p,
        "labels": t,
    }
    for key, v in sums.d.items():
        if key.startswith("rate_"):
            out[key] = v / n
    return out


# ------------------------------------------------------------------------------ train

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _own_torch_rng(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` on a private copy of torch's global RNG (CPU and CUDA devices).

    ``fn`` may seed and draw from the global generator (``torch.manual_seed(seed)``, so that
    dropout or a shuffling ``DataLoader`` inside the model are reproducible); the caller's
    RNG state is restored afterwards, whatever happens.
    """

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):
            return fn(*args, **kwargs)

    return wrapper


@_own_torch_rng
def train(
    model: torch.nn.Module,
    train_loader: Any,
    *,
    epochs: int,
    batch_size: int | None = None,
    optimizer: Any = "adam",
    lr: float = 1e-3,
    lr_schedule: str | None = None,
    loss: str | Callable[..., torch.Tensor] = "ce",
    seed: int = 0,
    device: str | torch.device = "cpu",
    out_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    progress: bool = True,
    amp: bool = False,
    amp_dtype: torch.dtype = torch.bfloat16,
    tbptt_steps: int | None = None,
    grad_clip: float | None = None,
    eval_data: Any = None,
    distributed: bool = False,
    tensorboard: bool | None = None,
    stop_after_steps: int | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_loader`` (a map-style dataset of (x, label) or a DataLoader).

    Parameters
    ----------
    epochs: passes over the training data.
    batch_size: samples per optimizer step (per rank when distributed); taken from the
        DataLoader when one is given.
    optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"`` (momentum 0.9), an optimizer or
        a factory ``params -> optimizer``; ``lr`` its learning rate.
    lr_schedule: ``None`` or ``"cosine"`` (per step, to zero at the end of the last epoch).
    loss: ``"ce"`` (cross entropy on the logits) or ``loss(logits, labels)``.
    seed: seeds torch and the data order; the same seed gives identical weights on CPU. The
        torch RNG is seeded inside the call only: the caller's global RNG state is unchanged.
    out_dir: where ``metrics.csv``, ``checkpoint.pt`` (and TensorBoard events) go.
    checkpoint_every: also checkpoint every this many optimizer steps (epoch ends always).
    resume: continue from ``out_dir/checkpoint.pt`` when it exists.
    amp: autocast to ``amp_dtype`` on CUDA (float16 adds a gradient scaler); no-op on CPU.
    tbptt_steps: truncated BPTT piece length in time steps (None: full BPTT).
    eval_data: evaluated after every epoch (``test_loss``, ``test_accuracy`` columns).
    distributed: wrap in DistributedDataParallel (the process group must be initialised);
        rank 0 writes files, every rank reads the checkpoint when resuming (give all ranks
        the same ``out_dir``); metrics are summed over ranks.
    stop_after_steps: stop (after checkpointing) once this many optimizer steps are done in
        this call — to split a long run into several jobs.
    """
    epochs = check_int("train", "epochs", epochs, minimum=1)
    seed = check_int("train", "seed", seed, minimum=0)
    if tbptt_steps is not None:
        tbptt_steps = check_int("train", "tbptt_steps", tbptt_steps, minimum=1)
    if checkpoint_every is not None:
        checkpoint_every = check_int("train", "checkpoint_every", checkpoint_every, minimum=1)
    if lr_schedule not in (None, "cosine"):
        raise ParameterError("train", "lr_schedule", "None or 'cosine'", lr_schedule)
    device = torch.device(device)
    dataset, bs, collate, workers = _dataset_and_collate(train_loader, batch_size)
    loss_fn = _make_loss(loss)

    rank, world = 0, 1
    net: torch.nn.Module = model
    if distributed:
        import torch.distributed as dist

        if not dist.is_initialized():
            raise ParameterError(
                "train", "distributed", "an initialised torch.distributed process group", "none"
            )
        rank, world = dist.get_rank(), dist.get_world_size()
        ids = [device.index] if device.type == "cuda" and device.index is not None else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    is_main = rank == 0

    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ParameterError("train", "model", "a model with trainable parameters", "none")
    where = {p.device for p in params}
    if any(
        d.type != device.type or (device.index is not None and d.index != device.index)
        for d in where
    ):
        raise ParameterError(
            "train",
            "device",
            f"the device of the model's parameters ({', '.join(map(str, sorted(where, key=str)))})",
            str(device),
            hint="Build the Simulator / classifier with device=... (its state is created there).",
        )
    opt = _make_optimizer(optimizer, params, lr)
    n_batches = len(
        epoch_batches(len(dataset), batch_size=bs, seed=seed, epoch=0, rank=rank, world=world)
    )
    if n_batches == 0:
        raise ParameterError("train", "train_loader", f"at least {world} samples", len(dataset))
    total_steps = n_batches * epochs
    sched = None
    if lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps))
        )
    scaler = None
    if amp and device.type == "cuda" and amp_dtype == torch.float16:
        scaler = torch.amp.GradScaler("cuda")

    out = Path(out_dir) if out_dir is not None else None
    if out is not None and is_main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT_NAME if out is not None else None
    fingerprint = {
        "seed": seed,
        "n_samples": len(dataset),
        "batch_size": bs,
        "world": world,
        "epochs": epochs,
    }

    history: list[dict[str, float]] = []
    start_epoch, start_batch, step = 0, 0, 0
    sums = _Sums()
    resumed_from = None
    if resume and ckpt_path is not None and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        for key in ("seed", "n_samples", "batch_size", "world"):
            if ck["fingerprint"].get(key) != fingerprint[key]:
                raise ConfigError(
                    os.fspath(ckpt_path),
                    key,
                    f"checkpoint was written with {key}={ck['fingerprint'].get(key)!r}, this run has "
                    f"{fingerprint[key]!r}; use another out_dir or resume=False",
                )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None and ck.get("scheduler") is not None:
            sched.load_state_dict(ck["scheduler"])
        if scaler is not None and ck.get("scaler") is not None:
            scaler.load_state_dict(ck["scaler"])
        torch.set_rng_state(ck["rng_cpu"].cpu())
        if device.type == "cuda" and ck.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(ck["rng_cuda"].cpu(), device)
        history = list(ck["history"])
        start_epoch, start_batch, step = int(ck["epoch"]), int(ck["batch"]), int(ck["step"])
        sums = _Sums(ck["sums"])
        resumed_from = step

    writer = None
    if (
        out is not None
        and is_main
        and (tensorboard or (tensorboard is None and importlib.util.find_spec("tensorboard")))
    ):
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=os.fspath(out / "tensorboard"))

    def save(epoch: int, batch: int) -> None:
        if ckpt_path is None or not is_main:
            return
        _atomic_save(
            {
                "fingerprint": fingerprint,
                "epoch": epoch,
                "batch": batch,
                "step": step,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "history": history,
                "sums": dict(sums.d),
            },
            ckpt_path,
        )

    steps_here = 0
    net.train()
    for epoch in range(start_epoch, epochs):
        batches = epoch_batches(
            len(dataset), batch_size=bs, seed=seed, epoch=epoch, rank=rank, world=world
        )
        first = start_batch if epoch == start_epoch else 0
        if epoch != start_epoch:
            sums = _Sums()
        bar = None
        if progress and is_main:
            from tqdm import tqdm

            bar = tqdm(
                total=len(batches),
                initial=first,
                desc=f"epoch {epoch + 1}/{epochs}",
                unit="batch",
                leave=False,
            )
        t0 = time.perf_counter()
        n_timed = 0
        for b, (x, y) in enumerate(
            _iterate(dataset, batches[first:], collate, workers), start=first
        ):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            lsum, logits, rates = _forward_batch(
                net,
                x,
                y,
                loss_fn,
                tbptt_steps=tbptt_steps,
                train=True,
                device=device,
                amp=amp,
                amp_dtype=amp_dtype,
                scaler=scaler,
            )
            if scaler is not None:
                scaler.unscale_(opt)
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            if sched is not None:
                sched.step()
            step += 1
            steps_here += 1
            n_timed += y.shape[0]
            sums.add("loss", lsum)
            sums.add("correct", float((logits.argmax(1) == y).sum()))
            sums.add("n", y.shape[0])
            for k, v in rates.items():
                sums.add(f"rate_{k}", v)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    loss=f"{sums.d['loss'] / sums.d['n']:.3f}",
                    acc=f"{sums.d['correct'] / sums.d['n']:.3f}",
                )
            done = b + 1 == len(batches)
            if not done and checkpoint_every is not None and step % checkpoint_every == 0:
                save(epoch, b + 1)
            if not done and stop_after_steps is not None and steps_here >= stop_after_steps:
                save(epoch, b + 1)
                if bar is not None:
                    bar.close()
                return TrainResult(history, out, resumed_from, step)
        if bar is not None:
            bar.close()
        wall = time.perf_counter() - t0
        tot = sums.reduce(device, distributed)
        n = max(tot.get("n", 0.0), 1.0)
        row: dict[str, float] = {
            "epoch": epoch + 1,
            "step": step,
            "train_loss": tot.get("loss", 0.0) / n,
            "train_accuracy": tot.get("correct", 0.0) / n,
            "lr": opt.param_groups[0]["lr"],
        }
        for key, v in sorted(tot.items()):
            if key.startswith("rate_"):
                row[f"train_{key}"] = v / n
        row["samples_per_s"] = n_timed * world / wall if wall > 0 else float("nan")
        row["epoch_s"] = wall
        if eval_data is not None:
            ev = evaluate(
                model,  # the module DistributedDataParallel wraps
                eval_data,
                batch_size=bs,
                loss=loss,
                device=device,
                amp=amp,
                amp_dtype=amp_dtype,
                tbptt_steps=tbptt_steps,
            )
            row["test_loss"] = ev["loss"]
            row["test_accuracy"] = ev["accuracy"]
            net.train()
        history.append(row)
        sums = _Sums()
        if is_main:
            if out is not None:
                _write_csv(out / METRICS_NAME, history)
            if writer is not None:
                for key, v in row.items():
                    if key not in ("epoch", "step"):
                        writer.add_scalar(key, v, epoch + 1)
                writer.flush()
        save(epoch + 1, 0)
        if stop_after_steps is not None and steps_here >= stop_after_steps and epoch + 1 < epochs:
            return TrainResult(history, out, resumed_from, step)
    if writer is not None:
        writer.close()
    return TrainResult(history, out, resumed_from, step)
