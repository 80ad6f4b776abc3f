"""Render the table of VALIDATION.md from the validation suite's measurements.

Run the suite first with the measurements kept (each test writes ``<key>.json`` into
``$CXSIM_MEASURED_DIR``; without it they go to a temporary folder), then:

    CXSIM_MEASURED_DIR=tests/validation/_measured .venv/bin/pytest -m validation
    .venv/bin/python scripts/validation_table.py           # rewrite the table in VALIDATION.md
    .venv/bin/python scripts/validation_table.py --print   # only print it

Only the part of VALIDATION.md between the two ``validation-table`` markers is replaced.
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

# key, fact number, fact, source, testable form (what the test checks)
FACTS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "f01a",
        "1",
        "Satisfaction follows expectation–disconfirmation",
        "Oliver 1980; Anderson & Sullivan 1993; Szymanski & Henard 2001",
        "at fixed delivered quality (same seed, first week), raising expectations lowers satisfaction",
    ),
    (
        "f01b",
        "1",
        "(same)",
        "(same)",
        "across journeys, corr(perceived − expected, satisfaction) > |corr(expected, satisfaction)|",
    ),
    (
        "f02",
        "2",
        "Shortfalls weigh more than surpluses",
        "Anderson & Sullivan 1993; Mittal, Ross & Baldasare 1998",
        "slope of satisfaction vs (perceived − expected) 1.5–2.5× steeper below zero than above (journey level)",
    ),
    (
        "f02b",
        "2b",
        "(same, attribute level; supplementary)",
        "Mittal, Ross & Baldasare 1998",
        "the same ratio with touchpoint-level shortfalls and surpluses as regressors",
    ),
    (
        "f03",
        "3",
        "Loss aversion λ ≈ 2",
        "Tversky & Kahneman 1992 (2.25); Brown et al. 2024 meta-analysis (1.96 [1.82, 2.10])",
        "default λ in [1.8, 2.3]; with λ = 1 the asymmetry of fact 2 vanishes",
    ),
    (
        "f04a",
        "4",
        "Peak–end rule, duration neglect",
        "Kahneman et al. 1993; Redelmeier, Katz & Kahneman 2003",
        "adding mildly positive touchpoints at the end of a bad journey raises remembered satisfaction and "
        "return probability (scripted journeys through the model's rules); duration barely matters",
    ),
    (
        "f04b",
        "4",
        "(same, on the model's journeys)",
        "(same)",
        "satisfaction weighs the last touchpoint most and the worst one beyond its share of the mean",
    ),
    (
        "f05a",
        "5",
        "Word of mouth is an asymmetric U in satisfaction",
        "Anderson 1998",
        "per-customer word of mouth at the dissatisfied end 1.5–3× that at the satisfied end",
    ),
    (
        "f05b",
        "5",
        "…yet positive word of mouth outnumbers negative about 3:1",
        "East, Hammond & Wright 2007",
        "aggregate positive:negative messages between 2:1 and 4:1 on defaults",
    ),
    (
        "f06a",
        "6",
        "Complaint iceberg: few dissatisfied customers complain",
        "TARP 1979",
        "complaints are 5–30% of dissatisfied customers",
    ),
    (
        "f06b",
        "6",
        "Recovery value decays with delay",
        "TARP; Dillard & Bates",
        "a recovery that comes later wins back fewer (only the delay varied, same seeds)",
    ),
    (
        "f07a",
        "7",
        "Omnichannel customers buy more",
        "Sopadjieva, Dholakia & Benjamin 2017 (+4% store, +10% online, +23% repeat trips)",
        "customers using more channels have a 4–10% higher basket, rising with the number of channels",
    ),
    (
        "f07b",
        "7",
        "(same)",
        "(same)",
        "…and more repeat visits, rising with the number of channels",
    ),
    (
        "f08",
        "8",
        "Retention leverage works through lifetime",
        "Reichheld & Sasser 1990; Reinartz & Kumar 2002",
        "90% → 95% retention roughly doubles expected lifetime; the profit gain comes from the mechanics, "
        "not from a built-in falling cost-to-serve",
    ),
    (
        "f09a",
        "9",
        "Cumulative satisfaction anchors retention",
        "Bolton 1998",
        "the churn hazard falls with cumulative satisfaction (loyalty)",
    ),
    (
        "f09b",
        "9",
        "(same)",
        "(same)",
        "one bad episode moves long-tenure customers less than new ones",
    ),
    (
        "f10a",
        "10",
        "Word-of-mouth diffusion follows the Bass S-curve",
        "Sultan, Farley & Lehmann 1990 (p ≈ 0.03, q ≈ 0.38)",
        "with acquisition only through advertising p and word of mouth q, adoption is S-shaped with the peak "
        "near t* = ln(q/p)/(p+q) ≈ 6.2 periods",
    ),
    ("f10b", "10", "(same)", "(same)", "with q = 0 the S-shape disappears"),
    (
        "kpi",
        "—",
        "Default market in its plausible range",
        "README / ODD §1",
        "NPS in [−10, 60], annual churn 5–40%, positive profit (10,000 customers, 104 weeks)",
    ),
    (
        "v01",
        "V1",
        "Customer value is concentrated, about 60/20",
        "Sharp, Romaniuk & Graham 2019, *Marketing's 60/20 Pareto Law* (abstract: a brand's heaviest 20% of buyers "
        "'generally contribute not much more than half of a brand's sales'; across 17 categories the top 20% give "
        "'around 60%' of purchase occasions, not 80%)",
        "share of the focal firm's window revenue from its top 20% of buyers in 50–70%",
    ),
    (
        "v02",
        "V2",
        "Satisfaction goes with later spend (share of wallet)",
        "Cooil, Keiningham, Aksoy & Hsu 2007, *J. Marketing* 71(1):67–83 (abstract: 4,319 households, 12,249 "
        "observations over five years; 'a positive relationship between changes in satisfaction and share of "
        "wallet'; the initial satisfaction level corresponds to later changes) — a sign, no size to compare",
        "customer-level correlation of satisfaction (week 52) with spend at the focal firm in the next 26 weeks > 0",
    ),
    (
        "v03",
        "V3",
        "Retention gains are largest at the top of satisfaction",
        "Jones & Sasser 1995, *HBR* 73(6) (Xerox: merely satisfied customers 'six times less likely to buy again' "
        "than totally satisfied ones); Mittal & Kamakura 2001, *JMR* 38(1):131–142 (non-linear "
        "satisfaction–retention response) — a shape, no size to compare",
        "26-week churn by satisfaction quintile falls, and falls most between the top two quintiles",
    ),
    (
        "v04",
        "V4",
        "Effort drives disloyalty",
        "Dixon, Freeman & Toman 2010, *HBR* 88(7/8):116–122 (reducing effort, not delighting, is what builds "
        "loyalty; high-effort service interactions drive disloyalty) — a direction, no size to compare",
        "26-week churn of the top effort quartile above the bottom one, also within satisfaction terciles",
    ),
)


# issue 14: what each fact tests and whether parameters were set with it in view.
# kind: "emergent" (a pattern no single equation writes down) or "rule" (a re-check of the
# model's own rule or parameter: belongs with the rule tests). role: "target" (calibration
# target: defaults were set with it in view) or "held out" (never looked at while setting them).
ROLE = {
    "f01a": ("rule", "—"),
    "f01b": ("rule", "—"),
    "f02": ("emergent", "target"),
    "f02b": ("rule", "target"),
    "f03": ("rule", "—"),
    "f04a": ("rule", "—"),
    "f04b": ("emergent", "held out"),
    "f05a": ("rule", "—"),
    "f05b": ("emergent", "target"),
    "f06a": ("rule", "—"),
    "f06b": ("emergent", "held out"),
    "f07a": ("emergent", "target"),
    "f07b": ("emergent", "target"),
    "f08": ("rule", "—"),
    "f09a": ("rule", "—"),
    "f09b": ("rule", "—"),
    "f10a": ("emergent", "held out"),
    "f10b": ("emergent", "held out"),
    "kpi": ("emergent", "target"),
    "v01": ("emergent", "held out"),
    "v02": ("emergent", "held out"),
    "v03": ("emergent", "held out"),
    "v04": ("emergent", "held out"),
}


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
        "| # | fact | source and figure | testable form | measured (seeds) | result | kind | calibration |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, num, fact, source, form in FACTS:
        data = measured.get(key)
        asserted = f" *(asserted: {cell(data['expected'])})*" if data else ""
        kind, role = ROLE.get(key, ("?", "?"))
        lines.append(
            f"| {num} | {cell(fact)} | {cell(source)} | {cell(form)}{asserted} | "
            f"{cell(data['measured'] if data else '—')} | {cell(result(data))} | {kind} | {role} |"
        )
    emergent = [k for k, (kind, _) in ROLE.items() if kind == "emergent"]
    held = [k for k in emergent if ROLE[k][1] == "held out"]
    seeds = sorted({d.get("seed0") for d in measured.values()} - {None})
    counts = {
        o: sum(d.get("outcome") == o for d in measured.values())
        for o in ("passed", "xfailed", "failed", "xpassed")
    }
    lines.append("")
    lines.append(
        f"Emergent facts: {len(emergent)}, of which {len(held)} held out and {len(emergent) - len(held)} calibration "
        f"targets; rule re-checks: {len(ROLE) - len(emergent)}."
    )
    lines.append("")
    lines.append(
        f"{counts['passed']} pass, {counts['xfailed']} fail as expected (xfail), {counts['failed']} fail unexpectedly, "
        f"{counts['xpassed']} unexpectedly pass; replicate seeds start at {', '.join(map(str, seeds)) or '—'}."
    )
    return "\n".join(lines)


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
    text = table(measured)
    if args.print:
        print(text)
        return 0
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        print(f"{DOC.name} has no {START} … {END} markers", file=sys.stderr)
        return 1
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(f"rewrote the table in {DOC.name} ({len(measured)} measurements)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
