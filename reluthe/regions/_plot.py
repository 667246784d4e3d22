"""Pictures of region results: a plane coloured by a per-region quantity, a line's outputs.

Everything draws on a :class:`matplotlib.axes.Axes` (a new :class:`matplotlib.figure.Figure`
when none is given; pyplot's global state is never touched) and returns it.
"""

from __future__ import annotations

import numpy as np

from reluthe._validate import (
    _fmt,
    check_bool,
    check_choice,
    check_positive_int,
    check_real_array,
    check_seed,
)
from reluthe.errors import InvalidInputError
from reluthe.regions._decision import (
    decision_boundary,
    forward,
    network_of,
    predicted_class,
    region_outputs,
)
from reluthe.regions._table import active_units

__all__ = ["PLANE_COLORS", "LINE_QUANTITIES", "plot_plane", "plot_line", "project"]

PLANE_COLORS = ("class", "output", "active", "area")
LINE_QUANTITIES = ("output", "active")
_PLANE_FUNC = "reluthe.regions.PlaneRegions.plot"
_LINE_FUNC = "reluthe.regions.LineRegions.plot"


def _new_axes(ax):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(6, 5), layout="constrained").add_subplot()


def _output_index(res, output, func: str) -> int:
    """``output`` checked against the network's number of outputs."""
    n_out = network_of(res, func).output_dim
    idx = check_positive_int(output, param="output", func=func, minimum=0)
    if idx >= n_out:
        raise InvalidInputError(f"The 'output' parameter of {func} must be an output index in "
                                f"[0, {n_out - 1}] (the network has {n_out} outputs). Got "
                                f"{idx} instead.")
    return idx


def _callable_values(res, color, func: str) -> np.ndarray:
    values = check_real_array(color(res), param="color (the callable's result)", func=func,
                              ndim=1)
    if values.shape[0] != res.count:
        raise InvalidInputError(f"The 'color' parameter of {func}, a callable, must return one "
                                f"number per region ({res.count}). Got {values.shape[0]} values.")
    return values


def region_values(res, color, output: int, func: str = _PLANE_FUNC):
    """``(values, label, categorical)`` of the quantity ``color`` for every region."""
    if callable(color):
        name = getattr(color, "__name__", "color")
        return _callable_values(res, color, func), f"{name}(result)", False
    if not isinstance(color, str) or color not in PLANE_COLORS:
        raise InvalidInputError(f"The 'color' parameter of {func} must be None (one colour per "
                                f"region), one of {list(PLANE_COLORS)} or a callable taking the "
                                f"result and returning one number per region. Got "
                                f"{_fmt(color)} instead.")
    if color == "class":
        return predicted_class(region_outputs(res, func)), "predicted class", True
    if color == "output":
        idx = _output_index(res, output, func)
        return region_outputs(res, func)[:, idx], f"output {idx} at the interior point", False
    if color == "active":
        return active_units(res), "active units", False
    return np.asarray(res.sizes), "area", False


def _class_colors(n: int, cmap):
    """``n`` distinct colours (tab10 / tab20 unless ``cmap`` is given)."""
    from matplotlib import colormaps

    name = cmap or ("tab10" if n <= 10 else "tab20" if n <= 20 else "turbo")
    cm = colormaps[name]
    if getattr(cm, "N", 256) >= n and cm.N <= 20:
        return [cm(i) for i in range(n)]
    return [cm(x) for x in np.linspace(0, 1, n)]


def project(res, points, func: str = _PLANE_FUNC) -> np.ndarray:
    """Plane coordinates ``(a, b)`` (n, 2) of the orthogonal projections of input ``points``
    ((n, input_dim), or (n, *input_shape)) onto the plane; the distance off the plane is
    ignored."""
    net = network_of(res, func)
    pts = check_real_array(points, param="points", func=func)
    if pts.ndim >= 2 and tuple(pts.shape[1:]) == tuple(net.input_shape):
        pts = pts.reshape(pts.shape[0], -1)
    if pts.ndim != 2 or pts.shape[1] != net.input_dim:
        raise InvalidInputError(f"The 'points' parameter of {func} must be input points of shape "
                                f"(n, {net.input_dim}) or (n, *{tuple(net.input_shape)}). Got "
                                f"shape {pts.shape} instead.")
    basis = np.stack([res.u, res.v], axis=1)
    return np.linalg.lstsq(basis, (pts - res.origin).T, rcond=None)[0].T


def _check_labels(labels, n_points: int | None, func: str) -> list | None:
    """``labels`` as a list of one label per point (None stays None)."""
    if labels is None:
        return None
    try:
        arr = None if isinstance(labels, (str, bytes)) else np.asarray(labels)
    except ValueError:                                            # ragged
        arr = None
    if n_points is None or arr is None or arr.ndim != 1 or arr.shape[0] != n_points:
        raise InvalidInputError(f"The 'labels' parameter of {func} must be None or hold one "
                                f"label per point of 'points' ({n_points or 'no points given'})."
                                f" Got {_fmt(labels)} instead.")
    return arr.tolist()


def _draw_points(ax, ab: np.ndarray, labels: list | None, class_colors):
    """Scatter the projected points, coloured by label when labels are given (integer labels in
    ``class_colors`` when there are such colours)."""
    if labels is None:
        ax.scatter(ab[:, 0], ab[:, 1], c="black", s=18, zorder=4, label="points")
        return
    try:
        distinct = sorted(set(labels))
    except TypeError:                                             # labels of mixed types
        distinct = sorted(set(labels), key=str)
    ints = all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in distinct)
    if ints and class_colors is not None and max(distinct) < len(class_colors):
        colors = {c: class_colors[c] for c in distinct}
    else:
        colors = dict(zip(distinct, _class_colors(len(distinct), None)))
    for lab in distinct:
        sel = np.array([x == lab for x in labels])
        ax.scatter(ab[sel, 0], ab[sel, 1], color=colors[lab], edgecolors="black", s=28,
                   zorder=4, label=f"points, label {lab}")


def _regions_collection(res, color, output, cmap, seed: int, edges: bool, func: str):
    """The regions as a PolyCollection coloured by ``color``; returns ``(collection, what,
    class_colors, legend handles, colour bar wanted)``."""
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Patch

    style = (dict(edgecolors="k", linewidths=0.2) if edges
             else dict(edgecolors="face", linewidths=0.0))
    if color is None:
        fill = colormaps[cmap or "tab20"](np.random.default_rng(seed).random(res.count))
        return (PolyCollection(res.polygons, facecolors=fill, **style), "one colour per region",
                None, [], False)
    values, what, categorical = region_values(res, color, output, func)
    if not categorical:
        coll = PolyCollection(res.polygons, array=values, cmap=cmap or "viridis",
                              norm=LogNorm() if color == "area" else None, **style)
        return coll, what, None, [], True
    class_colors = _class_colors(max(2, network_of(res, func).output_dim), cmap)
    handles = [Patch(facecolor=class_colors[c], edgecolor="k", label=f"class {c}")
               for c in np.unique(values)]
    coll = PolyCollection(res.polygons, facecolors=[class_colors[c] for c in values], **style)
    return coll, what, class_colors, handles, False


def plot_plane(res, color=None, *, output=0, ax=None, boundary=False, points=None, labels=None,
               edges=True, cmap=None, seed=0):
    """Draw a PlaneRegions; see :meth:`reluthe.regions.PlaneRegions.plot`."""
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection

    func = _PLANE_FUNC
    boundary = check_bool(boundary, param="boundary", func=func)
    edges = check_bool(edges, param="edges", func=func)
    if cmap is not None and (not isinstance(cmap, str) or cmap not in colormaps):
        raise InvalidInputError(f"The 'cmap' parameter of {func} must be None or the name of a "
                                f"matplotlib colormap (e.g. 'viridis', 'tab10'). Got "
                                f"{_fmt(cmap)} instead.")
    seed = check_seed(seed, func=func)
    ab = project(res, points, func) if points is not None else None
    labels = _check_labels(labels, None if ab is None else ab.shape[0], func)
    coll, what, class_colors, handles, bar = _regions_collection(res, color, output, cmap, seed,
                                                                 edges, func)
    ax = _new_axes(ax)
    ax.add_collection(coll)
    if bar:
        ax.figure.colorbar(coll, ax=ax, label=what, shrink=0.8)
    if boundary:
        ax.add_collection(LineCollection(decision_boundary(res, func)[0], colors="black",
                                         linewidths=1.6, zorder=3, label="decision boundary"))
    if ab is not None:
        _draw_points(ax, ab, labels, class_colors)
    a0, a1, b0, b1 = res.extent
    ax.set(xlim=(a0, a1), ylim=(b0, b1), aspect="equal", xlabel="a (plane coordinate along u)",
           ylabel="b (plane coordinate along v)")
    ax.set_title(f"{res.count} activation regions ({res.linear_count} linear): {what}",
                 fontsize="medium")
    handles += ax.get_legend_handles_labels()[0]       # the boundary and the points
    if handles:
        ax.legend(handles=handles, fontsize="small", loc="upper right", framealpha=0.85)
    return ax


def plot_line(res, y="output", *, output=0, ax=None, x="t", breakpoints=True):
    """Draw a LineRegions; see :meth:`reluthe.regions.LineRegions.plot`."""
    func = _LINE_FUNC
    if not isinstance(y, str) or y not in LINE_QUANTITIES:
        raise InvalidInputError(f"The 'y' parameter of {func} must be one of "
                                f"{list(LINE_QUANTITIES)}. Got {_fmt(y)} instead.")
    check_choice(x, ("t", "distance"), param="x", func=func)
    breakpoints = check_bool(breakpoints, param="breakpoints", func=func)
    ax = _new_axes(ax)
    scale = float(np.linalg.norm(res.end - res.start)) if x == "distance" else 1.0
    knots = np.concatenate([[0.0], res.breakpoints, [1.0]])
    if y == "output":
        idx = _output_index(res, output, func)
        inputs = res.start + knots[:, None] * (res.end - res.start)
        ax.plot(knots * scale, forward(network_of(res, func), inputs)[:, idx], color="C0",
                label=f"output {idx}")           # affine between breakpoints: exact polyline
        ax.set_ylabel(f"output {idx}")
    else:
        ax.stairs(active_units(res), knots * scale, color="C0", label="active units")
        ax.set_ylabel("active units")
    if breakpoints:
        for t in res.breakpoints:
            ax.axvline(t * scale, color="0.6", linewidth=0.5, zorder=0)
    ax.set_xlim(0.0, scale)
    ax.set_xlabel("t (start = 0, end = 1)" if x == "t" else "distance from start")
    ax.set_title(f"{res.count} activation regions on the segment ({len(res.breakpoints)} "
                 f"breakpoints, grey)", fontsize="medium")
    return ax
