"""Constants the sparsity / generalization rules share.

The protocol itself (settings, learning rates, seeds, checkpoints) is
:mod:`reluthe.claims.sparsity._arms`; ``empirical/sparsity.md`` documents the choices.
"""

from __future__ import annotations

from reluthe.claims._protocol import MIN_SEEDS

__all__ = ["MIN_SEEDS", "NON_SPARSE", "FIT_GAP"]

# activations without exact zeros in the family's grids (the comparisons of C08)
NON_SPARSE = ("leaky_relu", "elu", "gelu", "silu", "softplus", "tanh", "sigmoid")
# C08: two nets whose mean train accuracies differ by more than this differ in fit ("fit
# differs"): their difference measures trainability at the budget, not features
FIT_GAP = 0.10
