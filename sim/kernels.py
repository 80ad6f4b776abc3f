"""Compiled kernels (numba) for the per-customer work of a week.

Each kernel fuses what the numpy reference path in the phase modules does in a few dozen
vectorised passes (``sim.journey``, ``sim.emotion``, ``sim.wom``, ``sim.mechanism``) into one
loop over the customers concerned, without the temporary arrays and without the fixed cost of
hundreds of small numpy calls, which is what dominates a small (sensitivity-sized) model.

**Bit-identical to the numpy path.** The kernels evaluate every expression in the same order
and in the same precision as numpy does: float32 state stays float32 (every constant is cast to
float32 as numpy casts a Python float next to a float32 array, NEP 50), expressions numpy
evaluates in float64 (e.g. an int64 count times a Python float) are evaluated in float64, and
sums are accumulated in the order numpy (or scipy) accumulates them. No kernel calls a
transcendental function (``exp``, ``log``, ``pow``): numpy's SIMD versions of those may differ
from libm in the last bit, so they stay in numpy. Random numbers are counter-based (``sim.counter_rng``):
a kernel draws customer i's number from the week's key of the draw and i, only for the
customers it visits; the numpy path draws the same numbers as full-population arrays.
``tests/test_kernels.py`` checks every kernel against the numpy path bit for bit.

The kernels use numba's numpy error model (a division by zero gives inf or NaN, as in the
numpy path, instead of raising).

``CXSIM_KERNELS=0`` in the environment (read at import) selects the numpy reference path;
the path can also be switched at run time with :func:`use_kernels`. Compiled functions are
cached on disk (``cache=True``), so a fresh worker process loads them instead of compiling.
"""

from __future__ import annotations

import os

import numpy as np

from sim.counter_rng import normal32, normal64, uniform32, uniform64

try:  # numba is a dependency; the numpy path still works without it
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is installed with the package
    numba = None
    _HAVE_NUMBA = False

ENABLED = _HAVE_NUMBA and os.environ.get("CXSIM_KERNELS", "1").strip() not in ("0", "false", "no")


def use_kernels(flag: bool) -> bool:
    """Switch the compiled kernels on or off (off: the numpy reference path); returns the
    previous setting. Switching on without numba installed raises ImportError."""
    global ENABLED
    if flag and not _HAVE_NUMBA:
        raise ImportError("numba is not installed: the compiled kernels are unavailable")
    previous, ENABLED = ENABLED, bool(flag)
    return previous


def _jit(fn):
    if not _HAVE_NUMBA:  # pragma: no cover
        return fn
    return numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(fn)


@_jit
def clip(v, lo, hi):
    """``np.clip`` of one value as numpy computes it: max then min, NaN kept, and -0.0 → lo = 0.0."""
    if v != v:
        return v
    v = v if v > lo else lo
    return v if v < hi else hi


# ------------------------------------------------------------------------------------------------
# phase 3: journeys (sim.journey.choose_channels, experience_touchpoints, sim.emotion.journey_affect)
# ------------------------------------------------------------------------------------------------
@_jit
def journey(
    rows,
    dealer,
    segment,
    k_pick,
    k_stay,
    k_noise,
    k_fail,
    n_tp,
    bounds,
    stickiness,
    fail_p,
    quality,
    acc_table,
    level,
    pers_gain,
    break_even,
    integration,
    quality_noise,
    switch_penalty,
    failure_penalty,
    base_effort,
    switch_effort,
    failure_effort,
    affect,
    expectation,
    carry,
    loss_aversion,
    affect_gain,
):
    """One journey per row: channels, failures, experienced quality, effort, accuracy,
    affect at the end and its peak, the expectation met and whether anything failed.

    ``k_pick``, ``k_stay``, ``k_noise`` and ``k_fail`` are the week's keys of the (N, T) draws
    (``sim.rng.DRAWS``: customer i's draw at touchpoint t has counter ``i·T + t``); ``rows``
    the customers on a journey (ascending), ``dealer`` and ``segment`` theirs."""
    m = rows.size
    n_b = bounds.shape[1]
    channels = np.empty((m, n_tp), dtype=np.int8)
    failed = np.empty((m, n_tp), dtype=np.bool_)
    x = np.empty((m, n_tp), dtype=np.float32)
    effort = np.empty(m, dtype=np.float32)
    accuracy = np.empty(m, dtype=np.float32)
    end = np.empty(m, dtype=np.float32)
    peak = np.empty(m, dtype=np.float32)
    expected = np.empty(m, dtype=np.float32)
    failed_any = np.zeros(m, dtype=np.bool_)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for r in range(m):
        i = rows[r]
        k = dealer[r]
        s = segment[r]
        # channels: the segment's preference, kept with probability `stickiness`
        prev = np.int8(0)
        for t in range(n_tp):
            c = np.int8(0)
            u = uniform32(k_pick, i * n_tp + t)
            for b in range(n_b):
                if u > bounds[s, b]:
                    c += np.int8(1)
            if t > 0 and uniform32(k_stay, i * n_tp + t) < stickiness:
                c = prev
            channels[r, t] = c
            prev = c
        # personalisation (float64, as sim.mechanism.stage7_personalization)
        acc = acc_table[k, s]
        effect = np.float32(pers_gain * level[k] * (acc - break_even) / (1.0 - break_even))
        accuracy[r] = np.float32(acc)
        friction = one - integration[k]
        seam_pen = switch_penalty * friction
        n_seam = 0
        n_fail = 0
        e = expectation[i, k]
        expected[r] = e
        a = affect[i]
        pk = zero
        for t in range(n_tp):
            c = channels[r, t]
            f = uniform32(k_fail, i * n_tp + t) < fail_p[k, c]
            failed[r, t] = f
            v = quality[k, t, c]
            v += effect
            v += quality_noise * normal32(k_noise, i * n_tp + t)
            if t > 0 and c != channels[r, t - 1]:
                v -= seam_pen
                n_seam += 1
            if f:
                v -= failure_penalty
                n_fail += 1
                failed_any[r] = True
            v = clip(v, zero, one)
            x[r, t] = v
            # affect, touchpoint by touchpoint (loss-averse reaction, carried over, clipped)
            d = v - e
            if not d >= zero:
                d = loss_aversion * d
            d *= affect_gain
            a *= carry
            a += d
            a = clip(a, -one, one)
            if abs(a) > abs(pk):
                pk = a
        end[r] = a
        peak[r] = pk
        eff = base_effort + (
            (n_seam * switch_effort * np.float64(friction) + n_fail * failure_effort) / n_tp
        )
        effort[r] = np.float32(min(eff, 1.0))
    return channels, failed, x, effort, accuracy, end, peak, expected, failed_any


# ------------------------------------------------------------------------------------------------
# phase 8: word of mouth (sim.wom.senders, spread, listen)
# ------------------------------------------------------------------------------------------------
@_jit
def wom_talk(
    rows,
    dealer,
    satisfaction,
    social,
    k_talk,
    neutral,
    up_div,
    down_div,
    pos_rate,
    neg_rate,
    indptr,
    indices,
    n_firms,
    negative_reach,
):
    """Who recommends and who warns among the week's shoppers (``social`` and ``u_send`` are
    theirs), and what everyone hears.

    Returns (talkers, recommend of each talker, warn of each talker, heard, received) with
    ``received`` (len(heard), 4K): the messages about each firm, positive then negative (a
    warning counts ``negative_reach``), then the talkers' satisfaction summed over those
    messages (sim.wom.spread's ``pos_said``, ``neg_said``), summed in float32 in talker order
    as scipy's sparse product does."""
    n = satisfaction.size
    m = rows.size
    zero = np.float32(0.0)
    talk = np.empty(m, dtype=np.int64)
    rec = np.empty(m, dtype=np.bool_)
    wrn = np.empty(m, dtype=np.bool_)
    n_talk = 0
    for r in range(m):
        i = rows[r]
        s = satisfaction[i]
        up = max(s - neutral, zero) / up_div
        down = max(neutral - s, zero) / down_div
        u = uniform32(k_talk, i)
        rc = u < pos_rate * up * social[r]
        wr = u < neg_rate * down * social[r]
        if rc or wr:
            talk[n_talk] = r
            rec[n_talk] = rc
            wrn[n_talk] = wr
            n_talk += 1
    received = np.zeros((n, 4 * n_firms), dtype=np.float32)
    got = np.zeros(n, dtype=np.bool_)
    for p in range(n_talk):
        r = talk[p]
        i = rows[r]
        k = max(dealer[r], 0)
        pos = np.float32(1.0) if rec[p] else zero
        neg = np.float32(1.0) * negative_reach if wrn[p] else zero
        said = satisfaction[i]
        pos_said = pos * said
        neg_said = neg * said
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            got[j] = True
            received[j, k] += pos
            received[j, n_firms + k] += neg
            received[j, 2 * n_firms + k] += pos_said
            received[j, 3 * n_firms + k] += neg_said
    n_heard = 0
    for j in range(n):
        if got[j]:
            n_heard += 1
    heard = np.empty(n_heard, dtype=np.int64)
    out = np.empty((n_heard, 4 * n_firms), dtype=np.float32)
    h = 0
    for j in range(n):
        if got[j]:
            heard[h] = j
            for c in range(4 * n_firms):
                out[h, c] = received[j, c]
            h += 1
    return talk[:n_talk], rec[:n_talk], wrn[:n_talk], heard, out


@_jit
def wom_tally(talk, rec, warn, rows, dealer, satisfaction, k_review, rate, rate_unhappy, n_firms):
    """The week's public reviews and messages per firm (sim.wom.reviews and the message counts):
    a recommender posts with probability ``rate``, a warner with ``rate_unhappy`` (twice as
    often; both float32, as numpy compares a float32 draw with a Python float), rated with the
    poster's satisfaction. Returns (reviews (K,), summed rating (K,), float64 summed in talker
    order as ``np.bincount`` does; recommendations (K,), warnings (K,), int64)."""
    count = np.zeros(n_firms)
    rating = np.zeros(n_firms)
    pos = np.zeros(n_firms, dtype=np.int64)
    neg = np.zeros(n_firms, dtype=np.int64)
    for p in range(talk.size):
        r = talk[p]
        i = rows[r]
        k = max(dealer[r], 0)
        u = uniform32(k_review, i)
        if (rec[p] and u < rate) or (warn[p] and u < rate_unhappy):
            count[k] += 1.0
            rating[k] += np.float64(satisfaction[i])
        if rec[p]:
            pos[k] += 1
        if warn[p]:
            neg[k] += 1
    return count, rating, pos, neg


@_jit
def wom_listen(heard, received, attitude, expectation, att_weight, exp_weight):
    """The listeners' update (sim.wom.listen) written back into the (N, K) state, in place:
    the attitude toward each firm moves toward the mean satisfaction its talkers reported,
    recommendations first, then warnings (each kind counted up to 5), and is clipped; the
    expectation moves with the net capped messages and is clipped to [0, 1] (as the phase then
    clips the whole population). ``received`` is ``wom_talk``'s (len(heard), 4K) block."""
    n_firms = attitude.shape[1]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    five = np.float32(5.0)
    for h in range(heard.size):
        j = heard[h]
        for k in range(n_firms):
            a = attitude[j, k]
            capped_pos = zero
            capped_neg = zero
            for kind in range(2):
                n_msg = received[h, kind * n_firms + k]
                said = received[h, (2 + kind) * n_firms + k]
                capped = min(n_msg, five)
                gap = said / n_msg - a if n_msg > zero else zero
                a = a + att_weight * capped * gap
                if kind == 0:
                    capped_pos = capped
                else:
                    capped_neg = capped
            attitude[j, k] = clip(a, zero, one)
            expectation[j, k] = clip(
                expectation[j, k] + exp_weight * (capped_pos - capped_neg), zero, one
            )


# ------------------------------------------------------------------------------------------------
# phase 6: complaint recovery (sim.behaviour.recover_complaints)
# ------------------------------------------------------------------------------------------------
@_jit
def complain(
    rows,
    satisfaction,
    failed_any,
    k_complain,
    threshold,
    rate,
    failure_boost,
    last_complaint,
    recovery,
    complaints,
    t,
):
    """Who of the week's shoppers is dissatisfied (satisfaction below ``threshold``) and who
    complains: with probability ``rate·(1 + failure_boost)`` after a failure, ``rate`` without
    (float64, as numpy evaluates it). The complainers' last complaint, pending recovery and
    complaint count are recorded in place. Returns (dissatisfied, complained), one per row."""
    m = rows.size
    dissatisfied = np.empty(m, dtype=np.bool_)
    complained = np.empty(m, dtype=np.bool_)
    for r in range(m):
        i = rows[r]
        d = satisfaction[i] < threshold
        boost = failure_boost * (1.0 if failed_any[r] else 0.0)
        c = d and np.float64(uniform32(k_complain, i)) < rate * (1.0 + boost)
        dissatisfied[r] = d
        complained[r] = c
        if c:
            last_complaint[i] = t
            recovery[i] = 0
            complaints[i] += 1
    return dissatisfied, complained


@_jit
def answer_complaints(
    idx, ok, status, firm, customer, k, recovery, satisfaction, affect, gain, loss, recovered
):
    """Firm ``k`` answers the complaints due this week (``idx``, ``ok``: whether the answer
    succeeds), in place: a complainer who has left or switched is recorded as such (recovery
    code 3); for the others satisfaction and affect move by ``gain`` (success, code 1) or
    ``-loss`` (double deviation, code 2) and the successes are flagged in ``recovered``. Then
    the whole population is clipped as numpy's ``+=`` then ``np.clip`` does (an unchanged
    ``-0.0`` becomes ``0.0``; a later entry of the same customer wins)."""
    n = satisfaction.size
    change = np.zeros(n, dtype=np.float32)
    for q in range(idx.size):
        i = idx[q]
        if status[i] == customer and firm[i] == k:
            good = np.float32(1.0) if ok[q] else np.float32(0.0)
            change[i] = good * gain - (np.float32(1.0) - good) * loss
            recovery[i] = 1 if ok[q] else 2
            if ok[q]:
                recovered[i] = True
        else:
            recovery[i] = 3  # left before the answer came
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in range(n):
        satisfaction[i] = clip(satisfaction[i] + change[i], zero, one)
        affect[i] = clip(affect[i] + change[i], -one, one)


# ------------------------------------------------------------------------------------------------
# phase 10: what the firms count (the start of sim.model.CXModel._phase_mechanism)
# ------------------------------------------------------------------------------------------------
@_jit
def firm_counts(
    rows,
    dealer,
    channels,
    failed,
    complained,
    bought,
    segment_j,
    status,
    firm,
    customer,
    k_survey,
    survey_rate,
    n_firms,
    n_ch,
    n_seg,
):
    """The week's counts per firm from its journeys, in one pass: complaints (K,), failures and
    touchpoint visits per channel (K, C, float64: counts, exact), who is surveyed — a shopper
    who is (still) the firm's customer, with probability ``survey_rate`` — as the firm
    surveying each journey (−1: none), and buyers by segment (K, S)."""
    m = rows.size
    n_tp = channels.shape[1]
    complaints = np.zeros(n_firms, dtype=np.int64)
    failures = np.zeros((n_firms, n_ch))
    visits = np.zeros((n_firms, n_ch))
    asked_by = np.full(m, -1, dtype=np.int64)
    buyers = np.zeros((n_firms, n_seg), dtype=np.int64)
    for r in range(m):
        k = dealer[r]
        i = rows[r]
        if complained[r]:
            complaints[k] += 1
        for t in range(n_tp):
            c = channels[r, t]
            visits[k, c] += 1.0
            if failed[r, t]:
                failures[k, c] += 1.0
        if bought[r]:
            buyers[k, segment_j[r]] += 1
        if status[i] == customer and firm[i] == k and uniform64(k_survey, i) < survey_rate:
            asked_by[r] = k
    return complaints, failures, visits, asked_by, buyers


# ------------------------------------------------------------------------------------------------
# phase 10: the firms' measurement (sim.mechanism.survey_answers, detect)
# ------------------------------------------------------------------------------------------------
@_jit
def survey(
    who,
    pos,
    ltr,
    satisfaction,
    perceived,
    channels,
    segment,
    k_respond,
    k_answer,
    k_rating,
    k_attr,
    response_rate,
    nonresponse_bias,
    answer_noise,
    sat_noise,
    csat_threshold,
    attribution,
    wrong_width,
    rating_noise,
    map_bias,
    n_segments,
):
    """One firm's survey of the week (sim.mechanism.survey_answers): ``who`` are the surveyed
    customers, ``pos`` their positions in the week's journey arrays (``channels``); ``k_*`` the
    week's keys of the draws (``sim.rng.DRAWS``). Returns (week, respondents_by_segment, cell_sum, cell_n)."""
    n_tp = channels.shape[1]
    n_ch = map_bias.shape[1]
    half = np.float32(0.5)
    one = np.float32(1.0)
    week = np.zeros(4)
    by_segment = np.zeros(n_segments, dtype=np.int64)
    cell_sum = np.zeros((n_tp, n_ch))
    cell_n = np.zeros((n_tp, n_ch))
    for q in range(who.size):
        i = who[q]
        s = satisfaction[i]
        respond_p = response_rate * (one + nonresponse_bias * (s - half))
        if not uniform64(k_respond, i) < np.float64(respond_p):
            continue
        z = normal64(k_answer, i)
        answer = np.rint(np.float64(ltr[i]) + answer_noise * z)
        answer = min(max(answer, 0.0), 10.0)
        if answer >= 9.0:
            week[0] += 1.0
        if answer <= 6.0:
            week[1] += 1.0
        week[2] += 1.0
        if np.float64(s) + sat_noise * z >= csat_threshold:
            week[3] += 1.0
        by_segment[segment[i]] += 1
        p = pos[q]
        for t in range(n_tp):
            ch = np.int64(channels[p, t])
            ua = uniform64(k_attr, i * n_tp + t)
            if ua >= attribution:
                within = (ua - attribution) / wrong_width
                shift = 1 + min(np.int64(within * (n_ch - 1)), n_ch - 2)
                ch = (ch + shift) % n_ch
            rating = np.float64(perceived[i, t]) + rating_noise * normal64(k_rating, i * n_tp + t)
            cell_sum[t, ch] += rating + map_bias[t, ch]
            cell_n[t, ch] += 1.0
    return week, by_segment, cell_sum, cell_n


@_jit
def audience(knowledge, completeness, buyers, respondents, sizes, coverage_k, learning, drift):
    """Stage 1 in place (sim.mechanism.stage1_audience): knowledge of each segment moves with
    the week's coverage of it and drifts, evaluated in numpy's order and clipped to [0, 1]."""
    for s in range(knowledge.size):
        data = completeness * buyers[s] + 20.0 * respondents[s]
        size = sizes[s] if sizes[s] > 1 else 1
        coverage = coverage_k * data / size
        coverage = coverage if coverage < 1.0 else 1.0
        k = knowledge[s]
        knowledge[s] = clip(k + (learning * coverage * (1.0 - k) - drift * k), 0.0, 1.0)


@_jit
def journey_map(estimate, evidence, cell_sum, cell_n, memory):
    """Stage 2 in place (sim.mechanism.stage2_journey_map): the precision-weighted running mean
    of each cell, old evidence kept with weight ``memory``."""
    for t in range(estimate.shape[0]):
        for c in range(estimate.shape[1]):
            ev = evidence[t, c] * memory
            total = ev + cell_n[t, c]
            if cell_n[t, c] > 0:
                estimate[t, c] = (estimate[t, c] * ev + cell_sum[t, c]) / total
            evidence[t, c] = total


@_jit
def stage3_feeds(
    knowledge,
    completeness,
    buyers,
    respondents,
    sizes,
    coverage_k,
    learning,
    drift,
    estimate,
    evidence,
    cell_sum,
    cell_n,
    memory,
    listening,
    warnings_posted,
    analytics,
    digital_failures,
    journeys_by_channel,
):
    """One firm's stage 1 (:func:`audience`), stage 2 (:func:`journey_map`) and its two delayed
    feeds in place (sim.mechanism.stage3_record): the social-listening and analytics ring
    buffers shift by one week and take this week's warnings posted and logged failure share
    (``completeness · failures / max(visits, 1)`` per channel)."""
    audience(knowledge, completeness, buyers, respondents, sizes, coverage_k, learning, drift)
    journey_map(estimate, evidence, cell_sum, cell_n, memory)
    for j in range(listening.size - 1, 0, -1):
        listening[j] = listening[j - 1]
    listening[0] = warnings_posted
    for j in range(analytics.shape[0] - 1, 0, -1):
        for c in range(analytics.shape[1]):
            analytics[j, c] = analytics[j - 1, c]
    for c in range(analytics.shape[1]):
        visits = journeys_by_channel[c] if journeys_by_channel[c] > 1.0 else 1.0
        analytics[0, c] = completeness * digital_failures[c] / visits


@_jit
def detect_core(
    x,
    mean,
    var,
    count,
    z,
    nps_sampling,
    warmup,
    nps_threshold,
    spike_min_count,
    complaint_alarm,
    failure_share,
    failure_ratio,
    nps_span,
    count_span,
):
    """The alarm's tests and baseline update of sim.mechanism.detect (signal 0: NPS, a drop;
    1-2: complaints and listening, a spike; 3-: each channel's failure share, a spike), with
    ``nps_sampling`` the sampling variance of measured NPS (computed by the caller). Updates ``mean``, ``var`` and ``count`` in place; returns the signals that fired."""
    k = x.size
    fired = np.zeros(k, dtype=np.bool_)
    for j in range(k):
        if j == 0:
            sampling = nps_sampling
        elif j < 3:
            mj = mean[j]
            sampling = max(1.0 if np.isnan(mj) else mj, 1.0)
        else:
            sampling = 0.0
        sd = np.sqrt(max(var[j], sampling))
        departure = -(x[j] - mean[j]) if j == 0 else x[j] - mean[j]
        ready = np.isfinite(x[j]) and np.isfinite(mean[j]) and count[j] >= warmup
        significant = departure > z * sd
        if j == 0:
            material = departure > nps_threshold
        elif j < 3:
            material = x[j] >= spike_min_count and x[j] >= complaint_alarm * mean[j]
        else:
            material = x[j] > failure_share and x[j] > failure_ratio * mean[j]
        fired[j] = ready and significant and material
    for j in range(k):
        if not np.isfinite(x[j]):
            continue
        span = nps_span if j == 0 else count_span
        if not np.isfinite(mean[j]):
            mean[j] = x[j]
            var[j] = 0.0
        else:
            dev = x[j] - mean[j]
            mean[j] += dev / span
            var[j] += (dev * dev - var[j]) / span
        count[j] += 1
    return fired


# ------------------------------------------------------------------------------------------------
# phase 7: learning (sim.cognition.update_expectation, update_loyalty; attitudes; affect decay)
# ------------------------------------------------------------------------------------------------
@_jit
def learn(
    rows,
    dealer,
    expected,
    perceived_mean,
    new,
    expectation,
    status,
    loyalty,
    effort,
    satisfaction,
    tenure,
    attitude,
    affect,
    reputation,
    customer,
    expectation_rate,
    creep,
    base_effort,
    lo,
    span,
    anchor,
    effort_weight,
    attitude_rate,
    reputation_weight,
    affect_keep,
):
    """The learning phase in place: the shoppers' expectation of the firm dealt with, their
    loyalty (customers who shopped at their own firm, not the ones just acquired) and attitude;
    then for everyone the expectation creep, the drift of attitudes toward reputation, the decay
    of affect and one more week of tenure for customers."""
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for r in range(rows.size):
        i = rows[r]
        k = dealer[r]
        e = expected[r]
        e += expectation_rate * (perceived_mean[r] - e)
        expectation[i, k] = e
    for r in range(rows.size):
        i = rows[r]
        if status[i] != customer or new[r]:
            continue
        excess = effort[i] - base_effort
        weight = lo + span / (one + np.float32(tenure[i]) / anchor)
        target = satisfaction[i] - effort_weight * excess
        v = loyalty[i]
        loyalty[i] = clip(v + weight * (target - v), zero, one)
    for r in range(rows.size):
        i = rows[r]
        k = dealer[r]
        a = attitude[i, k]
        attitude[i, k] = a + attitude_rate * (satisfaction[i] - a)
    n_firms = attitude.shape[1]
    for i in range(status.size):
        for k in range(n_firms):
            expectation[i, k] = clip(expectation[i, k] + creep, zero, one)
            a = attitude[i, k]
            drift = reputation[k] - a
            drift *= reputation_weight
            attitude[i, k] = a + drift
        affect[i] *= affect_keep
        if status[i] == customer:
            tenure[i] += 1


# ------------------------------------------------------------------------------------------------
# phase 9: churn and switching, then the survey answers (sim.behaviour)
# ------------------------------------------------------------------------------------------------
@_jit
def churn(
    hazard,
    k_leave,
    k_switch,
    k_ltr,
    k_csat,
    status,
    firm,
    loyalty,
    attitude,
    aware,
    tenure,
    channels,
    satisfaction,
    affect,
    scale_use,
    ltr,
    csat,
    customer,
    lapsed,
    switch_rate,
    switch_threshold,
    w_loyalty,
    w_satisfaction,
    w_mood,
    ltr_slope,
    ltr_center,
    ltr_noise,
    csat_slope,
    csat_threshold,
    csat_noise,
):
    """Leaving and switching in place (``hazard`` from sim.behaviour.churn_hazard), then every
    customer's 0-10 and 1-5 answers. Returns (lost_from, switch_to), one entry per customer."""
    n = status.size
    n_firms = attitude.shape[1]
    lost_from = np.full(n, -1, dtype=np.int8)
    switch_to = np.full(n, -1, dtype=np.int8)
    zero = np.float32(0.0)
    half = np.float32(0.5)
    for i in range(n):
        if status[i] == customer:
            own = firm[i]
            if uniform32(k_leave, i) < hazard[i]:
                lost_from[i] = own
                status[i] = lapsed
                firm[i] = -1
                loyalty[i] = zero
                tenure[i] = 0
                channels[i] = 0
            elif uniform32(k_switch, i) < switch_rate:
                best = 0
                best_v = np.float32(-1.0)
                for k in range(n_firms):
                    v = attitude[i, k] if (aware[i, k] and k != own) else np.float32(-1.0)
                    if k == 0 or v > best_v:
                        best, best_v = k, v
                if best_v - attitude[i, own] > switch_threshold:
                    lost_from[i] = own
                    switch_to[i] = best
                    firm[i] = best
                    loyalty[i] = attitude[i, best]
                    tenure[i] = 0
                    channels[i] = 0
        # the answers (sim.behaviour.likelihood_to_recommend, csat_answer)
        s = satisfaction[i]
        score = w_loyalty * loyalty[i]
        score += w_satisfaction * s
        mood = half * affect[i]
        mood += half
        mood *= w_mood
        score += mood
        score -= np.float32(0.6)
        score *= ltr_slope
        score += ltr_center
        score += scale_use[i]
        score += ltr_noise * normal32(k_ltr, i)
        ltr[i] = np.int8(clip(np.rint(score), zero, np.float32(10.0)))
        latent = np.float32(3.5) + csat_slope * (s - csat_threshold)
        latent = latent + np.float32(0.4) * scale_use[i] + csat_noise * normal32(k_csat, i)
        csat[i] = np.int8(clip(np.floor(latent + half), np.float32(1.0), np.float32(5.0)))
    return lost_from, switch_to


# ------------------------------------------------------------------------------------------------
# phase 2: purchase occasions (sim.behaviour.purchase_probability; advertising awareness)
# ------------------------------------------------------------------------------------------------
@_jit
def occasions_aware(status, aware, k_adv, adv, loyalty, customer, sow_reference, sow_slope):
    """Advertising makes non-customers aware (in place); returns the customers (ascending)
    and the exponent of their share of wallet, ``(L − reference)·slope`` in float32 (numpy
    takes the exponential)."""
    n = status.size
    n_firms = aware.shape[1]
    members = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if status[i] == customer:
            members[m] = i
            m += 1
        else:
            for k in range(n_firms):
                if uniform32(k_adv, i * n_firms + k) < adv[k]:
                    aware[i, k] = True
    x = np.empty(m, dtype=np.float32)
    for q in range(m):
        v = loyalty[members[q]] - sow_reference
        v *= sow_slope
        x[q] = v
    return members[:m], x


@_jit
def occasions_shoppers(
    members,
    sow,
    k_occ,
    purchase_rate,
    uplift,
    channels,
    economy32,
    cap,
    status,
    aware,
    lapsed,
    winback_rate,
    prospect_rate,
):
    """Who shops this week: customers with probability ``min(share of wallet · own rate ·
    channel uplift · economy, cap)`` (``sow`` the share of wallet of each of ``members``), aware
    non-customers at the win-back or prospect rate (``winback_rate``, ``prospect_rate``
    already times the economy, float64). Returns (shopping customer mask, seekers)."""
    n = status.size
    n_firms = aware.shape[1]
    cust = np.zeros(n, dtype=np.bool_)
    for q in range(members.size):
        i = members[q]
        p = sow[q]
        p *= purchase_rate[i]
        p *= uplift[channels[i]]
        p *= economy32
        p = p if p <= cap else cap
        if uniform32(k_occ, i) < p:
            cust[i] = True
    seekers = np.empty(n, dtype=np.int64)
    m = 0
    j = 0
    for i in range(n):
        if j < members.size and members[j] == i:
            j += 1
            continue
        rate = winback_rate if status[i] == lapsed else prospect_rate
        if not np.float64(uniform32(k_occ, i)) < rate:
            continue
        for k in range(n_firms):
            if aware[i, k]:
                seekers[m] = i
                m += 1
                break
    return cust, seekers[:m]


@_jit
def occasions_rows(cust, seekers, choice, firm, segment):
    """The week's journeys: (journey mask, seeker mask, dealer (−1: none), rows, j_dealer,
    j_seeker, j_segment)."""
    n = cust.size
    dealer = np.full(n, -1, dtype=np.int8)
    seeker = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if cust[i]:
            dealer[i] = firm[i]
    for q in range(seekers.size):
        dealer[seekers[q]] = choice[q]
        seeker[seekers[q]] = True
    journey = cust | seeker
    m = 0
    for i in range(n):
        if journey[i]:
            m += 1
    rows = np.empty(m, dtype=np.int64)
    j_dealer = np.empty(m, dtype=np.intp)
    j_seeker = np.empty(m, dtype=np.bool_)
    j_segment = np.empty(m, dtype=segment.dtype)
    r = 0
    for i in range(n):
        if journey[i]:
            rows[r] = i
            j_dealer[r] = dealer[i]
            j_seeker[r] = seeker[i]
            j_segment[r] = segment[i]
            r += 1
    return journey, seeker, dealer, rows, j_dealer, j_seeker, j_segment


# ------------------------------------------------------------------------------------------------
# phases 4-5: evaluation and purchases (sim.cognition.transaction_satisfaction, sim.behaviour)
# ------------------------------------------------------------------------------------------------
@_jit
def evaluate(
    rows,
    x,
    peak,
    end,
    effort,
    expected,
    perceived,
    satisfaction,
    st_effort,
    st_peak,
    st_end,
    affect,
    peak_weight,
    end_weight,
    base_effort,
    s0,
    disconfirmation_weight,
    loss_aversion,
    quality_weight,
    memory_weight,
    effort_weight,
):
    """Satisfaction with the week's journeys, written into the state; returns the perceived
    journey quality (the mean over the touchpoints, summed in order)."""
    n_tp = x.shape[1]
    zero = np.float32(0.0)
    half = np.float32(0.5)
    mean = np.empty(rows.size, dtype=np.float32)
    for r in range(rows.size):
        i = rows[r]
        p = x[r, 0]
        for t in range(1, n_tp):
            p += x[r, t]
        p /= np.float32(n_tp)
        mean[r] = p
        remembered = peak_weight * peak[r] + end_weight * end[r]
        excess = effort[r] - base_effort
        d = p - expected[r]
        v = d if d >= zero else loss_aversion * d
        s = s0 + disconfirmation_weight * v
        s = s + quality_weight * (p - half)
        s = s + memory_weight * remembered
        s = s - effort_weight * excess
        for t in range(n_tp):
            perceived[i, t] = x[r, t]
        satisfaction[i] = clip(s, zero, np.float32(1.0))
        st_effort[i] = effort[r]
        st_peak[i] = peak[r]
        st_end[i] = end[r]
        affect[i] = end[r]
    return mean


@_jit
def purchases(
    rows,
    dealer,
    seeker,
    failed_purchase,
    k_abandon,
    channels_j,
    accuracy,
    st_channels,
    basket,
    pers_level,
    price,
    spend,
    n_purchases,
    activity,
    status,
    firm,
    tenure,
    loyalty,
    satisfaction,
    aware,
    customer,
    abandon_p,
    omni_uplift,
    pers_uplift,
    break_even32,
    pers_div,
    economy,
    activity_rate,
):
    """Completed purchases, spend and acquisitions of the week's journeys, in place; the
    activity EMA of everyone. Returns (bought, units, revenue, new, channels used)."""
    m = rows.size
    n_tp = channels_j.shape[1]
    zero = np.float32(0.0)
    one32 = np.float32(1.0)
    bought = np.empty(m, dtype=np.bool_)
    units = np.empty(m, dtype=np.float32)
    revenue = np.empty(m)
    new = np.empty(m, dtype=np.bool_)
    n_ch = np.empty(m, dtype=np.uint8)
    everyone = np.zeros(status.size, dtype=np.bool_)
    for r in range(m):
        i = rows[r]
        k = dealer[r]
        b = not (failed_purchase[r] and uniform32(k_abandon, i) < abandon_p)
        bought[r] = b
        used = st_channels[i]
        for t in range(n_tp):
            used |= np.uint8(1) << np.uint8(channels_j[r, t])
        count = np.uint8(0)
        for c in range(8):
            if (used >> np.uint8(c)) & np.uint8(1):
                count += np.uint8(1)
        n_ch[r] = count
        omni = 1.0 + omni_uplift * np.float64(np.uint8(count - np.uint8(1)))
        gap = accuracy[r] - break_even32
        gap = gap if gap >= zero else zero
        pers = one32 + pers_uplift * pers_level[k] * gap / pers_div
        u = np.float32(np.float64(basket[i]) * omni * np.float64(pers) * economy)
        u = u * (one32 if b else zero)
        units[r] = u
        rev = np.float64(u) * price[k]
        revenue[r] = rev
        spend[i] += rev
        n_purchases[i] += 1 if b else 0
        everyone[i] = b
        nw = seeker[r] and b
        new[r] = nw
        if nw:
            status[i] = customer
            firm[i] = k
            tenure[i] = 0
            loyalty[i] = satisfaction[i]
            aware[i, k] = True
        st_channels[i] = used
    for i in range(status.size):
        a = (one32 if everyone[i] else zero) - activity[i]
        a *= activity_rate
        activity[i] += a
    return bought, units, revenue, new, n_ch


# ------------------------------------------------------------------------------------------------
# phase 12: the week's KPIs of the focal firm
# ------------------------------------------------------------------------------------------------
@_jit
def record_counts(status, firm, ltr, csat, start_firm, lost_from, columns, customer, k):
    """Firm ``k``'s customers (ascending) and counts: (mine, promoters, detractors, satisfied
    (CSAT 4-5), customers at the start of the week, customers lost this week); plus
    ``columns`` (a tuple of float32 state arrays) gathered for ``mine``, one row each, so that
    numpy sums them exactly as it sums ``array[mine]``."""
    n = status.size
    mine = np.empty(n, dtype=np.int64)
    m = 0
    promoters = detractors = satisfied = at_start = lost = 0
    for i in range(n):
        if start_firm[i] == k:
            at_start += 1
        if lost_from[i] == k:
            lost += 1
        if status[i] == customer and firm[i] == k:
            mine[m] = i
            m += 1
            if ltr[i] >= 9:
                promoters += 1
            if ltr[i] <= 6:
                detractors += 1
            if csat[i] >= 4:
                satisfied += 1
    gathered = np.empty((len(columns), m), dtype=np.float32)
    for c in range(len(columns)):
        col = columns[c]
        for q in range(m):
            gathered[c, q] = col[mine[q]]
    return m, promoters, detractors, satisfied, at_start, lost, gathered


def warm_up() -> None:
    """Compile the kernels (or load them from the on-disk cache) by running a small model for
    20 weeks — long enough that every kernel runs, the answers to complaints (due weeks after
    they are made) included — and the compiled counter lookups once, so that a later caller
    (a test with a timeout, a benchmark, a worker process) does not pay for it."""
    from sim import counter_rng
    from sim.model import CXModel  # here: sim.model imports this module

    model = CXModel(rng=0, customer_agents=False, n_customers=200)
    for _ in range(20):
        model.step()
    idx = np.arange(4, dtype=np.int64)
    for draw in (counter_rng.uniform32_at, counter_rng.uniform64_at, counter_rng.normal64_at):
        draw(1, idx)
