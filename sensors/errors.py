"""Errors raised by spikesim.sensors (independent of the simulator core)."""

from __future__ import annotations

import os

__all__ = [
    "EventFormatError",
    "TruncatedFileError",
    "TruncatedFileWarning",
    "UnsupportedEventTypeError",
]


class EventFormatError(ValueError):
    """A recording cannot be decoded: names the file, the byte offset and the reason."""

    def __init__(self, path: str | os.PathLike | None, offset: int | None, reason: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.offset = offset
        self.reason = reason
        where = self.path if self.path is not None else "<buffer>"
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{where}{at}: {reason}")


class TruncatedFileError(EventFormatError):
    """The file ends in the middle of a record or packet."""


class UnsupportedEventTypeError(EventFormatError):
    """The file is valid but holds events that are not DVS polarity events (e.g. colour, generic)."""


class TruncatedFileWarning(UserWarning):
    """A truncated file was decoded up to the truncation because ``allow_truncated=True``.

    ``path``, ``offset`` (byte offset of the truncation) and ``reason`` as in
    :class:`EventFormatError`; the message names all three.
    """

    def __init__(self, path: str | os.PathLike | None, offset: int | None, reason: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.offset = offset
        self.reason = reason
        where = self.path if self.path is not None else "<buffer>"
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{where}{at}: {reason}")
