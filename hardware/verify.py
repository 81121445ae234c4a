"""Check spikesim's fixed-point simulator against Lava, spike for spike and voltage for voltage.

:func:`verify_netx_in_lava` instead writes each case as a netx HDF5 file and has lava-dl's
own loader (``lava.lib.dl.netx.hdf5.Network``) build and run it in Lava.

:func:`verify_against_lava` merges several cases (see :mod:`spikesim.hardware.loihi.examples`)
into one network of disconnected parts, so Lava is imported once, runs each part, and every
population's spikes and ``v`` are compared with :func:`simulate_fixed_point` at every step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from spikesim.errors import ParameterError

from .lava_run import run_in_lava
from .loihi.examples import Case, all_cases
from .loihi.fixed_point import simulate_fixed_point
from .loihi.network import LoihiNetwork

__all__ = ["CaseReport", "case_steps", "merge_cases", "verify_against_lava", "verify_netx_in_lava"]

_SEP = "__"


@dataclass(frozen=True)
class CaseReport:
    """Agreement of one case: spike counts, equality, and the first mismatch if any."""

    name: str
    n_steps: int
    spike_counts: dict[str, int]
    spikes_equal: bool
    v_equal: bool
    first_mismatch: str | None


def merge_cases(cases: list[Case]) -> Case:
    """One network holding every case's network, names prefixed ``<case>__``; inputs are
    zero-padded to the longest run (later steps cannot change earlier ones). Each case is
    checked first (:func:`~spikesim.hardware.loihi.exchange.check_run`)."""
    cases = _checked(cases, "merge_cases")
    n_steps = max(c.n_steps for c in cases)
    pops, ins, conns, inputs = [], [], [], {}
    for c in cases:
        pre = c.name + _SEP
        pops += [replace(p, name=pre + p.name) for p in c.net.populations]
        ins += [replace(i, name=pre + i.name) for i in c.net.inputs]
        conns += [
            replace(k, name=pre + k.name, source=pre + k.source, target=pre + k.target)
            for k in c.net.connections
        ]
        for name, data in c.inputs.items():
            padded = np.zeros((n_steps, *data.shape[1:]), dtype=np.uint8)
            padded[: c.n_steps] = data
            inputs[pre + name] = padded
    net = LoihiNetwork(populations=tuple(pops), inputs=tuple(ins), connections=tuple(conns))
    return Case("merged", net, n_steps, inputs)


def _checked(cases: object, where: str) -> list[Case]:
    """The cases as a list, each a :class:`Case` whose inputs fit its network and length."""
    if isinstance(cases, (str, bytes)) or not hasattr(cases, "__iter__"):
        raise ParameterError(where, "cases", "a list of Case objects", type(cases).__name__)
    out = list(cases)
    if not out:
        raise ParameterError(where, "cases", "at least one Case", out)
    for k, c in enumerate(out):
        if not isinstance(c, Case):  # a Case checks its network, n_steps and inputs itself
            raise ParameterError(where, f"cases[{k}]", "a Case", type(c).__name__)
    return out


def case_steps(cases: list[Case]) -> dict[str, int]:
    """Merged population name -> its case's length (for ``steps_per_population``)."""
    return {c.name + _SEP + p.name: c.n_steps for c in cases for p in c.net.populations}


def _first_mismatch(a: np.ndarray, b: np.ndarray, pop: str, what: str) -> str | None:
    diff = np.argwhere(a != b)
    if diff.size == 0:
        return None
    t, bi, n = (int(x) for x in diff[0])
    return f"{what} of {pop!r} differ first at step {t}, batch {bi}, neuron {n}: spikesim {a[t, bi, n]}, lava {b[t, bi, n]}"


def verify_against_lava(
    cases: list[Case] | None = None, *, env: str | os.PathLike[str] | None = None
) -> list[CaseReport]:
    """Run every case in both simulators and report agreement (one Lava subprocess)."""
    cases = all_cases() if cases is None else _checked(cases, "verify_against_lava")
    merged = merge_cases(cases)
    lava = run_in_lava(
        merged.net,
        n_steps=merged.n_steps,
        inputs=merged.inputs or None,
        record_v=True,
        env=env,
        steps_per_population=case_steps(cases),
    )
    return [_compare(c, lava.spikes, lava.v, c.name + _SEP) for c in cases]


def _compare(
    c: Case, spikes: dict[str, np.ndarray], v: dict[str, np.ndarray] | None, prefix: str
) -> CaseReport:
    ours = simulate_fixed_point(
        c.net, n_steps=c.n_steps, inputs=c.inputs or None, record_state=True
    )
    counts, s_eq, v_eq, mismatch = {}, True, True, None
    for p in c.net.populations:
        key = prefix + p.name
        s_ours = ours.spikes[p.name].numpy()
        v_ours = ours.v[p.name].numpy()  # type: ignore[index]
        s_lava = spikes[key][: c.n_steps]
        v_lava = v[key][: c.n_steps]  # type: ignore[index]
        counts[p.name] = int(s_ours.sum())
        m = _first_mismatch(s_ours, s_lava, p.name, "spikes")
        s_eq &= m is None
        mv = _first_mismatch(v_ours, v_lava, p.name, "v")
        v_eq &= mv is None
        mismatch = mismatch or m or mv
    return CaseReport(c.name, c.n_steps, counts, s_eq, v_eq, mismatch)


def verify_netx_in_lava(
    cases: list[Case] | None = None, *, env: str | os.PathLike[str] | None = None
) -> list[CaseReport]:
    """Write every case as netx HDF5 (:func:`~spikesim.hardware.netx.write_netx`), load and
    run it with lava-dl's ``hdf5.Network`` in Lava (one subprocess) and compare spikes and
    ``v`` with :func:`simulate_fixed_point`. Default cases: ``netx_cases()``. Each case needs
    exactly one input; a network netx cannot hold raises ParameterError before Lava starts."""
    import tempfile
    from pathlib import Path

    from .loihi.examples import netx_cases
    from .netx import run_netx_in_lava, write_netx

    cases = netx_cases() if cases is None else _checked(cases, "verify_netx_in_lava")
    for c in cases:
        if len(c.inputs) != 1:
            raise ParameterError(
                f"case {c.name!r}", "inputs", "exactly one input (a netx stack has one)",
                sorted(c.inputs),
            )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="spikesim-verify-netx-") as tmp:
        files = []
        for k, c in enumerate(cases):
            path = Path(tmp) / f"case{k}.net"
            write_netx(c.net, path)
            (spikes,) = c.inputs.values()
            files.append((path, spikes))
        results = run_netx_in_lava(files, record_v=True, env=env)
    return [_compare(c, r.spikes, r.v, "") for c, r in zip(cases, results, strict=True)]
