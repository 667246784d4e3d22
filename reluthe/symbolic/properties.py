"""Properties of an activation: range, monotonicity, convexity, smoothness, saturation, sup|f'|,
Gaussian moments, and the signal-propagation quantities derived from them.

Everything is computed from the catalogue's pieces, exactly where sympy can and otherwise with
mpmath at :data:`PRECISION_DIGITS` significant digits; ``Properties.methods`` records which.

* Extremes of ``f`` and ``f'`` come from their critical points on each piece (``solveset`` when it
  returns a finite set, else sign changes of the derivative on a 4001-point grid over
  ``[-40, 40]`` refined by ``mpmath.findroot``), the values and one-sided limits at breakpoints,
  and the limits at ``±∞``. A supremum that is only approached (a limit, or a one-sided limit at
  a kink) is reported with ``attained=False`` and where it is approached.
* Gaussian moments for ``z ~ N(0, q)``: pieces that are polynomials times exponentials of linear
  functions are integrated exactly by sympy; the others by ``mpmath.quad``.
* ``gain = 1/sqrt(E[f(z)²])``: the weight scale ``W ~ N(0, gain²/fan_in)`` that keeps the
  second moment of pre-activations at 1 from layer to layer (He et al. 2015, eq. 10 for ReLU:
  ``gain = √2``). torch's ``calculate_gain`` uses other conventions for some activations (5/3
  for tanh).
* ``chi = σ_w² E[f'(z)²]`` with ``z ~ N(0, q)``: the mean-field factor by which the squared
  gradient norm changes per layer (Schoenholz et al. 2017, "Deep information propagation",
  their χ₁ at the fixed point ``q* = q``); over ``L`` layers the squared-norm ratio is predicted
  as ``chi**L`` (the norm ratio as ``chi**(L/2)``).

Examples
--------
>>> from reluthe.symbolic import properties, gain, chi
>>> p = properties("sigmoid")
>>> p.sup_abs_derivative, p.sup_abs_derivative_at
(1/4, {0})
>>> gain("relu"), chi("relu", 2)
(sqrt(2), 1)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from reluthe.errors import InvalidInputError
from reluthe.symbolic.activations import Pieces, pieces
from reluthe.symbolic.calculus import (
    _one_sided_at_breakpoint,
    _same,
    derivative,
    kinks,
    limits_at_infinity,
)
from reluthe.symbolic.symbols import x

__all__ = [
    "PRECISION_DIGITS",
    "Properties",
    "Extremum",
    "GaussianMoments",
    "properties",
    "gaussian_moments",
    "gain",
    "chi",
]

PRECISION_DIGITS = 30
"""Significant digits of every numeric (mpmath) result."""

_WINDOW = 40
_GRID = 4001
_EXACT = "exact (sympy)"
_NUMERIC = f"numeric (mpmath, {PRECISION_DIGITS} digits)"


def _num(value) -> mpmath.mpf:
    with mpmath.workdps(PRECISION_DIGITS + 5):
        if value in (sp.oo, -sp.oo):
            return mpmath.inf if value == sp.oo else -mpmath.inf
        return mpmath.mpf(sp.N(value, PRECISION_DIGITS + 5))


def _json_number(value) -> dict:
    return {"expr": str(value), "value": float(_num(value))}


@dataclass(frozen=True)
class Extremum:
    """A supremum or infimum and where it is reached.

    Attributes
    ----------
    value : sympy.Expr
        Exact, or a ``Float`` with ``PRECISION_DIGITS`` digits when ``exact`` is False.
    attained : bool
        Whether some real x reaches it.
    at : sympy.Set
        Where it is attained (``EmptySet`` when not attained).
    approached : tuple of str
        Where it is approached without being attained, e.g. ``"x -> oo"``, ``"x -> 0-"``.
    exact : bool
    """

    value: sp.Expr
    attained: bool
    at: sp.Set
    approached: tuple
    exact: bool

    def to_dict(self) -> dict:
        return {**_json_number(self.value), "attained": self.attained, "at": str(self.at),
                "approached": list(self.approached), "exact": self.exact}


@dataclass(frozen=True)
class _Candidate:
    value: sp.Expr
    at: sp.Set
    attained: bool
    approached: str | None
    exact: bool


@lru_cache(maxsize=1024)
def _lambdify(expr: sp.Expr, module: str):
    return sp.lambdify(x, expr, modules=["numpy", "scipy"] if module == "numpy" else module)


def _is_zero(expr: sp.Expr) -> bool:
    return expr == 0 or (not expr.has(x) and sp.simplify(expr) == 0)


def _zeros(expr: sp.Expr, lo, hi) -> tuple[list, bool]:
    """Real zeros of ``expr`` in the open interval (lo, hi) and whether they are exact."""
    try:
        sols = sp.solveset(expr, x, sp.Interval.open(lo, hi))
    except (NotImplementedError, ValueError, TypeError):
        sols = None
    if isinstance(sols, sp.FiniteSet) and all(s.is_real for s in sols):
        return sorted(sols, key=lambda s: float(s)), True
    if sols is sp.EmptySet:
        return [], True
    a = max(float(lo), -_WINDOW) if lo != -sp.oo else -_WINDOW
    b = min(float(hi), _WINDOW) if hi != sp.oo else _WINDOW
    grid = np.linspace(a, b, _GRID)[1:-1]
    f = _lambdify(expr, "numpy")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        vals = np.asarray(f(grid), dtype=float) * np.ones_like(grid)
    # sign changes between consecutive finite non-zero samples (exact zeros in float64 are
    # usually underflow, so they carry no sign)
    keep = np.isfinite(vals) & (vals != 0.0)
    pts, signs = grid[keep], np.sign(vals[keep])
    fm = _lambdify(expr, "mpmath")
    roots = []
    with mpmath.workdps(PRECISION_DIGITS + 5):
        for i in np.flatnonzero(signs[:-1] != signs[1:]):
            r = mpmath.findroot(fm, (mpmath.mpf(pts[i]), mpmath.mpf(pts[i + 1])),
                                solver="anderson")
            roots.append(sp.Float(r, PRECISION_DIGITS))
    return roots, False


def _value_at(expr, point, exact: bool) -> sp.Expr:
    if exact:
        return expr.subs(x, point)
    with mpmath.workdps(PRECISION_DIGITS + 5):
        return sp.Float(_lambdify(expr, "mpmath")(mpmath.mpf(str(point))), PRECISION_DIGITS)


def _sign_on(expr: sp.Expr, lo, hi, zeros: list) -> str:
    """'pos', 'neg', 'zero' or 'mixed': the sign of a non-identically-zero ``expr`` on (lo, hi)
    ignoring isolated zeros (samples between consecutive zeros)."""
    if _is_zero(expr):
        return "zero"
    pts = [_num(z) for z in zeros]
    edges = [_num(lo) if lo != -sp.oo else None, *pts, _num(hi) if hi != sp.oo else None]
    f = _lambdify(expr, "mpmath")
    signs = set()
    with mpmath.workdps(PRECISION_DIGITS + 5):
        for a, b in zip(edges[:-1], edges[1:]):
            if a is None and b is None:
                s = mpmath.mpf(0)
            elif a is None:
                s = b - 1
            elif b is None:
                s = a + 1
            else:
                s = (a + b) / 2
            v = f(s)
            if v > 0:
                signs.add("pos")
            elif v < 0:
                signs.add("neg")
    if len(signs) > 1:
        return "mixed"
    return signs.pop() if signs else "zero"


def _pick(cands: list[_Candidate], best) -> Extremum:
    tol = mpmath.mpf(10) ** (-(PRECISION_DIGITS - 5))
    value = _num(best.value)
    same = [c for c in cands if (_num(c.value) == value) or (
        mpmath.isfinite(value) and abs(_num(c.value) - value) <= tol * max(1, abs(value)))]
    attained = [c for c in same if c.attained]
    exact_ones = [c for c in same if c.exact]
    rep = exact_ones[0] if exact_ones else best
    where = sp.Union(*[c.at for c in attained]) if attained else sp.EmptySet
    approached = () if attained else tuple(sorted({c.approached for c in same if c.approached}))
    return Extremum(rep.value, bool(attained), where, approached, rep.exact)


def _extremes(cands: list[_Candidate]) -> tuple[Extremum, Extremum]:
    lo = min(cands, key=lambda c: _num(c.value))
    hi = max(cands, key=lambda c: _num(c.value))
    return _pick(cands, lo), _pick(cands, hi)


def _piece_candidates(exprs, bps, point_values, crit) -> list[_Candidate]:
    """Candidates for the extremes of a piecewise function with pieces ``exprs``.

    ``point_values[i]`` is the value at ``bps[i]`` (None where undefined); ``crit[i]`` the
    (zeros, exact) of the derivative of piece i, or None where the piece is constant.
    """
    edges = [-sp.oo, *bps, sp.oo]
    out = []
    for i, e in enumerate(exprs):
        lo, hi = edges[i], edges[i + 1]
        if crit[i] is None:
            out.append(_Candidate(e, sp.Interval.open(lo, hi), True, None, True))
            continue
        zeros, exact = crit[i]
        for r in zeros:
            out.append(_Candidate(_value_at(e, r, exact), sp.FiniteSet(r), True, None, exact))
        if lo != -sp.oo:
            out.append(_Candidate(e.subs(x, lo), sp.EmptySet, False,
                                  f"x -> {lo}+", True))
        if hi != sp.oo:
            out.append(_Candidate(e.subs(x, hi), sp.EmptySet, False,
                                  f"x -> {hi}-", True))
    for b, v in zip(bps, point_values):
        if v is not None:
            out.append(_Candidate(v, sp.FiniteSet(b), True, None, True))
    return out


def _smoothness(p: Pieces) -> tuple[str, int | None]:
    order = None
    for i, b in enumerate(p.breakpoints):
        left, right = p.pieces[i], p.pieces[i + 1]
        if _same(left, right) is True:
            continue
        for k in range(12):
            dl = sp.diff(left, x, k).subs(x, b)
            dr = sp.diff(right, x, k).subs(x, b)
            if _same(dl, dr) is not True:
                order = k - 1 if order is None else min(order, k - 1)
                break
    if order is None:
        return "C^inf", None
    return ("discontinuous" if order < 0 else f"C^{order}"), order


def _monotonicity(signs: list[str]) -> str:
    s = set(signs)
    if "mixed" in s or {"pos", "neg"} <= s:
        return "not monotonic"
    if s == {"zero"}:
        return "constant"
    if s == {"pos"}:
        return "increasing"
    if s == {"neg"}:
        return "decreasing"
    return "nondecreasing" if "pos" in s else "nonincreasing"


@dataclass(frozen=True)
class GaussianMoments:
    """``E[f(z)]``, ``E[f(z)²]``, ``E[f'(z)²]`` for ``z ~ N(0, q)``, each exact or numeric.

    ``methods`` maps each field name to ``"exact (sympy)"`` or ``"numeric (mpmath, 30 digits)"``.
    """

    name: str
    q: sp.Expr
    mean: sp.Expr
    second_moment: sp.Expr
    derivative_second_moment: sp.Expr
    methods: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "q": str(self.q), "mean": _json_number(self.mean),
                "second_moment": _json_number(self.second_moment),
                "derivative_second_moment": _json_number(self.derivative_second_moment),
                "methods": dict(self.methods)}


def _poly_exp_terms(expr: sp.Expr) -> list[tuple[sp.Expr, int, sp.Expr]] | None:
    """``expr`` as a sum of ``c * x**k * exp(a*x)`` terms, as ``[(c, k, a), ...]``; None when it
    is not of that form."""
    terms = []
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr)))):
        c, k, a = sp.Integer(1), 0, sp.Integer(0)
        for factor in sp.Mul.make_args(term):
            base, power = (factor.base, factor.exp) if factor.is_Pow else (factor, sp.Integer(1))
            if not factor.has(x):
                c *= factor
            elif base == x and power.is_Integer and power > 0:
                k += int(power)
            elif isinstance(base, sp.exp) and power.is_Integer:
                arg = sp.expand(power * base.args[0])
                slope = arg.coeff(x, 1)
                if sp.expand(arg - slope * x).has(x):
                    return None
                a += slope
                c *= sp.exp(arg - slope * x)
            else:
                return None
        terms.append((c, k, a))
    return terms


def _gauss_poly_integral(k: int, mean: sp.Expr, q: sp.Expr, lo, hi) -> sp.Expr:
    """``∫_lo^hi x**k N(x; mean, q) dx`` exactly, by the recursion
    ``I_k = mean I_{k-1} + q (k-1) I_{k-2} - q [x**(k-1) N(x)]_lo^hi``."""
    sd = sp.sqrt(q)

    def cdf(t):
        return sp.Integer(1) if t == sp.oo else sp.Integer(0) if t == -sp.oo else \
            (1 + sp.erf((t - mean) / (sd * sp.sqrt(2)))) / 2

    def boundary(j):  # [x**j N(x)]_lo^hi; zero at infinite ends
        def at(t):
            if t in (sp.oo, -sp.oo):
                return sp.Integer(0)
            return t**j * sp.exp(-(t - mean) ** 2 / (2 * q)) / (sd * sp.sqrt(2 * sp.pi))
        return at(hi) - at(lo)

    integrals = [cdf(hi) - cdf(lo)]
    for j in range(1, k + 1):
        prev2 = integrals[j - 2] if j >= 2 else sp.Integer(0)
        integrals.append(mean * integrals[j - 1] + q * (j - 1) * prev2 - q * boundary(j - 1))
    return integrals[k]


def _exact_moment(terms, q, lo, hi) -> sp.Expr:
    # c x^k e^{ax} e^{-x²/2q}/sqrt(2πq) = c e^{a²q/2} x^k N(x; aq, q)
    return sum((c * sp.exp(a**2 * q / 2) * _gauss_poly_integral(k, a * q, q, lo, hi)
                for c, k, a in terms), sp.Integer(0))


def _moment(exprs, bps, q) -> tuple[sp.Expr, str]:
    edges = [-sp.oo, *bps, sp.oo]
    decomposed = [_poly_exp_terms(e) for e in exprs]
    if all(t is not None for t in decomposed):
        total = sum((_exact_moment(t, q, lo, hi)
                     for t, lo, hi in zip(decomposed, edges[:-1], edges[1:])), sp.Integer(0))
        return sp.simplify(total), _EXACT
    density = sp.exp(-x**2 / (2 * q)) / sp.sqrt(2 * sp.pi * q)
    # |x| > 40 sqrt(q) carries less than exp(-800) of a polynomially growing integrand: truncate
    cut = 40 * mpmath.sqrt(_num(q))
    total = mpmath.mpf(0)
    with mpmath.workdps(PRECISION_DIGITS + 5):
        for e, lo, hi in zip(exprs, edges[:-1], edges[1:]):
            f = _lambdify(e * density, "mpmath")
            a, b = max(_num(lo), -cut), min(_num(hi), cut)
            if a >= b:
                continue
            inner = [a] + [mpmath.mpf(t) for t in (-8, 0, 8) if a < t < b] + [b]
            total += mpmath.quad(f, inner)
        return sp.Float(total, PRECISION_DIGITS), _NUMERIC


def _check_numeric_params(p: Pieces, func: str) -> None:
    for pname, value in p.params:
        if not value.is_number:
            raise InvalidInputError(f"{func} needs numeric parameters; got {pname}={value}. "
                                    "Substitute a number first.")


@lru_cache(maxsize=256)
def _moments_cached(p: Pieces, q: sp.Expr) -> GaussianMoments:
    _check_numeric_params(p, "gaussian_moments")
    d = [sp.diff(e, x) for e in p.pieces]
    mean, m1 = _moment(p.pieces, p.breakpoints, q)
    second, m2 = _moment([e**2 for e in p.pieces], p.breakpoints, q)
    dsecond, m3 = _moment([e**2 for e in d], p.breakpoints, q)
    return GaussianMoments(p.name, q, mean, second, dsecond,
                           {"mean": m1, "second_moment": m2, "derivative_second_moment": m3})


def _as_number(value):
    """A sympy number for an int, a finite float (read as its decimal) or a sympy expression;
    None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, sp.Expr)):
        return None
    if isinstance(value, float):
        return sp.Rational(repr(value)) if np.isfinite(value) else None
    value = sp.sympify(value)
    return None if value.has(sp.oo, -sp.oo, sp.nan, sp.zoo) else value


def _check_q(q) -> sp.Expr:
    value = _as_number(q)
    if value is None or not value.is_number or value.is_positive is not True:
        raise InvalidInputError(f"The 'q' parameter (pre-activation variance) must be a finite "
                                f"number > 0. Got {q!r} instead.")
    return value


def gaussian_moments(name: str, q=1, **params) -> GaussianMoments:
    """``E[f(z)]``, ``E[f(z)²]`` and ``E[f'(z)²]`` for ``z ~ N(0, q)`` (cached).

    Examples
    --------
    >>> m = gaussian_moments("relu")
    >>> m.mean, m.second_moment, m.derivative_second_moment
    (sqrt(2)/(2*sqrt(pi)), 1/2, 1/2)
    """
    return _moments_cached(pieces(name, **params), _check_q(q))


def gain(name: str, **params) -> sp.Expr:
    """The variance-preserving weight gain ``1/sqrt(E[f(z)²])``, ``z ~ N(0, 1)``.

    With ``W ~ N(0, gain²/fan_in)`` and zero biases, pre-activations keep unit second moment
    from layer to layer (He et al. 2015, "Delving deep into rectifiers", eq. 10: ``√2`` for ReLU).

    Examples
    --------
    >>> gain("relu"), gain("identity")
    (sqrt(2), 1)
    """
    m = gaussian_moments(name, **params).second_moment
    return sp.simplify(1 / sp.sqrt(m)) if m.is_Float is not True else \
        sp.Float(1 / mpmath.sqrt(_num(m)), PRECISION_DIGITS)


def chi(name: str, sigma_w2, q=1, **params) -> sp.Expr:
    """The mean-field gradient factor ``χ = σ_w² E[f'(z)²]``, ``z ~ N(0, q)``, per layer.

    ``sigma_w2`` is the weight variance times fan-in (2 for He init); it may be a sympy symbol.
    Over ``L`` layers the squared gradient norm is predicted to scale as ``χ**L``
    (Schoenholz et al. 2017). ``q`` is the pre-activation variance at which ``f'`` is averaged
    (1 at the variance-preserving gain).

    Examples
    --------
    >>> chi("relu", 2), chi("tanh", 1) < 1
    (1, True)
    """
    s = _as_number(sigma_w2)
    if s is None or s.is_positive is False:
        raise InvalidInputError(f"The 'sigma_w2' parameter of chi must be a finite number > 0 or "
                                f"a sympy expression. Got {sigma_w2!r} instead.")
    return sp.simplify(s * gaussian_moments(name, q=q, **params).derivative_second_moment)


@dataclass(frozen=True)
class Properties:
    """What :func:`properties` derives about one activation (see the module docstring).

    Attributes
    ----------
    name, params, expression, derivative
        The activation, its parameters and its derivative (``nan`` at kinks), as strings.
    range : sympy.Set
        The image of the real line.
    infimum, supremum : Extremum
        Of ``f``.
    monotonicity : str
        "increasing", "nondecreasing", "decreasing", "nonincreasing", "constant", "not monotonic".
    convex, concave : bool
    smoothness : str
        "C^0", "C^1", …, "C^inf": the largest k with ``f`` k times continuously differentiable.
    kinks : tuple of sympy.Expr
        Points where ``f'`` does not exist.
    limits : dict
        ``f`` and ``f'`` at ``±∞`` (keys as in :func:`limits_at_infinity`).
    saturates_left, saturates_right : bool
        Whether ``f' → 0`` as ``x → -∞`` / ``+∞``.
    derivative_infimum, derivative_supremum : Extremum
        Of ``f'`` where it exists.
    sup_abs_derivative : sympy.Expr
        ``sup |f'|`` (the Lipschitz constant).
    sup_abs_derivative_at : sympy.Set
        Where ``|f'|`` attains it (``EmptySet`` if only approached).
    moments : GaussianMoments
        For ``z ~ N(0, 1)``.
    gain, chi_at_gain : sympy.Expr
        ``1/sqrt(E[f²])`` and ``gain² E[f'²]`` (χ at the variance-preserving init).
    methods : dict
        Field → "exact (sympy)" or "numeric (mpmath, 30 digits)".
    """

    name: str
    params: tuple
    expression: str
    derivative: str
    range: sp.Set
    infimum: Extremum
    supremum: Extremum
    monotonicity: str
    convex: bool
    concave: bool
    smoothness: str
    kinks: tuple
    limits: dict
    saturates_left: bool
    saturates_right: bool
    derivative_infimum: Extremum
    derivative_supremum: Extremum
    sup_abs_derivative: sp.Expr
    sup_abs_derivative_at: sp.Set
    moments: GaussianMoments
    gain: sp.Expr
    chi_at_gain: sp.Expr
    methods: dict
    precision_digits: int = PRECISION_DIGITS

    @property
    def expected_value(self) -> sp.Expr:
        """``E[f(z)]``, z ~ N(0, 1)."""
        return self.moments.mean

    @property
    def expected_square(self) -> sp.Expr:
        """``E[f(z)²]``, z ~ N(0, 1)."""
        return self.moments.second_moment

    @property
    def expected_derivative_square(self) -> sp.Expr:
        """``E[f'(z)²]``, z ~ N(0, 1)."""
        return self.moments.derivative_second_moment

    def to_dict(self) -> dict:
        """JSON-ready: every number as ``{"expr": exact string, "value": float}``."""
        return {
            "name": self.name,
            "params": {k: v for k, v in self.params},
            "expression": self.expression,
            "derivative": self.derivative,
            "range": str(self.range),
            "infimum": self.infimum.to_dict(),
            "supremum": self.supremum.to_dict(),
            "bounded_below": bool(mpmath.isfinite(_num(self.infimum.value))),
            "bounded_above": bool(mpmath.isfinite(_num(self.supremum.value))),
            "monotonicity": self.monotonicity,
            "convex": self.convex,
            "concave": self.concave,
            "smoothness": self.smoothness,
            "kinks": [str(k) for k in self.kinks],
            "limits": {k: _json_number(v) for k, v in self.limits.items()},
            "saturates_left": self.saturates_left,
            "saturates_right": self.saturates_right,
            "derivative_infimum": self.derivative_infimum.to_dict(),
            "derivative_supremum": self.derivative_supremum.to_dict(),
            "sup_abs_derivative": _json_number(self.sup_abs_derivative),
            "sup_abs_derivative_at": str(self.sup_abs_derivative_at),
            "moments": self.moments.to_dict(),
            "gain": _json_number(self.gain),
            "chi_at_gain": _json_number(self.chi_at_gain),
            "methods": dict(self.methods),
            "precision_digits": self.precision_digits,
        }


@lru_cache(maxsize=256)
def _properties_cached(p: Pieces) -> Properties:
    _check_numeric_params(p, "properties")
    bps = p.breakpoints
    edges = [-sp.oo, *bps, sp.oo]
    d1 = [sp.diff(e, x) for e in p.pieces]
    d2 = [sp.diff(e, x) for e in d1]
    crit_f, crit_d = [], []
    for e1, e2, lo, hi in zip(d1, d2, edges[:-1], edges[1:]):
        crit_f.append(None if _is_zero(e1) else _zeros(e1, lo, hi))
        crit_d.append(None if _is_zero(e2) else _zeros(e2, lo, hi))
    lim = limits_at_infinity(p.name, **dict(p.params))
    # f: continuous, value at a breakpoint = either one-sided value
    f_values = [sp.simplify(p.pieces[i].subs(x, b)) for i, b in enumerate(bps)]
    cands = _piece_candidates(p.pieces, bps, f_values, crit_f)
    cands += [_Candidate(lim["f(-oo)"], sp.EmptySet, False, "x -> -oo", True),
              _Candidate(lim["f(+oo)"], sp.EmptySet, False, "x -> oo", True)]
    inf_f, sup_f = _extremes(cands)
    # f': undefined at kinks
    d_values = []
    for i in range(len(bps)):
        left, right = _one_sided_at_breakpoint(p, i)
        d_values.append(left if _same(left, right) is True else None)
    dcands = _piece_candidates(d1, bps, d_values, crit_d)
    dcands += [_Candidate(lim["f'(-oo)"], sp.EmptySet, False, "x -> -oo", True),
               _Candidate(lim["f'(+oo)"], sp.EmptySet, False, "x -> oo", True)]
    inf_d, sup_d = _extremes(dcands)
    if _num(sup_d.value) >= -_num(inf_d.value):
        sup_abs, at = sup_d.value, sup_d.at
        if _num(sup_d.value) == -_num(inf_d.value):
            at = sp.Union(at, inf_d.at)
    else:
        sup_abs, at = sp.simplify(-inf_d.value), inf_d.at
    # monotonicity and convexity, piece by piece
    f_signs = [_sign_on(e1, lo, hi, c[0] if c else [])
               for e1, c, lo, hi in zip(d1, crit_f, edges[:-1], edges[1:])]
    dd_signs = [_sign_on(e2, lo, hi, c[0] if c else [])
                for e2, c, lo, hi in zip(d2, crit_d, edges[:-1], edges[1:])]
    jumps = [_num(r - left) for left, r in (_one_sided_at_breakpoint(p, i)
                                            for i in range(len(bps)))]
    convex = all(s in ("pos", "zero") for s in dd_signs) and all(j >= 0 for j in jumps)
    concave = all(s in ("neg", "zero") for s in dd_signs) and all(j <= 0 for j in jumps)
    smooth, _ = _smoothness(p)
    moments = _moments_cached(p, sp.Integer(1))
    g = gain(p.name, **dict(p.params))
    chi_g = sp.simplify(g**2 * moments.derivative_second_moment)
    numeric = any(c is not None and not c[1] for c in crit_f + crit_d)
    methods = {
        "range": _EXACT if inf_f.exact and sup_f.exact else _NUMERIC,
        "sup_abs_derivative": _EXACT if (sup_d.exact and inf_d.exact) else _NUMERIC,
        "critical_points": _NUMERIC if numeric else _EXACT,
        **{f"moments.{k}": v for k, v in moments.methods.items()},
    }
    return Properties(
        name=p.name,
        params=tuple((k, str(v)) for k, v in p.params),
        expression=str(p.expression()),
        derivative=str(derivative(p.name, **dict(p.params))),
        range=sp.Interval(inf_f.value, sup_f.value, not inf_f.attained, not sup_f.attained),
        infimum=inf_f,
        supremum=sup_f,
        monotonicity=_monotonicity(f_signs),
        convex=bool(convex),
        concave=bool(concave),
        smoothness=smooth,
        kinks=kinks(p.name, **dict(p.params)),
        limits=lim,
        saturates_left=bool(lim["f'(-oo)"] == 0),
        saturates_right=bool(lim["f'(+oo)"] == 0),
        derivative_infimum=inf_d,
        derivative_supremum=sup_d,
        sup_abs_derivative=sup_abs,
        sup_abs_derivative_at=at,
        moments=moments,
        gain=g,
        chi_at_gain=chi_g,
        methods=methods,
    )


def properties(name: str, **params) -> Properties:
    """Derive the properties of activation ``name`` (numeric parameters; cached).

    Raises
    ------
    InvalidInputError
        Unknown name or parameter, a parameter out of its domain, or a symbolic parameter.

    Examples
    --------
    >>> p = properties("relu")
    >>> p.range, p.monotonicity, p.convex, p.smoothness, p.kinks
    (Interval(0, oo), 'nondecreasing', True, 'C^0', (0,))
    >>> p.sup_abs_derivative, p.sup_abs_derivative_at
    (1, Interval.open(0, oo))
    >>> properties("tanh").sup_abs_derivative_at
    {0}
    """
    return _properties_cached(pieces(name, **params))
