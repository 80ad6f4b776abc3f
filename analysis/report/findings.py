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
    Window,
    capital,
    define_cu,
    factor_label,
    kpi_label,
    kpi_scope,
    num,
    signed,
    span,
    truthy,
    weeks_long,
    window_sentence,
    with_unit,
)
from analysis.stats import fmt
from sim.kpis import BY_NAME


def run_findings(
    ts: pd.DataFrame,
    kpis: Mapping[str, Any],
    shocks: Sequence[Mapping],
    burn_in: int = 0,
    tolerance: float | None = None,
    window: Window | None = None,
) -> list[str]:
    """Findings of one run: the weekly path, then the run-level KPIs of the evaluation window
    (weeks ``burn_in + 1`` to the end), said in words; ``tolerance`` is the run's
    ``mechanism.recovery_tolerance``."""
    out = []
    n = len(ts)
    if n and "nps" in ts:
        a, b = float(ts["nps"].iloc[0]), float(ts["nps"].iloc[-1])
        out.append(
            f"Over {n} weeks the focal firm's true NPS went from {fmt(a)} to {fmt(b)} points "
            f"(lowest {fmt(float(ts['nps'].min()))} in week {int(ts.loc[ts['nps'].idxmin(), 'step'])})."
        )
    if window is not None:
        burn_in = window.burn_in
    last = window.last if window is not None else n
    weeks = f"weeks {min(burn_in + 1, n)}–{last}"
    txt_window = weeks + (f", after {weeks_long(burn_in)} burn-in" if burn_in else "")
    if "nps" in kpis:
        out.append(
            f"Over the evaluation window ({txt_window}) the true NPS averaged {fmt(num(kpis.get('nps')))} points, "
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
            f"Firm value {fmt(num(kpis['firm_value']))} cu (discounted profit of {weeks} plus the "
            f"customer equity left at the window's end, {fmt(num(kpis.get('customer_equity')))} cu); profit over the window "
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
        bits.append(_run_recovery(rec, tolerance))
        if math.isfinite(dnps):
            bits.append(
                f"NPS during the shock and the weeks after it {fmt(dnps)} points against the same seed without shocks"
            )
        if math.isfinite(loss):
            bits.append(
                f"it cost {fmt(loss)} cu of firm value against the same seed without shocks"
            )
        out.append(txt + ": " + "; ".join(bits) + ".")
    return define_cu(out)


def _run_recovery(rec: float, tolerance: float | None) -> str:
    tol = _tolerance(tolerance)
    if not math.isfinite(rec):
        return f"NPS not back within {tol} of the same seed's run without the shock by the end"
    if rec == 0:
        return f"NPS never fell more than {tol} below the run without the shock"
    return (
        f"NPS back within {tol} of the same seed's run without the shock {fmt(rec)} weeks "
        "after the shock started"
    )


def _diff_scale(kpi: str, row: Mapping[str, Any], ref_mean: float) -> tuple[float, str]:
    """How a paired difference is shown: (factor, suffix) — relative to the reference's mean
    for money and counts, in points or percentage points otherwise."""
    unit = BY_NAME[kpi].unit if kpi in BY_NAME else str(row.get("unit", ""))
    if unit.startswith(("cu", "customers", "messages", "per week", "purchases")) and ref_mean > 0:
        return 100.0 / ref_mean, "%"
    if "share" in unit:
        return 100.0, " percentage points"
    if unit.startswith("%"):
        return 1.0, " percentage points"
    if unit.startswith("points"):
        return 1.0, " points"
    return 1.0, f" {unit}" if unit else ""


def diff_sentence(
    scenario: str,
    reference: str,
    kpi: str,
    row: Mapping[str, Any],
    ref_mean: float,
    level: float = 0.95,
    window: Window | None = None,
) -> str:
    """The paired difference of one KPI in words. The verb ('lowers', 'raises') is used only
    when the interval excludes 0:

    'Scenario outage lowers firm value over weeks 53–104 by 3.2% (95% CI 2.1–4.3%) relative to
    baseline, distinguishable from noise (10 paired replicates).'
    'Scenario outage: no distinguishable change in firm value over weeks 53–104 relative to
    baseline (estimate -1.02%, 95% CI -3.13 to +1.10%, 10 paired replicates).'
    """
    d, lo, hi = num(row["diff"]), num(row["diff_ci_low"]), num(row["diff_ci_high"])
    n = int(num(row.get("n_diff", row.get("n", 0))) or 0)
    scale, suffix = _diff_scale(kpi, row, ref_mean)
    d, lo, hi = d * scale, lo * scale, hi * scale
    what = kpi_label(kpi) + (f" {kpi_scope(kpi, window)}" if window is not None else "")
    reps = f"{n} paired replicate{'s' if n != 1 else ''}"
    if not math.isfinite(d):
        return f"{capital(what)}: no paired difference between {scenario} and {reference}."
    if d == 0 and lo == 0 and hi == 0:
        return (
            f"Scenario {scenario} leaves {what} unchanged relative to {reference} in every "
            f"replicate ({reps})."
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (
            f"Scenario {scenario}: no distinguishable change in {what} relative to {reference} "
            f"(estimate {signed(d)}{suffix}; no interval: fewer than two replicates)."
        )
    if lo <= 0 <= hi:  # the interval includes 0: no direction can be claimed
        return (
            f"Scenario {scenario}: no distinguishable change in {what} relative to {reference} "
            f"(estimate {signed(d)}{suffix}, {level:.0%} CI {signed(lo)} to {signed(hi)}{suffix}, "
            f"{reps})."
        )
    verb = "lowers" if hi < 0 else "raises"
    a, b = sorted((abs(lo), abs(hi)))
    return (
        f"Scenario {scenario} {verb} {what} by {fmt(abs(d))}{suffix} ({level:.0%} CI "
        f"{fmt(a)}–{fmt(b)}{suffix}) relative to {reference}, distinguishable from noise ({reps})."
    )


def comparison_findings(
    table: pd.DataFrame,
    level: float = 0.95,
    window: Window | None = None,
    tolerance: float | None = None,
) -> list[str]:
    """The comparison's findings: what the KPIs cover, the headline differences per scenario,
    the other distinguishable KPIs and the shock KPIs (each with its own n)."""
    scenarios = list(dict.fromkeys(table["scenario"]))
    reference = scenarios[0]
    means = table.set_index(["scenario", "kpi"])["mean"]
    out = [window_sentence(window)]
    kpis_present = list(dict.fromkeys(table["kpi"]))
    for s in scenarios[1:]:
        rows = table[table["scenario"] == s].set_index("kpi")
        for k in [k for k in HEADLINE if k in rows.index][:4]:
            out.append(
                diff_sentence(
                    s, reference, k, rows.loc[k], num(means.get((reference, k))), level, window
                )
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
        shock = _shock_finding(s, rows, level, tolerance)
        if shock:
            out.append(shock)
    return define_cu(out)


def _replicates(n: int) -> str:
    return f"{n} replicate{'s' if n != 1 else ''}"


def _shock_finding(
    scenario: str, rows: pd.DataFrame, level: float, tolerance: float | None
) -> str | None:
    """Detection, recovery and cost of the shocks of one scenario; every statistic says how
    many replicates it averages (a latency or a recovery time exists only in some)."""
    total = int(num(rows["n"].max())) if "n" in rows and len(rows) else 0

    def stat(k: str):
        if k not in rows.index or not num(rows.loc[k, "n"]) > 0:
            return None
        r = rows.loc[k]
        if not math.isfinite(num(r["mean"])):
            return None
        n = int(num(r["n"]))
        ci = (
            f", {level:.0%} CI {span(num(r['ci_low']), num(r['ci_high']))}"
            if math.isfinite(num(r.get("ci_low"))) and math.isfinite(num(r.get("ci_high")))
            else ""
        )
        of = f"mean of {_replicates(n)}" if n == total else f"mean of {n} of {total} replicates"
        return num(r["mean"]), n, of, ci

    bits = []
    lat = stat("detection_latency")
    if lat:
        v, n, of, ci = lat
        which = "" if n == total else " in which the alarm detected the shock"
        bits.append(
            f"the firm's first alarm came {fmt(v)} weeks after the shock started ({of}{which}{ci})"
        )
    bits += _recovery_bits(stat("recovery_time"), total, tolerance)
    loss = stat("shock_loss")
    if loss:
        v, n, of, ci = loss
        bits.append(
            f"the shock cost {fmt(v)} cu of firm value against the same seeds without it ({of}{ci})"
        )
    return f"In scenario {scenario}: " + "; ".join(bits) + "." if bits else None


def _recovery_bits(rec, total: int, tolerance: float | None) -> list[str]:
    """Recovery of NPS in words; 0 weeks means NPS never fell far enough to need recovering."""
    if rec is None:
        return []
    v, n, of, ci = rec
    tol = _tolerance(tolerance)
    rest = (
        ""
        if n == total
        else f"; in the other {total - n} NPS had not recovered by the end of the run, or no "
        "shock occurred"
    )
    if v == 0:
        where = "in every replicate" if n == total else f"in {n} of {total} replicates"
        return [f"NPS never fell more than {tol} below the run without the shock ({where}{rest})"]
    return [
        f"NPS was back within {tol} of the same seeds' runs without the shock {fmt(v)} weeks "
        f"after the shock started ({of}{ci}{rest})"
    ]


def _tolerance(tolerance: float | None) -> str:
    """'3 points (mechanism.recovery_tolerance)'."""
    if tolerance is None:
        from sim.params import MechanismParams

        tolerance = MechanismParams().recovery_tolerance
    return f"{fmt(float(tolerance))} points (mechanism.recovery_tolerance)"


def sensitivity_findings(
    indices: pd.DataFrame,
    noise: pd.DataFrame | None = None,
    outputs: Sequence[str] | None = None,
    window: Window | None = None,
) -> list[str]:
    """Per output: the largest first-order and total indices (or Morris effects) and the
    group indices; then replicate noise. With ``window``, model KPIs name the weeks they
    cover and the first line says what the run-level KPIs are."""
    out = []
    outputs = outputs or order_outputs(indices["output"].unique())
    if window is not None and any(o in BY_NAME for o in outputs):
        out.append(window_sentence(window))
    per_factor = factor_rows(indices)
    per_group = factor_rows(indices, "group") if "level" in indices.columns else indices.iloc[:0]
    for o in outputs:
        d = per_factor[per_factor["output"] == o]
        groups = per_group[per_group["output"] == o]
        present = set(d["index"])
        name = kpi_label(o) + (f" {kpi_scope(o, window)}" if window and o in BY_NAME else "")
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
    """The factor with the largest ST and the factors without a detectable total effect (ST
    interval reaching 0). The top factor is never listed as idle: when its own interval
    reaches 0 the sentence says so instead of claiming a share."""
    st = d[d["index"] == "ST"].sort_values("value", ascending=False)
    idle = {r["factor"] for _, r in st.iterrows() if _reaches_zero(r)}
    top = st.iloc[0]
    detectable = st[~st["factor"].isin(idle)]
    if top["factor"] not in idle:
        txt = (
            f"Including interactions, {factor_label(top['factor'])} accounts for "
            f"{_pct_pm(top)} of the variance of {name} (total index ST)"
        )
        if idle:
            txt += "; no detectable total effect (the ST interval reaches 0): " + ", ".join(
                factor_label(f) for f in st["factor"] if f in idle
            )
    elif detectable.empty:
        txt = (
            f"Including interactions, no factor has a detectable total effect on {name}: every "
            f"total index (ST) interval reaches 0 (largest estimate {factor_label(top['factor'])} "
            f"{_pct_pm(top)})"
        )
    else:
        txt = (
            f"Including interactions, the largest total index (ST) of {name} is "
            f"{factor_label(top['factor'])}'s {_pct_pm(top)}, but its interval reaches 0; "
            "detectable total effects: "
            + ", ".join(
                f"{factor_label(r['factor'])} {_pct_pm(r)}" for _, r in detectable.iterrows()
            )
        )
    if _unreliable(top):
        txt += " (unreliable estimate: more samples are needed)"
    return txt + "."


def _reaches_zero(row: Mapping[str, Any]) -> bool:
    """Whether an index's interval reaches 0 (within 1 percentage point)."""
    c = num(row.get("conf"))
    return num(row["value"]) - (c if math.isfinite(c) else 0) <= 0.01


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
    window: Window | None = None,
) -> list[str]:
    """The best and worst grid points for ``outcome`` and where the target is met."""
    from analysis.stats import mean_ci

    out = [window_sentence(window)]
    g = sweep.assign(_met=met.astype(float).to_numpy()).groupby(list(levers), sort=True)
    stats_ = g.agg(mean=(outcome, "mean"), share=("_met", "mean"))
    best_key = stats_["mean"].idxmax()
    best_key = best_key if isinstance(best_key, tuple) else (best_key,)
    at_best = pd.Series(True, index=sweep.index)
    for k, v in zip(levers, best_key, strict=True):
        at_best &= sweep[k] == v
    best = sweep[at_best]
    ci = mean_ci(best[outcome])
    where = ", ".join(f"{labels.get(k, k)} = {v}" for k, v in zip(levers, best_key, strict=True))
    what = f"{kpi_label(outcome)} {kpi_scope(outcome, window)}"
    out.append(
        f"The highest mean {what} is {with_unit(ci.mean, outcome)} (95% CI "
        f"{span(ci.low, ci.high)}, {len(best)} runs) at {where}."
    )
    worst = stats_["mean"].idxmin()
    worst = worst if isinstance(worst, tuple) else (worst,)
    out.append(
        f"The lowest is {with_unit(float(stats_['mean'].min()), outcome)} at "
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
    return define_cu(out)
