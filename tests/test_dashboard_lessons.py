"""Every lesson's claim holds: the model, not the browser, run over several seeds.

A lesson's :class:`~analysis.dashboard.lessons.Claim` says which KPI's mean over which weeks is
higher or lower than in which other lesson's run. Each claim is checked here on the dashboard's
default market (``DEFAULT_N`` customers) for every seed in ``SEEDS`` (the dashboard's default
seed first), paired by seed (common random numbers), through ``sim.run_model``. A change of
customer behaviour that breaks a lesson fails here: then rewrite or drop the lesson.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from analysis.dashboard.lessons import DEFAULT_SEED, LESSON_BY_KEY, LESSONS, Claim, params_for
from sim.kpis import SERIES
from sim.run import run_model

SEEDS = (DEFAULT_SEED, 1, 2, 3, 4)
CLAIMS = [(ls.key, c) for ls in LESSONS for c in ls.claims]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard_lessons")]


@functools.cache
def _series(lesson: str, seed: int, steps: int) -> np.ndarray:
    ts = run_model(params_for(lesson), seed=seed, steps=steps, shock_loss=False).timeseries
    return ts


def window_mean(lesson: str, seed: int, claim: Claim, steps: int) -> float:
    ts = _series(lesson, seed, steps)
    rows = ts["step"].between(claim.first, claim.last)
    return float(ts.loc[rows, claim.kpi].mean())


def test_claims_are_well_formed():
    assert CLAIMS, "no lesson makes a claim"
    for key, c in CLAIMS:
        assert c.kpi in SERIES, (key, c.kpi)
        assert c.versus in LESSON_BY_KEY and c.versus != key, (key, c.versus)
        text = " ".join(LESSON_BY_KEY[key].explanation)
        # the lesson says it in words: the window and the direction
        assert f"weeks {c.first}–{c.last}" in text and c.direction in text, (key, c)


@pytest.mark.parametrize(
    ("key", "claim"), CLAIMS, ids=[f"{k}-{c.kpi}-{c.first}-{c.last}" for k, c in CLAIMS]
)
def test_lesson_claim_holds_for_every_seed(key, claim):
    steps = max(claim.last, 104)
    here = [window_mean(key, s, claim, steps) for s in SEEDS]
    there = [window_mean(claim.versus, s, claim, steps) for s in SEEDS]
    failed = [
        f"seed {s}: {a:.3f} vs {b:.3f}"
        for s, a, b in zip(SEEDS, here, there, strict=True)
        if not claim.holds(a, b)
    ]
    assert not failed, (
        f"{key}: mean {claim.kpi} in weeks {claim.first}–{claim.last} is not {claim.direction} "
        f"than in {claim.versus}: " + "; ".join(failed)
    )
