"""Traveling-wave temporal convolution: the ring, the Wave-RNN and its baselines, tasks, training."""

from .ring import circulant_from_taps, periodic_kernel, readout_kernel, ring_conv_run, shift_kernel
from .rnn import IRNN, GRUModel, LSTMModel, ReferenceWaveRNN, SequenceModel, WaveRNN, build_model

__all__ = [
    "circulant_from_taps",
    "shift_kernel",
    "ring_conv_run",
    "readout_kernel",
    "periodic_kernel",
    "SequenceModel",
    "WaveRNN",
    "IRNN",
    "LSTMModel",
    "GRUModel",
    "ReferenceWaveRNN",
    "build_model",
]
