"""Deploy a float spikesim network to Loihi 2 via Lava, end to end (20-40 s on a 2-core CPU).

float network (a CubaLIF ring attractor) -> quantise to Loihi integers (error report) ->
resource report against Loihi 2 limits -> export (NIR, Lava exchange file) -> run in Lava's
bit-accurate fixed-point simulation -> verify against spikesim's fixed-point mode, spike for
spike, and against the float run. Then the lava-dl path: a layered float network quantised
for netx, written as netx HDF5 and loaded by lava-dl's own ``hdf5.Network`` in Lava.

Needs the managed Lava environment once: ``spikesim lava setup`` (lava-nc and lava-dl).

    python examples/lava_deploy.py --out-dir /tmp/lava_deploy
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from spikesim.hardware.lava_run import run_in_lava
from spikesim.hardware.loihi import simulate_fixed_point
from spikesim.hardware.loihi.examples import netx_quantized_network, ring_attractor_network
from spikesim.hardware.loihi.exchange import write_network
from spikesim.hardware.netx import NETX_QUANTIZE, run_netx_in_lava, write_netx
from spikesim.hardware.nir_io import read_nir, write_nir
from spikesim.hardware.quantize import quantize
from spikesim.hardware.resources import check_resources

from spikesim import Simulator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", type=Path, default=Path("lava_deploy_out"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    n_steps = args.steps

    # 1. the float network and its input: a 30-step cue at neurons 20-24
    net = ring_attractor_network(n=48)
    rng = np.random.default_rng(args.seed)
    cue = np.zeros((n_steps, 1, 48), dtype=np.uint8)
    cue[:30, 0, 20:25] = rng.random((30, 5)) < 0.5
    print(net.summary())

    # 2. quantisation with its error report
    q = quantize(net)
    print("\nquantisation\n" + q.report.format())

    # 3. resource report (raises, naming the population/connection, if it does not fit)
    print("\nresources\n" + check_resources(q.loihi).format())

    # 4. exports: NIR (float network; read back to check) and the Lava exchange file
    t0 = time.perf_counter()
    write_nir(net, args.out_dir / "ring.nir")
    write_network(
        q.loihi, args.out_dir / "ring_lava.npz", n_steps=n_steps, inputs={"cue": cue}, batch=1
    )
    t_export = time.perf_counter() - t0
    assert set(read_nir(args.out_dir / "ring.nir").populations) == set(net.populations)
    print(f"\nexported NIR and Lava files to {args.out_dir} in {t_export:.2f} s")

    # 5. run in Lava (fixed_pt) and in spikesim's fixed-point mode; 6. verify
    lava = run_in_lava(q.loihi, n_steps=n_steps, inputs={"cue": cue}, record_v=True)
    ours = simulate_fixed_point(q.loihi, n_steps=n_steps, inputs={"cue": cue}, record_state=True)
    for name in ("ring", "inh"):
        s_ours, s_lava = ours.spikes[name].numpy(), lava.spikes[name]
        same = np.array_equal(s_ours, s_lava) and np.array_equal(ours.v[name].numpy(), lava.v[name])
        print(
            f"{name}: spikesim fixed point {int(s_ours.sum())} spikes, Lava {int(s_lava.sum())}: "
            + ("identical spikes and v at every step" if same else "DIFFERENT")
        )
        if not same:
            raise SystemExit(1)
    print(
        f"Lava {lava.lava_version}: {lava.seconds_run:.2f} s run, {lava.seconds_total:.2f} s total"
    )

    # the float model the integers came from
    sim = Simulator(net, dtype="float64")
    fl = sim.forward(
        {"cue": torch.as_tensor(cue, dtype=torch.float64)}, n_steps=n_steps, record=("ring",)
    )
    f_ring = fl["ring"][:, 0].numpy().astype(bool)
    l_ring = lava.spikes["ring"][:, 0]
    print(
        f"float run: {int(f_ring.sum())} ring spikes (Lava {int(l_ring.sum())}); "
        f"{(f_ring != l_ring).mean():.2%} of neuron-steps differ after quantisation"
    )
    late = np.flatnonzero(l_ring[n_steps // 2 :].sum(axis=0))
    print(f"bump held by neurons {late.min()}..{late.max()} in the second half of the run")

    # 7. lava-dl netx: a layered network (events -> hidden -> classes) quantised for netx
    #    (weight_exp 0, bias_exp 6), written as netx HDF5, built by lava-dl's hdf5.Network
    layered = netx_quantized_network()
    qn = quantize(layered, **NETX_QUANTIZE)
    write_netx(qn.loihi, args.out_dir / "layered.net")
    events = (rng.random((n_steps, 1, 32)) < 0.1).astype(np.uint8)
    (dl,) = run_netx_in_lava([(args.out_dir / "layered.net", events)], record_v=True)
    ours = simulate_fixed_point(
        qn.loihi, n_steps=n_steps, inputs={"events": events}, record_state=True
    )
    for name in ("hidden", "classes"):
        same = np.array_equal(ours.spikes[name].numpy(), dl.spikes[name]) and np.array_equal(
            ours.v[name].numpy(), dl.v[name]
        )
        print(
            f"netx {name}: spikesim {int(ours.spikes[name].sum())} spikes, lava-dl "
            f"{dl.lava_dl_version} {int(dl.spikes[name].sum())}: "
            + ("identical spikes and v at every step" if same else "DIFFERENT")
        )
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
