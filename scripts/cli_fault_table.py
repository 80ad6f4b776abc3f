"""Run every command-line fault case for real and write the table docs/cli-faults.md.

Each case is a real `cxsim` process started from a scratch directory; the table records its
exit code and the first line it printed (stderr when there is any, else stdout), so the table
stays true: regenerate it after changing the command line.

    python scripts/cli_fault_table.py            # writes docs/cli-faults.md
    python scripts/cli_fault_table.py --check    # exit 1 if a case's exit code is not the expected one

The full-disk and read-only cases mount a tiny tmpfs inside a private user and mount namespace
(``unshare -rm``); where that is not possible they are listed as not run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli-faults.md"
CX = [sys.executable, "-m", "experiments.cli"]
TINY = ["population.n_customers=200", "steps=8", "evaluation.burn_in=2", "output.figure=false"]


@dataclass
class Case:
    what: str
    args: list[str]  # after `cxsim`
    expect: int
    shell: str | None = None  # run through `unshare -rm sh -c` (mount namespaces)
    setup: str | None = None  # name of a setup step


def cases(tmp: Path) -> list[Case]:
    f = tmp / "a_file"
    sw = tmp / "sweep_results"
    return [
        Case("version", ["--version"], 0),
        Case("general help", ["--help"], 0),
        Case("unknown command", ["frobnicate"], 2),
        Case("help of run", ["run", "--help"], 0),
        Case("help of sweep (errored before)", ["sweep", "--help"], 0),
        Case("help of scenarios (errored before)", ["scenarios", "--help"], 0),
        Case("help of compare", ["compare", "--help"], 0),
        Case("list KPIs", ["kpis", "retention"], 0),
        Case("list parameters", ["params", "firm.support"], 0),
        Case("unknown parameter prefix", ["params", "nope"], 2),
        Case("kpis with two prefixes", ["kpis", "a", "b"], 2),
        Case("a good run", ["run", *TINY, f"hydra.run.dir={tmp / 'ok'}"], 0),
        Case("negative population", ["run", "population.n_customers=-5"], 2),
        Case("fractional population", ["run", "population.n_customers=2.5"], 2),
        Case("support level above 1", ["run", "firm.support.financial=1.5"], 2),
        Case("unknown key", ["run", "typo=1"], 2),
        Case("unknown key added with +", ["run", "+typo=1"], 2),
        Case("unknown scenario", ["run", "scenario=nope"], 2),
        Case("unknown network kind", ["run", "market.network.kind=ring"], 2),
        Case("zero steps", ["run", "steps=0"], 2),
        Case("negative seed", ["run", "seed=-1"], 2),
        Case("text for a number", ["run", "firm.policy.personalization=high"], 2),
        Case("multirun with one bad value", ["run", "-m", "firm.support.human=0.2,1.5"], 2),
        Case(
            "shock after the run ends",
            ["run", "scenario=outage", "steps=20", "evaluation.burn_in=4"],
            2,
        ),
        Case("run not longer than its burn-in", ["run", "steps=20"], 2),
        Case(
            "shock at week 0 (never runs)", ["run", "scenario=outage", "shocks.outage.start=0"], 2
        ),
        Case(
            "compare: a scenario's shock after the end",
            ["compare", "scenarios=[baseline,outage]", "steps=20", "evaluation.burn_in=4"],
            2,
        ),
        Case("run directory is an existing file", ["run", f"hydra.run.dir={f}"], 2),
        Case("run directory under a file", ["run", f"hydra.run.dir={f}/sub"], 2),
        Case("non-ASCII run directory, unquoted", ["run", f"hydra.run.dir={tmp}/résultats"], 2),
        Case(
            "non-ASCII run directory, quoted as the error says",
            ["run", *TINY, f"hydra.run.dir='{tmp}/résultats'"],
            0,
        ),
        Case(
            "read-only location (read-only tmpfs)",
            [],
            2,
            shell="mount -t tmpfs -o ro,size=64k tmpfs {mnt} && {cx} run hydra.run.dir={mnt}/run",
        ),
        Case(
            "full disk (96 KiB tmpfs)",
            [],
            1,
            shell="mount -t tmpfs -o size=96k tmpfs {mnt} && {cx} run population.n_customers=200 "
            "steps=8 evaluation.burn_in=2 hydra.run.dir={mnt}/run",
        ),
        Case(
            "unreachable Dask scheduler",
            [
                "compare",
                *TINY,
                "scenarios=[baseline,fast_cadence]",
                "replicates=2",
                "executor=dask",
                "executor.address=tcp://127.0.0.1:1",
                f"hydra.run.dir={tmp / 'dask'}",
            ],
            1,
        ),
        Case("malformed Dask address", ["compare", "executor=dask", "executor.address=nowhere"], 2),
        Case("unknown flag", ["run", "--frobnicate"], 2),
        Case("control character in an argument", ["run", "steps=5\r"], 2),
        Case(
            "second command on a busy run directory",
            ["run", *TINY, f"hydra.run.dir={tmp / 'busy'}"],
            1,
            setup="hold",
        ),
        Case(
            "lock left by a kill -9 does not block",
            ["run", *TINY, f"hydra.run.dir={tmp / 'busy'}"],
            0,
            setup="kill",
        ),
        Case("compare: one replicate", ["compare", "replicates=1"], 2),
        Case("compare: unknown scenario", ["compare", "scenarios=[baseline,nope]"], 2),
        Case("compare: unknown KPI", ["compare", "output.kpis=[nps,happiness]"], 2),
        Case("compare: zero workers", ["compare", "executor.n_jobs=0"], 2),
        Case("compare: scenario= instead of scenarios=", ["compare", "scenario=outage"], 2),
        Case("sweep without a grid", ["sweep"], 2),
        Case(
            "sweep: value out of range", ["sweep", "sweep.grid={firm.support.human:[0.2,1.5]}"], 2
        ),
        Case("sweep: the seed in the grid", ["sweep", "sweep.grid={seed:[1,2]}"], 2),
        Case("sensitivity: unknown study", ["sensitivity", "sensitivity=nope"], 2),
        Case("sensitivity: unknown method", ["sensitivity", "sensitivity.method=magic"], 2),
        Case(
            "sensitivity: a study file given as a path",
            ["sensitivity", f"sensitivity={tmp / 'studies' / 'sensitivity' / 'mine.yaml'}"],
            2,
        ),
        Case(
            "sensitivity: one factor's bounds out of range (dotted name)",
            ["sensitivity", "sensitivity.factors.firm.support.human.bounds=[0.2,1.5]"],
            2,
        ),
        Case(
            "sensitivity: bounds of a factor the study lacks",
            ["sensitivity", "sensitivity.factors.firm.support.humna.bounds=[0.2,0.8]"],
            2,
        ),
        Case(
            "sensitivity: --config-dir that does not exist",
            ["sensitivity", "--config-dir", str(tmp / "nowhere"), "sensitivity=mine"],
            2,
        ),
        Case(
            "sensitivity: a study of your own (--config-dir) with one factor's bounds",
            [
                "sensitivity",
                "--config-dir",
                str(tmp / "studies"),
                "sensitivity=mine",
                "sensitivity.factors.firm.support.human.bounds=[0.3,0.6]",
                *TINY,
                "executor=serial",
                f"hydra.run.dir={tmp / 'own_study'}",
            ],
            0,
        ),
        Case(
            "sensitivity: the same study through hydra.searchpath",
            [
                "sensitivity",
                f"hydra.searchpath=[file://{tmp / 'studies'}]",
                "sensitivity=mine",
                *TINY,
                "executor=serial",
                f"hydra.run.dir={tmp / 'own_study_2'}",
            ],
            0,
        ),
        Case("scenarios with an argument", ["scenarios", "extra"], 2),
        Case("report: missing directory", ["report", str(tmp / "nowhere")], 2),
        Case(
            "report: --target running code (created a file before)",
            ["report", str(sw), "--target", "@pd.io.common.os.system('touch pwned') == 0"],
            2,
        ),
        Case(
            "report: --target with __import__",
            ["report", str(sw), "--target", "__import__('os')"],
            2,
        ),
        Case(
            "report: --target with attribute access",
            ["report", str(sw), "--target", "nps.__class__ == 1"],
            2,
        ),
        Case(
            "report: --target that is not a condition",
            ["report", str(sw), "--target", "nps + 1"],
            2,
        ),
        Case(
            "report: truncated comparison.csv (exited 0 before)",
            ["report", str(tmp / "truncated")],
            2,
            setup="truncated",
        ),
        Case(
            "report: comparison.csv without its last KPI rows",
            ["report", str(tmp / "cut_kpis")],
            2,
            setup="cut_kpis",
        ),
        Case(
            "report: runs.csv that disagrees with comparison.csv",
            ["report", str(tmp / "short_runs")],
            2,
            setup="short_runs",
        ),
        Case(
            "report: empty sweep.csv (a NaN error before)",
            ["report", str(tmp / "empty_sweep")],
            2,
            setup="empty",
        ),
        Case("report: 0-byte sweep.csv", ["report", str(tmp / "zero_sweep")], 2, setup="zero"),
        Case(
            "report: indices.csv cut inside a quoted field",
            ["report", str(tmp / "bad_indices")],
            2,
            setup="bad_indices",
        ),
        Case("report: a whole comparison", ["report", str(tmp / "whole")], 0, setup="whole"),
    ]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _namespaces() -> bool:
    if sys.platform != "linux" or not shutil.which("unshare"):
        return False
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(
            ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=8k tmpfs {d}"],
            capture_output=True,
        )
    return r.returncode == 0


def write_toy_sweep(directory: Path) -> Path:
    """A small, valid ``sweep.csv`` (2 x 2 grid, 2 replicates, made-up KPIs) for the report's
    ``--target`` cases; ``tests/test_whatif_target.py`` uses it too."""
    import numpy as np
    import pandas as pd

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = [
        {
            "point": p,
            "replicate": r,
            "seed": r,
            "key": f"k{p}{r}",
            "firm.support.human": h,
            "firm.policy.omnichannel": o,
            "nps": rng.normal(20, 5),
            "cumulative_profit": rng.normal(1e5, 1e4),
        }
        for p, (h, o) in enumerate([(0.2, 0.0), (0.2, 1.0), (0.8, 0.0), (0.8, 1.0)])
        for r in range(2)
    ]
    pd.DataFrame(rows).to_csv(directory / "sweep.csv", index=False)
    return directory


def _prepare(tmp: Path) -> None:

    (tmp / "a_file").write_text("not a directory\n")
    write_toy_sweep(tmp / "sweep_results")
    study = tmp / "studies" / "sensitivity"
    study.mkdir(parents=True)
    (study / "mine.yaml").write_text(
        "method: sobol\nn: 2\nreplicates: 1\nsecond_order: false\nnum_resamples: 20\n"
        "factors:\n  firm.support.human: {bounds: [0.0, 1.0]}\n"
        "  firm.policy.omnichannel: {bounds: [0.0, 1.0]}\noutputs: [nps]\n"
    )


def _setup(step: str | None, tmp: Path, state: dict) -> None:
    if step == "hold":
        code = (
            "import sys, time; from experiments.lock import run_dir_lock\n"
            f"with run_dir_lock({str(tmp / 'busy')!r}, 'cxsim compare'):\n"
            "    print('held', flush=True); time.sleep(600)\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=_env(), cwd=tmp
        )
        proc.stdout.readline()
        state["holder"] = proc
    elif step == "kill":
        proc = state.pop("holder")
        proc.kill()  # SIGKILL
        proc.wait()
    elif step == "truncated":
        d = tmp / "truncated"
        d.mkdir()
        r = subprocess.run(
            [
                *CX,
                "compare",
                *TINY,
                "replicates=2",
                "scenarios=[baseline,fast_cadence]",
                "executor=serial",
                "output.quiet=true",
                f"hydra.run.dir={d}",
            ],
            env=_env(),
            cwd=tmp,
            capture_output=True,
        )
        if r.returncode == 0:
            shutil.copytree(
                d, tmp / "whole_comparison", ignore=shutil.ignore_patterns(".cxsim.lock")
            )
            lines = (d / "comparison.csv").read_text().splitlines()
            (d / "comparison.csv").write_text("\n".join(lines[: len(lines) // 3]) + "\n")
    elif step in ("cut_kpis", "short_runs", "whole"):
        d = tmp / step
        shutil.copytree(tmp / "whole_comparison", d)
        if step == "cut_kpis":  # header + the first two KPIs of both scenarios: whole lines
            lines = (d / "comparison.csv").read_text().splitlines()
            (d / "comparison.csv").write_text("\n".join(lines[:5]) + "\n")
        elif step == "short_runs":
            lines = (d / "runs.csv").read_text().splitlines()
            (d / "runs.csv").write_text("\n".join(lines[:-1]) + "\n")
    elif step == "empty":
        d = tmp / "empty_sweep"
        d.mkdir()
        (d / "sweep.csv").write_text("point,replicate,seed,key,firm.support.human,nps\n")
    elif step == "zero":
        d = tmp / "zero_sweep"
        d.mkdir()
        (d / "sweep.csv").write_text("")
    elif step == "bad_indices":
        d = tmp / "bad_indices"
        d.mkdir()
        (d / "indices.csv").write_text(
            'output,factor,index,value\nnps,"firm.support.human,S1,0.5\n'
        )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run_cases(tmp: Path) -> list[tuple[Case, str, int | None, str, float]]:
    _prepare(tmp)
    ns = _namespaces()
    state: dict = {}
    rows = []
    for case in cases(tmp):
        _setup(case.setup, tmp, state)
        t0 = time.perf_counter()
        if case.shell is not None:
            mnt = tmp / f"mnt{len(rows)}"
            mnt.mkdir()
            shown = case.shell.format(mnt="$MNT", cx="cxsim")
            if not ns:
                rows.append((case, shown, None, "not run: needs user and mount namespaces", 0.0))
                continue
            script = case.shell.format(mnt=mnt, cx=" ".join(CX))
            r = subprocess.run(
                ["unshare", "-rm", "sh", "-c", script],
                capture_output=True,
                text=True,
                env=_env(),
                cwd=tmp,
                timeout=600,
            )
        else:
            shown = "cxsim " + " ".join(_quote(a) for a in case.args)
            r = subprocess.run(
                [*CX, *case.args], capture_output=True, text=True, env=_env(), cwd=tmp, timeout=600
            )
        seconds = time.perf_counter() - t0
        line = _first_line(r.stderr) or _first_line(r.stdout)
        if "Traceback" in r.stderr:
            line = "TRACEBACK: " + line
        rows.append((case, shown, r.returncode, line, seconds))
    if "holder" in state:
        state["holder"].kill()
    return rows


def _quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_=./:,[]{}+~$'" for c in arg) and "'" not in arg:
        return arg
    return "'" + arg.replace("'", "'\\''") + "'" if "\r" not in arg else repr(arg)


def _cell(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp), "$TMP").replace(sys.executable, "python")
    return text.replace("|", "\\|")


def markdown(rows, tmp: Path) -> str:
    lines = [
        "# Command-line faults: exit code and first line of output",
        "",
        "Generated by `scripts/cli_fault_table.py`, which runs every case below as a real `cxsim`",
        "process: regenerate it after changing the command line. Exit codes: 0 done; 2 bad input",
        "(nothing ran, nothing written); 1 could not finish (rerunning the same command resumes).",
        "`$TMP` is a scratch directory; `$MNT` a tmpfs mounted in a private namespace.",
        "",
        "| # | case | command | exit | expected | first line of output |",
        "|---:|---|---|---:|---:|---|",
    ]
    for i, (case, shown, code, line, seconds) in enumerate(rows, 1):
        what = case.what + (f" ({seconds:.1f} s)" if case.what.startswith("unreachable") else "")
        mark = "" if code in (None, case.expect) else " ✗"
        lines.append(
            f"| {i} | {_cell(what, tmp)} | `{_cell(shown, tmp)}` | {'–' if code is None else code}{mark} "
            f"| {case.expect} | {_cell(line, tmp)} |"
        )
    ran = [r for r in rows if r[2] is not None]
    ok = sum(r[2] == r[0].expect for r in ran)
    lines += ["", f"{len(rows)} cases, {len(ran)} run here; {ok} with the expected exit code."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if an exit code is unexpected")
    ap.add_argument("--out", type=Path, default=OUT)
    ns = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cxsim-faults-") as d:
        tmp = Path(d)
        rows = run_cases(tmp)
        text = markdown(rows, tmp)
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(text)
    bad = [r for r in rows if r[2] is not None and r[2] != r[0].expect]
    print(
        f"wrote {ns.out.relative_to(ROOT) if ns.out.is_relative_to(ROOT) else ns.out}: "
        f"{len(rows)} cases, {len(bad)} unexpected"
    )
    return 1 if ns.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
