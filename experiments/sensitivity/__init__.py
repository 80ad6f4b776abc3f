"""Global sensitivity analysis: how the support factors and policy levers drive the KPIs.

A study is declared once, in YAML (``configs/sensitivity/*.yaml``, Hydra group
``sensitivity``), and converted to a frozen :class:`SensitivityProblem` by
:func:`problem_from_cfg`.  The SALib problem dict is derived from it by :func:`salib_problem`;
bounds are never restated anywhere else.  :func:`run_sensitivity` then

1. samples the factors with SALib (seeded from ``seed``),
2. turns every sample row x replicate into a :class:`~experiments.store.Task`,
3. evaluates them through :func:`~experiments.executor.run_tasks` into the run store
   ``out_dir/store`` (a killed study resumes: rerunning with the same ``out_dir`` skips the
   finished runs and ends with identical indices),
4. averages the replicates of each sample row,
5. analyses every output with SALib, with bootstrap confidence intervals, and
6. writes the tables, ``summary.md`` and the figures to ``out_dir``.

Methods and sample sizes (``n``)
    ``sobol``  Saltelli/Sobol' design, ``n`` = base sample size N; N·(2D+2) rows with
               ``second_order: true``, N·(D+2) without.  Indices S1, ST, S2.
    ``morris`` ``morris.trajectories`` trajectories (default ``n``) on a ``morris.num_levels``
               grid; r·(D+1) rows.  Indices mu_star (with conf), mu, sigma.
    ``efast``  ``n`` points per search curve (n > 4·M², M = ``efast.M``); n·D rows.  S1, ST.
    ``pawn``   ``n`` scrambled Sobol' points; ``pawn.S`` conditioning slides.  Index
               pawn_median (KS statistic, median over slides; conf by bootstrap) and
               pawn_mean, pawn_min, pawn_max, pawn_cv.
    ``dgsm``   ``n`` scrambled Sobol' base points, each with one forward step per factor of
               ``dgsm.delta`` x the factor's range (backward at the upper bound); N·(D+1) rows.
               Indices dgsm = v_i·(high - low)²/(π²·V), an upper bound of ST for uniform
               inputs (Sobol' & Kucherenko 2009; conf by bootstrap), and v_i = E[(∂y/∂x_i)²]
               (vi, vi_std).

Decisions
    Non-power-of-two ``n``: the Sobol'-based designs (sobol, pawn, dgsm) need a power of two.
    ``n`` is rounded UP to the next power of two, with a ``UserWarning`` and a line in
    ``summary.md`` giving both numbers; ``n`` keeps the requested value and
    :attr:`SensitivityProblem.base_n` is the size used.

    Seeds.  Every stream derives from ``seed`` through ``np.random.SeedSequence(seed)``:
    spawn-branch 0 seeds the sampler, branch 1 the bootstraps, branch 2 the runs.  Without
    common random numbers (CRN) run ``(design d, row i, replicate r)`` gets
    ``SeedSequence(seed).spawn(3)[2].spawn(.)[d].spawn(.)[i].spawn(.)[r]``; with CRN replicate
    ``r`` of every row gets ``SeedSequence(seed).spawn(4)[3].spawn(.)[r]``.  The ints are
    ``generate_state(1)[0]``.  Spawned children do not depend on how many were spawned, so
    raising ``n`` later reuses the runs already in the store (the Sobol' and Morris samples are
    nested: their first rows do not change with ``n``).

    CRN (``crn: null`` = the method's default).  Morris and DGSM compare neighbouring points:
    by default every row gets the same replicate seeds, so a base point and its step differ
    only by the factor (an input without effect gets mu_star = 0 exactly instead of measuring
    noise).  Sobol, eFAST and PAWN estimate variances over the whole input space: by default
    every row gets independent seeds, so replicate noise shows as noise (it inflates ST and
    deflates S1 a little, and ``noise_share.csv`` says by how much), instead of a single frozen
    noise realisation being analysed as if it were part of the model.

    Groups (``groups: true``, Sobol only).  A grouped Saltelli design is a different design
    (its cross-sampled blocks swap whole groups), so grouped indices come from a second,
    grouped design run through the same store: it costs N·(2G+2) (or N·(G+2)) more runs for G
    groups.  Its S1 is the closed first-order index of the group (the variance explained by
    the group's factors alone and together), its ST the total index of the group, S2 the
    interaction of two groups.  Rows have ``level == "group"`` in the tables.  Factors without
    a ``group`` form a group of their own.  The per-factor study is unaffected.

    DGSM design: SALib's ``finite_diff.sample`` steps each factor by ``delta`` x its *value*
    (no step at 0, a backward step for negative values, no seed); here the step is ``delta`` x
    the factor's range on seeded scrambled Sobol' base points, and SALib's ``dgsm.analyze``
    (which reads the steps from the design) computes the indices.

    Integer factors (``integer: true``) are sampled uniformly on [low - 0.5, high + 0.5] and
    rounded to the nearest integer (clipped to [low, high]) when applied, so every integer is
    equally likely; DGSM steps them by one unit.

    Convergence: for sobol, morris, pawn and dgsm the designs are nested, so the indices are
    re-estimated from the first N/4 and N/2 base points of the same runs (``convergence.csv``,
    ``convergence.png`` and one sentence per output in ``summary.md``).  eFAST's design depends
    on N as a whole: no convergence table.

    Confidence intervals: ``conf`` is the half-width of the ``confidence_level`` interval
    (normal approximation of ``num_resamples`` bootstrap replicates), as SALib reports it.
    SALib's DGSM interval is that of v_i, in other units than the index, and SALib has no PAWN
    interval: both are bootstrapped here (PAWN with an implementation of SALib's statistic that
    is tested against it).  SALib's eFAST intervals are known to be unreliable (indicative).

    Noise share per output: mean within-row variance across replicates / variance of the row
    means (the replicate-averaged outputs the indices are computed from); NaN with
    ``replicates: 1``, where noise cannot be separated from the factors' effects.

    Failed runs: the indices need every sample row.  If a run failed (the batch goes on and
    records it), :class:`SensitivityRunsFailed` is raised after the batch; rerunning with the
    same ``out_dir`` retries only the failed runs.

The package: ``problem`` (the declaration), ``design`` (samples, seeds and tasks), ``analyse``
(the five analyses), ``summary`` (``summary.md``) and ``study`` (:func:`run_sensitivity`, files).

Files written to ``out_dir``: ``indices.csv`` and ``indices.parquet`` (long format: output,
factor, index, value, conf, n, level, method, conf_level; S2 rows name the pair ``"a,b"``),
``convergence.csv``, ``noise_share.csv``, ``samples.csv`` (one row per run: design, row,
replicate, seed, key, factor values as applied, outputs), ``study.json``, ``summary.md``,
``store/`` and PNG figures: ``indices_<output>.png`` (and ``groups_<output>.png``),
``s2_<output>.png`` (sobol with second order), ``morris_<output>.png`` (morris),
``convergence.png``.
"""

from experiments.sensitivity.design import Design, sample_design
from experiments.sensitivity.problem import (
    CRN_DEFAULT,
    DISTS,
    METHODS,
    DgsmOptions,
    EfastOptions,
    Factor,
    MorrisOptions,
    PawnOptions,
    SensitivityProblem,
    load_problem,
    problem_from_cfg,
    salib_problem,
)
from experiments.sensitivity.study import SensitivityResult, SensitivityRunsFailed, run_sensitivity

__all__ = [
    "CRN_DEFAULT",
    "DISTS",
    "METHODS",
    "Design",
    "DgsmOptions",
    "EfastOptions",
    "Factor",
    "MorrisOptions",
    "PawnOptions",
    "SensitivityProblem",
    "SensitivityResult",
    "SensitivityRunsFailed",
    "load_problem",
    "problem_from_cfg",
    "run_sensitivity",
    "salib_problem",
    "sample_design",
]
