"""Activation regions on a segment of the input space."""

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
    warn_merges,
)
from reluthe.regions._engine import numeric_guard, reorder, subdivide, summarize
from reluthe.regions._memory import memory_budget
from reluthe.regions._result import LineRegions

__all__ = ["count_on_line"]


def count_on_line(net, start, end, *, tol: float = DEFAULT_TOL,
                  linear_tol: float = DEFAULT_LINEAR_TOL,
                  max_regions: int = 1_000_000, max_memory: int | None = None,
                  input_shape=None) -> LineRegions:
    """Count the activation regions that the segment from ``start`` to ``end`` crosses.

    An activation pattern is the state of every hidden unit (a ReLU unit is on where its
    pre-activation is > 0); an activation region is a maximal connected set of inputs with one
    pattern. The segment ``x(t) = start + t (end - start)``, ``t`` in [0, 1], is cut exactly (in
    float64) at every kink of every hidden unit, layer by layer; pieces of positive length are
    counted. The network's output is one affine map on every piece (computed exactly from the
    pattern); linear regions are counted under three named definitions (``linear_counts``:
    ``"activation"``, ``"connected"``, ``"pieces"``, see :mod:`reluthe.regions._linear`), and
    ``linear_count`` is the ``"connected"`` one: neighbouring pieces with the same map merged.

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network (see :mod:`reluthe.nets`); the output layer is not part of the pattern.
    start, end : array-like
        End points of the segment; they must differ. Each is one input of ``net``: its
        ``input_dim`` values, or an array in the network's input shape or in ``input_shape``
        (e.g. ``(1, 8, 8)`` for a convolutional net), flattened in C order.
    tol : float
        A vertex with ``|z - kink| <= tol * scale`` lies on that kink (``scale``: the largest
        ``|z - kink|`` over the segment at the start of the layer).
    linear_tol : float
        Two affine maps ``y = J x + c`` (``x``: the domain's coordinates, here ``t``) are equal
        when every entry of ``J`` and of ``c`` differs by at most a proven bound on their float64
        rounding error, or by ``linear_tol`` times the largest entry of its kind over the
        regions if that is larger (default 0: rounding only). The tolerances used are in
        ``linear_map_tol``.
    max_regions : int
        Stop with :class:`~reluthe.errors.RegionLimitError` beyond this many regions.
    max_memory : int, optional
        Memory budget in bytes (default None: half of the memory available at the call, see
        :mod:`reluthe.regions._memory`). It is checked before every step that grows the arrays;
        reaching it raises :class:`~reluthe.errors.RegionLimitError`.
    input_shape : sequence of int, optional
        Shape of one input without the batch dimension, for a torch module that starts with a
        convolution or pooling (as in :func:`reluthe.nets.as_plnet`); with any network, the
        points may then also come in this shape. It must hold the network's inputs.

    Returns
    -------
    LineRegions
        ``count``, ``linear_count``, ``linear_counts``, ``breakpoints`` (``t`` values),
        ``points``, ``intervals``, ``patterns``, ``sizes`` (lengths in ``t``), ``graph`` (a
        path), ``to_dict()``.

    Raises
    ------
    InvalidInputError
        ``start == end``, a point whose shape is not one input of the network, an
        ``input_shape`` that does not fit it (or none for a convolutional torch module), NaN/inf
        in the points or the network, a dtype that is not real, values that overflow float64.
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
    >>> net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])), (np.ones((1, 2)), np.zeros(1))]
    >>> res = regions.count_on_line(net, [-1.0], [2.0])
    >>> res.count, res.breakpoints.round(6).tolist(), res.patterns.tolist()
    (3, [0.333333, 0.666667], [[0, 0], [1, 0], [1, 1]])

    A convolutional torch module needs ``input_shape``; the points may then come in it:

    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 1))
    >>> img = np.random.default_rng(0).normal(size=(1, 5, 5))
    >>> res = regions.count_on_line(conv, -img, img, input_shape=(1, 5, 5))
    >>> res.patterns.shape[1], res.start.shape
    (18, (25,))
    """
    func = "reluthe.regions.count_on_line"
    pl = net_for(net, func, input_shape, maxpool=True)
    start = point(start, net=pl, param="start", func=func, input_shape=input_shape)
    end = point(end, net=pl, param="end", func=func, input_shape=input_shape)
    if np.array_equal(start, end):
        raise InvalidInputError(f"The 'end' parameter of {func} must differ from 'start' (a "
                                f"segment of positive length). Got end == start == "
                                f"{start.tolist()[:8]}.")
    tol = tolerance(tol, param="tol", func=func)
    linear_tol = tolerance(linear_tol, param="linear_tol", func=func)
    max_regions = limit(max_regions, func=func)
    max_memory = memory_budget(max_memory, func=func)
    with numeric_guard(func):
        line_net = pl.restrict(start, (end - start)[:, None])
        cut = subdivide(line_net, np.zeros(1), np.ones(1), tol=tol, max_cells=max_regions,
                        max_bytes=max_memory, func=func)
        s = summarize(cut, linear_tol)
    warn_merges(cut.sub.snapped, tol, func)
    s = reorder(s, np.argsort(s.interior[:, 0], kind="stable"))
    sub = cut.sub
    ev = sub.edges
    t0 = np.minimum(sub.X[ev[:, 0], 0], sub.X[ev[:, 1], 0])
    t1 = np.maximum(sub.X[ev[:, 0], 0], sub.X[ev[:, 1], 0])
    n = s.rep_cell.size
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, s.region_of_cell, t0)
    np.maximum.at(hi, s.region_of_cell, t1)
    intervals = frozen(np.stack([lo, hi], axis=1))
    interior = frozen(start + s.interior[:, :1] * (end - start))
    return LineRegions(**base_fields(s, pl, tol, linear_tol, interior, cut.sub.N,
                                     cut.sub.snapped),
                       start=frozen(start), end=frozen(end),
                       breakpoints=frozen(intervals[1:, 0]), intervals=intervals)
