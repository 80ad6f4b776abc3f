"""The ``cxsim`` command line: ``cxsim <command> [hydra overrides]``.

Every command composes the same Hydra configuration (``configs/config.yaml``). The
configuration is composed and validated *before* anything runs or any directory is made: a bad
key, value or option gives one line on stderr naming it and exit code 2, with no traceback.
With ``-m``/``--multirun`` every job's overrides are validated the same way first. Runs that
fail inside a batch (``compare``, ``sweep``, ``sensitivity``) give exit code 1; the finished
ones stay in the run store and rerunning the command with the same ``hydra.run.dir`` retries
only the failed and missing ones.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

USAGE = """usage: cxsim <command> [key=value ...] [hydra.run.dir=DIR]

commands:
{commands}

Examples:
  cxsim run population.n_customers=2000 firm.support.human=0.8
  cxsim run scenario=outage hydra.run.dir=out/outage
  cxsim run -m firm.policy.omnichannel=0,0.5,1 hydra/launcher=joblib
  cxsim scenarios
  cxsim compare scenarios=[baseline,outage,viral_post] replicates=10 hydra.run.dir=out/cmp
  cxsim sweep sweep.grid='{{firm.policy.omnichannel:[0,0.5,1],firm.support.human:[0.2,0.8]}}' replicates=3
  cxsim sensitivity sensitivity=smoke executor=serial
  cxsim report out/cmp

Batch commands take executor=serial|loky|dask, executor.n_jobs=N, executor.address=tcp://...;
rerun with the same hydra.run.dir to resume an interrupted batch.
"""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    target: str  # "module:function"
    hydra: bool  # runs under @hydra.main (gets a run directory) or is a plain function(args)
    validate: str | None = None  # "module:function(overrides)" raising on bad input


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


class UsageError(Exception):
    """A command-line mistake: reported in one line with exit code 2."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (Hydra's search-path appendix dropped)."""
    text = str(exc).split("Config search path")[0]
    text = " ".join(part.strip() for part in text.replace("\t", " ").splitlines() if part.strip())
    return text or type(exc).__name__


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


def job_overrides(overrides: Sequence[str]) -> list[list[str]]:
    """The override lists of the jobs a ``--multirun`` would launch, for validation.

    Every swept value is checked once (the other sweeps at their first value), which is
    linear in the number of values instead of the size of the product.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    base, sweeps = [], []
    for o in parsed:
        if o.is_sweep_override():
            try:
                values = list(o.sweep_string_iterator())
            except Exception:  # e.g. glob(): needs the config loader; Hydra checks it later
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


def validate_config(overrides: Sequence[str]):
    """Compose and validate the configuration for these overrides; return the composed cfg."""
    from sim.config import compose, params_from_cfg, run_settings

    cfg = compose(overrides)
    params_from_cfg(cfg)
    run_settings(cfg)
    return cfg


def _errors() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.params import ParamError

    return (
        ParamError,
        UsageError,
        HydraException,
        OmegaConfBaseException,
        ValueError,
        KeyError,
        TypeError,
    )


def _failures() -> tuple[type[BaseException], ...]:
    """Runs that failed inside a batch (exit code 1: rerunning retries them)."""
    from experiments.batch import RunsFailed

    out: tuple[type[BaseException], ...] = (RunsFailed,)
    if "experiments.sensitivity" in sys.modules:
        out += (sys.modules["experiments.sensitivity"].SensitivityRunsFailed,)
    return out


def _run_hydra(cmd: Command, args: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from sim.config import CONFIG_DIR

    func = _resolve(cmd.target)
    status = {"code": 0}

    def task(cfg) -> None:
        import logging
        from pathlib import Path

        logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO

        try:
            func(cfg, Path(HydraConfig.get().runtime.output_dir))
        except _failures() as exc:
            print(f"cxsim {cmd.name}: error: {one_line(exc)}", file=sys.stderr)
            status["code"] = 1
        except _errors() as exc:
            print(f"cxsim {cmd.name}: error: {one_line(exc)}", file=sys.stderr)
            status["code"] = 2

    task.__name__ = f"cxsim_{cmd.name}"
    argv = sys.argv
    sys.argv = [f"cxsim-{cmd.name}", *args]
    try:
        hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")(task)()
    finally:
        sys.argv = argv
    return status["code"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    listing = "\n".join(f"  {c.name:<12} {c.help}" for c in COMMANDS.values())
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE.format(commands=listing))
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(
            f"cxsim: error: unknown command {name!r}; allowed: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    cmd = COMMANDS[name]
    try:
        if not cmd.hydra:
            return int(_resolve(cmd.target)(rest) or 0)
        config_overrides, hydra_only = split_overrides(rest)
        check = _resolve(cmd.validate) if cmd.validate else validate_config
        multirun = any(a in ("-m", "--multirun") for a in hydra_only)
        for job in job_overrides(config_overrides) if multirun else [config_overrides]:
            check(job)
    except _errors() as exc:
        print(f"cxsim {name}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    return _run_hydra(cmd, rest)


def entry() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
