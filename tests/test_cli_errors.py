"""Every configuration error of every command: exit code 2, exactly one line on stderr naming
the key (and the bad value), no traceback, no output directory. In-process (``main()``
returns the exit code) to stay fast; two cases go through a real subprocess."""

from __future__ import annotations

import pytest

from experiments.cli import main
from tests._kill_helpers import run_cxsim

GRID = "sweep.grid={firm.support.human:[0.5]}"

CASES = [
    # run
    (["run", "population.n_customers=-5"], "population.n_customers", "-5"),
    (["run", "population.n_customers=2.5"], "population.n_customers", "2.5"),
    (["run", "firm.support.financial=1.5"], "firm.support.financial", "1.5"),
    (["run", "firm.policy.improvement_cadence=0"], "firm.policy.improvement_cadence", "0"),
    (["run", "typo=1"], "typo", "1"),
    (["run", "+typo=1"], "typo", "1"),
    (["run", "+firm.support.extra=1"], "firm.support.extra", "1"),
    (["run", "firm.policy.personalization=high"], "firm.policy.personalization", "high"),
    (["run", "scenario=nope"], "scenario", "nope"),
    (["run", "market.network.kind=ring"], "market.network.kind", "ring"),
    (["run", "market.network.mean_degree=5"], "market.network.mean_degree", "5"),
    (["run", "scenario=outage", "shocks.outage.kind=meteor"], "shocks.outage.kind", "meteor"),
    (["run", "+market.rivals.r2.price=-1"], "market.rivals.r2.price", "-1"),
    (["run", "executor=nope"], "executor", "nope"),
    (["run", "steps=0"], "steps", "0"),
    (["run", "seed=-1"], "seed", "-1"),
    (["run", "-m", "firm.support.human=0.2,1.5"], "firm.support.human", "1.5"),  # each job checked
    # compare
    (["compare", "replicates=0"], "replicates", "0"),
    (["compare", "replicates=1"], "replicates", "1"),
    (["compare", "replicates=ten"], "replicates", "ten"),
    (["compare", "scenarios=[baseline,nope]"], "scenarios", "nope"),
    (["compare", "scenarios=[]"], "scenarios", "[]"),
    (["compare", "scenarios=baseline"], "scenarios", "baseline"),
    (["compare", "scenarios=[baseline,baseline]"], "scenarios", "baseline"),
    (["compare", "scenario=outage"], "scenario", "outage"),
    (["compare", "output.kpis=[nps,happiness]"], "output.kpis", "happiness"),
    (["compare", "executor=nope"], "executor", "nope"),
    (["compare", "executor.n_jobs=0"], "executor.n_jobs", "0"),
    (["compare", "executor.address=tcp://host:8786"], "executor.address", "tcp://host:8786"),
    (["compare", "+executor.threads=2"], "executor.threads", "2"),
    (["compare", "firm.support.human=2"], "firm.support.human", "2"),
    (["compare", "population.n_customers=-1"], "population.n_customers", "-1"),
    # sweep
    (["sweep"], "sweep.grid", "None"),
    (["sweep", "sweep.grid=5"], "sweep.grid", "5"),
    (["sweep", "sweep.grid=[1,2]"], "sweep.grid", "[1, 2]"),
    (
        ["sweep", "sweep.grid={firm.support.human:[0.2,1.5]}"],
        "sweep.grid.firm.support.human",
        "1.5",
    ),
    (["sweep", "sweep.grid={firm.policy.nope:[1]}"], "sweep.grid.firm.policy.nope", "1"),
    (["sweep", "sweep.grid={firm.support.human:[]}"], "sweep.grid.firm.support.human", "[]"),
    (["sweep", "sweep.grid={market.network.kind:[ring]}"], "market.network.kind", "ring"),
    (["sweep", "sweep.grid={seed:[1,2]}"], "sweep.grid.seed", "1"),
    (["sweep", GRID, "replicates=0"], "replicates", "0"),
    (["sweep", GRID, "executor.n_jobs=0"], "executor.n_jobs", "0"),
    (["sweep", GRID, "+sweep.extra=1"], "sweep.extra", "1"),
    (["sweep", GRID, "sweep.timeseries=maybe"], "sweep.timeseries", "maybe"),
    (["sweep", GRID, "output.kpis=[happiness]"], "output.kpis", "happiness"),
    # sensitivity
    (["sensitivity", "sensitivity=nope"], "sensitivity", "nope"),
    (["sensitivity", "sensitivity=ishigami"], "sensitivity.factors.x1", "x1"),
    (["sensitivity", "sensitivity.n=0"], "sensitivity.n", "0"),
    (["sensitivity", "sensitivity.replicates=0"], "sensitivity.replicates", "0"),
    (["sensitivity", "sensitivity.method=magic"], "sensitivity.method", "magic"),
    (
        ["sensitivity", "sensitivity.outputs=[nps,happiness]"],
        "sensitivity.outputs",
        "happiness",
    ),
    (["sensitivity", "executor.n_jobs=0"], "executor.n_jobs", "0"),
    (["sensitivity", "firm.support.human=1.5"], "firm.support.human", "1.5"),
    # plain commands
    (["scenarios", "extra"], "extra", "extra"),
]


@pytest.mark.parametrize(("args", "key", "value"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_config_error_exit_2_one_line_no_output(tmp_path, capsys, args, key, value):
    out = tmp_path / "out"
    rc = main([*args, f"hydra.run.dir={out}"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured.err
    assert len(lines) == 1, captured.err
    assert key in lines[0] and value in lines[0], lines[0]
    assert lines[0].startswith(f"cxsim {args[0]}: error:")
    assert "Traceback" not in captured.err
    assert not out.exists() and not (tmp_path / "outputs").exists()


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frobnicate" in err[0] and "compare" in err[0] and "sweep" in err[0]


def test_help_lists_batch_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "scenarios", "compare", "sweep", "sensitivity"):
        assert f"  {name} " in out


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["compare", "replicates=1", "scenarios=[baseline,outage]"], "replicates"),
        (["sweep", "sweep.grid={firm.support.human:[0.2,1.5]}"], "sweep.grid.firm.support.human"),
    ],
)
def test_config_error_subprocess(tmp_path, args, key):
    out = tmp_path / "out"
    r = run_cxsim([*args, f"hydra.run.dir={out}"], cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() and not (tmp_path / "outputs").exists()


def test_multirun_jobs_are_expanded_for_validation():
    from experiments.cli import job_overrides

    jobs = job_overrides(["firm.support.human=0.2,0.8", "steps=5", "scenario=baseline,outage"])
    assert jobs == [
        ["firm.support.human=0.2", "steps=5", "scenario=baseline"],
        ["firm.support.human=0.8", "steps=5", "scenario=baseline"],
        ["firm.support.human=0.2", "steps=5", "scenario=outage"],
    ]
    assert job_overrides(["steps=5"]) == [["steps=5"]]
    # glob() cannot be expanded without the config loader: left to Hydra
    assert job_overrides(["scenario=glob(*)", "seed=1,2"]) == [["seed=1"], ["seed=2"]]
