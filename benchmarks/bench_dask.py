"""Dask beyond one machine: a worked example, and the speed-up from 1 to 2 local Dask workers.

    python benchmarks/bench_dask.py                       # LocalCluster with 1, then 2 workers
    python benchmarks/bench_dask.py --runs 48 --repeats 5
    python benchmarks/bench_dask.py --address tcp://scheduler:8786   # a running cluster

What it does is what `cxsim sensitivity|compare|sweep executor=dask` does: a batch of
sensitivity-sized runs (2,000 customers x 52 weeks, the model-as-function seam
``experiments.model_fn``) goes through ``experiments.executor.run_tasks`` with
``ExecutorConfig(kind="dask", address=...)`` into a fresh run store. Each batch's stored KPIs
are checked equal, bit for bit, to a serial batch of the same tasks.

With ``--address`` it only runs the batch on that scheduler (for example one started by
dask-jobqueue on SLURM, see the README) and reports its throughput. Not part of the test suite
(``tests/test_dask_cluster.py`` runs the same path on a small LocalCluster in CI).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CUSTOMERS = 2_000


def make_tasks(runs: int, first_seed: int):
    from bench_model import sensitivity_tasks

    from experiments.store import Task, task_key

    return [
        Task(params=values, seed=seed, key=task_key(values, seed))
        for values, seed in sensitivity_tasks(runs, first_seed)
    ]


def run_batch(fn, tasks, executor, root: Path) -> tuple[float, object]:
    from experiments.executor import run_tasks
    from experiments.store import RunStore

    store = RunStore(root)
    t0 = time.perf_counter()
    summary = run_tasks(fn, tasks, store=store, executor=executor, progress=False)
    elapsed = time.perf_counter() - t0
    if summary.n_failed:
        raise SystemExit(f"bench_dask: {summary.n_failed} runs failed")
    return len(tasks) / elapsed, store.kpis()  # sorted by key


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=96, help="runs per batch (default 96)")
    ap.add_argument("--steps", type=int, default=52)
    ap.add_argument("--repeats", type=int, default=3, help="batches per worker count (median)")
    ap.add_argument("--address", default=None, help="a running Dask scheduler, tcp://host:port")
    args = ap.parse_args()

    import pandas as pd
    from distributed import LocalCluster

    from experiments.executor import ExecutorConfig
    from experiments.model_fn import model_function
    from sim import params_from_overrides

    base = params_from_overrides([f"population.n_customers={CUSTOMERS}"])
    fn = model_function(base, args.steps, outputs=("nps", "cumulative_profit"))
    work = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    tasks = make_tasks(args.runs, 0)
    _, reference = run_batch(fn, tasks, ExecutorConfig(kind="serial", n_jobs=1), work / "serial")
    kpi_cols = [c for c in reference.columns if c in ("nps", "cumulative_profit")]

    def check(kpis) -> None:
        pd.testing.assert_frame_equal(
            kpis[["key", *kpi_cols]], reference[["key", *kpi_cols]], check_exact=True
        )

    if args.address:
        ex = ExecutorConfig(kind="dask", address=args.address)
        rate, kpis = run_batch(fn, tasks, ex, work / "remote")
        check(kpis)
        print(f"{args.runs} runs on {args.address}: {rate:.2f} runs/s (bit-identical to serial)")
        return

    rates: dict[int, list[float]] = {1: [], 2: []}
    for workers in (1, 2):
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            ex = ExecutorConfig(kind="dask", address=cluster.scheduler_address)
            run_batch(
                fn, make_tasks(workers * 4, 50_000), ex, work / f"warm{workers}"
            )  # imports, pool
            for r in range(args.repeats):
                rate, kpis = run_batch(fn, tasks, ex, work / f"w{workers}_{r}")
                check(kpis)
                rates[workers].append(rate)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    result = {
        "customers": CUSTOMERS,
        "steps": args.steps,
        "runs_per_batch": args.runs,
        "repeats": args.repeats,
        "runs_per_s": {str(k): v for k, v in rates.items()},
        "median_runs_per_s": {"1": one, "2": two},
        "speed_up": two / one,
        "parallel_efficiency": two / (2 * one),
        "bit_identical_to_serial": True,
    }
    (HERE / "results_dask.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"Dask LocalCluster, {CUSTOMERS} customers x {args.steps} weeks, batches of {args.runs} "
        f"(median of {args.repeats}):"
    )
    print(f"  1 worker  {one:.2f} runs/s")
    print(
        f"  2 workers {two:.2f} runs/s   speed-up {two / one:.2f}x, parallel efficiency {two / (2 * one):.0%}"
    )
    print("  stored KPIs bit-identical to a serial batch of the same tasks")


if __name__ == "__main__":
    main()
