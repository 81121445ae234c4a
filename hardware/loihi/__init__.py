"""Integer-level Loihi-2 networks and their bit-exact fixed-point execution (lava-nc 0.10)."""

from .fixed_point import FixedPointResult, lif_step, simulate_fixed_point, wrap_int32
from .network import (
    BIAS_EXP_RANGE,
    BIAS_MANT_RANGE,
    DECAY_RANGE,
    DELAY_RANGE,
    VTH_RANGE,
    WEIGHT_EXP_RANGE,
    Connection,
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    SignMode,
    Sparse,
    SpikeInput,
    quantize_weights,
    weight_range,
)

__all__ = [
    "BIAS_EXP_RANGE",
    "BIAS_MANT_RANGE",
    "DECAY_RANGE",
    "DELAY_RANGE",
    "VTH_RANGE",
    "WEIGHT_EXP_RANGE",
    "Connection",
    "Dense",
    "DelayDense",
    "FixedPointResult",
    "LifPopulation",
    "LoihiNetwork",
    "SignMode",
    "Sparse",
    "SpikeInput",
    "lif_step",
    "quantize_weights",
    "simulate_fixed_point",
    "weight_range",
    "wrap_int32",
]
