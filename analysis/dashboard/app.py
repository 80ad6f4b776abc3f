"""The educators' dashboard page: ``solara run analysis.dashboard.app`` (or ``cxsim dashboard``).

Mesa's ``SolaraViz`` provides the step / play / reset controls and the parameter sliders;
the model is :class:`~analysis.dashboard.live.DashboardModel` (``sim.CXModel`` built from the
lesson and the sliders). Sliders take effect on Reset, as everywhere in SolaraViz. Choosing a
lesson starts a new run with the lesson's parameters and puts the sliders at its values.
"""

from __future__ import annotations

import os

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # before solara is imported

import solara
from mesa.visualization import Slider, SolaraViz

from analysis.dashboard.components import GRID, Counters, LessonBanner, ShockPanel
from analysis.dashboard.lessons import LESSON_BY_TITLE, LESSONS, LEVERS, lesson, lever_values
from analysis.dashboard.live import DashboardModel

TITLE = "cxsim: customer experience management"
MAX_SEED = 999


def model_params(model: DashboardModel) -> dict:
    """SolaraViz ``model_params``: the lesson (fixed), one slider per lever, the seed.

    Sliders start at the running model's values, so after a lesson or a Reset they show what runs.
    """
    values = lever_values(model.params)
    params: dict = {"lesson": model.lesson}
    for lv in LEVERS:
        v = values[lv.name]
        params[lv.name] = Slider(
            lv.label,
            value=int(v) if lv.is_int else float(v),
            min=int(lv.min) if lv.is_int else float(lv.min),
            max=int(lv.max) if lv.is_int else float(lv.max),
            step=int(lv.step) if lv.is_int else float(lv.step),
            dtype=int if lv.is_int else float,
        )
    params["rng"] = Slider(
        "Random seed", value=int(model.seed), min=0, max=MAX_SEED, step=1, dtype=int
    )
    return params


@solara.component
def Dashboard(model: solara.Reactive[DashboardModel]):
    """The page's content for a given model reactive (``Page`` makes one per browser session)."""
    # A new lesson unmounts SolaraViz for one render and mounts it afresh, so that its sliders
    # and the parameters it re-creates the model with on Reset start from the lesson's values.
    # (Remounting through a changed ``key`` is not enough: the mount effect of SolaraViz's
    # parameter panel, which sits in the sidebar, does not run again.)
    remounting = solara.use_reactive(False)
    solara.use_effect(
        lambda: remounting.set(False) if remounting.value else None, [remounting.value]
    )
    m = model.value

    def apply_lesson(title: str) -> None:
        current = model.value
        model.value = DashboardModel(
            LESSON_BY_TITLE[title].key, n_customers=current.n, rng=current.seed
        )
        remounting.set(True)

    with solara.Sidebar():
        with solara.Card("Lesson", margin=0, classes=["cx-lesson-menu"]):
            solara.Select(
                "Lesson",
                values=[ls.title for ls in LESSONS],
                value=lesson(m.lesson).title,
                on_value=apply_lesson,
            )
            solara.Text(
                "Move sliders, then press Reset to run with them.",
                style={"font-size": "0.85em", "color": "#666"},
            )

    with solara.Column(gap="8px", style={"padding": "4px 8px"}):
        LessonBanner(m)
        Counters(m)
        ShockPanel(m)
        if not remounting.value:
            SolaraViz(
                model, components=GRID, model_params=model_params(m), name=TITLE, play_interval=150
            )


@solara.component
def Page():
    model = solara.use_memo(lambda: solara.reactive(DashboardModel()), [])
    solara.Title(TITLE)
    Dashboard(model)
