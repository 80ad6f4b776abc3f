"""The report of an optimisation study (``cxsim optimize``): the recommendation in plain words,
its paired gains over the baseline policy and an equal split of the same budget, the allocation,
the re-evaluated candidates and the search's figures. :func:`recommendation_text` (numbers in,
sentences out) also writes the summary of ``recommendation.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.document import Report
from analysis.report.text import ReportError, factor_label, kpi_label
from analysis.stats import fmt

_SIDE = ("firm_value", "annual_churn", "nps", "retention_rate", "market_share")


def _num(v: Any) -> str:
    """A variable's value: integers as integers (a cadence of 8 weeks, not 8.00)."""
    return (
        str(int(v)) if isinstance(v, int) or (isinstance(v, float) and v.is_integer()) else fmt(v)
    )


def _ci(d: Mapping[str, Any], pct: str) -> str:
    return f"{pct} CI {fmt(d['low'])} to {fmt(d['high'])}"


def _moves(rec: Mapping[str, Any], bounds: Mapping[str, tuple[float, float]], most: int = 4) -> str:
    """The largest moves from the baseline to the recommendation, relative to each range."""
    base, new = rec["baseline"]["values"], rec["recommended"]["values"]
    rel = []
    for k, v in new.items():
        lo, hi = bounds.get(k, (0.0, 1.0))
        change = (v - base[k]) / (hi - lo) if hi > lo else 0.0
        if abs(change) >= 0.02:
            rel.append((abs(change), k))
    if not rel:
        return "keeping the baseline levels"
    parts = [
        f"{factor_label(k).lower()} from {_num(base[k])} to {_num(new[k])}"
        for _, k in sorted(rel, reverse=True)[:most]
    ]
    more = f" (and {len(rel) - most} smaller changes)" if len(rel) > most else ""
    return "moving " + ", ".join(parts) + more


def _effect(kpi: str | None, d: Mapping[str, Any], ref: str, pct: str) -> str:
    """ "raises firm value by 3 (95% CI 1 to 5) over <ref>" (without the KPI when ``kpi`` is None)."""
    verb = "raises" if d["diff"] > 0 else "lowers"
    what = f" {kpi_label(kpi)}" if kpi else ""
    sig = "" if d["distinguishable"] else f" (the {pct} interval includes 0: not established)"
    return f"{verb}{what} by {fmt(abs(d['diff']))} ({_ci(d, pct)}) over {ref}{sig}"


def recommendation_text(rec: Mapping[str, Any], decl: Mapping[str, Any]) -> list[str]:
    """Plain-language sentences of a recommendation (``recommendation.json``) and its study
    declaration (``study.json``'s ``declaration``)."""
    pct = f"{100 * rec['level']:g}%"
    bounds = {k: tuple(v["bounds"]) for k, v in decl.get("variables", {}).items()}
    prim = rec["objectives"][0]["kpi"]
    budget = rec.get("budget")
    head = (
        f"With {fmt(budget)} cu per week per 1,000 market customers"
        if budget is not None
        else "Without a budget constraint"
    )
    out = []
    vb, ve = rec["vs_baseline"].get(prim), rec["vs_equal_split"].get(prim)
    same = rec["recommended"]["values"] == rec["baseline"]["values"]
    if vb is not None and same:
        sentence = (
            f"{head}, no trial beat the baseline policy on fresh seeds: the recommendation is to keep it "
            f"({kpi_label(prim)} {fmt(rec['kpis'][prim]['recommended']['mean'])})"
        )
        if ve is not None:
            sentence += f"; it {_effect(prim, ve, 'an equal split of the same budget', pct)}"
        out.append(sentence + f" (paired, {vb['n']} fresh seeds never used in the search).")
    elif vb is not None:
        sentence = f"{head}, {_moves(rec, bounds)} {_effect(prim, vb, 'the baseline policy', pct)}"
        if ve is not None:
            sentence += f", and {_effect(None, ve, 'an equal split of the same budget', pct)}"
        out.append(sentence + f" (paired, {vb['n']} fresh seeds never used in the search).")
        sign = 1.0 if rec["objectives"][0]["direction"] == "maximize" else -1.0
        if not (vb["distinguishable"] and sign * vb["diff"] > 0):
            out.append(
                "No candidate is established as better than the baseline policy on fresh seeds: keep the "
                "baseline, or search longer (optimize.search.n_trials) with more seeds."
            )
    side = [k for k in _SIDE if k != prim and k in rec["vs_baseline"]]
    if side and not same:
        bits = [
            f"{kpi_label(k)} {'+' if rec['vs_baseline'][k]['diff'] > 0 else '−'}"
            f"{fmt(abs(rec['vs_baseline'][k]['diff']))} ({_ci(rec['vs_baseline'][k], pct)})"
            for k in side
        ]
        out.append("Against the baseline policy it changes " + ", ".join(bits) + ".")
    rc, bc = rec["recommended"].get("cost"), (rec.get("baseline") or {}).get("cost")
    if rc is not None and bc is not None:
        out.append(
            f"It spends {fmt(rc)} cu per week per 1,000 market customers on support and levers "
            f"(baseline policy: {fmt(bc)})."
        )
    sv = rec["recommended"].get("search_values", {}).get(prim)
    conf = rec["kpis"].get(prim, {}).get("recommended")
    if sv is not None and conf is not None and rec["measure"] == "mean":
        out.append(
            f"On the search's seeds this policy had {kpi_label(prim)} {fmt(sv)}; on fresh seeds, "
            f"{fmt(conf['mean'])}: the gains above are measured on the fresh seeds only, so the "
            "luck of the search (the winner's curse) is not in them."
        )
    if len(rec.get("scenarios", [])) > 1:
        worst = min(rec.get("per_scenario", {}).items(), key=lambda kv: kv[1]["diff"], default=None)
        if worst:
            out.append(
                f"Robust over the scenarios {', '.join(rec['scenarios'])} ({rec['measure']}); the smallest gain "
                f"in {kpi_label(prim)} over the baseline is in '{worst[0]}': {fmt(worst[1]['diff'])}."
            )
    return out


def report_optimize(rep: Report, directory: Path) -> None:
    """The sections of an optimisation study's report."""
    try:
        rec = json.loads((directory / "recommendation.json").read_text())
        info = (
            json.loads((directory / "study.json").read_text())
            if (directory / "study.json").is_file()
            else {}
        )
        table = pd.read_csv(directory / "pareto.csv")
        trials = pd.read_parquet(directory / "trials.parquet")
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read the optimisation results in {directory}: {exc}") from None
    from analysis import optimize_plots as op

    decl = info.get("declaration", {})
    objectives = [(o["kpi"], o["direction"]) for o in rec["objectives"]]
    rep.h2("Recommendation")
    rep.bullets(recommendation_text(rec, decl), "findings")
    rows = []
    es = rec.get("equal_split") or {"values": {}}
    for k, v in rec["recommended"]["values"].items():
        e = es["values"].get(k)
        rows.append(
            (
                factor_label(k),
                _num(rec["baseline"]["values"][k]),
                "n/a" if e is None else _num(e),
                _num(v),
            )
        )
    rep.table(
        pd.DataFrame(rows, columns=["variable", "baseline", "equal split", "recommended"]),
        left=["variable"],
    )
    pct = f"{100 * rec['level']:g}%"
    rep.h2("Gains on fresh seeds")
    gains = []
    for kpi, m in rec["kpis"].items():
        b, e = rec["vs_baseline"].get(kpi), rec["vs_equal_split"].get(kpi)
        gains.append(
            (
                kpi_label(kpi),
                fmt(m["recommended"]["mean"]),
                "n/a" if b is None else f"{fmt(b['diff'])} [{fmt(b['low'])}, {fmt(b['high'])}]",
                "n/a" if e is None else f"{fmt(e['diff'])} [{fmt(e['low'])}, {fmt(e['high'])}]",
            )
        )
    rep.table(
        pd.DataFrame(
            gains,
            columns=["KPI", "recommended", f"vs baseline ({pct} CI)", f"vs equal split ({pct} CI)"],
        ),
        left=["KPI"],
    )
    rep.h2("Search")
    n_ok = int(((trials["state"] == "COMPLETE") & trials["feasible"].astype(bool)).sum())
    rep.p(
        f"{len(trials)} trials ({n_ok} feasible and finished); {int((table['policy'] == 'candidate').sum())} "
        f"candidates re-evaluated on {rec['seeds']['select']} fresh seeds; the recommendation confirmed on "
        f"{rec['seeds']['confirm']} further seeds."
    )
    rep.try_figure(
        lambda: op.pareto_figure(trials, table, objectives, rec.get("budget")),
        "pareto",
        "Trials on the search seeds (grey) and the re-evaluated candidates, baseline and equal split "
        "on fresh seeds.",
    )
    alloc_rows = [
        r
        for r in ("recommended", "baseline", "equal_split")
        if rec.get(r) and rec[r].get("cost_lines")
    ]
    if alloc_rows:
        alloc = pd.DataFrame([rec[r]["cost_lines"] for r in alloc_rows], index=alloc_rows)
        rep.try_figure(
            lambda: op.allocation_figure(alloc),
            "allocation",
            "How each policy splits its weekly spend across support factors and levers.",
        )
    rep.try_figure(
        lambda: op.convergence_figure(trials, objectives),
        "convergence",
        "Best feasible value found so far against the number of trials (search seeds).",
    )
    rep.table(table.round(4), left=["policy"], collapsed="Re-evaluated policies (pareto.csv)")
