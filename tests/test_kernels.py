"""The compiled kernels (sim/kernels.py) reproduce the numpy reference path bit for bit.

Each case runs the same configuration and seed twice, once through the numpy path
(``kernels.use_kernels(False)``) and once through the kernels, and compares at several weeks
every customer state array, every firm's state and measurements, the week's record, the KPI
history and the state of every random stream, byte for byte (so dtypes, -0.0 and NaN count).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import CXModel, kernels, params_from_overrides, run_model

pytestmark = pytest.mark.skipif(not kernels._HAVE_NUMBA, reason="numba is not installed")

FIRM_ARRAYS = (
    "quality",
    "estimate",
    "evidence",
    "knowledge",
    "survey",
    "base_mean",
    "base_var",
    "base_n",
    "signals_fired",
    "listening",
    "analytics",
    "pending",
    "outage_repair_at",
)
FIRM_SCALARS = (
    "measured_nps",
    "measured_nps_se",
    "measured_csat",
    "funds",
    "spend_multiplier",
    "cumulative_profit",
    "contacted",
    "reputation",
)


def snapshot(model: CXModel) -> dict[str, bytes]:
    out: dict[str, bytes] = {}

    def put(key: str, value) -> None:
        a = np.asarray(value)
        out[key] = (str(a.dtype), a.shape, a.tobytes())

    for name, value in vars(model.state).items():
        if isinstance(value, np.ndarray):
            put(f"state.{name}", value)
    put("history", np.array(model.history))
    for f in model.firms:
        for name in FIRM_ARRAYS:
            put(f"firm{f.k}.{name}", getattr(f, name))
        put(f"firm{f.k}.scalars", [float(getattr(f, name)) for name in FIRM_SCALARS])
        put(f"firm{f.k}.alarms", np.array(f.alarm_steps, dtype=np.int64))
    for name, gen in vars(model.streams).items():
        if isinstance(gen, np.random.Generator):
            out[f"rng.{name}"] = str(gen.bit_generator.state)
    for key, value in model._week.items():
        if isinstance(value, np.ndarray):
            put(f"week.{key}", value)
    return out


def run(overrides: list[str], seed: int, steps: int, compiled: bool) -> tuple[list, CXModel]:
    previous = kernels.use_kernels(compiled)
    try:
        model = CXModel(params_from_overrides(overrides), rng=seed, customer_agents=False)
        snaps = []
        for week in range(steps):
            model.step()
            if week in (0, steps // 2, steps - 1):
                snaps.append(snapshot(model))
        return snaps, model
    finally:
        kernels.use_kernels(previous)


CASES = [
    ["population.n_customers=1200"],
    [
        "population.n_customers=1001",
        "firm.support.technological=0.9",
        "firm.support.methodological=0.1",
        "firm.policy.omnichannel=0.9",
        "firm.policy.personalization=0.8",
    ],
    # alarms fire (and are answered every second week) after a downturn
    [
        "population.n_customers=900",
        "scenario=downturn",
        "shocks.downturn.start=12",
        "firm.policy.improvement_cadence=2",
    ],
    ["population.n_customers=800", "scenario=outage", "shocks.outage.start=12"],
    ["population.n_customers=700", "scenario=viral_post", "market.network.kind=scale_free"],
]


@pytest.mark.parametrize("overrides", CASES, ids=lambda c: " ".join(c[1:]) or "default")
def test_kernels_match_the_numpy_path_bit_for_bit(overrides):
    reference, ref_model = run(overrides, seed=3, steps=40, compiled=False)
    compiled, model = run(overrides, seed=3, steps=40, compiled=True)
    for week_ref, week_new in zip(reference, compiled, strict=True):
        assert week_ref.keys() == week_new.keys()
        differ = [key for key in week_ref if week_ref[key] != week_new[key]]
        assert not differ, differ
    assert [f.alarm_steps for f in model.firms] == [f.alarm_steps for f in ref_model.firms]


def test_the_downturn_case_exercises_the_alarm():
    """The case above is only a test of the alarm path if an alarm fires in it."""
    _, model = run(CASES[2], seed=3, steps=40, compiled=True)
    assert any(f.alarm_steps for f in model.firms)


def test_run_model_kpis_identical_on_both_paths():
    params = params_from_overrides(["population.n_customers=600", "evaluation.burn_in=10"])
    previous = kernels.use_kernels(False)
    try:
        reference = run_model(params, seed=5, steps=30)
    finally:
        kernels.use_kernels(previous)
    result = run_model(params, seed=5, steps=30)
    assert result.timeseries.equals(reference.timeseries)
    for key, value in reference.kpis.items():
        got = result.kpis[key]
        assert (np.isnan(value) and np.isnan(got)) or got == value, key


def test_use_kernels_reports_the_previous_setting():
    previous = kernels.use_kernels(False)
    try:
        assert kernels.use_kernels(True) is False
        assert kernels.ENABLED is True
    finally:
        kernels.use_kernels(previous)
