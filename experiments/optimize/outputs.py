"""The files of an optimisation study, each written atomically into the run directory:
``trials.parquet`` (every trial), ``pareto.csv`` (the re-evaluated candidates, the baseline and
the equal split on fresh seeds), ``recommendation.json`` and ``recommendation.md`` (the
allocation, its gains and their intervals, in numbers and in words), ``study.json`` (the
declaration and timings) and the figures ``pareto.png``, ``allocation.png``, ``convergence.png``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.io import write_atomic, write_json_atomic, write_text_atomic


def trials_table(study, problem) -> pd.DataFrame:
    """One row per trial: number, state, feasible, cost, the variables, the objectives' robust
    values on the search seeds (NaN for infeasible or failed trials), start and end times."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        feasible = bool(t.user_attrs.get("feasible", True))
        done = t.state.name == "COMPLETE" and feasible
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "feasible": feasible,
            "cost": float(t.user_attrs.get("cost", math.nan)),
        }
        row.update({n: t.params.get(n, math.nan) for n in problem.names})
        for j, kpi in enumerate(problem.kpis):
            row[kpi] = float(t.values[j]) if done and t.values is not None else math.nan
        row["error"] = t.user_attrs.get("error", "")
        row["started"] = t.datetime_start
        row["finished"] = t.datetime_complete
        rows.append(row)
    return pd.DataFrame(rows)


def allocation_table(ctx, table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Rows: baseline, equal split, the candidates (recommended marked); columns: the weekly cost
    lines (with a cost model) or the variables' levels within their bounds."""
    p = ctx.problem
    labels, rows = [], []
    for _, r in table.iterrows():
        values = {**ctx.baseline, **{v.name: r[v.name] for v in p.variables}}
        name = r["policy"] if r["policy"] != "candidate" else f"trial {int(r['trial'])}"
        labels.append(name + (" (recommended)" if r["recommended"] else ""))
        if ctx.lines is not None:
            rows.append(ctx.lines(values))
        else:
            rows.append({v.name: (values[v.name] - v.low) / (v.high - v.low) for v in p.variables})
    unit = (
        "cu per week per 1,000 market customers"
        if ctx.lines
        else "level within bounds (0 = low, 1 = high)"
    )
    return pd.DataFrame(rows, index=labels), unit


def _figure(fig, path: Path) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=110))
    return path.name


def write_outputs(ctx, out_dir: Path, study, rec: dict, table: pd.DataFrame, info: dict) -> dict:
    """Write every file; returns the recommendation with its plain-language ``summary``."""
    from analysis import optimize_plots as op
    from analysis.report.optimize import recommendation_text

    p = ctx.problem
    trials = trials_table(study, p)
    write_atomic(out_dir / "trials.parquet", lambda q: trials.to_parquet(q, index=False))
    write_atomic(out_dir / "pareto.csv", lambda q: table.to_csv(q, index=False))
    rec = {**rec, "summary": recommendation_text(rec, p.to_dict())}
    write_json_atomic(out_dir / "recommendation.json", _json(rec))
    write_text_atomic(out_dir / "recommendation.md", _markdown(rec))
    objectives = [(o.kpi, o.direction) for o in p.objectives]
    alloc, unit = allocation_table(ctx, table)
    figures = [
        _figure(op.pareto_figure(trials, table, objectives, ctx.budget), out_dir / "pareto.png"),
        _figure(op.allocation_figure(alloc, unit), out_dir / "allocation.png"),
        _figure(op.convergence_figure(trials, objectives), out_dir / "convergence.png"),
    ]
    write_json_atomic(
        out_dir / "study.json", _json({"declaration": p.to_dict(), **info, "figures": figures})
    )
    return rec


def _json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _markdown(rec: dict) -> str:
    from experiments.numbers import fmt

    lines = ["# Recommendation (cxsim optimize)", ""]
    lines += [f"- {s}" for s in rec["summary"]]
    lines += [
        "",
        "## Allocation",
        "",
        "| variable | baseline | equal split | recommended |",
        "|---|---:|---:|---:|",
    ]
    es = rec.get("equal_split") or {"values": {}}
    for k, v in rec["recommended"]["values"].items():
        lines.append(
            f"| {k} | {fmt(rec['baseline']['values'][k])} | {fmt(es['values'].get(k))} | {fmt(v)} |"
        )
    if "cost" in rec["recommended"]:
        lines.append(
            f"| weekly cost | {fmt(rec['baseline'].get('cost'))} | {fmt(es.get('cost'))} | "
            f"{fmt(rec['recommended']['cost'])} |"
        )
    pct = f"{100 * rec['level']:g}%"
    lines += [
        "",
        f"## Paired differences on {rec['seeds']['confirm']} fresh seeds ({pct} intervals)",
        "",
        "| KPI | recommended | vs baseline | vs equal split |",
        "|---|---:|---:|---:|",
    ]
    for kpi, m in rec["kpis"].items():
        cells = []
        for ref in ("vs_baseline", "vs_equal_split"):
            d = rec[ref].get(kpi)
            cells.append(
                "n/a" if d is None else f"{fmt(d['diff'])} [{fmt(d['low'])}, {fmt(d['high'])}]"
            )
        lines.append(f"| {kpi} | {fmt(m['recommended']['mean'])} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"
