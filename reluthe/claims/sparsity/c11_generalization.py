"""C11: ReLU networks generalize better than networks with other activations.

The article credits ReLU's sparse activation with better generalization. Measured on the shared
activation grid (:func:`reluthe.claims.sparsity._runs.grid`): final test and train accuracy of
every activation × dataset (mnist1d, digits) × recipe (adam, adam_l2) × seed, compared with relu
seed by seed (same init and batch order), with identity as the linear floor and the train − test
gap beside it.
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
    inconclusive,
    paired,
    pp,
    too_few,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import FIT_GAP, MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import base_design, dataset, grid, member_slice

MARGIN, WIN_SHARE, LOSE_SHARE = 0.01, 0.75, 0.5
RULE = (
    f"Statistic: paired difference (same seeds: same init and batch order) of final test "
    f"accuracy relu − other, mean over >= {MIN_SEEDS} seeds with a 95 % t interval, for every "
    f"other activation × dataset (mnist1d, digits) × recipe (adam, adam_l2); classified with "
    f"a practical margin of {MARGIN:.0%}: win (interval above +margin), loss (below "
    f"−margin), tie (inside ±margin) or unclear; a win over a nonlinear activation whose mean "
    f"train accuracy is more than {FIT_GAP:.0%} below relu's is a 'win (other not "
    f"fitted)', which measures trainability at the step budget, not generalization, and is not "
    f"counted as a win. Supported: relu beats the linear floor "
    f"(identity) in at least one cell and loses to it in none, and wins >= "
    f"{WIN_SHARE:.0%} of the comparisons with the nonlinear activations, losing none. "
    f"Partly: relu beats identity somewhere and loses to it nowhere, but does not beat the "
    f"other nonlinear activations that often (the positive effect is that of any "
    f"nonlinearity). Refuted: relu loses to identity in some cell or is decided against it "
    f"everywhere (every cell a tie or loss), or loses >= {LOSE_SHARE:.0%} of the nonlinear "
    f"comparisons. Inconclusive: fewer than {MIN_SEEDS} seeds, or no win over identity while "
    f"some cell is unclear. The generalization gap (train − test accuracy) is reported beside "
    f"it."
)
_RESULT = {"greater": "win", "less": "loss", "tie": "tie", "unclear": "unclear"}


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    raw, steps = [], {}
    for dsname in p.datasets:
        for act in p.activations:
            ctx.log(f"C11: {dsname} {act}")
            res = grid(ctx, dsname, act)
            steps[dsname] = int(res.steps[-1])
            for recipe in p.recipe_names(dsname):
                sl = member_slice(ctx.quick, dsname, recipe)
                raw += [{"seed": int(s), "dataset": dsname, "recipe": recipe, "activation": act,
                         "test_acc": float(te), "train_acc": float(tr)}
                        for s, te, tr in zip(res.seeds[sl], res.test_acc[sl, -1],
                                             res.train_acc[sl, -1])]
    design = {**base_design(ctx), "datasets": list(p.datasets), "activations": list(p.activations),
              "recipes": {d: p.recipe_names(d) for d in p.datasets}, "hidden": list(p.hidden),
              "steps": steps,
              "n_test": {d: int(len(dataset(ctx, d).x_test)) for d in p.datasets},
              "n_train": {d: int(len(dataset(ctx, d).x_train)) for d in p.datasets}}
    return {"design": design, "raw": raw}


def _settings(raw) -> dict[tuple[str, str], dict[str, dict]]:
    """(dataset, recipe) -> activation -> that cell's per-seed lists, in record order."""
    out: dict = {}
    for (dsname, recipe, act), c in cells(raw, ("dataset", "recipe", "activation")).items():
        out.setdefault((dsname, recipe), {})[act] = c
    return out


def _compare(dsname: str, recipe: str, relu: dict, act: str, c: dict, n_test: int) -> dict:
    """relu vs ``act`` in one setting: the paired differences and the classified result."""
    gap_relu = np.subtract(relu["train_acc"], relu["test_acc"])
    d = paired(relu["test_acc"], c["test_acc"])
    g = paired(gap_relu, np.subtract(c["train_acc"], c["test_acc"]))
    cls = _RESULT[classify(d, MARGIN)]
    fitted = np.nanmean(c["train_acc"]) >= np.nanmean(relu["train_acc"]) - FIT_GAP
    if cls == "win" and not fitted and act != "identity":
        cls = "win (other not fitted)"
    return {"dataset": dsname, "recipe": recipe, "other": act, "diff": d.to_dict(),
            "gap_diff": g.to_dict(), "result": cls,
            "relu_acc": acc_est(relu["test_acc"], n_test).to_dict(),
            "other_acc": acc_est(c["test_acc"], n_test).to_dict()}


def _where(comps: list[dict], result: str) -> list[str]:
    return sorted({f"{r['other']} ({r['dataset']}/{r['recipe']})" for r in comps
                   if r["result"] == result})


def _detail(comps: list[dict]) -> str:
    worst = min(comps, key=lambda r: r["diff"]["value"])
    best = max(comps, key=lambda r: r["diff"]["value"])
    underfit = _where(comps, "win (other not fitted)")
    return (f"Test accuracy of relu minus the other activation, same seeds: best case "
            f"{pp(best['diff'])} vs {best['other']} ({best['dataset']}/{best['recipe']}), worst "
            f"{pp(worst['diff'])} vs {worst['other']} ({worst['dataset']}/{worst['recipe']}). "
            f"relu wins against {', '.join(_where(comps, 'win')) or 'none'}; loses against "
            f"{', '.join(_where(comps, 'loss')) or 'none'}."
            + (f" relu is also ahead of {', '.join(underfit)}, but these nets are not fitted "
               f"at this step budget (train accuracy more than {FIT_GAP:.0%} below relu's):"
               f" a difference in trainability, not counted." if underfit else ""))


def decide(measured: dict) -> Outcome:
    raw = measured["raw"]
    settings = _settings(raw)
    few = too_few(*[c["test_acc"] for c in cells(raw, ("dataset", "recipe", "activation"))
                    .values()])
    if few is not None:
        return inconclusive(f"only {few} seed(s) per cell; the rule needs >= {MIN_SEEDS}")
    n_test = measured["design"]["n_test"]
    table = [_compare(dsname, recipe, acts["relu"], act, c, n_test[dsname])
             for (dsname, recipe), acts in settings.items() if "relu" in acts
             for act, c in acts.items() if act != "relu"]
    floor = [r for r in table if r["other"] == "identity"]
    comps = [r for r in table if r["other"] != "identity"]
    if not floor or not comps:
        return inconclusive("relu, identity and at least one nonlinear activation are needed")
    n = len(comps)
    count = {res: sum(r["result"] == res for r in comps)
             for res in ("win", "loss", "tie", "win (other not fitted)")}
    wins, losses, ties, unfit = (count["win"], count["loss"], count["tie"],
                                 count["win (other not fitted)"])
    key = (f"relu vs {len({r['other'] for r in comps})} nonlinear activations × "
           f"{len(settings)} settings: {wins} wins (+{unfit} over unfitted nets), {ties} ties, "
           f"{losses} losses, {n - wins - ties - losses - unfit} unclear (margin "
           f"{MARGIN:.0%}); vs identity "
           f"{sum(r['result'] == 'win' for r in floor)}/{len(floor)} wins")
    detail = _detail(comps)
    floor_res = [r["result"] for r in floor]
    evidence = {"comparisons": table, "wins": wins, "losses": losses, "ties": ties, "n": n,
                "not_fitted_wins": unfit, "vs_identity": floor_res}
    if ("loss" in floor_res or all(f in ("tie", "loss") for f in floor_res)
            or losses >= LOSE_SHARE * n):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if "win" not in floor_res:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "relu vs the linear floor is unclear wherever it is not a tie. " + detail)
    if wins >= WIN_SHARE * n and losses == 0:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    return Outcome(Verdict.PARTLY, key, evidence,
                   "ReLU generalizes better than a linear model, but no better than the other "
                   "nonlinear activations in most settings (the article omits that the gain is "
                   "that of nonlinearity, not specific to ReLU). " + detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    settings = _settings(measured["raw"])
    fig, axes = new_figure(3.4 * len(settings), 3.8, len(settings))
    for ax, ((dsname, recipe), acts) in zip(axes, settings.items()):
        names = list(acts)
        design = measured["design"]
        errbar(ax, np.arange(len(names)),
               [acc_est(acts[a]["test_acc"], design["n_test"][dsname]) for a in names],
               label="test")
        errbar(ax, np.arange(len(names)),
               [acc_est(acts[a]["train_acc"], design["n_train"][dsname]) for a in names],
               fmt="x", color="grey", label="train")
        ax.set_xticks(np.arange(len(names)), names, rotation=60, fontsize=7)
        ax.set_title(f"{dsname} / {recipe}", fontsize=9)
    axes[0].set_ylabel("accuracy (95 % CI over seeds)")
    axes[0].legend(fontsize=7)
    return [save(fig, figures_dir, "c11_accuracy_per_activation.png")]
