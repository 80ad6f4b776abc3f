"""``summary.md`` of a study: the set-up, the ranking of the factors per output, groups,
replicate noise, convergence and SALib's warnings, in plain text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from experiments.numbers import MISSING
from experiments.sensitivity.analyse import MAIN_INDEX, Notes
from experiments.sensitivity.design import Design
from experiments.sensitivity.problem import QMC_METHODS, SensitivityProblem


def short_labels(names: Sequence[str]) -> dict[str, str]:
    """Last part of dotted names when those are unique (``firm.support.human`` → human)."""
    short = {n: n.rsplit(".", 1)[-1] for n in names}
    if len(set(short.values())) < len(short):
        return {n: n for n in names}
    return short


def _fmt(v: float, method: str) -> str:
    """An index value: two decimals for the shares of variance, else 3 significant digits."""
    if not math.isfinite(v):
        return MISSING
    if method in ("sobol", "efast", "pawn"):
        return f"{v:.2f}"
    return f"{v:.3g}"


def _ranking(
    decl: SensitivityProblem, d: pd.DataFrame, index: str, labels: Mapping[str, str]
) -> tuple[list[str], str]:
    d = d[d["index"] == index].sort_values(["value", "factor"], ascending=[False, True])
    order = list(d["factor"])
    parts = [
        f"{labels.get(r.factor, r.factor)} ({index} {_fmt(r.value, decl.method)} ± "
        f"{_fmt(r.conf, decl.method)})"
        for r in d.itertuples()
    ]
    return order, " > ".join(parts)


def _stability(
    decl: SensitivityProblem, conv: pd.DataFrame, output: str, labels: Mapping[str, str]
) -> str | None:
    index = MAIN_INDEX[decl.method]
    d = conv[(conv["output"] == output) & (conv["index"] == index) & (conv["level"] == "factor")]
    ns = sorted(d["n"].unique())
    if len(ns) < 2:
        return None
    top = min(3, len(decl.factors))

    def rank(n: int) -> list[str]:
        g = d[d["n"] == n].sort_values(["value", "factor"], ascending=[False, True])
        return list(g["factor"])[:top]

    a, b = rank(ns[-2]), rank(ns[-1])
    same = a == b
    txt = " > ".join(labels.get(f, f) for f in b)
    tail = "" if same else f"; at N={ns[-2]}: " + " > ".join(labels.get(f, f) for f in a)
    return (
        f"- {output}: ranking of top factors stable across N/2 → N "
        f"({ns[-2]} → {ns[-1]}, by {index}): {'yes' if same else 'no'} ({txt}{tail})"
    )


def summary_text(
    decl: SensitivityProblem,
    indices: pd.DataFrame,
    conv: pd.DataFrame | None,
    noise: pd.DataFrame,
    designs: Sequence[Design],
    notes: Notes,
    seconds: float,
) -> str:
    labels = short_labels(decl.names)
    main = MAIN_INDEX[decl.method]
    L = [f"# Sensitivity study ({decl.method})", ""]
    L += _setup_lines(decl, designs, seconds)
    L += ["", f"## Ranking of the factors by {main}", ""]
    L += _ranking_lines(decl, indices, labels)
    if decl.grouped:
        L += ["", f"## Groups (closed indices, by {main})", ""]
        glab = {g: g for g in decl.group_names}
        for o in decl.outputs:
            d = indices[(indices["output"] == o) & (indices["level"] == "group")]
            L.append(f"- {o}: {_ranking(decl, d, main, glab)[1]}")
    L += ["", "## Replicate noise", ""]
    L += _noise_lines(decl, noise)
    L += ["", "## Convergence", ""]
    if conv is None or conv.empty:
        L.append(f"- not available for {decl.method} (its design is not nested) or N too small")
    else:
        L += [s for o in decl.outputs if (s := _stability(decl, conv, o, labels))]
    if notes.lines:
        L += ["", "## Notes", ""]
        L += [f"- {x}" for x in notes.lines]
    return "\n".join(L) + "\n"


_SIZE_NAMES = {
    "sobol": "base sample size N",
    "pawn": "sample size N",
    "dgsm": "base points N",
    "morris": "trajectories",
    "efast": "points per search curve N",
}


def _setup_lines(decl: SensitivityProblem, designs: Sequence[Design], seconds: float) -> list[str]:
    """Factors, outputs, sizes, seeds, CRN, intervals, groups and time of the study."""
    n_runs = sum(len(d.X) * decl.replicates for d in designs)
    L = [f"- factors ({len(decl.factors)}): " + ", ".join(decl.names)]
    L.append("- outputs: " + ", ".join(decl.outputs))
    line = f"- {_SIZE_NAMES[decl.method]} = {designs[0].base_n}"
    if decl.method in QMC_METHODS and decl.base_n != decl.n:
        line += f" (n = {decl.n} requested, rounded up to a power of two)"
    line += (
        f"; replicates = {decl.replicates}; sample rows = {len(designs[0].X)}; model runs = "
        f"{n_runs}; seed = {decl.seed}"
    )
    L.append(line)
    L.append(
        "- common random numbers: "
        + (
            "on (replicate r uses the same seed in every sample row)"
            if decl.use_crn
            else "off (independent seeds for every sample row and replicate)"
        )
    )
    L.append(
        f"- intervals: ± half-width of the {decl.confidence_level:.0%} bootstrap confidence "
        f"interval ({decl.num_resamples} resamples)"
    )
    if decl.grouped:
        L.append(
            f"- groups: {', '.join(dict.fromkeys(decl.group_names))}; closed indices from a "
            f"second, grouped design ({len(designs[1].X) * decl.replicates} of the runs)"
        )
    elif decl.groups:
        L.append(f"- groups: ignored with method {decl.method} (grouped indices need sobol)")
    L.append(f"- time: {seconds:.1f} s")
    return L


def _ranking_lines(
    decl: SensitivityProblem, indices: pd.DataFrame, labels: Mapping[str, str]
) -> list[str]:
    """One line per output: the factors ranked by the method's main index."""
    main = MAIN_INDEX[decl.method]
    L = []
    for o in decl.outputs:
        d = indices[(indices["output"] == o) & (indices["level"] == "factor")]
        order, txt = _ranking(decl, d, main, labels)
        extra = ""
        if decl.method in ("sobol", "efast"):
            s1 = d.loc[d["index"] == "S1", "value"]
            extra = f"; sum of S1 = {s1.sum():.2f}"
        top = d[(d["index"] == main) & (d["factor"] == order[0])].iloc[0] if order else None
        if top is not None and math.isfinite(top["conf"]) and top["conf"] >= abs(top["value"]):
            extra += " (not resolved: the leading interval is as wide as its value; raise n)"
        L.append(f"- {o}: {txt}{extra}")
    return L


def _noise_lines(decl: SensitivityProblem, noise: pd.DataFrame) -> list[str]:
    if decl.replicates < 2:
        return ["- not measured: replicates = 1 (noise cannot be told apart from the factors)"]
    return [
        f"- {r.output}: noise share {r.noise_share:.3g} (mean within-row variance "
        f"{r.within_var:.4g} / variance of the row means {r.between_var:.4g})"
        for r in noise.itertuples()
    ]
