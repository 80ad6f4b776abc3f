"""sim/ODD.md names the functions that implement each submodel: they must exist, and the
schedule it lists must be the one CXModel.step runs."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

ODD = (Path(__file__).resolve().parents[1] / "sim" / "ODD.md").read_text()
NAMES = sorted(set(re.findall(r"`(sim(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`", ODD)))


def resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_odd_names_many_functions():
    assert len(NAMES) >= 40


def test_every_named_function_exists():
    missing = []
    for name in NAMES:
        try:
            resolve(name)
        except (AttributeError, ModuleNotFoundError):
            missing.append(name)
    assert not missing, f"ODD.md names functions that do not exist: {missing}"


def test_schedule_matches_step():
    from sim.model import CXModel

    called = re.findall(r"self\.(_phase_\w+)\(", inspect.getsource(CXModel.step))
    listed = re.findall(r"^\d+\. `sim\.model\.CXModel\.(_phase_\w+)`", ODD, flags=re.M)
    assert called == listed


def test_all_seven_odd_elements_present():
    for heading in ("Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
                    "Design concepts", "Initialisation", "Input data", "Submodels"):
        assert heading in ODD
