"""CXModel: the schedule. One week = one ``step()``, a fixed sequence of named phases.

Phases (the same order as in ``sim/ODD.md``):

1. ``_phase_shocks``        start shocks due this week, set market-wide effects
2. ``_phase_occasions``     who shops this week, and at which firm
3. ``_phase_journeys``      channels, experienced quality, failures, effort, affect (peak–end)
4. ``_phase_evaluate``      satisfaction (expectation–disconfirmation), likelihood to recommend
5. ``_phase_purchases``     completed purchases, spend, acquisitions
6. ``_phase_complaints``    complaints and service recovery
7. ``_phase_learn``         expectations, loyalty, attitudes
8. ``_phase_word_of_mouth`` recommendations, warnings, reviews, reputation, awareness
9. ``_phase_churn``         leaving and switching
10. ``_phase_mechanism``    each firm's stages 3→1→2 (data, audience, map), 5→4 (feedback, improve)
11. ``_phase_economics``    revenue, costs, profit
12. ``_phase_record``       KPIs of the week

Within a phase every customer is updated simultaneously from the state at the start of the
phase (compute, then commit). All randomness comes from the named streams in ``sim.rng``; the
weekly draws are counter-based (``sim.counter_rng``: customer i's draw of a process in week t
depends on nothing else), so the rules are evaluated, and draw, only for the customers they
concern (the week's shoppers, talkers, listeners, switch candidates), whose indices are kept
in the week's record (:class:`WeekRecord`). The per-customer work runs in compiled kernels
(``sim.kernels``) with the numpy code of each phase as the bit-identical reference path.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np

from sim import (
    behaviour,
    cognition,
    counter_rng,
    emotion,
    journey,
    kernels,
    mechanism,
    mesa_compat,
    shocks,
    wom,
)
from sim.agents import Customer
from sim.firm import Firm
from sim.journey import N_CHANNELS, N_TOUCHPOINTS, PURCHASE_TP
from sim.kpis import SERIES
from sim.network import build_network
from sim.params import Params, validate
from sim.rng import Streams
from sim.state import CUSTOMER, LAPSED, PROSPECT, CustomerState

# number of channels in each possible channel bit mask, signed: ``count - 1`` must be -1 for an
# empty mask (a customer who has just switched firms), not an unsigned wrap-around to 2**64 - 1
CHANNELS_IN_MASK = (
    np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1).astype(np.int64)
)


def _gamma_mean_one(r: np.random.Generator, cv2: float, n: int) -> np.ndarray:
    """``n`` gamma draws of mean 1 and squared coefficient of variation ``cv2`` (ones when 0)."""
    if cv2 <= 0:
        return np.ones(n, dtype=np.float32)
    return r.gamma(1.0 / cv2, cv2, n).astype(np.float32)


class WeekRecord(dict):
    """What happened this week: masks and values read by the later phases, the KPIs and analysis.

    Journey-level results are computed for the customers on a journey only: ``rows`` holds
    their indices and ``j_<name>`` their values (``j_dealer``, ``j_channels``, ``j_failed``, …).
    Reading ``<name>`` (e.g. ``week["failed"]``) expands ``j_<name>`` to a population-wide array
    on first use, with ``False``/0 (channels: -1) for the customers without a journey.
    """

    FILL: ClassVar[dict[str, object]] = {
        "failed": False,
        "channels": -1,
        "experienced": 0,
        "effort": 0,
        "accuracy": 0,
        "end": 0,
        "peak": 0,
        "perceived_mean": 0,
        "bought": False,
        "new": False,
        "units": 0,
        "revenue": 0,
        "n_channels": 0,
        "dissatisfied": False,
        "complained": False,
    }

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def __missing__(self, key: str) -> np.ndarray:
        if key not in self.FILL or "j_" + key not in self:
            raise KeyError(key)
        part = self["j_" + key]
        full = np.full((self.n, *part.shape[1:]), self.FILL[key], dtype=part.dtype)
        full[self["rows"]] = part
        self[key] = full
        return full


class CXModel(mesa.Model):
    """The customer experience management model.

    ``CXModel(params, rng=seed)``; ``customer_agents=False`` skips building the Mesa
    ``Customer`` views (the batch path: the arrays are the state either way, and
    :meth:`customer` builds a view on demand). As Mesa users expect (``sim.mesa_compat``):
    ``rng`` may also be None (a seed from the OS), a SeedSequence or a Generator, and the seed
    used is ``model.seed``; keyword parameters (``n_customers=500``, ``**{"firm.support.human":
    0.8}``) override ``params``; ``model.datacollector`` holds the weekly KPIs, and
    ``customer_sample=k`` makes k customers (only) Mesa agents whose state it records each week.
    """

    def __init__(
        self,
        params: Params | None = None,
        rng=0,
        *,
        customer_agents: bool | None = None,
        customer_sample: int = 0,
        **overrides,
    ):
        seed = mesa_compat.seed_from(rng)
        super().__init__(rng=seed)
        self.params = validate(mesa_compat.params_from(params, overrides))
        self.seed = seed
        self.streams = Streams(self.seed)
        p = self.params
        self.n = p.population.n_customers
        self.scale = self.n / 1000.0  # money per 1,000 market customers → per market
        segs = p.population.segments
        self.n_segments = len(segs)
        self.firms: list[Firm] = [
            Firm(self, k, fp, p, self.n_segments) for k, fp in enumerate(p.firms)
        ]
        self.n_firms = len(self.firms)
        self._segment_tables()
        self.state = CustomerState(self.n, self.n_firms, N_TOUCHPOINTS)
        self._initialise_population()
        # constant in a run, so computed once: the segment sizes (customers never change
        # segment) and the visit uplift of each channel mask (more channels, more visits)
        self._seg_sizes = np.bincount(self.state.segment, minlength=self.n_segments).astype(
            np.int64
        )
        uplift = p.customer.omnichannel_visit_uplift * np.maximum(CHANNELS_IN_MASK - 1, 0)
        self._visit_uplift = (1.0 + uplift).astype(np.float32)
        net = p.market.network
        self.network = build_network(
            net.kind, self.n, net.mean_degree, net.rewire, self.streams.network
        )
        self.shock_state = shocks.ShockState(self.n_firms)
        self._customer_views: dict[int, Customer] = {}
        if mesa_compat.all_customer_agents(customer_agents, customer_sample):
            for i in range(self.n):
                self._customer_views[i] = Customer(self, i)
        self.history: list[np.ndarray] = []
        self.kpi_names = SERIES
        self._week = WeekRecord(self.n)
        self._clv_margin = np.nan
        self._clv_retention = np.nan
        self._discount = (1.0 + p.market.discount_rate) ** (1 / 52) - 1.0
        self.running = True
        self._refresh_counts()
        self.datacollector = mesa_compat.make_datacollector(self, customer_sample)

    # ------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------
    def _segment_tables(self) -> None:
        segs = self.params.population.segments
        pref = np.array([s.channel_pref for s in segs], dtype=float)
        pref /= pref.sum(axis=1, keepdims=True)
        self.cum_pref = np.cumsum(pref, axis=1)
        self._channel_bounds32 = journey.channel_bounds32(self.cum_pref)
        self.seg_share = np.array([s.share for s in segs]) / sum(s.share for s in segs)
        self.seg_need = np.array([s.need for s in segs], dtype=np.float32)
        self.seg_rate = np.array([s.purchase_rate for s in segs], dtype=np.float32)
        self.seg_basket = np.array([s.basket for s in segs], dtype=np.float32)
        self.seg_price = np.array([s.price_sensitivity for s in segs], dtype=np.float32)
        self.seg_social = np.array([s.sociability for s in segs], dtype=np.float32)

    def _initialise_population(self) -> None:
        p, st, r = self.params, self.state, self.streams.population
        n, k = self.n, self.n_firms
        st.segment[:] = np.minimum(
            np.searchsorted(np.cumsum(self.seg_share), r.random(n)), self.n_segments - 1
        )
        # one expectation per firm, starting from the segment's need (the same draw for every firm)
        st.expectation[:] = np.clip(self.seg_need[st.segment] + r.normal(0, 0.05, n), 0, 1)[:, None]
        shares = np.array([f.params.initial_share for f in self.firms], dtype=float)
        shares = shares / shares.sum() if shares.sum() > 0 else np.full(k, 1.0 / k)
        is_cust = r.random(n) < p.population.initial_customer_share
        firm = np.minimum(np.searchsorted(np.cumsum(shares), r.random(n)), k - 1)
        st.status[:] = np.where(is_cust, CUSTOMER, PROSPECT)
        st.firm[:] = np.where(is_cust, firm, -1)
        st.tenure[:] = np.where(is_cust, r.integers(0, 157, n), 0)
        st.attitude[:] = np.clip(r.normal(p.population.initial_attitude, 0.08, (n, k)), 0, 1)
        loyalty = np.clip(r.normal(p.population.initial_loyalty, 0.08, n), 0, 1)
        st.loyalty[:] = np.where(is_cust, loyalty, 0.0)
        rows = np.flatnonzero(is_cust)
        st.attitude[rows, firm[rows]] = loyalty[rows]
        st.aware[:] = r.random((n, k)) < p.population.initial_awareness
        st.aware[rows, firm[rows]] = True
        st.satisfaction[:] = np.where(is_cust, loyalty, 0.5)
        st.perceived[:] = np.float32(self.firms[0].quality.mean())
        st.effort[:] = p.journey.base_effort
        first = np.minimum(np.searchsorted(self.cum_pref[0], r.random(n)), N_CHANNELS - 1)
        st.channels[:] = np.where(is_cust, np.left_shift(1, first), 0).astype(np.uint8)
        self._individual_traits()
        st.activity[:] = np.where(is_cust, st.purchase_rate, 0.0)
        self._cohort = self._cohort_schedule(is_cust, loyalty, first)
        st.last_failure[:] = -1
        st.last_complaint[:] = -1
        st.ltr[:] = behaviour.likelihood_to_recommend(
            st.loyalty, st.satisfaction, st.affect, p.customer, st.scale_use
        )
        st.csat[:] = behaviour.csat_answer(st.satisfaction, p.customer, st.scale_use)

    def _cohort_schedule(self, is_cust, loyalty, first) -> dict | None:
        """A fixed cohort (``population.cohort_weeks``): every customer is assigned the week the
        focal firm wins them, in proportion to the weights (largest-remainder quotas, in a random
        order from the ``cohort`` stream); until then they are prospects aware of no firm.
        Their loyalty and first channel are the ones drawn above for initial customers."""
        weights = np.asarray(self.params.population.cohort_weeks, dtype=float)
        if weights.size == 0:
            return None
        st, n = self.state, self.n
        quota = weights / weights.sum() * n
        count = np.floor(quota).astype(np.int64)
        short = n - int(count.sum())
        count[np.argsort(-(quota - count), kind="stable")[:short]] += 1
        week = self.streams.keyed("cohort", 0).permutation(
            np.repeat(np.arange(1, weights.size + 1), count)
        )
        st.status[:] = PROSPECT
        st.firm[:] = -1
        st.tenure[:] = 0
        st.aware[:] = False
        st.loyalty[:] = 0.0
        st.satisfaction[:] = 0.5
        st.channels[:] = 0
        st.activity[:] = 0.0
        return {
            "week": week,
            "loyalty": loyalty.astype(st.loyalty.dtype),
            "channel": np.left_shift(1, first).astype(np.uint8),
        }

    def _join_cohort(self, t: int) -> None:
        """Customers of the cohort won in week ``t - 1`` become the focal firm's customers at the
        start of week ``t`` (the end of their first-purchase week)."""
        c, st = self._cohort, self.state
        rows = np.flatnonzero(c["week"] == t - 1)
        if rows.size == 0:
            return
        st.status[rows] = CUSTOMER
        st.firm[rows] = 0
        st.tenure[rows] = 0
        st.aware[rows, 0] = True
        st.loyalty[rows] = c["loyalty"][rows]
        st.attitude[rows, 0] = c["loyalty"][rows]
        st.satisfaction[rows] = c["loyalty"][rows]
        st.channels[rows] = c["channel"][rows]
        st.activity[rows] = st.purchase_rate[rows]
        self._refresh_counts()

    def _individual_traits(self) -> None:
        """Heterogeneous customers, drawn once, each trait from its own ``heterogeneity`` stream
        (so changing one trait's spread leaves the others' draws alone): own purchase rate,
        basket and price sensitivity, each the segment's value times a gamma draw of mean 1 (the
        gamma mixing of customer-base analysis: Ehrenberg 1959; Schmittlein, Morrison & Colombo
        1987), and own scale use of the survey answers."""
        cp, st, n = self.params.customer, self.state, self.n
        h = [self.streams.keyed("heterogeneity", trait) for trait in range(4)]
        seg = st.segment
        rate = self.seg_rate[seg] * _gamma_mean_one(h[0], 1.0 / cp.purchase_rate_shape, n)
        st.purchase_rate[:] = np.minimum(rate, cp.purchase_rate_cap)
        st.basket[:] = self.seg_basket[seg] * _gamma_mean_one(h[1], cp.basket_cv**2, n)
        st.price_sensitivity[:] = self.seg_price[seg] * _gamma_mean_one(
            h[2], cp.price_sensitivity_cv**2, n
        )
        st.scale_use[:] = h[3].normal(0.0, cp.ltr_scale_sd, n)

    # ------------------------------------------------------------------------------------
    # Mesa views
    # ------------------------------------------------------------------------------------
    def customer(self, i: int) -> Customer:
        """The Mesa agent of customer ``i`` (built on demand when agents were not pre-built)."""
        if i not in self._customer_views:
            if not 0 <= i < self.n:
                raise IndexError(f"customer index {i} outside 0..{self.n - 1}")
            self._customer_views[i] = Customer(self, i)
        return self._customer_views[i]

    @property
    def focal(self) -> Firm:
        return self.firms[0]

    # ------------------------------------------------------------------------------------
    # the week
    # ------------------------------------------------------------------------------------
    def step(self) -> None:
        t = self.steps
        w = self._week = WeekRecord(self.n)
        if self._cohort is not None:
            self._join_cohort(t)
        w["start_firm"] = np.where(self.state.status == CUSTOMER, self.state.firm, -1)
        self._phase_shocks(t)
        self._phase_occasions(t)
        self._phase_journeys(t)
        self._phase_evaluate()
        self._phase_purchases()
        self._phase_complaints()
        self._phase_learn()
        self._phase_word_of_mouth()
        self._phase_churn()
        self._phase_mechanism(t)
        self._phase_economics(t)
        self._phase_record(t)
        mesa_compat.collect(self)

    def _phase_shocks(self, t: int) -> None:
        u = self.streams.shock.random(len(self.params.shocks))
        shocks.start_shocks(self, t, u)
        shocks.apply_active(self, t)

    def _phase_occasions(self, t: int) -> None:
        """Customers shop with their segment's weekly rate (more if they use more channels);
        aware prospects and lapsed customers shop at a lower rate and pick a firm by logit."""
        st, cp, w = self.state, self.params.customer, self._week
        n, k = self.n, self.n_firms
        key = self.streams.draw_key
        k_occ, k_adv, k_choice = key("occasion", t), key("advertising", t), key("choice", t)
        economy = self.shock_state.economy
        # advertising makes non-customers aware (Bass p)
        adv = np.array([f.advertising for f in self.firms], dtype=np.float32)
        if kernels.ENABLED:
            self._occasions_compiled(k_occ, k_adv, k_choice, adv, economy)
            return
        u_occ = counter_rng.uniform32_array(k_occ, n)
        u_adv = counter_rng.uniform32_array(k_adv, (n, k))
        outside = np.flatnonzero(st.status != CUSTOMER)
        aware = np.take(st.aware, outside, axis=0)
        aware |= np.take(u_adv, outside, axis=0) < adv
        st.aware[outside] = aware
        # customers: their own rate, moved by loyalty (share of wallet) and raised by the number
        # of channels used
        members = np.flatnonzero(st.status == CUSTOMER)
        prob = behaviour.purchase_probability(
            st.purchase_rate[members],
            st.loyalty[members],
            self._visit_uplift[st.channels[members]],
            economy,
            cp,
        )
        cust = np.zeros(n, dtype=bool)
        cust[members[u_occ[members] < prob]] = True
        # aware prospects and lapsed customers
        outside_rate = (
            np.where(st.status[outside] == LAPSED, cp.winback_rate, cp.prospect_shop_rate) * economy
        )
        knows_any = aware[:, 0].copy()
        for j in range(1, k):
            knows_any |= aware[:, j]
        seekers = outside[(u_occ[outside] < outside_rate) & knows_any]
        reputation = np.array([f.reputation for f in self.firms])
        price = np.array([f.price for f in self.firms])
        choice = behaviour.choose_firm(
            np.take(st.attitude, seekers, axis=0),
            np.take(st.aware, seekers, axis=0),
            reputation,
            price,
            st.price_sensitivity[seekers],
            counter_rng.uniform64_rows(k_choice, seekers, k),
            cp,
        )
        dealer = np.where(cust, st.firm, np.int8(-1))
        dealer[seekers] = choice
        seeker = np.zeros(n, dtype=bool)
        seeker[seekers] = True
        rows = np.flatnonzero(cust | seeker)
        w.update(
            journey=cust | seeker,
            seeker=seeker,
            dealer=dealer,
            rows=rows,
            j_dealer=dealer[rows].astype(np.intp),
            j_seeker=seeker[rows],
            j_segment=st.segment[rows],
        )

    def _occasions_compiled(self, k_occ, k_adv, k_choice, adv, economy) -> None:
        """``_phase_occasions`` through compiled kernels (``sim.kernels.occasions_*``); the
        exponential of the share of wallet and the logit choice of the few seekers stay in
        numpy. The same results bit for bit."""
        st, cp, w = self.state, self.params.customer, self._week
        f32 = np.float32
        members, x = kernels.occasions_aware(
            st.status,
            st.aware,
            k_adv,
            adv,
            st.loyalty,
            CUSTOMER,
            f32(cp.sow_reference),
            f32(cp.sow_loyalty_slope),
        )
        cust, seekers = kernels.occasions_shoppers(
            members,
            np.exp(x, out=x),
            k_occ,
            st.purchase_rate,
            self._visit_uplift,
            st.channels,
            f32(economy),
            f32(cp.purchase_rate_cap),
            st.status,
            st.aware,
            LAPSED,
            cp.winback_rate * economy,
            cp.prospect_shop_rate * economy,
        )
        choice = behaviour.choose_firm(
            np.take(st.attitude, seekers, axis=0),
            np.take(st.aware, seekers, axis=0),
            np.array([f.reputation for f in self.firms]),
            np.array([f.price for f in self.firms]),
            st.price_sensitivity[seekers],
            counter_rng.uniform64_rows(k_choice, seekers, self.n_firms),
            cp,
        )
        journey_, seeker, dealer, rows, j_dealer, j_seeker, j_segment = kernels.occasions_rows(
            cust, seekers, choice, st.firm, st.segment
        )
        w.update(
            journey=journey_,
            seeker=seeker,
            dealer=dealer,
            rows=rows,
            j_dealer=j_dealer,
            j_seeker=j_seeker,
            j_segment=j_segment,
        )

    def _phase_journeys(self, t: int) -> None:
        st, jp, w = self.state, self.params.journey, self._week
        n, T = self.n, N_TOUCHPOINTS
        rows, dealer, segment = w["rows"], w["j_dealer"], w["j_segment"]
        if kernels.ENABLED:
            self._journeys_compiled(t)
            return
        key = self.streams.draw_key
        u_pick = np.take(counter_rng.uniform32_array(key("pick", t), (n, T)), rows, axis=0)
        u_stay = np.take(counter_rng.uniform32_array(key("stay", t), (n, T)), rows, axis=0)
        noise = np.take(counter_rng.normal32_array(key("noise", t), (n, T)), rows, axis=0)
        u_fail = np.take(counter_rng.uniform32_array(key("fail", t), (n, T)), rows, axis=0)
        channels = journey.choose_channels(
            self.cum_pref, segment, u_pick, u_stay, jp.channel_stickiness
        )
        fail_p = np.stack([f.failure_now(t) for f in self.firms]).astype(np.float32)  # (K, C)
        failed = u_fail < np.take(fail_p, dealer[:, None] * N_CHANNELS + channels)
        personal, accuracy = mechanism.stage7_personalization(
            self.firms, dealer, segment, jp.personalization_gain, jp.personalization_break_even
        )
        quality = np.stack([f.effective_quality() for f in self.firms]).astype(np.float32)
        integration = mechanism.stage6_omnichannel(self.firms)
        x, effort = journey.experience_touchpoints(
            quality, dealer, channels, noise, failed, personal, integration, jp
        )
        expected = st.expectation[
            rows, dealer
        ]  # each customer's expectation of the firm dealt with
        end, peak = emotion.journey_affect(st.affect[rows], x, expected, self.params.customer)
        failed_any = failed[:, 0].copy()
        for k in range(1, failed.shape[1]):
            failed_any |= failed[:, k]
        self._record_journeys(
            t, rows, (channels, failed, x, effort, accuracy, end, peak, expected, failed_any)
        )

    JOURNEY_RESULTS: ClassVar[tuple[str, ...]] = tuple(
        f"j_{name}"
        for name in (
            "channels",
            "failed",
            "experienced",
            "effort",
            "accuracy",
            "end",
            "peak",
            "expected",
            "failed_any",
        )
    )

    def _record_journeys(self, t: int, rows: np.ndarray, out: tuple) -> None:
        """The week's journeys into the week's record (and who met a failure into the state):
        ``out`` holds the :attr:`JOURNEY_RESULTS`, in that order, one entry per row."""
        self.state.last_failure[rows[out[-1]]] = t
        self._week.update(zip(self.JOURNEY_RESULTS, out, strict=True))

    def _journeys_compiled(self, t: int) -> None:
        """``_phase_journeys`` through one compiled kernel (``sim.kernels.journey``): the same
        draws in the same order, the same results bit for bit."""
        st, jp, cp, w = self.state, self.params.journey, self.params.customer, self._week
        rows, dealer, segment = w["rows"], w["j_dealer"], w["j_segment"]
        key = self.streams.draw_key
        fail_p = np.stack([f.failure_now(t) for f in self.firms]).astype(np.float32)  # (K, C)
        quality = np.stack([f.effective_quality() for f in self.firms]).astype(np.float32)
        acc_table, level = mechanism.personalization_tables(self.firms)
        f32 = np.float32
        out = kernels.journey(
            rows,
            dealer,
            segment,
            key("pick", t),
            key("stay", t),
            key("noise", t),
            key("fail", t),
            N_TOUCHPOINTS,
            self._channel_bounds32,
            f32(jp.channel_stickiness),
            fail_p,
            quality,
            acc_table,
            level,
            float(jp.personalization_gain),
            float(jp.personalization_break_even),
            mechanism.stage6_omnichannel(self.firms),
            f32(jp.quality_noise),
            f32(jp.switch_quality_penalty),
            f32(jp.failure_penalty),
            float(jp.base_effort),
            float(jp.switch_effort),
            float(jp.failure_effort),
            st.affect,
            st.expectation,
            f32(cp.affect_carry),
            f32(cp.loss_aversion),
            f32(cp.affect_gain),
        )
        self._record_journeys(t, rows, out)

    def _phase_evaluate(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        rows, x = w["rows"], w["j_experienced"]
        if kernels.ENABLED:
            f32, pw = np.float32, cp.peak_end_weight
            w["j_perceived_mean"] = kernels.evaluate(
                rows,
                x,
                w["j_peak"],
                w["j_end"],
                w["j_effort"],
                w["j_expected"],
                st.perceived,
                st.satisfaction,
                st.effort,
                st.peak,
                st.end,
                st.affect,
                f32(pw),
                f32(1.0 - pw),
                f32(self.params.journey.base_effort),
                f32(cp.satisfaction_baseline),
                f32(cp.disconfirmation_weight),
                f32(cp.loss_aversion),
                f32(cp.quality_weight),
                f32(cp.memory_weight),
                f32(cp.effort_weight),
            )
            return
        perceived = x[:, 0].copy()  # the mean over the touchpoints, summed in order
        for k in range(1, x.shape[1]):
            perceived += x[:, k]
        perceived /= np.float32(x.shape[1])
        remembered = emotion.remembered_affect(w["j_peak"], w["j_end"], cp.peak_end_weight)
        excess = w["j_effort"] - np.float32(self.params.journey.base_effort)
        s = cognition.transaction_satisfaction(perceived, w["j_expected"], remembered, excess, cp)
        st.perceived[rows] = x
        st.satisfaction[rows] = s
        st.effort[rows] = w["j_effort"]
        st.peak[rows] = w["j_peak"]
        st.end[rows] = w["j_end"]
        st.affect[rows] = w["j_end"]
        w["j_perceived_mean"] = perceived

    def _phase_purchases(self) -> None:
        st, cp, jp, w = self.state, self.params.customer, self.params.journey, self._week
        rows, dealer = w["rows"], w["j_dealer"]
        k_abandon = self.streams.draw_key("abandon", self.steps)
        if kernels.ENABLED:
            f32, be = np.float32, jp.personalization_break_even
            bought, units, revenue, new, n_ch = kernels.purchases(
                rows,
                dealer,
                w["j_seeker"],
                w["j_failed"][:, PURCHASE_TP],
                k_abandon,
                w["j_channels"],
                w["j_accuracy"],
                st.channels,
                st.basket,
                np.array([f.params.policy.personalization for f in self.firms], dtype=f32),
                np.array([f.price for f in self.firms], dtype=float),
                st.spend,
                st.purchases,
                st.activity,
                st.status,
                st.firm,
                st.tenure,
                st.loyalty,
                st.satisfaction,
                st.aware,
                CUSTOMER,
                f32(jp.abandon_on_failure),
                float(cp.omnichannel_basket_uplift),
                f32(cp.personalization_basket_uplift),
                f32(be),
                f32(1.0 - be),
                float(self.shock_state.economy),
                f32(cp.activity_learning),
            )
            w.update(
                j_bought=bought, j_units=units, j_revenue=revenue, j_new=new, j_n_channels=n_ch
            )
            return
        u_abandon = counter_rng.uniform32_at(k_abandon, rows)
        abandon = w["j_failed"][:, PURCHASE_TP] & (u_abandon < jp.abandon_on_failure)
        bought = ~abandon
        # channels used with this firm so far, this journey included (new customers start empty)
        used = st.channels[rows] | journey.channel_bits(w["j_channels"])
        n_ch = np.bitwise_count(used)
        pers_level = np.array(
            [f.params.policy.personalization for f in self.firms], dtype=np.float32
        )
        units = (
            behaviour.basket_units(
                st.basket[rows],
                n_ch,
                w["j_accuracy"],
                pers_level[dealer],
                cp,
                self.shock_state.economy,
                jp.personalization_break_even,
            )
            * bought
        )
        price = np.array([f.price for f in self.firms])
        revenue = units * price[dealer]
        st.spend[rows] += revenue
        st.purchases[rows] += bought
        everyone = np.zeros(self.n, dtype=bool)
        everyone[rows] = bought
        activity = everyone - st.activity
        activity *= np.float32(cp.activity_learning)
        st.activity += activity
        # acquisition: a seeker who buys becomes the firm's customer
        new = w["j_seeker"] & bought
        won, firm = rows[new], dealer[new]
        st.status[won] = CUSTOMER
        st.firm[won] = firm
        st.tenure[won] = 0
        st.loyalty[won] = st.satisfaction[won]
        st.aware[won, firm] = True
        st.channels[rows] = used
        w.update(j_bought=bought, j_units=units, j_revenue=revenue, j_new=new, j_n_channels=n_ch)

    def _phase_complaints(self) -> None:
        """Dissatisfied shoppers complain (more after a failure); each firm answers a complaint
        ``recovery.delay`` weeks later (human support), to customers who are still its own.
        Whether the answer will succeed is drawn when the complaint is made."""
        st, cp, w = self.state, self.params.customer, self._week
        t = self.steps
        rows, dealer = w["rows"], w["j_dealer"]
        k_complain = self.streams.draw_key("complain", t)
        k_recover = self.streams.draw_key("recover", t)
        if kernels.ENABLED:
            dissatisfied, complained = kernels.complain(
                rows,
                st.satisfaction,
                w["j_failed_any"],
                k_complain,
                np.float32(cp.complaint_threshold),
                float(cp.complaint_rate),
                float(cp.complaint_failure_boost),
                st.last_complaint,
                st.recovery,
                st.complaints,
                t,
            )
            who, by = rows[complained], dealer[complained]
        else:
            u_c = counter_rng.uniform32_at(k_complain, rows)
            dissatisfied = st.satisfaction[rows] < cp.complaint_threshold
            failed_any = w["j_failed_any"]
            complained = dissatisfied & (
                u_c < cp.complaint_rate * (1.0 + cp.complaint_failure_boost * failed_any)
            )
            who, by = rows[complained], dealer[complained]
            st.last_complaint[who] = t
            st.recovery[who] = 0  # pending
        recovered = np.zeros(self.n, dtype=bool)
        for f in self.firms:
            mine = who[by == f.k]
            if mine.size:
                f.complaint_queue.append(
                    (
                        t + f.recovery.delay,
                        mine,
                        counter_rng.uniform32_at(k_recover, mine) < f.recovery.success,
                    )
                )
            due = [item for item in f.complaint_queue if item[0] <= t]
            if not due:
                continue
            f.complaint_queue = [item for item in f.complaint_queue if item[0] > t]
            idx = np.concatenate([item[1] for item in due])
            ok = np.concatenate([item[2] for item in due])
            if kernels.ENABLED:
                kernels.answer_complaints(
                    idx,
                    ok,
                    st.status,
                    st.firm,
                    CUSTOMER,
                    f.k,
                    st.recovery,
                    st.satisfaction,
                    st.affect,
                    cp.recovery_boost * np.float32(f.recovery.value),
                    np.float32(cp.double_deviation),
                    recovered,
                )
                continue
            still = (st.status[idx] == CUSTOMER) & (st.firm[idx] == f.k)
            st.recovery[idx[~still]] = 3  # left before the answer came
            idx, ok = idx[still], ok[still]
            st.recovery[idx] = np.where(ok, 1, 2)
            behaviour.recover_complaints(
                st.satisfaction,
                st.affect,
                idx,
                np.where(ok, 0.0, 1.0).astype(np.float32),
                np.float32(0.5),
                np.float32(f.recovery.value),
                cp,
            )
            recovered[idx[ok]] = True
        if not kernels.ENABLED:
            st.complaints[rows] += complained
        w.update(j_dissatisfied=dissatisfied, j_complained=complained, recovered=recovered)

    def _phase_learn(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        rows, dealer = w["rows"], w["j_dealer"]
        k = self.n_firms
        if kernels.ENABLED:
            f32 = np.float32
            kernels.learn(
                rows,
                dealer,
                w["j_expected"],
                w["j_perceived_mean"],
                w["j_new"],
                st.expectation,
                st.status,
                st.loyalty,
                st.effort,
                st.satisfaction,
                st.tenure,
                st.attitude,
                st.affect,
                np.array([f.reputation for f in self.firms], dtype=np.float32),
                CUSTOMER,
                f32(cp.expectation_learning),
                f32(self.params.mechanism.expectation_creep),
                f32(self.params.journey.base_effort),
                f32(cp.loyalty_learning_floor),
                f32(cp.loyalty_learning - cp.loyalty_learning_floor),
                f32(cp.tenure_anchor),
                f32(cp.effort_loyalty_weight),
                f32(cp.attitude_learning),
                f32(cp.reputation_weight),
                f32(1.0 - cp.affect_decay),
            )
            return
        expectation = w["j_expected"].copy()
        cognition.update_expectation(
            expectation, w["j_perceived_mean"], None, cp.expectation_learning
        )
        st.expectation[rows, dealer] = expectation
        st.expectation += np.float32(self.params.mechanism.expectation_creep)
        np.clip(st.expectation, 0.0, 1.0, out=st.expectation)
        # loyalty: customers who shopped at their own firm (not the ones just acquired)
        learners = rows[(st.status[rows] == CUSTOMER) & ~w["j_new"]]
        loyalty = st.loyalty[learners]
        excess = st.effort[learners] - np.float32(self.params.journey.base_effort)
        cognition.update_loyalty(
            loyalty, st.satisfaction[learners], st.tenure[learners], None, cp, excess
        )
        st.loyalty[learners] = loyalty
        # attitude toward every firm is built the same way: own episodes with it, word of mouth
        # about it (phase 8) and its reputation; the current firm is no exception
        attitude = st.attitude.reshape(
            -1
        )  # a view: cell i·K + k is customer i's attitude toward firm k
        cell = rows * k + dealer
        a = attitude[cell]
        attitude[cell] = a + np.float32(cp.attitude_learning) * (st.satisfaction[rows] - a)
        # attitudes drift toward each firm's public reputation
        rep = np.array([f.reputation for f in self.firms], dtype=np.float32)
        drift = rep - st.attitude
        drift *= np.float32(cp.reputation_weight)
        st.attitude += drift
        is_c = st.status == CUSTOMER
        emotion.decay_affect(st.affect, cp.affect_decay)
        st.tenure += is_c

    def _phase_word_of_mouth(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        key, t = self.streams.draw_key, self.steps
        k_talk, k_recruit, k_review = key("talk", t), key("recruit", t), key("review", t)
        if kernels.ENABLED:
            self._word_of_mouth_compiled(k_talk, k_recruit, k_review)
            return
        u_send = counter_rng.uniform32_array(k_talk, self.n)
        u_review = counter_rng.uniform32_array(k_review, self.n)
        social = self.seg_social[st.segment]
        recommend, warn = wom.senders(st.satisfaction, w["journey"], social, u_send, cp)
        dealer = w["dealer"]
        talkers = np.flatnonzero(recommend | warn)
        heard, pos, neg, pos_said, neg_said = wom.spread(
            self.network,
            talkers,
            dealer[talkers],
            recommend[talkers],
            warn[talkers],
            st.satisfaction[talkers],
            self.n_firms,
            cp.negative_reach,
        )
        attitude, expectation = (
            np.take(st.attitude, heard, axis=0),
            np.take(st.expectation, heard, axis=0),
        )
        wom.listen(attitude, expectation, pos, neg, pos_said, neg_said, cp)
        st.attitude[heard] = attitude
        st.expectation[heard] = expectation
        np.clip(st.expectation, 0.0, 1.0, out=st.expectation)
        aware = np.take(st.aware, heard, axis=0)
        wom.recruit(
            aware,
            pos,
            st.status[heard] != CUSTOMER,
            counter_rng.uniform32_rows(k_recruit, heard, self.n_firms),
            cp.wom_recruit_rate,
        )
        st.aware[heard] = aware
        n_rev, rating = wom.reviews(
            recommend, warn, dealer, st.satisfaction, u_review, self.n_firms, cp.review_rate
        )
        rep = wom.update_reputation(
            np.array([f.reputation for f in self.firms]), n_rev, rating, cp.reputation_learning
        )
        for f, value in zip(self.firms, rep, strict=True):
            f.reputation = float(value)
        dealer = np.maximum(dealer, 0)
        w["wom_pos"] = np.bincount(dealer[recommend], minlength=self.n_firms)
        w["wom_neg"] = np.bincount(dealer[warn], minlength=self.n_firms)

    def _word_of_mouth_compiled(self, k_talk, k_recruit, k_review) -> None:
        """``_phase_word_of_mouth`` through compiled kernels (``sim.kernels.wom_talk``,
        ``wom_listen``): the same results bit for bit."""
        st, cp, w, k = self.state, self.params.customer, self._week, self.n_firms
        rows, f32 = w["rows"], np.float32
        net = self.network
        talk, rec, warn, heard, received = kernels.wom_talk(
            rows,
            w["j_dealer"],
            st.satisfaction,
            self.seg_social[st.segment[rows]],
            k_talk,
            f32(cp.wom_neutral),
            f32(max(1.0 - cp.wom_neutral, 1e-6)),
            f32(max(cp.wom_neutral, 1e-6)),
            f32(cp.wom_positive_rate),
            f32(cp.wom_negative_rate),
            net.indptr,
            net.indices,
            k,
            f32(cp.negative_reach),
        )
        kernels.wom_listen(
            heard,
            received,
            st.attitude,
            st.expectation,
            f32(cp.wom_attitude_weight),
            f32(cp.wom_expectation_weight),
        )
        aware = np.take(st.aware, heard, axis=0)
        wom.recruit(
            aware,
            received[:, :k],
            st.status[heard] != CUSTOMER,
            counter_rng.uniform32_rows(k_recruit, heard, k),
            cp.wom_recruit_rate,
        )
        st.aware[heard] = aware
        n_rev, rating, w["wom_pos"], w["wom_neg"] = kernels.wom_tally(
            talk,
            rec,
            warn,
            rows,
            w["j_dealer"],
            st.satisfaction,
            k_review,
            np.float32(cp.review_rate),
            np.float32(2.0 * cp.review_rate),
            k,
        )
        rep = wom.update_reputation(
            np.array([f.reputation for f in self.firms]), n_rev, rating, cp.reputation_learning
        )
        for f, value in zip(self.firms, rep, strict=True):
            f.reputation = float(value)

    def _phase_churn(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        key, t = self.streams.draw_key, self.steps
        k_leave, k_switch, k_ltr, k_csat = (key(d, t) for d in ("leave", "switch", "ltr", "csat"))
        if kernels.ENABLED:
            f32 = np.float32
            w["lost_from"], w["switch_to"] = kernels.churn(
                behaviour.churn_hazard(st.loyalty, cp, self.shock_state.churn_multiplier),
                k_leave,
                k_switch,
                k_ltr,
                k_csat,
                st.status,
                st.firm,
                st.loyalty,
                st.attitude,
                st.aware,
                st.tenure,
                st.channels,
                st.satisfaction,
                st.affect,
                st.scale_use,
                st.ltr,
                st.csat,
                CUSTOMER,
                LAPSED,
                f32(cp.switch_rate),
                f32(cp.switch_threshold),
                f32(cp.ltr_loyalty_weight),
                f32(cp.ltr_satisfaction_weight),
                f32(cp.ltr_mood_weight),
                f32(cp.ltr_slope),
                f32(cp.ltr_center),
                f32(cp.ltr_noise),
                f32(cp.csat_slope),
                f32(cp.csat_threshold),
                f32(cp.csat_noise),
            )
            return
        u_leave = counter_rng.uniform32_array(k_leave, self.n)
        u_switch = counter_rng.uniform32_array(k_switch, self.n)
        z_ltr = counter_rng.normal32_array(k_ltr, self.n)
        z_csat = counter_rng.normal32_array(k_csat, self.n)
        cust = st.status == CUSTOMER
        hazard = behaviour.churn_hazard(st.loyalty, cp, self.shock_state.churn_multiplier)
        leave = cust & (u_leave < hazard)
        # switching: a known rival liked clearly better than the current firm, attitude against
        # attitude (candidates: the customers who stay and whose switching draw comes up)
        cand = np.flatnonzero(cust & ~leave & (u_switch < cp.switch_rate))
        i = np.arange(cand.size)
        rival_att = np.where(
            np.take(st.aware, cand, axis=0), np.take(st.attitude, cand, axis=0), -1.0
        )
        rival_att[i, st.firm[cand]] = -1.0
        best = rival_att.argmax(axis=1).astype(np.int8)
        gap = rival_att[i, best] - st.attitude[cand, st.firm[cand]]
        to_rival = gap > cp.switch_threshold
        switchers, best = cand[to_rival], best[to_rival]
        leavers = np.flatnonzero(leave)
        lost_from = np.full(self.n, -1, dtype=np.int8)
        lost_from[leavers] = st.firm[leavers]
        lost_from[switchers] = st.firm[switchers]
        w["lost_from"] = lost_from
        st.status[leavers] = LAPSED
        st.firm[leavers] = -1
        st.loyalty[leavers] = 0.0
        st.firm[switchers] = best
        st.loyalty[switchers] = st.attitude[switchers, best]
        for lost in (leavers, switchers):
            st.tenure[lost] = 0
            st.channels[lost] = 0
        switch_to = np.full(self.n, -1, dtype=np.int8)
        switch_to[switchers] = best
        w["switch_to"] = switch_to
        st.ltr[:] = behaviour.likelihood_to_recommend(
            st.loyalty, st.satisfaction, st.affect, cp, st.scale_use, z_ltr
        )
        st.csat[:] = behaviour.csat_answer(st.satisfaction, cp, st.scale_use, z_csat)

    def _phase_mechanism(self, t: int) -> None:
        st, w, mech = self.state, self._week, self.params.mechanism
        key, T = self.streams.draw_key, N_TOUCHPOINTS
        k_respond, k_attr, k_answer, k_rating = (
            key(d, t) for d in ("respond", "attribute", "answer", "rating")
        )
        rows, dealer = w["rows"], w["j_dealer"]
        channels, failed = w["j_channels"], w["j_failed"]
        seg_sizes = self._seg_sizes
        k_survey = key("survey", t)
        if kernels.ENABLED:
            complaints, failures, visits, asked_by, buyers_by = kernels.firm_counts(
                rows,
                dealer,
                channels,
                failed,
                w["j_complained"],
                w["j_bought"],
                w["j_segment"],
                st.status,
                st.firm,
                CUSTOMER,
                k_survey,
                float(mech.survey_rate),
                self.n_firms,
                N_CHANNELS,
                self.n_segments,
            )
            w["surveyed"] = rows[asked_by >= 0]
        else:
            complaints = np.bincount(dealer[w["j_complained"]], minlength=self.n_firms)
            # journeys and failures per firm and channel (touchpoint visits)
            cell = (dealer[:, None] * N_CHANNELS + channels).ravel()
            size = self.n_firms * N_CHANNELS
            failures = np.bincount(cell, weights=failed.ravel(), minlength=size).reshape(
                self.n_firms, N_CHANNELS
            )
            visits = np.bincount(cell, minlength=size).reshape(self.n_firms, N_CHANNELS)
            visits = visits.astype(float)
            # surveys reach the week's shoppers who are (still) the firm's customers: a customer
            # who has just left or switched is no longer on the firm's list
            current = (st.status[rows] == CUSTOMER) & (st.firm[rows] == dealer)
            surveyed = current & (counter_rng.uniform64_at(k_survey, rows) < mech.survey_rate)
            w["surveyed"] = rows[surveyed]
        for f in self.firms:
            dig_fail, traffic = failures[f.k], visits[f.k]
            if kernels.ENABLED:
                pos = np.flatnonzero(asked_by == f.k)
                who = rows[pos]
                m, cp = f.measurement, self.params.customer
                week, by_segment, cell_sum, cell_n = kernels.survey(
                    who,
                    pos,
                    st.ltr,
                    st.satisfaction,
                    st.perceived,
                    channels,
                    st.segment,
                    k_respond,
                    k_answer,
                    k_rating,
                    k_attr,
                    np.float32(m.response_rate),
                    np.float32(m.nonresponse_bias),
                    float(m.answer_noise),
                    mech.satisfaction_answer_noise * m.answer_noise,
                    float(cp.csat_threshold),
                    float(m.attribution),
                    float(max(1.0 - m.attribution, 1e-12)),
                    mech.rating_noise * m.answer_noise,
                    f.map_bias,
                    self.n_segments,
                )
                mechanism.stage3_record(
                    f,
                    step=t,
                    week=week,
                    respondents_by_segment=by_segment,
                    cell_sum=cell_sum,
                    cell_n=cell_n,
                    segment_sizes=seg_sizes,
                    buyers_by_segment=buyers_by[f.k],
                    complaints=int(complaints[f.k]),
                    warnings_posted=float(w["wom_neg"][f.k]),
                    digital_failures=dig_fail,
                    journeys_by_channel=traffic,
                    mech=mech,
                )
            else:
                mine = dealer == f.k
                asked = mine & surveyed
                who = rows[asked]
                buyers = np.bincount(
                    w["j_segment"][mine & w["j_bought"]], minlength=self.n_segments
                )
                mechanism.stage3_collect(
                    f,
                    step=t,
                    ltr=st.ltr[who],
                    satisfaction=st.satisfaction[who],
                    perceived=np.take(st.perceived, who, axis=0),
                    channels=channels[asked],
                    segment=st.segment[who],
                    n_segments=self.n_segments,
                    segment_sizes=seg_sizes,
                    buyers_by_segment=buyers,
                    u_respond=counter_rng.uniform64_at(k_respond, who),
                    z_answer=counter_rng.normal64_at(k_answer, who),
                    z_rating=counter_rng.normal64_at(k_rating, who[:, None] * T + np.arange(T)),
                    u_attr=counter_rng.uniform64_rows(k_attr, who, T),
                    complaints=int(complaints[f.k]),
                    warnings_posted=float(w["wom_neg"][f.k]),
                    digital_failures=dig_fail,
                    journeys_by_channel=traffic,
                    mech=mech,
                    csat_threshold=self.params.customer.csat_threshold,
                )
            f.ledger["improvement"] = mechanism.stage4_improve(
                f, t, f.params.policy.improvement_cadence, mech
            )
            f.ledger["cycle"] = float(t % f.params.policy.improvement_cadence == 0)
            f.contacted = 0
            if f.ledger["cycle"] and f.unanswered_alarm is not None:
                unhappy = (
                    (st.status == CUSTOMER)
                    & (st.firm == f.k)
                    & (st.satisfaction < self.params.customer.complaint_threshold)
                )
                u_response = counter_rng.uniform32_array(key("response", t), self.n)
                f.contacted = mechanism.respond_to_alarm(
                    f, t, unhappy, st.satisfaction, st.loyalty, u_response, mech
                )

    def _phase_economics(self, t: int) -> None:
        w = self._week
        dealer, bought = w["j_dealer"][w["j_bought"]], w["j_bought"]
        rev = np.bincount(dealer, weights=w["j_revenue"][bought], minlength=self.n_firms)
        units = np.bincount(dealer, weights=w["j_units"][bought], minlength=self.n_firms)
        for f in self.firms:
            fp, s = f.params, self.scale
            led = f.ledger
            led["revenue"] = float(rev[f.k])
            led["units"] = float(units[f.k])
            led["cogs"] = led["units"] * fp.unit_cost
            # improvements are paid when invested; omnichannel is paid for the integration the
            # firm's technology actually delivers (the policy above the ceiling buys nothing)
            led["cx_spend"] = (
                s
                * (
                    led["improvement"]
                    + fp.omnichannel_cost * f.integration**2
                    + fp.personalization_cost * fp.policy.personalization**2
                    + fp.cycle_cost * led["cycle"]
                )
                + f.contacted * self.params.mechanism.response_cost
            )
            led["marketing"] = s * fp.advertising_cost * f.advertising / 0.01
            led["support_cost"] = s * f.support_cost_rate
            led["profit"] = (
                led["revenue"]
                - led["cogs"]
                - led["cx_spend"]
                - led["marketing"]
                - led["support_cost"]
            )
            f.cumulative_profit += led["profit"]
        self._refresh_counts()

    def customer_equity_terms(self, k: int = 0) -> tuple[float, float]:
        """The two sums behind firm ``k``'s customer equity (Gupta, Lehmann & Stuart 2004), each
        customer from their own margin and retention:

        ``gross = Σ_i m_i · r_i / (1 + d − r_i)`` and ``annuity = Σ_i r_i / (1 + d − r_i)``, with
        ``m_i`` = activity (EMA of weekly purchases) × the customer's mean revenue per purchase ×
        the firm's unit margin ``1 − unit_cost/price``, ``r_i`` the probability of staying a
        week: ``(1 − churn hazard at loyalty_i) × (1 − switch_rate if a known rival's attitude is
        more than switch_threshold above the attitude toward firm k)``, ``d`` the weekly discount rate. Customer
        equity net of the retention costs ``c`` per customer-week is ``gross − c·annuity``
        (:func:`sim.run.window_kpis`). Margins are read at today's prices and behaviour."""
        st, cp, f = self.state, self.params.customer, self.firms[k]
        mine = np.flatnonzero((st.status == CUSTOMER) & (st.firm == k))
        if mine.size == 0:
            return 0.0, 0.0
        purchases = st.purchases[mine].astype(float)
        per_purchase = np.where(
            purchases > 0,
            st.spend[mine] / np.maximum(purchases, 1.0),
            st.basket[mine] * f.params.price,
        )
        unit_margin = 1.0 - f.params.unit_cost / f.params.price
        margin = st.activity[mine].astype(float) * per_purchase * unit_margin
        stay = 1.0 - behaviour.churn_hazard(st.loyalty[mine].astype(float), cp)
        rival = np.where(np.take(st.aware, mine, axis=0), np.take(st.attitude, mine, axis=0), -1.0)
        rival[:, k] = -1.0
        tempted = rival.max(axis=1) - st.attitude[mine, k] > cp.switch_threshold
        stay *= 1.0 - cp.switch_rate * tempted
        annuity = stay / (1.0 + self._discount - stay)
        return float(np.sum(margin * annuity)), float(np.sum(annuity))

    def _refresh_counts(self) -> None:
        st = self.state
        counts = np.bincount(st.firm[st.status == CUSTOMER], minlength=self.n_firms)
        for f in self.firms:
            f.customers = int(counts[f.k])

    def _phase_record(self, t: int) -> None:
        st, w, f = self.state, self._week, self.focal
        if kernels.ENABLED:
            n_mine, promoters, detractors, satisfied, at_start, lost, cols = kernels.record_counts(
                st.status,
                st.firm,
                st.ltr,
                st.csat,
                w["start_firm"],
                w["lost_from"],
                (st.effort, st.affect, st.satisfaction, st.activity, st.loyalty),
                CUSTOMER,
                0,
            )
        else:
            mine = np.flatnonzero((st.status == CUSTOMER) & (st.firm == 0))
            n_mine = mine.size
            at_start = int(np.count_nonzero(w["start_firm"] == 0))
            lost = int(np.count_nonzero(w["lost_from"] == 0))
        churn = lost / at_start if at_start else np.nan  # undefined for a firm with no customers
        total = sum(x.customers for x in self.firms)
        if n_mine and kernels.ENABLED:
            # the same figures as below: a bool mean is count / n in float64, a float32 mean is
            # numpy's (pairwise) float32 sum of the gathered values divided by n in float32
            nps = 100.0 * (promoters / n_mine - detractors / n_mine)
            csat = 100.0 * (satisfied / n_mine)
            effort, emo, cog, beh, loy = (float(np.add.reduce(c) / n_mine) for c in cols)
            ces = 1.0 + 6.0 * effort
            margin = (f.ledger["revenue"] - f.ledger["cogs"]) / n_mine
        elif n_mine:
            ltr = st.ltr[mine]
            nps = 100.0 * ((ltr >= 9).mean() - (ltr <= 6).mean())
            csat = 100.0 * (st.csat[mine] >= 4).mean()
            ces = 1.0 + 6.0 * float(st.effort[mine].mean())
            emo, cog = float(st.affect[mine].mean()), float(st.satisfaction[mine].mean())
            beh, loy = float(st.activity[mine].mean()), float(st.loyalty[mine].mean())
            margin = (f.ledger["revenue"] - f.ledger["cogs"]) / n_mine
        else:  # undefined, not zero: a firm without customers has no NPS, CSAT, ...
            nps = csat = ces = emo = cog = beh = loy = margin = np.nan
        retention = 1.0 - churn
        if not np.isfinite(margin) or not np.isfinite(retention):
            pass  # keep the last defined estimate
        elif np.isnan(self._clv_margin):
            self._clv_margin, self._clv_retention = margin, retention
        else:
            self._clv_margin += (margin - self._clv_margin) / 4.0
            self._clv_retention += (retention - self._clv_retention) / 4.0
        d = self._discount
        clv = self._clv_margin * (1 + d) / (1 + d - min(self._clv_retention, 0.9999))
        eq = f.effective_quality()
        dealer = w["j_dealer"]
        acquisitions = int(
            np.count_nonzero(dealer[w["j_new"]] == 0) + np.count_nonzero(w["switch_to"] == 0)
        )
        measured = f.measured_nps
        row = {
            "nps": nps,
            "csat": csat,
            "ces": ces,
            "retention_rate": retention,
            "churn_rate": churn,
            "active_customers": float(n_mine),
            "market_share": n_mine / total if total else np.nan,
            "revenue": f.ledger["revenue"],
            "profit": f.ledger["profit"],
            "cumulative_profit": f.cumulative_profit,
            "clv": clv,
            "reputation": f.reputation,
            "emotional_index": emo,
            "cognitive_index": cog,
            "behavioural_index": beh,
            "mean_loyalty": loy,
            "acquisitions": float(acquisitions),
            "complaints": float(np.count_nonzero(dealer[w["j_complained"]] == 0)),
            "wom_positive": float(w["wom_pos"][0]),
            "wom_negative": float(w["wom_neg"][0]),
            "measured_nps": measured,
            "measured_csat": f.measured_csat,
            "measurement_error": measured - nps if np.isfinite(measured) else np.nan,
            "mean_quality": float(eq.mean()),
            "map_error": float(np.abs(f.estimate - eq).mean()),
            "cx_spend": f.ledger["cx_spend"],
            "support_cost": f.ledger["support_cost"],
            "alarm": float(f.alarm),
        }
        self.history.append(np.array([row[k] for k in SERIES], dtype=float))
        self.latest = row
