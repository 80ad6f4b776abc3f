"""What ``model.datacollector`` costs: 2,000 customers x 52 weeks, with and without it.

    python benchmarks/bench_datacollector.py                 # 7 interleaved repeats
    python benchmarks/bench_datacollector.py --customers 10000 --repeats 3

Variants, interleaved so that they share the machine's load (each figure is the median of the
repeats, with the min-max range as the noise; under load the ratio of the minima is the steadier):

* ``off``        the DataCollector switched off (``model.datacollector = None``): the step loop
                 as it was before the model had one;
* ``kpis``       the default: the weekly KPIs (and the seed) collected every week;
* ``sample=k``   ``customer_sample=k``: also k customers' status, firm, affect, satisfaction and
                 loyalty every week (Mesa agent-type reporters).

Building the model is timed apart from the 52 steps. On a shared machine the step-loop figures
are noisy; the cost of one ``datacollector.collect`` is also timed on its own (``timeit`` on a
model after one week), which says the same thing more precisely. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim import CXModel, Params, with_updates  # noqa: E402


def one_run(params: Params, seed: int, steps: int, variant: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    if variant.startswith("sample="):
        model = CXModel(params, rng=seed, customer_sample=int(variant.split("=")[1]))
    else:
        model = CXModel(params, rng=seed, customer_agents=False)
        if variant == "off":
            model.datacollector = None
    t1 = time.perf_counter()
    for _ in range(steps):
        model.step()
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--steps", type=int, default=52)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--samples", default="100,2000", help="customer_sample sizes, comma-separated")
    args = ap.parse_args()
    params = with_updates(Params(), {"population.n_customers": args.customers})
    variants = ["off", "kpis", *(f"sample={k}" for k in args.samples.split(",") if k)]
    one_run(params, 0, 2, "kpis")  # warm-up: imports, caches
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for r in range(args.repeats):
        for v in variants:
            times[v].append(one_run(params, 100 + r, args.steps, v))
    base = statistics.median(s for _, s in times["off"])
    base_min = min(s for _, s in times["off"])
    print(
        f"{args.customers:,} customers x {args.steps} weeks, median of {args.repeats} (min-max)\n"
    )
    print("| variant | build (ms) | 52 steps (s) | / off (medians) | / off (minima) |")
    print("|---|---|---|---|---|")
    for v in variants:
        build = statistics.median(b for b, _ in times[v]) * 1e3
        steps = [s for _, s in times[v]]
        med = statistics.median(steps)
        print(
            f"| {v} | {build:.1f} | {med:.3f} ({min(steps):.3f}-{max(steps):.3f}) | {med / base:.3f} | {min(steps) / base_min:.3f} |"
        )
    print("\n| variant | one collect (µs) | share of a week's step |")
    print("|---|---|---|")
    week = base / args.steps
    for v in variants[1:]:
        k = int(v.split("=")[1]) if v.startswith("sample=") else 0
        model = (
            CXModel(params, rng=1, customer_sample=k)
            if k
            else CXModel(params, rng=1, customer_agents=False)
        )
        model.step()
        number = max(10, 20_000 // (k + 10))
        t = timeit.timeit(lambda m=model: m.datacollector.collect(m), number=number) / number
        print(f"| {v} | {t * 1e6:.0f} | {t / week:.1%} |")


if __name__ == "__main__":
    main()
