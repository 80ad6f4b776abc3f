"""Behavioural component: shopping, buying, complaining, recommending, switching and leaving.

* Firm choice among the firms a shopper knows is a multinomial logit on attitude, reputation
  and price (McFadden 1974), drawn with Gumbel noise from the ``choice`` stream.
* Complaints: only a minority of dissatisfied customers complain (TARP 1979, the complaint
  iceberg); a recovery restores satisfaction, less the longer it takes.
* Purchase frequency is the customer's own (gamma-distributed) base rate times a share-of-wallet
  multiplier that rises with loyalty (Cooil, Keiningham, Aksoy & Hsu 2007).
* Leaving is a weekly hazard that falls with loyalty (cumulative satisfaction, Bolton 1998),
  fastest in the completely-satisfied zone (Jones & Sasser 1995); switching happens when a
  known rival's attitude is clearly above the current firm's (the same construct for both).
* The 0–10 likelihood-to-recommend and the 1–5 CSAT answers (Reichheld 2003) are ordinal
  measurements of the customer's state: a latent score plus the customer's own scale use and
  weekly noise, rounded.
"""

from __future__ import annotations

import numpy as np


def choose_firm(
    attitude: np.ndarray,
    aware: np.ndarray,
    reputation: np.ndarray,
    price: np.ndarray,
    price_sensitivity: np.ndarray,
    u: np.ndarray,
    cp,
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


def ltr_score(loyalty: np.ndarray, satisfaction: np.ndarray, affect: np.ndarray, cp) -> np.ndarray:
    """Latent 0–10 likelihood to recommend: ``center + slope·(score − 0.6)`` with score =
    w_L·L + w_s·s + w_m·(0.5 + 0.5·a) (defaults 0.55, 0.3, 0.15: ``ltr_loyalty_weight``,
    ``ltr_satisfaction_weight``, ``ltr_mood_weight``)."""
    score = np.multiply(
        loyalty, cp.ltr_loyalty_weight, dtype=np.result_type(loyalty, satisfaction, affect)
    )
    score += cp.ltr_satisfaction_weight * satisfaction
    mood = 0.5 * affect
    mood += 0.5
    mood *= cp.ltr_mood_weight
    score += mood
    score -= 0.6
    score *= cp.ltr_slope
    score += cp.ltr_center
    return score


def likelihood_to_recommend(
    loyalty: np.ndarray,
    satisfaction: np.ndarray,
    affect: np.ndarray,
    cp,
    scale_use: np.ndarray | float = 0.0,
    noise: np.ndarray | float = 0.0,
) -> np.ndarray:
    """The 0–10 answer (Reichheld 2003) as an ordinal measurement of the latent score
    (:func:`ltr_score`): ``clip(round(latent + scale_use + ltr_noise·z), 0, 10)`` with the
    customer's own scale-use offset (Baumgartner & Steenkamp 2001: response styles) and this
    week's standard-normal ``noise`` z. The share answering 9–10 is then a smooth function of
    the latent score, not a knife-edge at a rounding constant."""
    score = ltr_score(loyalty, satisfaction, affect, cp)
    score += scale_use
    score += np.float32(cp.ltr_noise) * noise
    np.rint(score, out=score)
    return np.clip(score, 0, 10, out=score).astype(np.int8)


def csat_answer(
    satisfaction: np.ndarray,
    cp,
    scale_use: np.ndarray | float = 0.0,
    noise: np.ndarray | float = 0.0,
) -> np.ndarray:
    """The 1–5 CSAT answer: ``clip(floor(3.5 + csat_slope·(s − csat_threshold) + 0.4·scale_use +
    csat_noise·z + 0.5), 1, 5)``; 4–5 ("satisfied", top-two-box) at ``s ≥ csat_threshold``
    without noise."""
    latent = 3.5 + cp.csat_slope * (satisfaction - np.float32(cp.csat_threshold))
    latent = latent + 0.4 * scale_use + np.float32(cp.csat_noise) * noise
    return np.clip(np.floor(latent + 0.5), 1, 5).astype(np.int8)


def purchase_probability(
    base_rate: np.ndarray, loyalty: np.ndarray, uplift: np.ndarray, economy: float, cp
) -> np.ndarray:
    """A customer's weekly probability of a purchase occasion at their firm:
    ``min(rate_i · share_of_wallet(L) · uplift · economy, purchase_rate_cap)``.

    ``rate_i`` is the customer's own base rate (heterogeneous, gamma across customers: the NBD
    mixing distribution of customer-base analysis); ``uplift`` the omnichannel visit uplift of
    the channels they use."""
    prob = share_of_wallet(loyalty, cp)
    prob *= base_rate
    prob *= uplift
    prob *= np.float32(economy)
    return np.minimum(prob, np.float32(cp.purchase_rate_cap), out=prob)


def share_of_wallet(loyalty: np.ndarray, cp) -> np.ndarray:
    """Purchase-frequency multiplier from loyalty: ``exp(sow_loyalty_slope·(L − sow_reference))``.

    Satisfied, loyal customers give the firm a larger share of their category purchases
    (Cooil, Keiningham, Aksoy & Hsu 2007: satisfaction level and its changes move share of
    wallet), so experience reaches spend directly, not only through churn."""
    x = loyalty.astype(np.float32, copy=True)
    x -= np.float32(cp.sow_reference)
    x *= np.float32(cp.sow_loyalty_slope)
    return np.exp(x, out=x)


def churn_hazard(loyalty: np.ndarray, cp, multiplier: float = 1.0) -> np.ndarray:
    """Weekly probability of leaving, capped at 1:
    ``base·exp(−slope·(L − 0.5) − delight·max(L − L_d, 0))·multiplier``.

    The log-hazard falls with loyalty everywhere and faster in the "completely satisfied" zone
    above ``churn_delight_threshold`` L_d: retention gains are largest at the top (Jones &
    Sasser 1995: Xerox's merely satisfied customers were six times less likely to buy again
    than its totally satisfied ones; Mittal & Kamakura 2001: a non-linear
    satisfaction–retention response)."""
    top = np.maximum(loyalty - np.float32(cp.churn_delight_threshold), 0)
    top *= -np.float32(cp.churn_delight_slope)
    hazard = loyalty - 0.5
    hazard *= -cp.churn_loyalty_slope
    hazard += top
    np.exp(hazard, out=hazard)
    hazard *= cp.churn_base * multiplier
    return np.minimum(hazard, 1.0, out=hazard)


def basket_units(
    base_basket: np.ndarray,
    n_channels: np.ndarray,
    personal_accuracy: np.ndarray,
    personalization: np.ndarray,
    cp,
    economy: float = 1.0,
    break_even: float = 0.4,
) -> np.ndarray:
    """Units bought: segment basket × omnichannel uplift × personalisation uplift × economy.

    Omnichannel: ``1 + uplift·(channels used with the firm − 1)``, counting every channel the
    customer has used with this firm (Sopadjieva, Dholakia & Benjamin 2017);
    personalisation: ``1 + uplift·p·max(accuracy − b, 0)/(1 − b)`` with b the break-even accuracy
    (relevant offers sell)."""
    omni = 1.0 + cp.omnichannel_basket_uplift * (n_channels - 1)
    pers = 1.0 + cp.personalization_basket_uplift * personalization * np.maximum(
        personal_accuracy - break_even, 0.0
    ) / (1.0 - break_even)
    return (base_basket * omni * pers * economy).astype(np.float32)


def recover_complaints(
    satisfaction: np.ndarray,
    affect: np.ndarray,
    complainers: np.ndarray,
    u: np.ndarray,
    success: np.ndarray,
    value: np.ndarray,
    cp,
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
