"""Facts 8 and 9: retention leverage through lifetime, and cumulative satisfaction as its anchor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import sim
from sim import behaviour
from sim.state import CUSTOMER
from tests.validation import annual, before_phase, model, params, seeds

pytestmark = pytest.mark.validation


# ------------------------------------------------------------------------------------------
# Fact 8: retention leverage works through lifetime
# ------------------------------------------------------------------------------------------
def clv(margin: float, retention: float, discount: float) -> float:
    """The model's CLV (``sim.kpis``): weekly margin × (1 + d) / (1 + d − r), r weekly retention."""
    return margin * (1.0 + discount) / (1.0 + discount - min(retention, 0.9999))


def weekly_discount() -> float:
    return (1.0 + sim.Params().market.discount_rate) ** (1 / 52) - 1.0


# The churn parameters scaled by one factor (leaving hazard and switching rate alike); 0.5 and
# 0.25 of the defaults give annual retention of about 90% and 95% on this market (measured
# below, not assumed).
RETENTION_SETTINGS = {0.90: 0.5, 0.95: 0.25}
WEEKS = 104


def churn_run(factor: float, seed: int) -> dict:
    cp = sim.Params().customer
    p = params(
        4000,
        {
            "customer.churn_base": cp.churn_base * factor,
            "customer.switch_rate": cp.switch_rate * factor,
        },
    )
    m = model(p, seed)
    exposure = lost = customer_weeks = 0
    profit = gross = other_costs = 0.0
    clvs = []
    by_tenure = np.zeros(
        (2, 2)
    )  # (margin, customer-weeks) of customers < 26 weeks and >= 104 weeks
    unit_margin = p.firm.price - p.firm.unit_cost
    for _ in range(WEEKS):
        tenure = m.state.tenure.copy()
        m.step()
        w, led = m._week, m.focal.ledger
        start = w["start_firm"] == 0
        exposure += int(start.sum())
        lost += int((w["lost_from"] == 0).sum())
        customer_weeks += m.focal.customers
        profit += led["profit"]
        gross += led["revenue"] - led["cogs"]
        other_costs += led["cx_spend"] + led["marketing"] + led["support_cost"]
        clvs.append(m.latest["clv"])
        margin = np.where(w["bought"] & (w["dealer"] == 0), w["units"], 0.0) * unit_margin
        for i, band in enumerate((start & (tenure < 26), start & (tenure >= 104))):
            by_tenure[i] += (margin[band].sum(), band.sum())
    d = m._discount
    assert m.latest["clv"] == pytest.approx(
        clv(m._clv_margin, m._clv_retention, d)
    )  # the definition used here
    return {
        "exposure": exposure,
        "lost": lost,
        "customer_weeks": customer_weeks,
        "profit": profit,
        "gross": gross,
        "other_costs": other_costs,
        "clv": float(np.mean(clvs[-52:])),
        "margin_new": by_tenure[0, 0] / by_tenure[0, 1],
        "margin_long": by_tenure[1, 0] / by_tenure[1, 1],
    }


@pytest.mark.xfail(
    strict=True,
    reason=(
        "fails at the edge since issue 14: the profit gain of the model runs is 0.75x the mechanics (range 0.75-1.25): with share of wallet, kept customers are the loyal ones and the margin per customer-week shifts too; mechanics part unchanged (lifetime x2.05)"
    ),
)
def test_f08_retention_leverage_works_through_lifetime(record):
    # the mechanics, with the model's CLV definition
    d = weekly_discount()
    r90, r95 = 0.90 ** (1 / 52), 0.95 ** (1 / 52)
    life_ratio = (1 - r90) / (1 - r95)
    clv_ratio = clv(1.0, r95, d) / clv(1.0, r90, d)
    # the model run at ~90% and ~95% annual retention, same seeds
    runs = {
        target: [churn_run(f, seed) for seed in seeds(3)]
        for target, f in RETENTION_SETTINGS.items()
    }

    def total(target, key):
        return sum(r[key] for r in runs[target])

    hazard = {t: total(t, "lost") / total(t, "exposure") for t in runs}  # weekly, pooled over seeds
    retention = {t: 1.0 - annual(h) for t, h in hazard.items()}
    model_life_ratio = hazard[0.90] / hazard[0.95]  # expected lifetime = 1 / hazard
    gain = total(0.95, "profit") - total(0.90, "profit")
    margin_per_cw = total(0.90, "gross") / total(0.90, "customer_weeks")
    mechanical = (total(0.95, "customer_weeks") - total(0.90, "customer_weeks")) * margin_per_cw
    explained = gain / mechanical
    model_clv_ratio = total(0.95, "clv") / total(0.90, "clv")
    tenure_ratio = float(
        np.mean([r["margin_long"] / r["margin_new"] for r in runs[0.90] + runs[0.95]])
    )
    record(
        "f08",
        f"mechanics: 90% → 95% annual retention multiplies expected lifetime by {life_ratio:.2f} and the model's "
        f"CLV by {clv_ratio:.2f}; model runs at {100 * retention[0.90]:.1f}% / {100 * retention[0.95]:.1f}% retention: "
        f"lifetime ×{model_life_ratio:.2f}, CLV KPI ×{model_clv_ratio:.2f}, profit gain = {explained:.2f}× "
        f"(extra customer-weeks × margin); margin per customer-week of ≥2-year vs <6-month customers {tenure_ratio:.2f}",
        "lifetime ×[1.8, 2.2] (mechanics), ×[1.6, 2.5] (runs); profit gain/mechanics in [0.75, 1.25]; "
        "tenure margin ratio in [0.9, 1.1]",
        lifetime_ratio=life_ratio,
        clv_ratio=clv_ratio,
        retention=retention,
        model_lifetime_ratio=model_life_ratio,
        model_clv_ratio=model_clv_ratio,
        profit_gain=gain,
        mechanical_gain=mechanical,
        explained=explained,
        tenure_margin_ratio=tenure_ratio,
        churn_factors=RETENTION_SETTINGS,
        other_cost_change=total(0.95, "other_costs") - total(0.90, "other_costs"),
    )
    assert 1.8 <= life_ratio <= 2.2
    assert abs(retention[0.90] - 0.90) <= 0.03 and abs(retention[0.95] - 0.95) <= 0.02
    assert 1.6 <= model_life_ratio <= 2.5
    assert 0.75 <= explained <= 1.25
    assert 0.9 <= tenure_ratio <= 1.1


# ------------------------------------------------------------------------------------------
# Fact 9: cumulative satisfaction anchors retention
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def loyalty_panel():
    """Per week: each customer's loyalty when churn is decided and whether they left; and for
    every journey of an existing customer, loyalty before and after the week's update, the
    journey's satisfaction and the customer's tenure."""
    leave_rows, episode_rows = [], []
    for seed in seeds(3):
        m = model(params(4000), seed)
        snap: dict[str, np.ndarray] = {}
        before_phase(
            m,
            "learn",
            lambda m=m, snap=snap: snap.update(
                loyalty0=m.state.loyalty.copy(),
                tenure=m.state.tenure.copy(),
                satisfaction=m.state.satisfaction.copy(),
            ),
        )
        before_phase(
            m,
            "churn",
            lambda m=m, snap=snap: snap.update(
                loyalty=m.state.loyalty.copy(), customer=m.state.status == CUSTOMER
            ),
        )
        for t in range(52):
            m.step()
            if t < 4:
                continue
            w = m._week
            c = snap["customer"]
            left = (w["lost_from"] >= 0) & (w["switch_to"] < 0)
            leave_rows.append((snap["loyalty"][c], left[c]))
            old = (
                w["journey"] & (w["start_firm"] >= 0) & (w["dealer"] == w["start_firm"]) & ~w["new"]
            )
            episode_rows.append(
                (
                    snap["loyalty0"][old],
                    snap["loyalty"][old],
                    snap["satisfaction"][old],
                    snap["tenure"][old],
                )
            )
    loyalty, left = (np.concatenate(c) for c in zip(*leave_rows, strict=True))
    before, after, sat, tenure = (np.concatenate(c) for c in zip(*episode_rows, strict=True))
    return {
        "loyalty": loyalty,
        "left": left,
        "before": before,
        "after": after,
        "satisfaction": sat,
        "tenure": tenure,
    }


@pytest.mark.xdist_group("retention_loyalty_panel")  # shares the module fixture loyalty_panel
def test_f09a_churn_hazard_falls_with_cumulative_satisfaction(record, loyalty_panel):
    d = loyalty_panel
    edges = np.quantile(d["loyalty"], [0.2, 0.4, 0.6, 0.8])
    q = np.digitize(d["loyalty"], edges)
    hazard = [float(d["left"][q == i].mean()) for i in range(5)]
    mean_l = [float(d["loyalty"][q == i].mean()) for i in range(5)]
    record(
        "f09a",
        "weekly leaving rate by loyalty quintile (mean loyalty): "
        + ", ".join(f"{100 * h:.2f}% ({m_:.2f})" for h, m_ in zip(hazard, mean_l, strict=True))
        + f"; top/bottom = {hazard[4] / hazard[0]:.2f}",
        "strictly falling across quintiles; top/bottom ≤ 0.5",
        hazard_by_quintile=hazard,
        loyalty_by_quintile=mean_l,
    )
    assert all(a > b for a, b in itertools.pairwise(hazard))
    assert hazard[4] / hazard[0] <= 0.5


@pytest.mark.xdist_group("retention_loyalty_panel")  # shares the module fixture loyalty_panel
def test_f09b_one_bad_episode_moves_long_tenure_customers_less(record, loyalty_panel):
    d = loyalty_panel
    bad = d["satisfaction"] < 0.3
    cp = sim.Params().customer
    out = {}
    for name, band in {
        "new (< 13 wk)": d["tenure"] < 13,
        "long (≥ 104 wk)": d["tenure"] >= 104,
    }.items():
        sel = bad & band
        drop = d["after"][sel] - d["before"][sel]
        gap = d["satisfaction"][sel] - d["before"][sel]
        # the weight of the episode in the new loyalty
        weight = drop[gap < -0.05] / gap[gap < -0.05]
        hazard_x = behaviour.churn_hazard(d["after"][sel], cp) / behaviour.churn_hazard(
            d["before"][sel], cp
        )
        out[name] = {
            "n": int(sel.sum()),
            "loyalty_change": float(drop.mean()),
            "episode_weight": float(np.median(weight)),
            "hazard_multiplier": float(hazard_x.mean()),
        }
    new, long_ = out["new (< 13 wk)"], out["long (≥ 104 wk)"]
    record(
        "f09b",
        f"a bad episode (s < 0.3) moves loyalty by {new['loyalty_change']:+.3f} for new vs {long_['loyalty_change']:+.3f} "
        f"for long-tenure customers (×{long_['loyalty_change'] / new['loyalty_change']:.2f}); churn hazard ×"
        f"{new['hazard_multiplier']:.2f} vs ×{long_['hazard_multiplier']:.2f} (episode weight {new['episode_weight']:.2f} "
        f"vs {long_['episode_weight']:.2f})",
        "long-tenure change ≤ 0.6× the new customers'; smaller hazard multiplier",
        **out,
    )
    assert long_["loyalty_change"] / new["loyalty_change"] <= 0.6
    assert long_["hazard_multiplier"] < new["hazard_multiplier"]
