"""From what-if to what-to-do: how to split a CX budget across the support factors and policy
levers, robust over seeds and scenarios (``cxsim optimize``).

A study is declared once in YAML (``configs/optimize/*.yaml``, Hydra group ``optimize``) and
read into a frozen :class:`OptimizeProblem`: decision variables (dotted keys with bounds,
integer where flagged), objectives (run-level KPIs with a direction; one or several), a budget
(weekly spend on support and levers, :func:`weekly_cost`), the uncertainty (common seeds and
optional scenarios) and the robustness measure (mean, low quantile, worst scenario, regret).
:func:`run_optimize` then

1. searches with optuna (TPE for one objective, NSGA-II for several, the budget as a
   constraint) in ask/tell batches whose runs go through the executor (serial, loky, Dask) into
   the run store; the study is a SQLite database in the run directory, so a killed search
   resumes where it stopped (``search``, ``evaluate``);
2. re-evaluates the top candidates (or the Pareto set) on fresh seeds, with the baseline policy
   and an equal split of the same budget, chooses on those seeds and confirms on further ones
   with paired intervals: no winner's curse (``reevaluate``);
3. writes ``trials.parquet``, ``pareto.csv``, ``recommendation.json``/``.md`` and the Pareto,
   allocation and convergence figures (``outputs``).

The package: ``problem`` (the declaration), ``cost`` (what a policy costs per week), ``evaluate``
(tasks, seeds, robust values), ``search`` (optuna), ``reevaluate`` (fresh seeds, equal split,
recommendation), ``outputs`` (files), ``study`` (:func:`run_optimize`) and ``command`` (the
``cxsim optimize`` entry point).
"""

from experiments.optimize.cost import cost_lines, weekly_cost
from experiments.optimize.evaluate import PolicyFunction, robust_value
from experiments.optimize.problem import (
    Objective,
    OptimizeProblem,
    Variable,
    load_problem,
    problem_from_cfg,
)
from experiments.optimize.reevaluate import equal_split
from experiments.optimize.study import OptimizeResult, run_optimize

__all__ = [
    "Objective",
    "OptimizeProblem",
    "OptimizeResult",
    "PolicyFunction",
    "Variable",
    "cost_lines",
    "equal_split",
    "load_problem",
    "problem_from_cfg",
    "robust_value",
    "run_optimize",
    "weekly_cost",
]
