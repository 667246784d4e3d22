"""Validation and result assembly shared by the counters."""

from __future__ import annotations

import numbers

import numpy as np

from reluthe._validate import _fmt, check_finite_array, check_positive_int
from reluthe.errors import InvalidInputError
from reluthe.nets import PLNet, as_plnet
from reluthe.regions._engine import Summary

DEFAULT_TOL = 1e-10
DEFAULT_LINEAR_TOL = 1e-9


def net_for(net, func: str) -> PLNet:
    return as_plnet(net, func=func)


def point(value, *, net: PLNet, param: str, func: str) -> np.ndarray:
    """A finite input point matching the network (flattened when given in ``input_shape``)."""
    arr = check_finite_array(value, param=param, func=func)
    if arr.ndim != 1 and tuple(arr.shape) == tuple(net.input_shape):
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] != net.input_dim:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be a point of dimension {net.input_dim} "
            f"(the network's input). Got shape {arr.shape} instead.")
    return arr


def tolerance(value, *, param: str, func: str) -> float:
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and np.isfinite(value) and 0 <= value < 1e-2)
    if not ok:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a number in "
                                f"[0, 0.01). Got {_fmt(value)} instead.")
    return float(value)


def limit(value, *, func: str) -> int:
    return check_positive_int(value, param="max_regions", func=func)


def layout(net: PLNet) -> tuple[tuple[int, int], ...]:
    return tuple((layer.width, len(layer.activation.breakpoints)) for layer in net.layers)


def base_fields(s: Summary, net: PLNet, tol: float, linear_tol: float,
                interior: np.ndarray, f_vector) -> dict:
    """Keyword arguments of :class:`~reluthe.regions._result.RegionsBase`."""
    for arr in (s.sizes, interior, s.linear_labels, s.packed, s.edges, s.edge_units):
        arr.setflags(write=False)
    return dict(count=int(s.rep_cell.size), linear_count=int(s.linear_count), tol=tol,
                linear_tol=linear_tol, sizes=s.sizes, interior_points=interior,
                linear_labels=s.linear_labels, widths=net.widths,
                f_vector=tuple(int(f) for f in f_vector), _packed=s.packed,
                _layout=layout(net), _edges=s.edges, _edge_units=s.edge_units)


def frozen(arr) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr
