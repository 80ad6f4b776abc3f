"""``docs/findings.md``: every statement generated from the study's numbers by the rules below
(their thresholds come from ``configs/study/default.yaml`` and are printed in the document);
the layout is the Jinja2 template ``analysis/report/templates/findings.md.j2``.

Rules of the statements
    Interval: value ± conf, the half-width of the 95% bootstrap interval (SALib).
    Ranking: factors by total index ST.  A factor *leads* an outcome when its ST interval does
    not overlap the runner-up's; otherwise the lead is *not resolved*.  Tiers: going down the
    ranking, a factor starts a new tier when its interval does not overlap the interval of the
    current tier's first factor.  No detectable effect: the ST interval reaches 0.01.
    Interactions: S2 pairs with S2 - conf > ``thresholds.s2_min``.
    Feedback rules: an ST change larger than ``thresholds.rule_change`` whose intervals do not
    overlap.  Within noise: an output whose replicate-noise share exceeds
    ``thresholds.noise_share``.  Converged: the top-3 by ST is the same at N/2 and N.
    Robust: the leader leads (separated interval) under both rules, with converged top-3.
    Diminishing returns (effect table): the paired gain of the last step (0.75 → 1) minus that
    of the first step (0 → 0.25), per seed; its 95% t-interval below 0 = diminishing, above 0 =
    increasing, otherwise not distinguishable from constant returns.
    Morris: mu* relative to the outcome's largest; negligible below
    ``thresholds.morris_negligible`` of it.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.text import Window, factor_label, kpi_label, window_sentence
from experiments.study.config import CONFIGS, StudyConfig, problems

ST_ZERO = 0.01  # an ST interval reaching this is "no detectable effect"
SUPPORT = ("financial", "methodological", "technical", "technological", "material", "human")


def label(name: str) -> str:
    """A factor in words (support and policy names as in the reports, other keys as they are)."""
    return factor_label(name)


def pm(v: float, c: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.2f} ± {c:.2f}" if math.isfinite(c) else f"{v:.2f}"


@dataclass(frozen=True)
class PartData:
    indices: pd.DataFrame
    convergence: pd.DataFrame
    noise: pd.DataFrame


def load_part(d: Path) -> PartData:
    def read(name: str) -> pd.DataFrame:
        p = d / name
        return pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame()

    return PartData(read("indices.csv"), read("convergence.csv"), read("noise_share.csv"))


def st_table(ix: pd.DataFrame, output: str) -> pd.DataFrame:
    """factor, S1, S1_conf, ST, ST_conf of one output, by ST (largest first)."""
    d = ix[(ix["output"] == output) & (ix["level"] == "factor") & ix["index"].isin(["S1", "ST"])]
    w = d.pivot_table(index="factor", columns="index", values=["value", "conf"], aggfunc="first")
    out = pd.DataFrame(
        {
            "S1": w[("value", "S1")],
            "S1_conf": w[("conf", "S1")],
            "ST": w[("value", "ST")],
            "ST_conf": w[("conf", "ST")],
        }
    )
    return out.sort_values(["ST", "S1"], ascending=False).rename_axis("factor").reset_index()


def _iv(r: Mapping[str, Any], k: str = "ST") -> tuple[float, float]:
    v, c = float(r[k]), float(r[f"{k}_conf"])
    c = c if math.isfinite(c) else 0.0
    return v - c, v + c


def overlap(a: Mapping[str, Any], b: Mapping[str, Any], k: str = "ST") -> bool:
    (alo, ahi), (blo, bhi) = _iv(a, k), _iv(b, k)
    return alo <= bhi and blo <= ahi


def tiers(t: pd.DataFrame) -> list[list[str]]:
    out: list[list[str]] = []
    head = None
    for _, r in t.iterrows():
        if head is None or not overlap(head, r):
            out.append([])
            head = r
        out[-1].append(r["factor"])
    return out


def lead_sentence(t: pd.DataFrame, what: str) -> str:
    a = t.iloc[0]
    if len(t) < 2:
        return f"{what}: {label(a['factor'])} (ST {pm(a['ST'], a['ST_conf'])})."
    b = t.iloc[1]
    if _iv(a)[0] <= ST_ZERO:
        return (
            f"{what}: no factor has a resolved total effect (the largest, "
            f"{label(a['factor'])}, has ST {pm(a['ST'], a['ST_conf'])}, interval reaching 0)."
        )
    if overlap(a, b):
        return (
            f"{what}: {label(a['factor'])} has the largest total effect (ST "
            f"{pm(a['ST'], a['ST_conf'])}), but its interval overlaps the runner-up's "
            f"({label(b['factor'])}, {pm(b['ST'], b['ST_conf'])}): the lead is not resolved."
        )
    return (
        f"{what}: {label(a['factor'])} leads (ST {pm(a['ST'], a['ST_conf'])}); its interval does "
        f"not overlap the runner-up's ({label(b['factor'])}, {pm(b['ST'], b['ST_conf'])})."
    )


def leads(t: pd.DataFrame) -> str | None:
    """The leading factor when its ST interval is separated from the runner-up's."""
    if len(t) < 2 or _iv(t.iloc[0])[0] <= ST_ZERO or overlap(t.iloc[0], t.iloc[1]):
        return None
    return str(t.iloc[0]["factor"])


def top3_stable(conv: pd.DataFrame, output: str) -> bool | None:
    if conv.empty:
        return None
    d = conv[(conv["output"] == output) & (conv["index"] == "ST") & (conv["level"] == "factor")]
    ns = sorted(d["n"].unique())
    if len(ns) < 2:
        return None

    def top(n):
        g = d[d["n"] == n].sort_values(["value", "factor"], ascending=[False, True])
        return list(g["factor"])[:3]

    return top(ns[-2]) == top(ns[-1])


def interactions(
    ix: pd.DataFrame, output: str, s2_min: float
) -> list[tuple[str, str, float, float]]:
    d = ix[(ix["output"] == output) & (ix["index"] == "S2") & (ix["level"] == "factor")]
    d = d[d["value"] - d["conf"] > s2_min].sort_values("value", ascending=False)
    return [(*str(r.factor).split(",", 1), float(r.value), float(r.conf)) for r in d.itertuples()]


def noise_of(noise: pd.DataFrame, output: str) -> float:
    if noise.empty:
        return math.nan
    d = noise[noise["output"] == output]["noise_share"]
    return float(d.iloc[0]) if len(d) else math.nan


# ------------------------------------------------------------------ diminishing returns
def returns_rows(effects: pd.DataFrame, kpis: Sequence[str]) -> list[dict[str, Any]]:
    """Per rule, support factor and KPI: the paired first-step and last-step gains (per seed)
    and the 95% t-interval of their difference (a gain is the change in the KPI's good
    direction: annual churn falling counts as a gain)."""
    rows = []
    for rule in sorted(effects["rule"].unique()):
        for f in SUPPORT:
            g = effects[(effects["factor"] == f"firm.support.{f}") & (effects["rule"] == rule)]
            if g.empty:
                continue
            levels = sorted(g["level"].unique())
            for k in kpis:
                sign = -1.0 if k == "annual_churn" else 1.0
                w = g.pivot_table(index="seed", columns="level", values=k) * sign
                first = w[levels[1]] - w[levels[0]]
                last = w[levels[-1]] - w[levels[-2]]
                d = (last - first).to_numpy()
                n = len(d)
                m = float(d.mean())
                h = _t_half(d)
                verdict = (
                    "diminishing"
                    if m + h < 0
                    else "increasing"
                    if m - h > 0
                    else "not distinguishable"
                )
                rows.append(
                    {
                        "rule": rule,
                        "factor": f,
                        "kpi": k,
                        "first": float(first.mean()),
                        "last": float(last.mean()),
                        "diff": m,
                        "half": h,
                        "verdict": verdict,
                        "last_negative": bool((last.mean() + _t_half(last.to_numpy())) < 0),
                        "seeds": n,
                    }
                )
    return rows


def _t_half(x: np.ndarray) -> float:
    from scipy import stats

    n = len(x)
    return float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def _num(v: float, kpi: str) -> str:
    if kpi in ("firm_value", "total_profit", "cumulative_profit"):
        return f"{v:,.0f} cu"
    if kpi == "annual_churn":
        return f"{100 * v:.1f} points"
    return f"{v:.2f}"


def returns_sentences(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for rule in dict.fromkeys(r["rule"] for r in rows):
        for k in dict.fromkeys(r["kpi"] for r in rows):
            rs = [r for r in rows if r["rule"] == rule and r["kpi"] == k]
            dim = [r for r in rs if r["verdict"] == "diminishing"]
            inc = [r for r in rs if r["verdict"] == "increasing"]
            neg = [r for r in rs if r["last_negative"]]
            what = f"{kpi_label(k)} ({rule} rule)"

            def names(xs, k=k):
                return ", ".join(
                    f"{r['factor']} (first step {_num(r['first'], k)}, last {_num(r['last'], k)})"
                    for r in xs
                )

            s = f"{what}: returns diminish for " + (names(dim) if dim else "no support factor")
            if inc:
                s += "; they increase for " + names(inc)
            rest = len(rs) - len(dim) - len(inc)
            if rest:
                s += f"; {rest} of {len(rs)} are not distinguishable from constant returns"
            if neg:
                s += "; the last step lowers it for " + ", ".join(r["factor"] for r in neg)
            out.append(s + ".")
    return out


# ------------------------------------------------------------------ the whole document
def figure_names(cfg: StudyConfig) -> list[tuple[str, str, str]]:
    """(rule, method, file) of the figures copied beside the document."""
    out = []
    for rule in cfg.rules:
        for o in cfg.headline:
            out.append((rule, "sobol", f"indices_{o}.png"))
            out.append((rule, "sobol", f"s2_{o}.png"))
            out.append((rule, "morris", f"morris_{o}.png"))
        out.append((rule, "sobol", "convergence.png"))
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def build_context(
    cfg: StudyConfig,
    results: Path,
    manifest: Mapping[str, Any],
    docs: Path,
    effects_csv: Path,
    small: Mapping[str, Any] | None,
) -> dict[str, Any]:
    th = cfg.thresholds
    parts = {(r, m): load_part(results / r / m) for r in cfg.rules for m in ("morris", "sobol")}
    sob = problems(cfg)["sobol"]
    mor = problems(cfg)["morris"]
    burn, width = int(manifest["burn_in"]), int(manifest.get("window", 0))
    win = Window(
        burn + 1, cfg.steps if width == 0 else min(cfg.steps, burn + width), burn, cfg.steps
    )
    ctx: dict[str, Any] = {"window": window_sentence(win), "cfg": cfg, "manifest": manifest}

    # rankings
    ranking = []
    for o in cfg.outputs:
        for rule in cfg.rules:
            p = parts[(rule, "sobol")]
            t = st_table(p.indices, o)
            ns = noise_of(p.noise, o)
            stable = top3_stable(p.convergence, o)
            s1 = float(t["S1"].clip(lower=0).sum())
            ranking.append(
                {
                    "output": o,
                    "headline": o in cfg.headline,
                    "rule": rule,
                    "lead": lead_sentence(t, f"{kpi_label(o)} ({rule} rule)"),
                    "tiers": " > ".join(
                        "{" + ", ".join(label(f) for f in tier) + "}" for tier in tiers(t)
                    ),
                    "none": [
                        label(r.factor) for r in t.itertuples() if r.ST - r.ST_conf <= ST_ZERO
                    ],
                    "rows": [
                        (i + 1, label(r.factor), pm(r.S1, r.S1_conf), pm(r.ST, r.ST_conf))
                        for i, r in enumerate(t.itertuples())
                    ],
                    "sum_s1": s1,
                    "noise": ns,
                    "noisy": bool(ns > th["noise_share"]),
                    "stable": stable,
                    "table": t,
                    "pairs": interactions(p.indices, o, th["s2_min"]),
                }
            )
    ctx["ranking"] = ranking
    ctx["headlines"] = [r["lead"] for r in ranking if r["headline"] and r["rule"] == cfg.rules[0]]

    # interactions
    inter = []
    for r in ranking:
        if not r["headline"]:
            continue
        what = f"{kpi_label(r['output'])} ({r['rule']} rule)"
        rest = (
            f"first-order effects sum to {r['sum_s1']:.2f}, leaving {1 - r['sum_s1']:.2f} to "
            "interactions and noise"
            if r["sum_s1"] <= 1
            else f"first-order effects sum to {r['sum_s1']:.2f}, more than 1: an estimation "
            "artefact of the sample size, so these S2 estimates are not reliable either"
        )
        if r["pairs"]:
            top = "; ".join(
                f"{label(a)} × {label(b)} (S2 {pm(v, c)})" for a, b, v, c in r["pairs"][:3]
            )
            inter.append(f"{what}: detectable interactions: {top}; {rest}.")
        else:
            inter.append(
                f"{what}: no pairwise interaction clears S2 − conf > {th['s2_min']}; {rest}."
            )
    ctx["interactions"] = inter

    # feedback rules
    rules_txt = []
    if len(cfg.rules) == 2:
        a, b = cfg.rules
        for o in cfg.headline:
            ta = st_table(parts[(a, "sobol")].indices, o).set_index("factor")
            tb = st_table(parts[(b, "sobol")].indices, o).set_index("factor")
            top_a, top_b = list(ta.index[:3]), list(tb.index[:3])
            moved = []
            for f in ta.index:
                ra, rb = ta.loc[f], tb.loc[f]
                if abs(rb["ST"] - ra["ST"]) > th["rule_change"] and not overlap(ra, rb):
                    moved.append(
                        f"{label(f)} {pm(ra['ST'], ra['ST_conf'])} → {pm(rb['ST'], rb['ST_conf'])}"
                    )
            s = f"{kpi_label(o)}: top three under the {a} rule " + ", ".join(map(label, top_a))
            s += (
                "; the same under the target rule"
                if top_a == top_b
                else f"; under the {b} rule " + ", ".join(map(label, top_b))
            )
            s += (
                "; ST changes beyond the threshold: " + "; ".join(moved)
                if moved
                else f"; no factor's ST changes by more than {th['rule_change']} with separated intervals"
            )
            rules_txt.append(s + ".")
    ctx["rules_txt"] = rules_txt

    # robust vs noise
    robust, fragile = [], []
    for o in cfg.headline:
        rs = [r for r in ranking if r["output"] == o]
        ls = {leads(r["table"]) for r in rs}
        stable = all(r["stable"] for r in rs)
        if len(ls) == 1 and None not in ls and stable:
            robust.append(
                f"{kpi_label(o)}: {label(ls.pop())} leads under both rules, with separated "
                "intervals and the same top three at N/2 and N."
            )
        else:
            why = []
            if None in ls:
                why.append("the lead is not resolved under at least one rule")
            elif len(ls) > 1:
                why.append("the leader differs between the rules")
            if not stable:
                why.append("the top three changes between N/2 and N under at least one rule")
            fragile.append(f"{kpi_label(o)}: no robust leader ({'; '.join(why)}).")
        for r in rs:
            if r["noisy"]:
                fragile.append(
                    f"{kpi_label(o)} ({r['rule']} rule): replicate noise is {r['noise']:.2f} of the "
                    f"variance of the replicate-averaged values (> {th['noise_share']}): its "
                    "indices are within noise."
                )
        nones = set.intersection(*(set(r["none"]) for r in rs))
        if nones:
            fragile.append(
                f"{kpi_label(o)}: no detectable total effect under either rule (ST interval "
                f"reaching {ST_ZERO}): " + ", ".join(sorted(nones)) + "."
            )
    ctx["robust"], ctx["fragile"] = robust, fragile

    # Morris
    basis = cfg.basis
    decisions = set(sob.names) | set(cfg.data["morris_decisions"])
    morris = []
    for rule in cfg.rules:
        ix = parts[(rule, "morris")].indices
        for o in cfg.headline:
            d = ix[(ix["output"] == o) & (ix["index"] == "mu_star")].sort_values(
                "value", ascending=False
            )
            if d.empty:
                continue
            top = float(d["value"].iloc[0]) or math.nan
            rows = [
                (
                    i + 1,
                    label(r.factor),
                    "decision" if r.factor in decisions else "constant",
                    f"{r.value / top:.2f} ± {r.conf / top:.2f}",
                )
                for i, r in enumerate(d.itertuples())
            ]
            first_dec = next(i for i, r in enumerate(d.itertuples()) if r.factor in decisions)
            above = [label(f) for f in d["factor"].iloc[:first_dec]]
            negl = [
                label(r.factor) for r in d.itertuples() if r.value < th["morris_negligible"] * top
            ]
            s = f"{kpi_label(o)} ({rule} rule): largest elementary effects " + ", ".join(
                label(f) for f in d["factor"].iloc[:5]
            )
            s += (
                "; constants ranked above every decision: " + ", ".join(above)
                if above
                else "; a decision ranks first"
            )
            s += f"; negligible (mu* < {th['morris_negligible']} of the largest): {len(negl)} of {len(d)} factors"
            morris.append({"rule": rule, "output": o, "sentence": s + ".", "rows": rows[:12]})
    ctx["morris"] = morris
    ctx["headlines"] += [
        "Screening (Morris) " + m["sentence"] for m in morris if m["rule"] == cfg.rules[0]
    ]
    ctx["ranges"] = [
        (label(f.name), f"[{f.low:g}, {f.high:g}]", basis.get(f.name, "")) for f in mor.factors
    ]

    # diminishing returns
    if effects_csv.exists():
        eff = pd.read_csv(effects_csv)
        ctx["returns"] = returns_sentences(
            returns_rows(eff, [k for k in ("firm_value", "annual_churn", "nps") if k in eff])
        )
        ctx["effects_sha"] = sha(effects_csv)
        ctx["effects_seeds"] = int(eff["seed"].nunique())
    else:
        ctx["returns"], ctx["effects_sha"], ctx["effects_seeds"] = [], None, 0

    ctx["baseline"] = baseline_context(cfg, docs / "findings" / "baseline", parts)
    ctx["small"] = small
    ctx["sizes"] = {
        "sobol_rows": problems(cfg)["sobol"].base_n * (2 * len(sob.factors) + 2),
        "morris_rows": mor.base_n * (len(mor.factors) + 1),
        "sobol_factors": len(sob.factors),
        "morris_factors": len(mor.factors),
    }
    ctx["thresholds"] = dict(th)
    ctx["st_zero"] = ST_ZERO
    ctx["study_file"] = str(
        Path("configs") / (CONFIGS / "study" / "default.yaml").relative_to(CONFIGS)
    )
    return ctx


def _rank_of(t: pd.DataFrame) -> dict[str, int]:
    return {f: i + 1 for i, f in enumerate(t["factor"])}


def baseline_context(cfg: StudyConfig, d: Path, parts: Mapping[tuple[str, str], PartData]):
    import json

    if not (d / "baseline.json").exists():
        return None
    info = json.loads((d / "baseline.json").read_text())
    old = pd.read_csv(d / "indices.csv")
    if "level" not in old:
        old["level"] = "factor"
    conv = parts[(cfg.rules[0], "sobol")].convergence
    new_full = parts[(cfg.rules[0], "sobol")].indices
    n_old = int(info["sobol_n"])
    same_n = conv[conv["n"] == n_old] if not conv.empty else conv
    rows, sentences = [], []
    for o_old, o_new in info["outputs"].items():
        to = st_table(old, o_old)
        tn = st_table(same_n if not same_n.empty else new_full, o_new)
        tf = st_table(new_full, o_new)
        ro, rn = _rank_of(to), _rank_of(tn)
        moved = [f"{label(f)} {ro[f]} → {rn[f]}" for f in ro if f in rn and abs(ro[f] - rn[f]) >= 2]
        rho = float(
            pd.Series([ro[f] for f in ro]).corr(pd.Series([rn[f] for f in ro]), method="spearman")
        )
        s = (
            f"{kpi_label(o_new)}: top three then {', '.join(label(f) for f in to['factor'][:3])}; "
            f"now {', '.join(label(f) for f in tn['factor'][:3])}"
            + (
                f" (same N = {n_old}; at N = {int(new_full['n'].max())}: "
                f"{', '.join(label(f) for f in tf['factor'][:3])})"
                if not same_n.empty and int(new_full["n"].max()) != n_old
                else f" (N = {int(new_full['n'].max())})"
            )
            + f"; rank correlation of the ST ranks {rho:.2f}"
        )
        s += (
            "; moved two places or more: " + "; ".join(moved)
            if moved
            else "; no factor moved two places or more"
        )
        sentences.append(s + ".")
        for f in to["factor"]:
            a = to.set_index("factor").loc[f]
            b = tn.set_index("factor").loc[f] if f in set(tn["factor"]) else None
            rows.append(
                (
                    kpi_label(o_new),
                    label(f),
                    f"{ro[f]} ({pm(a['ST'], a['ST_conf'])})",
                    f"{rn[f]} ({pm(b['ST'], b['ST_conf'])})" if b is not None else "n/a",
                )
            )
    return {"info": info, "sentences": sentences, "rows": rows, "same_n": not same_n.empty}


def copy_figures(cfg: StudyConfig, results: Path, dest: Path) -> dict[str, list[tuple[str, str]]]:
    """The figures beside the document, per rule: (caption, file name)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out: dict[str, list[tuple[str, str]]] = {r: [] for r in cfg.rules}
    for rule, method, name in figure_names(cfg):
        src = results / rule / method / name
        if src.exists():
            target = f"{rule}-{method}-{name}"
            shutil.copyfile(src, dest / target)
            out[rule].append((f"{method} {name.removesuffix('.png')}", target))
    return out


def render(ctx: Mapping[str, Any]) -> str:
    from analysis.report.document import _templates

    env = _templates()
    env.filters.setdefault("label", label)
    env.filters.setdefault("kpi", kpi_label)
    return env.get_template("findings.md.j2").render(**ctx)
