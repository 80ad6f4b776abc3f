"""Crash-safe, resumable store of simulation runs (KPIs, labels, time series, failures).

A run is identified by a :class:`Task` key (see :func:`task_key`): the hash of the resolved
parameters and the seed.  The store records which keys finished, their KPIs and optional
time series, and the last error of keys that failed, so an interrupted batch can be resumed by
running only what is missing.

Layout under ``root/`` (format version 1)::

    manifest.json                      what was run: versions, host, times, batches
    pending/<key>.json                 one finished run not yet compacted (seed, meta, KPIs)
    segments/seg-<ns>-<pid>-<hex>.parquet  compacted KPI rows of many runs (never rewritten)
    failed/<key>.json                  last failure of a key (error line and traceback)
    timeseries/<key[:2]>/<key>.parquet time series of one run (only when the run returned one)

Crash safety.  Every file is written to a hidden temporary file (``.tmp-*``) in its final
directory and then moved in place with :func:`os.replace`, so a process killed at any moment
leaves either the complete file or none; readers ignore hidden files and warn about (and skip)
a file that cannot be parsed, whose run is then simply run again.  A finished run is committed
by its ``pending/<key>.json`` record (its time series is written before it).  Every
``segment_rows`` results, and at the end of each batch, the pending records are compacted
into one Parquet segment, written and fsynced before the records are deleted; a crash in
between leaves the same row twice, which readers (and the next compaction) de-duplicate by
key.  Small segments are merged the same way once there are several of them, which keeps
``kpis()`` fast however many batches wrote to the store.

Readers list ``pending/`` before ``segments/`` (the order in which data moves), retry when a
listed file vanished while being read, and re-list the segments to detect a merge in flight,
so a process may read a store while another one writes it.  Two processes writing the same
store at once do not corrupt it, but each runs the keys it was given: share work by giving them
disjoint tasks.

What is stored (tasks, keys, KPI and record encoding) is in :mod:`experiments.encoding`; the
atomic write is :func:`experiments.io.write_atomic`.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import socket
import time
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from experiments.encoding import (
    FORMAT,
    FORMAT_VERSION,
    KEY_RE,
    Task,
    check_record,
    clean_kpis,
    empty_kpis,
    encode_timeseries,
    environment_versions,
    json_safe,
    records_to_table,
    task_key,
)
from experiments.io import TMP_PREFIX, fsync_dir, write_bytes_atomic

__all__ = [
    "RunStore",
    "StoreWarning",
    "Task",
    "clean_kpis",
    "encode_timeseries",
    "environment_versions",
    "task_key",
]


_SEGMENT_RE = re.compile(r"^seg-\d{20}-\d+-[0-9a-f]+\.parquet$")


_STALE_TMP_SECONDS = 6 * 3600


_MERGE_WHEN_SMALL = 8  # merge the small segments once there are this many


_MAX_BATCHES_KEPT = 500  # batch entries kept in manifest.json


_SNAPSHOT_ATTEMPTS = 50


class StoreWarning(UserWarning):
    """A file in the store could not be read and was skipped (its run will be redone)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class RunStore:
    """Crash-safe store of finished and failed runs under ``root`` (created if missing).

    ``segment_rows``: finished runs per compacted Parquet segment (compaction also happens at
    the end of every batch).  ``fsync_records``: also fsync every per-run record (survives a
    power cut, not only a killed process; slower on network file systems).
    """

    def __init__(
        self, root: str | Path, *, segment_rows: int = 500, fsync_records: bool = False
    ) -> None:
        if isinstance(segment_rows, bool) or not isinstance(segment_rows, int) or segment_rows < 1:
            raise ValueError(f"segment_rows={segment_rows!r} is invalid: allowed an integer >= 1")
        self.root = Path(root)
        self.segment_rows = segment_rows
        self.fsync_records = bool(fsync_records)
        self._pending = self.root / "pending"
        self._segments = self.root / "segments"
        self._failed = self.root / "failed"
        self._ts = self.root / "timeseries"
        self._manifest_path = self.root / "manifest.json"
        for d in (self._pending, self._segments, self._failed, self._ts):
            d.mkdir(parents=True, exist_ok=True)
        self._seg_keys: dict[str, frozenset[str]] = {}  # segment name -> keys (files immutable)
        self._warned: set[str] = set()
        self._n_unflushed = 0
        manifest = self._read_manifest()
        if manifest is None:
            now = _now()
            self._write_manifest(
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created": now,
                    "updated": now,
                    "host": socket.gethostname(),
                    "versions": environment_versions(),
                    "batches": [],
                }
            )
        elif manifest.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
            raise ValueError(
                f"run store {self.root.name!r} has format version {manifest['format_version']}: "
                f"this code reads up to {FORMAT_VERSION}"
            )

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # ---------------------------------------------------------------- low-level reading
    def _warn(self, path: Path, why: str) -> None:
        if str(path) not in self._warned:
            self._warned.add(str(path))
            warnings.warn(
                f"run store: skipping unreadable file {path.relative_to(self.root)} ({why})",
                StoreWarning,
                stacklevel=3,
            )

    @staticmethod
    def _names(directory: Path, suffix: str) -> list[str]:
        try:
            with os.scandir(directory) as it:
                names = [
                    e.name for e in it if not e.name.startswith(".") and e.name.endswith(suffix)
                ]
        except FileNotFoundError:
            return []
        return sorted(names)

    def _key_names(self, directory: Path) -> list[str]:
        return [n for n in self._names(directory, ".json") if KEY_RE.match(n[:-5])]

    def _segment_names(self) -> list[str]:
        return [n for n in self._names(self._segments, ".parquet") if _SEGMENT_RE.match(n)]

    def _read_json(self, path: Path, kind: str) -> dict[str, Any] | None:
        """Parse a record; None (with a warning) if corrupt; FileNotFoundError propagates."""
        data = path.read_bytes()
        try:
            rec = check_record(json.loads(data), kind)
            if rec["key"] + ".json" != path.name:
                raise ValueError("key does not match the file name")
            return rec
        except (ValueError, TypeError, KeyError) as exc:
            self._warn(path, f"{type(exc).__name__}: {exc}")
            return None

    def _read_segment(self, name: str) -> pa.Table | None:
        path = self._segments / name
        try:
            with open(path, "rb") as fh:  # FileNotFoundError propagates (merged away)
                table = pq.read_table(fh)
            if "key" not in table.column_names or "_order" not in table.column_names:
                raise ValueError("not a run segment")
        except FileNotFoundError:
            raise
        except (OSError, ValueError, pa.ArrowException) as exc:
            self._warn(path, f"{type(exc).__name__}: {exc}")
            self._seg_keys[name] = frozenset()
            return None
        self._seg_keys[name] = frozenset(table.column("key").to_pylist())
        return table

    def _segment_keys(self, name: str) -> frozenset[str]:
        keys = self._seg_keys.get(name)
        if keys is None:
            path = self._segments / name
            try:
                with open(path, "rb") as fh:
                    col = pq.read_table(fh, columns=["key"]).column("key")
                keys = frozenset(col.to_pylist())
            except FileNotFoundError:
                raise
            except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
                self._warn(path, f"{type(exc).__name__}: {exc}")
                keys = frozenset()
            self._seg_keys[name] = keys
        return keys

    def _snapshot(self, *, full: bool) -> tuple[list[pa.Table], list[dict[str, Any]], set[str]]:
        """A consistent view: (segment tables, pending records, all done keys).

        With ``full=False`` only keys are gathered (segment tables are not read).
        """
        for _ in range(_SNAPSHOT_ATTEMPTS):
            try:
                pending_names = self._key_names(self._pending)
                seg_names = self._segment_names()
                tables: list[pa.Table] = []
                keys: set[str] = set()
                for name in seg_names:
                    if full:
                        table = self._read_segment(name)
                        if table is not None:
                            tables.append(table)
                    keys |= self._segment_keys(name)
                records = []
                for name in pending_names:
                    rec = self._read_json(self._pending / name, "result")
                    if rec is not None:
                        records.append(rec)
                        keys.add(rec["key"])
                if self._segment_names() != seg_names:
                    continue  # a merge happened while reading: read again
            except FileNotFoundError:
                time.sleep(0.002)
                continue  # a file moved to a later stage while reading: read again
            for name in set(self._seg_keys) - set(seg_names):
                del self._seg_keys[name]
            return tables, records, keys
        raise RuntimeError(f"run store {self.root.name!r} kept changing while being read")

    def _done_table(self) -> pd.DataFrame | None:
        """All finished runs, one row per key, sorted by key, with internal columns."""
        tables, records, _ = self._snapshot(full=True)
        if records:
            tables.append(records_to_table(records))
        if not tables:
            return None
        try:
            table = pa.concat_tables(tables, promote_options="permissive")
            df = table.to_pandas()
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # a label with mixed types across segments: fall back to pandas (object columns)
            df = pd.concat([t.to_pandas() for t in tables], ignore_index=True, sort=False)
        df = df.drop_duplicates("key", keep="first")
        return df.sort_values("key", kind="stable", ignore_index=True)

    @staticmethod
    def _column_order(orders: Iterable[str]) -> tuple[list[str], list[str]]:
        meta: dict[str, None] = {}
        kpis: dict[str, None] = {}
        for o in orders:
            m, k = json.loads(o)
            meta.update(dict.fromkeys(m))
            kpis.update(dict.fromkeys(k))
        return list(meta), list(kpis)

    # ---------------------------------------------------------------- public reading
    def done_keys(self) -> set[str]:
        """Keys with a finished (successful) result."""
        return self._snapshot(full=False)[2]

    def failed_keys(self) -> set[str]:
        """Keys whose last attempt failed and that have not succeeded since."""
        failed = {n[:-5] for n in self._key_names(self._failed)}
        return failed - self.done_keys() if failed else failed

    def kpis(self) -> pd.DataFrame:
        """One row per finished run: key, seed, meta labels, then one column per KPI.

        Sorted by key; columns in the order of the run with the smallest key (labels or KPIs
        that it lacks follow in key order), so the frame does not depend on the order in which
        runs finished.  KPIs are float64; a KPI missing from a run is NaN.
        """
        df = self._done_table()
        if df is None:
            return empty_kpis()
        meta, kpis = self._column_order(df["_order"].drop_duplicates())
        out = df[["key", "seed"] + ["m:" + c for c in meta] + ["k:" + c for c in kpis]]
        return out.set_axis(["key", "seed", *meta, *kpis], axis=1)

    def runs(self) -> pd.DataFrame:
        """Bookkeeping per finished run: key, seed, seconds, finished (UTC), has_timeseries."""
        df = self._done_table()
        if df is None:
            return pd.DataFrame(columns=["key", "seed", "seconds", "finished", "has_timeseries"])
        return pd.DataFrame(
            {
                "key": df["key"],
                "seed": df["seed"],
                "seconds": df["seconds"],
                "finished": pd.to_datetime(df["finished"], unit="s", utc=True),
                "has_timeseries": df["has_ts"].astype(bool),
            }
        )

    def _failure_records(self) -> list[dict[str, Any]]:
        done = self.done_keys()
        out = []
        for name in self._key_names(self._failed):
            if name[:-5] in done:
                continue
            try:
                rec = self._read_json(self._failed / name, "failure")
            except FileNotFoundError:
                continue  # cleared by a success meanwhile
            if rec is not None:
                out.append(rec)
        return out

    def failures(self) -> pd.DataFrame:
        """One row per failed key: key, seed, meta labels, error (``ExcType: message``)."""
        recs = self._failure_records()
        meta: dict[str, None] = {}
        for r in recs:
            meta.update(dict.fromkeys(r["meta"]))
        rows = [
            {"key": r["key"], "seed": r["seed"], **{m: r["meta"].get(m) for m in meta}}
            | {"error": r["error"]}
            for r in recs
        ]
        if not rows:
            return pd.DataFrame(columns=["key", "seed", "error"])
        return pd.DataFrame(rows, columns=["key", "seed", *meta, "error"])

    def failure_traceback(self, key: str) -> str | None:
        """Traceback of the last failure of ``key`` (None if it has none)."""
        self._check_key(key)
        try:
            rec = self._read_json(self._failed / f"{key}.json", "failure")
        except FileNotFoundError:
            return None
        return None if rec is None else rec.get("traceback")

    def _ts_path(self, key: str) -> Path:
        return self._ts / key[:2] / f"{key}.parquet"

    def timeseries(self, key: str) -> pd.DataFrame | None:
        """Time series of run ``key`` (None if the run stored none or has not finished)."""
        self._check_key(key)
        path = self._ts_path(key)
        try:
            with open(path, "rb") as fh:
                return pd.read_parquet(fh, engine="pyarrow")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, pa.ArrowException) as exc:
            self._warn(path, f"{type(exc).__name__}: {exc}")
            return None

    def manifest(self) -> dict[str, Any]:
        """What was run: format, versions, host, created/updated times, the batches run,
        counts of done and failed runs and the compute seconds they took."""
        m = self._read_manifest() or {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "host": socket.gethostname(),
            "versions": environment_versions(),
            "batches": [],
        }
        df = self._done_table()
        seconds_done = float(df["seconds"].sum()) if df is not None else 0.0
        failures = self._failure_records()
        seconds_failed = float(sum(float(r.get("seconds", 0.0)) for r in failures))
        m.update(
            n_done=0 if df is None else len(df),
            n_failed=len(failures),
            seconds_done=seconds_done,
            seconds_failed=seconds_failed,
            total_seconds=seconds_done + seconds_failed,
        )
        return m

    def verify(self) -> dict[str, Any]:
        """Health report: rows stored (with duplicates), distinct keys, unreadable files,
        leftover temp files.  Does not modify the store."""
        self._warned.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StoreWarning)
            tables, records, keys = self._snapshot(full=True)
            self.failures()
            self._check_timeseries_readable()
        rows = sum(t.num_rows for t in tables) + len(records)
        temp = [
            str(p.relative_to(self.root)) for p in self.root.rglob(f"{TMP_PREFIX}*") if p.is_file()
        ]
        return {
            "rows": rows,
            "keys": len(keys),
            "duplicates": rows - len(keys),
            "segments": len(tables),
            "pending": len(records),
            "unreadable": sorted(str(w.message) for w in caught),
            "temp_files": sorted(temp),
        }

    def _check_timeseries_readable(self) -> None:
        for path in self._ts.glob("*/*.parquet"):
            if not path.name.startswith("."):
                try:
                    pq.read_metadata(path)
                except (OSError, ValueError, pa.ArrowException) as exc:
                    self._warn(path, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise ValueError(f"invalid run key {key!r}")

    # ---------------------------------------------------------------- writing
    def write_result(
        self,
        task: Task,
        kpis: Mapping[str, float],
        timeseries: pd.DataFrame | None,
        seconds: float,
    ) -> None:
        """Record a finished run (atomically; replaces an earlier failure of the key)."""
        clean = clean_kpis(kpis, task.meta)
        blob = None if timeseries is None else encode_timeseries(timeseries)
        self._commit(task, clean, blob, seconds)

    def _commit(self, task: Task, kpis: dict[str, float], ts: bytes | None, seconds: float) -> None:
        """Record a finished run whose KPIs are clean and time series already encoded."""
        ts_path = self._ts_path(task.key)
        if ts is not None:
            ts_path.parent.mkdir(exist_ok=True)
            write_bytes_atomic(ts_path, ts, fsync=self.fsync_records)
        else:
            _unlink(ts_path)
        record = {
            "format": FORMAT,
            "kind": "result",
            "key": task.key,
            "seed": task.seed,
            "meta": task.meta,
            "kpis": kpis,
            "seconds": float(seconds),
            "finished": time.time(),
            "has_ts": ts is not None,
        }
        data = json.dumps(record, separators=(",", ":")).encode()
        write_bytes_atomic(self._pending / f"{task.key}.json", data, fsync=self.fsync_records)
        _unlink(self._failed / f"{task.key}.json")
        self._n_unflushed += 1
        if self._n_unflushed >= self.segment_rows:
            self.flush()

    def write_failure(self, task: Task, error: str, traceback: str, seconds: float) -> None:
        """Record that a run failed (``error`` is made one line; the traceback is kept)."""
        line = " ".join(s.strip() for s in str(error).splitlines() if s.strip())
        record = {
            "format": FORMAT,
            "kind": "failure",
            "key": task.key,
            "seed": task.seed,
            "meta": task.meta,
            "error": line,
            "traceback": str(traceback),
            "seconds": float(seconds),
            "failed_at": time.time(),
            "host": socket.gethostname(),
        }
        data = json.dumps(record, separators=(",", ":")).encode()
        write_bytes_atomic(self._failed / f"{task.key}.json", data, fsync=self.fsync_records)

    def flush(self) -> int:
        """Compact pending records into a segment; merge small segments. Returns rows moved."""
        self._n_unflushed = 0
        pending_names = self._key_names(self._pending)
        moved = 0
        if pending_names:
            in_segments: set[str] = set()
            for name in self._segment_names():
                try:
                    in_segments |= self._segment_keys(name)
                except FileNotFoundError:
                    pass
            records, read = [], []
            for name in pending_names:
                try:
                    rec = self._read_json(self._pending / name, "result")
                except FileNotFoundError:
                    continue
                read.append(name)
                if rec is not None and rec["key"] not in in_segments:
                    records.append(rec)
            if records:
                self._write_segment(records_to_table(records))
                moved = len(records)
            for name in read:  # corrupt ones too: their runs are not done and will be redone
                _unlink(self._pending / name)
        self._merge_small_segments()
        self._remove_stale_temp_files()
        return moved

    def _write_segment(self, table: pa.Table) -> str:
        name = f"seg-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.parquet"
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        write_bytes_atomic(self._segments / name, buf.getvalue(), fsync=True)
        fsync_dir(self._segments)
        self._seg_keys[name] = frozenset(table.column("key").to_pylist())
        return name

    def _merge_small_segments(self) -> None:
        """Merge small segments once there are several, and always merge segments that share a
        key (left by a crash between writing a merged segment and deleting its sources), so that
        a finished batch stores every run exactly once."""
        names = self._segment_names()
        sizes: dict[str, int] = {}
        owner: dict[str, str] = {}
        overlapping: set[str] = set()
        for name in names:
            try:
                keys = self._segment_keys(name)  # empty: unreadable, left alone
            except FileNotFoundError:
                continue
            sizes[name] = len(keys)
            for k in keys:
                other = owner.setdefault(k, name)
                if other != name:
                    overlapping.update((name, other))
        small = {n for n, size in sizes.items() if 0 < size < self.segment_rows}
        chosen = (small if len(small) >= _MERGE_WHEN_SMALL else set()) | overlapping
        if not chosen:
            return
        tables, merged = [], []
        for name in [n for n in names if n in chosen]:
            try:
                table = self._read_segment(name)
            except FileNotFoundError:
                continue
            if table is not None:
                merged.append(name)
                tables.append(table)
        if tables:
            try:
                table = pa.concat_tables(tables, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                return  # labels of mixed types: keep the segments as they are
            seen: set[str] = set()
            keep = []
            for i, k in enumerate(table.column("key").to_pylist()):
                if k not in seen:
                    seen.add(k)
                    keep.append(i)
            if len(keep) < table.num_rows:
                table = table.take(pa.array(keep, pa.int64()))
            self._write_segment(table)
        for name in merged:
            _unlink(self._segments / name)
            self._seg_keys.pop(name, None)

    def _remove_stale_temp_files(self) -> None:
        limit = time.time() - _STALE_TMP_SECONDS
        dirs = [self.root, self._pending, self._segments, self._failed]
        dirs += [d for d in self._ts.iterdir() if d.is_dir()]
        for d in dirs:
            for path in d.glob(f"{TMP_PREFIX}*"):
                try:
                    if path.stat().st_mtime < limit:
                        path.unlink()
                except FileNotFoundError:
                    pass

    # ---------------------------------------------------------------- manifest
    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            m = json.loads(self._manifest_path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            self._warn(self._manifest_path, f"{type(exc).__name__}: {exc}")
            return None
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise ValueError(f"{self.root.name!r} is not a cxsim run store (bad manifest.json)")
        return m

    def _write_manifest(self, m: Mapping[str, Any]) -> None:
        data = json.dumps(m, indent=1, default=str, allow_nan=False).encode()
        write_bytes_atomic(self._manifest_path, data)

    def record_batch(self, info: Mapping[str, Any]) -> None:
        """Append one batch's description to manifest.json (versions and host refreshed)."""
        m = self._read_manifest()
        if m is None:
            m = {"format": FORMAT, "format_version": FORMAT_VERSION, "created": _now()}
        m["updated"] = _now()
        m["host"] = socket.gethostname()
        m["versions"] = environment_versions()
        batches = [*m.get("batches", []), json_safe(dict(info))]
        m["batches"] = batches[-_MAX_BATCHES_KEPT:]
        self._write_manifest(m)
