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
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    MIN_SEEDS,
    VANISH_DECADES,
    acc_est,
    data_seed,
    error_bars,
    est,
    flow_state,
    mnist1d,
    pct,
    share_est,
)
from reluthe.stats import Estimate, compare, paired_diff_ci


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
TWINS = ("relu", "identity", "leaky_relu")
STAGES = ("init", "trained")

RULE = (
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
    f"one is refuted; INCONCLUSIVE otherwise or with fewer than {MIN_SEEDS} seeds. Reported "
    "beside it: test accuracies with a 95 % interval inside [0, 1] (Wilson's on the effective "
    "number of test examples, stats.accuracy_ci) and shares of zeros (mean over seeds of the "
    "mean over the two layers) with a percentile bootstrap interval over seeds."
)


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


def _probe(model, x, y, plane, stage: str) -> dict:
    """Sparsity, gradient flow and regions of ``model`` (on CPU), as fields ``<stage>_...``."""
    from reluthe import regions
    from reluthe.probes.capture import capture_activations
    from reluthe.probes.gradients import gradient_flow

    caps = capture_activations(model, x)
    flow = gradient_flow(model, x, y)
    res = regions.count_on_plane(_pairs(model), *plane)
    fields = {"zero_share": [float((c.output == 0).double().mean()) for c in caps],
              "dead_units": [float((c.output == 0).all(0).double().mean()) for c in caps],
              "captured": [c.name for c in caps],
              "log10_grad_ratio": flow.log10_ratio(),
              "zero_grad_share": flow.zero_grad_share.tolist(),
              "weight_grad_norm": flow.weight_grad_norm.tolist(),
              "regions": int(res.count), "linear_regions": int(res.linear_count)}
    return {f"{stage}_{k}": v for k, v in fields.items()}


def _design(ctx) -> dict:
    from reluthe.train import Recipe

    cfg = _config(ctx.quick)
    recipe = Recipe(optimizer="adam", lr=1e-3, batch_size=128, steps=cfg["steps"],
                    eval_every=cfg["steps"])
    return {**cfg, "model_seeds": ctx.seeds("model", cfg["seeds"]), "data_seed": data_seed(ctx),
            "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
            "plane_seed": ctx.seeds("probe", 1)[0], "dataset": "mnist1d length=100",
            "recipe": recipe.to_dict(), "device": ctx.device,
            "device_note": "training runs on the run's device; the probes run on CPU"}


def measure(ctx) -> dict:
    """Rows of two kinds: ``mymodel`` (per seed: accuracy and probes at ``init_`` and
    ``trained_``) and ``twin`` (per activation and seed: accuracy)."""
    from reluthe import regions
    from reluthe.train import Recipe, fit, train_mlps

    design = _design(ctx)
    ds = mnist1d(design["data_seed"], length=100)
    design["n_test"] = {design["dataset"]: int(len(ds.x_test))}
    recipe = Recipe(**design["recipe"])
    gen = torch.Generator().manual_seed(design["plane_seed"])
    pick = torch.randperm(len(ds.x_train), generator=gen)[:3]
    design["plane_points"] = pick.tolist()
    plane = regions.plane_through(*(ds.x_train[i] for i in pick))
    xp, yp = ds.x_test[:design["probe_batch"]], ds.y_test[:design["probe_batch"]]
    raw = []
    for s in design["model_seeds"]:
        model = build_mymodel(s)
        before = _probe(model, xp, yp, plane, "init")
        res = fit(model, ds, recipe, seed=s, device=ctx.device)
        after = _probe(res.model.to("cpu"), xp, yp, plane, "trained")
        raw.append({"seed": s, "kind": "mymodel", **before, **after,
                    "test_acc": float(res.test_acc[-1]), "train_acc": float(res.train_acc[-1])})
        ctx.log(f"C17: MyModel seed {s}: test acc {res.test_acc[-1]:.3f}")
    for act in TWINS:
        r = train_mlps(ds, [100, 64, 32, 10], seeds=design["model_seeds"], recipes=recipe,
                       activation=act, device=ctx.device)
        raw += [{"seed": s, "kind": "twin", "activation": act,
                 "test_acc": float(r.test_acc[k, -1]), "train_acc": float(r.train_acc[k, -1])}
                for k, s in enumerate(design["model_seeds"])]
    return {"design": design, "raw": raw}


def _points(e) -> str:
    """An accuracy difference in percentage points with its interval."""
    if not e.has_ci:
        return f"{100 * e.value:+.1f} points (no CI)"
    return f"{100 * e.value:+.1f} points [{100 * e.low:.1f}, {100 * e.high:.1f}]"


def _mine(raw: list[dict], field: str) -> list:
    """``field`` of every MyModel seed."""
    return column(raw, field, kind="mymodel")


def _twin(raw: list[dict], act: str) -> list:
    return column(raw, "test_acc", kind="twin", activation=act)


def _purposes(m: dict) -> dict:
    """The three purposes' outcomes and the estimates they rest on."""
    raw = m["raw"]
    reg = _mine(raw, "trained_regions")
    d_lin = paired_diff_ci(_twin(raw, "relu"), _twin(raw, "identity"))
    d_leaky = paired_diff_ci(_twin(raw, "relu"), _twin(raw, "leaky_relu"))
    c_lin, c_leaky = compare(d_lin, NONLINEAR_MARGIN), compare(d_leaky, SPARSE_MARGIN)
    zero = share_est([np.mean(z) for z in _mine(raw, "trained_zero_share")],
                     m["design"]["bootstrap_seed"])
    g_init = est(_mine(raw, "init_log10_grad_ratio"))
    g = est(_mine(raw, "trained_log10_grad_ratio"))
    p1 = ("supported" if np.median(reg) > 1 and c_lin == "greater" else
          "refuted" if np.median(reg) <= 1 or c_lin in ("tie", "less") else "unclear")
    sparse = zero.value >= SPARSE_MIN
    p2 = ("supported" if sparse and c_leaky == "greater" else
          "refuted" if not sparse or c_leaky in ("tie", "less") else "unclear")
    states = (flow_state(g_init), flow_state(g))
    p3 = ("supported" if states == ("preserved", "preserved") else
          "refuted" if "vanishes" in states or "explodes" in states else "unclear")
    return {"d_lin": d_lin, "d_leaky": d_leaky, "c_lin": c_lin, "c_leaky": c_leaky,
            "zero": zero, "g_init": g_init, "g": g,
            "purposes": {"nonlinearity": p1, "sparsity_generalization": p2, "gradient_flow": p3}}


def _n_test(design: dict) -> int:
    """Test examples behind each per-seed accuracy."""
    return design["n_test"][design["dataset"]]


def _evidence(m: dict, p: dict) -> dict:
    raw, design = m["raw"], m["design"]
    reg = _mine(raw, "trained_regions")
    mine_acc = np.asarray(_mine(raw, "test_acc"))
    n_test, boot = _n_test(design), design["bootstrap_seed"]
    return {
        "mymodel_test_acc": acc_est(mine_acc, n_test).to_dict(),
        "regions_on_plane": {"init_median": float(np.median(_mine(raw, "init_regions"))),
                             "trained_median": float(np.median(reg)),
                             "trained_per_seed": reg},
        "twin_test_acc": {a: acc_est(_twin(raw, a), n_test).to_dict() for a in TWINS},
        "relu_minus_linear_twin": p["d_lin"].to_dict(),
        "relu_minus_leaky_twin": p["d_leaky"].to_dict(),
        "zero_share_init": share_est([np.mean(z) for z in _mine(raw, "init_zero_share")],
                                     boot).to_dict(),
        "zero_share_trained": p["zero"].to_dict(),
        "zero_share_per_layer_trained": np.mean(_mine(raw, "trained_zero_share"),
                                                axis=0).tolist(),
        "dead_units_trained": np.mean(_mine(raw, "trained_dead_units"), axis=0).tolist(),
        "log10_grad_ratio_init": p["g_init"].to_dict(),
        "log10_grad_ratio_trained": p["g"].to_dict(),
        "zero_grad_share_trained": share_est([np.mean(z) for z in _mine(
            raw, "trained_zero_grad_share")], boot).to_dict(),
        "purposes": p["purposes"],
        # torch's global RNG and reluthe's generator draw the same default init for one seed,
        # so MyModel and the relu twin should train identically: a check of both code paths
        "mymodel_vs_relu_twin_max_acc_diff": float(np.max(np.abs(
            mine_acc - np.asarray(_twin(raw, "relu"))))),
    }


def _key_and_text(p: dict, ev: dict) -> tuple[str, str]:
    p1, p2, p3 = p["purposes"].values()
    reg, reg_init = ev["regions_on_plane"]["trained_median"], ev["regions_on_plane"]["init_median"]
    zero, g_init, g = p["zero"], p["g_init"], p["g"]
    key = (f"MyModel {pct(ev['mymodel_test_acc'])} test acc; (1) {reg:.0f} regions on a 3-point "
           f"plane, relu − linear twin {100 * p['d_lin'].value:+.1f}pt; (2) "
           f"{100 * zero.value:.0f}% zeros, relu − leaky twin {100 * p['d_leaky'].value:+.1f}pt; "
           f"(3) δ1/δ2 10^{g.value:.2f}")
    text = (f"(1) Nonlinearity — {p1}: after training MyModel has a median of {reg:.0f} "
            f"activation regions on the plane through three training points (at init "
            f"{reg_init:.0f}), and relu − linear twin test accuracy is "
            f"{_points(p['d_lin'])} ({p['c_lin']}). (2) Sparsity — {p2}: "
            f"{pct(zero)} of its activations are exactly zero after training "
            f"({pct(ev['zero_share_init'])} at init), but relu − leaky_relu twin test accuracy "
            f"is {_points(p['d_leaky'])} ({p['c_leaky']}). "
            f"(3) Gradient flow — {p3}: with two hidden layers the first receives 10^"
            f"{g_init.value:.2f} of the second's gradient at init and 10^{g.value:.2f} after "
            f"training, while {pct(ev['zero_grad_share_trained'])} of unit-inputs pass zero "
            "gradient.")
    return key, text


def decide(m: dict) -> Outcome:
    p = _purposes(m)
    evidence = _evidence(m, p)
    key, text = _key_and_text(p, evidence)
    acc = Estimate(**evidence["mymodel_test_acc"])
    if acc.n < MIN_SEEDS or any(not e.has_ci for e in (acc, p["d_lin"], p["d_leaky"], p["g"],
                                                       p["g_init"])):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds: no verdict.")
    purposes = p["purposes"]
    vals = list(purposes.values())
    if all(v == "supported" for v in vals):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if "supported" in vals:
        return Outcome(Verdict.PARTLY, key, evidence, text + " Not borne out: " + ", ".join(
            k.replace("_", " ") for k, v in purposes.items() if v != "supported") + ".")
    if "refuted" in vals:
        return Outcome(Verdict.REFUTED, key, evidence, text)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence, text)


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    raw = m["raw"]
    fig = Figure(figsize=(12, 3.6))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    layers = np.arange(len(select(raw, kind="mymodel")[0]["init_zero_share"]))
    for k, stage in enumerate(STAGES):
        z = np.array(_mine(raw, f"{stage}_zero_share"))
        ax1.bar(layers + 0.4 * k, z.mean(0), 0.4, yerr=z.std(0), capsize=2, label=stage)
    ax1.set_xticks(layers + 0.2, [f"F.relu #{i + 1}" for i in layers])
    ax1.set_ylabel("share of exact zeros (test inputs)")
    ax1.legend(fontsize=7)
    ax1.set_title("sparsity", fontsize=9)
    labels = ["MyModel", "relu twin", "linear twin", "leaky twin"]
    n_test = _n_test(m["design"])
    es = [acc_est(_mine(raw, "test_acc"), n_test)] + [acc_est(_twin(raw, a), n_test)
                                                      for a in TWINS]
    ax2.bar(range(4), [e.value for e in es], yerr=error_bars(es), capsize=3,
            color=["C0", "C0", "C7", "C1"])
    ax2.set_xticks(range(4), labels, fontsize=8)
    ax2.set_ylabel("test accuracy (95% CI)")
    ax2.set_title("nonlinearity and sparsity vs twins", fontsize=9)
    for k, stage in enumerate(STAGES):
        ax3.bar([k], [np.median(_mine(raw, f"{stage}_regions"))], 0.6, color=f"C{k}")
    ax3.set_xticks([0, 1], list(STAGES))
    ax3.set_ylabel("activation regions (median over seeds)")
    ax3.set_title("regions on the plane through 3 training points", fontsize=9)
    fig.suptitle("C17: the article's MyModel on 100-long MNIST-1D")
    fig.tight_layout()
    fig.savefig(figures_dir / "c17_mymodel.png", dpi=110)
    return ["c17_mymodel.png"]
