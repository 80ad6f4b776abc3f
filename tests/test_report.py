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
    pct = abs(100 * row["diff"] / ref["mean"])
    verb = "lowers" if row["diff"] < 0 else "raises"
    from analysis.stats import fmt

    assert (
        f"Scenario outage {verb} firm value by {fmt(pct)}%" in text
    )  # generated from the numbers
    assert "distinguishable from noise (3 paired replicates)" in text
    assert "common random numbers" in text and "runs in the store" in text
    stems = [p.stem for p in sorted((d / "figures").glob("*.png"))]
    assert stems[:2] == ["01_forest_headline", "02_forest_other"]
    assert "03_kpi_bands" in stems and "04_nps_outage" in stems


def test_sensitivity_report(results):
    d = results / "sa"
    assert cli([str(d)]) == 0
    text = check_self_contained(d, results)
    idx = factor_rows(pd.read_csv(d / "indices.csv"))
    s1 = (
        idx[(idx["output"] == "firm_value") & (idx["index"] == "S1")]
        .sort_values("value")
        .iloc[-1]
    )
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
        "diff": 1.5,
        "diff_ci_low": -0.5,
        "diff_ci_high": 3.5,
        "distinguishable": False,
        "n_diff": 5,
    }
    s = diff_sentence("x", "baseline", "nps", row, 20.0)
    assert s.startswith("Scenario x raises NPS by 1.50 points (95% CI -0.500 to +3.50 points)")
    assert "not distinguishable from noise" in s
    row = {
        "diff": 0.02,
        "diff_ci_low": 0.01,
        "diff_ci_high": 0.03,
        "distinguishable": True,
        "n_diff": 5,
    }
    assert "by 2.00 percentage points" in diff_sentence("x", "b", "market_share", row, 0.5)


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
    assert "no detectable total effect" in lines[1] and "market.x" in lines[1]
    assert "unreliable" not in " ".join(lines)
    noisy = idx.assign(conf=0.9)
    assert "unreliable" in sensitivity_findings(noisy)[0]


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
