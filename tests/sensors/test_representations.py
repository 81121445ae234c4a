"""Representations: hand-computed frames, voxel grids, time surfaces and spike tensors; tonic agreement
on a real recording; the Simulator adapter; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from spikesim.sensors import representations as R
from spikesim.sensors.events import EVENT_DTYPE, Recording, empty_events, make_events

import spikesim as ss
from spikesim.errors import ParameterError

SIZE = (4, 3)  # width, height


def small() -> np.ndarray:
    # t, x, y, p
    return make_events(
        [1000, 1200, 1500, 2100, 2900, 4000],
        [0, 3, 0, 1, 3, 2],
        [0, 2, 0, 1, 2, 0],
        [1, 0, 0, 1, 1, 1],
    )


@pytest.fixture(scope="module")
def sample(dvs_dir) -> Recording:
    from spikesim.sensors.formats import get_format

    return get_format("AEDAT4").read(dvs_dir / "aedat4" / "tonic_sample.aedat4")


def test_count_and_polarity_frames():
    ev = small()
    before = ev.copy()
    c = R.count_frame(ev, sensor_size=SIZE)
    expected = np.zeros((3, 4), dtype=np.int64)
    expected[0, 0] = 2
    expected[2, 3] = 2
    expected[1, 1] = 1
    expected[0, 2] = 1
    np.testing.assert_array_equal(c, expected)
    s = R.count_frame(ev, sensor_size=SIZE, split_polarity=True)
    assert s.shape == (2, 3, 4)
    assert (
        s[0, 0, 0] == 1
        and s[1, 0, 0] == 1
        and s[0, 2, 3] == 1
        and s[1, 2, 3] == 1
        and s[1, 1, 1] == 1
    )
    np.testing.assert_array_equal(s.sum(0), c)
    psum = R.polarity_frame(ev, sensor_size=SIZE)
    assert psum[0, 0] == 0 and psum[2, 3] == 0 and psum[1, 1] == 1 and psum[0, 2] == 1
    plast = R.polarity_frame(ev, sensor_size=SIZE, mode="last")
    # (0,0): ON then OFF -> -1; (3,2): OFF then ON -> +1
    assert (
        plast[0, 0] == -1
        and plast[2, 3] == 1
        and plast[1, 1] == 1
        and plast[0, 2] == 1
        and plast[1, 0] == 0
    )
    np.testing.assert_array_equal(ev, before)


def test_count_frame_from_recording_and_torch_device():
    rec = Recording(small(), SIZE, "test")
    c = R.count_frame(rec, device="cpu")
    assert isinstance(c, torch.Tensor) and c.sum().item() == 6


def test_frames_time_window_event_count_bins():
    ev = small()
    # windows of 1000 us from t=1000: [1000,2000) 3 events, [2000,3000) 2, [3000,4000) 0; 4000 is in
    # the incomplete 4th window
    f = R.to_frames(ev, sensor_size=SIZE, time_window_us=1000)
    assert f.shape == (3, 2, 3, 4) and f.dtype == np.int32
    assert f.sum(axis=(1, 2, 3)).tolist() == [3, 2, 0]
    assert f[0, 1, 0, 0] == 1 and f[0, 0, 0, 0] == 1 and f[0, 0, 2, 3] == 1
    f = R.to_frames(ev, sensor_size=SIZE, time_window_us=1000, include_incomplete=True)
    assert f.sum(axis=(1, 2, 3)).tolist() == [3, 2, 0, 1]
    f = R.to_frames(ev, sensor_size=SIZE, event_count=4)
    assert f.shape[0] == 1 and f.sum() == 4
    f = R.to_frames(
        ev, sensor_size=SIZE, event_count=4, include_incomplete=True, split_polarity=False
    )
    assert f.shape == (2, 1, 3, 4) and f.sum(axis=(1, 2, 3)).tolist() == [4, 2]
    # span 3000 us in 3 bins: [1000,2000) [2000,3000) [3000,4000]
    f = R.to_frames(ev, sensor_size=SIZE, n_time_bins=3)
    assert f.sum(axis=(1, 2, 3)).tolist() == [3, 2, 1]


def test_voxel_grid_bilinear_hand_computed():
    ev = make_events([0, 25, 50, 100], [0, 1, 2, 3], [0, 0, 1, 2], [1, 0, 0, 1])
    v = R.voxel_grid(ev, sensor_size=SIZE, n_time_bins=3)
    # tn = 2 * t / 100 = 0, 0.5, 1, 2
    expected = np.zeros((3, 3, 4), dtype=np.float32)
    expected[0, 0, 0] = 1.0
    expected[0, 0, 1] = -0.5
    expected[1, 0, 1] = -0.5
    expected[1, 1, 2] = -1.0
    expected[2, 2, 3] = 1.0
    np.testing.assert_allclose(v, expected, atol=1e-7)
    # every event carries total weight +-1
    assert v.sum() == pytest.approx(0.0, abs=1e-6)
    one_time = make_events([7, 7], [0, 1], [0, 0], [1, 1])
    v1 = R.voxel_grid(one_time, sensor_size=SIZE, n_time_bins=2)
    assert v1[0].sum() == 2.0 and v1[1].sum() == 0.0


def test_time_surface_hand_computed():
    ev = small()
    tau_s = 0.001
    ts = R.time_surface(ev, sensor_size=SIZE, tau_s=tau_s)  # at t = 4000
    assert ts.shape == (2, 3, 4)
    assert ts[1, 0, 2] == pytest.approx(1.0)
    assert ts[1, 2, 3] == pytest.approx(math.exp(-1.1))  # ON at 2900
    assert ts[0, 2, 3] == pytest.approx(math.exp(-2.8))  # OFF at 1200
    assert ts[1, 0, 0] == pytest.approx(math.exp(-3.0))  # ON at 1000
    assert ts[0, 1, 1] == 0.0
    at = R.time_surface(ev, sensor_size=SIZE, tau_s=tau_s, t_us=2000, split_polarity=False)
    assert at.shape == (1, 3, 4)
    assert at[0, 0, 0] == pytest.approx(math.exp(-0.5))  # last at (0,0) before 2000: 1500
    assert at[0, 1, 1] == 0.0  # the event at 2100 is later


def test_time_surfaces_windows():
    ev = small()
    s = R.time_surfaces(ev, sensor_size=SIZE, tau_s=0.001, dt_us=1000)
    assert s.shape == (3, 2, 3, 4)
    assert s[0, 0, 0, 0] == pytest.approx(math.exp(-0.5))  # OFF 1500, evaluated at 2000
    assert s[1, 0, 0, 0] == pytest.approx(math.exp(-1.5))  # decays in the next window
    assert s[0, 1, 1, 1] == 0.0 and s[1, 1, 1, 1] == pytest.approx(math.exp(-0.9))


def test_spike_tensor_hand_computed():
    ev = small()
    st = R.spike_tensor(ev, sensor_size=SIZE, dt_us=500)
    # steps from t=1000: 0,0,1,2,3,6 -> T = 7
    assert st.shape == (7, 2, 3, 4) and st.dtype == torch.bool
    on = {tuple(i) for i in st.nonzero().tolist()}
    assert on == {
        (0, 1, 0, 0),
        (0, 0, 2, 3),
        (1, 0, 0, 0),
        (2, 1, 1, 1),
        (3, 1, 2, 3),
        (6, 1, 0, 2),
    }
    # two events in one step at one pixel: binary marks 1, count mode counts 2
    dup = make_events([0, 10, 20], [1, 1, 2], [1, 1, 1], [1, 1, 1])
    assert R.spike_tensor(dup, sensor_size=SIZE, dt_us=100, dtype=torch.float32).sum().item() == 2.0
    cnt = R.spike_tensor(dup, sensor_size=SIZE, dt_us=100, mode="count", dtype=torch.uint8)
    assert cnt[0, 1, 1, 1].item() == 2 and cnt.sum().item() == 3
    merged = R.spike_tensor(
        ev, sensor_size=SIZE, dt_us=500, split_polarity=False, n_steps=2, dtype=torch.float64
    )
    assert merged.shape == (2, 1, 3, 4) and merged.sum().item() == 3.0
    late = R.spike_tensor(ev, sensor_size=SIZE, dt_us=1000, t_start_us=2000)
    assert late.shape[0] == 3 and late.sum().item() == 3


def test_spike_tensor_count_saturates():
    many = make_events(np.zeros(300, dtype=np.int64), np.zeros(300), np.zeros(300), np.ones(300))
    cnt = R.spike_tensor(many, sensor_size=SIZE, dt_us=1, mode="count", dtype=torch.uint8)
    assert cnt[0, 1, 0, 0].item() == 255
    assert (
        R.spike_tensor(many, sensor_size=SIZE, dt_us=1, mode="count", dtype=torch.int32)[
            0, 1, 0, 0
        ].item()
        == 300
    )


def test_batch_spike_tensor_aligns_each_sample():
    a = make_events([100, 2500], [0, 3], [0, 2], [1, 0])
    b = make_events([5000], [2], [1], [0])
    st = R.batch_spike_tensor([a, Recording(b, SIZE, "x")], sensor_size=SIZE, dt_us=1000)
    assert st.shape == (3, 2, 2, 3, 4)
    assert {tuple(i) for i in st.nonzero().tolist()} == {
        (0, 0, 1, 0, 0),
        (2, 0, 0, 2, 3),
        (0, 1, 0, 1, 2),
    }
    absolute = R.batch_spike_tensor([a, b], sensor_size=SIZE, dt_us=1000, t_start_us=0)
    assert absolute.shape[0] == 6 and absolute[5, 1, 0, 1, 2]


def test_simulator_inputs_feed_a_spike_tensor_source():
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("dvs", 2 * 3 * 4, shape=(2, 3, 4))
    net.add_population("n", 2, ss.LIF())
    net.add_projection("p", "dvs", "n", ss.Dense())
    sim = ss.Simulator(net, batch_size=2)
    a = make_events([100, 2500, 2600], [0, 3, 1], [0, 2, 1], [1, 0, 1])
    b = make_events([5000, 5000], [2, 2], [1, 1], [0, 0])
    inputs = R.simulator_inputs([a, b], simulator=sim, source="dvs", sensor_size=SIZE)
    assert inputs["dvs"].shape == (3, 2, 24)
    out = sim.forward(inputs, record=("dvs",))
    # neuron index (p*H + y)*W + x
    assert out["dvs"].nonzero().tolist() == [[0, 0, 12], [0, 1, 6], [2, 0, 11], [2, 0, 17]]
    fixed = R.simulator_inputs(
        [a, b], simulator=sim, source="dvs", sensor_size=SIZE, duration_s=0.005
    )
    assert sim.run(0.005, inputs=fixed).run["n_steps"] == 5
    with pytest.raises(ParameterError, match="size"):
        R.simulator_inputs([a, b], simulator=sim, source="dvs", sensor_size=(5, 3))
    with pytest.raises(ParameterError, match="batch_size"):
        R.simulator_inputs([a], simulator=sim, source="dvs", sensor_size=SIZE)
    with pytest.raises(ParameterError, match="spike_tensor"):
        R.simulator_inputs([a, b], simulator=sim, source="n", sensor_size=SIZE)
    with pytest.raises(ParameterError, match="source"):
        R.simulator_inputs([a, b], simulator=sim, source="nope", sensor_size=SIZE)


def test_empty_events_give_empty_representations():
    e = empty_events()
    assert R.count_frame(e, sensor_size=SIZE).sum() == 0
    assert R.to_frames(e, sensor_size=SIZE, time_window_us=10).shape == (1, 2, 3, 4)
    assert R.voxel_grid(e, sensor_size=SIZE, n_time_bins=2).sum() == 0
    assert R.time_surface(e, sensor_size=SIZE, tau_s=0.01).sum() == 0
    assert R.spike_tensor(e, sensor_size=SIZE, dt_us=10).shape == (1, 2, 3, 4)
    assert R.spike_tensor(e, sensor_size=SIZE, dt_us=10, n_steps=4).sum().item() == 0


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda ev: R.count_frame(ev, sensor_size=(3, 3)), "x"),
        (lambda ev: R.count_frame(ev, sensor_size=(4, 2)), "y"),
        (lambda ev: R.count_frame(ev), "sensor_size"),
        (lambda ev: R.count_frame(ev, sensor_size=(4, -3)), "sensor_size"),
        (lambda ev: R.spike_tensor(ev, sensor_size=SIZE, dt_us=-5), "dt_us"),
        (lambda ev: R.spike_tensor(ev, sensor_size=SIZE, dt_us=0), "dt_us"),
        (lambda ev: R.spike_tensor(ev, sensor_size=SIZE, dt_us=10, n_steps=0), "n_steps"),
        (lambda ev: R.spike_tensor(ev, sensor_size=SIZE, dt_us=10, dtype=np.float32), "dtype"),
        (lambda ev: R.spike_tensor(ev, sensor_size=SIZE, dt_us=10, mode="count"), "dtype"),
        (lambda ev: R.to_frames(ev, sensor_size=SIZE), "exactly one"),
        (lambda ev: R.to_frames(ev, sensor_size=SIZE, time_window_us=-1), "time_window_us"),
        (lambda ev: R.voxel_grid(ev, sensor_size=SIZE, n_time_bins=0), "n_time_bins"),
        (lambda ev: R.time_surface(ev, sensor_size=SIZE, tau_s=-1.0), "tau_s"),
        (lambda ev: R.polarity_frame(ev, sensor_size=SIZE, mode="max"), "mode"),
        (lambda ev: R.batch_spike_tensor([], sensor_size=SIZE, dt_us=1), "recordings"),
    ],
)
def test_bad_parameters_are_named(call, field):
    with pytest.raises(ParameterError, match=field):
        call(small())


def test_bad_events_are_named():
    with pytest.raises(ParameterError, match="structured array"):
        R.count_frame(np.zeros((5, 4)), sensor_size=SIZE)
    with pytest.raises(ParameterError, match="structured array"):
        R.count_frame(torch.zeros(5, 4), sensor_size=SIZE)
    wrong = np.zeros(3, dtype=[("t", "<f8"), ("x", "<u2"), ("y", "<u2"), ("p", "i1")])
    with pytest.raises(ParameterError, match=r"events\['t'\].*integer"):
        R.count_frame(wrong, sensor_size=SIZE)
    missing = np.zeros(3, dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2")])
    with pytest.raises(ParameterError, match="missing"):
        R.count_frame(missing, sensor_size=SIZE)
    bad_p = small()
    bad_p["p"][2] = -1
    with pytest.raises(ParameterError, match="polarities"):
        R.count_frame(bad_p, sensor_size=SIZE)
    tonic_like = np.zeros(2, dtype=[("x", "<i2"), ("y", "<i2"), ("p", "<i2"), ("t", "<i8")])
    tonic_like["x"] = [1, -1]
    with pytest.raises(ParameterError, match=r"events\['x'\].*>= 0"):
        R.count_frame(tonic_like, sensor_size=SIZE)
    tonic_like["x"] = [1, 2]
    assert R.count_frame(tonic_like, sensor_size=(4, 3, 2)).sum() == 2


def test_real_recording_frames_and_spikes_consistent(sample):
    ev = sample.events
    before = ev.copy()
    n = ev.shape[0]
    assert R.count_frame(sample).sum() == n
    frames = R.to_frames(sample, time_window_us=10_000, include_incomplete=True)
    assert frames.sum() == n
    counts = R.spike_tensor(sample, dt_us=10_000, mode="count", dtype=torch.int32)
    np.testing.assert_array_equal(counts.numpy(), frames)
    binary = R.spike_tensor(sample, dt_us=10_000)
    np.testing.assert_array_equal(binary.numpy(), frames > 0)
    v = R.voxel_grid(sample, n_time_bins=7)
    assert float(v.sum()) == pytest.approx(
        float((2 * ev["p"].astype(np.int64) - 1).sum()), abs=1e-2
    )
    np.testing.assert_array_equal(ev, before)


def test_real_recording_matches_tonic(sample):
    tf = pytest.importorskip("tonic.functional")
    ev = sample.events
    size3 = (*sample.sensor_size, 2)
    for kw in ({"time_window": 10_000}, {"event_count": 5_000}):
        ours_kw = {"time_window_us": kw["time_window"]} if "time_window" in kw else kw
        np.testing.assert_array_equal(
            R.to_frames(sample, **ours_kw), tf.to_frame_numpy(ev.copy(), size3, **kw)
        )
    ours = R.time_surfaces(sample, dt_us=50_000, tau_s=0.005)
    theirs = tf.to_timesurface_numpy(ev.copy(), size3, dt=50_000, tau=5_000)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.gpu
def test_spike_tensor_on_cuda_matches_cpu():
    ev = small()
    cpu = R.spike_tensor(ev, sensor_size=SIZE, dt_us=500, mode="count", dtype=torch.float16)
    gpu = R.spike_tensor(
        ev, sensor_size=SIZE, dt_us=500, mode="count", dtype=torch.float16, device="cuda"
    )
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)
    assert EVENT_DTYPE == ev.dtype


def test_oversized_outputs_are_refused_before_allocating():
    ev = make_events([0, 10_000_000], [0, 3], [0, 2], [1, 0])  # 10 s apart
    with pytest.raises(ParameterError, match=r"dt_us.*GiB"):
        R.spike_tensor(ev, sensor_size=(1280, 720), dt_us=0.001, dtype=torch.float32)
    with pytest.raises(ParameterError, match=r"n_steps.*GiB"):
        R.batch_spike_tensor([ev, ev], sensor_size=SIZE, dt_us=1, n_steps=10**12)
    with pytest.raises(ParameterError, match=r"time_window_us.*GiB"):
        R.to_frames(ev, sensor_size=(1280, 720), time_window_us=1)
    with pytest.raises(ParameterError, match=r"n_time_bins.*GiB"):
        R.voxel_grid(ev, sensor_size=(1280, 720), n_time_bins=10**6)
    with pytest.raises(ParameterError, match=r"dt_us.*GiB"):
        R.time_surfaces(ev, sensor_size=(1280, 720), dt_us=1, tau_s=0.01)


def test_recording_to_network_pipeline(sample):
    """read -> denoise -> downsample -> spike tensor -> spikesim network, on a real recording."""
    from spikesim.sensors import transforms as T

    pipeline = T.Compose([T.Denoise(10_000), T.Downsample(0.125), T.RefractoryFilter(1_000)])
    half = sample.events.size // 2
    parts = [
        pipeline(Recording(e, sample.sensor_size, sample.format))
        for e in (sample.events[:half], sample.events[half:])
    ]
    assert all(p.sensor_size == (40, 30) for p in parts)
    n_in = 2 * 30 * 40
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("dvs", n_in, shape=(2, 30, 40))
    net.add_population("out", 4, ss.LIF())
    net.add_projection("w", "dvs", "out", ss.Dense(weight=2.0))
    net.monitor_spikes("dvs", name="in")
    sim = ss.Simulator(net, batch_size=2)
    inputs = R.simulator_inputs(parts, simulator=sim, source="dvs", duration_s=0.2)
    assert inputs["dvs"].shape == (200, 2, n_in) and inputs["dvs"].dtype == torch.bool
    result = sim.run(0.2, inputs=inputs)
    for b, part in enumerate(parts):
        spikes = result.spikes["in"]
        mine = spikes.batch == b
        got = sorted(zip(spikes.step[mine].tolist(), spikes.index[mine].tolist(), strict=True))
        expected = R.spike_tensor(part, dt_us=1000, n_steps=200).reshape(200, -1).nonzero()
        assert len(got) == expected.shape[0] > 1000
        assert got == [tuple(r) for r in expected.tolist()]
