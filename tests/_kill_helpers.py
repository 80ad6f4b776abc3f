"""Helpers for the crash (kill -9) tests of the batch commands: start ``cxsim`` in its own
process group, watch its run store fill up, and SIGKILL the whole group mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

CXSIM = [sys.executable, "-m", "experiments.cli"]


def cli_env() -> dict[str, str]:
    """Environment of a test subprocess: no display, no progress bar."""
    return {**os.environ, "MPLBACKEND": "Agg", "CI": "1"}


def run_cxsim(args: Sequence[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CXSIM, *args], capture_output=True, text=True, cwd=cwd, env=cli_env(), timeout=timeout
    )


def start_cxsim(args: Sequence[str], cwd: Path) -> subprocess.Popen:
    """``cxsim`` as the leader of a new process group (so workers die with it)."""
    return subprocess.Popen(
        [*CXSIM, *args],
        cwd=cwd,
        env=cli_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored_runs(store: Path) -> int:
    """Finished runs recorded in a run store directory, counted from its files (pending
    records plus rows of compacted segments), duplicates included."""
    n = 0
    pending = store / "pending"
    if pending.is_dir():
        n += sum(1 for p in pending.glob("*.json") if not p.name.startswith("."))
    segments = store / "segments"
    if segments.is_dir():
        import pyarrow.parquet as pq

        for p in segments.glob("seg-*.parquet"):
            try:
                n += pq.read_metadata(p).num_rows
            except (OSError, ValueError):
                pass
    return n


def wait_until(
    predicate: Callable[[], bool], proc: subprocess.Popen, timeout: float = 300, poll: float = 0.02
) -> bool:
    """Poll until ``predicate()`` holds (True) or the process ended / time ran out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return predicate()
        time.sleep(poll)
    return False


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group led by ``proc`` and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)
