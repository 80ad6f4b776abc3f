"""Numbers as people read them: the one formatter of the project's text, tables and summaries.

Missing values (NaN, infinities, None) always print as :data:`MISSING` ("n/a"): unlike a dash,
it cannot be read as a minus sign.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "n/a"


def fmt(value: Any, digits: int = 3, *, style: str = "prose") -> str:
    """``value`` for a reader.

    ``style="prose"``: ``digits`` significant digits with thousands separators (3.14159 → 3.14,
    123456.7 → 123,457).  ``style="table"``: fixed decimals by magnitude, for aligned columns
    (≥ 1000: none; ≥ 100: one; ≥ 1: two; below 1: ``digits`` significant digits).
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if style == "prose":
        if value == 0:
            return "0"
        mag = math.floor(math.log10(abs(value)))
        decimals = max(0, digits - 1 - mag)
        return f"{value:,.{decimals}f}"
    if style == "table":
        a = abs(value)
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}g}" if a < 1 else f"{value:.2f}"
    raise ValueError(f"invalid style={style!r}: allowed prose, table")
