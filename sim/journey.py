"""The customer journey: touchpoints, channels and how one journey is experienced.

A journey walks the touchpoints in order (awareness → … → after-sales service). At each one
the customer picks a channel (segment preference, stickiness to the current channel), meets
the firm's true quality for that touchpoint × channel, plus personalisation and noise, and
maybe a failure; a channel change costs effort and quality unless the firm's omnichannel
integration removes the seam (Lemon & Verhoef 2016, journey and touchpoints; Verhoef,
Kannan & Inman 2015, omnichannel integration).

All functions are vectorised over the whole population: one array row per customer, with a
mask saying who is on a journey this week.
"""

from __future__ import annotations

import numpy as np

TOUCHPOINTS = ("awareness", "consideration", "purchase", "delivery", "after_sales")
CHANNELS = ("web", "app", "social", "phone", "email", "store")
N_TOUCHPOINTS = len(TOUCHPOINTS)
N_CHANNELS = len(CHANNELS)
PURCHASE_TP = TOUCHPOINTS.index("purchase")
DELIVERY_TP = TOUCHPOINTS.index("delivery")
DIGITAL = np.array([c in ("web", "app", "social", "email") for c in CHANNELS])
HUMAN = np.array([c in ("phone", "store") for c in CHANNELS])
PHYSICAL = np.array([c == "store" for c in CHANNELS])


def choose_channels(
    cum_pref: np.ndarray,
    segment: np.ndarray,
    u_pick: np.ndarray,
    u_stay: np.ndarray,
    stickiness: float,
) -> np.ndarray:
    """Channel index per customer and touchpoint, shape (N, T) int8.

    ``cum_pref`` (S, C) holds each segment's cumulative channel-choice probabilities; at the
    first touchpoint the channel is drawn from the segment's preference, later ones keep the
    previous channel with probability ``stickiness`` and redraw otherwise.
    ``u_pick`` and ``u_stay`` are uniforms of shape (N, T).
    """
    bounds = cum_pref[:, :-1]  # (S, C-1): the drawn channel is the number of bounds below u
    if u_pick.dtype == np.float32:
        bounds = channel_bounds32(cum_pref)
    n, t = u_pick.shape
    own = np.take(bounds, segment, axis=0)  # (N, C-1)
    out = np.zeros((n, t), dtype=np.int8)
    for c in range(own.shape[1]):
        out += u_pick > own[:, c, None]
    stay = u_stay < stickiness
    for k in range(1, t):
        out[:, k] = np.where(stay[:, k], out[:, k - 1], out[:, k])
    return out


def channel_bounds32(cum_pref: np.ndarray) -> np.ndarray:
    """The channel-choice bounds ``cum_pref[:, :-1]`` as float32 for float32 draws: for a
    float32 u, u > b (float64) exactly when u > the largest float32 <= b."""
    bounds = cum_pref[:, :-1]
    b32 = bounds.astype(np.float32)
    return np.where(b32 > bounds, np.nextafter(b32, np.float32(-1.0)), b32)


def experience_touchpoints(
    quality: np.ndarray,
    firm: np.ndarray,
    channels: np.ndarray,
    noise: np.ndarray,
    failed: np.ndarray,
    personal: np.ndarray,
    integration: np.ndarray,
    journey_p,
) -> tuple[np.ndarray, np.ndarray]:
    """Experienced quality (N, T) in [0, 1] and journey effort (N,) in [0, 1].

    ``quality`` (K, T, C) is each firm's effective true quality, ``firm`` (N,) the firm each
    customer deals with, ``noise`` (N, T) standard normals, ``failed`` (N, T) bool,
    ``personal`` (N,) the personalisation effect on quality (may be negative when the data
    behind it is poor), ``integration`` (K,) the effective omnichannel integration.
    """
    n, t = channels.shape
    _, n_tp, n_ch = quality.shape
    cell = (firm.astype(np.intp) * (n_tp * n_ch))[:, None] + np.arange(
        0, t * n_ch, n_ch
    )  # (N, T) cell in the map
    cell += channels
    x = np.take(quality, cell)
    x += personal[:, None]
    x += journey_p.quality_noise * noise
    seam = np.zeros((n, t), dtype=bool)
    seam[:, 1:] = channels[:, 1:] != channels[:, :-1]
    friction = (1.0 - integration)[firm].astype(np.float32)  # (N,)
    x -= seam * (journey_p.switch_quality_penalty * friction)[:, None]
    x -= failed * np.float32(journey_p.failure_penalty)
    np.clip(x, 0.0, 1.0, out=x)
    effort = (
        journey_p.base_effort
        + (
            count_true(seam) * journey_p.switch_effort * friction
            + count_true(failed) * journey_p.failure_effort
        )
        / t
    )
    return x.astype(np.float32, copy=False), np.minimum(effort, 1.0).astype(np.float32)


def count_true(mask: np.ndarray) -> np.ndarray:
    """Number of True entries in each row of a (N, T) mask, as int64 (``mask.sum(axis=1)``, faster for small T)."""
    count = np.zeros(mask.shape[0], dtype=np.int8 if mask.shape[1] < 128 else np.int64)
    for k in range(mask.shape[1]):
        count += mask[:, k]
    return count.astype(np.int64)


def channel_bits(channels: np.ndarray) -> np.ndarray:
    """Bit mask (uint8) of the channels used in each journey."""
    bits = np.zeros(channels.shape[0], dtype=np.uint8)
    for k in range(channels.shape[1]):
        bits |= np.left_shift(np.uint8(1), channels[:, k].astype(np.uint8))
    return bits
