"""`cxsim report`: self-contained HTML reports of small real runs of every kind of study.

The results are made by the real commands (``cxsim run``, ``compare``, ``sweep`` and
``sensitivity``) in a subprocess, as a user would.  Every test of this module shares one
xdist group, so the results are made once per test session.
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import (
    cli,
    detect_kind,
    diff_sentence,
    factor_label,
    factor_rows,
    sample_table,
    sensitivity_findings,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("report")]
CXSIM = [sys.executable, "-m", "experiments.cli"]
SMALL = ["population.n_customers=200", "executor=serial", "evaluation.burn_in=8"]


def cxsim(*args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run(
        [*CXSIM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("results")
    cxsim(
        "run",
        "scenario=outage",
        "steps=70",
        "evaluation.burn_in=8",
        "population.n_customers=300",
        f"hydra.run.dir={base / 'run'}",
        cwd=base,
    )
    cxsim(
        "compare",
        "scenarios=[baseline,outage]",
        "replicates=3",
        "steps=70",
        *SMALL,
        f"hydra.run.dir={base / 'cmp'}",
        cwd=base,
    )
    cxsim(
        "sweep",
        "sweep.grid={firm.support.human:[0.2,0.8],firm.policy.omnichannel:[0,1]}",
        "replicates=2",
        "steps=20",
        *SMALL,
        f"hydra.run.dir={base / 'sweep'}",
        cwd=base,
    )
    cxsim(
        "sensitivity",
        "sensitivity=smoke",
        "steps=10",
        "evaluation.burn_in=4",
        "population.n_customers=100",
        "executor=serial",
        f"hydra.run.dir={base / 'sa'}",
        cwd=base,
    )
    return base


def check_self_contained(directory: Path, machine_path: Path) -> str:
    """The report exists, embeds exactly the figures written, and loads nothing from outside."""
    text = (directory / "report.html").read_text()
    embedded = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    pngs = sorted((directory / "figures").glob("*.png"))
    svgs = sorted((directory / "figures").glob("*.svg"))
    assert len(embedded) == text.count("<img ") == len(pngs) == len(svgs) > 0
    assert [base64.b64decode(e) for e in embedded] == [p.read_bytes() for p in pngs]
    assert [p.stem for p in pngs] == [p.stem for p in svgs]
    for svg in svgs:
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:2000]
    assert "http://" not in text and "https://" not in text
    assert not re.search(r'(src|href)="(?!data:|#)', text)  # only embedded data and in-page anchors
    assert (
        "<script" not in text
        and "<link" not in text
        and "@import" not in text
        and "url(" not in text
    )
    assert str(machine_path) not in text  # no machine paths in the report
    for section in ("What was run", "Main findings", "Results"):
        assert f">{section}</h2>" in text
    return text


def test_detect_kind(results):
    assert detect_kind(results / "run") == "run"
    assert detect_kind(results / "cmp") == "comparison"
    assert detect_kind(results / "sweep") == "sweep"
    assert detect_kind(results / "sa") == "sensitivity"
    assert detect_kind(results) is None


def test_single_run_report(results, capsys):
    d = results / "run"
    assert cli([str(d)]) == 0
    assert "report.html" in capsys.readouterr().out
    text = check_self_contained(d, results)
    names = [p.stem for p in sorted((d / "figures").glob("*.png"))]
    assert names == [
        "01_kpi_timeseries",
        "02_nps_measured_vs_true",
        "03_state_distributions",
        "04_customer_flows",
        "05_journey_heatmap",
    ]
    assert "reproduced the stored time series exactly" in text
    assert "Shock: outage from week 60" in text
    assert "python 3." in text and "mesa " in text and "cxsim " in text
    assert "population:" in text  # the configuration is included
    # rebuilding replaces the figures instead of adding to them
    assert cli([str(d), "--no-simulate"]) == 0
    assert len(list((d / "figures").glob("*.png"))) == 2
    check_self_contained(d, results)


def test_comparison_report(results):
    d = results / "cmp"
    assert cli([str(d)]) == 0
    text = check_self_contained(d, results)
    table = pd.read_csv(d / "comparison.csv")
    row = table[(table["scenario"] == "outage") & (table["kpi"] == "firm_value")].iloc[0]
    ref = table[(table["scenario"] == "baseline") & (table["kpi"] == "firm_value")].iloc[0]
    pct = 100 * row["diff"] / ref["mean"]
    from analysis.stats import fmt

    if row["diff_ci_low"] > 0 or row["diff_ci_high"] < 0:  # generated from the numbers
        verb = "lowers" if row["diff"] < 0 else "raises"
        assert f"Scenario outage {verb} firm value over weeks 9–70 by {fmt(abs(pct))}%" in text
    else:
        sign = "+" if pct > 0 else ""
        assert (
            "Scenario outage: no distinguishable change in firm value over weeks 9–70 relative "
            f"to baseline (estimate {sign}{fmt(pct)}%" in text
        )
    assert "3 paired replicates" in text
    assert "after an 8-week burn-in" in text and "Money is in cu: currency units" in text
    assert "evaluation window of the run-level KPIs" in text
    assert "common random numbers" in text and "runs in the store" in text
    stems = [p.stem for p in sorted((d / "figures").glob("*.png"))]
    assert stems[:2] == ["01_forest_headline", "02_forest_other"]
    assert "03_kpi_bands" in stems and "04_nps_outage" in stems


def test_sensitivity_report(results):
    d = results / "sa"
    assert cli([str(d)]) == 0
    text = check_self_contained(d, results)
    idx = factor_rows(pd.read_csv(d / "indices.csv"))
    s1 = idx[(idx["output"] == "firm_value") & (idx["index"] == "S1")].sort_values("value").iloc[-1]
    assert (
        f"{factor_label(s1['factor'])} explains {100 * s1['value']:.0f}% (±{100 * s1['conf']:.0f}%) of the variance "
        "of firm value" in text
    )
    stems = [p.stem for p in sorted((d / "figures").glob("*.png"))]
    assert stems[0] == "01_indices_firm_value"
    # the smoke study is Sobol with second order and nested sizes, and keeps its per-run sample
    assert len(pd.read_csv(d / "convergence.csv"))
    assert any(s.endswith("convergence") for s in stems)
    assert "S2" in set(pd.read_csv(d / "indices.csv")["index"])
    assert any(s.endswith("s2_firm_value") for s in stems)
    factors = list(dict.fromkeys(idx["factor"]))
    assert sample_table(d, factors) is not None  # the per-run sample: scenario discovery on it
    assert "Scenario discovery (PRIM)" in text and "top quarter of runs" in text
    assert any(s.endswith("prim_box") for s in stems)


def test_sweep_report_with_whatif_map_and_discovery(results):
    d = results / "sweep"
    target = "nps >= base_nps and cumulative_profit >= base_cumulative_profit"
    assert cli([str(d), "--target", target]) == 0
    text = check_self_contained(d, results)
    stems = [p.stem for p in sorted((d / "figures").glob("*.png"))]
    assert stems[:2] == ["01_whatif_map", "02_whatif_map_nps"]
    assert "03_main_effects" in stems
    assert html.escape(target) in text
    assert "Human-resources support" in text


def test_bad_directories_and_arguments_one_line_exit_2(results, tmp_path, capsys):
    assert cli([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such directory" in err[0]
    assert cli([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no recognisable results" in err[0]
    assert not (tmp_path / "report.html").exists()
    assert cli([]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    sweep = tmp_path / "sw"
    shutil.copytree(results / "sweep", sweep)
    assert cli([str(sweep), "--target", "no_such_kpi > 1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid target" in err[0]
    assert cli([str(results / "cmp"), "--target", "nps > 0"]) == 2


def _cut_comparison(d):
    lines = (d / "comparison.csv").read_text().splitlines()
    (d / "comparison.csv").write_text("\n".join(lines[: len(lines) // 3]) + "\n")


def _drop_one_kpi_row(d):
    t = pd.read_csv(d / "comparison.csv")
    t.drop(t.index[(t["scenario"] == "outage") & (t["kpi"] == "nps")]).to_csv(
        d / "comparison.csv", index=False
    )


def _inflate_n(d):
    t = pd.read_csv(d / "comparison.csv")
    t.loc[t["kpi"] == "nps", "n"] = 5
    t.to_csv(d / "comparison.csv", index=False)


def _fewer_runs(d):
    runs = pd.read_csv(d / "runs.csv")
    runs.iloc[:-1].to_csv(d / "runs.csv", index=False)


def _cut_between_kpis(d):
    lines = (d / "comparison.csv").read_text().splitlines()
    (d / "comparison.csv").write_text("\n".join(lines[:5]) + "\n")  # header + 2 whole KPIs


@pytest.mark.parametrize(
    ("kind", "spoil", "message"),
    [
        ("cmp", _cut_comparison, "comparison.csv is incomplete or truncated"),
        ("cmp", _drop_one_kpi_row, "scenario outage lacks 1 of the"),
        ("cmp", _cut_between_kpis, "it lacks the rows of"),
        ("cmp", _inflate_n, "runs in runs.csv but its KPIs are averaged over up to 5 runs"),
        ("cmp", _fewer_runs, "runs in runs.csv but its KPIs are averaged over up to 3 runs"),
        ("cmp", lambda d: (d / "comparison.csv").write_text(""), "comparison.csv is empty"),
        ("cmp", lambda d: (d / "runs.csv").write_text('a,b\n1,2,3\n"x'), "runs.csv cannot be read"),
        (
            "sweep",
            lambda d: (d / "sweep.csv").write_text(
                (d / "sweep.csv").read_text().splitlines()[0] + "\n"
            ),
            "sweep.csv holds no rows (only its header)",
        ),
        ("sweep", lambda d: (d / "sweep.csv").write_bytes(b""), "sweep.csv is empty"),
        (
            "sweep",
            lambda d: pd.read_csv(d / "sweep.csv").iloc[:5].to_csv(d / "sweep.csv", index=False),
            "it holds 5 runs, the sweep declared 4 grid points x 2 replicates = 8",
        ),
        (
            "sa",
            lambda d: (d / "indices.csv").write_text("output,factor,index,value\n"),
            "indices.csv holds no rows",
        ),
        ("run", lambda d: (d / "kpis.json").write_text('{"nps": 1'), "kpis.json cannot be read"),
        (
            "run",
            lambda d: (d / "timeseries.parquet").write_bytes(b"PAR1"),
            "timeseries.parquet cannot be read",
        ),
    ],
)
def test_truncated_or_empty_inputs_are_refused_in_one_line(
    results, tmp_path, capsys, kind, spoil, message
):
    """Issue 17: a truncated comparison.csv was reported as if whole (exit 0); an empty
    sweep.csv said 'cannot convert float NaN to integer'."""
    d = tmp_path / kind
    shutil.copytree(results / kind, d, ignore=shutil.ignore_patterns("report.html", "figures"))
    spoil(d)
    assert cli([str(d), "--no-simulate"] if kind == "run" else [str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cxsim report: error: ") and message in err[0], err
    assert "hydra.run.dir" in err[0] or "lacks" in err[0]
    assert not (d / "report.html").exists()


def test_report_through_the_cxsim_command(results, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(results / "run", d)
    r = subprocess.run(
        [*CXSIM, "report", str(d), "--no-simulate"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert r.returncode == 0, r.stderr
    assert (d / "report.html").is_file()
    r = subprocess.run(
        [*CXSIM, "report", str(tmp_path / "nothing")], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_report_renders_offline_in_headless_chromium(results, tmp_path):
    if not shutil.which("chromium"):
        reason = "headless Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: this test must run)")
        pytest.skip(reason)
    d = tmp_path / "cmp"
    shutil.copytree(results / "cmp", d)
    assert cli([str(d)]) == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            shutil.which("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            (d / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] == 1400 and img.shape[1] == 1000
    assert img[..., :3].std() > 0.05  # text and figures, not a blank page


# ------------------------------------------------------------------------------ findings text
def test_diff_sentence_relative_and_absolute():
    row = {
        "diff": -3.2,
        "diff_ci_low": -4.3,
        "diff_ci_high": -2.1,
        "distinguishable": True,
        "n_diff": 10,
    }
    s = diff_sentence("outage", "baseline", "cumulative_profit", row, 100.0)
    assert s == (
        "Scenario outage lowers cumulative profit by 3.20% (95% CI 2.10–4.30%) relative to baseline, "
        "distinguishable from noise (10 paired replicates)."
    )
    row = {
        "diff": 0.02,
        "diff_ci_low": 0.01,
        "diff_ci_high": 0.03,
        "distinguishable": True,
        "n_diff": 5,
    }
    assert "raises market share by 2.00 percentage points" in diff_sentence(
        "x", "b", "market_share", row, 0.5
    )


def test_diff_sentence_no_verb_when_the_interval_includes_zero():
    """Issue 17: 'lowers cumulative profit by 1.02% (95% CI -3.13 to +1.10%)' contradicted its
    own interval; an interval that includes 0 gets no direction."""
    row = {
        "diff": -1.02,
        "diff_ci_low": -3.13,
        "diff_ci_high": 1.10,
        "distinguishable": False,
        "n_diff": 10,
    }
    s = diff_sentence("outage", "baseline", "cumulative_profit", row, 100.0)
    assert s == (
        "Scenario outage: no distinguishable change in cumulative profit relative to baseline "
        "(estimate -1.02%, 95% CI -3.13 to +1.10%, 10 paired replicates)."
    )
    assert "lowers" not in s and "raises" not in s
    row = {
        "diff": 1.5,
        "diff_ci_low": -0.5,
        "diff_ci_high": 3.5,
        "distinguishable": False,
        "n_diff": 5,
    }
    s = diff_sentence("x", "baseline", "nps", row, 20.0)
    assert s.startswith("Scenario x: no distinguishable change in NPS relative to baseline")
    assert "(estimate +1.50 points, 95% CI -0.500 to +3.50 points, 5 paired replicates)" in s
    # a bound exactly at 0 is not an excluded 0
    row = {"diff": 1.0, "diff_ci_low": 0.0, "diff_ci_high": 2.0, "n_diff": 5}
    assert "no distinguishable change" in diff_sentence("x", "b", "nps", row, 20.0)
    # no interval: no direction either
    row = {"diff": 1.0, "diff_ci_low": float("nan"), "diff_ci_high": float("nan"), "n_diff": 1}
    s = diff_sentence("x", "b", "nps", row, 20.0)
    assert "no distinguishable change" in s and "fewer than two replicates" in s


def test_diff_sentence_names_the_weeks_each_kpi_covers():
    from analysis.report.text import Window

    w = Window(first=53, last=104, burn_in=52, steps=104)
    row = {"diff": -3.2, "diff_ci_low": -4.3, "diff_ci_high": -2.1, "n_diff": 10}
    assert diff_sentence("o", "b", "firm_value", row, 100.0, window=w).startswith(
        "Scenario o lowers firm value over weeks 53–104 by 3.20%"
    )
    assert diff_sentence("o", "b", "cumulative_profit", row, 100.0, window=w).startswith(
        "Scenario o lowers cumulative profit at the end of the run (week 104) by 3.20%"
    )


def _comparison_table(recovery, detection_n=3):
    """A comparison table of two scenarios x (firm value, shock KPIs)."""
    nan = float("nan")
    rows = [
        ("baseline", "firm_value", "cu", 3, 100.0, 0.0, 0.0, 0.0, False),
        ("outage", "firm_value", "cu", 3, 95.0, -5.0, -7.0, -3.0, True),
        ("baseline", "detection_latency", "weeks", 0, nan, nan, nan, nan, False),
        ("outage", "detection_latency", "weeks", detection_n, 3.0, nan, nan, nan, False),
        ("baseline", "recovery_time", "weeks", 0, nan, nan, nan, nan, False),
        ("outage", "recovery_time", "weeks", *recovery, nan, nan, nan, False),
        ("baseline", "shock_loss", "cu", 0, nan, nan, nan, nan, False),
        ("outage", "shock_loss", "cu", 3, 800.0, nan, nan, nan, False),
    ]
    t = pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "kpi",
            "unit",
            "n",
            "mean",
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "distinguishable",
        ],
    )
    return t.assign(ci_low=t["mean"] - 1, ci_high=t["mean"] + 1)


def test_comparison_findings_give_each_statistic_its_own_n():
    """Issue 17: 'on average over 4 replicates' covered statistics with n = 5."""
    from analysis.report import comparison_findings

    lines = comparison_findings(_comparison_table((1, 10.0), detection_n=2))
    shock = next(x for x in lines if x.startswith("In scenario outage"))
    assert "on average over" not in shock
    assert (
        "first alarm came 3.00 weeks after the shock started (mean of 2 of 3 replicates in which the alarm detected the shock"
        in shock
    )
    assert (
        "back within 3.00 points (mechanism.recovery_tolerance) of the same seeds' runs without the shock 10.0 weeks"
        in shock
    )
    assert (
        "(mean of 1 of 3 replicates, 95% CI 9.00–11.0; in the other 2 NPS had not recovered by the end of the run"
        in shock
    )
    assert (
        "the shock cost 800 cu of firm value against the same seeds without it (mean of 3 replicates"
        in shock
    )


def test_recovery_when_nps_never_fell():
    """Issue 17: 'NPS recovered to its pre-shock level after 0 weeks' when it never moved."""
    from analysis.report import comparison_findings, run_findings

    t = _comparison_table((3, 0.0))
    t.loc[t["kpi"] == "recovery_time", ["ci_low", "ci_high"]] = 0.0
    shock = next(x for x in comparison_findings(t, tolerance=2.5) if x.startswith("In scenario"))
    assert (
        "NPS never fell more than 2.50 points (mechanism.recovery_tolerance) below the run without the shock (in every replicate)"
        in shock
    )
    assert (
        "pre-shock level" not in shock and "after 0 weeks" not in shock and " 0 weeks" not in shock
    )
    ts = pd.DataFrame({"step": [1, 2, 3], "nps": [10.0, 11.0, 12.0]})
    shocks = [{"kind": "outage", "start": 2, "end": 3}]
    kpis = {"recovery_time": 0.0, "detection_latency": 1.0, "shock_loss": 5.0}
    line = run_findings(ts, kpis, shocks, tolerance=3.0)[-1]
    assert (
        "NPS never fell more than 3.00 points (mechanism.recovery_tolerance) below the run without the shock"
        in line
    )
    kpis["recovery_time"] = 4.0
    assert (
        "NPS back within 3.00 points (mechanism.recovery_tolerance) of the same seed's run without the shock 4.00 weeks after"
        in run_findings(ts, kpis, shocks)[-1]
    )


def test_cu_is_defined_at_its_first_use():
    from analysis.report import comparison_findings, run_findings, sweep_findings
    from analysis.report.text import CU_MEANING

    def check(lines):
        first = next(i for i, x in enumerate(lines) if re.search(r"\bcu\b", x))
        assert f"Money is in cu: {CU_MEANING}." in lines[first]
        assert sum(CU_MEANING in x for x in lines) == 1

    check(comparison_findings(_comparison_table((3, 0.0))))
    ts = pd.DataFrame({"step": [1, 2], "nps": [1.0, 2.0]})
    check(run_findings(ts, {"nps": 1.0, "firm_value": 10.0, "annual_churn": 0.1}, []))
    sw = pd.DataFrame(
        {"firm.support.human": [0.2, 0.2, 0.8, 0.8], "firm_value": [1.0, 2.0, 3.0, 4.0]}
    )
    check(
        sweep_findings(
            sw, ["firm.support.human"], "firm_value", "t", pd.Series([0, 0, 1, 1]), {}, False
        )
    )
    assert CU_MEANING.startswith("currency units") and "abstract money" in CU_MEANING


def test_every_findings_list_says_which_weeks_it_covers():
    from analysis.report import comparison_findings, sweep_findings
    from analysis.report.text import Window

    w = Window(first=9, last=70, burn_in=8, steps=70)
    lines = comparison_findings(_comparison_table((3, 0.0)), window=w)
    assert lines[0].startswith(
        "Run-level KPIs cover the evaluation window (weeks 9–70, after an 8-week burn-in)"
    )
    assert "firm value over weeks 9–70" in lines[1]
    sw = pd.DataFrame({"firm.support.human": [0.2, 0.2, 0.8, 0.8], "nps": [1.0, 2.0, 3.0, 4.0]})
    lines = sweep_findings(
        sw, ["firm.support.human"], "nps", "t", pd.Series([0, 0, 1, 1]), {}, False, w
    )
    assert lines[0].startswith("Run-level KPIs cover the evaluation window (weeks 9–70")
    assert lines[1].startswith("The highest mean NPS over weeks 9–70 is 3.50 points")
    idx = pd.DataFrame(
        [
            ("nps", "firm.support.human", "S1", 0.5, 0.1),
            ("nps", "firm.support.human", "ST", 0.6, 0.1),
        ],
        columns=["output", "factor", "index", "value", "conf"],
    )
    lines = sensitivity_findings(idx, window=w)
    assert lines[0].startswith("Run-level KPIs cover the evaluation window (weeks 9–70")
    assert "of the variance of NPS over weeks 9–70" in lines[1]


def test_sensitivity_findings_from_numbers():
    idx = pd.DataFrame(
        [
            ("cumulative_profit", "firm.support.human", "S1", 0.41, 0.06),
            ("cumulative_profit", "firm.support.financial", "S1", 0.2, 0.03),
            ("cumulative_profit", "firm.support.human", "ST", 0.55, 0.05),
            ("cumulative_profit", "firm.support.financial", "ST", 0.3, 0.05),
            ("cumulative_profit", "market.x", "S1", 0.0, 0.01),
            ("cumulative_profit", "market.x", "ST", 0.0, 0.01),
        ],
        columns=["output", "factor", "index", "value", "conf"],
    )
    lines = sensitivity_findings(idx)
    assert lines[0].startswith(
        "Human-resources support explains 41% (±6%) of the variance of cumulative profit, "
        "Financial support 20% (±3%)"
    )
    assert "interactions" in lines[0]
    assert lines[1] == (
        "Including interactions, Human-resources support accounts for 55% (±5%) of the variance "
        "of cumulative profit (total index ST); no detectable total effect (the ST interval "
        "reaches 0): market.x."
    )
    assert "unreliable" not in " ".join(lines)
    noisy = idx.assign(conf=0.9)
    assert "unreliable" in sensitivity_findings(noisy)[0]


def _st(values):
    return pd.DataFrame(
        [("firm_value", f, "ST", v, c) for f, v, c in values],
        columns=["output", "factor", "index", "value", "conf"],
    )


def test_total_finding_never_lists_the_top_factor_as_idle():
    """Issue 17: 'Financial support accounts for 58% ... no detectable total effect: Financial
    support'."""
    idle_top = _st([("firm.support.financial", 0.58, 0.7), ("firm.support.human", 0.1, 0.2)])
    (line,) = sensitivity_findings(idle_top)
    assert line.startswith(
        "Including interactions, no factor has a detectable total effect on firm value: every "
        "total index (ST) interval reaches 0 (largest estimate Financial support 58% (±70%))"
    )
    assert "accounts for" not in line
    mixed = _st([("firm.support.financial", 0.58, 0.7), ("firm.support.human", 0.3, 0.1)])
    (line,) = sensitivity_findings(mixed)
    assert line.startswith(
        "Including interactions, the largest total index (ST) of firm value is Financial "
        "support's 58% (±70%), but its interval reaches 0; detectable total effects: "
        "Human-resources support 30% (±10%)"
    )
    clear = _st([("firm.support.financial", 0.58, 0.05), ("firm.support.human", 0.0, 0.01)])
    (line,) = sensitivity_findings(clear)
    assert "Financial support accounts for 58% (±5%)" in line
    assert line.split("no detectable total effect")[1].count("Financial") == 0


def test_sensitivity_findings_keep_group_indices_apart():
    """Group rows (level "group", factor = group name) must not be ranked among the factors;
    they get their own sentence."""
    rows = [
        ("nps", "firm.support.human", "S1", 0.30, 0.05, "factor"),
        ("nps", "firm.policy.omnichannel", "S1", 0.20, 0.05, "factor"),
        ("nps", "firm.support.human", "ST", 0.40, 0.05, "factor"),
        ("nps", "firm.policy.omnichannel", "ST", 0.25, 0.05, "factor"),
        ("nps", "support", "S1", 0.55, 0.04, "group"),
        ("nps", "policy", "S1", 0.30, 0.04, "group"),
        ("nps", "support", "ST", 0.66, 0.05, "group"),
        ("nps", "policy", "ST", 0.40, 0.05, "group"),
    ]
    idx = pd.DataFrame(rows, columns=["output", "factor", "index", "value", "conf", "level"])
    lines = sensitivity_findings(idx)
    assert lines[0].startswith("Human-resources support explains 30% (±5%) of the variance of")
    assert "support 55%" not in lines[0] and "policy" not in lines[1].split("accounts")[0].lower()
    assert lines[2] == (
        "By group, the variance of NPS is explained by the support group 66% (±5%) in total "
        "(55% (±4%) on its own); the policy group 40% (±5%) in total (30% (±4%) on its own)."
    )
    noisy = idx.assign(conf=0.9)
    assert "unreliable estimates" in sensitivity_findings(noisy)[-1]
