"""The canonical study: what drives loyalty and profit on the default market, published.

``cxsim study`` (``make study``) runs, under each stage-5 feedback rule, a Morris screening of
the declared decision factors and the behavioural constants (``configs/study/default.yaml``
gives their uncertainty ranges and where each range comes from) and a Sobol study of the six
support factors and three policy levers (the factors of ``configs/sensitivity/default.yaml``);
both through :func:`experiments.sensitivity.run_sensitivity`.  It then writes
``docs/findings.md`` from the numbers (:mod:`experiments.study.doc`), with the figures and
tables in ``docs/findings/``.

Modules: ``config`` (the declaration and its sizes), ``run`` (the parts of the study),
``doc`` (the statements and the document), ``check`` (the small study whose numbers the
document records, and the check that the code still reproduces them), ``baseline`` (the same
Sobol study on the commit before the model-science issues, in a temporary git worktree) and
``command`` (``cxsim study``).
"""
