"""The management mechanism: the firm's seven stages (docs/conceptual-model.md §5) as weekly rules.

Stage 1 *target audience and needs* — :func:`stage1_audience`: knowledge of each segment's
needs grows with the data collected and decays as needs drift.
Stage 2 *journey map* — :func:`stage2_journey_map`: the firm's estimate of every touchpoint ×
channel quality, built only from survey ratings (with misattribution when methodology is weak).
Stage 3 *data collection and analysis* — :func:`stage3_collect`: surveys (response rate, answer
noise, non-response bias), complaints, delayed social listening, failure analytics; measured
NPS/CSAT; and the alarm that detects problems (:func:`detect`).
Stage 4 *implement improvements* — :func:`stage4_improve`: at each cadence tick the budget goes
to the cells the firm *believes* are weakest; effects arrive after a lag with diminishing
returns; quality erodes toward a floor every week (:func:`erode`).
Stage 5 *measure results and feedback* — :func:`stage5_feedback`: a proportional controller
moves the spend multiplier by ``control_gain × (target − measured NPS)`` at every cycle,
bounded to [0.5, spend_multiplier_max] (Deming's plan–do–check–act loop).
Stage 6 *omnichannel* — :func:`stage6_omnichannel`: effective integration (policy capped by
technological support) removes the effort and quality cost of changing channels.
Stage 7 *personalisation* — :func:`stage7_personalization`: the effect on experienced quality
is ``gain·p·(accuracy − 0.4)/0.6`` where accuracy = data completeness × knowledge; with poor
data, personalisation hurts (irrelevant offers).
"""

from __future__ import annotations

import numpy as np

from sim.firm import Firm
from sim.journey import N_CHANNELS, N_TOUCHPOINTS
from sim.params import MechanismParams

PERSONALIZATION_BREAK_EVEN = 0.4
NEEDS_DRIFT = 0.002  # weekly decay of segment knowledge as needs change


def stage1_audience(firm: Firm, respondents_by_segment: np.ndarray, segment_sizes: np.ndarray, mech: MechanismParams) -> None:
    """Knowledge of segment s: ``K ← K + learn·dc·coverage_s·(1 − K) − drift·K``.

    coverage_s is the share of the segment's customers heard from this week (×20, capped at 1)."""
    coverage = np.minimum(1.0, 20.0 * respondents_by_segment / np.maximum(segment_sizes, 1))
    k = firm.knowledge
    k += mech.knowledge_learning * firm.data_completeness * coverage * (1.0 - k) - NEEDS_DRIFT * k
    np.clip(k, 0.0, 1.0, out=k)


def stage2_journey_map(firm: Firm, cell_sum: np.ndarray, cell_n: np.ndarray) -> None:
    """Update the journey map from this week's ratings: a precision-weighted running mean.

    Old evidence is discounted by 10% a week so the map follows change."""
    firm.evidence *= 0.9
    has = cell_n > 0
    total = firm.evidence + cell_n
    firm.estimate[has] = (firm.estimate[has] * firm.evidence[has] + cell_sum[has]) / total[has]
    firm.evidence = total


def stage3_collect(
    firm: Firm,
    *,
    step: int,
    ltr: np.ndarray,
    satisfaction: np.ndarray,
    perceived: np.ndarray,
    channels: np.ndarray,
    segment: np.ndarray,
    n_segments: int,
    segment_sizes: np.ndarray,
    u_respond: np.ndarray,
    z_answer: np.ndarray,
    z_rating: np.ndarray,
    u_attr: np.ndarray,
    attr_shift: np.ndarray,
    complaints: int,
    warnings_posted: float,
    digital_failures: np.ndarray,
    journeys_by_channel: np.ndarray,
    mech: MechanismParams,
    csat_threshold: float,
) -> None:
    """Surveys, complaints, social listening and analytics for one firm; then detection.

    The arrays hold this firm's surveyed journeys of the week alone (the caller applies
    ``survey_rate``); each answers with probability ``response_rate·(1 + bias·(s − 0.5))``;
    answers carry noise.
    """
    m = firm.measurement
    respond_p = m.response_rate * (1.0 + m.nonresponse_bias * (satisfaction - 0.5))
    resp = u_respond < respond_p
    idx = np.flatnonzero(resp)
    n = idx.size
    answer = np.clip(np.rint(ltr[idx] + m.answer_noise * z_answer[idx]), 0, 10)
    sat_answer = satisfaction[idx] + 0.1 * m.answer_noise * z_answer[idx]
    week = np.array([(answer >= 9).sum(), (answer <= 6).sum(), n, (sat_answer >= csat_threshold).sum()], float)
    alpha = 1.0 / mech.measurement_window
    firm.survey = (1 - alpha) * firm.survey + alpha * week
    if firm.survey[2] > 0.5:
        firm.measured_nps = 100.0 * (firm.survey[0] - firm.survey[1]) / firm.survey[2]
        # sampling error: multinomial variance of (promoters - detractors) / n for a week's
        # respondents, shrunk by the EMA's averaging (variance factor alpha / (2 - alpha))
        pp, pd_ = firm.survey[0] / firm.survey[2], firm.survey[1] / firm.survey[2]
        var_week = max(pp + pd_ - (pp - pd_) ** 2, 0.0) / firm.survey[2]
        firm.measured_nps_se = 100.0 * float(np.sqrt(var_week * alpha / (2.0 - alpha)))
        firm.measured_csat = 100.0 * firm.survey[3] / firm.survey[2]
    # stage 1: who did we hear from?
    stage1_audience(firm, np.bincount(segment[idx], minlength=n_segments), segment_sizes, mech)
    # stage 2: touchpoint ratings, attributed to the right cell with probability `attribution`
    tp = np.broadcast_to(np.arange(N_TOUCHPOINTS), (n, N_TOUCHPOINTS))
    ch = channels[idx].astype(np.int64)
    # (n, T): a rating is misattributed when u_attr >= attribution; it then goes to another
    # channel of the same touchpoint, attr_shift (1..N_CHANNELS-1) channels further on
    wrong = u_attr[idx] >= m.attribution
    ch = np.where(wrong, (ch + attr_shift[idx]) % N_CHANNELS, ch)
    cell = (tp * N_CHANNELS + ch).ravel()
    rating = (perceived[idx] + 0.05 * m.answer_noise * z_rating[idx]).ravel() + firm.map_bias.ravel()[cell]
    size = N_TOUCHPOINTS * N_CHANNELS
    cell_sum = np.bincount(cell, rating, minlength=size).reshape(N_TOUCHPOINTS, N_CHANNELS)
    cell_n = np.bincount(cell, minlength=size).reshape(N_TOUCHPOINTS, N_CHANNELS).astype(float)
    stage2_journey_map(firm, cell_sum, cell_n)
    # social listening sees warnings posted `listen_delay` weeks ago
    firm.listening = np.roll(firm.listening, 1)
    firm.listening[0] = warnings_posted
    heard = firm.listening[min(firm.listen_delay, firm.listening.size - 1)]
    # web/app analytics: a share (= data completeness) of failures is logged, and reports arrive
    # with the same technological delay as social listening
    firm.analytics = np.roll(firm.analytics, 1, axis=0)
    firm.analytics[0] = firm.data_completeness * digital_failures / np.maximum(journeys_by_channel, 1.0)
    failure_share = firm.analytics[min(firm.listen_delay, firm.analytics.shape[0] - 1)]
    detect(firm, step, complaints, heard, failure_share, mech)


def detect(firm: Firm, step: int, complaints: float, heard: float, failure_share: np.ndarray, mech: MechanismParams) -> bool:
    """Raise the alarm when a measured signal departs from its running baseline.

    Signals: measured NPS more than ``detection_threshold`` points *and* more than
    ``detection_z`` standard errors of its sampling noise below its 12-week baseline;
    complaints or social-listening warnings above ``complaint_alarm`` × baseline, at least 5,
    and more than ``detection_z`` Poisson standard errors (√baseline) above it; the failure
    share seen by analytics on a channel above 3× its baseline and 5%. Baselines are running
    means (12 weeks for NPS, 8 for the others). The z criterion is a significance test: a firm
    with few or noisy survey answers needs a larger drop to notice, and an NPS that merely
    wobbles with sampling noise does not raise false alarms week after week."""
    z = mech.detection_z
    se = firm.measured_nps_se if np.isfinite(firm.measured_nps_se) else 0.0
    nps_drop = (
        np.isfinite(firm.nps_baseline)
        and np.isfinite(firm.measured_nps)
        and firm.measured_nps < firm.nps_baseline - max(mech.detection_threshold, z * se)
    )

    def spike(count: float, baseline: float) -> bool:
        if not np.isfinite(baseline):
            return False
        return count >= max(5.0, mech.complaint_alarm * baseline, baseline + z * np.sqrt(max(baseline, 1.0)))

    complaint_spike = spike(complaints, firm.complaint_baseline)
    listening_spike = spike(heard, firm.listening_baseline)
    base = np.nan_to_num(firm.failure_baseline, nan=1.0)
    failure_spike = bool(np.any((failure_share > 0.05) & (failure_share > 3.0 * base)))
    firm.alarm = bool(nps_drop or complaint_spike or listening_spike or failure_spike)
    if firm.alarm:
        firm.alarm_steps.append(step)
        if firm.unanswered_alarm is None:
            firm.unanswered_alarm = step
        flagged = (failure_share > 0.05) & (failure_share > 3.0 * base)
        firm.outage_repair_at = np.where(
            flagged & (firm.outage_repair_at > step + firm.repair_time), step + firm.repair_time, firm.outage_repair_at
        )

    # baselines adapt every week (slowly, so a lasting change becomes the new normal)
    def ema(old, new, span):
        return new if not np.isfinite(old) else old + (new - old) / span

    if np.isfinite(firm.measured_nps):
        firm.nps_baseline = ema(firm.nps_baseline, firm.measured_nps, 12.0)
    firm.complaint_baseline = ema(firm.complaint_baseline, complaints, 8.0)
    firm.listening_baseline = ema(firm.listening_baseline, heard, 8.0)
    fb = firm.failure_baseline
    firm.failure_baseline = np.where(np.isfinite(fb), fb + (failure_share - fb) / 8.0, failure_share)
    return firm.alarm


def stage4_improve(firm: Firm, step: int, cadence: int, mech: MechanismParams) -> float:
    """Implementation: apply arrivals, erode, accrue this week's budget and, at a cadence tick,
    invest the accrued funds in the cells the firm believes are weakest.

    Returns this week's accrued spend per 1,000 market customers (costs are booked weekly).
    Investment ``x`` per cell closes ``1 − exp(−x / improvement_scale)`` of the gap to 1, times
    the human-resources efficiency, arriving ``impl_lag`` weeks later."""
    slot = step % firm.pending.shape[0]
    firm.quality = np.minimum(firm.quality + firm.pending[slot], 1.0)
    firm.pending[slot] = 0.0
    erode(firm, mech)
    accrued = firm.budget * firm.spend_multiplier
    firm.funds += accrued
    if step % cadence:
        return accrued
    stage5_feedback(firm, mech)
    if firm.funds <= 0:
        return accrued
    weakest = np.argsort(firm.estimate, axis=None, kind="stable")[: mech.cells_per_cycle]
    per_cell = firm.funds / weakest.size
    firm.funds = 0.0
    gap = 1.0 - firm.quality.ravel()[weakest]
    gain = np.minimum(gap * (1.0 - np.exp(-per_cell / mech.improvement_scale)) * firm.impl_efficiency, gap)
    if firm.impl_lag == 0:
        firm.quality.reshape(-1)[weakest] += gain
    else:
        firm.pending[(step + firm.impl_lag) % firm.pending.shape[0]].reshape(-1)[weakest] += gain
    return accrued


def respond_to_alarm(
    firm: Firm, step: int, dissatisfied: np.ndarray, satisfaction: np.ndarray, loyalty: np.ndarray,
    u: np.ndarray, mech: MechanismParams,
) -> int:
    """Answer a detected problem at the next cycle tick (docs/conceptual-model.md §2: timely response).

    The firm contacts its dissatisfied customers; each contact succeeds with the human-support
    recovery probability and restores ``response_boost·exp(−delay/response_decay)`` of
    satisfaction (half of that in loyalty), where ``delay`` is the weeks since the first
    unanswered alarm — so a firm with a slow improvement cadence answers late and wins back
    less. Returns the number of customers contacted (each costs ``response_cost``)."""
    if firm.unanswered_alarm is None:
        return 0
    delay = step - firm.unanswered_alarm
    firm.unanswered_alarm = None
    value = mech.response_boost * float(np.exp(-delay / mech.response_decay))
    ok = dissatisfied & (u < firm.recovery.success)
    satisfaction += ok * np.float32(value)
    loyalty += ok * np.float32(0.5 * value)
    np.clip(satisfaction, 0.0, 1.0, out=satisfaction)
    np.clip(loyalty, 0.0, 1.0, out=loyalty)
    return int(dissatisfied.sum())


def erode(firm: Firm, mech: MechanismParams) -> None:
    """Quality that is not maintained decays toward the floor: ``q ← q − e·(q − floor)``."""
    firm.quality -= mech.erosion * (firm.quality - mech.quality_floor)


def stage5_feedback(firm: Firm, mech: MechanismParams) -> None:
    """Proportional control of the spend multiplier on the measured NPS gap to target."""
    if not np.isfinite(firm.measured_nps):
        return
    gap = firm.params.policy.nps_target - firm.measured_nps
    firm.spend_multiplier = float(np.clip(firm.spend_multiplier + mech.control_gain * gap, 0.5, mech.spend_multiplier_max))


def stage6_omnichannel(firms: list[Firm]) -> np.ndarray:
    """Effective omnichannel integration of each firm, (K,)."""
    return np.array([f.integration for f in firms], dtype=np.float32)


def stage7_personalization(firms: list[Firm], firm_idx: np.ndarray, segment: np.ndarray, gain: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer personalisation effect on quality and the accuracy behind it.

    accuracy = data completeness × (0.5 + 0.5·knowledge of the customer's segment)."""
    acc_table = np.array([f.data_completeness * (0.5 + 0.5 * f.knowledge) for f in firms])  # (K, S)
    level = np.array([f.params.policy.personalization for f in firms])
    fk = np.maximum(firm_idx, 0)
    acc = acc_table[fk, segment]
    effect = gain * level[fk] * (acc - PERSONALIZATION_BREAK_EVEN) / (1.0 - PERSONALIZATION_BREAK_EVEN)
    return effect.astype(np.float32), acc.astype(np.float32)
