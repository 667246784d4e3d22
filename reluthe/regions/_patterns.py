"""Distinct activation patterns among sample points (a lower bound on the region count)."""

from __future__ import annotations

import numpy as np

from reluthe._validate import check_finite_array, check_positive_int
from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet
from reluthe.regions._common import net_for

__all__ = ["count_patterns", "pattern_codes"]


def _check(net, points, func: str) -> tuple[PLNet, np.ndarray]:
    pl = net_for(net, func)
    pts = check_finite_array(points, param="points", func=func)
    if pts.ndim == 1 and pl.input_dim == 1:
        pts = pts[:, None]
    if pts.ndim > 2 and tuple(pts.shape[1:]) == tuple(pl.input_shape):
        pts = pts.reshape(pts.shape[0], -1)
    if pts.ndim != 2 or pts.shape[1] != pl.input_dim:
        raise InvalidInputError(
            f"The 'points' parameter of {func} must have shape (n, {pl.input_dim}) to match the "
            f"network's input dimension. Got shape {pts.shape} instead.")
    return pl, pts


def _layout(net: PLNet) -> list[tuple[int, int]]:
    """(first byte, number of bytes) of every layer's kink bits in a packed row."""
    out, offset = [], 0
    for layer in net.layers:
        n_bytes = (layer.width * len(layer.activation.breakpoints) + 7) // 8
        out.append((offset, n_bytes))
        offset += n_bytes
    return out


def _pack_into(net: PLNet, layers, x: np.ndarray, out: np.ndarray):
    """Write the packed kink bits (z > kink, per unit and kink) of points ``x`` into ``out``.

    The matrix products run in torch (float64, fused bias: faster than numpy's BLAS here); the
    activation of a non-ReLU layer is applied by :class:`~reluthe.nets.Activation` in numpy.
    """
    import torch

    h = torch.from_numpy(x)
    for layer, (w_t, b), (offset, n_bytes) in zip(net.layers, layers, _layout(net)):
        z = torch.addmm(b, h, w_t)
        bps = layer.activation.breakpoints
        if len(bps) == 1:
            bits = (z > bps[0]).numpy()
        else:
            bits = torch.stack([z > bp for bp in bps], dim=2).reshape(z.shape[0], -1).numpy()
        out[:, offset:offset + n_bytes] = np.packbits(bits, axis=1)
        if layer is net.layers[-1]:      # the output layer is not part of the pattern
            break
        if layer.activation.name == "relu":
            h = z.clamp_(min=0.0)
        else:
            h = torch.from_numpy(layer.activation(z.numpy()))


def _codes(net: PLNet, pts: np.ndarray, chunk_size: int, n_bytes: int) -> np.ndarray:
    import torch

    total = sum(n for _, n in _layout(net))
    codes = np.zeros((pts.shape[0], n_bytes), dtype=np.uint8)
    layers = [(torch.from_numpy(np.array(layer.weight.T, order="C")),   # writable copies
               torch.from_numpy(np.array(layer.bias))) for layer in net.layers]
    pts = np.ascontiguousarray(pts)
    for i in range(0, pts.shape[0], chunk_size):
        _pack_into(net, layers, pts[i:i + chunk_size], codes[i:i + chunk_size, :total])
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


def pattern_codes(net, points, *, chunk_size: int = 4096) -> np.ndarray:
    """Packed activation patterns of ``points``: uint8 array (n, bytes); equal rows = equal
    patterns (one bit per unit and kink, ``z > kink``; each layer starts a new byte).

    Examples
    --------
    >>> import numpy as np
    >>> net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> pattern_codes(net, [[1.0, -1.0], [2.0, -3.0]]).tolist()
    [[128], [128]]
    """
    func = "reluthe.regions.pattern_codes"
    pl, pts = _check(net, points, func)
    chunk_size = check_positive_int(chunk_size, param="chunk_size", func=func)
    return _codes(pl, pts, chunk_size, sum(n for _, n in _layout(pl)))


def count_patterns(net, points, *, chunk_size: int = 4096) -> int:
    """Number of distinct activation patterns among ``points`` (float64, chunked, bit-packed).

    The pattern bits of every point are packed into 64-bit words (``np.packbits``); distinct rows
    are counted exactly (sorted by a 64-bit hash, neighbours with equal hashes compared in full).

    Every distinct pattern is a different activation region, so this is a **lower bound** on the
    number of activation regions that meet the points' domain (regions missed by the sample are
    not counted). The output layer is not part of the pattern. Returns a Python int.

    Parameters
    ----------
    net : torch.nn.Module, list of (W, b), or reluthe.nets.PLNet
        The network.
    points : array-like, shape (n, input_dim)
        Sample inputs (``(n, *input_shape)`` is flattened).
    chunk_size : int
        Points pushed through the network at once (small chunks stay in cache).

    Raises
    ------
    InvalidInputError
        NaN/inf or a dimension that does not match the network.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe import regions
    >>> net = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> pts = np.random.default_rng(0).uniform(-1, 1, size=(1000, 2))
    >>> regions.count_patterns(net, pts)
    4
    """
    func = "reluthe.regions.count_patterns"
    pl, pts = _check(net, points, func)
    chunk_size = check_positive_int(chunk_size, param="chunk_size", func=func)
    if pts.shape[0] == 0:
        return 0
    total = sum(n for _, n in _layout(pl))
    codes = _codes(pl, pts, chunk_size, max(8, -(-total // 8) * 8))
    return _distinct_rows(codes.view(np.uint64))
