"""The cluster path: batch commands sent to a *running* Dask scheduler (``executor.address``),
as on a dask-jobqueue SLURM cluster; here the scheduler is a LocalCluster started by the test,
in its own processes, exactly as a remote one would be reached (over TCP)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests._kill_helpers import run_cxsim

distributed = pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("dask_cluster")]

TINY = [
    "population.n_customers=300",
    "steps=64",
    "evaluation.burn_in=4",
    "replicates=3",
    "scenarios=[baseline,outage]",
]


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def _transitions(dask_scheduler=None) -> int:
    return dask_scheduler.transition_counter


def test_compare_on_a_running_scheduler_equals_serial(tmp_path, scheduler):
    address = scheduler.scheduler_address
    assert address.startswith("tcp://")
    with distributed.Client(address) as client:
        before = client.run_on_scheduler(_transitions)
    out = {}
    for name, ex in [
        ("serial", ["executor=serial"]),
        ("dask", ["executor=dask", f"executor.address={address}"]),
    ]:
        proc = run_cxsim(["compare", *TINY, *ex, f"hydra.run.dir={tmp_path / name}"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        out[name] = pd.read_csv(tmp_path / name / "comparison.csv")
    pd.testing.assert_frame_equal(out["dask"], out["serial"], check_exact=True)
    # the 6 runs really went through this scheduler (each task makes several transitions)
    with distributed.Client(address) as client:
        assert client.run_on_scheduler(_transitions) - before >= 6
