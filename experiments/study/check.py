"""The small study the document records, and the check that the code still reproduces it.

``make study`` also runs the study at ``size=small`` and writes its indices, rounded to six
significant digits, to ``docs/findings/small-study.csv``; the document prints that file's
hash.  :func:`check` reruns the small study (all parts, or some) and lists every number that
differs: a model change that alters the answer fails ``tests/test_study.py`` until the
findings are regenerated with ``make study``."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from experiments.study.config import StudyConfig
from experiments.study.run import METHODS, run_study

RECORD = Path("findings") / "small-study.csv"
KEEP = ("S1", "ST", "S2", "mu_star", "sigma")
COLUMNS = ["rule", "method", "output", "factor", "index", "value", "conf"]


def _sig(v: float) -> float:
    return float(f"{v:.6g}") if math.isfinite(v) else v


def record(cfg: StudyConfig, results: Path, parts: Iterable[tuple[str, str]] | None = None):
    """The small study's indices as one table (rule, method, output, factor, index, value, conf)."""
    todo = list(parts) if parts is not None else [(r, m) for r in cfg.rules for m in METHODS]
    frames = []
    for rule, method in todo:
        d = pd.read_csv(results / rule / method / "indices.csv")
        d = d[d["index"].isin(KEEP)].assign(rule=rule, method=method)
        frames.append(d[COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    for c in ("value", "conf"):
        out[c] = out[c].map(_sig)
    return out


def differences(fresh: pd.DataFrame, recorded: pd.DataFrame, rtol: float = 1e-5) -> list[str]:
    """Lines naming every number of ``fresh`` that is missing from or differs in ``recorded``."""
    key = ["rule", "method", "output", "factor", "index"]
    m = fresh.merge(recorded, on=key, how="left", suffixes=("", "_doc"), indicator="found")
    out = []
    for r in m.itertuples():
        where = f"{r.rule}/{r.method} {r.output} {r.index}({r.factor})"
        if r.found != "both":
            out.append(f"{where}: not in the document's small study")
            continue
        for c in ("value", "conf"):
            a, b = getattr(r, c), getattr(r, f"{c}_doc")
            same = (math.isnan(a) and math.isnan(b)) or math.isclose(
                a, b, rel_tol=rtol, abs_tol=1e-9
            )
            if not same:
                out.append(f"{where} {c}: now {a:.6g}, the document says {b:.6g}")
    return out


def check(
    cfg: StudyConfig,
    docs: Path,
    parts: Iterable[tuple[str, str]] | None = None,
    work: Path | None = None,
) -> list[str]:
    """Rerun the small study (``parts``: some (rule, method) pairs only) and compare it with the
    recorded one in ``docs``; returns the differences (empty: in step)."""
    small = cfg.sized("small")
    parts = list(parts) if parts is not None else None
    recorded = pd.read_csv(docs / RECORD)
    with tempfile.TemporaryDirectory(prefix="cxsim-study-check-") as tmp:
        out = Path(work or tmp)
        run_study(small, out, parts=parts, progress=False)
        fresh = record(small, out, parts)
    return differences(fresh, recorded)
