"""Posterior-predictive checks and the holdout forecast.

``draws`` particles are resampled from the final ABC population (by weight, from the study's
seed) and each is simulated over the calibration window and the holdout on its own seed. The
runs go through the executor into the run store (``store/``), so this stage resumes too.

A draw's weekly repeat purchase weeks become repeat transactions of the whole cohort:
× (observed cohort size / simulated cohort size) × the observed transactions per purchase week
of the calibration window (``Cohort.per_week``), + the observed repeat transactions inside the
customers' first-purchase weeks (given, like the first purchase: the simulator starts a
customer at the end of that week).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibrate.cohort import Cohort
from experiments.calibrate.simulate import model_updates, simulate
from experiments.encoding import Task, task_key
from sim.params import Params, with_updates


@dataclass(frozen=True)
class PredictiveRun:
    """Executor function: one posterior draw → weekly repeat purchase weeks and spend."""

    base: Params
    weeks: int

    def __call__(self, point, seed: int) -> dict[str, float]:
        theta = dict(point["theta"])
        params = with_updates(self.base, model_updates(self.base, theta))
        p, ts = simulate(params, seed, self.weeks)
        weekly = p.weekly(self.weeks)
        spend = np.bincount(p.week - 1, weights=p.spend, minlength=self.weeks)[: self.weeks]
        out = {f"pw_{w:03d}": float(v) for w, v in enumerate(weekly, 1)}
        out.update({f"spend_{w:03d}": float(v) for w, v in enumerate(spend, 1)})
        out["n_sim"] = float(p.n)
        out["units"] = float(ts["units"].sum()) if "units" in ts.columns else float("nan")
        return out


def draw_particles(post: pd.DataFrame, names: tuple[str, ...], draws: int, seed: int):
    rng = np.random.default_rng([seed, 7])
    w = post["weight"].to_numpy(dtype=float)
    idx = rng.choice(len(post), size=draws, replace=True, p=w / w.sum())
    return [{n: float(post[n].iloc[i]) for n in names} for i in idx]


def predictive_tasks(thetas: list[dict[str, float]], seed: int) -> list[Task]:
    tasks = []
    for i, theta in enumerate(thetas):
        s = int(seed) * 100_003 + 17 + i
        key = task_key({"calibrate": "predictive", "theta": theta}, s)
        tasks.append(Task({"theta": theta}, s, key, {"draw": i}))
    return tasks


@dataclass(frozen=True)
class Predictive:
    weekly: np.ndarray  # (draws, weeks) repeat transactions of the cohort, simulated
    observed: np.ndarray  # (weeks,) observed repeat transactions
    calibration_weeks: int
    holdout_weeks: int
    spend: np.ndarray  # (draws, weeks) simulated spend per week (model currency), scaled

    def band(self, cumulative: bool = False, level: float = 0.9) -> pd.DataFrame:
        x = np.cumsum(self.weekly, axis=1) if cumulative else self.weekly
        obs = np.cumsum(self.observed) if cumulative else self.observed
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        return pd.DataFrame(
            {
                "week": np.arange(1, x.shape[1] + 1),
                "observed": obs,
                "mean": x.mean(axis=0),
                "lo": np.quantile(x, lo, axis=0),
                "hi": np.quantile(x, hi, axis=0),
            }
        )

    def holdout(self) -> np.ndarray:
        """Each draw's repeat transactions over the holdout."""
        return self.weekly[:, self.calibration_weeks :].sum(axis=1)


def collect(store, tasks: list[Task], cohort: Cohort) -> Predictive:
    """The predictive runs from the store, scaled to the observed cohort."""
    table = store.kpis().set_index("key")
    rows = table.loc[[t.key for t in tasks]]
    weeks = cohort.total_weeks
    pw = rows[[f"pw_{w:03d}" for w in range(1, weeks + 1)]].to_numpy(dtype=float)
    spend = rows[[f"spend_{w:03d}" for w in range(1, weeks + 1)]].to_numpy(dtype=float)
    factor = cohort.n / rows["n_sim"].to_numpy(dtype=float)[:, None]
    first = cohort.first_week_repeats[:weeks]
    weekly = pw * factor * cohort.per_week + first[None, :]
    return Predictive(
        weekly,
        cohort.repeat_days_weekly[:weeks].copy(),
        cohort.calibration_weeks,
        cohort.holdout_weeks,
        spend * factor,
    )


def predictive_store(out_dir: Path):
    from experiments.store import RunStore

    return RunStore(Path(out_dir) / "store")
