"""Helpers shared by the sparsity / generalization claims: estimates, checks, figure style."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._sparsity_protocol import MIN_SEEDS
from reluthe.stats import Estimate, compare, mean_ci, paired_diff_ci, spearman_ci

__all__ = ["est", "paired", "rho", "fmt_est", "pp", "too_few", "inconclusive", "seed_count",
           "floats", "new_figure", "save", "errbar", "BOOT_SEED", "classify"]

BOOT_SEED = 0  # seed of every bootstrap interval in the decision rules (fixed before the data)


def floats(values) -> list[float]:
    """Plain floats (None from a JSON round trip becomes NaN)."""
    return [float("nan") if v is None else float(v) for v in np.asarray(values, dtype=object)
            .ravel()]


def est(values) -> Estimate:
    """Mean with a 95 % t interval over seeds (NaN values dropped)."""
    x = np.asarray(floats(values))
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Estimate(float("nan"), None, None, 0)
    return mean_ci(x)


def paired(a, b) -> Estimate:
    """Mean paired difference ``a - b`` over seeds (the same seed in both arms)."""
    return paired_diff_ci(floats(a), floats(b))


def rho(x, y) -> Estimate:
    """Spearman correlation with a seeded bootstrap interval (rows with NaN dropped)."""
    a, b = np.asarray(floats(x)), np.asarray(floats(y))
    ok = np.isfinite(a) & np.isfinite(b)
    return spearman_ci(a[ok], b[ok], seed=BOOT_SEED)


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


def new_figure(width: float = 6.4, height: float = 4.0, ncols: int = 1):
    """A pyplot-free matplotlib figure and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def save(fig, figures_dir: Path, name: str) -> str:
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(figures_dir / name, dpi=110)
    return name


def errbar(ax, x, estimates, **kwargs) -> None:
    """Points with 95 % intervals (estimates as Estimate or dict)."""
    es = [Estimate(**e) if isinstance(e, dict) else e for e in estimates]
    v = np.array([e.value for e in es], dtype=float)
    lo = np.array([e.low if e.has_ci else e.value for e in es], dtype=float)
    hi = np.array([e.high if e.has_ci else e.value for e in es], dtype=float)
    ax.errorbar(x, v, yerr=[v - lo, hi - v], fmt=kwargs.pop("fmt", "o"), capsize=3, **kwargs)
