"""run_tasks: resume, failures, crash safety, executors agreeing bit for bit, flat memory."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.executor import (
    BatchSummary,
    ExecutorConfig,
    executor_from_cfg,
    run_tasks,
)
from experiments.store import RunStore, Task
from tests import _batch_fns as fns

REPO = Path(__file__).resolve().parents[1]
SERIAL = ExecutorConfig(kind="serial")
LOKY = ExecutorConfig(kind="loky", n_jobs=2)


def _files(root: Path) -> dict[str, tuple[int, str]]:
    """Every file of a store with its mtime and content hash."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# ------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "ray"}, r"executor.kind='ray' is invalid: allowed serial, loky, dask"),
        ({"n_jobs": 0}, r"executor.n_jobs=0 is invalid: allowed a positive integer or -1"),
        ({"n_jobs": True}, r"executor.n_jobs=True is invalid"),
        ({"n_jobs": "4"}, r"executor.n_jobs='4' is invalid"),
        ({"batch_size": 0}, r"executor.batch_size=0 is invalid: allowed 'auto' or a positive"),
        ({"batch_size": "big"}, r"executor.batch_size='big' is invalid"),
        ({"kind": "dask", "address": "localhost"}, r"executor.address='localhost' is invalid"),
        ({"kind": "loky", "address": "tcp://h:8786"}, r"allowed only with kind='dask'"),
    ],
)
def test_executor_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match) as err:
        ExecutorConfig(**kwargs)
    assert "\n" not in str(err.value)


def test_executor_config_accepts_valid_values():
    assert ExecutorConfig() == ExecutorConfig(
        kind="loky", n_jobs=2, address=None, batch_size="auto"
    )
    ExecutorConfig(kind="dask", n_jobs=-1, address="tcp://scheduler:8786", batch_size=8)


@pytest.mark.parametrize("kind", ["serial", "loky", "dask"])
def test_executor_group_files_compose_with_hydra(kind, tmp_path):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    group_file = REPO / "configs" / "executor" / f"{kind}.yaml"
    assert executor_from_cfg(OmegaConf.load(group_file)).kind == kind
    # a primary config that takes only the executor group from the project's configs
    (tmp_path / "primary.yaml").write_text(
        "defaults:\n  - executor: serial\n  - _self_\n"
        f"hydra:\n  searchpath:\n    - file://{REPO / 'configs'}\n"
    )
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        cfg = compose(config_name="primary", overrides=[f"executor={kind}", "executor.n_jobs=3"])
    ex = executor_from_cfg(cfg.executor)
    assert (ex.kind, ex.n_jobs, ex.address, ex.batch_size) == (kind, 3, None, "auto")


def test_executor_from_cfg_refuses_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match=r"unknown executor key 'workers': allowed kind"):
        executor_from_cfg({"kind": "loky", "workers": 4})
    with pytest.raises(ValueError, match=r"executor.n_jobs=-3 is invalid"):
        executor_from_cfg({"kind": "loky", "n_jobs": -3})
    assert executor_from_cfg({"kind": "serial"}) == ExecutorConfig(kind="serial")


def test_dask_missing_gives_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ImportError, match=r"install the 'dask' extra") as err:
        run_tasks(
            fns.draw_kpis,
            fns.make_tasks(2),
            store=RunStore(tmp_path / "s"),
            executor=ExecutorConfig(kind="dask"),
            progress=False,
        )
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------ resume
@pytest.mark.parametrize("executor", [SERIAL, LOKY], ids=["serial", "loky"])
def test_resume_skips_finished_runs_and_leaves_store_unchanged(tmp_path, executor):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(12)
    first = run_tasks(fns.draw_series, tasks, store=store, executor=executor, progress=False)
    assert (first.n_total, first.n_skipped, first.n_done, first.n_failed) == (12, 0, 12, 0)
    before, frame = _files(tmp_path / "s"), store.kpis()

    again = run_tasks(fns.draw_series, tasks, store=store, executor=executor, progress=False)
    assert again.n_skipped == again.n_total == 12 and again.n_done == again.n_failed == 0
    assert _files(tmp_path / "s") == before
    pd.testing.assert_frame_equal(store.kpis(), frame, check_exact=True)

    more = run_tasks(
        fns.draw_series, fns.make_tasks(16), store=store, executor=executor, progress=False
    )
    assert (more.n_total, more.n_skipped, more.n_done) == (16, 12, 4)
    assert len(store.kpis()) == 16
    for t in tasks[:3]:
        expected = fns.draw_series(t.params, t.seed).timeseries
        pd.testing.assert_frame_equal(store.timeseries(t.key), expected, check_exact=True)


@pytest.mark.parametrize("executor", [SERIAL, LOKY], ids=["serial", "loky"])
def test_failures_recorded_then_retried_after_fix(tmp_path, executor):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(12)  # seeds 1000..1011: 1002, 1005, 1008, 1011 fail
    bad = {t.key for t in tasks if t.seed % 3 == 0}
    s = run_tasks(fns.fragile, tasks, store=store, executor=executor, progress=False)
    assert (s.n_total, s.n_done, s.n_failed) == (12, 8, 4)
    assert store.failed_keys() == bad
    assert store.done_keys() == {t.key for t in tasks} - bad
    f = store.failures().set_index("key")
    t = next(t for t in tasks if t.seed == 1002)
    assert (
        f.loc[t.key, "error"]
        == "ValueError: seed 1002 is divisible by 3 second line of the message"
    )
    assert f.loc[t.key, "scenario"] == "base" and f.loc[t.key, "seed"] == 1002
    assert "in fragile" in store.failure_traceback(t.key)

    # the bug is fixed: only the failed runs run again
    s = run_tasks(fns.draw_kpis, tasks, store=store, executor=executor, progress=False)
    assert (s.n_skipped, s.n_done, s.n_failed) == (8, 4, 0)
    assert store.failed_keys() == set() and store.failures().empty
    fresh = RunStore(tmp_path / "fresh")
    run_tasks(fns.draw_kpis, tasks, store=fresh, executor=SERIAL, progress=False)
    pd.testing.assert_frame_equal(store.kpis(), fresh.kpis(), check_exact=True)
    m = store.manifest()
    assert (m["n_done"], m["n_failed"], len(m["batches"])) == (12, 0, 2)
    assert m["batches"][0]["n_failed"] == 4 and m["batches"][0]["fn"].endswith("fragile")


def test_bad_return_values_are_failures(tmp_path):
    store = RunStore(tmp_path / "s")
    a, b = fns.make_tasks(2)
    run_tasks(fns.returns_int, [a], store=store, executor=SERIAL, progress=False)
    run_tasks(fns.returns_text_kpi, [b], store=store, executor=SERIAL, progress=False)
    errors = store.failures().set_index("key")["error"]
    assert errors[a.key].startswith("TypeError: run function returned int")
    assert errors[b.key] == "TypeError: KPI label='high' is not a real number"
    clash = Task({"mu": 0, "sigma": 1}, 5, "clash", {"mean": 1.0})
    run_tasks(fns.draw_kpis, [clash], store=store, executor=SERIAL, progress=False)
    assert "clashes with the key, seed or a meta label" in store.failures().iloc[-1]["error"]


def test_duplicate_keys_run_once(tmp_path):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(5)
    counting = fns.Counting()
    s = run_tasks(counting, tasks + tasks[:3] + tasks, store=store, executor=SERIAL, progress=False)
    assert (s.n_total, s.n_done) == (5, 5)
    assert sorted(counting.calls) == sorted(t.seed for t in tasks)


def test_interrupt_keeps_finished_results(tmp_path):
    store = RunStore(tmp_path / "s")
    tasks = fns.make_tasks(6)
    stop = Task({"mu": 0.0, "sigma": 1.0, "stop": True}, 7, "stop-here")
    with pytest.raises(KeyboardInterrupt):
        run_tasks(fns.interrupted_at, [*tasks[:4], stop, *tasks[4:]], store=store, executor=SERIAL)
    assert store.done_keys() == {t.key for t in tasks[:4]}
    assert not list((tmp_path / "s" / "pending").iterdir())  # compacted on the way out
    assert store.manifest()["batches"][-1]["interrupted"] is True
    s = run_tasks(fns.draw_kpis, [*tasks, stop], store=store, executor=SERIAL, progress=False)
    assert (s.n_skipped, s.n_done) == (4, 3)


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CI", "1")
    run_tasks(fns.draw_kpis, fns.make_tasks(3), store=RunStore(tmp_path / "a"), executor=SERIAL)
    assert capsys.readouterr().err == ""  # auto: CI set, stderr not a terminal
    run_tasks(
        fns.draw_kpis,
        fns.make_tasks(3),
        store=RunStore(tmp_path / "b"),
        executor=SERIAL,
        progress=True,
        desc="sweep",
    )
    err = capsys.readouterr().err
    assert "sweep" in err and "3/3" in err
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------------------ equivalence
def test_serial_loky_dask_bit_identical(tmp_path):
    pytest.importorskip("distributed")
    tasks = fns.make_tasks(40)
    frames, timings = {}, {}
    for ex in [
        SERIAL,
        ExecutorConfig(kind="loky", n_jobs=2, batch_size=3),
        ExecutorConfig(kind="dask", n_jobs=2),
    ]:
        store = RunStore(tmp_path / ex.kind, segment_rows=7)
        t0 = time.perf_counter()
        s = run_tasks(fns.draw_series, tasks, store=store, executor=ex, progress=False)
        timings[ex.kind] = time.perf_counter() - t0
        assert (s.n_done, s.n_failed) == (40, 0)
        frames[ex.kind] = store
    print("\n40 runs:", ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    ref = frames["serial"].kpis()
    for kind in ["loky", "dask"]:
        pd.testing.assert_frame_equal(frames[kind].kpis(), ref, check_exact=True)
        for t in tasks[::7]:
            pd.testing.assert_frame_equal(
                frames[kind].timeseries(t.key), frames["serial"].timeseries(t.key), check_exact=True
            )


# ------------------------------------------------------------------------------ crash safety
CRASH_CHILD = """
import sys
from experiments.executor import ExecutorConfig, run_tasks
from experiments.store import RunStore
from tests import _batch_fns as fns

root, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
run_tasks(fns.slow_series, fns.make_tasks(n), store=RunStore(root, segment_rows=4),
          executor=ExecutorConfig(kind=kind, n_jobs=2, batch_size=1), progress=False)
"""


@pytest.mark.parametrize("kind", ["serial", "loky"])
def test_sigkill_midway_then_resume_stores_each_run_once(tmp_path, kind):
    n = 60
    root = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, str(root), kind, str(n)],
        env=_subprocess_env(CXSIM_TEST_SLEEP="0.05"),
        start_new_session=True,  # its own process group: the kill takes its workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not (root / "manifest.json").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        watcher = RunStore(root)  # reads while the child writes
        while len(watcher.done_keys()) < 9:  # past a couple of compactions
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()

    after_kill = RunStore(root)
    done = after_kill.done_keys()
    assert 9 <= len(done) < n
    assert after_kill.verify()["unreadable"] == []

    s = run_tasks(
        fns.slow_series,
        fns.make_tasks(n),
        store=RunStore(root),
        executor=ExecutorConfig(kind=kind, n_jobs=2),
        progress=False,
    )
    assert (s.n_total, s.n_skipped, s.n_done, s.n_failed) == (n, len(done), n - len(done), 0)
    resumed = RunStore(root)
    report = resumed.verify()
    assert (report["rows"], report["keys"], report["duplicates"]) == (n, n, 0)
    assert report["pending"] == 0 and report["unreadable"] == []

    fresh = RunStore(tmp_path / "fresh")
    run_tasks(fns.slow_series, fns.make_tasks(n), store=fresh, executor=SERIAL, progress=False)
    pd.testing.assert_frame_equal(resumed.kpis(), fresh.kpis(), check_exact=True)
    for t in fns.make_tasks(n):
        pd.testing.assert_frame_equal(
            resumed.timeseries(t.key), fresh.timeseries(t.key), check_exact=True
        )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["serial", "loky"])
def test_repeated_sigkills_at_random_moments(tmp_path, kind):
    """Kill, restart, kill again ... at random points (often mid-compaction): same result."""
    n, root, rng = 60, tmp_path / "s", random.Random(20240611)
    env = _subprocess_env(CXSIM_TEST_SLEEP="0.01")
    kills = 0
    for _ in range(40):
        start = len(RunStore(root).done_keys()) if root.exists() else 0
        target = start + rng.randint(2, 8)
        proc = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, str(root), kind, str(n)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if (root / "manifest.json").exists() and len(RunStore(root).done_keys()) >= target:
                    time.sleep(rng.uniform(0.0, 0.03))  # a random moment after the target
                    break
                time.sleep(0.003)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            returncode = proc.wait()
        if returncode == 0:
            break
        kills += 1
    else:
        pytest.fail("the batch never finished")
    assert kills >= 3
    resumed = RunStore(root)
    report = resumed.verify()
    assert (report["keys"], report["duplicates"], report["unreadable"]) == (n, 0, [])
    fresh = RunStore(tmp_path / "fresh")
    run_tasks(fns.slow_series, fns.make_tasks(n), store=fresh, executor=SERIAL, progress=False)
    pd.testing.assert_frame_equal(resumed.kpis(), fresh.kpis(), check_exact=True)
    print(f"\n{kind}: finished after {kills} SIGKILLs")


# ------------------------------------------------------------------------------ memory
MEMORY_CHILD = """
import json, re, sys
from experiments.executor import ExecutorConfig, run_tasks
from experiments.store import RunStore
from tests import _batch_fns as fns

def status_mib(field):  # VmRSS: now; VmHWM: peak since start or since the last reset
    text = open("/proc/self/status").read()
    return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) / 1024

class Probe(RunStore):  # measures the parent's memory as results are committed
    marks = {}
    def _commit(self, *args, **kwargs):
        super()._commit(*args, **kwargs)
        self.count = getattr(self, "count", 0) + 1
        if self.count == 200:
            self.marks["rss_at_200"] = status_mib("VmRSS")
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset the peak to the current RSS
        elif self.count == 1000:
            self.marks["peak_200_1000"] = status_mib("VmHWM")

# segment_rows=100: the first compaction (one-off Parquet writer set-up) happens before 200
store = Probe(sys.argv[1], segment_rows=100)
s = run_tasks(fns.wide_series, fns.make_tasks(1000), store=store,
              executor=ExecutorConfig(kind="loky", n_jobs=2), progress=False)
assert s.n_done == 1000, s
print(json.dumps(store.marks))
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc peak-RSS reset"
)
def test_parent_memory_stays_flat_over_1000_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(tmp_path / "s")],
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    growth = marks["peak_200_1000"] - marks["rss_at_200"]
    print(
        f"\nparent RSS {marks['rss_at_200']:.1f} MiB after 200 runs; peak between runs 200 "
        f"and 1000: {marks['peak_200_1000']:.1f} MiB (+{growth:.1f} MiB; the 800 time series "
        "received in between weigh ~40 MiB)"
    )
    assert growth < 30
    store = RunStore(tmp_path / "s")
    assert len(store.kpis()) == 1000 and store.verify()["duplicates"] == 0


def test_batch_summary_is_frozen():
    s = BatchSummary(1, 0, 1, 0, 0.1)
    with pytest.raises(AttributeError):
        s.n_done = 2  # type: ignore[misc]


def test_rerun_with_nothing_to_do_still_compacts_crash_leftovers(tmp_path):
    """A process killed after writing a segment but before deleting its pending records leaves
    each of those runs stored twice. The next batch, even with nothing left to run, must
    compact them (found by the repeated-SIGKILL test: its last process had nothing to do)."""
    tasks = fns.make_tasks(6)
    store = RunStore(tmp_path / "s", segment_rows=100)
    run_tasks(fns.draw_kpis, tasks, store=store, executor=SERIAL, progress=False)
    for t in tasks[:3]:  # the leftovers: pending records of runs already compacted
        store._commit(t, {"x": 1.0}, None, 0.1)
    assert RunStore(tmp_path / "s").verify()["duplicates"] == 3
    again = RunStore(tmp_path / "s", segment_rows=100)
    summary = run_tasks(fns.draw_kpis, tasks, store=again, executor=SERIAL, progress=False)
    assert (summary.n_skipped, summary.n_done) == (6, 0)
    report = RunStore(tmp_path / "s").verify()
    assert (report["keys"], report["duplicates"], report["pending"]) == (6, 0, 0)
