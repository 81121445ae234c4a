"""Fixtures shared by the sensor tests: the expected summaries of the shared DVS samples.

Helpers that are not fixtures (reference summaries, fuzz scaffolding, AEDAT 3.1 builders) are
in ``event_file_checks.py`` next to this file; its asserts are rewritten like a test's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.register_assert_rewrite("event_file_checks")


@pytest.fixture(scope="session")
def reference(dvs_dir: Path) -> dict:
    """``dvs/reference.json``'s ``files`` table: file name -> summary facts (and, for some,
    ``format`` and the peer readers that ``agrees`` with them)."""
    return json.loads((dvs_dir / "reference.json").read_text())["files"]
