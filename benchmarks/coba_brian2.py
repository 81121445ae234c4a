"""COBA (Vogels-Abbott) network, 1 s at dt = 0.1 ms: spikesim against Brian2 in the same run.

    .venv/bin/python benchmarks/coba_brian2.py [--targets numpy cython cpp_standalone] [--threads 1]
        [--no-compiled]

Prints one markdown table row per engine: wall time of the run (Brian2: ``Network.run``; for
cpp_standalone also the simulation loop alone, without code generation and compilation), the
CPU time of this process during the run (for engines that run in it: spikesim, Brian2
numpy/cython; on a shared machine it moves less with the load than wall time does), mean
rates and CV of both populations, and the ratio to spikesim. The network is frozen with
one seed so both simulators run the same synapses and initial values.

``spikesim compiled`` is the same run with ``Simulator.compiled_loop = True`` (numba): its
first call (JIT compilation, or loading numba's on-disk cache) is printed apart from the best
of ``--repeat`` later runs, and its spikes are checked to be identical to the torch loop's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np
import torch
from spikesim.models.classic import vogels_abbott_coba

import spikesim as ss
from spikesim.reference.brian2 import run_brian2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", nargs="*", default=["numpy", "cython", "cpp_standalone"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration-s", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2, help="spikesim runs (best is reported)")
    ap.add_argument("--no-compiled", action="store_true", help="skip the compiled loop row")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = vogels_abbott_coba()
    rows = []

    load = os.getloadavg()[0]
    best = None
    for _ in range(args.repeat):
        sim = ss.Simulator(net, seed=args.seed)
        t0, c0 = time.perf_counter(), time.process_time()
        res = sim.run(args.duration_s)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu, res)
    assert best is not None
    ours_wall, ours_cpu, ours = best
    rows.append((f"spikesim (torch CPU, {args.threads} thread)", ours_wall, None, ours_cpu, ours))
    if not args.no_compiled:
        first = None
        cbest = None
        for _ in range(args.repeat + 1):
            sim = ss.Simulator(net, seed=args.seed)
            sim.compiled_loop = True
            t0, c0 = time.perf_counter(), time.process_time()
            res = sim.run(args.duration_s)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if sim.compiled_reason is not None:
                print(f"spikesim compiled: not used ({sim.compiled_reason})")
                break
            if first is None:
                first = wall
                continue
            if cbest is None or wall < cbest[0]:
                cbest = (wall, cpu, res)
        if first is not None and cbest is not None:
            same = all(
                np.array_equal(getattr(ours.spikes[m], f), getattr(cbest[2].spikes[m], f))
                for m in ours.spikes
                for f in ("step", "batch", "index")
            )
            print(
                f"spikesim compiled: first call {first:.2f} s (JIT or cache load + run), "
                f"best run {cbest[0]:.3f} s, spikes identical to the torch loop: {same}"
            )
            rows.append(("spikesim compiled (numba CPU, 1 thread)", *cbest[:1], None, *cbest[1:]))
    for target in args.targets:
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            ref = run_brian2(net, duration_s=args.duration_s, seed=args.seed, target=target)
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
        except Exception as exc:  # a target that does not build here is reported, not fatal
            print(f"brian2 {target}: failed: {exc}")
            continue
        rows.append(
            (
                f"Brian2 2.9.0 {target}",
                ref.provenance.get("wall_time_s", total),
                ref.provenance.get("sim_time_s"),
                None if target == "cpp_standalone" else cpu,  # a separate process
                ref,
            )
        )

    now = datetime.datetime.now(datetime.UTC)
    print(
        f"\n{now:%Y-%m-%d %H:%M} UTC, {platform.machine()} {platform.processor() or ''}, "
        f"torch {torch.__version__}, load average {load:.1f} (start) / {os.getloadavg()[0]:.1f} (end)"
    )
    print(
        "| engine | run wall (s) | loop only (s) | CPU (s) | exc rate (Hz) | inh rate (Hz) | exc CV "
        "| wall / spikesim wall | loop / spikesim wall |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, wall, loop, cpu, r in rows:
        ratio = "—" if r is ours else f"{wall / ours_wall:.2f}"
        loop_ratio = "—" if r is ours or loop is None else f"{loop / ours_wall:.2f}"
        loop_s = f"{loop:.2f}" if loop is not None else "—"
        cpu_s = f"{cpu:.2f}" if cpu is not None else "—"
        print(
            f"| {name} | {wall:.2f} | {loop_s} | {cpu_s} | {r.mean_rate_hz('exc_spikes'):.2f} | "
            f"{r.mean_rate_hz('inh_spikes'):.2f} | {r.cv_isi('exc_spikes'):.3f} | {ratio} | "
            f"{loop_ratio} |"
        )
    compiled = [r for r in rows if r[0].startswith("spikesim compiled")]
    for name, wall, loop, _, _ in rows:
        if compiled and name.startswith("Brian2"):
            best = loop if loop is not None else wall
            print(
                f"{name} {'loop' if loop is not None else 'run'} / spikesim compiled run: "
                f"{best / compiled[0][1]:.2f}"
            )


if __name__ == "__main__":
    main()
