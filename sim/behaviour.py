"""Behavioural component: shopping, buying, complaining, recommending, switching and leaving.

* Firm choice among the firms a shopper knows is a multinomial logit on attitude, reputation
  and price (McFadden 1974), drawn with Gumbel noise from the ``choice`` stream.
* Complaints: only a minority of dissatisfied customers complain (TARP 1979, the complaint
  iceberg); a recovery restores satisfaction, less the longer it takes.
* Leaving is a weekly hazard that falls with loyalty (cumulative satisfaction, Bolton 1998);
  switching happens when a known rival is liked clearly better than the current firm.
* The 0–10 likelihood-to-recommend answer (Reichheld 2003) is read off loyalty, the last
  journey's satisfaction and the current mood.
"""

from __future__ import annotations

import numpy as np


def choose_firm(
    attitude: np.ndarray, aware: np.ndarray, reputation: np.ndarray, price: np.ndarray,
    price_sensitivity: np.ndarray, u: np.ndarray, cp,
) -> np.ndarray:
    """Index of the chosen firm per customer (−1 when aware of none), logit with Gumbel draws.

    Utility ``a·attitude + r·reputation − p·β_seg·(price/mean price − 1)`` with the weights
    ``choice_attitude_weight``, ``choice_reputation_weight``, ``choice_price_weight``."""
    rel_price = price / price.mean() - 1.0
    util = (
        cp.choice_attitude_weight * attitude
        + cp.choice_reputation_weight * reputation[None, :]
        - cp.choice_price_weight * price_sensitivity[:, None] * rel_price[None, :]
    )
    util = util - np.log(-np.log(np.clip(u, 1e-12, 1 - 1e-7)))
    util = np.where(aware, util, -np.inf)
    choice = util.argmax(axis=1).astype(np.int8)
    return np.where(aware.any(axis=1), choice, np.int8(-1))


def likelihood_to_recommend(loyalty: np.ndarray, satisfaction: np.ndarray, affect: np.ndarray, cp) -> np.ndarray:
    """0–10 answer: ``round(center + slope·(score − 0.6))`` with score = w_L·L + w_s·s + w_m·(0.5 + 0.5·a)
    (defaults 0.55, 0.3, 0.15: ``ltr_loyalty_weight``, ``ltr_satisfaction_weight``, ``ltr_mood_weight``)."""
    score = np.multiply(loyalty, cp.ltr_loyalty_weight, dtype=np.result_type(loyalty, satisfaction, affect))
    score += cp.ltr_satisfaction_weight * satisfaction
    mood = 0.5 * affect
    mood += 0.5
    mood *= cp.ltr_mood_weight
    score += mood
    score -= 0.6
    score *= cp.ltr_slope
    score += cp.ltr_center
    np.rint(score, out=score)
    return np.clip(score, 0, 10, out=score).astype(np.int8)


def churn_hazard(loyalty: np.ndarray, cp, multiplier: float = 1.0) -> np.ndarray:
    """Weekly probability of leaving: ``base·exp(−slope·(L − 0.5))·multiplier``, capped at 1."""
    hazard = loyalty - 0.5
    hazard *= -cp.churn_loyalty_slope
    np.exp(hazard, out=hazard)
    hazard *= cp.churn_base * multiplier
    return np.minimum(hazard, 1.0, out=hazard)


def basket_units(
    base_basket: np.ndarray, n_channels: np.ndarray, personal_accuracy: np.ndarray, personalization: np.ndarray,
    cp, economy: float = 1.0, break_even: float = 0.4,
) -> np.ndarray:
    """Units bought: segment basket × omnichannel uplift × personalisation uplift × economy.

    Omnichannel: ``1 + uplift·(channels used with the firm − 1)``, counting every channel the
    customer has used with this firm (Sopadjieva, Dholakia & Benjamin 2017);
    personalisation: ``1 + uplift·p·max(accuracy − b, 0)/(1 − b)`` with b the break-even accuracy
    (relevant offers sell)."""
    omni = 1.0 + cp.omnichannel_basket_uplift * (n_channels - 1)
    pers = 1.0 + cp.personalization_basket_uplift * personalization * np.maximum(personal_accuracy - break_even, 0.0) / (
        1.0 - break_even
    )
    return (base_basket * omni * pers * economy).astype(np.float32)


def recover_complaints(
    satisfaction: np.ndarray, affect: np.ndarray, complainers: np.ndarray, u: np.ndarray,
    success: np.ndarray, value: np.ndarray, cp,
) -> np.ndarray:
    """Complaint recovery: success restores ``boost·value`` of satisfaction (and lifts affect);
    a failed recovery (double deviation) costs a further ``double_deviation``.

    ``complainers`` indexes the customers who complained; ``u``, ``success`` and ``value`` are
    theirs. Satisfaction and affect are updated (and clipped) for the whole population in place.
    Returns the success mask, one entry per complainer."""
    ok = u < success
    change = np.zeros_like(satisfaction)
    change[complainers] = ok * (cp.recovery_boost * value) - ~ok * np.float32(cp.double_deviation)
    satisfaction += change
    affect += change
    np.clip(satisfaction, 0.0, 1.0, out=satisfaction)
    np.clip(affect, -1.0, 1.0, out=affect)
    return ok
