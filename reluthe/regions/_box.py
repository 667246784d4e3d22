"""Activation regions in an n-dimensional box of the input space."""

from __future__ import annotations

import numpy as np

from reluthe.errors import InvalidInputError
from reluthe.regions._common import (
    DEFAULT_LINEAR_TOL,
    DEFAULT_TOL,
    base_fields,
    frozen,
    limit,
    net_for,
    point,
    tolerance,
)
from reluthe.regions._engine import subdivide, summarize
from reluthe.regions._result import BoxRegions

__all__ = ["count_in_box"]


def count_in_box(net, low, high, *, tol: float = DEFAULT_TOL,
                 linear_tol: float = DEFAULT_LINEAR_TOL,
                 max_regions: int = 1_000_000) -> BoxRegions:
    """Count the activation regions in the box ``[low, high]`` exactly (any input dimension).

    An activation pattern is the state of every hidden unit (a ReLU unit is on where its
    pre-activation is > 0); an activation region is a maximal connected set of inputs with one
    pattern (convex for these networks). The box is cut by every kink of every unit, layer by
    layer, as a polyhedral complex (its full face lattice, in float64): each unit's pre-activation
    is evaluated at all vertices and the faces with vertices on both sides are split. Regions of
    positive volume are counted. The cost grows with the number of faces of the complex, which
    grows quickly with the dimension: practical up to about d = 6 and 10^5 regions.

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    low, high : array-like
        Corners of the box, ``low < high`` in every coordinate.
    tol, linear_tol, max_regions
        As in :func:`count_on_line`.

    Returns
    -------
    BoxRegions
        ``count``, ``linear_count``, ``volumes``, ``patterns``, ``interior_points``, ``graph``,
        ``to_dict()``.

    Raises
    ------
    InvalidInputError
        An empty or inverted box, wrong dimensions, NaN/inf.
    RegionLimitError
        More than ``max_regions`` regions.

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
    tol = tolerance(tol, param="tol", func=func)
    linear_tol = tolerance(linear_tol, param="linear_tol", func=func)
    max_regions = limit(max_regions, func=func)
    cut = subdivide(pl, low, high, tol=tol, max_cells=max_regions)
    s = summarize(cut, linear_tol)
    return BoxRegions(**base_fields(s, pl, tol, linear_tol, frozen(s.interior),
                                  cut.sub.N),
                      low=frozen(low), high=frozen(high))
