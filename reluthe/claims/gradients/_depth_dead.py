"""C09's born-dead probability of ReLU networks whose biases are initialised symmetric.

Lu, Shin, Su & Karniadakis ("Dying ReLU and initialization", 2020) study networks whose weights
*and biases* are drawn from distributions symmetric about 0, which is torch's default init
(``U(±1/√fan_in)`` for both). What holds there, derived here and checked by Monte Carlo:

**At one input x (any x, x = 0 included).** Given the previous layer's output ``h``, unit ``i``
of the next layer has pre-activation ``z_i = w_i·h + b_i``; ``(w_i, b_i)`` and ``(−w_i, −b_i)``
have the same law, so ``z_i`` is symmetric about 0, and continuous because ``b_i`` is, hence
``P(z_i ≤ 0 | h) = 1/2``; the ``N`` units have independent rows, so the layer is all-zero with
probability ``2^−N`` whatever ``h`` is, independently of the layers below. The probability that
some of the ``L`` hidden layers is all-zero at x (then the output is constant near x and no
gradient reaches the layers below) is therefore exactly ``1 − (1 − 2^−N)^L``: the bias-free
formula, which with biases also holds at x = 0 (bias-free nets are dead there with
probability 1).

**On a whole data set.** Being dead at every input of a set implies being dead at its first
input, so ``P(dead on the set) ≤ 1 − (1 − 2^−N)^L`` (Lu et al.'s upper bound); it has no closed
form and is measured.

Both are estimated on nets initialised by :func:`reluthe.models.init_linear_` (the trainers'
own init code, stacked: one net per trial) with Clopper-Pearson intervals, Bonferroni-corrected
over the cells by the caller.
"""

from __future__ import annotations

import torch

from reluthe.models import init_linear_
from reluthe.probes.dead import dead_network_theory
from reluthe.stats import clopper_pearson

__all__ = ["biased_dead_rows"]


def _dead_share(width: int, depth: int, x: torch.Tensor, n_trials: int, seed: int) -> float:
    """Share of ``n_trials`` default-initialised ReLU nets with an all-zero hidden layer at
    every row of ``x`` (shape ``(n, d)``)."""
    gen = torch.Generator().manual_seed(seed)
    h = x.expand(n_trials, *x.shape)  # (T, n, d)
    dead = torch.zeros(n_trials, dtype=torch.bool)
    for _ in range(depth):
        w = torch.empty(n_trials, width, h.shape[-1], dtype=torch.float64)
        b = torch.empty(n_trials, width, dtype=torch.float64)
        init_linear_(w, b, "default", gen)
        h = torch.relu(h @ w.transpose(1, 2) + b[:, None, :])
        dead |= (h <= 0).all(dim=2).all(dim=1)
    return float(dead.double().mean())


def biased_dead_rows(widths, depths, *, n_trials: int, n_points: int, seeds,
                     confidence: float) -> list[dict]:
    """Monte Carlo rows for nets with symmetric biases: per (width, depth) cell, dead at a
    random input, at x = 0 and on ``n_points`` random inputs at once.

    Parameters
    ----------
    widths, depths : sequence of int
        The cells ``(N, L)``.
    n_trials : int
        Nets sampled per cell and input set.
    n_points : int
        Size of the data set of the third estimate.
    seeds : sequence of int
        One probe seed per cell (inputs and nets).
    confidence : float
        Coverage of each Clopper-Pearson interval.

    Returns
    -------
    list of dict
        ``kind`` "dead_network_bias", ``at`` ("one input", "zero input", "data set"), width,
        depth, p, low, high, theory (``1 − (1 − 2^−N)^L``), ``agrees`` (theory inside the
        interval for one input and x = 0; for the data set: the interval does not lie above
        the theory, the upper bound), seed.
    """
    cells = [(n, L) for n in widths for L in depths]
    rows = []
    for (n, L), seed in zip(cells, seeds):
        gen = torch.Generator().manual_seed(seed)
        inputs = {"one input": torch.randn(1, 4, generator=gen, dtype=torch.float64),
                  "zero input": torch.zeros(1, 4, dtype=torch.float64),
                  "data set": torch.randn(n_points, 4, generator=gen, dtype=torch.float64)}
        theory = dead_network_theory(n, L)
        for k, (at, x) in enumerate(inputs.items()):
            p = _dead_share(n, L, x, n_trials, seed + k + 1)
            lo, hi = clopper_pearson(round(p * n_trials), n_trials, confidence)
            agrees = lo <= theory if at == "data set" else lo <= theory <= hi
            rows.append({"kind": "dead_network_bias", "at": at, "width": n, "depth": L,
                         "p": p, "low": lo, "high": hi, "theory": theory, "agrees": agrees,
                         "n_trials": n_trials, "seed": seed})
    return rows
