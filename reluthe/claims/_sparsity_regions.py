"""C02 (ReLU nets learn nonlinear maps; region counts grow with width and depth) and C13 (where
the linear regions of trained nets lie), counted exactly with :mod:`reluthe.regions`.

Counts are of *activation regions* (maximal connected sets with one on/off pattern of the hidden
units; see :mod:`reluthe.regions`), the quantity the bounds of :mod:`reluthe.symbolic.bounds`
limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reluthe import regions
from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._sparsity_common import (
    errbar,
    est,
    fmt_est,
    inconclusive,
    new_figure,
    paired,
    pp,
    rho,
    save,
    too_few,
)
from reluthe.claims._sparsity_protocol import MIN_SEEDS, protocol
from reluthe.claims._sparsity_runs import (
    early_relu,
    grid,
    init_weights,
    load,
    member_slice,
    numpy_layers,
)
from reluthe.probes.generalization import chord_segments, random_segments, region_density
from reluthe.probes.sparsity import stacked_forward
from reluthe.train import Recipe, train_mlps

# ---------------------------------------------------------------------------------------------
# C02: expressivity

C02_FIT, C02_LINEAR_GAP = 0.9, 0.1
C02_RULE = (
    f"Fit: ReLU MLPs and the same MLPs with the identity activation (a linear model) trained on "
    f"2-D spirals, >= {MIN_SEEDS} seeds; statistic: ReLU test accuracy (95 % t interval) and the "
    f"paired difference ReLU − linear. Growth: exact activation-region counts in the data box "
    f"(regions.count_on_plane) of randomly initialised ReLU MLPs over a width sweep (one hidden "
    f"layer) and a depth sweep (fixed width), every seed; statistic: Spearman correlation of "
    f"count with width and with depth (seeded bootstrap 95 % interval). Supported: ReLU test "
    f"accuracy interval above {C02_FIT}, the difference interval above {C02_LINEAR_GAP}, and "
    f"both correlations' intervals above 0. Partly: the fit holds and only one growth holds. "
    f"Refuted: the difference interval lies below {C02_LINEAR_GAP} (ReLU no better than linear), "
    f"or neither count grows. Inconclusive: fewer than {MIN_SEEDS} seeds, a count above the "
    f"symbolic upper bound (serra_upper; zaslavsky for one layer), or anything else. The "
    f"symbolic bounds (serra_upper, zaslavsky, montufar_lower) are reported beside the counts."
)


def _bounds(widths: list[int]) -> dict:
    """Symbolic bounds on the region count of hidden widths ``widths`` over R^2."""
    from reluthe.symbolic import bounds

    out = {"serra_upper": int(bounds.serra_upper(2, widths))}
    if len(widths) == 1:
        out["zaslavsky"] = int(bounds.zaslavsky(widths[0], 2))
    if min(widths) >= 2:
        out["montufar_lower"] = int(bounds.montufar_lower(2, widths))
    return out


def _count_plane(weights, k: int, box) -> int:
    return int(regions.count_on_plane(numpy_layers(weights, k), np.zeros(2),
                                      np.array([1.0, 0.0]), np.array([0.0, 1.0]), box).count)


@single_threaded
def measure_c02(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = load("spirals", ctx.seed)
    seeds = p.seeds(ctx.seed)
    widths = [2, *p.spiral_hidden, 2]
    recipe = Recipe(lr=3e-3, steps=p.spiral_steps, eval_every=p.spiral_steps)
    fit, nets = {}, {}
    for act in ("relu", "identity"):
        ctx.log(f"C02: spirals {act}")
        res = train_mlps(ds, widths, seeds=seeds, recipes=recipe, activation=act,
                         device=ctx.device)
        nets[act] = res
        fit[act] = {"train_acc": res.train_acc[:, -1].tolist(),
                    "test_acc": res.test_acc[:, -1].tolist()}
    x = ds.x_train.double().numpy()
    lo, hi = x.min(0), x.max(0)
    pad = 0.05 * (hi - lo)
    box = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]),
           float(hi[1] + pad[1]))
    sweeps = []
    shapes = [("width", w, [w]) for w in p.region_widths]
    shapes += [("depth", d, [p.region_depth_width] * d) for d in p.region_depths]
    for kind, value, hidden in shapes:
        w0 = init_weights([2, *hidden, 2], "relu", seeds)
        sweeps.append({"kind": kind, "value": value, "hidden": hidden,
                       "counts": [_count_plane(w0, k, box) for k in range(len(seeds))],
                       "bounds": _bounds(hidden)})
    ctx.log("C02: regions of the trained spiral nets")
    trained = {"hidden": list(p.spiral_hidden), "bounds": _bounds(list(p.spiral_hidden)),
               "init": [_count_plane(init_weights(widths, "relu", seeds), k, box)
                        for k in range(len(seeds))],
               "trained": [_count_plane(nets["relu"].weights, k, box)
                           for k in range(len(seeds))]}
    g = 60
    ga, gb = np.meshgrid(np.linspace(box[0], box[1], g), np.linspace(box[2], box[3], g))
    pts = torch.as_tensor(np.stack([ga.ravel(), gb.ravel()], 1), dtype=torch.float32)
    pred = {act: stacked_forward(nets[act].weights, pts, act)[0][0].argmax(-1).view(g, g)
            .tolist() for act in nets}
    sample = {"x": ds.x_test[:300].tolist(), "y": ds.y_test[:300].tolist()}
    return {"fit": fit, "sweeps": sweeps, "trained_regions": trained, "box": list(box),
            "prediction_grid": pred, "test_sample": sample, "widths": widths,
            "seeds": seeds, "quick": ctx.quick}


def decide_c02(measured: dict) -> Outcome:
    fit, sweeps = measured["fit"], measured["sweeps"]
    few = too_few(fit["relu"]["test_acc"], fit["identity"]["test_acc"],
                  *[s["counts"] for s in sweeps])
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    acc = est(fit["relu"]["test_acc"])
    diff = paired(fit["relu"]["test_acc"], fit["identity"]["test_acc"])
    growth = {}
    for kind in ("width", "depth"):
        rows = [s for s in sweeps if s["kind"] == kind]
        xs = [s["value"] for s in rows for _ in s["counts"]]
        ys = [c for s in rows for c in s["counts"]]
        growth[kind] = rho(xs, ys)
    over = [s for s in sweeps
            if max(s["counts"]) > min(s["bounds"].get("zaslavsky", np.inf),
                                      s["bounds"]["serra_upper"])]
    tr = measured["trained_regions"]
    if max(tr["trained"]) > tr["bounds"]["serra_upper"]:
        over.append(tr)
    mean_counts = {f"{s['kind']} {s['value']}": float(np.mean(s["counts"])) for s in sweeps}
    evidence = {"relu_test_acc": acc.to_dict(), "linear_test_acc":
                est(fit["identity"]["test_acc"]).to_dict(), "relu_minus_linear": diff.to_dict(),
                "rho_width": growth["width"].to_dict(), "rho_depth": growth["depth"].to_dict(),
                "mean_counts": mean_counts,
                "bounds": {f"{s['kind']} {s['value']}": s["bounds"] for s in sweeps},
                "trained_vs_init": {"init": est(tr["init"]).to_dict(),
                                    "trained": est(tr["trained"]).to_dict(),
                                    "serra_upper": tr["bounds"]["serra_upper"]}}
    wid = [s for s in sweeps if s["kind"] == "width"]
    dep = [s for s in sweeps if s["kind"] == "depth"]
    key = (f"spirals: ReLU {acc.value:.1%} vs linear {evidence['linear_test_acc']['value']:.1%} "
           f"test acc; regions in the data box {np.mean(wid[0]['counts']):.0f}→"
           f"{np.mean(wid[-1]['counts']):.0f} (width {wid[0]['value']}→{wid[-1]['value']}), "
           f"{np.mean(dep[0]['counts']):.0f}→{np.mean(dep[-1]['counts']):.0f} (depth "
           f"{dep[0]['value']}→{dep[-1]['value']})")
    bound_txt = "; ".join(
        f"width {s['value']}: {np.mean(s['counts']):.0f} counted vs ≤ {s['bounds']['serra_upper']}"
        for s in wid[-1:]) + "; " + "; ".join(
        f"depth {s['value']}: {np.mean(s['counts']):.0f} vs ≤ {s['bounds']['serra_upper']}"
        f" (Montúfar lower {s['bounds'].get('montufar_lower', 'n/a')} is a best-case "
        f"construction)" for s in dep[-1:])
    detail = (f"On 2-D spirals a ReLU MLP {measured['widths']} reaches {fmt_est(acc, 100, 1)} % "
              f"test accuracy, {pp(diff)} above the same network with the identity activation "
              f"(a linear model). The number of activation regions in the data box grows with "
              f"width (Spearman {fmt_est(growth['width'], 1, 2)}) and depth "
              f"({fmt_est(growth['depth'], 1, 2)}) at init, far below the symbolic bounds "
              f"({bound_txt}); training the spiral nets moves their count from "
              f"{np.mean(tr['init']):.0f} to {np.mean(tr['trained']):.0f}.")
    if over:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "A count exceeds its symbolic upper bound: the count or the bound is "
                       "wrong, so no verdict. " + detail)
    fits = acc.low >= C02_FIT and diff.low > C02_LINEAR_GAP
    grows = [growth[k].has_ci and growth[k].low > 0 for k in ("width", "depth")]
    if fits and all(grows):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if diff.high < C02_LINEAR_GAP or not any(grows) and all(
            growth[k].has_ci and growth[k].high < 0 for k in ("width", "depth")):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if fits and any(grows):
        which = "width" if grows[0] else "depth"
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"ReLU fits the nonlinear target, but the region count grows only with "
                       f"{which}. " + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The fit or the growth is not separated at this size. " + detail)


def plot_c02(measured: dict, figures_dir: Path) -> list[str]:
    fig, axes = new_figure(10.5, 3.6, 3)
    box = measured["box"]
    xs = np.asarray(measured["test_sample"]["x"])
    ys = np.asarray(measured["test_sample"]["y"])
    for ax, act in zip(axes[:2], ("relu", "identity")):
        ax.imshow(np.asarray(measured["prediction_grid"][act]), origin="lower", extent=box,
                  cmap="coolwarm", alpha=0.35, aspect="auto")
        ax.scatter(xs[:, 0], xs[:, 1], c=ys, cmap="coolwarm", s=5)
        acc = est(measured["fit"][act]["test_acc"]).value
        ax.set_title(f"{act} MLP on spirals: test {acc:.1%}", fontsize=9)
    ax = axes[2]
    for kind, color in (("width", "tab:blue"), ("depth", "tab:orange")):
        rows = [s for s in measured["sweeps"] if s["kind"] == kind]
        units = [sum(s["hidden"]) for s in rows]
        errbar(ax, units, [est(s["counts"]) for s in rows], color=color,
               label=f"counted, {kind} sweep")
        ax.plot(units, [s["bounds"]["serra_upper"] for s in rows], ls="--", color=color,
                label=f"serra_upper, {kind} sweep")
    ax.set_yscale("log")
    ax.set_xlabel("hidden units")
    ax.set_ylabel("activation regions in the data box")
    ax.legend(fontsize=6)
    return [save(fig, figures_dir, "c02_spirals_and_region_counts.png")]


# ---------------------------------------------------------------------------------------------
# C13: region density along segments through training data, test data and random points

C13_RULE = (
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


def _densities(weights, k, families) -> dict:
    net = numpy_layers(weights, k)
    return {name: float(region_density(net, s, e).mean()) for name, (s, e) in families.items()}


@single_threaded
def measure_c13(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = load("mnist1d", ctx.seed)
    xtr, xte = ds.x_train.double().numpy(), ds.x_test.double().numpy()
    tr = chord_segments(xtr, p.n_segments, seed=ctx.seed)
    te = chord_segments(xte, p.n_segments, seed=ctx.seed + 1)
    lengths = np.linalg.norm(tr[1] - tr[0], axis=1)
    rd = random_segments(xtr, lengths, seed=ctx.seed + 2)
    families = {"train": tr, "test": te, "random": rd}
    relu = grid(ctx.quick, ctx.seed, ctx.device, "mnist1d", "relu")
    early = early_relu(ctx.quick, ctx.seed, ctx.device)
    seeds = p.seeds(ctx.seed)
    stages = {"init": (init_weights(relu.widths, "relu", seeds), None, None)}
    stages["early"] = (early.weights, early.train_acc[:, -1], early.test_acc[:, -1])
    for recipe in p.recipe_names("mnist1d"):
        sl = member_slice(ctx.quick, "mnist1d", recipe)
        stage = "final" if recipe == "adam" else f"final_{recipe}"
        w = [(a[sl], b[sl]) for a, b in relu.weights]
        stages[stage] = (w, relu.train_acc[sl, -1], relu.test_acc[sl, -1])
    out = {}
    for stage, (weights, train_acc, test_acc) in stages.items():
        ctx.log(f"C13: densities at {stage}")
        rows = [_densities(weights, k, families) for k in range(len(seeds))]
        out[stage] = {name: [r[name] for r in rows] for name in families}
        if train_acc is not None:
            out[stage]["train_acc"] = np.asarray(train_acc).tolist()
            out[stage]["test_acc"] = np.asarray(test_acc).tolist()
    steps = {"init": 0, "early": p.early_steps,
             **{s: p.recipe("mnist1d", "adam").steps for s in stages if s.startswith("final")}}
    return {"stages": out, "steps": steps, "n_segments": p.n_segments,
            "mean_length": float(lengths.mean()), "quick": ctx.quick}


def _log_ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a / b)


def decide_c13(measured: dict) -> Outcome:
    st = measured["stages"]
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
    r_gap = rho(ratio, gap)
    dens = {s: {f: est(v[f]).to_dict() for f in ("train", "test", "random")}
            for s, v in st.items()}
    evidence = {"log_train_over_random": {s: est(v).to_dict() for s, v in d.items()},
                "change_final_minus_init": change.to_dict(), "density": dens,
                "log_test_over_train_final": est(ratio).to_dict(),
                "rho_test_train_ratio_vs_gap": r_gap.to_dict(),
                "mean_segment_length": measured.get("mean_length")}
    f, i = st["final"], st["init"]
    key = (f"boundaries per unit length, trained: train chords {np.mean(f['train']):.2f}, test "
           f"{np.mean(f['test']):.2f}, random {np.mean(f['random']):.2f} (init "
           f"{np.mean(i['train']):.2f}/{np.mean(i['test']):.2f}/{np.mean(i['random']):.2f}); "
           f"log ratio train/random {fmt_est(d_final, 1, 2)}")
    early = ""
    if "early" in st:
        e = st["early"]
        early = (f" After {measured['steps']['early']} steps the densities are "
                 f"{np.mean(e['train']):.2f}/{np.mean(e['test']):.2f}/{np.mean(e['random']):.2f} "
                 f"(train/test/random).")
    detail = (f"In the 40-D mnist1d input space a trained ReLU MLP crosses "
              f"{np.mean(f['train']):.2f} activation-region boundaries per unit length along "
              f"chords between training points, {np.mean(f['test']):.2f} between test points and "
              f"{np.mean(f['random']):.2f} along random segments of the same length (at init "
              f"{np.mean(i['train']):.2f}/{np.mean(i['test']):.2f}/{np.mean(i['random']):.2f}): "
              f"log(train/random) = {fmt_est(d_final, 1, 2)}, changed by {fmt_est(change, 1, 2)} "
              f"during training.{early} Density between test points relative to training points "
              f"(log ratio {fmt_est(est(ratio), 1, 2)}) correlates with the generalization gap "
              f"at ρ = {fmt_est(r_gap, 1, 2)} over {len(gap)} trained nets. Region density is a "
              f"proxy: it says where the piecewise-linear map bends, not that the bends capture "
              f"the right structure (cf. Novak et al. 2018; Humayun et al. 2024).")
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


def plot_c13(measured: dict, figures_dir: Path) -> list[str]:
    st = measured["stages"]
    fig, axes = new_figure(9.0, 3.6, 2)
    names = list(st)
    for j, fam in enumerate(("train", "test", "random")):
        xs = np.arange(len(names)) + 0.15 * (j - 1)
        errbar(axes[0], xs, [est(st[s][fam]) for s in names], label=f"{fam} segments")
    axes[0].set_xticks(np.arange(len(names)), names, fontsize=8)
    axes[0].set_ylabel("region boundaries per unit length")
    axes[0].legend(fontsize=7)
    axes[0].set_title("ReLU MLP on mnist1d (40-D)", fontsize=9)
    finals = [s for s in names if s.startswith("final")]
    for s in finals:
        axes[1].scatter(_log_ratio(st[s]["test"], st[s]["train"]),
                        np.subtract(st[s]["train_acc"], st[s]["test_acc"]), label=s, s=16)
    axes[1].set_xlabel("log(density on test chords / training chords)")
    axes[1].set_ylabel("generalization gap (train − test acc)")
    axes[1].legend(fontsize=7)
    return [save(fig, figures_dir, "c13_region_density.png")]

