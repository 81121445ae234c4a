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
from .engine import Simulator, simulate
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
