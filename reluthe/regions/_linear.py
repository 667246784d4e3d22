"""Linear regions under three named definitions, from the exact affine map of every region.

On an activation region the network is one affine map ``y = J x + c`` (``J``: outputs x input
dimension, ``c``: the output at ``x = 0`` of the domain's coordinates), fixed by the region's
activation pattern. Stargalla, Hertrich & Reichman (NeurIPS 2025, "The computational complexity
of counting linear regions in ReLU neural networks") show that the literature counts "linear
regions" under several definitions that are not equivalent. :func:`linear_counts` reports three
of them, on the regions of a domain (segment, slice, box) and their facet adjacency:

``"activation"``
    activation regions: one per activation pattern of positive size (the ``count`` of a result);
``"connected"``
    connected linear regions: connected components of the region graph restricted to neighbours
    (regions sharing a facet) whose maps are equal within the tolerance. Regions that touch only
    in a lower-dimensional face are not joined. This is the results' ``linear_count``;
``"pieces"``
    affine pieces: distinct affine maps, a piece possibly made of disconnected regions.

Always ``pieces <= connected <= activation``; each can be strictly smaller (a unit that the output
ignores makes two activation regions one connected region; ``min(|x|, 1)`` has one piece, the
constant 1, on two disconnected intervals).

:func:`affine_maps` computes ``J`` and ``c`` of many regions from their patterns (float64,
layer by layer), :func:`rounding_error` bounds the rounding error of every entry (from
:func:`unit_bounds` of the patterns) and :func:`map_tolerance` turns it into the tolerances of
:func:`linear_counts`; they work for any :class:`~reluthe.nets.PLNet` and any set of patterns,
so other engines reuse them::

    J, c = affine_maps(net, states)
    tol = map_tolerance(rounding_error(net, *unit_bounds(net, states)), J, c)
    counts = linear_counts(J, c, edges, tol=tol)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._complex import ROUNDING_LEVEL

__all__ = ["DEFINITIONS", "LinearCounts", "affine_maps", "unit_bounds", "rounding_error",
           "map_tolerance", "linear_counts"]

DEFINITIONS = MappingProxyType({
    "activation": "activation regions: one per activation pattern of positive size",
    "connected": "connected unions of neighbouring regions (sharing a facet) with one affine map",
    "pieces": "distinct affine maps; a piece may be made of disconnected regions",
})
"""The definitions of :func:`linear_counts`, by name."""

_U = np.finfo(np.float64).eps / 2           # unit roundoff of float64
_SWEEP_SEED = 20250527                      # fixed weights of the sorting projection (pieces)


@dataclass(frozen=True, eq=False)
class LinearCounts:
    """Counts under the definitions of :data:`DEFINITIONS`, labels and the tolerances used.

    ``connected_labels`` and ``piece_labels`` give the connected linear region and the piece of
    every activation region (0, 1, ...); two maps count as equal when every entry of ``J``
    differs by at most ``jacobian_tol`` and every entry of ``c`` by at most ``offset_tol``.
    """

    activation: int
    connected: int
    pieces: int
    connected_labels: np.ndarray
    piece_labels: np.ndarray
    jacobian_tol: float
    offset_tol: float

    @property
    def counts(self) -> MappingProxyType:
        """``{"activation": ..., "connected": ..., "pieces": ...}`` (read-only)."""
        return MappingProxyType({"activation": self.activation, "connected": self.connected,
                                 "pieces": self.pieces})

    @property
    def tolerances(self) -> MappingProxyType:
        """``{"jacobian": ..., "offset": ...}``: the absolute tolerances used (read-only)."""
        return MappingProxyType({"jacobian": self.jacobian_tol, "offset": self.offset_tol})

    def permuted(self, order: np.ndarray) -> LinearCounts:
        """The same counts with regions renumbered (new region ``i`` is old ``order[i]``);
        labels are renumbered in order of first appearance."""
        return LinearCounts(self.activation, self.connected, self.pieces,
                            _first_seen(self.connected_labels[order]),
                            _first_seen(self.piece_labels[order]), self.jacobian_tol,
                            self.offset_tol)


def _first_seen(labels: np.ndarray) -> np.ndarray:
    """``labels`` renumbered 0, 1, ... in order of first appearance."""
    if labels.size == 0:
        return labels.astype(np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]


def _tables(net: PLNet):
    """Per hidden layer: (first column in the pattern, width, slope table, offset table).
    The layer's pass-through units (rows ``width:``) have slope 1 and offset 0 in every
    state."""
    col = 0
    for layer in net.layers:
        yield (col, layer.width, np.asarray(layer.activation.slopes, dtype=np.float64),
               np.asarray(layer.activation.offsets, dtype=np.float64))
        col += layer.width


def _with_passthrough(unit_slopes: np.ndarray, out_dim: int, axis: int) -> np.ndarray:
    """The slopes of all ``out_dim`` rows of a layer from those of its units (along ``axis``):
    slope 1 for its pass-through units."""
    extra = out_dim - unit_slopes.shape[axis]
    if extra == 0:
        return unit_slopes
    shape = list(unit_slopes.shape)
    shape[axis] = extra
    return np.concatenate([unit_slopes, np.ones(shape)], axis=axis)


def _after(net: PLNet) -> list:
    """The affine map (W, b) after every hidden layer: the next layer's, then the output map
    (None without one: the output is then the last hidden layer)."""
    return [(layer.weight, layer.bias) for layer in net.layers[1:]] + [net.output]


def affine_maps(net: PLNet, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The affine map ``y = J x + c`` of the network's output on each activation pattern.

    Fixing the pattern fixes every unit's piece (slope ``s`` and offset ``o``), so the layers
    compose to one affine map. Forward: ``T_1 = [W_1 | b_1]``, then per layer
    ``T = diag(s) T, T[:, -1] += o`` and ``T = W T, T[:, -1] += b``, the output map last (with
    no output map, the output is the last hidden layer). With fewer outputs ``m`` than
    ``d + 1``, backward instead (fewer operations): ``G = W_out, c = b_out``, then from the last
    layer down ``c += G o; G = G diag(s); c += G b; G = G W``, and ``J = G``. Computed in
    float64, a product of ``n * min(m, d + 1)`` rows per layer; the working arrays hold about
    ``3 * n * width * min(m, d + 1)`` floats for ``n`` patterns (call it in chunks for many).
    The error of every entry is bounded by :func:`rounding_error`.

    Parameters
    ----------
    net : reluthe.nets.PLNet
        The network; ``J`` is with respect to its input coordinates (for a net restricted to a
        slice, the slice coordinates).
    states : array of int, shape (n, net.n_units)
        Activation patterns (unit states, as in :meth:`reluthe.nets.PLNet.states`).

    Returns
    -------
    jacobians : ndarray, shape (n, output_dim, input_dim)
    offsets : ndarray, shape (n, output_dim)

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), [0.5])])
    >>> J, c = affine_maps(net, np.array([[1, 0], [0, 1]]))      # |x| + 0.5 for x > 0, x < 0
    >>> J[:, 0, 0].tolist(), c[:, 0].tolist()
    ([1.0, -1.0], [0.5, 0.5])
    """
    states = _states(net, states)
    n, d = states.shape[0], net.input_dim
    if not net.layers:
        w, b = net.output if net.output is not None else (np.eye(d), np.zeros(d))
        return np.broadcast_to(w, (n, *w.shape)).copy(), np.broadcast_to(b, (n, b.size)).copy()
    if net.output is not None and net.output[0].shape[0] < d + 1:
        return _backward(net, states)
    return _forward(net, states)


def _forward(net: PLNet, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, d = states.shape[0], net.input_dim
    first = net.layers[0]
    T = np.concatenate([first.weight, first.bias[:, None]], axis=1)[:, None, :]
    for (col, width, slopes, offsets), after in zip(_tables(net), _after(net)):
        piece = states[:, col:col + width].T                         # (width, n)
        T = _with_passthrough(slopes[piece], T.shape[0], 0)[:, :, None] * T   # (out, n, d + 1)
        if np.any(offsets):
            T[:width, :, d] += offsets[piece]
        if after is not None:
            w, b = after
            T = (w @ T.reshape(T.shape[0], -1)).reshape(w.shape[0], n, d + 1)
            T[:, :, d] += b[:, None]
    return np.ascontiguousarray(T[:, :, :d].transpose(1, 0, 2)), np.ascontiguousarray(T[:, :, d].T)


def _backward(net: PLNet, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = states.shape[0]
    w_out, b_out = net.output
    m = w_out.shape[0]
    G = np.broadcast_to(w_out, (n, *w_out.shape))              # d output / d h_L
    c = np.broadcast_to(b_out, (n, m)).copy()
    for layer, (col, width, slopes, offsets) in zip(net.layers[::-1], list(_tables(net))[::-1]):
        piece = states[:, col:col + width]                      # (n, width)
        if np.any(offsets):
            c += np.einsum("nmw,nw->nm", G[:, :, :width], offsets[piece])
        G = G * _with_passthrough(slopes[piece], layer.out_dim, 1)[:, None, :]  # d out / d z_l
        c += G @ layer.bias
        G = (G.reshape(n * m, layer.out_dim) @ layer.weight).reshape(n, m, -1)  # d / d h_(l-1)
    return G, c


def _states(net: PLNet, states) -> np.ndarray:
    states = np.asarray(states)
    if states.ndim != 2 or states.shape[1] != net.n_units or not np.issubdtype(
            states.dtype, np.integer):
        raise InvalidInputError(
            f"The 'states' parameter of reluthe.regions._linear must be an integer array of "
            f"shape (n, {net.n_units}) (one state per hidden unit). Got dtype {states.dtype} "
            f"and shape {states.shape} instead.")
    top = np.repeat([len(layer.activation.breakpoints) for layer in net.layers], net.widths)
    if states.size and (states.min() < 0 or np.any(states.max(axis=0) > top)):
        raise InvalidInputError(
            "The 'states' parameter of reluthe.regions._linear holds a state outside its "
            "unit's range (0 to the number of kinks of its activation).")
    return states


def unit_bounds(net: PLNet, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest ``|slope|`` and ``|offset|`` of every hidden unit over the states from its
    smallest to its largest one in ``states`` (n, n_units): what :func:`rounding_error` needs
    (combine several batches with ``np.maximum``).

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), [0.5])])
    >>> unit_bounds(net, np.array([[1, 0], [1, 0]]))[0].tolist()
    [1.0, 0.0]
    """
    states = _states(net, states)
    slope_max = np.zeros(net.n_units)
    offset_max = np.zeros(net.n_units)
    if states.shape[0]:
        low, high = states.min(axis=0), states.max(axis=0)
        for col, width, slopes, offsets in _tables(net):
            units = slice(col, col + width)
            for k in range(slopes.size):                       # states low..high of each unit
                seen = (low[units] <= k) & (k <= high[units])
                np.maximum(slope_max[units], seen * abs(slopes[k]), out=slope_max[units])
                np.maximum(offset_max[units], seen * abs(offsets[k]), out=offset_max[units])
    return slope_max, offset_max


def rounding_error(net: PLNet, slope_max: np.ndarray,
                   offset_max: np.ndarray) -> tuple[float, float]:
    """Bounds on the float64 rounding error of every entry of :func:`affine_maps`' ``J``, ``c``.

    A matrix-vector product with ``k`` terms and a bias has a relative error of at most
    ``gamma_(k+1) = (k+1) u / (1 - (k+1) u)`` of the same product in absolute values (Higham
    2002, §3.1 and §3.5; ``u = 2^-53``), and an activation ``s z + o`` of ``gamma_2``; composed
    (Higham's Lemma 3.3), every entry of the computed map is within ``gamma_N`` times the same
    map computed with ``|W|``, ``|b|``, ``|s|``, ``|o|``, ``N`` the sum of those ``k + 1`` and
    2 over all steps, plus ``2 L + 2`` for the sum of the offset terms in the backward order.
    That absolute map is bounded for all patterns at once with every unit's largest
    ``|slope|`` and ``|offset|`` among them (:func:`unit_bounds`). The first layer
    ``[W_1 | b_1]`` is taken as given (exact).

    Returns
    -------
    (jacobian_error, offset_error) : tuple of float
        Bounds on ``|computed - exact|`` of any entry of ``J`` and of ``c``.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), [0.5])])
    >>> bounds = unit_bounds(net, np.array([[1, 0], [0, 1]]))
    >>> e_j, e_c = rounding_error(net, *bounds)            # 9 operations, u = 2^-53
    >>> e_j == 9 * 2**-53 / (1 - 9 * 2**-53) * 2, e_c == 9 * 2**-53 / (1 - 9 * 2**-53) * 0.5
    (True, True)
    """
    d = net.input_dim
    if not net.layers:
        return 0.0, 0.0                                   # the map is the given output map
    first = net.layers[0]
    A = np.abs(np.concatenate([first.weight, first.bias[:, None]], axis=1))
    n_ops = 0
    for (col, width, _, _), after in zip(_tables(net), _after(net)):
        A[:width] = slope_max[col:col + width, None] * A[:width]
        A[:width, d] += offset_max[col:col + width]
        n_ops += 2
        if after is not None:
            w, b = after
            A = np.abs(w) @ A
            A[:, d] += np.abs(b)
            n_ops += w.shape[1] + 1
    n_ops += 2 * len(net.layers) + 2
    gamma = n_ops * _U / (1 - n_ops * _U)
    return float(gamma * A[:, :d].max(initial=0.0)), float(gamma * A[:, d].max(initial=0.0))


def map_tolerance(errors: tuple[float, float], jacobians: np.ndarray, offsets: np.ndarray,
                  relative: float = 0.0) -> tuple[float, float]:
    """Absolute tolerances for comparing two computed maps: twice the rounding bound (both maps
    err), or ``relative`` times the largest ``|J|`` / ``|c|`` entry if that is larger.

    Examples
    --------
    >>> map_tolerance((1e-16, 2e-16), np.ones((2, 1, 1)), np.ones((2, 1)), relative=1e-9)
    (1e-09, 1e-09)
    """
    scale_j = float(np.abs(jacobians).max(initial=0.0))
    scale_c = float(np.abs(offsets).max(initial=0.0))
    return (max(2.0 * errors[0], relative * scale_j), max(2.0 * errors[1], relative * scale_c))


def linear_counts(jacobians, offsets, edges, *, tol=None) -> LinearCounts:
    """Count linear regions under the definitions of :data:`DEFINITIONS`.

    Two regions have one affine map when every entry of their Jacobians differs by at most
    ``tol[0]`` and every entry of their offsets by at most ``tol[1]``. ``"connected"``: the
    connected components of the adjacency ``edges`` kept where the maps are equal.
    ``"pieces"``: maps are grouped without comparing all pairs: each coefficient is rounded to
    the nearest multiple of its tolerance and regions with the same rounded map are one piece;
    a verification pass compares the representatives of groups whose rounded maps differ by at
    most one step in every coefficient (maps straddling a rounding boundary) and joins them
    when they are equal within ``tol``; neighbours joined in ``"connected"`` are joined too. So
    maps equal within rounding are always one piece, and two joined maps differ by less than
    three times the tolerance in every coefficient. The cost is a sort of the maps.

    Parameters
    ----------
    jacobians : array, shape (n, m, d)
        ``J`` of every region (``m`` outputs, ``d`` input coordinates).
    offsets : array, shape (n, m)
        ``c`` of every region (the output at coordinate 0).
    edges : array of int, shape (n_edges, 2)
        Pairs of regions that share a facet.
    tol : (float, float), optional
        Absolute tolerances (Jacobian entries, offset entries), each raised to at least the
        float64 spacing of the largest entry of its kind. Default: ``2^-40`` times the largest
        entry of each kind (float64 rounding of a few thousand operations); with the network
        at hand, :func:`rounding_error` and :func:`map_tolerance` give a proven bound.

    Returns
    -------
    LinearCounts

    Examples
    --------
    >>> import numpy as np
    >>> # min(|x|, 1) on five intervals in a row; the last two are split by an ignored unit
    >>> J = np.array([[[0.0]], [[-1.0]], [[1.0]], [[0.0]], [[0.0]]])
    >>> c = np.array([[1.0], [0.0], [0.0], [1.0 + 2e-16], [1.0]])
    >>> res = linear_counts(J, c, np.array([[0, 1], [1, 2], [2, 3], [3, 4]]))
    >>> dict(res.counts), res.connected_labels.tolist(), res.piece_labels.tolist()
    ({'activation': 5, 'connected': 4, 'pieces': 3}, [0, 1, 2, 3, 3], [0, 1, 2, 0, 0])
    """
    J, c, edges = _check_maps(jacobians, offsets, edges)
    n = J.shape[0]
    tol_j, tol_c = _tolerances(J, c, tol)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return LinearCounts(0, 0, 0, empty, empty.copy(), tol_j, tol_c)
    V = np.concatenate([J.reshape(n, -1) / tol_j, c / tol_c], axis=1)   # equal: within 1
    same = np.concatenate([e[np.all(np.abs(V[e[:, 0]] - V[e[:, 1]]) <= 1.0, axis=1)]
                           for e in np.array_split(edges, max(1, -(-edges.shape[0] // n)))])
    n_conn, conn = _components(n, same)
    n_pieces, pieces = _components(n, np.concatenate([same, _near_pairs(V)]))
    return LinearCounts(n, n_conn, n_pieces, _first_seen(conn), _first_seen(pieces), tol_j,
                        tol_c)


def _check_maps(jacobians, offsets, edges):
    J = np.asarray(jacobians, dtype=np.float64)
    c = np.asarray(offsets, dtype=np.float64)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    n = J.shape[0] if J.ndim == 3 else -1
    if J.ndim != 3 or c.shape != J.shape[:2] or (e.size and (e.min() < 0 or e.max() >= n)):
        raise InvalidInputError(
            f"The maps of reluthe.regions._linear.linear_counts must be jacobians (n, m, d), "
            f"offsets (n, m) and edges (k, 2) of region ids in [0, n). Got shapes {J.shape}, "
            f"{c.shape} and {e.shape} instead.")
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(c))):
        raise InvalidInputError("The maps of reluthe.regions._linear.linear_counts must be "
                                "finite. Got NaN or inf.")
    return J, c, e


def _tolerances(J: np.ndarray, c: np.ndarray, tol) -> tuple[float, float]:
    scales = (float(np.abs(J).max(initial=0.0)), float(np.abs(c).max(initial=0.0)))
    if tol is None:
        tol = tuple(ROUNDING_LEVEL * s for s in scales)
    ok = (isinstance(tol, (tuple, list)) and len(tol) == 2
          and all(np.isfinite(t) and t >= 0 for t in tol))
    if not ok:
        raise InvalidInputError(f"The 'tol' parameter of reluthe.regions._linear.linear_counts "
                                f"must be None or two finite numbers >= 0 (Jacobian, offset). "
                                f"Got {tol!r} instead.")
    tiny = np.finfo(np.float64).tiny
    return tuple(float(max(t, np.spacing(s), tiny)) for t, s in zip(tol, scales))


def _components(n: int, pairs: np.ndarray) -> tuple[int, np.ndarray]:
    graph = coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    return int(n_comp), labels


def _near_pairs(V: np.ndarray) -> np.ndarray:
    """Pairs of regions to join as one piece (``V``: maps scaled so that equal is within 1):
    every region with its group's representative (same map rounded to integers), and the
    representatives of groups whose rounded maps differ by at most 1 per coefficient and that
    are within 1 of each other."""
    keys = np.rint(V) + 0.0                                   # + 0.0: no -0.0 keys
    _, rep, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    pairs = [np.stack([np.arange(V.shape[0]), rep[group]], axis=1)]
    K = keys[rep]
    w = np.random.default_rng(_SWEEP_SEED).uniform(0.5, 1.5, K.shape[1])
    p = K @ w
    # keys within 1 per coefficient have projections within sum(w), up to rounding of p
    width = w.sum() + 4 * (K.shape[1] + 1) * _U * float((np.abs(K) @ w).max(initial=0.0))
    order = np.argsort(p, kind="stable")
    ps = p[order]
    for k in range(1, rep.size):
        i = np.flatnonzero(ps[k:] - ps[:-k] <= width)
        if i.size == 0:                                      # sorted: none farther either
            break
        a, b = order[i], order[i + k]
        near = np.all(np.abs(K[a] - K[b]) <= 1.0, axis=1)
        a, b = rep[a[near]], rep[b[near]]
        equal = np.all(np.abs(V[a] - V[b]) <= 1.0, axis=1)
        pairs.append(np.stack([a[equal], b[equal]], axis=1))
    return np.concatenate(pairs)
