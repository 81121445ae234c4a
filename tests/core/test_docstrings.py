"""Docstrings of the public API: present, and their "Parameters" sections name the signature.

A cheap guard against documentation that drifts from the code: every public callable that
``spikesim`` exports, and every public method of those classes (Network, Simulator and Result
included), has a docstring; where a docstring has a numpy-style ``Parameters`` section, each
name listed there is a parameter of the signature and every parameter is listed (a class may
leave to its base classes' sections the parameters it inherits; ``*args``/``**kwargs`` may go
unlisted).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import spikesim as ss

_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


def _own_doc(obj: Any) -> str | None:
    """The docstring written for ``obj`` (not a dataclass's generated signature, not a base's)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    if not doc or inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return None
    return doc


def documented_parameters(doc: str) -> list[str] | None:
    """Names in the numpy-style ``Parameters`` section of ``doc`` (None: no such section)."""
    lines = inspect.cleandoc(doc).splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}:
            break
    else:
        return None
    indent = len(lines[i]) - len(lines[i].lstrip())
    names: list[str] = []
    for j in range(i + 2, len(lines)):
        line = lines[j]
        if j + 1 < len(lines) and line.strip() and set(lines[j + 1].strip()) == {"-"}:
            break  # the next section
        if not line.strip() or len(line) - len(line.lstrip()) != indent:
            continue  # a description line
        m = _ENTRY.match(line.strip())
        if m:
            names += [n.strip().lstrip("*") for n in m.group(1).split(",")]
    return names


def _signature(obj: Any) -> tuple[set[str], set[str]]:
    """(all parameter names, the required-to-document ones) of a callable or a class."""
    params = inspect.signature(obj).parameters.values()
    names = {p.name for p in params} - {"self", "cls"}
    variadic = {p.name for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return names, names - variadic


def parameter_problems(obj: Any, name: str) -> list[str]:
    """What is wrong with the Parameters section of ``obj`` (empty: nothing)."""
    doc = _own_doc(obj)
    listed = documented_parameters(doc) if doc else None
    if listed is None:
        return []
    names, required = _signature(obj)
    problems = [f"{name}: documents {n!r}, not a parameter" for n in listed if n not in names]
    covered = set(listed)
    if inspect.isclass(obj):  # inherited parameters may be documented by the bases
        for base in obj.__mro__[1:]:
            base_doc = _own_doc(base)
            covered |= set((documented_parameters(base_doc) if base_doc else None) or [])
    problems += [f"{name}: parameter {n!r} not documented" for n in sorted(required - covered)]
    return problems


def _public_api() -> list[tuple[str, Any]]:
    """Every exported callable and the public methods and properties of exported classes."""
    out = []
    for name in ss.__all__:
        obj = getattr(ss, name)
        if not callable(obj):
            continue
        out.append((name, obj))
        if not inspect.isclass(obj):
            continue
        for attr, raw in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(raw, property):
                out.append((f"{name}.{attr}", raw))
            elif isinstance(raw, (classmethod, staticmethod)) or inspect.isfunction(raw):
                out.append((f"{name}.{attr}", getattr(obj, attr)))
    return out


def _doc(obj: Any, qualname: str) -> str | None:
    if isinstance(obj, property) or "." not in qualname:
        return _own_doc(obj)
    return inspect.getdoc(obj)  # an override may keep its base method's docstring


API = _public_api()


def test_the_public_api_is_what_this_test_walks():
    names = {n for n, _ in API}
    expected = {
        "Network.add_population",
        "Network.monitor_state",
        "Network.to_toml",
        "Network.from_toml",
        "Simulator.run",
        "Simulator.forward",
        "Result.from_hdf5",
        "Result.duration_s",
        "rerun",
        "simulate",
    }
    assert expected <= names, expected - names
    assert len(API) > 60


def test_every_public_callable_has_a_docstring():
    missing = [name for name, obj in API if not (_doc(obj, name) or "").strip()]
    assert not missing, f"no docstring: {missing}"


def test_parameters_sections_match_the_signatures():
    problems = [p for name, obj in API if not isinstance(obj, property)
                for p in parameter_problems(obj, name)]  # fmt: skip
    assert not problems, "\n".join(problems)
    checked = [n for n, o in API if not isinstance(o, property) and documented_parameters(
        _own_doc(o) or "") is not None]  # fmt: skip
    for name in ("Network.add_projection", "Simulator", "Simulator.run", "rerun", "LIF"):
        assert name in checked, name


def _bad(rate_hz: float, *, size: int, **kw: Any) -> None:
    """A deliberately wrong docstring.

    Parameters
    ----------
    rate_hz : float
        Listed and real.
    sise : int
        Misspelt.
    """


class _Base:
    """Base.

    Parameters
    ----------
    a : float
        From the base.
    """

    def __init__(self, a: float) -> None:
        self.a = a


class _Child(_Base):
    """Child.

    Parameters
    ----------
    b : float
        Its own.
    """

    def __init__(self, a: float, b: float) -> None:
        super().__init__(a)
        self.b = b


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            _bad,
            ["_bad: documents 'sise', not a parameter", "_bad: parameter 'size' not documented"],
        ),
        (_Child, []),
        (ss.Network.add_poisson, []),  # "**kw" listed: accepted
    ],
)
def test_the_check_finds_what_drifted(obj, expected):
    name = getattr(obj, "__name__", "")
    assert parameter_problems(obj, name) == expected
    assert documented_parameters(_own_doc(obj) or "") is not None
