"""C23: augmentation, regularisation, ensembling and transfer improve generalization too.

The article lists data augmentation, regularisation, ensembling and transfer learning beside the
activation choice as ways to generalize better. Measured on one shared small-data task (mnist1d
with a seeded subset of the training set, ReLU MLP, Adam): the paired effect of each technique on
test accuracy against the baseline, and on the same task the effect of swapping relu for each
other activation. One raw row per (technique or activation, seed) and per ensemble (seed group).

Every model trains with :func:`reluthe.train.train_mlps`: transfer starts from the pre-trained
weights (``init_weights``); arms with the same seeds share init and batch order, so they are
paired.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import column
from reluthe.claims.sparsity._common import acc_est, cells, inconclusive, paired, pp, too_few
from reluthe.claims.sparsity._plot import new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import base_design, dataset, load, model_seeds
from reluthe.data import Dataset
from reluthe.probes.generalization import ensemble_accuracy
from reluthe.probes.sparsity import stacked_forward
from reluthe.train import train_mlps

RULE = (
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
FAMILIES = {"augmentation": ["augmentation"], "regularisation": ["l2", "l1_activity", "dropout"],
            "ensembling": ["ensembling"], "transfer": ["transfer"]}


def _augment(x: torch.Tensor, gen: torch.Generator, *, shift: int, noise: float) -> torch.Tensor:
    """Roll each example by a random integer in [-shift, shift] and add N(0, noise²) noise."""
    d = x.shape[-1]
    s = torch.randint(-shift, shift + 1, x.shape[:-1] + (1,), generator=gen, device=x.device)
    idx = (torch.arange(d, device=x.device) - s) % d
    return torch.gather(x, -1, idx) + noise * torch.randn(x.shape, generator=gen,
                                                          device=x.device)


def data_seeds(ctx: Context) -> dict[str, int]:
    """The "data" seeds of C23: the mnist1d set, its small training subset, the pre-training
    set (generated with another seed than the first)."""
    subset, pretrain = ctx.seeds("data", 2, start=1)
    return {"dataset": ctx.seeds("data", 1)[0], "subset": subset, "pretrain": pretrain}


def small_task(ctx: Context) -> Dataset:
    """mnist1d with a seeded subset of ``n_small`` training examples; the full test set."""
    n_small = protocol(ctx.quick).n_small
    ds = dataset(ctx, "mnist1d")
    gen = torch.Generator().manual_seed(data_seeds(ctx)["subset"])
    keep = torch.randperm(len(ds.x_train), generator=gen)[:n_small]
    return dataclasses.replace(ds, x_train=ds.x_train[keep].clone(),
                               y_train=ds.y_train[keep].clone(),
                               options={**ds.options, "n_train": n_small})


def _rows(part: str, field: str, name: str, seeds, test_acc) -> list[dict]:
    return [{"seed": int(s), "part": part, field: name, "test_acc": float(a)}
            for s, a in zip(seeds, test_acc)]


def _ensembles(ctx: Context, ds, widths, base) -> list[dict]:
    """The baseline (its first ``n_seeds`` members) and one ensemble row per seed group."""
    p = protocol(ctx.quick)
    n, size = p.n_seeds, p.ensemble_size
    ens_seeds = ctx.seeds("model", n * size)
    b = train_mlps(ds, widths, seeds=ens_seeds, recipes=base, device=ctx.device)
    logits = stacked_forward(b.weights, ds.x_test, "relu")[0]
    rows = _rows("technique", "technique", "baseline", ens_seeds[:n], b.test_acc[:n, -1])
    for g in range(n):
        members = list(range(g * size, (g + 1) * size))
        rows.append({"seed": ens_seeds[members[0]], "part": "ensemble",
                     "member_seeds": [ens_seeds[k] for k in members],
                     "ensemble_acc": ensemble_accuracy(logits[members], ds.y_test),
                     "member_mean_acc": float(b.test_acc[members, -1].mean())})
    return rows


def _techniques(ctx: Context, ds, widths, base) -> list[dict]:
    """Regularisers, augmentation and transfer, each trained on the model seeds."""
    p, seeds, dev = protocol(ctx.quick), model_seeds(ctx), ctx.device
    n = len(seeds)
    ctx.log("C23: regularisers")
    regs = [("l2", dataclasses.replace(base, weight_decay=p.small_weight_decay)),
            ("l1_activity", dataclasses.replace(base, l1_activity=p.small_l1)),
            ("dropout", dataclasses.replace(base, dropout=p.small_dropout))]
    r = train_mlps(ds, widths, seeds=seeds, recipes=[rc for _, rc in regs], device=dev)
    rows = [row for i, (name, _) in enumerate(regs)
            for row in _rows("technique", "technique", name, seeds,
                             r.test_acc[i * n:(i + 1) * n, -1])]
    ctx.log("C23: augmentation")
    aug = functools.partial(_augment, shift=p.aug_shift, noise=p.aug_noise)
    rows += _rows("technique", "technique", "augmentation", seeds, train_mlps(
        ds, widths, seeds=seeds, recipes=base, augment=aug, device=dev).test_acc[:, -1])
    ctx.log("C23: transfer")
    big = load("mnist1d", data_seeds(ctx)["pretrain"], num_samples=p.pretrain_samples)
    pre = train_mlps(big, widths, seeds=seeds, recipes=dataclasses.replace(
        base, steps=p.pretrain_steps, eval_every=p.pretrain_steps), device=dev)
    ft = train_mlps(ds, widths, seeds=seeds, device=dev, init_weights=pre.weights,
                    recipes=dataclasses.replace(base, steps=p.finetune_steps,
                                                eval_every=p.finetune_steps))
    return rows + _rows("technique", "technique", "transfer", seeds, ft.test_acc[:, -1])


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = small_task(ctx)
    widths = [ds.input_dim, *p.hidden, ds.n_classes]
    base = dataclasses.replace(p.recipe("mnist1d", "adam"), steps=p.small_steps,
                               eval_every=p.small_steps)
    ctx.log("C23: baseline and ensembles")
    raw = _ensembles(ctx, ds, widths, base) + _techniques(ctx, ds, widths, base)
    for act in (a for a in p.activations if a != "relu"):
        ctx.log(f"C23: activation {act}")
        raw += _rows("activation", "activation", act, model_seeds(ctx), train_mlps(
            ds, widths, seeds=model_seeds(ctx), recipes=base, activation=act,
            device=ctx.device).test_acc[:, -1])
    design = {**base_design(ctx), "data_seeds": data_seeds(ctx), "n_train": p.n_small,
              "n_test": {"mnist1d": int(len(ds.x_test))},
              "steps": p.small_steps, "hidden": list(p.hidden), "ensemble_size": p.ensemble_size,
              "settings": {"weight_decay": p.small_weight_decay, "l1_activity": p.small_l1,
                           "dropout": p.small_dropout, "aug_shift": p.aug_shift,
                           "aug_noise": p.aug_noise, "pretrain_steps": p.pretrain_steps,
                           "pretrain_samples": p.pretrain_samples,
                           "finetune_steps": p.finetune_steps}}
    return {"design": design, "raw": raw}


def _arms(raw) -> tuple[dict, dict, dict]:
    """Per-seed test accuracies per technique and per activation; the ensembles' columns."""
    eff = {k: c["test_acc"] for (k,), c in cells(raw, ("technique",), part="technique").items()}
    acts = {k: c["test_acc"] for (k,), c in cells(raw, ("activation",), part="activation")
            .items()}
    ens = {f: column(raw, f, part="ensemble") for f in ("ensemble_acc", "member_mean_acc")}
    return eff, ens, acts


def _effects(eff: dict, ens: dict) -> dict:
    base = eff["baseline"]
    d = {k: paired(v, base) for k, v in eff.items() if k != "baseline"}
    d["ensembling"] = paired(ens["ensemble_acc"], ens["member_mean_acc"])
    return d


def _verdict(fam: dict, key: str, evidence: dict, detail: str) -> Outcome:
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


def decide(measured: dict) -> Outcome:
    eff, ens, acts = _arms(measured["raw"])
    base = eff["baseline"]
    few = too_few(base, *eff.values(), ens["ensemble_acc"], *acts.values())
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    d = _effects(eff, ens)
    state = {k: "improves" if e.has_ci and e.low > 0 else "hurts" if e.has_ci and e.high < 0
             else "unclear" for k, e in d.items()}
    fam = {f: "improves" if any(state[m] == "improves" for m in ms) else
           "hurts" if all(state[m] == "hurts" for m in ms) else "unclear"
           for f, ms in FAMILIES.items()}
    base_acc = acc_est(base, measured["design"]["n_test"]["mnist1d"])
    nonlinear = {a: paired(v, base) for a, v in acts.items() if a != "identity"}
    best = max(nonlinear, key=lambda a: nonlinear[a].value) if nonlinear else None
    worst = min(nonlinear, key=lambda a: nonlinear[a].value) if nonlinear else None
    ident = paired(acts["identity"], base) if "identity" in acts else None
    evidence = {"effects": {k: e.to_dict() for k, e in d.items()}, "technique_state": state,
                "family_state": fam, "baseline_acc": base_acc.to_dict(),
                "activation_effects": {a: e.to_dict() for a, e in nonlinear.items()},
                "identity_minus_relu": ident.to_dict() if ident else None,
                "best_activation": best, "worst_activation": worst}
    key = (f"vs baseline {base_acc.value:.1%}: " + ", ".join(
        f"{k} {d[k].value * 100:+.1f}" for k in d) + " pp" + (
        f"; activation: best {best} {nonlinear[best].value * 100:+.1f}, worst {worst} "
        f"{nonlinear[worst].value * 100:+.1f} pp vs relu" if best else ""))
    act_txt = (f" On the same task the activation choice moves test accuracy from "
               f"{pp(nonlinear[worst])} ({worst}) to {pp(nonlinear[best])} ({best}) relative to "
               f"relu" + (f"; a linear model (identity) is {pp(ident)}" if ident else "") + "."
               ) if best else ""
    detail = (f"Small-data mnist1d task ({measured['design']['n_train']} training examples), "
              f"ReLU MLP baseline {_percent(base_acc)} test accuracy. Effects (paired, 95 % "
              f"CI): {', '.join(f'{k} {pp(e)}' for k, e in d.items())}. "
              f"Transfer pre-trains on mnist1d examples generated with another seed: the same "
              f"distribution, so it mostly adds data, the most favourable case for transfer."
              + act_txt)
    return _verdict(fam, key, evidence, detail)


def _percent(e) -> str:
    return f"{e.value:.1%}" + (f" [{e.low:.1%}, {e.high:.1%}]" if e.has_ci else "")


def plot(measured: dict, figures_dir: Path) -> list[str]:
    eff, ens, acts = _arms(measured["raw"])
    d = _effects(eff, ens)
    rows = list(d.items()) + [(f"act: {a}", paired(v, eff["baseline"])) for a, v in acts.items()]
    fig, axes = new_figure(7.0, 4.2, 1)
    ax = axes[0]
    ys = np.arange(len(rows))
    es = [e for _, e in rows]
    v = np.array([e.value for e in es]) * 100
    lo = np.array([e.low if e.has_ci else e.value for e in es]) * 100
    hi = np.array([e.high if e.has_ci else e.value for e in es]) * 100
    colors = ["tab:blue" if not k.startswith("act") else "tab:orange" for k, _ in rows]
    for y, vv, lo_, hi_, c in zip(ys, v, lo, hi, colors):
        ax.errorbar([vv], [y], xerr=[[vv - lo_], [hi_ - vv]], fmt="o", color=c, capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(ys, [k for k, _ in rows], fontsize=8)
    ax.set_xlabel("test accuracy change vs relu baseline (pp, 95 % CI)")
    ax.set_title(f"mnist1d, {measured['design']['n_train']} training examples", fontsize=9)
    return [save(fig, figures_dir, "c23_effect_sizes.png")]
