"""One command at a time per run directory.

Two identical commands on one ``hydra.run.dir`` both ran everything and raced on the outputs.
:func:`run_dir_lock` takes an exclusive ``fcntl.flock`` on ``<run dir>/.cxsim.lock`` for as
long as a command works there; a second command refuses at once with one line naming the
directory, the holder's command and its pid (or, with ``wait`` seconds, waits that long first).

The operating system releases a ``flock`` when its holder dies (kill -9 included), so a lock
left by a killed command never blocks: the file stays, the lock does not. The pid written in
the file is only information for the message. POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOCK_NAME", "RunDirBusy", "run_dir_lock"]

LOCK_NAME = ".cxsim.lock"


class RunDirBusy(RuntimeError):
    """Another command holds the run directory (one line; the command exits with code 1)."""

    def __init__(self, directory: Path, holder: str):
        self.directory, self.holder = directory, holder
        super().__init__(
            f"run directory {directory} is in use by {holder}: wait for it to finish "
            "(rerunning the same command then resumes) or choose another hydra.run.dir"
        )


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if pid.isdigit():
        return f"{command or 'another cxsim command'} (pid {pid})"
    return "another cxsim command (pid unknown)"


@contextlib.contextmanager
def run_dir_lock(
    directory: str | os.PathLike[str],
    command: str = "cxsim",
    *,
    wait: float = 0.0,
    poll: float = 0.2,
) -> Iterator[Path]:
    """Hold the lock of ``directory`` (created if needed) for the ``with`` block.

    Raises :class:`RunDirBusy` if another process holds it for longer than ``wait`` seconds.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunDirBusy(directory, _holder(path)) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {command}\n".encode())
        try:
            yield directory
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # released: no pid left to mislead a reader
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
