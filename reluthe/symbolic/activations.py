"""The activation catalogue as exact sympy expressions in ``symbols.x``.

Every activation is stored as a continuous piecewise function: sorted breakpoints
``b_1 < … < b_k`` and one analytic expression per open interval between them (a smooth activation
has no breakpoint and one piece). The names, aliases and parameters
(with torch's defaults) are those of :data:`reluthe.activations.TABLE`; this module holds the
expression of each row, keyed by its name. Parameters are exact numbers (``leaky_relu``'s
``alpha=1/100`` is torch's ``negative_slope=0.01``) or sympy symbols supplied by the caller.

Conventions
-----------
* A float parameter is read as the decimal it prints as (``0.1`` → ``1/10``); pass a sympy
  number to control exactness.
* A symbolic parameter must carry the assumptions of its domain: ``positive=True`` for ELU's
  ``alpha`` or softplus's ``beta``, ``real=True`` for leaky ReLU's ``alpha``.
* ``silu`` takes Swish's ``beta`` (Ramachandran et al. 2017); torch's ``SiLU`` is ``beta=1``.
* ``softplus`` is the exact ``log(1 + exp(βx))/β``; torch's ``threshold=20`` linearisation is
  not part of the mathematical function (see :func:`reluthe.symbolic.check_against_torch`).

Examples
--------
>>> from reluthe.symbolic import activation
>>> activation("relu")
Piecewise((0, x < 0), (x, True))
>>> activation("leaky_relu")
Piecewise((x/100, x < 0), (x, True))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from reluthe import activations as table
from reluthe.errors import InvalidInputError
from reluthe.symbolic.symbols import x

__all__ = [
    "ACTIVATIONS",
    "ALIASES",
    "Pieces",
    "activation",
    "parameters",
    "pieces",
    "resolve_name",
]

_GELU_TANH_C = sp.Rational("0.044715")


@dataclass(frozen=True)
class _Builder:
    build: Callable[..., tuple[tuple, tuple]]  # params -> (breakpoints, pieces)
    torch_kink: str | int = "left"  # torch autograd's value at a kink: "left", "right" or a number


def _smooth(expr_fn):
    return _Builder(lambda **p: ((), (expr_fn(**p),)))


_ZERO = sp.Integer(0)

# the sympy form of every row of reluthe.activations.TABLE, keyed by its name
_BUILDERS: dict[str, _Builder] = {
    "relu": _Builder(lambda: ((_ZERO,), (_ZERO, x))),
    "leaky_relu": _Builder(lambda alpha: ((_ZERO,), (alpha * x, x))),
    "elu": _Builder(lambda alpha: ((_ZERO,), (alpha * (sp.exp(x) - 1), x))),
    "selu": _Builder(lambda alpha, scale: ((_ZERO,), (scale * alpha * (sp.exp(x) - 1),
                                                       scale * x))),
    "celu": _Builder(lambda alpha: ((_ZERO,), (alpha * (sp.exp(x / alpha) - 1), x))),
    "gelu": _smooth(lambda: x / 2 * (1 + sp.erf(x / sp.sqrt(2)))),
    "gelu_tanh": _smooth(
        lambda: x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + _GELU_TANH_C * x**3)))),
    "silu": _smooth(lambda beta: x / (1 + sp.exp(-beta * x))),
    "softplus": _smooth(lambda beta: sp.log(1 + sp.exp(beta * x)) / beta),
    "mish": _smooth(lambda: x * sp.tanh(sp.log(1 + sp.exp(x)))),
    "tanh": _smooth(lambda: sp.tanh(x)),
    "sigmoid": _smooth(lambda: 1 / (1 + sp.exp(-x))),
    "hardtanh": _Builder(lambda min_val, max_val: ((min_val, max_val), (min_val, x, max_val)), 0),
    "relu6": _Builder(lambda: ((_ZERO, sp.Integer(6)), (_ZERO, x, sp.Integer(6))), 0),
    "identity": _smooth(lambda: x),
}

ACTIVATIONS: tuple[str, ...] = table.ACTIVATIONS
"""Names of the catalogue: those of :data:`reluthe.activations.ACTIVATIONS`."""

ALIASES: dict[str, str] = table.ALIASES


def resolve_name(name) -> str:
    """The catalogue name for ``name`` (aliases resolved); unknown names list the catalogue.

    Examples
    --------
    >>> resolve_name("swish")
    'silu'
    """
    return table.spec(name, func="reluthe.symbolic").name


def parameters(name: str) -> dict[str, sp.Expr]:
    """Parameter names of activation ``name`` with torch's defaults.

    Examples
    --------
    >>> parameters("leaky_relu")
    {'alpha': 1/100}
    >>> float(parameters("selu")["scale"])
    1.0507009873554805
    """
    row = table.spec(name, func="reluthe.symbolic")
    return {p.name: sp.Rational(p.default) for p in row.params}


def _as_sympy(value, pname: str, name: str) -> sp.Expr:
    if isinstance(value, bool):
        raise InvalidInputError(f"Parameter {pname!r} of activation {name!r} must be a real "
                                f"number or a real sympy expression. Got {value!r} instead.")
    if isinstance(value, sp.Expr):
        if value.has(sp.nan, sp.oo, -sp.oo, sp.zoo) or value.is_real is not True:
            raise InvalidInputError(
                f"Parameter {pname!r} of activation {name!r} must be finite and real (declare "
                f"symbols with real=True or positive=True). Got {value!r} instead.")
        return value
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, numbers.Real):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInputError(f"Parameter {pname!r} of activation {name!r} must be finite. "
                                    f"Got {value!r} instead.")
        return sp.Rational(repr(float(value)))
    raise InvalidInputError(f"Parameter {pname!r} of activation {name!r} must be a real number "
                            f"or a real sympy expression. Got {value!r} instead.")


def _check_params(name: str, params: dict) -> tuple[tuple[str, sp.Expr], ...]:
    spec = table.spec(name)
    known = [p.name for p in spec.params]
    extra = sorted(set(params) - set(known))
    if extra:
        raise InvalidInputError(f"Activation {name!r} takes parameters {known}; got unknown "
                                f"{extra}.")
    out = []
    for p in spec.params:
        value = _as_sympy(params[p.name], p.name, name) if p.name in params else \
            sp.Rational(p.default)
        if p.domain == "positive" and value.is_positive is not True:
            raise InvalidInputError(
                f"Parameter {p.name!r} of activation {name!r} must be > 0 (a symbol needs "
                f"positive=True). Got {value!r} instead.")
        out.append((p.name, value))
    if name == "hardtanh":
        lo, hi = out[0][1], out[1][1]
        if (hi - lo).is_positive is not True:
            raise InvalidInputError(
                f"Parameters of activation 'hardtanh' must satisfy min_val < max_val provably. "
                f"Got min_val={lo!r}, max_val={hi!r} instead.")
    return tuple(out)


@dataclass(frozen=True)
class Pieces:
    """A continuous piecewise activation; ``pieces[i]`` holds between breakpoints i-1 and i.

    Attributes
    ----------
    name : str
    params : tuple of (str, sympy.Expr)
    breakpoints : tuple of sympy.Expr
        Sorted; the function is continuous at each (its value there is the common limit).
    pieces : tuple of sympy.Expr
        ``len(breakpoints) + 1`` analytic expressions in ``x``.
    torch_kink : str or int
        What torch's autograd returns at a kink: ``"left"``/``"right"`` one-sided derivative or a
        number (checked against torch in the tests).
    """

    name: str
    params: tuple
    breakpoints: tuple
    pieces: tuple
    torch_kink: str | int

    def intervals(self) -> list[tuple[sp.Expr, sp.Expr]]:
        """The open intervals ``(lo, hi)`` of the pieces, with ``-oo``/``oo`` at the ends."""
        edges = [-sp.oo, *self.breakpoints, sp.oo]
        return list(zip(edges[:-1], edges[1:]))

    def expression(self) -> sp.Expr:
        """The whole function as one expression (a ``Piecewise`` when there are breakpoints)."""
        if not self.breakpoints:
            return self.pieces[0]
        args = [(e, x < b) for e, b in zip(self.pieces[:-1], self.breakpoints)]
        return sp.Piecewise(*args, (self.pieces[-1], True))


@lru_cache(maxsize=512)
def _pieces_cached(name: str, params: tuple) -> Pieces:
    builder = _BUILDERS[name]
    breakpoints, exprs = builder.build(**dict(params))
    return Pieces(name, params, tuple(sp.sympify(b) for b in breakpoints),
                  tuple(sp.sympify(e) for e in exprs), builder.torch_kink)


def pieces(name: str, **params) -> Pieces:
    """The piecewise description of activation ``name`` (validated parameters).

    Raises
    ------
    InvalidInputError
        Unknown name (the message lists the catalogue), unknown parameter, or a parameter out of
        its domain (e.g. ``elu`` with ``alpha <= 0``, ``softplus`` with ``beta <= 0``).

    Examples
    --------
    >>> pieces("relu6").breakpoints
    (0, 6)
    """
    name = resolve_name(name)
    return _pieces_cached(name, _check_params(name, params))


def activation(name: str, **params) -> sp.Expr:
    """Activation ``name`` as a sympy expression in ``symbols.x``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS` (aliases: swish → silu, linear → identity).
    **params
        Torch's parameters (defaults as torch): ``alpha`` (leaky_relu, elu, selu, celu),
        ``scale`` (selu), ``beta`` (silu, softplus), ``min_val``/``max_val`` (hardtanh). Numbers
        or real sympy expressions.

    Examples
    --------
    >>> import sympy
    >>> a = sympy.Symbol("a", positive=True)
    >>> activation("elu", alpha=a)
    Piecewise((a*(exp(x) - 1), x < 0), (x, True))
    >>> activation("sigmoid")
    1/(1 + exp(-x))
    """
    return pieces(name, **params).expression()
