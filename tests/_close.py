"""Tolerances for comparing two trainings that do the same arithmetic in a different order.

A batched trainer and the ordinary torch loop (or two batch shapes) reach the same weights only up
to rounding: BLAS libraries block their sums differently per CPU and per shape, so bit equality
holds on one machine and fails on another. Each optimizer step adds at most a few rounding errors
of relative size ``eps`` to every weight, and over a short run they accumulate about linearly, so
the bound used here is ``SLACK * eps * steps`` relative to the weights' scale. ``SLACK`` covers the
length of the reductions (fan-in up to a few hundred, errors growing like its square root) and
Adam's normalisation; a real bug (another seed, learning rate or member order) moves weights by
``lr * steps`` or more, which is orders of magnitude above this bound.
"""

from __future__ import annotations

import torch

SLACK = 32


def trained_atol(steps: int, scale: float = 1.0, dtype: torch.dtype = torch.float32) -> float:
    """Largest difference expected between two equal trainings of ``steps`` steps."""
    return SLACK * torch.finfo(dtype).eps * max(int(steps), 1) * max(float(scale), 1.0)


def assert_weights_close(a, b, steps: int) -> None:
    """Two sequences of weight tensors agree within :func:`trained_atol` of their scale."""
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape and x.dtype == y.dtype
        tol = trained_atol(steps, float(y.abs().max()), y.dtype)
        diff = float((x - y).abs().max())
        assert diff <= tol, f"weights differ by {diff:.3g} > {tol:.3g} after {steps} steps"
