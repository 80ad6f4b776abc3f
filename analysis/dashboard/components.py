"""Solara components of the dashboard: counters, network view, shock buttons, KPI charts.

Every component takes the live :class:`~analysis.dashboard.live.DashboardModel` and reads
Mesa's ``update_counter`` so that it redraws after each step (SolaraViz bumps it). Charts are
Mesa's own ``PlotMatplotlib`` over the model's ``DataCollector``, with shock windows shaded.
Figures are PNGs drawn on the server (matplotlib): nothing is fetched by the browser.
"""

from __future__ import annotations

import math

import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization.components.matplotlib_components import PlotMatplotlib
from mesa.visualization.utils import force_update, update_counter

from analysis.dashboard.lessons import LEVERS, lesson, lever_values
from analysis.dashboard.live import DashboardModel, network_sample, trigger_shock
from sim.journey import CHANNELS
from sim.params import ParamError
from sim.state import CUSTOMER, LAPSED, PROSPECT

CHART_SIZE = (6.4, 3.4)  # inches: fits a SolaraViz grid cell (about 565 x 390 px at 1600 px wide)
NETWORK_SIZE = (6.4, 3.2)
COLOUR_BY = ("affect", "satisfaction", "status")
SHOCK_BUTTONS = (
    ("outage", "Outage"),
    ("viral_post", "Viral post"),
    ("rival_campaign", "Rival campaign"),
    ("downturn", "Downturn"),
    ("expectation_jump", "Expectation jump"),
)
STATUS_COLOURS = {
    "focal customer": "#1f77b4",
    "rival customer": "#ff7f0e",
    "prospect": "#c7c7c7",
    "lapsed": "#d62728",
}


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format(value, spec) + suffix


# ------------------------------------------------------------------------------------------
# lesson text and counters
# ------------------------------------------------------------------------------------------
def run_summary(model: DashboardModel) -> str:
    """The running model's lever values, seed and scheduled shocks, on one line."""
    v = lever_values(model.params)
    support = ", ".join(
        f"{lv.name} {v[lv.name]:.2f}" for lv in LEVERS if lv.key.startswith("firm.support.")
    )
    text = (
        f"This run: omnichannel {v['omnichannel']:.2f}, personalisation {v['personalization']:.2f}, "
        f"cycle every {v['improvement_cadence']} weeks; support: {support}; "
        f"{model.n:,} customers, seed {model.seed}"
    )
    if model.params.shocks:
        text += "; scheduled: " + ", ".join(
            f"{sp.kind.replace('_', ' ')} in week {sp.start}" for sp in model.params.shocks
        )
    return text + "."


@solara.component
def LessonBanner(model: DashboardModel):
    ls = lesson(model.lesson)
    with solara.Card(ls.title, classes=["cx-lesson"], margin=0):
        for line in ls.explanation:
            solara.Text(line, classes=["cx-lesson-line"], style={"display": "block"})
        solara.Text(
            run_summary(model),
            classes=["cx-run-summary"],
            style={"display": "block", "font-size": "0.85em", "color": "#777", "margin-top": "4px"},
        )


def _tile(label: str, value: str, css: str, colour: str = "#1976d2") -> None:
    style = {"min-width": "105px", "padding": "2px 10px", "border-left": f"4px solid {colour}"}
    with solara.Column(gap="0px", style=style):
        solara.Text(label, style={"font-size": "0.8em", "color": "#666"})
        solara.Text(
            value, classes=["cx-counter", css], style={"font-size": "1.35em", "font-weight": "600"}
        )


@solara.component
def Counters(model: DashboardModel):
    """Week, customers, NPS (true and measured), profit, market share, alarm."""
    update_counter.get()
    k = getattr(model, "latest", {})
    alarm = bool(k.get("alarm", 0.0))
    with solara.Row(
        gap="10px", style={"flex-wrap": "wrap", "align-items": "stretch"}, classes=["cx-counters"]
    ):
        _tile("Week", str(model.steps), "cx-week")
        _tile("Customers (focal / all)", f"{model.focal.customers:,} / {model.n:,}", "cx-customers")
        _tile("True NPS", _fmt(k.get("nps"), "+.1f"), "cx-nps")
        _tile("Measured NPS", _fmt(k.get("measured_nps"), "+.1f"), "cx-measured-nps", "#ff7f0e")
        _tile("Profit / week (cu)", _fmt(k.get("profit"), ",.0f"), "cx-profit", "#2ca02c")
        _tile(
            "Cum. profit (cu)",
            _fmt(model.focal.cumulative_profit if k else None, ",.0f"),
            "cx-cum-profit",
            "#2ca02c",
        )
        _tile("Market share", _fmt(k.get("market_share"), ".1%"), "cx-share", "#9467bd")
        _tile(
            "Firm's alarm",
            "ALARM" if alarm else "quiet",
            "cx-alarm",
            "#d62728" if alarm else "#999",
        )


# ------------------------------------------------------------------------------------------
# shocks
# ------------------------------------------------------------------------------------------
def describe_shock(model: DashboardModel, ev) -> str:
    """One line: kind, firm (and channel), magnitude, weeks, whether it is due, active or over."""
    live = [sp for e, sp in getattr(model, "live_shocks", ()) if e is ev]
    scheduled = [sp for sp in model.params.shocks if sp.kind == ev.kind and sp.start == ev.start]
    where = model.firms[ev.target].name
    if ev.kind == "outage" and (live or scheduled):
        where += ", " + (live or scheduled)[0].channel
    weeks = f"weeks {ev.start}–{ev.end - 1}" if ev.end - 1 > ev.start else f"week {ev.start}"
    state = "due" if model.steps < ev.start else ("active" if model.steps < ev.end else "over")
    origin = "started here" if live else "scheduled by the lesson"
    return f"{ev.kind.replace('_', ' ')} ({where}, magnitude {ev.magnitude:.2f}), {weeks}: {state}, {origin}"


@solara.component
def ShockPanel(model: DashboardModel):
    """Buttons that start a shock in the next week, with its magnitude, duration and channel."""
    update_counter.get()
    magnitude = solara.use_reactive(0.6)
    duration = solara.use_reactive(6)
    channel = solara.use_reactive("web")
    message = solara.use_reactive("")

    def fire(kind: str) -> None:
        try:
            ev = trigger_shock(model, kind, magnitude.value, duration.value, channel=channel.value)
        except ParamError as exc:
            message.set(str(exc))
            return
        what = kind.replace("_", " ") + (f" on {channel.value}" if kind == "outage" else "")
        message.set(
            f"Fired: {what}, magnitude {ev.magnitude:.2f}, weeks {ev.start}–{ev.end - 1} (the next week is {ev.start})."
        )
        force_update()

    with solara.Card(
        "Shocks", subtitle="start one in the next week", margin=0, classes=["cx-shocks"]
    ):
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            for kind, label in SHOCK_BUTTONS:
                solara.Button(
                    label,
                    on_click=lambda kind=kind: fire(kind),
                    color="error",
                    outlined=True,
                    classes=["cx-shock-" + kind.replace("_", "-")],
                )
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            with solara.Column(style={"min-width": "220px"}):
                solara.SliderFloat("Magnitude", value=magnitude, min=0.0, max=1.0, step=0.05)
            with solara.Column(style={"min-width": "220px"}):
                solara.SliderInt("Weeks", value=duration, min=1, max=26)
            with solara.Column(style={"min-width": "140px"}):
                solara.Select("Outage channel", values=list(CHANNELS), value=channel, dense=True)
        if message.value:
            solara.Text(message.value, classes=["cx-shock-message"], style={"display": "block"})
        events = model.shock_state.events
        if events:
            with solara.Column(gap="0px", classes=["cx-shock-log"]):
                for ev in events:
                    solara.Text(
                        "• " + describe_shock(model, ev),
                        style={"display": "block", "font-size": "0.9em"},
                    )


# ------------------------------------------------------------------------------------------
# network view
# ------------------------------------------------------------------------------------------
def network_figure(model: DashboardModel, colour_by: str = "affect") -> Figure:
    """The sampled customers and their ties, coloured by affect, satisfaction or status."""
    if colour_by not in COLOUR_BY:
        raise ValueError(f"unknown colouring {colour_by!r}: known {', '.join(COLOUR_BY)}")
    s = network_sample(model)
    st = model.state
    fig = Figure(figsize=NETWORK_SIZE)
    ax = fig.subplots()
    ax.set_axis_off()
    if len(s.edges):
        ax.add_collection(
            LineCollection(s.pos[s.edges], colors="#999999", linewidths=0.5, alpha=0.5, zorder=1)
        )
    x, y = s.pos[:, 0], s.pos[:, 1]
    if colour_by == "status":
        status, firm = st.status[s.nodes], st.firm[s.nodes]
        groups = {
            "focal customer": (status == CUSTOMER) & (firm == 0),
            "rival customer": (status == CUSTOMER) & (firm > 0),
            "prospect": status == PROSPECT,
            "lapsed": status == LAPSED,
        }
        for name, mask in groups.items():
            ax.scatter(
                x[mask],
                y[mask],
                s=22,
                c=STATUS_COLOURS[name],
                edgecolors="white",
                linewidths=0.3,
                zorder=2,
            )
        handles = [
            Line2D([], [], marker="o", ls="", color=c, label=f"{n} ({int(groups[n].sum())})")
            for n, c in STATUS_COLOURS.items()
        ]
        ax.legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize="small",
            frameon=False,
        )
    else:
        values = getattr(st, colour_by)[s.nodes].astype(float)
        lo, hi, label = (
            (-0.5, 0.5, "affect (−1 … 1, clipped at ±0.5)")
            if colour_by == "affect"
            else (0.0, 1.0, "satisfaction")
        )
        sc = ax.scatter(
            x,
            y,
            s=22,
            c=values,
            cmap="RdYlGn",
            vmin=lo,
            vmax=hi,
            edgecolors="white",
            linewidths=0.3,
            zorder=2,
        )
        fig.colorbar(sc, ax=ax, fraction=0.04, pad=0.01, label=label)
    ax.autoscale_view()
    ax.set_title(
        f"{len(s.nodes)} of {model.n:,} customers (a connected sample of the social network), week {model.steps}",
        fontsize="small",
    )
    return fig


@solara.component
def NetworkView(model: DashboardModel):
    update_counter.get()
    colour_by = solara.use_reactive("affect")
    with solara.Column(classes=["cx-network"]):
        solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_BY), dense=True)
        solara.FigureMatplotlib(
            network_figure(model, colour_by.value), format="png", bbox_inches="tight"
        )


# ------------------------------------------------------------------------------------------
# charts (Mesa's PlotMatplotlib over the model's DataCollector)
# ------------------------------------------------------------------------------------------
LINE_LABELS = {"nps": "true NPS", "measured_nps": "measured NPS"}


def _decorate(model: DashboardModel, title: str, ylabel: str, alarms: bool = False):
    def post_process(ax) -> None:
        ax.figure.set_size_inches(*CHART_SIZE)
        for line in ax.get_lines():
            line.set_label(LINE_LABELS.get(line.get_label(), line.get_label()))
        for ev in model.shock_state.events:
            ax.axvspan(ev.start - 0.5, ev.end - 0.5, color="#d62728", alpha=0.08, lw=0)
        if alarms:
            df = model.datacollector.get_model_vars_dataframe()
            weeks = np.flatnonzero(df["alarm"].to_numpy() == 1.0)
            ax.scatter(
                weeks,
                np.full(weeks.size, 0.02),
                transform=ax.get_xaxis_transform(),
                marker="|",
                s=60,
                color="#d62728",
                label="firm's alarm",
            )
            ax.legend(loc="best", fontsize="small")
        ax.set_title(
            title + ("   (shaded: shocks)" if model.shock_state.events else ""), fontsize="medium"
        )
        ax.set_ylabel(ylabel)
        ax.set_xlim(left=0)

    return post_process


@solara.component
def NpsChart(model: DashboardModel):
    update_counter.get()
    PlotMatplotlib(
        model,
        {"nps": "#1f77b4", "measured_nps": "#ff7f0e"},
        post_process=_decorate(
            model, "NPS: true vs measured by the firm", "NPS (points)", alarms=True
        ),
    )


@solara.component
def RetentionChart(model: DashboardModel):
    update_counter.get()
    PlotMatplotlib(
        model, "retention_rate", post_process=_decorate(model, "Retention", "share kept per week")
    )


@solara.component
def ProfitChart(model: DashboardModel):
    update_counter.get()
    PlotMatplotlib(model, "profit", post_process=_decorate(model, "Profit", "cu per week"))


@solara.component
def ShareChart(model: DashboardModel):
    update_counter.get()
    PlotMatplotlib(
        model, "market_share", post_process=_decorate(model, "Market share", "share of customers")
    )


GRID = [(NetworkView, 0), (NpsChart, 0), (RetentionChart, 0), (ProfitChart, 0), (ShareChart, 0)]
