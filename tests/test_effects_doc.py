"""The published effect table (docs/effects.md) is in step with its runs (docs/effects.csv),
and what it claims about the support factors holds in those runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scripts.effect_table import FACTORS, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def runs():
    return pd.read_csv(DOCS / "effects.csv")


def test_markdown_is_rendered_from_the_csv(runs):
    assert (DOCS / "effects.md").read_text() == render(runs, 2000, 104)


@pytest.mark.parametrize("rule", ["fixed", "target"])
@pytest.mark.parametrize("factor", [f for f in FACTORS if ".support." in f])
def test_support_moves_loyalty_the_documented_way_under_both_rules(runs, factor, rule):
    """Every support factor raises mean loyalty and NPS and lowers annual churn, level by level
    on the paired means (5 seeds), with the feedback rule fixed or target-seeking: the rule
    never reverses a factor's effect."""
    g = runs[(runs.factor == factor) & (runs.rule == rule)].groupby("level").mean(numeric_only=True)
    assert g["mean_loyalty"].is_monotonic_increasing, g["mean_loyalty"].tolist()
    assert g["nps"].is_monotonic_increasing, g["nps"].tolist()
    assert g["annual_churn"].iloc[-1] < g["annual_churn"].iloc[0]
