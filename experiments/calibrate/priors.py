"""The calibration study as declared in ``configs/calibration/*.yaml``: the data options, the
priors (dotted model keys, or ``purchase_rate``: the population's mean weekly purchase
probability, spread over the segments in their default ratios) and the ABC-SMC budget.

Every prior's bounds must lie in the parameter's declared range (``sim/params.py``, ``cxsim
params``): the model could not run outside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.params import ParamError, Params, with_updates

DISTS = ("uniform", "loguniform")


@dataclass(frozen=True)
class Prior:
    name: str
    dist: str
    low: float
    high: float

    def to_pyabc(self):
        import pyabc

        if self.dist == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        return pyabc.RV("loguniform", self.low, self.high)


@dataclass(frozen=True)
class Study:
    transactions: str = "cdnow"
    kpis: str | None = None
    duplicates: str = "keep"
    start: str | None = None
    calibration_weeks: int = 39
    holdout_weeks: int | None = None
    scale: float = 0.1
    block: int = 3
    priors: tuple[Prior, ...] = ()
    population: int = 150
    generations: int = 8
    min_epsilon: float = 0.0
    min_acceptance: float = 0.005
    draws: int = 100
    seed: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.priors)


def _number(key: str, value: Any, low: float, high: float, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParamError(key, value, f"a number in [{low}, {high}]")
    if integer and not float(value).is_integer():
        raise ParamError(key, value, f"an integer in [{low}, {high}]")
    if not low <= value <= high:
        raise ParamError(key, value, f"a {'integer' if integer else 'number'} in [{low}, {high}]")
    return int(value) if integer else float(value)


KNOWN = (
    "transactions",
    "kpis",
    "duplicates",
    "start",
    "calibration_weeks",
    "holdout_weeks",
    "scale",
    "block",
    "priors",
    "abc",
    "predictive",
)


def study_from_cfg(node: Mapping[str, Any]) -> Study:
    """A validated :class:`Study` from the ``calibration`` node (one-line errors)."""
    node = dict(node or {})
    for k in node:
        if k not in KNOWN:
            raise ParamError(f"calibration.{k}", node[k], "a known key: " + ", ".join(KNOWN))
    priors = []
    for name, spec in (node.get("priors") or {}).items():
        key = f"calibration.priors.{name}"
        if spec is None:  # removed (e.g. by a smaller study: name: null)
            continue
        if not isinstance(spec, Mapping) or "bounds" not in spec:
            raise ParamError(key, spec, "{dist: uniform|loguniform, bounds: [low, high]}")
        dist = spec.get("dist", "uniform")
        if dist not in DISTS:
            raise ParamError(f"{key}.dist", dist, "one of " + ", ".join(DISTS))
        b = spec["bounds"]
        if not isinstance(b, list | tuple) or len(b) != 2:
            raise ParamError(f"{key}.bounds", b, "[low, high]")
        low, high = (_number(f"{key}.bounds", v, -1e12, 1e12) for v in b)
        if not low < high or (dist == "loguniform" and low <= 0):
            raise ParamError(f"{key}.bounds", list(b), "low < high (and low > 0 for loguniform)")
        priors.append(Prior(str(name), dist, low, high))
    if not priors:
        raise ParamError("calibration.priors", {}, "at least one parameter with bounds")
    abc = dict(node.get("abc") or {})
    pred = dict(node.get("predictive") or {})
    holdout = node.get("holdout_weeks")
    return Study(
        transactions=str(node.get("transactions", "cdnow")),
        kpis=node.get("kpis"),
        duplicates=str(node.get("duplicates", "keep")),
        start=node.get("start"),
        calibration_weeks=_number(
            "calibration.calibration_weeks", node.get("calibration_weeks", 39), 2, 10_000, True
        ),
        holdout_weeks=None
        if holdout is None
        else _number("calibration.holdout_weeks", holdout, 0, 10_000, True),
        scale=_number("calibration.scale", node.get("scale", 0.1), 1e-4, 1.0),
        block=_number("calibration.block", node.get("block", 3), 1, 52, True),
        priors=tuple(priors),
        population=_number("calibration.abc.population", abc.get("population", 150), 5, 1e6, True),
        generations=_number(
            "calibration.abc.generations", abc.get("generations", 8), 1, 1000, True
        ),
        min_epsilon=_number("calibration.abc.min_epsilon", abc.get("min_epsilon", 0.0), 0, 1e12),
        min_acceptance=_number(
            "calibration.abc.min_acceptance", abc.get("min_acceptance", 0.005), 0, 1
        ),
        seed=_number("calibration.abc.seed", abc.get("seed", 1), 0, 2**31 - 1, True),
        draws=_number("calibration.predictive.draws", pred.get("draws", 100), 2, 100_000, True),
    )


def check_priors(study: Study, base: Params) -> None:
    """Every prior names a numeric model parameter (or ``purchase_rate``) and its bounds are
    values the model accepts."""
    from experiments.calibrate.simulate import model_updates

    for p in study.priors:
        key = f"calibration.priors.{p.name}.bounds"
        for bound in (p.low, p.high):
            try:
                with_updates(base, model_updates(base, {p.name: bound}))
            except ParamError as exc:
                if exc.allowed != "a known parameter key":
                    raise ParamError(
                        key, [p.low, p.high], f"bounds within {exc.allowed} ({exc.key})"
                    ) from None
                raise ParamError(
                    f"calibration.priors.{p.name}",
                    [p.low, p.high],
                    "a numeric model parameter (cxsim params) or purchase_rate",
                ) from None
            except (KeyError, TypeError):
                raise ParamError(
                    f"calibration.priors.{p.name}",
                    [p.low, p.high],
                    "a numeric model parameter (cxsim params) or purchase_rate",
                ) from None
        if p.name == "purchase_rate" and p.high > 1:
            raise ParamError(key, [p.low, p.high], "a weekly probability in (0, 1]")
