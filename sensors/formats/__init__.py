"""File formats: one module per format family, each registering a :class:`FormatSpec`.

A format module defines ``SPEC = FormatSpec(...)`` and is listed in :data:`_MODULES`; the
registry imports them lazily. ``sniff`` looks at the first bytes of the file (never the
extension), ``iter_chunks`` decodes the file in bounded-size chunks of :data:`EVENT_DTYPE`
events (constant memory, in file order), ``read`` decodes it whole, ``write`` (optional) writes
events so the reader round-trips them. ``diagnose`` (optional) says why a file with one of
the format's extensions was not recognised, as the format's reader would report it (used by
:func:`spikesim.sensors.io.detect_format` when no sniffer accepts a file).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..events import Recording

__all__ = ["FormatSpec", "all_formats", "get_format"]

PathLike = str | os.PathLike


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    name: str  # e.g. "EVT3.0"
    description: str
    sniff: Callable[[bytes, str], bool]  # (first 4096 bytes, path) -> is this format?
    read: Callable[..., Recording]  # read(path, **options) -> Recording
    iter_chunks: Callable[..., Iterator[np.ndarray]]  # iter_chunks(path, *, chunk_events) -> ...
    probe: Callable[[PathLike], dict[str, Any]]  # header facts without decoding: sensor size, ...
    write: Callable[..., None] | None = None  # write(path, events, *, sensor_size, **options)
    extensions: tuple[str, ...] = ()
    # (path) -> the reader's complaint about a file its sniffer rejected, or None
    diagnose: Callable[[str], str | None] | None = None


# Order matters only where two sniffers could both accept a file: most specific first.
_MODULES = (
    "aedat4",
    "aedat3",
    "aedat2",
    "evt3",
    "evt21",
    "evt2",
    "dat",
    "es",
    "hdf5",
    "numpy_files",
    "nmnist_bin",
    "text",
)


def all_formats() -> list[FormatSpec]:
    """Every registered format whose module exists."""
    specs = []
    for mod in _MODULES:
        try:
            m = importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{mod}":
                continue
            raise
        specs.append(m.SPEC)
    return specs


def get_format(name: str) -> FormatSpec:
    if not isinstance(name, str):
        known = ", ".join(s.name for s in all_formats())
        raise ValueError(f"format: expected a format name (one of {known}), found {name!r}")
    for spec in all_formats():
        if spec.name.lower() == name.lower():
            return spec
    known = ", ".join(s.name for s in all_formats())
    raise ValueError(f"unknown event format {name!r}; known formats: {known}")
