"""C03: in a ReLU network some units are active and others inactive on a given input.

The article: ReLU outputs exactly zero for negative inputs, so "some neurons are fully activated
while others stay inactive" (sparse activation). Measured on the family's shared plain
activation arms (:func:`reluthe.claims.sparsity._arms.arm`: learning rate chosen per activation
on validation, 3 data seeds × 3 model seeds, read at every member's best-validation checkpoint)
on the main datasets (MNIST-1D; real MNIST, 5,000 digits at 14×14) and the sanity dataset
(scikit-learn digits): per hidden layer the fraction of exactly-zero outputs on test inputs,
the same at init (same weights as the members start from), and dead units (zero on every
training input).

Two reported comparisons stand beside the rule:

* the other activations' exact zeros, *measured*, not assumed: in float32 ``F.gelu`` returns
  −0.0 below about −5.55, SiLU and sigmoid return (−)0.0 below about −90, so "no exact zeros"
  is an empirical statement about the pre-activations a net reaches;
* the setting of Glorot, Bordes & Bengio (2011), who report 83.4 % exact zeros after training a
  rectifier MLP on MNIST: a deeper and wider ReLU net (3 × 256 units by default, their 3 × 1000 on
  28×28 MNIST under ``--full``) with an L1 activity penalty, on real MNIST. It differs from
  theirs in data (5,000 digits, 14×14 by default, vs their 50,000+ at 28×28), optimiser (Adam,
  a few hundred steps, best-validation checkpoint, vs SGD to convergence, with or without
  unsupervised pre-training) and penalty form (``Recipe.l1_activity``: a coefficient on each
  layer's mean |h|), so it is a comparison of magnitudes, not a replication.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import inconclusive
from reluthe.claims.sparsity._plot import errbar, new_figure, save
from reluthe.claims.sparsity._probe_layers import member_key, rows_est
from reluthe.claims.sparsity._protocol import MIN_SEEDS
from reluthe.probes.sparsity import stacked_sparsity
from reluthe.protocol import select_lr_across
from reluthe.stats import family_ci
from reluthe.train import stacked_mlp_init

# exact zeros after training reported by Glorot, Bordes & Bengio 2011 (MNIST, CIFAR-10)
GLOROT_MNIST, GLOROT_CIFAR10 = 0.834, 0.720
GLOROT_L1 = 0.3  # L1 activity coefficient of the Glorot-style arm (Recipe.l1_activity)
LOW, HIGH = 0.05, 0.95
_LABELS = {"mnist1d": "MNIST-1D", "mnist5k": "real MNIST (14×14)", "digits": "digits (sanity)"}
RULE = (
    f"Statistic: for the plain ReLU arm of each main dataset (MNIST-1D; real MNIST, 5,000 "
    f"digits, 14×14) and each hidden layer, the fraction of exactly-zero outputs on test inputs "
    f"at the best-validation checkpoint, mean over >= {MIN_SEEDS} data seeds × >= {MIN_SEEDS} "
    f"model seeds, with a percentile cluster-bootstrap interval whose clusters are the data "
    f"seeds (the model seeds where a run has a single data seed), Bonferroni-adjusted over the "
    f"family of (dataset, layer) cells. Members whose "
    f"training loss is not finite (diverged) are named and excluded before counting seeds. A "
    f"cell is 'sparse' when its interval lies inside [{LOW}, {HIGH}] (on a typical input some "
    f"units are off and some on), 'not sparse' when it lies entirely outside. Supported: every "
    f"cell sparse. Partly: some cells sparse, the others not sparse. Refuted: no cell sparse. "
    f"Inconclusive: fewer than {MIN_SEEDS} data or model seeds in a cell, or an interval "
    f"straddles {LOW} or {HIGH}. Reported beside it, not in the verdict: the same at init "
    f"(expected ~0.5), dead units (zero on every training input), the sanity dataset (digits), "
    f"the measured exact zeros of the other activations, and a Glorot-style deeper/wider ReLU "
    f"net with an L1 activity penalty ({GLOROT_L1}) on real MNIST next to the "
    f"{GLOROT_MNIST:.1%} of Glorot et al. 2011 (MNIST; {GLOROT_CIFAR10:.1%} on CIFAR-10)."
)


def _glorot_plan(ctx: Context) -> dict:
    """The Glorot-style arm: hidden widths, data seeds and dataset options of this run."""
    if ctx.quick:
        hidden, n_data, size = (16, 16, 16), 1, 14
    elif ctx.full:
        hidden, n_data, size = (1000, 1000, 1000), 3, 28
    else:
        hidden, n_data, size = (256, 256, 256), 1, 14
    return {"dataset": "mnist5k", "hidden": list(hidden), "size": size, "l1_activity": GLOROT_L1,
            "data_seeds": _arms.data_seeds(ctx)[:n_data], "model_seeds": _arms.model_seeds(ctx),
            "lrs": list(_arms.lrs(ctx.quick)), "steps": _arms.setting(ctx.quick, "mnist5k").steps}


def _layer_fields(weights, init, ds, activation: str, params: dict) -> dict[str, np.ndarray]:
    """Per member and hidden layer: exact zeros on the probe inputs (trained and at init) and
    dead units on the training inputs, each (K, L)."""
    x = ds.x_test[:_arms.N_PROBE_POINTS].reshape(-1, ds.input_dim)
    xtr = ds.x_train.reshape(len(ds.x_train), -1)
    return {"zero_test": stacked_sparsity(weights, x, activation, params)["zero_fraction"],
            "init_zero_test": stacked_sparsity(init, x, activation, params)["zero_fraction"],
            "dead_train": stacked_sparsity(weights, xtr, activation, params)["dead_fraction"]}


def _arm_rows(ctx: Context, a: _arms.Arm) -> list[dict]:
    """The family's rows of one plain arm, with the per-layer fields of :func:`_layer_fields`."""
    base = {member_key(r): r for r in _arms.rows(ctx, a)}
    out = []
    for data_seed, sel in zip(a.data_seeds, a.selections):
        res = sel.result
        ds = _arms.dataset(ctx, a.setting.dataset, data_seed)
        f = _layer_fields(res.best_val_weights, stacked_mlp_init(list(res.widths), res.seeds),
                          ds, a.activation, a.activation_params)
        for k, seed in enumerate(res.seeds):
            row = base[(int(data_seed), int(seed))]
            out.append({"part": "arm", "role": a.setting.role, **row,
                        **{name: v[k].tolist() for name, v in f.items()}})
    return out


def _glorot_rows(ctx: Context, plan: dict) -> list[dict]:
    """Train the Glorot-style arm (learning rate chosen on validation) and read its layers."""
    s = _arms.setting(ctx.quick, plan["dataset"])
    sets = [_arms.load(plan["dataset"], d, (("size", plan["size"]), ("val_size", _arms.VAL_SIZE)))
            for d in plan["data_seeds"]]
    widths = [sets[0].input_dim, *plan["hidden"], sets[0].n_classes]
    ctx.log(f"C03: Glorot-style arm {widths}")
    recipe = dataclasses.replace(s.recipe(), l1_activity=plan["l1_activity"])
    sels = select_lr_across(sets, widths, lrs=plan["lrs"], seeds=plan["model_seeds"],
                            recipe=recipe, activation="relu", device=ctx.device)
    out = []
    for ds, sel in zip(sets, sels):
        res = sel.result
        best = res.at_best_val()
        f = _layer_fields(res.best_val_weights, stacked_mlp_init(widths, res.seeds), ds,
                          "relu", {})
        out += [{"part": "glorot", "dataset": plan["dataset"], "activation": "relu",
                 "data_seed": int(ds.seed), "seed": int(seed), "lr": sel.lr,
                 "diverged": not bool(np.isfinite(res.train_loss[k, -1])),
                 "test_acc": float(best.test_acc[k]), "best_step": int(best.step[k]),
                 **{name: v[k].tolist() for name, v in f.items()}}
                for k, seed in enumerate(res.seeds)]
    return out


@single_threaded
def measure(ctx: Context) -> dict:
    raw = []
    for s in _arms.settings(ctx.quick):
        for act in _arms.activations(ctx, s.dataset):
            ctx.log(f"C03: {s.dataset} {act}")
            raw += _arm_rows(ctx, _arms.arm(ctx, s.dataset, act))
    plan = _glorot_plan(ctx)
    raw += _glorot_rows(ctx, plan)
    design = {**_arms.design(ctx), "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
              "main": [s.dataset for s in _arms.settings(ctx.quick) if s.role == "main"],
              "glorot": plan, "thresholds": [LOW, HIGH],
              "anchors": {"init": 0.5, "glorot_mnist": GLOROT_MNIST,
                          "glorot_cifar10": GLOROT_CIFAR10}}
    return {"design": design, "raw": raw}


def _usable(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The rows with a finite training loss, and the names of the diverged ones."""
    bad = [f"{r['dataset']}/{r['activation']} data seed {r['data_seed']} seed {r['seed']}"
           for r in rows if r["diverged"]]
    return [r for r in rows if not r["diverged"]], bad


def _layer(rows: list[dict], field: str, layer: int, seed: int, confidence: float = 0.95):
    """Cluster-bootstrap mean of one layer's ``field`` over ``rows``."""
    return rows_est(rows, lambda r: r[field][layer], seed, confidence)


def _state(e) -> str:
    if not e.has_ci:
        return "straddles"
    if e.low >= LOW and e.high <= HIGH:
        return "sparse"
    return "not sparse" if e.high < LOW or e.low > HIGH else "straddles"


def _cells(raw: list[dict], datasets: list[str]) -> dict[tuple[str, int], list[dict]]:
    """(dataset, layer) -> the usable plain-ReLU rows of that dataset."""
    out = {}
    for name in datasets:
        rows = _usable(select(raw, part="arm", dataset=name, activation="relu"))[0]
        n_layers = len(rows[0]["zero_test"]) if rows else 0
        out.update({(name, j): rows for j in range(n_layers)})
    return out


def _too_few(cells: dict) -> str | None:
    for (name, layer), rows in cells.items():
        n_data = len({r["data_seed"] for r in rows})
        n_model = len({r["seed"] for r in rows})
        if min(n_data, n_model) < MIN_SEEDS:
            return (f"{name} layer {layer + 1} has {n_data} data seed(s) × {n_model} model "
                    f"seed(s); the rule needs >= {MIN_SEEDS} of each")
    return None


def _layer_rows(cells: dict, seed: int) -> list[dict]:
    """One evidence row per (dataset, layer): the family-level interval and its state."""
    keys = list(cells)
    if not keys:
        return []
    trained = family_ci([lambda c, k=k: _layer(cells[k], "zero_test", k[1], seed, c)
                         for k in keys])
    out = []
    for (name, layer), e in zip(keys, trained):
        rows = cells[(name, layer)]
        change = rows_est(rows, lambda r, j=layer: r["zero_test"][j] - r["init_zero_test"][j],
                          seed)
        out.append({"dataset": name, "layer": layer + 1, "trained": e.to_dict(),
                    "init": _layer(rows, "init_zero_test", layer, seed).to_dict(),
                    "change": change.to_dict(),
                    "dead_units": _layer(rows, "dead_train", layer, seed).to_dict(),
                    "state": _state(e)})
    return out


def _other_activations(raw: list[dict], seed: int) -> dict:
    """Measured exact-zero fraction (mean over layers) of every activation on every dataset."""
    out: dict = {}
    for r in select(raw, part="arm"):
        out.setdefault(r["dataset"], {}).setdefault(r["activation"], []).append(r)
    return {name: {act: {"zero_fraction": rows_est(rows, lambda r: r["zero_fraction"],
                                                   seed).to_dict(),
        "max_zero_fraction": max(r["zero_fraction"] for r in rows)}
        for act, rows in acts.items()} for name, acts in out.items()}


def _glorot(raw: list[dict], seed: int) -> dict | None:
    """The Glorot-style arm's exact zeros per layer and overall."""
    rows, bad = _usable(select(raw, part="glorot"))
    if not rows:
        return None
    n_layers = len(rows[0]["zero_test"])
    return {"zero_fraction": rows_est(rows, lambda r: float(np.mean(r["zero_test"])),
                                      seed).to_dict(),
            "zero_fraction_layers": [_layer(rows, "zero_test", j, seed).to_dict()
                                     for j in range(n_layers)],
            "test_acc": rows_est(rows, lambda r: r["test_acc"], seed).to_dict(),
            "lr": rows[0]["lr"], "diverged": bad, "anchor": GLOROT_MNIST}


def _detail(rows: list[dict], others: dict, glorot: dict | None, plan: dict) -> str:
    per = "; ".join(f"{name}: " + "/".join(f"{r['trained']['value']:.0%}" for r in rows
                                           if r["dataset"] == name)
                    + " (init " + "/".join(f"{r['init']['value']:.0%}" for r in rows
                                           if r["dataset"] == name) + ")"
                    for name in dict.fromkeys(r["dataset"] for r in rows))
    dead = max(rows, key=lambda r: r["dead_units"]["value"])
    zeros = [f"{act} {v['zero_fraction']['value']:.2%} on {_LABELS.get(name, name)}"
             for name, acts in others.items()
             for act, v in acts.items() if act != "relu" and name in ("mnist1d", "mnist5k")
             and v["max_zero_fraction"] > 0]
    text = (f"Exact zeros of ReLU per hidden layer after training (test inputs, best-validation "
            f"checkpoint): {per}. The most dead units (zero on every training input): "
            f"{dead['dead_units']['value']:.1%} ({dead['dataset']}, layer {dead['layer']}); the "
            f"other zeros depend on the input. Other activations, measured: "
            + (", ".join(zeros) + " exact zeros (mean over layers; float32 rounds their output to "
                  "(−)0.0 far below 0)" if zeros
               else "no exact zeros on these inputs") + ".")
    if glorot is not None:
        text += (f" A Glorot-style net ({'×'.join(map(str, plan['hidden']))} ReLU units, L1 "
                 f"activity {plan['l1_activity']}, real MNIST {plan['size']}×{plan['size']}) "
                 f"ends with {glorot['zero_fraction']['value']:.1%} exact zeros (per layer "
                 + "/".join(f"{e['value']:.0%}" for e in glorot["zero_fraction_layers"])
                 + f") next to the {GLOROT_MNIST:.1%} Glorot et al. (2011) report for 3 × 1000 "
                 f"units on full MNIST (other data size, optimiser and penalty form).")
    return text


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    seed = design["bootstrap_seed"]
    diverged = _usable(select(raw, part="arm", activation="relu"))[1]
    cells = _cells(raw, design["main"])
    if not cells:
        return inconclusive("no usable ReLU member on a main dataset",
                            {"diverged": diverged})
    rows = _layer_rows(cells, seed)
    sanity = _layer_rows(_cells(raw, [n for n in dict.fromkeys(r["dataset"] for r in raw)
                                      if n not in design["main"]]), seed)
    others, glorot = _other_activations(raw, seed), _glorot(raw, seed)
    states = [r["state"] for r in rows]
    key = ("ReLU exact zeros after training per layer: "
           + ", ".join(f"{r['dataset']} L{r['layer']} {r['trained']['value']:.0%}" for r in rows)
           + (f"; Glorot-style net {glorot['zero_fraction']['value']:.0%} vs "
              f"{GLOROT_MNIST:.1%} reported" if glorot else ""))
    evidence = {"layers": rows, "sanity_layers": sanity, "other_activations": others,
                "glorot": glorot, "diverged": diverged, "anchors": design.get("anchors", {})}
    detail = _detail(rows, others, glorot, design["glorot"])
    if diverged:
        detail += f" Excluded as diverged: {', '.join(diverged)}."
    few = _too_few(cells)
    if few is not None:
        return Outcome(Verdict.INCONCLUSIVE, "inconclusive: " + few.split(";")[0], evidence,
                       few + ". " + detail)
    if "straddles" in states:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Some interval straddles a threshold; more data seeds would separate. "
                       + detail)
    if all(s == "sparse" for s in states):
        return Outcome(Verdict.SUPPORTED, key, evidence, detail)
    if all(s == "not sparse" for s in states):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "No layer shows a mix of active and inactive units. " + detail)
    bad = [f"{r['dataset']} layer {r['layer']}" for r in rows if r["state"] == "not sparse"]
    return Outcome(Verdict.PARTLY, key, evidence,
                   f"Sparse activation holds except in {', '.join(bad)}. " + detail)


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw, design = measured["raw"], measured["design"]
    seed = design["bootstrap_seed"]
    fig, axes = new_figure(11.0, 3.8, 3)
    names = list(dict.fromkeys(r["dataset"] for r in select(raw, part="arm")))
    for ax, field in zip(axes[:2], ("init_zero_test", "zero_test")):
        for i, name in enumerate(names):
            rows = _usable(select(raw, part="arm", dataset=name, activation="relu"))[0]
            if not rows:
                continue
            n_layers = len(rows[0][field])
            xs = np.arange(n_layers) + 1 + 0.12 * (i - (len(names) - 1) / 2)
            errbar(ax, xs, [_layer(rows, field, j, seed) for j in range(n_layers)],
                   label=_LABELS.get(name, name))
            ax.set_xticks(range(1, n_layers + 1))
        if field.startswith("init"):
            ax.axhline(0.5, color="grey", lw=0.8, ls=":", label="one half")
        else:
            ax.axhline(GLOROT_MNIST, color="tab:red", lw=0.8, ls="--",
                       label="Glorot et al. 2011, MNIST")
        ax.set_title("ReLU, at init" if field.startswith("init") else "ReLU, after training",
                     fontsize=9)
        ax.set_xlabel("hidden layer")
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("fraction of exact zeros (test inputs)")
    axes[1].legend(fontsize=7)
    g = _glorot(raw, seed)
    if g is not None:
        plan = design["glorot"]
        layers = g["zero_fraction_layers"]
        errbar(axes[2], np.arange(1, len(layers) + 1), layers,
               label=f"ReLU {'×'.join(map(str, plan['hidden']))}, L1 activity penalty")
        axes[2].axhline(GLOROT_MNIST, color="tab:red", lw=0.8, ls="--",
                        label="Glorot et al. 2011 (3 × 1000, MNIST)")
        axes[2].set_xticks(range(1, len(layers) + 1))
        axes[2].set_xlabel("hidden layer")
        axes[2].set_ylim(0, 1)
        axes[2].set_title("Glorot-style net, real MNIST", fontsize=9)
        axes[2].legend(fontsize=7)
    return [save(fig, figures_dir, "c03_zero_fraction.png")]
