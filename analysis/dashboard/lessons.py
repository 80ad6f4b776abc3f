"""Slider levers and lesson presets of the dashboard.

A *lever* is one slider: a keyword of :class:`analysis.dashboard.live.DashboardModel` bound
to a dotted :class:`sim.Params` key. A *lesson* is a named set of dotted-key overrides (the
same keys ``sim.with_updates`` and the command line take, shocks included) with a two-line
explanation shown in the app. :func:`params_for` turns a lesson plus slider values into
validated ``Params``: defaults, then the dashboard's population, then the lesson, then the
sliders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim import Params, with_updates
from sim.journey import TOUCHPOINTS
from sim.params import JourneyParams

DEFAULT_N = 2_000  # customers in a dashboard market (the slider goes up to MAX_N)
MAX_N = 20_000
DEFAULT_SEED = 42  # the configuration's default seed: lessons compare on common random numbers


@dataclass(frozen=True)
class Lever:
    """A slider: ``name`` is the model keyword, ``key`` the dotted parameter it sets."""

    name: str
    key: str
    label: str
    min: float
    max: float
    step: float

    @property
    def is_int(self) -> bool:
        return all(float(x).is_integer() for x in (self.min, self.max, self.step))


LEVERS: tuple[Lever, ...] = (
    Lever("omnichannel", "firm.policy.omnichannel", "Omnichannel", 0.0, 1.0, 0.05),
    Lever("personalization", "firm.policy.personalization", "Personalisation", 0.0, 1.0, 0.05),
    Lever(
        "improvement_cadence", "firm.policy.improvement_cadence", "Cycle every (weeks)", 1, 52, 1
    ),
    Lever("financial", "firm.support.financial", "Financial support", 0.0, 1.0, 0.05),
    Lever(
        "methodological", "firm.support.methodological", "Methodological support", 0.0, 1.0, 0.05
    ),
    Lever("technical", "firm.support.technical", "Technical support", 0.0, 1.0, 0.05),
    Lever("technological", "firm.support.technological", "Technological support", 0.0, 1.0, 0.05),
    Lever("material", "firm.support.material", "Material support", 0.0, 1.0, 0.05),
    Lever("human", "firm.support.human", "Human support", 0.0, 1.0, 0.05),
    Lever("n_customers", "population.n_customers", "Customers", 200, MAX_N, 200),
)
LEVER = {lv.name: lv for lv in LEVERS}


@dataclass(frozen=True)
class Claim:
    """What a lesson claims, precisely: the mean of ``kpi`` over weeks ``first``..``last``
    (inclusive) is ``direction`` ("higher" or "lower") in this lesson's run than in lesson
    ``versus``'s run with the same seed and population. ``tests/test_dashboard_lessons.py``
    checks every claim over several seeds."""

    kpi: str
    first: int
    last: int
    direction: str
    versus: str

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"invalid direction {self.direction!r}: higher or lower")
        if not 1 <= self.first <= self.last:
            raise ValueError(f"invalid window {self.first}..{self.last}")

    def mirrored(self, key: str) -> Claim:
        """The same claim seen from lesson ``versus`` (compared with lesson ``key``)."""
        flip = "lower" if self.direction == "higher" else "higher"
        return Claim(self.kpi, self.first, self.last, flip, key)

    def holds(self, mean_here: float, mean_versus: float) -> bool:
        return mean_here > mean_versus if self.direction == "higher" else mean_here < mean_versus


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: tuple[str, str]  # what it sets up; what to watch and do (shown above the charts)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()


def _outage_week_10() -> dict[str, Any]:
    """The web channel of the focal firm fails in week 10 (70% of touchpoints, 12 weeks)."""
    shock = {
        "kind": "outage",
        "start": 10,
        "duration": 12,
        "magnitude": 0.7,
        "channel": "web",
        "target": "focal",
    }
    return {"shocks": {"web_outage": shock}}


def _touchpoint_shortfall(touchpoint: str, amount: float) -> dict[str, Any]:
    """The default touchpoint quality offsets with one touchpoint ``amount`` worse."""
    offsets = list(JourneyParams().touchpoint_offset)
    offsets[TOUCHPOINTS.index(touchpoint)] -= amount
    return {"journey.touchpoint_offset": offsets}


_SUPPORT = ("financial", "methodological", "technical", "technological", "material", "human")

FREE_PLAY = "free_play"
HORIZON = 104  # weeks a run plays before it stops by itself (the horizon slider changes it)

# Each claim is stated once, on the first lesson of its pair; the other lesson shows it mirrored.
_MEASURE = (
    Claim("nps", 10, 52, "lower", "measure_some"),
    Claim("profit", 53, 104, "lower", "measure_some"),
)
_PEAK_END = (Claim("nps", 1, 26, "lower", "peak_end_middle"),)
_OMNI = (
    Claim("nps", 1, 104, "lower", "omnichannel_seamless"),
    Claim("market_share", 53, 104, "lower", "omnichannel_seamless"),
)
_OVER = (
    Claim("nps", 1, 104, "higher", FREE_PLAY),
    Claim("profit", 1, 52, "lower", FREE_PLAY),
    Claim("cumulative_profit", 53, 104, "lower", FREE_PLAY),
)
_CADENCE = (Claim("nps", 10, 52, "higher", "cadence_slow"),)

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        FREE_PLAY,
        "Free play (model defaults)",
        (
            "The default market: the focal firm against one rival, every lever at its default value.",
            "Press ▶ or Step, fire shocks, or move sliders and press Reset: the last run stays "
            "on the charts as a faded line (A) beside the new one (B).",
        ),
    ),
    Lesson(
        "measure_nothing",
        "Measure nothing A: no measurement support",
        (
            "Methodological and technological support are 0 (noisy, biased surveys; slow "
            "analytics); the web channel fails in week 10.",
            "Claim: mean true NPS in weeks 10–52 and mean weekly profit in weeks 53–104 are lower "
            "than in B (support at 0.5, same outage). Play to week 104, then choose B.",
        ),
        {
            "firm.support.methodological": 0.0,
            "firm.support.technological": 0.0,
            **_outage_week_10(),
        },
        _MEASURE,
    ),
    Lesson(
        "measure_some",
        "Measure nothing B: measurement support 0.5",
        (
            "The same week-10 web outage, with methodological and technological support at their "
            "default 0.5: the firm sees more of what goes wrong and fixes the right things.",
            "Claim: mean true NPS in weeks 10–52 and mean weekly profit in weeks 53–104 are higher "
            "than in A. Compare the averages on the charts with A's faded line.",
        ),
        _outage_week_10(),
        tuple(c.mirrored("measure_nothing") for c in _MEASURE),
    ),
    Lesson(
        "peak_end_last",
        "Peak–end A: a failing last touchpoint",
        (
            "After-sales service is 0.3 worse than usual: journeys end on their weakest moment, "
            "and customers remember peaks and ends.",
            "Claim: mean true NPS in weeks 1–26 is lower than in B (the same shortfall "
            "mid-journey). Play to week 26, then choose B.",
        ),
        _touchpoint_shortfall("after_sales", 0.3),
        _PEAK_END,
    ),
    Lesson(
        "peak_end_middle",
        "Peak–end B: the same failure mid-journey",
        (
            "Consideration is 0.3 worse than usual and after-sales is back to normal: journeys "
            "now end better than their worst moment.",
            "Claim: mean true NPS in weeks 1–26 is higher than in A: a bad middle is forgiven "
            "more than a bad end.",
        ),
        _touchpoint_shortfall("consideration", 0.3),
        tuple(c.mirrored("peak_end_last") for c in _PEAK_END),
    ),
    Lesson(
        "omnichannel_siloed",
        "Omnichannel A: siloed channels (0)",
        (
            "Omnichannel integration is 0: every change of channel within a journey costs the "
            "customer effort and quality.",
            "Claim: mean true NPS in weeks 1–104 and mean market share in weeks 53–104 are lower "
            "than in B (seamless channels). Play to week 104, then choose B.",
        ),
        {"firm.policy.omnichannel": 0.0},
        _OMNI,
    ),
    Lesson(
        "omnichannel_seamless",
        "Omnichannel B: seamless channels (1)",
        (
            "Omnichannel integration is 1: customers move between web, app, phone and store "
            "without friction (the integration has a cost).",
            "Claim: mean true NPS in weeks 1–104 and mean market share in weeks 53–104 are "
            "higher than in A.",
        ),
        {"firm.policy.omnichannel": 1.0},
        tuple(c.mirrored("omnichannel_siloed") for c in _OMNI),
    ),
    Lesson(
        "support_overinvestment",
        "Support that costs more than it earns",
        (
            "All six support factors at 1: the best CX machine money can buy. Support costs grow "
            "with the square of each level; loyal customers buy more often, but slowly.",
            "Claim, against Free play (same seed): mean true NPS in weeks 1–104 is higher; mean "
            "weekly profit is lower in weeks 1–52, and cumulative profit stays lower through weeks "
            "53–104 (in the second year the loyal customers' extra purchases roughly pay the "
            "weekly support bill: more on some seeds, less on others). Run Free play first, then "
            "this lesson.",
        ),
        {f"firm.support.{s}": 1.0 for s in _SUPPORT},
        _OVER,
    ),
    Lesson(
        "cadence_fast",
        "Improvement cycle A: every 2 weeks",
        (
            "The web channel fails in week 10; the firm runs an improvement cycle every 2 weeks.",
            "Claim: mean true NPS in weeks 10–52 is higher than in B (a cycle every 16 weeks, "
            "same outage). Play to week 52, then choose B.",
        ),
        {"firm.policy.improvement_cadence": 2, **_outage_week_10()},
        _CADENCE,
    ),
    Lesson(
        "cadence_slow",
        "Improvement cycle B: every 16 weeks",
        (
            "The same week-10 web outage, but the firm improves only every 16 weeks: problems wait "
            "for the next cycle.",
            "Claim: mean true NPS in weeks 10–52 is lower than in A.",
        ),
        {"firm.policy.improvement_cadence": 16, **_outage_week_10()},
        tuple(c.mirrored("cadence_fast") for c in _CADENCE),
    ),
)
LESSON_BY_KEY = {ls.key: ls for ls in LESSONS}
LESSON_BY_TITLE = {ls.title: ls for ls in LESSONS}


def lesson(key: str) -> Lesson:
    try:
        return LESSON_BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown lesson {key!r}: known {', '.join(LESSON_BY_KEY)}") from None


def params_for(lesson_key: str = FREE_PLAY, values: Mapping[str, Any] | None = None) -> Params:
    """Validated Params of a lesson with slider ``values`` (lever name -> value; None = lesson's)."""
    updates: dict[str, Any] = {"population.n_customers": DEFAULT_N, **lesson(lesson_key).overrides}
    for name, value in (values or {}).items():
        if name not in LEVER:
            raise ValueError(f"unknown slider {name!r}: known {', '.join(LEVER)}")
        if value is not None:
            updates[LEVER[name].key] = value
    return with_updates(Params(), updates)


def get_key(params: Params, key: str) -> Any:
    """The value of a dotted key, e.g. ``get_key(p, "firm.support.human")``."""
    node: Any = params
    for part in key.split("."):
        node = getattr(node, part)
    return node


def lever_values(params: Params) -> dict[str, Any]:
    """Every lever's value in ``params`` (what the sliders show)."""
    return {lv.name: get_key(params, lv.key) for lv in LEVERS}
