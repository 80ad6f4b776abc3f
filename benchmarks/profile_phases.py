"""Where a week's time goes: wall time per phase of ``CXModel.step`` (and the random draws inside
each phase), at sensitivity size (2,000 customers) and at 100,000 customers.

    python benchmarks/profile_phases.py                       # this tree and the base commit → PROFILE.md
    python benchmarks/profile_phases.py --base-ref none       # this tree only
    python benchmarks/profile_phases.py --sizes 2000 --weeks 52 --repeats 5

Each (tree, size) is measured in a fresh subprocess: a warm-up model (imports, compiled kernels)
runs a few weeks, then ``--repeats`` models of ``--weeks`` weeks are timed phase by phase; the
figure per phase is the median over repeats of its mean time per week. Times are the process's
CPU time (``time.process_time``: the model is single-threaded), which a shared machine's load
disturbs much less than wall time. Random draws are timed by
wrapping the model's named streams (``sim.rng.Streams``) in a timing proxy, so a phase's "draws"
column is the time spent inside numpy's generators for that phase. The timers add about 1 µs per
call. The base commit (``--base-ref``, default the last commit before issue 20) is exported with
``git archive`` into a temporary directory and imported from there, so both trees run the same
script in the same interpreter. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE_REF = "d78bd75"  # main before issue 20 landed: the same model without the kernels

PHASES = (
    "_phase_shocks",
    "_phase_occasions",
    "_phase_journeys",
    "_phase_evaluate",
    "_phase_purchases",
    "_phase_complaints",
    "_phase_learn",
    "_phase_word_of_mouth",
    "_phase_churn",
    "_phase_mechanism",
    "_phase_economics",
    "_phase_record",
)


# ------------------------------------------------------------------------------------------------
# the child: one tree, one size
# ------------------------------------------------------------------------------------------------
class _Clock:
    def __init__(self):
        self.phase = "other"
        self.total: dict[str, float] = {}
        self.draws: dict[str, float] = {}

    def add(self, table: dict, key: str, dt: float) -> None:
        table[key] = table.get(key, 0.0) + dt


class _TimedGenerator:
    """Forwards to a numpy Generator, adding the time of every call to the current phase."""

    def __init__(self, gen, clock: _Clock):
        self._gen, self._clock = gen, clock

    def __getattr__(self, name):
        attr = getattr(self._gen, name)
        if not callable(attr):
            return attr
        clock = self._clock

        def timed(*a, **k):
            t0 = time.process_time()
            try:
                return attr(*a, **k)
            finally:
                clock.add(clock.draws, clock.phase, time.process_time() - t0)

        return timed


def _instrument(model, clock: _Clock) -> None:
    from sim import rng as rng_mod

    for name in rng_mod.STREAMS:
        setattr(model.streams, name, _TimedGenerator(getattr(model.streams, name), clock))
    for name in PHASES:
        fn = getattr(model, name)

        def timed(*a, _fn=fn, _name=name, **k):
            prev, clock.phase = clock.phase, _name
            t0 = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                clock.add(clock.total, _name, time.process_time() - t0)
                clock.phase = prev

        setattr(model, name, timed)


def _new_model(params, seed: int):
    """A model as ``run_model`` builds it (no Mesa customer views; no DataCollector where the
    tree's ``run_model`` does without it)."""
    from sim import CXModel, mesa_compat

    model = CXModel(params, rng=seed, customer_agents=False)
    detach = getattr(mesa_compat, "detach_datacollector", None)
    if detach is not None:
        detach(model)
    return model


def child(n: int, weeks: int, repeats: int) -> dict:
    from sim import params_from_overrides

    params = params_from_overrides([f"population.n_customers={n}"])
    warm = _new_model(params, 0)
    for _ in range(3):
        warm.step()
    per_phase: dict[str, list[float]] = {}
    per_draw: dict[str, list[float]] = {}
    step_ms, plain_ms = [], []
    for r in range(repeats):
        # an uninstrumented run first: the true time per week
        model = _new_model(params, 1 + r)
        t0 = time.process_time()
        for _ in range(weeks):
            model.step()
        plain_ms.append(1e3 * (time.process_time() - t0) / weeks)
        clock = _Clock()
        model = _new_model(params, 1 + r)
        _instrument(model, clock)
        t0 = time.process_time()
        for _ in range(weeks):
            model.step()
        step_ms.append(1e3 * (time.process_time() - t0) / weeks)
        inside = sum(clock.total.values())
        clock.total["other"] = step_ms[-1] / 1e3 * weeks - inside
        for key in (*PHASES, "other"):
            per_phase.setdefault(key, []).append(1e3 * clock.total.get(key, 0.0) / weeks)
            per_draw.setdefault(key, []).append(1e3 * clock.draws.get(key, 0.0) / weeks)
    return {
        "customers": n,
        "weeks": weeks,
        "repeats": repeats,
        "week_ms": statistics.median(plain_ms),
        "week_ms_instrumented": statistics.median(step_ms),
        "phase_ms": {k: statistics.median(v) for k, v in per_phase.items()},
        "draw_ms": {k: statistics.median(v) for k, v in per_draw.items()},
    }


# ------------------------------------------------------------------------------------------------
# the parent
# ------------------------------------------------------------------------------------------------
def export_base(ref: str, dest: Path) -> Path:
    """``git archive`` of ``ref`` unpacked into ``dest`` (no network, no worktree bookkeeping)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_child(tree: Path, n: int, weeks: int, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(n),
            str(weeks),
            str(repeats),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tree),
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"profile of {tree} at n={n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def table(rows: list[tuple[str, dict]]) -> list[str]:
    """One Markdown table: a column pair (ms/week, of which draws) per (label, result)."""
    head = "| phase |" + "".join(
        f" {label}: ms/week (share) | of which draws |" for label, _ in rows
    )
    lines = [head, "|---|" + "---:|---:|" * len(rows)]
    for key in (*PHASES, "other"):
        cells = []
        for _, res in rows:
            ms, dr = res["phase_ms"][key], res["draw_ms"][key]
            share = 100 * ms / res["week_ms_instrumented"]
            cells.append(f" {ms:.3f} ({share:.0f}%) | {dr:.3f} |")
        lines.append(f"| `{key}` |" + "".join(cells))
    tot = []
    for _, res in rows:
        draws = sum(res["draw_ms"].values())
        tot.append(f" **{res['week_ms_instrumented']:.3f}** | **{draws:.3f}** |")
    lines.append("| week (instrumented) |" + "".join(tot))
    lines.append(
        "| week (plain, no timers) |" + "".join(f" {res['week_ms']:.3f} | |" for _, res in rows)
    )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000,100000")
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--base-ref", default=BASE_REF, help="git ref to compare with, or 'none'")
    ap.add_argument("--out", default=str(HERE / "PROFILE.md"))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, weeks, repeats = map(int, args.child)
        print("RESULT " + json.dumps(child(n, weeks, repeats)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[int, list[tuple[str, dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="cxsim-base-") as tmp:
        trees = [("this tree", ROOT)]
        if args.base_ref != "none":
            trees.insert(0, (f"base {args.base_ref}", export_base(args.base_ref, Path(tmp))))
        for n in sizes:
            weeks = args.weeks
            reps = args.repeats if n <= 100_000 else 1
            results[n] = []
            for label, tree in trees:
                res = run_child(tree, n, weeks, reps)
                print(f"  {label:>16} n={n:>9,}: {res['week_ms']:.3f} ms/week", flush=True)
                results[n].append((label, res))
    load_after = [round(x, 2) for x in os.getloadavg()]
    import numpy as np

    lines = [
        "# Where a week's time goes",
        "",
        "Generated by `python benchmarks/profile_phases.py` (issue 20); do not edit by hand.",
        f"Time per phase of `CXModel.step`, median over {args.repeats} runs of "
        f'{args.weeks} weeks after a warm-up model, in CPU time of the process; "draws" is the time spent inside the '
        "sequential random generators (`sim.rng.Streams`) during the phase: all of the base "
        "commit's weekly draws; in this tree only the shocks', as the weekly draws are "
        "counter-based and computed inside the kernels (`sim.counter_rng`), counted in their "
        "phase. `other` is `step()` outside the phases (the week's record, the Mesa "
        "DataCollector).",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')}, load average before/after {load_before} / "
        f"{load_after} on {os.cpu_count()} CPUs (the machine is shared: compare columns of one "
        f"table, not absolute figures); Python {platform.python_version()}, numpy {np.__version__}.",
    ]
    for n, rows in results.items():
        lines += ["", f"## {n:,} customers", ""]
        lines += table(rows)
        if len(rows) == 2:
            a, b = rows[0][1]["week_ms"], rows[1][1]["week_ms"]
            lines += ["", f"Speed-up of a week (plain): {a / b:.2f}×."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(
        json.dumps({str(n): dict(rows) for n, rows in results.items()}, indent=1) + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
