"""C03: ReLU networks activate sparsely.

The article: ReLU "outputs exactly zero for negative inputs", so for a typical input only part of
the units is active (sparse activation). Measured on the shared activation grid
(:func:`reluthe.claims.sparsity._runs.grid`, mnist1d and digits, recipes adam and adam_l2): per
hidden layer and seed, the fraction of exactly-zero outputs on test and training inputs, the
fraction of negative pre-activations and of dead units (zero on every training input), at init
and after training, beside the anchor of Glorot, Bordes & Bengio (2011).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims.sparsity._common import acc_est, cells, inconclusive, paired, too_few
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import base_design, dataset, grid, init_weights, member_slice
from reluthe.probes.sparsity import stacked_sparsity

# exact zeros after training reported by Glorot, Bordes & Bengio 2011 (MNIST, CIFAR-10)
GLOROT_MNIST, GLOROT_CIFAR10 = 0.834, 0.720
LOW, HIGH = 0.05, 0.95
RULE = (
    f"Statistic: per hidden layer, the fraction of exactly-zero ReLU outputs on test inputs after "
    f"training, mean over >= {MIN_SEEDS} seeds with a 95 % interval inside [0, 1] (Wilson's on "
    f"the effective number of (input, unit) pairs, n_test × width per seed: stats.accuracy_ci), "
    f"in every cell (dataset "
    f"mnist1d/digits × recipe adam/adam_l2 × layer). A cell is 'sparse' when its interval lies "
    f"inside [{LOW}, {HIGH}] (some units off and some on for a typical input), "
    f"'not sparse' when it lies entirely outside. Supported: every cell sparse. Partly: some "
    f"cells sparse, the others not. Refuted: no cell sparse. Inconclusive: fewer than "
    f"{MIN_SEEDS} seeds, or an interval straddles {LOW} or {HIGH}. Reported beside it: "
    f"the same at init (expected ~0.5), dead units (zero on every training input) and the "
    f"anchor of Glorot et al. 2011 ({GLOROT_MNIST:.1%} MNIST, {GLOROT_CIFAR10:.1%} CIFAR-10)."
)


def _sparsity_rows(weights, ds, activation: str, sl: slice, prefix: str) -> list[dict]:
    """Per member of ``sl``: exact zeros, negative pre-activations and dead units per layer."""
    test = stacked_sparsity(weights, ds.x_test, activation)
    train = stacked_sparsity(weights, ds.x_train, activation)
    blocks = {"zero_test": test["zero_fraction"], "zero_train": train["zero_fraction"],
              "negative_test": test["negative_fraction"], "dead_train": train["dead_fraction"]}
    return [{prefix + k: v[i].tolist() for k, v in blocks.items()}
            for i in range(sl.start, sl.stop)]


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    raw = []
    for dsname in p.datasets:
        ds = dataset(ctx, dsname)
        for act in p.activations:
            ctx.log(f"C03: {dsname} {act}")
            res = grid(ctx, dsname, act)
            start = init_weights(res.widths, act, res.seeds)
            for recipe in p.recipe_names(dsname):
                sl = member_slice(ctx.quick, dsname, recipe)
                init = _sparsity_rows(start, ds, act, sl, "init_")
                trained = _sparsity_rows(res.weights, ds, act, sl, "")
                raw += [{"seed": int(s), "dataset": dsname, "recipe": recipe, "activation": act,
                         **a, **b} for s, a, b in zip(res.seeds[sl], init, trained)]
    design = {**base_design(ctx), "datasets": list(p.datasets), "activations": list(p.activations),
              "recipes": {d: p.recipe_names(d) for d in p.datasets}, "hidden": list(p.hidden),
              "n_test": {d: int(len(dataset(ctx, d).x_test)) for d in p.datasets},
              "anchors": {"init": 0.5, "glorot_mnist": GLOROT_MNIST,
                          "glorot_cifar10": GLOROT_CIFAR10}}
    return {"design": design, "raw": raw}


def _state(e) -> str:
    if e.low >= LOW and e.high <= HIGH:
        return "sparse"
    return "not sparse" if e.high < LOW or e.low > HIGH else "straddles"


def _pairs(design: dict, dsname: str, layer: int) -> int:
    """(test input, unit) pairs behind one seed's zero fraction of hidden layer ``layer``."""
    return design["n_test"][dsname] * design["hidden"][layer]


def _layer_rows(relu: dict, design: dict) -> list[dict]:
    """One evidence row per (dataset, recipe, layer) of the ReLU cells."""
    rows = []
    for (dsname, recipe), c in relu.items():
        z = np.asarray(c["zero_test"], dtype=float)
        z0 = np.asarray(c["init_zero_test"], dtype=float)
        dead = np.asarray(c["dead_train"], dtype=float)
        for layer in range(z.shape[1]):
            n = _pairs(design, dsname, layer)
            e = acc_est(z[:, layer], n)
            rows.append({"dataset": dsname, "recipe": recipe, "layer": layer + 1,
                         "trained": e.to_dict(), "init": acc_est(z0[:, layer], n).to_dict(),
                         "change": paired(z[:, layer], z0[:, layer]).to_dict(),
                         "dead_units": acc_est(dead[:, layer],
                                               design["hidden"][layer]).to_dict(),
                         "state": _state(e)})
    return rows


def _dead_text(rows: list[dict]) -> list[str]:
    out = []
    for dsname in dict.fromkeys(r["dataset"] for r in rows):
        worst = max((r for r in rows if r["dataset"] == dsname),
                    key=lambda r: r["dead_units"]["value"])
        share = worst["dead_units"]["value"] / max(worst["trained"]["value"], 1e-12)
        out.append(f"{worst['dead_units']['value']:.1%} on {dsname} ({worst['recipe']}, "
                   f"layer {worst['layer']}: {share:.0%} of that layer's zeros)")
    return out


def decide(measured: dict) -> Outcome:
    relu = cells(measured["raw"], ("dataset", "recipe"), activation="relu")
    if not relu:
        return inconclusive("no ReLU cell was measured")
    # one value per seed (the first layer's): a per-layer list would count layers as seeds
    few = too_few(*[np.asarray(c["zero_test"], dtype=float)[:, 0] for c in relu.values()])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS} for a "
                            "confidence interval")
    rows = _layer_rows(relu, measured["design"])
    states = [r["state"] for r in rows]
    mn = [r for r in rows if r["dataset"] == "mnist1d" and r["recipe"] == "adam"] or rows[:2]
    layers = "/".join(f"{r['trained']['value']:.0%}" for r in mn)
    init = "/".join(f"{r['init']['value']:.0%}" for r in mn)
    dead_max = max(r["dead_units"]["value"] for r in rows)
    zmin = min(r["trained"]["value"] for r in rows)
    zmax = max(r["trained"]["value"] for r in rows)
    key = (f"ReLU zeros per layer after training {layers} on mnist1d (init {init}); range "
           f"{zmin:.0%}–{zmax:.0%} over all cells; dead units ≤ {dead_max:.1%}")
    evidence = {"layers": rows, "anchors": measured["design"].get("anchors", {})}
    detail = (f"After training, ReLU MLPs output exact zeros on {zmin:.0%}–{zmax:.0%} of "
              f"(input, unit) pairs per layer (mnist1d, recipe adam: {layers}; at init {init}, as "
              f"expected for symmetric weights), so on a typical input part of the units is off "
              f"and part on. Dead units (zero on every training input) are at most "
              f"{'; '.join(_dead_text(rows))}; the other zeros depend on the input. This is less "
              f"sparse than the {GLOROT_MNIST:.1%} that Glorot et al. (2011) report for their "
              f"(larger) networks on MNIST. Other activations give no exact zeros.")
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


def plot(measured: dict, figures_dir: Path) -> list[str]:
    relu = cells(measured["raw"], ("dataset", "recipe"), activation="relu")
    fig, axes = new_figure(7.5, 3.8, 2)
    for ax, field in zip(axes, ("init_zero_test", "zero_test")):
        for i, ((dsname, recipe), c) in enumerate(relu.items()):
            z = np.asarray(c[field], dtype=float)
            xs = np.arange(z.shape[1]) + 1 + 0.12 * (i - (len(relu) - 1) / 2)
            errbar(ax, xs, [acc_est(z[:, j], _pairs(measured["design"], dsname, j))
                            for j in range(z.shape[1])],
                   label=f"{dsname} / {recipe}")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.axhline(GLOROT_MNIST, color="tab:red", lw=0.8, ls="--",
                   label="Glorot et al. 2011, MNIST")
        ax.set_title("at init" if field.startswith("init") else "after training")
        ax.set_xlabel("hidden layer")
        ax.set_xticks(range(1, z.shape[1] + 1))
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("fraction of exact zeros (test inputs)")
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c03_zero_fraction.png")]
