"""Crash-safe file writing, the one helper every writer uses: write a hidden temporary file in
the target's directory, then move it in place, so a killed process leaves the whole file or
none (and at most a stale ``.tmp-*`` file, which the run store's readers skip and clean up)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"


def write_atomic(path: str | Path, write: Callable[[Path], None], *, fsync: bool = False) -> Path:
    """Call ``write(tmp_path)`` and atomically move the result to ``path`` (its directory is
    created if missing).  ``fsync``: flush the data to disk before the move (survives a power
    cut, not only a killed process)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: str | Path, data: bytes, *, fsync: bool = False) -> Path:
    return write_atomic(path, lambda p: p.write_bytes(data), fsync=fsync)


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON (numpy scalars and arrays converted) and a final newline."""
    return write_text_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a file moved into it) to disk, where the platform can."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
