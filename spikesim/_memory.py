"""Lower-bound memory estimates of a network description, checked before anything is allocated.

A population, a projection's synapses or a delay ring buffer whose arrays alone exceed the
machine's memory is refused with a :class:`~spikesim.errors.ParameterError` naming the object
and field, instead of a MemoryError (or minutes of swapping) deep inside numpy or torch. The
estimates are lower bounds (a distance-dependent rule's synapses: their expected number, see
:func:`distance_synapses`): what passes may still be slow. Pure description code (no torch):
the engine passes its device's memory, :meth:`Network.frozen` the host's.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from .connectivity import _MAX_MASK_ELEMENTS, Dense, DistanceDependent, Explicit, FixedFanIn, Sparse
from .errors import ParameterError

if TYPE_CHECKING:
    from .network import Network, Population

__all__ = [
    "check_memory",
    "host_memory_bytes",
    "require_fits",
    "distance_synapses",
    "distance_workspace_bytes",
]


def host_memory_bytes() -> int | None:
    """The machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def require_fits(where: str, field: str, n_bytes: float, found: str, hint: str = "") -> None:
    """Refuse, before allocating, arrays of ``n_bytes`` (a lower bound) that exceed the host's
    memory: a :class:`~spikesim.errors.ParameterError` naming ``where`` and ``field``, the limit
    and ``found`` (what the user asked for), instead of a MemoryError or minutes of swapping
    inside numpy or torch. The one such check for models/ and hardware/."""
    limit = host_memory_bytes()
    if limit is not None and n_bytes > limit:
        raise ParameterError(
            where,
            field,
            f"arrays that fit in memory ({limit / 2**30:.1f} GiB on host)",
            f"{found}: at least {n_bytes / 2**30:.3g} GiB",
            hint=hint,
        )


def _pair_integral(a0: float, a1: float, b0: float, b1: float, sigma: float) -> float:
    """``∫_a0^a1 ∫_b0^b1 exp(-(x - y)² / 2σ²) dy dx`` in closed form (erf)."""
    c = math.sqrt(2.0) * sigma

    def phi2(u: float) -> float:  # an even function with phi2'' = the Gaussian, phi2(0) = 0
        return (
            sigma
            * math.sqrt(math.pi / 2)
            * (u * math.erf(u / c) + c / math.sqrt(math.pi) * (math.exp(-((u / c) ** 2)) - 1.0))
        )

    return phi2(a1 - b0) - phi2(a0 - b0) - phi2(a1 - b1) + phi2(a0 - b1)


def _sheet_axis(n_post: int, s_post: float, n_pre: int, s_pre: float, sigma: float, wrap: bool):
    """Σ over (post, pre) coordinate pairs of one sheet axis of exp(-w² / 2σ²), as the integral
    over the cells the lattice points stand for (each point covers one spacing). ``wrap``: a
    torus axis whose pre lattice covers the post period, so every post point sees the Gaussian
    over one whole period."""
    if wrap:
        period = n_post * s_post
        per_post = math.sqrt(2 * math.pi) * sigma * math.erf(period / (2 * math.sqrt(2) * sigma))
        return n_post * per_post / s_pre
    a0, a1 = -s_post / 2, (n_post - 0.5) * s_post
    b0, b1 = -s_pre / 2, (n_pre - 0.5) * s_pre
    return _pair_integral(a0, a1, b0, b1, sigma) / (s_post * s_pre)


def distance_synapses(conn: DistanceDependent, pre: Population, post: Population) -> float:
    """Expected number of synapses :class:`~spikesim.connectivity.DistanceDependent` draws
    between ``pre`` and ``post``: Σ over pairs of ``p_max exp(-d² / 2σ²)``, with the lattice
    sums replaced by integrals (closed form, O(1) whatever the sizes).

    By Poisson summation the integral equals the lattice sum up to a relative
    ``2 exp(-2π² σ² / spacing²)`` (1.4 % at σ = spacing / 2, 5e-9 at σ = spacing) plus the
    half-cell edge terms; for σ much below the spacing it is lower (only coinciding positions
    connect). A ring uses the post ring's arc metric, a sheet is separable into its two axes
    (wrapped on a torus). Excluded self pairs (``allow_self=False`` between equal sizes)
    count ``p_max`` each, the most they can be. Pre and post of different layout kinds (a
    ring onto a sheet) have no estimate here: 0."""
    from .network import Ring, Sheet  # local import: network imports this module lazily

    n_pre, n_post = pre.size, post.size
    sigma, pl, ql = conn.sigma_m, pre.layout, post.layout
    if isinstance(ql, Ring) and isinstance(pl, Ring):
        circ = ql.circumference_m  # distance = post ring radius x angle
        per_pair = math.sqrt(2 * math.pi) * sigma * math.erf(circ / (2 * math.sqrt(2) * sigma))
        pairs = n_post * n_pre * per_pair / circ
    elif isinstance(ql, Sheet) and isinstance(pl, Sheet):
        pairs = 1.0
        for nq, np_ in ((ql.cols, pl.cols), (ql.rows, pl.rows)):
            wrap = ql.periodic and math.isclose(np_ * pl.spacing_m, nq * ql.spacing_m)
            pairs *= _sheet_axis(nq, ql.spacing_m, np_, pl.spacing_m, sigma, wrap)
    else:
        return 0.0
    expected = conn.p_max * min(pairs, float(n_pre) * n_post)
    if not conn.allow_self and n_pre == n_post:
        expected -= conn.p_max * n_post
    return max(expected, 0.0)


def distance_workspace_bytes(pre: Population, post: Population) -> float:
    """Host memory the drawing of a distance-dependent projection needs besides its synapses:
    the positions of both populations, and the pairs of one block of post rows, which
    :func:`~spikesim.connectivity.materialize` evaluates at once (``2**24 // n_pre`` rows, at
    least one). Per pair of the block, float64 arrays alive together at the peak (measured with
    tracemalloc): 3 on a ring (distance, probability, uniform draw), 5 on a sheet (coordinate
    differences and their squares), 6 on a torus sheet (the wrapped differences too). The
    drawing's time grows with every pair, n_pre x n_post, whatever the synapses."""
    from .network import Sheet

    n_pre, n_post = pre.size, post.size
    rows = min(n_post, max(1, _MAX_MASK_ELEMENTS // max(n_pre, 1)))
    ql = post.layout
    words = (6 if ql.periodic else 5) if isinstance(ql, Sheet) else 3
    return 8.0 * words * rows * n_pre + 16.0 * (n_pre + n_post)


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
        n_syn, found, work = 0.0, "", 0.0
        if isinstance(conn, Dense):
            n_syn, found = float(n_pre) * n_post, f"{n_post} x {n_pre} dense weights"
        elif isinstance(conn, Sparse):
            n_syn = conn.p * n_pre * n_post
            found = f"about {n_syn:.3g} synapses (p = {conn.p:g} of {n_post} x {n_pre})"
        elif isinstance(conn, FixedFanIn):
            n_syn, found = float(conn.k) * n_post, f"{n_post} x k = {conn.k} synapses"
        elif isinstance(conn, DistanceDependent):
            pre, post = network.populations[pr.pre], network.populations[pr.post]
            n_syn = distance_synapses(conn, pre, post)
            work = distance_workspace_bytes(pre, post)
            found = (
                f"about {n_syn:.3g} synapses (p_max = {conn.p_max:g}, sigma_m = "
                f"{conn.sigma_m:g} over {n_post} x {n_pre} pairs) and "
                f"{work / 2**30:.3g} GiB to draw them"
            )
        if n_syn or work:
            dense = isinstance(conn, Dense)
            refuse(
                where,
                "connectivity",
                "a connectivity whose synapses fit",
                n_syn * (8.0 if dense else 32.0) + work,
                n_syn * itemsize,
                found,
                "A dense projection stores every pre-post weight; use Sparse or FixedFanIn."
                if dense
                else "Use a smaller sigma_m or p_max, or fewer neurons (drawing evaluates "
                "every pre-post pair, one block of post rows at a time)."
                if work
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
