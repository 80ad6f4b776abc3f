"""Performance benchmark of cxsim: throughput, build time and peak memory by population size,
against a naive per-agent Mesa version of the same rules, and sensitivity-study throughput.

    python benchmarks/bench_model.py                      # the full table (several minutes)
    python benchmarks/bench_model.py --quick              # a smoke run (seconds)
    python benchmarks/bench_model.py --sizes 1000,10000 --steps 52 --repeats 3

Every measurement runs in a fresh subprocess, so its peak memory (``VmHWM``, the resident-set
high-water mark) belongs to that measurement alone. Vectorised and naive runs of one size are
interleaved, so they share the machine's load; each figure is the median of ``--repeats`` runs
and the min-max range is reported as the noise. Results go to ``benchmarks/results.json`` and a
Markdown table is printed for ``benchmarks/README.md``.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SENSITIVITY_CUSTOMERS = 2_000


# ------------------------------------------------------------------------------------------------
# measurements (each in its own process)
# ------------------------------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """Resident-set high-water mark of this process (MiB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_vectorised(n: int, steps: int, seed: int) -> dict:
    """``run_model`` wall time, with the model's build time measured on a separate instance."""
    from sim import CXModel, params_from_overrides, run_model

    params = params_from_overrides([f"population.n_customers={n}"])
    rss_idle = peak_rss_mib()
    t0 = time.perf_counter()
    model = CXModel(params, rng=seed, customer_agents=False)
    build = time.perf_counter() - t0
    del model
    t0 = time.perf_counter()
    result = run_model(params, seed=seed, steps=steps)
    total = time.perf_counter() - t0
    return {
        "build_s": build,
        "run_s": total,
        "step_s": total - build,
        "customer_steps_per_s": n * steps / (total - build),
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_imports_mib": rss_idle,
        "final_nps": result.kpis["nps"],
    }


def measure_naive(n: int, steps: int, seed: int) -> dict:
    from benchmarks.naive_mesa import NaiveModel
    from sim import params_from_overrides

    params = params_from_overrides([f"population.n_customers={n}"])
    rss_idle = peak_rss_mib()
    t0 = time.perf_counter()
    model = NaiveModel(params, rng=seed)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    step = time.perf_counter() - t0
    return {
        "build_s": build,
        "run_s": build + step,
        "step_s": step,
        "customer_steps_per_s": n * steps / step,
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_imports_mib": rss_idle,
        "final_nps": model.history[-1]["nps"],
    }


def sensitivity_tasks(runs: int, first_seed: int) -> list[tuple[dict, int]]:
    """A batch of sensitivity-study evaluations: two factors varied, one seed each."""
    return [
        (
            {
                "firm.support.human": 0.1 + 0.8 * ((i * 0.618) % 1.0),
                "firm.policy.omnichannel": 0.1 + 0.8 * ((i * 0.382) % 1.0),
            },
            first_seed + i,
        )
        for i in range(runs)
    ]


def measure_sensitivity(runs: int, steps: int, repeats: int) -> dict:
    """Runs per second serially and through joblib's loky backend with 1 and 2 workers.

    Each run is one call of the model-as-function seam (``experiments.model_fn``, the path of
    the sensitivity and sweep commands): dotted factor values + seed → KPIs, 2,000 customers.
    The worker pool is started and warmed before timing (a real study amortises it over
    thousands of runs); serial, 1 and 2 workers alternate, ``repeats`` times."""
    from joblib import Parallel, delayed

    from experiments.model_fn import model_function
    from sim import params_from_overrides

    base = params_from_overrides([f"population.n_customers={SENSITIVITY_CUSTOMERS}"])
    fn = model_function(base, steps, outputs=("nps", "cumulative_profit"))

    def batch(jobs: int | None, first_seed: int) -> float:
        tasks = sensitivity_tasks(runs, first_seed)
        t0 = time.perf_counter()
        if jobs is None:
            out = [fn(values, seed) for values, seed in tasks]
        else:
            out = Parallel(n_jobs=jobs, backend="loky")(
                delayed(fn)(values, seed) for values, seed in tasks
            )
        assert len(out) == runs
        return runs / (time.perf_counter() - t0)

    for jobs in (None, 1, 2):  # warm-up: imports, worker start
        batch(jobs, 10_000)
    rates: dict[str, list[float]] = {"serial": [], "loky_1": [], "loky_2": []}
    for r in range(repeats):
        for key, jobs in (("serial", None), ("loky_1", 1), ("loky_2", 2)):
            rates[key].append(batch(jobs, 100 * r))
    med = {k: statistics.median(v) for k, v in rates.items()}
    eff = [two / (2 * one) for one, two in zip(rates["loky_1"], rates["loky_2"], strict=True)]
    return {
        "customers": SENSITIVITY_CUSTOMERS,
        "steps": steps,
        "runs_per_batch": runs,
        "repeats": repeats,
        "runs_per_s": rates,
        "median_runs_per_s": med,
        "parallel_efficiency": statistics.median(eff),
        "parallel_efficiency_range": [min(eff), max(eff)],
    }


def child_main(argv: list[str]) -> None:
    kind, n, steps, seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    out = (
        measure_vectorised(n, steps, seed)
        if kind == "vectorised"
        else measure_naive(n, steps, seed)
    )
    print("RESULT " + json.dumps(out))


def in_child(kind: str, n: int, steps: int, seed: int) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            str(n),
            str(steps),
            str(seed),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=str(ROOT),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{kind} n={n} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------
def summarise(samples: list[dict]) -> dict:
    keys = ("customer_steps_per_s", "build_s", "run_s", "peak_rss_mib")
    out = {k: statistics.median(s[k] for s in samples) for k in keys}
    out["customer_steps_per_s_range"] = [
        min(s["customer_steps_per_s"] for s in samples),
        max(s["customer_steps_per_s"] for s in samples),
    ]
    out["rss_after_imports_mib"] = statistics.median(s["rss_after_imports_mib"] for s in samples)
    out["runs"] = len(samples)
    out["samples"] = samples
    return out


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def noise(summary: dict) -> str:
    lo, hi = summary["customer_steps_per_s_range"]
    med = summary["customer_steps_per_s"]
    return f"±{100 * max(med - lo, hi - med) / med:.0f}%" if summary["runs"] > 1 else "1 run"


def markdown(results: dict) -> str:
    steps = results["meta"]["steps"]
    lines = [
        f"| customers × {steps} steps | run_model customer-steps/s | build | run_model wall | peak RSS "
        "| naive Mesa customer-steps/s | naive build | naive peak RSS | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["scaling"]:
        v, nv = row["vectorised"], row.get("naive")
        left = (
            f"| {row['customers']:,} | {fmt_rate(v['customer_steps_per_s'])} ({noise(v)}) | {v['build_s']:.2f} s "
            f"| {v['run_s']:.2f} s | {v['peak_rss_mib']:.0f} MiB |"
        )
        if nv is None:
            right = " – | – | – | – |"
        elif nv.get("extrapolated"):
            right = (
                f" ~{fmt_rate(nv['customer_steps_per_s'])} (extrapolated) | – | – "
                f"| ~{row['speedup']:.0f}× |"
            )
        else:
            right = (
                f" {fmt_rate(nv['customer_steps_per_s'])} ({noise(nv)}) | {nv['build_s']:.2f} s "
                f"| {nv['peak_rss_mib']:.0f} MiB | {row['speedup']:.0f}× |"
            )
        lines.append(left + right)
    s = results.get("sensitivity")
    if s:
        m = s["median_runs_per_s"]
        lo, hi = s["parallel_efficiency_range"]
        lines += [
            "",
            f"Sensitivity-sized runs ({s['customers']:,} customers × {s['steps']} steps, batches of "
            f"{s['runs_per_batch']}, median of {s['repeats']}):",
            "",
            "| serial | joblib loky, 1 worker | joblib loky, 2 workers | parallel efficiency (2 vs 1) |",
            "|---:|---:|---:|---:|",
            f"| {m['serial']:.2f} runs/s | {m['loky_1']:.2f} runs/s | {m['loky_2']:.2f} runs/s "
            f"| {100 * s['parallel_efficiency']:.0f}% (range {100 * lo:.0f}–{100 * hi:.0f}%) |",
        ]
    meta = results["meta"]
    lines += [
        "",
        f"Load average before/after: {meta['loadavg_before']} / {meta['loadavg_after']} "
        f"on {meta['cpus']} CPUs; Python {meta['python']}, numpy {meta['numpy']}, Mesa {meta['mesa']}.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", default="1000,10000,100000,1000000", help="populations, comma-separated"
    )
    ap.add_argument("--steps", type=int, default=52, help="weeks per run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size (median reported)")
    ap.add_argument(
        "--naive-sizes", default="1000,10000,100000", help="sizes to run the naive Mesa baseline at"
    )
    ap.add_argument(
        "--naive-max-seconds",
        type=float,
        default=300.0,
        help="skip (and extrapolate) a naive run expected to take longer than this",
    )
    ap.add_argument("--sensitivity-runs", type=int, default=24, help="runs per sensitivity batch")
    ap.add_argument("--no-sensitivity", action="store_true")
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, few steps, one repeat (a smoke run)"
    )
    ap.add_argument("--out", default=str(HERE / "results.json"))
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child)
        return
    if args.quick:
        args.sizes, args.naive_sizes, args.steps, args.repeats, args.sensitivity_runs = (
            "1000,10000",
            "1000",
            8,
            1,
            4,
        )
    sizes = [int(s) for s in args.sizes.split(",") if s]
    naive_sizes = {int(s) for s in args.naive_sizes.split(",") if s}

    import mesa
    import numpy as np

    meta = {
        "steps": args.steps,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "machine": platform.machine(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    results: dict = {"meta": meta, "scaling": []}
    naive_rate = None  # last measured naive throughput (for extrapolation)
    for n in sizes:
        reps = args.repeats if n <= 100_000 else max(1, min(args.repeats, 2))
        vec, nai = [], []
        run_naive = n in naive_sizes
        if run_naive and naive_rate is not None:
            expected = n * args.steps / naive_rate * reps
            if expected > args.naive_max_seconds:
                reps_naive = 1 if n * args.steps / naive_rate <= args.naive_max_seconds else 0
            else:
                reps_naive = reps
        else:
            reps_naive = reps if run_naive else 0
        for r in range(reps):
            seed = 1 + r
            vec.append(in_child("vectorised", n, args.steps, seed))
            print(
                f"  vectorised n={n:>9,} run {r + 1}: {fmt_rate(vec[-1]['customer_steps_per_s'])} customer-steps/s, "
                f"build {vec[-1]['build_s']:.2f} s, peak {vec[-1]['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
            if r < reps_naive:
                nai.append(in_child("naive", n, args.steps, seed))
                print(
                    f"  naive      n={n:>9,} run {r + 1}: {fmt_rate(nai[-1]['customer_steps_per_s'])} customer-steps/s, "
                    f"build {nai[-1]['build_s']:.2f} s, peak {nai[-1]['peak_rss_mib']:.0f} MiB",
                    flush=True,
                )
        row = {"customers": n, "vectorised": summarise(vec)}
        if nai:
            row["naive"] = summarise(nai)
            naive_rate = row["naive"]["customer_steps_per_s"]
            row["speedup"] = row["vectorised"]["customer_steps_per_s"] / naive_rate
        elif run_naive and naive_rate is not None:
            row["naive"] = {
                "customer_steps_per_s": naive_rate,
                "extrapolated": True,
                "note": "not run (over --naive-max-seconds): throughput of the largest measured size",
            }
            row["speedup"] = row["vectorised"]["customer_steps_per_s"] / naive_rate
        results["scaling"].append(row)
    if not args.no_sensitivity:
        print("  sensitivity throughput ...", flush=True)
        results["sensitivity"] = measure_sensitivity(
            args.sensitivity_runs, args.steps, args.repeats
        )
    meta["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(markdown(results))
    print(f"\n(results written to {Path(args.out).name})")


if __name__ == "__main__":
    main()
