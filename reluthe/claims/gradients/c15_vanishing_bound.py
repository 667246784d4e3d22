"""C15: ReLU's constant derivative avoids vanishing gradients (the bound behind the claim).

The article (§3.2): ReLU's derivative is a constant 1 for positive inputs (0 for negative), and
this constant derivative lets gradients propagate through deep networks without vanishing.
Derived: ``δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}``, so the activation's own factor on any path is a
product of local derivatives ``f'(z_l) ≤ sup|f'|`` (``reluthe.symbolic``: 1/4 for sigmoid, 1
for tanh and relu), and ``‖δ_l‖ ≤ sup|f'| · ‖W_{l+1}‖₂ · ‖δ_{l+1}‖``. Judged in two parts
(``_flow``): (a) the mechanism: ReLU attains the bound on every active entry (local derivative
exactly 1, the gradient passes unchanged: its factor along an active path is 1^L, sigmoid's at
most 4^-L); (b) the consequence, per init at depth 16: does relu's gradient stay above 1/10 of
the last layer's, and does it keep more than tanh and sigmoid? Both bounds are theorems: a
measured violation means the measurement is wrong, and the rule then draws no verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import COLORS, est
from reluthe.claims.gradients._flow import (
    INITS,
    consequence,
    consequence_text,
    excluded,
    flow_design,
    flow_outcome,
    flow_rows,
    mechanism,
    mechanism_text,
    rule_parts,
    verdict_of,
)

ACTS = ("relu", "leaky_relu", "tanh", "sigmoid")
BOUND_RTOL = 1e-9


def _config(ctx) -> dict:
    """The grid: quick (tests), default, or ``--full`` (leaky_relu too, 5 model seeds)."""
    base = {"inits": list(INITS), "depths": [16], "width": 128, "batch": 128,
            "n_data_seeds": 3, "n_model_seeds": 3}
    if ctx.quick:
        return {**base, "acts": ["relu", "sigmoid"], "depths": [6], "width": 32, "batch": 32}
    if ctx.full:
        return {**base, "acts": list(ACTS), "n_model_seeds": 5}
    return {**base, "acts": ["relu", "tanh", "sigmoid"]}


RULE = (
    "Derivation: δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so every local gain (∂L/∂z)/(∂L/∂a) = f'(z) "
    "is at most sup|f'| (reluthe.symbolic: 1/4 sigmoid, 1 tanh, relu, leaky_relu) and for every "
    "input ‖δ_l‖ ≤ sup|f'| · ‖W_{l+1}‖₂ · ‖δ_{l+1}‖. Measured at initialisation on MNIST-1D, "
    "depth 16, width 128, relu, tanh, sigmoid (--full: also leaky_relu, 5 model seeds per data "
    "seed) × inits torch default, He, Xavier. INCONCLUSIVE if any local gain or per-layer "
    f"ratio exceeds its bound by more than {BOUND_RTOL:g} relative (both are theorems: the "
    "measurement would be wrong). "
    + rule_parts({"n_data_seeds": 3, "n_model_seeds": 3, "batch": 128}, 16)
    + " Reported beside: the product of sup|f'|·‖W‖₂ over the layers (for sigmoid it forces "
    "vanishing wherever ‖W‖₂ < 4; for relu it exceeds 1 and guarantees nothing)."
)


def measure(ctx) -> dict:
    """Rows: one per (activation, init, depth, data seed, model seed) with its decay, mechanism
    counts and bound checks; design: the grid, the nested seeds and sup|f'| of each activation
    from ``reluthe.symbolic``."""
    from reluthe import symbolic

    design = flow_design(ctx, _config(ctx))
    design["sup_abs_derivative"] = {a: float(symbolic.properties(a).sup_abs_derivative)
                                    for a in design["acts"]}
    design["sup_source"] = "reluthe.symbolic.properties(name).sup_abs_derivative"
    n = len(design["acts"]) * len(design["inits"]) * len(design["model_seeds"])
    ctx.log(f"C15: per-layer bounds of {n} networks")
    return {"design": design, "raw": flow_rows(ctx, design, sups=design["sup_abs_derivative"])}


def _table(design: dict, raw: list[dict], deep: int) -> dict:
    """Per (activation, init): the bound product, the activation's factor, contracting layers."""
    table = {}
    for a in design["acts"]:
        for i in design["inits"]:
            cell = {"activation": a, "init": i, "depth": deep}
            table[f"{a}/{i}"] = {
                "log10_bound_product": est(column(raw, "log10_bound_product",
                                                  **cell)).to_dict(),
                "log10_max_gain_product": float(np.max(column(raw, "log10_max_gain_product",
                                                              **cell))),
                "log10_sup_product": float(column(raw, "log10_sup_product", **cell)[0]),
                "median_layer_ratio": float(np.median(column(raw, "median_layer_ratio",
                                                             **cell))),
                "share_of_contracting_layers": float(np.mean(column(raw, "contracting_layers",
                                                                    **cell)))}
    return table


def _bounds(raw: list[dict]) -> dict:
    """Did both proven bounds hold in every network?"""
    worst = max(r["max_ratio_over_bound"] for r in raw)
    gain = max(r["max_gain_over_sup"] for r in raw)
    return {"bound_holds": bool(worst <= 1 + BOUND_RTOL and gain <= 1 + BOUND_RTOL),
            "max_measured_over_bound": worst, "max_local_gain_over_sup": gain,
            "layer_input_pairs_checked": sum(r["n_checked"] for r in raw)}


def _text(ev: dict, design: dict, holds: list[str]) -> str:
    deep, table, b = ev["depth"], ev["per_activation_init"], ev["bounds"]
    inits = design["inits"]
    text = (f"Both bounds held: local gains at most {b['max_local_gain_over_sup']:.2f}·sup|f'|, "
            f"per-layer ratios at most {b['max_measured_over_bound']:.2f}× their bound in "
            f"{b['layer_input_pairs_checked']:,} layer-input pairs. "
            + mechanism_text(ev["mechanism"]) + " ")
    if "sigmoid" in design["acts"]:
        g = max(table[f"sigmoid/{i}"]["log10_max_gain_product"] for i in inits)
        share = np.mean([table[f"sigmoid/{i}"]["share_of_contracting_layers"] for i in inits])
        text += (f"Sigmoid's own factor over {deep} layers is at most 10^{g:.1f} (bound "
                 f"4^-{deep} = 10^{table[f'sigmoid/{inits[0]}']['log10_sup_product']:.1f}), and "
                 f"sup|σ'|·‖W‖₂ < 1 in {100 * share:.0f}% of its layers, so vanishing is "
                 "guaranteed; relu's factor on an active path is exactly 1. ")
    loose = 1 - np.mean([table[f"relu/{i}"]["share_of_contracting_layers"] for i in inits])
    text += (f"For relu the bound sup|f'|·‖W‖₂ exceeds 1 in {100 * loose:.0f}% of the layers and "
             "so guarantees nothing: whether the gradient vanishes is set by the weights, i.e. "
             "the init, because inactive units pass nothing (χ = σ_w²/2). "
             + consequence_text(ev["consequence"], deep)
             + " The consequence holds under " + (", ".join(holds) or "no init tested") + ".")
    if ev["excluded_networks"]:
        text += f" Excluded (non-finite gradient ratio): {ev['excluded_networks']}."
    return text


def _key(ev: dict, holds: list[str]) -> str:
    c, b = ev["consequence"], ev["bounds"]
    r = ", ".join(f"{i} 10^{c[i]['relu_log10_ratio']['value']:.1f}" for i in c)
    return (f"bounds held in {b['layer_input_pairs_checked']} layer-inputs; relu gain 1 on "
            f"{100 * ev['mechanism']['share_pos_unchanged']['relu']:.0f}% of active entries; "
            f"depth {ev['depth']}: {r}; no vanishing under: " + (", ".join(holds) or "no init"))


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    deep = max(design["depths"])
    ev = {"depth": deep, "sup_abs_derivative": design["sup_abs_derivative"],
          "bounds": _bounds(raw), "mechanism": mechanism(raw),
          "consequence": consequence(raw, design, deep),
          "per_activation_init": _table(design, raw, deep), "excluded_networks": excluded(raw)}
    states = {i: c["state"] for i, c in ev["consequence"].items()}
    verdict, holds = verdict_of(ev["mechanism"]["state"], states)
    key = _key(ev, holds)
    if not ev["bounds"]["bound_holds"]:
        return Outcome(Verdict.INCONCLUSIVE, key, ev,
                       "A measured gain or ratio exceeds its proven bound (local gain "
                       f"{ev['bounds']['max_local_gain_over_sup']:.3g}× sup|f'|, layer ratio "
                       f"{ev['bounds']['max_measured_over_bound']:.3g}× its bound): the "
                       "measurement is wrong somewhere, so no verdict is drawn from it.")
    return flow_outcome(verdict, key, ev, raw, design, lambda: _text(ev, design, holds))


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    xs = np.arange(len(design["inits"]))
    width = 0.8 / len(design["acts"])
    for k, a in enumerate(design["acts"]):
        meas = [np.mean(column(raw, "log10_ratio", activation=a, init=i))
                for i in design["inits"]]
        bnd = [np.mean(column(raw, "log10_bound_product", activation=a, init=i))
               for i in design["inits"]]
        ax1.bar(xs + k * width, meas, width, color=COLORS.get(a), label=a)
        ax1.scatter(xs + k * width, bnd, marker="_", s=200, color="k", zorder=3)
        rows = select(raw, activation=a)
        ax2.scatter([np.log10(np.median(r["layer_bound"])) for r in rows],
                    [np.log10(r["median_layer_ratio"]) for r in rows],
                    color=COLORS.get(a), s=12, label=a)
    lim = ax2.get_xlim()
    ax2.plot(lim, lim, color="k", lw=0.8, label="bound")
    ax1.set_xticks(xs + 0.4 - width / 2, design["inits"])
    ax1.set_ylabel("log10 ‖δ_1‖/‖δ_D‖ (bars) and bound (—)")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("log10 median per-layer bound sup|f'|·‖W‖₂")
    ax2.set_ylabel("log10 median per-layer ratio")
    ax2.legend(fontsize=7)
    fig.suptitle(f"C15: measured gradient decay vs the bound, depth {max(design['depths'])}")
    fig.tight_layout()
    fig.savefig(figures_dir / "c15_bound_vs_measured.png", dpi=110)
    return ["c15_bound_vs_measured.png"]
