"""C05: ReLU's derivative of 1 passes the gradient fully and avoids vanishing gradients.

The article (§2.2.2): ReLU's derivative is 1 for positive inputs, so the gradient passes back to
the previous layer in full and deep networks escape the vanishing gradient. Two statements,
judged separately (``_flow``): (a) the mechanism, exact on real networks: on every active entry
(input × unit, z > 0) of every ReLU layer ``∂L/∂z`` equals ``∂L/∂a``, and on inactive entries it
is 0; (b) the consequence, per init (torch's default, He, Xavier): does the gradient reaching the
first hidden layer, relative to the last, stay above 1/10 at the deepest depth, and does ReLU
keep more of it than tanh and sigmoid on the same weights? Measured at initialisation on MNIST-1D
batches, 4 activations × 3 inits × depths {2, 8, 32} (``--full``: 6 activations, depths 2 to 32),
with beside each cell the mean-field prediction ``½ Σ log10 χ_l``, ``χ = σ_w² E[f'(z)²]``,
which says why the init decides (b): for ReLU ``E[f'²] = ½``, so χ = σ_w²/2.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from reluthe.claims._base import Outcome
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    COLORS,
    VANISH_DECADES,
    acc_est,
    error_bars,
    style,
)
from reluthe.claims.gradients._flow import (
    INITS,
    cell_est,
    consequence,
    consequence_text,
    excluded,
    flow_design,
    flow_outcome,
    flow_rows,
    mechanism,
    mechanism_text,
    probe_batches,
    rule_parts,
    verdict_of,
)
from reluthe.claims.gradients._meanfield import (
    expect_fprime_sq,
    init_variances,
    meanfield_profile,
    predicted_log10_ratio,
)

ACTS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid")
MEANFIELD_TOLERANCE = "max(0.5, 0.15·|prediction|) decades"


def _config(ctx) -> dict:
    """The grid: quick (tests), default, or ``--full`` (6 activations, 5 depths, 5 model seeds)."""
    base = {"inits": list(INITS), "n_data_seeds": 3, "n_model_seeds": 3, "width": 128,
            "batch": 128}
    if ctx.quick:
        return {**base, "acts": ["relu", "tanh", "sigmoid"], "depths": [2, 6], "width": 32,
                "batch": 64}
    if ctx.full:
        return {**base, "acts": list(ACTS), "depths": [2, 4, 8, 16, 32], "n_model_seeds": 5}
    return {**base, "acts": ["relu", "leaky_relu", "tanh", "sigmoid"], "depths": [2, 8, 32]}


RULE = (
    "Measured at initialisation on MNIST-1D, width 128, activations relu, leaky_relu, tanh, "
    "sigmoid × inits torch default, He, Xavier × depths {2, 8, 32} (--full: also elu, gelu and "
    "depths 4, 16; 5 model seeds per data seed). "
    + rule_parts({"n_data_seeds": 3, "n_model_seeds": 3, "batch": 128}, 32)
    + " Beside each cell the mean-field prediction ½ Σ log10 χ_l (χ = σ_w² E[f'(z)²], "
    "z ~ N(0, q_l)) is reported with its agreement with the measured mean (within "
    f"{MEANFIELD_TOLERANCE}); it explains, it does not decide."
)


def _q1(init: str, x, width: int) -> float:
    """Mean square of the first hidden layer's pre-activations predicted from the data."""
    s2, b2 = init_variances(init, x.shape[1], width)
    return s2 / x.shape[1] * float((x.double() ** 2).sum(1).mean()) + b2


def _meanfield(design: dict, x) -> list[dict]:
    """Mean-field predictions of every (activation, init, depth) cell for the inputs ``x``."""
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
    """Rows: one per (activation, init, depth, data seed, model seed) with its gradient ratio,
    per-layer gradients, zero-gradient shares, activation variances, local gains and mechanism
    counts; design: the grid, the nested seeds and the mean-field predictions."""
    design = flow_design(ctx, _config(ctx))
    n = (len(design["acts"]) * len(design["inits"]) * len(design["depths"])
         * len(design["model_seeds"]))
    ctx.log(f"C05: gradient flow of {n} networks")
    raw = flow_rows(ctx, design)
    x = torch.cat([b[2] for b in probe_batches(design)])
    design["meanfield"] = _meanfield(design, x)
    design["quadrature"] = ("scipy.integrate.quad (agrees with reluthe.symbolic.gaussian_moments "
                            "at q = 1; the recursion needs every q); q_1 from the pooled batches")
    return {"design": design, "raw": raw}


def _pred(design: dict, a: str, i: str, d: int) -> dict:
    return select(design["meanfield"], activation=a, init=i, depth=d)[0]


def _agreement(m: dict) -> dict:
    """How many cells' measured mean lies within tolerance of the mean-field prediction."""
    ok = []
    for p in m["design"]["meanfield"]:
        e = cell_est(m["raw"], p["activation"], p["init"], p["depth"])
        ok.append(abs(e.value - p["meanfield"]) <= max(0.5, 0.15 * abs(p["meanfield"])))
    return {"cells": len(ok), "within_tolerance": int(sum(ok)), "tolerance": MEANFIELD_TOLERANCE}


def _evidence(m: dict) -> dict:
    """Everything the rule and the explanation read, from the record."""
    design, raw = m["design"], m["raw"]
    deep = max(design["depths"])
    table = {f"{a}/{i}": {"log10_ratio": cell_est(raw, a, i, deep).to_dict(),
                          "meanfield_prediction": _pred(design, a, i, deep)["meanfield"],
                          "chi_unit_prediction": _pred(design, a, i, deep)["chi_unit"]}
             for a in design["acts"] for i in design["inits"]}
    zero = [float(np.mean(s)) for s in column(raw, "zero_grad_share", activation="relu",
                                                depth=deep)]
    var = {i: float(np.mean([v[-1] for v in column(raw, "log10_act_var", activation="relu",
                                                   init=i, depth=deep)]))
           for i in design["inits"]}
    cons = consequence(raw, design, deep)
    return {"deepest_depth": deep, "mechanism": mechanism(raw), "consequence": cons,
            "relu_states": {i: c["state"] for i, c in cons.items()},
            "at_deepest_depth": table,
            "relu_zero_grad_share": acc_est(zero, design["batch"] * design["width"] * deep)
            .to_dict(),
            "meanfield_agreement": _agreement(m), "excluded_networks": excluded(raw),
            "relu_log10_act_var_last_layer": var}


def _key(ev: dict, holds: list[str]) -> str:
    c, mech = ev["consequence"], ev["mechanism"]
    r = ", ".join(f"{i} 10^{c[i]['relu_log10_ratio']['value']:.1f}" for i in c)
    return (f"active relu entries passing ∂L/∂a unchanged: "
            f"{100 * mech['share_pos_unchanged']['relu']:.0f}%; relu depth "
            f"{ev['deepest_depth']} first/last gradient {r}; no vanishing under: "
            + (", ".join(holds) or "no init"))


def _text(ev: dict, holds: list[str]) -> str:
    deep, agree = ev["deepest_depth"], ev["meanfield_agreement"]
    table, var = ev["at_deepest_depth"], ev["relu_log10_act_var_last_layer"]
    pr = {i: table[f"relu/{i}"]["meanfield_prediction"] for i in ev["consequence"]}
    text = (mechanism_text(ev["mechanism"]) + " " + consequence_text(ev["consequence"], deep)
            + " The consequence holds under " + (", ".join(holds) or "no init tested") + ". ")
    text += ("Mean-field theory says why: with half the units cut, χ = σ_w²/2 per layer, so "
             "the predicted relu decays are "
             + ", ".join(f"10^{v:.1f} ({i})" for i, v in pr.items())
             + f" (σ_w² = 1/3 default, 2 He, 1 Xavier); the prediction is within tolerance in "
             f"{agree['within_tolerance']} of {agree['cells']} activation × init × depth cells. "
             f"Forward, relu's activation variance at layer {deep} is "
             + ", ".join(f"10^{v:.1f} ({i})" for i, v in var.items()) + ".")
    if ev["excluded_networks"]:
        text += f" Excluded (non-finite gradient ratio): {ev['excluded_networks']}."
    return text


def decide(m: dict) -> Outcome:
    ev = _evidence(m)
    verdict, holds = verdict_of(ev["mechanism"]["state"], ev["relu_states"])
    key = _key(ev, holds)
    return flow_outcome(verdict, key, ev, m["raw"], m["design"], lambda: _text(ev, holds))


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
                 f"width {design['width']}, mean of {len(design['model_seeds'])} networks")
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
            es = [cell_est(raw, a, i, d) for d in depths]
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
    fig.suptitle("C05: gradient reaching the first hidden layer vs depth (95% CI over data seeds)")
    fig.tight_layout()
    fig.savefig(figures_dir / "c05_ratio_vs_depth.png", dpi=110)
    return "c05_ratio_vs_depth.png"
