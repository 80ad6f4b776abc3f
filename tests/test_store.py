"""The run store: keys, round trips, compaction, failures, damaged files, scale."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.store import RunStore, StoreWarning, Task, task_key
from tests import _batch_fns as fns


def _write(store: RunStore, tasks, fn=fns.draw_series) -> None:
    for t in tasks:
        out = fn(t.params, t.seed)
        if isinstance(out, fns.RunResult):
            store.write_result(t, out.kpis, out.timeseries, seconds=0.5)
        else:
            store.write_result(t, out, None, seconds=0.5)


# ------------------------------------------------------------------------------ task_key
def test_task_key_is_stable_and_canonical():
    k = task_key({"b": 0.1, "a": [1, 2.5, "x"], "c": {"z": None, "y": True}}, 7)
    assert len(k) == 20 and all(c in "0123456789abcdef" for c in k)
    # pinned: changing the canonical form would orphan every existing store
    assert k == "367c930ffee4f1b49674"
    # insertion order does not matter; numpy scalars and tuples canonicalise like builtins
    same = {"c": {"y": np.bool_(True), "z": None}, "a": (np.int64(1), np.float64(2.5), "x")}
    assert task_key(same | {"b": 0.1}, np.int64(7)) == k
    assert task_key({"b": 0.1, "a": [1, 2.5, "x"], "c": {"z": None, "y": True}}, 8) != k
    # floats by repr: one ulp, or 1 vs 1.0, is a different run
    assert task_key({"x": 0.1}, 1) != task_key({"x": np.nextafter(0.1, 1.0)}, 1)
    assert task_key({"x": 1}, 1) != task_key({"x": 1.0}, 1)
    # a precomputed fingerprint string is accepted
    assert task_key("abc123", 1) != task_key("abc124", 1)


def test_task_key_accepts_dataclasses_and_rejects_unknown_objects():
    @dataclass(frozen=True)
    class P:
        n: int
        rate: float

    assert task_key({"p": P(3, 0.5)}, 1) == task_key({"p": {"n": 3, "rate": 0.5}}, 1)
    with pytest.raises(TypeError, match=r"cannot fingerprint params\.x"):
        task_key({"x": object()}, 1)
    with pytest.raises(TypeError, match="seed"):
        task_key({"x": 1}, 1.5)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.floats(allow_nan=False) | st.integers(-(10**12), 10**12) | st.text(max_size=5),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 2**63 - 1),
)
def test_task_key_ignores_insertion_order(d, seed):
    reordered = dict(reversed(list(d.items())))
    assert task_key(d, seed) == task_key(reordered, seed)


# ------------------------------------------------------------------------------ Task
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, r"Task.seed=-1 is invalid"),
        ({"seed": 2**63}, r"Task.seed=.* is invalid"),
        ({"seed": True}, r"Task.seed=True is invalid"),
        ({"key": "../x"}, r"Task.key='../x' is invalid"),
        ({"key": ""}, r"Task.key='' is invalid"),
        ({"meta": {"seed": 1}}, r"meta name 'seed' is invalid"),
    ],
)
def test_task_validation_value_errors(kwargs, match):
    args = {"params": {}, "seed": 1, "key": "k1"} | kwargs
    with pytest.raises(ValueError, match=match):
        Task(**args)


def test_task_meta_types():
    t = Task({}, np.int64(3), "k1", {"a": np.int32(2), "b": np.float32(0.5), "c": np.str_("x")})
    assert t.seed == 3 and type(t.seed) is int
    assert t.meta == {"a": 2, "b": 0.5, "c": "x"}
    assert [type(v) for v in t.meta.values()] == [int, float, str]
    with pytest.raises(TypeError, match="is a bool"):
        Task({}, 1, "k1", {"flag": True})
    with pytest.raises(TypeError, match="allowed str, int or float"):
        Task({}, 1, "k1", {"x": [1]})


# ------------------------------------------------------------------------------ round trip
def test_kpis_round_trip_columns_and_dtypes(tmp_path):
    store = RunStore(tmp_path / "s")
    assert list(store.kpis().columns) == ["key", "seed"] and store.kpis().empty
    tasks = fns.make_tasks(6)
    _write(store, tasks, fns.draw_kpis)
    df = store.kpis()
    kpi_names = list(fns.draw_kpis(tasks[0].params, tasks[0].seed))
    assert list(df.columns) == ["key", "seed", "scenario", "replicate", "row", *kpi_names]
    assert df["key"].tolist() == sorted(t.key for t in tasks)
    assert df["seed"].dtype == np.int64 and df["replicate"].dtype == np.int64
    assert all(df[c].dtype == np.float64 for c in ["mean", "sd", "q90", "max"])
    by_key = df.set_index("key")
    for t in tasks:
        expected = fns.draw_kpis(t.params, t.seed)
        assert by_key.loc[t.key, list(expected)].tolist() == list(expected.values())  # exact
        assert by_key.loc[t.key, "seed"] == t.seed
    assert store.done_keys() == {t.key for t in tasks}
    assert store.failed_keys() == set()


def test_kpis_nan_missing_and_column_order_independent_of_write_order(tmp_path):
    t1 = Task({"i": 1}, 1, "aa01", {"scenario": "x"})
    t2 = Task({"i": 2}, 2, "bb02", {"scenario": "y", "extra": 2.5})
    frames = []
    for name, order, rows in [("a", [t1, t2], 1), ("b", [t2, t1], 500)]:
        store = RunStore(tmp_path / name, segment_rows=rows)
        for t in order:
            kpis = {"nps": math.nan, "revenue": 10.0 * t.seed}
            if t is t2:
                kpis = {"profit": -1.0, **kpis}
            store.write_result(t, kpis, None, seconds=0.1)
        frames.append(store.kpis())
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    df = frames[0]
    # the smallest key fixes the order; what it lacks follows
    assert list(df.columns) == ["key", "seed", "scenario", "extra", "nps", "revenue", "profit"]
    assert math.isnan(df.loc[0, "nps"]) and math.isnan(df.loc[0, "profit"])
    assert math.isnan(df.loc[0, "extra"]) and df.loc[1, "extra"] == 2.5


def test_timeseries_round_trip_exact(tmp_path):
    store = RunStore(tmp_path / "s")
    t = fns.make_tasks(1)[0]
    res = fns.draw_series(t.params, t.seed)
    store.write_result(t, res.kpis, res.timeseries, seconds=1.0)
    pd.testing.assert_frame_equal(store.timeseries(t.key), res.timeseries, check_exact=True)
    other = fns.make_tasks(1, start=1)[0]
    store.write_result(other, {"x": 1.0}, None, seconds=1.0)
    assert store.timeseries(other.key) is None
    assert store.timeseries("0123456789abcdef0123") is None
    with pytest.raises(ValueError, match="invalid run key"):
        store.timeseries("../etc")
    runs = store.runs().set_index("key")
    assert runs.loc[t.key, "has_timeseries"] and not runs.loc[other.key, "has_timeseries"]


def test_failures_recorded_then_cleared_by_success(tmp_path):
    store = RunStore(tmp_path / "s")
    a, b = fns.make_tasks(2)
    store.write_failure(a, "ValueError: bad\nvalue", "Traceback ...\nValueError: bad", 0.2)
    store.write_result(b, {"x": 1.0}, None, 0.1)
    assert store.failed_keys() == {a.key}
    f = store.failures()
    assert list(f.columns) == ["key", "seed", "scenario", "replicate", "row", "error"]
    assert f.loc[0, "error"] == "ValueError: bad value"
    assert store.failure_traceback(a.key).startswith("Traceback")
    store.write_result(a, {"x": 2.0}, None, 0.1)
    assert store.failed_keys() == set() and store.failures().empty
    assert store.failure_traceback(a.key) is None
    assert store.done_keys() == {a.key, b.key}


# ------------------------------------------------------------------------------ compaction
def test_compaction_and_merging_keep_the_same_frame(tmp_path):
    tasks = fns.make_tasks(40)
    ref = RunStore(tmp_path / "ref", segment_rows=10_000)
    _write(ref, tasks)
    small = RunStore(tmp_path / "small", segment_rows=3)
    for i in range(0, 40, 2):  # many small batches, each ending with a flush
        _write(small, tasks[i : i + 2])
        small.flush()
    n_segments = len(list((tmp_path / "small" / "segments").glob("seg-*.parquet")))
    assert n_segments <= 20 and not list((tmp_path / "small" / "pending").iterdir())
    pd.testing.assert_frame_equal(small.kpis(), ref.kpis(), check_exact=True)
    report = small.verify()
    assert report["duplicates"] == 0 and report["keys"] == 40 and report["unreadable"] == []


def test_merge_bounds_the_number_of_segments(tmp_path):
    store = RunStore(tmp_path / "s", segment_rows=100)
    for t in fns.make_tasks(30):
        _write(store, [t])
        store.flush()
    assert len(list((tmp_path / "s" / "segments").iterdir())) < 8
    assert len(store.kpis()) == 30


def test_crash_between_segment_and_pending_delete_is_deduplicated(tmp_path):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(5)
    _write(store, tasks)
    saved = {p.name: p.read_bytes() for p in (tmp_path / "s" / "pending").iterdir()}
    store.flush()
    for name, data in saved.items():  # as if killed before the records were deleted
        (tmp_path / "s" / "pending" / name).write_bytes(data)
    fresh = RunStore(tmp_path / "s")
    assert fresh.verify()["duplicates"] == 5
    df = fresh.kpis()
    assert df["key"].is_unique and len(df) == 5
    fresh.flush()
    assert fresh.verify()["duplicates"] == 0
    pd.testing.assert_frame_equal(fresh.kpis(), df, check_exact=True)


# ------------------------------------------------------------------------------ damage
def test_stray_temp_and_truncated_files_do_not_break_reads(tmp_path):
    root = tmp_path / "s"
    store = RunStore(root, segment_rows=4)
    tasks = fns.make_tasks(10)
    _write(store, tasks[:9])  # 8 in two segments, 1 pending
    expected = store.kpis()
    # leftovers of a killed writer: temp files, everywhere
    for d in ["pending", "segments", "failed", "."]:
        (root / d / ".tmp-x.json.123.abcd").write_bytes(b'{"format": "cxsim-run')
    (root / "segments" / ".tmp-seg-1.parquet.1.ab").write_bytes(b"PAR1\x00\x01")
    # files damaged outside our control: a truncated record, a truncated segment, junk
    good = json.loads(next((root / "pending").glob("*.json")).read_text())
    (root / "pending" / f"{tasks[9].key}.json").write_text(json.dumps(good)[:37])
    (root / "segments" / f"seg-{time.time_ns():020d}-1-ab.parquet").write_bytes(b"PAR1 trunc")
    (root / "pending" / "notes.txt").write_text("hello")
    ts = root / "timeseries" / tasks[0].key[:2] / f"{tasks[0].key}.parquet"
    ts.write_bytes(ts.read_bytes()[:50])

    reader = RunStore(root)
    with pytest.warns(StoreWarning, match="skipping unreadable file"):
        df = reader.kpis()
    pd.testing.assert_frame_equal(df, expected, check_exact=True)
    assert tasks[9].key not in reader.done_keys()  # the damaged run will simply be redone
    with pytest.warns(StoreWarning):
        assert reader.timeseries(tasks[0].key) is None
    report = RunStore(root).verify()
    assert report["keys"] == 9 and report["duplicates"] == 0
    assert len(report["unreadable"]) == 3 and len(report["temp_files"]) == 5
    # and writing goes on (this reader already warned about those files: it stays quiet)
    _write(reader, tasks[9:])
    reader.flush()
    assert len(reader.kpis()) == 10


def test_flush_removes_only_stale_temp_files(tmp_path):
    store = RunStore(tmp_path / "s")
    old = tmp_path / "s" / "pending" / ".tmp-old.json.1.ab"
    new = tmp_path / "s" / "pending" / ".tmp-new.json.1.cd"
    old.write_text("{")
    new.write_text("{")
    os.utime(old, (time.time() - 7 * 3600,) * 2)
    store.flush()
    assert not old.exists() and new.exists()


def test_manifest(tmp_path):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(3)
    _write(store, tasks[:2])
    store.write_failure(tasks[2], "RuntimeError: x", "tb", 0.25)
    m = store.manifest()
    assert m["format"] == "cxsim-runstore" and m["format_version"] == 1
    assert {"python", "numpy", "pandas", "mesa", "cxsim"} <= set(m["versions"])
    assert m["versions"]["numpy"] == np.__version__
    assert m["host"] and m["created"] and m["updated"]
    assert (m["n_done"], m["n_failed"]) == (2, 1)
    assert m["total_seconds"] == pytest.approx(2 * 0.5 + 0.25)
    store.record_batch({"desc": "x", "n_done": 2})
    assert RunStore(tmp_path / "s").manifest()["batches"][-1]["desc"] == "x"


def test_refuses_a_directory_that_is_not_a_store(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a cxsim run store"):
        RunStore(tmp_path)


# ------------------------------------------------------------------------------ scale
@pytest.mark.slow
def test_kpis_fast_for_10k_runs(tmp_path):
    store = RunStore(tmp_path / "s")
    kpis = {f"kpi_{i:02d}": float(i) for i in range(20)}
    for i in range(10_000):
        t = Task({"i": i}, i, f"{i:020x}", {"scenario": f"s{i % 3}", "row": i // 4})
        store.write_result(t, kpis, None, seconds=0.01)
    store.flush()
    reader = RunStore(tmp_path / "s")
    t0 = time.perf_counter()
    df = reader.kpis()
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = RunStore(tmp_path / "s").done_keys()  # a fresh instance: no cached segment keys
    done_keys = time.perf_counter() - t0
    print(f"\nkpis() on 10,000 runs: {cold:.3f} s; done_keys(): {done_keys:.4f} s")
    assert df.shape == (10_000, 24) and len(keys) == 10_000
    assert cold < 3.0
