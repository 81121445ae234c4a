"""Bad input at the core's public API, as a user hits it.

Every case asserts the typed spikesim error (a ValueError), and that the message names the
parameter and the offending value. Cases cover what used to crash deep inside numpy/torch/h5py,
what was silently accepted (truncated indices, wrong-length lists, terabyte allocations) and the
important ones that already behaved, so they stay that way. Valid neighbours of the fixed cases
are checked to still work. Small sizes: nothing here allocates more than a few MB.
"""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import spikesim as ss
from spikesim.cli import cli
from spikesim.errors import ConfigError, ParameterError, ShapeError


def _net() -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_population("a", 10, ss.LIF())
    net.add_population("b", 20, ss.LIF())
    return net


def _proj(conn, **kw):
    return _net().add_projection("x", "a", "b", conn, **kw)


def _conv(kernel, *, padding=0):
    net = ss.Network(dt_s=1e-4)
    net.add_population("img", 16, ss.LIF(), shape=(1, 4, 4))
    net.add_population("out", 4, ss.LIF(), shape=(1, 2, 2))
    return net.add_projection("c", "img", "out", ss.Conv2d(kernel=kernel, padding=padding))


def _ring(conn):
    net = ss.Network(dt_s=1e-4)
    net.add_population("r", 10, ss.LIF())
    return net.add_projection("c", "r", "r", conn)


def _tensor_net(values="real") -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_spike_tensor("x", 4, values=values)
    net.add_population("a", 3, ss.CubaLIF())
    net.add_projection("p", "x", "a", ss.Dense(weight=0.5))
    net.monitor_spikes("a")
    return net


def _noise_net() -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("s", 5, rate_hz=100.0)
    net.add_population("a", 10, ss.LIF())
    net.add_projection("p", "s", "a", ss.Dense(weight=1.0))
    net.add_current("c", "a", amplitude_mV=2.0)
    net.monitor_spikes("a")
    net.monitor_rate("a")
    return net


def _big(conn, n=10**6, **kw) -> ss.Network:
    """A description only (no arrays): the simulator must refuse it before allocating."""
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("s", n, rate_hz=1.0)
    net.add_population("a", n, ss.LIF())
    net.add_projection("p", "s", "a", conn, **kw)
    return net


def _big_distance(n_pre, n_post, layout_pre, layout_post, **kw) -> ss.Network:
    """Distance-dependent projection between two laid-out populations (a description only)."""
    net = ss.Network(dt_s=1e-4)
    net.add_population("s", n_pre, ss.LIF(), layout=layout_pre)
    net.add_population("a", n_post, ss.LIF(), layout=layout_post)
    net.add_projection("p", "s", "a", ss.DistanceDependent(**kw))
    return net


def _big_sheets(*, periodic=False, **kw) -> ss.Network:
    """1000 x 1000 sheets 1 mm apart, sigma 0.1 m: 2 pi sigma^2 / spacing^2 = 6.28e4 synapses
    per post neuron on a torus (6.28e10 in all), 5.32e10 with the edges of a flat sheet."""
    sheet = ss.Sheet(1000, 1000, spacing_m=1e-3, periodic=periodic)
    return _big_distance(10**6, 10**6, sheet, sheet, p_max=1.0, sigma_m=0.1, **kw)


def _distance_workspace_only() -> ss.Network:
    """A ring of host_bytes / 20 neurons onto one neuron: hardly any synapse (sigma 1 nm), but
    drawing evaluates the whole row of pairs at once, 3 float64 each plus 16 B of position:
    40 B per pre neuron, twice the host's memory, while the population itself (8 B each) fits."""
    from spikesim._memory import host_memory_bytes

    n = host_memory_bytes() // 20
    return _big_distance(n, 1, ss.Ring(1.0), ss.Ring(1.0), p_max=1.0, sigma_m=1e-9)


def _fwd(inputs, values="real", **kw):
    return ss.Simulator(_tensor_net(values), differentiable=True)(inputs, **kw)


def _with(value, at=(3, 1, 2), dtype=torch.float32):
    """A [10, 2, 4] input of zeros and ones with ``value`` at step, batch, neuron ``at``."""
    x = (torch.arange(80).reshape(10, 2, 4) % 3 == 0).to(dtype)
    x[at] = value
    return {"x": x}


def _run_values(values, inputs):
    return ss.Simulator(_tensor_net(values), batch_size=2).run(0.001, inputs=inputs)


_X = {"x": torch.zeros(10, 1, 4)}

# (id, action, error type, regex the message must match: field and offending value)
DESCRIPTION_CASES = [
    # the network itself (hardware's from_nir passed any name through)
    ("network name int", lambda: ss.Network(dt_s=1e-4, name=5), ParameterError, r"name.*got 5"),
    ("network name empty", lambda: ss.Network(dt_s=1e-4, name=""), ParameterError, r"name.*''"),
    # populations
    (
        "size 0",
        lambda: _net().add_population("p", 0, ss.LIF()),
        ParameterError,
        r"size.*>= 1.*got 0",
    ),
    (
        "size negative",
        lambda: _net().add_population("p", -3, ss.LIF()),
        ParameterError,
        r"size.*got -3",
    ),
    (
        "size float",
        lambda: _net().add_population("p", 2.5, ss.LIF()),
        ParameterError,
        r"size.*integer.*2\.5",
    ),
    (
        "size bool",
        lambda: _net().add_population("p", True, ss.LIF()),
        ParameterError,
        r"size.*True",
    ),
    ("size str", lambda: _net().add_population("p", "10", ss.LIF()), ParameterError, r"size.*'10'"),
    ("name empty", lambda: _net().add_population("", 3, ss.LIF()), ParameterError, r"name.*''"),
    (
        "name taken",
        lambda: _net().add_population("a", 3, ss.LIF()),
        ParameterError,
        r"name.*not used.*'a'",
    ),
    ("model None", lambda: _net().add_population("p", 3, None), ParameterError, r"model.*None"),
    (
        "shape negative",
        lambda: _net().add_population("p", 4, ss.LIF(), shape=(-2, -2)),
        ParameterError,
        r"shape.*>= 1.*-2",
    ),
    (
        "shape float",
        lambda: _net().add_population("p", 4, ss.LIF(), shape=(2.5, 2)),
        ParameterError,
        r"shape.*integer.*2\.5",
    ),
    (
        "shape str",
        lambda: _net().add_population("p", 4, ss.LIF(), shape="ab"),
        ParameterError,
        r"shape.*'ab'",
    ),
    (
        "shape product",
        lambda: _net().add_population("p", 6, ss.LIF(), shape=(2, 2)),
        ShapeError,
        r"shape.*\(2, 2\)",
    ),
    (
        "layout str",
        lambda: _net().add_population("p", 4, ss.LIF(), layout="ring"),
        ParameterError,
        r"layout.*'ring'",
    ),
    # neuron parameters
    (
        "tau str",
        lambda: _net().add_population("p", 3, ss.LIF(tau_mem_s="fast")),
        ParameterError,
        r"tau_mem_s.*'fast'",
    ),
    (
        "v_th str",
        lambda: _net().add_population("p", 3, ss.LIF(v_th_mV="-50")),
        ParameterError,
        r"v_th_mV.*'-50'",
    ),
    (
        "tau tensor",
        lambda: _net().add_population("p", 3, ss.LIF(tau_mem_s=torch.tensor(0.02))),
        ParameterError,
        r"tau_mem_s.*tensor",
    ),
    (
        "tau NaN",
        lambda: _net().add_population("p", 3, ss.LIF(tau_mem_s=float("nan"))),
        ParameterError,
        r"tau_mem_s.*nan",
    ),
    (
        "i_bias str",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV="x")),
        ParameterError,
        r"i_bias_mV.*'x'",
    ),
    (
        "i_bias list wrong length",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV=[1.0, 2.0])),
        ShapeError,
        r"i_bias_mV.*\(3,\).*\(2,\)",
    ),
    (
        "i_bias array wrong length",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV=np.ones(4))),
        ShapeError,
        r"i_bias_mV.*\(4,\)",
    ),
    (
        "i_bias NaN entry",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV=np.array([1.0, np.nan, 2.0]))),
        ParameterError,
        r"i_bias_mV.*NaN",
    ),
    (
        "v_init wrong length",
        lambda: _net().add_population("p", 3, ss.LIF(v_init_mV=np.ones(5))),
        ShapeError,
        r"v_init_mV.*\(5,\)",
    ),
    (
        "Izhikevich a wrong length",
        lambda: _net().add_population("p", 3, ss.Izhikevich(a=np.ones(2))),
        ShapeError,
        r"'p'.*a must have shape \(3,\)",
    ),
    (
        "Normal mean str",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV=ss.Normal("a", 1.0))),
        ParameterError,
        r"i_bias_mV\.mean.*'a'",
    ),
    (
        "LogNormal sigma < 0",
        lambda: _net().add_population("p", 3, ss.LIF(i_bias_mV=ss.LogNormal(0.0, -1.0))),
        ParameterError,
        r"i_bias_mV\.sigma.*-1",
    ),
    (
        "transfer unknown",
        lambda: _net().add_population("p", 3, ss.RateUnit(transfer="softplus")),
        ParameterError,
        r"transfer.*'softplus'",
    ),
    ("dt_s NaN", lambda: ss.Network(dt_s=float("nan")), ParameterError, r"dt_s.*nan"),
    # connectivity
    (
        "Sparse p < 0",
        lambda: _proj(ss.Sparse(p=-0.1)),
        ParameterError,
        r"'x'.*p must be a probability.*-0\.1",
    ),
    (
        "Sparse p > 1",
        lambda: _proj(ss.Sparse(p=1.5)),
        ParameterError,
        r"p must be a probability.*1\.5",
    ),
    (
        "Sparse p NaN",
        lambda: _proj(ss.Sparse(p=float("nan"))),
        ParameterError,
        r"p must be a finite.*nan",
    ),
    (
        "Sparse weight array",
        lambda: _proj(ss.Sparse(p=0.5, weight=np.ones(3))),
        ParameterError,
        r"weight.*random number of synapses.*\(3,\)",
    ),
    (
        "FixedFanIn k > pre",
        lambda: _proj(ss.FixedFanIn(k=11)),
        ParameterError,
        r"k must be <= .*\(10\).*11",
    ),
    (
        "FixedFanIn k < 0",
        lambda: _proj(ss.FixedFanIn(k=-1)),
        ParameterError,
        r"k must be an integer >= 0.*-1",
    ),
    (
        "FixedFanIn weight length",
        lambda: _proj(ss.FixedFanIn(k=2, weight=np.ones(3))),
        ShapeError,
        r"weight.*\(40,\).*\(3,\)",
    ),
    (
        "Dense weight flat",
        lambda: _proj(ss.Dense(weight=np.ones(7))),
        ShapeError,
        r"weight.*\(20, 10\).*\(7,\)",
    ),
    (
        "Dense weight transposed",
        lambda: _proj(ss.Dense(weight=np.ones((10, 20)))),
        ShapeError,
        r"weight.*\(20, 10\).*\(10, 20\)",
    ),
    ("Dense weight str", lambda: _proj(ss.Dense(weight="1")), ParameterError, r"weight.*'1'"),
    (
        "Explicit index out of range",
        lambda: _proj(ss.Explicit(pre=np.array([0, 10]), post=np.array([0, 1]))),
        ParameterError,
        r"pre must be integer indices in \[0, 10\).*10",
    ),
    (
        "Explicit length mismatch",
        lambda: _proj(ss.Explicit(pre=np.array([0, 1]), post=np.array([0]))),
        ShapeError,
        r"post.*\(2,\).*\(1,\)",
    ),
    (
        "Explicit weight list length",
        lambda: _proj(ss.Explicit(pre=[0, 1], post=[0, 1], weight=[1.0, 2.0, 3.0])),
        ShapeError,
        r"weight.*\(2,\).*\(3,\)",
    ),
    (
        "Explicit negative delay",
        lambda: _proj(ss.Explicit(pre=[0], post=[0], delay_steps=np.array([-1]))),
        ParameterError,
        r"delay_steps.*-1",
    ),
    (
        "delay_steps < 0",
        lambda: _proj(ss.Dense(), delay_steps=-1),
        ParameterError,
        r"delay_steps.*-1",
    ),
    (
        "delay_steps float",
        lambda: _proj(ss.Dense(), delay_steps=2.5),
        ParameterError,
        r"delay_steps.*integer.*2\.5",
    ),
    (
        "trainable str",
        lambda: _proj(ss.Dense(), trainable="no"),
        ParameterError,
        r"trainable.*'no'",
    ),
    (
        "receptor unknown",
        lambda: _proj(ss.Dense(), receptor="glu"),
        ParameterError,
        r"receptor.*'glu'",
    ),
    (
        "pre missing",
        lambda: _net().add_projection("x", "zz", "b", ss.Dense()),
        ParameterError,
        r"pre.*known: a, b.*'zz'",
    ),
    ("connectivity str", lambda: _proj("dense"), ParameterError, r"connectivity.*'dense'"),
    (
        "Conv2d kernel > input",
        lambda: _conv(np.ones((1, 1, 5, 5))),
        ParameterError,
        r"kernel.*padded input \(4 x 4\).*5 x 5",
    ),
    (
        "Conv2d c_in mismatch",
        lambda: _conv(np.ones((1, 2, 3, 3))),
        ShapeError,
        r"pre shape.*\(1, 4, 4\)",
    ),
    ("Conv2d kernel str", lambda: _conv(np.array([[[["a"]]]])), ParameterError, r"kernel.*numeric"),
    (
        "Circulant length mismatch",
        lambda: _ring(ss.Circulant(offsets=(1, 2), weights=np.ones(3))),
        ShapeError,
        r"weights.*\(2,\).*\(3,\)",
    ),
    (
        "Circulant float offset",
        lambda: _ring(ss.Circulant(offsets=(1.5,), weights=np.ones(1))),
        ParameterError,
        r"offsets.*integer.*1\.5",
    ),
    (
        "Circulant offsets str",
        lambda: _ring(ss.Circulant(offsets="ab", weights=np.ones(2))),
        ParameterError,
        r"offsets.*'ab'",
    ),
    (
        "Distance without layout",
        lambda: _proj(ss.DistanceDependent()),
        ParameterError,
        r"connectivity.*layout.*'a'",
    ),
    # inputs
    (
        "spike tensor values unknown",
        lambda: _net().add_spike_tensor("s", 4, values="spikes"),
        ParameterError,
        r"'s'.*values must be one of 'real', 'count', 'binary'.*'spikes'",
    ),
    (
        "Poisson rate < 0",
        lambda: _net().add_poisson("s", 4, rate_hz=-1.0),
        ParameterError,
        r"rate_hz.*-1",
    ),
    (
        "Poisson rate NaN",
        lambda: _net().add_poisson("s", 4, rate_hz=float("nan")),
        ParameterError,
        r"rate_hz.*nan",
    ),
    (
        "Poisson rate list length",
        lambda: _net().add_poisson("s", 4, rate_hz=[1.0, 2.0, 3.0]),
        ShapeError,
        r"rate_hz.*\(4,\).*\(3,\)",
    ),
    (
        "spike index out of range",
        lambda: _net().add_spike_times("s", 3, indices=[0, 5], times_s=[0.0, 0.001]),
        ParameterError,
        r"indices.*\[0, 3\).*5",
    ),
    (
        "spike index negative",
        lambda: _net().add_spike_times("s", 3, indices=[-1], times_s=[0.0]),
        ParameterError,
        r"indices.*-1",
    ),
    (
        "spike index float",
        lambda: _net().add_spike_times("s", 3, indices=[0.5], times_s=[0.0]),
        ParameterError,
        r"indices.*integer.*0\.5",
    ),
    (
        "spike index str",
        lambda: _net().add_spike_times("s", 3, indices=["a"], times_s=[0.0]),
        ParameterError,
        r"indices.*'a'",
    ),
    (
        "spike time negative",
        lambda: _net().add_spike_times("s", 3, indices=[0], times_s=[-0.001]),
        ParameterError,
        r"times_s.*>= 0.*-0\.001",
    ),
    (
        "spike time NaN",
        lambda: _net().add_spike_times("s", 3, indices=[0, 1], times_s=[0.0, float("nan")]),
        ParameterError,
        r"times_s.*nan",
    ),
    (
        "spike time str",
        lambda: _net().add_spike_times("s", 3, indices=[0], times_s=["x"]),
        ParameterError,
        r"times_s.*'x'",
    ),
    (
        "spike lengths differ",
        lambda: _net().add_spike_times("s", 3, indices=[0, 1], times_s=[0.0]),
        ShapeError,
        r"times_s.*\(2,\).*\(1,\)",
    ),
    (
        "spike times 2-D",
        lambda: _net().add_spike_times("s", 3, indices=[[0]], times_s=[[0.0]]),
        ParameterError,
        r"indices.*1-D.*\(1, 1\)",
    ),
    (
        "current stop < start",
        lambda: _net().add_current("c", "a", amplitude_mV=1.0, start_s=0.01, stop_s=0.005),
        ParameterError,
        r"stop_s.*0\.005",
    ),
    (
        "current amplitude length",
        lambda: _net().add_current("c", "a", amplitude_mV=np.ones(3)),
        ShapeError,
        r"amplitude_mV.*\(10,\).*\(3,\)",
    ),
    # monitors
    (
        "monitor index out of range",
        lambda: _net().monitor_spikes("a", indices=[10]),
        ParameterError,
        r"indices.*\[0, 10\).*10",
    ),
    (
        "monitor index float",
        lambda: _net().monitor_spikes("a", indices=[0.5]),
        ParameterError,
        r"indices.*integer.*0\.5",
    ),
    (
        "monitor index twice",
        lambda: _net().monitor_spikes("a", indices=[1, 2, 1]),
        ParameterError,
        r"indices.*distinct.*1",
    ),
    (
        "every_steps 0",
        lambda: _net().monitor_state("a", "v", every_steps=0),
        ParameterError,
        r"every_steps.*0",
    ),
    (
        "state variable unknown",
        lambda: _net().monitor_state("a", "voltage"),
        ParameterError,
        r"variables.*'voltage'",
    ),
    ("state variables int", lambda: _net().monitor_state("a", 5), ParameterError, r"variables.*5"),
    (
        "state variables empty",
        lambda: _net().monitor_state("a", []),
        ParameterError,
        r"variables.*\[\]",
    ),
    (
        "state variable twice",
        lambda: _net().monitor_state("a", ["v", "v"]),
        ParameterError,
        r"variables.*distinct",
    ),
    (
        "bin_s < dt_s",
        lambda: _net().monitor_rate("a", bin_s=1e-5),
        ParameterError,
        r"bin_s.*dt_s.*1e-05",
    ),
    # an empty name was replaced by the default name without a word
    (
        "monitor name empty",
        lambda: _net().monitor_spikes("a", name=""),
        ParameterError,
        r"name.*''",
    ),
    ("rate name empty", lambda: _net().monitor_rate("a", name=""), ParameterError, r"name.*''"),
    (
        "state name empty",
        lambda: _net().monitor_state("a", "v", name=""),
        ParameterError,
        r"name.*''",
    ),
]

RUN_CASES = [
    (
        "batch_size 0",
        lambda: ss.Simulator(_noise_net(), batch_size=0),
        ParameterError,
        r"batch_size.*0",
    ),
    (
        "batch_size float",
        lambda: ss.Simulator(_noise_net(), batch_size=2.5),
        ParameterError,
        r"batch_size.*2\.5",
    ),
    (
        "mode unknown",
        lambda: ss.Simulator(_noise_net(), mode="analog"),
        ParameterError,
        r"mode.*'analog'",
    ),
    (
        "device unknown",
        lambda: ss.Simulator(_noise_net(), device="gpu"),
        ParameterError,
        r"device.*'gpu'",
    ),
    (
        "device meta",
        lambda: ss.Simulator(_noise_net(), device="meta"),
        ParameterError,
        r"device.*'meta'",
    ),
    (
        "dtype int",
        lambda: ss.Simulator(_noise_net(), dtype=torch.int32),
        ParameterError,
        r"dtype.*int32",
    ),
    ("seed negative", lambda: ss.Simulator(_noise_net(), seed=-1), ParameterError, r"seed.*-1"),
    (
        "seed too large",
        lambda: ss.Simulator(_noise_net(), seed=2**70),
        ParameterError,
        r"seed.*2\*\*62",
    ),
    ("network None", lambda: ss.Simulator(None), ParameterError, r"network.*None"),
    ("duration 0", lambda: ss.Simulator(_noise_net()).run(0.0), ParameterError, r"duration_s.*0"),
    (
        "duration NaN",
        lambda: ss.Simulator(_noise_net()).run(float("nan")),
        ParameterError,
        r"duration_s.*nan",
    ),
    (
        "duration inf",
        lambda: ss.Simulator(_noise_net()).run(float("inf")),
        ParameterError,
        r"duration_s.*inf",
    ),
    (
        "duration < dt",
        lambda: ss.Simulator(_noise_net()).run(1e-6),
        ParameterError,
        r"duration_s.*1e-06",
    ),
    (
        "chunk_steps 0",
        lambda: ss.Simulator(_noise_net()).run(0.001, chunk_steps=0),
        ParameterError,
        r"chunk_steps.*>= 1.*0",
    ),
    (
        "chunk_steps negative",
        lambda: ss.Simulator(_noise_net()).run(0.001, chunk_steps=-5),
        ParameterError,
        r"chunk_steps.*-5",
    ),
    (
        "chunk_steps str",
        lambda: ss.Simulator(_noise_net()).run(0.001, chunk_steps="10"),
        ParameterError,
        r"chunk_steps.*'10'",
    ),
    (
        "nan_check_every 0",
        lambda: ss.Simulator(_noise_net()).run(0.001, nan_check_every=0),
        ParameterError,
        r"nan_check_every.*0",
    ),
    (
        "progress str",
        lambda: ss.Simulator(_noise_net()).run(0.001, progress="no"),
        ParameterError,
        r"progress.*'no'",
    ),
    (
        "out in a missing folder",
        lambda: ss.Simulator(_noise_net()).run(0.001, out="/nonexistent/dir/r.h5"),
        ParameterError,
        r"out.*/nonexistent/dir/r\.h5",
    ),
    ("out int", lambda: ss.Simulator(_noise_net()).run(0.001, out=5), ParameterError, r"out.*5"),
    (
        "inputs unknown name",
        lambda: ss.Simulator(_tensor_net()).run(
            0.001, inputs={"x": torch.zeros(10, 1, 4), "zz": torch.zeros(10, 1, 4)}
        ),
        ParameterError,
        r"inputs.*'zz'",
    ),
    (
        "inputs list",
        lambda: ss.Simulator(_tensor_net()).run(0.001, inputs=[torch.zeros(10, 1, 4)]),
        ParameterError,
        r"inputs.*dict.*list",
    ),
    (
        "inputs missing",
        lambda: ss.Simulator(_tensor_net()).run(0.001),
        ParameterError,
        r"'x'.*inputs.*nothing",
    ),
    (
        "inputs wrong shape",
        lambda: ss.Simulator(_tensor_net()).run(0.001, inputs={"x": torch.zeros(10, 1, 5)}),
        ShapeError,
        r"'x'.*\(10, 1, 4\).*\(10, 1, 5\)",
    ),
    (
        "inputs str",
        lambda: ss.Simulator(_tensor_net()).run(0.001, inputs={"x": "abc"}),
        ParameterError,
        r"'x'.*'abc'",
    ),
    # what a spike-tensor source takes (add_spike_tensor(values=...)), checked on every run
    (
        "inputs graded into values='binary'",
        lambda: _run_values("binary", _with(0.5)),
        ParameterError,
        r"input 'x'.*spike tensor must be 0 or 1.*'0\.5 at step 3, batch 1, neuron 2'.*"
        r"values='count' or 'real'",
    ),
    (
        "inputs count 2 into values='binary'",
        lambda: _run_values("binary", _with(2, at=(9, 0, 3), dtype=torch.uint8)),
        ParameterError,
        r"0 or 1.*'2 at step 9, batch 0, neuron 3'",
    ),
    (
        "inputs negative count",
        lambda: _run_values("count", _with(-1, at=(0, 0, 1), dtype=torch.int64)),
        ParameterError,
        r"input 'x'.*integers >= 0.*'-1 at step 0, batch 0, neuron 1'",
    ),
    (
        "inputs fractional count",
        lambda: _run_values("count", _with(1.5)),
        ParameterError,
        r"integers >= 0.*'1\.5 at step 3, batch 1, neuron 2'",
    ),
    (
        "inputs NaN (values='real')",
        lambda: _run_values("real", _with(float("nan"))),
        ParameterError,
        r"input 'x'.*finite numbers.*'nan at step 3, batch 1, neuron 2'",
    ),
    (
        "inputs -inf (values='real')",
        lambda: _run_values("real", _with(float("-inf"), at=(5, 0, 0), dtype=torch.float64)),
        ParameterError,
        r"finite numbers.*'-inf at step 5, batch 0, neuron 0'",
    ),
    (
        "forward graded into values='binary'",
        lambda: _fwd({"x": _with(0.25, at=(3, 0, 2))["x"][:, :1]}, values="binary", record=("a",)),
        ParameterError,
        r"input 'x'.*0 or 1.*'0\.25 at step 3, batch 0, neuron 2'",
    ),
    (
        "forward wrong shape",
        lambda: _fwd({"x": torch.zeros(10, 1, 5)}, record=("a",)),
        ShapeError,
        r"\(10, 1, 4\).*\(10, 1, 5\)",
    ),
    (
        "forward n_steps 0",
        lambda: _fwd({"x": torch.zeros(0, 1, 4)}, record=("a",)),
        ParameterError,
        r"n_steps.*0",
    ),
    ("forward record unknown", lambda: _fwd(_X, record=("zz",)), ParameterError, r"record.*'zz'"),
    (
        "forward carry foreign",
        lambda: _fwd(_X, record=("a",), carry={"zz": 1}),
        ParameterError,
        r"carry.*'zz'",
    ),
    # never allocate terabytes: refused before any array is made
    (
        "dense 1e6 x 1e6",
        lambda: ss.Simulator(_big(ss.Dense(weight=0.0))),
        ParameterError,
        r"'p'.*connectivity.*1000000 x 1000000 dense",
    ),
    (
        "sparse 1e6 x 1e6 p=0.5",
        lambda: ss.Simulator(_big(ss.Sparse(p=0.5))),
        ParameterError,
        r"connectivity.*5e\+11 synapses",
    ),
    (
        "delay 1e12 steps",
        lambda: ss.Simulator(_big(ss.Dense(), n=10, delay_steps=10**12)),
        ParameterError,
        r"delay_steps.*1000000000002 slots",
    ),
    (
        "population 1e12",
        lambda: ss.Simulator(_big(ss.OneToOne(), n=10**12)),
        ParameterError,
        r"size.*1000000000000 neurons",
    ),
    (
        "batch 1e9",
        lambda: ss.Simulator(_big(ss.OneToOne(), n=1000), batch_size=10**9),
        ParameterError,
        r"batch_size.*batch 1000000000",
    ),
    (
        "distance 1e6-neuron sheets, sigma 0.1 m",
        lambda: ss.Simulator(_big_sheets()),
        ParameterError,
        r"'p'.*connectivity.*about 5\.32e\+10 synapses \(p_max = 1, sigma_m = 0\.1 over "
        r"1000000 x 1000000 pairs\)",
    ),
    (
        "distance drawing row larger than memory",
        lambda: ss.Simulator(_distance_workspace_only()),
        ParameterError,
        r"'p'.*connectivity.*about \d\S* synapses .*over 1 x \d+ pairs\) and [\d.]+ GiB to draw",
    ),
    # Network.frozen draws every synapse into host memory: the same refusal, before drawing
    (
        "frozen dense 1e6 x 1e6",
        lambda: _big(ss.Dense(weight=0.0)).frozen(seed=0),
        ParameterError,
        r"'p'.*connectivity.*1000000 x 1000000 dense",
    ),
    (
        "frozen fixed fan-in 1e6 x k 1e6",
        lambda: _big(ss.FixedFanIn(k=10**6)).frozen(seed=0),
        ParameterError,
        r"connectivity.*k = 1000000 synapses",
    ),
    (
        "frozen distance 1e6-neuron torus sheets",
        lambda: _big_sheets(periodic=True, allow_self=True).frozen(seed=0),
        ParameterError,
        r"connectivity.*about 6\.28e\+10 synapses",
    ),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(
    ("label", "action", "error", "pattern"),
    DESCRIPTION_CASES + RUN_CASES,
    ids=_ids(DESCRIPTION_CASES + RUN_CASES),
)
def test_bad_input_raises_a_named_typed_error(label, action, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        action()
    assert isinstance(info.value, ValueError) and type(info.value) is error


@pytest.mark.parametrize(
    ("pre_layout", "post_layout", "n_pre", "n_post", "sigma_m", "allow_self"),
    [
        (ss.Sheet(30, 30, 1e-3), ss.Sheet(30, 30, 1e-3), 900, 900, 3e-3, False),
        (ss.Sheet(30, 30, 1e-3, True), ss.Sheet(30, 30, 1e-3, True), 900, 900, 3e-3, False),
        (ss.Sheet(20, 40, 1e-3), ss.Sheet(30, 30, 2e-3), 800, 900, 6e-3, True),
        (ss.Ring(0.1), ss.Ring(0.1), 1000, 1000, 1e-3, False),
        (ss.Ring(0.1), ss.Ring(0.2), 500, 1000, 5e-3, True),
    ],
)
def test_distance_estimate_matches_the_synapses_drawn(
    pre_layout, post_layout, n_pre, n_post, sigma_m, allow_self
):
    """The memory check's expected synapse count of a distance-dependent projection (closed
    form) is within 3 % of what materialize draws (1.2e4 to 2.5e4 synapses here, a sampling
    spread of <= 1 %) for sigma >= the spacing, and below the drawn count for sigma < spacing."""
    from spikesim._memory import distance_synapses
    from spikesim.connectivity import materialize

    def drawn_and_estimate(conn):
        net = _big_distance(n_pre, n_post, pre_layout, post_layout)
        pre, post = net.populations["s"], net.populations["a"]
        table = materialize(
            conn,
            where="p",
            pre_shape=pre.dims,
            post_shape=post.dims,
            generator=np.random.default_rng(0),
            dt_s=1e-4,
            pre_layout=pre_layout,
            post_layout=post_layout,
        )
        return len(table), distance_synapses(conn, pre, post)

    drawn, estimate = drawn_and_estimate(
        ss.DistanceDependent(p_max=0.5, sigma_m=sigma_m, allow_self=allow_self)
    )
    assert drawn > 10_000
    assert estimate == pytest.approx(drawn, rel=0.03)
    spacing = 1e-3 if isinstance(post_layout, ss.Sheet) else 1e-4
    drawn, estimate = drawn_and_estimate(
        ss.DistanceDependent(p_max=1.0, sigma_m=spacing / 5, allow_self=True)
    )
    assert drawn >= 100 and estimate < drawn  # only (nearly) coinciding positions connect


# ------------------------------------------------------------------ configuration files


def _dict_case(mutate):
    d = _noise_net().to_dict()
    mutate(d)
    return lambda: ss.Network.from_dict(d, source="cfg.toml")


def _set(path, value):
    def mutate(d):
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return mutate


def _drop(path):
    def mutate(d):
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        del obj[path[-1]]

    return mutate


CONFIG_CASES = [
    (
        "populations a table",
        _set(["populations"], {"a": 1}),
        ConfigError,
        r"cfg\.toml.*'populations'.*list of tables.*dict",
    ),
    (
        "population a string",
        _set(["populations", 0], "abc"),
        ConfigError,
        r"populations\[0\].*table.*str",
    ),
    ("dt_s a string", _set(["network", "dt_s"], "1e-4"), ParameterError, r"dt_s.*'1e-4'"),
    (
        "size missing",
        _drop(["populations", 1, "size"]),
        ConfigError,
        r"populations\[1\].*'size'.*missing",
    ),
    ("size a string", _set(["populations", 1, "size"], "10"), ParameterError, r"size.*'10'"),
    (
        "model parameter a string",
        _set(["populations", 1, "model", "tau_mem_s"], "x"),
        ParameterError,
        r"population 'a'.*tau_mem_s.*'x'",
    ),
    ("model a list", _set(["populations", 1, "model"], [1]), ConfigError, r"'model'.*table"),
    (
        "source a string",
        _set(["populations", 0, "source"], "poisson"),
        ConfigError,
        r"'source'.*'poisson'",
    ),
    (
        "float spike index",
        _set(
            ["populations", 0, "source"],
            {"kind": "spike_times", "indices": [0.7], "times_s": [0.0]},
        ),
        ParameterError,
        r"indices.*0\.7",
    ),
    (
        "layout a string",
        _set(["populations", 1, "layout"], "ring"),
        ConfigError,
        r"'layout'.*'ring'",
    ),
    ("shape an int", _set(["populations", 1, "shape"], 10), ParameterError, r"shape.*10"),
    (
        "connectivity a string",
        _set(["projections", 0, "connectivity"], "dense"),
        ConfigError,
        r"connectivity.*'dense'",
    ),
    (
        "trainable a string",
        _set(["projections", 0, "trainable"], "no"),
        ParameterError,
        r"trainable.*'no'",
    ),
    (
        "current amplitude missing",
        _drop(["currents", 0, "amplitude_mV"]),
        ConfigError,
        r"currents\[0\].*'amplitude_mV'.*missing",
    ),
    (
        "monitor target missing",
        _drop(["monitors", 0, "target"]),
        ConfigError,
        r"monitors\[0\].*'target'.*missing",
    ),
    ("monitor a string", _set(["monitors", 0], "x"), ConfigError, r"monitors\[0\].*table.*str"),
    ("future format_version", _set(["format_version"], 99), ConfigError, r"format_version.*99"),
    (
        "spike tensor values unknown",
        _set(["populations", 0, "source"], {"kind": "spike_tensor", "values": "spikes"}),
        ParameterError,
        r"values.*'spikes'",
    ),
    (
        "spike tensor unknown key",
        _set(["populations", 0, "source"], {"kind": "spike_tensor", "binary": True}),
        ConfigError,
        r"'binary'",
    ),
]


@pytest.mark.parametrize(
    ("label", "mutate", "error", "pattern"), CONFIG_CASES, ids=_ids(CONFIG_CASES)
)
def test_bad_config_dict_raises_a_named_typed_error(label, mutate, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        _dict_case(mutate)()
    assert isinstance(info.value, ValueError)


def _hdf5_files(tmp_path):
    good = tmp_path / "net.h5"
    _noise_net().to_hdf5(good)
    files = {"missing": tmp_path / "none.h5", "folder": tmp_path}
    files["truncated"] = tmp_path / "truncated.h5"
    files["truncated"].write_bytes(good.read_bytes()[:600])
    files["text"] = tmp_path / "text.h5"
    files["text"].write_text("hello")
    files["foreign"] = tmp_path / "foreign.h5"
    with h5py.File(files["foreign"], "w") as f:
        f["x"] = 1
    files["empty group"] = tmp_path / "empty.h5"
    with h5py.File(files["empty group"], "w") as f:
        f.create_group("network")
    files["bad json"] = tmp_path / "badjson.h5"
    with h5py.File(files["bad json"], "w") as f:
        f.create_group("network").attrs["description_json"] = "{not json"
    files["missing array"] = tmp_path / "noarray.h5"
    with h5py.File(files["missing array"], "w") as f:
        g = f.create_group("network")
        g.attrs["description_json"] = json.dumps({"populations": {"$array": "arr9"}})
    return files


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("missing", r"none\.h5.*file not found"),
        ("folder", r"not a readable HDF5 file"),
        ("truncated", r"truncated\.h5.*not a readable HDF5 file.*truncated"),
        ("text", r"text\.h5.*not a readable HDF5 file.*signature"),
        ("foreign", r"foreign\.h5.*'network'.*no network description"),
        ("empty group", r"empty\.h5.*description_json.*missing"),
        ("bad json", r"badjson\.h5.*description_json.*not valid JSON"),
        ("missing array", r"noarray\.h5.*arrays/arr9.*missing dataset"),
    ],
)
def test_network_from_a_bad_hdf5_file(tmp_path, kind, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ss.Network.from_hdf5(_hdf5_files(tmp_path)[kind])


def test_result_from_a_bad_hdf5_file(tmp_path):
    files = _hdf5_files(tmp_path)
    good = tmp_path / "result.h5"
    ss.simulate(_noise_net(), duration_s=0.002).to_hdf5(good)
    with h5py.File(good, "a") as f:
        assert "provenance_json" in f.attrs
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(good.read_bytes())
    with h5py.File(damaged, "a") as f:
        del f.attrs["provenance_json"]
    cases = [
        (files["missing"], r"none\.h5: file must be an existing result file.*file not found"),
        (files["truncated"], r"truncated\.h5: file must be a readable HDF5.*truncated"),
        (files["text"], r"text\.h5: file must be a readable HDF5.*signature"),
        (files["foreign"], r"foreign\.h5: file must be a spikesim result file"),
        (damaged, r"damaged\.h5: file must be a complete spikesim result file.*provenance_json"),
    ]
    for path, pattern in cases:
        with pytest.raises(ParameterError, match=pattern):
            ss.Result.from_hdf5(path)
    with pytest.raises(ParameterError, match=r"path.*missing_dir"):
        ss.Result.from_hdf5(good).to_hdf5(tmp_path / "missing_dir" / "r.h5")


def test_toml_that_cannot_be_read(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[populations]\na = 1\n")
    for path, pattern in [
        (tmp_path / "nope.toml", r"nope\.toml.*file not found"),
        (tmp_path, r"cannot be read as a TOML text file"),
        (binary, r"binary\.toml.*cannot be read as a TOML text file"),
        (wrong, r"wrong\.toml.*'populations'.*list of tables"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            ss.Network.from_toml(path)


@pytest.mark.parametrize(
    ("run_table", "pattern"),
    [
        ('duration_s = "x"', r"duration_s.*'x'"),
        ("duration_s = 0.001\nbatch_size = 2.5", r"batch_size.*2\.5"),
        ('duration_s = 0.001\nseed = "x"', r"seed.*'x'"),
        ('duration_s = 0.001\ndevice = "gpu"', r"device.*'gpu'"),
        ("duration_s = 0.001\nchunk_steps = 0", r"chunk_steps.*0"),
        ('duration_s = 0.001\nout = "/nonexistent/r.h5"', r"out.*/nonexistent/r\.h5"),
        ('duration_s = 0.001\nprogress = "no"', r"progress.*'no'"),
    ],
)
def test_cli_run_with_bad_run_values_exits_1_with_the_message(tmp_path, run_table, pattern):
    import tomli_w

    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(_noise_net().to_dict()) + f"\n[run]\n{run_table}\n")
    r = CliRunner().invoke(cli, ["run", str(path)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)  # no traceback
    assert re.search(pattern, r.output), r.output


def test_cli_on_unreadable_files_exits_1_with_the_message(tmp_path):
    files = _hdf5_files(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for args, pattern in [
        (["run", str(binary)], r"binary\.toml.*cannot be read"),
        (["info", str(files["truncated"])], r"truncated\.h5.*not a readable HDF5 file"),
        (["info", str(files["text"])], r"text\.h5.*not a readable HDF5 file"),
        (["info", str(files["bad json"])], r"description_json.*not valid JSON"),
    ]:
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
        assert re.search(pattern, r.output), r.output


# ------------------------------------------------------- valid neighbours still work


def test_spike_tensor_values_that_each_kind_takes_and_what_they_deliver():
    """Graded entries are delivered times the weight (a count of 2 drives twice what a spike
    does: CubaLIF current after one step, to 1e-6 relative); 0/1 floats, ints and bools pass
    'binary', integer-valued floats 'count', negative and fractional numbers 'real'."""
    zeros = torch.zeros(10, 2, 4)
    ok = {
        "binary": [zeros, zeros + 1, zeros.bool(), zeros.to(torch.uint8), zeros.long() + 1],
        "count": [zeros + 3, zeros.to(torch.int32) + 7, zeros.bool()],
        "real": [zeros - 0.3, zeros + 1e30, zeros.to(torch.int64) - 5],
    }
    for values, tensors in ok.items():
        for x in tensors:
            assert _run_values(values, {"x": x}).spikes["a_spikes"].count() >= 0

    def current(count):
        net = _tensor_net("count")
        net.monitor_state("a", "u")
        x = torch.zeros(10, 1, 4)
        x[0, 0, 1] = count
        return ss.Simulator(net).run(0.001, inputs={"x": x}).states["a_state"].values["u"]

    one, two = current(1), current(2)
    assert float(np.abs(one).max()) > 0
    np.testing.assert_allclose(np.asarray(two), 2 * np.asarray(one), rtol=1e-6)


def test_valid_neighbours_of_the_refused_inputs_behave_as_arrays_do():
    """Numpy integers, lists and integer-valued floats are accepted and mean what they say."""
    net = ss.Network(dt_s=1e-4)
    net.add_spike_times("src", np.int64(3), indices=[0.0, 2.0], times_s=[0.0005, 0.001])
    net.add_population(
        "as_list", 3, ss.LIF(i_bias_mV=[20.0, 0.0, 20.0], tau_mem_s=np.float32(0.01))
    )
    net.add_population("as_array", 3, ss.LIF(i_bias_mV=np.array([20.0, 0.0, 20.0]), tau_mem_s=0.01))
    for post in ("as_list", "as_array"):
        net.add_projection(
            f"w_{post}", "src", post, ss.Explicit(pre=[0, 2], post=[1, 1], weight=[9.0, 9.0])
        )
        net.monitor_spikes(post, indices=np.array([0, 1, 2]))
    spikes_in = net.populations["src"].model
    assert spikes_in.indices.dtype == np.int64 and spikes_in.indices.tolist() == [0, 2]
    res = ss.simulate(net, duration_s=0.05, seed=3)
    a, b = res.spikes["as_list_spikes"], res.spikes["as_array_spikes"]
    assert a.count() > 0
    assert np.array_equal(a.step, b.step) and np.array_equal(a.index, b.index)
    # a single state variable name and a single population name to record are accepted,
    # and a shape given as a numpy array
    net.monitor_state("as_list", "v", indices=1)
    assert net.add_population("grid", 6, ss.LIF(), shape=np.array([2, 3])).shape == (2, 3)
    sim = ss.Simulator(_tensor_net(), differentiable=True)
    out = sim({"x": torch.ones(5, 1, 4, dtype=torch.bool)}, record="a")
    assert set(out) == {"a"} and tuple(out["a"].shape) == (5, 1, 3)
