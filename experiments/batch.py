"""Shared pieces of the batch commands (``compare``, ``sweep``): seeds, run keys, the run
function shipped to workers and checks of the experiment-level settings (intervals:
:mod:`analysis.stats`).

Common random numbers: replicate ``i`` of every scenario or grid point uses the same seed,
``np.random.SeedSequence(cfg.seed).spawn(R)[i].generate_state(1)[0]``. Spawned children do not
depend on ``R``, so raising ``replicates`` later keeps (and, with a run store, reuses) the
first runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.params import ParamError, Params, to_dict


class RunsFailed(RuntimeError):
    """Some runs of a batch failed (reported with exit code 1; rerunning retries them)."""


# --------------------------------------------------------------------------------------------
# Seeds, keys and the run function
# --------------------------------------------------------------------------------------------
def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """The seed of each replicate (shared by every scenario or grid point)."""
    children = np.random.SeedSequence(int(root_seed)).spawn(int(replicates))
    return [int(c.generate_state(1)[0]) for c in children]


def fingerprint(params: Params, steps: int) -> dict[str, Any]:
    """What determines a run besides its seed: the resolved parameters and the number of weeks."""
    return {"params": to_dict(params), "steps": int(steps)}


def run_key(params: Params, steps: int, seed: int) -> str:
    from experiments.store import task_key

    return task_key(fingerprint(params, steps), seed)


@dataclass(frozen=True)
class RunFn:
    """``RunFn(steps)(params, seed)``: one model run returning its :class:`~sim.run.RunResult`,
    so that a run store keeps the weekly time series as well as the KPIs (picklable)."""

    steps: int

    def __call__(self, params: Params, seed: int):
        from sim.run import run_model

        return run_model(params, seed=int(seed), steps=self.steps)


# --------------------------------------------------------------------------------------------
# Checks of experiment-level settings (each raises a one-line ParamError)
# --------------------------------------------------------------------------------------------
def check_replicates(value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 100_000:
        raise ParamError("replicates", value, f"an integer in [{minimum}, 100000]")
    return value


def check_kpis(value: Any, key: str = "output.kpis") -> tuple[str, ...]:
    """Run-level KPI names to report: ``None`` means every one of :data:`sim.kpis.RUN`."""
    from sim.kpis import RUN

    if value is None:
        return RUN
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ParamError(key, value, "null (every KPI) or a non-empty list of KPI names")
    for name in value:
        if name not in RUN:
            raise ParamError(key, name, "run-level KPI names (cxsim kpis): " + ", ".join(RUN))
    if len(set(value)) != len(value):
        raise ParamError(key, list(value), "each KPI at most once")
    return tuple(value)


def executor_config(cfg: Mapping[str, Any]):
    """The executor configured under ``executor`` (one-line errors name the key)."""
    from experiments.executor import executor_from_cfg

    node = cfg.get("executor")
    if node is None:
        from experiments.executor import ExecutorConfig

        return ExecutorConfig()
    node = _plain(node)
    if isinstance(node, Mapping):
        allowed = ("kind", "n_jobs", "address", "batch_size")
        for k in node:
            if k not in allowed:
                raise ParamError(f"executor.{k}", node[k], "a known key: " + ", ".join(allowed))
    try:
        return executor_from_cfg(node)
    except TypeError as exc:
        raise ParamError(
            "executor", node, "a mapping with kind, n_jobs, address, batch_size"
        ) from exc
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if "executor" in msg else f"executor: {msg}") from None


def task_overrides() -> list[str]:
    """The configuration overrides of the current Hydra job (hydra.* ones excluded), after the
    job's extra config search path (``--config-dir``, ``hydra.searchpath``) when it has one, so
    that composing them again finds the same configuration files."""
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    paths = [str(p) for p in hc.searchpath or ()]
    for src in hc.runtime.config_sources or ():
        if src.provider == "command-line" and src.path:
            paths.append(f"{src.schema}://{src.path}" if src.schema else str(src.path))
    search = []
    if paths:
        quoted = ("'" + p.replace("\\", "\\\\").replace("'", "\\'") + "'" for p in paths)
        search = [f"hydra.searchpath=[{','.join(quoted)}]"]
    return [*search, *hc.overrides.task]


def _plain(node: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(node, DictConfig | ListConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node


plain = _plain


# --------------------------------------------------------------------------------------------
# `cxsim sensitivity`: the Hydra glue around experiments.sensitivity
# --------------------------------------------------------------------------------------------
_BOUNDED = ("unif", "logunif", "triang", "truncnorm")  # dists whose bounds start with [low, high]


@dataclass(frozen=True)
class SensitivityPlan:
    problem: Any  # experiments.sensitivity.SensitivityProblem
    fn: Any  # experiments.model_fn.ModelFunction
    executor: Any
    quiet: bool


def check_factors(base: Params, problem: Any) -> None:
    """Every factor is a model parameter key and its bounds are values the model accepts."""
    from sim.params import with_updates

    tree = to_dict(base)
    for f in problem.factors:
        node = tree
        for part in f.name.split("."):
            node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
        if node is KeyError or isinstance(node, dict | list):
            raise ParamError(
                f"sensitivity.factors.{f.name}",
                list(f.bounds),
                "a model parameter key such as firm.support.human",
            )
        if f.dist not in _BOUNDED:
            continue
        for v in f.bounds[:2]:
            try:
                with_updates(base, {f.name: int(v) if f.integer else v})
            except ParamError as exc:
                if exc.key != f.name:
                    raise
                raise ParamError(
                    f"sensitivity.factors.{f.name}.bounds",
                    list(f.bounds),
                    f"bounds within {exc.allowed}",
                ) from None


def plan_sensitivity(overrides: Sequence[str]) -> SensitivityPlan:
    """Compose and validate the study (declaration, factors, outputs, executor) without running."""
    from experiments.model_fn import model_function
    from experiments.sensitivity import problem_from_cfg
    from sim.config import compose, params_from_cfg, run_settings

    cfg = compose(list(overrides))
    base = params_from_cfg(cfg)
    _, steps = run_settings(cfg)
    node = cfg.get("sensitivity")
    if node is None:
        raise ParamError(
            "sensitivity", None, "a study from configs/sensitivity, e.g. sensitivity=smoke"
        )
    problem = problem_from_cfg(node)
    check_factors(base, problem)
    check_kpis(list(problem.outputs), "sensitivity.outputs")
    executor = executor_config(cfg)
    quiet = bool((cfg.get("output") or {}).get("quiet", False))
    return SensitivityPlan(problem, model_function(base, steps, problem.outputs), executor, quiet)


def validate_sensitivity(overrides: Sequence[str]) -> None:
    plan_sensitivity(overrides)


def _is_file_value(value: Any) -> bool:
    """A ``sensitivity=`` value that names a file rather than a study."""
    import os

    return isinstance(value, str) and (
        value.endswith((".yaml", ".yml")) or value.startswith(("/", "~")) or os.path.isfile(value)
    )


def _factor_target(rest: str, names: Sequence[str]) -> tuple[str, str | None] | None:
    """(factor name, key of its spec or None) that ``sensitivity.factors.<rest>`` addresses."""
    from experiments.sensitivity.problem import FACTOR_KEYS

    if rest in names:
        return rest, None
    head, _, tail = rest.rpartition(".")
    if head in names and tail in FACTOR_KEYS:
        return head, tail
    return None


def sensitivity_overrides(overrides: Sequence[str], search: Sequence[str] = ()) -> dict[str, str]:
    """Rewrites of ``cxsim sensitivity`` overrides, as {given: rewritten}.

    Factor names are dotted parameter keys (``firm.support.human``), and Hydra splits a dotted
    override key into nested keys, so ``sensitivity.factors.firm.support.human.bounds=[0.2,0.8]``
    would look for ``factors.firm.support.human.bounds`` and fail. It is rewritten to a merge
    into that factor, ``sensitivity.factors={firm.support.human:{bounds:[0.2,0.8]}}`` (and
    ``sensitivity.factors.<name>=[lo,hi]`` to its bounds). An override naming no factor of the
    study is refused in one line; ``+sensitivity.factors.<new factor>.bounds=[lo,hi]`` adds a
    factor (its nested keys are joined again by the declaration). A ``sensitivity=`` value that
    is a file path is refused with the way to use a study file of your own."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import compose

    prefix = "sensitivity.factors."
    todo = []
    for text in overrides:
        try:
            (o,) = OverridesParser.create().parse_overrides([text])
        except HydraException:
            continue  # reported in one line by the validation
        if o.key_or_group == "sensitivity" and _is_file_value(o.value()):
            raise ParamError(
                "sensitivity",
                o.value(),
                "a study name; for a study file of your own, save it as "
                "DIR/sensitivity/NAME.yaml and run: cxsim sensitivity --config-dir DIR sensitivity=NAME",
            )
        if (
            o.key_or_group.startswith(prefix)
            and o.type == OverrideType.CHANGE
            and not o.is_sweep_override()
        ):
            todo.append((text, o.key_or_group[len(prefix) :], o))
    if not todo:
        return {}
    given = {t for t, _, _ in todo}
    try:
        factors = compose([*search, *(t for t in overrides if t not in given)]).sensitivity.factors
    except (HydraException, OmegaConfBaseException, AttributeError, ValueError):
        return {}  # the validation reports what is wrong with the configuration
    names = [str(k) for k in factors]
    out = {}
    for text, rest, o in todo:
        if OmegaConf.select(factors, rest, default=None) is not None:
            continue  # a key Hydra finds by itself (e.g. factors x1 or nested ones)
        target = _factor_target(rest, names)
        if target is None:
            raise ParamError(
                f"sensitivity.factors.{rest}",
                o.value(),
                f"a factor of the study ({', '.join(names)}) followed by .bounds, .group, "
                ".integer or .dist; add a new factor with +sensitivity.factors.<name>.bounds=[low,high]",
            )
        name, field = target
        value = text.split("=", 1)[1]
        if field is None and not isinstance(o.value(), dict):
            field = "bounds"  # name=[low, high]: the bounds
        inner = value if field is None else f"{{{field}:{value}}}"
        out[text] = f"sensitivity.factors={{{name}:{inner}}}"
    return out


def sensitivity_cmd(cfg, out_dir) -> Any:
    """The Hydra job of ``cxsim sensitivity``: ``run_sensitivity`` into the run directory.
    Warnings (e.g. ``n`` rounded up to a power of two) are printed as one line each."""
    import sys
    import time
    import warnings

    from experiments.sensitivity import run_sensitivity

    plan = plan_sensitivity(task_overrides())
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_sensitivity(plan.problem, plan.fn, out_dir=out_dir, executor=plan.executor)
    for w in caught:
        if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning):
            msg = " ".join(str(w.message).split())
            print(f"cxsim sensitivity: warning: {msg}", file=sys.stderr)
    if not plan.quiet:
        p = plan.problem
        total = sum(b.n_total for b in result.batches)
        done = sum(b.n_done for b in result.batches)
        print(
            f"cxsim sensitivity: {p.method}, {len(p.factors)} factors x {len(p.outputs)} outputs, "
            f"{total} runs ({done} run, {total - done} already stored) in "
            f"{time.perf_counter() - t0:.1f} s -> {out_dir}"
        )
    return result
