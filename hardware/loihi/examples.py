"""Reference Loihi networks with their input spike trains (used by tests, benchmarks and the
``spikesim lava verify`` command).

Each function returns a :class:`Case`: the network, the number of steps and the inputs
``[n_steps, batch, n]`` (uint8). Random ones take an explicit ``seed``; the same seed gives the
same network and inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import numpy as np

from spikesim._validate import check_int
from spikesim.errors import ParameterError

from .exchange import check_run
from .network import DelayDense, Dense, LifPopulation, LoihiNetwork, Sparse, SpikeInput, spike_array

__all__ = [
    "Case",
    "NIR_PAPER_ISIS",
    "all_cases",
    "bias_only",
    "delay_network",
    "extremes",
    "feedforward",
    "feedforward_benchmark",
    "nir_paper_input_train",
    "nir_paper_single_lif",
    "recurrent_ei",
    "ring_attractor",
    "models_ring_attractor",
    "netx_cases",
    "netx_delays",
    "netx_feedforward",
    "netx_quantized",
    "netx_recurrent",
    "ring_attractor_network",
    "trained_classifier",
    "trained_network",
]

#: Inter-spike intervals of the NIR paper's single-LIF chip run (neuromorphs/NIR paper/01_lif).
NIR_PAPER_ISIS = (
    6, 15, 4, 3, 0, 2, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 14,
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Case:
    """A network, its run length and its inputs (input name -> uint8 [n_steps, batch, n])."""

    name: str
    net: LoihiNetwork
    n_steps: int
    inputs: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("Case", "name", "a non-empty string", self.name)
        # the network, n_steps >= 1 and one 0/1 train [n_steps, batch, n] per input
        check_run(f"case {self.name!r}", self.net, n_steps=self.n_steps, inputs=self.inputs or None)


_P = ParamSpec("_P")
_R = TypeVar("_R")

#: the smallest value of the builders' integer arguments
_MINIMUM = {
    "seed": 0, "n_steps": 1, "batch": 1, "n": 1, "n_exc": 1, "n_inh": 1, "max_delay": 0,
    "cue_at": 0,
}  # fmt: skip


def _int_args(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Check a builder's integer keyword arguments (:data:`_MINIMUM`) before it draws."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kw: _P.kwargs) -> _R:
        for key, value in kw.items():
            if key in _MINIMUM:
                kw[key] = check_int(fn.__name__, key, value, minimum=_MINIMUM[key])
        return fn(*args, **kw)

    return wrapper


def _bernoulli(rng: np.random.Generator, p: float, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.random(shape) < p).astype(np.uint8)


def nir_paper_input_train() -> np.ndarray:
    """The 1000-step input train: ISIs -> 100 entries, each followed by 9 zero steps."""
    d1 = np.concatenate([[0] * isi + [1] for isi in NIR_PAPER_ISIS])[:100]
    train = np.zeros(1000, dtype=np.uint8)
    train[::10] = d1
    return train


def nir_paper_single_lif() -> Case:
    """Input spikes -> Dense(weight 10) -> LIF(du=4095, dv=163, vth=25), 1000 steps.

    The NIR paper's Loihi 2 chip run spiked at steps 461, 511, 711 and 761.
    """
    net = LoihiNetwork(
        populations=(LifPopulation("lif", 1, du=4095, dv=163, vth=25),),
        inputs=(SpikeInput("spikes_in", 1),),
        connections=(Dense("affine", "spikes_in", "lif", "excitatory", weights=[[10]]),),
    )
    return Case(
        "nir_paper_single_lif",
        net,
        1000,
        {"spikes_in": nir_paper_input_train().reshape(1000, 1, 1)},
    )


@_int_args
def bias_only(*, n_steps: int = 300) -> Case:
    """Four unconnected LIF neurons driven only by their biases (positive/negative exponents)."""
    net = LoihiNetwork(
        populations=(
            LifPopulation(
                "biased",
                5,
                du=0,
                dv=300,
                vth=200,
                bias_mant=[100, 57, 4095, -3000, 1501],
                bias_exp=[6, 7, 0, 2, -1],
            ),
        ),
    )
    return Case("bias_only", net, n_steps, {})


@_int_args
def feedforward(*, seed: int = 1, n_steps: int = 300, batch: int = 1) -> Case:
    """Input(20) -> Dense -> LIF(30) -> Dense -> LIF(10), with weight_exp and truncation."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(0, 256, size=(30, 20)) * (rng.random((30, 20)) < 0.5)
    w2 = rng.integers(-256, 256, size=(10, 30))
    net = LoihiNetwork(
        populations=(
            LifPopulation("hidden", 30, du=1024, dv=512, vth=400, bias_mant=0),
            LifPopulation(
                "out", 10, du=2048, dv=256, vth=30, bias_mant=rng.integers(-50, 200, 10), bias_exp=3
            ),
        ),
        inputs=(SpikeInput("x", 20),),
        connections=(
            Dense(
                "x_hidden",
                "x",
                "hidden",
                "excitatory",
                num_weight_bits=7,
                weight_exp=-2,
                weights=w1,
            ),
            Dense(
                "hidden_out", "hidden", "out", "mixed", num_weight_bits=8, weight_exp=-1, weights=w2
            ),
        ),
    )
    return Case("feedforward", net, n_steps, {"x": _bernoulli(rng, 0.15, (n_steps, batch, 20))})


@_int_args
def recurrent_ei(*, seed: int = 2, n_steps: int = 400, n_exc: int = 80, n_inh: int = 20) -> Case:
    """Recurrent E/I network (80 E + 20 I) with Dense and Sparse, all three sign modes."""
    rng = np.random.default_rng(seed)
    n_in = 40

    def sparse_mask(shape: tuple[int, int], p: float) -> np.ndarray:
        return rng.random(shape) < p

    w_in_e = rng.integers(0, 256, (n_exc, n_in)) * sparse_mask((n_exc, n_in), 0.3)
    w_in_i = rng.integers(0, 256, (n_inh, n_in)) * sparse_mask((n_inh, n_in), 0.3)
    w_ee = rng.integers(-256, 256, (n_exc, n_exc)) * sparse_mask((n_exc, n_exc), 0.1)
    np.fill_diagonal(w_ee, 0)
    m_ei = sparse_mask((n_inh, n_exc), 0.2)
    rows, cols = np.nonzero(m_ei)
    vals = rng.integers(1, 256, rows.size)
    w_ie = -rng.integers(0, 256, (n_exc, n_inh)) * sparse_mask((n_exc, n_inh), 0.4)
    w_ii = -rng.integers(0, 256, (n_inh, n_inh)) * sparse_mask((n_inh, n_inh), 0.2)
    net = LoihiNetwork(
        populations=(
            LifPopulation(
                "exc",
                n_exc,
                du=600,
                dv=400,
                vth=150,
                bias_mant=rng.integers(-200, 400, n_exc),
                bias_exp=rng.integers(-2, 4, n_exc),
            ),
            LifPopulation("inh", n_inh, du=800, dv=500, vth=1500, bias_mant=rng.integers(0, 100, n_inh), bias_exp=2),
        ),
        inputs=(SpikeInput("drive", n_in),),
        connections=(
            Dense("drive_exc", "drive", "exc", "excitatory", weight_exp=2, weights=w_in_e),
            Dense("drive_inh", "drive", "inh", "excitatory", num_weight_bits=6, weights=w_in_i),
            Dense("exc_exc", "exc", "exc", "mixed", num_weight_bits=7, weight_exp=-1, weights=w_ee),
            Sparse(
                "exc_inh", "exc", "inh", "excitatory", num_weight_bits=5, weight_exp=-3,
                n_target=n_inh, n_source=n_exc, rows=rows, cols=cols, values=vals,
            ),
            Dense("inh_exc", "inh", "exc", "inhibitory", weight_exp=-1, weights=w_ie),
            Dense("inh_inh", "inh", "inh", "inhibitory", num_weight_bits=7, weight_exp=-2, weights=w_ii),
        ),
    )  # fmt: skip
    return Case("recurrent_ei", net, n_steps, {"drive": _bernoulli(rng, 0.08, (n_steps, 1, n_in))})


@_int_args
def delay_network(*, seed: int = 3, n_steps: int = 300, max_delay: int = 15) -> Case:
    """Input(30) -> DelayDense (random delays 0..max_delay) -> LIF(50), plus a recurrent
    mixed-sign DelayDense with a negative weight exponent."""
    rng = np.random.default_rng(seed)
    w_in = rng.integers(0, 256, (50, 30)) * (rng.random((50, 30)) < 0.3)
    d_in = rng.integers(0, max_delay + 1, (50, 30))
    w_rec = rng.integers(-256, 256, (50, 50)) * (rng.random((50, 50)) < 0.1)
    d_rec = rng.integers(0, max_delay + 1, (50, 50))
    net = LoihiNetwork(
        populations=(LifPopulation("delayed", 50, du=700, dv=300, vth=250, bias_mant=rng.integers(-20, 60, 50), bias_exp=1),),
        inputs=(SpikeInput("pulses", 30),),
        connections=(
            DelayDense("pulses_delayed", "pulses", "delayed", "excitatory", weight_exp=-1, weights=w_in, delays=d_in),
            DelayDense("recurrent", "delayed", "delayed", "mixed", num_weight_bits=7, weight_exp=-2, weights=w_rec, delays=d_rec),
        ),
    )  # fmt: skip
    return Case("delay_network", net, n_steps, {"pulses": _bernoulli(rng, 0.06, (n_steps, 1, 30))})


@_int_args
def extremes(*, seed: int = 4, n_steps: int = 200) -> Case:
    """Edge cases: u wrapping at 24 bits (huge shifted inputs), v clipped at -(2**23 - 1)
    (huge inhibition), vth at its 17-bit maximum, du = 4095 and dv = 0."""
    rng = np.random.default_rng(seed)
    n_in = 8
    exc = np.full((3, n_in), 255)
    inh = np.full((3, n_in), -256)
    net = LoihiNetwork(
        populations=(
            LifPopulation("wrap_u", 3, du=0, dv=0, vth=2**17 - 1, bias_mant=[0, 100, -100], bias_exp=7),
            LifPopulation("clip_v", 3, du=4095, dv=0, vth=2**17 - 1, bias_mant=[0, 4095, -4096], bias_exp=7),
        ),
        inputs=(SpikeInput("burst", n_in),),
        connections=(
            Dense("burst_wrap", "burst", "wrap_u", "excitatory", weight_exp=7, weights=exc),
            Dense("burst_clip", "burst", "clip_v", "mixed", weight_exp=7, weights=inh),
        ),
    )  # fmt: skip
    burst = _bernoulli(rng, 0.5, (n_steps, 1, n_in))
    return Case("extremes", net, n_steps, {"burst": burst})


@_int_args
def feedforward_benchmark(
    *, n: int = 1000, n_steps: int = 1000, batch: int = 1, seed: int = 5
) -> Case:
    """Input(n) -> Dense -> LIF(n) -> Dense -> LIF(n) (the benchmark network): 5 % input
    spikes and 5 % connectivity; about 8 % of lif1 and 4 % of lif2 spike per step (n = 1000)."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(0, 256, (n, n)) * (rng.random((n, n)) < 0.05)
    w2 = rng.integers(-256, 256, (n, n)) * (rng.random((n, n)) < 0.05)
    net = LoihiNetwork(
        populations=(
            LifPopulation("lif1", n, du=1000, dv=500, vth=8000),
            LifPopulation("lif2", n, du=1000, dv=500, vth=2000),
        ),
        inputs=(SpikeInput("inp", n),),
        connections=(
            Dense("inp_lif1", "inp", "lif1", "excitatory", weights=w1),
            Dense("lif1_lif2", "lif1", "lif2", "mixed", weights=w2),
        ),
    )
    return Case(
        "feedforward_benchmark", net, n_steps, {"inp": _bernoulli(rng, 0.05, (n_steps, batch, n))}
    )


@_int_args
def ring_attractor_network(*, n: int = 48, dt_s: float = 1e-3):
    """A float spikesim bump attractor: a ring of ``n`` CubaLIF neurons with local circulant
    excitation (offsets -3..3), a global inhibitory pool of 8 CubaLIF neurons (Dense both ways)
    and a one-to-one ``cue`` spike_tensor input. A brief cue leaves a self-sustained bump."""
    from spikesim.connectivity import Circulant, OneToOne
    from spikesim.connectivity import Dense as FloatDense
    from spikesim.network import Network, Ring
    from spikesim.neurons import CubaLIF

    net = Network(dt_s=dt_s, name="ring_attractor")
    cell = CubaLIF(tau_syn_s=4e-3, tau_mem_s=10e-3, v_th=1.0)
    net.add_spike_tensor("cue", n)
    net.add_population("ring", n, cell, layout=Ring())
    net.add_population("inh", 8, cell)
    net.add_projection("cue_ring", "cue", "ring", OneToOne(weight=0.8))
    kernel = np.array([0.1, 0.25, 0.45, 0.45, 0.25, 0.1])
    net.add_projection(
        "ring_ring", "ring", "ring", Circulant(offsets=(-3, -2, -1, 1, 2, 3), weights=kernel)
    )
    net.add_projection("ring_inh", "ring", "inh", FloatDense(weight=0.04))
    net.add_projection("inh_ring", "inh", "ring", FloatDense(weight=0.12), receptor="inh")
    return net


@_int_args
def ring_attractor(*, n: int = 48, n_steps: int = 300, seed: int = 6, cue_at: int = 20) -> Case:
    """:func:`ring_attractor_network` quantised (:func:`spikesim.hardware.quantize.quantize`),
    cued for 30 steps at neurons ``cue_at .. cue_at + 4`` (Bernoulli 0.5 per step)."""
    from ..quantize import quantize

    if cue_at + 5 > n:
        raise ParameterError("ring_attractor", "cue_at", f"at most n - 5 = {n - 5}", cue_at)
    q = quantize(ring_attractor_network(n=n))
    rng = np.random.default_rng(seed)
    cue = np.zeros((n_steps, 1, n), dtype=np.uint8)
    cue[:30, 0, cue_at : cue_at + 5] = _bernoulli(rng, 0.5, (30, 5))[:n_steps]
    return Case("ring_attractor", q.loihi, n_steps, {"cue": cue})


@_int_args
def models_ring_attractor(*, n_steps: int = 300, seed: int = 1) -> Case:
    """``spikesim.models.wave.attractors.ring_attractor_network(neuron="cuba")`` (128 + 32
    CubaLIF, Poisson background, a cue current from 50 to 250 ms) quantised, with its
    background trains and cue channels drawn by :func:`~spikesim.hardware.quantize.
    input_trains` (``seed``)."""
    from spikesim.models.wave.attractors import ring_attractor_network as models_ring

    from ..quantize import input_trains, quantize

    net = models_ring(neuron="cuba")
    q = quantize(net, seed=seed)
    trains = input_trains(net, n_steps=n_steps, seed=seed)
    return Case("models_ring_attractor", q.loihi, n_steps, trains)


def trained_network(model):
    """The float spikesim Network of a trained ``spikesim.models.classify`` classifier (any
    module with ``.network`` and ``.sim.projs``): its description with every projection's
    weights replaced by the trained tensors (Dense matrices, Conv2d kernels)."""
    from spikesim.network import Network

    if not (hasattr(model, "network") and hasattr(model, "sim")):
        raise ParameterError(
            "trained_network", "model", "a classifier with .network and .sim", type(model).__name__
        )
    d = model.network.to_dict()
    for pr in d["projections"]:
        w = model.sim.projs[pr["name"]].weight.detach().cpu().double().numpy()
        conn = dict(pr["connectivity"])
        if conn["kind"] == "dense":
            conn["weight"] = w.tolist()
        elif conn["kind"] == "conv2d":
            conn["kernel"] = w.tolist()
        else:
            raise ParameterError(
                f"projection {pr['name']!r}", "connectivity", "dense or conv2d", conn["kind"]
            )
        pr["connectivity"] = conn
    return Network.from_dict(d, source="trained classifier")


def trained_classifier(model, x, *, name: str = "classifier", **quantize_options: Any) -> Case:
    """A Case of a trained classifier quantised for Loihi, fed the event tensors ``x``
    ``[batch, n_steps, *input_shape]`` (the layout of ``spikesim.models.classify``).
    ``quantize_options`` go to :func:`~spikesim.hardware.quantize.quantize` (e.g.
    :data:`spikesim.hardware.netx.NETX_QUANTIZE` for a netx export)."""
    from ..quantize import quantize

    q = quantize(trained_network(model), **quantize_options)
    arr = spike_array(name, "x", x)
    if arr.ndim < 3:
        raise ParameterError(
            name, "x", "events [batch, n_steps, *input_shape]", f"an array of shape {arr.shape}"
        )
    spikes = np.ascontiguousarray(arr.reshape(arr.shape[0], arr.shape[1], -1).transpose(1, 0, 2))
    (inp,) = q.loihi.inputs
    return Case(name, q.loihi, spikes.shape[0], {inp.name: spikes.astype(np.uint8)})


@_int_args
def netx_feedforward(*, seed: int = 11, n_steps: int = 300, batch: int = 1) -> Case:
    """A netx-exportable chain: Input(24) -> Dense (excitatory, 6 bits, weight_exp -2) ->
    LIF(40, biases multiples of 64) -> Sparse (mixed, weight_exp 1) -> LIF(12)."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(1, 64, (40, 24)) * 4 * (rng.random((40, 24)) < 0.4)
    mask = rng.random((12, 40)) < 0.5
    rows, cols = np.nonzero(mask)
    vals = rng.integers(-60, 61, rows.size) * 2
    net = LoihiNetwork(
        populations=(
            LifPopulation("hidden", 40, du=900, dv=400, vth=1200,
                          bias_mant=rng.integers(-3, 6, 40), bias_exp=6),
            LifPopulation("out", 12, du=3000, dv=200, vth=250, bias_mant=64, bias_exp=0),
        ),
        inputs=(SpikeInput("x", 24),),
        connections=(
            Dense("x_hidden", "x", "hidden", "excitatory", num_weight_bits=6, weight_exp=-2,
                  weights=w1),
            Sparse("hidden_out", "hidden", "out", "mixed", weight_exp=1, n_target=12,
                   n_source=40, rows=rows, cols=cols, values=vals),
        ),
    )  # fmt: skip
    return Case(
        "netx_feedforward", net, n_steps, {"x": _bernoulli(rng, 0.15, (n_steps, batch, 24))}
    )


@_int_args
def netx_recurrent(*, seed: int = 12, n_steps: int = 300, n: int = 60, n_inh: int = 12) -> Case:
    """A netx ``dense_rec`` layer: Input(30) -> Dense -> LIF(60) with a recurrent E/I Dense onto
    itself (the last 12 neurons inhibit, the others excite) -> Dense (mixed) -> LIF(10)."""
    rng = np.random.default_rng(seed)
    w_in = rng.integers(1, 121, (n, 30)) * (rng.random((n, 30)) < 0.3)
    w_rec = rng.integers(1, 101, (n, n)) * (rng.random((n, n)) < 0.15)
    w_rec[:, n - n_inh :] *= -1
    np.fill_diagonal(w_rec, 0)
    w_out = rng.integers(-100, 101, (10, n)) * (rng.random((10, n)) < 0.5)
    net = LoihiNetwork(
        populations=(
            LifPopulation("ei", n, du=700, dv=350, vth=3000, bias_mant=rng.integers(0, 3, n), bias_exp=6),
            LifPopulation("readout", 10, du=2000, dv=300, vth=600),
        ),
        inputs=(SpikeInput("drive", 30),),
        connections=(
            Dense("drive_ei", "drive", "ei", "excitatory", weight_exp=-1, weights=w_in * 2),
            Dense("ei_ei", "ei", "ei", "mixed", weights=w_rec // 2 * 2),
            Dense("ei_readout", "ei", "readout", "mixed", weights=w_out * 2),
        ),
    )  # fmt: skip
    return Case("netx_recurrent", net, n_steps, {"drive": _bernoulli(rng, 0.1, (n_steps, 1, 30))})


@_int_args
def netx_delays(*, seed: int = 13, n_steps: int = 300, max_delay: int = 20) -> Case:
    """Input(20) -> DelayDense (delays 0..max_delay, weight_exp -1) -> LIF(40) -> Dense -> LIF(10),
    a netx ``dense`` layer with a ``delay`` matrix (Lava's DelayDense inside lava-dl's block)."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(1, 128, (40, 20)) * 2 * (rng.random((40, 20)) < 0.4)
    d1 = rng.integers(0, max_delay + 1, (40, 20))
    w2 = rng.integers(-120, 121, (10, 40)) * 2
    net = LoihiNetwork(
        populations=(
            LifPopulation("delayed", 40, du=800, dv=300, vth=2000, bias_mant=rng.integers(-1, 2, 40), bias_exp=6),
            LifPopulation("out", 10, du=1500, dv=250, vth=1200),
        ),
        inputs=(SpikeInput("pulses", 20),),
        connections=(
            DelayDense("pulses_delayed", "pulses", "delayed", "excitatory", weight_exp=-1,
                       weights=w1, delays=d1),
            Dense("delayed_out", "delayed", "out", "mixed", weights=w2),
        ),
    )  # fmt: skip
    return Case("netx_delays", net, n_steps, {"pulses": _bernoulli(rng, 0.1, (n_steps, 1, 20))})


@_int_args
def netx_quantized_network(*, seed: int = 14):
    """A float spikesim network for the netx path: spike_tensor(32) -> CubaLIF(48, bias) ->
    CubaLIF(10), Dense float weights (the second of both signs)."""
    from spikesim.connectivity import Dense as FloatDense
    from spikesim.network import Network
    from spikesim.neurons import CubaLIF

    rng = np.random.default_rng(seed)
    net = Network(dt_s=1e-3, name="netx_quantized")
    net.add_spike_tensor("events", 32)
    net.add_population(
        "hidden",
        48,
        CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0, bias=rng.uniform(0, 0.01, 48)),
    )
    net.add_population("classes", 10, CubaLIF(tau_syn_s=8e-3, tau_mem_s=30e-3, v_th=1.0))
    w1 = rng.uniform(0, 0.08, (48, 32)) * (rng.random((48, 32)) < 0.4)
    w2 = rng.normal(0.0, 0.03, (10, 48))
    net.add_projection("events_hidden", "events", "hidden", FloatDense(weight=w1))
    net.add_projection("hidden_classes", "hidden", "classes", FloatDense(weight=w2))
    return net


@_int_args
def netx_quantized(*, seed: int = 14, n_steps: int = 300) -> Case:
    """:func:`netx_quantized_network` quantised for netx (:data:`~spikesim.hardware.netx.
    NETX_QUANTIZE`: ``weight_exp=0, bias_exp=6, weight_max=120``)."""
    from ..netx import NETX_QUANTIZE
    from ..quantize import quantize

    q = quantize(netx_quantized_network(seed=seed), **NETX_QUANTIZE)
    rng = np.random.default_rng(seed + 1)
    return Case(
        "netx_quantized", q.loihi, n_steps, {"events": _bernoulli(rng, 0.1, (n_steps, 1, 32))}
    )


def netx_cases() -> list[Case]:
    """Networks that :func:`spikesim.hardware.netx.write_netx` exports and lava-dl loads."""
    return [netx_feedforward(), netx_recurrent(), netx_delays(), netx_quantized()]


def all_cases() -> list[Case]:
    """The agreement cases checked by ``spikesim lava verify`` and the lava tests."""
    cases = [
        nir_paper_single_lif(),
        bias_only(),
        feedforward(),
        recurrent_ei(),
        delay_network(),
        extremes(),
        ring_attractor(),
    ]
    try:  # the optional models part: its CubaLIF ring attractor
        cases.append(models_ring_attractor())
    except ImportError:  # pragma: no cover - spikesim.models not installed
        pass
    return cases
