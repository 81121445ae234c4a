"""Wave-RNN harness: models, initialisations, tasks, training determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikesim.models.wave import IRNN, ReferenceWaveRNN, WaveRNN, build_model
from spikesim.models.wave.fused import wave_recurrence
from spikesim.models.wave.rnn import CONV_IMPLS
from spikesim.models.wave.tasks import (
    MNISTSequences,
    adding_batch,
    copy_batch,
    load_mnist_split,
)
from spikesim.models.wave.train import train

from spikesim import ParameterError, ShapeError


def test_conv_implementations_agree_with_the_official_layout():
    g = torch.Generator().manual_seed(0)
    ref = WaveRNN(3, 2, n=11, channels=4, init="random", bias_init="official", generator=g)
    x = torch.randn(9, 5, 3, generator=g)
    y_ref = ref(x, readout="all")
    for impl in CONV_IMPLS:
        m = WaveRNN(3, 2, n=11, channels=4, conv_impl=impl)
        m.load_state_dict(ref.state_dict())
        torch.testing.assert_close(m(x, readout="all"), y_ref, rtol=1e-5, atol=1e-5)
    # the official code's module (nn.Conv1d circular, shift=-1) equals WaveRNN(shift=-1)
    off = ReferenceWaveRNN(3, 2, n=11, channels=4, generator=torch.Generator().manual_seed(1))
    mine = WaveRNN(3, 2, n=11, channels=4, shift=-1)
    with torch.no_grad():
        mine.recurrent_weight.copy_(off.wy.weight)
        mine.recurrent_bias.copy_(off.wy.bias)
        mine.input_weight.copy_(off.wx.weight.view(4, 11, 3))
        mine.input_bias.copy_(off.wx.bias.view(4, 11))
        mine.readout.load_state_dict(off.readout.state_dict())
    torch.testing.assert_close(mine(x), off(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_fused_recurrence_gradients_match_finite_differences(relu, kernel):
    # float64 gradcheck of the hand-written BPTT (all five inputs, all-states and last-state
    # outputs, a one-step sequence)
    g = torch.Generator().manual_seed(kernel)

    def rnd(*shape, scale=1.0):
        t = scale * torch.randn(*shape, generator=g, dtype=torch.float64)
        return t.requires_grad_()

    for steps in (1, 6):
        args = (rnd(steps, 3, 2), rnd(2, 7, 2), rnd(2, 7), rnd(2, 2, kernel, scale=0.4), rnd(2))
        for keep_all in (True, False):
            for batched in (False, True):  # per-step form (CPU default), batched (CUDA default)
                assert torch.autograd.gradcheck(
                    lambda *a, k=keep_all, b=batched: wave_recurrence(
                        *a, relu=relu, keep_all=k, batched=b
                    ),
                    args,
                    fast_mode=True,
                )


def test_fused_batched_form_equals_the_per_step_form(monkeypatch):
    # the GPU default (batched) and the CPU default (per step) give the same values and
    # gradients in float32 (different summation order only); kernel gradient in 6 chunks
    import spikesim.models.wave.fused as fused

    monkeypatch.setattr(fused, "_CHUNK_STEPS", 7)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 6, 2, generator=g)
    ps = [
        0.3 * torch.randn(4, 13, 2, generator=g),
        0.1 * torch.randn(4, 13, generator=g),
        0.3 * torch.randn(4, 4, 3, generator=g),
        0.1 * torch.randn(4, generator=g),
    ]
    res = []
    for batched in (False, True):
        leaves = [t.clone().requires_grad_() for t in (x, *ps)]
        out = wave_recurrence(*leaves, batched=batched)
        (out.square().sum() + out[-1].sum()).backward()
        res.append([out.detach()] + [t.grad for t in leaves])
    for a, b in zip(*res, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_fused_training_gradients_equal_autograd_step_by_step():
    g = torch.Generator().manual_seed(2)
    ref = WaveRNN(3, 2, n=11, channels=4, init="random", bias_init="official", generator=g)
    with torch.no_grad():
        ref.input_weight.normal_(generator=g)
        ref.input_bias.normal_(generator=g)
    step = WaveRNN(3, 2, n=11, channels=4, conv_impl="pad_conv")
    step.load_state_dict(ref.state_dict())
    x = torch.randn(9, 5, 3, generator=g)
    for readout in ("all", "last"):
        for m in (ref, step):
            m.zero_grad()
            m(x, readout=readout).square().sum().backward()
        for (name, p), q in zip(ref.named_parameters(), step.parameters(), strict=True):
            # float32 sums over 9 steps x 5 sequences x 44 units: relative 1e-5
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-5, msg=name)


def test_paper_initialisations():
    w = WaveRNN(2, 1, n=10, channels=3)
    k = w.recurrent_weight.detach()
    assert torch.count_nonzero(k) == 3  # one tap per channel, identity across channels
    assert torch.all(k[torch.arange(3), torch.arange(3), 0] == 1)  # shift +1 tap
    v = w.input_weight.detach()
    assert torch.all(v[:, 0] == 1) and torch.count_nonzero(v[:, 1:]) == 0  # input site only
    ir = IRNN(2, 1, hidden=50, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ir.recurrent_weight.detach(), torch.eye(50))
    assert ir.input_weight.detach().std() == pytest.approx(0.001, rel=0.3)


def test_irnn_torch_rnn_impl_equals_the_loop():
    # same parameters, same values and gradients (the cuDNN path on a GPU, the ATen loop here)
    g = torch.Generator().manual_seed(1)
    loop = IRNN(2, 1, hidden=12, bias_init="official", generator=g)
    fast = IRNN(2, 1, hidden=12, impl="torch_rnn")
    fast.load_state_dict(loop.state_dict())
    with torch.no_grad():  # a non-identity recurrence so that every parameter matters
        loop.recurrent_weight.mul_(0.9).add_(0.05 * torch.randn(12, 12, generator=g))
        fast.recurrent_weight.copy_(loop.recurrent_weight)
    x = torch.randn(30, 4, 2, generator=g)
    ya, ha = loop(x, readout="all", return_hidden=True)
    yb, hb = fast(x, readout="all", return_hidden=True)
    torch.testing.assert_close(yb, ya, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(hb, ha, rtol=1e-5, atol=1e-6)
    loop(x).square().sum().backward()
    fast(x).square().sum().backward()
    for (name, pa), pb in zip(loop.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(pb.grad, pa.grad, rtol=1e-4, atol=1e-6, msg=name)
    with pytest.raises(ParameterError, match="activation"):
        IRNN(2, 1, hidden=4, impl="torch_rnn", activation="linear")
    with pytest.raises(ParameterError, match="impl"):
        IRNN(2, 1, hidden=4, impl="cuda")


def test_training_time_limit_stops_and_reports():
    opts = {"n": 12, "channels": 1}
    res = train(
        "adding",
        "wrnn",
        T=30,
        iters=10_000,
        batch=8,
        eval_every=5000,
        eval_batch=16,
        model_options=opts,
        time_limit_s=0.2,
    )
    assert res["stopped_by"] == "time_limit" and 1 <= res["iters_run"] < 10_000
    assert res["history"][-1]["iter"] == res["iters_run"]  # evaluated once more at the stop
    assert res["solved_iter"] is None and res["time_limit_s"] == 0.2
    done = train(
        "adding",
        "irnn_cudnn",
        T=10,
        iters=3,
        batch=4,
        eval_every=3,
        eval_batch=8,
        model_options={"hidden": 8},
        time_limit_s=60.0,
    )
    assert done["stopped_by"] == "iters" and done["iters_run"] == 3
    with pytest.raises(ParameterError, match="time_limit_s"):
        train("adding", "irnn", T=10, iters=1, time_limit_s=0.0)


def test_adding_and_copy_batches():
    g = torch.Generator().manual_seed(0)
    x, y = adding_batch(50, 64, generator=g)
    assert x.shape == (50, 64, 2) and y.shape == (64, 1)
    marks = x[:, :, 1]
    assert torch.all(marks.sum(0) == 2)
    assert torch.all(marks[:25].sum(0) == 1) and torch.all(marks[25:].sum(0) == 1)
    torch.testing.assert_close(y[:, 0], (x[:, :, 0] * marks).sum(0))
    xc, yc = copy_batch(7, 16, generator=g)
    assert xc.shape == (28, 16, 10) and yc.shape == (28, 16)
    sym = xc.argmax(-1)
    assert torch.all(sym[17] == 9) and torch.all(sym[10:17] == 0)
    assert torch.equal(yc[-10:], sym[:10]) and torch.all(yc[:-10] == 0)
    assert torch.all((sym[:10] >= 1) & (sym[:10] <= 8))


def test_training_is_deterministic_and_learns():
    kw = dict(T=20, iters=30, batch=32, lr=1e-2, eval_every=10, eval_batch=64)
    opts = {"n": 24, "channels": 1}
    a = train("adding", "wrnn", seed=3, model_options=opts, **kw)
    b = train("adding", "wrnn", seed=3, model_options=opts, **kw)
    assert a["history"] == b["history"]
    c = train("adding", "wrnn", seed=4, model_options=opts, **kw)
    assert c["history"] != a["history"]
    # 30 Adam steps take the test MSE well below its initial value (> 0.5 at init)
    assert a["history"][-1]["mse"] < 0.3
    cp = train(
        "copy",
        "irnn",
        T=0,
        iters=2,
        batch=8,
        eval_every=1,
        eval_batch=8,
        model_options={"hidden": 16},
    )
    assert set(cp["final"]) >= {"ce", "recall_accuracy"}


def test_mnist_split(mnist_dir):
    (xtr, ytr), (xte, yte) = load_mnist_split(mnist_dir, n_test=2000, seed=0)
    assert xtr.shape == (8000, 784) and xte.shape == (2000, 784)
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(np.unique(ytr)) == set(range(10))
    again = load_mnist_split(mnist_dir, n_test=2000, seed=0)
    np.testing.assert_array_equal(again[1][1], yte)
    ps = MNISTSequences(xte[:4], yte[:4], permute=True)
    s = MNISTSequences(xte[:4], yte[:4])
    xs, _ = s.sequences(torch.arange(4))
    xp, _ = ps.sequences(torch.arange(4))
    assert xs.shape == (784, 4, 1)
    torch.testing.assert_close(xp[:, :, 0], xs[ps.permutation, :, 0])


def test_bad_inputs():
    m = build_model("wrnn", 2, 1, n=8)
    with pytest.raises(ShapeError) as e:
        m(torch.zeros(5, 3, 4))
    assert e.value.field == "x" and e.value.found == (5, 3, 4)
    with pytest.raises(ParameterError) as e:
        WaveRNN(2, 1, n=2, kernel_size=3)
    assert e.value.field == "n"
    with pytest.raises(ParameterError) as e:
        WaveRNN(2, 1, n=8, channels=0)
    assert e.value.field == "channels"
    with pytest.raises(ParameterError) as e:
        build_model("transformer", 2, 1)
    assert e.value.field == "kind"
    with pytest.raises(ParameterError) as e:
        train("adding", "wrnn", iters=0)
    assert e.value.field == "iters"
    with pytest.raises(ShapeError):
        MNISTSequences(np.zeros((3, 100)), np.zeros(3))
