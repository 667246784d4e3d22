"""Checks of the sparsity and generalization claims, one module per claim.

The article's thesis is that ReLU's sparse activation improves generalization. These checks
measure it on real data (MNIST-1D and real MNIST digits, the main datasets; scikit-learn digits,
a sanity check only) and synthetic tasks with known structure (spirals, teacher networks). Every
arm gets its own learning rate chosen on validation and 3 data seeds × 3 model seeds, is read at
its best-validation checkpoint, and every effect is reported with an interval that respects that
design; every rule is fixed in code before the data (``empirical/sparsity.md``).

* ``c02_expressivity``: C02, ReLU fits spirals beyond a linear model and a tanh MLP; region
  counts of the trained nets against init;
* ``c03_sparse_activation``: C03, the exact-zero fraction of ReLU layers at init and trained,
  and a Glorot et al. (2011) style net;
* ``c04_sparsity_generalization``: C04, sparsity moved with the activation fixed (L1 and L2
  activity penalties, leaky slopes) vs the gap at matched fit and out-of-distribution accuracy;
  the Jacobian norm as a competing explanation;
* ``c08_salient_features``: C08, linear probes of every hidden layer against sparsity;
* ``c11_generalization``: C11, relu vs every other activation: test accuracy, gap at matched fit,
  out-of-distribution accuracy;
* ``c13_region_density``: C13, region boundaries along chords between data points vs the same
  chords rotated about the origin;
* ``c23_other_regularisers``: C23, augmentation, regularisation, ensembling, transfer from
  another distribution, each at a strength chosen on validation;
* ``c24_hidden_layers``: C24, ReLU on the output layer vs none.

Shared code: ``_arms`` (the protocol: settings, learning rates, seeds, checkpoints and the record
rows of every arm, cached per process), ``_protocol`` (constants the rules share),
``_probe_layers`` (C03/C08 probes), ``_common`` (estimates, paired unit differences, Holm
families, record views) and ``_plot`` (figure helpers).

Examples
--------
>>> from reluthe.claims.sparsity import CHECKS
>>> sorted(CHECKS)
['C02', 'C03', 'C04', 'C08', 'C11', 'C13', 'C23', 'C24']
"""

from __future__ import annotations

from reluthe.claims._base import Check, checks_of
from reluthe.claims.sparsity import (
    c02_expressivity,
    c03_sparse_activation,
    c04_sparsity_generalization,
    c08_salient_features,
    c11_generalization,
    c13_region_density,
    c23_other_regularisers,
    c24_hidden_layers,
)

CLAIMS = (c02_expressivity, c03_sparse_activation, c04_sparsity_generalization,
          c08_salient_features, c11_generalization, c13_region_density, c23_other_regularisers,
          c24_hidden_layers)
CHECKS: dict[str, Check] = checks_of(CLAIMS)
