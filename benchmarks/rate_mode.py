"""Per-step cost of ``mode="rate"`` runs and of differentiable runs with sparse projections
(both deliver through the synapse list: one gather and one index_add per projection and step),
next to the spiking run of the same network for scale.

Networks (dt 0.1 ms):

- ``quickstart``: the README quick start, 1000 Poisson (15 Hz) -> 400 current-based LIF,
  FixedFanIn(k=80, 20 mV); spike and rate monitors on the LIF population;
- ``coba``: the Vogels & Abbott network, ``--coba-n`` conductance-based LIF (80 % excitatory,
  Sparse(p=0.02), we = 0.6, wi = 6.7, 20 mV drive; the initial potential is shared, as rate mode
  needs), spike monitors on both populations.

The differentiable case is ``forward`` + backward of a 200-input spike tensor -> 400 LIF
(Sparse(p=0.1), trainable) with a recurrent Sparse(p=0.05) projection (trainable), batch 8,
loss = sum of the LIF spikes.

Times are the best of ``--repeat`` calls after one warm-up, ``torch.set_num_threads(--threads)``.

    .venv/bin/python benchmarks/rate_mode.py [--threads 1] [--steps 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from _timing import best

import spikesim as ss


def quickstart() -> ss.Network:
    net = ss.Network(dt_s=1e-4, name="quickstart")
    net.add_poisson("input", 1000, rate_hz=15.0)
    net.add_population("exc", 400, ss.LIF(tau_mem_s=20e-3, tau_syn_exc_s=1e-3, t_ref_s=2e-3))
    net.add_projection("in_exc", "input", "exc", ss.FixedFanIn(k=80, weight=20.0))
    net.monitor_spikes("exc")
    net.monitor_rate("exc", bin_s=10e-3)
    return net


def coba(n: int) -> ss.Network:
    model = ss.LIF(
        tau_mem_s=20e-3,
        v_rest_mV=-60.0,
        v_reset_mV=-60.0,
        v_th_mV=-50.0,
        t_ref_s=5e-3,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
        synapse="conductance",
        e_exc_mV=0.0,
        e_inh_mV=-80.0,
        i_bias_mV=20.0,
        v_init_mV=-55.0,
    )
    n_exc = int(round(0.8 * n))
    net = ss.Network(dt_s=1e-4, name="coba")
    net.add_population("exc", n_exc, model)
    net.add_population("inh", n - n_exc, model)
    for pre, receptor, w in (("exc", "exc", 0.6), ("inh", "inh", 6.7)):
        for post in ("exc", "inh"):
            conn = ss.Sparse(p=0.02, weight=w)
            net.add_projection(f"{pre}_{post}", pre, post, conn, receptor=receptor)
    net.monitor_spikes("exc")
    net.monitor_spikes("inh")
    return net


def trainable() -> ss.Network:
    net = ss.Network(dt_s=1e-3, name="sparse_bptt")
    net.add_spike_tensor("x", 200)
    net.add_population("h", 400, ss.LIF(tau_mem_s=20e-3, tau_syn_exc_s=5e-3))
    net.add_projection("in_h", "x", "h", ss.Sparse(p=0.1, weight=4.0), trainable=True)
    net.add_projection("h_h", "h", "h", ss.Sparse(p=0.05, weight=1.0), trainable=True)
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--steps", type=int, default=500, help="steps per timed run (default 500)")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls, best kept (default 3)")
    ap.add_argument("--coba-n", type=int, default=4000, help="COBA neurons (default 4000)")
    ap.add_argument("--batch", type=int, default=8, help="batch of the BPTT case (default 8)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    steps = args.steps

    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {steps} steps, best of {args.repeat}"
    )
    print()
    print(
        "| network | neurons | synapses | steps | rate ms/step | spiking ms/step | rate / spiking |"
    )
    print("|---|---|---|---|---|---|---|")
    for net in (quickstart(), coba(args.coba_n)):
        duration = steps * net.dt_s
        rate_sim = ss.Simulator(net, mode="rate", seed=1)
        spk_sim = ss.Simulator(net, mode="spiking", seed=1)
        n_syn = sum(pr.n_synapses for pr in rate_sim._projections())
        n_neurons = sum(p.size for p in net.populations.values())
        t_rate = best(partial(rate_sim.run, duration, progress=False), args.repeat)
        t_spk = best(partial(spk_sim.run, duration, progress=False), args.repeat)
        r_ms, s_ms = 1e3 * t_rate / steps, 1e3 * t_spk / steps
        print(
            f"| {net.name} | {n_neurons:,} | {n_syn:,} | {steps} | {r_ms:.3f} | {s_ms:.3f} "
            f"| {r_ms / s_ms:.1f}x |"
        )
    print()

    net = trainable()
    sim = ss.Simulator(net, differentiable=True, batch_size=args.batch, seed=1)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(steps, args.batch, 200, generator=gen) < 0.05).float()
    n_syn = sum(pr.n_synapses for pr in sim._projections())

    def fwd() -> torch.Tensor:
        return sim.forward({"x": x}, record=("h",))["h"]

    def fwd_bwd() -> None:
        sim.zero_grad()
        fwd().sum().backward()

    with torch.no_grad():
        t_f = best(fwd, args.repeat)
    t_fb = best(fwd_bwd, args.repeat)
    with torch.no_grad():
        spikes = float(fwd().sum())
    print(
        "| differentiable run | synapses | batch | steps | forward ms/step | forward+backward ms/step |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {net.name} | {n_syn:,} | {args.batch} | {steps} | {1e3 * t_f / steps:.3f} "
        f"| {1e3 * t_fb / steps:.3f} |"
    )
    print()
    print(f"BPTT check: {spikes:.0f} spikes, weight gradients finite: ", end="")
    fwd_bwd()
    print(all(bool(torch.isfinite(p.grad).all()) for p in sim.parameters() if p.grad is not None))


if __name__ == "__main__":
    main()
