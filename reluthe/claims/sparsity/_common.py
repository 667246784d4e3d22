"""Helpers shared by the sparsity / generalization claims: estimates, checks and record views."""

from __future__ import annotations

import math

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._protocol import mean_est as est
from reluthe.claims._protocol import proportion_est as acc_est
from reluthe.claims._records import select
from reluthe.claims.sparsity._protocol import MIN_SEEDS
from reluthe.stats import (
    Estimate,
    compare,
    paired_diff_ci,
    spearman_ci,
    spearman_cluster_ci,
)

__all__ = ["est", "acc_est", "paired", "rho", "fmt_est", "pp", "too_few", "inconclusive",
           "seed_count", "floats", "classify", "cells"]


def floats(values) -> list[float]:
    """Plain floats (None from a JSON round trip becomes NaN)."""
    return [float("nan") if v is None else float(v) for v in np.asarray(values, dtype=object)
            .ravel()]


def paired(a, b) -> Estimate:
    """Mean paired difference ``a - b`` over seeds (the same seed in both arms)."""
    return paired_diff_ci(floats(a), floats(b))


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


def classify(e: Estimate, margin: float) -> str:
    """``compare`` of reluthe.stats: "greater", "less", "tie" or "unclear"."""
    return compare(e, margin)


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


def seed_count(values) -> int:
    return int(np.isfinite(np.asarray(floats(values))).sum())


def too_few(*series) -> int | None:
    """The smallest number of seeds among ``series`` if it is below MIN_SEEDS, else None."""
    n = min(seed_count(s) for s in series) if series else 0
    return n if n < MIN_SEEDS else None


def inconclusive(reason: str, evidence: dict | None = None) -> Outcome:
    return Outcome(Verdict.INCONCLUSIVE, "inconclusive: " + reason.split(";")[0],
                   evidence or {}, reason)


def cells(raw, by: tuple[str, ...], **where) -> dict[tuple, dict[str, list]]:
    """The rows matching ``where`` grouped by the fields ``by``, in record order.

    Each cell maps every other field of its rows to the list of its values over the rows (one
    per seed), so ``cells(raw, ("dataset",))[("digits",)]["test_acc"]`` lists digits' test
    accuracies seed by seed.

    Examples
    --------
    >>> raw = [{"seed": 0, "act": "relu", "acc": 0.9}, {"seed": 1, "act": "relu", "acc": 0.8}]
    >>> cells(raw, ("act",))
    {('relu',): {'seed': [0, 1], 'act': ['relu', 'relu'], 'acc': [0.9, 0.8]}}
    """
    out: dict[tuple, dict[str, list]] = {}
    for row in select(raw, **where):
        cell = out.setdefault(tuple(row[k] for k in by), {})
        for name, value in row.items():
            cell.setdefault(name, []).append(value)
    return out
