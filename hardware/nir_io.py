"""NIR (Neuromorphic Intermediate Representation, the ``nir`` package) export and import.

spikesim's :class:`~spikesim.neurons.CubaLIF` is a discrete-time model; NIR's ``CubaLIF`` is a
continuous-time ODE without a time step. The conversion uses the convention snnTorch's NIR
export uses (forward Euler at the time step ``dt``), under which both sides give the same
discrete updates::

    NIR:       tau_syn dI/dt = -I + w_in x          tau_mem dv/dt = v_leak - v + r I
    Euler dt:  I <- (1 - dt/tau_syn) I + (dt/tau_syn) w_in x
               v <- (1 - dt/tau_mem) v + (dt/tau_mem) (v_leak + r I)
    spikesim:  u <- a_syn u + x                     v <- a_mem v + u + bias

Export (CubaLIF populations, and current-based LIF populations through their exact CUBA form,
see :func:`spikesim.hardware.quantize._as_cuba`): ``tau = dt / (1 - a)`` (``a = exp(-dt_s / tau_s)``), ``r = tau_mem / dt``,
``w_in = tau_syn / dt``, ``v_leak = bias tau_mem / dt``, ``v_reset = 0``; every population also feeds an ``Output`` node; each projection is a
``Linear`` node (inhibitory receptors negate the weights), a uniform ``delay_steps`` d becomes
a ``Delay`` node of ``d dt`` seconds after it. ``dt_s`` is stored in the graph metadata.

Import: the inverse, with ``r``, ``w_in`` and the threshold folded into the incoming weights
(exact), ``v_leak`` into the bias. Conv2d nodes (with Flatten before a Linear) map
to spikesim's Conv2d connectivity both ways. Refused with
:class:`~spikesim.errors.ParameterError` naming the node: LIF nodes (no synaptic current: spikesim's CubaLIF needs tau_syn >= dt),
per-neuron time constants (spikesim and Loihi share them per population), a non-zero
``v_reset``, an Affine bias feeding a CubaLIF (no exact CUBA form), delays that are not whole
steps, dilated or grouped convolutions, and node types other than Input, Output, Affine,
Linear, Conv2d, Flatten, Delay and CubaLIF. Non-finite parameters or weights, neuron counts
above ``MAX_NIR_NEURONS`` and delays above ``MAX_NIR_DELAY_STEPS`` are refused the same way,
as are graphs whose structure spikesim would have to guess at: an edge naming a missing node,
a cycle of Delay/Flatten nodes, a weight matrix whose rows are not the target's neurons (never
broadcast), a per-source delay before a weight node (never averaged), and a weight node whose
output reaches no CubaLIF (a readout into an Output: never dropped).
:func:`read_nir` names the file in every error, and checks the content digest of the files
:func:`write_nir` writes (:mod:`~spikesim.hardware.hdf5_files`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from spikesim._validate import check_positive
from spikesim.connectivity import Dense as FloatDense
from spikesim.connectivity import OneToOne
from spikesim.errors import ConfigError, ParameterError, ShapeError, SpikesimError
from spikesim.network import Network
from spikesim.neurons import CubaLIF

from .hdf5_files import H5_ERRORS, file_path, naming_file, open_checked, repack, writable_path
from .loihi.network import _int_array

__all__ = ["from_nir", "read_nir", "to_nir", "write_nir"]


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - nir is a dependency of the hardware extra
        raise ConfigError("nir", "import", f"the nir package is needed: {exc}") from None
    return nir


# ------------------------------------------------------------------------------ export


def to_nir(net: Network, *, seed: int | None = None) -> Any:
    """The NIR graph (``nir.NIRGraph``) of a float CubaLIF network (see the module doc)."""
    from .quantize import _as_cuba, _freeze, _needs_seed, _project_dense, _seed, check_size

    nir = _nir()
    check_size(net, "to_nir")
    seed = _seed("to_nir", seed)
    if _needs_seed(net):
        if seed is None:
            raise ParameterError(
                "to_nir", "seed", "an integer (the network has random parts)", None
            )
        net = _freeze(net, seed)
    dt = net.dt_s
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    gains: dict[str, float] = {}  # a current-based LIF exports as its exact CUBA form
    from spikesim.connectivity import Conv2d as FloatConv2d

    # populations touched by a Conv2d keep their (c, h, w) shape in the graph
    shaped = {
        name
        for pr in net.projections.values()
        if isinstance(pr.connectivity, FloatConv2d)
        for name in (pr.pre, pr.post)
    }
    shapes = {
        p.name: tuple(p.dims) if p.name in shaped else (p.size,) for p in net.populations.values()
    }
    for p in net.populations.values():
        n = p.size
        if p.is_source:
            nodes[p.name] = nir.Input(input_type={"input": np.array(shapes[p.name])})
            continue
        m, gains[p.name], _ = _as_cuba(f"population {p.name!r}", p.model, n, dt)
        if m.v_init is not None and np.any(np.asarray(m.v_init) != 0):
            raise ParameterError(f"population {p.name!r}", "v_init", "0 (NIR has no state)", "≠ 0")
        a_syn, a_mem = math.exp(-dt / m.tau_syn_s), math.exp(-dt / m.tau_mem_s)
        tau_syn, tau_mem = dt / (1 - a_syn), dt / (1 - a_mem)
        sh = shapes[p.name]
        bias = np.broadcast_to(np.asarray(m.bias, dtype=np.float64), (n,)).reshape(sh)
        nodes[p.name] = nir.CubaLIF(
            tau_syn=np.full(sh, tau_syn),
            tau_mem=np.full(sh, tau_mem),
            r=np.full(sh, tau_mem / dt),
            v_leak=bias * tau_mem / dt,
            v_threshold=np.full(sh, float(m.v_th)),
            v_reset=np.zeros(sh),
            w_in=np.full(sh, tau_syn / dt),
        )
    if net.currents:
        name = next(iter(net.currents))
        raise ParameterError(
            f"current {name!r}", "current", "none (NIR has no current input)", name
        )
    for name, pr in net.projections.items():
        where = f"projection {name!r}"
        sign = -1.0 if pr.receptor == "inh" else 1.0
        if isinstance(pr.connectivity, FloatConv2d):
            c = pr.connectivity
            h, w = shapes[pr.pre][1:]
            kernel = sign * np.asarray(c.kernel, dtype=np.float64) * gains[pr.post]
            nodes[name] = nir.Conv2d(
                input_shape=(h, w), weight=kernel, stride=c.stride, padding=c.padding,
                dilation=1, groups=1, bias=np.zeros(kernel.shape[0]),
            )  # fmt: skip
            _link(nir, nodes, edges, name, pr.pre, pr.post, pr.delay_steps * dt, shapes[pr.post])
            continue
        if len(shapes[pr.post]) > 1:
            raise ParameterError(
                where,
                "connectivity",
                "Conv2d into a population shaped by a Conv2d (NIR has no unflatten)",
                pr.connectivity.kind,
            )
        q = _project_dense(net, name)
        d = np.unique(q.delays[q.mask])
        if d.size > 1:
            raise ParameterError(
                f"projection {name!r}",
                "delay_steps",
                "one delay for the whole projection (NIR's Delay node is per target neuron)",
                d.tolist(),
            )
        nodes[name] = nir.Linear(weight=np.where(q.mask, q.w, 0.0) * gains[pr.post])
        source = pr.pre
        if len(shapes[pr.pre]) > 1:
            flat = f"{name}_flatten"
            nodes[flat] = nir.Flatten(
                input_type={"input": np.array(shapes[pr.pre])}, start_dim=0, end_dim=-1
            )
            edges.append((pr.pre, flat))
            source = flat
        delay_s = float(d[0]) * dt if d.size else 0.0
        _link(nir, nodes, edges, name, source, pr.post, delay_s, shapes[pr.post])
    for p in net.populations.values():
        # every population is an output (its spikes are observable, as in a Lava export)
        if not p.is_source:
            out = f"{p.name}_output"
            if out in nodes:
                raise ParameterError(f"population {p.name!r}", "name", "free NIR node names", out)
            nodes[out] = nir.Output(output_type={"output": np.array(shapes[p.name])})
            edges.append((p.name, out))
    meta = {"dt_s": dt, "exporter": "spikesim", "convention": "forward Euler at dt_s"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _link(nir, nodes, edges, name, source, target, delay_s: float, shape) -> None:
    """Edges source -> name (-> name_delay) -> target."""
    edges.append((source, name))
    if delay_s > 0:
        nodes[f"{name}_delay"] = nir.Delay(delay=np.full(shape, delay_s))
        edges.extend([(name, f"{name}_delay"), (f"{name}_delay", target)])
    else:
        edges.append((name, target))


def write_nir(net: Network, path: str | os.PathLike[str], *, seed: int | None = None) -> None:
    """Write :func:`to_nir`'s graph to an NIR HDF5 file, in the HDF5 1.8 format (checksummed
    metadata) with spikesim's content digest (:mod:`~spikesim.hardware.hdf5_files`; NIR
    readers ignore the extra root attributes)."""
    p = writable_path("write_nir", path)
    _nir().write(p, to_nir(net, seed=seed))
    repack(p)


# ------------------------------------------------------------------------------ import


#: Largest NIR delay read, in steps: spikesim keeps ``delay + 1`` steps of spikes per neuron,
#: so a larger one (a damaged file, or ``dt_s`` far off) would allocate without bound.
MAX_NIR_DELAY_STEPS = 1 << 16

#: Largest neuron count of an NIR node read (Loihi's and spikesim's integer sizes).
MAX_NIR_NEURONS = 2**31 - 1


def _finite(where: str, field: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array, refused unless numeric and finite."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise ParameterError(where, field, "finite numbers", f"an array of dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ParameterError(where, field, "finite numbers (no NaN or Inf)", "NaN or Inf")
    return a


def _uniform(where: str, field: str, arr: np.ndarray, why: str) -> float:
    a = _finite(where, field, arr).ravel()
    if a.size and not np.allclose(a, a[0], rtol=1e-6, atol=0):
        raise ParameterError(
            where, field, f"one value for all neurons ({why})", "per-neuron values"
        )
    return float(a[0])


def _ident(key: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    return name if name.isidentifier() else f"node_{name}"


def from_nir(graph: Any, *, dt_s: float | None = None, name: str = "from_nir") -> Network:
    """A spikesim Network (spike_tensor sources, CubaLIF populations, Dense/OneToOne
    projections) from an ``nir.NIRGraph`` (see the module doc for the mapping)."""
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise ParameterError("from_nir", "graph", "an nir.NIRGraph", type(graph).__name__)
    if not isinstance(graph.nodes, dict) or not graph.nodes:
        raise ParameterError("from_nir", "graph.nodes", "a non-empty dict of nodes", graph.nodes)
    for k, edge in enumerate(graph.edges):
        if not (isinstance(edge, (tuple, list)) and len(edge) == 2):
            raise ParameterError("from_nir", f"graph.edges[{k}]", "a (source, target) pair", edge)
        for end in edge:
            if end not in graph.nodes:
                raise ParameterError(
                    "from_nir", f"graph.edges[{k}]", "names of nodes of the graph", end
                )
    if dt_s is None:
        dt_s = (graph.metadata or {}).get("dt_s")
    if dt_s is None:
        raise ParameterError(
            "from_nir", "dt_s", "the time step in seconds (NIR graphs carry none)", None
        )
    dt = check_positive(
        "from_nir", "dt_s", np.asarray(dt_s).reshape(-1)[0] if np.size(dt_s) == 1 else dt_s
    )
    net = Network(dt_s=dt, name=name)
    names = {k: _ident(k) for k in graph.nodes}
    preds: dict[str, list[str]] = {k: [] for k in graph.nodes}
    succs: dict[str, list[str]] = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        succs[a].append(b)
        preds[b].append(a)

    scale: dict[str, np.ndarray] = {}
    for key, node in graph.nodes.items():
        where = f"NIR node {key!r}"
        if isinstance(node, nir.Input):
            raw = np.asarray(next(iter(node.input_type.values()))).reshape(-1)
            shape = _int_array(where, "shape", raw, raw.shape, 1, MAX_NIR_NEURONS)
            if shape.size == 0 or np.prod(shape, dtype=np.float64) > MAX_NIR_NEURONS:
                raise ParameterError(
                    where, "shape", f"1 to {MAX_NIR_NEURONS} neurons", shape.tolist()
                )
            dims = tuple(int(x) for x in shape) if shape.size > 1 else None
            net.add_spike_tensor(names[key], int(np.prod(shape)), shape=dims)
        elif isinstance(node, nir.CubaLIF):
            node_shape = np.asarray(node.tau_mem).shape
            n = int(np.prod(node_shape))
            if n == 0:
                raise ParameterError(where, "tau_mem", "one value per neuron (>= 1 neuron)", [])
            for field in ("tau_syn", "tau_mem", "r", "w_in", "v_threshold", "v_leak"):
                _finite(where, field, getattr(node, field))
            why = "spikesim and Loihi share time constants per population"
            tau_syn = _uniform(where, "tau_syn", node.tau_syn, why)
            tau_mem = _uniform(where, "tau_mem", node.tau_mem, why)
            if node.v_reset is not None and np.any(np.asarray(node.v_reset) != 0):
                raise ParameterError(where, "v_reset", "0 (CubaLIF and Loihi reset to 0)", "≠ 0")
            for field, tau in (("tau_syn", tau_syn), ("tau_mem", tau_mem)):
                if not tau > dt:
                    raise ParameterError(where, field, f"> dt_s ({dt}) for a decaying state", tau)
            a_syn, a_mem = 1 - dt / tau_syn, 1 - dt / tau_mem
            r = _flat(node.r, node_shape)
            w_in = _flat(node.w_in, node_shape)
            theta = _flat(node.v_threshold, node_shape)
            leak = _flat(node.v_leak, node_shape)
            if np.any(theta <= 0):
                raise ParameterError(where, "v_threshold", "> 0", float(theta.min()))
            same = np.allclose(theta, theta[0], rtol=1e-12, atol=0)
            v_th = float(theta[0]) if same else 1.0
            norm = np.full(n, v_th) if same else theta
            gain = (dt / tau_syn) * w_in * (dt / tau_mem) * r / norm * v_th
            scale[key] = gain
            bias = (dt / tau_mem) * leak / norm * v_th
            net.add_population(
                names[key],
                n,
                shape=node_shape if len(node_shape) > 1 else None,
                model=CubaLIF(
                    tau_syn_s=-dt / math.log(a_syn),
                    tau_mem_s=-dt / math.log(a_mem),
                    v_th=v_th,
                    bias=bias.copy() if np.any(bias != 0) else 0.0,
                ),
            )
        elif isinstance(node, nir.LIF):
            raise ParameterError(
                where,
                "type",
                "CubaLIF (a NIR LIF has no synaptic current; spikesim's CubaLIF needs "
                "tau_syn >= dt)",
                "LIF",
            )
        elif not isinstance(
            node, (nir.Output, nir.Affine, nir.Linear, nir.Delay, nir.Conv2d, nir.Flatten)
        ):
            raise ParameterError(
                where,
                "type",
                "one of Input, Output, Affine, Linear, Conv2d, Flatten, Delay, CubaLIF",
                type(node).__name__,
            )

    used: set[str] = set()  # the nodes a projection is built from

    def back(
        k: str, delay: np.ndarray | None, seen: tuple[str, ...] = ()
    ) -> tuple[str, np.ndarray | None]:
        node = graph.nodes[k]
        if k in seen:
            raise ParameterError(
                f"NIR node {k!r}", "inputs", "a path from a node with state (no cycle of "
                "Delay/Flatten nodes)", list((*seen, k)),
            )  # fmt: skip
        used.add(k)
        if isinstance(node, nir.Delay):
            if len(preds[k]) != 1:
                raise ParameterError(f"NIR node {k!r}", "inputs", "exactly one", preds[k])
            d = _finite(f"NIR node {k!r}", "delay", node.delay)
            return back(preds[k][0], d if delay is None else delay + d, (*seen, k))
        if isinstance(node, nir.Flatten):
            if len(preds[k]) != 1:
                raise ParameterError(f"NIR node {k!r}", "inputs", "exactly one", preds[k])
            return back(preds[k][0], delay, (*seen, k))
        return k, delay

    def uniform_delay(k: str, d2: np.ndarray | None) -> float | None:
        """A delay before a weight node is per source neuron: one value, or refused."""
        if d2 is None:
            return None
        return _uniform(f"NIR node {k!r}", "delay", d2, "one delay per projection")

    def steps_of(where: str, delay: np.ndarray | None) -> int:
        if delay is None:
            return 0
        d = _uniform(where, "delay", delay, "one delay per projection") / dt
        if abs(d - round(d)) > 1e-6 or d < 0:
            raise ParameterError(where, "delay", f"a whole number of steps of {dt} s", d * dt)
        if d > MAX_NIR_DELAY_STEPS:
            raise ParameterError(
                where, "delay", f"at most {MAX_NIR_DELAY_STEPS} steps of {dt} s", d * dt
            )
        return int(round(d))

    count = 0
    for key, node in graph.nodes.items():
        if not isinstance(node, nir.CubaLIF):
            continue
        for p in preds[key]:
            src, delay = back(p, None)
            used.add(src)
            where = f"NIR node {src!r}"
            src_node = graph.nodes[src]
            if isinstance(src_node, (nir.Affine, nir.Linear)):
                if isinstance(src_node, nir.Affine) and np.any(np.asarray(src_node.bias) != 0):
                    raise ParameterError(
                        where, "bias", "0 (a constant input into a CubaLIF current)", "≠ 0"
                    )
                if len(preds[src]) != 1:
                    raise ParameterError(where, "inputs", "exactly one", preds[src])
                pre, d2 = back(preds[src][0], None)
                d_in = uniform_delay(preds[src][0], d2)
                total = (
                    delay if d_in is None else np.asarray(d_in + (0 if delay is None else delay))
                )
                w = _finite(where, "weight", src_node.weight)
                n_post = scale[key].size
                if w.ndim != 2 or w.shape[0] != n_post:
                    raise ShapeError(
                        where,
                        f"weight (rows: the {n_post} neurons of {key!r})",
                        (n_post, w.shape[-1] if w.ndim else 0),
                        w.shape,
                    )
                w = w * scale[key][:, None]
                conn: Any = FloatDense(weight=w)
                proj_name = names[src]
            elif isinstance(src_node, nir.Conv2d):
                conn = _conv_from_nir(where, src_node, scale[key])
                if len(preds[src]) != 1:
                    raise ParameterError(where, "inputs", "exactly one", preds[src])
                pre, d2 = back(preds[src][0], None)
                d_in = uniform_delay(preds[src][0], d2)
                total = (
                    delay if d_in is None else np.asarray(d_in + (0 if delay is None else delay))
                )
                proj_name = names[src]
            else:
                pre, total = src, delay
                conn = OneToOne(weight=scale[key].copy())
                proj_name = f"{names[src]}_to_{names[key]}"
            if pre not in names or names[pre] not in net.populations:
                raise ParameterError(where, "input", "an Input or CubaLIF node", pre)
            if proj_name in net.projections or proj_name in net.populations:
                count += 1
                proj_name = f"{proj_name}_{count}"
            net.add_projection(
                proj_name,
                names[pre],
                names[key],
                conn,
                delay_steps=steps_of(f"NIR node {p!r}", total),
            )
    for key, node in graph.nodes.items():
        # a weight node whose output reaches no CubaLIF (e.g. a Linear readout into an Output)
        # would be dropped: spikesim has no stateless readout
        if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)) and key not in used:
            raise ParameterError(
                f"NIR node {key!r}",
                "outputs",
                "a CubaLIF node (directly or through Delay/Flatten): its weights would be dropped",
                succs[key],
            )
    return net


def _flat(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).reshape(-1)


def _pair(where: str, field: str, value: Any, lo: int) -> int:
    raw = np.atleast_1d(np.asarray(value)).reshape(-1)
    v = _int_array(where, field, raw, raw.shape, lo, 2**31 - 1)
    if not v.size or not np.all(v == v[0]):
        raise ParameterError(where, field, "the same value for both axes", v.tolist())
    return int(v[0])


def _conv_from_nir(where: str, node: Any, gain: np.ndarray) -> Any:
    """A spikesim Conv2d from an NIR Conv2d, the target's per-neuron gain folded per channel."""
    from spikesim.connectivity import Conv2d as FloatConv2d

    if isinstance(node.padding, str):
        raise ParameterError(where, "padding", "an integer", node.padding)
    if (
        _pair(where, "dilation", node.dilation, 1) != 1
        or _pair(where, "groups", node.groups, 1) != 1
    ):
        raise ParameterError(where, "dilation/groups", "1 and 1", (node.dilation, node.groups))
    if np.any(np.asarray(node.bias) != 0):
        raise ParameterError(where, "bias", "0 (a constant input into a CubaLIF current)", "≠ 0")
    k = _finite(where, "weight", node.weight)
    if k.ndim != 4 or k.shape[0] * (gain.size // max(k.shape[0], 1)) != gain.size:
        raise ParameterError(
            where, "weight", "a 4-D kernel (out channels, in channels, kh, kw) whose out "
            f"channels divide the target's {gain.size} neurons", f"an array of shape {k.shape}",
        )  # fmt: skip
    per_channel = gain.reshape(k.shape[0], -1)
    if not np.allclose(per_channel, per_channel[:, :1], rtol=1e-9, atol=0):
        raise ParameterError(
            where, "target gain", "one value per output channel (to fold into the kernel)", "varies"
        )
    return FloatConv2d(
        kernel=k * per_channel[:, 0][:, None, None, None],
        stride=_pair(where, "stride", node.stride, 1),
        padding=_pair(where, "padding", node.padding, 0),
    )


def read_nir(
    path: str | os.PathLike[str], *, dt_s: float | None = None, name: str = "from_nir"
) -> Network:
    """Read an NIR HDF5 file (written by spikesim, snnTorch, Norse, ...) into a Network.

    The file is checked first (:func:`~spikesim.hardware.hdf5_files.open_checked`: dataset
    sizes, and the content digest of files spikesim wrote); what the ``nir`` package cannot
    read raises :class:`~spikesim.errors.ConfigError`, and what :func:`from_nir` refuses its
    error with the file's path in front."""
    p = file_path("read_nir", path)
    with open_checked(p, what="NIR graph file"):
        pass
    try:
        graph = _nir().read(p)
    except SpikesimError:
        raise
    except (*H5_ERRORS, AssertionError) as err:
        raise ConfigError(
            p, "-", f"not a readable NIR graph: {type(err).__name__}: {err}"
        ) from None
    try:
        return from_nir(graph, dt_s=dt_s, name=name)
    except SpikesimError as err:
        raise naming_file(err, p) from None
