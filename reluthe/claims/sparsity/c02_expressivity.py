"""C02: ReLU lets a network learn nonlinear maps, with more linear regions as it grows.

The article: "This simple nonlinearity lets neural networks learn complex nonlinear functions".
Measured on 2-D spirals: the test accuracy of ReLU MLPs against the same MLPs with the identity
activation (a linear model); and exact activation-region counts in the data box
(:func:`reluthe.regions.count_on_plane`) of randomly initialised ReLU MLPs over a width and a
depth sweep and of the trained spiral nets, beside the symbolic bounds of
:mod:`reluthe.symbolic.bounds` (in the design: they are derivations, not measurements).

Counts are of *activation regions* (maximal connected sets with one on/off pattern of the hidden
units; see :mod:`reluthe.regions`), the quantity the bounds limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reluthe import regions
from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.sparsity._common import (
    acc_est,
    est,
    fmt_est,
    inconclusive,
    paired,
    pp,
    rho,
    too_few,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS, protocol
from reluthe.claims.sparsity._runs import (
    base_design,
    dataset,
    init_weights,
    model_seeds,
    numpy_layers,
)
from reluthe.probes.sparsity import stacked_forward
from reluthe.train import Recipe, train_mlps

FIT, LINEAR_GAP = 0.9, 0.1
GRID = 60  # points per side of the prediction grid drawn in the figure
RULE = (
    f"Fit: ReLU MLPs and the same MLPs with the identity activation (a linear model) trained on "
    f"2-D spirals, >= {MIN_SEEDS} seeds; statistic: ReLU test accuracy (mean over seeds with a "
    f"95 % interval inside [0, 1]: Wilson's on the effective number of test points, "
    f"stats.accuracy_ci) and the paired difference ReLU − linear (paired t). Growth: exact "
    f"activation-region counts in the data box (regions.count_on_plane) of randomly "
    f"initialised ReLU MLPs over a width sweep (one hidden layer) and a depth sweep (fixed "
    f"width), every seed; statistic: Spearman correlation of count with width and with depth "
    f"(seeded bootstrap 95 % interval). Supported: ReLU test "
    f"accuracy interval above {FIT}, the difference interval above {LINEAR_GAP}, and "
    f"both correlations' intervals above 0. Partly: the fit holds and only one growth holds. "
    f"Refuted: the difference interval lies below {LINEAR_GAP} (ReLU no better than linear), "
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


def _data_box(ds) -> list[float]:
    x = ds.x_train.double().numpy()
    lo, hi = x.min(0), x.max(0)
    pad = 0.05 * (hi - lo)
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]),
            float(hi[1] + pad[1])]


def _prediction_grid(weights, activation: str, box) -> list:
    """Member 0's predicted class on a GRID × GRID grid over the box (for the figure)."""
    ga, gb = np.meshgrid(np.linspace(box[0], box[1], GRID), np.linspace(box[2], box[3], GRID))
    pts = torch.as_tensor(np.stack([ga.ravel(), gb.ravel()], 1), dtype=torch.float32)
    return stacked_forward(weights, pts, activation)[0][0].argmax(-1).view(GRID, GRID).tolist()


def _sweep_shapes(p) -> list[dict]:
    shapes = [("width", w, [w]) for w in p.region_widths]
    shapes += [("depth", d, [p.region_depth_width] * d) for d in p.region_depths]
    return [{"kind": k, "value": v, "hidden": h, "bounds": _bounds(h)} for k, v, h in shapes]


@single_threaded
def measure(ctx: Context) -> dict:
    p = protocol(ctx.quick)
    ds = dataset(ctx, "spirals")
    seeds = model_seeds(ctx)
    widths = [2, *p.spiral_hidden, 2]
    recipe = Recipe(lr=3e-3, steps=p.spiral_steps, eval_every=p.spiral_steps)
    box = _data_box(ds)
    raw, nets = [], {}
    for act in ("relu", "identity"):
        ctx.log(f"C02: spirals {act}")
        res = nets[act] = train_mlps(ds, widths, seeds=seeds, recipes=recipe, activation=act,
                                     device=ctx.device)
        raw += [{"seed": s, "part": "fit", "activation": act, "train_acc": float(tr),
                 "test_acc": float(te)}
                for s, tr, te in zip(seeds, res.train_acc[:, -1], res.test_acc[:, -1])]
    shapes = _sweep_shapes(p)
    for shape in shapes:
        w0 = init_weights([2, *shape["hidden"], 2], "relu", seeds)
        raw += [{"seed": s, "part": "sweep", "kind": shape["kind"], "value": shape["value"],
                 "count": _count_plane(w0, k, box)} for k, s in enumerate(seeds)]
    ctx.log("C02: regions of the trained spiral nets")
    for stage, weights in (("init", init_weights(widths, "relu", seeds)),
                           ("trained", nets["relu"].weights)):
        raw += [{"seed": s, "part": "trained_regions", "stage": stage,
                 "count": _count_plane(weights, k, box)} for k, s in enumerate(seeds)]
    raw += [{"seed": seeds[0], "part": "prediction_grid", "activation": act,
             "grid": _prediction_grid(res.weights, act, box)} for act, res in nets.items()]
    design = {**base_design(ctx), "widths": widths, "steps": p.spiral_steps, "box": box,
              "sweeps": shapes, "trained_shape": {"hidden": list(p.spiral_hidden),
                                                  "bounds": _bounds(list(p.spiral_hidden))},
              "test_sample": {"x": ds.x_test[:300].tolist(), "y": ds.y_test[:300].tolist()},
              "n_test": {"spirals": int(len(ds.x_test))}}
    return {"design": design, "raw": raw}


def _sweeps(measured: dict) -> list[dict]:
    """The design's sweep shapes, each with the per-seed ``counts`` of its raw rows."""
    raw = measured["raw"]
    return [{**s, "counts": column(raw, "count", part="sweep", kind=s["kind"], value=s["value"])}
            for s in measured["design"]["sweeps"]]


def _evidence(measured: dict, sweeps: list[dict], growth: dict) -> dict:
    raw = measured["raw"]
    relu, linear = (column(raw, "test_acc", part="fit", activation=a)
                    for a in ("relu", "identity"))
    tr = {st: column(raw, "count", part="trained_regions", stage=st) for st in ("init", "trained")}
    n_test = measured["design"]["n_test"]["spirals"]
    return {"relu_test_acc": acc_est(relu, n_test).to_dict(),
            "linear_test_acc": acc_est(linear, n_test).to_dict(),
            "relu_minus_linear": paired(relu, linear).to_dict(),
            "rho_width": growth["width"].to_dict(), "rho_depth": growth["depth"].to_dict(),
            "mean_counts": {f"{s['kind']} {s['value']}": float(np.mean(s["counts"]))
                            for s in sweeps},
            "bounds": {f"{s['kind']} {s['value']}": s["bounds"] for s in sweeps},
            "trained_vs_init": {"init": est(tr["init"]).to_dict(),
                                "trained": est(tr["trained"]).to_dict(),
                                "serra_upper": measured["design"]["trained_shape"]["bounds"]
                                ["serra_upper"]}}


def _over_bound(measured: dict, sweeps: list[dict]) -> bool:
    """Whether a count exceeds its symbolic upper bound."""
    over = [s for s in sweeps
            if max(s["counts"]) > min(s["bounds"].get("zaslavsky", np.inf),
                                      s["bounds"]["serra_upper"])]
    trained = column(measured["raw"], "count", part="trained_regions", stage="trained")
    return bool(over) or max(trained) > measured["design"]["trained_shape"]["bounds"][
        "serra_upper"]


def _detail(measured: dict, sweeps: list[dict], growth: dict, ev: dict) -> str:
    wid = [s for s in sweeps if s["kind"] == "width"]
    dep = [s for s in sweeps if s["kind"] == "depth"]
    bound_txt = "; ".join(
        f"width {s['value']}: {np.mean(s['counts']):.0f} counted vs ≤ {s['bounds']['serra_upper']}"
        for s in wid[-1:]) + "; " + "; ".join(
        f"depth {s['value']}: {np.mean(s['counts']):.0f} vs ≤ {s['bounds']['serra_upper']}"
        f" (Montúfar lower {s['bounds'].get('montufar_lower', 'n/a')} is a best-case "
        f"construction)" for s in dep[-1:])
    tr = {st: column(measured["raw"], "count", part="trained_regions", stage=st)
          for st in ("init", "trained")}
    return (f"On 2-D spirals a ReLU MLP {measured['design']['widths']} reaches "
            f"{fmt_est(ev['relu_test_acc'], 100, 1)} % "
            f"test accuracy, {pp(ev['relu_minus_linear'])} above the same network with the "
            f"identity activation (a linear model). The number of activation regions in the data "
            f"box grows with width (Spearman {fmt_est(growth['width'], 1, 2)}) and depth "
            f"({fmt_est(growth['depth'], 1, 2)}) at init, far below the symbolic bounds "
            f"({bound_txt}); training the spiral nets moves their count from "
            f"{np.mean(tr['init']):.0f} to {np.mean(tr['trained']):.0f}.")


def decide(measured: dict) -> Outcome:
    raw = measured["raw"]
    sweeps = _sweeps(measured)
    relu, linear = (column(raw, "test_acc", part="fit", activation=a)
                    for a in ("relu", "identity"))
    few = too_few(relu, linear, *[s["counts"] for s in sweeps])
    if few is not None:
        return inconclusive(f"only {few} seed(s); the rule needs >= {MIN_SEEDS}")
    acc, diff = acc_est(relu, measured["design"]["n_test"]["spirals"]), paired(relu, linear)
    seed = measured["design"]["bootstrap_seed"]
    growth = {}
    for kind in ("width", "depth"):
        rows = [s for s in sweeps if s["kind"] == kind]
        growth[kind] = rho([s["value"] for s in rows for _ in s["counts"]],
                           [c for s in rows for c in s["counts"]], seed)
    evidence = _evidence(measured, sweeps, growth)
    wid = [s for s in sweeps if s["kind"] == "width"]
    dep = [s for s in sweeps if s["kind"] == "depth"]
    key = (f"spirals: ReLU {acc.value:.1%} vs linear {evidence['linear_test_acc']['value']:.1%} "
           f"test acc; regions in the data box {np.mean(wid[0]['counts']):.0f}→"
           f"{np.mean(wid[-1]['counts']):.0f} (width {wid[0]['value']}→{wid[-1]['value']}), "
           f"{np.mean(dep[0]['counts']):.0f}→{np.mean(dep[-1]['counts']):.0f} (depth "
           f"{dep[0]['value']}→{dep[-1]['value']})")
    detail = _detail(measured, sweeps, growth, evidence)
    if _over_bound(measured, sweeps):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "A count exceeds its symbolic upper bound: the count or the bound is "
                       "wrong, so no verdict. " + detail)
    fits = acc.low >= FIT and diff.low > LINEAR_GAP
    grows = [growth[k].has_ci and growth[k].low > 0 for k in ("width", "depth")]
    if fits and all(grows):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if diff.high < LINEAR_GAP or not any(grows) and all(
            growth[k].has_ci and growth[k].high < 0 for k in ("width", "depth")):
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    if fits and any(grows):
        which = "width" if grows[0] else "depth"
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"ReLU fits the nonlinear target, but the region count grows only with "
                       f"{which}. " + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The fit or the growth is not separated at this size. " + detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    design, raw = measured["design"], measured["raw"]
    fig, axes = new_figure(10.5, 3.6, 3)
    box = design["box"]
    xs = np.asarray(design["test_sample"]["x"])
    ys = np.asarray(design["test_sample"]["y"])
    for ax, act in zip(axes[:2], ("relu", "identity")):
        grid = select(raw, part="prediction_grid", activation=act)[0]["grid"]
        ax.imshow(np.asarray(grid), origin="lower", extent=box, cmap="coolwarm", alpha=0.35,
                  aspect="auto")
        ax.scatter(xs[:, 0], xs[:, 1], c=ys, cmap="coolwarm", s=5)
        acc = est(column(raw, "test_acc", part="fit", activation=act)).value
        ax.set_title(f"{act} MLP on spirals: test {acc:.1%}", fontsize=9)
    ax = axes[2]
    sweeps = _sweeps(measured)
    for kind, color in (("width", "tab:blue"), ("depth", "tab:orange")):
        rows = [s for s in sweeps if s["kind"] == kind]
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
