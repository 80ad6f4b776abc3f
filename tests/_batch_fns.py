"""Top-level run functions and task factories for the store/executor tests.

They live in a module (not in the test files) so that loky and Dask worker processes, and the
subprocesses of the crash tests, can import them by name.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.store import Task, task_key


@dataclass
class RunResult:
    kpis: dict[str, float]
    timeseries: pd.DataFrame | None


def draw_kpis(params, seed):
    """KPIs only: summary statistics of draws from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(params["mu"], params["sigma"], size=2_000)
    return {
        "mean": float(x.mean()),
        "sd": float(x.std()),
        "q90": float(np.quantile(x, 0.9)),
        "max": float(x.max()),
    }


def draw_series(params, seed):
    """KPIs and a weekly time series."""
    rng = np.random.default_rng(seed)
    weeks = params.get("weeks", 52)
    ts = pd.DataFrame(
        {
            "week": np.arange(weeks, dtype=np.int64),
            "demand": rng.poisson(100 + 10 * params["mu"], size=weeks),
            "nps": rng.normal(10 * params["mu"], params["sigma"], size=weeks).cumsum(),
        }
    )
    return RunResult(
        kpis={"mean_nps": float(ts["nps"].mean()), "total_demand": float(ts["demand"].sum())},
        timeseries=ts,
    )


def slow_series(params, seed):
    """draw_series after sleeping CXSIM_TEST_SLEEP seconds (0 if unset): same results."""
    time.sleep(float(os.environ.get("CXSIM_TEST_SLEEP", "0")))
    return draw_series(params, seed)


def fragile(params, seed):
    """draw_kpis, except that seeds divisible by 3 raise (a bug fixed by using draw_kpis)."""
    if seed % 3 == 0:
        raise ValueError(f"seed {seed} is divisible by 3\nsecond line of the message")
    return draw_kpis(params, seed)


def interrupted_at(params, seed):
    """draw_kpis, except that the task with params['stop'] set raises KeyboardInterrupt."""
    if params.get("stop"):
        raise KeyboardInterrupt
    return draw_kpis(params, seed)


def wide_series(params, seed):
    """A ~50 KB time series per run (520 rows x 12 random floats) for the memory test."""
    rng = np.random.default_rng(seed)
    ts = pd.DataFrame(rng.random((520, 12)), columns=[f"c{i:02d}" for i in range(12)])
    return RunResult(kpis={"m": float(ts.to_numpy().mean())}, timeseries=ts)


def returns_int(params, seed):
    return 3


def returns_text_kpi(params, seed):
    return {"ok": 1.0, "label": "high"}


class Counting:
    """A callable instance (picklable, top-level class) that counts its calls in-process."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, params, seed):
        self.calls.append(seed)
        return draw_kpis(params, seed)


def make_tasks(n: int, *, start: int = 0, sigma: float = 1.0, scenario: str = "base"):
    """``n`` tasks with distinct params and seeds, labelled by scenario, replicate and row."""
    tasks = []
    for i in range(start, start + n):
        params = {"mu": round(0.01 * i, 6), "sigma": sigma, "weeks": 52}
        seed = 1_000 + i
        meta = {"scenario": scenario, "replicate": i % 4, "row": i // 4}
        tasks.append(Task(params=params, seed=seed, key=task_key(params, seed), meta=meta))
    return tasks
