"""The scenario library: every ``configs/scenario/*.yaml`` with its one-line description."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from sim.config import CONFIG_DIR


def scenario_library() -> dict[str, str]:
    """Scenario name → description, in alphabetical order (baseline first)."""
    out = {}
    for path in sorted((CONFIG_DIR / "scenario").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        out[path.stem] = (data.get("scenario") or {}).get("description", "")
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "baseline", kv[0])))


def list_scenarios(args: Sequence[str] = ()) -> int:
    if args:
        raise ValueError(f"invalid argument {args[0]!r}: 'cxsim scenarios' takes no arguments")
    lib = scenario_library()
    width = max(map(len, lib))
    for name, desc in lib.items():
        print(f"{name:<{width}}  {desc}")
    return 0
