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
phase (compute, then commit). All randomness comes from the named streams in ``sim.rng``;
every stream draws full-population arrays every week, but the rules are evaluated only for
the customers they concern (the week's shoppers, talkers, listeners, switch candidates), whose
indices are kept in the week's record (:class:`WeekRecord`).
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np

from sim import behaviour, cognition, emotion, journey, mechanism, shocks, wom
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
CHANNELS_IN_MASK = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1).astype(np.int64)


class WeekRecord(dict):
    """What happened this week: masks and values read by the later phases, the KPIs and analysis.

    Journey-level results are computed for the customers on a journey only: ``rows`` holds
    their indices and ``j_<name>`` their values (``j_dealer``, ``j_channels``, ``j_failed``, …).
    Reading ``<name>`` (e.g. ``week["failed"]``) expands ``j_<name>`` to a population-wide array
    on first use, with ``False``/0 (channels: -1) for the customers without a journey.
    """

    FILL: ClassVar[dict[str, object]] = {
        "failed": False, "channels": -1, "experienced": 0, "effort": 0, "accuracy": 0, "end": 0, "peak": 0,
        "perceived_mean": 0, "bought": False, "new": False, "units": 0, "revenue": 0, "n_channels": 0,
        "dissatisfied": False, "complained": False, "recovered": False,
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
    :meth:`customer` builds a view on demand).
    """

    def __init__(self, params: Params | None = None, rng: int = 0, *, customer_agents: bool = True):
        if isinstance(rng, np.random.Generator) or rng is None:
            raise TypeError("CXModel needs an integer seed: rng=<int>")
        super().__init__(rng=int(rng))
        self.params = validate(params or Params())
        self.seed = int(rng)
        self.streams = Streams(self.seed)
        p = self.params
        self.n = p.population.n_customers
        self.scale = self.n / 1000.0  # money per 1,000 market customers → per market
        segs = p.population.segments
        self.n_segments = len(segs)
        self.firms: list[Firm] = [Firm(self, k, fp, p, self.n_segments) for k, fp in enumerate(p.firms)]
        self.n_firms = len(self.firms)
        self._segment_tables()
        self.state = CustomerState(self.n, self.n_firms, N_TOUCHPOINTS)
        self._initialise_population()
        net = p.market.network
        self.network = build_network(net.kind, self.n, net.mean_degree, net.rewire, self.streams.network)
        self.shock_state = shocks.ShockState(self.n_firms)
        self._customer_views: dict[int, Customer] = {}
        if customer_agents:
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

    # ------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------
    def _segment_tables(self) -> None:
        segs = self.params.population.segments
        pref = np.array([s.channel_pref for s in segs], dtype=float)
        pref /= pref.sum(axis=1, keepdims=True)
        self.cum_pref = np.cumsum(pref, axis=1)
        self.seg_share = np.array([s.share for s in segs]) / sum(s.share for s in segs)
        self.seg_need = np.array([s.need for s in segs], dtype=np.float32)
        self.seg_rate = np.array([s.purchase_rate for s in segs], dtype=np.float32)
        self.seg_basket = np.array([s.basket for s in segs], dtype=np.float32)
        self.seg_price = np.array([s.price_sensitivity for s in segs], dtype=np.float32)
        self.seg_social = np.array([s.sociability for s in segs], dtype=np.float32)

    def _initialise_population(self) -> None:
        p, st, r = self.params, self.state, self.streams.population
        n, k = self.n, self.n_firms
        st.segment[:] = np.minimum(np.searchsorted(np.cumsum(self.seg_share), r.random(n)), self.n_segments - 1)
        st.expectation[:] = np.clip(self.seg_need[st.segment] + r.normal(0, 0.05, n), 0, 1)
        shares = np.array([f.params.initial_share for f in self.firms], dtype=float)
        shares = shares / shares.sum() if shares.sum() > 0 else np.full(k, 1.0 / k)
        is_cust = r.random(n) < p.population.initial_customer_share
        firm = np.minimum(np.searchsorted(np.cumsum(shares), r.random(n)), k - 1)
        st.status[:] = np.where(is_cust, CUSTOMER, PROSPECT)
        st.firm[:] = np.where(is_cust, firm, -1)
        st.tenure[:] = np.where(is_cust, r.integers(0, 157, n), 0)
        st.attitude[:] = np.clip(r.normal(0.55, 0.08, (n, k)), 0, 1)
        loyalty = np.clip(r.normal(0.6, 0.08, n), 0, 1)
        st.loyalty[:] = np.where(is_cust, loyalty, 0.0)
        rows = np.flatnonzero(is_cust)
        st.attitude[rows, firm[rows]] = loyalty[rows]
        st.aware[:] = r.random((n, k)) < p.population.initial_awareness
        st.aware[rows, firm[rows]] = True
        st.satisfaction[:] = np.where(is_cust, loyalty, 0.5)
        st.perceived[:] = np.float32(self.firms[0].quality.mean())
        st.effort[:] = p.journey.base_effort
        st.activity[:] = np.where(is_cust, self.seg_rate[st.segment], 0.0)
        first = np.minimum(np.searchsorted(self.cum_pref[0], r.random(n)), N_CHANNELS - 1)
        st.channels[:] = np.where(is_cust, np.left_shift(1, first), 0).astype(np.uint8)
        st.ltr[:] = behaviour.likelihood_to_recommend(st.loyalty, st.satisfaction, st.affect, p.customer)

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

    def _phase_shocks(self, t: int) -> None:
        u = self.streams.shock.random(len(self.params.shocks))
        shocks.start_shocks(self, t, u)
        shocks.apply_active(self, t)

    def _phase_occasions(self, t: int) -> None:
        """Customers shop with their segment's weekly rate (more if they use more channels);
        aware prospects and lapsed customers shop at a lower rate and pick a firm by logit."""
        st, cp, w = self.state, self.params.customer, self._week
        n, k = self.n, self.n_firms
        r = self.streams.occasion
        u_occ = r.random(n, dtype=np.float32)
        u_adv = r.random((n, k), dtype=np.float32)
        u_choice = self.streams.choice.random((n, k))
        economy = self.shock_state.economy
        # advertising makes non-customers aware (Bass p)
        adv = np.array([f.advertising for f in self.firms], dtype=np.float32)
        outside = np.flatnonzero(st.status != CUSTOMER)
        aware = np.take(st.aware, outside, axis=0)
        aware |= np.take(u_adv, outside, axis=0) < adv
        st.aware[outside] = aware
        # customers: the segment's rate, raised by the number of channels used (one value per
        # segment and channel bit mask)
        uplift = 1.0 + cp.omnichannel_visit_uplift * np.maximum(CHANNELS_IN_MASK - 1, 0)
        rate = (self.seg_rate[:, None] * uplift * economy).ravel()  # (S * 256,)
        mask_of = st.segment.astype(np.intp) << 8 | st.channels
        cust = (st.status == CUSTOMER) & (u_occ < rate[mask_of])
        # aware prospects and lapsed customers
        outside_rate = np.where(st.status[outside] == LAPSED, cp.winback_rate, cp.prospect_shop_rate) * economy
        knows_any = aware[:, 0].copy()
        for j in range(1, k):
            knows_any |= aware[:, j]
        seekers = outside[(u_occ[outside] < outside_rate) & knows_any]
        reputation = np.array([f.reputation for f in self.firms])
        price = np.array([f.price for f in self.firms])
        choice = behaviour.choose_firm(
            np.take(st.attitude, seekers, axis=0), np.take(st.aware, seekers, axis=0), reputation, price,
            self.seg_price[st.segment[seekers]], np.take(u_choice, seekers, axis=0),
        )
        dealer = np.where(cust, st.firm, np.int8(-1))
        dealer[seekers] = choice
        seeker = np.zeros(n, dtype=bool)
        seeker[seekers] = True
        rows = np.flatnonzero(cust | seeker)
        w.update(journey=cust | seeker, seeker=seeker, dealer=dealer, rows=rows,
                 j_dealer=dealer[rows].astype(np.intp), j_seeker=seeker[rows], j_segment=st.segment[rows])

    def _phase_journeys(self, t: int) -> None:
        st, jp, w = self.state, self.params.journey, self._week
        rc, rt, rf = self.streams.channel, self.streams.touchpoint, self.streams.failure
        n, T = self.n, N_TOUCHPOINTS
        rows, dealer, segment = w["rows"], w["j_dealer"], w["j_segment"]
        u_pick = np.take(rc.random((n, T), dtype=np.float32), rows, axis=0)
        u_stay = np.take(rc.random((n, T), dtype=np.float32), rows, axis=0)
        noise = np.take(rt.standard_normal((n, T), dtype=np.float32), rows, axis=0)
        u_fail = np.take(rf.random((n, T), dtype=np.float32), rows, axis=0)
        w["u_abandon"] = rf.random(n, dtype=np.float32)
        channels = journey.choose_channels(self.cum_pref, segment, u_pick, u_stay, jp.channel_stickiness)
        fail_p = np.stack([f.failure_now(t) for f in self.firms]).astype(np.float32)  # (K, C)
        failed = u_fail < np.take(fail_p, dealer[:, None] * N_CHANNELS + channels)
        personal, accuracy = mechanism.stage7_personalization(self.firms, dealer, segment, jp.personalization_gain)
        quality = np.stack([f.effective_quality() for f in self.firms]).astype(np.float32)
        integration = mechanism.stage6_omnichannel(self.firms)
        x, effort = journey.experience_touchpoints(quality, dealer, channels, noise, failed, personal, integration, jp)
        end, peak = emotion.journey_affect(st.affect[rows], x, st.expectation[rows], self.params.customer)
        w.update(j_channels=channels, j_failed=failed, j_experienced=x, j_effort=effort, j_accuracy=accuracy,
                 j_end=end, j_peak=peak)

    def _phase_evaluate(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        rows, x = w["rows"], w["j_experienced"]
        perceived = x[:, 0].copy()  # the mean over the touchpoints, summed in order
        for k in range(1, x.shape[1]):
            perceived += x[:, k]
        perceived /= np.float32(x.shape[1])
        remembered = emotion.remembered_affect(w["j_peak"], w["j_end"], cp.peak_end_weight)
        excess = w["j_effort"] - np.float32(self.params.journey.base_effort)
        s = cognition.transaction_satisfaction(perceived, st.expectation[rows], remembered, excess, cp)
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
        abandon = w["j_failed"][:, PURCHASE_TP] & (w["u_abandon"][rows] < jp.abandon_on_failure)
        bought = ~abandon
        # channels used with this firm so far, this journey included (new customers start empty)
        used = st.channels[rows] | journey.channel_bits(w["j_channels"])
        n_ch = np.bitwise_count(used)
        pers_level = np.array([f.params.policy.personalization for f in self.firms], dtype=np.float32)
        units = behaviour.basket_units(
            self.seg_basket[w["j_segment"]], n_ch, w["j_accuracy"], pers_level[dealer], cp, self.shock_state.economy
        ) * bought
        price = np.array([f.price for f in self.firms])
        revenue = units * price[dealer]
        st.spend[rows] += revenue
        st.purchases[rows] += bought
        everyone = np.zeros(self.n, dtype=bool)
        everyone[rows] = bought
        activity = everyone - st.activity
        activity *= np.float32(0.1)
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
        st, cp, w = self.state, self.params.customer, self._week
        r = self.streams.complaint
        u_c = r.random(self.n, dtype=np.float32)
        u_r = r.random(self.n, dtype=np.float32)
        rows, dealer, failed = w["rows"], w["j_dealer"], w["j_failed"]
        dissatisfied = st.satisfaction[rows] < cp.complaint_threshold
        failed_any = failed[:, 0].copy()
        for k in range(1, failed.shape[1]):
            failed_any |= failed[:, k]
        complained = dissatisfied & (u_c[rows] < cp.complaint_rate * (1.0 + 0.5 * failed_any))
        who = dealer[complained]
        success = np.array([f.recovery.success for f in self.firms], dtype=np.float32)[who]
        value = np.array([f.recovery.value for f in self.firms], dtype=np.float32)[who]
        ok = behaviour.recover_complaints(
            st.satisfaction, st.affect, rows[complained], u_r[rows[complained]], success, value, cp
        )
        recovered = np.zeros_like(complained)
        recovered[complained] = ok
        st.complaints[rows] += complained
        w.update(j_dissatisfied=dissatisfied, j_complained=complained, j_recovered=recovered)

    def _phase_learn(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        rows, dealer = w["rows"], w["j_dealer"]
        k = self.n_firms
        expectation = st.expectation[rows]
        cognition.update_expectation(expectation, w["j_perceived_mean"], None, cp.expectation_learning)
        st.expectation[rows] = expectation
        st.expectation += np.float32(self.params.mechanism.expectation_creep)
        np.clip(st.expectation, 0.0, 1.0, out=st.expectation)
        # loyalty: customers who shopped at their own firm (not the ones just acquired)
        learners = rows[(st.status[rows] == CUSTOMER) & ~w["j_new"]]
        loyalty = st.loyalty[learners]
        cognition.update_loyalty(loyalty, st.satisfaction[learners], st.tenure[learners], None, cp)
        st.loyalty[learners] = loyalty
        attitude = st.attitude.reshape(-1)  # a view: cell i·K + k is customer i's attitude toward firm k
        cell = rows * k + dealer
        a = attitude[cell]
        attitude[cell] = a + np.float32(cp.attitude_learning) * (st.satisfaction[rows] - a)
        # attitudes drift toward each firm's public reputation
        rep = np.array([f.reputation for f in self.firms], dtype=np.float32)
        drift = rep - st.attitude
        drift *= np.float32(cp.reputation_weight)
        st.attitude += drift
        # the current firm's attitude is the customer's loyalty for customers
        is_c = st.status == CUSTOMER
        crow = np.flatnonzero(is_c)
        cell = crow * k + st.firm[crow]
        attitude[cell] = np.maximum(attitude[cell], 0) * 0.5 + 0.5 * st.loyalty[crow]
        emotion.decay_affect(st.affect, cp.affect_decay)
        st.tenure += is_c

    def _phase_word_of_mouth(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        r = self.streams.wom
        u_send = r.random(self.n, dtype=np.float32)
        u_recruit = r.random((self.n, self.n_firms), dtype=np.float32)
        u_review = r.random(self.n, dtype=np.float32)
        social = self.seg_social[st.segment]
        recommend, warn = wom.senders(st.satisfaction, w["journey"], social, u_send, cp)
        dealer = w["dealer"]
        talkers = np.flatnonzero(recommend | warn)
        heard, pos, neg = wom.spread(
            self.network, talkers, dealer[talkers], recommend[talkers], warn[talkers], self.n_firms, cp.negative_reach
        )
        attitude, expectation = np.take(st.attitude, heard, axis=0), st.expectation[heard]
        wom.listen(attitude, expectation, pos, neg, cp)
        st.attitude[heard] = attitude
        st.expectation[heard] = expectation
        np.clip(st.expectation, 0.0, 1.0, out=st.expectation)
        aware = np.take(st.aware, heard, axis=0)
        wom.recruit(aware, pos, st.status[heard] != CUSTOMER, np.take(u_recruit, heard, axis=0), cp.wom_recruit_rate)
        st.aware[heard] = aware
        rp, rn = wom.reviews(recommend, warn, dealer, u_review, self.n_firms, cp.review_rate)
        rep = wom.update_reputation(np.array([f.reputation for f in self.firms]), rp, rn, cp.reputation_learning)
        for f, value in zip(self.firms, rep, strict=True):
            f.reputation = float(value)
        dealer = np.maximum(dealer, 0)
        w["wom_pos"] = np.bincount(dealer[recommend], minlength=self.n_firms)
        w["wom_neg"] = np.bincount(dealer[warn], minlength=self.n_firms)

    def _phase_churn(self) -> None:
        st, cp, w = self.state, self.params.customer, self._week
        r = self.streams.churn
        u_leave = r.random(self.n, dtype=np.float32)
        u_switch = r.random(self.n, dtype=np.float32)
        cust = st.status == CUSTOMER
        hazard = behaviour.churn_hazard(st.loyalty, cp, self.shock_state.churn_multiplier)
        leave = cust & (u_leave < hazard)
        # switching: a known rival liked clearly better than the current firm (candidates: the
        # customers who stay and whose switching draw comes up)
        cand = np.flatnonzero(cust & ~leave & (u_switch < cp.switch_rate))
        i = np.arange(cand.size)
        rival_att = np.where(np.take(st.aware, cand, axis=0), np.take(st.attitude, cand, axis=0), -1.0)
        rival_att[i, st.firm[cand]] = -1.0
        best = rival_att.argmax(axis=1).astype(np.int8)
        gap = rival_att[i, best] - st.loyalty[cand]
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
        st.ltr[:] = behaviour.likelihood_to_recommend(st.loyalty, st.satisfaction, st.affect, cp)

    def _phase_mechanism(self, t: int) -> None:
        st, w, mech = self.state, self._week, self.params.mechanism
        r = self.streams.survey
        n = self.n
        u_survey, u_respond, u_attr = r.random(n), r.random(n), r.random((n, N_TOUCHPOINTS))
        z_answer = r.standard_normal(n)
        z_rating = r.standard_normal((n, N_TOUCHPOINTS))
        # which other channel a misattributed rating lands on (whether it is misattributed: u_attr)
        attr_shift = self.streams.attribution.integers(1, N_CHANNELS, size=(n, N_TOUCHPOINTS), dtype=np.int8)
        u_response = self.streams.response.random(n, dtype=np.float32)
        rows, dealer = w["rows"], w["j_dealer"]
        channels, failed = w["j_channels"], w["j_failed"]
        seg_sizes = np.array([np.count_nonzero(st.segment == s) for s in range(self.n_segments)], dtype=np.int64)
        complaints = np.bincount(dealer[w["j_complained"]], minlength=self.n_firms)
        # journeys and failures per firm and channel (touchpoint visits)
        cell = (dealer[:, None] * N_CHANNELS + channels).ravel()
        size = self.n_firms * N_CHANNELS
        failures = np.bincount(cell, weights=failed.ravel(), minlength=size).reshape(self.n_firms, N_CHANNELS)
        visits = np.bincount(cell, minlength=size).reshape(self.n_firms, N_CHANNELS).astype(float)
        surveyed = u_survey[rows] < mech.survey_rate
        for f in self.firms:
            mine = dealer == f.k
            dig_fail, traffic = failures[f.k], visits[f.k]
            # only the firm's surveyed shoppers can answer: stage 3 is given their rows alone
            asked = mine & surveyed
            who = rows[asked]
            mechanism.stage3_collect(
                f, step=t, ltr=st.ltr[who], satisfaction=st.satisfaction[who],
                perceived=np.take(st.perceived, who, axis=0), channels=channels[asked], segment=st.segment[who],
                n_segments=self.n_segments, segment_sizes=seg_sizes, u_respond=u_respond[who],
                z_answer=z_answer[who], z_rating=np.take(z_rating, who, axis=0), u_attr=np.take(u_attr, who, axis=0),
                attr_shift=np.take(attr_shift, who, axis=0),
                complaints=int(complaints[f.k]), warnings_posted=float(w["wom_neg"][f.k]),
                digital_failures=dig_fail, journeys_by_channel=traffic, mech=mech,
                csat_threshold=self.params.customer.csat_threshold,
            )
            f.ledger["improvement"] = mechanism.stage4_improve(f, t, f.params.policy.improvement_cadence, mech)
            f.ledger["cycle"] = float(t % f.params.policy.improvement_cadence == 0)
            f.contacted = 0
            if f.ledger["cycle"]:
                unhappy = (st.status == CUSTOMER) & (st.firm == f.k) & (st.satisfaction < self.params.customer.complaint_threshold)
                f.contacted = mechanism.respond_to_alarm(f, t, unhappy, st.satisfaction, st.loyalty, u_response, mech)

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
            led["cx_spend"] = s * (
                led["improvement"]
                + fp.omnichannel_cost * fp.policy.omnichannel**2
                + fp.personalization_cost * fp.policy.personalization**2
                + fp.cycle_cost * led["cycle"]
            ) + f.contacted * self.params.mechanism.response_cost
            led["marketing"] = s * fp.advertising_cost * f.advertising / 0.01
            led["support_cost"] = s * f.support_cost_rate
            led["profit"] = led["revenue"] - led["cogs"] - led["cx_spend"] - led["marketing"] - led["support_cost"]
            f.cumulative_profit += led["profit"]
        self._refresh_counts()

    def _refresh_counts(self) -> None:
        st = self.state
        counts = np.bincount(st.firm[st.status == CUSTOMER], minlength=self.n_firms)
        for f in self.firms:
            f.customers = int(counts[f.k])

    def _phase_record(self, t: int) -> None:
        st, w, f = self.state, self._week, self.focal
        mine = np.flatnonzero((st.status == CUSTOMER) & (st.firm == 0))
        n_mine = mine.size
        at_start = int(np.count_nonzero(w["start_firm"] == 0))
        lost = int(np.count_nonzero(w["lost_from"] == 0))
        churn = lost / at_start if at_start else 0.0
        total = sum(x.customers for x in self.firms)
        if n_mine:
            ltr = st.ltr[mine]
            nps = 100.0 * ((ltr >= 9).mean() - (ltr <= 6).mean())
            csat = 100.0 * (st.satisfaction[mine] >= self.params.customer.csat_threshold).mean()
            ces = 1.0 + 6.0 * float(st.effort[mine].mean())
            emo, cog = float(st.affect[mine].mean()), float(st.satisfaction[mine].mean())
            beh, loy = float(st.activity[mine].mean()), float(st.loyalty[mine].mean())
            margin = (f.ledger["revenue"] - f.ledger["cogs"]) / n_mine
        else:
            nps = csat = ces = emo = cog = beh = loy = margin = 0.0
        retention = 1.0 - churn
        if np.isnan(self._clv_margin):
            self._clv_margin, self._clv_retention = margin, retention
        else:
            self._clv_margin += (margin - self._clv_margin) / 4.0
            self._clv_retention += (retention - self._clv_retention) / 4.0
        d = self._discount
        clv = self._clv_margin * (1 + d) / (1 + d - min(self._clv_retention, 0.9999))
        eq = f.effective_quality()
        dealer = w["j_dealer"]
        acquisitions = int(np.count_nonzero(dealer[w["j_new"]] == 0) + np.count_nonzero(w["switch_to"] == 0))
        measured = f.measured_nps
        row = {
            "nps": nps, "csat": csat, "ces": ces, "retention_rate": retention, "churn_rate": churn,
            "active_customers": float(n_mine), "market_share": n_mine / total if total else 0.0,
            "revenue": f.ledger["revenue"], "profit": f.ledger["profit"], "cumulative_profit": f.cumulative_profit,
            "clv": clv, "reputation": f.reputation, "emotional_index": emo, "cognitive_index": cog,
            "behavioural_index": beh, "mean_loyalty": loy, "acquisitions": float(acquisitions),
            "complaints": float(np.count_nonzero(dealer[w["j_complained"]] == 0)),
            "wom_positive": float(w["wom_pos"][0]), "wom_negative": float(w["wom_neg"][0]),
            "measured_nps": measured, "measured_csat": f.measured_csat,
            "measurement_error": measured - nps if np.isfinite(measured) else np.nan,
            "mean_quality": float(eq.mean()), "map_error": float(np.abs(f.estimate - eq).mean()),
            "cx_spend": f.ledger["cx_spend"], "support_cost": f.ledger["support_cost"], "alarm": float(f.alarm),
        }
        self.history.append(np.array([row[k] for k in SERIES], dtype=float))
        self.latest = row
