"""Recording of measured values: every validation test calls ``record(key, ...)`` before it
asserts, which prints the measurement and writes ``_measured/<key>.json``; after the test the
outcome (passed, failed, xfailed, ...) is added to the same file.  ``_measured/`` is
generated output (it ignores itself in git); ``scripts/validation_table.py`` renders
``VALIDATION.md``'s table from it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.validation import SEED0

MEASURED = Path(__file__).resolve().parent / "_measured"
_KEYS = pytest.StashKey[list]()


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


def _write(key: str, data: dict) -> None:
    MEASURED.mkdir(exist_ok=True)
    ignore = MEASURED / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    (MEASURED / f"{key}.json").write_text(
        json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n"
    )


@pytest.fixture
def record(request):
    """``record(key, measured, expected, **values)``: store and print one fact's measurement.

    ``measured`` is the one-line summary shown in the table, ``expected`` the asserted range,
    ``values`` the numbers behind it."""

    def _record(key: str, measured: str, expected: str, **values: Any) -> None:
        keys = request.node.stash.setdefault(_KEYS, [])
        keys.append(key)
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
        _write(key, data)
        print(f"\n[validation {key}] measured: {measured}  (asserted: {expected})")

    return _record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    keys = item.stash.get(_KEYS, [])
    if keys and (rep.when == "call" or rep.failed):
        if rep.skipped and hasattr(rep, "wasxfail"):
            outcome = "xfailed"
        elif rep.failed and str(rep.longrepr).startswith("[XPASS(strict)]"):
            outcome = "xpassed"
        elif rep.passed and hasattr(rep, "wasxfail"):
            outcome = "xpassed"
        else:
            outcome = rep.outcome
        for key in keys:
            path = MEASURED / f"{key}.json"
            if path.exists():
                data = json.loads(path.read_text())
                data["outcome"] = outcome
                _write(key, data)
    return rep
