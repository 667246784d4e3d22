"""What every empirical rule of reluthe shares: the minimum number of seeds, bounded intervals.

``MIN_SEEDS = 3``: a rule answers "inconclusive" when a cell it reads has fewer seeds. Why 3:
with 2 seeds a 95 % interval has 1 degree of freedom, so Student's critical value is 12.7 and
any interval is too wide to decide anything, while a single lucky pair can still look decided;
from 3 seeds (critical value 4.3) an interval can separate real effects, and 3 is the floor of
the evidence standard (``CLAIMS.md``: "≥ 3 data seeds × ≥ 3 model seeds"). Intervals are still
computed, and reported, from 2 seeds; only the verdict needs ``MIN_SEEDS``.

Accuracies and other proportions are reported with intervals that stay inside [0, 1]:

* :func:`proportion_est`: the mean over seeds of per-seed proportions that each count items
  out of a known number (test accuracy on ``n_test`` examples, the share of zero outputs among
  ``n_inputs × width`` (input, unit) pairs, the share of dead units among ``width``), with
  :func:`reluthe.stats.accuracy_ci` (Wilson on the effective number of items, with the seeds'
  design effect);
* :func:`bootstrap_share_est`: the mean over seeds of per-seed proportions without one such
  count (e.g. an unweighted mean of per-layer shares of layers of different widths), with a
  percentile bootstrap over seeds, which never leaves the range of the values.

Examples
--------
>>> e = proportion_est([1.0, 0.998, 0.999], 1000)
>>> e.high <= 1.0, e.method
(True, 'wilson, effective n')
>>> e = bootstrap_share_est([0.2, 0.25, 0.3, 0.22], seed=0)
>>> 0.2 <= e.low <= e.value <= e.high <= 0.3, e.method
(True, 'percentile bootstrap over seeds')
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from reluthe.stats import Estimate, accuracy_ci, cluster_bootstrap_ci, mean_ci

__all__ = ["MIN_SEEDS", "mean_est", "proportion_est", "bootstrap_share_est", "scaled"]

MIN_SEEDS = 3

_WILSON = "wilson, effective n"
_BOOT = "percentile bootstrap over seeds"


def _finite(values) -> np.ndarray:
    """``values`` as a flat float array, None and NaN dropped."""
    arr = np.asarray([math.nan if v is None else float(v)
                      for v in np.asarray(values, dtype=object).ravel()], dtype=float)
    return arr[np.isfinite(arr)]


def mean_est(values) -> Estimate:
    """Mean over seeds with a 95 % t interval (None and NaN dropped, e.g. a diverged run); NaN
    estimate without an interval when none is finite. Not for accuracies and other proportions
    (:func:`proportion_est`), whose t interval can leave [0, 1].

    Examples
    --------
    >>> e = mean_est([1.0, None, 3.0, float("nan")])
    >>> e.value, e.n
    (2.0, 2)
    """
    x = _finite(values)
    if x.size == 0:
        return Estimate(math.nan, None, None, 0)
    return mean_ci(x)


def proportion_est(values, n_items: int, confidence: float = 0.95) -> Estimate:
    """Mean of per-seed proportions on ``n_items`` items each, interval inside [0, 1].

    :func:`reluthe.stats.accuracy_ci` on the finite values (None and NaN dropped, e.g. a
    diverged run); NaN estimate without an interval when none is finite.
    """
    x = _finite(values)
    if x.size == 0:
        return Estimate(math.nan, None, None, 0, confidence, _WILSON)
    return accuracy_ci(x, int(n_items), confidence)


def bootstrap_share_est(values, seed: int, confidence: float = 0.95,
                        n_boot: int = 2000) -> Estimate:
    """Mean of per-seed proportions with a percentile bootstrap interval over seeds.

    Each seed is resampled whole (:func:`reluthe.stats.cluster_bootstrap_ci`, one cluster per
    seed, percentile method): the interval lies between the smallest and the largest value, so
    inside [0, 1] for proportions. Generator seeded by ``seed``; None and NaN dropped.
    """
    x = _finite(values)
    if x.size == 0:
        return Estimate(math.nan, None, None, 0, confidence, _BOOT)
    e = cluster_bootstrap_ci(lambda v: float(np.mean(v)), [x], np.arange(x.size), seed=seed,
                             n_boot=n_boot, confidence=confidence, method="percentile")
    return dataclasses.replace(e, method=_BOOT)


def scaled(e: Estimate, factor: float, what: str) -> Estimate:
    """``e`` with value and bounds multiplied by ``factor`` (e.g. a share of 8 modes as modes);
    ``what`` is appended to the method."""
    def mul(v):
        return None if v is None else v * factor
    return dataclasses.replace(e, value=e.value * factor, low=mul(e.low), high=mul(e.high),
                               method=f"{e.method}; {what}")
