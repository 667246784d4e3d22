"""C04: does sparse activation cause better generalization?

The article: ReLU's sparse activation "improves generalization". Sparsity is varied while the
activation is held fixed (ReLU, mnist1d, recipe "adam"):

* an L1 activity penalty sweep and a bias-initialisation shift sweep; the sparsity of a net is
  the exact-zero fraction of its hidden units on test inputs, averaged over layers;
* a leaky-slope sweep alpha in {0, ...}: leaky ReLU with alpha > 0 has no exact zeros and about
  the same share of units in the negative regime (reported); what alpha changes is how much of
  the negative regime passes, so the sparsity variable of this sweep is ``-alpha`` (alpha = 0 is
  exactly sparse, larger alpha less so);
* the shuffled-label control: nets trained on randomly permuted labels (they can only
  memorise) with their sparsity and test accuracy;
* relu against leaky_relu and elu (similar shape, no exact zeros) on both datasets and recipes.

One raw row per net (part "intervention", "leaky", "shuffled" or "relu_vs_smooth", and seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims.sparsity._common import (
    acc_est,
    cells,
    classify,
    est,
    fmt_est,
    inconclusive,
    paired,
    pp,
    rho,
    too_few,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import (
    base_design,
    dataset,
    grid,
    interventions,
    interventions_recipes,
    leaky,
    member_slice,
    shuffle_seed,
    shuffled,
)
from reluthe.probes.sparsity import stacked_sparsity
from reluthe.stats import diff_ci

NULL, MARGIN = 0.3, 0.01
RULE = (
    f"Statistic per intervention (L1 activity sweep, bias-shift sweep, leaky-slope sweep; ReLU "
    f"family held fixed, mnist1d, >= {MIN_SEEDS} seeds per value): Spearman ρ over cells with a "
    f"cluster bootstrap by seed (BCa) between a net's sparsity (exact-zero fraction of hidden "
    f"units on test inputs, mean over layers; for the leaky sweep -alpha) and its test accuracy, "
    f"over all nets (cells) of the sweep; the seeded 95 % interval resamples whole model seeds, "
    f"as the nets of one seed share its initial weights and batches: 'positive' if the "
    f"interval is above 0, 'negative' if below, "
    f"'null' if inside ±{NULL}, else 'unclear'. Controls: nets trained on shuffled labels "
    f"(Welch difference of sparsity vs the true-label baseline) and relu vs leaky_relu and elu "
    f"(paired test-accuracy difference, margin {MARGIN:.0%}, both datasets and recipes). "
    f"Supported: >= 2 interventions positive, none negative, relu never loses to leaky_relu or "
    f"elu, and shuffled-label nets are not sparser. Refuted: no intervention positive and at "
    f"least one negative, or all three null. Partly: some intervention positive but a condition "
    f"above fails (named). Inconclusive: fewer than {MIN_SEEDS} seeds, or nothing else applies."
)


def _net_rows(res, ds, members, activation="relu", params=None, **cell) -> list[dict]:
    """One row per member in ``members``: sparsity per layer and overall, accuracies."""
    s = stacked_sparsity(res.weights, ds.x_test, activation, params)
    t = stacked_sparsity(res.weights, ds.x_train, activation, params)
    return [{"seed": int(res.seeds[k]), **cell,
             "zero_layers": s["zero_fraction"][k].tolist(),
             "zero_layers_train": t["zero_fraction"][k].tolist(),
             "negative_layers": s["negative_fraction"][k].tolist(),
             "sparsity": float(s["zero_fraction"][k].mean()),
             "test_acc": float(res.test_acc[k, -1]), "train_acc": float(res.train_acc[k, -1])}
            for k in members]


def _smooth_rows(ctx: Context) -> list[dict]:
    """relu, leaky_relu and elu test accuracies of the grid, every dataset and recipe."""
    p = protocol(ctx.quick)
    rows = []
    for dsname in p.datasets:
        for act in (a for a in ("relu", "leaky_relu", "elu") if a in p.activations):
            g = grid(ctx, dsname, act)
            for recipe in p.recipe_names(dsname):
                s = member_slice(ctx.quick, dsname, recipe)
                rows += [{"seed": int(g.seeds[k]), "part": "relu_vs_smooth", "dataset": dsname,
                          "recipe": recipe, "activation": act,
                          "test_acc": float(g.test_acc[k, -1])} for k in range(s.start, s.stop)]
    return rows


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = dataset(ctx, "mnist1d")
    ctx.log("C04: L1 and bias-shift sweeps")
    res = interventions(ctx)
    raw = []
    for r, (kind, value, _) in enumerate(interventions_recipes(ctx.quick)):
        raw += _net_rows(res, ds, range(r * p.n_seeds, (r + 1) * p.n_seeds),
                         part="intervention", kind=kind, value=value)
    ctx.log("C04: leaky slopes")
    sl = member_slice(ctx.quick, "mnist1d", "adam")
    raw += _net_rows(grid(ctx, "mnist1d", "relu"), ds, range(sl.start, sl.stop), part="leaky",
                     alpha=0.0)
    for a in p.leaky_slopes:
        lr = leaky(ctx, a)
        raw += _net_rows(lr, ds, range(lr.n_members), "leaky_relu", {"alpha": a}, part="leaky",
                         alpha=a)
    ctx.log("C04: shuffled labels")
    sh = shuffled(ctx)
    raw += _net_rows(sh, ds, range(sh.n_members), part="shuffled")
    raw += _smooth_rows(ctx)
    design = {**base_design(ctx), "shuffle_seed": shuffle_seed(ctx),
              "interventions": [[k, v] for k, v, _ in interventions_recipes(ctx.quick)],
              "leaky_slopes": [0.0, *p.leaky_slopes], "datasets": list(p.datasets),
              "hidden": list(p.hidden),
              "n_test": {d: int(len(dataset(ctx, d).x_test)) for d in p.datasets},
              "n_train": {"mnist1d": int(len(ds.x_train))}}
    return {"design": design, "raw": raw}


def _classify_rho(e) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low > 0:
        return "positive"
    if e.high < 0:
        return "negative"
    if -NULL <= e.low and e.high <= NULL:
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


def _groups(raw, part: str, by: tuple[str, ...]) -> list[dict]:
    """The cells of ``part`` with their ``by`` fields as scalars, in record order."""
    return [{**c, **dict(zip(by, k))} for k, c in cells(raw, by, part=part).items()]


def _sweep_stats(rows: list[dict], lk: list[dict], seed: int) -> dict:
    base = [r for r in rows if r["kind"] == "none"]
    groups = {
        "l1": (base + [r for r in rows if r["kind"] == "l1"], "sparsity"),
        "bias_shift": (base + [r for r in rows if r["kind"] == "bias_shift"], "sparsity"),
        "leaky_slope": (lk, lambda r: -r["alpha"]),
    }
    stats = {}
    for name, (nets, x_key) in groups.items():
        x, acc, gap = _sweep(nets, x_key)
        seeds = [s for c in nets for s in c["seed"]]  # the cluster of each net: its model seed
        e_acc, e_gap = rho(x, acc, seed, clusters=seeds), rho(x, gap, seed, clusters=seeds)
        stats[name] = {"rho_acc": e_acc.to_dict(), "rho_gap": e_gap.to_dict(),
                       "class": _classify_rho(e_acc), "n": int(len(x)),
                       "sparsity_range": [float(np.nanmin(x)), float(np.nanmax(x))]}
    return stats


def _smooth_comparisons(raw) -> list[dict]:
    by: dict = {}
    for (dsname, recipe, act), c in cells(raw, ("dataset", "recipe", "activation"),
                                          part="relu_vs_smooth").items():
        by.setdefault((dsname, recipe), {})[act] = c
    comps = []
    for (dsname, recipe), acts in by.items():
        for act in ("leaky_relu", "elu"):
            if "relu" in acts and act in acts:
                d = paired(acts["relu"]["test_acc"], acts[act]["test_acc"])
                comps.append({"dataset": dsname, "recipe": recipe, "other": act,
                              "diff": d.to_dict(), "result": classify(d, MARGIN)})
    return comps


def _detail(s: dict, rows: list[dict], sh: dict, layers: tuple, comps: list[dict]) -> str:
    base = [r for r in rows if r["kind"] == "none"]
    l1 = [r for r in rows if r["kind"] == "l1"]
    l1_txt = ""
    if l1 and base:
        top = max(l1, key=lambda r: r["value"])
        l1_txt = (f" The strongest L1 penalty ({top['value']:g}) raises sparsity from "
                  f"{est(base[0]['sparsity']).value:.0%} to {est(top['sparsity']).value:.0%} and "
                  f"changes test accuracy by {pp(paired(top['test_acc'], base[0]['test_acc']))}.")
    cmp_txt = "; ".join(f"{c['other']} {c['dataset']}/{c['recipe']}: {pp(c['diff'])}"
                        for c in comps)
    sh_layers, tr_layers = layers
    return (f"Holding the activation fixed, the rank correlation between sparsity and test "
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


def _verdict(classes: list[str], relu_loses: list[dict], shuffled_sparser: bool, key: str,
             evidence: dict, detail: str) -> Outcome:
    n_pos, n_neg = classes.count("positive"), classes.count("negative")
    if n_pos >= 2 and n_neg == 0 and not relu_loses and not shuffled_sparser:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if (n_pos == 0 and n_neg >= 1) or classes.count("null") == len(classes):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "Making ReLU nets sparser does not improve test accuracy. " + detail)
    if n_pos == 0:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "No intervention separates a positive from a negative relation; more "
                       "seeds or wider sweeps would. " + detail)
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


def decide(measured: dict) -> Outcome:
    raw = measured["raw"]
    rows = _groups(raw, "intervention", ("kind", "value"))
    lk = _groups(raw, "leaky", ("alpha",))
    sh = _groups(raw, "shuffled", ())[0]
    few = too_few(*[r["test_acc"] for r in rows], *[r["test_acc"] for r in lk], sh["test_acc"])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    stats = _sweep_stats(rows, lk, measured["design"]["bootstrap_seed"])
    true = next((r for r in rows if r["kind"] == "none"), lk[0])
    d_sp = diff_ci(sh["sparsity"], true["sparsity"])
    layers = tuple(np.asarray(c["zero_layers_train"], float).mean(0) for c in (sh, true))
    shuffled_sparser = d_sp.has_ci and d_sp.low > 0
    comps = _smooth_comparisons(raw)
    design = measured["design"]
    evidence = {"sweeps": stats, "shuffled_minus_true_sparsity": d_sp.to_dict(),
                "shuffled_test_acc": acc_est(sh["test_acc"], design["n_test"]["mnist1d"])
                .to_dict(),
                "shuffled_train_acc": acc_est(sh["train_acc"], design["n_train"]["mnist1d"])
                .to_dict(),
                "shuffled_zero_per_layer_train": layers[0].tolist(),
                "true_zero_per_layer_train": layers[1].tolist(),
                "relu_vs_no_exact_zeros": comps}
    key = (f"ρ(sparsity, test acc): L1 {fmt_est(stats['l1']['rho_acc'], 1, 2)}, bias shift "
           f"{fmt_est(stats['bias_shift']['rho_acc'], 1, 2)}, "
           f"leak {fmt_est(stats['leaky_slope']['rho_acc'], 1, 2)}"
           f"; shuffled labels {'sparser' if shuffled_sparser else 'not sparser'} "
           f"({pp(d_sp)}) at {est(sh['test_acc']).value:.0%} test acc")
    return _verdict([s["class"] for s in stats.values()],
                    [c for c in comps if c["result"] == "less"], shuffled_sparser, key, evidence,
                    _detail(stats, rows, sh, layers, comps))


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, n_test = measured["raw"], measured["design"]["n_test"]
    fig, axes = new_figure(10.5, 3.8, 3)
    rows = _groups(raw, "intervention", ("kind", "value"))
    for kind, marker in (("none", "s"), ("l1", "o"), ("bias_shift", "^")):
        for r in (r for r in rows if r["kind"] == kind):
            errbar(axes[0], [est(r["sparsity"]).value], [acc_est(r["test_acc"],
                                                                 n_test["mnist1d"])],
                   fmt=marker, label=f"{kind} {r['value']:g}")
    sh = _groups(raw, "shuffled", ())[0]
    errbar(axes[0], [est(sh["sparsity"]).value], [acc_est(sh["test_acc"], n_test["mnist1d"])],
           fmt="x", color="k", label="shuffled labels")
    axes[0].set_xlabel("exact-zero fraction (test inputs, mean over layers)")
    axes[0].set_ylabel("test accuracy (95 % CI)")
    axes[0].legend(fontsize=6)
    axes[0].set_title("ReLU, mnist1d: sparsity interventions", fontsize=9)
    _plot_leaky(axes[1], _groups(raw, "leaky", ("alpha",)), n_test["mnist1d"])
    by: dict = {}
    for (dsname, recipe, act), c in cells(raw, ("dataset", "recipe", "activation"),
                                          part="relu_vs_smooth").items():
        by.setdefault((dsname, recipe), {})[act] = c
    for i, act in enumerate(("relu", "leaky_relu", "elu")):
        xs = np.arange(len(by)) + 0.15 * (i - 1)
        errbar(axes[2], xs, [acc_est(v[act]["test_acc"] if act in v else [np.nan], n_test[d])
                             for (d, _), v in by.items()], label=act)
    axes[2].set_xticks(np.arange(len(by)), [f"{d}\n{r}" for d, r in by], fontsize=7)
    axes[2].legend(fontsize=7)
    axes[2].set_title("exact zeros (relu) or not", fontsize=9)
    return [save(fig, figures_dir, "c04_sparsity_vs_test_accuracy.png")]


def _plot_leaky(ax, lk: list[dict], n_test: int) -> None:
    alphas = [r["alpha"] for r in lk]
    errbar(ax, alphas, [acc_est(r["test_acc"], n_test) for r in lk], label="test")
    ax2 = ax.twinx()
    ax2.plot(alphas, [est(r["sparsity"]).value for r in lk], "k:", label="exact zeros")
    ax2.plot(alphas, [float(np.mean(r["negative_layers"])) for r in lk], "g--",
             label="negative regime")
    ax2.set_ylim(0, 1)
    ax2.legend(fontsize=6, loc="lower left")
    ax.set_xlabel("leaky slope alpha")
    ax.set_title("leaky slope sweep", fontsize=9)
