"""Hardware tests run torch single-threaded: their networks are small, and on a shared 2-core
machine torch's thread pool spinning against other processes made them 20-40x slower."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread(one_thread: None) -> None:
    """Every test here uses the shared ``one_thread`` fixture (tests/conftest.py)."""
