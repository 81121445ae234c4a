"""spikesim.training: determinism, checkpoint/resume after SIGKILL, truncated BPTT, DDP (gloo).

The model is a real spiking network run by spikesim.Simulator (20 inputs → 24 CubaLIF →
2 CubaLIF outputs, trainable Dense projections); the task tells apart two input groups.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from spikesim.errors import ConfigError, ParameterError
from spikesim.training import epoch_batches, evaluate, train

HELPERS = '''
import numpy as np
import torch
from spikesim import CubaLIF, Dense, Network, Normal, Simulator


class TinySNN(torch.nn.Module):
    def __init__(self, batch_size, seed=0, device="cpu"):
        super().__init__()
        net = Network(dt_s=1e-3)
        net.add_spike_tensor("in", 20)
        net.add_population("h", 24, CubaLIF(tau_syn_s=2e-3, tau_mem_s=5e-3))
        net.add_population("out", 2, CubaLIF(tau_syn_s=2e-3, tau_mem_s=5e-3))
        net.add_projection("ih", "in", "h", Dense(weight=Normal(0.0, 0.3)), trainable=True)
        net.add_projection("ho", "h", "out", Dense(weight=Normal(0.0, 0.3)), trainable=True)
        self.sim = Simulator(net, batch_size=batch_size, differentiable=True, seed=seed,
                             surrogate_alpha=10.0, device=device)

    def forward(self, x, carry=None):
        b, T = x.shape[0], x.shape[1]
        xt = x.transpose(0, 1).reshape(T, b, -1)
        rec, c = self.sim({"in": xt}, record=("h", "out"), carry=None if carry is None else carry["sim"],
                          return_carry=True)
        counts = rec["out"].sum(0) + (0 if carry is None else carry["counts"])
        rates = {"h": rec["h"].mean(), "out": rec["out"].mean()}
        return {"logits": counts, "rates": rates, "carry": {"sim": c, "counts": counts}}


class TwoGroups(torch.utils.data.Dataset):
    """Class 0: inputs 0-9 fire (p = 0.4 per step), class 1: inputs 10-19; uint8 spikes."""

    def __init__(self, n, T=12, seed=0):
        rng = np.random.default_rng(seed)
        self.y = torch.as_tensor(rng.integers(0, 2, n), dtype=torch.int64)
        x = np.zeros((n, T, 20), np.uint8)
        for i, c in enumerate(self.y.tolist()):
            x[i, :, 10 * c : 10 * c + 10] = rng.random((T, 10)) < 0.4
            x[i] |= (rng.random((T, 20)) < 0.05).astype(np.uint8)
        self.x = torch.as_tensor(x)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]
'''

_ns: dict = {}
exec(compile(HELPERS, "training_helpers", "exec"), _ns)
TinySNN, TwoGroups = _ns["TinySNN"], _ns["TwoGroups"]


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_learns_and_is_deterministic(tmp_path: Path, one_thread) -> None:
    data, test = TwoGroups(64, seed=1), TwoGroups(32, seed=2)
    runs = []
    for _ in range(2):
        m = TinySNN(8)
        r = train(m, data, epochs=3, batch_size=8, lr=5e-3, seed=3, progress=False, eval_data=test)
        runs.append((_weights(m), r))
    (w1, r1), (w2, r2) = runs
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert r1.history[-1]["train_loss"] == r2.history[-1]["train_loss"]
    assert r1.history[-1]["test_accuracy"] >= 0.9
    assert r1.history[-1]["train_loss"] < r1.history[0]["train_loss"]
    assert 0.0 < r1.history[-1]["train_rate_h"] < 1.0
    m3 = TinySNN(8)
    train(m3, data, epochs=1, batch_size=8, lr=5e-3, seed=4, progress=False)
    assert not torch.equal(_weights(m3)["sim.projs.ih.weight"], w1["sim.projs.ih.weight"])


def test_epoch_batches_order_and_shards() -> None:
    a = epoch_batches(10, batch_size=4, seed=0, epoch=0)
    assert a == epoch_batches(10, batch_size=4, seed=0, epoch=0)
    assert a != epoch_batches(10, batch_size=4, seed=0, epoch=1)
    assert sorted(sum(a, [])) == list(range(10)) and [len(b) for b in a] == [4, 4, 2]
    r0 = epoch_batches(10, batch_size=2, seed=5, epoch=2, rank=0, world=2)
    r1 = epoch_batches(10, batch_size=2, seed=5, epoch=2, rank=1, world=2)
    single = epoch_batches(10, batch_size=4, seed=5, epoch=2)
    assert len(r0) == len(r1) == 3
    for i in range(2):
        assert sorted(r0[i] + r1[i]) == sorted(single[i])


CHILD = """
import os, signal, sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {helpers_dir!r})
from helpers import TinySNN, TwoGroups
from spikesim.training import train

calls = [0]
def loss(logits, y):
    calls[0] += 1
    if calls[0] == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    return torch.nn.functional.cross_entropy(logits, y)

m = TinySNN(8)
train(m, TwoGroups(48, seed=1), epochs=3, batch_size=8, lr=5e-3, seed=7, out_dir={out!r},
      checkpoint_every=2, progress=False, loss=loss)
"""


def test_resume_after_sigkill_reaches_same_weights(tmp_path: Path, one_thread) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS)
    out = tmp_path / "run"
    # 6 batches per epoch; killed inside step 10 (epoch 2, batch 4): last checkpoint at step 8
    script = CHILD.format(helpers_dir=str(tmp_path), kill_at=10, out=str(out))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["batch"], ck["step"]) == (1, 2, 8)
    m = TinySNN(8)
    r = train(
        m,
        TwoGroups(48, seed=1),
        epochs=3,
        batch_size=8,
        lr=5e-3,
        seed=7,
        out_dir=out,
        checkpoint_every=2,
        progress=False,
    )
    assert r.resumed_from_step == 8 and r.steps == 18
    ref = TinySNN(8)
    r_ref = train(
        ref, TwoGroups(48, seed=1), epochs=3, batch_size=8, lr=5e-3, seed=7, progress=False
    )
    w, w_ref = _weights(m), _weights(ref)
    assert all(torch.equal(w[k], w_ref[k]) for k in w)
    # the metrics of the interrupted epoch are those of the uninterrupted run
    for row, row_ref in zip(r.history, r_ref.history, strict=True):
        assert row["train_loss"] == row_ref["train_loss"]
        assert row["train_accuracy"] == row_ref["train_accuracy"]
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert float(rows[-1]["train_loss"]) == pytest.approx(r_ref.history[-1]["train_loss"])
    # resuming with another seed is refused, naming the checkpoint
    with pytest.raises(ConfigError, match="checkpoint.pt"):
        train(
            TinySNN(8),
            TwoGroups(48, seed=1),
            epochs=3,
            batch_size=8,
            seed=8,
            out_dir=out,
            progress=False,
        )


def test_truncated_bptt(one_thread) -> None:
    torch.manual_seed(0)
    data = TwoGroups(16, T=12, seed=4)
    m = TinySNN(8)
    full = evaluate(m, data, batch_size=8)
    pieces = evaluate(m, data, batch_size=8, tbptt_steps=5)
    assert np.array_equal(full["predictions"], pieces["predictions"])
    assert pieces["loss"] == pytest.approx(full["loss"], rel=1e-6)
    # gradients are cut at piece boundaries: they differ from full BPTT, but training works
    m_full, m_tb = TinySNN(8), TinySNN(8)
    train(m_full, data, epochs=1, batch_size=8, seed=0, progress=False)
    r = train(
        m_tb,
        TwoGroups(64, seed=1),
        epochs=3,
        batch_size=8,
        lr=5e-3,
        seed=0,
        progress=False,
        tbptt_steps=4,
        eval_data=TwoGroups(32, seed=2),
    )
    m_tb1 = TinySNN(8)
    train(m_tb1, data, epochs=1, batch_size=8, seed=0, progress=False, tbptt_steps=4)
    assert not torch.equal(
        _weights(m_full)["sim.projs.ih.weight"], _weights(m_tb1)["sim.projs.ih.weight"]
    )
    assert r.history[-1]["test_accuracy"] >= 0.9
    with pytest.raises(ParameterError, match="tbptt_steps"):
        train(TinySNN(8), data, epochs=1, batch_size=8, tbptt_steps=0, progress=False)


DDP_CHILD = """
import sys
import torch
import torch.distributed as dist
torch.set_num_threads(1)
sys.path.insert(0, {helpers_dir!r})
from helpers import TinySNN, TwoGroups
from spikesim.training import train

rank = int(sys.argv[1])
dist.init_process_group("gloo", init_method={init!r}, rank=rank, world_size=2)
m = TinySNN(4)
r = train(m, TwoGroups(32, seed=1), epochs=2, batch_size=4, lr=5e-3, seed=11, progress=False,
          distributed=True, out_dir={out!r})
torch.save({{k: v.detach() for k, v in m.state_dict().items()}}, {out!r} + f"/w{{rank}}.pt")
dist.destroy_process_group()
"""


def test_ddp_two_processes_gloo(tmp_path: Path, one_thread) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS)
    out = tmp_path / "ddp"
    out.mkdir()
    script = DDP_CHILD.format(
        helpers_dir=str(tmp_path), init=f"file://{tmp_path / 'pg'}", out=str(out)
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(r)], env=env, stderr=subprocess.PIPE, text=True
        )
        for r in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    w0 = torch.load(out / "w0.pt", weights_only=True)
    w1 = torch.load(out / "w1.pt", weights_only=True)
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    # one process with the union of the two ranks' batches takes the same steps
    ref = TinySNN(8)
    train(ref, TwoGroups(32, seed=1), epochs=2, batch_size=8, lr=5e-3, seed=11, progress=False)
    w_ref = _weights(ref)
    for k in w0:
        assert torch.allclose(w0[k], w_ref[k], atol=1e-5), k
    assert not torch.equal(
        w0["sim.projs.ih.weight"], TinySNN(4).state_dict()["sim.projs.ih.weight"]
    )
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2


def test_bad_arguments() -> None:
    data = TwoGroups(8)
    with pytest.raises(ParameterError, match="optimizer"):
        train(TinySNN(4), data, epochs=1, batch_size=4, optimizer="rmsprop", progress=False)
    with pytest.raises(ParameterError, match="distributed"):
        train(TinySNN(4), data, epochs=1, batch_size=4, distributed=True, progress=False)
    with pytest.raises(ParameterError, match="batch_size"):
        train(TinySNN(4), data, epochs=1, progress=False)


def test_amp_is_a_no_op_on_cpu(one_thread) -> None:
    data = TwoGroups(16, seed=1)
    a, b = TinySNN(8), TinySNN(8)
    train(a, data, epochs=1, batch_size=8, seed=2, progress=False)
    train(b, data, epochs=1, batch_size=8, seed=2, progress=False, amp=True)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.gpu
@pytest.mark.parametrize("amp_dtype", [torch.bfloat16, torch.float16])
def test_amp_trains_on_cuda(amp_dtype) -> None:
    data, test = TwoGroups(64, seed=1), TwoGroups(32, seed=2)
    m_cuda = TinySNN(8, device="cuda")
    r = train(
        m_cuda,
        data,
        epochs=3,
        batch_size=8,
        lr=5e-3,
        seed=3,
        progress=False,
        eval_data=test,
        device="cuda",
        amp=True,
        amp_dtype=amp_dtype,
    )
    assert all(np.isfinite(row["train_loss"]) for row in r.history)
    assert r.history[-1]["test_accuracy"] >= 0.9


def test_device_mismatch_is_refused() -> None:
    with pytest.raises(ParameterError, match="device"):
        train(TinySNN(4), TwoGroups(8), epochs=1, batch_size=4, device="meta", progress=False)


def test_tensorboard_scalars_when_installed(tmp_path: Path, one_thread) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    r = train(
        TinySNN(8),
        TwoGroups(16, seed=1),
        epochs=2,
        batch_size=8,
        seed=0,
        out_dir=tmp_path,
        progress=False,
    )
    ea = EventAccumulator(str(tmp_path / "tensorboard"))
    ea.Reload()
    losses = [e.value for e in ea.Scalars("train_loss")]
    assert losses == pytest.approx([row["train_loss"] for row in r.history])
    assert "train_rate_h" in ea.Tags()["scalars"]
