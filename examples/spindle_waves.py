"""Sleep spindles as rotating waves: run the spindle model, analyse its 8 x 8 electrode grid,
and draw the pictures.

    python examples/spindle_waves.py --out spindle_pictures    # rate mode, ~1-3 min on one CPU thread
    python examples/spindle_waves.py --out pics --chirality 0 --mode spiking --rows 30
    python examples/spindle_waves.py --out pics --mode spiking --thalamus lif --rows 20

``--thalamus lif`` uses deterministic LIF relay / reticular cells (``LIF_THALAMUS``): in
spiking mode the thalamic ring then twists as the rate ring does (50 % rotating cycles in
the benchmark), while the default rate-unit thalamus fires Poisson spikes whose noise keeps
the ring mostly in phase (benchmarks/spindle_waves.md).

Writes to ``--out``:

- ``phase_maps.png``: the phase map of successive spindle cycles on the electrode grid, each
  with its class (rotating / expanding / planar / other), the rotation centre (x) or the
  source (+), and the propagation direction field;
- ``wave.gif``: a movie of the band-passed LFP over one spindle (needs pillow);
- ``spectrogram.png``: spectrogram of the grid-mean LFP with the spindle band and the gated
  episodes;
- ``summary.json``: fractions of rotating / expanding / planar cycles, rotation direction,
  phase speed and frequency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import signal  # noqa: E402
from spikesim.models.spindle import (  # noqa: E402
    LIF_THALAMUS,
    SpindleConfig,
    electrode_positions,
    lfp,
    run_spindles,
)

from spikesim.analysis.signal import bandpass  # noqa: E402
from spikesim.analysis.waves import analyze_waves, grid_of, phase_gradient  # noqa: E402

MARK = {"rotating": "x", "expanding": "+", "planar": "", "other": ""}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Spindle traveling waves: model, analysis, pictures")
    p.add_argument("--out", default="spindle_pictures", help="output folder")
    p.add_argument("--mode", choices=("spiking", "rate"), default="rate")
    p.add_argument(
        "--thalamus",
        choices=("rate", "lif"),
        default="rate",
        help="thalamic cells: rate units (Poisson spikes in spiking mode) or deterministic "
        "LIF cells (LIF_THALAMUS; use with --mode spiking)",
    )
    p.add_argument("--seconds", type=float, default=2.5, help="simulated time")
    p.add_argument("--rows", type=int, default=16, help="cortical sites per side (80 mm sheet)")
    p.add_argument(
        "--chirality",
        type=float,
        default=1.0,
        help="thalamic coupling tilt in [-1, 1] (+: counter-clockwise; 0: no preferred sense)",
    )
    # with chirality 1 every episode of the benchmark's rate-mode runs (seed 2) turned
    # counter-clockwise (benchmarks/spindle_waves.md); at chirality 0 the sense is random
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--cycles", type=int, default=12, help="phase maps to draw")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = SpindleConfig()
    spacing = 0.08 / args.rows
    scale = (spacing / base.spacing_m) ** 2  # synapses per area as in the default sheet
    conn = {}
    for p_name, w_name in (("p_ee", "w_ee_mV"), ("p_ei", "w_ei_mV"), ("p_ie", "w_ie_mV")):
        prob = getattr(base, p_name) * scale
        conn[p_name] = min(1.0, prob)
        conn[w_name] = getattr(base, w_name) * max(1.0, prob)
    cfg = dataclasses.replace(
        base,
        duration_s=args.seconds,
        first_episode_s=0.3,
        min_episode_s=1.5,
        max_episode_s=2.5,
        rows=args.rows,
        cols=args.rows,
        spacing_m=spacing,
        chirality=args.chirality,
        **conn,
        **(LIF_THALAMUS if args.thalamus == "lif" else {}),
    )
    print(
        f"running {args.mode} mode ({args.thalamus} thalamus), {args.seconds} s, "
        f"{args.rows}x{args.rows} cortical sites ..."
    )
    res, eps = run_spindles(cfg, mode=args.mode, seed=args.seed)
    episodes = eps[0]
    x, fs = lfp(res, cfg)
    el = electrode_positions(cfg)
    windows = [(e.start_s + 0.2, e.start_s + e.duration_s - 0.2) for e in episodes]
    if not windows:
        raise SystemExit("no spindle episode fits in --seconds; use a longer run")
    a = analyze_waves(x, fs_hz=fs, positions_m=el, spindles=windows, seed=args.seed)
    summary = {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v)
        for k, v in a.summary().items()
    }
    summary["episodes"] = [dataclasses.asdict(e) for e in episodes]
    summary["mode"], summary["thalamus"] = args.mode, args.thalamus
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "episodes"}, indent=1))

    g = grid_of(el)
    xs = (el[:, 0] - el[:, 0].min()) * 1e3
    ys = (el[:, 1] - el[:, 1].min()) * 1e3
    origin = el.min(axis=0)
    # --- phase maps per cycle
    n = min(args.cycles, len(a.cycles))
    cols = min(6, max(n, 1))
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.3 * cols, 2.7 * rows), squeeze=False, constrained_layout=True
    )
    for ax in axes.ravel():
        ax.axis("off")
    start = max(0, len(a.cycles) // 2 - n // 2)
    for i in range(n):
        c = a.cycles[start + i]
        ph = a.phase_maps[start + i]
        ax = axes.ravel()[i]
        img = g.to_grid(ph[None])[0]
        ax.imshow(
            img,
            origin="lower",
            cmap="hsv",
            vmin=-np.pi,
            vmax=np.pi,
            extent=(-5, xs.max() + 5, -5, ys.max() + 5),
        )
        gx, gy = phase_gradient(ph, el)
        mag = np.hypot(gx, gy) + 1e-12
        ax.quiver(xs, ys, -gx / mag, -gy / mag, color="k", scale=18, width=0.012)
        if c.kind == "rotating":
            ax.plot(
                (c.centre_m[0] - origin[0]) * 1e3,
                (c.centre_m[1] - origin[1]) * 1e3,
                "wx",
                ms=10,
                mew=3,
            )
            label = f"rotating {'CCW' if c.rotation > 0 else 'CW'} {c.rotating_score:.2f}"
        elif c.kind == "expanding":
            ax.plot(
                (c.source_m[0] - origin[0]) * 1e3,
                (c.source_m[1] - origin[1]) * 1e3,
                "w+",
                ms=12,
                mew=3,
            )
            label = f"expanding {c.expanding_score:.2f}"
        else:
            label = f"{c.kind} pgd {c.pgd:.2f}"
        ax.set_title(f"t={c.time_s:.2f}s\n{label}", fontsize=8)
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"Spindle phase maps ({args.mode} mode, {args.thalamus} thalamus, chirality "
        f"{args.chirality:+.2f}); x: centre, +: source"
    )
    fig.savefig(out / "phase_maps.png", dpi=110)
    plt.close(fig)
    # --- spectrogram of the grid mean
    m = x.mean(axis=0)
    f, t, S = signal.spectrogram(
        m - m.mean(), fs=fs, nperseg=int(0.5 * fs), noverlap=int(0.45 * fs)
    )
    fig, ax = plt.subplots(figsize=(8, 3.5))
    keep = f <= 40
    ax.pcolormesh(t, f[keep], 10 * np.log10(S[keep] + 1e-12), shading="auto", cmap="magma")
    for y in (11, 15):
        ax.axhline(y, color="c", lw=1, ls="--")
    for e in episodes:
        ax.axvspan(e.start_s, e.start_s + e.duration_s, ymin=0.96, ymax=1.0, color="lime")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title("Grid-mean LFP spectrogram (dB); dashed: 11-15 Hz; green: gated episodes")
    fig.tight_layout()
    fig.savefig(out / "spectrogram.png", dpi=110)
    plt.close(fig)
    # --- movie of one spindle
    try:
        import PIL  # noqa: F401
        from matplotlib.animation import PillowWriter
    except ImportError:
        print("pillow not installed: no wave.gif")
        return
    xb = bandpass(x, fs_hz=fs, band_hz=(9.0, 18.0))
    e = max(episodes, key=lambda ep: ep.duration_s)
    mid = e.start_s + e.duration_s / 2
    frames = np.arange(int((mid - 0.25) * fs), int((mid + 0.25) * fs), max(1, int(fs / 100)))
    vmax = np.abs(xb[:, frames]).max()
    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    im = ax.imshow(
        g.to_grid(xb[:, frames[0]][None])[0],
        origin="lower",
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        extent=(-5, xs.max() + 5, -5, ys.max() + 5),
    )
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    title = ax.set_title("")
    writer = PillowWriter(fps=20)
    with writer.saving(fig, str(out / "wave.gif"), dpi=80):
        for k in frames:
            im.set_data(g.to_grid(xb[:, k][None])[0])
            title.set_text(f"9-18 Hz LFP, t = {k / fs:.2f} s")
            writer.grab_frame()
    plt.close(fig)
    print(f"pictures in {out}/")


if __name__ == "__main__":
    main()
