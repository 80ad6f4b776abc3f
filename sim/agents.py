"""Mesa agents as views: a Customer reads and writes its own row of the model's state arrays.

Customers are real ``mesa.Agent`` objects (registered with the model, selectable through
``model.agents_by_type[Customer]``, visible to DataCollector and SolaraViz) but hold no
state of their own: every attribute listed in ``sim.state.STATE_VARS`` is a data descriptor
on ``model.state``.  Two models alive at once never share arrays (the descriptors look up
the agent's own model), unlike Mesa's experimental class-bound numpy tracking.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.state import STATE_VARS, STATUS_NAMES


class StateField:
    """Data descriptor for one state variable: row ``agent.idx`` of ``model.state.<name>``."""

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: str):
        self.name, self.shape = name, shape

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        value = getattr(agent.model.state, self.name)[agent.idx]
        return value.copy() if self.shape else value.item()

    def __set__(self, agent, value) -> None:
        getattr(agent.model.state, self.name)[agent.idx] = value


class Customer(mesa.Agent):
    """A customer: emotional, cognitive and behavioural state live in the model's arrays."""

    def __init__(self, model, idx: int):
        super().__init__(model)
        self.idx = int(idx)

    @property
    def status(self) -> str:
        """'prospect', 'customer' or 'lapsed' (set with a name or its code 0/1/2)."""
        return STATUS_NAMES[int(self.model.state.status[self.idx])]

    @status.setter
    def status(self, value) -> None:
        code = STATUS_NAMES.index(value) if isinstance(value, str) else int(value)
        self.model.state.status[self.idx] = code

    @property
    def firm_name(self) -> str | None:
        k = int(self.model.state.firm[self.idx])
        return None if k < 0 else self.model.firms[k].name

    @property
    def neighbors(self) -> np.ndarray:
        """Indices of this customer's contacts in the social network."""
        a = self.model.network
        return a.indices[a.indptr[self.idx] : a.indptr[self.idx + 1]].copy()

    def __repr__(self) -> str:
        return f"Customer(idx={self.idx}, status={self.status}, firm={self.firm_name})"


for _v in STATE_VARS:
    if _v.name != "status":
        setattr(Customer, _v.name, StateField(_v.name, _v.shape))
del _v
