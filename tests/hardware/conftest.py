"""Hardware tests run torch single-threaded: their networks are small, and on a shared 2-core
machine torch's thread pool spinning against other processes made them 20-40x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread(one_thread: None) -> Iterator[None]:
    yield  # the shared ``one_thread`` fixture (tests/conftest.py) does the work
