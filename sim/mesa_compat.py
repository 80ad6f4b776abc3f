"""What a Mesa user expects of ``CXModel``: any ``rng``, plain keyword parameters, a DataCollector.

Three seams, each called from one line of :class:`sim.model.CXModel`:

* :func:`seed_from` turns whatever Mesa accepts as ``rng`` into the run's integer seed, which
  the model records as ``model.seed``. ``None`` draws one from the operating system; an integer
  is the seed itself (bit-identical to every earlier release); a ``numpy.random.SeedSequence``,
  ``Generator`` or ``BitGenerator`` is turned into a generator as ``mesa.Model`` does
  (``numpy.random.default_rng(rng)``) and one integer is drawn from it. The model is then built
  from that integer alone, so ``CXModel(params, rng=model.seed)`` always reproduces a run,
  whatever was passed. (Mesa keeps a passed Generator as ``model.rng``; cxsim does not, because
  a run that depends on a generator's hidden state could not be reproduced from a number.)

* :func:`params_from` applies keyword parameters on top of ``params`` (or the defaults), so that
  ``mesa.batch_run`` can sweep plain values: ``CXModel(n_customers=500, support_human=0.8)``.
  A keyword is a dotted key of :func:`sim.params.describe` (``"firm.support.human"``; pass it
  as ``**{"firm.support.human": 0.8}``, which ``batch_run`` does) or a unique short name: the
  last parts of a dotted key joined by ``_`` (``n_customers`` → ``population.n_customers``,
  ``support_human`` → ``firm.support.human``). An ambiguous short name (``human`` is also
  ``firm.support_cost.human``) or an unknown one is refused with a one-line
  :class:`~sim.params.ParamError` listing the candidates. See :func:`dotted_key`.

* :func:`make_datacollector` gives the model a ``mesa.DataCollector`` whose model reporters are
  the weekly KPIs declared in :data:`sim.kpis.SERIES` (each reads its column of the week's row of
  ``model.history``, which ``_phase_record`` has just written: nothing is computed twice) plus
  ``seed`` (so ``batch_run`` rows say which seed produced them, also when ``rng=None``).
  :func:`collect` runs after every ``step()``; there is no row before the first week (the KPIs
  are weekly flows), so row ``w - 1`` of ``get_model_vars_dataframe()`` is week ``w``, equal to
  ``sim.run.timeseries(model)``. With ``customer_sample=k`` only ``k`` customers, drawn once
  from the seed through a stream of their own (the model's streams are untouched), are Mesa
  agents, and their state is recorded every week as agent-type data
  (``model.datacollector.get_agenttype_vars_dataframe(Customer)``); without it no agent data is
  collected and batch runs pay nothing for it. A subclass that installs a DataCollector of its
  own (the dashboard does) collects it itself: :func:`collect` only feeds the one made here.
"""

from __future__ import annotations

import difflib
import functools
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.agents import Customer
from sim.kpis import SERIES
from sim.params import ParamError, Params, describe, with_updates
from sim.rng import stream_key

if TYPE_CHECKING:
    from sim.model import CXModel

SEED_BITS = 63  # drawn seeds are integers in [0, 2**63), the range `cxsim run seed=...` accepts
CUSTOMER_REPORTERS = ("status", "firm", "affect", "satisfaction", "loyalty")


# ----------------------------------------------------------------------------------------------
# rng → seed
# ----------------------------------------------------------------------------------------------
def seed_from(rng: Any) -> int:
    """The integer seed of a run given Mesa's ``rng`` argument (see the module docstring)."""
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"invalid rng={rng!r}: a seed must be a non-negative integer")
        return int(rng)
    if rng is None or isinstance(
        rng, np.random.SeedSequence | np.random.Generator | np.random.BitGenerator
    ):
        return int(np.random.default_rng(rng).integers(2**SEED_BITS))
    raise TypeError(
        f"invalid rng={rng!r}: pass None, a non-negative integer, or a numpy SeedSequence, Generator or BitGenerator"
    )


# ----------------------------------------------------------------------------------------------
# keyword parameters → Params
# ----------------------------------------------------------------------------------------------
@functools.cache
def _short_names() -> dict[str, tuple[str, ...]]:
    """Every short name (the last 1..n parts of a dotted key, joined by ``_``) → its dotted keys."""
    names: dict[str, list[str]] = {}
    for key, _, _ in describe():
        parts = key.split(".")
        for j in range(1, len(parts) + 1):
            names.setdefault("_".join(parts[-j:]), []).append(key)
    return {name: tuple(dict.fromkeys(keys)) for name, keys in names.items()}


def dotted_key(name: str, value: Any = None) -> str:
    """The dotted parameter key meant by a keyword: itself if it has a dot, else its unique short name."""
    if "." in name:
        return name  # checked by with_updates
    if name == "seed":
        raise ParamError(
            name, value, "rng=<seed> (the seed is Mesa's rng argument, not a parameter)"
        )
    keys = _short_names().get(name, ())
    if len(keys) == 1:
        return keys[0]
    if keys:
        raise ParamError(
            name,
            value,
            "one of the dotted keys it may mean (ambiguous short name): " + ", ".join(keys),
        )
    close = difflib.get_close_matches(name, list(_short_names()), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ParamError(
        name,
        value,
        "a dotted parameter key or a unique short name from sim.params.describe()" + hint,
    )


def params_from(params: Params | None, overrides: Mapping[str, Any]) -> Params:
    """``params`` (default: ``Params()``) with keyword overrides applied; unvalidated if there are none."""
    params = Params() if params is None else params
    if not isinstance(params, Params):
        raise TypeError(
            f"invalid params={params!r}: pass a sim.params.Params (plain values go in as keywords)"
        )
    if not overrides:
        return params
    updates: dict[str, Any] = {}
    for name, value in overrides.items():
        key = dotted_key(name, value)
        if key in updates:
            raise ParamError(name, value, f"one value per parameter ({key} is given twice)")
        updates[key] = value
    return with_updates(params, updates)


# ----------------------------------------------------------------------------------------------
# DataCollector
# ----------------------------------------------------------------------------------------------
def _kpi(model: CXModel, column: int) -> float:
    return float(model.history[-1][column])


def _seed(model: CXModel) -> int:
    return model.seed


def sample_customers(seed: int, n: int, k: int) -> np.ndarray:
    """Indices of ``k`` of ``n`` customers, drawn from ``seed`` without touching the model's streams."""
    if k >= n:
        return np.arange(n)
    ss = np.random.SeedSequence(seed, spawn_key=(stream_key("customer_sample"),))
    return np.sort(np.random.default_rng(ss).choice(n, size=k, replace=False))


def all_customer_agents(customer_agents: bool | None, customer_sample: int) -> bool:
    """Whether every customer gets a Mesa agent: yes unless asked not to or a sample is recorded."""
    if customer_agents is None:
        return not customer_sample
    if customer_agents and customer_sample:
        raise ValueError(
            f"customer_sample={customer_sample!r} makes only the sampled customers Mesa agents: "
            "leave customer_agents unset (or False)"
        )
    return bool(customer_agents)


def make_datacollector(model: CXModel, customer_sample: int = 0) -> mesa.DataCollector:
    """The model's DataCollector: the weekly KPIs and ``seed``; a sample of customers on request.

    Builds the Mesa agents of the sampled customers (``model.customer(i)``); the caller makes
    sure no other customer is an agent (``customer_agents=False``).
    """
    if (
        isinstance(customer_sample, bool)
        or not isinstance(customer_sample, numbers.Integral)
        or customer_sample < 0
    ):
        raise ParamError(
            "customer_sample", customer_sample, "an integer >= 0 (customers recorded each week)"
        )
    reporters: dict[str, Any] = {
        name: functools.partial(_kpi, column=j) for j, name in enumerate(SERIES)
    }
    reporters["seed"] = functools.partial(_seed)
    agent_reporters = None
    if customer_sample:
        for i in sample_customers(model.seed, model.n, int(customer_sample)):
            model.customer(int(i))
        agent_reporters = {Customer: {"idx": "idx", **{name: name for name in CUSTOMER_REPORTERS}}}
    dc = mesa.DataCollector(model_reporters=reporters, agenttype_reporters=agent_reporters)
    model._own_datacollector = dc
    return dc


def collect(model: CXModel) -> None:
    """Collect the week, unless the model's DataCollector has been replaced (its owner collects it)."""
    dc = getattr(model, "datacollector", None)
    if dc is not None and dc is model._own_datacollector:
        dc.collect(model)


def detach_datacollector(model: CXModel) -> None:
    """Stop feeding the model's own DataCollector (its weekly KPIs stay in ``model.history``).

    For callers that read ``model.history`` and never show the model to Mesa
    (:func:`sim.run.run_model`): collecting 29 reporters a week is a tenth of a small model's
    week."""
    model._own_datacollector = None
