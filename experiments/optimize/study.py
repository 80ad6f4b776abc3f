"""Running a study end to end: resolve the budget and the baseline, search (optuna, resumable),
re-evaluate the best policies on fresh seeds, write the outputs. :func:`run_optimize` is the
one pipeline, for the model (through :mod:`experiments.optimize.command`) and for any picklable
``fn(values, seed, scenario) -> {kpi: value}`` (the analytical test problems)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.executor import ExecutorConfig
from experiments.optimize.problem import OptimizeProblem, problem_from_cfg
from experiments.optimize.reevaluate import cheapest, reevaluate
from experiments.optimize.search import Context, SearchSummary, open_study, run_search
from experiments.sensitivity.design import fn_fingerprint
from experiments.store import RunStore

_DEFAULT_EXECUTOR = ExecutorConfig()  # loky, 2 workers (frozen: safe to share)


@dataclass(frozen=True)
class OptimizeResult:
    recommendation: dict[str, Any]
    search: SearchSummary
    out_dir: Path
    seconds: float


def resolve_budget(
    problem: OptimizeProblem, cost: Callable | None, baseline: Mapping[str, float]
) -> float | None:
    """The budget in cu per week per 1,000 market customers (None: no constraint); a one-line
    ValueError when it cannot be met by any policy within the variables' bounds."""
    if problem.budget is None:
        return None
    if cost is None:
        raise ValueError(
            "invalid optimize.constraints.budget: this model function has no cost model (use null)"
        )
    budget = float(cost(baseline)) if problem.budget == "baseline" else float(problem.budget)
    low, _ = cheapest(problem, cost, baseline)
    if budget < low - 1e-9:
        raise ValueError(
            f"infeasible optimize.constraints.budget={budget:g}: the cheapest policy within the variables' "
            f"bounds costs {low:.6g} cu per week per 1,000 market customers; raise the budget or widen the bounds"
        )
    return budget


def resolve_baseline(
    problem: OptimizeProblem, given: Mapping[str, float] | None
) -> dict[str, float]:
    base = {**(given or {}), **problem.baseline}
    missing = [n for n in problem.names if n not in base]
    if missing:
        raise ValueError(
            f"invalid optimize.baseline: no value for {missing[0]} (give the reference policy's value)"
        )
    for v in problem.variables:
        base[v.name] = int(base[v.name]) if v.integer else float(base[v.name])
    return base


def run_optimize(
    problem: OptimizeProblem | Mapping[str, Any],
    fn: Callable[..., Mapping[str, float]],
    *,
    out_dir: str | os.PathLike[str],
    executor: ExecutorConfig = _DEFAULT_EXECUTOR,
    cost: Callable[[Mapping[str, float]], float] | None = None,
    lines: Callable[[Mapping[str, float]], dict[str, float]] | None = None,
    baseline: Mapping[str, float] | None = None,
    kpis: Sequence[str] = (),
    progress: bool | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> OptimizeResult:
    """Search, re-evaluate and write the study declared by ``problem`` into ``out_dir``.

    ``fn(values, seed, scenario)``: picklable, returns the objectives' KPIs. ``cost(values)``:
    the weekly cost of a policy (needed by a budget); ``lines(values)``: its cost per line (the
    allocation chart); ``baseline``: the reference policy (updated by ``problem.baseline``);
    ``kpis``: further KPIs reported for the recommendation. Rerunning with the same ``out_dir``
    resumes the study (see :mod:`experiments.optimize.search`)."""
    from experiments.optimize.outputs import write_outputs

    t0 = time.perf_counter()
    p = problem if isinstance(problem, OptimizeProblem) else problem_from_cfg(problem)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = resolve_baseline(p, baseline)
    budget = resolve_budget(p, cost, base)
    ctx = Context(
        problem=p,
        fn=fn,
        fp=fn_fingerprint(fn),
        store=RunStore(out_dir / "store"),
        executor=executor,
        cost=(lambda v: cost({**base, **v})) if cost else None,
        budget=budget,
        baseline=base,
        kpis=tuple(dict.fromkeys([*p.kpis, *kpis])),
        lines=(lambda v: lines({**base, **v})) if lines else None,
        progress=progress,
        log=log,
    )
    storage = p.storage or f"sqlite:///{(out_dir / 'study.db').resolve()}"
    study = open_study(p, storage)
    summary = run_search(ctx, study)
    t_search = time.perf_counter() - t0
    rec, table = reevaluate(ctx, study)
    seconds = time.perf_counter() - t0
    info = {
        "storage": "study.db" if p.storage is None else "external",
        "budget": budget,
        "search": {
            "trials": summary.n_trials,
            "new": summary.n_new,
            "resumed": summary.n_resumed,
            "runs": summary.n_runs,
            "seconds": round(summary.seconds, 3),
            "failed_trials": list(summary.failed),
        },
        "seconds": {"search": round(t_search, 3), "total": round(seconds, 3)},
        "executor": {"kind": executor.kind, "n_jobs": executor.n_jobs},
    }
    rec = write_outputs(ctx, out_dir, study, rec, table, info)
    return OptimizeResult(rec, summary, out_dir, time.perf_counter() - t0)
