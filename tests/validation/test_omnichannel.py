"""Fact 7: omnichannel customers buy more (Sopadjieva, Dholakia & Benjamin 2017).

Design as in the study: customers are classified by the number of channels they used with their
firm over a first window (13 weeks, after a 4-week warm-up); their basket is units per
purchase in that window, their repeat visits the purchases in the following 26 weeks (the
study counted repeat trips in the six months after the holiday season). Only customers who
stay with the same firm throughout and buy at least once in the first window count.

Source: Sopadjieva, Dholakia & Benjamin, "A Study of 46,000 Shoppers Shows That Omnichannel
Retailing Works", *Harvard Business Review* online, 3 January 2017: omnichannel customers "spent
an average of 4% more on every shopping occasion in the store and 10% more online than
single-channel customers"; "with every additional channel they used, the shoppers spent more
money in the store" (4+ channels: 9% more than one channel); "within six months after a holiday
shopping experience, these omnichannel shoppers had logged 23% more repeat shopping trips to the
retailer's stores"."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.journey import channel_bits
from sim.state import CUSTOMER
from tests.validation import REPLICATES, model, params, seeds

pytestmark = pytest.mark.validation

WARMUP, FIRST, SECOND = 4, 13, 26


@pytest.fixture(scope="module")
def customers():
    cols = []
    for seed in seeds(REPLICATES):
        m = model(params(4000), seed)
        for _ in range(WARMUP):
            m.step()
        firm = np.where(m.state.status == CUSTOMER, m.state.firm, -1)
        stay = firm >= 0
        mask = np.zeros(m.n, np.uint8)
        units, buys, later = np.zeros(m.n), np.zeros(m.n), np.zeros(m.n)
        for t in range(FIRST + SECOND):
            m.step()
            w = m._week
            stay &= (m.state.status == CUSTOMER) & (m.state.firm == firm)
            mine = w["journey"] & (w["dealer"] == firm)
            bought = w["bought"] & mine
            if t < FIRST:
                mask[mine] |= channel_bits(w["channels"][mine])
                units += np.where(bought, w["units"], 0.0)
                buys += bought
            else:
                later += bought
        keep = stay & (buys > 0)
        n_ch = np.unpackbits(mask[:, None], axis=1).sum(axis=1)
        cols.append((n_ch[keep], units[keep], buys[keep], later[keep], m.state.segment[keep]))
    n_ch, units, buys, later, seg = (np.concatenate(c) for c in zip(*cols, strict=True))
    return {"channels": n_ch, "units": units, "buys": buys, "later": later, "segment": seg}


def basket(d, sel) -> float:
    return float(d["units"][sel].sum() / d["buys"][sel].sum())


@pytest.mark.xdist_group("omnichannel_customers")  # shares the module fixture customers
def test_f07a_omnichannel_customers_have_bigger_baskets(record, customers):
    """The range is the study's two figures, +4% (store) and +10% (online) per shopping occasion;
    the rise with the number of channels is its "with every additional channel ... spent more"."""
    d = customers
    single, multi = d["channels"] == 1, d["channels"] >= 2
    ratio = basket(d, multi) / basket(d, single)
    by_n = {
        int(k): basket(d, d["channels"] == k)
        for k in range(1, 7)
        if (d["channels"] == k).sum() >= 20
    }
    within = []  # within-segment: most- vs least-channel third of each segment
    for s in np.unique(d["segment"]):
        sel = d["segment"] == s
        lo, hi = np.quantile(d["channels"][sel], [1 / 3, 2 / 3])
        low, high = sel & (d["channels"] <= lo), sel & (d["channels"] > hi)
        if low.sum() >= 20 and high.sum() >= 20:
            within.append(basket(d, high) / basket(d, low))
    rising = all(by_n[a] < by_n[b] for a, b in itertools.pairwise(sorted(by_n)))
    record(
        "f07a",
        f"basket of multichannel / single-channel customers = {ratio:.3f} (n = {int(multi.sum())} / {int(single.sum())}); "
        f"by channels used: {', '.join(f'{k}: {v:.2f}' for k, v in by_n.items())}; within segments, most- vs "
        f"least-channel third: {', '.join(f'{v:.3f}' for v in within)}",
        "ratio in [1.04, 1.10], rising with the number of channels",
        ratio=ratio,
        basket_by_channels=by_n,
        within_segment=within,
        rising=rising,
        customers={"single": int(single.sum()), "multi": int(multi.sum())},
    )
    assert 1.04 <= ratio <= 1.10
    assert rising


@pytest.mark.xdist_group("omnichannel_customers")  # shares the module fixture customers
def test_f07b_omnichannel_customers_make_more_repeat_visits(record, customers):
    """The study reports one figure, +23% repeat trips in six months, with no spread: the test
    asserts the direction and reports the size against it. The rise with the number of channels
    is reported, not asserted: the study states it for spending, not for repeat trips (until
    issue 14 the test asserted it)."""
    d = customers
    single, multi = d["channels"] == 1, d["channels"] >= 2
    ratio = float(d["later"][multi].mean() / d["later"][single].mean())
    slope = float(np.polyfit(d["channels"], d["later"], 1)[0])
    by_n = {
        int(k): float(d["later"][d["channels"] == k].mean())
        for k in range(1, 7)
        if (d["channels"] == k).sum() >= 20
    }
    record(
        "f07b",
        f"purchases in the next {SECOND} weeks: multichannel / single-channel = {ratio:.2f}× (study: 1.23×); by channels used: "
        f"{', '.join(f'{k}: {v:.1f}' for k, v in by_n.items())} (+{slope:.2f} per extra channel)",
        "multichannel customers make more repeat purchases (ratio > 1)",
        ratio=ratio,
        visits_by_channels=by_n,
        slope_per_channel=slope,
    )
    assert ratio > 1.0
