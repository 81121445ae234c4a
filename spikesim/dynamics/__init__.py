"""Pure step kernels (spiking) and transfer functions (rate) on torch tensors."""

from __future__ import annotations

from ..neurons import LIF, AdLIF, CubaLIF, Izhikevich, NeuronModel, RateUnit
from .fused import cuba_lif_sequence, lif_sequence
from .spiking import (
    AdLIFParams,
    AdLIFState,
    CubaLIFParams,
    CubaLIFState,
    IzhikevichParams,
    IzhikevichState,
    LIFParams,
    LIFScratch,
    LIFState,
    SynapticInput,
    adlif_step,
    cuba_lif_step,
    izhikevich_step,
    lif_scratch,
    lif_step,
    lif_step_,
)
from .surrogate import heaviside, superspike

__all__ = [
    "SynapticInput",
    "LIFParams",
    "LIFState",
    "lif_step",
    "LIFScratch",
    "lif_scratch",
    "lif_step_",
    "AdLIFParams",
    "AdLIFState",
    "adlif_step",
    "CubaLIFParams",
    "CubaLIFState",
    "cuba_lif_step",
    "lif_sequence",
    "cuba_lif_sequence",
    "IzhikevichParams",
    "IzhikevichState",
    "izhikevich_step",
    "superspike",
    "heaviside",
    "state_variables",
]

_SPIKING_VARS: dict[type, tuple[str, ...]] = {
    LIF: ("v", "i_exc", "i_inh"),
    AdLIF: ("v", "i_exc", "i_inh", "w"),
    CubaLIF: ("u", "v"),
    Izhikevich: ("v", "u", "i_exc", "i_inh"),
    RateUnit: ("r", "s_exc", "s_inh"),
}


def state_variables(model: NeuronModel) -> tuple[str, ...]:
    """Names a StateMonitor may record for this model (``r`` is the rate in rate mode)."""
    return _SPIKING_VARS[type(model)] + (("r",) if not isinstance(model, RateUnit) else ())
