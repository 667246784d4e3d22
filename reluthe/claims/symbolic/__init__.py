"""Claims decided by derivation: exact sympy results, compared with torch's implementation.

* C01 (:mod:`.c01_definition`): ReLU is f(x) = max(0, x), and torch's relu agrees on a grid.
* C12 (:mod:`.c12_piecewise_linear`): ReLU has exactly two affine pieces and is continuous at 0.
* C14 (:mod:`.c14_derivative_at_zero`): f'(x) = 1 for x >= 0, 0 for x < 0, including at 0.
* C16 (:mod:`.c16_relu_layer`): a torch Linear + ReLU layer computes max(0, Wx + b).
* C22 (:mod:`.c22_other_activations`): the article's sigmoid, tanh, Leaky ReLU and ELU formulas.

Every verdict but C16's comes from derivations made in the run (exact, so no seeds or intervals:
their rows have ``seed: None``) and from :func:`reluthe.symbolic.check_against_torch` (float64
and float32, tolerances fixed there, on CPU). C16 runs one seeded layer per model seed and dtype.
This package holds the claims' checks; the derivations themselves are :mod:`reluthe.symbolic`.

Examples
--------
>>> from reluthe.claims.symbolic import CHECKS
>>> sorted(CHECKS)
['C01', 'C12', 'C14', 'C16', 'C22']
"""

from __future__ import annotations

from reluthe.claims._base import checks_of
from reluthe.claims.symbolic import (
    c01_definition,
    c12_piecewise_linear,
    c14_derivative_at_zero,
    c16_relu_layer,
    c22_other_activations,
)

__all__ = ["CLAIMS", "CHECKS"]

CLAIMS = (c01_definition, c12_piecewise_linear, c14_derivative_at_zero, c16_relu_layer,
          c22_other_activations)
CHECKS = checks_of(CLAIMS)
