"""C04: does sparse activation cause better generalization?

Sparsity is varied while the activation is held fixed (ReLU, mnist1d, recipe "adam"):

* an L1 activity penalty sweep and a bias-initialisation shift sweep; the sparsity of a net is
  the exact-zero fraction of its hidden units on test inputs, averaged over layers;
* a leaky-slope sweep alpha in {0, ...}: leaky ReLU with alpha > 0 has no exact zeros and about
  the same share of units in the negative regime (reported); what alpha changes is how much of
  the negative regime passes, so the sparsity variable of this sweep is ``-alpha`` (alpha = 0 is
  exactly sparse, larger alpha less so);
* the shuffled-label control: nets trained on randomly permuted labels (they can only
  memorise) with their sparsity and test accuracy;
* relu against leaky_relu and elu (similar shape, no exact zeros) on both datasets and recipes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._sparsity_common import (
    classify,
    errbar,
    est,
    fmt_est,
    inconclusive,
    new_figure,
    paired,
    pp,
    rho,
    save,
    too_few,
)
from reluthe.claims._sparsity_protocol import MIN_SEEDS, protocol
from reluthe.claims._sparsity_runs import (
    grid,
    interventions,
    interventions_recipes,
    leaky,
    load,
    member_slice,
    shuffled,
)
from reluthe.probes.sparsity import stacked_sparsity
from reluthe.stats import diff_ci

C04_NULL, C04_MARGIN = 0.3, 0.01
C04_RULE = (
    f"Statistic per intervention (L1 activity sweep, bias-shift sweep, leaky-slope sweep; ReLU "
    f"family held fixed, mnist1d, >= {MIN_SEEDS} seeds per value): Spearman correlation between "
    f"a net's sparsity (exact-zero fraction of hidden units on test inputs, mean over layers; "
    f"for the leaky sweep -alpha) and its test accuracy, over all nets of the sweep, with a "
    f"seeded bootstrap 95 % interval: 'positive' if the interval is above 0, 'negative' if below, "
    f"'null' if inside ±{C04_NULL}, else 'unclear'. Controls: nets trained on shuffled labels "
    f"(Welch difference of sparsity vs the true-label baseline) and relu vs leaky_relu and elu "
    f"(paired test-accuracy difference, margin {C04_MARGIN:.0%}, both datasets and recipes). "
    f"Supported: >= 2 interventions positive, none negative, relu never loses to leaky_relu or "
    f"elu, and shuffled-label nets are not sparser. Refuted: no intervention positive and at "
    f"least one negative, or all three null. Partly: some intervention positive but a condition "
    f"above fails (named). Inconclusive: fewer than {MIN_SEEDS} seeds, or nothing else applies."
)


def _block(weights, ds, activation="relu", params=None) -> dict:
    s = stacked_sparsity(weights, ds.x_test, activation, params)
    t = stacked_sparsity(weights, ds.x_train, activation, params)
    return {"zero_layers": s["zero_fraction"].tolist(),
            "zero_layers_train": t["zero_fraction"].tolist(),
            "negative_layers": s["negative_fraction"].tolist(),
            "sparsity": s["zero_fraction"].mean(1).tolist()}


def _slice_block(block: dict, sl: slice) -> dict:
    return {k: v[sl] for k, v in block.items()}


@single_threaded
def measure_c04(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = load("mnist1d", ctx.seed)
    ctx.log("C04: L1 and bias-shift sweeps")
    res = interventions(ctx.quick, ctx.seed, ctx.device)
    blk = _block(res.weights, ds)
    rows = []
    for r, (kind, value, _) in enumerate(interventions_recipes(ctx.quick)):
        sl = slice(r * p.n_seeds, (r + 1) * p.n_seeds)
        rows.append({"kind": kind, "value": value, **_slice_block(blk, sl),
                     "test_acc": res.test_acc[sl, -1].tolist(),
                     "train_acc": res.train_acc[sl, -1].tolist()})
    ctx.log("C04: leaky slopes")
    relu = grid(ctx.quick, ctx.seed, ctx.device, "mnist1d", "relu")
    sl = member_slice(ctx.quick, "mnist1d", "adam")
    leaky_rows = [{"alpha": 0.0, **_slice_block(_block(relu.weights, ds), sl),
                   "test_acc": relu.test_acc[sl, -1].tolist(),
                   "train_acc": relu.train_acc[sl, -1].tolist()}]
    for a in p.leaky_slopes:
        lr = leaky(ctx.quick, ctx.seed, ctx.device, a)
        leaky_rows.append({"alpha": a, **_block(lr.weights, ds, "leaky_relu", {"alpha": a}),
                           "test_acc": lr.test_acc[:, -1].tolist(),
                           "train_acc": lr.train_acc[:, -1].tolist()})
    ctx.log("C04: shuffled labels")
    sh = shuffled(ctx.quick, ctx.seed, ctx.device)
    control = {**_block(sh.weights, ds), "test_acc": sh.test_acc[:, -1].tolist(),
               "train_acc": sh.train_acc[:, -1].tolist()}
    cells = []
    for dsname in p.datasets:
        for act in ("relu", "leaky_relu", "elu"):
            if act not in p.activations:
                continue
            g = grid(ctx.quick, ctx.seed, ctx.device, dsname, act)
            for recipe in p.recipe_names(dsname):
                s = member_slice(ctx.quick, dsname, recipe)
                cells.append({"dataset": dsname, "recipe": recipe, "activation": act,
                              "test_acc": g.test_acc[s, -1].tolist()})
    return {"interventions": rows, "leaky": leaky_rows, "shuffled": control,
            "relu_vs_smooth": cells, "quick": ctx.quick}


def _classify_rho(e) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low > 0:
        return "positive"
    if e.high < 0:
        return "negative"
    if -C04_NULL <= e.low and e.high <= C04_NULL:
        return "null"
    return "unclear"


def _sweep(rows: list[dict], x_key) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, acc, gap = [], [], []
    for r in rows:
        x = r[x_key] if isinstance(x_key, str) else [x_key(r)] * len(r["test_acc"])
        xs += list(x)
        acc += list(r["test_acc"])
        gap += list(np.subtract(r["train_acc"], r["test_acc"]))
    return np.asarray(xs, float), np.asarray(acc, float), np.asarray(gap, float)


def decide_c04(measured: dict) -> Outcome:
    rows, lk, sh = measured["interventions"], measured["leaky"], measured["shuffled"]
    few = too_few(*[r["test_acc"] for r in rows], *[r["test_acc"] for r in lk], sh["test_acc"])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    base = [r for r in rows if r["kind"] == "none"]
    sweeps = {
        "l1": _sweep(base + [r for r in rows if r["kind"] == "l1"], "sparsity"),
        "bias_shift": _sweep(base + [r for r in rows if r["kind"] == "bias_shift"], "sparsity"),
        "leaky_slope": _sweep(lk, lambda r: -r["alpha"]),
    }
    stats = {}
    for name, (x, acc, gap) in sweeps.items():
        e_acc, e_gap = rho(x, acc), rho(x, gap)
        stats[name] = {"rho_acc": e_acc.to_dict(), "rho_gap": e_gap.to_dict(),
                       "class": _classify_rho(e_acc), "n": int(len(x)),
                       "sparsity_range": [float(np.nanmin(x)), float(np.nanmax(x))]}
    classes = [s["class"] for s in stats.values()]
    n_pos, n_neg = classes.count("positive"), classes.count("negative")
    true_sp = base[0]["sparsity"] if base else lk[0]["sparsity"]
    d_sp = diff_ci(sh["sparsity"], true_sp)
    sh_layers = np.asarray(sh["zero_layers_train"], float).mean(0)
    tr_layers = np.asarray((base[0] if base else lk[0])["zero_layers_train"], float).mean(0)
    shuffled_sparser = d_sp.has_ci and d_sp.low > 0
    comps = []
    by = {}
    for c in measured["relu_vs_smooth"]:
        by.setdefault((c["dataset"], c["recipe"]), {})[c["activation"]] = c
    for (dsname, recipe), acts in by.items():
        for act in ("leaky_relu", "elu"):
            if "relu" in acts and act in acts:
                d = paired(acts["relu"]["test_acc"], acts[act]["test_acc"])
                comps.append({"dataset": dsname, "recipe": recipe, "other": act,
                              "diff": d.to_dict(), "result": classify(d, C04_MARGIN)})
    relu_loses = [c for c in comps if c["result"] == "less"]
    evidence = {"sweeps": stats, "shuffled_minus_true_sparsity": d_sp.to_dict(),
                "shuffled_test_acc": est(sh["test_acc"]).to_dict(),
                "shuffled_train_acc": est(sh["train_acc"]).to_dict(),
                "shuffled_zero_per_layer_train": sh_layers.tolist(),
                "true_zero_per_layer_train": tr_layers.tolist(),
                "relu_vs_no_exact_zeros": comps}
    s = stats
    key = (f"ρ(sparsity, test acc): L1 {fmt_est(s['l1']['rho_acc'], 1, 2)}, bias shift "
           f"{fmt_est(s['bias_shift']['rho_acc'], 1, 2)}, "
           f"leak {fmt_est(s['leaky_slope']['rho_acc'], 1, 2)}"
           f"; shuffled labels {'sparser' if shuffled_sparser else 'not sparser'} "
           f"({pp(d_sp)}) at {est(sh['test_acc']).value:.0%} test acc")
    l1 = [r for r in rows if r["kind"] == "l1"]
    l1_txt = ""
    if l1 and base:
        top = max(l1, key=lambda r: r["value"])
        l1_txt = (f" The strongest L1 penalty ({top['value']:g}) raises sparsity from "
                  f"{est(base[0]['sparsity']).value:.0%} to {est(top['sparsity']).value:.0%} and "
                  f"changes test accuracy by {pp(paired(top['test_acc'], base[0]['test_acc']))}.")
    cmp_txt = "; ".join(f"{c['other']} {c['dataset']}/{c['recipe']}: {pp(c['diff'])}"
                        for c in comps)
    detail = (f"Holding the activation fixed, the rank correlation between sparsity and test "
              f"accuracy is {fmt_est(s['l1']['rho_acc'], 1, 2)} across the L1 sweep, "
              f"{fmt_est(s['bias_shift']['rho_acc'], 1, 2)} across the bias-shift sweep and "
              f"{fmt_est(s['leaky_slope']['rho_acc'], 1, 2)} across leaky slopes (smaller slope = "
              f"sparser); with the train–test gap: {fmt_est(s['l1']['rho_gap'], 1, 2)}, "
              f"{fmt_est(s['bias_shift']['rho_gap'], 1, 2)}, "
              f"{fmt_est(s['leaky_slope']['rho_gap'], 1, 2)}.{l1_txt} Nets that memorise "
              f"shuffled labels reach {est(sh['test_acc']).value:.1%} test accuracy (chance) with "
              f"exact-zero fractions per layer {'/'.join(f'{v:.0%}' for v in sh_layers)} on "
              f"training inputs vs {'/'.join(f'{v:.0%}' for v in tr_layers)} for true labels, so "
              f"sparsity by itself does not make a net generalize. relu minus activations without "
              f"exact zeros: {cmp_txt or 'n/a'}.")
    if n_pos >= 2 and n_neg == 0 and not relu_loses and not shuffled_sparser:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if (n_pos == 0 and n_neg >= 1) or classes.count("null") == len(classes):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "Making ReLU nets sparser does not improve test accuracy. " + detail)
    if n_pos >= 1:
        fails = []
        if n_pos < 2:
            fails.append("only one intervention shows a positive relation")
        if n_neg:
            fails.append("another shows a negative one")
        if relu_loses:
            fails.append("relu loses to an activation without exact zeros in "
                         + ", ".join(f"{c['dataset']}/{c['recipe']} vs {c['other']}"
                                     for c in relu_loses))
        if shuffled_sparser:
            fails.append("nets memorising shuffled labels are sparser yet at chance")
        return Outcome(Verdict.PARTLY, key, evidence,
                       "Sparsity goes with better generalization only under some interventions; "
                       + "; ".join(fails) + ". " + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "No intervention separates a positive from a negative relation; more seeds "
                   "or wider sweeps would. " + detail)


def plot_c04(measured: dict, figures_dir: Path) -> list[str]:
    fig, axes = new_figure(10.5, 3.8, 3)
    rows = measured["interventions"]
    for kind, marker in (("none", "s"), ("l1", "o"), ("bias_shift", "^")):
        for r in (r for r in rows if r["kind"] == kind):
            errbar(axes[0], [est(r["sparsity"]).value], [est(r["test_acc"])], fmt=marker,
                   label=f"{kind} {r['value']:g}")
    sh = measured["shuffled"]
    errbar(axes[0], [est(sh["sparsity"]).value], [est(sh["test_acc"])], fmt="x", color="k",
           label="shuffled labels")
    axes[0].set_xlabel("exact-zero fraction (test inputs, mean over layers)")
    axes[0].set_ylabel("test accuracy (95 % CI)")
    axes[0].legend(fontsize=6)
    axes[0].set_title("ReLU, mnist1d: sparsity interventions", fontsize=9)
    lk = measured["leaky"]
    errbar(axes[1], [r["alpha"] for r in lk], [est(r["test_acc"]) for r in lk], label="test")
    ax2 = axes[1].twinx()
    ax2.plot([r["alpha"] for r in lk], [est(r["sparsity"]).value for r in lk], "k:",
             label="exact zeros")
    ax2.plot([r["alpha"] for r in lk],
             [float(np.mean(r["negative_layers"])) for r in lk], "g--", label="negative regime")
    ax2.set_ylim(0, 1)
    ax2.legend(fontsize=6, loc="lower left")
    axes[1].set_xlabel("leaky slope alpha")
    axes[1].set_title("leaky slope sweep", fontsize=9)
    by = {}
    for c in measured["relu_vs_smooth"]:
        by.setdefault(f"{c['dataset']}\n{c['recipe']}", {})[c["activation"]] = c
    for i, act in enumerate(("relu", "leaky_relu", "elu")):
        xs = np.arange(len(by)) + 0.15 * (i - 1)
        errbar(axes[2], xs, [est(v[act]["test_acc"]) if act in v else est([np.nan])
                             for v in by.values()], label=act)
    axes[2].set_xticks(np.arange(len(by)), list(by), fontsize=7)
    axes[2].legend(fontsize=7)
    axes[2].set_title("exact zeros (relu) or not", fontsize=9)
    return [save(fig, figures_dir, "c04_sparsity_vs_test_accuracy.png")]
