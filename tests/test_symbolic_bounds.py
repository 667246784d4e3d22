"""Bounds on linear regions: reference values, identities, hypotheses, symbols."""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from reluthe.errors import InvalidInputError
from reluthe.symbolic import bounds

N = sp.Symbol("n", integer=True, positive=True)
L = sp.Symbol("L", integer=True, positive=True)


def serra_upper_brute(n0, widths):
    """Theorem 1 of Serra et al. (2018) by enumerating J directly."""
    total = 0
    for js in itertools.product(*[range(w + 1) for w in widths]):
        ok, bound = True, n0
        for j, w in zip(js, widths):
            if j > min(bound, w):
                ok = False
                break
            bound = min(bound, w - j)
        if ok:
            total += math.prod(math.comb(w, j) for j, w in zip(js, widths))
    return total


def test_reference_values():
    assert bounds.serra_upper(1, [3, 3, 3]) == 64 == math.prod(n + 1 for n in [3, 3, 3])
    assert bounds.serra_upper(2, [1, 10]) == 12  # bottleneck of width 1
    assert bounds.serra_upper(3, [3, 3]) == 42
    assert bounds.montufar_lower(2, [6, 6]) == 198
    assert bounds.zaslavsky(3, 2) == 7 and bounds.zaslavsky(10, 1) == 11
    assert isinstance(bounds.serra_upper(3, [3, 3]), int)


@pytest.mark.parametrize("n0, widths", [(1, [3, 3, 3]), (2, [1, 10]), (3, [3, 3]),
                                        (2, [4, 2, 5]), (3, [5, 1, 6, 2]), (4, [2, 6, 3])])
def test_serra_dynamic_programme_equals_enumeration(n0, widths):
    assert bounds.serra_upper(n0, widths) == serra_upper_brute(n0, widths)


def test_serra_equals_zaslavsky_for_one_layer():
    for n in range(1, 16):
        for d in range(1, 9):
            assert bounds.serra_upper(d, [n]) == bounds.zaslavsky(n, d)


@settings(max_examples=60, deadline=None)
@given(n0=st.integers(1, 4), widths=st.lists(st.integers(1, 9), min_size=1, max_size=4))
def test_bound_ordering(n0, widths):
    upper = bounds.serra_upper(n0, widths)
    assert upper == serra_upper_brute(n0, widths)
    assert upper <= bounds.raghu_patterns(n0, widths) <= 2 ** sum(widths)
    if all(w >= n0 for w in widths):
        assert bounds.montufar_lower(n0, widths) <= upper
    if all(w >= 3 * n0 for w in widths):
        assert bounds.montufar_lower(n0, widths) <= bounds.serra_lower(n0, widths) <= upper


def test_serra_bounds_are_exact_for_one_input():
    for widths in ([3, 3, 3], [4, 7], [3, 5, 9, 4]):
        assert bounds.serra_lower(1, widths) == bounds.serra_upper(1, widths) == \
            math.prod(w + 1 for w in widths)


def test_deep_beats_shallow_with_the_same_units():
    # Montúfar et al. 2014: exponential in depth vs polynomial for one layer of n*L units
    assert bounds.montufar_lower(1, [4, 4, 4]) == 80 > bounds.zaslavsky(12, 1) == 13
    assert bounds.montufar_lower(2, [8, 8, 8]) == 9472 > bounds.zaslavsky(24, 2) == 301
    # Serra et al. 2018: a narrow first layer caps a deep network below the shallow one
    assert bounds.serra_upper(2, [1, 10]) == 12 < bounds.zaslavsky(11, 2) == 67


def test_hypotheses_and_bad_inputs():
    with pytest.raises(InvalidInputError, match="widths\\[0\\] >= n0 = 3"):
        bounds.montufar_lower(3, [2, 6])
    with pytest.raises(InvalidInputError, match="3 n0 = 6"):
        bounds.serra_lower(2, [5, 6])
    with pytest.raises(InvalidInputError, match="Got 0"):
        bounds.zaslavsky(0, 2)
    with pytest.raises(InvalidInputError, match="Got 2.5"):
        bounds.serra_upper(2, [3, 2.5])
    with pytest.raises(InvalidInputError, match="widths\\[1\\].*Got -1"):
        bounds.serra_upper(1, [3, -1])
    with pytest.raises(InvalidInputError, match="Got True"):
        bounds.zaslavsky(True, 2)
    with pytest.raises(InvalidInputError, match="at least one"):
        bounds.serra_upper(1, [])
    with pytest.raises(InvalidInputError, match="depth="):
        bounds.montufar_lower(1, 4)
    with pytest.raises(InvalidInputError, match="integer=True, positive=True"):
        bounds.zaslavsky(sp.Symbol("m"), 2)
    with pytest.raises(InvalidInputError, match="activation"):
        bounds.raghu_patterns(1, [2], activation="tanh")


def test_symbolic_width():
    assert sp.expand(bounds.zaslavsky(N, 2) - (1 + N + N * (N - 1) / 2)) == 0
    upper = bounds.serra_upper(2, [N + 4, N + 4])
    assert sp.expand(upper - bounds.zaslavsky(N + 4, 2) ** 2) == 0
    for v in range(1, 6):
        assert upper.subs(N, v) == bounds.serra_upper(2, [v + 4, v + 4])
        assert bounds.montufar_lower(2, [N + 2, N + 2]).subs(N, v) == \
            bounds.montufar_lower(2, [v + 2, v + 2])
    with pytest.raises(InvalidInputError, match="cannot decide"):
        bounds.serra_upper(2, [N, N])


def test_symbolic_depth():
    assert bounds.montufar_lower(1, 2, depth=L) == 3 * 2 ** (L - 1)
    for depth in range(1, 5):
        assert bounds.montufar_lower(1, 2, depth=L).subs(L, depth) == \
            bounds.montufar_lower(1, [2] * depth)
        assert bounds.serra_upper(2, 5, depth=L).subs(L, depth) == \
            bounds.serra_upper(2, [5] * depth)
        assert bounds.raghu_patterns(2, 3, depth=L).subs(L, depth) == \
            bounds.raghu_patterns(2, [3] * depth)
    assert bounds.serra_lower(1, N + 3, depth=L) == (N + 4) ** L
    with pytest.raises(InvalidInputError, match="2 n0"):
        bounds.serra_upper(2, 3, depth=L)
    # growth in depth: the deep lower bound overtakes any polynomial in the unit count
    ratio = bounds.montufar_lower(1, 4, depth=L) / bounds.zaslavsky(4 * L, 1)
    assert sp.limit(ratio, L, sp.oo) == sp.oo
