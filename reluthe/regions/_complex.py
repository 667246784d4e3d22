"""The subdivision engine: a box cut into convex cells by the kinks of a piecewise-linear net.

The subdivision is stored as its face lattice, in float64 numpy arrays:

* level 0: vertices ``X`` (positions). The pre-activations of the current layer are kept at the
  layer's first vertices (``Z0``); a vertex added during the layer is recorded as an
  interpolation (two parent vertices, a parameter), so the values of a block of units at every
  vertex can be replayed when that block is processed (memory: the layer's first vertices times
  its width, plus one block);
* level 1: edges ``(e0, e1)`` (two vertex ids each);
* level k >= 2: an incidence list ``(inc_f[k], inc_b[k])``: face ``inc_f`` of level k has the
  (k-1)-face ``inc_b`` on its boundary; entries are in no particular order;
* level d: the cells, with the states of every split processed so far (bits);
* every face keeps one of its vertices (``rep``), used to read its side of a hyperplane.

A layer's pre-activations are affine on every cell of the subdivision made by the earlier layers,
so a unit (one kink of it: ``z = threshold``) cuts a cell along a hyperplane. The engine processes
the kinks one after the other, each for *all* faces at once: the sign of ``z - threshold`` at the
vertices decides which faces are crossed (they have a vertex strictly on each side), and only
those are split. When no vertex lies on the hyperplane, the crossed k-faces are exactly those with
a crossed (k-1)-face, so the search goes up from the crossed edges (output-sensitive); otherwise
(degenerate geometry) every face's sides are computed. A crossed k-face ``F`` becomes ``F+``
(keeps its id), ``F-`` (new id) and the (k-1)-face ``F0 = F ∩ H`` (new id), whose boundary is made
of the ``b0`` of its crossed facets ``b`` and of the (k-2)-faces of ``F`` that lie in ``H``. Vertex
values are shared, so the subdivision stays a proper polyhedral complex; new vertices get their
position and every pre-activation of the layer by linear interpolation along the edge they cut
(the net is affine on an edge).

``|z| <= tol * scale`` counts as zero (on the hyperplane), where ``scale`` is the largest
``|z - threshold|`` over the vertices at the start of the layer: a hyperplane through (within
tolerance of) a vertex does not cut off a sliver there. Without such near-coincidences the result
is exact up to floating-point rounding of the vertex positions.
"""

from __future__ import annotations

import itertools

import numpy as np

from reluthe.errors import RegionLimitError
from reluthe.regions._memory import over_budget
from reluthe.regions._plane_edges import edge_cells

ROUNDING_LEVEL = 2.0 ** -40
"""Relative distance from a kink that float64 rounding of the vertex values explains: a vertex
within ``tol * scale`` but farther than ``ROUNDING_LEVEL * scale`` from a kink was put on it by
the tolerance, not by rounding (a real near-coincidence, counted in ``tol_merges``)."""

__all__ = ["Subdivision", "facet_pairs"]

_EMPTY = np.zeros(0, dtype=np.int64)
_BLOCK = 32  # units whose vertex values are transposed together (contiguous column reads)
_WHOLE_LAYER = 1 << 24  # up to this many values, all units of a layer form one block
_CHUNK = 2048  # rows per step of a transposing copy


def _grow(array: np.ndarray, need: int) -> np.ndarray:
    """``array`` with room for at least ``need`` rows (doubling), contents kept."""
    if need <= array.shape[0]:
        return array
    new = np.empty((max(need, 2 * array.shape[0], 16),) + array.shape[1:], dtype=array.dtype)
    new[: array.shape[0]] = array
    return new


def _grow_cols(array: np.ndarray, need: int) -> np.ndarray:
    """``array`` with room for at least ``need`` columns (doubling), contents kept."""
    if need <= array.shape[1]:
        return array
    new = np.empty((array.shape[0], max(need, 2 * array.shape[1], 16)), dtype=array.dtype)
    new[:, : array.shape[1]] = array
    return new


def _cube_bytes(d: int) -> int:
    """Bytes that building the face lattice of a d-cube takes: 3^d faces as Python tuples and
    dict entries (about 120 + 16 d bytes each) and the numpy incidence lists."""
    return 3 ** d * (120 + 16 * d) + 3 ** d * 2 * d * 16


def _cube(d: int):
    """Face lattice of the unit cube: per level, the codes over {0: low, 1: high, 2: free}."""
    by_level: list[list[tuple]] = [[] for _ in range(d + 1)]
    for code in itertools.product((0, 1, 2), repeat=d):
        by_level[sum(c == 2 for c in code)].append(code)
    index = [{code: i for i, code in enumerate(level)} for level in by_level]
    return by_level, index


class Subdivision:
    """Cells of the box ``[low, high]`` (dimension ``d``) cut by the splits applied so far.

    Use :meth:`start_layer` with the layer's pre-activations at the vertices, :meth:`split` once
    per kink, then :meth:`layer_values` for the layer's values at the final vertices. The box
    facets carry labels ``-1 - (2 * axis + side)``; facets made by a split carry its id.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, *, tol: float, max_cells: int,
                 max_bytes: int, held: int = 0):
        low = np.asarray(low, dtype=np.float64)
        high = np.asarray(high, dtype=np.float64)
        d = low.shape[0]
        self.d = d
        self.tol = float(tol)
        self.max_cells = int(max_cells)
        self.max_bytes = int(max_bytes)
        self.held_outside = int(held)    # the network's arrays, counted against the budget
        self._working = 0                # the working arrays of the cut in progress (bytes)
        self.snapped = 0
        self.V = 0
        self.N = [0] * (d + 1)
        cube = _cube_bytes(d)
        if self.held_outside + cube > self.max_bytes:
            raise over_budget(self.max_bytes, self.held_outside, cube,
                              f"the face lattice of a {d}-D box (3^{d} = {3 ** d} faces)",
                              "before the first cut", 0)
        by_level, index = _cube(d)
        self.X = np.array([[high[j] if c else low[j] for j, c in enumerate(code)]
                           for code in by_level[0]], dtype=np.float64)
        self.V = self.X.shape[0]
        self.N = [len(level) for level in by_level]
        ends = [[index[0][code[:j] + (s,) + code[j + 1:]] for s in (0, 1)]
                for code in by_level[1] for j in [code.index(2)]]
        ends = np.array(ends, dtype=np.int64).reshape(-1, 2)
        self.e0 = ends[:, 0].copy()
        self.e1 = ends[:, 1].copy()
        # in 2-D, the (at most two) cells of every edge: crossed cells are found from crossed
        # edges without a pass over the incidence list
        self.ef = np.full((self.N[1], 2), -1, dtype=np.int64)
        if d == 2:
            self.ef[:, 0] = 0
        self.inc_f: list[np.ndarray] = [_EMPTY, _EMPTY]
        self.inc_b: list[np.ndarray] = [_EMPTY, _EMPTY]
        self.M = [0, 0]
        for k in range(2, d + 1):
            fs, bs = [], []
            for code in by_level[k]:
                for j, c in enumerate(code):
                    if c == 2:
                        for s in (0, 1):
                            fs.append(index[k][code])
                            bs.append(index[k - 1][code[:j] + (s,) + code[j + 1:]])
            self.inc_f.append(np.array(fs, dtype=np.int64))
            self.inc_b.append(np.array(bs, dtype=np.int64))
            self.M.append(len(fs))
        # one vertex of every face of level >= 1 (at first the all-low corner of the face)
        self.rep = [_EMPTY]
        for k in range(1, d + 1):
            self.rep.append(np.array([index[0][tuple(0 if c == 2 else c for c in code)]
                                      for code in by_level[k]], dtype=np.int64))
        # labels of the facets (level d-1): box facets are negative
        labels = []
        for code in by_level[d - 1]:
            j = next(i for i, c in enumerate(code) if c != 2)
            labels.append(-1 - (2 * j + code[j]))
        self.labels = np.array(labels, dtype=np.int64)
        # states of all splits so far, packed: bit i of a layer is bit 7 - i % 8 of byte
        # layer_offset + i // 8; one column per cell
        self.packed = np.zeros((0, 16), dtype=np.uint8)
        self.layer_offset = 0
        self.n_bits = 0
        self.n_splits_done = 0
        # the current layer: values at the layer's first vertices, interpolation records of the
        # vertices added since (parents, parameter, depth, the unit that made them), and the
        # values of one block of units at all vertices (one row per unit)
        self.Z0 = np.zeros((self.V, 0))
        self.V0 = self.V
        self.rec_i = np.zeros((0, 3), dtype=np.int64)     # parent a, parent b, unit
        self.rec_f = np.zeros((0, 2))                      # parameter t, threshold
        self.vdepth = np.zeros(self.V, dtype=np.int64)     # 0 for the layer's first vertices
        self.block = np.zeros((0, 16))
        self.block_rows = np.zeros((16, 0))
        self.block_units = (0, 0)
        self._plan = None

    # ------------------------------------------------------------------ memory
    def _arrays(self):
        yield from (self.X, self.e0, self.e1, self.ef, self.labels, self.packed, self.Z0,
                    self.rec_i, self.rec_f, self.vdepth, self.block, self.block_rows)
        yield from self.inc_f
        yield from self.inc_b
        yield from self.rep

    def held_bytes(self) -> int:
        """Bytes of the numpy arrays the subdivision holds (their allocated capacity), plus
        those of the network (``held``)."""
        return self.held_outside + sum(a.nbytes for a in self._arrays())

    def reserve(self, extra: int, what: str):
        """Raise :class:`~reluthe.errors.RegionLimitError` if allocating ``extra`` more bytes
        would take the arrays held over the memory budget."""
        held = self.held_bytes() + self._working
        if held + extra > self.max_bytes:
            raise over_budget(self.max_bytes, held, int(extra), what,
                              f"{self.N[self.d]} cells and {self.V} vertices after "
                              f"{self.n_splits_done} cuts", int(self.N[self.d]))

    def work_bytes(self) -> int:
        """A bound on the working arrays of one cut: per level, the masks and id maps of its
        faces (about 26 bytes per face), the gathers and concatenations of the crossed
        incidences of one level (about 64 bytes per incidence)."""
        return 26 * (self.V + sum(self.N)) + 64 * max(self.M)

    def _grow(self, array: np.ndarray, need: int) -> np.ndarray:
        """:func:`_grow` after checking the budget for the new array."""
        if need > array.shape[0]:
            rows = max(need, 2 * array.shape[0], 16)
            self.reserve(rows * (array.nbytes // max(array.shape[0], 1) if array.shape[0]
                                 else array.itemsize * int(np.prod(array.shape[1:]))),
                         "growing the subdivision's arrays")
        return _grow(array, need)

    def _grow_cols(self, array: np.ndarray, need: int) -> np.ndarray:
        """:func:`_grow_cols` after checking the budget for the new array."""
        if need > array.shape[1]:
            cols = max(need, 2 * array.shape[1], 16)
            self.reserve(cols * array.shape[0] * array.itemsize,
                         "growing the subdivision's arrays")
        return _grow_cols(array, need)

    # ------------------------------------------------------------------ layers
    def start_layer(self, Z: np.ndarray, n_splits: int):
        """Begin a layer: ``Z`` (V, width) pre-activations at the current vertices (kept, not
        copied: Fortran order makes the blocks of units contiguous)."""
        self.Z0 = Z
        self.V0 = self.V
        self.single_block = Z.shape[1] * max(2 * self.V, 16) <= _WHOLE_LAYER
        self.vdepth = np.zeros(max(2 * self.V, 16), dtype=np.int64)
        self.block_units = (0, 0)
        self.layer_offset = self.packed.shape[0]
        n_bytes = (n_splits + 7) // 8
        self.reserve((self.packed.shape[0] + n_bytes) * self.packed.shape[1]
                     + 8 * self.vdepth.size, "the states of a new layer")
        self.packed = np.concatenate(
            [self.packed, np.zeros((n_bytes, self.packed.shape[1]), dtype=np.uint8)], axis=0)
        self.n_bits = 0

    def layer_values(self):
        """Yield ``(lo, hi, values)``: the layer's pre-activations of units ``lo:hi`` at all
        vertices, shape (V, hi - lo), block by block, rows in the order of
        :meth:`layer_order` (take ``rows[layer_order()]`` for vertex order)."""
        width = self.Z0.shape[1]
        if self.single_block:            # the block is up to date: no replay
            if self.block_units != (0, width):
                self._load_block(0, width)
            yield 0, width, self.block_rows[: self.V]
            return
        for lo in range(0, width, _BLOCK):
            hi = min(lo + _BLOCK, width)
            yield lo, hi, self._replayed(lo, hi)

    def layer_order(self) -> np.ndarray | None:
        """Row of every vertex in the arrays yielded by :meth:`layer_values` (None: in order)."""
        if self.single_block or self.V == self.V0:
            return None
        return self._replay_plan()[-1]

    def _replay_plan(self):
        """Order in which to interpolate the vertices added in this layer (by depth: parents
        first), with their parents' positions in a buffer [old vertices; new ones in order]."""
        key = (self.V0, self.V)
        if self._plan is not None and self._plan[0] == key:
            return self._plan[1]
        V0, n_new = self.V0, self.V - self.V0
        depth = self.vdepth[V0:self.V]
        order = np.argsort(depth, kind="stable")
        levels = np.searchsorted(depth[order], np.arange(1, int(depth.max()) + 2))
        pos = np.empty(n_new, dtype=np.int64)
        pos[order] = V0 + np.arange(n_new)
        rec_i = self.rec_i[:n_new][order]
        rec_f = self.rec_f[:n_new][order]

        def where(ids):
            return np.where(ids < V0, ids, pos[np.maximum(ids - V0, 0)])

        plan = (levels, where(rec_i[:, 0]), where(rec_i[:, 1]), rec_f[:, :1], rec_i[:, 2],
                rec_f[:, 1], np.concatenate([np.arange(V0), pos]))
        self._plan = (key, plan)
        return plan

    def _replayed(self, lo: int, hi: int) -> np.ndarray:
        """Values of units ``lo:hi`` at all vertices, (V, hi - lo), with the vertices added in
        this layer in replay order (see :meth:`_replay_plan`): the stored values, then the
        interpolation records replayed level by level (each record as when it was made)."""
        V0, V = self.V0, self.V
        self.reserve(2 * 8 * V * (hi - lo), "the values of a block of units at all vertices")
        buf = np.empty((V, hi - lo))
        buf[:V0] = self.Z0[:, lo:hi]
        if V > V0:
            levels, pa, pb, tt, unit, thr, _ = self._replay_plan()
            for s, e in zip(levels[:-1], levels[1:]):
                a = np.take(buf, pa[s:e], axis=0)
                b = np.take(buf, pb[s:e], axis=0)
                b -= a
                b *= tt[s:e]
                b += a
                mine = np.flatnonzero((unit[s:e] >= lo) & (unit[s:e] < hi))
                b[mine, unit[s:e][mine] - lo] = thr[s:e][mine]
                buf[V0 + s:V0 + e] = b
        return buf

    def _load_block(self, lo: int, hi: int):
        """Keep the values of units ``lo:hi`` at all vertices, in vertex order, twice: in
        ``block_rows`` (a row per vertex: fast gathers of parents) and ``block`` (a row per
        unit: fast reads of one unit at all vertices)."""
        V = self.V
        buf = self._replayed(lo, hi)
        if V > self.V0:
            buf = np.take(buf, self._replay_plan()[-1], axis=0)
        cap = max(2 * V, 16)
        self.reserve(2 * 8 * cap * (hi - lo) - self.block.nbytes - self.block_rows.nbytes,
                     "the values of a block of units at all vertices")
        self.block_rows = np.empty((cap, hi - lo))
        self.block_rows[:V] = buf
        self.block = np.empty((hi - lo, cap))
        for i in range(0, V, _CHUNK):                    # chunked: a cache-friendly transpose
            part = buf[i:i + _CHUNK]
            self.block[:, i:i + part.shape[0]] = part.T
        self.block_units = (lo, hi)

    def _column(self, unit: int) -> np.ndarray:
        """Pre-activations of ``unit`` at all vertices."""
        lo, hi = self.block_units
        if not lo <= unit < hi:
            width = self.Z0.shape[1]
            lo = 0 if self.single_block else unit
            self._load_block(lo, width if self.single_block else min(unit + _BLOCK, width))
        return self.block[unit - lo, : self.V]

    # ------------------------------------------------------------------ splitting
    def split(self, unit: int, threshold: float, label: int, scale: float):
        """Cut every cell crossed by ``z_unit == threshold``; record the states of all cells."""
        d = self.d
        V = self.V
        z = self._column(unit)
        if threshold != 0.0:
            z = z - threshold
        eps = self.tol * scale
        pos0 = z > eps
        neg0 = z < -eps
        n_pos = int(np.count_nonzero(pos0))
        n_neg = int(np.count_nonzero(neg0))
        n_cells = self.N[d]
        if n_pos + n_neg < V:            # some vertex on the hyperplane (within tolerance)
            self._count_snapped(z, pos0, neg0, scale)
        if n_pos == 0 or n_neg == 0:
            self._record_bits(self._uncut_states(pos0, neg0, n_pos, n_neg))  # nothing cut
            return
        self._working = 0
        work = self.work_bytes()
        self.reserve(work, "the working arrays of one cut")
        self._working = work             # kept reserved while the cut grows the arrays
        degenerate = n_pos + n_neg < V
        sign = pos0.view(np.int8) - neg0.view(np.int8)
        # ---- level 1: edges
        E = self.N[1]
        ea_all = self.e0[:E]
        eb_all = self.e1[:E]
        sa = sign[ea_all]
        sb = sign[eb_all]
        c1 = (sa * sb) < 0 if degenerate else sa != sb
        ce = np.flatnonzero(c1)
        nce = ce.size
        ea, eb = ea_all[ce], eb_all[ce]
        za, zb = z[ea], z[eb]
        t = za / (za - zb)
        new_v = V + np.arange(nce)
        self._add_vertices(ea, eb, t, unit, threshold)
        a_pos = za > 0
        self.e0 = self._grow(self.e0, E + nce)
        self.e1 = self._grow(self.e1, E + nce)
        self.e0[ce] = np.where(a_pos, ea, eb)
        self.e1[ce] = new_v
        self.e0[E:E + nce] = new_v
        self.e1[E:E + nce] = np.where(a_pos, eb, ea)
        self.N[1] = E + nce
        self.rep[1] = self._grow(self.rep[1], E + nce)
        self.rep[1][ce] = new_v
        self.rep[1][E:E + nce] = new_v
        if d == 2:  # the pieces of a cut facet keep its label
            self.labels = self._grow(self.labels, E + nce)
            self.labels[E:E + nce] = self.labels[ce]
        minus1 = np.empty(E, dtype=np.int64)
        minus1[ce] = E + np.arange(nce)
        zero1 = np.empty(E, dtype=np.int64)
        zero1[ce] = new_v
        sign = np.concatenate([sign, np.zeros(nce, dtype=np.int8)])  # new vertices lie on H
        state = {"sign": sign, "cross": [None, c1], "cut": [None, ce], "minus": [None, minus1],
                 "zero": [None, zero1], "ce": ce}
        if degenerate:
            state["pos"] = [pos0, (sa > 0) | (sb > 0)]
            state["neg"] = [neg0, (sa < 0) | (sb < 0)]
        # ---- levels 2..d
        for k in range(2, d + 1):
            self._split_level(k, state, label, degenerate)
        if d == 1:
            self.labels = self._grow(self.labels, self.V)
            self.labels[V:self.V] = label
        # states of this split for every cell
        cut_cells = state["cut"][d]
        if degenerate:
            cells_on = state["pos"][d]
        else:
            cells_on = sign[self.rep[d][:n_cells]] > 0
            cells_on[cut_cells] = True
        self._record_bits(cells_on, parents=cut_cells)
        self._working = 0
        if self.N[d] > self.max_cells:
            raise RegionLimitError(
                f"More than max_regions={self.max_cells} regions: found {self.N[d]} so far "
                f"(after {self.n_splits_done} hyperplanes). Raise max_regions or shrink the "
                f"domain.", found=int(self.N[d]))

    def _count_snapped(self, z, pos0, neg0, scale: float):
        """Count the vertices that the tolerance put on the hyperplane although they lie
        farther from it than rounding explains (``|z| > 2^-40 scale``): real near-coincidences
        that the tolerance may merge (see :data:`ROUNDING_LEVEL`)."""
        near = np.abs(z[~(pos0 | neg0)])
        self.snapped += int(np.count_nonzero(near > ROUNDING_LEVEL * scale))

    def _uncut_states(self, pos0, neg0, n_pos, n_neg) -> np.ndarray:
        """States of the cells when nothing is cut: on iff the cell has a vertex with z > eps."""
        n_cells = self.N[self.d]
        if n_pos == 0:
            return np.zeros(n_cells, dtype=bool)
        if n_pos + n_neg == self.V:      # no vertex on the hyperplane: every vertex decides
            return pos0[self.rep[self.d][:n_cells]]
        flags = pos0
        flags1 = flags[self.e0[: self.N[1]]] | flags[self.e1[: self.N[1]]]
        flags = flags1
        for k in range(2, self.d + 1):
            M = self.M[k]
            F = self.inc_f[k][:M]
            flags = np.bincount(F[flags[self.inc_b[k][:M]]], minlength=self.N[k]) > 0
        return flags

    def _add_vertices(self, ea, eb, t, unit, threshold):
        n = ea.size
        V = self.V
        self.X = self._grow(self.X, V + n)
        xa = self.X[ea]
        self.X[V:V + n] = xa + t[:, None] * (self.X[eb] - xa)
        self.block_rows = self._grow(self.block_rows, V + n)
        rows = self.block_rows
        za = rows[ea]
        new = za + t[:, None] * (rows[eb] - za)
        new[:, unit - self.block_units[0]] = threshold
        rows[V:V + n] = new
        self.block = self._grow_cols(self.block, V + n)
        self.block[:, V:V + n] = new.T
        if self.single_block:            # nothing will be replayed
            self.V = V + n
            self.N[0] = self.V
            return
        r = V - self.V0
        self.rec_i = self._grow(self.rec_i, r + n)
        self.rec_i[r:r + n, 0] = ea
        self.rec_i[r:r + n, 1] = eb
        self.rec_i[r:r + n, 2] = unit
        self.rec_f = self._grow(self.rec_f, r + n)
        self.rec_f[r:r + n, 0] = t
        self.rec_f[r:r + n, 1] = threshold
        self.vdepth = self._grow(self.vdepth, V + n)
        self.vdepth[V:V + n] = 1 + np.maximum(self.vdepth[ea], self.vdepth[eb])
        self.V = V + n
        self.N[0] = self.V

    def _split_level(self, k, state, label, degenerate):
        d = self.d
        M = self.M[k]
        Nk = self.N[k]
        F = self.inc_f[k][:M]
        B = self.inc_b[k][:M]
        cross_lower = state["cross"][k - 1]
        if degenerate:
            pB = state["pos"][k - 1][B]
            nB = state["neg"][k - 1][B]
            pk = np.bincount(F[pB], minlength=Nk) > 0
            nk = np.bincount(F[nB], minlength=Nk) > 0
            ck = pk & nk
            state["pos"].append(pk)
            state["neg"].append(nk)
            cf = np.flatnonzero(ck)
        elif k == 2 == d:
            cells = self.ef[state["ce"]].ravel()
            ck = np.zeros(Nk, dtype=bool)
            ck[cells[cells >= 0]] = True                  # -1: the box boundary
            cf = np.flatnonzero(ck)
        else:
            hit = np.flatnonzero(cross_lower[B])
            ck = np.zeros(Nk, dtype=bool)
            ck[F[hit]] = True
            cf = np.flatnonzero(ck)
        state["cross"].append(ck)
        state["cut"].append(cf)
        ncf = cf.size
        mk = np.empty(Nk, dtype=np.int64)
        zk = np.empty(Nk, dtype=np.int64)
        state["minus"].append(mk)
        state["zero"].append(zk)
        if ncf == 0:
            return
        mk[cf] = Nk + np.arange(ncf)
        n_lower = self.N[k - 1]
        zk[cf] = n_lower + np.arange(ncf)  # F0 ids at level k-1
        em = np.flatnonzero(ck[F])
        Fe = F[em]
        Be = B[em]
        cb = cross_lower[Be]
        if degenerate:
            pbe, nbe = pB[em], nB[em]
            negside = nbe & ~pbe
            posside = pbe & ~nbe
        else:
            side = state["sign"][self.rep[k - 1][Be]]
            negside = (side < 0) & ~cb
        # reroute the facets on the negative side to F-
        self.inc_f[k][em[negside]] = mk[Fe[negside]]
        if k == 2 == d:
            self._update_edge_cells(state["ce"], Fe[negside], Be[negside], cf, mk)
        # crossed facets: b stays (as b+) with F, b- goes to F-, b0 bounds F0
        ecb = np.flatnonzero(cb)
        Fc = Fe[ecb]
        Bc = Be[ecb]
        self._append_incidence(k, np.concatenate([mk[Fc], cf, mk[cf]]),
                               np.concatenate([state["minus"][k - 1][Bc], zk[cf], zk[cf]]))
        # boundary of F0 (a (k-1)-face): the b0 of crossed b, plus zero (k-2)-faces of F
        f0_face = Fc
        f0_sub = state["zero"][k - 1][Bc]
        if degenerate:
            zf, zg = self._zero_subfaces(k, Fe[posside], Be[posside], state)
            f0_face = np.concatenate([f0_face, zf])
            f0_sub = np.concatenate([f0_sub, zg])
        # a vertex of F0 represents F+, F- and F0
        f0_rep = np.empty(Nk, dtype=np.int64)
        f0_rep[f0_face] = f0_sub if k == 2 else self.rep[k - 2][f0_sub]
        f0_rep = f0_rep[cf]
        if k == 2:
            order = np.argsort(f0_face, kind="stable")
            ends = f0_sub[order]
            if ends.size != 2 * ncf:
                raise RuntimeError("internal error: a cut polygon did not have two cut points")
            ends = ends.reshape(ncf, 2)
            E = self.N[1]
            self.e0 = self._grow(self.e0, E + ncf)
            self.e1 = self._grow(self.e1, E + ncf)
            self.e0[E:E + ncf] = ends[:, 0]
            self.e1[E:E + ncf] = ends[:, 1]
            self.N[1] = E + ncf
        else:
            self._append_incidence(k - 1, zk[f0_face], f0_sub)
            self.N[k - 1] = n_lower + ncf
        self.rep[k - 1] = self._grow(self.rep[k - 1], n_lower + ncf)
        self.rep[k - 1][n_lower:n_lower + ncf] = f0_rep
        self.rep[k] = self._grow(self.rep[k], Nk + ncf)
        self.rep[k][cf] = f0_rep
        self.rep[k][Nk:Nk + ncf] = f0_rep
        if k == d:
            self.labels = self._grow(self.labels, n_lower + ncf)
            self.labels[n_lower:n_lower + ncf] = label
        elif k == d - 1:  # the pieces of a cut facet keep its label
            self.labels = self._grow(self.labels, Nk + ncf)
            self.labels[Nk:Nk + ncf] = self.labels[cf]
        self.N[k] = Nk + ncf

    def _update_edge_cells(self, ce, f_moved, e_moved, cf, mk):
        """Keep the 2-D edge -> cells table after a split (before the cut edges are added)."""
        E_old = self.N[1] - ce.size                       # edges before this split's pieces
        n_total = self.N[1] + cf.size                     # + the new cut edges F0
        self.ef = self._grow(self.ef, n_total)
        ef = self.ef
        # the negative piece of a cut edge lies in the negative parts of its cells
        old = ef[ce]
        ef[E_old:E_old + ce.size] = np.where(old >= 0, mk[np.maximum(old, 0)], -1)
        # edges moved to F-
        slot = (ef[e_moved, 0] != f_moved).astype(np.int64)
        ef[e_moved, slot] = mk[f_moved]
        # the cut edge F0 of every cut cell separates F+ (= F) and F-
        ef[self.N[1]:n_total, 0] = cf
        ef[self.N[1]:n_total, 1] = mk[cf]

    def _zero_subfaces(self, k, Fp, Bp, state):
        """Pairs (F, g): g a (k-2)-face lying in the hyperplane, in a positive-side facet of F."""
        pos, neg = state["pos"], state["neg"]
        if k == 2:
            zero0 = ~pos[0] & ~neg[0]
            ends = np.stack([self.e0[Bp], self.e1[Bp]], axis=1)
            rows, cols = np.nonzero(zero0[ends])
            return Fp[rows], ends[rows, cols]
        lower = k - 1
        zero_flag = ~pos[k - 2] & ~neg[k - 2]
        n_old = zero_flag.size
        M = self.M[lower]
        bf = self.inc_f[lower][:M]
        bg = self.inc_b[lower][:M]
        ok = bg < n_old
        ok[ok] = zero_flag[bg[ok]]
        zb_f = bf[ok]
        zb_g = bg[ok]
        if zb_f.size == 0 or Fp.size == 0:
            return _EMPTY, _EMPTY
        order = np.argsort(zb_f, kind="stable")
        zb_f = zb_f[order]
        zb_g = zb_g[order]
        lo = np.searchsorted(zb_f, Bp, side="left")
        hi = np.searchsorted(zb_f, Bp, side="right")
        counts = hi - lo
        rep_f = np.repeat(Fp, counts)
        starts = np.repeat(lo, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return rep_f, zb_g[starts + offs]

    def _append_incidence(self, k, f, b):
        M = self.M[k]
        n = f.size
        self.inc_f[k] = self._grow(self.inc_f[k], M + n)
        self.inc_b[k] = self._grow(self.inc_b[k], M + n)
        self.inc_f[k][M:M + n] = f
        self.inc_b[k][M:M + n] = b
        self.M[k] = M + n

    def _record_bits(self, cells_on: np.ndarray, parents: np.ndarray | None = None):
        """Store the states of one split: ``cells_on`` for the cells that existed before it; the
        new cells (the negative parts of ``parents``) copy their parent's history, state off."""
        n_old = cells_on.size
        n_cells = self.N[self.d]
        self.packed = self._grow_cols(self.packed, n_cells)
        if n_cells > n_old:
            self.packed[:, n_old:n_cells] = self.packed[:, parents]
        byte = self.layer_offset + self.n_bits // 8
        self.packed[byte, :n_old] |= cells_on.view(np.uint8) << np.uint8(7 - self.n_bits % 8)
        self.n_bits += 1
        self.n_splits_done += 1

    # ------------------------------------------------------------------ read-out
    @property
    def edges(self) -> np.ndarray:
        """(E, 2) vertex ids of the edges."""
        return np.stack([self.e0[: self.N[1]], self.e1[: self.N[1]]], axis=1)

    def cell_patterns(self) -> np.ndarray:
        """Packed states of all splits: uint8 array (cells, bytes), one row per cell."""
        return np.ascontiguousarray(self.packed[:, : self.N[self.d]].T)

    def facet_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every interior facet: (cell_a, cell_b, label); box-boundary facets are dropped."""
        d = self.d
        if d == 1:
            E = self.N[1]
            cells = np.concatenate([np.arange(E), np.arange(E)])
            facets = np.concatenate([self.e0[:E], self.e1[:E]])
        else:
            M = self.M[d]
            cells = self.inc_f[d][:M]
            facets = self.inc_b[d][:M]
        return facet_pairs(cells, facets, self.labels)


def facet_pairs(cells: np.ndarray, facets: np.ndarray, labels: np.ndarray):
    """(cell_a, cell_b, label) of every facet bounding two cells, from the (cell, facet)
    incidences; facets of one cell (the domain's boundary) are dropped. Pairs come in facet
    order, each in the order of its incidences
    (:func:`~reluthe.regions._plane_edges.edge_cells`).

    Examples
    --------
    >>> facet_pairs(np.array([0, 0, 1, 1]), np.array([5, 7, 7, 6]), np.arange(8) * 10)
    (array([0]), array([1]), array([70]))
    """
    n_facets = int(facets.max()) + 1 if facets.size else 0
    ca, cb = edge_cells(np.ascontiguousarray(facets, dtype=np.int64),
                        np.ascontiguousarray(cells, dtype=np.int64), n_facets)
    two = np.flatnonzero(cb >= 0)
    return ca[two], cb[two], labels[two]
