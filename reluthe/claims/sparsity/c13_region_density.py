"""C13: training places the linear regions of a ReLU net where the data is.

The article: a trained ReLU network cuts its input space into linear regions that follow the
data. Measured as region density, the number of activation-region boundaries crossed per unit
length (:func:`reluthe.probes.generalization.region_density`, exact), along three families of
segments in the 40-D mnist1d input space (chords between training points, chords between test
points, random segments of the same lengths), for the ReLU nets of the activation grid at init,
at an early checkpoint and after training (both recipes). One raw row per (stage, seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims.sparsity._common import cells, est, fmt_est, inconclusive, paired, rho, too_few
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import (
    base_design,
    dataset,
    early_relu,
    grid,
    init_weights,
    member_slice,
    model_seeds,
    numpy_layers,
)
from reluthe.probes.generalization import chord_segments, random_segments, region_density

FAMILIES = ("train", "test", "random")
RULE = (
    f"Statistic: region density = activation-region boundaries crossed per unit length "
    f"(regions.count_on_line, exact) on three families of segments in the 40-D mnist1d input "
    f"space: chords between random pairs of training points, between test points, and segments "
    f"of the same lengths from random Gaussian points (the data's per-feature mean and std) in "
    f"random directions; the same segments for every net. Per ReLU net (recipe adam, >= "
    f"{MIN_SEEDS} seeds) D = log(density on training chords / density on random segments). "
    f"Supported: D after training has a 95 % interval above 0 and the paired change of D from "
    f"init to the end of training has an interval above 0 (training concentrates boundaries "
    f"along the data). Refuted: either interval lies below 0. Partly: D after training above 0 "
    f"but its change unclear (the concentration is there at init, not learned), or the change "
    f"above 0 with D unclear. Inconclusive: fewer than {MIN_SEEDS} seeds, or both unclear. The "
    f"train/test density ratio and its Spearman correlation with the generalization gap over "
    f"the trained nets (both recipes) and an early checkpoint are reported beside it."
)


def _segments(ctx: Context, n: int) -> tuple[dict, list[int], float]:
    """The three segment families (seeded by the "probe" stream), their seeds, mean length."""
    ds = dataset(ctx, "mnist1d")
    xtr, xte = ds.x_train.double().numpy(), ds.x_test.double().numpy()
    seeds = ctx.seeds("probe", 3)
    tr = chord_segments(xtr, n, seed=seeds[0])
    te = chord_segments(xte, n, seed=seeds[1])
    lengths = np.linalg.norm(tr[1] - tr[0], axis=1)
    rd = random_segments(xtr, lengths, seed=seeds[2])
    return dict(zip(FAMILIES, (tr, te, rd))), seeds, float(lengths.mean())


def _stages(ctx: Context) -> dict[str, tuple]:
    """stage -> (stacked weights, train acc, test acc) of the ReLU nets (None at init)."""
    p = protocol(ctx.quick)
    relu = grid(ctx, "mnist1d", "relu")
    early = early_relu(ctx)
    stages = {"init": (init_weights(relu.widths, "relu", model_seeds(ctx)), None, None),
              "early": (early.weights, early.train_acc[:, -1], early.test_acc[:, -1])}
    for recipe in p.recipe_names("mnist1d"):
        sl = member_slice(ctx.quick, "mnist1d", recipe)
        stage = "final" if recipe == "adam" else f"final_{recipe}"
        stages[stage] = ([(a[sl], b[sl]) for a, b in relu.weights], relu.train_acc[sl, -1],
                         relu.test_acc[sl, -1])
    return stages


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    families, probe_seeds, mean_length = _segments(ctx, p.n_segments)
    seeds = model_seeds(ctx)
    stages = _stages(ctx)
    raw = []
    for stage, (weights, train_acc, test_acc) in stages.items():
        ctx.log(f"C13: densities at {stage}")
        for k, seed in enumerate(seeds):
            net = numpy_layers(weights, k)
            row = {"seed": seed, "stage": stage,
                   **{name: float(region_density(net, s, e).mean())
                      for name, (s, e) in families.items()}}
            if train_acc is not None:
                row.update(train_acc=float(train_acc[k]), test_acc=float(test_acc[k]))
            raw.append(row)
    steps = {"init": 0, "early": p.early_steps,
             **{s: p.recipe("mnist1d", "adam").steps for s in stages if s.startswith("final")}}
    design = {**base_design(ctx), "probe_seeds": dict(zip(FAMILIES, probe_seeds)),
              "stages": list(stages), "steps": steps, "n_segments": p.n_segments,
              "mean_length": mean_length, "hidden": list(p.hidden)}
    return {"design": design, "raw": raw}


def _log_ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a / b)


def _stage_cells(raw) -> dict[str, dict[str, list]]:
    return {stage: c for (stage,), c in cells(raw, ("stage",)).items()}


def _densities_text(v: dict) -> str:
    return "/".join(f"{np.mean(v[f]):.2f}" for f in FAMILIES)


def _verdict(d_final, change, key: str, evidence: dict, detail: str) -> Outcome:
    pos = d_final.has_ci and d_final.low > 0
    grow = change.has_ci and change.low > 0
    if pos and grow:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if (d_final.has_ci and d_final.high < 0) or (change.has_ci and change.high < 0):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "Training does not concentrate region boundaries along the data. " + detail)
    if pos or grow:
        return Outcome(Verdict.PARTLY, key, evidence,
                       ("Boundaries are denser along the data, but training does not measurably "
                        "add to it. " if pos else "Training adds boundaries along the data, but "
                        "not measurably more than elsewhere. ") + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "Neither statistic is separated from 0; more segments or seeds would. " + detail)


def decide(measured: dict) -> Outcome:
    design = measured["design"]
    st = _stage_cells(measured["raw"])
    if "init" not in st or "final" not in st:
        return inconclusive("the init and final stages are both needed")
    few = too_few(st["init"]["train"], st["final"]["train"])
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    d = {s: _log_ratio(v["train"], v["random"]) for s, v in st.items()}
    d_final = est(d["final"])
    change = paired(d["final"], d["init"])
    finals = [s for s in st if s.startswith("final")]
    ratio = np.concatenate([_log_ratio(st[s]["test"], st[s]["train"]) for s in finals])
    gap = np.concatenate([np.subtract(st[s]["train_acc"], st[s]["test_acc"]) for s in finals])
    r_gap = rho(ratio, gap, design["bootstrap_seed"])
    evidence = {"log_train_over_random": {s: est(v).to_dict() for s, v in d.items()},
                "change_final_minus_init": change.to_dict(),
                "density": {s: {f: est(v[f]).to_dict() for f in FAMILIES} for s, v in st.items()},
                "log_test_over_train_final": est(ratio).to_dict(),
                "rho_test_train_ratio_vs_gap": r_gap.to_dict(),
                "mean_segment_length": design.get("mean_length")}
    f, i = st["final"], st["init"]
    key = (f"boundaries per unit length, trained: train chords {np.mean(f['train']):.2f}, test "
           f"{np.mean(f['test']):.2f}, random {np.mean(f['random']):.2f} (init "
           f"{_densities_text(i)}); log ratio train/random {fmt_est(d_final, 1, 2)}")
    early = (f" After {design['steps']['early']} steps the densities are "
             f"{_densities_text(st['early'])} (train/test/random)." if "early" in st else "")
    detail = (f"In the 40-D mnist1d input space a trained ReLU MLP crosses "
              f"{np.mean(f['train']):.2f} activation-region boundaries per unit length along "
              f"chords between training points, {np.mean(f['test']):.2f} between test points and "
              f"{np.mean(f['random']):.2f} along random segments of the same length (at init "
              f"{_densities_text(i)}): "
              f"log(train/random) = {fmt_est(d_final, 1, 2)}, changed by {fmt_est(change, 1, 2)} "
              f"during training.{early} Density between test points relative to training points "
              f"(log ratio {fmt_est(est(ratio), 1, 2)}) correlates with the generalization gap "
              f"at ρ = {fmt_est(r_gap, 1, 2)} over {len(gap)} trained nets. Region density is a "
              f"proxy: it says where the piecewise-linear map bends, not that the bends capture "
              f"the right structure (cf. Novak et al. 2018; Humayun et al. 2024).")
    return _verdict(d_final, change, key, evidence, detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    st = _stage_cells(measured["raw"])
    fig, axes = new_figure(9.0, 3.6, 2)
    names = list(st)
    for j, fam in enumerate(FAMILIES):
        xs = np.arange(len(names)) + 0.15 * (j - 1)
        errbar(axes[0], xs, [est(st[s][fam]) for s in names], label=f"{fam} segments")
    axes[0].set_xticks(np.arange(len(names)), names, fontsize=8)
    axes[0].set_ylabel("region boundaries per unit length")
    axes[0].legend(fontsize=7)
    axes[0].set_title("ReLU MLP on mnist1d (40-D)", fontsize=9)
    for s in (s for s in names if s.startswith("final")):
        axes[1].scatter(_log_ratio(st[s]["test"], st[s]["train"]),
                        np.subtract(st[s]["train_acc"], st[s]["test_acc"]), label=s, s=16)
    axes[1].set_xlabel("log(density on test chords / training chords)")
    axes[1].set_ylabel("generalization gap (train − test acc)")
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c13_region_density.png")]
