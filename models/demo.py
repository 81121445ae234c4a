"""``spikesim demo``: a DVS camera recording taken to a spiking network and to Loihi arithmetic.

Runs on the data bundled in the repository's ``data/`` folder (see data/README.md), in about
one to two minutes on a laptop CPU:

1. **DVS pipeline** — open a real N-MNIST recording (format detected from its bytes), remove
   noise and hot pixels, bin it into a spike tensor at 1 ms and feed it to a small spiking
   network (oriented-edge detectors by a convolutional projection, pooled per orientation);
   the same description also runs in rate mode.
2. **Classifier** — generate saccade-style event recordings from the bundled MNIST digits (the
   way N-MNIST was made), train a convolutional SNN with surrogate gradients, report test
   accuracy and a confusion matrix.
3. **Loihi** — quantise the edge network to Loihi 2 integers and run it bit-exactly as Lava's
   fixed-point models do; with the managed Lava environment present (``spikesim lava
   setup``), run it in Lava itself and check every spike.

Figures and the result file go to ``--out`` (default ``spikesim-demo/``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

import spikesim as ss
from spikesim._validate import check_int
from spikesim.errors import ParameterError

from ._checks import check_fits

__all__ = ["demo", "run_demo", "edge_network", "bundled_data_dir"]


def bundled_data_dir() -> Path:
    """The repository's ``data/`` folder (``$SPIKESIM_DATA`` overrides)."""
    env = os.environ.get("SPIKESIM_DATA")
    if env:
        return Path(env)
    return Path(ss.__file__).resolve().parent.parent / "data"


def _edge_kernels(size: int = 4) -> np.ndarray:
    """Four oriented bar detectors (0, 45, 90, 135 degrees) over both polarities: [4, 2, k, k]."""
    k = np.zeros((4, 2, size, size))
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size] - c
    for o, theta in enumerate(np.deg2rad([0.0, 45.0, 90.0, 135.0])):
        # distance of each tap from the line through the centre with angle theta
        d = np.abs(-np.sin(theta) * xx + np.cos(theta) * yy)
        bar = np.where(d < 0.75, 1.0, -0.35)
        k[o, 0] = k[o, 1] = bar
    return k


def edge_network(*, width: int = 34, height: int = 34, dt_s: float = 1e-3) -> ss.Network:
    """DVS spikes [2, H, W] -> oriented edge detectors [4, H', W'] -> one unit per orientation."""
    width = check_int("edge_network", "width", width, minimum=2)
    height = check_int("edge_network", "height", height, minimum=2)
    # the pooling matrix is dense: 4 x (4 * H' * W')
    n_edges = 4.0 * ((height + 2 - 4) // 2 + 1) * ((width + 2 - 4) // 2 + 1)
    check_fits("edge_network", "width, height", 8.0 * 4 * n_edges, f"{width} x {height} pixels")
    net = ss.Network(dt_s=dt_s, name="dvs_edges")
    net.add_spike_tensor("dvs", 2 * height * width, shape=(2, height, width), values="count")
    kernel = _edge_kernels(4)
    conv = ss.Conv2d(kernel=kernel * 0.45, stride=2, padding=1)
    out_h, out_w = (height + 2 - 4) // 2 + 1, (width + 2 - 4) // 2 + 1
    neuron = ss.CubaLIF(tau_syn_s=2e-3, tau_mem_s=8e-3, v_th=1.0)
    net.add_population("edges", 4 * out_h * out_w, neuron, shape=(4, out_h, out_w))
    net.add_projection("dvs_edges", "dvs", "edges", conv)
    pool = np.kron(np.eye(4), np.ones((1, out_h * out_w))) * 0.25  # [4, 4 * H' * W']
    net.add_population("orientation", 4, ss.CubaLIF(tau_syn_s=2e-3, tau_mem_s=8e-3, v_th=1.0))
    net.add_projection("pool", "edges", "orientation", ss.Dense(weight=pool))
    net.monitor_spikes("edges")
    net.monitor_spikes("orientation")
    net.monitor_rate("edges", bin_s=10 * dt_s)
    return net


def _echo(msg: str) -> None:
    click.echo(msg)


def _stage_dvs(data: Path, out: Path) -> dict[str, Any]:
    from spikesim.sensors import io as sio
    from spikesim.sensors import transforms as tf
    from spikesim.sensors.representations import count_frame, simulator_inputs

    path = data / "dvs" / "nmnist_sample.bin"
    reader = sio.open(path)
    rec = reader.read()
    ev = rec.events
    width, height = rec.sensor_size or (34, 34)
    duration_ms = (int(ev["t"][-1]) - int(ev["t"][0])) / 1e3
    _echo(f"[1/3] DVS pipeline: {path.name}")
    _echo(
        f"      format {reader.format} (detected from the file's bytes), sensor {width}x{height}, "
        f"{len(ev)} events over {duration_ms:.1f} ms, ON {int((ev['p'] == 1).sum())} / OFF {int((ev['p'] == 0).sum())}"
    )
    clean = tf.remove_hot_pixels(tf.denoise(ev, filter_time_us=5000), max_rate_hz=1000.0)
    _echo(
        f"      denoise (5 ms neighbourhood) + hot-pixel removal keep {len(clean)} of {len(ev)} events"
    )

    net = edge_network(width=width, height=height)
    sim = ss.Simulator(net, seed=0)
    duration_s = round(duration_ms / 1e3 + 0.02, 3)
    inputs = simulator_inputs(
        [clean], simulator=sim, source="dvs", duration_s=duration_s, sensor_size=(width, height)
    )
    t0 = time.perf_counter()
    res = sim.run(duration_s, inputs=inputs, out=out / "dvs_edges_result.h5")
    wall = time.perf_counter() - t0
    counts = np.bincount(res.spikes["orientation_spikes"].index, minlength=4)
    edge_rate = res.mean_rate_hz("edges_spikes")
    _echo(
        f"      spiking network ({sum(p.size for p in net.populations.values())} units, "
        f"{duration_s * 1e3:.0f} steps in {wall:.2f} s): edge layer {edge_rate:.1f} Hz, "
        f"orientation units 0/45/90/135 deg fired {counts.tolist()} spikes"
    )
    rate_sim = ss.Simulator(net, mode="rate", seed=0)
    rate_res = rate_sim.run(duration_s, inputs=inputs)  # same batch, dt and device
    predicted = float(rate_res.rates["edges_rate"].rate_hz.mean())
    _echo(
        f"      the same description in rate mode predicts the edge layer at {predicted:.1f} Hz "
        f"({(predicted - edge_rate) / edge_rate * 100:+.0f} % against the spiking run; the CUBA rate "
        "unit is the noiseless f-I curve, and DVS input is bursty)"
    )
    _echo(f"      result with network, seed and versions: {out / 'dvs_edges_result.h5'}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    frame = count_frame(clean, sensor_size=(width, height))
    frame = np.asarray(frame)
    axes[0].imshow(
        frame.reshape(-1, height, width).sum(0) if frame.ndim == 3 else frame, cmap="magma"
    )
    axes[0].set_title(f"{reader.format} events after denoise (count)")
    idx, t = res.spike_trains("edges_spikes")
    axes[1].scatter(t * 1e3, idx, s=1, c="k")
    axes[1].set_xlabel("time (ms)")
    axes[1].set_ylabel("edge unit")
    axes[1].set_title("edge-detector spikes")
    maps = np.bincount(idx, minlength=net.populations["edges"].size).reshape(
        net.populations["edges"].shape
    )
    axes[2].imshow(np.concatenate(list(maps), axis=1), cmap="viridis")
    axes[2].set_title("spike counts: 0 | 45 | 90 | 135 deg")
    axes[2].axis("off")
    fig.tight_layout()
    fig.savefig(out / "dvs_pipeline.png", dpi=110)
    plt.close(fig)
    _echo(f"      figure: {out / 'dvs_pipeline.png'}")
    return {"net": net, "inputs": inputs, "result": res, "duration_s": duration_s}


def _stage_classifier(data: Path, out: Path, *, epochs: int, n_train: int, n_test: int) -> None:
    from spikesim.models.classify.experiment import save_confusion_png, train_small_classifier

    _echo(
        f"[2/3] Classifier: saccade-style event recordings of {n_train + n_test} bundled MNIST digits, conv SNN, BPTT"
    )
    t0 = time.perf_counter()
    report = train_small_classifier(
        data / "mnist",
        n_train=n_train,
        n_test=n_test,
        epochs=epochs,
        seed=0,
        out_dir=out / "classifier",
    )
    _echo(
        f"      test accuracy {report.test_accuracy * 100:.1f} % on {report.test_size} held-out digits "
        f"after {epochs} epochs on {report.train_size} ({time.perf_counter() - t0:.0f} s)"
    )
    save_confusion_png(report.confusion, report.classes, out / "confusion.png")
    _echo(f"      figure: {out / 'confusion.png'}")


def _stage_loihi(stage1: dict[str, Any], out: Path) -> None:
    from spikesim.hardware import lava_env
    from spikesim.hardware.loihi import simulate_fixed_point
    from spikesim.hardware.quantize import input_trains, quantize
    from spikesim.hardware.resources import check_resources

    net, res = stage1["net"], stage1["result"]
    n_steps = int(res.run["n_steps"])
    _echo("[3/3] Loihi 2: quantise the edge network, run it in Lava's fixed-point arithmetic")
    q = quantize(net)
    worst = max((c.rel_error for c in q.report.connections), default=0.0)
    rep = check_resources(q.loihi)
    _echo("      " + rep.format().splitlines()[0])
    dvs = stage1["inputs"]["dvs"].to(torch.uint8).numpy()
    trains = input_trains(net, n_steps=n_steps, seed=0, given={"dvs": dvs})
    fixed = simulate_fixed_point(q.loihi, n_steps=n_steps, inputs=trains)
    float_counts = np.bincount(
        res.spikes["edges_spikes"].index, minlength=net.populations["edges"].size
    )
    fixed_counts = fixed.spikes["edges"].numpy().sum(axis=(0, 1))
    same = float(np.mean(float_counts == fixed_counts))
    _echo(
        f"      fixed point: {int(fixed_counts.sum())} edge spikes vs float {int(float_counts.sum())}; "
        f"per-neuron spike counts identical for {same * 100:.1f} % of units"
        + f" (largest weight quantisation error {worst * 100:.2f} % of the largest weight)"
    )
    if lava_env.is_ready():
        from spikesim.hardware.lava_run import run_in_lava

        lava = run_in_lava(q.loihi, n_steps=n_steps, inputs=trains)
        ok = all(
            np.array_equal(fixed.spikes[name].numpy(), lava.spikes[name]) for name in lava.spikes
        )
        _echo(
            f"      Lava {lava.lava_version} fixed_pt: "
            + (
                "every spike of every neuron at every step identical to spikesim"
                if ok
                else "MISMATCH with spikesim"
            )
        )
        if not ok:
            raise click.ClickException("Lava and spikesim's fixed-point mode disagree")
    else:
        _echo("      (Lava itself not run: create its environment once with `spikesim lava setup`)")


def run_demo(
    *,
    out: str | os.PathLike,
    classifier: bool = True,
    epochs: int = 3,
    n_train: int = 600,
    n_test: int = 200,
) -> None:
    if not isinstance(out, (str, os.PathLike)):
        raise ParameterError("run_demo", "out", "a folder path", out)
    out = Path(out)
    if not isinstance(classifier, bool):
        raise ParameterError("run_demo", "classifier", "True or False", classifier)
    epochs = check_int("run_demo", "epochs", epochs, minimum=1)
    n_train = check_int("run_demo", "n_train", n_train, minimum=1)
    n_test = check_int("run_demo", "n_test", n_test, minimum=1)
    data = bundled_data_dir()
    if not (data / "dvs" / "nmnist_sample.bin").is_file():
        raise click.ClickException(
            f"bundled data not found in {data}; run the demo from a clone of the repository "
            "(pip install -e .) or set SPIKESIM_DATA to its data/ folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # every stage draws from its own seed; the global torch RNG is only forked (and seeded)
    # as a backstop, so the caller's RNG state is left as it was
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        stage1 = _stage_dvs(data, out)
        if classifier:
            _stage_classifier(data, out, epochs=epochs, n_train=n_train, n_test=n_test)
        else:
            _echo("[2/3] Classifier skipped (--no-classifier)")
        _stage_loihi(stage1, out)
    _echo(f"done in {time.perf_counter() - t0:.0f} s; outputs in {out}")


@click.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("spikesim-demo"),
    show_default=True,
)
@click.option(
    "--classifier/--no-classifier",
    default=True,
    show_default=True,
    help="Train the event-data classifier (about a minute).",
)
@click.option(
    "--epochs", type=int, default=3, show_default=True, help="Training epochs of the classifier."
)
def demo(out: Path, classifier: bool, epochs: int) -> None:
    """Bundled DVS recording -> spiking network -> classifier -> Loihi fixed point (1-2 min)."""
    try:
        run_demo(out=out, classifier=classifier, epochs=epochs)
    except ss.SpikesimError as exc:  # bad options: the message, exit status 1, no traceback
        raise click.ClickException(str(exc)) from None
