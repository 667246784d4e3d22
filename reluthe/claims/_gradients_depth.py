"""C09: does ReLU's constant gradient let deep networks learn? Trainability vs depth, dead units.

Three measurements: (1) MLPs of increasing depth trained with a fixed SGD budget on MNIST-1D for
each activation × init (test accuracy and training loss, seeds batched with ``train_mlps``);
(2) the probability that a random bias-free ReLU network is dead at an input, by Monte Carlo,
against ``1 - (1 - 2^-N)^L``; (3) the share of units that die during training at a normal and
at large learning rates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._gradients_common import CHANCE, est, mnist1d, pct, style
from reluthe.stats import compare, paired_diff_ci

TRAINS = CHANCE + 0.10  # CI lower bound above this: the network learned
FAILS = CHANCE + 0.05  # CI upper bound below this: it stayed at chance
MARGIN = 0.02  # accuracy difference that counts


ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid")
INITS = ("default", "he", "xavier")


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
    """One activation at one depth: every init × seed as one batched run; a record per init."""
    from reluthe.models import mlp
    from reluthe.probes.dead import dead_unit_share
    from reluthe.train import Recipe, train_mlps

    ds, depth, width, seeds, inits = (item["ds"], item["depth"], item["width"], item["seeds"],
                                      item["inits"])
    widths = [ds.input_dim] + [width] * depth + [ds.n_classes]
    recipe = Recipe(optimizer="sgd", lr=item["lr"], momentum=0.9, batch_size=128,
                    steps=item["steps"], eval_every=item["steps"])
    res = train_mlps(ds, widths, seeds=seeds, recipes=[recipe] * len(inits),
                     activation=item["act"], init=inits)
    x = ds.x_train.reshape(len(ds.x_train), -1)
    hidden = res.hidden(x)
    died = [float(np.mean([(h[k] == 0).all(0).double().mean().item() for h in hidden]))
            for k in range(res.n_members)]
    out = []
    for r, init in enumerate(inits):
        ks = range(r * len(seeds), (r + 1) * len(seeds))
        born = [float(dead_unit_share(mlp(widths, item["act"], init, seed=s), x).mean())
                for s in seeds]
        out.append({"activation": item["act"], "init": init, "depth": depth,
                    "seeds": list(seeds), "test_acc": res.test_acc[ks, -1].tolist(),
                    "train_loss": res.train_loss[ks, -1].tolist(), "dead_init": born,
                    "dead_final": [died[k] for k in ks],
                    "batched_run_time_s": res.time_s})  # shared by the inits of this run
    return out


def measure_c09(ctx) -> dict:
    from reluthe.probes.dead import dead_network_mc, dying_units

    cfg = _config(ctx.quick, ctx.full)
    ds = mnist1d(ctx)
    seeds = [ctx.seed + i for i in range(cfg["seeds"])]
    items = [{"ds": ds, "act": a, "inits": cfg["inits"], "depth": d, "width": cfg["width"],
              "seeds": seeds, "steps": cfg["steps"], "lr": cfg["lr"]}
             for a in cfg["activations"] for d in cfg["depths"]]
    ctx.log(f"C09: {len(items)} batched trainings of {len(cfg['inits'])} inits × "
            f"{len(seeds)} seeds")
    runs = [r for unit in ctx.map(_train_unit, items) for r in unit]
    cells = [(n, L) for n in cfg["mc_widths"] for L in cfg["mc_depths"]]
    mc = [dead_network_mc(n, L, n_trials=cfg["mc_trials"], seed=ctx.seed + k,
                          confidence=1 - 0.05 / len(cells)).to_dict()
          for k, (n, L) in enumerate(cells)]
    control = [dead_network_mc(n, L, n_trials=cfg["mc_trials"], seed=ctx.seed + 1000 + k,
                               weight_mean=-0.3, confidence=1 - 0.05 / len(cells)).to_dict()
               for k, (n, L) in enumerate(cells)]
    ctx.log("C09: dying units at several learning rates")
    dying = dying_units(ds, [ds.input_dim, cfg["dying_width"], cfg["dying_width"], 10],
                        lrs=cfg["dying_lrs"], seeds=seeds, optimizer="adam",
                        steps=cfg["dying_steps"])
    grid = [[a, i] for a in cfg["activations"] for i in cfg["inits"]]
    return {"config": {**cfg, "grid": grid}, "base_seed": ctx.seed, "dataset": "mnist1d",
            "recipe": {"optimizer": "sgd", "momentum": 0.9, "lr": cfg["lr"], "batch_size": 128,
                       "steps": cfg["steps"]},
            "runs": runs, "dead_network_mc": mc, "dead_network_control": control,
            "dying_units": dying}


RULE_C09 = (
    "Trainability: MLPs of depth {2, 4, 8, 16, 32} hidden layers of width 48 (128 with --full) "
    "trained on MNIST-1D with SGD (momentum 0.9, lr 0.05, batch 128, 200 steps; 1000 with "
    "--full) for relu, leaky_relu, elu, gelu, tanh and sigmoid under the torch default, He and "
    "Xavier inits, 5 seeds each (the three inits of an activation and depth train as one "
    "batched run, member by member identical to separate runs). A cell 'learns' when its "
    f"test-accuracy CI lies above {TRAINS:.2f} (chance + 0.10) and 'fails' when it lies below "
    f"{FAILS:.2f}. The judged depth is the deepest of the grid at which any activation under any "
    "init learns (none: INCONCLUSIVE, the budget is too small); there relu is compared with "
    "tanh and sigmoid under the same init (same seed = same initial weights and batch order, "
    f"so a paired t CI of the difference; margin {MARGIN:.2f}). SUPPORTED: relu learns under "
    "every init and beats both saturating activations under every init; PARTLY: relu learns "
    "under some init but fails or does not beat them under another (the condition, e.g. the "
    "init, is named); REFUTED: relu fails under every init or loses to both under every init; "
    "INCONCLUSIVE otherwise or with fewer than 2 seeds. Reported beside the verdict: each "
    "activation's reach (the deepest depth up to which it learns at every depth), the Monte "
    "Carlo probability that a bias-free ReLU net (width N, depth L, Gaussian weights) is dead "
    "at an input against 1 − (1 − 2^−N)^L (agreement: the formula inside the "
    "Bonferroni-corrected Clopper-Pearson interval; a control with weights of mean −0.3 breaks "
    "the symmetry assumption), and the share of units that die (zero on every training input) "
    "after 200 Adam steps at lr 1e-3, 1e-2, 5e-2."
)


def _acc(m, a, i, d):
    for r in m["runs"]:
        if (r["activation"], r["init"], r["depth"]) == (a, i, d):
            return r
    return None


def _learns(r) -> bool:
    e = est(r["test_acc"])
    return e.has_ci and e.low > TRAINS


def decide_c09(m: dict) -> Outcome:
    cfg = m["config"]
    shallow = min(cfg["depths"])
    grid = [tuple(g) for g in cfg["grid"]]
    inits = [i for a, i in grid if a == "relu"]
    others = [a for a in ("tanh", "sigmoid") if any(g[0] == a for g in grid)]
    table, reach = {}, {}
    for a, i in grid:
        reach[f"{a}/{i}"], unbroken = 0, True  # the deepest depth up to which every depth learns
        for d in sorted(cfg["depths"]):
            r = _acc(m, a, i, d)
            table[f"{a}/{i}/depth{d}"] = {"test_acc": est(r["test_acc"]).to_dict(),
                                          "train_loss": est(r["train_loss"]).to_dict()}
            unbroken = unbroken and _learns(r)
            if unbroken:
                reach[f"{a}/{i}"] = d
    diverged = {}  # cells where some seed's training loss became non-finite
    for r in m["runs"]:
        if not np.isfinite(np.asarray(r["train_loss"], dtype=float)).all():
            diverged.setdefault(f"{r['activation']}/{r['init']}", []).append(r["depth"])
    # the judged depth: the deepest at which any activation under any init learns in the budget
    learnable = [d for d in cfg["depths"] if any(_learns(_acc(m, a, i, d)) for a, i in grid)]
    deep = max(learnable) if learnable else max(cfg["depths"])
    trains, fails, cmp = {}, {}, {}
    for i in inits:
        e = est(_acc(m, "relu", i, deep)["test_acc"])
        trains[i] = _learns(_acc(m, "relu", i, deep))
        fails[i] = e.has_ci and e.high < FAILS
        for a in others:
            if (a, i) in grid:
                d = paired_diff_ci(_acc(m, "relu", i, deep)["test_acc"],
                                   _acc(m, a, i, deep)["test_acc"])
                cmp[a, i] = (compare(d, MARGIN), d)
    mc, ctrl = m["dead_network_mc"], m["dead_network_control"]
    mc_agree = sum(c["agrees"] for c in mc)
    ctrl_agree = sum(c["agrees"] for c in ctrl)
    dy = m["dying_units"]
    dying = {f"lr={lr:g}": est(v).to_dict() for lr, v in zip(dy["lrs"], dy["dead_final"])}
    born = {i: est(_acc(m, "relu", i, deep)["dead_init"]).to_dict() for i in inits}
    evidence = {
        "judged_depth": deep, "deepest_depth": max(cfg["depths"]), "accuracy": table,
        "reach": reach, "diverged": diverged,
        "relu_trains_at_judged_depth": trains, "relu_fails_at_judged_depth": fails,
        "relu_minus_other_at_judged_depth": {f"{a}/{i}": {"outcome": c, "diff": d.to_dict()}
                                        for (a, i), (c, d) in cmp.items()},
        "dead_network_formula": {"cells": len(mc), "formula_inside_interval": mc_agree,
                                 "control_cells_agreeing": ctrl_agree,
                                 "cells_detail": [{k: c[k] for k in ("width", "depth", "p",
                                                                     "low", "high", "theory")}
                                                  for c in mc]},
        "relu_dead_units_at_init": born, "relu_dead_units_after_adam": dying,
    }

    def acc(a, i, d=deep):
        r = _acc(m, a, i, d)
        return f"{100 * np.mean(r['test_acc']):.0f}%" if r else "n/a"

    top = max(dy["lrs"])
    top_e = est(dy["dead_final"][dy["lrs"].index(top)])
    key = (f"depth {deep} acc ({'/'.join(inits)}): relu "
           + "/".join(acc("relu", i) for i in inits)
           + "".join(f", {a} " + "/".join(acc(a, i) for i in inits if (a, i) in grid)
                     for a in others)
           + f"; 1-(1-2^-N)^L in MC CI {mc_agree}/{len(mc)}; "
           f"{100 * top_e.value:.0f}% of units die at Adam lr {top:g}")
    if any(len(r["test_acc"]) < 2 for r in m["runs"]):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Fewer than two seeds per cell: no confidence interval, no verdict.")
    if not learnable:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"No activation learns at any depth within {cfg['steps']} steps under any "
                       "init: the budget is too small to judge trainability.")
    ok = [i for i in inits if trains[i]]
    bad = [i for i in inits if fails[i]]
    beats = {i: [a for a in others if cmp.get((a, i), ("",))[0] == "greater"] for i in inits}
    loses = {i: [a for a in others if cmp.get((a, i), ("",))[0] == "less"] for i in inits}
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
             + ", ".join(f"{acc('relu', i)} ({acc('relu', i, shallow)}) {i}" for i in inits)
             + "; " + "; ".join(f"{a} " + ", ".join(f"{acc(a, i)} ({acc(a, i, shallow)}) {i}"
                                                   for i in inits if (a, i) in grid)
                                for a in others) + ". ")
    deepest = max(cfg["depths"])
    text += ("Deepest depth (of " + ", ".join(map(str, cfg["depths"])) + ") up to which each "
             f"learns (CI above {TRAINS:.2f}) in {cfg['steps']} steps: "
             + "; ".join(f"{i}: " + ", ".join(f"{a} {reach[f'{a}/{i}'] or '-'}"
                                               for a, j in grid if j == i) for i in inits)
             + (f". No activation learns at depth {deepest} in this budget, so the rule is "
                f"judged at depth {deep}. " if deep < deepest else ". "))
    if diverged:
        text += ("Training diverged (a non-finite loss in some seed) for "
                 + "; ".join(f"{c} at depth {', '.join(map(str, sorted(ds)))}"
                             for c, ds in diverged.items()) + ". ")
    text += (f"The born-dead formula 1 − (1 − 2^−N)^L lies inside the Monte Carlo interval in "
             f"{mc_agree} of {len(mc)} cells (the asymmetric-weight control: {ctrl_agree} of "
             f"{len(ctrl)}), and {pct(top_e)} of units die within {dy['steps']} Adam steps at "
             f"lr {top:g}.")
    all_beat = all(len(beats[i]) == len(others) for i in inits)
    if len(ok) == len(inits) and all_beat:
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if len(bad) == len(inits) or all(len(loses[i]) == len(others) for i in inits):
        return Outcome(Verdict.REFUTED, key, evidence, text)
    if ok:
        cond = []
        if len(ok) < len(inits):
            cond.append(f"the init (relu trains at depth {deep} only under {', '.join(ok)}; "
                        f"not under {', '.join(i for i in inits if i not in ok)})")
        notbeat = sorted({a for i in inits for a in others if a not in beats[i]})
        if notbeat:
            cond.append("the comparison: relu does not beat " + ", ".join(
                f"{a} (under {', '.join(i for i in inits if a not in beats[i])})"
                for a in notbeat))
        return Outcome(Verdict.PARTLY, key, evidence,
                       text + " Conditions the article omits: " + "; ".join(cond) + ".")
    undecided = [i for i in inits if i not in ok + bad]
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + f" No init lets relu learn clearly at depth {deep}: its accuracy "
                   f"interval straddles {TRAINS:.2f} under {', '.join(undecided)} (the seeds "
                   "disagree)" + (f" and lies below {FAILS:.2f} under {', '.join(bad)}"
                                  if bad else "")
                   + ", so the rule cannot decide; the reach above compares the activations "
                   "at the depths where they learn.")


def plot_c09(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    cfg = m["config"]
    grid = [tuple(g) for g in cfg["grid"]]
    inits = list(dict.fromkeys(i for _, i in grid))
    fig = Figure(figsize=(4 * len(inits), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(inits), sharey=True))
    for ax, i in zip(axes, inits):
        for a in dict.fromkeys(a for a, j in grid if j == i):
            es = [est(_acc(m, a, i, d)["test_acc"]) for d in cfg["depths"]]
            ax.errorbar(cfg["depths"], [e.value for e in es],
                        yerr=[[e.value - (e.low if e.has_ci else e.value) for e in es],
                              [(e.high if e.has_ci else e.value) - e.value for e in es]],
                        marker="o", ms=3, capsize=2, label=a, **style(a))
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.7)
        ax.set_title(f"init: {i}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(cfg["depths"], [str(d) for d in cfg["depths"]])
        ax.set_xlabel("depth (hidden layers)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("test accuracy (95% CI)")
    fig.suptitle(f"C09: MNIST-1D accuracy after {cfg['steps']} SGD steps vs depth "
                 f"(width {cfg['width']}, {cfg['seeds']} seeds)")
    fig.tight_layout()
    fig.savefig(figures_dir / "c09_accuracy_vs_depth.png", dpi=110)

    fig = Figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for k, n in enumerate(cfg["mc_widths"]):
        cells = [c for c in m["dead_network_mc"] if c["width"] == n]
        L = [c["depth"] for c in cells]
        p = np.array([c["p"] for c in cells])
        ax1.errorbar(L, p, yerr=[p - [c["low"] for c in cells], [c["high"] for c in cells] - p],
                     fmt="o", ms=3, capsize=2, color=f"C{k}", label=f"MC, N={n}")
        ax1.plot(L, [c["theory"] for c in cells], color=f"C{k}", lw=0.8)
        ctrl = [c for c in m["dead_network_control"] if c["width"] == n]
        ax1.plot(L, [c["p"] for c in ctrl], "x", color=f"C{k}", ms=4)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("depth L")
    ax1.set_ylabel("P(dead at an input)")
    ax1.set_title("lines: 1-(1-2^-N)^L; x: weights of mean -0.3", fontsize=8)
    ax1.legend(fontsize=7)
    dy = m["dying_units"]
    es = [est(v) for v in dy["dead_final"]]
    ax2.bar(range(len(es)), [e.value for e in es],
            yerr=[[e.value - (e.low if e.has_ci else e.value) for e in es],
                  [(e.high if e.has_ci else e.value) - e.value for e in es]], capsize=3)
    ax2.set_xticks(range(len(es)), [f"lr {lr:g}" for lr in dy["lrs"]])
    ax2.set_ylabel("share of dead hidden units")
    ax2.set_title(f"relu {'-'.join(map(str, dy['widths']))}, Adam, {dy['steps']} steps",
                  fontsize=8)
    fig.suptitle("C09: born-dead networks (Monte Carlo) and units dying in training")
    fig.tight_layout()
    fig.savefig(figures_dir / "c09_dead_units.png", dpi=110)
    return ["c09_accuracy_vs_depth.png", "c09_dead_units.png"]
