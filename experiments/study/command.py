"""``cxsim study``: the canonical study and its findings document.

cxsim study                      run the full study, the small one, the baseline (when
                                 docs/findings/baseline/ is missing), write docs/findings.md
cxsim study study.size=small     the small study only, its document in outputs/study/small/docs
cxsim study render               rewrite the document from the stored results (no runs)
cxsim study check                rerun the small study and compare it with the document
cxsim study baseline             rerun the comparison study on the old commit
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.io import write_atomic
from experiments.study.config import StudyConfig, load_study
from sim.params import ParamError

ACTIONS = ("run", "render", "check", "baseline")
ROOT = Path(__file__).resolve().parents[2]


def _log(s: str) -> None:
    print(f"cxsim study: {s}", file=sys.stderr, flush=True)


def small_info(small: StudyConfig, results: Path, docs: Path) -> dict[str, Any]:
    """Write the small study's record beside the document; what the document says about it."""
    from experiments.study.check import RECORD, record
    from experiments.study.doc import sha

    rec = record(small, results)
    path = docs / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda p: rec.to_csv(p, index=False))
    man = json.loads((results / "manifest.json").read_text())
    return {
        **vars(small.size),
        "seconds": man["seconds"],
        "fingerprint": man["fingerprint"],
        "numbers": int(rec[["value", "conf"]].notna().sum().sum()),
        "sha": sha(path),
    }


def check_sizes(cfg: StudyConfig, results: Path) -> None:
    """Refuse to write a document from results of another size than the declaration's (e.g. a
    part rerun at a new N while another still holds the old one)."""
    import pandas as pd

    from experiments.study.config import problems

    for method, problem in problems(cfg).items():
        for rule in cfg.rules:
            path = results / rule / method / "indices.csv"
            if not path.exists():
                raise ParamError(
                    "study.size",
                    cfg.size.name,
                    f"a study that has run ({path} is missing): run `cxsim study`",
                )
            got = sorted(int(n) for n in pd.read_csv(path)["n"].unique())
            if got != [problem.base_n]:
                raise ParamError(
                    "study.size",
                    cfg.size.name,
                    f"results of that size: {path} holds N={got}, the declaration "
                    f"N={problem.base_n}; run `cxsim study` first",
                )


def write_docs(cfg: StudyConfig, results: Path, docs: Path, small_results: Path | None) -> Path:
    """``docs/findings.md`` with its tables, figures and the small study's record."""
    import shutil

    from experiments.study import doc
    from experiments.study.run import METHODS, base_model

    manifest = json.loads((results / "manifest.json").read_text())
    if "burn_in" not in manifest:
        ev = base_model(cfg, cfg.rules[0])[2].evaluation
        manifest |= {"burn_in": int(ev.burn_in), "window": int(ev.window)}
    check_sizes(cfg, results)
    out = docs / "findings"
    out.mkdir(parents=True, exist_ok=True)
    for r in cfg.rules:
        for m in METHODS:
            shutil.copyfile(results / r / m / "indices.csv", out / f"indices-{r}-{m}.csv")
    small = None
    if small_results is not None:
        small = small_info(cfg.sized("small"), small_results, docs)
    ctx = doc.build_context(cfg, results, manifest, docs, docs / "effects.csv", small)
    ctx["figures"] = doc.copy_figures(cfg, results, out / "figures")
    text = doc.render(ctx)
    path = docs / "findings.md"
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path


def cli(args: Sequence[str]) -> int:
    from experiments import cli as C

    ap = argparse.ArgumentParser(prog="cxsim study", add_help=False)
    ap.add_argument("action", nargs="?", default="run")
    ap.add_argument("overrides", nargs="*")
    ns, unknown = ap.parse_known_args(list(args))
    if unknown:
        raise C.UsageError(f"unknown option {unknown[0]!r}")
    action, overrides = ns.action, ns.overrides
    if "=" in action:
        action, overrides = "run", [action, *overrides]
    if action not in ACTIONS:
        raise C.UsageError(f"unknown action {action!r}: allowed {', '.join(ACTIONS)}")
    paths = {"out": ROOT / "outputs" / "study", "docs": ROOT / "docs"}
    rest = []
    for o in overrides:
        key, _, value = o.partition("=")
        if key in paths:
            paths[key] = Path(value)
        else:
            rest.append(o)
    cfg = load_study(rest)
    docs, out = paths["docs"], paths["out"]
    if action == "check":
        from experiments.study.check import check

        diffs = check(cfg, docs)
        for line in diffs[:20]:
            print(line)
        if diffs:
            _log(
                f"{len(diffs)} numbers differ from docs/findings/small-study.csv: the model's "
                "answer changed; regenerate the findings with `make study`"
            )
            return 1
        _log("the small study reproduces the document's numbers")
        return 0
    if action == "baseline":
        from experiments.study.baseline import run_baseline

        run_baseline(cfg, docs / "findings" / "baseline", log=_log)
        return 0
    from experiments.study.run import run_study

    results = out / cfg.size.name
    small_results = out / "small"
    if action == "run":
        run_study(cfg, results, log=_log)
        if cfg.size.name != "small":
            run_study(cfg.sized("small"), small_results, log=_log)
            if not (docs / "findings" / "baseline" / "baseline.json").exists():
                from experiments.study.baseline import run_baseline

                run_baseline(cfg, docs / "findings" / "baseline", log=_log)
    if cfg.size.name == "small":
        docs = results / "docs"
        if (ROOT / "docs" / "effects.csv").exists():
            docs.mkdir(parents=True, exist_ok=True)
            (docs / "effects.csv").write_bytes((ROOT / "docs" / "effects.csv").read_bytes())
    has_small = (small_results / "manifest.json").exists()
    path = write_docs(cfg, results, docs, small_results if has_small else None)
    _log(f"wrote {path}")
    return 0
