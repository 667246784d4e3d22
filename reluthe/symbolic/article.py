"""The formulas of the article under test (/work/shared/article.zh.md), transcribed to sympy.

One place for the transcription, so that claims and proofs test the same text. Section numbers
are the article's.

Examples
--------
>>> from reluthe.symbolic import article
>>> article.relu_derivative_3_2()
Piecewise((1, x >= 0), (0, True))
"""

from __future__ import annotations

import sympy as sp

from reluthe.symbolic.symbols import x

__all__ = [
    "relu_max_2_1",
    "relu_cases_2_1",
    "relu_cases_3_1",
    "relu_derivative_3_2",
    "q2_formulas",
    "LEAKY_ALPHA",
    "ELU_ALPHA",
]

LEAKY_ALPHA = sp.Symbol("alpha", real=True)
"""The article's α in Leaky ReLU: any real slope (the article gives no domain)."""

ELU_ALPHA = sp.Symbol("alpha", positive=True)
"""The article's α in ELU: positive, the domain where ELU is defined in torch and here."""


def relu_max_2_1() -> sp.Expr:
    """§2.1: ``f(x) = max(0, x)``."""
    return sp.Max(0, x)


def relu_cases_2_1() -> sp.Expr:
    """§2.1 in words: x > 0 gives x; x ≤ 0 gives 0."""
    return sp.Piecewise((x, x > 0), (0, True))


def relu_cases_3_1() -> sp.Expr:
    """§3.1: two sub-intervals, x ≥ 0 gives x; x < 0 gives 0."""
    return sp.Piecewise((x, x >= 0), (0, True))


def relu_derivative_3_2() -> sp.Expr:
    """§3.2: ``f'(x) = 1 if x ≥ 0, 0 if x < 0``."""
    return sp.Piecewise((1, x >= 0), (0, True))


def q2_formulas(leaky_alpha=LEAKY_ALPHA, elu_alpha=ELU_ALPHA) -> dict[str, sp.Expr]:
    """§8 Q2: sigmoid, tanh, Leaky ReLU and ELU as the article writes them, keyed by catalogue
    name."""
    return {
        "sigmoid": 1 / (1 + sp.exp(-x)),
        "tanh": (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x)),
        "leaky_relu": sp.Piecewise((x, x >= 0), (leaky_alpha * x, True)),
        "elu": sp.Piecewise((x, x >= 0), (elu_alpha * (sp.exp(x) - 1), True)),
    }
