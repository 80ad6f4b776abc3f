"""No winner's curse: the search's best policies are judged again on seeds it never saw.

The best trial of a search is partly the luckiest one: its search value is biased upwards.
So (1) the top ``reevaluate.top`` feasible trials (one objective) or up to that many spread
along the Pareto front (several) are re-run with the baseline policy and a naive equal split
of the same budget on ``reevaluate.seeds`` fresh seeds (the ``SELECT`` phase), which choose
the recommendation (best robust value of the first objective; the baseline, when within the
budget, competes too, so a search that found nothing better recommends keeping it); then (2) the recommendation,
the baseline and the equal split are run on ``reevaluate.confirm_seeds`` further fresh seeds
(``CONFIRM``), and the recommendation's gains are the paired differences on those seeds (per
seed, the mean over scenarios), with Student-t intervals: the choice and its measurement never
share a seed, so the selection among candidates does not bias the reported gain either.

Equal split: every variable whose level raises the weekly cost gets the same share of the
budget (its own cost measured from its lower bound with the other such variables at theirs;
a common share found by bisection so that the whole policy costs at most the budget);
variables whose level does not raise the cost (e.g. integer cadences) keep their baseline value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from experiments.optimize.evaluate import (
    CONFIRM,
    SEARCH,
    SELECT,
    Results,
    phase_seeds,
    policy_tasks,
    robust_value,
    run_batch,
)
from experiments.optimize.problem import OptimizeProblem

TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Budgets: the cheapest policy and the equal split
# --------------------------------------------------------------------------------------------
def cheapest(
    problem: OptimizeProblem, cost: Callable, baseline: Mapping[str, float]
) -> tuple[float, dict]:
    """(cost, values) of the cheapest policy in the box: the weekly cost is monotone in each
    variable, so each one sits at whichever bound costs less."""
    values = dict(baseline)
    for v in problem.variables:
        lo, hi = _bounds(v)
        values[v.name] = lo if cost({**values, v.name: lo}) <= cost({**values, v.name: hi}) else hi
    return float(cost(values)), values


def _bounds(v) -> tuple[float, float]:
    return (int(v.low), int(v.high)) if v.integer else (v.low, v.high)


def _bisect(f: Callable[[float], bool], lo: float, hi: float, n: int = 48) -> float:
    """The largest x in [lo, hi] with f(x) true (f monotone: true then false; f(lo) true)."""
    if f(hi):
        return hi
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) else (lo, mid)
    return lo


def equal_split(
    problem: OptimizeProblem, cost: Callable, baseline: Mapping[str, float], budget: float
) -> dict | None:
    """The naive equal split of ``budget`` (see the module docstring); None if even the cheapest
    levels of the cost-raising variables exceed it."""
    lows = {v.name: _bounds(v)[0] for v in problem.variables}
    base = {**dict(baseline), **lows}
    c0 = cost(base)
    rising = [
        v for v in problem.variables if not v.integer and cost({**base, v.name: v.high}) > c0 + TOL
    ]
    if not rising:
        return None

    def levels(share: float) -> dict[str, float]:
        out = dict(baseline)
        for v in rising:
            out[v.name] = _bisect(
                lambda x, v=v: cost({**base, v.name: x}) - c0 <= share, v.low, v.high, 40
            )
        return out

    if cost(levels(0.0)) > budget:
        return None
    share = _bisect(
        lambda s: cost(levels(s)) <= budget, 0.0, budget
    )  # never above: it is enqueued as a feasible trial
    return levels(share)


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------
def feasible_trials(study) -> list:
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("feasible", True)
    ]


def front_mask(scores: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``scores`` (n, k), every column to be maximised."""
    n = len(scores)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(scores >= scores[i], axis=1) & np.any(scores > scores[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def candidates(problem: OptimizeProblem, study) -> list:
    """The top feasible trials (one objective) or up to ``top`` trials spread along the Pareto
    front of the feasible ones (several), each set of values once."""
    trials, seen = [], set()
    signs = np.array([o.sign for o in problem.objectives])
    ranked = sorted(feasible_trials(study), key=lambda t: -signs[0] * t.values[0])
    for t in ranked:
        k = tuple(sorted(t.params.items()))
        if k not in seen:
            seen.add(k)
            trials.append(t)
    if len(problem.objectives) == 1 or not trials:
        return trials[: problem.top]
    scores = np.array([t.values for t in trials]) * signs
    front = [t for t, m in zip(trials, front_mask(scores), strict=True) if m]
    if len(front) <= problem.top:
        return front
    pick = np.unique(np.round(np.linspace(0, len(front) - 1, problem.top)).astype(int))
    return [front[i] for i in pick]  # ranked by the first objective: spread along the front


# --------------------------------------------------------------------------------------------
# Re-evaluation
# --------------------------------------------------------------------------------------------
def _run_policies(ctx, policies: Mapping[str, Mapping[str, float]], phase: int, n: int):
    """Run every policy on the phase's seeds; {policy: {kpi: y[s, r]}} for ``kpis``."""
    p = ctx.problem
    seeds = phase_seeds(p.seed, phase, n)
    assert not set(seeds) & set(phase_seeds(p.seed, SEARCH, p.seeds)), (
        "fresh seeds overlap the search"
    )
    tasks, keys = [], {}
    for name, values in policies.items():
        t, k = policy_tasks(
            ctx.fp,
            values,
            p.scenarios,
            seeds,
            {"phase": ("", "select", "confirm")[phase], "trial": -1},
        )
        tasks += t
        keys[name] = k
    run_batch(
        ctx.fn,
        tasks,
        ctx.store,
        ctx.executor,
        f"optimize: re-evaluation ({('', 'select', 'confirm')[phase]})",
        ctx.progress,
    )
    res = Results(ctx.store)
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, k in keys.items():
        out[name] = {}
        for kpi in ctx.kpis:
            y = res.values(k, kpi)
            if y is None and kpi in p.kpis:
                from experiments.batch import RunsFailed

                raise RunsFailed(
                    f"re-evaluation runs of policy {name!r} failed or lack {kpi!r} "
                    f"(first failed run: {res.first_error(k) or 'none'}): rerun with the same hydra.run.dir"
                )
            if y is not None:
                out[name][kpi] = y
    return out, seeds


def paired(a: np.ndarray, b: np.ndarray, kpi: str, level: float) -> dict[str, float]:
    """Paired difference a − b over seeds (each seed: the mean over scenarios) with its interval."""
    from analysis.stats import kpi_bounds, paired_difference

    iv = paired_difference(np.nanmean(a, axis=0), np.nanmean(b, axis=0), level, kpi_bounds(kpi))
    return {
        "diff": iv.mean,
        "low": iv.low,
        "high": iv.high,
        "n": iv.n,
        "distinguishable": iv.excludes_zero,
    }


def _mean_ci(y: np.ndarray, kpi: str, level: float) -> dict[str, float]:
    from analysis.stats import kpi_bounds, mean_ci

    iv = mean_ci(np.nanmean(y, axis=0), level, kpi_bounds(kpi))
    return {"mean": iv.mean, "low": iv.low, "high": iv.high, "n": iv.n}


def _robust(ctx, runs: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray]) -> dict[str, float]:
    p = ctx.problem
    return {
        o.kpi: robust_value(runs[o.kpi], o.sign, p.measure, p.quantile, ref[o.kpi])
        for o in p.objectives
    }


def reevaluate(ctx, study) -> tuple[dict[str, Any], pd.DataFrame]:
    """(recommendation, candidate table): select on fresh seeds, confirm on others."""
    p = ctx.problem
    cands = candidates(p, study)
    if not cands:
        from experiments.batch import RunsFailed

        raise RunsFailed(
            "no feasible trial finished: raise optimize.search.n_trials (rerunning the same "
            "command continues the study) or the budget"
        )
    split = (
        equal_split(p, ctx.cost, ctx.baseline, ctx.budget)
        if ctx.cost is not None and ctx.budget
        else None
    )
    refs = {"baseline": ctx.baseline, **({"equal_split": split} if split else {})}
    policies = {**refs, **{f"trial_{t.number}": {**ctx.baseline, **t.params} for t in cands}}
    sel, _ = _run_policies(ctx, policies, SELECT, p.reeval_seeds)
    robust = {name: _robust(ctx, sel[name], sel["baseline"]) for name in policies}
    names = [f"trial_{t.number}" for t in cands]
    prim = p.primary
    # the baseline (when within the budget) competes too: a search that found nothing better
    # recommends keeping it rather than the best of worse candidates
    keep = ctx.cost is None or ctx.budget is None or ctx.cost(ctx.baseline) <= ctx.budget
    best = max(
        [*names, *(["baseline"] if keep else [])], key=lambda n: prim.sign * robust[n][prim.kpi]
    )
    table = _candidate_table(ctx, cands, policies, sel, robust, best)
    conf, _ = _run_policies(ctx, {"recommended": policies[best], **refs}, CONFIRM, p.confirm_seeds)
    rec = _recommendation(ctx, best, policies, conf, cands, split)
    rec["seeds"] = {"search": p.seeds, "select": p.reeval_seeds, "confirm": p.confirm_seeds}
    return rec, table


def _policy_info(ctx, values: Mapping[str, float] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    info: dict[str, Any] = {"values": {v.name: values[v.name] for v in ctx.problem.variables}}
    if ctx.cost is not None:
        info["cost"] = float(ctx.cost(values))
    if ctx.lines is not None:
        info["cost_lines"] = ctx.lines(values)
    return info


def _recommendation(ctx, best: str, policies, conf, cands, split) -> dict[str, Any]:
    p = ctx.problem
    level = p.level
    trial = next((t for t in cands if f"trial_{t.number}" == best), None)
    rec: dict[str, Any] = {
        "budget": ctx.budget,
        "budget_declared": p.budget,
        "objectives": [{"kpi": o.kpi, "direction": o.direction} for o in p.objectives],
        "measure": p.measure,
        "quantile": p.quantile if p.measure == "quantile" else None,
        "scenarios": list(p.scenarios),
        "level": level,
        "recommended": {
            **_policy_info(ctx, policies[best]),
            "trial": -1 if trial is None else trial.number,
            "search_values": {} if trial is None else dict(zip(p.kpis, trial.values, strict=True)),
        },
        "baseline": _policy_info(ctx, policies["baseline"]),
        "equal_split": _policy_info(ctx, split),
        "kpis": {},
        "vs_baseline": {},
        "vs_equal_split": {},
        "robust": {},
    }
    for name in conf:
        rec["robust"][name] = _robust(ctx, conf[name], conf["baseline"])
    for kpi in ctx.kpis:
        if kpi not in conf["recommended"]:
            continue
        rec["kpis"][kpi] = {name: _mean_ci(conf[name][kpi], kpi, level) for name in conf}
        rec["vs_baseline"][kpi] = paired(
            conf["recommended"][kpi], conf["baseline"][kpi], kpi, level
        )
        if "equal_split" in conf:
            rec["vs_equal_split"][kpi] = paired(
                conf["recommended"][kpi], conf["equal_split"][kpi], kpi, level
            )
    if len(p.scenarios) > 1:
        k = p.primary.kpi
        rec["per_scenario"] = {
            s: paired(conf["recommended"][k][i : i + 1], conf["baseline"][k][i : i + 1], k, level)
            for i, s in enumerate(p.scenarios)
        }
    return rec


def _candidate_table(ctx, cands: Sequence, policies, sel, robust, best: str) -> pd.DataFrame:
    p = ctx.problem
    rows = []
    trials = {f"trial_{t.number}": t for t in cands}
    for name, values in policies.items():
        t = trials.get(name)
        row: dict[str, Any] = {
            "policy": name if t is None else "candidate",
            "trial": -1 if t is None else t.number,
        }
        row.update({v.name: values[v.name] for v in p.variables})
        row["cost"] = float(ctx.cost(values)) if ctx.cost is not None else math.nan
        for j, o in enumerate(p.objectives):
            row[f"search_{o.kpi}"] = t.values[j] if t is not None else math.nan
            row[o.kpi] = robust[name][o.kpi]
            d = paired(sel[name][o.kpi], sel["baseline"][o.kpi], o.kpi, p.level)
            row[f"{o.kpi}_vs_baseline"], row[f"{o.kpi}_low"], row[f"{o.kpi}_high"] = (
                d["diff"],
                d["low"],
                d["high"],
            )
        row["recommended"] = name == best
        rows.append(row)
    df = pd.DataFrame(rows)
    is_cand = (df["policy"] == "candidate").to_numpy()
    scores = df.loc[is_cand, list(p.kpis)].to_numpy(dtype=float) * np.array(
        [o.sign for o in p.objectives]
    )
    df["on_front"] = False
    df.loc[is_cand, "on_front"] = front_mask(scores)
    return df
