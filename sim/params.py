"""Model parameters: one typed, immutable object with documented defaults, units and ranges.

Every field carries its allowed range in ``metadata`` (``rng=(low, high)`` or ``choices=``);
constructors only store, and :func:`validate` is the separate step that checks every field
and raises :class:`ParamError` with a one-line message naming the dotted key, the bad value
and what is allowed.

Time unit: one step is one week. Money unit: an abstract currency ("cu"). Costs that scale
with the size of the market are expressed *per 1,000 customers in the market per week* so
that a run's per-capita economics do not depend on ``population.n_customers``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.journey import CHANNELS, TOUCHPOINTS

UNIT = (0.0, 1.0)


def p(default: Any, rng: tuple[float, float] | None = None, doc: str = "", choices=None, **kw):
    """A parameter field: default, allowed range (inclusive) or choices, and a one-line doc."""
    meta = {"doc": doc}
    if rng is not None:
        meta["rng"] = rng
    if choices is not None:
        meta["choices"] = tuple(choices)
    if isinstance(default, list | dict):
        return field(default_factory=lambda: default, metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


class ParamError(ValueError):
    """A parameter is outside what the model allows; the message is one line."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"invalid parameter {key}={value!r}: allowed {allowed}")


# --------------------------------------------------------------------------------------------
# Customers: segments (target audiences) and the behavioural constants of the customer model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SegmentParams:
    """A target audience with its own needs, channel preferences and behaviour."""

    name: str = p("mainstream", doc="segment label")
    share: float = p(1.0, (0.0, 1.0), "fraction of the population (shares are normalised)")
    need: float = p(0.6, UNIT, "baseline expectation of experience quality (0-1)")
    price_sensitivity: float = p(
        1.0, (0.0, 5.0), "weight of price in firm choice (logit units per 100% price gap)"
    )
    sociability: float = p(1.0, (0.0, 5.0), "multiplier on word-of-mouth propensity")
    purchase_rate: float = p(
        0.3, UNIT, "probability of a purchase occasion per week for an active customer"
    )
    basket: float = p(1.5, (0.0, 100.0), "mean units bought per purchase")
    channel_pref: tuple[float, ...] = p(
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0), doc=f"relative preference over channels {CHANNELS}"
    )


DEFAULT_SEGMENTS = (
    SegmentParams("digital", 0.35, 0.66, 1.2, 1.4, 0.32, 1.5, (3.0, 3.0, 1.5, 0.4, 1.0, 0.6)),
    SegmentParams("mainstream", 0.45, 0.60, 1.0, 1.0, 0.30, 1.5, (1.5, 1.0, 0.7, 0.8, 0.8, 2.0)),
    SegmentParams("traditional", 0.20, 0.55, 0.7, 0.8, 0.26, 1.5, (0.5, 0.2, 0.2, 2.0, 0.4, 3.5)),
)


@dataclass(frozen=True, slots=True)
class PopulationParams:
    n_customers: int = p(10_000, (10, 5_000_000), "customers in the market (all firms + prospects)")
    initial_customer_share: float = p(0.8, UNIT, "fraction that starts as some firm's customer")
    initial_awareness: float = p(0.3, UNIT, "probability that a prospect starts aware of each firm")
    initial_attitude: float = p(0.55, UNIT, "mean initial attitude toward each firm (sd 0.08)")
    initial_loyalty: float = p(
        0.56,
        UNIT,
        "mean initial loyalty of a customer to its firm (sd 0.08; near the steady state of the default market, so that frequent and rare buyers start alike)",
    )
    segments: tuple[SegmentParams, ...] = p(DEFAULT_SEGMENTS, doc="target audiences")
    cohort_weeks: tuple[float, ...] = p(
        (),
        doc="a fixed cohort (calibration to a transaction log): relative numbers of customers won by the focal firm in weeks 1, 2, ...; every customer is in it, starts a prospect aware of no firm and joins at the end of their week (the first purchase is given); empty = the open market",
    )


@dataclass(frozen=True, slots=True)
class CustomerParams:
    """Constants of the customer's emotional, cognitive and behavioural rules."""

    # emotional
    loss_aversion: float = p(
        2.0, (1.0, 5.0), "lambda: weight of shortfalls vs surpluses (Tversky & Kahneman 1992)"
    )
    affect_gain: float = p(
        0.8, (0.0, 5.0), "affect change per unit of (experienced - expected) quality"
    )
    affect_carry: float = p(0.6, UNIT, "share of affect carried from one touchpoint to the next")
    affect_decay: float = p(0.5, UNIT, "share of affect lost per week toward the baseline (0)")
    peak_end_weight: float = p(
        0.5, UNIT, "weight of the peak (vs the end) in the remembered journey"
    )
    # cognitive
    satisfaction_baseline: float = p(
        0.66, UNIT, "satisfaction when perceived quality exactly meets a 0.5 expectation"
    )
    disconfirmation_weight: float = p(
        0.9, (0.0, 5.0), "satisfaction per unit of loss-averse disconfirmation (Oliver 1980)"
    )
    quality_weight: float = p(
        0.3, (0.0, 5.0), "satisfaction per unit of perceived quality above 0.5"
    )
    memory_weight: float = p(
        0.15, (0.0, 5.0), "satisfaction per unit of remembered (peak-end) affect"
    )
    effort_weight: float = p(0.3, (0.0, 5.0), "satisfaction lost per unit of journey effort")
    expectation_learning: float = p(
        0.15, UNIT, "weight of the latest perceived quality in the expectation"
    )
    wom_expectation_weight: float = p(
        0.01, (0.0, 0.2), "expectation shift per net word-of-mouth message"
    )
    reputation_weight: float = p(
        0.02, UNIT, "weekly pull of attitudes toward the firm's public reputation"
    )
    loyalty_learning: float = p(0.35, UNIT, "weight of a new episode in a new customer's loyalty")
    tenure_anchor: float = p(
        26.0, (0.1, 1000.0), "weeks of tenure that halve the weight of a new episode (Bolton 1998)"
    )
    loyalty_learning_floor: float = p(
        0.04, UNIT, "smallest weight of a new episode for long-tenure customers"
    )
    attitude_learning: float = p(0.3, UNIT, "weight of an episode in the attitude toward that firm")
    # behavioural
    churn_base: float = p(0.005, (0.0, 0.5), "weekly hazard of leaving at loyalty 0.5")
    churn_loyalty_slope: float = p(7.0, (0.0, 50.0), "log-hazard decrease per unit of loyalty")
    switch_threshold: float = p(
        0.12, UNIT, "attitude gap to a rival that triggers switching consideration"
    )
    switch_rate: float = p(0.08, UNIT, "weekly probability of switching when above the threshold")
    winback_rate: float = p(0.02, UNIT, "weekly probability that a lapsed customer shops again")
    prospect_shop_rate: float = p(0.1, UNIT, "weekly probability that an aware prospect shops")
    complaint_threshold: float = p(
        0.45, UNIT, "satisfaction below which a customer is dissatisfied"
    )
    complaint_rate: float = p(0.15, UNIT, "probability that a dissatisfied customer complains")
    recovery_boost: float = p(0.3, UNIT, "satisfaction restored by a successful complaint recovery")
    wom_neutral: float = p(
        0.45, UNIT, "satisfaction at which a customer neither recommends nor warns"
    )
    wom_positive_rate: float = p(
        0.35,
        UNIT,
        "probability of recommending after a journey at satisfaction 1 (falls linearly to 0 at wom_neutral)",
    )
    wom_negative_rate: float = p(
        0.55,
        UNIT,
        "probability of warning others after a journey at satisfaction 0 (falls linearly to 0 at wom_neutral)",
    )
    negative_reach: float = p(
        1.5, (1.0, 5.0), "how much farther a warning travels than a recommendation"
    )
    wom_attitude_weight: float = p(0.05, UNIT, "attitude change per word-of-mouth message received")
    wom_recruit_rate: float = p(
        0.15, UNIT, "probability that a recommendation makes a prospect aware"
    )
    review_rate: float = p(0.1, UNIT, "share of word-of-mouth messages posted as public reviews")
    reputation_learning: float = p(
        0.05, UNIT, "weight of the week's reviews in the public reputation"
    )
    omnichannel_basket_uplift: float = p(
        0.03, (0.0, 0.5), "basket uplift per extra channel used in a journey"
    )
    personalization_basket_uplift: float = p(
        0.15, (0.0, 1.0), "basket uplift at full, accurate personalisation"
    )
    omnichannel_visit_uplift: float = p(
        0.04, (0.0, 0.5), "purchase-occasion uplift per extra channel used with the firm"
    )
    ltr_center: float = p(
        8.6, (0.0, 10.0), "likelihood-to-recommend answer at loyalty/satisfaction score 0.6"
    )
    ltr_slope: float = p(15.0, (0.0, 100.0), "likelihood-to-recommend points per unit of score")
    csat_threshold: float = p(0.6, UNIT, "satisfaction counted as 'satisfied' in CSAT")
    # constants of the rules (formerly hard-coded; ranges are the plausible span for studies)
    choice_attitude_weight: float = p(
        4.0, (0.0, 20.0), "firm choice: logit utility per unit of attitude toward the firm"
    )
    choice_reputation_weight: float = p(
        2.0, (0.0, 20.0), "firm choice: logit utility per unit of the firm's reputation"
    )
    choice_price_weight: float = p(
        10.0,
        (0.0, 50.0),
        "firm choice: logit utility lost per unit of relative price gap x price sensitivity",
    )
    ltr_loyalty_weight: float = p(
        0.55, UNIT, "weight of loyalty in the likelihood-to-recommend score"
    )
    ltr_satisfaction_weight: float = p(
        0.3, UNIT, "weight of the last journey's satisfaction in the likelihood-to-recommend score"
    )
    ltr_mood_weight: float = p(
        0.15, UNIT, "weight of mood (affect mapped to 0-1) in the likelihood-to-recommend score"
    )
    double_deviation: float = p(
        0.1,
        UNIT,
        "satisfaction (and affect) lost when a complaint is not recovered (Bitner, Booms & Tetreault 1990)",
    )
    complaint_failure_boost: float = p(
        0.5, (0.0, 5.0), "relative rise of the complaint probability after a failed touchpoint"
    )
    activity_learning: float = p(
        0.1, UNIT, "weight of this week in the activity index (EMA of weekly purchases)"
    )
    # heterogeneous customers (drawn once at initialisation from the 'heterogeneity' stream)
    purchase_rate_shape: float = p(
        1.0,
        (0.05, 1000.0),
        "gamma shape of individual purchase rates around the segment's (mean 1; smaller = more skewed; the NBD mixing distribution, Ehrenberg 1959; Schmittlein, Morrison & Colombo 1987)",
    )
    purchase_rate_cap: float = p(0.95, UNIT, "highest weekly purchase probability of any customer")
    basket_cv: float = p(
        0.5,
        (0.0, 3.0),
        "coefficient of variation of individual mean baskets around the segment's (gamma, mean 1)",
    )
    price_sensitivity_cv: float = p(
        0.4,
        (0.0, 3.0),
        "coefficient of variation of individual price sensitivity around the segment's (gamma, mean 1)",
    )
    # experience drives behaviour at the customer level (sim/ODD.md 7.3)
    sow_loyalty_slope: float = p(
        2.0,
        (0.0, 20.0),
        "share of wallet: log purchase frequency per unit of loyalty above sow_reference (Cooil, Keiningham, Aksoy & Hsu 2007)",
    )
    sow_reference: float = p(
        0.6, UNIT, "share of wallet: loyalty at which a customer buys at their own base rate"
    )
    churn_delight_threshold: float = p(
        0.62,
        UNIT,
        "loyalty above which the leaving hazard falls faster: the 'completely satisfied' zone (Jones & Sasser 1995)",
    )
    churn_delight_slope: float = p(
        15.0,
        (0.0, 100.0),
        "extra log-hazard decrease per unit of loyalty above churn_delight_threshold (Jones & Sasser 1995; Mittal & Kamakura 2001)",
    )
    effort_loyalty_weight: float = p(
        1.0,
        (0.0, 5.0),
        "loyalty learns from satisfaction minus this x excess journey effort: effort harms loyalty directly (Dixon, Freeman & Toman 2010)",
    )
    # the survey answers are measurements (sim/ODD.md 7.3)
    ltr_noise: float = p(
        1.2,
        (0.0, 10.0),
        "sd of the weekly noise of the 0-10 likelihood-to-recommend answer (scale points)",
    )
    ltr_scale_sd: float = p(
        1.0,
        (0.0, 10.0),
        "sd of the customer's own scale-use offset on the 0-10 answer (drawn once; Baumgartner & Steenkamp 2001)",
    )
    csat_slope: float = p(
        5.0,
        (0.0, 100.0),
        "CSAT answer (1-5) points per unit of satisfaction; 'satisfied' (4-5) at csat_threshold without noise",
    )
    csat_noise: float = p(
        0.5,
        (0.0, 5.0),
        "sd of the weekly noise of the 1-5 CSAT answer (scale points); the scale-use offset is the LTR one x 0.4",
    )


# --------------------------------------------------------------------------------------------
# Journey and channels
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class JourneyParams:
    touchpoint_offset: tuple[float, ...] = p(
        (0.05, 0.0, 0.0, -0.05, -0.08), doc=f"quality offset of each touchpoint {TOUCHPOINTS}"
    )
    channel_offset: tuple[float, ...] = p(
        (0.02, 0.04, -0.04, -0.03, -0.05, 0.03), doc=f"quality offset of each channel {CHANNELS}"
    )
    channel_stickiness: float = p(
        0.6, UNIT, "probability of staying on the same channel at the next touchpoint"
    )
    quality_noise: float = p(0.12, (0.0, 1.0), "sd of a single touchpoint's experienced quality")
    switch_effort: float = p(
        0.35, UNIT, "effort of a channel change at zero omnichannel integration"
    )
    switch_quality_penalty: float = p(
        0.08, UNIT, "quality lost on a channel change at zero integration"
    )
    base_effort: float = p(0.15, UNIT, "effort of a smooth touchpoint")
    failure_rate: float = p(
        0.03, UNIT, "per-touchpoint failure probability at technical support 0.5"
    )
    failure_penalty: float = p(0.45, UNIT, "quality lost at a failed touchpoint")
    failure_effort: float = p(0.5, UNIT, "effort added by a failed touchpoint")
    abandon_on_failure: float = p(
        0.6, UNIT, "probability of abandoning the purchase after a failure at it"
    )
    personalization_gain: float = p(
        0.12, UNIT, "quality gained at full personalisation with perfect accuracy"
    )
    personalization_break_even: float = p(
        0.4,
        (0.0, 0.99),
        "personalisation accuracy below which offers are irrelevant and hurt (quality and basket)",
    )


# --------------------------------------------------------------------------------------------
# Firms: policy levers, support factors, prices
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The firm's CX policy levers (docs/conceptual-model.md §5 stages 4, 6, 7)."""

    omnichannel: float = p(0.5, UNIT, "omnichannel integration (0 siloed channels, 1 seamless)")
    personalization: float = p(0.5, UNIT, "intensity of personalised communication and offers")
    improvement_cadence: int = p(8, (1, 10_000), "weeks between improvement cycles (large = never)")
    cx_budget: float = p(
        400.0, (0.0, 100_000.0), "improvement budget, cu per 1,000 market customers per week"
    )
    nps_target: float = p(30.0, (-100.0, 100.0), "NPS the control loop steers toward")


@dataclass(frozen=True, slots=True)
class SupportParams:
    """The six support factors of the mechanism (docs/conceptual-model.md §10), each in [0, 1]."""

    financial: float = p(
        0.5, UNIT, "budget multiplier: effective budget = cx_budget * 2 * financial"
    )
    methodological: float = p(0.5, UNIT, "measurement and diagnosis accuracy")
    technical: float = p(0.5, UNIT, "reliability of channels and touchpoints")
    technological: float = p(
        0.5,
        UNIT,
        "CRM/analytics: data completeness, personalisation accuracy, listening speed, integration ceiling",
    )
    material: float = p(0.5, UNIT, "quality and capacity of physical touchpoints (store, delivery)")
    human: float = p(
        0.5, UNIT, "staff skill and motivation: human touchpoints, recovery, implementation speed"
    )


SUPPORT_FACTORS = ("financial", "methodological", "technical", "technological", "material", "human")


@dataclass(frozen=True, slots=True)
class SupportCostParams:
    """Weekly cost of each support factor at level 1, cu per 1,000 market customers; cost = c * x**2."""

    financial: float = p(250.0, (0.0, 1e6), "cost of capital for the budget line")
    methodological: float = p(300.0, (0.0, 1e6), "research staff, survey panels")
    technical: float = p(550.0, (0.0, 1e6), "redundancy, monitoring, maintenance")
    technological: float = p(700.0, (0.0, 1e6), "CRM, analytics and listening platforms")
    material: float = p(600.0, (0.0, 1e6), "stores, fleet, stock")
    human: float = p(750.0, (0.0, 1e6), "wages, training, incentives")


@dataclass(frozen=True, slots=True)
class FirmParams:
    name: str = p("focal", doc="firm label")
    price: float = p(40.0, (0.01, 1e6), "price per unit, cu")
    unit_cost: float = p(22.0, (0.0, 1e6), "cost of goods per unit, cu")
    base_quality: float = p(0.66, UNIT, "mean true quality of its touchpoints at the start")
    initial_share: float = p(0.5, UNIT, "share of the initial customers (normalised across firms)")
    advertising: float = p(0.01, UNIT, "weekly probability that a prospect becomes aware (Bass p)")
    initial_reputation: float = p(
        0.6, UNIT, "public reputation at the start (mean review rating, satisfaction scale)"
    )
    advertising_cost: float = p(
        60.0, (0.0, 1e6), "cu per 1,000 market customers per week at advertising 0.01"
    )
    omnichannel_cost: float = p(
        350.0, (0.0, 1e6), "cu per 1,000 market customers per week at integration 1 (cost ~ o**2)"
    )
    personalization_cost: float = p(
        300.0,
        (0.0, 1e6),
        "cu per 1,000 market customers per week at personalisation 1 (cost ~ p**2)",
    )
    cycle_cost: float = p(
        40.0,
        (0.0, 1e6),
        "fixed cost of running one improvement cycle, cu per 1,000 market customers",
    )
    policy: PolicyParams = p(PolicyParams(), doc="CX policy levers")
    support: SupportParams = p(SupportParams(), doc="support factors")
    support_cost: SupportCostParams = p(SupportCostParams(), doc="support costs")


DEFAULT_RIVAL = FirmParams(name="rival", price=38.0, base_quality=0.64)


# --------------------------------------------------------------------------------------------
# Market: social network, rivals, economic context
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NetworkParams:
    kind: str = p(
        "small_world", doc="graph family", choices=("small_world", "scale_free", "random")
    )
    mean_degree: int = p(6, (2, 200), "mean number of contacts (even for small_world)")
    rewire: float = p(0.1, UNIT, "small-world rewiring probability")


@dataclass(frozen=True, slots=True)
class MarketParams:
    rivals: tuple[FirmParams, ...] = p((DEFAULT_RIVAL,), doc="the other firms (at least one)")
    network: NetworkParams = p(NetworkParams(), doc="the customers' social network")
    discount_rate: float = p(
        0.10, (0.0, 1.0), "annual discount rate of firm value and customer lifetime value"
    )


# --------------------------------------------------------------------------------------------
# The management mechanism: the firm's measurement and improvement cycle
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MechanismParams:
    survey_rate: float = p(0.08, UNIT, "share of a week's journeys that receive a survey")
    response_rate: float = p(0.25, UNIT, "survey response rate at methodological support 0.5")
    answer_noise: float = p(
        2.0, (0.0, 10.0), "sd of a survey answer on the 0-10 scale at methodological 0"
    )
    satisfaction_answer_noise: float = p(
        0.1, (0.0, 1.0), "sd of a satisfaction answer (0-1 scale) per unit of answer_noise"
    )
    rating_noise: float = p(
        0.05, (0.0, 1.0), "sd of a touchpoint rating (0-1 scale) per unit of answer_noise"
    )
    map_bias: float = p(
        0.1,
        (0.0, 1.0),
        "sd of the persistent per-cell bias of the firm's journey-map ratings at methodological 0",
    )
    map_memory: float = p(
        0.9, UNIT, "weekly weight of old evidence in the journey map (1 - forgetting)"
    )
    nonresponse_bias: float = p(
        0.8, (0.0, 5.0), "extra response propensity of satisfied customers at methodological 0"
    )
    measurement_window: float = p(
        4.0, (1.0, 52.0), "weeks of survey data pooled in a measurement (EMA span)"
    )
    listening_delay: int = p(
        6, (0, 52), "weeks of social-listening delay at technological support 0"
    )
    detection_alpha: float = p(
        0.01,
        (1e-6, 0.5),
        "stated weekly false-alarm probability of the alarm in a shock-free market: family-wise over all signals (Bonferroni)",
    )
    detection_warmup: int = p(
        13,
        (1, 104),
        "weeks of observations a signal needs before it can raise the alarm (a quarter: no alarms from baselines still forming during the start-up transient)",
    )
    detection_threshold: float = p(
        8.0,
        (0.0, 100.0),
        "materiality: drop in measured NPS (points) below its baseline that can flag a problem",
    )
    complaint_alarm: float = p(
        1.6,
        (1.0, 100.0),
        "materiality: complaint or warning volume vs its baseline that can flag a problem",
    )
    spike_min_count: float = p(
        5.0,
        (0.0, 1000.0),
        "materiality: fewest complaints or warnings in a week that can flag a problem",
    )
    failure_alarm_share: float = p(
        0.05,
        UNIT,
        "materiality: failure share of a channel (as logged by analytics) that can flag a problem",
    )
    failure_alarm_ratio: float = p(
        3.0, (1.0, 100.0), "materiality: failure share vs its baseline that can flag a problem"
    )
    nps_baseline_span: float = p(
        12.0, (1.0, 104.0), "weeks (EMA span) of the measured-NPS baseline and its variance"
    )
    count_baseline_span: float = p(
        8.0,
        (1.0, 104.0),
        "weeks (EMA span) of the complaint, listening and failure baselines and their variances",
    )
    detection_grace: int = p(
        6, (0, 104), "weeks after a shock ends in which a first alarm still counts as detecting it"
    )
    improvement_lag: int = p(6, (0, 52), "weeks from investment to effect at human support 0")
    improvement_scale: float = p(
        4000.0, (1.0, 1e7), "spend per cell (cu per 1,000 market customers) closing 63% of its gap"
    )
    cells_per_cycle: int = p(4, (1, 30), "touchpoint x channel cells improved per cycle")
    erosion: float = p(
        0.004, (0.0, 0.5), "weekly share of quality above the floor lost without maintenance"
    )
    quality_floor: float = p(0.3, UNIT, "quality that erosion tends to")
    expectation_creep: float = p(
        0.0004, (0.0, 0.05), "weekly rise of every customer's expectation (technology change)"
    )
    feedback_rule: str = p(
        "fixed",
        doc="stage 5: how measured results set the improvement spend (fixed: the budget as declared; target: proportional to the NPS gap, bounded, no integral wind-up)",
        choices=("fixed", "target"),
    )
    control_gain: float = p(
        0.02,
        (0.0, 1.0),
        "target rule: spend multiplier = 1 + gain x (nps_target - measured NPS), per NPS point",
    )
    spend_multiplier_min: float = p(
        0.5, (0.0, 1.0), "target rule: lower bound of the spend multiplier"
    )
    spend_multiplier_max: float = p(
        2.0, (1.0, 10.0), "target rule: upper bound of the spend multiplier"
    )
    outage_repair: int = p(
        6, (1, 104), "weeks to repair an outage after detection at technical support 0"
    )
    knowledge_learning: float = p(
        0.02, UNIT, "weekly growth of segment knowledge per unit of data coverage"
    )
    knowledge_coverage: float = p(
        3.0,
        (0.0, 100.0),
        "data coverage of a segment per unit of (its customers' purchases logged by the CRM / its size)",
    )
    needs_drift: float = p(0.002, UNIT, "weekly decay of segment knowledge as needs change")
    response_boost: float = p(
        0.25, UNIT, "satisfaction restored by the firm's answer to a detected problem, if immediate"
    )
    response_loyalty_share: float = p(
        0.5, UNIT, "share of the answer's satisfaction boost that also reaches loyalty"
    )
    response_decay: float = p(
        4.0, (0.1, 1000.0), "weeks over which the value of a late answer falls by 1/e"
    )
    response_cost: float = p(
        4.0, (0.0, 1e6), "cu per customer contacted when answering a detected problem"
    )
    recovery_tolerance: float = p(
        3.0, (0.0, 100.0), "NPS points below the pre-shock level that count as recovered"
    )
    # how the six support factors act (sim/support.py); levels are in [0, 1], 0.5 is the reference
    physical_gain: float = p(
        0.16,
        UNIT,
        "material: quality at physical touchpoints (store channel, delivery) per unit of material support",
    )
    human_gain: float = p(
        0.16, UNIT, "human: quality at human touchpoints (phone, store) per unit of human support"
    )
    failure_floor: float = p(
        0.002, UNIT, "technical: per-touchpoint failure probability left at full technical support"
    )
    repair_speedup: float = p(
        0.7, UNIT, "technical: share of the outage repair time removed at full technical support"
    )
    data_completeness_min: float = p(
        0.3,
        UNIT,
        "technological: share of customer data captured at technological support 0 (1 at 1)",
    )
    integration_ceiling_min: float = p(
        0.3,
        UNIT,
        "technological: ceiling on effective omnichannel integration at technological support 0 (1 at 1)",
    )
    recovery_success_min: float = p(
        0.2, UNIT, "human: complaint recovery probability at human support 0"
    )
    recovery_success_span: float = p(
        0.6, UNIT, "human: rise of the complaint recovery probability from human support 0 to 1"
    )
    recovery_max_delay: float = p(
        3.0, (0.0, 52.0), "human: weeks until a complaint is answered at human support 0 (0 at 1)"
    )
    recovery_value_decay: float = p(
        4.0, (0.1, 1000.0), "weeks over which the value of a late complaint answer falls by 1/e"
    )
    implementation_speedup: float = p(
        0.7, UNIT, "human: share of the improvement lag removed at full human support"
    )
    implementation_efficiency_min: float = p(
        0.6, (0.0, 2.0), "human: improvement efficiency at human support 0"
    )
    implementation_efficiency_span: float = p(
        0.8, (0.0, 2.0), "human: rise of improvement efficiency from human support 0 to 1"
    )


# --------------------------------------------------------------------------------------------
# Shock effects and the evaluation window
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShockEffectParams:
    """What a shock of magnitude m does (sim/shocks.py); each effect scales with m."""

    campaign_advertising: float = p(
        10.0, (0.0, 100.0), "rival campaign: advertising rises by this x m (relative)"
    )
    campaign_price_cut: float = p(0.2, UNIT, "rival campaign: price cut at m = 1 (share of price)")
    campaign_attitude: float = p(
        0.1, UNIT, "rival campaign: rise of every customer's attitude toward the rival at m = 1"
    )
    viral_reputation: float = p(0.3, UNIT, "viral post: reputation lost at m = 1")
    viral_reach: float = p(0.3, UNIT, "viral post: share of customers who see it at m = 1")
    viral_attitude: float = p(0.2, UNIT, "viral post: attitude lost by a customer who sees it")
    downturn_spending: float = p(
        0.4, UNIT, "downturn: share of purchase occasions and baskets lost at m = 1"
    )
    downturn_churn: float = p(
        1.0, (0.0, 20.0), "downturn: relative rise of the churn hazard at m = 1"
    )
    expectation_jump: float = p(0.15, UNIT, "expectation jump: rise of every expectation at m = 1")
    knowledge_loss: float = p(
        0.3, UNIT, "expectation jump: share of firms' segment knowledge lost at m = 1"
    )


@dataclass(frozen=True, slots=True)
class EvaluationParams:
    """The window over which run-level KPIs are computed (sim/kpis.py declares how each one is aggregated)."""

    burn_in: int = p(
        52,
        (0, 100_000),
        "weeks at the start left out of run-level KPIs (the start-up transient; see sim/ODD.md)",
    )
    window: int = p(
        0,
        (0, 100_000),
        "weeks in the evaluation window after the burn-in (0: to the end of the run)",
    )


# --------------------------------------------------------------------------------------------
# Shocks
# --------------------------------------------------------------------------------------------
SHOCK_KINDS = ("outage", "rival_campaign", "viral_post", "downturn", "expectation_jump")


@dataclass(frozen=True, slots=True)
class ShockParams:
    name: str = p("shock", doc="label (the key of the shock in the config)")
    kind: str = p("outage", doc="what happens", choices=SHOCK_KINDS)
    start: int = p(
        60,
        (0, 100_000),
        "first week of the shock (scheduled; the default is after the evaluation burn-in)",
    )
    duration: int = p(4, (1, 100_000), "weeks it lasts")
    magnitude: float = p(0.5, UNIT, "strength (meaning depends on kind; see ODD)")
    channel: str = p("web", doc="channel hit by an outage", choices=CHANNELS)
    target: str = p("focal", doc="firm hit (outage, viral_post) or that acts (rival_campaign)")
    random_rate: float = p(
        0.0, UNIT, "if > 0: weekly probability of the shock instead of a fixed start"
    )


@dataclass(frozen=True, slots=True)
class Params:
    """All parameters of one model run (the seed and the number of steps are passed separately)."""

    population: PopulationParams = p(PopulationParams(), doc="the customers")
    customer: CustomerParams = p(CustomerParams(), doc="customer behaviour constants")
    journey: JourneyParams = p(JourneyParams(), doc="touchpoints and channels")
    firm: FirmParams = p(FirmParams(), doc="the focal firm")
    market: MarketParams = p(MarketParams(), doc="rivals, network, discounting")
    mechanism: MechanismParams = p(
        MechanismParams(), doc="the firm's measurement and improvement cycle"
    )
    shocks: tuple[ShockParams, ...] = p((), doc="shocks during the run")
    shock_effects: ShockEffectParams = p(ShockEffectParams(), doc="what each kind of shock does")
    evaluation: EvaluationParams = p(EvaluationParams(), doc="window of the run-level KPIs")

    @property
    def firms(self) -> tuple[FirmParams, ...]:
        """All firms, the focal firm first."""
        return (self.firm, *self.market.rivals)


# --------------------------------------------------------------------------------------------
# Validation and conversion
# --------------------------------------------------------------------------------------------
def _fmt_range(lo, hi) -> str:
    return f"[{lo:g}, {hi:g}]"


# the last Params objects that passed validate(), by identity (each kept alive here, so an id is
# not reused while it is listed): a frozen Params validated once need not be walked again, and
# a batch validates each run's parameters in with_updates and again in CXModel
_VALIDATED: dict[int, Params] = {}


def validate(params: Params) -> Params:
    """Check every field against its declared range; return ``params`` or raise ParamError."""
    if _VALIDATED.get(id(params)) is params:
        return params
    _validate(params)
    if len(_VALIDATED) >= 32:
        _VALIDATED.pop(next(iter(_VALIDATED)))
    _VALIDATED[id(params)] = params
    return params


def _validate(params: Params) -> None:
    _validate_node(params, "")
    firms = params.firms
    names = [f.name for f in firms]
    if len(set(names)) != len(names):
        raise ParamError("market.rivals", names, "unique firm names (the focal firm is 'focal')")
    if not params.market.rivals:
        raise ParamError("market.rivals", [], "at least one rival firm")
    if len(firms) > 8:
        raise ParamError("market.rivals", len(params.market.rivals), "at most 7 rivals")
    if not params.population.segments:
        raise ParamError("population.segments", [], "at least one segment")
    if sum(s.share for s in params.population.segments) <= 0:
        raise ParamError("population.segments", "shares", "shares summing to more than 0")
    cohort = params.population.cohort_weeks
    if cohort and (
        min(cohort) < 0 or sum(cohort) <= 0 or not all(math.isfinite(c) for c in cohort)
    ):
        raise ParamError(
            "population.cohort_weeks", list(cohort), "non-negative weights, not all zero"
        )
    for s in params.shocks:
        if s.target not in names:
            raise ParamError(f"shocks.{s.name}.target", s.target, f"one of {names}")
    for seg in params.population.segments:
        if (
            len(seg.channel_pref) != len(CHANNELS)
            or min(seg.channel_pref) < 0
            or sum(seg.channel_pref) <= 0
        ):
            raise ParamError(
                f"population.segments.{seg.name}.channel_pref",
                list(seg.channel_pref),
                f"{len(CHANNELS)} non-negative weights {CHANNELS}, not all zero",
            )
    j = params.journey
    if len(j.touchpoint_offset) != len(TOUCHPOINTS):
        raise ParamError(
            "journey.touchpoint_offset",
            list(j.touchpoint_offset),
            f"{len(TOUCHPOINTS)} numbers {TOUCHPOINTS}",
        )
    if len(j.channel_offset) != len(CHANNELS):
        raise ParamError(
            "journey.channel_offset", list(j.channel_offset), f"{len(CHANNELS)} numbers {CHANNELS}"
        )
    if params.market.network.kind == "small_world" and params.market.network.mean_degree % 2:
        raise ParamError(
            "market.network.mean_degree",
            params.market.network.mean_degree,
            "an even number for small_world",
        )
    if params.market.network.mean_degree >= params.population.n_customers:
        raise ParamError(
            "market.network.mean_degree",
            params.market.network.mean_degree,
            "fewer than population.n_customers",
        )
    return params


def _validate_node(node: Any, prefix: str) -> None:
    for f in dataclasses.fields(node):
        key = f"{prefix}{f.name}"
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            _validate_node(value, key + ".")
            continue
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                _validate_node(item, f"{key}.{getattr(item, 'name', i)}.")
            continue
        meta = f.metadata
        if "choices" in meta and value not in meta["choices"]:
            raise ParamError(key, value, "one of " + ", ".join(map(str, meta["choices"])))
        if "rng" in meta:
            lo, hi = meta["rng"]
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ParamError(key, value, f"a number in {_fmt_range(lo, hi)}")
                if f.type in ("int",) and not float(v).is_integer():
                    raise ParamError(key, value, f"an integer in {_fmt_range(lo, hi)}")
                if not math.isfinite(v) or not lo <= v <= hi:
                    raise ParamError(key, value, f"a number in {_fmt_range(lo, hi)}")


def from_dict(cls: type, data: Mapping[str, Any] | None, prefix: str = "") -> Any:
    """Build a (nested) parameter dataclass from plain data, refusing unknown keys."""
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ParamError(
            prefix.rstrip(".") or "config", data, f"a mapping of {cls.__name__} fields"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamError(
            f"{prefix}{unknown[0]}", data[unknown[0]], "a known key: " + ", ".join(fields)
        )
    kwargs = {}
    defaults = cls()
    for name, value in data.items():
        key = f"{prefix}{name}"
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = from_dict(type(default), value, key + ".")
        elif name in _LIST_OF:
            kwargs[name] = _named_items(_LIST_OF[name], value, key)
        elif isinstance(default, tuple):
            if not isinstance(value, list | tuple):
                raise ParamError(key, value, "a list")
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = _coerce(key, value, default, fields[name])
    return cls(**kwargs)


def _coerce(key: str, value: Any, default: Any, f: dataclasses.Field) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ParamError(key, value, "true or false")
        return value
    if isinstance(default, int):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not float(value).is_integer()
        ):
            lo, hi = f.metadata.get("rng", (None, None))
            raise ParamError(
                key,
                value,
                f"an integer in {_fmt_range(lo, hi)}" if lo is not None else "an integer",
            )
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            lo, hi = f.metadata.get("rng", (None, None))
            raise ParamError(
                key, value, f"a number in {_fmt_range(lo, hi)}" if lo is not None else "a number"
            )
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ParamError(key, value, "a string")
        return value
    return value


_LIST_OF = {"segments": SegmentParams, "rivals": FirmParams, "shocks": ShockParams}


def _named_items(item_cls: type, value: Any, key: str) -> tuple:
    """Named collections (segments, rivals, shocks) are mappings ``name -> fields`` in configs
    (so a scenario can override one item by name); a list of mappings is accepted too."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = []
        for name, fields in value.items():
            if fields is None:  # `name: null` removes an item inherited from a default
                continue
            if not isinstance(fields, Mapping):
                raise ParamError(
                    f"{key}.{name}", fields, f"a mapping of {item_cls.__name__} fields"
                )
            fields = dict(fields)
            if fields.setdefault("name", name) != name:
                raise ParamError(f"{key}.{name}.name", fields["name"], f"the item's key {name!r}")
            items.append(from_dict(item_cls, fields, f"{key}.{name}."))
        return tuple(items)
    if isinstance(value, list | tuple):
        return tuple(from_dict(item_cls, v, f"{key}.{i}.") for i, v in enumerate(value))
    raise ParamError(key, value, f"a mapping of name -> {item_cls.__name__} fields")


def to_dict(params: Any) -> Any:
    """Plain nested dict form of a parameter object (the inverse of :func:`from_dict`);
    named collections become mappings keyed by name."""
    if dataclasses.is_dataclass(params):
        out = {}
        for f in dataclasses.fields(params):
            value = getattr(params, f.name)
            if f.name in _LIST_OF:
                out[f.name] = {item.name: to_dict(item) for item in value}
            else:
                out[f.name] = to_dict(value)
        return out
    if isinstance(params, tuple):
        return [to_dict(v) for v in params]
    return params


def with_updates(params: Params, updates: Mapping[str, Any]) -> Params:
    """Return a validated copy with dotted-key updates, e.g. ``{"firm.support.human": 0.8}``.

    Integer fields accept floats and round them (sensitivity samples are continuous).
    """
    data = to_dict(params)
    for key, value in updates.items():
        parts = key.split(".")
        node = data
        for part in parts[:-1]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise ParamError(key, value, "a known parameter key")
        last = parts[-1]
        if not isinstance(node, dict) or last not in node:
            raise ParamError(key, value, "a known parameter key")
        if (
            isinstance(node[last], int)
            and not isinstance(node[last], bool)
            and isinstance(value, float)
        ):
            value = round(value)
        node[last] = value
    return validate(from_dict(Params, data))


def describe() -> list[tuple[str, str, str]]:
    """(dotted key, allowed, doc) for every scalar parameter: used by docs and the CLI."""
    rows: list[tuple[str, str, str]] = []

    def walk(cls: type, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            default = getattr(cls(), f.name)
            if dataclasses.is_dataclass(default):
                walk(type(default), f"{prefix}{f.name}.")
                continue
            meta = f.metadata
            allowed = (
                _fmt_range(*meta["rng"])
                if "rng" in meta
                else ("|".join(meta["choices"]) if "choices" in meta else "")
            )
            rows.append((prefix + f.name, allowed, meta.get("doc", "")))

    walk(Params, "")
    return rows
