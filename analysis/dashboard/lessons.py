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
class Lesson:
    key: str
    title: str
    explanation: tuple[str, str]  # two lines shown under the menu
    overrides: Mapping[str, Any] = field(default_factory=dict)


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

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        FREE_PLAY,
        "Free play (model defaults)",
        (
            "The default market: the focal firm against one rival, every lever at its default value.",
            "Press Step or ▶, fire shocks with the buttons, or move sliders and press Reset to rerun with them.",
        ),
    ),
    Lesson(
        "measure_nothing",
        "Measure nothing, miss everything",
        (
            "Methodological and technological support are 0: surveys are noisy and biased, analytics slow. "
            "The web channel fails in week 10.",
            "True NPS collapses; the noisy measured NPS shows only part of the fall, and the repair comes late. "
            "Raise both sliders, press Reset and compare.",
        ),
        {
            "firm.support.methodological": 0.0,
            "firm.support.technological": 0.0,
            **_outage_week_10(),
        },
    ),
    Lesson(
        "peak_end_last",
        "Peak–end A: a failing last touchpoint",
        (
            "After-sales service is 0.3 worse than usual: every journey ends on its weakest moment, "
            "and customers remember peaks and ends.",
            "Note NPS over the first 20 weeks, then pick lesson B: the same shortfall mid-journey hurts less.",
        ),
        _touchpoint_shortfall("after_sales", 0.3),
    ),
    Lesson(
        "peak_end_middle",
        "Peak–end B: the same failure mid-journey",
        (
            "Consideration is 0.3 worse than usual and after-sales is back to normal: "
            "journeys now end better than their worst moment.",
            "Compare NPS over the first 20 weeks with lesson A: a bad middle is forgiven more than a bad end.",
        ),
        _touchpoint_shortfall("consideration", 0.3),
    ),
    Lesson(
        "omnichannel_siloed",
        "Omnichannel friction A: siloed channels (0)",
        (
            "Omnichannel integration is 0: every change of channel within a journey costs effort and quality.",
            "Watch NPS and market share, then pick B (seamless): both rise, but integration costs eat into profit.",
        ),
        {"firm.policy.omnichannel": 0.0},
    ),
    Lesson(
        "omnichannel_seamless",
        "Omnichannel friction B: seamless channels (1)",
        (
            "Omnichannel integration is 1: customers move between web, app, phone and store without friction.",
            "Compare with A: higher NPS and share; the profit chart shows what the integration costs.",
        ),
        {"firm.policy.omnichannel": 1.0},
    ),
    Lesson(
        "support_overinvestment",
        "Support that costs more than it earns",
        (
            "All six support factors at 1: the best CX machine money can buy; NPS and market share climb far "
            "above the default run.",
            "Support costs grow with the square of each level: weekly profit falls well below Free play's.",
        ),
        {f"firm.support.{s}": 1.0 for s in _SUPPORT},
    ),
    Lesson(
        "cadence_fast",
        "Faster cycle wins it back A: every 2 weeks",
        (
            "The web channel fails in week 10; the firm runs an improvement cycle every 2 weeks.",
            "Note how fast NPS and profit recover, then pick B (every 16 weeks): slower recovery, bigger loss.",
        ),
        {"firm.policy.improvement_cadence": 2, **_outage_week_10()},
    ),
    Lesson(
        "cadence_slow",
        "Faster cycle wins it back B: every 16 weeks",
        (
            "The same week-10 web outage, but the firm improves only every 16 weeks: problems wait for the next cycle.",
            "Compare with A: NPS stays down longer and more profit is lost, although cycles cost less.",
        ),
        {"firm.policy.improvement_cadence": 16, **_outage_week_10()},
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
