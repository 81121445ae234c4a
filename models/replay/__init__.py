"""Hippocampal replay and sleep consolidation (issue 6).

Behaviour and place cells (:mod:`.behavior`, :mod:`.place_cells`), a CA3-like E/I spiking
network that learns a traversal with STDP and replays it during ripples (:mod:`.ca3`),
consolidation to a cortical slow learner and the Go-CLS linear student-teacher model
(:mod:`.consolidation`), and sweepable experiments (:mod:`.experiments`). The analysis lives
in :mod:`spikesim.analysis.replay` so it applies to recorded data as well.
"""

from .behavior import Trajectory, arena_walk, linear_track_laps
from .ca3 import CA3Config, CA3Model, ReplayEvents, build_ca3_network
from .place_cells import PlaceCells

__all__ = [
    "Trajectory",
    "linear_track_laps",
    "arena_walk",
    "PlaceCells",
    "CA3Config",
    "CA3Model",
    "ReplayEvents",
    "build_ca3_network",
]
