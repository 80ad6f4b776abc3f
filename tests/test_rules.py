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
    return float(transaction_satisfaction(x.mean(axis=1), e, mem, np.zeros(1, f32), CP)[0]), float(end[0])


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
    m_short = remembered_affect(*reversed(journey_affect(np.zeros(1, f32), short, e, CP)), CP.peak_end_weight)
    m_long = remembered_affect(*reversed(journey_affect(np.zeros(1, f32), longer, e, CP)), CP.peak_end_weight)
    assert m_long[0] > m_short[0]


def test_raising_expectations_lowers_satisfaction_at_equal_quality():
    quality = [0.65] * 5
    sats = [satisfaction_of(quality, expected=e)[0] for e in (0.5, 0.6, 0.7, 0.8)]
    assert sats == sorted(sats, reverse=True) and sats[0] > sats[-1]


def test_tenure_anchors_loyalty():
    w = loyalty_weight(np.array([0, 26, 260]), CP)
    assert w[0] == pytest.approx(CP.loyalty_learning)
    assert w[0] > w[1] > w[2] >= CP.loyalty_learning_floor
