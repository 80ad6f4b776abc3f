"""Render the table of VALIDATION.md from the validation suite's measurements.

Run the suite first with the measurements kept (each test writes ``<key>.json`` into
``$CXSIM_MEASURED_DIR``; without it they go to a temporary folder), then:

    CXSIM_MEASURED_DIR=tests/validation/_measured .venv/bin/pytest -m validation
    .venv/bin/python scripts/validation_table.py           # rewrite the table in VALIDATION.md
    .venv/bin/python scripts/validation_table.py --print   # only print it

Only the parts of VALIDATION.md between the ``validation-table`` markers (the fact table) and the
``rule-rechecks`` markers (where each former rule re-check is tested now) are replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURED = Path(os.environ.get("CXSIM_MEASURED_DIR") or ROOT / "tests" / "validation" / "_measured")
DOC = ROOT / "VALIDATION.md"
START, END = "<!-- validation-table:start -->", "<!-- validation-table:end -->"
RULES_START, RULES_END = "<!-- rule-rechecks:start -->", "<!-- rule-rechecks:end -->"

# The facts of the validation suite (issue 14: only patterns that emerge): key, fact number,
# fact, source with the quoted figure and where it is, testable form (what the test checks),
# calibration role: "target" (defaults were set with the fact in view) or "held out" (never
# looked at while setting them).
FACTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "f02",
        "2",
        "Shortfalls weigh more than surpluses",
        "Anderson & Sullivan 1993, *Marketing Science* 12(2):125–143, abstract: 'quality which falls short of "
        "expectations has a greater impact on satisfaction and repurchase intentions than quality which exceeds "
        "expectations'; Mittal, Ross & Baldasare 1998, *J. Marketing* 62(1):33–47, abstract: the same at attribute "
        "level — a direction, no ratio",
        "on the model's journeys, satisfaction falls faster with a shortfall than it rises with a surplus "
        "(hinge slopes of satisfaction on perceived − expected)",
        "target",
    ),
    (
        "f04b",
        "4",
        "Peak–end: a journey is judged by its worst and its last moments",
        "Kahneman, Fredrickson, Schreiber & Redelmeier 1993, *Psychological Science* 4(6):401–405, abstract: "
        "retrospective evaluations 'are often dominated by the discomfort at the worst and at the final moments of "
        "episodes' — a shape, no size",
        "on the model's journeys, satisfaction weighs the last touchpoint most and the worst one beyond its share "
        "of the mean",
        "held out",
    ),
    (
        "f05b",
        "5",
        "Positive word of mouth outnumbers negative",
        "East, Hammond & Wright 2007, *IJRM* 24(2):175–184, abstract: 'In 15 studies, positive word of mouth "
        "(PWOM) is more common than negative word of mouth (NWOM) in every case. The incidence ratio averages 3 "
        "to 1.' — an average, no spread",
        "aggregate positive:negative messages about the focal firm on defaults above 1 (the ratio reported "
        "against 3:1)",
        "target",
    ),
    (
        "f06b",
        "6",
        "A complaint answered later wins back fewer customers",
        "TARP (Technical Assistance Research Programs), complaint-handling studies for the U.S. Office of "
        "Consumer Affairs: complainers whose complaint is resolved quickly buy again more often (the usual "
        "quotation, 95% vs 54–70%, is second-hand and was not checked against the report) — a direction",
        "complainers answered successfully after 0, 2 or 3 weeks (only the delay varied, same seeds): share "
        "still customers at week 36 falls with the delay",
        "held out",
    ),
    (
        "f07a",
        "7",
        "Omnichannel customers buy more per occasion",
        "Sopadjieva, Dholakia & Benjamin, *HBR* online, 3 Jan 2017: omnichannel customers 'spent an average of "
        "4% more on every shopping occasion in the store and 10% more online than single-channel customers'; "
        "'with every additional channel they used, the shoppers spent more money in the store'",
        "multichannel / single-channel basket in [1.04, 1.10] (the two figures), rising with the number of "
        "channels",
        "target",
    ),
    (
        "f07b",
        "7",
        "…and come back more often",
        "the same article: 'within six months ... these omnichannel shoppers had logged 23% more repeat "
        "shopping trips' — one figure, no spread",
        "purchases in the following 26 weeks of multichannel / single-channel customers above 1 (the ratio "
        "reported against 1.23)",
        "target",
    ),
    (
        "f10a",
        "10",
        "Word-of-mouth diffusion follows the Bass S-curve",
        "Sultan, Farley & Lehmann 1990, *JMR* 27(1):70–77, meta-analysis of 213 applications, abstract: average "
        "p = 0.03, q = 0.38 — the market is set to these; the shape is the fact",
        "with acquisition only through advertising p and word of mouth q on the network, adoption rises to an "
        "interior peak and falls, with fitted q̂ > p̂ (peak time t̂* reported against t* = ln(q/p)/(p+q) ≈ 6.2)",
        "held out",
    ),
    (
        "f10b",
        "10",
        "(same: the control)",
        "Bass 1969, *Management Science* 15(5):215–227: with q = 0 the hazard is p and adoptions "
        "p·(1 − F) fall from the start (analytic, no figure)",
        "with q = 0 the S-shape disappears",
        "held out",
    ),
    (
        "kpi",
        "—",
        "Default market in its plausible range",
        "README, 'The default market, and where its ranges come from': NPS −10 … +60 ('published NPS benchmarks "
        "for consumer industries mostly lie between about −10 … and +60'), annual churn 5–40% — a plausibility "
        "range, not a literature figure",
        "NPS in [−10, 60], annual churn 5–40%, positive profit (10,000 customers, 104 weeks)",
        "target",
    ),
    (
        "v01",
        "V1",
        "Customer value is concentrated, about 60/20",
        "Sharp, Romaniuk & Graham 2019, *Marketing's 60/20 Pareto Law* (SSRN 3498097), abstract: a brand's "
        "heaviest 20% of buyers 'generally contribute not much more than half of a brand's sales'; 'It's wrong "
        "to talk about an 80/20 law'; Sharp & Romaniuk 2007, *There is a Pareto Law, but not as you know "
        "it* (Ehrenberg-Bass report), abstract: 'around 60% of purchase occasions, not the 80+% widely "
        "assumed'",
        "share of the focal firm's window revenue from its top 20% of buyers at least 50% and below 80%",
        "held out",
    ),
    (
        "v02",
        "V2",
        "Satisfaction goes with later spend (share of wallet)",
        "Cooil, Keiningham, Aksoy & Hsu 2007, *J. Marketing* 71(1):67–83 (abstract: 4,319 households, 12,249 "
        "observations over five years; 'a positive relationship between changes in satisfaction and share of "
        "wallet'; the initial satisfaction level corresponds to later changes) — a sign, no size to compare",
        "customer-level correlation of satisfaction (week 52) with spend at the focal firm in the next 26 weeks > 0",
        "held out",
    ),
    (
        "v03",
        "V3",
        "Retention gains are largest at the top of satisfaction",
        "Jones & Sasser 1995, *HBR* 73(6) (Xerox: merely satisfied customers 'six times less likely to buy again' "
        "than totally satisfied ones); Mittal & Kamakura 2001, *JMR* 38(1):131–142 (non-linear "
        "satisfaction–retention response) — a shape, no size to compare",
        "26-week churn by satisfaction quintile falls, and falls most between the top two quintiles",
        "held out",
    ),
    (
        "v04",
        "V4",
        "Effort drives disloyalty",
        "Dixon, Freeman & Toman 2010, *HBR* 88(7/8):116–122 (reducing effort, not delighting, is what builds "
        "loyalty; high-effort service interactions drive disloyalty) — a direction, no size to compare",
        "26-week churn of the top effort quartile above the bottom one",
        "held out",
    ),
    (
        "v04b",
        "V4b",
        "Effort drives disloyalty at equal satisfaction",
        "Dixon, Freeman & Toman 2010 (as V4: effort, not lack of delight, drives disloyalty, so it "
        "must act beyond satisfaction) — a direction, no size to compare",
        "logistic regression of leaving within 26 weeks on satisfaction and effort: effort's "
        "coefficient above 0 (95% interval)",
        "held out",
    ),
)

# The rule re-checks that issue 14 moved out of tests/validation/ (their own section of
# VALIDATION.md, not facts): former row, what they checked, the rule, where the test is now.
RULES: tuple[tuple[str, str, str, str], ...] = (
    (
        "1",
        "expectation–disconfirmation (Oliver 1980; Anderson & Sullivan 1993)",
        "`sim.cognition.transaction_satisfaction`: satisfaction depends on P − E plus a quality term; "
        "higher expectations at the same delivered quality never satisfy more",
        "tests/test_rules_satisfaction.py",
    ),
    (
        "2b",
        "asymmetry at touchpoint (attribute) level",
        "the loss-averse value function in `sim.emotion.journey_affect` and in the satisfaction rule "
        "(λ× steeper below expectations); λ = 1 removes it on the model's journeys",
        "tests/test_rules_satisfaction.py",
    ),
    (
        "3",
        "loss aversion λ ≈ 2 (Tversky & Kahneman 1992: 2.25; Brown et al. 2024: 1.96 [1.82, 2.10])",
        "the default `customer.loss_aversion` in [1.8, 2.3]; the disconfirmation term is exactly λ× "
        "steeper below zero",
        "tests/test_rules_satisfaction.py",
    ),
    (
        "4a",
        "peak–end, duration neglect on scripted journeys (Kahneman et al. 1993)",
        "`sim.emotion.remembered_affect` through satisfaction, loyalty and the churn hazard",
        "tests/test_rules_satisfaction.py",
    ),
    (
        "5a",
        "word of mouth is an asymmetric U (Anderson 1998)",
        "`sim.wom.senders`: the documented propensities, exactly; the dissatisfied end talks "
        "`wom_negative_rate / wom_positive_rate` times as often",
        "tests/test_rules_word_of_mouth.py",
    ),
    (
        "6a",
        "complaint iceberg: 5–30% of the dissatisfied complain (TARP 1979)",
        "`CXModel._phase_complaints`: `complaint_rate` 0.15, ×1.5 after a failure (15–22.5% by "
        "construction), within binomial error",
        "tests/test_rules_complaints.py",
    ),
    (
        "6b (scripted half)",
        "a later answer is worth less",
        "`sim.support.recovery` (value exp(−delay/4)) and `sim.behaviour.recover_complaints`",
        "tests/test_rules_complaints.py",
    ),
    (
        "8",
        "retention leverage through lifetime (Reichheld & Sasser 1990; Reinartz & Kumar 2002)",
        "lifetime 1/(1 − r) and the CLV definition of `sim.kpis` (exact); the model runs at lower "
        "churn are kept as a slow test (xfail after the recalibration; passes since word of mouth "
        "carries experience: 88.2% / 93.9% retention, profit gain 0.84× the mechanics)",
        "tests/test_rules_retention.py",
    ),
    (
        "9a",
        "the churn hazard falls with cumulative satisfaction (Bolton 1998)",
        "`sim.behaviour.churn_hazard`: leavers per loyalty quintile match the summed hazards",
        "tests/test_rules_retention.py",
    ),
    (
        "9b",
        "one bad episode moves long-tenure customers less",
        "`sim.cognition.loyalty_weight` / `update_loyalty`: the change scales exactly with the "
        "tenure weight",
        "tests/test_rules_retention.py",
    ),
)


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no column breaks, no stray emphasis)."""
    return str(text).replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def result(data: dict | None) -> str:
    if data is None:
        return "not measured"
    outcome = data.get("outcome")
    if outcome == "passed":
        return "pass"
    if outcome == "xfailed":
        return f"fails: {data.get('xfail_reason', '')}"
    if outcome == "xpassed":
        return "**now reproduced**: remove the xfail"
    if outcome == "failed":
        return "**FAILED** (unexpected: see the test)"
    return str(outcome)


def load() -> dict[str, dict]:
    out = {}
    for path in sorted(MEASURED.glob("*.json")):
        data = json.loads(path.read_text())
        out[data["key"]] = data
    return out


def table(measured: dict[str, dict]) -> str:
    lines = [
        "| # | fact | source and quoted figure | testable form | measured (seeds) | result | calibration |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, num, fact, source, form, role in FACTS:
        data = measured.get(key)
        asserted = f" *(asserted: {cell(data['expected'])})*" if data else ""
        lines.append(
            f"| {num} | {cell(fact)} | {cell(source)} | {cell(form)}{asserted} | "
            f"{cell(data['measured'] if data else '—')} | {cell(result(data))} | {role} |"
        )
    held = [k for k, *_, role in FACTS if role == "held out"]
    found = [measured[k] for k, *_ in FACTS if k in measured]
    seeds = sorted({d.get("seed0") for d in found} - {None})
    counts = {
        o: sum(d.get("outcome") == o for d in found)
        for o in ("passed", "xfailed", "failed", "xpassed")
    }
    unknown = sorted(set(measured) - {k for k, *_ in FACTS})
    lines.append("")
    lines.append(
        f"Facts: {len(FACTS)}, of which {len(held)} held out and {len(FACTS) - len(held)} calibration targets. "
        f"{counts['passed']} pass, {counts['xfailed']} fail as expected (xfail), {counts['failed']} fail "
        f"unexpectedly, {counts['xpassed']} unexpectedly pass; replicate seeds start at "
        f"{', '.join(map(str, seeds)) or '—'}."
    )
    if unknown:
        lines.append("")
        lines.append(f"Measurements with no row in the table (stale files?): {', '.join(unknown)}.")
    return "\n".join(lines)


def rules_section() -> str:
    lines = [
        "| former row | what it checked | rule (as documented) | test file now |",
        "|---|---|---|---|",
    ]
    for row, what, rule, path in RULES:
        if not (ROOT / path).is_file():
            raise SystemExit(f"{path} (rule re-check {row}) does not exist")
        lines.append(f"| {row} | {cell(what)} | {cell(rule)} | `{path}` |")
    return "\n".join(lines)


def replace_between(doc: str, start: str, end: str, text: str) -> str:
    if start not in doc or end not in doc:
        raise SystemExit(f"{DOC.name} has no {start} … {end} markers")
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{text}\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--print", action="store_true", help="print the table instead of rewriting VALIDATION.md"
    )
    args = ap.parse_args(argv)
    measured = load()
    if not measured:
        print("no measurements: run `.venv/bin/pytest -m validation` first", file=sys.stderr)
        return 1
    text, rules = table(measured), rules_section()
    if args.print:
        print(text)
        print()
        print(rules)
        return 0
    doc = replace_between(DOC.read_text(), START, END, text)
    doc = replace_between(doc, RULES_START, RULES_END, rules)
    DOC.write_text(doc)
    print(f"rewrote the tables in {DOC.name} ({len(measured)} measurements)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
