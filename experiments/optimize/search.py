"""The search: an optuna study (TPE for one objective, NSGA-II for several) driven by ask/tell in
batches, each batch's runs evaluated through the executor into the run store.

The study lives in an RDB storage, by default ``sqlite:///<run dir>/study.db``, opened with
``load_if_exists=True``: every ask and tell is committed, so after a crash (``kill -9``) the
same command continues the same study. Trials the killed process had asked but not told are
finished first, with the same parameters (their runs that reached the store are not run
again); then the search asks new trials until ``n_trials`` are finished. The sampler is seeded
from the problem's seed and the number of trials already in the study, so a resumed search is
reproducible from its database, though its later proposals differ from an uninterrupted run's.

The budget is an optuna constraint (``Trial.set_constraint("budget", weekly cost − budget)``,
feasible when ≤ 0; optuna 5 replaced the samplers' ``constraints_func`` by it). The cost
of a policy is known before it runs, so an infeasible trial is told without simulating it (a
placeholder value; the constrained samplers rank infeasible trials by their violation only,
never by value) and is marked ``feasible = False``.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.executor import ExecutorConfig
from experiments.optimize.evaluate import (
    SAMPLER,
    SEARCH,
    Results,
    phase_seeds,
    policy_tasks,
    robust_value,
    run_batch,
)
from experiments.optimize.problem import OptimizeProblem
from experiments.sensitivity.design import spawn_seed
from experiments.store import RunStore

STUDY_NAME = "cxsim-optimize"
PLACEHOLDER = 1e30  # objective value told for an infeasible trial (never simulated)


@dataclass
class Context:
    """What the search and the re-evaluation share: the problem, the model function
    ``fn(values, seed, scenario)`` and its fingerprint, the run store and executor, the cost of
    a policy (``None``: no budget), the budget and the baseline policy."""

    problem: OptimizeProblem
    fn: Callable[..., Mapping[str, float]]
    fp: str
    store: RunStore
    executor: ExecutorConfig
    cost: Callable[[Mapping[str, float]], float] | None
    budget: float | None
    baseline: dict[str, float]
    kpis: tuple[str, ...] = ()  # KPIs reported for the recommendation (the objectives first)
    lines: Callable[[Mapping[str, float]], dict[str, float]] | None = None  # cost per line
    progress: bool | None = None
    log: Callable[[str], None] = field(default=lambda s: None)


@dataclass(frozen=True)
class SearchSummary:
    n_trials: int  # finished trials in the study
    n_new: int  # trials finished by this call
    n_resumed: int  # trials left running by a killed process, finished now
    n_runs: int  # model runs done by this call (stored runs reused are not counted)
    seconds: float
    failed: tuple[int, ...] = ()  # trial numbers whose runs failed


def distributions(problem: OptimizeProblem) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {
        v.name: IntDistribution(int(v.low), int(v.high))
        if v.integer
        else FloatDistribution(v.low, v.high)
        for v in problem.variables
    }


def make_sampler(problem: OptimizeProblem, n_existing: int):
    import optuna

    seed = spawn_seed(problem.seed, SAMPLER, n_existing) % 2**32
    name = problem.sampler_name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(
                seed=seed,
                multivariate=True,
                constant_liar=True,
                n_startup_trials=max(10, problem.batch),
            )
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=problem.population, seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)


def _sqlite_connect(path: str):
    """A connection in write-ahead-log mode without an fsync per commit: a killed process loses
    nothing committed (the log is replayed when the file is opened again), only an operating
    system crash could lose the last commits; fsyncing each of them cost ~10 ms per ask/tell."""
    import sqlite3

    con = sqlite3.connect(path, timeout=60, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def open_study(problem: OptimizeProblem, storage_url: str):
    """Create the study, or load it when the storage already holds it (a resume)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage: Any = storage_url
    if storage_url.startswith("sqlite:///"):
        creator = functools.partial(_sqlite_connect, storage_url[len("sqlite:///") :])
        storage = optuna.storages.RDBStorage(storage_url, engine_kwargs={"creator": creator})
    directions = [o.direction for o in problem.objectives]
    probe = optuna.create_study(
        study_name=STUDY_NAME, storage=storage, load_if_exists=True, directions=directions
    )
    if list(d.name.lower() for d in probe.directions) != directions:
        raise ValueError(
            f"the study in {storage_url} optimises {[d.name.lower() for d in probe.directions]}, "
            f"not {directions}: use another hydra.run.dir (or optimize.search.storage)"
        )
    sampler = make_sampler(problem, len(probe.trials))
    return optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=sampler)


def _finished(study) -> int:
    from optuna.trial import TrialState

    return len(
        study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
        )
    )


def baseline_reference(ctx: Context) -> np.ndarray | None:
    """The baseline policy's runs on the search seeds, per objective (for the regret measure)."""
    p = ctx.problem
    if p.measure != "regret":
        return None
    seeds = phase_seeds(p.seed, SEARCH, p.seeds)
    tasks, keys = policy_tasks(
        ctx.fp, ctx.baseline, p.scenarios, seeds, {"phase": "search", "trial": -1}
    )
    run_batch(ctx.fn, tasks, ctx.store, ctx.executor, "optimize: baseline", ctx.progress)
    res = Results(ctx.store)
    ref = [res.values(keys, o.kpi) for o in p.objectives]
    if any(r is None for r in ref):
        from experiments.batch import RunsFailed

        raise RunsFailed(
            "the baseline policy's runs failed: rerun with the same hydra.run.dir to retry them"
        )
    return np.stack(ref)


def _record_cost(ctx: Context, trial, values: Mapping[str, float]) -> bool:
    """Set the trial's cost and constraint attributes; return whether it is feasible."""
    if ctx.cost is None:
        trial.set_user_attr("feasible", True)
        return True
    cost = float(ctx.cost(values))
    trial.set_user_attr("cost", cost)
    trial.set_constraint("budget", cost - ctx.budget)  # optuna: feasible when <= 0
    feasible = cost <= ctx.budget
    trial.set_user_attr("feasible", feasible)
    return feasible


def evaluate_trials(
    ctx: Context, study, trials: list[tuple[int, Any, dict[str, Any]]], ref: np.ndarray | None
) -> tuple[int, list[int]]:
    """Run and tell ``(number, trial handle, params)`` items; returns (runs done, failed numbers)."""
    from optuna.trial import TrialState

    p = ctx.problem
    seeds = phase_seeds(p.seed, SEARCH, p.seeds)
    todo, tasks = [], []
    for number, handle, values in trials:
        if _record_cost(ctx, handle, values):
            t, keys = policy_tasks(
                ctx.fp, values, p.scenarios, seeds, {"phase": "search", "trial": number}
            )
            tasks += t
            todo.append((number, handle, keys))
        else:
            study.tell(number, [-o.sign * PLACEHOLDER for o in p.objectives])
    summary = (
        run_batch(
            ctx.fn,
            tasks,
            ctx.store,
            ctx.executor,
            f"optimize: trials {trials[0][0]}-{trials[-1][0]}",
            ctx.progress,
        )
        if tasks
        else None
    )
    res = Results(ctx.store) if tasks else None
    failed = []
    for number, handle, keys in todo:
        values = []
        for j, o in enumerate(p.objectives):
            y = res.values(keys, o.kpi)
            values.append(
                math.nan
                if y is None
                else robust_value(y, o.sign, p.measure, p.quantile, None if ref is None else ref[j])
            )
        if not all(math.isfinite(v) for v in values):
            error = res.first_error(keys) or "an objective is undefined (NaN) in every run"
            handle.set_user_attr("error", error)
            study.tell(number, state=TrialState.FAIL)
            failed.append(number)
        else:
            study.tell(number, values)
    return (summary.n_done if summary else 0), failed


def _handle(study, frozen):
    import optuna

    return optuna.trial.Trial(study, frozen._trial_id)


def _enqueue_references(ctx: Context, study) -> None:
    """Start a new study from the baseline policy and the equal split of the budget (when they
    are feasible): the search then begins with known feasible points, whatever the budget."""
    from experiments.optimize.reevaluate import equal_split

    p = ctx.problem
    refs = [ctx.baseline]
    if ctx.cost is not None and ctx.budget is not None:
        split = equal_split(p, ctx.cost, ctx.baseline, ctx.budget)
        refs = [r for r in (ctx.baseline, split) if r is not None and ctx.cost(r) <= ctx.budget]
    for r in refs:
        study.enqueue_trial({n: r[n] for n in p.names}, skip_if_exists=True)


def run_search(ctx: Context, study) -> SearchSummary:
    """Finish the trials a killed process left running, then ask and tell in batches until the
    study has ``n_trials`` finished trials."""
    from optuna.trial import TrialState

    p = ctx.problem
    t0 = time.perf_counter()
    dists = distributions(p)
    ref = baseline_reference(ctx)
    n_runs, failed, n_new = 0, [], 0
    if not study.trials:  # a new study
        _enqueue_references(ctx, study)
    left = (
        study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if p.storage is None else []
    )
    if left:
        ctx.log(f"resuming: finishing {len(left)} trial(s) left running by an interrupted search")
        for t in [t for t in left if set(t.params) != set(dists)]:  # killed inside ask()
            study.tell(t.number, state=TrialState.FAIL)
        items = [
            (t.number, _handle(study, t), dict(t.params))
            for t in left
            if set(t.params) == set(dists)
        ]
        runs, bad = evaluate_trials(ctx, study, items, ref) if items else (0, [])
        n_runs, failed = n_runs + runs, failed + bad
    while (done := _finished(study)) < p.n_trials:
        asked = [study.ask(dists) for _ in range(min(p.batch, p.n_trials - done))]
        runs, bad = evaluate_trials(ctx, study, [(t.number, t, dict(t.params)) for t in asked], ref)
        n_runs, failed, n_new = n_runs + runs, failed + bad, n_new + len(asked)
    return SearchSummary(
        _finished(study), n_new, len(left), n_runs, time.perf_counter() - t0, tuple(failed)
    )
