"""Running the study: for each feedback rule, the Morris and the Sobol part through
:func:`experiments.sensitivity.run_sensitivity` into ``out_dir/<rule>/<method>/`` (each part
resumes from its run store), and ``out_dir/manifest.json``: sizes, seeds, versions, runtime,
machine load."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.executor import ExecutorConfig
from experiments.io import write_json_atomic
from experiments.study.config import StudyConfig, problems

METHODS = ("morris", "sobol")


@dataclass(frozen=True)
class Part:
    rule: str
    method: str
    out_dir: Path
    seconds: float
    runs: int
    new: int  # runs made now (the others were in the store)


def base_model(cfg: StudyConfig, rule: str):
    """(Params, steps) of one part: the composed default configuration at the study's size."""
    from sim import config as simcfg

    composed = simcfg.compose(cfg.overrides(rule))
    _, steps = simcfg.run_settings(composed)
    return simcfg.params_from_cfg(composed), steps, composed


def model_fingerprint(cfg: StudyConfig) -> str:
    """A hash of every model parameter value of every rule's base model and the study
    declaration: what the numbers were computed from (not the code: the numbers check that)."""
    from sim.params import to_dict

    ident = {"study": cfg.data, "size": cfg.size.name}
    for rule in cfg.rules:
        params, steps, _ = base_model(cfg, rule)
        ident[rule] = {"params": to_dict(params), "steps": steps}
    blob = json.dumps(ident, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_part(cfg: StudyConfig, rule: str, method: str, out_dir: Path, progress=None) -> Part:
    from experiments.batch import check_factors, check_kpis
    from experiments.model_fn import model_function
    from experiments.sensitivity import run_sensitivity

    problem = problems(cfg)[method]
    params, steps, _ = base_model(cfg, rule)
    check_factors(params, problem)
    check_kpis(list(problem.outputs), "study.outputs")
    fn = model_function(params, steps, problem.outputs)
    t0 = time.perf_counter()
    res = run_sensitivity(
        problem,
        fn,
        out_dir=out_dir,
        executor=ExecutorConfig(kind="loky", n_jobs=cfg.jobs),
        progress=progress,
    )
    runs = sum(b.n_total for b in res.batches)
    new = sum(b.n_done for b in res.batches)
    return Part(rule, method, out_dir, time.perf_counter() - t0, runs, new)


def run_study(
    cfg: StudyConfig,
    out_dir: str | os.PathLike[str],
    parts: Iterable[tuple[str, str]] | None = None,
    log: Callable[[str], None] = lambda s: None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Every (rule, method) part (or those in ``parts``) into ``out_dir``; returns and writes
    the manifest."""
    out = Path(out_dir)
    todo = list(parts) if parts is not None else [(r, m) for r in cfg.rules for m in METHODS]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    done = []
    for rule, method in todo:
        p = run_part(cfg, rule, method, out / rule / method, progress)
        log(f"{cfg.size.name} {method} ({rule} rule): {p.runs} runs in {p.seconds:.0f} s")
        done.append(p)
    composed = base_model(cfg, cfg.rules[0])[2]
    manifest = {
        "size": cfg.size.name,
        "burn_in": int(composed.evaluation.burn_in),
        "window": int(composed.evaluation.window),
        "sizes": vars(cfg.size),
        "declaration": cfg.data,
        "fingerprint": model_fingerprint(cfg),
        "parts": [
            {
                "rule": p.rule,
                "method": p.method,
                "seconds": round(p.seconds, 1),
                "runs": p.runs,
                "new": p.new,
            }
            for p in done
        ],
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "workers": cfg.jobs,
            "load_before": [round(x, 2) for x in load0],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
        },
        "versions": versions(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def versions() -> dict[str, str | None]:
    from importlib import metadata

    from experiments.cli import version

    out: dict[str, str | None] = {"cxsim": version(), "python": platform.python_version()}
    for dist in ("numpy", "SALib", "pandas", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[dist] = None
    out["commit"] = git_commit()
    return out


def git_commit() -> str | None:
    """The checked-out commit (with ``+changes`` when the model or study code differs from it)."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--",
                "sim",
                "experiments",
                "configs",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")
