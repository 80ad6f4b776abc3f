"""The comparable study on the commit before the model-science issues (``baseline.commit`` of
the study declaration): its own ``cxsim sensitivity`` (Sobol of the same nine factors on the
run-level outputs it had), run in a temporary ``git worktree`` that is removed afterwards.
Writes ``<docs>/findings/baseline/``: ``indices.csv`` and ``summary.md`` as that version wrote
them, and ``baseline.json`` (commit, command, date, runtime, load)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from experiments.io import write_json_atomic
from experiments.study.config import StudyConfig


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def baseline_command(cfg: StudyConfig, run_dir: Path) -> list[str]:
    """The old version's ``cxsim sensitivity`` with the study's seed and the baseline sizes."""
    b = cfg.data["baseline"]
    outputs = ",".join(b["outputs"])
    return [
        "sensitivity",
        f"sensitivity.n={int(b['sobol_n'])}",
        f"sensitivity.replicates={int(b['replicates'])}",
        f"sensitivity.seed={cfg.seed}",
        f"sensitivity.outputs=[{outputs}]",
        f"population.n_customers={int(b['customers'])}",
        f"steps={cfg.steps}",
        f"executor.n_jobs={cfg.jobs}",
        "output.quiet=true",
        f"hydra.run.dir={run_dir}",
    ]


def run_baseline(
    cfg: StudyConfig, dest: Path, log: Callable[[str], None] = lambda s: None
) -> dict[str, Any]:
    root = Path(_git(Path(__file__).resolve().parent, "rev-parse", "--show-toplevel"))
    commit = _git(root, "rev-parse", "--verify", f"{cfg.data['baseline']['commit']}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="cxsim-baseline-"))
    tree = tmp / "tree"
    args = baseline_command(cfg, tmp / "out")
    log(f"baseline: git worktree {commit[:7]} in {tree}")
    _git(root, "worktree", "add", "--detach", str(tree), commit)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    try:
        env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
        subprocess.run(
            [sys.executable, "-m", "experiments.cli", *args], cwd=tree, env=env, check=True
        )
        seconds = time.perf_counter() - t0
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("indices.csv", "summary.md", "noise_share.csv", "convergence.csv"):
            if (tmp / "out" / name).exists():
                shutil.copyfile(tmp / "out" / name, dest / name)
    finally:
        _git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(tmp, ignore_errors=True)
    info = {
        "commit": commit,
        "subject": _git(root, "log", "-1", "--format=%s", commit),
        "command": "cxsim " + " ".join(a for a in args if not a.startswith("hydra.run.dir")),
        "seconds": round(seconds, 1),
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "outputs": dict(cfg.data["baseline"]["outputs"]),
        "sobol_n": int(cfg.data["baseline"]["sobol_n"]),
        "replicates": int(cfg.data["baseline"]["replicates"]),
        "customers": int(cfg.data["baseline"]["customers"]),
    }
    write_json_atomic(dest / "baseline.json", info)
    log(f"baseline: {commit[:7]} done in {seconds:.0f} s -> {dest}")
    return info
