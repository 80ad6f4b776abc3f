"""What the run store stores, as values: a :class:`Task` and its stable key, checked KPIs and
labels, Parquet-encoded time series, the versions a run was made with, and the conversion of
per-run records to the rows of a compacted segment (format ``cxsim-runstore``, version 1)."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import json
import math
import numbers
import platform
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

FORMAT = "cxsim-runstore"


FORMAT_VERSION = 1


SEED_LIMIT = 2**63  # seeds are stored as int64


_INT64 = (-(2**63), 2**63 - 1)


KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


_RESERVED = frozenset({"key", "seed"})


@dataclass(frozen=True)
class Task:
    """One run to do: ``fn(params, seed)``, stored under ``key`` with labels ``meta``.

    ``params`` is passed verbatim to the run function and must be picklable.  ``seed`` is an
    integer in ``[0, 2**63)``.  ``key`` is the stable id of (resolved params, seed), normally
    :func:`task_key`; any 1–128 characters from ``[A-Za-z0-9_.-]`` not starting with a
    punctuation mark are accepted.  ``meta`` holds labels stored with the result (scenario,
    replicate, sample row, …): names are non-empty strings other than ``key`` and ``seed``,
    values are ``str``, ``int`` or ``float`` (numpy scalars are converted).
    """

    params: Any
    seed: int
    key: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seed = self.seed
        if (
            isinstance(seed, bool | np.bool_)
            or not isinstance(seed, numbers.Integral)
            or not 0 <= int(seed) < SEED_LIMIT
        ):
            raise ValueError(f"Task.seed={seed!r} is invalid: allowed an integer in [0, 2**63)")
        object.__setattr__(self, "seed", int(seed))
        if not isinstance(self.key, str) or not KEY_RE.match(self.key):
            raise ValueError(
                f"Task.key={self.key!r} is invalid: allowed 1-128 characters from "
                "[A-Za-z0-9_.-] starting with a letter or digit"
            )
        object.__setattr__(self, "meta", _clean_meta(self.meta, self.key))


def _clean_meta(meta: Any, key: str) -> dict[str, str | int | float]:
    if not isinstance(meta, Mapping):
        raise TypeError(f"Task {key}: meta must be a mapping, got {type(meta).__name__}")
    out: dict[str, str | int | float] = {}
    for name, value in meta.items():
        if not isinstance(name, str) or not name or name in _RESERVED:
            raise ValueError(
                f"Task {key}: meta name {name!r} is invalid: allowed a non-empty string "
                "other than 'key' and 'seed'"
            )
        if isinstance(value, str):
            out[name] = str(value)
        elif isinstance(value, bool | np.bool_):
            raise TypeError(
                f"Task {key}: meta {name}={value!r} is a bool: allowed str, int or float "
                "(use 0/1 or a string)"
            )
        elif isinstance(value, numbers.Integral):
            if not _INT64[0] <= int(value) <= _INT64[1]:
                raise ValueError(f"Task {key}: meta {name}={value!r} does not fit in int64")
            out[name] = int(value)
        elif isinstance(value, numbers.Real):
            out[name] = float(value)
        else:
            raise TypeError(
                f"Task {key}: meta {name}={value!r} has type {type(value).__name__}: "
                "allowed str, int or float"
            )
    return out


def task_key(params_fingerprint: Mapping[str, Any] | str, seed: int) -> str:
    """Stable id of (resolved parameters, seed): 20 hex characters of a SHA-256.

    The hash covers canonical JSON of ``{"params": ..., "seed": seed}`` with sorted keys and
    floats written by ``repr`` (so ``0.1`` and ``0.1000000001`` differ, ``1`` and ``1.0``
    differ too).  Nested mappings, sequences, sets, dataclasses, enums, paths and numpy
    scalars/arrays are converted; anything else raises ``TypeError``.  A string fingerprint
    (e.g. a hash computed elsewhere) is used as is.
    """
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"task_key: seed must be an integer, got {type(seed).__name__}")
    payload = {"params": _canonical(params_fingerprint, "params"), "seed": int(seed)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _canonical(obj: Any, where: str) -> Any:
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value, where)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)  # json writes floats with repr(): shortest exact round-trip form
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _canonical(getattr(obj, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"task_key: {where} has a non-string key {k!r}")
            out[k] = _canonical(v, f"{where}.{k}")
        return out
    if isinstance(obj, np.ndarray):
        return _canonical(obj.tolist(), where)
    if isinstance(obj, Set):
        items = [_canonical(v, where) for v in obj]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"task_key: cannot fingerprint {where} of type {type(obj).__name__}: allowed None, "
        "bool, int, float, str, mappings, sequences, sets, dataclasses, enums, paths"
    )


def clean_kpis(kpis: Any, meta: Mapping[str, Any] = ()) -> dict[str, float]:
    """Check a KPI mapping and return it as ``{name: float}`` (raises a one-line error)."""
    if not isinstance(kpis, Mapping):
        raise TypeError(f"KPIs must be a mapping of name to number, got {type(kpis).__name__}")
    meta_names = set(meta)
    out: dict[str, float] = {}
    for name, value in kpis.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"KPI name {name!r} is invalid: allowed a non-empty string")
        if name in _RESERVED or name in meta_names:
            raise ValueError(f"KPI name {name!r} clashes with the key, seed or a meta label")
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if not isinstance(value, numbers.Real):
            raise TypeError(f"KPI {name}={value!r} is not a real number")
        out[name] = float(value)
    return out


def encode_timeseries(timeseries: Any) -> bytes:
    """Serialise one run's time series (a pandas DataFrame) to Parquet bytes."""
    if not isinstance(timeseries, pd.DataFrame):
        raise TypeError(f"timeseries must be a pandas DataFrame, got {type(timeseries).__name__}")
    buf = io.BytesIO()
    timeseries.to_parquet(buf, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def environment_versions() -> dict[str, str | None]:
    """Versions of Python and the packages that determine a run's results."""
    from importlib import metadata

    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }
    for dist in ("mesa", "cxsim", "joblib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def meta_array(values: list[Any]) -> pa.Array:
    """Arrow column for one meta label: int64, float64 or string (str() of mixed values)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int}:
        return pa.array(values, pa.int64())
    if kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def records_to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Rows of finished runs as one Arrow table (the format of a segment)."""
    meta_names: dict[str, None] = {}
    kpi_names: dict[str, None] = {}
    for r in records:
        meta_names.update(dict.fromkeys(r["meta"]))
        kpi_names.update(dict.fromkeys(r["kpis"]))
    cols: dict[str, pa.Array] = {
        "key": pa.array([r["key"] for r in records], pa.string()),
        "seed": pa.array([r["seed"] for r in records], pa.int64()),
        "seconds": pa.array([r["seconds"] for r in records], pa.float64()),
        "finished": pa.array([r["finished"] for r in records], pa.float64()),
        "has_ts": pa.array([r["has_ts"] for r in records], pa.bool_()),
        "_order": pa.array(
            [json.dumps([list(r["meta"]), list(r["kpis"])]) for r in records], pa.string()
        ),
    }
    for name in sorted(meta_names):
        cols["m:" + name] = meta_array([r["meta"].get(name) for r in records])
    for name in sorted(kpi_names):
        cols["k:" + name] = pa.array([r["kpis"].get(name) for r in records], pa.float64())
    return pa.table(cols)


def check_record(rec: Any, kind: str) -> dict[str, Any]:
    """Validate a parsed JSON record; raise ValueError if it is not one of ours."""
    if not isinstance(rec, dict) or rec.get("format") != FORMAT or rec.get("kind") != kind:
        raise ValueError("not a run record")
    if not isinstance(rec.get("key"), str) or not isinstance(rec.get("seed"), int):
        raise ValueError("record without key or seed")
    if not isinstance(rec.get("meta"), dict):
        raise ValueError("record without meta")
    if kind == "result":
        if not isinstance(rec.get("kpis"), dict):
            raise ValueError("record without KPIs")
        rec["kpis"] = {k: float(v) for k, v in rec["kpis"].items()}
        rec["seconds"] = float(rec["seconds"])
        rec["finished"] = float(rec["finished"])
        rec["has_ts"] = bool(rec["has_ts"])
    return rec


def empty_kpis() -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series([], dtype="str"), "seed": pd.Series([], dtype="int64")})


def json_safe(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)
