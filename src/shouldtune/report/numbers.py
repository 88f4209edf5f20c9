"""The one place the report turns values from results.json into text: a missing, boolean or
non-finite value (a results.json from elsewhere, an older schema) reads as a dash, never as
an error or "nan"."""

from __future__ import annotations

import math
from typing import Any

from ..core.cost import money

DASH = "–"


def finite(value: Any) -> float | None:
    """The value as a float when it is a real, finite number; else None (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def num(value: Any, spec: str, empty: str = DASH) -> str:
    """`format(value, spec)`, or `empty` when there is no finite number."""
    v = finite(value)
    return empty if v is None else format(v, spec)


def with_unit(value: Any, spec: str, unit: str) -> str:
    """ "12.5 ms"-style, or "" when there is no number (the cell stays blank)."""
    v = finite(value)
    return "" if v is None else f"{format(v, spec)} {unit}"


def amount(value: Any, currency: str) -> str:
    """Money as core.cost writes it, or a dash."""
    v = finite(value)
    return DASH if v is None else money(v, currency)


def count(value: Any) -> str:
    return num(value, ",.0f")


def clamp01(value: Any) -> float:
    """A share for drawing (bar widths): clamped to [0, 1], 0 when missing."""
    v = finite(value)
    return 0.0 if v is None else min(1.0, max(0.0, v))


def percent(value: Any) -> str:
    v = finite(value)
    return DASH if v is None else f"{100 * v:.0f}%"


FLOP_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def flops(value: Any) -> str:
    """3 significant digits with an SI prefix: "1.23 TFLOP"."""
    v = finite(value)
    if v is None:
        return DASH
    scale, prefix = next(((s, p) for s, p in FLOP_PREFIXES if abs(v) >= s), (1.0, ""))
    return f"{v / scale:.3g} {prefix}FLOP"
