"""Distinct activation patterns among sample points whose patterns are certified (a lower bound
on the region count)."""

from __future__ import annotations

import numpy as np

from reluthe._validate import check_positive_int
from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._common import net_for, point_rows, refuse_maxpool
from reluthe.regions._engine import pattern_bits
from reluthe.regions._memory import memory_budget, over_budget

__all__ = ["PatternCount", "count_patterns", "pattern_codes"]

_U = 2.0 ** -53          # unit roundoff of float64 (round to nearest)
_ETA = 2.0 ** -1074      # smallest subnormal: covers underflow, which the gamma model ignores


def _check(net, points, input_shape, func: str) -> tuple[PLNet, np.ndarray]:
    pl = net_for(net, func, input_shape, maxpool=True)
    return pl, point_rows(points, net=pl, param="points", func=func, input_shape=input_shape)


def _layout(net: PLNet) -> list[tuple[int, int]]:
    """(first byte, number of bytes) of every layer's kink bits in a packed row."""
    out, offset = [], 0
    for layer in net.layers:
        n_bytes = (layer.width * len(layer.activation.breakpoints) + 7) // 8
        out.append((offset, n_bytes))
        offset += n_bytes
    return out


def _gamma(n: int) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)`` for float64."""
    return n * _U / (1.0 - n * _U)


def _layer_data(net: PLNet, certify: bool) -> list[dict]:
    """Per hidden layer: the torch operands of the forward pass and, with ``certify``, of its
    rounding bound (``|W|^T``, ``gamma_(n+1) |b|``, the constants of Higham's bound)."""
    import torch

    out = []
    for layer in net.layers:
        w_t = np.array(layer.weight.T, order="C")                  # writable copies
        b = np.array(layer.bias)
        d = {"w_t": torch.from_numpy(w_t), "b": torch.from_numpy(b),
             "relu": layer.activation.name == "relu" and layer.passthrough == 0}
        if certify:
            # err_z = |W| (err_h + g |h|) + g |b| with g = gamma_(n+1), n the fan-in, evaluated
            # in float64 as addmm(c, err_h + g |h|, m): m = |W|^T s, c = (g |b| + eta) s (and g
            # folded into m at the input, where err_h = 0); s = 1 + 2 gamma_(n+8) covers the
            # rounding of the bound itself (non-negative terms, at most n + 7 roundings)
            n = int(w_t.shape[0])
            g, s = _gamma(n + 1), 1.0 + 2.0 * _gamma(n + 8)
            first = layer is net.layers[0]
            act = layer.activation
            d.update(m=torch.from_numpy(np.abs(w_t) * (g * s if first else s)),
                     c=torch.from_numpy((g * np.abs(b) + (n + 1) * _ETA) * s),
                     gamma=g, first=first,
                     lip=max(abs(v) for v in (*act.slopes, 1.0 if layer.passthrough else 0.0)),
                     off=max(abs(v) for v in act.offsets))
        out.append(d)
    return out


def _pack_into(net: PLNet, layers, x: np.ndarray, out: np.ndarray,
               certified: np.ndarray | None = None):
    """Write the packed kink bits (z > kink, per unit and kink) of points ``x`` into ``out``; with
    ``certified`` (bool, one per point), also mark the points at which every hidden
    pre-activation is certified to lie strictly on the side of every kink that its computed value
    lies on (see :func:`count_patterns` for the bound).

    The matrix products run in torch (float64, fused bias: faster than numpy's BLAS here); the
    activation of a non-ReLU layer is applied by :class:`~reluthe.nets.Activation` in numpy.
    """
    import torch

    h = torch.from_numpy(x)
    err = None                    # bound on |computed h - exact h|; the input itself is exact
    ok = None
    for layer, d, (offset, n_bytes) in zip(net.layers, layers, _layout(net)):
        z_all = torch.addmm(d["b"], h, d["w_t"])
        z = z_all[:, :layer.width]                     # the units (pass-through rows after)
        bps = layer.activation.breakpoints
        if len(bps) == 1:
            bits = (z > bps[0]).numpy()
        else:
            bits = torch.stack([z > bp for bp in bps], dim=2).reshape(z.shape[0], -1).numpy()
        out[:, offset:offset + n_bytes] = np.packbits(bits, axis=1)
        if certified is not None:
            # |fl(z) - z| <= |W| err_h + gamma_(n+1) (|W| |h| + |b|)  (Higham 2002, §3.1, §3.5)
            if d["first"]:
                err = torch.addmm(d["c"], h.abs(), d["m"])           # the input is exact
            else:
                a = torch.add(err, h if d["relu"] else h.abs(), alpha=d["gamma"])
                err = torch.addmm(d["c"], a, d["m"])
            buf = torch.empty_like(z)
            for bp in bps:   # fl(|z - k| - err) > 0 exactly when |z - k| > err (both floats)
                if bp == 0.0:
                    torch.abs(z, out=buf)
                else:
                    torch.sub(z, bp, out=buf).abs_()
                good = buf.sub_(err[:, :layer.width]).amin(dim=1) > 0
                ok = good if ok is None else ok.logical_and_(good)
        if layer is net.layers[-1]:      # the output layer is not part of the pattern
            if not bool(torch.isfinite(z).all()):   # inf/NaN anywhere propagates to here
                raise InvalidInputError(
                    "The inputs of reluthe.regions.count_patterns / pattern_codes are outside "
                    "float64's range: the pre-activations of the last hidden layer are not "
                    "finite (a product of finite weights and points overflowed). Rescale the "
                    "network's weights or the points.")
            break
        if d["relu"]:
            h = z.clamp_(min=0.0)        # exact, and 1-Lipschitz: the bound carries over as is
        else:
            if certified is not None:    # L err_z + gamma_2 (L |z| + max |offset|), enlarged
                err = (err * d["lip"] + (z_all.abs() * d["lip"] + d["off"]) * _gamma(2)) \
                    * (1.0 + 2.0 * _gamma(4))
            h = torch.from_numpy(layer.apply(z_all.numpy()))
    if certified is not None:
        certified[:] = True if ok is None else ok.numpy()


def _check_memory(net: PLNet, n: int, chunk_size: int, n_bytes: int, max_memory, func: str):
    """Raise RegionLimitError before allocating if the float64 copy of the points, the codes
    (``n x n_bytes``, and their copies for the distinct count: three more), the hashes (three
    8-byte words per point) and one chunk's pre-activations and bounds (four floats per unit)
    exceed the budget."""
    budget = memory_budget(max_memory, func=func)
    weights = sum(layer.weight.nbytes * 3 for layer in net.layers)
    need = (4 * n * n_bytes + 25 * n + 32 * min(chunk_size, n) * net.n_units + weights
            + 8 * n * net.input_dim)            # the float64 copy of the points, made already
    if need > budget:
        raise over_budget(budget, 0, need, f"the patterns of {n} points ({n_bytes} bytes each)",
                          f"in {func}, before the first chunk; or pass fewer points", None)


def _code_bytes(net: PLNet) -> int:
    """Bytes of one packed activation pattern: the kink bits of every layer; with max-pools,
    those of their argmax states instead of their tournament layers (:func:`pattern_bits`)."""
    if not net.pools:
        return sum(n for _, n in _layout(net))
    return sum((width * kinks + 7) // 8 for width, kinks in net.pattern_layout)


def _codes(net: PLNet, pts: np.ndarray, chunk_size: int, n_bytes: int,
           certified: np.ndarray | None = None) -> np.ndarray:
    total = _code_bytes(net)
    engine_bytes = sum(n for _, n in _layout(net))
    codes = np.zeros((pts.shape[0], n_bytes), dtype=np.uint8)
    layers = _layer_data(net, certified is not None)
    pts = np.ascontiguousarray(pts)
    for i in range(0, pts.shape[0], chunk_size):
        ok = None if certified is None else certified[i:i + chunk_size]
        if not net.pools:
            _pack_into(net, layers, pts[i:i + chunk_size], codes[i:i + chunk_size, :total], ok)
            continue
        # a max-pool (pattern_codes only): the tournament's bits, then the argmax of each window
        engine = np.zeros((min(chunk_size, pts.shape[0] - i), engine_bytes), dtype=np.uint8)
        _pack_into(net, layers, pts[i:i + chunk_size], engine, ok)
        codes[i:i + chunk_size, :total] = pattern_bits(net, engine)
    return codes


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (vectorised, wrapping uint64 arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _distinct_rows(words: np.ndarray) -> int:
    """Exact number of distinct rows of a uint64 array: sort by a 64-bit hash, then compare
    neighbours with equal hashes row by row (a collision falls back to an exact unique)."""
    if words.shape[0] == 0:
        return 0
    if words.shape[1] == 1:
        return int(np.unique(words[:, 0]).size)
    h = np.zeros(words.shape[0], dtype=np.uint64)
    for k in range(words.shape[1]):
        h = _mix(h ^ (words[:, k] + np.uint64(k)))
    order = np.argsort(h)
    hs = h[order]
    same = hs[1:] == hs[:-1]
    ws = np.take(words, order, axis=0)
    if np.any(same & np.any(ws[1:] != ws[:-1], axis=1)):  # two different rows share a hash
        return int(np.unique(words, axis=0).shape[0])
    return int(1 + np.count_nonzero(~same))


def pattern_codes(net, points, *, chunk_size: int = 4096,
                  max_memory: int | None = None, input_shape=None) -> np.ndarray:
    """Packed activation patterns of ``points``: uint8 array (n, bytes); equal rows = equal
    patterns (one bit per unit and kink, ``z > kink``; each layer starts a new byte).

    Parameters
    ----------
    net, points, chunk_size, max_memory, input_shape
        As in :func:`count_patterns` (the patterns are not certified here).

    Returns
    -------
    numpy.ndarray of uint8, shape (n, bytes)

    Examples
    --------
    >>> import numpy as np
    >>> net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> pattern_codes(net, [[1.0, -1.0], [2.0, -3.0]]).tolist()
    [[128], [128]]
    """
    func = "reluthe.regions.pattern_codes"
    pl, pts = _check(net, points, input_shape, func)
    chunk_size = check_positive_int(chunk_size, param="chunk_size", func=func)
    n_bytes = _code_bytes(pl)
    _check_memory(pl, pts.shape[0], chunk_size, n_bytes, max_memory, func)
    return _codes(pl, pts, chunk_size, n_bytes)


class PatternCount(int):
    """The result of :func:`count_patterns`: an ``int`` (the number of distinct certified
    patterns) that also reports ``uncertified`` (points left out because some hidden
    pre-activation could not be certified non-zero, i.e. off every kink) and ``n_points``.

    It compares, adds and prints as the plain ``int`` it is; ``certified`` is
    ``n_points - uncertified``.
    """

    uncertified: int
    n_points: int

    def __new__(cls, count: int, uncertified: int = 0, n_points: int = 0):
        self = super().__new__(cls, int(count))
        self.uncertified = int(uncertified)
        self.n_points = int(n_points)
        return self

    def __getnewargs__(self):
        return int(self), self.uncertified, self.n_points

    @property
    def certified(self) -> int:
        return self.n_points - self.uncertified

    def to_dict(self) -> dict:
        return {"count": int(self), "uncertified": self.uncertified, "n_points": self.n_points}


def count_patterns(net, points, *, chunk_size: int = 4096,
                   max_memory: int | None = None, input_shape=None) -> int:
    """Number of distinct activation patterns among the points whose pattern is **certified**: a
    lower bound on the number of activation regions of positive volume that the points meet.

    **What is counted.** A point is *certified* when, at that point, every hidden pre-activation
    ``z`` is certified to differ from every kink ``k`` of its unit (``0`` for ReLU):
    ``|fl(z) - k| > e``, where ``e`` is a rigorous bound on the float64 rounding error
    ``|fl(z) - z|`` of the forward pass at that point. Then the exact ``z - k`` has the sign of the
    computed one, so the computed pattern is the exact pattern, and it holds (strictly) on a
    neighbourhood of the point: the point lies in the *interior* of an activation region with
    positive volume. Distinct certified patterns are therefore distinct such regions (a fixed
    pattern is a convex set), and the count is a **lower bound** on the number of activation
    regions with positive volume (area, length) that contain one of the points; for points
    inside a domain (a box, a rectangle of a plane) it bounds the ``.count`` of
    ``count_in_box`` / ``count_on_plane`` on that domain. Regions missed by the sample are not
    counted. Points with an uncertified unit (on a kink, or within rounding of one) are left out
    and reported: the result is a :class:`PatternCount`, an ``int`` with ``.uncertified`` (how
    many points were left out) and ``.n_points``. Before this definition, points exactly on
    concurrent kinks contributed patterns that no region has (7 patterns against the exact 6 for
    ``W = [[1, 0], [0, 1], [-1, -1]]``, ``b = 0`` on a 201 x 201 grid of ``[-1, 1]^2``).

    A unit that is exactly zero over a whole region (e.g. a dead unit with zero weights and zero
    bias, or ``relu(x) + relu(y) - relu(x + y)`` where ``x, y > 0``, which rounding turns into
    ``±1e-16``) is never certified there, so the points of that region do not count: such a
    region contributes nothing and the count stays a lower bound (it bounds the regions on which
    every unit is certified at some sample point). The output layer is not part of the pattern.

    **The bound** (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002,
    §3.1, eq. (3.4)-(3.5), and §3.5 for matrix products): with ``u = 2^-53`` and
    ``gamma_n = n u / (1 - n u)``, a layer ``z = W h + b`` of fan-in ``n``, computed in any
    summation order (with or without FMA) from the computed ``fl(h)``, satisfies
    ``|fl(z) - (W fl(h) + b)| <= gamma_(n+1) (|W| |fl(h)| + |b|)``; with
    ``|fl(h) - h| <= e_h`` from the layers before (``e_h = 0`` at the input, which is exact),

        ``e_z = |W| e_h + gamma_(n+1) (|W| |fl(h)| + |b|)``.

    ReLU is exact and 1-Lipschitz, so ``e_h = e_z`` for the next layer; another piecewise-linear
    activation ``s z + c`` gives ``e_h = L e_z + gamma_2 (L |fl(z)| + max |c|)`` (``L`` its largest
    slope magnitude). The bound is itself evaluated in float64 (non-negative terms) and enlarged by
    ``1 + 2 gamma_(n+8)`` to cover that rounding, plus ``(n + 1) 2^-1074`` for underflow, which the
    ``gamma`` model ignores; ``|fl(z) - k| > e`` is decided exactly (``fl(a - b) > 0`` iff
    ``a > b``). Certification costs one more matrix product per layer (about 1.8x the time of
    the uncertified pass).

    The pattern bits of the certified points are packed into 64-bit words (``np.packbits``);
    distinct rows are counted exactly (sorted by a 64-bit hash, neighbours with equal hashes
    compared in full).

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network.
    points : array-like, shape (n, input_dim) or (n, *shape)
        Sample inputs: flat, or in the network's input shape or ``input_shape`` (e.g.
        ``(n, 1, 8, 8)`` images for a convolutional net), flattened in C order.
    chunk_size : int
        Points pushed through the network at once (small chunks stay in cache).
    max_memory : int, optional
        Memory budget in bytes for the codes and one chunk's arrays (default None: half of
        the available memory); checked before anything is allocated.
    input_shape : sequence of int, optional
        Shape of one input without the batch dimension, for a torch module that starts with a
        convolution or pooling (as in :func:`reluthe.nets.as_plnet`); it must hold the
        network's inputs.

    Returns
    -------
    PatternCount
        An ``int`` subclass: the number of distinct certified patterns, with ``.uncertified``
        (points left out), ``.n_points`` and ``.certified``.

    Raises
    ------
    InvalidInputError
        NaN/inf, a dtype that is not real, points whose shape is not ``(n, *shape)`` of one
        input of the network, an ``input_shape`` that does not fit it (or none for a
        convolutional torch module), or pre-activations that overflow float64.
    RegionLimitError
        The memory budget ``max_memory`` would be exceeded.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> pts = np.random.default_rng(0).uniform(-1, 1, size=(1000, 2))
    >>> regions.count_patterns(net, pts)
    4
    >>> n = regions.count_patterns(net, [[0.0, 0.5], [0.5, 0.5], [-0.5, 0.5]])  # first on a kink
    >>> int(n), n.uncertified, n.n_points
    (2, 1, 3)

    Images for a convolutional torch module, with ``input_shape``:

    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 1))
    >>> imgs = np.random.default_rng(0).normal(size=(100, 1, 5, 5))
    >>> n = regions.count_patterns(conv, imgs, input_shape=(1, 5, 5))
    >>> n.n_points, 1 < n <= 100
    (100, True)
    """
    func = "reluthe.regions.count_patterns"
    pl, pts = _check(net, points, input_shape, func)
    refuse_maxpool(pl, func, " (its certificate cannot tell tied window entries apart, e.g. "
                             "two ReLUs at 0 in one window, so almost no point would count)")
    chunk_size = check_positive_int(chunk_size, param="chunk_size", func=func)
    if pts.shape[0] == 0:
        return PatternCount(0, 0, 0)
    total = _code_bytes(pl)
    _check_memory(pl, pts.shape[0], chunk_size, max(8, -(-total // 8) * 8), max_memory, func)
    certified = np.zeros(pts.shape[0], dtype=bool)
    codes = _codes(pl, pts, chunk_size, max(8, -(-total // 8) * 8), certified)
    n_ok = int(np.count_nonzero(certified))
    words = codes.view(np.uint64) if n_ok == pts.shape[0] else codes[certified].view(np.uint64)
    return PatternCount(_distinct_rows(words), pts.shape[0] - n_ok, pts.shape[0])
