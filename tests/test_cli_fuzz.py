"""Property-based fuzz of the command line (hypothesis generates commands, keys, values and
run-directory paths): whatever the input, the command ends with exit code 0, 1 or 2, prints no
traceback, fails in one line, and never leaves a partial output file that looks complete.

Derandomised (the same examples every time) and kept fast: every command runs on a 60-customer
market for 3 weeks, serially. N_EXAMPLES is the number of generated command lines.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.cli import main
from sim.params import describe

N_EXAMPLES = 120
SMALL = [
    "population.n_customers=60",
    "steps=3",
    "evaluation.burn_in=1",
    "output.figure=false",
    "output.quiet=true",
    "executor=serial",
    "replicates=2",
    "market.network.mean_degree=4",
]
# files that a finished command writes last; seen after a failure they would lie
COMPLETE = (
    "kpis.json",
    "timeseries.parquet",
    "comparison.csv",
    "comparison.md",
    "runs.csv",
    "sweep.csv",
    "sweep_summary.csv",
)

KEYS = [
    *[k for k, _, _ in describe()],
    "seed",
    "steps",
    "replicates",
    "scenario",
    "scenarios",
    "executor",
    "executor.n_jobs",
    "executor.address",
    "output.kpis",
    "sweep.grid",
    "+typo",
    "~seed",
    "typo",
    "firm..price",
    "firm.support",
    "",
    "population.segments.digital.share",
    "shocks.outage.start",
]
VALUES = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "true",
            "null",
            "[]",
            "{}",
            "[1,2]",
            "outage",
            "baseline",
            "nan",
            "-inf",
            "'x y'",
            "${steps}",
            "${oops}",
            "[baseline,outage]",
            "serial",
            "dask",
            "{firm.support.human:[0.2,0.8]}",
            "tcp://127.0.0.1:1",
            "1e400",
            "0x10",
            "é",
            "'é'",
            "a=b",
            "[",
            "}",
            "\\",
            "'",
            '"',
            "  ",
        ]
    ),
    st.text(string.printable, max_size=8),
)
OVERRIDE = st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), VALUES)
RAW = st.one_of(
    OVERRIDE,
    st.sampled_from(["-m", "--cfg", "--frob", "-h", "=", "x", "--"]),
    st.text(string.printable + "é", max_size=12),
)
COMMAND = st.sampled_from(
    ["run", "run", "compare", "sweep", "scenarios", "kpis", "params", "report", "nope"]
)
DIR = st.sampled_from(
    [
        "out",
        "a b",
        "résultats",
        "'résultats'",
        "file",
        "file/sub",
        "",
        "sub/../out2",
        "deep/er/dir",
        "ro",
    ]
)

_counter = itertools.count()


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse/Hydra exiting by themselves
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@settings(
    max_examples=N_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=COMMAND, args=st.lists(RAW, max_size=4), directory=DIR)
def test_command_line_fuzz(tmp_path_factory, command, args, directory):
    base = tmp_path_factory.mktemp(f"fuzz{next(_counter)}")
    (base / "file").write_text("not a directory")
    if command == "report":
        argv = [command, str(base / directory), *args]
    elif command in ("run", "compare", "sweep"):
        target = f"hydra.run.dir={base / directory}" if directory else "hydra.run.dir="
        extra = ["scenarios=[baseline,fast_cadence]"] if command == "compare" else []
        extra += ["sweep.grid={firm.support.human:[0.5]}"] if command == "sweep" else []
        argv = [command, *SMALL, *extra, *args, target]
    else:
        argv = [command, *args]
    cwd = Path.cwd()
    os.chdir(base)  # Hydra's default output directories (outputs/, multirun/) land here
    try:
        code, out, err = _run(argv)
    finally:
        os.chdir(cwd)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    if code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0], (argv, err)
        for name in COMPLETE:
            found = [p for p in base.rglob(name) if p.is_file()]
            assert not found, (argv, found)
    assert not [p for p in base.rglob("*.tmp")], argv  # no half-written temporary files
    if code == 0 and command == "run" and not {"--cfg", "-m", "-h"} & set(args):
        assert list(Path(base).rglob("kpis.json")), argv
