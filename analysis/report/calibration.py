"""The report of a calibration (``cxsim calibrate``): the holdout forecast beside BG/NBD's, the
posterior (means, 90% credible intervals, correlations), the posterior-predictive tracking
plots, the ABC-SMC run and the calibrated firm's overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.report.document import Report
from analysis.report.text import ReportError


def _pct(x: float) -> str:
    return f"{x:+.1f}%"


def findings(info: dict) -> list[str]:
    f = info.get("forecast") or {}
    c = info["cohort"]
    out = [
        f"Calibrated on weeks 1–{info['calibration_weeks']} of {Path(info['source']).name}: "
        f"{c['customers']:,} customers, simulated as a cohort of {c['simulated_customers']:,} "
        f"(scale {c['scale']:g}; counts scaled back). ABC-SMC: {info['abc']['generations']} "
        f"generations of {info['abc']['population']} particles, {info['abc']['simulations']:,} "
        "simulations.",
    ]
    if f.get("holdout_weeks"):
        s, b = f["simulator"], f["bgnbd"]
        closer = abs(s["error_pct"]) < abs(b["error_pct"])
        out.append(
            f"Holdout, weeks {f['weeks'][0]}–{f['weeks'][1]}: {f['actual']:,.0f} repeat transactions "
            f"observed. The simulator forecasts {s['forecast']:,.0f} ({_pct(s['error_pct'])}; 90% "
            f"interval {s['lo90']:,.0f}–{s['hi90']:,.0f}, which "
            f"{'holds' if s['actual_inside_90'] else 'misses'} the actual); BG/NBD fitted on the same "
            f"window forecasts {b['forecast']:,.0f} ({_pct(b['error_pct'])}). The simulator is "
            f"{'closer' if closer else 'further off'} than BG/NBD."
        )
        out.append(
            f"The observed cumulative curve lies inside the simulator's 90% band in "
            f"{100 * f['cumulative_inside_band_share']:.0f}% of the weeks."
        )
    else:
        out.append("No holdout: the fit is shown on the calibration window only.")
    return out


def report_calibration(rep: Report, directory: Path) -> None:
    from experiments.calibrate.outputs import posterior_fig, tracking_fig

    try:
        info = json.loads((directory / "calibration.json").read_text())
        pred = pd.read_csv(directory / "predictive.csv")
        post = pd.read_csv(directory / "posterior.csv")
        pops = pd.read_csv(directory / "populations.csv")
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read the calibration results in {directory}: {exc}") from None
    names = tuple(p["name"] for p in info["priors"])
    rep.h2("Findings")
    rep.bullets(findings(info), "findings")
    rep.h2("Holdout forecast: simulator and BG/NBD")
    f = info.get("forecast") or {}
    bg = info["bgnbd"]["parameters"]
    rows = []
    if f.get("holdout_weeks"):
        s, b = f["simulator"], f["bgnbd"]
        rows = [
            ("observed", f"{f['actual']:,.0f}", "", ""),
            (
                "simulator (posterior predictive)",
                f"{s['forecast']:,.0f}",
                _pct(s["error_pct"]),
                f"{s['lo90']:,.0f}–{s['hi90']:,.0f}",
            ),
            ("BG/NBD (maximum likelihood)", f"{b['forecast']:,.0f}", _pct(b["error_pct"]), ""),
        ]
        rep.table(
            pd.DataFrame(rows, columns=["", "repeat transactions", "error", "90% interval"]),
            left=[""],
        )
    rep.p(
        f"BG/NBD on the calibration window: r = {bg['r']:.3f}, α = {bg['alpha']:.3f}, "
        f"a = {bg['a']:.3f}, b = {bg['b']:.3f} (log-likelihood {bg['loglik']:,.1f})."
    )
    cal = int(info["calibration_weeks"])
    weekly = pred[["week"] + [c for c in pred.columns if c.startswith("weekly_")]].rename(
        columns=lambda c: c.replace("weekly_", "")
    )
    cum = pred[["week"] + [c for c in pred.columns if c.startswith("cumulative_")]].rename(
        columns=lambda c: c.replace("cumulative_", "")
    )
    rep.try_figure(
        lambda: tracking_fig(weekly, cum, cal, ""),
        "tracking",
        "Repeat transactions per week (left) and cumulative (right): observed (black), the simulator's "
        "posterior-predictive mean and 90% band (blue), BG/NBD (red, dashed); calibration window "
        "shaded blue, holdout orange.",
    )
    rep.h2("Posterior")
    p = info["posterior"]["parameters"]
    rep.table(
        pd.DataFrame(
            [
                (
                    n,
                    f"{p[n]['mean']:.4g}",
                    f"{p[n]['sd']:.3g}",
                    f"{p[n]['q05']:.4g} – {p[n]['q95']:.4g}",
                    f"{p[n]['q50']:.4g}",
                )
                for n in names
            ],
            columns=["parameter", "mean", "sd", "90% credible interval", "median (calibrated)"],
        ),
        left=["parameter"],
    )
    rep.try_figure(
        lambda: posterior_fig(post, names, info["posterior"]),
        "posterior",
        "Weighted marginal posteriors: mean (solid), 90% credible interval (dotted).",
    )
    corr = pd.DataFrame(info["posterior"]["correlation"]).loc[list(names), list(names)]
    corr.insert(0, "parameter", list(names))
    rep.table(corr.round(2), left=["parameter"], collapsed="Posterior correlations")
    rep.h2("ABC-SMC")
    rep.p(
        f"{len(pops)} generations; executor {info['abc']['executor']}; "
        f"{info['abc']['seconds']:.0f} s for the ABC, {info['predictive']['seconds']:.0f} s for "
        f"{info['predictive']['draws']} posterior-predictive runs"
        + (
            f"; resumed after {info['abc']['resumed_from']} generations"
            if info["abc"]["resumed_from"]
            else ""
        )
        + "."
    )
    rep.table(pops.round(4), left=[], collapsed="Generations (populations.csv)")
    over = (
        (directory / "calibrated.yaml").read_text()
        if (directory / "calibrated.yaml").is_file()
        else ""
    )
    if over:
        rep.pre(over, "The calibrated firm (calibrated.yaml: cxsim <command> calibration=DIR)")
