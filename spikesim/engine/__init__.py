"""The torch backend: runs a :class:`~spikesim.network.Network` in spiking or rate mode.

- :mod:`.simulator`: :class:`Simulator` (build once, ``run`` / ``forward``) and :func:`simulate`;
  the general step loop and the fused feed-forward layers of training runs.
- :mod:`.projection`: projections as tensors and their delivery per step.
- :mod:`.fast_loop`: the fused loop of spiking runs without gradient.
- :mod:`.recording`: monitors (numpy chunks, HDF5 streaming) and training tensors.
"""

from .simulator import Simulator, simulate

__all__ = ["Simulator", "simulate"]
