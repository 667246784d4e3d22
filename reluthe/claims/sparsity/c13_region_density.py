"""C13: training places the linear regions of a ReLU net where the data is.

The article: a trained ReLU network cuts its input space into linear regions that follow the
data. Measured as region density, the number of activation-region boundaries crossed per unit
length (exact: :func:`reluthe.probes.generalization.segment_crossings`), in the 40-D mnist1d
input space, for the ReLU nets of the family's shared arm (:func:`_arms.arm`, 3 data seeds × 3
model seeds, learning rate chosen on validation).

Why a rotated control. Chords between data points and random segments differ in geometry, not
only in their relation to the data: at initialisation, before anything is learned, a segment's
density already depends on how close it passes to the origin, where the first layer's kinks
lie. The control here is each chord turned about the origin by its own random rotation
(:func:`reluthe.probes.generalization.rotated_segments`): the same length and the same distance
to the origin at every point, so at an isotropic init both have the same density distribution
(checked: the rule reads the init ratio), while the rotated copy no longer runs between data
points. Chords between training points and, separately, between test points (the same input
distribution, never trained on) are compared with their own rotated copies.

"During training": the trainer keeps only the final and best-validation weights, so the arm is
re-trained with the same learning rate, seeds and batch order to intermediate step counts
(the same trajectory prefix; the record checks that the loss curves coincide with the arm's).
Hanin & Rolnick's density (boundaries per unit length per neuron, per layer) is reported along
the training chords at every stage, and at He init for a deeper net.

Local complexity, beside the verdict: the exact number of activation regions meeting a small L1
ball around training points, test points and the same points turned about the origin (the
point-wise version of the rotated control), in the full 40-D input space
(:func:`reluthe.regions.count_near_many`), at init and at the best-validation checkpoint. The
radius (:data:`LOCAL_RADIUS`, 1/400 of the median L1 distance from a training point to its
nearest training neighbour) was fixed on an untrained net for cost: an L-inf box of the same
half-width already holds more than 20,000 regions in 40-D.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import fmt_est, inconclusive
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.probes.generalization import chord_segments, rotated_segments, segment_crossings
from reluthe.regions import count_near_many
from reluthe.stats import Estimate, compare, family_ci, mean_ci
from reluthe.train import stacked_mlp_init, train_mlps

SETTING = "mnist1d"
FAMILIES = ("train", "train_rotated", "test", "test_rotated")
TRAJECTORY_FAMILIES = ("train", "train_rotated")
MARGIN = math.log(1.1)  # log density ratios within ±10 % count as equal
HE_DEPTH = 4  # hidden layers of the He-init net (Hanin & Rolnick's depth check)
LOCAL_NORM = "1"  # local complexity in L1 balls (cross-polytopes)
LOCAL_RADIUS = 0.05  # their radius, in input units
LOCAL_STAGES = ("init", "best_val")
LABELS = {"train": "chords between training points",
          "train_rotated": "training chords turned about the origin",
          "test": "chords between test points",
          "test_rotated": "test chords turned about the origin"}

RULE = (
    f"Statistic: region density = activation-region boundaries crossed per unit length (exact, "
    f"regions.count_on_line) along segments in the 40-D mnist1d input space, for the ReLU MLPs "
    f"of the shared arm (3 data seeds x 3 model seeds, lr chosen on validation) at "
    f"initialisation and at the best-validation checkpoint. Segments per data seed: chords "
    f"between random pairs of training points, chords between test points, and each chord "
    f"turned about the origin by its own random rotation (same length and distance to the "
    f"origin at every point; the geometry-matched control). Per net D_train = log(density on "
    f"training chords / on their rotated copies), D_test likewise for test chords; nets that "
    f"diverged (non-finite final training loss) are named and excluded. Each statistic is "
    f"averaged over the nets of a data seed (the segments are drawn per data seed), and "
    f"intervals are t intervals over the data-seed means, at the Bonferroni level (97.5 %) for "
    f"the family {{D_train, D_test}} at the trained checkpoint, 95 % for D_train at init. "
    f"Margin: |D| <= log 1.1. "
    f"Inconclusive: fewer than {MIN_SEEDS} data seeds with usable nets, or the control fails at "
    f"init (the 95 % interval of D_train at init lies beyond the margin), or D_train unclear. "
    f"Refuted: the interval of trained D_train lies below -margin or inside ±margin "
    f"(boundaries are not denser along the data than along geometry-matched segments off it). "
    f"Supported: the intervals of trained D_train and D_test both lie above the margin (denser "
    f"along the data distribution, not only at the training points). Partly: D_train's above "
    f"the margin, D_test's not. Reported beside it: the "
    f"densities over training steps (same lr, seeds and batch order to intermediate steps), the "
    f"change of D_train from init, and Hanin & Rolnick's boundaries per unit length per neuron "
    f"per layer (also at He init, {HE_DEPTH} hidden layers), and the exact local complexity "
    f"(regions.count_near: activation regions meeting the L1 ball of radius {LOCAL_RADIUS} "
    f"in the full input space) around training points, test points and each point turned "
    f"about the origin, at init and at the best-validation checkpoint, as log ratios of the "
    f"geometric-mean counts (data points / rotated), averaged like D."
)


def n_segments(ctx: Context) -> int:
    """Segments per family and data seed."""
    return 3 if ctx.quick else 40 if ctx.full else 10


def n_local_points(ctx: Context) -> int:
    """Points per family and data seed for the local complexity."""
    return 2 if ctx.quick else 20 if ctx.full else 8


def trajectory_steps(ctx: Context) -> tuple[int, ...]:
    """Intermediate step counts re-trained along the arm's trajectory."""
    return (20,) if ctx.quick else (30, 100, 300) if ctx.full else (100, 300)


def _segments(ctx: Context, data_seed: int, probe: list[int]) -> dict[str, tuple]:
    """The four segment families of one data seed (seeded by four "probe" seeds)."""
    ds = _arms.dataset(ctx, SETTING, data_seed)
    n = n_segments(ctx)
    train = chord_segments(ds.x_train.double().numpy(), n, seed=probe[0])
    test = chord_segments(ds.x_test.double().numpy(), n, seed=probe[1])
    return {"train": train, "train_rotated": rotated_segments(*train, seed=probe[2]),
            "test": test, "test_rotated": rotated_segments(*test, seed=probe[3])}


def _local_points(ctx: Context, data_seed: int, seeds: list[int]) -> dict[str, np.ndarray]:
    """Training and test points of one data seed and their rotated copies (four seeds)."""
    ds = _arms.dataset(ctx, SETTING, data_seed)
    n = n_local_points(ctx)
    out = {}
    for fam, x, seed, turn in (("train", ds.x_train, seeds[0], seeds[2]),
                               ("test", ds.x_test, seeds[1], seeds[3])):
        x = x.double().numpy()
        pts = x[np.random.default_rng(seed).choice(len(x), n, replace=False)]
        out[fam], out[f"{fam}_rotated"] = pts, rotated_segments(pts, pts, seed=turn)[0]
    return out


def _local_counts(net, points: dict[str, np.ndarray]) -> dict:
    """Exact region counts in the L1 ball around every point, per family."""
    return {f"local_{fam}": [int(r.count) for r in count_near_many(
                net, pts, LOCAL_RADIUS, norm=LOCAL_NORM, progress=False)]
            for fam, pts in points.items()}


def _net(weights, k: int) -> list:
    """Member ``k`` of stacked weights as float64 ``(W, b)`` pairs."""
    return [(w[k].double().numpy(), b[k].double().numpy()) for w, b in weights]


def _densities(net, segments: dict, families) -> dict:
    """Mean density per family, and Hanin & Rolnick's per-neuron density on training chords."""
    out = {}
    for fam in families:
        c = segment_crossings(net, *segments[fam])
        out[f"density_{fam}"] = float(c.density.mean())
        if fam == "train":
            per_layer = c.density_per_neuron.mean(0)
            out["per_neuron_layers"] = per_layer.tolist()
            out["per_neuron"] = float((c.density / sum(c.widths)).mean())
    return out


def _finite(weights, k: int) -> bool:
    return all(bool(np.isfinite(w[k].numpy()).all() and np.isfinite(b[k].numpy()).all())
               for w, b in weights)


def _stage_rows(stage: str, weights, steps, res, k_rows: list[dict], segments: dict,
                families, points: dict | None = None) -> list[dict]:
    """One row per member of ``weights`` (stacked) at one stage; accuracies at ``steps``; local
    counts around ``points`` when given."""
    out = []
    for k, base in enumerate(k_rows):
        step = int(steps[k])
        at = int(np.searchsorted(res.steps, step))
        row = {"stage": stage, "step": step, "data_seed": base["data_seed"],
               "seed": base["seed"], "diverged": base["diverged"],
               "train_acc": float(res.train_acc[k, at]), "test_acc": float(res.test_acc[k, at])}
        if _finite(weights, k):
            row.update(_densities(_net(weights, k), segments, families))
            if points is not None:
                row.update(_local_counts(_net(weights, k), points))
        out.append(row)
    return out


def _prefix(ctx: Context, a: _arms.Arm, data_seed: int, sel, steps: int):
    """The arm's members re-trained to ``steps`` (same lr, seeds, batch order); and the largest
    difference of their training-loss curve from the arm's at the common evaluations."""
    recipe = dataclasses.replace(a.setting.recipe(a.lr), steps=steps, **a.changes)
    res = sel.result
    r = train_mlps(_arms.dataset(ctx, SETTING, data_seed), res.widths, seeds=list(res.seeds),
                   recipes=recipe, activation=a.activation, device=ctx.device)
    common = [i for i, s in enumerate(r.steps) if s in set(res.steps.tolist())]
    at = [int(np.searchsorted(res.steps, r.steps[i])) for i in common]
    diff = float(np.nanmax(np.abs(r.train_loss[:, common] - res.train_loss[:, at])))
    return r, diff


def _trajectory_rows(ctx: Context, a: _arms.Arm, data_seed: int, sel, members, segments):
    """Rows at every intermediate step and at the final step; the prefix differences."""
    res, rows, diffs = sel.result, [], {}
    for steps in trajectory_steps(ctx):
        r, diffs[steps] = _prefix(ctx, a, data_seed, sel, steps)
        rows += _stage_rows(f"step {steps}", r.weights, [steps] * len(members), r, members,
                            segments, TRAJECTORY_FAMILIES)
    final = [int(res.steps[-1])] * len(members)
    rows += _stage_rows("final", res.weights, final, res, members, segments, TRAJECTORY_FAMILIES)
    return rows, diffs


def _he_rows(ctx: Context, widths: list[int], segments: dict) -> list[dict]:
    """Hanin & Rolnick's per-layer density at He init, :data:`HE_DEPTH` hidden layers."""
    hidden = _arms.hidden(ctx.quick)[0]
    he_widths = [widths[0], *[hidden] * HE_DEPTH, widths[-1]]
    seeds = _arms.model_seeds(ctx)
    weights = stacked_mlp_init(he_widths, seeds, init="he")
    return [{"stage": "he_init", "step": 0, "seed": int(s), "hidden": he_widths[1:-1],
             **_densities(_net(weights, k), segments, ("train",))} for k, s in enumerate(seeds)]


@single_threaded
def measure(ctx: Context) -> dict:
    a = _arms.arm(ctx, SETTING, "relu")
    arm_rows = _arms.rows(ctx, a)
    probe = ctx.seeds("probe", 4 * len(a.data_seeds))
    local = ctx.seeds("probe", 4 * len(a.data_seeds), start=len(probe))
    raw, prefix_diff = [], {}
    for i, (data_seed, sel) in enumerate(zip(a.data_seeds, a.selections)):
        ctx.log(f"C13: densities, data seed {data_seed}")
        segments = _segments(ctx, data_seed, probe[4 * i:4 * i + 4])
        points = _local_points(ctx, data_seed, local[4 * i:4 * i + 4])
        res = sel.result
        members = [r for r in arm_rows if r["data_seed"] == data_seed]
        init = stacked_mlp_init(res.widths, list(res.seeds))
        raw += _stage_rows("init", init, [0] * len(members), res, members, segments, FAMILIES,
                           points)
        raw += _stage_rows("best_val", res.best_val_weights, [r["best_step"] for r in members],
                           res, members, segments, FAMILIES, points)
        rows, prefix_diff[data_seed] = _trajectory_rows(ctx, a, data_seed, sel, members,
                                                        segments)
        raw += rows
        if i == 0:
            raw += [{**r, "data_seed": int(data_seed)}
                    for r in _he_rows(ctx, res.widths, segments)]
    design = {**_arms.design(ctx, (SETTING,)), "arm": a.describe(),
              "widths": list(a.selections[0].result.widths),
              "probe_seeds": probe, "n_segments": n_segments(ctx),
              "local": {"seeds": local, "n_points": n_local_points(ctx), "norm": LOCAL_NORM,
                        "radius": LOCAL_RADIUS},
              "trajectory_steps": list(trajectory_steps(ctx)), "margin": MARGIN,
              "he_depth": HE_DEPTH,
              "prefix_max_train_loss_difference": {str(d): {str(s): v for s, v in diffs.items()}
                                                   for d, diffs in prefix_diff.items()}}
    return {"design": design, "raw": raw}


# --------------------------------------------------------------------------- decide


def _log_ratio(a, b) -> float:
    if a is None or b is None or not (a > 0 and b > 0):
        return math.nan
    return math.log(a / b)


def _usable(raw, stage: str) -> list[dict]:
    return [r for r in raw if r["stage"] == stage and not r["diverged"]
            and r.get("density_train") is not None]


def _cluster_means(rows: list[dict], stat) -> dict[int, float]:
    """``stat(row)`` averaged over the nets of each data seed (NaN values dropped)."""
    out: dict[int, list] = {}
    for r in rows:
        v = stat(r)
        if math.isfinite(v):
            out.setdefault(r["data_seed"], []).append(v)
    return {d: float(np.mean(v)) for d, v in out.items()}


def _d(fam: str):
    return lambda r: _log_ratio(r.get(f"density_{fam}"), r.get(f"density_{fam}_rotated"))


def _change(init: list[dict]):
    """D_train of a trained net minus D_train of the same net at init (same data and model
    seed)."""
    at_init = {(r["data_seed"], r["seed"]): _d("train")(r) for r in init}
    return lambda r: _d("train")(r) - at_init.get((r["data_seed"], r["seed"]), math.nan)


def _stage_density(raw, stage: str, fam: str) -> Estimate:
    """Mean density of ``fam`` at ``stage`` over the data-seed means."""
    def value(r):
        v = r.get(f"density_{fam}")
        return math.nan if v is None else float(v)
    means = _cluster_means(_usable(raw, stage), value)
    return mean_ci(list(means.values())) if means else Estimate(math.nan, None, None, 0)


def _per_neuron(raw, stage: str) -> dict:
    """Hanin & Rolnick's density per layer (mean over nets) and overall at ``stage``."""
    rows = [r for r in raw if r["stage"] == stage and r.get("per_neuron_layers") is not None
            and not r.get("diverged", False)]
    if not rows:
        return {}
    return {"layers": np.mean([r["per_neuron_layers"] for r in rows], 0).tolist(),
            "all": float(np.mean([r["per_neuron"] for r in rows]))}


def _stages(raw) -> list[str]:
    seen = []
    for r in raw:
        if r["stage"] not in seen and r["stage"] != "he_init":
            seen.append(r["stage"])
    return seen


def _mean_log(counts) -> float:
    return float(np.mean(np.log(counts))) if counts else math.nan


def _local_d(fam: str):
    """Per net: mean log local count around ``fam`` points minus around their rotated copies."""
    def stat(r):
        a, b = r.get(f"local_{fam}"), r.get(f"local_{fam}_rotated")
        return math.nan if a is None or b is None else _mean_log(a) - _mean_log(b)
    return stat


def _local_evidence(raw, design) -> dict:
    """Local complexity per stage: geometric-mean counts per family and the log ratios
    (t intervals over data-seed means, 95 %)."""
    out = {k: design["local"][k] for k in ("norm", "radius", "n_points")} \
        if "local" in design else {}
    for stage in LOCAL_STAGES:
        rows = [r for r in _usable(raw, stage) if "local_train" in r]
        if not rows:
            continue
        entry = {}
        for fam in FAMILIES:
            means = _cluster_means(rows, lambda r, f=fam: _mean_log(r[f"local_{f}"]))
            entry[f"geomean_{fam}"] = float(np.exp(np.mean(list(means.values()))))
        for fam in ("train", "test"):
            means = _cluster_means(rows, _local_d(fam))
            entry[f"log_ratio_{fam}"] = mean_ci(list(means.values())).to_dict()
        out[stage] = entry
    return out


def _local_text(local: dict) -> str:
    if "best_val" not in local or "init" not in local:
        return ""
    def one(stage):
        e = local[stage]
        return (f"{e['geomean_train']:.1f} around training points vs "
                f"{e['geomean_train_rotated']:.1f} rotated, {e['geomean_test']:.1f} around "
                f"test points vs "
                f"{e['geomean_test_rotated']:.1f} rotated (log ratios "
                f"{fmt_est(Estimate(**_est_args(e['log_ratio_train'])), 1, 2)} and "
                f"{fmt_est(Estimate(**_est_args(e['log_ratio_test'])), 1, 2)})")
    return (f"Local complexity (exact activation regions meeting the L1 ball of radius "
            f"{local['radius']} in the 40-D input space, geometric means): trained "
            f"{one('best_val')}; at init {one('init')}. ")


def _est_args(d: dict) -> dict:
    return {k: d[k] for k in ("value", "low", "high", "n")}


def _evidence(raw, design, fam_est, d_init, change, excluded) -> dict:
    return {"D_train_trained": fam_est[0].to_dict(), "D_test_trained": fam_est[1].to_dict(),
            "D_train_init": d_init.to_dict(), "D_train_change_from_init": change.to_dict(),
            "margin": design["margin"],
            "density": {s: {f: _stage_density(raw, s, f).to_dict() for f in FAMILIES
                            if any(f"density_{f}" in r for r in raw if r["stage"] == s)}
                        for s in _stages(raw)},
            "per_neuron_density": {s: _per_neuron(raw, s) for s in (*_stages(raw), "he_init")},
            "local_complexity": _local_evidence(raw, design),
            "excluded_diverged": excluded,
            "prefix_max_train_loss_difference": design.get("prefix_max_train_loss_difference")}


def _verdict(a: str, b: str) -> tuple[Verdict, str]:
    if a in ("less", "tie"):
        return Verdict.REFUTED, ("Training does not make boundaries denser along the data than "
                                 "along the same segments turned away from it. ")
    if a == "unclear":
        return Verdict.INCONCLUSIVE, ("The trained ratio is not separated from the margin; more "
                                      "data seeds or segments would. ")
    if b == "greater":
        return Verdict.SUPPORTED, ("Boundaries are denser along the data, for unseen test points "
                                   "too. ")
    return Verdict.PARTLY, ("Boundaries are denser along chords between training points, but "
                            "not measurably along chords between test points. ")


def decide(measured: dict) -> Outcome:
    design, raw = measured["design"], measured["raw"]
    init, trained = _usable(raw, "init"), _usable(raw, "best_val")
    excluded = sorted({f"data seed {r['data_seed']}, model seed {r['seed']}" for r in raw
                       if r.get("diverged")})
    d_tr, d_te = _cluster_means(trained, _d("train")), _cluster_means(trained, _d("test"))
    d_in = _cluster_means(init, _d("train"))
    n = min(len(d_tr), len(d_te), len(d_in))
    if n < MIN_SEEDS:
        return inconclusive(f"only {n} data seed(s) with usable nets; the rule needs >= "
                            f"{MIN_SEEDS}", {"excluded_diverged": excluded})
    fam_est = family_ci([lambda c: mean_ci(list(d_tr.values()), c),
                         lambda c: mean_ci(list(d_te.values()), c)])
    d_init = mean_ci(list(d_in.values()))
    change = mean_ci(list(_cluster_means(trained, _change(init)).values()))
    evidence = _evidence(raw, design, fam_est, d_init, change, excluded)
    dens = {f: _stage_density(raw, "best_val", f) for f in FAMILIES}
    dens0 = {f: _stage_density(raw, "init", f) for f in FAMILIES}
    key = (f"trained ReLU MLP, boundaries per unit length: training chords "
           f"{dens['train'].value:.2f} vs rotated {dens['train_rotated'].value:.2f}, test chords "
           f"{dens['test'].value:.2f} vs rotated {dens['test_rotated'].value:.2f}; log ratio "
           f"train {fmt_est(fam_est[0], 1, 2)}, test {fmt_est(fam_est[1], 1, 2)}")
    hr = evidence["per_neuron_density"]
    detail = (f"In the 40-D mnist1d input space, at the best-validation checkpoint, a ReLU MLP "
              f"({'-'.join(map(str, design['widths']))}) crosses {dens['train'].value:.2f} "
              f"activation-region boundaries per unit length along chords between training "
              f"points and {dens['train_rotated'].value:.2f} along the same chords turned about "
              f"the origin (at init {dens0['train'].value:.2f} and "
              f"{dens0['train_rotated'].value:.2f}); between test points "
              f"{dens['test'].value:.2f} vs {dens['test_rotated'].value:.2f}. Log ratios over "
              f"{n} data seeds (family of 2, Bonferroni): training chords "
              f"{fmt_est(fam_est[0], 1, 2)}, test chords {fmt_est(fam_est[1], 1, 2)}; at init "
              f"{fmt_est(d_init, 1, 2)}; change from init {fmt_est(change, 1, 2)}. "
              f"{_trajectory_text(evidence['density'])}{_hr_text(hr)}"
              f"{_local_text(evidence['local_complexity'])}"
              f"{_excluded_text(excluded)}Region density is a proxy: it says where the "
              f"piecewise-linear map bends, not that the bends capture the right structure "
              f"(cf. Novak et al. 2018; Humayun et al. 2024).")
    if compare(d_init, design["margin"]) in ("greater", "less"):
        return Outcome(Verdict.INCONCLUSIVE, "inconclusive: the rotated control differs at init",
                       evidence, "The rotated segments do not match the chords at init, so the "
                       "control is not geometry-matched. " + detail)
    verdict, lead = _verdict(compare(fam_est[0], design["margin"]),
                             compare(fam_est[1], design["margin"]))
    return Outcome(verdict, key, evidence, lead + detail)


def _trajectory_text(density: dict) -> str:
    parts = [f"{s} {v['train']['value']:.2f}/{v['train_rotated']['value']:.2f}"
             for s, v in density.items() if s not in ("best_val",)]
    return ("Over training (training chords / rotated): " + ", ".join(parts) + ". ") if parts \
        else ""


def _hr_text(hr: dict) -> str:
    def layers(s):
        return "/".join(f"{v:.3f}" for v in hr[s]["layers"])
    if not hr.get("init") or not hr.get("best_val"):
        return ""
    he = (f"; at He init with {len(hr['he_init']['layers'])} hidden layers "
          f"{layers('he_init')}" if hr.get("he_init") else "")
    return (f"Hanin & Rolnick's boundaries per unit length per neuron along training chords, by "
            f"layer: init {layers('init')}, trained {layers('best_val')}{he}. ")


def _excluded_text(excluded: list[str]) -> str:
    return f"Excluded as diverged: {'; '.join(excluded)}. " if excluded else ""


# --------------------------------------------------------------------------- plot


def _step_of(raw, stage: str) -> float:
    steps = [r["step"] for r in raw if r["stage"] == stage]
    return float(np.mean(steps)) if steps else math.nan


def _log_ratio_by_stage(raw, stage: str) -> Estimate:
    """D_train at ``stage``: mean over the data-seed means, 95 % t interval."""
    means = _cluster_means(_usable(raw, stage), _d("train"))
    return mean_ci(list(means.values())) if means else Estimate(math.nan, None, None, 0)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, margin = measured["raw"], measured["design"]["margin"]
    fig, axes = new_figure(14.0, 3.8, 3)
    stages = [s for s in _stages(raw) if s != "best_val"]
    xs = np.array([_step_of(raw, s) for s in stages])
    order = np.argsort(xs)
    for j, fam in enumerate(TRAJECTORY_FAMILIES):
        ests = [_stage_density(raw, stages[i], fam) for i in order]
        errbar(axes[0], xs[order] + 8 * j, ests, fmt="o-", label=LABELS[fam])
    axes[0].set_xlabel("training step (same learning rate, seeds and batches)")
    axes[0].set_ylabel("region boundaries per unit length")
    axes[0].set_title("ReLU MLP on MNIST-1D (40-D)", fontsize=9)
    axes[0].legend(fontsize=7)
    errbar(axes[1], xs[order], [_log_ratio_by_stage(raw, stages[i]) for i in order], fmt="o-")
    axes[1].axhspan(-margin, margin, color="0.85", label="within ±10 % (margin)")
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("log(training chords / rotated copies)")
    axes[1].legend(fontsize=7)
    for j, fam in enumerate(FAMILIES):
        ests = [_stage_density(raw, s, fam) for s in ("init", "best_val")]
        errbar(axes[2], np.arange(2) + 0.12 * (j - 1.5), ests, label=LABELS[fam])
    axes[2].set_xticks([0, 1], ["initialisation", "best validation"])
    axes[2].set_ylabel("region boundaries per unit length")
    axes[2].legend(fontsize=7)
    return [save(fig, figures_dir, "c13_region_density.png")]
