"""Bad input at the models' public API (wave, spindle, replay, classify, classic, demo).

Every case asserts the typed spikesim error (a ValueError) and that the message names the
parameter and the offending value. The cases are those that used to crash deep inside
numpy/torch/scipy (TypeError, KeyError, ZeroDivisionError, reshape errors...), that were
silently accepted (sizes, labels and seeds truncated by ``int()``, NaN propagated into results,
a string read letter by letter) or that tried to allocate terabytes, plus the important ones
that already behaved. Valid neighbours of the fixed cases are checked to still work. Small
sizes: the "huge" cases are refused before anything is allocated.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from spikesim.models import classic, classify, demo, replay, spindle, wave
from spikesim.models.classify import experiment as cexp
from spikesim.models.replay import consolidation as cons
from spikesim.models.replay.ca3 import stdp_update
from spikesim.models.replay.experiments import track_point
from spikesim.models.wave import attractors as att
from spikesim.models.wave import ring, tasks
from spikesim.models.wave import spiking_ring as sr
from spikesim.models.wave import train as wtrain

from spikesim import Network
from spikesim.errors import ConfigError, ParameterError, ShapeError

NAN, INF = float("nan"), float("inf")
HUGE = r"fit in memory.*GiB"  # the memory refusal: limit and estimate in GiB


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _scfg(**kw) -> spindle.SpindleConfig:
    """A tiny thalamus-only spindle configuration (4 modules of 2 units, 2 x 2 sites)."""
    base = {
        **spindle.THALAMUS_ONLY,
        "n_modules": 4,
        "units_per_module": 2,
        "electrode_rows": 2,
        "electrode_cols": 2,
        "electrode_spacing_m": 0.01,
    }
    return spindle.SpindleConfig(**{**base, **kw})


def _spin(**kw) -> Network:
    return spindle.build_spindle_network(_scfg(**kw), monitor=False)


def _traj(**kw) -> replay.Trajectory:
    args = {"length_m": 1.0, "speed_m_s": 0.5, "n_laps": 1, "rest_s": 0.1, "dt_s": 5e-4, "seed": 0}
    return replay.linear_track_laps(**{**args, **kw})


def _arena(**kw) -> replay.Trajectory:
    args = {"width_m": 1, "height_m": 1, "duration_s": 1, "speed_m_s": 0.2, "dt_s": 1e-3, "seed": 0}
    return replay.arena_walk(**{**args, **kw})


def _ca3(**kw) -> replay.CA3Config:
    return replay.CA3Config(**{"n_exc": 20, "n_inh": 5, **kw})


def _cells(n: int = 20) -> replay.PlaceCells:
    return replay.PlaceCells.tiling(n, length_m=1.0)


_CACHE: dict[str, object] = {}


def _model() -> replay.CA3Model:
    if "ca3" not in _CACHE:
        _CACHE["ca3"] = replay.CA3Model(_ca3(), place_cells=_cells(), seed=0)
    return _CACHE["ca3"]  # type: ignore[return-value]


def _clf() -> classify.SpikingClassifier:
    if "clf" not in _CACHE:
        _CACHE["clf"] = classify.build_classifier(
            "dense", input_shape=(2, 4, 4), n_classes=3, batch_size=2, hidden=(5,)
        )
    return _CACHE["clf"]  # type: ignore[return-value]


def _dense(**kw) -> Network:
    return classify.dense_classifier_network(**{"input_shape": (2, 4, 4), **kw})


def _conv(**kw) -> Network:
    return classify.conv_classifier_network(**{"input_shape": (2, 8, 8), **kw})


def _tst(**kw) -> classify.ToSpikeTensor:
    return classify.ToSpikeTensor(**{"sensor_size": (4, 4), "n_steps": 3, "duration_us": 1e3, **kw})


def _td(x, y, **kw) -> classify.TensorDataset:
    return classify.TensorDataset(x, y, **kw)


def _irnn_train(**kw) -> dict:
    args = {"T": 4, "iters": 1, "batch": 2, "eval_batch": 2, "model_options": {"hidden": 3}}
    return wtrain.train("adding", "irnn", **{**args, **kw})


_EV = np.zeros(1, dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])

# (id, action, error type, regex the message must match: field and offending value)
CASES = [
    # ---------------------------------------------------------------- wave: ring
    (
        "taps NaN",
        lambda: wave.circulant_from_taps(np.array([[NAN, 1.0, 0.0]]), 5),
        ParameterError,
        r"taps.*finite.*NaN",
    ),
    (
        "taps str",
        lambda: wave.circulant_from_taps(np.array([["a", "b", "c"]]), 5),
        ParameterError,
        r"taps.*numeric",
    ),
    (
        "circulant huge",
        lambda: wave.circulant_from_taps(np.ones((1, 3)), 10**7),
        ParameterError,
        r"n must be .*" + HUGE,
    ),
    ("shift_kernel huge", lambda: wave.shift_kernel(10**6, 10**3), ParameterError, HUGE),
    ("gain NaN", lambda: wave.shift_kernel(5, 1, gain=NAN), ParameterError, r"gain.*nan"),
    (
        "x NaN",
        lambda: wave.ring_conv_run(np.array([NAN, 1.0]), n=4, c=1),
        ParameterError,
        r"x must be finite",
    ),
    (
        "weights NaN",
        lambda: wave.ring_conv_run(np.ones(3), n=4, c=1, weights=np.full((1, 4, 4), NAN)),
        ParameterError,
        r"weights must be finite",
    ),
    (
        "input_gain NaN",
        lambda: wave.ring_conv_run(np.ones(3), n=4, c=1, input_gain=np.array([NAN])),
        ParameterError,
        r"input_gain must be finite",
    ),
    (
        "ring run huge",
        lambda: wave.ring_conv_run(np.ones(10**6), n=10**4, c=10),
        ParameterError,
        r"x must be .*1000000 steps.*" + HUGE.split(".*")[1],
    ),
    (
        "ring run int dtype",
        lambda: wave.ring_conv_run(np.ones(3), n=4, c=1, dtype=torch.int64),
        ParameterError,
        r"dtype.*floating.*int64",
    ),
    (
        "ring run str dtype",
        lambda: wave.ring_conv_run(np.ones(3), n=4, c=1, dtype="float32"),
        ParameterError,
        r"dtype.*'float32'",
    ),
    ("x bad shape", lambda: wave.ring_conv_run(np.zeros((2, 2, 2)), n=4, c=1), ShapeError, r"x"),
    (
        "periodic huge",
        lambda: wave.periodic_kernel(np.ones(3), 10**12),
        ParameterError,
        r"length.*1000000000000 taps",
    ),
    (
        "spacetime NaN",
        lambda: ring.spacetime_velocity(np.full((5, 4), NAN)),
        ParameterError,
        r"states must be finite",
    ),
    ("ring_network huge", lambda: ring.ring_network(n=10**7, c=10**6), ParameterError, HUGE),
    (
        "run_ring_network foreign net",
        lambda: ring.run_ring_network(classic.vogels_abbott_coba(n=10), np.ones(3)),
        ParameterError,
        r"net must be a network from ring_network.*\['exc', 'inh'\]",
    ),
    # ---------------------------------------------------------------- wave: models
    (
        "WaveRNN huge",
        lambda: wave.WaveRNN(10**5, 1, n=10**5, channels=10**3),
        ParameterError,
        r"WaveRNN.*parameters.*GiB",
    ),
    (
        "WaveRNN int dtype",
        lambda: wave.WaveRNN(1, 1, n=5, dtype=torch.int64),
        ParameterError,
        r"WaveRNN: dtype.*int64",
    ),
    (
        "WaveRNN generator int",
        lambda: wave.WaveRNN(1, 1, n=5, generator=3),
        ParameterError,
        r"generator.*Generator.*3",
    ),
    ("WaveRNN device", lambda: wave.WaveRNN(1, 1, n=5, device="gpu"), ParameterError, r"'gpu'"),
    ("WaveRNN n float", lambda: wave.WaveRNN(1, 1, n=5.5), ParameterError, r"n must.*5\.5"),
    (
        "forward NaN",
        lambda: wave.WaveRNN(1, 1, n=5)(torch.full((3, 2, 1), NAN)),
        ParameterError,
        r"WaveRNN: x must be finite",
    ),
    (
        "forward float64 into float32",
        lambda: wave.WaveRNN(1, 1, n=5)(torch.ones(3, 2, 1, dtype=torch.float64)),
        ParameterError,
        r"x\.dtype must be torch\.float32.*float64",
    ),
    ("forward numpy", lambda: wave.IRNN(1, 1, hidden=3)(np.ones((3, 2, 1))), ParameterError, "x"),
    (
        "ReferenceWaveRNN n 0",
        lambda: wave.ReferenceWaveRNN(1, 1, n=0),
        ParameterError,
        r"ReferenceWaveRNN: n.*>= 1.*0",
    ),
    (
        "ReferenceWaveRNN even kernel",
        lambda: wave.ReferenceWaveRNN(1, 1, n=5, kernel_size=2),
        ParameterError,
        r"kernel_size.*odd.*2",
    ),
    (
        "ReferenceWaveRNN n_inp negative",
        lambda: wave.ReferenceWaveRNN(-1, 1, n=5),
        ParameterError,
        r"n_inp.*-1",
    ),
    (
        "build_model unknown option",
        lambda: wave.build_model("irnn", 1, 1, hiden=5),
        ParameterError,
        r"options of 'irnn'.*hidden.*'hiden'",
    ),
    (
        "build_model other kind's option",
        lambda: wave.build_model("irnn", 1, 1, n=5),
        ParameterError,
        r"options of 'irnn'.*got 'n'",
    ),
    # ---------------------------------------------------------------- wave: tasks, training
    (
        "adding huge",
        lambda: tasks.adding_batch(10**6, 10**6, generator=_gen()),
        ParameterError,
        r"adding task: batch.*" + HUGE,
    ),
    (
        "adding generator None",
        lambda: tasks.adding_batch(10, 2, generator=None),
        ParameterError,
        r"generator.*None",
    ),
    (
        "adding generator int",
        lambda: tasks.adding_batch(10, 2, generator=0),
        ParameterError,
        r"generator.*0",
    ),
    (
        "adding int dtype",
        lambda: tasks.adding_batch(10, 2, generator=_gen(), dtype=torch.int64),
        ParameterError,
        r"dtype.*int64",
    ),
    ("copy huge", lambda: tasks.copy_batch(10**7, 10**5, generator=_gen()), ParameterError, HUGE),
    (
        "copy_metrics float target",
        lambda: tasks.copy_metrics(torch.zeros(5, 2, 10), torch.zeros(5, 2)),
        ParameterError,
        r"target\.dtype.*float32",
    ),
    (
        "copy_metrics target 12",
        lambda: tasks.copy_metrics(torch.zeros(5, 2, 10), torch.full((5, 2), 12)),
        ParameterError,
        r"target.*\[0, 9\].*12",
    ),
    (
        "read_idx missing",
        lambda: tasks.read_idx("/nonexistent/x.gz"),
        ParameterError,
        r"path.*'/nonexistent/x\.gz'",
    ),
    (
        "MNIST folder missing",
        lambda: tasks.load_mnist_split("/nonexistent"),
        ParameterError,
        r"path.*/nonexistent/t10k-images",
    ),
    (
        "MNISTSequences NaN",
        lambda: tasks.MNISTSequences(np.full((2, 784), NAN), np.zeros(2)),
        ParameterError,
        r"images must be finite",
    ),
    (
        "MNISTSequences float labels",
        lambda: tasks.MNISTSequences(np.zeros((2, 784)), np.array([0.5, 1.7])),
        ParameterError,
        r"labels.*integer",
    ),
    (
        "MNISTSequences label 11",
        lambda: tasks.MNISTSequences(np.zeros((2, 784)), np.array([1, 11])),
        ParameterError,
        r"labels.*\[0, 9\].*11",
    ),
    (
        "MNISTSequences empty",
        lambda: tasks.MNISTSequences(np.zeros((0, 784)), np.zeros(0)),
        ShapeError,
        r"images.*\(0, 784\)",
    ),
    (
        "MNISTSequences batch 0",
        lambda: tasks.MNISTSequences(np.zeros((2, 784)), np.zeros(2)).batch(0, generator=_gen()),
        ParameterError,
        r"batch.*0",
    ),
    (
        "MNISTSequences seed str",
        lambda: tasks.MNISTSequences(np.zeros((2, 784)), np.zeros(2), permutation_seed="a"),
        ParameterError,
        r"permutation_seed.*'a'",
    ),
    ("train grad_clip NaN", lambda: _irnn_train(grad_clip=NAN), ParameterError, r"grad_clip.*nan"),
    ("train grad_clip -1", lambda: _irnn_train(grad_clip=-1.0), ParameterError, r"grad_clip.*-1"),
    (
        "train unknown model option",
        lambda: _irnn_train(model_options={"hiden": 3}),
        ParameterError,
        r"'hiden'",
    ),
    (
        "train mnist_train_limit 0",
        lambda: wtrain.train("smnist", "irnn", mnist_train_limit=0),
        ParameterError,
        r"mnist_train_limit.*0",
    ),
    ("train device", lambda: _irnn_train(device="gpu"), ParameterError, r"device.*'gpu'"),
    (
        "train eval batch huge",
        lambda: _irnn_train(T=10**4, eval_batch=10**8),
        ParameterError,
        HUGE,
    ),
    # ---------------------------------------------------------------- wave: spiking ring
    (
        "encode NaN",
        lambda: sr.encode_input(np.array([NAN, 0.5]), copies=4),
        ParameterError,
        r"x must be finite",
    ),
    (
        "encode seed str",
        lambda: sr.encode_input(np.array([0.5]), copies=4, code="bernoulli", seed="a"),
        ParameterError,
        r"seed.*'a'",
    ),
    (
        "decode train_frac 0",
        lambda: sr.decode_history(np.ones((10, 2)), np.ones((10, 1)), train_frac=0.0),
        ParameterError,
        r"train_frac.*0\.0",
    ),
    (
        "decode NaN features",
        lambda: sr.decode_history(np.full((10, 2), NAN), np.ones((10, 1))),
        ParameterError,
        r"features must be finite",
    ),
    # ---------------------------------------------------------------- wave: attractors
    ("Zhang j1 NaN", lambda: att.ZhangRing(n=16, j1=NAN), ParameterError, r"j1.*nan"),
    ("Zhang huge", lambda: att.ZhangRing(n=10**6), ParameterError, r"n must.*" + HUGE),
    (
        "Zhang run forever",
        lambda: att.ZhangRing(n=16).run(1e9),
        ParameterError,
        r"duration_s.*1000000000000 steps",
    ),
    (
        "Zhang record_every 0",
        lambda: att.ZhangRing(n=16).run(0.01, record_every=0),
        ParameterError,
        r"record_every.*0",
    ),
    (
        "Zhang external NaN",
        lambda: att.ZhangRing(n=16).run(0.01, external=np.full(16, NAN)),
        ParameterError,
        r"external must be finite",
    ),
    (
        "Zhang cue width 0",
        lambda: att.ZhangRing(n=16).cue(0.0, width_rad=0.0),
        ParameterError,
        r"width_rad.*0\.0",
    ),
    ("bump_angle NaN", lambda: att.bump_angle(np.full((2, 4), NAN)), ParameterError, r"finite"),
    (
        "line eigenvalues scalar",
        lambda: att.line_attractor_network(other_eigenvalues=0.5),
        ParameterError,
        r"other_eigenvalues.*pair.*0\.5",
    ),
    (
        "run_line_attractor foreign net",
        lambda: att.run_line_attractor(classic.vogels_abbott_coba(n=10), 0.01),
        ParameterError,
        r"net.*'units'.*\['exc', 'inh'\]",
    ),
    (
        "bump window longer than the run",
        lambda: att.spiking_bump_angles(
            att.ring_attractor_network(n_exc=8, n_inh=2), 0.02, window_s=0.05
        ),
        ParameterError,
        r"window_s.*0\.05",
    ),
    # ---------------------------------------------------------------- spindle
    ("n_modules 4.5", lambda: _spin(n_modules=4.5), ParameterError, r"n_modules.*integer.*4\.5"),
    ("fan_in 1.5", lambda: _spin(fan_in=1.5), ParameterError, r"fan_in.*1\.5"),
    ("n_modules 1", lambda: _spin(n_modules=1), ParameterError, r"n_modules.*>= 2.*1"),
    ("chirality str", lambda: _spin(chirality="x"), ParameterError, r"chirality.*'x'"),
    ("chirality NaN", lambda: _spin(chirality=NAN), ParameterError, r"chirality.*nan"),
    ("sheet huge", lambda: _spin(rows=10**5, cols=10**5), ParameterError, r"100000 x 100000"),
    (
        "modules huge",
        lambda: _spin(n_modules=10**5, units_per_module=10**3),
        ParameterError,
        r"100000 modules",
    ),
    (
        "spindle config unknown key",
        lambda: spindle.SpindleConfig.from_dict({"n_module": 3}, source="spindle.toml"),
        ConfigError,
        r"spindle\.toml: key 'n_module': unknown key; known: .*n_modules",
    ),
    (
        "episodes seed float",
        lambda: spindle.episodes_of(_scfg(), seed=1.5),
        ParameterError,
        r"seed.*1\.5",
    ),
    (
        "episodes cfg dict",
        lambda: spindle.episodes_of({"duration_s": 1.0}, seed=0),
        ParameterError,
        r"cfg must be a SpindleConfig.*dict",
    ),
    (
        "gate batch 0",
        lambda: spindle.gate_input(_scfg(), mode="rate", batch_size=0),
        ParameterError,
        r"batch_size.*0",
    ),
    (
        "gate batch 1.5",
        lambda: spindle.gate_input(_scfg(), mode="rate", batch_size=1.5),
        ParameterError,
        r"batch_size.*1\.5",
    ),
    (
        "gate invalid config",
        lambda: spindle.gate_input(_scfg(dt_s=-1e-3), mode="rate"),
        ParameterError,
        r"dt_s.*-0\.001",
    ),
    (
        "gate huge",
        lambda: spindle.gate_input(
            _scfg(duration_s=1e6, dt_s=1e-4, min_interval_s=1e7, max_interval_s=1e7),
            mode="rate",
            batch_size=100,
        ),
        ParameterError,
        r"batch_size.*" + HUGE,
    ),
    ("gate mode", lambda: spindle.gate_input(_scfg(), mode="fast"), ParameterError, r"'fast'"),
    (
        "lfp float steps",
        lambda: spindle.lfp_from_spikes(np.array([0.5, 1.7]), [0, 1], _scfg(), n_steps=5),
        ParameterError,
        r"step must be integer.*0\.5",
    ),
    (
        "lfp NaN steps",
        lambda: spindle.lfp_from_spikes(np.array([NAN, 1.0]), [0, 1], _scfg(), n_steps=5),
        ParameterError,
        r"step.*nan",
    ),
    (
        "lfp n_steps 5.7",
        lambda: spindle.lfp_from_spikes([0, 1], [0, 1], _scfg(), n_steps=5.7),
        ParameterError,
        r"n_steps.*5\.7",
    ),
    (
        "lfp n_steps huge",
        lambda: spindle.lfp_from_spikes([0, 1], [0, 1], _scfg(), n_steps=10**12),
        ParameterError,
        r"n_steps.*" + HUGE,
    ),
    (
        "lfp index out of sheet",
        lambda: spindle.lfp_from_spikes([0, 1], [0, 99], _scfg(), n_steps=5),
        ParameterError,
        r"index.*\[0, 4\).*99",
    ),
    (
        "winding too short",
        lambda: spindle.ring_winding_from_spikes([0], [0], _scfg(), [], n_steps=5),
        ParameterError,
        r"n_steps.*> 15.*5",
    ),
    (
        "winding episodes",
        lambda: spindle.ring_winding_from_spikes([0], [0], _scfg(), [1.0], n_steps=100),
        ParameterError,
        r"episodes.*Episode.*1\.0",
    ),
    (
        "cortex NaN spacing",
        lambda: spindle.cortex_positions(_scfg(spacing_m=NAN)),
        ParameterError,
        r"spacing_m.*nan",
    ),
    # ---------------------------------------------------------------- replay
    ("track seed 1.5", lambda: _traj(seed=1.5), ParameterError, r"seed.*1\.5"),
    ("track jitter str", lambda: _traj(speed_jitter="a"), ParameterError, r"speed_jitter.*'a'"),
    (
        "track huge",
        lambda: _traj(length_m=1e6, dt_s=1e-9, speed_m_s=1e-3),
        ParameterError,
        r"dt_s.*" + HUGE,
    ),
    ("arena huge", lambda: _arena(duration_s=1e7, dt_s=1e-6), ParameterError, HUGE),
    ("arena bout NaN", lambda: _arena(mean_bout_s=NAN), ParameterError, r"mean_bout_s.*nan"),
    ("arena turn NaN", lambda: _arena(turn_sd_rad_s=NAN), ParameterError, r"turn_sd_rad_s.*nan"),
    ("arena 1 step", lambda: _arena(duration_s=1e-3, dt_s=1.0), ParameterError, r"duration_s"),
    (
        "place cells NaN",
        lambda: replay.PlaceCells(np.array([NAN, 0.5]), (1.0,)),
        ParameterError,
        r"centres_m must be finite",
    ),
    (
        "place cells extent Inf",
        lambda: replay.PlaceCells(np.array([0.5]), (INF,)),
        ParameterError,
        r"extent_m must be finite",
    ),
    (
        "precession str",
        lambda: replay.PlaceCells(np.array([0.5]), (1.0,), precession="no"),
        ParameterError,
        r"precession.*'no'",
    ),
    ("tiling 2.5", lambda: replay.PlaceCells.tiling(2.5, length_m=1.0), ParameterError, r"2\.5"),
    (
        "tiling huge",
        lambda: replay.PlaceCells.tiling(10**12, length_m=1.0),
        ParameterError,
        r"n must.*" + HUGE,
    ),
    (
        "tiling seed str",
        lambda: replay.PlaceCells.tiling(3, length_m=1.0, seed="a"),
        ParameterError,
        r"seed.*'a'",
    ),
    (
        "field on a track given (T, 2)",
        lambda: _cells(3).field(np.ones((4, 2))),
        ShapeError,
        r"positions_m.*\(4, 2\)",
    ),
    (
        "raster_to_times dt NaN",
        lambda: replay.PlaceCells.raster_to_times(np.ones((3, 2)), NAN),
        ParameterError,
        r"dt_s.*nan",
    ),
    (
        "CA3 config unknown key",
        lambda: replay.CA3Config.from_dict({"n_ex": 3}),
        ConfigError,
        r"key 'n_ex': unknown key; known: n_exc",
    ),
    (
        "CA3 config bad value",
        lambda: replay.CA3Config.from_dict({"n_exc": 2.5}),
        ParameterError,
        r"n_exc.*2\.5",
    ),
    (
        "CA3 eta NaN",
        lambda: replay.build_ca3_network(_ca3(stdp_eta_mV=NAN)),
        ParameterError,
        r"CA3Config: stdp_eta_mV.*nan",
    ),
    (
        "CA3 w_ee_sum NaN",
        lambda: replay.build_ca3_network(_ca3(w_ee_sum_mV=NAN)),
        ParameterError,
        r"w_ee_sum_mV.*nan",
    ),
    (
        "CA3 seed 1.7",
        lambda: replay.CA3Model(_ca3(), place_cells=_cells(), seed=1.7),
        ParameterError,
        r"CA3Model: seed.*1\.7",
    ),
    (
        "replay kinds as a str",
        lambda: _model().replay_events(kinds="forward", seed=0),
        ParameterError,
        r"kinds.*'forward'",
    ),
    (
        "replay ripple scalar",
        lambda: _model().replay_events(kinds=("forward",), seed=0, ripple_hz=200.0),
        ParameterError,
        r"ripple_hz.*pair.*200\.0",
    ),
    (
        "replay margin negative",
        lambda: _model().replay_events(kinds=("forward",), seed=0, margin_s=-0.1),
        ParameterError,
        r"margin_s.*-0\.1",
    ),
    (
        "replay margin huge",
        lambda: _model().replay_events(kinds=("forward",) * 100, seed=0, margin_s=1e6),
        ParameterError,
        r"margin_s.*" + HUGE,
    ),
    (
        "replay background NaN",
        lambda: _model().replay_events(kinds=("forward",), seed=0, background_hz=NAN),
        ParameterError,
        r"background_hz.*nan",
    ),
    (
        "replay seed str",
        lambda: _model().replay_events(kinds=("forward",), seed="a"),
        ParameterError,
        r"seed.*'a'",
    ),
    (
        "weight_profile bin 0",
        lambda: _model().weight_profile(bin_m=0.0),
        ParameterError,
        r"bin_m.*0\.0",
    ),
    (
        "stdp_update 2-D spikes",
        lambda: stdp_update(np.ones((3, 4)), _ca3()),
        ShapeError,
        r"spikes.*\(3, 4\)",
    ),
    (
        "sweep point misspelt parameter",
        lambda: track_point(n_cell=10),
        ParameterError,
        r"track_point: params.*n_cells.*'n_cell'",
    ),
    (
        "track kinds_p not summing to 1",
        lambda: track_point(kinds_p=(0.5, 0.5, 0.5, 0.5)),
        ParameterError,
        r"kinds_p.*summing to 1.*\(0\.5, 0\.5, 0\.5, 0\.5\)",
    ),
    (
        "track decode bin 0",
        lambda: track_point(decode_bin_s=0.0),
        ParameterError,
        r"decode_bin_s.*0\.0",
    ),
    (
        "cortex NaN centres",
        lambda: cons.Cortex(ca3_centres_m=np.array([NAN, 0.2]), length_m=1.0),
        ParameterError,
        r"ca3_centres_m must be finite",
    ),
    (
        "recall theta NaN",
        lambda: cons.cortical_recall(np.eye(4), theta_mV=NAN),
        ParameterError,
        r"theta_mV.*nan",
    ),
    (
        "recall k_active > n",
        lambda: cons.cortical_recall(np.eye(4), theta_mV=1.0, k_active=10),
        ParameterError,
        r"k_active.*4 units.*10",
    ),
    (
        "notebook huge",
        lambda: cons.HopfieldNotebook(10**7, seed=0),
        ParameterError,
        r"n_units.*" + HUGE,
    ),
    (
        "notebook NaN x",
        lambda: cons.HopfieldNotebook(20, seed=0).store(np.full((2, 3), NAN), np.ones(2)),
        ParameterError,
        r"x must be finite",
    ),
    ("go_cls snr str", lambda: cons.go_cls(snr="x"), ParameterError, r"snr.*'x'"),
    ("go_cls epochs 0", lambda: cons.go_cls(epochs=0), ParameterError, r"epochs.*0"),
    (
        "go_cls huge",
        lambda: cons.go_cls(alpha=1e6, n_inputs=1000),
        ParameterError,
        r"alpha.*" + HUGE,
    ),
    # ---------------------------------------------------------------- classify
    ("n_classes 2.5", lambda: _dense(n_classes=2.5), ParameterError, r"n_classes.*2\.5"),
    ("n_classes str", lambda: _dense(n_classes="10"), ParameterError, r"n_classes.*'10'"),
    ("n_classes NaN", lambda: _dense(n_classes=NAN), ParameterError, r"n_classes.*nan"),
    ("n_classes 1", lambda: _dense(n_classes=1), ParameterError, r"n_classes.*>= 2.*1"),
    ("hidden 5.5", lambda: _dense(hidden=(5.5,)), ParameterError, r"hidden.*5\.5"),
    ("hidden int", lambda: _dense(hidden=5), ParameterError, r"hidden.*sequence.*5"),
    ("input_shape int", lambda: _dense(input_shape=32), ParameterError, r"input_shape.*32"),
    ("tau 0", lambda: _dense(tau_syn_s=0.0), ParameterError, r"tau_syn_s.*> 0.*0\.0"),
    ("weight_scale NaN", lambda: _dense(weight_scale=NAN), ParameterError, r"weight_scale.*nan"),
    (
        "conv 2-D input_shape",
        lambda: classify.conv_classifier_network(input_shape=(34, 34)),
        ParameterError,
        r"input_shape.*3 integers.*\(34, 34\)",
    ),
    ("conv kernel 0", lambda: _conv(kernel_size=0), ParameterError, r"kernel_size.*0"),
    ("conv stride 0", lambda: _conv(stride=0), ParameterError, r"stride.*0"),
    ("conv channels 4.5", lambda: _conv(channels=(4.5,)), ParameterError, r"channels.*4\.5"),
    ("conv seed str", lambda: _conv(seed="a"), ParameterError, r"seed.*'a'"),
    ("conv huge", lambda: _conv(channels=(10**10,)), ParameterError, r"channels.*" + HUGE),
    (
        "build unknown option",
        lambda: classify.build_classifier(
            "dense", input_shape=(2, 4, 4), n_classes=3, batch_size=2, hiden=(4,)
        ),
        ParameterError,
        r"options of 'dense'.*hidden.*'hiden'",
    ),
    (
        "build dense with conv option",
        lambda: classify.build_classifier(
            "dense", input_shape=(2, 4, 4), n_classes=3, batch_size=2, channels=(4,)
        ),
        ParameterError,
        r"'channels'",
    ),
    (
        "dense huge (core memory check)",
        lambda: classify.build_classifier(
            "dense", input_shape=(2, 10**4, 10**4), n_classes=10, batch_size=1, hidden=(10**5,)
        ),
        ParameterError,
        r"input_to_hidden0.*GiB",
    ),
    (
        "rate_scale NaN",
        lambda: classify.SpikingClassifier(
            _dense(n_classes=3), batch_size=2, readout="rate", rate_scale=NAN
        ),
        ParameterError,
        r"rate_scale.*nan",
    ),
    (
        "classifier of a dict",
        lambda: classify.SpikingClassifier({"input": 1}, batch_size=2),
        ParameterError,
        r"network.*dict",
    ),
    (
        "forward numpy",
        lambda: _clf()(np.zeros((2, 3, 2, 4, 4))),
        ParameterError,
        r"x must be a torch\.Tensor.*ndarray",
    ),
    ("forward T 0", lambda: _clf()(torch.zeros(2, 0, 2, 4, 4)), ShapeError, r"\(2, 0, 2, 4, 4\)"),
    ("forward B 0", lambda: _clf()(torch.zeros(0, 3, 2, 4, 4)), ShapeError, r"\(0, 3, 2, 4, 4\)"),
    (
        "forward foreign carry",
        lambda: _clf()(torch.zeros(2, 3, 2, 4, 4), carry={"x": 1}),
        ParameterError,
        r"carry.*\['x'\]",
    ),
    ("ToSpikeTensor n_steps 2.5", lambda: _tst(n_steps=2.5), ParameterError, r"n_steps.*2\.5"),
    ("ToSpikeTensor n_steps NaN", lambda: _tst(n_steps=NAN), ParameterError, r"n_steps.*nan"),
    ("ToSpikeTensor duration NaN", lambda: _tst(duration_us=NAN), ParameterError, r"duration_us"),
    ("ToSpikeTensor duration Inf", lambda: _tst(duration_us=INF), ParameterError, r"inf"),
    ("ToSpikeTensor downsample 1.5", lambda: _tst(downsample=1.5), ParameterError, r"1\.5"),
    ("ToSpikeTensor mode", lambda: _tst(mode="rate"), ParameterError, r"mode.*'rate'"),
    ("ToSpikeTensor sensor -4", lambda: _tst(sensor_size=(-4, 4)), ParameterError, r"-4"),
    ("ToSpikeTensor sensor (4,)", lambda: _tst(sensor_size=(4,)), ParameterError, r"\(4,\)"),
    (
        "ToSpikeTensor plain array",
        lambda: _tst()(np.zeros((3, 4))),
        ParameterError,
        r"events.*t, x, y, p.*float64",
    ),
    (
        "ToSpikeTensor huge (sensors' check)",
        lambda: _tst(n_steps=10**12)(_EV),
        ParameterError,
        r"n_steps.*1000000000000",
    ),
    (
        "TensorDataset numpy",
        lambda: _td(np.zeros((3, 2)), np.zeros(3)),
        ParameterError,
        r"x must be a torch\.Tensor",
    ),
    (
        "TensorDataset float labels",
        lambda: _td(torch.zeros(3, 2), torch.tensor([0.5, 1.5, 2.7])),
        ParameterError,
        r"y\.dtype.*float32",
    ),
    (
        "TensorDataset label -1",
        lambda: _td(torch.zeros(3, 2), torch.tensor([0, -1, 2])),
        ParameterError,
        r"y must be class indices >= 0.*-1",
    ),
    (
        "TensorDataset label beyond classes",
        lambda: _td(torch.zeros(3, 2), torch.tensor([0, 1, 5]), classes=["a", "b"]),
        ParameterError,
        r"len\(classes\) = 2.*5",
    ),
    (
        "TensorDataset empty",
        lambda: _td(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64)),
        ParameterError,
        r"x must be at least one sample.*\(0, 2\)",
    ),
    (
        "TensorDataset packed -1",
        lambda: _td(torch.full((3, 2), -1), torch.tensor([0, 1, 2]), packed=True),
        ParameterError,
        r"binary.*-1",
    ),
    (
        "TensorDataset packed 0.5",
        lambda: _td(torch.full((3, 2), 0.5), torch.tensor([0, 1, 2]), packed=True),
        ParameterError,
        r"binary.*0\.5",
    ),
    (
        "NMNIST train as a str",
        lambda: classify.NMNIST("/", train="test"),
        ParameterError,
        r"NMNIST: train.*'test'",
    ),
    (
        "DVSGesture verify as a str",
        lambda: classify.DVSGesture("/", verify="yes"),
        ParameterError,
        r"verify.*'yes'",
    ),
    (
        "NCaltech101 exclude as a str",
        lambda: classify.NCaltech101("/", exclude="BACKGROUND_Google"),
        ParameterError,
        r"exclude.*'BACKGROUND_Google'",
    ),
    ("NCaltech101 seed 1.5", lambda: classify.NCaltech101("/", seed=1.5), ParameterError, r"1\.5"),
    (
        "dataset transform not callable",
        lambda: classify.NMNIST("/", transform=3),
        ParameterError,
        r"transform.*3",
    ),
    (
        "cache with a plain function as transform",
        lambda: classify.CachedSpikeTensors([], "/tmp/x.h5", transform=np.asarray),
        ParameterError,
        r"transform must be a ToSpikeTensor.*'builtin_function_or_method'",
    ),
    (
        "check_classes 3.7",
        lambda: classify.check_classes(_td(torch.zeros(3, 2), torch.tensor([0, 1, 2])), 3.7),
        ParameterError,
        r"n_classes.*3\.7",
    ),
    (
        "config n_steps 'abc'",
        lambda: cexp.run_experiment({"data": {"kind": "nmnist", "path": "/x", "n_steps": "abc"}}),
        ConfigError,
        r"data\.n_steps.*'abc'",
    ),
    (
        "config verify 'no'",
        lambda: cexp.run_experiment({"data": {"kind": "nmnist", "path": "/x", "verify": "no"}}),
        ConfigError,
        r"data\.verify.*'no'",
    ),
    (
        "config unknown key",
        lambda: cexp.run_experiment({"data": {"kind": "nmnist", "pth": "/x"}}),
        ConfigError,
        r"data\.pth.*unknown",
    ),
    ("config folder", lambda: cexp.load_config("/"), ConfigError, r"cannot be read as a TOML"),
    # ---------------------------------------------------------------- classic, demo
    (
        "coba frac_exc NaN",
        lambda: classic.vogels_abbott_coba(n=100, frac_exc=NAN),
        ParameterError,
        r"frac_exc.*nan",
    ),
    (
        "coba frac_exc 1",
        lambda: classic.vogels_abbott_coba(n=100, frac_exc=1.0),
        ParameterError,
        r"frac_exc.*1\.0",
    ),
    ("coba n 100.5", lambda: classic.vogels_abbott_coba(n=100.5), ParameterError, r"n.*100\.5"),
    (
        "coba monitor str",
        lambda: classic.vogels_abbott_coba(n=100, monitor="no"),
        ParameterError,
        r"monitor.*'no'",
    ),
    ("edge net 1 px", lambda: demo.edge_network(width=1), ParameterError, r"width.*>= 2.*1"),
    (
        "edge net huge",
        lambda: demo.edge_network(width=10**5, height=10**5),
        ParameterError,
        r"100000 x 100000.*GiB",
    ),
    (
        "demo epochs 0",
        lambda: demo.run_demo(out="unused", epochs=0),
        ParameterError,
        r"epochs.*>= 1.*0",
    ),
    ("demo out int", lambda: demo.run_demo(out=3), ParameterError, r"out.*3"),
]


@pytest.mark.parametrize(
    ("action", "error", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_a_typed_error_naming_the_value(action, error, pattern):
    with pytest.raises(error) as info:
        action()
    assert isinstance(info.value, ValueError)
    assert re.search(pattern, str(info.value)), str(info.value)


def test_bad_config_files_are_config_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    not_table = tmp_path / "not_table.toml"
    not_table.write_text("data = 3\n")
    for path, pattern in [
        (binary, r"binary\.toml.*cannot be read as a TOML text file"),
        (not_table, r"not_table\.toml: key 'data': expected a table, found 3"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            cexp.load_config(path)


def test_spindle_result_readers_name_the_trial_and_monitor() -> None:
    cfg = _scfg(duration_s=0.1, first_episode_s=0.01, min_episode_s=0.05, max_episode_s=0.06)
    res, eps = spindle.run_spindles(cfg, mode="rate", batch_size=1)
    with pytest.raises(
        ParameterError, match=r"lfp: batch must be a trial index in \[0, 1\), got 3"
    ):
        spindle.lfp(res, cfg, batch=3)
    with pytest.raises(ParameterError, match=r"monitor 'in_rate'.*'ex_rate'"):
        spindle.lfp(res, cfg, population="in")
    with pytest.raises(ParameterError, match=r"ring_winding: batch.*got 1"):
        spindle.ring_winding(res, cfg, eps[0], batch=1)
    signal, fs = spindle.lfp(res, cfg)  # the valid call on the same result
    assert signal.shape == (4, 100) and fs == pytest.approx(1000.0)
    assert np.all(np.isfinite(signal))


def test_demo_command_reports_a_bad_option_without_a_traceback(tmp_path: Path) -> None:
    r = CliRunner().invoke(demo.demo, ["--epochs", "0", "--out", str(tmp_path / "d")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "run_demo: epochs must be an integer >= 1, got 0" in r.output
    assert not (tmp_path / "d").exists()  # refused before any stage ran


# ------------------------------------------------------- valid neighbours still work


def test_valid_neighbours_of_the_refused_inputs_still_work() -> None:
    """numpy integers, integer-valued floats, lists and tensors mean what they say."""
    # numpy integers as sizes (WaveRNN used to refuse np.int64), and the forward pass
    y = wave.WaveRNN(np.int64(1), 2, n=np.int64(5))(torch.ones(3, 2, 1))
    assert tuple(y.shape) == (2, 2)
    # tensor weights keep their autograd graph through ring_conv_run
    w = torch.as_tensor(wave.shift_kernel(4, 1)).requires_grad_(True)
    states = wave.ring_conv_run(torch.ones(3), n=4, c=1, weights=w)
    states.sum().backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0
    # ring position k holds the input from k steps ago
    np.testing.assert_array_equal(states.detach().numpy()[:, 0], np.tril(np.ones((3, 4))))
    # integer-valued float seeds and a list of kinds
    model = replay.CA3Model(_ca3(), place_cells=_cells(), seed=2.0)
    assert model.seed == 2
    ev = _model().replay_events(kinds=["forward"], seed=np.int64(1))
    assert ev.kind == ("forward",) and ev.exc_spikes.shape[0] == 1
    # spike events given as float steps that are whole numbers, n_steps as a numpy integer
    out = spindle.lfp_from_spikes(np.array([0.0, 1.0]), [0, 1], _scfg(), n_steps=np.int64(5))
    assert out.shape == (4, 5) and float(out.sum()) > 0
    # classifier options as numpy values and lists; a uint8 packed dataset round-trips
    net = _dense(n_classes=np.int64(3), hidden=[4], input_shape=np.array([2, 4, 4]))
    assert net.populations["output"].size == 3 and net.populations["hidden0"].size == 4
    x = torch.tensor([[0, 1, 1], [1, 0, 0]], dtype=torch.uint8)
    ds = _td(x, torch.tensor([0, 2]), classes=["a", "b", "c"], packed=True)
    assert torch.equal(ds[1][0], x[1]) and int(ds[1][1]) == 2 and ds.n_classes == 3
    assert _tst(duration_us=2000, n_steps=4.0).n_steps == 4
    # classic network with an integer-valued float size
    coba = classic.vogels_abbott_coba(n=100.0, frac_exc=0.8)
    assert coba.populations["exc"].size == 80 and coba.populations["inh"].size == 20
    # the adding task still draws from its generator (same seed -> same batch)
    a1, _ = tasks.adding_batch(6, 2, generator=_gen())
    a2, _ = tasks.adding_batch(6, 2, generator=_gen())
    assert torch.equal(a1, a2)
