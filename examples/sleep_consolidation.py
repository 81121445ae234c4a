"""Sleep consolidation, the whole story: place cells -> CA3 STDP -> ripple replay -> cortex, and
the Go-CLS complementary-learning-systems curves. Draws the figures into ``--out``.

    .venv/bin/python examples/sleep_consolidation.py --out figures/sleep   # ~1-3 min, one CPU thread
    .venv/bin/python examples/sleep_consolidation.py --full --out figures/sleep_full

Figures: place_fields.png (tuning curves ordered by field and the learned CA3 weight profile),
replay_event.png (posterior of the best forward and reverse replay events with the fitted
line), consolidation.png (cortical sequence score with and without sleep replay), go_cls.png
(generalization error against replay time for a reliable and a noisy teacher, final error
against P/N, replay vs online learning).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from spikesim.models.replay.consolidation import cortex_consolidation, go_cls  # noqa: E402
from spikesim.models.replay.experiments import track_session  # noqa: E402


def fig_place_fields(s, out: Path) -> None:
    tc = s.tuning
    order = np.argsort(tc.peak_positions_m())
    r = tc.rates_hz[order]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    im = ax[0].imshow(
        r / np.maximum(r.max(axis=1, keepdims=True), 1e-9),
        aspect="auto",
        origin="lower",
        extent=[0, tc.edges_m[0][-1], 0, r.shape[0]],
        cmap="viridis",
    )
    ax[0].set(
        xlabel="position (m)",
        ylabel="cell (ordered by field)",
        title="CA3 place fields (normalised rate)",
    )
    fig.colorbar(im, ax=ax[0])
    off, prof = s.model.weight_profile(bin_m=0.02, max_offset_m=0.3)
    ax[1].bar(off * 100, prof, width=1.8)
    ax[1].set(
        xlabel="field offset post - pre (cm)",
        ylabel="mean weight (mV)",
        title=f"learned CA3 weights (asymmetry {s.model.weight_asymmetry():.2f})",
    )
    fig.tight_layout()
    fig.savefig(out / "place_fields.png", dpi=110)
    plt.close(fig)


def fig_replay(s, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, direction in zip(axes, ("forward", "reverse"), strict=True):
        cand = [(sc.line.score, k) for k, sc in enumerate(s.scores) if sc.direction == direction]
        if not cand:
            ax.set_title(f"no {direction} event")
            continue
        k = max(cand)[1]
        sc, post = s.scores[k], s.posteriors[k]
        nt, nx = post.shape
        bin_s, bin_m = s.params["event_bin_s"], s.tuning.edges_m[0][1] - s.tuning.edges_m[0][0]
        ax.imshow(
            post.T,
            aspect="auto",
            origin="lower",
            cmap="hot",
            extent=[0, nt * bin_s * 1e3, 0, nx * bin_m],
        )
        t = np.arange(nt)
        ax.plot(
            (t + 0.5) * bin_s * 1e3,
            (sc.line.intercept_bins + sc.line.slope_bins_per_bin * t + 0.5) * bin_m,
            "c--",
            lw=1.5,
        )
        ax.set_ylim(0, nx * bin_m)
        ax.set(
            xlabel="time in event (ms)",
            ylabel="decoded position (m)",
            title=f"{direction}: {sc.speed_m_s:.1f} m/s ({sc.speed_m_s / s.params['speed_m_s']:.0f}x), "
            f"r_w={sc.weighted_correlation:.2f}, p<={max(sc.pvalues.values()):.3f}",
        )
    fig.tight_layout()
    fig.savefig(out / "replay_event.png", dpi=110)
    plt.close(fig)


def fig_consolidation(results: dict[int, dict], out: Path) -> None:
    n = sorted(results)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(
        n,
        [results[k]["score_after_sleep"] for k in n],
        "o-",
        label="after sleep (one lap + replays)",
    )
    ax.axhline(results[n[0]]["score_once"], color="gray", ls="--", label="one lap, no replay")
    ax.set(
        xlabel="number of sleep replays",
        ylabel="cortical sequence score",
        ylim=(-0.05, 1.05),
        title="cortex learns a once-seen sequence only with replay",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "consolidation.png", dpi=110)
    plt.close(fig)


def fig_go_cls(epochs: int, alphas: np.ndarray, seeds: list[int], out: Path) -> dict:
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for snr, col in ((float("inf"), "C0"), (1.0, "C3")):
        r = go_cls(alpha=1.0, snr=snr, epochs=epochs, seed=seeds[0])
        ax[0].plot(
            r.epochs,
            r.gen_error,
            color=col,
            label=f"{'reliable' if snr == float('inf') else 'noisy (SNR 1)'} teacher",
        )
    ax[0].set(
        xlabel="replay time (epochs)",
        ylabel="generalization error",
        yscale="log",
        title="Go-CLS, P/N = 1",
    )
    ax[0].legend()
    summary = {}
    for snr, col in ((float("inf"), "C0"), (1.0, "C3")):
        fin, mn, on = [], [], []
        for a in alphas:
            rs = [go_cls(alpha=float(a), snr=snr, epochs=epochs, seed=s) for s in seeds]
            fin.append(np.mean([x.gen_error[-1] for x in rs]))
            mn.append(np.mean([x.gen_error.min() for x in rs]))
            on.append(np.mean([x.online_error for x in rs]))
        lab = "reliable" if snr == float("inf") else "noisy"
        ax[1].plot(alphas, fin, "o-", color=col, label=f"{lab}: after consolidation")
        ax[1].plot(alphas, mn, "x:", color=col, label=f"{lab}: optimal stopping")
        ax[2].plot(alphas, np.array(on) - np.array(fin), "o-", color=col, label=lab)
        summary[lab] = {"alpha": alphas.tolist(), "final": fin, "min": mn, "online": on}
    ax[1].set(
        xlabel="P / N",
        ylabel="generalization error",
        xscale="log",
        title="overfitting peaks near P/N = 1",
    )
    ax[1].set_ylim(-0.05, 1.1 * max(max(v["final"]) for v in summary.values()))
    ax[1].set_xticks(alphas, [f"{x:g}" for x in alphas])
    ax[1].minorticks_off()
    ax[1].legend(fontsize=8)
    ax[2].axhline(0, color="k", lw=0.8)
    ax[2].set(
        xlabel="P / N",
        ylabel="online error - replay error",
        xscale="log",
        title="replay beats online learning (> 0)\nonly with limited data and a reliable rule",
    )
    ax[2].set_xticks(alphas, [f"{x:g}" for x in alphas])
    ax[2].minorticks_off()
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(out / "go_cls.png", dpi=110)
    plt.close(fig)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", default="sleep_figures", help="folder for the PNG figures")
    ap.add_argument("--full", action="store_true", help="default model sizes (slower)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if a.full:
        s = track_session(seed=a.seed)
    else:
        s = track_session(seed=a.seed, n_ripples=10, n_shuffles=50)
    summ = s.summary(alpha=0.05)
    print("hippocampus:", {k: round(v, 3) for k, v in summ.items()})
    fig_place_fields(s, out)
    fig_replay(s, out)
    cons = {
        n: cortex_consolidation(seed=a.seed, n_replays=n)
        for n in ((0, 5, 10, 20, 40) if a.full else (0, 10, 20))
    }
    print("cortex:", {n: round(v["score_after_sleep"], 3) for n, v in cons.items()})
    fig_consolidation(cons, out)
    alphas = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0]) if a.full else np.array([0.5, 1.0, 2.0, 8.0])
    g = fig_go_cls(200 if a.full else 100, alphas, [0, 1, 2] if a.full else [a.seed], out)
    print("go-cls final errors:", {k: np.round(v["final"], 3).tolist() for k, v in g.items()})
    print(f"figures in {out}/ ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
