"""Scale series: N LIF neurons with fixed fan-in K, Poisson drive; time per biological second.

    .venv/bin/python benchmarks/scale_series.py --sizes 10000 100000 1000000 --fan-in 100 --device cpu

For each size: build time (drawing the synapses and building the tensors), wall time per
biological second, synaptic events per second (delivered spikes x fan-out), bytes of projection
tensors per synapse, and the peak resident memory of the process (``ru_maxrss``: the maximum so
far, so run a large size on its own to read its peak). Synapses: K recurrent (80 % excitatory,
20 % inhibitory with a 1.5 ms delay) plus 100 from a Poisson population of N / 10, per neuron.
The recurrent network is inhibition-dominated (Brunel-style) so rates stay near 5-25 Hz.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import resource
import time

import torch

import spikesim as ss


def network(n: int, k: int) -> ss.Network:
    net = ss.Network(dt_s=1e-4, name=f"scale_{n}")
    n_ext = max(n // 10, 100)
    net.add_poisson("ext", n_ext, rate_hz=20.0)
    lif = ss.LIF(
        tau_mem_s=20e-3,
        tau_syn_exc_s=2e-3,
        tau_syn_inh_s=2e-3,
        t_ref_s=2e-3,
        v_init_mV=ss.Uniform(-65.0, -50.0),
    )
    net.add_population("n", n, lif)
    # external drive: 100 inputs x 20 Hz x w x tau_syn ~ 20 mV mean
    net.add_projection("ext_n", "ext", "n", ss.FixedFanIn(k=100, weight=5.0))
    net.add_projection("exc", "n", "n", ss.FixedFanIn(k=int(0.8 * k), weight=20.0 / k))
    net.add_projection(
        "inh",
        "n",
        "n",
        ss.FixedFanIn(k=int(0.2 * k), weight=400.0 / k),
        receptor="inh",
        delay_steps=15,
    )
    net.monitor_rate("n", bin_s=1e-2)
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--fan-in", type=int, default=100)
    ap.add_argument("--duration-s", type=float, default=0.1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.device.startswith("cuda"):
        print(f"# {torch.cuda.get_device_name()}; last column: peak CUDA memory allocated")
    print(
        "| neurons | synapses | build (s) | wall per bio s (s) | rate (Hz) | syn. events/s | bytes/synapse | peak RSS (GiB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        net = network(n, args.fan_in)
        t0 = time.perf_counter()
        sim = ss.Simulator(net, seed=1, device=args.device)
        build = time.perf_counter() - t0
        syn = sum(p.n_synapses for p in sim.projs.values())
        nbytes = sum(b.numel() * b.element_size() for p in sim.projs.values() for b in p.buffers())
        sim.run(0.01)  # warm-up
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = sim.run(args.duration_s)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        rate = float(res.rates["n_rate"].rate_hz.mean())
        events = (
            rate * n * args.duration_s * args.fan_in + 20.0 * (n // 10) * args.duration_s * 1000
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        if args.device.startswith("cuda"):  # the device's peak instead of the host's
            rss = torch.cuda.max_memory_allocated() / 2**30
            torch.cuda.reset_peak_memory_stats()
        del sim, res
        gc.collect()
        print(
            f"| {n:,} | {syn:,} | {build:.1f} | {wall / args.duration_s:.1f} | {rate:.1f} | "
            f"{events / wall:.3g} | {nbytes / syn:.1f} | {rss:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
