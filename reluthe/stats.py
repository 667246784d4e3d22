"""The one statistics layer of reluthe: every verdict's interval comes from here.

Every empirical effect in reluthe is reported as an :class:`Estimate`: a point value with a 95 %
confidence interval, the number of independent runs (seeds) behind it and the name of the method
that made the interval. With fewer than two runs there is no interval and ``low``/``high`` are
``None``; decision rules treat that as inconclusive.

Where :mod:`scipy.stats` has the interval, this module delegates to it (t tests, Welch, paired t,
bootstrap, exact and Wilson binomial intervals, the quantile test). What scipy lacks is written
here: intervals for accuracies that never leave [0, 1], a cluster bootstrap that resamples whole
seeds, and Holm's correction for a family of comparisons.

Examples
--------
>>> from reluthe.stats import mean_ci
>>> e = mean_ci([0.61, 0.63, 0.62, 0.64, 0.60])
>>> round(e.value, 3), e.n, e.low < e.value < e.high
(0.62, 5, True)
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import stats as _st

from reluthe._validate import _fmt, check_choice, check_finite_array, check_positive_int, check_seed
from reluthe.errors import InvalidInputError

__all__ = ["Estimate", "mean_ci", "median_ci", "median_ratio_ci", "diff_ci", "paired_diff_ci",
           "effect_ci", "spearman_ci", "spearman_cluster_ci", "cluster_bootstrap_ci",
           "hierarchical_bootstrap_ci",
           "proportion_ci", "clopper_pearson", "accuracy_ci", "accuracy_diff_ci", "holm",
           "family_ci", "compare"]


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
        Number of independent runs (seeds, clusters) behind the estimate; for
        :func:`proportion_ci` the number of trials.
    confidence : float
        Coverage of the interval, e.g. 0.95 (for a member of :func:`family_ci`, the
        per-interval level ``1 - alpha / m``).
    method : str
        How the interval was computed ("t", "welch", "paired-t", "percentile bootstrap",
        "cluster bootstrap (BCa)", "wilson", "exact (clopper-pearson)", "order statistics", ...;
        a family correction is appended, e.g. "welch; bonferroni CI (family of 3), holm p").
    p_value : float or None
        Two-sided p-value of "no effect" where the method is a test (Welch, paired t), else
        ``None``.
    """

    value: float
    low: float | None
    high: float | None
    n: int
    confidence: float = 0.95
    method: str = "t"
    p_value: float | None = None

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


# --- validation -------------------------------------------------------------------------------


def _clean(values, param: str, func: str) -> np.ndarray:
    """``values`` as a flat float array; empty, NaN or inf raise :class:`InvalidInputError`."""
    arr = check_finite_array(values, param=param, func=func).ravel()
    if arr.size == 0:
        raise InvalidInputError(f"The {param!r} parameter of {func} needs at least one value. "
                                "Got an empty sequence instead.")
    return arr


def _same_length(x: np.ndarray, y: np.ndarray, names: str, func: str) -> None:
    if x.shape != y.shape:
        raise InvalidInputError(f"The {names} parameters of {func} must have equal lengths. "
                                f"Got {x.size} and {y.size} instead.")


def _check_confidence(confidence, func: str) -> float:
    ok = isinstance(confidence, numbers.Real) and not isinstance(confidence, bool)
    if not (ok and 0.0 < confidence < 1.0):
        raise InvalidInputError(f"The 'confidence' parameter of {func} must be a number in "
                                f"(0, 1). Got {_fmt(confidence)} instead.")
    return float(confidence)


def _check_unit(x: np.ndarray, param: str, func: str, low: float = 0.0) -> np.ndarray:
    if np.any((x < low) | (x > 1.0)):
        raise InvalidInputError(f"The {param!r} parameter of {func} must lie in [{low:g}, 1]. "
                                f"Got {_fmt(x.tolist())} instead.")
    return x


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence scipy's warnings about tied data, a valid input here (zero spread, ties)."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        warnings.simplefilter("ignore", _st.DegenerateDataWarning)
        yield


def _from_test(value: float, res, n: int, confidence: float, method: str) -> Estimate:
    """An Estimate from a scipy t-test result (its interval and two-sided p-value)."""
    ci = res.confidence_interval(confidence)
    p = float(res.pvalue)
    return Estimate(value, float(ci.low), float(ci.high), n, confidence, method,
                    None if math.isnan(p) else p)


# --- means and differences of means -----------------------------------------------------------


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean of ``values`` with a Student-t confidence interval (``scipy.stats.ttest_1samp``).

    Not for accuracies near 0 or 1: the t interval can leave [0, 1]; use :func:`accuracy_ci`.

    Examples
    --------
    >>> mean_ci([1.0]).has_ci
    False
    >>> e = mean_ci([2.0, 2.0, 2.0])
    >>> e.low, e.high, e.method
    (2.0, 2.0, 't')
    """
    confidence = _check_confidence(confidence, "mean_ci")
    x = _clean(values, "values", "mean_ci")
    m = float(x.mean())
    if x.size < 2:
        return Estimate(m, None, None, int(x.size), confidence, "t")
    with _quiet():
        ci = _st.ttest_1samp(x, 0.0).confidence_interval(confidence)
    return Estimate(m, float(ci.low), float(ci.high), int(x.size), confidence, "t")


def diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Difference of means ``mean(a) - mean(b)`` of independent samples (Welch interval).

    Delegates to ``scipy.stats.ttest_ind(a, b, equal_var=False)``; ``p_value`` is Welch's.
    Use it for arms that do not share seeds (see :func:`effect_ci`).

    Examples
    --------
    >>> e = diff_ci([1, 1.1, 0.9], [0, 0.1, -0.1])
    >>> e.excludes(0), e.method, e.p_value < 0.01
    (True, 'welch', True)
    """
    confidence = _check_confidence(confidence, "diff_ci")
    x, y = _clean(a, "a", "diff_ci"), _clean(b, "b", "diff_ci")
    d = float(x.mean() - y.mean())
    n = int(min(x.size, y.size))
    if x.size < 2 or y.size < 2:
        return Estimate(d, None, None, n, confidence, "welch")
    with _quiet():
        res = _st.ttest_ind(x, y, equal_var=False)
    return _from_test(d, res, n, confidence, "welch")


def paired_diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean of the paired differences ``a[i] - b[i]`` (same seed in both arms), paired t.

    Delegates to ``scipy.stats.ttest_rel(a, b)``; ``p_value`` is the paired t test's.

    Examples
    --------
    >>> e = paired_diff_ci([0.90, 0.92, 0.91], [0.88, 0.91, 0.89])
    >>> round(e.value, 4), e.method, e.excludes(0)
    (0.0167, 'paired-t', True)
    """
    confidence = _check_confidence(confidence, "paired_diff_ci")
    x, y = _clean(a, "a", "paired_diff_ci"), _clean(b, "b", "paired_diff_ci")
    _same_length(x, y, "'a' and 'b'", "paired_diff_ci")
    d = float((x - y).mean())
    if x.size < 2:
        return Estimate(d, None, None, int(x.size), confidence, "paired-t")
    with _quiet():
        res = _st.ttest_rel(x, y)
    return _from_test(d, res, int(x.size), confidence, "paired-t")


def effect_ci(a: Sequence[float], b: Sequence[float], *, paired: bool,
              confidence: float = 0.95) -> Estimate:
    """Difference ``a - b`` of two arms, paired or not as the design says.

    The rule: **arms that share seeds are paired.** When run ``i`` of both arms used the same
    seed (the same initialisation and batch order, e.g. the members of one ``train_mlps`` call
    with several recipes), ``a[i]`` and ``b[i]`` share the seed's luck and the paired t interval
    of the differences (:func:`paired_diff_ci`) removes it. When the arms drew their seeds
    separately (or have different counts) they are independent samples and Welch's interval
    (:func:`diff_ci`) applies. The choice follows the design, never the data.

    Examples
    --------
    >>> a, b = [0.90, 0.92, 0.91], [0.88, 0.91, 0.89]
    >>> effect_ci(a, b, paired=True).method, effect_ci(a, b, paired=False).method
    ('paired-t', 'welch')
    """
    if not isinstance(paired, bool):
        raise InvalidInputError("The 'paired' parameter of effect_ci must be True or False. "
                                f"Got {_fmt(paired)} instead.")
    return (paired_diff_ci if paired else diff_ci)(a, b, confidence)


# --- medians (timings) ------------------------------------------------------------------------


def median_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Median of ``values`` with a distribution-free interval from order statistics.

    The interval is ``[x_(k), x_(n+1-k)]`` of the sorted values, with the largest ``k`` for
    which ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``; it covers the population median
    with probability at least ``confidence`` for any continuous distribution (the sign-test
    interval, computed by ``scipy.stats.quantile_test``). Unlike a t interval it is not widened
    by a few outliers, which is what timings on a shared machine produce (a pre-empted call is
    slow, never fast). No interval when ``n`` is too small for the coverage (``n < 6`` at 95 %).

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
    confidence = _check_confidence(confidence, "median_ci")
    x = _clean(values, "values", "median_ci")
    med = float(np.median(x))
    ci = _st.quantile_test(x, q=med, p=0.5).confidence_interval(confidence)
    if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
        return Estimate(med, None, None, int(x.size), confidence, "order statistics")
    return Estimate(med, float(ci.low), float(ci.high), int(x.size), confidence,
                    "order statistics")


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


# --- correlations and the cluster bootstrap ---------------------------------------------------


def _rank_corr(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along ``axis``; NaN where a sample is all ties."""
    ra, rb = _st.rankdata(a, axis=axis), _st.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    den = np.sqrt((ra**2).sum(axis) * (rb**2).sum(axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis) / den


def _pairs(x, y, func: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _clean(x, "x", func), _clean(y, "y", func)
    _same_length(a, b, "'x' and 'y'", func)
    return a, b


def spearman_ci(x: Sequence[float], y: Sequence[float], *, seed: int = 0, n_boot: int = 2000,
                confidence: float = 0.95) -> Estimate:
    """Spearman rank correlation of ``x`` and ``y`` with a percentile bootstrap interval.

    The bootstrap (``scipy.stats.bootstrap``, ``paired=True``) resamples pairs with a generator
    seeded by ``seed`` (global RNG untouched); resamples whose ``x`` or ``y`` are all tied have
    no rank correlation and are left out of the percentiles. The pairs are treated as
    independent: for grid cells measured on several seeds use :func:`spearman_cluster_ci`.

    Examples
    --------
    >>> e = spearman_ci([1, 2, 3, 4, 5, 6], [2, 4, 5, 7, 8, 9])
    >>> e.value, e.method
    (1.0, 'percentile bootstrap')
    """
    seed = check_seed(seed, func="spearman_ci")
    n_boot = check_positive_int(n_boot, param="n_boot", func="spearman_ci")
    confidence = _check_confidence(confidence, "spearman_ci")
    a, b = _pairs(x, y, "spearman_ci")
    method = "percentile bootstrap"
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return Estimate(float("nan"), None, None, int(a.size), confidence, method)
    rho = float(_st.spearmanr(a, b).statistic)
    with _quiet():
        res = _st.bootstrap((a, b), _rank_corr, paired=True, vectorized=True, n_resamples=n_boot,
                            method="percentile", rng=np.random.default_rng(seed))
    boots = res.bootstrap_distribution
    lo, hi = np.quantile(boots[np.isfinite(boots)], [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Estimate(rho, float(lo), float(hi), int(a.size), confidence, method)


def cluster_bootstrap_ci(statistic: Callable[..., float], data: Sequence, clusters: Sequence, *,
                         seed: int = 0, n_boot: int = 2000, confidence: float = 0.95,
                         method: str = "BCa") -> Estimate:
    """``statistic(*data)`` with a bootstrap interval that resamples whole clusters.

    Cells of one cluster (e.g. the grid cells measured on one seed) share that cluster's luck,
    so they are not independent: resampling cells would understate the spread. The cluster
    (block) bootstrap draws clusters with replacement and keeps all cells of each drawn cluster
    (Field & Welsh 2007; Cameron, Gelbach & Miller 2008). The interval is computed by
    ``scipy.stats.bootstrap`` on the cluster labels, by default with the bias-corrected and
    accelerated (BCa) method of Efron (1987), whose jackknife then leaves out one cluster at a
    time. The generator is ``np.random.default_rng(seed)``: the result is deterministic and the
    global random states are untouched. ``n`` is the number of clusters; no interval with fewer
    than two clusters or when a resample has no defined statistic.

    Parameters
    ----------
    statistic : callable
        ``statistic(*arrays) -> float`` on arrays of cells (axis 0).
    data : sequence of array-like
        Equal-length arrays, one value per cell.
    clusters : array-like
        The cluster label of each cell (e.g. its seed).
    seed, n_boot, confidence : int, int, float
        Generator seed, number of resamples, coverage.
    method : {"BCa", "percentile"}

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82(397), 171-185.
    Field, C. A., & Welsh, A. H. (2007). Bootstrapping clustered data. *JRSS B* 69(3), 369-390.
    Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
    inference with clustered errors. *Rev. Econ. Stat.* 90(3), 414-427.

    Examples
    --------
    >>> x = [1.0, 1.2, 0.9, 1.1, 1.6, 1.4, 0.7, 0.8, 1.3, 1.2]
    >>> seeds = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    >>> e = cluster_bootstrap_ci(lambda v: float(np.mean(v)), [x], seeds, seed=0)
    >>> round(e.value, 2), e.n, e.method, e.low < e.value < e.high
    (1.12, 5, 'cluster bootstrap (BCa)', True)
    """
    func = "cluster_bootstrap_ci"
    seed, n_boot = check_seed(seed, func=func), check_positive_int(n_boot, param="n_boot",
                                                                   func=func)
    confidence = _check_confidence(confidence, func)
    method = check_choice(method, ("BCa", "percentile"), param="method", func=func)
    arrays = [_clean(d, f"data[{i}]", func) for i, d in enumerate(data)]
    labels = np.asarray(clusters).ravel()
    for arr in arrays:
        _same_length(arr, labels, "'data' and 'clusters'", func)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    value, label = float(statistic(*arrays)), f"cluster bootstrap ({method})"
    if len(groups) < 2 or not np.isfinite(value):
        return Estimate(value, None, None, len(groups), confidence, label)

    def resampled(idx: np.ndarray) -> float:
        cells = np.concatenate([groups[i] for i in idx])
        return float(statistic(*(arr[cells] for arr in arrays)))

    with _quiet():
        ci = _st.bootstrap((np.arange(len(groups)),), resampled, vectorized=False,
                           n_resamples=n_boot, confidence_level=confidence, method=method,
                           rng=np.random.default_rng(seed)).confidence_interval
    if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
        return Estimate(value, None, None, len(groups), confidence, label)
    return Estimate(value, float(ci.low), float(ci.high), len(groups), confidence, label)


def hierarchical_bootstrap_ci(values: Sequence[float], clusters: Sequence, *, seed: int = 0,
                              n_boot: int = 4000, confidence: float = 0.95) -> Estimate:
    """Mean of two-level data (runs nested in clusters) with a two-stage bootstrap interval.

    For designs such as 3 data seeds × 3 model seeds: the data seed is the cluster, its model
    seeds the runs inside it. Each resample draws clusters with replacement, then runs with
    replacement inside each drawn cluster (Davison & Hinkley 1997, §3.8, "strategy 2"), and
    takes the mean of all drawn runs; the interval is the percentile interval of those means.
    Resampling clusters carries the between-cluster spread, resampling runs inside them the
    within-cluster spread. With few clusters (3) any bootstrap interval is somewhat too narrow;
    it is reported as such (``n`` is the number of clusters). The two-sided ``p_value`` is
    ``2 · min(P*(mean ≤ 0), P*(mean ≥ 0))`` over the resamples (a bootstrap test of "no
    effect", for Holm's procedure across a family). Generator ``np.random.default_rng(seed)``;
    NaN values dropped; no interval with fewer than two clusters.

    References
    ----------
    Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*.
    Cambridge University Press, section 3.8.

    Examples
    --------
    >>> x = [0.9, 1.1, 1.0, 2.0, 2.2, 2.1, 1.4, 1.6, 1.5]
    >>> e = hierarchical_bootstrap_ci(x, [0, 0, 0, 1, 1, 1, 2, 2, 2], seed=0)
    >>> round(e.value, 2), e.n, e.low < e.value < e.high, e.p_value
    (1.53, 3, True, 0.0)
    """
    func = "hierarchical_bootstrap_ci"
    seed = check_seed(seed, func=func)
    n_boot = check_positive_int(n_boot, param="n_boot", func=func)
    confidence = _check_confidence(confidence, func)
    x = np.asarray(values, dtype=float).ravel()
    labels = np.asarray(clusters).ravel()
    _same_length(x, labels, "'values' and 'clusters'", func)
    ok = np.isfinite(x)
    x, labels = x[ok], labels[ok]
    label = "two-stage cluster bootstrap (percentile)"
    if x.size == 0:
        return Estimate(math.nan, None, None, 0, confidence, label)
    groups = [x[labels == c] for c in np.unique(labels)]
    value = float(x.mean())
    if len(groups) < 2:
        return Estimate(value, None, None, len(groups), confidence, label)
    rng = np.random.default_rng(seed)
    sizes = np.array([g.size for g in groups])
    padded = np.zeros((len(groups), sizes.max()))
    for i, g in enumerate(groups):
        padded[i, :g.size] = g
    picked = rng.integers(0, len(groups), (n_boot, len(groups)))  # clusters, with replacement
    size = sizes[picked][..., None]  # (n_boot, G, 1): runs drawn inside each, with replacement
    slot = np.arange(sizes.max())[None, None, :]
    inner = np.minimum((rng.random((n_boot, len(groups), sizes.max())) * size).astype(int),
                       size - 1)
    drawn = np.where(slot < size, padded[picked[..., None], inner], 0.0)
    means = drawn.sum(axis=(1, 2)) / size[..., 0].sum(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2.0 * min(float((means <= 0).mean()), float((means >= 0).mean())))
    return Estimate(value, float(low), float(high), len(groups), confidence, label, p)


def spearman_cluster_ci(x: Sequence[float], y: Sequence[float], clusters: Sequence, *,
                        seed: int = 0, n_boot: int = 2000, confidence: float = 0.95) -> Estimate:
    """Spearman correlation over grid cells with a cluster (seed) bootstrap BCa interval.

    Use it when each cell is one (configuration, seed) pair: whole seeds are resampled, see
    :func:`cluster_bootstrap_ci`. Deterministic for a given ``seed``; global RNG untouched.

    Examples
    --------
    >>> x = [1, 2, 3, 4] * 3
    >>> y = [0.1, 0.3, 0.2, 0.5, 0.2, 0.1, 0.4, 0.6, 0.0, 0.2, 0.3, 0.4]
    >>> e = spearman_cluster_ci(x, y, [0] * 4 + [1] * 4 + [2] * 4, seed=0)
    >>> round(e.value, 3), e.n, e.low <= e.value <= e.high
    (0.864, 3, True)
    """
    a, b = _pairs(x, y, "spearman_cluster_ci")
    return cluster_bootstrap_ci(lambda u, v: float(_rank_corr(u, v)), [a, b], clusters,
                                seed=seed, n_boot=n_boot, confidence=confidence, method="BCa")


# --- proportions and accuracies ---------------------------------------------------------------


def proportion_ci(k: int, n: int, confidence: float = 0.95, method: str = "wilson") -> Estimate:
    """Binomial proportion ``k / n`` with an interval inside [0, 1].

    ``method="wilson"``: the score interval of Wilson (1927), close to nominal coverage and
    never degenerate at ``k = 0`` or ``k = n``; ``method="exact"``: Clopper & Pearson (1934),
    coverage at least ``confidence`` for every true proportion (conservative). Both delegate to
    ``scipy.stats.binomtest(k, n).proportion_ci``. ``Estimate.n`` is the number of trials.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22(158), 209-212.
    Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. *Biometrika* 26(4), 404-413.

    Examples
    --------
    >>> e = proportion_ci(10, 10)
    >>> e.value, round(e.low, 4), e.high, e.method
    (1.0, 0.7225, 1.0, 'wilson')
    """
    func = "proportion_ci"
    n = check_positive_int(n, param="n", func=func)
    k = check_positive_int(k, param="k", func=func, minimum=0)
    if k > n:
        raise InvalidInputError(f"The 'k' parameter of {func} must be <= n = {n}. "
                                f"Got {k} instead.")
    confidence = _check_confidence(confidence, func)
    method = check_choice(method, ("wilson", "exact"), param="method", func=func)
    ci = _st.binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    low, high = (float(np.clip(v, 0.0, 1.0)) for v in (ci.low, ci.high))
    label = "wilson" if method == "wilson" else "exact (clopper-pearson)"
    return Estimate(k / n, low, high, n, confidence, label)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) interval of a binomial proportion ``k / n``.

    The bounds of :func:`proportion_ci` with ``method="exact"``.

    Examples
    --------
    >>> lo, hi = clopper_pearson(0, 10)
    >>> lo, round(hi, 4)
    (0.0, 0.3085)
    """
    e = proportion_ci(k, n, confidence, method="exact")
    return e.low, e.high


def _wilson(p: float, n: float, crit: float) -> tuple[float, float]:
    """Wilson's score interval for proportion ``p`` on ``n`` trials, critical value ``crit``."""
    c2n = crit**2 / n
    centre = (p + c2n / 2) / (1 + c2n)
    half = crit / (1 + c2n) * math.sqrt(p * (1 - p) / n + c2n / (4 * n))
    # At p = 0 or 1 the exact bound is p itself; rounding can put it a hair on the wrong side.
    low, high = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    return float(min(low, p)), float(max(high, p))


def accuracy_ci(accuracies: Sequence[float], n_test: int, confidence: float = 0.95) -> Estimate:
    """Mean accuracy over seeds with a Wilson interval on the effective sample size.

    Why this interval: a t interval on accuracies near 1 leaves [0, 1] (99.8 [99.6, 100.1] %),
    and Wilson on the pooled correct counts alone ignores that seeds differ by more than test
    sampling. This one is Wilson's score interval (Wilson 1927), always inside [0, 1], on the
    Kish effective number of test items ``n_eff = m * n_test / deff`` with design effect
    ``deff = max(1, s^2 * n_test / (p (1 - p)))`` (``s^2`` the variance of the ``m`` per-seed
    accuracies, ``p`` their mean), and Student's t critical value with ``m - 1`` degrees of
    freedom, as for complex-survey proportions (Korn & Graubard 1998). When the seeds vary no
    more than binomial test sampling (exchangeable seeds) it is Wilson on the pooled counts;
    when they vary more, its width is about that of the t interval of the seed means away from the
    bounds, and it bends in near 0 and 1 instead of crossing them. All seeds at 100 % still
    get an interval below 1 (the test set is finite). No interval for a single seed.

    Parameters
    ----------
    accuracies : array-like
        One accuracy in [0, 1] per seed.
    n_test : int
        Test items each accuracy was measured on.
    confidence : float

    References
    ----------
    Wilson, E. B. (1927). *JASA* 22(158), 209-212.
    Kish, L. (1965). *Survey Sampling*. Wiley. (The design effect.)
    Korn, E. L., & Graubard, B. I. (1998). Confidence intervals for proportions with small
    expected number of positive counts estimated from survey data. *Survey Methodology* 24(2),
    193-201.

    Examples
    --------
    >>> e = accuracy_ci([1.0, 0.998, 0.999], n_test=1000)
    >>> round(e.value, 3), e.high <= 1.0, e.method
    (0.999, True, 'wilson, effective n')
    """
    func = "accuracy_ci"
    confidence = _check_confidence(confidence, func)
    n_test = check_positive_int(n_test, param="n_test", func=func)
    x = _check_unit(_clean(accuracies, "accuracies", func), "accuracies", func)
    m, p = int(x.size), float(x.mean())
    if m < 2:
        return Estimate(p, None, None, m, confidence, "wilson, effective n")
    binom = p * (1 - p)
    deff = 1.0 if binom == 0 else max(1.0, float(x.var(ddof=1)) * n_test / binom)
    crit = float(_st.t.ppf(0.5 + confidence / 2, m - 1))
    low, high = _wilson(p, m * n_test / deff, crit)
    return Estimate(p, low, high, m, confidence, "wilson, effective n")


def _mover(u: float, v: float, r: float) -> float:
    """Half-width of a difference from the half-widths of its terms (MOVER)."""
    return math.sqrt(max(u * u + v * v - 2 * r * u * v, 0.0))


def _seed_correlation(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):  # spreads that underflow to 0
        r = float(np.corrcoef(x, y)[0, 1])
    return float(np.clip(r, -1.0, 1.0)) if math.isfinite(r) else 0.0


def accuracy_diff_ci(a: Sequence[float], b: Sequence[float], n_test: int, *, paired: bool,
                     confidence: float = 0.95) -> Estimate:
    """Difference of mean accuracies ``a - b`` with an interval inside [-1, 1].

    The interval recovers the variance of the difference from the two :func:`accuracy_ci`
    intervals (MOVER: Newcombe 1998; Zou & Donner 2008): ``low = d - sqrt(ua^2 + vb^2 -
    2 r ua vb)`` with ``ua`` the distance from ``a``'s mean to its lower bound and ``vb`` from
    ``b``'s upper bound to its mean (and symmetrically for ``high``). Each distance is at most
    the room to the bound, so the result never leaves [-1, 1]. As in :func:`effect_ci`, arms
    that share seeds are paired: ``r`` is then the correlation of the per-seed accuracies
    (0 when one arm does not vary); for independent arms ``r = 0``.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. *Stat. Med.* 17(8), 873-890.
    Zou, G. Y., & Donner, A. (2008). Construction of confidence limits about effect measures:
    a general approach. *Stat. Med.* 27(10), 1693-1702.

    Examples
    --------
    >>> e = accuracy_diff_ci([1.0, 0.999, 1.0], [0.0, 0.001, 0.0], 1000, paired=False)
    >>> -1.0 <= e.low <= e.value <= e.high <= 1.0, e.method
    (True, 'mover (wilson, effective n), unpaired')
    """
    func = "accuracy_diff_ci"
    if not isinstance(paired, bool):
        raise InvalidInputError(f"The 'paired' parameter of {func} must be True or False. "
                                f"Got {_fmt(paired)} instead.")
    _check_confidence(confidence, func)
    check_positive_int(n_test, param="n_test", func=func)
    x = _check_unit(_clean(a, "a", func), "a", func)
    y = _check_unit(_clean(b, "b", func), "b", func)
    if paired:
        _same_length(x, y, "'a' and 'b'", func)
    ea, eb = accuracy_ci(x, n_test, confidence), accuracy_ci(y, n_test, confidence)
    d, n = ea.value - eb.value, min(ea.n, eb.n)
    label = f"mover (wilson, effective n), {'paired' if paired else 'unpaired'}"
    if not (ea.has_ci and eb.has_ci):
        return Estimate(d, None, None, n, ea.confidence, label)
    r = _seed_correlation(x, y) if paired else 0.0
    low = d - _mover(ea.value - ea.low, eb.high - eb.value, r)
    high = d + _mover(ea.high - ea.value, eb.value - eb.low, r)
    return Estimate(d, max(low, -1.0), min(high, 1.0), n, ea.confidence, label)


# --- families of comparisons ------------------------------------------------------------------


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, in the order given.

    With the p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of ``p_(i)`` is
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``. Rejecting where the adjusted value is below
    ``alpha`` controls the family-wise error rate at ``alpha`` under any dependence.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scand. J.
    Statist.* 6(2), 65-70.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    p = _check_unit(_clean(p_values, "p_values", "holm"), "p_values", "holm")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def family_ci(makers: Sequence[Callable[[float], Estimate]],
              confidence: float = 0.95) -> list[Estimate]:
    """A family of ``m`` comparisons with simultaneous coverage ``confidence``.

    Each maker is called with the Bonferroni level ``1 - (1 - confidence) / m``, so all ``m``
    intervals hold together with probability at least ``confidence``. Holm's step-down test
    (:func:`holm`) is uniformly more powerful than Bonferroni but has no matching simple
    intervals, so the intervals are Bonferroni's and, when every member has a p-value, the
    p-values are Holm-adjusted; ``method`` says which: "...; bonferroni CI (family of m), holm
    p". A Holm rejection can therefore come with a Bonferroni interval that touches 0.

    Examples
    --------
    >>> from functools import partial
    >>> makers = [partial(diff_ci, [1.0, 1.1, 0.9], [0.0, 0.1, -0.1]),
    ...           partial(diff_ci, [1.0, 1.2, 0.8], [0.9, 1.0, 1.1])]
    >>> fam = family_ci(makers)
    >>> fam[0].confidence, fam[0].method
    (0.975, 'welch; bonferroni CI (family of 2), holm p')
    """
    confidence = _check_confidence(confidence, "family_ci")
    m = len(makers)
    if m == 0:
        raise InvalidInputError("The 'makers' parameter of family_ci needs at least one "
                                "comparison. Got an empty sequence instead.")
    estimates = [make(1.0 - (1.0 - confidence) / m) for make in makers]
    tag = f"bonferroni CI (family of {m})"
    if any(e.p_value is None for e in estimates):
        return [replace(e, method=f"{e.method}; {tag}") for e in estimates]
    adjusted = holm([e.p_value for e in estimates])
    return [replace(e, method=f"{e.method}; {tag}, holm p", p_value=float(p))
            for e, p in zip(estimates, adjusted)]


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
