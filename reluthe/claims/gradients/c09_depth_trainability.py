"""C09: ReLU's constant gradient lets deep networks learn (trainability vs depth, dead units).

The article (§2.2.1, §3.1): because ReLU's gradient is constant for positive inputs, deep
networks can be trained where saturating activations fail. Measured: (1) MLPs of increasing
depth trained with a fixed SGD budget on MNIST-1D for each activation × init (test accuracy and
training loss, seeds batched with ``train_mlps``); (2) the probability that a random bias-free
ReLU network is dead at an input, by Monte Carlo, against ``1 - (1 - 2^-N)^L``; (3) the share
of units that die during training at a normal and at large learning rates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    CHANCE,
    MIN_SEEDS,
    acc_est,
    data_seed,
    error_bars,
    est,
    mnist1d,
    pct,
    style,
)
from reluthe.stats import compare, paired_diff_ci

TRAINS = CHANCE + 0.10  # CI lower bound above this: the network learned
FAILS = CHANCE + 0.05  # CI upper bound below this: it stayed at chance
MARGIN = 0.02  # accuracy difference that counts
CONTROL_WEIGHT_MEAN = -0.3  # breaks the symmetry the born-dead formula assumes

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid")
INITS = ("default", "he", "xavier")

RULE = (
    "Trainability: MLPs of depth {2, 4, 8, 16, 32} hidden layers of width 48 (128 with --full) "
    "trained on MNIST-1D with SGD (momentum 0.9, lr 0.05, batch 128, 200 steps; 1000 with "
    "--full) for relu, leaky_relu, elu, gelu, tanh and sigmoid under the torch default, He and "
    "Xavier inits, 5 seeds each (the three inits of an activation and depth train as one "
    "batched run, member by member identical to separate runs). A cell 'learns' when its "
    "test-accuracy 95 % interval (mean over seeds, inside [0, 1]: Wilson's on the effective "
    "number of test examples, stats.accuracy_ci) "
    f"lies above {TRAINS:.2f} (chance + 0.10) and 'fails' when it lies below "
    f"{FAILS:.2f}. The judged depth is the deepest of the grid at which any activation under any "
    "init learns (none: INCONCLUSIVE, the budget is too small); there relu is compared with "
    "tanh and sigmoid under the same init (same seed = same initial weights and batch order, "
    f"so a paired t CI of the difference; margin {MARGIN:.2f}). SUPPORTED: relu learns under "
    "every init and beats both saturating activations under every init; PARTLY: relu learns "
    "under some init but fails or does not beat them under another (the condition, e.g. the "
    "init, is named); REFUTED: relu fails under every init or loses to both under every init; "
    f"INCONCLUSIVE otherwise or with fewer than {MIN_SEEDS} seeds. Reported beside the verdict: "
    "each "
    "activation's reach (the deepest depth up to which it learns at every depth), the Monte "
    "Carlo probability that a bias-free ReLU net (width N, depth L, Gaussian weights) is dead "
    "at an input against 1 − (1 − 2^−N)^L (agreement: the formula inside the "
    "Bonferroni-corrected Clopper-Pearson interval; a control with weights of mean −0.3 breaks "
    "the symmetry assumption), and the share of units that die (zero on every training input) "
    "after 200 Adam steps at lr 1e-3, 1e-2, 5e-2."
)


def _config(quick: bool, full: bool = False) -> dict:
    if quick:
        return {"activations": ["relu", "sigmoid"], "inits": ["default", "he"],
                "depths": [2, 4], "width": 16, "seeds": 3, "steps": 60, "lr": 0.05,
                "mc_widths": [2, 3], "mc_depths": [1, 4], "mc_trials": 4000,
                "dying_width": 16, "dying_steps": 30, "dying_lrs": [1e-3, 5e-2]}
    return {"activations": list(ACTIVATIONS), "inits": list(INITS),
            "depths": [2, 4, 8, 16, 32], "width": 128 if full else 48, "seeds": 5,
            "steps": 1000 if full else 200, "lr": 0.05, "mc_widths": [2, 3, 4],
            "mc_depths": [1, 2, 4, 8, 16], "mc_trials": 20000, "dying_width": 48,
            "dying_steps": 200, "dying_lrs": [1e-3, 1e-2, 5e-2]}


@single_threaded
def _train_unit(item: dict) -> list[dict]:
    """One activation at one depth: every init × seed as one batched run; a row per member."""
    from reluthe.models import mlp
    from reluthe.probes.dead import dead_unit_share
    from reluthe.train import Recipe, train_mlps

    ds, depth, seeds, inits = item["ds"], item["depth"], item["seeds"], item["inits"]
    widths = [ds.input_dim] + [item["width"]] * depth + [ds.n_classes]
    recipe = Recipe(optimizer="sgd", lr=item["lr"], momentum=0.9, batch_size=128,
                    steps=item["steps"], eval_every=item["steps"])
    res = train_mlps(ds, widths, seeds=seeds, recipes=[recipe] * len(inits),
                     activation=item["act"], init=inits, device=item["device"])
    x = ds.x_train.reshape(len(ds.x_train), -1)
    hidden = res.hidden(x)
    died = [float(np.mean([(h[k] == 0).all(0).double().mean().item() for h in hidden]))
            for k in range(res.n_members)]
    out = []
    for r, init in enumerate(inits):
        for j, s in enumerate(seeds):
            k = r * len(seeds) + j
            born = float(dead_unit_share(mlp(widths, item["act"], init, seed=s), x).mean())
            out.append({"seed": s, "kind": "train", "activation": item["act"], "init": init,
                        "depth": depth, "test_acc": float(res.test_acc[k, -1]),
                        "train_loss": float(res.train_loss[k, -1]), "dead_init": born,
                        "dead_final": died[k],
                        "batched_run_time_s": res.time_s})  # shared by the run's members
    return out


def _dead_network_rows(design: dict) -> list[dict]:
    """Monte Carlo born-dead probabilities, Bonferroni over the cells, and the control."""
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
    return rows


def _dying_rows(design: dict, ds) -> list[dict]:
    """Dead-unit shares of relu MLPs after Adam at each learning rate: a row per (lr, seed)."""
    from reluthe.probes.dead import dying_units

    dy = dying_units(ds, design["dying_widths"], lrs=design["dying_lrs"],
                     seeds=design["model_seeds"], optimizer="adam", steps=design["dying_steps"])
    return [{"seed": s, "kind": "dying", "lr": lr, **{f: dy[f][a][b] for f in (
                "dead_init", "dead_final", "final_train_loss", "final_test_acc")}}
            for a, lr in enumerate(dy["lrs"]) for b, s in enumerate(dy["seeds"])]


def measure(ctx) -> dict:
    """Rows of four kinds: ``train`` (per activation, init, depth and model seed),
    ``dead_network_mc`` and ``dead_network_control`` (per Monte Carlo cell, probe seed) and
    ``dying`` (per learning rate and model seed)."""
    cfg = _config(ctx.quick, ctx.full)
    n_mc = len(cfg["mc_widths"]) * len(cfg["mc_depths"])
    design = {**cfg, "grid": [[a, i] for a in cfg["activations"] for i in cfg["inits"]],
              "model_seeds": ctx.seeds("model", cfg["seeds"]), "data_seed": data_seed(ctx),
              "mc_seeds": ctx.seeds("probe", n_mc),
              "control_seeds": ctx.seeds("probe", n_mc, start=n_mc),
              "control_weight_mean": CONTROL_WEIGHT_MEAN, "dataset": "mnist1d",
              "recipe": {"optimizer": "sgd", "momentum": 0.9, "lr": cfg["lr"],
                         "batch_size": 128, "steps": cfg["steps"]},
              "device": ctx.device,
              "device_note": "the depth grid trains on the run's device; the born-dead Monte "
                             "Carlo (numpy) and dying_units (no device parameter) run on CPU"}
    ds = mnist1d(design["data_seed"])
    design["dying_widths"] = [ds.input_dim, cfg["dying_width"], cfg["dying_width"], 10]
    design["n_test"] = {design["dataset"]: int(len(ds.x_test))}
    items = [{"ds": ds, "act": a, "inits": cfg["inits"], "depth": d, "width": cfg["width"],
              "seeds": design["model_seeds"], "steps": cfg["steps"], "lr": cfg["lr"],
              "device": ctx.device} for a in cfg["activations"] for d in cfg["depths"]]
    ctx.log(f"C09: {len(items)} batched trainings of {len(cfg['inits'])} inits × "
            f"{cfg['seeds']} seeds")
    raw = [r for unit in ctx.map(_train_unit, items) for r in unit]
    raw += _dead_network_rows(design)
    ctx.log("C09: dying units at several learning rates")
    raw += _dying_rows(design, ds)
    return {"design": design, "raw": raw}


def _acc(raw, a, i, d, field="test_acc") -> list:
    return column(raw, field, kind="train", activation=a, init=i, depth=d)


def _n_test(design: dict) -> int:
    """Test examples behind each per-seed accuracy."""
    return design["n_test"][design["dataset"]]


def _acc_est(design: dict, test_acc):
    """A cell's mean test accuracy with its bounded interval (stats.accuracy_ci)."""
    return acc_est(test_acc, _n_test(design))


def _learns(design: dict, test_acc) -> bool:
    e = _acc_est(design, test_acc)
    return e.has_ci and e.low > TRAINS


def _learnable(design: dict, raw: list[dict]) -> list[int]:
    """The depths at which any activation under any init learns in the budget (the judged depth
    is the deepest of them)."""
    return [d for d in design["depths"]
            if any(_learns(design, _acc(raw, a, i, d)) for a, i in design["grid"])]


def _accuracy_and_reach(design: dict, raw: list[dict]) -> tuple[dict, dict, dict]:
    """Per-cell accuracy and loss, each activation/init's reach and the diverged cells."""
    table, reach = {}, {}
    for a, i in design["grid"]:
        reach[f"{a}/{i}"], unbroken = 0, True  # the deepest depth up to which every depth learns
        for d in sorted(design["depths"]):
            table[f"{a}/{i}/depth{d}"] = {"test_acc": _acc_est(design, _acc(raw, a, i, d))
                                          .to_dict(),
                                          "train_loss": est(_acc(raw, a, i, d,
                                                                 "train_loss")).to_dict()}
            unbroken = unbroken and _learns(design, _acc(raw, a, i, d))
            if unbroken:
                reach[f"{a}/{i}"] = d
    diverged = {}  # cells where some seed's training loss became non-finite
    for a in design["activations"]:
        for d in design["depths"]:
            for i in design["inits"]:
                loss = np.asarray(_acc(raw, a, i, d, "train_loss"), dtype=float)
                if not np.isfinite(loss).all():
                    diverged.setdefault(f"{a}/{i}", []).append(d)
    return table, reach, diverged


def _evidence(m: dict) -> dict:
    design, raw = m["design"], m["raw"]
    grid = [tuple(g) for g in design["grid"]]
    inits = [i for a, i in grid if a == "relu"]
    others = [a for a in ("tanh", "sigmoid") if any(g[0] == a for g in grid)]
    table, reach, diverged = _accuracy_and_reach(design, raw)
    learnable = _learnable(design, raw)
    deep = max(learnable) if learnable else max(design["depths"])
    trains = {i: _learns(design, _acc(raw, "relu", i, deep)) for i in inits}
    fails = {}
    for i in inits:
        e = _acc_est(design, _acc(raw, "relu", i, deep))
        fails[i] = e.has_ci and e.high < FAILS
    cmp = {}
    for i in inits:
        for a in (a for a in others if (a, i) in grid):
            d = paired_diff_ci(_acc(raw, "relu", i, deep), _acc(raw, a, i, deep))
            cmp[f"{a}/{i}"] = {"outcome": compare(d, MARGIN), "diff": d.to_dict()}
    mc = select(raw, kind="dead_network_mc")
    dying_units = sum(design["dying_widths"][1:-1])  # hidden units behind each share
    dying = {f"lr={lr:g}": acc_est(column(raw, "dead_final", kind="dying", lr=lr),
                                   dying_units).to_dict()
             for lr in design["dying_lrs"]}
    return {
        "judged_depth": deep, "deepest_depth": max(design["depths"]), "accuracy": table,
        "reach": reach, "diverged": diverged,
        "relu_trains_at_judged_depth": trains, "relu_fails_at_judged_depth": fails,
        "relu_minus_other_at_judged_depth": cmp,
        "dead_network_formula": {
            "cells": len(mc), "formula_inside_interval": sum(c["agrees"] for c in mc),
            "control_cells_agreeing": sum(c["agrees"] for c in select(
                raw, kind="dead_network_control")),
            "cells_detail": [{k: c[k] for k in ("width", "depth", "p", "low", "high", "theory")}
                             for c in mc]},
        "relu_dead_units_at_init": {i: acc_est(_acc(raw, "relu", i, deep, "dead_init"),
                                               design["width"] * deep).to_dict()
                                    for i in inits},
        "relu_dead_units_after_adam": dying,
    }


def _key(design: dict, raw: list[dict], ev: dict) -> str:
    deep, inits, others = ev["judged_depth"], _relu_inits(design), _others(design)
    mc = ev["dead_network_formula"]
    top = max(design["dying_lrs"])
    top_e = ev["relu_dead_units_after_adam"][f"lr={top:g}"]
    return (f"depth {deep} acc ({'/'.join(inits)}): relu "
            + "/".join(_pct_acc(raw, "relu", i, deep) for i in inits)
            + "".join(f", {a} " + "/".join(_pct_acc(raw, a, i, deep) for i in inits
                                           if [a, i] in design["grid"])
                      for a in others)
            + f"; 1-(1-2^-N)^L in MC CI {mc['formula_inside_interval']}/{mc['cells']}; "
            f"{100 * top_e['value']:.0f}% of units die at Adam lr {top:g}")


def _relu_inits(design: dict) -> list[str]:
    return [i for a, i in design["grid"] if a == "relu"]


def _others(design: dict) -> list[str]:
    return [a for a in ("tanh", "sigmoid") if any(g[0] == a for g in design["grid"])]


def _pct_acc(raw, a, i, d) -> str:
    return f"{100 * np.mean(_acc(raw, a, i, d)):.0f}%"


def _beats(design: dict, ev: dict, outcome: str) -> dict:
    """Init -> the saturating activations relu's comparison at the judged depth calls
    ``outcome`` ("greater" or "less")."""
    cmp = ev["relu_minus_other_at_judged_depth"]
    return {i: [a for a in _others(design) if cmp.get(f"{a}/{i}", {}).get("outcome") == outcome]
            for i in _relu_inits(design)}


def _text(design: dict, raw: list[dict], ev: dict) -> str:
    deep, inits, others = ev["judged_depth"], _relu_inits(design), _others(design)
    shallow, deepest, reach = min(design["depths"]), max(design["depths"]), ev["reach"]
    ok = [i for i in inits if ev["relu_trains_at_judged_depth"][i]]
    bad = [i for i in inits if ev["relu_fails_at_judged_depth"][i]]
    beats = _beats(design, ev, "greater")
    always = [a for a in others if all(a in beats[i] for i in inits)]
    sometimes = [a for a in others if a not in always and any(a in beats[i] for i in inits)]
    never = [a for a in others if not any(a in beats[i] for i in inits)]
    lead = [f"beats {', '.join(always)} under every init"] if always else []
    lead += [f"beats {', '.join(sometimes)} only under some inits"] if sometimes else []
    lead += [f"never beats {', '.join(never)}"] if never else []
    text = (f"At depth {deep} relu learns under {', '.join(ok) or 'no init'}"
            + (f" but stays at chance under {', '.join(bad)}" if bad else "")
            + (f" (undecided under {', '.join(i for i in inits if i not in ok + bad)})"
               if len(ok) + len(bad) < len(inits) else "")
            + ("; at equal init it " + ", ".join(lead) if lead else "") + ". ")
    text += (f"Test accuracy at depth {deep} (depth {shallow}): relu "
             + ", ".join(f"{_pct_acc(raw, 'relu', i, deep)} ({_pct_acc(raw, 'relu', i, shallow)})"
                         f" {i}" for i in inits)
             + "; " + "; ".join(f"{a} " + ", ".join(
                 f"{_pct_acc(raw, a, i, deep)} ({_pct_acc(raw, a, i, shallow)}) {i}"
                 for i in inits if [a, i] in design["grid"]) for a in others) + ". ")
    text += ("Deepest depth (of " + ", ".join(map(str, design["depths"])) + ") up to which each "
             f"learns (CI above {TRAINS:.2f}) in {design['steps']} steps: "
             + "; ".join(f"{i}: " + ", ".join(f"{a} {reach[f'{a}/{i}'] or '-'}"
                                               for a, j in design["grid"] if j == i)
                         for i in inits)
             + (f". No activation learns at depth {deepest} in this budget, so the rule is "
                f"judged at depth {deep}. " if deep < deepest else ". "))
    if ev["diverged"]:
        text += ("Training diverged (a non-finite loss in some seed) for "
                 + "; ".join(f"{c} at depth {', '.join(map(str, sorted(ds)))}"
                             for c, ds in ev["diverged"].items()) + ". ")
    mc, top = ev["dead_network_formula"], max(design["dying_lrs"])
    n_ctrl = len(select(raw, kind="dead_network_control"))
    text += (f"The born-dead formula 1 − (1 − 2^−N)^L lies inside the Monte Carlo interval in "
             f"{mc['formula_inside_interval']} of {mc['cells']} cells (the asymmetric-weight "
             f"control: {mc['control_cells_agreeing']} of {n_ctrl}), and "
             f"{pct(ev['relu_dead_units_after_adam'][f'lr={top:g}'])} of units die within "
             f"{design['dying_steps']} Adam steps at lr {top:g}.")
    return text


def _conditions(design: dict, ev: dict) -> str:
    """The conditions the article omits, for a partly supported verdict."""
    deep, inits, others = ev["judged_depth"], _relu_inits(design), _others(design)
    ok = [i for i in inits if ev["relu_trains_at_judged_depth"][i]]
    beats = _beats(design, ev, "greater")
    cond = []
    if len(ok) < len(inits):
        cond.append(f"the init (relu trains at depth {deep} only under {', '.join(ok)}; "
                    f"not under {', '.join(i for i in inits if i not in ok)})")
    notbeat = sorted({a for i in inits for a in others if a not in beats[i]})
    if notbeat:
        cond.append("the comparison: relu does not beat " + ", ".join(
            f"{a} (under {', '.join(i for i in inits if a not in beats[i])})"
            for a in notbeat))
    return " Conditions the article omits: " + "; ".join(cond) + "."


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    evidence = _evidence(m)
    key = _key(design, raw, evidence)
    cells = [(a, i, d) for a, i in design["grid"] for d in design["depths"]]
    if any(len(_acc(raw, a, i, d)) < MIN_SEEDS for a, i, d in cells):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds per cell: no verdict.")
    if not _learnable(design, raw):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"No activation learns at any depth within {design['steps']} steps under "
                       "any init: the budget is too small to judge trainability.")
    text = _text(design, raw, evidence)
    inits, others, deep = _relu_inits(design), _others(design), evidence["judged_depth"]
    ok = [i for i in inits if evidence["relu_trains_at_judged_depth"][i]]
    bad = [i for i in inits if evidence["relu_fails_at_judged_depth"][i]]
    beats, loses = _beats(design, evidence, "greater"), _beats(design, evidence, "less")
    if len(ok) == len(inits) and all(len(beats[i]) == len(others) for i in inits):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if len(bad) == len(inits) or all(len(loses[i]) == len(others) for i in inits):
        return Outcome(Verdict.REFUTED, key, evidence, text)
    if ok:
        return Outcome(Verdict.PARTLY, key, evidence, text + _conditions(design, evidence))
    undecided = [i for i in inits if i not in ok + bad]
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + f" No init lets relu learn clearly at depth {deep}: its accuracy "
                   f"interval straddles {TRAINS:.2f} under {', '.join(undecided)} (the seeds "
                   "disagree)" + (f" and lies below {FAILS:.2f} under {', '.join(bad)}"
                                  if bad else "")
                   + ", so the rule cannot decide; the reach above compares the activations "
                   "at the depths where they learn.")


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
            es = [_acc_est(design, _acc(raw, a, i, d)) for d in design["depths"]]
            ax.errorbar(design["depths"], [e.value for e in es], yerr=error_bars(es),
                        marker="o", ms=3, capsize=2, label=a, **style(a))
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.7)
        ax.set_title(f"init: {i}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(design["depths"], [str(d) for d in design["depths"]])
        ax.set_xlabel("depth (hidden layers)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("test accuracy (95% CI)")
    fig.suptitle(f"C09: MNIST-1D accuracy after {design['steps']} SGD steps vs depth "
                 f"(width {design['width']}, {design['seeds']} seeds)")
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
                     fmt="o", ms=3, capsize=2, color=f"C{k}", label=f"MC, N={n}")
        ax1.plot(L, [c["theory"] for c in cells], color=f"C{k}", lw=0.8)
        ax1.plot(L, column(raw, "p", kind="dead_network_control", width=n), "x",
                 color=f"C{k}", ms=4)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("depth L")
    ax1.set_ylabel("P(dead at an input)")
    ax1.set_title("lines: 1-(1-2^-N)^L; x: weights of mean -0.3", fontsize=8)
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
