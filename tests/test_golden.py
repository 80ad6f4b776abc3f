"""The fixed-seed golden summary: any change in model behaviour shows up here.

If the change is intended, refresh it with `python scripts/update_golden.py` and say why in
the commit message."""

from __future__ import annotations

import json

import pytest

from scripts.update_golden import GOLDEN, golden_summary


def test_golden_summary_unchanged():
    expected = json.loads(GOLDEN.read_text())
    actual = golden_summary()
    assert actual["overrides"] == expected["overrides"]
    for section in ("kpis", "mean"):
        for key, value in expected[section].items():
            got = actual[section][key]
            if value is None:
                assert got is None, key
            else:
                assert got == pytest.approx(value, rel=1e-9, abs=1e-9), f"{section}.{key}"
