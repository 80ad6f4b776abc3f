"""The analyses of a study: SALib's Sobol, Morris and eFAST, PAWN and DGSM with bootstrap
intervals, the rows of the indices table, convergence sizes and the replicate-noise share."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.sensitivity.design import BOOTSTRAP, Design, spawn_seed
from experiments.sensitivity.problem import SensitivityProblem

MAIN_INDEX = {
    "sobol": "ST",
    "efast": "ST",
    "morris": "mu_star",
    "pawn": "pawn_median",
    "dgsm": "dgsm",
}


INDEX_COLUMNS = ("output", "factor", "index", "value", "conf", "n", "level", "method", "conf_level")


class Notes:
    """Distinct warnings raised by SALib during the analyses, for summary.md."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    def absorb(self, caught: list[warnings.WarningMessage]) -> None:
        for w in caught:
            if not issubclass(w.category, UserWarning):
                continue  # numpy's NaN arithmetic warnings: NaN outputs get their own note
            msg = " ".join(str(w.message).split())
            if "FAST confidence intervals" in msg:
                msg = (
                    "eFAST: SALib's confidence intervals come from a bootstrap of the search "
                    "curve, known to be unreliable; treat them as indicative."
                )
            elif "Constant values encountered" in msg:
                msg = "An output is constant over (part of) the sample: its indices are set to 0."
            self.add(msg)


class _GlobalRandomState:
    """Restores numpy's global RNG after SALib functions that seed it (eFAST, DGSM)."""

    def __enter__(self):
        self.state = np.random.get_state()  # noqa: NPY002 - SALib seeds the legacy global RNG

    def __exit__(self, *exc):
        np.random.set_state(self.state)  # noqa: NPY002


def pawn_stats(X: np.ndarray, y: np.ndarray, S: int, median_only: bool = False) -> np.ndarray:
    """PAWN statistics as SALib computes them (KS distance between the output distribution
    within each of S conditioning slides ``q[s] <= x < q[s+1]`` of a factor's quantiles and
    the unconditional one); columns: minimum, mean, median, maximum, CV, stdev over the slides;
    one row per factor (``median_only``: the median column only, for the bootstrap).
    Vectorised over the slides (the bootstrap calls it often).  SALib's
    slide edges come from ``np.arange(0, 1 + 1/S, 1/S)``, which for some S (6, 9) runs past 1
    and fails; here the first S + 1 edges are used, capped at 1."""
    ok = ~np.isnan(y)
    X, y = X[ok], y[ok]
    n = len(y)
    order = np.argsort(y, kind="stable")
    ys = y[order]
    right = np.searchsorted(ys, ys, side="right")  # how many outputs are <= each one
    F_all = right / n
    last = right - 1
    step = 1 / S
    seq = np.minimum(np.arange(0, 1 + step, step)[: S + 1], 1.0)
    D = X.shape[1]
    out = np.full((D, 1 if median_only else 6), np.nan)
    cols = np.arange(n)
    Xo = X[order]
    for j in range(D):
        q = np.quantile(X[:, j], seq)  # X is a design: no NaN
        slide = np.searchsorted(q, Xo[:, j], side="right") - 1  # in output order
        inside = (slide >= 0) & (slide < S)
        member = np.zeros((S, n))
        member[slide[inside], cols[inside]] = 1.0
        cum = np.cumsum(member, axis=1)
        m = cum[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ks = np.max(np.abs(cum[:, last] / m[:, None] - F_all), axis=1)
        ks[m == 0] = np.nan
        if np.all(np.isnan(ks)):
            continue
        if median_only:
            out[j, 0] = np.nanmedian(ks)
            continue
        mean = np.nanmean(ks)
        sd = np.nanstd(ks)
        out[j] = [np.nanmin(ks), mean, np.nanmedian(ks), np.nanmax(ks), sd / mean, sd]
    return out


def _z(conf_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + conf_level / 2))


Indices = dict[str, tuple[list[str], np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class _Inputs:
    """What one analysis needs: the study, the design, its first ``rows`` rows (``X``, ``y``)
    and the bootstrap seed."""

    decl: SensitivityProblem
    design: Design
    X: np.ndarray
    y: np.ndarray
    bseed: int

    @property
    def names(self) -> list[str]:
        return list(self.decl.names)

    @property
    def nan(self) -> np.ndarray:
        return np.full(len(self.decl.names), np.nan)


def analyse_output(
    decl: SensitivityProblem,
    design: Design,
    Y: np.ndarray,
    k: int,
    notes: Notes,
) -> Indices:
    """Indices of one output from the first ``k`` base points of ``design``: ``{index:
    (labels, values, confs)}`` (conf NaN where the method gives none)."""
    rows = k * design.block if design.block else len(Y)
    bseed = spawn_seed(decl.seed, BOOTSTRAP) + 1  # SALib ignores a seed of 0
    a = _Inputs(decl, design, design.X[:rows], Y[:rows], bseed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _ANALYSES[decl.method](a)
    notes.absorb(caught)
    return out


def _sobol(a: _Inputs) -> Indices:
    from SALib.analyze import sobol
    from SALib.util import extract_group_names

    decl, problem = a.decl, dict(a.design.problem)
    labels = list(extract_group_names(problem)[0]) if a.design.name == "group" else a.names
    si = sobol.analyze(
        problem,
        a.y,
        calc_second_order=decl.second_order,
        num_resamples=decl.num_resamples,
        conf_level=decl.confidence_level,
        seed=a.bseed,
    )
    out = {
        "S1": (labels, np.asarray(si["S1"]), np.asarray(si["S1_conf"])),
        "ST": (labels, np.asarray(si["ST"]), np.asarray(si["ST_conf"])),
    }
    if decl.second_order:
        pl, pv, pc = [], [], []
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                pl.append(f"{labels[i]},{labels[j]}")
                pv.append(si["S2"][i, j])
                pc.append(si["S2_conf"][i, j])
        out["S2"] = (pl, np.asarray(pv, float), np.asarray(pc, float))
    return out


def _morris(a: _Inputs) -> Indices:
    from SALib.analyze import morris

    decl, names = a.decl, a.names
    si = morris.analyze(
        dict(a.design.problem),
        a.X,
        a.y,
        num_resamples=decl.num_resamples,
        conf_level=decl.confidence_level,
        num_levels=decl.morris.num_levels,
        seed=a.bseed,
    )
    return {
        "mu_star": (
            names,
            np.asarray(si["mu_star"], float),
            np.asarray(si["mu_star_conf"], float),
        ),
        "mu": (names, np.asarray(si["mu"], float), a.nan),
        "sigma": (names, np.asarray(si["sigma"], float), a.nan),
    }


def _efast(a: _Inputs) -> Indices:
    from SALib.analyze import fast

    decl, names = a.decl, a.names
    with _GlobalRandomState():
        si = fast.analyze(
            dict(a.design.problem),
            a.y,
            M=decl.efast.M,
            num_resamples=decl.num_resamples,
            conf_level=decl.confidence_level,
            seed=a.bseed,
        )
    return {
        "S1": (names, np.asarray(si["S1"], float), np.asarray(si["S1_conf"], float)),
        "ST": (names, np.asarray(si["ST"], float), np.asarray(si["ST_conf"], float)),
    }


def _pawn(a: _Inputs) -> Indices:
    decl, names, X, y = a.decl, a.names, a.X, a.y
    B = decl.num_resamples
    stats = pawn_stats(X, y, decl.pawn.S)
    rng = np.random.default_rng(a.bseed)
    boot = np.empty((B, len(names)))
    for b in range(B):
        idx = rng.integers(len(y), size=len(y))
        boot[b] = pawn_stats(X[idx], y[idx], decl.pawn.S, median_only=True)[:, 0]
    conf = _z(decl.confidence_level) * np.nanstd(boot, axis=0, ddof=1)
    return {
        "pawn_median": (names, stats[:, 2], conf),
        "pawn_mean": (names, stats[:, 1], a.nan),
        "pawn_min": (names, stats[:, 0], a.nan),
        "pawn_max": (names, stats[:, 3], a.nan),
        "pawn_cv": (names, stats[:, 4], a.nan),
    }


def _dgsm(a: _Inputs) -> Indices:
    from SALib.analyze import dgsm

    decl, names, problem = a.decl, a.names, dict(a.design.problem)
    cl = decl.confidence_level
    with _GlobalRandomState():
        si = dgsm.analyze(problem, a.X, a.y, num_resamples=10, conf_level=cl, seed=a.bseed)
    conf = _dgsm_conf(problem, a.X, a.y, decl.num_resamples, cl, a.bseed)
    return {
        "dgsm": (names, np.asarray(si["dgsm"], float), conf),
        "vi": (names, np.asarray(si["vi"], float), a.nan),
        "vi_std": (names, np.asarray(si["vi_std"], float), a.nan),
    }


_ANALYSES = {"sobol": _sobol, "morris": _morris, "efast": _efast, "pawn": _pawn, "dgsm": _dgsm}


def _dgsm_conf(
    problem: Mapping[str, Any], X: np.ndarray, y: np.ndarray, B: int, cl: float, seed: int
) -> np.ndarray:
    """Bootstrap half-width of the DGSM index itself (resampling base points)."""
    D = problem["num_vars"]
    step = D + 1
    base = y[0::step]
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(base), size=(B, len(base)))
    var = np.var(base[idx], axis=1)
    out = np.empty(D)
    for j in range(D):
        dx = X[j + 1 :: step, j] - X[0::step, j]
        g2 = ((y[j + 1 :: step] - base) / dx) ** 2
        lo, hi = problem["bounds"][j][:2]
        with np.errstate(divide="ignore", invalid="ignore"):
            est = g2[idx].mean(axis=1) * (hi - lo) ** 2 / (var * np.pi**2)
        out[j] = _z(cl) * np.nanstd(est, ddof=1)
    return out


def index_rows(
    decl: SensitivityProblem,
    output: str,
    res: Mapping[str, tuple[list[str], np.ndarray, np.ndarray]],
    n: int,
    level: str,
) -> list[dict[str, Any]]:
    rows = []
    for index, (labels, values, confs) in res.items():
        for lab, v, c in zip(labels, values, confs, strict=True):
            rows.append(
                {
                    "output": output,
                    "factor": lab,
                    "index": index,
                    "value": float(v),
                    "conf": float(c),
                    "n": int(n),
                    "level": level,
                    "method": decl.method,
                    "conf_level": decl.confidence_level,
                }
            )
    return rows


def convergence_sizes(decl: SensitivityProblem, design: Design) -> list[int]:
    if not design.block:
        return []
    N = design.base_n
    lowest = 2 * decl.pawn.S if decl.method == "pawn" else 2
    sizes = sorted({k for k in (N // 4, N // 2, N) if k >= lowest})
    return sizes if len(sizes) > 1 else []


def noise_share(decl: SensitivityProblem, Yr: np.ndarray) -> pd.DataFrame:
    """Per output: mean within-row variance across replicates / variance of the row means."""
    rows = []
    R = decl.replicates
    for j, o in enumerate(decl.outputs):
        y = Yr[:, :, j]
        means = y.mean(axis=1)
        between = float(np.var(means, ddof=1)) if len(means) > 1 else math.nan
        within = float(np.mean(np.var(y, axis=1, ddof=1))) if R > 1 else math.nan
        share = within / between if R > 1 and between > 0 else math.nan
        rows.append(
            {
                "output": o,
                "noise_share": share,
                "within_var": within,
                "between_var": between,
                "replicates": R,
                "rows": int(y.shape[0]),
            }
        )
    return pd.DataFrame(rows)
