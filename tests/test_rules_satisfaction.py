"""Rule tests: the satisfaction rule is coded as documented (``sim/ODD.md`` §7, ``sim.cognition``,
``sim.emotion``): expectation–disconfirmation, loss aversion λ and the peak–end memory.

These were rows 1, 2b, 3 and 4a of ``VALIDATION.md`` (issue 9) until issue 14 moved them here:
each restates one rule, so it shows that the rule is coded as documented, not that the model
reproduces an emergent pattern. The validation suite keeps the emergent forms (fact 2 on the
model's journeys, fact 4b) in ``tests/validation/test_satisfaction.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import behaviour, cognition, emotion
from tests.validation import (
    asymmetry,
    evaluated_journeys,
    model,
    params,
    satisfaction_journeys,
    seeds,
)

f32 = np.float32
CP = sim.Params().customer


def _journey(quality, expected: float) -> tuple[np.ndarray, ...]:
    """(perceived mean, expectation, remembered affect) of scripted journeys (rows of
    ``quality``): the first three inputs of the satisfaction rule."""
    return _walk(quality, expected)[:3]


def _walk(quality, expected: float) -> tuple[np.ndarray, ...]:
    """:func:`_journey` and the affect at the journey's end."""
    x = np.atleast_2d(np.asarray(quality, f32))
    e = np.full(x.shape[0], expected, f32)
    end, peak = emotion.journey_affect(np.zeros(x.shape[0], f32), x, e, CP)
    return x.mean(axis=1), e, emotion.remembered_affect(peak, end, CP.peak_end_weight), end


# ------------------------------------------------------------------------------------------
# Expectation–disconfirmation (was fact 1)
# ------------------------------------------------------------------------------------------
def test_raising_expectations_lowers_satisfaction_at_fixed_delivered_quality():
    """Every segment's need (baseline expectation) shifted by −0.1, 0, +0.1 with the same seeds:
    the first week's journeys meet exactly the same quality, touchpoint by touchpoint, and no
    journey is more satisfied when expectations are higher (was f01a)."""
    n = 1500
    base = params(n)
    shifts = (-0.1, 0.0, 0.1)
    for seed in seeds(2):
        weeks = {}
        for shift in shifts:
            needs = {
                f"population.segments.{seg.name}.need": seg.need + shift
                for seg in base.population.segments
            }
            weeks[shift] = next(evaluated_journeys(model(params(n, needs), seed), 1))
        for shift in shifts:
            assert np.array_equal(weeks[shift]["experienced"], weeks[0.0]["experienced"])
        low, mid, high = (weeks[s]["satisfaction"] for s in shifts)
        assert (high <= mid + 1e-6).all() and (mid <= low + 1e-6).all()
        assert low.mean() > mid.mean() > high.mean()


def test_expectation_acts_only_through_disconfirmation():
    """``s = s0 + a·v(P − E) + b·(P − 0.5) + m·memory − w·effort``, and the remembered affect is a
    walk on touchpoint − expectation: raising every touchpoint and the expectation by the same δ
    changes satisfaction by exactly ``b·δ`` (Anderson & Sullivan 1993: "expectations do not
    directly affect satisfaction"). Replaces f01b, which checked the same on the model's journeys
    with correlations."""
    rng = np.random.default_rng(3)
    quality = rng.uniform(0.35, 0.75, (200, 5)).astype(f32)
    delta = f32(0.05)
    no_effort = np.zeros(200, f32)
    s0 = cognition.transaction_satisfaction(*_journey(quality, 0.55), no_effort, CP)
    s1 = cognition.transaction_satisfaction(*_journey(quality + delta, 0.55 + delta), no_effort, CP)
    inside = (s0 > 0) & (s0 < 1) & (s1 > 0) & (s1 < 1)  # the rule clips to [0, 1]
    assert inside.mean() > 0.9
    np.testing.assert_allclose(s1[inside] - s0[inside], CP.quality_weight * delta, atol=2e-5)
    # and at fixed delivered quality, satisfaction falls with the expectation, journey by journey
    s_high = cognition.transaction_satisfaction(*_journey(quality, 0.65), no_effort, CP)
    assert (s_high <= s0 + 1e-7).all() and (s_high < s0).mean() > 0.9


# ------------------------------------------------------------------------------------------
# Loss aversion λ (was facts 2b and 3)
# ------------------------------------------------------------------------------------------
def test_default_loss_aversion_is_the_published_value():
    """Tversky & Kahneman 1992: λ = 2.25; Brown et al. 2024 (meta-analysis): 1.96 [1.82, 2.10]."""
    assert 1.8 <= CP.loss_aversion <= 2.3


def test_disconfirmation_term_is_lambda_times_steeper_below_expectations():
    """With memory and effort held at zero, a shortfall of x lowers satisfaction exactly λ times as
    much as a surplus of x raises it (the loss-averse value function in the satisfaction rule)."""
    p = np.full(3, 0.6, f32)
    e = np.array([0.6, 0.7, 0.5], f32)  # met, shortfall 0.1, surplus 0.1
    zero = np.zeros(3, f32)
    s = cognition.transaction_satisfaction(p, e, zero, zero, CP)
    assert (s[0] - s[1]) / (s[2] - s[0]) == pytest.approx(CP.loss_aversion, rel=1e-4)


def test_without_loss_aversion_the_asymmetry_of_the_journeys_vanishes():
    """On the model's own journeys (same seeds), λ = 1 removes most of the asymmetry of fact 2,
    at journey level and at touchpoint (attribute) level: the asymmetry comes from λ (was f02b
    and the model half of f03). Smaller than the validation run: 2 seeds × 2,000 customers."""
    size = (2000, 2, 30, 10)  # customers, seeds, weeks, warm-up
    with_lam = asymmetry(satisfaction_journeys(*size))
    without = asymmetry(satisfaction_journeys(*size, {"customer.loss_aversion": 1.0}))
    assert 0.8 <= without["ratio"] <= 1.25, without
    assert with_lam["ratio"] - without["ratio"] >= 0.2, (with_lam, without)
    assert with_lam["tp_ratio"] - without["tp_ratio"] >= 0.2, (with_lam, without)


# ------------------------------------------------------------------------------------------
# Peak–end memory, duration neglect (was fact 4a)
# ------------------------------------------------------------------------------------------
def episode(quality: list[float], expected: float = 0.6, loyalty: float = 0.6) -> dict[str, float]:
    """One scripted journey of a new customer through the model's rules: affect walk, peak-end
    memory, satisfaction, loyalty update, churn hazard and likelihood to recommend."""
    perceived, e, memory, end = _walk(quality, expected)
    s = cognition.transaction_satisfaction(perceived, e, memory, np.zeros(1, f32), CP)
    loyal = np.array([loyalty], f32)
    cognition.update_loyalty(loyal, s, np.array([0]), np.array([True]), CP)
    return {
        "memory": float(memory[0]),
        "satisfaction": float(s[0]),
        "return_52w": (1.0 - float(behaviour.churn_hazard(loyal, CP)[0])) ** 52,
        "ltr": int(behaviour.likelihood_to_recommend(loyal, s, end, CP)[0]),
        "total_shortfall": float(np.maximum(expected - np.asarray(quality), 0).sum()),
    }


def test_a_milder_end_improves_memory_satisfaction_and_return():
    """Kahneman et al. 1993 (cold-water design): a bad journey extended by mildly positive, or by
    milder negative, touchpoints is remembered better, satisfies more and keeps the customer
    more likely to return — although the second adds total shortfall; doubling a bad journey's
    length barely changes its memory (duration neglect)."""
    bad = [0.6, 0.6, 0.45, 0.45, 0.45]  # expectation 0.6: a journey that ends badly
    r = {
        "bad": episode(bad),
        "bad+mild_positive": episode([*bad, 0.65, 0.65]),
        "bad+milder_negative": episode([*bad, 0.55, 0.55]),
        "short": episode([0.45] * 5),
        "long": episode([0.45] * 10),
    }
    for ext in ("bad+mild_positive", "bad+milder_negative"):
        for key in ("memory", "satisfaction", "return_52w"):
            assert r[ext][key] > r["bad"][key], (ext, key, r)
        assert r[ext]["ltr"] >= r["bad"]["ltr"]
    assert r["bad+milder_negative"]["total_shortfall"] > r["bad"]["total_shortfall"]
    assert r["long"]["total_shortfall"] == pytest.approx(2 * r["short"]["total_shortfall"])
    assert abs(r["long"]["memory"] / r["short"]["memory"] - 1.0) < 0.10
