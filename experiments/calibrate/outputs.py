"""The files of a calibration in its run directory.

- ``posterior.csv``: the final ABC population (parameters, weight);
- ``populations.csv``: every generation's tolerance, simulations and acceptance rate;
- ``posterior.json`` / ``posterior.md``: per parameter the weighted mean, sd and 90% credible
  interval (5%–95% weighted quantiles), and the weighted correlations;
- ``predictive.csv``: per week the observed repeat transactions, the simulator's mean and 90%
  band (weekly and cumulative) and BG/NBD's expectation;
- ``forecast.json``: the holdout forecast of the simulator and of BG/NBD, their errors;
- ``calibrated.yaml``: the model overrides of the calibrated firm (``calibration=DIR`` in every
  other command);
- ``tracking.png`` (weekly and cumulative tracking, calibration and holdout shaded) and
  ``posterior.png`` (marginals);
- ``calibration.json``: everything the report reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.io import write_bytes_atomic, write_text_atomic

CALIBRATED = "calibrated.yaml"
SUMMARY = "calibration.json"


def _yaml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def calibrated_yaml(overrides: Mapping[str, Any], header: list[str]) -> str:
    lines = [f"# {h}" for h in header]
    lines.append("overrides:")
    for k, v in overrides.items():
        lines.append(f"  {k}: {_yaml_value(v)}")
    return "\n".join(lines) + "\n"


def posterior_markdown(summary: Mapping[str, Any], names: tuple[str, ...]) -> str:
    out = [
        "| parameter | mean | sd | 90% credible interval | median |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for n in names:
        s = summary["parameters"][n]
        out.append(
            f"| `{n}` | {s['mean']:.4g} | {s['sd']:.3g} | [{s['q05']:.4g}, {s['q95']:.4g}] | {s['q50']:.4g} |"
        )
    out += ["", "Posterior correlations:", "", "| | " + " | ".join(f"`{n}`" for n in names) + " |"]
    out.append("| --- |" + " ---: |" * len(names))
    for a in names:
        row = " | ".join(f"{summary['correlation'][a][b]:+.2f}" for b in names)
        out.append(f"| `{a}` | {row} |")
    return "\n".join(out) + "\n"


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def tracking_figure(weekly: pd.DataFrame, cum: pd.DataFrame, cal: int, title: str) -> bytes:
    return _png(tracking_fig(weekly, cum, cal, title))


def posterior_figure(post, names, summary, truth=None) -> bytes:
    return _png(posterior_fig(post, names, summary, truth))


def tracking_fig(weekly: pd.DataFrame, cum: pd.DataFrame, cal: int, title: str):
    """Weekly and cumulative repeat transactions: observed, the simulator's mean and 90% band,
    BG/NBD; calibration and holdout shaded."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, df, label in (
        (axes[0], weekly, "repeat transactions per week"),
        (axes[1], cum, "cumulative repeat transactions"),
    ):
        total = len(df)
        ax.axvspan(0.5, cal + 0.5, color="#dde8f3", alpha=0.6, lw=0, label="calibration")
        if total > cal:
            ax.axvspan(cal + 0.5, total + 0.5, color="#f6e3cf", alpha=0.6, lw=0, label="holdout")
        ax.fill_between(
            df["week"],
            df["lo"],
            df["hi"],
            color="#1f77b4",
            alpha=0.3,
            lw=0,
            label="simulator 90% band",
        )
        ax.plot(df["week"], df["mean"], color="#1f77b4", lw=1.5, label="simulator mean")
        ax.plot(df["week"], df["observed"], color="black", lw=1.2, label="observed")
        if "bgnbd" in df.columns:
            ax.plot(df["week"], df["bgnbd"], color="#d62728", lw=1.2, ls="--", label="BG/NBD")
        ax.set_xlabel("week")
        ax.set_ylabel(label)
        ax.set_xlim(0.5, total + 0.5)
    axes[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def posterior_fig(
    post: pd.DataFrame,
    names: tuple[str, ...],
    summary: Mapping[str, Any],
    truth: Mapping[str, float] | None = None,
):
    """Weighted marginal histograms: mean (solid), 90% interval (dotted), truth (red)."""
    import matplotlib.pyplot as plt

    k = len(names)
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 2.8), squeeze=False)
    w = post["weight"].to_numpy(dtype=float)
    for ax, n in zip(axes[0], names, strict=True):
        ax.hist(post[n].to_numpy(dtype=float), bins=20, weights=w, color="#1f77b4", alpha=0.7)
        s = summary["parameters"][n]
        ax.axvline(s["q05"], color="k", ls=":", lw=1)
        ax.axvline(s["q95"], color="k", ls=":", lw=1)
        ax.axvline(s["mean"], color="k", lw=1)
        if truth and n in truth:
            ax.axvline(truth[n], color="#d62728", lw=1.5)
        ax.set_title(n, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def write_all(out_dir: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = Path(out_dir) / name
        if isinstance(content, bytes):
            write_bytes_atomic(path, content)
        else:
            write_text_atomic(path, content)


def frame_csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format="%.6g")
