"""sim/ODD.md names the functions that implement each submodel: they must exist, and the
schedule it lists must be the one CXModel.step runs.  The conceptual model
(docs/conceptual-model.md) points to where each part is implemented: those names and paths
must exist too."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ODD = (ROOT / "sim" / "ODD.md").read_text()
CONCEPT = (ROOT / "docs" / "conceptual-model.md").read_text()
DOTTED = r"`(sim(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`"
NAMES = sorted(set(re.findall(DOTTED, ODD)))


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


def missing(names) -> list[str]:
    """The dotted names that do not resolve to a module, class or function."""
    out = []
    for name in names:
        try:
            resolve(name)
        except (AttributeError, ModuleNotFoundError):
            out.append(name)
    return out


def test_every_named_function_exists():
    gone = missing(NAMES)
    assert not gone, f"ODD.md names functions that do not exist: {gone}"


def test_schedule_matches_step():
    from sim.model import CXModel

    called = re.findall(r"self\.(_phase_\w+)\(", inspect.getsource(CXModel.step))
    listed = re.findall(r"^\d+\. `sim\.model\.CXModel\.(_phase_\w+)`", ODD, flags=re.M)
    assert called == listed


def test_all_seven_odd_elements_present():
    for heading in (
        "Purpose and patterns",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Design concepts",
        "Initialisation",
        "Input data",
        "Submodels",
    ):
        assert heading in ODD


def test_conceptual_model_points_to_existing_code_and_files():
    names = sorted(set(re.findall(DOTTED, CONCEPT)))
    assert len(names) >= 30
    gone = missing(names)
    assert not gone, f"docs/conceptual-model.md names code that does not exist: {gone}"
    paths = set(re.findall(r"`((?:configs|experiments|sim|docs)/[\w./-]*)`", CONCEPT))
    assert paths and not [p for p in paths if not (ROOT / p).exists()]


def test_conceptual_model_sections_are_the_ones_cited():
    """The ODD and the code cite the conceptual model by section: each cited one exists."""
    sections = set(re.findall(r"^## §(\d+) ", CONCEPT, flags=re.M))
    assert sections == {str(i) for i in range(1, 13)}
    in_code = set()
    for path in (ROOT / "sim").glob("*.py"):
        in_code |= set(re.findall(r"conceptual-model\.md §(\d+)", path.read_text()))
    assert in_code, "the sim docstrings cite no section of docs/conceptual-model.md"
    assert set(re.findall(r"§§?(\d+)", ODD)) | in_code <= sections
