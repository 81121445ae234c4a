"""Hardware tests run torch single-threaded: their networks are small, and on a shared 2-core
machine torch's thread pool spinning against other processes made them 20-40x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
