"""Plot functions on fixture data: each returns a Figure with the expected axes, series and
labels; the snapshot collector and the statistics helpers they rely on."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from analysis import plots
from analysis.snapshots import STATE_COMPONENTS, collect
from analysis.stats import fmt, mean_ci, paired_difference, replicate_band
from analysis.whatif import default_value, evaluate_target, lever_grid, target_outline, whatif_map
from sim import params_from_overrides, run_model
from sim.journey import CHANNELS, TOUCHPOINTS
from sim.kpis import SERIES


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def snap():
    params = params_from_overrides(
        [
            "population.n_customers=150",
            "scenario=outage",
            "shocks.outage.start=3",
            "shocks.outage.duration=2",
            "evaluation.burn_in=2",
        ]
    )
    return params, collect(params, seed=3, steps=8)


def visible_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def line_labels(ax) -> list[str]:
    return [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# ---------------------------------------------------------------------------------- stats
def test_mean_ci_matches_t_interval():
    ci = mean_ci([1.0, 2.0, 3.0, np.nan], 0.95)
    assert ci.n == 3 and ci.mean == pytest.approx(2.0)
    assert ci.high - ci.mean == pytest.approx(4.302653 * 1 / np.sqrt(3), rel=1e-5)
    assert np.isnan(mean_ci([5.0]).low) and mean_ci([]).n == 0
    d = paired_difference([5, 6, 7, 8], [1, 1, 1, 1])
    assert d.mean == pytest.approx(5.5) and d.excludes_zero
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1, 2], [1])
    with pytest.raises(ValueError, match="level"):
        mean_ci([1, 2], 1.5)
    assert fmt(3.14159) == "3.14" and fmt(123456.7) == "123,457" and fmt(float("nan")) == "n/a"


def test_replicate_band_per_step():
    df = pd.DataFrame(
        {"step": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2] * 2, "x": [1.0, 2, 3, 10, 10, 10]}
    )
    b = replicate_band(df, "x")
    assert list(b["step"]) == [1, 2] and list(b["n"]) == [3, 3]
    assert b["mean"].tolist() == [2.0, 10.0]
    assert b.loc[1, "ci_low"] == b.loc[1, "ci_high"] == 10.0  # no spread, zero-width band
    assert b.loc[0, "ci_low"] < 2.0 < b.loc[0, "ci_high"]


# ---------------------------------------------------------------------------------- snapshots
@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_collect_does_not_change_the_run_and_counts_add_up(snap):
    params, s = snap
    ref = run_model(params, seed=3, steps=8, shock_loss=False).timeseries
    pd.testing.assert_frame_equal(s.timeseries, ref)  # stepping the model ourselves = run_model
    assert list(s.timeseries.columns) == ["step", *SERIES]
    f = s.flows
    assert list(f["step"]) == list(range(1, 9))
    total = f["prospects"] + f["lapsed"] + sum(f[f"customers_{n}"] for n in s.firms)
    assert (total == 150).all()
    assert (f[f"customers_{s.firms[0]}"].to_numpy() == ref["active_customers"].to_numpy()).all()
    switch_cols = [c for c in f.columns if c.startswith("switch_")]
    assert len(switch_cols) == len(s.firms) * (len(s.firms) - 1)
    assert (f[switch_cols].sum(axis=1) == f["switched"]).all()
    # a customer count changes only through the recorded flows
    focal = f[f"customers_{s.firms[0]}"].diff().iloc[1:]
    assert (
        focal.abs()
        <= f[["acquired_prospects", "won_back", "lapsed_out", "switched"]].sum(axis=1).iloc[1:]
    ).all()
    assert s.shocks == [
        {"kind": "outage", "start": 3, "end": 5, "target": "focal", "magnitude": 0.6}
    ]
    for name in s.firms:
        assert (
            s.quality_true[name].shape
            == s.quality_estimate[name].shape
            == (len(TOUCHPOINTS), len(CHANNELS))
        )
    err = np.abs(s.quality_estimate[s.firms[0]] - s.quality_true[s.firms[0]]).mean()
    assert err == pytest.approx(ref["map_error"].iloc[-1])
    variables = [v for vs in STATE_COMPONENTS.values() for v in vs]
    assert set(s.state["variable"]) == set(variables) and len(s.state) == 8 * len(variables)
    q = s.state[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-12).all()  # quantiles ordered
    emo = s.state[s.state["variable"] == "affect"]["mean"].to_numpy()
    assert emo == pytest.approx(ref["emotional_index"].to_numpy(), abs=1e-6)


def test_collect_validates_arguments(small_params):
    with pytest.raises(ValueError, match="population"):
        collect(small_params, steps=2, population="some")
    with pytest.raises(ValueError, match="steps"):
        collect(small_params, steps=0)


# ---------------------------------------------------------------------------------- figures
@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_kpi_panels_still_one_panel_per_kpi(snap):
    fig = plots.kpi_panels(snap[1].timeseries, title="t")
    titles = [ax.get_title() for ax in visible_axes(fig)]
    assert titles == [k for k in plots.DEFAULT_PANELS]
    assert fig.get_suptitle() == "t"


def _replicates() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for scenario, shift in (("baseline", 0.0), ("outage", -5.0)):
        for seed in range(3):
            for step in range(1, 11):
                rows.append(
                    {
                        "scenario": scenario,
                        "seed": seed,
                        "step": step,
                        "nps": 20 + shift + rng.normal(0, 2),
                        "profit": 100 + rng.normal(0, 5),
                    }
                )
    return pd.DataFrame(rows)


def test_kpi_bands_one_line_and_two_bands_per_group():
    fig = plots.kpi_bands(_replicates(), ["nps", "profit", "not_a_kpi"], group="scenario")
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["nps", "profit"]
    for ax in axes:
        assert line_labels(ax) == ["baseline (n=3)", "outage (n=3)"]
        assert len(ax.collections) == 4  # CI + replicate range per scenario
        assert ax.get_xlabel() == "week"
    assert axes[0].get_ylabel() == "points (-100..100)"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95% CI of the mean" in legend and "central 90% of replicates" in legend
    with pytest.raises(ValueError, match="KPIs"):
        plots.kpi_bands(_replicates(), ["nothing"])


def test_kpi_bands_without_groups():
    fig = plots.kpi_bands(_replicates()[lambda d: d.scenario == "baseline"], ["nps"])
    assert line_labels(visible_axes(fig)[0]) == ["mean of 3 replicates"]


def _indices() -> pd.DataFrame:
    rows = []
    for f, s1, st in (
        ("firm.support.human", 0.41, 0.5),
        ("firm.support.financial", 0.2, 0.3),
        ("x", 0.0, 0.01),
    ):
        rows += [
            ("cumulative_profit", f, "S1", s1, 0.06, 64, 0.95),
            ("cumulative_profit", f, "ST", st, 0.05, 64, 0.95),
        ]
    return pd.DataFrame(rows, columns=["output", "factor", "index", "value", "conf", "n", "level"])


def test_sensitivity_indices_sobol_bars():
    fig = plots.sensitivity_indices(
        _indices(), "cumulative_profit", factor_labels={"x": "X factor"}
    )
    (ax,) = visible_axes(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["X factor", "firm.support.financial", "firm.support.human"]  # sorted by ST
    assert len(ax.containers) >= 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["S1 (first order)", "ST (total)"]
    widths = sorted(round(p.get_width(), 2) for p in ax.patches)
    assert widths[-1] == 0.5
    with pytest.raises(ValueError, match="no indices"):
        plots.sensitivity_indices(_indices(), "nps")


def test_sensitivity_indices_morris():
    m = pd.DataFrame(
        [
            ("nps", "a", "mu_star", 3.0, 0.5),
            ("nps", "a", "sigma", 1.0, np.nan),
            ("nps", "b", "mu_star", 1.0, 0.2),
            ("nps", "b", "sigma", 2.0, np.nan),
        ],
        columns=["output", "factor", "index", "value", "conf"],
    )
    fig = plots.sensitivity_indices(m, "nps")
    ax1, ax2 = visible_axes(fig)
    assert [t.get_text() for t in ax1.get_yticklabels()] == ["b", "a"]  # sorted by mu*
    assert ax2.get_xlabel() == "mu*" and ax2.get_ylabel() == "sigma"


@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_state_distributions_one_fan_per_variable(snap):
    fig = plots.state_distributions(snap[1].state)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "emotional: affect",
        "cognitive: satisfaction",
        "cognitive: expectation",
        "behavioural: activity",
        "behavioural: loyalty",
    ]
    for ax in axes:
        assert line_labels(ax) == ["median", "mean"]
        assert len(ax.collections) == 2  # 5-95 and 25-75 bands


@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_customer_flows_stack_and_flow_lines(snap):
    s = snap[1]
    fig = plots.customer_flows(s.flows)
    top, bottom = visible_axes(fig)
    stacked = [t.get_text() for t in top.get_legend().get_texts()]
    assert stacked == ["prospects", *[f"customers of {f}" for f in s.firms], "lapsed"]
    assert len(top.collections) == 2 + len(s.firms)
    labels = line_labels(bottom)
    assert labels[:3] == [
        "prospect → customer",
        "lapsed → customer (win-back)",
        "customer → lapsed",
    ]
    assert f"{s.firms[0]} → {s.firms[1]} (switch)" in labels


@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_journey_heatmap_true_estimate_difference(snap):
    s = snap[1]
    true, est = s.quality_true[s.firms[0]], s.quality_estimate[s.firms[0]]
    fig = plots.journey_heatmap(true, est)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "true quality",
        "firm's estimate (journey map)",
        "estimate − true",
    ]
    for ax, expected in zip(axes, (true, est, est - true), strict=True):
        (img,) = ax.get_images()
        np.testing.assert_allclose(img.get_array(), expected)
        assert [t.get_text() for t in ax.get_xticklabels()] == list(CHANNELS)
        assert len(ax.texts) == true.size
    assert "mean absolute error" in fig.get_suptitle()
    with pytest.raises(ValueError, match="touchpoints"):
        plots.journey_heatmap(true[:2], est[:2])


@pytest.mark.xdist_group("plots_snap")  # shares the module fixture snap
def test_nps_measured_vs_true_marks_shocks_and_alarms(snap):
    s = snap[1]
    fig = plots.nps_measured_vs_true(s.timeseries, s.shocks)
    ax, err = visible_axes(fig)
    labels = line_labels(ax)
    assert labels[:2] == ["true NPS", "measured NPS (surveys)"]
    assert ("alarm raised" in labels) == bool((s.timeseries["alarm"] > 0).any())
    spans = [p for p in ax.patches if p.get_label() == "shock: outage"]
    assert len(spans) == 1
    x0 = spans[0].get_x() if hasattr(spans[0], "get_x") else spans[0].get_xy()[0][0]
    assert x0 == pytest.approx(2.5)
    assert err.get_ylabel() == "measured − true"


def _grid_sweep() -> pd.DataFrame:
    rows = []
    for h in (0.2, 0.5, 0.8):
        for o in (0.0, 0.5, 1.0):
            for rep in range(2):
                rows.append(
                    {
                        "point": 0,
                        "replicate": rep,
                        "seed": rep,
                        "firm.support.human": h,
                        "firm.policy.omnichannel": o,
                        "cumulative_profit": 100 * h - 50 * o + rep,
                        "nps": 40 * h + rep,
                    }
                )
    return pd.DataFrame(rows)


def test_sweep_main_effects_one_panel_per_lever():
    fig = plots.sweep_main_effects(
        _grid_sweep(),
        ["firm.support.human", "firm.policy.omnichannel"],
        "cumulative_profit",
        labels={"firm.support.human": "HR"},
    )
    a, b = visible_axes(fig)
    assert a.get_xlabel() == "HR" and b.get_xlabel() == "firm.policy.omnichannel"
    x, y = a.get_lines()[0].get_data()
    assert list(x) == [0.2, 0.5, 0.8] and y[0] < y[-1]


# ---------------------------------------------------------------------------------- what-if
def test_lever_grid_means_target_and_baseline():
    g = lever_grid(
        _grid_sweep(),
        "firm.support.human",
        "firm.policy.omnichannel",
        "cumulative_profit",
        "cumulative_profit >= base_cumulative_profit and nps >= 20",
    )
    assert g.mean.shape == (3, 3) and (g.n.to_numpy() == 2).all()
    assert g.mean.loc[0.0, 0.8] == pytest.approx(80.5)
    assert g.baseline == (0.5, 0.5)  # the model's defaults (0.5, 0.5) are grid points
    assert g.base["base_cumulative_profit"] == pytest.approx(25.5)
    assert g.met.loc[0.0, 0.8] == 1.0 and g.met.loc[1.0, 0.2] == 0.0
    # nps = 40h + rep >= 20 needs h >= 0.5; profit >= 25.5 needs 100h - 50o + rep >= 25.5
    assert (
        g.met.loc[0.5, 0.5] == 0.5
    )  # only the second replicate (rep=1) is at or above the baseline mean


def test_evaluate_target_names_and_errors():
    df = _grid_sweep()
    ok = evaluate_target(df, "firm_support_human > 0.3 and nps >= limit", {"limit": 20})
    assert ok.dtype == bool and ok.sum() == 12
    with pytest.raises(ValueError, match="invalid target"):
        evaluate_target(df, "nonsense_kpi > 3")
    with pytest.raises(ValueError, match="condition"):
        evaluate_target(df, "nps + 1")
    assert default_value("firm.support.human") == 0.5 and default_value("no.such.key") is None


def test_whatif_map_heatmap_and_target_contour():
    fig = whatif_map(
        _grid_sweep(),
        "firm.support.human",
        "firm.policy.omnichannel",
        "cumulative_profit",
        "cumulative_profit >= 50",
        labels={"firm.support.human": "HR"},
    )
    ax = visible_axes(fig)[0]
    assert ax.get_xlabel() == "HR" and ax.get_ylabel() == "firm.policy.omnichannel"
    mesh, outline = ax.collections
    assert type(mesh).__name__ == "QuadMesh" and type(outline).__name__ == "LineCollection"
    np.testing.assert_allclose(mesh.get_array().reshape(3, 3)[0], [20.5, 50.5, 80.5])
    # profit 100h - 50o + rep >= 50 in >= half the replicates: (0.5, 0), (0.8, 0), (0.8, 0.5)
    # an L-shaped region of 3 cells has 8 boundary edges
    assert len(outline.get_segments()) == 8
    assert "target: cumulative_profit >= 50" in ax.get_title()
    assert len(ax.texts) == 9  # one annotated mean per cell
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["target met in ≥50% of replicates (3 of 9 cells)", "baseline cell"]


def test_target_outline_edges():
    edges = np.array([0.0, 1.0, 2.0])
    assert target_outline(np.zeros((2, 2), bool), edges, edges) == []
    assert len(target_outline(np.ones((2, 2), bool), edges, edges)) == 8  # the grid's border
    single = target_outline(np.array([[True, False], [False, False]]), edges, edges)
    assert sorted(map(tuple, map(tuple, single))) == sorted(
        [
            ((0.0, 0.0), (1.0, 0.0)),
            ((0.0, 1.0), (1.0, 1.0)),
            ((0.0, 0.0), (0.0, 1.0)),
            ((1.0, 0.0), (1.0, 1.0)),
        ]
    )


def test_whatif_map_bins_continuous_levers():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.random(400), "b": rng.random(400)})
    df["nps"] = 50 * df["a"] - 20 * df["b"]
    g = lever_grid(df, "a", "b", "nps", "nps > 10")
    assert g.mean.shape == (8, 8) and g.n.to_numpy().sum() == 400
