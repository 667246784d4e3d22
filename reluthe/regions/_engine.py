"""Run a :class:`~reluthe.nets.PLNet` through the subdivision engine and read the cells out.

:func:`subdivide` cuts the box ``[low, high]`` (in the net's input coordinates) layer by layer;
:func:`cells_to_regions` groups cells by activation pattern (normally one cell per pattern) and
builds the adjacency between regions; :func:`summarize` reads sizes and interior points, and
:class:`LinearReadout` counts the linear regions from every region's exact affine map
(:mod:`reluthe.regions._linear`) when a result is first asked for them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dgemm

from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._complex import Subdivision
from reluthe.regions._linear import (
    LinearCounts,
    affine_maps,
    linear_counts,
    map_tolerance,
    rounding_error,
    unit_bounds,
)
from reluthe.regions._memory import default_budget, over_budget
from reluthe.regions._result import pack_by_layout, unpack_states

__all__ = ["Cut", "subdivide", "cells_to_regions", "region_maps", "face_points", "pattern_bits",
           "LinearReadout", "numeric_guard"]

# floats in one working array of the affine maps (a chunk of regions at a time)
_MAP_CHUNK_FLOATS = 1 << 16
# largest |value| of a pre-activation or output at a vertex: a difference of two of them (the
# interpolation along an edge) and a sum of a few stay finite
MAX_ABS = float(np.finfo(np.float64).max) / 8


@dataclass
class Cut:
    """A finished subdivision with what the readers need."""

    sub: Subdivision
    net: PLNet
    split_unit: np.ndarray      # (n_splits, 2): (layer, unit) of every split id
    func: str                   # the public function, for error messages


def _split_table(net: PLNet) -> np.ndarray:
    units = [(li, u) for li, layer in enumerate(net.layers) for u in range(layer.width)
             for _ in layer.activation.breakpoints]
    return np.array(units, dtype=np.int64).reshape(-1, 2)


def check_range(values: np.ndarray, what: str, func: str):
    """Raise InvalidInputError if ``values`` (computed from finite inputs) overflowed: NaN/inf,
    or beyond :data:`MAX_ABS`, where the interpolation along an edge would overflow."""
    if values.size == 0:
        return
    top = max(float(np.max(values)), -float(np.min(values)))
    if not top <= MAX_ABS:                                   # also NaN
        raise InvalidInputError(
            f"The inputs of {func} are outside float64's range: {what} reach "
            f"{top:.3g} (NaN/inf: a product of finite weights and coordinates overflowed), "
            f"beyond {MAX_ABS:.3g}, where the region geometry is no longer exact. Rescale the "
            f"network's weights or the domain.")


@contextmanager
def numeric_guard(func: str):
    """Turn a float64 overflow in numpy inside the block into a named InvalidInputError."""
    try:
        with np.errstate(over="raise"):
            yield
    except FloatingPointError as exc:
        raise InvalidInputError(
            f"The inputs of {func} are outside float64's range: a computation on the network "
            f"and the domain overflowed ({exc}). Rescale the network's weights or the "
            f"domain.") from exc


def subdivide(net: PLNet, low: np.ndarray, high: np.ndarray, *, tol: float,
              max_cells: int, max_bytes: int | None = None,
              func: str = "reluthe.regions") -> Cut:
    """Cut the box ``[low, high]`` by every kink of every hidden unit of ``net``; raise
    InvalidInputError where a value overflows, RegionLimitError beyond the limits
    (``max_bytes``: None for the default memory budget)."""
    if max_bytes is None:
        max_bytes = default_budget()
    weights = sum(a.nbytes for layer in net.layers for a in (layer.weight, layer.bias))
    weights += sum(a.nbytes for a in net.output) if net.output is not None else 0
    sub = Subdivision(low, high, tol=tol, max_cells=max_cells, max_bytes=max_bytes,
                      held=weights)
    split_unit = _split_table(net)
    label = 0
    Z = (np.asfortranarray(sub.X[: sub.V] @ net.layers[0].weight.T + net.layers[0].bias)
         if net.layers else None)
    for li, layer in enumerate(net.layers):
        bps = layer.activation.breakpoints
        sub.start_layer(Z, layer.width * len(bps))
        zmax = Z.max(axis=0)
        zmin = Z.min(axis=0)
        check_range(np.concatenate([zmax, zmin]), f"the pre-activations of hidden layer {li + 1}",
                    func)
        del Z
        for u in range(layer.width):
            for bp in bps:
                scale = max(abs(zmax[u] - bp), abs(zmin[u] - bp))
                sub.split(u, bp, label, scale)
                label += 1
        if li + 1 == len(net.layers):
            break
        # inputs of the next layer, block by block of this layer's units
        nxt_w, nxt_b = net.layers[li + 1].weight.T, net.layers[li + 1].bias
        sub.reserve(8 * sub.V * (3 * nxt_b.size + layer.out_dim),
                    "the next layer's pre-activations at all vertices")
        Z = np.empty((sub.V, nxt_b.size), order="F")
        Z[:] = nxt_b
        for lo, hi, values in sub.layer_values():
            # Z += act(values) @ nxt_w[lo:hi] (pass-through units as they are), in place
            Z = dgemm(1.0, layer.apply(values, lo).T, nxt_w[lo:hi], beta=1.0, c=Z,
                      trans_a=True, overwrite_c=True)
        order = sub.layer_order()
        if order is not None:
            Z = np.asfortranarray(np.take(Z, order, axis=0))
    return Cut(sub, net, split_unit, func)


def face_points(sub: Subdivision) -> list[np.ndarray]:
    """A point in the relative interior of every face, per level (mean of its facets' points)."""
    return face_values(sub, sub.X[: sub.V])


def face_values(sub: Subdivision, values: np.ndarray) -> list[np.ndarray]:
    """Averages of vertex ``values`` (V, m) in the same way as :func:`face_points`."""
    d = sub.d
    vals = [values]
    if d >= 1:
        ev = sub.edges
        vals.append(0.5 * (values[ev[:, 0]] + values[ev[:, 1]]))
    for k in range(2, d + 1):
        M = sub.M[k]
        F = sub.inc_f[k][:M]
        B = sub.inc_b[k][:M]
        n = sub.N[k]
        cnt = np.bincount(F, minlength=n).astype(np.float64)
        acc = np.stack([np.bincount(F, weights=vals[k - 1][B, j], minlength=n)
                        for j in range(values.shape[1])], axis=1)
        vals.append(acc / cnt[:, None])
    return vals


def face_volumes(sub: Subdivision, pts: list[np.ndarray]) -> np.ndarray:
    """k-volume of every cell (level d), by pyramids from interior points, level by level."""
    d = sub.d
    X = pts[0]
    ev = sub.edges
    vec = X[ev[:, 1]] - X[ev[:, 0]]
    vol = np.linalg.norm(vec, axis=1)
    if d == 1:
        return vol
    with np.errstate(invalid="ignore", divide="ignore"):
        Q = (vec / vol[:, None])[:, None, :]                      # (E, 1, d)
    Q = np.nan_to_num(Q)
    for k in range(2, d + 1):
        M = sub.M[k]
        F = sub.inc_f[k][:M]
        B = sub.inc_b[k][:M]
        n = sub.N[k]
        diff = pts[k][F] - pts[k - 1][B]                           # (M, d)
        QB = Q[B]                                                  # (M, k-1, d)
        proj = np.einsum("mjd,md->mj", QB, diff)
        resid = diff - np.einsum("mj,mjd->md", proj, QB)
        height = np.linalg.norm(resid, axis=1)
        new_vol = np.bincount(F, weights=height * vol[B], minlength=n) / k
        if k < d:
            first = np.full(n, -1, dtype=np.int64)
            first[F[::-1]] = np.arange(M)[::-1]
            r = resid[first]
            norm = np.linalg.norm(r, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                q = np.nan_to_num(r / norm[:, None])
            Q = np.concatenate([QB[first], q[:, None, :]], axis=1)
        vol = new_vol
    return vol


def _all_distinct(packed: np.ndarray) -> bool:
    """Whether all rows differ: sort 64-bit hashes of the rows; rows with equal hashes are
    compared in full."""
    n, width = packed.shape
    if n < 2:
        return True
    words = np.zeros((n, -(-width // 8) * 8), dtype=np.uint8)
    words[:, :width] = packed
    words = words.view(np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for k in range(words.shape[1]):
        h = h ^ (words[:, k] + np.uint64(k))
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    order = np.argsort(h)
    same = np.flatnonzero(h[order[1:]] == h[order[:-1]])
    return not np.any(np.all(words[order[same]] == words[order[same + 1]], axis=1))


def pattern_bits(net: PLNet, packed: np.ndarray) -> np.ndarray:
    """The packed activation patterns (:attr:`~reluthe.nets.PLNet.pattern_layout`) of cells or
    points with packed engine states ``packed``: the same without max-pools; with them, the
    tournament units replaced by the argmax of every pooled unit."""
    if not net.pools:
        return packed
    states = unpack_states(packed, net.state_layout)
    return pack_by_layout(net.pattern_states(states), net.pattern_layout)


def cells_to_regions(cut: Cut):
    """Group cells by pattern (a region of a max-pool net is the union of the tournament's
    cells with one argmax: :class:`~reluthe.nets.MaxPool`). Returns (region_of_cell, rep_cell,
    edges, edge_labels)."""
    sub = cut.sub
    packed = pattern_bits(cut.net, sub.cell_patterns())
    n_cells = packed.shape[0]
    if packed.shape[1] == 0:
        region_of_cell = np.zeros(n_cells, dtype=np.int64)
        rep = np.zeros(1 if n_cells else 0, dtype=np.int64)
    elif not cut.net.pools and _all_distinct(packed):    # the rule: one cell per pattern
        region_of_cell = np.arange(n_cells)
        rep = np.arange(n_cells)
    else:                                                # cells merged by the tolerance
        view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, rep, region_of_cell = np.unique(view, return_index=True, return_inverse=True)
        order = np.argsort(rep, kind="stable")           # number regions by first cell
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        region_of_cell = rank[region_of_cell.ravel()]
        rep = rep[order]
    ca, cb, labels = sub.facet_cells()
    ra, rb = region_of_cell[ca], region_of_cell[cb]
    keep = ra != rb
    ra, rb, labels = ra[keep], rb[keep], labels[keep]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    if lo.size:
        key = lo * (rep.size + 1) + hi
        _, first = np.unique(key, return_index=True)
        lo, hi, labels = lo[first], hi[first], labels[first]
    return region_of_cell, rep, np.stack([lo, hi], axis=1), labels


def region_maps(net: PLNet, packed: np.ndarray, linear_tol: float, func: str):
    """Exact affine maps ``y = J x + c`` of every region (``packed``: their engine states,
    packed) and the tolerances to compare them: (jacobians, offsets, (jacobian_tol,
    offset_tol)). Computed a chunk of regions at a time (see
    :func:`reluthe.regions._linear.affine_maps`)."""
    n, d = packed.shape[0], net.input_dim
    layout = net.state_layout
    J = np.empty((n, net.output_dim, d))
    c = np.empty((n, net.output_dim))
    chunk = max(1, _MAP_CHUNK_FLOATS // (max(net.widths, default=1) * (d + 1)))
    slope_max = offset_max = np.zeros(net.n_units)
    for lo in range(0, n, chunk):
        states = unpack_states(packed[lo:lo + chunk], layout)
        J[lo:lo + chunk], c[lo:lo + chunk] = affine_maps(net, states)
        s_max, o_max = unit_bounds(net, states)
        slope_max, offset_max = np.maximum(slope_max, s_max), np.maximum(offset_max, o_max)
    check_range(J, "the Jacobians of the network's affine maps", func)
    check_range(c, "the offsets of the network's affine maps", func)
    errors = rounding_error(net, slope_max, offset_max)
    check_range(np.array(errors), "the rounding bounds of the network's affine maps", func)
    return J, c, map_tolerance(errors, J, c, linear_tol)


def maps_bytes(net: PLNet, n_regions: int) -> int:
    """A bound on the arrays of :func:`region_maps` and of the grouping in
    :func:`~reluthe.regions._linear.linear_counts`: the maps (``n (d + 1) m`` floats, ``m``
    outputs) about eight times (scaled, rounded, sorted copies), and three working arrays of
    one chunk."""
    d = net.input_dim
    per_region = (d + 1) * net.output_dim
    return 8 * (8 * n_regions * per_region + 3 * _MAP_CHUNK_FLOATS + 4 * n_regions)


@dataclass
class Summary:
    """What every result needs, computed once from a finished subdivision."""

    region_of_cell: np.ndarray
    rep_cell: np.ndarray
    edges: np.ndarray            # (n_edges, 2) region ids
    edge_units: np.ndarray       # (n_edges, 2) (layer, unit) that flips across the shared facet
    sizes: np.ndarray            # length / area / volume of every region (domain coordinates)
    interior: np.ndarray         # (n_regions, d) a point inside every region (domain coordinates)
    packed: np.ndarray           # (n_regions, bytes) packed split states
    linear: LinearReadout        # linear regions under the named definitions, on demand


@dataclass(frozen=True, eq=False)
class LinearReadout:
    """The linear regions of a result, computed when first asked for (:meth:`counts`): the
    exact affine map of every region (:func:`region_maps`) grouped by
    :func:`~reluthe.regions._linear.linear_counts`. Counting the activation regions does not
    need them, and for many regions they cost more than the cut.

    ``packed``: the engine states of every region, packed (:attr:`PLNet.state_layout`);
    ``edges``: neighbouring regions; ``max_bytes``: the memory budget of the count; ``order``:
    the regions renumbered after the maps' numbering (new ``i`` is old ``order[i]``)."""

    net: PLNet
    packed: np.ndarray
    edges: np.ndarray
    linear_tol: float
    max_bytes: int
    func: str
    order: np.ndarray | None = None

    def counts(self) -> LinearCounts:
        """The :class:`~reluthe.regions._linear.LinearCounts` of the regions (each call
        computes them: results cache them)."""
        need = maps_bytes(self.net, self.packed.shape[0])
        if need > self.max_bytes:
            raise over_budget(self.max_bytes, 0, need, "the affine maps of the regions",
                              "reading out the linear regions", None)
        with numeric_guard(self.func):
            J, c, tol = region_maps(self.net, self.packed, self.linear_tol, self.func)
            linear = linear_counts(J, c, self.edges, tol=tol)
        return linear if self.order is None else linear.permuted(self.order)

    def permuted(self, order: np.ndarray) -> LinearReadout:
        """The same regions renumbered: new region ``i`` is current region ``order[i]``."""
        total = order if self.order is None else self.order[order]
        return LinearReadout(self.net, self.packed, self.edges, self.linear_tol,
                             self.max_bytes, self.func, total)


def readout_bytes(sub: Subdivision) -> int:
    """A bound on the arrays of :func:`summarize` before the affine maps: interior points of
    every face (``N_k d`` floats), the per-incidence differences and frames of the largest level
    (``M_k d (k + 3)``: freed level by level), the edge vectors (``N_1 (2 d + 4)``), a few
    arrays per cell and the packed patterns three times."""
    d = sub.d
    floats = sum(sub.N[k] * d for k in range(d + 1))
    floats += max(sub.M[k] * d * (k + 3) for k in range(d + 1))
    floats += sub.N[1] * (2 * d + 4) + sub.N[d] * 8
    return 8 * floats + 3 * sub.packed.shape[0] * sub.N[d]


def summarize(cut: Cut, linear_tol: float, cell_sizes: np.ndarray | None = None,
              cell_points: np.ndarray | None = None) -> Summary:
    """Regions, adjacency, sizes and interior points of a subdivision (the cells' sizes and
    interior points are computed here unless given), and its linear regions to compute on
    demand (:class:`LinearReadout`). ``linear_tol``: the relative tolerance of
    :func:`~reluthe.regions._linear.map_tolerance` (0: the rounding bound alone)."""
    sub = cut.sub
    sub.reserve(readout_bytes(sub), "reading out the regions (sizes, adjacency, patterns)")
    region_of_cell, rep, edges, labels = cells_to_regions(cut)
    if cell_sizes is None or cell_points is None:
        pts = face_points(sub)
        cell_points = pts[sub.d] if cell_points is None else cell_points
        cell_sizes = face_volumes(sub, pts) if cell_sizes is None else cell_sizes
    n_regions = rep.size
    if n_regions == region_of_cell.size:                 # one cell per region
        first = rep
        sizes = cell_sizes
    else:
        sizes = np.bincount(region_of_cell, weights=cell_sizes, minlength=n_regions)
        # a region's interior point: that of its largest cell
        order = np.lexsort((-cell_sizes, region_of_cell))
        first = order[np.r_[True, region_of_cell[order][1:] != region_of_cell[order][:-1]]]
    interior = cell_points[first]
    edge_units = (cut.net.pattern_units(cut.split_unit[labels]) if labels.size
                  else np.zeros((0, 2), dtype=np.int64))
    engine_packed = sub.cell_patterns()[first]
    packed = pattern_bits(cut.net, engine_packed)
    linear = LinearReadout(cut.net, engine_packed, edges, linear_tol, sub.max_bytes, cut.func)
    return Summary(region_of_cell, first, edges, edge_units, sizes, interior, packed, linear)


def reorder(s: Summary, order: np.ndarray) -> Summary:
    """The same summary with regions renumbered: new region i is old region ``order[i]``."""
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    edges = np.sort(inverse[s.edges], axis=1) if s.edges.size else s.edges
    return Summary(inverse[s.region_of_cell], s.rep_cell[order], edges, s.edge_units,
                   s.sizes[order], s.interior[order], s.packed[order], s.linear.permuted(order))
