"""The study declaration (``configs/study/default.yaml``) as a frozen :class:`StudyConfig`,
and the two sensitivity problems (Morris, Sobol) derived from it and the sensitivity
declaration it names; nothing here restates a factor's bounds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.batch import plain
from experiments.sensitivity import SensitivityProblem, load_problem, problem_from_cfg
from sim.params import ParamError

CONFIGS = Path(__file__).resolve().parents[1].parent / "configs"
STUDY_FILE = CONFIGS / "study" / "default.yaml"
SIZE_KEYS = ("customers", "sobol_n", "replicates", "morris_trajectories", "num_resamples")


@dataclass(frozen=True)
class StudySize:
    name: str
    customers: int
    sobol_n: int
    replicates: int
    morris_trajectories: int
    num_resamples: int


@dataclass(frozen=True)
class StudyConfig:
    """The validated declaration; ``data`` is the whole file as plain data (for the record)."""

    data: Mapping[str, Any]
    size: StudySize

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(self.data["rules"])

    @property
    def seed(self) -> int:
        return int(self.data["seed"])

    @property
    def steps(self) -> int:
        return int(self.data["steps"])

    @property
    def jobs(self) -> int:
        return int(self.data["jobs"])

    @property
    def headline(self) -> tuple[str, ...]:
        return tuple(self.data["headline"])

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.data["outputs"])

    @property
    def thresholds(self) -> Mapping[str, float]:
        return self.data["thresholds"]

    @property
    def basis(self) -> dict[str, str]:
        """Where the range of each Morris factor comes from."""
        sobol = load_problem(CONFIGS / "sensitivity" / f"{self.data['sobol_declaration']}.yaml")
        out = {
            f.name: f"the declared study range (configs/sensitivity/"
            f"{self.data['sobol_declaration']}.yaml)"
            for f in sobol.factors
        }
        for key in ("morris_decisions", "morris_constants"):
            out |= {k: str(v["basis"]) for k, v in self.data[key].items()}
        return out

    def sized(self, size: str) -> StudyConfig:
        return load_study([f"size={size}"], data=self.data)

    def overrides(self, rule: str) -> list[str]:
        """The model configuration of one part: the default market at the study's size."""
        return [
            f"population.n_customers={self.size.customers}",
            f"mechanism.feedback_rule={rule}",
            f"steps={self.steps}",
        ]


def load_study(overrides: Sequence[str] = (), data: Mapping[str, Any] | None = None) -> StudyConfig:
    """The study declaration with ``key=value`` overrides (``size=small``, ``jobs=1``, also
    written ``study.size=small``); one-line ``ParamError`` for an unknown key or size."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(plain(data)) if data is not None else OmegaConf.load(STUDY_FILE)
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.removeprefix("study.")
        if not sep or OmegaConf.select(cfg, key, default=KeyError) is KeyError:
            raise ParamError(f"study.{key}", value or None, "a key of configs/study/default.yaml")
        OmegaConf.update(cfg, key, OmegaConf.create({"v": value})["v"] if value else None)
    d = plain(cfg)
    sizes = d["sizes"]
    if d["size"] not in sizes:
        raise ParamError("study.size", d["size"], " | ".join(sizes))
    spec = sizes[d["size"]]
    if set(spec) != set(SIZE_KEYS):
        raise ParamError(f"study.sizes.{d['size']}", spec, "keys " + ", ".join(SIZE_KEYS))
    size = StudySize(d["size"], **{k: int(spec[k]) for k in SIZE_KEYS})
    return StudyConfig(d, size)


def sobol_problem(cfg: StudyConfig) -> SensitivityProblem:
    """The Sobol part: the sensitivity declaration's factors, the study's outputs and sizes."""
    decl = load_problem(CONFIGS / "sensitivity" / f"{cfg.data['sobol_declaration']}.yaml")
    return dataclasses.replace(
        decl,
        method="sobol",
        n=cfg.size.sobol_n,
        replicates=cfg.size.replicates,
        seed=cfg.seed,
        second_order=True,
        groups=False,
        crn=None,
        num_resamples=cfg.size.num_resamples,
        outputs=cfg.outputs,
    )


def morris_problem(cfg: StudyConfig) -> SensitivityProblem:
    """The Morris part: the Sobol factors, the other decisions and the behavioural constants,
    one replicate per point (common random numbers: a step changes only the factor)."""
    sobol = sobol_problem(cfg).to_dict()
    factors = dict(sobol["factors"])
    for key in ("morris_decisions", "morris_constants"):
        factors |= {k: {"bounds": v["bounds"]} for k, v in cfg.data[key].items()}
    return problem_from_cfg(
        {
            "method": "morris",
            "n": cfg.size.morris_trajectories,
            "replicates": 1,
            "seed": cfg.seed,
            "num_resamples": cfg.size.num_resamples,
            "morris": {"num_levels": 4, "trajectories": None},
            "factors": factors,
            "outputs": list(cfg.outputs),
        }
    )


def problems(cfg: StudyConfig) -> dict[str, SensitivityProblem]:
    return {"morris": morris_problem(cfg), "sobol": sobol_problem(cfg)}
