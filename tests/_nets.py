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


def hardtanh_leaky_net(seed, n1, n2):
    """A 2-input PLNet: ``n1`` hardtanh(-0.5, 0.5) units (two breakpoints each), then ``n2``
    leaky-ReLU(0.1) units; Gaussian weights, biases N(0, 0.3^2); an output of ones."""
    from reluthe.nets import Activation, PLLayer, PLNet

    rng = np.random.default_rng(seed)
    layers = (PLLayer(rng.normal(size=(n1, 2)), rng.normal(scale=0.3, size=n1),
                      Activation.hardtanh(-0.5, 0.5)),
              PLLayer(rng.normal(size=(n2, n1)), rng.normal(scale=0.3, size=n2),
                      Activation.leaky_relu(0.1)))
    return PLNet(layers, (np.ones((1, n2)), np.zeros(1)), 2, (2,))
