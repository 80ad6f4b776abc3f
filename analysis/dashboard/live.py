"""The model as the dashboard runs it: the same ``CXModel``, shocks started live, a network sample.

:class:`DashboardModel` is ``sim.CXModel`` with one difference: it is built from flat slider
keywords (what the page's sliders give on Reset) through
:func:`analysis.dashboard.lessons.params_for`. Its weekly KPIs are in ``model.history`` and in
the model's own Mesa ``DataCollector``. Nothing of the model is re-implemented.

:func:`trigger_shock` starts a shock *now* through the same code path as a scheduled one:
``sim.shocks.start_now`` (a ``ShockEvent`` appended to ``model.shock_state.events``, then
``sim.shocks._begin``, as ``start_shocks`` does), after checking the values like configured shocks.

:func:`network_sample` picks at most 300 connected customers (a snowball sample of the social
network), builds their subgraph with ``sim.network.to_networkx`` and lays it out once: the
layout is cached per model and, across models, per network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from analysis.dashboard.charts import Band, RunView
from analysis.dashboard.lessons import DEFAULT_SEED, FREE_PLAY, HORIZON, lesson, params_for
from sim import CXModel, shocks
from sim.kpis import SERIES
from sim.params import SHOCK_KINDS, ParamError, ShockParams, validate

SAMPLE_SIZE = 300


class DashboardModel(CXModel):
    """``CXModel`` built from a lesson and slider values.

    Every keyword left at None takes the lesson's value (the lesson's, in turn, the defaults').
    The weekly KPIs are in ``model.history`` and in the model's Mesa ``DataCollector``
    (``model.datacollector``: row ``w - 1`` is week ``w``).
    """

    def __init__(
        self,
        lesson: str = FREE_PLAY,
        *,
        n_customers: int | None = None,
        omnichannel: float | None = None,
        personalization: float | None = None,
        improvement_cadence: int | None = None,
        financial: float | None = None,
        methodological: float | None = None,
        technical: float | None = None,
        technological: float | None = None,
        material: float | None = None,
        human: float | None = None,
        rng: int = DEFAULT_SEED,
    ):
        values = {
            "n_customers": n_customers,
            "omnichannel": omnichannel,
            "personalization": personalization,
            "improvement_cadence": improvement_cadence,
            "financial": financial,
            "methodological": methodological,
            "technical": technical,
            "technological": technological,
            "material": material,
            "human": human,
        }
        # customers are numpy arrays; no Mesa agent per customer (20,000 of them cost ~0.1 s)
        super().__init__(params_for(lesson, values), rng=int(rng), customer_agents=False)
        self.lesson = lesson
        # shocks started by trigger_shock, with the ShockParams they were started from
        self.live_shocks: list[tuple[shocks.ShockEvent, ShockParams]] = []
        # the page plays in a thread: a shock button must not change the state mid-week
        self.lock = threading.RLock()

    def step(self) -> None:
        with self.lock:
            super().step()


def trigger_shock(
    model: CXModel,
    kind: str,
    magnitude: float = 0.5,
    duration: int = 4,
    *,
    channel: str = "web",
    target: str | None = None,
) -> shocks.ShockEvent:
    """Start a shock in the next week to be simulated, as if it had been scheduled for it.

    ``target`` is a firm name; by default the focal firm, or the first rival for a
    ``rival_campaign`` (the firm that acts). Values are checked like configured shocks
    (``ParamError`` with a one-line message). Returns the appended ``ShockEvent``.
    """
    if kind not in SHOCK_KINDS:
        raise ParamError("kind", kind, "one of " + ", ".join(SHOCK_KINDS))
    if not magnitude > 0:  # a configured shock may be 0 (a placebo); a fired one must do something
        raise ParamError(
            "magnitude", magnitude, "a number in (0, 1]: a shock of magnitude 0 does nothing"
        )
    if target is None:
        target = model.firms[1].name if kind == "rival_campaign" else model.firms[0].name
    sp = ShockParams(
        name="live",
        kind=kind,
        start=model.steps + 1,
        duration=duration,
        magnitude=magnitude,
        channel=channel,
        target=target,
    )
    validate(dataclasses.replace(model.params, shocks=(sp,)))  # the configured shocks' checks
    # between two weeks, never inside one (the page may be playing in another thread)
    with getattr(model, "lock", None) or contextlib.nullcontext():
        sp = dataclasses.replace(sp, start=model.steps + 1)
        start_now = getattr(shocks, "start_now", None)
        if start_now is not None:
            ev = start_now(model, sp)
        else:  # the same statements as sim.shocks.start_shocks for a shock due in week sp.start
            names = [f.name for f in model.firms]
            ev = shocks.ShockEvent(
                sp.kind, sp.start, sp.start + sp.duration, names.index(sp.target), sp.magnitude
            )
            model.shock_state.events.append(ev)
            shocks._begin(model, ev, sp)
        if hasattr(model, "live_shocks"):
            model.live_shocks.append((ev, sp))
    return ev


@dataclass(frozen=True)
class NetworkSample:
    """Customers ``nodes`` (indices into the model's arrays), their ``edges`` (pairs of row
    numbers into ``nodes``) and a 2-D layout ``pos`` (one row per node)."""

    nodes: np.ndarray
    edges: np.ndarray
    pos: np.ndarray


_PER_MODEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PER_NETWORK: OrderedDict[tuple, NetworkSample] = OrderedDict()
_PER_NETWORK_MAX = 8


def _snowball(adj, size: int, rng: np.random.Generator) -> np.ndarray:
    """Breadth-first sample of ``size`` customers from random starting points."""
    n = adj.shape[0]
    if n <= size:
        return np.arange(n)
    seen = np.zeros(n, dtype=bool)
    order: list[int] = []
    while len(order) < size:
        start = int(rng.integers(n))
        if seen[start]:
            continue
        seen[start] = True
        queue = [start]
        while queue and len(order) < size:
            i = queue.pop(0)
            order.append(i)
            for j in adj.indices[adj.indptr[i] : adj.indptr[i + 1]]:
                if not seen[j]:
                    seen[j] = True
                    queue.append(int(j))
    return np.sort(np.array(order[:size], dtype=np.int64))


def network_sample(model: CXModel, size: int = SAMPLE_SIZE) -> NetworkSample:
    """A connected sample of at most ``size`` customers with a spring layout, cached."""
    hit = _PER_MODEL.get(model)
    if hit is not None and len(hit.nodes) <= size:
        return hit
    adj = model.network
    digest = hashlib.blake2b(adj.indptr.tobytes() + adj.indices.tobytes(), digest_size=16).digest()
    key = (adj.shape[0], size, model.seed, digest)
    sample = _PER_NETWORK.get(key)
    if sample is None:
        import networkx as nx

        from sim.network import to_networkx

        # a generator of its own: drawing from the model's streams would change the run
        nodes = _snowball(adj, size, np.random.default_rng(model.seed))
        g = to_networkx(adj, nodes)
        layout = nx.spring_layout(g, seed=0)
        row = {int(c): r for r, c in enumerate(nodes)}
        edges = np.array([(row[a], row[b]) for a, b in g.edges()], dtype=np.int64).reshape(-1, 2)
        pos = np.array([layout[int(c)] for c in nodes], dtype=float).reshape(-1, 2)
        sample = NetworkSample(nodes, edges, pos)
        _PER_NETWORK[key] = sample
        while len(_PER_NETWORK) > _PER_NETWORK_MAX:
            _PER_NETWORK.popitem(last=False)
    _PER_NETWORK.move_to_end(key)
    _PER_MODEL[model] = sample
    return sample


# ------------------------------------------------------------------------------------------
# a browser session: the running model, the previous run, the horizon
# ------------------------------------------------------------------------------------------
def shock_channel(model: CXModel, ev: shocks.ShockEvent) -> str | None:
    """The channel of an outage (from the live shock or the lesson's schedule), else None."""
    if ev.kind != "outage":
        return None
    for e, sp in getattr(model, "live_shocks", ()):
        if e is ev:
            return sp.channel
    for sp in model.params.shocks:
        if sp.kind == ev.kind and sp.start == ev.start:
            return sp.channel
    return None


def shock_label(model: CXModel, ev: shocks.ShockEvent) -> str:
    """Short band label: ``outage web 10–21``, ``rival campaign (rival) 30–35``."""
    what = ev.kind.replace("_", " ")
    channel = shock_channel(model, ev)
    if channel:
        what += " " + channel
    if ev.target != 0:
        what += f" ({model.firms[ev.target].name})"
    weeks = f"{ev.start}–{ev.end - 1}" if ev.end - 1 > ev.start else f"{ev.start}"
    return f"{what} {weeks}"


def bands_of(model: CXModel) -> tuple[Band, ...]:
    """The shocks that touch the focal firm (``sim.shocks.touches_focal``), as chart bands."""
    return tuple(
        Band(ev.start, ev.end, shock_label(model, ev))
        for ev in model.shock_state.events
        if shocks.touches_focal(ev)
    )


def run_view(model: CXModel, label: str) -> RunView:
    rows = np.vstack(model.history) if model.history else np.empty((0, len(SERIES)))
    alarm = rows[:, SERIES.index("alarm")] if len(rows) else np.empty(0)
    return RunView(
        label, rows, bands_of(model), tuple(int(w) + 1 for w in np.flatnonzero(alarm == 1.0))
    )


def run_title(model: CXModel) -> str:
    return f"{lesson(model.lesson).title}, seed {model.seed}, {model.n:,} customers"


class Session:
    """What one browser page works on: the running model, the previous run, the horizon.

    ``new_run`` keeps the current run (if it simulated at least one week) as ``previous``, so
    the charts show A (faded) beside B. Nothing here is shared between sessions.
    """

    def __init__(
        self, lesson_key: str = FREE_PLAY, values: dict | None = None, seed: int = DEFAULT_SEED
    ):
        self.model = DashboardModel(lesson_key, rng=seed, **(values or {}))
        self.previous: RunView | None = None
        self.previous_meta: dict | None = None
        self.horizon = HORIZON
        # views the play loop updates directly: name -> (widget, trait, compute); see components
        self.views: dict = {}

    def new_run(
        self, lesson_key: str, values: dict | None = None, seed: int = DEFAULT_SEED
    ) -> None:
        old = self.model
        new = DashboardModel(lesson_key, rng=seed, **(values or {}))
        if old.history:
            self.previous = run_view(old, "previous: " + run_title(old))
            self.previous_meta = {"lesson": old.lesson, "seed": old.seed, "customers": old.n}
        self.model = new

    def at_horizon(self) -> bool:
        return self.model.steps >= self.horizon

    def step(self) -> bool:
        """Simulate one week unless the horizon is reached; whether a week was simulated."""
        with self.model.lock:
            if self.at_horizon():
                return False
            self.model.step()
        return True

    def current(self) -> RunView:
        return run_view(self.model, "this run")

    def csv(self) -> str:
        """The previous run and this run, one row per run and week, every weekly KPI."""
        out = io.StringIO()
        out.write(",".join(["run", "lesson", "seed", "customers", "week", *SERIES]) + "\n")
        m = self.model
        runs = []
        if self.previous is not None and self.previous_meta is not None:
            runs.append(("previous", self.previous_meta, self.previous.rows))
        runs.append(
            (
                "this run",
                {"lesson": m.lesson, "seed": m.seed, "customers": m.n},
                self.current().rows,
            )
        )
        for name, meta, rows in runs:
            for w, row in enumerate(rows, start=1):
                values = ["" if not np.isfinite(v) else repr(float(v)) for v in row]
                out.write(
                    ",".join(
                        [
                            name,
                            meta["lesson"],
                            str(meta["seed"]),
                            str(meta["customers"]),
                            str(w),
                            *values,
                        ]
                    )
                    + "\n"
                )
        return out.getvalue()
