"""Classic reference networks, built as spikesim descriptions."""

from __future__ import annotations

from spikesim import LIF, Network, Sparse, Uniform
from spikesim._validate import check_finite, check_int
from spikesim.errors import ParameterError

__all__ = ["vogels_abbott_coba"]


def vogels_abbott_coba(
    *,
    n: int = 4000,
    p: float = 0.02,
    frac_exc: float = 0.8,
    w_exc: float = 0.6,
    w_inh: float = 6.7,
    dt_s: float = 1e-4,
    monitor: bool = True,
) -> Network:
    """The conductance-based balanced network of Vogels & Abbott (2005), as in Brette et al.
    (2007) and Brian2's COBA benchmark: 4000 LIF neurons (80 % excitatory), 2 % random
    connectivity, conductances relative to the leak (we = 0.6, wi = 6.7), a constant drive of
    20 mV, 5 ms refractory period, initial v uniform between reset and threshold.
    """
    where = "vogels_abbott_coba"
    n = check_int(where, "n", n, minimum=2)
    frac_exc = check_finite(where, "frac_exc", frac_exc)
    n_exc = int(round(n * frac_exc))
    if not 1 <= n_exc <= n - 1:
        raise ParameterError(
            where,
            "frac_exc",
            f"a fraction leaving >= 1 excitatory and >= 1 inhibitory of {n}",
            frac_exc,
        )
    if not isinstance(monitor, bool):
        raise ParameterError(where, "monitor", "True or False", monitor)
    model = LIF(
        tau_mem_s=20e-3,
        v_rest_mV=-60.0,
        v_reset_mV=-60.0,
        v_th_mV=-50.0,
        t_ref_s=5e-3,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
        synapse="conductance",
        e_exc_mV=0.0,
        e_inh_mV=-80.0,
        i_bias_mV=20.0,
        v_init_mV=Uniform(-60.0, -50.0),
    )
    net = Network(dt_s=dt_s, name="coba")
    net.add_population("exc", n_exc, model)
    net.add_population("inh", n - n_exc, model)
    for pre, receptor, w in (("exc", "exc", w_exc), ("inh", "inh", w_inh)):
        for post in ("exc", "inh"):
            net.add_projection(f"{pre}_{post}", pre, post, Sparse(p=p, weight=w), receptor=receptor)
    if monitor:
        net.monitor_spikes("exc")
        net.monitor_spikes("inh")
    return net
