"""Benchmark (b): the same small convolutional SNN trained by spikesim, snnTorch, Norse,
SpikingJelly and a plain PyTorch loop, in one run: samples/s and peak memory.

Network (all frameworks): spikes [T=16, B=20, 2, 34, 34] → Conv2d(2→8, 5×5, stride 2, pad 2) →
CUBA LIF → Conv2d(8→16, 5×5, stride 2, pad 2) → CUBA LIF → Linear(1296→10) → CUBA LIF; spike
count readout, cross entropy, Adam; one training step = forward + backward + optimizer step.
Neurons: current decay exp(-1/2), voltage decay exp(-1/5), threshold 1, reset to 0 (each
framework's current-based LIF: spikesim CubaLIF, snnTorch Synaptic, Norse LIFCell,
SpikingJelly CUBALIFNode). Input: Bernoulli spikes of density 0.05 (the density of the
saccade-MNIST tensors), fixed seed.

Every framework runs in its own subprocess (so imports and memory do not mix); timing is the
best of ``--repeats`` runs of ``--batches`` steps after 2 warm-up steps, and the best of
``--rounds`` interleaved rounds (all frameworks once per round). On CPU the ranking uses the
process's CPU time (``time.process_time``; one torch thread), which a shared machine's load
inflates far less than wall time; both are reported. "Saved for backward" is what autograd
keeps for the backward pass of one training step (activations; parameters excluded), counted
by ``saved_tensors_hooks`` (spikesim: after its compact bool storage of spikes). Memory: on CUDA
``torch.cuda.max_memory_allocated``; on CPU the growth of peak RSS (``ru_maxrss``) over the
training steps (tracemalloc cannot see torch's allocations).

    python benchmarks/classification_peers.py                 # CPU, 1 thread
    python benchmarks/classification_peers.py --device cuda   # GPU
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import resource
import subprocess
import sys
import time

FRAMEWORKS = ("spikesim", "torch", "snntorch", "norse", "spikingjelly")
DU, DV = math.exp(-1 / 2), math.exp(-1 / 5)


def _conv_layers(torch):
    return (
        torch.nn.Conv2d(2, 8, 5, stride=2, padding=2, bias=False),
        torch.nn.Conv2d(8, 16, 5, stride=2, padding=2, bias=False),
        torch.nn.Linear(16 * 9 * 9, 10, bias=False),
    )


def build(name: str, batch: int, device: str):
    """A callable ``step(x [T, B, 2, 34, 34] uint8) -> logits [B, 10]`` and its parameters."""
    import torch

    if name == "spikesim":
        from spikesim.models.classify import build_classifier

        m = build_classifier(
            "conv",
            input_shape=(2, 34, 34),
            n_classes=10,
            batch_size=batch,
            device=device,
            track_rates=False,  # like the others: no per-layer spike-rate metrics
        )
        return (lambda x: m(x.transpose(0, 1))["logits"]), m

    if name == "torch":
        layers = torch.nn.ModuleList(_conv_layers(torch)).to(device)

        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v):
                ctx.save_for_backward(v)
                return (v > 0).to(v.dtype)

            @staticmethod
            def backward(ctx, g):
                (v,) = ctx.saved_tensors
                return g / (10 * v.abs() + 1) ** 2

        def step(x):
            T, B = x.shape[:2]
            st = [None, None, None]
            count = 0
            for t in range(T):
                h = x[t].float()
                for i, lay in enumerate(layers):
                    cur = lay(h if i < 2 else h.flatten(1))
                    if st[i] is None:
                        st[i] = (torch.zeros_like(cur), torch.zeros_like(cur))
                    u, v = st[i]
                    u = u * DU + cur
                    v = v * DV + u
                    z = Spike.apply(v - 1.0)
                    st[i] = (u, v * (1 - z))
                    h = z
                count = count + h
            return count

        return step, layers

    if name == "snntorch":
        import snntorch as snn
        from snntorch import surrogate

        layers = torch.nn.ModuleList(_conv_layers(torch)).to(device)
        sg = surrogate.fast_sigmoid(slope=10)
        neurons = [
            snn.Synaptic(alpha=DU, beta=DV, threshold=1.0, reset_mechanism="zero", spike_grad=sg)
            for _ in range(3)
        ]

        def step(x):
            states = [n.reset_mem() for n in neurons]
            count = 0
            for t in range(x.shape[0]):
                h = x[t].float()
                for i, (lay, n) in enumerate(zip(layers, neurons, strict=True)):
                    syn, mem = states[i]
                    h, syn, mem = n(lay(h if i < 2 else h.flatten(1)), syn, mem)
                    states[i] = (syn, mem)
                count = count + h
            return count

        return step, layers

    if name == "norse":
        import norse.torch as norse

        p = norse.LIFParameters(
            tau_syn_inv=torch.tensor(500.0),
            tau_mem_inv=torch.tensor(200.0),
            v_th=torch.tensor(1.0),
            v_leak=torch.tensor(0.0),
            v_reset=torch.tensor(0.0),
            alpha=torch.tensor(10.0),
        )
        layers = torch.nn.ModuleList(_conv_layers(torch)).to(device)
        cells = [norse.LIFCell(p, dt=1e-3) for _ in range(3)]

        def step(x):
            states = [None, None, None]
            count = 0
            for t in range(x.shape[0]):
                h = x[t].float()
                for i, (lay, cell) in enumerate(zip(layers, cells, strict=True)):
                    h, states[i] = cell(lay(h if i < 2 else h.flatten(1)), states[i])
                count = count + h
            return count

        return step, layers

    if name == "spikingjelly":
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        def lif():
            return neuron.CUBALIFNode(
                c_decay=DU,
                v_decay=DV,
                v_threshold=1.0,
                v_reset=0.0,
                surrogate_function=surrogate.Sigmoid(),
            )

        net = torch.nn.Sequential(
            layer.Conv2d(2, 8, 5, stride=2, padding=2, bias=False),
            lif(),
            layer.Conv2d(8, 16, 5, stride=2, padding=2, bias=False),
            lif(),
            layer.Flatten(),
            layer.Linear(16 * 9 * 9, 10, bias=False),
            lif(),
        ).to(device)
        functional.set_step_mode(net, "m")

        def step(x):
            functional.reset_net(net)
            return net(x.float()).sum(0)

        return step, net

    raise ValueError(name)


def child(
    name: str, batch: int, T: int, batches: int, repeats: int, device: str, threads: int
) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    xs = [
        (torch.rand(T, batch, 2, 34, 34, generator=gen) < 0.05).to(torch.uint8).to(device)
        for _ in range(4)
    ]
    ys = [torch.randint(0, 10, (batch,), generator=gen).to(device) for _ in range(4)]
    fn, params = build(name, batch, device)
    opt = torch.optim.Adam(params.parameters(), lr=1e-3)

    def one(i):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(fn(xs[i % 4]), ys[i % 4])
        loss.backward()
        opt.step()
        return float(loss.detach())

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(2):
        one(i)
    # bytes autograd keeps for the backward pass of one training step (activations only,
    # parameters excluded; spikesim: what its compact storage keeps)
    from spikesim.dynamics.surrogate import compact_saved_spikes

    if name == "spikesim":
        one(0)
        saved = params.saved_stats.stored_bytes
    else:
        with compact_saved_spikes(enabled=False) as st:
            one(0)
        saved = st.stored_bytes
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    best = cpu_best = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(batches):
            one(i)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        cpu_best = min(cpu_best, time.process_time() - c0)
    if device.startswith("cuda"):
        mem = torch.cuda.max_memory_allocated() / 2**20
        mem_kind = "CUDA max allocated"
    else:
        mem = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        mem_kind = "peak RSS growth"
    versions = {"torch": torch.__version__}
    mod = {
        "spikesim": "spikesim",
        "snntorch": "snntorch",
        "norse": "norse",
        "spikingjelly": "spikingjelly",
    }.get(name)
    if mod:
        import importlib.metadata as md

        versions[mod] = md.version(mod)
    return {
        "framework": name,
        "samples_per_s": batch * batches / best,
        "samples_per_cpu_s": batch * batches / cpu_best,
        "saved_mib": saved / 2**20,
        "memory_mib": mem,
        "memory_kind": mem_kind,
        "versions": versions,
    }


def same_process(
    names: list[str], batch: int, T: int, batches: int, repeats: int, threads: int
) -> None:
    import torch

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(T, batch, 2, 34, 34, generator=gen) < 0.05).to(torch.uint8)
    y = torch.randint(0, 10, (batch,), generator=gen)
    steps = {}
    for name in names:
        torch.manual_seed(0)
        fn, params = build(name, batch, "cpu")
        opt = torch.optim.Adam(params.parameters(), lr=1e-3)

        def one(fn=fn, opt=opt):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(fn(x), y).backward()
            opt.step()

        one()
        one()
        steps[name] = one
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):  # alternate: load drift hits every framework alike
        for name, one in steps.items():
            c0 = time.process_time()
            for _ in range(batches):
                one()
            best[name] = min(best[name], (time.process_time() - c0) / batches)
    ref = best.get("spikesim")
    print(f"same process, CPU ms per training step (batch {batch}, T={T}, best of {repeats})")
    for name, t in best.items():
        ratio = f", spikesim speed-up {t / ref:.2f}" if ref else ""
        print(f"  {name}: {t * 1e3:.1f} ms{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--steps", type=int, default=16, help="time steps T")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best per framework")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument(
        "--same-process",
        action="store_true",
        help="build every framework in this process and time their steps alternately "
        "(CPU ms per step, best of --repeats x --batches; a check of the subprocess figures)",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.same_process:
        same_process(a.frameworks.split(","), a.batch, a.steps, a.batches, a.repeats, a.threads)
        return
    if a.child:
        res = child(a.child, a.batch, a.steps, a.batches, a.repeats, a.device, a.threads)
        print("RESULT " + json.dumps(res))
        return
    names = a.frameworks.split(",")
    # on CPU the process's CPU time ranks the frameworks (a shared machine's load inflates wall
    # time unevenly); on CUDA wall time
    key = "samples_per_s" if a.device.startswith("cuda") else "samples_per_cpu_s"
    best: dict[str, dict] = {}
    for _ in range(a.rounds):  # interleaved rounds: load drift on a shared machine hits all alike
        for name in names:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                name,
                "--device",
                a.device,
                "--batch",
                str(a.batch),
                "--steps",
                str(a.steps),
                "--batches",
                str(a.batches),
                "--repeats",
                str(a.repeats),
                "--threads",
                str(a.threads),
            ]
            p = subprocess.run(cmd, capture_output=True, text=True)
            line = [s for s in p.stdout.splitlines() if s.startswith("RESULT ")]
            if p.returncode != 0 or not line:
                err = (p.stderr.strip().splitlines() or ["no output"])[-1]
                res = {"framework": name, "error": err}
            else:
                res = json.loads(line[0][7:])
            print(json.dumps(res), file=sys.stderr)
            old = best.get(name)
            if (
                old is None
                or ("error" in old and "error" not in res)
                or ("error" not in res and res[key] > old[key])
            ):
                best[name] = res
    rows = [best[n] for n in names]
    ref = next((r[key] for r in rows if r["framework"] == "spikesim" and "error" not in r), None)
    dev = a.device if a.device != "cpu" else f"{platform.machine()} CPU, {a.threads} thread(s)"
    print(
        f"date {datetime.date.today()}, device {dev}, T={a.steps}, batch {a.batch}, "
        f"best of {a.rounds} interleaved rounds x {a.repeats} x {a.batches} training steps"
    )
    print(
        "| framework | version | samples/s (wall) | samples per CPU-s | spikesim speed-up "
        f"({key}) | saved for backward (MiB) | memory (MiB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['framework']} | - | failed: {r['error']} | - | - | - | - |")
            continue
        ver = r["versions"].get(r["framework"], "torch " + r["versions"]["torch"])
        ratio = f"{ref / r[key]:.2f}" if ref else "-"
        print(
            f"| {r['framework']} | {ver} | {r['samples_per_s']:.1f} | "
            f"{r['samples_per_cpu_s']:.1f} | {ratio} | {r['saved_mib']:.1f} | "
            f"{r['memory_mib']:.0f} ({r['memory_kind']}) |"
        )


if __name__ == "__main__":
    main()
