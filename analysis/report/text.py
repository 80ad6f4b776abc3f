"""Names and numbers in prose: KPI and factor labels, the headline KPIs, small text helpers
shared by the findings and the report sections."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from analysis.stats import fmt
from sim.kpis import BY_NAME
from sim.kpis import HEADLINE as KPI_HEADLINE

# the run-level KPIs a reader meets first (sim.kpis.HEADLINE), then the other familiar ones
HEADLINE = (
    *KPI_HEADLINE,
    "cumulative_profit",
    "csat",
    "retention_rate",
    "reputation",
    "measured_nps",
)

SHOCK_KPIS = ("detection_rate", "detection_latency", "recovery_time", "shock_nps", "shock_loss")


SUPPORT_NAMES = {
    "human": "Human-resources",
    "financial": "Financial",
    "methodological": "Methodological",
    "technical": "Technical",
    "technological": "Technological",
    "material": "Material",
}


# the model's money: an abstract currency, defined at its first use in every report
CU_MEANING = "currency units, the model's abstract money (not a real currency)"
_CU = re.compile(r"(?<![\w-])cu(?![\w-])")


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


def define_cu(lines: Sequence[str]) -> list[str]:
    """The lines with the one holding the first "cu" (the money unit) followed by a sentence
    saying what it is."""
    out, done = [], False
    for line in lines:
        if not done and _CU.search(line):
            line = f"{line} Money is in cu: {CU_MEANING}."
            done = True
        out.append(line)
    return out


def weeks_long(n: int) -> str:
    """'a 52-week', 'an 8-week', 'an 11-week'."""
    s = str(n)  # 'an' before 'eight...', 'eleven', 'eighteen', 'eleven/eighteen thousand'
    vowel = s.startswith("8") or s in ("11", "18") or (len(s) == 5 and s[:2] in ("11", "18"))
    return f"{'an' if vowel else 'a'} {n}-week"


def unit_word(kpi: str) -> str:
    """The unit to write after a KPI's value in prose ('' for shares and scores)."""
    unit = BY_NAME[kpi].unit if kpi in BY_NAME else ""
    for word in ("cu", "points", "customers", "weeks", "messages"):
        if unit.startswith(word):
            return word
    return ""


def with_unit(value: float, kpi: str) -> str:
    word = unit_word(kpi)
    return fmt(value) + (f" {word}" if word else "")


class Window(NamedTuple):
    """The evaluation window of a study: weeks ``first``–``last`` of a ``steps``-week run."""

    first: int
    last: int
    burn_in: int
    steps: int


def window_from_cfg(cfg: Mapping[str, Any] | None) -> Window | None:
    """The evaluation window of a composed configuration (``evaluation.burn_in``,
    ``evaluation.window``, ``steps``; see sim.kpis), or None when it cannot be read."""
    if not cfg or "steps" not in cfg:
        return None
    ev = cfg.get("evaluation") or {}
    try:
        steps, burn_in = int(cfg["steps"]), int(ev.get("burn_in", 0))
        window = int(ev.get("window", 0) or 0)
    except (TypeError, ValueError, AttributeError):
        return None
    if not 0 <= burn_in < steps:
        return None
    return Window(
        burn_in + 1, steps if window == 0 else min(steps, burn_in + window), burn_in, steps
    )


def window_words(window: Window | None) -> str:
    """'the evaluation window (weeks 53–104, after a 52-week burn-in)'."""
    if window is None:
        return "the evaluation window (the weeks after evaluation.burn_in)"
    after = f", after {weeks_long(window.burn_in)} burn-in" if window.burn_in else ""
    return f"the evaluation window (weeks {window.first}–{window.last}{after})"


def window_sentence(window: Window | None) -> str:
    """What the run-level KPIs of a report cover, in one sentence."""
    end = f" (week {window.steps})" if window else ""
    return (
        f"Run-level KPIs cover {window_words(window)}: rates and scores are means over it, "
        "total_* are sums over it, firm value is its discounted profit plus the customer equity "
        "left at its end; cumulative profit, CLV and final_* are values at the end of the "
        f"run{end}; the shock KPIs compare each shock with the same seed's run without it."
    )


def kpi_scope(kpi: str, window: Window | None) -> str:
    """Which weeks a run-level KPI covers, as a phrase: 'over weeks 53–104', 'at the end of
    the run (week 104)', 'over the whole run'."""
    k = BY_NAME.get(kpi)
    if kpi.startswith("final_") or (k is not None and k.agg == "last"):
        return f"at the end of the run (week {window.steps})" if window else "at the end of the run"
    if kpi in SHOCK_KPIS:
        return "over the whole run"
    return f"over weeks {window.first}–{window.last}" if window else "over the evaluation window"
