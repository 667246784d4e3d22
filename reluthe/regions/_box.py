"""Activation regions in an n-dimensional box of the input space."""

from __future__ import annotations

import numpy as np

from reluthe._validate import check_choice
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
    refuse_maxpool,
    tolerance,
    warn_merges,
)
from reluthe.regions._engine import LinearReadout, Summary, numeric_guard, subdivide, summarize
from reluthe.regions._memory import memory_budget
from reluthe.regions._result import BoxRegions
from reluthe.regions._search import SEARCH_TOL, Domain, pack_states, search

__all__ = ["count_in_box", "ENGINES", "LATTICE_MAX_DIM"]

ENGINES = ("auto", "lattice", "search")

LATTICE_MAX_DIM = 6
"""``engine="auto"`` runs the lattice engine up to this input dimension, the search engine
beyond. Measured by ``benchmarks/local_complexity.py --full`` (one layer of n units in
``[-1, 1]^d``, time lattice / search): 0.14 in 3-D, 0.15-0.20 in 4-D and 5-D, 0.83-0.89 in 6-D
(10 and 14 units), 3.4 in 7-D (10 units); the lattice also gives exact volumes."""


def count_in_box(net, low, high, *, tol: float = DEFAULT_TOL,
                 linear_tol: float = DEFAULT_LINEAR_TOL,
                 max_regions: int = 1_000_000, max_memory: int | None = None,
                 engine: str = "auto", input_shape=None) -> BoxRegions:
    """Count the activation regions in the box ``[low, high]`` exactly (any input dimension).

    An activation pattern is the state of every hidden unit (a ReLU unit is on where its
    pre-activation is > 0); an activation region is a maximal connected set of inputs with one
    pattern (convex for these networks). The box is cut by every kink of every unit, layer by
    layer, as a polyhedral complex (its full face lattice, in float64): each unit's pre-activation
    is evaluated at all vertices and the faces with vertices on both sides are split. Regions of
    positive volume are counted. The cost grows with the number of faces of the complex, which
    grows quickly with the dimension (a d-cube alone has 3^d faces); no dimension is refused,
    but ``max_memory`` stops any run before its arrays outgrow the budget (in practice d <= 6
    and about 10^5 regions fit in a few GB). The search engine (``engine="search"``,
    :mod:`reluthe.regions._search`) instead splits convex cells layer by layer with LPs: its
    cost grows with the regions found, in any dimension, but it gives no volumes.

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    low, high : array-like
        Corners of the box, ``low < high`` in every coordinate: each one input of ``net``, flat
        or in the network's input shape or ``input_shape`` (flattened in C order).
    tol, linear_tol, max_regions, max_memory
        As in :func:`count_on_line`. Under the search engine a region counts when it holds a
        Euclidean ball of radius ``tol`` in coordinates scaled to the box (``[-1, 1]^d``), and
        ``tol`` is at least 1e-7 (the LP solver's accuracy): ``result.tol`` is the one used.
    engine : {"auto", "lattice", "search"}
        ``"lattice"``: the face lattice (exact volumes, cost growing fast with the dimension);
        ``"search"``: the output-sensitive search (``volumes`` NaN, ``f_vector`` empty);
        ``"auto"``: the lattice up to :data:`LATTICE_MAX_DIM` input dimensions, the search
        beyond. ``result.engine`` says which ran.
    input_shape : sequence of int, optional
        Shape of one input, as in :func:`count_on_line`.

    Returns
    -------
    BoxRegions
        ``count``, ``linear_count``, ``volumes``, ``patterns``, ``interior_points``, ``graph``,
        ``engine``, ``to_dict()``.

    Raises
    ------
    InvalidInputError
        An empty or inverted box, a corner whose shape is not one input of the network, an
        ``input_shape`` that does not fit it (or none for a convolutional torch module), NaN/inf,
        a dtype that is not real, values that overflow float64.
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
    >>> net = [(np.eye(3), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))]
    >>> res = regions.count_in_box(net, [-1, -1, -1], [1, 1, 1])
    >>> res.count, float(res.volumes.sum()), res.graph.number_of_edges(), res.engine
    (8, 8.0, 12, 'lattice')
    >>> same = regions.count_in_box(net, [-1, -1, -1], [1, 1, 1], engine="search")
    >>> same.count, same.graph.number_of_edges(), same.engine, same.tol
    (8, 12, 'search', 1e-07)
    """
    func = "reluthe.regions.count_in_box"
    pl = net_for(net, func, input_shape, maxpool=True)
    low = point(low, net=pl, param="low", func=func, input_shape=input_shape)
    high = point(high, net=pl, param="high", func=func, input_shape=input_shape)
    if not np.all(low < high):
        bad = int(np.flatnonzero(~(low < high))[0])
        raise InvalidInputError(f"The 'low' and 'high' parameters of {func} must satisfy low < "
                                f"high in every coordinate (a non-empty box). Got low[{bad}]="
                                f"{low[bad]!r} and high[{bad}]={high[bad]!r}.")
    check_domain(low, high, func, "low' and 'high")
    tol = tolerance(tol, param="tol", func=func)
    linear_tol = tolerance(linear_tol, param="linear_tol", func=func)
    max_regions = limit(max_regions, func=func)
    max_memory = memory_budget(max_memory, func=func)
    check_choice(engine, ENGINES, param="engine", func=func)
    if engine == "search" or (engine == "auto" and pl.input_dim > LATTICE_MAX_DIM):
        refuse_maxpool(pl, func, f" with engine='search' (engine={engine!r}, input dimension "
                                 f"{pl.input_dim})")
        return _search_box(pl, low, high, max(tol, SEARCH_TOL), linear_tol, max_regions,
                           max_memory, func)
    with numeric_guard(func):
        cut = subdivide(pl, low, high, tol=tol, max_cells=max_regions, max_bytes=max_memory,
                        func=func)
        s = summarize(cut, linear_tol)
    check_sizes(s.sizes, func)
    warn_merges(cut.sub.snapped, tol, func)
    return BoxRegions(**base_fields(s, pl, tol, linear_tol, frozen(s.interior),
                                  cut.sub.N, cut.sub.snapped),
                      low=frozen(low), high=frozen(high))


def _search_box(pl, low, high, tol, linear_tol, max_regions, max_memory, func) -> BoxRegions:
    """:func:`count_in_box` by the search engine (no volumes: ``sizes`` NaN)."""
    domain = Domain((low + high) / 2, (high - low) / 2, "inf")
    with numeric_guard(func):
        found = search(pl, domain, tol=tol, max_regions=max_regions, max_bytes=max_memory,
                       func=func)
    n = found.states.shape[0]
    packed = pack_states(found.states, pl)
    linear = LinearReadout(pl, packed, found.edges, linear_tol, max_memory, func)
    s = Summary(np.arange(n), np.arange(n), found.edges, found.edge_units, np.full(n, np.nan),
                domain.to_input(found.points), packed, linear)
    return BoxRegions(**base_fields(s, pl, tol, linear_tol, frozen(s.interior), ()),
                      low=frozen(low), high=frozen(high), engine="search")
