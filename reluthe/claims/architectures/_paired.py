"""Paired comparisons of two arms that share seeds, read from a measurement's rows.

In every comparison of this family (C18–C21) the two arms are trained with the same seeds: the
same initial weights, the same minibatches (and for C20 the same data and latent draws), so the
arms are paired by seed and the interval of a difference is the t interval of the per-seed
differences (:func:`reluthe.stats.paired_diff_ci`), not Welch's.

Examples
--------
>>> raw = [{"seed": 0, "act": "relu", "acc": 0.9}, {"seed": 1, "act": "relu", "acc": 0.8},
...        {"seed": 0, "act": "tanh", "acc": 0.7}, {"seed": 1, "act": "tanh", "acc": 0.7}]
>>> e = paired_diff(raw, "acc", "act", "relu", "tanh")
>>> round(e.value, 3), e.n, e.method
(0.15, 2, 'paired-t')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reluthe.claims._records import select
from reluthe.stats import Estimate, paired_diff_ci

__all__ = ["paired_values", "paired_diff"]


def paired_values(raw: Sequence[dict], field: str, arm: str, first, second,
                  **cell) -> tuple[list[float], list[float]]:
    """``field`` of arm ``first`` and of arm ``second`` in ``cell``, aligned by seed.

    ``arm`` names the field that tells the arms apart (e.g. ``"activation"``). Seeds missing
    from either arm, or whose value is non-finite in either (a diverged run), are left out.

    Examples
    --------
    >>> raw = [{"seed": 0, "a": "x", "v": 1.0}, {"seed": 1, "a": "x", "v": float("nan")},
    ...        {"seed": 1, "a": "y", "v": 2.0}, {"seed": 0, "a": "y", "v": 3.0}]
    >>> paired_values(raw, "v", "a", "x", "y")
    ([1.0], [3.0])
    """
    def by_seed(value) -> dict:
        return {row["seed"]: float(row[field]) for row in select(raw, **cell, **{arm: value})}

    a, b = by_seed(first), by_seed(second)
    seeds = [s for s in a if s in b and math.isfinite(a[s]) and math.isfinite(b[s])]
    return [a[s] for s in seeds], [b[s] for s in seeds]


def paired_diff(raw: Sequence[dict], field: str, arm: str, first, second,
                confidence: float = 0.95, **cell) -> Estimate:
    """Mean over seeds of ``first - second`` on ``field`` in ``cell``, paired t interval.

    No interval with fewer than two complete pairs; with none, the value is NaN.

    Examples
    --------
    >>> paired_diff([{"seed": 0, "a": "x", "v": 1.0}], "v", "a", "x", "y").n
    0
    """
    a, b = paired_values(raw, field, arm, first, second, **cell)
    if not a:
        return Estimate(math.nan, None, None, 0, confidence, "paired-t")
    return paired_diff_ci(a, b, confidence)
