"""Run a :class:`~reluthe.nets.PLNet` through the subdivision engine and read the cells out.

:func:`subdivide` cuts the box ``[low, high]`` (in the net's input coordinates) layer by layer;
:func:`cells_to_regions` groups cells by activation pattern (normally one cell per pattern) and
builds the adjacency between regions; :func:`linear_merge` merges neighbouring regions on which the
network is the same affine map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dgemm
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._complex import Subdivision
from reluthe.regions._memory import default_budget

__all__ = ["Cut", "subdivide", "cells_to_regions", "linear_merge", "face_points"]

# random projections of the output used to compare affine maps (fixed: results are deterministic)
_N_PROJ = 3
_PROJ_SEED = 20240527
# largest |value| of a pre-activation or output at a vertex: a difference of two of them (the
# interpolation along an edge) and a sum of a few stay finite
MAX_ABS = float(np.finfo(np.float64).max) / 8


@dataclass
class Cut:
    """A finished subdivision with what the readers need."""

    sub: Subdivision
    net: PLNet
    split_unit: np.ndarray      # (n_splits, 2): (layer, unit) of every split id
    out_proj: np.ndarray        # (V, _N_PROJ): projected network output at the vertices


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
    rng = np.random.default_rng(_PROJ_SEED)
    if net.output is not None:
        w, b = net.output
        proj = rng.standard_normal((w.shape[0], _N_PROJ))
        out_w, out_b = w.T @ proj, b @ proj           # output projected: h @ out_w + out_b
    else:
        width = net.layers[-1].width if net.layers else net.input_dim
        out_w, out_b = rng.standard_normal((width, _N_PROJ)), np.zeros(_N_PROJ)
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
        # inputs of the next layer (or of the output), block by block of this layer's units
        nxt_w, nxt_b = ((net.layers[li + 1].weight.T, net.layers[li + 1].bias)
                        if li + 1 < len(net.layers) else (out_w, out_b))
        sub.reserve(8 * sub.V * (3 * nxt_b.size + layer.width),
                    "the next layer's pre-activations at all vertices")
        Z = np.empty((sub.V, nxt_b.size), order="F")
        Z[:] = nxt_b
        for lo, hi, values in sub.layer_values():
            # Z += act(values) @ nxt_w[lo:hi], accumulated in place by BLAS
            Z = dgemm(1.0, layer.activation(values).T, nxt_w[lo:hi], beta=1.0, c=Z,
                      trans_a=True, overwrite_c=True)
        order = sub.layer_order()
        if order is not None:
            Z = np.asfortranarray(np.take(Z, order, axis=0))
    out_proj = Z if net.layers else sub.X[: sub.V] @ out_w + out_b
    check_range(out_proj, "the network's outputs", func)
    return Cut(sub, net, split_unit, np.ascontiguousarray(out_proj))


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


def cells_to_regions(cut: Cut):
    """Group cells by pattern. Returns (region_of_cell, rep_cell, edges, edge_labels)."""
    sub = cut.sub
    packed = sub.cell_patterns()
    n_cells = packed.shape[0]
    if packed.shape[1] == 0:
        region_of_cell = np.zeros(n_cells, dtype=np.int64)
        rep = np.zeros(1 if n_cells else 0, dtype=np.int64)
    elif _all_distinct(packed):                          # the rule: one cell per pattern
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


def cell_gradients(cut: Cut, pts: list[np.ndarray]) -> np.ndarray:
    """Gradient of each projected output on each cell: (cells, _N_PROJ, d), least squares."""
    sub = cut.sub
    d = sub.d
    vals = face_values(sub, cut.out_proj)
    if d == 1:
        ev = sub.edges
        dx = pts[0][ev[:, 1], 0] - pts[0][ev[:, 0], 0]
        dy = vals[0][ev[:, 1]] - vals[0][ev[:, 0]]
        return (dy / dx[:, None])[:, :, None]
    M = sub.M[d]
    F = sub.inc_f[d][:M]
    B = sub.inc_b[d][:M]
    n = sub.N[d]
    dx = pts[d - 1][B] - pts[d][F]                      # (M, d)
    dy = vals[d - 1][B] - vals[d][F]                    # (M, P)
    G = np.zeros((n, d, d))
    R = np.zeros((n, d, dy.shape[1]))
    for i in range(d):
        for j in range(i, d):
            G[:, i, j] = np.bincount(F, weights=dx[:, i] * dx[:, j], minlength=n)
            G[:, j, i] = G[:, i, j]
        for p in range(dy.shape[1]):
            R[:, i, p] = np.bincount(F, weights=dx[:, i] * dy[:, p], minlength=n)
    sol = np.linalg.solve(G, R)                          # (n, d, P)
    return np.transpose(sol, (0, 2, 1))


def linear_merge(cut: Cut, cell_grads, rep, edges, diam, linear_tol: float):
    """Number of linear regions: connected components of 'same affine map' neighbour pairs.

    Two neighbouring regions are one linear piece when their (projected) affine maps differ by at
    most ``linear_tol * scale`` over the two regions (gradient difference times twice the larger
    diameter), with ``scale`` the largest projected output value at the vertices. Returns
    (linear_count, linear_label per region).
    """
    n_regions = rep.size
    if n_regions == 0:
        return 0, np.zeros(0, dtype=np.int64)
    if edges.shape[0] == 0:
        return n_regions, np.arange(n_regions)
    grads = cell_grads[rep]                                # (R, P, d)
    jump = np.abs(grads[edges[:, 0]] - grads[edges[:, 1]]).max(axis=(1, 2))
    span = np.maximum(diam[edges[:, 0]], diam[edges[:, 1]]) * 2.0
    scale = float(np.abs(cut.out_proj).max()) if cut.out_proj.size else 0.0
    same = jump * span <= linear_tol * max(scale, np.finfo(float).tiny)
    e = edges[same]
    graph = coo_matrix((np.ones(e.shape[0]), (e[:, 0], e[:, 1])), shape=(n_regions, n_regions))
    n_comp, labels = connected_components(graph, directed=False)
    return int(n_comp), labels


def face_radii(sub: Subdivision, pts: list[np.ndarray]) -> np.ndarray:
    """An upper bound on the distance from each cell's interior point to any of its points."""
    d = sub.d
    ev = sub.edges
    r = 0.5 * np.linalg.norm(pts[0][ev[:, 1]] - pts[0][ev[:, 0]], axis=1)
    for k in range(2, d + 1):
        M = sub.M[k]
        F = sub.inc_f[k][:M]
        B = sub.inc_b[k][:M]
        reach = np.linalg.norm(pts[k][F] - pts[k - 1][B], axis=1) + r[B]
        new = np.zeros(sub.N[k])
        np.maximum.at(new, F, reach)
        r = new
    return r


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
    linear_count: int
    linear_labels: np.ndarray
    pts: list


def readout_bytes(sub: Subdivision) -> int:
    """A bound on the arrays of :func:`summarize`: interior points and output values of every
    face (``N_k (d + 6)`` floats), the per-incidence differences and frames of the largest level
    (``M_k d (k + 3)``: freed level by level), the gradient systems of the cells
    (``N_d (d^2 + 6 d + 8)``) and the packed patterns three times."""
    d = sub.d
    floats = sum(sub.N[k] * (d + 2 * _N_PROJ) for k in range(d + 1))
    floats += max(sub.M[k] * d * (k + 3) for k in range(d + 1))
    floats += sub.N[1] * (2 * d + 4) + sub.N[d] * (d * d + 2 * d * _N_PROJ + 8)
    return 8 * floats + 3 * sub.packed.shape[0] * sub.N[d]


def summarize(cut: Cut, linear_tol: float, cell_sizes: np.ndarray | None = None,
              cell_grads: np.ndarray | None = None,
              cell_diam: np.ndarray | None = None) -> Summary:
    """Regions, adjacency, sizes, interior points and linear regions of a subdivision
    (cell sizes, output gradients and diameters are computed here unless given)."""
    sub = cut.sub
    sub.reserve(readout_bytes(sub), "reading out the regions (sizes, adjacency, gradients)")
    region_of_cell, rep, edges, labels = cells_to_regions(cut)
    pts = face_points(sub)
    if cell_sizes is None:
        cell_sizes = face_volumes(sub, pts)
    if cell_diam is None:
        cell_diam = 2.0 * face_radii(sub, pts)
    n_regions = rep.size
    if n_regions == region_of_cell.size:                 # one cell per region
        first = rep
        sizes = cell_sizes
        diam = cell_diam
    else:
        sizes = np.bincount(region_of_cell, weights=cell_sizes, minlength=n_regions)
        # a region's interior point, gradient: those of its largest cell
        order = np.lexsort((-cell_sizes, region_of_cell))
        first = order[np.r_[True, region_of_cell[order][1:] != region_of_cell[order][:-1]]]
        diam = np.bincount(region_of_cell, weights=cell_diam, minlength=n_regions)
    interior = pts[sub.d][first]
    if cell_grads is None and edges.shape[0]:
        cell_grads = cell_gradients(cut, pts)
    linear_count, linear_labels = linear_merge(cut, cell_grads, first, edges, diam, linear_tol)
    edge_units = (cut.split_unit[labels] if labels.size else np.zeros((0, 2), dtype=np.int64))
    packed = sub.cell_patterns()[first]
    return Summary(region_of_cell, first, edges, edge_units, sizes, interior, packed,
                   linear_count, linear_labels, pts)


def reorder(s: Summary, order: np.ndarray) -> Summary:
    """The same summary with regions renumbered: new region i is old region ``order[i]``."""
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    edges = np.sort(inverse[s.edges], axis=1) if s.edges.size else s.edges
    _, lin = np.unique(s.linear_labels[order], return_inverse=True)
    return Summary(inverse[s.region_of_cell], s.rep_cell[order], edges, s.edge_units,
                   s.sizes[order], s.interior[order], s.packed[order], s.linear_count,
                   lin.ravel(), s.pts)
