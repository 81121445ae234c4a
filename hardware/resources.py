"""Resource report of a :class:`LoihiNetwork` against configurable chip limits.

Loihi 2's per-core limits are not public. The defaults of :class:`LoihiLimits` are therefore
**assumptions**: the published Loihi 1 per-core figures (1024 compartments, 4096 input axons,
4096 output axons, 1 Mbit of synapse memory) together with Loihi 2's chip figures (128 neuron
cores, ~1M neurons, ~120M synapses) and the 6-bit delays Lava's DelayDense accepts (we keep
0..62, one step below Lava's 63, so that delay + Dense step fits 6 bits). Override any field.

The core estimate is a lower bound from a simple packing model: each population is split over
``max(ceil(neurons / neurons_per_core), ceil(input axons / input_axons_per_core),
ceil(synapse bits / synapse_bits_per_core), ceil(output axons / output_axons_per_core))``
cores, where a synapse costs its weight bits (``num_weight_bits``, +1 sign bit in mixed mode)
plus 6 delay bits for DelayDense, with no index overhead; an input axon is a source neuron
with at least one non-zero synapse into the population; a source neuron needs one output
axon per core of each target population it reaches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from spikesim.errors import ParameterError

from .loihi.network import DelayDense, LoihiNetwork, SignMode

__all__ = [
    "ConnectionResources",
    "LoihiLimits",
    "PopulationResources",
    "ResourceReport",
    "check_resources",
    "resource_report",
]


@dataclass(frozen=True)
class LoihiLimits:
    """Chip limits used by :func:`resource_report` (defaults are assumptions, see module doc)."""

    neurons_per_core: int = 1024
    input_axons_per_core: int = 4096
    output_axons_per_core: int = 4096
    synapse_bits_per_core: int = 1 << 20
    cores_per_chip: int = 128
    neurons_per_chip: int = 1 << 20
    synapses_per_chip: int = 120_000_000
    max_delay: int = 62
    max_weight_bits: int = 8

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo = 0 if f.name == "max_delay" else 1
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise ParameterError("LoihiLimits", f.name, f"an integer >= {lo}", value)
            if value < lo:
                raise ParameterError("LoihiLimits", f.name, f"an integer >= {lo}", value)
            object.__setattr__(self, f.name, int(value))


@dataclass(frozen=True)
class ConnectionResources:
    """Per connection: stored synapses (non-zero quantised weights), bits, fan-in/out."""

    name: str
    kind: str
    synapses: int
    weight_bits: int
    bits_per_synapse: int
    max_delay: int
    max_fan_in: int
    max_fan_out: int
    active_sources: int


@dataclass(frozen=True)
class PopulationResources:
    """Per population: neurons, incoming synapses and axons, and its estimated cores."""

    name: str
    neurons: int
    synapses_in: int
    synapse_bits_in: int
    input_axons: int
    output_axons: int
    max_fan_in: int
    max_fan_out: int
    cores: int


@dataclass(frozen=True)
class ResourceReport:
    """What a network needs and which limits it exceeds (``violations``, empty when it fits)."""

    limits: LoihiLimits
    populations: tuple[PopulationResources, ...]
    connections: tuple[ConnectionResources, ...]
    neurons: int
    synapses: int
    cores: int
    max_delay: int
    violations: tuple[ParameterError, ...]

    @property
    def fits(self) -> bool:
        return not self.violations

    def format(self) -> str:
        """A plain-text table of the report."""
        lines = [
            f"neurons {self.neurons}, synapses {self.synapses}, estimated cores {self.cores} "
            f"of {self.limits.cores_per_chip}, max delay {self.max_delay}",
            f"{'population':<20}{'neurons':>9}{'syn in':>10}{'in axons':>10}{'out axons':>10}"
            f"{'fan-in':>8}{'fan-out':>9}{'cores':>7}",
        ]
        for p in self.populations:
            lines.append(
                f"{p.name:<20}{p.neurons:>9}{p.synapses_in:>10}{p.input_axons:>10}"
                f"{p.output_axons:>10}{p.max_fan_in:>8}{p.max_fan_out:>9}{p.cores:>7}"
            )
        lines.append(
            f"{'connection':<20}{'kind':>12}{'synapses':>10}{'w bits':>8}{'bits/syn':>9}{'delay':>7}"
        )
        for c in self.connections:
            lines.append(
                f"{c.name:<20}{c.kind:>12}{c.synapses:>10}{c.weight_bits:>8}"
                f"{c.bits_per_synapse:>9}{c.max_delay:>7}"
            )
        for v in self.violations:
            lines.append(f"EXCEEDS: {v}")
        return "\n".join(lines)


def _kind(conn: object) -> str:
    return {"Dense": "dense", "Sparse": "sparse", "DelayDense": "delay_dense"}[type(conn).__name__]


def resource_report(net: LoihiNetwork, *, limits: LoihiLimits | None = None) -> ResourceReport:
    """Count neurons, synapses, fan-in/out, bits and delays; estimate cores; list violations."""
    if not isinstance(net, LoihiNetwork):
        raise ParameterError("resource_report", "net", "a LoihiNetwork", type(net).__name__)
    limits = LoihiLimits() if limits is None else limits
    if not isinstance(limits, LoihiLimits):
        raise ParameterError("resource_report", "limits", "a LoihiLimits", type(limits).__name__)
    violations: list[ParameterError] = []
    conn_res: list[ConnectionResources] = []
    nz: dict[str, np.ndarray] = {}
    for c in net.connections:
        mask = c.quantized_weights() != 0  # (n_t, n_s)
        nz[c.name] = mask
        mixed = SignMode(c.sign_mode) is SignMode.MIXED
        weight_bits = c.num_weight_bits + int(mixed)
        delay = c.max_delay if isinstance(c, DelayDense) else 0
        bits = weight_bits + (6 if isinstance(c, DelayDense) else 0)
        conn_res.append(
            ConnectionResources(
                name=c.name,
                kind=_kind(c),
                synapses=int(mask.sum()),
                weight_bits=weight_bits,
                bits_per_synapse=bits,
                max_delay=delay,
                max_fan_in=int(mask.sum(axis=1).max()) if mask.size else 0,
                max_fan_out=int(mask.sum(axis=0).max()) if mask.size else 0,
                active_sources=int(mask.any(axis=0).sum()),
            )
        )
        where = f"connection {c.name!r}"
        if delay > limits.max_delay:
            violations.append(
                ParameterError(
                    where, "delays", f"at most {limits.max_delay} (LoihiLimits.max_delay)", delay
                )
            )
        if c.num_weight_bits > limits.max_weight_bits:
            violations.append(
                ParameterError(
                    where, "num_weight_bits", f"at most {limits.max_weight_bits} (LoihiLimits.max_weight_bits)",
                    c.num_weight_bits,
                )
            )  # fmt: skip
    by_name = {r.name: r for r in conn_res}

    # first pass: cores from neurons, input axons and synapse memory
    pre: dict[str, dict[str, int]] = {}
    for p in net.populations:
        incoming = [c for c in net.connections if c.target == p.name]
        syn_in = sum(by_name[c.name].synapses for c in incoming)
        bits_in = sum(by_name[c.name].synapses * by_name[c.name].bits_per_synapse for c in incoming)
        in_axons = sum(by_name[c.name].active_sources for c in incoming)
        fan_in = np.zeros(p.n, dtype=np.int64)
        for c in incoming:
            fan_in += nz[c.name].sum(axis=1)
        fan_out = np.zeros(p.n, dtype=np.int64)
        for c in net.connections:
            if c.source == p.name:
                fan_out += nz[c.name].sum(axis=0)
        cores = max(
            math.ceil(p.n / limits.neurons_per_core),
            math.ceil(in_axons / limits.input_axons_per_core),
            math.ceil(bits_in / limits.synapse_bits_per_core),
            1,
        )
        pre[p.name] = dict(
            syn_in=syn_in, bits_in=bits_in, in_axons=in_axons, cores=cores,
            fan_in=int(fan_in.max()), fan_out=int(fan_out.max()),
        )  # fmt: skip
        where = f"population {p.name!r}"
        if int(fan_in.max()) > limits.input_axons_per_core:
            violations.append(
                ParameterError(
                    where, "fan-in", f"at most {limits.input_axons_per_core} input axons per neuron "
                    "(LoihiLimits.input_axons_per_core)", int(fan_in.max()),
                )
            )  # fmt: skip
    # second pass: output axons (one per source neuron and target core)
    pops: list[PopulationResources] = []
    for p in net.populations:
        out_axons = 0
        for c in net.connections:
            if c.source == p.name:
                out_axons += by_name[c.name].active_sources * pre[c.target]["cores"]
        cores = max(pre[p.name]["cores"], math.ceil(out_axons / limits.output_axons_per_core))
        pops.append(
            PopulationResources(
                name=p.name,
                neurons=p.n,
                synapses_in=pre[p.name]["syn_in"],
                synapse_bits_in=pre[p.name]["bits_in"],
                input_axons=pre[p.name]["in_axons"],
                output_axons=out_axons,
                max_fan_in=pre[p.name]["fan_in"],
                max_fan_out=pre[p.name]["fan_out"],
                cores=cores,
            )
        )
    neurons = sum(p.n for p in net.populations)
    synapses = sum(r.synapses for r in conn_res)
    cores = sum(p.cores for p in pops)
    if neurons > limits.neurons_per_chip:
        violations.append(
            ParameterError("network", "neurons", f"at most {limits.neurons_per_chip} per chip (LoihiLimits.neurons_per_chip)", neurons)
        )  # fmt: skip
    if synapses > limits.synapses_per_chip:
        violations.append(
            ParameterError("network", "synapses", f"at most {limits.synapses_per_chip} per chip (LoihiLimits.synapses_per_chip)", synapses)
        )  # fmt: skip
    if cores > limits.cores_per_chip:
        biggest = max(pops, key=lambda r: r.cores)
        violations.append(
            ParameterError(
                "network", "estimated cores", f"at most {limits.cores_per_chip} per chip (LoihiLimits.cores_per_chip)",
                cores, hint=f"largest: population {biggest.name!r} needs {biggest.cores} cores",
            )
        )  # fmt: skip
    return ResourceReport(
        limits=limits,
        populations=tuple(pops),
        connections=tuple(conn_res),
        neurons=neurons,
        synapses=synapses,
        cores=cores,
        max_delay=max((r.max_delay for r in conn_res), default=0),
        violations=tuple(violations),
    )


def check_resources(net: LoihiNetwork, *, limits: LoihiLimits | None = None) -> ResourceReport:
    """Like :func:`resource_report`, but raise the first violation as a ParameterError
    (naming the population/connection, the limit and the value)."""
    report = resource_report(net, limits=limits)
    if report.violations:
        first = report.violations[0]
        more = len(report.violations) - 1
        # keep the first violation's own hint (e.g. the largest population)
        base = f"{first.where}: {first.field} must be {first.expected}, got {first.found!r}"
        hints = [str(first)[len(base) + 2 :]] if len(str(first)) > len(base) else []
        if more:
            hints.append(f"and {more} more limit(s) exceeded")
        raise ParameterError(
            first.where, first.field, first.expected, first.found, hint="; ".join(hints)
        )
    return report
