"""The scenario library: every shipped scenario composes, validates, runs, and differs from
the baseline in exactly the parameters it says it overrides."""

from __future__ import annotations

import math

import pytest
import yaml

from experiments.scenarios import scenario_library
from sim import params_from_overrides, run_model
from sim.config import CONFIG_DIR
from sim.params import to_dict

LIBRARY = scenario_library()
TINY = ["population.n_customers=200", "evaluation.burn_in=4"]
REQUIRED = {
    "baseline",
    "outage",
    "omnichannel_push",
    "personalization_without_data",
    "fast_cadence",
    "budget_cut",
    "staff_cut",
    "rival_entry",
    "rising_expectations",
    "viral_post",
    "downturn",
    "support_overinvestment",
    "measure_nothing",
}


def _leaves(node, prefix=""):
    """Dotted key -> value for every scalar (or list) leaf of a YAML mapping."""
    for k, v in node.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _lookup(tree, dotted):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return KeyError
        node = node[part]
    return node


@pytest.fixture(scope="module")
def baseline():
    return to_dict(params_from_overrides([*TINY, "scenario=baseline"]))


def test_library_is_complete_and_described():
    assert len(LIBRARY) >= 10
    assert REQUIRED <= set(LIBRARY)
    assert next(iter(LIBRARY)) == "baseline"
    for name, desc in LIBRARY.items():
        text = (CONFIG_DIR / "scenario" / f"{name}.yaml").read_text()
        assert text.startswith("# @package _global_"), name
        data = yaml.safe_load(text)
        assert data["scenario"]["name"] == name
        assert desc and "\n" not in desc.strip(), name


@pytest.mark.parametrize("name", list(LIBRARY))
def test_scenario_differs_from_baseline_where_it_says(name, baseline):
    data = yaml.safe_load((CONFIG_DIR / "scenario" / f"{name}.yaml").read_text())
    params = params_from_overrides([*TINY, f"scenario={name}"])
    tree = to_dict(params)
    overrides = {
        k: v for k, v in _leaves(data) if not k.startswith("scenario.") and k != "defaults"
    }
    shocks = [d["override /shocks"] for d in data.get("defaults", []) if "override /shocks" in d]
    if name == "baseline":
        assert not overrides and not shocks
    else:
        assert overrides or shocks, f"{name} overrides nothing"
    for key, value in overrides.items():
        got = _lookup(tree, key)
        assert got == pytest.approx(value), key
        assert _lookup(baseline, key) != got, f"{name}: {key} equals the baseline"
    # everything not overridden is the baseline's
    for key, value in _leaves(baseline):
        if key not in overrides and not key.startswith("shocks"):
            assert _lookup(tree, key) == value, f"{name} changes {key} without saying so"
    if shocks:
        assert tree["shocks"] and tree["shocks"] != baseline["shocks"]
    result = run_model(params, seed=3, steps=64)  # scheduled shocks start at week 60
    assert len(result.timeseries) == 64
    assert math.isfinite(result.kpis["nps"]) and math.isfinite(result.kpis["cumulative_profit"])


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIG_DIR / "shocks").glob("*.yaml")))
def test_every_shock_config_validates(name):
    params = params_from_overrides([*TINY, f"shocks={name}"])
    assert (len(params.shocks) == 0) == (name == "none")


def test_scenarios_command_lists_every_scenario(capsys):
    from experiments.cli import main

    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in out] == list(LIBRARY)
