"""A CA3-like recurrent E/I spiking network that learns a traversal with STDP and replays it.

Structure is a :class:`spikesim.Network` description (built by :func:`build_ca3_network`):

- ``pc``: place-cell input (spike tensor), one-to-one onto ``exc`` (each pyramidal cell
  inherits one place field, as the place-cell half of Ecker et al. 2022);
- ``exc``: adaptive LIF pyramidal cells, all-to-all recurrent ``exc_exc`` (plastic);
- ``inh``: fast-spiking interneurons (``exc_inh``, ``inh_exc``, ``inh_inh``), fast GABA.

Execution uses the core's step kernels (:func:`spikesim.dynamics.adlif_step`,
:func:`lif_step`) and the neuron parameters and weights that :class:`spikesim.Simulator`
draws from the description, in a loop that adds pair-based STDP with traces on ``exc_exc``
(the core has no plasticity).

Phases:

- *running* (:meth:`CA3Model.run_running`): place-cell input with theta phase precession
  drives ``exc``; recurrent transmission is suppressed (cholinergic state, Hasselmo 1999)
  while the recurrent synapses learn by STDP. Theta sequences put cells with neighbouring
  fields 10-30 ms apart within a cycle, so the STDP window (20 ms) strengthens the weights
  in the running direction more than against it (asymmetric weights).
- *rest/sleep* (:meth:`CA3Model.replay_events`): a sharp-wave ripple event is a brief
  depolarisation of ``exc`` with the interneurons paced at a ripple frequency (150-250 Hz)
  for 50-120 ms; a cue to the cells at one end of the track starts a travelling bump that
  spreads along the learned weights and away from the cue (adaptation), forward from the
  start, reverse from the end. The LFP proxy is the mean inhibitory synaptic drive onto
  ``exc``, which oscillates at the ripple frequency.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

import spikesim
from spikesim import dynamics as dyn
from spikesim._validate import (
    check_choice,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
)
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_fits, check_seed, dataclass_from_dict, finite_array
from .behavior import Trajectory
from .place_cells import PlaceCells

__all__ = ["CA3Config", "build_ca3_network", "CA3Model", "ReplayEvents", "stdp_update"]


def stdp_update(spikes: np.ndarray, cfg: CA3Config) -> torch.Tensor:
    """Pair-based STDP weight change [post, pre] (mV) from spikes [T, B, n] (summed over B).

    Same rule as the online loop: a post spike adds ``eta a_plus x_pre`` (pre trace from
    strictly earlier steps, decay ``tau_plus``); a pre spike adds ``eta a_minus y_post``.
    """
    from scipy.signal import lfilter

    if not isinstance(cfg, CA3Config):
        raise ParameterError("stdp_update", "cfg", "a CA3Config", type(cfg).__name__)
    cfg.validate()
    s = finite_array("stdp_update", "spikes", spikes)
    if s.ndim != 3 or s.shape[2] != cfg.n_exc:
        raise ShapeError("stdp_update", "spikes", ("T", "B", cfg.n_exc), s.shape)
    dp, dm = math.exp(-cfg.dt_s / cfg.stdp_tau_plus_s), math.exp(-cfg.dt_s / cfg.stdp_tau_minus_s)
    x = lfilter([0.0, 1.0], [1.0, -dp], s, axis=0)
    y = lfilter([0.0, 1.0], [1.0, -dm], s, axis=0)
    dw = cfg.stdp_a_plus * np.einsum("tbi,tbj->ij", s, x) + cfg.stdp_a_minus * np.einsum(
        "tbi,tbj->ij", y, s
    )
    return torch.as_tensor(cfg.stdp_eta_mV * dw, dtype=torch.float64)


@dataclasses.dataclass(frozen=True)
class CA3Config:
    """Sizes, weights (mV jumps of the synaptic drive), STDP and ripple parameters."""

    n_exc: int = 120
    n_inh: int = 30
    dt_s: float = 5e-4
    # input and fixed weights
    w_in_mV: float = 150.0
    w_ee_init_mV: float = 0.0
    w_ee_max_mV: float = 20.0
    # homeostatic scaling after each learning episode: mean summed recurrent input weight
    # per pyramidal cell (mV); None keeps the raw STDP scale
    w_ee_sum_mV: float | None = 130.0
    w_ei_mV: float = 1.0
    w_ie_mV: float = 1.2
    w_ii_mV: float = 0.5
    # pyramidal cells
    tau_mem_exc_s: float = 20e-3
    tau_syn_exc_s: float = 5e-3
    tau_syn_inh_s: float = 2e-3
    adapt_b_mV: float = 2.0
    tau_adapt_s: float = 0.25
    t_ref_s: float = 2e-3
    # STDP (pair-based, traces): dW = eta * (a_plus exp(-d/tau_plus) for pre-before-post,
    # a_minus exp(-d/tau_minus) for post-before-pre); a_minus > 0 adds a symmetric part
    stdp_eta_mV: float = 0.05
    stdp_a_plus: float = 1.0
    stdp_a_minus: float = 0.6
    stdp_tau_plus_s: float = 20e-3
    stdp_tau_minus_s: float = 20e-3
    # sharp-wave ripple events
    sw_drive_mV: float = 10.0
    ripple_drive_mV: float = 14.0
    cue_fraction: float = 0.08
    cue_rate_hz: float = 600.0
    cue_s: float = 0.012

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<dict>") -> CA3Config:
        """A validated config from a dict (e.g. a TOML table): an unknown key is a
        :class:`~spikesim.errors.ConfigError` naming it and ``source``."""
        return dataclass_from_dict(cls, d, source)

    def validate(self) -> None:
        where = "CA3Config"
        check_int(where, "n_exc", self.n_exc, minimum=2)
        check_int(where, "n_inh", self.n_inh, minimum=1)
        for f in (
            "dt_s",
            "w_ee_max_mV",
            "tau_mem_exc_s",
            "tau_syn_exc_s",
            "tau_syn_inh_s",
            "tau_adapt_s",
            "stdp_tau_plus_s",
            "stdp_tau_minus_s",
            "cue_s",
        ):
            check_positive(where, f, getattr(self, f))
        for f in ("w_in_mV", "w_ei_mV", "w_ie_mV", "w_ii_mV", "t_ref_s", "adapt_b_mV"):
            check_nonnegative(where, f, getattr(self, f))
        for f in ("stdp_eta_mV", "stdp_a_plus", "cue_rate_hz"):
            check_nonnegative(where, f, getattr(self, f))
        for f in ("w_ee_init_mV", "stdp_a_minus", "sw_drive_mV", "ripple_drive_mV"):
            check_finite(where, f, getattr(self, f))
        if self.w_ee_sum_mV is not None:
            check_positive(where, "w_ee_sum_mV", self.w_ee_sum_mV)
        check_finite(where, "cue_fraction", self.cue_fraction)
        if not 0 < self.cue_fraction < 0.5:
            raise ParameterError(where, "cue_fraction", "in (0, 0.5)", self.cue_fraction)


def build_ca3_network(cfg: CA3Config) -> spikesim.Network:
    """The network description (populations, projections, monitors) of the CA3 model."""
    cfg.validate()
    net = spikesim.Network(dt_s=cfg.dt_s, name="ca3")
    net.add_spike_tensor("pc", cfg.n_exc)
    exc = spikesim.AdLIF(
        tau_mem_s=cfg.tau_mem_exc_s,
        v_rest_mV=-65.0,
        v_reset_mV=-65.0,
        v_th_mV=-50.0,
        t_ref_s=cfg.t_ref_s,
        tau_syn_exc_s=cfg.tau_syn_exc_s,
        tau_syn_inh_s=cfg.tau_syn_inh_s,
        tau_adapt_s=cfg.tau_adapt_s,
        a=0.0,
        b_mV=cfg.adapt_b_mV,
    )
    inh = spikesim.LIF(
        tau_mem_s=8e-3,
        v_rest_mV=-65.0,
        v_reset_mV=-65.0,
        v_th_mV=-52.0,
        t_ref_s=1e-3,
        tau_syn_exc_s=2e-3,
        tau_syn_inh_s=cfg.tau_syn_inh_s,
    )
    net.add_population("exc", cfg.n_exc, exc)
    net.add_population("inh", cfg.n_inh, inh)
    net.add_projection("pc_exc", "pc", "exc", spikesim.OneToOne(weight=cfg.w_in_mV))
    net.add_projection(
        "exc_exc", "exc", "exc", spikesim.Dense(weight=cfg.w_ee_init_mV), trainable=True
    )
    net.add_projection("exc_inh", "exc", "inh", spikesim.Dense(weight=cfg.w_ei_mV))
    net.add_projection("inh_exc", "inh", "exc", spikesim.Dense(weight=cfg.w_ie_mV), receptor="inh")
    net.add_projection("inh_inh", "inh", "inh", spikesim.Dense(weight=cfg.w_ii_mV), receptor="inh")
    net.monitor_spikes("exc")
    net.monitor_spikes("inh")
    return net


@dataclasses.dataclass(frozen=True)
class ReplayEvents:
    """Spikes of a batch of simulated ripple events (all share the time axis ``times_s``)."""

    exc_spikes: np.ndarray  # bool [B, T, n_exc]
    inh_spikes: np.ndarray  # bool [B, T, n_inh]
    lfp: np.ndarray  # [B, T] LFP proxy (mean inhibitory drive onto exc, mV)
    times_s: np.ndarray  # [T], 0 = event onset
    kind: tuple[str, ...]  # "forward" / "reverse" per event
    ripple_hz: np.ndarray  # [B]
    duration_s: np.ndarray  # [B]


class CA3Model:
    """The CA3 network with its plastic recurrent weights (``w_ee`` [post, pre], mV)."""

    def __init__(self, cfg: CA3Config, *, place_cells: PlaceCells, seed: int) -> None:
        if not isinstance(cfg, CA3Config):
            raise ParameterError("CA3Model", "cfg", "a CA3Config", type(cfg).__name__)
        if not isinstance(place_cells, PlaceCells):
            raise ParameterError(
                "CA3Model", "place_cells", "a PlaceCells", type(place_cells).__name__
            )
        cfg.validate()
        seed = check_seed("CA3Model", seed)
        if place_cells.n != cfg.n_exc:
            raise ShapeError(
                "CA3Model",
                "place_cells (one field per pyramidal cell)",
                (cfg.n_exc,),
                (place_cells.n,),
            )
        if len(place_cells.extent_m) != 1:
            raise ParameterError(
                "CA3Model", "place_cells", "cells on a linear track", place_cells.extent_m
            )
        self.cfg = cfg
        self.place_cells = place_cells
        self.seed = int(seed)
        self.network = build_ca3_network(cfg)
        self.sim = spikesim.Simulator(self.network, seed=self.seed, dtype="float64")
        p = self.sim.projs
        self.w_ee = p["exc_exc"].weight.detach().clone()
        self.w_ee.fill_diagonal_(0.0)
        self.w_ei = p["exc_inh"].weight.detach().clone()
        self.w_ie = p["inh_exc"].weight.detach().clone()
        self.w_ii = p["inh_inh"].weight.detach().clone()
        self.w_in = p["pc_exc"].weight.detach().clone()

    # ------------------------------------------------------------------ the loop
    def _simulate(
        self,
        pc: torch.Tensor,  # [T, B, n_exc] input spikes
        cur_exc: torch.Tensor,  # [T, B, n_exc] mV
        cur_inh: torch.Tensor,  # [T, B, n_inh] mV
        *,
        recurrent: bool,
        plastic: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg, dt = self.cfg, self.cfg.dt_s
        T, B, _ = pc.shape
        pe, pi = self.sim.pops["exc"], self.sim.pops["inh"]
        se, si = pe.init(B), pi.init(B)
        ze = torch.zeros(B, cfg.n_exc, dtype=torch.float64)
        zi = torch.zeros(B, cfg.n_inh, dtype=torch.float64)
        out_e = torch.zeros(T, B, cfg.n_exc, dtype=torch.bool)
        out_i = torch.zeros(T, B, cfg.n_inh, dtype=torch.bool)
        lfp = torch.zeros(T, B, dtype=torch.float64)
        x_pre = torch.zeros(B, cfg.n_exc, dtype=torch.float64)
        y_post = torch.zeros(B, cfg.n_exc, dtype=torch.float64)
        d_plus, d_minus = math.exp(-dt / cfg.stdp_tau_plus_s), math.exp(-dt / cfg.stdp_tau_minus_s)
        eta = cfg.stdp_eta_mV
        w = self.w_ee
        for k in range(T):
            exc_in = pc[k] * self.w_in
            if recurrent:
                exc_in = exc_in + ze @ w.t()
            x_e = dyn.SynapticInput(exc_in, zi @ self.w_ie.t(), cur_exc[k])
            x_i = dyn.SynapticInput(ze @ self.w_ei.t(), zi @ self.w_ii.t(), cur_inh[k])
            ze_new, se = pe.step(x_e, se, pe.params, dt_s=dt)
            zi, si = pi.step(x_i, si, pi.params, dt_s=dt)
            ze = ze_new
            if plastic:
                x_pre = x_pre * d_plus
                y_post = y_post * d_minus
                if bool(ze.any()):
                    # post spikes: potentiate from earlier pre spikes; pre spikes: the
                    # anti-causal term from earlier post spikes (before adding this step's)
                    w += eta * (
                        cfg.stdp_a_plus * ze.t() @ x_pre + cfg.stdp_a_minus * y_post.t() @ ze
                    )
                    w.clamp_(0.0, cfg.w_ee_max_mV).fill_diagonal_(0.0)
                x_pre = x_pre + ze
                y_post = y_post + ze
            out_e[k] = ze > 0
            out_i[k] = zi > 0
            lfp[k] = se.i_inh.mean(dim=1)
        return out_e, out_i, lfp

    # ------------------------------------------------------------------- running
    def run_running(
        self, traj: Trajectory, *, seed: int, plastic: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Drive the pyramidal cells with place-cell input along ``traj``; STDP on ``exc_exc``.

        With recurrent transmission suppressed the pyramidal spikes do not depend on the
        recurrent weights, so the running periods (laps) are simulated side by side in a
        batch and the pair-based STDP update is computed from the spike trains with the
        same traces as the online rule (weight bounds applied after the update).
        Returns (exc raster [T, n_exc], place-cell input raster [T, n_exc]) on ``traj``'s
        time axis.
        """
        cfg = self.cfg
        check_seed("CA3Model.run_running", seed)
        if abs(traj.dt_s - cfg.dt_s) > 1e-12:
            raise ParameterError(
                "CA3Model.run_running", "traj.dt_s", f"the network dt_s ({cfg.dt_s})", traj.dt_s
            )
        raster = self.place_cells.poisson_spikes(traj, seed=seed)
        T = raster.shape[0]
        pad = int(round(0.05 / cfg.dt_s))
        d = np.diff(np.concatenate([[0], traj.running.astype(np.int8), [0]]))
        segs = [
            (max(0, a - pad), min(T, b + pad))
            for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)
        ]
        if not segs:
            raise ParameterError(
                "CA3Model.run_running", "traj", "a trajectory with running periods", "no running"
            )
        n = max(b - a for a, b in segs)
        pc = torch.zeros(n, len(segs), cfg.n_exc, dtype=torch.float64)
        for k, (a, b) in enumerate(segs):
            pc[: b - a, k] = torch.as_tensor(raster[a:b], dtype=torch.float64)
        pe = self.sim.pops["exc"]
        state = pe.init(len(segs))
        out = torch.zeros(n, len(segs), cfg.n_exc, dtype=torch.float64)
        with torch.no_grad():
            for k in range(n):
                z, state = pe.step(
                    dyn.SynapticInput(pc[k] * self.w_in, 0.0, 0.0), state, pe.params, dt_s=cfg.dt_s
                )
                out[k] = z
        if plastic:
            self.w_ee += stdp_update(out.numpy(), cfg)
            self.w_ee.clamp_(0.0, cfg.w_ee_max_mV).fill_diagonal_(0.0)
            if cfg.w_ee_sum_mV is not None:  # global multiplicative synaptic scaling
                total = float(self.w_ee.sum(dim=1).mean())
                if total > 0:
                    self.w_ee *= cfg.w_ee_sum_mV / total
                    self.w_ee.clamp_(0.0, cfg.w_ee_max_mV)
        e = np.zeros((T, cfg.n_exc), dtype=bool)
        for k, (a, b) in enumerate(segs):
            e[a:b] |= out[: b - a, k].numpy() > 0
        return e, raster

    # --------------------------------------------------------------------- replay
    def replay_events(
        self,
        *,
        kinds: tuple[str, ...],
        seed: int,
        ripple_hz: tuple[float, float] = (150.0, 250.0),
        duration_s: tuple[float, float] = (0.05, 0.12),
        margin_s: float = 0.03,
        background_hz: float = 0.0,
    ) -> ReplayEvents:
        """Simulate one ripple event per entry of ``kinds`` side by side in a batch (no
        plasticity): "forward" cues the cells at the track start, "reverse" those at the end,
        "random" those around a random position, "none" gives no cue.

        Ripple frequency and duration are drawn uniformly from the given ranges (seeded);
        ``margin_s`` of quiet rest precede and follow the longest event, during which (and
        throughout) each pyramidal cell receives Poisson input at ``background_hz``.
        """
        cfg, dt = self.cfg, self.cfg.dt_s
        where = "CA3Model.replay_events"
        if isinstance(kinds, str) or not isinstance(kinds, (tuple, list)):
            raise ParameterError(where, "kinds", "a tuple of event kinds", kinds)
        for k in kinds:
            check_choice(where, "kinds", k, ("forward", "reverse", "random", "none"))
        if not kinds:
            raise ParameterError(where, "kinds", "at least one event", kinds)
        for field, pair in (("ripple_hz", ripple_hz), ("duration_s", duration_s)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ParameterError(where, field, "a (low, high) pair", pair)
            for v in pair:
                check_finite(where, field, v)
        margin_s = check_nonnegative(where, "margin_s", margin_s)
        background_hz = check_nonnegative(where, "background_hz", background_hz)
        seed = check_seed(where, seed)
        lo, hi = ripple_hz
        if not 150.0 <= lo <= hi <= 250.0 or not 0.05 <= duration_s[0] <= duration_s[1] <= 0.12:
            raise ParameterError(
                "CA3Model.replay_events",
                "ripple_hz/duration_s",
                "within 150-250 Hz and 50-120 ms",
                (ripple_hz, duration_s),
            )
        rng = np.random.default_rng(seed)
        B = len(kinds)
        f = rng.uniform(lo, hi, B)
        dur = rng.uniform(duration_s[0], duration_s[1], B)
        T = int(round((duration_s[1] + 2 * margin_s) / dt))
        n_all = 3.0 * cfg.n_exc + 2.0 * cfg.n_inh + 2
        check_fits(where, "margin_s", 8.0 * B * T * n_all, f"{B} events x {T} steps")
        t = dt * np.arange(T) - margin_s
        on = (t[None, :] >= 0) & (t[None, :] < dur[:, None])  # [B, T]
        cur_e = np.where(on, cfg.sw_drive_mV, 0.0)[:, :, None] * np.ones((1, 1, cfg.n_exc))
        osc = 0.5 * (1 + np.sin(2 * np.pi * f[:, None] * np.maximum(t[None, :], 0)))
        cur_i = np.where(on, cfg.ripple_drive_mV * osc, 0.0)[:, :, None] * np.ones(
            (1, 1, cfg.n_inh)
        )
        order = np.argsort(self.place_cells.centres_m)
        n_cue = max(1, int(round(cfg.cue_fraction * cfg.n_exc)))
        pc = (rng.random((B, T, cfg.n_exc)) < background_hz * dt).astype(np.float64)
        cue_win = (t >= 0) & (t < cfg.cue_s)
        for b, kind in enumerate(kinds):
            if kind == "none":
                continue
            if kind == "random":
                s0 = int(rng.integers(0, cfg.n_exc - n_cue + 1))
                cells = order[s0 : s0 + n_cue]
            else:
                cells = order[:n_cue] if kind == "forward" else order[-n_cue:]
            draws = rng.random((int(cue_win.sum()), n_cue)) < cfg.cue_rate_hz * dt
            pc[b][np.ix_(np.flatnonzero(cue_win), cells)] = draws
        tt = lambda a: torch.as_tensor(a, dtype=torch.float64).permute(1, 0, 2).contiguous()  # noqa: E731
        with torch.no_grad():
            e, i, lfp = self._simulate(tt(pc), tt(cur_e), tt(cur_i), recurrent=True, plastic=False)
        return ReplayEvents(
            e.permute(1, 0, 2).numpy(),
            i.permute(1, 0, 2).numpy(),
            lfp.t().numpy(),
            t,
            tuple(kinds),
            f,
            dur,
        )

    # ------------------------------------------------------------------ summaries
    def weight_asymmetry(self, *, max_offset_m: float = 0.2) -> float:
        """(forward - backward) / (forward + backward) summed weight between cells whose
        fields are 0 < d <= ``max_offset_m`` apart (forward: pre field before post field)."""
        check_positive("CA3Model.weight_asymmetry", "max_offset_m", max_offset_m)
        c = self.place_cells.centres_m
        d = c[:, None] - c[None, :]  # [post, pre]: post centre - pre centre
        w = self.w_ee.numpy()
        fwd = w[(d > 0) & (d <= max_offset_m)].sum()
        bwd = w[(d < 0) & (d >= -max_offset_m)].sum()
        return float((fwd - bwd) / max(fwd + bwd, 1e-12))

    def weight_profile(
        self, *, bin_m: float = 0.02, max_offset_m: float = 0.3
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean weight against field offset (post centre - pre centre), for plots."""
        where = "CA3Model.weight_profile"
        bin_m = check_positive(where, "bin_m", bin_m)
        max_offset_m = check_positive(where, "max_offset_m", max_offset_m)
        n_bins = 2 * max_offset_m / bin_m
        check_fits(where, "bin_m", 32.0 * n_bins, f"{n_bins:.3g} bins")
        c = self.place_cells.centres_m
        d = (c[:, None] - c[None, :]).ravel()
        w = self.w_ee.numpy().ravel()
        edges = np.arange(-max_offset_m, max_offset_m + bin_m / 2, bin_m)
        idx = np.digitize(d, edges) - 1
        ok = (idx >= 0) & (idx < edges.size - 1)
        s = np.bincount(idx[ok], weights=w[ok], minlength=edges.size - 1)
        n = np.bincount(idx[ok], minlength=edges.size - 1)
        return 0.5 * (edges[1:] + edges[:-1]), s / np.maximum(n, 1)
