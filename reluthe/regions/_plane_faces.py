"""The faces of the chord arrangement in every cell of a plane cut, compiled (numba).

:func:`~reluthe.regions._plane_cut._layer_cut` finds, in every convex cell, the chords that a
layer's splits make (both ends on the cell's boundary, already inserted in its cycle) and where
two chords cross. This module orders the vertices along every chord and traces the faces, one
cell at a time, in one compiled pass:

- **Along a chord**: its first end, the crossings on it sorted by their parameter, its second
  end; the parameters must rise strictly from 0 to 1, else the geometry is not generic.
- **Faces**, traced with the face on the left: along the boundary, turn into a chord where one
  starts; at a chord's end, follow the boundary; at a crossing, turn left, which is onto the
  other chord forwards or backwards as the crossing's flag says (the boundary arc from a chord's
  first end to its second lies on its right). The steps must form a permutation of the cell's
  half-edges (every half-edge on exactly one face of its own cell).

Faces are numbered cell by cell; in a cell, by the first of its half-edges on them (boundary
pieces in cycle order, then forward chord pieces, then backward ones), and each face lists its
half-edges from that one on. The result is the new cycles: the vertex each half-edge starts at,
its label (the split of a chord piece, the old label of a boundary piece) and the parent cell of
every face. ``ok`` is False where the geometry is not generic (the caller raises
:class:`~reluthe.regions._plane_cut._NotGeneric`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reluthe.regions._plane_chords import stable_order

__all__ = ["trace_faces"]


@njit(cache=True)
def _chord_entries(CH, NI, I, J, u_i, u_j, lo_j_in, lo_i_in, P, Q, i_ids):
    """Entries of every chord in order along it: (start of each chord's entries, along, vertex,
    flag, mate, chord of every entry, ok)."""
    count = np.full(CH, 2, dtype=np.int64)
    for k in range(NI):
        count[I[k]] += 1
        count[J[k]] += 1
    start = np.zeros(CH + 1, dtype=np.int64)
    for c in range(CH):
        start[c + 1] = start[c] + count[c]
    CE = start[CH]
    along0 = np.empty(CE)                         # the entries chord by chord, unsorted
    vert0 = np.empty(CE, dtype=np.int64)
    flag0 = np.zeros(CE, dtype=np.bool_)
    kind0 = np.full(CE, -1, dtype=np.int64)       # crossing k: 2k (on I) or 2k + 1 (on J)
    fill = start[:CH].copy()
    for c in range(CH):                           # first ends, last ends: the order of the
        along0[fill[c]] = 0.0                     # numpy engine's stable sort
        vert0[fill[c]] = P[c]
        fill[c] += 1
    for c in range(CH):
        along0[fill[c]] = 1.0
        vert0[fill[c]] = Q[c]
        fill[c] += 1
    for k in range(NI):
        g = fill[I[k]]
        along0[g], vert0[g], flag0[g], kind0[g] = u_i[k], i_ids[k], lo_j_in[k], 2 * k
        fill[I[k]] += 1
    for k in range(NI):
        g = fill[J[k]]
        along0[g], vert0[g], flag0[g], kind0[g] = u_j[k], i_ids[k], lo_i_in[k], 2 * k + 1
        fill[J[k]] += 1
    along = np.empty(CE)                          # the same, sorted along every chord
    vert = np.empty(CE, dtype=np.int64)
    flag = np.empty(CE, dtype=np.bool_)
    kind = np.empty(CE, dtype=np.int64)
    other = np.full(CE, -1, dtype=np.int64)       # the crossing's entry on the other chord
    chord = np.empty(CE, dtype=np.int64)
    order = np.empty(CE, dtype=np.int64)
    ok = True
    for c in range(CH):
        lo, hi = start[c], start[c + 1]
        stable_order(along0, lo, hi, order)
        for i in range(hi - lo):
            g, src = lo + i, order[i]
            along[g], vert[g], flag[g], kind[g] = along0[src], vert0[src], flag0[src], kind0[src]
            chord[g] = c
            if i > 0 and not along[g] > along[g - 1]:
                ok = False
        if vert[lo] != P[c] or kind[lo] != -1 or vert[hi - 1] != Q[c] or kind[hi - 1] != -1:
            ok = False
    where = np.empty(2 * NI, dtype=np.int64)
    for g in range(CE):
        if kind[g] >= 0:
            where[kind[g]] = g
    for k in range(NI):
        other[where[2 * k]] = where[2 * k + 1]
        other[where[2 * k + 1]] = where[2 * k]
    return start, vert, flag, other, chord, ok


@njit(cache=True)
def _next_steps(L2, ptr2, cells2, point_split, slot_chord, slot_first, ch_lo_x, ch_hi_x,
                start, flag, other, chord):
    """The next half-edge of every half-edge (ids: boundary slot q, forward piece L2 + g,
    backward piece L2 + CE + g; -1 for the pieces that do not exist)."""
    CH = ch_lo_x.size
    CE = start[CH]
    nxt = np.full(L2 + 2 * CE, -1, dtype=np.int64)
    for q in range(L2):
        cell = cells2[q]
        q2 = q + 1 if q + 1 < ptr2[cell + 1] else ptr2[cell]
        if point_split[q2] >= 0:
            c = slot_chord[q2]
            nxt[q] = L2 + start[c] if slot_first[q2] else L2 + CE + start[c + 1] - 1
        else:
            nxt[q] = q2
    for g in range(CE):
        c = chord[g]
        if g + 1 < start[c + 1]:                  # forward piece g -> g + 1
            a = g + 1
            if a == start[c + 1] - 1:
                nxt[L2 + g] = ch_hi_x[c]
            else:
                nxt[L2 + g] = L2 + other[a] if flag[a] else L2 + CE + other[a]
        if g > start[c]:                          # backward piece g -> g - 1
            a = g - 1
            if a == start[c]:
                nxt[L2 + CE + g] = ch_lo_x[c]
            else:
                nxt[L2 + CE + g] = L2 + CE + other[a] if flag[a] else L2 + other[a]
    return nxt


@njit(cache=True)
def _trace(L2, ptr2, cyc2, lab2, ch_cell, ch_split, label0, start, vert, chord, nxt):
    """Faces as cycles of ``nxt``, cell by cell: (face ptr, origin, label, parent, ok)."""
    n_cells = ptr2.size - 1
    CH = ch_cell.size
    CE = start[CH]
    H = L2 + 2 * (CE - CH)
    seen = np.zeros(nxt.size, dtype=np.bool_)
    origin = np.empty(H, dtype=np.int64)
    label = np.empty(H, dtype=np.int64)
    fptr = np.zeros(H + 1, dtype=np.int64)
    parent = np.empty(H, dtype=np.int64)
    ids = np.empty(H, dtype=np.int64)
    n_out = 0
    n_faces = 0
    c0 = 0
    for cell in range(n_cells):
        c1 = c0
        while c1 < CH and ch_cell[c1] == cell:
            c1 += 1
        # the cell's half-edges in order: boundary, forward pieces, backward pieces
        m = 0
        for q in range(ptr2[cell], ptr2[cell + 1]):
            ids[m] = q
            m += 1
        for g in range(start[c0], start[c1]):
            if g + 1 < start[chord[g] + 1]:
                ids[m] = L2 + g
                m += 1
        for g in range(start[c0], start[c1]):
            if g > start[chord[g]]:
                ids[m] = L2 + CE + g
                m += 1
        for i in range(m):
            h = ids[i]
            if seen[h]:
                continue
            while True:
                if h < 0 or seen[h]:
                    return fptr, origin, label, parent, 0, False
                # h must belong to this cell
                if h < L2:
                    if h < ptr2[cell] or h >= ptr2[cell + 1]:
                        return fptr, origin, label, parent, 0, False
                    origin[n_out] = cyc2[h]
                    label[n_out] = lab2[h]
                else:
                    g = h - L2 if h < L2 + CE else h - L2 - CE
                    if chord[g] < c0 or chord[g] >= c1:
                        return fptr, origin, label, parent, 0, False
                    origin[n_out] = vert[g]
                    label[n_out] = label0 + ch_split[chord[g]]
                seen[h] = True
                n_out += 1
                h = nxt[h]
                if h == ids[i]:
                    break
            parent[n_faces] = cell
            n_faces += 1
            fptr[n_faces] = n_out
        c0 = c1
    return fptr, origin, label, parent, n_faces, n_out == H


def trace_faces(ptr2, cyc2, lab2, cells2, point_split, chords, crossings, label0: int):
    """The new cells of one layer's cut (see the module docstring).

    Parameters
    ----------
    ptr2, cyc2, lab2, cells2, point_split : ndarray of int
        The cells' cycles with the boundary points inserted: cycle pointers, vertex ids, labels
        of the sides that start there, cell of every entry, the split of the point there (-1:
        an old vertex).
    chords : (ch_cell, ch_split, ch_lo_x, ch_hi_x)
        Every chord's cell, split and the slots of its first and second end, sorted by cell then
        split.
    crossings : (I, J, u_i, u_j, lo_j_in, lo_i_in, i_ids)
        Pairs of crossing chords ``I < J``, the crossing's parameter along each, whether ``J``'s
        first end lies between ``I``'s ends and ``I``'s first end between ``J``'s, and the
        crossing's vertex id.
    label0 : int
        The label of the layer's first split.

    Returns
    -------
    (ptr, origin, labels, parent) or None
        The new cycles and the parent cell of every new cell; None where the geometry is not
        generic.

    Examples
    --------
    The square cut by its two diagonals' halves (two chords crossing at the centre):

    >>> import numpy as np
    >>> ptr2, cyc2 = np.array([0, 8]), np.array([0, 4, 1, 5, 2, 6, 3, 7])
    >>> split = np.array([-1, 0, -1, 1, -1, 0, -1, 1])
    >>> chords = (np.array([0, 0]), np.array([0, 1]), np.array([1, 3]), np.array([5, 7]))
    >>> crossings = (np.array([0]), np.array([1]), np.array([0.5]), np.array([0.5]),
    ...              np.array([True]), np.array([False]), np.array([8]))
    >>> ptr, origin, labels, parent = trace_faces(ptr2, cyc2, np.zeros(8, dtype=np.int64),
    ...                                           np.zeros(8, dtype=np.int64), split, chords,
    ...                                           crossings, 10)
    >>> np.diff(ptr).tolist(), parent.tolist()
    ([4, 4, 4, 4], [0, 0, 0, 0])
    >>> sorted(origin[ptr[0]:ptr[1]].tolist())
    [0, 4, 7, 8]
    """
    ch_cell, ch_split, ch_lo_x, ch_hi_x = chords
    I, J, u_i, u_j, lo_j_in, lo_i_in, i_ids = crossings
    CH, L2 = ch_cell.size, cyc2.size
    P, Q = cyc2[ch_lo_x], cyc2[ch_hi_x]
    start, vert, flag, other, chord, ok = _chord_entries(
        CH, I.size, I, J, u_i, u_j, lo_j_in, lo_i_in, P, Q, i_ids)
    if not ok:
        return None
    slot_chord = np.full(L2, -1, dtype=np.int64)
    slot_first = np.zeros(L2, dtype=np.bool_)
    slot_chord[ch_lo_x] = slot_chord[ch_hi_x] = np.arange(CH)
    slot_first[ch_lo_x] = True
    nxt = _next_steps(L2, ptr2, cells2, point_split, slot_chord, slot_first, ch_lo_x, ch_hi_x,
                      start, flag, other, chord)
    fptr, origin, labels, parent, n_faces, ok = _trace(
        L2, ptr2, cyc2, lab2, ch_cell, ch_split, label0, start, vert, chord, nxt)
    if not ok:
        return None
    return fptr[:n_faces + 1], origin, labels, parent[:n_faces]
