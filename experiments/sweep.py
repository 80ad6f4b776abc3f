"""`cxsim sweep`: a full-factorial grid over any model parameters x replicates, in ONE job.

    cxsim sweep sweep.grid='{firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}' replicates=3

``sweep.grid`` maps dotted parameter keys (the names of ``cxsim run`` overrides) to lists of
values; the nested form ``+sweep.grid.firm.support.human=[0.2,0.8]`` works too. Every other
override (``scenario=outage``, ``population.n_customers=2000``, ...) sets the base the grid
is applied to. Every grid value (and every grid point) is validated with
:func:`sim.with_updates` before anything runs. Replicate ``i`` uses the same seed at every
grid point (common random numbers). All grid points x replicates go through
:func:`experiments.executor.run_tasks` into ``<run dir>/store``, so rerunning the same command
with the same ``hydra.run.dir`` resumes.

Writes to the run directory:

- ``sweep.csv``: one row per grid point x replicate: ``point, replicate, seed, key``, the swept
  values (one column per grid key) and every KPI.
- ``sweep_summary.csv``: one row per grid point x KPI: ``point``, the swept values, ``kpi, n,
  mean, sd, ci_low, ci_high`` (Student-t 95% interval over replicates, confined to the values
  the KPI can take; NaNs skipped).

``sweep.timeseries=true`` also keeps each run's weekly series in the store.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.batch import (
    RunsFailed,
    check_kpis,
    check_replicates,
    executor_config,
    plain,
    replicate_seeds,
    run_key,
    task_overrides,
)
from sim.params import ParamError, Params, with_updates

MAX_RUNS = 1_000_000
SWEEP_KEYS = ("grid", "timeseries")
EXAMPLE = "e.g. sweep.grid='{firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}'"


@dataclass(frozen=True)
class PointFn:
    """``PointFn(base, steps, timeseries)(updates, seed)``: one run at a grid point (picklable).

    The grid point's parameters are rebuilt in the worker from the base and the dotted-key
    updates, so a batch of many points ships only small dicts.
    """

    base: Params
    steps: int
    timeseries: bool = False

    def __call__(self, updates: Mapping[str, Any], seed: int):
        from sim.run import run_kpis, run_model

        params = with_updates(self.base, dict(updates)) if updates else self.base
        if self.timeseries:
            return run_model(params, seed=int(seed), steps=self.steps)
        return run_kpis(params, seed=int(seed), steps=self.steps)


@dataclass(frozen=True)
class SweepPlan:
    base: Params
    grid: Mapping[str, tuple]
    points: tuple[dict[str, Any], ...]
    keys: tuple[tuple[str, ...], ...]  # run key per point, per replicate
    seed: int
    steps: int
    replicates: int
    seeds: tuple[int, ...]
    kpis: tuple[str, ...]
    timeseries: bool
    executor: Any
    quiet: bool

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replicates


def parse_grid(node: Any) -> dict[str, tuple]:
    """``sweep.grid`` as {dotted key: tuple of values}; nested mappings are flattened."""
    grid = plain(node)
    if not isinstance(grid, Mapping) or not grid:
        raise ParamError(
            "sweep.grid", grid, f"a non-empty mapping of parameter key -> list of values, {EXAMPLE}"
        )
    flat: dict[str, tuple] = {}

    def walk(prefix: str, sub: Mapping) -> None:
        for k, v in sub.items():
            key = f"{prefix}{k}"
            if isinstance(v, Mapping):
                if not v:
                    raise ParamError(f"sweep.grid.{key}", v, "a list of values")
                walk(key + ".", v)
                continue
            values = tuple(v) if isinstance(v, list | tuple) else (v,)
            if not values:
                raise ParamError(f"sweep.grid.{key}", list(values), "a non-empty list of values")
            if len(set(map(repr, values))) != len(values):
                raise ParamError(f"sweep.grid.{key}", list(values), "each value at most once")
            flat[key] = values

    walk("", grid)
    return flat


def _check_point(base: Params, point: Mapping[str, Any], grid_key: str | None = None) -> Params:
    try:
        return with_updates(base, point)
    except ParamError as exc:
        if grid_key is not None and exc.key == grid_key:
            raise ParamError(f"sweep.grid.{grid_key}", exc.value, exc.allowed) from None
        raise


def plan_sweep(overrides: Sequence[str]) -> SweepPlan:
    """Compose and validate the sweep (every value, then every grid point) without running."""
    from sim.config import compose, params_from_cfg, run_settings

    cfg = compose(list(overrides))
    base = params_from_cfg(cfg)
    seed, steps = run_settings(cfg)
    sweep = plain(cfg.get("sweep")) or {}
    if not isinstance(sweep, Mapping):
        raise ParamError("sweep", sweep, f"a mapping with keys {', '.join(SWEEP_KEYS)}")
    for k in sweep:
        if k not in SWEEP_KEYS:
            raise ParamError(f"sweep.{k}", sweep[k], "a known key: " + ", ".join(SWEEP_KEYS))
    grid = parse_grid(sweep.get("grid"))
    timeseries = sweep.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise ParamError("sweep.timeseries", timeseries, "true or false")
    replicates = check_replicates(cfg.get("replicates"), minimum=1)
    output = cfg.get("output") or {}
    kpis = check_kpis(plain(output.get("kpis")))
    executor = executor_config(cfg)
    n_points = math.prod(len(v) for v in grid.values())
    if n_points * replicates > MAX_RUNS:
        raise ParamError(
            "sweep.grid",
            f"{n_points} points x {replicates} replicates",
            f"at most {MAX_RUNS:,} runs in one sweep",
        )
    for key, values in grid.items():  # each value on its own: errors name the grid key
        for v in values:
            _check_point(base, {key: v}, key)
    seeds = tuple(replicate_seeds(seed, replicates))
    names = list(grid)
    points, keys = [], []
    for combo in itertools.product(*grid.values()):
        point = dict(zip(names, combo, strict=True))
        params = _check_point(base, point)
        points.append(point)
        keys.append(tuple(run_key(params, steps, s) for s in seeds))
    return SweepPlan(
        base,
        grid,
        tuple(points),
        tuple(keys),
        seed,
        steps,
        replicates,
        seeds,
        kpis,
        timeseries,
        executor,
        bool(output.get("quiet", False)),
    )


def validate_sweep(overrides: Sequence[str]) -> None:
    plan_sweep(overrides)


def sweep_cmd(cfg, out_dir: Path) -> pd.DataFrame:
    """The Hydra job of ``cxsim sweep``."""
    return sweep(plan_sweep(task_overrides()), out_dir)


def sweep(plan: SweepPlan, out_dir: Path, *, progress: bool | None = None) -> pd.DataFrame:
    """Run (or resume) the sweep, write ``sweep.csv`` and ``sweep_summary.csv``; returns the
    per-run table."""
    from experiments.executor import run_tasks
    from experiments.io import write_atomic
    from experiments.store import RunStore, Task

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    tasks = (
        Task(point, seed, key, {"point": p, "replicate": i})
        for p, point in enumerate(plan.points)
        for i, (seed, key) in enumerate(zip(plan.seeds, plan.keys[p], strict=True))
    )
    store = RunStore(out_dir / "store")
    fn = PointFn(plan.base, plan.steps, plan.timeseries)
    summary = run_tasks(
        fn, tasks, store=store, executor=plan.executor, progress=progress, desc="sweep"
    )
    if summary.n_failed:
        from experiments.compare import raise_failures

        raise_failures(store, summary)
    runs = sweep_table(plan, store)
    write_atomic(out_dir / "sweep.csv", lambda p: runs.to_csv(p, index=False))
    summ = summary_table(runs, list(plan.grid), plan.kpis)
    write_atomic(out_dir / "sweep_summary.csv", lambda p: summ.to_csv(p, index=False))
    if not plan.quiet:
        print(
            f"cxsim sweep: {len(plan.points)} grid points x {plan.replicates} replicates = "
            f"{plan.n_runs} runs ({summary.n_done} run, {summary.n_skipped} already stored) "
            f"in {time.perf_counter() - t0:.1f} s -> {out_dir}"
        )
        print(window_text(plan.base, plan.steps))
    return runs


def window_text(params, steps: int) -> str:
    """Which weeks the run-level KPIs of sweep.csv cover, in words."""
    from sim.kpis import window_text as words
    from sim.run import evaluation_window

    return words(*evaluation_window(params, steps))


def sweep_table(plan: SweepPlan, store) -> pd.DataFrame:
    """One row per grid point x replicate: labels, swept values and the chosen KPIs."""
    names = list(plan.grid)
    n, r = len(plan.points), plan.replicates
    labels = pd.DataFrame(
        {
            "point": np.repeat(np.arange(n), r),
            "replicate": np.tile(np.arange(r), n),
            "seed": np.tile(np.asarray(plan.seeds, dtype=np.int64), n),
            "key": [k for keys in plan.keys for k in keys],
        }
    )
    for name in names:
        labels[name] = np.repeat(
            np.asarray([_cell(pt[name]) for pt in plan.points], dtype=object), r
        )
        labels[name] = labels[name].infer_objects()
    kpis = store.kpis().set_index("key")
    missing = set(labels["key"]) - set(kpis.index)
    if missing:
        raise RunsFailed(
            f"{len(missing)} runs are missing from the run store; rerun the same command"
        )
    return labels.join(kpis[list(plan.kpis)], on="key")


def _cell(v: Any) -> Any:
    return str(list(v)) if isinstance(v, list | tuple) else v


def summary_table(runs: pd.DataFrame, names: Sequence[str], kpis: Sequence[str]) -> pd.DataFrame:
    """Mean, sd and Student-t 95% interval of every KPI per grid point (NaNs skipped), the
    interval confined to the values the KPI can take (:func:`analysis.stats.t_bounds`)."""
    from analysis.stats import kpi_bounds, t_bounds

    firsts = runs.groupby("point", sort=True)[list(names)].first()
    g = runs.groupby("point", sort=True)[list(kpis)]
    count, mean, sd = g.count(), g.mean(), g.std(ddof=1)
    parts = []
    for k in kpis:
        n = count[k].to_numpy()
        lo, hi = t_bounds(mean[k].to_numpy(), sd[k].to_numpy(), n, 0.95, kpi_bounds(k))
        part = firsts.copy()
        part["kpi"] = k
        part["n"] = n
        part["mean"] = mean[k].to_numpy()
        part["sd"] = sd[k].to_numpy()
        part["ci_low"] = lo
        part["ci_high"] = hi
        parts.append(part.reset_index())
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["point"], kind="stable", ignore_index=True)
