"""Helpers shared by the sparsity / generalization claims: estimates, paired unit differences,
Holm families, formatting."""

from __future__ import annotations

import math

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._protocol import mean_est as est
from reluthe.claims._protocol import proportion_est as acc_est
from reluthe.stats import (
    Estimate,
    hierarchical_bootstrap_ci,
    holm,
    spearman_ci,
    spearman_cluster_ci,
)

__all__ = ["est", "acc_est", "rho", "fmt_est", "pp", "inconclusive", "too_few_seeds", "floats",
           "unit_diffs", "family"]


def floats(values) -> list[float]:
    """Plain floats (None from a JSON round trip becomes NaN)."""
    return [float("nan") if v is None else float(v) for v in np.asarray(values, dtype=object)
            .ravel()]


def rho(x, y, seed: int, clusters=None) -> Estimate:
    """Spearman correlation with a bootstrap interval seeded by ``seed`` (rows with NaN dropped).

    ``seed`` is the claim's bootstrap seed, stored in its design (``design["bootstrap_seed"]``).
    With ``clusters`` (one label per row: the model seed of each net) whole clusters are
    resampled (:func:`reluthe.stats.spearman_cluster_ci`, BCa; ``n`` is the number of clusters),
    as the nets of one seed share its initial weights and batches; without, rows are resampled
    as independent pairs (:func:`reluthe.stats.spearman_ci`).
    """
    a, b = np.asarray(floats(x)), np.asarray(floats(y))
    ok = np.isfinite(a) & np.isfinite(b)
    if clusters is None:
        return spearman_ci(a[ok], b[ok], seed=seed)
    labels = np.asarray(list(clusters))
    if labels.shape != a.shape:
        raise ValueError(f"rho: {labels.size} cluster labels for {a.size} rows")
    return spearman_cluster_ci(a[ok], b[ok], labels[ok], seed=seed)


def fmt_est(e: Estimate | dict, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    """``value [low, high]`` scaled (e.g. 100 for percent points)."""
    if isinstance(e, dict):
        e = Estimate(**e)
    if e.value is None or not math.isfinite(e.value):
        return "n/a"
    sign = "+" if unit.strip() == "pp" else ""
    v = f"{e.value * scale:{sign}.{digits}f}"
    if not e.has_ci:
        return f"{v}{unit} (no CI)"
    return f"{v}{unit} [{e.low * scale:.{digits}f}, {e.high * scale:.{digits}f}]"


def pp(e: Estimate | dict) -> str:
    """An accuracy difference in percentage points with its interval."""
    return fmt_est(e, 100.0, 1, " pp")


def inconclusive(reason: str, evidence: dict | None = None) -> Outcome:
    return Outcome(Verdict.INCONCLUSIVE, "inconclusive: " + reason.split(";")[0],
                   evidence or {}, reason)


def too_few_seeds(design: dict) -> Outcome | None:
    """"Inconclusive" when the design has fewer than MIN_SEEDS data or model seeds, else None."""
    n_data, n_model = len(design["data_seeds"]), len(design["model_seeds"])
    if n_data < MIN_SEEDS or n_model < MIN_SEEDS:
        return inconclusive(f"{n_data} data seed(s) × {n_model} model seed(s); the rule needs >= "
                            f"{MIN_SEEDS} of each")
    return None


def unit_diffs(a_rows, b_rows, field: str, usable=None) -> tuple[np.ndarray, np.ndarray, list]:
    """Paired differences ``a − b`` of ``field`` per (data seed, model seed) unit.

    Units are matched on ``("data_seed", "seed")``; a unit is dropped when it is missing from
    either arm, when ``usable(row)`` is False for either row, or when a value is not finite.
    Returns the differences, their data seeds (the clusters) and the dropped units as
    ``(data_seed, seed)`` pairs, so the evidence can name them.
    """
    b_by = {(r["data_seed"], r["seed"]): r for r in b_rows}
    diffs, clusters, dropped = [], [], []
    for ra in a_rows:
        unit = (ra["data_seed"], ra["seed"])
        rb = b_by.get(unit)
        ok = rb is not None and (usable is None or (usable(ra) and usable(rb)))
        va = floats([ra.get(field)])[0]
        vb = floats([rb.get(field)])[0] if rb is not None else math.nan
        if ok and math.isfinite(va) and math.isfinite(vb):
            diffs.append(va - vb)
            clusters.append(unit[0])
        else:
            dropped.append(list(unit))
    return np.asarray(diffs), np.asarray(clusters), dropped


def family(comparisons: list[tuple[np.ndarray, np.ndarray]], seed: int,
           confidence: float = 0.95) -> list[Estimate]:
    """Mean paired differences of a family of ``m`` comparisons, each a ``(diffs, clusters)``
    pair, with two-stage cluster-bootstrap intervals at the Bonferroni level
    ``1 − (1 − confidence) / m`` and Holm-adjusted bootstrap p-values
    (:func:`reluthe.stats.hierarchical_bootstrap_ci`, :func:`reluthe.stats.holm`).

    Examples
    --------
    >>> d = np.array([0.02, 0.03, 0.01, 0.04, 0.02, 0.03]); c = np.array([0, 0, 1, 1, 2, 2])
    >>> f = family([(d, c), (-d, c)], seed=0)
    >>> f[0].confidence, f[0].low > 0, f[1].high < 0, f[0].method.endswith("holm p")
    (0.975, True, True, True)
    """
    m = len(comparisons)
    if m == 0:
        return []
    level = 1.0 - (1.0 - confidence) / m
    ests = [hierarchical_bootstrap_ci(d, c, seed=seed, confidence=level) for d, c in comparisons]
    ps = [e.p_value for e in ests]
    ok = [i for i, p in enumerate(ps) if p is not None]
    adjusted = dict(zip(ok, holm([ps[i] for i in ok]))) if ok else {}
    tag = f"bonferroni CI (family of {m}), holm p"
    return [Estimate(e.value, e.low, e.high, e.n, e.confidence, f"{e.method}; {tag}",
                     None if i not in adjusted else float(adjusted[i]))
            for i, e in enumerate(ests)]
