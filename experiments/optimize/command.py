"""``cxsim optimize``: the command-line entry point (composition, validation, the Hydra job).

The study is the Hydra group ``optimize`` (``configs/optimize``), which the root configuration
does not list: this command adds it to the overrides (``optimize=NAME`` selects a study,
``+optimize=default`` is implied), validates everything before anything runs, then runs one
Hydra job through the same runner as the other commands (run directory, lock, one-line errors).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from experiments.optimize.problem import OptimizeProblem, problem_from_cfg
from sim.params import ParamError

GROUP = "optimize"
REPORT_KPIS = (
    "firm_value",
    "annual_churn",
    "nps",
    "retention_rate",
    "market_share",
    "total_profit",
)


def with_group(overrides: Sequence[str]) -> list[str]:
    """``optimize=NAME`` → ``+optimize=NAME``; ``+optimize=default`` when no study is named."""
    out = [f"+{a}" if a.startswith(f"{GROUP}=") else a for a in overrides]
    if not any(a.startswith(f"+{GROUP}=") for a in out):
        out.insert(0, f"+{GROUP}=default")
    return out


@dataclass(frozen=True)
class OptimizePlan:
    problem: OptimizeProblem
    fn: Any  # experiments.optimize.evaluate.PolicyFunction
    cost: Callable[[Mapping[str, float]], float]
    lines: Callable[[Mapping[str, float]], dict[str, float]]
    baseline: dict[str, float]
    budget: float | None
    executor: Any
    quiet: bool


def _leaf(tree: Mapping[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
    return node


def check_variables(base, problem: OptimizeProblem) -> dict[str, float]:
    """Every variable is a numeric model parameter and its bounds are values the model accepts;
    returns the base configuration's value of each (the baseline policy)."""
    from sim.params import to_dict, with_updates

    tree, values = to_dict(base), {}
    for v in problem.variables:
        key = f"optimize.variables.{v.name}"
        value = _leaf(tree, v.name)
        if (
            value is KeyError
            or isinstance(value, bool | str | dict | list | tuple)
            or value is None
        ):
            raise ParamError(
                key,
                [v.low, v.high],
                "a numeric model parameter key such as firm.support.human (cxsim params)",
            )
        if isinstance(value, int) and not v.integer:
            raise ParamError(f"{key}.integer", False, f"true: {v.name} is an integer parameter")
        for bound in (v.low, v.high):
            try:
                with_updates(
                    base, {v.name: int(bound) if v.integer or isinstance(value, int) else bound}
                )
            except ParamError as exc:
                if exc.key != v.name:
                    raise
                raise ParamError(
                    f"{key}.bounds", [v.low, v.high], f"bounds within {exc.allowed}"
                ) from None
        values[v.name] = value
    return values


def check_objectives(problem: OptimizeProblem) -> None:
    from sim.kpis import RUN

    for o in problem.objectives:
        if o.kpi not in RUN:
            raise ParamError(
                f"optimize.objectives.{o.kpi}",
                o.direction,
                "a run-level KPI as key (cxsim kpis): " + ", ".join(RUN),
            )


def plan_optimize(overrides: Sequence[str]) -> OptimizePlan:
    """Compose and validate the study (declaration, variables, objectives, scenarios, budget,
    executor) without running anything."""
    from experiments.batch import executor_config, plain
    from experiments.optimize.cost import cost_lines, weekly_cost, with_values
    from experiments.optimize.evaluate import PolicyFunction
    from experiments.optimize.study import resolve_baseline, resolve_budget
    from sim.config import compose, params_from_cfg, run_settings
    from sim.kpis import RUN

    overrides = with_group(overrides)
    cfg = compose(overrides)
    data = plain(cfg)
    problem = problem_from_cfg(data.pop(GROUP, None) or {})
    base = params_from_cfg(data)
    _, steps = run_settings(cfg)
    given = check_variables(base, problem)
    check_objectives(problem)
    bases = []
    for s in problem.scenarios:
        scen = plain(compose([*overrides, f"scenario={s}"]))
        scen.pop(GROUP, None)
        bases.append((s, params_from_cfg(scen)))
    kpis = tuple(dict.fromkeys([*problem.kpis, *(k for k in REPORT_KPIS if k in RUN)]))
    baseline = resolve_baseline(problem, given)
    scenario0 = bases[0][1]

    def cost(values: Mapping[str, float]) -> float:
        return weekly_cost(with_values(scenario0, dict(values)))

    def lines(values: Mapping[str, float]) -> dict[str, float]:
        return cost_lines(with_values(scenario0, dict(values)))

    budget = resolve_budget(problem, cost, baseline)
    executor = executor_config(cfg)
    quiet = bool((cfg.get("output") or {}).get("quiet", False))
    fn = PolicyFunction(tuple(bases), steps, kpis)
    return OptimizePlan(problem, fn, cost, lines, baseline, budget, executor, quiet)


def optimize_cmd(cfg, out_dir) -> Any:
    """The Hydra job of ``cxsim optimize``: :func:`run_optimize` into the run directory."""
    from experiments.batch import task_overrides
    from experiments.cli import progress_log
    from experiments.optimize.study import run_optimize

    plan = plan_optimize(task_overrides())
    t0 = time.perf_counter()
    log = progress_log("optimize", plan.quiet)
    result = run_optimize(
        plan.problem,
        plan.fn,
        out_dir=out_dir,
        executor=plan.executor,
        cost=plan.cost,
        lines=plan.lines,
        baseline=plan.baseline,
        kpis=plan.fn.outputs,
        log=log,
    )
    s = result.search
    if s.failed:
        print(
            f"cxsim optimize: warning: {len(s.failed)} trial(s) failed (see trials.parquet, column error)",
            file=sys.stderr,
        )
    if not plan.quiet:
        print(
            f"cxsim optimize: {s.n_trials} trials ({s.n_new} new, {s.n_resumed} resumed, {s.n_runs} runs) "
            f"in {time.perf_counter() - t0:.1f} s -> {out_dir}"
        )
        for line in result.recommendation["summary"]:
            print(f"  {line}")
    return result


def cli(args: Sequence[str]) -> int:
    """``cxsim optimize [optimize=NAME] [optimize.KEY=VALUE ...] [key=value ...]``."""
    from experiments import cli as C

    return C.run_study_command(
        "optimize",
        GROUP,
        "experiments.optimize.command:optimize_cmd",
        args,
        plan_optimize,
        with_group,
    )
