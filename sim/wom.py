"""Word of mouth, public reviews and reputation.

* Who talks: delighted customers recommend, dissatisfied ones warn; the dissatisfied talk more
  (Anderson 1998: an asymmetric U), yet because most customers are satisfied positive messages
  outnumber negative ones overall (East, Hammond & Wright 2007).
* A warning travels farther than a recommendation (``negative_reach``).
* Messages reach the sender's network neighbours (one sparse matrix product): they move the
  receivers' attitude toward, and expectation of, the firm talked about, and make prospects aware of it
  (the imitation term of the Bass 1969 diffusion model).
* A share of messages is posted as public reviews; a firm's reputation follows the valence of
  its reviews.
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
    n_firms: int,
    negative_reach: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who hears word of mouth this week, and how much: ``(heard, positive, negative)``.

    ``talkers`` indexes the customers who talk; ``firm``, ``recommend`` and ``warn`` are theirs.
    Every message reaches all the talker's neighbours (the adjacency is symmetric, so the
    talkers' rows list whom they reach). ``heard`` indexes the customers reached by at least one
    message; ``positive`` and ``negative`` (len(heard), K) are the messages they received about
    each firm (a warning counts ``negative_reach`` times)."""
    out = np.zeros((talkers.size, 2 * n_firms), dtype=np.float32)
    fk = np.maximum(firm, 0)
    rows = np.arange(talkers.size)
    out[rows, fk] = recommend
    out[rows, n_firms + fk] = warn * np.float32(negative_reach)
    reach = adjacency[talkers]
    got = np.zeros(adjacency.shape[0], dtype=bool)
    got[reach.indices] = True
    heard = np.flatnonzero(got)
    received = np.take(reach.T @ out, heard, axis=0)
    return heard, received[:, :n_firms], received[:, n_firms:]


def listen(
    attitude: np.ndarray, expectation: np.ndarray, pos: np.ndarray, neg: np.ndarray, cp
) -> None:
    """Receivers update (in place), firm by firm: the attitude toward k rises with
    recommendations of k and falls with warnings about k (bounded updates), and the expectation
    of k moves with the net messages about k — praise of a rival raises what is expected of the
    rival, not of the firm the listener deals with. ``attitude``, ``expectation``, ``pos`` and
    ``neg`` are (len(heard), K)."""
    w = np.float32(cp.wom_attitude_weight)
    pos, neg = np.minimum(pos, 5.0), np.minimum(neg, 5.0)
    attitude += w * (pos * (1.0 - attitude) - neg * attitude)
    np.clip(attitude, 0.0, 1.0, out=attitude)
    expectation += np.float32(cp.wom_expectation_weight) * (pos - neg)


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
    u: np.ndarray,
    n_firms: int,
    rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Public reviews posted this week per firm (positive, negative); the unhappy post twice as often."""
    pos_post = recommend & (u < rate)
    neg_post = warn & (u < 2.0 * rate)
    fk = np.maximum(firm, 0)
    return (
        np.bincount(fk[pos_post], minlength=n_firms).astype(float),
        np.bincount(fk[neg_post], minlength=n_firms).astype(float),
    )


def update_reputation(
    reputation: np.ndarray, pos: np.ndarray, neg: np.ndarray, learning: float
) -> np.ndarray:
    """Reputation moves toward the share of positive reviews, faster the more reviews there are."""
    total = pos + neg
    share = np.where(total > 0, pos / np.maximum(total, 1), reputation)
    weight = learning * np.minimum(1.0, total / 10.0)
    return reputation + weight * (share - reputation)
