"""Region tables: one row per region of a result, as columns, a pandas DataFrame or GeoJSON.

Columns, in order: ``region`` (id, as in ``patterns`` and ``graph``), the size (``length`` in
``t`` for a line, ``area`` in ``(a, b)`` for a plane, ``volume`` for a box), ``n_vertices``
(plane), ``t_start``, ``t_end`` (line), the interior point (``t`` on a line, ``a``, ``b`` on a
plane, ``x0``, ``x1``, ... in a box), ``pattern`` (the states of the hidden units as one string:
a character per unit, ``0``-``9`` then ``a``-``z`` for states 10-35, beyond that the numbers
separated by ``.``; layers separated by ``|``), ``active`` (units with a non-zero state),
``linear_region`` (the connected linear region holding the region, ``linear_labels``), ``piece``
(its affine piece, ``piece_labels``, where the result has them), ``predicted_class`` and
``output_0``, ``output_1``, ... (the network's outputs at the interior point).
"""

from __future__ import annotations

import json
import os

import numpy as np

from reluthe._validate import _fmt
from reluthe.errors import InvalidInputError
from reluthe.regions._decision import predicted_class, region_outputs

__all__ = ["region_columns", "region_frame", "pattern_strings", "active_units",
           "input_polygons", "plane_geojson", "write_json"]

_DIGITS = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_SIZE_NAME = {"line": "length", "plane": "area", "box": "volume"}


def pattern_strings(patterns: np.ndarray, widths) -> list[str]:
    """One string per row of ``patterns`` (int8 states): a character per unit, ``|`` between
    layers.

    Examples
    --------
    >>> pattern_strings(np.array([[1, 0, 1, 2], [0, 0, 0, 1]], dtype=np.int8), (3, 1))
    ['101|2', '000|1']
    >>> pattern_strings(np.array([[40, 1, 0]], dtype=np.int8), (2, 1))   # a state > 35
    ['40.1|0']
    """
    n = patterns.shape[0]
    if patterns.size and (patterns.min() < 0 or patterns.max() >= _DIGITS.size):
        return ["|".join(".".join(str(int(s)) for s in row[lo:hi])
                         for lo, hi in _layer_bounds(widths)) for row in patterns]
    parts = []
    for k, (lo, hi) in enumerate(_layer_bounds(widths)):
        if k:
            parts.append(np.full((n, 1), ord("|"), dtype=np.uint8))
        parts.append(_DIGITS[patterns[:, lo:hi]])
    if not parts:
        return [""] * n
    chars = np.ascontiguousarray(np.concatenate(parts, axis=1))
    if chars.shape[1] == 0:
        return [""] * n
    return [s.decode("ascii") for s in chars.view(f"S{chars.shape[1]}").ravel()]


def active_units(res) -> np.ndarray:
    """Units with a non-zero state in every region (ReLU / LeakyReLU units that are on; Hardtanh
    and ReLU6 units above their lower kink); the units of a max-pool, whose state is an argmax
    position, are not counted."""
    return np.count_nonzero(np.asarray(res.patterns)[:, ~res._net.pooled], axis=1)


def _layer_bounds(widths) -> list[tuple[int, int]]:
    ends = np.cumsum([0, *widths])
    return [(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:])]


def _where_columns(res) -> dict:
    """The kind-specific columns: size, vertices / interval, interior point."""
    cols = {_SIZE_NAME[res.kind]: np.asarray(res.sizes, dtype=np.float64)}
    pts = np.asarray(res.interior_points)
    if res.kind == "plane":
        cols["n_vertices"] = np.array([p.shape[0] for p in res.polygons], dtype=np.int64)
        cols["a"], cols["b"] = pts[:, 0], pts[:, 1]
    elif res.kind == "line":
        d = res.end - res.start
        cols["t_start"], cols["t_end"] = res.intervals[:, 0], res.intervals[:, 1]
        cols["t"] = (pts - res.start) @ d / float(d @ d)
    else:
        cols.update((f"x{j}", pts[:, j]) for j in range(pts.shape[1]))
    return cols


def region_columns(res) -> dict[str, object]:
    """The table of ``res`` as ``{column: values}`` (numpy arrays; ``pattern`` a list of str).

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])), (np.ones((1, 2)), np.zeros(1))]
    >>> cols = region_columns(regions.count_on_line(net, [-1.0], [2.0]))
    >>> list(cols), cols["pattern"], cols["active"].tolist()   # doctest: +NORMALIZE_WHITESPACE
    (['region', 'length', 't_start', 't_end', 't', 'pattern', 'active', 'linear_region', 'piece',
      'predicted_class', 'output_0'], ['00', '10', '11'], [0, 1, 2])
    """
    cols = {"region": np.arange(res.count, dtype=np.int64)}
    cols.update(_where_columns(res))
    cols["pattern"] = pattern_strings(np.asarray(res.patterns), res.widths)
    cols["active"] = active_units(res).astype(np.int64)
    cols["linear_region"] = np.asarray(res.linear_labels, dtype=np.int64)
    if res.piece_labels is not None:
        cols["piece"] = np.asarray(res.piece_labels, dtype=np.int64)
    if res._net is not None:
        out = region_outputs(res)
        cols["predicted_class"] = predicted_class(out).astype(np.int64)
        cols.update((f"output_{k}", out[:, k]) for k in range(out.shape[1]))
    return cols


def region_frame(res):
    """``region_columns(res)`` as a :class:`pandas.DataFrame` (pandas is imported here)."""
    import pandas as pd

    return pd.DataFrame(region_columns(res))


def _rows(cols: dict) -> list[dict]:
    """Rows of a column table as JSON-ready dicts (Python scalars)."""
    names = list(cols)
    values = [np.asarray(cols[k]).tolist() for k in names]
    return [dict(zip(names, row)) for row in zip(*values)]


def input_polygons(res) -> list[list[list[float]]]:
    """Every region's polygon with its vertices mapped to the input space (``origin + a u +
    b v``), counter-clockwise in ``(a, b)``."""
    return [res.to_input(p).tolist() for p in res.polygons]


def plane_geojson(res) -> dict:
    """A GeoJSON FeatureCollection of the regions of a PlaneRegions, in plane coordinates."""
    features = []
    for row, poly in zip(_rows(region_columns(res)), res.polygons):
        ring = np.concatenate([poly, poly[:1]]).tolist()       # closed, counter-clockwise
        features.append({"type": "Feature", "id": row["region"], "properties": row,
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    plane = {"origin": res.origin.tolist(), "u": res.u.tolist(), "v": res.v.tolist(),
             "extent": [float(e) for e in res.extent],
             "coordinates": "(a, b): the input point origin + a u + b v"}
    return {"type": "FeatureCollection", "plane": plane, "features": features}


def write_json(obj: dict, path, func: str) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (old file or new, never a part)."""
    from reluthe._files import atomic_write_text

    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"The 'path' parameter of {func} must be None or a file path (str "
                                f"or os.PathLike). Got {_fmt(path)} instead.")
    atomic_write_text(path, json.dumps(obj))
