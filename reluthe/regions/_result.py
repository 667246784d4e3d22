"""Result objects of the region counters: frozen dataclasses with ``to_dict()`` and lazy views.

Every result has ``count`` (activation regions with positive size in the domain), ``linear_count``
(connected linear regions: neighbouring activation regions on which the network is the same affine
map are merged), ``linear_counts`` (the counts under the three named definitions of
:data:`reluthe.regions._linear.DEFINITIONS`: ``"activation"``, ``"connected"``, ``"pieces"``),
``piece_labels`` (the piece of every region), ``linear_map_tol`` (the absolute tolerances to
which the affine maps were compared: ``{"jacobian": ..., "offset": ...}``; these linear fields
are computed on first access, from the exact affine map of every region), ``graph`` (a
:class:`networkx.Graph`, built on first access), the tolerances used (``tol``,
``linear_tol``), per-region ``sizes`` and ``smallest_size``, ``patterns``,
``f_vector`` (number of vertices, edges, ..., cells of the subdivided domain; its alternating sum
is 1, Euler's relation for a ball), ``tol_merges`` (vertices that the tolerance put on a kink
although they lie farther from it than rounding explains: when > 0, regions narrower than
``tol`` times the domain's scale may have been merged, and a
:class:`~reluthe.regions.ToleranceWarning` was issued) and ``to_dict()`` (JSON-ready
summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["RegionsBase", "LineRegions", "PlaneRegions", "BoxRegions", "unpack_states",
           "pack_by_layout"]


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


def pack_by_layout(states: np.ndarray, layout: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The packed split bits of :func:`unpack_states` from states (per part: bit ``k`` of a
    unit is ``state > k``, unit-major, whole bytes per part).

    Examples
    --------
    >>> import numpy as np
    >>> states = np.array([[2, 0, 1]], dtype=np.int8)
    >>> unpack_states(pack_by_layout(states, ((1, 3), (2, 1))), ((1, 3), (2, 1))).tolist()
    [[2, 0, 1]]
    """
    cols, first = [], 0
    for width, kinks in layout:
        st = states[:, first:first + width]
        bits = st[:, :, None] > np.arange(kinks)[None, None, :]
        cols.append(np.packbits(bits.reshape(st.shape[0], -1), axis=1))
        first += width
    if not cols:
        return np.zeros((states.shape[0], 0), dtype=np.uint8)
    return np.concatenate(cols, axis=1)


def _float(x) -> float:
    return float(x) if np.isfinite(x) else float("nan")


@dataclass(frozen=True, eq=False, repr=False)
class RegionsBase:
    """Fields shared by all results (see the module docstring)."""

    count: int
    tol: float
    linear_tol: float
    sizes: np.ndarray
    interior_points: np.ndarray
    widths: tuple[int, ...]
    f_vector: tuple[int, ...]
    _packed: np.ndarray = field(repr=False)
    _layout: tuple[tuple[int, int], ...] = field(repr=False)
    _edges: np.ndarray = field(repr=False)
    _edge_units: np.ndarray = field(repr=False)
    tol_merges: int = 0
    _net: object = field(default=None, repr=False)   # the PLNet counted: outputs, pictures
    _linear: object = field(default=None, repr=False)  # reluthe.regions._engine.LinearReadout

    kind = "regions"

    @cached_property
    def _linear_counts(self):
        """The :class:`~reluthe.regions._linear.LinearCounts`, computed on first access to
        any of the linear fields (the exact affine map of every region)."""
        lin = self._linear.counts()
        for arr in (lin.connected_labels, lin.piece_labels):
            arr.setflags(write=False)
        return lin

    @property
    def linear_count(self) -> int:
        """Connected linear regions (``linear_counts["connected"]``), computed on first
        access."""
        return int(self._linear_counts.connected)

    @property
    def linear_labels(self) -> np.ndarray:
        """The connected linear region of every region (0, 1, ...)."""
        return self._linear_counts.connected_labels

    @property
    def piece_labels(self) -> np.ndarray:
        """The affine piece of every region (0, 1, ...)."""
        return self._linear_counts.piece_labels

    @property
    def linear_counts(self) -> Mapping[str, int]:
        """Counts under the three definitions of :data:`reluthe.regions._linear.DEFINITIONS`
        (read-only)."""
        return self._linear_counts.counts

    @property
    def linear_map_tol(self) -> Mapping[str, float]:
        """The absolute tolerances to which the affine maps were compared (read-only)."""
        return self._linear_counts.tolerances

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

    def to_frame(self):
        """One row per region as a :class:`pandas.DataFrame` (pandas must be installed).

        Columns: ``region``, the size (``length`` / ``area`` / ``volume``), ``n_vertices``
        (plane), ``t_start``, ``t_end`` (line), the interior point (``t``; ``a``, ``b``;
        ``x0``, ...), ``pattern`` (one character per unit's state, ``|`` between layers),
        ``active`` (units with a non-zero state), ``linear_region``, ``piece`` (the region's
        linear region and affine piece), ``predicted_class`` and ``output_0``, ... (the
        network's outputs at the interior point; one output: class 1 where it is > 0). See
        :mod:`reluthe.regions._table`.
        """
        from reluthe.regions._table import region_frame

        return region_frame(self)

    def _base_dict(self) -> dict:
        return {
            "kind": self.kind,
            "count": int(self.count),
            "linear_count": int(self.linear_count),
            "linear_counts": {k: int(v) for k, v in self.linear_counts.items()},
            "linear_map_tol": {k: float(v) for k, v in self.linear_map_tol.items()},
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

    def plot(self, y: str = "output", *, output: int = 0, ax=None, x: str = "t",
             breakpoints: bool = True):
        """Draw an output (exact: a polyline through the breakpoints) or the number of active
        units per region (steps) along the segment; returns the Axes.

        Parameters
        ----------
        y : {"output", "active"}
            What to draw: the network's output number ``output``, or the units with a non-zero
            state in every region.
        output : int
            Index of the output drawn with ``y="output"``.
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new :class:`matplotlib.figure.Figure` (pyplot is not
            touched): save it with ``ax.figure.savefig(path)``.
        x : {"t", "distance"}
            The horizontal axis: ``t`` in [0, 1] or the distance from ``start``.
        breakpoints : bool
            Mark the breakpoints with thin grey lines.

        Raises
        ------
        InvalidInputError
            ``y`` or ``x`` not one of the accepted values, ``output`` out of range.

        Examples
        --------
        >>> import numpy as np
        >>> from reluthe import regions
        >>> net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])),
        ...        (np.ones((1, 2)), np.zeros(1))]
        >>> ax = regions.count_on_line(net, [-1.0], [2.0]).plot()
        >>> ax.lines[0].get_ydata().tolist()        # the output at t = 0, 1/3, 2/3, 1
        [0.0, 0.0, 1.0, 3.0]
        """
        from reluthe.regions._plot import plot_line

        return plot_line(self, y, output=output, ax=ax, x=x, breakpoints=breakpoints)

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
    ``engine`` says which engine cut the rectangle: ``"plane"`` (all kinks of a layer at once)
    or ``"lattice"`` (the sequential engine, which ran because a vertex came within ``tol``
    times the scale of a kink it is not on; a smaller ``tol``, down to 2^-40, may avoid it).
    """

    origin: np.ndarray = field(default=None)
    u: np.ndarray = field(default=None)
    v: np.ndarray = field(default=None)
    extent: tuple[float, float, float, float] = field(default=None)
    _polygon_source: object = field(default=None, repr=False)
    engine: str = "plane"

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

    def plot(self, color=None, *, output: int = 0, ax=None, boundary: bool = False,
             points=None, labels=None, edges: bool = True, cmap: str | None = None,
             seed: int = 0):
        """Draw the regions (a matplotlib PolyCollection), coloured by a quantity; returns the
        Axes. The axes are the plane coordinates ``(a, b)``.

        Parameters
        ----------
        color : None, {"class", "output", "active", "area"} or callable
            ``None``: one random colour per region. ``"class"``: the predicted class at the
            region's interior point (argmax of the outputs; one output: class 1 where it is
            > 0), with a legend. ``"output"``: output number ``output`` at the interior point;
            ``"active"``: units with a non-zero state; ``"area"``: the region's area (log
            scale); a callable ``f(result)`` returning one number per region: with a colour bar.
        output : int
            The output drawn by ``color="output"``.
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new :class:`matplotlib.figure.Figure` (pyplot's global
            state is not touched): save it with ``ax.figure.savefig(path)``.
        boundary : bool
            Draw the decision boundary: where the two top classes tie, exact per region (see
            :meth:`decision_boundary`).
        points : array-like, optional
            Input points (n, input_dim) or (n, *input_shape) drawn at their orthogonal
            projection onto the plane; the distance off the plane is ignored.
        labels : sequence, optional
            One label per point: the points are coloured by label (integer labels in the class
            colours with ``color="class"``), with a legend.
        edges : bool
            Draw the sides of the regions (thin black lines).
        cmap : str, optional
            A matplotlib colormap name (defaults: tab20 random, tab10 classes, viridis values).
        seed : int
            Seed of the random colours of ``color=None``.

        Raises
        ------
        InvalidInputError
            An unknown ``color`` (the message lists the accepted ones), ``output`` out of range,
            points of the wrong dimension, one label per point missing, an unknown ``cmap``.

        Examples
        --------
        >>> import numpy as np
        >>> from reluthe import regions
        >>> net = [(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3)),
        ...        (np.array([[1.0, -1.0, 0.5], [0.0, 0.5, -0.5]]), np.zeros(2))]
        >>> res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1])
        >>> ax = res.plot("class", boundary=True, points=[[0.5, 0.2]], labels=[0])
        >>> ax.get_xlabel()
        'a (plane coordinate along u)'
        >>> res.plot("colour")
        Traceback (most recent call last):
        ...
        reluthe.errors.InvalidInputError: The 'color' ... ['class', 'output', 'active', 'area'] ...
        """
        from reluthe.regions._plot import plot_plane

        return plot_plane(self, color, output=output, ax=ax, boundary=boundary, points=points,
                          labels=labels, edges=edges, cmap=cmap, seed=seed)

    def decision_boundary(self) -> tuple[np.ndarray, np.ndarray]:
        """The decision boundary in ``(a, b)``: segments (n, 2, 2) and their classes (n, 2).

        Where the two top classes (argmax of the outputs; one output: its sign) tie. The
        outputs are affine on every region, so the boundary is exact per region: the region's
        polygon is clipped by the half-planes where the two classes beat every other class, and
        the tie line crosses what is left in one segment. A segment on a side shared by two
        regions may appear twice.

        Examples
        --------
        >>> import numpy as np
        >>> from reluthe import regions
        >>> net = [(np.eye(2), np.zeros(2)), (np.array([[1.0, 1.0]]), np.array([-0.5]))]
        >>> res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1])
        >>> segs, classes = res.decision_boundary()     # relu(a) + relu(b) = 0.5: three pieces
        >>> len(segs), round(float(np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1).sum()), 4)
        (3, 2.7071)
        """
        from reluthe.regions._decision import decision_boundary

        return decision_boundary(self)

    def to_dict(self, polygons: bool = False) -> dict:
        """JSON-ready summary; with ``polygons=True`` also ``polygons``: every region's vertices
        mapped to the INPUT space (``origin + a u + b v``, one list of points per region)."""
        from reluthe._validate import check_bool

        polygons = check_bool(polygons, param="polygons",
                              func="reluthe.regions.PlaneRegions.to_dict")
        out = self._base_dict()
        out.update(origin=self.origin.tolist(), u=self.u.tolist(), v=self.v.tolist(),
                   extent=[float(e) for e in self.extent], engine=self.engine)
        if polygons:
            from reluthe.regions._table import input_polygons

            out["polygons"] = input_polygons(self)
        return out

    def to_geojson(self, path=None) -> dict:
        """The regions as a GeoJSON FeatureCollection in PLANE coordinates ``(a, b)``.

        One Polygon feature per region (``id`` the region id; ring closed, counter-clockwise),
        ``properties`` its row of :meth:`to_frame`; the member ``plane`` holds ``origin``, ``u``,
        ``v`` and ``extent`` (the input point of ``(a, b)`` is ``origin + a u + b v``). With
        ``path`` the JSON is also written there atomically. Returns the dict.

        Examples
        --------
        >>> import numpy as np
        >>> from reluthe import regions
        >>> net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
        >>> gj = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1]).to_geojson()
        >>> gj["type"], len(gj["features"]), gj["features"][0]["properties"]["area"]
        ('FeatureCollection', 4, 1.0)
        """
        from reluthe.regions._table import plane_geojson, write_json

        out = plane_geojson(self)
        if path is not None:
            write_json(out, path, "reluthe.regions.PlaneRegions.to_geojson")
        return out


@dataclass(frozen=True, eq=False, repr=False)
class BoxRegions(RegionsBase):
    """Activation regions in the box ``[low, high]`` of the input space.

    ``sizes`` (alias ``volumes``) are volumes (they sum to the box volume); ``interior_points``
    holds one input point inside every region. ``engine`` says which engine ran: ``"lattice"``
    (the face lattice: exact volumes) or ``"search"`` (:mod:`reluthe.regions._search`: no
    volumes, ``sizes`` are NaN, ``f_vector`` is empty; ``to_dict()`` gives ``None`` for the
    sizes).
    """

    low: np.ndarray = field(default=None)
    high: np.ndarray = field(default=None)
    engine: str = "lattice"

    kind = "box"

    @property
    def volumes(self) -> np.ndarray:
        return self.sizes

    def to_dict(self) -> dict:
        """JSON-ready summary (``smallest_size``, ``total_size``: None under ``"search"``)."""
        out = self._base_dict()
        out.update(low=self.low.tolist(), high=self.high.tolist(), engine=self.engine)
        if self.engine == "search":
            out.update(smallest_size=None, total_size=None)
        return out
