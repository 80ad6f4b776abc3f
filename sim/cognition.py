"""Cognitive component: expectations, satisfaction, trust/attitude and loyalty.

* Satisfaction follows expectation–disconfirmation (Oliver 1980; Anderson & Sullivan 1993):
  it rises with perceived quality and with the (loss-averse) gap between perceived quality and
  the expectation, plus the remembered affect of the journey and minus the effort it took
  (Dixon, Freeman & Toman 2010 on customer effort).
* Expectations adapt to own experience, word of mouth and a slow upward creep as technology
  raises what customers take for granted (Zeithaml, Berry & Parasuraman 1993).
* Loyalty is cumulative satisfaction: a new episode weighs less the longer the tenure
  (Bolton 1998), so one bad episode moves a long-standing customer less than a new one.
"""

from __future__ import annotations

import numpy as np

from sim.emotion import loss_averse


def transaction_satisfaction(
    perceived: np.ndarray,
    expected: np.ndarray,
    remembered: np.ndarray,
    excess_effort: np.ndarray,
    cp,
) -> np.ndarray:
    """Satisfaction with one journey in [0, 1].

    ``s = s0 + a·v(P − E) + b·(P − 0.5) + m·memory − w·excess_effort`` where ``v`` is the
    loss-averse value function, ``P`` perceived journey quality and ``E`` the expectation.
    """
    d = perceived - expected
    s = (
        np.float32(cp.satisfaction_baseline)
        + np.float32(cp.disconfirmation_weight) * loss_averse(d, cp.loss_aversion)
        + np.float32(cp.quality_weight) * (perceived - 0.5)
        + np.float32(cp.memory_weight) * remembered
        - np.float32(cp.effort_weight) * excess_effort
    )
    return np.clip(s, 0.0, 1.0).astype(np.float32, copy=False)


def update_expectation(
    expected: np.ndarray, perceived: np.ndarray, mask: np.ndarray | None, rate: float
) -> None:
    """Adaptive expectations: ``E ← E + ρ·(P − E)`` for customers with a journey (in place).

    ``mask`` selects who learns; ``None`` means every row of the arrays given."""
    change = np.float32(rate) * (perceived - expected)
    expected += change if mask is None else mask * change


def loyalty_weight(tenure: np.ndarray, cp) -> np.ndarray:
    """Weight of a new episode in loyalty: high for new customers, anchored by tenure."""
    lo = np.float32(cp.loyalty_learning_floor)
    return lo + np.float32(cp.loyalty_learning - cp.loyalty_learning_floor) / (
        1.0 + tenure.astype(np.float32) / np.float32(cp.tenure_anchor)
    )


def update_loyalty(
    loyalty: np.ndarray,
    satisfaction: np.ndarray,
    tenure: np.ndarray,
    mask: np.ndarray | None,
    cp,
    excess_effort: np.ndarray | None = None,
) -> None:
    """Cumulative satisfaction: ``L ← L + η(tenure)·(s − w_e·excess_effort − L)`` for customers
    with an episode (in place), clipped to [0, 1].

    Effort harms loyalty directly, beyond what it costs satisfaction (Dixon, Freeman & Toman
    2010: effort, not delight, drives disloyalty): the episode's target is lowered by
    ``effort_loyalty_weight`` × the journey's effort above the smooth ``base_effort``.
    ``mask`` selects who learns; ``None`` means every row of the arrays given."""
    weight = loyalty_weight(tenure, cp)
    target = (
        satisfaction
        if excess_effort is None
        else satisfaction - np.float32(cp.effort_loyalty_weight) * excess_effort
    )
    loyalty += (weight if mask is None else mask * weight) * (target - loyalty)
    np.clip(loyalty, 0.0, 1.0, out=loyalty)
