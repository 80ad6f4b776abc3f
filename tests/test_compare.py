"""`cxsim compare`: common random numbers, paired differences, resumable runs, identical
results whichever executor ran them, and a crash (kill -9) in the middle of a batch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.stats import mean_ci
from experiments.batch import replicate_seeds
from experiments.compare import COLUMNS, compare, comparison_table, plan_compare
from experiments.store import RunStore
from sim.kpis import RUN
from tests._kill_helpers import kill_group, run_cxsim, start_cxsim, stored_runs, wait_until

# 61 weeks: the outage scenario's shock starts at week 60 (a shock after the end is an error)
TINY = [
    "population.n_customers=200",
    "steps=61",
    "evaluation.burn_in=4",
    "output.quiet=true",
    "output.figure=false",
]


def _compare(tmp_path, name, *overrides):
    plan = plan_compare([*TINY, *overrides])
    return compare(plan, tmp_path / name, progress=False)


# ------------------------------------------------------------------------------- statistics
def test_replicate_seeds_are_a_stable_prefix():
    assert replicate_seeds(42, 3) == replicate_seeds(42, 10)[:3]
    assert len(set(replicate_seeds(42, 50))) == 50
    expected = [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(42).spawn(4)]
    assert replicate_seeds(42, 4) == expected


def test_interval_skips_nans():
    ci = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert ci.high == pytest.approx(2 * ci.mean - ci.low)
    assert (ci.n, ci.mean, ci.sd) == (3, 2.0, 1.0)
    assert ci.low == pytest.approx(2.0 - 4.302652729911275 / math.sqrt(3))
    assert mean_ci([float("nan")]).n == 0 and math.isnan(mean_ci([]).mean)
    assert math.isnan(mean_ci([5.0]).low)


def test_comparison_table_pairs_replicates():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 10, 8)  # large between-replicate noise, shared by both scenarios
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 8 + ["b"] * 8,
            "replicate": list(range(8)) * 2,
            "nps": np.r_[noise, noise + 1.0 + rng.normal(0, 0.01, 8)],
            "recovery_time": np.r_[[np.nan] * 8, [3.0, np.nan, 5, 4, 4, 4, 4, 4]],
        }
    )
    t = comparison_table(runs, ["a", "b"], ["nps", "recovery_time"])
    assert list(t.columns) == list(COLUMNS)
    b = t[(t.scenario == "b") & (t.kpi == "nps")].iloc[0]
    assert b["diff"] == pytest.approx(1.0, abs=0.02) and b.distinguishable
    assert b.diff_ci_high - b.diff_ci_low < 0.05  # paired: the shared noise cancels
    assert b.ci_high - b.ci_low > 5  # unpaired means stay noisy
    a = t[(t.scenario == "a") & (t.kpi == "nps")].iloc[0]
    assert a["diff"] == 0 and not a.distinguishable
    rt = t[(t.scenario == "b") & (t.kpi == "recovery_time")].iloc[0]
    assert rt.n == 7 and rt.n_diff == 0 and math.isnan(rt["diff"]) and not rt.distinguishable


# ------------------------------------------------------------------------------- end to end
def test_compare_writes_outputs_and_resumes(tmp_path):
    table = _compare(
        tmp_path,
        "c",
        "scenarios=[baseline,fast_cadence,outage]",
        "replicates=3",
        "executor=serial",
        "output.figure=true",
    )
    out = tmp_path / "c"
    csv = pd.read_csv(out / "comparison.csv")
    assert len(csv) == 3 * len(RUN) and list(csv.columns) == list(COLUMNS)
    assert set(csv.kpi) == set(RUN)
    assert (csv[csv.scenario == "baseline"]["diff"].fillna(0) == 0).all()
    assert (csv.loc[csv.kpi == "nps", "n"] == 3).all()
    md = (out / "comparison.md").read_text()
    assert "| nps |" in md and "distinguishable" in md and "- nps (vs baseline):" in md
    assert (out / "comparison.png").stat().st_size > 10_000
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 9
    # common random numbers: replicate i has the same seed in every scenario
    seeds = runs.pivot(index="replicate", columns="scenario", values="seed")
    assert (seeds.nunique(axis=1) == 1).all() and seeds["baseline"].nunique() == 3
    store = RunStore(out / "store")
    assert store.timeseries(runs.key.iloc[0]) is not None  # weekly series kept for reports
    # rerun: everything is already stored, nothing runs, same table
    n_batches = len(store.manifest()["batches"])
    again = _compare(
        tmp_path, "c", "scenarios=[baseline,fast_cadence,outage]", "replicates=3", "executor=serial"
    )
    assert len(store.manifest()["batches"]) == n_batches  # nothing left to run: no new batch
    assert store.manifest()["n_done"] == 9
    pd.testing.assert_frame_equal(table, again)
    # more replicates reuse the first three
    _compare(
        tmp_path, "c", "scenarios=[baseline,fast_cadence,outage]", "replicates=4", "executor=serial"
    )
    last = store.manifest()["batches"][-1]
    assert (last["n_done"], last["n_skipped"]) == (3, 9)


def test_compare_kpi_selection(tmp_path):
    table = _compare(
        tmp_path,
        "k",
        "scenarios=[baseline,staff_cut]",
        "replicates=2",
        "executor=serial",
        "output.kpis=[nps,cumulative_profit]",
    )
    assert list(table.kpi.unique()) == ["nps", "cumulative_profit"]


@pytest.mark.parametrize("kind", ["loky", pytest.param("dask", marks=pytest.mark.slow)])
def test_compare_parallel_identical_to_serial(tmp_path, kind):
    if kind == "dask":
        pytest.importorskip("distributed")
    args = ("scenarios=[baseline,budget_cut]", "replicates=3")
    _compare(tmp_path, "serial", *args, "executor=serial")
    _compare(tmp_path, kind, *args, f"executor={kind}", "executor.n_jobs=2")
    a = pd.read_csv(tmp_path / "serial" / "comparison.csv")
    b = pd.read_csv(tmp_path / kind / "comparison.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_forest_plot_is_pure():
    from matplotlib.figure import Figure

    from analysis.compare_plots import forest_plot

    t = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"] * 2,
            "kpi": ["nps"] * 3 + ["shock_loss"] * 3,
            "unit": ["points"] * 3 + ["cu"] * 3,
            "diff": [0, 1.0, -0.5, np.nan, np.nan, np.nan],
            "diff_ci_low": [0, 0.5, -1.5, np.nan, np.nan, np.nan],
            "diff_ci_high": [0, 1.5, 0.5, np.nan, np.nan, np.nan],
            "distinguishable": [False, True, False, False, False, False],
        }
    )
    fig = forest_plot(t, reference="a")
    assert isinstance(fig, Figure) and len([ax for ax in fig.axes if ax.get_visible()]) == 2


# ------------------------------------------------------------------------------- kill -9
@pytest.mark.e2e
@pytest.mark.slow
def test_compare_survives_kill_9_and_resumes(tmp_path):
    args = [
        "compare",
        "scenarios=[baseline,outage,staff_cut]",
        "replicates=6",
        "population.n_customers=400",
        "steps=61",
        "evaluation.burn_in=10",
        "executor=serial",
        "output.figure=false",
    ]
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = start_cxsim([*args, f"hydra.run.dir={killed}"], cwd=tmp_path)
    try:
        reached = wait_until(lambda: stored_runs(killed / "store") >= 4, proc, timeout=300)
    finally:
        kill_group(proc)
    assert reached, proc.stderr.read() if proc.stderr else ""
    n_before = stored_runs(killed / "store")
    assert 0 < n_before < 18, n_before
    assert not (killed / "comparison.csv").exists()

    r = run_cxsim([*args, f"hydra.run.dir={killed}"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    store = RunStore(killed / "store")
    health = store.verify()
    assert health["keys"] == 18 and health["rows"] == 18 and health["duplicates"] == 0, health
    assert stored_runs(killed / "store") == 18
    batches = store.manifest()["batches"]
    assert (
        batches[-1]["n_skipped"] >= n_before
        and batches[-1]["n_done"] == 18 - batches[-1]["n_skipped"]
    )

    r = run_cxsim([*args, f"hydra.run.dir={clean}"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(
        pd.read_csv(killed / "comparison.csv"),
        pd.read_csv(clean / "comparison.csv"),
        check_exact=True,
    )


class _FailFastCadence:
    """A run function that fails for the fast_cadence scenario (serial executor: in-process)."""

    def __init__(self, steps):
        from experiments.batch import RunFn

        self.inner = RunFn(steps)

    def __call__(self, params, seed):
        if params.firm.policy.improvement_cadence == 2:
            raise RuntimeError("boom")
        return self.inner(params, seed)


def test_failed_runs_exit_1_and_are_retried(tmp_path, capsys, monkeypatch):
    import experiments.compare as cmp
    from experiments.cli import main

    args = [
        "compare",
        "scenarios=[baseline,fast_cadence]",
        "replicates=2",
        *TINY,
        "executor=serial",
        f"hydra.run.dir={tmp_path}",
    ]
    monkeypatch.setattr(cmp, "RunFn", _FailFastCadence)
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 of 4 runs failed" in err[0] and "boom" in err[0]
    assert not (tmp_path / "comparison.csv").exists()
    store = RunStore(tmp_path / "store")
    assert len(store.failures()) == 2 and store.manifest()["n_done"] == 2
    monkeypatch.undo()
    assert main(args) == 0
    last = store.manifest()["batches"][-1]
    assert (last["n_done"], last["n_skipped"], last["n_failed"]) == (2, 2, 0)
    assert len(pd.read_csv(tmp_path / "comparison.csv")) == 2 * len(RUN)
