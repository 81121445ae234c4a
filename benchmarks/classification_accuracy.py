"""Benchmark (a): test accuracy of a spiking classifier on the offline saccade-MNIST set.

Prints one markdown table row (and writes result.json, metrics.csv, confusion.png to --out).

CPU, 97.7 % (18 min, one thread):  python benchmarks/classification_accuracy.py --n-train 8000 \
                        --n-test 2000 --epochs 10 --batch-size 32 --channels 16,32
GPU (goal >= 97 % in minutes):  the same with --device cuda --batch-size 64 --amp --workers 8
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from spikesim.models.classify.experiment import run_experiment

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = Path(os.environ.get("SPIKESIM_SHARED_DATA", REPO.parent / "shared" / "data"))
    ap.add_argument("--mnist", type=Path, default=shared / "mnist")
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--n-steps", type=int, default=16)
    ap.add_argument("--model", choices=("conv", "dense"), default="conv")
    ap.add_argument("--channels", default="8,16", help="conv channels per layer")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA only)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="processes generating recordings")
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "spikesim-saccade-cache"
    )
    ap.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "spikesim-bench-accuracy"
    )
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = {"kind": a.model}
    if a.model == "conv":
        model["channels"] = [int(c) for c in a.channels.split(",")]
    cfg = {
        "data": {
            "kind": "saccade_mnist",
            "path": os.fspath(a.mnist),
            "n_train": a.n_train,
            "n_test": a.n_test,
            "n_steps": a.n_steps,
            "cache_dir": os.fspath(a.cache),
            "workers": a.workers,
        },
        "model": model,
        "train": {
            "epochs": a.epochs,
            "batch_size": a.batch_size,
            "lr": a.lr,
            "seed": a.seed,
            "device": a.device,
            "amp": a.amp,
            "lr_schedule": "cosine",
            "out_dir": os.fspath(a.out),
            "resume": False,
        },
    }
    t0 = time.perf_counter()
    rep = run_experiment(cfg, progress=False)
    wall = time.perf_counter() - t0
    train_s = sum(r["epoch_s"] for r in rep.history)
    n_state = sum(p.size for p in rep.model.network.populations.values() if not p.is_source)
    n_params = sum(p.numel() for p in rep.model.parameters())
    dev = (
        torch.cuda.get_device_name()
        if a.device.startswith("cuda")
        else f"{platform.machine()} CPU, {a.threads} thread"
    )
    print(
        "| date | device | model | neurons | params | T | train/test | epochs | train s | total s | test acc |"
    )
    print(
        f"| {datetime.date.today()} | {dev} | {a.model} {model.get('channels', '')} | {n_state} | {n_params} | "
        f"{a.n_steps} | {rep.train_size}/{rep.test_size} | {a.epochs} | {train_s:.0f} | {wall:.0f} | "
        f"{rep.test_accuracy:.4f} |"
    )
    for r in rep.history:
        print(
            f"  epoch {int(r['epoch'])}: loss {r['train_loss']:.3f} acc {r['train_accuracy']:.3f} "
            f"{r['samples_per_s']:.0f} samples/s"
        )


if __name__ == "__main__":
    main()
