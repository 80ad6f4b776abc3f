"""Run many independent simulations serially, on local worker processes (loky) or on Dask.

:func:`run_tasks` calls ``fn(task.params, task.seed)`` for every :class:`~experiments.store.Task`
whose key the :class:`~experiments.store.RunStore` has not finished yet, and records each
result in the store as soon as it reaches the parent process (results are streamed with
joblib's ``return_as="generator_unordered"``, never collected, so memory stays flat over
thousands of runs).  A task that raises is recorded as a failure (``ExcType: message`` and
the traceback) and the batch goes on; running the batch again skips what finished and retries
what failed.  Each task depends only on its params and seed, so the stored results are
bit-identical whichever executor ran them.

``fn`` returns either a mapping of KPI name to number, or an object with a ``kpis`` mapping
and a ``timeseries`` pandas DataFrame (or None).  It must be picklable: a top-level function
or an instance of a top-level class.  The KPI check and the Parquet encoding of the time series
happen in the worker, so the parent only writes bytes.

Scripts that use the loky or Dask executors must guard their entry point with
``if __name__ == "__main__":`` (worker processes are spawned, which re-imports the main module).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from experiments.store import RunStore, Task, clean_kpis, encode_timeseries

__all__ = [
    "KINDS",
    "BatchSummary",
    "ExecutorConfig",
    "executor_from_cfg",
    "run_tasks",
]

KINDS = ("serial", "loky", "dask")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where runs execute.

    ``kind``: ``serial`` (a plain loop in this process), ``loky`` (joblib's process pool,
    ``n_jobs`` workers) or ``dask``.  ``n_jobs``: a positive number of workers or -1 for one
    per CPU; for ``dask`` without an address it is the number of workers of the LocalCluster
    started for the batch (processes, one thread each).  ``address``: a running Dask
    scheduler (``tcp://host:8786``); only with ``kind="dask"``.  ``batch_size``: tasks sent to
    a worker at once, ``"auto"`` lets joblib adapt it to the run time.
    """

    kind: str = "loky"
    n_jobs: int = 2
    address: str | None = None
    batch_size: int | str = "auto"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a one-line ValueError naming the first invalid field."""
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ValueError(f"executor.kind={self.kind!r} is invalid: allowed {', '.join(KINDS)}")
        n = self.n_jobs
        if isinstance(n, bool) or not isinstance(n, int) or not (n >= 1 or n == -1):
            raise ValueError(
                f"executor.n_jobs={n!r} is invalid: allowed a positive integer or -1 (all CPUs)"
            )
        a = self.address
        if a is not None:
            if not isinstance(a, str) or "://" not in a or a.endswith("://"):
                raise ValueError(
                    f"executor.address={a!r} is invalid: allowed null or a Dask scheduler "
                    "address such as tcp://host:8786"
                )
            if self.kind != "dask":
                raise ValueError(
                    f"executor.address={a!r} is invalid with kind={self.kind!r}: allowed only "
                    "with kind='dask' (use null otherwise)"
                )
        b = self.batch_size
        if not (b == "auto" or (isinstance(b, int) and not isinstance(b, bool) and b >= 1)):
            raise ValueError(
                f"executor.batch_size={b!r} is invalid: allowed 'auto' or a positive integer"
            )


_FIELDS = ("kind", "n_jobs", "address", "batch_size")


def executor_from_cfg(cfg: Mapping[str, Any]) -> ExecutorConfig:
    """Build and validate an :class:`ExecutorConfig` from a mapping (e.g. ``cfg.executor``).

    Missing keys take their defaults; unknown keys raise a one-line ValueError.
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"executor config must be a mapping, got {type(cfg).__name__}")
    for k in cfg:
        if k not in _FIELDS:
            raise ValueError(f"unknown executor key {k!r}: allowed {', '.join(_FIELDS)}")
    return ExecutorConfig(**{str(k): cfg[k] for k in cfg})


@dataclass(frozen=True)
class BatchSummary:
    """Counts of one :func:`run_tasks` call (distinct keys; duplicates run once)."""

    n_total: int
    n_skipped: int
    n_done: int
    n_failed: int
    seconds: float


class _Outcome(NamedTuple):
    key: str
    ok: bool
    kpis: dict[str, float] | None
    timeseries: bytes | None  # Parquet bytes
    error: str | None
    traceback: str | None
    seconds: float


def _error_line(exc: BaseException) -> str:
    msg = " ".join(s.strip() for s in str(exc).splitlines() if s.strip())
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _execute(fn: Callable[[Any, int], Any], task: Task) -> _Outcome:
    """Run one task in a worker and package its result (never raises for task errors)."""
    t0 = time.perf_counter()
    try:
        result = fn(task.params, task.seed)
        seconds = time.perf_counter() - t0
        if isinstance(result, Mapping):
            kpis, ts = result, None
        elif hasattr(result, "kpis"):
            kpis, ts = result.kpis, getattr(result, "timeseries", None)
        else:
            raise TypeError(
                f"run function returned {type(result).__name__}: expected a mapping of KPIs "
                "or an object with .kpis and .timeseries"
            )
        kpis = clean_kpis(kpis, task.meta)
        blob = None if ts is None else encode_timeseries(ts)
        return _Outcome(task.key, True, kpis, blob, None, None, seconds)
    except Exception as exc:
        return _Outcome(
            task.key,
            False,
            None,
            None,
            _error_line(exc),
            traceback.format_exc(),
            time.perf_counter() - t0,
        )


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not os.environ.get("CI")


def _fn_name(fn: Any) -> str:
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def _resolve_n_jobs(n_jobs: int) -> int:
    if n_jobs == -1:
        import joblib

        return max(1, joblib.cpu_count())
    return n_jobs


@contextlib.contextmanager
def _dask_client(cfg: ExecutorConfig) -> Iterator[Any]:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "executor kind 'dask' needs Dask: install the 'dask' extra (pip install 'cxsim[dask]')"
        ) from None
    cluster = None
    if cfg.address is None:
        cluster = distributed.LocalCluster(
            n_workers=_resolve_n_jobs(cfg.n_jobs),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(cfg.address)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _stream(
    fn: Callable[[Any, int], Any], tasks: list[Task], cfg: ExecutorConfig
) -> Iterator[_Outcome]:
    """Outcomes in completion order, produced by the configured executor."""
    if cfg.kind == "serial":
        for task in tasks:
            yield _execute(fn, task)
        return

    import joblib

    calls = (joblib.delayed(_execute)(fn, t) for t in tasks)
    if cfg.kind == "loky":
        # one BLAS/OpenMP thread per worker: the workers are the parallelism
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            par = joblib.Parallel(
                n_jobs=cfg.n_jobs, return_as="generator_unordered", batch_size=cfg.batch_size
            )
            yield from par(calls)
        return

    # dask: worker processes started by distributed's nanny already get OMP/MKL/OPENBLAS=1
    with _dask_client(cfg), joblib.parallel_config(backend="dask"):
        par = joblib.Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=cfg.batch_size)
        yield from par(calls)


def run_tasks(
    fn: Callable[[Any, int], Any],
    tasks: Iterable[Task],
    *,
    store: RunStore,
    executor: ExecutorConfig = ExecutorConfig(),  # frozen: a safe default
    progress: bool | None = None,
    desc: str = "runs",
) -> BatchSummary:
    """Run every task not finished in ``store`` and record each result as it arrives.

    Tasks already done are skipped; failed ones are retried; a key given twice runs once.
    ``progress=None`` shows a progress bar (with ETA) only when stderr is a terminal and the
    ``CI`` environment variable is unset.  Returns the counts of this call; per-run results
    are read back from the store.  Pending results are compacted into the store even when
    the batch is interrupted (Ctrl-C, a worker killed by the OS), so a rerun resumes.
    """
    if not isinstance(executor, ExecutorConfig):
        raise TypeError(f"executor must be an ExecutorConfig, got {type(executor).__name__}")
    if not isinstance(store, RunStore):
        raise TypeError(f"store must be a RunStore, got {type(store).__name__}")
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    done = store.done_keys()
    todo: dict[str, Task] = {}
    seen: set[str] = set()
    n_skipped = 0
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f"tasks must be Task objects, got {type(task).__name__}")
        if task.key in seen:
            continue
        seen.add(task.key)
        if task.key in done:
            n_skipped += 1
        else:
            todo[task.key] = task
    n_total = len(seen)
    del seen, done
    n_done = n_failed = 0
    if not todo:
        # nothing to run, but a predecessor killed mid-compaction may have left pending records
        # of runs that are already in a segment: compact them, so the store holds each run once
        store.flush()
        return BatchSummary(n_total, n_skipped, 0, 0, time.perf_counter() - t0)

    from tqdm import tqdm

    bar = tqdm(
        total=len(todo),
        desc=desc,
        unit="run",
        disable=not _show_progress(progress),
        dynamic_ncols=True,
        smoothing=0.05,
    )
    interrupted = True
    stream = _stream(fn, list(todo.values()), executor)
    try:
        for out in stream:
            task = todo.pop(out.key)
            if out.ok:
                store._commit(task, out.kpis, out.timeseries, out.seconds)
                n_done += 1
            else:
                store.write_failure(task, out.error, out.traceback, out.seconds)
                n_failed += 1
                bar.set_postfix_str(f"failed {n_failed}", refresh=False)
            bar.update(1)
        interrupted = False
    finally:
        try:
            stream.close()  # stops the workers' remaining tasks, closes a cluster we started
        finally:
            bar.close()
            store.flush()
            seconds = time.perf_counter() - t0
            store.record_batch(
                {
                    "desc": desc,
                    "fn": _fn_name(fn),
                    "executor": asdict(executor),
                    "started": started,
                    "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                    "seconds": round(seconds, 3),
                    "n_total": n_total,
                    "n_skipped": n_skipped,
                    "n_done": n_done,
                    "n_failed": n_failed,
                    "interrupted": interrupted,
                }
            )
    return BatchSummary(n_total, n_skipped, n_done, n_failed, seconds)
