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
        "| # | fact | source | testable form | measured | result |",
        "|---|---|---|---|---|---|",
    ]
    for key, num, fact, source, form in FACTS:
        data = measured.get(key)
        asserted = f" *(asserted: {cell(data['expected'])})*" if data else ""
        lines.append(
            f"| {num} | {cell(fact)} | {cell(source)} | {cell(form)}{asserted} | "
            f"{cell(data['measured'] if data else '—')} | {cell(result(data))} |"
        )
    seeds = sorted({d.get("seed0") for d in measured.values()} - {None})
    counts = {
        o: sum(d.get("outcome") == o for d in measured.values())
        for o in ("passed", "xfailed", "failed", "xpassed")
    }
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
