"""C14 (§3.2): "f'(x) = 1 for x >= 0 and 0 for x < 0": ReLU's derivative, including at 0.

Measured with sympy: the exact derivative where it exists, the one-sided derivatives at 0
computed from the pieces and again as limits of difference quotients, the subdifferential at 0,
and the article's formula compared with the derivative on every interval and at 0; torch
autograd's relu derivative on the grid of :func:`reluthe.symbolic.check_against_torch` (float64,
float32), at the kink ±0.0 and elsewhere. Rows (``seed: None``): the derivative
(``kind: "derivative"``), one per side of 0 (``kind: "one_sided"``), the article comparison
(``kind: "article_vs_derivative"``), one per dtype (``kind: "torch"``) and ReLU sampled on
[-2, 2] for the figure (``kind: "curve"``).
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from reluthe import symbolic
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.symbolic._common import DTYPES, cpu_design, curve, torch_summary
from reluthe.symbolic import article
from reluthe.symbolic.symbols import x

__all__ = ["RULE", "measure", "decide", "plot"]

RULE = (
    "Let D be the exact derivative of ReLU where it exists. Refuted if the article's formula "
    "(1 for x >= 0, 0 for x < 0) differs from D on an open interval (x != 0). Supported if it "
    "matches D there and ReLU is differentiable at 0 with derivative 1 (left and right "
    "derivatives both 1, computed from the pieces and again as limits of difference "
    "quotients). Partly supported if it matches D for every x != 0 but the one-sided "
    "derivatives at 0 differ, so f'(0) does not exist and the value 1 is a convention; the "
    "subdifferential and torch autograd's value at ±0.0 (float64, float32) are reported."
)


def _one_sided_rows() -> list[dict]:
    """The one-sided derivatives at 0, from the pieces and as difference-quotient limits."""
    left, right = symbolic.one_sided_derivatives("relu", 0)
    h = sp.Symbol("h", positive=True)
    f = symbolic.activation("relu")
    quotient_left = sp.limit((f.subs(x, -h) - f.subs(x, 0)) / (-h), h, 0)
    quotient_right = sp.limit((f.subs(x, h) - f.subs(x, 0)) / h, h, 0)
    return [{"seed": None, "kind": "one_sided", "side": side, "from_pieces": str(d),
             "difference_quotient": str(q)}
            for side, d, q in (("left", left, quotient_left), ("right", right, quotient_right))]


def measure(ctx: Context) -> dict:
    """The derivative of ReLU at and away from 0, exactly and in torch autograd."""
    d = symbolic.derivative("relu")
    raw = [{"seed": None, "kind": "derivative", "derivative": str(d),
            "derivative_at_0": str(d.subs(x, 0)),
            "subdifferential": str(symbolic.subdifferential("relu", 0))}]
    raw += _one_sided_rows()
    raw.append({"seed": None, "kind": "article_vs_derivative",
                **symbolic.compare_functions(article.relu_derivative_3_2(), d).to_dict()})
    for dt in DTYPES:
        t = torch_summary(symbolic.check_against_torch("relu", dtype=dt))
        raw.append({"seed": None, "kind": "torch", "dtype": dt, "kinks": t["kinks"],
                    "mismatches": t["mismatches"]})
    raw.append({"seed": None, "kind": "curve", **curve(symbolic.activation("relu"), -2, 2)})
    return {"design": cpu_design(dtypes=list(DTYPES)), "raw": raw}


def _sides(raw: list[dict], field: str) -> dict:
    return {r["side"]: r[field] for r in select(raw, kind="one_sided")}


def decide(measured: dict) -> Outcome:
    """Partly supported when the formula is right off 0 but f'(0-) != f'(0+)."""
    raw = measured["raw"]
    (derivative,) = select(raw, kind="derivative")
    (comparison,) = select(raw, kind="article_vs_derivative")
    torch = {r["dtype"]: r for r in select(raw, kind="torch")}
    intervals_ok = all(i["equal"] for i in comparison["intervals"])
    one_sided = _sides(raw, "from_pieces")
    left, right = one_sided["left"], one_sided["right"]
    two_ways = one_sided == _sides(raw, "difference_quotient")
    torch_kinks = {dt: t["kinks"] for dt, t in torch.items()}
    torch_at_0 = sorted({k["torch"] for rows in torch_kinks.values() for k in rows})
    subdifferential = derivative["subdifferential"]
    evidence = {"article_matches_off_0": intervals_ok, "one_sided": one_sided,
                "difference_quotients_agree": two_ways,
                "subdifferential": subdifferential, "torch_relu_grad_at_0": torch_at_0,
                "torch_kinks": torch_kinks,
                "torch_derivative_mismatches_off_kink": {
                    dt: [m for m in t["mismatches"] if m["quantity"] == "derivative"
                         and m["category"] != "nan"] for dt, t in torch.items()}}
    key = (f"f'(0-)={left}, f'(0+)={right}, subdifferential {subdifferential}; "
           f"torch relu'(0)={torch_at_0}")
    if not intervals_ok or not two_ways:
        return Outcome(Verdict.REFUTED, key, evidence,
                       "The article's formula differs from the derivative away from 0, or the "
                       "two computations of the one-sided derivatives disagree.")
    if left == right == "1":
        return Outcome(Verdict.SUPPORTED, key, evidence, "ReLU is differentiable at 0 with f'=1.")
    return Outcome(Verdict.PARTLY, key, evidence,
                   "Right for every x != 0, but ReLU is not differentiable at 0: the left "
                   f"derivative is {left} and the right one {right}, so 'f'(x) = 1 for x >= 0' "
                   "is wrong at 0. Any value in the subdifferential "
                   f"{subdifferential} is a valid convention there; torch's autograd "
                   f"uses {torch_at_0}, not the article's 1.")


def plot(measured: dict, figures_dir: Path) -> list[str]:
    """ReLU and its derivative, with the subdifferential and torch's value at the kink."""
    from matplotlib.figure import Figure

    raw = measured["raw"]
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    (c,) = select(raw, kind="curve")
    ax1.plot(c["x"], c["y"], color="C0")
    ax1.set_title("ReLU f(x) = max(0, x)")
    ax1.set_xlabel("x")
    one_sided = _sides(raw, "from_pieces")
    left, right = (float(sp.sympify(one_sided[s])) for s in ("left", "right"))
    (subdifferential,) = (r["subdifferential"] for r in select(raw, kind="derivative"))
    ax2.plot([-2, 0], [left, left], color="C0", label="f'(x), x != 0")
    ax2.plot([0, 2], [right, right], color="C0")
    ax2.plot([0, 0], [left, right], color="C2", lw=4, alpha=0.4,
             label=f"subdifferential at 0: {subdifferential}")
    ax2.plot([0], [left], "o", mfc="white", color="C0")
    ax2.plot([0], [right], "o", mfc="white", color="C0")
    torch_at_0 = select(raw, kind="torch", dtype="float64")[0]["kinks"][0]["torch"]
    ax2.plot([0], [torch_at_0], "s", color="C3", label=f"torch autograd at 0: {torch_at_0:g}")
    ax2.plot([0], [1], "x", color="k", ms=9, label="article: f'(0) = 1")
    ax2.set_ylim(-0.3, 1.4)
    ax2.set_title("derivative and the kink at 0")
    ax2.set_xlabel("x")
    ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    name = "c14_relu_kink.png"
    fig.savefig(figures_dir / name, dpi=110)
    return [name]
