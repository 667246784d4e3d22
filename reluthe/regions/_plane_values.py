"""A layer's values at the new vertices of a plane cut, compiled (numba).

A new vertex lies on a segment between two vertices whose pre-activations are known:
:func:`blend` interpolates whole rows in one pass (``A[ia] + t (B[ib] - A[ia])``, the same
operations as numpy's). :func:`signs_and_nearest` reads a layer's splits off such rows in one
pass: the packed signs (bit set where a split's value is > 0, as :func:`numpy.packbits`) and
every split's smallest ``|value|`` over the vertices that are not on its line.
:func:`cell_rows` reads the states of the new cells off the signs at their vertices, and
:func:`split_values` gives single splits' values at old vertices and boundary points, and
:func:`column_range` a layer's range of values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["blend", "signs_and_nearest", "cell_rows", "split_values", "column_range"]


@njit(cache=True)
def blend(A: np.ndarray, ia: np.ndarray, B: np.ndarray, ib: np.ndarray,
          t: np.ndarray) -> np.ndarray:
    """Rows ``A[ia[k]] + t[k] * (B[ib[k]] - A[ia[k]])``.

    Examples
    --------
    >>> Z = np.array([[0.0, 2.0], [4.0, -2.0]])
    >>> blend(Z, np.array([0]), Z, np.array([1]), np.array([0.25])).tolist()
    [[1.0, 1.0]]
    """
    n, w = ia.size, A.shape[1]
    out = np.empty((n, w))
    for k in range(n):
        for j in range(w):
            za = A[ia[k], j]
            out[k, j] = za + t[k] * (B[ib[k], j] - za)
    return out


@njit(cache=True)
def signs_and_nearest(rows: np.ndarray, unit: np.ndarray, bp: np.ndarray, plain: bool,
                      own: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Packed signs of the splits (values ``rows[:, unit] - bp``; ``rows[:, :S]`` when
    ``plain``) at every row, and ``nearest`` lowered in place to every split's smallest
    ``|value|`` over the rows, leaving out row ``k``'s own splits ``own[k]`` (-1: none).

    Examples
    --------
    >>> rows = np.array([[0.0, -3.0], [2.0, 1.0]])
    >>> near = np.full(2, np.inf)
    >>> signs = signs_and_nearest(rows, np.arange(2), np.zeros(2), True,
    ...                           np.array([[0], [-1]]), near)
    >>> signs.tolist(), near.tolist()
    ([[0], [192]], [2.0, 1.0])
    """
    n, S = rows.shape[0], unit.size
    nbytes = (S + 7) // 8
    signs = np.zeros((n, nbytes), dtype=np.uint8)
    m = own.shape[1]
    saved = np.empty(m)
    for k in range(n):
        for j in range(m):                     # a row's own splits are left out: restored
            if own[k, j] >= 0:                 # after the row
                saved[j] = nearest[own[k, j]]
        for b in range(nbytes):
            byte = 0
            for bit in range(min(8, S - 8 * b)):
                s = 8 * b + bit
                v = rows[k, s] if plain else rows[k, unit[s]] - bp[s]
                byte |= (v > 0) << (7 - bit)
                nearest[s] = min(nearest[s], abs(v))
            signs[k, b] = byte
        for j in range(m):
            if own[k, j] >= 0:
                nearest[own[k, j]] = saved[j]
    return signs


@njit(cache=True)
def _cell_rows(rows, parent, s0, s1, s2, ptr, cycle):
    n, old = ptr.size - 1, rows.shape[1]
    nbytes = s0.shape[1]
    n0, n1 = s0.shape[0], s0.shape[0] + s1.shape[0]
    out = np.empty((n, old + nbytes), dtype=np.uint8)
    for c in range(n):
        p = parent[c]
        for b in range(old):
            out[c, b] = rows[p, b]
        for b in range(nbytes):
            acc = 0
            for i in range(ptr[c], ptr[c] + 3):
                v = cycle[i]
                if v < n0:
                    acc |= s0[v, b]
                elif v < n1:
                    acc |= s1[v - n0, b]
                else:
                    acc |= s2[v - n1, b]
            out[c, old + b] = acc
    return out


def cell_rows(rows: np.ndarray, parent: np.ndarray, signs: list[np.ndarray], ptr: np.ndarray,
              cycle: np.ndarray) -> np.ndarray:
    """The packed states of the new cells: the row of the parent cell, then the layer's splits,
    on where the split's value is > 0 at one of the cell's first three vertices (at most two of
    them lie on the split's line, where the value is exactly 0; the others are on the cell's
    side). ``signs``: the packed signs of the vertices, in one to three consecutive blocks.

    Examples
    --------
    >>> signs = [np.array([[0b10000000], [0], [0]], dtype=np.uint8)]
    >>> cell_rows(np.array([[7]], dtype=np.uint8), np.array([0, 0]), signs,
    ...           np.array([0, 3, 6]), np.array([0, 1, 2, 1, 2, 0])).tolist()
    [[7, 128], [7, 128]]
    """
    blocks = list(signs) + [signs[0][:0]] * (3 - len(signs))
    return _cell_rows(rows, parent, *blocks, ptr, cycle)


@njit(cache=True)
def split_values(Z: np.ndarray, b_a: np.ndarray, b_b: np.ndarray, b_t: np.ndarray,
                 unit: np.ndarray, bp: np.ndarray, vid: np.ndarray,
                 s: np.ndarray) -> np.ndarray:
    """Values ``z_unit - breakpoint`` of splits ``s`` at vertices ``vid`` (elementwise): an old
    vertex (``vid < Z.shape[0]``) or boundary point ``k = vid - Z.shape[0]`` on the segment
    ``b_a[k]``, ``b_b[k]`` at ``b_t[k]``.

    Examples
    --------
    >>> Z = np.array([[0.0], [4.0]])
    >>> split_values(Z, np.array([0]), np.array([1]), np.array([0.25]), np.zeros(1, np.int64),
    ...              np.array([1.0]), np.array([1, 2]), np.array([0, 0])).tolist()
    [3.0, 0.0]
    """
    V0 = Z.shape[0]
    out = np.empty(vid.size)
    for k in range(vid.size):
        u, v = unit[s[k]], vid[k]
        if v < V0:
            z = Z[v, u]
        else:
            j = v - V0
            za = Z[b_a[j], u]
            z = za + b_t[j] * (Z[b_b[j], u] - za)
        out[k] = z - bp[s[k]]
    return out


@njit(cache=True)
def column_range(Z: np.ndarray):
    """The largest and the smallest value of every column of ``Z`` in one pass (NaN where a
    column holds one, as numpy's ``max`` and ``min``).

    Examples
    --------
    >>> top, bottom = column_range(np.array([[1.0, -2.0], [3.0, np.nan]]))
    >>> top.tolist(), bottom[0].item(), bool(np.isnan(bottom[1]))
    ([3.0, nan], 1.0, True)
    """
    n, w = Z.shape
    top = np.full(w, -np.inf)
    bottom = np.full(w, np.inf)
    for k in range(n):
        for j in range(w):
            v = Z[k, j]
            if v > top[j] or v != v:
                top[j] = v
            if v < bottom[j] or v != v:
                bottom[j] = v
    return top, bottom
