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
Stage 5 *measure results and feedback* — :func:`stage5_feedback`: a declared rule
(``mechanism.feedback_rule``) sets the improvement spend from the measured results: ``fixed``
spends the budget as declared; ``target`` scales it by ``1 + control_gain × (target − measured
NPS)``, bounded, recomputed at every cycle from the current gap (proportional, no integral
state, so no wind-up and no cancelling of the support factors). The allocation to the weakest
cells (stage 4) and the answers to detected problems close the loop under both rules.
Stage 6 *omnichannel* — :func:`stage6_omnichannel`: effective integration (policy capped by
technological support) removes the effort and quality cost of changing channels.
Stage 7 *personalisation* — :func:`stage7_personalization`: the effect on experienced quality
is ``gain·p·(accuracy − b)/(1 − b)`` (b: ``journey.personalization_break_even``) where accuracy
= data completeness × (0.5 + 0.5·knowledge); with poor data, personalisation hurts
(irrelevant offers).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.stats import norm

from sim import kernels
from sim.firm import Firm
from sim.journey import N_CHANNELS, N_TOUCHPOINTS
from sim.params import MechanismParams

# the signals the alarm watches: measured NPS (a drop), complaints and social-listening
# warnings (a spike), and the failure share of each channel logged by analytics (a spike)
SIGNAL_NPS, SIGNAL_COMPLAINTS, SIGNAL_LISTENING = 0, 1, 2
SIGNAL_FAILURE = slice(3, 3 + N_CHANNELS)
N_SIGNALS = 3 + N_CHANNELS


def stage1_audience(
    firm: Firm,
    respondents_by_segment: np.ndarray,
    buyers_by_segment: np.ndarray,
    segment_sizes: np.ndarray,
    mech: MechanismParams,
) -> None:
    """Knowledge of segment s: ``K ← K + learn·coverage_s·(1 − K) − drift·K``.

    The data about a segment are this week's purchases logged by the CRM (a share
    ``data_completeness`` of them) plus survey answers (each worth 20 purchases: they say
    *why*); coverage_s = ``knowledge_coverage`` × data / segment size, capped at 1. Knowledge
    settles where learning balances the drift of needs (``needs_drift``)."""
    data = firm.data_completeness * buyers_by_segment + 20.0 * respondents_by_segment
    coverage = np.minimum(1.0, mech.knowledge_coverage * data / np.maximum(segment_sizes, 1))
    k = firm.knowledge
    k += mech.knowledge_learning * coverage * (1.0 - k) - mech.needs_drift * k
    np.clip(k, 0.0, 1.0, out=k)


def stage2_journey_map(
    firm: Firm, cell_sum: np.ndarray, cell_n: np.ndarray, memory: float = 0.9
) -> None:
    """Update the journey map from this week's ratings: a precision-weighted running mean.

    Old evidence keeps a weight of ``memory`` a week so the map follows change."""
    firm.evidence *= memory
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
    buyers_by_segment: np.ndarray,
    u_respond: np.ndarray,
    z_answer: np.ndarray,
    z_rating: np.ndarray,
    u_attr: np.ndarray,
    complaints: int,
    warnings_posted: float,
    digital_failures: np.ndarray,
    journeys_by_channel: np.ndarray,
    mech: MechanismParams,
    csat_threshold: float,
) -> None:
    """Surveys, complaints, social listening and analytics for one firm; then detection.

    The arrays describe the firm's *surveyed* customers of the week (the caller draws who is
    surveyed, ``survey_rate``); each answers with probability ``response_rate·(1 + bias·(s −
    0.5))``; answers carry noise. :func:`survey_answers` turns them into the week's counts and
    ratings, :func:`stage3_record` updates the firm's measurements, knowledge and map.
    """
    week, by_segment, cell_sum, cell_n = survey_answers(
        firm,
        ltr=ltr,
        satisfaction=satisfaction,
        perceived=perceived,
        channels=channels,
        segment=segment,
        n_segments=n_segments,
        u_respond=u_respond,
        z_answer=z_answer,
        z_rating=z_rating,
        u_attr=u_attr,
        mech=mech,
        csat_threshold=csat_threshold,
    )
    stage3_record(
        firm,
        step=step,
        week=week,
        respondents_by_segment=by_segment,
        cell_sum=cell_sum,
        cell_n=cell_n,
        segment_sizes=segment_sizes,
        buyers_by_segment=buyers_by_segment,
        complaints=complaints,
        warnings_posted=warnings_posted,
        digital_failures=digital_failures,
        journeys_by_channel=journeys_by_channel,
        mech=mech,
    )


def survey_answers(
    firm: Firm,
    *,
    ltr: np.ndarray,
    satisfaction: np.ndarray,
    perceived: np.ndarray,
    channels: np.ndarray,
    segment: np.ndarray,
    n_segments: int,
    u_respond: np.ndarray,
    z_answer: np.ndarray,
    z_rating: np.ndarray,
    u_attr: np.ndarray,
    mech: MechanismParams,
    csat_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The week's survey of one firm: ``(week, respondents_by_segment, cell_sum, cell_n)`` with
    ``week`` = (promoters, detractors, respondents, satisfied) and the touchpoint ratings summed
    per journey-map cell (T, C), misattributed ones included (the numpy reference of
    ``sim.kernels.survey``)."""
    m = firm.measurement
    respond_p = m.response_rate * (1.0 + m.nonresponse_bias * (satisfaction - 0.5))
    resp = u_respond < respond_p
    idx = np.flatnonzero(resp)
    n = idx.size
    answer = np.clip(np.rint(ltr[idx] + m.answer_noise * z_answer[idx]), 0, 10)
    sat_answer = satisfaction[idx] + mech.satisfaction_answer_noise * m.answer_noise * z_answer[idx]
    week = np.array(
        [(answer >= 9).sum(), (answer <= 6).sum(), n, (sat_answer >= csat_threshold).sum()], float
    )
    by_segment = np.bincount(segment[idx], minlength=n_segments)
    # stage 2: touchpoint ratings, attributed to the right cell with probability `attribution`
    tp = np.broadcast_to(np.arange(N_TOUCHPOINTS), (n, N_TOUCHPOINTS))
    ch = channels[idx].astype(np.int64)
    ua = u_attr[idx]  # (n, T): misattributed ratings go to another channel of the same touchpoint
    wrong = ua >= m.attribution
    # which other channel: the position of the draw inside the "wrong" interval [attribution, 1),
    # so the decision and the pick use disjoint information of one uniform
    within = (ua - m.attribution) / max(1.0 - m.attribution, 1e-12)
    shift = 1 + np.minimum((within * (N_CHANNELS - 1)).astype(np.int64), N_CHANNELS - 2)
    ch = np.where(wrong, (ch + shift) % N_CHANNELS, ch)
    cell = (tp * N_CHANNELS + ch).ravel()
    rating = (
        perceived[idx] + mech.rating_noise * m.answer_noise * z_rating[idx]
    ).ravel() + firm.map_bias.ravel()[cell]
    size = N_TOUCHPOINTS * N_CHANNELS
    cell_sum = np.bincount(cell, rating, minlength=size).reshape(N_TOUCHPOINTS, N_CHANNELS)
    cell_n = np.bincount(cell, minlength=size).reshape(N_TOUCHPOINTS, N_CHANNELS).astype(float)
    return week, by_segment, cell_sum, cell_n


def stage3_record(
    firm: Firm,
    *,
    step: int,
    week: np.ndarray,
    respondents_by_segment: np.ndarray,
    cell_sum: np.ndarray,
    cell_n: np.ndarray,
    segment_sizes: np.ndarray,
    buyers_by_segment: np.ndarray,
    complaints: int,
    warnings_posted: float,
    digital_failures: np.ndarray,
    journeys_by_channel: np.ndarray,
    mech: MechanismParams,
) -> None:
    """Stage 3 after the survey: measured NPS/CSAT (EMA of the weekly counts), stage 1
    knowledge, the stage 2 map, delayed social listening and analytics, then detection."""
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
    listening, analytics = firm.listening, firm.analytics
    if kernels.ENABLED:  # stages 1 and 2 and both feeds in one call
        kernels.stage3_feeds(
            firm.knowledge,
            float(firm.data_completeness),
            buyers_by_segment,
            respondents_by_segment,
            segment_sizes,
            float(mech.knowledge_coverage),
            float(mech.knowledge_learning),
            float(mech.needs_drift),
            firm.estimate,
            firm.evidence,
            cell_sum,
            cell_n,
            float(mech.map_memory),
            listening,
            float(warnings_posted),
            analytics,
            digital_failures,
            journeys_by_channel,
        )
    else:
        # stage 1: who did we hear from?
        stage1_audience(firm, respondents_by_segment, buyers_by_segment, segment_sizes, mech)
        stage2_journey_map(firm, cell_sum, cell_n, mech.map_memory)
        # social listening sees warnings posted `listen_delay` weeks ago (nothing before the
        # first report arrives: NaN, not 0, so no baseline is built from an empty feed); both
        # feeds are ring buffers shifted by one week in place (np.roll by 1)
        listening[1:] = listening[:-1]
        listening[0] = warnings_posted
        # web/app analytics: a share (= data completeness) of failures is logged, and reports
        # arrive with the same technological delay as social listening
        analytics[1:] = analytics[:-1]
        analytics[0] = (
            firm.data_completeness * digital_failures / np.maximum(journeys_by_channel, 1.0)
        )
    delay = min(firm.listen_delay, listening.size - 1)
    heard = listening[delay] if step > delay else np.nan
    failure_share = analytics[delay] if step > delay else np.full(N_CHANNELS, np.nan)
    detect(firm, step, complaints, heard, failure_share, mech)


def detection_z(mech: MechanismParams) -> float:
    """One-sided z of each signal's test: Bonferroni over the signals, so the chance that any
    of them fires in a shock-free week is at most ``detection_alpha``."""
    return _z_of(float(mech.detection_alpha))


@functools.lru_cache(maxsize=64)
def _z_of(alpha: float) -> float:
    return float(norm.isf(alpha / N_SIGNALS))


def detect(
    firm: Firm,
    step: int,
    complaints: float,
    heard: float,
    failure_share: np.ndarray,
    mech: MechanismParams,
) -> bool:
    """Raise the alarm when a measured signal departs significantly *and* materially from its baseline.

    Each signal (measured NPS; complaints; social-listening warnings; each channel's logged
    failure share) has a running baseline (EMA mean) and a running variance of its deviations
    from that baseline (EMA, same span). A signal can fire once it has ``detection_warmup`` weeks
    of observations; it fires when its departure (a drop for NPS, a rise for the others)
    exceeds ``z`` standard deviations — the larger of the observed one and the sampling one
    (multinomial for NPS, Poisson for counts) — where ``z`` = :func:`detection_z` makes the
    family-wise weekly false-alarm probability ``detection_alpha``; and the departure is
    material (``detection_threshold`` NPS points; ``complaint_alarm`` × baseline and at least
    ``spike_min_count`` for counts; ``failure_alarm_share`` and ``failure_alarm_ratio`` ×
    baseline for failures). Unavailable signals (NaN: no survey answers yet, a listening or
    analytics feed whose first report has not arrived) neither fire nor enter a baseline."""
    z = detection_z(mech)
    x = np.concatenate(([firm.measured_nps, complaints, heard], failure_share))
    mean, var, n = firm.base_mean, firm.base_var, firm.base_n
    if kernels.ENABLED:
        se = firm.measured_nps_se
        fired = kernels.detect_core(
            x,
            mean,
            var,
            n,
            z,
            se**2 if np.isfinite(se) else 0.0,
            mech.detection_warmup,
            float(mech.detection_threshold),
            float(mech.spike_min_count),
            float(mech.complaint_alarm),
            float(mech.failure_alarm_share),
            float(mech.failure_alarm_ratio),
            float(mech.nps_baseline_span),
            float(mech.count_baseline_span),
        )
        return _raise_alarm(firm, step, fired)
    sign = np.ones(N_SIGNALS)
    sign[SIGNAL_NPS] = -1.0
    sampling = np.empty(N_SIGNALS)
    se = firm.measured_nps_se
    sampling[SIGNAL_NPS] = se**2 if np.isfinite(se) else 0.0
    sampling[SIGNAL_COMPLAINTS : SIGNAL_LISTENING + 1] = np.maximum(
        np.nan_to_num(mean[1:3], nan=1.0), 1.0
    )
    sampling[SIGNAL_FAILURE] = 0.0
    sd = np.sqrt(np.maximum(var, sampling))
    with np.errstate(invalid="ignore"):
        departure = sign * (x - mean)
        ready = np.isfinite(x) & np.isfinite(mean) & (n >= mech.detection_warmup)
        significant = departure > z * sd
        material = np.empty(N_SIGNALS, dtype=bool)
        material[SIGNAL_NPS] = departure[SIGNAL_NPS] > mech.detection_threshold
        counts = x[1:3]
        material[1:3] = (counts >= mech.spike_min_count) & (
            counts >= mech.complaint_alarm * mean[1:3]
        )
        fs, fb = x[SIGNAL_FAILURE], mean[SIGNAL_FAILURE]
        material[SIGNAL_FAILURE] = (fs > mech.failure_alarm_share) & (
            fs > mech.failure_alarm_ratio * fb
        )
    fired = ready & significant & material
    _raise_alarm(firm, step, fired)
    # baselines and their variances adapt every week (slowly, so a lasting change becomes the new normal)
    span = np.full(N_SIGNALS, mech.count_baseline_span)
    span[SIGNAL_NPS] = mech.nps_baseline_span
    seen = np.isfinite(x)
    first = seen & ~np.isfinite(mean)
    later = seen & ~first
    dev = np.where(later, x - np.nan_to_num(mean), 0.0)
    mean[first] = x[first]
    var[first] = 0.0
    mean[later] += dev[later] / span[later]
    var[later] += (dev[later] ** 2 - var[later]) / span[later]
    n[seen] += 1
    return firm.alarm


def _raise_alarm(firm: Firm, step: int, fired: np.ndarray) -> bool:
    """Record the week's fired signals; an alarm schedules the repair of flagged outages."""
    firm.alarm = bool(fired.any())
    firm.signals_fired = fired
    if firm.alarm:
        firm.alarm_steps.append(step)
        if firm.unanswered_alarm is None:
            firm.unanswered_alarm = step
        flagged = fired[SIGNAL_FAILURE]
        firm.outage_repair_at = np.where(
            flagged & (firm.outage_repair_at > step + firm.repair_time),
            step + firm.repair_time,
            firm.outage_repair_at,
        )
    return firm.alarm


def stage4_improve(firm: Firm, step: int, cadence: int, mech: MechanismParams) -> float:
    """Implementation: apply arrivals, erode, add this week's budget to the investable balance
    and, at a cadence tick, invest the balance in the cells the firm believes are weakest.

    Returns the amount *invested* this week per 1,000 market customers: money is spent (and
    booked as cost) only when it is invested, so a firm that never runs a cycle pays nothing
    for improvements. At each tick stage 5 first sets the spend multiplier that scales the
    budget of the next cycle. Investment ``x`` per cell closes ``1 − exp(−x / improvement_scale)``
    of the gap to 1, times the human-resources efficiency, arriving ``impl_lag`` weeks later."""
    slot = step % firm.pending.shape[0]
    firm.quality = np.minimum(firm.quality + firm.pending[slot], 1.0)
    firm.pending[slot] = 0.0
    erode(firm, mech)
    firm.funds += firm.budget * firm.spend_multiplier
    if step % cadence:
        return 0.0
    stage5_feedback(firm, mech)
    if firm.funds <= 0:
        return 0.0
    invested = firm.funds
    weakest = np.argsort(firm.estimate, axis=None, kind="stable")[: mech.cells_per_cycle]
    per_cell = firm.funds / weakest.size
    firm.funds = 0.0
    gap = 1.0 - firm.quality.ravel()[weakest]
    gain = np.minimum(
        gap * (1.0 - np.exp(-per_cell / mech.improvement_scale)) * firm.impl_efficiency, gap
    )
    if firm.impl_lag == 0:
        firm.quality.reshape(-1)[weakest] += gain
    else:
        firm.pending[(step + firm.impl_lag) % firm.pending.shape[0]].reshape(-1)[weakest] += gain
    return invested


def respond_to_alarm(
    firm: Firm,
    step: int,
    dissatisfied: np.ndarray,
    satisfaction: np.ndarray,
    loyalty: np.ndarray,
    u: np.ndarray,
    mech: MechanismParams,
) -> int:
    """Answer a detected problem at the next cycle tick (docs/conceptual-model.md §2: timely response).

    The firm contacts its dissatisfied customers; each contact succeeds with the human-support
    recovery probability and restores ``response_boost·exp(−delay/response_decay)`` of
    satisfaction (``response_loyalty_share`` of that in loyalty), where ``delay`` is the weeks since the first
    unanswered alarm — so a firm with a slow improvement cadence answers late and wins back
    less. Returns the number of customers contacted (each costs ``response_cost``)."""
    if firm.unanswered_alarm is None:
        return 0
    delay = step - firm.unanswered_alarm
    firm.unanswered_alarm = None
    value = mech.response_boost * float(np.exp(-delay / mech.response_decay))
    ok = dissatisfied & (u < firm.recovery.success)
    satisfaction += ok * np.float32(value)
    loyalty += ok * np.float32(mech.response_loyalty_share * value)
    np.clip(satisfaction, 0.0, 1.0, out=satisfaction)
    np.clip(loyalty, 0.0, 1.0, out=loyalty)
    return int(dissatisfied.sum())


def erode(firm: Firm, mech: MechanismParams) -> None:
    """Quality that is not maintained decays toward the floor: ``q ← q − e·(q − floor)``."""
    firm.quality -= mech.erosion * (firm.quality - mech.quality_floor)


def stage5_feedback(firm: Firm, mech: MechanismParams) -> None:
    """Stage 5: set the spend multiplier of the next cycle from the measured results.

    ``fixed``: 1 (the budget as declared; the loop is closed by *where* the money goes and by
    the answers to detected problems). ``target``: ``1 + control_gain·(nps_target − measured
    NPS)`` clipped to [``spend_multiplier_min``, ``spend_multiplier_max``] — proportional to the
    current gap with no memory of past gaps, so it cannot wind up against its bounds, and a
    support factor that raises NPS lowers the spend only in proportion to the NPS it added (a
    proportional loop damps an effect by 1/(1 + loop gain); it cannot reverse it)."""
    if mech.feedback_rule == "fixed" or not np.isfinite(firm.measured_nps):
        firm.spend_multiplier = 1.0
        return
    gap = firm.params.policy.nps_target - firm.measured_nps
    firm.spend_multiplier = float(
        np.clip(1.0 + mech.control_gain * gap, mech.spend_multiplier_min, mech.spend_multiplier_max)
    )


def stage6_omnichannel(firms: list[Firm]) -> np.ndarray:
    """Effective omnichannel integration of each firm, (K,)."""
    return np.array([f.integration for f in firms], dtype=np.float32)


def stage7_personalization(
    firms: list[Firm],
    firm_idx: np.ndarray,
    segment: np.ndarray,
    gain: float,
    break_even: float = 0.4,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer personalisation effect on quality and the accuracy behind it.

    accuracy = data completeness × (0.5 + 0.5·knowledge of the customer's segment)."""
    acc_table, level = personalization_tables(firms)
    fk = np.maximum(firm_idx, 0)
    acc = acc_table[fk, segment]
    effect = gain * level[fk] * (acc - break_even) / (1.0 - break_even)
    return effect.astype(np.float32), acc.astype(np.float32)


def personalization_tables(firms: list[Firm]) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy (K, S), personalisation level (K,)) behind :func:`stage7_personalization`."""
    acc_table = np.array([f.data_completeness * (0.5 + 0.5 * f.knowledge) for f in firms])  # (K, S)
    level = np.array([f.params.policy.personalization for f in firms])
    return acc_table, level
