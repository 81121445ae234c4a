"""Lower-bound memory estimates of a network description, checked before anything is allocated.

A population, a projection's synapses or a delay ring buffer whose arrays alone exceed the
machine's memory is refused with a :class:`~spikesim.errors.ParameterError` naming the object
and field, instead of a MemoryError (or minutes of swapping) deep inside numpy or torch. The
estimates are lower bounds: what passes may still be slow. Pure description code (no torch):
the engine passes its device's memory, :meth:`Network.frozen` the host's.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .connectivity import Dense, Explicit, FixedFanIn, Sparse
from .errors import ParameterError

if TYPE_CHECKING:
    from .network import Network

__all__ = ["check_memory", "host_memory_bytes"]


def host_memory_bytes() -> int | None:
    """The machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def check_memory(
    network: Network,
    *,
    batch: int,
    itemsize: int,
    host_bytes: int | None,
    device_bytes: int | None = None,
    device: str | None = None,
) -> None:
    """Refuse what cannot fit: ``host_bytes`` of host memory and, when ``device`` names an
    accelerator, ``device_bytes`` on it (on the CPU, ``device=None``, both count against the
    host). ``itemsize``: bytes per state value (4 for float32)."""
    on_cpu = device is None

    def refuse(
        where: str, field: str, what: str, host_b: float, dev_b: float, found: str, hint: str
    ) -> None:
        for need, limit, place in (
            (host_b + dev_b if on_cpu else host_b, host_bytes, "host"),
            (0.0 if on_cpu else dev_b, device_bytes, device or "host"),
        ):
            if limit is not None and need > limit:
                raise ParameterError(
                    where,
                    field,
                    f"{what} in memory ({limit / 2**30:.1f} GiB on {place})",
                    f"{found}: at least {need / 2**30:.3g} GiB",
                    hint=hint,
                )

    for p in network.populations.values():
        where = f"population {p.name!r}"
        refuse(where, "size", "a population that fits", 8.0 * p.size, 0.0, f"{p.size} neurons", "")
        refuse(
            where,
            "batch_size",
            "a batch that fits",
            0.0,
            4.0 * batch * p.size * itemsize,
            f"batch {batch} x {p.size} neurons",
            "Use a smaller batch_size.",
        )
    for pr in network.projections.values():
        where = f"projection {pr.name!r}"
        n_pre = network.populations[pr.pre].size
        n_post = network.populations[pr.post].size
        conn = pr.connectivity
        n_syn, found = 0.0, ""
        if isinstance(conn, Dense):
            n_syn, found = float(n_pre) * n_post, f"{n_post} x {n_pre} dense weights"
        elif isinstance(conn, Sparse):
            n_syn = conn.p * n_pre * n_post
            found = f"about {n_syn:.3g} synapses (p = {conn.p:g} of {n_post} x {n_pre})"
        elif isinstance(conn, FixedFanIn):
            n_syn, found = float(conn.k) * n_post, f"{n_post} x k = {conn.k} synapses"
        if n_syn:
            dense = isinstance(conn, Dense)
            refuse(
                where,
                "connectivity",
                "a connectivity whose synapses fit",
                n_syn * (8.0 if dense else 32.0),
                n_syn * itemsize,
                found,
                "A dense projection stores every pre-post weight; use Sparse or FixedFanIn."
                if dense
                else "Use a smaller p or k, or fewer neurons.",
            )
        delay = pr.delay_steps
        if isinstance(conn, Explicit) and conn.delay_steps is not None:
            d = np.asarray(conn.delay_steps)
            delay += int(d.max()) if d.size else 0
        if delay:
            refuse(
                where,
                "delay_steps",
                "a delay whose ring buffer fits",
                0.0,
                (delay + 2.0) * batch * (n_post + 1) * itemsize,
                f"{delay + 2} slots x batch {batch} x {n_post + 1} neurons",
                "Delays are held in a ring buffer of one slot per step; use a shorter delay.",
            )
