"""The plane engine's driver: the first layer over the whole rectangle, the deeper layers a group
of its cells at a time (depth first), so that memory follows the cells found.

Cutting layer by layer over the whole rectangle (:mod:`reluthe.regions._plane_cut`) holds a
layer's pre-activations at every vertex of the cells before it: for 2-512-512 that is 30 times
the polygons returned. Here the first layer cuts the rectangle, and its cells are then taken in
groups, in Morton order of their centres, each through all deeper layers before the next group
starts. Only one group's vertex values are held; a group holds about as many bytes as the cells
found so far (half of them, at least ``_GROUP_BYTES``), so the peak stays within a small
multiple of the output.

Groups meet along edges of the first layer's cells. A vertex that a deeper kink makes on such an
edge is made by both groups; the two copies are matched along the edge (same number, same kinks
in the same order, else the cut is not generic and the sequential engine runs) and the later one
is dropped. Which vertices are generic is decided over all groups together: a split's scale (its
largest value over the rectangle) and its nearest value off its line are combined over the
groups and checked as one cut of the whole layer would check them.

After every group the cells found are extrapolated to the whole rectangle by area; once a
sixteenth of the area is done, a forecast of more than twice the memory budget is refused at
once, with the forecast (the budget itself is checked at every step, as before).
"""

from __future__ import annotations

import numpy as np

from reluthe.errors import RegionLimitError
from reluthe.nets import PLNet
from reluthe.regions._complex import ROUNDING_LEVEL
from reluthe.regions._engine import Cut, _split_table, check_range, subdivide
from reluthe.regions._memory import DEFAULT_FRACTION, default_budget, size_text
from reluthe.regions._plane_cut import (
    _EMPTY,
    PlaneCells,
    _box,
    _Budget,
    _Layer,
    _layer_cut,
    _layer_states,
    _NotGeneric,
    _ranks,
    _successor,
)
from reluthe.regions._plane_edges import edge_cells, edges_of_cycles, polygon_areas

__all__ = ["cut_plane"]

_GROUP_BYTES = 16 << 20     # the working memory of a group: this or half the cells found
_PARTS = ("X", "sizes", "cycle", "labels", "rows")
_MAX_GROUPS = 4096          # groups of at least 1/_MAX_GROUPS of the first layer's cells
_EARLY_AREA = 1 / 16        # the share of the area done before a forecast may refuse
_EARLY_FACTOR = 2.0         # refuse at once when the forecast exceeds the budget this many times


class _Limits:
    """``max_regions`` over all groups, and the budget's account of where the cut is."""

    def __init__(self, max_cells: int, budget: _Budget):
        self.max_cells, self.budget, self.done = max_cells, budget, 0

    def check(self, n_cells: int, n_vertices: int, n_splits: int):
        found = self.done + n_cells
        self.budget.found = found
        self.budget.where = (f"{found} cells so far, {n_vertices} vertices in the current group, "
                             f"after {n_splits} cuts")
        if found > self.max_cells:
            raise RegionLimitError(
                f"More than max_regions={self.max_cells} regions: found {found} so far (after "
                f"{n_splits} hyperplanes). Raise max_regions or shrink the domain.", found=found)


class _Generic:
    """Per layer, every split's scale and nearest value off its line over the groups cut so
    far: the genericity of :class:`~reluthe.regions._plane_cut._Layer`, over the whole layer."""

    def __init__(self, tol: float):
        self.level = max(tol, ROUNDING_LEVEL)
        self.scale: dict[int, np.ndarray] = {}
        self.nearest: dict[int, np.ndarray] = {}

    def note(self, li: int, lay: _Layer):
        if li in self.scale:
            np.maximum(self.scale[li], lay.scale, out=self.scale[li])
            np.minimum(self.nearest[li], lay.nearest, out=self.nearest[li])
        else:
            self.scale[li], self.nearest[li] = lay.scale.copy(), lay.nearest.copy()

    def verify(self):
        for li, scale in self.scale.items():
            if np.any(self.nearest[li] <= self.level * scale):
                raise _NotGeneric


def _cut_layers(net: PLNet, first: int, state, rows, Z, label0: int, tol: float,
                budget: _Budget, limits: _Limits, generic: _Generic, func: str):
    """Cut the cells ``state`` (X, ptr, cycle, labels; packed states ``rows``) by the layers
    ``first:`` of ``net``; ``Z``: the pre-activations of layer ``first`` at the vertices.
    Returns the new state, its rows and the cell of ``state`` each new cell lies in."""
    anc = np.arange(state[1].size - 1)
    for li in range(first, len(net.layers)):
        nxt = net.layers[li + 1] if li + 1 < len(net.layers) else None
        lay = _Layer(net.layers[li], Z, nxt, tol, budget)
        check_range(lay.extremes, f"the pre-activations of hidden layer {li + 1}", func)
        state, parent = _layer_cut(state, lay, label0, budget)
        X, ptr, cycle, _ = state
        label0 += lay.S
        limits.check(ptr.size - 1, X.shape[0], label0)
        budget.reserve(5 * (ptr.size - 1) * (rows.shape[1] + (lay.S + 7) // 8)
                       + 2 * X.shape[0] * (8 * lay.n_next + (lay.S + 7) // 8),
                       "the states of the new cells")
        rows = _layer_states(lay, ptr, cycle, rows, parent)
        anc = anc[parent]
        generic.note(li, lay)
        Z = lay.next_values(budget) if nxt is not None else None
        del lay                          # the layer's values: only the next layer's are kept
        budget.hold(*state, rows, anc, *([] if Z is None else [Z]))
    return state, rows, anc


def _morton(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Morton (Z-order) keys of points in the rectangle, on a 2^16 grid per axis."""
    q = np.clip((points - low) / (high - low) * 65535, 0, 65535).astype(np.uint64)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        q = (q | (q << np.uint64(shift))) & np.uint64(mask)
    return q[:, 0] | (q[:, 1] << np.uint64(1))


class _Deeper:
    """The deeper layers over the first layer's cells, a group at a time, and the merge."""

    def __init__(self, net: PLNet, lay1: _Layer, state1, rows1, tol: float, budget: _Budget,
                 limits: _Limits, func: str):
        self.net, self.lay1, self.tol, self.budget, self.limits, self.func = (
            net, lay1, tol, budget, limits, func)
        self.state1, self.rows1 = state1, rows1
        self.generic = _Generic(tol)
        lay1.signs = []                      # kept: its records, to make the values anywhere
        X1, ptr1, cyc1, lab1 = state1
        self.n1 = ptr1.size - 1
        self.S1 = lay1.S
        # the edges of the first layer's cells, made when there are several groups
        self.edge_key = self.edge_of_key = self.edge_cells = self.edge_ends = _EMPTY
        # per group: its new vertices, cell sizes, cycles, labels and packed states
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in _PARTS}
        self.records: list[np.ndarray] = []   # per group: vertices on edges to other groups
        self.n_vertices = X1.shape[0]

    def _edge_tables(self):
        """The edges of the first layer's cells: (cell, label) -> edge, edge -> its two cells
        and its ends (what :meth:`_on_other_groups` looks up)."""
        X1, ptr1, cyc1, lab1 = self.state1
        cell_of = np.repeat(np.arange(self.n1), np.diff(ptr1))
        e0, e1, _, edge = edges_of_cycles(cyc1, cyc1[_successor(ptr1)], X1.shape[0])
        inner = lab1 >= 0
        key = cell_of[inner] * self.S1 + lab1[inner]
        order = np.argsort(key)
        self.edge_key, self.edge_of_key = key[order], edge[inner][order]
        self.edge_cells = np.stack(edge_cells(edge, cell_of, e0.size), axis=1)
        self.edge_ends = np.stack([e0, e1], axis=1)

    def _held(self) -> list[np.ndarray]:
        arrays = [*self.state1, self.rows1, self.edge_key, self.edge_of_key, self.edge_cells,
                  self.edge_ends, *self.records]
        lay = self.lay1
        arrays += [lay.Z, lay.b_a, lay.b_b, lay.b_t, lay.b_s, lay.i_p, lay.i_q, lay.i_u,
                   lay.i_s1, lay.i_s2] + ([] if lay.b_rows is None else [lay.b_rows])
        return arrays + [a for part in self.parts.values() for a in part]

    def _output_bytes(self) -> int:
        return sum(a.nbytes for part in self.parts.values() for a in part)

    def run(self) -> PlaneCells:
        X1, ptr1, cyc1, _ = self.state1
        per_cell = (cyc1.size / max(self.n1, 1)) * 8 * 4 * max(
            max(layer.out_dim for layer in self.net.layers[1:]), 1)
        if self.n1 * per_cell <= _GROUP_BYTES:           # one group: the cells in their order
            self.order, self.pos = np.arange(self.n1), np.arange(self.n1)
            self._group(0, self.n1)
            return self._finish()
        self._edge_tables()
        centres = np.add.reduceat(X1[cyc1], ptr1[:-1]) / np.diff(ptr1)[:, None]
        low, high = X1.min(axis=0), X1.max(axis=0)
        self.order = np.argsort(_morton(centres, low, high), kind="stable")
        self.pos = np.empty(self.n1, dtype=np.int64)
        self.pos[self.order] = np.arange(self.n1)
        areas = polygon_areas(X1, ptr1, cyc1)
        total_area, done_area = float(areas.sum()), 0.0
        start = 0
        size = max(1, int(_GROUP_BYTES / per_cell))
        while start < self.n1:
            stop = min(self.n1, start + size)
            if self.n1 - stop < size // 4:              # no small last group: its own
                stop = self.n1                          # overhead is the larger cost
            used = self._group(start, stop)
            done_area += float(areas[self.order[start:stop]].sum())
            self._forecast(done_area / total_area)
            size = max(-(-self.n1 // _MAX_GROUPS),
                       int(max(_GROUP_BYTES, self._output_bytes() / 2) * (stop - start)
                           / max(used, 1)))
            start = stop
        return self._finish()

    def _forecast(self, share: float):
        """Refuse at once when the cells extrapolated from the ``share`` of the area done would
        take more than ``_EARLY_FACTOR`` budgets."""
        if share < _EARLY_AREA or share >= 1:
            return
        done = self._output_bytes()
        need = done / share
        limit = self.budget.max_bytes
        if need > _EARLY_FACTOR * limit:
            raise RegionLimitError(
                f"Memory budget max_memory={limit} bytes ({size_text(limit)}) cannot hold the "
                f"regions of this rectangle: the {self.limits.done} cells found in the first "
                f"{share:.1%} of its area take {size_text(done)}, which forecasts about "
                f"{int(self.limits.done / share)} cells and {size_text(int(need))} for the whole "
                f"rectangle, more than {_EARLY_FACTOR:g} times the budget. Raise max_memory "
                f"(None: {DEFAULT_FRACTION:g} of the available memory), shrink the domain, or "
                f"use a network with fewer units.", found=self.limits.done)

    def _group(self, start: int, stop: int) -> int:
        """Cut the first layer's cells ``order[start:stop]`` by all deeper layers; returns
        the most bytes counted on top of those held between groups."""
        budget = self.budget
        budget.base = sum(a.nbytes for a in self._held())
        budget.hold()
        budget.peak = before = budget.total()
        cells = self.order[start:stop]
        X1, ptr1, cyc1, lab1 = self.state1
        counts = np.diff(ptr1)[cells]
        budget.reserve(8 * 6 * int(counts.sum()), "the cells of a group")
        idx = np.repeat(ptr1[cells], counts) + _ranks(counts)
        if stop - start == self.n1:                   # all cells: every vertex, in order
            gv, local = np.arange(X1.shape[0]), cyc1[idx]
        else:
            gv, local = np.unique(cyc1[idx], return_inverse=True)
        state = (X1[gv], np.concatenate([[0], np.cumsum(counts)]), local.ravel(), lab1[idx])
        Z = self.lay1.next_values_at(self.net.layers[1], gv, budget)
        budget.hold(*state, Z)
        state, rows, anc = _cut_layers(self.net, 1, state, self.rows1[cells], Z, self.S1,
                                       self.tol, budget, self.limits, self.generic, self.func)
        X, ptr, cycle, labels = state
        n_old = gv.size
        gid = np.where(cycle >= n_old, cycle - n_old + self.n_vertices,
                       gv[np.minimum(cycle, n_old - 1)])
        self.records.append(self._on_other_groups(state, cells[anc], gid, start, stop))
        for key, value in zip(_PARTS, (X[n_old:].copy(), np.diff(ptr), gid, labels, rows)):
            self.parts[key].append(value)
        self.n_vertices += X.shape[0] - n_old
        self.limits.done += ptr.size - 1
        return budget.peak - before

    def _on_other_groups(self, state, first_cell, gid, start: int, stop: int) -> np.ndarray:
        """The new vertices of a group on edges it shares with other groups: rows (edge, group
        start, position along the edge, the split that made it, global vertex id)."""
        X, ptr, cycle, labels = state
        if stop - start == self.n1:                       # one group: no other groups
            return np.zeros((0, 5))
        n_cells = ptr.size - 1
        cell = np.repeat(np.arange(n_cells), np.diff(ptr))
        side = np.flatnonzero((labels >= 0) & (labels < self.S1))
        P = first_cell[cell[side]]
        k = np.searchsorted(self.edge_key, P * self.S1 + labels[side])
        edge = self.edge_of_key[np.minimum(k, self.edge_key.size - 1)]
        if np.any(self.edge_key[np.minimum(k, self.edge_key.size - 1)] != P * self.S1
                  + labels[side]):
            raise RuntimeError("internal error: a side of a group's cell lies on no edge of "
                               "the first layer")
        ends = self.edge_cells[edge]
        other = np.where(ends[:, 0] == P, ends[:, 1], ends[:, 0])
        outside = (other >= 0) & ((self.pos[np.maximum(other, 0)] < start)
                                  | (self.pos[np.maximum(other, 0)] >= stop))
        side, edge = side[outside], edge[outside]
        succ = _successor(ptr)
        pred = np.empty_like(succ)
        pred[succ] = np.arange(succ.size)
        n_first = self.state1[0].shape[0]
        # the vertex at the start and at the end of every side, and the other side there
        entry = np.concatenate([side, succ[side]])
        split = np.concatenate([labels[pred[side]], labels[succ[side]]])
        edge = np.concatenate([edge, edge])
        new = gid[entry] >= n_first
        entry, split, edge = entry[new], split[new], edge[new]
        g = gid[entry]
        keep = np.unique(edge * (self.n_vertices + X.shape[0] + 1) + g, return_index=True)[1]
        entry, split, edge, g = entry[keep], split[keep], edge[keep], g[keep]
        X1 = self.state1[0]
        e0, e1 = X1[self.edge_ends[edge, 0]], X1[self.edge_ends[edge, 1]]
        along = np.einsum("ij,ij->i", X[cycle[entry]] - e0, e1 - e0)
        return np.stack([edge, np.full(edge.size, start), along, split, g], axis=1)

    def _joined(self, key: str) -> np.ndarray:
        """One part of all groups in one array; the groups' arrays are let go."""
        part = self.parts[key]
        out = part[0] if len(part) == 1 else np.concatenate(part)
        part.clear()
        return out

    def _finish(self) -> PlaneCells:
        """All groups' cells with shared vertices: the copies of a vertex made by two groups
        on their common edge are matched and the later one dropped."""
        self.generic.verify()
        budget = self.budget
        budget.base = 0
        budget.reserve(sum(a.nbytes for a in self._held())
                       + max(sum(a.nbytes for a in part) for part in self.parts.values()),
                       "joining the groups")
        self.parts["X"].insert(0, self.state1[0])
        X, sizes, cycle, labels, rows = (self._joined(key) for key in _PARTS)
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        rec = np.concatenate(self.records) if self.records else np.zeros((0, 5))
        if rec.size:
            order = np.lexsort((rec[:, 2], rec[:, 1], rec[:, 0]))
            rec = rec[order]
            block = np.r_[True, (rec[1:, 0] != rec[:-1, 0]) | (rec[1:, 1] != rec[:-1, 1])]
            starts = np.flatnonzero(block)
            rank = np.arange(rec.shape[0]) - np.repeat(starts, np.diff(np.r_[starts,
                                                                              rec.shape[0]]))
            rec = rec[np.lexsort((rec[:, 1], rank, rec[:, 0]))]
            a, b = rec[0::2], rec[1::2]
            if (rec.shape[0] % 2 or np.any(a[:, 0] != b[:, 0]) or np.any(a[:, 1] == b[:, 1])
                    or np.any(a[:, 3] != b[:, 3])):
                raise _NotGeneric            # the two groups disagree on an edge they share
            keep_id, drop_id = a[:, 4].astype(np.int64), b[:, 4].astype(np.int64)
            remap = np.arange(X.shape[0])
            remap[drop_id] = keep_id
            kept = np.ones(X.shape[0], bool)
            kept[drop_id] = False
            new_id = np.cumsum(kept) - 1
            cycle = new_id[remap[cycle]]
            X = X[kept]
        budget.hold()
        return PlaneCells(X, ptr, cycle, labels, rows, budget)


def _cut_generic(net: PLNet, low, high, tol: float, max_cells: int, budget: _Budget,
                 func: str) -> PlaneCells:
    X, ptr, cycle, labels = _box(low, high)
    rows = np.zeros((1, 0), dtype=np.uint8)
    if not net.layers:
        return PlaneCells(X, ptr, cycle, labels, rows, budget)
    limits = _Limits(max_cells, budget)
    first = net.layers[0]
    Z = X @ first.weight.T + first.bias
    check_range(Z, "the pre-activations of hidden layer 1", func)
    lay = _Layer(first, Z, None, tol, budget)
    state, parent = _layer_cut((X, ptr, cycle, labels), lay, 0, budget)
    limits.check(state[1].size - 1, state[0].shape[0], lay.S)
    budget.reserve(5 * (state[1].size - 1) * ((lay.S + 7) // 8), "the states of the new cells")
    rows = _layer_states(lay, state[1], state[2], rows, parent)
    budget.hold(*state, rows)
    if len(net.layers) == 1:
        return PlaneCells(*state, rows, budget)
    return _Deeper(net, lay, state, rows, tol, budget, limits, func).run()


def cut_plane(net: PLNet, low: np.ndarray, high: np.ndarray, *, tol: float, max_cells: int,
              max_bytes: int | None = None, func: str = "reluthe.regions") -> Cut:
    """Cut the rectangle ``[low, high]`` (2-D) by every kink of every hidden unit of ``net``.

    The layer-at-once engine of :mod:`reluthe.regions._plane_cut`, depth first over groups of
    the first layer's cells, where no vertex comes within the tolerance of a kink it is not on;
    otherwise :func:`~reluthe.regions._engine.subdivide` (the sequential engine, with its
    tolerance semantics). Raises InvalidInputError where a value overflows, RegionLimitError
    beyond ``max_cells`` cells or the memory budget ``max_bytes`` (None: the default budget),
    or at once when the cells forecast from a sixteenth of the area would need twice that.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.array([[1.0, 0.2], [0.3, 1.0]]), np.array([0.1, -0.2])),
    ...                 (np.ones((1, 2)), np.zeros(1))])
    >>> cut = cut_plane(net, -np.ones(2), np.ones(2), tol=1e-10, max_cells=100)
    >>> type(cut.sub).__name__, cut.sub.N
    ('PlaneCells', [9, 12, 4])
    """
    if max_bytes is None:
        max_bytes = default_budget()
    weights = sum(a.nbytes for layer in net.layers for a in (layer.weight, layer.bias))
    weights += sum(a.nbytes for a in net.output) if net.output is not None else 0
    try:
        cells = _cut_generic(net, low, high, tol, max_cells, _Budget(max_bytes, weights), func)
    except _NotGeneric:
        cells = None
    if cells is None:                    # outside the except block: its arrays are freed
        try:
            return subdivide(net, low, high, tol=tol, max_cells=max_cells, max_bytes=max_bytes,
                             func=func)
        except RegionLimitError as err:
            raise RegionLimitError(
                f"{err} (The sequential engine ran because a vertex came within tol * scale of "
                f"a kink it is not on, tol={tol:g}; its memory grows with the vertices times "
                f"the units. A smaller tol, down to {ROUNDING_LEVEL:.1e}, may keep the plane "
                f"engine.)", found=err.found) from err
    return Cut(cells, net, _split_table(net), func)
