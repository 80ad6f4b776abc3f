"""The report of a scenario comparison (``cxsim compare``): paired differences from the
reference scenario, forest plots and time-series bands over replicates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.document import Report
from analysis.report.findings import comparison_findings
from analysis.report.provenance import (
    RERUN,
    load_config,
    load_overrides,
    read_table,
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
    """``comparison.csv`` and ``runs.csv`` (empty when absent), checked to be whole: every
    scenario with the same KPI rows, the scenarios the study declared, and no KPI averaged
    over more runs than runs.csv holds (or over fewer for all of a scenario's KPIs)."""
    table = read_table(directory / "comparison.csv")
    need = {"scenario", "kpi", "n", "mean", "diff", "diff_ci_low", "diff_ci_high"}
    if not need <= set(table.columns):
        raise ReportError(
            f"comparison.csv lacks the columns {', '.join(sorted(need - set(table.columns)))}"
        )
    runs = (
        read_table(directory / "runs.csv") if (directory / "runs.csv").is_file() else pd.DataFrame()
    )
    _check_complete(table, runs, load_config(directory)[0])
    return table, runs


def _truncated(why: str) -> ReportError:
    return ReportError(f"comparison.csv is incomplete or truncated: {why}; {RERUN}")


def _check_complete(table: pd.DataFrame, runs: pd.DataFrame, cfg: dict | None) -> None:
    if table[["scenario", "kpi"]].isna().any(axis=None) or table["n"].isna().any():
        raise _truncated("a row lacks its scenario, KPI or n (a cut line)")
    scenarios = list(dict.fromkeys(table["scenario"].astype(str)))
    declared = (cfg or {}).get("scenarios")
    if isinstance(declared, list) and declared and scenarios != [str(x) for x in declared]:
        raise _truncated(
            f"it holds the scenarios {', '.join(scenarios)}, the study declared "
            f"{', '.join(map(str, declared))}"
        )
    if len(scenarios) < 2:
        raise _truncated(f"it holds only the scenario {scenarios[0]}")
    kpis = list(dict.fromkeys(table["kpi"].astype(str)))
    for sc in scenarios:
        have = set(table.loc[table["scenario"] == sc, "kpi"].astype(str))
        missing = [k for k in kpis if k not in have]
        if missing:
            shown = ", ".join(missing[:4]) + (", …" if len(missing) > 4 else "")
            raise _truncated(
                f"scenario {sc} lacks {len(missing)} of the {len(kpis)} KPI rows ({shown})"
            )
    _check_kpis(kpis, runs, cfg)
    if runs.empty or "scenario" not in runs:
        return
    counts = runs["scenario"].astype(str).value_counts()
    if set(counts.index) != set(scenarios):
        raise _truncated(
            f"runs.csv holds the scenarios {', '.join(counts.index)}, comparison.csv "
            f"{', '.join(scenarios)}"
        )
    for sc in scenarios:
        n = pd.to_numeric(table.loc[table["scenario"] == sc, "n"], errors="coerce")
        if n.max() != counts[sc] or n.isna().any():
            most = "n/a" if n.isna().all() else str(int(n.max()))
            raise _truncated(
                f"scenario {sc} has {counts[sc]} run{'s' if counts[sc] != 1 else ''} in "
                f"runs.csv but its KPIs are averaged over up to {most} runs"
            )


def _check_kpis(kpis: list[str], runs: pd.DataFrame, cfg: dict | None) -> None:
    """The KPIs the study reported: ``output.kpis`` when it lists them, else every run-level
    KPI of runs.csv (a table cut between two KPIs lacks the last ones in every scenario)."""
    from sim.kpis import RUN

    declared = ((cfg or {}).get("output") or {}).get("kpis")
    if isinstance(declared, list) and declared:
        expected = [str(k) for k in declared]
    else:
        expected = [c for c in runs.columns if c in RUN]
    missing = [k for k in expected if k not in kpis]
    if missing:
        shown = ", ".join(missing[:4]) + (", …" if len(missing) > 4 else "")
        raise _truncated(f"it lacks the rows of {len(missing)} KPIs of the study ({shown})")


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
