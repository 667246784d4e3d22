"""Compare torch's activations and autograd derivatives with the exact symbolic ones.

:func:`check_against_torch` evaluates torch's function and its autograd derivative on a fixed
grid, and the symbolic function and derivative at the same (dtype-rounded) inputs with mpmath
at 50 digits or more (enough to keep ``exp(x) - 1`` exact at ``x = 1e-300``); mismatches are
listed in the result, never hidden. torch is imported inside the function, so
``import reluthe.symbolic`` stays torch-free.

The grid, per dtype: ``k/10`` for ``k = -60..60``; ``±0.0``; tiny magnitudes (``1e-30``, the
smallest normal and subnormal numbers of the dtype, ``1e-300`` in float64); each breakpoint
``± 1e-6`` and ``± 1e-3``; ``±10, ±25, ±50, ±100``; ``±1e30`` and the largest finite number;
``±inf``; ``nan``. Inputs that round to another grid value in the dtype are dropped.

Expected values: the exact function at finite inputs, its limits at ``±inf``, ``nan`` at ``nan``
(``max(0, nan)`` has no value). Expected derivatives: the exact derivative; its limits at
``±inf``; none at a kink, where torch's choice is recorded (``kinks``) and compared with the
catalogue's ``torch_kink`` convention instead.

Tolerances (fixed before any comparison): ``rtol = 64 eps`` for float64 and float32 and
``4 eps`` for float16 and bfloat16 (torch computes those in float32 and rounds), where ``eps``
is the dtype's machine epsilon; a value passes when
``|torch - exact| <= rtol |exact| + rtol * s`` with ``s = min(1, |x|)`` for function values
(activations are O(|x|) near 0, so tiny inputs are held to relative accuracy) and ``s = 1`` for
derivatives, plus one subnormal step of the dtype (outputs below the smallest normal number
cannot carry relative accuracy). An exact value beyond the dtype's largest finite number is
expected as the infinity it rounds to. ``nan`` matches only ``nan``; an infinity only the same
infinity.

Known, real differences this reports: torch's ``softplus`` returns ``x`` when ``βx > 20``
(error up to ``log1p(exp(-20))/β ≈ 2.1e-9/β``, visible in float64), and several smooth
activations return ``nan`` at ``±inf`` where the limit exists (``inf * 0`` inside torch's
formulas).

Examples
--------
>>> from reluthe.symbolic import check_against_torch
>>> result = check_against_torch("relu")
>>> result.agrees_finite, [k["torch"] for k in result.kinks]
(True, [0.0, 0.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import sympy as sp

from reluthe import activations as table
from reluthe.errors import InvalidInputError
from reluthe.symbolic.activations import Pieces, pieces
from reluthe.symbolic.calculus import _one_sided_at_breakpoint, _same, limits_at_infinity
from reluthe.symbolic.symbols import x

__all__ = ["TorchCheck", "check_against_torch", "TOLERANCES"]

_EPS = {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
TOLERANCES: dict[str, float] = {
    "float64": 64 * _EPS["float64"],
    "float32": 64 * _EPS["float32"],
    "float16": 4 * _EPS["float16"],
    "bfloat16": 4 * _EPS["bfloat16"],
}
"""rtol per dtype (see the module docstring)."""

_FINITE = ("regular", "zero", "tiny", "near_breakpoint", "large", "huge")


@dataclass(frozen=True)
class TorchCheck:
    """torch against the symbolic activation on one grid, in one dtype.

    Attributes
    ----------
    name, params, dtype : str, dict, str
    rtol : float
        The tolerance used (see the module docstring).
    points : tuple of dict
        One per grid input: ``x``, ``category`` (regular, zero, tiny, near_breakpoint, large,
        huge, inf, nan), ``torch_value``, ``expected_value``, ``value_ok``, ``torch_derivative``,
        ``expected_derivative`` (None at a kink), ``derivative_ok`` (None at a kink).
    kinks : tuple of dict
        For each kink and each input on it (``+0.0`` and ``-0.0`` for a kink at 0): ``at``,
        ``x``, ``left``, ``right``, ``torch`` (autograd's value), ``convention`` ("left",
        "right", "both" or "neither"), ``declared`` (the catalogue's torch convention) and
        ``matches_declared``.
    mismatches : tuple of dict
        Every failed comparison: ``x``, ``category``, ``quantity`` ("value" or "derivative"),
        ``torch``, ``expected``, ``abs_error``.
    notes : tuple of str
        How torch's function was built and known deviations.
    """

    name: str
    params: dict
    dtype: str
    rtol: float
    points: tuple
    kinks: tuple
    mismatches: tuple
    notes: tuple

    @property
    def agrees_finite(self) -> bool:
        """No mismatch at any finite input (zero, tiny, regular, large and huge included)."""
        return not any(m["category"] in _FINITE for m in self.mismatches)

    @property
    def agrees(self) -> bool:
        """No mismatch anywhere, infinities and nan included, and kinks as declared."""
        return not self.mismatches and all(k["matches_declared"] for k in self.kinks)

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params), "dtype": self.dtype,
                "rtol": self.rtol, "n_points": len(self.points),
                "agrees_finite": self.agrees_finite, "agrees": self.agrees,
                "points": [dict(p) for p in self.points], "kinks": [dict(k) for k in self.kinks],
                "mismatches": [dict(m) for m in self.mismatches], "notes": list(self.notes)}


def _dtype_name(dtype) -> str:
    name = str(dtype).replace("torch.", "")
    name = {"double": "float64", "float": "float32", "half": "float16"}.get(name, name)
    if name not in TOLERANCES:
        raise InvalidInputError(f"The 'dtype' parameter of check_against_torch must be one of "
                                f"{sorted(TOLERANCES)}. Got {dtype!r} instead.")
    return name


def _selu(alpha: float, scale: float):
    import torch.nn.functional as F

    return lambda t: scale * F.elu(t, alpha)


def _swish(beta: float):
    import torch

    return lambda t: t * torch.sigmoid(beta * t)


# torch compositions for parameters that torch's own function lacks, keyed by activation name
_COMPOSED = {
    "selu": ("selu with non-default constants is built as scale * F.elu(x, alpha)", _selu),
    "silu": ("torch has no Swish beta: built as x * torch.sigmoid(beta * x)", _swish),
}
_NOTES = {
    "softplus": "torch's softplus returns x where beta*x > 20 (threshold=20); the exact "
                "function differs there by up to log1p(exp(-20))/beta",
}


def _torch_function(p: Pieces):
    """torch's implementation of the activation, and notes on how it is built.

    torch's own function (:func:`reluthe.models.activation_fn`) unless a parameter that torch
    lacks differs from its default; then the composition of ``_COMPOSED``.
    """
    from reluthe.models import activation_fn

    row = table.spec(p.name)
    values = {k: float(v) for k, v in p.params}
    notes = [_NOTES[row.name]] if row.name in _NOTES else []
    if any(q.torch is None and values[q.name] != float(q.default) for q in row.params):
        note, build = _COMPOSED[row.name]
        return build(**values), [*notes, note]
    torch_values = {q.name: values[q.name] for q in row.params if q.torch is not None}
    return activation_fn(row.name, **torch_values), notes


def _grid(p: Pieces, dtype: str) -> list[tuple[float, str]]:
    import torch

    info = torch.finfo(getattr(torch, dtype))
    pts = [(k / 10, "regular") for k in range(-60, 61)]
    pts += [(0.0, "zero"), (-0.0, "zero")]
    tiny = [1e-30, info.tiny, info.smallest_normal / 2**10, 1e-300]
    if hasattr(info, "smallest_subnormal"):
        tiny.append(info.smallest_subnormal)
    pts += [(s * t, "tiny") for t in tiny for s in (1, -1)]
    for b in p.breakpoints:
        pts += [(float(b) + s * d, "near_breakpoint") for d in (1e-6, 1e-3) for s in (1, -1)]
    pts += [(s * v, "large") for v in (10.0, 25.0, 50.0, 100.0) for s in (1, -1)]
    pts += [(s * v, "huge") for v in (1e30, info.max) for s in (1, -1)]
    pts += [(math.inf, "inf"), (-math.inf, "inf"), (math.nan, "nan")]
    rounded = torch.tensor([v for v, _ in pts], dtype=torch.float64).to(getattr(torch, dtype))
    seen, out = set(), []
    for (_, cat), r in zip(pts, rounded.to(torch.float64).tolist()):
        if cat in ("tiny", "huge") and (r == 0.0 or math.isinf(r)):
            continue
        key = ("nan",) if math.isnan(r) else (r, math.copysign(1.0, r))
        if key in seen:
            continue
        seen.add(key)
        out.append((r, cat))
    return out


@lru_cache(maxsize=2048)
def _mp_function(expr: sp.Expr):
    return sp.lambdify(x, expr, modules="mpmath")


def _piece_index(p: Pieces, v: float) -> tuple[str, int]:
    for i, b in enumerate(p.breakpoints):
        fb = float(b)
        if v == fb:
            return "breakpoint", i
        if v < fb:
            return "piece", i
    return "piece", len(p.breakpoints)


def _float(value) -> float:
    if value == sp.oo:
        return math.inf
    if value == -sp.oo:
        return -math.inf
    return float(sp.N(value, 30))


def _expected(p: Pieces, v: float) -> tuple[float, float | None]:
    """The exact value and derivative at ``v`` (derivative None at a kink)."""
    if math.isnan(v):
        return math.nan, math.nan
    if math.isinf(v):
        lim = limits_at_infinity(p.name, **dict(p.params))
        side = "+oo" if v > 0 else "-oo"
        return _float(lim[f"f({side})"]), _float(lim[f"f'({side})"])
    where, i = _piece_index(p, v)
    # enough digits that cancellations such as exp(x) - 1 at |x| = 1e-300 stay exact
    digits = 50 + (math.ceil(-math.log10(abs(v))) if 0 < abs(v) < 1 else 0)
    with mpmath.workdps(digits):
        xv = mpmath.mpf(v)
        if where == "breakpoint":
            value = float(_mp_function(p.pieces[i])(xv))
            left, right = _one_sided_at_breakpoint(p, i)
            deriv = _float(left) if _same(left, right) is True else None
            return value, deriv
        value = float(_mp_function(p.pieces[i])(xv))
        deriv = float(_mp_function(sp.diff(p.pieces[i], x))(xv))
        return value, deriv


def _close(t: float, e: float, rtol: float, scale: float, floor: float = 0.0) -> bool:
    if math.isnan(t) or math.isnan(e):
        return math.isnan(t) and math.isnan(e)
    if math.isinf(t) or math.isinf(e):
        return t == e
    return abs(t - e) <= rtol * abs(e) + rtol * scale + floor


def _convention(torch_value: float, left: float, right: float, rtol: float) -> str:
    is_left = _close(torch_value, left, rtol, 1.0)
    is_right = _close(torch_value, right, rtol, 1.0)
    return "both" if is_left and is_right else "left" if is_left else \
        "right" if is_right else "neither"


def check_against_torch(name: str, dtype="float64", **params) -> TorchCheck:
    """Compare torch's activation ``name`` and its autograd derivative with the exact ones.

    Parameters
    ----------
    name : str
        An activation of the catalogue.
    dtype : str or torch.dtype, default "float64"
        float64, float32, float16 or bfloat16.
    **params
        Numeric parameters of the activation (torch's defaults otherwise).

    Returns
    -------
    TorchCheck
        Per-point comparisons, torch's values at kinks, and every mismatch.

    Examples
    --------
    >>> r = check_against_torch("softplus")
    >>> r.agrees_finite   # torch linearises softplus above x = 20
    False
    >>> sorted({m["x"] for m in r.mismatches if m["category"] == "large"})
    [25.0]
    """
    import torch

    dtype = _dtype_name(dtype)
    p = pieces(name, **params)
    if not all(v.is_number for _, v in p.params):
        raise InvalidInputError(f"check_against_torch needs numeric parameters; got "
                                f"{dict(p.params)}.")
    rtol = TOLERANCES[dtype]
    fn, notes = _torch_function(p)
    grid = _grid(p, dtype)
    t = torch.tensor([v for v, _ in grid], dtype=getattr(torch, dtype), requires_grad=True)
    y = fn(t)
    (grad,) = torch.autograd.grad(y, t, torch.ones_like(y))
    tv = y.detach().to(torch.float64).tolist()
    tg = grad.to(torch.float64).tolist()
    floor = torch.finfo(getattr(torch, dtype)).smallest_normal * _EPS[dtype]  # one subnormal step

    def in_dtype(value):  # the exact value rounded to the dtype: overflow becomes inf
        if value is None or not math.isfinite(value):
            return value
        return torch.tensor(value, dtype=torch.float64).to(getattr(torch, dtype)).item() \
            if abs(value) > torch.finfo(getattr(torch, dtype)).max else value

    kink_points = {float(b) for b in p.breakpoints if _float_kink(p, b)}
    points, mismatches, kink_rows = [], [], []
    for (v, cat), tval, tder in zip(grid, tv, tg):
        ev, ed = _expected(p, v)
        value_ok = _close(tval, in_dtype(ev), rtol,
                          min(1.0, abs(v)) if math.isfinite(v) else 1.0, floor)
        deriv_ok = None if ed is None else _close(tder, in_dtype(ed), rtol, 1.0, floor)
        points.append({"x": v, "category": cat, "torch_value": tval, "expected_value": ev,
                       "value_ok": value_ok, "torch_derivative": tder,
                       "expected_derivative": ed, "derivative_ok": deriv_ok})
        if not value_ok:
            mismatches.append({"x": v, "category": cat, "quantity": "value", "torch": tval,
                               "expected": ev, "abs_error": _abs_err(tval, ev)})
        if deriv_ok is False:
            mismatches.append({"x": v, "category": cat, "quantity": "derivative",
                               "torch": tder, "expected": ed, "abs_error": _abs_err(tder, ed)})
        if v in kink_points:
            i = [float(b) for b in p.breakpoints].index(v)
            left, right = (_float(s) for s in _one_sided_at_breakpoint(p, i))
            declared = left if p.torch_kink == "left" else right if p.torch_kink == "right" \
                else float(p.torch_kink)
            kink_rows.append({"at": v, "x": v, "signbit": math.copysign(1.0, v) < 0,
                              "left": left, "right": right, "torch": tder,
                              "convention": _convention(tder, left, right, rtol),
                              "declared": declared,
                              "matches_declared": _close(tder, declared, rtol, 1.0)})
    return TorchCheck(p.name, {k: str(v) for k, v in p.params}, dtype, rtol, tuple(points),
                      tuple(kink_rows), tuple(mismatches), tuple(notes))


def _float_kink(p: Pieces, b) -> bool:
    i = list(p.breakpoints).index(b)
    left, right = _one_sided_at_breakpoint(p, i)
    return _same(left, right) is not True


def _abs_err(t: float, e: float) -> float:
    if math.isnan(t) or math.isnan(e) or math.isinf(t) or math.isinf(e):
        return math.nan if not (math.isinf(t) and t == e) else 0.0
    return abs(t - e)
