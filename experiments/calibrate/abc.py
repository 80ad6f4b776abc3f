"""ABC-SMC with pyabc (Klinger, Rickert & Hasenauer 2018): the simulator as a pyabc model, the
samplers (serial, local processes, Dask) and a history that resumes.

The history is the SQLite database ``abc.db`` in the run directory. pyabc commits a
generation when it is complete, so after a crash (``kill -9``) rerunning the same command loads
the run (:meth:`pyabc.ABCSMC.load`) and goes on from the last complete generation until the
study's number of generations is reached; a generation caught half-way is sampled again.

Reproducibility: with ``executor=serial`` the calibration is a deterministic function of
``calibration.abc.seed`` (pyabc draws from NumPy's global generator, seeded here, and every
simulation's model seed is drawn from it). The parallel samplers (``loky``: pyabc's
multicore sampler; ``dask``: its Dask sampler) reseed every worker from the operating system
(``np.random.seed()`` in ``pyabc.sampler``) and accept particles in the order they finish, so
their posterior samples differ from run to run and from the serial one: the same distribution,
not the same numbers (measured in the report of the issue and VALIDATION.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.calibrate.cohort import Cohort
from experiments.calibrate.priors import Study
from experiments.calibrate.simulate import model_updates, simulate
from experiments.calibrate.summaries import summarise
from sim.params import Params, with_updates

DB = "abc.db"


class CohortModel:
    """The pyabc model: parameter values → summary statistics of one simulated cohort over the
    calibration window. Picklable (sent to worker processes and Dask workers)."""

    def __init__(
        self,
        base: Params,
        weeks: int,
        block: int,
        observed_kpis: pd.DataFrame | None = None,
    ):
        self.base, self.weeks, self.block = base, weeks, block
        self.observed_kpis = observed_kpis

    def params(self, theta: dict[str, float]) -> Params:
        return with_updates(self.base, model_updates(self.base, theta))

    def __call__(self, parameter) -> dict[str, float]:
        theta = {k: float(v) for k, v in dict(parameter).items()}
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 - pyabc seeds the global generator
        purchases, ts = simulate(self.params(theta), seed, self.weeks)
        return summarise(purchases, self.weeks, self.block, ts, self.observed_kpis)


@dataclass(frozen=True)
class AbcResult:
    posterior: pd.DataFrame  # one row per particle: parameters + weight
    epsilons: list[float]
    populations: pd.DataFrame  # generation, epsilon, particles, samples, acceptance
    n_generations: int
    resumed_from: int  # generations found in the database at the start
    simulations: int


def make_sampler(executor, n_jobs_default: int = 2):
    """pyabc sampler for the configured executor (``experiments.executor.ExecutorConfig``);
    returns (sampler, close)."""
    import pyabc

    kind = getattr(executor, "kind", "serial")
    if kind == "serial":
        return pyabc.sampler.SingleCoreSampler(), lambda: None
    if kind == "dask":
        from distributed import Client, LocalCluster

        address = getattr(executor, "address", None)
        if address:
            client = Client(address)
            cluster = None
        else:
            n = int(getattr(executor, "n_jobs", n_jobs_default) or n_jobs_default)
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)

        def close() -> None:
            client.close()
            if cluster is not None:
                cluster.close()

        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=4), close
    n = int(getattr(executor, "n_jobs", n_jobs_default) or n_jobs_default)
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=max(n, 1)), lambda: None


def run_abc(
    study: Study,
    model: CohortModel,
    observed: dict[str, float],
    out_dir: Path,
    executor,
    log: Callable[[str], None] = lambda s: None,
) -> AbcResult:
    """Run (or resume) ABC-SMC in ``out_dir/abc.db`` until ``study.generations`` generations."""
    import pyabc

    for name in ("ABC", "Epsilon", "Distance", "Acceptor", "Sampler", "Data_plot", "History"):
        logging.getLogger(f"ABC.{name}").setLevel(logging.WARNING)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    prior = pyabc.Distribution(**{p.name: p.to_pyabc() for p in study.priors})
    distance = pyabc.distance.AdaptivePNormDistance(p=2)
    sampler, close = make_sampler(executor)
    db = Path(out_dir) / DB
    url = f"sqlite:///{db}"
    np.random.seed(study.seed)  # noqa: NPY002 - pyabc draws from the global generator
    try:
        abc = pyabc.ABCSMC(
            model,
            prior,
            distance,
            population_size=study.population,
            sampler=sampler,
            eps=pyabc.epsilon.QuantileEpsilon(alpha=0.5),
        )
        done = 0
        if db.exists():
            history = pyabc.History(url)
            runs = history.all_runs()
            if runs:
                history.id = runs[-1].id
                done = int(history.n_populations)
        if done:
            abc.load(url, history.id)
            # a generation's random draws depend on where the run resumed: reseed from both
            np.random.seed([study.seed, done])  # noqa: NPY002
            log(f"resuming: {done} of {study.generations} generations in {db.name}")
        else:
            abc.new(url, observed)
        remaining = study.generations - done
        if remaining > 0:
            history = abc.run(
                minimum_epsilon=study.min_epsilon,
                max_nr_populations=remaining,
                min_acceptance_rate=study.min_acceptance,
            )
        else:
            history = pyabc.History(url)
            history.id = history.all_runs()[-1].id
    finally:
        close()
    df, w = history.get_distribution(m=0, t=history.max_t)
    post = df.reset_index(drop=True)
    post["weight"] = w / w.sum()
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    pops["acceptance"] = pops["particles"] / pops["samples"]
    return AbcResult(
        posterior=post,
        epsilons=[float(e) for e in pops["epsilon"]],
        populations=pops[["t", "epsilon", "particles", "samples", "acceptance"]],
        n_generations=int(history.n_populations),
        resumed_from=done,
        simulations=int(pops["samples"].sum()),
    )


def weighted_summary(post: pd.DataFrame, names: tuple[str, ...]) -> dict[str, Any]:
    """Posterior mean, sd, 5% / 50% / 95% weighted quantiles per parameter and the weighted
    correlation matrix."""
    w = post["weight"].to_numpy()
    out: dict[str, Any] = {"parameters": {}}
    for name in names:
        x = post[name].to_numpy(dtype=float)
        mean = float(np.sum(w * x))
        sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
        order = np.argsort(x)
        cw = np.cumsum(w[order])
        q = {
            f"q{int(p * 100):02d}": float(x[order][min(np.searchsorted(cw, p), len(x) - 1)])
            for p in (0.05, 0.5, 0.95)
        }
        out["parameters"][name] = {"mean": mean, "sd": sd, **q}
    X = post[list(names)].to_numpy(dtype=float)
    mu = (w[:, None] * X).sum(axis=0)
    C = ((X - mu) * w[:, None]).T @ (X - mu)
    d = np.sqrt(np.clip(np.diag(C), 1e-300, None))
    out["correlation"] = {
        a: {b: float(C[i, j] / (d[i] * d[j])) for j, b in enumerate(names)}
        for i, a in enumerate(names)
    }
    return out


def observed_stats(cohort: Cohort, study: Study, kpis: pd.DataFrame | None) -> dict[str, float]:
    return summarise(cohort.purchases, study.calibration_weeks, study.block, kpis, kpis)
