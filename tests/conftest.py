"""Shared fixtures: the real configuration, shrunk (tiny population, few weeks)."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

from sim import params_from_overrides

SMALL = ["population.n_customers=600", "evaluation.burn_in=4"]


@pytest.fixture(scope="session")
def small_params():
    """The default configuration with 600 customers."""
    return params_from_overrides(SMALL)
