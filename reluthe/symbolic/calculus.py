"""Derivatives with kinks: one-sided derivatives, generalized gradients, function comparison.

A kink is a breakpoint where the one-sided derivatives differ. There the derivative does not
exist, and :func:`derivative` says so: by default its value there is ``nan`` (substituting the
kink gives ``nan``, never 0 or 1). The value is a parameter, in the style of sympy's
``Heaviside(x, H0)``: ``at_kink`` may be a number, ``"left"``/``"right"`` (a one-sided derivative)
or ``"torch"`` (the value torch's autograd returns, e.g. ``relu'(0) = 0``).

:func:`subdifferential` returns Clarke's generalized gradient, the convex hull of the one-sided
derivatives (Clarke 1975; for a piecewise-smooth function of one variable it is the interval
between them). At a convex kink (ReLU at 0) it equals the convex subdifferential ``[0, 1]``; at a
concave kink (hardtanh at 1, SELU at 0) the convex subdifferential is empty and the Clarke
gradient is still the interval between the one-sided derivatives.

Examples
--------
>>> from reluthe.symbolic import derivative, one_sided_derivatives, subdifferential, x
>>> derivative("relu")
Piecewise((0, x < 0), (1, x > 0), (nan, True))
>>> derivative("relu").subs(x, 0)
nan
>>> one_sided_derivatives("relu", 0)
(0, 1)
>>> subdifferential("relu", 0)
Interval(0, 1)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from reluthe.errors import InvalidInputError
from reluthe.symbolic.activations import Pieces, pieces
from reluthe.symbolic.symbols import x

__all__ = [
    "derivative",
    "one_sided_derivatives",
    "subdifferential",
    "kinks",
    "limits_at_infinity",
    "compare_functions",
    "FunctionComparison",
]


def _truth(relation) -> bool | None:
    """True/False when sympy decides ``relation``, None when it cannot."""
    value = sp.sympify(relation)
    if value is sp.true:
        return True
    if value is sp.false:
        return False
    return None


def _same(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Whether two expressions are equal: True, False, or None when undecidable."""
    diff = sp.simplify(a - b)
    if diff == 0:
        return True
    if diff.is_zero is False or (diff.is_number and diff != 0):
        return False
    return None


def _derivative_pieces(p: Pieces) -> tuple:
    return tuple(sp.diff(e, x) for e in p.pieces)


def _one_sided_at_breakpoint(p: Pieces, i: int) -> tuple[sp.Expr, sp.Expr]:
    d = _derivative_pieces(p)
    b = p.breakpoints[i]
    return sp.simplify(d[i].subs(x, b)), sp.simplify(d[i + 1].subs(x, b))


def _kink_value(left, right, at_kink, torch_kink):
    if isinstance(at_kink, str):
        rule = torch_kink if at_kink == "torch" else at_kink
        if rule == "left":
            return left
        if rule == "right":
            return right
        return sp.sympify(rule)
    return at_kink


def _check_at_kink(at_kink):
    if isinstance(at_kink, str):
        if at_kink not in ("left", "right", "torch"):
            raise InvalidInputError(
                "The 'at_kink' parameter of derivative must be a number (nan by default), "
                f"'left', 'right' or 'torch'. Got {at_kink!r} instead.")
        return at_kink
    if isinstance(at_kink, bool) or not isinstance(at_kink, (numbers.Real, sp.Expr)):
        raise InvalidInputError(
            "The 'at_kink' parameter of derivative must be a number (nan by default), "
            f"'left', 'right' or 'torch'. Got {at_kink!r} instead.")
    return sp.sympify(at_kink)


def derivative(name: str, at_kink=sp.nan, **params) -> sp.Expr:
    """The derivative of activation ``name``; at a kink its value is ``at_kink``.

    Parameters
    ----------
    name : str
        An activation of the catalogue.
    at_kink : number, "left", "right" or "torch", default nan
        The value at points where the derivative does not exist. ``nan`` (default) marks them;
        ``"torch"`` reproduces torch's autograd (0 for relu, relu6 and hardtanh, the left
        derivative for leaky_relu, elu and selu).
    **params
        Parameters of the activation.

    Returns
    -------
    sympy.Expr
        A ``Piecewise`` for piecewise activations (pieces on open intervals, then the values at
        the breakpoints), the plain derivative for smooth ones. Where a symbolic parameter leaves
        it undecided whether a breakpoint is a kink, the value there is itself a ``Piecewise``.

    Examples
    --------
    >>> derivative("relu", at_kink="torch").subs(x, 0)
    0
    >>> derivative("elu")  # ELU with alpha = 1 is differentiable at 0
    Piecewise((exp(x), x < 0), (1, True))
    """
    at_kink = _check_at_kink(at_kink)
    p = pieces(name, **params)
    d = _derivative_pieces(p)
    if not p.breakpoints:
        return d[0]
    bps = p.breakpoints
    args = []
    for i, di in enumerate(d):
        if i == 0:
            cond = x < bps[0]
        elif i == len(bps):
            cond = x > bps[-1]
        else:
            cond = sp.And(x > bps[i - 1], x < bps[i])
        args.append((di, cond))
    for i, b in enumerate(bps):
        left, right = _one_sided_at_breakpoint(p, i)
        same = _same(left, right)
        kink = _kink_value(left, right, at_kink, p.torch_kink)
        if same is True:
            value = left
        elif same is False:
            value = kink
        else:
            value = sp.Piecewise((left, sp.Eq(left, right)), (kink, True))
        args.append((value, True if i == len(bps) - 1 else sp.Eq(x, b)))
    return sp.Piecewise(*args)


def _check_point(at, func: str) -> sp.Expr:
    if isinstance(at, bool) or not isinstance(at, (numbers.Real, sp.Expr)):
        raise InvalidInputError(f"The 'at' parameter of {func} must be a finite real number. "
                                f"Got {at!r} instead.")
    if isinstance(at, float) and not math.isfinite(at):
        raise InvalidInputError(f"The 'at' parameter of {func} must be a finite real number. "
                                f"Got {at!r} instead.")
    value = sp.Rational(repr(float(at))) if isinstance(at, float) else sp.sympify(at)
    if value.has(sp.nan, sp.oo, -sp.oo, sp.zoo) or value.is_real is not True:
        raise InvalidInputError(f"The 'at' parameter of {func} must be a finite real number. "
                                f"Got {at!r} instead.")
    return value


def _locate(p: Pieces, at: sp.Expr, func: str) -> tuple[str, int]:
    """('breakpoint', i) or ('piece', i) for the position of ``at``."""
    for i, b in enumerate(p.breakpoints):
        eq = _truth(sp.Eq(at, b))
        if eq is True:
            return "breakpoint", i
        below = _truth(at < b)
        if below is True:
            return "piece", i
        if eq is None or below is None:
            raise InvalidInputError(
                f"The 'at' parameter of {func} must be comparable with the breakpoints "
                f"{list(p.breakpoints)}. Got {at!r}, which sympy cannot order.")
    return "piece", len(p.breakpoints)


def one_sided_derivatives(name: str, at, **params) -> tuple[sp.Expr, sp.Expr]:
    """``(f'_-(at), f'_+(at))``, the left and right derivatives of activation ``name`` at ``at``.

    They are the limits of the derivative from each side (the pieces are analytic up to their
    end points), and equal wherever ``f`` is differentiable.

    Examples
    --------
    >>> one_sided_derivatives("hardtanh", 1)
    (1, 0)
    >>> one_sided_derivatives("sigmoid", 0)
    (1/4, 1/4)
    """
    at = _check_point(at, "one_sided_derivatives")
    p = pieces(name, **params)
    where, i = _locate(p, at, "one_sided_derivatives")
    if where == "breakpoint":
        return _one_sided_at_breakpoint(p, i)
    value = sp.simplify(_derivative_pieces(p)[i].subs(x, at))
    return value, value


def subdifferential(name: str, at, **params) -> sp.Set:
    """Clarke's generalized gradient of activation ``name`` at ``at``.

    The convex hull of the one-sided derivatives: ``Interval(min, max)``; a single point
    ``{f'(at)}`` where ``f`` is differentiable. For convex activations (relu, leaky_relu with
    alpha <= 1, elu with alpha <= 1, softplus) it is the convex subdifferential; at concave kinks
    it is the Clarke gradient (the convex subdifferential is empty there).

    Examples
    --------
    >>> subdifferential("leaky_relu", 0)
    Interval(1/100, 1)
    >>> subdifferential("relu", 2)
    {1}
    """
    left, right = one_sided_derivatives(name, at, **params)
    return sp.Interval(sp.Min(left, right), sp.Max(left, right))


def kinks(name: str, **params) -> tuple[sp.Expr, ...]:
    """Breakpoints where the one-sided derivatives differ (or may differ, for symbols).

    Examples
    --------
    >>> kinks("relu6"), kinks("elu"), kinks("elu", alpha=2)
    ((0, 6), (), (0,))
    """
    p = pieces(name, **params)
    out = []
    for i, b in enumerate(p.breakpoints):
        left, right = _one_sided_at_breakpoint(p, i)
        if _same(left, right) is not True:
            out.append(b)
    return tuple(out)


def _limit(expr: sp.Expr, direction) -> sp.Expr:
    if expr.has(sp.tanh):  # gruntz is much faster on the exponential, single-fraction form
        expr = sp.together(expr.rewrite(sp.exp))
    return sp.limit(expr, x, direction)


@lru_cache(maxsize=256)
def _limits_cached(p: Pieces) -> dict:
    d = _derivative_pieces(p)
    return {
        "f(-oo)": _limit(p.pieces[0], -sp.oo),
        "f(+oo)": _limit(p.pieces[-1], sp.oo),
        "f'(-oo)": _limit(d[0], -sp.oo),
        "f'(+oo)": _limit(d[-1], sp.oo),
    }


def limits_at_infinity(name: str, **params) -> dict[str, sp.Expr]:
    """Limits of ``f`` and ``f'`` as ``x → ±∞`` (keys ``"f(-oo)"``, ``"f(+oo)"``, ``"f'(-oo)"``,
    ``"f'(+oo)"``). A derivative limit of 0 is saturation on that side.

    Examples
    --------
    >>> limits_at_infinity("sigmoid")["f'(+oo)"], limits_at_infinity("relu")["f'(+oo)"]
    (0, 1)
    """
    return dict(_limits_cached(pieces(name, **params)))


@dataclass(frozen=True)
class FunctionComparison:
    """Two functions of ``x`` compared on every interval between their breakpoints.

    Attributes
    ----------
    equal : bool
        True when every piece and every breakpoint value agrees (proved by ``simplify``).
    breakpoints : tuple of str
    intervals : tuple of dict
        ``{"interval", "f", "g", "equal"}`` for each open interval.
    points : tuple of dict
        ``{"at", "f", "g", "equal"}`` at each breakpoint.
    """

    equal: bool
    breakpoints: tuple
    intervals: tuple
    points: tuple

    def to_dict(self) -> dict:
        return {"equal": self.equal, "breakpoints": list(self.breakpoints),
                "intervals": [dict(i) for i in self.intervals],
                "points": [dict(p) for p in self.points]}


def _relations(expr: sp.Expr) -> set:
    return {r for r in expr.atoms(sp.core.relational.Relational)}


def _breakpoints_of(expr: sp.Expr) -> set:
    out = set()
    for rel in _relations(expr):
        lhs = rel.lhs - rel.rhs
        if not lhs.has(x):
            continue
        sols = sp.solve(lhs, x)
        if len(sols) != 1 or sp.diff(lhs, x, 2) != 0:
            raise InvalidInputError(
                f"compare_functions needs conditions linear in x. Got {rel} instead.")
        out.add(sp.simplify(sols[0]))
    return out


def _branch(expr: sp.Expr, sample: sp.Expr) -> sp.Expr:
    """The expression that a folded Piecewise takes on the interval containing ``sample``."""
    if not isinstance(expr, sp.Piecewise):
        return expr
    for e, cond in expr.args:
        if _truth(sp.sympify(cond).subs(x, sample)) is True:
            return _branch(e, sample)
    raise InvalidInputError(f"Piecewise {expr} is undefined at x = {sample}.")


def _normalise(expr) -> sp.Expr:
    expr = sp.sympify(expr)
    expr = expr.rewrite(sp.Piecewise) if expr.has(sp.Max, sp.Min, sp.Abs, sp.Heaviside) else expr
    return sp.piecewise_fold(expr)


def _equal_expressions(a: sp.Expr, b: sp.Expr) -> bool:
    if sp.simplify(a - b) == 0:
        return True
    return sp.simplify((a - b).rewrite(sp.exp)) == 0


def compare_functions(f, g) -> FunctionComparison:
    """Whether ``f`` and ``g`` (expressions in ``x``) are the same function on the real line.

    Both are split at every breakpoint of either (conditions of ``Piecewise``, ``Max``, ``Min``,
    ``Abs``, ``Heaviside``; they must be linear in ``x`` with comparable solutions); the
    expressions active on each open interval are compared with ``simplify`` (also after
    rewriting in ``exp``), and the values at each breakpoint by substitution. Equality is only
    reported when proved.

    Examples
    --------
    >>> import sympy
    >>> article = sympy.Piecewise((x, x > 0), (0, True))   # "x>0 -> x, x<=0 -> 0"
    >>> compare_functions(article, sympy.Max(0, x)).equal
    True
    >>> compare_functions(sympy.Piecewise((1, x >= 0), (0, True)), derivative("relu")).equal
    False
    """
    f, g = _normalise(f), _normalise(g)
    bps = _breakpoints_of(f) | _breakpoints_of(g)
    try:
        bps = sorted(bps, key=lambda b: float(b))
    except TypeError as exc:
        raise InvalidInputError(
            f"compare_functions needs numeric breakpoints. Got {sorted(map(str, bps))}.") from exc
    edges = [-sp.oo, *bps, sp.oo]
    intervals, points, equal = [], [], True
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo == -sp.oo and hi == sp.oo:
            sample = sp.Integer(0)
        elif lo == -sp.oo:
            sample = hi - 1
        elif hi == sp.oo:
            sample = lo + 1
        else:
            sample = (lo + hi) / 2
        fe, ge = _branch(f, sample), _branch(g, sample)
        ok = _equal_expressions(fe, ge)
        equal &= ok
        intervals.append({"interval": f"({lo}, {hi})", "f": str(fe), "g": str(ge), "equal": ok})
    for b in bps:
        fv, gv = f.subs(x, b), g.subs(x, b)
        ok = (fv is sp.nan and gv is sp.nan) or (
            fv is not sp.nan and gv is not sp.nan and _equal_expressions(fv, gv))
        equal &= ok
        points.append({"at": str(b), "f": str(fv), "g": str(gv), "equal": bool(ok)})
    return FunctionComparison(bool(equal), tuple(str(b) for b in bps), tuple(intervals),
                              tuple(points))
