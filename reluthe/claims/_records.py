"""What a claim's ``measure`` returns, so that its verdict can be re-decided from the record alone.

A measurement is a dict with exactly two keys:

* ``design``: what was run, fixed before the data: grids, settings, seeds lists, the device and
  constants that are not per-seed measurements (a symbolic derivation's results, the literature's
  anchors). JSON-ready.
* ``raw``: a list of rows, one per seed (and per cell of the grid: activation, depth, ...), each
  a flat dict of JSON-ready values with a ``seed`` key: the seed that row's measurement used
  (``None`` for a deterministic derivation or a measurement without randomness).

``decide(measured)`` reads only these two, so ``check_claims --redecide`` can recompute every
verdict, key number and evidence field from the JSON record. :func:`select` and :func:`column`
read the rows of one cell. In the record, non-finite floats in ``raw`` and ``design`` are stored
as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (JSON has no NaN) and read back
as floats by :func:`decode`.

Examples
--------
>>> m = {"design": {"seeds": [0, 1]},
...      "raw": [{"seed": 0, "act": "relu", "acc": 0.9}, {"seed": 1, "act": "relu", "acc": 0.8}]}
>>> check_measured(m, "C99") is m
True
>>> column(m["raw"], "acc", act="relu")
[0.9, 0.8]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["check_measured", "select", "column", "encode", "decode", "MeasurementError"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class MeasurementError(TypeError):
    """A ``measure`` result that does not follow the design/raw contract (names the claim)."""


def check_measured(measured, claim_id: str) -> dict:
    """``measured`` if it follows the contract above, else :class:`MeasurementError`.

    Examples
    --------
    >>> check_measured({"design": {}, "raw": [{"x": 1}]}, "C99")
    Traceback (most recent call last):
    ...
    reluthe.claims._records.MeasurementError: C99: raw[0] has no 'seed' key; ...
    """
    if not isinstance(measured, dict) or set(measured) != {"design", "raw"}:
        got = sorted(measured) if isinstance(measured, dict) else type(measured).__name__
        raise MeasurementError(f"{claim_id}: measure must return a dict with exactly the keys "
                               f"'design' and 'raw'; got {got}")
    if not isinstance(measured["design"], dict):
        raise MeasurementError(f"{claim_id}: design must be a dict; got "
                               f"{type(measured['design']).__name__}")
    raw = measured["raw"]
    if not isinstance(raw, list) or not raw:
        raise MeasurementError(f"{claim_id}: raw must be a non-empty list of rows")
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            raise MeasurementError(f"{claim_id}: raw[{i}] is a {type(row).__name__}, not a dict")
        if "seed" not in row:
            raise MeasurementError(f"{claim_id}: raw[{i}] has no 'seed' key; every row names the "
                                   "seed it used (None for a derivation without randomness)")
        seed = row["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise MeasurementError(f"{claim_id}: raw[{i}]['seed'] must be an int or None; got "
                                   f"{seed!r}")
    return measured


def select(raw: Sequence[dict], **cell) -> list[dict]:
    """The rows whose fields equal ``cell`` (all of them), in record order.

    Examples
    --------
    >>> select([{"seed": 0, "a": 1}, {"seed": 1, "a": 2}], a=2)
    [{'seed': 1, 'a': 2}]
    """
    return [row for row in raw if all(row.get(k) == v for k, v in cell.items())]


def column(raw: Sequence[dict], field: str, **cell) -> list:
    """The ``field`` of every row of ``cell``, in record order; ``KeyError`` naming a gap.

    Examples
    --------
    >>> column([{"seed": 0, "a": 1, "v": 3.0}], "v", a=1)
    [3.0]
    """
    rows = select(raw, **cell)
    if not rows:
        raise KeyError(f"no raw row matches {cell}")
    missing = [row["seed"] for row in rows if field not in row]
    if missing:
        raise KeyError(f"raw rows of {cell} with seeds {missing} have no field {field!r}")
    return [row[field] for row in rows]


def encode(obj):
    """A copy of ``obj`` with non-finite floats as ``"NaN"``/``"Infinity"``/``"-Infinity"``.

    Examples
    --------
    >>> encode({"a": [1.0, float("nan")], "b": -float("inf")})
    {'a': [1.0, 'NaN'], 'b': '-Infinity'}
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    return obj


def decode(obj):
    """The inverse of :func:`encode`.

    Examples
    --------
    >>> decode({"a": [1.0, "NaN"], "b": "-Infinity", "c": "relu"})
    {'a': [1.0, nan], 'b': -inf, 'c': 'relu'}
    """
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj
