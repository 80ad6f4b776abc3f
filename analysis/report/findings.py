"""The plain-language findings of every kind of report, generated from the numbers alone
(no figures, no files): one function per result kind plus their shared phrasing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.report.text import (
    HEADLINE,
    SHOCK_KPIS,
    capital,
    factor_label,
    kpi_label,
    num,
    signed,
    span,
    truthy,
)
from analysis.stats import fmt
from sim.kpis import BY_NAME


def run_findings(
    ts: pd.DataFrame, kpis: Mapping[str, Any], shocks: Sequence[Mapping], burn_in: int = 0
) -> list[str]:
    """Findings of one run: the weekly path, then the run-level KPIs of the evaluation window
    (weeks ``burn_in + 1`` to the end), said in words."""
    out = []
    n = len(ts)
    if n and "nps" in ts:
        a, b = float(ts["nps"].iloc[0]), float(ts["nps"].iloc[-1])
        out.append(
            f"Over {n} weeks the focal firm's true NPS went from {fmt(a)} to {fmt(b)} points "
            f"(lowest {fmt(float(ts['nps'].min()))} in week {int(ts.loc[ts['nps'].idxmin(), 'step'])})."
        )
    window = f"weeks {min(burn_in + 1, n)}–{n}" + (f", after a {burn_in}-week burn-in" if burn_in else "")
    if "nps" in kpis:
        out.append(
            f"Over the evaluation window ({window}) the true NPS averaged {fmt(num(kpis.get('nps')))} points, "
            f"the firm measured {fmt(num(kpis.get('measured_nps')))} on average, and annual churn was "
            f"{fmt(100 * num(kpis.get('annual_churn')))}%."
        )
    if "measured_nps" in ts and ts["measured_nps"].notna().any():
        err = (ts["measured_nps"] - ts["nps"]).abs()
        out.append(
            f"The firm's surveys measured NPS with a mean absolute error of {fmt(float(err.mean()))} points "
            f"over all {n} weeks."
        )
    if "firm_value" in kpis:
        out.append(
            f"Firm value {fmt(num(kpis['firm_value']))} cu (discounted profit of {window} plus the customer "
            f"equity left at the end, {fmt(num(kpis.get('customer_equity')))} cu); profit over the window "
            f"{fmt(num(kpis.get('total_profit')))} cu, cumulative profit since week 1 "
            f"{fmt(num(kpis.get('cumulative_profit')))} cu; market share at the end "
            f"{fmt(100 * num(kpis.get('final_market_share')))}%, "
            f"{fmt(num(kpis.get('final_active_customers')))} customers."
        )
    if "alarm" in ts:
        out.append(
            f"The firm's measurements raised an alarm in {int((ts['alarm'] > 0).sum())} of {n} weeks."
        )
    for s in shocks:
        txt = f"Shock: {s.get('kind')} from week {s['start']} (scheduled until week {s['end'] - 1})"
        rate, lat, rec, dnps, loss = (num(kpis.get(k)) for k in SHOCK_KPIS)
        bits = []
        if math.isfinite(lat):
            bits.append(f"first alarm {fmt(lat)} weeks after its start")
        elif math.isfinite(rate):
            bits.append("the firm's alarm did not detect it")
        bits.append(
            f"NPS back to its pre-shock level after {fmt(rec)} weeks"
            if math.isfinite(rec)
            else "NPS not back to its pre-shock level by the end"
        )
        if math.isfinite(dnps):
            bits.append(
                f"NPS during the shock and the weeks after it {fmt(dnps)} points against the same seed without shocks"
            )
        if math.isfinite(loss):
            bits.append(f"it cost {fmt(loss)} cu of firm value against the same seed without shocks")
        out.append(txt + ": " + "; ".join(bits) + ".")
    return out


def diff_sentence(
    scenario: str,
    reference: str,
    kpi: str,
    row: Mapping[str, Any],
    ref_mean: float,
    level: float = 0.95,
) -> str:
    """'Scenario outage lowers cumulative profit by 3.2% (95% CI 2.1–4.3%) relative to baseline,
    distinguishable from noise (10 paired replicates).'"""
    d, lo, hi = num(row["diff"]), num(row["diff_ci_low"]), num(row["diff_ci_high"])
    n = int(num(row.get("n_diff", row.get("n", 0))) or 0)
    unit = BY_NAME[kpi].unit if kpi in BY_NAME else str(row.get("unit", ""))
    if unit.startswith(("cu", "customers", "messages", "per week", "purchases")) and ref_mean > 0:
        scale, suffix = 100.0 / ref_mean, "%"
    elif "share" in unit:
        scale, suffix = 100.0, " percentage points"
    elif unit.startswith("%"):
        scale, suffix = 1.0, " percentage points"
    elif unit.startswith("points"):
        scale, suffix = 1.0, " points"
    else:
        scale, suffix = 1.0, f" {unit}" if unit else ""
    d, lo, hi = d * scale, lo * scale, hi * scale
    if not math.isfinite(d):
        return (
            f"{capital(kpi_label(kpi))}: no paired difference between {scenario} and {reference}."
        )
    if d == 0 and lo == 0 and hi == 0:
        return f"Scenario {scenario} leaves {kpi_label(kpi)} unchanged relative to {reference} in every replicate."
    verb = "lowers" if d < 0 else "raises"
    if math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0):
        a, b = sorted((abs(lo), abs(hi)))
        ci = f"{level:.0%} CI {fmt(a)}–{fmt(b)}{suffix}"
    elif math.isfinite(lo) and math.isfinite(hi):
        ci = f"{level:.0%} CI {signed(lo)} to {signed(hi)}{suffix}"
    else:
        ci = "no interval: fewer than two replicates"
    verdict = (
        "distinguishable from noise"
        if truthy(row.get("distinguishable"))
        else "not distinguishable from noise"
    )
    return (
        f"Scenario {scenario} {verb} {kpi_label(kpi)} by {fmt(abs(d))}{suffix} ({ci}) relative to {reference}, "
        f"{verdict} ({n} paired replicates)."
    )


def comparison_findings(table: pd.DataFrame, level: float = 0.95) -> list[str]:
    scenarios = list(dict.fromkeys(table["scenario"]))
    reference = scenarios[0]
    means = table.set_index(["scenario", "kpi"])["mean"]
    out = []
    kpis_present = list(dict.fromkeys(table["kpi"]))
    for s in scenarios[1:]:
        rows = table[table["scenario"] == s].set_index("kpi")
        for k in [k for k in HEADLINE if k in rows.index][:4]:
            out.append(
                diff_sentence(s, reference, k, rows.loc[k], num(means.get((reference, k))), level)
            )
        other = [
            k
            for k in kpis_present
            if k not in HEADLINE[:4]
            and k in rows.index
            and k not in SHOCK_KPIS
            and truthy(rows.loc[k, "distinguishable"])
        ]
        if other:
            out.append(
                f"Scenario {s} also differs distinguishably from {reference} in: "
                + ", ".join(kpi_label(k) for k in other)
                + "."
            )
        shock_bits = []
        for k, what in (
            ("detection_latency", "the firm's first alarm came {v} weeks after the shock started"),
            ("recovery_time", "NPS recovered to its pre-shock level after {v} weeks"),
            (
                "shock_loss",
                "the shock cost {v} cu of cumulative profit against the same seeds without it",
            ),
        ):
            if (
                k in rows.index
                and num(rows.loc[k, "n"]) > 0
                and math.isfinite(num(rows.loc[k, "mean"]))
            ):
                r = rows.loc[k]
                ci = (
                    f" ({level:.0%} CI {span(num(r['ci_low']), num(r['ci_high']))})"
                    if math.isfinite(num(r["ci_low"]))
                    else ""
                )
                shock_bits.append(what.format(v=fmt(num(r["mean"]))) + ci)
        if shock_bits:
            out.append(
                f"In scenario {s}, on average over {int(num(rows.loc['recovery_time', 'n']) if 'recovery_time' in rows.index else 0) or 'its'} replicates: "
                + "; ".join(shock_bits)
                + "."
            )
    return out


def sensitivity_findings(
    indices: pd.DataFrame, noise: pd.DataFrame | None = None, outputs: Sequence[str] | None = None
) -> list[str]:
    out = []
    outputs = outputs or order_outputs(indices["output"].unique())
    per_factor = factor_rows(indices)
    per_group = factor_rows(indices, "group") if "level" in indices.columns else indices.iloc[:0]
    for o in outputs:
        d = per_factor[per_factor["output"] == o]
        groups = per_group[per_group["output"] == o]
        present = set(d["index"])
        name = kpi_label(o)
        if not present and groups.empty:
            continue
        if "S1" in present:
            out.append(_first_order_finding(d, name, noise is not None))
        if "ST" in present:
            out.append(_total_finding(d, name))
        if "mu_star" in present and "S1" not in present:
            out.append(_morris_finding(d, name))
        out.extend(_group_findings(groups, name))
    if noise is not None and len(noise):
        out.extend(_noise_findings(noise))
    return out


def _first_order_finding(d: pd.DataFrame, name: str, noisy: bool) -> str:
    """The two factors with the largest S1 and how much the first-order effects explain."""
    s1 = d[d["index"] == "S1"].sort_values("value", ascending=False)
    shown = s1.iloc[:2]
    parts = [f"{factor_label(r['factor'])} {_pct_pm(r)}" for _, r in shown.iterrows()]
    top = shown.iloc[0]
    txt = f"{factor_label(top['factor'])} explains {_pct_pm(top)} of the variance of {name}"
    if len(shown) > 1:
        txt += f", {parts[1]}"
    total = float(s1["value"].clip(lower=0).sum())
    if total > 1.05:
        txt += "; the first-order indices sum to more than 100%, an estimation artefact"
    elif total < 0.9:
        txt += (
            f"; first-order effects together explain {100 * total:.0f}%, the remaining "
            f"{100 * (1 - total):.0f}% comes from interactions between factors"
            + (" and replicate noise" if noisy else "")
        )
    else:
        txt += f"; first-order effects together explain {100 * total:.0f}%: the factors act almost additively"
    if any(_unreliable(r) for _, r in shown.iterrows()) or total > 1.05:
        txt += (
            " (these estimates are unreliable: intervals as wide as the values or values outside "
            "0–100%; more samples are needed)"
        )
    return txt + "."


def _total_finding(d: pd.DataFrame, name: str) -> str:
    """The factor with the largest ST, and the factors without a detectable total effect."""
    st = d[d["index"] == "ST"].sort_values("value", ascending=False)
    idle = [
        factor_label(r["factor"])
        for _, r in st.iterrows()
        if num(r["value"]) - (num(r.get("conf")) if math.isfinite(num(r.get("conf"))) else 0)
        <= 0.01
    ]
    top = st.iloc[0]
    txt = (
        f"Including interactions, {factor_label(top['factor'])} accounts for "
        f"{_pct_pm(top)} of the variance of {name} (total index ST)"
    )
    if idle:
        txt += "; no detectable total effect (the ST interval reaches 0): " + ", ".join(idle)
    if _unreliable(top):
        txt += " (unreliable estimate: more samples are needed)"
    return txt + "."


def _morris_finding(d: pd.DataFrame, name: str) -> str:
    """The factor with the largest mu*, and whether its effect looks linear (sigma/mu*)."""
    mu = d[d["index"] == "mu_star"].sort_values("value", ascending=False)
    top = mu.iloc[0]
    sig = d[(d["index"] == "sigma") & (d["factor"] == top["factor"])]["value"]
    txt = (
        f"{factor_label(top['factor'])} has the largest elementary effects on {name} "
        f"(mu* = {fmt(num(top['value']))}"
    )
    if len(sig):
        ratio = num(sig.iloc[0]) / num(top["value"]) if num(top["value"]) else math.nan
        txt += f", sigma/mu* = {fmt(ratio, 2)}"
        txt += (
            "; a ratio above 0.5 suggests non-linear or interacting effects)"
            if ratio > 0.5
            else "; a ratio below 0.5 suggests a nearly linear, additive effect)"
        )
    else:
        txt += ")"
    return txt + "."


def _group_findings(groups: pd.DataFrame, name: str) -> list[str]:
    """One line per output on the closed indices of the factor groups (level "group")."""
    st = groups[groups["index"] == "ST"].sort_values("value", ascending=False)
    s1 = groups[groups["index"] == "S1"].set_index("factor")
    if st.empty:
        return []
    parts = []
    for _, r in st.iterrows():
        part = f"the {r['factor']} group {_pct_pm(r)} in total"
        if r["factor"] in s1.index:
            part += f" ({_pct_pm(s1.loc[r['factor']])} on its own)"
        parts.append(part)
    txt = f"By group, the variance of {name} is explained by " + "; ".join(parts)
    if any(_unreliable(r) for _, r in groups[groups["index"].isin(["S1", "ST"])].iterrows()):
        txt += " (unreliable estimates: intervals as wide as the values or values outside 0–100%; more samples are needed)"
    return [txt + "."]


def _pct_pm(row: Mapping[str, Any]) -> str:
    """'41% (±6%)' from an index row (value, conf as shares)."""
    v, c = num(row["value"]), num(row.get("conf"))
    return f"{100 * v:.0f}%" + (f" (±{100 * c:.0f}%)" if math.isfinite(c) else "")


def _unreliable(row: Mapping[str, Any]) -> bool:
    v, c = num(row["value"]), num(row.get("conf"))
    return (math.isfinite(c) and c >= max(abs(v), 0.05)) or v > 1.05 or v < -0.05


def _noise_findings(noise: pd.DataFrame) -> list[str]:
    """Lines about replicate noise from ``noise_share.csv`` (column names are read loosely:
    an output column and a share column)."""
    cols = {c.lower(): c for c in noise.columns}
    oc = cols.get("output") or cols.get("kpi")
    sc = next((cols[c] for c in ("noise_share", "share", "value") if c in cols), None)
    if oc is None or sc is None:
        return []
    out = []
    for o, v in zip(noise[oc], noise[sc], strict=True):
        v = num(v)
        if math.isfinite(v):
            out.append(
                f"Replicate noise (different seeds at the same factor values) of {kpi_label(str(o))} has "
                f"{100 * v:.0f}% of the variance of its replicate-averaged values across the sample"
                + ("; the indices of this output are dominated by noise." if v > 0.5 else ".")
            )
    return out


def order_outputs(outputs: Iterable[str]) -> list[str]:
    outputs = list(dict.fromkeys(outputs))
    return [o for o in HEADLINE if o in outputs] + [o for o in outputs if o not in HEADLINE]


def factor_rows(indices: pd.DataFrame, level: str = "factor") -> pd.DataFrame:
    """Per-factor (or per-group) rows of an indices table: ``level`` column when it says
    factor/group, S2 pairs left out."""
    d = indices[indices["factor"].notna() & (indices["index"] != "S2")]
    if "level" in d and d["level"].astype(str).isin(["factor", "group"]).any():
        d = d[d["level"].astype(str) == level]
    return d


def sweep_findings(
    sweep: pd.DataFrame,
    levers: Sequence[str],
    outcome: str,
    target: str,
    met: pd.Series,
    labels: Mapping[str, str],
    default_target: bool,
) -> list[str]:
    from analysis.stats import mean_ci

    out = []
    g = sweep.assign(_met=met.astype(float).to_numpy()).groupby(list(levers), sort=True)
    stats_ = g.agg(mean=(outcome, "mean"), share=("_met", "mean"))
    best_key = stats_["mean"].idxmax()
    best_key = best_key if isinstance(best_key, tuple) else (best_key,)
    best = g.get_group(best_key if len(best_key) > 1 else best_key[0])
    ci = mean_ci(best[outcome])
    where = ", ".join(f"{labels.get(k, k)} = {v}" for k, v in zip(levers, best_key, strict=True))
    out.append(
        f"The highest mean {kpi_label(outcome)} is {fmt(ci.mean)} (95% CI {span(ci.low, ci.high)}, "
        f"{len(best)} runs) at {where}."
    )
    worst = stats_["mean"].idxmin()
    worst = worst if isinstance(worst, tuple) else (worst,)
    out.append(
        f"The lowest is {fmt(float(stats_['mean'].min()))} at "
        + ", ".join(f"{labels.get(k, k)} = {v}" for k, v in zip(levers, worst, strict=True))
        + "."
    )
    n_ok = int((stats_["share"] >= 0.5).sum())
    tgt = f"the target '{target}'" + (
        " (default: at least the baseline cell's mean)" if default_target else ""
    )
    out.append(
        f"{capital(tgt)} is met in at least half of the replicates at {n_ok} of {len(stats_)} grid points."
    )
    return out
