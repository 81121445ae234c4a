"""Shared fixtures: the shared data folder and device selection."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # Test tensors are small: one intra-op thread is as fast, and on a loaded machine several
    # threads per process spin against each other (measured: 10-40x slower at load 14 on 2 cores).
    import torch

    torch.set_num_threads(int(os.environ.get("SPIKESIM_TEST_THREADS", "1")))


def in_ci() -> bool:
    """True where the ``CI`` environment variable is set (to anything but 0/false/no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def lava_ready() -> None:
    """The managed Lava environment is set up (``spikesim lava setup``). Without it a test
    using this fixture fails in CI (CI runs the set-up first) and is skipped, with the command
    to run, on a developer machine."""
    from spikesim.hardware import lava_env

    if lava_env.is_ready():
        return
    msg = (
        f"the Lava environment ({lava_env.env_path()}) is not set up: run `spikesim lava setup` "
        "(it installs lava-nc and lava-dl) first"
    )
    if in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch intra-op thread for the test, restored after it (even when
    ``SPIKESIM_TEST_THREADS`` asks for more): for tests whose figures or timing-sensitive
    sizes were calibrated single-threaded. Use with ``pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def shared_data_dir() -> Path:
    """``$SPIKESIM_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    env = os.environ.get("SPIKESIM_SHARED_DATA")
    return Path(env) if env else (_REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"shared data folder {d} not found (set SPIKESIM_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def dvs_dir(shared_data: Path) -> Path:
    d = shared_data / "dvs"
    if not d.is_dir():
        pytest.skip(f"DVS sample folder {d} not found")
    return d


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    d = shared_data / "mnist"
    if not d.is_dir():
        pytest.skip(f"MNIST folder {d} not found")
    return d


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
