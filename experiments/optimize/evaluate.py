"""Evaluating policies: every (policy, scenario, seed) is one run through the executor into the
run store, and a policy's robust objective values are computed from the stored KPIs.

Common random numbers: seed ``r`` of a phase is the same for every policy and scenario
(``spawn_seed(problem.seed, phase, r)``), so two policies differ only by the policy and their
difference is paired.  Phases: ``SEARCH`` (the seeds the optimiser sees), ``SELECT`` (fresh
seeds that choose among the top candidates) and ``CONFIRM`` (further fresh seeds that measure
the recommendation's gain): disjoint spawn keys, so no re-evaluation seed was seen in the search.

A run's key hashes the model function's fingerprint, the scenario, the policy values and the
seed, so a resumed study (or a re-evaluation of a policy the search already ran on the same
seeds) reuses the stored run.

Robustness over scenarios ``s`` and seeds ``r`` of a KPI ``y[s, r]`` (``sign`` +1 to maximise,
-1 to minimise): ``mean`` — the mean; ``quantile`` — the ``q`` quantile of the bad tail (the low
``q`` quantile when maximising, the ``1 − q`` one when minimising); ``worst`` — the worst
scenario mean; ``regret`` — the worst scenario's mean paired difference from the baseline
policy (``y − y_baseline``, same seeds): its negative is the maximum regret, so optimising it
in the KPI's direction minimises the regret.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.executor import ExecutorConfig, run_tasks
from experiments.sensitivity.design import spawn_seed
from experiments.store import RunStore, Task, task_key

SEARCH, SELECT, CONFIRM, SAMPLER = 0, 1, 2, 3
PHASES = {SEARCH: "search", SELECT: "select", CONFIRM: "confirm"}


def phase_seeds(root: int, phase: int, n: int) -> list[int]:
    """The ``n`` common seeds of a phase (spawned children: the first ones do not depend on n)."""
    return [spawn_seed(root, phase, r) for r in range(n)]


@dataclass(frozen=True)
class PolicyFunction:
    """``PolicyFunction(bases, steps, outputs)(values, seed, scenario)``: one model run of the
    scenario's base parameters with the policy ``values`` (dotted keys) applied, returning the
    ``outputs`` KPIs (picklable; shocks run without their shock-free twin, not needed here)."""

    bases: tuple[tuple[str, Any], ...]  # (scenario name, Params)
    steps: int
    outputs: tuple[str, ...]

    def __call__(self, values: Mapping[str, float], seed: int, scenario: str) -> dict[str, float]:
        from sim import run_kpis, with_updates

        base = dict(self.bases)[scenario]
        params = with_updates(base, dict(values)) if values else base
        kpis = run_kpis(params, seed=int(seed), steps=self.steps, shock_loss=False)
        return {k: kpis[k] for k in self.outputs}


@dataclass(frozen=True)
class TaskCall:
    """Adapter from the executor's ``fn(task.params, seed)`` to ``fn(values, seed, scenario)``."""

    fn: Callable[..., Mapping[str, float]]

    def __call__(self, point: Mapping[str, Any], seed: int) -> Mapping[str, float]:
        return self.fn(point["values"], seed, point["scenario"])


def policy_tasks(
    fp: str,
    values: Mapping[str, float],
    scenarios: Sequence[str],
    seeds: Sequence[int],
    meta: Mapping[str, Any],
) -> tuple[list[Task], np.ndarray]:
    """Tasks of one policy on every scenario x seed, and their keys as an array (S, R)."""
    tasks, keys = [], np.empty((len(scenarios), len(seeds)), dtype=object)
    for i, s in enumerate(scenarios):
        for r, seed in enumerate(seeds):
            key = task_key({"model": fp, "scenario": s, "values": dict(values)}, seed)
            keys[i, r] = key
            tasks.append(
                Task(
                    {"values": dict(values), "scenario": s},
                    seed,
                    key,
                    {**meta, "scenario": s, "replicate": r},
                )
            )
    return tasks, keys


def run_batch(
    fn: Callable,
    tasks: list[Task],
    store: RunStore,
    executor: ExecutorConfig,
    desc: str,
    progress: bool | None = None,
):
    """Run the tasks not yet in the store (the executor skips the stored ones)."""
    return run_tasks(
        TaskCall(fn), tasks, store=store, executor=executor, progress=progress, desc=desc
    )


class Results:
    """The stored KPIs by run key (read once per batch)."""

    def __init__(self, store: RunStore):
        df = store.kpis()
        self.table = df.set_index("key") if len(df) else df
        self.failed = store.failed_keys()

    def values(self, keys: np.ndarray, kpi: str) -> np.ndarray | None:
        """The KPI of every run in ``keys`` (same shape), or None if a run is missing."""
        flat = list(keys.ravel())
        if (
            not len(self.table)
            or kpi not in self.table.columns
            or not set(flat) <= set(self.table.index)
        ):
            return None
        return self.table.loc[flat, kpi].to_numpy(dtype=float).reshape(keys.shape)

    def first_error(self, keys: np.ndarray) -> str | None:
        bad = [k for k in keys.ravel() if k in self.failed]
        return bad[0] if bad else None


def robust_value(
    y: np.ndarray, sign: float, measure: str, q: float, ref: np.ndarray | None = None
) -> float:
    """The robustness measure of ``y[s, r]`` (see the module docstring); NaN if undefined."""
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).any():
        return float("nan")
    with warnings.catch_warnings():  # all-NaN scenarios are reported as NaN, not warned about
        warnings.simplefilter("ignore", RuntimeWarning)
        if measure == "mean":
            return float(np.nanmean(y))
        if measure == "quantile":
            return float(np.nanquantile(y, q if sign > 0 else 1.0 - q))
        if measure == "regret":
            if ref is None:
                raise ValueError("the regret measure needs the baseline policy's runs")
            y = y - ref
        per_scenario = np.nanmean(y, axis=1)
        return float(np.nanmin(per_scenario) if sign > 0 else np.nanmax(per_scenario))
