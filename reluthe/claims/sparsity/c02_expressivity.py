"""C02: ReLU lets a network learn nonlinear maps, with more linear regions as it grows.

The article: "This simple nonlinearity lets neural networks learn complex nonlinear functions".
Measured on 2-D spirals (3 data seeds × 3 model seeds, every activation with its own learning
rate chosen on validation, read at its best-validation checkpoint):

* the fit: test accuracy of ReLU MLPs against the same MLPs with the identity activation (a
  linear model) and with tanh (a strong non-ReLU baseline);
* the expressivity the fit uses: exact activation-region counts in the data box
  (:func:`reluthe.regions.count_on_plane`) of the trained ReLU nets against the same nets at
  init, unit by unit. That counts grow with width and depth at init holds by construction
  (every hidden unit adds a line through the box); the init sweeps are reported beside the
  symbolic bounds of :mod:`reluthe.symbolic.bounds`, and a count above its bound voids the
  verdict.

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
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._records import column, select
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import (
    est,
    family,
    fmt_est,
    pp,
    rho,
    too_few_seeds,
    unit_diffs,
)
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.probes.sparsity import stacked_forward
from reluthe.protocol import select_lr_across
from reluthe.stats import compare, hierarchical_bootstrap_ci
from reluthe.train import Recipe, stacked_mlp_init

FIT, LINEAR_GAP, MARGIN = 0.9, 0.1, 0.01
GRID = 60  # points per side of the prediction grid drawn in the figure
ACTIVATIONS = ("relu", "tanh", "identity")
SPIRALS = {"n_samples": 1000}
# (hidden widths of the fitted nets, steps, init sweeps: widths, depths, width of the depth sweep)
_SIZES = {True: ((32, 32), 200, (4, 8, 16), (1, 2), 8),
          False: ((64, 64), 1000, (4, 8, 16, 32, 64), (1, 2, 3, 4), 16)}
RULE = (
    f"Units: (data seed, model seed) pairs, >= {MIN_SEEDS} × >= {MIN_SEEDS}, on 2-D spirals; "
    f"ReLU, tanh and identity (linear) MLPs of one shape, each with its own learning rate "
    f"chosen on validation, read at the best-validation checkpoint. Statistics (two-stage "
    f"cluster bootstrap over data seeds, then model seeds): ReLU test accuracy; the paired "
    f"differences ReLU − linear and ReLU − tanh (a family of two: Bonferroni intervals, Holm "
    f"p); and the paired log ratio of exact activation-region counts in the data box, trained "
    f"ReLU net / the same net at init. Supported: ReLU test accuracy interval above {FIT}, "
    f"ReLU − linear above {LINEAR_GAP}, ReLU not below tanh by more than the margin "
    f"{MARGIN:.0%} (compare: not 'less'), and the trained/init count ratio above 1. Partly: "
    f"the fit conditions (first two) hold, another fails. Refuted: ReLU − linear interval "
    f"below {LINEAR_GAP} (ReLU no better than a linear model). Inconclusive: fewer than "
    f"{MIN_SEEDS} data or model seeds, a count above its symbolic upper bound (serra_upper; "
    f"zaslavsky for one layer), or anything else. Reported, not judged: the init sweeps' "
    f"Spearman correlations of count with width and depth (growth at init holds by "
    f"construction) and the symbolic bounds."
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


def _numpy_layers(weights, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Member ``k`` of stacked weights as float64 ``(W, b)`` numpy pairs (copies)."""
    return [(w[k].detach().double().cpu().numpy().copy(),
             b[k].detach().double().cpu().numpy().copy()) for w, b in weights]


def _count_plane(weights, k: int, box) -> int:
    return int(regions.count_on_plane(_numpy_layers(weights, k), np.zeros(2),
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


def _sweep_shapes(quick: bool) -> list[dict]:
    _, _, widths, depths, depth_width = _SIZES[quick]
    shapes = [("width", w, [w]) for w in widths]
    shapes += [("depth", d, [depth_width] * d) for d in depths]
    return [{"kind": k, "value": v, "hidden": h, "bounds": _bounds(h)} for k, v, h in shapes]


def _fit_rows(ctx: Context, sets, widths, recipe) -> tuple[list[dict], dict]:
    """Test accuracy at the best-validation checkpoint of every activation's members, and each
    activation's selections (one per data seed)."""
    raw, sels = [], {}
    for act in ACTIVATIONS:
        ctx.log(f"C02: spirals {act}")
        sels[act] = select_lr_across(sets, widths, lrs=_arms.lrs(ctx.quick),
                                     seeds=_arms.model_seeds(ctx), recipe=recipe,
                                     activation=act, device=ctx.device)
        for d, one in zip(_arms.data_seeds(ctx), sels[act]):
            best = one.checkpoint
            raw += [{"part": "fit", "activation": act, "data_seed": int(d), "seed": int(s),
                     "lr": one.lr,
                     "diverged": not bool(np.isfinite(one.result.train_loss[k, -1])),
                     "train_acc": float(best.train_acc[k]), "test_acc": float(best.test_acc[k])}
                    for k, s in enumerate(one.result.seeds)]
    return raw, sels


@single_threaded
def measure(ctx: Context) -> dict:
    hidden, steps, *_ = _SIZES[ctx.quick]
    sets = [_arms.load("spirals", d, (*sorted(SPIRALS.items()), ("val_size", _arms.VAL_SIZE)))
            for d in _arms.data_seeds(ctx)]
    widths = [2, *hidden, 2]
    recipe = Recipe(steps=steps, eval_every=max(1, steps // 10))
    raw, sels = _fit_rows(ctx, sets, widths, recipe)
    box = _data_box(sets[0])
    seeds = _arms.model_seeds(ctx)
    shapes = _sweep_shapes(ctx.quick)
    for shape in shapes:
        w0 = stacked_mlp_init([2, *shape["hidden"], 2], seeds)
        raw += [{"seed": s, "part": "sweep", "kind": shape["kind"], "value": shape["value"],
                 "count": _count_plane(w0, k, box)} for k, s in enumerate(seeds)]
    ctx.log("C02: regions of the trained spiral nets")
    w_init = stacked_mlp_init(widths, seeds)
    for d, one, ds in zip(_arms.data_seeds(ctx), sels["relu"], sets):
        own = _data_box(ds)
        for stage, weights in (("init", w_init), ("trained", one.result.best_val_weights)):
            raw += [{"part": "trained_regions", "stage": stage, "data_seed": int(d),
                     "seed": int(s), "count": _count_plane(weights, k, own)}
                    for k, s in enumerate(seeds)]
    raw += [{"seed": seeds[0], "part": "prediction_grid", "activation": act,
             "grid": _prediction_grid(sels[act][0].result.best_val_weights, act, box)}
            for act in ("relu", "identity")]
    design = {"quick": ctx.quick, "device": ctx.device, "data_seeds": _arms.data_seeds(ctx),
              "model_seeds": seeds, "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
              "lrs": list(_arms.lrs(ctx.quick)), "widths": widths, "steps": steps,
              "spirals": SPIRALS, "box": box, "sweeps": shapes,
              "trained_shape": {"hidden": list(hidden), "bounds": _bounds(list(hidden))},
              "test_sample": {"x": sets[0].x_test[:300].tolist(),
                              "y": sets[0].y_test[:300].tolist()},
              "n_test": {"spirals": int(len(sets[0].x_test))}}
    return {"design": design, "raw": raw}


def _sweeps(measured: dict) -> list[dict]:
    """The design's sweep shapes, each with the per-seed ``counts`` of its raw rows."""
    raw = measured["raw"]
    return [{**s, "counts": column(raw, "count", part="sweep", kind=s["kind"], value=s["value"])}
            for s in measured["design"]["sweeps"]]


def _fit(raw, act: str) -> list[dict]:
    return select(raw, part="fit", activation=act)


def _usable(row) -> bool:
    return not row["diverged"]


def _log_count_ratio(raw, seed: int):
    """log(count of the trained ReLU net / count of the same net at init), unit by unit."""
    init = {(r["data_seed"], r["seed"]): r["count"] for r in
            select(raw, part="trained_regions", stage="init")}
    pairs = [(np.log(r["count"] / init[(r["data_seed"], r["seed"])]), r["data_seed"])
             for r in select(raw, part="trained_regions", stage="trained")]
    return hierarchical_bootstrap_ci([p for p, _ in pairs], [c for _, c in pairs], seed=seed)


def _over_bound(measured: dict, sweeps: list[dict]) -> bool:
    """Whether a count exceeds its symbolic upper bound."""
    over = [s for s in sweeps
            if max(s["counts"]) > min(s["bounds"].get("zaslavsky", np.inf),
                                      s["bounds"]["serra_upper"])]
    trained = column(measured["raw"], "count", part="trained_regions")
    return bool(over) or max(trained) > measured["design"]["trained_shape"]["bounds"][
        "serra_upper"]


def _growth(sweeps, seed: int) -> dict:
    out = {}
    for kind in ("width", "depth"):
        rows = [s for s in sweeps if s["kind"] == kind]
        out[kind] = rho([s["value"] for s in rows for _ in s["counts"]],
                        [c for s in rows for c in s["counts"]], seed)
    return out


def _detail(measured, sweeps, growth, acc, vs_linear, vs_tanh, ratio) -> str:
    wid = [s for s in sweeps if s["kind"] == "width"]
    dep = [s for s in sweeps if s["kind"] == "depth"]
    tr = {st: column(measured["raw"], "count", part="trained_regions", stage=st)
          for st in ("init", "trained")}
    return (f"On 2-D spirals a ReLU MLP {measured['design']['widths']} reaches "
            f"{fmt_est(acc, 100, 1)} % test accuracy, {pp(vs_linear)} above the same network "
            f"with the identity activation (a linear model) and {pp(vs_tanh)} against tanh. "
            f"Training multiplies the activation regions in the data box by "
            f"{np.exp(ratio.value):.2f} (log ratio {fmt_est(ratio, 1, 2)}; mean "
            f"{np.mean(tr['init']):.0f} at init, {np.mean(tr['trained']):.0f} trained). At "
            f"init the count grows with width (Spearman {fmt_est(growth['width'], 1, 2)}: "
            f"{np.mean(wid[0]['counts']):.0f}→{np.mean(wid[-1]['counts']):.0f}) and depth "
            f"({fmt_est(growth['depth'], 1, 2)}: {np.mean(dep[0]['counts']):.0f}→"
            f"{np.mean(dep[-1]['counts']):.0f}), as it must by construction, far below the "
            f"symbolic bounds (width {wid[-1]['value']}: ≤ {wid[-1]['bounds']['serra_upper']}).")


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    few = too_few_seeds(design)
    if few is not None:
        return few
    seed = design["bootstrap_seed"]
    sweeps = _sweeps(measured)
    relu = [r for r in _fit(raw, "relu") if _usable(r)]
    acc = hierarchical_bootstrap_ci([r["test_acc"] for r in relu],
                                    [r["data_seed"] for r in relu], seed=seed)
    pairs = [unit_diffs(_fit(raw, "relu"), _fit(raw, other), "test_acc", _usable)
             for other in ("identity", "tanh")]
    vs_linear, vs_tanh = family([p[:2] for p in pairs], seed)
    ratio = _log_count_ratio(raw, seed)
    growth = _growth(sweeps, seed)
    evidence = {"relu_test_acc": acc.to_dict(), "relu_minus_linear": vs_linear.to_dict(),
                "relu_minus_tanh": vs_tanh.to_dict(), "vs_tanh": compare(vs_tanh, MARGIN),
                "excluded_units": {"identity": pairs[0][2], "tanh": pairs[1][2]},
                "log_count_ratio_trained_init": ratio.to_dict(),
                "rho_width_at_init": growth["width"].to_dict(),
                "rho_depth_at_init": growth["depth"].to_dict(),
                "lrs": {a: _fit(raw, a)[0]["lr"] for a in ACTIVATIONS},
                "bounds": {f"{s['kind']} {s['value']}": s["bounds"] for s in sweeps}}
    key = (f"spirals: ReLU {acc.value:.1%} test acc, {pp(vs_linear)} vs linear, "
           f"{pp(vs_tanh)} vs tanh; regions in the data box ×{np.exp(ratio.value):.2f} "
           f"trained/init")
    detail = _detail(measured, sweeps, growth, acc, vs_linear, vs_tanh, ratio)
    if _over_bound(measured, sweeps):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "A count exceeds its symbolic upper bound: the count or the bound is "
                       "wrong, so no verdict. " + detail)
    if vs_linear.has_ci and vs_linear.high < LINEAR_GAP:
        return Outcome(Verdict.REFUTED, key, evidence, detail)
    fits = acc.has_ci and acc.low >= FIT and vs_linear.has_ci and vs_linear.low > LINEAR_GAP
    not_behind = compare(vs_tanh, MARGIN) != "less"
    grows = ratio.has_ci and ratio.low > 0
    if fits and not_behind and grows:
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if fits:
        missing = [m for m, ok in (("ReLU fits worse than tanh", not_behind),
                                   ("training does not add regions near the data", grows))
                   if not ok]
        return Outcome(Verdict.PARTLY, key, evidence,
                       "ReLU fits the nonlinear target a linear model cannot, but "
                       + " and ".join(missing) + ". " + detail)
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The fit is not separated at this size. " + detail)


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
