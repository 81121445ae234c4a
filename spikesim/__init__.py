"""spikesim: rate-coded and spiking networks on PyTorch tensors.

The description (:class:`Network` with neuron models and connectivity rules) is separate from
execution: :class:`Simulator` / :func:`simulate` run it with torch in ``mode="spiking"`` or
``mode="rate"``; :mod:`spikesim.reference.brian2` builds the same network in Brian2.
"""

__version__ = "0.1.0"

from .connectivity import (
    Circulant,
    Conv2d,
    Dense,
    DistanceDependent,
    Explicit,
    FixedFanIn,
    OneToOne,
    Sparse,
)
from .errors import ConfigError, ParameterError, ShapeError, SimulationError, SpikesimError
from .network import (
    Network,
    PoissonSource,
    Ring,
    Sheet,
    SpikeTensorSource,
    SpikeTimesSource,
)
from .neurons import LIF, AdLIF, CubaLIF, Izhikevich, RateUnit
from .results import Result, rerun
from .values import LogNormal, Normal, Uniform

_LAZY = {"Simulator": "engine", "simulate": "engine"}


def __getattr__(name: str):  # the torch engine loads on first use: the description needs no torch
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spikesim' has no attribute {name!r}")


__all__ = [
    "Network",
    "Ring",
    "Sheet",
    "PoissonSource",
    "SpikeTimesSource",
    "SpikeTensorSource",
    "LIF",
    "AdLIF",
    "CubaLIF",
    "Izhikevich",
    "RateUnit",
    "Dense",
    "Sparse",
    "FixedFanIn",
    "OneToOne",
    "Conv2d",
    "Circulant",
    "DistanceDependent",
    "Explicit",
    "Normal",
    "Uniform",
    "LogNormal",
    "Simulator",
    "simulate",
    "Result",
    "rerun",
    "SpikesimError",
    "ParameterError",
    "ConfigError",
    "ShapeError",
    "SimulationError",
]
