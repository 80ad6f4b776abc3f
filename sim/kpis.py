"""KPIs: each declared once with name, unit and definition.

``series`` KPIs are recorded every week (columns of ``timeseries.parquet``); ``summary`` KPIs
describe the whole run (``kpis.json`` holds the final value of every series KPI plus the
summary ones).  KPIs are the focal firm's unless their name says otherwise; rates are per
week.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KPI:
    name: str
    unit: str
    definition: str
    kind: str = "series"  # series | summary


KPIS: tuple[KPI, ...] = (
    KPI("nps", "points (-100..100)", "true Net Promoter Score: % of the focal firm's customers answering 9-10 minus % answering 0-6 (Reichheld 2003)"),
    KPI("csat", "% of customers", "true CSAT: share of the focal firm's customers whose last journey's satisfaction >= customer.csat_threshold"),
    KPI("ces", "1-7, lower is easier", "customer effort score: 1 + 6 x mean effort of the focal firm's customers' last journeys"),
    KPI("retention_rate", "share per week", "1 - churn_rate"),
    KPI("churn_rate", "share per week", "focal customers lost this week (left or switched) / focal customers at the start of the week"),
    KPI("active_customers", "customers", "number of the focal firm's customers at the end of the week"),
    KPI("market_share", "share of customers", "focal customers / all firms' customers"),
    KPI("revenue", "cu per week", "focal firm's sales this week"),
    KPI("profit", "cu per week", "revenue - cost of goods - CX spend - marketing - support cost"),
    KPI("cumulative_profit", "cu", "sum of weekly profit since the start"),
    KPI("clv", "cu", "customer lifetime value: gross margin per customer-week x (1+d)/(1+d-r), r = retention (4-week EMA), d = weekly discount rate"),
    KPI("reputation", "0-1", "focal firm's public reputation (valence of its reviews)"),
    KPI("emotional_index", "-1..1", "mean affect of the focal firm's customers"),
    KPI("cognitive_index", "0-1", "mean satisfaction of the focal firm's customers"),
    KPI("behavioural_index", "purchases per week", "mean activity (EMA of weekly purchases) of the focal firm's customers"),
    KPI("mean_loyalty", "0-1", "mean loyalty (cumulative satisfaction) of the focal firm's customers"),
    KPI("acquisitions", "customers per week", "new customers won this week (prospects, lapsed or switchers)"),
    KPI("complaints", "per week", "complaints received this week"),
    KPI("wom_positive", "messages per week", "recommendations sent about the focal firm"),
    KPI("wom_negative", "messages per week", "warnings sent about the focal firm"),
    KPI("measured_nps", "points", "NPS as the firm measures it from its surveys (pooled over the measurement window)"),
    KPI("measured_csat", "%", "CSAT as the firm measures it from its surveys"),
    KPI("measurement_error", "points", "measured_nps - nps"),
    KPI("mean_quality", "0-1", "mean true effective quality of the focal firm's touchpoints x channels"),
    KPI("map_error", "0-1", "mean absolute error of the firm's journey map vs the true quality"),
    KPI("cx_spend", "cu per week", "improvements + omnichannel + personalisation + cycle costs + answers to detected problems"),
    KPI("support_cost", "cu per week", "cost of the six support factors"),
    KPI("alarm", "0/1", "1 if the firm's measurements flagged a problem this week"),
    KPI("detection_latency", "weeks", "mean weeks from a shock's start to the focal firm's first alarm (NaN without shocks)", "summary"),
    KPI("recovery_time", "weeks", "mean weeks from a shock's start until the true NPS (4-week EMA) is back within mechanism.recovery_tolerance of the same seed's run without shocks, after falling below it (0 if it never fell; NaN without shocks or if not recovered by the end)", "summary"),
    KPI("shock_loss", "cu", "cumulative profit of the same seed without the shocks minus with them (NaN without shocks)", "summary"),
)

SERIES = tuple(k.name for k in KPIS if k.kind == "series")
SUMMARY = tuple(k.name for k in KPIS if k.kind == "summary")
BY_NAME = {k.name: k for k in KPIS}
