"""Typed errors of the classification datasets and models; each names the file or folder."""

from __future__ import annotations

import os

from spikesim.errors import SpikesimError

__all__ = [
    "DatasetError",
    "MissingFileError",
    "CorruptFileError",
    "LabelMismatchError",
    "ClassCountError",
]


class DatasetError(SpikesimError):
    """A dataset folder cannot be used as it is; ``path`` is the offending file or folder."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MissingFileError(DatasetError):
    """A file or folder the dataset layout requires is not there."""


class CorruptFileError(DatasetError):
    """A recording or label file cannot be decoded."""


class LabelMismatchError(DatasetError):
    """A label file does not match its recording (unknown class, window outside the data...)."""


class ClassCountError(DatasetError):
    """The dataset's number of classes differs from the model's."""
