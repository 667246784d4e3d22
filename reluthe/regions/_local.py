"""Local complexity: the activation regions meeting a neighbourhood of a point, exactly, in the
network's full input space (any dimension), for one point or many."""

from __future__ import annotations

import numbers
import sys

import numpy as np

from reluthe._backends import parallel_map, prepare_backend
from reluthe._progress import Silent
from reluthe._validate import _fmt
from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._common import limit, net_for, point, point_rows
from reluthe.regions._engine import numeric_guard
from reluthe.regions._local_result import LocalRegions
from reluthe.regions._memory import memory_budget
from reluthe.regions._search import NORMS, SEARCH_TOL, Domain, search

__all__ = ["count_near", "count_near_many"]


def _radius(value, center: np.ndarray, func: str) -> float:
    ok = (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
          and np.isfinite(value) and value > 0)
    if not ok:
        raise InvalidInputError(f"The 'radius' parameter of {func} must be a finite number > 0. "
                                f"Got {_fmt(value)} instead.")
    radius = float(value)
    with np.errstate(over="ignore"):
        lo, hi = center - radius, center + radius
    if not (1e-150 <= radius <= 1e150 and np.all(np.isfinite(lo) & np.isfinite(hi))
            and np.all((lo < center) & (center < hi))):
        raise InvalidInputError(
            f"The 'radius' parameter of {func} gives a degenerate neighbourhood in float64: "
            f"it must lie in [1e-150, 1e150] and move every coordinate of the point (center +- "
            f"radius finite and distinct from center). Got radius={radius!r} around a point "
            f"with largest |coordinate| {float(np.abs(center).max(initial=0.0)):.3g}.")
    return radius


def _settings(norm, tol, max_regions, max_memory, d: int, func: str):
    if not isinstance(norm, str) or norm not in NORMS:
        raise InvalidInputError(
            f"The 'norm' parameter of {func} must be one of {list(NORMS)} (\"inf\": the box "
            f"|x_i - center_i| <= radius; \"1\": the L1 ball; an L2 ball is not offered: an LP "
            f"cannot state it exactly). Got {_fmt(norm)} instead.")
    ok = (isinstance(tol, numbers.Real) and not isinstance(tol, (bool, np.bool_))
          and np.isfinite(tol) and SEARCH_TOL <= tol < 1e-2)
    if ok and norm == "1":
        ok = tol * np.sqrt(d) < 0.5
    if not ok:
        raise InvalidInputError(
            f"The 'tol' parameter of {func} must be a number in [{SEARCH_TOL:g}, 0.01) (a "
            f"fraction of the radius; the LP solver resolves 1e-9), with tol * sqrt(d) < 0.5 "
            f"for norm='1'. Got {_fmt(tol)} instead.")
    return float(tol), limit(max_regions, func=func), memory_budget(max_memory, func=func)


def _count(net: PLNet, center: np.ndarray, radius: float, norm: str, tol: float,
           max_regions: int, max_bytes: int, func: str) -> LocalRegions:
    domain = Domain(center, np.full(center.size, radius), norm)
    with numeric_guard(func):
        found = search(net, domain, tol=tol, max_regions=max_regions, max_bytes=max_bytes,
                       func=func)
    out = [domain.to_input(found.points), found.radii * radius, center.copy()]
    for arr in (found.states, *out, found.edges, found.edge_units):
        arr.setflags(write=False)
    return LocalRegions(int(found.states.shape[0]), found.states, out[0], out[1], out[2],
                        radius, norm, tol, "search", found.n_lps, net.widths, found.edges,
                        found.edge_units, net)


def count_near(net, center, radius, *, norm: str = "inf", tol: float = SEARCH_TOL,
               max_regions: int = 100_000, max_memory: int | None = None,
               input_shape=None) -> LocalRegions:
    """Count the activation regions meeting a neighbourhood of ``center``, exactly, in the
    network's full input space (local complexity).

    The neighbourhood is ``{x : ||x - center||_norm <= radius}``: with ``norm="inf"`` the box of
    half-width ``radius``, with ``norm="1"`` the L1 ball (cross-polytope). Regions are found by
    splitting convex cells layer by layer with LPs (:mod:`reluthe.regions._search`): the cost
    grows with the regions found and the kinks that cut them, not with the dimension's
    arrangement vertices, so 64-, 100- or 784-dimensional inputs work when the neighbourhood
    holds few regions. A region counts when it holds a Euclidean ball of radius
    ``tol * radius`` inside the neighbourhood. Neighbours share a facet on which exactly one
    unit flips; regions meeting only where several units' kinks coincide are not neighbours.

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    center : array-like
        The point: ``input_dim`` values, or one input in the network's input shape (e.g.
        ``(1, 8, 8)`` for a convolutional net), flattened in C order.
    radius : float
        Radius of the neighbourhood in input units (> 0, finite).
    norm : {"inf", "1"}
        The neighbourhood's norm.
    tol : float
        Smallest ball radius of a counted region, as a fraction of ``radius``; in
        ``[1e-7, 0.01)`` (the LP solver resolves 1e-9).
    max_regions : int
        Stop with :class:`~reluthe.errors.RegionLimitError` (``found``: the regions reached)
        when more regions are found.
    max_memory : int, optional
        Bytes the frontier of cells may hold (default: half of the available memory).
    input_shape : sequence of int, optional
        Input shape of a torch module that needs one (convolutions), as in
        :func:`reluthe.nets.as_plnet`.

    Returns
    -------
    LocalRegions
        ``count``, ``patterns``, ``interior_points``, ``radii``, ``graph``, ``linear_count``,
        ``to_dict()``.

    Raises
    ------
    InvalidInputError
        A wrong point dimension, a radius that is 0, negative, non-finite or degenerate in
        float64, a norm other than "inf" or "1", a tolerance out of range.
    RegionLimitError
        More than ``max_regions`` regions, or the memory budget reached.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> rng = np.random.default_rng(0)
    >>> net = [(rng.normal(size=(16, 64)), rng.normal(size=16)), (np.ones((1, 16)), [0.0])]
    >>> res = regions.count_near(net, rng.normal(size=64), 0.05)
    >>> res.count == res.graph.number_of_nodes() and res.patterns.shape == (res.count, 16)
    True
    >>> bool(np.all(np.abs(res.interior_points - res.center).max(axis=1) < 0.05))
    True
    """
    func = "reluthe.regions.count_near"
    pl = net_for(net, func, input_shape)
    center = point(center, net=pl, input_shape=input_shape, param="center", func=func)
    radius = _radius(radius, center, func)
    tol, max_regions, max_bytes = _settings(norm, tol, max_regions, max_memory, pl.input_dim,
                                            func)
    return _count(pl, center, radius, norm, tol, max_regions, max_bytes, func)


def _one(job) -> LocalRegions:
    return _count(*job)


def count_near_many(net, points, radius, *, norm: str = "inf", tol: float = SEARCH_TOL,
                    max_regions: int = 100_000, max_memory: int | None = None,
                    input_shape=None, jobs: int = 1, backend: str = "loky",
                    progress: bool | None = None) -> list[LocalRegions]:
    """:func:`count_near` around every point of ``points``, in parallel with joblib.

    Parameters
    ----------
    points : array-like, shape (n, input_dim) or (n, *input_shape)
        The centres.
    radius : float
        One radius for all points.
    jobs : int
        joblib workers (1: in this process; -1: all cores). Results do not depend on it.
    backend : str
        joblib backend (``"loky"``, ``"threading"``, ... or one registered with
        ``joblib.register_parallel_backend``; ``"ray"``, ``"dask"``: see ``docs/parallel.md``),
        through :func:`reluthe._backends.parallel_map`, the map behind the claims' ``ctx.map``.
        Inside a claim pass ``jobs=ctx.jobs, backend=ctx.backend``.
    progress : bool, optional
        A tqdm bar on stderr (default: when stderr is a terminal).
    norm, tol, max_regions, max_memory, input_shape
        As in :func:`count_near` (``max_regions`` and ``max_memory`` per point).

    Returns
    -------
    list of LocalRegions
        One per point, in the order of ``points``.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> rng = np.random.default_rng(1)
    >>> net = [(rng.normal(size=(8, 10)), rng.normal(size=8)), (np.ones((1, 8)), [0.0])]
    >>> res = regions.count_near_many(net, rng.normal(size=(3, 10)), 0.1, progress=False)
    >>> [r.count for r in res] == [regions.count_near(net, p, 0.1).count for p in
    ...                            (r.center for r in res)]
    True
    """
    func = "reluthe.regions.count_near_many"
    pl = net_for(net, func, input_shape)
    pts = point_rows(points, net=pl, input_shape=input_shape, param="points", func=func)
    if pts.shape[0] == 0:
        raise InvalidInputError(f"The 'points' parameter of {func} must hold at least one "
                                f"point. Got shape {np.shape(points)} instead.")
    radii = [_radius(radius, p, func) for p in pts]
    tol, max_regions, max_bytes = _settings(norm, tol, max_regions, max_memory, pl.input_dim,
                                            func)
    if isinstance(jobs, bool) or not isinstance(jobs, numbers.Integral) or (
            jobs < 1 and jobs != -1):
        raise InvalidInputError(f"The 'jobs' parameter of {func} must be an integer >= 1, or "
                                f"-1 (all cores). Got {_fmt(jobs)} instead.")
    try:
        prepare_backend(backend)
    except ValueError as exc:
        raise InvalidInputError(f"The 'backend' parameter of {func} must name a usable joblib "
                                f"backend: {exc}. Got {_fmt(backend)} instead.") from None
    if progress is None:
        progress = sys.stderr.isatty()
    work = [(pl, p, r, norm, tol, max_regions, max_bytes, func) for p, r in zip(pts, radii)]
    with _Bar(enabled=bool(progress)) as bar:
        return parallel_map(_one, work, jobs=int(jobs), backend=backend, progress=bar)


class _Bar(Silent):
    """A tqdm bar on stderr over the points (:mod:`reluthe._progress`'s cell protocol)."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar = enabled, None

    def __enter__(self) -> _Bar:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=0, file=sys.stderr, unit="point", desc="local complexity")
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def add_cells(self, n: int) -> None:
        if self.bar is not None:
            self.bar.total += n
            self.bar.refresh()

    def cell_done(self) -> None:
        if self.bar is not None:
            self.bar.update()
