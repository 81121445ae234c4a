"""Neuron models: parameter sets only (the description); dynamics live in :mod:`spikesim.dynamics`.

Units are in the names: seconds (``_s``), millivolts (``_mV``), hertz (``_hz``). Synaptic
inputs arrive on two receptors, ``"exc"`` and ``"inh"``, each with its own exponential time
constant. For ``synapse="current"`` a weight is the jump of the synaptic drive in mV
(``dv/dt = (v_rest - v + i_exc - i_inh + i_bias) / tau_mem``); for ``synapse="conductance"``
it is the jump of a conductance relative to the leak (dimensionless;
``dv/dt = (v_rest - v + g_exc (e_exc - v) + g_inh (e_inh - v) + i_bias) / tau_mem``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ._validate import check_choice, check_finite, check_nonnegative, check_positive
from .errors import ConfigError, ParameterError
from .values import Value, check_value, value_from_json, value_to_json

__all__ = [
    "NeuronModel",
    "LIF",
    "AdLIF",
    "CubaLIF",
    "Izhikevich",
    "RateUnit",
    "MODELS",
    "model_from_dict",
]


@dataclasses.dataclass(frozen=True)
class NeuronModel:
    """Base class: subclasses are frozen dataclasses with a ``kind`` name."""

    kind: ClassVar[str] = ""
    #: parameters that may be per-neuron arrays or distributions (the rest are scalars)
    value_fields: ClassVar[tuple[str, ...]] = ()
    #: fields that are time constants (checked against dt)
    time_constants: ClassVar[tuple[str, ...]] = ()
    #: scalar fields that may be zero (e.g. a refractory period)
    nonnegative_fields: ClassVar[tuple[str, ...]] = ()
    #: the largest dt as a fraction of the smallest time constant
    max_dt_fraction: ClassVar[float] = 1.0

    def validate(self, where: str) -> None:
        """Raise a ParameterError naming ``where`` and the field for a value out of range:
        time constants > 0, ``nonnegative_fields`` >= 0, the rest finite numbers (value
        fields may also be arrays or distributions)."""
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None or isinstance(v, str) and isinstance(f.default, str):
                continue  # unset optional value, or a choice field checked by the subclass
            if f.name in self.value_fields:
                check_value(where, f.name, v)
            elif f.name in self.nonnegative_fields:
                check_nonnegative(where, f.name, v)
            elif f.name in self.time_constants:
                check_positive(where, f.name, v)
            else:
                check_finite(where, f.name, v)

    def check_dt(self, where: str, dt_s: float) -> None:
        """Refuse a dt the dynamics cannot resolve (naming the time constant)."""
        for name in self.time_constants:
            tau = getattr(self, name)
            if tau is None:
                continue
            limit = tau * self.max_dt_fraction
            if dt_s > limit * (1 + 1e-9):
                raise ParameterError(
                    where,
                    "dt_s",
                    f"<= {limit:g} s ({self.max_dt_fraction:g} x {name} = {tau:g} s)",
                    dt_s,
                    hint=f"Use a smaller dt_s or a larger {name}.",
                )

    def default_value(self, field: str) -> Value:
        """The value used for a value field left as None (initial states)."""
        raise ParameterError(self.kind, field, "a value", None)

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON/TOML-ready table: ``kind`` and every field that is set."""
        d: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            d[f.name] = value_to_json(v) if f.name in self.value_fields else v
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str) -> NeuronModel:
        """The model of :meth:`to_dict`'s table; an unknown field is a ConfigError, a bad value
        a ParameterError, both naming ``where``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"kind"})
        if unknown:
            raise ConfigError(
                where,
                unknown[0],
                f"unknown parameter of neuron model {cls.kind!r}; "
                f"known: {', '.join(sorted(names))}",
            )
        kwargs = {}
        for k, v in d.items():
            if k == "kind":
                continue
            kwargs[k] = value_from_json(v, where=where, field=k) if k in cls.value_fields else v
        model = cls(**kwargs)
        model.validate(where)
        return model


@dataclasses.dataclass(frozen=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire with exponential synapses (current- or conductance-based).

    Integrated exactly: for current synapses the (v, i_exc, i_inh) linear system has a closed
    form over a step; for conductance synapses the conductances are held over the step and v
    is integrated exactly (exponential Euler, as Brian2's ``exponential_euler``). During the
    refractory period ``t_ref_s`` the membrane is clamped at ``v_reset_mV``.

    Parameters
    ----------
    tau_mem_s : float
        Membrane time constant in seconds (> 0; default 20 ms).
    v_rest_mV : float
        Resting (leak reversal) potential in mV (default -65).
    v_reset_mV : float
        Potential after a spike in mV (default -65).
    v_th_mV : float
        Spike threshold in mV (> ``v_reset_mV``; default -50).
    t_ref_s : float
        Refractory period in seconds (>= 0, rounded to whole steps; default 0).
    tau_syn_exc_s, tau_syn_inh_s : float
        Time constants of the excitatory and inhibitory synapses in seconds (> 0; default
        5 ms and 10 ms).
    synapse : str
        ``"current"`` (default: a weight is a jump of the synaptic drive in mV) or
        ``"conductance"`` (a weight is a jump of the conductance relative to the leak).
    e_exc_mV, e_inh_mV : float
        Reversal potentials of conductance synapses in mV (default 0 and -80; unused for
        current synapses).
    i_bias_mV : float, array or distribution
        Constant drive in mV added to the membrane input: it moves the steady-state
        potential by that much (default 0).
    v_init_mV : float, array or distribution, optional
        Initial membrane potential in mV; default ``v_rest_mV``.
    tau_rate_s : float, optional
        Rate mode only: time constant in seconds with which the rate follows the
        stationary rate of its input; default ``tau_mem_s``.
    """

    kind: ClassVar[str] = "lif"
    value_fields: ClassVar[tuple[str, ...]] = ("i_bias_mV", "v_init_mV")
    time_constants: ClassVar[tuple[str, ...]] = (
        "tau_mem_s",
        "tau_syn_exc_s",
        "tau_syn_inh_s",
        "tau_rate_s",
    )
    nonnegative_fields: ClassVar[tuple[str, ...]] = ("t_ref_s",)

    tau_mem_s: float = 20e-3
    v_rest_mV: float = -65.0
    v_reset_mV: float = -65.0
    v_th_mV: float = -50.0
    t_ref_s: float = 0.0
    tau_syn_exc_s: float = 5e-3
    tau_syn_inh_s: float = 10e-3
    synapse: str = "current"
    e_exc_mV: float = 0.0
    e_inh_mV: float = -80.0
    i_bias_mV: Value = 0.0
    v_init_mV: Value | None = None
    tau_rate_s: float | None = None

    def default_value(self, field: str) -> Value:
        return self.v_rest_mV

    def validate(self, where: str) -> None:
        super().validate(where)
        check_choice(where, "synapse", self.synapse, ("current", "conductance"))
        if self.v_th_mV <= self.v_reset_mV:
            raise ParameterError(
                where, "v_th_mV", f"> v_reset_mV ({self.v_reset_mV})", self.v_th_mV
            )


@dataclasses.dataclass(frozen=True)
class AdLIF(LIF):
    """Adaptive LIF: an adaptation drive ``w`` (mV) subtracted from the membrane input.

    ``dw/dt = (a (v - v_rest) - w) / tau_adapt``; each spike adds ``b_mV`` to ``w``. The
    parameters are :class:`LIF`'s and these:

    Parameters
    ----------
    tau_adapt_s : float
        Adaptation time constant in seconds (> 0; default 100 ms).
    a : float
        Subthreshold adaptation: ``w`` relaxes to ``a (v - v_rest)``, dimensionless (mV of
        ``w`` per mV of depolarisation; default 0).
    b_mV : float
        Spike-triggered jump of ``w`` in mV (default 1).
    """

    kind: ClassVar[str] = "adlif"
    time_constants: ClassVar[tuple[str, ...]] = LIF.time_constants + ("tau_adapt_s",)

    tau_adapt_s: float = 100e-3
    a: float = 0.0
    b_mV: float = 1.0


@dataclasses.dataclass(frozen=True)
class CubaLIF(NeuronModel):
    """Current-based two-state LIF in discrete time (Loihi's CUBA form, dimensionless).

    Each step: ``u = u * exp(-dt/tau_syn) + input``; ``v = v * exp(-dt/tau_mem) + u + bias``;
    spike if ``v > v_th``; then ``v = 0``. Weights add to ``u`` directly (inhibitory
    projections subtract). This is Lava's floating-point LIF with ``du = 1 - exp(-dt/tau_syn)``
    and ``dv = 1 - exp(-dt/tau_mem)``.

    Parameters
    ----------
    tau_syn_s : float
        Synaptic (``u``) time constant in seconds (> 0; default 5 ms).
    tau_mem_s : float
        Membrane (``v``) time constant in seconds (> 0; default 20 ms).
    v_th : float
        Threshold, dimensionless (the units of the weights; > 0; default 1).
    bias : float, array or distribution
        Added to ``v`` every step, in the units of ``v`` (default 0).
    v_init : float, array or distribution, optional
        Initial ``v``; default 0.
    tau_rate_s : float, optional
        Rate mode only: time constant in seconds with which the rate follows the
        stationary rate of its input; default ``tau_mem_s``.
    """

    kind: ClassVar[str] = "cuba_lif"
    value_fields: ClassVar[tuple[str, ...]] = ("bias", "v_init")
    time_constants: ClassVar[tuple[str, ...]] = ("tau_syn_s", "tau_mem_s", "tau_rate_s")

    tau_syn_s: float = 5e-3
    tau_mem_s: float = 20e-3
    v_th: float = 1.0
    bias: Value = 0.0
    v_init: Value | None = None
    tau_rate_s: float | None = None

    def default_value(self, field: str) -> Value:
        return 0.0

    def validate(self, where: str) -> None:
        super().validate(where)
        check_positive(where, "v_th", self.v_th)


@dataclasses.dataclass(frozen=True)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) neuron; ``a``, ``b``, ``c``, ``d`` in the paper's units (mV, ms).

    ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)`` with t in ms; spike at
    ``v >= v_peak_mV``: ``v = c``, ``u += d``. Synaptic input (mV/ms units of I) arrives through
    exponential current synapses. Integrated with two half-steps for v as in the paper.
    ``v`` is in mV; ``u``, ``I``, the synaptic currents, the weights and currents of
    :meth:`Network.add_current` are in mV/ms (the paper's units of ``dv/dt``).

    Parameters
    ----------
    a : float, array or distribution
        Recovery rate of ``u`` in 1/ms (default 0.02).
    b : float, array or distribution
        Sensitivity of ``u`` to ``v`` in 1/ms (default 0.2).
    c : float, array or distribution
        Reset potential after a spike in mV (default -65).
    d : float, array or distribution
        Jump of ``u`` after a spike in mV/ms (default 8).
    v_peak_mV : float
        Spike cutoff in mV (default 30).
    i_bias : float, array or distribution
        Constant input current ``I`` in mV/ms (the paper's units: ``I = 10`` makes the
        default regular-spiking neuron fire tonically; default 0).
    tau_syn_exc_s, tau_syn_inh_s : float
        Time constants of the excitatory and inhibitory current synapses in seconds (> 0;
        default 5 ms and 10 ms).
    v_init_mV : float, array or distribution, optional
        Initial membrane potential in mV (``u`` starts at ``b * v``); default -65.
    tau_rate_s : float, optional
        Rate mode only: time constant in seconds with which the rate follows the f-I curve
        of its input; default ``tau_syn_exc_s``.
    """

    kind: ClassVar[str] = "izhikevich"
    value_fields: ClassVar[tuple[str, ...]] = ("a", "b", "c", "d", "i_bias", "v_init_mV")
    time_constants: ClassVar[tuple[str, ...]] = ("tau_syn_exc_s", "tau_syn_inh_s", "tau_rate_s")
    max_dt_fraction: ClassVar[float] = 1.0

    a: Value = 0.02
    b: Value = 0.2
    c: Value = -65.0
    d: Value = 8.0
    v_peak_mV: float = 30.0
    i_bias: Value = 0.0
    tau_syn_exc_s: float = 5e-3
    tau_syn_inh_s: float = 10e-3
    v_init_mV: Value | None = None
    tau_rate_s: float | None = None

    def default_value(self, field: str) -> Value:
        return -65.0

    def check_dt(self, where: str, dt_s: float) -> None:
        super().check_dt(where, dt_s)
        if dt_s > 1e-3:
            raise ParameterError(
                where,
                "dt_s",
                "<= 0.001 s (Izhikevich's equations are stiff)",
                dt_s,
                hint="Use dt_s of 0.5 ms or less.",
            )


@dataclasses.dataclass(frozen=True)
class RateUnit(NeuronModel):
    """A firing-rate unit: ``tau_s dr/dt = -r + f(drive)`` with r in Hz.

    ``drive`` (mV) is built exactly as a LIF's mean input (``sum w * r_pre * tau_syn``).
    ``f`` is ``"relu"``: ``gain_hz_per_mV * max(drive - threshold_mV, 0)``, ``"linear"``,
    ``"sigmoid"``: ``max_rate_hz * sigmoid(gain * (drive - threshold))`` or ``"tanh"``.
    In spiking mode the unit emits Poisson spikes at its rate.

    ``tau_s=0`` makes the unit a discrete-time map, ``r[k] = f(drive[k])``; a synaptic time
    constant of ``0`` removes that receptor's filter, so what arrives at a step drives that
    step only (spikes: ``drive = sum w``; rates: ``drive = dt_s * sum w r_pre``). With both, a
    linear ring of units is exactly ``r[k] = dt_s * gain * W r[k-1] + input``.

    Parameters
    ----------
    tau_s : float
        Time constant of the rate in seconds (>= 0; 0: a discrete-time map; default 10 ms).
    transfer : str
        ``"relu"`` (default), ``"linear"``, ``"sigmoid"`` or ``"tanh"``.
    gain_hz_per_mV : float
        Slope of ``f`` in Hz per mV of drive (default 1).
    threshold_mV : float
        Drive in mV subtracted before ``f`` (default 0).
    max_rate_hz : float
        Saturation rate in Hz of ``"sigmoid"`` and ``"tanh"`` (default 100).
    tau_syn_exc_s, tau_syn_inh_s : float
        Synaptic time constants in seconds (>= 0; 0: no filter; default 5 ms).
    """

    kind: ClassVar[str] = "rate"
    time_constants: ClassVar[tuple[str, ...]] = ("tau_s", "tau_syn_exc_s", "tau_syn_inh_s")
    #: 0 means "no filter" (discrete-time unit / delta synapse), so zero is allowed
    nonnegative_fields: ClassVar[tuple[str, ...]] = ("tau_s", "tau_syn_exc_s", "tau_syn_inh_s")

    tau_s: float = 10e-3
    transfer: str = "relu"
    gain_hz_per_mV: float = 1.0
    threshold_mV: float = 0.0
    max_rate_hz: float = 100.0
    tau_syn_exc_s: float = 5e-3
    tau_syn_inh_s: float = 5e-3

    def validate(self, where: str) -> None:
        super().validate(where)
        check_choice(where, "transfer", self.transfer, ("relu", "linear", "sigmoid", "tanh"))

    def check_dt(self, where: str, dt_s: float) -> None:
        for name in self.time_constants:  # a zero time constant (no filter) fits every dt
            tau = getattr(self, name)
            if tau and dt_s > tau * self.max_dt_fraction * (1 + 1e-9):
                raise ParameterError(
                    where,
                    "dt_s",
                    f"<= {tau:g} s ({name}) or {name} = 0 (no filter)",
                    dt_s,
                    hint=f"Use a smaller dt_s, a larger {name}, or {name} = 0.",
                )


MODELS: dict[str, type[NeuronModel]] = {
    m.kind: m for m in (LIF, AdLIF, CubaLIF, Izhikevich, RateUnit)
}


def model_from_dict(d: dict[str, Any], *, where: str) -> NeuronModel:
    """The neuron model of a table with a ``kind`` (one of :data:`MODELS`)."""
    kind = d.get("kind")
    if kind not in MODELS:
        raise ParameterError(where, "model.kind", f"one of {', '.join(sorted(MODELS))}", kind)
    return MODELS[kind].from_dict(d, where=where)
