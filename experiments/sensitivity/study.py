"""Running a study end to end: designs → tasks through the executor into the run store →
replicate-averaged outputs → indices, convergence and noise → tables, figures, ``summary.md``
and ``study.json`` in ``out_dir``."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.executor import BatchSummary, ExecutorConfig, run_tasks
from experiments.io import write_atomic, write_json_atomic
from experiments.sensitivity.analyse import (
    INDEX_COLUMNS,
    MAIN_INDEX,
    Notes,
    analyse_output,
    convergence_sizes,
    index_rows,
    noise_share,
)
from experiments.sensitivity.design import Design, design_tasks, fn_fingerprint, sample_design
from experiments.sensitivity.problem import QMC_METHODS, SensitivityProblem, problem_from_cfg
from experiments.sensitivity.summary import short_labels, summary_text
from experiments.store import RunStore

_DEFAULT_EXECUTOR = ExecutorConfig()  # loky, 2 workers (frozen: safe to share)


class SensitivityRunsFailed(RuntimeError):
    """Some model runs of the study failed; rerunning with the same out_dir retries them."""


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
    fp = fn_fingerprint(model_fn)
    task_lists, keys = zip(*(design_tasks(decl, d, fp) for d in designs), strict=True)
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
    indices, conv, noise, notes = _analyse_designs(decl, designs, Yr)

    _write_tables(decl, out_dir, designs, Yr, keys, indices, conv, noise, fp, batches)
    figures = _write_figures(decl, out_dir, indices, conv)
    summary = summary_text(decl, indices, conv, noise, designs, notes, time.perf_counter() - t0)
    write_atomic(out_dir / "summary.md", lambda p: p.write_text(summary, encoding="utf-8"))
    _write_study(decl, out_dir, designs, fp, batches, figures)
    return SensitivityResult(indices, conv, noise, out_dir, summary, tuple(batches))


def _analyse_designs(
    decl: SensitivityProblem, designs: list[Design], Yr: list[np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame, Notes]:
    """Indices (and their convergence over nested sample sizes) of every output of every
    design from the replicate-averaged outputs, the noise share, and SALib's warnings."""
    notes = Notes()
    rows: list[dict[str, Any]] = []
    conv_rows: list[dict[str, Any]] = []
    for d, Yd in zip(designs, Yr, strict=True):
        Ym = Yd.mean(axis=1)
        sizes = convergence_sizes(decl, d)
        for j, o in enumerate(decl.outputs):
            res = analyse_output(decl, d, Ym[:, j], d.base_n, notes)
            rows += index_rows(decl, o, res, d.base_n, d.name)
            for k in sizes:
                r = res if k == d.base_n else analyse_output(decl, d, Ym[:, j], k, notes)
                conv_rows += [x for x in index_rows(decl, o, r, k, d.name) if x["index"] != "S2"]
    indices = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    conv = pd.DataFrame(conv_rows, columns=list(INDEX_COLUMNS)) if conv_rows else None
    noise = noise_share(decl, Yr[0])
    if any(np.isnan(Y).any() for Y in Yr):
        notes.add("Some model outputs are NaN: the indices of those outputs are NaN.")
    return indices, conv, noise, notes


def _write_tables(decl, out_dir, designs, Yr, keys, indices, conv, noise, fp, batches) -> None:
    write_atomic(out_dir / "indices.csv", lambda p: indices.to_csv(p, index=False))
    write_atomic(out_dir / "indices.parquet", lambda p: indices.to_parquet(p, index=False))
    conv_df = conv if conv is not None else pd.DataFrame(columns=list(INDEX_COLUMNS))
    write_atomic(out_dir / "convergence.csv", lambda p: conv_df.to_csv(p, index=False))
    write_atomic(out_dir / "noise_share.csv", lambda p: noise.to_csv(p, index=False))
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
    write_atomic(out_dir / "samples.csv", lambda p: samples.to_csv(p, index=False))


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
    write_json_atomic(out_dir / "study.json", info)


def _save_figure(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # render with Agg whatever the session's backend
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=120))


def _write_figures(
    decl: SensitivityProblem, out_dir: Path, indices: pd.DataFrame, conv: pd.DataFrame | None
) -> list[str]:
    from analysis import sensitivity_plots as sp

    labels = short_labels(decl.names)
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
