"""C11: ReLU networks generalize better than networks with other activations.

The article credits ReLU's sparse activation with better generalization. Every activation is an
arm of :mod:`reluthe.claims.sparsity._arms`: its own learning rate chosen on the validation
split, 3 data seeds × 3 model seeds, read at each member's best-validation checkpoint. ReLU is
compared with each other activation unit by unit (same data seed and model seed: same data,
init and batch order) on the main datasets (MNIST-1D and real MNIST digits) in three ways, each
a family of comparisons with Holm–Bonferroni control:

* test accuracy at the best-validation checkpoint (the primary family);
* the train − test gap at matched fit (the first evaluation with train accuracy >= 95 %), which
  compares generalization at equal fit of the training set;
* accuracy on out-of-distribution variants of the MNIST-1D test digits (noisier, more sheared,
  rescaled; mean over the three).

The linear floor (identity) says whether any nonlinearity helps; scikit-learn's digits are a
sanity check only (a linear model already reaches ~97 % there).
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
from reluthe.stats import Estimate, compare, hierarchical_bootstrap_ci

MARGIN, WIN_SHARE, LOSE_SHARE, FIT_GAP = 0.01, 0.75, 0.5, 0.10
RULE = (
    f"Units: (data seed, model seed) pairs, >= {MIN_SEEDS} data seeds × >= {MIN_SEEDS} model "
    f"seeds per arm, each activation with its own learning rate chosen on validation. "
    f"Statistic: mean over units of the paired difference relu − other, with a two-stage "
    f"cluster-bootstrap interval (data seeds, then model seeds within them) at the Bonferroni "
    f"level of its family and Holm-adjusted p-values; classified with a margin of "
    f"{MARGIN:.0%}: win (interval beyond the margin in relu's favour), loss (beyond it against "
    f"relu), tie (inside ±margin), unclear. Families on the main datasets (MNIST-1D, real "
    f"MNIST): (1) test accuracy at the best-validation checkpoint vs every nonlinear "
    f"activation; (2) train − test gap at matched fit (train accuracy >= "
    f"{_arms.FIT_TARGET:.0%}; a smaller gap is relu's win); (3) out-of-distribution accuracy "
    f"on MNIST-1D (mean over the variants); (4) test accuracy vs the linear floor (identity). "
    f"Exclusions written beforehand, each named in the evidence: a unit whose run diverged in "
    f"either arm leaves every comparison; in (2) a unit where either arm never reached the "
    f"fit target leaves it; a comparison with units from fewer than {MIN_SEEDS} data seeds is "
    f"'unusable'; in (1) a comparison whose arms' mean train accuracies at their checkpoints "
    f"differ by more than {FIT_GAP:.0%} is 'fit differs' for whichever side is behind "
    f"(trainability at the budget, not generalization) and counts as neither win nor loss. "
    f"Refuted: relu loses to identity on a main dataset, or ties/loses to it on every main "
    f"dataset, or loses >= {LOSE_SHARE:.0%} of the usable comparisons of (1). Supported: relu "
    f"beats identity on some main dataset, wins >= {WIN_SHARE:.0%} of the usable comparisons of "
    f"(1) and loses none of (1), (2) or (3). Partly: relu beats identity somewhere and loses to "
    f"it nowhere, otherwise. Inconclusive: fewer than {MIN_SEEDS} data or model seeds, no "
    f"usable comparison in (1), or no win over identity while a floor comparison is unclear. "
    f"Digits (sanity only) are reported, not judged."
)
_RESULT = {"greater": "win", "less": "loss", "tie": "tie", "unclear": "unclear"}
_OOD = [f"ood_{name}" for name, _ in _arms.OOD]


@single_threaded
def measure(ctx: Context) -> dict:
    raw = []
    for s in _arms.settings(ctx.quick):
        for act in _arms.activations(ctx, s.dataset):
            a = _arms.arm(ctx, s.dataset, act)
            for row in _arms.rows(ctx, a):
                ood = [row[k] for k in _OOD if k in row]
                raw.append({k: row[k] for k in (
                    "dataset", "activation", "data_seed", "seed", "lr", "diverged", "best_step",
                    "test_acc", "train_acc", "val_acc", "gap", "fit_reached", "fit_test_acc",
                    "fit_train_acc", "fit_gap")} | ({"ood_acc": float(np.mean(ood))} if ood
                                                    else {}))
    return {"design": _arms.design(ctx), "raw": raw}


def _by(raw, dataset: str, activation: str) -> list[dict]:
    return [r for r in raw if r["dataset"] == dataset and r["activation"] == activation]


def _not_diverged(row) -> bool:
    return not row["diverged"]


def _fitted(row) -> bool:
    return not row["diverged"] and row["fit_reached"]


def _family(raw, pairs, field: str, usable, seed: int, better: str = "higher") -> list[dict]:
    """One family: ``pairs`` of (dataset, other) compared on ``field`` (relu − other)."""
    diffs = [unit_diffs(_by(raw, d, "relu"), _by(raw, d, o), field, usable) for d, o in pairs]
    usable_idx = [i for i, (_, c, _) in enumerate(diffs) if len(set(c.tolist())) >= MIN_SEEDS]
    ests = dict(zip(usable_idx, family([diffs[i][:2] for i in usable_idx], seed)))
    out = []
    for i, ((dsname, other), (d, c, dropped)) in enumerate(zip(pairs, diffs)):
        row = {"dataset": dsname, "other": other, "field": field, "n_units": int(d.size),
               "n_data_seeds": len(set(c.tolist())), "excluded_units": dropped}
        if i not in ests:
            out.append(row | {"result": "unusable", "diff": None})
            continue
        cls = compare(ests[i], MARGIN)
        if better == "lower":
            cls = {"greater": "less", "less": "greater"}.get(cls, cls)
        out.append(row | {"result": _RESULT[cls], "diff": ests[i].to_dict()})
    return out


def _fit_differs(raw, comp: dict) -> dict:
    """Mark a primary comparison 'fit differs' when the mean train accuracies at the
    checkpoints differ by more than FIT_GAP (symmetric: either side may be behind)."""
    if comp["result"] in ("unusable",):
        return comp
    relu = np.mean([r["train_acc"] for r in _by(raw, comp["dataset"], "relu")
                    if not r["diverged"]])
    other = np.mean([r["train_acc"] for r in _by(raw, comp["dataset"], comp["other"])
                     if not r["diverged"]])
    if abs(relu - other) > FIT_GAP and comp["result"] in ("win", "loss"):
        behind = "other" if relu > other else "relu"
        return comp | {"result": f"fit differs ({behind} not fitted)",
                       "train_acc": {"relu": float(relu), "other": float(other)}}
    return comp


def _where(comps, result: str) -> list[str]:
    return [f"{c['other']} ({c['dataset']})" for c in comps if c["result"] == result]


def _count(comps) -> dict[str, int]:
    keys = ("win", "tie", "loss", "unclear", "unusable")
    out = {k: sum(c["result"] == k for c in comps) for k in keys}
    out["fit differs"] = sum(c["result"].startswith("fit differs") for c in comps)
    return out


def _per_dataset(comps, datasets) -> str:
    parts = []
    for d in datasets:
        mine = [c for c in comps if c["dataset"] == d]
        def names(result, mine=mine):
            return ", ".join(c["other"] for c in mine if c["result"] == result) or "none"
        parts.append(f"{d}: wins vs {names('win')}; ties with {names('tie')}; loses to "
                     f"{names('loss')}")
    return ". ".join(parts)


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    few = too_few_seeds(design)
    if few is not None:
        return few
    main = [s["dataset"] for s in design["settings"] if s["role"] == "main"]
    acts = {s["dataset"]: s["activations"] for s in design["settings"]}
    seed = design["bootstrap_seed"]
    others = [(d, a) for d in main for a in acts[d] if a not in ("relu", "identity")]
    primary = [_fit_differs(raw, c) for c in
               _family(raw, others, "test_acc", _not_diverged, seed)]
    gap = _family(raw, others, "fit_gap", _fitted, seed, better="lower")
    ood_pairs = [(d, a) for d, a in others if any("ood_acc" in r for r in _by(raw, d, a))]
    ood = _family(raw, ood_pairs, "ood_acc", _not_diverged, seed)
    floor = _family(raw, [(d, "identity") for d in main if "identity" in acts[d]], "test_acc",
                    _not_diverged, seed)
    sanity = [s["dataset"] for s in design["settings"] if s["role"] == "sanity"]
    checks = _family(raw, [(d, "identity") for d in sanity], "test_acc", _not_diverged, seed)
    n = _count(primary)
    usable = n["win"] + n["tie"] + n["loss"] + n["unclear"] + n["fit differs"]
    floor_res = [c["result"] for c in floor]
    evidence = {"test_accuracy": primary, "gap_at_matched_fit": gap, "ood_accuracy": ood,
                "vs_identity": floor, "sanity_vs_identity": checks, "counts": n,
                "gap_counts": _count(gap), "ood_counts": _count(ood),
                "lrs": _chosen_lrs(raw)}
    key = (f"relu vs {len({o for _, o in others})} nonlinear activations on "
           f"{', '.join(main)} (test accuracy, Holm): {n['win']} wins, {n['tie']} ties, "
           f"{n['loss']} losses, {n['unclear']} unclear, {n['fit differs']} fit differs, "
           f"{n['unusable']} unusable; gap at matched fit {_short(gap)}; OOD {_short(ood)}; "
           f"vs identity {'/'.join(floor_res)}")
    detail = _detail(primary, gap, ood, floor, main)
    if not usable:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "No usable comparison with a nonlinear activation. " + detail)
    if ("loss" in floor_res or all(f in ("tie", "loss") for f in floor_res)
            or n["loss"] >= LOSE_SHARE * usable):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if "win" not in floor_res:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "relu vs the linear floor is unclear. " + detail)
    no_loss = not any(c["result"] == "loss" for c in primary + gap + ood)
    if n["win"] >= WIN_SHARE * usable and no_loss:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    return Outcome(Verdict.PARTLY, key, evidence,
                   "ReLU generalizes better than a linear model, but not better than the other "
                   "nonlinear activations in most comparisons: the gain is that of "
                   "nonlinearity, not specific to ReLU. " + detail)


def _short(comps) -> str:
    n = _count(comps)
    return f"{n['win']}W/{n['tie']}T/{n['loss']}L/{n['unclear']}U"


def _chosen_lrs(raw) -> dict[str, float]:
    return {f"{r['dataset']}/{r['activation']}": r["lr"] for r in raw}


def _detail(primary, gap, ood, floor, main) -> str:
    decided = [c for c in primary if c["diff"] is not None]
    text = _per_dataset(primary, main) + "."
    if decided:
        best = max(decided, key=lambda c: c["diff"]["value"])
        worst = min(decided, key=lambda c: c["diff"]["value"])
        text += (f" Test accuracy relu − other: best {pp(best['diff'])} vs {best['other']} "
                 f"({best['dataset']}), worst {pp(worst['diff'])} vs {worst['other']} "
                 f"({worst['dataset']}).")
    unfit = [c for c in primary if c["result"].startswith("fit differs")]
    if unfit:
        text += (" Not counted (train accuracies more than "
                 f"{FIT_GAP:.0%} apart): " + ", ".join(f"{c['other']} ({c['dataset']}, "
                                                      f"{c['result']})" for c in unfit) + ".")
    text += (f" Gap at matched fit (relu smaller = win): wins vs "
             f"{', '.join(_where(gap, 'win')) or 'none'}, losses vs "
             f"{', '.join(_where(gap, 'loss')) or 'none'}. Out of distribution (MNIST-1D): "
             f"wins vs {', '.join(_where(ood, 'win')) or 'none'}, losses vs "
             f"{', '.join(_where(ood, 'loss')) or 'none'}.")
    text += " vs identity: " + ", ".join(
        f"{c['dataset']} {c['result']}" + (f" {pp(c['diff'])}" if c["diff"] else "")
        for c in floor) + "."
    excluded = sorted({(c["dataset"], c["other"]) for c in primary + gap + ood
                       if c["excluded_units"]})
    if excluded:
        text += (" Units excluded by the rule (diverged, or fit target not reached in the gap "
                 f"family) in {len(excluded)} comparison(s); listed in the evidence.")
    return text


def _arm_estimate(rows, field: str, seed: int) -> Estimate:
    vals = [r[field] for r in rows if not r["diverged"] and r.get(field) is not None]
    clusters = [r["data_seed"] for r in rows if not r["diverged"] and r.get(field) is not None]
    return hierarchical_bootstrap_ci(vals, clusters, seed=seed)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, design = measured["raw"], measured["design"]
    sets = design["settings"]
    panels = [(s, "test_acc", "test accuracy (best validation)") for s in sets]
    panels += [(s, "fit_gap", f"train − test gap at {design['fit_target']:.0%} train accuracy")
               for s in sets if s["role"] == "main"]
    panels += [(s, "ood_acc", "out-of-distribution accuracy") for s in sets
               if any("ood_acc" in r for r in raw if r["dataset"] == s["dataset"])]
    fig, axes = new_figure(3.3 * len(panels), 3.9, len(panels))
    for ax, (s, field, label) in zip(axes, panels):
        names = s["activations"]
        ests = [_arm_estimate(_by(raw, s["dataset"], a), field, design["bootstrap_seed"])
                for a in names]
        errbar(ax, np.arange(len(names)), ests)
        ax.set_xticks(np.arange(len(names)), names, rotation=60, fontsize=7)
        ax.set_title(f"{s['label']}\n{label}", fontsize=8)
    axes[0].set_ylabel("mean over 3 data × 3 model seeds\n(95 % two-stage bootstrap)",
                       fontsize=8)
    return [save(fig, figures_dir, "c11_accuracy_per_activation.png")]

