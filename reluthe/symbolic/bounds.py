"""Bounds on the number of linear regions of ReLU networks, exact or symbolic.

Every function takes the input dimension ``n0`` and the hidden widths ``widths = [n_1, …, n_L]``
(the output layer is not counted: it adds no breakpoints). Integers give an exact Python ``int``;
sympy symbols (declared ``integer=True, positive=True``) give a sympy expression, for asymptotics
in width. A scalar width with ``depth=L`` (an int or a symbol) means ``L`` layers of that width, for
asymptotics in depth. A hypothesis of a theorem that fails, or cannot be proved for symbols,
raises :class:`~reluthe.errors.InvalidInputError` naming the value.

Examples
--------
>>> from reluthe.symbolic import bounds
>>> bounds.zaslavsky(3, 2), bounds.serra_upper(3, [3, 3]), bounds.montufar_lower(2, [6, 6])
(7, 42, 198)
>>> import sympy
>>> n = sympy.Symbol("n", integer=True, positive=True)
>>> bounds.zaslavsky(n, 2)
n**2/2 + n/2 + 1
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import sympy as sp

from reluthe.errors import InvalidInputError

__all__ = ["zaslavsky", "montufar_lower", "serra_upper", "serra_lower", "raghu_patterns"]


def _check_count(value, param: str, func: str):
    """A positive integer (as int) or a sympy expression that is provably a positive integer."""
    if isinstance(value, sp.Expr):
        if value.is_Integer:
            value = int(value)
        elif value.is_integer is True and value.is_positive is True:
            return value
        else:
            raise InvalidInputError(
                f"The {param!r} parameter of {func} must be a positive integer or a sympy "
                f"expression declared integer=True, positive=True. Got {value!r} instead.")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a positive integer. "
                                f"Got {value!r} instead.")
    return int(value)


def _layers(widths, depth, func: str) -> list:
    """The list of widths; a scalar width needs ``depth`` (an int here)."""
    if isinstance(widths, (str, bytes)) or not (
            isinstance(widths, Sequence) or isinstance(widths, (numbers.Integral, sp.Expr))):
        raise InvalidInputError(f"The 'widths' parameter of {func} must be a sequence of positive "
                                f"integers (or one width with depth=). Got {widths!r} instead.")
    if isinstance(widths, Sequence):
        if depth is not None:
            raise InvalidInputError(f"{func} takes 'depth' only with a single width. Got "
                                    f"widths={widths!r} and depth={depth!r}.")
        if len(widths) == 0:
            raise InvalidInputError(f"The 'widths' parameter of {func} must hold at least one "
                                    f"hidden layer. Got {widths!r} instead.")
        return [_check_count(w, f"widths[{i}]", func) for i, w in enumerate(widths)]
    if depth is None:
        raise InvalidInputError(f"{func} needs depth= when 'widths' is a single width. Got "
                                f"widths={widths!r}.")
    width = _check_count(widths, "widths", func)
    depth = _check_count(depth, "depth", func)
    return [width] * depth if isinstance(depth, int) else (width, depth)


def _is_symbolic(*values) -> bool:
    return any(isinstance(v, sp.Expr) for v in values)


def _ge(a, b, what: str, func: str) -> None:
    """Require a >= b, provably."""
    ok = (a >= b) if not _is_symbolic(a, b) else sp.sympify(a - b).is_nonnegative
    if ok is not True:
        raise InvalidInputError(f"{func} requires {what}. Got {a} vs {b}"
                                f"{' (not provable for these symbols)' if ok is None else ''}.")


def _binomial_sum(n, k):
    """sum_{i=0}^{k} C(n, i)."""
    if not _is_symbolic(n, k):
        return sum(math.comb(n, i) for i in range(k + 1))
    if isinstance(k, int):
        return sp.expand(sp.expand_func(sum(sp.binomial(n, i) for i in range(k + 1))))
    i = sp.Dummy("i", integer=True, nonnegative=True)
    return sp.Sum(sp.binomial(n, i), (i, 0, k))


def zaslavsky(n, d):
    """Regions of ``n`` hyperplanes in general position in ``R^d``: ``sum_{i=0}^{d} C(n, i)``.

    Zaslavsky (1975), "Facing up to arrangements", Mem. AMS 154; for one hidden ReLU layer of
    ``n`` units on ``R^d`` it is the maximal number of linear regions (Pascanu, Montúfar,
    Bengio 2014, Prop. 5).

    Raises
    ------
    InvalidInputError
        ``n`` or ``d`` not a positive integer.

    Examples
    --------
    >>> zaslavsky(2, 1), zaslavsky(5, 3), zaslavsky(5, 10)
    (3, 26, 32)
    """
    n = _check_count(n, "n", "zaslavsky")
    d = _check_count(d, "d", "zaslavsky")
    return _binomial_sum(n, d)


def montufar_lower(n0, widths, depth=None):
    """Montúfar, Pascanu, Cho, Bengio (2014), "On the number of linear regions of deep neural
    networks" (NeurIPS; arXiv:1402.1869), Theorem 4 in its explicit form (the corollary after
    it): a ReLU network with ``n0`` inputs and hidden widths ``n_l >= n0`` can have at least

    ``(prod_{l=1}^{L-1} floor(n_l / n0)^{n0}) * sum_{j=0}^{n0} C(n_L, j)``

    linear regions.

    Raises
    ------
    InvalidInputError
        A width below ``n0`` (the hypothesis), or a non-positive / non-integer value.

    Examples
    --------
    >>> montufar_lower(2, [6, 6]), montufar_lower(1, [4, 4, 4])
    (198, 80)
    >>> import sympy
    >>> L = sympy.Symbol("L", integer=True, positive=True)
    >>> montufar_lower(1, 2, depth=L)
    3*2**(L - 1)
    """
    func = "montufar_lower"
    n0 = _check_count(n0, "n0", func)
    layers = _layers(widths, depth, func)
    if isinstance(layers, tuple):  # uniform width, symbolic depth
        width, L = layers
        _ge(width, n0, f"every width >= n0 = {n0}", func)
        return sp.powsimp(sp.floor(width / n0) ** (n0 * (L - 1)) * _binomial_sum(width, n0))
    for i, w in enumerate(layers):
        _ge(w, n0, f"widths[{i}] >= n0 = {n0}", func)
    if _is_symbolic(n0, *layers):
        prod = sp.Mul(*[sp.floor(sp.sympify(w) / n0) ** n0 for w in layers[:-1]])
        return prod * _binomial_sum(layers[-1], n0)
    return math.prod((w // n0) ** n0 for w in layers[:-1]) * _binomial_sum(layers[-1], n0)


def serra_upper(n0, widths, depth=None):
    """Serra, Tjandraatmadja, Ramalingam (2018), "Bounding and counting linear regions of deep
    neural networks" (ICML; arXiv:1711.02114), Theorem 1: at most

    ``sum_{(j_1..j_L) in J} prod_{l=1}^{L} C(n_l, j_l)`` linear regions, with
    ``J = {(j_1..j_L): 0 <= j_l <= min(n0, n_1 - j_1, …, n_{l-1} - j_{l-1}, n_l)}``.

    Computed by dynamic programming over the running minimum ``d_l = min(n0, n_1 - j_1, …)``
    (exact integers). With symbols every comparison must be decidable (e.g. widths provably
    ``>= 2 n0``); a symbolic depth needs a uniform width ``>= 2 n0``, where ``J = {0..n0}^L``
    and the bound is ``(sum_{j<=n0} C(n, j))**L``.

    Examples
    --------
    >>> serra_upper(1, [3, 3, 3]), serra_upper(2, [1, 10]), serra_upper(3, [3, 3])
    (64, 12, 42)
    """
    func = "serra_upper"
    n0 = _check_count(n0, "n0", func)
    layers = _layers(widths, depth, func)
    if isinstance(layers, tuple):
        width, L = layers
        _ge(width, 2 * n0, f"a uniform width >= 2 n0 = {2 * n0} for a symbolic depth", func)
        return _binomial_sum(width, n0) ** L
    if _is_symbolic(n0):
        raise InvalidInputError(f"{func} needs an integer n0 (the sum over J has n0-dependent "
                                f"length). Got {n0!r}.")
    symbolic = _is_symbolic(*layers)

    def comb(w, j):
        return sp.binomial(w, j) if symbolic else math.comb(w, j)

    states = {n0: 1}  # running minimum d -> sum of products so far
    for w in layers[:-1]:
        new: dict = {}
        for d, coeff in states.items():
            for j in range(_decided_min(d, w, func) + 1):
                d_next = _decided_min(d, w - j, func)
                new[d_next] = new.get(d_next, 0) + coeff * comb(w, j)
        states = new
    w = layers[-1]  # the last layer's j_L needs no running minimum after it
    total = sum(coeff * sum(comb(w, j) for j in range(_decided_min(d, w, func) + 1))
                for d, coeff in states.items())
    return sp.expand(sp.expand_func(total)) if symbolic else total


def _decided_min(d: int, w, func: str) -> int:
    """min(d, w) for an int d and a width expression w, which must be decidable."""
    if not _is_symbolic(w):
        return min(d, w)
    if sp.sympify(w - d).is_nonnegative:
        return d
    if sp.sympify(w - d).is_negative and w.is_Integer:
        return int(w)
    raise InvalidInputError(f"{func} cannot decide min({d}, {w}) for these symbols; declare "
                            f"widths that are provably >= {d} (e.g. n + {d} with n positive).")


def serra_lower(n0, widths, depth=None):
    """Serra, Tjandraatmadja, Ramalingam (2018), arXiv:1711.02114, Theorem 8 (lower bound):
    with ``n_l >= 3 n0`` for every hidden layer, a ReLU network can have at least

    ``(prod_{l=1}^{L-1} (floor(n_l / n0) + 1)^{n0}) * sum_{j=0}^{n0} C(n_L, j)``

    linear regions (Montúfar et al.'s construction with one more region per folded
    dimension). For ``n0 = 1`` it equals the upper bound :func:`serra_upper`.

    Raises
    ------
    InvalidInputError
        A width below ``3 n0`` (the hypothesis), or a non-positive / non-integer value.

    Examples
    --------
    >>> serra_lower(1, [3, 3, 3]), serra_lower(2, [6, 6])
    (64, 352)
    """
    func = "serra_lower"
    n0 = _check_count(n0, "n0", func)
    layers = _layers(widths, depth, func)
    if isinstance(layers, tuple):
        width, L = layers
        _ge(width, 3 * n0, f"every width >= 3 n0 = {3 * n0}", func)
        return sp.powsimp((sp.floor(width / n0) + 1) ** (n0 * (L - 1))
                          * _binomial_sum(width, n0))
    for i, w in enumerate(layers):
        _ge(w, 3 * n0, f"widths[{i}] >= 3 n0 = {3 * n0}", func)
    if _is_symbolic(n0, *layers):
        prod = sp.Mul(*[(sp.floor(sp.sympify(w) / n0) + 1) ** n0 for w in layers[:-1]])
        return prod * _binomial_sum(layers[-1], n0)
    return math.prod((w // n0 + 1) ** n0 for w in layers[:-1]) * _binomial_sum(layers[-1], n0)


def raghu_patterns(n0, widths, depth=None, activation: str = "relu"):
    """Raghu, Poole, Kleinberg, Ganguli, Sohl-Dickstein (2017), "On the expressive power of deep
    neural networks" (ICML; arXiv:1606.05336), Theorem 1: the number of activation patterns of a
    network with inputs in ``R^m`` (``m = n0``) and ``n`` hidden layers of width ``k`` is
    ``O(k^{mn})`` for ReLU and ``O((2k)^{mn})`` for hard tanh.

    Returned is the explicit bound its proof establishes, layer by layer: each region of the
    previous layers is cut by the current layer's hyperplanes (``k`` for ReLU, ``2k`` for hard
    tanh, two thresholds per unit) into at most ``sum_{i=0}^{m} C(h_l, i)`` pieces, so

    ``patterns <= prod_{l=1}^{L} sum_{i=0}^{n0} C(h_l, i)``, ``h_l = n_l`` or ``2 n_l``,

    which is ``O(k^{mn})`` for fixed ``m``. It also bounds the linear regions, and it is the
    product of :func:`zaslavsky` terms that :func:`serra_upper` improves.

    Examples
    --------
    >>> raghu_patterns(2, [6, 6]), raghu_patterns(1, [3, 3], activation="hardtanh")
    (484, 49)
    """
    func = "raghu_patterns"
    if activation not in ("relu", "hardtanh"):
        raise InvalidInputError(f"The 'activation' parameter of {func} must be one of "
                                f"['hardtanh', 'relu']. Got {activation!r} instead.")
    n0 = _check_count(n0, "n0", func)
    layers = _layers(widths, depth, func)
    factor = 2 if activation == "hardtanh" else 1
    if isinstance(layers, tuple):
        width, L = layers
        return _binomial_sum(factor * width, n0) ** L
    terms = [_binomial_sum(factor * w, n0) for w in layers]
    return sp.Mul(*terms) if _is_symbolic(n0, *layers) else math.prod(terms)
