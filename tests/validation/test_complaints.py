"""Fact 6: a complaint answered later wins back fewer customers.

The complaint share (row 6a until issue 14: 15–22.5% of dissatisfied customers by construction)
and the scripted recovery are rule tests now: ``tests/test_rules_complaints.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.state import CUSTOMER
from tests.validation import REPLICATES, model, params, recoveries, seeds

pytestmark = pytest.mark.validation


@pytest.mark.xfail(
    strict=True,
    reason=(
        "held out, fails: recovered complainers still customers 14+ weeks later fall from 92.0% (answered "
        "at once) to 89.6% (after 2 weeks) but not further (89.7% after 3 weeks), 20 seeds; the "
        "step from 2 to 3 weeks is within seed noise (it went either way on blocks of 5 seeds)"
    ),
)
def test_f06b_later_recovery_wins_back_fewer(record):
    """Same seeds, the focal firm's recovery delay set to 0, 2 or 3 weeks (nothing else changed):
    share of the customers whose complaint made in weeks 2–21 is (or will be) successfully answered who are
    still the firm's customers at week 36.

    A direction: the faster a complaint is resolved, the more complainers buy again (TARP's
    complaint-handling studies for the U.S. Office of Consumer Affairs; the figure usually quoted
    from them — about 95% of complainers buy again when the complaint is resolved quickly, against
    54–70% when it is resolved at all — is second-hand: it was not checked against the report,
    so no size is asserted)."""
    recs = recoveries()
    kept = {d: np.zeros(2) for d in recs}
    for seed in seeds(REPLICATES):
        for delay, rec in recs.items():
            m = model(params(4000), seed)
            m.focal.recovery = rec
            cohort = np.zeros(m.n, dtype=bool)
            for t in range(36):
                m.step()
                w = m._week
                if 2 <= t < 22:
                    # the week's complainers at the focal firm whose answer will succeed: answered
                    # at once (delay 0) or queued for ``delay`` weeks with the outcome drawn now
                    if delay == 0:
                        cohort |= (
                            w["complained"]
                            & w["recovered"]
                            & (w["dealer"] == 0)
                            & (w["start_firm"] == 0)
                        )
                    else:
                        for when, idx, ok in m.focal.complaint_queue:
                            if when == m.steps + delay:
                                cohort[idx[ok & (w["start_firm"][idx] == 0)]] = True
            still = (m.state.status == CUSTOMER) & (m.state.firm == 0)
            kept[delay] += (still[cohort].sum(), cohort.sum())
    won = {d: float(k[0] / k[1]) for d, k in kept.items()}
    delays = sorted(won)
    record(
        "f06b",
        "recovered complainers still customers 14+ weeks later: "
        + ", ".join(f"{100 * won[d]:.1f}% (answer after {d:g} wk)" for d in delays),
        "falls with the delay (strictly from 0 to 3 weeks)",
        won_back=won,
        cohort_size={d: int(kept[d][1]) for d in delays},
        values_kept={d: recs[d].value for d in delays},
    )
    assert all(won[a] >= won[b] for a, b in itertools.pairwise(delays))
    assert won[delays[0]] > won[delays[-1]]
