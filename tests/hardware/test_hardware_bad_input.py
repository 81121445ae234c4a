"""Bad input at the hardware area's public API (everything but its file readers, which
``test_reader_fuzz.py`` covers), as a user hits it.

Every case asserts the typed spikesim error (a ValueError) and that the message names the
parameter, population, projection or connection and the offending value. Cases cover what
used to crash deep inside numpy/torch/h5py/nir (NaN cast to integers, KeyError on an edge to
a missing node, RecursionError on a cycle of Delay nodes, FileNotFoundError on an output in a
missing folder), what was silently accepted (a fractional ``vth`` truncated, an NIR weight of
one row broadcast to every neuron, per-source NIR delays averaged, an NIR readout dropped, a
projection whose every weight rounds to 0 on the chip, exchange files with 0 steps or
non-binary spikes), what allocated without bound (dense matrices of a 1e7 x 1e7 sparse
projection, 1e13 time steps) and important ones that already behaved, so they stay that way.
Valid neighbours of the fixed cases are checked to still work. Nothing here needs the Lava
environment: the Lava runs are given a missing environment, so a valid call ends in
``LavaEnvError`` after every argument has been checked, and nothing allocates more than a few
MB (the memory refusals use sizes far beyond any machine).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nir
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from spikesim.hardware import lava_env, netx, nir_io, quantize, resources, verify
from spikesim.hardware.cli import export, lava, load_config_or_result
from spikesim.hardware.lava_env import LavaEnvError
from spikesim.hardware.lava_run import run_in_lava
from spikesim.hardware.loihi import examples, exchange, fixed_point
from spikesim.hardware.loihi import network as ln
from spikesim.hardware.loihi.network import (
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    Sparse,
    SpikeInput,
)

import spikesim as ss
from spikesim._memory import host_memory_bytes
from spikesim.connectivity import Dense as FloatDense
from spikesim.connectivity import FixedFanIn
from spikesim.connectivity import Sparse as FloatSparse
from spikesim.errors import ConfigError, ParameterError, ShapeError, SpikesimError
from spikesim.neurons import LIF, AdLIF, CubaLIF, Izhikevich

# ------------------------------------------------------------------------------ builders


def _net(*, model: Any = None, conn: Any = None, n_in: int = 4, n: int = 5, **kw: Any):
    """spike_tensor x (n_in) -> population h (n) through projection xh."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", n_in)
    net.add_population("h", n, model or CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, bias=0.02))
    net.add_projection("xh", "x", "h", conn or FloatDense(weight=0.3), **kw)
    return net


def _lif(**kw: Any) -> LIF:
    """A current-based LIF Loihi can run exactly, with ``kw`` changed."""
    return LIF(**{"tau_syn_exc_s": 5e-3, "tau_syn_inh_s": 5e-3, **kw})


def _poisson_net() -> ss.Network:
    net = ss.Network(dt_s=1e-3)
    net.add_poisson("x", 4, rate_hz=100.0)
    net.add_population("h", 5, CubaLIF())
    net.add_projection("xh", "x", "h", FloatDense(weight=0.3))
    return net


def _big(conn: Any, n: int = 10**7) -> ss.Network:
    """A description only: quantize/to_nir must refuse it before drawing or allocating."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", n)
    net.add_population("h", n, CubaLIF())
    net.add_projection("xh", "x", "h", conn)
    return net


def _pop(**kw: Any) -> LifPopulation:
    return LifPopulation(**{"name": "a", "n": 3, "du": 100, "dv": 200, "vth": 50, **kw})


def _dense(**kw: Any) -> Dense:
    args = {"name": "c", "source": "x", "target": "a", "sign_mode": "excitatory"}
    return Dense(**{**args, "weights": np.full((3, 2), 10), **kw})


def _lnet(n_in: int = 2) -> LoihiNetwork:
    """x (n_in) -> a (3), excitatory Dense."""
    return LoihiNetwork(
        populations=(LifPopulation("a", 3, du=100, dv=200, vth=50, bias_mant=64),),
        inputs=(SpikeInput("x", n_in),),
        connections=(Dense("x_a", "x", "a", "excitatory", weights=np.full((3, n_in), 100)),),
    )


def _lonely() -> LoihiNetwork:
    """One population, no inputs."""
    return LoihiNetwork(populations=(_pop(),))


def _spk(n_steps: int = 4, batch: int = 1, n: int = 2, value: Any = 0) -> dict[str, np.ndarray]:
    return {"x": np.full((n_steps, batch, n), value)}


def _sim(**kw: Any):
    return fixed_point.simulate_fixed_point(_lnet(), **{"n_steps": 4, "inputs": _spk(), **kw})


_NO_ENV = "/nonexistent/spikesim-lava-env"


def _ril(**kw: Any):
    return run_in_lava(_lnet(), **{"n_steps": 4, "inputs": _spk(), "env": _NO_ENV, **kw})


def _write(tmp: Path, **kw: Any) -> Path:
    path = tmp / "net.npz"
    args = {"n_steps": 4, "inputs": _spk(), "batch": 1, **kw}
    exchange.write_network(kw.pop("net", _lnet()), path, **args)
    return path


def _cuba_node(shape: tuple[int, ...] | int = 3, **kw: Any) -> nir.CubaLIF:
    values = {"tau_syn": 5e-3, "tau_mem": 2e-2, "r": 20.0, "v_leak": 0.0, "v_threshold": 1.0}
    values |= {"v_reset": 0.0, "w_in": 5.0}
    return nir.CubaLIF(**{k: np.full(shape, v) for k, v in values.items()} | kw)


def _graph(
    *, weight: Any = None, nodes: dict | None = None, edges: list | None = None, extra=()
) -> nir.NIRGraph:
    """Input inp (2) -> Linear lin -> CubaLIF lif (3) -> Output out; ``nodes`` replaces or
    adds nodes, ``edges`` replaces the edges, ``extra`` adds edges."""
    base = {
        "inp": nir.Input(input_type={"input": np.array([2])}),
        "lin": nir.Linear(weight=np.ones((3, 2)) if weight is None else weight),
        "lif": _cuba_node(),
        "out": nir.Output(output_type={"output": np.array([3])}),
    }
    e = [("inp", "lin"), ("lin", "lif"), ("lif", "out")] if edges is None else edges
    return nir.NIRGraph(
        nodes=base | (nodes or {}), edges=e + list(extra), metadata={"dt_s": 1e-3}, type_check=False
    )


def _delay(d: Any) -> nir.Delay:
    return nir.Delay(delay=np.asarray(d, dtype=float))


_VIA_DELAY = [("inp", "lin"), ("lin", "d"), ("d", "lif"), ("lif", "out")]
_DELAY_FIRST = [("inp", "d"), ("d", "lin"), ("lin", "lif"), ("lif", "out")]


def _cycle(kind: str) -> nir.NIRGraph:
    def node() -> Any:
        return (
            _delay(np.full(3, 1e-3))
            if kind == "delay"
            else nir.Flatten(input_type={"input": np.array([3])})
        )

    return _graph(
        nodes={"n1": node(), "n2": node()}, extra=[("n1", "n2"), ("n2", "n1"), ("n2", "lif")]
    )


def _conv_graph(**conv: Any) -> nir.NIRGraph:
    args = {"input_shape": (4, 4), "weight": np.ones((1, 1, 3, 3)), "stride": 1, "padding": 0}
    args |= {"dilation": 1, "groups": 1, "bias": np.zeros(1)} | conv
    nodes = {
        "inp": nir.Input(input_type={"input": np.array([1, 4, 4])}),
        "c": nir.Conv2d(**args),
        "lif": _cuba_node((1, 2, 2)),
    }
    edges = [("inp", "c"), ("c", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt_s": 1e-3}, type_check=False)


def _case(n_steps: int = 4, inputs: Any = None, net: Any = None) -> examples.Case:
    return examples.Case("c", net or _lnet(), n_steps, _spk() if inputs is None else inputs)


# (id, action, error type, regex the message must match: field and offending value)
QUANTIZE_CASES = [
    # decays
    ("decay tau 0", lambda: quantize.decay_from_tau(0.0, 1e-3, which="u"), ParameterError, r"tau_s.*> 0.*0\.0"),
    ("decay tau NaN", lambda: quantize.decay_from_tau(float("nan"), 1e-3, which="u"), ParameterError, r"tau_s.*nan"),
    ("decay tau negative", lambda: quantize.decay_from_tau(-0.01, 1e-3, which="v"), ParameterError, r"tau_s.*-0\.01"),
    ("decay tau str", lambda: quantize.decay_from_tau("0.01", 1e-3, which="v"), ParameterError, r"tau_s.*'0\.01'"),
    ("decay dt 0", lambda: quantize.decay_from_tau(0.01, 0.0, which="u"), ParameterError, r"dt_s.*> 0.*0\.0"),
    ("decay which", lambda: quantize.decay_from_tau(0.01, 1e-3, which="w"), ParameterError, r"which.*'w'"),
    ("tau_from_decay 5000", lambda: quantize.tau_from_decay(5000, 1e-3, which="u"), ParameterError, r"decay.*0\.\.4095.*5000"),
    ("tau_from_decay float", lambda: quantize.tau_from_decay(3.7, 1e-3, which="v"), ParameterError, r"decay.*3\.7"),
    ("tau_from_decay bool", lambda: quantize.tau_from_decay(True, 1e-3, which="v"), ParameterError, r"decay.*True"),
    ("tau_from_decay NaN", lambda: quantize.tau_from_decay(float("nan"), 1e-3, which="v"), ParameterError, r"decay.*nan"),
    ("tau_from_decay dt NaN", lambda: quantize.tau_from_decay(100, float("nan"), which="v"), ParameterError, r"dt_s.*nan"),
    ("tau_from_decay which", lambda: quantize.tau_from_decay(100, 1e-3, which="x"), ParameterError, r"which.*'x'"),
    # options
    ("vth float", lambda: quantize.quantize(_net(), vth=1.5), ParameterError, r"population 'h': vth.*integer.*1\.5"),
    ("vth bool", lambda: quantize.quantize(_net(), vth=True), ParameterError, r"vth.*True"),
    ("vth str", lambda: quantize.quantize(_net(), vth="100"), ParameterError, r"vth.*'100'"),
    ("vth NaN", lambda: quantize.quantize(_net(), vth=float("nan")), ParameterError, r"vth.*nan"),
    ("vth list", lambda: quantize.quantize(_net(), vth=[100]), ParameterError, r"vth.*\[100\]"),
    ("vth 0", lambda: quantize.quantize(_net(), vth=0), ParameterError, r"population 'h': vth.*1\.\.131071.*0"),
    ("vth dict unknown", lambda: quantize.quantize(_net(), vth={"hx": 100}), ParameterError, r"vth.*keys among.*\['hx'\]"),
    ("vth dict float", lambda: quantize.quantize(_net(), vth={"h": 99.9}), ParameterError, r"population 'h': vth.*99\.9"),
    ("num_weight_bits float", lambda: quantize.quantize(_net(), num_weight_bits=8.0), ParameterError, r"num_weight_bits.*8\.0"),
    ("num_weight_bits bool", lambda: quantize.quantize(_net(), num_weight_bits=True), ParameterError, r"num_weight_bits.*True"),
    ("weight_exp 8", lambda: quantize.quantize(_net(), weight_exp=8), ParameterError, r"weight_exp.*-8\.\.7.*8"),
    ("bias_exp -1", lambda: quantize.quantize(_net(), bias_exp=-1), ParameterError, r"bias_exp.*-1"),
    ("weight_max 256", lambda: quantize.quantize(_net(), weight_max=256), ParameterError, r"weight_max.*256"),
    ("net str", lambda: quantize.quantize("net"), ParameterError, r"net.*'str'"),
    ("seed negative", lambda: quantize.quantize(_net(conn=FloatSparse(p=0.5, weight=0.3)), seed=-1), ParameterError, r"seed.*-1"),
    ("seed float", lambda: quantize.quantize(_net(conn=FloatSparse(p=0.5, weight=0.3)), seed=0.5), ParameterError, r"seed.*0\.5"),
    ("seed str", lambda: quantize.quantize(_net(), seed="1"), ParameterError, r"seed.*'1'"),
    ("seed bool", lambda: quantize.quantize(_net(), seed=True), ParameterError, r"seed.*True"),
    ("seed 2**62", lambda: quantize.quantize(_net(), seed=2**62), ParameterError, r"seed.*4611686018427387904"),
    ("seed missing", lambda: quantize.quantize(_net(conn=FloatSparse(p=0.5, weight=0.3))), ParameterError, r"seed.*projection 'xh'"),
    # what Loihi 2 lacks: named, with the limit
    ("AdLIF", lambda: quantize.quantize(_net(model=AdLIF())), ParameterError, r"population 'h': model.*CubaLIF.*'adlif'"),
    ("Izhikevich", lambda: quantize.quantize(_net(model=Izhikevich())), ParameterError, r"population 'h': model.*'izhikevich'"),
    ("rate unit", lambda: quantize.quantize(_net(model=ss.RateUnit())), ParameterError, r"population 'h': model.*'rate'"),
    ("conductance", lambda: quantize.quantize(_net(model=_lif(synapse="conductance"))), ParameterError, r"population 'h': synapse.*'conductance'"),
    ("refractory", lambda: quantize.quantize(_net(model=_lif(t_ref_s=2e-3))), ParameterError, r"population 'h': t_ref_s.*0\.002"),
    ("two synaptic taus", lambda: quantize.quantize(_net(model=_lif(tau_syn_inh_s=1e-2))), ParameterError, r"population 'h': tau_syn_inh_s.*0\.01"),
    ("reset below rest", lambda: quantize.quantize(_net(model=_lif(v_reset_mV=-70.0))), ParameterError, r"population 'h': v_reset_mV.*-70"),
    ("v_init LIF", lambda: quantize.quantize(_net(model=_lif(v_init_mV=-60.0))), ParameterError, r"population 'h': v_init_mV"),
    ("v_init CubaLIF", lambda: quantize.quantize(_net(model=CubaLIF(v_init=0.5))), ParameterError, r"population 'h': v_init.*0"),
    ("u without decay", lambda: quantize.quantize(_net(model=CubaLIF(tau_syn_s=1e9))), ParameterError, r"population 'h': tau_syn_s.*at most 8\.1915 s.*1000000000\.0"),
    ("delay 63", lambda: quantize.quantize(_net(delay_steps=63)), ParameterError, r"projection 'xh': delay_steps.*62.*63"),
    ("weight 1e30", lambda: quantize.quantize(_net(conn=FloatDense(weight=1e30))), ParameterError, r"projection 'xh': weight.*1e\+30"),
    ("every weight rounds to 0", lambda: quantize.quantize(_net(conn=FloatDense(weight=1e-9))), ParameterError, r"projection 'xh': weight.*1e-09.*rounds to 0"),
    ("bias 1e12", lambda: quantize.quantize(_net(model=CubaLIF(bias=1e12))), ParameterError, r"population 'h': bias.*64000000000000"),
    ("current start 0 with stop", lambda: _with_current(stop_s=0.01), ParameterError, r"current 'c': start_s.*0\.0"),
    # sizes: refused before drawing or allocating
    ("sparse 1e7 x 1e7", lambda: quantize.quantize(_big(FloatSparse(p=1e-7, weight=0.3)), seed=0), ParameterError, r"projection 'xh': connectivity.*fit in memory.*10000000 x 10000000"),
    ("dense 1e7 x 1e7", lambda: quantize.quantize(_big(FloatDense(weight=0.3))), ParameterError, r"projection 'xh': connectivity.*10000000"),
    ("population 1e13", lambda: quantize.quantize(_big(FloatDense(weight=0.3), n=10**13)), ParameterError, r"population '[xh]': size.*10000000000000"),
    # input trains
    ("trains n_steps 0", lambda: quantize.input_trains(_poisson_net(), n_steps=0, seed=0), ParameterError, r"n_steps.*>= 1.*0"),
    ("trains n_steps -1", lambda: quantize.input_trains(_poisson_net(), n_steps=-1, seed=0), ParameterError, r"n_steps.*-1"),
    ("trains n_steps float", lambda: quantize.input_trains(_poisson_net(), n_steps=1.5, seed=0), ParameterError, r"n_steps.*1\.5"),
    ("trains n_steps bool", lambda: quantize.input_trains(_poisson_net(), n_steps=True, seed=0), ParameterError, r"n_steps.*True"),
    ("trains n_steps 1e13", lambda: quantize.input_trains(_poisson_net(), n_steps=10**13, seed=0), ParameterError, r"n_steps.*fit in memory.*10000000000000 steps"),
    ("trains batch 0", lambda: quantize.input_trains(_poisson_net(), n_steps=3, batch=0, seed=0), ParameterError, r"batch.*0"),
    ("trains seed None", lambda: quantize.input_trains(_poisson_net(), n_steps=3, seed=None), ParameterError, r"seed.*None"),
    ("trains seed float", lambda: quantize.input_trains(_poisson_net(), n_steps=3, seed=0.5), ParameterError, r"seed.*0\.5"),
    ("trains given shape", lambda: quantize.input_trains(_net(), n_steps=3, seed=0, given={"x": np.ones((7, 1, 9))}), ShapeError, r"population 'x': given.*\(3, 1, 4\).*\(7, 1, 9\)"),
    ("trains given 2", lambda: quantize.input_trains(_net(), n_steps=3, seed=0, given={"x": np.full((3, 1, 4), 2)}), ParameterError, r"population 'x': given.*0/1"),
    ("trains given 0.5", lambda: quantize.input_trains(_net(), n_steps=3, seed=0, given={"x": np.full((3, 1, 4), 0.5)}), ParameterError, r"population 'x': given.*0/1"),
    ("trains given NaN", lambda: quantize.input_trains(_net(), n_steps=3, seed=0, given={"x": np.full((3, 1, 4), np.nan)}), ParameterError, r"population 'x': given.*0/1"),
    ("trains given unknown", lambda: quantize.input_trains(_net(), n_steps=3, seed=0, given={"x": np.zeros((3, 1, 4)), "zz": 1}), ParameterError, r"given.*\['zz'\]"),
    ("trains given missing", lambda: quantize.input_trains(_net(), n_steps=3, seed=0), ParameterError, r"population 'x': given"),
    ("trains net str", lambda: quantize.input_trains("net", n_steps=3, seed=0), ParameterError, r"net.*'str'"),
    # back to floats
    ("to_float dt 0", lambda: quantize.loihi_to_float(_lnet(), dt_s=0.0), ParameterError, r"dt_s.*> 0.*0\.0"),
    ("to_float dt NaN", lambda: quantize.loihi_to_float(_lnet(), dt_s=float("nan")), ParameterError, r"dt_s.*nan"),
    ("to_float scale 0", lambda: quantize.loihi_to_float(_lnet(), dt_s=1e-3, scales={"a": 0.0}), ParameterError, r"population 'a': scale.*> 0.*0\.0"),
    ("to_float scale negative", lambda: quantize.loihi_to_float(_lnet(), dt_s=1e-3, scales={"a": -1.0}), ParameterError, r"population 'a': scale.*-1\.0"),
    ("to_float scale unknown", lambda: quantize.loihi_to_float(_lnet(), dt_s=1e-3, scales={"zz": 2.0}), ParameterError, r"scales.*'zz'"),
    ("float_network str", lambda: quantize.float_network("x"), ParameterError, r"qnet.*'str'"),
    ("to_float net str", lambda: quantize.loihi_to_float("x", dt_s=1e-3), ParameterError, r"loihi.*'str'"),
]  # fmt: skip


def _with_current(**kw: Any):
    net = _net()
    net.add_current("c", "h", amplitude_mV=0.1, **kw)
    return quantize.quantize(net)


LOIHI_CASES = [
    ("du 4096", lambda: _pop(du=4096), ParameterError, r"population 'a': du.*0\.\.4095.*4096"),
    ("dv float", lambda: _pop(dv=1.0), ParameterError, r"population 'a': dv.*1\.0"),
    ("vth bool", lambda: _pop(vth=True), ParameterError, r"population 'a': vth.*True"),
    ("n 0", lambda: _pop(n=0), ParameterError, r"population 'a': n.*0"),
    ("bias_mant 4096", lambda: _pop(bias_mant=4096), ParameterError, r"population 'a': bias_mant.*4096"),
    ("bias_mant NaN", lambda: _pop(bias_mant=np.array([np.nan, 0, 0])), ParameterError, r"population 'a': bias_mant.*float64"),
    ("bias_mant length", lambda: _pop(bias_mant=[1, 2]), ShapeError, r"population 'a': bias_mant.*\(3,\).*\(2,\)"),
    ("bias_exp 8", lambda: _pop(bias_exp=8), ParameterError, r"population 'a': bias_exp.*-12\.\.7.*8"),
    ("weights 256 excitatory", lambda: _dense(weights=np.full((3, 2), 256)), ParameterError, r"connection 'c': weights.*0\.\.255.*256"),
    ("weights NaN", lambda: _dense(weights=np.full((3, 2), np.nan)), ParameterError, r"connection 'c': weights.*float64"),
    ("weights 1e30", lambda: _dense(weights=np.full((3, 2), 1e30)), ParameterError, r"connection 'c': weights.*1e\+30"),
    ("weights ragged", lambda: _dense(weights=[[1, 2], [3]]), ParameterError, r"connection 'c': weights.*\[\[1, 2\], \[3\]\]"),
    ("sign_mode", lambda: _dense(sign_mode="both"), ParameterError, r"connection 'c': sign_mode.*'both'"),
    ("weight_exp 8", lambda: _dense(weight_exp=8), ParameterError, r"connection 'c': weight_exp.*8"),
    ("delays 63", lambda: DelayDense("c", "x", "a", "excitatory", weights=np.ones((3, 2), int), delays=np.full((3, 2), 63)), ParameterError, r"connection 'c': delays.*0\.\.62.*63"),
    ("sparse duplicate", lambda: Sparse("c", "x", "a", "excitatory", n_target=3, n_source=2, rows=[0, 0], cols=[1, 1], values=[5, 6]), ParameterError, r"connection 'c': rows/cols.*\(0, 1\)"),
    ("sparse dense_weights 2**30 x 2**30", lambda: Sparse("c", "x", "a", "mixed", n_target=2**30, n_source=2**30, rows=[0], cols=[5], values=[3]).quantized_weights(), ParameterError, r"connection 'c': n_target x n_source.*fit in memory.*1073741824 x 1073741824"),
    ("network populations int", lambda: LoihiNetwork(populations=5), ParameterError, r"populations.*'int'"),
    ("network shape", lambda: LoihiNetwork(populations=(_pop(),), inputs=(SpikeInput("x", 2),), connections=(_dense(weights=np.ones((2, 3), int)),)), ShapeError, r"connection 'c'.*\(3, 2\).*\(2, 3\)"),
    ("quantize_weights sign_mode", lambda: ln.quantize_weights(np.ones((2, 2), int), sign_mode="both"), ParameterError, r"sign_mode.*'both'"),
    ("quantize_weights NaN", lambda: ln.quantize_weights(np.full((2, 2), np.nan), sign_mode="mixed"), ParameterError, r"weights.*float64"),
    ("quantize_weights fractional", lambda: ln.quantize_weights(np.full((2, 2), 1.7), sign_mode="mixed"), ParameterError, r"weights.*float64"),
    ("weight_range sign_mode", lambda: ln.weight_range("both"), ParameterError, r"sign_mode.*'both'"),
    # fixed-point simulation
    ("sim n_steps 0", lambda: _sim(n_steps=0), ParameterError, r"n_steps.*0"),
    ("sim n_steps 1e13", lambda: fixed_point.simulate_fixed_point(_lonely(), n_steps=10**13), ParameterError, r"n_steps.*fit in memory.*10000000000000 steps"),
    ("sim batch 1e12", lambda: fixed_point.simulate_fixed_point(_lonely(), n_steps=10, batch_size=10**12), ParameterError, r"n_steps.*fit in memory.*batch 1000000000000"),
    ("sim batch float", lambda: fixed_point.simulate_fixed_point(_lonely(), n_steps=3, batch_size=1.5), ParameterError, r"batch_size.*1\.5"),
    ("sim inputs list", lambda: _sim(inputs=[np.zeros((4, 1, 2))]), ParameterError, r"inputs.*'list'"),
    ("sim inputs str", lambda: _sim(inputs={"x": np.full((4, 1, 2), "a")}), ParameterError, r"input 'x': spikes.*<U1"),
    ("sim inputs NaN", lambda: _sim(inputs=_spk(value=np.nan)), ParameterError, r"input 'x': spikes.*binary"),
    ("sim inputs shape", lambda: _sim(inputs={"x": np.zeros((3, 1, 2))}), ShapeError, r"input 'x'.*\(4, 1, 2\).*\(3, 1, 2\)"),
    ("sim device misspelt", lambda: _sim(device="cpuu"), ParameterError, r"device.*'cpuu'"),
    ("sim device meta", lambda: _sim(device="meta"), ParameterError, r"device.*'meta'"),
    ("sim record_state str", lambda: _sim(record_state="no"), ParameterError, r"record_state.*'no'"),
    ("lif_step du", lambda: fixed_point.lif_step(*[torch.zeros(1, 2, dtype=torch.int64)] * 3, du=5000, dv=0, vth=1, bias=torch.zeros(2, dtype=torch.int64)), ParameterError, r"du.*5000"),
    # resources
    ("limits 0", lambda: resources.LoihiLimits(neurons_per_core=0), ParameterError, r"neurons_per_core.*>= 1.*0"),
    ("limits float", lambda: resources.LoihiLimits(neurons_per_core=1.5), ParameterError, r"neurons_per_core.*1\.5"),
    ("limits max_delay", lambda: resources.LoihiLimits(max_delay=-1), ParameterError, r"max_delay.*>= 0.*-1"),
    ("report net str", lambda: resources.resource_report("x"), ParameterError, r"net.*'str'"),
    # reference cases (examples) and Case itself
    ("example n_steps -3", lambda: examples.feedforward(n_steps=-3), ParameterError, r"feedforward: n_steps.*>= 1.*-3"),
    ("example seed -1", lambda: examples.feedforward(seed=-1), ParameterError, r"feedforward: seed.*>= 0.*-1"),
    ("example batch 0", lambda: examples.feedforward(batch=0), ParameterError, r"feedforward: batch.*0"),
    ("example n_steps float", lambda: examples.bias_only(n_steps=1.5), ParameterError, r"bias_only: n_steps.*1\.5"),
    ("example n_inh -1", lambda: examples.recurrent_ei(n_inh=-1), ParameterError, r"recurrent_ei: n_inh.*-1"),
    ("example max_delay -1", lambda: examples.delay_network(max_delay=-1), ParameterError, r"delay_network: max_delay.*-1"),
    ("example max_delay 100", lambda: examples.delay_network(max_delay=100), ParameterError, r"connection 'pulses_delayed': delays.*0\.\.62"),
    ("example cue beyond the ring", lambda: examples.ring_attractor(cue_at=1000), ParameterError, r"ring_attractor: cue_at.*43.*1000"),
    ("example classifier str", lambda: examples.trained_classifier("model", np.zeros((3, 1, 4))), ParameterError, r"model.*'str'"),
    ("Case inputs shape", lambda: _case(inputs={"x": np.zeros((5, 1, 2))}), ShapeError, r"input 'x'.*\(4, 1, 2\).*\(5, 1, 2\)"),
    ("Case batch 0", lambda: _case(inputs={"x": np.zeros((4, 0, 2))}), ParameterError, r"case 'c': batch_size.*0"),
    ("Case name", lambda: examples.Case("", _lnet(), 4, _spk()), ParameterError, r"Case: name.*''"),
    # paths that are not paths (os.fspath's TypeError before)
    ("lava environment path int", lambda: lava_env.require_ready(123), ParameterError, r"path.*123"),
    ("lava setup path int", lambda: lava_env.setup(path=123), ParameterError, r"path.*123"),
    ("read_netx path int", lambda: netx.read_netx(5), ParameterError, r"read_netx: path.*5"),
    ("read_nir path int", lambda: nir_io.read_nir(5), ParameterError, r"read_nir: path.*5"),
    ("CLI reader path int", lambda: load_config_or_result(5), ParameterError, r"load_config_or_result: path.*5"),
    ("check exceeds", lambda: resources.check_resources(_lnet(), limits=resources.LoihiLimits(neurons_per_core=1, cores_per_chip=2)), ParameterError, r"estimated cores.*at most 2.*3.*population 'a'"),
]  # fmt: skip


def _files(tmp: Path) -> list[tuple[str, Any, type, str]]:
    """Cases that write (or run) files: the exchange file, netx, NIR and the Lava runs."""
    netx_file = tmp / "ok.net"
    netx.write_netx(_lnet(), netx_file)
    missing = tmp / "no-folder" / "x"

    def rnl(files: Any, **kw: Any) -> Any:
        return netx.run_netx_in_lava(files, env=_NO_ENV, **kw)

    return [
        # exchange file
        ("exchange n_steps 0", lambda: _write(tmp, n_steps=0), ParameterError, r"write_network: n_steps.*0"),
        ("exchange n_steps vs inputs", lambda: _write(tmp, n_steps=7), ShapeError, r"input 'x'.*\(7, 1, 2\).*\(4, 1, 2\)"),
        ("exchange batch vs inputs", lambda: _write(tmp, batch=3), ShapeError, r"input 'x'.*\(4, 3, 2\)"),
        ("exchange input missing", lambda: _write(tmp, inputs={}), ParameterError, r"inputs.*\['x'\].*\[\]"),
        ("exchange spikes 5", lambda: _write(tmp, inputs=_spk(value=5)), ParameterError, r"input 'x': spikes.*binary"),
        ("exchange steps negative", lambda: _write(tmp, steps_per_population={"a": -3}), ParameterError, r"steps_per_population: 'a'.*-3"),
        ("exchange steps unknown", lambda: _write(tmp, steps_per_population={"zz": 2}), ParameterError, r"steps_per_population.*'zz'"),
        ("exchange steps float", lambda: _write(tmp, steps_per_population={"a": 2.5}), ParameterError, r"steps_per_population: 'a'.*2\.5"),
        ("exchange steps > n_steps", lambda: _write(tmp, steps_per_population={"a": 50}), ParameterError, r"'a'.*at most n_steps \(4\).*50"),
        ("exchange missing folder", lambda: exchange.write_network(_lnet(), missing, n_steps=4, inputs=_spk(), batch=1), ParameterError, r"write_network: path.*existing folder.*no-folder"),
        ("exchange net str", lambda: exchange.write_network("x", tmp / "y.npz", n_steps=4, inputs=_spk(), batch=1), ParameterError, r"net.*'str'"),
        # Lava run: every argument is checked before the environment is looked up
        ("lava n_steps float", lambda: _ril(n_steps=2.5), ParameterError, r"run_in_lava: n_steps.*2\.5"),
        ("lava batch 0", lambda: _ril(batch_size=0), ParameterError, r"run_in_lava: batch_size.*0"),
        ("lava inputs NaN", lambda: _ril(inputs=_spk(value=np.nan)), ParameterError, r"input 'x': spikes.*binary"),
        ("lava inputs list", lambda: _ril(inputs=[1]), ParameterError, r"inputs.*'list'"),
        ("lava timeout negative", lambda: _ril(timeout_s=-1), ParameterError, r"timeout_s.*-1"),
        ("lava timeout NaN", lambda: _ril(timeout_s=float("nan")), ParameterError, r"timeout_s.*nan"),
        ("lava timeout str", lambda: _ril(timeout_s="10"), ParameterError, r"timeout_s.*'10'"),
        ("lava record_v str", lambda: _ril(record_v="yes"), ParameterError, r"record_v.*'yes'"),
        ("lava steps unknown", lambda: _ril(steps_per_population={"zz": 2}), ParameterError, r"steps_per_population.*'zz'"),
        ("lava n_steps 1e13", lambda: run_in_lava(_lonely(), n_steps=10**13, env=_NO_ENV), ParameterError, r"n_steps.*fit in memory"),
        ("lava valid, no environment", lambda: _ril(), LavaEnvError, r"not set up"),
        # netx
        ("netx run missing file", lambda: rnl([(tmp / "none.net", np.zeros((3, 1, 2)))]), ConfigError, r"none\.net.*netx file not found"),
        ("netx run 2-D spikes", lambda: rnl([(netx_file, np.zeros((3, 2)))]), ParameterError, r"ok\.net.*spikes.*3-D.*\(3, 2\)"),
        ("netx run spikes 2", lambda: rnl([(netx_file, np.full((3, 1, 2), 2))]), ParameterError, r"ok\.net.*spikes.*0/1"),
        ("netx run timeout 0", lambda: rnl([(netx_file, np.zeros((3, 1, 2)))], timeout_s=0), ParameterError, r"timeout_s.*0"),
        ("netx run not pairs", lambda: rnl([netx_file]), ParameterError, r"files\[0\].*pair.*ok\.net"),
        ("netx run empty", lambda: rnl([]), ParameterError, r"files.*at least one"),
        ("netx run valid, no environment", lambda: rnl([(netx_file, np.zeros((3, 1, 2)))]), LavaEnvError, r"not set up"),
        ("netx write missing folder", lambda: netx.write_netx(_lnet(), missing), ParameterError, r"write_netx: path.*no-folder"),
        ("netx write net str", lambda: netx.write_netx("x", tmp / "a.net"), ParameterError, r"net.*'str'"),
        ("netx two inputs", lambda: netx.write_netx(LoihiNetwork(populations=(_pop(),), inputs=(SpikeInput("x", 2), SpikeInput("y", 2))), tmp / "a.net"), ParameterError, r"inputs.*\['x', 'y'\]"),
        # NIR
        ("nir write missing folder", lambda: nir_io.write_nir(_net(), missing), ParameterError, r"write_nir: path.*no-folder"),
        # verify
        ("verify no cases", lambda: verify.verify_against_lava([], env=_NO_ENV), ParameterError, r"cases.*at least one.*\[\]"),
        ("verify bad input", lambda: verify.verify_against_lava([_case(inputs=_spk(value=3))], env=_NO_ENV), ParameterError, r"input 'x': spikes.*binary"),
        ("verify netx no input", lambda: verify.verify_netx_in_lava([_case(inputs={}, net=_lonely())], env=_NO_ENV), ParameterError, r"case 'c': inputs.*exactly one.*\[\]"),
        ("merge empty", lambda: verify.merge_cases([]), ParameterError, r"cases.*\[\]"),
        ("merge input shape", lambda: verify.merge_cases([_case(inputs={"x": np.zeros((5, 1, 2))})]), ShapeError, r"input 'x'.*\(4, 1, 2\).*\(5, 1, 2\)"),
        ("merge not a case", lambda: verify.merge_cases(["abc"]), ParameterError, r"cases\[0\].*'str'"),
        ("merge n_steps 0", lambda: verify.merge_cases([_case(n_steps=0, inputs={"x": np.zeros((0, 1, 2))})]), ParameterError, r"case 'c': n_steps.*0"),
    ]  # fmt: skip


NETX_SYNAPSE_CASES = [
    ("NaN", np.full((2, 2), np.nan), ParameterError, r"weights.*float64"),
    ("fractional", np.full((2, 2), 1.5), ParameterError, r"weights.*float64"),
    ("1e30", np.full((2, 2), 1e30), ParameterError, r"weights.*1e\+30"),
    ("3-D", np.ones((2, 2, 2), int), ParameterError, r"weights.*2-D.*\(2, 2, 2\)"),
    ("1-D", np.ones(3, int), ParameterError, r"weights.*2-D.*\(3,\)"),
    ("str", "ab", ParameterError, r"weights.*2-D.*\(\)"),
    ("bool", np.ones((2, 2), bool), ParameterError, r"weights.*bool"),
    ("300", np.full((2, 2), 300), ParameterError, r"weights.*-256\.\.255.*300"),
    ("all zero", np.zeros((2, 2), int), ParameterError, r"weights.*non-zero.*all zero"),
]  # fmt: skip


NIR_CASES = [
    ("to_nir net str", lambda: nir_io.to_nir("x"), ParameterError, r"to_nir: net.*'str'"),
    ("to_nir seed float", lambda: nir_io.to_nir(_net(conn=FloatSparse(p=0.5, weight=0.3)), seed=0.5), ParameterError, r"to_nir: seed.*0\.5"),
    ("to_nir seed negative", lambda: nir_io.to_nir(_net(conn=FloatSparse(p=0.5, weight=0.3)), seed=-1), ParameterError, r"to_nir: seed.*-1"),
    ("to_nir 1e7 x 1e7 fan-in", lambda: nir_io.to_nir(_big(FixedFanIn(k=1, weight=0.3)), seed=0), ParameterError, r"projection 'xh': connectivity.*fit in memory"),
    ("to_nir AdLIF", lambda: nir_io.to_nir(_net(model=AdLIF())), ParameterError, r"population 'h': model.*'adlif'"),
    ("to_nir delay 70", lambda: nir_io.to_nir(_net(delay_steps=70)), ParameterError, r"projection 'xh': delay_steps.*70"),
    ("from_nir str", lambda: nir_io.from_nir("abc", dt_s=1e-3), ParameterError, r"graph.*NIRGraph.*'str'"),
    ("from_nir dict", lambda: nir_io.from_nir({"nodes": {}}, dt_s=1e-3), ParameterError, r"graph.*'dict'"),
    ("from_nir dt NaN", lambda: nir_io.from_nir(_graph(), dt_s=float("nan")), ParameterError, r"dt_s.*nan"),
    ("from_nir dt 0", lambda: nir_io.from_nir(_graph(), dt_s=0.0), ParameterError, r"dt_s.*> 0"),
    ("edge to a missing node", lambda: nir_io.from_nir(_graph(extra=[("lif", "ghost")])), ParameterError, r"edges\[3\].*'ghost'"),
    ("edge from a missing node", lambda: nir_io.from_nir(_graph(extra=[("ghost", "lif")])), ParameterError, r"edges\[3\].*'ghost'"),
    ("cycle of Delay nodes", lambda: nir_io.from_nir(_cycle("delay")), ParameterError, r"NIR node 'n[12]': inputs.*cycle.*\['n2', 'n1', 'n2'\]"),
    ("cycle of Flatten nodes", lambda: nir_io.from_nir(_cycle("flatten")), ParameterError, r"inputs.*cycle"),
    ("weight NaN", lambda: nir_io.from_nir(_graph(weight=np.full((3, 2), np.nan))), ParameterError, r"NIR node 'lin': weight.*NaN"),
    ("weight one row", lambda: nir_io.from_nir(_graph(weight=np.ones((1, 2)))), ShapeError, r"NIR node 'lin': weight.*3 neurons of 'lif'.*\(3, 2\).*\(1, 2\)"),
    ("weight two rows", lambda: nir_io.from_nir(_graph(weight=np.ones((2, 2)))), ShapeError, r"NIR node 'lin'.*\(2, 2\)"),
    ("weight 3-D", lambda: nir_io.from_nir(_graph(weight=np.ones((3, 2, 1)))), ShapeError, r"NIR node 'lin'.*\(3, 2, 1\)"),
    ("weight columns", lambda: nir_io.from_nir(_graph(weight=np.ones((3, 5)))), ShapeError, r"projection 'lin'.*\(3, 2\).*\(3, 5\)"),
    ("Linear into nothing", lambda: nir_io.from_nir(_graph(edges=[("inp", "lin"), ("lif", "out")])), ParameterError, r"NIR node 'lin': outputs.*CubaLIF.*\[\]"),
    ("Linear readout into Output", lambda: nir_io.from_nir(_graph(edges=[("inp", "lin"), ("lin", "out")])), ParameterError, r"NIR node 'lin': outputs.*dropped.*\['out'\]"),
    ("per-source delay before Linear", lambda: nir_io.from_nir(_graph(nodes={"d": _delay([1e-3, 5e-3])}, edges=_DELAY_FIRST)), ParameterError, r"NIR node 'd': delay.*one value"),
    ("delay NaN", lambda: nir_io.from_nir(_graph(nodes={"d": _delay(np.full(3, np.nan))}, edges=_VIA_DELAY)), ParameterError, r"NIR node 'd': delay.*NaN"),
    ("delay fractional", lambda: nir_io.from_nir(_graph(nodes={"d": _delay(np.full(3, 1.5e-3))}, edges=_VIA_DELAY)), ParameterError, r"NIR node 'd': delay.*whole number.*0\.0015"),
    ("delay huge", lambda: nir_io.from_nir(_graph(nodes={"d": _delay(np.full(3, 1e9))}, edges=_VIA_DELAY)), ParameterError, r"NIR node 'd': delay.*at most 65536"),
    ("empty CubaLIF", lambda: nir_io.from_nir(_graph(nodes={"lif": _cuba_node(0)})), ParameterError, r"NIR node 'lif': tau_mem.*>= 1 neuron"),
    ("CubaLIF per-neuron tau", lambda: nir_io.from_nir(_graph(nodes={"lif": _cuba_node(tau_mem=np.array([0.02, 0.03, 0.04]))})), ParameterError, r"NIR node 'lif': tau_mem.*one value"),
    ("CubaLIF tau <= dt", lambda: nir_io.from_nir(_graph(nodes={"lif": _cuba_node(tau_syn=np.full(3, 1e-3))})), ParameterError, r"NIR node 'lif': tau_syn.*> dt_s.*0\.001"),
    ("CubaLIF v_reset", lambda: nir_io.from_nir(_graph(nodes={"lif": _cuba_node(v_reset=np.ones(3))})), ParameterError, r"NIR node 'lif': v_reset"),
    ("unsupported LI", lambda: nir_io.from_nir(_graph(nodes={"li": nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3))}, extra=[("lif", "li")])), ParameterError, r"NIR node 'li': type.*'LI'"),
    ("unsupported IF", lambda: nir_io.from_nir(_graph(nodes={"i": nir.IF(r=np.ones(3), v_threshold=np.ones(3))})), ParameterError, r"NIR node 'i': type.*'IF'"),
    ("Input shape 0", lambda: nir_io.from_nir(_graph(nodes={"inp": nir.Input(input_type={"input": np.array([0])})})), ParameterError, r"NIR node 'inp': shape.*0"),
    ("Input shape 1e12", lambda: nir_io.from_nir(_graph(nodes={"inp": nir.Input(input_type={"input": np.array([10**12])})})), ParameterError, r"NIR node 'inp': shape.*1000000000000"),
    ("Affine bias", lambda: nir_io.from_nir(_graph(nodes={"lin": nir.Affine(weight=np.ones((3, 2)), bias=np.ones(3))})), ParameterError, r"NIR node 'lin': bias"),
    ("conv dilation 2", lambda: nir_io.from_nir(_conv_graph(dilation=2)), ParameterError, r"NIR node 'c': dilation/groups.*\(2, 2\)"),
    ("conv stride per axis", lambda: nir_io.from_nir(_conv_graph(stride=np.array([1, 2]))), ParameterError, r"NIR node 'c': stride.*both axes.*\[1, 2\]"),
    ("conv padding str", lambda: nir_io.from_nir(_conv_graph(padding="same")), ParameterError, r"NIR node 'c': padding.*'same'"),
    ("conv weight NaN", lambda: nir_io.from_nir(_conv_graph(weight=np.full((1, 1, 3, 3), np.nan))), ParameterError, r"NIR node 'c': weight.*NaN"),
]  # fmt: skip


def _check(action: Any, err: type, pattern: str) -> None:
    with pytest.raises(err) as info:
        action()
    assert isinstance(info.value, SpikesimError) and isinstance(info.value, ValueError)
    assert re.search(pattern, str(info.value)), f"{pattern!r} not in {str(info.value)!r}"


@pytest.mark.parametrize(
    ("name", "action", "err", "pattern"), QUANTIZE_CASES, ids=[c[0] for c in QUANTIZE_CASES]
)
def test_quantize_bad_input(name: str, action: Any, err: type, pattern: str) -> None:  # fmt: skip
    _check(action, err, pattern)


@pytest.mark.parametrize(
    ("name", "action", "err", "pattern"), LOIHI_CASES, ids=[c[0] for c in LOIHI_CASES]
)
def test_loihi_bad_input(name: str, action: Any, err: type, pattern: str) -> None:  # fmt: skip
    _check(action, err, pattern)


@pytest.mark.parametrize(
    ("name", "action", "err", "pattern"), NIR_CASES, ids=[c[0] for c in NIR_CASES]
)
def test_nir_bad_input(name: str, action: Any, err: type, pattern: str) -> None:  # fmt: skip
    _check(action, err, pattern)


@pytest.mark.parametrize(
    ("name", "weights", "err", "pattern"),
    NETX_SYNAPSE_CASES,
    ids=[c[0] for c in NETX_SYNAPSE_CASES],
)
def test_netx_synapse_bad_input(name: str, weights: Any, err: type, pattern: str) -> None:  # fmt: skip
    _check(lambda: netx.netx_synapse(weights, where="layer 1"), err, r"^layer 1: " + pattern)


def test_netx_synapse_shared_matrix_rows() -> None:
    _check(
        lambda: netx.netx_synapse(np.ones((2, 2), int), shared_with=np.ones((3, 3), int)),
        ParameterError,
        r"shared_with.*2 rows.*\(3, 3\)",
    )


def test_file_and_run_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers and Lava runs, in one test (they share a netx file); nothing is left behind."""
    monkeypatch.setenv("SPIKESIM_LAVA_ENV", _NO_ENV)
    for name, action, err, pattern in _files(tmp_path):
        try:
            _check(action, err, pattern)
        except BaseException as exc:
            raise AssertionError(f"case {name!r}: {exc}") from exc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.net"]


def test_population_beyond_memory_is_refused_before_allocating() -> None:
    """LifPopulation's per-neuron registers (2 x 8 bytes) of the largest count it accepts."""
    n = 2**31 - 1
    limit = host_memory_bytes()
    if limit is None or limit >= 16 * n:
        pytest.skip("this machine can hold the arrays; the refusal needs less memory")
    _check(lambda: _pop(n=n), ParameterError, r"population 'a': n.*fit in memory.*2147483647")


# ------------------------------------------------------------------------------ CLI


def _cfg(tmp: Path, net: ss.Network, name: str = "net.toml", **run: Any) -> str:
    path = tmp / name
    net.to_toml(path)
    if run:
        with open(path, "a") as fh:
            fh.write("\n[run]\n" + "".join(f"{k} = {v}\n" for k, v in run.items()))
    return str(path)


def _invoke(group: Any, args: list[str]) -> Any:
    result = CliRunner().invoke(group, args)
    # a typed refusal exits with click's status (1: error, 2: usage), never a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_cli_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKESIM_LAVA_ENV", _NO_ENV)
    poisson = _cfg(tmp_path, _poisson_net(), duration_s=0.005)
    layered = _cfg(tmp_path, _net(), "layered.toml", duration_s=0.005)
    np.savez(tmp_path / "in.npz", x=np.zeros((5, 1, 4), np.uint8))
    inputs = str(tmp_path / "in.npz")
    out = str(tmp_path / "o.npz")
    nir_out, netx_out = str(tmp_path / "o.nir"), str(tmp_path / "o.net")
    missing_out = str(tmp_path / "no-folder" / "o")
    cases = [
        (export, ["lava", poisson, "--steps", "0", "-o", out], 2, r"--steps.*0 is not in the range x>=1"),
        (export, ["lava", poisson, "--steps", "-5", "-o", out], 2, r"--steps.*-5"),
        (export, ["lava", poisson, "--steps", "1.5", "-o", out], 2, r"--steps.*'1\.5'"),
        (export, ["lava", poisson, "--steps", str(10**13), "-o", out], 1, r"n_steps.*fit in memory.*10000000000000 steps"),
        (export, ["lava", poisson, "--seed", "-1", "-o", out], 2, r"--seed.*-1"),
        (export, ["nir", poisson, "--seed", "-1", "-o", out], 2, r"--seed.*-1"),
        (export, ["lava", poisson, "--seed", "abc", "-o", out], 2, r"--seed.*'abc'"),
        (export, ["loihi", poisson, "-o", out], 2, r"'loihi' is not one of 'lava', 'nir', 'netx'"),
        (export, ["lava", str(tmp_path / "none.toml"), "-o", out], 1, r"none\.toml.*file not found"),
        (export, ["lava", poisson, "-o", str(tmp_path)], 2, r"--out.*is a directory"),
        (export, ["lava", poisson, "-o", missing_out], 1, r"--out.*existing folder.*no-folder"),
        (export, ["nir", layered, "-o", missing_out], 1, r"--out.*existing folder.*no-folder"),
        (export, ["netx", layered, "-o", missing_out], 1, r"--out.*existing folder.*no-folder"),
        (export, ["netx", layered, "--inputs", inputs, "-o", netx_out], 1, r"--inputs.*only `export lava`"),
        (export, ["nir", layered, "--steps", "5", "-o", nir_out], 1, r"--steps.*only `export lava`"),
        (export, ["lava", layered, "-o", out], 1, r"population 'x': given.*None"),
        (export, ["lava", _cfg(tmp_path, _poisson_net(), "nan.toml", duration_s="nan"), "-o", out], 1, r"run\.duration_s.*> 0.*nan"),
        (export, ["lava", _cfg(tmp_path, _poisson_net(), "neg.toml", duration_s=-1.0), "-o", out], 1, r"run\.duration_s.*-1\.0"),
        (export, ["lava", _cfg(tmp_path, _poisson_net(), "b0.toml", duration_s=0.005, batch_size=0), "-o", out], 1, r"run\.batch_size.*>= 1.*0"),
        (export, ["lava", _cfg(tmp_path, _poisson_net(), "bh.toml", duration_s=0.005, batch_size=10**12), "-o", out], 1, r"fit in memory.*batch 1000000000000"),
        (export, ["lava", _cfg(tmp_path, _net(model=AdLIF()), "ad.toml", duration_s=0.005), "--inputs", inputs, "-o", out], 1, r"population 'h': model.*'adlif'"),
        (export, ["nir", _cfg(tmp_path, _net(delay_steps=70), "d.toml"), "-o", nir_out], 1, r"export nir takes the networks Loihi 2 can run.*projection 'xh': delay_steps.*70"),
        (export, ["nir", layered, "-o", out], 2, r"--out.*writes an NIR graph in HDF5; expected a file name ending in \.nir or \.h5 or \.hdf5, found '.*o\.npz'"),
        (lava, ["run", poisson, "--steps", "-5"], 2, r"--steps.*-5"),
        (lava, ["run", poisson, "-o", missing_out], 1, r"--out.*existing folder.*no-folder"),
        (lava, ["verify", poisson, "--steps", "0"], 2, r"--steps.*0"),
        (lava, ["run", str(tmp_path / "none.toml")], 1, r"none\.toml.*file not found"),
    ]  # fmt: skip
    for group, args, code, pattern in cases:
        result = _invoke(group, args)
        assert result.exit_code == code, (args, result.output)
        assert re.search(pattern, " ".join(result.output.split())), (args, result.output)
    assert not any(Path(p).exists() for p in (out, nir_out, netx_out))


# ------------------------------------------------------------------------------ valid neighbours


def test_valid_neighbours_still_work(tmp_path: Path) -> None:
    net = _net()
    q = quantize.quantize(net, vth=100)
    assert q.loihi.population("h").vth == 100
    assert quantize.quantize(net, vth={"h": np.int64(99)}).loihi.population("h").vth == 99
    assert (
        quantize.quantize(net, num_weight_bits=np.int64(6)).loihi.connections[0].num_weight_bits
        == 6
    )
    # a random network with a seed given as a whole float or numpy integer: same draws
    sparse = _net(conn=FloatSparse(p=0.5, weight=0.3))
    a = quantize.quantize(sparse, seed=3).loihi.connections[0].dense_weights()
    b = quantize.quantize(sparse, seed=np.int64(3)).loihi.connections[0].dense_weights()
    np.testing.assert_array_equal(a, b)
    # a tiny weight beside a large one is reported as lost, not refused
    w = np.full((5, 4), 1e-9)
    w[0, 0] = 1.0
    c = quantize.quantize(_net(conn=FloatDense(weight=w))).report.connections[0]
    assert c.lost_synapses == 19 and c.synapses == 20
    assert quantize.decay_from_tau(float("inf"), 1e-3, which="v") == 0
    # the longest synaptic time constant below the du >= 0 limit, and v without leak
    p = quantize.quantize(_net(model=CubaLIF(tau_syn_s=8.0, tau_mem_s=1e9))).report.populations[0]
    assert p.du == 0 and p.dv == 0 and p.tau_mem_s_loihi == float("inf")
    assert quantize.tau_from_decay(np.int64(0), 1e-3, which="v") == float("inf")
    # trains: spike tensors flat or in the source's shape
    shaped = ss.Network(dt_s=1e-3)
    shaped.add_spike_tensor("x", 4, shape=(1, 2, 2))
    trains = quantize.input_trains(
        shaped, n_steps=3, batch=2, seed=0, given={"x": np.ones((3, 2, 1, 2, 2))}
    )
    assert trains["x"].shape == (3, 2, 4) and trains["x"].all()
    # the fixed-point run takes a numpy batch size and a torch device object
    r = fixed_point.simulate_fixed_point(
        _lonely(), n_steps=3, batch_size=np.int64(2), device=torch.device("cpu")
    )
    assert r.spikes["a"].shape == (3, 2, 3)
    assert resources.LoihiLimits(neurons_per_core=np.int64(512)).neurons_per_core == 512
    # exchange file with a full steps_per_population, netx and NIR writers
    path = _write(tmp_path, steps_per_population={"a": 4}, record_v=True)
    with np.load(path) as d:
        assert d["pop_steps"].tolist() == [4] and int(d["n_steps"]) == 4
    netx.write_netx(_lnet(), tmp_path / "ok.net")
    nir_io.write_nir(net, tmp_path / "ok.nir")
    # NIR: a uniform delay before the Linear becomes the projection's delay; a recurrent
    # Linear is a projection
    g = _graph(nodes={"d": _delay([2e-3, 2e-3])}, edges=_DELAY_FIRST)
    assert nir_io.from_nir(g).projections["lin"].delay_steps == 2
    rec = _graph(
        nodes={"rec": nir.Linear(weight=np.ones((3, 3)))}, extra=[("lif", "rec"), ("rec", "lif")]
    )
    assert sorted(nir_io.from_nir(rec).projections) == ["lin", "rec"]
    assert verify.merge_cases([_case()]).n_steps == 4


def test_cli_valid_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKESIM_LAVA_ENV", _NO_ENV)
    layered = _cfg(tmp_path, _net(), duration_s=0.005, batch_size=2, seed=4)
    np.savez(tmp_path / "in.npz", x=np.zeros((5, 2, 4), np.uint8))
    for target, extra, ext in (
        ("lava", ["--inputs", str(tmp_path / "in.npz")], "npz"),
        ("nir", [], "nir"),
        ("netx", [], "net"),
    ):
        out = tmp_path / f"o.{ext}"
        result = _invoke(export, [target, layered, *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.is_file()
