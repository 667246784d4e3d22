"""Estimates with confidence intervals over seeds, used by every empirical claim.

Every empirical effect in reluthe is reported as an :class:`Estimate`: a point value with a 95 %
confidence interval and the number of independent runs (seeds) behind it. With fewer than two runs
there is no interval and ``low``/``high`` are ``None``; decision rules treat that as inconclusive.

Examples
--------
>>> from reluthe.stats import mean_ci
>>> e = mean_ci([0.61, 0.63, 0.62, 0.64, 0.60])
>>> round(e.value, 3), e.n, e.low < e.value < e.high
(0.62, 5, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st

from reluthe._validate import check_seed

__all__ = ["Estimate", "mean_ci", "median_ci", "median_ratio_ci", "diff_ci", "paired_diff_ci",
           "spearman_ci", "compare"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval.

    Attributes
    ----------
    value : float
        The point estimate (mean, difference of means, correlation, ...).
    low, high : float or None
        Bounds of the confidence interval; ``None`` when it cannot be computed (n < 2).
    n : int
        Number of independent runs (seeds) behind the estimate.
    confidence : float
        Coverage of the interval, e.g. 0.95.
    method : str
        How the interval was computed ("t", "welch", "paired-t", "bootstrap",
        "order statistics").
    """

    value: float
    low: float | None
    high: float | None
    n: int
    confidence: float = 0.95
    method: str = "t"

    @property
    def has_ci(self) -> bool:
        """True when the interval exists (at least two runs)."""
        return self.low is not None and self.high is not None

    def excludes(self, x: float = 0.0) -> bool:
        """True when the interval exists and lies strictly on one side of ``x``."""
        return self.has_ci and (self.low > x or self.high < x)

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)

    def __str__(self) -> str:
        if not self.has_ci:
            return f"{self.value:.4g} (n={self.n}, no CI)"
        return f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}] (n={self.n})"


def _clean(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} needs at least one value; got an empty sequence")
    return arr


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean of ``values`` with a Student-t confidence interval.

    Examples
    --------
    >>> mean_ci([1.0]).has_ci
    False
    """
    x = _clean(values, "mean_ci")
    m = float(x.mean())
    if x.size < 2:
        return Estimate(m, None, None, int(x.size), confidence, "t")
    half = float(_st.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Estimate(m, m - half, m + half, int(x.size), confidence, "t")


def median_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Median of ``values`` with a distribution-free interval from order statistics.

    The interval is ``[x_(k), x_(n+1-k)]`` of the sorted values, with the largest ``k`` for
    which ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``; it covers the population median
    with probability at least ``confidence`` for any continuous distribution (the sign-test
    interval). Unlike a t interval it is not widened by a few outliers, which is what timings on
    a shared machine produce (a pre-empted call is slow, never fast). No interval when ``n`` is
    too small for the coverage (``n < 6`` at 95 %).

    Examples
    --------
    >>> e = median_ci([1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 9.0])
    >>> e.value, e.low, e.high
    (1.02, 0.9, 9.0)
    >>> e = median_ci([1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 9.0, 1.01, 0.98, 1.03])
    >>> e.low, e.high
    (0.95, 1.1)
    >>> median_ci([1.0, 2.0]).has_ci
    False
    """
    x = np.sort(_clean(values, "median_ci"))
    n = int(x.size)
    med = float(np.median(x))
    method = "order statistics"
    k = int(_st.binom.ppf((1 - confidence) / 2, n, 0.5))  # P(B <= k - 1) <= alpha / 2
    if _st.binom.cdf(k - 1, n, 0.5) > (1 - confidence) / 2:
        k -= 1
    if k < 1:
        return Estimate(med, None, None, n, confidence, method)
    return Estimate(med, float(x[k - 1]), float(x[n - k]), n, confidence, method)


def median_ratio_ci(log_ratios: Sequence[float], confidence: float = 0.95) -> Estimate:
    """A ratio from per-repeat log ratios: ``exp`` of :func:`median_ci` and of its interval.

    Examples
    --------
    >>> e = median_ratio_ci(np.log([1.2, 1.21, 1.19, 1.2, 1.22, 1.18, 3.0]))
    >>> round(e.value, 2), round(e.low, 2), e.method
    (1.2, 1.18, 'median of per-repeat ratios, order statistics')
    """
    e = median_ci(log_ratios, confidence)
    low, high = ((None, None) if not e.has_ci
                 else (float(math.exp(e.low)), float(math.exp(e.high))))
    return Estimate(float(math.exp(e.value)), low, high, e.n, e.confidence,
                    "median of per-repeat ratios, order statistics")


def diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Difference of means ``mean(a) - mean(b)`` of independent samples (Welch interval).

    Examples
    --------
    >>> diff_ci([1, 1.1, 0.9], [0, 0.1, -0.1]).excludes(0)
    True
    """
    x, y = _clean(a, "diff_ci"), _clean(b, "diff_ci")
    d = float(x.mean() - y.mean())
    n = int(min(x.size, y.size))
    if x.size < 2 or y.size < 2:
        return Estimate(d, None, None, n, confidence, "welch")
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0.0:
        return Estimate(d, d, d, n, confidence, "welch")
    dof = (vx + vy) ** 2 / ((vx**2) / (x.size - 1) + (vy**2) / (y.size - 1))
    half = float(_st.t.ppf(0.5 + confidence / 2, dof) * se)
    return Estimate(d, d - half, d + half, n, confidence, "welch")


def paired_diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean of the paired differences ``a[i] - b[i]`` (same seed in both arms), t interval."""
    x, y = _clean(a, "paired_diff_ci"), _clean(b, "paired_diff_ci")
    if x.shape != y.shape:
        raise ValueError(f"paired_diff_ci needs equal lengths; got {x.size} and {y.size}")
    e = mean_ci(x - y, confidence)
    return Estimate(e.value, e.low, e.high, e.n, confidence, "paired-t")


def spearman_ci(x: Sequence[float], y: Sequence[float], *, seed: int = 0, n_boot: int = 2000,
                confidence: float = 0.95) -> Estimate:
    """Spearman rank correlation of ``x`` and ``y`` with a percentile bootstrap interval.

    The bootstrap resamples pairs with a generator seeded by ``seed`` (global RNG untouched).

    Examples
    --------
    >>> spearman_ci([1, 2, 3, 4, 5, 6], [2, 4, 5, 7, 8, 9]).value
    1.0
    """
    seed = check_seed(seed, func="spearman_ci")
    a, b = _clean(x, "spearman_ci"), _clean(y, "spearman_ci")
    if a.shape != b.shape:
        raise ValueError(f"spearman_ci needs equal lengths; got {a.size} and {b.size}")
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return Estimate(float("nan"), None, None, int(a.size), confidence, "bootstrap")
    rho = float(_st.spearmanr(a, b).statistic)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    ra = _st.rankdata(a[idx], axis=1)
    rb = _st.rankdata(b[idx], axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    ok = den > 0
    boots = (ra * rb).sum(1)[ok] / den[ok]
    lo, hi = np.quantile(boots, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Estimate(rho, float(lo), float(hi), int(a.size), confidence, "bootstrap")


def compare(effect: Estimate, margin: float = 0.0) -> str:
    """Classify an effect against a practical margin: "greater", "less", "tie" or "unclear".

    "greater" / "less": the whole CI lies above ``+margin`` / below ``-margin``;
    "tie": the whole CI lies inside ``[-margin, margin]``; "unclear": anything else
    (including no CI).

    Examples
    --------
    >>> compare(Estimate(0.05, 0.03, 0.07, 5), margin=0.01)
    'greater'
    >>> compare(Estimate(0.0, -0.005, 0.004, 5), margin=0.01)
    'tie'
    """
    if not effect.has_ci:
        return "unclear"
    if effect.low > margin:
        return "greater"
    if effect.high < -margin:
        return "less"
    if -margin <= effect.low and effect.high <= margin:
        return "tie"
    return "unclear"
