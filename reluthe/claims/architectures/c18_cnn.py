"""C18: "in CNNs, ReLU improves image-classification performance" (article §5.1).

The article: ReLU 有效地提升了模型在图像分类 … 上的性能. Measured: two small CNNs on real data,
trained identically with six activations over the same seeds (one stacked model per dataset,
see :func:`reluthe.train.train_stacked`):

* mnist1d (40 samples long, 4000/1000): Conv1d 1→16 (k5, s2, p1) → act → Conv1d 16→16 (k3, s2,
  p1) → act → Conv1d 16→16 (k3, s2, p1) → act → Linear 80→10 (the MNIST-1D paper's ConvBase
  shape, 16 instead of 25 channels to fit the CPU budget);
* digits (8×8 images, 1347/450): Conv2d 1→8 (3×3, p1) → act → Conv2d 8→16 (3×3, s2, p1) → act
  → Linear 256→10.

Adam (lr 1e-2), batch 64, torch's default init; only the activation differs between arms, and
arms with the same seed share initial weights and batch order, so differences are paired by
seed. One row per (dataset, activation, seed): final test and train accuracy (test accuracy NaN
for a diverged run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reluthe import data
from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS, proportion_est
from reluthe.claims._records import column
from reluthe.claims.architectures._paired import paired_diff
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.train import (
    MemberActivation,
    from_grouped,
    grouped_conv,
    member_generators,
    member_orders,
    stacked_affine,
    stacked_conv,
    stacked_linear,
    to_grouped,
    train_stacked,
)

ACTIVATIONS = ("relu", "gelu", "elu", "leaky_relu", "tanh", "sigmoid")
SATURATING = ("tanh", "sigmoid")
MARGIN = 0.01  # 1 percentage point of test accuracy
FULL = {"seeds": 5, "steps": {"mnist1d": 1000, "digits": 400}, "n_train": None}
QUICK = {"seeds": 2, "steps": {"mnist1d": 40, "digits": 40}, "n_train": 1000}
LR, BATCH = 1e-2, 64
# (c_out, kernel, stride, padding) per convolution, and the flattened size after them
NETS = {
    "mnist1d": {"convs": [(16, 5, 2, 1), (16, 3, 2, 1), (16, 3, 2, 1)], "flat": 16 * 5,
                "shape": (1, 40)},
    "digits": {"convs": [(8, 3, 1, 1), (16, 3, 2, 1)], "flat": 16 * 4 * 4, "shape": (1, 8, 8)},
}

RULE = (
    "Per dataset (mnist1d 1-D CNN; digits 8x8 2-D CNN), final test accuracy of relu, gelu, elu, "
    "leaky_relu(0.01), tanh, sigmoid over the same seeds (5 in the default run), identical "
    "recipe (Adam lr 1e-2, batch 64; mnist1d 1000 steps, digits 400). Arms share seeds (same "
    "init and batches): paired 95% t-CIs of the per-seed differences. relu is TOP TIER on a "
    "dataset if it has the best mean or the CI of "
    "(relu - best) reaches >= -1 pp; relu BEATS SATURATING if the CI of (relu - tanh) or "
    "(relu - sigmoid) lies above 0. SUPPORTED: top tier and beats saturating on both datasets. "
    "PARTLY: beats saturating on at least one dataset otherwise (the missing condition is "
    "named). REFUTED: on both datasets relu beats no saturating activation and the CI of "
    "(relu - best saturating) lies below +1 pp (no gain over tanh/sigmoid of 1 pp or more is "
    f"compatible with the data). INCONCLUSIVE: anything else, or fewer than {MIN_SEEDS} "
    "finished seeds per arm. relu's own accuracy is reported with a 95 % interval inside [0, 1] "
    "(Wilson's on the effective number of test examples, stats.accuracy_ci)."
)


def _forward(params: dict, x: torch.Tensor, spec: dict, act: MemberActivation) -> torch.Tensor:
    """x: (K, B, *shape) per-member inputs -> logits (K, B, 10)."""
    k = params["out_w"].shape[0]
    h = to_grouped(x)
    for i, (_, _, stride, pad) in enumerate(spec["convs"]):
        h = act(grouped_conv(h, params[f"w{i}"], params[f"b{i}"], stride, pad), dim=1)
    return stacked_affine(from_grouped(h, k), params["out_w"], params["out_b"])


def _accuracy(params, x, y, spec, act, chunk=500) -> torch.Tensor:
    k = params["out_w"].shape[0]
    correct = torch.zeros(k, device=x.device)
    for s in range(0, len(x), chunk):
        xb = x[s:s + chunk]
        logits = _forward(params, xb.expand(k, *xb.shape), spec, act)
        correct += (logits.argmax(-1) == y[s:s + chunk]).float().sum(1)
    return correct / len(x)


def _stacked_params(spec: dict, member_seeds: list[int], device: str) -> dict:
    """Stacked CNN weights: member k draws its convolutions, then the output layer, from one
    generator seeded by its model seed."""
    gens, params, c_in = member_generators(member_seeds), {}, spec["shape"][0]
    for i, (c_out, ker, _, _) in enumerate(spec["convs"]):
        kernel = (ker,) * (len(spec["shape"]) - 1)
        params[f"w{i}"], params[f"b{i}"] = stacked_conv(gens, c_out, c_in, kernel, device=device)
        c_in = c_out
    params["out_w"], params["out_b"] = stacked_linear(gens, 10, spec["flat"], device=device)
    return params


@single_threaded
def train_cnns(name: str, seeds: list[int], steps: int, n_train: int | None, data_seed: int,
               device: str = "cpu") -> dict:
    """Train the dataset's CNN with every activation over ``seeds`` as one stack.

    Returns ``{"rows": [...], "run": {...}}``: a row per (activation, seed) and what was run.
    """
    ds = data.load(name, seed=data_seed).to(device)
    spec = NETS[name]
    x_tr = ds.x_train.reshape(-1, *spec["shape"])[:n_train]
    y_tr = ds.y_train[:n_train]
    x_te, y_te = ds.x_test.reshape(-1, *spec["shape"]), ds.y_test
    members = [(a, s) for a in ACTIVATIONS for s in seeds]
    act = MemberActivation([a for a, _ in members])
    params = _stacked_params(spec, [s for _, s in members], device)
    orders = member_orders(len(x_tr), BATCH, steps, [s for _, s in members], device=device)

    def member_loss(step):
        idx = orders[step - 1]
        logits = _forward(params, x_tr[idx], spec, act)
        return F.cross_entropy(logits.transpose(1, 2), y_tr[idx], reduction="none").mean(1)

    n_eval = min(len(x_tr), 1000)
    log = train_stacked(
        params, member_loss, steps=steps, lr=LR, eval_every=steps, device=device,
        evaluate=lambda step: {"test_acc": _accuracy(params, x_te, y_te, spec, act),
                               "train_acc": _accuracy(params, x_tr[:n_eval], y_tr[:n_eval], spec,
                                                      act)})
    test, train = log.final("test_acc"), log.final("train_acc")
    test[log.diverged] = np.nan
    rows = [{"seed": s, "dataset": name, "activation": a, "test_acc": float(test[j]),
             "train_acc": float(train[j]), "diverged": bool(log.diverged[j])}
            for j, (a, s) in enumerate(members)]
    run = {"steps": steps, "n_train": len(x_tr), "n_test": len(x_te), "stack_time_s": log.time_s,
           "n_params": int(sum(p[0].numel() for p in params.values()))}
    return {"rows": rows, "run": run}


def _unit(args):
    return train_cnns(*args)


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    seeds = ctx.seeds("model", proto["seeds"])
    data_seed = ctx.seeds("data", 1)[0]
    units = [(name, seeds, proto["steps"][name], proto["n_train"], data_seed, ctx.device)
             for name in NETS]
    ctx.log(f"C18: {len(ACTIVATIONS)} activations x {len(seeds)} seeds on {list(NETS)}")
    results = ctx.map(_unit, units)
    design = {"activations": list(ACTIVATIONS), "datasets": list(NETS), "seeds": seeds,
              "data_seed": data_seed, "lr": LR, "batch_size": BATCH,
              "runs": {name: r["run"] for name, r in zip(NETS, results)},
              "n_test": {name: r["run"]["n_test"] for name, r in zip(NETS, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


def _finite(raw: list[dict], name: str, activation: str) -> list[float]:
    values = column(raw, "test_acc", dataset=name, activation=activation)
    return [v for v in values if np.isfinite(v)]


def _dataset_findings(raw: list[dict], name: str, activations: list[str], n_test: int) -> dict:
    clean = {a: _finite(raw, name, a) for a in activations}
    means = {a: float(np.mean(v)) if v else float("nan") for a, v in clean.items()}
    finite = [a for a in means if np.isfinite(means[a])]
    best = max(finite, key=means.get) if finite else "relu"
    n_min = min(len(v) for v in clean.values())
    if n_min < 2:  # too few finished runs for an interval (decide says inconclusive)
        return {"n_min": n_min, "means": means, "best": best}

    def relu_minus(other):
        return paired_diff(raw, "test_acc", "activation", "relu", other, dataset=name)

    vs_best = relu_minus(best)
    vs_sat = {s: relu_minus(s) for s in SATURATING}
    best_sat = max(SATURATING, key=means.get)
    top = best == "relu" or (vs_best.has_ci and vs_best.high >= -MARGIN)
    beats = any(e.has_ci and e.low > 0 for e in vs_sat.values())
    no_gain = vs_sat[best_sat].has_ci and vs_sat[best_sat].high < MARGIN
    return {
        "n_min": n_min, "means": means, "best": best, "best_saturating": best_sat,
        "relu": proportion_est(clean["relu"], n_test).to_dict(),
        "relu_minus_best": vs_best.to_dict(),
        "relu_minus": {s: e.to_dict() for s, e in vs_sat.items()},
        "top_tier": bool(top), "beats_saturating": bool(beats), "no_gain_over_saturating":
            bool(no_gain),
    }


def _partly(per: dict, beats: list[str]) -> str:
    missing = []
    if len(beats) < len(per):
        missing.append(f"relu's gain over tanh/sigmoid shows only on {', '.join(beats)}")
    for n, f in per.items():
        if not f["top_tier"]:
            missing.append(f"on {n} {f['best']} is more accurate than relu by more than "
                           f"1 pp (CI of the difference "
                           f"{f['relu_minus_best']['low']:+.3f}..."
                           f"{f['relu_minus_best']['high']:+.3f})")
    return ("relu improves on saturating activations, but " + "; ".join(missing)
            + ". 'ReLU improves CNN accuracy' holds relative to tanh/sigmoid, "
            "not against every modern alternative.")


def decide(m: dict) -> Outcome:
    design = m["design"]
    per = {name: _dataset_findings(m["raw"], name, design["activations"],
                                   design["n_test"][name])
           for name in design["datasets"]}
    key = "; ".join(f"{n}: relu {f['means']['relu']:.1%} vs best {f['best']} "
                    f"{f['means'][f['best']]:.1%}, tanh {f['means']['tanh']:.1%}"
                    for n, f in per.items())
    if min(f["n_min"] for f in per.values()) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Fewer than {MIN_SEEDS} finished seeds in some arm: no verdict.")
    top = [n for n, f in per.items() if f["top_tier"]]
    beats = [n for n, f in per.items() if f["beats_saturating"]]
    gaps = "; ".join(
        f"{n}: relu - {f['best']} = {100 * f['relu_minus_best']['value']:+.1f} pp "
        f"[{100 * f['relu_minus_best']['low']:+.1f}, {100 * f['relu_minus_best']['high']:+.1f}]"
        for n, f in per.items() if f["best"] != "relu")
    if len(top) == len(per) and len(beats) == len(per):
        return Outcome(Verdict.SUPPORTED, key, per,
                       "On every dataset relu is significantly more accurate than a saturating "
                       "activation, and a gap to the best activation of 1 pp or less is "
                       "compatible with the data" + (f" ({gaps})" if gaps else "") + ".")
    if beats:
        return Outcome(Verdict.PARTLY, key, per, _partly(per, beats))
    if all(f["no_gain_over_saturating"] for f in per.values()):
        return Outcome(Verdict.REFUTED, key, per,
                       "On both datasets relu is not more accurate than tanh/sigmoid, and a gain "
                       "of 1 pp or more is excluded by the CIs.")
    return Outcome(Verdict.INCONCLUSIVE, key, per,
                   "relu is not significantly more accurate than tanh/sigmoid, but the CIs do not "
                   "exclude a gain of 1 pp; more seeds or longer training would separate them.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    design = m["design"]
    acts = design["activations"]
    fig, axes = new_figure(ncols=len(design["datasets"]))
    for ax, name in zip(axes, design["datasets"]):
        accs = [column(m["raw"], "test_acc", dataset=name, activation=a) for a in acts]
        ci_bars(ax, acts, accs, ylabel="test accuracy (%)",
                title=f"C18 {name} CNN ({design['runs'][name]['steps']} steps, "
                f"{len(design['seeds'])} seeds)", scale=100, n_items=design["n_test"][name])
        vals = [v * 100 for vs in accs for v in vs if np.isfinite(v)]
        if vals:
            ax.set_ylim(max(0.0, min(vals) - 5), min(100.0, max(vals) + 3))
    return [save(fig, figures_dir, "c18_cnn_accuracy.png")]
