"""`cxsim kpis` and `cxsim params [PREFIX]`: what the model reports and what it accepts.

Both listings are read from the declarations (``sim/kpis.py``: name, unit, definition;
``sim/params.py``: every field's default, allowed range or choices and one-line doc, kept in
the dataclass field metadata); nothing here restates them. The ranges of the KPIs are the
bounds the interval statistics use (:data:`analysis.stats.KPI_BOUNDS`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["kpi_rows", "kpis_cmd", "param_rows", "params_cmd"]


class CatalogError(ValueError):
    """A bad argument of `cxsim kpis` / `cxsim params` (one line, exit code 2)."""


def _fmt_range(lo: float, hi: float) -> str:
    def one(v: float) -> str:
        return ("-inf" if v < 0 else "inf") if math.isinf(v) else f"{v:g}"

    return f"[{one(lo)}, {one(hi)}]"


def kpi_rows() -> list[tuple[str, str, str, str, str]]:
    """(name, kind, unit, range, definition) of every KPI: the run-level ones (over the
    evaluation window: what kpis.json, compare, sweep and sensitivity report) first, then the
    weekly series of timeseries.parquet, each in declaration order."""
    from analysis.stats import kpi_bounds
    from sim.kpis import RUN_KPIS, SERIES_BY_NAME

    run = [(k.name, "run", k.unit, _fmt_range(*kpi_bounds(k.name)), k.definition) for k in RUN_KPIS]
    weekly = [
        (k.name, "weekly", k.unit, _fmt_range(*kpi_bounds(k.name)), k.definition)
        for k in SERIES_BY_NAME.values()
    ]
    return run + weekly


def _fields(cls: type, prefix: str, default: Any) -> Iterator[tuple[str, str, str, str]]:
    """(dotted key, default, allowed, doc) of every scalar field under ``cls``; the items of
    named collections (segments, rivals, shocks) are listed by their key in the config."""
    for f in dataclasses.fields(cls):
        value = getattr(default, f.name)
        key = prefix + f.name
        meta = f.metadata
        if dataclasses.is_dataclass(value):
            yield from _fields(type(value), key + ".", value)
            continue
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            yield key, f"{len(value)} items", "name -> fields", meta.get("doc", "")
            for item in value:
                yield from _fields(type(item), f"{key}.{item.name}.", item)
            continue
        if "rng" in meta:
            allowed = _fmt_range(*meta["rng"])
        elif "choices" in meta:
            allowed = "|".join(map(str, meta["choices"]))
        else:
            allowed = ""
        shown = list(value) if isinstance(value, tuple) else value
        yield key, _show(shown), allowed, meta.get("doc", "")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value) if not isinstance(value, str) else value


def param_rows(prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, default, allowed, doc) of every model parameter whose key starts with ``prefix``;
    the fields of one shock (``shocks.<name>.*``) are listed as ``shocks.<name>``."""
    from sim.params import Params, ShockParams

    rows = list(_fields(Params, "", Params()))
    rows += [
        (f"shocks.<name>.{k[len('shocks.x.') :]}", *rest)
        for k, *rest in _fields(ShockParams, "shocks.x.", ShockParams())
    ]
    return [r for r in rows if r[0].startswith(prefix)]


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        cells = [f"{c:<{w}}" for c, w in zip(r[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    return "\n".join(lines)


def _one_prefix(args: Sequence[str], command: str) -> str:
    if len(args) > 1 or any(a.startswith("-") for a in args):
        bad = next((a for a in args if a.startswith("-")), args[-1] if args else "")
        raise CatalogError(f"invalid argument {bad!r}: 'cxsim {command}' takes at most one PREFIX")
    return args[0] if args else ""


def kpis_cmd(args: Sequence[str] = ()) -> int:
    """``cxsim kpis [PREFIX]``: every KPI with its kind, unit, range and definition."""
    prefix = _one_prefix(args, "kpis")
    rows = [r for r in kpi_rows() if r[0].startswith(prefix)]
    if not rows:
        names = ", ".join(r[0] for r in kpi_rows())
        raise CatalogError(f"no KPI starts with {prefix!r}: the KPIs are {names}")
    print(_table(rows, ("name", "kind", "unit", "range", "definition")))
    return 0


def params_cmd(args: Sequence[str] = ()) -> int:
    """``cxsim params [PREFIX]``: every parameter (dotted key as used on the command line)
    with its default, allowed range or choices and meaning."""
    prefix = _one_prefix(args, "params")
    rows = param_rows(prefix)
    if not rows:
        tops = sorted({r[0].split(".")[0] for r in param_rows()})
        raise CatalogError(
            f"no parameter starts with {prefix!r}: parameters start with {', '.join(tops)}"
        )
    print(_table(rows, ("key", "default", "allowed", "meaning")))
    return 0
