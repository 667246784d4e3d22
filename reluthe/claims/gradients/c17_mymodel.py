"""C17: the article's own ``MyModel`` (100-64-32-10, ``F.relu``) and its three stated purposes.

The article (§4) says the two ReLUs of ``MyModel`` serve to (1) introduce nonlinearity so the model
learns complex features, (2) use sparse activation to improve generalization and (3) keep the
gradient flowing, avoiding vanishing gradients. Each purpose is a comparison with a twin of the
same 100-64-32-10 shape that lacks the property, trained on 100-long MNIST-1D on the same data
seeds, initial weights and batch order (``reluthe.train.train_mlps``), each arm with its own
learning rate chosen on the validation split (``reluthe.protocol.select_lr``) and read at its
best-validation checkpoint:

1. nonlinearity: the linear twin (no activation), and the activation regions of MyModel on the
   plane through three training points (a linear model has one);
2. sparsity: leaky-ReLU twins with slopes 0.1 and 0.3, the same two pieces without exact zeros.
   A slope of 0.01 would be the same network as ReLU to within noise (the old twin), so the
   comparison could never fail to be a tie; the rule checks that each twin really fills in the
   zeros (the share of its activation mass on the negative side) before reading its accuracy;
3. gradient flow: with two hidden layers no activation makes the gradient vanish, so "within one
   decade" alone is always true. The rule asks, in addition, whether ReLU passes more gradient to
   the first layer than the saturating activations it displaced (sigmoid, tanh), on the same
   initial weights and batch.

The class below is the article's, verbatim. It is checked to start from the relu twin's initial
weights, loaded with the twin's trained weights and probed at init and after training: linear
regions (``reluthe.regions``), exact zeros of its activations (``reluthe.probes.capture``) and
gradient flow (``reluthe.probes.gradients``).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.gradients._common import (
    MIN_SEEDS,
    VANISH_DECADES,
    acc_est,
    error_bars,
    flow_state,
    mnist1d,
    pct,
    share_est,
)
from reluthe.stats import Estimate, compare, family_ci, paired_diff_ci


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


WIDTHS = (100, 64, 32, 10)
NONLINEAR_MARGIN = 0.02  # accuracy, relu − linear twin
SPARSE_MARGIN = 0.01  # accuracy, relu − leaky twin
SPARSE_MIN = 0.2  # share of exact zeros that counts as sparse
DENSE_MIN = 0.05  # share of a leaky twin's activation mass on the negative side: zeros filled in
GRAD_MARGIN = 0.1  # decades of the first-to-second layer gradient ratio, relu − saturating twin
# arm -> (activation, parameters, words)
ARMS = {"relu": ("relu", None, "ReLU (MyModel)"),
        "linear": ("identity", None, "linear (no activation)"),
        "leaky_0.1": ("leaky_relu", {"alpha": 0.1}, "leaky ReLU, slope 0.1"),
        "leaky_0.3": ("leaky_relu", {"alpha": 0.3}, "leaky ReLU, slope 0.3")}
LEAKY = ("leaky_0.1", "leaky_0.3")
SATURATING = ("sigmoid", "tanh")
STAGES = ("init", "trained")

RULE = (
    "The article's MyModel (its code verbatim, 100-64-32-10) and twins of its shape are trained "
    "on 100-long MNIST-1D (Adam, batch 128; 3 data seeds × 3 model seeds by default; every arm "
    "shares the initial weights and batch order of a seed). Each arm's learning rate is chosen "
    "per data seed on the validation split (best mean validation accuracy over the model seeds, "
    "from the design's grid) and test accuracy is read at each run's best-validation checkpoint. "
    "A (data seed, model seed) cell in which any arm's run diverged (non-finite loss) is named "
    "and dropped from every comparison. Every comparison is a paired difference per cell, "
    "averaged over the model seeds of each data seed, with a paired t interval over data seeds "
    "(Bonferroni within a purpose's family; compare(): 'greater' if the interval lies above "
    "+margin, 'tie' inside ±margin, 'less' below −margin). "
    "(1) Nonlinearity: supported if MyModel's median number of activation regions on the plane "
    "through 3 training points after training is > 1 and relu − linear twin test accuracy is "
    f"'greater' (margin {NONLINEAR_MARGIN}); refuted if the median is ≤ 1 or the comparison is "
    "'tie' or 'less'. "
    "(2) Sparsity for generalization: a leaky twin (slopes 0.1 and 0.3, family of 2) tests the "
    "purpose only if it measurably fills in ReLU's zeros: the lower end of the bootstrap "
    f"interval of its share of activation mass on the negative side is ≥ {DENSE_MIN}. "
    f"Refuted if MyModel's trained share of exact zeros is < {SPARSE_MIN} (not sparse); "
    "otherwise, over the twins that test it, supported if both test it and relu − leaky test "
    f"accuracy is 'greater' (margin {SPARSE_MARGIN}) for both, refuted if every one that tests "
    "it is 'tie' or 'less'. "
    "(3) Gradient flow: the log10 ratio of the first to the second hidden layer's "
    f"pre-activation gradient norm of MyModel, at init and after training, is preserved if its "
    f"interval lies within ±{VANISH_DECADES:g} decade; the relu − sigmoid and relu − tanh "
    "differences of that ratio at init (same weights and batch; family of 2, margin "
    f"{GRAD_MARGIN} decade) say whether ReLU passes more gradient than the saturating "
    "activations. Supported if preserved at both stages and 'greater' than both; refuted if it "
    "vanishes or explodes at a stage, or is 'tie' or 'less' against both. "
    "A purpose meeting neither condition is unclear. SUPPORTED if all three purposes are "
    "supported; PARTLY if some are; REFUTED if none is and one is refuted; INCONCLUSIVE "
    f"otherwise, or when fewer than {MIN_SEEDS} data seeds have {MIN_SEEDS} usable model seeds. "
    "Reported beside it: test accuracies with a 95 % interval inside [0, 1] (Wilson's on the "
    "effective number of test examples), the train − test gap of each arm, shares of zeros with "
    "a percentile bootstrap interval over runs, and checks that MyModel starts from the relu "
    "twin's weights and, loaded with its trained weights, computes its outputs."
)


def _config(ctx) -> dict:
    if ctx.quick:
        return {"data_seeds": 3, "model_seeds": 3, "steps": 40, "eval_every": 20,
                "lrs": [3e-3, 1e-2], "probe_batch": 128}
    if ctx.full:
        return {"data_seeds": 5, "model_seeds": 5, "steps": 1500, "eval_every": 100,
                "lrs": [1e-3, 3e-3, 1e-2, 2e-2], "probe_batch": 1000}
    return {"data_seeds": 3, "model_seeds": 3, "steps": 400, "eval_every": 100,
            "lrs": [3e-3, 1e-2, 2e-2], "probe_batch": 512}


def build_mymodel(seed: int) -> MyModel:
    """The article's MyModel, initialised by torch's own rule from a forked, seeded RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MyModel()


def _linears(model: MyModel) -> tuple[nn.Linear, ...]:
    return model.fc1, model.fc2, model.fc3


def _pairs(model: MyModel) -> list:
    return [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy())
            for lin in _linears(model)]


def _probe(model, x, y, stage: str, plane=None) -> dict:
    """Sparsity and gradient flow of ``model`` (on CPU), and its regions on ``plane`` if given,
    as fields ``<stage>_...``."""
    from reluthe import regions
    from reluthe.probes.capture import capture_activations
    from reluthe.probes.gradients import gradient_flow

    caps = capture_activations(model, x)
    flow = gradient_flow(model, x, y)
    fields = {"zero_share": [float((c.output == 0).double().mean()) for c in caps],
              "dead_units": [float((c.output == 0).all(0).double().mean()) for c in caps],
              "captured": [c.name for c in caps],
              "log10_grad_ratio": flow.log10_ratio(),
              "zero_grad_share": flow.zero_grad_share.tolist()}
    if plane is not None:
        res = regions.count_on_plane(_pairs(model), *plane)
        fields.update(regions=int(res.count), linear_regions=int(res.linear_count))
    return {f"{stage}_{k}": v for k, v in fields.items()}


def _design(ctx) -> dict:
    from reluthe.train import Recipe

    cfg = _config(ctx)
    recipe = Recipe(optimizer="adam", batch_size=128, steps=cfg["steps"],
                    eval_every=cfg["eval_every"])
    return {**cfg, "data_seeds": ctx.seeds("data", cfg["data_seeds"]),
            "model_seeds": ctx.seeds("model", cfg["model_seeds"]),
            "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
            "plane_seed": ctx.seeds("probe", 1)[0], "dataset": "mnist1d length=100",
            "val_size": 0.2, "recipe": recipe.to_dict(), "device": ctx.device,
            "arms": {a: {"activation": act, "params": p, "label": w}
                     for a, (act, p, w) in ARMS.items()},
            "device_note": "training runs on the run's device; the probes run on CPU",
            "probe_note": "probes use the final weights; accuracies the best-validation "
                          "checkpoint"}


def _hidden_stats(hidden: list[torch.Tensor], k: int) -> dict:
    """Exact-zero share and negative-side share of the activation mass of member ``k``, each the
    mean over the hidden layers."""
    zero = [float((h[k] == 0).double().mean()) for h in hidden]
    neg = [float(h[k].clamp(max=0).abs().sum() / h[k].abs().sum().clamp(min=1e-30))
           for h in hidden]
    return {"zero_share": float(np.mean(zero)), "neg_mass_share": float(np.mean(neg))}


def _arm_rows(sel, arm: str, data_seed: int, xp) -> list[dict]:
    """One row per model seed of the arm's chosen learning rate."""
    best, res = sel.checkpoint, sel.result
    hidden = res.hidden(xp) if arm != "linear" else None
    rows = []
    for k, s in enumerate(res.seeds):
        losses = (best.test_loss[k], best.train_loss[k], res.train_loss[k, -1])
        rows.append({"seed": int(s), "data_seed": data_seed, "kind": "twin", "arm": arm,
                     "lr": float(sel.lr), "best_step": float(best.step[k]),
                     "test_acc": float(best.test_acc[k]), "train_acc": float(best.train_acc[k]),
                     "val_acc": float(best.val_acc[k]),
                     "diverged": not all(math.isfinite(float(v)) for v in losses),
                     **(_hidden_stats(hidden, k) if hidden is not None else
                        {"zero_share": None, "neg_mass_share": None})})
    return rows


def _mymodel_rows(sel, data_seed: int, xp, yp, plane) -> list[dict]:
    """MyModel per model seed: init checked against the relu twin's, probed at init, loaded with
    the twin's trained weights (checked on its outputs) and probed again, with its regions."""
    from reluthe.models import mlp

    res, out = sel.result, sel.result.outputs(xp)
    rows = []
    for k, s in enumerate(res.seeds):
        model = build_mymodel(int(s))
        twin0 = [m for m in mlp(list(WIDTHS), seed=int(s)) if isinstance(m, nn.Linear)]
        init_diff = max(float((a.weight - b.weight).detach().abs().max()) for a, b in
                        zip(_linears(model), twin0))
        before = _probe(model, xp, yp, "init")
        with torch.no_grad():
            for lin, (w, b) in zip(_linears(model), res.weights):
                lin.weight.copy_(w[k])
                lin.bias.copy_(b[k])
            out_diff = float((model(xp) - out[k]).abs().max())
        after = _probe(model, xp, yp, "trained", plane)
        rows.append({"seed": int(s), "data_seed": data_seed, "kind": "mymodel", **before,
                     **after, "init_max_abs_diff": init_diff, "output_max_abs_diff": out_diff})
    return rows


def _saturating_rows(seeds, data_seed: int, xp, yp) -> list[dict]:
    """Gradient ratio at init of sigmoid and tanh twins (the relu twin's initial weights)."""
    from reluthe.models import mlp
    from reluthe.probes.gradients import gradient_flow

    return [{"seed": int(s), "data_seed": data_seed, "kind": "init_flow", "activation": act,
             "log10_grad_ratio": gradient_flow(mlp(list(WIDTHS), act, seed=int(s)), xp,
                                               yp).log10_ratio()}
            for act in SATURATING for s in seeds]


def measure(ctx) -> dict:
    """Rows of three kinds: ``twin`` (per arm, data seed and model seed: chosen learning rate,
    accuracies at the best-validation checkpoint, sparsity), ``mymodel`` (per data and model seed:
    probes at ``init_`` and ``trained_``) and ``init_flow`` (sigmoid and tanh gradient ratios)."""
    from reluthe import regions
    from reluthe.protocol import select_lr
    from reluthe.train import Recipe

    design = _design(ctx)
    recipe, n_probe = Recipe(**design["recipe"]), design["probe_batch"]
    raw, n_test = [], {}
    for i, d in enumerate(design["data_seeds"]):
        ds = mnist1d(d, length=100, val_size=design["val_size"])
        n_test[str(d)] = int(len(ds.x_test))
        gen = torch.Generator().manual_seed(design["plane_seed"] + i)
        pick = torch.randperm(len(ds.x_train), generator=gen)[:3]
        plane = regions.plane_through(*(ds.x_train[j] for j in pick))
        xp, yp = ds.x_test[:n_probe], ds.y_test[:n_probe]
        for arm, (act, params, _) in ARMS.items():
            sel = select_lr(ds, list(WIDTHS), lrs=design["lrs"], seeds=design["model_seeds"],
                            recipe=recipe, activation=act, activation_params=params,
                            device=ctx.device)
            raw += _arm_rows(sel, arm, d, xp)
            if arm == "relu":
                raw += _mymodel_rows(sel, d, xp, yp, plane)
            ctx.log(f"C17: data seed {d}, {arm}: lr {sel.lr:g}, test acc "
                    f"{sel.checkpoint.test_acc.mean():.3f}")
        raw += _saturating_rows(design["model_seeds"], d, xp, yp)
    design["n_test"] = n_test
    return {"design": design, "raw": raw}


# --- decide -----------------------------------------------------------------------------------


def _cells(raw: list[dict]) -> tuple[set, list]:
    """Usable (data seed, model seed) cells, and the diverged runs that removed the others."""
    diverged = [r for r in select(raw, kind="twin") if r["diverged"]]
    bad = {(r["data_seed"], r["seed"]) for r in diverged}
    cells = {(r["data_seed"], r["seed"]) for r in select(raw, kind="twin")} - bad
    named = [f"{r['arm']} (data seed {r['data_seed']}, model seed {r['seed']})" for r in diverged]
    return cells, named


def _enough(cells: set) -> bool:
    """At least MIN_SEEDS data seeds with MIN_SEEDS usable model seeds each."""
    per_data = {}
    for d, _ in cells:
        per_data[d] = per_data.get(d, 0) + 1
    return sum(n >= MIN_SEEDS for n in per_data.values()) >= MIN_SEEDS


def _values(raw, cells, field: str, **match) -> dict:
    """``field`` per usable cell of the rows matching ``match``."""
    return {(r["data_seed"], r["seed"]): r[field] for r in select(raw, **match)
            if (r["data_seed"], r["seed"]) in cells}


def _by_data(values: dict) -> dict:
    """Mean over model seeds of each data seed (the cluster), dropping None."""
    out: dict = {}
    for (d, _), v in values.items():
        if v is not None:
            out.setdefault(d, []).append(float(v))
    return {d: float(np.mean(v)) for d, v in sorted(out.items())}


def _cluster_diff(a: dict, b: dict, confidence: float = 0.95) -> Estimate:
    """Mean over data seeds of ``a − b`` (per-cell values, paired by cell, averaged within each
    data seed): paired t over data seeds."""
    keys = sorted(set(a) & set(b))
    ma, mb = _by_data({k: a[k] for k in keys}), _by_data({k: b[k] for k in keys})
    common = sorted(set(ma) & set(mb))
    return paired_diff_ci([ma[d] for d in common], [mb[d] for d in common], confidence)


def _cluster_mean(values: dict) -> Estimate:
    """Mean over data seeds of the within-seed means, t interval over data seeds."""
    from reluthe.stats import mean_ci

    return mean_ci(list(_by_data(values).values()))


def _acc(raw, cells, arm: str, field: str = "test_acc") -> dict:
    return _values(raw, cells, field, kind="twin", arm=arm)


def _gap(raw, cells, arm: str) -> dict:
    train, test = _acc(raw, cells, arm, "train_acc"), _acc(raw, cells, arm)
    return {k: train[k] - test[k] for k in test}


def _nonlinearity(raw, cells) -> dict:
    reg = list(_values(raw, cells, "trained_regions", kind="mymodel").values())
    d = _cluster_diff(_acc(raw, cells, "relu"), _acc(raw, cells, "linear"))
    c = compare(d, NONLINEAR_MARGIN)
    median = float(np.median(reg)) if reg else math.nan
    out = ("supported" if median > 1 and c == "greater" else
           "refuted" if median <= 1 or c in ("tie", "less") else "unclear")
    return {"outcome": out, "regions_median": median, "relu_minus_linear": d, "compare": c}


def _sparsity(raw, cells, boot: int) -> dict:
    zeros = list(_values(raw, cells, "trained_zero_share", kind="mymodel").values())
    zero = share_est([np.mean(z) for z in zeros], boot)
    relu = _acc(raw, cells, "relu")
    diffs = family_ci([partial(_cluster_diff, relu, _acc(raw, cells, a)) for a in LEAKY])
    dense = {a: share_est(list(_values(raw, cells, "neg_mass_share", kind="twin",
                                       arm=a).values()), boot) for a in LEAKY}
    tests = {a: dense[a].has_ci and dense[a].low >= DENSE_MIN for a in LEAKY}
    comps = {a: compare(e, SPARSE_MARGIN) for a, e in zip(LEAKY, diffs)}
    valid = [comps[a] for a in LEAKY if tests[a]]
    if zero.value < SPARSE_MIN:
        out = "refuted"
    elif len(valid) == len(LEAKY) and all(c == "greater" for c in valid):
        out = "supported"
    elif valid and all(c in ("tie", "less") for c in valid):
        out = "refuted"
    else:
        out = "unclear"
    return {"outcome": out, "zero_share": zero, "relu_minus_leaky": dict(zip(LEAKY, diffs)),
            "compare": comps, "negative_mass_share": dense, "tests_purpose": tests}


def _gradient(raw, cells) -> dict:
    ratio = {s: _values(raw, cells, f"{s}_log10_grad_ratio", kind="mymodel") for s in STAGES}
    est = {s: _cluster_mean(ratio[s]) for s in STAGES}
    states = {s: flow_state(est[s]) for s in STAGES}
    diffs = family_ci([partial(_cluster_diff, ratio["init"],
                               _values(raw, cells, "log10_grad_ratio", kind="init_flow",
                                       activation=a)) for a in SATURATING])
    comps = {a: compare(e, GRAD_MARGIN) for a, e in zip(SATURATING, diffs)}
    if all(v == "preserved" for v in states.values()) and \
            all(c == "greater" for c in comps.values()):
        out = "supported"
    elif any(v in ("vanishes", "explodes") for v in states.values()) or \
            all(c in ("tie", "less") for c in comps.values()):
        out = "refuted"
    else:
        out = "unclear"
    return {"outcome": out, "ratio": est, "state": states,
            "relu_minus_saturating": dict(zip(SATURATING, diffs)), "compare": comps}


def _n_test(design: dict) -> int:
    """Test examples behind each per-run accuracy (the same for every data seed)."""
    return min(design["n_test"].values())


def _todict(d: dict) -> dict:
    return {k: v.to_dict() if isinstance(v, Estimate) else v for k, v in d.items()}


def _evidence(m: dict, cells: set, named: list, p: dict) -> dict:
    raw, design = m["raw"], m["design"]
    n_test, boot = _n_test(design), design["bootstrap_seed"]
    mine = select(raw, kind="mymodel")
    lrs = {a: {str(r["data_seed"]): r["lr"] for r in select(raw, kind="twin", arm=a)}
           for a in ARMS}
    return {
        "usable_cells": len(cells), "diverged_runs": named,
        "chosen_lr": lrs,
        "test_acc": {a: acc_est(list(_acc(raw, cells, a).values()), n_test).to_dict()
                     for a in ARMS},
        "train_test_gap": {a: _cluster_mean(_gap(raw, cells, a)).to_dict() for a in ARMS},
        "relu_minus_leaky_gap": {a: _cluster_diff(_gap(raw, cells, "relu"),
                                                  _gap(raw, cells, a)).to_dict() for a in LEAKY},
        "nonlinearity": _todict(p["nonlinearity"]),
        "sparsity": {**_todict(p["sparsity"]),
                     "relu_minus_leaky": _todict(p["sparsity"]["relu_minus_leaky"]),
                     "negative_mass_share": _todict(p["sparsity"]["negative_mass_share"]),
                     "zero_share_init": share_est([np.mean(r["init_zero_share"]) for r in mine],
                                                  boot).to_dict(),
                     "zero_share_per_layer_trained": np.mean(
                         [r["trained_zero_share"] for r in mine], axis=0).tolist(),
                     "dead_units_trained": np.mean([r["trained_dead_units"] for r in mine],
                                                   axis=0).tolist()},
        "gradient_flow": {**_todict(p["gradient_flow"]),
                          "ratio": _todict(p["gradient_flow"]["ratio"]),
                          "relu_minus_saturating": _todict(
                              p["gradient_flow"]["relu_minus_saturating"]),
                          "zero_grad_share_trained": share_est(
                              [np.mean(r["trained_zero_grad_share"]) for r in mine],
                              boot).to_dict()},
        "purposes": {k: v["outcome"] for k, v in p.items()},
        "mymodel_init_max_abs_diff": max((r["init_max_abs_diff"] for r in mine), default=None),
        "mymodel_output_max_abs_diff": max((r["output_max_abs_diff"] for r in mine),
                                           default=None),
    }


def _points(e: Estimate, scale: float = 100.0, unit: str = "points") -> str:
    """A difference with its interval, e.g. ``+1.2 points [0.3, 2.1]``."""
    if not e.has_ci:
        return f"{scale * e.value:+.1f} {unit} (no CI)"
    return f"{scale * e.value:+.1f} {unit} [{scale * e.low:.1f}, {scale * e.high:.1f}]"


def _key_and_text(p: dict, ev: dict) -> tuple[str, str]:
    n1, sp, gr = p["nonlinearity"], p["sparsity"], p["gradient_flow"]
    lk = sp["relu_minus_leaky"]
    sat = gr["relu_minus_saturating"]
    key = (f"MyModel {pct(ev['test_acc']['relu'])} test acc; (1) relu − linear "
           f"{100 * n1['relu_minus_linear'].value:+.1f}pt; (2) "
           f"{100 * sp['zero_share'].value:.0f}% zeros, relu − leaky 0.1/0.3 "
           f"{100 * lk['leaky_0.1'].value:+.1f}/{100 * lk['leaky_0.3'].value:+.1f}pt; (3) "
           f"relu − sigmoid/tanh {sat['sigmoid'].value:+.2f}/{sat['tanh'].value:+.2f} decades")
    leaky = "; ".join(
        f"slope {a[-3:]}: {_points(lk[a])} ({sp['compare'][a]}), "
        f"{pct(sp['negative_mass_share'][a])} of its activation mass on the negative side"
        + ("" if sp["tests_purpose"][a] else f", below {100 * DENSE_MIN:.0f}%: no contrast")
        for a in LEAKY)
    gap = "; ".join(f"slope {a[-3:]}: {_points(Estimate(**ev['relu_minus_leaky_gap'][a]))}"
                    for a in LEAKY)
    grad = "; ".join(f"{a}: {_points(sat[a], 1.0, 'decades')} ({gr['compare'][a]})"
                     for a in SATURATING)
    text = (f"(1) Nonlinearity — {n1['outcome']}: after training MyModel has a median of "
            f"{n1['regions_median']:.0f} activation regions on the plane through three training "
            f"points, and relu − linear twin test accuracy is {_points(n1['relu_minus_linear'])} "
            f"({n1['compare']}). (2) Sparsity — {sp['outcome']}: {pct(sp['zero_share'])} of "
            f"MyModel's activations are exactly zero after training; relu − leaky twin test "
            f"accuracy, {leaky}; relu − leaky train − test gap (not read by the rule), {gap}. "
            f"(3) Gradient flow — {gr['outcome']}: the first hidden layer "
            f"receives 10^{gr['ratio']['init'].value:.2f} of the second's gradient at init "
            f"({gr['state']['init']}) and 10^{gr['ratio']['trained'].value:.2f} after training "
            f"({gr['state']['trained']}); relu − saturating twin at init, {grad}.")
    if ev["diverged_runs"]:
        text += f" Excluded (diverged): {', '.join(ev['diverged_runs'])}."
    return key, text


def decide(m: dict) -> Outcome:
    raw = m["raw"]
    cells, named = _cells(raw)
    p = {"nonlinearity": _nonlinearity(raw, cells),
         "sparsity": _sparsity(raw, cells, m["design"]["bootstrap_seed"]),
         "gradient_flow": _gradient(raw, cells)}
    evidence = _evidence(m, cells, named, p)
    key, text = _key_and_text(p, evidence)
    if not _enough(cells):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} data seeds with {MIN_SEEDS} usable model seeds "
                       f"each ({len(cells)} usable cells"
                       + (f"; diverged: {', '.join(named)}" if named else "") + "): no verdict.")
    purposes = evidence["purposes"]
    vals = list(purposes.values())
    if all(v == "supported" for v in vals):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if "supported" in vals:
        return Outcome(Verdict.PARTLY, key, evidence, text + " Not supported: " + ", ".join(
            f"{k.replace('_', ' ')} ({v})" for k, v in purposes.items() if v != "supported")
            + ".")
    if "refuted" in vals:
        return Outcome(Verdict.REFUTED, key, evidence, text)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence, text)


# --- plot -------------------------------------------------------------------------------------


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    raw, design = m["raw"], m["design"]
    cells, _ = _cells(raw)
    fig = Figure(figsize=(13, 3.8))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    labels = [w for _, _, w in ARMS.values()]
    zero = [np.mean([r["zero_share"] for r in select(raw, kind="twin", arm=a)]) for a in ARMS
            if a != "linear"]
    neg = [np.mean([r["neg_mass_share"] for r in select(raw, kind="twin", arm=a)]) for a in ARMS
           if a != "linear"]
    x = np.arange(len(zero))
    ax1.bar(x - 0.2, zero, 0.4, label="share of exact zeros")
    ax1.bar(x + 0.2, neg, 0.4, label="share of activation mass on the negative side")
    ax1.set_xticks(x, [w for a, (_, _, w) in ARMS.items() if a != "linear"], fontsize=7,
                   rotation=15)
    ax1.set_ylabel("share (trained, test inputs)")
    ax1.legend(fontsize=7)
    ax1.set_title("how sparse each arm is", fontsize=9)
    es = [acc_est(list(_acc(raw, cells, a).values()), _n_test(design)) for a in ARMS]
    ax2.bar(range(len(es)), [e.value for e in es], yerr=error_bars(es), capsize=3,
            color=["C0", "C7", "C1", "C3"])
    ax2.set_xticks(range(len(es)), labels, fontsize=7, rotation=15)
    ax2.set_ylabel("test accuracy at best validation (95% CI)")
    ax2.set_title("MyModel against its twins", fontsize=9)
    ratios = [[r["init_log10_grad_ratio"] for r in select(raw, kind="mymodel")]]
    ratios += [[r["log10_grad_ratio"] for r in select(raw, kind="init_flow", activation=a)]
               for a in SATURATING]
    ratios += [[r["trained_log10_grad_ratio"] for r in select(raw, kind="mymodel")]]
    ax3.boxplot(ratios)
    ax3.set_xticks([1, 2, 3, 4], ["ReLU, init", "sigmoid, init", "tanh, init",
                                  "ReLU, trained"], fontsize=7)
    ax3.axhline(-VANISH_DECADES, color="k", lw=0.8, ls="--", label="one decade lost")
    ax3.legend(fontsize=7)
    ax3.set_ylabel("log10 (layer-1 / layer-2 gradient norm)")
    ax3.set_title("gradient reaching the first layer", fontsize=9)
    fig.suptitle("C17: the article's MyModel on 100-long MNIST-1D")
    fig.tight_layout()
    fig.savefig(figures_dir / "c17_mymodel.png", dpi=110)
    return ["c17_mymodel.png"]
