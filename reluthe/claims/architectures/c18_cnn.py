"""C18: "in CNNs, ReLU improves image-classification performance" (article §5.1).

The article: ReLU 有效地提升了模型在图像分类 … 上的性能. Measured: small CNNs on real data,
trained with six activations (relu, gelu, elu, leaky_relu(0.01), tanh, sigmoid):

* mnist1d (signals 40 samples long): Conv1d 1→16 (k5, s2, p1) → act → Conv1d 16→16 (k3, s2,
  p1) → act → Conv1d 16→16 (k3, s2, p1) → act → Linear 80→10 (the MNIST-1D paper's ConvBase
  shape with 16 instead of 25 channels, for the CPU budget);
* mnist5k (real MNIST digits, 2×2 mean-pooled to 14×14): Conv2d 1→8 (3×3, s2, p1) → act →
  Conv2d 8→16 (3×3, s2, p1) → act → Linear 256→10;
* digits (8×8, ``--full`` only): Conv2d 1→8 (3×3, p1) → act → Conv2d 8→16 (3×3, s2, p1) → act
  → Linear 256→10.

Each *unit* is an independent replicate: its own data split (data seed from the ``data``
stream, 20 % of the training portion held out for validation) and its own model seed (initial
weights and minibatch order). Per unit every activation is trained with each learning rate of
a small grid (Adam), all as one stacked model (:mod:`reluthe.claims.architectures._cnn`). Each
run is read at its best-validation checkpoint; per activation, the learning rate with the best
mean validation accuracy over units is kept (chosen in :func:`decide`, from validation only).
Arms of one unit share data, init and batches, so differences are paired by unit.

One row per (dataset, activation, learning rate, unit): best validation accuracy and its step,
test and train accuracy at that checkpoint, and whether the run diverged.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS, proportion_est
from reluthe.claims._records import select
from reluthe.claims.architectures._cnn import CNNSpec, paired_ci, stack_units, train_cnn_units
from reluthe.claims.architectures._paired import paired_values
from reluthe.claims.architectures._plateau import late_share, notes
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.stats import Estimate, family_ci

ACTIVATIONS = ("relu", "gelu", "elu", "leaky_relu", "tanh", "sigmoid")
SATURATING = ("tanh", "sigmoid")
MARGIN = 0.01  # 1 percentage point of test accuracy
VAL_SIZE = 0.2
NETS = {
    "mnist1d": (CNNSpec((1, 40), ((16, 5, 2, 1), (16, 3, 2, 1), (16, 3, 2, 1))), {}),
    "mnist5k": (CNNSpec((1, 14, 14), ((8, 3, 2, 1), (16, 3, 2, 1))),
                {"flatten": False, "size": 14}),
    "digits": (CNNSpec((1, 8, 8), ((8, 3, 1, 1), (16, 3, 2, 1))), {}),
}
PROTOCOLS = {
    "quick": {"units": 2, "lrs": (1e-2, 3e-2), "steps": 30, "eval_every": 15, "batch": 64,
              "n_train": 500, "datasets": ("mnist1d", "mnist5k")},
    "default": {"units": 4, "lrs": (1e-2, 3e-2), "steps": 400, "eval_every": 50, "batch": 64,
                "n_train": None, "datasets": ("mnist1d", "mnist5k")},
    "full": {"units": 5, "lrs": (1e-2, 3e-2), "steps": 3000, "eval_every": 100, "batch": 64,
             "n_train": None, "datasets": ("mnist1d", "mnist5k", "digits")},
}
_D = PROTOCOLS["default"]

RULE = (
    "Per dataset (mnist1d 1-D CNN; mnist5k 14x14 2-D CNN; digits under --full), six activations "
    "relu, gelu, elu, leaky_relu(0.01), tanh, sigmoid, each trained on the same independent "
    f"units ({_D['units']} in the default run; a unit = its own data split and model seed) "
    f"with each Adam learning rate of the grid {_D['lrs']}, batch {_D['batch']}, "
    f"{_D['steps']} steps ({PROTOCOLS['full']['steps']} under --full), read at its "
    f"best-validation checkpoint (validation every {_D['eval_every']} steps). A run whose "
    "loss turns non-finite is DIVERGED: named in the evidence and left out. Per activation "
    "the learning rate with the best mean best-validation accuracy over its finished units is "
    "kept (validation only; a learning rate with fewer than min(3, units) finished units is "
    "not eligible). Comparisons: relu - each other activation in test accuracy, paired by "
    "unit, as a family of 5 per dataset with Bonferroni-adjusted 95% t intervals "
    "(stats.family_ci). relu is TOP TIER on a dataset if no activation is significantly more "
    "accurate (no interval of relu - other lies below 0); relu BEATS SATURATING if the "
    "intervals of relu - tanh AND relu - sigmoid both lie above 0. SUPPORTED: top tier and "
    "beats saturating on every dataset. PARTLY: beats saturating on at least one dataset "
    "otherwise (the missing condition is named). REFUTED: on every dataset the interval of "
    "relu - (the better of tanh, sigmoid) lies below +1 pp (no gain of 1 pp over the "
    "saturating activations is compatible with the data). INCONCLUSIVE: anything else, or "
    f"fewer than {MIN_SEEDS} finished units in an arm the rule reads. relu's own accuracy is "
    "reported with a 95 % interval inside [0, 1] (stats.accuracy_ci), and the share of kept "
    "runs whose best-validation step lies in the last 20 % of training (not yet at a plateau) "
    "is reported beside the verdict without changing it."
)


@single_threaded
def train_cnns(name: str, model_seeds: list[int], data_seeds: list[int], proto: dict,
               device: str = "cpu") -> dict:
    """Train the dataset's CNN with every activation and learning rate on every unit (one stack).

    Unit ``u`` is (``data_seeds[u]``, ``model_seeds[u]``). Returns ``{"rows": [...],
    "run": {...}}``: a row per (activation, lr, unit) and what was run.
    """
    spec, options = NETS[name]
    splits = stack_units(name, data_seeds, val_size=VAL_SIZE, n_train=proto["n_train"],
                         device=device, **options)
    splits = {k: v.reshape(*v.shape[:2], *spec.shape) if k.startswith("x") else v
              for k, v in splits.items()}
    members = [(a, lr, u) for a in ACTIVATIONS for lr in proto["lrs"]
               for u in range(len(model_seeds))]
    out = train_cnn_units(splits, spec, members, model_seeds, steps=proto["steps"],
                          batch_size=proto["batch"], eval_every=proto["eval_every"],
                          device=device)
    rows = [{"seed": model_seeds[u], "data_seed": data_seeds[u], "dataset": name,
             "activation": a, "lr": lr, "val_acc": float(out["best_val"][j]),
             "best_step": int(out["best_step"][j]), "test_acc": float(out["test_acc"][j]),
             "train_acc": float(out["train_acc"][j]), "diverged": bool(out["diverged"][j])}
            for j, (a, lr, u) in enumerate(members)]
    run = {"n_train": int(splits["x_train"].shape[1]), "n_val": int(splits["x_val"].shape[1]),
           "n_test": int(splits["x_test"].shape[1]), "shape": list(spec.shape),
           "convs": [list(c) for c in spec.convs], "stack_time_s": out["time_s"],
           "n_members": len(members)}
    return {"rows": rows, "run": run}


def _unit(args):
    return train_cnns(*args)


def measure(ctx: Context) -> dict:
    proto = PROTOCOLS[ctx.mode]
    seeds = ctx.seeds("model", proto["units"])
    data_seeds = ctx.seeds("data", proto["units"])
    names = proto["datasets"]
    ctx.log(f"C18: {len(ACTIVATIONS)} activations x {len(proto['lrs'])} lrs x {len(seeds)} "
            f"units on {list(names)}")
    results = ctx.map(_unit, [(n, seeds, data_seeds, proto, ctx.device) for n in names])
    design = {"activations": list(ACTIVATIONS), "datasets": list(names), "seeds": seeds,
              "data_seeds": data_seeds, "lrs": list(proto["lrs"]), "steps": proto["steps"],
              "eval_every": proto["eval_every"], "batch_size": proto["batch"],
              "val_size": VAL_SIZE, "runs": {n: r["run"] for n, r in zip(names, results)},
              "n_test": {n: r["run"]["n_test"] for n, r in zip(names, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


def _finished(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r["diverged"] and np.isfinite(r["test_acc"])]


def chosen_lr(design: dict, raw: list[dict], name: str, activation: str) -> float | None:
    """The learning rate of ``activation`` on ``name`` with the best mean best-validation
    accuracy over its finished units (the first on ties); None if no learning rate has
    min(``MIN_SEEDS``, units) finished units."""
    need, scores = min(MIN_SEEDS, len(design["seeds"])), {}
    for lr in design["lrs"]:
        rows = _finished(select(raw, dataset=name, activation=activation, lr=lr))
        vals = [r["val_acc"] for r in rows]
        if len(vals) >= need:
            scores[lr] = float(np.mean(vals))
    return max(scores, key=scores.get) if scores else None


def _arm_rows(m: dict, name: str) -> dict[str, list[dict]]:
    """Per activation, the finished rows of its chosen learning rate (empty if none)."""
    out = {}
    for a in m["design"]["activations"]:
        lr = chosen_lr(m["design"], m["raw"], name, a)
        out[a] = [] if lr is None else _finished(select(m["raw"], dataset=name, activation=a,
                                                        lr=lr))
    return out


def _family(arms: dict, others: list[str]) -> dict[str, Estimate]:
    """relu - other in test accuracy, paired by unit, Bonferroni family over ``others``."""
    pairs = {o: paired_values(arms["relu"] + arms[o], "test_acc", "activation", "relu", o)
             for o in others}
    makers = [partial(paired_ci, *pairs[o]) for o in others]
    return dict(zip(others, family_ci(makers)))


def _dataset_findings(m: dict, name: str) -> dict:
    design = m["design"]
    acts = design["activations"]
    arms = _arm_rows(m, name)
    lrs = {a: chosen_lr(design, m["raw"], name, a) for a in acts}
    means = {a: float(np.mean([r["test_acc"] for r in rows])) if rows else float("nan")
             for a, rows in arms.items()}
    diverged = sorted({f"{r['activation']} lr={r['lr']:g} unit seed {r['seed']}"
                       for r in select(m["raw"], dataset=name) if r["diverged"]})
    finite = [a for a in acts if np.isfinite(means[a])]
    best = max(finite, key=means.get) if finite else "relu"
    n_min = min(len(rows) for rows in arms.values())
    kept = [r for rows in arms.values() for r in rows]
    base = {"n_min": n_min, "means": means, "best": best, "lr": lrs, "diverged": diverged,
            "late_share": late_share(kept, design["steps"])}
    if n_min < 2:  # no interval at all (decide says inconclusive)
        return base
    others = [a for a in acts if a != "relu"]
    fam = _family(arms, others)
    best_sat = max(SATURATING, key=means.get)
    better = [o for o in others if fam[o].has_ci and fam[o].high < 0]
    return {
        **base, "best_saturating": best_sat,
        "relu": proportion_est([r["test_acc"] for r in arms["relu"]],
                               design["n_test"][name]).to_dict(),
        "relu_minus": {o: e.to_dict() for o, e in fam.items()},
        "significantly_better_than_relu": better,
        "top_tier": not better,
        "beats_saturating": all(fam[s].has_ci and fam[s].low > 0 for s in SATURATING),
        "no_gain_over_saturating": bool(fam[best_sat].has_ci and fam[best_sat].high < MARGIN),
    }


def _pp(e: dict) -> str:
    return f"{100 * e['value']:+.1f} pp [{100 * e['low']:+.1f}, {100 * e['high']:+.1f}]"


def _missing(per: dict) -> str:
    """The conditions of SUPPORTED that fail, in words."""
    out = []
    for n, f in per.items():
        short = [s for s in SATURATING if not f["relu_minus"][s]["low"] > 0]
        if short:
            out.append(f"on {n} relu is not significantly more accurate than "
                       + " or ".join(f"{s} ({_pp(f['relu_minus'][s])})" for s in short))
        for o in f["significantly_better_than_relu"]:
            out.append(f"on {n} {o} is significantly more accurate than relu "
                       f"(relu - {o} = {_pp(f['relu_minus'][o])})")
    return "; ".join(out)



def decide(m: dict) -> Outcome:
    per = {name: _dataset_findings(m, name) for name in m["design"]["datasets"]}
    key = "; ".join(f"{n}: relu {f['means']['relu']:.1%} vs best {f['best']} "
                    f"{f['means'][f['best']]:.1%}, tanh {f['means']['tanh']:.1%}, sigmoid "
                    f"{f['means']['sigmoid']:.1%}" for n, f in per.items())
    note = notes(per)
    if min(f["n_min"] for f in per.values()) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Fewer than {MIN_SEEDS} finished units in some arm: no verdict." + note)
    beats = [n for n, f in per.items() if f["beats_saturating"]]
    if len(beats) == len(per) and all(f["top_tier"] for f in per.values()):
        return Outcome(Verdict.SUPPORTED, key, per,
                       "On every dataset relu is significantly more accurate than both tanh and "
                       "sigmoid, and no activation is significantly more accurate than relu "
                       "(each with its own learning rate, read at its best-validation "
                       "checkpoint)." + note)
    if beats:
        return Outcome(Verdict.PARTLY, key, per,
                       f"relu is significantly more accurate than tanh and sigmoid on "
                       f"{', '.join(beats)}, but {_missing(per)}. 'ReLU improves CNN accuracy' "
                       "holds only in part." + note)
    if all(f["no_gain_over_saturating"] for f in per.values()):
        return Outcome(Verdict.REFUTED, key, per,
                       "On every dataset a gain of relu over the better of tanh and sigmoid of "
                       "1 pp or more is excluded by the intervals." + note)
    return Outcome(Verdict.INCONCLUSIVE, key, per,
                   f"The intervals neither show relu's gain over both saturating activations "
                   f"nor exclude a gain of 1 pp ({_missing(per)}); more units or longer "
                   "training would separate them." + note)


def plot(m: dict, figures_dir: Path) -> list[str]:
    design = m["design"]
    acts = design["activations"]
    names = design["datasets"]
    fig, axes = new_figure(ncols=len(names), size=(4.6, 3.4))
    for ax, name in zip(axes, names):
        arms = _arm_rows(m, name)
        accs = [[r["test_acc"] for r in arms[a]] for a in acts]
        lrs = {a: chosen_lr(design, m["raw"], name, a) for a in acts}
        labels = [a.replace("_", " ") + ("" if lrs[a] is None else f" (lr {lrs[a]:g})")
                  for a in acts]
        ci_bars(ax, labels, accs, ylabel="test accuracy (%)",
                title=f"C18 {name} CNN: {design['steps']} steps, {len(design['seeds'])} units,\n"
                "each at its best-validation checkpoint", scale=100,
                n_items=design["n_test"][name], highlight=labels[acts.index("relu")])
        vals = [v * 100 for vs in accs for v in vs if np.isfinite(v)]
        if vals:
            ax.set_ylim(max(0.0, min(vals) - 5), min(100.0, max(vals) + 3))
    return [save(fig, figures_dir, "c18_cnn_accuracy.png")]
