"""Exact mathematics of activations: expressions, derivatives at kinks, properties, bounds.

Every expression is in the real symbol :data:`x` (also ``symbols.x``). Nothing here imports
torch; :func:`check_against_torch` imports it when called.

* :func:`activation`, :func:`pieces`, :func:`parameters`: the catalogue (names, aliases and
  parameters with torch's defaults from the table :data:`reluthe.activations.TABLE`);
* :func:`derivative` (``nan`` at kinks by default, ``at_kink`` selects a convention),
  :func:`one_sided_derivatives`, :func:`subdifferential` (Clarke), :func:`kinks`,
  :func:`limits_at_infinity`, :func:`compare_functions`;
* :func:`properties`, :func:`gaussian_moments`, :func:`gain`, :func:`chi`;
* :func:`check_against_torch`;
* :mod:`bounds` (Zaslavsky, Montúfar et al., Serra et al., Raghu et al.);
* :mod:`article` (the article's formulas).

Examples
--------
>>> from reluthe import symbolic
>>> symbolic.activation("relu")
Piecewise((0, x < 0), (x, True))
>>> symbolic.one_sided_derivatives("relu", 0), symbolic.subdifferential("relu", 0)
((0, 1), Interval(0, 1))
>>> symbolic.gain("relu"), symbolic.chi("relu", 2)
(sqrt(2), 1)
>>> symbolic.bounds.serra_upper(2, [1, 10])
12
"""

from reluthe.symbolic import article, bounds, symbols
from reluthe.symbolic.activations import (
    ACTIVATIONS,
    ALIASES,
    Pieces,
    activation,
    parameters,
    pieces,
)
from reluthe.symbolic.calculus import (
    FunctionComparison,
    compare_functions,
    derivative,
    kinks,
    limits_at_infinity,
    one_sided_derivatives,
    subdifferential,
)
from reluthe.symbolic.properties import (
    PRECISION_DIGITS,
    Extremum,
    GaussianMoments,
    Properties,
    chi,
    gain,
    gaussian_moments,
    properties,
)
from reluthe.symbolic.symbols import x, z
from reluthe.symbolic.torch_check import TOLERANCES, TorchCheck, check_against_torch

__all__ = [
    "x",
    "z",
    "symbols",
    "bounds",
    "article",
    "ACTIVATIONS",
    "ALIASES",
    "Pieces",
    "activation",
    "parameters",
    "pieces",
    "derivative",
    "one_sided_derivatives",
    "subdifferential",
    "kinks",
    "limits_at_infinity",
    "compare_functions",
    "FunctionComparison",
    "properties",
    "Properties",
    "Extremum",
    "gaussian_moments",
    "GaussianMoments",
    "gain",
    "chi",
    "PRECISION_DIGITS",
    "check_against_torch",
    "TorchCheck",
    "TOLERANCES",
]
