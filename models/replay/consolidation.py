"""Consolidation: hippocampal replay trains a slow cortical learner; the Go-CLS model.

1. Spiking cortex (:class:`Cortex`): ``n_ctx`` LIF units, each driven by the CA3 cells whose
   fields fall in its segment of the track (topographic convergence, an ``Explicit``
   projection in a :class:`spikesim.Network` run by :class:`spikesim.Simulator`). Its
   recurrent weights learn with the same pair STDP as CA3 but a learning rate ``eta_mV``
   much smaller (a slow learner) and an antisymmetric window (post-before-pre depresses). The cortical *sequence score* is functional: a
   threshold-unit recall through the learned weights (units fire when their summed weight
   from the units active at the previous step reaches ``theta_mV``; at most ``k_active``
   fire; a unit that just fired rests a step) is started from the first units, and the
   score is the fraction of the track recalled in order (weighted correlation of the recall
   raster times coverage). A sequence experienced once leaves weights far below threshold;
   the compressed replays of sleep add many more pairings at the STDP time scale.

2. Go-CLS (Sun, Advani, Spruston, Saxe, Fitzgerald, Nat Neurosci 2023): a linear teacher
   ``y = w* . x + noise`` (x ~ N(0, I/N)); a sparse Hopfield *notebook* (hippocampus) stores
   one random pattern per example (Hebbian covariance weights) with hetero-associative
   read-outs to the student's input and output layers (delta rule); replay = pattern completion from a corrupted cue of a
   random memory, read out as (x, y) and used for one gradient step of the linear *student*
   (neocortex). Generalization error ``||w - w*||^2 / ||w*||^2`` (the error on new inputs,
   noise excluded) is tracked against replay time. Online learning = one pass of SGD over
   the examples as they arrive (no storage).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

import spikesim
from spikesim._validate import (
    check_finite,
    check_index_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)
from spikesim.analysis.replay import weighted_correlation
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_fits, check_seed, finite_array
from .ca3 import CA3Config, stdp_update

__all__ = [
    "Cortex",
    "cortical_recall",
    "GoCLSResult",
    "HopfieldNotebook",
    "go_cls",
    "online_learning",
    "go_cls_error_curves",
    "cortex_consolidation",
]


# --------------------------------------------------------------------- spiking cortex


class Cortex:
    """A slow-learning spiking cortical layer fed topographically by CA3."""

    def __init__(
        self,
        *,
        ca3_centres_m: np.ndarray,
        length_m: float,
        n_ctx: int = 30,
        dt_s: float = 5e-4,
        w_in_mV: float = 40.0,
        eta_mV: float = 0.002,
        w_max_mV: float = 20.0,
        seed: int = 0,
    ) -> None:
        where = "Cortex"
        n_ctx = check_int(where, "n_ctx", n_ctx, minimum=2)
        check_positive(where, "eta_mV", eta_mV)
        length_m = check_positive(where, "length_m", length_m)
        check_seed(where, seed)
        c = finite_array(where, "ca3_centres_m", ca3_centres_m)
        if c.ndim != 1:
            raise ShapeError(where, "ca3_centres_m", ("n_ca3",), c.shape)
        if np.any(c < 0) or np.any(c > length_m):
            raise ParameterError(
                where, "ca3_centres_m", f"inside [0, {length_m}] m", f"[{c.min()}, {c.max()}]"
            )
        self.n_ctx, self.n_ca3, self.dt_s = n_ctx, c.size, dt_s
        target = np.minimum((c / length_m * n_ctx).astype(np.int64), n_ctx - 1)
        self.network = spikesim.Network(dt_s=dt_s, name="cortex")
        self.network.add_spike_tensor("ca3", self.n_ca3)
        self.network.add_population(
            "ctx", n_ctx, spikesim.LIF(tau_mem_s=10e-3, tau_syn_exc_s=5e-3, t_ref_s=2e-3)
        )
        self.network.add_projection(
            "ca3_ctx",
            "ca3",
            "ctx",
            spikesim.Explicit(pre=np.arange(self.n_ca3), post=target, weight=w_in_mV),
        )
        self.network.monitor_spikes("ctx")
        self.sim = spikesim.Simulator(self.network, seed=seed, dtype="float64")
        # classic antisymmetric STDP (Bi & Poo 1998): pre-before-post potentiates, post-before-pre
        # depresses by the same amount
        self.cfg = CA3Config(
            n_exc=n_ctx, dt_s=dt_s, stdp_eta_mV=eta_mV, stdp_a_minus=-1.0, w_ee_max_mV=w_max_mV
        )
        self.w = torch.zeros(n_ctx, n_ctx, dtype=torch.float64)

    def respond(self, ca3_spikes: np.ndarray) -> np.ndarray:
        """Cortical spikes [T, B, n_ctx] for CA3 spikes [T, B, n_ca3] (bool or 0/1)."""
        s = np.asarray(ca3_spikes)
        if s.ndim != 3 or s.shape[2] != self.n_ca3:
            raise ShapeError("Cortex.respond", "ca3_spikes", ("T", "B", self.n_ca3), s.shape)
        T, B, _ = s.shape
        sim = spikesim.Simulator(self.network, seed=self.sim.seed, dtype="float64", batch_size=B)
        res = sim.run(
            T * self.dt_s, inputs={"ca3": torch.as_tensor(s, dtype=torch.float64)}, progress=False
        )
        d = res.spikes["ctx_spikes"]
        out = np.zeros((T, B, self.n_ctx), dtype=bool)
        out[d.step, d.batch, d.index] = True
        return out

    def learn(self, ca3_spikes: np.ndarray) -> np.ndarray:
        """Drive the cortex and apply (slow) STDP to its recurrent weights; returns its spikes."""
        ctx = self.respond(ca3_spikes)
        self.w += stdp_update(ctx, self.cfg)
        self.w.clamp_(0.0, self.cfg.w_ee_max_mV).fill_diagonal_(0.0)
        return ctx

    def sequence_score(
        self, *, theta_mV: float = 3.0, k_active: int = 3, n_steps: int | None = None, seed: int = 0
    ) -> float:
        return cortical_recall(
            self.w.numpy(), theta_mV=theta_mV, k_active=k_active, n_steps=n_steps, seed=seed
        )[0]


def cortical_recall(
    w: np.ndarray, *, theta_mV: float, k_active: int = 3, n_steps: int | None = None, seed: int = 0
) -> tuple[float, np.ndarray]:
    """Threshold recall from the first ``k_active`` units through weights ``w`` [post, pre].

    Ties in the drive are broken at random (``seed``), so weights without structure recall
    no order. Returns (score, raster [n_steps, n]). Score = max(weighted correlation, 0) x
    coverage (fraction of units that fired).
    """
    where = "cortical_recall"
    w_raw = finite_array(where, "w", w)
    if w_raw.ndim != 2 or w_raw.shape[0] != w_raw.shape[1] or w_raw.shape[0] < 1:
        raise ShapeError(where, "w", ("n", "n"), w_raw.shape)
    check_finite(where, "theta_mV", theta_mV)
    k_active = check_int(where, "k_active", k_active, minimum=1)
    if k_active > w_raw.shape[0]:
        raise ParameterError(where, "k_active", f"<= the {w_raw.shape[0]} units", k_active)
    if n_steps is not None:
        n_steps = check_int(where, "n_steps", n_steps, minimum=1)
    tie = np.random.default_rng(check_seed(where, seed)).random(w_raw.shape[0]) * 1e-9
    # the winners are chosen by the drive relative to each unit's total input (units late in
    # the sequence collect potentiation from all earlier ones); they fire if the raw drive
    # reaches theta_mV
    w_rel = w_raw / np.maximum(w_raw.sum(axis=1, keepdims=True), 1e-12)
    n = w_raw.shape[0]
    n_steps = n_steps or 2 * n
    act = np.zeros(n)
    act[:k_active] = 1.0
    raster = [act.copy()]
    prev = np.zeros(n)
    for _ in range(n_steps - 1):
        rel = w_rel @ act + tie
        rel[(act > 0) | (prev > 0)] = -np.inf  # refractory: fired in one of the last two steps
        idx = np.argsort(-rel)[:k_active]
        new = np.zeros(n)
        new[idx[(w_raw @ act)[idx] >= theta_mV]] = 1.0
        prev, act = act, new
        raster.append(act.copy())
        if not act.any():
            break
    r = np.array(raster)
    cover = float((r.sum(axis=0) > 0).mean())
    if r.shape[0] < 2 or r[1:].sum() == 0:
        return 0.0, r
    wc = weighted_correlation(r + 1e-12)
    return float(max(wc, 0.0) * cover), r


# --------------------------------------------------------------------------- Go-CLS


class HopfieldNotebook:
    """Sparse binary Hopfield network storing one random pattern per example.

    Recurrent weights: covariance rule on patterns with activity ``sparsity``; recall by
    synchronous k-winners-take-all updates (k = active units per pattern). Hetero-associative
    read-outs to the student's input (``x``) and output (``y``) layers are trained to
    convergence by the delta rule (least squares), so a retrieved memory reads out exactly.
    """

    def __init__(self, n_units: int, *, sparsity: float = 0.05, seed: int) -> None:
        self.n = n_units = check_int("HopfieldNotebook", "n_units", n_units, minimum=10)
        check_fits("HopfieldNotebook", "n_units", 8.0 * n_units * n_units, f"{n_units} units")
        if not 0 < check_finite("HopfieldNotebook", "sparsity", sparsity) < 0.5:
            raise ParameterError("HopfieldNotebook", "sparsity", "in (0, 0.5)", sparsity)
        self.a = sparsity
        self.k = max(1, int(round(sparsity * n_units)))
        self.rng = np.random.default_rng(check_seed("HopfieldNotebook", seed))
        self.patterns = np.zeros((0, n_units), dtype=np.float32)

    def store(self, x: np.ndarray, y: np.ndarray) -> None:
        x = finite_array("HopfieldNotebook.store", "x", x)
        y = finite_array("HopfieldNotebook.store", "y", y).reshape(-1)
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise ShapeError(
                "HopfieldNotebook.store", "y (one target per row of x)", (x.shape[0],), y.shape
            )
        if x.shape[0] == 0:
            raise ParameterError(
                "HopfieldNotebook.store", "x", "at least one example", "0 examples"
            )
        P = x.shape[0]
        pats = np.zeros((P, self.n), dtype=np.float32)
        for mu in range(P):
            pats[mu, self.rng.choice(self.n, self.k, replace=False)] = 1.0
        self.patterns = pats
        c = pats - self.a
        self.w_rec = (c.T @ c) / (self.n * self.a * (1 - self.a))
        np.fill_diagonal(self.w_rec, 0.0)
        # read-outs learned to convergence by the delta rule (least squares on the stored
        # patterns; exact for a retrieved memory when P <= n_units)
        targets = np.concatenate([x, y[:, None]], axis=1)
        ro, *_ = np.linalg.lstsq(c.astype(np.float64), targets, rcond=None)  # [n_units, N+1]
        self.w_x = ro[:, :-1].T  # [N, n_units]
        self.w_y = ro[:, -1]  # [n_units]

    def recall(
        self, memories: np.ndarray, *, cue_fraction: float = 0.5, n_iter: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        """Recall from cues of the given memories (a random ``cue_fraction`` of the memory's
        active units plus as many random units); returns (x_hat [n, N], y_hat [n])."""
        where = "HopfieldNotebook.recall"
        mem = check_index_array(where, "memories", np.ravel(memories), self.patterns.shape[0])
        check_probability(where, "cue_fraction", cue_fraction)
        n_iter = check_int(where, "n_iter", n_iter, minimum=0)
        n = mem.size
        s = np.zeros((n, self.n), dtype=np.float32)
        for i, m in enumerate(mem):
            on = np.flatnonzero(self.patterns[m])
            keep = self.rng.choice(on, int(round(cue_fraction * on.size)), replace=False)
            s[i, keep] = 1.0
            s[i, self.rng.choice(self.n, on.size - keep.size, replace=False)] = 1.0
        for _ in range(n_iter):
            h = s @ self.w_rec
            thr = -np.partition(-h, self.k - 1, axis=1)[:, self.k - 1 : self.k]
            s = (h >= thr).astype(np.float32)
        #: overlap of each final state with the cued memory (1: perfect retrieval)
        self.last_overlap = (s * self.patterns[mem]).sum(axis=1) / self.k
        c = s - self.a
        return c @ self.w_x.T, c @ self.w_y


@dataclasses.dataclass(frozen=True)
class GoCLSResult:
    epochs: np.ndarray  # replay time in epochs (P recalls per epoch)
    gen_error: np.ndarray  # student generalization error at each entry of epochs
    online_error: float  # one pass of online SGD over the same examples
    train_error: np.ndarray  # student error on the stored examples
    recall_accuracy: float  # fraction of recalls that retrieved the cued memory


def _teacher(
    N: int, P: int, snr: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    w_star = rng.normal(0, 1, N)
    x = rng.normal(0, 1 / np.sqrt(N), (P, N))
    noise_sd = 0.0 if not np.isfinite(snr) else np.sqrt(np.mean(w_star**2) / snr)
    y = x @ w_star + rng.normal(0, 1, P) * noise_sd
    return w_star, x, y, noise_sd


def online_learning(x: np.ndarray, y: np.ndarray, *, lr: float = 1.0) -> np.ndarray:
    """One pass of SGD (normalised step ``lr``/||x||^2 ... scaled by 1/(1 + t/N)) from w = 0."""
    N = x.shape[1]
    w = np.zeros(N)
    for t in range(x.shape[0]):
        step = lr / (1.0 + t / N)
        w += step * (y[t] - x[t] @ w) * x[t] / max(x[t] @ x[t], 1e-12)
    return w


def go_cls(
    *,
    n_inputs: int = 50,
    alpha: float = 1.0,
    snr: float = float("inf"),
    epochs: int = 200,
    lr: float = 1.0,
    notebook_units: int = 1000,
    recalls_per_memory: int = 3,
    seed: int = 0,
    eval_every: int = 1,
) -> GoCLSResult:
    """One Go-CLS run: ``P = alpha N`` examples stored in the notebook, ``epochs`` of replay
    (every memory recalled once per epoch; a gradient step of size ``lr`` on the recalled
    batch) train the student."""
    where = "go_cls"
    N = check_int(where, "n_inputs", n_inputs, minimum=2)
    alpha = check_positive(where, "alpha", alpha)
    numeric = isinstance(snr, (int, float, np.integer, np.floating)) and not isinstance(snr, bool)
    if not (numeric and snr > 0):
        raise ParameterError(where, "snr", "> 0 (inf: a noiseless teacher)", snr)
    check_nonnegative(where, "lr", lr)
    epochs = check_int(where, "epochs", epochs, minimum=1)
    recalls_per_memory = check_int(where, "recalls_per_memory", recalls_per_memory, minimum=1)
    eval_every = check_int(where, "eval_every", eval_every, minimum=1)
    rng = np.random.default_rng(check_seed(where, seed))
    P = max(1, int(round(alpha * N)))
    units = check_int(where, "notebook_units", notebook_units, minimum=10)
    check_fits(
        where,
        "alpha",
        8.0 * P * recalls_per_memory * (units + N) + 8.0 * P * N,
        f"{P} memories x {recalls_per_memory} recalls of {units} units",
    )
    w_star, x, y, _ = _teacher(N, P, snr, rng)
    nb = HopfieldNotebook(notebook_units, seed=seed + 1)
    nb.store(x, y)
    w = np.zeros(N)
    ep, ge, te = [0], [1.0], [float(np.mean((x @ w - y) ** 2))]
    norm = float(w_star @ w_star)
    # the notebook's recalls (pattern completion from corrupted cues): recalls_per_memory
    # per memory, drawn once; each epoch replays every memory once, in one of its recalls
    px, py = nb.recall(np.repeat(np.arange(P), recalls_per_memory))
    hits = float(np.mean(nb.last_overlap > 0.9))
    for e in range(1, epochs + 1):
        pick = np.arange(P) * recalls_per_memory + rng.integers(0, recalls_per_memory, size=P)
        xh, yh = px[pick], py[pick]
        # gradient step on the recalled batch; x ~ N(0, I/N), so the largest curvature of the
        # mean squared error is about (1 + sqrt(N/P))^2 P/N: scale the step by its inverse
        w += lr * (N / P) / (1 + np.sqrt(N / P)) ** 2 * xh.T @ (yh - xh @ w)
        if e % eval_every == 0 or e == epochs:
            ep.append(e)
            ge.append(float((w - w_star) @ (w - w_star) / norm))
            te.append(float(np.mean((x @ w - y) ** 2)))
    w_on = online_learning(x, y)
    return GoCLSResult(
        np.array(ep),
        np.array(ge),
        float((w_on - w_star) @ (w_on - w_star) / norm),
        np.array(te),
        hits,
    )


def go_cls_error_curves(
    *, alphas: np.ndarray, snrs: tuple[float, ...], seeds: tuple[int, ...], **kw
) -> dict[str, np.ndarray]:
    """Errors after full consolidation and the minimum over time, against alpha = P/N, per SNR."""
    out: dict[str, np.ndarray] = {}
    for snr in snrs:
        fin, mn, on = [], [], []
        for a in alphas:
            r = [go_cls(alpha=float(a), snr=snr, seed=s, **kw) for s in seeds]
            fin.append(np.mean([x.gen_error[-1] for x in r]))
            mn.append(np.mean([x.gen_error.min() for x in r]))
            on.append(np.mean([x.online_error for x in r]))
        out[f"final_snr{snr}"] = np.array(fin)
        out[f"min_snr{snr}"] = np.array(mn)
        out[f"online_snr{snr}"] = np.array(on)
    return out


def cortex_consolidation(
    *,
    seed: int = 0,
    n_replays: int = 20,
    n_cells: int = 60,
    length_m: float = 0.75,
    n_ctx: int = 20,
    n_training_laps: int = 6,
    eta_mV: float = 0.002,
) -> dict[str, float]:
    """CA3 learns the track (``n_training_laps``); the cortex experiences one lap, then a
    simulated sleep with ``n_replays`` forward replays. Returns the cortical sequence score
    after the single experience and after sleep, and the largest cortical weight of each."""
    from .behavior import linear_track_laps
    from .ca3 import CA3Model
    from .place_cells import PlaceCells

    check_int("cortex_consolidation", "n_replays", n_replays, minimum=0)
    n_cells = check_int("cortex_consolidation", "n_cells", n_cells, minimum=2)
    torch.set_num_threads(1)
    cfg = CA3Config(n_exc=n_cells, n_inh=max(5, n_cells // 4))
    pcs = PlaceCells.tiling(n_cells, length_m=length_m, sigma_m=0.07)
    ca3 = CA3Model(cfg, place_cells=pcs, seed=seed)
    ca3.run_running(
        linear_track_laps(
            length_m=length_m,
            speed_m_s=0.5,
            n_laps=n_training_laps,
            rest_s=0.1,
            dt_s=cfg.dt_s,
            seed=seed,
        ),
        seed=seed + 1,
    )
    once = linear_track_laps(
        length_m=length_m, speed_m_s=0.5, n_laps=1, rest_s=0.1, dt_s=cfg.dt_s, seed=seed + 2
    )
    exc_once, _ = ca3.run_running(once, seed=seed + 3, plastic=False)
    ctx = Cortex(
        ca3_centres_m=pcs.centres_m, length_m=length_m, n_ctx=n_ctx, eta_mV=eta_mV, seed=seed
    )
    ctx.learn(exc_once[:, None, :])
    out = {"score_once": ctx.sequence_score(), "w_max_once_mV": float(ctx.w.max())}
    if n_replays > 0:
        ev = ca3.replay_events(kinds=("forward",) * n_replays, seed=seed + 4)
        ctx.learn(ev.exc_spikes.transpose(1, 0, 2))
    out.update(score_after_sleep=ctx.sequence_score(), w_max_after_sleep_mV=float(ctx.w.max()))
    return out
