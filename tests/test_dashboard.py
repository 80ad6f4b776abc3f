"""The educators' dashboard without a browser: lessons, the live model, live shocks, the network
sample, the Solara page (``solara.render``) and the ``cxsim dashboard`` argument checks."""

from __future__ import annotations

import importlib
import os
import socket

import numpy as np
import pytest

from analysis.dashboard.charts import CHART_BY_KEY, RunView, Window, chart_data, window_mean
from analysis.dashboard.lessons import (
    FREE_PLAY,
    LESSON_BY_KEY,
    LESSONS,
    LEVERS,
    get_key,
    lever_values,
    params_for,
)
from analysis.dashboard.live import (
    SAMPLE_SIZE,
    DashboardModel,
    Session,
    network_sample,
    trigger_shock,
)
from sim import CXModel, ParamError, with_updates
from sim.kpis import SERIES

N = 400  # customers in the test models


def need(module: str):
    """Import a module of the ``viz`` extra; skip without it, except in CI (where it must run)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed: pip install -e '.[viz]'")


def history(model) -> np.ndarray:
    return np.vstack(model.history)


# ------------------------------------------------------------------------------------------
# lessons and sliders
# ------------------------------------------------------------------------------------------
def test_lessons_are_valid_presets_with_two_lines():
    assert len(LESSONS) >= 5 and LESSONS[0].key == FREE_PLAY  # free play + at least four lessons
    default = params_for(FREE_PLAY)
    for ls in LESSONS:
        assert len(ls.explanation) == 2 and all(line.strip() for line in ls.explanation), ls.key
        p = params_for(ls.key)
        if ls.key != FREE_PLAY:
            assert p != default, f"lesson {ls.key} changes nothing"
    assert len({ls.title for ls in LESSONS}) == len(LESSONS)


def test_lesson_contents():
    assert params_for("measure_nothing").firm.support.methodological == 0.0
    assert (
        params_for("measure_nothing").shocks[0].kind == "outage"
        and params_for("measure_nothing").shocks[0].start == 10
    )
    assert all(
        v == 1.0
        for k, v in lever_values(params_for("support_overinvestment")).items()
        if k in ("financial", "methodological", "technical", "technological", "material", "human")
    )
    assert params_for("cadence_fast").firm.policy.improvement_cadence == 2
    assert params_for("cadence_slow").firm.policy.improvement_cadence == 16
    last, middle = (
        params_for("peak_end_last").journey.touchpoint_offset,
        params_for("peak_end_middle").journey.touchpoint_offset,
    )
    base = params_for(FREE_PLAY).journey.touchpoint_offset
    assert sum(base) - sum(last) == pytest.approx(
        sum(base) - sum(middle)
    )  # the same shortfall, moved
    assert last[-1] < base[-1] and middle[-1] == base[-1]


def test_sliders_override_the_lesson():
    p = params_for(
        "measure_nothing", {"methodological": 0.8, "n_customers": 600, "improvement_cadence": 3.0}
    )
    assert p.firm.support.methodological == 0.8 and p.firm.support.technological == 0.0
    assert p.population.n_customers == 600 and p.firm.policy.improvement_cadence == 3
    assert p.shocks  # the lesson's outage stays
    assert lever_values(p)["methodological"] == 0.8
    assert {lv.name for lv in LEVERS} == set(lever_values(p))
    assert get_key(p, "firm.support.human") == p.firm.support.human
    with pytest.raises(ValueError, match="unknown slider"):
        params_for(FREE_PLAY, {"omni": 1.0})
    with pytest.raises(ValueError, match="unknown lesson"):
        params_for("no_such_lesson")
    with pytest.raises(ParamError, match=r"firm\.policy\.omnichannel"):
        params_for(FREE_PLAY, {"omnichannel": 1.5})


# ------------------------------------------------------------------------------------------
# the live model
# ------------------------------------------------------------------------------------------
def test_dashboard_model_is_the_model():
    dm = DashboardModel("omnichannel_seamless", n_customers=N, human=0.7, rng=3)
    ref = CXModel(params_for("omnichannel_seamless", {"n_customers": N, "human": 0.7}), rng=3)
    assert dm.params == ref.params and dm.params.firm.policy.omnichannel == 1.0
    for _ in range(3):
        dm.step()
        ref.step()
    np.testing.assert_array_equal(history(dm), history(ref))
    df = dm.datacollector.get_model_vars_dataframe()  # the model's own Mesa DataCollector
    assert len(df) == 3  # row w - 1 is week w
    assert df["nps"].tolist() == [row[ref.kpi_names.index("nps")] for row in ref.history]


@pytest.mark.parametrize("kind", ["outage", "downturn", "rival_campaign", "expectation_jump"])
def test_live_shock_equals_the_scheduled_one(kind):
    """A shock triggered after week 3 is the same run as one configured to start in week 4."""
    base = with_updates(params_for(FREE_PLAY), {"population.n_customers": N})
    spec = {
        "kind": kind,
        "start": 4,
        "duration": 3,
        "magnitude": 0.8,
        "channel": "app",
        "target": "rival" if kind == "rival_campaign" else "focal",
    }
    scheduled = CXModel(with_updates(base, {"shocks": {"s": spec}}), rng=5)
    live = CXModel(base, rng=5)
    for _ in range(3):
        scheduled.step()
        live.step()
    ev = trigger_shock(live, kind, 0.8, 3, channel="app")
    assert (ev.start, ev.end, ev.magnitude) == (4, 7, 0.8)
    assert ev.target == (1 if kind == "rival_campaign" else 0)
    for _ in range(5):
        scheduled.step()
        live.step()
    assert [(e.kind, e.start, e.end, e.target) for e in live.shock_state.events] == [
        (e.kind, e.start, e.end, e.target) for e in scheduled.shock_state.events
    ]
    np.testing.assert_array_equal(history(live), history(scheduled))


def test_viral_post_and_bad_shocks():
    m = DashboardModel(n_customers=N, rng=2)
    m.step()
    before = m.focal.reputation
    ev = trigger_shock(m, "viral_post", 1.0, 2)
    assert m.focal.reputation == pytest.approx(before - 0.3) and m.live_shocks[-1][0] is ev
    with pytest.raises(ParamError, match="kind"):
        trigger_shock(m, "meteor")
    with pytest.raises(ParamError, match="magnitude"):
        trigger_shock(m, "outage", 2.0)
    with pytest.raises(ParamError, match="magnitude"):
        trigger_shock(m, "outage", 0.0)  # a fired shock must do something
    with pytest.raises(ParamError, match="channel"):
        trigger_shock(m, "outage", 0.5, channel="pigeon")
    with pytest.raises(ParamError, match="target"):
        trigger_shock(m, "outage", 0.5, target="nobody")
    assert len(m.shock_state.events) == 1


def test_network_sample_is_a_cached_connected_subgraph():
    m = DashboardModel(n_customers=1000, rng=4)
    s = network_sample(m)
    assert len(s.nodes) == SAMPLE_SIZE == len(np.unique(s.nodes)) and s.pos.shape == (
        SAMPLE_SIZE,
        2,
    )
    adj = m.network
    for a, b in s.edges:  # every drawn tie is a tie of the model's network
        assert adj[s.nodes[a], s.nodes[b]] == 1
    assert len(s.edges) >= SAMPLE_SIZE - 1  # a snowball sample: connected, not scattered
    assert network_sample(m) is s  # laid out once per model
    assert (
        network_sample(DashboardModel(n_customers=1000, rng=4, omnichannel=0.9)) is s
    )  # same network
    small = DashboardModel(n_customers=200, rng=4)
    assert len(network_sample(small).nodes) == 200
    # sampling draws from its own generator: the run is unchanged
    plain = DashboardModel(n_customers=1000, rng=4)
    for model in (m, plain):
        for _ in range(2):
            model.step()
    np.testing.assert_array_equal(history(m), history(plain))


def test_network_colours():
    need("solara")
    from analysis.dashboard.components import COLOUR_BY, network_colours, network_geometry

    session = Session()
    session.step()
    nodes, path = network_geometry(session)
    assert len(nodes) == SAMPLE_SIZE and path.startswith("M")
    for c in COLOUR_BY:
        colours, legend = network_colours(session, c)
        assert len(colours) == SAMPLE_SIZE and all(x.startswith("#") for x in colours) and legend
    with pytest.raises(ValueError, match="colouring"):
        network_colours(session, "shoe size")


# ------------------------------------------------------------------------------------------
# charts as data, sessions
# ------------------------------------------------------------------------------------------
def test_chart_axes_are_fixed_and_runs_a_and_b_are_drawn():
    s = Session("measure_nothing", {"n_customers": N})
    for _ in range(12):
        s.step()
    s.new_run("measure_some", {"n_customers": N})
    assert s.previous is not None and s.previous.weeks == 12 and s.model.steps == 0
    for _ in range(5):
        s.step()
    spec = CHART_BY_KEY["nps"]
    doc = chart_data(spec, s.current(), s.previous, 104, N, [Window("nps", 10, 52)])
    assert next(t["label"] for t in doc["yticks"]) == "-60" and doc["yticks"][-1]["label"] == "+100"
    assert doc["xticks"][0]["label"] == "0" and doc["xticks"][-1]["label"] == "104"
    faded = [ln for ln in doc["lines"] if ln["opacity"] < 1]
    assert len(faded) == 2 and all(ln["dash"] for ln in faded)  # true and measured NPS of run A
    assert any("previous: Measure nothing A" in g["label"] for g in doc["legend"])
    assert doc["texts"] == [] or "mean weeks 10–52" in doc["texts"][0]
    (text,) = doc["texts"]
    assert "previous" in text and "this run" in text and "so far" in text
    # the same axes whatever the data; money scales with the market
    lo, hi, _ = CHART_BY_KEY["profit"].yrange(2_000)
    assert (lo, hi) == (-2_000.0, 10_000.0)
    empty = chart_data(spec, Session().current(), None, 104, N)
    assert empty["yticks"] == doc["yticks"] and empty["lines"][0]["points"] == []


def test_bands_only_for_shocks_touching_the_focal_firm_and_labelled():
    s = Session(values={"n_customers": N})
    s.step()
    trigger_shock(s.model, "outage", 0.5, 3, channel="app")
    trigger_shock(s.model, "outage", 0.5, 3, channel="web", target="rival")
    bands = s.current().bands
    assert [b.label for b in bands] == ["outage app 2–4"]
    doc = chart_data(CHART_BY_KEY["nps"], s.current(), None, 104, N)
    assert [b["label"] for b in doc["bands"]] == ["outage app 2–4"]


def test_window_mean():
    rows = np.full((10, len(SERIES)), np.nan)
    rows[:, SERIES.index("nps")] = np.arange(1, 11)
    run = RunView("r", rows)
    assert window_mean(run, Window("nps", 3, 5)) == (4.0, True)
    assert window_mean(run, Window("nps", 9, 20)) == (9.5, False)
    assert np.isnan(window_mean(run, Window("nps", 11, 20))[0])


def test_session_horizon_and_csv():
    s = Session(values={"n_customers": N})
    s.horizon = 3
    assert [s.step() for _ in range(4)] == [True, True, True, False] and s.model.steps == 3
    s.new_run(FREE_PLAY, {"n_customers": N}, seed=7)
    s.step()
    lines = s.csv().splitlines()
    assert lines[0].split(",")[:6] == ["run", "lesson", "seed", "customers", "week", SERIES[0]]
    assert [ln.split(",")[0] for ln in lines[1:]] == ["previous"] * 3 + ["this run"]
    assert lines[-1].split(",")[2] == "7"


# ------------------------------------------------------------------------------------------
# the page, rendered without a browser
# ------------------------------------------------------------------------------------------
def _widgets_with(trait: str) -> list:
    """Live widgets with a trait (the SVG templates are widget classes made on the fly)."""
    import warnings

    import ipywidgets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        widgets = list(ipywidgets.Widget._active_widgets.values())
    return [w for w in widgets if trait in w.keys]


def counters() -> dict:
    (w,) = [w for w in _widgets_with("tiles") if w.comm is not None][-1:]
    return {t["css"]: t["value"] for t in w.tiles}


def sliders(rc) -> dict:
    import ipyvuetify as v

    return {w.label.split(":")[0]: w for w in rc.find(v.Slider).widgets}


def button(rc, label: str):
    import ipyvuetify as v

    return rc.find(v.Btn, children=[label]).widget


def test_page_renders_with_lessons_menu_sliders_and_counters():
    solara = need("solara")
    import ipyvuetify as v

    from analysis.dashboard import app

    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    try:
        menu = rc.find(v.Select, label="Lesson").widget
        assert menu.items == [ls.title for ls in LESSONS] and menu.v_model == LESSONS[0].title
        found = sliders(rc)
        for lv in LEVERS:
            assert lv.label in found, lv.label
        assert found["Random seed"].v_model == 42 and found["Customers"].v_model == 2000
        assert found["Omnichannel"].label == "Omnichannel: 0.50"  # the value is in the label
        for label in (
            "▶ Play",
            "Step",
            "Reset",
            "Outage",
            "Viral post",
            "Rival campaign",
            "Downturn",
            "Expectation jump",
        ):
            button(rc, label)
        c = counters()
        assert c["cx-week"] == "0 / 104" and c["cx-nps"] == "–"
    finally:
        rc.close()


def test_step_lesson_slider_reset_and_shock_through_the_page():
    solara = need("solara")
    import ipyvue
    import ipyvuetify as v

    from analysis.dashboard import app

    session = Session(values={"n_customers": N})
    _, rc = solara.render(solara.AppLayout(children=[app.Dashboard(session)]), handle_error=False)
    try:
        button(rc, "Step").click()
        assert session.model.steps == 1 and counters()["cx-week"] == "1 / 104"
        assert counters()["cx-nps"] != "–"
        charts = [w for w in _widgets_with("chart") if w.comm is not None]
        assert {w.chart["key"] for w in charts} == {"nps", "market_share", "profit", "retention"}

        # a lesson: a new run with the lesson's parameters, sliders at its values, run A kept
        rc.find(v.Select, label="Lesson").widget.v_model = LESSON_BY_KEY[
            "support_overinvestment"
        ].title
        m = session.model
        assert m.lesson == "support_overinvestment" and m.steps == 0 and m.n == N
        assert m.params == params_for("support_overinvestment", {"n_customers": N})
        assert session.previous is not None and session.previous.weeks == 1
        assert sliders(rc)["Human support"].v_model == 1.0 and counters()["cx-week"] == "0 / 104"
        assert rc.find(ipyvue.Html, class_="cx-lesson-line").widgets  # the explanation is shown

        # a slider takes effect on Reset
        sliders(rc)["Omnichannel"].v_model = 0.9
        assert sliders(rc)["Omnichannel"].label == "Omnichannel: 0.90 •"  # changed, not yet applied
        sliders(rc)["Customers"].v_model = 600
        button(rc, "Reset").click()
        m = session.model
        assert m.params.firm.policy.omnichannel == 0.9 and m.n == 600
        assert m.lesson == "support_overinvestment" and m.params.firm.support.human == 1.0

        # a shock button starts a shock in the next week; the log says when it ends
        button(rc, "Step").click()
        button(rc, "Downturn").click()
        (ev,) = session.model.shock_state.events
        assert (ev.kind, ev.start) == ("downturn", 2)
        msg = rc.find(ipyvue.Html, class_="cx-shock-message").widget.children[0]
        assert "downturn" in msg and "weeks 2–7" in msg
        (log,) = [w for w in _widgets_with("entries") if w.comm is not None]
        assert "starts in week 2" in log.entries[0]
    finally:
        rc.close()


# ------------------------------------------------------------------------------------------
# cxsim dashboard: arguments
# ------------------------------------------------------------------------------------------
def test_serve_arguments(capsys):
    from analysis.dashboard import serve

    assert serve.parse_port([]) == 8765
    assert serve.parse_port(["dashboard.port=9001"]) == 9001
    for bad in (
        ["dashboard.port=80"],
        ["dashboard.port=70000"],
        ["dashboard.port=abc"],
        ["port=9000"],
        ["dashboard.port"],
    ):
        assert serve.cli(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("cxsim dashboard: error:") and err.count("\n") == 1, err
    assert serve.cli(["--help"]) == 0 and "dashboard.port" in capsys.readouterr().out
    with socket.socket() as s:  # a port somebody listens on
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port >= 1024  # an ephemeral port, one the dashboard may use
        assert serve.cli([f"dashboard.port={port}"]) == 1
        assert "in use" in capsys.readouterr().err
