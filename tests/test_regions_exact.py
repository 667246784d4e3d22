"""The region counters against a slow exact reference in rational arithmetic (fractions.Fraction).

The reference cuts the segment / rectangle exactly: every float weight is a rational number, each
piece carries the exact affine map of the current layer, and a convex polygon is clipped by each
unit's line with Sutherland-Hodgman in Fractions; pieces of zero length or area are dropped.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from _nets import he_net

from reluthe import regions

# ----------------------------------------------------------------------------- exact reference


def _fr(a):
    return [Fraction(float(x)) for x in np.ravel(a)]


def _layers(pairs):
    """Hidden layers as Fraction matrices (the last pair is the output layer, not a pattern)."""
    out = []
    for w, b in pairs[:-1]:
        w = np.asarray(w, dtype=np.float64)
        out.append(([_fr(row) for row in w], _fr(b)))
    return out


def _affine_compose(w, b, A, c):
    """z = W (A t + c) + b as (rows of z's coefficients, z's constants)."""
    zA = [[sum((wi * A[j][k] for j, wi in enumerate(row)), Fraction(0)) for k in range(len(A[0]))]
          for row in w]
    zc = [sum((wi * c[j] for j, wi in enumerate(row)), Fraction(0)) + bi
          for row, bi in zip(w, b)]
    return zA, zc


def exact_line(pairs, start, end):
    """[(t0, t1, pattern)] along ``start + t (end - start)``, t in [0, 1], exactly."""
    start, end = _fr(start), _fr(end)
    A = [[e - s] for s, e in zip(start, end)]
    pieces = [(Fraction(0), Fraction(1), A, start, ())]
    for w, b in _layers(pairs):
        new = []
        for t0, t1, A, c, pat in pieces:
            zA, zc = _affine_compose(w, b, A, c)
            cuts = sorted({-zc[u] / zA[u][0] for u in range(len(w))
                           if zA[u][0] != 0 and t0 < -zc[u] / zA[u][0] < t1})
            bounds = [t0, *cuts, t1]
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                mid = (lo + hi) / 2
                on = tuple(int(zA[u][0] * mid + zc[u] > 0) for u in range(len(w)))
                A2 = [[zA[u][0] if on[u] else Fraction(0)] for u in range(len(w))]
                c2 = [zc[u] if on[u] else Fraction(0) for u in range(len(w))]
                new.append((lo, hi, A2, c2, pat + on))
        pieces = new
    merged = []
    for t0, t1, _, _, pat in pieces:
        if merged and merged[-1][2] == pat:
            merged[-1] = (merged[-1][0], t1, pat)
        else:
            merged.append((t0, t1, pat))
    return merged


def _area(poly):
    n = len(poly)
    return sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
               for i in range(n)) / 2


def _clip(poly, f, sign):
    """The part of a convex polygon where sign * f >= 0 (Sutherland-Hodgman, exact)."""
    out = []
    vals = [sign * f(p) for p in poly]
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp, fq = vals[i], vals[(i + 1) % n]
        if fp >= 0:
            out.append(p)
        if fp * fq < 0:
            s = fp / (fp - fq)
            out.append((p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])))
    return out


def exact_plane(pairs, origin, u, v, extent):
    """[(polygon, pattern, area)] of the slice, exactly (Fraction polygons)."""
    origin, u, v = _fr(origin), _fr(u), _fr(v)
    a0, a1, b0, b1 = (Fraction(float(e)) for e in extent)
    A = [[ui, vi] for ui, vi in zip(u, v)]
    pieces = [([(a0, b0), (a1, b0), (a1, b1), (a0, b1)], A, origin, ())]
    for w, b in _layers(pairs):
        new = []
        for poly, A, c, pat in pieces:
            zA, zc = _affine_compose(w, b, A, c)
            parts = [(poly, ())]
            for k in range(len(w)):
                def f(p, a=zA[k], c=zc[k]):
                    return a[0] * p[0] + a[1] * p[1] + c
                nxt = []
                for part, bits in parts:
                    for sign, bit in ((1, 1), (-1, 0)):
                        piece = _clip(part, f, sign)
                        # "on" needs f > 0 somewhere: a unit with f == 0 on the piece is off
                        on_ok = bit == 0 or any(f(p) > 0 for p in piece)
                        if len(piece) >= 3 and _area(piece) > 0 and on_ok:
                            nxt.append((piece, bits + (bit,)))
                parts = nxt
            for part, bits in parts:
                A2 = [zA[k] if bits[k] else [Fraction(0), Fraction(0)] for k in range(len(w))]
                c2 = [zc[k] if bits[k] else Fraction(0) for k in range(len(w))]
                new.append((part, A2, c2, pat + bits))
        pieces = new
    return [(poly, pat, _area(poly)) for poly, _, _, pat in pieces]


# ----------------------------------------------------------------------------- nets



def _check_plane(pairs, origin=(0.0, 0.0), u=(1.0, 0.0), v=(0.0, 1.0), extent=(-1, 1, -1, 1)):
    ref = exact_plane(pairs, origin, u, v, extent)
    res = regions.count_on_plane(pairs, np.array(origin), np.array(u), np.array(v), extent)
    assert res.count == len(ref)
    got = {tuple(p): a for p, a in zip(res.patterns.tolist(), res.areas)}
    want = {pat: float(area) for _, pat, area in ref}
    assert set(got) == set(want)
    for pat, area in want.items():
        assert got[pat] == pytest.approx(area, rel=1e-7, abs=1e-12)
    return res


def _check_line(pairs, start, end):
    ref = exact_line(pairs, start, end)
    res = regions.count_on_line(pairs, np.array(start), np.array(end))
    assert res.count == len(ref)
    assert [tuple(p) for p in res.patterns.tolist()] == [pat for _, _, pat in ref]
    np.testing.assert_allclose(res.breakpoints, [float(t0) for t0, _, _ in ref[1:]],
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.sizes, [float(t1 - t0) for t0, t1, _ in ref], atol=1e-12)
    return res


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", range(4))
def test_line_matches_exact_reference(seed):
    rng = np.random.default_rng(100 + seed)
    pairs = he_net([3, 12, 12, 12], seed)
    res = _check_line(pairs, rng.uniform(-2, 2, 3), rng.uniform(-2, 2, 3))
    assert res.count >= 2


def test_line_degenerate_breakpoints_coincide():
    # units 0 and 1 vanish at the same t; unit 2 is a zero row; unit 3 is never active
    w1 = np.array([[1.0], [2.0], [0.0], [0.0]])
    b1 = np.array([-0.5, -1.0, 0.0, -1.0])
    w2 = np.array([[1.0, -1.0, 3.0, 5.0], [1.0, 1.0, 0.0, 0.0]])
    b2 = np.array([0.25, -0.75])
    pairs = [(w1, b1), (w2, b2), (np.ones((1, 2)), np.zeros(1))]
    res = _check_line(pairs, [-1.0], [2.0])
    assert res.count == 3


@pytest.mark.parametrize("seed", range(3))
def test_plane_matches_exact_reference(seed):
    res = _check_plane(he_net([2, 8, 8, 8], seed))
    assert res.count > 20


def test_plane_tiny_biases_match_exact_reference():
    """He init with sigma_b = 1e-3: all first-layer lines pass within ~1e-3 of the origin."""
    res = _check_plane(he_net([2, 10, 10], 7, bias_std=1e-3))
    assert res.count > 30


def test_plane_on_an_oblique_slice_of_a_higher_dimensional_net():
    rng = np.random.default_rng(3)
    _check_plane(he_net([4, 8, 6], 11), origin=rng.normal(size=4), u=rng.normal(size=4),
                 v=rng.normal(size=4), extent=(-1.5, 0.5, -1.0, 2.0))


def test_plane_degenerate_geometry_matches_exact_reference():
    """Lines through one point (zero biases, box centre), parallel and coincident lines, a zero
    row, a dead second-layer unit and a line through a box corner."""
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [2.0, 2.0], [1.0, 1.0],
                   [0.0, 0.0], [1.0, 1.0]])
    b1 = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, -2.0])
    w2 = np.array([[1.0, -1.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0],
                   [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0],
                   [0.3, 0.2, -0.1, 0.7, 0.0, -0.4, 0.0, 0.1]])
    b2 = np.array([0.1, -0.5, 0.0])
    pairs = [(w1, b1), (w2, b2), (np.ones((1, 3)), np.zeros(1))]
    res = _check_plane(pairs)
    # units 2 and 4 are the same line: no region is bounded by one without the other
    assert not (res.patterns[:, 2] != res.patterns[:, 4]).any()
    assert res.linear_count <= res.count


@pytest.mark.slow
@pytest.mark.parametrize("widths", [[2, 16, 16, 16], [2, 40, 40]])
def test_plane_matches_exact_reference_on_thousands_of_regions(widths):
    res = _check_plane(he_net(widths, 5))
    assert res.count > 700


@pytest.mark.slow
def test_line_matches_exact_reference_on_a_deep_net():
    rng = np.random.default_rng(9)
    res = _check_line(he_net([5, 40, 40, 40, 40], 9), rng.normal(size=5) * 3,
                      rng.normal(size=5) * 3)
    assert res.count > 30
