"""Behaviour of the management mechanism over replicates with common random numbers.

Every comparison runs the same seeds at two settings and asserts the direction on the mean of
the paired runs (not on one lucky seed)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from sim import CXModel, params_from_overrides, run_model, with_updates
from sim.params import SUPPORT_FACTORS

pytestmark = pytest.mark.slow
SEEDS = (101, 102, 103, 104)
BASE = ("population.n_customers=2500",)


@cache
def runs(overrides: tuple[str, ...] = (), steps: int = 78, **updates):
    params = params_from_overrides([*BASE, *overrides])
    if updates:
        params = with_updates(params, {k.replace("__", "."): v for k, v in updates.items()})
    return [run_model(params, seed=s, steps=steps) for s in SEEDS]


def mean(rs, kpi, how="final"):
    if how == "final":
        return float(np.nanmean([r.kpis[kpi] for r in rs]))
    if how == "abs_mean":
        return float(np.mean([r.timeseries[kpi].abs().mean() for r in rs]))
    return float(np.mean([r.timeseries[kpi].mean() for r in rs]))


def factor(name, level):
    return runs(**{f"firm__support__{name}": level})


# what each factor drives (documented in sim/support.py), as (kpi, aggregation, sign of the effect)
DRIVES = {
    "financial": ("mean_quality", "final", +1),
    "methodological": ("map_error", "mean", -1),
    "technical": ("complaints", "mean", -1),
    "technological": ("map_error", "mean", -1),
    "material": ("mean_quality", "final", +1),
    "human": ("mean_quality", "final", +1),
}


@pytest.mark.parametrize("name", SUPPORT_FACTORS)
def test_support_factor_moves_its_part_of_the_mechanism(name):
    kpi, how, sign = DRIVES[name]
    low, high = mean(factor(name, 0.1), kpi, how), mean(factor(name, 1.0), kpi, how)
    assert sign * (high - low) > 0, f"{name}: {kpi} {low:.4f} -> {high:.4f}"


@pytest.mark.parametrize("name", SUPPORT_FACTORS)
def test_support_factor_reaches_loyalty(name):
    low, high = mean(factor(name, 0.1), "mean_loyalty"), mean(factor(name, 1.0), "mean_loyalty")
    assert high > low, f"{name}: loyalty {low:.4f} -> {high:.4f}"


@pytest.mark.parametrize("name", SUPPORT_FACTORS)
def test_support_is_never_free(name):
    """At the top of its range the factor costs more than it earns: profit below the mid level."""
    mid, top = mean(factor(name, 0.5), "cumulative_profit"), mean(factor(name, 1.0), "cumulative_profit")
    assert top < mid, f"{name}: cumulative profit {mid:,.0f} at 0.5 vs {top:,.0f} at 1.0"
    assert mean(factor(name, 1.0), "support_cost") > mean(factor(name, 0.5), "support_cost")


def test_methodological_support_reduces_measurement_error():
    low, high = mean(factor("methodological", 0.1), "measurement_error", "abs_mean"), mean(
        factor("methodological", 1.0), "measurement_error", "abs_mean")
    assert high < low


def test_human_support_recovers_more_complaints():
    def recovered_share(level):
        params = with_updates(params_from_overrides(list(BASE)), {"firm.support.human": level})
        got = tried = 0
        for s in SEEDS[:2]:
            m = CXModel(params, rng=s, customer_agents=False)
            for _ in range(30):
                m.step()
                w = m._week
                focal = w["dealer"] == 0
                got += int(w["recovered"][focal].sum())
                tried += int(w["complained"][focal].sum())
        return got / tried

    low, high = recovered_share(0.1), recovered_share(1.0)
    # documented: success = 0.2 + 0.6 * human
    assert low == pytest.approx(0.26, abs=0.06) and high == pytest.approx(0.8, abs=0.06)


def test_technical_support_reduces_failures():
    def failures(level):
        params = with_updates(params_from_overrides(list(BASE)), {"firm.support.technical": level})
        m = CXModel(params, rng=SEEDS[0], customer_agents=False)
        total = 0
        for _ in range(20):
            m.step()
            total += int(m._week["failed"][m._week["dealer"] == 0].sum())
        return total

    assert failures(1.0) < 0.5 * failures(0.1)


def test_faster_cadence_recovers_sooner_after_outage():
    fast = mean(runs(("scenario=outage", "firm.policy.improvement_cadence=2"), steps=90), "recovery_time")
    slow = mean(runs(("scenario=outage", "firm.policy.improvement_cadence=26"), steps=90), "recovery_time")
    assert fast < slow


@pytest.mark.parametrize("shock", ["outage_mild", "viral"])
def test_better_measurement_detects_sooner(shock):
    overrides = {
        "outage_mild": ("scenario=outage", "shocks.outage.magnitude=0.15"),
        "viral": ("scenario=viral_post",),
    }[shock]
    weak = mean(runs((*overrides, "firm.support.methodological=0.0", "firm.support.technological=0.0"), steps=70),
                "detection_latency")
    strong = mean(runs((*overrides, "firm.support.methodological=1.0", "firm.support.technological=1.0"), steps=70),
                  "detection_latency")
    assert strong < weak


def test_stronger_rival_takes_market_share():
    strong = runs(("market.rivals.rival.policy.omnichannel=1.0", "market.rivals.rival.support.human=1.0",
                   "market.rivals.rival.support.technical=1.0", "market.rivals.rival.policy.cx_budget=1200"))
    assert mean(strong, "market_share") < mean(runs(), "market_share") - 0.02


def test_without_improvement_quality_erodes_and_loyalty_falls():
    never = runs(("firm.policy.improvement_cadence=10000",), steps=156)
    usual = runs((), steps=156)
    q = [r.timeseries["mean_quality"].to_numpy() for r in never]
    assert all(series[-1] < series[0] - 0.05 for series in q)
    assert mean(never, "mean_loyalty") < mean(usual, "mean_loyalty")
    assert mean(never, "market_share") < mean(usual, "market_share")


def test_alarm_is_a_significance_test_not_a_noise_detector():
    """Without any shock the firm's alarm should stay mostly quiet: a measured NPS that wobbles
    with sampling noise (a few survey answers a week at 2,500 customers) must not count as a
    drop. With the significance criterion switched off (detection_z = 0) it fires far more."""
    quiet = runs(steps=104)
    noisy = runs(("mechanism.detection_z=0",), steps=104)
    rate = float(np.mean([r.timeseries["alarm"].mean() for r in quiet]))
    rate_off = float(np.mean([r.timeseries["alarm"].mean() for r in noisy]))
    assert rate < 0.2, f"false alarms in {rate:.0%} of weeks"
    assert rate_off > 2 * rate, f"{rate_off:.0%} without the z criterion vs {rate:.0%} with it"
