"""Regression tests for the artefacts that made answers untrustworthy: last-week snapshots,
undiscounted profit, money booked but never spent, a feedback rule that cancelled support,
double counting, surveys of customers who had left, zeros where a KPI is undefined, and a
complaint "delay" that delayed nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import CXModel, Params, run_model, with_updates
from sim.journey import CHANNELS, DELIVERY_TP, TOUCHPOINTS
from sim.kpis import RUN, RUN_KPIS, SERIES_BY_NAME
from sim.params import ParamError
from sim.run import evaluation_window, window_kpis
from sim.state import CUSTOMER
from sim.support import quality_modifier, recovery


@pytest.fixture(scope="module")
def small():
    return with_updates(Params(), {"population.n_customers": 600, "evaluation.burn_in": 10})


# ----------------------------------------------------------------------------- the window
def test_every_run_kpi_declares_its_aggregation():
    for k in RUN_KPIS:
        assert k.kind == "run" and k.agg in ("mean", "sum", "last", "final")
        assert k.definition and k.unit
    for k in SERIES_BY_NAME.values():
        assert k.agg in ("mean", "sum", "last", "final")
    assert {
        "firm_value",
        "annual_churn",
        "total_profit",
        "final_market_share",
        "false_alarm_rate",
    } <= set(RUN)


def test_run_kpis_are_window_aggregates_not_last_week(small):
    r = run_model(small, seed=4, steps=40)
    ts = r.timeseries
    assert r.window == (11, 40)
    part = ts[ts.step >= 11]
    assert r.kpis["nps"] == pytest.approx(part["nps"].mean())
    assert r.kpis["total_profit"] == pytest.approx(part["profit"].sum())
    assert r.kpis["cumulative_profit"] == pytest.approx(ts["cumulative_profit"].iloc[-1])
    assert r.kpis["final_market_share"] == pytest.approx(ts["market_share"].iloc[-1])
    weekly = part["retention_rate"].to_numpy()
    assert r.kpis["annual_churn"] == pytest.approx(1 - np.prod(weekly) ** (52 / len(weekly)))


def test_window_shorter_than_the_run_and_bad_burn_in(small):
    p = with_updates(small, {"evaluation.window": 10})
    r = run_model(p, seed=4, steps=40)
    assert r.window == (11, 20)
    assert r.kpis["total_profit"] == pytest.approx(r.timeseries["profit"].iloc[10:20].sum())
    with pytest.raises(ParamError, match=r"evaluation\.burn_in=10.*steps=10"):
        evaluation_window(small, 10)


def test_firm_value_discounts_profit_and_adds_net_customer_equity():
    import pandas as pd

    ts = pd.DataFrame(
        {
            "step": [1, 2, 3],
            "profit": [100.0, 100.0, 100.0],
            "active_customers": [10.0, 10.0, 10.0],
            "cx_spend": [5.0, 5.0, 5.0],
            "support_cost": [5.0, 5.0, 5.0],
            "retention_rate": [0.99, 0.98, 0.97],
            **{
                k: [1.0, 2.0, 3.0]
                for k in SERIES_BY_NAME
                if k
                not in ("profit", "active_customers", "cx_spend", "support_cost", "retention_rate")
            },
        }
    )
    d = 0.01
    out = window_kpis(ts, (2, 3), d, equity=(1000.0, 50.0))
    # retention costs: 20 cu over 20 customer-weeks = 1 cu per customer-week, times the annuity 50
    assert out["customer_equity"] == pytest.approx(1000.0 - 50.0)
    assert out["firm_value"] == pytest.approx(100 / 1.01 + 100 / 1.01**2 + 950 / 1.01**2)
    assert out["annual_churn"] == pytest.approx(1 - (0.98 * 0.97) ** 26)


# ----------------------------------------------------------------------------- money
def test_no_improvement_cycle_means_no_improvement_spend(small):
    never = with_updates(small, {"firm.policy.improvement_cadence": 10_000})
    m = CXModel(never, rng=2, customer_agents=False)
    for _ in range(30):
        m.step()
        assert m.focal.ledger["improvement"] == 0.0
    assert m.focal.funds > 0  # the budget is an investable balance, not a cost
    usual = CXModel(small, rng=2, customer_agents=False)
    paid = []
    for _ in range(30):
        usual.step()
        paid.append(usual.focal.ledger["improvement"])
    cadence = small.firm.policy.improvement_cadence
    assert all((x > 0) == (t % cadence == 0) for t, x in enumerate(paid, start=1))


def test_omnichannel_is_charged_on_effective_integration(small):
    capped = {"firm.support.technological": 0.0}  # ceiling 0.3 + 0.7 * 0 = 0.3
    lo = with_updates(small, {**capped, "firm.policy.omnichannel": 0.75})
    hi = with_updates(small, {**capped, "firm.policy.omnichannel": 1.0})
    a, b = run_model(lo, seed=5, steps=20), run_model(hi, seed=5, steps=20)
    assert a.kpis["total_profit"] == b.kpis["total_profit"]  # the same customers, the same bill
    assert a.timeseries.equals(b.timeseries)


# ----------------------------------------------------------------------------- stage 5
def test_target_rule_is_proportional_and_bounded():
    from sim.mechanism import stage5_feedback

    p = with_updates(Params(), {"population.n_customers": 200, "mechanism.feedback_rule": "target"})
    m = CXModel(p, rng=1, customer_agents=False)
    f, mech = m.focal, p.mechanism
    target = f.params.policy.nps_target
    for measured in (target - 200, target - 10, target, target + 10, target + 200):
        for _ in range(
            5
        ):  # the same gap gives the same multiplier however long it lasts: no wind-up
            f.measured_nps = measured
            stage5_feedback(f, mech)
        expected = np.clip(
            1 + mech.control_gain * (target - measured),
            mech.spend_multiplier_min,
            mech.spend_multiplier_max,
        )
        assert f.spend_multiplier == pytest.approx(expected)
    fixed = CXModel(
        with_updates(p, {"mechanism.feedback_rule": "fixed"}), rng=1, customer_agents=False
    )
    fixed.focal.measured_nps = -50.0
    stage5_feedback(fixed.focal, mech.__class__(feedback_rule="fixed"))
    assert fixed.focal.spend_multiplier == 1.0


# ----------------------------------------------------------------------------- small artefacts
def test_material_support_counts_the_store_delivery_cell_once():
    p = Params()
    mod = quality_modifier(
        dataclasses.replace(
            p.firm, support=dataclasses.replace(p.firm.support, material=1.0, human=0.5)
        ),
        p.mechanism,
    )
    store = CHANNELS.index("store")
    gain = p.mechanism.physical_gain * 0.5
    assert mod[DELIVERY_TP, store] == pytest.approx(gain)
    assert mod[TOUCHPOINTS.index("awareness"), store] == pytest.approx(gain)
    assert mod[DELIVERY_TP, CHANNELS.index("web")] == pytest.approx(gain)


def test_complaint_answers_arrive_after_the_recovery_delay(small):
    slow = with_updates(small, {"firm.support.human": 0.0})  # delay round(3 * 1) = 3 weeks
    assert recovery(slow.firm, slow.mechanism).delay == 3
    m = CXModel(slow, rng=3, customer_agents=False)
    made: dict[int, np.ndarray] = {}
    for _ in range(25):
        m.step()
        w = m._week
        made[m.steps] = np.flatnonzero(w["complained"] & (w["dealer"] == 0))
        answered = np.flatnonzero(w["recovered"] & (m.state.firm == 0))
        due = made.get(m.steps - 3, np.array([], dtype=int))
        assert set(answered) <= set(due)  # only complaints made three weeks ago are answered now
    assert sum(len(v) for v in made.values()) > 0


def test_surveys_reach_current_customers_only(small):
    """Surveys run after churn: a shopper who has just left or switched is not asked about the
    firm they left (before the fix they were, and answered as detractors with loyalty 0)."""
    m = CXModel(small, rng=8, customer_agents=False)
    left_and_shopped = 0
    for _ in range(30):
        m.step()
        w = m._week
        who = w["surveyed"]
        dealer = np.full(m.n, -1)
        dealer[w["rows"]] = w["j_dealer"]
        assert ((m.state.status[who] == CUSTOMER) & (m.state.firm[who] == dealer[who])).all()
        left_and_shopped += int(np.count_nonzero(w["lost_from"][w["rows"]] >= 0))
    assert left_and_shopped > 0  # the case exists: the filter had something to remove


def test_a_firm_without_customers_has_undefined_kpis_not_zero(small):
    p = with_updates(
        small,
        {
            "population.initial_customer_share": 0.0,
            "population.initial_awareness": 0.0,
            "firm.advertising": 0.0,
            "market.rivals.rival.advertising": 0.0,
        },
    )
    r = run_model(p, seed=1, steps=15)
    ts = r.timeseries
    assert (ts["active_customers"] == 0).all()
    for k in ("nps", "csat", "ces", "churn_rate", "retention_rate", "mean_loyalty"):
        assert ts[k].isna().all(), k
        assert np.isnan(r.kpis[k]), k
    assert r.kpis["total_revenue"] == 0.0


def test_personalisation_pays_at_default_support():
    """With the firm's knowledge of its segments built from its CRM data, personalisation at
    default technological support earns more than it costs (paired seeds, window profit)."""
    base = with_updates(Params(), {"population.n_customers": 2000})
    gain = []
    for seed in (1, 2, 3):
        lo = run_model(
            with_updates(base, {"firm.policy.personalization": 0.0}), seed=seed, steps=104
        )
        hi = run_model(
            with_updates(base, {"firm.policy.personalization": 0.75}), seed=seed, steps=104
        )
        gain.append(hi.kpis["total_profit"] - lo.kpis["total_profit"])
    assert np.mean(gain) > 0, gain
