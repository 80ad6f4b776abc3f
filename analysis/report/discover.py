"""Scenario discovery in a report: PRIM boxes over the runs of a sweep or a sensitivity study
(the figures go into the report, the finding lines are returned)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.report.document import Report
from analysis.report.text import ReportError


def discovery_section(
    rep: Report,
    table: pd.DataFrame,
    inputs: Sequence[str],
    target: str,
    constants: Mapping[str, float],
    labels: Mapping[str, str],
) -> list[str]:
    """PRIM on ``table`` (inputs → target); adds the figures, returns finding lines."""
    from analysis.discovery import box_figure, describe_box, prim, tradeoff_figure
    from analysis.whatif import evaluate_target

    try:
        met = evaluate_target(table, target, constants)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if not 0 < int(met.sum()) < len(met):
        return [
            f"The target '{target}' is met in {int(met.sum())} of {len(met)} runs: nothing to discover."
        ]
    n = len(table)
    res = prim(
        table[list(inputs)], met.to_numpy(), min_mass=max(0.05, min(0.2, 20 / n)), max_qp=0.05
    )
    found = describe_box(res.box, dict(labels))
    rep.h3("Scenario discovery")
    rep.figure(
        box_figure(res, labels=dict(labels)),
        "prim_box",
        f"PRIM box for the target '{target}': the input ranges in which it is most likely (blue) within "
        "the sampled ranges (grey); qp: quasi-p-value of each restriction.",
    )
    rep.figure(
        tradeoff_figure(res),
        "prim_tradeoff",
        "Coverage vs density of the boxes on PRIM's peeling trajectory.",
    )
    if res.box.restricted.empty:
        return [
            f"Scenario discovery (PRIM): no range of the inputs makes the target '{target}' "
            f"significantly more likely than its base rate ({100 * res.base_rate:.0f}% of runs)."
        ]
    if res.box.density >= 0.7:
        return [
            f"Scenario discovery (PRIM): the target '{target}' is likely when {found}; across all runs it "
            f"is met in {100 * res.base_rate:.0f}% of them."
        ]
    return [
        f"Scenario discovery (PRIM) finds no sharp region for the target '{target}': the densest box is "
        f"{found}, against {100 * res.base_rate:.0f}% of all runs meeting the target."
    ]
