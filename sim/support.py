"""The six support factors of the mechanism: what each one drives, and what it costs.

Each factor x ∈ [0, 1] acts on one part of the mechanism (docs/conceptual-model.md §10) and costs
``c_x · x²`` per 1,000 market customers per week, so benefits (concave, saturating) and costs
(convex) cross: more support is never free and over-investment shows up as lower profit.
0.5 is the reference level at which every effect equals the baseline parameter.

| factor | drives (function below) |
|---|---|
| financial | the improvement budget (:func:`improvement_budget`) |
| methodological | survey response, answer noise, non-response bias, attribution of answers to the right touchpoint, persistent bias of the journey map (:func:`measurement`) |
| technical | failure rates of channels, outage repair time (:func:`failure_rates`, :func:`repair_time`) |
| technological | data completeness → personalisation accuracy, social-listening delay, failure analytics, ceiling on omnichannel integration (:func:`data_completeness`, :func:`listening_delay`, :func:`integration`) |
| material | quality of physical touchpoints: the store channel and delivery (:func:`quality_modifier`) |
| human | quality at human touchpoints (phone, store), complaint recovery, implementation lag and efficiency (:func:`quality_modifier`, :func:`recovery`, :func:`implementation`) |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.journey import DELIVERY_TP, DIGITAL, HUMAN, N_CHANNELS, N_TOUCHPOINTS, PHYSICAL
from sim.params import SUPPORT_FACTORS, FirmParams, JourneyParams, MechanismParams


def improvement_budget(firm: FirmParams) -> float:
    """Financial: improvement budget per 1,000 market customers per week (2·financial × nominal)."""
    return firm.policy.cx_budget * 2.0 * firm.support.financial


@dataclass(frozen=True, slots=True)
class Measurement:
    """Methodological: how good the firm's survey measurement is."""

    response_rate: float  # probability that a surveyed customer answers
    answer_noise: float  # sd of an answer on the 0-10 scale
    nonresponse_bias: float  # extra response propensity per unit of (satisfaction - 0.5)
    attribution: float  # probability that a touchpoint rating is attributed to the right cell
    map_bias: float  # sd of the persistent bias of each journey-map cell's ratings


def measurement(firm: FirmParams, mech: MechanismParams) -> Measurement:
    m = firm.support.methodological
    return Measurement(
        response_rate=min(1.0, mech.response_rate * (0.5 + m)),
        answer_noise=mech.answer_noise * (1.0 - 0.8 * m),
        nonresponse_bias=mech.nonresponse_bias * (1.0 - m),
        attribution=0.5 + 0.5 * m,
        map_bias=mech.map_bias * (1.0 - m),
    )


def failure_rates(firm: FirmParams, journey: JourneyParams, mech: MechanismParams) -> np.ndarray:
    """Technical: per-touchpoint failure probability of each channel, shape (C,).

    Digital channels fail at ``2·(1 − technical)·failure_rate`` (the baseline at 0.5), human and
    physical ones at half that; ``mechanism.failure_floor`` remains at full support.
    """
    base = journey.failure_rate * 2.0 * (1.0 - firm.support.technical) + mech.failure_floor
    return np.where(DIGITAL, base, 0.5 * base)


def repair_time(firm: FirmParams, mech: MechanismParams) -> int:
    """Technical: weeks from detecting an outage to repairing it."""
    return max(1, round(mech.outage_repair * (1.0 - mech.repair_speedup * firm.support.technical)))


def data_completeness(firm: FirmParams, mech: MechanismParams) -> float:
    """Technological: share of customer data the CRM captures (``data_completeness_min`` at 0, 1 at 1)."""
    lo = mech.data_completeness_min
    return lo + (1.0 - lo) * firm.support.technological


def listening_delay(firm: FirmParams, mech: MechanismParams) -> int:
    """Technological: weeks before social listening reports what customers post."""
    return round(mech.listening_delay * (1.0 - firm.support.technological))


def integration(firm: FirmParams, mech: MechanismParams) -> float:
    """Technological caps omnichannel: effective integration = min(policy, ceiling), the ceiling
    rising from ``integration_ceiling_min`` at technological 0 to 1 at 1."""
    lo = mech.integration_ceiling_min
    return min(firm.policy.omnichannel, lo + (1.0 - lo) * firm.support.technological)


def quality_modifier(firm: FirmParams, mech: MechanismParams) -> np.ndarray:
    """Material and human: additive quality modifier per touchpoint × channel, shape (T, C).

    Material support acts once on every physical cell: the store channel at every touchpoint
    and every channel at delivery (the store × delivery cell is one physical cell, not two)."""
    mod = np.zeros((N_TOUCHPOINTS, N_CHANNELS))
    physical = np.zeros((N_TOUCHPOINTS, N_CHANNELS), dtype=bool)
    physical[:, PHYSICAL] = True
    physical[DELIVERY_TP, :] = True
    mod[physical] += mech.physical_gain * (firm.support.material - 0.5)
    mod[:, HUMAN] += mech.human_gain * (firm.support.human - 0.5)
    return mod


@dataclass(frozen=True, slots=True)
class Recovery:
    """Human resources: complaint handling."""

    success: float  # probability that a complaint is recovered
    delay: int  # weeks until the firm answers a complaint (the answer is applied then)
    value: float  # share of the recovery boost that survives the delay: exp(-delay / recovery_value_decay)


def recovery(firm: FirmParams, mech: MechanismParams) -> Recovery:
    """Human resources: complaints are answered ``round(max_delay·(1 − human))`` weeks later,
    succeed with ``min + span·human`` and are worth less the later they come."""
    h = firm.support.human
    delay = round(mech.recovery_max_delay * (1.0 - h))
    return Recovery(
        success=mech.recovery_success_min + mech.recovery_success_span * h,
        delay=int(delay),
        value=float(np.exp(-delay / mech.recovery_value_decay)),
    )


def implementation(firm: FirmParams, mech: MechanismParams) -> tuple[int, float]:
    """Human resources: (lag in weeks, efficiency multiplier) of implementing an improvement."""
    h = firm.support.human
    lag = round(mech.improvement_lag * (1.0 - mech.implementation_speedup * h))
    return lag, mech.implementation_efficiency_min + mech.implementation_efficiency_span * h


def support_cost(firm: FirmParams) -> float:
    """Weekly cost of the six factors per 1,000 market customers: Σ c_x · x²."""
    return sum(
        getattr(firm.support_cost, f) * getattr(firm.support, f) ** 2 for f in SUPPORT_FACTORS
    )
