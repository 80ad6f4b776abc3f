"""Names and numbers in prose: KPI and factor labels, the headline KPIs, small text helpers
shared by the findings and the report sections."""

from __future__ import annotations

import math
from typing import Any

from analysis.stats import fmt
from sim.kpis import HEADLINE as KPI_HEADLINE

# the run-level KPIs a reader meets first (sim.kpis.HEADLINE), then the other familiar ones
HEADLINE = (*KPI_HEADLINE, "cumulative_profit", "csat", "retention_rate", "reputation", "measured_nps")

SHOCK_KPIS = ("detection_rate", "detection_latency", "recovery_time", "shock_nps", "shock_loss")


SUPPORT_NAMES = {
    "human": "Human-resources",
    "financial": "Financial",
    "methodological": "Methodological",
    "technical": "Technical",
    "technological": "Technological",
    "material": "Material",
}


class ReportError(ValueError):
    """A results directory that cannot be reported on (one-line message, exit code 2)."""


def factor_label(key: str) -> str:
    """A parameter key in words: ``firm.support.human`` → ``Human-resources support``."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[-2] == "support" and parts[-1] in SUPPORT_NAMES:
        return f"{SUPPORT_NAMES[parts[-1]]} support"
    if len(parts) >= 2 and parts[-2] == "policy":
        return f"{parts[-1].replace('_', ' ').capitalize()} policy"
    return key


def kpi_label(name: str) -> str:
    return {
        "nps": "NPS",
        "csat": "CSAT",
        "ces": "CES",
        "clv": "CLV",
        "measured_nps": "measured NPS",
        "measured_csat": "measured CSAT",
    }.get(name, name.replace("_", " "))


def capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def span(a: float, b: float) -> str:
    return f"{fmt(a)} to {fmt(b)}" if a < 0 or b < 0 else f"{fmt(a)}–{fmt(b)}"


def signed(v: float) -> str:
    return ("+" if v > 0 else "") + fmt(v)


def truthy(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")
