"""The network description: populations, projections, inputs and monitors.

A :class:`Network` says *what* is simulated, never *how*: the torch engine
(:mod:`spikesim.engine`), the Brian2 reference (:mod:`spikesim.reference.brian2`) and the
hardware backends all consume the same description. It round-trips through a plain dict,
a TOML file and HDF5 (arrays such as weights stored as datasets).

Example::

    net = Network(dt_s=1e-4)
    net.add_population("exc", 800, LIF(tau_mem_s=20e-3))
    net.add_poisson("noise", 200, rate_hz=20.0)
    net.add_projection("noise_exc", "noise", "exc", FixedFanIn(k=50, weight=0.5))
    net.monitor_spikes("exc")
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import (
    check_choice,
    check_index_array,
    check_int,
    check_name,
    check_nonnegative,
    check_positive,
)
from .connectivity import Connectivity, DistanceDependent, connectivity_from_dict
from .errors import ConfigError, ParameterError, ShapeError, SpikesimError
from .neurons import NeuronModel, model_from_dict
from .values import Value, check_value, draw, value_from_json, value_to_json

__all__ = [
    "Ring",
    "Sheet",
    "PoissonSource",
    "SpikeTimesSource",
    "SpikeTensorSource",
    "Population",
    "Projection",
    "CurrentInput",
    "SpikeMonitor",
    "StateMonitor",
    "RateMonitor",
    "Network",
]

FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------- layouts


@dataclasses.dataclass(frozen=True)
class Ring:
    """Neurons evenly spaced on a circle of the given circumference."""

    circumference_m: float = 1.0

    def validate(self, where: str, shape: tuple[int, ...]) -> None:
        """Raise a ParameterError (naming ``where``) unless the circumference is > 0."""
        check_positive(where, "layout.circumference_m", self.circumference_m)


@dataclasses.dataclass(frozen=True)
class Sheet:
    """Neurons on a rows x cols grid with the given spacing (optionally a torus)."""

    rows: int
    cols: int
    spacing_m: float = 1e-3
    periodic: bool = False

    def validate(self, where: str, shape: tuple[int, ...]) -> None:
        """Raise a ParameterError for a bad rows, cols or spacing_m and a ShapeError unless
        ``rows * cols`` is the number of neurons of ``shape``."""
        check_int(where, "layout.rows", self.rows, minimum=1)
        check_int(where, "layout.cols", self.cols, minimum=1)
        check_positive(where, "layout.spacing_m", self.spacing_m)
        if self.rows * self.cols != int(np.prod(shape)):
            raise ShapeError(
                where, "layout rows x cols", (int(np.prod(shape)),), (self.rows * self.cols,)
            )


_LAYOUTS = {"ring": Ring, "sheet": Sheet}


# ---------------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True)
class PoissonSource:
    """Independent Poisson spike trains at ``rate_hz`` (scalar, per neuron or a distribution)."""

    kind = "poisson"
    rate_hz: Value = 10.0

    def validate(self, where: str) -> None:
        """Raise a ParameterError (naming ``where``) for a non-finite or negative rate."""
        check_value(where, "rate_hz", self.rate_hz)
        if isinstance(self.rate_hz, (int, float)) and self.rate_hz < 0:
            raise ParameterError(where, "rate_hz", ">= 0", self.rate_hz)
        if isinstance(self.rate_hz, np.ndarray) and (self.rate_hz < 0).any():
            raise ParameterError(where, "rate_hz", ">= 0 everywhere", float(self.rate_hz.min()))


@dataclasses.dataclass(frozen=True)
class SpikeTimesSource:
    """Given spikes: neuron ``indices`` fire at ``times_s``."""

    kind = "spike_times"
    indices: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    times_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def validate(self, where: str) -> None:
        """Raise for arrays that are not 1-D or differ in length (ShapeError) and for times
        that are not finite numbers >= 0 (ParameterError); indices are checked against the
        population size by :meth:`Network.add_population`."""
        idx, t = np.asarray(self.indices), np.asarray(self.times_s)
        for field, arr in (("indices", idx), ("times_s", t)):
            if arr.ndim != 1:
                raise ParameterError(
                    where, field, "a 1-D sequence", f"an array of shape {arr.shape}"
                )
        if idx.shape != t.shape:
            raise ShapeError(where, "times_s", idx.shape, t.shape)
        if t.size and t.dtype.kind not in "fiu":
            raise ParameterError(where, "times_s", "numbers (seconds)", t[0].item())
        if t.size:
            bad = ~np.isfinite(t) | (t < 0)
            if bad.any():
                raise ParameterError(where, "times_s", "finite times >= 0", float(t[bad][0]))


SPIKE_TENSOR_VALUES = ("real", "count", "binary")


@dataclasses.dataclass(frozen=True)
class SpikeTensorSource:
    """Activity supplied at run time as a tensor [steps, batch, size] (e.g. from a DVS sensor).

    Each entry is multiplied by the weights of the synapses it drives, so graded entries are
    meaningful and used: event counts per step, rates or probabilities per step, a real-valued
    signal driving a rate network. ``values`` says which entries the source takes, and every
    run checks its input against it (a typed error naming the input, the value and its step,
    batch and neuron): ``"real"`` (default, what earlier versions took): any finite number;
    ``"count"``: integers >= 0 (events per step); ``"binary"``: spikes, 0 or 1.
    """

    kind = "spike_tensor"
    values: str = "real"

    def validate(self, where: str) -> None:
        """Raise a ParameterError unless ``values`` is "real", "count" or "binary"."""
        check_choice(where, "values", self.values, SPIKE_TENSOR_VALUES)


_SOURCES = {
    "poisson": PoissonSource,
    "spike_times": SpikeTimesSource,
    "spike_tensor": SpikeTensorSource,
}
Source = PoissonSource | SpikeTimesSource | SpikeTensorSource


# ------------------------------------------------------------------------------ description


@dataclasses.dataclass(frozen=True)
class Population:
    """``size`` neurons of one model (or an input source), with an optional shape and layout."""

    name: str
    size: int
    model: NeuronModel | Source
    shape: tuple[int, ...] | None = None
    layout: Ring | Sheet | None = None

    @property
    def is_source(self) -> bool:
        """True for an input source (Poisson, spike times, spike tensor), False for neurons."""
        return isinstance(self.model, (PoissonSource, SpikeTimesSource, SpikeTensorSource))

    @property
    def dims(self) -> tuple[int, ...]:
        """The population's shape: ``shape`` if given, else ``(size,)``."""
        return self.shape if self.shape is not None else (self.size,)


@dataclasses.dataclass(frozen=True)
class Projection:
    """Synapses from ``pre`` to ``post`` on the ``receptor`` (``"exc"`` or ``"inh"``).

    ``delay_steps`` is an integer transmission delay (in steps of the network's dt) added to
    any per-synapse delay the connectivity rule draws. ``trainable`` marks weights that the
    training path turns into parameters.
    """

    name: str
    pre: str
    post: str
    connectivity: Connectivity
    receptor: str = "exc"
    delay_steps: int = 0
    trainable: bool = False


@dataclasses.dataclass(frozen=True)
class CurrentInput:
    """A constant drive (mV) into ``target`` between ``start_s`` and ``stop_s`` (a step)."""

    name: str
    target: str
    amplitude_mV: Value
    start_s: float = 0.0
    stop_s: float | None = None


@dataclasses.dataclass(frozen=True)
class SpikeMonitor:
    """Records the spikes of ``indices`` (None: all neurons) of population ``target``."""

    name: str
    target: str
    indices: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class StateMonitor:
    """Records state ``variables`` of ``indices`` every ``every_steps`` steps."""

    name: str
    target: str
    variables: tuple[str, ...]
    indices: tuple[int, ...] | None = None
    every_steps: int = 1


@dataclasses.dataclass(frozen=True)
class RateMonitor:
    """Population rate (Hz) in bins of ``bin_s``."""

    name: str
    target: str
    bin_s: float = 1e-3


Monitor = SpikeMonitor | StateMonitor | RateMonitor
_MONITORS = {"spikes": SpikeMonitor, "state": StateMonitor, "rate": RateMonitor}
_MONITOR_KIND = {SpikeMonitor: "spikes", StateMonitor: "state", RateMonitor: "rate"}


class Network:
    """A network description (mutable builder of frozen parts)."""

    def __init__(self, *, dt_s: float = 1e-4, name: str = "network") -> None:
        self.dt_s = check_positive("network", "dt_s", dt_s)
        if not isinstance(name, str) or not name:
            raise ParameterError("network", "name", "a non-empty string", name)
        self.name = name
        self.populations: dict[str, Population] = {}
        self.projections: dict[str, Projection] = {}
        self.currents: dict[str, CurrentInput] = {}
        self.monitors: dict[str, Monitor] = {}

    # ----------------------------------------------------------------------- building
    def _check_new(self, kind: str, name: str) -> None:
        check_name(kind, "name", name)
        taken = (
            set(self.populations) | set(self.projections) | set(self.currents) | set(self.monitors)
        )
        if name in taken:
            raise ParameterError(
                f"{kind} {name!r}", "name", "a name not used yet in this network", name
            )

    def _pop(self, where: str, field: str, name: str) -> Population:
        if name not in self.populations:
            known = ", ".join(sorted(self.populations)) or "none"
            raise ParameterError(where, field, f"the name of a population (known: {known})", name)
        return self.populations[name]

    def add_population(
        self,
        name: str,
        size: int,
        model: NeuronModel | Source,
        *,
        shape: tuple[int, ...] | None = None,
        layout: Ring | Sheet | None = None,
    ) -> Population:
        """Add ``size`` neurons of one model (or an input source) as a population.

        Parameters
        ----------
        name : str
            Unique name in this network (letters, digits and ``_``).
        size : int
            Number of neurons (>= 1).
        model : NeuronModel or source
            A neuron model (:class:`~spikesim.LIF`, :class:`~spikesim.AdLIF`,
            :class:`~spikesim.CubaLIF`, :class:`~spikesim.Izhikevich`,
            :class:`~spikesim.RateUnit`) or an input source (:class:`PoissonSource`,
            :class:`SpikeTimesSource`, :class:`SpikeTensorSource`; :meth:`add_poisson`,
            :meth:`add_spike_times` and :meth:`add_spike_tensor` build those). Per-neuron
            values given as lists or arrays must have ``size`` entries.
        shape : tuple of int, optional
            Shape of the population (e.g. ``(channels, height, width)`` for ``Conv2d``
            projections); its product must equal ``size``. Default: ``(size,)``.
        layout : Ring or Sheet, optional
            Positions in space (metres) for :class:`~spikesim.DistanceDependent`
            connectivity; a ``Sheet`` must have ``rows * cols == size``.

        Returns
        -------
        Population
            The frozen population record (also in ``self.populations[name]``).

        Raises
        ------
        ParameterError
            A name already used or not a valid name, a bad size or shape, a model that is
            neither a neuron model nor a source, a model parameter out of range, or a
            ``dt_s`` too coarse for the model's time constants.
        ShapeError
            ``shape`` or a per-neuron array (or a ``Sheet``) that does not match ``size``.
        """
        self._check_new("population", name)
        where = f"population {name!r}"
        size = check_int(where, "size", size, minimum=1)
        if shape is not None:
            if not isinstance(shape, (tuple, list, np.ndarray)):
                raise ParameterError(where, "shape", "a tuple of positive integers", shape)
            shape = tuple(check_int(where, "shape", s, minimum=1) for s in shape)
            if int(np.prod(shape)) != size:
                raise ShapeError(where, "shape (product must equal size)", (size,), shape)
        if isinstance(model, NeuronModel):
            model.validate(where)
            model.check_dt(where, self.dt_s)
            fields = model.value_fields
            model = _lists_to_arrays(model, fields)
            for f in fields:
                v = getattr(model, f)
                if isinstance(v, np.ndarray) and v.shape not in ((), (size,)):
                    raise ShapeError(where, f, (size,), v.shape)
        elif isinstance(model, (PoissonSource, SpikeTimesSource, SpikeTensorSource)):
            model.validate(where)
            if isinstance(model, PoissonSource):
                model = _lists_to_arrays(model, ("rate_hz",))
            if isinstance(model, PoissonSource) and isinstance(model.rate_hz, np.ndarray):
                if model.rate_hz.shape not in ((), (size,)):
                    raise ShapeError(where, "rate_hz", (size,), model.rate_hz.shape)
            if isinstance(model, SpikeTimesSource):
                model = SpikeTimesSource(
                    check_index_array(where, "indices", model.indices, size),
                    np.asarray(model.times_s, dtype=np.float64),
                )
        else:
            raise ParameterError(
                where, "model", "a neuron model (LIF, CubaLIF, ...) or an input source", model
            )
        if layout is not None:
            if not isinstance(layout, (Ring, Sheet)):
                raise ParameterError(where, "layout", "a Ring or Sheet layout", layout)
            layout.validate(where, shape or (size,))
        pop = Population(name=name, size=size, model=model, shape=shape, layout=layout)
        self.populations[name] = pop
        return pop

    def add_poisson(self, name: str, size: int, *, rate_hz: Value, **kw: Any) -> Population:
        """Add ``size`` independent Poisson spike trains (an input source).

        Parameters
        ----------
        name : str
            Unique name in this network.
        size : int
            Number of spike trains (>= 1).
        rate_hz : float, array or distribution
            Rate in Hz (>= 0): one number for all, ``size`` values, or a distribution
            (:class:`~spikesim.Uniform`, ...) drawn per train with the run's seed.
        **kw
            ``shape`` and ``layout``, as for :meth:`add_population`.

        Returns
        -------
        Population
            The new source population.

        Raises
        ------
        ParameterError
            A name already used, a bad size or a negative or non-finite rate.
        ShapeError
            A rate array whose length is not ``size``.
        """
        return self.add_population(name, size, PoissonSource(rate_hz=rate_hz), **kw)

    def add_spike_times(self, name: str, size: int, *, indices: Any, times_s: Any) -> Population:
        """Add a source whose neurons fire at given times: neuron ``indices[i]`` at ``times_s[i]``.

        A spike at time t is delivered at step ``floor(t / dt_s)`` (to within 1e-3 dt).

        Parameters
        ----------
        name : str
            Unique name in this network.
        size : int
            Number of neurons of the source (>= 1).
        indices : sequence of int
            Neuron of each spike, in ``[0, size)``.
        times_s : sequence of float
            Time of each spike in seconds (finite, >= 0), as long as ``indices``.

        Returns
        -------
        Population
            The new source population.

        Raises
        ------
        ParameterError
            A name already used, an index out of range or not an integer, a time that is
            negative, NaN or infinite, or arrays that are not 1-D.
        ShapeError
            ``indices`` and ``times_s`` of different lengths.
        """
        src = SpikeTimesSource(np.asarray(indices), np.asarray(times_s))
        return self.add_population(name, size, src)

    def add_spike_tensor(
        self,
        name: str,
        size: int,
        *,
        shape: tuple[int, ...] | None = None,
        values: str = "real",
    ) -> Population:
        """Add a source whose activity each run supplies as a tensor [steps, batch, size].

        Parameters
        ----------
        name : str
            Unique name in this network.
        size : int
            Number of neurons of the source (>= 1).
        shape : tuple of int, optional
            Shape of the source (e.g. ``(2, height, width)`` for DVS polarities); its
            product must equal ``size``. A run's tensor may then be [steps, batch, *shape].
        values : str
            ``"binary"`` (spikes, 0 or 1), ``"count"`` (integers >= 0, e.g. events binned per
            step) or ``"real"`` (default: any finite number, a graded drive); each run's
            input is checked against it (see :class:`SpikeTensorSource`).

        Returns
        -------
        Population
            The new source population (``Simulator.run(..., inputs={name: tensor})``).

        Raises
        ------
        ParameterError
            A name already used, a bad size or an unknown ``values``.
        ShapeError
            A ``shape`` whose product is not ``size``.
        """
        return self.add_population(name, size, SpikeTensorSource(values=values), shape=shape)

    def add_projection(
        self,
        name: str,
        pre: str,
        post: str,
        connectivity: Connectivity,
        *,
        receptor: str = "exc",
        delay_steps: int = 0,
        trainable: bool = False,
    ) -> Projection:
        """Connect population ``pre`` to population ``post`` by a connectivity rule.

        Parameters
        ----------
        name : str
            Unique name in this network.
        pre : str
            Name of the presynaptic population (a neuron population or a source).
        post : str
            Name of the postsynaptic neuron population (not a source).
        connectivity : Connectivity
            The rule and its weights: :class:`~spikesim.Dense`, :class:`~spikesim.Sparse`,
            :class:`~spikesim.FixedFanIn`, :class:`~spikesim.OneToOne`,
            :class:`~spikesim.Conv2d`, :class:`~spikesim.Circulant`,
            :class:`~spikesim.DistanceDependent` or :class:`~spikesim.Explicit`. Weights are
            in the units of the post model's synaptic drive: mV for current-based ``LIF``
            and ``AdLIF``, a conductance relative to the leak (>= 0) for conductance-based
            ones, model units for ``CubaLIF``, mV/ms for ``Izhikevich``, mV for
            ``RateUnit`` drive.
        receptor : str
            ``"exc"`` (default) or ``"inh"``; inhibitory weights are subtracted.
        delay_steps : int
            Transmission delay in steps of ``dt_s`` (>= 0), added to any per-synapse delay the
            rule draws (``DistanceDependent``).
        trainable : bool
            Whether the training path makes the weights torch parameters.

        Returns
        -------
        Projection
            The frozen projection record (also in ``self.projections[name]``).

        Raises
        ------
        ParameterError
            A name already used, an unknown ``pre`` or ``post``, a source as ``post``, a bad
            receptor, delay or ``trainable``, a rule's parameter out of range, negative
            weights onto conductance synapses, or ``DistanceDependent`` between populations
            without a layout.
        ShapeError
            A rule that does not fit the populations' shapes (e.g. ``OneToOne`` between
            sizes that differ, a weight array of the wrong shape).
        """
        self._check_new("projection", name)
        where = f"projection {name!r}"
        p_pre = self._pop(where, "pre", pre)
        p_post = self._pop(where, "post", post)
        if p_post.is_source:
            raise ParameterError(where, "post", "a neuron population (not an input source)", post)
        check_choice(where, "receptor", receptor, ("exc", "inh"))
        delay_steps = check_int(where, "delay_steps", delay_steps, minimum=0)
        if not isinstance(trainable, (bool, np.bool_)):
            raise ParameterError(where, "trainable", "True or False", trainable)
        if not isinstance(connectivity, Connectivity):
            raise ParameterError(
                where, "connectivity", "a connectivity rule (Dense, Sparse, ...)", connectivity
            )
        for f in connectivity.value_fields:  # numeric before lists become arrays
            check_value(where, f, getattr(connectivity, f))
        connectivity = _lists_to_arrays(connectivity, connectivity.value_fields)
        connectivity.validate(where, p_pre.dims, p_post.dims)
        if isinstance(connectivity, DistanceDependent) and None in (p_pre.layout, p_post.layout):
            missing = pre if p_pre.layout is None else post
            raise ParameterError(
                where,
                "connectivity",
                "populations with a spatial layout (Ring or Sheet) for distance-dependent "
                f"connectivity; population {missing!r} has none",
                connectivity,
            )
        model = p_post.model
        if getattr(model, "synapse", "current") == "conductance":
            w = getattr(connectivity, "weight", None)
            if isinstance(w, (int, float)) and w < 0 or isinstance(w, np.ndarray) and (w < 0).any():
                raise ParameterError(where, "weight", ">= 0 for conductance synapses", w)
        proj = Projection(name, pre, post, connectivity, receptor, delay_steps, bool(trainable))
        self.projections[name] = proj
        return proj

    def add_current(
        self,
        name: str,
        target: str,
        *,
        amplitude_mV: Value,
        start_s: float = 0.0,
        stop_s: float | None = None,
    ) -> CurrentInput:
        """Add a constant drive into a neuron population from ``start_s`` to ``stop_s``.

        Parameters
        ----------
        name : str
            Unique name in this network.
        target : str
            Name of the neuron population driven (not a source).
        amplitude_mV : float, array or distribution
            The drive added to the membrane input every step: mV for ``LIF`` and ``AdLIF``
            (like ``i_bias_mV``), model units for ``CubaLIF`` (like ``bias``), mV/ms for
            ``Izhikevich`` (like ``i_bias``), mV of drive for ``RateUnit``. One number, one
            value per neuron, or a distribution drawn per neuron with the run's seed.
        start_s : float
            Onset in seconds (>= 0; default 0), rounded to the nearest step.
        stop_s : float, optional
            Offset in seconds (> ``start_s``), rounded to the nearest step; default: the end
            of the run.

        Returns
        -------
        CurrentInput
            The frozen current record (also in ``self.currents[name]``).

        Raises
        ------
        ParameterError
            A name already used, an unknown target or a source as target, a non-finite
            amplitude, a negative ``start_s`` or ``stop_s <= start_s``.
        ShapeError
            A per-neuron amplitude array whose length is not the target's size.
        """
        self._check_new("current", name)
        where = f"current {name!r}"
        pop = self._pop(where, "target", target)
        if pop.is_source:
            raise ParameterError(where, "target", "a neuron population", target)
        amplitude_mV = check_value(where, "amplitude_mV", amplitude_mV)
        if not isinstance(amplitude_mV, (int, float, np.ndarray)):
            raise ParameterError(
                where, "amplitude_mV", "a number or an array of one value per neuron", amplitude_mV
            )
        if isinstance(amplitude_mV, np.ndarray) and amplitude_mV.shape != (pop.size,):
            raise ShapeError(where, "amplitude_mV", (pop.size,), amplitude_mV.shape)
        check_nonnegative(where, "start_s", start_s)
        if stop_s is not None and check_nonnegative(where, "stop_s", stop_s) <= start_s:
            raise ParameterError(where, "stop_s", f"> start_s ({start_s})", stop_s)
        cur = CurrentInput(
            name, target, amplitude_mV, float(start_s), None if stop_s is None else float(stop_s)
        )
        self.currents[name] = cur
        return cur

    def _check_indices(self, where: str, pop: Population, indices: Any) -> tuple[int, ...] | None:
        if indices is None:
            return None
        if np.ndim(indices) == 0:  # a single index
            indices = [indices]
        idx = check_index_array(where, "indices", indices, pop.size)
        srt = np.sort(idx)
        twice = srt[1:][srt[1:] == srt[:-1]]
        if twice.size:  # each copy would be recorded
            raise ParameterError(where, "indices", "distinct indices", int(twice[0]))
        return tuple(int(i) for i in idx)

    def monitor_spikes(
        self, target: str, *, name: str | None = None, indices: Any = None
    ) -> SpikeMonitor:
        """Record the spikes of a population (neurons or a source) during runs.

        Parameters
        ----------
        target : str
            Name of the population.
        name : str, optional
            Name of the monitor (the key in ``Result.spikes``); default ``"<target>_spikes"``.
        indices : int or sequence of int, optional
            Distinct neuron indices in ``[0, size)`` to record; default: all neurons.

        Returns
        -------
        SpikeMonitor
            The frozen monitor record.

        Raises
        ------
        ParameterError
            A name already used, an unknown target, or indices out of range, not integers
            or repeated.
        """
        name = f"{target}_spikes" if name is None else name
        self._check_new("monitor", name)
        where = f"monitor {name!r}"
        pop = self._pop(where, "target", target)
        mon = SpikeMonitor(name, target, self._check_indices(where, pop, indices))
        self.monitors[name] = mon
        return mon

    def monitor_state(
        self,
        target: str,
        variables: Any,
        *,
        name: str | None = None,
        indices: Any = None,
        every_steps: int = 1,
    ) -> StateMonitor:
        """Record state variables of a neuron population during runs.

        Parameters
        ----------
        target : str
            Name of the neuron population (sources have no state).
        variables : str or sequence of str
            Distinct state variable names of the model (values in the model's units): ``v``
            (mV), ``i_exc``, ``i_inh`` (mV of drive) for ``LIF``, plus ``w`` (mV) for
            ``AdLIF``; ``u``, ``v`` for ``CubaLIF``; ``v`` (mV), ``u``, ``i_exc``, ``i_inh``
            for ``Izhikevich``; ``r`` (Hz), ``s_exc``, ``s_inh`` for ``RateUnit``; ``r``
            (the rate in Hz) for every model.
        name : str, optional
            Name of the monitor (the key in ``Result.states``); default ``"<target>_state"``.
        indices : int or sequence of int, optional
            Distinct neuron indices in ``[0, size)``; default: all neurons.
        every_steps : int
            Record every this many steps (>= 1; default 1).

        Returns
        -------
        StateMonitor
            The frozen monitor record.

        Raises
        ------
        ParameterError
            A name already used, an unknown target or a source, an unknown or repeated
            variable, bad indices or ``every_steps < 1``.
        """
        name = f"{target}_state" if name is None else name
        self._check_new("monitor", name)
        where = f"monitor {name!r}"
        pop = self._pop(where, "target", target)
        if pop.is_source:
            raise ParameterError(
                where, "target", "a neuron population (sources have no state)", target
            )
        if isinstance(variables, str):
            variables = (variables,)
        expected = "a state variable name or a non-empty list of names"
        try:
            names = tuple(variables)
        except TypeError:
            raise ParameterError(where, "variables", expected, variables) from None
        if not names or not all(isinstance(v, str) for v in names):
            raise ParameterError(where, "variables", expected, variables)
        if len(set(names)) != len(names):
            raise ParameterError(where, "variables", "distinct names", variables)
        variables = names
        from .dynamics import state_variables

        assert isinstance(pop.model, NeuronModel)  # sources were refused above
        known = state_variables(pop.model)
        for v in variables:
            if v not in known:
                raise ParameterError(
                    where,
                    "variables",
                    f"state variables of {pop.model.kind!r}: {', '.join(known)}",
                    v,
                )
        every = check_int(where, "every_steps", every_steps, minimum=1)
        mon = StateMonitor(
            name, target, tuple(variables), self._check_indices(where, pop, indices), every
        )
        self.monitors[name] = mon
        return mon

    def monitor_rate(
        self, target: str, *, name: str | None = None, bin_s: float = 1e-3
    ) -> RateMonitor:
        """Record the population rate (Hz per neuron, per trial) in bins of ``bin_s``.

        In spiking mode a bin holds the spike count divided by the number of neurons and
        ``bin_s``; in rate mode the mean of the neurons' rates over the bin.

        Parameters
        ----------
        target : str
            Name of the population (neurons or a source).
        name : str, optional
            Name of the monitor (the key in ``Result.rates``); default ``"<target>_rate"``.
        bin_s : float
            Bin width in seconds, a whole multiple of ``dt_s`` (default 1 ms).

        Returns
        -------
        RateMonitor
            The frozen monitor record.

        Raises
        ------
        ParameterError
            A name already used, an unknown target, or a ``bin_s`` that is not a positive
            whole multiple of ``dt_s``.
        """
        name = f"{target}_rate" if name is None else name
        self._check_new("monitor", name)
        where = f"monitor {name!r}"
        self._pop(where, "target", target)
        bin_s = check_positive(where, "bin_s", bin_s)
        steps = bin_s / self.dt_s
        if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise ParameterError(where, "bin_s", f"a whole multiple of dt_s ({self.dt_s})", bin_s)
        mon = RateMonitor(name, target, bin_s)
        self.monitors[name] = mon
        return mon

    # ------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain dict of builtins (numbers, strings, lists, dicts): JSON/TOML ready."""
        pops = []
        for p in self.populations.values():
            d: dict[str, Any] = {"name": p.name, "size": p.size}
            if p.shape is not None:
                d["shape"] = list(p.shape)
            if p.layout is not None:
                d["layout"] = {"kind": "ring" if isinstance(p.layout, Ring) else "sheet"}
                d["layout"].update(dataclasses.asdict(p.layout))
            if isinstance(p.model, NeuronModel):
                d["model"] = p.model.to_dict()
            else:
                src: dict[str, Any] = {"kind": p.model.kind}
                if isinstance(p.model, PoissonSource):
                    src["rate_hz"] = value_to_json(p.model.rate_hz)
                elif isinstance(p.model, SpikeTimesSource):
                    src["indices"] = np.asarray(p.model.indices).tolist()
                    src["times_s"] = np.asarray(p.model.times_s).tolist()
                elif p.model.values != "real":  # the default stays unwritten (older files)
                    src["values"] = p.model.values
                d["source"] = src
            pops.append(d)
        projs = []
        for pr in self.projections.values():
            projs.append(
                {
                    "name": pr.name,
                    "pre": pr.pre,
                    "post": pr.post,
                    "receptor": pr.receptor,
                    "delay_steps": pr.delay_steps,
                    "trainable": pr.trainable,
                    "connectivity": pr.connectivity.to_dict(),
                }
            )
        curs = []
        for c in self.currents.values():
            d = {
                "name": c.name,
                "target": c.target,
                "amplitude_mV": value_to_json(c.amplitude_mV),
                "start_s": c.start_s,
            }
            if c.stop_s is not None:
                d["stop_s"] = c.stop_s
            curs.append(d)
        mons = []
        for m in self.monitors.values():
            d = {"kind": _MONITOR_KIND[type(m)]}
            for f in dataclasses.fields(m):
                v = getattr(m, f.name)
                if v is not None:
                    d[f.name] = list(v) if isinstance(v, tuple) else v
            mons.append(d)
        return {
            "format_version": FORMAT_VERSION,
            "network": {"name": self.name, "dt_s": self.dt_s},
            "populations": pops,
            "projections": projs,
            "currents": curs,
            "monitors": mons,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "<dict>") -> Network:
        """Build a network from :meth:`to_dict`'s form, refusing unknown keys."""
        _only(
            source,
            d,
            {"format_version", "network", "populations", "projections", "currents", "monitors"},
            "top level",
        )
        version = d.get("format_version", FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
            raise ConfigError(
                source,
                "format_version",
                f"expected an integer <= {FORMAT_VERSION} (this spikesim's format), "
                f"got {version!r}",
            )
        for key in ("populations", "projections", "currents", "monitors"):
            if not isinstance(d.get(key, []), list):
                raise ConfigError(
                    source,
                    key,
                    f"expected a list of tables ([[{key}]]), got {type(d[key]).__name__}",
                )
        head = d.get("network", {})
        _only(source, head, {"name", "dt_s"}, "[network]")
        net = cls(dt_s=head.get("dt_s", 1e-4), name=head.get("name", "network"))
        for i, p in enumerate(d.get("populations", [])):
            where = f"{source}: populations[{i}]"
            _only(where, p, {"name", "size", "shape", "layout", "model", "source"}, "population")
            for key in ("name", "size"):
                if key not in p:
                    raise ConfigError(where, key, "missing (required)")
            pw = f"population {p['name']!r}"
            if "model" in p and "source" in p or not ("model" in p or "source" in p):
                raise ConfigError(where, "model", "give exactly one of 'model' or 'source'")
            if "model" in p:
                if not isinstance(p["model"], dict):
                    raise ConfigError(where, "model", f"expected a table, got {p['model']!r}")
                model: Any = model_from_dict(p["model"], where=pw)
            else:
                if not isinstance(p["source"], dict):
                    raise ConfigError(where, "source", f"expected a table, got {p['source']!r}")
                s = dict(p["source"])
                kind = s.pop("kind", None)
                if kind not in _SOURCES:
                    raise ParameterError(pw, "source.kind", f"one of {sorted(_SOURCES)}", kind)
                if kind == "poisson":
                    _only(where, s, {"rate_hz"}, "poisson source")
                    model = PoissonSource(
                        value_from_json(s.get("rate_hz", 10.0), where=pw, field="rate_hz")
                    )
                elif kind == "spike_times":
                    _only(where, s, {"indices", "times_s"}, "spike_times source")
                    model = SpikeTimesSource(
                        np.asarray(s.get("indices", [])), np.asarray(s.get("times_s", []))
                    )
                else:
                    _only(where, s, {"values"}, "spike_tensor source")
                    model = SpikeTensorSource(values=s.get("values", "real"))
            layout = None
            if "layout" in p:
                if not isinstance(p["layout"], dict):
                    raise ConfigError(where, "layout", f"expected a table, got {p['layout']!r}")
                lay = dict(p["layout"])
                lk = lay.pop("kind", None)
                if lk not in _LAYOUTS:
                    raise ParameterError(pw, "layout.kind", f"one of {sorted(_LAYOUTS)}", lk)
                try:
                    layout = _LAYOUTS[lk](**lay)
                except TypeError as exc:
                    raise ConfigError(where, "layout", str(exc)) from exc
            shape = p.get("shape")
            net.add_population(p["name"], p["size"], model, shape=shape, layout=layout)
        for i, pr in enumerate(d.get("projections", [])):
            where = f"{source}: projections[{i}]"
            _only(
                where,
                pr,
                {"name", "pre", "post", "receptor", "delay_steps", "trainable", "connectivity"},
                "projection",
            )
            for key in ("name", "pre", "post", "connectivity"):
                if key not in pr:
                    raise ConfigError(where, key, "missing (required)")
            conn = connectivity_from_dict(pr["connectivity"], where=f"projection {pr['name']!r}")
            net.add_projection(
                pr["name"],
                pr["pre"],
                pr["post"],
                conn,
                receptor=pr.get("receptor", "exc"),
                delay_steps=pr.get("delay_steps", 0),
                trainable=pr.get("trainable", False),
            )
        for i, c in enumerate(d.get("currents", [])):
            where = f"{source}: currents[{i}]"
            _only(where, c, {"name", "target", "amplitude_mV", "start_s", "stop_s"}, "current")
            for key in ("name", "target", "amplitude_mV"):
                if key not in c:
                    raise ConfigError(where, key, "missing (required)")
            net.add_current(
                c["name"],
                c["target"],
                amplitude_mV=value_from_json(
                    c["amplitude_mV"], where=f"current {c['name']!r}", field="amplitude_mV"
                ),
                start_s=c.get("start_s", 0.0),
                stop_s=c.get("stop_s"),
            )
        for i, m in enumerate(d.get("monitors", [])):
            where = f"{source}: monitors[{i}]"
            if not isinstance(m, dict):
                raise ConfigError(where, "monitor", f"expected a table, got {type(m).__name__}")
            kind = m.get("kind")
            if kind not in _MONITORS:
                raise ConfigError(
                    where, "kind", f"expected one of {sorted(_MONITORS)}, got {kind!r}"
                )
            fields = {f.name for f in dataclasses.fields(_MONITORS[kind])}
            _only(where, m, fields | {"kind"}, f"{kind} monitor")
            for key in ("target", "variables") if kind == "state" else ("target",):
                if key not in m:
                    raise ConfigError(where, key, "missing (required)")
            if kind == "spikes":
                net.monitor_spikes(m["target"], name=m.get("name"), indices=m.get("indices"))
            elif kind == "state":
                net.monitor_state(
                    m["target"],
                    m["variables"],
                    name=m.get("name"),
                    indices=m.get("indices"),
                    every_steps=m.get("every_steps", 1),
                )
            else:
                net.monitor_rate(m["target"], name=m.get("name"), bin_s=m.get("bin_s", 1e-3))
        return net

    def to_toml(self, path: str | os.PathLike) -> None:
        """Write the description (:meth:`to_dict`) as a TOML file at ``path`` (overwritten).

        Arrays (weights, per-neuron values) are written as TOML lists; for large arrays
        :meth:`to_hdf5` is smaller and faster. A ``[run]`` table may be added by hand for
        ``spikesim run``.
        """
        import tomli_w

        Path(path).write_text(tomli_w.dumps(self.to_dict()))

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Network:
        """Read a network written by :meth:`to_toml` (or by hand in that form).

        A ``[run]`` table beside the description (``spikesim run``'s settings) is ignored.

        Raises
        ------
        ConfigError
            A missing, unreadable or malformed file, unknown or missing keys.
        ParameterError
            An invalid value (naming the population, projection, ... and the field).
        """
        d = read_toml(path)
        if "run" in d:  # a run config may carry a [run] table beside the network
            d = {k: v for k, v in d.items() if k != "run"}
        return cls.from_dict(d, source=str(path))

    def to_hdf5(self, group_or_path: Any, *, name: str = "network") -> None:
        """Store the description in an HDF5 group: JSON text plus large arrays as datasets.

        A path is written in the HDF5 1.10 format; the JSON text is a fixed-length byte
        attribute with its SHA-256 beside it and the arrays carry Fletcher-32 checksums, so
        a damaged file is refused on reading (:mod:`spikesim._hdf5`)."""
        import h5py

        from ._hdf5 import CORE_LIBVER, dataset_options, write_text

        if isinstance(group_or_path, (str, os.PathLike)):
            with h5py.File(group_or_path, "w", libver=CORE_LIBVER) as f:
                self.to_hdf5(f, name=name)
            return
        g = group_or_path.create_group(name)
        arrays: dict[str, np.ndarray] = {}
        text = json.dumps(_extract_arrays(self.to_dict(), arrays, "a"))
        write_text(g, "description_json", text)
        g.attrs["format_version"] = FORMAT_VERSION
        ag = g.create_group("arrays")
        for key, arr in arrays.items():
            ag.create_dataset(key, data=arr, **dataset_options(arr))

    @classmethod
    def from_hdf5(cls, group_or_path: Any, *, name: str = "network") -> Network:
        """The network stored by :meth:`to_hdf5` (also the ``network`` group of a result
        file). A missing, damaged or foreign file raises a spikesim error naming it. A file
        in the format before 2026-11-26 (no checksums; a damaged one can hang libhdf5) is
        read in a worker process (:func:`spikesim._hdf5.load_isolated`), ~0.5 s more."""
        from ._hdf5 import in_worker, is_legacy_format, load_isolated, naming_file

        if isinstance(group_or_path, (str, os.PathLike)):
            filename = os.fspath(group_or_path)
            if is_legacy_format(filename) and not in_worker():
                d, source = load_isolated(
                    "spikesim.network:_description_in_file",
                    filename,
                    {"name": name},
                    what="spikesim network file",
                )
            else:
                d, source = _description_in_file(filename, name=name)
        else:
            filename = str(group_or_path.file.filename)
            d, source = _description_in_group(group_or_path, name)
        try:
            return cls.from_dict(d, source=source)
        except SpikesimError as err:
            raise naming_file(err, filename) from None

    # ------------------------------------------------------------------------- helpers
    def frozen(self, *, seed: int) -> Network:
        """A copy where every random value and connectivity is drawn with ``seed``.

        Per-neuron values become arrays and random connectivity becomes ``Explicit`` synapses,
        drawn in the same order as the torch engine draws them, so the frozen network has
        exactly the synapses and initial values a run of this network with ``seed`` uses.
        Saving it keeps the exact weights; other backends (Brian2, Lava) consume it.
        """
        from ._memory import check_memory, host_memory_bytes
        from .connectivity import Circulant, Conv2d, Explicit, materialize

        # drawn tables live in host memory: refuse what cannot fit before drawing anything
        check_memory(self, batch=1, itemsize=8, host_bytes=host_memory_bytes())
        # the seeds a Simulator takes; None would draw fresh OS entropy (a different network)
        seed = check_int("frozen", "seed", seed, minimum=0)
        if seed >= 1 << 62:
            raise ParameterError("frozen", "seed", "an integer in [0, 2**62)", seed)
        out = Network.from_dict(self.to_dict())
        gen = np.random.default_rng(seed)
        for name, pop in self.populations.items():
            vals = draw_population_values(pop, gen)
            if not vals:
                continue
            if isinstance(pop.model, PoissonSource):
                model: Any = PoissonSource(rate_hz=vals["rate_hz"])
            else:
                model = dataclasses.replace(pop.model, **vals)  # type: ignore[arg-type]
            out.populations[name] = dataclasses.replace(pop, model=model)
        for name, pr in self.projections.items():
            if isinstance(pr.connectivity, (Conv2d, Circulant)):
                continue
            pre, post = self.populations[pr.pre], self.populations[pr.post]
            table = materialize(
                pr.connectivity,
                where=f"projection {name!r}",
                pre_shape=pre.dims,
                post_shape=post.dims,
                generator=gen,
                dt_s=self.dt_s,
                pre_layout=pre.layout,
                post_layout=post.layout,
            )
            conn = Explicit(
                pre=table.pre, post=table.post, weight=table.weight, delay_steps=table.delay_steps
            )
            out.projections[name] = dataclasses.replace(pr, connectivity=conn)
        return out

    def summary(self) -> str:
        """One line per population (size and model) and per projection (rule, receptor)."""
        lines = [f"Network {self.name!r}: dt = {self.dt_s * 1e3:g} ms"]
        for p in self.populations.values():
            kind = p.model.kind
            lines.append(f"  population {p.name}: {p.size} x {kind}")
        for pr in self.projections.values():
            lines.append(
                f"  projection {pr.name}: {pr.pre} -> {pr.post} ({pr.connectivity.kind}, {pr.receptor})"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Network(name={self.name!r}, populations={list(self.populations)}, projections={list(self.projections)})"


def draw_population_values(pop: Population, gen: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-neuron values of a population drawn in a fixed order (the model's value_fields).

    Every backend calls this in population order before drawing connectivity, so one seed
    gives the same network everywhere.
    """
    m = pop.model
    where = f"population {pop.name!r}"
    if isinstance(m, PoissonSource):
        return {"rate_hz": draw(m.rate_hz, (pop.size,), gen, where=where, field="rate_hz")}
    if not isinstance(m, NeuronModel):
        return {}
    out = {}
    for f in m.value_fields:
        v = getattr(m, f)
        if v is None:
            v = m.default_value(f)
        out[f] = draw(v, (pop.size,), gen, where=where, field=f)
    return out


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """The TOML document at ``path``; a missing, unreadable (a folder, binary data) or
    malformed file is a ConfigError naming it."""
    import tomllib

    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(p, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, "<syntax>", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, binary data
        raise ConfigError(p, "-", f"cannot be read as a TOML text file: {exc}") from None


def _lists_to_arrays(obj: Any, fields: tuple[str, ...]) -> Any:
    """``obj`` with list/tuple values of ``fields`` as float arrays (already validated numeric),
    so the shape checks and backends see exactly what they would for an array."""
    lists = {f: getattr(obj, f) for f in fields if isinstance(getattr(obj, f), (list, tuple))}
    if not lists:
        return obj
    return dataclasses.replace(
        obj, **{f: np.asarray(v, dtype=np.float64) for f, v in lists.items()}
    )


def _description_in_group(group: Any, name: str) -> tuple[dict[str, Any], str]:
    """The description dict in the network group ``name`` of an open HDF5 group, and the
    source (file and group) errors name."""
    filename = str(group.file.filename)
    if name not in group:
        raise ConfigError(filename, name, "no network description group in this HDF5 file")
    g = group[name]
    source = f"{filename}:{g.name}"
    return read_description(g, source=source), source


def _description_in_file(path: str, *, name: str = "network") -> tuple[dict[str, Any], str]:
    """:func:`_description_in_group` of the HDF5 file ``path``, opened and checked (the part
    of Network.from_hdf5 that reads the file: what a worker process runs for an old file)."""
    from ._hdf5 import open_checked

    with open_checked(path, what="spikesim network file") as f:
        return _description_in_group(f, name)


def read_description(g: Any, *, source: str) -> dict[str, Any]:
    """The description dict stored by :meth:`Network.to_hdf5` in group ``g`` (arrays put back);
    a group some other program wrote, or a damaged one (missing parts, bad JSON, checksum
    errors), is a ConfigError naming ``source``."""
    import h5py

    from ._hdf5 import H5_ERRORS, read_text

    key = "description_json"
    try:
        if not isinstance(g, h5py.Group) or key not in g.attrs:
            raise ConfigError(source, key, "missing: not a spikesim network group")
        text = read_text(g, key, source=source)
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise ConfigError(source, key, f"not valid JSON: {exc}") from None
        arrays: dict[str, np.ndarray] = {}
        ag = g["arrays"] if "arrays" in g else {}
        for k in ag:
            ds = ag[k]
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
                raise ConfigError(source, f"arrays/{k}", "expected a numeric dataset")
            arrays[k] = ds[()]
    except SpikesimError:
        raise
    except H5_ERRORS as exc:
        raise ConfigError(
            source, key, f"unreadable (damaged file?): {type(exc).__name__}: {exc}"
        ) from None
    try:
        return _insert_arrays(d, arrays)
    except KeyError as exc:
        raise ConfigError(source, f"arrays/{exc.args[0]}", "missing dataset") from None
    except TypeError as exc:  # a "$array" reference that is not a name
        raise ConfigError(source, key, f"a bad array reference: {exc}") from None


def _only(where: str, d: Any, allowed: set[str], what: str) -> None:
    if not isinstance(d, dict):
        raise ConfigError(where, what, f"expected a table, got {type(d).__name__}")
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ConfigError(
            where, unknown[0], f"unknown key in {what}; allowed: {', '.join(sorted(allowed))}"
        )


def _extract_arrays(obj: Any, store: dict[str, np.ndarray], key: str) -> Any:
    if isinstance(obj, dict):
        return {k: _extract_arrays(v, store, f"{key}.{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        if len(obj) > 16 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj
        ):
            arr = np.asarray(obj)
            name = f"arr{len(store)}"
            store[name] = arr
            return {"$array": name}
        return [_extract_arrays(v, store, f"{key}[{i}]") for i, v in enumerate(obj)]
    return obj


def _insert_arrays(obj: Any, store: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"$array"}:
            return store[obj["$array"]]
        return {k: _insert_arrays(v, store) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_insert_arrays(v, store) for v in obj]
    return obj
