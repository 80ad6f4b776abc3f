"""The BG/NBD model (Fader, Hardie & Lee 2005), fitted by maximum likelihood with scipy: the
standard customer-base model every calibration is shown beside.

While active a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop
out with probability p ~ Beta(a, b). Inputs per customer: x repeat transactions in the
calibration window, t_x the time of the last one and T the time observed, both from the first
purchase (in weeks). The forecast of a customer's transactions in the next t weeks is the
conditional expectation of the paper's equation (10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float
    loglik: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b, "loglik": self.loglik}

    def expected_unconditional(self, t: np.ndarray) -> np.ndarray:
        """E[X(t)]: expected repeat transactions in the first t weeks after the first purchase."""
        r, al, a, b = self.r, self.alpha, self.a, self.b
        t = np.maximum(np.asarray(t, dtype=float), 0.0)
        z = t / (al + t)
        return (
            (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
        )

    def expected_conditional(
        self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected transactions in (T, T + t] for each customer."""
        r, al, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        z = t / (al + T + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((al + T) / (al + T + t)) ** (r + x) * special.hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        denom = 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((al + T) / (al + t_x)) ** (r + x)
        return head * body / denom


def loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    """The BG/NBD log-likelihood of (r, α, a, b) for the customers (x, t_x, T)."""
    r, al, a, b = params
    g = special.gammaln
    base = g(r + x) - g(r) + r * np.log(al)
    a1 = g(a + b) + g(b + x) - g(b) - g(a + b + x) - (r + x) * np.log(al + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = np.where(
            x > 0,
            np.log(a)
            + g(a + b)
            + g(b + x)
            - g(b)
            - g(a + b + x)
            - np.log(np.maximum(b + x - 1, 1e-300))
            - (r + x) * np.log(al + t_x),
            -np.inf,
        )
    return float(np.sum(base + np.logaddexp(a1, a2)))


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD:
    """Maximum-likelihood (r, α, a, b), optimised on the log scale within bounds (L-BFGS-B,
    then Powell to polish)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    scale = max(float(T.mean()), 1.0)

    def nll(theta: np.ndarray) -> float:
        p = np.exp(theta)
        p[1] *= scale  # α is in weeks: optimise α / mean T for conditioning
        value = -loglik(p, x, t_x, T)
        return value if np.isfinite(value) else 1e300

    theta0 = np.log([0.5, 0.1, 1.0, 2.0])
    bounds = [(-9.0, 9.0)] * 4  # each parameter in [1e-4, 8e3] (α / mean T for α)
    res = optimize.minimize(nll, theta0, method="L-BFGS-B", bounds=bounds)
    res = optimize.minimize(
        nll, res.x, method="Powell", bounds=bounds, options={"xtol": 1e-8, "ftol": 1e-12}
    )
    p = np.exp(res.x)
    p[1] *= scale
    return BGNBD(float(p[0]), float(p[1]), float(p[2]), float(p[3]), float(-res.fun))


def weekly_forecast(
    model: BGNBD,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weeks: int,
    acquisition_offset: np.ndarray,
    calibration_weeks: int,
) -> np.ndarray:
    """Expected repeat transactions of the cohort in each week 1..calibration+weeks: in the
    calibration window the unconditional E[X(t)] from each customer's first purchase
    (``acquisition_offset``: weeks from the start to the first purchase), after it the
    conditional expectation given the window."""
    cal = np.zeros(calibration_weeks)
    prev = np.zeros_like(acquisition_offset, dtype=float)
    for w in range(1, calibration_weeks + 1):
        now = model.expected_unconditional(np.maximum(w - acquisition_offset, 0.0))
        cal[w - 1] = float(np.sum(now - prev))
        prev = now
    hold = np.zeros(weeks)
    prev_h = np.zeros_like(x, dtype=float)
    for w in range(1, weeks + 1):
        now = model.expected_conditional(float(w), x, t_x, T)
        hold[w - 1] = float(np.sum(now - prev_h))
        prev_h = now
    return np.concatenate([cal, hold])
