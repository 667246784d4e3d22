"""Checks of the sparsity and generalization claims, one module per claim.

The article's thesis is that ReLU's sparse activation improves generalization. These checks
measure it on real data (mnist1d, the main dataset; scikit-learn digits, the easy sanity check)
and synthetic tasks with known structure (spirals, teacher networks), with every effect reported
as a 95 % interval over seeds and every rule fixed in code before the data.

* ``c02_expressivity``: C02, ReLU fits spirals; region counts grow with width and depth;
* ``c03_sparse_activation``: C03, the exact-zero fraction of ReLU layers at init and trained;
* ``c04_sparsity_generalization``: C04, sparsity moved with the activation fixed vs accuracy;
* ``c08_salient_features``: C08, linear-probe accuracy of hidden features against sparsity;
* ``c11_generalization``: C11, test accuracy of relu vs every other activation;
* ``c13_region_density``: C13, region boundaries along training data vs random segments;
* ``c23_other_regularisers``: C23, augmentation, regularisation, ensembling, transfer;
* ``c24_hidden_layers``: C24, ReLU on the output layer vs none.

Shared code: ``_protocol`` (datasets, widths, activations, recipes, sweeps; quick/default),
``_runs`` (the training runs several claims read, cached per process, and the family's seeds),
``_common`` (estimates, record views) and ``_plot`` (figure helpers).

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
