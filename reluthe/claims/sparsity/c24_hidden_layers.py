"""C24: ReLU belongs in the hidden layers, not on the output layer.

The article: ReLU is used in the hidden layers; the output layer needs an activation that fits
the task. Two arms of the same MLPs (ReLU hidden layers in both): no output activation, and
ReLU after the last layer. Each arm gets its own learning rate, chosen on validation over 3
data seeds × 3 model seeds (:mod:`reluthe.claims.sparsity._arms`), and is read at its
best-validation checkpoint.

* Classification (MNIST-1D and real MNIST, the main datasets) carries the verdict: ReLU on the
  logits cannot make a class score negative, and when every logit is clamped to 0 the
  prediction is a tie. Whether that harms accuracy is an empirical question.
* Regression (a teacher network whose targets are mostly negative) is reported beside it: a
  non-negative output cannot fit negative targets, so the harm there holds by construction
  (its floor, the MSE of predicting max(y, 0), is in the design).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import family, pp, too_few_seeds, unit_diffs
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.protocol import select_lr_across
from reluthe.stats import compare, hierarchical_bootstrap_ci

MARGIN = 0.01
TEACHER = {"input_dim": 10, "n_samples": 2000}
RULE = (
    f"Units: (data seed, model seed) pairs, >= {MIN_SEEDS} × >= {MIN_SEEDS}, each arm with its "
    f"own learning rate chosen on validation, read at the best-validation checkpoint. "
    f"Statistic: test accuracy with ReLU on the output minus without, per main dataset "
    f"(MNIST-1D, real MNIST), mean over units with a two-stage cluster-bootstrap interval at "
    f"the Bonferroni level of the family (Holm p), classified with a margin of {MARGIN:.0%} "
    f"(less = harm, tie, greater, unclear). Supported: harm on every main dataset. Partly: "
    f"harm on some main dataset and tie or greater on another. Refuted: tie or greater on "
    f"every main dataset (ReLU on the output does not hurt classification). Inconclusive: "
    f"fewer than {MIN_SEEDS} data or model seeds, or any comparison unclear otherwise. "
    f"Diverged units leave the comparison, named. The regression arm (log test-MSE ratio on "
    f"mostly negative targets) holds by construction and is reported, not judged."
)


def _teacher_sets(ctx: Context) -> list:
    return [_arms.load("teacher", d, (*sorted(TEACHER.items()), ("val_size", _arms.VAL_SIZE)))
            for d in _arms.data_seeds(ctx)]


def _regression_rows(ctx: Context) -> tuple[list[dict], dict]:
    sets = _teacher_sets(ctx)
    widths = [sets[0].input_dim, *_arms.hidden(ctx.quick), 1]
    s = _arms.setting(ctx.quick, "mnist1d")
    rows = []
    for arm_name, out_act in (("none", None), ("relu", "relu")):
        sel = select_lr_across(sets, widths, lrs=_arms.lrs(ctx.quick),
                               seeds=_arms.model_seeds(ctx), recipe=s.recipe(),
                               metric="val_loss", device=ctx.device, output_activation=out_act)
        for d, one in zip(_arms.data_seeds(ctx), sel):
            best = one.checkpoint
            rows += [{"task": "regression", "dataset": "teacher", "arm": arm_name,
                      "data_seed": int(d), "seed": int(seed), "lr": one.lr,
                      "diverged": not bool(np.isfinite(best.test_loss[k])),
                      "test_mse": float(best.test_loss[k])}
                     for k, seed in enumerate(one.result.seeds)]
    yt = np.concatenate([ds.y_test.double().numpy().ravel() for ds in sets])
    targets = {"negative_target_share": float((yt < 0).mean()),
               "nonnegative_floor_mse": float((np.minimum(yt, 0) ** 2).mean()),
               "target_variance": float(yt.var())}
    return rows, targets


def _all_zero_share(ctx: Context, a: _arms.Arm) -> list[float]:
    """Per member, the share of test inputs on which every output is exactly 0."""
    out = []
    for d, sel in zip(a.data_seeds, a.selections):
        logits = sel.result.outputs(_arms.dataset(ctx, a.setting.dataset, d).x_test,
                                    at="best_val")
        out += (logits == 0).all(-1).double().mean(1).tolist()
    return out


@single_threaded
def measure(ctx: Context) -> dict:
    main = [s.dataset for s in _arms.settings(ctx.quick) if s.role == "main"]
    raw = []
    for name in main:
        for arm_name, out_act in (("none", None), ("relu", "relu")):
            ctx.log(f"C24: {name} {arm_name}")
            a = _arms.arm(ctx, name, "relu", output_activation=out_act)
            zeros = _all_zero_share(ctx, a)
            raw += [{"task": "classification", "dataset": name, "arm": arm_name,
                     "data_seed": r["data_seed"], "seed": r["seed"], "lr": r["lr"],
                     "diverged": r["diverged"], "test_acc": r["test_acc"],
                     "all_zero_test": z} for r, z in zip(_arms.rows(ctx, a), zeros)]
    reg, targets = _regression_rows(ctx)
    design = _arms.design(ctx, tuple(main)) | {"teacher": TEACHER | targets}
    return {"design": design, "raw": raw + reg}


def _arm_rows(raw, task: str, dataset: str, arm: str) -> list[dict]:
    return [r for r in raw if r["task"] == task and r["dataset"] == dataset and r["arm"] == arm]


def _not_diverged(row) -> bool:
    return not row["diverged"]


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    few = too_few_seeds(design)
    if few is not None:
        return few
    main = [s["dataset"] for s in design["settings"] if s["role"] == "main"]
    diffs = [unit_diffs(_arm_rows(raw, "classification", d, "relu"),
                        _arm_rows(raw, "classification", d, "none"), "test_acc", _not_diverged)
             for d in main]
    ests = family([(v, c) for v, c, _ in diffs], design["bootstrap_seed"])
    classes = [compare(e, MARGIN) if len(set(c.tolist())) >= MIN_SEEDS else "unclear"
               for e, (_, c, _) in zip(ests, diffs)]
    log_ratio = _regression_log_ratio(raw, design["bootstrap_seed"])
    zeros = {d: float(np.mean([r["all_zero_test"] for r in
                               _arm_rows(raw, "classification", d, "relu")])) for d in main}
    teacher = design["teacher"]
    evidence = {"classification": [{"dataset": d, "diff": e.to_dict(), "class": c,
                                    "excluded_units": dropped, "all_zero_share": zeros[d]}
                                   for d, e, c, (_, _, dropped) in zip(main, ests, classes,
                                                                        diffs)],
                "regression_log_mse_ratio": log_ratio.to_dict(),
                "negative_target_share": teacher["negative_target_share"],
                "nonnegative_floor_mse": teacher["nonnegative_floor_mse"]}
    key = ("relu on the output, test accuracy: " + "; ".join(
        f"{d} {pp(e)} ({c})" for d, e, c in zip(main, ests, classes))
        + f"; regression MSE ×{np.exp(log_ratio.value):.3g} (by construction)")
    detail = (" ".join(f"On {d} ReLU on the logits changes test accuracy by {pp(e)}; every "
                       f"logit is 0 on {zeros[d]:.1%} of test inputs (a tie)." for d, e in
                       zip(main, ests))
              + f" On a teacher regression with {teacher['negative_target_share']:.0%} "
                f"negative targets the test MSE is ×{np.exp(log_ratio.value):.3g} with ReLU "
                f"on the output (a non-negative output cannot go below MSE "
                f"{teacher['nonnegative_floor_mse']:.3g}): that harm holds by construction.")
    if all(c == "less" for c in classes):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if all(c in ("tie", "greater") for c in classes):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "ReLU on the output layer does not hurt classification; the harm is "
                       "limited to outputs that must be negative. " + detail)
    if "less" in classes and any(c in ("tie", "greater") for c in classes):
        return Outcome(Verdict.PARTLY, key, evidence,
                       "ReLU on the output hurts classification on some datasets only. "
                       + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The classification intervals do not decide everywhere. " + detail)


def _regression_log_ratio(raw, seed: int):
    """log(test MSE with ReLU output / without), per unit, two-stage cluster bootstrap."""
    relu = {(r["data_seed"], r["seed"]): r for r in raw
            if r["task"] == "regression" and r["arm"] == "relu" and not r["diverged"]}
    pairs = [(np.log(relu[(r["data_seed"], r["seed"])]["test_mse"] / r["test_mse"]),
              r["data_seed"]) for r in raw if r["task"] == "regression" and r["arm"] == "none"
             and not r["diverged"] and (r["data_seed"], r["seed"]) in relu]
    return hierarchical_bootstrap_ci([p for p, _ in pairs], [c for _, c in pairs], seed=seed)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, design = measured["raw"], measured["design"]
    main = [s for s in design["settings"] if s["role"] == "main"]
    fig, axes = new_figure(3.3 * (len(main) + 1), 3.4, len(main) + 1)
    labels = ["no output activation", "ReLU on the output"]
    for ax, s in zip(axes, main):
        es = []
        for arm in ("none", "relu"):
            rows = [r for r in _arm_rows(raw, "classification", s["dataset"], arm)
                    if not r["diverged"]]
            es.append(hierarchical_bootstrap_ci([r["test_acc"] for r in rows],
                                                [r["data_seed"] for r in rows],
                                                seed=design["bootstrap_seed"]))
        errbar(ax, [0, 1], es)
        ax.set_xticks([0, 1], labels, fontsize=7)
        ax.set_xlim(-0.5, 1.5)
        ax.set_title(f"{s['label']}: test accuracy", fontsize=8)
    ax = axes[-1]
    es = []
    for arm in ("none", "relu"):
        rows = [r for r in raw if r["task"] == "regression" and r["arm"] == arm
                and not r["diverged"]]
        es.append(hierarchical_bootstrap_ci([r["test_mse"] for r in rows],
                                            [r["data_seed"] for r in rows],
                                            seed=design["bootstrap_seed"]))
    errbar(ax, [0, 1], es)
    ax.axhline(design["teacher"]["nonnegative_floor_mse"], ls=":", color="grey",
               label="floor for outputs ≥ 0")
    ax.set_xticks([0, 1], labels, fontsize=7)
    ax.set_xlim(-0.5, 1.5)
    ax.set_title("teacher regression: test MSE", fontsize=8)
    ax.legend(fontsize=7)
    axes[0].set_ylabel("mean over 3 data × 3 model seeds (95 % bootstrap)", fontsize=7)
    return [save(fig, figures_dir, "c24_output_relu.png")]
