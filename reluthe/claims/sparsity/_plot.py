"""Figure helpers of the sparsity / generalization claims: a pyplot-free figure, saving, error
bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe.stats import Estimate

__all__ = ["new_figure", "save", "errbar"]


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
