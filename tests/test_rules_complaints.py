"""Rule tests: who complains, and what a late answer is worth (``sim/ODD.md`` §7,
``sim.model.CXModel._phase_complaints``, ``sim.support.recovery``).

Row 6a of ``VALIDATION.md`` (issue 9: "complaints are 5–30% of dissatisfied customers", TARP
1979) and the scripted half of 6b lived in ``tests/validation/`` until issue 14 moved them here:
the complaint share is 15–22.5% by construction (``complaint_rate`` 0.15, raised by half after a
service failure), so measuring it re-reads the rule. The emergent half of 6b — complainers
answered later are kept less often — stays in ``tests/validation/test_complaints.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import sim
from sim import behaviour, cognition
from tests.validation import model, params, recoveries, seeds

CP = sim.Params().customer


def test_dissatisfied_customers_complain_at_the_coded_rate():
    """Among the week's dissatisfied journeys (satisfaction below ``complaint_threshold``) the share
    who complain is ``complaint_rate`` without a service failure and
    ``complaint_rate·(1 + complaint_failure_boost)`` after one, within binomial error; satisfied
    customers never complain."""
    p = params(3000, {"journey.failure_rate": 0.2})  # more failures: both cells well filled
    counts = np.zeros((2, 2))  # [no failure, failure] × [dissatisfied, complained]
    for seed in seeds(2):
        m = model(p, seed)
        for _ in range(20):
            m.step()
            w = m._week
            dis, comp, failed = w["j_dissatisfied"], w["j_complained"], w["j_failed_any"]
            assert not (comp & ~dis).any()
            for f in (0, 1):
                sel = dis & (failed == bool(f))
                counts[f] += (sel.sum(), (comp & sel).sum())
    for f, rate in enumerate(
        (CP.complaint_rate, CP.complaint_rate * (1 + CP.complaint_failure_boost))
    ):
        n, k = counts[f]
        assert n > 500
        assert abs(k / n - rate) <= 4 * np.sqrt(rate * (1 - rate) / n), (f, k / n, rate)
    share = counts[:, 1].sum() / counts[:, 0].sum()
    assert CP.complaint_rate <= share <= CP.complaint_rate * (1 + CP.complaint_failure_boost)


def test_a_later_answer_restores_less_and_keeps_fewer():
    """The focal firm's recovery at human support 1, 0.5 and 0 comes after 0, 2 and 3 weeks and
    keeps ``exp(−delay/4)`` of its value; a dissatisfied customer (s = 0.3, loyalty 0.55, tenure
    26 weeks) whose complaint is answered successfully ends with a higher 52-week retention the
    sooner the answer comes (was the scripted half of f06b)."""
    recs = recoveries()
    decay = sim.Params().mechanism.recovery_value_decay
    assert sorted(recs) == [0, 2, 3]
    retention = {}
    for delay, rec in sorted(recs.items()):
        assert rec.value == pytest.approx(np.exp(-delay / decay))
        s, a = np.array([0.3], np.float32), np.zeros(1, np.float32)
        ok = behaviour.recover_complaints(
            s, a, np.array([0]), np.zeros(1, np.float32), np.float32(rec.success),
            np.float32(rec.value), CP,
        )  # fmt: skip
        assert ok.all()
        assert s[0] == pytest.approx(0.3 + CP.recovery_boost * rec.value, abs=1e-6)
        loyal = np.array([0.55], np.float32)
        cognition.update_loyalty(loyal, s, np.array([26]), np.array([True]), CP)
        retention[delay] = float((1.0 - behaviour.churn_hazard(loyal, CP)[0]) ** 52)
    assert all(retention[a] > retention[b] for a, b in itertools.pairwise(sorted(retention)))
