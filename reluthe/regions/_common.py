"""Validation and result assembly shared by the counters."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from reluthe._validate import _fmt, check_int_sequence, check_positive_int, check_real_array
from reluthe.errors import InvalidInputError, UnsupportedNetworkError
from reluthe.nets import PLNet, as_plnet
from reluthe.regions._complex import ROUNDING_LEVEL
from reluthe.regions._engine import Summary

DEFAULT_TOL = 1e-10
DEFAULT_LINEAR_TOL = 0.0          # affine maps equal within their float64 rounding bound


class ToleranceWarning(RuntimeWarning):
    """The tolerance put vertices on kinks that they do not lie on: regions narrower than
    ``tol * scale`` (e.g. in a domain many orders of magnitude larger than the regions) may
    have been merged or dropped. The result's ``tol_merges`` says how many vertices."""


def warn_merges(snapped: int, tol: float, func: str):
    """Warn (:class:`ToleranceWarning`) when the tolerance moved vertices onto kinks."""
    if snapped:
        warnings.warn(
            f"{func}: the tolerance tol={tol:g} put {snapped} vertices on kinks that they lie "
            f"farther from than rounding explains (more than {ROUNDING_LEVEL:.1e} times the "
            f"layer's scale): regions narrower than tol times the scale of the domain may have "
            f"been merged. Shrink the domain around the regions of interest or lower tol "
            f"(result.tol_merges = {snapped}).", ToleranceWarning, stacklevel=3)


MAXPOOL_FUNCTIONS = ("count_on_line", "count_on_plane", "count_in_box", "pattern_codes")


def net_for(net, func: str, input_shape=None, *, maxpool: bool = False) -> PLNet:
    """``net`` as a :class:`~reluthe.nets.PLNet`; ``input_shape`` (one input's shape, needed for
    a torch module that starts with a convolution or pooling) must hold its inputs. A network
    with max-pooling (:class:`~reluthe.nets.MaxPool`) raises UnsupportedNetworkError unless
    the caller reads its patterns (``maxpool=True``: the functions of
    :data:`MAXPOOL_FUNCTIONS`).

    Examples
    --------
    >>> import numpy as np
    >>> net_for([(np.eye(4), np.zeros(4)), (np.ones((1, 4)), [0.0])], "f", (1, 2, 2)).input_dim
    4
    """
    if input_shape is not None:
        input_shape = check_int_sequence(input_shape, param="input_shape", func=func, min_len=1)
    try:
        pl = as_plnet(net, input_shape=input_shape, func=func)
    except InvalidInputError as exc:
        if input_shape is None and "is needed" in str(exc):      # nets' "input shape is needed"
            raise InvalidInputError(
                f"{exc} Or pass the shape of one input, without the batch dimension, to "
                f"{func} itself (e.g. input_shape=(1, 8, 8)).") from exc
        raise
    if not maxpool:
        refuse_maxpool(pl, func)
    if input_shape is not None and int(np.prod(input_shape)) != pl.input_dim:
        raise InvalidInputError(
            f"The 'input_shape' parameter of {func} must hold the network's {pl.input_dim} "
            f"inputs. Got {_fmt(input_shape)} ({int(np.prod(input_shape))} values) instead.")
    return pl


def refuse_maxpool(net: PLNet, func: str, what: str = ""):
    """Raise UnsupportedNetworkError if ``net`` has max-pooling (``what``: the part of ``func``
    that cannot read it, e.g. its search engine)."""
    if net.pools:
        raise UnsupportedNetworkError(
            f"{func}{what} does not support max-pooling "
            f"({', '.join(p.source for p in net.pools)}): it would count the cells of the "
            f"comparisons inside each pooling window rather than the argmax regions. Use "
            f"{', '.join('reluthe.regions.' + f for f in MAXPOOL_FUNCTIONS)} (count_in_box with "
            f"the lattice engine, input dimension up to its limit; pattern_codes or "
            f"PLNet.pattern for the patterns of samples, uncertified), which read max-pool "
            f"patterns exactly, or replace the max-pool by average pooling.")


def input_shapes(net: PLNet, input_shape=None) -> list[tuple[int, ...]]:
    """The shapes in which one input of ``net`` is accepted: flat, the network's own input shape
    and ``input_shape`` (checked by :func:`net_for`)."""
    shapes = {(net.input_dim,), tuple(net.input_shape)}
    if input_shape is not None:
        shapes.add(tuple(int(s) for s in input_shape))
    return sorted(shapes, key=lambda s: (len(s), s))


def point(value, *, net: PLNet, param: str, func: str, input_shape=None) -> np.ndarray:
    """One finite input point of ``net``, flat or in an input shape (:func:`input_shapes`),
    flattened in C order.

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.eye(4), np.zeros(4)), (np.ones((1, 4)), [0.0])])
    >>> point(np.ones((2, 2)), net=net, param="x", func="f", input_shape=(2, 2)).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    arr = check_real_array(value, param=param, func=func)
    shapes = input_shapes(net, input_shape)
    if tuple(arr.shape) not in shapes:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be one input of the network, a point of "
            f"dimension {net.input_dim} ({net.input_dim} values) with shape one of {shapes} "
            f"(flattened in C order). Got shape {arr.shape} instead.")
    return arr.reshape(-1)


def point_rows(value, *, net: PLNet, param: str, func: str, input_shape=None) -> np.ndarray:
    """Inputs of ``net`` as the rows of an ``(n, input_dim)`` array: ``value`` has shape
    ``(n, *shape)`` with ``shape`` one of :func:`input_shapes` (or ``(n,)`` for a network with
    one input).

    Examples
    --------
    >>> import numpy as np
    >>> from reluthe.nets import as_plnet
    >>> net = as_plnet([(np.eye(4), np.zeros(4)), (np.ones((1, 4)), [0.0])])
    >>> point_rows(np.zeros((3, 1, 2, 2)), net=net, param="x", func="f",
    ...            input_shape=(1, 2, 2)).shape
    (3, 4)
    """
    arr = check_real_array(value, param=param, func=func)
    if arr.ndim == 1 and net.input_dim == 1:
        arr = arr[:, None]
    shapes = input_shapes(net, input_shape)
    if arr.ndim < 2 or tuple(arr.shape[1:]) not in shapes:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must have shape (n, {net.input_dim}) or (n, "
            f"*shape) with shape one of {shapes} (one input of the network, {net.input_dim} "
            f"values, flattened in C order). Got shape {arr.shape} instead.")
    return arr.reshape(arr.shape[0], net.input_dim)


def tolerance(value, *, param: str, func: str) -> float:
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and np.isfinite(value) and 0 <= value < 1e-2)
    if not ok:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a number in "
                                f"[0, 0.01). Got {_fmt(value)} instead.")
    return float(value)


def limit(value, *, func: str) -> int:
    return check_positive_int(value, param="max_regions", func=func)


def check_domain(low: np.ndarray, high: np.ndarray, func: str, param: str):
    """Raise InvalidInputError unless every side ``high - low`` lies in [1e-150, 1e150] and the
    volume is a normal float64: the read-out squares coordinate differences (gradients by least
    squares) and multiplies the sides (volumes), which would under- or overflow."""
    with np.errstate(over="ignore", under="ignore"):
        sides = high - low
        volume = float(np.prod(sides))
    if not (np.all(sides >= 1e-150) and np.all(sides <= 1e150)
            and np.isfinite(volume) and volume >= np.finfo(np.float64).tiny):
        raise InvalidInputError(
            f"The {param!r} parameter of {func} is outside float64's range for exact region "
            f"geometry: every side must be in [1e-150, 1e150] and the volume a normal float64. "
            f"Got sides from {float(np.min(sides)):.3g} to {float(np.max(sides)):.3g} (volume "
            f"{volume:.3g}). Rescale the domain (and the first layer's weights with it).")


def check_sizes(sizes: np.ndarray, func: str):
    """Raise InvalidInputError unless the region sizes are finite and positive in total (a
    domain whose side lengths or volume overflow or underflow float64 gives inf or 0)."""
    total = float(np.sum(sizes)) if sizes.size else 1.0
    if not (np.all(np.isfinite(sizes)) and np.isfinite(total) and total > 0):
        raise InvalidInputError(
            f"The domain of {func} is outside float64's range: its regions' sizes sum to "
            f"{total:.3g} (the side lengths multiply to a volume that overflows or underflows). "
            f"Rescale the domain (and the first layer's weights with it).")


def base_fields(s: Summary, net: PLNet, tol: float, linear_tol: float,
                interior: np.ndarray, f_vector, tol_merges: int = 0) -> dict:
    """Keyword arguments of :class:`~reluthe.regions._result.RegionsBase`."""
    for arr in (s.sizes, interior, s.packed, s.edges, s.edge_units):
        arr.setflags(write=False)
    return dict(count=int(s.rep_cell.size), tol=tol, linear_tol=linear_tol, sizes=s.sizes,
                interior_points=interior, widths=tuple(width for width, _ in net.pattern_layout),
                f_vector=tuple(int(f) for f in f_vector), _packed=s.packed,
                _layout=net.pattern_layout, _edges=s.edges, _edge_units=s.edge_units,
                tol_merges=int(tol_merges), _net=net, _linear=s.linear)


def frozen(arr) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr
