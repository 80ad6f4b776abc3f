"""Solara components of the dashboard: controls, counters, charts, network, shocks, info.

Charts and the network view are SVG templates (``chart.vue``, ``network.vue``) fed with small
JSON documents (:mod:`analysis.dashboard.charts`): a new week sends a few numbers and the
browser patches the drawing; nothing is rendered into an image on the server. Every component
takes the page's :class:`~analysis.dashboard.live.Session` and ``week`` (the reactive the
controls bump after each simulated week), so it redraws once per week.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import solara

from analysis.dashboard.charts import CHARTS, ChartSpec, Window, chart_data
from analysis.dashboard.lessons import LEVERS, lesson, lever_values
from analysis.dashboard.live import Session, network_sample, shock_channel, trigger_shock
from sim.journey import CHANNELS
from sim.params import ParamError
from sim.shocks import touches_focal
from sim.state import CUSTOMER, LAPSED, PROSPECT

HERE = Path(__file__).parent
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
GLOSSARY = (
    (
        "NPS",
        "Net Promoter Score: of the customers asked 'how likely are you to recommend us, 0–10?', "
        "the % answering 9–10 minus the % answering 0–6; −100 to +100. 'True' NPS asks every customer; "
        "'measured' NPS is what the firm's own surveys see (noisy, and biased if measurement is poor).",
    ),
    ("CSAT", "Customer satisfaction: % of customers whose last journey satisfied them."),
    ("CES", "Customer effort score: how hard the last journey was, 1 (easy) to 7 (hard)."),
    (
        "cu",
        "Currency units: the model's money; profit per week is sales minus costs of goods, "
        "CX spending, marketing and support.",
    ),
    (
        "affect",
        "A customer's feeling about the firm, −1 (angry) to +1 (delighted); it moves with each "
        "journey's peaks and end and fades over time.",
    ),
    (
        "retention",
        "Share of the firm's customers at the start of a week who are still its customers "
        "at its end (0.99 a week is about 40% lost in a year).",
    ),
    ("market share", "The focal firm's customers as a share of all firms' customers."),
    (
        "alarm",
        "The firm's own early warning: it rings when its measurements move more than chance "
        "would explain; it needs a quarter of data first.",
    ),
    (
        "support",
        "Six factors behind the firm's CX work (financial, methodological, technical, "
        "technological, material, human), each 0–1; costs grow with the square of each level.",
    ),
)
INFO = (
    (
        "What it is",
        "An agent-based model of customer experience management: thousands of customers "
        "make journeys through five touchpoints and four channels of two firms, feel and remember them, "
        "buy, complain, talk to their friends and switch. The focal firm (blue) measures, learns and "
        "improves; the rival competes.",
    ),
    (
        "How it works",
        "Each week, customers with a reason to buy go through a journey; its peaks and "
        "its end shape their satisfaction and affect, which drive loyalty, word of mouth and churn. "
        "The focal firm surveys customers, looks for problems and invests in improvement cycles with "
        "the support it has. Shocks (outages, viral posts, campaigns, downturns) hit the market.",
    ),
    (
        "Things to notice",
        "NPS falls during the first two years of every run: the market settles from "
        "its starting point (a start-up transient), so compare runs week by week, not a run with "
        "itself. Measured NPS wanders around true NPS: it comes from samples. Money follows "
        "experience with a delay.",
    ),
    (
        "Things to try",
        "Pick a lesson and play it to the end; pick its B lesson: A stays as a faded "
        "line and each chart shows both means over the lesson's weeks. Fire an outage and watch the "
        "alarm. Change one slider, press Reset and compare with the previous run. Export the runs as CSV.",
    ),
)


# ------------------------------------------------------------------------------------------
# SVG templates
# ------------------------------------------------------------------------------------------
@solara.component_vue(str(HERE / "chart.vue"))
def ChartSvg(chart: dict):
    pass


@solara.component_vue(str(HERE / "network.vue"))
def NetworkSvg(title: str, nodes: list, edges: str, colours: list, legend: list):
    pass


@solara.component_vue(str(HERE / "counters.vue"))
def CounterTiles(tiles: list):
    pass


@solara.component_vue(str(HERE / "shocklog.vue"))
def ShockLog(entries: list):
    pass


def use_live(session: Session, name: str, el, trait: str, compute) -> None:
    """Register a widget that the play loop updates directly (``publish``), without a render."""

    def register():
        session.views[name] = (solara.get_widget(el), trait, compute)
        return lambda: session.views.pop(name, None)

    def refresh():  # after every render: the widget shows the latest week, whoever set it last
        try:
            widget = solara.get_widget(el)
        except KeyError:  # not (yet) known under this element: the one registered at mount
            widget = session.views[name][0] if name in session.views else None
        if widget is None:
            return
        session.views[name] = (widget, trait, compute)
        value = compute()
        if getattr(widget, trait) != value:
            setattr(widget, trait, value)

    solara.use_effect(register, [])
    solara.use_effect(refresh, None)


def publish(session: Session) -> None:
    """Send the new week to every registered view: only changed data travels to the browser."""
    for widget, trait, compute in list(session.views.values()):
        value = compute()
        if getattr(widget, trait) != value:
            setattr(widget, trait, value)


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format(value, spec) + suffix


def lesson_windows(session: Session) -> list[Window]:
    """The windows of the lesson's claims: each chart of a claim's KPI shows its means."""
    seen, out = set(), []
    for c in lesson(session.model.lesson).claims:
        if (c.kpi, c.first, c.last) not in seen:
            seen.add((c.kpi, c.first, c.last))
            out.append(Window(c.kpi, c.first, c.last))
    return out


def chart_doc(spec: ChartSpec, session: Session) -> dict:
    m = session.model
    data = chart_data(
        spec, session.current(), session.previous, session.horizon, m.n, lesson_windows(session)
    )
    data["key"] = spec.key
    return data


@solara.component
def Chart(spec: ChartSpec, session: Session, week: int):
    el = ChartSvg(chart=chart_doc(spec, session))
    use_live(session, "chart:" + spec.key, el, "chart", lambda: chart_doc(spec, session))


# ------------------------------------------------------------------------------------------
# network view
# ------------------------------------------------------------------------------------------
_RDYLGN = matplotlib.colormaps["RdYlGn"]


def _hex(rgba: np.ndarray) -> list[str]:
    rgb = np.round(np.asarray(rgba)[:, :3] * 255).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def network_colours(session: Session, colour_by: str) -> tuple[list[str], list[dict]]:
    """The sampled customers' colours and the legend, by affect, satisfaction or status."""
    if colour_by not in COLOUR_BY:
        raise ValueError(f"unknown colouring {colour_by!r}: known {', '.join(COLOUR_BY)}")
    m = session.model
    s = network_sample(m)
    st = m.state
    if colour_by == "status":
        status, firm = st.status[s.nodes], st.firm[s.nodes]
        groups = {
            "focal customer": (status == CUSTOMER) & (firm == 0),
            "rival customer": (status == CUSTOMER) & (firm > 0),
            "prospect": status == PROSPECT,
            "lapsed": status == LAPSED,
        }
        colours = np.full(len(s.nodes), "#c7c7c7", dtype=object)
        for name, mask in groups.items():
            colours[mask] = STATUS_COLOURS[name]
        legend = [
            {"colour": STATUS_COLOURS[n], "label": f"{n} ({int(g.sum())})"}
            for n, g in groups.items()
        ]
        return colours.tolist(), legend
    values = getattr(st, colour_by)[s.nodes].astype(float)
    lo, hi = (-0.5, 0.5) if colour_by == "affect" else (0.0, 1.0)
    colours = _hex(_RDYLGN(np.clip((values - lo) / (hi - lo), 0, 1)))
    ends = (
        ("angry (−0.5 or less)", "delighted (+0.5 or more)")
        if colour_by == "affect"
        else ("dissatisfied (0)", "satisfied (1)")
    )
    legend = [
        {"colour": _hex(_RDYLGN(np.array([0.0])))[0], "label": ends[0]},
        {"colour": _hex(_RDYLGN(np.array([0.5])))[0], "label": "neutral"},
        {"colour": _hex(_RDYLGN(np.array([1.0])))[0], "label": ends[1]},
    ]
    return colours, legend


def network_geometry(session: Session) -> tuple[list, str]:
    """Node positions in the 560 x 250 box and the ties as one SVG path (computed once a model)."""
    s = network_sample(session.model)
    pos = s.pos
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    xy = np.column_stack(
        [15 + (pos[:, 0] - lo[0]) / span[0] * 530, 10 + (pos[:, 1] - lo[1]) / span[1] * 230]
    ).round(1)
    path = " ".join(f"M{xy[a, 0]} {xy[a, 1]}L{xy[b, 0]} {xy[b, 1]}" for a, b in s.edges)
    return xy.tolist(), path


@solara.component
def NetworkView(session: Session, week: int):
    colour_by = solara.use_reactive("affect")
    model = session.model
    nodes, edges = solara.use_memo(lambda: network_geometry(session), [id(model)])
    colours, legend = network_colours(session, colour_by.value)
    with solara.Column(gap="0px", classes=["cx-network-card"]):
        el = NetworkSvg(
            title=f"Who talks to whom: {len(nodes)} customers, coloured by {colour_by.value}",
            nodes=nodes,
            edges=edges,
            colours=colours,
            legend=legend,
        )
        solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_BY), dense=True)
    by = colour_by.value
    use_live(session, "network", el, "colours", lambda: network_colours(session, by)[0])


# ------------------------------------------------------------------------------------------
# counters, lesson banner
# ------------------------------------------------------------------------------------------
def counter_tiles(session: Session) -> list[dict]:
    """Week, customers, NPS (true and measured), profit, market share, alarm."""
    model = session.model
    k = getattr(model, "latest", {}) if model.history else {}
    alarm = bool(k.get("alarm", 0.0))

    def tile(label: str, value: str, css: str, colour: str = "#1976d2") -> dict:
        return {"label": label, "value": value, "css": css, "colour": colour}

    return [
        tile("Week", f"{model.steps} / {session.horizon}", "cx-week"),
        tile("Customers (focal / all)", f"{model.focal.customers:,} / {model.n:,}", "cx-customers"),
        tile("True NPS", _fmt(k.get("nps"), "+.1f"), "cx-nps"),
        tile("Measured NPS", _fmt(k.get("measured_nps"), "+.1f"), "cx-measured-nps", "#ff7f0e"),
        tile("Profit / week (cu)", _fmt(k.get("profit"), ",.0f"), "cx-profit", "#2ca02c"),
        tile(
            "Cum. profit (cu)",
            _fmt(model.focal.cumulative_profit if k else None, ",.0f"),
            "cx-cum-profit",
            "#2ca02c",
        ),
        tile("Market share", _fmt(k.get("market_share"), ".1%"), "cx-share", "#9467bd"),
        tile(
            "Firm's alarm",
            "ALARM" if alarm else "quiet",
            "cx-alarm",
            "#d62728" if alarm else "#999",
        ),
    ]


@solara.component
def Counters(session: Session, version: solara.Reactive[int]):
    version.value  # noqa: B018  (subscribes: a new run, a shock, a step)
    el = CounterTiles(tiles=counter_tiles(session))
    use_live(session, "counters", el, "tiles", lambda: counter_tiles(session))


def run_summary(session: Session) -> str:
    """The running model's lever values, seed and scheduled shocks, on one line."""
    model = session.model
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
def LessonBanner(session: Session, run: int):
    """The lesson's title and its two lines (``run`` changes with every new run)."""
    ls = lesson(session.model.lesson)
    with solara.Column(gap="0px", classes=["cx-lesson"]):
        solara.Text(ls.title, classes=["cx-lesson-title"], style={"font-weight": "600"})
        for line in ls.explanation:
            solara.Text(
                line, classes=["cx-lesson-line"], style={"display": "block", "font-size": "0.9em"}
            )


# ------------------------------------------------------------------------------------------
# shocks
# ------------------------------------------------------------------------------------------
def describe_shock(session: Session, ev) -> str:
    """One line: kind, firm (and channel), magnitude, weeks, and whether it is due, active or over."""
    model = session.model
    live = any(e is ev for e, _ in model.live_shocks)
    where = model.firms[ev.target].name
    channel = shock_channel(model, ev)
    if channel:
        where += ", " + channel
    last = ev.end - 1
    weeks = f"weeks {ev.start}–{last}" if last > ev.start else f"week {ev.start}"
    if model.steps < ev.start:
        state = f"starts in week {ev.start}"
    elif model.steps < ev.end:
        state = f"active (ends after week {last})"
    else:
        state = f"ended after week {last}"
    origin = "fired here" if live else "scheduled by the lesson"
    shown = "" if touches_focal(ev) else "; not shaded: it does not touch the focal firm"
    return (
        f"{ev.kind.replace('_', ' ')} ({where}, magnitude {ev.magnitude:.2f}), {weeks}: "
        f"{state}, {origin}{shown}"
    )


def shock_log(session: Session) -> list[str]:
    return ["• " + describe_shock(session, ev) for ev in session.model.shock_state.events]


@solara.component
def ShockPanel(session: Session, version: solara.Reactive[int]):
    """Buttons that start a shock in the next week, with its magnitude, duration and channel."""
    version.value  # noqa: B018  (subscribes: the log says what is due, active or over)
    magnitude = solara.use_reactive(0.6)
    duration = solara.use_reactive(6)
    channel = solara.use_reactive("web")
    message = solara.use_reactive("")
    model = session.model

    def fire(kind: str) -> None:
        try:
            ev = trigger_shock(model, kind, magnitude.value, duration.value, channel=channel.value)
        except ParamError as exc:
            message.set("Not fired: " + str(exc))
            return
        what = kind.replace("_", " ") + (f" on {channel.value}" if kind == "outage" else "")
        message.set(
            f"Fired: {what}, magnitude {ev.magnitude:.2f}, weeks {ev.start}–{ev.end - 1} "
            f"(the next week is {ev.start})."
        )
        version.set(version.value + 1)

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
                    small=True,
                    classes=["cx-shock-" + kind.replace("_", "-")],
                )
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            with solara.Column(style={"min-width": "200px"}):
                solara.SliderFloat(
                    f"Magnitude: {magnitude.value:.2f}",
                    value=magnitude,
                    min=0.0,
                    max=1.0,
                    step=0.05,
                )
            with solara.Column(style={"min-width": "200px"}):
                solara.SliderInt(
                    f"Duration (weeks): {duration.value}", value=duration, min=1, max=26
                )
            with solara.Column(style={"min-width": "140px"}):
                solara.Select("Outage channel", values=list(CHANNELS), value=channel, dense=True)
        if message.value:
            solara.Text(message.value, classes=["cx-shock-message"], style={"display": "block"})
        el = ShockLog(entries=shock_log(session))
        use_live(session, "shock-log", el, "entries", lambda: shock_log(session))


# ------------------------------------------------------------------------------------------
# info and glossary
# ------------------------------------------------------------------------------------------
@solara.component
def InfoPanel():
    with solara.Details("Info: what this model is, how it works, what to notice and try"):
        with solara.Column(gap="4px", classes=["cx-info"]):
            for head, text in INFO:
                solara.Markdown(f"**{head}.** {text}")


@solara.component
def Glossary():
    with solara.Details("Glossary: NPS, CSAT, CES, cu, affect, …"):
        with solara.Column(gap="2px", classes=["cx-glossary"]):
            for term, text in GLOSSARY:
                solara.Markdown(f"**{term}**: {text}")


@solara.component
def ChartGrid(session: Session, version: solara.Reactive[int]):
    week = version.value  # subscribes: every chart gets the new week
    with solara.Div(classes=["cx-grid"]):
        for spec in CHARTS:
            with solara.Div(classes=["cx-cell"]):
                Chart(spec, session, week)
        with solara.Div(classes=["cx-cell"]):
            NetworkView(session, week)
