"""The symbols every expression of :mod:`reluthe.symbolic` is written in.

``x`` is the one real variable of every activation; ``z`` stands for a standard normal input in
Gaussian moments. Import them from here (``symbols.x``) or from the package (``symbolic.x``).

Examples
--------
>>> from reluthe.symbolic import symbols
>>> symbols.x.is_real
True
"""

from __future__ import annotations

import sympy as sp

__all__ = ["x", "z"]

x = sp.Symbol("x", real=True)
z = sp.Symbol("z", real=True)
