"""What a policy costs per week, in the model's own terms: the budget constraint of
``cxsim optimize`` and the lines of its allocation chart.

:func:`weekly_cost` is the one definition: the planned weekly spend of the focal firm on its
six support factors and its CX levers, in cu per 1,000 market customers (the unit of every cost
parameter in :class:`sim.params.FirmParams`), from the same terms the model books in
``CXModel._phase_economics``:

* support: ``Σ c_x · x²`` (:func:`sim.support.support_cost`);
* improvements: the improvement budget ``cx_budget · 2 · financial``
  (:func:`sim.support.improvement_budget`), added to the investable balance every week and paid
  when a cycle invests it (multiplied by the stage-5 spend multiplier under
  ``mechanism.feedback_rule: target``; the plan counts it at 1);
* omnichannel: ``omnichannel_cost · integration²`` for the integration the firm's technology
  delivers (:func:`sim.support.integration`: the policy above the ceiling costs nothing);
* personalisation: ``personalization_cost · personalization²``;
* improvement cycles: ``cycle_cost / improvement_cadence`` (one cycle every cadence weeks).

Not counted: marketing (advertising is not a CX lever) and the answers to detected problems
(``mechanism.response_cost`` per customer contacted: it depends on what the alarm finds, not
on the plan). Over a run of a whole number of cycles the model's ledger (``cx_spend`` +
``support_cost``, less the answers) equals ``steps × weekly_cost × n_customers / 1000``
exactly (``tests/test_optimize_cost.py``).
"""

from __future__ import annotations

from sim import support
from sim.params import SUPPORT_FACTORS, Params

LINES = (
    *(f"support.{f}" for f in SUPPORT_FACTORS),
    "improvement",
    "omnichannel",
    "personalization",
    "cycles",
)


def cost_lines(params: Params) -> dict[str, float]:
    """The focal firm's planned weekly spend per line, cu per 1,000 market customers."""
    firm, mech = params.firm, params.mechanism
    out = {
        f"support.{f}": getattr(firm.support_cost, f) * getattr(firm.support, f) ** 2
        for f in SUPPORT_FACTORS
    }
    out["improvement"] = support.improvement_budget(firm)
    out["omnichannel"] = firm.omnichannel_cost * support.integration(firm, mech) ** 2
    out["personalization"] = firm.personalization_cost * firm.policy.personalization**2
    out["cycles"] = firm.cycle_cost / firm.policy.improvement_cadence
    return out


def weekly_cost(params: Params) -> float:
    """The focal firm's planned weekly spend on support and CX levers, cu per 1,000 market
    customers: the sum of :func:`cost_lines` (its support part is :func:`sim.support.support_cost`)."""
    return float(sum(cost_lines(params).values()))


def with_values(params: Params, values: dict[str, float]) -> Params:
    """``params`` with dotted-key ``values`` set, without validation: a cheap copy for costing
    many candidate policies (runs use :func:`sim.with_updates`, which validates)."""
    for key, value in values.items():
        params = _replace(params, key.split("."), value)
    return params


def _replace(node, parts: list[str], value):
    import dataclasses

    head = parts[0]
    if not dataclasses.is_dataclass(node) or head not in {f.name for f in dataclasses.fields(node)}:
        raise KeyError(".".join(parts))
    if len(parts) == 1:
        return dataclasses.replace(node, **{head: value})
    return dataclasses.replace(node, **{head: _replace(getattr(node, head), parts[1:], value)})
