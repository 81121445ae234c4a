"""Validators that name the object and field they check (used by every description class)."""

from __future__ import annotations

import math
from typing import Any

from .errors import ParameterError

__all__ = [
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_choice",
    "check_probability",
    "check_name",
]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


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
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
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
