"""Helpers shared by the gradient-family claims: data, estimates, flow states, plot styles."""

from __future__ import annotations

import torch

from reluthe import data
from reluthe.claims._protocol import MIN_SEEDS, bootstrap_share_est
from reluthe.claims._protocol import mean_est as est
from reluthe.claims._protocol import proportion_est as acc_est
from reluthe.stats import Estimate

__all__ = ["CHANCE", "VANISH_DECADES", "MIN_SEEDS", "data_seed", "mnist1d", "batch", "est",
           "acc_est", "share_est", "flow_state", "pct", "error_bars", "COLORS", "style"]

CHANCE = 0.1  # ten classes in mnist1d
# the gradient reaching the first hidden layer relative to the last, in decades
VANISH_DECADES = 1.0


def data_seed(ctx) -> int:
    """The run's one dataset seed (stream ``data``)."""
    return ctx.seeds("data", 1)[0]


def mnist1d(seed: int, **options):
    """MNIST-1D generated and split with ``seed``."""
    return data.load("mnist1d", seed=seed, **options)


def batch(ds, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of ``n`` training points (the global RNG is untouched)."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds.x_train), generator=gen)[:n]
    return ds.x_train[idx], ds.y_train[idx]


def share_est(values, seed: int) -> Estimate:
    """Mean over seeds of per-seed proportions without one number of items (e.g. an unweighted
    mean over layers of different widths): percentile bootstrap over seeds, seeded by ``seed``,
    inside the range of the values; NaN dropped."""
    return bootstrap_share_est(values, seed)


def flow_state(e: Estimate, decades: float = VANISH_DECADES) -> str:
    """Classify a CI of ``log10(first / last gradient norm)``.

    "vanishes": CI upper bound < −decades; "explodes": lower bound > +decades; "preserved": the
    whole CI inside [−decades, +decades]; "unclear" otherwise or without a CI.

    Examples
    --------
    >>> flow_state(Estimate(-3.0, -3.5, -2.5, 5))
    'vanishes'
    """
    if not e.has_ci:
        return "unclear"
    if e.high < -decades:
        return "vanishes"
    if e.low > decades:
        return "explodes"
    if -decades <= e.low and e.high <= decades:
        return "preserved"
    return "unclear"


def pct(e: Estimate | dict) -> str:
    """A share as ``12% [10, 14]``."""
    if isinstance(e, dict):
        e = Estimate(**e)
    if not e.has_ci:
        return f"{100 * e.value:.0f}% (no CI)"
    return f"{100 * e.value:.0f}% [{100 * e.low:.0f}, {100 * e.high:.0f}]"


def error_bars(es: list[Estimate]) -> list[list[float]]:
    """Matplotlib ``yerr`` (below, above) of estimates; 0 where there is no interval."""
    return [[e.value - (e.low if e.has_ci else e.value) for e in es],
            [(e.high if e.has_ci else e.value) - e.value for e in es]]


COLORS = {"relu": "C0", "leaky_relu": "C1", "elu": "C2", "gelu": "C3", "tanh": "C4",
          "sigmoid": "C5"}


def style(a: str) -> dict:
    """Line style of an activation; relu is drawn wide and translucent underneath the others."""
    return ({"color": "C0", "lw": 4, "alpha": 0.45, "zorder": 1} if a == "relu"
            else {"color": COLORS.get(a), "zorder": 2})
