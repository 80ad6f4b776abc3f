"""Scenario discovery (PRIM) on cases with a known answer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.discovery import box_figure, describe_box, prim, prim_boxes, tradeoff_figure


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def uniform(n: int = 2000, d: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((n, d)), columns=[f"x{i + 1}" for i in range(d)])


def test_known_box_is_recovered():
    X = uniform()
    y = (X["x1"] > 0.7) & (X["x2"] < 0.3)
    res = prim(X, y)
    lim = res.box.limits
    assert lim.loc["x1", "low"] == pytest.approx(0.7, abs=0.03)
    assert lim.loc["x1", "high"] == pytest.approx(1.0, abs=0.01)
    assert lim.loc["x2", "low"] == pytest.approx(0.0, abs=0.01)
    assert lim.loc["x2", "high"] == pytest.approx(0.3, abs=0.03)
    assert list(res.box.restricted.index) == ["x1", "x2"]  # x3, x4 left free
    assert res.box.density > 0.9 and res.box.coverage > 0.8
    assert res.base_rate == pytest.approx(y.mean())
    assert (res.box.restricted["qp"] < 1e-6).all()
    # the trajectory starts with the whole data and trades coverage for density
    t = res.trajectory
    assert (
        t.loc[0, "coverage"] == 1.0
        and t.loc[0, "mass"] == 1.0
        and t.loc[0, "density"] == pytest.approx(y.mean())
    )
    assert (np.diff(t["mass"]) < 0).all()


def test_noisy_labels_still_find_the_box():
    X = uniform(seed=1)
    rng = np.random.default_rng(2)
    inside = (X["x1"] > 0.7) & (X["x2"] < 0.3)
    y = inside ^ (rng.random(len(X)) < 0.05)  # 5% of the labels flipped
    res = prim(X, y)
    lim = res.box.limits
    assert lim.loc["x1", "low"] == pytest.approx(0.7, abs=0.06)
    assert lim.loc["x2", "high"] == pytest.approx(0.3, abs=0.06)
    assert res.box.density > 0.85
    # coverage is bounded by the flipped cases outside the box
    ceiling = (y & inside).sum() / y.sum()
    assert res.box.coverage > 0.8 * ceiling


def test_discrete_grid_levels_are_peeled_whole():
    levels = np.linspace(0, 1, 6)
    X = pd.DataFrame([(a, b) for a in levels for b in levels for _ in range(3)], columns=["a", "b"])
    y = (X["a"] >= 0.6) & (X["b"] <= 0.2)
    res = prim(X, y)
    assert res.box.density == 1.0 and res.box.coverage == 1.0
    assert res.box.limits.loc["a", "low"] == pytest.approx(0.6)
    assert res.box.limits.loc["b", "high"] == pytest.approx(0.2)
    assert describe_box(res.box) == "a ≥ 0.6 and b ≤ 0.2 (coverage 100%, density 100%, 18 samples)"


def test_min_density_picks_a_larger_box():
    X = uniform(seed=3)
    y = (X["x1"] > 0.5) & (np.random.default_rng(4).random(len(X)) < 0.8)
    strict = prim(X, y)
    loose = prim(X, y, min_density=0.75)
    assert loose.box.coverage >= strict.box.coverage
    # density 0.8 * 0.5 / (1 - a) of the box x1 >= a stays >= 0.75 down to a ≈ 0.47
    assert loose.box.limits.loc["x1", "low"] == pytest.approx(0.47, abs=0.05)
    assert loose.box.density >= 0.75


def test_two_boxes_by_covering():
    X = uniform(seed=5)
    y = (X["x1"] > 0.8) | (X["x3"] < 0.15)
    boxes = prim_boxes(X, y, max_boxes=3)
    assert len(boxes) >= 2
    found = {tuple(b.box.restricted.index) for b in boxes[:2]}
    assert found == {("x1",), ("x3",)}
    for b in boxes[:2]:
        assert b.box.density > 0.95


def test_non_numeric_columns_are_ignored_and_inputs_checked():
    X = uniform(200, 2).assign(label="a")
    y = X["x1"] > 0.5
    res = prim(X, y)
    assert list(res.box.limits.index) == ["x1", "x2"]
    with pytest.raises(ValueError, match="no sample"):
        prim(X, np.zeros(len(X), bool))
    with pytest.raises(ValueError, match="one value per row"):
        prim(X, y[:10])
    with pytest.raises(ValueError, match="boolean"):
        prim(X, np.arange(len(X)))
    with pytest.raises(TypeError, match="DataFrame"):
        prim(X.to_numpy(), y)
    with pytest.raises(ValueError, match="alpha"):
        prim(X, y, alpha=0.7)


def test_figures_show_the_box_and_the_tradeoff():
    X = uniform(500, 3)
    y = (X["x1"] > 0.7) & (X["x2"] < 0.3)
    res = prim(X, y)
    fig = box_figure(res, labels={"x1": "first"})
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "x3",
        "x2",
        "first",
    ]  # restricted first, top down
    assert "coverage" in ax.get_title() and "density" in ax.get_title()
    assert sum("qp=" in t.get_text() for t in ax.texts) == 2
    fig = tradeoff_figure(res)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("coverage") and ax.get_ylabel().startswith("density")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "selected (peeled)",
        "after pasting",
    ]


def test_max_qp_drops_restrictions_that_only_fit_noise():
    X = uniform(150, 6, seed=7)
    y = X["x1"] > 0.6
    y = y ^ (np.random.default_rng(8).random(len(X)) < 0.1)
    loose = prim(X, y, min_mass=0.03)
    pruned = prim(X, y, min_mass=0.03, max_qp=0.05)
    assert "x1" in pruned.box.restricted.index
    assert (pruned.box.restricted["qp"] <= 0.05).all()
    assert len(pruned.box.restricted) <= len(loose.box.restricted)
    assert pruned.box.coverage >= loose.box.coverage
