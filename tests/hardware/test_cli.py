"""``spikesim lava`` and ``spikesim export`` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import click
import nir
import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner
from hdf5_damage import damage_first_heap_object
from spikesim.hardware import lava_env
from spikesim.hardware.cli import export, lava, load_config_or_result
from spikesim.hardware.netx import read_netx

from spikesim import Network
from spikesim.connectivity import Dense, FixedFanIn
from spikesim.neurons import CubaLIF
from spikesim.values import Uniform


def _config(tmp_path: Path, *, bias: float = 0.0, run: dict | None = None) -> Path:
    net = Network(dt_s=1e-3, name="cli_net")
    net.add_poisson("noise", 30, rate_hz=80.0)
    net.add_population("exc", 40, CubaLIF(tau_syn_s=4e-3, tau_mem_s=15e-3, v_th=1.0, bias=bias))
    net.add_population("inh", 10, CubaLIF(tau_syn_s=6e-3, tau_mem_s=10e-3, v_th=1.0))
    net.add_projection("noise_exc", "noise", "exc", FixedFanIn(k=5, weight=Uniform(0.4, 0.9)))
    net.add_projection("exc_inh", "exc", "inh", Dense(weight=0.08))
    net.add_projection("inh_exc", "inh", "exc", Dense(weight=0.3), receptor="inh", delay_steps=4)
    doc = net.to_dict()
    doc["run"] = run if run is not None else {"duration_s": 0.2, "seed": 5}
    path = tmp_path / "net.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def test_help_lists_the_commands() -> None:
    runner = CliRunner()
    out = runner.invoke(lava, ["--help"])
    assert out.exit_code == 0
    for cmd in ("setup", "run", "verify"):
        assert cmd in out.output
    out = runner.invoke(export, ["--help"])
    assert out.exit_code == 0 and "lava|nir|netx" in out.output


def _options(group: click.Group) -> list[tuple[str, click.Option]]:
    """``(command path, option)`` for every option of every command under ``group``."""
    ctx = click.Context(group)
    found = []
    commands = (
        [(c, group.get_command(ctx, c)) for c in group.list_commands(ctx)]
        if isinstance(group, click.Group)
        else [("", group)]
    )
    for name, cmd in commands:
        assert cmd is not None
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name != "help":
                found.append((f"{group.name} {name}".strip(), param))
    return found


def test_every_option_says_what_it_does_and_its_default() -> None:
    """Each option of `spikesim lava ...` and `spikesim export` has a help text, and each
    one with a default shows it, also where the default comes from the file (`lava verify
    --inputs` had no help)."""
    options = _options(lava) + _options(export)
    assert len(options) >= 12
    for where, opt in options:
        assert opt.help and len(opt.help) > 15, (where, opt.name)
        if not (opt.required or opt.is_flag or opt.default is None):
            assert opt.show_default, (where, opt.name)
    shown = {(w, o.name) for w, o in options if isinstance(o.show_default, str)}
    # None that stands for a value taken elsewhere says where from
    assert {("lava run", "steps"), ("lava verify", "seed"), ("export", "steps")} <= shown
    assert ("lava setup", "path") in shown
    helps = {
        where: CliRunner().invoke(grp, [*where.split()[1:], "--help"]).output
        for grp, where in ((lava, "lava verify"), (lava, "lava run"), (export, "export"))
    }
    assert "--inputs FILE          NumPy .npz file with the spikes" in helps["lava verify"]
    assert "[default: (the file's run" in " ".join(helps["lava run"].split())


def test_export_help_says_what_each_target_writes() -> None:
    text = " ".join(CliRunner().invoke(export, ["--help"]).output.split())
    for internal in ("lava_runner.py", "NETX_QUANTIZE", "weight_exp", "bias_exp"):
        assert internal not in text
    assert "Every target takes only networks Loihi 2 can run" in text
    assert "nir the float network (not quantised) as an NIR graph" in text
    assert "Output file: .npz for lava; .nir, .h5 or .hdf5 for nir; .net, .h5 or .hdf5" in text


def test_output_names_must_match_what_is_written(tmp_path: Path) -> None:
    """`export lava -o x.h5` wrote a zip archive named .h5 (and `lava run -o s.h5` wrote
    s.h5.npz while saying s.h5): a name whose ending does not match the content is a usage
    error naming --out, before anything runs; nothing is written."""
    cfg = str(_config(tmp_path))
    runner = CliRunner()
    cases = [
        (export, ["lava", cfg, "-o", "x.h5"], "writes a NumPy .npz archive; expected a file "
         "name ending in .npz, found '{}'"),
        (export, ["nir", cfg, "-o", "x.npz"], "writes an NIR graph in HDF5; expected a file "
         "name ending in .nir or .h5 or .hdf5, found '{}'"),
        (export, ["netx", cfg, "-o", "x.npz"], "writes a netx network in HDF5; expected a "
         "file name ending in .net or .h5 or .hdf5, found '{}'"),
        (lava, ["run", cfg, "-o", "spikes.h5"], "writes a NumPy .npz archive of spikes; "
         "expected a file name ending in .npz, found '{}'"),
    ]  # fmt: skip
    for group, args, message in cases:
        args[-1] = str(tmp_path / args[-1])
        out = runner.invoke(group, args)
        assert out.exit_code == 2, (args, out.output)
        text = " ".join(out.output.split())
        assert "Invalid value for '-o' / '--out'" in text and message.format(args[-1]) in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.toml"]
    # the endings are not case-sensitive; .h5 is an HDF5 NIR graph
    for target, name in (("lava", "UPPER.NPZ"), ("nir", "graph.h5")):
        out = runner.invoke(export, [target, cfg, "-o", str(tmp_path / name)])
        assert out.exit_code == 0, out.output
    with np.load(tmp_path / "UPPER.NPZ") as d:
        assert str(d["format"]) == "spikesim-loihi-exchange"
    assert set(nir.read(str(tmp_path / "graph.h5")).nodes) >= {"noise", "exc", "inh"}


def test_config_loader_reads_run_settings(tmp_path: Path) -> None:
    net, run = load_config_or_result(_config(tmp_path))
    assert net.name == "cli_net" and run["n_steps"] == 200 and run["seed"] == 5


def test_export_nir_netx_and_lava_files(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    runner = CliRunner()
    out = runner.invoke(export, ["nir", str(cfg), "-o", str(tmp_path / "net.nir")])
    assert out.exit_code == 0, out.output
    graph = nir.read(str(tmp_path / "net.nir"))
    assert {"noise", "exc", "inh", "inh_exc_delay"} <= set(graph.nodes)
    out = runner.invoke(export, ["lava", str(cfg), "-o", str(tmp_path / "net.npz")])
    assert out.exit_code == 0, out.output
    assert "noise_exc" in out.output and "estimated cores" in out.output  # both reports
    with np.load(tmp_path / "net.npz") as d:
        assert str(d["format"]) == "spikesim-loihi-exchange"
        assert d["input0_spikes"].shape == (200, 1, 30)
        assert list(d["conn_kinds"]) == ["sparse", "dense", "delay_dense"]
    # netx holds a sequential stack only: the E/I loop back into exc is refused by name
    out = runner.invoke(export, ["netx", str(cfg), "-o", str(tmp_path / "net.net")])
    assert out.exit_code != 0
    assert "population 'exc': incoming connections must be one from the previous" in out.output
    assert not (tmp_path / "net.net").exists()


def _layered_config(tmp_path: Path) -> Path:
    net = Network(dt_s=1e-3, name="layered")
    net.add_poisson("noise", 30, rate_hz=100.0)
    net.add_population("hidden", 40, CubaLIF(tau_syn_s=4e-3, tau_mem_s=15e-3, bias=0.01))
    net.add_population("out", 8, CubaLIF(tau_syn_s=6e-3, tau_mem_s=10e-3))
    net.add_projection("noise_hidden", "noise", "hidden", FixedFanIn(k=6, weight=Uniform(0.2, 0.5)))
    net.add_projection("hidden_hidden", "hidden", "hidden", Dense(weight=0.02), receptor="inh")
    net.add_projection("hidden_out", "hidden", "out", Dense(weight=0.15))
    doc = net.to_dict()
    doc["run"] = {"duration_s": 0.15, "seed": 3}
    path = tmp_path / "layered.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def test_export_netx_of_a_layered_network(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        export, ["netx", str(_layered_config(tmp_path)), "-o", str(tmp_path / "l.net")]
    )
    assert out.exit_code == 0, out.output
    assert "lava.lib.dl.netx.hdf5.Network" in out.output
    back = read_netx(tmp_path / "l.net", input_name="noise")
    assert [p.name for p in back.populations] == ["hidden", "out"]
    assert {c.name for c in back.connections} == {"noise_hidden", "hidden_hidden", "hidden_out"}


@pytest.mark.lava
def test_verify_netx_runs_lava_dl(tmp_path: Path, lava_ready: None) -> None:
    out = CliRunner().invoke(lava, ["verify", "--netx", str(_layered_config(tmp_path))])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("AGREE  network: 150 steps")
    counts = dict(
        part.rsplit(" ", 1) for part in out.output.splitlines()[0].split("spikes ")[1].split(", ")
    )
    assert int(counts["hidden"]) > 100 and int(counts["out"]) > 10, counts


def test_errors_are_reported_without_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    cfg = _config(tmp_path, run={"seed": 1})
    out = runner.invoke(lava, ["run", str(cfg)])
    assert out.exit_code == 1 and "--steps" in out.output and "Traceback" not in out.output
    out = runner.invoke(export, ["lava", str(tmp_path / "missing.toml"), "-o", "x.npz"])
    assert out.exit_code == 1 and "file not found" in out.output


@pytest.mark.lava
def test_setup_run_and_verify_in_lava(tmp_path: Path, lava_ready: None) -> None:
    runner = CliRunner()
    out = runner.invoke(lava, ["setup"])
    assert out.exit_code == 0, out.output
    assert "already set up" in out.output and str(lava_env.env_path()) in out.output
    cfg = _config(tmp_path, bias=0.05)
    out = runner.invoke(lava, ["verify", str(cfg), "--steps", "150"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("AGREE  network: 150 steps")
    counts = dict(
        part.rsplit(" ", 1) for part in out.output.splitlines()[0].split("spikes ")[1].split(", ")
    )
    assert int(counts["exc"]) > 100 and int(counts["inh"]) > 10
    out = runner.invoke(lava, ["run", str(cfg), "--steps", "150", "-o", str(tmp_path / "s.npz")])
    assert out.exit_code == 0, out.output
    with np.load(tmp_path / "s.npz") as d:
        assert int(d["exc"].sum()) == int(counts["exc"])
        assert int(d["inh"].sum()) == int(counts["inh"])


# ------------------------------------------- network and result files in the old HDF5 format


def _old_format_files(tmp_path: Path) -> tuple[Path, Path]:
    """The CLI test network as a network file and as a result file in the layout spikesim
    wrote before 2026-11-26: h5py's default (earliest) HDF5 format, no checksums, the
    description as a variable-length string attribute (what tests/core/test_hdf5_fuzz.py
    writes for the core readers)."""
    import json

    import h5py

    net, _ = load_config_or_result(_config(tmp_path))
    paths = (tmp_path / "old_net.h5", tmp_path / "old_result.h5")
    for path in paths:
        with h5py.File(path, "w") as f:  # the description first: the first heap object
            g = f.create_group("network")
            g.attrs["description_json"] = json.dumps(net.to_dict())
            g.attrs["format_version"] = 1
            g.create_group("arrays")
            if path.name == "old_result.h5":
                f.attrs["run_json"] = json.dumps({"seed": 9, "n_steps": 60, "batch_size": 2})
                f.attrs["provenance_json"] = json.dumps({})
                f.attrs["complete"] = True
    return paths


def test_old_format_files_read_through_the_worker(tmp_path: Path) -> None:
    """Undamaged files in the old format still load (in the core's worker process), with the
    result file's run settings: export lava writes its 60 steps x batch 2 of inputs."""
    from spikesim.hardware.hdf5_files import is_legacy_format

    old_net, old_res = _old_format_files(tmp_path)
    assert is_legacy_format(old_net) and is_legacy_format(old_res)
    want = load_config_or_result(_config(tmp_path))[0].to_dict()
    net, run = load_config_or_result(old_net)
    assert net.to_dict() == want and run == {}
    net, run = load_config_or_result(old_res)
    assert net.to_dict() == want and run == {"seed": 9, "n_steps": 60, "batch_size": 2}
    out = CliRunner().invoke(export, ["lava", str(old_res), "-o", str(tmp_path / "old.npz")])
    assert out.exit_code == 0, out.output
    with np.load(tmp_path / "old.npz") as d:
        assert d["input0_spikes"].shape == (60, 2, 30)


def test_damaged_old_format_files_are_errors_not_hangs(tmp_path: Path) -> None:
    """A damaged old-format network or result file (a global heap that makes libhdf5 loop) is
    an error naming the file once the core's timeout passes (LEGACY_TIMEOUT_S, set to 1 s in
    the child), for `export` and `lava verify`, both reading through load_config_or_result.
    The CLI runs in a child process so that a regression fails here instead of hanging."""
    import json
    import subprocess
    import sys

    old_net, old_res = _old_format_files(tmp_path)
    calls = [
        ["export", "nir", str(old_res), "-o", str(tmp_path / "x.nir")],
        ["export", "lava", str(old_net), "--steps", "5", "-o", str(tmp_path / "x.npz")],
        ["lava", "verify", str(old_res), "--steps", "5"],
    ]
    for path in (old_net, old_res):
        damage_first_heap_object(path)
    code = (  # one child for all calls: the commands as `spikesim` runs them
        "import json, sys\nimport spikesim._hdf5 as h\nh.LEGACY_TIMEOUT_S = 1.0\n"
        "from click.testing import CliRunner\nfrom spikesim.cli import cli\n"
        f"outs = [CliRunner().invoke(cli, args) for args in {calls!r}]\n"
        "print(json.dumps([[o.exit_code, o.output] for o in outs]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for args, (exit_code, output) in zip(calls, json.loads(done.stdout), strict=True):
        assert exit_code == 1, (args, output)
        assert output == (
            f"Error: {args[2]}: key '-': not a readable spikesim network or result file: "
            "libhdf5 gave no answer in 1 s reading it: a damaged file in the HDF5 format "
            "spikesim wrote before 2026-11-26 (no checksums)\n"
        ), output
    assert not (tmp_path / "x.npz").exists()
    assert not (tmp_path / "x.nir").exists()
