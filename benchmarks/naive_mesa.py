"""The baseline: the customer rules of ``sim`` written the way a typical Mesa user would.

Every customer is a ``mesa.Agent`` holding its own state in plain Python attributes, and its
``step()`` walks one week in plain Python with ``model.random``: purchase occasion (and firm
choice for prospects), a journey over the same five touchpoints with channel choice, failures,
personalisation and peak–end affect, satisfaction, purchase, complaint and recovery, learning,
word of mouth to its network neighbours, churn or switching, and the survey answer. Customers
are scheduled with ``shuffle_do("step")``; the firms then run the same firm-level stages as
the vectorised model (they reuse ``sim.firm.Firm`` and the firm-level rules of
``sim.mechanism``, which cost the same in both versions).

It is a benchmark baseline, not a second model: updates are sequential (a recommendation
reaches the neighbour at once) and each customer draws only the random numbers it needs, so
its numbers are close to, but not the same as, ``sim.run_model``'s. Shocks are not supported.

    python benchmarks/naive_mesa.py --customers 10000 --steps 52
"""

from __future__ import annotations

import argparse
import math
import time

import mesa
import networkx as nx
import numpy as np

from sim import mechanism
from sim.firm import Firm
from sim.journey import N_CHANNELS, N_TOUCHPOINTS, PURCHASE_TP
from sim.params import Params, validate
from sim.rng import Streams
from sim.state import CUSTOMER, LAPSED, PROSPECT


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def loss_averse(d: float, loss_aversion: float) -> float:
    return d if d >= 0 else loss_aversion * d


class NaiveCustomer(mesa.Agent):
    """One customer, its state in its own attributes."""

    def __init__(self, model: NaiveModel, segment: int):
        super().__init__(model)
        p, r, k = model.params, model.random, model.n_firms
        self.segment = segment
        seg = model.segments[segment]
        self.expectation = clip(seg.need + r.gauss(0, 0.05), 0, 1)
        self.attitude = [clip(r.gauss(0.55, 0.08), 0, 1) for _ in range(k)]
        self.aware = [r.random() < p.population.initial_awareness for _ in range(k)]
        self.affect = self.peak = self.end = 0.0
        self.effort = p.journey.base_effort
        self.perceived = [float(model.firms[0].quality.mean())] * N_TOUCHPOINTS
        self.spend, self.purchases, self.complaints = 0.0, 0, 0
        self.channels = 0  # bit mask of the channels used with the current firm
        if r.random() < p.population.initial_customer_share:
            self.status, self.firm = CUSTOMER, model.pick(model.initial_shares)
            self.tenure = r.randrange(157)
            self.loyalty = clip(r.gauss(0.6, 0.08), 0, 1)
            self.attitude[self.firm] = self.loyalty
            self.aware[self.firm] = True
            self.satisfaction = self.loyalty
            self.activity = seg.purchase_rate
            self.channels = 1 << model.pick(model.channel_pref[segment])
        else:
            self.status, self.firm, self.tenure, self.loyalty = PROSPECT, -1, 0, 0.0
            self.satisfaction, self.activity = 0.5, 0.0
        self.neighbors: list[NaiveCustomer] = []
        self.ltr = self.likelihood_to_recommend()

    # ---------------------------------------------------------------------------------------
    def step(self) -> None:
        m = self.model
        dealer, seeker = self.shop()
        bought = False
        if dealer >= 0:
            firm = m.firms[dealer]
            journey = self.walk_journey(firm)
            bought = self.buy(firm, journey, seeker)
            self.complain(firm, journey)
            self.learn(firm, learn_loyalty=self.status == CUSTOMER and not (seeker and bought))
            self.talk(firm)
        else:
            self.learn(None, learn_loyalty=False)
        self.activity += 0.1 * (bought - self.activity)
        self.churn_or_switch()
        self.ltr = self.likelihood_to_recommend()
        if dealer >= 0:
            self.answer_survey(m.firms[dealer], journey)

    def shop(self) -> tuple[int, bool]:
        """This week's firm (-1: no journey) and whether the customer is a seeker (not yet a customer)."""
        m, cp, r = self.model, self.model.params.customer, self.model.random
        seg = m.segments[self.segment]
        if self.status == CUSTOMER:
            n_ch = self.channels.bit_count()
            rate = seg.purchase_rate * (1.0 + cp.omnichannel_visit_uplift * max(n_ch - 1, 0))
            return (self.firm if r.random() < rate else -1), False
        for k, f in enumerate(m.firms):  # advertising makes non-customers aware (Bass p)
            if r.random() < f.advertising:
                self.aware[k] = True
        rate = cp.winback_rate if self.status == LAPSED else cp.prospect_shop_rate
        if not any(self.aware) or r.random() >= rate:
            return -1, False
        mean_price = sum(f.price for f in m.firms) / m.n_firms
        best, best_u = -1, -math.inf
        for k, f in enumerate(m.firms):  # multinomial logit with Gumbel draws
            if self.aware[k]:
                u = clip(r.random(), 1e-12, 1 - 1e-7)
                util = (
                    4.0 * self.attitude[k]
                    + 2.0 * f.reputation
                    - 10.0 * seg.price_sensitivity * (f.price / mean_price - 1.0)
                    - math.log(-math.log(u))
                )
                if util > best_u:
                    best, best_u = k, util
        return best, True

    def walk_journey(self, firm: Firm) -> dict:
        m, jp, cp, r = (
            self.model,
            self.model.params.journey,
            self.model.params.customer,
            self.model.random,
        )
        fail_p = m.fail_now[firm.k]
        accuracy = firm.data_completeness * (0.5 + 0.5 * firm.knowledge[self.segment])
        personal = (
            jp.personalization_gain * firm.params.policy.personalization * (accuracy - 0.4) / 0.6
        )
        friction = 1.0 - firm.integration
        quality = m.quality_now[firm.k]
        a, peak = self.affect, 0.0
        experienced, used, failed = [], [], []
        ch = -1
        for tp in range(N_TOUCHPOINTS):
            prev = ch
            if tp == 0 or r.random() >= jp.channel_stickiness:
                ch = m.pick(m.channel_pref[self.segment])
            fail = r.random() < fail_p[ch]
            x = quality[tp][ch] + personal + jp.quality_noise * r.gauss(0.0, 1.0)
            if tp and ch != prev:
                x -= jp.switch_quality_penalty * friction
            if fail:
                x -= jp.failure_penalty
            x = clip(x, 0.0, 1.0)
            a = clip(
                cp.affect_carry * a
                + cp.affect_gain * loss_averse(x - self.expectation, cp.loss_aversion),
                -1,
                1,
            )
            if abs(a) > abs(peak):
                peak = a
            experienced.append(x)
            used.append(ch)
            failed.append(fail)
        seams = sum(1 for i in range(1, N_TOUCHPOINTS) if used[i] != used[i - 1])
        effort = min(
            1.0,
            jp.base_effort
            + (seams * jp.switch_effort * friction + sum(failed) * jp.failure_effort)
            / N_TOUCHPOINTS,
        )
        # evaluate: expectation-disconfirmation with the peak-end memory and the effort
        perceived = sum(experienced) / N_TOUCHPOINTS
        remembered = cp.peak_end_weight * peak + (1 - cp.peak_end_weight) * a
        s = (
            cp.satisfaction_baseline
            + cp.disconfirmation_weight
            * loss_averse(perceived - self.expectation, cp.loss_aversion)
            + cp.quality_weight * (perceived - 0.5)
            + cp.memory_weight * remembered
            - cp.effort_weight * (effort - jp.base_effort)
        )
        self.perceived, self.satisfaction, self.effort = experienced, clip(s, 0, 1), effort
        self.peak, self.end, self.affect = peak, a, a
        return {"channels": used, "failed": failed, "accuracy": accuracy, "perceived": perceived}

    def buy(self, firm: Firm, journey: dict, seeker: bool) -> bool:
        m, cp, r = self.model, self.model.params.customer, self.model.random
        used = self.channels  # channels used with this firm so far, this journey included
        for ch in journey["channels"]:
            used |= 1 << ch
        self.channels = used
        if journey["failed"][PURCHASE_TP] and r.random() < m.params.journey.abandon_on_failure:
            return False
        pers = firm.params.policy.personalization
        omni = 1.0 + cp.omnichannel_basket_uplift * (used.bit_count() - 1)
        personal = (
            1.0
            + cp.personalization_basket_uplift * pers * max(journey["accuracy"] - 0.4, 0.0) / 0.6
        )
        units = m.segments[self.segment].basket * omni * personal
        self.spend += units * firm.price
        self.purchases += 1
        firm.week["revenue"] += units * firm.price
        firm.week["units"] += units
        firm.week["buyers_by_segment"][self.segment] += 1  # the CRM logs the purchase (stage 1)
        if seeker:  # acquisition
            self.status, self.firm, self.tenure = CUSTOMER, firm.k, 0
            self.loyalty = self.satisfaction
            self.aware[firm.k] = True
        return True

    def complain(self, firm: Firm, journey: dict) -> None:
        cp, r = self.model.params.customer, self.model.random
        if self.satisfaction >= cp.complaint_threshold:
            return
        if r.random() < cp.complaint_rate * (1.0 + 0.5 * any(journey["failed"])):
            self.complaints += 1
            firm.week["complaints"] += 1
            change = (
                cp.recovery_boost * firm.recovery.value
                if r.random() < firm.recovery.success
                else -0.1
            )
            self.satisfaction = clip(self.satisfaction + change, 0, 1)
            self.affect = clip(self.affect + change, -1, 1)

    def learn(self, firm: Firm | None, learn_loyalty: bool) -> None:
        m, cp = self.model, self.model.params.customer
        if firm is not None:
            self.expectation += cp.expectation_learning * (self.perceived_mean() - self.expectation)
        self.expectation = clip(self.expectation + m.params.mechanism.expectation_creep, 0, 1)
        if learn_loyalty:
            weight = cp.loyalty_learning_floor + (
                cp.loyalty_learning - cp.loyalty_learning_floor
            ) / (1 + self.tenure / cp.tenure_anchor)
            self.loyalty += weight * (self.satisfaction - self.loyalty)
        if firm is not None:
            self.attitude[firm.k] += cp.attitude_learning * (
                self.satisfaction - self.attitude[firm.k]
            )
        for k, f in enumerate(m.firms):  # attitudes drift toward each firm's public reputation
            self.attitude[k] += cp.reputation_weight * (f.reputation - self.attitude[k])
        if self.status == CUSTOMER:
            self.attitude[self.firm] = max(self.attitude[self.firm], 0) * 0.5 + 0.5 * self.loyalty
            self.tenure += 1
        self.affect *= 1.0 - cp.affect_decay

    def perceived_mean(self) -> float:
        return sum(self.perceived) / N_TOUCHPOINTS

    def talk(self, firm: Firm) -> None:
        """Recommend or warn: every neighbour hears it at once; some messages become reviews."""
        cp, r = self.model.params.customer, self.model.random
        social = self.model.segments[self.segment].sociability
        u = r.random()
        s = self.satisfaction
        recommend = (
            u
            < cp.wom_positive_rate
            * max(s - cp.wom_neutral, 0)
            / max(1 - cp.wom_neutral, 1e-6)
            * social
        )
        warn = (
            u
            < cp.wom_negative_rate * max(cp.wom_neutral - s, 0) / max(cp.wom_neutral, 1e-6) * social
        )
        if not (recommend or warn):
            return
        for other in self.neighbors:
            other.hear(firm.k, 1.0 if recommend else 0.0, 0.0 if recommend else cp.negative_reach)
        firm.week["wom_pos" if recommend else "wom_neg"] += 1
        if r.random() < (cp.review_rate if recommend else 2.0 * cp.review_rate):
            firm.week["review_pos" if recommend else "review_neg"] += 1

    def hear(self, k: int, pos: float, neg: float) -> None:
        cp = self.model.params.customer
        a = self.attitude[k]
        self.attitude[k] = clip(
            a + cp.wom_attitude_weight * (min(pos, 5) * (1 - a) - min(neg, 5) * a), 0, 1
        )
        self.expectation = clip(
            self.expectation + cp.wom_expectation_weight * (min(pos, 5) - min(neg, 5)), 0, 1
        )
        if pos and self.status != CUSTOMER and not self.aware[k]:
            if self.model.random.random() < 1 - (1 - cp.wom_recruit_rate) ** pos:
                self.aware[k] = True

    def churn_or_switch(self) -> None:
        m, cp, r = self.model, self.model.params.customer, self.model.random
        if self.status != CUSTOMER:
            return
        own = self.firm
        if r.random() < min(
            1.0, cp.churn_base * math.exp(-cp.churn_loyalty_slope * (self.loyalty - 0.5))
        ):
            m.lost[own] += 1
            self.status, self.firm, self.loyalty, self.tenure, self.channels = LAPSED, -1, 0.0, 0, 0
        elif r.random() < cp.switch_rate:
            best = max(
                (k for k in range(m.n_firms) if k != own and self.aware[k]),
                key=lambda k: self.attitude[k],
                default=-1,
            )
            if best >= 0 and self.attitude[best] - self.loyalty > cp.switch_threshold:
                m.lost[own] += 1
                m.switched_to[best] += 1
                self.firm, self.loyalty, self.tenure, self.channels = (
                    best,
                    self.attitude[best],
                    0,
                    0,
                )

    def likelihood_to_recommend(self) -> int:
        cp = self.model.params.customer
        score = 0.55 * self.loyalty + 0.3 * self.satisfaction + 0.15 * (0.5 + 0.5 * self.affect)
        return int(clip(round(cp.ltr_center + cp.ltr_slope * (score - 0.6)), 0, 10))

    def answer_survey(self, firm: Firm, journey: dict) -> None:
        """A surveyed shopper hands the firm its answer (the firm decides who responds, as in stage 3)."""
        m, r = self.model, self.model.random
        if r.random() < m.params.mechanism.survey_rate:
            firm.answers.append(
                (
                    self.ltr,
                    self.satisfaction,
                    self.perceived,
                    journey["channels"],
                    self.segment,
                    r.random(),
                    r.gauss(0, 1),
                    [r.gauss(0, 1) for _ in range(N_TOUCHPOINTS)],
                    [r.random() for _ in range(N_TOUCHPOINTS)],
                )
            )
        for ch, fail in zip(journey["channels"], journey["failed"], strict=True):
            firm.week["traffic"][ch] += 1
            firm.week["failures"][ch] += fail


class NaiveModel(mesa.Model):
    """The same market as ``sim.CXModel`` (no shocks), one Python object per customer."""

    def __init__(self, params: Params | None = None, rng: int = 0):
        super().__init__(rng=int(rng))
        self.params = p = validate(params or Params())
        if p.shocks:
            raise ValueError("the naive baseline does not model shocks")
        self.seed = int(rng)
        self.segments = p.population.segments
        # the firms draw their journey-map bias from the model's keyed streams (sim.firm.Firm)
        self.streams = Streams(self.seed)
        self.firms = [Firm(self, k, fp, p, len(self.segments)) for k, fp in enumerate(p.firms)]
        self.n_firms = len(self.firms)
        total = sum(f.params.initial_share for f in self.firms)
        self.initial_shares = [f.params.initial_share / total for f in self.firms]
        self.channel_pref = [
            [w / sum(s.channel_pref) for w in s.channel_pref] for s in self.segments
        ]
        seg_total = sum(s.share for s in self.segments)
        seg_shares = [s.share / seg_total for s in self.segments]
        self.customers = [
            NaiveCustomer(self, self.pick(seg_shares)) for _ in range(p.population.n_customers)
        ]
        net = p.market.network
        graph = {
            "small_world": lambda: nx.watts_strogatz_graph(
                len(self.customers), net.mean_degree, net.rewire, seed=self.seed
            ),
            "scale_free": lambda: nx.barabasi_albert_graph(
                len(self.customers), max(1, net.mean_degree // 2), seed=self.seed
            ),
            "random": lambda: nx.gnm_random_graph(
                len(self.customers), len(self.customers) * net.mean_degree // 2, seed=self.seed
            ),
        }[net.kind]()
        for i, c in enumerate(self.customers):
            c.neighbors = [self.customers[j] for j in graph.neighbors(i)]
        self.customer_set = self.agents_by_type[NaiveCustomer]
        self.history: list[dict] = []

    def pick(self, probabilities: list[float]) -> int:
        u, acc = self.random.random(), 0.0
        for i, p in enumerate(probabilities):
            acc += p
            if u < acc:
                return i
        return len(probabilities) - 1

    def step(self) -> None:
        t = self.steps
        self.lost = [0] * self.n_firms
        self.switched_to = [0] * self.n_firms
        self.fail_now = [f.failure_now(t).tolist() for f in self.firms]
        self.quality_now = [f.effective_quality().tolist() for f in self.firms]
        for f in self.firms:
            f.answers = []
            f.week = {
                "revenue": 0.0,
                "units": 0.0,
                "buyers_by_segment": [0] * len(self.segments),
                "complaints": 0,
                "wom_pos": 0,
                "wom_neg": 0,
                "review_pos": 0,
                "review_neg": 0,
                "traffic": [0] * N_CHANNELS,
                "failures": [0] * N_CHANNELS,
            }
        self.customer_set.shuffle_do("step")
        seg_sizes = np.bincount([c.segment for c in self.customers], minlength=len(self.segments))
        for f in self.firms:
            self.firm_step(f, t, seg_sizes)
        self.record()

    def firm_step(self, f: Firm, t: int, seg_sizes: np.ndarray) -> None:
        """Reputation from reviews, then stages 3 → 1 → 2, 5 → 4, the answer to alarms and the ledger."""
        p, w = self.params, f.week
        total = w["review_pos"] + w["review_neg"]
        share = w["review_pos"] / total if total else f.reputation
        f.reputation += (
            p.customer.reputation_learning * min(1.0, total / 10.0) * (share - f.reputation)
        )
        rows = f.answers
        n = len(rows)
        col = list(zip(*rows, strict=True)) if rows else [[]] * 9
        mechanism.stage3_collect(
            f,
            step=t,
            ltr=np.array(col[0], float),
            satisfaction=np.array(col[1], float),
            perceived=np.array(col[2], float).reshape(n, N_TOUCHPOINTS),
            channels=np.array(col[3], int).reshape(n, N_TOUCHPOINTS),
            segment=np.array(col[4], int),
            n_segments=len(self.segments),
            segment_sizes=seg_sizes,
            buyers_by_segment=np.array(w["buyers_by_segment"], float),
            u_respond=np.array(col[5], float),
            z_answer=np.array(col[6], float),
            z_rating=np.array(col[7], float).reshape(n, N_TOUCHPOINTS),
            u_attr=np.array(col[8], float).reshape(n, N_TOUCHPOINTS),
            complaints=w["complaints"],
            warnings_posted=float(w["wom_neg"]),
            digital_failures=np.array(w["failures"], float),
            journeys_by_channel=np.array(w["traffic"], float),
            mech=p.mechanism,
            csat_threshold=p.customer.csat_threshold,
        )
        cadence = f.params.policy.improvement_cadence
        improvement = mechanism.stage4_improve(f, t, cadence, p.mechanism)
        cycle = float(t % cadence == 0)
        f.contacted = 0
        if (
            cycle and f.unanswered_alarm is not None
        ):  # answer the alarm: contact the unhappy customers
            value = p.mechanism.response_boost * math.exp(
                -(t - f.unanswered_alarm) / p.mechanism.response_decay
            )
            f.unanswered_alarm = None
            for c in self.customers:
                if (
                    c.status == CUSTOMER
                    and c.firm == f.k
                    and c.satisfaction < p.customer.complaint_threshold
                ):
                    f.contacted += 1
                    if self.random.random() < f.recovery.success:
                        c.satisfaction = clip(c.satisfaction + value, 0, 1)
                        c.loyalty = clip(c.loyalty + 0.5 * value, 0, 1)
        fp, s = f.params, len(self.customers) / 1000.0
        led = f.ledger
        led["revenue"], led["units"] = w["revenue"], w["units"]
        led["cogs"] = w["units"] * fp.unit_cost
        led["cx_spend"] = s * (
            improvement
            + fp.omnichannel_cost * fp.policy.omnichannel**2
            + fp.personalization_cost * fp.policy.personalization**2
            + fp.cycle_cost * cycle
        )
        led["cx_spend"] += f.contacted * p.mechanism.response_cost
        led["marketing"] = s * fp.advertising_cost * f.advertising / 0.01
        led["support_cost"] = s * f.support_cost_rate
        led["profit"] = (
            led["revenue"] - led["cogs"] - led["cx_spend"] - led["marketing"] - led["support_cost"]
        )
        f.cumulative_profit += led["profit"]

    def record(self) -> None:
        """The focal firm's KPIs of the week (a subset of ``sim.kpis``), by a pass over the customers."""
        mine = [c for c in self.customers if c.status == CUSTOMER and c.firm == 0]
        n = len(mine) or 1
        f = self.firms[0]
        self.history.append(
            {
                "nps": 100.0 * (sum(c.ltr >= 9 for c in mine) - sum(c.ltr <= 6 for c in mine)) / n,
                "csat": 100.0
                * sum(c.satisfaction >= self.params.customer.csat_threshold for c in mine)
                / n,
                "active_customers": float(len(mine)),
                "mean_loyalty": sum(c.loyalty for c in mine) / n,
                "emotional_index": sum(c.affect for c in mine) / n,
                "revenue": f.ledger["revenue"],
                "profit": f.ledger["profit"],
                "measured_nps": f.measured_nps,
                "reputation": f.reputation,
                "lost": float(self.lost[0]),
                "acquired_by_switch": float(self.switched_to[0]),
            }
        )


def run_naive(params: Params | None = None, seed: int = 0, steps: int = 52) -> NaiveModel:
    model = NaiveModel(params, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=52)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from sim import params_from_overrides

    params = params_from_overrides([f"population.n_customers={args.customers}"])
    t0 = time.perf_counter()
    model = NaiveModel(params, rng=args.seed)
    t1 = time.perf_counter()
    for _ in range(args.steps):
        model.step()
    t2 = time.perf_counter()
    last = model.history[-1]
    print(
        f"naive Mesa: {args.customers} customers x {args.steps} steps: build {t1 - t0:.2f} s, "
        f"run {t2 - t1:.2f} s, {args.customers * args.steps / (t2 - t1):,.0f} customer-steps/s; "
        f"final NPS {last['nps']:.1f}, focal customers {last['active_customers']:.0f}"
    )


if __name__ == "__main__":
    main()
