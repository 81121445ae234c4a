"""Wave-RNN reproduction runs (adding, copy, (p)sMNIST), training throughput, spiking ring decoding.

Each run is one call of :func:`spikesim.models.wave.train.train` with an explicit seed; the
results (JSON lines, one per run) are appended to ``--out`` and summarised as a markdown table
(the tables in benchmarks/wave_rnn.md were pasted from it). Everything runs on one CPU thread
by default; ``--device cuda`` runs on a GPU.

    python benchmarks/wave_rnn_bench.py adding --T 100 200 --models wrnn irnn --seeds 0 \
        --cap wrnn=1000 irnn=1000 --out /tmp/wave_adding.jsonl
    python benchmarks/wave_rnn_bench.py copy --T 0 10 30 --models wrnn irnn --seeds 0 \
        --cap wrnn=300 irnn=300 --out /tmp/wave_copy.jsonl
    python benchmarks/wave_rnn_bench.py smnist --models wrnn irnn --batch 64 --cap wrnn=300 \
        irnn=300 --eval-every 100 --eval-batch 500 --lr wrnn=1e-3 irnn=1e-4 \
        --mnist-dir ../shared/data/mnist --out /tmp/wave_mnist.jsonl
    python benchmarks/wave_rnn_bench.py spiking --out /tmp/wave_spiking.jsonl
    python benchmarks/wave_rnn_bench.py throughput --T 100 200 400 784 --channels 27 --batch 64
    python benchmarks/wave_rnn_bench.py table --out /tmp/wave_adding.jsonl

On a GPU (``--device cuda``): the throughput part times wall clock with
``torch.cuda.synchronize`` around each pass, and ``--time-limit-s`` bounds a training run in
wall-clock seconds (it then reports "not solved within N iterations (S s)"); ``irnn_cudnn`` is
the iRNN through ``torch.rnn_relu`` (one cuDNN call per sequence). cuDNN's TF32 convolutions
are switched off (``--tf32`` keeps them) so that the GPU computes in float32 like the CPU.
See benchmarks/gpu/part_wave.sh.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from spikesim.models.wave.train import train

# model sizes and learning rates used here (CPU budget; see wave_rnn.md)
MODEL_OPTIONS = {
    "adding": {"wrnn": {"n": 100, "channels": 1}, "irnn": {"hidden": 100}},
    "copy": {"wrnn": {"n": 100, "channels": 6}, "irnn": {"hidden": 100}},
    # (p)sMNIST: the paper's ring n = 256 and iRNN 256 hidden; wRNN channels 4 here, not the
    # paper's 16, for the CPU budget (--wrnn-channels 16 for the paper's size)
    "smnist": {"wrnn": {"n": 256, "channels": 4}, "irnn": {"hidden": 256}},
    "psmnist": {"wrnn": {"n": 256, "channels": 4}, "irnn": {"hidden": 256}},
}
LR = {
    "adding": {"wrnn": 1e-2, "irnn": 1e-3},
    "copy": {"wrnn": 1e-3, "irnn": 1e-3},
    "smnist": {"wrnn": 1e-3, "irnn": 1e-4},
    "psmnist": {"wrnn": 1e-3, "irnn": 1e-4},
}


def _caps(items: list[str]) -> dict[str, int]:
    out = {}
    for it in items:
        k, v = it.split("=")
        out[k] = int(v)
    return out


def run_task(task: str, a: argparse.Namespace) -> None:
    caps = _caps(a.cap)
    lrs = {k: float(v) for k, v in (it.split("=") for it in a.lr)}
    for T in a.T:
        for seed in a.seeds:
            for kind in a.models:
                res = train(
                    task,
                    kind,
                    T=T,
                    seed=seed,
                    iters=caps.get(kind, 1000),
                    batch=a.batch,
                    lr=lrs.get(kind, LR[task][_base(kind)]),
                    grad_clip=a.grad_clip,
                    eval_every=a.eval_every,
                    eval_batch=a.eval_batch,
                    stop_when_solved=task == "adding",
                    model_options=_model_options(task, kind, a),
                    mnist_dir=a.mnist_dir,
                    device=a.device,
                    log=lambda s, k=kind, t=T: print(f"[{task} {k} T={t}] {s}", flush=True),
                    time_limit_s=a.time_limit_s,
                )
                res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                with open(a.out, "a") as f:
                    f.write(json.dumps(res) + "\n")
                print(_row(res), flush=True)


def _base(kind: str) -> str:
    return "irnn" if kind == "irnn_cudnn" else kind


def _model_options(task: str, kind: str, a: argparse.Namespace) -> dict:
    opts = dict(MODEL_OPTIONS[task][_base(kind)])
    if kind == "irnn_cudnn":
        opts["impl"] = "torch_rnn"
    if kind == "wrnn" and a.wrnn_channels is not None:
        opts["channels"] = a.wrnn_channels
    return opts


def run_spiking(a: argparse.Namespace) -> None:
    from spikesim.models.wave.spiking_ring import decoding_comparison

    res = decoding_comparison(n=a.ring_n or 32, copies=a.copies, trials=a.trials, seed=a.seeds[0])
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with open(a.out, "a") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res, indent=1))


def _keep_freed_memory() -> bool:
    """Ask glibc to serve large allocations from the heap and not return them to the OS.

    A training step allocates the (T, B, c, n) state buffers afresh; above glibc's mmap
    threshold (at most 32 MB) each allocation is a fresh mmap whose pages fault in on first
    touch. ``mallopt`` keeps them in the heap instead (what ``MALLOC_MMAP_THRESHOLD_`` does).
    Returns False where glibc is not available.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = libc.mallopt(m_mmap_threshold, 2**30) == 1
    return ok and libc.mallopt(m_trim_threshold, 2**31 - 1) == 1


def run_throughput(a: argparse.Namespace) -> None:
    """Training throughput (sequences per second, forward + backward) of the wRNN against
    the official-style nn.Conv1d loop, one table row per sequence length T. On a CPU the time
    is process (CPU) time; on a GPU wall-clock time between ``torch.cuda.synchronize`` calls.

    The implementations are timed interleaved (one iteration of each in turn, ``--reps`` rounds
    after a warm-up round) so that a change of machine load affects all alike; the table gives
    the median and the best round."""
    import statistics

    from spikesim.models.wave import build_model
    from spikesim.models.wave.tasks import adding_batch

    if a.keep_freed_memory:
        print(f"mallopt (keep freed memory in the heap): {_keep_freed_memory()}")
    impls = [("reference", "wrnn_reference", {})] + [
        (impl, "wrnn", {"conv_impl": impl}) for impl in a.impls
    ]
    print(
        f"n = {a.ring_n}, c = {a.channels}, batch {a.batch}, {a.reps} rounds, "
        f"{torch.get_num_threads()} thread(s), device {a.device}"
    )
    cuda = a.device.startswith("cuda")
    clock = time.perf_counter if cuda else time.process_time
    unit = "seq/s" if cuda else "seq/CPU-s"
    names = [name for name, _, _ in impls] + ([] if a.no_floor else ["3 convs/step alone (floor)"])
    head = " | ".join(f"{name} {unit} (median, best)" for name in names)
    ratios = " | ".join(f"{name} / reference" for name in names[1:])
    print(f"| T | {head} | {ratios} |")
    print("|---" * (1 + 2 * len(names) - 1) + "|")
    for T in a.T:
        g = torch.Generator().manual_seed(0)
        x, y = adding_batch(T, a.batch, generator=g, device=a.device)
        models = [
            build_model(kind, 2, 1, n=a.ring_n, channels=a.channels, generator=g, **extra).to(
                a.device
            )
            for _, kind, extra in impls
        ]
        floor_in = torch.randn(a.batch, a.channels, a.ring_n + 2, generator=g).to(a.device)
        floor_w = torch.randn(a.channels, a.channels, 3, generator=g).to(a.device)
        floor_g = torch.randn(a.batch, a.channels, a.ring_n, generator=g).to(a.device)

        def floor(steps: int, h: torch.Tensor, w: torch.Tensor, gr: torch.Tensor) -> None:
            # the three convolutions of one step's forward + backward, T times, nothing else
            for _ in range(steps):
                F.conv1d(h, w)
                F.conv1d(h, w)
                torch.nn.grad.conv1d_weight(h, w.shape, gr)

        runs = [*models] + ([] if a.no_floor else [None])
        times: list[list[float]] = [[] for _ in runs]
        for rnd in range(a.reps + 1):  # round 0 is a warm-up
            for i, m in enumerate(runs):
                if cuda:
                    torch.cuda.synchronize()
                c0 = clock()
                if m is None:
                    floor(T, floor_in, floor_w, floor_g)
                else:
                    m.zero_grad()
                    F.mse_loss(m(x), y).backward()
                if cuda:
                    torch.cuda.synchronize()
                if rnd:
                    times[i].append(clock() - c0)
        med = [a.batch / statistics.median(t) for t in times]
        best = [a.batch / min(t) for t in times]
        cells = " | ".join(f"{m:.0f}, {b:.0f}" for m, b in zip(med, best, strict=True))
        rat = " | ".join(f"{m / med[0]:.2f}" for m in med[1:])
        print(f"| {T} | {cells} | {rat} |", flush=True)


def _row(r: dict) -> str:
    if r["task"] == "adding":
        solved = (
            r["solved_iter"]
            if r["solved_iter"] is not None
            else f"not solved within {r['iters_run']} iterations ({r['wall_s']:.0f} s)"
        )
        best = min((h["mse"] for h in r["history"]), default=float("nan"))
        return (
            f"| adding | {r['T']} | {r['model']} | {r['seed']} | {r['n_params']} | {r['lr']:g} | "
            f"{r['batch']} | {solved} | {r['final'].get('mse', float('nan')):.3g} "
            f"(best {best:.3g}) | {r['sequences_per_s']:.0f} seq/s | {r['wall_s']:.0f} s | "
            f"{r.get('stopped_by', '?')} | {r.get('device', '?')} |"
        )
    f = r["final"]
    if r["task"] in ("smnist", "psmnist"):
        return (
            f"| {r['task']} | {r['model']} | {r['seed']} | {r['n_params']} | {r['lr']:g} | "
            f"{r['batch']} | {r['iters_run']} | {f.get('ce', float('nan')):.3g} | "
            f"{f.get('accuracy', float('nan')):.3f} | {r['wall_s']:.0f} |"
        )
    return (
        f"| copy | {r['T']} | {r['model']} | {r['seed']} | {r['n_params']} | {r['lr']:g} | "
        f"{r['iters_run']} | {f.get('ce', float('nan')):.3g} | {f.get('mse', float('nan')):.3g} | "
        f"{f.get('recall_accuracy', float('nan')):.3f} | {r['wall_s']:.0f} |"
    )


def _machine(device: str) -> str:
    """One line naming the machine, torch version, date and the command line."""
    import platform
    import sys

    dev = device
    if device.startswith("cuda") and torch.cuda.is_available():
        dev = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    tf32 = ""
    if device.startswith("cuda"):
        try:
            tf32 = f", cudnn.allow_tf32 {torch.backends.cudnn.allow_tf32}"
        except (RuntimeError, AttributeError) as e:
            tf32 = f", cudnn.allow_tf32 unknown ({e})"
    return (
        f"# machine: {platform.node()} {platform.processor() or platform.machine()}, device {dev}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s){tf32}, "
        f"date {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n"
        f"# command: python {' '.join(sys.argv)}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "part",
        choices=("adding", "copy", "smnist", "psmnist", "spiking", "throughput", "table"),
    )
    p.add_argument("--mnist-dir", default=None, help="(p)sMNIST: folder with t10k-*-ubyte.gz")
    p.add_argument("--T", type=int, nargs="+", default=[100])
    p.add_argument("--models", nargs="+", default=["wrnn", "irnn"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--cap", nargs="+", default=["wrnn=1000", "irnn=1000"])
    p.add_argument("--lr", nargs="+", default=[], help="model=lr, overrides LR (e.g. wrnn=1e-3)")
    p.add_argument("--wrnn-channels", type=int, default=None, help="wRNN channels (adding/copy)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=20)
    p.add_argument("--eval-batch", type=int, default=256)
    p.add_argument("--ring-n", type=int, default=None, help="ring size (spiking: 32, else 100)")
    p.add_argument("--copies", type=int, default=16)
    p.add_argument("--trials", type=int, default=4000)
    p.add_argument("--channels", type=int, default=27, help="throughput: wRNN channels")
    p.add_argument("--reps", type=int, default=3, help="throughput: timed rounds")
    p.add_argument(
        "--impls",
        nargs="+",
        default=["fused", "pad_conv"],
        help="throughput: WaveRNN conv_impl values to time against the reference",
    )
    p.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="throughput: mallopt so large buffers are not mmap'd afresh every iteration",
    )
    p.add_argument(
        "--time-limit-s", type=float, default=None, help="wall-clock limit per training run (s)"
    )
    p.add_argument("--no-floor", action="store_true", help="throughput: skip the floor column")
    p.add_argument("--tf32", action="store_true", help="cuda: allow cuDNN TF32 convolutions")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="/tmp/wave_rnn_bench.jsonl")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device.startswith("cuda"):
        try:  # the legacy flags (torch >= 2.9 also has fp32_precision; only these are used here)
            torch.backends.cudnn.allow_tf32 = a.tf32
            torch.backends.cuda.matmul.allow_tf32 = a.tf32
        except (RuntimeError, AttributeError) as e:
            print(f"# could not set the TF32 flags: {e}", flush=True)
    print(_machine(a.device), flush=True)
    if a.part == "table":
        for line in Path(a.out).read_text().splitlines():
            r = json.loads(line)
            if "task" in r:
                print(_row(r))
        return
    if a.part == "spiking":
        run_spiking(a)
        return
    if a.part == "throughput":
        a.ring_n = a.ring_n or 100
        run_throughput(a)
        return
    run_task(a.part, a)


if __name__ == "__main__":
    main()
