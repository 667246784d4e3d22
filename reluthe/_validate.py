"""Input validation shared by every module: one wording for every message.

Messages follow "The 'x' parameter of f must be …. Got … instead." so that a user sees at once
which argument was wrong and what is accepted. Nothing here imports torch at import time.
"""

from __future__ import annotations

import math
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


def check_real(value, *, param: str, func: str, low: float | None = None,
               high: float | None = None, low_open: bool = False, high_open: bool = False,
               accepted: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite real number (not a bool) in the interval.

    ``low``/``high`` bound it (``None``: unbounded), open with ``low_open``/``high_open``;
    ``accepted`` overrides the description of what is accepted in the message.

    Examples
    --------
    >>> check_real(0.5, param="p", func="f", low=0, high=1, high_open=True)
    0.5
    >>> check_real("0.5", param="p", func="f", low=0, high=1, high_open=True)
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: The 'p' parameter of f must be a finite number in [0, 1)...
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    ok = ok and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if accepted is None:
            if low is not None and high is not None:
                accepted = (f"a finite number in {'(' if low_open else '['}{low:g}, "
                            f"{high:g}{')' if high_open else ']'}")
            elif low is not None:
                accepted = f"a finite number {'>' if low_open else '>='} {low:g}"
            elif high is not None:
                accepted = f"a finite number {'<' if high_open else '<='} {high:g}"
            else:
                accepted = "a finite number"
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {_fmt(value)} instead.")
    return float(value)


def check_bool(value, *, param: str, func: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (a numpy bool too); reject 0/1, strings."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be True or False. "
                                f"Got {_fmt(value)} instead.")
    return bool(value)


def check_callable(value, *, param: str, func: str, optional: bool = False):
    """Return ``value`` if it is callable (or ``None`` with ``optional``)."""
    if (value is None and optional) or callable(value):
        return value
    accepted = "a callable or None" if optional else "a callable"
    raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                            f"Got {_fmt(value)} instead.")


def check_optional_dict(value, *, param: str, func: str) -> dict:
    """Return ``dict(value)`` for a dict with string keys, ``{}`` for ``None``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be a dict of parameter "
                                f"names to values, or None. Got {_fmt(value)} instead.")
    return dict(value)


def check_int_sequence(value, *, param: str, func: str, minimum: int = 1,
                       min_len: int = 2) -> tuple[int, ...]:
    """Return ``value`` as a tuple of Python ints: a list, tuple, range or 1-D integer numpy
    array of at least ``min_len`` integers >= ``minimum``.

    Rejects strings, sets, scalars, nested sequences, bools, complex numbers and every float,
    integral ones too (``4.0``: the message says "integers, not 4.0"), so nothing is truncated.

    Examples
    --------
    >>> check_int_sequence([2, 4, 2], param="widths", func="f")
    (2, 4, 2)
    >>> check_int_sequence([2, 4.7, 2], param="widths", func="f")
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: The 'widths' parameter of f must be a list or tuple ...
    >>> check_int_sequence([2, 4.0, 2], param="widths", func="f")
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: ...: widths[1] is 4.0; integers, not 4.0 (write 4).
    """
    accepted = f"a list or tuple of at least {min_len} integers >= {minimum}"

    def fail(detail: str = ""):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {_fmt(value)} instead{detail}.")

    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
            fail(f" (an array of dtype {value.dtype} and shape {value.shape})")
        items = value.tolist()
    elif isinstance(value, (list, tuple, range)):
        items = list(value)
    else:
        fail(f" (a {type(value).__name__})" if not isinstance(value, str) else "")
    if len(items) < min_len:
        fail()
    for i, item in enumerate(items):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            if isinstance(item, numbers.Real) and not isinstance(item, (bool, np.bool_)) \
                    and math.isfinite(item) and float(item).is_integer():
                fail(f": {param}[{i}] is {item!r}; integers, not {float(item)!r} "
                     f"(write {int(item)})")
            fail(f": {param}[{i}] is {_fmt(item)}")
        if item < minimum:
            fail(f": {param}[{i}] is {int(item)}")
    return tuple(int(item) for item in items)


_DEVICES_ACCEPTED = "'cpu', 'cuda' or 'cuda:N' (or a torch.device of those)"


def check_device(device, *, param: str = "device", func: str):
    """Return ``device`` as a ``torch.device`` if it is the CPU or a visible CUDA device.

    Accepts ``"cpu"``, ``"cuda"``, ``"cuda:N"`` and ``torch.device`` objects of those; rejects
    other strings (misspellings, ``"meta"``, ``"mps"``), non-strings, and CUDA devices when
    ``torch.cuda.is_available()`` is False or ``N`` is not a visible device.

    Examples
    --------
    >>> check_device("cpu", func="f")
    device(type='cpu')
    >>> check_device("cdua", func="f")
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: The 'device' parameter of f must be 'cpu', 'cuda' or ...
    """
    import torch

    def fail(detail: str = ""):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {_DEVICES_ACCEPTED}. "
                                f"Got {_fmt(device)} instead{detail}.")

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        text = device.strip().lower()
        head, _, index = text.partition(":")
        if head not in ("cpu", "cuda") or (index and not index.isdigit()) \
                or (head == "cpu" and index not in ("", "0")):
            fail()
        dev = torch.device(text)
    else:
        fail()
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        fail()
    if not torch.cuda.is_available():
        fail(", but no GPU is visible (torch.cuda.is_available() is False); use 'cpu'")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        fail(f", but only {count} GPU(s) are visible (cuda:0 to cuda:{count - 1})")
    return dev


def check_real_array(array, *, param: str, func: str, ndim: int | None = None) -> np.ndarray:
    """Return ``array`` as a float64 numpy copy if it holds finite real numbers.

    Like :func:`check_finite_array`, and also: a torch tensor of any real dtype (bfloat16,
    float16, integers) on any device with data is converted; complex, bool, string and object
    arrays of non-numbers, tensors on the ``meta`` device and ragged nested sequences are
    refused with a message naming ``param``, the dtype (or type) that came and what is accepted.

    Examples
    --------
    >>> check_real_array([1, 2], param="x", func="f").dtype
    dtype('float64')
    >>> check_real_array([1j, 2], param="x", func="f")
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: The 'x' parameter of f must be an array of real numbers ...
    """
    accepted = ("an array of real numbers (a numpy array, nested list or torch tensor of a "
                "float or integer dtype)")

    def fail(got: str):
        raise InvalidInputError(f"The {param!r} parameter of {func} must be {accepted}. "
                                f"Got {got} instead.")

    if hasattr(array, "detach") and hasattr(array, "is_complex"):        # a torch tensor
        import torch

        if array.is_complex() or array.dtype == torch.bool:
            fail(f"a tensor of dtype {array.dtype}")
        if array.device.type == "meta":
            fail("a tensor on the 'meta' device (it has no values)")
        return check_finite_array(array.detach().to("cpu", torch.float64), param=param,
                                  func=func, ndim=ndim)
    if isinstance(array, (str, bytes)):
        fail(f"a {type(array).__name__} {_fmt(array)}")
    try:
        probe = np.asarray(array)
    except (TypeError, ValueError):
        fail(f"{_fmt(array)} (not a rectangular array)")
    if probe.dtype.kind in "bcUSVmM":
        fail(f"an array of dtype {probe.dtype}")
    if probe.dtype.kind == "O" and not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
            for v in probe.ravel().tolist()):
        fail(f"an object array that holds non-numbers ({_fmt(array)})")
    return check_finite_array(probe, param=param, func=func, ndim=ndim)
