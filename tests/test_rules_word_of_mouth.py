"""Rule tests: who talks after a journey (``sim.wom.senders``) is the documented asymmetric U in
satisfaction (Anderson 1998; ``sim/ODD.md`` §7).

This was row 5a of ``VALIDATION.md`` (issue 9) until issue 14 moved it here: the U is written
into one rule, so measuring it on the model's journeys only re-read that rule. The emergent part,
the aggregate positive:negative ratio, stays in ``tests/validation/test_word_of_mouth.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import wom

CP = sim.Params().customer
S = np.linspace(0.0, 1.0, 101, dtype=np.float32)
M = 4000  # evenly spaced uniform draws per satisfaction level


def talk_shares(sociability: float) -> tuple[np.ndarray, np.ndarray]:
    """Share of customers who recommend and who warn, at each satisfaction in ``S``, with the
    uniform draw run over an even grid: the propensities to within 1/M."""
    s = np.repeat(S, M)
    u = np.tile((np.arange(M, dtype=np.float32) + 0.5) / M, S.size)
    journey = np.ones(s.size, dtype=bool)
    rec, warn = wom.senders(s, journey, np.full(s.size, sociability, np.float32), u, CP)
    return rec.reshape(S.size, M).mean(axis=1), warn.reshape(S.size, M).mean(axis=1)


@pytest.mark.parametrize("sociability", [0.5, 1.0, 1.5])
def test_propensities_are_the_documented_u(sociability):
    """``rate⁺·(s − s_n)/(1 − s_n)`` above the neutral point, ``rate⁻·(s_n − s)/s_n`` below it,
    times the sociability (capped at 1); nobody does both, nobody talks at the neutral point."""
    rec, warn = talk_shares(sociability)
    s_n = CP.wom_neutral
    up = np.clip(CP.wom_positive_rate * np.maximum(S - s_n, 0) / (1 - s_n) * sociability, 0, 1)
    down = np.clip(CP.wom_negative_rate * np.maximum(s_n - S, 0) / s_n * sociability, 0, 1)
    np.testing.assert_allclose(rec, up, atol=1.5 / M)
    np.testing.assert_allclose(warn, down, atol=1.5 / M)
    assert not ((rec > 0) & (warn > 0)).any()
    talk = rec + warn
    assert talk[np.abs(S - s_n) < 0.005].max() < 1.5 / M  # the bottom of the U
    assert (np.diff(talk[S <= s_n]) <= 1.5 / M).all() and (
        np.diff(talk[S >= s_n]) >= -1.5 / M
    ).all()


def test_the_dissatisfied_end_talks_more_than_the_satisfied_end():
    """At the two ends of the scale the propensities are the two rates, so the completely
    dissatisfied talk ``wom_negative_rate / wom_positive_rate`` times as often as the completely
    satisfied (> 1: the asymmetric U), and a warning counts ``negative_reach`` times in the
    messages delivered. (Until issue 14 this was measured on the model's journeys and held to
    1.5–3×, a range with no source figure; on those journeys the outer fifths gave 1.81×.)"""
    rec, warn = talk_shares(1.0)
    talk = rec + warn
    ratio = talk[0] / talk[-1]
    assert ratio == pytest.approx(CP.wom_negative_rate / CP.wom_positive_rate, rel=2e-3)
    assert ratio > 1
    messages = (rec + CP.negative_reach * warn)[0] / talk[-1]
    assert messages == pytest.approx(ratio * CP.negative_reach, rel=1e-6)
