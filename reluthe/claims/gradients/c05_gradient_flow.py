"""C05: ReLU's derivative of 1 passes the gradient fully and avoids vanishing gradients.

The article (§2.2.1): ReLU's derivative is 1 for positive inputs, so the gradient passes back
without shrinking and deep networks escape the vanishing gradient. Measured at initialisation,
on one MNIST-1D batch: the norm of the gradient reaching each hidden layer's pre-activations,
for 6 activations × 3 inits × depths 2 to 32 (``reluthe.probes.gradients``), the share of
ReLU unit-inputs that pass exactly zero gradient, and beside each measurement the mean-field
prediction ``½ Σ log10 χ_l`` with ``χ = σ_w² E[f'(z)²]``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    COLORS,
    MIN_SEEDS,
    VANISH_DECADES,
    acc_est,
    error_bars,
    style,
)
from reluthe.claims.gradients._flow import (
    INITS,
    flow_design,
    flow_rows,
    probe_batch,
    ratio_cell,
    too_few_seeds,
)
from reluthe.claims.gradients._meanfield import (
    expect_fprime_sq,
    init_variances,
    meanfield_profile,
    predicted_log10_ratio,
)
from reluthe.stats import Estimate

ACTS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid")
ZERO_SHARE_MARGIN = 0.05

RULE = (
    "Statistic: log10(‖∂L/∂z_1‖ / ‖∂L/∂z_D‖), the norm of the gradient reaching the first hidden "
    "layer's pre-activations relative to the last's, on one MNIST-1D batch at initialisation, "
    "width 128, for 6 activations × 3 inits (torch default, He, Xavier) × depths {2,4,8,16,32}, "
    "5 seeds (t interval). At the deepest depth a gradient 'vanishes' when the interval lies "
    f"below −{VANISH_DECADES:g} (the first layer gets < 1/10 of the last's), is 'preserved' when "
    f"it lies within ±{VANISH_DECADES:g}. 'Passed fully' is checked by the share of (input, "
    "unit) pairs of ReLU layers that pass exactly zero gradient (mean over seeds and inits with "
    "a 95 % interval inside [0, 1]: Wilson's on the effective number of pairs, batch × width × "
    "depth per network, stats.accuracy_ci). "
    "SUPPORTED: relu preserved under every init and that share < 0.05; PARTLY: relu preserved "
    "under some init but vanishing under another, or the zero-gradient share's interval lies "
    "above 0.05 (the conditions the article omits: init scale, active units only); REFUTED: relu "
    f"vanishes under every init; INCONCLUSIVE: fewer than {MIN_SEEDS} seeds or no init decided. "
    "The "
    "mean-field prediction ½ Σ log10 χ_l (χ = σ_w² E[f'(z)²], z ~ N(0, q_l)) is shown beside "
    "each measurement."
)


def _config(quick: bool) -> dict:
    if quick:
        return {"acts": ["relu", "tanh", "sigmoid"], "inits": list(INITS), "depths": [2, 6],
                "width": 32, "seeds": 3, "batch": 64}
    return {"acts": list(ACTS), "inits": list(INITS), "depths": [2, 4, 8, 16, 32],
            "width": 128, "seeds": 5, "batch": 128}


def _q1(init: str, x, width: int) -> float:
    """Mean square of the first hidden layer's pre-activations predicted from the data."""
    s2, b2 = init_variances(init, x.shape[1], width)
    return s2 / x.shape[1] * float((x.double() ** 2).sum(1).mean()) + b2


def _meanfield(design: dict, x) -> list[dict]:
    """Mean-field predictions of every (activation, init, depth) cell for the batch ``x``."""
    width, out = design["width"], []
    for a in design["acts"]:
        chi1 = expect_fprime_sq(a, 1.0)
        for i in design["inits"]:
            s2, _ = init_variances(i, width, width)
            q1 = _q1(i, x, width)
            for d in design["depths"]:
                widths = [x.shape[1]] + [width] * d + [10]
                prof = meanfield_profile(a, i, widths, q1)
                steps = 0.5 * np.log10(prof["chi"])
                layers = np.cumsum(steps[::-1])[::-1].tolist() + [0.0]
                out.append({"activation": a, "init": i, "depth": d,
                            "meanfield": predicted_log10_ratio(a, i, widths, q1),
                            "chi_unit": 0.5 * (d - 1) * math.log10(s2 * chi1),
                            "chi_unit_value": s2 * chi1, "layers": layers,
                            "log10_q": np.log10(prof["q"]).tolist()})
    return out


def measure(ctx) -> dict:
    """Rows: one per (activation, init, depth, model seed) with its per-layer gradient, zero-
    gradient share and activation variance; design: the grid, seeds and mean-field predictions."""
    design = flow_design(ctx, _config(ctx.quick))
    x, y = probe_batch(design)
    n = len(design["acts"]) * len(design["inits"]) * len(design["depths"]) * design["seeds"]
    ctx.log(f"C05: gradient flow of {n} networks")
    raw = flow_rows(ctx, design, x, y)
    design["meanfield"] = _meanfield(design, x)
    design["quadrature"] = ("scipy.integrate.quad (agrees with reluthe.symbolic.gaussian_moments "
                            "at q = 1; the recursion needs every q)")
    return {"design": design, "raw": raw}


def _pred(design: dict, a: str, i: str, d: int) -> dict:
    return select(design["meanfield"], activation=a, init=i, depth=d)[0]


def _evidence(m: dict) -> dict:
    """Everything the rule and the explanation read, from the record."""
    design, raw = m["design"], m["raw"]
    deep = max(design["depths"])
    table = {}
    for a in design["acts"]:
        for i in design["inits"]:
            e, state = ratio_cell(raw, a, i, deep)
            p = _pred(design, a, i, deep)
            table[f"{a}/{i}"] = {"log10_ratio": e.to_dict(), "state": state,
                                 "meanfield_prediction": p["meanfield"],
                                 "chi_unit_prediction": p["chi_unit"]}
    zero = [float(np.mean(s)) for s in column(raw, "zero_grad_share", activation="relu",
                                                depth=deep)]
    agree = [abs(float(np.mean(column(raw, "log10_ratio", activation=p["activation"],
                                      init=p["init"], depth=p["depth"]))) - p["meanfield"])
             <= max(0.5, 0.15 * abs(p["meanfield"])) for p in design["meanfield"]]
    var = {i: float(np.mean([v[-1] for v in column(raw, "log10_act_var", activation="relu",
                                                   init=i, depth=deep)]))
           for i in design["inits"]}
    return {"deepest_depth": deep, "at_deepest_depth": table,
            "relu_zero_grad_share": acc_est(zero, design["batch"] * design["width"] * deep)
            .to_dict(),
            "relu_states": {i: table[f"relu/{i}"]["state"] for i in design["inits"]},
            "meanfield_agreement": {"cells": len(agree), "within_tolerance": int(sum(agree)),
                                    "tolerance": "max(0.5, 0.15·|prediction|) decades"},
            "relu_log10_act_var_last_layer": var}


def _key_and_text(ev: dict, partial_pass: bool) -> tuple[str, str]:
    deep, table, relu = ev["deepest_depth"], ev["at_deepest_depth"], ev["relu_states"]
    zero, agree, var = (ev["relu_zero_grad_share"]["value"], ev["meanfield_agreement"],
                        ev["relu_log10_act_var_last_layer"])

    def r(i):
        return f"10^{table[f'relu/{i}']['log10_ratio']['value']:.1f}"

    sig = table.get("sigmoid/xavier", {}).get("log10_ratio", {}).get("value")
    key = (f"relu depth {deep}: first/last gradient {r('he')} He, {r('xavier')} Xavier, "
           f"{r('default')} default; {100 * zero:.0f}% of unit-inputs pass 0"
           + (f"; sigmoid+Xavier 10^{sig:.1f}" if sig is not None else ""))
    preserved = [i for i, s in relu.items() if s == "preserved"]
    vanish = [i for i, s in relu.items() if s == "vanishes"]
    pr = {i: table[f"relu/{i}"]["meanfield_prediction"] for i in relu}
    text = (f"At depth {deep} the first hidden layer receives {r('he')} of the last layer's "
            f"gradient under He init, {r('xavier')} under Xavier and {r('default')} under "
            f"torch's default, and {100 * zero:.0f}% of relu unit-input pairs pass exactly "
            "zero")
    only = (["only through active units"] if partial_pass else []) + \
        ([f"only under {', '.join(preserved)} init"] if preserved and vanish else [])
    if only:
        text += ": ReLU passes the gradient fully " + " and ".join(only) + ". "
    elif len(vanish) == len(relu):
        text += ": the gradient vanishes under every init tested. "
    else:
        text += ". "
    text += (f"Mean-field theory says why: with half the units cut, χ = σ_w²/2 per layer, so the "
             f"predicted decays are 10^{pr['he']:.1f} (He, σ_w² = 2), 10^{pr['xavier']:.1f} "
             f"(Xavier, σ_w² = 1) and 10^{pr['default']:.1f} (default, σ_w² = 1/3); the "
             f"prediction is within tolerance in {agree['within_tolerance']} of {agree['cells']} "
             "activation × init × depth cells.")
    text += (f" Forward, relu's activation variance at layer {deep} is "
             + ", ".join(f"10^{var[i]:.1f} ({i})" for i in relu) + ".")
    if sig is not None:
        text += (f" ReLU does vanish far less than sigmoid, whose derivative is at most 1/4 "
                 f"(sigmoid + Xavier: 10^{sig:.1f}).")
    return key, text


def decide(m: dict) -> Outcome:
    ev = _evidence(m)
    zero_e = Estimate(**ev["relu_zero_grad_share"])
    partial_pass = zero_e.has_ci and zero_e.low > ZERO_SHARE_MARGIN
    key, text = _key_and_text(ev, partial_pass)
    if too_few_seeds(m["raw"], m["design"]):
        return Outcome(Verdict.INCONCLUSIVE, key, ev,
                       f"Fewer than {MIN_SEEDS} seeds per cell: no verdict.")
    relu = ev["relu_states"]
    preserved = [i for i, s in relu.items() if s == "preserved"]
    vanish = [i for i, s in relu.items() if s == "vanishes"]
    if len(preserved) == len(relu) and not partial_pass:
        return Outcome(Verdict.SUPPORTED, key, ev, text)
    if preserved and (vanish or partial_pass):
        cond = [f"an init with σ_w² ≈ 2 (preserved only under {', '.join(preserved)})"] \
            if vanish else []
        if partial_pass:
            cond.append("the gradient passes only through active units")
        return Outcome(Verdict.PARTLY, key, ev,
                       text + " Conditions the article omits: " + "; ".join(cond) + ".")
    if len(vanish) == len(relu):
        return Outcome(Verdict.REFUTED, key, ev, text)
    return Outcome(Verdict.INCONCLUSIVE, key, ev,
                   text + " No init gives a decided outcome for relu at this depth; more seeds "
                   "or a deeper network would separate them.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    return [_plot_per_layer(m, figures_dir), _plot_vs_depth(m, figures_dir)]


def _plot_per_layer(m: dict, figures_dir: Path) -> str:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    deep = max(design["depths"])
    fig = Figure(figsize=(12, 6.4))
    axes = fig.subplots(2, len(design["inits"]), sharex=True)
    for col, i in enumerate(design["inits"]):
        for a in design["acts"]:
            g = np.mean(column(raw, "log10_grad", activation=a, init=i, depth=deep), axis=0)
            v = np.mean(column(raw, "log10_act_var", activation=a, init=i, depth=deep), axis=0)
            layers = np.arange(1, len(g) + 1)
            axes[0, col].plot(layers, g, label=a, **style(a))
            axes[0, col].plot(layers, _pred(design, a, i, deep)["layers"], color=COLORS.get(a),
                              ls=":", lw=1)
            axes[1, col].plot(layers, v, label=a, **style(a))
        axes[0, col].set_title(f"init: {i}")
        axes[1, col].set_xlabel("hidden layer")
    axes[0, 0].set_ylabel(f"log10 ‖∂L/∂z_l‖ / ‖∂L/∂z_{deep}‖")
    axes[1, 0].set_ylabel("log10 Var(activation output)")
    axes[0, 0].legend(fontsize=7, title="dotted: mean-field", title_fontsize=7)
    fig.suptitle(f"C05: gradient and activation variance per layer at init, depth {deep}, "
                 f"width {design['width']}, mean of {design['seeds']} seeds")
    fig.tight_layout()
    fig.savefig(figures_dir / "c05_gradnorm_per_layer.png", dpi=110)
    return "c05_gradnorm_per_layer.png"


def _plot_vs_depth(m: dict, figures_dir: Path) -> str:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    depths = design["depths"]
    fig = Figure(figsize=(12, 3.6))
    axes = fig.subplots(1, len(design["inits"]), sharey=True)
    for ax, i in zip(axes, design["inits"]):
        for a in design["acts"]:
            es = [ratio_cell(raw, a, i, d)[0] for d in depths]
            ax.errorbar(depths, [e.value for e in es], yerr=error_bars(es), marker="o", ms=3,
                        capsize=2, label=a, **style(a))
            ax.plot(depths, [_pred(design, a, i, d)["meanfield"] for d in depths],
                    color=COLORS.get(a), ls=":", lw=1)
        ax.axhline(-VANISH_DECADES, color="grey", lw=0.6, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_title(f"init: {i}")
        ax.set_xlabel("depth (hidden layers)")
    axes[0].set_ylabel("log10 first / last layer gradient")
    axes[0].legend(fontsize=7, title="dotted: mean-field", title_fontsize=7)
    fig.suptitle("C05: gradient reaching the first hidden layer vs depth (95% CI over seeds)")
    fig.tight_layout()
    fig.savefig(figures_dir / "c05_ratio_vs_depth.png", dpi=110)
    return "c05_ratio_vs_depth.png"
