"""Emotional component: affect that reacts to every touchpoint and is remembered by peak and end.

* Touchpoint reaction follows prospect theory's value function: a shortfall against the
  expectation moves affect ``loss_aversion`` times more than an equal surplus
  (Kahneman & Tversky 1979; Tversky & Kahneman 1992, λ ≈ 2.25).
* Affect carries over from one touchpoint to the next and decays toward the baseline (0)
  between weeks.
* The journey is remembered by its most intense moment and its end, not its duration
  (peak–end rule: Kahneman, Fredrickson, Schreiber & Redelmeier 1993; Redelmeier, Katz &
  Kahneman 2003).
"""

from __future__ import annotations

import numpy as np


def loss_averse(d: np.ndarray, loss_aversion: float) -> np.ndarray:
    """Prospect-theory value of a disconfirmation ``d``: ``d`` if d >= 0, ``λ·d`` otherwise."""
    return np.where(d >= 0, d, np.float32(loss_aversion) * d)


def journey_affect(
    affect: np.ndarray, experienced: np.ndarray, expected: np.ndarray, cp
) -> tuple[np.ndarray, np.ndarray]:
    """Walk the touchpoints; return (affect at the end, peak affect) per customer.

    ``affect`` (N,) is the mood at the start of the journey, ``experienced`` (N, T) the
    quality met at each touchpoint, ``expected`` (N,) the expectation.  At each touchpoint
    ``a ← carry·a + gain·v(x − e)`` clipped to [−1, 1]; the peak is the value of largest
    magnitude reached during the journey.
    """
    a = affect.astype(np.float32, copy=True)
    peak = np.zeros_like(a)
    carry = np.float32(cp.affect_carry)
    # the reaction gain·v(x − e) to every touchpoint at once, one row per touchpoint
    reaction = loss_averse(np.ascontiguousarray(experienced.T) - expected, cp.loss_aversion)
    reaction *= np.float32(cp.affect_gain)
    for r in reaction:
        a *= carry
        a += r
        np.clip(a, -1.0, 1.0, out=a)
        peak = np.where(np.abs(a) > np.abs(peak), a, peak)
    return a, peak


def remembered_affect(peak: np.ndarray, end: np.ndarray, peak_weight: float) -> np.ndarray:
    """Peak–end memory of a journey: ``w·peak + (1 − w)·end`` (duration plays no part)."""
    return np.float32(peak_weight) * peak + np.float32(1.0 - peak_weight) * end


def decay_affect(affect: np.ndarray, rate: float) -> None:
    """Weekly relaxation of affect toward the baseline 0, in place."""
    affect *= np.float32(1.0 - rate)
