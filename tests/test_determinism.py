"""Randomness is explicit everywhere: same seed -> bit-identical results, no global RNG state.

For every public stochastic entry point of the core, sensors, models and hardware packages:
two calls with the same seed (or a fresh generator seeded the same) give bit-identical outputs,
a different seed gives different ones, and the call leaves the global RNGs (torch's, numpy's
legacy ``np.random`` and Python's ``random``) exactly as it found them -- a library call must
neither draw from them (results would depend on what ran before) nor reseed them (it would
change the user's own random stream). Small sizes; the whole file runs in a few seconds.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import spikesim as ss
from spikesim.connectivity import materialize
from spikesim.training import train

# ---------------------------------------------------------------------------------- helpers


def _equal(a: Any, b: Any) -> bool:
    """Bit-identical structure: arrays/tensors equal in dtype, shape and every value (NaN==NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.names:  # structured events: compare field by field
            return all(np.array_equal(a[f], b[f]) for f in a.dtype.names)
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a):
        return all(_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


def _global_states() -> tuple[torch.Tensor, Any, Any]:
    return torch.get_rng_state(), np.random.get_state(), random.getstate()  # noqa: NPY002


def _unchanged(before: tuple[torch.Tensor, Any, Any]) -> None:
    t, n, r = _global_states()
    assert torch.equal(t, before[0]), "torch's global RNG state changed"
    assert n[0] == before[1][0] and np.array_equal(n[1], before[1][1]) and n[2:] == before[1][2:], (
        "numpy's global RNG state changed"
    )
    assert r == before[2], "Python's random state changed"


def _check(fn: Callable[[int], Any], *, seeds: tuple[int, int] = (3, 4), differs: bool = True):
    """fn(seed) twice equal, fn(other seed) different, global RNG states untouched."""
    torch.manual_seed(1234)
    np.random.seed(1234)  # noqa: NPY002 (the state a library call must leave alone)
    random.seed(1234)
    before = _global_states()
    a = fn(seeds[0])
    _unchanged(before)
    b = fn(seeds[0])
    _unchanged(before)
    assert _equal(a, b), "same seed gave different results"
    if differs:
        c = fn(seeds[1])
        _unchanged(before)
        assert not _equal(a, c), "a different seed gave the same result"
    return a


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ---------------------------------------------------------------------------------- core


def _random_network() -> ss.Network:
    net = ss.Network(dt_s=1e-3)
    net.add_poisson("in", 20, rate_hz=200.0)
    lif = ss.LIF(v_init_mV=ss.Uniform(-70.0, -52.0), i_bias_mV=ss.Normal(10.0, 4.0))
    net.add_population("a", 30, lif, layout=ss.Sheet(rows=5, cols=6, spacing_m=1e-4))
    net.add_population("b", 12, ss.LIF())
    net.add_projection("in_a", "in", "a", ss.Sparse(0.5, weight=ss.Normal(8.0, 2.0)))
    net.add_projection("in_b", "in", "b", ss.FixedFanIn(5, weight=6.0))
    net.add_projection(
        "aa", "a", "a", ss.DistanceDependent(p_max=0.8, sigma_m=2e-4, weight=1.0, speed_m_s=0.2)
    )
    net.add_projection("ab", "a", "b", ss.Dense(weight=ss.LogNormal(0.0, 0.5)))
    for name in ("in", "a", "b"):
        net.monitor_spikes(name, name=f"{name}_spikes")
    net.monitor_rate("b", name="b_rate", bin_s=0.01)
    return net


def test_network_frozen() -> None:
    net = _random_network()
    _check(lambda s: net.frozen(seed=s).to_dict())


def test_connectivity_draws() -> None:
    for conn in (
        ss.Sparse(0.3, weight=ss.Normal(0.0, 1.0)),
        ss.FixedFanIn(4, weight=ss.Uniform(0.0, 1.0)),
        ss.DistanceDependent(p_max=0.9, sigma_m=1.0, speed_m_s=2.0),
    ):
        layout = ss.Sheet(rows=4, cols=5, spacing_m=0.5)

        def draw(s: int, conn: Any = conn, layout: Any = layout) -> Any:
            gen = np.random.default_rng(s)
            kw = {"pre_layout": layout, "post_layout": layout}
            return materialize(
                conn, where="t", pre_shape=(20,), post_shape=(20,), generator=gen, dt_s=1e-3, **kw
            )

        _check(draw)


@pytest.mark.parametrize("mode", ["spiking", "rate"])
def test_simulator_poisson_run(mode: str) -> None:
    net = _random_network()

    def run(s: int) -> Any:
        res = ss.Simulator(net, mode=mode, batch_size=2, seed=s).run(0.05)
        return res.spikes, res.states, res.rates

    out = _check(run)
    if mode == "spiking":
        assert out[0]["in_spikes"].step.size > 0  # the Poisson source did fire
    else:
        assert out[2]  # the rate monitor recorded something to compare


def test_simulator_chunked_run_matches() -> None:
    """The Poisson stream does not depend on how the run is split into chunks."""
    net = _random_network()
    whole = ss.Simulator(net, seed=5).run(0.04)
    chunked = ss.Simulator(net, seed=5).run(0.04, chunk_steps=7)
    assert _equal(whole.spikes, chunked.spikes)


def test_train_keeps_global_rng_and_is_seeded() -> None:
    """train(seed=) seeds dropout inside the model without touching the caller's RNG."""
    xs = torch.as_tensor(np.random.default_rng(0).random((16, 6)), dtype=torch.float32)
    ys = (xs.sum(1) > 3).long()
    data = torch.utils.data.TensorDataset(xs, ys)

    def fit(s: int) -> Any:
        g = torch.Generator().manual_seed(0)
        lin = torch.nn.Linear(6, 2, device="meta").to_empty(device="cpu")  # no default init
        with torch.no_grad():
            lin.weight.copy_(torch.rand(2, 6, generator=g) - 0.5)
            lin.bias.zero_()
        model = torch.nn.Sequential(torch.nn.Dropout(0.5), lin)
        train(model, data, epochs=2, batch_size=4, lr=1e-2, seed=s, progress=False)
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    _check(fit)


def test_brian2_poisson_as_spike_times() -> None:
    pytest.importorskip("brian2")
    from spikesim.reference.brian2 import poisson_as_spike_times

    net = _random_network()
    _check(lambda s: poisson_as_spike_times(net, duration_s=0.05, seed=s).to_dict())


# ---------------------------------------------------------------------------------- sensors


def _image() -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 12:16] = 255
    return img


def test_sensors_emulator_and_saccades() -> None:
    from spikesim.sensors import synthetic as syn

    frames = np.random.default_rng(0).random((6, 8, 8))
    times = np.arange(6) * 1000
    _check(
        lambda s: syn.emulate_dvs(
            frames, times_us=times, threshold_sigma=0.05, noise_rate_hz=50.0, seed=s
        )
    )
    _check(
        lambda s: syn.DVSEmulator(threshold_sigma=0.05, noise_rate_hz=50.0, seed=s)(
            frames, times_us=times
        )
    )
    opts = {"saccade_duration_us": 20_000, "frame_dt_us": 2_000}
    _check(lambda s: syn.saccade_events(_image(), seed=s, **opts))
    _check(lambda s: syn.saccade_recording(_image(), seed=s, **opts).events)
    _check(lambda s: syn.SaccadeRecorder(**opts)(_image(), seed=s))
    _check(lambda s: syn.saccade_dataset(np.stack([_image(), _image().T]), seed=s, **opts))


def test_sensors_random_transforms() -> None:
    from spikesim.sensors import transforms as tf
    from spikesim.sensors.events import make_events

    rng = np.random.default_rng(2)
    n = 400
    ev = make_events(
        np.sort(rng.integers(0, 100_000, n)),
        rng.integers(0, 34, n),
        rng.integers(0, 34, n),
        rng.integers(0, 2, n),
    )
    for fn in (
        lambda s: tf.time_jitter(ev, std_us=50.0, seed=s),
        lambda s: tf.time_jitter(ev, std_us=50.0, seed=np.random.default_rng(s), sort=True),
        lambda s: tf.drop_events(ev, fraction=0.3, seed=s),
        lambda s: tf.drop_events(ev, fraction=0.3, seed=np.random.default_rng(s)),
        lambda s: tf.TimeJitter(std_us=50.0, seed=s)(ev),
        lambda s: tf.DropEvents(fraction=0.3, seed=s)(ev),
    ):
        _check(fn)


# ---------------------------------------------------------------------------------- models


def test_wave_models_and_tasks() -> None:
    from spikesim.models.wave import build_model
    from spikesim.models.wave.tasks import MNISTSequences, adding_batch, copy_batch

    def gen(s: int) -> torch.Generator:
        return torch.Generator().manual_seed(s)

    def params(m: torch.nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in m.state_dict().items()}

    cases: list[tuple[str, dict[str, Any]]] = [
        ("wrnn", {"n": 8, "channels": 2, "init": "random", "input_init": "normal"}),
        ("irnn", {"hidden": 6, "bias_init": "official"}),
        ("lstm", {"hidden": 5}),
        ("gru", {"hidden": 5}),
    ]
    for base, opts in cases:

        def build(s: int, base: str = base, opts: dict[str, Any] = opts) -> Any:
            return params(build_model(base, 2, 3, generator=gen(s), **opts))

        _check(build)
    _check(lambda s: adding_batch(20, 3, generator=gen(s)))
    _check(lambda s: copy_batch(5, 3, generator=gen(s)))
    images = np.random.default_rng(0).random((10, 784))
    labels = np.arange(10) % 3
    seqs = MNISTSequences(images, labels, permute=True, permutation_seed=1, pixels_per_step=16)
    _check(lambda s: seqs.batch(4, generator=gen(s)))
    _check(
        lambda s: MNISTSequences(images, labels, permute=True, permutation_seed=s).batch(
            2, generator=gen(0)
        )
    )


def test_wave_spiking_and_attractors() -> None:
    from spikesim.models.wave.attractors import line_attractor_network, run_line_attractor
    from spikesim.models.wave.spiking_ring import encode_input

    x = np.linspace(0, 1, 30)
    _check(lambda s: encode_input(x, copies=8, code="bernoulli", seed=s))

    def line(s: int) -> Any:
        net, vec = line_attractor_network(n=6, seed=s)
        return net.to_dict(), vec, run_line_attractor(net, 0.02, seed=s)

    _check(line)


def test_spindle_model() -> None:
    from spikesim.models import spindle as sp

    cfg = sp.SpindleConfig(duration_s=20.0, n_modules=4, units_per_module=4, fan_in=4)
    _check(lambda s: sp.episodes_of(cfg, seed=s))
    eps = sp.episodes_of(cfg, seed=0)
    assert eps  # something to compare
    _check(lambda s: sp.gate_rates_hz(cfg, eps, seed=s))
    _check(lambda s: sp.gate_input(cfg, mode="spiking", batch_size=2, seed=s))
    assert _equal(sp.build_spindle_network(cfg).to_dict(), sp.build_spindle_network(cfg).to_dict())
    short = dataclasses.replace(cfg, duration_s=0.5)

    def run(s: int) -> Any:
        res, episodes = sp.run_spindles(short, mode="spiking", seed=s)
        return res.spikes, episodes

    _check(run)


def test_replay_model() -> None:
    from spikesim.models.replay import (
        CA3Config,
        CA3Model,
        PlaceCells,
        arena_walk,
        linear_track_laps,
    )
    from spikesim.models.replay import consolidation as cons

    lap = {"length_m": 0.5, "speed_m_s": 0.5, "n_laps": 2, "rest_s": 0.1, "dt_s": 1e-3}
    _check(lambda s: linear_track_laps(seed=s, **lap))
    _check(
        lambda s: arena_walk(
            width_m=1.0, height_m=1.0, duration_s=2.0, speed_m_s=0.3, dt_s=0.01, seed=s
        )
    )
    traj = linear_track_laps(seed=0, **lap)
    _check(lambda s: PlaceCells.tiling(12, length_m=0.5, seed=s).centres_m)
    pcs = PlaceCells.tiling(12, length_m=0.5)
    _check(lambda s: pcs.poisson_spikes(traj, seed=s))
    cfg = CA3Config(n_exc=12, n_inh=4)

    def replay(s: int) -> Any:
        model = CA3Model(cfg, place_cells=pcs, seed=s)
        return model.replay_events(kinds=("forward", "reverse"), seed=s, background_hz=5.0)

    _check(replay)
    x = np.random.default_rng(0).normal(size=(4, 6))
    y = np.arange(4.0)

    def notebook(s: int) -> Any:
        nb = cons.HopfieldNotebook(60, sparsity=0.1, seed=s)
        nb.store(x, y)
        return nb.patterns, nb.recall(np.arange(4), cue_fraction=0.5)

    _check(notebook)
    _check(
        lambda s: cons.go_cls(
            n_inputs=8, epochs=3, notebook_units=60, recalls_per_memory=1, seed=s, snr=4.0
        )
    )


def test_classifier_and_dataset_split(tmp_path: Path) -> None:
    from spikesim.models.classify import NCaltech101, build_classifier
    from spikesim.sensors.events import make_events
    from spikesim.sensors.formats import nmnist_bin

    def weights(s: int) -> Any:
        clf = build_classifier("dense", input_shape=(2, 6, 6), n_classes=3, batch_size=2, seed=s)
        return {k: v.detach().clone() for k, v in clf.state_dict().items()}

    _check(weights)
    rng = np.random.default_rng(1)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for k in range(8):
            t = np.sort(rng.integers(0, 1000, 20))
            ev = make_events(
                t, rng.integers(0, 30, 20), rng.integers(0, 30, 20), rng.integers(0, 2, 20)
            )
            nmnist_bin.write(tmp_path / c / f"image_{k:04d}.bin", ev)
    _check(
        lambda s: [str(x.path) for x in NCaltech101(tmp_path, train=False, seed=s).samples],
        seeds=(0, 5),
    )


# ---------------------------------------------------------------------------------- hardware


def test_hardware_quantize_and_input_trains() -> None:
    from spikesim.hardware.quantize import input_trains, quantize

    net = ss.Network(dt_s=1e-3)
    net.add_poisson("in", 10, rate_hz=300.0)
    cuba = ss.CubaLIF(tau_syn_s=2e-3, tau_mem_s=5e-3)
    net.add_population("h", 8, cuba)
    net.add_projection("ih", "in", "h", ss.Sparse(0.5, weight=ss.Normal(0.5, 0.2)))
    _check(lambda s: dataclasses.asdict(quantize(net, seed=s).loihi))
    _check(lambda s: input_trains(net, n_steps=30, batch=2, seed=s))


def test_hardware_loihi_example_cases() -> None:
    from spikesim.hardware.loihi import examples as ex

    _check(
        lambda s: (
            dataclasses.asdict(ex.feedforward(seed=s, n_steps=20).net),
            ex.feedforward(seed=s, n_steps=20).inputs,
        )
    )


# ---------------------------------------------------------------------------------- analysis


def test_analysis_shuffles() -> None:
    from spikesim.analysis import replay as rp
    from spikesim.analysis.waves import classify_phase_maps

    rng = np.random.default_rng(0)
    pos = np.array([(c * 0.004, r * 0.004) for r in range(4) for c in range(4)])
    maps = rng.uniform(-np.pi, np.pi, (3, 16))
    _check(lambda s: classify_phase_maps(maps, pos, frequency_hz=12.0, n_shuffles=100, seed=s))
    centres = np.linspace(0.05, 0.95, 10)
    grid = np.linspace(0, 1, 20)
    tuning = 1.0 + 20.0 * np.exp(-((grid[None, :] - centres[:, None]) ** 2) / 0.01)
    counts = rng.poisson(tuning[:, ::3][:, :6] * 0.02)
    kw: dict[str, Any] = {"bin_s": 0.02, "bin_m": 0.05, "n_shuffles": 200}
    kw["shuffles"] = ("cell_identity", "column_cycle")
    _check(lambda s: rp.score_event(counts, tuning, seed=s, **kw))


def test_seed_none_is_refused() -> None:
    """seed=None would draw fresh OS entropy: a different result on every call."""
    from spikesim.analysis import replay as rp
    from spikesim.analysis.waves import classify_phase_maps

    net = _random_network()
    with pytest.raises(ss.ParameterError, match="seed"):
        net.frozen(seed=None)  # type: ignore[arg-type]
    with pytest.raises(ss.ParameterError, match="seed"):
        net.frozen(seed=-1)
    pos = np.array([(c * 0.004, r * 0.004) for r in range(4) for c in range(4)])
    maps = np.zeros((2, 16))
    with pytest.raises(ss.ParameterError, match="seed"):
        classify_phase_maps(maps, pos, frequency_hz=12.0, n_shuffles=100, seed=None)  # type: ignore[arg-type]
    with pytest.raises(ss.ParameterError, match="seed"):
        rp.score_event(
            np.ones((3, 4)),
            np.ones((3, 5)),
            bin_s=0.02,
            bin_m=0.05,
            shuffles=("cell_identity",),
            seed=None,  # type: ignore[arg-type]
        )
