"""Global sensitivity analysis: how the support factors and policy levers drive the KPIs.

A study is declared once, in YAML (``configs/sensitivity/*.yaml``, Hydra group
``sensitivity``), and converted to a frozen :class:`SensitivityProblem` by
:func:`problem_from_cfg`.  The SALib problem dict is derived from it by :func:`salib_problem`;
bounds are never restated anywhere else.  :func:`run_sensitivity` then

1. samples the factors with SALib (seeded from ``seed``),
2. turns every sample row x replicate into a :class:`~experiments.store.Task`,
3. evaluates them through :func:`~experiments.executor.run_tasks` into the run store
   ``out_dir/store`` (a killed study resumes: rerunning with the same ``out_dir`` skips the
   finished runs and ends with identical indices),
4. averages the replicates of each sample row,
5. analyses every output with SALib, with bootstrap confidence intervals, and
6. writes the tables, ``summary.md`` and the figures to ``out_dir``.

Methods and sample sizes (``n``)
    ``sobol``  Saltelli/Sobol' design, ``n`` = base sample size N; N·(2D+2) rows with
               ``second_order: true``, N·(D+2) without.  Indices S1, ST, S2.
    ``morris`` ``morris.trajectories`` trajectories (default ``n``) on a ``morris.num_levels``
               grid; r·(D+1) rows.  Indices mu_star (with conf), mu, sigma.
    ``efast``  ``n`` points per search curve (n > 4·M², M = ``efast.M``); n·D rows.  S1, ST.
    ``pawn``   ``n`` scrambled Sobol' points; ``pawn.S`` conditioning slides.  Index
               pawn_median (KS statistic, median over slides; conf by bootstrap) and
               pawn_mean, pawn_min, pawn_max, pawn_cv.
    ``dgsm``   ``n`` scrambled Sobol' base points, each with one forward step per factor of
               ``dgsm.delta`` x the factor's range (backward at the upper bound); N·(D+1) rows.
               Indices dgsm = v_i·(high - low)²/(π²·V), an upper bound of ST for uniform
               inputs (Sobol' & Kucherenko 2009; conf by bootstrap), and v_i = E[(∂y/∂x_i)²]
               (vi, vi_std).

Decisions
    Non-power-of-two ``n``: the Sobol'-based designs (sobol, pawn, dgsm) need a power of two.
    ``n`` is rounded UP to the next power of two, with a ``UserWarning`` and a line in
    ``summary.md`` giving both numbers; ``n`` keeps the requested value and
    :attr:`SensitivityProblem.base_n` is the size used.

    Seeds.  Every stream derives from ``seed`` through ``np.random.SeedSequence(seed)``:
    spawn-branch 0 seeds the sampler, branch 1 the bootstraps, branch 2 the runs.  Without
    common random numbers (CRN) run ``(design d, row i, replicate r)`` gets
    ``SeedSequence(seed).spawn(3)[2].spawn(.)[d].spawn(.)[i].spawn(.)[r]``; with CRN replicate
    ``r`` of every row gets ``SeedSequence(seed).spawn(4)[3].spawn(.)[r]``.  The ints are
    ``generate_state(1)[0]``.  Spawned children do not depend on how many were spawned, so
    raising ``n`` later reuses the runs already in the store (the Sobol' and Morris samples are
    nested: their first rows do not change with ``n``).

    CRN (``crn: null`` = the method's default).  Morris and DGSM compare neighbouring points:
    by default every row gets the same replicate seeds, so a base point and its step differ
    only by the factor (an input without effect gets mu_star = 0 exactly instead of measuring
    noise).  Sobol, eFAST and PAWN estimate variances over the whole input space: by default
    every row gets independent seeds, so replicate noise shows as noise (it inflates ST and
    deflates S1 a little, and ``noise_share.csv`` says by how much), instead of a single frozen
    noise realisation being analysed as if it were part of the model.

    Groups (``groups: true``, Sobol only).  A grouped Saltelli design is a different design
    (its cross-sampled blocks swap whole groups), so grouped indices come from a second,
    grouped design run through the same store: it costs N·(2G+2) (or N·(G+2)) more runs for G
    groups.  Its S1 is the closed first-order index of the group (the variance explained by
    the group's factors alone and together), its ST the total index of the group, S2 the
    interaction of two groups.  Rows have ``level == "group"`` in the tables.  Factors without
    a ``group`` form a group of their own.  The per-factor study is unaffected.

    DGSM design: SALib's ``finite_diff.sample`` steps each factor by ``delta`` x its *value*
    (no step at 0, a backward step for negative values, no seed); here the step is ``delta`` x
    the factor's range on seeded scrambled Sobol' base points, and SALib's ``dgsm.analyze``
    (which reads the steps from the design) computes the indices.

    Integer factors (``integer: true``) are sampled uniformly on [low - 0.5, high + 0.5] and
    rounded to the nearest integer (clipped to [low, high]) when applied, so every integer is
    equally likely; DGSM steps them by one unit.

    Convergence: for sobol, morris, pawn and dgsm the designs are nested, so the indices are
    re-estimated from the first N/4 and N/2 base points of the same runs (``convergence.csv``,
    ``convergence.png`` and one sentence per output in ``summary.md``).  eFAST's design depends
    on N as a whole: no convergence table.

    Confidence intervals: ``conf`` is the half-width of the ``confidence_level`` interval
    (normal approximation of ``num_resamples`` bootstrap replicates), as SALib reports it.
    SALib's DGSM interval is that of v_i, in other units than the index, and SALib has no PAWN
    interval: both are bootstrapped here (PAWN with an implementation of SALib's statistic that
    is tested against it).  SALib's eFAST intervals are known to be unreliable (indicative).

    Noise share per output: mean within-row variance across replicates / variance of the row
    means (the replicate-averaged outputs the indices are computed from); NaN with
    ``replicates: 1``, where noise cannot be separated from the factors' effects.

    Failed runs: the indices need every sample row.  If a run failed (the batch goes on and
    records it), :class:`SensitivityRunsFailed` is raised after the batch; rerunning with the
    same ``out_dir`` retries only the failed runs.

Files written to ``out_dir``: ``indices.csv`` and ``indices.parquet`` (long format: output,
factor, index, value, conf, n, level, method, conf_level; S2 rows name the pair ``"a,b"``),
``convergence.csv``, ``noise_share.csv``, ``samples.csv`` (one row per run: design, row,
replicate, seed, key, factor values as applied, outputs), ``study.json``, ``summary.md``,
``store/`` and PNG figures: ``indices_<output>.png`` (and ``groups_<output>.png``),
``s2_<output>.png`` (sobol with second order), ``morris_<output>.png`` (morris),
``convergence.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import secrets
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.executor import BatchSummary, ExecutorConfig, run_tasks
from experiments.store import RunStore, Task, task_key

__all__ = [
    "CRN_DEFAULT",
    "DISTS",
    "METHODS",
    "DgsmOptions",
    "EfastOptions",
    "Factor",
    "MorrisOptions",
    "PawnOptions",
    "SensitivityProblem",
    "SensitivityResult",
    "SensitivityRunsFailed",
    "load_problem",
    "problem_from_cfg",
    "run_sensitivity",
    "salib_problem",
    "sample_design",
]

METHODS = ("sobol", "morris", "efast", "pawn", "dgsm")
QMC_METHODS = ("sobol", "pawn", "dgsm")  # designs built on Sobol' points: n a power of two
CRN_DEFAULT = {"sobol": False, "efast": False, "pawn": False, "morris": True, "dgsm": True}
MAIN_INDEX = {
    "sobol": "ST",
    "efast": "ST",
    "morris": "mu_star",
    "pawn": "pawn_median",
    "dgsm": "dgsm",
}
INDEX_COLUMNS = ("output", "factor", "index", "value", "conf", "n", "level", "method", "conf_level")
# SALib's distribution names and the meaning of ``bounds`` for each (SALib's convention)
DISTS = {
    "unif": ("low", "high"),
    "logunif": ("low", "high"),
    "triang": ("low", "high", "peak as a fraction of the range in [0, 1)"),
    "truncnorm": ("low", "high", "mean", "sd"),
    "norm": ("mean", "sd"),
    "lognorm": ("mean of ln x", "sd of ln x"),
}
UNBOUNDED_DISTS = ("norm", "lognorm")
TOP_KEYS = (
    "method",
    "n",
    "replicates",
    "seed",
    "second_order",
    "confidence_level",
    "num_resamples",
    "crn",
    "groups",
    "morris",
    "efast",
    "pawn",
    "dgsm",
    "factors",
    "outputs",
)
FACTOR_KEYS = ("bounds", "group", "integer", "dist")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_NAME_RULE = "a name of letters, digits, '_', '.', '-' starting with a letter or '_'"
_SEED_LIMIT = 2**63
_MAX_REPLICATES = 100_000

_DEFAULT_EXECUTOR = ExecutorConfig()  # loky, 2 workers (frozen: safe to share)
# spawn branches of SeedSequence(seed)
_SAMPLING, _BOOTSTRAP, _RUNS, _CRN = 0, 1, 2, 3
_DESIGNS = ("factor", "group")


class SensitivityRunsFailed(RuntimeError):
    """Some model runs of the study failed; rerunning with the same out_dir retries them."""


def _bad(key: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"invalid sensitivity.{key}={value!r}: allowed {allowed}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def _check_int(key: str, v: Any, lo: int, hi: int | None = None) -> int:
    if not _is_int(v) or v < lo or (hi is not None and v > hi):
        rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise _bad(key, v, rng)
    return int(v)


def _check_bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool | np.bool_):
        raise _bad(key, v, "true or false")
    return bool(v)


def _check_name(key: str, v: Any) -> str:
    if not isinstance(v, str) or not _NAME_RE.match(v):
        raise _bad(key, v, _NAME_RULE)
    return v


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Factor:
    """One input of the study: its distribution parameters in SALib's convention (``bounds``
    is [low, high] for the default uniform distribution), optional group and integer flag."""

    name: str
    bounds: tuple[float, ...]
    group: str | None = None
    integer: bool = False
    dist: str = "unif"

    def __post_init__(self) -> None:
        _check_name("factors", self.name)
        key = f"factors.{self.name}"
        if not isinstance(self.dist, str) or self.dist not in DISTS:
            raise _bad(f"{key}.dist", self.dist, ", ".join(DISTS))
        b = self.bounds
        want = DISTS[self.dist]
        shape = "[" + ", ".join(want) + "]"
        if (
            isinstance(b, str | bytes)
            or not isinstance(b, Sequence)
            or len(b) != len(want)
            or not all(_is_real(x) and math.isfinite(float(x)) for x in b)
        ):
            raise _bad(f"{key}.bounds", _show(b), f"{len(want)} finite numbers {shape}")
        b = tuple(float(x) for x in b)
        object.__setattr__(self, "bounds", b)
        if self.dist in ("unif", "logunif", "triang", "truncnorm") and not b[0] < b[1]:
            raise _bad(f"{key}.bounds", list(b), f"{shape} with low < high")
        if self.dist == "logunif" and b[0] <= 0:
            raise _bad(f"{key}.bounds", list(b), f"{shape} with 0 < low < high")
        if self.dist == "triang" and not 0 <= b[2] < 1:
            raise _bad(f"{key}.bounds", list(b), f"{shape} with 0 <= peak < 1")
        if self.dist in ("norm", "lognorm", "truncnorm") and not b[-1] > 0:
            raise _bad(f"{key}.bounds", list(b), f"{shape} with sd > 0")
        if self.group is not None:
            _check_name(f"{key}.group", self.group)
        object.__setattr__(self, "integer", _check_bool(f"{key}.integer", self.integer))
        if self.integer:
            if self.dist != "unif":
                raise _bad(f"{key}.dist", self.dist, "unif for an integer factor")
            if not all(float(x).is_integer() for x in b):
                raise _bad(f"{key}.bounds", list(b), "integer [low, high] for an integer factor")

    @property
    def low(self) -> float:
        return self.bounds[0]

    @property
    def high(self) -> float:
        return self.bounds[1]


@dataclass(frozen=True)
class MorrisOptions:
    num_levels: int = 4
    trajectories: int | None = None  # None: n


@dataclass(frozen=True)
class EfastOptions:
    M: int = 4  # interference parameter (harmonics)


@dataclass(frozen=True)
class PawnOptions:
    S: int = 10  # conditioning slides


@dataclass(frozen=True)
class DgsmOptions:
    delta: float = 0.01  # finite-difference step, as a fraction of the factor's range


_OPTIONS = {
    "morris": MorrisOptions,
    "efast": EfastOptions,
    "pawn": PawnOptions,
    "dgsm": DgsmOptions,
}


@dataclass(frozen=True)
class SensitivityProblem:
    """A validated study declaration (see the module docstring for each field's meaning).

    ``n`` and ``replicates`` can be changed with :func:`dataclasses.replace`, which validates
    again.
    """

    factors: tuple[Factor, ...]
    outputs: tuple[str, ...]
    method: str = "sobol"
    n: int = 256
    replicates: int = 2
    seed: int = 12345
    second_order: bool = True
    confidence_level: float = 0.95
    num_resamples: int = 1000
    crn: bool | None = None
    groups: bool = False
    morris: MorrisOptions = field(default_factory=MorrisOptions)
    efast: EfastOptions = field(default_factory=EfastOptions)
    pawn: PawnOptions = field(default_factory=PawnOptions)
    dgsm: DgsmOptions = field(default_factory=DgsmOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise _bad("method", self.method, ", ".join(METHODS))
        factors = tuple(self.factors) if isinstance(self.factors, Sequence) else None
        if not factors or not all(isinstance(f, Factor) for f in factors):
            raise _bad("factors", _show(self.factors), "a non-empty mapping of factor name to spec")
        names = [f.name for f in factors]
        dup = next((x for x in names if names.count(x) > 1), None)
        if dup is not None:
            raise _bad("factors", dup, "each factor once")
        object.__setattr__(self, "factors", factors)
        outs = self.outputs
        if isinstance(outs, str) or not isinstance(outs, Sequence) or not outs:
            raise _bad("outputs", _show(outs), "a non-empty list of output (KPI) names")
        for o in outs:
            _check_name("outputs", o)
        if len(set(outs)) != len(outs):
            raise _bad("outputs", list(outs), "each output once")
        clash = sorted(set(outs) & set(names))
        if clash:
            raise _bad("outputs", clash[0], "names that are not also factor names")
        object.__setattr__(self, "outputs", tuple(outs))
        _check_int("n", self.n, 2)
        _check_int("replicates", self.replicates, 1, _MAX_REPLICATES)
        _check_int("seed", self.seed, 0, _SEED_LIMIT - 1)
        object.__setattr__(self, "second_order", _check_bool("second_order", self.second_order))
        cl = self.confidence_level
        if not _is_real(cl) or not 0 < float(cl) < 1:
            raise _bad("confidence_level", cl, "a number in (0, 1), e.g. 0.95")
        object.__setattr__(self, "confidence_level", float(cl))
        _check_int("num_resamples", self.num_resamples, 10)
        if self.crn is not None:
            object.__setattr__(self, "crn", _check_bool("crn", self.crn))
        object.__setattr__(self, "groups", _check_bool("groups", self.groups))
        for name, cls in _OPTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise _bad(name, getattr(self, name), f"{cls.__name__}")
        self._check_method_options()

    def _check_method_options(self) -> None:
        m = self.method
        if m == "morris":
            _check_int("morris.num_levels", self.morris.num_levels, 2)
            if self.morris.trajectories is not None:
                _check_int("morris.trajectories", self.morris.trajectories, 2)
            for f in self.factors:
                if f.dist in UNBOUNDED_DISTS:
                    raise _bad(
                        f"factors.{f.name}.dist",
                        f.dist,
                        "a bounded distribution with method morris (its grid levels 0 and 1 "
                        f"map to infinity under {f.dist}): unif, logunif, triang, truncnorm",
                    )
        elif m == "efast":
            M = _check_int("efast.M", self.efast.M, 1)
            if self.n <= 4 * M * M:
                raise _bad("n", self.n, f"n > 4·M² = {4 * M * M} with method efast (M={M})")
        elif m == "pawn":
            S = _check_int("pawn.S", self.pawn.S, 2)
            if self.base_n < 2 * S:
                raise _bad("n", self.n, f"n >= 2·pawn.S = {2 * S} with method pawn")
        elif m == "dgsm":
            d = self.dgsm.delta
            if not _is_real(d) or not 0 < float(d) <= 0.5:
                raise _bad("dgsm.delta", d, "a number in (0, 0.5] (a fraction of the range)")
            for f in self.factors:
                if f.dist != "unif":
                    raise _bad(
                        f"factors.{f.name}.dist",
                        f.dist,
                        "unif with method dgsm (its normalisation assumes uniform inputs)",
                    )
        if self.grouped and (
            len(set(self.group_names)) < 2 or all(f.group is None for f in self.factors)
        ):
            raise _bad(
                "groups",
                True,
                "true only when factors declare a group (factors.<name>.group) and there are "
                "at least 2 groups",
            )

    # derived quantities ---------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    @property
    def group_names(self) -> tuple[str, ...]:
        """The group of each factor (a factor without group is a group of its own)."""
        return tuple(f.group if f.group is not None else f.name for f in self.factors)

    @property
    def use_crn(self) -> bool:
        return CRN_DEFAULT[self.method] if self.crn is None else bool(self.crn)

    @property
    def grouped(self) -> bool:
        """Whether a grouped (second) design is run: ``groups: true`` with method sobol."""
        return self.groups and self.method == "sobol"

    @property
    def base_n(self) -> int:
        """The base sample size used: n rounded up to a power of two for the Sobol'-based
        designs, the number of trajectories for morris, n for efast."""
        if self.method in QMC_METHODS:
            return 1 << (int(self.n) - 1).bit_length()
        if self.method == "morris":
            return int(self.morris.trajectories or self.n)
        return int(self.n)

    def to_dict(self) -> dict[str, Any]:
        """The declaration in its YAML form (``problem_from_cfg(p.to_dict()) == p``)."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in TOP_KEYS
            if k not in ("factors", "outputs", *tuple(_OPTIONS))
        }
        for k in _OPTIONS:
            out[k] = dataclasses.asdict(getattr(self, k))
        out["factors"] = {
            f.name: {
                "bounds": [int(x) if f.integer else x for x in f.bounds],
                "group": f.group,
                "integer": f.integer,
                "dist": f.dist,
            }
            for f in self.factors
        }
        out["outputs"] = list(self.outputs)
        return out


def _show(v: Any) -> Any:
    """A value as it appears in an error message (containers as plain lists/dicts)."""
    v = _plain(v)
    return list(v) if isinstance(v, tuple) else v


def _plain(cfg: Any) -> Any:
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(cfg, DictConfig | ListConfig):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return cfg


def problem_from_cfg(cfg: Mapping[str, Any]) -> SensitivityProblem:
    """A validated :class:`SensitivityProblem` from the ``sensitivity`` node of the
    configuration (a mapping or DictConfig); a whole composed configuration is accepted too
    (its ``sensitivity`` node is used).  Unknown keys and bad values raise a one-line
    ``ValueError`` naming the key, the value and what is allowed.  Missing keys take the
    defaults of :class:`SensitivityProblem`, except ``factors`` and ``outputs`` (required)."""
    data = _plain(cfg)
    if not isinstance(data, Mapping):
        raise _bad("", data, "a mapping (the sensitivity section of the configuration)")
    if "factors" not in data and isinstance(data.get("sensitivity"), Mapping):
        data = data["sensitivity"]
    for k in data:
        if k not in TOP_KEYS:
            raise ValueError(f"unknown key sensitivity.{k}: allowed {', '.join(TOP_KEYS)}")
    for k in ("factors", "outputs"):
        if data.get(k) is None:
            raise _bad(k, None, "a value (required)")
    raw = data["factors"]
    if not isinstance(raw, Mapping) or not raw:
        raise _bad("factors", _show(raw), "a non-empty mapping of factor name to {bounds, ...}")
    factors = []
    for name, spec in raw.items():
        _check_name("factors", name)
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            spec = {"bounds": spec}  # shorthand: name: [low, high]
        if not isinstance(spec, Mapping):
            raise _bad(f"factors.{name}", spec, "a mapping with keys " + ", ".join(FACTOR_KEYS))
        for k in spec:
            if k not in FACTOR_KEYS:
                raise ValueError(
                    f"unknown key sensitivity.factors.{name}.{k}: allowed {', '.join(FACTOR_KEYS)}"
                )
        if "bounds" not in spec:
            raise _bad(f"factors.{name}.bounds", None, "a value (required)")
        factors.append(
            Factor(
                name=name,
                bounds=spec["bounds"],
                group=spec.get("group"),
                integer=False if spec.get("integer") is None else spec["integer"],
                dist=spec.get("dist") or "unif",
            )
        )
    outputs = data["outputs"]
    if isinstance(outputs, str):
        outputs = [outputs]
    if not isinstance(outputs, Sequence):
        raise _bad("outputs", outputs, "a non-empty list of output (KPI) names")
    kwargs: dict[str, Any] = {}
    for k in TOP_KEYS:
        if k in ("factors", "outputs") or k not in data:
            continue
        v = data[k]
        if k in _OPTIONS:
            cls = _OPTIONS[k]
            if v is None:
                continue
            if not isinstance(v, Mapping):
                raise _bad(k, v, "a mapping with keys " + ", ".join(cls.__dataclass_fields__))
            allowed = tuple(cls.__dataclass_fields__)
            for kk in v:
                if kk not in allowed:
                    raise ValueError(
                        f"unknown key sensitivity.{k}.{kk}: allowed {', '.join(allowed)}"
                    )
            v = cls(**{str(kk): vv for kk, vv in v.items()})
        elif v is None and k != "crn":
            raise _bad(k, None, "a value (omit the key for the default)")
        kwargs[k] = v
    return SensitivityProblem(factors=tuple(factors), outputs=tuple(outputs), **kwargs)


def load_problem(path: str | os.PathLike[str]) -> SensitivityProblem:
    """Read a declaration from a YAML file (e.g. ``configs/sensitivity/ishigami.yaml``).

    A ``defaults`` list naming sibling files (and ``_self_``) is merged as Hydra would, so
    ``smoke.yaml`` (``defaults: [default, _self_]``) reads the same with or without Hydra."""
    return problem_from_cfg(_load_yaml(Path(path), ()))


def _load_yaml(path: Path, seen: tuple[Path, ...]) -> Any:
    from omegaconf import OmegaConf

    if path in seen:
        raise ValueError(f"{path.name}: the defaults lists include each other")
    cfg = OmegaConf.load(path)
    defaults = cfg.pop("defaults", None)
    if not defaults:
        return cfg
    parts = []
    for entry in defaults:
        if entry == "_self_":
            parts.append(cfg)
        elif isinstance(entry, str) and _NAME_RE.match(entry):
            parts.append(_load_yaml(path.with_name(f"{entry}.yaml"), (*seen, path)))
        else:
            raise ValueError(
                f"{path.name}: defaults entry {entry!r} is invalid: allowed names of files in "
                "the same folder and _self_"
            )
    if "_self_" not in defaults:
        parts.append(cfg)  # Hydra's default: the file itself last
    return OmegaConf.merge(*parts)


def salib_problem(decl: SensitivityProblem, *, grouped: bool = False) -> dict[str, Any]:
    """The SALib problem dict derived from the declaration: ``num_vars``, ``names``,
    ``bounds``, ``outputs``, ``dists`` (only when a factor is not uniform) and ``groups`` (only
    with ``grouped=True``: a problem with groups makes SALib's samplers build a grouped
    design).  Integer factors get [low - 0.5, high + 0.5] (rounded when applied)."""
    bounds = [[f.low - 0.5, f.high + 0.5] if f.integer else list(f.bounds) for f in decl.factors]
    problem: dict[str, Any] = {
        "num_vars": len(decl.factors),
        "names": list(decl.names),
        "bounds": bounds,
        "outputs": list(decl.outputs),
    }
    if any(f.dist != "unif" for f in decl.factors):
        problem["dists"] = [f.dist for f in decl.factors]
    if grouped:
        problem["groups"] = list(decl.group_names)
    return problem


# --------------------------------------------------------------------------------------------
# Seeds and designs
# --------------------------------------------------------------------------------------------
def _seed(root: int, *path: int) -> int:
    """``int(SeedSequence(root).spawn(.)[path[0]].spawn(.)[path[1]]....generate_state(1)[0])``:
    a spawned child's state depends only on the root entropy and its spawn key, so the child
    is built from its key directly."""
    return int(
        np.random.SeedSequence(root, spawn_key=tuple(int(p) for p in path)).generate_state(1)[0]
    )


@dataclass(frozen=True)
class Design:
    """One sampled design: ``X`` as sampled (the SALib design), ``values`` as applied to the
    model (integer factors rounded), ``seeds[row, replicate]``; ``block`` rows per base point
    (the prefix of ``k·block`` rows is the design of base size ``k``; 0 if not nested)."""

    name: str  # "factor" | "group"
    problem: dict[str, Any]
    X: np.ndarray
    values: np.ndarray
    seeds: np.ndarray
    base_n: int
    block: int


def _apply_integers(decl: SensitivityProblem, X: np.ndarray) -> np.ndarray:
    values = np.array(X, dtype=float, copy=True)
    for j, f in enumerate(decl.factors):
        if f.integer:
            values[:, j] = np.clip(np.floor(values[:, j] + 0.5), f.low, f.high)
    return values


def _sobol_points(decl: SensitivityProblem, problem: dict[str, Any], n: int, seed: int):
    from SALib.util import scale_samples
    from scipy.stats import qmc

    u = qmc.Sobol(d=len(decl.factors), scramble=True, seed=seed).random(n)
    return scale_samples(u, dict(problem))


def _dgsm_design(decl: SensitivityProblem, problem: dict[str, Any], n: int, seed: int):
    """Base points on scrambled Sobol' points; after each, one copy per factor stepped by
    delta x range (one unit for integers), backwards when the step would leave the bounds."""
    base = _apply_integers(decl, _sobol_points(decl, problem, n, seed))
    D = len(decl.factors)
    X = np.repeat(base, D + 1, axis=0)
    for j, f in enumerate(decl.factors):
        h = 1.0 if f.integer else decl.dgsm.delta * (f.high - f.low)
        rows = np.arange(n) * (D + 1) + 1 + j
        up = base[:, j] + h
        X[rows, j] = np.where(up <= f.high, up, base[:, j] - h)
    return X


def sample_design(decl: SensitivityProblem, *, grouped: bool = False) -> Design:
    """The design of the study (``grouped=True``: the grouped Sobol' design), with seeds."""
    from SALib.sample import fast_sampler, morris
    from SALib.sample import sobol as sobol_sample

    problem = salib_problem(decl, grouped=grouped)
    s = _seed(decl.seed, _SAMPLING)
    N = decl.base_n
    D = len(decl.factors)
    m = decl.method
    if m == "sobol":
        k = len(set(decl.group_names)) if grouped else D
        X = sobol_sample.sample(
            dict(problem), N, calc_second_order=decl.second_order, scramble=True, seed=s
        )
        block = (2 * k + 2) if decl.second_order else (k + 2)
    elif m == "morris":
        X = morris.sample(dict(problem), N, num_levels=decl.morris.num_levels, seed=s)
        block = D + 1
    elif m == "efast":
        X = fast_sampler.sample(dict(problem), N, M=decl.efast.M, seed=s)
        block = 0
    elif m == "pawn":
        X = _sobol_points(decl, problem, N, s)
        block = 1
    else:  # dgsm
        X = _dgsm_design(decl, problem, N, s)
        block = D + 1
    X = np.asarray(X, dtype=float)
    values = _apply_integers(decl, X)
    d = _DESIGNS.index("group" if grouped else "factor")
    R = decl.replicates
    if decl.use_crn:
        row_seeds = np.array([_seed(decl.seed, _CRN, r) for r in range(R)], dtype=np.int64)
        seeds = np.broadcast_to(row_seeds, (len(X), R)).copy()
    else:
        seeds = np.array(
            [[_seed(decl.seed, _RUNS, d, i, r) for r in range(R)] for i in range(len(X))],
            dtype=np.int64,
        ).reshape(len(X), R)
    return Design(
        name=_DESIGNS[d], problem=problem, X=X, values=values, seeds=seeds, base_n=N, block=block
    )


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------
def _fn_fingerprint(fn: Any) -> str:
    """A stable id of the model function, part of every run key (so that a store reused with
    another model, or another model configuration, does not serve stale runs)."""
    import functools

    target = fn.func if isinstance(fn, functools.partial) else fn
    name = target if hasattr(target, "__qualname__") else type(target)
    ident: dict[str, Any] = {"fn": f"{name.__module__}.{name.__qualname__}"}
    try:
        if dataclasses.is_dataclass(fn) and not isinstance(fn, type):
            ident["state"] = fn
        elif isinstance(fn, functools.partial):
            ident["args"] = list(fn.args)
            ident["keywords"] = dict(fn.keywords)
        return task_key(ident, 0)
    except TypeError:
        warnings.warn(
            f"cannot fingerprint the state of the model function {ident['fn']}: run keys use "
            "its name only, so reuse an out_dir only with the same model configuration",
            stacklevel=3,
        )
        return task_key({"fn": ident["fn"]}, 0)


def _params(decl: SensitivityProblem, row: np.ndarray) -> dict[str, float]:
    return {
        f.name: (int(v) if f.integer else float(v)) for f, v in zip(decl.factors, row, strict=True)
    }


def _tasks(decl: SensitivityProblem, design: Design, fp: str) -> tuple[list[Task], np.ndarray]:
    """Tasks of a design and the key of each (row, replicate)."""
    tasks = []
    keys = np.empty(design.seeds.shape, dtype=object)
    for i, row in enumerate(design.values):
        params = _params(decl, row)
        for r in range(decl.replicates):
            seed = int(design.seeds[i, r])
            key = task_key({"model": fp, "params": params}, seed)
            keys[i, r] = key
            tasks.append(Task(params, seed, key, {"design": design.name, "row": i, "replicate": r}))
    return tasks, keys


def _collect(
    decl: SensitivityProblem, store: RunStore, keys_by_design: list[np.ndarray]
) -> list[np.ndarray]:
    """Outputs of every (row, replicate) of each design from the store: arrays (rows, R, O)."""
    df = store.kpis()
    all_keys = pd.unique(np.concatenate([k.ravel() for k in keys_by_design]))
    present = df[df["key"].isin(all_keys)].set_index("key")
    missing = [k for k in all_keys if k not in present.index]
    if missing:
        fails = store.failures()
        fails = fails[fails["key"].isin(missing)]
        first = fails["error"].iloc[0] if len(fails) else "not run"
        raise SensitivityRunsFailed(
            f"{len(missing)} of {len(all_keys)} model runs of the study failed or are missing "
            f"(first error: {first}); rerun with the same out_dir to retry them (finished "
            "runs are kept)"
        )
    lacking = [o for o in decl.outputs if o not in present.columns]
    if lacking:
        got = [c for c in present.columns if c not in ("seed", "design", "row", "replicate")]
        raise ValueError(
            f"invalid sensitivity.outputs entry {lacking[0]!r}: allowed an output the model "
            f"returns ({', '.join(got)})"
        )
    table = present[list(decl.outputs)]
    out = []
    for keys in keys_by_design:
        Y = table.loc[keys.ravel()].to_numpy(dtype=float)
        out.append(Y.reshape(*keys.shape, len(decl.outputs)))
    return out


# --------------------------------------------------------------------------------------------
# Analyses
# --------------------------------------------------------------------------------------------
class _Notes:
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


def _pawn_stats(X: np.ndarray, y: np.ndarray, S: int, median_only: bool = False) -> np.ndarray:
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


def _analyze(
    decl: SensitivityProblem,
    design: Design,
    Y: np.ndarray,
    k: int,
    notes: _Notes,
) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Indices of one output from the first ``k`` base points of ``design``: ``{index:
    (labels, values, confs)}`` (conf NaN where the method gives none)."""
    from SALib.analyze import dgsm, fast, morris, sobol

    problem = dict(design.problem)
    rows = k * design.block if design.block else len(Y)
    X, y = design.X[:rows], Y[:rows]
    bseed = _seed(decl.seed, _BOOTSTRAP) + 1  # SALib ignores a seed of 0
    cl, B = decl.confidence_level, decl.num_resamples
    names = list(decl.names)
    nan = np.full(len(names), np.nan)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = decl.method
        if m == "sobol":
            from SALib.util import extract_group_names

            labels = list(extract_group_names(problem)[0]) if design.name == "group" else names
            si = sobol.analyze(
                problem,
                y,
                calc_second_order=decl.second_order,
                num_resamples=B,
                conf_level=cl,
                seed=bseed,
            )
            out = {
                "S1": (labels, np.asarray(si["S1"]), np.asarray(si["S1_conf"])),
                "ST": (labels, np.asarray(si["ST"]), np.asarray(si["ST_conf"])),
            }
            if decl.second_order:
                pl, pv, pc = [], [], []
                for a in range(len(labels)):
                    for b in range(a + 1, len(labels)):
                        pl.append(f"{labels[a]},{labels[b]}")
                        pv.append(si["S2"][a, b])
                        pc.append(si["S2_conf"][a, b])
                out["S2"] = (pl, np.asarray(pv, float), np.asarray(pc, float))
        elif m == "morris":
            si = morris.analyze(
                problem,
                X,
                y,
                num_resamples=B,
                conf_level=cl,
                num_levels=decl.morris.num_levels,
                seed=bseed,
            )
            out = {
                "mu_star": (
                    names,
                    np.asarray(si["mu_star"], float),
                    np.asarray(si["mu_star_conf"], float),
                ),
                "mu": (names, np.asarray(si["mu"], float), nan),
                "sigma": (names, np.asarray(si["sigma"], float), nan),
            }
        elif m == "efast":
            with _GlobalRandomState():
                si = fast.analyze(
                    problem, y, M=decl.efast.M, num_resamples=B, conf_level=cl, seed=bseed
                )
            out = {
                "S1": (names, np.asarray(si["S1"], float), np.asarray(si["S1_conf"], float)),
                "ST": (names, np.asarray(si["ST"], float), np.asarray(si["ST_conf"], float)),
            }
        elif m == "pawn":
            stats = _pawn_stats(X, y, decl.pawn.S)
            rng = np.random.default_rng(bseed)
            boot = np.empty((B, len(names)))
            for b in range(B):
                idx = rng.integers(len(y), size=len(y))
                boot[b] = _pawn_stats(X[idx], y[idx], decl.pawn.S, median_only=True)[:, 0]
            conf = _z(cl) * np.nanstd(boot, axis=0, ddof=1)
            out = {
                "pawn_median": (names, stats[:, 2], conf),
                "pawn_mean": (names, stats[:, 1], nan),
                "pawn_min": (names, stats[:, 0], nan),
                "pawn_max": (names, stats[:, 3], nan),
                "pawn_cv": (names, stats[:, 4], nan),
            }
        else:  # dgsm
            with _GlobalRandomState():
                si = dgsm.analyze(problem, X, y, num_resamples=10, conf_level=cl, seed=bseed)
            conf = _dgsm_conf(problem, X, y, B, cl, bseed)
            out = {
                "dgsm": (names, np.asarray(si["dgsm"], float), conf),
                "vi": (names, np.asarray(si["vi"], float), nan),
                "vi_std": (names, np.asarray(si["vi_std"], float), nan),
            }
    notes.absorb(caught)
    return out


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


def _rows(
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


def _convergence_sizes(decl: SensitivityProblem, design: Design) -> list[int]:
    if not design.block:
        return []
    N = design.base_n
    lowest = 2 * decl.pawn.S if decl.method == "pawn" else 2
    sizes = sorted({k for k in (N // 4, N // 2, N) if k >= lowest})
    return sizes if len(sizes) > 1 else []


def _noise_share(decl: SensitivityProblem, Yr: np.ndarray) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------
def _short_labels(names: Sequence[str]) -> dict[str, str]:
    """Last part of dotted names when those are unique (``firm.support.human`` → human)."""
    short = {n: n.rsplit(".", 1)[-1] for n in names}
    if len(set(short.values())) < len(short):
        return {n: n for n in names}
    return short


def _fmt(v: float, method: str) -> str:
    if not math.isfinite(v):
        return "nan"
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


def _summary(
    decl: SensitivityProblem,
    indices: pd.DataFrame,
    conv: pd.DataFrame | None,
    noise: pd.DataFrame,
    designs: Sequence[Design],
    notes: _Notes,
    seconds: float,
) -> str:
    labels = _short_labels(decl.names)
    main = MAIN_INDEX[decl.method]
    n_runs = sum(len(d.X) * decl.replicates for d in designs)
    L = [f"# Sensitivity study ({decl.method})", ""]
    L.append(f"- factors ({len(decl.factors)}): " + ", ".join(decl.names))
    L.append("- outputs: " + ", ".join(decl.outputs))
    size = {
        "sobol": "base sample size N",
        "pawn": "sample size N",
        "dgsm": "base points N",
        "morris": "trajectories",
        "efast": "points per search curve N",
    }[decl.method]
    line = f"- {size} = {designs[0].base_n}"
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
    L += ["", f"## Ranking of the factors by {main}", ""]
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
    if decl.grouped:
        L += ["", f"## Groups (closed indices, by {main})", ""]
        glab = {g: g for g in decl.group_names}
        for o in decl.outputs:
            d = indices[(indices["output"] == o) & (indices["level"] == "group")]
            L.append(f"- {o}: {_ranking(decl, d, main, glab)[1]}")
    L += ["", "## Replicate noise", ""]
    if decl.replicates < 2:
        L.append("- not measured: replicates = 1 (noise cannot be told apart from the factors)")
    else:
        for r in noise.itertuples():
            L.append(
                f"- {r.output}: noise share {r.noise_share:.3g} (mean within-row variance "
                f"{r.within_var:.4g} / variance of the row means {r.between_var:.4g})"
            )
    L += ["", "## Convergence", ""]
    if conv is None or conv.empty:
        L.append(f"- not available for {decl.method} (its design is not nested) or N too small")
    else:
        for o in decl.outputs:
            s = _stability(decl, conv, o, labels)
            if s:
                L.append(s)
    if notes.lines:
        L += ["", "## Notes", ""]
        L += [f"- {x}" for x in notes.lines]
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".tmp-{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _save_figure(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # render with Agg whatever the session's backend
    _atomic(path, lambda p: fig.savefig(p, format="png", dpi=120))


def _write_figures(
    decl: SensitivityProblem, out_dir: Path, indices: pd.DataFrame, conv: pd.DataFrame | None
) -> list[str]:
    from analysis import sensitivity_plots as sp

    labels = _short_labels(decl.names)
    written = []

    def save(fig, name):
        _save_figure(fig, out_dir / name)
        written.append(name)

    for o in decl.outputs:
        save(sp.indices_plot(indices, o, level="factor", labels=labels), f"indices_{o}.png")
        if decl.grouped:
            save(sp.indices_plot(indices, o, level="group"), f"groups_{o}.png")
        if decl.method == "sobol" and decl.second_order and len(decl.factors) > 1:
            save(sp.s2_heatmap(indices, o, level="factor", labels=labels), f"s2_{o}.png")
        if decl.method == "morris":
            save(sp.morris_plot(indices, o, labels=labels), f"morris_{o}.png")
    if conv is not None and not conv.empty:
        save(
            sp.convergence_plot(conv, index=MAIN_INDEX[decl.method], labels=labels),
            "convergence.png",
        )
    return written


# --------------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensitivityResult:
    """Tables of a finished study (also written to ``out_dir``).  ``batches``: the executor's
    counts for each design (runs skipped because the store had them, done, failed)."""

    indices: pd.DataFrame
    convergence: pd.DataFrame | None
    noise_share: pd.DataFrame
    out_dir: Path
    summary: str
    batches: tuple[BatchSummary, ...] = ()


def _as_problem(problem: Any) -> SensitivityProblem:
    if isinstance(problem, SensitivityProblem):
        return problem
    return problem_from_cfg(problem)


def run_sensitivity(
    problem: SensitivityProblem | Mapping[str, Any],
    model_fn: Callable[[dict[str, float], int], Mapping[str, float]],
    *,
    out_dir: str | os.PathLike[str],
    executor: ExecutorConfig = _DEFAULT_EXECUTOR,
    store: RunStore | None = None,
    progress: bool | None = None,
) -> SensitivityResult:
    """Run the study declared by ``problem`` (a :class:`SensitivityProblem` or its mapping /
    DictConfig form) on ``model_fn(params, seed) -> {output: value}`` (picklable; ``params``
    maps factor names to values) and write the results to ``out_dir``.

    Runs go to ``store`` (default ``RunStore(out_dir / "store")``); rerunning with the same
    ``out_dir`` skips finished runs.  Sample size and replicates come from the problem only
    (``dataclasses.replace(problem, n=..., replicates=...)``).  Raises
    :class:`SensitivityRunsFailed` if some runs failed (after running all the others).
    """
    decl = _as_problem(problem)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if decl.method in QMC_METHODS and decl.base_n != decl.n:
        warnings.warn(
            f"sensitivity.n={decl.n} is not a power of two: using N={decl.base_n} "
            f"(the {decl.method} design is built on Sobol' points)",
            UserWarning,
            stacklevel=2,
        )
    if store is None:
        store = RunStore(out_dir / "store")
    designs = [sample_design(decl)]
    if decl.grouped:
        designs.append(sample_design(decl, grouped=True))
    fp = _fn_fingerprint(model_fn)
    task_lists, keys = zip(*(_tasks(decl, d, fp) for d in designs), strict=True)
    batches = []
    for d, tasks in zip(designs, task_lists, strict=True):
        batches.append(
            run_tasks(
                model_fn,
                tasks,
                store=store,
                executor=executor,
                progress=progress,
                desc=f"sensitivity {decl.method} ({d.name}s)",
            )
        )
    Yr = _collect(decl, store, list(keys))

    notes = _Notes()
    rows: list[dict[str, Any]] = []
    conv_rows: list[dict[str, Any]] = []
    for d, Yd in zip(designs, Yr, strict=True):
        Ym = Yd.mean(axis=1)
        sizes = _convergence_sizes(decl, d)
        for j, o in enumerate(decl.outputs):
            res = _analyze(decl, d, Ym[:, j], d.base_n, notes)
            rows += _rows(decl, o, res, d.base_n, d.name)
            for k in sizes:
                r = res if k == d.base_n else _analyze(decl, d, Ym[:, j], k, notes)
                conv_rows += [x for x in _rows(decl, o, r, k, d.name) if x["index"] != "S2"]
    indices = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    conv = pd.DataFrame(conv_rows, columns=list(INDEX_COLUMNS)) if conv_rows else None
    noise = _noise_share(decl, Yr[0])
    if any(np.isnan(Y).any() for Y in Yr):
        notes.add("Some model outputs are NaN: the indices of those outputs are NaN.")

    _write_tables(decl, out_dir, designs, Yr, keys, indices, conv, noise, fp, batches)
    figures = _write_figures(decl, out_dir, indices, conv)
    summary = _summary(decl, indices, conv, noise, designs, notes, time.perf_counter() - t0)
    _atomic(out_dir / "summary.md", lambda p: p.write_text(summary, encoding="utf-8"))
    _write_study(decl, out_dir, designs, fp, batches, figures)
    return SensitivityResult(indices, conv, noise, out_dir, summary, tuple(batches))


def _write_tables(decl, out_dir, designs, Yr, keys, indices, conv, noise, fp, batches) -> None:
    _atomic(out_dir / "indices.csv", lambda p: indices.to_csv(p, index=False))
    _atomic(out_dir / "indices.parquet", lambda p: indices.to_parquet(p, index=False))
    conv_df = conv if conv is not None else pd.DataFrame(columns=list(INDEX_COLUMNS))
    _atomic(out_dir / "convergence.csv", lambda p: conv_df.to_csv(p, index=False))
    _atomic(out_dir / "noise_share.csv", lambda p: noise.to_csv(p, index=False))
    parts = []
    for d, Y, k in zip(designs, Yr, keys, strict=True):
        rows, R = d.seeds.shape
        frame = pd.DataFrame(
            {
                "design": d.name,
                "row": np.repeat(np.arange(rows), R),
                "replicate": np.tile(np.arange(R), rows),
                "seed": d.seeds.ravel(),
                "key": k.ravel(),
            }
        )
        vals = np.repeat(d.values, R, axis=0)
        for j, f in enumerate(decl.factors):
            frame[f.name] = vals[:, j].astype(int) if f.integer else vals[:, j]
        for j, o in enumerate(decl.outputs):
            frame[o] = Y[:, :, j].ravel()
        parts.append(frame)
    samples = pd.concat(parts, ignore_index=True)
    _atomic(out_dir / "samples.csv", lambda p: samples.to_csv(p, index=False))


def _write_study(decl, out_dir, designs, fp, batches, figures) -> None:
    from importlib import metadata

    try:
        salib_version = metadata.version("SALib")
    except metadata.PackageNotFoundError:  # pragma: no cover
        salib_version = None
    info = {
        "declaration": decl.to_dict(),
        "base_n": decl.base_n,
        "crn": decl.use_crn,
        "model": fp,
        "designs": [
            {
                "name": d.name,
                "rows": len(d.X),
                "runs": len(d.X) * decl.replicates,
                "salib_problem": d.problem,
            }
            for d in designs
        ],
        "batches": [dataclasses.asdict(b) for b in batches],
        "figures": figures,
        "versions": {"SALib": salib_version, "numpy": np.__version__},
    }
    text = json.dumps(info, indent=2, default=_json_default)
    _atomic(out_dir / "study.json", lambda p: p.write_text(text + "\n", encoding="utf-8"))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
