"""C15: ReLU's constant derivative avoids vanishing gradients (the bound behind the claim).

The article (§3.2): because ReLU's derivative is a constant 1 for positive inputs, gradients do
not vanish as they do with sigmoid or tanh. Derived: ``δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}``, so
``‖δ_l‖ ≤ sup|f'| · ‖W_{l+1}‖₂ · ‖δ_{l+1}‖`` with ``sup|f'|`` from ``reluthe.symbolic``.
Measured at initialisation on one MNIST-1D batch (depth 16, width 128, 3 inits, 5 seeds): every
per-input per-layer ratio against its bound, and the decay ``log10(‖δ_1‖/‖δ_16‖)`` as in C05.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import COLORS, MIN_SEEDS, est
from reluthe.claims.gradients._flow import (
    INITS,
    flow_design,
    flow_rows,
    probe_batch,
    ratio_cell,
    too_few_seeds,
)

ACTS = ("relu", "leaky_relu", "tanh", "sigmoid")

RULE = (
    "Derivation: δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so for every input ‖δ_l‖ ≤ sup|f'| · ‖W_{l+1}‖₂ "
    "· ‖δ_{l+1}‖, with sup|f'| from reluthe.symbolic (1/4 for sigmoid, 1 for tanh, relu, "
    "leaky_relu). For sigmoid the bound forces the gradient to shrink at every layer whose "
    "‖W‖₂ < 4; for relu the derivative is exactly 1 on active units, so its decay is set by the "
    "weights and the share of inactive units, i.e. by the init. Measured at init on MNIST-1D, "
    "depth 16, width 128, 3 inits, 5 seeds: every per-input per-layer ratio ‖δ_l‖/‖δ_{l+1}‖ "
    "against its bound (the bound holds when no ratio exceeds it by more than 1e-9 "
    "relative), and log10(‖δ_1‖/‖δ_16‖) as in C05 (vanishes: CI below −1; preserved: CI "
    "within ±1). INCONCLUSIVE if a bound is violated (a measurement error) or fewer than "
    f"{MIN_SEEDS} seeds; SUPPORTED if relu is preserved under every init; PARTLY if under some but "
    "vanishing under another (the condition: the init); REFUTED if it vanishes under every init."
)


def _config(quick: bool) -> dict:
    if quick:
        return {"acts": ["relu", "sigmoid"], "inits": list(INITS), "depths": [6],
                "width": 32, "seeds": 3, "batch": 32}
    return {"acts": list(ACTS), "inits": list(INITS), "depths": [16], "width": 128,
            "seeds": 5, "batch": 128}


def measure(ctx) -> dict:
    """Rows: one per (activation, init, depth, model seed) with its decay and per-layer bound
    check; design: the grid, seeds and sup|f'| of each activation from ``reluthe.symbolic``."""
    from reluthe import symbolic

    design = flow_design(ctx, _config(ctx.quick))
    design["sup_abs_derivative"] = {a: float(symbolic.properties(a).sup_abs_derivative)
                                    for a in design["acts"]}
    design["sup_source"] = "reluthe.symbolic.properties(name).sup_abs_derivative"
    x, y = probe_batch(design)
    n = len(design["acts"]) * len(design["inits"]) * design["seeds"]
    ctx.log(f"C15: per-layer bounds of {n} networks")
    return {"design": design, "raw": flow_rows(ctx, design, x, y,
                                               sups=design["sup_abs_derivative"])}


def _table(design: dict, raw: list[dict], deep: int) -> dict:
    table = {}
    for a in design["acts"]:
        for i in design["inits"]:
            e, state = ratio_cell(raw, a, i, deep)
            cell = {"activation": a, "init": i, "depth": deep}
            table[f"{a}/{i}"] = {
                "log10_ratio": e.to_dict(), "state": state,
                "log10_bound_product": est(column(raw, "log10_bound_product",
                                                  **cell)).to_dict(),
                "median_layer_ratio": float(np.median(column(raw, "median_layer_ratio",
                                                             **cell))),
                "share_of_contracting_layers": float(np.mean(column(raw, "contracting_layers",
                                                                    **cell)))}
    return table


def _text(design: dict, table: dict, deep: int, checked: int, worst: float) -> str:
    inits = design["inits"]

    def v(a, i, k="log10_ratio"):
        return table[f"{a}/{i}"][k]["value"]

    sig = [v("sigmoid", i, "log10_bound_product") for i in inits] \
        if "sigmoid" in design["acts"] else []
    effect = ("does not prevent vanishing"
              if any(table[f"relu/{i}"]["state"] == "vanishes" for i in inits)
              else "lets it through")
    text = (f"The bound held in all {checked} layer-input pairs; "
            + (f"it forces sigmoid's gradient below 10^{max(sig):.1f} over {deep - 1} layers, "
               "but " if sig else "")
            + f"relu's sup|f'| = 1 {effect}: 10^{v('relu', 'he'):.1f} with He, "
            f"10^{v('relu', 'xavier'):.1f} with Xavier, 10^{v('relu', 'default'):.1f} with "
            "torch's default init. ")
    if sig:
        share = np.mean([table[f"sigmoid/{i}"]["share_of_contracting_layers"] for i in inits])
        text += (f"For sigmoid sup|σ'|·‖W‖₂ = ‖W‖₂/4 is below 1 in {100 * share:.0f}% of the "
                 f"layers measured, so the bound alone guarantees vanishing; the measured decay is "
                 f"10^{v('sigmoid', 'xavier'):.1f} (Xavier). ")
    loose = 1 - np.mean([table[f"relu/{i}"]["share_of_contracting_layers"] for i in inits])
    text += (f"For relu the bound exceeds 1 in {100 * loose:.0f}% of the layers measured and so "
             "guarantees nothing: its decay is set by the init, because inactive units pass "
             "nothing and the weights must make up for them (χ = σ_w²/2). Largest measured/bound "
             f"ratio: {worst:.2f}.")
    return text


def _key(design: dict, table: dict, deep: int, checked: int, worst: float) -> str:
    def v(i):
        return table[f"relu/{i}"]["log10_ratio"]["value"]

    sig = [table[f"sigmoid/{i}"]["log10_bound_product"]["value"] for i in design["inits"]] \
        if "sigmoid" in design["acts"] else []
    return (f"bound held in {checked} layer-inputs (max measured/bound {worst:.2f}); relu depth "
            f"{deep}: 10^{v('he'):.1f} He, 10^{v('xavier'):.1f} Xavier, "
            f"10^{v('default'):.1f} default"
            + (f"; sigmoid bound ≤ 10^{max(sig):.1f}" if sig else ""))


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    deep = max(design["depths"])
    worst = max(r["max_ratio_over_bound"] for r in raw)
    checked = sum(r["n_checked"] for r in raw)
    holds = bool(worst <= 1.0 + 1e-9)
    table = _table(design, raw, deep)
    evidence = {"depth": deep, "sup_abs_derivative": design["sup_abs_derivative"],
                "bound_holds": holds, "max_measured_over_bound": worst,
                "layer_input_pairs_checked": checked, "per_activation_init": table}
    key = _key(design, table, deep, checked, worst)
    if not holds:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"A measured ratio exceeds its proven bound by {worst:.3g}×: the "
                       "measurement is wrong somewhere, so no verdict is drawn from it.")
    if too_few_seeds(raw, design):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds per cell: no verdict.")
    text = _text(design, table, deep, checked, worst)
    relu = {i: table[f"relu/{i}"]["state"] for i in design["inits"]}
    preserved = [i for i, s in relu.items() if s == "preserved"]
    vanish = [i for i, s in relu.items() if s == "vanishes"]
    if len(preserved) == len(relu):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if preserved and vanish:
        return Outcome(Verdict.PARTLY, key, evidence,
                       text + f" The omitted condition: a variance-preserving init (here "
                       f"{', '.join(preserved)}); with {', '.join(vanish)} the gradient vanishes.")
    if len(vanish) == len(relu):
        return Outcome(Verdict.REFUTED, key, evidence, text)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + " Not every init gives a decided outcome at this depth; a deeper "
                   "network or more seeds would separate them.")


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
