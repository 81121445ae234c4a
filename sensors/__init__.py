"""Event-camera recordings: readers, writers, streaming and representations.

Public API: :func:`open`, :func:`play`, :func:`aplay` (from :mod:`.io`), :data:`EVENT_DTYPE`
and :class:`Recording` (from :mod:`.events`) and the error classes of :mod:`.errors`.

Importing this package stays cheap: the errors and the event dtype (numpy only) are imported
directly, the :mod:`.io` names on first access (PEP 562); format modules with optional
dependencies (h5py, lz4, zstandard) are imported by the registry only when a file needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    EventFormatError,
    TruncatedFileError,
    TruncatedFileWarning,
    UnsupportedEventTypeError,
)
from .events import EVENT_DTYPE, Recording

if TYPE_CHECKING:
    from .io import aplay, open, play  # noqa: A004

__all__ = [
    "EVENT_DTYPE",
    "EventFormatError",
    "Recording",
    "TruncatedFileError",
    "TruncatedFileWarning",
    "UnsupportedEventTypeError",
    "aplay",
    "open",
    "play",
]

_LAZY = {"open": ".io", "play": ".io", "aplay": ".io"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
