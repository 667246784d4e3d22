"""Exact activation regions of piecewise-linear networks: on a line, a 2-D slice, an n-D box.

Definitions
-----------
* **activation pattern**: the state of every hidden unit at an input. A ReLU (or LeakyReLU) unit
  is *on* (state 1) where its pre-activation is > 0 and off (0) elsewhere; a Hardtanh / ReLU6 unit
  has three states (0, 1, 2: how many of its two kinks lie below the pre-activation). The output
  layer is not part of the pattern.
* **activation region**: a maximal connected set of inputs with one pattern. For these networks it
  is convex (a fixed pattern is a set of linear inequalities). ``count_*`` count the activation
  regions with positive length / area / volume inside the given domain.
* **linear region**: a maximal connected set on which the network is one affine map. Several
  activation regions can form one linear region (e.g. across a dead unit, whose flip changes
  nothing downstream); results report both (``count`` and ``linear_count``), and
  ``linear_counts`` under three named definitions: ``"activation"``, ``"connected"`` (=
  ``linear_count``) and ``"pieces"`` (distinct affine maps, possibly disconnected).

Functions
---------
``count_on_line(net, start, end)``
    Regions crossed by a segment: ``.count``, ``.breakpoints`` (``t`` in [0, 1]), ``.points``,
    ``.patterns``.
``count_on_plane(net, origin, u, v, extent)``
    Regions in the slice ``origin + a u + b v``: ``.count``, ``.polygons``, ``.areas``,
    ``.graph``, ``.plot()``.
``count_in_box(net, low, high)``
    Regions in an n-D box (exact; the cost grows fast with the dimension, bounded by
    ``max_memory``): ``.count``,
    ``.volumes``, ``.graph``; ``engine="search"`` (the default beyond 6-D) scales with the
    regions found instead, without volumes.
``count_near(net, center, radius, norm="inf")``
    Local complexity: regions meeting a box or L1 ball around a point in the full input
    space, any dimension: ``.count``, ``.patterns``, ``.radii``, ``.graph``;
    ``count_near_many(net, points, radius, jobs=...)`` for many points.
``count_patterns(net, points)``
    Distinct patterns among sample points (int): a lower bound on the region count.
``plane_through(p0, p1, p2)``
    ``(origin, u, v, extent)`` of the slice through three points.

All counts are exact in float64 up to a relative tolerance ``tol`` (a vertex within
``tol * scale`` of a kink lies on it, so near-coincident kinks do not produce slivers); every
result reports ``tol``, ``linear_tol`` and ``smallest_size``. ``.graph`` is a
:class:`networkx.Graph` with one node per region (attribute ``pattern``) and one edge per pair of
regions sharing a facet (attribute ``neuron``: ``(layer, index)`` of the unit that flips). Networks
are torch modules, lists of ``(W, b)`` pairs (ReLU between pairs) or :class:`reluthe.nets.PLNet`;
every function takes ``input_shape=`` for a convolutional module (points in that shape or flat).
``max_regions`` stops an exploding count with :class:`~reluthe.errors.RegionLimitError`, and so
does ``max_memory`` (bytes; default half of the memory available at the call), checked before
every step that grows the arrays. Finite inputs whose products overflow float64 raise
:class:`~reluthe.errors.InvalidInputError`; a tolerance that put vertices on kinks farther than
rounding explains (it may merge regions narrower than ``tol`` times the domain's scale) is
reported in ``result.tol_merges`` with a :class:`ToleranceWarning`.

Examples
--------
Count the regions of a trained model on the plane through three training points, draw them and
look at the region graph:

>>> import torch
>>> from reluthe import regions
>>> from reluthe.models import mlp
>>> gen = torch.Generator().manual_seed(0)
>>> x = torch.randn(64, 5, generator=gen)
>>> y = (x[:, 0] * x[:, 1] > 0).long()
>>> model = mlp([5, 16, 16, 2], seed=0)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.2)
>>> for _ in range(100):
...     opt.zero_grad()
...     torch.nn.functional.cross_entropy(model(x), y).backward()
...     opt.step()
>>> origin, u, v, extent = regions.plane_through(x[0], x[1], x[2])
>>> res = regions.count_on_plane(model, origin, u, v, extent)
>>> area = (extent[1] - extent[0]) * (extent[3] - extent[2])
>>> res.count >= res.linear_count >= 1 and bool(abs(res.areas.sum() - area) < 1e-9)
True
>>> ax = res.plot()                      # a new matplotlib Figure; save with ax.figure.savefig
>>> g = res.graph
>>> g.number_of_nodes() == res.count and all(len(g.nodes[n]["pattern"]) == 32 for n in g)
True
>>> line = regions.count_on_line(model, x[0], x[1])
>>> line.count == len(line.breakpoints) + 1
True
"""

from __future__ import annotations

from reluthe.regions._box import count_in_box
from reluthe.regions._common import ToleranceWarning
from reluthe.regions._line import count_on_line
from reluthe.regions._local import count_near, count_near_many
from reluthe.regions._local_result import LocalRegions
from reluthe.regions._patterns import count_patterns, pattern_codes
from reluthe.regions._plane import count_on_plane, plane_through
from reluthe.regions._result import BoxRegions, LineRegions, PlaneRegions

__all__ = [
    "count_on_line",
    "count_on_plane",
    "count_in_box",
    "count_near",
    "count_near_many",
    "count_patterns",
    "pattern_codes",
    "plane_through",
    "LineRegions",
    "PlaneRegions",
    "BoxRegions",
    "LocalRegions",
    "ToleranceWarning",
]
