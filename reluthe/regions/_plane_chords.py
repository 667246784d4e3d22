"""The chords of a layer's splits in every cell of a plane cut, compiled (numba).

A split whose line crosses a convex cell meets its boundary in exactly two of the boundary
points (the points where the split crosses the cell's edges, found once per edge): these are
inserted into the cell's cycle (:func:`insert_points`), paired into chords, one per split, and
the pairs of chords of a cell whose ends interleave along its boundary are the chords that cross
inside it (:func:`chords_and_crossings`). A split meeting a cell's boundary other than twice
means the geometry is not generic (the caller raises
:class:`~reluthe.regions._plane_cut._NotGeneric`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["insert_points", "chords_and_crossings", "stable_order"]

_FEW = 32           # up to this many keys: insertion sort, else merge sort


@njit(cache=True)
def _inserted_size(cycle, entry_edge, edge_count):
    total = cycle.size
    for i in range(cycle.size):
        total += edge_count[entry_edge[i]]
    return total


@njit(cache=True)
def _insert(ptr, cycle, labels, entry_edge, entry_fwd, edge_count, edge_start, b_ids, b_split,
            total):
    n_cells = ptr.size - 1
    cyc2 = np.empty(total, dtype=np.int64)
    lab2 = np.empty(total, dtype=np.int64)
    split = np.empty(total, dtype=np.int64)
    cells2 = np.empty(total, dtype=np.int64)
    ptr2 = np.zeros(n_cells + 1, dtype=np.int64)
    m = 0
    for c in range(n_cells):
        for i in range(ptr[c], ptr[c + 1]):
            cyc2[m], lab2[m], split[m], cells2[m] = cycle[i], labels[i], -1, c
            m += 1
            e = entry_edge[i]
            k, st = edge_count[e], edge_start[e]
            for j in range(k):
                src = st + j if entry_fwd[i] else st + k - 1 - j
                cyc2[m], lab2[m], split[m], cells2[m] = b_ids[src], labels[i], b_split[src], c
                m += 1
        ptr2[c + 1] = m
    return ptr2, cyc2, lab2, split, cells2


def insert_points(ptr, cycle, labels, entry_edge, entry_fwd, edge_count, edge_start, b_ids,
                  b_split, reserve):
    """Insert the boundary points into the cycles. Entry ``i`` of ``cycle`` starts a side on
    edge ``entry_edge[i]``, along it (``entry_fwd[i]``) or against it; the edge's points are
    ``b_ids[edge_start[e]:edge_start[e] + edge_count[e]]`` in order along it, made by splits
    ``b_split``. ``reserve(bytes, what)`` is called before the arrays are made.

    Returns
    -------
    ptr2, cyc2, lab2, point_split, cells2 : ndarray of int
        The new cycles, the label of the side each entry starts (a point keeps its side's), the
        split of the point at every entry (-1: an old vertex) and the cell of every entry.

    Examples
    --------
    A triangle whose first side holds one point:

    >>> ptr2, cyc2, lab2, split, cells2 = insert_points(
    ...     np.array([0, 3]), np.array([0, 1, 2]), np.array([7, 8, 9]), np.array([0, 1, 2]),
    ...     np.array([True, True, False]), np.array([1, 0, 0]), np.array([0, 1, 1]),
    ...     np.array([3]), np.array([5]), lambda n, what: None)
    >>> ptr2.tolist(), cyc2.tolist(), lab2.tolist(), split.tolist()
    ([0, 4], [0, 3, 1, 2], [7, 7, 8, 9], [-1, 5, -1, -1])
    """
    total = int(_inserted_size(cycle, entry_edge, edge_count))
    reserve(8 * (4 * total + ptr.size), "the boundaries of the cut cells")
    return _insert(ptr, cycle, labels, entry_edge, entry_fwd, edge_count, edge_start, b_ids,
                   b_split, total)


@njit(cache=True)
def stable_order(key: np.ndarray, lo: int, hi: int, order: np.ndarray):
    """Write into ``order[:hi - lo]`` the positions ``lo..hi - 1`` sorted by ``key``, ties in
    position order (insertion sort for up to ``_FEW``, else merge sort).

    Examples
    --------
    >>> order = np.empty(4, dtype=np.int64)
    >>> stable_order(np.array([9.0, 2.0, 1.0, 2.0, 0.0]), 1, 5, order)
    >>> order.tolist()
    [4, 2, 1, 3]
    """
    m = hi - lo
    if m > _FEW:
        order[:m] = lo + np.argsort(key[lo:hi], kind="mergesort")
        return
    for i in range(m):
        h = i - 1
        while h >= 0 and key[order[h]] > key[lo + i]:
            order[h + 1] = order[h]
            h -= 1
        order[h + 1] = lo + i


@njit(cache=True)
def _chords(ptr2, split):
    """Chords per cell, sorted by split: (cell, split, first slot, second slot, ok)."""
    n_points = 0
    for q in range(split.size):
        if split[q] >= 0:
            n_points += 1
    CH = n_points // 2
    ch_cell = np.empty(CH, dtype=np.int64)
    ch_split = np.empty(CH, dtype=np.int64)
    ch_lo = np.empty(CH, dtype=np.int64)
    ch_hi = np.empty(CH, dtype=np.int64)
    if n_points % 2:
        return ch_cell, ch_split, ch_lo, ch_hi, False
    key = np.empty(split.size, dtype=np.int64)
    slot = np.empty(split.size, dtype=np.int64)
    order = np.empty(split.size, dtype=np.int64)
    n = 0
    for c in range(ptr2.size - 1):
        m = 0
        for q in range(ptr2[c], ptr2[c + 1]):         # the cell's points, in slot order
            if split[q] >= 0:
                key[m], slot[m] = split[q], q
                m += 1
        if m % 2:
            return ch_cell, ch_split, ch_lo, ch_hi, False
        stable_order(key, 0, m, order)                # by split; slots rise in a split
        for i in range(0, m, 2):
            a, b = order[i], order[i + 1]
            if key[a] != key[b] or (i >= 2 and key[a] == key[order[i - 1]]):
                return ch_cell, ch_split, ch_lo, ch_hi, False
            ch_cell[n], ch_split[n], ch_lo[n], ch_hi[n] = c, key[a], slot[a], slot[b]
            n += 1
    return ch_cell, ch_split, ch_lo, ch_hi, True


@njit(cache=True)
def _pairs(ch_cell, lo, hi, fill, I, J, lo_j_in, lo_i_in):
    """Count (``fill`` False) or record the pairs of chords of one cell that cross."""
    CH = ch_cell.size
    n = 0
    c0 = 0
    while c0 < CH:
        c1 = c0
        while c1 < CH and ch_cell[c1] == ch_cell[c0]:
            c1 += 1
        for i in range(c0, c1):
            for j in range(i + 1, c1):
                a = lo[i] < lo[j] and lo[j] < hi[i]
                if a != (lo[i] < hi[j] and hi[j] < hi[i]):
                    if fill:
                        I[n], J[n], lo_j_in[n] = i, j, a
                        lo_i_in[n] = lo[j] < lo[i] and lo[i] < hi[j]
                    n += 1
        c0 = c1
    return n


def chords_and_crossings(ptr2, point_split, reserve):
    """The chords of the cells and the pairs of them that cross.

    Parameters
    ----------
    ptr2, point_split : ndarray of int
        The cycles with the boundary points inserted and the split of the point at every entry
        (:func:`insert_points`).
    reserve : callable
        ``reserve(bytes, what)``, called before the pairs' arrays are made.

    Returns
    -------
    chords : (ch_cell, ch_split, ch_lo_x, ch_hi_x) or None
        Every chord's cell, split and the slots of its first and second end, sorted by cell
        then split; None where a split meets a cell's boundary other than twice.
    crossings : (I, J, lo_j_in, lo_i_in)
        Pairs ``I < J`` of chords of one cell whose ends interleave, whether ``J``'s first end
        lies between ``I``'s ends, and ``I``'s first end between ``J``'s.

    Examples
    --------
    The two chords of a square's cross:

    >>> chords, (I, J, a, b) = chords_and_crossings(
    ...     np.array([0, 8]), np.array([-1, 0, -1, 1, -1, 0, -1, 1]), lambda n, what: None)
    >>> [c.tolist() for c in chords], I.tolist(), J.tolist(), a.tolist(), b.tolist()
    ([[0, 0], [0, 1], [1, 3], [5, 7]], [0], [1], [True], [False])
    """
    ch_cell, ch_split, lo, hi, ok = _chords(ptr2, point_split)
    if not ok:
        return None, None
    none = np.zeros(0, dtype=np.int64)
    flags = np.zeros(0, dtype=np.bool_)
    n = int(_pairs(ch_cell, lo, hi, False, none, none, flags, flags))
    reserve(8 * 6 * n, "the crossings of the chords")
    I, J = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    lo_j_in, lo_i_in = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    _pairs(ch_cell, lo, hi, True, I, J, lo_j_in, lo_i_in)
    return (ch_cell, ch_split, lo, hi), (I, J, lo_j_in, lo_i_in)
