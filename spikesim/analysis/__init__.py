"""Analysis of recorded or simulated activity: general tools that work on plain arrays.

Each submodule is independent (waves and phase analysis, place-cell decoding and replay, ...)
and takes numpy arrays with explicit units, so it applies to recordings as well as to results
of :class:`spikesim.Simulator`.
"""
