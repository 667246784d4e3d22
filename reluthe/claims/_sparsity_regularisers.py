"""C23 (augmentation, regularisation, ensembling and transfer improve generalization, next to the
effect of the activation choice) and C24 (ReLU on the output layer vs none).

Every model here trains with :func:`reluthe.train.train_mlps`: transfer starts from the
pre-trained weights (``init_weights``), C24 puts ReLU after the last layer
(``output_activation``); arms with the same seeds share init and batch order, so they are paired.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._sparsity_common import (
    classify,
    errbar,
    est,
    inconclusive,
    new_figure,
    paired,
    pp,
    save,
    too_few,
)
from reluthe.claims._sparsity_protocol import MIN_SEEDS, protocol
from reluthe.claims._sparsity_runs import load
from reluthe.data import Dataset
from reluthe.probes.generalization import ensemble_accuracy
from reluthe.probes.sparsity import stacked_forward
from reluthe.train import Recipe, train_mlps

# ---------------------------------------------------------------------------------------------
# C24: relu on the output layer

C24_MARGIN = 0.01
C24_RULE = (
    f"Statistic: paired differences (same seeds, same init and batch order) between MLPs with "
    f"ReLU on the output layer and the same MLPs without, >= {MIN_SEEDS} seeds: test accuracy "
    f"on digits classification (relu applied to the logits), and log(test MSE ratio) on a "
    f"teacher regression whose targets are mostly negative. Regression harm: the log-ratio "
    f"interval above 0. Classification: compare with margin {C24_MARGIN:.0%} (less / tie / "
    f"greater / unclear). Supported: regression harm and classification 'less'. Partly: "
    f"regression harm while classification ties or gains (the harm depends on the task). "
    f"Refuted: the regression log-ratio interval at or below 0 (no harm even with negative "
    f"targets). Inconclusive: fewer than {MIN_SEEDS} seeds, or anything else."
)


@single_threaded
def measure_c24(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    seeds = p.seeds(ctx.seed)
    out = {}
    for task, name, steps in (("classification", "digits", p.c24_digits_steps),
                              ("regression", "teacher", p.c24_teacher_steps)):
        ctx.log(f"C24: {task}")
        ds = load(name, ctx.seed)
        widths = [ds.input_dim, *p.hidden, ds.n_classes or ds.y_train.shape[1]]
        recipe = Recipe(lr=p.recipe("mnist1d", "adam").lr, steps=steps, eval_every=steps)
        out[task] = {"dataset": name, "widths": widths, "steps": steps}
        for arm, output_activation in (("none", None), ("relu", "relu")):
            res = train_mlps(ds, widths, seeds=seeds, recipes=recipe, device=ctx.device,
                             output_activation=output_activation)
            # the test loss is the MSE for regression; accuracy is what C24 compares otherwise
            test, train = ((res.test_acc, res.train_acc) if ds.n_classes else
                           (res.test_loss, res.train_loss))
            zeros = (res.outputs(ds.x_test) == 0).all(-1).double().mean(1)
            out[task][arm] = {"test": test[:, -1].tolist(), "train": train[:, -1].tolist(),
                              "all_zero_test": zeros.tolist()}
        if ds.n_classes is None:
            yt = ds.y_test.double()
            out[task]["negative_target_share"] = float((yt < 0).double().mean())
            out[task]["nonnegative_floor_mse"] = float((yt.clamp(max=0) ** 2).mean())
            out[task]["target_variance"] = float(yt.var())
    return {**out, "seeds": seeds, "quick": ctx.quick}


def decide_c24(measured: dict) -> Outcome:
    cls, reg = measured["classification"], measured["regression"]
    few = too_few(cls["none"]["test"], cls["relu"]["test"], reg["none"]["test"],
                  reg["relu"]["test"])
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    d_cls = paired(cls["relu"]["test"], cls["none"]["test"])
    c = classify(d_cls, C24_MARGIN)
    lr = est(np.log(np.asarray(reg["relu"]["test"], float) / np.asarray(reg["none"]["test"],
                                                                       float)))
    harm = lr.has_ci and lr.low > 0
    evidence = {"classification_diff": d_cls.to_dict(), "classification_class": c,
                "regression_log_mse_ratio": lr.to_dict(),
                "regression_mse_none": est(reg["none"]["test"]).to_dict(),
                "regression_mse_relu": est(reg["relu"]["test"]).to_dict(),
                "negative_target_share": reg.get("negative_target_share"),
                "nonnegative_floor_mse": reg.get("nonnegative_floor_mse"),
                "all_zero_logits_share": est(cls["relu"]["all_zero_test"]).to_dict()}
    key = (f"relu output: classification {pp(d_cls)} test acc; regression test MSE "
           f"{est(reg['relu']['test']).value:.3g} vs {est(reg['none']['test']).value:.3g} "
           f"({reg.get('negative_target_share', float('nan')):.0%} negative targets)")
    detail = (f"With ReLU after the last layer, test accuracy on digits changes by {pp(d_cls)} "
              f"(on {est(cls['relu']['all_zero_test']).value:.1%} of test inputs every logit is "
              f"clamped to 0, so the prediction is a tie); on a teacher regression with "
              f"{reg.get('negative_target_share', float('nan')):.0%} negative targets the test "
              f"MSE is {est(reg['relu']['test']).value:.3g} vs "
              f"{est(reg['none']['test']).value:.3g} without (a non-negative output cannot go "
              f"below {reg.get('nonnegative_floor_mse', float('nan')):.3g}). The hidden layers "
              f"keep ReLU in both arms.")
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


def plot_c24(measured: dict, figures_dir: Path) -> list[str]:
    fig, axes = new_figure(7.0, 3.4, 2)
    for ax, task, label in ((axes[0], "classification", "test accuracy (digits)"),
                            (axes[1], "regression", "test MSE (teacher)")):
        m = measured[task]
        errbar(ax, [0, 1], [est(m["none"]["test"]), est(m["relu"]["test"])])
        ax.set_xticks([0, 1], ["no output activation", "relu on output"], fontsize=8)
        ax.set_ylabel(label)
        ax.set_xlim(-0.5, 1.5)
    if "nonnegative_floor_mse" in measured["regression"]:
        axes[1].axhline(measured["regression"]["nonnegative_floor_mse"], ls=":", color="grey",
                        label="floor for outputs ≥ 0")
        axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c24_output_relu.png")]


# ---------------------------------------------------------------------------------------------
# C23: effect sizes of generalization techniques vs the activation choice

C23_RULE = (
    f"One shared small-data task: mnist1d with a seeded subset of training examples (500 in the "
    f"default run), the full test set, ReLU MLP, Adam; >= {MIN_SEEDS} seeds. Effect of each "
    f"technique = paired difference (same seeds) of final test accuracy vs the baseline: "
    f"augmentation (random roll shifts and Gaussian noise), regularisation (L2 weight decay, L1 "
    f"activity penalty, dropout; the family counts as improving if at least one of the three "
    f"does), ensembling (softmax average of K members minus the mean of those members, one "
    f"ensemble per seed group) and transfer (pre-training on 4000 mnist1d examples generated "
    f"with another seed, then fine-tuning on the small set). A technique improves when its 95 % "
    f"interval lies above 0, hurts when below. Supported: all four families improve. Partly: "
    f"one to three improve (the others named). Refuted: none improves and at least one hurts. "
    f"Inconclusive: fewer than {MIN_SEEDS} seeds, or none improves and none hurts. Reported "
    f"beside it: the activation choice on the same task (best and worst other nonlinear "
    f"activation minus relu, and identity minus relu)."
)


def _augment(x: torch.Tensor, gen: torch.Generator, *, shift: int, noise: float) -> torch.Tensor:
    """Roll each example by a random integer in [-shift, shift] and add N(0, noise²) noise."""
    d = x.shape[-1]
    s = torch.randint(-shift, shift + 1, x.shape[:-1] + (1,), generator=gen, device=x.device)
    idx = (torch.arange(d, device=x.device) - s) % d
    return torch.gather(x, -1, idx) + noise * torch.randn(x.shape, generator=gen,
                                                          device=x.device)


def small_task(quick: bool, seed: int) -> Dataset:
    """mnist1d with a seeded subset of ``n_small`` training examples; the full test set."""
    p = protocol(quick)
    ds = load("mnist1d", seed)
    perm = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(seed + 31))
    keep = perm[: p.n_small]
    return dataclasses.replace(ds, x_train=ds.x_train[keep].clone(),
                               y_train=ds.y_train[keep].clone(),
                               options={**ds.options, "n_train": p.n_small})


@single_threaded
def measure_c23(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = small_task(ctx.quick, ctx.seed)
    widths = [ds.input_dim, *p.hidden, ds.n_classes]
    seeds = p.seeds(ctx.seed)
    base = dataclasses.replace(p.recipe("mnist1d", "adam"), steps=p.small_steps,
                               eval_every=p.small_steps)
    dev = ctx.device
    n = len(seeds)
    ctx.log("C23: baseline and ensembles")
    ens_seeds = [ctx.seed + i for i in range(n * p.ensemble_size)]
    b = train_mlps(ds, widths, seeds=ens_seeds, recipes=base, device=dev)
    logits = stacked_forward(b.weights, ds.x_test, "relu")[0]
    groups = [list(range(g * p.ensemble_size, (g + 1) * p.ensemble_size)) for g in range(n)]
    ensemble = {"ensemble_acc": [ensemble_accuracy(logits[g], ds.y_test) for g in groups],
                "member_mean_acc": [float(b.test_acc[g, -1].mean()) for g in groups],
                "size": p.ensemble_size}
    effects = {"baseline": b.test_acc[:n, -1].tolist()}
    ctx.log("C23: regularisers")
    regs = [("l2", dataclasses.replace(base, weight_decay=p.small_weight_decay)),
            ("l1_activity", dataclasses.replace(base, l1_activity=p.small_l1)),
            ("dropout", dataclasses.replace(base, dropout=p.small_dropout))]
    r = train_mlps(ds, widths, seeds=seeds, recipes=[rc for _, rc in regs], device=dev)
    for i, (name, _) in enumerate(regs):
        effects[name] = r.test_acc[i * n:(i + 1) * n, -1].tolist()
    ctx.log("C23: augmentation")
    aug = functools.partial(_augment, shift=p.aug_shift, noise=p.aug_noise)
    effects["augmentation"] = train_mlps(ds, widths, seeds=seeds, recipes=base, augment=aug,
                                         device=dev).test_acc[:, -1].tolist()
    ctx.log("C23: transfer")
    big = load("mnist1d", ctx.seed + 1, num_samples=p.pretrain_samples)
    pre = train_mlps(big, widths, seeds=seeds, recipes=dataclasses.replace(
        base, steps=p.pretrain_steps, eval_every=p.pretrain_steps), device=dev)
    ft = train_mlps(ds, widths, seeds=seeds, device=dev, init_weights=pre.weights,
                    recipes=dataclasses.replace(base, steps=p.finetune_steps,
                                                eval_every=p.finetune_steps))
    effects["transfer"] = ft.test_acc[:, -1].tolist()
    activations = {}
    for act in p.activations:
        if act == "relu":
            continue
        ctx.log(f"C23: activation {act}")
        activations[act] = train_mlps(ds, widths, seeds=seeds, recipes=base, activation=act,
                                      device=dev).test_acc[:, -1].tolist()
    return {"effects": effects, "ensemble": ensemble, "activations": activations,
            "n_train": p.n_small, "steps": p.small_steps, "seeds": seeds,
            "settings": {"weight_decay": p.small_weight_decay, "l1_activity": p.small_l1,
                         "dropout": p.small_dropout, "aug_shift": p.aug_shift,
                         "aug_noise": p.aug_noise, "pretrain_steps": p.pretrain_steps,
                         "pretrain_samples": p.pretrain_samples,
                         "finetune_steps": p.finetune_steps}, "quick": ctx.quick}


def decide_c23(measured: dict) -> Outcome:
    eff, ens, acts = measured["effects"], measured["ensemble"], measured["activations"]
    base = eff["baseline"]
    few = too_few(base, *[v for k, v in eff.items()], ens["ensemble_acc"], *acts.values())
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    d = {k: paired(v, base) for k, v in eff.items() if k != "baseline"}
    d["ensembling"] = paired(ens["ensemble_acc"], ens["member_mean_acc"])
    state = {k: "improves" if e.has_ci and e.low > 0 else "hurts" if e.has_ci and e.high < 0
             else "unclear" for k, e in d.items()}
    families = {"augmentation": ["augmentation"], "regularisation": ["l2", "l1_activity",
                                                                     "dropout"],
                "ensembling": ["ensembling"], "transfer": ["transfer"]}
    fam = {f: "improves" if any(state[m] == "improves" for m in ms) else
           "hurts" if all(state[m] == "hurts" for m in ms) else "unclear"
           for f, ms in families.items()}
    nonlinear = {a: paired(v, base) for a, v in acts.items() if a != "identity"}
    best = max(nonlinear, key=lambda a: nonlinear[a].value) if nonlinear else None
    worst = min(nonlinear, key=lambda a: nonlinear[a].value) if nonlinear else None
    ident = paired(acts["identity"], base) if "identity" in acts else None
    evidence = {"effects": {k: e.to_dict() for k, e in d.items()}, "technique_state": state,
                "family_state": fam, "baseline_acc": est(base).to_dict(),
                "activation_effects": {a: e.to_dict() for a, e in nonlinear.items()},
                "identity_minus_relu": ident.to_dict() if ident else None,
                "best_activation": best, "worst_activation": worst}
    eff_txt = ", ".join(f"{k} {pp(e)}" for k, e in d.items())
    key = (f"vs baseline {est(base).value:.1%}: " + ", ".join(
        f"{k} {d[k].value * 100:+.1f}" for k in d) + " pp" + (
        f"; activation: best {best} {nonlinear[best].value * 100:+.1f}, worst {worst} "
        f"{nonlinear[worst].value * 100:+.1f} pp vs relu" if best else ""))
    act_txt = (f" On the same task the activation choice moves test accuracy from "
               f"{pp(nonlinear[worst])} ({worst}) to {pp(nonlinear[best])} ({best}) relative to "
               f"relu" + (f"; a linear model (identity) is {pp(ident)}" if ident else "") + "."
               ) if best else ""
    detail = (f"Small-data mnist1d task ({measured['n_train']} training examples), ReLU MLP "
              f"baseline {fmt(est(base))} test accuracy. Effects (paired, 95 % CI): {eff_txt}. "
              f"Transfer pre-trains on mnist1d examples generated with another seed: the same "
              f"distribution, so it mostly adds data, the most favourable case for transfer."
              + act_txt)
    improving = [f for f, s in fam.items() if s == "improves"]
    if len(improving) == len(fam):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if improving:
        others = [f for f in fam if f not in improving]
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"{', '.join(improving)} improve(s) generalization here; "
                       f"{', '.join(others)} do(es) not measurably. " + detail)
    if any(s == "hurts" for s in fam.values()):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "No technique is separated from the baseline; more seeds would. " + detail)


def fmt(e) -> str:
    return f"{e.value:.1%}" + (f" [{e.low:.1%}, {e.high:.1%}]" if e.has_ci else "")


def plot_c23(measured: dict, figures_dir: Path) -> list[str]:
    eff, ens, acts = measured["effects"], measured["ensemble"], measured["activations"]
    base = eff["baseline"]
    rows = [(k, paired(v, base)) for k, v in eff.items() if k != "baseline"]
    rows.append(("ensembling", paired(ens["ensemble_acc"], ens["member_mean_acc"])))
    rows += [(f"act: {a}", paired(v, base)) for a, v in acts.items()]
    fig, axes = new_figure(7.0, 4.2, 1)
    ax = axes[0]
    ys = np.arange(len(rows))
    es = [e for _, e in rows]
    v = np.array([e.value for e in es]) * 100
    lo = np.array([e.low if e.has_ci else e.value for e in es]) * 100
    hi = np.array([e.high if e.has_ci else e.value for e in es]) * 100
    colors = ["tab:blue" if not k.startswith("act") else "tab:orange" for k, _ in rows]
    for y, vv, l, h, c in zip(ys, v, lo, hi, colors):
        ax.errorbar([vv], [y], xerr=[[vv - l], [h - vv]], fmt="o", color=c, capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(ys, [k for k, _ in rows], fontsize=8)
    ax.set_xlabel("test accuracy change vs relu baseline (pp, 95 % CI)")
    ax.set_title(f"mnist1d, {measured['n_train']} training examples", fontsize=9)
    return [save(fig, figures_dir, "c23_effect_sizes.png")]
