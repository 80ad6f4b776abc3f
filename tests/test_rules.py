"""Scripted behaviour tests of the core rules, with exact expected outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.cognition import loyalty_weight, transaction_satisfaction
from sim.emotion import journey_affect, loss_averse, remembered_affect
from sim.params import CustomerParams

CP = CustomerParams()
f32 = np.float32


def satisfaction_of(experienced, expected=0.6):
    x = np.array([experienced], dtype=f32)
    e = np.array([expected], dtype=f32)
    end, peak = journey_affect(np.zeros(1, f32), x, e, CP)
    mem = remembered_affect(peak, end, CP.peak_end_weight)
    return float(transaction_satisfaction(x.mean(axis=1), e, mem, np.zeros(1, f32), CP)[0]), float(
        end[0]
    )


def test_loss_averse_value_function_is_exact():
    d = np.array([0.1, -0.1, 0.0], dtype=f32)
    np.testing.assert_allclose(loss_averse(d, 2.0), [0.1, -0.2, 0.0], rtol=1e-6)


def test_shortfall_moves_affect_more_than_equal_surplus():
    e = np.full(2, 0.6, f32)
    x = np.array([[0.7] * 5, [0.5] * 5], dtype=f32)  # +0.1 surplus vs -0.1 shortfall
    end, _ = journey_affect(np.zeros(2, f32), x, e, CP)
    assert end[0] > 0 > end[1]
    assert abs(end[1]) == pytest.approx(CP.loss_aversion * end[0], rel=1e-5)


def test_single_touchpoint_affect_is_gain_times_value():
    e = np.array([0.6], f32)
    end, peak = journey_affect(np.zeros(1, f32), np.array([[0.5]], f32), e, CP)
    assert end[0] == pytest.approx(-CP.affect_gain * CP.loss_aversion * 0.1, rel=1e-5)
    assert peak[0] == end[0]


def test_bad_end_hurts_more_than_same_bad_touchpoint_in_middle():
    good, bad = 0.65, 0.2
    middle = [good, good, bad, good, good]
    ending = [good, good, good, good, bad]
    s_mid, _ = satisfaction_of(middle)
    s_end, _ = satisfaction_of(ending)
    assert s_end < s_mid
    # perceived quality (the mean) is the same: the difference is the peak-end memory alone
    assert np.mean(middle) == pytest.approx(np.mean(ending))


def test_duration_neglect_adding_mild_positive_end_raises_memory():
    """Kahneman et al. 1993: extending a bad episode with a milder ending improves its memory."""
    e = np.full(1, 0.6, f32)
    short = np.array([[0.6, 0.6, 0.6, 0.6, 0.2]], f32)
    longer = np.array([[0.6, 0.6, 0.6, 0.2, 0.62]], f32)
    m_short = remembered_affect(
        *reversed(journey_affect(np.zeros(1, f32), short, e, CP)), CP.peak_end_weight
    )
    m_long = remembered_affect(
        *reversed(journey_affect(np.zeros(1, f32), longer, e, CP)), CP.peak_end_weight
    )
    assert m_long[0] > m_short[0]


def test_raising_expectations_lowers_satisfaction_at_equal_quality():
    quality = [0.65] * 5
    sats = [satisfaction_of(quality, expected=e)[0] for e in (0.5, 0.6, 0.7, 0.8)]
    assert sats == sorted(sats, reverse=True) and sats[0] > sats[-1]


def test_tenure_anchors_loyalty():
    w = loyalty_weight(np.array([0, 26, 260]), CP)
    assert w[0] == pytest.approx(CP.loyalty_learning)
    assert w[0] > w[1] > w[2] >= CP.loyalty_learning_floor


# --------------------------------------------------------------------------------------------
# customers who behave like real ones (issue 14): exact checks of the new rules
# --------------------------------------------------------------------------------------------
from sim import behaviour, cognition, wom  # noqa: E402
from sim.model import CXModel  # noqa: E402
from sim.params import Params, with_updates  # noqa: E402


def test_share_of_wallet_and_purchase_probability_are_exact():
    L = np.array([0.4, 0.6, 0.8], dtype=f32)
    sow = behaviour.share_of_wallet(L, CP)
    np.testing.assert_allclose(
        sow, np.exp(CP.sow_loyalty_slope * (L - CP.sow_reference)), rtol=1e-6
    )
    rate = np.array([0.2, 0.2, 0.9], dtype=f32)
    prob = behaviour.purchase_probability(rate, L, np.ones(3, f32), 1.0, CP)
    np.testing.assert_allclose(prob[:2], rate[:2] * sow[:2], rtol=1e-6)
    assert prob[2] == pytest.approx(CP.purchase_rate_cap)  # capped
    assert prob[0] < prob[1] < prob[2]  # the loyal buy more often


def test_churn_hazard_falls_fastest_in_the_completely_satisfied_zone():
    thr = CP.churn_delight_threshold
    L = np.array([thr - 0.2, thr - 0.1, thr, thr + 0.1], dtype=np.float64)
    h = behaviour.churn_hazard(L, CP)
    expected = CP.churn_base * np.exp(
        -CP.churn_loyalty_slope * (L - 0.5) - CP.churn_delight_slope * np.maximum(L - thr, 0)
    )
    np.testing.assert_allclose(h, expected, rtol=1e-6)
    assert (
        h[0] - h[1] > 0 and h[2] / h[3] > h[0] / h[1]
    )  # a steeper relative fall above the threshold


def test_effort_lowers_loyalty_at_equal_satisfaction():
    s = np.full(2, 0.7, f32)
    tenure = np.zeros(2, np.int32)
    loyalty = np.full(2, 0.6, f32)
    excess = np.array([0.0, 0.2], dtype=f32)
    cognition.update_loyalty(loyalty, s, tenure, None, CP, excess)
    w = float(cognition.loyalty_weight(tenure[:1], CP)[0])
    assert loyalty[0] == pytest.approx(0.6 + w * (0.7 - 0.6), abs=1e-6)
    assert loyalty[1] == pytest.approx(
        0.6 + w * (0.7 - CP.effort_loyalty_weight * 0.2 - 0.6), abs=1e-6
    )


def test_ltr_answer_is_the_rounded_latent_without_noise_and_smooth_with_it():
    L, s, a = (np.full(1, 0.6, f32), np.full(1, 0.6, f32), np.zeros(1, f32))
    latent = float(behaviour.ltr_score(L, s, a, CP)[0])
    assert behaviour.likelihood_to_recommend(L, s, a, CP)[0] == np.clip(np.rint(latent), 0, 10)
    # with noise and scale use, the share of promoters moves smoothly with the centre constant
    rng = np.random.default_rng(0)
    n = 200_000
    z, off = rng.standard_normal(n).astype(f32), rng.normal(0, CP.ltr_scale_sd, n).astype(f32)
    Ln, sn, an = np.full(n, 0.6, f32), np.full(n, 0.6, f32), np.zeros(n, f32)
    shares = []
    for center in (8.4, 8.5, 8.6):
        cp = with_updates(Params(), {"customer.ltr_center": center}).customer
        shares.append(
            float((behaviour.likelihood_to_recommend(Ln, sn, an, cp, off, z) >= 9).mean())
        )
    assert shares[0] < shares[1] < shares[2]
    assert shares[2] - shares[0] < 0.06  # no knife-edge: 0.2 scale points move few answers


def test_csat_answer_top_two_box_at_the_threshold_without_noise():
    s = np.array([CP.csat_threshold - 0.01, CP.csat_threshold, 1.0, 0.0], dtype=f32)
    ans = behaviour.csat_answer(s, CP)
    assert ans.tolist()[:2] == [3, 4] and ans[2] == 5 and ans[3] == 1


def test_word_of_mouth_about_a_rival_does_not_move_the_focal_expectation():
    att = np.full((1, 2), 0.5, f32)
    exp = np.full((1, 2), 0.6, f32)
    pos = np.array([[0.0, 3.0]], dtype=f32)  # three recommendations of the rival
    said = pos * f32(0.9)  # each from a talker at satisfaction 0.9
    wom.listen(att, exp, pos, np.zeros_like(pos), said, np.zeros_like(pos), CP)
    assert exp[0, 0] == pytest.approx(0.6) and att[0, 0] == pytest.approx(0.5)
    assert exp[0, 1] == pytest.approx(0.6 + 3 * CP.wom_expectation_weight)
    assert att[0, 1] == pytest.approx(0.5 + CP.wom_attitude_weight * 3 * (0.9 - 0.5))


def test_word_of_mouth_moves_attitude_toward_the_reported_experience_not_past_it():
    """A message pulls the attitude toward the talker's satisfaction, as an own episode does:
    praise from a talker at 0.7 lowers an attitude of 0.8; a warning from one at 0.3 raises an
    attitude of 0.1; the pull is capped at five messages of each kind."""
    att = np.array([[0.8, 0.1]], dtype=f32)
    exp = np.full((1, 2), 0.6, f32)
    pos = np.array([[2.0, 0.0]], dtype=f32)
    neg = np.array([[0.0, 1.0]], dtype=f32)
    wom.listen(att, exp, pos, neg, pos * f32(0.7), neg * f32(0.3), CP)
    w = CP.wom_attitude_weight
    assert att[0, 0] == pytest.approx(0.8 + w * 2 * (0.7 - 0.8))
    assert att[0, 1] == pytest.approx(0.1 + w * 1 * (0.3 - 0.1))
    many = np.array([[50.0, 5.0]], dtype=f32)
    att = np.full((1, 2), 0.5, f32)
    wom.listen(att, exp, many, np.zeros_like(many), many * f32(0.9), np.zeros_like(many), CP)
    assert att[0, 0] == pytest.approx(att[0, 1])


def test_reputation_follows_the_mean_rating_of_the_reviews():
    count, rating = wom.reviews(
        np.array([True, True, False, False]),
        np.array([False, False, True, False]),
        np.array([0, 0, 0, 1], dtype=np.int8),
        np.array([0.9, 0.8, 0.2, 0.5], dtype=f32),
        np.zeros(4, dtype=f32),  # every talker posts
        2,
        0.1,
    )
    assert count.tolist() == [3.0, 0.0]
    assert rating[0] == pytest.approx(0.9 + 0.8 + 0.2) and rating[1] == 0.0
    rep = wom.update_reputation(np.array([0.5, 0.5]), count, rating, 0.05)
    assert rep[0] == pytest.approx(0.5 + 0.05 * 0.3 * (1.9 / 3 - 0.5))
    assert rep[1] == 0.5  # no reviews, no change


def test_individual_traits_are_gamma_around_the_segment_values():
    p = with_updates(Params(), {"population.n_customers": 40_000})
    m = CXModel(p, rng=5, customer_agents=False)
    st, cp = m.state, p.customer
    for k in range(m.n_segments):
        seg = st.segment == k
        rel = st.basket[seg] / m.seg_basket[k]
        assert rel.mean() == pytest.approx(1.0, abs=0.02)
        assert rel.std() / rel.mean() == pytest.approx(cp.basket_cv, rel=0.06)
        prel = st.price_sensitivity[seg] / m.seg_price[k]
        assert prel.std() / prel.mean() == pytest.approx(cp.price_sensitivity_cv, rel=0.06)
    # purchase rates: gamma(shape r) times the segment's rate, capped; exponential tail at shape 1
    rate = st.purchase_rate / m.seg_rate[st.segment]
    assert st.purchase_rate.max() <= cp.purchase_rate_cap + 1e-6
    assert cp.purchase_rate_shape == 1.0
    expected_mean = np.mean(
        1.0 - np.exp(-cp.purchase_rate_cap / m.seg_rate[st.segment])
    )  # E[min(g, c)], g ~ Exp(1)
    assert rate.mean() == pytest.approx(expected_mean, abs=0.02)
    assert st.scale_use.std() == pytest.approx(cp.ltr_scale_sd, rel=0.03)


def test_failures_and_complaint_outcomes_are_kept_per_customer():
    p = with_updates(Params(), {"population.n_customers": 3000, "journey.failure_rate": 0.2})
    m = CXModel(p, rng=2, customer_agents=False)
    for _ in range(6):
        m.step()
        w, st = m._week, m.state
        failed = w["j_failed_any"]
        assert (st.last_failure[w["rows"][failed]] == m.steps).all()
        assert (st.last_complaint[w["rows"][w["j_complained"]]] == m.steps).all()
    assert set(np.unique(st.recovery[st.last_complaint >= 0])) <= {0, 1, 2, 3}
    assert (st.recovery[st.last_complaint >= 0] > 0).any()  # answers arrived
