"""The edges of a set of polygons, the points where a layer's splits cross them, and the
polygons' areas, compiled (numba).

:func:`edges_of_cycles` numbers the distinct edges of counter-clockwise vertex cycles (an edge
of two cells appears twice, once each way) with a hash table: one pass, in order of first
appearance, instead of a sort of all sides. :func:`edge_crossings` lists, edge by edge, the
splits whose values have strictly opposite signs at the two ends, at the parameter found by
interpolation along the edge, sorted by it (ties keep the splits' order).
:func:`polygon_areas` is the shoelace formula, polygon by polygon; :func:`edge_cells` gives
the cells on either side of every edge and :func:`cell_points` a point inside every cell.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["edges_of_cycles", "count_crossings", "edge_crossings", "polygon_areas", "edge_cells",
           "cell_points"]

_EMPTY_SLOT = -1
_GOLDEN = -7046029254386353131      # 0x9E3779B97F4A7C15 as an int64: Fibonacci hashing


@njit(cache=True)
def _edge_table(a, b, V):
    n = a.size
    size = 16
    while size < 2 * n:
        size *= 2
    mask = size - 1
    table = np.full(size, _EMPTY_SLOT, dtype=np.int64)
    keys = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    n_edges = 0
    for i in range(n):
        lo, hi = min(a[i], b[i]), max(a[i], b[i])
        key = lo * V + hi
        h = key * _GOLDEN                 # wraps around in int64
        h = (h ^ (h >> 29)) & mask
        while True:
            e = table[h]
            if e == _EMPTY_SLOT:
                table[h] = n_edges
                keys[n_edges] = key
                first[n_edges] = i
                inverse[i] = n_edges
                n_edges += 1
                break
            if keys[e] == key:
                inverse[i] = e
                break
            h = (h + 1) & mask
    return keys[:n_edges], first[:n_edges], inverse


def edges_of_cycles(a: np.ndarray, b: np.ndarray, V: int):
    """The distinct edges ``{a[i], b[i]}`` (vertex ids below ``V``), numbered in order of first
    appearance.

    Returns
    -------
    e0, e1 : ndarray of int
        The ends of every edge, ``e0 < e1``.
    first : ndarray of int
        The first ``i`` on every edge.
    inverse : ndarray of int
        The edge of every ``i``.

    Examples
    --------
    >>> e0, e1, first, inverse = edges_of_cycles(np.array([0, 1, 2, 1]), np.array([1, 2, 0, 0]), 3)
    >>> e0.tolist(), e1.tolist(), first.tolist(), inverse.tolist()
    ([0, 1, 0], [1, 2, 2], [0, 1, 2], [0, 1, 2, 0])
    """
    keys, first, inverse = _edge_table(np.ascontiguousarray(a, dtype=np.int64),
                                       np.ascontiguousarray(b, dtype=np.int64), int(V))
    return keys // V, keys % V, first, inverse


@njit(cache=True)
def count_crossings(signs: np.ndarray, ea: np.ndarray, eb: np.ndarray) -> int:
    """The number of (edge, split) pairs whose packed signs differ at the edge's ends (the size
    of :func:`edge_crossings`' arrays).

    Examples
    --------
    >>> count_crossings(np.array([[0b10100000], [0b01100000]], dtype=np.uint8),
    ...                 np.array([0]), np.array([1]))
    2
    """
    n, nbytes = ea.size, signs.shape[1]
    total = 0
    for e in range(n):
        for k in range(nbytes):
            x = np.int64(signs[ea[e], k] ^ signs[eb[e], k])
            while x:
                total += 1
                x &= x - 1
    return total


@njit(cache=True)
def _crossings(signs, ea, eb, S, Z, unit, bp, total):
    """(edge, split, t) of every crossing, sorted by edge then t (stable)."""
    nbytes = signs.shape[1]
    out_e = np.empty(total, dtype=np.int64)
    out_s = np.empty(total, dtype=np.int64)
    out_t = np.empty(total)
    m = 0
    for e in range(ea.size):
        lo = m
        for k in range(nbytes):
            x = np.int64(signs[ea[e], k] ^ signs[eb[e], k])
            if x == 0:                            # most bytes: no split crosses
                continue
            for bit in range(8):
                if x & (0x80 >> bit):
                    s = 8 * k + bit
                    if s < S:
                        u = unit[s]
                        da = Z[ea[e], u] - bp[s]
                        db = Z[eb[e], u] - bp[s]
                        t = da / (da - db)
                        h = m - 1                 # insertion, stable in t
                        while h >= lo and out_t[h] > t:
                            out_s[h + 1], out_t[h + 1] = out_s[h], out_t[h]
                            h -= 1
                        out_s[h + 1], out_t[h + 1] = s, t
                        out_e[m] = e
                        m += 1
    return out_e[:m], out_s[:m], out_t[:m]


def edge_crossings(signs: np.ndarray, ea: np.ndarray, eb: np.ndarray, S: int, Z: np.ndarray,
                   unit: np.ndarray, bp: np.ndarray, total: int):
    """(edge, split, t) of every split whose line crosses an edge: its ends' packed signs
    ``signs`` (bit set where a split's value is > 0, as :func:`numpy.packbits`) differ; ``t``
    from the split's values ``Z[:, unit] - bp`` at the ends (old vertices), sorted by edge then
    ``t``; ``total``: their number (:func:`count_crossings`).

    Examples
    --------
    >>> Z = np.array([[-1.0], [3.0]])
    >>> signs = np.packbits(Z > 0, axis=1)
    >>> ea, eb = np.array([0]), np.array([1])
    >>> edge_crossings(signs, ea, eb, 1, Z, np.array([0]), np.zeros(1), 1)
    (array([0]), array([0]), array([0.25]))
    """
    return _crossings(signs, ea, eb, S, Z, unit, bp, total)


@njit(cache=True)
def polygon_areas(X, ptr, cycle):
    """Areas of the counter-clockwise polygons ``cycle[ptr[i]:ptr[i + 1]]`` (vertex ids into
    ``X``): the shoelace formula from each polygon's first vertex.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    >>> polygon_areas(X, np.array([0, 3, 6]), np.array([0, 1, 2, 0, 2, 3])).tolist()
    [1.0, 1.0]
    """
    n = ptr.size - 1
    out = np.empty(n)
    for i in range(n):
        lo, hi = ptr[i], ptr[i + 1]
        x0, y0 = X[cycle[lo], 0], X[cycle[lo], 1]
        acc = 0.0
        for j in range(lo, hi):
            k = j + 1 if j + 1 < hi else lo
            ax, ay = X[cycle[j], 0] - x0, X[cycle[j], 1] - y0
            bx, by = X[cycle[k], 0] - x0, X[cycle[k], 1] - y0
            acc += ax * by - ay * bx
        out[i] = 0.5 * acc
    return out


@njit(cache=True)
def _edge_cells(inverse, cells, n_edges):
    ca = np.full(n_edges, -1, dtype=np.int64)
    cb = np.full(n_edges, -1, dtype=np.int64)
    for i in range(inverse.size):
        e = inverse[i]
        if ca[e] < 0:
            ca[e] = cells[i]
        elif cb[e] < 0:
            cb[e] = cells[i]
        else:
            return ca, cb, False
    return ca, cb, True


def edge_cells(inverse: np.ndarray, cells: np.ndarray, n_edges: int):
    """The cells on either side of every edge, from the edge ``inverse[i]`` and cell
    ``cells[i]`` of every side: (first cell, second cell or -1 on the domain's boundary).

    Examples
    --------
    >>> edge_cells(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]), 3)
    (array([0, 0, 1]), array([-1,  1, -1]))
    """
    ca, cb, ok = _edge_cells(inverse, cells, n_edges)
    if not ok:
        raise RuntimeError("internal error: a facet bounds more than two cells")
    return ca, cb


@njit(cache=True)
def cell_points(X, ptr, e0, e1, inverse):
    """A point inside every convex cell: the mean of its sides' midpoints (sides
    ``ptr[i]:ptr[i + 1]`` on edges ``inverse``, with ends ``e0``, ``e1``), summed in cycle
    order as :func:`~reluthe.regions._engine.face_points` does.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    >>> cell_points(X, np.array([0, 4]), np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]),
    ...             np.arange(4)).tolist()
    [[1.0, 1.0]]
    """
    n = ptr.size - 1
    out = np.empty((n, 2))
    for c in range(n):
        for j in range(2):
            acc = 0.0
            for i in range(ptr[c], ptr[c + 1]):
                e = inverse[i]
                acc += 0.5 * (X[e0[e], j] + X[e1[e], j])
            out[c, j] = acc / (ptr[c + 1] - ptr[c])
    return out
