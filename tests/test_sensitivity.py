"""Global sensitivity layer (experiments/sensitivity/): SALib designs and analyses checked on
analytical functions with known indices, through exactly the path a model study takes
(declaration → sample → tasks → run_tasks + run store → replicate means → analysis → files).

Model functions shipped to workers and subprocesses live in tests/_analytic.py.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.executor import ExecutorConfig
from experiments.sensitivity import (
    SensitivityRunsFailed,
    load_problem,
    problem_from_cfg,
    run_sensitivity,
    salib_problem,
    sample_design,
)
from experiments.sensitivity.analyse import pawn_stats
from experiments.sensitivity.design import spawn_seed
from experiments.store import RunStore
from tests import _analytic as A
from tests._kill_helpers import kill_group, stored_runs, wait_until

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "sensitivity"
SERIAL = ExecutorConfig(kind="serial")
SUPPORT = ("financial", "methodological", "technical", "technological", "material", "human")
POLICY = ("omnichannel", "personalization", "improvement_cadence")


def run(decl, fn, out, **kw):
    return run_sensitivity(
        decl, fn, out_dir=out, executor=kw.pop("executor", SERIAL), progress=False, **kw
    )


def table(res, index, level="factor", output=None):
    d = res.indices
    d = d[(d["index"] == index) & (d["level"] == level)]
    if output is not None:
        d = d[d["output"] == output]
    return d.set_index("factor")


def with_dummy(decl):
    """The declaration plus x4, an input the function ignores."""
    decl["factors"]["x4"] = {"bounds": [0.0, 1.0]}
    return decl


# --------------------------------------------------------------------------------------------
# Seeds and SALib designs
# --------------------------------------------------------------------------------------------
def test_seed_helper_equals_the_spawn_chain():
    for root in (0, 12345, 2**40 + 7):
        chain = np.random.SeedSequence(root).spawn(3)[2].spawn(2)[1].spawn(50)[17].spawn(4)[3]
        assert spawn_seed(root, 2, 1, 17, 3) == int(chain.generate_state(1)[0])
        assert spawn_seed(root, 3, 1) == int(
            np.random.SeedSequence(root).spawn(4)[3].spawn(5)[1].generate_state(1)[0]
        )


@pytest.mark.parametrize("second_order", [True, False])
@pytest.mark.parametrize("groups", [None, ["a", "a", "b"]])
def test_salib_sobol_sample_is_nested(second_order, groups):
    """sample.sobol(N) begins with sample.sobol(k) for k = N/4, N/2 (same seed): the first
    k·(2D+2) rows (k·(D+2) without second order; D = groups when grouped) are that design."""
    from SALib.sample import sobol

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-1, 1], [0, 2], [5, 6]]}
    if groups:
        problem["groups"] = groups
    D = len(set(groups)) if groups else 3
    block = 2 * D + 2 if second_order else D + 2
    big = sobol.sample(dict(problem), 64, calc_second_order=second_order, seed=11)
    assert big.shape == (64 * block, 3)
    for k in (16, 32):
        small = sobol.sample(dict(problem), k, calc_second_order=second_order, seed=11)
        np.testing.assert_array_equal(big[: k * block], small)
    other = sobol.sample(dict(problem), 16, calc_second_order=second_order, seed=12)
    assert not np.array_equal(other, big[: 16 * block])  # the seed sets the scrambling


@pytest.mark.parametrize("method", ["sobol", "morris", "pawn", "dgsm"])
def test_design_prefix_is_the_smaller_design(method):
    """Raising n keeps the first rows and their seeds, so a store reuses the runs."""
    decl = problem_from_cfg(with_dummy(A.ishigami_decl(method=method, n=128, replicates=2)))
    big = sample_design(decl)
    small = sample_design(dataclasses.replace(decl, n=32))
    rows = 32 * big.block
    np.testing.assert_array_equal(big.X[:rows], small.X)
    np.testing.assert_array_equal(big.seeds[:rows], small.seeds)


def test_crn_seeds():
    decl = problem_from_cfg(A.ishigami_decl(method="morris", n=8, replicates=3))
    d = sample_design(decl)
    assert decl.use_crn and (d.seeds == d.seeds[0]).all() and len(set(d.seeds[0])) == 3
    d = sample_design(dataclasses.replace(decl, crn=False))
    assert len(np.unique(d.seeds)) == d.seeds.size
    sob = sample_design(problem_from_cfg(A.ishigami_decl(n=8, replicates=3)))
    assert len(np.unique(sob.seeds)) == sob.seeds.size  # sobol: independent by default


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------
def test_yaml_declarations():
    default = load_problem(CONFIGS / "default.yaml")
    assert default.method == "sobol" and default.n == 256 and default.replicates == 2
    assert default.names == tuple(f"firm.support.{s}" for s in SUPPORT) + tuple(
        f"firm.policy.{p}" for p in POLICY
    )
    assert default.outputs == ("firm_value", "annual_churn", "mean_loyalty", "nps", "market_share")
    assert default.group_names == ("support",) * 6 + ("policy",) * 3
    assert default.morris.trajectories is None and default.base_n == 256
    cadence = default.factors[-1]
    assert cadence.integer and cadence.bounds == (1.0, 26.0)

    sp = salib_problem(default)
    assert sp["names"] == list(default.names) and sp["num_vars"] == 9
    assert sp["bounds"][0] == [0.0, 1.0] and sp["bounds"][-1] == [0.5, 26.5]
    assert "groups" not in sp and "dists" not in sp  # a grouped problem is a grouped design
    assert salib_problem(default, grouped=True)["groups"] == list(default.group_names)
    assert sp["outputs"] == list(default.outputs)

    smoke = load_problem(CONFIGS / "smoke.yaml")
    assert (smoke.n, smoke.replicates) == (8, 1)
    assert smoke.factors == default.factors and smoke.outputs == default.outputs

    ish = load_problem(CONFIGS / "ishigami.yaml")
    assert ish.names == ("x1", "x2", "x3") and ish.outputs == ("y",)
    assert all(f.bounds == (-np.pi, np.pi) for f in ish.factors)
    assert problem_from_cfg(ish.to_dict()) == ish


def test_hydra_composes_the_group():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("config", overrides=["sensitivity=smoke", "sensitivity.n=16"])
    decl = problem_from_cfg(cfg)  # the whole configuration: its sensitivity node is used
    assert decl == dataclasses.replace(load_problem(CONFIGS / "smoke.yaml"), n=16)
    assert problem_from_cfg(cfg.sensitivity) == decl


def test_nested_factor_keys_are_joined_again():
    """Hydra splits dotted keys of command-line overrides into nested mappings
    (``+sensitivity.factors.firm.price.bounds=[30,60]`` -> ``{firm: {price: {bounds: ...}}}``):
    the declaration walks them down to the mappings holding the factor keys."""
    decl = {
        "factors": {
            "firm.support.human": {"bounds": [0.0, 1.0], "group": "support"},
            "x": [0.0, 2.0],
            "firm": {"support": {"human": {"bounds": [0.2, 0.8]}}, "price": {"bounds": [30, 60]}},
        },
        "outputs": ["nps"],
    }
    p = problem_from_cfg(decl)
    assert p.names == ("firm.support.human", "x", "firm.price")
    assert p.factors[0].bounds == (0.2, 0.8) and p.factors[0].group == "support"
    assert p.factors[2].bounds == (30.0, 60.0)
    decl["factors"]["x"] = {"bound": [0, 1]}  # a typo stays an error, not a nested name
    with pytest.raises(ValueError, match=r"unknown key sensitivity\.factors\.x\.bound"):
        problem_from_cfg(decl)


BAD = [
    ({"method": "sobel"}, "method", "sobel"),
    ({"factors": {"x1": {"bounds": [1.0, 0.0]}}}, "factors.x1.bounds", "[1.0, 0.0]"),
    ({"factors": {"x1": {"bounds": [0.5, 0.5]}}}, "factors.x1.bounds", "0.5"),
    ({"factors": {"x1": {"bounds": [0.0]}}}, "factors.x1.bounds", "[0.0]"),
    ({"factors": {"x1": {"bounds": [0, 1], "grup": "a"}}}, "factors.x1.grup", "allowed"),
    ({"factors": {"x1": {"bounds": [0, 1], "dist": "cauchy"}}}, "factors.x1.dist", "cauchy"),
    ({"factors": {"x1": {"bounds": [0, -1], "dist": "norm"}}}, "factors.x1.bounds", "sd > 0"),
    ({"factors": {"k": {"bounds": [0.5, 3], "integer": True}}}, "factors.k.bounds", "integer"),
    ({"factors": {}}, "factors", "{}"),
    ({"n": 1}, "n", "1"),
    ({"n": "many"}, "n", "many"),
    ({"replicates": 0}, "replicates", "0"),
    ({"confidence_level": 95}, "confidence_level", "95"),
    ({"num_resamples": 2}, "num_resamples", "2"),
    ({"crn": "yes"}, "crn", "yes"),
    ({"outputs": []}, "outputs", "[]"),
    ({"outputs": ["y", "y"]}, "outputs", "y"),
    ({"samples": 5}, "sensitivity.samples", "allowed"),
    ({"morris": {"levels": 4}}, "morris.levels", "allowed"),
    ({"method": "morris", "morris": {"num_levels": 1}}, "morris.num_levels", "1"),
    ({"method": "efast", "n": 64}, "sensitivity.n", "4·M²"),
    ({"method": "pawn", "n": 8}, "sensitivity.n", "pawn.S"),
    ({"method": "dgsm", "dgsm": {"delta": 0}}, "dgsm.delta", "0"),
    ({"groups": True}, "groups", "declare a group"),
    ({"seed": -1}, "seed", "-1"),
]


@pytest.mark.parametrize(("over", "key", "fragment"), BAD, ids=[b[1] for b in BAD])
def test_declaration_errors_are_one_line_and_name_the_key(over, key, fragment):
    decl = A.ishigami_decl(**{k: v for k, v in over.items() if k != "factors"})
    if "factors" in over:
        decl["factors"] = over["factors"]
    with pytest.raises(ValueError) as exc:
        problem_from_cfg(decl)
    msg = str(exc.value)
    assert "\n" not in msg
    assert key in msg and fragment in msg, msg


def test_non_power_of_two_n_is_rounded_up_with_a_warning(tmp_path):
    decl = problem_from_cfg(A.ishigami_decl(n=6, second_order=False, num_resamples=20))
    assert (decl.n, decl.base_n) == (6, 8)
    with pytest.warns(UserWarning, match=r"n=6 is not a power of two: using N=8"):
        res = run(decl, A.ishigami, tmp_path)
    assert "N = 8 (n = 6 requested, rounded up to a power of two)" in res.summary
    assert set(res.indices["n"]) == {8}
    assert len(pd.read_csv(tmp_path / "samples.csv")) == 8 * (3 + 2)
    # morris and efast use n as given
    assert problem_from_cfg(A.ishigami_decl(method="morris", n=6)).base_n == 6


def test_unknown_output_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"sensitivity.outputs entry 'nps'.*returns \(y\)"):
        run(A.ishigami_decl(n=4, second_order=False, outputs=["nps"]), A.ishigami, tmp_path)


# --------------------------------------------------------------------------------------------
# Ishigami: Sobol' indices against the analytical values
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ishigami_sobol(tmp_path_factory):
    out = tmp_path_factory.mktemp("ishigami_sobol")
    decl = load_problem(CONFIGS / "ishigami.yaml")  # N = 1024, second order, 95%, 1000 resamples
    return run(decl, A.ishigami, out)


@pytest.mark.xdist_group("sensitivity_ishigami_sobol")  # shares the module fixture ishigami_sobol
def test_ishigami_sobol_indices_within_their_intervals(ishigami_sobol):
    """Every estimate is within its own 95% interval of the exact value (no widening; with a
    fixed seed this is deterministic, and bootstrap intervals of scrambled-Sobol' estimates
    are, if anything, conservative)."""
    truth = A.ishigami_truth()
    for index in ("S1", "ST"):
        t = table(ishigami_sobol, index)
        for name, exact in zip(("x1", "x2", "x3"), truth[index], strict=True):
            v, c = t.loc[name, "value"], t.loc[name, "conf"]
            assert 0 < c < 0.15, (index, name, c)
            assert abs(v - exact) <= c, f"{index}[{name}] = {v:.3f} ± {c:.3f}, exact {exact:.3f}"
    s2 = table(ishigami_sobol, "S2")
    exact = {"x1,x2": 0.0, "x1,x3": truth["S13"][0], "x2,x3": 0.0}
    for pair, e in exact.items():
        assert abs(s2.loc[pair, "value"] - e) <= s2.loc[pair, "conf"], pair
    assert (ishigami_sobol.indices["n"] == 1024).all()


@pytest.mark.xdist_group("sensitivity_ishigami_sobol")  # shares the module fixture ishigami_sobol
def test_ishigami_convergence_and_ranking(ishigami_sobol):
    conv = ishigami_sobol.convergence
    assert sorted(conv["n"].unique()) == [256, 512, 1024]
    assert set(conv["index"]) == {"S1", "ST"}
    st = conv[conv["index"] == "ST"].pivot(index="factor", columns="n", values="conf")
    assert (st[1024] < st[256]).all()  # the intervals shrink as N grows
    full = conv[conv["n"] == 1024].drop(columns="n").reset_index(drop=True)
    same = ishigami_sobol.indices[ishigami_sobol.indices["index"].isin(["S1", "ST"])]
    pd.testing.assert_frame_equal(
        full.drop(columns=["conf", "value"]),
        same.drop(columns=["conf", "value", "n"]).reset_index(drop=True),
    )
    s = ishigami_sobol.summary
    assert (
        "y: ranking of top factors stable across N/2 → N (512 → 1024, by ST): yes (x1 > x2 > x3)"
        in s
    )
    assert "y: x1 (ST 0.5" in s and "> x2 (ST 0.4" in s and "> x3 (ST 0.2" in s


@pytest.mark.xdist_group("sensitivity_ishigami_sobol")  # shares the module fixture ishigami_sobol
def test_files_written(ishigami_sobol):
    out = ishigami_sobol.out_dir
    for name in (
        "indices.csv",
        "indices.parquet",
        "convergence.csv",
        "noise_share.csv",
        "samples.csv",
        "study.json",
        "summary.md",
        "indices_y.png",
        "s2_y.png",
        "convergence.png",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "indices_y.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".tmp-*"))
    csv = pd.read_csv(out / "indices.csv")
    assert list(csv.columns) == [
        "output",
        "factor",
        "index",
        "value",
        "conf",
        "n",
        "level",
        "method",
        "conf_level",
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"), ishigami_sobol.indices)
    np.testing.assert_allclose(csv["value"], ishigami_sobol.indices["value"], rtol=1e-12)
    assert (out / "summary.md").read_text() == ishigami_sobol.summary
    noise = pd.read_csv(out / "noise_share.csv")
    assert noise["output"].tolist() == ["y"] and noise["noise_share"].isna().all()  # replicates 1
    assert "not measured: replicates = 1" in ishigami_sobol.summary
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 1024 * 8 and samples["key"].is_unique
    np.testing.assert_allclose(
        samples["y"],
        [A.ishigami(r, 0)["y"] for r in samples[["x1", "x2", "x3"]].to_dict("records")],
    )
    assert str(out) not in (out / "study.json").read_text()


# --------------------------------------------------------------------------------------------
# Morris
# --------------------------------------------------------------------------------------------
def test_ishigami_morris(tmp_path):
    """On a 4-level grid the expected mu* (by enumerating every elementary effect) are
    x1 7.70, x2 7.875, x3 6.25: x3 is far from 0 (its effect is an interaction with x1) but
    ranks last, and x2's mu* is exactly 7.875 for every effect (|sin²| jumps 0 ↔ 0.75).  So
    Morris ranks x1 and x2 together (x2 ≳ x1, unlike ST's x1 > x2), both above x3."""
    expected = A.ishigami_morris_mu_star(4)
    np.testing.assert_allclose(expected, [7.7041, 7.875, 6.2488], atol=1e-4)
    # Two intervals are checked against the truth: at 99% each (Bonferroni) the pair covers
    # with >= 98%.  At this seed x3's estimate is 2.2 standard errors from its expectation,
    # outside its 95% interval; over 30 seeds SALib's mean mu* is 7.65, 7.875, 6.26 (unbiased).
    decl = with_dummy(
        A.ishigami_decl(method="morris", n=300, morris={"num_levels": 4}, confidence_level=0.99)
    )
    res = run(decl, A.ishigami, tmp_path)
    mu = table(res, "mu_star")
    assert mu.loc["x2", "value"] == pytest.approx(7.875, abs=1e-9)
    for name, e in zip(("x1", "x3"), (expected[0], expected[2]), strict=True):
        assert abs(mu.loc[name, "value"] - e) <= mu.loc[name, "conf"], name
    assert mu.loc["x3", "value"] > 3  # interaction: not ~0
    assert mu.loc["x3", "value"] < min(mu.loc["x1", "value"], mu.loc["x2", "value"])
    assert mu.loc["x4", "value"] == 0.0
    assert table(res, "sigma").loc["x4", "value"] == 0.0
    assert abs(table(res, "mu").loc["x2", "value"]) < 1.5  # ups and downs of sin² cancel
    assert (tmp_path / "morris_y.png").stat().st_size > 0
    assert sorted(res.convergence["n"].unique()) == [75, 150, 300]


# --------------------------------------------------------------------------------------------
# Sobol' G function: rankings follow a
# --------------------------------------------------------------------------------------------
def g_decl(**over):
    d = {
        "n": 512,
        "replicates": 1,
        "second_order": False,
        "factors": {f"x{i}": {"bounds": [0.0, 1.0]} for i in range(1, 7)},
        "outputs": ["g"],
    }
    d.update(over)
    return d


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_g_function_ranking_follows_a(method, tmp_path):
    """a = 0, 1, 4.5, 9, 99, 99: importance decreases with a (the last two are ~inert)."""
    res = run(g_decl(method=method, n=512 if method == "sobol" else 100), A.sobol_g, tmp_path)
    main = table(res, "ST" if method == "sobol" else "mu_star")["value"]
    v = [main[f"x{i}"] for i in range(1, 7)]
    assert v[0] > v[1] > v[2] > v[3] > max(v[4], v[5])
    if method == "sobol":
        truth = A.sobol_g_truth()
        for index in ("S1", "ST"):
            t = table(res, index)
            for i, exact in enumerate(truth[index]):
                name = f"x{i + 1}"
                assert abs(t.loc[name, "value"] - exact) <= t.loc[name, "conf"] + 1e-4, (
                    index,
                    name,
                )
        # 1e-4: for a = 99 the exact index is 1e-4 and the estimate's interval ~1e-4 wide
        summary = res.summary.split("## Ranking")[1]
        assert summary.index("x1 (ST") < summary.index("x2 (ST") < summary.index("x3 (ST")


# --------------------------------------------------------------------------------------------
# eFAST, PAWN, DGSM
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "n", "index"),
    [("efast", 513, "ST"), ("pawn", 512, "pawn_median"), ("dgsm", 128, "dgsm")],
)
def test_other_methods_rank_ishigami_above_a_dummy(method, n, index, tmp_path):
    res = run(with_dummy(A.ishigami_decl(method=method, n=n)), A.ishigami, tmp_path)
    t = table(res, index)
    dummy = t.loc["x4"]
    for name in ("x1", "x2"):
        assert t.loc[name, "value"] - t.loc[name, "conf"] > dummy["value"] + dummy["conf"], name
    if method == "dgsm":
        assert dummy["value"] == 0.0  # no derivative at all
    if method == "efast":
        assert res.convergence is None
        assert "eFAST: SALib's confidence intervals" in res.summary
        st = table(res, "ST")["value"]
        np.testing.assert_allclose(st[["x1", "x2", "x3"]], A.ishigami_truth()["ST"], atol=0.05)
    else:
        assert len(res.convergence["n"].unique()) >= 2
    assert (tmp_path / "indices_y.png").stat().st_size > 0


@pytest.mark.parametrize("S", [5, 10])
@pytest.mark.parametrize("ties", [False, True])
def test_pawn_statistic_matches_salib(S, ties):
    """Our vectorised PAWN statistic (used for the bootstrap too) equals SALib's, also with
    tied inputs (integer factors) and tied outputs."""
    from SALib.analyze import pawn

    rng = np.random.default_rng(3)
    X = rng.uniform(-np.pi, np.pi, size=(400, 4))
    if ties:
        X[:, 3] = np.round(X[:, 3])
    y = np.array([A.ishigami({"x1": a, "x2": b, "x3": c}, 0)["y"] for a, b, c, _ in X])
    if ties:
        y = np.round(y)
    problem = {"num_vars": 4, "names": ["x1", "x2", "x3", "x4"], "bounds": [[-np.pi, np.pi]] * 4}
    ref = pawn.analyze(problem, X, y, S=S)
    ours = pawn_stats(X, y, S)
    for j, key in enumerate(("minimum", "mean", "median", "maximum", "CV", "stdev")):
        np.testing.assert_allclose(ours[:, j], ref[key], rtol=1e-12, err_msg=key)


# --------------------------------------------------------------------------------------------
# Stochastic models: noise share and common random numbers
# --------------------------------------------------------------------------------------------
def noise_decl(**over):
    d = {
        "method": "sobol",
        "n": 64,
        "replicates": 4,
        "second_order": False,
        "num_resamples": 200,
        "factors": {"x1": {"bounds": [0.0, 1.0]}, "x2": {"bounds": [0.0, 1.0]}},
        "outputs": ["y", "z"],
    }
    d.update(over)
    return d


def test_noise_share_is_reported(tmp_path):
    res = run(noise_decl(), A.linear_noise, tmp_path)
    ns = res.noise_share.set_index("output")
    # y = x1 + N(0, 0.3²): within-row variance 0.09, row means vary by Var(x1) + 0.09/4
    assert ns.loc["y", "within_var"] == pytest.approx(0.09, rel=0.2)
    assert ns.loc["y", "noise_share"] == pytest.approx(0.09 / (1 / 12 + 0.09 / 4), rel=0.25)
    assert 0 < ns.loc["z", "noise_share"] < ns.loc["y", "noise_share"]  # z = 2 x1 + noise
    assert (ns["replicates"] == 4).all() and (ns["rows"] == 64 * 4).all()
    assert "noise share" in res.summary
    # independent seeds: noise shows in the total indices.  x2 has no effect, but A and AB_x2
    # rows differ by their noise, so ST_x2 ≈ (0.09/4) / Var(row means) ≈ 0.21, and S1_x2 ≈ 0
    st = table(res, "ST", output="y")
    s1 = table(res, "S1", output="y")
    assert st.loc["x1", "value"] > 0.7
    assert st.loc["x2", "value"] == pytest.approx(0.0225 / (1 / 12 + 0.0225), abs=0.1)
    assert abs(s1.loc["x2", "value"]) <= s1.loc["x2", "conf"]


def test_crn_freezes_the_noise_in_sobol(tmp_path):
    """With crn: true every row shares the replicate seeds: the noise is one fixed offset, the
    averaged model is deterministic in the factors, and x2 gets ST = 0 exactly."""
    res = run(noise_decl(crn=True), A.linear_noise, tmp_path)
    st = table(res, "ST", output="y")["value"]
    assert st["x2"] == 0.0 and st["x1"] > 0.9
    assert res.noise_share.set_index("output").loc["y", "noise_share"] > 0  # still measured


def test_crn_gives_an_inert_factor_zero_morris_effect(tmp_path):
    """With common random numbers the steps of x2 change nothing: mu* = 0 exactly.  Without,
    every elementary effect of x2 is a difference of two noise draws."""
    decl = noise_decl(method="morris", n=20, replicates=2)
    on = run(decl, A.linear_noise, tmp_path / "crn")
    assert "common random numbers: on" in on.summary
    mu = table(on, "mu_star", output="y")["value"]
    assert mu["x2"] == 0.0 and mu["x1"] == pytest.approx(1.0, abs=1e-9)
    off = run({**decl, "crn": False}, A.linear_noise, tmp_path / "independent")
    assert table(off, "mu_star", output="y")["value"]["x2"] > 0.1


def test_dgsm_crn_default(tmp_path):
    res = run(noise_decl(method="dgsm", n=16, replicates=2), A.linear_noise, tmp_path)
    t = table(res, "dgsm", output="y")["value"]
    assert t["x2"] == 0.0 and t["x1"] > 0


# --------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------
def test_grouped_sobol_closed_indices(tmp_path):
    """Groups a = {x1, x3} and x2 (alone): the closed S1 of a is S1+S3+S13 = 0.558 and equals
    its ST; x2's group indices are its own 0.442."""
    decl = A.ishigami_decl(n=256, groups=True)
    decl["factors"]["x1"]["group"] = "a"
    decl["factors"]["x3"]["group"] = "a"
    res = run(decl, A.ishigami, tmp_path)
    truth = A.ishigami_truth()
    exact = {"a": truth["ST"][0], "x2": truth["S1"][1]}
    for index in ("S1", "ST"):
        g = table(res, index, level="group")
        assert sorted(g.index) == ["a", "x2"]
        for name, e in exact.items():
            assert abs(g.loc[name, "value"] - e) <= g.loc[name, "conf"], (index, name)
    assert table(res, "S2", level="group").index.tolist() == ["a,x2"]
    assert len(table(res, "ST")) == 3  # the per-factor study is there too
    assert (tmp_path / "groups_y.png").stat().st_size > 0
    samples = pd.read_csv(tmp_path / "samples.csv")
    assert (samples["design"] == "group").sum() == 256 * 6
    assert "## Groups" in res.summary and "a (ST 0.5" in res.summary


def test_groups_ignored_with_other_methods():
    decl = A.ishigami_decl(method="morris", n=10, groups=True)
    decl["factors"]["x1"]["group"] = "a"
    assert not problem_from_cfg(decl).grouped


# --------------------------------------------------------------------------------------------
# Integer factors, failures, executors
# --------------------------------------------------------------------------------------------
def test_integer_factor_is_rounded_and_every_value_equally_likely(tmp_path):
    decl = {
        "n": 512,
        "replicates": 1,
        "second_order": False,
        "num_resamples": 20,
        "factors": {"k": {"bounds": [1, 26], "integer": True}, "x": {"bounds": [0, 1]}},
        "outputs": ["k_seen", "is_int"],
    }
    run(decl, A.integer_probe, tmp_path)
    s = pd.read_csv(tmp_path / "samples.csv")
    assert (s["is_int"] == 1).all() and (s["k_seen"] == s["k"]).all()
    counts = s["k"].value_counts()
    assert sorted(counts.index) == list(range(1, 27))
    assert counts.max() / counts.min() < 1.5  # the end points are not half as likely


def test_failed_runs_raise_after_the_batch(tmp_path):
    with pytest.raises(SensitivityRunsFailed, match=r"of 640 model runs .*x1=3\.\d+ is out of"):
        run(A.ishigami_decl(n=128, second_order=False), A.fragile_ishigami, tmp_path)
    store = RunStore(tmp_path / "store")
    n_failed = len(store.failures())
    assert 0 < n_failed < 640 and len(store.kpis()) == 640 - n_failed  # the rest is kept


def test_loky_matches_serial(tmp_path):
    decl = A.ishigami_decl(n=32, second_order=False, replicates=2, num_resamples=50)
    par = run(decl, A.ishigami, tmp_path / "loky", executor=ExecutorConfig(kind="loky", n_jobs=2))
    ser = run(decl, A.ishigami, tmp_path / "serial")
    pd.testing.assert_frame_equal(par.indices, ser.indices)


# --------------------------------------------------------------------------------------------
# Resume after SIGKILL
# --------------------------------------------------------------------------------------------
def test_killed_study_resumes_to_identical_indices(tmp_path):
    n, total = 256, 256 * (3 + 2)
    out = tmp_path / "killed"
    env = {**os.environ, "CXSIM_TEST_SLEEP": "0.003", "PYTHONPATH": str(ROOT), "CI": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests._analytic", str(out), str(n)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: stored_runs(out / "store") >= 200, proc, timeout=120), (
            proc.stderr.read() if proc.poll() is not None else "timed out"
        )
    finally:
        kill_group(proc)
        proc.stderr.close()
    before = len(RunStore(out / "store").kpis())
    assert 200 <= before < total, before  # killed mid-way
    assert not (out / "indices.csv").exists()

    res = run(A.resume_decl(n), A.slow_ishigami, out)
    batch = res.batches[0]
    assert batch.n_total == total and batch.n_skipped == before and batch.n_done == total - before
    kpis = RunStore(out / "store").kpis()
    assert len(kpis) == total and kpis["key"].is_unique  # each run stored once
    assert RunStore(out / "store").failures().empty

    ref = run(A.resume_decl(n), A.slow_ishigami, tmp_path / "uninterrupted")
    pd.testing.assert_frame_equal(res.indices, ref.indices)
    pd.testing.assert_frame_equal(res.convergence, ref.convergence)
    pd.testing.assert_frame_equal(res.noise_share, ref.noise_share)
    again = run(A.resume_decl(n), A.slow_ishigami, out)  # a finished study: nothing to run
    assert again.batches[0].n_done == 0
    pd.testing.assert_frame_equal(again.indices, ref.indices)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------
def test_plots_are_pure_and_accept_the_report_format():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from analysis import sensitivity_plots as sp

    idx = pd.DataFrame(
        [
            ("nps", "firm.support.human", "S1", 0.4, 0.05, 64, 0.95),
            ("nps", "firm.support.human", "ST", 0.5, 0.06, 64, 0.95),
            ("nps", "firm.policy.omnichannel", "S1", 0.1, 0.04, 64, 0.95),
            ("nps", "firm.policy.omnichannel", "ST", 0.2, 0.05, 64, 0.95),
            ("nps", "firm.support.human,firm.policy.omnichannel", "S2", 0.05, 0.1, 64, 0.95),
        ],
        columns=["output", "factor", "index", "value", "conf", "n", "level"],
    )
    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [sp.indices_plot(idx, "nps"), sp.s2_heatmap(idx, "nps")]
        conv = pd.concat([idx[idx["index"] != "S2"].assign(n=k) for k in (16, 32, 64)])
        figs.append(sp.convergence_plot(conv))
    assert all(isinstance(f, Figure) for f in figs)
    assert plt.get_fignums() == before  # no pyplot state
    with pytest.raises(ValueError, match="mu_star"):
        sp.morris_plot(idx, "nps")
