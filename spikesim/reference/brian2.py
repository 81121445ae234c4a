"""Brian2 as the reference simulator: build the same network from the description and run it.

The description is frozen with the run's seed first (:meth:`Network.frozen`), so Brian2 gets
exactly the synapses, weights, delays and initial values the torch engine uses. Supported:
LIF and AdLIF populations (current- or conductance-based exponential synapses, refractory
period), spike-time sources, step currents, spike monitors. Poisson sources are drawn by
spikesim's generator and given to Brian2 as spike times, so inputs are identical too.

Targets: ``"numpy"`` (runtime), ``"cython"`` (runtime, compiled), ``"cpp_standalone"``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from typing import Any

import numpy as np

from ..connectivity import Explicit
from ..errors import ParameterError
from ..network import Network, PoissonSource, SpikeMonitor, SpikeTimesSource
from ..neurons import LIF, AdLIF
from ..results import Result, SpikeData

__all__ = ["run_brian2", "poisson_as_spike_times"]


def poisson_as_spike_times(network: Network, *, duration_s: float, seed: int) -> Network:
    """A copy where each Poisson source is replaced by the spike times it produces (numpy RNG).

    Use the returned network in both simulators to give them identical input spikes.
    """
    d = network.to_dict()
    frozen = network.frozen(seed=seed)
    rng = np.random.default_rng(seed + 104729)
    n_steps = int(round(duration_s / network.dt_s))
    for p in d["populations"]:
        src = p.get("source")
        if not src or src["kind"] != "poisson":
            continue
        pop = frozen.populations[p["name"]]
        assert isinstance(pop.model, PoissonSource)
        rate = np.broadcast_to(np.asarray(pop.model.rate_hz, dtype=float), (pop.size,))
        steps, idx = [], []
        for k0 in range(0, n_steps, 1000):
            k1 = min(n_steps, k0 + 1000)
            z = rng.random((k1 - k0, pop.size)) < rate * network.dt_s
            s, i = np.nonzero(z)
            steps.append(s + k0)
            idx.append(i)
        steps_a, idx_a = np.concatenate(steps), np.concatenate(idx)
        p["source"] = {
            "kind": "spike_times",
            "indices": idx_a.tolist(),
            "times_s": (steps_a * network.dt_s).tolist(),
        }
    return Network.from_dict(d)


def _equations(m: LIF, currents: list[str]) -> tuple[str, str]:
    adapt = " - w_ad" if isinstance(m, AdLIF) else ""
    if m.synapse == "conductance":
        eqs = (
            f"dv/dt = (v_rest - v + ge*(e_exc - v) + gi*(e_inh - v) + i_bias + i_ext{adapt})/tau_m : volt (unless refractory)\n"
            "dge/dt = -ge/tau_e : 1\n"
            "dgi/dt = -gi/tau_i : 1\n"
        )
        method = "exponential_euler"
    else:
        eqs = (
            f"dv/dt = (v_rest - v + ge - gi + i_bias + i_ext{adapt})/tau_m : volt (unless refractory)\n"
            "dge/dt = -ge/tau_e : volt\n"
            "dgi/dt = -gi/tau_i : volt\n"
        )
        method = "exact"
    eqs += "i_bias : volt\n"
    ext = " + ".join(f"amp_{c} * ta_{c}(t)" for c in currents) or "0*volt"
    eqs += f"i_ext = {ext} : volt\n"
    eqs += "".join(f"amp_{c} : volt\n" for c in currents)
    if isinstance(m, AdLIF):
        eqs += "dw_ad/dt = (a_ad*(v - v_rest) - w_ad)/tau_w : volt\n"
        method = "exponential_euler"
    return eqs, method


def run_brian2(
    network: Network,
    *,
    duration_s: float,
    seed: int = 0,
    target: str = "numpy",
    build_dir: str | None = None,
) -> Result:
    """Run ``network`` in Brian2 and return a spikesim :class:`Result` (spike monitors).

    Raises :class:`ParameterError` for parts Brian2 here does not support (e.g. CUBA LIF).
    ``provenance['wall_time_s']`` is the time of ``run()`` (for cpp_standalone: build + run),
    ``provenance['sim_time_s']`` Brian2's own measurement of the simulation loop where known.
    """
    with warnings.catch_warnings():
        # Brian2 2.9's equation parser uses pyparsing names that pyparsing >= 3.3 deprecates
        warnings.filterwarnings("ignore", message=r".*deprecated", category=DeprecationWarning)
        return _run_brian2(
            network, duration_s=duration_s, seed=seed, target=target, build_dir=build_dir
        )


def _run_brian2(
    network: Network,
    *,
    duration_s: float,
    seed: int = 0,
    target: str = "numpy",
    build_dir: str | None = None,
) -> Result:
    """Run ``network`` in Brian2 and return a spikesim :class:`Result` (spike monitors).

    Raises :class:`ParameterError` for parts Brian2 here does not support (e.g. CUBA LIF).
    ``provenance['wall_time_s']`` is the time of ``run()`` (for cpp_standalone: build + run),
    ``provenance['sim_time_s']`` Brian2's own measurement of the simulation loop where known.
    """
    import brian2 as b2

    if target not in ("numpy", "cython", "cpp_standalone"):
        raise ParameterError(
            "run_brian2", "target", "'numpy', 'cython' or 'cpp_standalone'", target
        )
    net = network.frozen(seed=seed)
    dt = network.dt_s
    directory = build_dir or tempfile.mkdtemp(prefix="spikesim_b2_")
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.device.reinit()
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = target
    b2.start_scope()
    b2.defaultclock.dt = dt * b2.second
    mV, _ms = b2.mV, b2.ms
    groups: dict[str, Any] = {}
    objs: list[Any] = []
    for name, pop in net.populations.items():
        m = pop.model
        where = f"population {name!r}"
        if isinstance(m, SpikeTimesSource):
            g = b2.SpikeGeneratorGroup(
                pop.size,
                np.asarray(m.indices, dtype=np.int64),
                np.asarray(m.times_s) * b2.second,
                dt=dt * b2.second,
                sorted=False,
            )
        elif isinstance(m, LIF):
            currents = [c.name for c in net.currents.values() if c.target == name]
            eqs, method = _equations(m, currents)
            ns = {
                "v_rest": m.v_rest_mV * mV,
                "tau_m": m.tau_mem_s * b2.second,
                "tau_e": m.tau_syn_exc_s * b2.second,
                "tau_i": m.tau_syn_inh_s * b2.second,
                "e_exc": m.e_exc_mV * mV,
                "e_inh": m.e_inh_mV * mV,
                "v_th": m.v_th_mV * mV,
                "v_reset": m.v_reset_mV * mV,
            }
            n_steps = int(round(duration_s / dt)) + 2
            for c in net.currents.values():
                if c.target != name:
                    continue
                on = np.zeros(n_steps)
                k0 = int(round(c.start_s / dt))
                k1 = n_steps if c.stop_s is None else int(round(c.stop_s / dt))
                on[k0:k1] = 1.0
                ns[f"ta_{c.name}"] = b2.TimedArray(on, dt=dt * b2.second)
            reset = "v = v_reset"
            if isinstance(m, AdLIF):
                ns.update({"a_ad": m.a, "tau_w": m.tau_adapt_s * b2.second, "b_ad": m.b_mV * mV})
                reset += "\nw_ad += b_ad"
            g = b2.NeuronGroup(
                pop.size,
                eqs,
                threshold="v > v_th",
                reset=reset,
                refractory=m.t_ref_s * b2.second,
                method=method,
                namespace=ns,
                name=f"pop_{name}",
            )
            g.v = np.asarray(m.v_init_mV) * mV
            g.i_bias = np.asarray(m.i_bias_mV) * mV
            for c in net.currents.values():
                if c.target == name:
                    amp = np.broadcast_to(np.asarray(c.amplitude_mV, dtype=float), (pop.size,))
                    setattr(g, f"amp_{c.name}", amp * mV)
        else:
            raise ParameterError(
                where,
                "model",
                "LIF/AdLIF neurons or spike-time sources for the Brian2 reference",
                getattr(m, "kind", m),
            )
        groups[name] = g
        objs.append(g)
    for name, pr in net.projections.items():
        conn = pr.connectivity
        if not isinstance(conn, Explicit):
            raise ParameterError(
                f"projection {name!r}",
                "connectivity",
                "drawable connectivity (frozen to explicit synapses)",
                conn.kind,
            )
        var = "ge" if pr.receptor == "exc" else "gi"
        s = b2.Synapses(
            groups[pr.pre],
            groups[pr.post],
            model="w : 1" if _is_cond(net, pr.post) else "w : volt",
            on_pre=f"{var} += w",
            name=f"syn_{name}",
        )
        s.connect(i=np.asarray(conn.pre), j=np.asarray(conn.post))
        w = np.asarray(conn.weight, dtype=float)
        s.w = w if _is_cond(net, pr.post) else w * mV
        delays = (
            np.zeros(len(conn.pre), np.int64)
            if conn.delay_steps is None
            else np.asarray(conn.delay_steps)
        ) + pr.delay_steps
        s.delay = delays * dt * b2.second
        objs.append(s)
    mons: dict[str, Any] = {}
    for mname, mon in net.monitors.items():
        if isinstance(mon, SpikeMonitor):
            mons[mname] = b2.SpikeMonitor(groups[mon.target], name=f"mon_{mname}")
            objs.append(mons[mname])
    bnet = b2.Network(*objs)
    t0 = time.perf_counter()
    bnet.run(duration_s * b2.second, namespace={})
    if target == "cpp_standalone":
        b2.device.build(directory=directory, run=True, compile=True)
    wall = time.perf_counter() - t0
    res = Result(
        network=network.to_dict(),
        run={
            "n_steps": int(round(duration_s / dt)),
            "dt_s": dt,
            "mode": "spiking",
            "batch_size": 1,
            "seed": seed,
            "dtype": "float64",
            "device": f"brian2-{target}",
            "monitor_indices": {},
        },
        provenance={
            "wall_time_s": wall,
            "sim_time_s": getattr(b2.device, "_last_run_time", None),  # the loop alone
            "brian2": b2.__version__,
        },
    )
    for mname, sm in mons.items():
        mon = net.monitors[mname]
        t = np.asarray(sm.t / b2.second)
        res.spikes[mname] = SpikeData(
            mon.target,
            net.populations[mon.target].size,
            np.rint(t / dt).astype(np.int64),
            np.zeros(t.size, np.int32),
            np.asarray(sm.i, dtype=np.int64),
        )
    if target == "cpp_standalone":
        b2.device.reinit()
        b2.set_device("runtime")
    return res


def _is_cond(net: Network, pop: str) -> bool:
    return getattr(net.populations[pop].model, "synapse", "current") == "conductance"
