"""Validators that name the object and field they check (used by every description class)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ParameterError

__all__ = [
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_choice",
    "check_probability",
    "check_name",
    "check_index_array",
]


def _is_number(x: Any) -> bool:
    """A real number: Python or numpy int/float, never a bool."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def check_finite(where: str, field: str, value: Any) -> float:
    if not _is_number(value):
        raise ParameterError(where, field, "a finite number", value)
    if not math.isfinite(float(value)):
        raise ParameterError(where, field, "a finite number (not NaN or Inf)", value)
    return float(value)


def check_positive(where: str, field: str, value: Any) -> float:
    v = check_finite(where, field, value)
    if v <= 0:
        raise ParameterError(where, field, "> 0", value)
    return v


def check_nonnegative(where: str, field: str, value: Any) -> float:
    v = check_finite(where, field, value)
    if v < 0:
        raise ParameterError(where, field, ">= 0", value)
    return v


def check_int(where: str, field: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ParameterError(where, field, "an integer", value)
    if minimum is not None and value < minimum:
        raise ParameterError(where, field, f"an integer >= {minimum}", value)
    return int(value)


def check_choice(where: str, field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(where, field, f"one of {', '.join(map(repr, choices))}", value)
    return str(value)


def check_probability(where: str, field: str, value: Any) -> float:
    v = check_finite(where, field, value)
    if not 0.0 <= v <= 1.0:
        raise ParameterError(where, field, "a probability in [0, 1]", value)
    return v


def check_name(where: str, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value or not value.replace("_", "").isalnum():
        raise ParameterError(where, field, "a non-empty name of letters, digits and '_'", value)
    return value


def check_index_array(where: str, field: str, value: Any, n: int) -> np.ndarray:
    """A 1-D array of integer indices in ``[0, n)`` (integer-valued floats are accepted)."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise ParameterError(where, field, "a 1-D sequence of integer indices", value) from exc
    if arr.ndim != 1:
        raise ParameterError(
            where, field, "a 1-D sequence of integer indices", f"an array of shape {arr.shape}"
        )
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        bad = arr[0] if arr.dtype.kind != "f" else arr[arr != np.round(arr)][0]
        raise ParameterError(where, field, "integer indices", getattr(bad, "item", lambda: bad)())
    if arr.min() < 0 or arr.max() >= n:
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise ParameterError(where, field, f"in [0, {n})", int(bad))
    return arr.astype(np.int64)
