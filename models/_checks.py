"""Boundary checks the models share on top of the core's validators (:mod:`spikesim._validate`).

Each raises a :class:`~spikesim.errors.ParameterError` naming the object, the parameter and the
value found: a seed that numpy/torch would refuse with a bare TypeError, an array or tensor with
NaN/Inf, and an allocation larger than the machine's memory (refused before it is attempted,
with the core's :func:`~spikesim._memory.require_fits`, here as ``check_fits``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from spikesim._memory import require_fits as check_fits
from spikesim._validate import check_int
from spikesim.errors import ConfigError, ParameterError
from spikesim.values import check_value

__all__ = [
    "check_seed",
    "check_fits",
    "check_options",
    "finite_array",
    "check_tensor",
    "check_float_dtype",
    "check_generator",
    "check_device",
    "dataclass_from_dict",
]


def check_seed(where: str, seed: Any, field: str = "seed") -> int:
    """A seed is an integer >= 0 (numpy's and torch's generators refuse anything else)."""
    return check_int(where, field, seed, minimum=0)


def finite_array(where: str, field: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array of finite numbers (bools count as 0/1)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise ParameterError(where, field, "a numeric array", value) from exc
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float64)
    return np.asarray(check_value(where, field, arr), dtype=np.float64)


def check_float_dtype(where: str, field: str, dtype: Any) -> torch.dtype:
    """A floating-point torch dtype (parameters and sequences are real-valued)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ParameterError(where, field, "a floating-point torch.dtype", dtype)
    return dtype


def check_tensor(where: str, field: str, x: Any, *, dtype: torch.dtype | None = None) -> None:
    """A floating-point torch tensor of finite values (of ``dtype`` when given)."""
    if not isinstance(x, torch.Tensor):
        raise ParameterError(where, field, "a torch.Tensor", type(x).__name__)
    if not x.is_floating_point():
        raise ParameterError(where, f"{field}.dtype", "a floating-point dtype", x.dtype)
    if dtype is not None and x.dtype != dtype:
        raise ParameterError(
            where, f"{field}.dtype", f"{dtype} (the dtype of the model's parameters)", x.dtype
        )
    if not bool(torch.isfinite(x).all()):
        raise ParameterError(where, field, "finite values (no NaN or Inf)", "a tensor with NaN/Inf")


def check_generator(where: str, generator: Any, field: str = "generator") -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterError(where, field, "None or a torch.Generator", generator)


def check_device(where: str, device: Any) -> torch.device | None:
    """``None`` or a device torch understands (``"cpu"``, ``"cuda:0"``...)."""
    if device is None:
        return None
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(
            where, "device", "a torch device such as 'cpu' or 'cuda:0'", device
        ) from exc


T = TypeVar("T")


def dataclass_from_dict(cls: type[T], d: Any, source: str) -> T:
    """``cls(**d)`` for a config dataclass, with a ConfigError naming an unknown key (instead
    of the constructor's TypeError) and the class's ``validate()`` run."""
    if not isinstance(d, Mapping):
        raise ConfigError(source, "-", f"expected a table of {cls.__name__} fields, found {d!r}")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(source, str(unknown[0]), f"unknown key; known: {', '.join(names)}")
    obj = cls(**d)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate()
    return obj


def check_options(where: str, kind: str, options: Mapping[str, Any], known: Sequence[str]) -> None:
    """Refuse keyword ``options`` for ``kind`` that are not among ``known`` (a misspelt option is
    a :class:`~spikesim.errors.ParameterError` naming it, not a TypeError deep in a builder)."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ParameterError(
            where, f"options of {kind!r}", f"keywords among {', '.join(known)}", unknown[0]
        )
