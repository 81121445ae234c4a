"""A spiking wave ring: LIF neurons with shift connectivity carrying the input history.

The ring has ``copies`` parallel rings (the channels of a :class:`~spikesim.Circulant`
projection, identity across channels) of ``n`` LIF neurons each. The input ``x[t]`` in [0, 1] is
coded by how many copies receive a spike at their input site (position 0) at step ``t``: a
thermometer code (copy ``j`` spikes when ``x[t] > (j + 1/2) / copies``) or independent Bernoulli
spikes with probability ``x[t]``. Every spike is passed on to the next position of its ring one
step later (time constants equal to ``dt``, a strong weight), so the spikes at position ``k``
at step ``t`` code ``x[t - k - 1]``: the spiking counterpart of the rate ring's traveling wave
(:func:`~spikesim.models.wave.ring.ring_conv_run`), and a linear readout of the spikes decodes
the input history.

Limitation: binary spikes cannot add, so once the wave has gone round the ring the input site
fires if either the new input or the returning spike arrives (an OR instead of the rate ring's
sum), and when both arrive together the larger synaptic current can make it fire once more on
the next step. Sequences shorter than the ring (as in :func:`decoding_comparison`) are copied
exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from spikesim import LIF, Circulant, Explicit, Network, Ring, Simulator
from spikesim._validate import check_int, check_probability
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_seed, finite_array
from .ring import ring_conv_run

__all__ = [
    "spiking_ring_network",
    "encode_input",
    "run_spiking_ring",
    "decode_history",
    "decoding_comparison",
]

_WHERE = "spiking wave ring"


def _check_int(field: str, value: object, minimum: int, where: str = _WHERE) -> int:
    return check_int(where, field, value, minimum=minimum)


def spiking_ring_network(
    *, n: int, copies: int = 16, weight_mV: float = 50.0, dt_s: float = 1e-3
) -> Network:
    """The spiking ring as a spikesim Network.

    Populations ``"x"`` (spike-tensor source, one input line per copy) and ``"ring"``
    (``copies * n`` current-based LIF neurons, shape ``(copies, n)``, Ring layout,
    ``tau_mem = tau_syn = dt``). Projections ``"input"`` (Explicit: line ``j`` to position 0
    of copy ``j``) and ``"shift"`` (Circulant, offset +1, identity across the copies), both with
    ``weight_mV``: one arriving spike makes the neuron fire in the same step, and the residual
    synaptic current (at most ``0.37 * weight / (1 - 0.37) * 0.37`` mV) stays below threshold.
    """
    n = _check_int("n", n, 3)
    copies = _check_int("copies", copies, 1)
    if not weight_mV > 0:
        raise ParameterError(_WHERE, "weight_mV", "> 0", weight_mV)
    model = LIF(
        tau_mem_s=dt_s,
        tau_syn_exc_s=dt_s,
        tau_syn_inh_s=dt_s,
        v_rest_mV=-65.0,
        v_reset_mV=-65.0,
        v_th_mV=-50.0,
    )
    net = Network(dt_s=dt_s, name="spiking_wave_ring")
    net.add_spike_tensor("x", copies)
    net.add_population("ring", copies * n, model, shape=(copies, n), layout=Ring())
    net.add_projection(
        "input",
        "x",
        "ring",
        Explicit(
            pre=np.arange(copies, dtype=np.int64),
            post=np.arange(copies, dtype=np.int64) * n,
            weight=float(weight_mV),
        ),
    )
    weights = weight_mV * (np.eye(copies)[:, :, None] if copies > 1 else np.ones(1))
    net.add_projection(
        "shift", "ring", "ring", Circulant(offsets=(1,), weights=weights, channels=copies)
    )
    net.monitor_spikes("ring")
    return net


def encode_input(
    x: np.ndarray, *, copies: int, code: str = "thermometer", seed: int = 0
) -> np.ndarray:
    """Spikes ``(T, copies)`` coding ``x`` ``(T,)`` in [0, 1] (thermometer or Bernoulli)."""
    x = finite_array(_WHERE, "x", x)
    if x.ndim != 1:
        raise ShapeError(_WHERE, "x", ("T",), x.shape)
    check_seed(_WHERE, seed)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ParameterError(_WHERE, "x", "values in [0, 1]", (float(x.min()), float(x.max())))
    copies = _check_int("copies", copies, 1)
    if code == "thermometer":
        levels = (np.arange(copies) + 0.5) / copies
        return (x[:, None] > levels[None, :]).astype(np.float64)
    if code == "bernoulli":
        rng = np.random.default_rng(seed)
        return (rng.random((x.size, copies)) < x[:, None]).astype(np.float64)
    raise ParameterError(_WHERE, "code", "'thermometer' or 'bernoulli'", code)


def run_spiking_ring(net: Network, spikes_in: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Run the network on input spikes ``(T, batch, copies)``; ring spikes ``(T, batch, copies, n)``."""
    ring = net.populations["ring"]
    if ring.shape is None or len(ring.shape) != 2:
        raise ParameterError(
            _WHERE,
            "net",
            "a network from spiking_ring_network (population 'ring' of shape (copies, n))",
            f"population 'ring' of shape {ring.shape}",
        )
    copies, n = ring.shape
    s = np.asarray(spikes_in, dtype=np.float64)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3 or s.shape[2] != copies:
        raise ShapeError(_WHERE, "spikes_in", ("T", "batch", copies), s.shape)
    steps, batch, _ = s.shape
    sim = Simulator(net, mode="spiking", seed=seed, batch_size=batch)
    res = sim.run(steps * net.dt_s, inputs={"x": torch.as_tensor(s)})
    spk = res.spikes["ring_spikes"]
    out = np.zeros((steps, batch, copies * n))
    out[spk.step, spk.batch, spk.index] = 1.0
    return out.reshape(steps, batch, copies, n)


def decode_history(
    features: np.ndarray, targets: np.ndarray, *, train_frac: float = 0.5
) -> np.ndarray:
    """Held-out R^2 of least-squares linear readouts (with bias), one per target column.

    ``features`` ``(trials, F)``, ``targets`` ``(trials, D)``; fitted on the first
    ``train_frac`` of the trials, scored on the rest.
    """
    f = finite_array(_WHERE, "features", features)
    y = finite_array(_WHERE, "targets", targets)
    if y.ndim != 2:
        raise ShapeError(_WHERE, "targets", ("trials", "D"), y.shape)
    if f.ndim != 2 or f.shape[0] != y.shape[0]:
        raise ShapeError(_WHERE, "features", (y.shape[0], "F"), f.shape)
    train_frac = check_probability(_WHERE, "train_frac", train_frac)
    split = int(train_frac * f.shape[0])
    if split < 1 or f.shape[0] - split < 2:
        raise ParameterError(
            _WHERE,
            "train_frac",
            f"a fraction leaving >= 1 training and >= 2 test trials of {f.shape[0]}",
            train_frac,
        )
    a = np.concatenate([f, np.ones((f.shape[0], 1))], axis=1)
    coef, *_ = np.linalg.lstsq(a[:split], y[:split], rcond=None)
    pred = a[split:] @ coef
    yt = y[split:]
    return 1 - ((yt - pred) ** 2).sum(0) / ((yt - yt.mean(0)) ** 2).sum(0)


def decoding_comparison(
    *, n: int = 32, copies: int = 16, trials: int = 2000, seed: int = 0
) -> dict[str, object]:
    """Decode the input history from the rate ring and from the spiking ring.

    ``trials`` independent sequences of ``L = n - 2`` i.i.d. U[0, 1] inputs (seeded), so the
    wave does not wrap round the ring. At the end of each sequence a linear readout of the whole
    ring (rate: the ``n`` states of :func:`ring_conv_run`; spiking: the ``copies * n`` spikes of
    the last step) decodes every past input ``x[L - 1 - d]``, ``d = 0 .. L - 1``. Readouts are
    fitted on half of the trials and scored (R^2) on the other half. Returns R^2 per delay for
    the rate ring and for the spiking ring with the thermometer and the Bernoulli input code.
    """
    n = _check_int("n", n, 4)
    trials = _check_int("trials", trials, 4)
    rng = np.random.default_rng(check_seed(_WHERE, seed))
    copies = _check_int("copies", copies, 1)
    length = n - 2
    x = rng.random((length, trials))
    targets = x[::-1].T  # (trials, L): column d is x[L - 1 - d]
    rate = ring_conv_run(x, n=n, c=1).numpy()[-1, :, 0]  # (trials, n)
    out: dict[str, object] = {"n": n, "copies": copies, "trials": trials, "seed": seed}
    r2: dict[str, list[float]] = {"rate": decode_history(rate, targets).tolist()}
    out["r2_rate"] = r2["rate"]
    net = spiking_ring_network(n=n, copies=copies)
    for code in ("thermometer", "bernoulli"):
        enc = np.stack(
            [encode_input(x[:, b], copies=copies, code=code, seed=seed + b) for b in range(trials)],
            axis=1,
        )  # (L, trials, copies)
        enc = np.concatenate([enc, np.zeros((1, trials, copies))])  # one step for the delay
        spikes = run_spiking_ring(net, enc, seed=seed)[-1].reshape(trials, -1)
        r2[f"spiking_{code}"] = decode_history(spikes, targets).tolist()
        out[f"r2_spiking_{code}"] = r2[f"spiking_{code}"]
    for key in ("rate", "spiking_thermometer", "spiking_bernoulli"):
        out[f"mean_r2_{key}"] = float(np.mean(r2[key]))
        out[f"min_r2_{key}"] = float(np.min(r2[key]))
    return out
