"""Damage that makes libhdf5 hang: shared by the core and hardware tests of old-format files.

Importable from any test (pytest puts ``tests/`` on ``sys.path`` for ``tests/conftest.py``).
"""

from __future__ import annotations

import struct
from pathlib import Path


def damage_first_heap_object(path: Path) -> None:
    """Point the size of the first object in the file's global heap collection (where the
    variable-length strings of the pre-2026-11-26 format live) into the zeros of the
    collection's free space: libhdf5 parsing the collection then reads an object of size 0
    there and loops forever (checked by hand: no answer in 60 s)."""
    data = bytearray(path.read_bytes())
    gcol = data.find(b"GCOL")
    assert gcol >= 0, f"{path}: no global heap collection (not an old-format file?)"
    end = gcol + struct.unpack_from("<Q", data, gcol + 8)[0]
    obj = gcol + 16  # objects: index (2 bytes), refs (2), reserved (4), size (8), data
    while struct.unpack_from("<H", data, obj)[0] != 0:  # up to the free-space object
        obj += 16 + -(-struct.unpack_from("<Q", data, obj + 8)[0] // 8) * 8
        assert obj + 16 <= end
    assert data[obj + 16 : obj + 48] == bytes(32)
    struct.pack_into("<Q", data, gcol + 24, obj + 16 - (gcol + 32))
    path.write_bytes(bytes(data))
