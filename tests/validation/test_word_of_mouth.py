"""Facts 5 and 10: positive word of mouth outnumbers negative, and word-of-mouth diffusion as a
Bass curve.

The asymmetric U of who talks (row 5a until issue 14) is written into one rule,
``sim.wom.senders``; it is a rule test now: ``tests/test_rules_word_of_mouth.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

import sim
from sim.state import CUSTOMER
from tests.validation import REPLICATES, model, params, seeds

pytestmark = pytest.mark.validation


# ------------------------------------------------------------------------------------------
# Fact 5: positive word of mouth outnumbers negative
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wom_senders():
    """Every journey's satisfaction as the word-of-mouth rule sees it, read off ``sim.wom.senders``
    with a spy that passes its arguments and result through unchanged; plus the weekly
    word-of-mouth KPIs of the focal firm and the counts for all firms (weeks 8–39). The model
    runs on the numpy reference path, which calls the rule (the compiled kernels compute the
    same numbers bit for bit without calling it: tests/test_kernels.py)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(sim.kernels, "ENABLED", False)
    calls = []
    original = sim.wom.senders

    def spy(satisfaction, journey, sociability, u, cp):
        calls.append(satisfaction[journey].copy())
        return original(satisfaction, journey, sociability, u, cp)

    mp.setattr(sim.wom, "senders", spy)
    rows, kpi = [], np.zeros(4)
    try:
        for seed in seeds(REPLICATES):
            m = model(params(4000), seed)
            for t in range(40):
                m.step()
                if t < 8:
                    continue
                rows.append(calls[-1])
                w = m._week
                kpi += (
                    m.latest["wom_positive"],
                    m.latest["wom_negative"],
                    w["wom_pos"].sum(),
                    w["wom_neg"].sum(),
                )
    finally:
        mp.undo()
    return {"satisfaction": np.concatenate(rows), "kpi": kpi}


def test_f05b_positive_word_of_mouth_outnumbers_negative(record, wom_senders):
    """East, Hammond & Wright 2007, *IJRM* 24(2):175–184, abstract: "In 15 studies, positive word
    of mouth (PWOM) is more common than negative word of mouth (NWOM) in every case. The incidence
    ratio averages 3 to 1." The abstract gives the average, not a spread, so the test asserts the
    direction (more positive than negative messages); the ratio is reported against the 3:1
    average (until issue 14 it asserted 2:1–4:1, a range with no source)."""
    pos, neg, pos_all, neg_all = d = wom_senders["kpi"]
    ratio, ratio_all = float(pos / neg), float(pos_all / neg_all)
    s = wom_senders["satisfaction"]
    record(
        "f05b",
        f"positive:negative messages {ratio:.2f}:1 about the focal firm ({ratio_all:.2f}:1 all firms); "
        f"{100 * (s < sim.Params().customer.complaint_threshold).mean():.0f}% of journeys dissatisfied",
        "more positive than negative (ratio > 1; source average 3:1)",
        focal=ratio,
        all_firms=ratio_all,
        counts=d.tolist(),
    )
    assert ratio > 1.0


# ------------------------------------------------------------------------------------------
# Fact 10: word-of-mouth diffusion follows the Bass S-curve
# ------------------------------------------------------------------------------------------
BASS_P, BASS_Q = 0.03, 0.38  # Sultan, Farley & Lehmann (1990) meta-analytic means
T_STAR = np.log(BASS_Q / BASS_P) / (BASS_P + BASS_Q)  # ≈ 6.19 periods
WEEKS = 30


def bass_market(q: float) -> sim.Params:
    """A new market in which the focal firm is adopted only through advertising and word of mouth.

    One period is one week. Nobody starts as a customer or aware; the focal firm's advertising
    makes a prospect aware with weekly probability p (``firm.advertising``); the rival does not
    advertise (and, without customers, is never talked about), so awareness means the focal
    firm. Aware prospects shop every week (``prospect_shop_rate`` 1) and buy, so awareness ≈
    adoption. Adopters never leave (``churn_base`` 0). Every adopter shops weekly
    (segments' ``purchase_rate`` 1) and recommends after (nearly) every journey
    (``wom_neutral`` 0, ``wom_positive_rate`` 1, ``sociability`` 5: the recommending
    probability min(1, 5·s) is 1 unless satisfaction < 0.2); the word-of-mouth pull on
    expectations is off (``wom_expectation_weight`` 0) so the recommending rate stays at 1
    during the diffusion. A prospect with m recommending neighbours becomes aware with
    probability 1 − (1 − r)^m ≈ r·m, so with r = q / k (k = mean degree) its weekly hazard
    is p + q·(share of its k contacts who adopted): the network version of the Bass hazard
    p + q·F.
    """
    k = sim.Params().market.network.mean_degree
    up = {
        "population.initial_customer_share": 0.0,
        "population.initial_awareness": 0.0,
        "firm.advertising": BASS_P,
        "market.rivals.rival.advertising": 0.0,
        "customer.prospect_shop_rate": 1.0,
        "customer.churn_base": 0.0,
        "customer.wom_neutral": 0.0,
        "customer.wom_positive_rate": 1.0,
        "customer.wom_expectation_weight": 0.0,
        "customer.wom_recruit_rate": q / k,
    }
    for seg in sim.Params().population.segments:
        up[f"population.segments.{seg.name}.sociability"] = 5.0
        up[f"population.segments.{seg.name}.purchase_rate"] = 1.0
    return params(4000, up)


def adoption(q: float) -> np.ndarray:
    """Weekly new adopters as a share of the market, (replicates, weeks)."""
    p = bass_market(q)
    out = []
    for seed in seeds(REPLICATES):
        m = model(p, seed)
        new = []
        for _ in range(WEEKS):
            m.step()
            new.append(float((m._week["new"] & (m._week["dealer"] == 0)).sum()) / m.n)
        assert (m.state.status[m.state.firm == 1] != CUSTOMER).all()  # nobody adopted the rival
        out.append(new)
    return np.array(out)


def discrete_bass(p: float, q: float, weeks: int) -> np.ndarray:
    """Mean-field discrete-time Bass: ``n_t = (p + q·F_{t−1})(1 − F_{t−1})`` — the model's timing
    (advertising acts in the week it reaches a prospect, a recommendation in the week after)."""
    f, new = 0.0, []
    for _ in range(weeks):
        n = (p + q * f) * (1.0 - f)
        new.append(n)
        f += n
    return np.array(new)


def fit_bass(new: np.ndarray) -> tuple[float, float]:
    """(p̂, q̂) of the discrete-time Bass curve (market potential 1) closest to the weekly adoption
    shares in least squares. On a mean-field market it returns the true p and q."""

    def curve(t, p, q):
        return discrete_bass(p, q, t.size)

    (p, q), _ = curve_fit(
        curve, np.arange(new.size), new, p0=(0.03, 0.3), bounds=([1e-4, 0.0], [1.0, 5.0])
    )
    return float(p), float(q)


def test_f10a_word_of_mouth_diffusion_is_a_bass_s_curve(record):
    """Sultan, Farley & Lehmann 1990, *JMR* 27(1):70–77 (meta-analysis of 213 applications of
    diffusion models, abstract: average coefficients of innovation p = 0.03 and imitation q = 0.38).
    The market's p and q are set to those averages, so what the test checks is the shape the
    network makes of them: adoption rises to an interior peak and falls (an S-shaped cumulative
    curve) and the fitted imitation q̂ exceeds the innovation p̂. The source gives no tolerance
    for the peak time: t̂* against t* is reported, not asserted (until issue 14 the test asserted
    a peak ≥ 2× week 1 and t̂* within ±25% of t*, bounds with no source)."""
    new = adoption(BASS_Q).mean(axis=0)
    peak = int(np.argmax(new)) + 1
    p_hat, q_hat = fit_bass(new)
    t_hat = float(np.log(q_hat / p_hat) / (p_hat + q_hat)) if q_hat > p_hat else float("nan")
    ref_peak = int(np.argmax(discrete_bass(BASS_P, BASS_Q, WEEKS))) + 1
    record(
        "f10a",
        f"new adopters peak in week {peak} at {new.max() / new[0]:.1f}× week 1 (mean-field discrete-time Bass "
        f"with the nominal p, q: week {ref_peak}); fitted Bass p̂ = {p_hat:.3f}, q̂ = {q_hat:.2f} → "
        f"t̂* = {t_hat:.2f} vs t* = {T_STAR:.2f}; {100 * new.sum():.0f}% adopted by week {WEEKS}",
        "rises to an interior peak, then falls; q̂ > p̂",
        weekly_new_share=new.tolist(),
        peak_week=peak,
        discrete_bass_peak_week=ref_peak,
        t_star=T_STAR,
        p_hat=p_hat,
        q_hat=q_hat,
        t_star_hat=t_hat,
        adopted=float(new.sum()),
    )
    # rises, then falls: an S-shaped cumulative curve
    assert 1 < peak < WEEKS and new.max() > new[0] and new[-1] < new.max()
    assert q_hat > p_hat


def test_f10b_without_imitation_there_is_no_s_curve(record):
    new = adoption(0.0).mean(axis=0)
    blocks = new[:27].reshape(9, 3).mean(axis=1)
    p_hat, q_hat = fit_bass(new)
    record(
        "f10b",
        f"q = 0: new adopters per 3-week block {', '.join(f'{1000 * b:.0f}' for b in blocks[:5])} … per 1,000 "
        f"(falling from the start); fitted p̂ = {p_hat:.3f}, q̂ = {q_hat:.3f}",
        "no rise: each 3-week block ≤ the first; q̂ < p̂ (no inflection)",
        blocks=blocks.tolist(),
        p_hat=p_hat,
        q_hat=q_hat,
    )
    assert (blocks[1:] <= blocks[0]).all()
    assert q_hat < p_hat
