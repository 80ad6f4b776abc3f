"""Facts 1-4: expectation-disconfirmation, loss aversion and the peak-end memory of a journey."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import behaviour, cognition, emotion
from tests.validation import evaluated_journeys, hinge_slopes, model, params, pooled, seeds

pytestmark = pytest.mark.validation

N, WEEKS, WARMUP = 3000, 40, 10
f32 = np.float32


def journeys(loss_aversion: float) -> dict[str, np.ndarray]:
    p = params(N, {"customer.loss_aversion": loss_aversion})
    chunks = []
    for seed in seeds(3):
        chunks.extend(evaluated_journeys(model(p, seed), WEEKS, WARMUP))
    return pooled(chunks)


@pytest.fixture(scope="module")
def default_journeys():
    return journeys(sim.Params().customer.loss_aversion)


def asymmetry(d: dict[str, np.ndarray]) -> dict[str, float]:
    """Slopes of satisfaction on the journey's disconfirmation (perceived - expected) below and
    above zero, and the same at touchpoint level (Mittal, Ross & Baldasare's attribute level:
    satisfaction on the summed shortfalls and surpluses of the five touchpoints)."""
    gap = d["perceived"] - d["expected"]
    neg, pos = hinge_slopes(gap, d["satisfaction"])
    tp_gap = d["experienced"] - d["expected"][:, None]
    x = np.column_stack(
        [np.ones(gap.size), np.minimum(tp_gap, 0).sum(1), np.maximum(tp_gap, 0).sum(1)]
    )
    b = np.linalg.lstsq(x.astype(float), d["satisfaction"].astype(float), rcond=None)[0]
    return {
        "slope_below": neg,
        "slope_above": pos,
        "ratio": neg / pos,
        "tp_slope_below": float(b[1]),
        "tp_slope_above": float(b[2]),
        "tp_ratio": float(b[1] / b[2]),
        "journeys": int(gap.size),
    }


# ------------------------------------------------------------------------------------------
# Fact 1: expectation-disconfirmation
# ------------------------------------------------------------------------------------------
def test_f01a_raising_expectations_lowers_satisfaction_at_fixed_quality(record):
    """Every segment's need (baseline expectation) shifted by -0.1, 0, +0.1, same seeds: the first
    week's journeys meet exactly the same quality, and satisfaction falls as expectations rise."""
    base = params(N)
    shifts = (-0.1, 0.0, 0.1)
    means = {s: [] for s in shifts}
    higher = 0
    for seed in seeds(3):
        weeks = {}
        for shift in shifts:
            needs = {
                f"population.segments.{seg.name}.need": seg.need + shift
                for seg in base.population.segments
            }
            weeks[shift] = next(evaluated_journeys(model(params(N, needs), seed), 1))
        # fixed delivered quality: identical journeys, touchpoint by touchpoint
        for shift in shifts:
            assert np.array_equal(weeks[shift]["experienced"], weeks[0.0]["experienced"])
            means[shift].append(float(weeks[shift]["satisfaction"].mean()))
        higher += int((weeks[0.1]["satisfaction"] > weeks[0.0]["satisfaction"] + 1e-6).sum())
    sat = {s: float(np.mean(v)) for s, v in means.items()}
    record(
        "f01a",
        f"mean satisfaction {sat[-0.1]:.3f} / {sat[0.0]:.3f} / {sat[0.1]:.3f} at expectations -0.1 / default / +0.1 "
        f"(same delivered quality); journeys more satisfied at +0.1: {higher}",
        "strictly falling, no journey more satisfied",
        mean_satisfaction=sat,
        journeys_more_satisfied=higher,
    )
    assert sat[-0.1] > sat[0.0] > sat[0.1]
    assert higher == 0


@pytest.mark.xdist_group(
    "satisfaction_default_journeys"
)  # shares the module fixture default_journeys
def test_f01b_disconfirmation_explains_satisfaction_better_than_expectation(
    record, default_journeys
):
    d = default_journeys
    s = d["satisfaction"]
    gap = d["perceived"] - d["expected"]
    r_gap = float(np.corrcoef(gap, s)[0, 1])
    r_exp = float(np.corrcoef(d["expected"], s)[0, 1])
    r_perc = float(np.corrcoef(d["perceived"], s)[0, 1])
    x = np.column_stack([np.ones(s.size), d["perceived"], d["expected"]]).astype(float)
    b = np.linalg.lstsq(x, s.astype(float), rcond=None)[0]
    record(
        "f01b",
        f"corr(P-E, S) = {r_gap:.2f} vs corr(E, S) = {r_exp:.2f} (corr(P, S) = {r_perc:.2f}); "
        f"OLS S ~ P + E: {b[1]:.2f}·P {b[2]:+.2f}·E",
        "corr(P-E, S) > |corr(E, S)|, E coefficient < 0",
        corr_gap=r_gap,
        corr_expected=r_exp,
        corr_perceived=r_perc,
        ols=b.tolist(),
        journeys=int(s.size),
    )
    assert r_gap > abs(r_exp)
    assert r_gap > r_perc
    assert b[2] < 0


# ------------------------------------------------------------------------------------------
# Fact 2: shortfalls weigh more than surpluses
# ------------------------------------------------------------------------------------------
@pytest.mark.xdist_group(
    "satisfaction_default_journeys"
)  # shares the module fixture default_journeys
def test_f02_shortfall_slope_steeper_than_surplus_slope(record, default_journeys):
    a = asymmetry(default_journeys)
    record(
        "f02",
        f"slope below 0 / above 0 = {a['slope_below']:.2f} / {a['slope_above']:.2f} = {a['ratio']:.2f}× "
        f"(journey level, {a['journeys']} journeys)",
        "1.5–2.5×",
        **a,
    )
    assert 1.5 <= a["ratio"] <= 2.5


@pytest.mark.xdist_group(
    "satisfaction_default_journeys"
)  # shares the module fixture default_journeys
def test_f02b_shortfall_slope_steeper_at_touchpoint_level(record, default_journeys):
    """The same asymmetry measured at attribute (touchpoint) level, as Mittal, Ross & Baldasare
    (1998) measure it: satisfaction on the summed touchpoint shortfalls and surpluses."""
    a = asymmetry(default_journeys)
    record(
        "f02b",
        f"slope per unit of touchpoint shortfall / surplus = {a['tp_slope_below']:.3f} / {a['tp_slope_above']:.3f} "
        f"= {a['tp_ratio']:.2f}×",
        "1.5–2.5×",
        **a,
    )
    assert 1.5 <= a["tp_ratio"] <= 2.5


# ------------------------------------------------------------------------------------------
# Fact 3: loss aversion λ ≈ 2
# ------------------------------------------------------------------------------------------
@pytest.mark.xdist_group(
    "satisfaction_default_journeys"
)  # shares the module fixture default_journeys
def test_f03_loss_aversion_default_and_no_asymmetry_without_it(record, default_journeys):
    lam = sim.Params().customer.loss_aversion
    with_lam = asymmetry(default_journeys)
    without = asymmetry(journeys(1.0))
    record(
        "f03",
        f"default λ = {lam:g}; asymmetry (fact 2, journey level) {with_lam['ratio']:.2f}× at λ = {lam:g} "
        f"→ {without['ratio']:.2f}× at λ = 1 (touchpoint level {with_lam['tp_ratio']:.2f}× → {without['tp_ratio']:.2f}×)",
        "λ in [1.8, 2.3]; ratio at λ = 1 in [0.8, 1.25] and ≥ 0.2 below the default's",
        loss_aversion=lam,
        default=with_lam,
        lambda_1=without,
    )
    assert 1.8 <= lam <= 2.3
    assert 0.8 <= without["ratio"] <= 1.25
    assert with_lam["ratio"] - without["ratio"] >= 0.2


# ------------------------------------------------------------------------------------------
# Fact 4: peak-end rule, duration neglect
# ------------------------------------------------------------------------------------------
def episode(
    quality: list[float], expected: float = 0.6, loyalty: float = 0.6, tenure: int = 0
) -> dict[str, float]:
    """One scripted journey of a new customer through the model's rules: affect walk, peak-end
    memory, satisfaction, loyalty update, churn hazard and likelihood to recommend."""
    cp = sim.Params().customer
    x = np.array([quality], f32)
    e = np.array([expected], f32)
    end, peak = emotion.journey_affect(np.zeros(1, f32), x, e, cp)
    memory = emotion.remembered_affect(peak, end, cp.peak_end_weight)
    s = cognition.transaction_satisfaction(x.mean(axis=1), e, memory, np.zeros(1, f32), cp)
    loyal = np.array([loyalty], f32)
    cognition.update_loyalty(loyal, s, np.array([tenure]), np.array([True]), cp)
    hazard = float(behaviour.churn_hazard(loyal, cp)[0])
    return {
        "memory": float(memory[0]),
        "satisfaction": float(s[0]),
        "loyalty": float(loyal[0]),
        "return_52w": (1.0 - hazard) ** 52,
        "ltr": int(behaviour.likelihood_to_recommend(loyal, s, end, cp)[0]),
        "total_shortfall": float(np.maximum(e[:, None] - x, 0).sum()),
    }


def test_f04a_peak_end_scripted_journeys(record):
    bad = [0.6, 0.6, 0.45, 0.45, 0.45]  # expectation 0.6: a journey that ends badly
    mild_pos = [*bad, 0.65, 0.65]  # two mildly positive touchpoints added at the end
    milder_neg = [*bad, 0.55, 0.55]  # Kahneman et al. 1993: more of the bad, but milder, at the end
    short, long_ = [0.45] * 5, [0.45] * 10  # the same bad touchpoint, twice as long
    r = {
        k: episode(v)
        for k, v in {
            "bad": bad,
            "bad+mild_positive": mild_pos,
            "bad+milder_negative": milder_neg,
            "short": short,
            "long": long_,
        }.items()
    }
    duration_effect = r["long"]["memory"] / r["short"]["memory"] - 1.0
    record(
        "f04a",
        f"bad journey + 2 mildly positive touchpoints: remembered affect {r['bad']['memory']:.2f} → "
        f"{r['bad+mild_positive']['memory']:.2f}, satisfaction {r['bad']['satisfaction']:.2f} → "
        f"{r['bad+mild_positive']['satisfaction']:.2f}, 52-week return probability {r['bad']['return_52w']:.2f} → "
        f"{r['bad+mild_positive']['return_52w']:.2f}; with a milder negative tail (more total shortfall) "
        f"{r['bad']['return_52w']:.2f} → {r['bad+milder_negative']['return_52w']:.2f}; doubling a bad journey's "
        f"length (twice the shortfall) makes its memory only {100 * duration_effect:.0f}% worse",
        "memory, satisfaction and return rise with the added end; duration effect < 10%",
        episodes=r,
        duration_effect=duration_effect,
    )
    for ext in ("bad+mild_positive", "bad+milder_negative"):
        assert r[ext]["memory"] > r["bad"]["memory"]
        assert r[ext]["satisfaction"] > r["bad"]["satisfaction"]
        assert r[ext]["return_52w"] > r["bad"]["return_52w"]
        assert r[ext]["ltr"] >= r["bad"]["ltr"]
    assert r["bad+milder_negative"]["total_shortfall"] > r["bad"]["total_shortfall"]
    assert r["long"]["total_shortfall"] == pytest.approx(2 * r["short"]["total_shortfall"])
    assert abs(duration_effect) < 0.10


@pytest.mark.xdist_group(
    "satisfaction_default_journeys"
)  # shares the module fixture default_journeys
def test_f04b_real_journeys_weigh_the_end_and_the_peak(record, default_journeys):
    """On the model's own journeys: satisfaction regressed on the five touchpoints' quality (and
    the expectation) weighs the last touchpoint most, and the worst touchpoint beyond its share
    of the mean."""
    d = default_journeys
    s, x, e = (
        d["satisfaction"].astype(float),
        d["experienced"].astype(float),
        d["expected"].astype(float),
    )
    one = np.ones(s.size)
    w = np.linalg.lstsq(np.column_stack([one, x, e]), s, rcond=None)[0][1:6]
    b = np.linalg.lstsq(np.column_stack([one, x.mean(1), x.min(1), x[:, -1], e]), s, rcond=None)[0]
    record(
        "f04b",
        f"touchpoint weights {', '.join(f'{v:.2f}' for v in w)} (end/first = {w[-1] / w[0]:.2f}); "
        f"worst touchpoint's extra weight {b[2]:.2f} beyond the mean",
        "last touchpoint weighs most (≥ 1.15× the first), worst touchpoint's extra weight > 0",
        touchpoint_weights=w.tolist(),
        mean_min_end_expected=b[1:].tolist(),
    )
    assert int(np.argmax(w)) == len(w) - 1
    assert w[-1] / w[0] >= 1.15
    assert b[2] > 0
