"""The educators' dashboard page: ``solara run analysis.dashboard.app`` (or ``cxsim dashboard``).

A Solara page around a Mesa model (:class:`~analysis.dashboard.live.DashboardModel`, the real
``sim.CXModel`` with its Mesa ``DataCollector``). Mesa's generic ``SolaraViz`` frame is not
used: its controls expose Mesa's internals (render interval, threads, pages) and redraw every
chart as an image; this page has its own play loop (one thread per session, paced by the speed
control, stopping at the horizon) and SVG charts that receive only data.

Sliders take effect on Reset; choosing a lesson starts its run at once. Either way the run
that was on screen stays on the charts as a faded line (the previous run, A) beside the new
one (B).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # before solara is imported
os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # its badge would cover the charts

import solara

from analysis.dashboard.components import (
    ChartGrid,
    Counters,
    Glossary,
    InfoPanel,
    LessonBanner,
    ShockPanel,
    publish,
    run_summary,
)
from analysis.dashboard.lessons import (
    DEFAULT_SEED,
    FREE_PLAY,
    LESSON_BY_TITLE,
    LESSONS,
    LEVERS,
    lesson,
    lever_values,
)
from analysis.dashboard.live import Session

TITLE = "cxsim: customer experience management"
MAX_SEED = 999
SPEEDS = ("1", "2", "5", "10", "25", "max")  # weeks per second while playing
DEFAULT_SPEED = "10"
HORIZONS = (13, 260, 13)  # min, max, step of the "stop at week" slider
CSS = """
.cx-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 6px 14px; }
@media (min-width: 1750px) { .cx-grid { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
.cx-cell { min-width: 0; }
.cx-bar .v-btn { min-width: 44px !important; }
.cx-lesson-menu .v-select__selection { white-space: normal; line-height: 1.2; }
.v-menu__content .v-list-item__title { white-space: normal; }
.cx-sidebar .v-input__slider .v-label { font-size: 13px; }
.cx-sidebar .v-input--hide-details { margin-top: 0; }
"""


def slider_values(session: Session) -> dict:
    """The slider positions of the running model: every lever and the seed."""
    return {**lever_values(session.model.params), "rng": session.model.seed}


def _fmt_lever(lv, value) -> str:
    if lv.is_int:
        return f"{int(value):,}"
    return f"{float(value):.2f}"


@solara.component
def Sliders(pending: solara.Reactive[dict], running: dict):
    """One slider per lever and the seed; each label shows its value (and a mark if changed)."""
    for lv in LEVERS:
        value = pending.value[lv.name]
        mark = " •" if value != running[lv.name] else ""
        label = f"{lv.label}: {_fmt_lever(lv, value)}{mark}"

        def set_value(v, name=lv.name):
            pending.set({**pending.value, name: v})

        if lv.is_int:
            solara.SliderInt(
                label,
                value=int(value),
                min=int(lv.min),
                max=int(lv.max),
                step=int(lv.step),
                on_value=set_value,
                thumb_label=False,
            )
        else:
            solara.SliderFloat(
                label,
                value=float(value),
                min=float(lv.min),
                max=float(lv.max),
                step=float(lv.step),
                on_value=set_value,
                thumb_label=False,
            )
    seed = pending.value["rng"]
    solara.SliderInt(
        f"Random seed: {seed}" + (" •" if seed != running["rng"] else ""),
        value=int(seed),
        min=0,
        max=MAX_SEED,
        on_value=lambda v: pending.set({**pending.value, "rng": v}),
        thumb_label=False,
    )


@solara.component
def Horizon(session: Session, version: solara.Reactive[int]):
    def set_horizon(weeks: int) -> None:
        session.horizon = int(weeks)
        version.set(version.value + 1)

    solara.SliderInt(
        f"Stop at week: {session.horizon}",
        value=session.horizon,
        min=HORIZONS[0],
        max=HORIZONS[1],
        step=HORIZONS[2],
        on_value=set_horizon,
        thumb_label=False,
    )


@solara.component
def ControlBar(session: Session, version: solara.Reactive[int], playing, speed, reset):
    """Play/pause, Step, Reset, the speed, and a note when the run stopped at its horizon."""
    version.value  # noqa: B018  (subscribes: Step is disabled at the horizon)
    at_end = session.at_horizon()

    def step_once() -> None:
        if session.step():
            publish(session)
            if session.at_horizon():
                version.set(version.value + 1)

    with solara.Row(
        gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}, classes=["cx-bar"]
    ):
        solara.Button(
            "❚❚ Pause" if playing.value else "▶ Play",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=at_end and not playing.value,
            classes=["cx-play"],
        )
        solara.Button(
            "Step",
            color="primary",
            outlined=True,
            on_click=step_once,
            disabled=playing.value or at_end,
        )
        solara.Button("Reset", color="primary", outlined=True, on_click=reset)
        solara.Text("Speed (weeks/s):", style={"margin-left": "10px", "font-size": "0.9em"})
        solara.ToggleButtonsSingle(
            value=speed, values=list(SPEEDS), dense=True, classes=["cx-speed"]
        )
        if at_end:
            solara.Text(
                f"Stopped at week {session.horizon} (the horizon): raise 'Stop at week' to go on.",
                classes=["cx-horizon"],
                style={"color": "#b71c1c", "font-size": "0.9em"},
            )


@solara.component
def Dashboard(session: Session):
    """The page's content for one browser session."""
    version = solara.use_reactive(0)  # bumped after every change the page shows
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(DEFAULT_SPEED)
    pending = solara.use_reactive(slider_values(session))
    error = solara.use_reactive("")
    runs = solara.use_reactive(0)  # bumped by every new run: the banner and the menu follow it

    def bump() -> None:
        version.set(version.value + 1)

    def play(cancel) -> None:
        """The play loop: one week at a time, paced by the speed control, until pause or horizon."""
        if not playing.value:
            return
        due = time.perf_counter()
        while not cancel.is_set() and playing.value:
            try:
                stepped = session.step()
            except Exception as exc:  # shown on the page, not lost in a thread
                error.set(f"error in week {session.model.steps + 1}: {exc}")
                stepped = False
            if not stepped:
                playing.set(False)
                bump()
                return
            publish(session)  # the new week's data straight to the charts: no page render
            if speed.value != "max":
                due += 1.0 / float(speed.value)
                wait = due - time.perf_counter()
                if wait > 0:
                    cancel.wait(wait)
                else:
                    due = time.perf_counter()  # behind: do not rush to catch up

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    def start_run(lesson_key: str, values: dict | None, seed: int) -> None:
        playing.set(False)
        with session.model.lock:
            session.new_run(lesson_key, values, seed)
        pending.set(slider_values(session))
        error.set("")
        runs.set(runs.value + 1)
        bump()

    def choose_lesson(title: str) -> None:
        values = {"n_customers": pending.value["n_customers"]}
        start_run(LESSON_BY_TITLE[title].key, values, int(pending.value["rng"]))

    def reset() -> None:
        values = {lv.name: pending.value[lv.name] for lv in LEVERS}
        start_run(session.model.lesson, values, int(pending.value["rng"]))

    # Re-rendering this page re-applies the live views' last *rendered* data: send the latest
    # week again (the play loop sends each week to them directly, see components.publish)
    solara.use_effect(lambda: publish(session), None)
    model = session.model
    running = slider_values(session)
    solara.Style(CSS)
    solara.Title(TITLE)

    with solara.Sidebar():
        with solara.Column(gap="4px", classes=["cx-sidebar"]):
            with solara.Div(classes=["cx-lesson-menu"]):
                solara.Select(
                    "Lesson",
                    values=[ls.title for ls in LESSONS],
                    value=lesson(model.lesson).title,
                    on_value=choose_lesson,
                )
            solara.Text(
                "Sliders apply on Reset (• = changed). The run on screen stays as a faded line.",
                style={"font-size": "0.8em", "color": "#555"},
            )
            Sliders(pending, running)
            Horizon(session, version)
            solara.FileDownload(
                session.csv,
                filename="cxsim-runs.csv",
                label="Export runs (CSV)",
                mime_type="text/csv",
            )

    with solara.Column(gap="6px", style={"padding": "2px 10px"}):
        ControlBar(session, version, playing, speed, reset)
        if error.value:
            solara.Error(error.value)
        Counters(session, version)
        LessonBanner(session, runs.value)
        ChartGrid(session, version)
        ShockPanel(session, version)
        solara.Text(
            run_summary(session),
            classes=["cx-run-summary"],
            style={"display": "block", "font-size": "0.85em", "color": "#555"},
        )
        InfoPanel()
        Glossary()


@solara.component
def Page():
    session = solara.use_memo(lambda: Session(FREE_PLAY, seed=DEFAULT_SEED), [])
    Dashboard(session)
