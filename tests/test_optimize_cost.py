"""The weekly cost of a policy (experiments/optimize/cost.py) against the model's own ledger."""

from __future__ import annotations

import pytest

from experiments.optimize import cost_lines, weekly_cost
from experiments.optimize.cost import with_values
from sim import CXModel, Params, with_updates
from sim.support import support_cost


@pytest.mark.parametrize(
    "updates",
    [
        {},
        {
            "firm.policy.improvement_cadence": 5,
            "firm.support.technological": 0.1,
            "firm.policy.omnichannel": 0.9,
        },
        {
            "firm.support.financial": 1.0,
            "firm.support.human": 0.0,
            "firm.policy.personalization": 1.0,
            "firm.policy.improvement_cadence": 3,
        },
    ],
)
def test_weekly_cost_equals_the_ledger(updates):
    """Over a whole number of improvement cycles, CX spend + support cost booked by the model
    (less the answers to detected problems, which depend on the alarm) = steps x weekly cost."""
    p = with_updates(Params(), {"population.n_customers": 300, **updates})
    cadence = p.firm.policy.improvement_cadence
    steps = cadence * (24 // cadence)
    model = CXModel(p, rng=3, customer_agents=False)
    booked = 0.0
    for _ in range(steps):
        model.step()
        f = model.focal
        booked += (
            f.ledger["cx_spend"]
            + f.ledger["support_cost"]
            - f.contacted * p.mechanism.response_cost
        )
    assert booked / model.scale == pytest.approx(steps * weekly_cost(p), rel=1e-12)


def test_cost_lines_add_up_and_use_the_model_terms():
    p = Params()
    lines = cost_lines(p)
    assert weekly_cost(p) == pytest.approx(sum(lines.values())) == pytest.approx(1355.0)
    assert sum(v for k, v in lines.items() if k.startswith("support.")) == pytest.approx(
        support_cost(p.firm)
    )
    # omnichannel above the technological ceiling costs nothing more
    low_tech = {"firm.support.technological": 0.0}
    assert weekly_cost(
        with_values(p, {**low_tech, "firm.policy.omnichannel": 1.0})
    ) == pytest.approx(weekly_cost(with_values(p, {**low_tech, "firm.policy.omnichannel": 0.3})))
    assert with_values(p, {"firm.support.human": 0.9}) == with_updates(
        p, {"firm.support.human": 0.9}
    )
