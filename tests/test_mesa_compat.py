"""CXModel where Mesa users expect it: ``mesa.batch_run``, ``model.datacollector``, any ``rng``."""

from __future__ import annotations

import multiprocessing

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import CXModel, ParamError, run_model, with_updates
from sim.agents import Customer
from sim.kpis import SERIES
from sim.mesa_compat import CUSTOMER_REPORTERS, dotted_key
from sim.run import timeseries

N, STEPS, SEEDS = 300, 6, [11, 12]
BATCH_COLUMNS = ["RunId", "iteration", "Step"]


@pytest.fixture(scope="module")
def params(small_params):
    return with_updates(small_params, {"population.n_customers": N})


@pytest.fixture
def start_method():
    """batch_run forces the "spawn" start method on the whole process: put it back afterwards."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def run(model: CXModel, steps: int = STEPS) -> CXModel:
    for _ in range(steps):
        model.step()
    return model


def last_week(params, seed: int, steps: int) -> pd.Series:
    """The weekly KPIs of the last week of ``run_model`` (batch_run collects weekly values, not
    the run-level window KPIs)."""
    return run_model(with_updates(params, {"evaluation.burn_in": 0}), seed, steps).timeseries.iloc[
        -1
    ]


def kpi_frame(model: CXModel) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe()


# ----------------------------------------------------------------------------------------------
# mesa.batch_run
# ----------------------------------------------------------------------------------------------
def test_batch_run_plain_values_matches_run_model(params, start_method):
    rows = mesa.batch_run(
        CXModel,
        parameters={"params": params, "support_human": [0.2, 0.8], "customer_agents": False},
        rng=SEEDS,
        max_steps=STEPS,
        data_collection_period=-1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert len(df) == 4
    assert list(df.columns) == [
        *BATCH_COLUMNS,
        "params",
        "support_human",
        "customer_agents",
        "rng",
        *SERIES,
        "seed",
    ]
    assert (df["Step"] == STEPS).all()
    assert sorted(zip(df["support_human"], df["rng"], strict=True)) == [
        (h, s) for h in (0.2, 0.8) for s in SEEDS
    ]
    assert (df["seed"] == df["rng"]).all()
    for _, row in df.iterrows():
        expected = last_week(
            with_updates(params, {"firm.support.human": row["support_human"]}), row["rng"], STEPS
        )
        got = {k: row[k] for k in SERIES}
        pd.testing.assert_series_equal(pd.Series(got), pd.Series({k: expected[k] for k in SERIES}))


def test_batch_run_every_step_equals_the_timeseries(params, start_method):
    """Params objects and dotted keys; data_collection_period=1 gives every week of run_model."""
    variants = [with_updates(params, {"firm.policy.omnichannel": x}) for x in (0.1, 0.9)]
    rows = mesa.batch_run(
        CXModel,
        parameters={"params": variants, "firm.support.technical": 0.7},
        rng=SEEDS,
        max_steps=STEPS,
        data_collection_period=1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert len(df) == 2 * 2 * STEPS and df["RunId"].nunique() == 4
    for (run_id, seed), part in df.groupby(["RunId", "rng"]):
        p = part["params"].iloc[0]
        expected = run_model(
            with_updates(p, {"firm.support.technical": 0.7}), seed, STEPS
        ).timeseries
        assert part["Step"].tolist() == expected["step"].tolist(), run_id
        pd.testing.assert_frame_equal(
            part[list(SERIES)].reset_index(drop=True), expected[list(SERIES)], check_exact=True
        )


def test_batch_run_with_fresh_seeds_records_them(params, start_method):
    rows = mesa.batch_run(
        CXModel,
        parameters={"params": params, "customer_agents": False},
        rng=[None, None],
        max_steps=3,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert df["rng"].isna().all() and df["seed"].nunique() == 2
    for _, row in df.iterrows():
        again = last_week(params, int(row["seed"]), 3)
        assert [row[k] for k in SERIES] == pytest.approx(
            [again[k] for k in SERIES], rel=0, abs=0, nan_ok=True
        )


@pytest.mark.slow
def test_batch_run_in_worker_processes_equals_serial(params, start_method):
    kwargs = dict(
        parameters={"params": params, "n_customers": [200, 250], "customer_agents": False},
        rng=SEEDS,
        max_steps=3,
        display_progress=False,
    )
    key = ["n_customers", "rng"]
    serial = pd.DataFrame(mesa.batch_run(CXModel, number_processes=1, **kwargs)).drop(
        columns="params"
    )
    parallel = pd.DataFrame(mesa.batch_run(CXModel, number_processes=2, **kwargs)).drop(
        columns="params"
    )
    assert multiprocessing.get_start_method() == "spawn"  # what batch_run leaves behind
    serial, parallel = (d.sort_values(key).reset_index(drop=True) for d in (serial, parallel))
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)


# ----------------------------------------------------------------------------------------------
# model.datacollector
# ----------------------------------------------------------------------------------------------
def test_datacollector_frame_is_the_kpi_timeseries(params):
    model = run(CXModel(params, rng=5, customer_agents=False))
    frame = kpi_frame(model)
    assert list(frame.columns) == [*SERIES, "seed"]
    assert (frame["seed"] == 5).all()
    ts = timeseries(model)
    pd.testing.assert_frame_equal(frame[list(SERIES)], ts[list(SERIES)], check_exact=True)
    assert model.datacollector._collection_steps == ts["step"].tolist()
    assert not model.datacollector.agenttype_reporters  # no agent data unless asked for


def test_customer_sample_records_sampled_customers_without_changing_the_run(params):
    k = 25
    plain = run(CXModel(params, rng=5, customer_agents=False), 3)
    model = CXModel(params, rng=5, customer_sample=k)
    assert len(model.agents_by_type[Customer]) == k
    run(model, 3)
    pd.testing.assert_frame_equal(kpi_frame(model), kpi_frame(plain), check_exact=True)
    agents = model.datacollector.get_agenttype_vars_dataframe(Customer)
    assert list(agents.columns) == ["idx", *CUSTOMER_REPORTERS]
    assert agents.groupby(level="Step").size().tolist() == [k] * 3
    last = agents.xs(3.0, level="Step").sort_values("idx")
    idx = last["idx"].to_numpy()
    assert len(set(idx)) == k and idx.max() < N
    for name in ("affect", "satisfaction", "loyalty"):
        np.testing.assert_array_equal(
            last[name].to_numpy(), getattr(model.state, name)[idx].astype(float)
        )
    # the same customers for the same seed
    again = CXModel(params, rng=5, customer_sample=k)
    assert sorted(a.idx for a in again.agents_by_type[Customer]) == sorted(idx.tolist())
    with pytest.raises(ValueError, match="customer_sample"):
        CXModel(params, rng=5, customer_agents=True, customer_sample=k)


def test_a_subclass_with_its_own_datacollector_is_collected_once(params):
    class Own(CXModel):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.datacollector = mesa.DataCollector(
                model_reporters={"nps": lambda m: m.latest["nps"]}
            )

        def step(self):
            super().step()
            self.datacollector.collect(self)

    model = run(Own(params, rng=1, customer_agents=False), 3)
    assert len(kpi_frame(model)) == 3


# ----------------------------------------------------------------------------------------------
# rng: None, int, SeedSequence, Generator
# ----------------------------------------------------------------------------------------------
def test_rng_none_draws_a_recorded_seed_that_reproduces_the_run(params):
    a, b = (CXModel(params, rng=None, customer_agents=False) for _ in range(2))
    assert a.seed != b.seed and all(0 <= m.seed < 2**63 and type(m.seed) is int for m in (a, b))
    run(a)
    again = run(CXModel(params, rng=a.seed, customer_agents=False))
    pd.testing.assert_frame_equal(kpi_frame(a), kpi_frame(again), check_exact=True)
    assert a.random.random() == again.random.random()  # Mesa's stdlib generator too
    np.testing.assert_array_equal(a.state.loyalty, again.state.loyalty)


@pytest.mark.parametrize(
    "make",
    [lambda: np.random.SeedSequence(2024), lambda: np.random.default_rng(2024)],
    ids=["SeedSequence", "Generator"],
)
def test_seedsequence_and_generator_are_reproducible(params, make):
    first, second = (run(CXModel(params, rng=make(), customer_agents=False), 3) for _ in range(2))
    assert first.seed == second.seed
    pd.testing.assert_frame_equal(kpi_frame(first), kpi_frame(second), check_exact=True)
    from_seed = run(CXModel(params, rng=first.seed, customer_agents=False), 3)
    pd.testing.assert_frame_equal(kpi_frame(first), kpi_frame(from_seed), check_exact=True)


def test_one_generator_gives_each_model_its_own_seed(params):
    g = np.random.default_rng(7)
    assert (
        CXModel(params, rng=g, customer_agents=False).seed
        != CXModel(params, rng=g, customer_agents=False).seed
    )


def test_integer_seed_is_the_seed(params):
    model = CXModel(params, rng=np.int64(42), customer_agents=False)
    assert model.seed == 42 and type(model.seed) is int and model._seed == 42


@pytest.mark.parametrize(
    ("rng", "error"),
    [(1.5, TypeError), ("1", TypeError), (True, TypeError), ([1, 2], TypeError), (-1, ValueError)],
)
def test_other_rng_values_are_refused_in_one_line(params, rng, error):
    with pytest.raises(error, match=r"invalid rng=") as info:
        CXModel(params, rng=rng)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------------------------
# keyword parameters
# ----------------------------------------------------------------------------------------------
def test_keyword_parameters_are_dotted_keys_or_unique_short_names(params):
    assert dotted_key("n_customers") == "population.n_customers"
    assert dotted_key("support_human") == "firm.support.human"
    assert dotted_key("firm.support.human") == "firm.support.human"
    model = CXModel(
        params, rng=0, customer_agents=False, n_customers=200, **{"firm.policy.omnichannel": 0.9}
    )
    assert model.n == 200 and model.params.firm.policy.omnichannel == 0.9
    assert model.params.firm.support == params.firm.support  # the rest is params'
    assert CXModel(rng=0, customer_agents=False, n_customers=150).n == 150  # defaults underneath


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"human": 0.5},
            r"ambiguous short name\): firm\.support\.human, firm\.support_cost\.human",
        ),
        ({"n_customer": 50}, r"did you mean n_customers"),
        ({"seed": 3}, r"rng=<seed>"),
        ({"n_customers": 50, "population.n_customers": 60}, r"given twice"),
        ({"support_human": 2.0}, r"firm\.support\.human=2\.0"),
    ],
)
def test_bad_keyword_parameters_are_refused_in_one_line(params, kwargs, match):
    with pytest.raises(ParamError, match=match) as info:
        CXModel(params, rng=0, customer_agents=False, **kwargs)
    assert "\n" not in str(info.value)
