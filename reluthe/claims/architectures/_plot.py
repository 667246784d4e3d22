"""Figure helpers shared by the architecture claims (C07, C18–C21): CI bar charts.

Figures are drawn with :class:`matplotlib.figure.Figure` (no pyplot global state) from the
measurement (``design`` and ``raw``) only, so they can be redrawn from a cached record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reluthe.claims._protocol import proportion_est
from reluthe.stats import Estimate, mean_ci

__all__ = ["new_figure", "ci_bars", "save"]

DPI = 110


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (4.2, 3.2)):
    """A figure with ``nrows × ncols`` axes (returned as a flat list)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.ravel())


def ci_bars(ax, labels: Sequence[str], samples: Sequence[Sequence[float]], *, ylabel: str,
            title: str = "", scale: float = 1.0, highlight: str = "relu", points: bool = True,
            n_items: int | None = None):
    """Bars of the mean of each sample with 95 % interval whiskers, seeds as dots.

    The interval is Student's t, or, for per-seed proportions of ``n_items`` items each (an
    accuracy on ``n_test`` examples), the bounded one of :func:`reluthe.stats.accuracy_ci`;
    either is computed before ``scale`` is applied. Non-finite values are dropped from a
    sample before its mean is taken.
    """
    x = np.arange(len(labels))
    for i, (label, vals) in enumerate(zip(labels, samples)):
        v = np.asarray(vals, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        e = mean_ci(v) if n_items is None else proportion_est(v, n_items)
        v = v * scale
        e = Estimate(e.value * scale, None if e.low is None else e.low * scale,
                     None if e.high is None else e.high * scale, e.n)
        color = "tab:red" if label == highlight else "tab:blue"
        ax.bar(i, e.value, color=color, alpha=0.55, width=0.7)
        if e.has_ci:
            ax.errorbar(i, e.value, yerr=[[e.value - e.low], [e.high - e.value]], color="k",
                        capsize=4, lw=1.2)
        if points:
            jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else np.zeros(1)
            ax.plot(i + jitter, v, "k.", ms=3, alpha=0.7)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)


def save(fig, figures_dir: Path, name: str) -> str:
    """Save ``fig`` as ``figures_dir / name`` (PNG, dpi 110) and return the file name."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(figures_dir / name, dpi=DPI)
    return name
