"""Sleep spindles as traveling waves: a thalamocortical model on a cortical sheet."""

from .model import (
    LIF_THALAMUS,
    THALAMUS_ONLY,
    Episode,
    SpindleConfig,
    build_spindle_network,
    cortex_positions,
    electrode_positions,
    episodes_of,
    gate_input,
    gate_rates_hz,
    lfp,
    lfp_from_spikes,
    ring_winding,
    ring_winding_from_spikes,
    run_spindles,
)

__all__ = [
    "LIF_THALAMUS",
    "THALAMUS_ONLY",
    "Episode",
    "SpindleConfig",
    "build_spindle_network",
    "cortex_positions",
    "electrode_positions",
    "episodes_of",
    "gate_input",
    "gate_rates_hz",
    "lfp",
    "lfp_from_spikes",
    "ring_winding",
    "ring_winding_from_spikes",
    "run_spindles",
]
