"""Shocks: the challenges, risks and threats the mechanism exists to detect and answer (docs/conceptual-model.md §2).

| kind | what happens (magnitude m ∈ [0, 1]; constants in ``shock_effects``, defaults shown) |
|---|---|
| outage | a channel of the target firm fails at every touchpoint with probability m until the shock ends or the firm repairs it (repair starts when its analytics detect the failure spike) |
| rival_campaign | the target (a rival) advertises (1 + 10m)× as much, cuts its price by 20m% and lifts every customer's attitude toward it by 0.1m |
| viral_post | the target's reputation drops by 0.3m and a random 30m% of customers lower their attitude toward it by 0.2 |
| downturn | purchase occasions and baskets shrink by 40m%, churn hazard rises by m× |
| expectation_jump | every customer's expectation rises by 0.15m (a technology change) and firms' knowledge of needs falls by 30m% |

Detection is scored per shock that touches the focal firm (:func:`detection`): detected if the
firm's first alarm from the shock's start comes before its end plus ``mechanism.detection_grace``
weeks; latency is counted for detected shocks only, and misses are counted, never dropped.

Scheduled shocks start at ``start``; with ``random_rate`` > 0 a shock instead starts in any week
with that probability while it is not active (draws from the ``shock`` stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.journey import CHANNELS


@dataclass(slots=True)
class ShockEvent:
    kind: str
    start: int
    end: int  # first week after the shock
    target: int  # firm index
    magnitude: float


class ShockState:
    """Active effects of market-wide shocks this week."""

    def __init__(self, n_firms: int):
        self.economy = 1.0  # multiplier on purchase occasions and baskets
        self.churn_multiplier = 1.0
        self.campaign = np.zeros(n_firms)  # active campaign magnitude per firm
        self.events: list[ShockEvent] = []


def start_shocks(model, step: int, u: np.ndarray) -> None:
    """Start the shocks due this week (``u``: one uniform per configured shock)."""
    names = [f.name for f in model.firms]
    for i, sp in enumerate(model.params.shocks):
        if sp.random_rate > 0:
            active = any(
                e.kind == sp.kind and e.start <= step < e.end for e in model.shock_state.events
            )
            due = (not active) and u[i] < sp.random_rate
        else:
            due = step == sp.start
        if due:
            ev = ShockEvent(sp.kind, step, step + sp.duration, names.index(sp.target), sp.magnitude)
            model.shock_state.events.append(ev)
            _begin(model, ev, sp)


def start_now(model, sp) -> ShockEvent:
    """Start the shock described by ``sp`` (a ShockParams) in the current week, as a scheduled
    shock would start (used by the dashboard's live buttons)."""
    names = [f.name for f in model.firms]
    if sp.target not in names:
        raise ValueError(f"invalid shock target {sp.target!r}: allowed one of {names}")
    step = model.steps + 1  # the week about to run
    ev = ShockEvent(sp.kind, step, step + sp.duration, names.index(sp.target), sp.magnitude)
    model.shock_state.events.append(ev)
    _begin(model, ev, sp)
    return ev


def _begin(model, ev: ShockEvent, sp) -> None:
    st, firm = model.state, model.firms[ev.target]
    m, fx = ev.magnitude, model.params.shock_effects
    if ev.kind == "outage":
        c = CHANNELS.index(sp.channel)
        firm.outage_until[c] = ev.end
        firm.outage_repair_at[c] = np.iinfo(np.int64).max
        firm.outage_level[c] = m
    elif ev.kind == "rival_campaign":
        st.attitude[:, ev.target] = np.minimum(
            1.0, st.attitude[:, ev.target] + fx.campaign_attitude * m
        )
    elif ev.kind == "viral_post":
        firm.reputation = max(0.0, firm.reputation - fx.viral_reputation * m)
        hit = model.streams.shock.random(st.n) < fx.viral_reach * m
        st.attitude[hit, ev.target] = np.maximum(
            0.0, st.attitude[hit, ev.target] - fx.viral_attitude
        )
    elif ev.kind == "expectation_jump":
        st.expectation += np.float32(fx.expectation_jump * m)
        np.clip(st.expectation, 0.0, 1.0, out=st.expectation)
        for f in model.firms:
            f.knowledge *= 1.0 - fx.knowledge_loss * m


def apply_active(model, step: int) -> None:
    """Set this week's market-wide effects (downturn, campaigns) from the active shocks."""
    ss, fx = model.shock_state, model.params.shock_effects
    ss.economy, ss.churn_multiplier = 1.0, 1.0
    ss.campaign[:] = 0.0
    for ev in ss.events:
        if not ev.start <= step < ev.end:
            continue
        if ev.kind == "downturn":
            ss.economy *= 1.0 - fx.downturn_spending * ev.magnitude
            ss.churn_multiplier *= 1.0 + fx.downturn_churn * ev.magnitude
        elif ev.kind == "rival_campaign":
            ss.campaign[ev.target] = max(ss.campaign[ev.target], ev.magnitude)
    for f in model.firms:
        m = ss.campaign[f.k]
        f.advertising = f.params.advertising * (1.0 + fx.campaign_advertising * m)
        f.price = f.params.price * (1.0 - fx.campaign_price_cut * m)


def touches_focal(ev: ShockEvent, focal: int = 0) -> bool:
    """Outages and viral posts touch only their target; market-wide shocks touch every firm."""
    return not (ev.kind in ("outage", "viral_post") and ev.target != focal)


def detection(
    events: list[ShockEvent], alarm_steps: list[int], grace: int, focal: int = 0
) -> list[float]:
    """Per shock touching the focal firm: weeks from its start to the firm's first alarm, if that
    alarm comes before the shock's end + ``grace`` weeks; NaN for a missed shock."""
    out = []
    for ev in events:
        if not touches_focal(ev, focal):
            continue
        later = [s for s in alarm_steps if ev.start <= s < ev.end + grace]
        out.append(float(later[0] - ev.start) if later else np.nan)
    return out


def detection_rate(latencies: list[float]) -> float:
    """Share of shocks detected (NaN without shocks)."""
    return float(np.mean(np.isfinite(latencies))) if latencies else float("nan")


def detection_latency(latencies: list[float]) -> float:
    """Mean latency of the *detected* shocks (NaN if none was detected); read it with the rate."""
    hit = [x for x in latencies if np.isfinite(x)]
    return float(np.mean(hit)) if hit else float("nan")


def false_alarm_rate(
    alarm_weeks: np.ndarray, steps: np.ndarray, events: list[ShockEvent], grace: int
) -> float:
    """Share of the given weeks, outside every shock's [start, end + grace), in which the alarm rang."""
    calm = np.ones(len(steps), dtype=bool)
    for ev in events:
        calm &= ~((steps >= ev.start) & (steps < ev.end + grace))
    return float(alarm_weeks[calm].mean()) if calm.any() else float("nan")


def recovery_time(
    series: np.ndarray,
    steps: np.ndarray,
    events: list[ShockEvent],
    tolerance: float,
    reference: np.ndarray | None = None,
) -> float:
    """Weeks from a shock's start until the true KPI (4-week EMA) is back within ``tolerance``
    of where it would have been, after first falling more than ``tolerance`` below it.

    ``reference`` is the same seed's run without shocks (common random numbers); without it,
    the pre-shock level (mean of the 4 weeks before the start) is used. 0 if the KPI never
    fell that far; NaN if it had not recovered by the end of the run. Mean over shocks."""
    if not events:
        return float("nan")
    smooth = _ema(series, 4.0)
    ref = _ema(reference, 4.0) if reference is not None else None
    out = []
    for ev in events:
        after = steps >= ev.start
        if ref is not None:
            level = ref[after] - tolerance
        else:
            before = smooth[(steps >= ev.start - 4) & (steps < ev.start)]
            if before.size == 0:
                continue
            level = np.full(after.sum(), before.mean() - tolerance)
        gap = smooth[after] - level
        below = np.flatnonzero(gap < 0)
        if below.size == 0:
            out.append(0.0)
            continue
        back = np.flatnonzero(gap[below[0] :] >= 0)
        out.append(float(below[0] + back[0]) if back.size else np.nan)
    return float(np.nanmean(out)) if out and not np.all(np.isnan(out)) else float("nan")


def _ema(series: np.ndarray, span: float) -> np.ndarray:
    smooth = np.empty(len(series), dtype=float)
    acc = series[0]
    for i, v in enumerate(series):
        acc = acc + (v - acc) / span if np.isfinite(v) else acc
        smooth[i] = acc
    return smooth
