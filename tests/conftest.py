"""Shared fixtures: the real configuration, shrunk (tiny population, few weeks); and the
hypothesis profiles: ``ci`` (set when ``CI`` is, as in ``.ci/run``) derandomises the property
tests so a CI run cannot pass or fail by luck; ``HYPOTHESIS_PROFILE`` picks one explicitly."""

from __future__ import annotations

import os

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

from sim import params_from_overrides

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

SMALL = ["population.n_customers=600", "evaluation.burn_in=4"]


@pytest.fixture(scope="session")
def small_params():
    """The default configuration with 600 customers."""
    return params_from_overrides(SMALL)


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels():
    """Compile sim/kernels.py (or load it from numba's cache) once per test process before any
    test runs: the processes tests start (the CLI, the dashboard server) then load the cached
    kernels instead of compiling them inside a test's timeout."""
    from sim import kernels

    if kernels.ENABLED:
        kernels.warm_up()
