"""The spikesim command line: run a TOML config, describe files, report bad configs clearly."""

from __future__ import annotations

import click
from click.testing import CliRunner

import spikesim as ss
from spikesim.cli import cli


def _config(tmp_path, extra_run: str = "") -> str:
    net = ss.Network(dt_s=1e-4, name="cfg")
    net.add_poisson("in", 50, rate_hz=20.0)
    net.add_population("n", 20, ss.LIF(tau_mem_s=10e-3, tau_syn_exc_s=2e-3))
    net.add_projection("p", "in", "n", ss.FixedFanIn(k=20, weight=10.0))
    net.monitor_spikes("n")
    path = tmp_path / "net.toml"
    net.to_toml(path)
    with open(path, "a") as fh:
        fh.write(f"\n[run]\nduration_s = 0.05\nseed = 3\n{extra_run}")
    return str(path)


def test_run_writes_result_and_prints_summary(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "res.h5"
    r = CliRunner().invoke(cli, ["run", cfg, "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "n_spikes" in r.output and out.is_file()
    res = ss.Result.from_hdf5(out)
    assert res.run["seed"] == 3 and res.run["n_steps"] == 500
    direct = ss.simulate(ss.Network.from_toml(cfg), duration_s=0.05, seed=3)
    assert res.spikes["n_spikes"].count() == direct.spikes["n_spikes"].count() > 0
    info = CliRunner().invoke(cli, ["info", str(out)])
    assert info.exit_code == 0 and "seed 3" in info.output


def test_info_without_path_lists_versions_and_devices():
    r = CliRunner().invoke(cli, ["info"])
    assert r.exit_code == 0
    assert "torch" in r.output and "brian2" in r.output and ("cuda" in r.output)


def test_unknown_run_key_is_named(tmp_path):
    cfg = _config(tmp_path, "durration = 1\n")
    r = CliRunner().invoke(cli, ["run", cfg])
    assert r.exit_code != 0
    assert "run.durration" in r.output and "unknown key" in r.output


def test_bad_parameter_in_config_is_named(tmp_path):
    cfg = _config(tmp_path)
    from pathlib import Path

    path = Path(cfg)
    path.write_text(path.read_text().replace("tau_mem_s = 0.01", "tau_mem_s = -0.01"))
    r = CliRunner().invoke(cli, ["run", cfg])
    assert r.exit_code != 0
    assert "tau_mem_s" in r.output and "population 'n'" in r.output


def test_plugin_commands_are_listed():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0
    for name in ("run", "info", "demo", "events", "lava", "export", "train"):
        assert name in r.output


def test_run_options_have_help_and_say_their_defaults():
    from spikesim.cli import run_cmd

    for opt in run_cmd.params:
        if isinstance(opt, click.Option) and opt.name != "help":
            assert opt.help, opt.name
    r = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    for default in (
        "[run] mode, else spiking",
        "[run] seed, else 0",
        "[run] batch_size, else 1",
        "[run] device, else cpu",
        "[run] dtype, else float32",
        "[run] progress, else shown",
    ):
        assert default in text, default
