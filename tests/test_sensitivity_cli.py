"""`cxsim sensitivity`: the Hydra glue around experiments.sensitivity, end to end."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from experiments.batch import check_factors, plan_sensitivity, sensitivity_overrides
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
    assert set(indices["output"]) == {
        "firm_value",
        "annual_churn",
        "mean_loyalty",
        "nps",
        "market_share",
    }
    assert {"S1", "ST"} <= set(indices["index"])
    assert (tmp_path / "summary.md").exists()
    n_done = RunStore(tmp_path / "store").manifest()["n_done"]
    assert n_done == 8 * (2 * 9 + 2)
    assert main(args) == 0
    assert "0 run, 160 already stored" in capsys.readouterr().out
    pd.testing.assert_frame_equal(indices, pd.read_csv(tmp_path / "indices.csv"))


# ------------------------------------------------- one factor's bounds; a study file of your own
def test_one_factors_bounds_with_its_dotted_name():
    """Hydra splits sensitivity.factors.firm.support.human.bounds into nested keys and cannot
    find them; the command rewrites it to a merge into the factor (issue 17)."""
    given = "sensitivity.factors.firm.support.human.bounds=[0.2,0.8]"
    new = sensitivity_overrides(["sensitivity=smoke", given])
    assert new == {given: "sensitivity.factors={firm.support.human:{bounds:[0.2,0.8]}}"}
    plan = plan_sensitivity(["sensitivity=smoke", *TINY, new[given]])
    human = next(f for f in plan.problem.factors if f.name == "firm.support.human")
    assert human.bounds == (0.2, 0.8) and human.group == "support"
    assert plan.problem.names == plan_sensitivity(["sensitivity=smoke", *TINY]).problem.names
    short = "sensitivity.factors.firm.policy.omnichannel=[0.1,0.9]"
    assert sensitivity_overrides([short])[short].endswith(
        "{firm.policy.omnichannel:{bounds:[0.1,0.9]}}"
    )
    assert (
        sensitivity_overrides(["sensitivity=ishigami", "sensitivity.factors.x1.bounds=[0,1]"]) == {}
    )
    with pytest.raises(
        ParamError,
        match=r"sensitivity\.factors\.firm\.support\.humna\.bounds.*a factor of the study",
    ):
        sensitivity_overrides(["sensitivity.factors.firm.support.humna.bounds=[0.2,0.8]"])
    with pytest.raises(ParamError, match=r"--config-dir DIR sensitivity=NAME"):
        sensitivity_overrides(["sensitivity=/somewhere/study.yaml"])


def _study(directory, defaults=False):
    d = directory / "studies" / "sensitivity"
    d.mkdir(parents=True)
    (d / "mine.yaml").write_text(
        ("defaults: [default, _self_]\n" if defaults else "")
        + "method: sobol\nn: 2\nreplicates: 1\nsecond_order: false\nnum_resamples: 20\n"
        "factors:\n  firm.support.human: {bounds: [0.0, 1.0]}\n"
        "  firm.policy.omnichannel: {bounds: [0.0, 1.0]}\noutputs: [nps]\n"
    )
    return directory / "studies"


@pytest.mark.parametrize("route", ["--config-dir", "hydra.searchpath"])
def test_a_study_file_from_any_directory_validates(route, tmp_path, capsys):
    from experiments.cli import main

    studies = _study(tmp_path)
    where = (
        ["--config-dir", str(studies)]
        if route == "--config-dir"
        else [f"hydra.searchpath=[file://{studies}]"]
    )
    assert main(["sensitivity", *where, "sensitivity=mine", *TINY, "--cfg", "job"]) == 0, (
        capsys.readouterr().err
    )
    out = capsys.readouterr().out
    assert "firm.policy.omnichannel" in out and "firm.support.financial" not in out
    assert main(["sensitivity", "sensitivity=mine", *TINY]) == 2  # not found without the directory
    assert "Could not find 'sensitivity/mine'" in capsys.readouterr().err
    assert main(["sensitivity", "--config-dir", str(tmp_path / "nope"), "sensitivity=mine"]) == 2
    assert "invalid --config-dir" in capsys.readouterr().err


@pytest.mark.e2e
def test_a_study_file_from_any_directory_runs_with_one_factors_bounds(tmp_path, capsys):
    from experiments.cli import main

    studies = _study(tmp_path, defaults=True)
    out_dir = tmp_path / "out"
    args = [
        "sensitivity",
        "--config-dir",
        str(studies),
        "sensitivity=mine",
        "sensitivity.factors.firm.support.human.bounds=[0.3,0.6]",
        "population.n_customers=60",
        "steps=6",
        "evaluation.burn_in=2",
        "executor=serial",
        f"hydra.run.dir={out_dir}",
    ]
    assert main(args) == 0, capsys.readouterr().err
    samples = pd.read_csv(out_dir / "samples.csv")
    # defaults: [default, _self_] starts from the default study's nine factors
    assert "cxsim sensitivity: sobol, 9 factors x 1 outputs, 22 runs" in capsys.readouterr().out
    assert samples["firm.support.human"].between(0.3, 0.6).all()
    assert set(pd.read_csv(out_dir / "indices.csv")["output"]) == {"nps"}
