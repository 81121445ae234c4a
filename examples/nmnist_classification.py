"""Train a small convolutional spiking network on saccade-generated N-MNIST-like recordings.

Runs offline: the recordings are generated from the MNIST test set in --mnist (default
$SPIKESIM_SHARED_DATA/mnist, else ../shared/data/mnist beside the repository; images 0-7999 are
the training pool, 8000-9999 the test pool), cached in --cache, binned into spike tensors and
fed to a classifier built from a spikesim Network description. Prints the loss and accuracy of
each epoch and the test accuracy, and saves confusion.png in --out (default: both in
$TMPDIR/spikesim-nmnist-example).

    python examples/nmnist_classification.py                      # ~30 s on one CPU core
    python examples/nmnist_classification.py --n-train 8000 --n-test 2000 --epochs 10 --device cuda
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch
from spikesim.models.classify.experiment import run_experiment

REPO = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.gettempdir()) / "spikesim-nmnist-example"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_mnist = (
        Path(os.environ.get("SPIKESIM_SHARED_DATA", REPO.parent / "shared" / "data")) / "mnist"
    )
    ap.add_argument(
        "--mnist", type=Path, default=default_mnist, help="folder with the MNIST test-set IDX files"
    )
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-steps", type=int, default=16, help="time steps per 300 ms recording")
    ap.add_argument("--model", choices=("conv", "dense"), default="conv")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--cache", type=Path, default=TMP / "cache")
    ap.add_argument("--out", type=Path, default=TMP)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = {
        "data": {
            "kind": "saccade_mnist",
            "path": os.fspath(args.mnist),
            "n_train": args.n_train,
            "n_test": args.n_test,
            "n_steps": args.n_steps,
            "cache_dir": os.fspath(args.cache),
        },
        "model": {"kind": args.model},
        "train": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "device": args.device,
            "out_dir": os.fspath(args.out),
            "resume": False,
        },
    }
    report = run_experiment(config)
    for row in report.history:
        print(
            f"epoch {int(row['epoch'])}: train loss {row['train_loss']:.3f}, "
            f"train accuracy {row['train_accuracy']:.3f}, {row['samples_per_s']:.0f} samples/s"
        )
    print(
        f"test accuracy: {report.test_accuracy:.4f} on {report.test_size} digits "
        f"({report.train_size} training digits, {report.wall_s:.0f} s in all)"
    )
    print(f"confusion matrix: {args.out / 'confusion.png'}")


if __name__ == "__main__":
    main()
