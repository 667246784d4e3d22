"""The network's outputs on the regions of a result, and the exact decision boundary on a plane.

The *output* is what the network returns (its last affine map, or the last hidden layer when it
has none). The *predicted class* is the argmax of the outputs; with a single output it is 1 where
the output is > 0 and 0 elsewhere (a logit, as regioncam's sign classifier). Inside an activation
region the outputs are one affine map, so the set where two classes tie is a segment there: the
decision boundary is computed exactly, region by region, by clipping the region's polygon with
the half-planes where those two classes beat every other class.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from reluthe.errors import InvalidInputError

__all__ = ["network_of", "forward", "region_outputs", "predicted_class", "decision_boundary"]

_CHUNK = 1 << 14            # rows per forward pass: bounds the memory of one layer's values


def network_of(res, func: str):
    """The PLNet that ``res`` was counted on; InvalidInputError when it holds none."""
    if res._net is None:
        raise InvalidInputError(f"{func} needs the network the regions were counted on, and this "
                                f"{type(res).__name__} holds none. Use a result returned by "
                                f"reluthe.regions.count_on_line / count_on_plane / count_in_box.")
    return res._net


def forward(net, x: np.ndarray) -> np.ndarray:
    """``net.forward(x)`` for (n, input_dim) points, in chunks of :data:`_CHUNK` rows."""
    if x.shape[0] == 0:
        return np.zeros((0, net.output_dim))
    return np.concatenate([net.forward(x[i:i + _CHUNK]) for i in range(0, x.shape[0], _CHUNK)])


def _plane_net(res, func: str):
    """The network as a function of the plane coordinates ``(a, b)`` of a PlaneRegions."""
    return network_of(res, func).restrict(res.origin, np.stack([res.u, res.v], axis=1))


def region_outputs(res, func: str = "reluthe.regions") -> np.ndarray:
    """The network's outputs at the interior point of every region: (count, n_outputs).

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.eye(2), np.zeros(2)), (np.array([[1.0, -1.0]]), np.zeros(1))]
    >>> res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1])
    >>> out = region_outputs(res)
    >>> out.shape, bool(np.allclose(out, res._net.forward(res.to_input(res.interior_points))))
    ((4, 1), True)
    """
    if res.kind == "plane":
        return forward(_plane_net(res, func), np.asarray(res.interior_points))
    return forward(network_of(res, func), np.asarray(res.interior_points))


def _scores(outputs: np.ndarray) -> np.ndarray:
    """Class scores: the outputs, or ``[0, output]`` for a single output (sign classifier)."""
    if outputs.shape[1] == 1:
        return np.concatenate([np.zeros_like(outputs), outputs], axis=1)
    return outputs


def predicted_class(outputs: np.ndarray) -> np.ndarray:
    """Argmax of ``outputs`` (n, k) per row; for k = 1, 1 where the output is > 0, else 0.

    Examples
    --------
    >>> predicted_class(np.array([[0.5], [-1.0]])).tolist()
    [1, 0]
    >>> predicted_class(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
    """
    return np.argmax(_scores(outputs), axis=1)


def _clip(poly: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The part of a convex polygon where the affine ``s`` (its values at the vertices) is >= 0.

    ``poly`` rows are the vertices with the class scores attached (``[a, b, scores...]``), all
    interpolated linearly on the new vertices (exact for affine scores).
    """
    keep = s >= 0
    if keep.all() or not keep.any():
        return poly if keep.all() else poly[:0]
    nxt = np.roll(np.arange(s.size), -1)
    rows = []
    for i, j in zip(range(s.size), nxt):
        if keep[i]:
            rows.append(poly[i])
        if (s[i] > 0 > s[j]) or (s[i] < 0 < s[j]):
            rows.append(poly[i] + (s[i] / (s[i] - s[j])) * (poly[j] - poly[i]))
    return np.array(rows)


def _zero_segment(poly: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """The segment where the affine ``d`` vanishes in a convex polygon (its vertices' ``(a, b)``
    in ``poly[:, :2]``), or None (no crossing, a single point, or ``d`` zero everywhere)."""
    if poly.shape[0] < 2 or np.all(d == 0):
        return None
    j = np.roll(np.arange(d.size), -1)
    cross = ((d > 0) & (d[j] < 0)) | ((d < 0) & (d[j] > 0))
    w = d[cross] / (d[cross] - d[j][cross])
    pts = np.concatenate([poly[d == 0, :2],
                          poly[cross, :2] + w[:, None] * (poly[j][cross, :2] - poly[cross, :2])])
    if pts.shape[0] < 2:
        return None
    gaps = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=2)
    p, q = np.unravel_index(np.argmax(gaps), gaps.shape)
    return np.stack([pts[p], pts[q]]) if gaps[p, q] > 0 else None


def _region_boundary(poly: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """Tie segments ``(segment, i, j)`` of classes i < j inside one region (vertex rows
    ``[a, b, scores...]``). A class below another one at every vertex cannot win anywhere (the
    scores are affine) and is left out first."""
    s = poly[:, 2:]
    dominated = np.all(s[:, :, None] < s[:, None, :], axis=0).any(axis=1)
    cand = np.flatnonzero(~dominated)
    out = []
    for i, j in combinations(cand.tolist(), 2):
        piece = poly
        for k in cand:
            if k != i and k != j and piece.shape[0]:
                piece = _clip(piece, piece[:, 2 + i] - piece[:, 2 + k])
        seg = _zero_segment(piece, piece[:, 2 + i] - piece[:, 2 + j]) if piece.shape[0] else None
        if seg is not None:
            out.append((seg, i, j))
    return out


def decision_boundary(res, func: str = "reluthe.regions.PlaneRegions.decision_boundary"):
    """Segments (n, 2, 2) in ``(a, b)`` where the two top classes tie, and their classes (n, 2).

    The scores are evaluated at every polygon vertex (the network is continuous and affine on
    each closed region, so this fixes them on the whole polygon); only regions whose vertices do
    not all have one class are searched. A segment on a side shared by two regions may be
    reported by both.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.eye(2), np.zeros(2)), (np.array([[1.0, 1.0]]), np.array([-0.5]))]
    >>> res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1])
    >>> segs, pairs = decision_boundary(res)       # relu(a) + relu(b) = 0.5 in three regions
    >>> ab = segs.reshape(-1, 2)
    >>> bool(np.allclose(np.maximum(ab, 0).sum(axis=1), 0.5)), pairs.tolist()
    (True, [[0, 1], [0, 1], [0, 1]])
    """
    polys = res.polygons
    lengths = np.array([p.shape[0] for p in polys], dtype=np.int64)
    xy = np.concatenate(polys) if polys else np.zeros((0, 2))
    scores = _scores(forward(_plane_net(res, func), xy))
    rows = np.concatenate([xy, scores], axis=1)
    cls = np.argmax(scores, axis=1)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    mixed = (np.flatnonzero(np.minimum.reduceat(cls, starts) != np.maximum.reduceat(cls, starts))
             if xy.shape[0] else np.zeros(0, dtype=np.int64))
    segs, pairs = [], []
    for r in mixed.tolist():
        for seg, i, j in _region_boundary(rows[starts[r]:starts[r] + lengths[r]]):
            segs.append(seg)
            pairs.append((i, j))
    return (np.array(segs, dtype=np.float64).reshape(-1, 2, 2),
            np.array(pairs, dtype=np.int64).reshape(-1, 2))
