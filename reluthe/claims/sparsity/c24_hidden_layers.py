"""C24: ReLU belongs in the hidden layers, not on the output layer.

The article: ReLU is used in the hidden layers; the output layer needs an activation that fits
the task. Measured with the same MLPs with and without ReLU after the last layer (same seeds,
init and batch order; the hidden layers keep ReLU in both arms): test accuracy on digits
classification, and test MSE on a teacher regression whose targets are mostly negative. One raw
row per (task, arm, seed); the targets' negative share and the MSE floor of a non-negative output
are in the design.
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
    inconclusive,
    paired,
    pp,
    too_few,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import base_design, dataset, model_seeds
from reluthe.train import Recipe, train_mlps

MARGIN = 0.01
RULE = (
    f"Statistic: paired differences (same seeds, same init and batch order) between MLPs with "
    f"ReLU on the output layer and the same MLPs without, >= {MIN_SEEDS} seeds: test accuracy "
    f"on digits classification (relu applied to the logits), and log(test MSE ratio) on a "
    f"teacher regression whose targets are mostly negative. Regression harm: the log-ratio "
    f"interval above 0. Classification: compare with margin {MARGIN:.0%} (less / tie / "
    f"greater / unclear). Supported: regression harm and classification 'less'. Partly: "
    f"regression harm while classification ties or gains (the harm depends on the task). "
    f"Refuted: the regression log-ratio interval at or below 0 (no harm even with negative "
    f"targets). Inconclusive: fewer than {MIN_SEEDS} seeds, or anything else."
)


def _arm_rows(res, ds, task: str, arm: str) -> list[dict]:
    # the test loss is the MSE for regression; accuracy is what C24 compares otherwise
    test, train = ((res.test_acc, res.train_acc) if ds.n_classes else
                   (res.test_loss, res.train_loss))
    zeros = (res.outputs(ds.x_test) == 0).all(-1).double().mean(1)
    return [{"seed": int(s), "task": task, "arm": arm, "test": float(test[k, -1]),
             "train": float(train[k, -1]), "all_zero_test": float(zeros[k])}
            for k, s in enumerate(res.seeds)]


def _targets(ds) -> dict:
    """What a non-negative output can reach on a regression's test targets."""
    yt = ds.y_test.double()
    return {"negative_target_share": float((yt < 0).double().mean()),
            "nonnegative_floor_mse": float((yt.clamp(max=0) ** 2).mean()),
            "target_variance": float(yt.var())}


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    raw, tasks = [], {}
    for task, name, steps in (("classification", "digits", p.c24_digits_steps),
                              ("regression", "teacher", p.c24_teacher_steps)):
        ctx.log(f"C24: {task}")
        ds = dataset(ctx, name)
        widths = [ds.input_dim, *p.hidden, ds.n_classes or ds.y_train.shape[1]]
        recipe = Recipe(lr=p.recipe("mnist1d", "adam").lr, steps=steps, eval_every=steps)
        tasks[task] = {"dataset": name, "widths": widths, "steps": steps}
        for arm, output_activation in (("none", None), ("relu", "relu")):
            res = train_mlps(ds, widths, seeds=model_seeds(ctx), recipes=recipe,
                             device=ctx.device, output_activation=output_activation)
            raw += _arm_rows(res, ds, task, arm)
        if ds.n_classes is None:
            tasks[task].update(_targets(ds))
    n_test = {"digits": int(len(dataset(ctx, "digits").x_test))}
    return {"design": {**base_design(ctx), "hidden": list(p.hidden), "tasks": tasks,
                       "n_test": n_test}, "raw": raw}


def decide(measured: dict) -> Outcome:
    arm = cells(measured["raw"], ("task", "arm"))
    cls = {a: arm[("classification", a)] for a in ("none", "relu")}
    reg = {a: arm[("regression", a)] for a in ("none", "relu")}
    targets = measured["design"]["tasks"]["regression"]
    few = too_few(cls["none"]["test"], cls["relu"]["test"], reg["none"]["test"],
                  reg["relu"]["test"])
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    d_cls = paired(cls["relu"]["test"], cls["none"]["test"])
    c = classify(d_cls, MARGIN)
    lr = est(np.log(np.asarray(reg["relu"]["test"], float) / np.asarray(reg["none"]["test"],
                                                                       float)))
    harm = lr.has_ci and lr.low > 0
    share = targets.get("negative_target_share", float("nan"))
    floor = targets.get("nonnegative_floor_mse", float("nan"))
    mse_relu, mse_none = est(reg["relu"]["test"]), est(reg["none"]["test"])
    all_zero = acc_est(cls["relu"]["all_zero_test"], measured["design"]["n_test"]["digits"])
    evidence = {"classification_diff": d_cls.to_dict(), "classification_class": c,
                "regression_log_mse_ratio": lr.to_dict(),
                "regression_mse_none": mse_none.to_dict(),
                "regression_mse_relu": mse_relu.to_dict(),
                "negative_target_share": targets.get("negative_target_share"),
                "nonnegative_floor_mse": targets.get("nonnegative_floor_mse"),
                "all_zero_logits_share": all_zero.to_dict()}
    key = (f"relu output: classification {pp(d_cls)} test acc; regression test MSE "
           f"{mse_relu.value:.3g} vs {mse_none.value:.3g} ({share:.0%} negative targets)")
    detail = (f"With ReLU after the last layer, test accuracy on digits changes by {pp(d_cls)} "
              f"(on {all_zero.value:.1%} of test inputs every logit is "
              f"clamped to 0, so the prediction is a tie); on a teacher regression with "
              f"{share:.0%} negative targets the test MSE is {mse_relu.value:.3g} vs "
              f"{mse_none.value:.3g} without (a non-negative output cannot go below "
              f"{floor:.3g}). The hidden layers keep ReLU in both arms.")
    if lr.has_ci and lr.high <= 0:
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if harm and c == "less":
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if harm and c in ("tie", "greater"):
        return Outcome(Verdict.PARTLY, key, evidence,
                       "ReLU on the output harms regression with negative targets but not "
                       "classification. " + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The intervals do not separate; more seeds would. " + detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    arm = cells(measured["raw"], ("task", "arm"))
    fig, axes = new_figure(7.0, 3.4, 2)
    for ax, task, label in ((axes[0], "classification", "test accuracy (digits)"),
                            (axes[1], "regression", "test MSE (teacher)")):
        if task == "classification":  # accuracies: the bounded interval
            n_test = measured["design"]["n_test"]["digits"]
            es = [acc_est(arm[(task, a)]["test"], n_test) for a in ("none", "relu")]
        else:
            es = [est(arm[(task, a)]["test"]) for a in ("none", "relu")]
        errbar(ax, [0, 1], es)
        ax.set_xticks([0, 1], ["no output activation", "relu on output"], fontsize=8)
        ax.set_ylabel(label)
        ax.set_xlim(-0.5, 1.5)
    floor = measured["design"]["tasks"]["regression"].get("nonnegative_floor_mse")
    if floor is not None:
        axes[1].axhline(floor, ls=":", color="grey", label="floor for outputs ≥ 0")
        axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c24_output_relu.png")]
