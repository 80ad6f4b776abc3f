"""Per-week snapshots of a run that :func:`sim.run.run_model` does not return.

:func:`collect` steps a :class:`~sim.model.CXModel` itself (the model is not changed) and
records every week:

* quantiles and the mean of customer state variables (emotional: affect; cognitive:
  satisfaction, expectation; behavioural: activity, loyalty) over the focal firm's customers
  (or every customer);
* the number of prospects, lapsed customers and each firm's customers, and the week's flows
  between them: acquisitions from prospects, win-backs of lapsed customers, customers lapsing
  and switches between every pair of firms (read from the model's ``_week`` record);

and, at the end, each firm's true effective touchpoint × channel quality and its journey-map
estimate, plus the weekly KPI table and the shock events of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.model import CXModel
from sim.params import Params
from sim.run import timeseries as kpi_timeseries
from sim.state import CUSTOMER, LAPSED, PROSPECT

__all__ = ["STATE_COMPONENTS", "Snapshots", "collect"]

# the variables whose distributions are tracked, by component of customer state
STATE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "emotional": ("affect",),
    "cognitive": ("satisfaction", "expectation"),
    "behavioural": ("activity", "loyalty"),
}
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Snapshots:
    """What :func:`collect` recorded.

    ``state``: long table, one row per (step, variable) with columns step, variable,
    component, mean, n and one column per quantile named ``q05``, ``q25``…;
    ``flows``: one row per step with prospects, lapsed, ``customers_<firm>`` per firm,
    acquired_prospects, won_back, lapsed_out, switched (total) and ``switch_<a>_to_<b>``
    for every ordered pair of firms;
    ``quality_true`` / ``quality_estimate``: firm name → (touchpoints, channels) array at the
    end of the run; ``timeseries``: the weekly KPIs (as :func:`sim.run.timeseries`);
    ``shocks``: one dict per shock event (kind, start, end, target firm name, magnitude).
    """

    state: pd.DataFrame
    flows: pd.DataFrame
    quality_true: dict[str, np.ndarray]
    quality_estimate: dict[str, np.ndarray]
    timeseries: pd.DataFrame
    shocks: list[dict] = field(default_factory=list)
    firms: tuple[str, ...] = ()
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    population: str = "focal"


def _qname(q: float) -> str:
    return f"q{round(q * 100):02d}"


def collect(
    params: Params | None = None,
    seed: int = 0,
    steps: int = 104,
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    population: str = "focal",
) -> Snapshots:
    """Run the model for ``steps`` weeks from ``seed`` and record the weekly snapshots.

    ``population``: ``"focal"`` (state distributions over the focal firm's customers, as the
    emotional/cognitive/behavioural KPIs) or ``"all"`` (every customer in the market).
    """
    if population not in ("focal", "all"):
        raise ValueError(f"invalid population={population!r}: allowed focal, all")
    if steps < 1:
        raise ValueError(f"invalid steps={steps!r}: allowed an integer >= 1")
    qs = tuple(float(q) for q in quantiles)
    if not qs or any(not 0 <= q <= 1 for q in qs):
        raise ValueError(f"invalid quantiles={quantiles!r}: allowed numbers in [0, 1]")
    model = CXModel(params or Params(), rng=seed, customer_agents=False)
    names = tuple(f.name for f in model.firms)
    variables = [(v, c) for c, vs in STATE_COMPONENTS.items() for v in vs]
    state_rows: list[dict] = []
    flow_rows: list[dict] = []
    st = model.state
    for _ in range(steps):
        before = st.status.copy()
        model.step()
        step = len(model.history)
        sel = (
            (st.status == CUSTOMER) & (st.firm == 0)
            if population == "focal"
            else np.ones(st.n, bool)
        )
        state_rows += _state_rows(st, sel, step, variables, qs)
        flow_rows.append(_flow_row(st, model._week, before, step, names))
    shocks = [
        {
            "kind": e.kind,
            "start": int(e.start),
            "end": int(e.end),
            "target": names[e.target],
            "magnitude": float(e.magnitude),
        }
        for e in model.shock_state.events
    ]
    return Snapshots(
        state=pd.DataFrame(state_rows),
        flows=pd.DataFrame(flow_rows),
        quality_true={f.name: f.effective_quality().copy() for f in model.firms},
        quality_estimate={f.name: np.asarray(f.estimate, dtype=float).copy() for f in model.firms},
        timeseries=kpi_timeseries(model),
        shocks=shocks,
        firms=names,
        quantiles=qs,
        population=population,
    )


def _state_rows(st, sel: np.ndarray, step: int, variables, qs: tuple[float, ...]) -> list[dict]:
    """One row per state variable: mean and quantiles over the selected customers. A variable
    kept per firm (e.g. ``expectation``, one column per firm) is read for the focal firm (0)."""
    rows = []
    for var, comp in variables:
        x = getattr(st, var)[sel].astype(float)
        if x.ndim == 2:
            x = x[:, 0]
        row = {"step": step, "variable": var, "component": comp, "n": int(x.size)}
        if x.size:
            row["mean"] = float(x.mean())
            row.update(zip(map(_qname, qs), np.quantile(x, qs).tolist(), strict=True))
        else:
            row["mean"] = np.nan
            row.update(dict.fromkeys(map(_qname, qs), np.nan))
        rows.append(row)
    return rows


def _flow_row(st, w: dict, before: np.ndarray, step: int, names: tuple[str, ...]) -> dict:
    """Customers by status after the week and the flows between statuses and firms in it."""
    k = len(names)
    cust = st.status == CUSTOMER
    counts = np.bincount(st.firm[cust], minlength=k)
    new = w["new"]
    lost_from, switch_to = w["lost_from"], w["switch_to"]
    row = {
        "step": step,
        "prospects": int((st.status == PROSPECT).sum()),
        "lapsed": int((st.status == LAPSED).sum()),
        **{f"customers_{n}": int(c) for n, c in zip(names, counts, strict=True)},
        "acquired_prospects": int((new & (before == PROSPECT)).sum()),
        "won_back": int((new & (before == LAPSED)).sum()),
        "lapsed_out": int(((lost_from >= 0) & (switch_to < 0)).sum()),
        "switched": int((switch_to >= 0).sum()),
    }
    for a in range(k):
        for b in range(k):
            if a != b:
                row[f"switch_{names[a]}_to_{names[b]}"] = int(
                    ((lost_from == a) & (switch_to == b)).sum()
                )
    return row
