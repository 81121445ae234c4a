"""The managed Lava environment: locating Python 3.10, readiness and clear errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from spikesim.hardware import lava_env
from spikesim.hardware.lava_run import run_in_lava
from spikesim.hardware.loihi.examples import feedforward


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_env_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPIKESIM_LAVA_ENV", raising=False)
    assert lava_env.env_path().name == ".venv-lava"
    monkeypatch.setenv("SPIKESIM_LAVA_ENV", str(tmp_path / "from-env"))
    assert lava_env.env_path() == (tmp_path / "from-env").resolve()
    assert lava_env.env_path(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert lava_env.python_path(tmp_path / "arg") == (tmp_path / "arg").resolve() / "bin" / "python"


def test_empty_env_is_not_ready_and_says_what_to_run(tmp_path: Path) -> None:
    assert not lava_env.is_ready(tmp_path)
    with pytest.raises(lava_env.LavaEnvError, match=r"not set up.*spikesim lava setup"):
        lava_env.require_ready(tmp_path)
    case = feedforward(n_steps=5)
    with pytest.raises(lava_env.LavaEnvError, match=r"spikesim lava setup"):
        run_in_lava(case.net, n_steps=5, inputs=case.inputs, env=tmp_path)


def test_marker_for_other_requirements_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    _script(tmp_path / "bin" / "python", "exit 0")
    (tmp_path / "spikesim-lava.json").write_text(
        '{"marker_version": 1, "requirements": ["lava-nc==0.9.0"]}'
    )
    assert not lava_env.is_ready(tmp_path)


def test_marker_without_lava_dl_is_upgraded_not_trusted(tmp_path: Path) -> None:
    # an environment set up before lava-dl joined: same pip requirements, no nodeps entry
    (tmp_path / "bin").mkdir()
    _script(tmp_path / "bin" / "python", "exit 0")
    marker = {"marker_version": 1, "requirements": list(lava_env.LAVA_REQUIREMENTS)}
    (tmp_path / "spikesim-lava.json").write_text(json.dumps(marker))
    assert not lava_env.is_ready(tmp_path)
    marker["nodeps_requirements"] = list(lava_env.LAVA_NODEPS_REQUIREMENTS)
    (tmp_path / "spikesim-lava.json").write_text(json.dumps(marker))
    assert lava_env.is_ready(tmp_path)
    assert lava_env.LAVA_NODEPS_REQUIREMENTS == ("lava-dl==0.6.0",)
    assert not any(r.startswith(("torch", "lava-dl")) for r in lava_env.LAVA_REQUIREMENTS)


def test_failing_pyenv_style_shim_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a `python3.10` on PATH that exits 127 like an unselected pyenv shim, and one that is 3.9
    shim_dir = tmp_path / "shims"
    shim_dir.mkdir()
    shim = _script(
        shim_dir / "python3.10", "echo 'pyenv: python3.10: command not found' >&2; exit 127"
    )
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    try:
        found = lava_env.find_python310()
    except lava_env.LavaEnvError as err:
        # no real 3.10 on this machine: the message lists every place searched
        assert f"{shim} (does not run as Python 3.10)" in str(err)
        assert "/usr/bin/python3.10" in str(err)
    else:
        assert found != str(shim)
        assert lava_env._works_as_310(found)


def test_no_python310_anywhere_names_the_places_searched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake39 = _script(tmp_path / "python3.10", "echo 3.9")
    monkeypatch.setattr(lava_env, "_candidates", lambda: [str(fake39), str(tmp_path / "missing")])
    with pytest.raises(
        lava_env.LavaEnvError,
        match=r"none was found.*does not run as Python 3\.10.*missing \(missing\)",
    ):
        lava_env.find_python310()
    with pytest.raises(lava_env.LavaEnvError, match=r"python3\.10"):
        lava_env.setup(path=tmp_path / "env")
    assert not (tmp_path / "env").exists()


@pytest.mark.lava
def test_setup_is_idempotent_when_ready() -> None:
    if not lava_env.is_ready():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("Lava environment missing: run `spikesim lava setup`")
        pytest.skip("Lava environment missing: run `spikesim lava setup`")
    info = lava_env.setup()
    assert info.created is False
    assert info.lava_version == "0.10.0"
    assert info.lava_dl_version == "0.6.0"  # netx imported (without torch) by the probe
    assert np.lib.NumpyVersion(info.numpy_version) < "2.0.0"
    assert info.python == lava_env.python_path()


def test_run_script_reports_exit_code_output_and_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from spikesim.errors import SimulationError

    monkeypatch.setenv("PYTHONPATH", "/nowhere")
    echo = tmp_path / "echo_env.py"
    echo.write_text("import os, sys\nprint(os.environ.get('PYTHONPATH', '-'), sys.argv[1:])\n")
    proc = lava_env.run_script(
        Path(sys.executable), echo, ["a", "b"], cwd=str(tmp_path), timeout_s=60, what="probe"
    )
    assert proc.stdout.strip() == "- ['a', 'b']"  # PYTHONPATH is not passed on
    fail = tmp_path / "fail.py"
    fail.write_text("import sys\nprint('lava said no')\nsys.exit(3)\n")
    with pytest.raises(SimulationError, match=r"'probe'.*fail\.py exited 3:\nlava said no"):
        lava_env.run_script(
            Path(sys.executable), fail, [], cwd=str(tmp_path), timeout_s=60, what="probe"
        )
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    with pytest.raises(SimulationError, match=r"did not finish within 0.5 s"):
        lava_env.run_script(
            Path(sys.executable), slow, [], cwd=str(tmp_path), timeout_s=0.5, what="probe"
        )
