"""End-to-end: the `cxsim` command line, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from sim.kpis import SERIES

pytestmark = pytest.mark.e2e
CXSIM = [sys.executable, "-m", "experiments.cli"]


def cxsim(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [*CXSIM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_run_writes_every_output(tmp_path):
    out = tmp_path / "run"
    r = cxsim(
        "run",
        "population.n_customers=400",
        "steps=20",
        "evaluation.burn_in=4",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "nps" in r.stdout and "cumulative_profit" in r.stdout
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns) == ["step", *SERIES] and len(ts) == 20
    kpis = json.loads((out / "kpis.json").read_text())
    # run-level KPIs are over the evaluation window (weeks 5-20), not the last week
    assert kpis["nps"] == pytest.approx(ts["nps"].iloc[4:].mean())
    assert kpis["total_profit"] == pytest.approx(ts["profit"].iloc[4:].sum())
    assert kpis["cumulative_profit"] == pytest.approx(ts["cumulative_profit"].iloc[-1])
    assert kpis["final_market_share"] == pytest.approx(ts["market_share"].iloc[-1])
    assert "population:" in (out / "config.yaml").read_text()
    assert (out / "kpis.png").stat().st_size > 10_000
    logs = list(out.glob("*.log"))  # Hydra's job log: Mesa's per-step debug lines stay out
    assert len(logs) == 1, logs
    assert "Step 1 at time" not in logs[0].read_text()


def test_same_seed_same_outputs_via_cli(tmp_path):
    for name in ("a", "b"):
        r = cxsim(
            "run",
            "population.n_customers=300",
            "steps=10",
            "evaluation.burn_in=4",
            "seed=5",
            "output.figure=false",
            f"hydra.run.dir={tmp_path / name}",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    a = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("population.n_customers=-5", "population.n_customers"),
        ("firm.support.financial=1.5", "firm.support.financial"),
        ("firm.policy.improvement_cadence=0", "firm.policy.improvement_cadence"),
        ("+typo=1", "typo"),
        ("typo=1", "typo"),
        ("scenario=nope", "scenario/nope"),
        ("firm.policy.personalization=high", "firm.policy.personalization"),
        ("steps=0", "steps"),
        ("seed=-1", "seed"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(tmp_path, override, key):
    out = tmp_path / "bad"
    r = cxsim("run", override, f"hydra.run.dir={out}", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_unknown_command_and_help(tmp_path):
    r = cxsim("frobnicate", cwd=tmp_path)
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = cxsim("--help", cwd=tmp_path)
    assert r.returncode == 0 and "run" in r.stdout


def test_scenarios_lists_descriptions(tmp_path):
    r = cxsim("scenarios", cwd=tmp_path)
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.strip().splitlines()]
    assert names[0] == "baseline" and "outage" in names
    assert all(len(line.split(None, 1)) == 2 for line in r.stdout.strip().splitlines())
