"""A layer's values at the new vertices of a plane cut, compiled (numba).

A new vertex lies on a segment between two vertices whose pre-activations are known:
:func:`blend` interpolates whole rows in one pass (``A[ia] + t (B[ib] - A[ia])``, the same
operations as numpy's). :func:`signs_and_nearest` reads a layer's splits off such rows in one
pass: the packed signs (bit set where a split's value is > 0, as :func:`numpy.packbits`) and
every split's smallest ``|value|`` over the vertices that are not on its line.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["blend", "signs_and_nearest"]


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
