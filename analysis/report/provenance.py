"""Where results came from: the configuration, overrides and run-store manifest of a results
directory, the report's "What was run" section built from them, and the checked reading of
the result tables (an empty or unreadable file is a one-line :class:`ReportError`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.document import Report
from analysis.report.text import CU_MEANING, ReportError, num, window_from_cfg
from analysis.stats import fmt

RERUN = "rerun the command that made it with the same hydra.run.dir (finished runs are kept)"


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


def read_table(path: Path, *, rows: bool = True) -> pd.DataFrame:
    """A results CSV file; an empty, cut or unreadable file (or, with ``rows``, one holding
    only its header) is a one-line :class:`ReportError` naming the file."""
    try:
        table = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path.name} is empty: {RERUN}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        what = " ".join(str(exc).split()) or type(exc).__name__
        raise ReportError(f"{path.name} cannot be read ({what}): {RERUN}") from None
    except OSError as exc:
        raise ReportError(f"{path.name} cannot be read ({exc.strerror or exc}): {RERUN}") from None
    if rows and table.empty:
        raise ReportError(f"{path.name} holds no rows (only its header): {RERUN}")
    return table


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
    rep.h2("What was run")
    cfg, text = load_config(directory)
    manifest = load_manifest(directory)
    rows: list[tuple[str, str]] = [("kind of study", rep.kind)]
    rows += _config_rows(cfg, rep.kind)
    rows.extend(extra)
    rows += _meaning_rows(cfg)
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
        rows += _manifest_rows(manifest)
    if runtime_note:
        rows.append(("runtime", runtime_note))
    rows.append(("versions", _versions(manifest)))
    rep.table(pd.DataFrame(rows, columns=["item", "value"]), left=("item", "value"))
    if text:
        rep.pre(text, "Resolved configuration (click to expand)")
    else:
        rep.p("No configuration file was found in the directory.", "note")
    return cfg


def _config_rows(cfg: Mapping | None, kind: str) -> list[tuple[str, str]]:
    """Scenario, population, weeks and root seed of the configuration."""
    if cfg is None:
        return []
    rows = []
    scen = cfg.get("scenario") or {}
    if isinstance(scen, dict) and scen.get("name") and kind != "comparison":
        rows.append(("scenario", f"{scen['name']}: {scen.get('description', '')}".strip(": ")))
    pop = (cfg.get("population") or {}).get("n_customers")
    if pop is not None:
        rows.append(("customers", f"{int(pop):,}"))
    if "steps" in cfg:
        rows.append(("weeks simulated", str(cfg["steps"])))
    if "seed" in cfg:
        rows.append(("root seed", str(cfg["seed"])))
    return rows


def _meaning_rows(cfg: Mapping | None) -> list[tuple[str, str]]:
    """The weeks the run-level KPIs cover and the money unit, for every report."""
    rows = []
    w = window_from_cfg(cfg)
    if w is not None:
        rows.append(
            (
                "evaluation window of the run-level KPIs",
                f"weeks {w.first}–{w.last} of {w.steps} (evaluation.burn_in = {w.burn_in} weeks "
                "left out as start-up; cumulative profit, CLV and final_* are end-of-run values)",
            )
        )
    rows.append(("money unit: cu", CU_MEANING))
    return rows


def recovery_tolerance(cfg: Mapping | None) -> float | None:
    """``mechanism.recovery_tolerance`` of a configuration (None: not recorded)."""
    v = num(((cfg or {}).get("mechanism") or {}).get("recovery_tolerance"))
    return v if v == v else None


def _manifest_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Run counts, compute and wall-clock time and dates from the run store's manifest."""
    batches = manifest.get("batches") or []
    rows = [
        (
            "runs in the store",
            f"{manifest.get('n_done', '?')} finished, {manifest.get('n_failed', 0)} failed",
        ),
        ("compute time of the runs", f"{fmt(num(manifest.get('seconds_done')))} s (sum over runs)"),
    ]
    if batches:
        wall = sum(num(b.get("seconds")) for b in batches)
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
    return rows


def _versions(manifest: Mapping[str, Any] | None) -> str:
    """The versions the runs were made with (from the manifest), else this environment's."""
    from experiments.store import environment_versions

    if manifest is not None:
        versions = manifest.get("versions") or {}
        source = "recorded in the run store when the runs were made"
    else:
        versions = environment_versions()
        source = "of the environment that built this report (not recorded with the run)"
    vtxt = ", ".join(
        f"{k} {v}"
        for k, v in versions.items()
        if k in ("python", "numpy", "pandas", "mesa", "cxsim") and v
    )
    return f"{vtxt} ({source})"


def shocks_from_cfg(cfg: Mapping | None) -> list[dict]:
    """Scheduled shocks of a configuration (random-onset shocks cannot be placed)."""
    out = []
    shocks = (cfg or {}).get("shocks") or {}
    items = shocks.items() if isinstance(shocks, Mapping) else enumerate(shocks)
    for _, s in items:
        if isinstance(s, Mapping) and not num(s.get("random_rate", 0)) > 0 and "start" in s:
            out.append(
                {
                    "kind": s.get("kind", "shock"),
                    "start": int(s["start"]),
                    "end": int(s["start"]) + int(s.get("duration", 1)),
                }
            )
    return out
