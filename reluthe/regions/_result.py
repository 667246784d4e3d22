"""Result objects of the region counters: frozen dataclasses with ``to_dict()`` and lazy views.

Every result has ``count`` (activation regions with positive size in the domain), ``linear_count``
(linear regions: neighbouring activation regions on which the network is the same affine map are
merged), ``graph`` (a :class:`networkx.Graph`, built on first access), the tolerances used
(``tol``, ``linear_tol``), per-region ``sizes`` and ``smallest_size``, ``patterns``,
``f_vector`` (number of vertices, edges, ..., cells of the subdivided domain; its alternating sum
is 1, Euler's relation for a ball), ``tol_merges`` (vertices that the tolerance put on a kink
although they lie farther from it than rounding explains: when > 0, regions narrower than
``tol`` times the domain's scale may have been merged, and a
:class:`~reluthe.regions.ToleranceWarning` was issued) and ``to_dict()`` (JSON-ready
summary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["RegionsBase", "LineRegions", "PlaneRegions", "BoxRegions", "unpack_states"]


def unpack_states(packed: np.ndarray, layout: tuple[tuple[int, int], ...]) -> np.ndarray:
    """States (int8, regions x units) from packed split bits; ``layout``: (width, kinks)/layer."""
    n = packed.shape[0]
    cols = []
    offset = 0
    for width, kinks in layout:
        n_bits = width * kinks
        n_bytes = (n_bits + 7) // 8
        bits = np.unpackbits(packed[:, offset:offset + n_bytes], axis=1, count=n_bits)
        cols.append(bits.reshape(n, width, kinks).sum(axis=2, dtype=np.int8))
        offset += n_bytes
    if not cols:
        return np.zeros((n, 0), dtype=np.int8)
    return np.concatenate(cols, axis=1)


def _float(x) -> float:
    return float(x) if np.isfinite(x) else float("nan")


@dataclass(frozen=True, eq=False, repr=False)
class RegionsBase:
    """Fields shared by all results (see the module docstring)."""

    count: int
    linear_count: int
    tol: float
    linear_tol: float
    sizes: np.ndarray
    interior_points: np.ndarray
    linear_labels: np.ndarray
    widths: tuple[int, ...]
    f_vector: tuple[int, ...]
    _packed: np.ndarray = field(repr=False)
    _layout: tuple[tuple[int, int], ...] = field(repr=False)
    _edges: np.ndarray = field(repr=False)
    _edge_units: np.ndarray = field(repr=False)
    tol_merges: int = 0

    kind = "regions"

    @property
    def smallest_size(self) -> float:
        """Size (length / area / volume, domain coordinates) of the smallest region."""
        return float(self.sizes.min()) if self.sizes.size else float("nan")

    @cached_property
    def patterns(self) -> np.ndarray:
        """Activation pattern of every region: int8 states, shape (count, hidden units).

        A ReLU or LeakyReLU unit has state 1 where its pre-activation is > 0, else 0; a Hardtanh or
        ReLU6 unit has state 0, 1 or 2 (number of its kinks below the pre-activation).
        """
        states = unpack_states(self._packed, self._layout)
        states.setflags(write=False)
        return states

    @property
    def adjacency(self) -> np.ndarray:
        """(n_pairs, 2) region ids of neighbouring regions (sharing a facet)."""
        return self._edges

    @cached_property
    def graph(self):
        """Region adjacency graph (networkx.Graph), built on first access.

        One node per region (attributes ``pattern``: read-only int8 array of unit states,
        ``size``, ``point``: an interior point); one edge per pair of regions sharing a facet
        (attribute ``neuron``: ``(layer, index)`` of the unit whose kink the facet lies on).
        """
        import networkx as nx

        g = nx.Graph()
        pats = self.patterns
        pts = self.interior_points
        g.add_nodes_from((i, {"pattern": pats[i], "size": float(self.sizes[i]),
                              "point": pts[i]}) for i in range(self.count))
        units = self._edge_units
        g.add_edges_from((int(a), int(b), {"neuron": (int(units[i, 0]), int(units[i, 1]))})
                         for i, (a, b) in enumerate(self._edges))
        return g

    def _base_dict(self) -> dict:
        return {
            "kind": self.kind,
            "count": int(self.count),
            "linear_count": int(self.linear_count),
            "tol": float(self.tol),
            "linear_tol": float(self.linear_tol),
            "smallest_size": _float(self.smallest_size),
            "total_size": float(self.sizes.sum()),
            "n_adjacent_pairs": int(self._edges.shape[0]),
            "f_vector": [int(f) for f in self.f_vector],
            "widths": [int(w) for w in self.widths],
            "tol_merges": int(self.tol_merges),
        }

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(count={self.count}, linear_count={self.linear_count}, "
                f"smallest_size={self.smallest_size:.3g}, tol={self.tol:g})")


@dataclass(frozen=True, eq=False, repr=False)
class LineRegions(RegionsBase):
    """Activation regions on the segment ``start + t (end - start)``, ``t`` in [0, 1].

    ``sizes`` are lengths in ``t`` (they sum to 1), regions are ordered along the segment;
    ``breakpoints`` are the ``t`` where the pattern changes (``count - 1`` of them) and ``points``
    the corresponding inputs; ``intervals`` (count, 2) the ``t`` range of every region.
    """

    start: np.ndarray = field(default=None)
    end: np.ndarray = field(default=None)
    breakpoints: np.ndarray = field(default=None)
    intervals: np.ndarray = field(default=None)

    kind = "line"

    @property
    def points(self) -> np.ndarray:
        """The breakpoints as input points, shape (count - 1, input_dim)."""
        return self.start + self.breakpoints[:, None] * (self.end - self.start)

    @property
    def lengths(self) -> np.ndarray:
        """Lengths of the regions in input space (``sizes * |end - start|``)."""
        return self.sizes * float(np.linalg.norm(self.end - self.start))

    def to_dict(self) -> dict:
        """JSON-ready summary, with the breakpoints."""
        out = self._base_dict()
        out.update(start=self.start.tolist(), end=self.end.tolist(),
                   breakpoints=self.breakpoints.tolist())
        return out


@dataclass(frozen=True, eq=False, repr=False)
class PlaneRegions(RegionsBase):
    """Activation regions in the slice ``origin + a u + b v``, ``(a, b)`` in ``extent``.

    ``sizes`` (alias ``areas``) are areas in ``(a, b)`` coordinates (they sum to the extent's
    area); ``polygons`` lists one convex polygon per region (vertices in ``(a, b)``,
    counter-clockwise); ``interior_points`` are in ``(a, b)`` too (``to_input`` maps them).
    """

    origin: np.ndarray = field(default=None)
    u: np.ndarray = field(default=None)
    v: np.ndarray = field(default=None)
    extent: tuple[float, float, float, float] = field(default=None)
    _polygon_source: object = field(default=None, repr=False)

    kind = "plane"

    @property
    def areas(self) -> np.ndarray:
        return self.sizes

    @cached_property
    def polygons(self) -> list[np.ndarray]:
        """One (k, 2) array of ``(a, b)`` vertices per region, counter-clockwise (built on
        first access)."""
        return self._polygon_source.build()

    def to_input(self, ab) -> np.ndarray:
        """Map slice coordinates ``(a, b)`` (shape (..., 2)) to input points."""
        ab = np.asarray(ab, dtype=np.float64)
        return self.origin + ab[..., :1] * self.u + ab[..., 1:2] * self.v

    def plot(self, ax=None, *, cmap: str = "tab20", seed: int = 0, edgecolor="k",
             linewidth: float = 0.2):
        """Draw the regions, one colour each (matplotlib PolyCollection); returns the Axes.

        With ``ax=None`` a new :class:`matplotlib.figure.Figure` is created (pyplot's global
        state is not touched): save it with ``ax.figure.savefig(path)``.
        """
        from matplotlib import colormaps
        from matplotlib.collections import PolyCollection
        from matplotlib.figure import Figure

        if ax is None:
            ax = Figure(figsize=(5, 5)).add_subplot()
        rng = np.random.default_rng(seed)
        colors = colormaps[cmap](rng.random(self.count))
        ax.add_collection(PolyCollection(self.polygons, facecolors=colors, edgecolors=edgecolor,
                                         linewidths=linewidth))
        a0, a1, b0, b1 = self.extent
        ax.set_xlim(a0, a1)
        ax.set_ylim(b0, b1)
        ax.set_aspect("equal")
        ax.set_xlabel("a")
        ax.set_ylabel("b")
        ax.set_title(f"{self.count} activation regions ({self.linear_count} linear)")
        return ax

    def to_dict(self) -> dict:
        """JSON-ready summary (without the polygons)."""
        out = self._base_dict()
        out.update(origin=self.origin.tolist(), u=self.u.tolist(), v=self.v.tolist(),
                   extent=[float(e) for e in self.extent])
        return out


@dataclass(frozen=True, eq=False, repr=False)
class BoxRegions(RegionsBase):
    """Activation regions in the box ``[low, high]`` of the input space.

    ``sizes`` (alias ``volumes``) are volumes (they sum to the box volume); ``interior_points``
    holds one input point inside every region.
    """

    low: np.ndarray = field(default=None)
    high: np.ndarray = field(default=None)

    kind = "box"

    @property
    def volumes(self) -> np.ndarray:
        return self.sizes

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        out = self._base_dict()
        out.update(low=self.low.tolist(), high=self.high.tolist())
        return out
