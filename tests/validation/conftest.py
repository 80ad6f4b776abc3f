"""Recording of measured values: every validation test calls ``record(key, ...)`` before it
asserts, which prints the measurement and writes ``<key>.json`` into the measurements folder;
after the test the outcome (passed, failed, xfailed, ...) is added to the same file.

The folder is ``$CXSIM_MEASURED_DIR`` when set (``scripts/validation_table.py`` renders
``VALIDATION.md``'s table from it), otherwise a temporary folder of the test session, so a
plain test run writes nothing into the source tree."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.validation import SEED0

MEASURED_ENV = "CXSIM_MEASURED_DIR"
_PATHS = pytest.StashKey[list]()


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple | np.ndarray):
        return [_plain(v) for v in x]
    if isinstance(x, np.integer | np.bool_):
        return x.item()
    if isinstance(x, float | np.floating):
        x = float(x)
        return None if not math.isfinite(x) else round(x, 6)
    return x


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    path.write_text(json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def measured_dir(tmp_path_factory) -> Path:
    """Where the measurements go: ``$CXSIM_MEASURED_DIR``, else a temporary folder."""
    env = os.environ.get(MEASURED_ENV)
    return Path(env) if env else tmp_path_factory.mktemp("measured")


@pytest.fixture
def record(request, measured_dir):
    """``record(key, measured, expected, **values)``: store and print one fact's measurement.

    ``measured`` is the one-line summary shown in the table, ``expected`` the asserted range,
    ``values`` the numbers behind it."""

    def _record(key: str, measured: str, expected: str, **values: Any) -> None:
        path = measured_dir / f"{key}.json"
        request.node.stash.setdefault(_PATHS, []).append(path)
        marker = request.node.get_closest_marker("xfail")
        data = {
            "key": key,
            "test": request.node.nodeid,
            "measured": measured,
            "expected": expected,
            "values": values,
            "seed0": SEED0,
            "xfail_reason": marker.kwargs.get("reason", "") if marker else "",
            "outcome": "running",
        }
        _write(path, data)
        print(f"\n[validation {key}] measured: {measured}  (asserted: {expected})")

    return _record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    paths = item.stash.get(_PATHS, [])
    if paths and (rep.when == "call" or rep.failed):
        if rep.skipped and hasattr(rep, "wasxfail"):
            outcome = "xfailed"
        elif rep.failed and str(rep.longrepr).startswith("[XPASS(strict)]"):
            outcome = "xpassed"
        elif rep.passed and hasattr(rep, "wasxfail"):
            outcome = "xpassed"
        else:
            outcome = rep.outcome
        for path in paths:
            data = json.loads(path.read_text())
            data["outcome"] = outcome
            _write(path, data)
    return rep
