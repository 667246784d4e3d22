"""Input validation shared by every module: one wording for every message.

Messages follow "The 'x' parameter of f must be …. Got … instead." so that a user sees at once
which argument was wrong and what is accepted. Nothing here imports torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from reluthe.errors import InvalidInputError


def _fmt(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_choice(value, choices: Iterable[str], *, param: str, func: str) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise naming all valid choices."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be one of {sorted(choices)}. "
            f"Got {_fmt(value)} instead."
        )
    return value


def check_seed(seed, *, func: str, param: str = "seed") -> int:
    """Return ``seed`` as a Python int; reject bools, floats, strings and negatives."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be a non-negative integer. "
            f"Got {_fmt(seed)} instead."
        )
    return int(seed)


def check_positive_int(value, *, param: str, func: str, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be an integer >= {minimum}. "
            f"Got {_fmt(value)} instead."
        )
    return int(value)


def check_positive_float(value, *, param: str, func: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be a finite number {bound}. "
            f"Got {_fmt(value)} instead."
        )
    return float(value)


def check_finite_array(array, *, param: str, func: str, ndim: int | None = None,
                       dtype=np.float64) -> np.ndarray:
    """Return ``array`` as a numpy array of ``dtype``; reject NaN/inf and a wrong ``ndim``.

    Accepts numpy arrays, nested sequences and torch tensors (via ``numpy()``); never modifies
    the caller's object.
    """
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    try:
        out = np.array(array, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be array-like of numbers. "
            f"Got {_fmt(array)} instead."
        ) from exc
    if ndim is not None and out.ndim != ndim:
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must have {ndim} dimension(s). "
            f"Got shape {out.shape} instead."
        )
    if not np.all(np.isfinite(out)):
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise InvalidInputError(
            f"The {param!r} parameter of {func} must be finite. "
            f"Got {bad} NaN/inf value(s) in an array of shape {out.shape}."
        )
    return out
