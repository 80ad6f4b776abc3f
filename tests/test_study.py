"""The canonical study (``cxsim study``, ``make study``) and ``docs/findings.md``.

The document is in step with the code when a fresh small study reproduces the small-study
numbers the document records (``docs/findings/small-study.csv``, whose hash the document
prints).  A model change that alters the answer fails here until ``make study`` regenerates
the findings; the test that a changed parameter default is caught shows that the check can
fail."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.study import doc
from experiments.study.check import RECORD, check, differences
from experiments.study.config import load_study, morris_problem, sobol_problem

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIXED = [("fixed", "sobol"), ("fixed", "morris")]


# ------------------------------------------------------------------ the declaration
def test_declaration_derives_both_parts_without_restating_bounds():
    cfg = load_study()
    sob, mor = sobol_problem(cfg), morris_problem(cfg)
    assert len(sob.factors) == 9 and sob.method == "sobol" and sob.second_order
    assert set(sob.names) < set(mor.names)  # the screening covers the Sobol factors
    assert set(cfg.headline) <= set(sob.outputs)
    for f in sob.factors:  # the same bounds in both parts
        assert mor.factors[mor.names.index(f.name)].bounds == f.bounds
    basis = cfg.basis
    assert all(basis[n] for n in mor.names)  # every range says where it comes from
    assert set(cfg.rules) == {"fixed", "target"}


def test_every_screened_factor_is_a_model_parameter_within_range():
    from experiments.batch import check_factors
    from experiments.study.run import base_model

    cfg = load_study(["size=small"])
    for rule in cfg.rules:
        params, _, _ = base_model(cfg, rule)
        check_factors(params, morris_problem(cfg))
        assert params.mechanism.feedback_rule == rule


def test_bad_study_options_are_refused_in_one_line(capsys):
    assert main(["study", "study.size=huge"]) == 2
    assert "study.size" in capsys.readouterr().err
    assert main(["study", "study.nothing=1"]) == 2
    assert main(["study", "bogus"]) == 2


# ------------------------------------------------------------------ the statement rules
def _table(rows):
    return pd.DataFrame(rows, columns=["factor", "S1", "S1_conf", "ST", "ST_conf"])


def test_lead_is_claimed_only_with_separated_intervals():
    clear = _table([("a", 0.5, 0.1, 0.6, 0.05), ("b", 0.1, 0.1, 0.2, 0.05)])
    assert "leads" in doc.lead_sentence(clear, "x") and doc.leads(clear) == "a"
    close = _table([("a", 0.5, 0.1, 0.6, 0.3), ("b", 0.1, 0.1, 0.4, 0.1)])
    assert "not resolved" in doc.lead_sentence(close, "x") and doc.leads(close) is None
    zero = _table([("a", 0.0, 0.1, 0.05, 0.3), ("b", 0.0, 0.1, 0.01, 0.1)])
    assert "no factor" in doc.lead_sentence(zero, "x")
    assert doc.tiers(
        _table([("a", 0, 0, 0.6, 0.05), ("b", 0, 0, 0.58, 0.05), ("c", 0, 0, 0.1, 0.05)])
    ) == [
        ["a", "b"],
        ["c"],
    ]


def test_diminishing_returns_need_a_paired_interval_below_zero():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(1, 6):
        for lvl, fv in zip((0, 0.25, 0.5, 0.75, 1.0), (0, 10, 18, 24, 26), strict=True):
            for f, v in (("human", fv), ("technical", 10 * lvl * 4)):
                rows.append(
                    {
                        "factor": f"firm.support.{f}",
                        "level": lvl,
                        "rule": "fixed",
                        "seed": seed,
                        "firm_value": v + rng.normal(0, 0.1),
                    }
                )
    got = {r["factor"]: r["verdict"] for r in doc.returns_rows(pd.DataFrame(rows), ["firm_value"])}
    assert got == {"human": "diminishing", "technical": "not distinguishable"}


def test_differences_name_every_changed_number():
    a = pd.DataFrame(
        [
            ["fixed", "sobol", "nps", "x", "ST", 0.5, 0.1],
            ["fixed", "sobol", "nps", "y", "ST", 0.2, math.nan],
        ],
        columns=["rule", "method", "output", "factor", "index", "value", "conf"],
    )
    assert differences(a, a) == []
    b = a.copy()
    b.loc[1, "value"] = 0.21
    (line,) = differences(b, a)
    assert "ST(y)" in line and "0.21" in line


# ------------------------------------------------------------------ the document
def test_findings_document_records_the_small_study_it_was_written_with():
    text = (DOCS / "findings.md").read_text(encoding="utf-8")
    assert f"sha256 {doc.sha(DOCS / RECORD)}" in text
    assert "cxsim study" in text and "feedback rule" in text
    for name in ("firm value", "annual churn", "NPS", "market share"):
        assert f"### {name} — fixed rule" in text
    for link in ("findings/figures/", "docs/effects.csv"):
        assert link in text
    for path in (DOCS / "findings" / "figures").glob("*.png"):
        assert path.name in text  # no stale figure beside the document


def test_readme_opening_links_to_the_findings():
    opening = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "docs/findings.md" in opening


@pytest.mark.slow
def test_small_study_reproduces_the_documents_numbers(tmp_path):
    """The model still gives the answer the document reports (fixed rule: the default)."""
    diffs = check(load_study(), DOCS, parts=FIXED, work=tmp_path)
    assert diffs == [], "the model's answer changed; regenerate with `make study`:\n" + "\n".join(
        diffs[:10]
    )


@pytest.mark.slow
def test_a_changed_parameter_default_fails_the_check(tmp_path, monkeypatch):
    """As if customer.loyalty_learning's default had changed (a constant the screening does not
    vary, so the Morris part runs it at its default): the check reports the numbers."""
    from sim import config as simcfg
    from sim.params import with_updates

    original = simcfg.params_from_cfg

    def changed_default(cfg):
        p = original(cfg)
        return with_updates(p, {"customer.loyalty_learning": p.customer.loyalty_learning * 1.5})

    monkeypatch.setattr(simcfg, "params_from_cfg", changed_default)
    diffs = check(load_study(), DOCS, parts=[("fixed", "morris")], work=tmp_path)
    assert diffs and all("fixed/morris" in d for d in diffs)


def test_document_is_refused_from_results_of_another_size(tmp_path):
    from experiments.study.command import check_sizes
    from sim.params import ParamError

    cfg = load_study(["size=small"])
    for rule in cfg.rules:
        for method, n in (("morris", 2), ("sobol", 2)):
            d = tmp_path / rule / method
            d.mkdir(parents=True)
            pd.DataFrame({"n": [n]}).to_csv(d / "indices.csv", index=False)
    check_sizes(cfg, tmp_path)  # in step: no error
    pd.DataFrame({"n": [4]}).to_csv(tmp_path / "target" / "sobol" / "indices.csv", index=False)
    with pytest.raises(ParamError, match="N=\\[4\\]"):
        check_sizes(cfg, tmp_path)
