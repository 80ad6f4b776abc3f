"""`cxsim report <results dir>`: one self-contained HTML report of a results directory.

    cxsim report outputs/default             # a single run (cxsim run)
    cxsim report out/cmp                     # a scenario comparison (cxsim compare)
    cxsim report out/sweep --target "nps >= 30 and cumulative_profit >= base_cumulative_profit"
    python -m analysis.report out/sa         # a sensitivity study (cxsim sensitivity)

The kind of directory is detected from its files: ``comparison.csv`` (comparison),
``indices.csv`` (sensitivity study), ``sweep.csv`` (sweep), ``timeseries.parquet`` +
``kpis.json`` (single run).  Writes ``report.html`` into the directory — every figure embedded
as a base64 PNG, inline CSS only, no external resource, so it opens offline — and every figure
as PNG and SVG in ``<dir>/figures/`` (replacing the figures of an earlier report).  The report
says what was run (configuration, overrides, versions, seeds, runtime, from the run store's
manifest when there is one), shows the results as tables and figures, and for comparisons,
sweeps and sensitivity studies gives a short plain-language reading generated from the numbers.

A single run's report re-simulates the run from its ``config.yaml`` (same seed) to collect the
weekly state distributions, customer flows and the journey map, which ``cxsim run`` does not
store; ``--no-simulate`` skips that.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats import fmt
from sim.kpis import BY_NAME
from sim.kpis import HEADLINE as KPI_HEADLINE

__all__ = ["KINDS", "build_report", "cli", "detect_kind", "factor_label", "main"]

KINDS: dict[str, tuple[str, ...]] = {
    "comparison": ("comparison.csv",),
    "sensitivity": ("indices.csv",),
    "sweep": ("sweep.csv",),
    "run": ("timeseries.parquet", "kpis.json"),
}
HEADLINE = (*KPI_HEADLINE, "cumulative_profit", "csat", "retention_rate", "reputation", "measured_nps")
SHOCK_KPIS = ("detection_rate", "detection_latency", "recovery_time", "shock_nps", "shock_loss")
SUPPORT_NAMES = {
    "human": "Human-resources",
    "financial": "Financial",
    "methodological": "Methodological",
    "technical": "Technical",
    "technological": "Technological",
    "material": "Material",
}
SWEEP_LABELS = ("point", "replicate", "seed", "key")
MAX_FIGURE_OUTPUTS = 6


class ReportError(ValueError):
    """A results directory that cannot be reported on (one-line message, exit code 2)."""


# --------------------------------------------------------------------------------------------
# Names in prose
# --------------------------------------------------------------------------------------------
def factor_label(key: str) -> str:
    """A parameter key in words: ``firm.support.human`` → ``Human-resources support``."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[-2] == "support" and parts[-1] in SUPPORT_NAMES:
        return f"{SUPPORT_NAMES[parts[-1]]} support"
    if len(parts) >= 2 and parts[-2] == "policy":
        return f"{parts[-1].replace('_', ' ').capitalize()} policy"
    return key


def kpi_label(name: str) -> str:
    return {
        "nps": "NPS",
        "csat": "CSAT",
        "ces": "CES",
        "clv": "CLV",
        "measured_nps": "measured NPS",
        "measured_csat": "measured CSAT",
    }.get(name, name.replace("_", " "))


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


# --------------------------------------------------------------------------------------------
# The HTML document
# --------------------------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1150px;margin:0 auto;padding:1.2em 2em 3em;background:#fff}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1.05em;margin-top:1.4em}
.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}
td.l,th.l{text-align:left}
figure{margin:1em 0;text-align:center}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;margin-top:.3em}
pre{background:#f6f6f6;border:1px solid #e3e3e3;padding:.6em;font-size:.78em;overflow:auto;max-height:30em}
.findings{background:#eef6ee;border-left:4px solid #4a9a4a;padding:.6em 1em .6em 2em}
.findings li{margin:.25em 0}
.note{background:#fff8e5;border-left:4px solid #e0b030;padding:.4em .8em;font-size:.9em}
nav ul{columns:2;font-size:.9em}
"""


@dataclass
class Report:
    """An HTML report under construction; figures go to ``<directory>/figures``."""

    directory: Path
    title: str
    kind: str
    parts: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    dpi: int = 100

    @property
    def figure_dir(self) -> Path:
        return self.directory / "figures"

    def h2(self, text: str) -> None:
        anchor = f"s{len(self.sections) + 1}"
        self.sections.append((anchor, text))
        self.parts.append(f'<h2 id="{anchor}">{html.escape(text)}</h2>')

    def h3(self, text: str) -> None:
        self.parts.append(f"<h3>{html.escape(text)}</h3>")

    def p(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def bullets(self, items: Iterable[str], cls: str = "") -> None:
        items = list(items)
        if items:
            c = f' class="{cls}"' if cls else ""
            self.parts.append(
                f"<ul{c}>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
            )

    def pre(self, text: str, summary: str | None = None) -> None:
        block = f"<pre>{html.escape(text)}</pre>"
        if summary:
            block = f"<details><summary>{html.escape(summary)}</summary>{block}</details>"
        self.parts.append(block)

    def table(
        self, df: pd.DataFrame, *, left: Sequence[str] = (), collapsed: str | None = None
    ) -> None:
        """An HTML table of ``df`` (values shown as given: format them before)."""
        cols = list(df.columns)
        head = "".join(
            f'<th class="{"l" if c in left else ""}">{html.escape(str(c))}</th>' for c in cols
        )
        body = []
        for row in df.itertuples(index=False):
            cells = "".join(
                f'<td class="{"l" if c in left else ""}">{html.escape(_cell(v))}</td>'
                for c, v in zip(cols, row, strict=True)
            )
            body.append(f"<tr>{cells}</tr>")
        block = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        if collapsed:
            block = f"<details><summary>{html.escape(collapsed)}</summary>{block}</details>"
        self.parts.append(block)

    def figure(self, fig, slug: str, caption: str) -> None:
        """Save ``fig`` as PNG and SVG in the figures directory and embed the PNG."""
        import matplotlib.pyplot as plt

        self.figure_dir.mkdir(parents=True, exist_ok=True)
        name = f"{len(self.figures) + 1:02d}_{slug}"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, metadata={"Software": None})
        png = buf.getvalue()
        from experiments.io import write_atomic

        write_atomic(self.figure_dir / f"{name}.png", lambda p: p.write_bytes(png))
        write_atomic(
            self.figure_dir / f"{name}.svg",
            lambda p: fig.savefig(p, format="svg", metadata={"Date": None, "Creator": None}),
        )
        plt.close(fig)
        self.figures.append(self.figure_dir / f"{name}.png")
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>Figure {len(self.figures)}. {html.escape(caption)} "
            f"(figures/{html.escape(name)}.png, .svg)</figcaption></figure>"
        )

    def try_figure(self, make: Callable[[], Any], slug: str, caption: str) -> None:
        """Like :meth:`figure`, but a figure that cannot be drawn becomes a note."""
        try:
            fig = make()
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.p(f"Figure '{caption}' could not be drawn: {exc}", "note")
            return
        self.figure(fig, slug, caption)

    def render(self) -> str:
        nav = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.sections)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}</style></head><body><main>"
            f"<h1>{html.escape(self.title)}</h1>"
            f'<p class="meta">Results directory <b>{html.escape(self.directory.name)}</b> ({self.kind}); '
            f"report generated {now} by cxsim report; {len(self.figures)} figures.</p>"
            f"<nav><ul>{nav}</ul></nav>" + "\n".join(self.parts) + "</main></body></html>\n"
        )

    def write(self) -> Path:
        from experiments.io import write_text_atomic

        return write_text_atomic(self.directory / "report.html", self.render())


def _cell(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}" if abs(float(v)) < 1e4 else fmt(float(v), 4)
    if isinstance(v, int | np.integer):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    return "" if v is None else str(v)


# --------------------------------------------------------------------------------------------
# Detection and "what was run"
# --------------------------------------------------------------------------------------------
def detect_kind(directory: str | Path) -> str | None:
    """The kind of results in ``directory`` (comparison, sensitivity, sweep, run) or None."""
    d = Path(directory)
    for kind, files in KINDS.items():
        if all((d / f).is_file() for f in files):
            return kind
    return None


def _redact(node: Any) -> Any:
    """The configuration without machine addresses (executor.address)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "address" and v not in (None, ""):
                out[k] = "<set; not shown>"
            else:
                out[k] = _redact(v)
        return out
    if isinstance(node, list):
        return [_redact(v) for v in node]
    return node


def load_config(directory: Path) -> tuple[dict | None, str | None]:
    """The run's configuration: ``config.yaml`` (cxsim run) or Hydra's ``.hydra/config.yaml``,
    as a plain dict and as YAML text (machine addresses redacted); (None, None) if absent."""
    import yaml

    for path in (directory / "config.yaml", directory / ".hydra" / "config.yaml"):
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError:
                continue
            if isinstance(data, dict):
                data = _redact(data)
                data.pop("hydra", None)
                return data, yaml.safe_dump(
                    data, sort_keys=False, default_flow_style=None, width=100
                )
    return None, None


def load_overrides(directory: Path) -> list[str]:
    import yaml

    path = directory / ".hydra" / "overrides.yaml"
    try:
        data = yaml.safe_load(path.read_text()) if path.is_file() else None
    except yaml.YAMLError:
        return []
    return (
        [str(o) for o in data if not str(o).startswith(("hydra.", "executor.address"))]
        if isinstance(data, list)
        else []
    )


def load_manifest(directory: Path) -> dict | None:
    """The run store's manifest (``<dir>/store/manifest.json``) with run counts, or None."""
    store = directory / "store"
    if not (store / "manifest.json").is_file():
        return None
    try:
        from experiments.store import RunStore

        return RunStore(store).manifest()
    except (ValueError, OSError):
        try:
            return json.loads((store / "manifest.json").read_text())
        except (ValueError, OSError):
            return None


def what_was_run(
    rep: Report,
    directory: Path,
    *,
    seeds: Sequence[int] = (),
    extra: Sequence[tuple[str, str]] = (),
    runtime_note: str | None = None,
) -> dict | None:
    """The 'What was run' section; returns the configuration (or None)."""
    from experiments.store import environment_versions

    rep.h2("What was run")
    cfg, text = load_config(directory)
    manifest = load_manifest(directory)
    rows: list[tuple[str, str]] = [("kind of study", rep.kind)]
    if cfg is not None:
        scen = cfg.get("scenario") or {}
        if isinstance(scen, dict) and scen.get("name") and rep.kind != "comparison":
            rows.append(("scenario", f"{scen['name']}: {scen.get('description', '')}".strip(": ")))
        pop = (cfg.get("population") or {}).get("n_customers")
        if pop is not None:
            rows.append(("customers", f"{int(pop):,}"))
        if "steps" in cfg:
            rows.append(("weeks simulated", str(cfg["steps"])))
        if "seed" in cfg:
            rows.append(("root seed", str(cfg["seed"])))
    rows.extend(extra)
    if seeds:
        s = list(dict.fromkeys(int(x) for x in seeds))
        rows.append(
            (
                "seeds of the runs",
                ", ".join(map(str, s[:12])) + (f", … ({len(s)} in all)" if len(s) > 12 else ""),
            )
        )
    overrides = load_overrides(directory)
    if overrides:
        rows.append(("command-line overrides", " ".join(overrides)))
    if manifest is not None:
        batches = manifest.get("batches") or []
        rows.append(
            (
                "runs in the store",
                f"{manifest.get('n_done', '?')} finished, {manifest.get('n_failed', 0)} failed",
            )
        )
        rows.append(
            (
                "compute time of the runs",
                f"{fmt(_num(manifest.get('seconds_done')))} s (sum over runs)",
            )
        )
        if batches:
            wall = sum(_num(b.get("seconds")) for b in batches)
            ex = batches[-1].get("executor") or {}
            rows.append(
                (
                    "wall-clock time of the batches",
                    f"{fmt(wall)} s in {len(batches)} batch(es), "
                    f"executor {ex.get('kind', '?')} with {ex.get('n_jobs', '?')} job(s)",
                )
            )
            rows.append(
                (
                    "run dates (UTC)",
                    f"{batches[0].get('started', '?')} to {batches[-1].get('finished', '?')}",
                )
            )
        versions, source = (
            manifest.get("versions") or {},
            "recorded in the run store when the runs were made",
        )
    else:
        versions, source = (
            environment_versions(),
            "of the environment that built this report (not recorded with the run)",
        )
    if runtime_note:
        rows.append(("runtime", runtime_note))
    vtxt = ", ".join(
        f"{k} {v}"
        for k, v in versions.items()
        if k in ("python", "numpy", "pandas", "mesa", "cxsim") and v
    )
    rows.append(("versions", f"{vtxt} ({source})"))
    rep.table(pd.DataFrame(rows, columns=["item", "value"]), left=("item", "value"))
    if text:
        rep.pre(text, "Resolved configuration (click to expand)")
    else:
        rep.p("No configuration file was found in the directory.", "note")
    return cfg


# --------------------------------------------------------------------------------------------
# Single run
# --------------------------------------------------------------------------------------------
def _shocks_from_cfg(cfg: Mapping | None) -> list[dict]:
    """Scheduled shocks of a configuration (random-onset shocks cannot be placed)."""
    out = []
    shocks = (cfg or {}).get("shocks") or {}
    items = shocks.items() if isinstance(shocks, Mapping) else enumerate(shocks)
    for _, s in items:
        if isinstance(s, Mapping) and not _num(s.get("random_rate", 0)) > 0 and "start" in s:
            out.append(
                {
                    "kind": s.get("kind", "shock"),
                    "start": int(s["start"]),
                    "end": int(s["start"]) + int(s.get("duration", 1)),
                }
            )
    return out


def report_run(rep: Report, directory: Path, *, simulate: bool = True) -> None:
    from analysis import plots
    from experiments.run import SUMMARY_KPIS

    ts = pd.read_parquet(directory / "timeseries.parquet")
    kpis = json.loads((directory / "kpis.json").read_text())
    cfg, _ = load_config(directory)
    snap, note, sim_seconds = None, None, None
    if simulate and cfg is not None:
        try:
            from analysis.snapshots import collect
            from sim.config import params_from_cfg, run_settings

            params = params_from_cfg(cfg)
            seed, steps = run_settings(cfg)
            t0 = time.perf_counter()
            snap = collect(params, seed, steps)
            sim_seconds = time.perf_counter() - t0
            same = snap.timeseries.shape == ts.shape and np.allclose(
                snap.timeseries.to_numpy(float),
                ts.to_numpy(float),
                equal_nan=True,
                rtol=1e-9,
                atol=1e-9,
            )
            note = (
                "The run was re-simulated from its configuration and seed to collect weekly state "
                "distributions, customer flows and the journey map; the re-simulation "
                + (
                    "reproduced the stored time series exactly."
                    if same
                    else "did NOT reproduce the stored time series (the model or configuration changed since), "
                    "so those three figures may differ from the stored run."
                )
            )
        except Exception as exc:  # the model code may have changed since the run
            note = f"The run could not be re-simulated ({type(exc).__name__}: {exc}); state, flow and journey figures are left out."
    elif not simulate:
        note = (
            "Re-simulation skipped (--no-simulate): state, flow and journey figures are left out."
        )
    else:
        note = "No config.yaml: the run cannot be re-simulated; state, flow and journey figures are left out."
    runtime = (
        f"re-simulation for this report took {sim_seconds:.1f} s"
        if sim_seconds is not None
        else "not recorded by cxsim run"
    )
    what_was_run(
        rep, directory, seeds=[cfg["seed"]] if cfg and "seed" in cfg else [], runtime_note=runtime
    )

    rep.h2("Main findings")
    burn_in = int(((cfg or {}).get("evaluation") or {}).get("burn_in", 0))
    rep.bullets(run_findings(ts, kpis, snap.shocks if snap else _shocks_from_cfg(cfg), burn_in), "findings")

    rep.h2("Results")
    rows = [(k, fmt(_num(kpis.get(k))), BY_NAME[k].unit) for k in SUMMARY_KPIS if k in kpis]
    rep.h3("Key performance indicators at the end of the run")
    rep.table(pd.DataFrame(rows, columns=["KPI", "value", "unit"]), left=("KPI", "unit"))
    allrows = [(k, fmt(_num(v)), BY_NAME[k].unit if k in BY_NAME else "") for k, v in kpis.items()]
    rep.table(
        pd.DataFrame(allrows, columns=["KPI", "value", "unit"]),
        left=("KPI", "unit"),
        collapsed=f"All {len(allrows)} KPIs",
    )
    rep.figure(
        plots.kpi_panels(ts), "kpi_timeseries", "Weekly KPIs of the focal firm over the run."
    )
    shocks = snap.shocks if snap else _shocks_from_cfg(cfg)
    rep.figure(
        plots.nps_measured_vs_true(ts, shocks),
        "nps_measured_vs_true",
        "True NPS vs the NPS the firm measured from its surveys; shaded: shocks (scheduled duration), "
        "red ticks: weeks the firm's measurements raised an alarm; bottom: measurement error.",
    )
    if note:
        rep.p(note, "note")
    if snap is not None:
        rep.h3("Customers: state distributions and flows")
        rep.figure(
            plots.state_distributions(snap.state),
            "state_distributions",
            "Distribution of the emotional (affect), cognitive (satisfaction, expectation) and behavioural "
            "(activity, loyalty) state of the focal firm's customers per week: 5–95th and 25–75th "
            "percentile bands, median and mean.",
        )
        rep.figure(
            plots.customer_flows(snap.flows),
            "customer_flows",
            "Customers by status (prospect, customer of each firm, lapsed) and the weekly flows between "
            "them, including switches between firms.",
        )
        rep.h3("Journey map")
        focal = snap.firms[0]
        err = float(np.abs(snap.quality_estimate[focal] - snap.quality_true[focal]).mean())
        rep.figure(
            plots.journey_heatmap(
                snap.quality_true[focal],
                snap.quality_estimate[focal],
                title=f"Focal firm's journey map at week {len(snap.timeseries)}: "
                f"mean absolute error {err:.3f}",
            ),
            "journey_heatmap",
            "Touchpoint × channel quality at the end of the run: true effective quality, the firm's "
            "estimate (its journey map) and the estimate's error.",
        )


def run_findings(
    ts: pd.DataFrame, kpis: Mapping[str, Any], shocks: Sequence[Mapping], burn_in: int = 0
) -> list[str]:
    out = []
    n = len(ts)
    if n and "nps" in ts:
        a, b = float(ts["nps"].iloc[0]), float(ts["nps"].iloc[-1])
        out.append(
            f"Over {n} weeks the focal firm's true NPS went from {fmt(a)} to {fmt(b)} points "
            f"(lowest {fmt(float(ts['nps'].min()))} in week {int(ts.loc[ts['nps'].idxmin(), 'step'])})."
        )
    first = min(burn_in + 1, n)
    window = f"weeks {first}–{n}" + (f", after a {burn_in}-week burn-in" if burn_in else "")
    if "nps" in kpis:
        out.append(
            f"Over the evaluation window ({window}) the true NPS averaged {fmt(_num(kpis.get('nps')))} points, "
            f"the firm measured {fmt(_num(kpis.get('measured_nps')))} on average, and annual churn was "
            f"{fmt(100 * _num(kpis.get('annual_churn')))}%."
        )
    if "measured_nps" in ts and ts["measured_nps"].notna().any():
        err = (ts["measured_nps"] - ts["nps"]).abs()
        out.append(
            f"The firm's surveys measured NPS with a mean absolute error of {fmt(float(err.mean()))} points over all {n} weeks."
        )
    if "firm_value" in kpis:
        out.append(
            f"Firm value {fmt(_num(kpis['firm_value']))} cu (discounted profit of {window} plus the customer equity "
            f"left at the end, {fmt(_num(kpis.get('customer_equity')))} cu); profit over the window "
            f"{fmt(_num(kpis.get('total_profit')))} cu, cumulative profit since week 1 "
            f"{fmt(_num(kpis.get('cumulative_profit')))} cu; market share at the end "
            f"{fmt(100 * _num(kpis.get('final_market_share')))}%, {fmt(_num(kpis.get('final_active_customers')))} customers."
        )
    if "alarm" in ts:
        out.append(
            f"The firm's measurements raised an alarm in {int((ts['alarm'] > 0).sum())} of {n} weeks."
        )
    for s in shocks:
        txt = f"Shock: {s.get('kind')} from week {s['start']} (scheduled until week {s['end'] - 1})"
        rate, lat, rec, dnps, loss = (_num(kpis.get(k)) for k in SHOCK_KPIS)
        bits = []
        if math.isfinite(lat):
            bits.append(f"first alarm {fmt(lat)} weeks after its start")
        elif math.isfinite(rate):
            bits.append("the firm's alarm did not detect it")
        bits.append(
            f"NPS back to its pre-shock level after {fmt(rec)} weeks"
            if math.isfinite(rec)
            else "NPS not back to its pre-shock level by the end"
        )
        if math.isfinite(dnps):
            bits.append(f"NPS during the shock and the weeks after it {fmt(dnps)} points against the same seed without shocks")
        if math.isfinite(loss):
            bits.append(f"it cost {fmt(loss)} cu of firm value against the same seed without shocks")
        out.append(txt + ": " + "; ".join(bits) + ".")
    return out


# --------------------------------------------------------------------------------------------
# Scenario comparison
# --------------------------------------------------------------------------------------------
def _range(a: float, b: float) -> str:
    return f"{fmt(a)} to {fmt(b)}" if a < 0 or b < 0 else f"{fmt(a)}–{fmt(b)}"


def _signed(v: float) -> str:
    return ("+" if v > 0 else "") + fmt(v)


def _bool(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")


def diff_sentence(
    scenario: str,
    reference: str,
    kpi: str,
    row: Mapping[str, Any],
    ref_mean: float,
    level: float = 0.95,
) -> str:
    """'Scenario outage lowers cumulative profit by 3.2% (95% CI 2.1–4.3%) relative to baseline,
    distinguishable from noise (10 paired replicates).'"""
    d, lo, hi = _num(row["diff"]), _num(row["diff_ci_low"]), _num(row["diff_ci_high"])
    n = int(_num(row.get("n_diff", row.get("n", 0))) or 0)
    unit = BY_NAME[kpi].unit if kpi in BY_NAME else str(row.get("unit", ""))
    if unit.startswith(("cu", "customers", "messages", "per week", "purchases")) and ref_mean > 0:
        scale, suffix = 100.0 / ref_mean, "%"
    elif "share" in unit:
        scale, suffix = 100.0, " percentage points"
    elif unit.startswith("%"):
        scale, suffix = 1.0, " percentage points"
    elif unit.startswith("points"):
        scale, suffix = 1.0, " points"
    else:
        scale, suffix = 1.0, f" {unit}" if unit else ""
    d, lo, hi = d * scale, lo * scale, hi * scale
    if not math.isfinite(d):
        return (
            f"{_capital(kpi_label(kpi))}: no paired difference between {scenario} and {reference}."
        )
    if d == 0 and lo == 0 and hi == 0:
        return f"Scenario {scenario} leaves {kpi_label(kpi)} unchanged relative to {reference} in every replicate."
    verb = "lowers" if d < 0 else "raises"
    if math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0):
        a, b = sorted((abs(lo), abs(hi)))
        ci = f"{level:.0%} CI {fmt(a)}–{fmt(b)}{suffix}"
    elif math.isfinite(lo) and math.isfinite(hi):
        ci = f"{level:.0%} CI {_signed(lo)} to {_signed(hi)}{suffix}"
    else:
        ci = "no interval: fewer than two replicates"
    verdict = (
        "distinguishable from noise"
        if _bool(row.get("distinguishable"))
        else "not distinguishable from noise"
    )
    return (
        f"Scenario {scenario} {verb} {kpi_label(kpi)} by {fmt(abs(d))}{suffix} ({ci}) relative to {reference}, "
        f"{verdict} ({n} paired replicates)."
    )


def comparison_findings(table: pd.DataFrame, level: float = 0.95) -> list[str]:
    scenarios = list(dict.fromkeys(table["scenario"]))
    reference = scenarios[0]
    means = table.set_index(["scenario", "kpi"])["mean"]
    out = []
    kpis_present = list(dict.fromkeys(table["kpi"]))
    for s in scenarios[1:]:
        rows = table[table["scenario"] == s].set_index("kpi")
        for k in [k for k in HEADLINE if k in rows.index][:4]:
            out.append(
                diff_sentence(s, reference, k, rows.loc[k], _num(means.get((reference, k))), level)
            )
        other = [
            k
            for k in kpis_present
            if k not in HEADLINE[:4]
            and k in rows.index
            and k not in SHOCK_KPIS
            and _bool(rows.loc[k, "distinguishable"])
        ]
        if other:
            out.append(
                f"Scenario {s} also differs distinguishably from {reference} in: "
                + ", ".join(kpi_label(k) for k in other)
                + "."
            )
        shock_bits = []
        for k, what in (
            ("detection_latency", "the firm's first alarm came {v} weeks after the shock started"),
            ("recovery_time", "NPS recovered to its pre-shock level after {v} weeks"),
            (
                "shock_loss",
                "the shock cost {v} cu of cumulative profit against the same seeds without it",
            ),
        ):
            if (
                k in rows.index
                and _num(rows.loc[k, "n"]) > 0
                and math.isfinite(_num(rows.loc[k, "mean"]))
            ):
                r = rows.loc[k]
                ci = (
                    f" ({level:.0%} CI {_range(_num(r['ci_low']), _num(r['ci_high']))})"
                    if math.isfinite(_num(r["ci_low"]))
                    else ""
                )
                shock_bits.append(what.format(v=fmt(_num(r["mean"]))) + ci)
        if shock_bits:
            out.append(
                f"In scenario {s}, on average over {int(_num(rows.loc['recovery_time', 'n']) if 'recovery_time' in rows.index else 0) or 'its'} replicates: "
                + "; ".join(shock_bits)
                + "."
            )
    return out


def _comparison_timeseries(directory: Path, runs: pd.DataFrame) -> pd.DataFrame | None:
    if not (directory / "store").is_dir() or "key" not in runs:
        return None
    from experiments.store import RunStore

    store = RunStore(directory / "store")
    frames = []
    for r in runs.itertuples():
        ts = store.timeseries(r.key)
        if ts is not None:
            frames.append(ts.assign(scenario=r.scenario, seed=r.seed))
    return pd.concat(frames, ignore_index=True) if frames else None


def _scenario_shocks(directory: Path, scenario: str) -> list[dict]:
    try:
        from sim.config import compose

        overrides = [
            o for o in load_overrides(directory) if not o.startswith(("scenario=", "+scenario="))
        ]
        cfg = compose([*overrides, f"scenario={scenario}"])
        from omegaconf import OmegaConf

        return _shocks_from_cfg(OmegaConf.to_container(cfg, resolve=True))
    except Exception:  # the configuration may have changed since: no shock markers then
        return []


def report_comparison(rep: Report, directory: Path) -> None:
    from analysis import plots
    from analysis.compare_plots import forest_plot

    table = pd.read_csv(directory / "comparison.csv")
    need = {"scenario", "kpi", "mean", "diff", "diff_ci_low", "diff_ci_high"}
    if not need <= set(table.columns):
        raise ReportError(
            f"comparison.csv lacks the columns {', '.join(sorted(need - set(table.columns)))}"
        )
    runs = (
        pd.read_csv(directory / "runs.csv")
        if (directory / "runs.csv").is_file()
        else pd.DataFrame()
    )
    scenarios = list(dict.fromkeys(table["scenario"]))
    reference = scenarios[0]
    reps = int(table["n"].max()) if "n" in table else 0
    what_was_run(
        rep,
        directory,
        seeds=runs["seed"].tolist() if "seed" in runs else [],
        extra=[
            ("scenarios", ", ".join(scenarios) + f" (reference: {reference})"),
            ("replicates per scenario", str(reps)),
            ("pairing", "common random numbers: replicate i uses the same seed in every scenario"),
        ],
    )
    try:
        from experiments.scenarios import scenario_library

        lib = scenario_library()
        rep.table(
            pd.DataFrame(
                [(s, lib.get(s, "")) for s in scenarios], columns=["scenario", "description"]
            ),
            left=("scenario", "description"),
        )
    except Exception:  # the library may have changed: descriptions are optional
        pass

    rep.h2("Main findings")
    rep.bullets(comparison_findings(table), "findings")
    rep.p(
        f"Differences are paired by seed (scenario − {reference}, replicate by replicate); percentages "
        f"are relative to {reference}'s mean; 'distinguishable from noise' means the 95% interval of the "
        "paired difference excludes zero.",
        "meta",
    )

    rep.h2("Results")
    rep.h3("Paired differences from the reference")
    kpis = [k for k in dict.fromkeys(table["kpi"]) if k not in SHOCK_KPIS]
    head = [k for k in HEADLINE if k in kpis] or kpis
    rep.try_figure(
        lambda: forest_plot(
            table,
            reference,
            kpis=head,
            ncols=3,
            title=f"Scenario − {reference}, paired by seed (95% CI)",
        ),
        "forest_headline",
        f"Paired differences of the headline KPIs from {reference} with 95% "
        "confidence intervals over replicates (red: distinguishable from noise).",
    )
    rest = [k for k in kpis if k not in head]
    if rest:
        rep.try_figure(
            lambda: forest_plot(table, reference, kpis=rest, ncols=4),
            "forest_other",
            f"Paired differences of the other KPIs from {reference}.",
        )
    rep.h3("Table")
    show = table.copy()
    show["mean [95% CI]"] = [
        f"{fmt(_num(m))} [{fmt(_num(a))}, {fmt(_num(b))}]"
        for m, a, b in zip(
            show["mean"],
            show.get("ci_low", show["mean"]),
            show.get("ci_high", show["mean"]),
            strict=True,
        )
    ]
    show["diff [95% CI]"] = [
        ("(reference)" if s == reference else f"{fmt(_num(d))} [{fmt(_num(a))}, {fmt(_num(b))}]")
        for s, d, a, b in zip(
            show["scenario"], show["diff"], show["diff_ci_low"], show["diff_ci_high"], strict=True
        )
    ]
    show["distinguishable"] = [
        ("" if s == reference else ("yes" if _bool(v) else "no"))
        for s, v in zip(show["scenario"], show.get("distinguishable", False), strict=True)
    ]
    cols = ["kpi", "unit", "scenario", "n", "mean [95% CI]", "diff [95% CI]", "distinguishable"]
    cols = [c for c in cols if c in show]
    headtab = show[show["kpi"].isin(head)]
    rep.table(headtab[cols], left=("kpi", "unit", "scenario"))
    rep.table(
        show[cols], left=("kpi", "unit", "scenario"), collapsed=f"All {show['kpi'].nunique()} KPIs"
    )
    data = _comparison_timeseries(directory, runs) if len(runs) else None
    if data is not None:
        rep.h3("Time series across replicates")
        rep.try_figure(
            lambda: plots.kpi_bands(data, group="scenario"),
            "kpi_bands",
            "Weekly KPIs per scenario: mean over replicates (line), 95% CI of the mean (dark band) "
            "and the central 90% of the replicates (light band).",
        )
        for s in scenarios:
            shocks = _scenario_shocks(directory, s)
            if not shocks:
                continue
            mean_ts = (
                data[data["scenario"] == s].groupby("step", as_index=False).mean(numeric_only=True)
            )
            rep.try_figure(
                lambda m=mean_ts, sh=shocks, s=s: plots.nps_measured_vs_true(
                    m, sh, title=f"True vs measured NPS, scenario {s} (mean of replicates)"
                ),
                f"nps_{s}",
                f"Scenario {s}: true and measured NPS (means over replicates), shocks shaded; "
                "ticks mark weeks in which at least one replicate's firm raised an alarm.",
            )
    else:
        rep.p(
            "The run store holds no weekly time series for these runs: time-series figures are left out.",
            "note",
        )


# --------------------------------------------------------------------------------------------
# Sensitivity study
# --------------------------------------------------------------------------------------------
def sensitivity_findings(
    indices: pd.DataFrame, noise: pd.DataFrame | None = None, outputs: Sequence[str] | None = None
) -> list[str]:
    out = []
    outputs = outputs or _order_outputs(indices["output"].unique())
    per_factor = factor_rows(indices)
    per_group = factor_rows(indices, "group") if "level" in indices.columns else indices.iloc[:0]
    for o in outputs:
        d = per_factor[per_factor["output"] == o]
        groups = per_group[per_group["output"] == o]
        present = set(d["index"])
        name = kpi_label(o)
        if not present and groups.empty:
            continue
        if "S1" in present:
            s1 = d[d["index"] == "S1"].sort_values("value", ascending=False)
            shown = s1.iloc[:2]
            parts = [f"{factor_label(r['factor'])} {_pct_pm(r)}" for _, r in shown.iterrows()]
            top = shown.iloc[0]
            txt = f"{factor_label(top['factor'])} explains {_pct_pm(top)} of the variance of {name}"
            if len(shown) > 1:
                txt += f", {parts[1]}"
            total = float(s1["value"].clip(lower=0).sum())
            if total > 1.05:
                txt += "; the first-order indices sum to more than 100%, an estimation artefact"
            elif total < 0.9:
                txt += (
                    f"; first-order effects together explain {100 * total:.0f}%, the remaining "
                    f"{100 * (1 - total):.0f}% comes from interactions between factors"
                    + (" and replicate noise" if noise is not None else "")
                )
            else:
                txt += f"; first-order effects together explain {100 * total:.0f}%: the factors act almost additively"
            if any(_unreliable(r) for _, r in shown.iterrows()) or total > 1.05:
                txt += (
                    " (these estimates are unreliable: intervals as wide as the values or values outside "
                    "0–100%; more samples are needed)"
                )
            out.append(txt + ".")
        if "ST" in present:
            st = d[d["index"] == "ST"].sort_values("value", ascending=False)
            idle = [
                factor_label(r["factor"])
                for _, r in st.iterrows()
                if _num(r["value"])
                - (_num(r.get("conf")) if math.isfinite(_num(r.get("conf"))) else 0)
                <= 0.01
            ]
            top = st.iloc[0]
            txt = (
                f"Including interactions, {factor_label(top['factor'])} accounts for "
                f"{_pct_pm(top)} of the variance of {name} (total index ST)"
            )
            if idle:
                txt += "; no detectable total effect (the ST interval reaches 0): " + ", ".join(
                    idle
                )
            if _unreliable(top):
                txt += " (unreliable estimate: more samples are needed)"
            out.append(txt + ".")
        if "mu_star" in present and "S1" not in present:
            mu = d[d["index"] == "mu_star"].sort_values("value", ascending=False)
            top = mu.iloc[0]
            sig = d[(d["index"] == "sigma") & (d["factor"] == top["factor"])]["value"]
            txt = (
                f"{factor_label(top['factor'])} has the largest elementary effects on {name} "
                f"(mu* = {fmt(_num(top['value']))}"
            )
            if len(sig):
                ratio = _num(sig.iloc[0]) / _num(top["value"]) if _num(top["value"]) else math.nan
                txt += f", sigma/mu* = {fmt(ratio, 2)}"
                txt += (
                    "; a ratio above 0.5 suggests non-linear or interacting effects)"
                    if ratio > 0.5
                    else "; a ratio below 0.5 suggests a nearly linear, additive effect)"
                )
            else:
                txt += ")"
            out.append(txt + ".")
        out.extend(_group_findings(groups, name))
    if noise is not None and len(noise):
        out.extend(_noise_findings(noise))
    return out


def _group_findings(groups: pd.DataFrame, name: str) -> list[str]:
    """One line per output on the closed indices of the factor groups (level "group")."""
    st = groups[groups["index"] == "ST"].sort_values("value", ascending=False)
    s1 = groups[groups["index"] == "S1"].set_index("factor")
    if st.empty:
        return []
    parts = []
    for _, r in st.iterrows():
        part = f"the {r['factor']} group {_pct_pm(r)} in total"
        if r["factor"] in s1.index:
            part += f" ({_pct_pm(s1.loc[r['factor']])} on its own)"
        parts.append(part)
    txt = f"By group, the variance of {name} is explained by " + "; ".join(parts)
    if any(_unreliable(r) for _, r in groups[groups["index"].isin(["S1", "ST"])].iterrows()):
        txt += " (unreliable estimates: intervals as wide as the values or values outside 0–100%; more samples are needed)"
    return [txt + "."]


def _pct_pm(row: Mapping[str, Any]) -> str:
    """'41% (±6%)' from an index row (value, conf as shares)."""
    v, c = _num(row["value"]), _num(row.get("conf"))
    return f"{100 * v:.0f}%" + (f" (±{100 * c:.0f}%)" if math.isfinite(c) else "")


def _unreliable(row: Mapping[str, Any]) -> bool:
    v, c = _num(row["value"]), _num(row.get("conf"))
    return (math.isfinite(c) and c >= max(abs(v), 0.05)) or v > 1.05 or v < -0.05


def _noise_findings(noise: pd.DataFrame) -> list[str]:
    """Lines about replicate noise from ``noise_share.csv`` (column names are read loosely:
    an output column and a share column)."""
    cols = {c.lower(): c for c in noise.columns}
    oc = cols.get("output") or cols.get("kpi")
    sc = next((cols[c] for c in ("noise_share", "share", "value") if c in cols), None)
    if oc is None or sc is None:
        return []
    out = []
    for o, v in zip(noise[oc], noise[sc], strict=True):
        v = _num(v)
        if math.isfinite(v):
            out.append(
                f"Replicate noise (different seeds at the same factor values) of {kpi_label(str(o))} has "
                f"{100 * v:.0f}% of the variance of its replicate-averaged values across the sample"
                + ("; the indices of this output are dominated by noise." if v > 0.5 else ".")
            )
    return out


def _order_outputs(outputs: Iterable[str]) -> list[str]:
    outputs = list(dict.fromkeys(outputs))
    return [o for o in HEADLINE if o in outputs] + [o for o in outputs if o not in HEADLINE]


SAMPLE_FILES = ("samples.csv", "sample.csv", "runs.csv", "sample_outputs.csv")


def sample_table(directory: Path, factors: Sequence[str]) -> pd.DataFrame | None:
    """One row per model run of a sensitivity study with the factor values and KPIs: a CSV
    file in the directory, or the run store's KPI table when it labels runs by factor."""
    for name in SAMPLE_FILES:
        p = directory / name
        if p.is_file():
            df = pd.read_csv(p)
            if set(factors) <= set(df.columns):
                return df
    if (directory / "store" / "manifest.json").is_file():
        try:
            from experiments.store import RunStore

            df = RunStore(directory / "store").kpis()
        except (ValueError, OSError):
            return None
        if len(df) and set(factors) <= set(df.columns):
            return df
    return None


def discovery_section(
    rep: Report,
    table: pd.DataFrame,
    inputs: Sequence[str],
    target: str,
    constants: Mapping[str, float],
    labels: Mapping[str, str],
) -> list[str]:
    """PRIM on ``table`` (inputs → target); adds the figures, returns finding lines."""
    from analysis.discovery import box_figure, describe_box, prim, tradeoff_figure
    from analysis.whatif import evaluate_target

    try:
        met = evaluate_target(table, target, constants)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if not 0 < int(met.sum()) < len(met):
        return [
            f"The target '{target}' is met in {int(met.sum())} of {len(met)} runs: nothing to discover."
        ]
    n = len(table)
    res = prim(
        table[list(inputs)], met.to_numpy(), min_mass=max(0.05, min(0.2, 20 / n)), max_qp=0.05
    )
    found = describe_box(res.box, dict(labels))
    rep.h3("Scenario discovery")
    rep.figure(
        box_figure(res, labels=dict(labels)),
        "prim_box",
        f"PRIM box for the target '{target}': the input ranges in which it is most likely (blue) within "
        "the sampled ranges (grey); qp: quasi-p-value of each restriction.",
    )
    rep.figure(
        tradeoff_figure(res),
        "prim_tradeoff",
        "Coverage vs density of the boxes on PRIM's peeling trajectory.",
    )
    if res.box.restricted.empty:
        return [
            f"Scenario discovery (PRIM): no range of the inputs makes the target '{target}' "
            f"significantly more likely than its base rate ({100 * res.base_rate:.0f}% of runs)."
        ]
    if res.box.density >= 0.7:
        return [
            f"Scenario discovery (PRIM): the target '{target}' is likely when {found}; across all runs it "
            f"is met in {100 * res.base_rate:.0f}% of them."
        ]
    return [
        f"Scenario discovery (PRIM) finds no sharp region for the target '{target}': the densest box is "
        f"{found}, against {100 * res.base_rate:.0f}% of all runs meeting the target."
    ]


def factor_rows(indices: pd.DataFrame, level: str = "factor") -> pd.DataFrame:
    """Per-factor (or per-group) rows of an indices table: ``level`` column when it says
    factor/group, S2 pairs left out."""
    d = indices[indices["factor"].notna() & (indices["index"] != "S2")]
    if "level" in d and d["level"].astype(str).isin(["factor", "group"]).any():
        d = d[d["level"].astype(str) == level]
    return d


def _study_info(directory: Path) -> dict:
    try:
        return json.loads((directory / "study.json").read_text())
    except (OSError, ValueError):
        return {}


def report_sensitivity(
    rep: Report, directory: Path, *, outcome: str | None = None, target: str | None = None
) -> None:
    indices = pd.read_csv(directory / "indices.csv")
    need = {"output", "factor", "index", "value"}
    if not need <= set(indices.columns):
        raise ReportError(
            f"indices.csv lacks the columns {', '.join(sorted(need - set(indices.columns)))}"
        )
    noise = _read_csv(directory / "noise_share.csv")
    if (
        noise is not None
        and not pd.to_numeric(noise.get("noise_share"), errors="coerce").notna().any()
    ):
        noise_note = "Replicate noise was not measured (one replicate per sample row)."
    else:
        noise_note = None
    conv = _read_csv(directory / "convergence.csv")
    per_factor = factor_rows(indices)
    factors = list(dict.fromkeys(per_factor["factor"]))
    outputs = _order_outputs(per_factor["output"].unique())
    labels = {f: factor_label(f) for f in factors}
    study = _study_info(directory)
    decl = study.get("declaration") or {}
    present = set(indices["index"])
    if "method" in indices and indices["method"].notna().any():
        method = str(indices["method"].dropna().iloc[0])
    else:
        method = "sobol" if {"S1", "ST"} & present else ("morris" if "mu_star" in present else "?")
    sample = sample_table(directory, factors)
    extra = [
        ("method", method),
        ("factors", ", ".join(f"{labels[f]} ({f})" if labels[f] != f else f for f in factors)),
        ("outputs", ", ".join(outputs)),
    ]
    n = int(indices["n"].max()) if "n" in indices and indices["n"].notna().any() else None
    if n:
        extra.append(("base sample size N", f"{study.get('base_n', n):,}"))
    if decl.get("replicates") is not None:
        extra.append(("replicates per sample row", str(decl["replicates"])))
    if sample is not None:
        extra.append(("model runs", f"{len(sample):,}"))
    cl = next((c for c in ("conf_level", "confidence_level") if c in indices), None)
    if cl and indices[cl].notna().any():
        v = _num(indices[cl].dropna().iloc[0])
        extra.append(
            (
                "'conf' is the half-width of the",
                f"{v:.0%} interval" if v < 1 else f"{v:g}% interval",
            )
        )
    if study.get("crn") is not None:
        extra.append(("common random numbers", "on" if study["crn"] else "off"))
    seeds = sample["seed"].tolist() if sample is not None and "seed" in sample else []
    what_was_run(rep, directory, seeds=seeds, extra=extra)
    if (directory / "summary.md").is_file():
        rep.pre((directory / "summary.md").read_text(), "summary.md written by cxsim sensitivity")

    if outcome is not None and outcome not in BY_NAME:
        raise ReportError(f"invalid --outcome {outcome!r}: allowed a KPI name")
    outcome = outcome or (outputs[0] if outputs and outputs[0] in BY_NAME else None)
    discovery: list[str] = []
    later: list[Callable[[], list[str]]] = []
    if sample is not None and outcome in sample.columns:
        if target is None:
            q = float(sample[outcome].quantile(0.75))
            target = f"{outcome} >= {q:.6g}"
            note = f" (default: the top quarter of runs by {kpi_label(outcome)})"
        else:
            note = ""
        later.append(lambda: discovery_section(rep, sample, factors, target, {}, labels))
        discovery.append(f"Target for scenario discovery: '{target}'{note}.")
    elif target is not None:
        raise ReportError(
            "--target needs the per-run sample of the study (samples.csv), which this directory lacks"
        )

    rep.h2("Main findings")
    findings = sensitivity_findings(indices, None if noise_note else noise, outputs)
    if noise_note:
        findings.append(noise_note)
    rep.parts.append("")  # filled below, once scenario discovery has run
    findings_at = len(rep.parts) - 1

    rep.h2("Results")
    sp = _sensitivity_plots()
    for o in outputs[:MAX_FIGURE_OUTPUTS]:
        rep.try_figure(
            lambda o=o: (
                sp.indices_plot(indices, o, labels=labels)
                if sp
                else _own_indices_plot(per_factor, o, labels)
            ),
            f"indices_{o}",
            f"Sensitivity indices of {kpi_label(o)} with their confidence intervals (± conf).",
        )
        if sp and "S2" in present:
            rep.try_figure(
                lambda o=o: sp.s2_heatmap(indices, o, labels=labels),
                f"s2_{o}",
                f"Second-order (pairwise interaction) Sobol indices S2 of {kpi_label(o)}.",
            )
        if sp and {"mu_star", "sigma"} <= present:
            rep.try_figure(
                lambda o=o: sp.morris_plot(indices, o, labels=labels),
                f"morris_{o}",
                f"Morris screening of {kpi_label(o)}: mean absolute effect vs its spread.",
            )
    if len(outputs) > MAX_FIGURE_OUTPUTS:
        rep.p(
            f"Figures are shown for the first {MAX_FIGURE_OUTPUTS} outputs; the table lists all of them.",
            "note",
        )
    if sp and conv is not None and len(conv):
        rep.try_figure(
            lambda: sp.convergence_plot(conv, labels=labels),
            "convergence",
            "Convergence: index estimates against the base sample size (they should settle and the "
            "bands narrow).",
        )
    rep.h3("Indices")
    show = indices.copy()
    for c in ("value", "conf"):
        if c in show:
            show[c] = show[c].map(lambda v: fmt(_num(v), 3))
    cols = [c for c in ("output", "factor", "index", "value", "conf", "n", "level") if c in show]
    rep.table(
        show[cols],
        left=("output", "factor", "index", "level"),
        collapsed=f"All {len(show)} index values",
    )
    if noise is not None:
        rep.h3("Replicate noise")
        rep.table(noise, left=tuple(noise.columns[:1]))
    for make in later:
        discovery += make()
    _replace_bullets(rep, findings_at, findings + discovery)


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _sensitivity_plots():
    """The sensitivity study's own figure module (``analysis.sensitivity_plots``), if present."""
    try:
        from analysis import sensitivity_plots
    except ImportError:
        return None
    return sensitivity_plots


def _own_indices_plot(indices: pd.DataFrame, output: str, labels: Mapping[str, str]):
    from analysis import plots

    return plots.sensitivity_indices(indices, output, factor_labels=labels)


def _replace_bullets(rep: Report, at: int, items: Sequence[str]) -> None:
    """Put a findings list at position ``at`` of the report's parts."""
    rep.parts[at] = (
        '<ul class="findings">' + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
    )


# --------------------------------------------------------------------------------------------
# Sweep
# --------------------------------------------------------------------------------------------
def swept_keys(sweep: pd.DataFrame) -> list[str]:
    """The swept parameters: columns that are neither labels nor KPIs."""
    return [c for c in sweep.columns if c not in SWEEP_LABELS and c not in BY_NAME]


def report_sweep(
    rep: Report, directory: Path, *, outcome: str | None = None, target: str | None = None
) -> None:
    from analysis import plots
    from analysis.whatif import evaluate_target, lever_grid, whatif_map

    sweep = pd.read_csv(directory / "sweep.csv")
    levers = swept_keys(sweep)
    kpis = [c for c in sweep.columns if c in BY_NAME]
    if not levers or not kpis:
        raise ReportError("sweep.csv has no swept parameter or no KPI column")
    if outcome is None:
        outcome = next((k for k in HEADLINE if k in kpis), kpis[0])
    elif outcome not in kpis:
        raise ReportError(f"invalid --outcome {outcome!r}: allowed one of {', '.join(kpis)}")
    numeric = [c for c in levers if pd.api.types.is_numeric_dtype(sweep[c])]
    reps = int(sweep.groupby(levers).size().max())
    what_was_run(
        rep,
        directory,
        seeds=sweep["seed"].tolist() if "seed" in sweep else [],
        extra=[
            (
                "swept parameters",
                "; ".join(
                    f"{factor_label(k)} ({k}): " + ", ".join(map(str, sorted(sweep[k].unique())))
                    for k in levers
                ),
            ),
            (
                "grid points × replicates",
                f"{sweep.groupby(levers).ngroups} × {reps} = {len(sweep)} runs",
            ),
            ("outcome shown", kpi_label(outcome)),
        ],
    )
    labels = {k: f"{factor_label(k)} ({k})" if factor_label(k) != k else k for k in levers}
    default_target = target is None
    target = target or f"{outcome} >= base_{outcome}"
    grid = None
    try:
        if len(numeric) == 2:
            grid = lever_grid(sweep, numeric[0], numeric[1], outcome, target)
            met = evaluate_target(sweep, target, grid.base)
        else:
            from analysis.whatif import default_value

            base = sweep.copy()
            for k in numeric:
                dv = default_value(k)
                vals = np.sort(base[k].unique())
                pick = vals[np.abs(vals - dv).argmin()] if dv is not None else vals[len(vals) // 2]
                base = base[base[k] == pick]
            consts = {f"base_{c}": float(base[c].mean()) for c in kpis} if len(base) else {}
            met = evaluate_target(sweep, target, consts)
    except ValueError as exc:
        raise ReportError(str(exc)) from None

    rep.h2("Main findings")
    findings = sweep_findings(sweep, levers, outcome, target, met, labels, default_target)
    rep.parts.append("")  # filled below, once scenario discovery has run
    findings_at = len(rep.parts) - 1

    rep.h2("Results")
    if grid is not None:
        rep.h3("What-if map")
        rep.figure(
            whatif_map(grid, labels=labels),
            "whatif_map",
            f"Mean {kpi_label(outcome)} over the two levers; red outline: the cells where the target "
            f"({target}) is met in at least half of the replicates; dashed white: the baseline cell "
            "(the model's default values, or the nearest grid point).",
        )
        if outcome != "nps" and "nps" in kpis:
            rep.figure(
                whatif_map(lever_grid(sweep, numeric[0], numeric[1], "nps", target), labels=labels),
                "whatif_map_nps",
                f"Mean NPS over the two levers, same target region ({target}).",
            )
    rep.h3("Main effects")
    rep.try_figure(
        lambda: plots.sweep_main_effects(sweep, levers, outcome, labels=labels),
        "main_effects",
        f"Mean {kpi_label(outcome)} (95% CI over runs) at each value of each swept parameter, averaged "
        "over the other parameters.",
    )
    if 0 < int(met.sum()) < len(met) and numeric:
        consts = grid.base if grid is not None else consts
        findings += discovery_section(rep, sweep, numeric, target, consts, labels)
    _replace_bullets(rep, findings_at, findings)
    rep.h3("Grid points")
    g = sweep.assign(_met=met.astype(float).to_numpy()).groupby(levers, sort=True)
    from analysis.stats import mean_ci

    rows = []
    for key, d in g:
        key = key if isinstance(key, tuple) else (key,)
        ci = mean_ci(d[outcome])
        rows.append(
            (
                *key,
                len(d),
                f"{fmt(ci.mean)} [{fmt(ci.low)}, {fmt(ci.high)}]",
                f"{100 * d['_met'].mean():.0f}%",
            )
        )
    rep.table(
        pd.DataFrame(rows, columns=[*levers, "runs", f"{outcome} mean [95% CI]", "target met"])
    )


def sweep_findings(
    sweep: pd.DataFrame,
    levers: Sequence[str],
    outcome: str,
    target: str,
    met: pd.Series,
    labels: Mapping[str, str],
    default_target: bool,
) -> list[str]:
    from analysis.stats import mean_ci

    out = []
    g = sweep.assign(_met=met.astype(float).to_numpy()).groupby(list(levers), sort=True)
    stats_ = g.agg(mean=(outcome, "mean"), share=("_met", "mean"))
    best_key = stats_["mean"].idxmax()
    best_key = best_key if isinstance(best_key, tuple) else (best_key,)
    best = g.get_group(best_key if len(best_key) > 1 else best_key[0])
    ci = mean_ci(best[outcome])
    where = ", ".join(f"{labels.get(k, k)} = {v}" for k, v in zip(levers, best_key, strict=True))
    out.append(
        f"The highest mean {kpi_label(outcome)} is {fmt(ci.mean)} (95% CI {_range(ci.low, ci.high)}, "
        f"{len(best)} runs) at {where}."
    )
    worst = stats_["mean"].idxmin()
    worst = worst if isinstance(worst, tuple) else (worst,)
    out.append(
        f"The lowest is {fmt(float(stats_['mean'].min()))} at "
        + ", ".join(f"{labels.get(k, k)} = {v}" for k, v in zip(levers, worst, strict=True))
        + "."
    )
    n_ok = int((stats_["share"] >= 0.5).sum())
    tgt = f"the target '{target}'" + (
        " (default: at least the baseline cell's mean)" if default_target else ""
    )
    out.append(
        f"{_capital(tgt)} is met in at least half of the replicates at {n_ok} of {len(stats_)} grid points."
    )
    return out


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------
TITLES = {
    "run": "Single run",
    "comparison": "Scenario comparison",
    "sweep": "Parameter sweep",
    "sensitivity": "Sensitivity study",
}


def build_report(
    directory: str | Path,
    *,
    simulate: bool = True,
    outcome: str | None = None,
    target: str | None = None,
) -> Path:
    """Write ``report.html`` and ``figures/`` into ``directory``; returns the report's path.

    Raises :class:`ReportError` for a missing directory or one without recognisable results.
    """
    import matplotlib

    matplotlib.use("Agg")
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"no such directory: {directory}")
    kind = detect_kind(d)
    if kind is None:
        raise ReportError(
            f"{directory} has no recognisable results: expected timeseries.parquet + kpis.json "
            "(cxsim run), comparison.csv (compare), indices.csv (sensitivity) or sweep.csv (sweep)"
        )
    if (outcome or target) and kind not in ("sweep", "sensitivity"):
        raise ReportError("--outcome and --target apply to sweep and sensitivity results only")
    fig_dir = d / "figures"
    if fig_dir.is_dir():  # figures of an earlier report
        for p in [*fig_dir.glob("[0-9][0-9]_*.png"), *fig_dir.glob("[0-9][0-9]_*.svg")]:
            p.unlink()
    rep = Report(d, f"cxsim report: {TITLES[kind].lower()} '{d.name}'", kind)
    if kind == "run":
        report_run(rep, d, simulate=simulate)
    elif kind == "comparison":
        report_comparison(rep, d)
    elif kind == "sensitivity":
        report_sensitivity(rep, d, outcome=outcome, target=target)
    else:
        report_sweep(rep, d, outcome=outcome, target=target)
    return rep.write()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise ReportError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cxsim report",
        description="Build a self-contained HTML report of a results directory.",
    )
    p.add_argument("directory", help="results of cxsim run, compare, sweep or sensitivity")
    p.add_argument(
        "--no-simulate",
        action="store_true",
        help="single run: do not re-simulate for state distributions, flows and the journey map",
    )
    p.add_argument(
        "--outcome", help="sweep: the KPI of the what-if map (default cumulative_profit)"
    )
    p.add_argument(
        "--target",
        help="sweep: target condition, e.g. 'nps >= 30 and cumulative_profit >= "
        "base_cumulative_profit' (base_<kpi>: mean at the baseline cell)",
    )
    return p


def cli(args: Sequence[str]) -> int:
    """``cxsim report <dir> [--outcome KPI] [--target EXPR] [--no-simulate]``; exit code 2 with a
    one-line error for a bad directory or argument."""
    args = list(args)
    if any(a in ("-h", "--help") for a in args):
        _parser().print_help()
        return 0
    try:
        ns = _parser().parse_args(args)
        path = build_report(
            ns.directory, simulate=not ns.no_simulate, outcome=ns.outcome, target=ns.target
        )
    except ReportError as exc:
        print(f"cxsim report: error: {exc}", file=sys.stderr)
        return 2
    n = len(list((path.parent / "figures").glob("[0-9][0-9]_*.png")))
    print(
        f"cxsim report: wrote {path} ({n} figures, also as PNG and SVG in {path.parent / 'figures'})"
    )
    return 0


def main() -> None:  # pragma: no cover - python -m analysis.report
    sys.exit(cli(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()
