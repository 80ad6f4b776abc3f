"""Customer state: declared once (name, component, dtype, range, meaning), stored as arrays.

The population's state is a structure of arrays owned by the model: row ``i`` of every array
is customer ``i``.  Rules update whole arrays at once; the Mesa ``Customer`` agents in
``sim.agents`` read and write their own row through descriptors generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROSPECT, CUSTOMER, LAPSED = 0, 1, 2
STATUS_NAMES = ("prospect", "customer", "lapsed")


@dataclass(frozen=True, slots=True)
class StateVar:
    name: str
    component: str  # identity | emotional | cognitive | behavioural
    dtype: str
    low: float
    high: float
    doc: str
    shape: str = ""  # "" per customer, "T" per touchpoint, "K" per firm


STATE_VARS: tuple[StateVar, ...] = (
    StateVar(
        "segment", "identity", "int8", 0, 127, "index of the customer's segment (target audience)"
    ),
    StateVar(
        "purchase_rate",
        "identity",
        "float32",
        0,
        1,
        "own weekly purchase probability at reference loyalty (segment rate x a gamma draw, NBD-style)",
    ),
    StateVar(
        "basket",
        "identity",
        "float32",
        0,
        np.inf,
        "own mean units per purchase (segment basket x a gamma draw)",
    ),
    StateVar(
        "price_sensitivity",
        "identity",
        "float32",
        0,
        np.inf,
        "own weight of price in firm choice (segment value x a gamma draw)",
    ),
    StateVar(
        "scale_use",
        "identity",
        "float32",
        -np.inf,
        np.inf,
        "own offset in using the 0-10 answer scale (drawn once)",
    ),
    # emotional
    StateVar(
        "affect",
        "emotional",
        "float32",
        -1,
        1,
        "current mood toward the firm dealt with (0 = neutral)",
    ),
    StateVar("peak", "emotional", "float32", -1, 1, "most intense affect of the last journey"),
    StateVar("end", "emotional", "float32", -1, 1, "affect at the end of the last journey"),
    # cognitive
    StateVar(
        "expectation", "cognitive", "float32", 0, 1, "expected experience quality of each firm", "K"
    ),
    StateVar(
        "perceived",
        "cognitive",
        "float32",
        0,
        1,
        "quality perceived at each touchpoint of the last journey",
        "T",
    ),
    StateVar(
        "satisfaction",
        "cognitive",
        "float32",
        0,
        1,
        "satisfaction with the last journey (after any recovery)",
    ),
    StateVar("attitude", "cognitive", "float32", 0, 1, "trust / attitude toward each firm", "K"),
    StateVar("effort", "cognitive", "float32", 0, 1, "effort of the last journey"),
    StateVar(
        "loyalty",
        "cognitive",
        "float32",
        0,
        1,
        "cumulative satisfaction with the current firm (commitment)",
    ),
    # behavioural
    StateVar("status", "behavioural", "int8", 0, 2, "0 prospect, 1 customer, 2 lapsed"),
    StateVar("firm", "behavioural", "int8", -1, 7, "index of the current firm (-1 none)"),
    StateVar("aware", "behavioural", "bool", 0, 1, "knows firm k", "K"),
    StateVar(
        "tenure", "behavioural", "int32", 0, 2**31 - 1, "weeks as a customer of the current firm"
    ),
    StateVar(
        "spend", "behavioural", "float64", 0, np.inf, "cumulative revenue from this customer (cu)"
    ),
    StateVar("purchases", "behavioural", "int32", 0, 2**31 - 1, "number of purchases"),
    StateVar(
        "activity",
        "behavioural",
        "float32",
        0,
        1,
        "recency-weighted weekly purchase frequency (EMA)",
    ),
    StateVar(
        "channels",
        "behavioural",
        "uint8",
        0,
        255,
        "bit mask of the channels used with the current firm",
    ),
    StateVar("complaints", "behavioural", "int32", 0, 2**31 - 1, "complaints made"),
    StateVar(
        "ltr",
        "behavioural",
        "int8",
        0,
        10,
        "0-10 likelihood to recommend (the NPS question): this week's answer, with noise and scale use",
    ),
    StateVar(
        "csat",
        "behavioural",
        "int8",
        1,
        5,
        "1-5 satisfaction answer (CSAT question): this week's answer, with noise and scale use",
    ),
    StateVar(
        "last_failure",
        "behavioural",
        "int32",
        -1,
        2**31 - 1,
        "week of the customer's last failed touchpoint (-1 never)",
    ),
    StateVar(
        "last_complaint",
        "behavioural",
        "int32",
        -1,
        2**31 - 1,
        "week of the customer's last complaint (-1 never)",
    ),
    StateVar(
        "recovery",
        "behavioural",
        "int8",
        0,
        3,
        "outcome of the last complaint: 0 none or pending, 1 recovered, 2 failed (double deviation), 3 left before the answer",
    ),
)

STATE = {v.name: v for v in STATE_VARS}


class CustomerState:
    """The arrays of every state variable, for ``n`` customers and ``k`` firms."""

    def __init__(self, n: int, n_firms: int, n_touchpoints: int):
        self.n = n
        shapes = {"": (n,), "T": (n, n_touchpoints), "K": (n, n_firms)}
        for v in STATE_VARS:
            setattr(self, v.name, np.zeros(shapes[v.shape], dtype=v.dtype))

    def check(self) -> list[str]:
        """Names of variables with NaN/inf or values outside their declared range."""
        bad = []
        for v in STATE_VARS:
            a = getattr(self, v.name)
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                bad.append(f"{v.name}: non-finite")
            elif a.size and (a.min() < v.low or a.max() > v.high):
                bad.append(f"{v.name}: outside [{v.low}, {v.high}]")
        return bad
