"""The model as a picklable function of (factor values, seed) → KPIs.

Sensitivity studies and sweeps evaluate ``ModelFunction(base, steps, outputs)(values, seed)``
in worker processes: ``values`` maps dotted parameter keys (``"firm.support.human"``) to
numbers, applied to the base parameters with validation (integers are rounded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim import Params, run_kpis, with_updates


@dataclass(frozen=True)
class ModelFunction:
    base: Params
    steps: int
    outputs: tuple[str, ...] | None = None  # None: every KPI

    def __call__(self, values: Mapping[str, float], seed: int) -> dict[str, float]:
        params = with_updates(self.base, dict(values)) if values else self.base
        kpis = run_kpis(params, seed=int(seed), steps=self.steps)
        if self.outputs is None:
            return kpis
        return {k: kpis[k] for k in self.outputs}


def model_function(base: Params, steps: int, outputs: Sequence[str] | None = None) -> ModelFunction:
    from sim.kpis import RUN

    if outputs is not None:
        unknown = [o for o in outputs if o not in RUN]
        if unknown:
            raise ValueError(f"invalid output {unknown[0]!r}: allowed one of {', '.join(RUN)}")
    return ModelFunction(base, int(steps), tuple(outputs) if outputs is not None else None)
