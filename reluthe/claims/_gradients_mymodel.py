"""C17: the article's own ``MyModel`` (100-64-32-10, ``F.relu``) and its three stated purposes.

The article (§4) says the two ReLUs of ``MyModel`` serve to (1) introduce nonlinearity so the model
learns complex features, (2) use sparse activation to improve generalization and (3) keep the
gradient flowing. The class below is the article's, verbatim. It is trained on 100-long MNIST-1D
with :func:`reluthe.train.fit` and probed at init and after training: linear regions on the plane
through three training points (``reluthe.regions``), exact zeros of its activations
(``reluthe.probes.capture``) and gradient flow (``reluthe.probes.gradients``). The purposes are
judged against twins of the same 100-64-32-10 shape trained with ``train_mlps`` on the same
seeds: with no activation (a linear model) and with leaky_relu (the same two pieces, no exact
zeros).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._gradients_common import VANISH_DECADES, est, flow_state, mnist1d, pct
from reluthe.stats import compare, paired_diff_ci


class MyModel(nn.Module):
    def __init__(self):
        super(MyModel, self).__init__()  # noqa: UP008 (the article's code, verbatim)
        self.fc1 = nn.Linear(in_features=100, out_features=64)
        self.fc2 = nn.Linear(in_features=64, out_features=32)
        self.fc3 = nn.Linear(in_features=32, out_features=10)

    def forward(self, x):
        x = F.relu(self.fc1(x))  # 在第一个全连接层使用ReLU激活函数
        x = F.relu(self.fc2(x))  # 在第二个全连接层使用ReLU激活函数
        x = self.fc3(x)
        return x


NONLINEAR_MARGIN = 0.02
SPARSE_MARGIN = 0.01
SPARSE_MIN = 0.2  # share of exact zeros that counts as sparse


def _config(quick: bool) -> dict:
    if quick:
        return {"seeds": 3, "steps": 60, "probe_batch": 128}
    return {"seeds": 5, "steps": 600, "probe_batch": 512}


def build_mymodel(seed: int) -> MyModel:
    """The article's MyModel, initialised by torch's own rule from a forked, seeded RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MyModel()


def _pairs(model: MyModel) -> list:
    return [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy())
            for lin in (model.fc1, model.fc2, model.fc3)]


def _probe(model, x, y, plane) -> dict:
    from reluthe import regions
    from reluthe.probes.capture import capture_activations
    from reluthe.probes.gradients import gradient_flow

    caps = capture_activations(model, x)
    flow = gradient_flow(model, x, y)
    res = regions.count_on_plane(_pairs(model), *plane)
    return {"zero_share": [float((c.output == 0).double().mean()) for c in caps],
            "dead_units": [float((c.output == 0).all(0).double().mean()) for c in caps],
            "captured": [c.name for c in caps],
            "log10_grad_ratio": flow.log10_ratio(),
            "zero_grad_share": flow.zero_grad_share.tolist(),
            "weight_grad_norm": flow.weight_grad_norm.tolist(),
            "regions": int(res.count), "linear_regions": int(res.linear_count)}


def measure_c17(ctx) -> dict:
    from reluthe import regions
    from reluthe.train import Recipe, fit, train_mlps

    cfg = _config(ctx.quick)
    ds = mnist1d(ctx, length=100)
    seeds = [ctx.seed + i for i in range(cfg["seeds"])]
    recipe = Recipe(optimizer="adam", lr=1e-3, batch_size=128, steps=cfg["steps"],
                    eval_every=cfg["steps"])
    gen = torch.Generator().manual_seed(ctx.seed)
    pick = torch.randperm(len(ds.x_train), generator=gen)[:3]
    plane = regions.plane_through(*(ds.x_train[i] for i in pick))
    xp, yp = ds.x_test[:cfg["probe_batch"]], ds.y_test[:cfg["probe_batch"]]
    runs = []
    for s in seeds:
        model = build_mymodel(s)
        before = _probe(model, xp, yp, plane)
        res = fit(model, ds, recipe, seed=s)
        after = _probe(res.model, xp, yp, plane)
        runs.append({"seed": s, "init": before, "trained": after,
                     "test_acc": float(res.test_acc[-1]), "train_acc": float(res.train_acc[-1])})
        ctx.log(f"C17: MyModel seed {s}: test acc {res.test_acc[-1]:.3f}")
    twins = {}
    for act in ("relu", "identity", "leaky_relu"):
        r = train_mlps(ds, [100, 64, 32, 10], seeds=seeds, recipes=recipe, activation=act)
        twins[act] = {"test_acc": r.test_acc[:, -1].tolist(),
                      "train_acc": r.train_acc[:, -1].tolist()}
    return {"config": cfg, "base_seed": ctx.seed, "dataset": "mnist1d length=100",
            "recipe": recipe.to_dict(), "plane_points": pick.tolist(), "runs": runs,
            "twins": twins}


RULE_C17 = (
    "The article's MyModel (its code verbatim) is trained on 100-long MNIST-1D (Adam, lr 1e-3, "
    "batch 128, 600 steps, 5 seeds) and probed at init and after training on 512 test inputs. "
    "(1) Nonlinearity: its activation regions on the plane through 3 training points (a linear "
    "model has 1), and relu − linear twin test accuracy (same 100-64-32-10 shape, no "
    "activation, same initial weights and batch order per seed: paired t CI, margin "
    f"{NONLINEAR_MARGIN}); supported if the median region count "
    "is > 1 and the twin comparison is 'greater'. (2) Sparsity for generalization: the share "
    f"of exact zeros in its activations after training (sparse if ≥ {SPARSE_MIN}) and relu − "
    f"leaky_relu twin test accuracy (same pieces without exact zeros; paired, margin "
    f"{SPARSE_MARGIN}); "
    "supported if sparse and 'greater', refuted if 'tie' or 'less' (sparse, but no "
    "generalization gain over the non-sparse twin). (3) Gradient flow: log10(‖∂L/∂z_1‖ / "
    f"‖∂L/∂z_2‖) with its t CI within ±{VANISH_DECADES:g} at init and after training. "
    "SUPPORTED if all three purposes are supported; PARTLY if some are; REFUTED if none is and "
    "one is refuted; INCONCLUSIVE otherwise or with fewer than 2 seeds."
)


def _points(e) -> str:
    """An accuracy difference in percentage points with its interval."""
    if not e.has_ci:
        return f"{100 * e.value:+.1f} points (no CI)"
    return f"{100 * e.value:+.1f} points [{100 * e.low:.1f}, {100 * e.high:.1f}]"


def decide_c17(m: dict) -> Outcome:
    runs, tw = m["runs"], m["twins"]
    reg_init = [r["init"]["regions"] for r in runs]
    reg = [r["trained"]["regions"] for r in runs]
    d_lin = paired_diff_ci(tw["relu"]["test_acc"], tw["identity"]["test_acc"])
    d_leaky = paired_diff_ci(tw["relu"]["test_acc"], tw["leaky_relu"]["test_acc"])
    c_lin, c_leaky = compare(d_lin, NONLINEAR_MARGIN), compare(d_leaky, SPARSE_MARGIN)
    zero_init = est([np.mean(r["init"]["zero_share"]) for r in runs])
    zero = est([np.mean(r["trained"]["zero_share"]) for r in runs])
    g_init = est([r["init"]["log10_grad_ratio"] for r in runs])
    g = est([r["trained"]["log10_grad_ratio"] for r in runs])
    zg = est([np.mean(r["trained"]["zero_grad_share"]) for r in runs])
    acc = est([r["test_acc"] for r in runs])

    p1 = ("supported" if np.median(reg) > 1 and c_lin == "greater" else
          "refuted" if np.median(reg) <= 1 or c_lin in ("tie", "less") else "unclear")
    sparse = zero.value >= SPARSE_MIN
    p2 = ("supported" if sparse and c_leaky == "greater" else
          "refuted" if not sparse or c_leaky in ("tie", "less") else "unclear")
    states = (flow_state(g_init), flow_state(g))
    p3 = ("supported" if states == ("preserved", "preserved") else
          "refuted" if "vanishes" in states or "explodes" in states else "unclear")
    purposes = {"nonlinearity": p1, "sparsity_generalization": p2, "gradient_flow": p3}
    evidence = {
        "mymodel_test_acc": acc.to_dict(),
        "regions_on_plane": {"init_median": float(np.median(reg_init)),
                             "trained_median": float(np.median(reg)),
                             "trained_per_seed": reg},
        "twin_test_acc": {k: est(v["test_acc"]).to_dict() for k, v in tw.items()},
        "relu_minus_linear_twin": d_lin.to_dict(), "relu_minus_leaky_twin": d_leaky.to_dict(),
        "zero_share_init": zero_init.to_dict(), "zero_share_trained": zero.to_dict(),
        "zero_share_per_layer_trained": np.mean([r["trained"]["zero_share"] for r in runs],
                                                axis=0).tolist(),
        "dead_units_trained": np.mean([r["trained"]["dead_units"] for r in runs],
                                      axis=0).tolist(),
        "log10_grad_ratio_init": g_init.to_dict(), "log10_grad_ratio_trained": g.to_dict(),
        "zero_grad_share_trained": zg.to_dict(), "purposes": purposes,
        # torch's global RNG and reluthe's generator draw the same default init for one seed,
        # so MyModel and the relu twin should train identically: a check of both code paths
        "mymodel_vs_relu_twin_max_acc_diff": float(np.max(np.abs(
            np.asarray([r["test_acc"] for r in runs]) - np.asarray(tw["relu"]["test_acc"])))),
    }
    key = (f"MyModel {pct(acc)} test acc; (1) {np.median(reg):.0f} regions on a 3-point plane, "
           f"relu − linear twin {100 * d_lin.value:+.1f}pt; (2) {100 * zero.value:.0f}% zeros, "
           f"relu − leaky twin {100 * d_leaky.value:+.1f}pt; (3) δ1/δ2 10^{g.value:.2f}")
    text = (f"(1) Nonlinearity — {p1}: after training MyModel has a median of {np.median(reg):.0f} "
            f"activation regions on the plane through three training points (at init "
            f"{np.median(reg_init):.0f}), and relu − linear twin test accuracy is "
            f"{_points(d_lin)} ({c_lin}). (2) Sparsity — {p2}: "
            f"{pct(zero)} of its activations are exactly zero after training ({pct(zero_init)} at "
            f"init), but relu − leaky_relu twin test accuracy is {_points(d_leaky)} "
            f"({c_leaky}). "
            f"(3) Gradient flow — {p3}: with two hidden layers the first receives 10^"
            f"{g_init.value:.2f} of the second's gradient at init and 10^{g.value:.2f} after "
            f"training, while {pct(zg)} of unit-inputs pass zero gradient.")
    if any(not e.has_ci for e in (acc, d_lin, d_leaky, g, g_init)):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Fewer than two seeds: no confidence interval, no verdict.")
    vals = list(purposes.values())
    if all(v == "supported" for v in vals):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if "supported" in vals:
        return Outcome(Verdict.PARTLY, key, evidence, text + " Not borne out: " + ", ".join(
            k.replace("_", " ") for k, v in purposes.items() if v != "supported") + ".")
    if "refuted" in vals:
        return Outcome(Verdict.REFUTED, key, evidence, text)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence, text)


def plot_c17(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    runs, tw = m["runs"], m["twins"]
    fig = Figure(figsize=(12, 3.6))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    layers = np.arange(len(runs[0]["init"]["zero_share"]))
    for k, stage in enumerate(("init", "trained")):
        z = np.array([r[stage]["zero_share"] for r in runs])
        ax1.bar(layers + 0.4 * k, z.mean(0), 0.4, yerr=z.std(0), capsize=2, label=stage)
    ax1.set_xticks(layers + 0.2, [f"F.relu #{i + 1}" for i in layers])
    ax1.set_ylabel("share of exact zeros (test inputs)")
    ax1.legend(fontsize=7)
    ax1.set_title("sparsity", fontsize=9)
    labels = ["MyModel", "relu twin", "linear twin", "leaky twin"]
    vals = [[r["test_acc"] for r in runs]] + [tw[k]["test_acc"]
                                              for k in ("relu", "identity", "leaky_relu")]
    es = [est(v) for v in vals]
    ax2.bar(range(4), [e.value for e in es],
            yerr=[[e.value - e.low if e.has_ci else 0 for e in es],
                  [e.high - e.value if e.has_ci else 0 for e in es]], capsize=3,
            color=["C0", "C0", "C7", "C1"])
    ax2.set_xticks(range(4), labels, fontsize=8)
    ax2.set_ylabel("test accuracy (95% CI)")
    ax2.set_title("nonlinearity and sparsity vs twins", fontsize=9)
    for k, stage in enumerate(("init", "trained")):
        ax3.bar([k], [np.median([r[stage]["regions"] for r in runs])], 0.6, color=f"C{k}")
    ax3.set_xticks([0, 1], ["init", "trained"])
    ax3.set_ylabel("activation regions (median over seeds)")
    ax3.set_title("regions on the plane through 3 training points", fontsize=9)
    fig.suptitle("C17: the article's MyModel on 100-long MNIST-1D")
    fig.tight_layout()
    fig.savefig(figures_dir / "c17_mymodel.png", dpi=110)
    return ["c17_mymodel.png"]
