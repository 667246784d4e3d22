"""Checks of the claims decided by derivation: C01, C12, C14, C16, C22.

Each verdict comes from sympy derivations made in the run (exact, so no seeds or intervals are
needed) and from comparisons with torch's implementation on the grid of
:func:`reluthe.symbolic.check_against_torch` (float64 and float32, tolerances fixed there).
C16 compares a torch ``nn.Linear`` + ``nn.ReLU`` with ``max(0, Wx + b)`` in numpy float64 for
5 seeds, against Higham's worst-case rounding bound for a dot product.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sympy as sp

from reluthe import symbolic
from reluthe.claims._base import Check, Context, Outcome, Verdict
from reluthe.symbolic import article
from reluthe.symbolic.symbols import x

__all__ = ["CHECKS"]

_DTYPES = ("float64", "float32")


def _torch_summary(result) -> dict:
    """The parts of a TorchCheck a verdict needs (the full grid is kept in ``points``)."""
    d = result.to_dict()
    value_mismatch = [m for m in d["mismatches"] if m["quantity"] == "value"]
    return {
        "name": d["name"], "params": d["params"], "dtype": d["dtype"], "rtol": d["rtol"],
        "n_points": d["n_points"], "agrees_finite": d["agrees_finite"], "agrees": d["agrees"],
        "value_mismatches": value_mismatch, "mismatches": d["mismatches"], "kinks": d["kinks"],
        "notes": d["notes"],
    }


def _curve(expr: sp.Expr, lo: float, hi: float, n: int = 161) -> dict:
    """Samples of ``expr`` for figures (nan where undefined)."""
    xs = np.linspace(lo, hi, n)
    f = sp.lambdify(x, expr, modules=["numpy", "scipy"])
    with np.errstate(all="ignore"):
        ys = np.asarray(f(xs), dtype=float) * np.ones_like(xs)
    return {"x": xs.tolist(), "y": ys.tolist()}


# ---------------------------------------------------------------- C01: f(x) = max(0, x)

C01_RULE = (
    "Supported if (a) sympy proves that the catalogue's ReLU, max(0, x) and the article's cases "
    "(x > 0 -> x, x <= 0 -> 0; and §3.1's x >= 0 -> x, x < 0 -> 0) are the same function on every "
    "interval between breakpoints and at 0, and (b) torch's relu agrees with the exact function "
    "at every grid input of check_against_torch except nan (0, ±0.0, tiny, regular, huge and "
    "±inf) in float64 and float32 within rtol = 64 machine epsilons. Refuted if (a) or (b) "
    "fails. nan inputs are reported, not judged: max(0, nan) has no value in the article."
)


def _measure_c01(ctx: Context) -> dict:
    relu = symbolic.activation("relu")
    forms = {"max(0, x)": article.relu_max_2_1(), "§2.1 cases": article.relu_cases_2_1(),
             "§3.1 cases": article.relu_cases_3_1()}
    comparisons = {k: symbolic.compare_functions(relu, f).to_dict() for k, f in forms.items()}
    checks = {dt: symbolic.check_against_torch("relu", dtype=dt) for dt in _DTYPES}
    torch = {dt: _torch_summary(c) for dt, c in checks.items()}
    rows = {dt: [p for p in c.points if p["category"] in ("nan", "zero")]
            for dt, c in checks.items()}
    return {"catalogue": str(relu), "comparisons": comparisons, "torch": torch,
            "zero_and_nan": rows}


def _decide_c01(m: dict) -> Outcome:
    symbolic_ok = all(c["equal"] for c in m["comparisons"].values())
    judged = {dt: [v for v in t["value_mismatches"] if v["category"] != "nan"]
              for dt, t in m["torch"].items()}
    torch_ok = not any(judged.values())
    n_points = sum(t["n_points"] for t in m["torch"].values())
    evidence = {"symbolic_equal": {k: c["equal"] for k, c in m["comparisons"].items()},
                "torch_value_mismatches": judged,
                "torch_at_nan": {dt: rows for dt, rows in m["zero_and_nan"].items()},
                "n_grid_points": n_points}
    key = (f"symbolic forms equal: {symbolic_ok}; torch relu matches on {n_points} grid inputs "
           f"(float64+float32): {torch_ok}")
    rows = m["zero_and_nan"]["float64"]
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
    failed = [k for k, c in m["comparisons"].items() if not c["equal"]]
    return Outcome(Verdict.REFUTED, key, evidence,
                   f"Forms that differ: {failed}; torch mismatches: {judged}.")


# ---------------------------------------------------------------- C12: two affine pieces

C12_RULE = (
    "Supported if the catalogue's ReLU has exactly two maximal affine pieces (adjacent pieces "
    "that are the same affine function are merged; each piece is a polynomial of degree <= 1 "
    "in x) and is continuous at the breakpoint (both one-sided limits equal the value there), "
    "and the article's split (x >= 0 -> x, x < 0 -> 0) is the same function. Refuted otherwise."
)


def _measure_c12(ctx: Context) -> dict:
    p = symbolic.pieces("relu")
    pieces_info = [{"interval": f"({lo}, {hi})", "expression": str(e),
                    "affine": bool(e.is_polynomial(x) and sp.degree(e, x) <= 1)}
                   for e, (lo, hi) in zip(p.pieces, p.intervals())]
    maximal = [p.pieces[0]]
    for e in p.pieces[1:]:
        if sp.simplify(e - maximal[-1]) != 0:
            maximal.append(e)
    continuity = []
    f = p.expression()
    for b in p.breakpoints:
        left = sp.limit(f, x, b, dir="-")
        right = sp.limit(f, x, b, dir="+")
        continuity.append({"at": str(b), "left_limit": str(left), "right_limit": str(right),
                           "value": str(f.subs(x, b)),
                           "continuous": bool(left == right == f.subs(x, b))})
    same = symbolic.compare_functions(f, article.relu_cases_3_1()).to_dict()
    return {"pieces": pieces_info, "n_maximal_affine_pieces": len(maximal),
            "continuity": continuity, "article_split": same}


def _decide_c12(m: dict) -> Outcome:
    affine = all(p["affine"] for p in m["pieces"])
    continuous = all(c["continuous"] for c in m["continuity"])
    n = m["n_maximal_affine_pieces"]
    ok = affine and continuous and n == 2 and m["article_split"]["equal"]
    key = f"{n} maximal affine pieces ({', '.join(p['expression'] for p in m['pieces'])}); " \
          f"continuous at 0: {continuous}"
    evidence = {"n_maximal_affine_pieces": n, "all_affine": affine, "continuous": continuous,
                "article_split_equal": m["article_split"]["equal"], "pieces": m["pieces"]}
    pieces_text = "; ".join(f"{p['expression']} on {p['interval']}" for p in m["pieces"])
    limits = "; ".join(f"at {c['at']}: limits {c['left_limit']} and {c['right_limit']}, value "
                       f"{c['value']}" for c in m["continuity"])
    if ok:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       f"Pieces: {pieces_text}; all affine; {limits}. Which sub-interval holds "
                       "the breakpoint does not change the function.")
    return Outcome(Verdict.REFUTED, key, evidence, "See the pieces and continuity in evidence.")


# ---------------------------------------------------------------- C14: f'(x) = 1 if x >= 0

C14_RULE = (
    "Let D be the exact derivative of ReLU where it exists. Refuted if the article's formula "
    "(1 for x >= 0, 0 for x < 0) differs from D on an open interval (x != 0). Supported if it "
    "matches D there and ReLU is differentiable at 0 with derivative 1 (left and right "
    "derivatives both 1, computed from the pieces and again as limits of difference "
    "quotients). Partly supported if it matches D for every x != 0 but the one-sided "
    "derivatives at 0 differ, so f'(0) does not exist and the value 1 is a convention; the "
    "subdifferential and torch autograd's value at ±0.0 (float64, float32) are reported."
)


def _measure_c14(ctx: Context) -> dict:
    left, right = symbolic.one_sided_derivatives("relu", 0)
    h = sp.Symbol("h", positive=True)
    f = symbolic.activation("relu")
    quotient_left = sp.limit((f.subs(x, -h) - f.subs(x, 0)) / (-h), h, 0)
    quotient_right = sp.limit((f.subs(x, h) - f.subs(x, 0)) / h, h, 0)
    d = symbolic.derivative("relu")
    comparison = symbolic.compare_functions(article.relu_derivative_3_2(), d).to_dict()
    torch = {dt: _torch_summary(symbolic.check_against_torch("relu", dtype=dt)) for dt in _DTYPES}
    return {
        "derivative": str(d),
        "derivative_at_0": str(d.subs(x, 0)),
        "one_sided": {"left": str(left), "right": str(right)},
        "difference_quotients": {"left": str(quotient_left), "right": str(quotient_right)},
        "subdifferential": str(symbolic.subdifferential("relu", 0)),
        "article_vs_derivative": comparison,
        "torch_kinks": {dt: t["kinks"] for dt, t in torch.items()},
        "torch_derivative_mismatches_off_kink": {
            dt: [m for m in t["mismatches"] if m["quantity"] == "derivative"
                 and m["category"] != "nan"] for dt, t in torch.items()},
        "curve": {"f": _curve(f, -2, 2), "left_derivative": str(left),
                  "right_derivative": str(right)},
    }


def _decide_c14(m: dict) -> Outcome:
    intervals_ok = all(i["equal"] for i in m["article_vs_derivative"]["intervals"])
    left, right = m["one_sided"]["left"], m["one_sided"]["right"]
    two_ways = m["one_sided"] == m["difference_quotients"]
    torch_at_0 = sorted({k["torch"] for rows in m["torch_kinks"].values() for k in rows})
    evidence = {"article_matches_off_0": intervals_ok, "one_sided": m["one_sided"],
                "difference_quotients_agree": two_ways,
                "subdifferential": m["subdifferential"], "torch_relu_grad_at_0": torch_at_0,
                "torch_kinks": m["torch_kinks"],
                "torch_derivative_mismatches_off_kink": m["torch_derivative_mismatches_off_kink"]}
    key = (f"f'(0-)={left}, f'(0+)={right}, subdifferential {m['subdifferential']}; "
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
                   f"{m['subdifferential']} is a valid convention there; torch's autograd "
                   f"uses {torch_at_0}, not the article's 1.")


def _plot_c14(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    c = m["curve"]["f"]
    ax1.plot(c["x"], c["y"], color="C0")
    ax1.set_title("ReLU f(x) = max(0, x)")
    ax1.set_xlabel("x")
    left = float(sp.sympify(m["one_sided"]["left"]))
    right = float(sp.sympify(m["one_sided"]["right"]))
    ax2.plot([-2, 0], [left, left], color="C0", label="f'(x), x != 0")
    ax2.plot([0, 2], [right, right], color="C0")
    ax2.plot([0, 0], [left, right], color="C2", lw=4, alpha=0.4,
             label=f"subdifferential at 0: {m['subdifferential']}")
    ax2.plot([0], [left], "o", mfc="white", color="C0")
    ax2.plot([0], [right], "o", mfc="white", color="C0")
    torch_at_0 = m["torch_kinks"]["float64"][0]["torch"]
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


# ---------------------------------------------------------------- C16: a = max(0, Wx + b)

C16_RULE = (
    "For 5 seeds (ctx.seed + i) and dtypes float64 and float32, build torch nn.Linear(100, 64) "
    "+ nn.ReLU (the article's first layer) with weights, bias and a batch of 256 inputs drawn "
    "from a seeded torch.Generator (N(0,1), with 16 inputs chosen so that some pre-activations "
    "are exactly 0). Supported if for every seed and dtype (a) torch's ReLU output equals "
    "numpy's maximum(0, z) bit for bit on torch's own z, and (b) torch's z and output differ "
    "from numpy float64 Wx + b and max(0, Wx + b) (same inputs, cast exactly) by at most "
    "Higham's bound gamma_(n+1) * (|W||x| + |b|) with gamma_k = k u / (1 - k u), u the unit "
    "roundoff of the dtype, n the fan-in. Refuted if any seed or dtype fails."
)


def _c16_one(seed: int, dtype_name: str) -> dict:
    import torch
    from torch import nn

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG
        lin = nn.Linear(100, 64, dtype=dtype)
    act = nn.ReLU()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(64, 100, generator=gen, dtype=torch.float64).to(dtype))
        lin.bias.copy_(torch.randn(64, generator=gen, dtype=torch.float64).to(dtype))
        xb = torch.randn(256, 100, generator=gen, dtype=torch.float64).to(dtype)
        xb[:16] = 0.0  # z = b there; zero the bias of unit 0 so that z = 0 exactly occurs
        lin.bias[0] = 0.0
        z_t = lin(xb)
        a_t = act(z_t)
    w = lin.weight.detach().to(torch.float64).numpy()
    b = lin.bias.detach().to(torch.float64).numpy()
    x64 = xb.to(torch.float64).numpy()
    z_np = x64 @ w.T + b
    a_np = np.maximum(0.0, z_np)
    scale = np.abs(x64) @ np.abs(w).T + np.abs(b)
    u = float(torch.finfo(dtype).eps) / 2
    k = w.shape[1] + 1
    gamma = k * u / (1 - k * u)
    zt, at = z_t.to(torch.float64).numpy(), a_t.to(torch.float64).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_z = np.where(scale > 0, np.abs(zt - z_np) / scale, 0.0)
        ratio_a = np.where(scale > 0, np.abs(at - a_np) / scale, 0.0)
    return {
        "seed": seed, "dtype": dtype_name, "gamma": gamma,
        "relu_bitwise_equal": bool(np.array_equal(at, np.maximum(0.0, zt))),
        "max_z_error_over_scale": float(ratio_z.max()),
        "max_a_error_over_scale": float(ratio_a.max()),
        "within_bound": bool(ratio_z.max() <= gamma and ratio_a.max() <= gamma),
        "n_exact_zero_preactivations": int((zt == 0).sum()),
        "sparsity": float((at == 0).mean()),
    }


def _measure_c16(ctx: Context) -> dict:
    runs = [_c16_one(ctx.seed + i, dt) for i in range(5) for dt in _DTYPES]
    return {"runs": runs, "shape": {"in": 100, "out": 64, "batch": 256}}


def _decide_c16(m: dict) -> Outcome:
    runs = m["runs"]
    bitwise = all(r["relu_bitwise_equal"] for r in runs)
    bounded = all(r["within_bound"] for r in runs)
    worst = {dt: max(r["max_z_error_over_scale"] / r["gamma"] for r in runs if r["dtype"] == dt)
             for dt in _DTYPES}
    evidence = {"n_runs": len(runs), "relu_bitwise_equal": bitwise, "within_bound": bounded,
                "worst_error_as_fraction_of_bound": worst,
                "exact_zero_preactivations": sum(r["n_exact_zero_preactivations"] for r in runs),
                "runs": runs}
    key = (f"{len(runs)} runs: relu bit-exact {bitwise}; Wx+b within Higham bound {bounded} "
           f"(worst {max(worst.values()):.2g} of the bound)")
    if bitwise and bounded:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "torch's Linear+ReLU computes max(0, Wx + b): the ReLU is exact on "
                       "torch's z (z = 0 gives 0), and z differs from float64 Wx + b only by "
                       "floating-point rounding, within the worst-case dot-product bound.")
    return Outcome(Verdict.REFUTED, key, evidence, "See the failing runs in evidence.")


# ---------------------------------------------------------------- C22: Q2 formulas

C22_RULE = (
    "For each of the article's four formulas (sigmoid, tanh, Leaky ReLU with any real alpha, "
    "ELU with any alpha > 0, written with x >= 0): refuted if sympy finds it differs from the "
    "catalogue function (torch's definition) on some interval or at a breakpoint; otherwise "
    "supported if torch's implementation agrees with the exact function and derivative at "
    "every finite grid input of check_against_torch (float64 and float32; default alpha and "
    "alpha = 0.2 for Leaky ReLU, alpha = 0.5 for ELU), and partly supported (naming the inputs) "
    "if torch deviates at a finite input. Derivative, range, saturation and sup|f'| are "
    "derived and reported; infinities and nan are reported, not judged."
)

_C22_VARIANTS = {"sigmoid": [{}], "tanh": [{}], "leaky_relu": [{}, {"alpha": 0.2}],
                 "elu": [{}, {"alpha": 0.5}]}


def _measure_c22(ctx: Context) -> dict:
    formulas = article.q2_formulas()
    out = {}
    for name, formula in formulas.items():
        symbol_params = {"alpha": article.LEAKY_ALPHA} if name == "leaky_relu" else \
            {"alpha": article.ELU_ALPHA} if name == "elu" else {}
        catalogue = symbolic.activation(name, **symbol_params)
        props = symbolic.properties(name).to_dict()
        torch = [_torch_summary(symbolic.check_against_torch(name, dtype=dt, **v))
                 for v in _C22_VARIANTS[name] for dt in _DTYPES]
        out[name] = {
            "article": str(formula),
            "catalogue": str(catalogue),
            "comparison": symbolic.compare_functions(formula, catalogue).to_dict(),
            "derivative_general": str(symbolic.derivative(name, **symbol_params)),
            "kinks_general": [str(k) for k in symbolic.kinks(name, **symbol_params)],
            "properties": {k: props[k] for k in (
                "derivative", "range", "monotonicity", "convex", "smoothness", "kinks",
                "limits", "saturates_left", "saturates_right", "sup_abs_derivative",
                "sup_abs_derivative_at", "methods")},
            "torch": torch,
            "curve": {"f": _curve(symbolic.activation(name), -4, 4),
                      "df": _curve(symbolic.derivative(name), -4, 4)},
        }
    return out


def _decide_c22(m: dict) -> Outcome:
    differ = [n for n, r in m.items() if not r["comparison"]["equal"]]
    deviations = {n: [(t["dtype"], t["params"], mm["x"], mm["quantity"])
                      for t in r["torch"] for mm in t["mismatches"]
                      if mm["category"] not in ("inf", "nan")]
                  for n, r in m.items()}
    deviations = {n: d for n, d in deviations.items() if d}
    outside = {n: [(t["dtype"], mm["x"], mm["quantity"], mm["torch"]) for t in r["torch"]
                   for mm in t["mismatches"] if mm["category"] in ("inf", "nan")]
               for n, r in m.items()}
    sup = {n: r["properties"]["sup_abs_derivative"]["expr"] for n, r in m.items()}
    evidence = {
        "formula_equal": {n: r["comparison"]["equal"] for n, r in m.items()},
        "finite_grid_deviations": deviations,
        "inf_nan_mismatches": {n: v for n, v in outside.items() if v},
        "derivatives": {n: r["derivative_general"] for n, r in m.items()},
        "kinks_general_alpha": {n: r["kinks_general"] for n, r in m.items()},
        "range": {n: r["properties"]["range"] for n, r in m.items()},
        "saturates": {n: [r["properties"]["saturates_left"], r["properties"]["saturates_right"]]
                      for n, r in m.items()},
        "sup_abs_derivative": sup,
    }
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


def _plot_c22(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    styles = ["-", "-", "--", ":"]
    for i, (name, r) in enumerate(m.items()):
        ls = styles[i % len(styles)]
        ax1.plot(r["curve"]["f"]["x"], r["curve"]["f"]["y"], ls, color=f"C{i}", label=name)
        ax2.plot(r["curve"]["df"]["x"], r["curve"]["df"]["y"], ls, color=f"C{i}",
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


CHECKS: dict[str, Check] = {
    "C01": Check(C01_RULE, _measure_c01, _decide_c01),
    "C12": Check(C12_RULE, _measure_c12, _decide_c12),
    "C14": Check(C14_RULE, _measure_c14, _decide_c14, _plot_c14),
    "C16": Check(C16_RULE, _measure_c16, _decide_c16),
    "C22": Check(C22_RULE, _measure_c22, _decide_c22, _plot_c22),
}
