"""`cxsim compare`: scenarios x replicates with common random numbers, paired differences.

    cxsim compare scenarios=[baseline,outage,viral_post] replicates=10 population.n_customers=2000

Each scenario's configuration is the command's overrides plus ``scenario=<name>``; replicate
``i`` uses the same seed in every scenario (see :mod:`experiments.batch`), so the difference
between two scenarios is measured run by run (paired) and most of the run-to-run noise cancels.
All runs go through :func:`experiments.executor.run_tasks` into the run store
``<run dir>/store``: rerunning the same command with the same ``hydra.run.dir`` skips the runs
that finished (an interrupted comparison resumes) and retries failed ones.

Writes to the run directory (atomically, after every run has finished):

- ``comparison.csv``: one row per KPI x scenario: ``scenario, kpi, unit, n, mean, sd, ci_low,
  ci_high, n_diff, diff, diff_ci_low, diff_ci_high, distinguishable``. ``diff`` is the mean
  paired difference from the first scenario listed (the reference), with its Student-t 95%
  interval over replicates (intervals are confined to the values the KPI can take, e.g.
  [0, 1] for a rate: :mod:`analysis.stats`); ``distinguishable`` is true when that interval excludes 0. NaN
  values (a summary KPI such as ``recovery_time`` that is undefined in a run) are skipped:
  ``n`` and ``n_diff`` count the values used.
- ``comparison.md``: the same as a Markdown table, and one line per KPI saying which
  differences are distinguishable from noise.
- ``comparison.png``: forest plot of the paired differences (``output.figure=false`` skips it).
- ``runs.csv``: one row per scenario x replicate (seed, run key, every KPI); each run's weekly
  series is in the store (``RunStore(<run dir>/store).timeseries(key)``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.batch import (
    RunFn,
    RunsFailed,
    check_kpis,
    check_replicates,
    executor_config,
    plain,
    replicate_seeds,
    run_key,
    task_overrides,
)
from experiments.numbers import fmt as _fmt
from sim.params import ParamError, Params

COLUMNS = (
    "scenario",
    "kpi",
    "unit",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "n_diff",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "distinguishable",
)


@dataclass(frozen=True)
class ComparePlan:
    scenarios: tuple[str, ...]
    params: Mapping[str, Params]
    seed: int
    steps: int
    replicates: int
    seeds: tuple[int, ...]
    kpis: tuple[str, ...]
    executor: Any  # ExecutorConfig
    figure: bool
    quiet: bool


def check_scenarios(value: Any) -> tuple[str, ...]:
    """A non-empty list of distinct, known scenario names."""
    from experiments.scenarios import scenario_library

    known = scenario_library()
    value = plain(value)
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ParamError(
            "scenarios",
            value,
            "a non-empty list of scenario names, e.g. scenarios=[baseline,outage]",
        )
    for name in value:
        if name not in known:
            raise ParamError("scenarios", name, "scenario names: " + ", ".join(known))
    if len(set(value)) != len(value):
        raise ParamError("scenarios", list(value), "each scenario at most once")
    return tuple(value)


def plan_compare(overrides: Sequence[str]) -> ComparePlan:
    """Compose and validate everything the comparison needs (raises one-line errors)."""
    from sim.config import check_shocks_in_run, compose, params_from_cfg, run_settings

    overrides = list(overrides)
    for o in overrides:
        if o.split("=", 1)[0].lstrip("+~") == "scenario":
            raise ParamError(
                "scenario",
                o.split("=", 1)[-1],
                "not set with compare: list the scenarios in scenarios=[...]",
            )
    cfg = compose(overrides)
    params_from_cfg(cfg)
    seed, steps = run_settings(cfg)
    scenarios = check_scenarios(cfg.get("scenarios"))
    replicates = check_replicates(cfg.get("replicates"), minimum=2)
    output = cfg.get("output") or {}
    kpis = check_kpis(plain(output.get("kpis")))
    executor = executor_config(cfg)
    params = {s: params_from_cfg(compose([*overrides, f"scenario={s}"])) for s in scenarios}
    for p in params.values():
        check_shocks_in_run(p.shocks, steps)  # a scenario's shock must happen within the run
    return ComparePlan(
        scenarios=scenarios,
        params=params,
        seed=seed,
        steps=steps,
        replicates=replicates,
        seeds=tuple(replicate_seeds(seed, replicates)),
        kpis=kpis,
        executor=executor,
        figure=bool(output.get("figure", True)),
        quiet=bool(output.get("quiet", False)),
    )


def validate_compare(overrides: Sequence[str]) -> None:
    plan_compare(overrides)


def compare_cmd(cfg, out_dir: Path) -> pd.DataFrame:
    """The Hydra job of ``cxsim compare`` (``cfg`` is re-composed per scenario)."""
    return compare(plan_compare(task_overrides()), out_dir)


def compare(plan: ComparePlan, out_dir: Path, *, progress: bool | None = None) -> pd.DataFrame:
    """Run (or resume) the comparison and write its outputs; returns the comparison table."""
    from experiments.executor import run_tasks
    from experiments.store import RunStore, Task

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    runs = []  # (scenario, replicate, seed, key)
    tasks = []
    for s in plan.scenarios:
        for i, seed in enumerate(plan.seeds):
            key = run_key(plan.params[s], plan.steps, seed)
            runs.append((s, i, seed, key))
            tasks.append(Task(plan.params[s], seed, key, {"scenario": s, "replicate": i}))
    store = RunStore(out_dir / "store")
    summary = run_tasks(
        RunFn(plan.steps),
        tasks,
        store=store,
        executor=plan.executor,
        progress=progress,
        desc="compare",
    )
    if summary.n_failed:
        raise_failures(store, summary)
    runs_df = collect(runs, store, ("scenario", "replicate", "seed", "key"))
    table = comparison_table(runs_df, plan.scenarios, plan.kpis)
    write_outputs(plan, table, runs_df, out_dir)
    if not plan.quiet:
        n = plan.params[plan.scenarios[0]].population.n_customers
        print(
            f"cxsim compare: {len(plan.scenarios)} scenarios x {plan.replicates} replicates, "
            f"{n} customers x {plan.steps} weeks: {summary.n_done} run, {summary.n_skipped} "
            f"already stored, {time.perf_counter() - t0:.1f} s -> {out_dir}"
        )
        print(window_text(plan))
        print("\n".join(findings(table, plan.scenarios, _headline(plan.kpis))))
    return table


def raise_failures(store, summary) -> None:
    failures = store.failures()
    first = failures["error"].iloc[0] if len(failures) else "unknown error"
    raise RunsFailed(
        f"{summary.n_failed} of {summary.n_total} runs failed (first: {first}); "
        "the others are stored: rerun the same command to retry the failed ones"
    )


def collect(runs: list[tuple], store, columns: Sequence[str]) -> pd.DataFrame:
    """This batch's runs (labels from ``runs``) joined with their KPIs from the store."""
    labels = pd.DataFrame(runs, columns=list(columns))
    kpis = store.kpis().drop(columns=["seed"]).set_index("key")
    kpis = kpis[[c for c in kpis.columns if c not in labels.columns]]
    missing = set(labels["key"]) - set(kpis.index)
    if missing:
        raise RunsFailed(
            f"{len(missing)} runs are missing from the run store; rerun the same command"
        )
    return labels.join(kpis, on="key")


def comparison_table(
    runs: pd.DataFrame, scenarios: Sequence[str], kpis: Sequence[str]
) -> pd.DataFrame:
    """One row per KPI x scenario: means, intervals and paired differences from scenarios[0].
    Intervals stay within the values the KPI can take (see :mod:`analysis.stats`)."""
    from analysis.stats import kpi_bounds, mean_ci, paired_difference
    from sim.kpis import BY_NAME

    ref = scenarios[0]
    wide = {s: runs[runs["scenario"] == s].set_index("replicate").sort_index() for s in scenarios}
    rows = []
    for k in kpis:
        base = wide[ref][k]
        for s in scenarios:
            x = wide[s][k]
            ci = mean_ci(x, bounds=kpi_bounds(k))
            n, mean, sd, lo, hi = ci.n, ci.mean, ci.sd, ci.low, ci.high
            if s == ref:
                nd = int(base.notna().sum())
                d = dlo = dhi = 0.0 if nd else math.nan
            else:
                diff = paired_difference(x.to_numpy(), base.to_numpy(), bounds=kpi_bounds(k))
                nd, d, dlo, dhi = diff.n, diff.mean, diff.low, diff.high
            rows.append(
                {
                    "scenario": s,
                    "kpi": k,
                    "unit": BY_NAME[k].unit,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_diff": nd,
                    "diff": d,
                    "diff_ci_low": dlo,
                    "diff_ci_high": dhi,
                    "distinguishable": bool(dlo > 0 or dhi < 0),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _headline(kpis: Sequence[str]) -> tuple[str, ...]:
    from experiments.run import SUMMARY_KPIS

    chosen = tuple(k for k in SUMMARY_KPIS if k in kpis)
    return chosen or tuple(kpis)


def findings(
    table: pd.DataFrame, scenarios: Sequence[str], kpis: Sequence[str] | None = None
) -> list[str]:
    """One line per KPI: which differences from the reference are distinguishable from noise."""
    ref = scenarios[0]
    lines = []
    for k, g in table.groupby("kpi", sort=False):
        if kpis is not None and k not in kpis:
            continue
        parts = []
        n_ref = int(g.loc[g["scenario"] == ref, "n"].iloc[0])
        for r in g[g["scenario"] != ref].itertuples():
            if r.n_diff < 2:
                parts.append(
                    f"{r.scenario} no paired difference ({r.n_diff} pairs; {ref} n={n_ref}, "
                    f"{r.scenario} n={r.n}, mean {fmt(r.mean)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}])"
                )
                continue
            verdict = "distinguishable" if r.distinguishable else "not distinguishable from noise"
            parts.append(
                f"{r.scenario} {_signed(r.diff)} [{_signed(r.diff_ci_low)}, "
                f"{_signed(r.diff_ci_high)}] {verdict}"
            )
        if parts:
            lines.append(f"- {k} (vs {ref}): " + "; ".join(parts))
    return lines


def fmt(v: float) -> str:
    return _fmt(v, style="table")


def _signed(v: float) -> str:
    s = fmt(v)
    return s if s.startswith("-") or not math.isfinite(v) else "+" + s


def window_text(plan: ComparePlan) -> str:
    """Which weeks the run-level KPIs cover, in words (from the reference scenario's parameters)."""
    from sim.kpis import window_text as words
    from sim.run import evaluation_window

    return words(*evaluation_window(plan.params[plan.scenarios[0]], plan.steps))


def markdown(plan: ComparePlan, table: pd.DataFrame) -> str:
    ref = plan.scenarios[0]
    n = plan.params[ref].population.n_customers
    lines = [
        "# Scenario comparison",
        "",
        f"{len(plan.scenarios)} scenarios x {plan.replicates} replicates, {n:,} customers x "
        f"{plan.steps} weeks, root seed {plan.seed}. {window_text(plan)} Common random numbers: replicate i uses the "
        f"same seed in every scenario. `diff` is the paired difference from **{ref}** "
        "(scenario - reference) with a Student-t 95% interval over replicates, confined to "
        "the values the KPI can take (a rate stays in [0, 1], a latency >= 0); "
        "NaN values are skipped (`n`).",
        "",
        "| KPI | unit | scenario | n | mean [95% CI] | diff vs "
        + ref
        + " [95% CI] | distinguishable |",
        "|---|---|---|---:|---|---|:---:|",
    ]
    for r in table.itertuples():
        mean = f"{fmt(r.mean)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]"
        if r.scenario == ref:
            diff, mark = "(reference)", ""
        else:
            diff = f"{_signed(r.diff)} [{_signed(r.diff_ci_low)}, {_signed(r.diff_ci_high)}]"
            mark = "yes" if r.distinguishable else "no"
        lines.append(f"| {r.kpi} | {r.unit} | {r.scenario} | {r.n} | {mean} | {diff} | {mark} |")
    lines += ["", "## Which differences are distinguishable from noise", ""]
    lines += findings(table, plan.scenarios)
    return "\n".join(lines) + "\n"


def write_outputs(
    plan: ComparePlan, table: pd.DataFrame, runs: pd.DataFrame, out_dir: Path
) -> None:
    from experiments.io import write_atomic, write_text_atomic

    write_atomic(out_dir / "runs.csv", lambda p: runs.to_csv(p, index=False))
    write_atomic(out_dir / "comparison.csv", lambda p: table.to_csv(p, index=False))
    write_text_atomic(out_dir / "comparison.md", markdown(plan, table))
    if plan.figure:
        import matplotlib.pyplot as plt

        from analysis.compare_plots import forest_plot

        fig = forest_plot(
            table,
            reference=plan.scenarios[0],
            title=f"paired differences vs {plan.scenarios[0]} "
            f"({plan.replicates} replicates, 95% CI)",
        )
        write_atomic(out_dir / "comparison.png", lambda p: fig.savefig(p, dpi=100, format="png"))
        plt.close(fig)
