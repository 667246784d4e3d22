"""C01 (§2.1): "f(x) = max(0, x)": x for x > 0 and 0 for x <= 0.

Measured: sympy compares the catalogue's ReLU with max(0, x), the §2.1 case split
(x > 0 -> x, x <= 0 -> 0) and the §3.1 one (x >= 0 -> x, x < 0 -> 0) on every interval between
breakpoints and at 0; torch's relu is compared with the exact function on the grid of
:func:`reluthe.symbolic.check_against_torch` (float64 and float32; 0, ±0.0, tiny, regular, huge,
±inf and nan). Rows: one per form (``kind: "form"``) and one per dtype (``kind: "torch"``, with
the grid's zero and nan points), all with ``seed: None``.
"""

from __future__ import annotations

from reluthe import symbolic
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.symbolic._common import DTYPES, cpu_design, torch_summary
from reluthe.symbolic import article

__all__ = ["RULE", "measure", "decide", "plot"]

RULE = (
    "Supported if (a) sympy proves that the catalogue's ReLU, max(0, x) and the article's cases "
    "(x > 0 -> x, x <= 0 -> 0; and §3.1's x >= 0 -> x, x < 0 -> 0) are the same function on every "
    "interval between breakpoints and at 0, and (b) torch's relu agrees with the exact function "
    "at every grid input of check_against_torch except nan (0, ±0.0, tiny, regular, huge and "
    "±inf) in float64 and float32 within rtol = 64 machine epsilons. Refuted if (a) or (b) "
    "fails. nan inputs are reported, not judged: max(0, nan) has no value in the article."
)

plot = None


def measure(ctx: Context) -> dict:
    """The three forms compared with the catalogue's ReLU, and torch's relu on the grid."""
    relu = symbolic.activation("relu")
    forms = {"max(0, x)": article.relu_max_2_1(), "§2.1 cases": article.relu_cases_2_1(),
             "§3.1 cases": article.relu_cases_3_1()}
    raw = [{"seed": None, "kind": "form", "form": name,
            **symbolic.compare_functions(relu, f).to_dict()} for name, f in forms.items()]
    for dt in DTYPES:
        check = symbolic.check_against_torch("relu", dtype=dt)
        zero_and_nan = [p for p in check.points if p["category"] in ("nan", "zero")]
        raw.append({"seed": None, "kind": "torch", **torch_summary(check),
                    "zero_and_nan": zero_and_nan})
    return {"design": cpu_design(catalogue=str(relu), forms=list(forms), dtypes=list(DTYPES)),
            "raw": raw}


def decide(measured: dict) -> Outcome:
    """Supported when every form is the catalogue's ReLU and torch matches off nan."""
    forms = select(measured["raw"], kind="form")
    torch = {r["dtype"]: r for r in select(measured["raw"], kind="torch")}
    symbolic_ok = all(f["equal"] for f in forms)
    judged = {dt: [v for v in t["value_mismatches"] if v["category"] != "nan"]
              for dt, t in torch.items()}
    torch_ok = not any(judged.values())
    n_points = sum(t["n_points"] for t in torch.values())
    evidence = {"symbolic_equal": {f["form"]: f["equal"] for f in forms},
                "torch_value_mismatches": judged,
                "torch_at_nan": {dt: t["zero_and_nan"] for dt, t in torch.items()},
                "n_grid_points": n_points}
    key = (f"symbolic forms equal: {symbolic_ok}; torch relu matches on {n_points} grid inputs "
           f"(float64+float32): {torch_ok}")
    rows = torch["float64"]["zero_and_nan"]
    at_nan = [r["torch_value"] for r in rows if r["category"] == "nan"]
    at_neg_zero = [r["torch_value"] for r in rows if r["category"] == "zero"
                   and str(r["x"]) == "-0.0"]
    if symbolic_ok and torch_ok:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "max(0, x) and both case splits are one function (they differ only in "
                       "which case holds 0, where both give 0); torch.relu agrees with it on "
                       "every judged grid input (±0.0, tiny, regular, huge, ±inf). Not judged: "
                       f"torch gives relu(nan) = {at_nan} and relu(-0.0) = {at_neg_zero} "
                       "(float64).")
    failed = [f["form"] for f in forms if not f["equal"]]
    return Outcome(Verdict.REFUTED, key, evidence,
                   f"Forms that differ: {failed}; torch mismatches: {judged}.")
