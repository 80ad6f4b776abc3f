"""``cxsim calibrate``: the command-line entry point (composition, validation, the Hydra job).

The study is the Hydra group ``calibration`` (``configs/calibration``), which the root
configuration does not list: this command adds it (``calibration=NAME`` selects a study,
``+calibration=default`` is implied), reads and checks the data and the priors before anything
runs, then runs one Hydra job through the same runner as the other commands (run directory,
lock, one-line errors). Rerunning the same command with the same ``hydra.run.dir`` resumes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GROUP = "calibration"


def with_group(overrides: Sequence[str]) -> list[str]:
    out = [f"+{a}" if a.startswith(f"{GROUP}=") else a for a in overrides]
    if not any(a.startswith(f"+{GROUP}=") for a in out):
        out.insert(0, f"+{GROUP}=default")
    return out


@dataclass(frozen=True)
class CalibratePlan:
    study: Any
    base: Any
    cohort: Any
    kpis: Any
    executor: Any
    quiet: bool


def plan_calibrate(overrides: Sequence[str]) -> CalibratePlan:
    """Compose and validate the study, read the data, check the priors; run nothing."""
    from experiments.batch import executor_config, plain
    from experiments.calibrate.cohort import build_cohort
    from experiments.calibrate.priors import check_priors, study_from_cfg
    from experiments.calibrate.transactions import read_kpis, read_transactions
    from sim.config import compose, params_from_cfg
    from sim.kpis import SERIES

    cfg = compose(with_group(overrides))
    data = plain(cfg)
    study = study_from_cfg(data.pop(GROUP, None) or {})
    base = params_from_cfg(data)
    check_priors(study, base)
    log = read_transactions(study.transactions, study.duplicates)
    cohort = build_cohort(log, study.calibration_weeks, study.holdout_weeks, study.start)
    kpis = read_kpis(study.kpis, tuple(SERIES)) if study.kpis else None
    executor = executor_config(cfg)
    quiet = bool((cfg.get("output") or {}).get("quiet", False))
    return CalibratePlan(study, base, cohort, kpis, executor, quiet)


def calibrate_cmd(cfg, out_dir) -> Any:
    """The Hydra job of ``cxsim calibrate``."""
    from experiments.batch import task_overrides
    from experiments.calibrate.study import run_calibration
    from experiments.cli import progress_log

    plan = plan_calibrate(task_overrides())
    t0 = time.perf_counter()
    log = progress_log("calibrate", plan.quiet)
    result = run_calibration(
        plan.study, plan.base, plan.cohort, out_dir, plan.executor, plan.kpis, log, progress=None
    )
    if not plan.quiet:
        print(f"cxsim calibrate: done in {time.perf_counter() - t0:.0f} s -> {out_dir}")
        for name, s in result.summary["posterior"]["parameters"].items():
            print(f"  {name:<32} {s['mean']:.4g}  90% [{s['q05']:.4g}, {s['q95']:.4g}]")
        f = result.summary["forecast"]
        if f.get("holdout_weeks"):
            print(
                f"  holdout weeks {f['weeks'][0]}-{f['weeks'][1]}: actual {f['actual']:,.0f}; "
                f"simulator {f['simulator']['forecast']:,.0f} ({f['simulator']['error_pct']:+.1f}%); "
                f"BG/NBD {f['bgnbd']['forecast']:,.0f} ({f['bgnbd']['error_pct']:+.1f}%)"
            )
        print(f"  what-ifs on the calibrated firm: cxsim compare calibration={out_dir} ...")
    return result


def cli(args: Sequence[str]) -> int:
    """``cxsim calibrate [calibration=NAME] [calibration.KEY=VALUE ...] [key=value ...]``."""
    import importlib.util

    from experiments import cli as C

    if importlib.util.find_spec("pyabc") is None:
        raise C.Unavailable(
            "cxsim calibrate needs pyabc: pip install 'cxsim[calibrate]' (make installs it)"
        )
    return C.run_study_command(
        "calibrate",
        GROUP,
        "experiments.calibrate.command:calibrate_cmd",
        args,
        plan_calibrate,
        with_group,
    )
