"""C22 (§8 Q2): the article's formulas for sigmoid, tanh, Leaky ReLU and ELU.

Measured with sympy: each formula (with general alpha, written with x >= 0) compared with the
catalogue function (torch's definition) on every interval and at the breakpoints; derivative,
kinks, range, saturation and sup|f'| derived. torch's implementations are compared with the
exact function and derivative on the grid of :func:`reluthe.symbolic.check_against_torch`
(float64 and float32; default alpha, and alpha = 0.2 for Leaky ReLU, alpha = 0.5 for ELU).
Rows (``seed: None``): one per activation (``kind: "formula"``, with its curves on [-4, 4] for
the figure) and one per activation, alpha and dtype (``kind: "torch"``).
"""

from __future__ import annotations

from pathlib import Path

from reluthe import symbolic
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.symbolic._common import DTYPES, cpu_design, curve, torch_summary
from reluthe.symbolic import article

__all__ = ["RULE", "measure", "decide", "plot"]

RULE = (
    "For each of the article's four formulas (sigmoid, tanh, Leaky ReLU with any real alpha, "
    "ELU with any alpha > 0, written with x >= 0): refuted if sympy finds it differs from the "
    "catalogue function (torch's definition) on some interval or at a breakpoint; otherwise "
    "supported if torch's implementation agrees with the exact function and derivative at "
    "every finite grid input of check_against_torch (float64 and float32; default alpha and "
    "alpha = 0.2 for Leaky ReLU, alpha = 0.5 for ELU), and partly supported (naming the inputs) "
    "if torch deviates at a finite input. Derivative, range, saturation and sup|f'| are "
    "derived and reported; infinities and nan are reported, not judged."
)

VARIANTS = {"sigmoid": [{}], "tanh": [{}], "leaky_relu": [{}, {"alpha": 0.2}],
            "elu": [{}, {"alpha": 0.5}]}
CURVE_RANGE = (-4, 4)
_PROPERTIES = ("derivative", "range", "monotonicity", "convex", "smoothness", "kinks", "limits",
               "saturates_left", "saturates_right", "sup_abs_derivative",
               "sup_abs_derivative_at", "methods")


def _formula_row(name: str, formula) -> dict:
    """The formula against the catalogue (general alpha), its derived properties and curves."""
    symbol_params = {"alpha": article.LEAKY_ALPHA} if name == "leaky_relu" else \
        {"alpha": article.ELU_ALPHA} if name == "elu" else {}
    catalogue = symbolic.activation(name, **symbol_params)
    props = symbolic.properties(name).to_dict()
    return {
        "seed": None, "kind": "formula", "activation": name,
        "article": str(formula),
        "catalogue": str(catalogue),
        "comparison": symbolic.compare_functions(formula, catalogue).to_dict(),
        "derivative_general": str(symbolic.derivative(name, **symbol_params)),
        "kinks_general": [str(k) for k in symbolic.kinks(name, **symbol_params)],
        "properties": {k: props[k] for k in _PROPERTIES},
        "curve_f": curve(symbolic.activation(name), *CURVE_RANGE),
        "curve_df": curve(symbolic.derivative(name), *CURVE_RANGE),
    }


def measure(ctx: Context) -> dict:
    """Each formula derived and compared; torch on the grid for every variant and dtype."""
    raw = []
    for name, formula in article.q2_formulas().items():
        raw.append(_formula_row(name, formula))
        raw += [{"seed": None, "kind": "torch", "activation": name,
                 **torch_summary(symbolic.check_against_torch(name, dtype=dt, **v))}
                for v in VARIANTS[name] for dt in DTYPES]
    design = cpu_design(activations=[r["activation"] for r in select(raw, kind="formula")],
                        variants=VARIANTS, dtypes=list(DTYPES), curve_range=list(CURVE_RANGE))
    return {"design": design, "raw": raw}


def _torch_mismatches(raw: list[dict], name: str, judged: bool) -> list[tuple]:
    """torch's mismatches of ``name``: at finite inputs (``judged``) or at ±inf and nan."""
    out = []
    for t in select(raw, kind="torch", activation=name):
        for mm in t["mismatches"]:
            if (mm["category"] not in ("inf", "nan")) == judged:
                out.append((t["dtype"], t["params"], mm["x"], mm["quantity"]) if judged
                           else (t["dtype"], mm["x"], mm["quantity"], mm["torch"]))
    return out


def _evidence(m: dict[str, dict], raw: list[dict]) -> dict:
    deviations = {n: _torch_mismatches(raw, n, judged=True) for n in m}
    outside = {n: _torch_mismatches(raw, n, judged=False) for n in m}
    return {
        "formula_equal": {n: r["comparison"]["equal"] for n, r in m.items()},
        "finite_grid_deviations": {n: d for n, d in deviations.items() if d},
        "inf_nan_mismatches": {n: v for n, v in outside.items() if v},
        "derivatives": {n: r["derivative_general"] for n, r in m.items()},
        "kinks_general_alpha": {n: r["kinks_general"] for n, r in m.items()},
        "range": {n: r["properties"]["range"] for n, r in m.items()},
        "saturates": {n: [r["properties"]["saturates_left"], r["properties"]["saturates_right"]]
                      for n, r in m.items()},
        "sup_abs_derivative": {n: r["properties"]["sup_abs_derivative"]["expr"]
                               for n, r in m.items()},
    }


def decide(measured: dict) -> Outcome:
    """Refuted for a wrong formula, partly supported when torch deviates at a finite input."""
    raw = measured["raw"]
    m = {n: select(raw, kind="formula", activation=n)[0]
         for n in measured["design"]["activations"]}
    evidence = _evidence(m, raw)
    differ = [n for n, equal in evidence["formula_equal"].items() if not equal]
    deviations = evidence["finite_grid_deviations"]
    sup = evidence["sup_abs_derivative"]
    key = (f"{len(m) - len(differ)}/{len(m)} formulas equal torch's functions; "
           f"sup|f'|: " + ", ".join(f"{n} {v}" for n, v in sup.items()))
    if differ:
        return Outcome(Verdict.REFUTED, key, evidence, f"Formulas that differ: {differ}.")
    if deviations:
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"The formulas are right, but torch deviates at finite inputs: "
                       f"{deviations}.")
    facts = "; ".join(
        f"{n}: range {r['properties']['range']}, kinks (general alpha) {r['kinks_general']}, "
        f"saturates (left, right) {evidence['saturates'][n]}, "
        f"sup|f'| = {r['properties']['sup_abs_derivative']['expr']} at "
        f"{r['properties']['sup_abs_derivative_at']}" for n, r in m.items())
    return Outcome(Verdict.SUPPORTED, key, evidence,
                   "All four formulas are the functions torch implements (x >= 0 or x > 0 in "
                   "the case split gives the same function: both branches are 0 at 0), and "
                   "torch agrees at every finite grid input. What the article leaves out: "
                   f"{facts}.")


def plot(measured: dict, figures_dir: Path) -> list[str]:
    """The four activations and their derivatives at torch's default parameters."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    styles = ["-", "-", "--", ":"]
    for i, name in enumerate(measured["design"]["activations"]):
        (r,) = select(measured["raw"], kind="formula", activation=name)
        ls = styles[i % len(styles)]
        ax1.plot(r["curve_f"]["x"], r["curve_f"]["y"], ls, color=f"C{i}", label=name)
        ax2.plot(r["curve_df"]["x"], r["curve_df"]["y"], ls, color=f"C{i}",
                 label=f"{name}: sup|f'| = {r['properties']['sup_abs_derivative']['expr']}")
    ax1.set_title("article §8 Q2 activations (torch defaults)")
    ax2.set_title("derivatives (undefined at kinks)")
    for ax in (ax1, ax2):
        ax.set_xlabel("x")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    name = "c22_activations_derivatives.png"
    fig.savefig(figures_dir / name, dpi=110)
    return [name]
