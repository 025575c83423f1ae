"""Java's double arithmetic, where it differs from Python's, for the official evaluator's means.

The Java tool divides by zero and takes logarithms of zero without an exception; the NaNs and
infinities that result decide some official figures (a mean over zero questions is NaN, a NaN
average precision is skipped). These functions give the same values, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def div(a: float, b: float) -> float:
    """Java double division: x/0 is NaN or an infinity instead of an exception."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * (math.copysign(1.0, b))
    return a / b


def log(x: float) -> float:
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return math.log(x)


def exp(x: float) -> float:
    if math.isnan(x):
        return math.nan
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def nan0(x: float) -> float:
    return 0.0 if math.isnan(x) else x


def mean(values: Sequence[float]) -> float:
    """The mean the evaluator reports for most measures: NaNs count as 0, no values give 0."""
    return sum(nan0(v) for v in values) / len(values) if values else 0.0
