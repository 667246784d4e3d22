"""Helpers shared by the symbolic claims: torch-grid summaries, figure curves, row fields.

The claims of this family are derivations: their rows have ``seed: None`` and a ``kind`` naming
what the row holds. :func:`fields` strips that bookkeeping where a row is shown as evidence.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from reluthe.symbolic.symbols import x

__all__ = ["DTYPES", "CPU_NOTE", "SYMPY_NOTE", "cpu_design", "torch_summary", "curve", "fields"]

DTYPES = ("float64", "float32")

CPU_NOTE = ("check_against_torch evaluates torch's CPU kernels (it takes no device), so the "
            "torch comparisons run on CPU whatever --device says")
SYMPY_NOTE = "sympy only: no torch work"


def cpu_design(note: str = CPU_NOTE, **design) -> dict:
    """``design`` with ``device = "cpu"`` and the ``device_note`` saying why.

    Examples
    --------
    >>> cpu_design(SYMPY_NOTE, dtypes=[])
    {'dtypes': [], 'device': 'cpu', 'device_note': 'sympy only: no torch work'}
    """
    return {**design, "device": "cpu", "device_note": note}


def torch_summary(result) -> dict:
    """The parts of a TorchCheck a verdict needs (the full grid is kept in ``points``)."""
    d = result.to_dict()
    value_mismatch = [m for m in d["mismatches"] if m["quantity"] == "value"]
    return {
        "name": d["name"], "params": d["params"], "dtype": d["dtype"], "rtol": d["rtol"],
        "n_points": d["n_points"], "agrees_finite": d["agrees_finite"], "agrees": d["agrees"],
        "value_mismatches": value_mismatch, "mismatches": d["mismatches"], "kinks": d["kinks"],
        "notes": d["notes"],
    }


def curve(expr: sp.Expr, lo: float, hi: float, n: int = 161) -> dict:
    """Samples of ``expr`` for figures (nan where undefined).

    Examples
    --------
    >>> curve(x**2, -1, 1, n=3)
    {'x': [-1.0, 0.0, 1.0], 'y': [1.0, 0.0, 1.0]}
    """
    xs = np.linspace(lo, hi, n)
    f = sp.lambdify(x, expr, modules=["numpy", "scipy"])
    with np.errstate(all="ignore"):
        ys = np.asarray(f(xs), dtype=float) * np.ones_like(xs)
    return {"x": xs.tolist(), "y": ys.tolist()}


def fields(row: dict, drop: tuple[str, ...] = ("seed", "kind")) -> dict:
    """``row`` without its bookkeeping keys, as the evidence shows it.

    Examples
    --------
    >>> fields({"seed": None, "kind": "piece", "expression": "x"})
    {'expression': 'x'}
    """
    return {k: v for k, v in row.items() if k not in drop}
