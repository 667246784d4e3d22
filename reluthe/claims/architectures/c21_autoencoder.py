"""C21: "in autoencoders, ReLU strengthens nonlinear expressive power" (article §5.4).

The article: 自编码器: ReLU … 增强了模型的非线性表达能力. Measured: autoencoders
D → 64 → act → c → 64 → act → D (linear c-unit code, linear output) with act = relu, tanh or
identity ("linear"), at two bottleneck sizes c, on mnist1d (D = 40) and on real MNIST digits
(mnist5k, 2×2 mean-pooled to 14×14, D = 196); digits (D = 64) is added under ``--full``. Arms
of one cell have the same bottleneck and the same number of parameters.

Each *unit* is an independent replicate: its own data split (data seed from the ``data``
stream, 20 % of the training portion held out for validation) and its own model seed (initial
weights and minibatch order, shared by the arms of the unit, so arms are paired by unit). Every
(activation, learning rate) arm is trained on every unit as one stacked model per (dataset,
bottleneck) (:mod:`reluthe.claims.architectures._cnn`) and read at its best-validation
checkpoint; per activation the learning rate with the lowest mean validation error is kept
(in :func:`decide`, from validation only). The statistic is the test MSE divided by the test
error of c-component PCA fitted on the unit's training split in closed form
(:func:`reluthe.probes.architectures.pca_reconstruction_error`).

A linear autoencoder can at best reach the PCA error (Baldi & Hornik 1989; Eckart–Young on the
training set): its ratio to PCA checks the harness. When the linear arm does not come within
5 % of PCA the optimiser has not converged and the cell is not trusted.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import torch

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._records import select
from reluthe.claims.architectures._cnn import (
    member_batch,
    paired_ci,
    stack_units,
    train_best_val,
)
from reluthe.claims.architectures._paired import paired_diff, paired_values
from reluthe.claims.architectures._plateau import late_share, notes
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.probes.architectures import pca_reconstruction_error
from reluthe.stats import family_ci, mean_ci
from reluthe.train import MemberActivation, member_orders, stacked_mlp, stacked_mlp_init

ACTIVATIONS = ("relu", "tanh", "identity")
LABELS = {"relu": "relu", "tanh": "tanh", "identity": "linear"}
HIDDEN, VAL_SIZE = 64, 0.2
OPTIONS = {"mnist1d": {}, "mnist5k": {"size": 14}, "digits": {}}
PROTOCOLS = {
    "quick": {"units": 2, "codes": (4, 16), "lrs": (3e-3, 1e-2), "steps": 40, "eval_every": 20,
              "batch": 64, "n_train": 500, "datasets": ("mnist1d", "mnist5k")},
    "default": {"units": 3, "codes": (4, 16), "lrs": (3e-3, 1e-2), "steps": 500,
                "eval_every": 50, "batch": 64, "n_train": None,
                "datasets": ("mnist1d", "mnist5k")},
    "full": {"units": 5, "codes": (4, 16), "lrs": (3e-3, 1e-2), "steps": 2000,
             "eval_every": 100, "batch": 64, "n_train": None,
             "datasets": ("mnist1d", "mnist5k", "digits")},
}
_D = PROTOCOLS["default"]
HARNESS_TOL = 0.05  # the linear AE must come within 5 % of the PCA test error
MARGIN = 0.02       # a difference smaller than 2 % of the PCA error is not an improvement

RULE = (
    "Autoencoders D-64-c-64-D (activation after both 64-unit layers, linear c-unit code), relu "
    "vs tanh vs identity at equal size, on mnist1d (D = 40) and mnist5k 14x14 (D = 196; digits "
    f"added under --full), bottlenecks c in {_D['codes']}; {_D['units']} independent units in "
    "the default run (a unit = its own data split and model seed), each arm trained with each "
    f"Adam learning rate of {_D['lrs']}, batch {_D['batch']}, {_D['steps']} steps "
    f"({PROTOCOLS['full']['steps']} under --full), read at its best-validation checkpoint "
    f"(validation MSE every {_D['eval_every']} steps). A run whose loss turns non-finite is "
    "DIVERGED: named in the evidence and left out. Per (cell, activation) the learning rate "
    "with the lowest mean best validation MSE over its finished units is kept (a learning rate "
    "with fewer than min(3, units) finished units is not eligible). Statistic: test MSE / test "
    "MSE of c-component PCA (closed form, SVD on the unit's training split). HARNESS: in each "
    "(dataset, c) cell the mean linear-AE ratio must lie within 1 +- 0.05, else that cell is "
    "not trusted. relu - linear ratios, paired by unit, form one family over the cells with "
    "Bonferroni-adjusted 95% t intervals (stats.family_ci); relu IMPROVES in a cell if its "
    "interval lies below -0.02, is WORSE if it lies above +0.02. SUPPORTED: harness holds and "
    "relu improves in every cell. PARTLY: harness holds in every cell and relu improves in at "
    "least one. REFUTED: harness holds in every cell, relu improves in none and is worse in at "
    f"least one. INCONCLUSIVE: otherwise (including a failed harness) or fewer than {MIN_SEEDS} "
    "finished units in an arm. relu - tanh is reported per cell for reference (paired 95% t "
    "interval), and so is the share of kept runs whose best-validation step lies in the last "
    "20 % of training (not yet at a plateau), without changing the verdict."
)


def _forward(params: dict, x: torch.Tensor, act: MemberActivation) -> torch.Tensor:
    """x: (K, B, D) per-member inputs -> reconstructions (K, B, D): encoder D → 64 → c and
    decoder c → 64 → D, two stacked MLPs (act after the 64-unit layers)."""
    layers = [(params[f"w{i}"], params[f"b{i}"]) for i in range(4)]
    code, _ = stacked_mlp(layers[:2], x, act)
    return stacked_mlp(layers[2:], code, act)[0]


def _mse(params, x, unit, act, chunk: int = 500) -> torch.Tensor:
    """Mean squared reconstruction error (K,) of member k on its unit's rows of x (U, N, D)."""
    total = torch.zeros(len(unit), device=x.device)
    for s in range(0, x.shape[1], chunk):
        xb = x[unit, s:s + chunk]
        total += ((_forward(params, xb, act) - xb) ** 2).sum((-2, -1))
    return total / (x.shape[1] * x.shape[2])


@single_threaded
def train_autoencoders(name: str, code: int, model_seeds: list[int], data_seeds: list[int],
                       proto: dict, device: str = "cpu") -> dict:
    """Train relu/tanh/linear autoencoders with bottleneck ``code`` on every unit (one stack).

    Unit ``u`` is (``data_seeds[u]``, ``model_seeds[u]``). Returns ``{"rows": [...], "run":
    {...}}``: a row per (activation, lr, unit) with the best validation MSE and its step, test
    and train MSE at that checkpoint, the unit's PCA test error and whether the run diverged.
    """
    splits = stack_units(name, data_seeds, val_size=VAL_SIZE, n_train=proto["n_train"],
                         device=device, **OPTIONS[name])
    splits = {k: v.reshape(*v.shape[:2], -1) for k, v in splits.items() if k.startswith("x")}
    x_tr = splits["x_train"]
    d = x_tr.shape[2]
    members = [(a, lr, u) for a in ACTIVATIONS for lr in proto["lrs"]
               for u in range(len(model_seeds))]
    unit = torch.tensor([u for _, _, u in members], device=device)
    seeds = [model_seeds[u] for _, _, u in members]
    layers = stacked_mlp_init((d, HIDDEN, code, HIDDEN, d), seeds, device=device)
    params = {f"{n}{i}": t for i, pair in enumerate(layers) for n, t in zip("wb", pair)}
    act = MemberActivation([a for a, _, _ in members])
    orders = member_orders(x_tr.shape[1], proto["batch"], proto["steps"], seeds, device=device)

    def member_loss(step: int) -> torch.Tensor:
        xb = member_batch(x_tr, unit, orders[step - 1])
        return ((_forward(params, xb, act) - xb) ** 2).mean((-2, -1))

    log, best, best_step, best_val = train_best_val(
        params, member_loss, lambda: _mse(params, splits["x_val"], unit, act),
        steps=proto["steps"], lr=[lr for _, lr, _ in members], eval_every=proto["eval_every"],
        higher_is_better=False, device=device)
    with torch.no_grad():
        test = _mse(best, splits["x_test"], unit, act).cpu().numpy()
        train = _mse(best, x_tr, unit, act).cpu().numpy()
    xtr64, xte64 = x_tr.double().cpu(), splits["x_test"].double().cpu()
    pca = [pca_reconstruction_error(xtr64[u], xte64[u], code) for u in range(len(model_seeds))]
    rows = [{"seed": model_seeds[u], "data_seed": data_seeds[u], "dataset": name, "code": code,
             "activation": a, "lr": lr, "val_mse": float(best_val[j]),
             "best_step": int(best_step[j]), "test_mse": float(test[j]),
             "train_mse": float(train[j]), "pca_test_mse": pca[u],
             "diverged": bool(log.diverged[j])}
            for j, (a, lr, u) in enumerate(members)]
    run = {"input_dim": d, "n_train": int(x_tr.shape[1]), "n_members": len(members),
           "n_params": int(sum(p[0].numel() for p in params.values())),
           "stack_time_s": log.time_s}
    return {"rows": rows, "run": run}


def _unit(args):
    return train_autoencoders(*args)


def measure(ctx: Context) -> dict:
    proto = PROTOCOLS[ctx.mode]
    seeds = ctx.seeds("model", proto["units"])
    data_seeds = ctx.seeds("data", proto["units"])
    cells = [(n, c) for n in proto["datasets"] for c in proto["codes"]]
    ctx.log(f"C21: autoencoders {ACTIVATIONS} x {len(proto['lrs'])} lrs x {len(seeds)} units "
            f"on {cells}")
    results = ctx.map(_unit, [(n, c, seeds, data_seeds, proto, ctx.device) for n, c in cells])
    design = {"activations": list(ACTIVATIONS), "datasets": list(proto["datasets"]),
              "codes": list(proto["codes"]), "seeds": seeds, "data_seeds": data_seeds,
              "hidden": HIDDEN, "lrs": list(proto["lrs"]), "steps": proto["steps"],
              "eval_every": proto["eval_every"], "batch_size": proto["batch"],
              "val_size": VAL_SIZE,
              "runs": {f"{n} c={c}": r["run"] for (n, c), r in zip(cells, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


def _finished(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r["diverged"] and np.isfinite(r["test_mse"])]


def chosen_lr(design: dict, raw: list[dict], activation: str, **cell) -> float | None:
    """The learning rate of ``activation`` in ``cell`` with the lowest mean best-validation MSE
    over its finished units (the first on ties); None if no learning rate has
    min(``MIN_SEEDS``, units) finished units."""
    need, scores = min(MIN_SEEDS, len(design["seeds"])), {}
    for lr in design["lrs"]:
        rows = _finished(select(raw, activation=activation, lr=lr, **cell))
        vals = [r["val_mse"] for r in rows]
        if len(vals) >= need:
            scores[lr] = float(np.mean(vals))
    return min(scores, key=scores.get) if scores else None


def _arm_rows(m: dict, name: str, code: int) -> dict[str, list[dict]]:
    """Per activation, the finished rows of its chosen learning rate, with ``ratio`` = test MSE
    / PCA test MSE (empty if no learning rate is eligible)."""
    design, out = m["design"], {}
    for a in design["activations"]:
        lr = chosen_lr(design, m["raw"], a, dataset=name, code=code)
        rows = [] if lr is None else _finished(select(m["raw"], dataset=name, code=code,
                                                      activation=a, lr=lr))
        out[a] = [{**r, "ratio": r["test_mse"] / r["pca_test_mse"]} for r in rows]
    return out


def _cells(m: dict) -> list[tuple[str, int]]:
    return [(n, c) for n in m["design"]["datasets"] for c in m["design"]["codes"]]


def _findings(m: dict) -> dict[str, dict]:
    """Per cell ``"<dataset> c=<code>"``: ratios, chosen learning rates, harness, relu - linear
    (Bonferroni family over the cells) and relu - tanh."""
    arms = {cell: _arm_rows(m, *cell) for cell in _cells(m)}
    pairs = {cell: paired_values(a["relu"] + a["identity"], "ratio", "activation", "relu",
                                 "identity") for cell, a in arms.items()}
    fam = dict(zip(arms, family_ci([partial(paired_ci, *pairs[c]) for c in arms])))
    out = {}
    for (name, code), a in arms.items():
        cell = dict(dataset=name, code=code)
        n_min = min(len(rows) for rows in a.values())
        ratio = {act: mean_ci([r["ratio"] for r in rows]).to_dict() if rows
                 else {"value": float("nan")} for act, rows in a.items()}
        kept = [r for rows in a.values() for r in rows]
        f = {"n_min": n_min, "ratio": ratio,
             "late_share": late_share(kept, m["design"]["steps"]),
             "lr": {act: chosen_lr(m["design"], m["raw"], act, **cell) for act in a},
             "diverged": sorted(f"{r['activation']} lr={r['lr']:g} unit seed {r['seed']}"
                                for r in select(m["raw"], **cell) if r["diverged"])}
        if n_min >= 2:
            diff = fam[(name, code)]
            f.update({
                "harness_ok": bool(abs(ratio["identity"]["value"] - 1.0) <= HARNESS_TOL),
                "relu_minus_linear": diff.to_dict(),
                "relu_minus_tanh": paired_diff(a["relu"] + a["tanh"], "ratio", "activation",
                                               "relu", "tanh").to_dict(),
                "improves": bool(diff.has_ci and diff.high < -MARGIN),
                "worse": bool(diff.has_ci and diff.low > MARGIN)})
        out[f"{name} c={code}"] = f
    return out



def decide(m: dict) -> Outcome:
    per = _findings(m)
    key = "; ".join(f"{c}: MSE/PCA relu {f['ratio']['relu']['value']:.3f}, tanh "
                    f"{f['ratio']['tanh']['value']:.3f}, linear "
                    f"{f['ratio']['identity']['value']:.3f}" for c, f in per.items())
    note = notes(per)
    if min(f["n_min"] for f in per.values()) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Fewer than {MIN_SEEDS} finished units in some arm: no verdict." + note)
    bad = [c for c, f in per.items() if not f["harness_ok"]]
    if bad:
        return Outcome(Verdict.INCONCLUSIVE, key, per,
                       f"Harness check failed in {', '.join(bad)}: the linear autoencoder does "
                       f"not come within {HARNESS_TOL:.0%} of PCA, so training has not converged "
                       "and the comparison is not trusted; more steps would decide." + note)
    better = [c for c, f in per.items() if f["improves"]]
    tanh_note = "; ".join(f"{c}: relu - tanh = {f['relu_minus_tanh']['value']:+.3f} x PCA "
                          "error" for c, f in per.items())
    if len(better) == len(per):
        return Outcome(Verdict.SUPPORTED, key, per,
                       "With the same bottleneck and parameter count, relu autoencoders "
                       "reconstruct held-out data better than the linear one (= PCA) in every "
                       f"dataset and bottleneck. For reference, {tanh_note}." + note)
    if better:
        return Outcome(Verdict.PARTLY, key, per,
                       f"relu beats the linear autoencoder (PCA) only in {', '.join(better)}; "
                       "whether the nonlinearity pays depends on the data and the bottleneck. "
                       + tanh_note + "." + note)
    if any(f["worse"] for f in per.values()):
        return Outcome(Verdict.REFUTED, key, per,
                       "At equal size the relu autoencoder reconstructs held-out data no better "
                       "than PCA in any cell, and worse in "
                       + ", ".join(c for c, f in per.items() if f["worse"]) + "." + note)
    return Outcome(Verdict.INCONCLUSIVE, key, per,
                   "relu and linear autoencoders are within the intervals of each other; more "
                   "units would separate them." + note)


def plot(m: dict, figures_dir: Path) -> list[str]:
    design = m["design"]
    cells = _cells(m)
    fig, axes = new_figure(ncols=len(design["codes"]), nrows=len(design["datasets"]),
                           size=(4.0, 3.2))
    for ax, (name, code) in zip(axes, cells):
        arms = _arm_rows(m, name, code)
        lrs = {a: chosen_lr(design, m["raw"], a, dataset=name, code=code)
               for a in design["activations"]}
        labels = [LABELS[a] + ("" if lrs[a] is None else f" (lr {lrs[a]:g})")
                  for a in design["activations"]]
        ci_bars(ax, labels, [[r["ratio"] for r in arms[a]] for a in design["activations"]],
                ylabel="test MSE / PCA test MSE",
                highlight=labels[design["activations"].index("relu")],
                title=f"C21 {name} autoencoder, {code}-unit code\n{design['steps']} steps, "
                f"{len(design['seeds'])} units, best-validation checkpoint")
        ax.axhline(1.0, color="gray", ls="--", lw=1, label=f"PCA, {code} components")
        ax.legend(fontsize=7)
    return [save(fig, figures_dir, "c21_autoencoder_error.png")]
