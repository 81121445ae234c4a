"""Spiking classifiers built from a spikesim :class:`~spikesim.network.Network` description.

The description (spike-tensor input → CubaLIF populations with trainable Dense / Conv2d
projections) is what exports to Lava/Loihi later; :class:`SpikingClassifier` runs it with
:class:`~spikesim.engine.Simulator` in differentiable mode (surrogate gradients, BPTT) and
reads out the output population's spike counts (or rates) as logits.

Inputs are batches ``[B, T, ...]`` of spike counts; they may be stored compactly as ``uint8``
or ``bool`` (the simulator converts one time step at a time, so the float copy of the whole
input never exists).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from spikesim import Conv2d, CubaLIF, Dense, Network, Normal, Simulator
from spikesim._validate import check_int, check_positive
from spikesim.dynamics.surrogate import SavedTensorStats, compact_saved_spikes
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_fits, check_options, check_seed

__all__ = [
    "dense_classifier_network",
    "conv_classifier_network",
    "SpikingClassifier",
    "build_classifier",
    "INPUT",
    "OUTPUT",
]

INPUT = "input"
OUTPUT = "output"
_CARRY_KEYS = {"sim", "counts", "steps"}


def _neuron(tau_syn_s: float, tau_mem_s: float, v_th: float) -> CubaLIF:
    return CubaLIF(tau_syn_s=tau_syn_s, tau_mem_s=tau_mem_s, v_th=v_th)


def _ints(field: str, value: Any, *, minimum: int, length: int | None = None) -> tuple[int, ...]:
    """A sequence of integers >= ``minimum`` (a float is refused, never truncated)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ParameterError("classifier", field, "a sequence of integers", value)
    out = tuple(check_int("classifier", field, v, minimum=minimum) for v in value)
    if length is not None and len(out) != length:
        raise ParameterError("classifier", field, f"{length} integers", tuple(value))
    if not out and length is None and field == "input_shape":
        raise ParameterError("classifier", field, "at least one dimension", tuple(value))
    return out


def _check_common(
    *, n_classes: Any, dt_s: Any, tau_syn_s: Any, tau_mem_s: Any, v_th: Any, weight_scale: Any
) -> int:
    """The options both builders share (before any weight scale is computed from them)."""
    n = check_int("classifier", "n_classes", n_classes, minimum=2)
    for field, v in (
        ("dt_s", dt_s),
        ("tau_syn_s", tau_syn_s),
        ("tau_mem_s", tau_mem_s),
        ("v_th", v_th),
        ("weight_scale", weight_scale),
    ):
        check_positive("classifier", field, v)
    return n


def _gain(dt_s: float, tau_syn_s: float, tau_mem_s: float) -> float:
    """Steady-state v per unit of constant input of the CubaLIF recursion (weight scaling)."""
    du, dv = np.exp(-dt_s / tau_syn_s), np.exp(-dt_s / tau_mem_s)
    return float(1.0 / ((1.0 - du) * (1.0 - dv)))


def dense_classifier_network(
    *,
    input_shape: Sequence[int] = (2, 34, 34),
    hidden: Sequence[int] = (256,),
    n_classes: int = 10,
    dt_s: float = 1e-3,
    tau_syn_s: float = 2e-3,
    tau_mem_s: float = 5e-3,
    v_th: float = 1.0,
    weight_scale: float = 2.0,
) -> Network:
    """Input (flattened) → hidden CubaLIF layers → ``n_classes`` CubaLIF outputs, all Dense.

    Weights are drawn (by the simulator's seed) from N(0, s²) with
    ``s = weight_scale * v_th / (gain * sqrt(fan_in))``, ``gain`` the CubaLIF's steady-state
    response to a unit input, so firing starts in a trainable range whatever the time constants.
    """
    n_classes = _check_common(
        n_classes=n_classes,
        dt_s=dt_s,
        tau_syn_s=tau_syn_s,
        tau_mem_s=tau_mem_s,
        v_th=v_th,
        weight_scale=weight_scale,
    )
    input_shape = _ints("input_shape", input_shape, minimum=1)
    hidden = _ints("hidden", hidden, minimum=1)
    net = Network(dt_s=dt_s, name="dense_classifier")
    size = int(np.prod(input_shape))
    net.add_spike_tensor(INPUT, size, shape=input_shape, values="count")
    g = _gain(dt_s, tau_syn_s, tau_mem_s)
    pre, fan = INPUT, size
    layers = [*hidden, n_classes]
    for i, n in enumerate(layers):
        name = OUTPUT if i == len(layers) - 1 else f"hidden{i}"
        net.add_population(name, n, _neuron(tau_syn_s, tau_mem_s, v_th))
        std = weight_scale * v_th / (g * np.sqrt(fan))
        net.add_projection(
            f"{pre}_to_{name}", pre, name, Dense(weight=Normal(0.0, std)), trainable=True
        )
        pre, fan = name, n
    return net


def conv_classifier_network(
    *,
    input_shape: Sequence[int] = (2, 34, 34),
    channels: Sequence[int] = (8, 16),
    kernel_size: int = 5,
    stride: int = 2,
    hidden: Sequence[int] = (),
    n_classes: int = 10,
    dt_s: float = 1e-3,
    tau_syn_s: float = 2e-3,
    tau_mem_s: float = 5e-3,
    v_th: float = 1.0,
    weight_scale: float = 5.0,
    seed: int = 0,
) -> Network:
    """Strided Conv2d CubaLIF layers (stride replaces pooling) → optional Dense hidden → output.

    Convolution kernels are part of the description (arrays), drawn here from ``seed``
    with the same scaling rule as :func:`dense_classifier_network`.
    """
    n_classes = _check_common(
        n_classes=n_classes,
        dt_s=dt_s,
        tau_syn_s=tau_syn_s,
        tau_mem_s=tau_mem_s,
        v_th=v_th,
        weight_scale=weight_scale,
    )
    c, h, w = _ints("input_shape", input_shape, minimum=1, length=3)
    channels = _ints("channels", channels, minimum=1)
    hidden = _ints("hidden", hidden, minimum=1)
    kernel_size = check_int("classifier", "kernel_size", kernel_size, minimum=1)
    stride = check_int("classifier", "stride", stride, minimum=1)
    seed = check_seed("classifier", seed)
    net = Network(dt_s=dt_s, name="conv_classifier")
    net.add_spike_tensor(INPUT, c * h * w, shape=(c, h, w), values="count")
    g = _gain(dt_s, tau_syn_s, tau_mem_s)
    rng = np.random.default_rng(seed)
    pre, shape = INPUT, (c, h, w)
    pad = kernel_size // 2
    for i, c_out in enumerate(channels):
        fan = shape[0] * kernel_size * kernel_size
        std = weight_scale * v_th / (g * np.sqrt(fan))
        check_fits(
            "classifier",
            "channels",
            8.0 * c_out * fan,
            f"conv{i} kernel {c_out} x {shape[0]} x {kernel_size} x {kernel_size}",
        )
        kernel = rng.normal(0.0, std, size=(int(c_out), shape[0], kernel_size, kernel_size))
        conn = Conv2d(kernel=kernel, stride=stride, padding=pad)
        out_shape = conn.out_shape(shape)
        if min(out_shape[1:]) < 1:
            raise ShapeError("classifier", f"conv{i} output", ("c", ">=1", ">=1"), out_shape)
        name = f"conv{i}"
        net.add_population(
            name, int(np.prod(out_shape)), _neuron(tau_syn_s, tau_mem_s, v_th), shape=out_shape
        )
        net.add_projection(f"{pre}_to_{name}", pre, name, conn, trainable=True)
        pre, shape = name, out_shape
    fan = int(np.prod(shape))
    layers = [*hidden, n_classes]
    for i, n in enumerate(layers):
        name = OUTPUT if i == len(layers) - 1 else f"hidden{i}"
        net.add_population(name, n, _neuron(tau_syn_s, tau_mem_s, v_th))
        std = weight_scale * v_th / (g * np.sqrt(fan))
        net.add_projection(
            f"{pre}_to_{name}", pre, name, Dense(weight=Normal(0.0, std)), trainable=True
        )
        pre, fan = name, n
    return net


class SpikingClassifier(torch.nn.Module):
    """Runs a classifier network description with surrogate-gradient BPTT.

    ``forward(x, carry=None)`` takes ``x`` of shape ``[B, T, *input_shape]`` (any numeric or
    bool dtype; ``B <= batch_size``, smaller batches are zero-padded) and returns
    ``{"logits": [B, n_classes], "rates": {population: mean spikes per neuron per step},
    "carry": ...}`` (rates of the output only with ``track_rates=False``). Logits are the output spike counts (``readout="count"``) or the output
    rates times ``rate_scale`` (``readout="rate"``) over all steps seen so far, so feeding a
    long input in pieces with the returned carry (truncated BPTT) ends with the same logits.

    With ``compact_saved=True`` (default) the spikes that BPTT keeps for the backward pass
    are stored as bool instead of float32 (:func:`~spikesim.dynamics.surrogate.compact_saved_spikes`;
    gradients unchanged); ``saved_stats`` holds the byte counts of the last forward with
    gradient.

    With ``layerwise=True`` (default) the simulator runs a feed-forward description (all
    built here are) layer by layer (``Simulator.fused_layers``): each projection batched over
    all time steps, each CubaLIF layer one autograd node, no step loop; the same spikes and
    carry as its step-by-step loop, gradients equal to float rounding, about twice as fast on
    CPU. ``layerwise=False`` steps every population (the step-by-step graph).
    """

    def __init__(
        self,
        network: Network,
        *,
        batch_size: int,
        readout: str = "count",
        rate_scale: float = 10.0,
        seed: int = 0,
        device: str | torch.device = "cpu",
        surrogate_alpha: float = 10.0,
        track_rates: bool = True,
        compact_saved: bool = True,
        layerwise: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(network, Network):
            raise ParameterError(
                "classifier", "network", "a spikesim Network", type(network).__name__
            )
        if readout not in ("count", "rate"):
            raise ParameterError("classifier", "readout", "'count' or 'rate'", readout)
        for name in (INPUT, OUTPUT):
            if name not in network.populations:
                raise ParameterError(
                    "classifier",
                    "network",
                    f"a population named {name!r}",
                    sorted(network.populations),
                )
        self.network = network
        self.readout = readout
        self.rate_scale = check_positive("classifier", "rate_scale", rate_scale)
        self.compact_saved = bool(compact_saved)
        self.saved_stats = SavedTensorStats()
        self.input_shape = network.populations[INPUT].dims
        self.n_classes = network.populations[OUTPUT].size
        self.sim = Simulator(
            network,
            batch_size=batch_size,
            differentiable=True,
            seed=seed,
            device=device,
            surrogate_alpha=surrogate_alpha,
        )
        self.sim.fused_layers = bool(layerwise)
        # recording every population (for the spike-rate metrics) costs ~10 % of a training
        # step; track_rates=False records the output only
        self.record = (
            tuple(n for n, p in network.populations.items() if not p.is_source)
            if track_rates
            else (OUTPUT,)
        )

    @property
    def batch_size(self) -> int:
        return self.sim.batch_size

    def _run(self, xt: torch.Tensor, carry: Any) -> tuple[dict[str, torch.Tensor], Any]:
        return self.sim(
            {INPUT: xt}, n_steps=xt.shape[0], record=self.record, carry=carry, return_carry=True
        )

    def forward(self, x: torch.Tensor, carry: dict[str, Any] | None = None) -> dict[str, Any]:
        B = self.sim.batch_size
        if not isinstance(x, torch.Tensor):
            raise ParameterError(
                "classifier input", "x", "a torch.Tensor [B, T, ...]", type(x).__name__
            )
        if (
            x.dim() < 3
            or x.shape[0] < 1
            or x.shape[1] < 1
            or tuple(x.shape[2:])
            not in (
                tuple(self.input_shape),
                (int(np.prod(self.input_shape)),),
            )
        ):
            raise ShapeError("classifier input", "x", ("B", "T", *self.input_shape), tuple(x.shape))
        b, T = x.shape[0], x.shape[1]
        if b > B:
            raise ShapeError("classifier input", "batch", (f"<= {B}",), (b,))
        if x.dtype == torch.bool:
            x = x.to(torch.uint8)
        xt = x.transpose(0, 1).reshape(T, b, -1)
        if b < B:
            xt = torch.cat([xt, xt.new_zeros(T, B - b, xt.shape[2])], dim=1)
        if carry is not None and (not isinstance(carry, dict) or set(carry) != _CARRY_KEYS):
            found = sorted(carry) if isinstance(carry, dict) else type(carry).__name__
            raise ParameterError(
                "classifier input", "carry", "None or the 'carry' of a previous forward", found
            )
        sim_carry = None if carry is None else carry["sim"]
        if torch.is_grad_enabled():
            self.saved_stats = SavedTensorStats()
            with compact_saved_spikes(enabled=self.compact_saved, stats=self.saved_stats):
                rec, new_carry = self._run(xt, sim_carry)
        else:
            rec, new_carry = self._run(xt, sim_carry)
        counts = rec[OUTPUT][:, :b].sum(0)
        steps = T
        if carry is not None:
            counts = counts + carry["counts"]
            steps += int(carry["steps"])
        logits = counts if self.readout == "count" else counts * (self.rate_scale / steps)
        rates = {n: rec[n][:, :b].mean() for n in self.record}
        return {
            "logits": logits,
            "rates": rates,
            "carry": {"sim": new_carry, "counts": counts, "steps": steps},
        }


def build_classifier(
    kind: str,
    *,
    input_shape: Sequence[int],
    n_classes: int,
    batch_size: int,
    seed: int = 0,
    device: str | torch.device = "cpu",
    readout: str = "count",
    surrogate_alpha: float = 10.0,
    track_rates: bool = True,
    compact_saved: bool = True,
    layerwise: bool = True,
    **options: Any,
) -> SpikingClassifier:
    """``kind`` ``"dense"`` or ``"conv"``; ``options`` go to the network builder."""
    builders = {"dense": dense_classifier_network, "conv": conv_classifier_network}
    if kind in builders:
        known = [
            p.name
            for p in inspect.signature(builders[kind]).parameters.values()
            if p.name not in ("input_shape", "n_classes", "seed")
        ]
        check_options("classifier", kind, options, known)
    if kind == "dense":
        net = dense_classifier_network(input_shape=input_shape, n_classes=n_classes, **options)
    elif kind == "conv":
        net = conv_classifier_network(
            input_shape=input_shape, n_classes=n_classes, seed=seed, **options
        )
    else:
        raise ParameterError("classifier", "kind", "'dense' or 'conv'", kind)
    return SpikingClassifier(
        net,
        batch_size=batch_size,
        readout=readout,
        seed=seed,
        device=device,
        surrogate_alpha=surrogate_alpha,
        track_rates=track_rates,
        compact_saved=compact_saved,
        layerwise=layerwise,
    )
