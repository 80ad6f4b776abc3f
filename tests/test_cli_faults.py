"""Faults of the environment and discoverability: one line, the documented exit code, nothing
left that looks complete. Exit codes: 2 bad input (nothing ran), 1 could not finish."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time

import pytest

from experiments.cli import COMMANDS, HELP, main
from experiments.lock import LOCK_NAME, RunDirBusy, run_dir_lock

TINY = [
    "population.n_customers=100",
    "steps=5",
    "evaluation.burn_in=1",
    "output.figure=false",
    "output.quiet=true",
]


def _one_line(capsys, prefix):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(prefix) and "Traceback" not in err[0], err
    return err[0]


# ------------------------------------------------------------------------ discoverability
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cxsim ")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_explains_itself(name, capsys):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: cxsim {name}") and "example" in out
    assert len(out.splitlines()) < 60  # an explanation, not a configuration dump
    assert main(["help", name]) == 0 and capsys.readouterr().out == out


def test_help_covers_every_command():
    assert set(COMMANDS) <= set(HELP)


def test_kpis_lists_every_declared_kpi(capsys):
    from sim.kpis import BY_NAME, RUN_KPIS

    assert main(["kpis"]) == 0
    out = capsys.readouterr().out
    for k in BY_NAME.values():
        assert f"\n{k.name} " in out and k.unit in out
    assert "[0, 1]" in out  # ranges
    assert main(["kpis", "retention"]) == 0
    # header + the run-level window mean + the weekly series
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert len(RUN_KPIS) > 0


def test_params_lists_declarations(capsys):
    from sim.params import describe

    assert main(["params"]) == 0
    out = capsys.readouterr().out
    for key, _allowed, doc in describe():
        assert key in out and doc in out
    assert main(["params", "firm.support."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 6 and "staff skill" in "\n".join(lines)
    assert main(["params", "shocks"]) == 0
    assert "shocks.<name>.start" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["params", "nope"], ["kpis", "nope"], ["params", "a", "b"], ["kpis", "--frob"]],
)
def test_listing_errors(args, capsys):
    assert main(args) == 2
    _one_line(capsys, f"cxsim {args[0]}: error:")


# ------------------------------------------------------------------------ the run directory
def test_run_dir_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["run", *TINY, f"hydra.run.dir={f}"]) == 2
    assert "existing file" in _one_line(capsys, "cxsim run: error:")
    assert main(["run", *TINY, f"hydra.run.dir={f / 'sub'}"]) == 2
    assert "is a file" in _one_line(capsys, "cxsim run: error:")


def test_run_dir_not_writable(tmp_path, capsys, monkeypatch):
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real(p, mode)
    )
    assert main(["run", *TINY, f"hydra.run.dir={tmp_path / 'out'}"]) == 2
    assert "read-only" in _one_line(capsys, "cxsim run: error:")
    assert not (tmp_path / "out").exists()


def test_non_ascii_run_dir(tmp_path, capsys):
    out = tmp_path / "résultats"
    assert main(["run", *TINY, f"hydra.run.dir={out}"]) == 2
    line = _one_line(capsys, "cxsim run: error:")
    assert "quote" in line and not out.exists()
    assert main(["run", *TINY, f"hydra.run.dir='{out}'"]) == 0  # quoted as the message says
    assert (out / "kpis.json").is_file()


def test_full_disk_keeps_nothing_half_written(tmp_path, capsys, monkeypatch):
    import experiments.run as run_mod

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(run_mod, "write_atomic", full)
    out = tmp_path / "out"
    assert main(["run", *TINY, f"hydra.run.dir={out}"]) == 1
    assert "no space left" in _one_line(capsys, "cxsim run: error:")
    assert not (out / "timeseries.parquet").exists() and not list(out.glob("*.tmp"))


def test_permission_error_mid_run_is_exit_2(tmp_path, capsys, monkeypatch):
    import experiments.run as run_mod

    def denied(path, write):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(run_mod, "write_atomic", denied)
    assert main(["run", *TINY, f"hydra.run.dir={tmp_path / 'out'}"]) == 2
    assert "writable" in _one_line(capsys, "cxsim run: error:")


def _ro_tmpfs_available() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    r = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True
    )
    return r.returncode == 0


@pytest.mark.e2e
@pytest.mark.skipif(not _ro_tmpfs_available(), reason="needs user and mount namespaces")
def test_real_full_disk_and_read_only_mount(tmp_path):
    """A real full disk (a 96 KiB tmpfs) and a real read-only mount, in a private namespace."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cx = f"{sys.executable} -m experiments.cli"
    script = (
        f"mount -t tmpfs -o size=96k tmpfs {mnt} && {cx} run population.n_customers=100 "
        f"steps=5 evaluation.burn_in=1 output.quiet=true hydra.run.dir={mnt}/run; echo rc=$?; "
        f"ls {mnt}/run; umount {mnt}; mount -t tmpfs -o ro,size=64k tmpfs {mnt} && "
        f"{cx} run population.n_customers=100 steps=5 evaluation.burn_in=1 hydra.run.dir={mnt}/run; echo rc=$?"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    codes = [line for line in r.stdout.splitlines() if line.startswith("rc=")]
    assert codes == ["rc=1", "rc=2"], r.stdout + r.stderr
    errs = r.stderr.strip().splitlines()
    assert len(errs) == 2 and "no space left" in errs[0] and "read-only" in errs[1], r.stderr
    assert "kpis.png" not in r.stdout  # the file that did not fit is not left half-written


# ------------------------------------------------------------------------ Dask, lock, shocks
def test_unreachable_scheduler_fails_fast(tmp_path, capsys):
    t0 = time.perf_counter()
    rc = main(
        [
            "compare",
            *TINY,
            "replicates=2",
            "scenarios=[baseline,fast_cadence]",
            "executor=dask",
            "executor.address=tcp://127.0.0.1:1",
            f"hydra.run.dir={tmp_path / 'o'}",
        ]
    )
    assert rc == 1 and time.perf_counter() - t0 < 15
    assert "no Dask scheduler" in _one_line(capsys, "cxsim compare: error:")
    assert not (tmp_path / "o").exists()


def test_second_command_on_a_busy_directory_refuses(tmp_path, capsys):
    out = tmp_path / "out"
    with run_dir_lock(out, "cxsim compare"):
        assert main(["run", *TINY, f"hydra.run.dir={out}"]) == 1
        line = _one_line(capsys, "cxsim run: error:")
        assert str(out) in line and f"pid {os.getpid()}" in line and "cxsim compare" in line
        assert not (out / "kpis.json").exists()
    assert main(["run", *TINY, f"hydra.run.dir={out}"]) == 0  # free again


def test_lock_waits_then_refuses(tmp_path):
    with run_dir_lock(tmp_path), pytest.raises(RunDirBusy):
        t0 = time.perf_counter()
        with run_dir_lock(tmp_path, wait=0.5):
            pass
    assert time.perf_counter() - t0 >= 0.5


def test_killed_holder_leaves_no_stale_lock(tmp_path, capsys):
    code = (
        "import sys, time; from experiments.lock import run_dir_lock\n"
        f"with run_dir_lock({str(tmp_path)!r}, 'cxsim run'):\n"
        "    print('held', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RunDirBusy, match=f"pid {proc.pid}"):
            with run_dir_lock(tmp_path):
                pass
    finally:
        proc.kill()  # SIGKILL: no cleanup runs in the holder
        proc.wait()
    assert (tmp_path / LOCK_NAME).exists()  # the file stays, the lock does not
    assert main(["run", *TINY, f"hydra.run.dir={tmp_path}"]) == 0


def test_shock_after_the_end(tmp_path, capsys):
    assert main(["run", *TINY, "scenario=outage", f"hydra.run.dir={tmp_path / 'o'}"]) == 2
    assert "shocks.outage.start" in _one_line(capsys, "cxsim run: error:")
    rc = main(
        [
            "compare",
            *TINY,
            "scenarios=[baseline,outage]",
            "replicates=2",
            f"hydra.run.dir={tmp_path / 'c'}",
        ]
    )
    assert rc == 2 and "shocks.outage.start" in _one_line(capsys, "cxsim compare: error:")


def test_unknown_flag_is_one_line(capsys):
    assert main(["run", "--frobnicate"]) == 2
    assert "--frobnicate" in _one_line(capsys, "cxsim run: error:")
