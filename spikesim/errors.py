"""Typed errors for spikesim.

Every error raised for bad user input is a subclass of :class:`SpikesimError`, which is a
:class:`ValueError`, and carries the offending object, field, what was expected and what was
found, so callers can react programmatically and users read a message that says how to fix it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SpikesimError",
    "ParameterError",
    "ConfigError",
    "ShapeError",
    "SimulationError",
]


class SpikesimError(ValueError):
    """Base class of all spikesim input errors."""


class ParameterError(SpikesimError):
    """A parameter of a population, projection, input or run is invalid.

    Attributes
    ----------
    where: the object the parameter belongs to, e.g. ``"population 'exc'"``.
    field: the parameter name, e.g. ``"tau_mem_s"``.
    expected: a phrase describing the valid values.
    found: the value that was given.
    """

    def __init__(self, where: str, field: str, expected: str, found: Any, hint: str = "") -> None:
        self.where = where
        self.field = field
        self.expected = expected
        self.found = found
        msg = f"{where}: {field} must be {expected}, got {found!r}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


class ConfigError(SpikesimError):
    """A configuration file or dict has unknown keys, missing keys or wrong types."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: key {key!r}: {problem}")


class ShapeError(SpikesimError):
    """An array has a shape that does not match what it is combined with (never broadcast)."""

    def __init__(self, where: str, field: str, expected: tuple, found: tuple) -> None:
        self.where = where
        self.field = field
        self.expected = tuple(expected)
        self.found = tuple(found)
        super().__init__(
            f"{where}: {field} must have shape {self.expected}, got {self.found} "
            "(spikesim never broadcasts silently)"
        )


class SimulationError(SpikesimError):
    """The simulation reached an invalid state (e.g. NaN), naming the population and step."""

    def __init__(self, population: str, step: int, problem: str) -> None:
        self.population = population
        self.step = step
        self.problem = problem
        super().__init__(f"population {population!r} at step {step}: {problem}")
