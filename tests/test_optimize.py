"""`cxsim optimize`, the pipeline on known answers: a constrained quadratic (known optimum) and
ZDT1 (known Pareto front) run through the same run_optimize as the model (serial executor,
run store, SQLite study, fresh-seed re-evaluation), plus the declaration, the robustness
measures and the equal split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.executor import ExecutorConfig
from experiments.optimize import (
    equal_split,
    load_problem,
    problem_from_cfg,
    robust_value,
    run_optimize,
)
from sim.config import CONFIG_DIR

SERIAL = ExecutorConfig("serial")
QUADRATIC = CONFIG_DIR / "optimize" / "quadratic.yaml"
ZDT1 = CONFIG_DIR / "optimize" / "zdt1.yaml"
# the stated tolerances: each coordinate within 0.05 of the optimum, the objective within 0.02
# (measured: x within 0.012, objective -0.1357 vs -0.125)
X_TOL, Y_TOL = 0.05, 0.02


def quadratic(values, seed, scenario):
    """-(x1-0.8)² - (x2-0.7)² - 0.01(n-3)² plus noise that depends on the seed only (so common
    random numbers cancel it in every comparison)."""
    noise = float(np.random.default_rng(seed).normal(0.0, 0.05))
    x1, x2, n = values["x1"], values["x2"], values["n"]
    return {"y": -((x1 - 0.8) ** 2) - (x2 - 0.7) ** 2 - 0.01 * (n - 3) ** 2 + noise}


def quadratic_cost(values):
    return values["x1"] + values["x2"]


def zdt1(values, seed, scenario):
    x1 = values["x1"]
    g = 1.0 + 9.0 * (values["x2"] + values["x3"]) / 2.0
    return {"f1": x1, "f2": g * (1.0 - math.sqrt(x1 / g))}


@pytest.fixture(scope="module")
def quad_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quadratic")
    return run_optimize(
        load_problem(QUADRATIC), quadratic, out_dir=out, executor=SERIAL, cost=quadratic_cost
    )


@pytest.mark.xdist_group("optimize_quadratic")
def test_quadratic_optimum_within_tolerance(quad_run):
    rec = quad_run.recommendation
    v = rec["recommended"]["values"]
    assert abs(v["x1"] - 0.55) < X_TOL and abs(v["x2"] - 0.45) < X_TOL and v["n"] == 3
    assert rec["recommended"]["cost"] <= 1.0 + 1e-12  # the budget holds
    true_y = quadratic(v, 0, None)["y"] - quadratic({"x1": 0.8, "x2": 0.7, "n": 3}, 0, None)["y"]
    assert abs(true_y - (-0.125)) < Y_TOL


@pytest.mark.xdist_group("optimize_quadratic")
def test_quadratic_outputs_and_paired_gains(quad_run):
    out = quad_run.out_dir
    for name in (
        "pareto.csv",
        "trials.parquet",
        "recommendation.json",
        "recommendation.md",
        "pareto.png",
        "allocation.png",
        "convergence.png",
        "study.db",
        "study.json",
    ):
        assert (out / name).is_file(), name
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 150 and trials.loc[~trials["feasible"], "y"].isna().all()
    assert (trials.loc[trials["feasible"], "cost"] <= 1.0).all()
    rec = json.loads((out / "recommendation.json").read_text())
    # the seed noise is shared (CRN), so the paired gains are exact: zero-width intervals
    gain = rec["vs_baseline"]["y"]
    base = {"x1": 0.2, "x2": 0.2, "n": 8}
    expect = quadratic(rec["recommended"]["values"], 0, None)["y"] - quadratic(base, 0, None)["y"]
    assert gain["diff"] == pytest.approx(expect) and gain["distinguishable"]
    assert rec["vs_equal_split"]["y"]["diff"] > 0
    assert rec["equal_split"]["values"]["x1"] == pytest.approx(0.5) and rec["equal_split"][
        "cost"
    ] == pytest.approx(1.0)
    assert "raises y by" in rec["summary"][0]
    table = pd.read_csv(out / "pareto.csv")
    assert (
        set(table["policy"]) == {"baseline", "equal_split", "candidate"}
        and table["recommended"].sum() == 1
    )


@pytest.mark.xdist_group("optimize_quadratic")
def test_quadratic_rerun_resumes_without_new_runs(quad_run):
    again = run_optimize(
        load_problem(QUADRATIC),
        quadratic,
        out_dir=quad_run.out_dir,
        executor=SERIAL,
        cost=quadratic_cost,
    )
    assert again.search.n_new == 0 and again.search.n_runs == 0
    assert (
        again.recommendation["recommended"]["values"]
        == quad_run.recommendation["recommended"]["values"]
    )


def _front_distance(points: np.ndarray) -> np.ndarray:
    """Distance of each (f1, f2) to the true ZDT1 front f2 = 1 - sqrt(f1)."""
    grid = np.linspace(0.0, 1.0, 2001)
    front = np.column_stack([grid, 1.0 - np.sqrt(grid)])
    return np.min(np.linalg.norm(points[:, None, :] - front[None, :, :], axis=2), axis=1)


@pytest.mark.slow
def test_zdt1_pareto_front_within_tolerance(tmp_path):
    """120 trials of multi-objective TPE: the non-dominated trials lie near the known front
    (stated tolerance: median distance < 0.1, best < 0.05; measured 0.058 and 0.024). Coverage of
    the front is not asserted: 120 trials are too few to promise it (the search itself is
    reproducible: ``test_multi_objective_search_is_reproducible_serial_or_parallel``)."""
    import optuna

    res = run_optimize(load_problem(ZDT1), zdt1, out_dir=tmp_path, executor=SERIAL)
    study = optuna.load_study(
        study_name="cxsim-optimize", storage=f"sqlite:///{tmp_path / 'study.db'}"
    )
    best = np.array([t.values for t in study.best_trials])
    assert len(best) >= 8
    dist = _front_distance(best)
    assert np.median(dist) < 0.1 and dist.min() < 0.05
    table = pd.read_csv(tmp_path / "pareto.csv")
    cands = table[table["policy"] == "candidate"]
    assert 2 <= len(cands) <= 8 and cands["on_front"].any()
    assert res.recommendation["equal_split"] is None  # no budget, no equal split


@pytest.mark.slow
def test_multi_objective_search_is_reproducible_serial_or_parallel(tmp_path):
    """Same declaration and seed: the same trials (parameters, values, states), the same Pareto
    table and the same recommendation, whether the runs go through the serial executor or two
    loky workers (only timestamps and durations differ)."""
    import dataclasses

    problem = dataclasses.replace(load_problem(ZDT1), n_trials=30)
    tables = []
    for name, executor in (("serial", SERIAL), ("loky", ExecutorConfig("loky", n_jobs=2))):
        out = tmp_path / name
        res = run_optimize(problem, zdt1, out_dir=out, executor=executor)
        trials = pd.read_parquet(out / "trials.parquet").drop(columns=["started", "finished"])
        tables.append((trials, pd.read_csv(out / "pareto.csv"), res.recommendation))
    (t1, p1, r1), (t2, p2, r2) = tables
    assert len(t1) == 30
    pd.testing.assert_frame_equal(t1, t2)
    pd.testing.assert_frame_equal(p1, p2)
    assert json.dumps(r1, sort_keys=True, default=str) == json.dumps(
        r2, sort_keys=True, default=str
    )


def test_declaration_roundtrip_and_errors():
    p = load_problem(QUADRATIC)
    assert problem_from_cfg(p.to_dict()) == p and p.sampler_name == "tpe"
    bad = {
        "robustness": {"measure": "median"},
        "objectives": {"y": "up"},
        "constraints": {"budget": -1},
        "search": {"batch": 0},
        "variables": {"x1": {"bounds": [1.0, 0.0]}},
        "nonsense": 1,
    }
    for key, value in bad.items():
        data = p.to_dict()
        data[key] = value
        with pytest.raises(ValueError, match="optimize") as info:
            problem_from_cfg(data)
        assert "\n" not in str(info.value)


def test_robust_measures():
    y = np.array([[1.0, 3.0], [5.0, 7.0]])  # scenarios x seeds
    ref = np.array([[0.0, 0.0], [6.0, 6.0]])
    assert robust_value(y, 1, "mean", 0.1) == 4.0
    assert robust_value(y, 1, "worst", 0.1) == 2.0 and robust_value(y, -1, "worst", 0.1) == 6.0
    assert robust_value(y, 1, "quantile", 0.0001) == pytest.approx(1.0, abs=1e-2)
    assert robust_value(y, -1, "quantile", 0.0001) == pytest.approx(7.0, abs=1e-2)
    assert robust_value(y, 1, "regret", 0.1, ref) == 0.0  # scenario 2: gain 0, scenario 1: gain 2


def test_equal_split_spends_the_budget_equally():
    p = load_problem(QUADRATIC)
    split = equal_split(p, quadratic_cost, {"x1": 0.2, "x2": 0.2, "n": 8}, 0.6)
    assert (
        split["x1"] == pytest.approx(0.3) and split["x2"] == pytest.approx(0.3) and split["n"] == 8
    )
    assert (
        equal_split(p, lambda v: 5.0 + v["x1"] + v["x2"], {"x1": 0, "x2": 0, "n": 8}, 1.0) is None
    )


def test_shipped_studies_load():
    for path in Path(CONFIG_DIR / "optimize").glob("*.yaml"):
        if path.name not in (
            "smoke.yaml",
        ):  # smoke is a Hydra _global_ package (composed in the CLI tests)
            load_problem(path)
