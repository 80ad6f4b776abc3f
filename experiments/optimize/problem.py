"""The declaration of an optimisation study: decision variables, objectives, the budget
constraint, the uncertainty to be robust against, the robustness measure and the search and
re-evaluation settings, as one frozen, validated :class:`OptimizeProblem` read from the
``optimize`` configuration (``configs/optimize/*.yaml``); bad values raise a one-line
``ValueError`` naming the key, the value and what is allowed."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.batch import plain
from experiments.sensitivity.problem import _load_yaml  # the same defaults-list merge as Hydra

DIRECTIONS = ("maximize", "minimize")
MEASURES = ("mean", "quantile", "worst", "regret")
SAMPLERS = ("auto", "tpe", "nsga2", "random")
TOP_KEYS = (
    "variables",
    "objectives",
    "constraints",
    "uncertainty",
    "robustness",
    "search",
    "reevaluate",
    "baseline",
    "seed",
)
_SECTIONS = {
    "constraints": ("budget",),
    "uncertainty": ("seeds", "scenarios"),
    "robustness": ("measure", "quantile"),
    "search": ("sampler", "n_trials", "batch", "population", "storage"),
    "reevaluate": ("top", "seeds", "confirm_seeds", "level"),
}
_SEED_LIMIT = 2**63


def _bad(key: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"invalid optimize.{key}={_show(value)!r}: allowed {allowed}")


def _show(v: Any) -> Any:
    v = plain(v)
    return list(v) if isinstance(v, tuple) else v


def _is_real(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def _int(key: str, v: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        raise _bad(key, v, f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]")
    return int(v)


@dataclass(frozen=True)
class Variable:
    """A decision variable: a dotted parameter key with [low, high] bounds (integer if flagged)."""

    name: str
    low: float
    high: float
    integer: bool = False


@dataclass(frozen=True)
class Objective:
    """A run-level KPI to optimise, with its direction."""

    kpi: str
    direction: str = "maximize"

    @property
    def sign(self) -> float:
        """+1 when larger is better, -1 when smaller is better."""
        return 1.0 if self.direction == "maximize" else -1.0


@dataclass(frozen=True)
class OptimizeProblem:
    """A validated study declaration (``configs/optimize/default.yaml`` documents each key).

    ``budget``: ``None`` (no budget constraint), ``"baseline"`` (the baseline policy's own
    weekly cost) or a number (cu per week per 1,000 market customers).  ``baseline``: the
    reference policy's variable values (missing ones: the base configuration's values)."""

    variables: tuple[Variable, ...]
    objectives: tuple[Objective, ...]
    budget: float | str | None = "baseline"
    seeds: int = 4
    scenarios: tuple[str, ...] = ("baseline",)
    measure: str = "mean"
    quantile: float = 0.1
    sampler: str = "auto"
    n_trials: int = 60
    batch: int = 8
    population: int = 24
    storage: str | None = None
    top: int = 5
    reeval_seeds: int = 16
    confirm_seeds: int = 32
    level: float = 0.95
    baseline: Mapping[str, float] = field(default_factory=dict)
    seed: int = 2024

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def kpis(self) -> tuple[str, ...]:
        return tuple(o.kpi for o in self.objectives)

    @property
    def primary(self) -> Objective:
        """The headline objective (the first listed): it picks the recommendation."""
        return self.objectives[0]

    @property
    def sampler_name(self) -> str:
        if self.sampler != "auto":
            return self.sampler
        return "tpe" if len(self.objectives) == 1 else "nsga2"

    def to_dict(self) -> dict[str, Any]:
        """The declaration in its YAML form (``problem_from_cfg(p.to_dict()) == p``)."""
        return {
            "variables": {
                v.name: {
                    "bounds": [int(v.low), int(v.high)] if v.integer else [v.low, v.high],
                    "integer": v.integer,
                }
                for v in self.variables
            },
            "objectives": {o.kpi: o.direction for o in self.objectives},
            "constraints": {"budget": self.budget},
            "uncertainty": {"seeds": self.seeds, "scenarios": list(self.scenarios)},
            "robustness": {"measure": self.measure, "quantile": self.quantile},
            "search": {
                "sampler": self.sampler,
                "n_trials": self.n_trials,
                "batch": self.batch,
                "population": self.population,
                "storage": self.storage,
            },
            "reevaluate": {
                "top": self.top,
                "seeds": self.reeval_seeds,
                "confirm_seeds": self.confirm_seeds,
                "level": self.level,
            },
            "baseline": dict(self.baseline),
            "seed": self.seed,
        }


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys from nested mappings too: a command-line override such as
    ``+optimize.variables.firm.support.human.bounds=[0,0.8]`` arrives nested, and updates the
    variable declared as ``firm.support.human``."""
    out: dict[str, Any] = {}
    for name, spec in raw.items():
        key = f"{prefix}{name}"
        if isinstance(spec, Mapping) and spec and not set(spec) & {"bounds", "integer"}:
            for k, v in _flatten(spec, key + ".").items():
                out[k] = (
                    {**out[k], **v}
                    if isinstance(out.get(k), Mapping) and isinstance(v, Mapping)
                    else v
                )
        elif isinstance(out.get(key), Mapping) and isinstance(spec, Mapping):
            out[key] = {**out[key], **spec}
        else:
            out[key] = spec
    return out


def _variables(raw: Any) -> tuple[Variable, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise _bad("variables", raw, "a non-empty mapping of dotted key to {bounds: [low, high]}")
    out = []
    for name, spec in _flatten(raw).items():
        key = f"variables.{name}"
        if spec is None:
            continue  # `key: null` removes a variable inherited from a default
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            spec = {"bounds": spec}
        if not isinstance(spec, Mapping):
            raise _bad(key, spec, "a mapping with keys bounds, integer")
        unknown = [k for k in spec if k not in ("bounds", "integer")]
        if unknown:
            raise ValueError(f"unknown key optimize.{key}.{unknown[0]}: allowed bounds, integer")
        b, integer = _show(spec.get("bounds")), spec.get("integer", False)
        if not isinstance(integer, bool):
            raise _bad(f"{key}.integer", integer, "true or false")
        if (
            not isinstance(b, list)
            or len(b) != 2
            or not all(_is_real(x) for x in b)
            or not b[0] < b[1]
        ):
            raise _bad(f"{key}.bounds", b, "[low, high], two finite numbers with low < high")
        if integer and not all(float(x).is_integer() for x in b):
            raise _bad(f"{key}.bounds", b, "integer [low, high] for an integer variable")
        out.append(Variable(str(name), float(b[0]), float(b[1]), integer))
    if not out:
        raise _bad("variables", raw, "at least one variable")
    return tuple(out)


def _objectives(raw: Any) -> tuple[Objective, ...]:
    if isinstance(raw, str):
        raw = {raw: "maximize"}
    if isinstance(raw, Sequence) and raw and all(isinstance(x, Mapping) for x in raw):
        raw = {x.get("kpi"): x.get("direction", "maximize") for x in raw}
    if not isinstance(raw, Mapping) or not raw:
        raise _bad("objectives", raw, "a non-empty mapping of KPI name to maximize | minimize")
    out = []
    for kpi, direction in raw.items():
        if not isinstance(kpi, str) or not kpi:
            raise _bad("objectives", kpi, "KPI names")
        if direction not in DIRECTIONS:
            raise _bad(f"objectives.{kpi}", direction, "maximize or minimize")
        out.append(Objective(kpi, direction))
    return tuple(out)


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    node = data.get(name) or {}
    if not isinstance(node, Mapping):
        raise _bad(name, node, "a mapping with keys " + ", ".join(_SECTIONS[name]))
    for k in node:
        if k not in _SECTIONS[name]:
            raise ValueError(
                f"unknown key optimize.{name}.{k}: allowed {', '.join(_SECTIONS[name])}"
            )
    return dict(node)


def _budget(v: Any) -> float | str | None:
    if v is None or v == "baseline":
        return v
    if not _is_real(v) or v <= 0:
        raise _bad(
            "constraints.budget",
            v,
            "a positive number (cu per week per 1,000 market customers), baseline or null",
        )
    return float(v)


def _scenarios(v: Any) -> tuple[str, ...]:
    v = _show(v)
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(s, str) and s for s in v):
        raise _bad(
            "uncertainty.scenarios", v, "a non-empty list of scenario names (cxsim scenarios)"
        )
    if len(set(v)) != len(v):
        raise _bad("uncertainty.scenarios", v, "each scenario once")
    return tuple(v)


def problem_from_cfg(cfg: Mapping[str, Any]) -> OptimizeProblem:
    """A validated :class:`OptimizeProblem` from the ``optimize`` node of the configuration (a
    whole composed configuration is accepted too: its ``optimize`` node is used)."""
    data = plain(cfg)
    if (
        isinstance(data, Mapping)
        and "variables" not in data
        and isinstance(data.get("optimize"), Mapping)
    ):
        data = data["optimize"]
    if not isinstance(data, Mapping):
        raise _bad("", data, "a mapping (the optimize section of the configuration)")
    for k in data:
        if k not in TOP_KEYS:
            raise ValueError(f"unknown key optimize.{k}: allowed {', '.join(TOP_KEYS)}")
    c, u, r = (_section(data, n) for n in ("constraints", "uncertainty", "robustness"))
    s, e = _section(data, "search"), _section(data, "reevaluate")
    measure = r.get("measure", "mean")
    if measure not in MEASURES:
        raise _bad("robustness.measure", measure, ", ".join(MEASURES))
    q = r.get("quantile", 0.1)
    if not _is_real(q) or not 0 < q < 1:
        raise _bad("robustness.quantile", q, "a number in (0, 1), e.g. 0.1")
    sampler = s.get("sampler", "auto")
    if sampler not in SAMPLERS:
        raise _bad("search.sampler", sampler, ", ".join(SAMPLERS))
    storage = s.get("storage")
    if storage is not None and (not isinstance(storage, str) or "://" not in storage):
        raise _bad(
            "search.storage", storage, "null (a SQLite file in the run directory) or a database URL"
        )
    level = e.get("level", 0.95)
    if not _is_real(level) or not 0 < level < 1:
        raise _bad("reevaluate.level", level, "a number in (0, 1), e.g. 0.95")
    baseline = _show(data.get("baseline") or {})
    if not isinstance(baseline, Mapping) or not all(_is_real(x) for x in baseline.values()):
        raise _bad("baseline", baseline, "a mapping of variable name to number (or null)")
    p = OptimizeProblem(
        variables=_variables(data.get("variables")),
        objectives=_objectives(data.get("objectives")),
        budget=_budget(c.get("budget", "baseline")),
        seeds=_int("uncertainty.seeds", u.get("seeds", 4), 1, 10_000),
        scenarios=_scenarios(u.get("scenarios", ["baseline"])),
        measure=measure,
        quantile=float(q),
        sampler=sampler,
        n_trials=_int("search.n_trials", s.get("n_trials", 60), 1, 1_000_000),
        batch=_int("search.batch", s.get("batch", 8), 1, 10_000),
        population=_int("search.population", s.get("population", 24), 2, 100_000),
        storage=storage,
        top=_int("reevaluate.top", e.get("top", 5), 1, 1000),
        reeval_seeds=_int("reevaluate.seeds", e.get("seeds", 16), 2, 100_000),
        confirm_seeds=_int("reevaluate.confirm_seeds", e.get("confirm_seeds", 32), 2, 100_000),
        level=float(level),
        baseline={str(k): float(x) for k, x in baseline.items()},
        seed=_int("seed", data.get("seed", 2024), 0, _SEED_LIMIT - 1),
    )
    _check_cross(p)
    return p


def _check_cross(p: OptimizeProblem) -> None:
    kpis = p.kpis
    if len(set(kpis)) != len(kpis):
        raise _bad("objectives", list(kpis), "each KPI once")
    unknown = [k for k in p.baseline if k not in p.names]
    if unknown:
        raise _bad(f"baseline.{unknown[0]}", p.baseline[unknown[0]], "a key of optimize.variables")
    if p.measure == "regret" and len(p.scenarios) < 1:  # pragma: no cover - scenarios is non-empty
        raise _bad("robustness.measure", p.measure, "mean, quantile or worst")


def load_problem(path: str | os.PathLike[str]) -> OptimizeProblem:
    """Read a declaration from a YAML file (e.g. ``configs/optimize/quadratic.yaml``)."""
    return problem_from_cfg(_load_yaml(Path(path), ()))
