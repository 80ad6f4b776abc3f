"""Facts 5 and 10: the asymmetric U of word of mouth, and word-of-mouth diffusion as a Bass curve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

import sim
from sim.state import CUSTOMER
from tests.validation import model, params, seeds

pytestmark = pytest.mark.validation


# ------------------------------------------------------------------------------------------
# Fact 5: word of mouth is an asymmetric U, yet positive outnumbers negative
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wom_senders():
    """Every journey's satisfaction, sender decisions and degree, read off ``sim.wom.senders``
    with a spy that passes its arguments and result through unchanged; plus the weekly
    word-of-mouth KPIs of the focal firm and the counts for all firms."""
    mp = pytest.MonkeyPatch()
    calls = []
    original = sim.wom.senders

    def spy(satisfaction, journey, sociability, u, cp):
        recommend, warn = original(satisfaction, journey, sociability, u, cp)
        calls.append(
            (
                satisfaction[journey].copy(),
                recommend[journey].copy(),
                warn[journey].copy(),
                np.flatnonzero(journey),
            )
        )
        return recommend, warn

    mp.setattr(sim.wom, "senders", spy)
    p = params(4000)
    rows, kpi = [], np.zeros(4)
    try:
        for seed in seeds(3):
            m = model(p, seed)
            degree = np.asarray(m.network.sum(axis=1)).ravel()
            for t in range(40):
                m.step()
                if t < 8:
                    continue
                s, rec, warn, idx = calls[-1]
                rows.append((s, rec, warn, degree[idx]))
                w = m._week
                kpi += (
                    m.latest["wom_positive"],
                    m.latest["wom_negative"],
                    w["wom_pos"].sum(),
                    w["wom_neg"].sum(),
                )
    finally:
        mp.undo()
    s, rec, warn, deg = (np.concatenate(c) for c in zip(*rows, strict=True))
    return {
        "satisfaction": s,
        "recommend": rec,
        "warn": warn,
        "degree": deg,
        "kpi": kpi,
        "negative_reach": p.customer.negative_reach,
    }


@pytest.mark.xdist_group("word_of_mouth_wom_senders")  # shares the module fixture wom_senders
def test_f05a_word_of_mouth_is_an_asymmetric_u(record, wom_senders):
    d = wom_senders
    s = d["satisfaction"]
    talk = d["recommend"] | d["warn"]
    # people told, warnings weighted by how much farther they travel
    volume = d["degree"] * (d["recommend"] + d["negative_reach"] * d["warn"])
    low, mid, high = s <= 0.2, (s > 0.4) & (s < 0.6), s >= 0.8
    talk_ratio = float(talk[low].mean() / talk[high].mean())
    volume_ratio = float(volume[low].mean() / volume[high].mean())
    rates = {
        k: float(talk[v].mean())
        for k, v in {"s<=0.2": low, "0.4<s<0.6": mid, "s>=0.8": high}.items()
    }
    record(
        "f05a",
        f"share who talk after a journey: {rates['s<=0.2']:.2f} at s ≤ 0.2, {rates['0.4<s<0.6']:.2f} in the middle, "
        f"{rates['s>=0.8']:.2f} at s ≥ 0.8 → dissatisfied/satisfied {talk_ratio:.2f}×; "
        f"messages delivered (degree × reach) {volume_ratio:.2f}×",
        "U (middle lowest); both ratios in [1.5, 3]",
        talk_rates=rates,
        talk_ratio=talk_ratio,
        volume_ratio=volume_ratio,
        journeys={"low": int(low.sum()), "mid": int(mid.sum()), "high": int(high.sum())},
    )
    assert rates["0.4<s<0.6"] < min(rates["s<=0.2"], rates["s>=0.8"])
    assert 1.5 <= talk_ratio <= 3.0
    assert 1.5 <= volume_ratio <= 3.0


@pytest.mark.xdist_group("word_of_mouth_wom_senders")  # shares the module fixture wom_senders
def test_f05b_positive_word_of_mouth_outnumbers_negative(record, wom_senders):
    pos, neg, pos_all, neg_all = d = wom_senders["kpi"]
    ratio, ratio_all = float(pos / neg), float(pos_all / neg_all)
    s = wom_senders["satisfaction"]
    record(
        "f05b",
        f"positive:negative messages {ratio:.2f}:1 about the focal firm ({ratio_all:.2f}:1 all firms); "
        f"{100 * (s < sim.Params().customer.complaint_threshold).mean():.0f}% of journeys dissatisfied",
        "between 2:1 and 4:1",
        focal=ratio,
        all_firms=ratio_all,
        counts=d.tolist(),
    )
    assert 2.0 <= ratio <= 4.0


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
    for seed in seeds(5):
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
        "interior peak ≥ 2× week 1, q̂ > p̂; t̂* within ±25% of t*",
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
    assert 3 <= peak <= WEEKS - 5 and new.max() >= 2.0 * new[0]
    assert q_hat > p_hat
    assert abs(t_hat - T_STAR) <= 0.25 * T_STAR


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
