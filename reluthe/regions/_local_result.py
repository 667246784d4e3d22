"""The result of :func:`~reluthe.regions.count_near`: the activation regions meeting a
neighbourhood of a point in the full input space."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from reluthe.nets import PLNet

__all__ = ["LocalRegions"]


@dataclass(frozen=True, eq=False, repr=False)
class LocalRegions:
    """Activation regions meeting the ball ``{x : ||x - center||_norm <= radius}``.

    Attributes
    ----------
    count : int
        Activation regions holding a Euclidean ball of radius ``tol * radius`` inside the
        neighbourhood (the local complexity).
    patterns : ndarray of int8, shape (count, hidden units)
        The activation pattern (unit states) of every region.
    interior_points : ndarray, shape (count, input_dim)
        A point inside every region and the neighbourhood (flattened input coordinates).
    radii : ndarray, shape (count,)
        Radius of a Euclidean ball around each interior point inside its region and the
        neighbourhood (input units; at least ``tol * radius``, not always the largest such
        ball: the LP that finds it keeps the centre ``tol * radius`` inside the domain).
    center, radius, norm
        The neighbourhood (``norm`` ``"inf"``: a box of half-width ``radius``; ``"1"``: an L1
        ball).
    tol : float
        Relative tolerance used (fraction of ``radius``).
    engine : str
        ``"search"``: the layer-wise splitting of :mod:`reluthe.regions._search`.
    n_lps : int
        Linear programs solved (the main cost).
    graph : networkx.Graph
        One node per region (``pattern``, ``point``, ``radius``), one edge per pair of regions
        sharing a facet on which one unit flips (``neuron``: ``(layer, index)``).
    linear_count : int
        Connected linear regions (neighbouring regions with one affine map joined), computed on
        first access from the regions' exact affine maps (:mod:`reluthe.regions._linear`).
    """

    count: int
    patterns: np.ndarray
    interior_points: np.ndarray
    radii: np.ndarray
    center: np.ndarray
    radius: float
    norm: str
    tol: float
    engine: str
    n_lps: int
    widths: tuple[int, ...]
    _edges: np.ndarray = field(repr=False)
    _edge_units: np.ndarray = field(repr=False)
    _net: PLNet = field(default=None, repr=False)

    kind = "local"

    @property
    def adjacency(self) -> np.ndarray:
        """(n_pairs, 2) region ids of neighbouring regions."""
        return self._edges

    @cached_property
    def graph(self):
        """Region adjacency graph (networkx.Graph), built on first access."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from((i, {"pattern": self.patterns[i], "point": self.interior_points[i],
                              "radius": float(self.radii[i])}) for i in range(self.count))
        units = self._edge_units
        g.add_edges_from((int(a), int(b), {"neuron": (int(units[i, 0]), int(units[i, 1]))})
                         for i, (a, b) in enumerate(self._edges))
        return g

    @cached_property
    def linear_count(self) -> int:
        from reluthe.regions._search import region_linear

        return int(region_linear(self._net, self.patterns, self._edges, 0.0).connected)

    def to_dict(self) -> dict:
        """JSON-ready summary: scalars and one rectangular row per region (pattern, radius)."""
        return {
            "kind": self.kind,
            "count": int(self.count),
            "linear_count": int(self.linear_count),
            "norm": self.norm,
            "radius": float(self.radius),
            "center": self.center.tolist(),
            "tol": float(self.tol),
            "engine": self.engine,
            "n_lps": int(self.n_lps),
            "n_adjacent_pairs": int(self._edges.shape[0]),
            "widths": [int(w) for w in self.widths],
            "patterns": self.patterns.tolist(),
            "radii": [float(r) for r in self.radii],
        }

    def __repr__(self) -> str:
        return (f"LocalRegions(count={self.count}, norm={self.norm!r}, radius={self.radius:g}, "
                f"tol={self.tol:g})")
