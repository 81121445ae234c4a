"""spikesim's Loihi fixed-point mode against Lava's fixed_pt CPU simulation, same networks.

    .venv/bin/python benchmarks/hardware_lava.py [--threads 1] [--device cpu] [--skip-lava]
    .venv/bin/python benchmarks/hardware_lava.py --netx [--threads 1]

``--networks feedforward,ring`` (the default) names the networks to run; ``--networks ring``
is a quick run (the feed-forward network's batched timings take ~30 s on one CPU thread).

Networks: the issue's LIF(1000) -> Dense -> LIF(1000) feed-forward (input 1000 -> Dense ->
LIF 1000 -> Dense -> LIF 1000, 5 % connectivity, 1000 steps) and the quantised ring attractor
(56 neurons, 300 steps). For each: Lava's run time (``seconds_run``: the step loop in the
subprocess, without the Lava import and the file exchange) and its total wall time; spikesim's
fixed-point time at batch 1 and batched (batch 16 and 64: independent input trains), reported
as steps/s and sample-steps/s; the spikes of batch element 0 are checked against Lava's.
Export time: quantisation plus writing the Lava exchange file, NIR and resource report.

``--netx``: each netx case (``netx_cases()``) and the feed-forward benchmark network written
as netx HDF5 (time of ``write_netx``), loaded by lava-dl's own ``hdf5.Network`` and run in
Lava (one subprocess; ``seconds_run`` covers build and run of every batch element), spikes
and ``v`` compared with spikesim's fixed-point mode at every step.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from spikesim.hardware.lava_run import run_in_lava
from spikesim.hardware.loihi import simulate_fixed_point
from spikesim.hardware.loihi.examples import (
    feedforward_benchmark,
    netx_cases,
    ring_attractor,
    ring_attractor_network,
)
from spikesim.hardware.loihi.exchange import write_network
from spikesim.hardware.netx import run_netx_in_lava, write_netx
from spikesim.hardware.nir_io import write_nir
from spikesim.hardware.quantize import quantize
from spikesim.hardware.resources import resource_report


def _time_fixed(case, batch: int, device: str, repeats: int = 2) -> float:
    inputs = {}
    for k, v in case.inputs.items():
        rng = np.random.default_rng(batch)
        tiled = np.concatenate([v] + [rng.permutation(v, axis=0) for _ in range(batch - 1)], 1)
        inputs[k] = torch.as_tensor(tiled[:, :batch], device=device)
    best, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        simulate_fixed_point(case.net, n_steps=case.n_steps, inputs=inputs or None, device=device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def netx_part(device: str, *, feedforward: bool = True) -> None:
    """Agreement and timings of the netx path (see the module doc); ``feedforward``: with the
    feed-forward benchmark network."""
    cases = [*netx_cases(), *([feedforward_benchmark()] if feedforward else [])]
    with tempfile.TemporaryDirectory() as tmp:
        files, t_write = [], {}
        for case in cases:
            path = Path(tmp) / f"{case.name}.net"
            t0 = time.perf_counter()
            write_netx(case.net, path)
            t_write[case.name] = time.perf_counter() - t0
            (spikes,) = case.inputs.values()
            files.append((path, spikes))
        t0 = time.perf_counter()
        results = run_netx_in_lava(files, record_v=True)
        t_total = time.perf_counter() - t0
    print(f"# lava-dl {results[0].lava_dl_version}, lava-nc {results[0].lava_version}; one "
          f"subprocess for all {len(cases)} files: {t_total:.1f} s wall; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print("| network | netx layers | neurons | steps | spikes (per layer) | spikes equal | v equal "
          "| write_netx s | lava-dl build+run s | spikesim b=1 s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, res in zip(cases, results, strict=True):
        ours = simulate_fixed_point(
            case.net, n_steps=case.n_steps, inputs=case.inputs, record_state=True
        )
        s_eq = all(
            np.array_equal(ours.spikes[p.name].numpy(), res.spikes[p.name])
            for p in case.net.populations
        )
        v_eq = all(
            np.array_equal(ours.v[p.name].numpy(), res.v[p.name])  # type: ignore[index]
            for p in case.net.populations
        )
        counts = ", ".join(
            f"{p.name} {int(ours.spikes[p.name].sum())}" for p in case.net.populations
        )
        n = sum(p.n for p in case.net.populations)
        t1 = _time_fixed(case, 1, device)[0]
        print(f"| {case.name} | {len(res.spikes)} | {n} | {case.n_steps} | {counts} | {s_eq} | {v_eq} "
              f"| {t_write[case.name]:.3f} | {res.seconds_run:.2f} | {t1:.3f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-lava", action="store_true")
    ap.add_argument("--netx", action="store_true", help="the lava-dl netx part only")
    ap.add_argument(
        "--networks",
        default="feedforward,ring",
        help="comma-separated: feedforward (feedforward_benchmark), ring (ring_attractor)",
    )
    args = ap.parse_args()
    networks = [s.strip() for s in args.networks.split(",") if s.strip()]
    unknown = sorted(set(networks) - {"feedforward", "ring"})
    if unknown or not networks:
        ap.error(f"--networks: expected a subset of feedforward,ring, got {args.networks!r}")
    torch.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}")  # fmt: skip
    if args.netx:
        netx_part(args.device, feedforward="feedforward" in networks)
        return
    make = {"feedforward": feedforward_benchmark, "ring": ring_attractor}
    cases = [make[name]() for name in ("feedforward", "ring") if name in networks]
    rows = []
    for case in cases:
        lava_run = lava_total = lava_cpu = float("nan")
        if not args.skip_lava:
            c0 = _child_cpu()
            res = run_in_lava(case.net, n_steps=case.n_steps, inputs=case.inputs or None)
            lava_run, lava_total = res.seconds_run, res.seconds_total
            lava_cpu = _child_cpu() - c0  # the whole subprocess (import, build, run)
            ours = simulate_fixed_point(case.net, n_steps=case.n_steps, inputs=case.inputs or None)
            for p in case.net.populations:
                assert np.array_equal(ours.spikes[p.name].numpy(), res.spikes[p.name]), p.name
        t1 = _time_fixed(case, 1, args.device)
        t16 = _time_fixed(case, 16, args.device)
        t64 = _time_fixed(case, 64, args.device)
        n = sum(p.n for p in case.net.populations)
        rows.append((case.name, n, case.n_steps, lava_run, lava_total, lava_cpu, t1, t16, t64))
    print(f"# load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        "| network | neurons | steps | Lava run s | Lava total s (CPU s) | spikesim b=1 s (CPU s) "
        "| ratio (run) | b=16 s | b=64 s (CPU s) | b=64 sample-steps/s | vs Lava per sample |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, steps, lr, lt, lc, t1, t16, t64 in rows:
        print(
            f"| {name} | {n} | {steps} | {lr:.2f} | {lt:.2f} ({lc:.2f}) | {t1[0]:.3f} ({t1[1]:.3f}) "
            f"| {lr / t1[0]:.1f}x | {t16[0]:.3f} | {t64[0]:.3f} ({t64[1]:.3f}) "
            f"| {64 * steps / t64[0]:,.0f} | {64 * lr / t64[0]:.0f}x |"
        )
    # export time of the float ring attractor and of the 2000-neuron benchmark network
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        q = quantize(ring_attractor_network())
        resource_report(q.loihi)
        write_nir(ring_attractor_network(), Path(tmp) / "ring.nir")
        t_ring = time.perf_counter() - t0
        bench = feedforward_benchmark()
        t0 = time.perf_counter()
        resource_report(bench.net)
        write_network(
            bench.net, Path(tmp) / "b.npz", n_steps=bench.n_steps, inputs=bench.inputs, batch=1
        )
        t_bench = time.perf_counter() - t0
    print(f"\nexport: ring attractor quantise + resources + NIR {t_ring:.3f} s; "
          f"feedforward_benchmark resources + Lava exchange file {t_bench:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
