"""Firm agents: the subject of management, with its policy, support, true quality and beliefs.

A firm owns the *true* quality of every touchpoint × channel (an asset that improvements
raise and neglect erodes), its own *estimate* of that quality (the journey map it builds from
its data), what it has measured (NPS, CSAT, complaints, social listening) and its ledger.
The rules that change these live in ``sim.mechanism`` (the seven stages) and
``CXModel._phase_economics``; this module only holds the state and the derived support effects.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim import support
from sim.journey import N_CHANNELS, N_TOUCHPOINTS
from sim.params import FirmParams, Params

LEDGER = ("revenue", "cogs", "cx_spend", "marketing", "support_cost", "profit", "units")


def mechanism_signals() -> int:
    """Number of signals the alarm watches (NPS, complaints, listening, one per channel)."""
    return 3 + N_CHANNELS


class Firm(mesa.Agent):
    """A firm in the market; ``k`` is its index (0 is the focal firm)."""

    def __init__(self, model, k: int, fp: FirmParams, params: Params, n_segments: int):
        super().__init__(model)
        self.k = k
        self.params = fp
        self.name = fp.name
        j, mech = params.journey, params.mechanism
        # --- true state -------------------------------------------------------------------
        tp = np.asarray(j.touchpoint_offset)[:, None]
        ch = np.asarray(j.channel_offset)[None, :]
        self.quality = np.clip(fp.base_quality + tp + ch, 0.0, 1.0)  # (T, C) improvable asset
        self.reputation = fp.initial_reputation
        self.price = fp.price
        self.advertising = fp.advertising
        # --- support effects (constant for a run) ------------------------------------------
        self.quality_mod = support.quality_modifier(fp, mech)
        self.failure = support.failure_rates(fp, j, mech)
        self.integration = support.integration(fp, mech)
        self.data_completeness = support.data_completeness(fp, mech)
        self.measurement = support.measurement(fp, mech)
        self.recovery = support.recovery(fp, mech)
        self.impl_lag, self.impl_efficiency = support.implementation(fp, mech)
        self.listen_delay = support.listening_delay(fp, mech)
        self.repair_time = support.repair_time(fp, mech)
        self.budget = support.improvement_budget(fp)
        self.support_cost_rate = support.support_cost(fp)
        # --- beliefs and measurement (stages 1-3, 5) ---------------------------------------
        self.knowledge = np.full(n_segments, 0.5)  # stage 1: knowledge of each segment's needs
        # a weak method rates some cells systematically too high or too low (stage 2 accuracy)
        z = model.streams.keyed("journey_map", k)
        self.map_bias = self.measurement.map_bias * z.standard_normal((N_TOUCHPOINTS, N_CHANNELS))
        self.estimate = np.full((N_TOUCHPOINTS, N_CHANNELS), float(self.quality.mean()))  # stage 2
        self.evidence = np.zeros((N_TOUCHPOINTS, N_CHANNELS))
        self.pending = np.zeros((mech.improvement_lag + 1, N_TOUCHPOINTS, N_CHANNELS))  # stage 4
        self.spend_multiplier = 1.0  # stage 5: multiplier of the budget (1 under the fixed rule)
        self.funds = (
            0.0  # investable balance: budget added since the last cycle, paid when invested
        )
        self.survey = np.zeros(4)  # EMA of (promoters, detractors, respondents, satisfied)
        self.measured_nps = np.nan
        self.measured_nps_se = np.nan  # sampling standard error of measured_nps (survey size)
        self.measured_csat = np.nan
        # detection (sim.mechanism.detect): per signal, running mean, variance and observations
        self.base_mean = np.full(mechanism_signals(), np.nan)
        self.base_var = np.zeros(mechanism_signals())
        self.base_n = np.zeros(mechanism_signals(), dtype=np.int64)
        self.signals_fired = np.zeros(mechanism_signals(), dtype=bool)
        self.listening = np.zeros(mech.listening_delay + 1)  # ring buffer of warnings posted
        self.analytics = np.zeros(
            (mech.listening_delay + 1, N_CHANNELS)
        )  # ring buffer of failure shares
        self.alarm = False
        self.alarm_steps: list[int] = []
        self.unanswered_alarm: int | None = None  # first alarm not yet answered by a cycle
        self.contacted = 0  # customers contacted by the last answer
        self.complaint_queue: list[
            tuple[int, np.ndarray, np.ndarray]
        ] = []  # (due week, customers, recovered?)
        self.outage_until = np.zeros(N_CHANNELS, dtype=np.int64)  # outage active while step < value
        self.outage_repair_at = np.full(N_CHANNELS, np.iinfo(np.int64).max)
        self.outage_level = np.zeros(N_CHANNELS)  # failure probability during an outage
        # --- ledger -------------------------------------------------------------------------
        self.ledger = dict.fromkeys(LEDGER, 0.0)
        self.cumulative_profit = 0.0
        self.customers = 0

    def effective_quality(self) -> np.ndarray:
        """True quality met by customers this week (asset + material/human support), (T, C)."""
        return np.clip(self.quality + self.quality_mod, 0.0, 1.0)

    def failure_now(self, step: int) -> np.ndarray:
        """Per-touchpoint failure probability of each channel this week (outages included)."""
        outage = step < np.minimum(self.outage_until, self.outage_repair_at)
        return np.where(outage, np.maximum(self.failure, self.outage_level), self.failure)

    def __repr__(self) -> str:
        return f"Firm({self.name!r}, k={self.k}, customers={self.customers})"
