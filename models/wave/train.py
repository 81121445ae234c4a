"""Training harness for the wRNN and its baselines on the adding, copy and (p)sMNIST tasks.

One function, :func:`train`, runs Adam on a task with an explicit seed (model initialisation,
batches and the held-out test batch all come from seeded ``torch.Generator`` objects, so the
same seed gives the same run on CPU) and records the test metric every ``eval_every``
iterations. For the adding task it reports the *iterations to solve*: the first evaluation at
which the test MSE on a fixed held-out batch is <= 0.05 (the paper's threshold), so the count is
resolved to ``eval_every`` iterations.

Command line (``python -m spikesim.models.wave.train --help``)::

    python -m spikesim.models.wave.train --task adding --model wrnn --T 100 --iters 2000
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spikesim._validate import check_int, check_nonnegative
from spikesim.errors import ParameterError

from .._checks import check_device, check_fits, check_float_dtype
from .rnn import build_model
from .tasks import ADDING_SOLVED_MSE, MNISTSequences, adding_batch, copy_batch, load_mnist_split

__all__ = ["train", "TASKS", "default_model_options"]

TASKS = ("adding", "copy", "smnist", "psmnist")


def default_model_options(kind: str, task: str) -> dict[str, Any]:
    """The paper's model sizes (official sweep files), per task."""
    if kind in ("wrnn", "wrnn_reference"):
        channels = {"adding": 27, "copy": 6, "smnist": 16, "psmnist": 16}[task]
        opts: dict[str, Any] = {
            "n": 100 if task in ("adding", "copy") else 256,
            "channels": channels,
        }
        return opts
    opts = {"hidden": 100 if task in ("adding", "copy") else 256}
    if kind == "irnn_cudnn":  # the iRNN through torch.rnn_relu (cuDNN on a GPU)
        opts["impl"] = "torch_rnn"
    return opts


def _n_io(task: str) -> tuple[int, int]:
    return {"adding": (2, 1), "copy": (10, 10), "smnist": (1, 10), "psmnist": (1, 10)}[task]


def train(
    task: str,
    kind: str,
    *,
    T: int = 100,
    seed: int = 0,
    iters: int = 1000,
    batch: int = 128,
    lr: float = 1e-3,
    grad_clip: float = 0.0,
    eval_every: int = 100,
    eval_batch: int = 1000,
    stop_when_solved: bool = False,
    model_options: dict[str, Any] | None = None,
    mnist_dir: str | Path | None = None,
    mnist_train_limit: int | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    log: Callable[[str], None] | None = None,
    return_model: bool = False,
    time_limit_s: float | None = None,
) -> dict[str, Any]:
    """Train ``kind`` (``"wrnn"``, ``"irnn"``, ``"irnn_cudnn"``, ``"lstm"``, ``"gru"``,
    ``"wrnn_reference"``) on ``task``. ``"irnn_cudnn"`` is the iRNN with ``impl="torch_rnn"``.

    Returns a dict with ``history`` (iteration, train loss, test metric per evaluation),
    ``solved_iter`` (adding: first evaluation with test MSE <= 0.05, else ``None``),
    ``final`` (last test metrics), ``n_params``, ``wall_s``, ``sequences_per_s``,
    ``stopped_by`` (``"solved"``, ``"iters"``, ``"time_limit"`` or ``"non_finite_loss"``) and,
    with ``return_model``, the trained module under ``"model_object"``.

    ``time_limit_s``: wall-clock limit in seconds for the training loop (model set-up excluded):
    after the first iteration that ends past it the run is evaluated once more and stops, so an
    unsolved run reports "not solved within ``iters_run`` iterations (``wall_s`` s)".
    """
    if task not in TASKS:
        raise ParameterError("train", "task", f"one of {TASKS}", task)
    for name, v, lo in (
        ("iters", iters, 1),
        ("batch", batch, 1),
        ("eval_every", eval_every, 1),
        ("eval_batch", eval_batch, 1),
        ("seed", seed, 0),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ParameterError("train", name, f"an integer >= {lo}", v)
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ParameterError("train", "lr", "a finite number > 0", lr)
    check_nonnegative("train", "grad_clip", grad_clip)
    if mnist_train_limit is not None:
        mnist_train_limit = check_int("train", "mnist_train_limit", mnist_train_limit, minimum=1)
    check_float_dtype("train", "dtype", dtype)
    check_device("train", device)
    if task in ("adding", "copy"):  # the batches' size, before the model and optimiser exist
        T = check_int("train", "T", T, minimum=2 if task == "adding" else 0)
        steps = T if task == "adding" else T + 21
        n_values = float(steps) * max(batch, eval_batch) * (_n_io(task)[0] + 1)
        check_fits(
            "train",
            "batch, eval_batch",
            n_values * (torch.finfo(dtype).bits // 8),
            f"{steps} steps x batch {max(batch, eval_batch)}",
        )
    if model_options is not None and not isinstance(model_options, dict):
        raise ParameterError("train", "model_options", "None or a dict of keywords", model_options)
    if time_limit_s is not None and not (
        isinstance(time_limit_s, (int, float))
        and not isinstance(time_limit_s, bool)
        and time_limit_s > 0
        and math.isfinite(time_limit_s)
    ):
        raise ParameterError(
            "train", "time_limit_s", "None or a finite number of seconds > 0", time_limit_s
        )
    device = torch.device(device)
    gen_init = torch.Generator().manual_seed(seed)
    gen_data = torch.Generator().manual_seed(seed + 1_000_003)
    gen_test = torch.Generator().manual_seed(seed + 2_000_003)
    n_inp, n_out = _n_io(task)
    opts = default_model_options(kind, task)
    opts.update(model_options or {})
    base = "irnn" if kind == "irnn_cudnn" else kind
    model = build_model(base, n_inp, n_out, generator=gen_init, dtype=dtype, **opts).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    say = log or (lambda s: None)

    # task-specific batch, loss and evaluation
    if task == "adding":

        def get(b: int, g: torch.Generator):
            return adding_batch(T, b, generator=g, device=device, dtype=dtype)

        def loss_fn(x, y):
            return nn.functional.mse_loss(model(x), y)

        test = get(eval_batch, gen_test)

        def evaluate() -> dict[str, float]:
            return {"mse": float(loss_fn(*test))}

    elif task == "copy":

        def get(b: int, g: torch.Generator):
            return copy_batch(T, b, generator=g, device=device, dtype=dtype)

        def loss_fn(x, y):
            out = model(x, readout="all")
            return nn.functional.cross_entropy(out.reshape(-1, n_out), y.reshape(-1))

        test = get(eval_batch, gen_test)

        def evaluate() -> dict[str, float]:
            x, y = test
            out = model(x, readout="all")
            ce = nn.functional.cross_entropy(out.reshape(-1, n_out), y.reshape(-1))
            acc = (out[-10:].argmax(-1) == y[-10:]).float().mean()
            # squared error of the softmax output against the one-hot target, all steps
            onehot = nn.functional.one_hot(y, n_out).to(out.dtype)
            mse = (out.softmax(-1) - onehot).square().mean()
            return {"ce": float(ce), "mse": float(mse), "recall_accuracy": float(acc)}

    else:
        if mnist_dir is None:
            raise ParameterError("train", "mnist_dir", "the folder with t10k-*-ubyte.gz", None)
        (xtr, ytr), (xte, yte) = load_mnist_split(mnist_dir)
        if mnist_train_limit is not None:
            xtr, ytr = xtr[:mnist_train_limit], ytr[:mnist_train_limit]
        permute = task == "psmnist"
        tr = MNISTSequences(xtr, ytr, permute=permute)
        te = MNISTSequences(xte, yte, permute=permute)

        def get(b: int, g: torch.Generator):
            x, y = tr.batch(b, generator=g)
            return x.to(device, dtype), y.to(device)

        def loss_fn(x, y):
            return nn.functional.cross_entropy(model(x), y)

        def evaluate() -> dict[str, float]:
            correct, total, ce = 0, 0, 0.0
            for start in range(0, len(te), eval_batch):
                idx = torch.arange(start, min(start + eval_batch, len(te)))
                x, y = te.sequences(idx)
                out = model(x.to(device, dtype))
                ce += float(nn.functional.cross_entropy(out, y.to(device), reduction="sum"))
                correct += int((out.argmax(-1).cpu() == y).sum())
                total += len(idx)
            return {"ce": ce / total, "accuracy": correct / total}

    history: list[dict[str, float]] = []
    solved_iter: int | None = None
    t0 = time.perf_counter()
    train_s = 0.0
    last_loss = float("nan")
    stopped_by = "iters"
    it = 0
    for it in range(1, iters + 1):
        t1 = time.perf_counter()
        x, y = get(batch, gen_data)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x, y)
        loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        train_s += time.perf_counter() - t1
        last_loss = float(loss.detach())
        if not math.isfinite(last_loss):
            say(f"iter {it}: loss is {last_loss}, stopping")
            stopped_by = "non_finite_loss"
            break
        out_of_time = time_limit_s is not None and time.perf_counter() - t0 >= time_limit_s
        if it % eval_every == 0 or it == iters or out_of_time:
            model.eval()
            with torch.no_grad():
                metrics = evaluate()
            model.train()
            history.append({"iter": it, "train_loss": last_loss, **metrics})
            say(
                f"iter {it}: train {last_loss:.4g} "
                + " ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            )
            if task == "adding" and solved_iter is None and metrics["mse"] <= ADDING_SOLVED_MSE:
                solved_iter = it
                if stop_when_solved:
                    stopped_by = "solved"
                    break
        if out_of_time:
            say(f"iter {it}: time limit {time_limit_s:g} s reached, stopping")
            stopped_by = "time_limit"
            break
    out = {
        "task": task,
        "model": kind,
        "T": T,
        "seed": seed,
        "iters_run": it,
        "batch": batch,
        "lr": lr,
        "grad_clip": grad_clip,
        "eval_every": eval_every,
        "model_options": opts,
        "n_params": sum(p.numel() for p in model.parameters()),
        "history": history,
        "solved_iter": solved_iter,
        "final": history[-1] if history else {},
        "wall_s": time.perf_counter() - t0,
        "sequences_per_s": it * batch / train_s if train_s > 0 else float("nan"),
        "device": str(device),
        "stopped_by": stopped_by,
        "time_limit_s": time_limit_s,
    }
    if return_model:
        out["model_object"] = model
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=TASKS, default="adding")
    p.add_argument(
        "--model",
        choices=("wrnn", "irnn", "irnn_cudnn", "lstm", "gru", "wrnn_reference"),
        default="wrnn",
    )
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iters", type=int, default=1000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--grad-clip", type=float, default=0.0)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batch", type=int, default=1000)
    p.add_argument("--stop-when-solved", action="store_true")
    p.add_argument("--time-limit-s", type=float, default=None, help="wall-clock limit (s)")
    p.add_argument("--n", type=int, default=None, help="wRNN ring size")
    p.add_argument("--channels", type=int, default=None, help="wRNN channels")
    p.add_argument("--hidden", type=int, default=None, help="iRNN/LSTM/GRU hidden size")
    p.add_argument("--mnist-dir", default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="write the result as JSON here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    opts = {
        k: v
        for k, v in (("n", a.n), ("channels", a.channels), ("hidden", a.hidden))
        if v is not None
    }
    res = train(
        a.task,
        a.model,
        T=a.T,
        seed=a.seed,
        iters=a.iters,
        batch=a.batch,
        lr=a.lr,
        grad_clip=a.grad_clip,
        eval_every=a.eval_every,
        eval_batch=a.eval_batch,
        stop_when_solved=a.stop_when_solved,
        model_options=opts,
        mnist_dir=a.mnist_dir,
        device=a.device,
        log=print,
        time_limit_s=a.time_limit_s,
    )
    summary = {k: v for k, v in res.items() if k != "history"}
    print(json.dumps(summary, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
