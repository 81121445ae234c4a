"""Continuous attractors: a line attractor (integrator) and bump ring attractors (head direction).

* :class:`ZhangRing` is the rate model of Zhang (1996): ``tau du/dt = -u + W f(u) + I`` on a ring
  of ``N`` units with ``W = W_sym + gamma dW_sym/dtheta``. ``W_sym`` is a cosine profile with
  global inhibition and ``f`` a sigmoid; the asymmetric part moves the bump at an angular speed
  proportional to ``gamma`` (``omega = gamma / tau`` for the cosine profile), so an
  angular-velocity signal ``omega(t)`` fed as ``gamma(t) = tau omega(t)`` is integrated into the
  bump position (head direction).
* :func:`line_attractor_network` is ``tau dr/dt = -r + W r + B u`` with ``W`` having one
  eigenvalue 1 (direction ``e``) and the others ``< 1``: ``e . r`` integrates ``e . B u / tau``
  and holds its value when the input stops. It is built as a spikesim
  :class:`~spikesim.Network` (rate units, ``Dense`` weights, ``add_current`` inputs) and run in
  rate mode.
* :func:`ring_attractor_network` is a spiking E/I bump attractor in the spirit of Compte et al.
  (2000): excitatory LIF neurons on a :class:`~spikesim.Ring` with a Gaussian ``Circulant``
  E->E kernel and slow (NMDA-like, 100 ms) excitatory synapses, an inhibitory population
  coupled all-to-all, Poisson background, and a cue current. ``neuron="cuba"`` builds the same
  network of :class:`~spikesim.CubaLIF` populations (Loihi's neuron) so it can be exported to
  Lava; weights are then in the CUBA model's units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from spikesim import (
    LIF,
    Circulant,
    CubaLIF,
    Dense,
    Network,
    OneToOne,
    RateUnit,
    Ring,
    Simulator,
    Uniform,
)
from spikesim._validate import check_finite, check_int, check_positive
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_fits, check_seed, finite_array

__all__ = [
    "ZhangRing",
    "bump_angle",
    "line_attractor_network",
    "run_line_attractor",
    "ring_attractor_network",
    "spiking_bump_angles",
]


def _check_int(where: str, field: str, value: object, minimum: int) -> int:
    return check_int(where, field, value, minimum=minimum)


def _check_pos(where: str, field: str, value: object) -> float:
    return check_positive(where, field, value)


def _check_result_net(where: str, net: object, population: str) -> Network:
    if not isinstance(net, Network) or population not in net.populations:
        found = sorted(net.populations) if isinstance(net, Network) else type(net).__name__
        raise ParameterError(where, "net", f"a network with the population {population!r}", found)
    return net


def bump_angle(activity: np.ndarray | torch.Tensor) -> np.ndarray:
    """Population-vector angle (rad, in ``(-pi, pi]``) of ring activity ``(..., N)``."""
    a = finite_array("bump_angle", "activity", activity)
    if a.ndim < 1 or a.shape[-1] < 2:
        raise ShapeError("bump_angle", "activity", ("...", "N >= 2"), a.shape)
    n = a.shape[-1]
    theta = 2 * np.pi * np.arange(n) / n
    return np.angle((a * np.exp(1j * theta)).sum(-1))


# ------------------------------------------------------------------------------ Zhang 1996


@dataclasses.dataclass
class ZhangRing:
    """Zhang's (1996) head-direction ring: ``tau du/dt = -u + (W_sym + gamma W') f(u) + I``.

    ``W_sym(d) = (j0 + j1 cos d) / N`` with ``d = theta_i - theta_j``; the asymmetric part is
    ``W'(d) = -dW_sym/dd = j1 sin(d) / N`` (sign chosen so that ``gamma > 0`` turns the bump
    towards increasing angle),
    ``f(u) = 1 / (1 + exp(-beta (u - theta)))``. Integrated with exponential Euler at ``dt_s``.
    """

    n: int = 128
    tau_s: float = 10e-3
    j0: float = -1.0
    j1: float = 10.0
    beta: float = 4.0
    theta: float = 1.0
    dt_s: float = 1e-3

    def __post_init__(self) -> None:
        w = "ZhangRing"
        self.n = _check_int(w, "n", self.n, 8)
        self.tau_s = _check_pos(w, "tau_s", self.tau_s)
        self.dt_s = _check_pos(w, "dt_s", self.dt_s)
        self.beta = _check_pos(w, "beta", self.beta)
        self.j0 = check_finite(w, "j0", self.j0)
        self.j1 = check_finite(w, "j1", self.j1)
        self.theta = check_finite(w, "theta", self.theta)
        check_fits(w, "n", 8.0 * 4 * self.n * self.n, f"{self.n} x {self.n} weights")
        if self.dt_s > self.tau_s:
            raise ParameterError(w, "dt_s", f"<= tau_s ({self.tau_s})", self.dt_s)
        ang = 2 * np.pi * np.arange(self.n) / self.n
        d = ang[:, None] - ang[None, :]
        self.angles = ang
        self.w_sym = torch.as_tensor((self.j0 + self.j1 * np.cos(d)) / self.n)
        self.w_asym = torch.as_tensor(self.j1 * np.sin(d) / self.n)

    def f(self, u: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.beta * (u - self.theta))

    def cue(
        self, angle_rad: float, *, amplitude: float = 3.0, width_rad: float = 0.5
    ) -> np.ndarray:
        """A von-Mises-like input bump centred on ``angle_rad``."""
        check_finite("ZhangRing.cue", "angle_rad", angle_rad)
        check_finite("ZhangRing.cue", "amplitude", amplitude)
        check_positive("ZhangRing.cue", "width_rad", width_rad)
        return amplitude * np.exp((np.cos(self.angles - angle_rad) - 1) / width_rad**2)

    def run(
        self,
        duration_s: float,
        *,
        u0: np.ndarray | torch.Tensor | None = None,
        external: np.ndarray | None = None,
        gamma: np.ndarray | float = 0.0,
        record_every: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Integrate; returns (times ``(K,)`` in s, rates ``f(u)`` ``(K, N)``) and keeps ``u``.

        ``external``: input ``(steps, N)`` or ``(N,)`` (held); ``gamma``: scalar or ``(steps,)``.
        """
        where = "ZhangRing.run"
        steps = int(round(_check_pos(where, "duration_s", duration_s) / self.dt_s))
        record_every = _check_int(where, "record_every", record_every, 1)
        n = self.n
        check_fits(
            where,
            "duration_s",
            8.0 * n * (steps // record_every + 1)
            + (8.0 * n * steps if external is not None and np.ndim(external) == 2 else 0.0),
            f"{steps} steps of {n} units",
        )
        u = (
            torch.zeros(n, dtype=torch.float64)
            if u0 is None
            else torch.as_tensor(finite_array(where, "u0", u0))
        )
        if u.shape != (n,):
            raise ShapeError(where, "u0", (n,), tuple(u.shape))
        ext = np.zeros(n) if external is None else finite_array(where, "external", external)
        if ext.shape not in ((n,), (steps, n)):
            raise ShapeError("ZhangRing.run", "external", (steps, n), ext.shape)
        g_arr = finite_array(where, "gamma", gamma)
        g = np.broadcast_to(g_arr, (steps,)) if g_arr.ndim == 0 else g_arr
        if g.shape != (steps,):
            raise ShapeError("ZhangRing.run", "gamma", (steps,), g.shape)
        ext_t = torch.as_tensor(ext)
        a = math.exp(-self.dt_s / self.tau_s)
        times, rates = [], []
        for k in range(steps):
            r = self.f(u)
            drive = self.w_sym @ r + float(g[k]) * (self.w_asym @ r)
            drive = drive + (ext_t if ext_t.ndim == 1 else ext_t[k])
            u = drive + (u - drive) * a
            if (k + 1) % record_every == 0:
                times.append((k + 1) * self.dt_s)
                rates.append(self.f(u).numpy().copy())
        self.u = u
        return np.asarray(times), np.asarray(rates)

    def settle(
        self, angle_rad: float, *, cue_s: float = 0.3, settle_s: float = 0.3
    ) -> torch.Tensor:
        """Form a bump at ``angle_rad`` with a cue, then let it settle without input; returns u."""
        self.run(cue_s, external=self.cue(angle_rad))
        self.run(settle_s, u0=self.u)
        return self.u


# -------------------------------------------------------------------------- line attractor


def line_attractor_network(
    *,
    n: int = 8,
    tau_s: float = 0.1,
    other_eigenvalues: tuple[float, float] = (0.0, 0.5),
    seed: int = 0,
    dt_s: float = 1e-3,
    name: str = "line_attractor",
) -> tuple[Network, np.ndarray]:
    """``tau dr/dt = -r + W r + I`` as a spikesim Network of linear rate units.

    ``W = Q diag(1, lambda_2..lambda_n) Q^T`` (``Q`` a random orthogonal matrix from ``seed``,
    the other eigenvalues spread uniformly in ``other_eigenvalues``). Returns the network and the
    integrating direction ``e`` (first column of ``Q``). Population ``"units"`` (rate units,
    ``tau_s``, no synaptic filter, linear transfer, 1 Hz/mV); projection ``"recurrent"`` (Dense,
    weights ``W / dt_s`` so that the drive is ``W r``). Inputs are added with
    ``net.add_current("...", "units", amplitude_mV=B u, start_s=..., stop_s=...)``.
    """
    n = _check_int("line attractor", "n", n, 2)
    tau_s = _check_pos("line attractor", "tau_s", tau_s)
    check_fits("line attractor", "n", 8.0 * 4 * n * n, f"{n} x {n} weights")
    if not isinstance(other_eigenvalues, (tuple, list)) or len(other_eigenvalues) != 2:
        raise ParameterError(
            "line attractor", "other_eigenvalues", "a (lo, hi) pair", other_eigenvalues
        )
    lo, hi = other_eigenvalues
    if not (-1.0 <= lo <= hi < 1.0):
        raise ParameterError(
            "line attractor",
            "other_eigenvalues",
            "lo <= hi with both in [-1, 1)",
            other_eigenvalues,
        )
    rng = np.random.default_rng(check_seed("line attractor", seed))
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.concatenate([[1.0], np.linspace(lo, hi, n - 1)])
    w = (q * lam) @ q.T
    net = Network(dt_s=dt_s, name=name)
    unit = RateUnit(tau_s=tau_s, tau_syn_exc_s=0.0, tau_syn_inh_s=0.0, transfer="linear")
    net.add_population("units", n, unit)
    net.add_projection("recurrent", "units", "units", Dense(weight=w / dt_s))
    net.monitor_state("units", ("r",), name="units_r")
    return net, q[:, 0]


def run_line_attractor(net: Network, duration_s: float, *, seed: int = 0) -> np.ndarray:
    """Run a :func:`line_attractor_network` in rate mode (float64); rates ``(steps, n)``."""
    _check_result_net("run_line_attractor", net, "units")
    if "units_r" not in net.monitors:
        raise ParameterError(
            "run_line_attractor",
            "net",
            "a network with the monitor 'units_r'",
            sorted(net.monitors),
        )
    sim = Simulator(net, mode="rate", dtype="float64", seed=seed)
    res = sim.run(duration_s)
    return res.states["units_r"].values["r"][:, 0, :]


# ------------------------------------------------------------------- spiking bump (Compte)


def ring_attractor_network(
    *,
    n_exc: int = 128,
    n_inh: int = 32,
    neuron: str = "lif",
    sigma_rad: float = 0.5,
    w_ee: float = 1.0,
    w_ei: float = 0.3,
    w_ie: float = 6.0,
    w_ii: float = 0.5,
    background_hz: float = 1000.0,
    w_background_mV: float = 0.15,
    cue_angle_rad: float = 0.0,
    cue_mV: float = 15.0,
    cue_width_rad: float = 0.4,
    cue_start_s: float = 0.05,
    cue_stop_s: float = 0.25,
    dt_s: float = 1e-3,
    name: str = "ring_attractor",
) -> Network:
    """A spiking E/I bump attractor (after Compte et al. 2000) as a spikesim Network.

    Populations ``"exc"`` (``n_exc`` neurons on a :class:`~spikesim.Ring`), ``"inh"`` and
    ``"bg_exc"``/``"bg_inh"`` (Poisson background, one source per neuron, ``OneToOne``).
    E->E: ``Circulant`` kernel ``w_ee * exp(-d^2 / 2 sigma^2)`` over all offsets, normalised so
    that ``w_ee`` is the total recurrent weight a neuron receives from a full bump; E->I,
    I->E, I->I: ``Dense`` with total weights ``w_ei``, ``w_ie``, ``w_ii``. Excitation is slow
    (``tau_syn_exc = 100 ms``, NMDA-like), inhibition fast (10 ms). A current ``cue_mV`` with a
    von-Mises profile around ``cue_angle_rad`` drives the excitatory neurons between
    ``cue_start_s`` and ``cue_stop_s``.

    ``neuron="lif"``: current-based :class:`~spikesim.LIF` (weights are mV jumps scaled as
    above). ``neuron="cuba"``: :class:`~spikesim.CubaLIF` (one synaptic time constant per
    population: 100 ms for E, 10 ms for I) with weights and currents rescaled to its units
    (threshold 1 = 20 mV, ``v += u`` per step), for export to Lava; it holds a localised bump
    too, at higher rates than the LIF version.
    """
    where = "ring attractor"
    n_exc = _check_int(where, "n_exc", n_exc, 8)
    n_inh = _check_int(where, "n_inh", n_inh, 1)
    if neuron not in ("lif", "cuba"):
        raise ParameterError(where, "neuron", "'lif' or 'cuba'", neuron)
    sigma_rad = _check_pos(where, "sigma_rad", sigma_rad)
    cue_width_rad = _check_pos(where, "cue_width_rad", cue_width_rad)
    check_finite(where, "cue_angle_rad", cue_angle_rad)
    net = Network(dt_s=dt_s, name=name)
    exc_lif = LIF(
        tau_mem_s=20e-3,
        v_rest_mV=-70.0,
        v_reset_mV=-60.0,
        v_th_mV=-50.0,
        t_ref_s=2e-3,
        tau_syn_exc_s=100e-3,
        tau_syn_inh_s=10e-3,
        v_init_mV=Uniform(-70.0, -55.0),
    )
    inh_lif = dataclasses.replace(exc_lif, tau_mem_s=10e-3, t_ref_s=1e-3)
    exc_model: LIF | CubaLIF
    inh_model: LIF | CubaLIF
    if neuron == "lif":
        exc_model, inh_model = exc_lif, inh_lif
        to_exc = to_inh = 1.0  # weights and currents in mV
    else:
        # CubaLIF (v in units of the 20 mV threshold gap, v += u every step, one synaptic time
        # constant per population): a LIF drive of D mV is a per-step CUBA drive of
        # D / 20 / (tau_mem / dt), so weights and currents are rescaled per target population
        exc_model = CubaLIF(tau_syn_s=100e-3, tau_mem_s=20e-3, v_th=1.0)
        inh_model = CubaLIF(tau_syn_s=10e-3, tau_mem_s=10e-3, v_th=1.0)
        to_exc = dt_s / (20.0 * 20e-3)
        to_inh = dt_s / (20.0 * 10e-3)
    net.add_population("exc", n_exc, exc_model, layout=Ring())
    net.add_population("inh", n_inh, inh_model, layout=Ring())
    # kernel offsets within 2.5 sigma (and no wider than the ring)
    span = min(int(math.ceil(2.5 * sigma_rad * n_exc / (2 * np.pi))), (n_exc - 1) // 2)
    offsets = tuple(range(-span, span + 1))
    d = 2 * np.pi * np.asarray(offsets) / n_exc
    profile = np.exp(-(d**2) / (2 * sigma_rad**2))
    profile = profile / profile.sum()
    # total weights are per unit of presynaptic population activity, in units of 20 mV
    mv = 20.0
    net.add_projection(
        "ee", "exc", "exc", Circulant(offsets=offsets, weights=to_exc * mv * w_ee * profile)
    )
    net.add_projection("ei", "exc", "inh", Dense(weight=to_inh * mv * w_ei / n_exc * 4))
    net.add_projection("ie", "inh", "exc", Dense(weight=to_exc * mv * w_ie / n_inh), receptor="inh")
    net.add_projection("ii", "inh", "inh", Dense(weight=to_inh * mv * w_ii / n_inh), receptor="inh")
    for pop, size, k in (("exc", n_exc, to_exc), ("inh", n_inh, to_inh)):
        net.add_poisson(f"bg_{pop}", size, rate_hz=background_hz)
        net.add_projection(f"bg_{pop}_in", f"bg_{pop}", pop, OneToOne(weight=w_background_mV * k))
    ang = 2 * np.pi * np.arange(n_exc) / n_exc
    profile_cue = np.exp((np.cos(ang - cue_angle_rad) - 1) / cue_width_rad**2)
    net.add_current(
        "cue",
        "exc",
        amplitude_mV=cue_mV * to_exc * profile_cue,
        start_s=cue_start_s,
        stop_s=cue_stop_s,
    )
    net.monitor_spikes("exc")
    return net


def spiking_bump_angles(
    net: Network,
    duration_s: float,
    *,
    window_s: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run a :func:`ring_attractor_network` (spiking mode) and decode the bump.

    Returns (window centres in s, bump angle per window (population vector of the excitatory
    spike counts), mean excitatory rate per window in Hz).
    """
    where = "spiking_bump_angles"
    _check_result_net(where, net, "exc")
    if "exc_spikes" not in net.monitors:
        raise ParameterError(
            where, "net", "a network with the monitor 'exc_spikes'", sorted(net.monitors)
        )
    duration_s = check_positive(where, "duration_s", duration_s)
    window_s = check_positive(where, "window_s", window_s)
    if not net.dt_s <= window_s <= duration_s:
        raise ParameterError(
            where, "window_s", f"in [dt_s = {net.dt_s}, duration_s = {duration_s}]", window_s
        )
    sim = Simulator(net, mode="spiking", seed=seed)
    res = sim.run(duration_s)
    spk = res.spikes["exc_spikes"]
    n = net.populations["exc"].size
    steps = int(round(duration_s / net.dt_s))
    per = int(round(window_s / net.dt_s))
    n_win = steps // per
    counts = np.zeros((n_win, n))
    w = np.asarray(spk.step) // per
    ok = w < n_win
    np.add.at(counts, (w[ok], np.asarray(spk.index)[ok]), 1.0)
    centres = (np.arange(n_win) + 0.5) * window_s
    return centres, bump_angle(counts), counts.mean(1) / window_s
