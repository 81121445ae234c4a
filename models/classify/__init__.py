"""Event-data classification: spiking classifiers built from network descriptions, datasets
(N-MNIST, N-Caltech101, DVS128 Gesture, offline saccade MNIST), the ``spikesim train`` command.

Training itself is :func:`spikesim.training.train`.
"""

from .datasets import (
    NMNIST,
    CachedSpikeTensors,
    DVSGesture,
    NCaltech101,
    TensorDataset,
    ToSpikeTensor,
    check_classes,
)
from .errors import (
    ClassCountError,
    CorruptFileError,
    DatasetError,
    LabelMismatchError,
    MissingFileError,
)
from .networks import (
    SpikingClassifier,
    build_classifier,
    conv_classifier_network,
    dense_classifier_network,
)

__all__ = [
    "NMNIST",
    "NCaltech101",
    "DVSGesture",
    "ToSpikeTensor",
    "CachedSpikeTensors",
    "TensorDataset",
    "check_classes",
    "SpikingClassifier",
    "build_classifier",
    "dense_classifier_network",
    "conv_classifier_network",
    "DatasetError",
    "MissingFileError",
    "CorruptFileError",
    "LabelMismatchError",
    "ClassCountError",
]
