"""C12 (§3.1): "分段线性函数 … 两个子区间": ReLU is piecewise linear with two pieces.

Measured with sympy: the catalogue's ReLU split at its breakpoints, whether each piece is affine
(a polynomial of degree <= 1 in x), which maximal affine piece it belongs to (adjacent pieces
that are the same affine function are merged), both one-sided limits and the value at each
breakpoint, and whether the article's split (x >= 0 -> x, x < 0 -> 0) is the same function.
Rows (``seed: None``): one per piece (``kind: "piece"``), one per breakpoint
(``kind: "breakpoint"``) and the article comparison (``kind: "article_split"``).
"""

from __future__ import annotations

import sympy as sp

from reluthe import symbolic
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.symbolic._common import SYMPY_NOTE, cpu_design, fields
from reluthe.symbolic import article
from reluthe.symbolic.symbols import x

__all__ = ["RULE", "measure", "decide", "plot"]

RULE = (
    "Supported if the catalogue's ReLU has exactly two maximal affine pieces (adjacent pieces "
    "that are the same affine function are merged; each piece is a polynomial of degree <= 1 "
    "in x) and is continuous at the breakpoint (both one-sided limits equal the value there), "
    "and the article's split (x >= 0 -> x, x < 0 -> 0) is the same function. Refuted otherwise."
)

plot = None


def _piece_rows(p) -> list[dict]:
    """One row per piece, with the index of the maximal affine piece it is merged into."""
    rows, maximal = [], []
    for e, (lo, hi) in zip(p.pieces, p.intervals()):
        if not maximal or sp.simplify(e - maximal[-1]) != 0:
            maximal.append(e)
        rows.append({"seed": None, "kind": "piece", "interval": f"({lo}, {hi})",
                     "expression": str(e),
                     "affine": bool(e.is_polynomial(x) and sp.degree(e, x) <= 1),
                     "maximal_piece": len(maximal) - 1})
    return rows


def _breakpoint_row(f: sp.Expr, b) -> dict:
    """Both one-sided limits of ``f`` at ``b`` and its value there."""
    left = sp.limit(f, x, b, dir="-")
    right = sp.limit(f, x, b, dir="+")
    return {"seed": None, "kind": "breakpoint", "at": str(b), "left_limit": str(left),
            "right_limit": str(right), "value": str(f.subs(x, b)),
            "continuous": bool(left == right == f.subs(x, b))}


def measure(ctx: Context) -> dict:
    """Pieces, breakpoints and the article's split of the catalogue's ReLU."""
    p = symbolic.pieces("relu")
    f = p.expression()
    raw = _piece_rows(p) + [_breakpoint_row(f, b) for b in p.breakpoints]
    raw.append({"seed": None, "kind": "article_split",
                **symbolic.compare_functions(f, article.relu_cases_3_1()).to_dict()})
    return {"design": cpu_design(SYMPY_NOTE, catalogue=str(f)), "raw": raw}


def decide(measured: dict) -> Outcome:
    """Supported for two maximal affine pieces, continuity and the article's split."""
    raw = measured["raw"]
    pieces = [fields(r, ("seed", "kind", "maximal_piece")) for r in select(raw, kind="piece")]
    continuity = [fields(r) for r in select(raw, kind="breakpoint")]
    (split,) = select(raw, kind="article_split")
    affine = all(p["affine"] for p in pieces)
    continuous = all(c["continuous"] for c in continuity)
    n = len({r["maximal_piece"] for r in select(raw, kind="piece")})
    ok = affine and continuous and n == 2 and split["equal"]
    key = f"{n} maximal affine pieces ({', '.join(p['expression'] for p in pieces)}); " \
          f"continuous at 0: {continuous}"
    evidence = {"n_maximal_affine_pieces": n, "all_affine": affine, "continuous": continuous,
                "article_split_equal": split["equal"], "pieces": pieces}
    pieces_text = "; ".join(f"{p['expression']} on {p['interval']}" for p in pieces)
    limits = "; ".join(f"at {c['at']}: limits {c['left_limit']} and {c['right_limit']}, value "
                       f"{c['value']}" for c in continuity)
    if ok:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       f"Pieces: {pieces_text}; all affine; {limits}. Which sub-interval holds "
                       "the breakpoint does not change the function.")
    return Outcome(Verdict.REFUTED, key, evidence, "See the pieces and continuity in evidence.")
