"""The sampled designs of a study and their runs: SALib samples (integer factors rounded),
the seed of every (row, replicate) derived from the study's seed, and the run-store tasks."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.sensitivity.problem import SensitivityProblem, salib_problem
from experiments.store import Task, task_key

# spawn branches of SeedSequence(seed)
SAMPLING, BOOTSTRAP, RUNS, CRN = 0, 1, 2, 3


_DESIGNS = ("factor", "group")


def spawn_seed(root: int, *path: int) -> int:
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
    s = spawn_seed(decl.seed, SAMPLING)
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
        row_seeds = np.array([spawn_seed(decl.seed, CRN, r) for r in range(R)], dtype=np.int64)
        seeds = np.broadcast_to(row_seeds, (len(X), R)).copy()
    else:
        seeds = np.array(
            [[spawn_seed(decl.seed, RUNS, d, i, r) for r in range(R)] for i in range(len(X))],
            dtype=np.int64,
        ).reshape(len(X), R)
    return Design(
        name=_DESIGNS[d], problem=problem, X=X, values=values, seeds=seeds, base_n=N, block=block
    )


def fn_fingerprint(fn: Any) -> str:
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


def design_tasks(
    decl: SensitivityProblem, design: Design, fp: str
) -> tuple[list[Task], np.ndarray]:
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
