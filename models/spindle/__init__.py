"""Sleep spindles as traveling waves: a thalamocortical model on a cortical sheet."""

from .model import (
    Episode,
    SpindleConfig,
    build_spindle_network,
    cortex_positions,
    electrode_positions,
    episodes_of,
    gate_input,
    gate_rates_hz,
    lfp,
    run_spindles,
)

__all__ = [
    "Episode",
    "SpindleConfig",
    "build_spindle_network",
    "cortex_positions",
    "electrode_positions",
    "episodes_of",
    "gate_input",
    "gate_rates_hz",
    "lfp",
    "run_spindles",
]
