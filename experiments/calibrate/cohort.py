"""From a transaction log to the cohort the simulator is matched to.

Weeks are counted from the log's first day (week 1 = days 0–6, or from ``start``). The cohort
is every customer whose first purchase falls in the calibration window (customers first seen
later are new acquisitions and are left out, and counted). A customer's purchases are counted
per day (amounts of a day summed), as in customer-base analysis; a *repeat transaction* is a
purchase day after the first one.

The simulator has one purchase occasion per week, so the statistics it is matched on are
counted in *purchase weeks*: the weeks after the first-purchase week in which the customer
bought at least once (:class:`Purchases`). Repeat transactions are converted from purchase
weeks with the ratio transactions / purchase week measured on the calibration window
(``per_week``); repeat days inside the first-purchase week (which the simulator does not
simulate: the first week is given) are added as observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.calibrate.transactions import DataError, TransactionLog


@dataclass(frozen=True)
class Purchases:
    """Repeat purchase weeks of a cohort: customer index, week and spend of each (the same form
    for the data and for a simulated cohort), and every customer's acquisition week."""

    n: int
    acquisition: np.ndarray  # (n,) int, 1-based week of the first purchase
    customer: np.ndarray  # (m,) int
    week: np.ndarray  # (m,) int, > acquisition[customer]
    spend: np.ndarray  # (m,) float

    def weekly(self, weeks: int) -> np.ndarray:
        """Repeat purchase weeks in each week 1..weeks."""
        keep = self.week <= weeks
        return np.bincount(self.week[keep] - 1, minlength=weeks)[:weeks].astype(float)


@dataclass(frozen=True)
class Cohort:
    """The observed cohort, its calibration window and holdout."""

    purchases: Purchases
    calibration_weeks: int
    holdout_weeks: int
    start: pd.Timestamp
    acquisition_counts: np.ndarray  # customers won in each week 1..last acquisition week
    repeat_days_weekly: np.ndarray  # observed repeat transactions (days) per week 1..total
    first_week_repeats: np.ndarray  # of which inside the customer's first-purchase week
    per_week: float  # repeat transactions per purchase week, calibration window
    x: np.ndarray  # BG/NBD: repeat transactions in the calibration window, per customer
    t_x: np.ndarray  # weeks from first purchase to last repeat in the window (0 if none)
    T: np.ndarray  # weeks from first purchase to the end of the window
    holdout_actual: np.ndarray  # repeat transactions per customer in the holdout
    mean_spend: float  # mean spend per repeat purchase week, calibration window
    left_out: int  # customers first seen after the calibration window
    duplicates: int
    dropped: int
    source: str

    @property
    def n(self) -> int:
        return self.purchases.n

    @property
    def total_weeks(self) -> int:
        return self.calibration_weeks + self.holdout_weeks

    def repeat_transactions(self, first: int, last: int) -> float:
        """Observed repeat transactions in weeks first..last (1-based, inclusive)."""
        return float(self.repeat_days_weekly[first - 1 : last].sum())


def build_cohort(
    log: TransactionLog,
    calibration_weeks: int,
    holdout_weeks: int | None = None,
    start: str | None = None,
) -> Cohort:
    """The cohort of ``log`` with a calibration window of ``calibration_weeks`` weeks and a
    holdout of ``holdout_weeks`` (None: every later full week of the log; 0: none)."""
    df = log.frame
    origin = pd.Timestamp(start) if start else df["date"].min()
    days = (df["date"] - origin).dt.days.to_numpy()
    if (days < 0).any():
        raise DataError(
            f"transaction log {log.source}: purchases before calibration.start={origin.date()}"
        )
    last_full = int((days.max() + 1) // 7)
    if calibration_weeks < 2 or calibration_weeks > last_full:
        raise DataError(
            f"invalid calibration.calibration_weeks={calibration_weeks}: allowed 2..{last_full} "
            f"(the log covers {last_full} full weeks from {origin.date()})"
        )
    if holdout_weeks is None:
        holdout_weeks = last_full - calibration_weeks
    if holdout_weeks < 0 or calibration_weeks + holdout_weeks > last_full:
        raise DataError(
            f"invalid calibration.holdout_weeks={holdout_weeks}: allowed 0.."
            f"{last_full - calibration_weeks} (the log covers {last_full} full weeks)"
        )
    total = calibration_weeks + holdout_weeks
    day = pd.DataFrame({"c": df["customer_id"].to_numpy(), "d": days, "a": df["amount"]})
    day = day[day["d"] < 7 * total].groupby(["c", "d"], as_index=False, sort=True)["a"].sum()
    first = day.groupby("c")["d"].transform("min").to_numpy()
    in_cohort = first < 7 * calibration_weeks
    left_out = int(day.loc[~in_cohort, "c"].nunique())
    day = day[in_cohort].reset_index(drop=True)
    first = first[in_cohort]
    if day.empty:
        raise DataError(f"transaction log {log.source}: no purchase in the calibration window")
    codes, _ = pd.factorize(day["c"], sort=True)
    n = int(codes.max()) + 1
    d = day["d"].to_numpy()
    week = d // 7 + 1
    first_day = np.zeros(n, dtype=np.int64)
    first_day[codes] = first
    acq = first_day // 7 + 1
    repeat = d > first
    # purchase weeks after the first-purchase week
    wk = pd.DataFrame({"c": codes, "w": week, "a": day["a"].to_numpy()})
    wk = wk[wk["w"] > acq[wk["c"].to_numpy()]]
    wk = wk.groupby(["c", "w"], as_index=False, sort=True)["a"].sum()
    purchases = Purchases(
        n,
        acq.astype(np.int64),
        wk["c"].to_numpy(np.int64),
        wk["w"].to_numpy(np.int64),
        wk["a"].to_numpy(float),
    )
    repeat_days = np.bincount(week[repeat] - 1, minlength=total).astype(float)
    same_week = repeat & (week == acq[codes])
    first_week = np.bincount(week[same_week] - 1, minlength=total).astype(float)
    cal_weeks = purchases.week <= calibration_weeks
    n_pw = int(cal_weeks.sum())
    later_days = float(repeat_days[:calibration_weeks].sum() - first_week[:calibration_weeks].sum())
    per_week = later_days / n_pw if n_pw else 1.0
    # BG/NBD inputs, in weeks (days / 7), as Fader, Hardie & Lee (2005)
    end = 7 * calibration_weeks - 1  # the window's last day
    cal = repeat & (d <= end)
    x = np.bincount(codes[cal], minlength=n).astype(float)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, codes[cal], d[cal])
    t_x = np.where(x > 0, (last - first_day) / 7.0, 0.0)
    T = (end - first_day) / 7.0
    hold = repeat & (d > end)
    holdout_actual = np.bincount(codes[hold], minlength=n).astype(float)
    mean_spend = float(purchases.spend[cal_weeks].mean()) if n_pw else float("nan")
    counts = np.bincount(acq - 1, minlength=int(acq.max())).astype(float)
    return Cohort(
        purchases,
        calibration_weeks,
        holdout_weeks,
        origin,
        counts,
        repeat_days,
        first_week,
        per_week,
        x,
        t_x,
        T,
        holdout_actual,
        mean_spend,
        left_out,
        log.duplicates,
        log.dropped,
        log.source,
    )
