"""The plane engine: a rectangle cut into convex polygons by all the kinks of a layer at once.

:class:`~reluthe.regions._complex.Subdivision` applies one kink after the other, each to every
face of its face lattice: on a plane that is a few hundred numpy calls per unit, which dominates
small nets. Here the cells are convex polygons (vertex ids in counter-clockwise order, an edge
label per side: the split that made it, or a box side) and a layer is applied in one pass:

1. **Boundary points.** Every split (a unit and one of its breakpoints) is affine on every cell
   of the earlier layers; its line crosses an edge where its values at the two ends have strict
   opposite signs, at the point found by interpolation along the edge (as in the sequential
   engine). The points of all splits on all edges are made at once and are shared by the two
   cells of an edge.
2. **Chords.** In a cell a crossing split is a chord between two of these points. Two chords
   cross inside the cell iff their ends interleave along the cell's boundary; they meet at the
   interpolation along the earlier chord (its ends carry every unit's value).
3. **Faces.** The new cells are the faces of each polygon's chord arrangement, traced with the
   face on the left by a rule that needs no angles: along the boundary, turn into a chord where
   one starts; at a chord's end, follow the boundary; at a crossing, turn left (which way is
   left follows from where the chords' ends lie on the boundary: the boundary arc from a chord's
   first end to its second lies on its right).

The steps over every cell, edge or vertex run as compiled (numba) loops, each in the module of
its step: the edge table and the boundary points (:mod:`reluthe.regions._plane_edges`), the
chords and their crossings (:mod:`reluthe.regions._plane_chords`), the faces
(:mod:`reluthe.regions._plane_faces`) and the values at new vertices
(:mod:`reluthe.regions._plane_values`); the layer's matrix products stay in numpy (BLAS). This
module drives them and keeps the memory budget.

A cell's state for a split is the sign of the split's value summed over three consecutive
vertices of the cell (at most two of them lie on the split's line, where the value is exactly
zero). Vertex values are not stored: those of new vertices are recomputed from their
interpolation records when needed (memory: the layer's first vertices times its width).

This is valid when no vertex lies within ``max(tol, 2^-40) * scale`` of a split's line that does
not pass through it (``scale`` as in the sequential engine); then there is nothing for the
tolerance to snap, and the sequential engine finds the same cells up to rounding. Otherwise
:class:`_NotGeneric` is raised, and :func:`~reluthe.regions._plane_depth.cut_plane` runs the
sequential engine, which has the tolerance semantics (snapping, ``tol_merges``). A layer records
the scale and the nearest value of every split off its line (``scale``, ``nearest``), so that a
driver cutting a group of cells at a time can check the same condition over all of them.
"""

from __future__ import annotations

import numpy as np

from reluthe.nets import PLLayer
from reluthe.regions._complex import ROUNDING_LEVEL, facet_pairs
from reluthe.regions._memory import over_budget
from reluthe.regions._plane_chords import chords_and_crossings, insert_points
from reluthe.regions._plane_edges import (
    cell_points,
    count_crossings,
    edge_crossings,
    edges_of_cycles,
    polygon_areas,
)
from reluthe.regions._plane_faces import trace_faces
from reluthe.regions._plane_values import (
    blend,
    cell_rows,
    column_range,
    signs_and_nearest,
    split_values,
)

__all__ = ["PlaneCells"]

_EMPTY = np.zeros(0, dtype=np.int64)
_CHUNK_VALUES = 1 << 18      # at most this many values in one working array (rows x units)
_KEPT_VALUES = 1 << 22       # up to this many, the values at the boundary points are kept


class _NotGeneric(Exception):
    """A vertex lies (within tolerance) on a line that does not pass through it."""


def _successor(ptr: np.ndarray) -> np.ndarray:
    """Index of the next entry in the same cycle, for cycles stored one after the other."""
    nxt = np.arange(1, ptr[-1] + 1)
    nxt[ptr[1:] - 1] = ptr[:-1]
    return nxt


def _ranks(counts: np.ndarray) -> np.ndarray:
    """``0..c-1`` for every count ``c``, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


class _Budget:
    """The memory budget: the network's arrays, the arrays held between groups (``base``: the
    first layer's cut and the cells done, :mod:`reluthe.regions._plane_depth`), the arrays held
    between layers and a bound on every array made during the current layer (each step reserves
    a bound on what it allocates, kept until the layer ends: nothing counted is taken back
    early). ``peak``: the largest total counted since it was last set to 0."""

    def __init__(self, max_bytes: int, outside: int):
        self.max_bytes = int(max_bytes)
        self.outside = int(outside)
        self.base = 0
        self.held = 0
        self.working = 0
        self.peak = 0
        self.where = "before the first cut"
        self.found = 0

    def total(self) -> int:
        """The bytes counted now."""
        return self.outside + self.base + self.held + self.working

    def hold(self, *arrays):
        """Record the arrays held from now on; the working arrays are gone."""
        self.held = sum(a.nbytes for a in arrays)
        self.working = 0
        self.peak = max(self.peak, self.total())

    def room(self) -> int:
        """The bytes left for the working arrays of a layer."""
        return self.max_bytes - self.outside - self.base - self.held

    def fits(self, extra: int) -> bool:
        return self.total() + extra <= self.max_bytes

    def check(self, extra: int, what: str):
        """Raise :class:`~reluthe.errors.RegionLimitError` if ``extra`` more bytes would take
        the total over the budget."""
        if not self.fits(extra):
            raise over_budget(self.max_bytes, self.total(), int(extra), what, self.where,
                              self.found)

    def reserve(self, extra: int, what: str):
        """Count ``extra`` more bytes (:meth:`check` first)."""
        self.check(extra, what)
        self.working += int(extra)
        self.peak = max(self.peak, self.total())


class PlaneCells:
    """A finished plane subdivision: convex cells with shared vertices, read out like a
    :class:`~reluthe.regions._complex.Subdivision` of dimension 2 (``X``, ``V``, ``N``, ``M``,
    ``inc_f``, ``inc_b``, ``e0``, ``e1``, ``labels``, ``packed``, ``snapped``, ``edges``,
    ``max_bytes``, :meth:`cell_patterns`, :meth:`facet_cells`, :meth:`reserve`; also
    :meth:`cell_points` and :meth:`cell_areas`). ``ptr``,
    ``cycle``: the vertex ids of cell ``i`` in counter-clockwise order are
    ``cycle[ptr[i]:ptr[i + 1]]``."""

    d = 2
    snapped = 0

    def __init__(self, X, ptr, cycle, cycle_labels, rows, budget: _Budget):
        V = X.shape[0]
        n_cells = ptr.size - 1
        budget.reserve(8 * 12 * cycle.size, "the edges of the regions")
        self.e0, self.e1, first, inverse = edges_of_cycles(cycle, cycle[_successor(ptr)], V)
        self.X, self.V, self.ptr, self.cycle = X, V, ptr, cycle
        self.labels = cycle_labels[first]
        cells = np.repeat(np.arange(n_cells), np.diff(ptr))
        self.inc_f = [_EMPTY, _EMPTY, cells]
        self.inc_b = [_EMPTY, _EMPTY, inverse]
        self.N = [V, int(self.e0.size), n_cells]
        self.M = [0, 0, int(cycle.size)]
        self._rows = rows                 # packed states, one row per cell
        self.packed = rows.T              # one column per cell, as in Subdivision
        self._budget = budget
        budget.hold(X, ptr, cycle, rows, self.e0, self.e1, self.labels, cells, inverse)

    @property
    def edges(self) -> np.ndarray:
        """(E, 2) vertex ids of the edges."""
        return np.stack([self.e0, self.e1], axis=1)

    def cell_patterns(self) -> np.ndarray:
        """Packed states of all splits: uint8 array (cells, bytes), one row per cell."""
        return self._rows

    def cell_areas(self) -> np.ndarray:
        """Area of every cell (:func:`~reluthe.regions._plane_edges.polygon_areas`)."""
        return polygon_areas(self.X, self.ptr, self.cycle)

    def facet_cells(self):
        """For every interior edge: (cell_a, cell_b, label); box edges are dropped."""
        return facet_pairs(self.inc_f[2], self.inc_b[2], self.labels)

    def cell_points(self) -> np.ndarray:
        """A point inside every cell (:func:`~reluthe.regions._plane_edges.cell_points`)."""
        return cell_points(self.X, self.ptr, self.e0, self.e1, self.inc_b[2])

    @property
    def max_bytes(self) -> int:
        """The memory budget of the count."""
        return self._budget.max_bytes

    def reserve(self, extra: int, what: str):
        """Raise :class:`~reluthe.errors.RegionLimitError` if ``extra`` more bytes would take
        the arrays held over the memory budget (a check, as
        :meth:`~reluthe.regions._complex.Subdivision.reserve`: each caller states all it
        needs)."""
        self._budget.check(extra, what)


class _Layer:
    """One layer's splits on the current cells, and the scans of its vertex values.

    ``Z`` (V0, width): the layer's pre-activations at the cells' vertices; the values at new
    vertices are made from their interpolation records when they are scanned. A scan checks
    that the vertices are generic and keeps their signs (packed: bit set where a split's value
    is > 0). The next layer's pre-activations at all vertices go into one array once the
    crossings are known (:meth:`add_crossings`): those at the crossings as they are scanned,
    those at the old vertices and the boundary points from their values (at the boundary points
    while they are scanned, when those values are too many to keep). Splits are numbered unit by
    unit, breakpoint by breakpoint (as the labels of the sequential engine)."""

    def __init__(self, layer: PLLayer, Z: np.ndarray, nxt: PLLayer | None, tol: float,
                 budget: _Budget):
        bps = np.asarray(layer.activation.breakpoints, dtype=np.float64)
        self.layer, self.nxt, self.Z, self.V0 = layer, nxt, Z, Z.shape[0]
        self.unit = np.repeat(np.arange(layer.width), bps.size)
        self.bp = np.tile(bps, layer.width)
        self.plain = bps.size == 1 and bps[0] == 0.0
        top, bottom = column_range(Z)
        self.extremes = np.concatenate([top, bottom])   # for the range check of the values
        zmax, zmin = top[self.unit], bottom[self.unit]
        scale = np.maximum(np.abs(zmax - self.bp), np.abs(zmin - self.bp))
        self.scale = scale
        self.margin = max(tol, ROUNDING_LEVEL) * scale
        self.S = self.unit.size
        self.nearest = np.full(self.S, np.inf)   # smallest |value| of a split off its line
        self.n_next = nxt.out_dim if nxt is not None else 0
        # a working array: at most _CHUNK_VALUES values and 1/512 of the budget's room
        room = budget.room() // 512
        self.chunk = max(1, min(_CHUNK_VALUES, room) // max(self.S, layer.out_dim, self.n_next))
        # records of the new vertices: boundary points (edge ends, parameter, split), then
        # crossings of chords (ends of the earlier chord, parameter, both splits)
        self.b_a = self.b_b = self.b_s = _EMPTY
        self.b_t = np.zeros(0)
        self.i_p = self.i_q = self.i_s1 = self.i_s2 = _EMPTY
        self.i_u = np.zeros(0)
        self.b_rows = None                     # the values at the boundary points, if kept
        self.signs: list[np.ndarray] = []     # packed signs of the vertices scanned so far
        self.out = None                        # the next layer's values at all vertices
        self.b_next = None                     # those at the boundary points, if not kept

    def value(self, vid: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Value of split ``s`` at vertex ``vid``, an old vertex or a boundary point
        (elementwise; the same numbers as the scans)."""
        return split_values(self.Z, self.b_a, self.b_b, self.b_t, self.unit, self.bp, vid, s)

    def _boundary_rows(self, k: np.ndarray) -> np.ndarray:
        if self.b_rows is not None:
            return self.b_rows[k]
        rows = blend(self.Z, self.b_a[k], self.Z, self.b_b[k], self.b_t[k])
        s = self.b_s[k]
        rows[np.arange(k.size), self.unit[s]] = self.bp[s]
        return rows

    def _crossing_rows(self, k: np.ndarray) -> np.ndarray:
        p, q = self.i_p[k] - self.V0, self.i_q[k] - self.V0
        if self.b_rows is not None:
            rows = blend(self.b_rows, p, self.b_rows, q, self.i_u[k])
        else:
            every = np.arange(k.size)
            rows = blend(self._boundary_rows(p), every, self._boundary_rows(q), every,
                         self.i_u[k])
        idx = np.arange(k.size)
        for s in (self.i_s1[k], self.i_s2[k]):
            rows[idx, self.unit[s]] = self.bp[s]
        return rows

    def rows_at(self, vid: np.ndarray) -> np.ndarray:
        """Pre-activations at the vertices ``vid`` of the cut (old vertices, boundary points
        and crossings, in any order)."""
        n_old, n_b = self.V0, self.b_a.size
        rows = np.empty((vid.size, self.Z.shape[1]))
        old = vid < n_old
        rows[old] = self.Z[vid[old]]
        bnd = ~old & (vid < n_old + n_b)
        rows[bnd] = self._boundary_rows(vid[bnd] - n_old)
        crs = vid >= n_old + n_b
        rows[crs] = self._crossing_rows(vid[crs] - n_old - n_b)
        return rows

    def next_values_at(self, nxt: PLLayer, vid: np.ndarray, budget: _Budget) -> np.ndarray:
        """The pre-activations of the layer ``nxt`` after this one at the vertices ``vid`` of
        the cut, sorted and distinct (the same numbers as :meth:`next_values`, a chunk of
        vertices at a time)."""
        width = max(self.Z.shape[1], nxt.out_dim)
        step = max(1, _CHUNK_VALUES // width)
        budget.reserve(8 * vid.size * nxt.out_dim + 8 * 4 * min(step, vid.size) * width,
                       "the next layer's values at the vertices of a group")
        out = np.empty((vid.size, nxt.out_dim))
        every = vid.size == self.V0 + self.b_a.size + self.i_p.size   # sorted: all in order
        for lo in range(0, vid.size, step):
            hi = min(vid.size, lo + step)
            rows = self._rows_between(lo, hi) if every else self.rows_at(vid[lo:hi])
            np.dot(self.layer.apply(rows), nxt.weight.T, out=out[lo:hi])
        out += nxt.bias
        return out

    def _rows_between(self, lo: int, hi: int) -> np.ndarray:
        """Pre-activations at the vertices ``lo:hi`` of the cut, block by block."""
        n_old, n_b = self.V0, self.b_a.size
        parts = []
        if lo < n_old:
            parts.append(self.Z[lo:min(hi, n_old)])
        if lo < n_old + n_b and hi > n_old:
            parts.append(self._boundary_rows(np.arange(max(lo, n_old), min(hi, n_old + n_b))
                                             - n_old))
        if hi > n_old + n_b:
            parts.append(self._crossing_rows(np.arange(max(lo, n_old + n_b), hi) - n_old - n_b))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def scan(self, n: int, rows_of, own: list[np.ndarray], budget: _Budget, out=None):
        """Scan ``n`` vertices, ``rows_of(lo, hi)`` giving the values of ``lo:hi``; ``own``:
        the splits each lies on (one array per split, masked in the check); ``out``: where to
        put the next layer's values there (None: nowhere). Raise :class:`_NotGeneric` if a
        vertex lies within the margin of another split's line."""
        budget.reserve(n * ((self.S + 7) // 8)
                       + 8 * 5 * min(self.chunk, n) * max(self.S, self.layer.out_dim, self.n_next),
                       "the signs at the vertices")
        signs = np.empty((n, (self.S + 7) // 8), dtype=np.uint8)
        for lo in range(0, n, self.chunk):
            hi = min(n, lo + self.chunk)
            rows = np.ascontiguousarray(rows_of(lo, hi))
            mine = (np.stack([s[lo:hi] for s in own], axis=1) if own
                    else np.zeros((hi - lo, 0), dtype=np.int64))
            near = np.full(self.S, np.inf)
            signs[lo:hi] = signs_and_nearest(rows, self.unit, self.bp, self.plain, mine, near)
            if np.any(near <= self.margin):
                raise _NotGeneric
            np.minimum(self.nearest, near, out=self.nearest)
            if out is not None:
                self._next(rows, out[lo:hi])
        self.signs.append(signs)

    def _next(self, rows: np.ndarray, out: np.ndarray):
        """The next layer's values (without its bias) at vertices with values ``rows``."""
        np.dot(self.layer.apply(rows), self.nxt.weight.T, out=out)

    def scan_old(self, budget: _Budget):
        self.scan(self.V0, lambda lo, hi: self.Z[lo:hi], [], budget)

    def add_boundary(self, a, b, t, s, budget: _Budget):
        """Record the boundary points (on edge (a, b) at parameter t, made by split s) and
        scan them."""
        self.b_a, self.b_b, self.b_t, self.b_s = a, b, t, s
        n_values = a.size * self.Z.shape[1]
        if n_values <= _KEPT_VALUES and budget.fits(8 * 4 * n_values):
            budget.reserve(8 * 4 * n_values, "the values at the boundary points")
            self.b_rows = self._boundary_rows(np.arange(a.size))
            self.scan(a.size, lambda lo, hi: self.b_rows[lo:hi], [s], budget)
        else:
            if self.nxt is not None:
                budget.reserve(8 * a.size * self.n_next, "the next layer's values there")
                self.b_next = np.empty((a.size, self.n_next))
            self.scan(a.size, lambda lo, hi: self._boundary_rows(np.arange(lo, hi)), [s],
                      budget, self.b_next)

    def add_crossings(self, p, q, u, s1, s2, budget: _Budget):
        """Record the crossings of chords (on the chord from p to q, split s1, at parameter u,
        where it meets split s2) and scan them."""
        self.i_p, self.i_q, self.i_u, self.i_s1, self.i_s2 = p, q, u, s1, s2
        first = self.V0 + self.b_a.size
        if self.nxt is not None:
            self._allocate(first + p.size, budget)
        self.scan(p.size, lambda lo, hi: self._crossing_rows(np.arange(lo, hi)), [s1, s2],
                  budget, None if self.out is None else self.out[first:])

    def _allocate(self, n: int, budget: _Budget):
        """The array of the next layer's values at all ``n`` vertices, filled at the old
        vertices and the boundary points."""
        budget.reserve(8 * n * self.n_next, "the next layer's values at the vertices")
        self.out = out = np.empty((n, self.n_next))
        for lo in range(0, self.V0, self.chunk):
            hi = min(self.V0, lo + self.chunk)
            self._next(self.Z[lo:hi], out[lo:hi])
        n_b = self.b_a.size
        if self.b_next is not None:
            out[self.V0:self.V0 + n_b] = self.b_next
            self.b_next = None
        elif n_b:
            for lo in range(0, n_b, self.chunk):
                hi = min(n_b, lo + self.chunk)
                self._next(self.b_rows[lo:hi], out[self.V0 + lo:self.V0 + hi])

    def next_values(self, budget: _Budget) -> np.ndarray:
        """The next layer's pre-activations at all vertices scanned, in vertex order."""
        if self.out is None:                   # no crossings were added: nothing was cut
            self._allocate(self.V0 + self.b_a.size, budget)
        out, self.out = self.out, None
        out += self.nxt.bias
        return out


def _crossings(lay: _Layer, ea: np.ndarray, eb: np.ndarray, budget: _Budget):
    """(edge, split, t) of every split whose line crosses an edge (its ends' signs differ),
    sorted by edge then t (:func:`~reluthe.regions._plane_edges.edge_crossings`)."""
    signs = lay.signs[0]
    total = count_crossings(signs, ea, eb)
    budget.reserve(128 * total, "the points where a layer's kinks cross the edges")
    return edge_crossings(signs, ea, eb, lay.S, lay.Z, lay.unit, lay.bp, total)


def _layer_cut(state, lay: _Layer, label0: int, budget: _Budget):
    """Cut every cell by the layer's splits. ``state``: (X, ptr, cycle, labels, parent rows);
    returns the new state and the packed states of the layer per new cell."""
    X, ptr, cycle, labels = state
    V0 = X.shape[0]
    lay.scan_old(budget)
    budget.reserve(8 * 14 * cycle.size, "the edges of the cells")
    succ = _successor(ptr)
    a, b = cycle, cycle[succ]
    ea, eb, _, entry_edge = edges_of_cycles(a, b, V0)
    e, s, t = _crossings(lay, ea, eb, budget)
    NB = e.size
    if NB == 0:                          # nothing cut: the same cells
        return state, np.arange(ptr.size - 1)
    lay.add_boundary(ea[e], eb[e], t, s, budget)
    b_ids = V0 + np.arange(NB)
    xa = X[lay.b_a]
    b_X = xa + t[:, None] * (X[lay.b_b] - xa)
    edge_count = np.bincount(e, minlength=ea.size)
    edge_start = np.cumsum(edge_count) - edge_count
    ptr2, cyc2, lab2, point_split, cells2 = insert_points(
        ptr, cycle, labels, entry_edge, a < b, edge_count, edge_start, b_ids, s, budget.reserve)
    chords, pairs = chords_and_crossings(ptr2, point_split, budget.reserve)
    if chords is None:
        raise _NotGeneric
    ch_cell, ch_split, ch_lo_x, ch_hi_x = chords
    I, J, lo_j_in, lo_i_in = pairs
    CH, NI = ch_cell.size, I.size
    P, Q = cyc2[ch_lo_x], cyc2[ch_hi_x]
    sI, sJ = ch_split[I], ch_split[J]
    # the crossing on the earlier chord I (lower split: chords are sorted by split)
    dp, dq = lay.value(P[I], sJ), lay.value(Q[I], sJ)
    dpj, dqj = lay.value(P[J], sI), lay.value(Q[J], sI)
    if np.any((dp > 0) == (dq > 0)) or np.any((dpj > 0) == (dqj > 0)):
        raise _NotGeneric
    u_i = dp / (dp - dq)
    u_j = dpj / (dpj - dqj)
    budget.reserve(8 * (18 * NI + 2 * (V0 + NB)), "the crossings of the chords")
    lay.add_crossings(P[I], Q[I], u_i, sI, sJ, budget)
    i_ids = V0 + NB + np.arange(NI)
    bX = np.concatenate([X, b_X])
    xp = bX[P[I]]
    i_X = xp + u_i[:, None] * (bX[Q[I]] - xp)
    CE = 2 * CH + 2 * NI                 # chord entries: both ends and every crossing
    budget.reserve(8 * (7 * CE + 7 * (cyc2.size + 2 * CE) + 2 * (V0 + NB + NI)),
                   "tracing the new cells")
    traced = trace_faces(ptr2, cyc2, lab2, cells2, point_split,
                         (ch_cell, ch_split, ch_lo_x, ch_hi_x),
                         (I, J, u_i, u_j, lo_j_in, lo_i_in, i_ids), label0)
    if traced is None:
        raise _NotGeneric
    new_ptr, origin, new_labels, parent = traced
    new_X = np.concatenate([X, b_X, i_X])
    return (new_X, new_ptr, origin, new_labels), parent


def _layer_states(lay: _Layer, ptr: np.ndarray, cycle: np.ndarray, rows: np.ndarray,
                  parent: np.ndarray) -> np.ndarray:
    """Packed states of every new cell: its parent's ``rows``, then the layer's splits
    (:func:`~reluthe.regions._plane_values.cell_rows`)."""
    return cell_rows(rows, parent, lay.signs, ptr, cycle)


def _box(low, high):
    X = np.array([[low[0], low[1]], [high[0], low[1]], [high[0], high[1]], [low[0], high[1]]],
                 dtype=np.float64)
    # box sides labelled as in Subdivision: -1 - (2 * axis + side)
    labels = np.array([-3, -2, -4, -1], dtype=np.int64)
    return X, np.array([0, 4]), np.arange(4), labels
