"""Checks of the claims about ReLU in other architectures (C18–C21) and its biological origin (C07).

One file per claim, each with its rule, measurement, decision and figure:

* C07 — :mod:`~reluthe.claims.architectures.c07_biological_analogy` (not testable; active-unit
  share and boundedness shown);
* C18 — :mod:`~reluthe.claims.architectures.c18_cnn` (1-D CNN on mnist1d, 2-D CNN on real MNIST
  (mnist5k; digits under ``--full``), 6 activations);
* C19 — :mod:`~reluthe.claims.architectures.c19_rnn` (vanilla RNN, relu vs tanh, init and
  clipping);
* C20 — :mod:`~reluthe.claims.architectures.c20_gan` (GAN on 8 Gaussians: mode coverage and
  sample quality);
* C21 — :mod:`~reluthe.claims.architectures.c21_autoencoder` (autoencoders vs PCA at equal size,
  two bottlenecks, mnist1d and real MNIST).

Models of one experiment (activations × seeds × conditions) train together as one stacked model
(:func:`reluthe.train.train_stacked`); arms share seeds, so comparisons use paired
intervals (:mod:`reluthe.claims.architectures._paired`); learning rates are chosen on each
run's validation split and models read at their best-validation checkpoints (``_cnn``, ``_rnn``,
``_gan``); figures share :mod:`reluthe.claims.architectures._plot`.

Examples
--------
>>> from reluthe.claims.architectures import CHECKS
>>> sorted(CHECKS)
['C07', 'C18', 'C19', 'C20', 'C21']
"""

from __future__ import annotations

from reluthe.claims._base import Check, checks_of
from reluthe.claims.architectures import (
    c07_biological_analogy,
    c18_cnn,
    c19_rnn,
    c20_gan,
    c21_autoencoder,
)

__all__ = ["CLAIMS", "CHECKS"]

CLAIMS = (c07_biological_analogy, c18_cnn, c19_rnn, c20_gan, c21_autoencoder)
CHECKS: dict[str, Check] = checks_of(CLAIMS)
