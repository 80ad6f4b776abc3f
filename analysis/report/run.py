"""The report of a single run (``cxsim run``): KPIs, time series and, re-simulated from the
stored configuration, state distributions, customer flows and the journey map."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.document import Report
from analysis.report.findings import run_findings
from analysis.report.provenance import (
    RERUN,
    load_config,
    recovery_tolerance,
    shocks_from_cfg,
    what_was_run,
)
from analysis.report.text import ReportError, Window, kpi_scope, num, window_from_cfg
from analysis.stats import fmt
from sim.kpis import BY_NAME


@dataclass
class _Resimulation:
    """What re-simulating the run gave: the snapshots (or None), a note, the time it took."""

    snap: Any = None
    note: str | None = None
    seconds: float | None = None


def _resimulate(cfg: dict | None, ts: pd.DataFrame, simulate: bool) -> _Resimulation:
    """Re-run the stored configuration and seed to collect what ``cxsim run`` does not store."""
    if not simulate:
        return _Resimulation(
            note="Re-simulation skipped (--no-simulate): state, flow and journey figures are left out."
        )
    if cfg is None:
        return _Resimulation(
            note="No config.yaml: the run cannot be re-simulated; state, flow and journey figures are left out."
        )
    try:
        from analysis.snapshots import collect
        from sim.config import params_from_cfg, run_settings

        params = params_from_cfg(cfg)
        seed, steps = run_settings(cfg)
        t0 = time.perf_counter()
        snap = collect(params, seed, steps)
        seconds = time.perf_counter() - t0
    except Exception as exc:  # the model code may have changed since the run: said in the report
        return _Resimulation(
            note=f"The run could not be re-simulated ({type(exc).__name__}: {exc}); state, flow and journey figures are left out."
        )
    same = snap.timeseries.shape == ts.shape and np.allclose(
        snap.timeseries.to_numpy(float), ts.to_numpy(float), equal_nan=True, rtol=1e-9, atol=1e-9
    )
    note = (
        "The run was re-simulated from its configuration and seed to collect weekly state "
        "distributions, customer flows and the journey map; the re-simulation "
        + (
            "reproduced the stored time series exactly."
            if same
            else "did NOT reproduce the stored time series (the model or configuration changed since), "
            "so those three figures may differ from the stored run."
        )
    )
    return _Resimulation(snap, note, seconds)


def _read_run(directory: Path) -> tuple[pd.DataFrame, dict]:
    """``timeseries.parquet`` and ``kpis.json``; an unreadable or empty one is a one-line
    :class:`ReportError`."""
    try:
        ts = pd.read_parquet(directory / "timeseries.parquet")
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        what = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ReportError(f"timeseries.parquet cannot be read ({what}): {RERUN}") from None
    try:
        kpis = json.loads((directory / "kpis.json").read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"kpis.json cannot be read ({exc}): {RERUN}") from None
    if ts.empty or not isinstance(kpis, dict) or not kpis:
        raise ReportError(f"timeseries.parquet or kpis.json holds no data: {RERUN}")
    return ts, kpis


def report_run(rep: Report, directory: Path, *, simulate: bool = True) -> None:
    ts, kpis = _read_run(directory)
    cfg, _ = load_config(directory)
    sim = _resimulate(cfg, ts, simulate)
    runtime = (
        f"re-simulation for this report took {sim.seconds:.1f} s"
        if sim.seconds is not None
        else "not recorded by cxsim run"
    )
    what_was_run(
        rep, directory, seeds=[cfg["seed"]] if cfg and "seed" in cfg else [], runtime_note=runtime
    )
    shocks = sim.snap.shocks if sim.snap else shocks_from_cfg(cfg)
    rep.h2("Main findings")
    burn_in = int(((cfg or {}).get("evaluation") or {}).get("burn_in", 0))
    window = window_from_cfg(cfg)
    findings = run_findings(ts, kpis, shocks, burn_in, recovery_tolerance(cfg), window)
    rep.bullets(findings, "findings")
    rep.h2("Results")
    _kpi_tables(rep, kpis, window)
    _timeseries_figures(rep, ts, shocks)
    if sim.note:
        rep.p(sim.note, "note")
    if sim.snap is not None:
        _snapshot_figures(rep, sim.snap)


def _kpi_tables(rep: Report, kpis: dict, window: Window | None = None) -> None:
    from experiments.run import SUMMARY_KPIS

    rows = [
        (k, fmt(num(kpis.get(k))), BY_NAME[k].unit, kpi_scope(k, window))
        for k in SUMMARY_KPIS
        if k in kpis
    ]
    rep.h3("Key performance indicators")
    cols = ["KPI", "value", "unit", "covers"]
    rep.table(pd.DataFrame(rows, columns=cols), left=("KPI", "unit", "covers"))
    allrows = [
        (k, fmt(num(v)), BY_NAME[k].unit if k in BY_NAME else "", kpi_scope(k, window))
        for k, v in kpis.items()
    ]
    rep.table(
        pd.DataFrame(allrows, columns=cols),
        left=("KPI", "unit", "covers"),
        collapsed=f"All {len(allrows)} KPIs",
    )


def _timeseries_figures(rep: Report, ts: pd.DataFrame, shocks: list) -> None:
    from analysis import plots

    rep.figure(
        plots.kpi_panels(ts), "kpi_timeseries", "Weekly KPIs of the focal firm over the run."
    )
    rep.figure(
        plots.nps_measured_vs_true(ts, shocks),
        "nps_measured_vs_true",
        "True NPS vs the NPS the firm measured from its surveys; shaded: shocks (scheduled duration), "
        "red ticks: weeks the firm's measurements raised an alarm; bottom: measurement error.",
    )


def _snapshot_figures(rep: Report, snap: Any) -> None:
    """State distributions, customer flows and the journey map of a re-simulated run."""
    from analysis import plots

    rep.h3("Customers: state distributions and flows")
    rep.figure(
        plots.state_distributions(snap.state),
        "state_distributions",
        "Distribution of the emotional (affect), cognitive (satisfaction, expectation) and behavioural "
        "(activity, loyalty) state of the focal firm's customers per week: 5–95th and 25–75th "
        "percentile bands, median and mean.",
    )
    rep.figure(
        plots.customer_flows(snap.flows),
        "customer_flows",
        "Customers by status (prospect, customer of each firm, lapsed) and the weekly flows between "
        "them, including switches between firms.",
    )
    rep.h3("Journey map")
    focal = snap.firms[0]
    err = float(np.abs(snap.quality_estimate[focal] - snap.quality_true[focal]).mean())
    rep.figure(
        plots.journey_heatmap(
            snap.quality_true[focal],
            snap.quality_estimate[focal],
            title=f"Focal firm's journey map at week {len(snap.timeseries)}: "
            f"mean absolute error {err:.3f}",
        ),
        "journey_heatmap",
        "Touchpoint × channel quality at the end of the run: true effective quality, the firm's "
        "estimate (its journey map) and the estimate's error.",
    )
