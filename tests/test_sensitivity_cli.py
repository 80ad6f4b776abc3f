"""`cxsim sensitivity`: the Hydra glue around experiments.sensitivity, end to end."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from experiments.batch import check_factors, plan_sensitivity
from experiments.sensitivity import Factor, problem_from_cfg
from sim import params_from_overrides
from sim.params import ParamError

TINY = ["population.n_customers=200", "steps=10", "evaluation.burn_in=4"]


def test_plan_uses_the_composed_model_and_study():
    plan = plan_sensitivity(["sensitivity=smoke", *TINY, "firm.price=45"])
    assert plan.problem.n == 8 and plan.problem.replicates == 1
    assert plan.fn.base.population.n_customers == 200 and plan.fn.base.firm.price == 45
    assert plan.fn.steps == 10 and plan.fn.outputs == plan.problem.outputs


def test_factors_must_be_parameters_with_valid_bounds():
    base = params_from_overrides(TINY)
    problem = problem_from_cfg(plan_sensitivity(["sensitivity=smoke", *TINY]).problem.to_dict())
    check_factors(base, problem)
    wide = dataclasses.replace(problem, factors=(Factor("firm.support.human", (0.0, 2.0)),))
    with pytest.raises(ParamError, match=r"sensitivity\.factors\.firm\.support\.human\.bounds"):
        check_factors(base, wide)
    unknown = dataclasses.replace(problem, factors=(Factor("firm.support.nope", (0.0, 1.0)),))
    with pytest.raises(ParamError, match=r"sensitivity\.factors\.firm\.support\.nope"):
        check_factors(base, unknown)


@pytest.mark.e2e
def test_sensitivity_smoke_end_to_end_and_resume(tmp_path, capsys):
    from experiments.cli import main
    from experiments.store import RunStore

    args = [
        "sensitivity",
        "sensitivity=smoke",
        *TINY,
        "executor=serial",
        f"hydra.run.dir={tmp_path}",
    ]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "cxsim sensitivity: sobol, 9 factors x 5 outputs" in out
    indices = pd.read_csv(tmp_path / "indices.csv")
    assert set(indices["output"]) == {"firm_value", "annual_churn", "mean_loyalty", "nps", "market_share"}
    assert {"S1", "ST"} <= set(indices["index"])
    assert (tmp_path / "summary.md").exists()
    n_done = RunStore(tmp_path / "store").manifest()["n_done"]
    assert n_done == 8 * (2 * 9 + 2)
    assert main(args) == 0
    assert "0 run, 160 already stored" in capsys.readouterr().out
    pd.testing.assert_frame_equal(indices, pd.read_csv(tmp_path / "indices.csv"))
