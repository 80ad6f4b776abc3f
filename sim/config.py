"""From Hydra configuration to validated :class:`Params`.

The configuration tree (``configs/``) holds every model parameter in its groups; this module
composes it (``params_from_overrides``) or converts an already composed one
(``params_from_cfg``), refusing unknown keys (including ``+key=value`` additions) and
out-of-range values with a one-line :class:`ParamError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from sim.params import ParamError, Params, ShockParams, from_dict, validate

# The configuration tree is the package ``configs`` (shipped in the wheel): Hydra finds it
# through its package search path, so commands work from any directory once installed.
CONFIG_MODULE = "configs"
CONFIG_SEARCH_PATH = f"pkg://{CONFIG_MODULE}"
CONFIG_DIR = Path(import_module(CONFIG_MODULE).__file__).resolve().parent
MODEL_SECTIONS = (
    "population",
    "customer",
    "journey",
    "firm",
    "market",
    "mechanism",
    "shocks",
    "shock_effects",
    "evaluation",
)
RUN_KEYS = ("seed", "steps")
# top-level keys that belong to the experiment layer, not the model
EXPERIMENT_KEYS = (
    "scenario",
    "executor",
    "sensitivity",
    "output",
    "replicates",
    "scenarios",
    "dashboard",
    "sweep",
    "report",
)
KNOWN_TOP = MODEL_SECTIONS + RUN_KEYS + EXPERIMENT_KEYS


def _plain(cfg: Any) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf
    except ImportError:  # pragma: no cover - hydra-core is a dependency
        DictConfig = ()
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


def check_top_level(cfg: Mapping[str, Any]) -> None:
    """Refuse keys the configuration does not define (e.g. ``+typo=1``)."""
    for key in cfg:
        if key not in KNOWN_TOP and key != "hydra":
            raise ParamError(str(key), cfg[key], "a known top-level key: " + ", ".join(KNOWN_TOP))


def params_from_cfg(cfg: Mapping[str, Any]) -> Params:
    """Validated Params from a composed configuration (DictConfig or plain dict)."""
    data = _plain(cfg)
    check_top_level(data)
    model = {k: data[k] for k in MODEL_SECTIONS if k in data}
    return validate(from_dict(Params, model))


def run_settings(cfg: Mapping[str, Any]) -> tuple[int, int]:
    """(seed, steps) from a composed configuration, range-checked."""
    seed, steps = cfg.get("seed", 0), cfg.get("steps", 104)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ParamError("seed", seed, "an integer in [0, 2**63)")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 100_000:
        raise ParamError("steps", steps, "an integer in [1, 100000]")
    burn_in = (cfg.get("evaluation") or {}).get("burn_in", 0)
    if isinstance(burn_in, int) and not isinstance(burn_in, bool) and burn_in >= steps:
        raise ParamError(
            "evaluation.burn_in",
            burn_in,
            f"fewer weeks than steps={steps} (set evaluation.burn_in lower or run longer)",
        )
    check_shocks_in_run(cfg.get("shocks"), steps)
    return seed, steps


def check_shocks_in_run(shocks: Any, steps: int) -> None:
    """A scheduled shock must start within the run (weeks 1..steps), or it silently never
    happens and every shock KPI reads as if the firm had coped perfectly."""
    from omegaconf import Container, OmegaConf

    if isinstance(shocks, Container):
        shocks = OmegaConf.to_container(shocks, resolve=True)
    if isinstance(shocks, Mapping):
        items = shocks.items()
    elif isinstance(shocks, list | tuple):
        items = enumerate(shocks)
    else:
        return  # none, or a bad type that the parameter validation reports
    for name, spec in items:
        if isinstance(spec, ShockParams):
            spec = {f: getattr(spec, f) for f in ("name", "start", "random_rate")}
        if not isinstance(spec, Mapping) or spec.get("random_rate"):
            continue  # removed items and unscheduled (random) shocks
        start = spec.get("start", ShockParams().start)
        if (
            isinstance(start, int | float)
            and not isinstance(start, bool)
            and not 1 <= start <= steps
        ):
            raise ParamError(
                f"shocks.{spec.get('name', name)}.start",
                start,
                f"a week in [1, steps={steps}], or the shock never happens: raise steps or move the shock",
            )


def compose(
    overrides: Sequence[str] = (), config_name: str = "config", return_hydra_config: bool = False
):
    """Compose the project's configuration with Hydra overrides (no working-directory change)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return hydra_compose(
            config_name=config_name,
            overrides=list(overrides),
            return_hydra_config=return_hydra_config,
        )
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return hydra_compose(
            config_name=config_name,
            overrides=list(overrides),
            return_hydra_config=return_hydra_config,
        )


def params_from_overrides(overrides: Sequence[str] = ()) -> Params:
    """Validated Params from the default configuration plus Hydra-style overrides,
    e.g. ``params_from_overrides(["population.n_customers=500", "scenario=outage"])``."""
    return params_from_cfg(compose(overrides))
