"""Training accuracy and speed of spike products in fp32, bf16 and fp8 (spike side exact).

Spikes are exactly 0 or 1, so ``spikesim.spike_matmul.spike_linear`` casts them down without
loss; with fp32 accumulation and output only the weight (forward) and the output gradient
(backward) are rounded. This script trains the same spiking classifier at equal settings in
each precision and reports test accuracy, time per epoch and, on one batch at the initial
weights, how well the low-precision weight gradients agree with fp32 (cosine).

Data: the MNIST *test* set (10,000 images, ``t10k-*`` idx gz files in ``--data-dir``) split
by ``spikesim.models.wave.tasks.load_mnist_split`` into 8000 training and 2000 held-out test
images (a fixed permutation from ``--seed``). Rate coding: each pixel (intensity in [0, 1])
is a Bernoulli spike with that probability at each of ``--steps`` steps.

Network (dt = 1 ms): ``spike_linear(784 -> H)`` + CubaLIF (tau_syn 5 ms, tau_mem 10 ms,
threshold 1, reset to 0, SuperSpike surrogate) run by ``spikesim.dynamics.cuba_lif_sequence``
(one product over all steps, then the fused sequence kernel), ``--layers - 1`` more
``spike_linear(H -> H)`` + CubaLIF layers, and ``spike_linear(H -> 10)`` into a leaky readout
(tau 20 ms) whose membrane, averaged over the steps, gives the logits for cross-entropy.
Every precision starts from the same weights (drawn on the CPU from ``--seed``), sees the
images in the same order and the same input spikes (generators reseeded per precision);
Adam, lr ``--lr``.

Usage::

    python benchmarks/linear_lif_precision.py --device cpu --hidden 256 --epochs 1
    python benchmarks/linear_lif_precision.py --device cuda --hidden 4096 --layers 2 \\
        --batch-size 256 --epochs 2 --data-dir gpu_data
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from spikesim.models.wave.tasks import load_mnist_split

from spikesim.dynamics import CubaLIFParams, CubaLIFState, cuba_lif_sequence
from spikesim.spike_matmul import PRECISIONS, bf16_path, fp8_supported, spike_linear

DT_S = 1e-3
LIF = CubaLIFParams(tau_syn_s=5e-3, tau_mem_s=10e-3, v_th=1.0, bias=0.0)
TAU_OUT_S = 20e-3
T_START = time.perf_counter()


def init_weights(sizes: list[int], *, seed: int, device: torch.device) -> list[torch.Tensor]:
    """Uniform(+-gain/sqrt(fan_in)) weights [out, in], drawn on the CPU so every device and
    precision starts from the same numbers. Gains: 1 for the input layer, 2 for hidden-to-
    hidden layers (so the second layer fires at a similar rate), 0.25 for the readout (initial
    logits of order 1)."""
    g = torch.Generator().manual_seed(seed)
    ws = []
    n_layers = len(sizes) - 1
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        gain = 1.0 if i == 0 else (0.25 if i == n_layers - 1 else 2.0)
        bound = gain / math.sqrt(n_in)
        w = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound
        ws.append(w.to(device).requires_grad_())
    return ws


def readout_coefficients(steps: int, device: torch.device) -> torch.Tensor:
    """c[t] such that mean over steps of the leaky readout membrane = sum_t c[t] input[t]."""
    beta = math.exp(-DT_S / TAU_OUT_S)
    c = [sum(beta**k for k in range(steps - t)) / steps for t in range(steps)]
    return torch.tensor(c, dtype=torch.float32, device=device)


def forward(
    x: torch.Tensor,
    ws: list[torch.Tensor],
    c: torch.Tensor,
    precision: str,
    record: list | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """x [T, B, 784] spikes -> logits [B, 10] and the hidden spikes of every layer.
    ``record`` (a list) receives (input spikes, output current) of every product."""
    z = x
    hidden = []
    for w in ws[:-1]:
        cur = spike_linear(z, w, precision=precision, check_values=False)  # [T, B, H]
        if record is not None:
            cur.retain_grad()
            record.append((z.detach(), cur))
        zero = torch.zeros(cur.shape[1:], dtype=cur.dtype, device=cur.device)
        z, _ = cuba_lif_sequence(cur, CubaLIFState(zero, zero.clone()), LIF, dt_s=DT_S)
        hidden.append(z)
    out = spike_linear(z, ws[-1], precision=precision, check_values=False)  # [T, B, 10]
    if record is not None:
        out.retain_grad()
        record.append((z.detach(), out))
    return torch.einsum("t,tbn->bn", c, out), hidden


def encode(img: torch.Tensor, steps: int, gen: torch.Generator) -> torch.Tensor:
    """Bernoulli rate code: [B, 784] intensities -> [T, B, 784] spikes (float32 0/1)."""
    r = torch.rand((steps, *img.shape), generator=gen, device=img.device, dtype=img.dtype)
    return (r < img).to(torch.float32)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_one(precision: str, data: dict, args: argparse.Namespace, device: torch.device) -> dict:
    sizes = [784] + [args.hidden] * args.layers + [10]
    ws = init_weights(sizes, seed=args.seed, device=device)
    opt = torch.optim.Adam(ws, lr=args.lr)
    c = readout_coefficients(args.steps, device)
    order_gen = torch.Generator().manual_seed(args.seed + 1)
    spike_gen = torch.Generator(device=device).manual_seed(args.seed + 2)
    xtr, ytr = data["train"]
    n = xtr.shape[0]
    epoch_s, losses, rates = [], [], []
    for epoch in range(args.epochs):
        if epoch > 0 and args.budget_s and time.perf_counter() - T_START > args.budget_s:
            print(
                f"  [{precision}] --budget-s {args.budget_s} reached: stopping after "
                f"{epoch} epoch(s)",
                flush=True,
            )
            break
        perm = torch.randperm(n, generator=order_gen).to(device)
        sync(device)
        t0 = time.perf_counter()
        tot = torch.zeros((), device=device)
        rate = torch.zeros((), device=device)
        nb = 0
        for i in range(0, n, args.batch_size):
            idx = perm[i : i + args.batch_size]
            x = encode(xtr[idx], args.steps, spike_gen)
            logits, hidden = forward(x, ws, c, precision)
            loss = F.cross_entropy(logits, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.detach()
            rate += hidden[0].detach().mean()
            nb += 1
        sync(device)
        epoch_s.append(time.perf_counter() - t0)
        losses.append(float(tot) / nb)
        rates.append(float(rate) / nb)
        print(
            f"  [{precision}] epoch {epoch + 1}/{args.epochs}: {epoch_s[-1]:.3f} s, "
            f"train loss {losses[-1]:.4f}, layer-1 spikes/step {rates[-1]:.4f}",
            flush=True,
        )
    acc = evaluate(ws, data["test"], args, device, precision)
    return {"acc": acc, "epoch_s": epoch_s, "loss": losses, "rate": rates}


@torch.no_grad()
def evaluate(ws, test, args, device, precision: str) -> float:
    xte, yte = test
    c = readout_coefficients(args.steps, device)
    gen = torch.Generator(device=device).manual_seed(args.seed + 3)
    correct = 0
    for i in range(0, xte.shape[0], args.batch_size):
        x = encode(xte[i : i + args.batch_size], args.steps, gen)
        logits, _ = forward(x, ws, c, precision)
        correct += int((logits.argmax(1) == yte[i : i + args.batch_size]).sum())
    return correct / xte.shape[0]


def gradient_agreement(precisions, data, args, device) -> dict[str, dict]:
    """One batch at the initial weights. ``product``: the weight gradients g.T @ x of every
    layer from fp32's own g and x, recomputed in each precision (isolates the rounding of the
    products); ``network``: the whole network run forward and backward in that precision
    (includes spikes that flip because the forward currents were rounded). Cosine vs fp32."""
    xtr, ytr = data["train"]
    idx = torch.arange(min(args.batch_size, xtr.shape[0]), device=device)
    gen = torch.Generator(device=device).manual_seed(args.seed + 4)
    x = encode(xtr[idx], args.steps, gen)
    sizes = [784] + [args.hidden] * args.layers + [10]
    c = readout_coefficients(args.steps, device)
    ws32 = init_weights(sizes, seed=args.seed, device=device)
    record: list = []
    logits, hidden32 = forward(x, ws32, c, "fp32", record)
    F.cross_entropy(logits, ytr[idx]).backward()
    g32 = [w.grad.detach().flatten() for w in ws32]
    out: dict[str, dict] = {}
    for p in precisions:
        if p == "fp32":
            continue
        try:
            prod, rel = [], []
            for w, (z, cur) in zip(ws32, record, strict=True):
                w_ = w.detach().clone().requires_grad_()
                spike_linear(z, w_, precision=p, check_values=False).backward(cur.grad)
                a, b = w_.grad.flatten(), w.grad.flatten()
                prod.append(float(F.cosine_similarity(a, b, dim=0)))
                rel.append(float((a - b).norm() / b.norm()))
            ws = init_weights(sizes, seed=args.seed, device=device)
            logits, hidden = forward(x, ws, c, p)
            F.cross_entropy(logits, ytr[idx]).backward()
            net = [
                float(F.cosine_similarity(w.grad.flatten(), g, dim=0))
                for w, g in zip(ws, g32, strict=True)
            ]
            agree = float((hidden[0] == hidden32[0]).float().mean())
            out[p] = {"product": prod, "rel": rel, "network": net, "spike_agree": agree}
        except Exception as e:  # report and go on (e.g. fp8 failing on this device)
            print(f"  gradient check [{p}] FAILED: {type(e).__name__}: {e}", flush=True)
    return out


def time_products(precisions, args, device, *, repeat: int = 5) -> dict[str, float]:
    """The H -> H products alone: forward, weight gradient and input gradient of
    ``spike_linear`` on [T*B, H] spikes (p = 0.2) and an [H, H] weight; median of ``repeat``
    after one warm-up. Returns seconds per forward + backward."""
    m, h = args.steps * args.batch_size, args.hidden
    gen = torch.Generator(device=device).manual_seed(args.seed + 5)
    x = (torch.rand(m, h, generator=gen, device=device) < 0.2).float().requires_grad_()
    w = (torch.randn(h, h, generator=gen, device=device) / math.sqrt(h)).requires_grad_()
    g = torch.randn(m, h, generator=gen, device=device)
    out = {}
    for p in precisions:
        try:
            times = []
            for k in range(repeat + 1):
                x.grad = w.grad = None
                sync(device)
                t0 = time.perf_counter()
                spike_linear(x, w, precision=p, check_values=False).backward(g)
                sync(device)
                if k:
                    times.append(time.perf_counter() - t0)
            out[p] = statistics.median(times)
            tflops = 3 * 2 * m * h * h / out[p] / 1e12
            print(
                f"  products alone [{p}] [{m}, {h}] x [{h}, {h}] forward + dW + dx: "
                f"{out[p] * 1e3:.3f} ms ({tflops:.1f} TFLOP/s)",
                flush=True,
            )
        except Exception as e:  # report and go on
            print(f"  products alone [{p}] FAILED: {type(e).__name__}: {e}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precisions", default="fp32,bf16,fp8", help="comma-separated")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1, help="hidden CubaLIF layers")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--train-limit", type=int, default=0, help="use only this many (0: all 8000)")
    ap.add_argument(
        "--data-dir",
        default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"),
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--budget-s",
        type=float,
        default=0.0,
        help="after this many seconds since start, every precision stops after its current "
        "epoch (at least one epoch each; 0: no limit)",
    )
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    for name in ("epochs", "hidden", "layers", "steps", "batch_size", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad:
        ap.error(f"--precisions: unknown {bad}; choose from {PRECISIONS}")
    if "fp8" in precisions and not fp8_supported(device):
        print(f"fp8 not supported on {device} (needs CUDA, compute capability >= 8.9): skipped")
        precisions = [p for p in precisions if p != "fp8"]

    print(f"date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"torch {torch.__version__}, python {platform.python_version()}, device {device}")
    if device.type == "cuda":
        print(
            f"gpu: {torch.cuda.get_device_name(device)}, capability "
            f"{torch.cuda.get_device_capability(device)}, "
            f"allow_tf32(matmul)={torch.backends.cuda.matmul.allow_tf32}"
        )
    else:
        print(f"cpu: {platform.processor() or platform.machine()}, threads {args.threads}")
    print(f"bf16 path on {device}: {bf16_path(device)}; fp8 supported: {fp8_supported(device)}")

    (xtr, ytr), (xte, yte) = load_mnist_split(args.data_dir, n_test=2000, seed=args.seed)
    if args.train_limit:
        xtr, ytr = xtr[: args.train_limit], ytr[: args.train_limit]
    data = {
        "train": (torch.from_numpy(xtr).to(device), torch.from_numpy(ytr).to(device)),
        "test": (torch.from_numpy(xte).to(device), torch.from_numpy(yte).to(device)),
    }
    print(
        f"MNIST t10k split: {xtr.shape[0]} train / {xte.shape[0]} test; T={args.steps}, "
        f"784-{'-'.join([str(args.hidden)] * args.layers)}-10, batch {args.batch_size}, "
        f"epochs {args.epochs}, lr {args.lr}, seed {args.seed}",
        flush=True,
    )

    print("gradient agreement (one batch, initial weights, vs fp32):", flush=True)
    agreement = gradient_agreement(precisions, data, args, device)
    for p, a in agreement.items():
        prod = ", ".join(f"W{i + 1} {1 - v:.2e}" for i, v in enumerate(a["product"]))
        net = ", ".join(f"W{i + 1} {v:.5f}" for i, v in enumerate(a["network"]))
        rel = ", ".join(f"W{i + 1} {v:.2e}" for i, v in enumerate(a["rel"]))
        print(f"  [{p}] product-level 1 - cosine (same g, x as fp32): {prod}")
        print(f"  [{p}] product-level relative error |dW - dW32| / |dW32|: {rel}")
        print(
            f"  [{p}] whole-network cosine: {net}; layer-1 spikes equal to fp32: "
            f"{a['spike_agree']:.5f}"
        )

    print("products alone (the floor of the hidden-to-hidden layer):", flush=True)
    floor = time_products(precisions, args, device)
    if "fp32" in floor:
        for p, t in floor.items():
            print(f"SUMMARY products alone {p}: {t * 1e3:.3f} ms, {floor['fp32'] / t:.2f}x vs fp32")

    results = {}
    for p in precisions:
        print(f"training [{p}]", flush=True)
        try:
            results[p] = train_one(p, data, args, device)
        except Exception as e:  # report and go on with the next precision
            print(f"  [{p}] FAILED: {type(e).__name__}: {e}", flush=True)

    print(
        "SUMMARY precision | test acc | s/epoch (last) | s/epoch (all) "
        "| product-level weight-gradient 1 - cosine vs fp32 per layer"
    )
    for p, r in results.items():
        cos = agreement.get(p, {}).get("product")
        cos_s = (
            "-"
            if p == "fp32"
            else ("n/a" if cos is None else " ".join(f"{1 - v:.1e}" for v in cos))
        )
        all_s = " ".join(f"{v:.3f}" for v in r["epoch_s"])
        print(f"SUMMARY {p} | {r['acc']:.4f} | {r['epoch_s'][-1]:.3f} | {all_s} | {cos_s}")
    if "fp32" in results:
        base = statistics.fmean(results["fp32"]["epoch_s"][-1:])
        for p, r in results.items():
            print(f"SUMMARY speed-up {p} vs fp32 (last epoch): {base / r['epoch_s'][-1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
