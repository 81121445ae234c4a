"""Parameter values that may be a scalar, a per-element array or a random distribution.

Weights and initial states are often drawn at random. A description stores the *rule*
(``Normal(mean, std)``), never a hidden draw; drawing happens when a backend builds the
network, from an explicit ``numpy.random.Generator``. Arrays are stored as given.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .errors import ParameterError, ShapeError

__all__ = ["Normal", "Uniform", "LogNormal", "Value", "draw", "value_to_json", "value_from_json"]


@dataclasses.dataclass(frozen=True)
class Normal:
    """Gaussian values, optionally clipped to ``[low, high]``."""

    mean: float
    std: float
    low: float | None = None
    high: float | None = None


@dataclasses.dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from ``[low, high)`` (``high >= low``)."""

    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class LogNormal:
    """exp(N(mu, sigma)) (mu, sigma of the underlying normal)."""

    mu: float
    sigma: float


Distribution = Normal | Uniform | LogNormal
Value = float | int | np.ndarray | Distribution
_DISTS = {"normal": Normal, "uniform": Uniform, "lognormal": LogNormal}


def check_value(where: str, field: str, value: Any) -> Value:
    """Validate a Value: finite scalar, finite array, or a distribution with sane parameters."""
    if isinstance(value, (Normal, Uniform, LogNormal)):
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if v is None and f.name in ("low", "high"):
                continue
            numeric = isinstance(v, (int, float, np.integer, np.floating))
            if not numeric or isinstance(v, (bool, np.bool_)) or not np.isfinite(v):
                raise ParameterError(where, f"{field}.{f.name}", "a finite number", v)
        if isinstance(value, Normal) and value.std < 0:
            raise ParameterError(where, f"{field}.std", ">= 0", value.std)
        if isinstance(value, LogNormal) and value.sigma < 0:
            raise ParameterError(where, f"{field}.sigma", ">= 0", value.sigma)
        if isinstance(value, Uniform) and value.high < value.low:
            raise ParameterError(where, f"{field}.high", f">= low ({value.low})", value.high)
        return value
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                where, field, "a number, an array or a distribution", value
            ) from exc
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiu":
            raise ParameterError(where, field, "a numeric array", value.dtype)
        if not np.all(np.isfinite(value)):
            raise ParameterError(
                where, field, "finite values (no NaN or Inf)", "an array with NaN/Inf"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ParameterError(where, field, "a number, an array or a distribution", value)
    if not np.isfinite(value):
        raise ParameterError(where, field, "a finite number (not NaN or Inf)", value)
    return float(value)


def draw(
    value: Value, shape: tuple[int, ...], generator: np.random.Generator, *, where: str, field: str
) -> np.ndarray:
    """Materialise ``value`` as a float64 array of ``shape`` (arrays must match exactly)."""
    if isinstance(value, Normal):
        out = generator.normal(value.mean, value.std, size=shape)
        if value.low is not None or value.high is not None:
            out = np.clip(out, value.low, value.high)
        return out
    if isinstance(value, Uniform):
        return generator.uniform(value.low, value.high, size=shape)
    if isinstance(value, LogNormal):
        return generator.lognormal(value.mu, value.sigma, size=shape)
    if isinstance(value, np.ndarray):
        if value.shape == shape:
            return value.astype(np.float64, copy=True)
        if value.ndim == 0:
            return np.full(shape, float(value))
        raise ShapeError(where, field, shape, value.shape)
    return np.full(shape, float(value))


def value_to_json(value: Value) -> Any:
    """A JSON/TOML-friendly form: numbers stay numbers, arrays become lists, distributions tables."""
    if isinstance(value, (Normal, Uniform, LogNormal)):
        d = {"dist": value.__class__.__name__.lower()}
        d.update({k: v for k, v in dataclasses.asdict(value).items() if v is not None})
        return d
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def value_from_json(obj: Any, *, where: str, field: str) -> Value:
    """The value of :func:`value_to_json`'s form (a table with ``dist`` is a distribution),
    checked; a bad one is a ParameterError naming ``where`` and ``field``."""
    if isinstance(obj, dict):
        kind = obj.get("dist")
        if kind not in _DISTS:
            raise ParameterError(where, f"{field}.dist", f"one of {sorted(_DISTS)}", kind)
        cls = _DISTS[kind]
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(obj) - names - {"dist"}
        if extra:
            raise ParameterError(where, field, f"only the keys {sorted(names)}", sorted(extra))
        try:
            return check_value(where, field, cls(**{k: v for k, v in obj.items() if k != "dist"}))
        except TypeError as exc:
            raise ParameterError(where, field, f"the keys {sorted(names)}", obj) from exc
    return check_value(where, field, obj)
