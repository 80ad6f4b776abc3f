"""The declaration of a sensitivity study: factors, outputs, method and options as one frozen,
validated :class:`SensitivityProblem`, read from the ``sensitivity`` configuration, and the
SALib problem dict derived from it (bounds are never restated elsewhere)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.batch import plain

METHODS = ("sobol", "morris", "efast", "pawn", "dgsm")


QMC_METHODS = ("sobol", "pawn", "dgsm")  # designs built on Sobol' points: n a power of two


CRN_DEFAULT = {"sobol": False, "efast": False, "pawn": False, "morris": True, "dgsm": True}


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
    v = plain(v)
    return list(v) if isinstance(v, tuple) else v


def problem_from_cfg(cfg: Mapping[str, Any]) -> SensitivityProblem:
    """A validated :class:`SensitivityProblem` from the ``sensitivity`` node of the
    configuration (a mapping or DictConfig); a whole composed configuration is accepted too
    (its ``sensitivity`` node is used).  Unknown keys and bad values raise a one-line
    ``ValueError`` naming the key, the value and what is allowed.  Missing keys take the
    defaults of :class:`SensitivityProblem`, except ``factors`` and ``outputs`` (required)."""
    data = plain(cfg)
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
    factors = [_factor_from(name, spec) for name, spec in _flat_factors(raw).items()]
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
            if v is None:
                continue
            v = _options_from(k, v)
        elif v is None and k != "crn":
            raise _bad(k, None, "a value (omit the key for the default)")
        kwargs[k] = v
    return SensitivityProblem(factors=tuple(factors), outputs=tuple(outputs), **kwargs)


def _flat_factors(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The factor entries with dotted names, whatever the nesting.

    Hydra splits a dotted command-line key into nested keys: ``+sensitivity.factors.firm.
    price.bounds=[30,60]`` arrives as ``{firm: {price: {bounds: [30, 60]}}}``. A mapping
    without any of :data:`FACTOR_KEYS` is such a level: it is walked down to the mappings
    that hold the factor keys (a level holds only mappings), and their names are joined with
    dots. A nested entry for a
    factor that is also declared flat is merged into it (its keys win), in the flat
    factor's place."""
    out: dict[str, Any] = {}
    for key, spec in raw.items():
        name = f"{prefix}.{key}" if prefix else key
        if (
            isinstance(spec, Mapping)
            and spec
            and not set(spec) & set(FACTOR_KEYS)
            and all(isinstance(v, Mapping) for v in spec.values())
        ):
            entries = _flat_factors(spec, str(name)).items()
        else:
            entries = [(name, spec)]
        for n, sp in entries:
            out[n] = _merge_spec(out[n], sp) if n in out else sp
    return out


def _merge_spec(old: Any, new: Any) -> Any:
    """Two entries of one factor: ``new``'s keys over ``old``'s (a list is its bounds)."""

    def as_map(v: Any) -> Any:
        return {"bounds": v} if isinstance(v, Sequence) and not isinstance(v, str) else v

    old, new = as_map(old), as_map(new)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return {**old, **new}
    return new


def _factor_from(name: Any, spec: Any) -> Factor:
    """One :class:`Factor` from its entry ``name: spec`` (``spec`` may be just the bounds)."""
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
    return Factor(
        name=name,
        bounds=spec["bounds"],
        group=spec.get("group"),
        integer=False if spec.get("integer") is None else spec["integer"],
        dist=spec.get("dist") or "unif",
    )


def _options_from(key: str, v: Any) -> Any:
    """The options of one method (``morris``, ``efast``, ``pawn``, ``dgsm``) from a mapping."""
    cls = _OPTIONS[key]
    if not isinstance(v, Mapping):
        raise _bad(key, v, "a mapping with keys " + ", ".join(cls.__dataclass_fields__))
    allowed = tuple(cls.__dataclass_fields__)
    for kk in v:
        if kk not in allowed:
            raise ValueError(f"unknown key sensitivity.{key}.{kk}: allowed {', '.join(allowed)}")
    return cls(**{str(kk): vv for kk, vv in v.items()})


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
