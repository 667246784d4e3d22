"""Activation regions in an n-dimensional box of the input space."""

from __future__ import annotations

import numpy as np

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
    numeric_guard,
    point,
    tolerance,
    warn_merges,
)
from reluthe.regions._engine import subdivide, summarize
from reluthe.regions._memory import memory_budget
from reluthe.regions._result import BoxRegions

__all__ = ["count_in_box"]


def count_in_box(net, low, high, *, tol: float = DEFAULT_TOL,
                 linear_tol: float = DEFAULT_LINEAR_TOL,
                 max_regions: int = 1_000_000, max_memory: int | None = None) -> BoxRegions:
    """Count the activation regions in the box ``[low, high]`` exactly (any input dimension).

    An activation pattern is the state of every hidden unit (a ReLU unit is on where its
    pre-activation is > 0); an activation region is a maximal connected set of inputs with one
    pattern (convex for these networks). The box is cut by every kink of every unit, layer by
    layer, as a polyhedral complex (its full face lattice, in float64): each unit's pre-activation
    is evaluated at all vertices and the faces with vertices on both sides are split. Regions of
    positive volume are counted. The cost grows with the number of faces of the complex, which
    grows quickly with the dimension (a d-cube alone has 3^d faces); no dimension is refused,
    but ``max_memory`` stops any run before its arrays outgrow the budget (in practice d <= 6
    and about 10^5 regions fit in a few GB).

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    low, high : array-like
        Corners of the box, ``low < high`` in every coordinate.
    tol, linear_tol, max_regions, max_memory
        As in :func:`count_on_line`.

    Returns
    -------
    BoxRegions
        ``count``, ``linear_count``, ``volumes``, ``patterns``, ``interior_points``, ``graph``,
        ``to_dict()``.

    Raises
    ------
    InvalidInputError
        An empty or inverted box, wrong dimensions, NaN/inf, a dtype that is not real, values
        that overflow float64.
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
    >>> res.count, float(res.volumes.sum()), res.graph.number_of_edges()
    (8, 8.0, 12)
    """
    func = "reluthe.regions.count_in_box"
    pl = net_for(net, func)
    low = point(low, net=pl, param="low", func=func)
    high = point(high, net=pl, param="high", func=func)
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
    with numeric_guard(func):
        cut = subdivide(pl, low, high, tol=tol, max_cells=max_regions, max_bytes=max_memory,
                        func=func)
        s = summarize(cut, linear_tol)
    check_sizes(s.sizes, func)
    warn_merges(cut.sub.snapped, tol, func)
    return BoxRegions(**base_fields(s, pl, tol, linear_tol, frozen(s.interior),
                                  cut.sub.N, cut.sub.snapped),
                      low=frozen(low), high=frozen(high))
