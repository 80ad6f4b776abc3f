"""``cxsim report``: which kind of results a directory holds, the report built for it, and the
command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.report.comparison import report_comparison
from analysis.report.document import Report
from analysis.report.run import report_run
from analysis.report.sensitivity import report_sensitivity
from analysis.report.sweep import report_sweep
from analysis.report.text import ReportError

KINDS: dict[str, tuple[str, ...]] = {
    "calibration": ("calibration.json", "predictive.csv"),
    "optimize": ("recommendation.json", "pareto.csv"),
    "comparison": ("comparison.csv",),
    "sensitivity": ("indices.csv",),
    "sweep": ("sweep.csv",),
    "run": ("timeseries.parquet", "kpis.json"),
}


TITLES = {
    "run": "Single run",
    "comparison": "Scenario comparison",
    "sweep": "Parameter sweep",
    "sensitivity": "Sensitivity study",
    "optimize": "Optimisation study",
    "calibration": "Calibration",
}


def detect_kind(directory: str | Path) -> str | None:
    """The kind of results in ``directory`` (comparison, sensitivity, sweep, run) or None."""
    d = Path(directory)
    for kind, files in KINDS.items():
        if all((d / f).is_file() for f in files):
            return kind
    return None


def build_report(
    directory: str | Path,
    *,
    simulate: bool = True,
    outcome: str | None = None,
    target: str | None = None,
) -> Path:
    """Write ``report.html`` and ``figures/`` into ``directory``; returns the report's path.

    Raises :class:`ReportError` for a missing directory or one without recognisable results.
    """
    import matplotlib

    matplotlib.use("Agg")
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"no such directory: {directory}")
    kind = detect_kind(d)
    if kind is None:
        raise ReportError(
            f"{directory} has no recognisable results: expected timeseries.parquet + kpis.json "
            "(cxsim run), comparison.csv (compare), indices.csv (sensitivity), sweep.csv (sweep) or "
            "calibration.json (calibrate)"
        )
    if (outcome or target) and kind not in ("sweep", "sensitivity"):
        raise ReportError("--outcome and --target apply to sweep and sensitivity results only")
    fig_dir = d / "figures"
    if fig_dir.is_dir():  # figures of an earlier report
        for p in [*fig_dir.glob("[0-9][0-9]_*.png"), *fig_dir.glob("[0-9][0-9]_*.svg")]:
            p.unlink()
    rep = Report(d, f"cxsim report: {TITLES[kind].lower()} '{d.name}'", kind)
    if kind == "run":
        report_run(rep, d, simulate=simulate)
    elif kind == "comparison":
        report_comparison(rep, d)
    elif kind == "sensitivity":
        report_sensitivity(rep, d, outcome=outcome, target=target)
    elif kind == "optimize":
        from analysis.report.optimize import report_optimize

        report_optimize(rep, d)
    elif kind == "calibration":
        from analysis.report.calibration import report_calibration

        report_calibration(rep, d)
    else:
        report_sweep(rep, d, outcome=outcome, target=target)
    return rep.write()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise ReportError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cxsim report",
        description="Build a self-contained HTML report of a results directory.",
    )
    p.add_argument("directory", help="results of cxsim run, compare, sweep or sensitivity")
    p.add_argument(
        "--no-simulate",
        action="store_true",
        help="single run: do not re-simulate for state distributions, flows and the journey map",
    )
    p.add_argument(
        "--outcome", help="sweep: the KPI of the what-if map (default cumulative_profit)"
    )
    p.add_argument(
        "--target",
        help="sweep: target condition, e.g. 'nps >= 30 and cumulative_profit >= "
        "base_cumulative_profit' (base_<kpi>: mean at the baseline cell)",
    )
    return p


def cli(args: Sequence[str]) -> int:
    """``cxsim report <dir> [--outcome KPI] [--target EXPR] [--no-simulate]``; exit code 2 with a
    one-line error for a bad directory or argument."""
    args = list(args)
    if any(a in ("-h", "--help") for a in args):
        _parser().print_help()
        return 0
    try:
        ns = _parser().parse_args(args)
        path = build_report(
            ns.directory, simulate=not ns.no_simulate, outcome=ns.outcome, target=ns.target
        )
    except ReportError as exc:
        print(f"cxsim report: error: {exc}", file=sys.stderr)
        return 2
    n = len(list((path.parent / "figures").glob("[0-9][0-9]_*.png")))
    print(
        f"cxsim report: wrote {path} ({n} figures, also as PNG and SVG in {path.parent / 'figures'})"
    )
    return 0


def main() -> None:  # pragma: no cover - python -m analysis.report
    sys.exit(cli(sys.argv[1:]))
