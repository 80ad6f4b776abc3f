"""`cxsim sweep`: grid syntax, validation before running, one row per point x replicate,
summaries per grid point, common random numbers and resuming from the run store."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.sweep import parse_grid, plan_sweep, sweep
from sim.kpis import RUN
from sim.params import ParamError

TINY = [
    "population.n_customers=200",
    "steps=10",
    "evaluation.burn_in=4",
    "output.quiet=true",
    "executor=serial",
]
GRID = "sweep.grid={firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}"


def test_grid_forms():
    assert parse_grid({"a.b": [1, 2], "c": 3}) == {"a.b": (1, 2), "c": (3,)}
    assert parse_grid({"firm": {"policy": {"omnichannel": [0, 1]}}}) == {
        "firm.policy.omnichannel": (0, 1)
    }
    for bad in (None, {}, [1, 2], 5, {"a": []}, {"a": [1, 1]}):
        with pytest.raises(ParamError, match=r"sweep\.grid"):
            parse_grid(bad)


def test_plan_validates_every_value_before_running():
    plan = plan_sweep([*TINY, GRID, "replicates=2"])
    assert len(plan.points) == 6 and plan.n_runs == 12
    assert plan.points[0] == {"firm.policy.omnichannel": 0, "firm.support.human": 0.2}
    nested = plan_sweep(
        [
            *TINY,
            "+sweep.grid.firm.policy.omnichannel=[0,0.5,1]",
            "+sweep.grid.firm.support.human=[0.2,0.8]",
            "replicates=2",
        ]
    )
    assert nested.keys == plan.keys
    with pytest.raises(ParamError, match=r"sweep\.grid\.firm\.support\.human.*1\.5"):
        plan_sweep([*TINY, "sweep.grid={firm.support.human:[0.2,1.5]}"])
    with pytest.raises(ParamError, match=r"sweep\.grid\.firm\.policy\.nope"):
        plan_sweep([*TINY, "sweep.grid={firm.policy.nope:[1,2]}"])
    with pytest.raises(ParamError, match=r"market\.network\.kind"):
        plan_sweep([*TINY, "sweep.grid={market.network.kind:[small_world,ring]}"])


def test_sweep_writes_tables_and_resumes(tmp_path):
    plan = plan_sweep([*TINY, GRID, "replicates=3"])
    runs = sweep(plan, tmp_path, progress=False)
    df = pd.read_csv(tmp_path / "sweep.csv")
    assert len(df) == 18 == len(runs)
    kpis = list(RUN)
    assert list(df.columns) == [
        "point",
        "replicate",
        "seed",
        "key",
        "firm.policy.omnichannel",
        "firm.support.human",
        *kpis,
    ]
    # the swept values are applied and every replicate i shares one seed across grid points
    assert sorted(df["firm.policy.omnichannel"].unique()) == [0, 0.5, 1]
    assert (df.groupby("replicate")["seed"].nunique() == 1).all()
    assert df.groupby("point")["seed"].nunique().eq(3).all()
    assert df["key"].is_unique
    # the parameter matters: full omnichannel changes the runs of the same seeds
    lo = df[(df["firm.policy.omnichannel"] == 0) & (df["firm.support.human"] == 0.2)]
    hi = df[(df["firm.policy.omnichannel"] == 1) & (df["firm.support.human"] == 0.2)]
    assert (lo["total_cx_spend"].to_numpy() != hi["total_cx_spend"].to_numpy()).any()
    summary = pd.read_csv(tmp_path / "sweep_summary.csv")
    assert len(summary) == 6 * len(kpis)
    assert {
        "point",
        "firm.policy.omnichannel",
        "firm.support.human",
        "kpi",
        "n",
        "mean",
        "ci_low",
        "ci_high",
    } <= set(summary.columns)
    row = summary[(summary.point == 5) & (summary.kpi == "nps")].iloc[0]
    assert row["mean"] == pytest.approx(df[df.point == 5]["nps"].mean())
    assert row.ci_low < row["mean"] < row.ci_high and row.n == 3
    # rerun: nothing to do, identical tables
    from experiments.store import RunStore

    n_batches = len(RunStore(tmp_path / "store").manifest()["batches"])
    again = sweep(plan_sweep([*TINY, GRID, "replicates=3"]), tmp_path, progress=False)
    pd.testing.assert_frame_equal(runs, again)
    assert len(RunStore(tmp_path / "store").manifest()["batches"]) == n_batches


def test_sweep_cli_in_one_job(tmp_path, capsys):
    from experiments.cli import main

    out = tmp_path / "cli"
    rc = main(
        [
            "sweep",
            "sweep.grid={market.network.kind:[small_world,random]}",
            "replicates=2",
            "population.n_customers=200",
            "steps=5",
            "evaluation.burn_in=1",
            "executor=serial",
            f"hydra.run.dir={out}",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert "2 grid points x 2 replicates = 4 runs" in capsys.readouterr().out
    df = pd.read_csv(out / "sweep.csv")
    assert list(df["market.network.kind"]) == ["small_world"] * 2 + ["random"] * 2
    assert not list(tmp_path.glob("multirun*"))
