"""Random networks the region tests share."""

from __future__ import annotations

import numpy as np


def he_net(widths, seed, bias_std=None, out=1):
    """``(W, b)`` pairs: He-normal weights; biases U(+-1/sqrt(fan_in)) (torch's default) or
    N(0, bias_std^2); a Gaussian output layer of ``out`` units."""
    rng = np.random.default_rng(seed)
    pairs = []
    for fi, fo in zip(widths[:-1], widths[1:]):
        w = rng.normal(0, np.sqrt(2 / fi), (fo, fi))
        b = (rng.uniform(-1 / np.sqrt(fi), 1 / np.sqrt(fi), fo) if bias_std is None
             else rng.normal(0, bias_std, fo))
        pairs.append((w, b))
    return pairs + [(rng.normal(size=(out, widths[-1])), np.zeros(out))]
