"""The report of a parameter sweep (``cxsim sweep``): what-if maps, main effects, the target
region and scenario discovery over the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.report.discover import discovery_section
from analysis.report.document import Report
from analysis.report.findings import sweep_findings
from analysis.report.provenance import RERUN, load_config, read_table, what_was_run
from analysis.report.text import (
    HEADLINE,
    ReportError,
    factor_label,
    kpi_label,
    kpi_scope,
    unit_word,
    window_from_cfg,
)
from analysis.stats import fmt
from sim.kpis import BY_NAME

SWEEP_LABELS = ("point", "replicate", "seed", "key")


def swept_keys(sweep: pd.DataFrame) -> list[str]:
    """The swept parameters: columns that are neither labels nor KPIs."""
    return [c for c in sweep.columns if c not in SWEEP_LABELS and c not in BY_NAME]


def _read_sweep(directory: Path, outcome: str | None) -> tuple[pd.DataFrame, list, list, str]:
    """``sweep.csv``, its swept parameters, its KPIs and the outcome to show (checked)."""
    sweep = read_table(directory / "sweep.csv")
    levers = swept_keys(sweep)
    kpis = [c for c in sweep.columns if c in BY_NAME]
    if not levers or not kpis:
        raise ReportError("sweep.csv has no swept parameter or no KPI column")
    _check_complete(sweep, levers, load_config(directory)[0])
    if outcome is None:
        outcome = next((k for k in HEADLINE if k in kpis), kpis[0])
    elif outcome not in kpis:
        raise ReportError(f"invalid --outcome {outcome!r}: allowed one of {', '.join(kpis)}")
    return sweep, levers, kpis, outcome


def _check_complete(sweep: pd.DataFrame, levers: list[str], cfg: dict | None) -> None:
    """Every run of the declared grid (``sweep.grid`` x ``replicates``) is in sweep.csv, and
    no row was cut (a swept value missing)."""
    if sweep[levers].isna().any(axis=None):
        raise ReportError(f"sweep.csv is truncated: a row lacks its swept values; {RERUN}")
    grid = ((cfg or {}).get("sweep") or {}).get("grid")
    reps = (cfg or {}).get("replicates")
    if not isinstance(grid, dict) or not grid or not isinstance(reps, int):
        return
    points = int(np.prod([len(v) if isinstance(v, list) else 1 for v in grid.values()]))
    if len(sweep) != points * reps:
        raise ReportError(
            f"sweep.csv is incomplete or truncated: it holds {len(sweep)} runs, the sweep "
            f"declared {points} grid points x {reps} replicates = {points * reps}; {RERUN}"
        )


def _grid_rows(sweep: pd.DataFrame, levers: list[str], outcome: str) -> list[tuple[str, str]]:
    reps = int(sweep.groupby(levers).size().max())
    return [
        (
            "swept parameters",
            "; ".join(
                f"{factor_label(k)} ({k}): " + ", ".join(map(str, sorted(sweep[k].unique())))
                for k in levers
            ),
        ),
        (
            "grid points × replicates",
            f"{sweep.groupby(levers).ngroups} × {reps} = {len(sweep)} runs",
        ),
        (
            "outcome shown",
            kpi_label(outcome) + (f" ({unit_word(outcome)})" if unit_word(outcome) else ""),
        ),
    ]


def _baseline_means(sweep: pd.DataFrame, numeric: list[str], kpis: list[str]) -> dict:
    """``base_<kpi>``: the KPI means at the grid point nearest the model's default values."""
    from analysis.whatif import default_value

    base = sweep.copy()
    for k in numeric:
        dv = default_value(k)
        vals = np.sort(base[k].unique())
        pick = vals[np.abs(vals - dv).argmin()] if dv is not None else vals[len(vals) // 2]
        base = base[base[k] == pick]
    return {f"base_{c}": float(base[c].mean()) for c in kpis} if len(base) else {}


def _target_met(sweep, numeric, kpis, outcome, target):
    """(the what-if grid of two numeric levers or None, which runs meet the target, the
    ``base_<kpi>`` constants of the target expression)."""
    from analysis.whatif import evaluate_target, lever_grid

    try:
        if len(numeric) == 2:
            grid = lever_grid(sweep, numeric[0], numeric[1], outcome, target)
            return grid, evaluate_target(sweep, target, grid.base), grid.base
        consts = _baseline_means(sweep, numeric, kpis)
        return None, evaluate_target(sweep, target, consts), consts
    except ValueError as exc:
        raise ReportError(str(exc)) from None


def report_sweep(
    rep: Report, directory: Path, *, outcome: str | None = None, target: str | None = None
) -> None:
    from analysis import plots

    sweep, levers, kpis, outcome = _read_sweep(directory, outcome)
    numeric = [c for c in levers if pd.api.types.is_numeric_dtype(sweep[c])]
    seeds = sweep["seed"].tolist() if "seed" in sweep else []
    cfg = what_was_run(rep, directory, seeds=seeds, extra=_grid_rows(sweep, levers, outcome))
    window = window_from_cfg(cfg)
    labels = {k: f"{factor_label(k)} ({k})" if factor_label(k) != k else k for k in levers}
    default_target = target is None
    target = target or f"{outcome} >= base_{outcome}"
    grid, met, consts = _target_met(sweep, numeric, kpis, outcome, target)

    rep.h2("Main findings")
    findings = sweep_findings(sweep, levers, outcome, target, met, labels, default_target, window)
    findings_at = rep.reserve()  # filled once scenario discovery has run

    rep.h2("Results")
    scope = kpi_scope(outcome, window)
    if grid is not None:
        _whatif_maps(rep, sweep, grid, numeric, kpis, outcome, target, labels, window)
    rep.h3("Main effects")
    rep.try_figure(
        lambda: plots.sweep_main_effects(sweep, levers, outcome, labels=labels),
        "main_effects",
        f"Mean {kpi_label(outcome)} {scope} (95% CI over runs) at each value of each swept "
        "parameter, averaged over the other parameters.",
    )
    if 0 < int(met.sum()) < len(met) and numeric:
        findings += discovery_section(rep, sweep, numeric, target, consts, labels)
    rep.fill(findings_at, findings)
    rep.h3("Grid points")
    _grid_table(rep, sweep, levers, outcome, met)


def _whatif_maps(rep, sweep, grid, numeric, kpis, outcome, target, labels, window) -> None:
    from analysis.whatif import lever_grid, whatif_map

    rep.h3("What-if map")
    rep.figure(
        whatif_map(grid, labels=labels),
        "whatif_map",
        f"Mean {kpi_label(outcome)} {kpi_scope(outcome, window)} over the two levers; red outline: the cells where the target "
        f"({target}) is met in at least half of the replicates; dashed white: the baseline cell "
        "(the model's default values, or the nearest grid point).",
    )
    if outcome != "nps" and "nps" in kpis:
        rep.figure(
            whatif_map(lever_grid(sweep, numeric[0], numeric[1], "nps", target), labels=labels),
            "whatif_map_nps",
            f"Mean NPS {kpi_scope('nps', window)} over the two levers, same target region "
            f"({target}).",
        )


def _grid_table(
    rep: Report, sweep: pd.DataFrame, levers: list[str], outcome: str, met: pd.Series
) -> None:
    from analysis.stats import mean_ci

    g = sweep.assign(_met=met.astype(float).to_numpy()).groupby(levers, sort=True)
    rows = []
    for key, d in g:
        key = key if isinstance(key, tuple) else (key,)
        ci = mean_ci(d[outcome])
        rows.append(
            (
                *key,
                len(d),
                f"{fmt(ci.mean)} [{fmt(ci.low)}, {fmt(ci.high)}]",
                f"{100 * d['_met'].mean():.0f}%",
            )
        )
    rep.table(
        pd.DataFrame(rows, columns=[*levers, "runs", f"{outcome} mean [95% CI]", "target met"])
    )
