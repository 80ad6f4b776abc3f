"""The report of a sensitivity study (``cxsim sensitivity``): indices, their figures, replicate
noise and scenario discovery over the study's runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.report.discover import discovery_section
from analysis.report.document import Report
from analysis.report.findings import factor_rows, order_outputs, sensitivity_findings
from analysis.report.provenance import read_table, what_was_run
from analysis.report.text import (
    ReportError,
    Window,
    factor_label,
    kpi_label,
    kpi_scope,
    num,
    window_from_cfg,
)
from analysis.stats import fmt
from sim.kpis import BY_NAME

MAX_FIGURE_OUTPUTS = 6


SAMPLE_FILES = ("samples.csv", "sample.csv", "runs.csv", "sample_outputs.csv")


def sample_table(directory: Path, factors: Sequence[str]) -> pd.DataFrame | None:
    """One row per model run of a sensitivity study with the factor values and KPIs: a CSV
    file in the directory, or the run store's KPI table when it labels runs by factor."""
    for name in SAMPLE_FILES:
        p = directory / name
        if p.is_file():
            df = read_table(p, rows=False)
            if set(factors) <= set(df.columns):
                return df
    if (directory / "store" / "manifest.json").is_file():
        try:
            from experiments.store import RunStore

            df = RunStore(directory / "store").kpis()
        except (ValueError, OSError):
            return None
        if len(df) and set(factors) <= set(df.columns):
            return df
    return None


def _study_info(directory: Path) -> dict:
    try:
        return json.loads((directory / "study.json").read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class _Study:
    """The tables of a sensitivity study's results directory, read once."""

    indices: pd.DataFrame
    noise: pd.DataFrame | None
    noise_note: str | None
    conv: pd.DataFrame | None
    per_factor: pd.DataFrame
    factors: list[str]
    outputs: list[str]
    labels: dict[str, str]
    info: dict
    present: set[str]
    method: str
    sample: pd.DataFrame | None


def _load_study(directory: Path) -> _Study:
    indices = read_table(directory / "indices.csv")
    need = {"output", "factor", "index", "value"}
    if not need <= set(indices.columns):
        raise ReportError(
            f"indices.csv lacks the columns {', '.join(sorted(need - set(indices.columns)))}"
        )
    noise = _read_csv(directory / "noise_share.csv")
    if (
        noise is not None
        and not pd.to_numeric(noise.get("noise_share"), errors="coerce").notna().any()
    ):
        noise_note = "Replicate noise was not measured (one replicate per sample row)."
    else:
        noise_note = None
    per_factor = factor_rows(indices)
    factors = list(dict.fromkeys(per_factor["factor"]))
    present = set(indices["index"])
    if "method" in indices and indices["method"].notna().any():
        method = str(indices["method"].dropna().iloc[0])
    else:
        method = "sobol" if {"S1", "ST"} & present else ("morris" if "mu_star" in present else "?")
    return _Study(
        indices=indices,
        noise=noise,
        noise_note=noise_note,
        conv=_read_csv(directory / "convergence.csv"),
        per_factor=per_factor,
        factors=factors,
        outputs=order_outputs(per_factor["output"].unique()),
        labels={f: factor_label(f) for f in factors},
        info=_study_info(directory),
        present=present,
        method=method,
        sample=sample_table(directory, factors),
    )


def _design_rows(s: _Study) -> list[tuple[str, str]]:
    """Method, factors, outputs, sizes and seeds of the study for "What was run"."""
    decl = s.info.get("declaration") or {}
    labels, indices = s.labels, s.indices
    extra = [
        ("method", s.method),
        ("factors", ", ".join(f"{labels[f]} ({f})" if labels[f] != f else f for f in s.factors)),
        ("outputs", ", ".join(s.outputs)),
    ]
    n = int(indices["n"].max()) if "n" in indices and indices["n"].notna().any() else None
    if n:
        extra.append(("base sample size N", f"{s.info.get('base_n', n):,}"))
    if decl.get("replicates") is not None:
        extra.append(("replicates per sample row", str(decl["replicates"])))
    if s.sample is not None:
        extra.append(("model runs", f"{len(s.sample):,}"))
    cl = next((c for c in ("conf_level", "confidence_level") if c in indices), None)
    if cl and indices[cl].notna().any():
        v = num(indices[cl].dropna().iloc[0])
        extra.append(
            (
                "'conf' is the half-width of the",
                f"{v:.0%} interval" if v < 1 else f"{v:g}% interval",
            )
        )
    if s.info.get("crn") is not None:
        extra.append(("common random numbers", "on" if s.info["crn"] else "off"))
    return extra


def _discovery_target(
    s: _Study, outcome: str | None, target: str | None
) -> tuple[str | None, list[str]]:
    """The target of scenario discovery (None: no discovery) and the line that states it."""
    if outcome is not None and outcome not in BY_NAME:
        raise ReportError(f"invalid --outcome {outcome!r}: allowed a KPI name")
    outcome = outcome or (s.outputs[0] if s.outputs and s.outputs[0] in BY_NAME else None)
    if s.sample is not None and outcome in s.sample.columns:
        note = ""
        if target is None:
            q = float(s.sample[outcome].quantile(0.75))
            target = f"{outcome} >= {q:.6g}"
            note = f" (default: the top quarter of runs by {kpi_label(outcome)})"
        return target, [f"Target for scenario discovery: '{target}'{note}."]
    if target is not None:
        raise ReportError(
            "--target needs the per-run sample of the study (samples.csv), which this directory lacks"
        )
    return None, []


def report_sensitivity(
    rep: Report, directory: Path, *, outcome: str | None = None, target: str | None = None
) -> None:
    s = _load_study(directory)
    seeds = s.sample["seed"].tolist() if s.sample is not None and "seed" in s.sample else []
    cfg = what_was_run(rep, directory, seeds=seeds, extra=_design_rows(s))
    window = window_from_cfg(cfg)
    if (directory / "summary.md").is_file():
        rep.pre((directory / "summary.md").read_text(), "summary.md written by cxsim sensitivity")
    target, discovery = _discovery_target(s, outcome, target)

    rep.h2("Main findings")
    findings = sensitivity_findings(s.indices, None if s.noise_note else s.noise, s.outputs, window)
    if s.noise_note:
        findings.append(s.noise_note)
    findings_at = rep.reserve()  # filled once scenario discovery has run

    rep.h2("Results")
    _index_figures(rep, s, window)
    _index_tables(rep, s)
    if target is not None:
        discovery += discovery_section(rep, s.sample, s.factors, target, {}, s.labels)
    rep.fill(findings_at, findings + discovery)


def _index_figures(rep: Report, s: _Study, window: Window | None = None) -> None:
    """Indices (and S2 or Morris) figures of the first outputs, and convergence."""
    from analysis import sensitivity_plots as sp

    indices, labels = s.indices, s.labels
    for o in s.outputs[:MAX_FIGURE_OUTPUTS]:
        covers = f" (the run-level KPI {kpi_scope(o, window)})" if o in BY_NAME else ""
        rep.try_figure(
            lambda o=o: sp.indices_plot(indices, o, labels=labels),
            f"indices_{o}",
            f"Sensitivity indices of {kpi_label(o)}{covers} with their confidence intervals "
            "(± conf).",
        )
        if "S2" in s.present:
            rep.try_figure(
                lambda o=o: sp.s2_heatmap(indices, o, labels=labels),
                f"s2_{o}",
                f"Second-order (pairwise interaction) Sobol indices S2 of {kpi_label(o)}.",
            )
        if {"mu_star", "sigma"} <= s.present:
            rep.try_figure(
                lambda o=o: sp.morris_plot(indices, o, labels=labels),
                f"morris_{o}",
                f"Morris screening of {kpi_label(o)}: mean absolute effect vs its spread.",
            )
    if len(s.outputs) > MAX_FIGURE_OUTPUTS:
        rep.p(
            f"Figures are shown for the first {MAX_FIGURE_OUTPUTS} outputs; the table lists all of them.",
            "note",
        )
    if s.conv is not None and len(s.conv):
        rep.try_figure(
            lambda: sp.convergence_plot(s.conv, labels=labels),
            "convergence",
            "Convergence: index estimates against the base sample size (they should settle and the "
            "bands narrow).",
        )


def _index_tables(rep: Report, s: _Study) -> None:
    rep.h3("Indices")
    show = s.indices.copy()
    for c in ("value", "conf"):
        if c in show:
            show[c] = show[c].map(lambda v: fmt(num(v), 3))
    cols = [c for c in ("output", "factor", "index", "value", "conf", "n", "level") if c in show]
    rep.table(
        show[cols],
        left=("output", "factor", "index", "level"),
        collapsed=f"All {len(show)} index values",
    )
    if s.noise is not None:
        rep.h3("Replicate noise")
        rep.table(s.noise, left=tuple(s.noise.columns[:1]))


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path) if path.is_file() else None
    except (OSError, ValueError):
        return None
