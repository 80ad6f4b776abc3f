"""The ``cxsim`` command line: ``cxsim <command> [hydra overrides]``.

Every command composes the same Hydra configuration (``configs/config.yaml``). The
configuration is composed and validated *before* anything runs or any directory is made: a bad
key, value or option gives one line on stderr naming it and exit code 2, with no traceback.
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
  cxsim scenarios
"""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    target: str  # "module:function"
    hydra: bool  # runs under @hydra.main (gets a run directory) or is a plain function(args)
    validate: str | None = None  # "module:function(overrides)" raising on bad input


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("run", "one run of the model; prints a KPI summary and writes its outputs", "experiments.run:run_once", True),
        Command("scenarios", "list the scenario library with descriptions", "experiments.scenarios:list_scenarios", False),
    )
}


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

    return (ParamError, UsageError, HydraException, OmegaConfBaseException, ValueError, KeyError, TypeError)


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
        print(f"cxsim: error: unknown command {name!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    cmd = COMMANDS[name]
    try:
        if not cmd.hydra:
            return int(_resolve(cmd.target)(rest) or 0)
        config_overrides, _ = split_overrides(rest)
        (_resolve(cmd.validate) if cmd.validate else validate_config)(config_overrides)
    except _errors() as exc:
        print(f"cxsim {name}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    return _run_hydra(cmd, rest)


def entry() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
