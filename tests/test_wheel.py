"""The wheel works on its own: build it, install it into a fresh venv, run `cxsim` from a
directory outside the clone.

The fresh venv gets the wheel (``--no-deps``) and sees the dependencies through a path file
pointing at this environment's site-packages. A path file adds that directory to ``sys.path``
without processing the path files inside it, so this environment's editable install of cxsim
(which maps ``sim``, ``experiments``, ... back to the clone) is *not* active there: every cxsim
module and config file comes from the wheel, which the test checks. That keeps the test offline
and fast; it still proves what broke before (the wheel held no ``configs/``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kw
    )


def _source_copy(dest: Path) -> Path:
    """The tracked files of the clone, copied to `dest`.

    Building from the clone itself let setuptools walk a tree that other test workers were
    writing to at the same time (``__pycache__``, ``build/``, run outputs), and a build once
    failed on that. A copy of what git tracks is what a fresh clone holds, and nothing else
    writes to it.
    """
    r = _run(["git", "ls-files", "-z"], ROOT)
    if r.returncode != 0:  # not a git checkout (e.g. an unpacked sdist): copy without caches
        ignore = shutil.ignore_patterns(
            ".venv", "build", "dist", "outputs", "multirun", "__pycache__", "*.egg-info", ".*"
        )
        shutil.copytree(ROOT, dest, ignore=ignore)
        return dest
    for name in filter(None, r.stdout.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    src = _source_copy(base / "src")
    r = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", dist], base)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = dist.glob("cxsim-*.whl")
    env_dir = base / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        _run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base
        ).stdout.strip()
    )
    (site / "_cxsim_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = _run(
        [sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel], base
    )
    assert r.returncode == 0, r.stderr[-2000:]
    work = base / "elsewhere"  # a directory with no clone around it
    work.mkdir()
    return env_dir / "bin", work, site


def test_modules_and_configs_come_from_the_wheel(installed):
    bin_dir, work, site = installed
    r = _run(
        [
            bin_dir / "python",
            "-c",
            "import sim, experiments, configs, json;"
            "print(json.dumps([sim.__file__, experiments.__file__, configs.__file__]))",
        ],
        work,
    )
    assert r.returncode == 0, r.stderr
    for path in json.loads(r.stdout):
        assert Path(path).is_relative_to(site), path
        assert not Path(path).is_relative_to(ROOT), path


def test_cxsim_run_from_any_directory(installed):
    bin_dir, work, _ = installed
    out = work / "run"
    r = _run(
        [
            bin_dir / "cxsim",
            "run",
            "population.n_customers=200",
            "steps=8",
            "evaluation.burn_in=2",
            "scenario=baseline",
            "output.figure=false",
            f"hydra.run.dir={out}",
        ],
        work,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cxsim run: 200 customers x 8 weeks")
    assert json.loads((out / "kpis.json").read_text())["nps"] is not None
    assert "Traceback" not in r.stderr


def test_listings_and_version_from_the_wheel(installed):
    bin_dir, work, _ = installed
    r = _run([bin_dir / "cxsim", "--version"], work)
    assert r.returncode == 0 and r.stdout.strip() == "cxsim 0.1.0", r.stdout + r.stderr
    r = _run([bin_dir / "cxsim", "scenarios"], work)
    assert r.returncode == 0 and "outage" in r.stdout, r.stderr
    r = _run([bin_dir / "cxsim", "run", "scenario=nope", f"hydra.run.dir={work / 'bad'}"], work)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_bundled_data_set_and_calibration_study_from_the_wheel(installed):
    """cxsim calibrate's CDNOW file and its study configs are package data of the wheel."""
    bin_dir, work, site = installed
    r = _run(
        [
            bin_dir / "python",
            "-c",
            "from experiments.calibrate.transactions import dataset_path, read_transactions;"
            "print(dataset_path('cdnow')); print(len(read_transactions('cdnow').frame))",
        ],
        work,
    )
    assert r.returncode == 0, r.stderr
    path, rows = r.stdout.split()
    assert Path(path).is_relative_to(site) and rows == "69659"
    r = _run([bin_dir / "cxsim", "calibrate", "calibration=smoke", "--cfg", "job"], work)
    assert r.returncode == 0 and "purchase_rate" in r.stdout, r.stderr
