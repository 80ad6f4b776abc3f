"""The report of a scenario comparison (``cxsim compare``): paired differences from the
reference scenario, forest plots and time-series bands over replicates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.document import Report
from analysis.report.findings import comparison_findings
from analysis.report.provenance import (
    load_overrides,
    recovery_tolerance,
    shocks_from_cfg,
    what_was_run,
)
from analysis.report.text import (
    HEADLINE,
    SHOCK_KPIS,
    ReportError,
    Window,
    num,
    truthy,
    window_from_cfg,
    window_words,
)
from analysis.stats import fmt


def _comparison_timeseries(directory: Path, runs: pd.DataFrame) -> pd.DataFrame | None:
    if not (directory / "store").is_dir() or "key" not in runs:
        return None
    from experiments.store import RunStore

    store = RunStore(directory / "store")
    frames = []
    for r in runs.itertuples():
        ts = store.timeseries(r.key)
        if ts is not None:
            frames.append(ts.assign(scenario=r.scenario, seed=r.seed))
    return pd.concat(frames, ignore_index=True) if frames else None


def _scenario_shocks(directory: Path, scenario: str) -> tuple[list[dict], str | None]:
    """The scheduled shocks of ``scenario`` under the study's overrides, and why there are
    none if its configuration cannot be composed any more (it may have changed since)."""
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import compose

    overrides = [
        o for o in load_overrides(directory) if not o.startswith(("scenario=", "+scenario="))
    ]
    try:
        cfg = compose([*overrides, f"scenario={scenario}"])
        return shocks_from_cfg(OmegaConf.to_container(cfg, resolve=True)), None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        return [], f"{type(exc).__name__}: {exc}"


def _read_comparison(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``comparison.csv`` (checked) and ``runs.csv`` (empty when absent)."""
    table = pd.read_csv(directory / "comparison.csv")
    need = {"scenario", "kpi", "mean", "diff", "diff_ci_low", "diff_ci_high"}
    if not need <= set(table.columns):
        raise ReportError(
            f"comparison.csv lacks the columns {', '.join(sorted(need - set(table.columns)))}"
        )
    runs = (
        pd.read_csv(directory / "runs.csv")
        if (directory / "runs.csv").is_file()
        else pd.DataFrame()
    )
    return table, runs


def report_comparison(rep: Report, directory: Path) -> None:
    table, runs = _read_comparison(directory)
    scenarios = list(dict.fromkeys(table["scenario"]))
    reference = scenarios[0]
    reps = int(table["n"].max()) if "n" in table else 0
    cfg = what_was_run(
        rep,
        directory,
        seeds=runs["seed"].tolist() if "seed" in runs else [],
        extra=[
            ("scenarios", ", ".join(scenarios) + f" (reference: {reference})"),
            ("replicates per scenario", str(reps)),
            ("pairing", "common random numbers: replicate i uses the same seed in every scenario"),
        ],
    )
    _scenario_descriptions(rep, scenarios)
    rep.h2("Main findings")
    window = window_from_cfg(cfg)
    rep.bullets(
        comparison_findings(table, window=window, tolerance=recovery_tolerance(cfg)), "findings"
    )
    rep.p(
        f"Differences are paired by seed (scenario − {reference}, replicate by replicate); percentages "
        f"are relative to {reference}'s mean; 'distinguishable from noise' means the 95% interval of the "
        "paired difference excludes zero.",
        "meta",
    )
    rep.h2("Results")
    rep.h3("Paired differences from the reference")
    kpis = [k for k in dict.fromkeys(table["kpi"]) if k not in SHOCK_KPIS]
    head = [k for k in HEADLINE if k in kpis] or kpis
    _forest_figures(rep, table, reference, head, [k for k in kpis if k not in head], window)
    rep.h3("Table")
    _difference_tables(rep, table, reference, head)
    data = _comparison_timeseries(directory, runs) if len(runs) else None
    if data is not None:
        _timeseries_figures(rep, directory, data, scenarios, window)
    else:
        rep.p(
            "The run store holds no weekly time series for these runs: time-series figures are left out.",
            "note",
        )


def _scenario_descriptions(rep: Report, scenarios: list[str]) -> None:
    import yaml

    from experiments.scenarios import scenario_library

    try:
        lib = scenario_library()
    except (OSError, yaml.YAMLError, AttributeError) as exc:  # the library may have changed
        rep.p(f"The scenario library could not be read ({type(exc).__name__}: {exc}).", "note")
        return
    rep.table(
        pd.DataFrame([(s, lib.get(s, "")) for s in scenarios], columns=["scenario", "description"]),
        left=("scenario", "description"),
    )


def _forest_figures(
    rep: Report,
    table: pd.DataFrame,
    reference: str,
    head: list[str],
    rest: list[str],
    window: Window | None,
) -> None:
    from analysis.compare_plots import forest_plot

    covers = (
        f"Run-level KPIs over {window_words(window)}; cumulative profit, CLV and final_* at the "
        "end of the run, shock KPIs over the whole run."
    )

    rep.try_figure(
        lambda: forest_plot(
            table,
            reference,
            kpis=head,
            ncols=3,
            title=f"Scenario − {reference}, paired by seed (95% CI)",
        ),
        "forest_headline",
        f"Paired differences of the headline KPIs from {reference} with 95% "
        f"confidence intervals over replicates (red: distinguishable from noise). {covers}",
    )
    if rest:
        rep.try_figure(
            lambda: forest_plot(table, reference, kpis=rest, ncols=4),
            "forest_other",
            f"Paired differences of the other KPIs from {reference}. {covers}",
        )


def _interval(m: object, a: object, b: object) -> str:
    return f"{fmt(num(m))} [{fmt(num(a))}, {fmt(num(b))}]"


def _difference_tables(rep: Report, table: pd.DataFrame, reference: str, head: list[str]) -> None:
    """The headline KPIs' table and, collapsed, the table of all KPIs."""
    show = table.copy()
    show["mean [95% CI]"] = [
        _interval(m, a, b)
        for m, a, b in zip(
            show["mean"],
            show.get("ci_low", show["mean"]),
            show.get("ci_high", show["mean"]),
            strict=True,
        )
    ]
    show["diff [95% CI]"] = [
        ("(reference)" if s == reference else _interval(d, a, b))
        for s, d, a, b in zip(
            show["scenario"], show["diff"], show["diff_ci_low"], show["diff_ci_high"], strict=True
        )
    ]
    show["distinguishable"] = [
        ("" if s == reference else ("yes" if truthy(v) else "no"))
        for s, v in zip(show["scenario"], show.get("distinguishable", False), strict=True)
    ]
    cols = ["kpi", "unit", "scenario", "n", "mean [95% CI]", "diff [95% CI]", "distinguishable"]
    cols = [c for c in cols if c in show]
    headtab = show[show["kpi"].isin(head)]
    rep.table(headtab[cols], left=("kpi", "unit", "scenario"))
    rep.table(
        show[cols], left=("kpi", "unit", "scenario"), collapsed=f"All {show['kpi'].nunique()} KPIs"
    )


def _timeseries_figures(
    rep: Report, directory: Path, data: pd.DataFrame, scenarios: list[str], window: Window | None
) -> None:
    from analysis import plots

    weeks = (
        f"every week of the run (1–{window.steps}; the evaluation window is weeks "
        f"{window.first}–{window.last})"
        if window
        else "every week of the run"
    )
    rep.h3("Time series across replicates")
    rep.try_figure(
        lambda: plots.kpi_bands(data, group="scenario"),
        "kpi_bands",
        "Weekly KPIs per scenario: mean over replicates (line), 95% CI of the mean (dark band) "
        f"and the central 90% of the replicates (light band), over {weeks}.",
    )
    for s in scenarios:
        shocks, problem = _scenario_shocks(directory, s)
        if problem:
            rep.p(f"Scenario {s}: shocks not marked, its configuration failed ({problem}).", "note")
        if not shocks:
            continue
        mean_ts = (
            data[data["scenario"] == s].groupby("step", as_index=False).mean(numeric_only=True)
        )
        rep.try_figure(
            lambda m=mean_ts, sh=shocks, s=s: plots.nps_measured_vs_true(
                m, sh, title=f"True vs measured NPS, scenario {s} (mean of replicates)"
            ),
            f"nps_{s}",
            f"Scenario {s}: true and measured NPS (means over replicates) over {weeks}, shocks "
            "shaded; ticks mark weeks in which at least one replicate's firm raised an alarm.",
        )
