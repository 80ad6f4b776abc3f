"""``calibration=DIR`` for every model command: the calibrated firm's overrides
(``DIR/calibrated.yaml``, written by ``cxsim calibrate``) expanded into ``key=value`` overrides
in its place. A key the command line also sets keeps the command line's value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PREFIX = "calibration="
FILE = "calibrated.yaml"


class CalibrationDirError(ValueError):
    """``calibration=DIR`` does not name a calibration: one line, exit code 2."""


def load(directory: str) -> dict[str, Any]:
    """The overrides of a calibration directory (or of a calibrated.yaml file)."""
    import yaml

    path = Path(directory).expanduser()
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise CalibrationDirError(
            f"invalid calibration={directory}: allowed a directory written by cxsim calibrate "
            f"(no {FILE} there)"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CalibrationDirError(
            f"invalid calibration={directory}: {path} cannot be read ({type(exc).__name__})"
        ) from None
    over = (data or {}).get("overrides") if isinstance(data, dict) else None
    if not isinstance(over, dict) or not over:
        raise CalibrationDirError(
            f"invalid calibration={directory}: {path} has no overrides mapping"
        )
    return over


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~")


def expand(args: Sequence[str]) -> list[str]:
    """``args`` with every ``calibration=DIR`` replaced by the calibrated overrides."""
    if not any(a.startswith(PREFIX) for a in args):
        return list(args)
    given = {_key(a) for a in args if "=" in a and not a.startswith(PREFIX)}
    out: list[str] = []
    for a in args:
        if a.startswith(PREFIX):
            over = load(a[len(PREFIX) :])
            out += [f"{k}={_value(v)}" for k, v in over.items() if k not in given]
        else:
            out.append(a)
    return out


def describe(directory: str) -> str:
    return json.dumps(load(directory))
