"""Reading a firm's transaction log (and an optional weekly KPI series) with one-line errors.

A transaction log is a CSV (optionally gzip-compressed) or Parquet file with the columns
``customer_id``, ``date`` and ``amount`` (``channel`` and ``units`` are optional; other
columns are ignored). Every malformed case is a :class:`DataError`, a ``ValueError`` whose
message is one line naming the file, the row (1-based, the header not counted) and what is
allowed: a missing file or column, an empty file, an unparsable date, a missing customer id, a
non-numeric, missing, infinite or negative amount.

Duplicate rows (the same customer, date, amount and channel) are handled by
``duplicates``: ``keep`` (the default: two identical orders on one day are plausible, and the
analysis counts a customer's purchases per day anyway, summing the day's amounts), ``drop``
(keep the first of each group) or ``error``. The number found is reported either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("customer_id", "date", "amount")
OPTIONAL = ("channel", "units")
DUPLICATES = ("keep", "drop", "error")
DATASETS = {"cdnow": "data/cdnow/cdnow_master.csv.gz"}  # bundled data sets, by name


class DataError(ValueError):
    """A malformed input file; the message is one line."""


@dataclass(frozen=True)
class TransactionLog:
    """The validated log: ``frame`` has customer_id (str), date (datetime64), amount (float)
    and channel (str, or None when absent); ``duplicates`` counts exact duplicate rows found,
    ``dropped`` those removed."""

    frame: pd.DataFrame
    source: str
    duplicates: int
    dropped: int


def dataset_path(name: str) -> Path:
    """The file of a bundled data set (``cdnow``)."""
    ref = resources.files("experiments.calibrate").joinpath(DATASETS[name])
    return Path(str(ref))


def resolve_source(source: str) -> Path:
    """A path, or the name of a bundled data set."""
    if source in DATASETS:
        return dataset_path(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(
            f"transaction log {source}: no such file (a CSV or Parquet file, or one of: "
            f"{', '.join(DATASETS)})"
        )
    if path.is_dir():
        raise DataError(f"transaction log {source}: is a directory, not a CSV or Parquet file")
    return path


def _read_table(path: Path, what: str) -> pd.DataFrame:
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} {path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise DataError(f"{what} {path}: cannot be read as CSV or Parquet ({detail})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{what} {path}: has a header but no rows")
    return df


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def read_transactions(source: str, duplicates: str = "keep") -> TransactionLog:
    """Read and validate a transaction log (a path or a bundled data set name)."""
    if duplicates not in DUPLICATES:
        raise DataError(
            f"invalid calibration.duplicates={duplicates!r}: allowed {', '.join(DUPLICATES)}"
        )
    path = resolve_source(source)
    what = "transaction log"
    df = _read_table(path, what)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} {path}: missing column {missing[0]!r} (needs {', '.join(REQUIRED)}; "
            f"found {', '.join(map(str, df.columns))})"
        )
    ids = df["customer_id"].astype(str).str.strip()
    blank = (ids == "").to_numpy() | df["customer_id"].isna().to_numpy()
    if blank.any():
        i = _first_bad(blank)
        raise DataError(f"{what} {path}: row {i + 1}: empty customer_id")
    raw_dates = df["date"].astype(str).str.strip()
    dates = pd.to_datetime(raw_dates, errors="coerce", format="mixed")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = _first_bad(bad)
        raise DataError(
            f"{what} {path}: row {i + 1}: unparsable date {raw_dates.iloc[i]!r} "
            "(allowed e.g. 1997-01-31 or 19970131)"
        )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    raw_amount = df["amount"]
    amount = pd.to_numeric(raw_amount, errors="coerce").astype(float)
    bad = ~np.isfinite(amount.to_numpy())
    if bad.any():
        i = _first_bad(bad)
        raise DataError(
            f"{what} {path}: row {i + 1}: amount {raw_amount.iloc[i]!r} is not a finite number"
        )
    neg = (amount < 0).to_numpy()
    if neg.any():
        i = _first_bad(neg)
        raise DataError(
            f"{what} {path}: row {i + 1}: negative amount {amount.iloc[i]} (refunds are not "
            "transactions: net them out of the original purchase or drop them)"
        )
    out = pd.DataFrame({"customer_id": ids, "date": dates.dt.normalize(), "amount": amount})
    out["channel"] = df["channel"].astype(str).str.strip() if "channel" in df.columns else None
    dup = out.duplicated(keep="first").to_numpy()
    n_dup = int(dup.sum())
    dropped = 0
    if n_dup and duplicates == "error":
        i = _first_bad(dup)
        raise DataError(
            f"{what} {path}: row {i + 1} duplicates an earlier row ({n_dup} duplicate rows; "
            "set calibration.duplicates=keep or drop)"
        )
    if n_dup and duplicates == "drop":
        out = out[~dup]
        dropped = n_dup
    return TransactionLog(out.reset_index(drop=True), str(path), n_dup, dropped)


def read_kpis(source: str, names: tuple[str, ...]) -> pd.DataFrame:
    """A weekly KPI series: a ``week`` column (1 = the log's first week) and one column per KPI
    whose name is a weekly model KPI (``cxsim kpis``: nps, csat, churn_rate, ...). Empty cells
    are missing weeks."""
    path = Path(source).expanduser()
    what = "KPI series"
    if not path.is_file():
        raise DataError(f"{what} {source}: no such file (a CSV or Parquet file)")
    df = _read_table(path, what)
    if "week" not in df.columns:
        raise DataError(f"{what} {path}: missing column 'week'")
    kpis = [c for c in df.columns if c != "week"]
    if not kpis:
        raise DataError(f"{what} {path}: no KPI column besides 'week'")
    unknown = [c for c in kpis if c not in names]
    if unknown:
        raise DataError(
            f"{what} {path}: unknown KPI column {unknown[0]!r} (allowed weekly KPIs: "
            f"{', '.join(names)})"
        )
    week = pd.to_numeric(df["week"], errors="coerce")
    bad = (week.isna() | (week < 1) | (week % 1 != 0)).to_numpy()
    if bad.any():
        i = _first_bad(bad)
        raise DataError(
            f"{what} {path}: row {i + 1}: week {df['week'].iloc[i]!r} is not an integer >= 1"
        )
    out = pd.DataFrame({"week": week.astype(int)})
    for c in kpis:
        col = df[c].replace("", np.nan)
        values = pd.to_numeric(col, errors="coerce")
        bad = (values.isna() & col.notna()).to_numpy()
        if bad.any():
            i = _first_bad(bad)
            raise DataError(f"{what} {path}: row {i + 1}: {c} {df[c].iloc[i]!r} is not a number")
        out[c] = values.astype(float)
    if out["week"].duplicated().any():
        i = _first_bad(out["week"].duplicated().to_numpy())
        raise DataError(f"{what} {path}: row {i + 1}: week {out['week'].iloc[i]} appears twice")
    return out.sort_values("week").reset_index(drop=True)
