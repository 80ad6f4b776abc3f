"""Customer-level patterns that emerge from the model (issue 14): value concentration,
satisfaction → later spend (share of wallet), a non-linear satisfaction → retention response and
effort → disloyalty. None of them is written into one equation: each comes out of individual
purchase rates and baskets, loyalty dynamics, the share-of-wallet and leaving rules, switching,
word of mouth and the firm's cycle together.

Measured on the default market, 20 seeds × 5,000 customers: focal customers at the end of the
burn-in (week 52) are followed for 26 weeks (spend at the focal firm, lost = left or switched);
revenue concentration is over the evaluation window (weeks 53–104) among the focal firm's buyers.
All four were held out: no parameter was set while looking at them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.state import CUSTOMER
from tests.validation import REPLICATES, model, params, seeds

pytestmark = [pytest.mark.validation, pytest.mark.xdist_group("customers")]
T0, H, STEPS = 52, 26, 104


def _panel(seed: int) -> dict:
    m = model(params(5000), seed)
    n = m.n
    revenue, follow = np.zeros(n), np.zeros(n)
    lost = np.zeros(n, dtype=bool)
    snap = {}
    for t in range(1, STEPS + 1):
        m.step()
        w = m._week
        focal_revenue = np.where(w["dealer"] == 0, w["revenue"], 0.0)
        if t > T0:
            revenue += focal_revenue
        if t == T0:
            st = m.state
            mine = np.flatnonzero((st.status == CUSTOMER) & (st.firm == 0))
            snap = {"idx": mine, "s": st.satisfaction[mine].copy(), "e": st.effort[mine].copy()}
        if T0 < t <= T0 + H:
            lost |= w["lost_from"] == 0
            follow += focal_revenue
    i = snap["idx"]
    return {
        "revenue": revenue[revenue > 0],
        "s": snap["s"],
        "e": snap["e"],
        "lost": lost[i],
        "spend": follow[i],
    }


@pytest.fixture(scope="module")
def panels():
    return [_panel(s) for s in seeds(REPLICATES)]


def _top20(x: np.ndarray) -> float:
    x = np.sort(x)[::-1]
    return float(x[: round(0.2 * x.size)].sum() / x.sum())


def test_v01_revenue_is_concentrated_about_60_20(record, panels):
    """Sharp, Romaniuk & Graham 2019, *Marketing's 60/20 Pareto Law* (SSRN 3498097), abstract: "A
    brand's heaviest 20% of buyers generally contribute not much more than half of a brand's
    sales" and "It's wrong to talk about an 80/20 law"; Sharp & Romaniuk 2007, *There is a Pareto
    Law, but not as you know it* (the Ehrenberg-Bass report it confirms), abstract: the top 20%
    "account for around 60% of purchase occasions, not the 80+% widely assumed". So at least
    half, and below 80% (until issue 14 the test asserted 50–70%, an upper bound no abstract
    states)."""
    shares = [_top20(p["revenue"]) for p in panels]
    record(
        "v01",
        f"top 20% of the focal firm's buyers bring {np.mean(shares):.1%} of window revenue "
        f"(seeds: {', '.join(f'{x:.1%}' for x in shares)})",
        "≥ 50% and < 80% on every seed",
        shares=shares,
    )
    assert all(0.50 <= x < 0.80 for x in shares)


def test_v02_satisfaction_goes_with_later_spend(record, panels):
    corr = [float(np.corrcoef(p["s"], p["spend"])[0, 1]) for p in panels]
    record(
        "v02",
        f"corr(satisfaction at week 52, spend at the focal firm in weeks 53–78) = {np.mean(corr):.3f} "
        f"(seeds {min(corr):.3f} … {max(corr):.3f})",
        "> 0 on every seed",
        corr=corr,
    )
    assert all(c > 0 for c in corr)


def _churn_by(panels, key: str, q: int) -> list[float]:
    rates = []
    for k in range(q):
        lost = np.concatenate(
            [
                p["lost"][
                    pd.qcut(pd.Series(p[key]).rank(method="first"), q, labels=False).to_numpy() == k
                ]
                for p in panels
            ]
        )
        rates.append(float(lost.mean()))
    return rates


@pytest.mark.xfail(
    strict=True,
    reason=(
        "held out, fails: churn falls from the lowest to the highest satisfaction quintile "
        "(15.1/10.5/9.9/8.2/7.8% over 26 weeks, 20 seeds) but the top step (0.5 points) is not "
        "the largest (Q2->Q3: 0.7); on 5 seeds the verdict was seed noise (it passed or failed "
        "with the seed block and the random-number generator); the leaving hazard's steeper top "
        "zone acts on loyalty (cumulative satisfaction), and one journey's satisfaction sorts "
        "customers into loyalty zones only loosely"
    ),
)
def test_v03_retention_gains_are_largest_at_the_top(record, panels):
    c = _churn_by(panels, "s", 5)
    drops = [c[k] - c[k + 1] for k in range(4)]
    record(
        "v03",
        "26-week churn by satisfaction quintile (low → high): "
        + " / ".join(f"{x:.1%}" for x in c)
        + f"; drop Q4→Q5 {drops[3]:+.1%} vs Q2→Q3 {drops[1]:+.1%}",
        "falling, and the drop Q4→Q5 larger than Q2→Q3 (increasing returns at the top)",
        churn=c,
    )
    assert c[4] < c[0] and drops[3] > drops[1]


def test_v04_effort_drives_disloyalty(record, panels):
    c = _churn_by(panels, "e", 4)
    record(
        "v04",
        "26-week churn by effort quartile (low → high): "
        + " / ".join(f"{x:.1%}" for x in c)
        + f" (top/bottom {c[3] / c[0]:.2f}×)",
        "top effort quartile churns more than the bottom one",
        churn=c,
    )
    assert c[3] > c[0]


def _logit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression: coefficients and their standard errors."""
    from scipy import optimize

    def nll(b):
        z = x @ b
        return np.sum(np.logaddexp(0, z) - y * z)

    def grad(b):
        return x.T @ (1 / (1 + np.exp(-(x @ b))) - y)

    b = optimize.minimize(nll, np.zeros(x.shape[1]), jac=grad, method="BFGS").x
    p = 1 / (1 + np.exp(-(x @ b)))
    cov = np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x)
    return b, np.sqrt(np.diag(cov))


@pytest.mark.xfail(
    strict=True,
    reason=(
        "held out, fails: at equal satisfaction, effort does not predict leaving (logit coefficient of "
        "standardised effort -0.000 ± 0.017, 20 seeds, 44,008 customers); "
        "satisfaction's coefficient is -0.28 ± 0.02. Why is not established; a candidate: the week-52 "
        "effort is one journey's, a loose proxy for the effort behind a customer's loyalty (as for V3)"
    ),
)
def test_v04b_effort_drives_disloyalty_at_equal_satisfaction(record, panels):
    """Dixon, Freeman & Toman 2010: effort, not (lack of) delight, drives disloyalty, so effort
    must predict leaving at equal satisfaction. Tested as a logistic regression of 'lost within
    26 weeks' on standardised satisfaction and effort with a fixed effect per seed: the effort
    coefficient's 95% interval above 0. (Until the word-of-mouth change of issue 14 this was
    asserted as 'top/bottom effort quartile ratio > 1 within each satisfaction tercile', whose
    three ratios carry a sampling error of about ±0.1 each: they measured 1.05, 1.10, 1.03, then
    1.19, 0.89, 1.20 and on seeds 11–15 0.96, 1.11, 1.39 — noise around a small effect, which the
    regression measures directly.)"""
    rows, lost = [], []
    for k, p in enumerate(panels):
        z = [(v - v.mean()) / v.std() for v in (p["s"], p["e"])]
        seed = np.zeros((p["s"].size, len(panels)))
        seed[:, k] = 1
        rows.append(np.column_stack([seed, *z]))
        lost.append(p["lost"].astype(float))
    b, se = _logit(np.vstack(rows), np.concatenate(lost))
    s_coef, e_coef = b[-2:]
    s_se, e_se = se[-2:]
    record(
        "v04b",
        f"logit(lost in 26 weeks) on standardised satisfaction and effort (seed fixed effects): "
        f"effort {e_coef:+.3f} ± {e_se:.3f}, satisfaction {s_coef:+.3f} ± {s_se:.3f} "
        f"({sum(x.size for x in lost):,} customers)",
        "effort coefficient > 0 with its 95% interval above 0",
        effort=float(e_coef),
        effort_se=float(e_se),
    )
    assert e_coef - 1.96 * e_se > 0
