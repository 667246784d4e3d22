"""C03 (sparse activation happens), C08 (sparse features are better) and C11 (ReLU generalizes
better), measured on the shared activation grid: every activation × recipe × seed on mnist1d and
digits (:func:`reluthe.claims._sparsity_runs.grid`)."""

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
from reluthe.claims._sparsity_protocol import MIN_SEEDS, NON_SPARSE, protocol
from reluthe.claims._sparsity_runs import (
    grid,
    init_weights,
    interventions,
    interventions_recipes,
    load,
    member_slice,
)
from reluthe.probes.generalization import linear_probe
from reluthe.probes.sparsity import stacked_forward, stacked_sparsity

# exact zeros after training reported by Glorot, Bordes & Bengio 2011 (MNIST, CIFAR-10)
GLOROT_MNIST, GLOROT_CIFAR10 = 0.834, 0.720
# a net whose mean train accuracy is this far below relu's is "not fitted" at the step budget
FIT_GAP = 0.10

# ---------------------------------------------------------------------------------------------
# C03: per-layer exact zeros at init and after training; dead units

C03_LOW, C03_HIGH = 0.05, 0.95
C03_RULE = (
    f"Statistic: per hidden layer, the fraction of exactly-zero ReLU outputs on test inputs after "
    f"training, mean over >= {MIN_SEEDS} seeds with a 95 % t interval, in every cell (dataset "
    f"mnist1d/digits × recipe adam/adam_l2 × layer). A cell is 'sparse' when its interval lies "
    f"inside [{C03_LOW}, {C03_HIGH}] (some units off and some on for a typical input), "
    f"'not sparse' when it lies entirely outside. Supported: every cell sparse. Partly: some "
    f"cells sparse, the others not. Refuted: no cell sparse. Inconclusive: fewer than "
    f"{MIN_SEEDS} seeds, or an interval straddles {C03_LOW} or {C03_HIGH}. Reported beside it: "
    f"the same at init (expected ~0.5), dead units (zero on every training input) and the "
    f"anchor of Glorot et al. 2011 ({GLOROT_MNIST:.1%} MNIST, {GLOROT_CIFAR10:.1%} CIFAR-10)."
)


def _sparsity_block(weights, ds, activation: str, sl: slice) -> dict:
    test = stacked_sparsity(weights, ds.x_test, activation)
    train = stacked_sparsity(weights, ds.x_train, activation)
    return {"zero_test": test["zero_fraction"][sl].tolist(),
            "zero_train": train["zero_fraction"][sl].tolist(),
            "negative_test": test["negative_fraction"][sl].tolist(),
            "dead_train": train["dead_fraction"][sl].tolist()}


@single_threaded
def measure_c03(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    cells = []
    for dsname in p.datasets:
        ds = load(dsname, ctx.seed)
        for act in p.activations:
            ctx.log(f"C03: {dsname} {act}")
            res = grid(ctx.quick, ctx.seed, ctx.device, dsname, act)
            start = init_weights(res.widths, act, res.seeds)
            for recipe in p.recipe_names(dsname):
                sl = member_slice(ctx.quick, dsname, recipe)
                cells.append({"dataset": dsname, "recipe": recipe, "activation": act,
                              "seeds": list(res.seeds[sl]),
                              "init": _sparsity_block(start, ds, act, sl),
                              "trained": _sparsity_block(res.weights, ds, act, sl)})
    return {"cells": cells, "hidden": list(p.hidden), "quick": ctx.quick,
            "anchors": {"init": 0.5, "glorot_mnist": GLOROT_MNIST,
                        "glorot_cifar10": GLOROT_CIFAR10}}


def _relu_cells(measured: dict) -> list[dict]:
    return [c for c in measured["cells"] if c["activation"] == "relu"]


def decide_c03(measured: dict) -> Outcome:
    cells = _relu_cells(measured)
    if not cells:
        return inconclusive("no ReLU cell was measured")
    few = too_few(*[c["trained"]["zero_test"] for c in cells])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS} for a "
                            "confidence interval")
    rows, states = [], []
    for c in cells:
        z = np.asarray(c["trained"]["zero_test"], dtype=float)
        z0 = np.asarray(c["init"]["zero_test"], dtype=float)
        dead = np.asarray(c["trained"]["dead_train"], dtype=float)
        for layer in range(z.shape[1]):
            e = est(z[:, layer])
            state = ("sparse" if e.low >= C03_LOW and e.high <= C03_HIGH else
                     "not sparse" if e.high < C03_LOW or e.low > C03_HIGH else "straddles")
            states.append(state)
            rows.append({"dataset": c["dataset"], "recipe": c["recipe"], "layer": layer + 1,
                         "trained": e.to_dict(), "init": est(z0[:, layer]).to_dict(),
                         "change": paired(z[:, layer], z0[:, layer]).to_dict(),
                         "dead_units": est(dead[:, layer]).to_dict(), "state": state})
    mn = [r for r in rows if r["dataset"] == "mnist1d" and r["recipe"] == "adam"] or rows[:2]
    layers = "/".join(f"{r['trained']['value']:.0%}" for r in mn)
    init = "/".join(f"{r['init']['value']:.0%}" for r in mn)
    dead_txt = []
    for dsname in dict.fromkeys(r["dataset"] for r in rows):
        worst = max((r for r in rows if r["dataset"] == dsname),
                    key=lambda r: r["dead_units"]["value"])
        share = worst["dead_units"]["value"] / max(worst["trained"]["value"], 1e-12)
        dead_txt.append(f"{worst['dead_units']['value']:.1%} on {dsname} ({worst['recipe']}, "
                        f"layer {worst['layer']}: {share:.0%} of that layer's zeros)")
    dead_max = max(r["dead_units"]["value"] for r in rows)
    zmin = min(r["trained"]["value"] for r in rows)
    zmax = max(r["trained"]["value"] for r in rows)
    key = (f"ReLU zeros per layer after training {layers} on mnist1d (init {init}); range "
           f"{zmin:.0%}–{zmax:.0%} over all cells; dead units ≤ {dead_max:.1%}")
    evidence = {"layers": rows, "anchors": measured.get("anchors", {})}
    detail = (f"After training, ReLU MLPs output exact zeros on {zmin:.0%}–{zmax:.0%} of "
              f"(input, unit) pairs per layer (mnist1d, recipe adam: {layers}; at init {init}, as "
              f"expected for symmetric weights), so on a typical input part of the units is off "
              f"and part on. Dead units (zero on every training input) are at most "
              f"{'; '.join(dead_txt)}; the other zeros depend on the input. This is less sparse "
              f"than the {GLOROT_MNIST:.1%} that Glorot et al. (2011) report for their (larger) "
              f"networks on MNIST. Other activations give no exact zeros.")
    if "straddles" in states:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Some interval straddles a threshold; more seeds would separate. " + detail)
    if all(s == "sparse" for s in states):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if all(s == "not sparse" for s in states):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "No layer shows a mix of active and inactive units. " + detail)
    bad = [f"{r['dataset']}/{r['recipe']}/layer {r['layer']}" for r in rows
           if r["state"] == "not sparse"]
    return Outcome(Verdict.PARTLY, key, evidence,
                   f"Sparse activation holds except in {', '.join(bad)}. " + detail)


def plot_c03(measured: dict, figures_dir: Path) -> list[str]:
    cells = _relu_cells(measured)
    fig, axes = new_figure(7.5, 3.8, 2)
    for ax, stage in zip(axes, ("init", "trained")):
        for i, c in enumerate(cells):
            z = np.asarray(c[stage]["zero_test"], dtype=float)
            xs = np.arange(z.shape[1]) + 1 + 0.12 * (i - (len(cells) - 1) / 2)
            errbar(ax, xs, [est(z[:, j]) for j in range(z.shape[1])],
                   label=f"{c['dataset']} / {c['recipe']}")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.axhline(GLOROT_MNIST, color="tab:red", lw=0.8, ls="--",
                   label="Glorot et al. 2011, MNIST")
        ax.set_title("at init" if stage == "init" else "after training")
        ax.set_xlabel("hidden layer")
        ax.set_xticks(range(1, len(cells[0][stage]["zero_test"][0]) + 1))
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("fraction of exact zeros (test inputs)")
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c03_zero_fraction.png")]


# ---------------------------------------------------------------------------------------------
# C11: test accuracy and generalization gap of relu vs the other activations

C11_MARGIN, C11_WIN_SHARE, C11_LOSE_SHARE = 0.01, 0.75, 0.5
C11_RULE = (
    f"Statistic: paired difference (same seeds: same init and batch order) of final test "
    f"accuracy relu − other, mean over >= {MIN_SEEDS} seeds with a 95 % t interval, for every "
    f"other activation × dataset (mnist1d, digits) × recipe (adam, adam_l2); classified with "
    f"a practical margin of {C11_MARGIN:.0%}: win (interval above +margin), loss (below "
    f"−margin), tie (inside ±margin) or unclear; a win over a nonlinear activation whose mean "
    f"train accuracy is more than {FIT_GAP:.0%} below relu's is a 'win (other not "
    f"fitted)', which measures trainability at the step budget, not generalization, and is not "
    f"counted as a win. Supported: relu beats the linear floor "
    f"(identity) in at least one cell and loses to it in none, and wins >= "
    f"{C11_WIN_SHARE:.0%} of the comparisons with the nonlinear activations, losing none. "
    f"Partly: relu beats identity somewhere and loses to it nowhere, but does not beat the "
    f"other nonlinear activations that often (the positive effect is that of any "
    f"nonlinearity). Refuted: relu loses to identity in some cell or is decided against it "
    f"everywhere (every cell a tie or loss), or loses >= {C11_LOSE_SHARE:.0%} of the nonlinear "
    f"comparisons. Inconclusive: fewer than {MIN_SEEDS} seeds, or no win over identity while "
    f"some cell is unclear. The generalization gap (train − test accuracy) is reported beside "
    f"it."
)


@single_threaded
def measure_c11(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    cells = []
    for dsname in p.datasets:
        for act in p.activations:
            ctx.log(f"C11: {dsname} {act}")
            res = grid(ctx.quick, ctx.seed, ctx.device, dsname, act)
            for recipe in p.recipe_names(dsname):
                sl = member_slice(ctx.quick, dsname, recipe)
                cells.append({"dataset": dsname, "recipe": recipe, "activation": act,
                              "seeds": list(res.seeds[sl]),
                              "test_acc": res.test_acc[sl, -1].tolist(),
                              "train_acc": res.train_acc[sl, -1].tolist(),
                              "steps": int(res.steps[-1])})
    return {"cells": cells, "quick": ctx.quick, "hidden": list(p.hidden)}


def _by_setting(cells: list[dict]) -> dict[tuple[str, str], dict[str, dict]]:
    out: dict = {}
    for c in cells:
        out.setdefault((c["dataset"], c["recipe"]), {})[c["activation"]] = c
    return out


def decide_c11(measured: dict) -> Outcome:
    settings = _by_setting(measured["cells"])
    few = too_few(*[c["test_acc"] for c in measured["cells"]])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    comps, floor, table = [], [], []
    for (dsname, recipe), acts in settings.items():
        relu = acts.get("relu")
        if relu is None:
            continue
        gap_relu = np.subtract(relu["train_acc"], relu["test_acc"])
        for act, c in acts.items():
            if act == "relu":
                continue
            d = paired(relu["test_acc"], c["test_acc"])
            g = paired(gap_relu, np.subtract(c["train_acc"], c["test_acc"]))
            cls = {"greater": "win", "less": "loss", "tie": "tie", "unclear": "unclear"}[
                classify(d, C11_MARGIN)]
            fitted = np.nanmean(c["train_acc"]) >= np.nanmean(relu["train_acc"]) - FIT_GAP
            if cls == "win" and not fitted and act != "identity":
                cls = "win (other not fitted)"
            row = {"dataset": dsname, "recipe": recipe, "other": act, "diff": d.to_dict(),
                   "gap_diff": g.to_dict(), "result": cls,
                   "relu_acc": est(relu["test_acc"]).to_dict(),
                   "other_acc": est(c["test_acc"]).to_dict()}
            table.append(row)
            (floor if act == "identity" else comps).append(row)
    if not floor or not comps:
        return inconclusive("relu, identity and at least one nonlinear activation are needed")
    n = len(comps)
    wins = sum(r["result"] == "win" for r in comps)
    losses = sum(r["result"] == "loss" for r in comps)
    ties = sum(r["result"] == "tie" for r in comps)
    unfit = sum(r["result"] == "win (other not fitted)" for r in comps)
    worst = min(comps, key=lambda r: r["diff"]["value"])
    best = max(comps, key=lambda r: r["diff"]["value"])
    key = (f"relu vs {len({r['other'] for r in comps})} nonlinear activations × "
           f"{len(settings)} settings: {wins} wins (+{unfit} over unfitted nets), {ties} ties, "
           f"{losses} losses, {n - wins - ties - losses - unfit} unclear (margin "
           f"{C11_MARGIN:.0%}); vs identity "
           f"{sum(r['result'] == 'win' for r in floor)}/{len(floor)} wins")
    where_lose = sorted({f"{r['other']} ({r['dataset']}/{r['recipe']})" for r in comps
                         if r["result"] == "loss"})
    where_win = sorted({f"{r['other']} ({r['dataset']}/{r['recipe']})" for r in comps
                        if r["result"] == "win"})
    underfit = sorted({f"{r['other']} ({r['dataset']}/{r['recipe']})" for r in comps
                       if r["result"] == "win (other not fitted)"})
    detail = (f"Test accuracy of relu minus the other activation, same seeds: best case "
              f"{pp(best['diff'])} vs {best['other']} ({best['dataset']}/{best['recipe']}), worst "
              f"{pp(worst['diff'])} vs {worst['other']} ({worst['dataset']}/{worst['recipe']}). "
              f"relu wins against {', '.join(where_win) or 'none'}; loses against "
              f"{', '.join(where_lose) or 'none'}."
              + (f" relu is also ahead of {', '.join(underfit)}, but these nets are not fitted "
                 f"at this step budget (train accuracy more than {FIT_GAP:.0%} below relu's):"
                 f" a difference in trainability, not counted." if underfit else ""))
    evidence = {"comparisons": table, "wins": wins, "losses": losses, "ties": ties, "n": n,
                "not_fitted_wins": unfit, "vs_identity": [r["result"] for r in floor]}
    floor_res = [r["result"] for r in floor]
    if ("loss" in floor_res or all(f in ("tie", "loss") for f in floor_res)
            or losses >= C11_LOSE_SHARE * n):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if "win" not in floor_res:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "relu vs the linear floor is unclear wherever it is not a tie. " + detail)
    if wins >= C11_WIN_SHARE * n and losses == 0:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    return Outcome(Verdict.PARTLY, key, evidence,
                   "ReLU generalizes better than a linear model, but no better than the other "
                   "nonlinear activations in most settings (the article omits that the gain is "
                   "that of nonlinearity, not specific to ReLU). " + detail)


def plot_c11(measured: dict, figures_dir: Path) -> list[str]:
    settings = _by_setting(measured["cells"])
    fig, axes = new_figure(3.4 * len(settings), 3.8, len(settings))
    for ax, ((dsname, recipe), acts) in zip(axes, settings.items()):
        names = list(acts)
        errbar(ax, np.arange(len(names)), [est(acts[a]["test_acc"]) for a in names],
               label="test")
        errbar(ax, np.arange(len(names)), [est(acts[a]["train_acc"]) for a in names],
               fmt="x", color="grey", label="train")
        ax.set_xticks(np.arange(len(names)), names, rotation=60, fontsize=7)
        ax.set_title(f"{dsname} / {recipe}", fontsize=9)
    axes[0].set_ylabel("accuracy (95 % CI over seeds)")
    axes[0].legend(fontsize=7)
    return [save(fig, figures_dir, "c11_accuracy_per_activation.png")]


# ---------------------------------------------------------------------------------------------
# C08: linear-probe accuracy of hidden features against sparsity

C08_MARGIN = 0.01
C08_RULE = (
    f"Statistic A: Spearman correlation (seeded bootstrap 95 % interval) between the exact-zero "
    f"fraction of the last hidden layer (test inputs) and the test accuracy of a linear probe "
    f"(closed-form ridge classifier, alpha = 1, fitted on training features) on that layer, "
    f"across ReLU nets on mnist1d whose sparsity was changed with the activation held fixed (L1 "
    f"activity penalty and bias-shift sweeps, >= {MIN_SEEDS} seeds each). Statistic B: paired "
    f"difference of last-layer probe accuracy relu − each activation without exact zeros "
    f"({', '.join(NON_SPARSE)}), mnist1d, both recipes, margin {C08_MARGIN:.0%}; as in C11, a "
    f"win over a net whose train accuracy is more than {FIT_GAP:.0%} below relu's is not "
    f"counted. Supported: A's interval above 0, and relu wins >= half of B with no loss. "
    f"Refuted: A's interval below 0 with no B win, or A unclear and relu loses >= half of B "
    f"with no win. Partly: anything else. Inconclusive: "
    f"fewer than {MIN_SEEDS} seeds, or A unclear and every B comparison unclear."
)


def _probe_block(weights, ds, activation: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Probe test accuracy and exact-zero fraction per member and hidden layer: (K, L) each."""
    _, _, post_tr = stacked_forward(weights, ds.x_train, activation)
    _, _, post_te = stacked_forward(weights, ds.x_test, activation)
    acc = [linear_probe(a, ds.y_train, b, ds.y_test, alpha=alpha, n_classes=ds.n_classes)
           .test_acc for a, b in zip(post_tr, post_te)]
    zero = [(b == 0).double().mean((-2, -1)).numpy() for b in post_te]
    return np.stack(acc, 1), np.stack(zero, 1)


@single_threaded
def measure_c08(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    grid_rows, inputs = [], {}
    for dsname in p.datasets:
        ds = load(dsname, ctx.seed)
        raw = linear_probe(ds.x_train, ds.y_train, ds.x_test, ds.y_test, alpha=p.probe_alpha,
                           n_classes=ds.n_classes)
        inputs[dsname] = float(raw.test_acc)
        for act in p.activations:
            ctx.log(f"C08: {dsname} {act}")
            res = grid(ctx.quick, ctx.seed, ctx.device, dsname, act)
            acc, zero = _probe_block(res.weights, ds, act, p.probe_alpha)
            for recipe in p.recipe_names(dsname):
                sl = member_slice(ctx.quick, dsname, recipe)
                grid_rows.append({"dataset": dsname, "recipe": recipe, "activation": act,
                                  "probe_test": acc[sl].tolist(), "zero_test": zero[sl].tolist(),
                                  "net_test_acc": res.test_acc[sl, -1].tolist(),
                                  "net_train_acc": res.train_acc[sl, -1].tolist()})
    ds = load("mnist1d", ctx.seed)
    res = interventions(ctx.quick, ctx.seed, ctx.device)
    acc, zero = _probe_block(res.weights, ds, "relu", p.probe_alpha)
    rows = []
    for r, (kind, value, _) in enumerate(interventions_recipes(ctx.quick)):
        sl = slice(r * p.n_seeds, (r + 1) * p.n_seeds)
        rows.append({"kind": kind, "value": value, "probe_test": acc[sl].tolist(),
                     "zero_test": zero[sl].tolist()})
    return {"grid": grid_rows, "interventions": rows, "input_probe": inputs,
            "probe_alpha": p.probe_alpha, "quick": ctx.quick}


def decide_c08(measured: dict) -> Outcome:
    iv = measured["interventions"]
    few = too_few(*[r["probe_test"] for r in iv], *[g["probe_test"] for g in measured["grid"]])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    zero = np.concatenate([np.asarray(r["zero_test"], dtype=float)[:, -1] for r in iv])
    probe = np.concatenate([np.asarray(r["probe_test"], dtype=float)[:, -1] for r in iv])
    a = rho(zero, probe)
    a_cls = "positive" if a.excludes(0) and a.low > 0 else (
        "negative" if a.excludes(0) else "unclear")
    comps = []
    mn = _by_setting([{**g, "test_acc": g["probe_test"]} for g in measured["grid"]
                      if g["dataset"] == "mnist1d"])
    for (_, recipe), acts in mn.items():
        if "relu" not in acts:
            continue
        for act in NON_SPARSE:
            if act in acts:
                d = paired(np.asarray(acts["relu"]["probe_test"], dtype=float)[:, -1],
                           np.asarray(acts[act]["probe_test"], dtype=float)[:, -1])
                res = {"greater": "win", "less": "loss", "tie": "tie",
                       "unclear": "unclear"}[classify(d, C08_MARGIN)]
                if res == "win" and all("net_train_acc" in acts[a] for a in ("relu", act)):
                    train = [np.nanmean(acts[a]["net_train_acc"]) for a in ("relu", act)]
                    if train[1] < train[0] - FIT_GAP:
                        res = "win (other not fitted)"
                comps.append({"recipe": recipe, "other": act, "diff": d.to_dict(),
                              "result": res})
    if not comps:
        return inconclusive("no relu vs non-sparse activation comparison on mnist1d")
    wins = sum(c["result"] == "win" for c in comps)
    losses = sum(c["result"] == "loss" for c in comps)
    unfit = sum(c["result"] == "win (other not fitted)" for c in comps)
    n = len(comps)
    relu = [g for g in measured["grid"] if g["dataset"] == "mnist1d" and g["activation"] == "relu"]
    relu_probe = est(np.concatenate([np.asarray(g["probe_test"], dtype=float)[:, -1]
                                     for g in relu])) if relu else None
    key = (f"ρ(sparsity, probe acc) = {fmt_est(a, 1, 2)} over {len(zero)} ReLU nets; relu's "
           f"last-layer probe vs {n} non-sparse cells: {wins} wins (+{unfit} over unfitted "
           f"nets), {losses} losses")
    evidence = {"spearman_sparsity_probe": a.to_dict(), "spearman_class": a_cls,
                "comparisons": comps, "wins": wins, "losses": losses, "n": n,
                "not_fitted_wins": unfit, "input_probe": measured.get("input_probe", {}),
                "relu_probe_mnist1d": relu_probe.to_dict() if relu_probe else None}
    inp = measured.get("input_probe", {}).get("mnist1d")
    detail = (f"Across ReLU nets made sparser or denser by an L1 activity penalty or a bias "
              f"shift, the last hidden layer's exact-zero fraction ranges "
              f"{zero.min():.0%}–{zero.max():.0%} and its Spearman correlation with linear-probe "
              f"test accuracy is {fmt_est(a, 1, 2)}. Against activations without exact zeros, "
              f"relu's features are linearly more decodable in {wins} of {n} comparisons (plus "
              f"{unfit} against nets not fitted at the step budget) and less in {losses} (probe "
              f"accuracy of relu's last layer "
              f"{fmt_est(relu_probe, 100, 1) if relu_probe else 'n/a'} %"
              + (f"; a probe on the raw mnist1d input reaches {inp:.1%}" if inp else "") + ").")
    if a_cls == "unclear" and all(c["result"] == "unclear" for c in comps):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Neither statistic separates; more seeds would. " + detail)
    if a_cls == "positive" and losses == 0 and wins >= n / 2:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if (a_cls == "negative" and wins == 0) or (a_cls == "unclear" and losses >= n / 2
                                               and wins == 0):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    return Outcome(Verdict.PARTLY, key, evidence,
                   "The evidence is mixed: sparsity and feature quality do not move together "
                   "in every comparison. " + detail)


def plot_c08(measured: dict, figures_dir: Path) -> list[str]:
    fig, axes = new_figure(9.0, 3.8, 2)
    for r in measured["interventions"]:
        z = np.asarray(r["zero_test"], dtype=float)[:, -1]
        a = np.asarray(r["probe_test"], dtype=float)[:, -1]
        axes[0].scatter(z, a, s=14, label=f"{r['kind']} {r['value']:g}")
    axes[0].set_xlabel("exact-zero fraction, last hidden layer")
    axes[0].set_ylabel("linear-probe test accuracy")
    axes[0].set_title("ReLU nets, mnist1d (sparsity interventions)", fontsize=9)
    axes[0].legend(fontsize=6)
    mn = [g for g in measured["grid"] if g["dataset"] == "mnist1d"]
    recipes = sorted({g["recipe"] for g in mn})
    for i, recipe in enumerate(recipes):
        rows = [g for g in mn if g["recipe"] == recipe]
        xs = np.arange(len(rows)) + 0.15 * (i - (len(recipes) - 1) / 2)
        errbar(axes[1], xs, [est(np.asarray(g["probe_test"], dtype=float)[:, -1]) for g in rows],
               label=recipe)
        axes[1].set_xticks(np.arange(len(rows)), [g["activation"] for g in rows], rotation=60,
                           fontsize=7)
    inp = measured.get("input_probe", {}).get("mnist1d")
    if inp is not None:
        axes[1].axhline(inp, color="grey", ls=":", lw=0.8, label="raw input")
    axes[1].set_title("last-layer probe per activation, mnist1d", fontsize=9)
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c08_probe_vs_sparsity.png")]
