"""C21: "in autoencoders, ReLU strengthens nonlinear expressive power" (article §5.4).

The article: 自编码器: ReLU … 增强了模型的非线性表达能力. Measured: autoencoders
D → 64 → act → 8 → 64 → act → D (linear 8-unit code, linear output) on mnist1d (D = 40) and
digits (D = 64), with act = relu, tanh or identity ("linear"): the same bottleneck and the same
number of parameters in every arm, the same initial weights and batches for the same seed (so
the arms are paired by seed). Mean squared reconstruction error on the test split, divided by
the test error of PCA with 8 components fitted on the training split in closed form
(:func:`reluthe.probes.architectures.pca_reconstruction_error`). One row per (dataset,
activation, seed); the PCA errors are in ``design``.

A linear autoencoder can at best reach the PCA error (Baldi & Hornik 1989; Eckart–Young on the
training set): its ratio to PCA checks the harness. When the linear arm does not come within
5 % of PCA the optimiser has not converged and the comparison is not trusted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe import data
from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._records import column
from reluthe.claims.architectures._paired import paired_diff
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.probes.architectures import pca_reconstruction_error
from reluthe.stats import mean_ci
from reluthe.train import (
    MemberActivation,
    member_orders,
    stacked_mlp,
    stacked_mlp_init,
    train_stacked,
)

ACTIVATIONS = ("relu", "tanh", "identity")
HIDDEN, CODE, BATCH, LR = 64, 8, 128, 3e-3
DATASETS = ("mnist1d", "digits")
FULL = {"seeds": 5, "steps": 1500, "n_train": None}
QUICK = {"seeds": 2, "steps": 60, "n_train": 1000}
HARNESS_TOL = 0.05  # the linear AE must come within 5 % of the PCA test error
MARGIN = 0.02       # a difference smaller than 2 % of the PCA error is not an improvement

RULE = (
    "Autoencoders D-64-8-64-D (activation after both 64-unit layers, linear 8-unit code), relu vs "
    "tanh vs identity, same size, 5 seeds, Adam lr 3e-3, batch 128, 1500 steps, on mnist1d and "
    "digits. Statistic: test reconstruction MSE / test MSE of 8-component PCA (closed form, SVD "
    "on the training split). HARNESS: the mean linear-AE ratio must lie within 1 +- 0.05 on a "
    "dataset, else that dataset is not trusted. relu IMPROVES on a dataset if the paired 95% "
    "t-CI over seeds (the arms share init and batches) "
    "of (relu ratio - linear ratio) lies below -0.02; is WORSE if it lies above +0.02. "
    "SUPPORTED: harness holds and relu improves on both datasets. PARTLY: harness holds on both "
    "and relu improves on one. REFUTED: harness holds on both, relu improves on neither and is "
    "worse on at least one. INCONCLUSIVE: otherwise (including a failed harness) or fewer "
    f"than {MIN_SEEDS} finished seeds per arm."
)


def _forward(params, x, act):
    """x: (K, B, D) per-member inputs or shared (B, D) -> reconstructions (K, B, D): encoder
    D → 64 → 8 and decoder 8 → 64 → D, two stacked MLPs (act after the 64-unit layers)."""
    layers = [(params[f"w{i}"], params[f"b{i}"]) for i in range(4)]
    code, _ = stacked_mlp(layers[:2], x, act)
    return stacked_mlp(layers[2:], code, act)[0]


@single_threaded
def train_autoencoders(name: str, seeds: list[int], steps: int, n_train: int | None,
                       data_seed: int, device: str = "cpu") -> dict:
    """Train relu/tanh/linear autoencoders over ``seeds`` on dataset ``name`` (one stack).

    Returns ``{"rows": [...], "run": {...}}``: a row per (activation, seed) with its test and
    train MSE (test NaN for a diverged run), and what was run, with the PCA errors.
    """
    ds = data.load(name, seed=data_seed)
    xtr = ds.x_train.reshape(len(ds.x_train), -1)[:n_train]
    xte = ds.x_test.reshape(len(ds.x_test), -1)
    d = xtr.shape[1]
    members = [(a, s) for a in ACTIVATIONS for s in seeds]
    dims = (d, HIDDEN, CODE, HIDDEN, d)
    layers = stacked_mlp_init(dims, [s for _, s in members], device=device)
    params = {f"{n}{i}": t for i, pair in enumerate(layers) for n, t in zip("wb", pair)}
    act = MemberActivation([a for a, _ in members])
    orders = member_orders(len(xtr), BATCH, steps, [s for _, s in members], device=device)
    xtr_dev, xte_dev = xtr.to(device), xte.to(device)

    def mse(x):
        return ((_forward(params, x, act) - x) ** 2).mean((-2, -1))

    log = train_stacked(params, lambda step: mse(xtr_dev[orders[step - 1]]), steps=steps, lr=LR,
                        eval_every=steps, device=device,
                        evaluate=lambda step: {"test": mse(xte_dev), "train": mse(xtr_dev)})
    test, train = log.final("test"), log.final("train")
    test[log.diverged] = np.nan
    rows = [{"seed": s, "dataset": name, "activation": a, "test_mse": float(test[j]),
             "train_mse": float(train[j])} for j, (a, s) in enumerate(members)]
    run = {"input_dim": d, "steps": steps, "n_train": len(xtr),
           "n_params": int(sum(p[0].numel() for p in params.values())),
           "stack_time_s": log.time_s,
           "pca_test_mse": pca_reconstruction_error(xtr.double(), xte.double(), CODE),
           "pca_train_mse": pca_reconstruction_error(xtr.double(), xtr.double(), CODE)}
    return {"rows": rows, "run": run}


def _unit(args):
    return train_autoencoders(*args)


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    seeds = ctx.seeds("model", proto["seeds"])
    data_seed = ctx.seeds("data", 1)[0]
    ctx.log(f"C21: autoencoders {ACTIVATIONS} x {len(seeds)} seeds on {DATASETS}")
    results = ctx.map(_unit, [(n, seeds, proto["steps"], proto["n_train"], data_seed, ctx.device)
                              for n in DATASETS])
    design = {"activations": list(ACTIVATIONS), "datasets": list(DATASETS), "seeds": seeds,
              "data_seed": data_seed, "hidden": HIDDEN, "code": CODE, "lr": LR,
              "batch_size": BATCH, "runs": {n: r["run"] for n, r in zip(DATASETS, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


def _ratio_rows(m: dict, name: str) -> list[dict]:
    """The dataset's rows with ``ratio`` = test MSE / PCA test MSE."""
    pca = m["design"]["runs"][name]["pca_test_mse"]
    return [{**row, "ratio": row["test_mse"] / pca} for row in m["raw"] if row["dataset"] == name]


def _ratios(m: dict, name: str) -> dict[str, list[float]]:
    rows = _ratio_rows(m, name)
    return {a: [v for v in column(rows, "ratio", activation=a) if np.isfinite(v)]
            for a in m["design"]["activations"]}


def _findings(m: dict, name: str) -> dict:
    r = _ratios(m, name)
    n_min = min(len(v) for v in r.values())
    ratio = {a: mean_ci(v).to_dict() if v else {"value": float("nan")} for a, v in r.items()}
    if n_min < 2:  # too few finished runs for an interval (decide says inconclusive)
        return {"n_min": n_min, "ratio": ratio}
    rows = _ratio_rows(m, name)
    linear = mean_ci(r["identity"])
    harness = abs(linear.value - 1.0) <= HARNESS_TOL
    diff = paired_diff(rows, "ratio", "activation", "relu", "identity")
    tanh = paired_diff(rows, "ratio", "activation", "relu", "tanh")
    return {"n_min": n_min, "ratio": ratio,
            "harness_ok": bool(harness), "relu_minus_linear": diff.to_dict(),
            "relu_minus_tanh": tanh.to_dict(),
            "improves": bool(diff.has_ci and diff.high < -MARGIN),
            "worse": bool(diff.has_ci and diff.low > MARGIN)}


def decide(m: dict) -> Outcome:
    per = {n: _findings(m, n) for n in m["design"]["datasets"]}
    key = "; ".join(f"{n}: MSE/PCA relu {f['ratio']['relu']['value']:.3f}, tanh "
                    f"{f['ratio']['tanh']['value']:.3f}, linear "
                    f"{f['ratio']['identity']['value']:.3f}" for n, f in per.items())
    if min(f["n_min"] for f in per.values()) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Fewer than {MIN_SEEDS} finished seeds in some arm: no verdict.")
    if not all(f["harness_ok"] for f in per.values()):
        bad = [n for n, f in per.items() if not f["harness_ok"]]
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Harness check failed on {', '.join(bad)}: the linear autoencoder does "
                       f"not come within {HARNESS_TOL:.0%} of PCA, so training has not converged "
                       "and the comparison is not trusted; more steps would decide.")
    better = [n for n, f in per.items() if f["improves"]]
    tanh_note = "; ".join(f"{n}: relu - tanh = {f['relu_minus_tanh']['value']:+.3f} x PCA error"
                          for n, f in per.items())
    if len(better) == len(per):
        return Outcome(Verdict.SUPPORTED, key, per,
                       "With the same bottleneck and parameter count, relu autoencoders "
                       "reconstruct held-out data better than the linear one (= PCA) on both "
                       f"datasets. For reference, {tanh_note}.")
    if better:
        return Outcome(Verdict.PARTLY, key, per,
                       f"relu beats the linear autoencoder (PCA) only on {', '.join(better)}; "
                       "whether the nonlinearity pays depends on the data. " + tanh_note + ".")
    if any(f["worse"] for f in per.values()):
        return Outcome(Verdict.REFUTED, key, per,
                       "At equal size the relu autoencoder reconstructs held-out data no better "
                       "than PCA, and worse on "
                       + ", ".join(n for n, f in per.items() if f["worse"]) + ".")
    return Outcome(Verdict.INCONCLUSIVE, key, per,
                   "relu and linear autoencoders are within the CIs of each other; more seeds "
                   "would separate them.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    design = m["design"]
    fig, axes = new_figure(ncols=len(design["datasets"]))
    labels = ["relu", "tanh", "linear"]
    for ax, name in zip(axes, design["datasets"]):
        r = _ratios(m, name)
        ci_bars(ax, labels, [r[a] for a in design["activations"]],
                ylabel="test MSE / PCA test MSE",
                title=f"C21 {name} AE {design['runs'][name]['input_dim']}-{design['hidden']}-"
                f"{design['code']}")
        ax.axhline(1.0, color="gray", ls="--", lw=1, label="PCA, 8 components")
        ax.legend(fontsize=7)
    return [save(fig, figures_dir, "c21_autoencoder_error.png")]
