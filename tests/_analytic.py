"""Analytical test functions (and their exact sensitivity indices) for the sensitivity tests.

They live in a module (not in the test file) so that loky workers and the subprocess of the
resume test can import them by name.  Each takes ``(params, seed)`` like the model wrapper and
returns ``{output: value}``.

Run as a script, it runs one Ishigami study (the resume test kills it mid-way)::

    python -m tests._analytic OUT_DIR N
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
G_A = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)


# --------------------------------------------------------------------------------------------
# Ishigami
# --------------------------------------------------------------------------------------------
def ishigami(params, seed):
    """y = sin x1 + a sin² x2 + b x3⁴ sin x1 (deterministic; other params are ignored)."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    s1 = math.sin(x1)
    return {"y": s1 + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * s1}


def slow_ishigami(params, seed):
    """ishigami after sleeping CXSIM_TEST_SLEEP seconds (0 if unset): same results."""
    time.sleep(float(os.environ.get("CXSIM_TEST_SLEEP", "0")))
    return ishigami(params, seed)


def ishigami_truth(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, list[float]]:
    """Exact indices on [-π, π]³: S1, ST (x1, x2, x3) and S13, the only non-zero S2."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * pi8 / 225
    v = v1 + v2 + v13
    return {
        "S1": [v1 / v, v2 / v, 0.0],
        "ST": [(v1 + v13) / v, v2 / v, v13 / v],
        "S13": [v13 / v],
    }


def ishigami_morris_mu_star(num_levels: int = 4) -> list[float]:
    """Expected Morris mu* of the Ishigami function on a p-level grid, by enumerating every
    elementary effect (base point on the grid, step Δ = p / (2(p - 1)) of the range upwards)."""
    import itertools

    p = num_levels
    levels = -math.pi + 2 * math.pi * np.arange(p) / (p - 1)
    jump = p // 2  # grid steps in Δ
    delta = jump / (p - 1)

    def f(x):
        return ishigami({"x1": x[0], "x2": x[1], "x3": x[2]}, 0)["y"]

    out = []
    for j in range(3):
        ees = []
        for idx in itertools.product(range(p), repeat=3):
            if idx[j] + jump >= p:
                continue
            lo = [levels[i] for i in idx]
            hi = list(lo)
            hi[j] = levels[idx[j] + jump]
            ees.append(abs(f(hi) - f(lo)) / delta)
        out.append(float(np.mean(ees)))
    return out


# --------------------------------------------------------------------------------------------
# Sobol' G function
# --------------------------------------------------------------------------------------------
def sobol_g(params, seed):
    """G = Π (|4 x_i - 2| + a_i) / (1 + a_i) on [0, 1]⁶ with a = G_A (x1 … x6)."""
    y = 1.0
    for i, a in enumerate(G_A):
        y *= (abs(4 * params[f"x{i + 1}"] - 2) + a) / (1 + a)
    return {"g": y}


def sobol_g_truth(a=G_A) -> dict[str, list[float]]:
    vi = [1 / (3 * (1 + ai) ** 2) for ai in a]
    v = math.prod(1 + x for x in vi) - 1
    st = [vi[i] * math.prod(1 + x for j, x in enumerate(vi) if j != i) / v for i in range(len(a))]
    return {"S1": [x / v for x in vi], "ST": st}


# --------------------------------------------------------------------------------------------
# Stochastic
# --------------------------------------------------------------------------------------------
def linear_noise(params, seed):
    """y = x1 + N(0, 0.3²) noise drawn from the seed; x2 has no effect at all."""
    noise = np.random.default_rng(seed).normal(0.0, 0.3)
    return {"y": params["x1"] + float(noise), "z": 2 * params["x1"] + float(noise)}


def fragile_ishigami(params, seed):
    """ishigami, except that it raises where x1 > 3 (a few rows of a sample)."""
    if params["x1"] > 3.0:
        raise ValueError(f"x1={params['x1']:.3f} is out of the model's comfort zone")
    return ishigami(params, seed)


def integer_probe(params, seed):
    """Returns the factor values as received (to check the integer rounding)."""
    return {"k_seen": float(params["k"]), "is_int": float(isinstance(params["k"], int))}


# --------------------------------------------------------------------------------------------
# Declarations used by the tests
# --------------------------------------------------------------------------------------------
PI = 3.141592653589793


def ishigami_decl(**over) -> dict:
    decl = {
        "method": "sobol",
        "n": 1024,
        "replicates": 1,
        "seed": 12345,
        "factors": {f"x{i}": {"bounds": [-PI, PI]} for i in (1, 2, 3)},
        "outputs": ["y"],
    }
    decl.update(over)
    return decl


def resume_decl(n: int) -> dict:
    """The study of the resume test (run by the subprocess and again in the test)."""
    return ishigami_decl(n=n, second_order=False, num_resamples=100)


def main(argv: list[str]) -> None:
    from experiments.executor import ExecutorConfig
    from experiments.sensitivity import run_sensitivity

    # the function as tests._analytic.slow_ishigami, not __main__.slow_ishigami: the run keys
    # include the model function's name, and the test resumes the study in-process
    from tests._analytic import slow_ishigami as fn

    out, n = argv[0], int(argv[1])
    run_sensitivity(
        resume_decl(n),
        fn,
        out_dir=out,
        executor=ExecutorConfig(kind="serial"),
        progress=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
