"""Activation regions in a 2-D affine slice of the input space."""

from __future__ import annotations

import numbers

import numpy as np

from reluthe._validate import _fmt, check_int_sequence, check_positive_float, check_real_array
from reluthe.errors import InvalidInputError
from reluthe.regions._common import (
    DEFAULT_LINEAR_TOL,
    DEFAULT_TOL,
    base_fields,
    check_domain,
    check_sizes,
    frozen,
    limit,
    net_for,
    point,
    tolerance,
    warn_merges,
)
from reluthe.regions._engine import numeric_guard, summarize
from reluthe.regions._memory import memory_budget
from reluthe.regions._plane_cut import PlaneCells
from reluthe.regions._plane_depth import cut_plane
from reluthe.regions._result import PlaneRegions

__all__ = ["count_on_plane", "plane_through"]


def _extent(extent, func: str) -> tuple[float, float, float, float]:
    """``extent`` as four floats: a tuple, list or 1-D array of four real numbers (not bools,
    strings or complex numbers) with ``a0 < a1``, ``b0 < b1``."""
    if isinstance(extent, np.ndarray) and extent.ndim == 1:
        extent = extent.tolist()
    vals = []
    if isinstance(extent, (tuple, list)) and all(
            isinstance(e, numbers.Real) and not isinstance(e, (bool, np.bool_)) for e in extent):
        vals = [float(e) for e in extent]
    if len(vals) != 4 or not all(np.isfinite(vals)) or not (vals[0] < vals[1]
                                                             and vals[2] < vals[3]):
        raise InvalidInputError(f"The 'extent' parameter of {func} must be (a0, a1, b0, b1) with "
                                f"finite a0 < a1 and b0 < b1 (a non-empty rectangle). Got "
                                f"{_fmt(extent)} instead.")
    return tuple(vals)


def _check_basis(u: np.ndarray, v: np.ndarray, func: str):
    """Raise unless ``u`` and ``v`` are independent: the test is on copies scaled to a largest
    entry of 1, so that neither tiny nor huge directions under- or overflow (relative: Gram
    determinant <= 1e-12 |u|^2 |v|^2 counts as collinear)."""
    su, sv = float(np.max(np.abs(u))), float(np.max(np.abs(v)))
    uu = vv = uv = 0.0
    if su > 0 and sv > 0:
        us, vs = u / su, v / sv
        uu, vv, uv = float(us @ us), float(vs @ vs), float(us @ vs)
    if uu == 0.0 or vv == 0.0 or uu * vv - uv * uv <= 1e-12 * uu * vv:
        raise InvalidInputError(f"The 'u' and 'v' parameters of {func} must be linearly "
                                f"independent directions. Got u={_fmt(u.tolist())} and "
                                f"v={_fmt(v.tolist())} (collinear or zero).")


def _geometry_bytes(sub) -> int:
    """A bound on the arrays of :func:`_cell_areas`: about 28 floats per (cell, edge)
    incidence and 10 per cell (plane cells: one float per cell)."""
    if isinstance(sub, PlaneCells):
        return 8 * sub.N[2]
    return 8 * (sub.M[2] * 28 + sub.N[2] * 10)


def _cell_areas(sub) -> np.ndarray:
    """Area of every cell: :meth:`PlaneCells.cell_areas` for the plane engine's cells, else
    :func:`_edge_areas`."""
    return sub.cell_areas() if isinstance(sub, PlaneCells) else _edge_areas(sub)


def _cell_points(sub) -> np.ndarray | None:
    """A point inside every cell: :meth:`PlaneCells.cell_points` for the plane engine's cells,
    else None (:func:`~reluthe.regions._engine.summarize` computes them)."""
    return sub.cell_points() if isinstance(sub, PlaneCells) else None


def _edge_areas(sub) -> np.ndarray:
    """Area of every cell from its edges (unordered): triangles from the cell's interior
    point."""
    M = sub.M[2]
    F = sub.inc_f[2][:M]
    B = sub.inc_b[2][:M]
    n = sub.N[2]
    X = sub.X[: sub.V]
    a, b = sub.e0[B], sub.e1[B]
    xa, xb = X[a], X[b]
    cnt = np.bincount(F, minlength=n)
    mid = 0.5 * (xa + xb)
    center = np.stack([np.bincount(F, weights=mid[:, j], minlength=n) for j in range(2)],
                      axis=1) / cnt[:, None]
    ra = xa - center[F]
    rb = xb - center[F]
    cross = ra[:, 0] * rb[:, 1] - ra[:, 1] * rb[:, 0]
    return 0.5 * np.bincount(F, weights=np.abs(cross), minlength=n)


class _Polygons:
    """What is needed to draw the regions: counter-clockwise vertex cycles, built on demand."""

    def __init__(self, sub, region_of_cell: np.ndarray):
        M = sub.M[2]
        self.F = sub.inc_f[2][:M].copy()
        self.ends = np.stack([sub.e0[sub.inc_b[2][:M]], sub.e1[sub.inc_b[2][:M]]])
        self.X = sub.X[: sub.V].copy()
        self.region_of_cell = region_of_cell

    def build(self) -> list[np.ndarray]:
        n_cells = self.region_of_cell.size
        V = self.X.shape[0]
        cell = np.concatenate([self.F, self.F])
        key = np.sort(cell * V + self.ends.ravel())
        if key.size % 2 or np.any(key[::2] != key[1::2]):  # each vertex is on two edges
            raise RuntimeError("internal error: a cell's edges do not form a closed polygon")
        key = key[::2]
        cell = key // V
        vert = key % V
        counts = np.bincount(cell, minlength=n_cells)
        center = np.stack([np.bincount(cell, weights=self.X[vert, j], minlength=n_cells)
                           for j in range(2)], axis=1) / counts[:, None]
        rel = self.X[vert] - center[cell]
        region = self.region_of_cell[cell]
        order = np.lexsort((np.arctan2(rel[:, 1], rel[:, 0]), region))
        xy = self.X[vert[order]]
        n_regions = int(self.region_of_cell.max()) + 1 if n_cells else 0
        polys = np.split(xy, np.cumsum(np.bincount(region, minlength=n_regions))[:-1])
        if n_regions != n_cells:                 # cells merged by the tolerance: convex hull
            from scipy.spatial import ConvexHull

            for r in np.flatnonzero(np.bincount(self.region_of_cell, minlength=n_regions) > 1):
                polys[r] = polys[r][ConvexHull(polys[r]).vertices]
        return polys


def count_on_plane(net, origin, u, v, extent=(-1.0, 1.0, -1.0, 1.0), *,
                   tol: float = DEFAULT_TOL, linear_tol: float = DEFAULT_LINEAR_TOL,
                   max_regions: int = 10_000_000, max_memory: int | None = None,
                   input_shape=None) -> PlaneRegions:
    """Count the activation regions in the slice ``origin + a u + b v``, ``(a, b)`` in ``extent``.

    An activation pattern is the state of every hidden unit (a ReLU unit is on where its
    pre-activation is > 0); an activation region is a maximal connected set of inputs with one
    pattern (convex for these networks). The rectangle is cut exactly (in float64) by every kink
    of every unit, layer by layer, all regions and all units of a layer at once: a kink crosses
    a polygon where the unit's pre-activation changes sign at its vertices, and the polygons are
    split along the kinks (:mod:`reluthe.regions._plane_cut`). The deeper layers cut groups of
    the first layer's cells one group after the other, so that memory follows the regions found
    (:mod:`reluthe.regions._plane_depth`; a count forecast from a sixteenth of the area to need
    more than twice ``max_memory`` is refused at once). Where a vertex comes within ``tol`` of a
    kink it is not on, the sequential engine of :func:`count_in_box` runs, with its tolerance
    semantics (its memory grows with the vertices times the units). Regions of positive area are
    counted; neighbouring regions with the same affine network map (in ``(a, b)``, compared
    exactly up to rounding) form one connected linear region (``linear_count``; they differ
    e.g. across dead units); ``linear_counts`` has the counts under all three definitions
    (``"activation"``, ``"connected"``, ``"pieces"``: distinct maps, possibly disconnected).

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    origin, u, v : array-like
        A point and two linearly independent directions of the input space: each one input of
        ``net``, flat or in the network's input shape or ``input_shape`` (flattened in C order;
        :func:`plane_through` gives them flat).
    extent : (a0, a1, b0, b1)
        The rectangle of slice coordinates, ``a0 < a1``, ``b0 < b1``.
    tol, linear_tol, max_regions, max_memory, input_shape
        As in :func:`count_on_line`.

    Returns
    -------
    PlaneRegions
        ``count``, ``linear_count``, ``linear_counts``, ``polygons``, ``areas``, ``patterns``,
        ``graph``, ``interior_points`` (in ``(a, b)``), ``engine`` (``"plane"`` or
        ``"lattice"``: which engine ran), ``plot(ax=None)``, ``to_dict()``.

    Raises
    ------
    InvalidInputError
        Collinear ``u`` and ``v``, an empty or inverted extent, a point or direction whose
        shape is not one input of the network, an ``input_shape`` that does not fit it (or none
        for a convolutional torch module), NaN/inf, a dtype that is not real, values that
        overflow float64.
    RegionLimitError
        More than ``max_regions`` regions, or the memory budget ``max_memory`` reached.

    Warns
    -----
    ToleranceWarning
        The tolerance merged vertices with kinks farther than rounding (``tol_merges > 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3)),
    ...        (np.ones((1, 3)), np.zeros(1))]
    >>> res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1))
    >>> res.count, float(res.areas.sum()), res.graph.number_of_edges()
    (6, 4.0, 6)
    """
    func = "reluthe.regions.count_on_plane"
    pl = net_for(net, func, input_shape, maxpool=True)
    origin, u, v = (point(value, net=pl, param=name, func=func, input_shape=input_shape)
                    for value, name in ((origin, "origin"), (u, "u"), (v, "v")))
    _check_basis(u, v, func)
    a0, a1, b0, b1 = _extent(extent, func)
    check_domain(np.array([a0, b0]), np.array([a1, b1]), func, "extent")
    tol = tolerance(tol, param="tol", func=func)
    linear_tol = tolerance(linear_tol, param="linear_tol", func=func)
    max_regions = limit(max_regions, func=func)
    max_memory = memory_budget(max_memory, func=func)
    with numeric_guard(func):
        plane_net = pl.restrict(origin, np.stack([u, v], axis=1))
        cut = cut_plane(plane_net, np.array([a0, b0]), np.array([a1, b1]), tol=tol,
                        max_cells=max_regions, max_bytes=max_memory, func=func)
        cut.sub.reserve(_geometry_bytes(cut.sub), "the areas of the regions")
        s = summarize(cut, linear_tol, cell_sizes=_cell_areas(cut.sub),
                      cell_points=_cell_points(cut.sub))
    check_sizes(s.sizes, func)
    warn_merges(cut.sub.snapped, tol, func)
    return PlaneRegions(**base_fields(s, pl, tol, linear_tol, frozen(s.interior), cut.sub.N,
                                      cut.sub.snapped),
                        origin=frozen(origin), u=frozen(u), v=frozen(v),
                        extent=(a0, a1, b0, b1), _polygon_source=_Polygons(cut.sub,
                                                                            s.region_of_cell),
                        engine="plane" if isinstance(cut.sub, PlaneCells) else "lattice")


def _norm_scale(d: np.ndarray) -> float:
    """1.0 when the entries of ``d`` are in [1e-150, 1e150] (norms are safe), else its
    largest absolute entry (0.0 for a zero vector)."""
    top = float(np.max(np.abs(d))) if d.size else 0.0
    return 1.0 if 1e-150 <= top <= 1e150 else top


def _flat_points(named, input_shape, func: str) -> list[np.ndarray]:
    """The points of :func:`plane_through` flattened in C order: each in ``input_shape`` or flat
    with its number of values when it is given, else in any shapes of one size."""
    pts = [check_real_array(p, param=name, func=func) for name, p in named]
    if input_shape is not None:
        accepted = sorted({input_shape, (int(np.prod(input_shape)),)}, key=len)
        bad = [(name, p) for (name, _), p in zip(named, pts) if p.shape not in accepted]
        if bad:
            raise InvalidInputError(
                f"The {bad[0][0]!r} parameter of {func} must be one input of shape one of "
                f"{accepted} (input_shape={input_shape}, flattened in C order). Got shape "
                f"{bad[0][1].shape} instead.")
    for (name, _), p in zip(named[1:], pts[1:]):
        if p.size != pts[0].size:
            raise InvalidInputError(
                f"The {name!r} parameter of {func} must have as many values as 'p0' "
                f"({pts[0].size}, in any shape, flattened in C order). Got shape {p.shape} "
                f"({p.size} values) instead.")
    return [p.reshape(-1) for p in pts]


def plane_through(p0, p1, p2, *, margin: float = 0.25, input_shape=None):
    """The slice through three points: ``(origin, u, v, extent)`` for :func:`count_on_plane`.

    ``u``, ``v`` are orthonormal (Gram-Schmidt on ``p1 - p0``, ``p2 - p0``), ``origin`` is the
    centroid of the points and ``extent`` their bounding rectangle in slice coordinates, widened by
    ``margin`` times its larger side on every side.

    Parameters
    ----------
    p0, p1, p2 : array-like
        Three points that are not collinear, in any shape with the same number of values (e.g.
        three ``(1, 8, 8)`` images), flattened in C order.
    margin : float
        Widening of the rectangle on every side, as a fraction of its larger side (>= 0).
    input_shape : sequence of int, optional
        Shape of one input of the network: every point must then have this shape, or be flat
        with as many values.

    Returns
    -------
    origin, u, v : numpy.ndarray
        Flat arrays of the points' number of values.
    extent : (a0, a1, b0, b1)
        The rectangle of slice coordinates.

    Raises
    ------
    InvalidInputError
        Points of different sizes, or of a shape other than ``input_shape`` (or flat), equal or
        collinear points, NaN/inf, a dtype that is not real, a negative ``margin``.

    Examples
    --------
    >>> origin, u, v, extent = plane_through([0, 0, 0], [1, 0, 0], [0, 1, 0], margin=0.0)
    >>> origin.round(3).tolist(), u.tolist(), v.tolist(), np.round(extent, 3).tolist()
    ([0.333, 0.333, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-0.333, 0.667, -0.333, 0.667])

    Points in a network's input shape, e.g. three images for a convolutional net:

    >>> imgs = np.random.default_rng(0).normal(size=(3, 1, 5, 5))
    >>> origin, u, v, extent = plane_through(*imgs, input_shape=(1, 5, 5))
    >>> origin.shape, bool(np.allclose(origin, imgs.mean(axis=0).reshape(-1)))
    ((25,), True)
    """
    func = "reluthe.regions.plane_through"
    if input_shape is not None:
        input_shape = check_int_sequence(input_shape, param="input_shape", func=func, min_len=1)
    pts = _flat_points((("p0", p0), ("p1", p1), ("p2", p2)), input_shape, func)
    margin = check_positive_float(margin, param="margin", func=func, allow_zero=True)
    with numeric_guard(func):
        d1 = pts[1] - pts[0]
        d2 = pts[2] - pts[0]
    # outside [1e-150, 1e150] the differences are scaled to a largest entry of 1 before the
    # norms, so that they neither underflow to "equal" nor overflow (the tests are relative)
    s1, s2 = (_norm_scale(d) for d in (d1, d2))
    if s1 == 0:
        raise InvalidInputError(f"The points p0 and p1 of {func} must differ. Got p0 == p1.")
    d1, d2 = d1 / s1, d2 / (s2 or 1.0)
    n1 = np.linalg.norm(d1)
    u = d1 / n1
    w = d2 - (d2 @ u) * u
    nw = np.linalg.norm(w)
    if s2 == 0 or nw <= 1e-12 * max(n1, np.linalg.norm(d2)):
        raise InvalidInputError(f"The points p0, p1, p2 of {func} must not be collinear. Got "
                                f"p2 - p0 parallel to p1 - p0.")
    v = w / nw
    with numeric_guard(func):
        origin = (pts[0] + pts[1] + pts[2]) / 3.0
        ab = np.array([[(p - origin) @ u, (p - origin) @ v] for p in pts])
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    pad = margin * float((hi - lo).max())
    extent = (float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad))
    return origin, u, v, extent
