"""Customer-level patterns that emerge from the model (issue 14): value concentration,
satisfaction → later spend (share of wallet), a non-linear satisfaction → retention response and
effort → disloyalty. None of them is written into one equation: each comes out of individual
purchase rates and baskets, loyalty dynamics, the share-of-wallet and leaving rules, switching,
word of mouth and the firm's cycle together.

Measured on the default market, 5 seeds × 5,000 customers: focal customers at the end of the
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
        "held out, fails: churn falls across satisfaction quintiles (17.3/13.4/11.4/10.6/9.8% over 26 weeks, 5 seeds) but the top step is not the largest; the leaving hazard's steeper top zone acts on loyalty (cumulative satisfaction), and one journey's satisfaction sorts customers into loyalty zones only loosely"
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
    # at equal satisfaction: within each satisfaction tercile, top vs bottom effort quartile
    within = []
    for lo, hi in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1)):
        top, bottom = [], []
        for p in panels:
            r = pd.Series(p["s"]).rank(pct=True).to_numpy()
            sel = (r > lo) & (r <= hi)
            qe = pd.qcut(pd.Series(p["e"][sel]).rank(method="first"), 4, labels=False).to_numpy()
            top.append(p["lost"][sel][qe == 3])
            bottom.append(p["lost"][sel][qe == 0])
        within.append(float(np.concatenate(top).mean() / max(np.concatenate(bottom).mean(), 1e-9)))
    record(
        "v04",
        "26-week churn by effort quartile (low → high): "
        + " / ".join(f"{x:.1%}" for x in c)
        + f" (top/bottom {c[3] / c[0]:.2f}×); within satisfaction terciles top/bottom "
        + ", ".join(f"{x:.2f}×" for x in within),
        "top effort quartile churns more than the bottom one, also at equal satisfaction",
        churn=c,
        within=within,
    )
    assert c[3] > c[0] and all(x > 1 for x in within)
