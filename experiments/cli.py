"""The ``cxsim`` command line: ``cxsim <command> [key=value ...]``.

Every model command composes the same Hydra configuration, the package ``configs`` found
through Hydra's package search path (``pkg://configs``), so an installed ``cxsim`` works from
any directory. The configuration is composed and validated *before* anything runs or any
directory is made; so are the output directory (``hydra.run.dir``: not an existing file, in a
writable place, parseable) and a remote Dask scheduler (reachable). With ``-m``/``--multirun``
every job's overrides are validated first.

Exit codes (one line on stderr, never a traceback, for every fault listed here):

- ``0``: done.
- ``2``: bad input: an unknown command, key, value or option, a value out of range, a shock
  outside the run, an output directory that is a file or is not writable, an argument that
  cannot be parsed. Nothing ran and nothing was written.
- ``1``: the command could not finish: runs failed inside a batch, the disk is full, the Dask
  scheduler cannot be reached, another command holds the run directory. Finished runs stay in
  the run store: rerunning the same command with the same ``hydra.run.dir`` resumes.

``cxsim <command> --help`` explains a command with its main options and an example;
``cxsim kpis`` and ``cxsim params [PREFIX]`` list the outputs and the parameters.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USAGE = """usage: cxsim <command> [key=value ...] [hydra.run.dir=DIR]
       cxsim <command> --help | cxsim --version

commands:
{commands}

Examples:
  cxsim run population.n_customers=2000 firm.support.human=0.8
  cxsim run scenario=outage hydra.run.dir=out/outage
  cxsim run -m firm.policy.omnichannel=0,0.5,1 hydra/launcher=joblib
  cxsim compare scenarios=[baseline,outage,viral_post] replicates=10 hydra.run.dir=out/cmp
  cxsim sweep sweep.grid='{{firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}}' replicates=3
  cxsim sensitivity sensitivity=smoke executor=serial
  cxsim report out/cmp
  cxsim params firm.support        cxsim kpis

Batch commands take executor=serial|loky|dask, executor.n_jobs=N, executor.address=tcp://...;
rerun with the same hydra.run.dir to resume an interrupted batch.
Exit codes: 0 done, 2 bad input (nothing ran), 1 could not finish (rerun to resume).
"""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    target: str  # "module:function"
    hydra: bool  # runs under @hydra.main (gets a run directory) or is a plain function(args)
    validate: str | None = None  # "module:function(overrides)" raising on bad input
    rewrite: str | None = None  # "module:function(overrides, searchpath) -> {old: new override}"


_COMMANDS = (
    Command(
        "run",
        "one run of the model; prints a KPI summary and writes its outputs",
        "experiments.run:run_once",
        True,
    ),
    Command(
        "scenarios",
        "list the scenario library with descriptions",
        "experiments.scenarios:list_scenarios",
        False,
    ),
    Command(
        "compare",
        "scenarios x replicates with common random numbers; paired differences and CIs",
        "experiments.compare:compare_cmd",
        True,
        "experiments.compare:validate_compare",
    ),
    Command(
        "sweep",
        "a grid over any parameters x replicates in one job (sweep.grid={key:[values]})",
        "experiments.sweep:sweep_cmd",
        True,
        "experiments.sweep:validate_sweep",
    ),
    Command(
        "sensitivity",
        "global sensitivity analysis (SALib) of the KPIs to the chosen factors",
        "experiments.batch:sensitivity_cmd",
        True,
        "experiments.batch:validate_sensitivity",
        "experiments.batch:sensitivity_overrides",
    ),
    Command(
        "optimize",
        "the best split of a CX budget across support and levers, checked on fresh seeds",
        "experiments.optimize.command:cli",
        False,
    ),
    Command(
        "calibrate",
        "fit the model to a firm's transaction log (ABC-SMC), check it and forecast a holdout",
        "experiments.calibrate.command:cli",
        False,
    ),
    Command(
        "study",
        "the canonical study (Morris + Sobol, both feedback rules) and docs/findings.md",
        "experiments.study.command:cli",
        False,
    ),
    Command(
        "kpis",
        "list the KPIs: name, kind, unit, range and definition",
        "experiments.catalog:kpis_cmd",
        False,
    ),
    Command(
        "params",
        "list the parameters (or those starting with PREFIX): default, range, meaning",
        "experiments.catalog:params_cmd",
        False,
    ),
    # plain commands provided by the analysis package (listed only when their module exists)
    Command(
        "report",
        "one self-contained HTML report of a results directory (run, compare, sweep, sensitivity)",
        "analysis.report:cli",
        False,
    ),
    Command(
        "dashboard",
        "serve the interactive dashboard on this machine (dashboard.port=N)",
        "analysis.dashboard.serve:cli",
        False,
    ),
)

_COMMON = """  hydra.run.dir=DIR     where the outputs go (default outputs/<date>/<time>); one command
                        at a time per directory
  output.quiet=true     no summary on stdout           output.figure=false  no figure
  seed=N  steps=N       root seed (default 42) and weeks to simulate (default 104)
  population.n_customers=N, firm.support.human=X, ...   any parameter: see `cxsim params`
  --cfg job             print the composed configuration instead of running"""

_BATCH = """  executor=serial|loky|dask   where the runs go (default loky, 2 workers)
  executor.n_jobs=N           workers      executor.address=tcp://host:8786  a running Dask scheduler"""

HELP: dict[str, str] = {
    "run": f"""usage: cxsim run [key=value ...] [hydra.run.dir=DIR] [-m]

One run of the model on the composed configuration. Prints a KPI summary and writes
timeseries.parquet (one column per KPI, see `cxsim kpis`), kpis.json, config.yaml and kpis.png
to the run directory, each file atomically once the run has finished.

main options:
  scenario=NAME         a scenario from `cxsim scenarios` (default baseline)
{_COMMON}
  -m key=a,b,c          one run per value (Hydra multirun; each job is validated first)

examples:
  cxsim run population.n_customers=2000 firm.support.human=0.8
  cxsim run scenario=outage steps=60 hydra.run.dir=out/outage
""",
    "scenarios": """usage: cxsim scenarios

Lists the scenario library (the files of configs/scenario) with a one-line description each.
A scenario is selected with scenario=NAME (run, sweep, sensitivity) or scenarios=[...] (compare).

example:
  cxsim scenarios
""",
    "compare": f"""usage: cxsim compare [scenarios=[a,b,...]] [replicates=N] [key=value ...]

Runs every scenario x replicates with common random numbers (replicate i has the same seed in
every scenario) and reports, per KPI, each scenario's mean with its 95% interval and its paired
difference from the first scenario (the reference); intervals stay within the KPI's range.
Writes comparison.csv, comparison.md, comparison.png and runs.csv; rerunning the same command
with the same hydra.run.dir resumes (finished runs are kept in <run dir>/store).

main options:
  scenarios=[baseline,outage]  the scenarios; the first is the reference (default)
  replicates=N                 runs per scenario, >= 2 (default 10)
  output.kpis=[nps,profit]     the KPIs reported (default every KPI)
{_BATCH}
{_COMMON}

example:
  cxsim compare scenarios=[baseline,outage,viral_post] replicates=10 hydra.run.dir=out/cmp
""",
    "sweep": f"""usage: cxsim sweep sweep.grid='{{key:[values],...}}' [replicates=N] [key=value ...]

A full-factorial grid over any parameters x replicates, in one job. Every grid value is
validated before anything runs. Writes sweep.csv (one row per run) and sweep_summary.csv (per
grid point and KPI: mean and 95% interval within the KPI's range); resumable like compare.

main options:
  sweep.grid='{{firm.support.human:[0.2,0.8]}}'   dotted parameter keys -> lists of values
  replicates=N                  runs per grid point (default 10)
  sweep.timeseries=true         also keep each run's weekly series in the store
  output.kpis=[...]             the KPIs kept (default every KPI)
{_BATCH}
{_COMMON}

example:
  cxsim sweep sweep.grid='{{firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}}' replicates=3
""",
    "study": """usage: cxsim study [run|render|check|baseline] [study.KEY=VALUE ...] [out=DIR] [docs=DIR]

The canonical study of configs/study/default.yaml: under both stage-5 feedback rules, a Morris
screening of the decision factors and behavioural constants and a Sobol study of the six support
factors and three policy levers; then docs/findings.md, every statement generated from the
numbers (make study runs this). Runs are stored in outputs/study/<size>/ and resume.

actions:
  run (default)        the study at study.size, the small study whose numbers the document
                       records, the comparison on the old commit when missing; then the document
  render               rewrite docs/findings.md from the stored results (no runs)
  check                rerun the small study; exit 1 if any number differs from the document's
  baseline             rerun the comparison study on the commit before the model-science issues

main options:
  study.size=full|medium|small   design sizes (small: its document goes to outputs/study/small/docs)
  study.jobs=N                   worker processes (default 2)
  out=DIR  docs=DIR              where results and the document go (outputs/study, docs)

examples:
  cxsim study study.size=small
  cxsim study check
""",
    "sensitivity": f"""usage: cxsim sensitivity [sensitivity=STUDY] [sensitivity.KEY=VALUE ...] [key=value ...]

Global sensitivity analysis (SALib) of the KPIs to the factors declared in the study
(configs/sensitivity: default, smoke, ishigami). Writes the indices with bootstrap intervals,
the replicate noise share and figures; resumable like compare.

main options:
  sensitivity=smoke             the study (smoke: small and fast; default: the full study)
  sensitivity.method=sobol      sobol | morris | efast | pawn | dgsm
  sensitivity.n=N               base sample size      sensitivity.replicates=N  runs per row
  sensitivity.factors.firm.support.human.bounds=[0.2,0.8]   one factor's bounds
  +sensitivity.factors.firm.price.bounds=[30,60]            add a factor
  --config-dir DIR sensitivity=NAME   a study file of your own, saved as DIR/sensitivity/NAME.yaml
                                (any directory; `defaults: [default, _self_]` in it starts from
                                the default study and adds or changes factors)
{_BATCH}
{_COMMON}

examples:
  cxsim sensitivity sensitivity=smoke executor=serial hydra.run.dir=out/sa
  cxsim sensitivity --config-dir ~/studies sensitivity=pricing hydra.run.dir=out/pricing
""",
    "optimize": f"""usage: cxsim optimize [optimize=STUDY] [optimize.KEY=VALUE ...] [key=value ...]

Finds the allocation of a weekly budget across the support factors and policy levers declared in
the study (configs/optimize: default, smoke) that is best for the objectives (run-level KPIs),
robust over common seeds and optional scenarios. optuna searches (TPE, or NSGA-II for several
objectives) with the budget as a constraint; the best candidates are then re-run on fresh seeds
against the baseline policy and an equal split of the same budget. Writes recommendation.json and
.md (allocation, gain, 95% interval), pareto.csv, trials.parquet, pareto.png, allocation.png,
convergence.png; the study (study.db) and runs (store/) resume after a crash: rerun the same command.

main options:
  optimize=smoke                       the study (smoke: tiny and fast)
  optimize.constraints.budget=B        cu per week per 1,000 market customers (default: baseline,
                                       the current policy's own cost)
  optimize.search.n_trials=N           trials      optimize.uncertainty.seeds=N  seeds per trial
  optimize.uncertainty.scenarios=[baseline,outage]   optimize.robustness.measure=mean|quantile|worst|regret
{_BATCH}
{_COMMON}

example:
  cxsim optimize population.n_customers=2000 hydra.run.dir=out/opt
""",
    "calibrate": f"""usage: cxsim calibrate [calibration=STUDY] [calibration.KEY=VALUE ...] [key=value ...]

Calibrates the model to a firm's transaction log with ABC-SMC (pyabc): the simulated market is
the observed cohort (its size x calibration.scale, its weeks of first purchase, no other way
in); the priors of the study (configs/calibration: default, smoke) are fitted to the weekly
repeat purchases, the frequency, recency and spend distributions (and an optional weekly KPI
series) of the calibration window; the posterior is then simulated over the holdout and
compared with the data and with BG/NBD fitted on the same window. Writes posterior.csv/.json/.md,
populations.csv, predictive.csv, forecast.json, tracking.png, posterior.png, calibration.json
and calibrated.yaml: use the calibrated firm in any command with calibration=DIR. The ABC
history (abc.db) and the predictive runs (store/) resume after a crash: rerun the same command.

Data: a CSV or Parquet log with customer_id, date, amount (channel optional); one-line errors
for a missing column, an unparsable date, a negative amount, an empty file. Exact duplicate
rows: calibration.duplicates=keep (default; purchases are counted per customer-day, the day's
amounts summed), drop or error.

main options:
  calibration.transactions=FILE        the log (default cdnow: the bundled CDNOW data set)
  calibration.calibration_weeks=N      weeks fitted (default 39)
  calibration.holdout_weeks=N          weeks forecast after them (default: the rest of the log)
  calibration.kpis=FILE                weekly KPI series (week, nps, csat, ...) fitted too
  calibration.scale=X                  simulated cohort / observed cohort (default 0.1)
  calibration.abc.population=N  calibration.abc.generations=N   the ABC-SMC budget
  calibration.priors.KEY='{{dist: uniform, bounds: [lo, hi]}}'    a prior (cxsim params)
{_BATCH}
{_COMMON}

examples:
  cxsim calibrate hydra.run.dir=out/cdnow
  cxsim compare calibration=out/cdnow scenarios=[baseline,staff_cut] hydra.run.dir=out/whatif
""",
    "kpis": """usage: cxsim kpis [PREFIX]

Lists every KPI the model reports (or those whose name starts with PREFIX): name, kind (series:
weekly; summary: one value per run), unit, the range of values it can take, and its
definition, read from the declarations in sim/kpis.py.

examples:
  cxsim kpis
  cxsim kpis retention
""",
    "params": """usage: cxsim params [PREFIX]

Lists every model parameter (or those whose dotted key starts with PREFIX) with its default,
allowed range or choices, and meaning, read from the declarations in sim/params.py. The keys
are the ones you override on the command line (key=value).

examples:
  cxsim params firm.support
  cxsim params shocks
""",
    "report": """usage: cxsim report DIR [--outcome KPI] [--target EXPR] [--no-simulate]

Builds one self-contained HTML report (DIR/report/) of the results of cxsim run, compare,
sweep or sensitivity in DIR.

main options:
  --outcome KPI     sweep: the KPI of the what-if map (default cumulative_profit)
  --target EXPR     sweep: the target condition, e.g. 'nps >= 30 and profit >= base_profit':
                    KPI names, base_<kpi> (the mean at the baseline cell), numbers, comparisons,
                    + - * /, parentheses, and/or/not. It is parsed, never run as code.
  --no-simulate     single run: do not re-simulate for distributions and the journey map

example:
  cxsim report out/cmp
""",
    "dashboard": """usage: cxsim dashboard [dashboard.port=N]

Serves the interactive dashboard (the real model, offline) on this machine.

example:
  cxsim dashboard dashboard.port=8765
""",
}


def _module_exists(name: str) -> bool:
    """Whether module ``name`` can be found, without importing it or its parent packages."""
    import importlib.util
    from importlib.machinery import PathFinder

    parts = name.split(".")
    # the top level through every finder (editable installs add their own), the rest by path
    spec = importlib.util.find_spec(parts[0])
    for part in parts[1:]:
        if spec is None or spec.submodule_search_locations is None:
            return False  # missing, or a plain module where a package was expected
        spec = PathFinder.find_spec(part, spec.submodule_search_locations)
    return spec is not None


def _available(cmd: Command) -> bool:
    """A command is offered only when its module (and the module it drives) exists."""
    modules = [cmd.target.split(":")[0]]
    if cmd.name == "sensitivity":
        modules.append("experiments.sensitivity")
    return all(_module_exists(m) for m in modules)


COMMANDS: dict[str, Command] = {c.name: c for c in _COMMANDS if _available(c)}


# commands that take the calibrated firm of a cxsim calibrate run as calibration=DIR
CALIBRATED_COMMANDS = ("run", "compare", "sweep", "sensitivity", "optimize")


class UsageError(Exception):
    """A command-line mistake: reported in one line with exit code 2."""


class Unavailable(Exception):
    """Something the command needs is not there (a Dask scheduler): one line, exit code 1."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("cxsim")
    except PackageNotFoundError:  # running from a clone that was never installed
        return "unknown (not installed)"


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (Hydra's search-path appendix and grammar-help
    link dropped)."""
    from hydra.errors import OverrideParseException

    text = str(exc).split("Config search path")[0]
    if isinstance(exc, OverrideParseException):
        return _parse_error(exc)
    text = " ".join(part.strip() for part in text.replace("\t", " ").splitlines() if part.strip())
    return text or type(exc).__name__


def _parse_error(exc: BaseException, override: str | None = None) -> str:
    if override is None:
        override = str(exc).splitlines()[0].split(": ", 1)[-1]
    hint = ""
    if any(ord(c) > 127 for c in override):
        key, _, value = override.partition("=")
        hint = (
            f": unquoted values may hold only ASCII characters; quote the value, e.g. "
            f"{key}=\"'{value}'\""
        )
    elif " " in override.strip():
        hint = ": quote a value with spaces, e.g. key=\"'a b'\""
    return f"cannot parse the override {override!r}{hint}"


def _resolve(target: str) -> Callable:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def split_overrides(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(config overrides, hydra-only arguments such as hydra.run.dir=... or --multirun)."""
    config, hydra_only = [], []
    for a in args:
        if a.startswith(("hydra.", "hydra/", "+hydra", "~hydra", "-")):
            hydra_only.append(a)
        else:
            config.append(a)
    return config, hydra_only


def parse_args(args: Sequence[str]):
    """Hydra's own argument parser, with a one-line error instead of a usage dump."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str):
        raise UsageError(f"{message} (see cxsim <command> --help)")

    parser.error = error  # type: ignore[method-assign]
    return parser.parse_args(list(args))


def job_overrides(overrides: Sequence[str]) -> list[list[str]]:
    """The override lists of the jobs a ``--multirun`` would launch, for validation.

    Every swept value is checked once (the other sweeps at their first value), which is
    linear in the number of values instead of the size of the product.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    base, sweeps = [], []
    for o in parsed:
        if o.is_sweep_override():
            try:
                values = list(o.sweep_string_iterator())
            except HydraException:  # e.g. glob(): needs the config loader; Hydra checks it later
                continue
            sweeps.append((len(base), o.get_key_element(), values))
        base.append(o.input_line)
    if not sweeps:
        return [base]
    first = list(base)
    for i, key, values in sweeps:
        first[i] = f"{key}={values[0]}"
    jobs = [first]
    for i, key, values in sweeps:
        for v in values[1:]:
            job = list(first)
            job[i] = f"{key}={v}"
            jobs.append(job)
    return jobs


def searchpath_overrides(ns, hydra_overrides: Sequence[str]) -> list[str]:
    """``--config-dir DIR`` and ``hydra.searchpath=[...]`` as one ``hydra.searchpath``
    override, so that validation composes from the same places as the command (a study,
    scenario or other group option of your own in ``DIR/<group>/<name>.yaml``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    paths: list[str] = []
    if getattr(ns, "config_dir", None):
        d = Path(ns.config_dir).expanduser().resolve()
        if not d.is_dir():
            raise UsageError(f"invalid --config-dir {ns.config_dir}: allowed an existing directory")
        paths.append(f"file://{d}")
    for text in hydra_overrides:
        try:
            (o,) = OverridesParser.create().parse_overrides([text])
        except OverrideParseException as exc:
            raise UsageError(_parse_error(exc, text)) from None
        if o.key_or_group == "hydra.searchpath" and isinstance(o.value(), list):
            paths += [str(v) for v in o.value()]
    quoted = ("'" + p.replace("\\", "\\\\").replace("'", "\\'") + "'" for p in paths)
    return [f"hydra.searchpath=[{','.join(quoted)}]"] if paths else []


def validate_config(overrides: Sequence[str]):
    """Compose and validate the configuration for these overrides; return the composed cfg."""
    from sim.config import compose, params_from_cfg, run_settings

    cfg = compose(overrides)
    params_from_cfg(cfg)
    run_settings(cfg)
    return cfg


# --------------------------------------------------------------------------------------------
# Checks of the environment, before Hydra makes a directory
# --------------------------------------------------------------------------------------------
def output_dir(hydra_overrides: Sequence[str], multirun: bool) -> tuple[str, Path]:
    """(key, directory) that the command will write to: the last ``hydra.run.dir`` (or
    ``hydra.sweep.dir`` with ``-m``) override, else Hydra's default under the current
    directory. Overrides Hydra cannot parse raise a one-line :class:`UsageError`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    parser = OverridesParser.create()
    found = None
    for text in hydra_overrides:
        try:
            (o,) = parser.parse_overrides([text])
        except OverrideParseException as exc:
            raise UsageError(_parse_error(exc, text)) from None
        if o.key_or_group == key:
            value = o.value()
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"invalid {key}={value!r}: allowed a directory path")
            found = value
    if found is None or "${" in found:
        return key, Path.cwd() / ("multirun" if multirun else "outputs")
    return key, Path(found).expanduser()


def check_output_dir(key: str, path: Path) -> None:
    """The directory can be made and written: not an existing file, not under a file, not in a
    read-only place. One-line :class:`UsageError` otherwise."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{key}={path} is an existing file, not a directory: choose a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{key}={path} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"{key}={path} cannot be written: {existing} is read-only or not yours; "
            "choose a writable directory"
        )


def executor_address(overrides: Sequence[str]) -> str | None:
    """The Dask scheduler address the command would use (None: no remote scheduler)."""
    from sim.config import compose

    node = compose(list(overrides)).get("executor") or {}
    address = node.get("address") if hasattr(node, "get") else None
    return address if isinstance(address, str) else None


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Fail fast (one line, exit code 1) when no Dask scheduler answers at ``address``,
    instead of the Dask client's own retries (a traceback after 36 s)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise UsageError(f"invalid executor.address={address!r}: allowed tcp://host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise Unavailable(
            f"no Dask scheduler answers at executor.address={address} ({reason}): start it "
            "(dask scheduler) or drop executor.address to run on a local cluster"
        ) from None


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
def _errors() -> tuple[type[BaseException], ...]:
    """Bad input (exit code 2)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from experiments.catalog import CatalogError
    from sim.params import ParamError

    return (
        ParamError,
        UsageError,
        CatalogError,
        HydraException,
        OmegaConfBaseException,
        ValueError,
        KeyError,
        TypeError,
    )


def _failures() -> tuple[type[BaseException], ...]:
    """The command could not finish (exit code 1: rerunning resumes)."""
    from experiments.batch import RunsFailed
    from experiments.lock import RunDirBusy

    out: tuple[type[BaseException], ...] = (RunsFailed, RunDirBusy, Unavailable)
    if "experiments.sensitivity" in sys.modules:
        out += (sys.modules["experiments.sensitivity"].SensitivityRunsFailed,)
    return out


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def os_error(exc: OSError) -> tuple[int, str]:
    """(exit code, one line) for an operating-system error while a command works."""
    where = exc.filename or ""
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _NO_SPACE:
        return 1, (
            f"no space left writing {where or 'the outputs'}: free some space and rerun the same "
            "command (finished runs are kept and are not run again)"
        )
    if exc.errno in _NOT_WRITABLE:
        return 2, f"cannot write {where or 'the outputs'} ({what}): choose a writable hydra.run.dir"
    if isinstance(exc, TimeoutError) or exc.errno is None:
        return 1, f"{' '.join(str(exc).split()) or type(exc).__name__}: rerun the same command"
    return 1, f"{what}{': ' + str(where) if where else ''}: rerun the same command"


def _report(name: str, exc: BaseException) -> int:
    """Print the one-line error of ``exc`` and return its exit code."""
    if isinstance(exc, _failures()):
        code, message = 1, one_line(exc)
    elif isinstance(exc, _errors()):  # before OSError: Hydra's MissingConfigException is both
        code, message = 2, one_line(exc)
    else:
        code, message = os_error(exc)
    print(f"cxsim {name}: error: {message}", file=sys.stderr)
    return code


@contextlib.contextmanager
def _full_errors():
    """Let exceptions leave ``hydra.main`` (instead of Hydra printing a traceback and exiting
    with 1) so that they are reported here in one line."""
    old = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = old


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
def progress_log(name: str, quiet: bool) -> Callable[[str], None]:
    """The progress lines of ``cxsim <name>`` on stderr (``cxsim <name>: …``), or nothing
    when ``output.quiet``."""
    if quiet:
        return lambda s: None
    return lambda s: print(f"cxsim {name}: {s}", file=sys.stderr)


def run_study_command(
    name: str,
    group: str,
    target: str,
    args: Sequence[str],
    plan: Callable[[list[str]], Any],
    with_group: Callable[[list[str]], list[str]],
) -> int:
    """The entry point of a command that runs one study declared in config group ``group``
    (``cxsim optimize``, ``cxsim calibrate``): no multirun; the plan, the output directory and
    the scheduler are checked before Hydra starts; the group defaults to ``default``."""
    args = list(args)
    ns = parse_args(args)
    if ns.multirun:
        raise UsageError(f"cxsim {name} runs one study: -m/--multirun is not supported")
    config, hydra_only = split_overrides(ns.overrides)
    if ns.cfg is None and ns.info is None and not ns.hydra_help:
        plan(config)
        check_output_dir(*output_dir(hydra_only, False))
        address = executor_address(with_group(config))
        if address:
            check_scheduler(address)
    rest = [f"+{a}" if a.startswith(f"{group}=") else a for a in args]
    if not any(a.startswith(f"+{group}=") for a in rest):
        rest.insert(0, f"+{group}=default")
    return _run_hydra(Command(name, COMMANDS[name].help, target, True), rest)


def _run_hydra(cmd: Command, args: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from experiments.lock import run_dir_lock
    from sim.config import CONFIG_SEARCH_PATH

    func = _resolve(cmd.target)
    status = {"code": 0}

    def task(cfg) -> None:
        import logging

        logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
        out_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            with run_dir_lock(out_dir, f"cxsim {cmd.name}"):
                func(cfg, out_dir)
        except (*_failures(), *_errors(), OSError) as exc:  # one job of a multirun fails alone
            status["code"] = max(status["code"], _report(cmd.name, exc))

    task.__name__ = f"cxsim_{cmd.name}"
    argv = sys.argv
    sys.argv = [f"cxsim-{cmd.name}", *args]
    try:
        with _full_errors():
            hydra.main(config_path=CONFIG_SEARCH_PATH, config_name="config", version_base="1.3")(
                task
            )()
    except (*_errors(), OSError) as exc:  # Hydra's own setup: the run directory, its logs
        return _report(cmd.name, exc)
    finally:
        sys.argv = argv
    return status["code"]


def _run_plain(cmd: Command, rest: list[str]) -> int:
    """A plain command; ``report`` holds the lock of the directory it reads and writes."""
    from experiments.lock import run_dir_lock

    func = _resolve(cmd.target)
    if cmd.name == "report":
        target = next((a for a in rest if not a.startswith("-")), None)
        if target is not None and Path(target).is_dir():
            with run_dir_lock(target, "cxsim report"):
                return int(func(rest) or 0)
    return int(func(rest) or 0)


def _help(name: str) -> int:
    print(HELP.get(name) or f"usage: cxsim {name} ...\n\n{COMMANDS[name].help}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    listing = "\n".join(f"  {c.name:<12} {c.help}" for c in COMMANDS.values())
    if not args or args[0] in ("-h", "--help"):
        print(USAGE.format(commands=listing))
        return 0
    if args[0] in ("-V", "--version", "version"):
        print(f"cxsim {version()}")
        return 0
    if args[0] == "help":
        if len(args) == 1:
            print(USAGE.format(commands=listing))
            return 0
        args = [args[1], "--help"]
    name, rest = args[0], args[1:]
    if name in CALIBRATED_COMMANDS and any(a.startswith("calibration=") for a in rest):
        from experiments.calibrate.overrides import CalibrationDirError, expand

        try:
            rest = expand(rest)
        except CalibrationDirError as exc:
            print(f"cxsim {name}: error: {exc}", file=sys.stderr)
            return 2
    if name not in COMMANDS:
        print(
            f"cxsim: error: unknown command {name!r}; allowed: {', '.join(COMMANDS)} "
            "(cxsim --help)",
            file=sys.stderr,
        )
        return 2
    cmd = COMMANDS[name]
    if any(a in ("-h", "--help") for a in rest):
        return _help(name)
    bad = next((a for a in rest if any(ord(c) < 32 or ord(c) == 127 for c in a)), None)
    if bad is not None:  # a newline or carriage return would also break the one-line error
        print(
            f"cxsim {name}: error: invalid argument {bad!r}: control characters are not allowed",
            file=sys.stderr,
        )
        return 2
    try:
        if not cmd.hydra:
            return _run_plain(cmd, rest)
        ns = parse_args(rest)
        config_overrides, hydra_overrides = split_overrides(ns.overrides)
        search = searchpath_overrides(ns, hydra_overrides)
        if cmd.rewrite:  # e.g. dotted sensitivity factor names (experiments.batch)
            new = _resolve(cmd.rewrite)(config_overrides, search)
            rest = [new.get(a, a) for a in rest]
            config_overrides = [new.get(a, a) for a in config_overrides]
        check = _resolve(cmd.validate) if cmd.validate else validate_config
        for job in job_overrides(config_overrides) if ns.multirun else [config_overrides]:
            check([*search, *job])
        if ns.cfg is None and ns.info is None and not ns.hydra_help:
            check_output_dir(*output_dir(hydra_overrides, ns.multirun))
            if cmd.name != "run":
                address = executor_address([*search, *config_overrides])
                if address:
                    check_scheduler(address)
    except (*_failures(), *_errors(), OSError) as exc:
        return _report(name, exc)
    return _run_hydra(cmd, rest)


def entry() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
