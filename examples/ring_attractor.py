"""Head-direction ring attractor: a bump that holds its position and integrates turning.

Rate model after Zhang (1996): a cue forms a bump of activity on a ring of 128 units; without
input the bump stays where it is; an angular-velocity signal, fed as the asymmetric weight
component gamma(t), moves it, so the bump position is the integral of the angular velocity.
With ``--spiking`` a second panel shows the spiking E/I version (LIF neurons on a ring, after
Compte et al. 2000, built as a spikesim Network) holding a cued bump without input.
About 3 s on one CPU thread (the spiking panel adds about 3 s). Prints the bump's speed per
unit gamma (Zhang: 1/tau = 100 rad/s) and the largest integration error.

    python examples/ring_attractor.py --out ring_attractor.png [--spiking]
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from spikesim.models.wave.attractors import (  # noqa: E402
    ZhangRing,
    bump_angle,
    ring_attractor_network,
)

from spikesim import Simulator  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="ring_attractor.png")
    p.add_argument("--spiking", action="store_true", help="add the spiking E/I network panel")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    z = ZhangRing()
    # calibrate speed per unit gamma, then: 1 s hold, 3 s of turning, 1 s hold
    u = z.settle(0.0)
    t, r = z.run(0.5, u0=u, gamma=0.1, record_every=5)
    gain = np.polyfit(t[20:], np.unwrap(bump_angle(r))[20:], 1)[0] / 0.1
    dt = z.dt_s
    tt = np.arange(int(5.0 / dt)) * dt
    omega = np.where((tt > 1.0) & (tt < 4.0), 2.5 * np.sin(2 * np.pi * (tt - 1.0) / 3.0) + 1.0, 0)
    u = z.settle(np.pi / 2)
    start = bump_angle(z.f(u).numpy())
    t, r = z.run(5.0, u0=u, gamma=omega / gain, record_every=10)
    decoded = np.unwrap(np.concatenate([[start], bump_angle(r)]))[1:]
    integrated = start + np.cumsum(omega)[9::10] * dt
    err = np.max(np.abs(decoded - integrated))
    print(
        f"speed per unit gamma {gain:.1f} rad/s (Zhang: 1/tau = {1 / z.tau_s:.0f}); "
        f"max integration error {err:.4f} rad"
    )
    rows = 3 if a.spiking else 2
    fig, ax = plt.subplots(rows, 1, figsize=(8, 3.2 * rows))
    ang = np.degrees(z.angles)
    ax[0].imshow(
        r.T, aspect="auto", origin="lower", cmap="viridis", extent=(t[0], t[-1], ang[0], ang[-1])
    )
    ax[0].plot(t, np.degrees(np.mod(decoded, 2 * np.pi)), "w.", ms=1, label="decoded bump")
    ax[0].plot(
        t,
        np.degrees(np.mod(integrated, 2 * np.pi)),
        "r.",
        ms=0.6,
        label="integral of angular velocity",
    )
    ax[0].set_ylabel("preferred direction (deg)")
    ax[0].set_title(
        f"Zhang ring attractor: hold (0-1 s), turn (1-4 s), hold (4-5 s); max error {err:.3f} rad",
        fontsize=9,
    )
    ax[0].legend(loc="upper right", fontsize=7)
    ax[1].plot(tt, omega, "k")
    ax[1].set_ylabel("angular velocity (rad/s)")
    ax[1].set_xlabel("time (s)")
    if a.spiking:
        net = ring_attractor_network(cue_angle_rad=np.pi / 2)
        res = Simulator(net, mode="spiking", seed=a.seed).run(1.0)
        spk = res.spikes["exc_spikes"]
        n = net.populations["exc"].size
        ax[2].plot(spk.step * net.dt_s, spk.index * 360.0 / n, "k.", ms=1)
        ax[2].axvspan(0.05, 0.25, color="orange", alpha=0.2, label="cue at 90 deg")
        ax[2].set_ylabel("E neuron (deg)")
        ax[2].set_xlabel("time (s)")
        ax[2].set_ylim(0, 360)
        ax[2].set_title(
            "spiking E/I ring attractor (128 E + 32 I LIF): the bump outlasts the cue", fontsize=9
        )
        ax[2].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
