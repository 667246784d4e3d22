"""C23: augmentation, regularisation, ensembling and transfer improve generalization too.

The article lists data augmentation, regularisation, ensembling and transfer learning beside the
activation choice as ways to generalize better. Measured on one shared small-data task: per data
seed, :data:`N_TRAIN` training and :data:`N_VAL` validation examples drawn from the training split
of that seed's mnist1d set (the family's :func:`reluthe.claims.sparsity._arms.dataset`), its full
test set, a ReLU MLP trained with Adam and read at every member's best-validation checkpoint.

* The baseline and every activation arm choose their learning rate on validation, jointly over
  data and model seeds (:func:`reluthe.protocol.select_lr_across`).
* Every technique trains at the baseline's learning rate and chooses its strength on validation
  from a small grid (:data:`GRIDS`, :data:`AUG_GRID`); transfer chooses its fine-tuning learning
  rate. The test set chooses nothing.
* Transfer pre-trains on a different distribution with the same ten classes: mnist1d generated
  with stronger transformations (:data:`PRETRAIN_SHIFT`) and another seed, then fine-tunes the
  whole net (output layer included: the classes are the same) on the small set. More data from
  the same distribution would be "more data", not transfer.
* Ensembling averages the softmax of :data:`ENSEMBLE_SIZE` baseline members (the unit's own
  member and extra seeds); its effect is ensemble accuracy minus the mean of its members.

Arms with the same model seed share init and batch order, so effects are paired per (data
seed, model seed) unit; intervals are two-stage cluster bootstraps over data seeds at the
Bonferroni level of the family of techniques, with Holm-adjusted p
(:func:`reluthe.claims.sparsity._common.family`). The activation choice on the same task
(each other activation minus relu, its own family) is reported beside the techniques.

Raw rows, one per (arm, option, data seed, model seed): ``part`` ("baseline", "technique",
"ensemble", "activation"), ``arm``, ``option`` (the grid point in words), ``strength``, ``lr``,
``chosen`` (the option chosen on validation), ``val_acc``, ``test_acc``, ``best_step``,
``diverged``; ensemble rows carry ``ensemble_acc``, ``member_mean_acc`` and ``member_seeds``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import acc_est, family, inconclusive, pp, unit_diffs
from reluthe.claims.sparsity._plot import new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS
from reluthe.data import Dataset
from reluthe.probes.generalization import ensemble_accuracy
from reluthe.protocol import select_lr, select_lr_across
from reluthe.train import Recipe, TrainResult, train_mlps

N_TRAIN, N_VAL = 500, 500  # the small task per data seed (quick: 200, 200)
STEPS, EVAL_EVERY = 200, 25  # the small task's budget (quick: 40, 10)
PRETRAIN_STEPS = 200  # pre-training budget on the shifted distribution (quick: 40)
MARGIN = 0.01  # a gain below 1 pp is "no gain" when the interval rules out more
ENSEMBLE_SIZE = 3
# the pre-training distribution: mnist1d with stronger shear, scaling and correlated noise
PRETRAIN_SHIFT = {"shear_scale": 1.5, "scale_coeff": 1.0, "corr_noise_scale": 0.5}
# technique -> (Recipe field, strengths chosen from on validation); --full adds a third value
GRIDS = {"l2": ("weight_decay", (1e-3, 1e-2), 3e-2),
         "l1_activity": ("l1_activity", (0.03, 0.3), 1.0),
         "dropout": ("dropout", (0.1, 0.3), 0.5)}
# augmentation (random circular shift of at most `shift` positions, Gaussian noise of std
# `noise`): grid of (shift, noise); --full adds a third point
AUG_GRID, AUG_FULL = ((2, 0.05), (5, 0.1)), (8, 0.2)
FAMILIES = {"augmentation": ("augmentation",), "regularisation": ("l2", "l1_activity", "dropout"),
            "ensembling": ("ensembling",), "transfer": ("transfer",)}
TECHNIQUES = tuple(t for ts in FAMILIES.values() for t in ts)
LABELS = {"augmentation": "augmentation (shifts + noise)", "l2": "L2 weight decay",
          "l1_activity": "L1 activity penalty", "dropout": "dropout",
          "ensembling": f"ensemble of {ENSEMBLE_SIZE}",
          "transfer": "transfer (pre-trained on shifted MNIST-1D)"}

RULE = (
    f"One shared small-data task per data seed: {N_TRAIN} training and {N_VAL} validation "
    f"examples drawn from that seed's mnist1d training split, its full test set, ReLU MLP, "
    f"Adam, {STEPS} steps, every member read at its best-validation checkpoint. The baseline "
    f"and each activation arm choose their learning rate on validation; each technique trains "
    f"at the baseline's rate and chooses its strength on validation (L2 weight decay, L1 "
    f"activity penalty, dropout, augmentation by random shifts and noise: two grid points each, "
    f"three with --full; transfer: the fine-tuning learning rate after pre-training, its own "
    f"learning rate chosen on its own validation split, on mnist1d generated with stronger "
    f"shear, scaling and noise from another seed: same classes, another distribution). "
    f"Effect of a technique = mean paired difference of test accuracy vs the baseline over "
    f"(data seed, model seed) units; "
    f"ensembling = accuracy of the softmax average of {ENSEMBLE_SIZE} baseline members minus "
    f"their mean. Units where either arm diverged (non-finite final loss) are dropped and named. "
    f"Intervals: two-stage cluster bootstrap over data seeds, Bonferroni over the "
    f"{len(TECHNIQUES)} techniques (Holm p reported). A technique improves when its interval "
    f"lies above 0; it does not improve when its upper end is below +{MARGIN * 100:.0f} pp "
    f"(below 0: hurts); else unclear. A family (augmentation; regularisation = any of L2, L1 "
    f"activity, dropout; ensembling; transfer) improves if one of its techniques does, is "
    f"unclear if none does and one is unclear, else does not improve. Supported: all four "
    f"families improve. Partly: one to three improve (the others named). Refuted: no family "
    f"improves and none is unclear. Inconclusive: no family improves and one is unclear, or "
    f"the record lacks >= {MIN_SEEDS} data seeds, or >= {MIN_SEEDS} usable units from >= "
    f"{MIN_SEEDS} data seeds in every compared cell. "
    f"Reported beside it, not in the verdict: each other activation minus relu on the same "
    f"task (its own Bonferroni family)."
)


@dataclasses.dataclass(frozen=True)
class _Config:
    """The sizes of one run (quick, default or full)."""

    n_train: int
    n_val: int
    steps: int
    eval_every: int
    pretrain_steps: int
    activations: tuple[str, ...]
    grids: dict
    aug_grid: tuple

    def recipe(self, lr: float = 1e-3) -> Recipe:
        return Recipe(lr=lr, steps=self.steps, eval_every=self.eval_every)


def _config(ctx: Context) -> _Config:
    if ctx.quick:
        return _Config(200, 200, 40, 10, 40, ("tanh", "identity"),
                       {k: (f, v) for k, (f, v, _) in GRIDS.items()}, AUG_GRID)
    acts = ("gelu", "tanh", "identity")
    if ctx.full:
        return _Config(N_TRAIN, N_VAL, STEPS, EVAL_EVERY, PRETRAIN_STEPS,
                       (*acts, "leaky_relu", "silu", "sigmoid", "elu", "softplus"),
                       {k: (f, (*v, extra)) for k, (f, v, extra) in GRIDS.items()},
                       (*AUG_GRID, AUG_FULL))
    return _Config(N_TRAIN, N_VAL, STEPS, EVAL_EVERY, PRETRAIN_STEPS, acts,
                   {k: (f, v) for k, (f, v, _) in GRIDS.items()}, AUG_GRID)


def _augment(x: torch.Tensor, gen: torch.Generator, *, shift, noise) -> torch.Tensor:
    """Roll each example by a random integer in [-shift, shift] and add N(0, noise²) noise.

    ``shift`` and ``noise`` are numbers, or one value per member (the first axis of a
    (K, B, D) batch), so arms of several strengths, and arms without augmentation (0, 0.0),
    train in one batched run.
    """
    d = x.shape[-1]
    lead = (-1,) + (1,) * (x.dim() - 1)
    s_max = torch.as_tensor(shift, dtype=torch.float32, device=x.device).reshape(
        lead if torch.as_tensor(shift).dim() else ())
    sd = torch.as_tensor(noise, dtype=torch.float32, device=x.device).reshape(
        lead if torch.as_tensor(noise).dim() else ())
    u = torch.rand(x.shape[:-1] + (1,), generator=gen, device=x.device)
    s = (u * (2 * s_max + 1)).floor().long() - s_max.long()
    idx = (torch.arange(d, device=x.device) - s) % d
    return torch.gather(x, -1, idx) + sd * torch.randn(x.shape, generator=gen, device=x.device)


def data_seeds(ctx: Context) -> dict:
    """The "data" seeds: one per small task (the family's), and the pre-training set's (the
    next seed of the stream, so it is none of the tasks' mnist1d sets)."""
    tasks = _arms.data_seeds(ctx)
    return {"tasks": tasks, "pretrain": ctx.seeds("data", len(tasks) + 1)[-1]}


def small_task(ctx: Context, data_seed: int, cfg: _Config) -> Dataset:
    """The mnist1d set of ``data_seed`` cut to ``n_train`` training and ``n_val`` validation
    examples (a permutation seeded by ``data_seed``); its full test set."""
    ds = _arms.dataset(ctx, "mnist1d", data_seed)
    gen = torch.Generator().manual_seed(data_seed)
    tr = torch.randperm(len(ds.x_train), generator=gen)[:cfg.n_train]
    va = torch.randperm(len(ds.x_val), generator=gen)[:cfg.n_val]
    return dataclasses.replace(ds, x_train=ds.x_train[tr].clone(), y_train=ds.y_train[tr].clone(),
                               x_val=ds.x_val[va].clone(), y_val=ds.y_val[va].clone(),
                               options={**ds.options, "n_train": cfg.n_train, "n_val": cfg.n_val})


# ---------------------------------------------------------------------------------------------
# measurement


def _member_rows(res: TrainResult, data_seed: int, options: list[dict]) -> list[dict]:
    """One row per member of ``res`` (members ordered option-major, as train_mlps orders
    recipes × seeds); ``options`` gives each option's fields (part, arm, option, strength, lr,
    chosen)."""
    best, n = res.at_best_val(), len(res.seeds) // len(options)
    return [{**options[k // n], "data_seed": int(data_seed), "seed": int(res.seeds[k]),
             "val_acc": float(best.val_acc[k]), "test_acc": float(best.test_acc[k]),
             "best_step": int(best.step[k]),
             "diverged": not bool(np.isfinite(res.train_loss[k, -1]))}
            for k in range(len(res.seeds))]


def _choose(results: list[TrainResult], arms: list[str]) -> dict[str, int]:
    """Per arm, the index of its option with the best mean validation accuracy over all data
    and model seeds (first of ties). ``arms[o]`` is the arm of option ``o``."""
    n = len(results[0].seeds) // len(arms)
    val = np.concatenate([r.at_best_val().val_acc.reshape(len(arms), n) for r in results], 1)
    mean = np.where(np.isfinite(val.mean(1)), val.mean(1), -np.inf)
    return {a: max((o for o in range(len(arms)) if arms[o] == a), key=lambda o: (mean[o], -o))
            for a in dict.fromkeys(arms)}


def _selection_rows(part: str, arm: str, tasks: list, sels) -> list[dict]:
    """Rows of every learning rate of a ``select_lr_across`` arm, the chosen one flagged."""
    opts = [{"part": part, "arm": arm, "option": f"lr={lr:g}", "strength": None, "lr": lr,
             "chosen": i == sels[0].index} for i, lr in enumerate(sels[0].lrs)]
    return [row for ds, sel in zip(tasks, sels) for row in _member_rows(sel.full, ds.seed, opts)]


def _techniques(ctx: Context, cfg: _Config, tasks: list, widths: list, lr: float) -> list[dict]:
    """Regularisers and augmentation at every grid point, one batched run per data seed."""
    base = cfg.recipe(lr)
    opts, recipes, shifts, noises = [], [], [], []
    for arm, (field, values) in cfg.grids.items():
        for v in values:
            opts.append({"part": "technique", "arm": arm, "option": f"{field}={v:g}",
                         "strength": float(v), "lr": lr})
            recipes.append(dataclasses.replace(base, **{field: v}))
            shifts.append(0)
            noises.append(0.0)
    for shift, noise in cfg.aug_grid:
        opts.append({"part": "technique", "arm": "augmentation",
                     "option": f"shift<={shift}, noise={noise:g}", "strength": float(noise),
                     "lr": lr})
        recipes.append(base)
        shifts.append(shift)
        noises.append(noise)
    seeds = _arms.model_seeds(ctx)
    per_member = {"shift": np.repeat(shifts, len(seeds)).tolist(),
                  "noise": np.repeat(noises, len(seeds)).tolist()}
    ctx.log("C23: regularisers and augmentation")
    results = [train_mlps(ds, widths, seeds=seeds, recipes=recipes, device=ctx.device,
                          augment=lambda x, g: _augment(x, g, **per_member)) for ds in tasks]
    chosen = _choose(results, [o["arm"] for o in opts])
    opts = [{**o, "chosen": chosen[o["arm"]] == i} for i, o in enumerate(opts)]
    return [row for ds, r in zip(tasks, results) for row in _member_rows(r, ds.seed, opts)]


def _ensembles(ctx: Context, cfg: _Config, tasks: list, widths: list, base_sels) -> list[dict]:
    """Per unit, the softmax average of its baseline member and ENSEMBLE_SIZE - 1 extra
    members (extra model seeds, the baseline's learning rate, best-validation weights)."""
    seeds = _arms.model_seeds(ctx)
    k = ENSEMBLE_SIZE - 1
    extra = ctx.seeds("model", len(seeds) * ENSEMBLE_SIZE)[len(seeds):]
    lr = base_sels[0].lr
    ctx.log("C23: ensemble members")
    rows = []
    for ds, sel in zip(tasks, base_sels):
        ex = train_mlps(ds, widths, seeds=extra, recipes=cfg.recipe(lr), device=ctx.device)
        logits = torch.cat([sel.result.outputs(ds.x_test, at="best_val"),
                            ex.outputs(ds.x_test, at="best_val")])
        bad = ~np.isfinite(np.concatenate([sel.result.train_loss[:, -1], ex.train_loss[:, -1]]))
        acc = (logits.argmax(-1) == ds.y_test[None]).float().mean(1).numpy()
        for g, seed in enumerate(seeds):
            members = [g, *range(len(seeds) + g * k, len(seeds) + (g + 1) * k)]
            rows.append({"part": "ensemble", "arm": "ensembling",
                         "option": f"{ENSEMBLE_SIZE} members", "strength": None, "lr": lr,
                         "chosen": True, "data_seed": int(ds.seed), "seed": int(seed),
                         "member_seeds": [int(seed), *(int(extra[m - len(seeds)])
                                                       for m in members[1:])],
                         "ensemble_acc": ensemble_accuracy(logits[members], ds.y_test),
                         "member_mean_acc": float(acc[members].mean()),
                         "diverged": bool(bad[members].any())})
    return rows


def _pretrain(ctx: Context, cfg: _Config, widths: list) -> tuple[list, dict]:
    """Pre-train the model seeds on the shifted distribution (learning rate chosen on its own
    validation split); their best-validation weights and a summary."""
    seed = data_seeds(ctx)["pretrain"]
    ds = _arms.dataset(ctx, "mnist1d", seed, **PRETRAIN_SHIFT)
    ctx.log("C23: pre-training for transfer")
    sel = select_lr(ds, widths, lrs=_arms.lrs(ctx.quick), seeds=_arms.model_seeds(ctx),
                    recipe=dataclasses.replace(cfg.recipe(), steps=cfg.pretrain_steps,
                                               eval_every=max(1, cfg.pretrain_steps // 4)))
    best = sel.checkpoint
    return sel.result.best_val_weights, {
        "data_seed": seed, "options": PRETRAIN_SHIFT, "n_train": int(len(ds.x_train)),
        "steps": cfg.pretrain_steps, "lr": sel.lr,
        "val_acc": [float(v) for v in best.val_acc]}


def _transfer(ctx: Context, cfg: _Config, tasks: list, widths: list) -> tuple[list, dict]:
    """Fine-tune the pre-trained nets on each small task at every learning rate of the grid."""
    weights, summary = _pretrain(ctx, cfg, widths)
    lrs = _arms.lrs(ctx.quick)
    init = [(w.repeat(len(lrs), *([1] * (w.dim() - 1))), b.repeat(len(lrs), *([1] * (b.dim() - 1))))
            for w, b in weights]
    ctx.log("C23: fine-tuning")
    results = [train_mlps(ds, widths, seeds=_arms.model_seeds(ctx), device=ctx.device,
                          recipes=[cfg.recipe(lr) for lr in lrs], init_weights=init)
               for ds in tasks]
    chosen = _choose(results, ["transfer"] * len(lrs))["transfer"]
    opts = [{"part": "technique", "arm": "transfer", "option": f"fine-tune lr={lr:g}",
             "strength": lr, "lr": lr, "chosen": i == chosen} for i, lr in enumerate(lrs)]
    return [row for ds, r in zip(tasks, results) for row in _member_rows(r, ds.seed, opts)], \
        summary


@single_threaded
def measure(ctx: Context) -> dict:
    cfg = _config(ctx)
    seeds = data_seeds(ctx)
    tasks = [small_task(ctx, d, cfg) for d in seeds["tasks"]]
    widths = [tasks[0].input_dim, *_arms.hidden(ctx.quick), tasks[0].n_classes]
    lrs, model_seeds = _arms.lrs(ctx.quick), _arms.model_seeds(ctx)
    ctx.log("C23: baseline")
    base = select_lr_across(tasks, widths, lrs=lrs, seeds=model_seeds, recipe=cfg.recipe(),
                            device=ctx.device)
    raw = _selection_rows("baseline", "baseline", tasks, base)
    raw += _techniques(ctx, cfg, tasks, widths, base[0].lr)
    raw += _ensembles(ctx, cfg, tasks, widths, base)
    transfer_rows, pretrain = _transfer(ctx, cfg, tasks, widths)
    raw += transfer_rows
    for act in cfg.activations:
        ctx.log(f"C23: activation {act}")
        raw += _selection_rows("activation", act, tasks, select_lr_across(
            tasks, widths, lrs=lrs, seeds=model_seeds, recipe=cfg.recipe(), activation=act,
            device=ctx.device))
    design = {"quick": ctx.quick, "device": ctx.device, "data_seeds": seeds["tasks"],
              "model_seeds": model_seeds, "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
              "lrs": list(lrs), "hidden": list(_arms.hidden(ctx.quick)),
              "n_train": cfg.n_train, "n_val": cfg.n_val,
              "n_test": {"mnist1d": int(len(tasks[0].x_test))}, "steps": cfg.steps,
              "eval_every": cfg.eval_every, "ensemble_size": ENSEMBLE_SIZE,
              "grids": {k: {"field": f, "values": list(v)} for k, (f, v) in cfg.grids.items()},
              "augmentation_grid": [list(p) for p in cfg.aug_grid], "pretrain": pretrain,
              "activations": list(cfg.activations), "margin": MARGIN}
    return {"design": design, "raw": raw}


# ---------------------------------------------------------------------------------------------
# decision


def _chosen(raw, part: str, arm: str) -> list[dict]:
    return [r for r in raw if r["part"] == part and r["arm"] == arm and r["chosen"]]


def _usable(row: dict) -> bool:
    return not row["diverged"]


def _comparisons(raw, arms: dict) -> tuple[dict, dict]:
    """Per compared arm, its (diffs, clusters) against the chosen baseline, and the dropped
    units. ``arms`` maps a name to its (part, arm) in the rows; "ensembling" compares the
    ensemble with the mean of its own members."""
    base = _chosen(raw, "baseline", "baseline")
    out, dropped = {}, {}
    for name, (part, arm) in arms.items():
        rows = _chosen(raw, part, arm)
        if name == "ensembling":
            ens = [dict(r, test_acc=r["ensemble_acc"]) for r in rows]
            ref = [dict(r, test_acc=r["member_mean_acc"]) for r in rows]
            d, c, drop = unit_diffs(ens, ref, "test_acc", _usable)
        else:
            d, c, drop = unit_diffs(rows, base, "test_acc", _usable)
        out[name], dropped[name] = (d, c), drop
    return out, dropped


def _state(e) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low > 0:
        return "improves"
    if e.high < 0:
        return "hurts"
    return "no gain" if e.high < MARGIN else "unclear"


def _family_state(states: dict) -> dict:
    out = {}
    for f, ms in FAMILIES.items():
        s = [states[m] for m in ms]
        out[f] = ("improves" if "improves" in s else "unclear" if "unclear" in s
                  else "does not improve")
    return out


def _too_few(comps: dict, n_data: int) -> str | None:
    if n_data < MIN_SEEDS:
        return f"only {n_data} data seed(s); the rule needs >= {MIN_SEEDS}"
    for name, (d, c) in comps.items():
        if len(d) < MIN_SEEDS or len(set(c.tolist())) < MIN_SEEDS:
            return (f"{name}: only {len(d)} usable seed unit(s) over {len(set(c.tolist()))} "
                    f"data seed(s); the rule needs >= {MIN_SEEDS}")
    return None


def _verdict(fam: dict, key: str, evidence: dict, detail: str) -> Outcome:
    improving = [f for f, s in fam.items() if s == "improves"]
    others = [f for f in fam if f not in improving]
    if len(improving) == len(fam):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if improving:
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"{', '.join(improving)} improve(s) generalization here; "
                       f"{', '.join(others)} do(es) not measurably. " + detail)
    if "unclear" not in fam.values():
        return Outcome(Verdict.REFUTED, key, evidence,
                       f"No technique family improves test accuracy by {MARGIN:.0%} or more. "
                       + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   f"No family is separated from the baseline and "
                   f"{', '.join(f for f, s in fam.items() if s == 'unclear')} cannot rule out a "
                   f"gain of {MARGIN:.0%}; more seeds would. " + detail)


def _activation_effects(raw, seed: int) -> dict:
    acts = sorted({r["arm"] for r in raw if r["part"] == "activation"})
    comps, _ = _comparisons(raw, {a: ("activation", a) for a in acts})
    usable = {a: dc for a, dc in comps.items() if len(dc[0]) >= 2}
    return dict(zip(usable, family(list(usable.values()), seed)))


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    comps, dropped = _comparisons(raw, {t: ("ensemble" if t == "ensembling" else "technique", t)
                                        for t in TECHNIQUES})
    few = _too_few(comps, len(design["data_seeds"]))
    if few is not None:
        return inconclusive(few)
    seed = design["bootstrap_seed"]
    eff = dict(zip(comps, family(list(comps.values()), seed)))
    states = {t: _state(e) for t, e in eff.items()}
    fam = _family_state(states)
    base = [r["test_acc"] for r in _chosen(raw, "baseline", "baseline") if _usable(r)]
    base_acc = acc_est(base, design["n_test"]["mnist1d"])
    acts = _activation_effects(raw, seed)
    named = {t: d for t, d in dropped.items() if d}
    evidence = {"effects": {t: e.to_dict() for t, e in eff.items()}, "technique_state": states,
                "family_state": fam, "baseline_acc": base_acc.to_dict(),
                "chosen": _chosen_options(raw), "dropped_units": named,
                "activation_effects": {a: e.to_dict() for a, e in acts.items()},
                "pretrain": design.get("pretrain")}
    key = (f"vs baseline {base_acc.value:.1%}: "
           + ", ".join(f"{t} {e.value * 100:+.1f}" for t, e in eff.items()) + " pp"
           + _activation_key(acts))
    detail = (f"Small-data mnist1d task ({design['n_train']} training examples per data seed), "
              f"ReLU MLP baseline {_percent(base_acc)} test accuracy. Effects (paired, "
              f"Bonferroni intervals over {len(eff)} techniques): "
              + "; ".join(f"{LABELS[t]} {pp(e)} ({_chosen_options(raw).get(t, '')})"
                          for t, e in eff.items()) + "."
              + (f" Dropped units (diverged): {named}." if named else "")
              + _activation_text(acts))
    return _verdict(fam, key, evidence, detail)


def _chosen_options(raw) -> dict:
    """The option each arm chose on validation."""
    return {r["arm"]: r["option"] for r in raw if r["chosen"]}


def _activation_key(acts: dict) -> str:
    nonlinear = {a: e for a, e in acts.items() if a != "identity"}
    if not nonlinear:
        return ""
    best = max(nonlinear, key=lambda a: nonlinear[a].value)
    worst = min(nonlinear, key=lambda a: nonlinear[a].value)
    return (f"; activation vs relu: best {best} {nonlinear[best].value * 100:+.1f}, worst "
            f"{worst} {nonlinear[worst].value * 100:+.1f} pp")


def _activation_text(acts: dict) -> str:
    if not acts:
        return ""
    return (" On the same task, each other activation minus relu (learning rate chosen per "
            "activation, Bonferroni over the activations): "
            + "; ".join(f"{a} {pp(e)}" for a, e in acts.items()) + ".")


def _percent(e) -> str:
    return f"{e.value:.1%}" + (f" [{e.low:.1%}, {e.high:.1%}]" if e.has_ci else "")


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, design = measured["raw"], measured["design"]
    comps, _ = _comparisons(raw, {t: ("ensemble" if t == "ensembling" else "technique", t)
                                  for t in TECHNIQUES})
    comps = {t: dc for t, dc in comps.items() if len(dc[0]) >= 2}
    seed = design["bootstrap_seed"]
    rows = [(LABELS[t], e, "tab:blue") for t, e in zip(comps, family(list(comps.values()), seed))]
    rows += [("no activation (identity) instead of relu" if a == "identity" else
              f"{a} instead of relu", e, "tab:orange")
             for a, e in _activation_effects(raw, seed).items()]
    fig, axes = new_figure(8.0, 1.4 + 0.35 * max(len(rows), 1), 1)
    ax = axes[0]
    for y, (_, e, color) in enumerate(rows):
        v = e.value * 100
        lo, hi = (e.low * 100, e.high * 100) if e.has_ci else (v, v)
        ax.errorbar([v], [y], xerr=[[v - lo], [hi - v]], fmt="o", color=color, capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("change in test accuracy, percentage points (Bonferroni 95 % intervals)\n"
                  "technique minus baseline (ensemble: minus its members); activation minus relu",
                  fontsize=8)
    ax.set_title(f"MNIST-1D, {design['n_train']} training examples: techniques (blue), "
                 f"activation choice (orange)", fontsize=9)
    return [save(fig, figures_dir, "c23_effect_sizes.png")]
