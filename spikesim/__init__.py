"""spikesim: rate-coded and spiking networks on PyTorch tensors."""

__version__ = "0.1.0"
