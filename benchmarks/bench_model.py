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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# a child measuring another tree (the base commit) imports `sim` from there
TREE = Path(os.environ.get("CXSIM_BENCH_TREE", str(ROOT)))
for path in (ROOT, TREE):  # TREE ends up first
    if str(path) in sys.path:
        sys.path.remove(str(path))
    sys.path.insert(0, str(path))

SENSITIVITY_CUSTOMERS = 2_000
BASE_REF = "d78bd75"  # main before issue 20 landed: the same model without the kernels


def overrides(n: int, steps: int) -> list[str]:
    """A market of ``n`` customers whose evaluation window fits ``steps`` weeks."""
    return [f"population.n_customers={n}", f"evaluation.burn_in={max(0, steps // 2)}"]


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

    # warm-up: a tiny run loads what a worker loads once (the compiled kernels from their cache)
    run_model(params_from_overrides(overrides(100, 2)), seed=seed, steps=2)
    params = params_from_overrides(overrides(n, steps))
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

    params = params_from_overrides(overrides(n, steps))
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

    base = params_from_overrides(overrides(SENSITIVITY_CUSTOMERS, steps))
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


def measure_runs(n: int, steps: int, runs: int) -> dict:
    """Sensitivity-sized runs one after another in this process, as a study's worker does them:
    ``runs`` calls of the model-as-function seam (factor values + seed → KPIs), after one
    warm-up call (imports, compiled kernels). Wall and CPU runs per second."""
    from experiments.model_fn import model_function
    from sim import params_from_overrides

    fn = model_function(
        params_from_overrides(overrides(n, steps)), steps, outputs=("nps", "cumulative_profit")
    )
    tasks = sensitivity_tasks(runs + 1, 7_000)
    fn(*tasks[0])
    t0, c0 = time.perf_counter(), time.process_time()
    for values, seed in tasks[1:]:
        fn(values, seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "runs": runs,
        "runs_per_s": runs / wall,
        "runs_per_cpu_s": runs / cpu,
        "peak_rss_mib": peak_rss_mib(),
    }


def measure_naive_runs(n: int, steps: int, runs: int) -> dict:
    """The naive Mesa model's sensitivity-sized runs: build + ``steps`` weeks, ``runs`` times."""
    from benchmarks.naive_mesa import NaiveModel
    from sim import params_from_overrides

    params = params_from_overrides(overrides(n, steps))
    t0, c0 = time.perf_counter(), time.process_time()
    for seed in range(runs):
        model = NaiveModel(params, rng=seed)
        for _ in range(steps):
            model.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "runs": runs,
        "runs_per_s": runs / wall,
        "runs_per_cpu_s": runs / cpu,
        "peak_rss_mib": peak_rss_mib(),
    }


def measure_startup(n: int, steps: int) -> dict:
    """What a fresh worker pays before its first run: importing the model (numba and the cached
    kernels included) and the first small run, against a second run of the same size."""
    t0 = time.perf_counter()
    from sim import params_from_overrides, run_model

    imported = time.perf_counter() - t0
    params = params_from_overrides(overrides(n, steps))
    t0 = time.perf_counter()
    run_model(params, seed=1, steps=steps)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_model(params, seed=2, steps=steps)
    second = time.perf_counter() - t0
    return {"import_s": imported, "first_run_s": first, "second_run_s": second}


def child_main(argv: list[str]) -> None:
    kind, n, steps, seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    if kind == "vectorised":
        out = measure_vectorised(n, steps, seed)
    elif kind == "naive":
        out = measure_naive(n, steps, seed)
    elif kind == "runs":
        out = measure_runs(n, steps, seed)  # seed: the number of runs
    elif kind == "naive_runs":
        out = measure_naive_runs(n, steps, seed)
    else:
        out = measure_startup(n, steps)
    print("RESULT " + json.dumps(out))


def export_tree(ref: str, dest: Path) -> Path:
    """``git archive`` of ``ref`` unpacked into ``dest``: the base commit, run side by side."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def in_child(kind: str, n: int, steps: int, seed: int, tree: Path = ROOT) -> dict:
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
        cwd=str(tree),
        env=dict(os.environ, CXSIM_BENCH_TREE=str(tree)),
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


def summarise_runs(samples: dict[str, list[dict]], n: int, steps: int, runs: int) -> dict:
    """Medians of the serial-run samples and the ratios, each ratio the median of the ratios of
    samples taken one after the other (so they share the machine's load)."""
    out: dict = {"customers": n, "steps": steps, "runs_per_sample": runs}
    for key, vals in samples.items():
        if vals:
            out[key] = {
                "runs_per_s": statistics.median(v["runs_per_s"] for v in vals),
                "runs_per_s_range": [
                    min(v["runs_per_s"] for v in vals),
                    max(v["runs_per_s"] for v in vals),
                ],
                "runs_per_cpu_s": statistics.median(v["runs_per_cpu_s"] for v in vals),
                "peak_rss_mib": statistics.median(v["peak_rss_mib"] for v in vals),
                "samples": vals,
            }
    for other in ("base", "naive"):
        if samples["this"] and samples[other]:
            pairs = list(zip(samples["this"], samples[other], strict=True))
            out[f"speedup_vs_{other}"] = statistics.median(
                a["runs_per_s"] / b["runs_per_s"] for a, b in pairs
            )
            out[f"speedup_vs_{other}_cpu"] = statistics.median(
                a["runs_per_cpu_s"] / b["runs_per_cpu_s"] for a, b in pairs
            )
    return out


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def noise(summary: dict) -> str:
    lo, hi = summary["customer_steps_per_s_range"]
    med = summary["customer_steps_per_s"]
    return f"±{100 * max(med - lo, hi - med) / med:.0f}%" if summary["runs"] > 1 else "1 run"


def markdown(results: dict) -> str:
    steps = results["meta"]["steps"]
    base_ref = results["meta"].get("base_ref", "none")
    lines: list[str] = []
    r = results.get("runs")
    if r:
        this = r["this"]
        lines += [
            f"Sensitivity-sized runs, serial ({r['customers']:,} customers × {r['steps']} weeks, "
            f"model-as-function calls, {r['runs_per_sample']} runs per sample, median of "
            f"{len(this['samples'])} interleaved samples):",
            "",
            "| | runs/s (wall) | runs per CPU-second | peak RSS | this tree is |",
            "|---|---:|---:|---:|---:|",
            f"| this tree | {this['runs_per_s']:.2f} | {this['runs_per_cpu_s']:.2f} "
            f"| {this['peak_rss_mib']:.0f} MiB | |",
        ]
        for key, label in (("base", f"base {base_ref}"), ("naive", "naive Mesa")):
            if key in r:
                v = r[key]
                lines.append(
                    f"| {label} | {v['runs_per_s']:.2f} | {v['runs_per_cpu_s']:.2f} "
                    f"| {v['peak_rss_mib']:.0f} MiB | {r[f'speedup_vs_{key}']:.1f}× faster "
                    f"({r[f'speedup_vs_{key}_cpu']:.1f}× in CPU time) |"
                )
        lines.append("")
    lines += [
        f"| customers × {steps} steps | run_model customer-steps/s | build | run_model wall | peak RSS "
        f"| base {base_ref} customer-steps/s | base peak RSS | vs base "
        "| naive Mesa customer-steps/s | naive peak RSS | vs naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["scaling"]:
        v, nv, bv = row["vectorised"], row.get("naive"), row.get("base")
        left = (
            f"| {row['customers']:,} | {fmt_rate(v['customer_steps_per_s'])} ({noise(v)}) | {v['build_s']:.2f} s "
            f"| {v['run_s']:.2f} s | {v['peak_rss_mib']:.0f} MiB |"
        )
        mid = (
            f" {fmt_rate(bv['customer_steps_per_s'])} ({noise(bv)}) | {bv['peak_rss_mib']:.0f} MiB "
            f"| {row['speedup_vs_base']:.2f}× |"
            if bv
            else " – | – | – |"
        )
        if nv is None:
            right = " – | – | – |"
        elif nv.get("extrapolated"):
            right = f" ~{fmt_rate(nv['customer_steps_per_s'])} (extrapolated) | – | ~{row['speedup']:.0f}× |"
        else:
            right = (
                f" {fmt_rate(nv['customer_steps_per_s'])} ({noise(nv)}) "
                f"| {nv['peak_rss_mib']:.0f} MiB | {row['speedup']:.0f}× |"
            )
        lines.append(left + mid + right)
    st = results.get("startup")
    if st:
        lines += [
            "",
            f"A fresh worker's start-up (import of the model, then two runs of 2,000 × {steps}):",
            "",
            "| | import | first run | second run |",
            "|---|---:|---:|---:|",
        ]
        for key, v in st.items():
            label = "this tree" if key == "this" else f"base {base_ref}"
            lines.append(
                f"| {label} | {v['import_s']:.2f} s | {v['first_run_s']:.2f} s | {v['second_run_s']:.2f} s |"
            )
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
    ap.add_argument(
        "--runs", type=int, default=16, help="serial 2,000-customer runs per sample (0: skip)"
    )
    ap.add_argument(
        "--no-naive-runs", action="store_true", help="skip the naive 2,000-customer runs"
    )
    ap.add_argument(
        "--base-ref",
        default=BASE_REF,
        help="git ref measured side by side (exported with git archive), or 'none'",
    )
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
        args.runs = 4
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
    tmp = tempfile.TemporaryDirectory(prefix="cxsim-base-")
    base = export_tree(args.base_ref, Path(tmp.name)) if args.base_ref != "none" else None
    meta["base_ref"] = args.base_ref
    naive_rate = None  # last measured naive throughput (for extrapolation)
    # --- sensitivity-sized runs, serial: this tree, the base commit, the naive Mesa model ---
    if args.runs:
        n_small = SENSITIVITY_CUSTOMERS
        print(
            f"  {n_small:,} customers x {args.steps} weeks, {args.runs} runs per sample", flush=True
        )
        samples: dict[str, list[dict]] = {"this": [], "base": [], "naive": []}
        for _ in range(args.repeats):
            samples["this"].append(in_child("runs", n_small, args.steps, args.runs))
            if base is not None:
                samples["base"].append(in_child("runs", n_small, args.steps, args.runs, base))
            if not args.no_naive_runs:
                samples["naive"].append(
                    in_child("naive_runs", n_small, args.steps, max(1, args.runs // 8))
                )
            print(
                "   "
                + ", ".join(
                    f"{k} {v[-1]['runs_per_s']:.2f} runs/s" for k, v in samples.items() if v
                ),
                flush=True,
            )
        results["runs"] = summarise_runs(samples, n_small, args.steps, args.runs)
    # --- worker start-up: imports, compiled kernels, first run ---
    results["startup"] = {"this": in_child("startup", SENSITIVITY_CUSTOMERS, args.steps, 0)}
    if base is not None:
        results["startup"]["base"] = in_child("startup", SENSITIVITY_CUSTOMERS, args.steps, 0, base)
    for n in sizes:
        reps = args.repeats if n <= 100_000 else max(1, min(args.repeats, 2))
        vec, old, nai = [], [], []
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
            if base is not None:
                old.append(in_child("vectorised", n, args.steps, seed, base))
                print(
                    f"  base       n={n:>9,} run {r + 1}: {fmt_rate(old[-1]['customer_steps_per_s'])} customer-steps/s, "
                    f"build {old[-1]['build_s']:.2f} s, peak {old[-1]['peak_rss_mib']:.0f} MiB",
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
        if old:
            row["base"] = summarise(old)
            row["speedup_vs_base"] = statistics.median(
                a["customer_steps_per_s"] / b["customer_steps_per_s"]
                for a, b in zip(vec, old, strict=True)
            )
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
    tmp.cleanup()
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
