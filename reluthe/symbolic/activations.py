"""The activation catalogue as exact sympy expressions in ``symbols.x``.

Every activation is stored as a continuous piecewise function: sorted breakpoints
``b_1 < … < b_k`` and one analytic expression per open interval between them (a smooth activation
has no breakpoint and one piece). The names are those of :data:`reluthe.models.ACTIVATIONS`;
parameters carry torch's names and defaults, as exact numbers (``leaky_relu``'s ``alpha=1/100`` is
torch's ``negative_slope=0.01``) or as sympy symbols supplied by the caller.

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

# torch's SELU constants (torch.nn.SELU documentation), kept exact as decimals.
_SELU_ALPHA = sp.Rational("1.6732632423543772848170429916717")
_SELU_SCALE = sp.Rational("1.0507009873554804934193349852946")
_GELU_TANH_C = sp.Rational("0.044715")


@dataclass(frozen=True)
class _Param:
    name: str
    default: sp.Expr
    domain: str  # "positive" or "real"


@dataclass(frozen=True)
class _Spec:
    params: tuple[_Param, ...]
    build: Callable[..., tuple[tuple, tuple]]  # params -> (breakpoints, pieces)
    torch_kink: str | int  # torch autograd's value at a kink: "left", "right" or a number
    formula: str


def _smooth(expr_fn):
    return lambda **p: ((), (expr_fn(**p),))


_CATALOGUE: dict[str, _Spec] = {
    "relu": _Spec((), lambda: ((sp.Integer(0),), (sp.Integer(0), x)), "left", "max(0, x)"),
    "leaky_relu": _Spec(
        (_Param("alpha", sp.Rational(1, 100), "real"),),
        lambda alpha: ((sp.Integer(0),), (alpha * x, x)), "left",
        "x if x >= 0 else alpha*x"),
    "elu": _Spec(
        (_Param("alpha", sp.Integer(1), "positive"),),
        lambda alpha: ((sp.Integer(0),), (alpha * (sp.exp(x) - 1), x)), "left",
        "x if x > 0 else alpha*(exp(x) - 1)"),
    "selu": _Spec(
        (_Param("alpha", _SELU_ALPHA, "positive"), _Param("scale", _SELU_SCALE, "positive")),
        lambda alpha, scale: ((sp.Integer(0),), (scale * alpha * (sp.exp(x) - 1), scale * x)),
        "left", "scale*(x if x > 0 else alpha*(exp(x) - 1))"),
    "celu": _Spec(
        (_Param("alpha", sp.Integer(1), "positive"),),
        lambda alpha: ((sp.Integer(0),), (alpha * (sp.exp(x / alpha) - 1), x)), "left",
        "max(0, x) + min(0, alpha*(exp(x/alpha) - 1))"),
    "gelu": _Spec((), _smooth(lambda: x / 2 * (1 + sp.erf(x / sp.sqrt(2)))), "left",
                  "x*Phi(x) = x/2*(1 + erf(x/sqrt(2)))"),
    "gelu_tanh": _Spec(
        (), _smooth(lambda: x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + _GELU_TANH_C * x**3)))),
        "left", "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))"),
    "silu": _Spec((_Param("beta", sp.Integer(1), "positive"),),
                  _smooth(lambda beta: x / (1 + sp.exp(-beta * x))), "left",
                  "x*sigmoid(beta*x)"),
    "softplus": _Spec((_Param("beta", sp.Integer(1), "positive"),),
                      _smooth(lambda beta: sp.log(1 + sp.exp(beta * x)) / beta), "left",
                      "log(1 + exp(beta*x))/beta"),
    "mish": _Spec((), _smooth(lambda: x * sp.tanh(sp.log(1 + sp.exp(x)))), "left",
                  "x*tanh(softplus(x))"),
    "tanh": _Spec((), _smooth(lambda: sp.tanh(x)), "left", "tanh(x)"),
    "sigmoid": _Spec((), _smooth(lambda: 1 / (1 + sp.exp(-x))), "left", "1/(1 + exp(-x))"),
    "hardtanh": _Spec(
        (_Param("min_val", sp.Integer(-1), "real"), _Param("max_val", sp.Integer(1), "real")),
        lambda min_val, max_val: ((min_val, max_val), (min_val, x, max_val)), 0,
        "min(max(x, min_val), max_val)"),
    "relu6": _Spec((), lambda: ((sp.Integer(0), sp.Integer(6)), (sp.Integer(0), x, sp.Integer(6))),
                   0, "min(max(0, x), 6)"),
    "identity": _Spec((), _smooth(lambda: x), "left", "x"),
}

ACTIVATIONS: tuple[str, ...] = tuple(_CATALOGUE)
"""Names of the catalogue, the same as :data:`reluthe.models.ACTIVATIONS`."""

ALIASES: dict[str, str] = {"swish": "silu", "linear": "identity"}


def resolve_name(name) -> str:
    """The catalogue name for ``name`` (aliases resolved); unknown names list the catalogue."""
    resolved = ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(resolved, str) or resolved not in _CATALOGUE:
        raise InvalidInputError(
            f"The 'name' parameter of reluthe.symbolic must be one of {sorted(ACTIVATIONS)} "
            f"(aliases {sorted(ALIASES)}). Got {name!r} instead.")
    return resolved


def parameters(name: str) -> dict[str, sp.Expr]:
    """Parameter names of activation ``name`` with torch's defaults.

    Examples
    --------
    >>> parameters("leaky_relu")
    {'alpha': 1/100}
    >>> float(parameters("selu")["scale"])
    1.0507009873554805
    """
    return {p.name: p.default for p in _CATALOGUE[resolve_name(name)].params}


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
    spec = _CATALOGUE[name]
    known = [p.name for p in spec.params]
    extra = sorted(set(params) - set(known))
    if extra:
        raise InvalidInputError(f"Activation {name!r} takes parameters {known}; got unknown "
                                f"{extra}.")
    out = []
    for p in spec.params:
        value = _as_sympy(params[p.name], p.name, name) if p.name in params else p.default
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
    spec = _CATALOGUE[name]
    breakpoints, exprs = spec.build(**dict(params))
    return Pieces(name, params, tuple(sp.sympify(b) for b in breakpoints),
                  tuple(sp.sympify(e) for e in exprs), spec.torch_kink)


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
