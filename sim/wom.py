"""Word of mouth, public reviews and reputation.

* Who talks: delighted customers recommend, dissatisfied ones warn; the dissatisfied talk more
  (Anderson 1998: an asymmetric U), yet because most customers are satisfied positive messages
  outnumber negative ones overall (East, Hammond & Wright 2007).
* A warning travels farther than a recommendation (``negative_reach``).
* Messages reach the sender's network neighbours (one sparse matrix product): they move the
  receivers' attitude toward, and expectation of, the firm talked about, and make prospects aware of it
  (the imitation term of the Bass 1969 diffusion model).
* A message carries the talker's experience (their satisfaction): the receivers' attitude moves
  toward it, as an own episode moves it toward the episode's satisfaction.
* A share of messages is posted as public reviews rated with the reviewer's satisfaction; a
  firm's reputation follows the mean rating of its reviews.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def senders(
    satisfaction: np.ndarray, journey: np.ndarray, sociability: np.ndarray, u: np.ndarray, cp
) -> tuple[np.ndarray, np.ndarray]:
    """(recommend, warn) masks among customers with a journey this week.

    The propensity is a U in satisfaction: ``rate⁺·(s − s_n)/(1 − s_n)`` above the neutral
    point ``s_n`` and ``rate⁻·(s_n − s)/s_n`` below it, times the segment's sociability."""
    s_n = np.float32(cp.wom_neutral)
    up = np.maximum(satisfaction - s_n, 0) / max(1.0 - cp.wom_neutral, 1e-6)
    down = np.maximum(s_n - satisfaction, 0) / max(cp.wom_neutral, 1e-6)
    recommend = journey & (u < cp.wom_positive_rate * up * sociability)
    warn = journey & (u < cp.wom_negative_rate * down * sociability)
    return recommend, warn


def spread(
    adjacency: sp.csr_matrix,
    talkers: np.ndarray,
    firm: np.ndarray,
    recommend: np.ndarray,
    warn: np.ndarray,
    said: np.ndarray,
    n_firms: int,
    negative_reach: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who hears word of mouth this week, and what: ``(heard, pos, neg, pos_said, neg_said)``.

    ``talkers`` indexes the customers who talk; ``firm``, ``recommend``, ``warn`` and ``said``
    (the satisfaction each reports: what the talker experienced) are theirs. Every message
    reaches all the talker's neighbours (the adjacency is symmetric, so the talkers' rows list
    whom they reach). ``heard`` indexes the customers reached by at least one message; ``pos``
    and ``neg`` (len(heard), K) count the recommendations and warnings they received about each
    firm (a warning counts ``negative_reach`` times), ``pos_said`` and ``neg_said`` sum the
    reported satisfaction over those messages."""
    out = np.zeros((talkers.size, 4 * n_firms), dtype=np.float32)
    fk = np.maximum(firm, 0)
    rows = np.arange(talkers.size)
    warn_w = warn * np.float32(negative_reach)
    out[rows, fk] = recommend
    out[rows, n_firms + fk] = warn_w
    out[rows, 2 * n_firms + fk] = recommend * said
    out[rows, 3 * n_firms + fk] = warn_w * said
    reach = adjacency[talkers]
    got = np.zeros(adjacency.shape[0], dtype=bool)
    got[reach.indices] = True
    heard = np.flatnonzero(got)
    received = np.take(reach.T @ out, heard, axis=0)
    k = n_firms
    return (
        heard,
        received[:, :k],
        received[:, k : 2 * k],
        received[:, 2 * k : 3 * k],
        received[:, 3 * k :],
    )


def listen(
    attitude: np.ndarray,
    expectation: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    pos_said: np.ndarray,
    neg_said: np.ndarray,
    cp,
) -> None:
    """Receivers update (in place), firm by firm.

    The attitude toward k moves toward the experience the talkers report about k, the way an
    own episode moves it toward the episode's satisfaction: ``a += w·(n⁺·(s̄⁺ − a) + n⁻·(s̄⁻ −
    a))`` with ``n`` the messages (each kind capped at 5, here and for the expectation) and
    ``s̄`` their mean reported satisfaction. Attitudes toward the own firm and toward a rival are thus one construct,
    built from experience, one's own or others' (issue 14: a recommendation used to pull
    toward 1 and a warning toward 0, so more praise in a market lifted a rarely used rival's
    attitude above what experience of it supports). The expectation of k moves with the net
    messages about k — praise of a rival raises what is expected of the rival, not of the firm
    the listener deals with. All arrays are (len(heard), K)."""
    w = np.float32(cp.wom_attitude_weight)
    capped = []
    for n, said in ((pos, pos_said), (neg, neg_said)):
        heard_any = n > 0
        mean_said = np.divide(said, n, out=np.zeros_like(said), where=heard_any)
        capped.append(np.minimum(n, 5.0))
        attitude += w * capped[-1] * np.where(heard_any, mean_said - attitude, 0.0)
    np.clip(attitude, 0.0, 1.0, out=attitude)
    expectation += np.float32(cp.wom_expectation_weight) * (capped[0] - capped[1])


def row_sum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` for a (N, K) array, added column by column when K < 8 (the order numpy
    uses for so few columns, so the result is the same, and much faster for large N)."""
    if a.shape[1] >= 8 or a.shape[1] == 0:
        return a.sum(axis=1)
    total = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        total += a[:, k]
    return total


def recruit(
    aware: np.ndarray, pos: np.ndarray, eligible: np.ndarray, u: np.ndarray, rate: float
) -> np.ndarray:
    """Prospects become aware of firm k with probability 1 − (1 − q)^messages (in place); returns new awareness."""
    p_aware = 1.0 - (1.0 - rate) ** pos
    new = eligible[:, None] & ~aware & (u < p_aware)
    aware |= new
    return new


def reviews(
    recommend: np.ndarray,
    warn: np.ndarray,
    firm: np.ndarray,
    rating: np.ndarray,
    u: np.ndarray,
    n_firms: int,
    rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Public reviews posted this week per firm: ``(count, summed rating)``; a review's rating
    is the reviewer's satisfaction (0–1, a star rating), and the unhappy post twice as often."""
    posted = (recommend & (u < rate)) | (warn & (u < 2.0 * rate))
    fk = np.maximum(firm, 0)[posted]
    return (
        np.bincount(fk, minlength=n_firms).astype(float),
        np.bincount(fk, weights=rating[posted].astype(float), minlength=n_firms),
    )


def update_reputation(
    reputation: np.ndarray, count: np.ndarray, rating_sum: np.ndarray, learning: float
) -> np.ndarray:
    """Reputation moves toward the mean rating of the week's reviews (the average star rating a
    review site shows), faster the more reviews there are; on the satisfaction scale, so an
    attitude drifting toward it stays one construct with attitudes built from experience."""
    mean = np.where(count > 0, rating_sum / np.maximum(count, 1), reputation)
    weight = learning * np.minimum(1.0, count / 10.0)
    return reputation + weight * (mean - reputation)
