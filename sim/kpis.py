"""KPIs: each declared once with name, unit, definition and aggregation.

``series`` KPIs are recorded every week (columns of ``timeseries.parquet``). Run-level KPIs
(``kpis.json``, compare, sweep, sensitivity, reports) describe the **evaluation window**: the
weeks after ``evaluation.burn_in`` (and up to ``evaluation.window`` weeks of them). Each
series KPI declares how it becomes a run-level one (``agg``):

* ``mean`` — the window mean, under the same name (rates and scores: ``nps``, ``retention_rate``);
* ``sum`` — the window total, as ``total_<name>`` (money and count flows: ``total_profit``);
* ``last`` — the value at the end of the run, under the same name (stocks whose name says so:
  ``cumulative_profit``);
* ``final`` — both the window mean (same name) and the end value as ``final_<name>``.

``run`` KPIs are computed for the run as a whole (``firm_value``, ``annual_churn``, the
detection scores, the shock effects). KPIs are the focal firm's unless their name says
otherwise; weekly rates are per week. A KPI that is undefined (e.g. NPS of a firm with no
customers) is NaN, never 0; window means skip undefined weeks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KPI:
    name: str
    unit: str
    definition: str
    kind: str = "series"  # series (weekly) | run (one value per run)
    agg: str = "mean"  # series only: mean | sum | last | final (see the module docstring)


KPIS: tuple[KPI, ...] = (
    KPI(
        "nps",
        "points (-100..100)",
        "true Net Promoter Score: % of the focal firm's customers answering 9-10 minus % answering 0-6 (Reichheld 2003)",
    ),
    KPI(
        "csat",
        "% of customers",
        "true CSAT: share of the focal firm's customers whose last journey's satisfaction >= customer.csat_threshold",
    ),
    KPI(
        "ces",
        "1-7, lower is easier",
        "customer effort score: 1 + 6 x mean effort of the focal firm's customers' last journeys",
    ),
    KPI("retention_rate", "share per week", "1 - churn_rate"),
    KPI(
        "churn_rate",
        "share per week",
        "focal customers lost this week (left or switched) / focal customers at the start of the week",
    ),
    KPI(
        "active_customers",
        "customers",
        "number of the focal firm's customers at the end of the week",
        agg="final",
    ),
    KPI(
        "market_share", "share of customers", "focal customers / all firms' customers", agg="final"
    ),
    KPI("revenue", "cu per week", "focal firm's sales this week", agg="sum"),
    KPI(
        "profit",
        "cu per week",
        "revenue - cost of goods - CX spend - marketing - support cost",
        agg="sum",
    ),
    KPI("cumulative_profit", "cu", "sum of weekly profit since the start", agg="last"),
    KPI(
        "clv",
        "cu",
        "customer lifetime value: gross margin per customer-week x (1+d)/(1+d-r), r = retention (4-week EMA), d = weekly discount rate",
        agg="last",
    ),
    KPI(
        "reputation",
        "0-1",
        "focal firm's public reputation (mean rating of its reviews, on the satisfaction scale)",
    ),
    KPI("emotional_index", "-1..1", "mean affect of the focal firm's customers"),
    KPI("cognitive_index", "0-1", "mean satisfaction of the focal firm's customers"),
    KPI(
        "behavioural_index",
        "purchases per week",
        "mean activity (EMA of weekly purchases) of the focal firm's customers",
    ),
    KPI(
        "mean_loyalty",
        "0-1",
        "mean loyalty (cumulative satisfaction) of the focal firm's customers",
    ),
    KPI(
        "acquisitions",
        "customers per week",
        "new customers won this week (prospects, lapsed or switchers)",
        agg="sum",
    ),
    KPI("complaints", "per week", "complaints received this week", agg="sum"),
    KPI(
        "wom_positive", "messages per week", "recommendations sent about the focal firm", agg="sum"
    ),
    KPI("wom_negative", "messages per week", "warnings sent about the focal firm", agg="sum"),
    KPI(
        "measured_nps",
        "points",
        "NPS as the firm measures it from its surveys (pooled over the measurement window)",
    ),
    KPI("measured_csat", "%", "CSAT as the firm measures it from its surveys"),
    KPI("measurement_error", "points", "measured_nps - nps"),
    KPI(
        "mean_quality",
        "0-1",
        "mean true effective quality of the focal firm's touchpoints x channels",
    ),
    KPI("map_error", "0-1", "mean absolute error of the firm's journey map vs the true quality"),
    KPI(
        "cx_spend",
        "cu per week",
        "improvements + omnichannel + personalisation + cycle costs + answers to detected problems",
        agg="sum",
    ),
    KPI("support_cost", "cu per week", "cost of the six support factors", agg="sum"),
    KPI("alarm", "0/1", "1 if the firm's measurements flagged a problem this week"),
    KPI(
        "firm_value",
        "cu",
        "discounted profit of the evaluation window plus the discounted customer equity left at its end (weekly rate from market.discount_rate; both discounted to the window's start): the money figure that counts the customers an investment keeps",
        "run",
    ),
    KPI(
        "customer_equity",
        "cu",
        "expected discounted margin of the focal firm's customers at the end of the window, each from their own activity, spend per purchase and retention, net of the window's retention costs (CX spend + support cost) per customer-week (Gupta, Lehmann & Stuart 2004; CXModel.customer_equity_terms)",
        "run",
    ),
    KPI(
        "annual_churn",
        "share per year",
        "1 - product of weekly retention over the window, annualised (x 52 / window weeks in the exponent)",
        "run",
    ),
    KPI(
        "false_alarm_rate",
        "share of weeks",
        "share of the window's weeks outside every shock's [start, end + mechanism.detection_grace) in which the alarm rang (stated level: mechanism.detection_alpha)",
        "run",
    ),
    KPI(
        "detection_rate",
        "share of shocks",
        "share of the shocks touching the focal firm whose first alarm came before the shock's end + mechanism.detection_grace (NaN without shocks)",
        "run",
    ),
    KPI(
        "detection_latency",
        "weeks",
        "mean weeks from a detected shock's start to the focal firm's first alarm; missed shocks are counted in detection_rate, not here (NaN without detected shocks)",
        "run",
    ),
    KPI(
        "recovery_time",
        "weeks",
        "mean weeks from a shock's start until the true NPS (4-week EMA) is back within mechanism.recovery_tolerance of the same seed's run without shocks, after falling below it (0 if it never fell; NaN without shocks or if not recovered by the end)",
        "run",
    ),
    KPI(
        "shock_nps",
        "points",
        "mean true NPS during the shocks and the detection_grace weeks after them, minus the same weeks of the same seed's run without shocks (NaN without shocks)",
        "run",
    ),
    KPI(
        "shock_loss",
        "cu",
        "firm value of the same seed without the shocks minus with them (NaN without shocks)",
        "run",
    ),
)

SERIES = tuple(k.name for k in KPIS if k.kind == "series")
SERIES_BY_NAME = {k.name: k for k in KPIS if k.kind == "series"}

_UNIT_TOTAL = {
    "cu per week": "cu",
    "customers per week": "customers",
    "per week": "count",
    "messages per week": "messages",
}


def _run_level() -> tuple[KPI, ...]:
    """The run-level KPIs: one per series KPI (by its aggregation) plus the ``run`` ones."""
    out: list[KPI] = []
    for k in KPIS:
        if k.kind == "run":
            out.append(k)
        elif k.agg == "sum":
            unit = _UNIT_TOTAL.get(k.unit, k.unit)
            out.append(
                KPI(
                    f"total_{k.name}",
                    unit,
                    f"sum over the evaluation window of: {k.definition}",
                    "run",
                    "sum",
                )
            )
        elif k.agg == "last":
            out.append(KPI(k.name, k.unit, f"at the end of the run: {k.definition}", "run", "last"))
        else:
            out.append(
                KPI(
                    k.name,
                    k.unit,
                    f"mean over the evaluation window of: {k.definition}",
                    "run",
                    "mean",
                )
            )
            if k.agg == "final":
                out.append(
                    KPI(
                        f"final_{k.name}",
                        k.unit,
                        f"at the end of the run: {k.definition}",
                        "run",
                        "last",
                    )
                )
    return tuple(out)


RUN_KPIS = _run_level()
RUN = tuple(k.name for k in RUN_KPIS)
# every KPI name users meet: run-level ones first (they are what batch commands report), then
# the weekly series (same name and unit where the run-level value is the window mean)
BY_NAME = {**SERIES_BY_NAME, **{k.name: k for k in RUN_KPIS}}
HEADLINE = ("firm_value", "annual_churn", "nps", "market_share", "mean_loyalty", "total_profit")


def window_text(first: int, last: int) -> str:
    """Which weeks the run-level KPIs cover and how they are aggregated, in one sentence (for
    the text beside a table of run-level KPIs)."""
    return (
        f"Run-level KPIs cover the evaluation window, weeks {first}-{last} (window means of rates "
        "and scores, window sums as total_*, firm value discounted over the window plus the "
        "customer equity at its end; final_* and cumulative_* at the end of the run)."
    )
