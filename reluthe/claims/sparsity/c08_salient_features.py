"""C08: sparse representations make the salient features easier to pick out.

The article: sparse activation "helps the network pick out the salient features". Measured as
linear decodability: the test accuracy of a closed-form ridge probe on each hidden layer, and the
exact-zero fraction of that layer, (A) for ReLU nets on mnist1d whose sparsity was moved with the
activation fixed (the L1 activity and bias-shift sweeps of
:func:`reluthe.claims.sparsity._runs.interventions`) and (B) for every net of the activation grid,
against the activations without exact zeros; a probe on the raw input is reported beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.sparsity._common import (
    acc_est,
    cells,
    classify,
    fmt_est,
    inconclusive,
    paired,
    rho,
    too_few,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import FIT_GAP, MIN_SEEDS, NON_SPARSE, protocol
from reluthe.claims.sparsity._runs import (
    base_design,
    dataset,
    grid,
    interventions,
    interventions_recipes,
    member_slice,
)
from reluthe.probes.generalization import linear_probe
from reluthe.probes.sparsity import stacked_forward

MARGIN = 0.01
RULE = (
    f"Statistic A: Spearman ρ over cells with a cluster bootstrap by seed (BCa; the seeded 95 % "
    f"interval resamples whole model seeds, as the nets of one seed share its initial weights "
    f"and batches) between the exact-zero fraction of the last hidden layer (test inputs) and "
    f"the test accuracy of a linear probe "
    f"(closed-form ridge classifier, alpha = 1, fitted on training features) on that layer, "
    f"across ReLU nets on mnist1d whose sparsity was changed with the activation held fixed (L1 "
    f"activity penalty and bias-shift sweeps, >= {MIN_SEEDS} seeds each). Statistic B: paired "
    f"difference of last-layer probe accuracy relu − each activation without exact zeros "
    f"({', '.join(NON_SPARSE)}), mnist1d, both recipes, margin {MARGIN:.0%}; as in C11, a "
    f"win over a net whose train accuracy is more than {FIT_GAP:.0%} below relu's is not "
    f"counted. Supported: A's interval above 0, and relu wins >= half of B with no loss. "
    f"Refuted: A's interval below 0 with no B win, or A unclear and relu loses >= half of B "
    f"with no win. Partly: anything else. Inconclusive: "
    f"fewer than {MIN_SEEDS} seeds, or A unclear and every B comparison unclear."
)
_RESULT = {"greater": "win", "less": "loss", "tie": "tie", "unclear": "unclear"}


def _probe_block(weights, ds, activation: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Probe test accuracy and exact-zero fraction per member and hidden layer: (K, L) each."""
    _, _, post_tr = stacked_forward(weights, ds.x_train, activation)
    _, _, post_te = stacked_forward(weights, ds.x_test, activation)
    acc = [linear_probe(a, ds.y_train, b, ds.y_test, alpha=alpha, n_classes=ds.n_classes)
           .test_acc for a, b in zip(post_tr, post_te)]
    zero = [(b == 0).double().mean((-2, -1)).numpy() for b in post_te]
    return np.stack(acc, 1), np.stack(zero, 1)


def _grid_rows(ctx: Context, dsname: str, alpha: float) -> list[dict]:
    """The raw-input probe (seed None) and one row per grid net of ``dsname``."""
    p = protocol(ctx.quick)
    ds = dataset(ctx, dsname)
    inp = linear_probe(ds.x_train, ds.y_train, ds.x_test, ds.y_test, alpha=alpha,
                       n_classes=ds.n_classes)
    rows = [{"seed": None, "part": "input_probe", "dataset": dsname,
             "probe_test": float(inp.test_acc)}]
    for act in p.activations:
        ctx.log(f"C08: {dsname} {act}")
        res = grid(ctx, dsname, act)
        acc, zero = _probe_block(res.weights, ds, act, alpha)
        for recipe in p.recipe_names(dsname):
            sl = member_slice(ctx.quick, dsname, recipe)
            rows += [{"seed": int(res.seeds[k]), "part": "grid", "dataset": dsname,
                      "recipe": recipe, "activation": act, "probe_test": acc[k].tolist(),
                      "zero_test": zero[k].tolist(), "net_test_acc": float(res.test_acc[k, -1]),
                      "net_train_acc": float(res.train_acc[k, -1])}
                     for k in range(sl.start, sl.stop)]
    return rows


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    raw = [row for dsname in p.datasets for row in _grid_rows(ctx, dsname, p.probe_alpha)]
    res = interventions(ctx)
    acc, zero = _probe_block(res.weights, dataset(ctx, "mnist1d"), "relu", p.probe_alpha)
    for r, (kind, value, _) in enumerate(interventions_recipes(ctx.quick)):
        raw += [{"seed": int(res.seeds[k]), "part": "intervention", "kind": kind,
                 "value": value, "probe_test": acc[k].tolist(), "zero_test": zero[k].tolist()}
                for k in range(r * p.n_seeds, (r + 1) * p.n_seeds)]
    design = {**base_design(ctx), "datasets": list(p.datasets), "activations": list(p.activations),
              "recipes": {d: p.recipe_names(d) for d in p.datasets}, "hidden": list(p.hidden),
              "probe_alpha": p.probe_alpha,
              "n_test": {d: int(len(dataset(ctx, d).x_test)) for d in p.datasets},
              "interventions": [[k, v] for k, v, _ in interventions_recipes(ctx.quick)]}
    return {"design": design, "raw": raw}


def _last(values) -> np.ndarray:
    """The last hidden layer's value of each per-layer list."""
    return np.asarray(values, dtype=float)[:, -1]


def _comparisons(acts: dict[str, dict], recipe: str) -> list[dict]:
    """relu's last-layer probe vs each non-sparse activation of one mnist1d recipe."""
    out = []
    for act in (a for a in NON_SPARSE if a in acts):
        d = paired(_last(acts["relu"]["probe_test"]), _last(acts[act]["probe_test"]))
        res = _RESULT[classify(d, MARGIN)]
        if res == "win" and all("net_train_acc" in acts[a] for a in ("relu", act)):
            train = [np.nanmean(acts[a]["net_train_acc"]) for a in ("relu", act)]
            if train[1] < train[0] - FIT_GAP:
                res = "win (other not fitted)"
        out.append({"recipe": recipe, "other": act, "diff": d.to_dict(), "result": res})
    return out


def _mnist_settings(raw) -> dict[str, dict[str, dict]]:
    """recipe -> activation -> per-seed lists of the mnist1d grid nets."""
    out: dict = {}
    for (recipe, act), c in cells(raw, ("recipe", "activation"), part="grid",
                                  dataset="mnist1d").items():
        out.setdefault(recipe, {})[act] = c
    return out


def _verdict(a_cls: str, comps: list[dict], key: str, evidence: dict, detail: str) -> Outcome:
    wins, losses, n = evidence["wins"], evidence["losses"], evidence["n"]
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


def decide(measured: dict) -> Outcome:
    raw = measured["raw"]
    iv = select(raw, part="intervention")
    # one value per seed (the last layer's): a per-layer list would count layers as seeds
    few = too_few(*[_last(c["probe_test"]) for c in cells(raw, ("kind", "value"),
                                                            part="intervention").values()],
                  *[_last(c["probe_test"]) for c in cells(raw, ("dataset", "recipe",
                                                                "activation"),
                                                          part="grid").values()])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    zero = _last([r["zero_test"] for r in iv])
    a = rho(zero, _last([r["probe_test"] for r in iv]), measured["design"]["bootstrap_seed"],
            clusters=[r["seed"] for r in iv])  # the nets of one model seed form a cluster
    a_cls = "positive" if a.excludes(0) and a.low > 0 else (
        "negative" if a.excludes(0) else "unclear")
    comps = [c for recipe, acts in _mnist_settings(raw).items() if "relu" in acts
             for c in _comparisons(acts, recipe)]
    if not comps:
        return inconclusive("no relu vs non-sparse activation comparison on mnist1d")
    wins = sum(c["result"] == "win" for c in comps)
    losses = sum(c["result"] == "loss" for c in comps)
    unfit = sum(c["result"] == "win (other not fitted)" for c in comps)
    n = len(comps)
    relu = select(raw, part="grid", dataset="mnist1d", activation="relu")
    relu_probe = (acc_est(_last([g["probe_test"] for g in relu]),
                          measured["design"]["n_test"]["mnist1d"]) if relu else None)
    inputs = {r["dataset"]: r["probe_test"] for r in select(raw, part="input_probe")}
    key = (f"ρ(sparsity, probe acc) = {fmt_est(a, 1, 2)} over {len(zero)} ReLU nets; relu's "
           f"last-layer probe vs {n} non-sparse cells: {wins} wins (+{unfit} over unfitted "
           f"nets), {losses} losses")
    evidence = {"spearman_sparsity_probe": a.to_dict(), "spearman_class": a_cls,
                "comparisons": comps, "wins": wins, "losses": losses, "n": n,
                "not_fitted_wins": unfit, "input_probe": inputs,
                "relu_probe_mnist1d": relu_probe.to_dict() if relu_probe else None}
    inp = inputs.get("mnist1d")
    detail = (f"Across ReLU nets made sparser or denser by an L1 activity penalty or a bias "
              f"shift, the last hidden layer's exact-zero fraction ranges "
              f"{zero.min():.0%}–{zero.max():.0%} and its Spearman correlation with linear-probe "
              f"test accuracy is {fmt_est(a, 1, 2)}. Against activations without exact zeros, "
              f"relu's features are linearly more decodable in {wins} of {n} comparisons (plus "
              f"{unfit} against nets not fitted at the step budget) and less in {losses} (probe "
              f"accuracy of relu's last layer "
              f"{fmt_est(relu_probe, 100, 1) if relu_probe else 'n/a'} %"
              + (f"; a probe on the raw mnist1d input reaches {inp:.1%}" if inp else "") + ").")
    return _verdict(a_cls, comps, key, evidence, detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw = measured["raw"]
    fig, axes = new_figure(9.0, 3.8, 2)
    for (kind, value), r in cells(raw, ("kind", "value"), part="intervention").items():
        axes[0].scatter(_last(r["zero_test"]), _last(r["probe_test"]), s=14,
                        label=f"{kind} {value:g}")
    axes[0].set_xlabel("exact-zero fraction, last hidden layer")
    axes[0].set_ylabel("linear-probe test accuracy")
    axes[0].set_title("ReLU nets, mnist1d (sparsity interventions)", fontsize=9)
    axes[0].legend(fontsize=6)
    settings = _mnist_settings(raw)
    recipes = sorted(settings)
    for i, recipe in enumerate(recipes):
        acts = settings[recipe]
        xs = np.arange(len(acts)) + 0.15 * (i - (len(recipes) - 1) / 2)
        errbar(axes[1], xs, [acc_est(_last(c["probe_test"]),
                                     measured["design"]["n_test"]["mnist1d"])
                             for c in acts.values()], label=recipe)
        axes[1].set_xticks(np.arange(len(acts)), list(acts), rotation=60, fontsize=7)
    inp = {r["dataset"]: r["probe_test"] for r in select(raw, part="input_probe")}.get("mnist1d")
    if inp is not None:
        axes[1].axhline(inp, color="grey", ls=":", lw=0.8, label="raw input")
    axes[1].set_title("last-layer probe per activation, mnist1d", fontsize=9)
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c08_probe_vs_sparsity.png")]
