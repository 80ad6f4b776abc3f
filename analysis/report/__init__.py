"""`cxsim report <results dir>`: one self-contained HTML report of a results directory.

    cxsim report outputs/default             # a single run (cxsim run)
    cxsim report out/cmp                     # a scenario comparison (cxsim compare)
    cxsim report out/sweep --target "nps >= 30 and cumulative_profit >= base_cumulative_profit"
    python -m analysis.report out/sa         # a sensitivity study (cxsim sensitivity)

The kind of directory is detected from its files: ``comparison.csv`` (comparison),
``indices.csv`` (sensitivity study), ``sweep.csv`` (sweep), ``timeseries.parquet`` +
``kpis.json`` (single run).  Writes ``report.html`` into the directory — every figure embedded
as a base64 PNG, inline CSS only, no external resource, so it opens offline — and every figure
as PNG and SVG in ``<dir>/figures/`` (replacing the figures of an earlier report).  The report
says what was run (configuration, overrides, versions, seeds, runtime, from the run store's
manifest when there is one), shows the results as tables and figures, and for comparisons,
sweeps and sensitivity studies gives a short plain-language reading generated from the numbers.

The package: ``document`` (the HTML builder and its Jinja2 templates), ``provenance`` (what was
run), ``findings`` (the plain-language reading), one module per kind of result (``run``,
``comparison``, ``sweep``, ``sensitivity``, with ``discover`` for scenario discovery) and
``command`` (kind detection and the command line).

A single run's report re-simulates the run from its ``config.yaml`` (same seed) to collect the
weekly state distributions, customer flows and the journey map, which ``cxsim run`` does not
store; ``--no-simulate`` skips that.
"""

from analysis.report.command import KINDS, build_report, cli, detect_kind, main
from analysis.report.document import Report
from analysis.report.findings import (
    comparison_findings,
    diff_sentence,
    factor_rows,
    run_findings,
    sensitivity_findings,
    sweep_findings,
)
from analysis.report.sensitivity import sample_table
from analysis.report.text import ReportError, factor_label, kpi_label

__all__ = [
    "KINDS",
    "Report",
    "ReportError",
    "build_report",
    "cli",
    "comparison_findings",
    "detect_kind",
    "diff_sentence",
    "factor_label",
    "factor_rows",
    "kpi_label",
    "main",
    "run_findings",
    "sample_table",
    "sensitivity_findings",
    "sweep_findings",
]
