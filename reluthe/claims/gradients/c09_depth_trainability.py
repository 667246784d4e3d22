"""C09: ReLU's constant gradient lets deep networks learn (trainability vs depth, dead units).

The article (§2.3.2): because ReLU's gradient is constant for positive inputs, gradients
propagate through deep networks, which saturating activations do not allow. Measured: (1) MLPs
of increasing depth trained on MNIST-1D with SGD for relu and the saturating tanh and sigmoid
(``--full`` adds leaky_relu, elu and gelu) under several inits, each (activation, init, depth,
data seed) with its own learning rate chosen on the validation split (the rule of
:func:`reluthe.protocol.select_lr`, all candidates, inits and model seeds trained as one
batched run), test accuracy read at the best-validation checkpoint; (2) the probability that a
random ReLU net is born dead at an input, bias-free (Monte Carlo against ``1 − (1 − 2^−N)^L``,
with an asymmetric-weight control) and with symmetric biases as in torch's default init
(:mod:`._depth_dead`: the same formula, derived there, at any input, and an upper bound on a
whole data set); (3) the share of units that die during training with Adam at several
learning rates.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    CHANCE,
    MIN_SEEDS,
    acc_est,
    error_bars,
    est,
    mnist1d,
    pct,
    style,
)
from reluthe.claims.gradients._depth_dead import biased_dead_rows
from reluthe.stats import accuracy_diff_ci, compare, family_ci

TRAINS = CHANCE + 0.10  # CI lower bound above this: the network learned
FAILS = CHANCE + 0.05  # CI upper bound below this: it stayed at chance
MARGIN = 0.02  # accuracy difference that counts
CONTROL_WEIGHT_MEAN = -0.3  # breaks the symmetry the born-dead formula assumes
VAL_SIZE = 0.2

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid")
SATURATING = ("tanh", "sigmoid")
INITS = ("default", "he", "xavier")

RULE = (
    "Trainability: MLPs with {2, 8, 32} hidden layers of width 32 (--full: {2, 4, 8, 16, 32} "
    "× width 128, and leaky_relu, elu, gelu and torch's default init too) are trained on "
    "MNIST-1D (validation split 0.2) with SGD (momentum 0.9, batch 128, 200 steps, evaluated "
    "every 50; --full 1000 steps) for relu, tanh and sigmoid under the He and Xavier inits, "
    "on 3 data seeds × 3 model seeds. For each activation, init, depth and data seed the "
    "learning rate is chosen from {0.01, 0.1} (--full {0.003, 0.01, 0.03, 0.1}) on "
    "validation by reluthe.protocol.select_lr's rule (the best mean over model seeds of each "
    "member's best validation accuracy; ties: the smaller rate); test accuracy is read at the "
    "best-validation checkpoint. Diverged runs: a member whose training loss is non-finite at "
    "an evaluation has diverged; it is named, and a learning rate with a diverged member is "
    "excluded from the choice for that data seed (if every rate has one, all compete and the "
    "cell is named as diverging at every rate). A cell's accuracy is the mean over data seeds "
    "of the model-seed means, with a 95 % Wilson interval on the effective number of test "
    "examples (stats.accuracy_ci; the data seed is the unit). A cell 'learns' when that "
    f"interval lies above {TRAINS:.2f} (chance + 0.10) and 'fails' when it lies below "
    f"{FAILS:.2f}. The judged depth is fixed before the data: the deepest of the grid. There "
    "relu is compared with tanh and with sigmoid under the same init (same data and model "
    "seeds = same data and initial weights: paired by data seed, MOVER interval of the "
    "difference, stats.accuracy_diff_ci), the comparisons of all inits forming one family "
    f"with Bonferroni intervals (stats.family_ci); margin {MARGIN:.2f}. SUPPORTED: relu learns "
    "at the judged depth under every init and beats both saturating activations under every "
    "init. REFUTED: relu loses to both under every init, or it fails at the judged depth "
    "under every init while learning at the shallowest depth under it. PARTLY: relu learns "
    "at the judged depth under some init but not under another, or does not beat both (the "
    "conditions are named). INCONCLUSIVE: relu learns at no depth under any init (the budget "
    f"is too small), fewer than {MIN_SEEDS} data seeds or {MIN_SEEDS} model seeds per "
    "candidate in a cell, or none of the above. Reported beside the verdict, not read by it: "
    "each activation's reach (the deepest depth up to which it learns at every depth), the "
    "born-dead probability at an input of a bias-free ReLU net (Monte Carlo, Gaussian weights) "
    "against 1 − (1 − 2^−N)^L (agreement: inside the Bonferroni-corrected Clopper-Pearson "
    "interval; a control with weights of mean −0.3 breaks the symmetry) and of nets with "
    "symmetric biases as in torch's default init (the same formula at a random input and at "
    "x = 0, derived in _depth_dead; on a set of 32 inputs only an upper bound), and the share "
    "of units that die (zero on every training input) after 200 Adam steps at lr 1e-3, 1e-2, "
    "5e-2 (one data seed)."
)


def _config(quick: bool, full: bool = False) -> dict:
    if quick:
        return {"activations": ["relu", "sigmoid"], "inits": ["he"], "depths": [2, 4],
                "width": 16, "data_seeds": 3, "seeds": 3, "steps": 60, "eval_every": 20,
                "lrs": [0.01, 0.1], "mc_widths": [2, 3], "mc_depths": [1, 4],
                "mc_trials": 4000, "mc_points": 16, "dying_width": 16, "dying_steps": 30,
                "dying_lrs": [1e-3, 5e-2]}
    return {"activations": list(ACTIVATIONS) if full else ["relu", *SATURATING],
            "inits": list(INITS) if full else ["he", "xavier"],
            "depths": [2, 4, 8, 16, 32] if full else [2, 8, 32], "width": 128 if full else 32,
            "data_seeds": 3, "seeds": 3, "steps": 1000 if full else 200,
            "eval_every": 100 if full else 50,
            "lrs": [0.003, 0.01, 0.03, 0.1] if full else [0.01, 0.1],
            "mc_widths": [2, 3, 4], "mc_depths": [1, 2, 4, 8, 16], "mc_trials": 10000,
            "mc_points": 32, "dying_width": 48, "dying_steps": 200,
            "dying_lrs": [1e-3, 1e-2, 5e-2]}


def _dead_shares(res, x, inits, seeds, widths) -> tuple[list, list]:
    """Per member: share of hidden units dead on ``x`` after training, and at init."""
    from reluthe.models import mlp
    from reluthe.probes.dead import dead_unit_share

    hidden = res.hidden(x)
    final = [float(np.mean([(h[k] == 0).all(0).double().mean().item() for h in hidden]))
             for k in range(res.n_members)]
    born = {(i, s): float(dead_unit_share(mlp(widths, "relu", i, seed=s), x).mean())
            for i in inits for s in seeds}
    return final, [born[(res.member_inits[k], res.seeds[k])] for k in range(res.n_members)]


@single_threaded
def _train_unit(item: dict) -> list[dict]:
    """One activation, depth and data seed: every init × learning rate × model seed as one
    batched run; a row per member."""
    from reluthe.train import Recipe, train_mlps

    ds, depth, seeds, inits, lrs = (item["ds"], item["depth"], item["seeds"], item["inits"],
                                    item["lrs"])
    widths = [ds.input_dim] + [item["width"]] * depth + [ds.n_classes]
    recipes = [Recipe(optimizer="sgd", lr=lr, momentum=0.9, batch_size=128,
                      steps=item["steps"], eval_every=item["eval_every"])
               for _ in inits for lr in lrs]
    res = train_mlps(ds, widths, seeds=seeds, recipes=recipes, activation=item["act"],
                     init=[i for i in inits for _ in lrs], device=item["device"])
    best = res.at_best_val("val_acc")
    if item["act"] == "relu":
        final, born = _dead_shares(res, ds.x_train.reshape(len(ds.x_train), -1), inits, seeds,
                                   widths)
    else:
        final = born = [None] * res.n_members
    diverged = ~np.isfinite(res.train_loss).all(axis=1)
    return [{"seed": res.seeds[k], "data_seed": item["data_seed"], "kind": "train",
             "activation": item["act"], "init": res.member_inits[k], "depth": depth,
             "lr": res.recipes[k].lr, "val_acc": float(best.val_acc[k]),
             "test_acc": float(best.test_acc[k]), "train_loss": float(best.train_loss[k]),
             "best_step": int(best.step[k]), "diverged": bool(diverged[k]),
             "dead_init": born[k], "dead_final": final[k]} for k in range(res.n_members)]


def _dead_network_rows(design: dict) -> list[dict]:
    """Born-dead Monte Carlo: bias-free nets, the asymmetric control and nets with symmetric
    biases, Bonferroni over the cells of each."""
    from reluthe.probes.dead import dead_network_mc

    cells = [(n, L) for n in design["mc_widths"] for L in design["mc_depths"]]
    conf = 1 - 0.05 / len(cells)
    rows = []
    for kind, seeds, mean in (("dead_network_mc", design["mc_seeds"], 0.0),
                              ("dead_network_control", design["control_seeds"],
                               CONTROL_WEIGHT_MEAN)):
        rows += [{"kind": kind, **dead_network_mc(n, L, n_trials=design["mc_trials"], seed=s,
                                                  weight_mean=mean, confidence=conf).to_dict()}
                 for (n, L), s in zip(cells, seeds)]
    return rows + biased_dead_rows(design["mc_widths"], design["mc_depths"],
                                   n_trials=design["mc_trials"], n_points=design["mc_points"],
                                   seeds=design["bias_seeds"], confidence=conf)


def _dying_rows(design: dict, ds) -> list[dict]:
    """Dead-unit shares of relu MLPs after Adam at each learning rate: a row per (lr, seed)."""
    from reluthe.probes.dead import dying_units

    dy = dying_units(ds, design["dying_widths"], lrs=design["dying_lrs"],
                     seeds=design["model_seeds"], optimizer="adam", steps=design["dying_steps"])
    return [{"seed": s, "kind": "dying", "lr": lr, **{f: dy[f][a][b] for f in (
                "dead_init", "dead_final", "final_train_loss", "final_test_acc")}}
            for a, lr in enumerate(dy["lrs"]) for b, s in enumerate(dy["seeds"])]


def measure(ctx) -> dict:
    """Rows of five kinds: ``train`` (per activation, init, depth, data seed, learning rate
    and model seed), ``dead_network_mc``, ``dead_network_control`` and ``dead_network_bias``
    (per Monte Carlo cell) and ``dying`` (per learning rate and model seed)."""
    cfg = _config(ctx.quick, ctx.full)
    n_mc = len(cfg["mc_widths"]) * len(cfg["mc_depths"])
    data_seeds = ctx.seeds("data", cfg["data_seeds"])
    design = {**cfg, "grid": [[a, i] for a in cfg["activations"] for i in cfg["inits"]],
              "judged_depth": max(cfg["depths"]),
              "model_seeds": ctx.seeds("model", cfg["seeds"]), "data_seeds": data_seeds,
              "data_seed": data_seeds[0], "val_size": VAL_SIZE,
              "mc_seeds": ctx.seeds("probe", n_mc),
              "control_seeds": ctx.seeds("probe", n_mc, start=n_mc),
              "bias_seeds": ctx.seeds("probe", n_mc, start=2 * n_mc),
              "control_weight_mean": CONTROL_WEIGHT_MEAN, "dataset": "mnist1d",
              "recipe": {"optimizer": "sgd", "momentum": 0.9, "batch_size": 128,
                         "steps": cfg["steps"], "eval_every": cfg["eval_every"]},
              "device": ctx.device,
              "device_note": "the depth grid trains on the run's device; the born-dead Monte "
                             "Carlo and dying_units (no device parameter) run on CPU; "
                             "data_seed is the dataset of the dying-unit probe"}
    sets = {s: mnist1d(s, val_size=VAL_SIZE) for s in data_seeds}
    ds = sets[data_seeds[0]]
    design["dying_widths"] = [ds.input_dim, cfg["dying_width"], cfg["dying_width"], 10]
    design["n_test"] = {design["dataset"]: int(len(ds.x_test))}
    items = [{"ds": sets[s], "data_seed": s, "act": a, "inits": cfg["inits"], "depth": d,
              "width": cfg["width"], "seeds": design["model_seeds"], "steps": cfg["steps"],
              "eval_every": cfg["eval_every"], "lrs": cfg["lrs"], "device": ctx.device}
             for a in cfg["activations"] for d in cfg["depths"] for s in data_seeds]
    ctx.log(f"C09: {len(items)} batched trainings of {len(cfg['inits'])} inits × "
            f"{len(cfg['lrs'])} learning rates × {cfg['seeds']} seeds")
    raw = [r for unit in ctx.map(_train_unit, items) for r in unit]
    raw += _dead_network_rows(design)
    ctx.log("C09: dying units at several learning rates")
    raw += _dying_rows(design, ds)
    return {"design": design, "raw": raw}


# --- the learning rate chosen per cell and data seed, from the rows ---------------------------

def _rows(raw, a, i, d, s=None) -> list[dict]:
    where = {"kind": "train", "activation": a, "init": i, "depth": d}
    return select(raw, **where) if s is None else select(raw, data_seed=s, **where)


def _choose(design: dict, rows: list[dict]) -> tuple[float | None, list[dict], bool]:
    """select_lr's choice on one data seed's rows, diverged rates excluded (RULE).

    Returns the chosen rate, its rows and whether every rate had a diverged member."""
    by_lr = {lr: [r for r in rows if r["lr"] == lr] for lr in design["lrs"]}
    by_lr = {lr: rs for lr, rs in by_lr.items() if rs}
    if not by_lr:
        return None, [], False
    stable = {lr: rs for lr, rs in by_lr.items() if not any(r["diverged"] for r in rs)}
    pool = stable or by_lr
    lr = max(pool, key=lambda v: (np.mean([r["val_acc"] for r in pool[v]]), -v))
    return lr, pool[lr], not stable


def _cluster_means(design: dict, raw, a, i, d, field="test_acc") -> list[float]:
    """Per data seed (in design order), the mean over model seeds of ``field`` at the chosen
    learning rate."""
    out = []
    for s in design["data_seeds"]:
        _, rows, _ = _choose(design, _rows(raw, a, i, d, s))
        if rows:
            out.append(float(np.mean([r[field] for r in rows])))
    return out


def _n_items(design: dict) -> int:
    """Test predictions behind each data seed's mean accuracy."""
    return design["n_test"][design["dataset"]] * len(design["model_seeds"])


def _too_few(design: dict, raw) -> str | None:
    """Why a cell has too few seeds for the rule, or None."""
    for a, i in design["grid"]:
        for d in design["depths"]:
            seeds = {s for s in design["data_seeds"] if _rows(raw, a, i, d, s)}
            if len(seeds) < MIN_SEEDS:
                return (f"Fewer than {MIN_SEEDS} data seeds in {a}/{i} at depth {d} "
                        f"({len(seeds)}): no verdict.")
            for s in seeds:
                for lr in design["lrs"]:
                    n = len({r["seed"] for r in _rows(raw, a, i, d, s) if r["lr"] == lr})
                    if n < MIN_SEEDS:
                        return (f"Fewer than {MIN_SEEDS} model seeds in {a}/{i} at depth {d}, "
                                f"data seed {s}, lr {lr:g} ({n}): no verdict.")
    return None


# --- evidence -----------------------------------------------------------------------------

def _cells(design: dict, raw) -> dict:
    """Per (activation, init, depth): accuracy estimate, chosen rates, learns / fails."""
    out = {}
    for a, i in design["grid"]:
        for d in design["depths"]:
            e = acc_est(_cluster_means(design, raw, a, i, d), _n_items(design))
            chosen = [_choose(design, _rows(raw, a, i, d, s)) for s in design["data_seeds"]]
            out[(a, i, d)] = {
                "test_acc": e.to_dict(),
                "train_loss": est(_cluster_means(design, raw, a, i, d, "train_loss")).to_dict(),
                "lr": [c[0] for c in chosen], "all_rates_diverged": any(c[2] for c in chosen),
                "learns": bool(e.has_ci and e.low > TRAINS),
                "fails": bool(e.has_ci and e.high < FAILS)}
    return out


def _reach(design: dict, cells: dict) -> dict:
    """Per activation/init: the deepest depth up to which it learns at every depth (0: none)."""
    reach = {}
    for a, i in design["grid"]:
        reach[f"{a}/{i}"], unbroken = 0, True
        for d in sorted(design["depths"]):
            unbroken = unbroken and cells[(a, i, d)]["learns"]
            if unbroken:
                reach[f"{a}/{i}"] = d
    return reach


def _diverged(raw) -> dict:
    """Candidate -> the (data seed, model seed) members whose training loss became non-finite."""
    out = {}
    for r in select(raw, kind="train", diverged=True):
        key = f"{r['activation']}/{r['init']}/depth{r['depth']}/lr={r['lr']:g}"
        out.setdefault(key, []).append(f"data {r['data_seed']}, model {r['seed']}")
    return out


def _comparisons(design: dict, raw) -> dict:
    """relu − each saturating activation at the judged depth, per init: one Bonferroni family."""
    deep, pairs = design["judged_depth"], []
    for i in _relu_inits(design):
        for a in _others(design):
            if [a, i] in design["grid"]:
                pairs.append((a, i))
    makers = [partial(_paired_diff, _cluster_means(design, raw, "relu", i, deep),
                      _cluster_means(design, raw, a, i, deep), _n_items(design))
              for a, i in pairs]
    ests = family_ci(makers) if makers else []
    return {f"{a}/{i}": {"outcome": compare(e, MARGIN), "diff": e.to_dict()}
            for (a, i), e in zip(pairs, ests)}


def _paired_diff(a: list, b: list, n_items: int, confidence: float):
    """accuracy_diff_ci of data-seed means paired by data seed, at ``confidence``."""
    return accuracy_diff_ci(a, b, n_items, paired=True, confidence=confidence)


def _born_dead(raw) -> dict:
    mc, bias = select(raw, kind="dead_network_mc"), select(raw, kind="dead_network_bias")
    return {
        "cells": len(mc), "formula_inside_interval": sum(c["agrees"] for c in mc),
        "control_cells_agreeing": sum(c["agrees"] for c in select(
            raw, kind="dead_network_control")),
        "cells_detail": [{k: c[k] for k in ("width", "depth", "p", "low", "high", "theory")}
                         for c in mc],
        "with_symmetric_biases": {at: {"cells": len(rs), "agreeing": sum(r["agrees"] for r in rs)}
                                  for at in ("one input", "zero input", "data set")
                                  for rs in [[r for r in bias if r["at"] == at]]}}


def _evidence(design: dict, raw) -> dict:
    cells = _cells(design, raw)
    deep, inits = design["judged_depth"], _relu_inits(design)
    dying_units = sum(design["dying_widths"][1:-1])  # hidden units behind each share
    relu_units = design["width"] * deep
    return {
        "judged_depth": deep, "deepest_depth": max(design["depths"]),
        "accuracy": {f"{a}/{i}/depth{d}": {k: v for k, v in c.items()
                                           if k not in ("learns", "fails")}
                     for (a, i, d), c in cells.items()},
        "reach": _reach(design, cells), "diverged": _diverged(raw),
        "all_rates_diverged": [f"{a}/{i}/depth{d}" for (a, i, d), c in cells.items()
                               if c["all_rates_diverged"]],
        "relu_learns_at_judged_depth": {i: cells[("relu", i, deep)]["learns"] for i in inits},
        "relu_fails_at_judged_depth": {i: cells[("relu", i, deep)]["fails"] for i in inits},
        "relu_learns_at_shallowest_depth": {
            i: cells[("relu", i, min(design["depths"]))]["learns"] for i in inits},
        "relu_learns_somewhere": any(c["learns"] for (a, _, _), c in cells.items()
                                     if a == "relu"),
        "relu_minus_other_at_judged_depth": _comparisons(design, raw),
        "dead_network_formula": _born_dead(raw),
        "relu_dead_units_at_init": {
            i: acc_est(_cluster_means(design, raw, "relu", i, deep, "dead_init"),
                       relu_units).to_dict() for i in inits},
        "relu_dead_units_after_training": {
            i: acc_est(_cluster_means(design, raw, "relu", i, deep, "dead_final"),
                       relu_units).to_dict() for i in inits},
        "relu_dead_units_after_adam": {
            f"lr={lr:g}": acc_est(column(raw, "dead_final", kind="dying", lr=lr),
                                  dying_units).to_dict() for lr in design["dying_lrs"]},
    }


def _relu_inits(design: dict) -> list[str]:
    return [i for a, i in design["grid"] if a == "relu"]


def _others(design: dict) -> list[str]:
    return [a for a in SATURATING if any(g[0] == a for g in design["grid"])]


def _outcomes(design: dict, ev: dict, outcome: str) -> dict:
    """Init -> the saturating activations for which relu's comparison is ``outcome``."""
    cmp = ev["relu_minus_other_at_judged_depth"]
    return {i: [a for a in _others(design) if cmp.get(f"{a}/{i}", {}).get("outcome") == outcome]
            for i in _relu_inits(design)}


# --- verdict and its text -----------------------------------------------------------------

def _pct_cell(ev: dict, a: str, i: str, d: int) -> str:
    return f"{100 * ev['accuracy'][f'{a}/{i}/depth{d}']['test_acc']['value']:.0f}%"


def _key(design: dict, ev: dict) -> str:
    deep, inits = ev["judged_depth"], _relu_inits(design)
    mc, top = ev["dead_network_formula"], max(design["dying_lrs"])
    acts = ["relu", *_others(design)]
    return (f"depth {deep} acc ({'/'.join(inits)}): "
            + ", ".join(f"{a} " + "/".join(_pct_cell(ev, a, i, deep) for i in inits
                                          if [a, i] in design["grid"]) for a in acts)
            + f"; 1-(1-2^-N)^L in MC CI {mc['formula_inside_interval']}/{mc['cells']}, with "
            f"biases {mc['with_symmetric_biases']['one input']['agreeing']}/"
            f"{mc['with_symmetric_biases']['one input']['cells']}; "
            f"{100 * ev['relu_dead_units_after_adam'][f'lr={top:g}']['value']:.0f}% of units "
            f"die at Adam lr {top:g}")


def _text(design: dict, ev: dict) -> str:
    deep, inits, others = ev["judged_depth"], _relu_inits(design), _others(design)
    shallow, reach = min(design["depths"]), ev["reach"]
    ok = [i for i in inits if ev["relu_learns_at_judged_depth"][i]]
    bad = [i for i in inits if ev["relu_fails_at_judged_depth"][i]]
    cmp = ev["relu_minus_other_at_judged_depth"]
    text = (f"At depth {deep} (fixed in the design) relu learns under {', '.join(ok) or 'no init'}"
            + (f" and stays at chance under {', '.join(bad)}" if bad else "")
            + (f" (undecided under {', '.join(i for i in inits if i not in ok + bad)})"
               if len(ok) + len(bad) < len(inits) else "") + "; relu minus "
            + "; ".join(f"{k.replace('/', ' under ')}: {100 * v['diff']['value']:+.0f} points "
                        f"({v['outcome']})" for k, v in cmp.items()) + ". ")
    text += (f"Test accuracy at depth {deep} (depth {shallow}), learning rate chosen on "
             "validation: " + "; ".join(
                 f"{a} " + ", ".join(f"{_pct_cell(ev, a, i, deep)} ({_pct_cell(ev, a, i, shallow)})"
                                     f" {i}" for i in inits if [a, i] in design["grid"])
                 for a in ["relu", *others]) + ". ")
    text += ("Deepest depth (of " + ", ".join(map(str, design["depths"])) + ") up to which each "
             f"learns (CI above {TRAINS:.2f}) in {design['steps']} steps: "
             + "; ".join(f"{i}: " + ", ".join(f"{a} {reach[f'{a}/{i}'] or '-'}"
                                               for a, j in design["grid"] if j == i)
                         for i in inits) + ". ")
    if ev["diverged"]:
        text += ("Diverged members (excluded with their learning rate): "
                 + "; ".join(f"{k} ({len(v)})" for k, v in ev["diverged"].items())
                 + (f"; every rate diverged in {', '.join(ev['all_rates_diverged'])}"
                    if ev["all_rates_diverged"] else "") + ". ")
    mc, top = ev["dead_network_formula"], max(design["dying_lrs"])
    b = mc["with_symmetric_biases"]
    text += (f"Born dead: 1 − (1 − 2^−N)^L lies inside the Monte Carlo interval in "
             f"{mc['formula_inside_interval']} of {mc['cells']} bias-free cells (asymmetric "
             f"control: {mc['control_cells_agreeing']}), and with symmetric biases (torch's "
             f"default init) in {b['one input']['agreeing']} of {b['one input']['cells']} at "
             f"a random input and {b['zero input']['agreeing']} of {b['zero input']['cells']} "
             f"at x = 0; on a set of {design['mc_points']} inputs it is an upper bound in "
             f"{b['data set']['agreeing']} of {b['data set']['cells']}. "
             f"{pct(ev['relu_dead_units_after_adam'][f'lr={top:g}'])} of units die within "
             f"{design['dying_steps']} Adam steps at lr {top:g}.")
    return text


def _conditions(design: dict, ev: dict) -> str:
    """The conditions the article omits, for a partly supported verdict."""
    deep, inits, others = ev["judged_depth"], _relu_inits(design), _others(design)
    ok = [i for i in inits if ev["relu_learns_at_judged_depth"][i]]
    beats = _outcomes(design, ev, "greater")
    cond = []
    if len(ok) < len(inits):
        cond.append(f"the init (relu learns at depth {deep} only under {', '.join(ok)}; "
                    f"not under {', '.join(i for i in inits if i not in ok)})")
    notbeat = sorted({a for i in inits for a in others if a not in beats[i]})
    if notbeat:
        cond.append("the comparison: relu does not beat " + ", ".join(
            f"{a} (under {', '.join(i for i in inits if a not in beats[i])})"
            for a in notbeat))
    return " Conditions the article omits: " + "; ".join(cond) + "."


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    few = _too_few(design, raw)
    if few:
        return Outcome(Verdict.INCONCLUSIVE, "too few seeds", {}, few)
    ev = _evidence(design, raw)
    key, text = _key(design, ev), _text(design, ev)
    inits, others = _relu_inits(design), _others(design)
    if not ev["relu_learns_somewhere"]:
        return Outcome(Verdict.INCONCLUSIVE, key, ev,
                       text + f" relu learns at no depth under any init within "
                       f"{design['steps']} steps: the budget is too small to judge depth.")
    learns = ev["relu_learns_at_judged_depth"]
    beats, loses = _outcomes(design, ev, "greater"), _outcomes(design, ev, "less")
    if all(learns.values()) and all(len(beats[i]) == len(others) for i in inits):
        return Outcome(Verdict.SUPPORTED, key, ev, text)
    broken = all(ev["relu_fails_at_judged_depth"][i]
                 and ev["relu_learns_at_shallowest_depth"][i] for i in inits)
    if broken or all(len(loses[i]) == len(others) for i in inits):
        return Outcome(Verdict.REFUTED, key, ev, text)
    if any(learns.values()):
        return Outcome(Verdict.PARTLY, key, ev, text + _conditions(design, ev))
    return Outcome(Verdict.INCONCLUSIVE, key, ev,
                   text + f" relu learns clearly at depth {ev['judged_depth']} under no init, "
                   "yet it neither fails there under every init nor loses everywhere: the rule "
                   "cannot decide.")


# --- figures ------------------------------------------------------------------------------

def plot(m: dict, figures_dir: Path) -> list[str]:
    return [_plot_accuracy(m, figures_dir), _plot_dead_units(m, figures_dir)]


def _plot_accuracy(m: dict, figures_dir: Path) -> str:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    inits = list(dict.fromkeys(i for _, i in design["grid"]))
    fig = Figure(figsize=(4 * len(inits), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(inits), sharey=True))
    for ax, i in zip(axes, inits):
        for a in dict.fromkeys(a for a, j in design["grid"] if j == i):
            es = [acc_est(_cluster_means(design, raw, a, i, d), _n_items(design))
                  for d in design["depths"]]
            ax.errorbar(design["depths"], [e.value for e in es], yerr=error_bars(es),
                        marker="o", ms=3, capsize=2, label=a, **style(a))
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.7)
        ax.set_title(f"init: {i}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(design["depths"], [str(d) for d in design["depths"]])
        ax.set_xlabel("depth (hidden layers)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("test accuracy at best validation (95% CI)")
    fig.suptitle(f"C09: MNIST-1D accuracy after {design['steps']} SGD steps vs depth, learning "
                 f"rate chosen on validation (width {design['width']}, "
                 f"{len(design['data_seeds'])}×{len(design['model_seeds'])} seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(figures_dir / "c09_accuracy_vs_depth.png", dpi=110)
    return "c09_accuracy_vs_depth.png"


def _plot_dead_units(m: dict, figures_dir: Path) -> str:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    fig = Figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for k, n in enumerate(design["mc_widths"]):
        cells = select(raw, kind="dead_network_mc", width=n)
        L = [c["depth"] for c in cells]
        p = np.array([c["p"] for c in cells])
        ax1.errorbar(L, p, yerr=[p - [c["low"] for c in cells], [c["high"] for c in cells] - p],
                     fmt="o", ms=3, capsize=2, color=f"C{k}", label=f"no bias, N={n}")
        ax1.plot(L, [c["theory"] for c in cells], color=f"C{k}", lw=0.8)
        ax1.plot(L, column(raw, "p", kind="dead_network_bias", at="one input", width=n), "s",
                 mfc="none", color=f"C{k}", ms=5)
        ax1.plot(L, column(raw, "p", kind="dead_network_bias", at="data set", width=n), "v",
                 color=f"C{k}", ms=4)
        ax1.plot(L, column(raw, "p", kind="dead_network_control", width=n), "x",
                 color=f"C{k}", ms=4)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("depth L")
    ax1.set_ylabel("P(born dead)")
    ax1.set_title("lines: 1-(1-2^-N)^L; squares: symmetric biases, one input; triangles: "
                  "biases, all of a data set; x: weights of mean -0.3", fontsize=7)
    ax1.legend(fontsize=7)
    lrs = design["dying_lrs"]
    es = [acc_est(column(raw, "dead_final", kind="dying", lr=lr),
                  sum(design["dying_widths"][1:-1])) for lr in lrs]
    ax2.bar(range(len(es)), [e.value for e in es], yerr=error_bars(es), capsize=3)
    ax2.set_xticks(range(len(es)), [f"lr {lr:g}" for lr in lrs])
    ax2.set_ylabel("share of dead hidden units")
    ax2.set_title(f"relu {'-'.join(map(str, design['dying_widths']))}, Adam, "
                  f"{design['dying_steps']} steps", fontsize=8)
    fig.suptitle("C09: born-dead networks (Monte Carlo) and units dying in training")
    fig.tight_layout()
    fig.savefig(figures_dir / "c09_dead_units.png", dpi=110)
    return "c09_dead_units.png"
