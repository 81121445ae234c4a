"""Cost of checking a spike-tensor input against its source's ``values`` (Simulator.run and
forward check every input once per call), next to the run it guards.

The input is an N-MNIST-sized spike tensor, 300 steps x batch 32 x (2 x 34 x 34) neurons
(22.2 M entries, Bernoulli p = 0.05), in several dtypes; the run is that input -> 100 CubaLIF
-> 10 CubaLIF (two Dense projections), ``Simulator.run`` and ``forward`` + backward. Times are
the best of ``--repeat`` calls after one warm-up, one thread (``torch.set_num_threads(1)``).

    .venv/bin/python benchmarks/spike_input_check.py [--repeat 5] [--steps 300] [--batch 32]

It also checks what the check is for: a float32 input with one entry 2 at a known place is
refused for ``binary`` (and taken for ``count``), and the error names that place.
"""

from __future__ import annotations

import argparse

import torch
from _timing import best

import spikesim as ss
from spikesim.engine.simulator import check_spike_values

N = 2 * 34 * 34


def _net(values: str) -> ss.Network:
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", N, values=values)
    net.add_population("h", 100, ss.CubaLIF())
    net.add_population("y", 10, ss.CubaLIF())
    net.add_projection("w1", "x", "h", ss.Dense(weight=ss.Normal(0, 0.05)), trainable=True)
    net.add_projection("w2", "h", "y", ss.Dense(weight=ss.Normal(0, 0.3)), trainable=True)
    net.monitor_spikes("y")
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300, help="time steps T of the input")
    ap.add_argument("--batch", type=int, default=32, help="batch size B of the input")
    args = ap.parse_args()
    T, B = args.steps, args.batch
    torch.set_num_threads(1)
    x = (torch.rand(T, B, N, generator=torch.Generator().manual_seed(0)) < 0.05).float()
    print("| input dtype | values | check ms | ns per entry |\n|---|---|---|---|")
    for dtype in (torch.float32, torch.float64, torch.float16, torch.uint8, torch.bool):
        xx = x.to(dtype)
        for values in ("real", "count", "binary"):
            t = best(lambda xx=xx, v=values: check_spike_values("input 'x'", xx, v), args.repeat)
            print(f"| {str(dtype)[6:]} | {values} | {t * 1e3:.1f} | {t / xx.numel() * 1e9:.2f} |")
    bad = x.clone()
    bad[T // 2, B - 1, 7] = 2.0
    try:
        check_spike_values("input 'x'", bad, "binary")
        named = False
    except ss.ParameterError as err:
        named = f"step {T // 2}" in str(err) and "neuron 7" in str(err)
    check_spike_values("input 'x'", bad, "count")
    print(f"\na 2 in a binary input refused, naming step and neuron: {named}")
    sim = ss.Simulator(_net("binary"), batch_size=B)
    run = best(lambda: sim.run(T * 1e-3, inputs={"x": x}, progress=False), args.repeat)
    train = ss.Simulator(_net("binary"), batch_size=B, differentiable=True)

    def step() -> None:
        train({"x": x}, record=("y",))["y"].sum().backward()

    fb = best(step, args.repeat)
    print(f"\nSimulator.run (float32 input, check included): {run * 1e3:.0f} ms")
    print(f"forward + backward (float32 input, check included): {fb * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
