"""C19: "in RNNs, ReLU gives good results" (article §5.2).

The article: RNN: ReLU … 取得了不错的效果. Measured: a vanilla (Elman) RNN
``h_t = f(W_x x_t + W_h h_{t-1} + b)``, output ``W_o h_T + b_o`` (:mod:`._rnn`), with f = relu or
tanh, under four conditions: recurrent weights Gaussian N(0, 1/H) or the identity (IRNN, Le,
Jaitly & Hinton 2015), each without and with per-model gradient-norm clipping at 1.

Tasks: the adding problem (:func:`reluthe.probes.architectures.adding_problem`; MSE, trivial
predictor about 1/6) at length 20 in the default run, a length at which the tanh baseline learns
within the budget (at length 100 it learned in 0 of 20 runs of 800 steps, so a relu failure
there said nothing about relu); under ``--full`` also at length 200 and mnist1d read one value
per step (40 steps; accuracy, chance 10 %).

Protocol: 3 data seeds (each draws its own train / validation / test sets) × 3 model seeds per cell;
Adam with its learning rate chosen per (task, activation, condition) from a grid (3e-3, 1e-2 in the
default run; 1e-3 added under ``--full``) on the validation split (mean best-validation metric over
the cell's runs), test metric read at each run's best-validation checkpoint. All members of a task
train as one stacked model; relu and tanh runs of one (data seed, model seed) share data, initial
weights and minibatches, so they are paired, and intervals are t intervals over the data seeds of
the per-data-seed means (the model seeds of a data seed are not independent of each other's data).
Diverged runs (see :mod:`._rnn`) are named and scored as the trivial predictor.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS, proportion_est
from reluthe.claims._records import select
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.claims.architectures._rnn import (
    H_LIMIT,
    LOSS_FACTOR,
    Member,
    task_data,
    train_rnns,
)
from reluthe.stats import Estimate, mean_ci

ACTIVATIONS = ("relu", "tanh")
INITS = ("gaussian", "identity")
CLIPS = (None, 1.0)
CONDITIONS = [f"{i}{'+clip' if c else ''}" for i in INITS for c in CLIPS]
LRS = (3e-3, 1e-2)
FULL_LRS = (1e-3, 3e-3, 1e-2)
ADDING_SIZES = {"train": 10000, "val": 500, "test": 500}
HIDDEN = {"adding": 16, "mnist1d": 32}
BATCH, EVALS = 32, 8
# task name -> (kind, length, steps)
DEFAULT_TASKS = {"adding20": ("adding", 20, 1000)}
FULL_TASKS = {"adding20": ("adding", 20, 1000), "adding200": ("adding", 200, 3000),
              "mnist1d": ("mnist1d", 40, 1500)}
QUICK_TASKS = {"adding10": ("adding", 10, 16), "mnist1d": ("mnist1d", 40, 1)}
SEEDS = {"quick": (2, 2), "default": (3, 3)}  # (data seeds, model seeds)
QUICK_LRS = (1e-3, 1e-2)
# decision thresholds
ADD_LEARNS = 0.5    # the MSE interval must lie below half the trivial MSE
ACC_LEARNS = 0.2    # the accuracy interval must lie above twice chance
ADD_MARGIN = 0.01   # MSE worse than tanh by more than this (interval) counts as worse
ACC_MARGIN = 0.02   # accuracy worse than tanh by more than 2 pp (interval) counts as worse

RULE = (
    "Vanilla RNN, relu vs tanh, each under 4 conditions (recurrent init Gaussian N(0,1/H) or "
    "identity; gradient-norm clipping off or at 1), on the adding problem at length 20 (MSE; "
    "--full adds length 200 and mnist1d read step by step, accuracy). 3 data seeds x 3 model "
    "seeds per cell; Adam's learning rate chosen per (task, activation, condition) from "
    "{3e-3, 1e-2} (--full: {1e-3, 3e-3, 1e-2}) by the mean best-validation metric over the "
    "cell's 9 runs; test metric at each run's best-validation checkpoint. Diverged runs (non-"
    "finite loss; max|h| > 1e3 or validation loss > 10x trivial at an evaluation after step "
    "0) are named and scored as the trivial predictor. Intervals: 95% t-CIs over data seeds "
    "of the per-data-seed means (for accuracy the bounded Wilson interval on the effective "
    "number of test examples, stats.accuracy_ci); relu - tanh paired by (data seed, model "
    "seed). An arm LEARNS in a (task, condition) cell if its interval of mean MSE lies below "
    "0.5 x trivial MSE (accuracy: above 0.2). A cell is INFORMATIVE if relu or tanh learns in"
    " it (where neither learns the budget, not the activation, is what failed). relu WORKS in"
    " an informative cell if (a) no relu run at its chosen learning rate diverged, (b) relu "
    "learns and (c) relu is not worse than tanh beyond a margin (the interval of relu - tanh "
    "not entirely above 0.01 MSE / below -2 pp). SUPPORTED: relu works in every informative "
    "cell. PARTLY: in some (the cells are named). REFUTED: in none. INCONCLUSIVE: no "
    "informative cell, or fewer than "
    f"{MIN_SEEDS} data seeds or {MIN_SEEDS} model seeds."
)


def _members(data_seeds: list[int], seeds: list[int], lrs) -> list[Member]:
    return [Member(a, i, c, lr, ds, s)
            for a, i, c, lr, ds, s in itertools.product(ACTIVATIONS, INITS, CLIPS, lrs,
                                                        data_seeds, seeds)]


@single_threaded
def run_task(name: str, spec: tuple, data_seeds: list[int], seeds: list[int], lrs,
             device: str = "cpu") -> dict:
    """Train every (activation, condition, lr, data seed, model seed) RNN of task ``name``.

    Returns ``{"rows": [...], "run": {...}}``: a row per member and what was run.
    """
    kind, length, steps = spec
    d = task_data(kind, length, data_seeds, ADDING_SIZES if kind == "adding" else None, device)
    members = _members(data_seeds, seeds, lrs)
    results = train_rnns(members, d, data_seeds, hidden=HIDDEN[kind], batch=BATCH, steps=steps,
                         evals=EVALS, device=device)
    rows = [{"seed": m.seed, "data_seed": m.data_seed, "task": name, "activation": m.activation,
             "condition": m.condition, "lr": m.lr, **r} for m, r in zip(members, results)]
    run = {"kind": kind, "metric": "mse" if d.n_classes is None else "accuracy",
           "trivial_loss": d.trivial, "failure_value": d.failure_value, "steps": steps,
           "length": length, "n_train": int(d.x["train"].shape[1]),
           "n_val": int(d.x["val"].shape[1]), "n_test": int(d.x["test"].shape[1]),
           "hidden": HIDDEN[kind], "batch": BATCH, "evaluations": EVALS}
    return {"rows": rows, "run": run}


def _unit(args):
    return run_task(*args)


def measure(ctx: Context) -> dict:
    n_data, n_model = SEEDS["quick" if ctx.quick else "default"]
    tasks = QUICK_TASKS if ctx.quick else FULL_TASKS if ctx.full else DEFAULT_TASKS
    lrs = QUICK_LRS if ctx.quick else FULL_LRS if ctx.full else LRS
    seeds, data_seeds = ctx.seeds("model", n_model), ctx.seeds("data", n_data)
    ctx.log(f"C19: relu/tanh x {len(CONDITIONS)} conditions x {len(lrs)} lrs x "
            f"{n_data}x{n_model} seeds, tasks {list(tasks)}")
    results = ctx.map(_unit, [(name, spec, data_seeds, seeds, lrs, ctx.device)
                              for name, spec in tasks.items()])
    design = {"seeds": seeds, "data_seeds": data_seeds, "activations": list(ACTIVATIONS),
              "conditions": CONDITIONS, "lrs": list(lrs), "h_limit": H_LIMIT,
              "loss_factor": LOSS_FACTOR,
              "tasks": {name: r["run"] for name, r in zip(tasks, results)},
              "n_test": {name: r["run"]["n_test"] for name, r in zip(tasks, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


# --------------------------------------------------------------------------- decision

def _lower_is_better(task: dict) -> bool:
    return task["metric"] == "mse"


def selected_lr(raw: list[dict], spec: dict, lrs: list[float], **cell) -> float:
    """The learning rate of ``lrs`` with the best mean validation metric in ``cell`` (the first
    of a tie)."""
    means = [np.mean([r["val_metric"] for r in select(raw, lr=lr, **cell)]) for lr in lrs]
    return lrs[int(np.argmin(means) if _lower_is_better(spec) else np.argmax(means))]


def _cluster_means(rows: list[dict], field: str) -> dict[int, float]:
    """Mean of ``field`` per data seed."""
    by_data: dict[int, list[float]] = {}
    for r in rows:
        by_data.setdefault(r["data_seed"], []).append(float(r[field]))
    return {ds: float(np.mean(v)) for ds, v in by_data.items()}


def _arm(raw, task: dict, lrs, name: str, cond: str, act: str) -> dict:
    """One arm of a cell at its selected learning rate: rows, estimate, divergences."""
    lr = selected_lr(raw, task, lrs, task=name, condition=cond, activation=act)
    rows = select(raw, task=name, condition=cond, activation=act, lr=lr)
    means = list(_cluster_means(rows, "test_metric").values())
    est = mean_ci(means) if _lower_is_better(task) else proportion_est(means, task["n_test"])
    diverged = [f"data {r['data_seed']}/model {r['seed']}" for r in rows if r["diverged"]]
    return {"lr": lr, "rows": rows, "est": est, "diverged": diverged}


def _paired(a: list[dict], b: list[dict]) -> Estimate:
    """relu - tanh on the test metric, paired by (data seed, model seed), t interval over the
    per-data-seed means of the differences."""
    other = {(r["data_seed"], r["seed"]): r["test_metric"] for r in b}
    diffs = [{"data_seed": r["data_seed"], "d": r["test_metric"] - other[(r["data_seed"],
                                                                           r["seed"])]}
             for r in a if (r["data_seed"], r["seed"]) in other]
    return mean_ci(list(_cluster_means(diffs, "d").values()))


def _learns(e: Estimate, task: dict) -> bool:
    if not e.has_ci:
        return False
    if _lower_is_better(task):
        return e.high < ADD_LEARNS * task["trivial_loss"]
    return e.low > ACC_LEARNS


def _cell(m: dict, name: str, cond: str) -> dict:
    task, lrs = m["design"]["tasks"][name], m["design"]["lrs"]
    relu, tanh = (_arm(m["raw"], task, lrs, name, cond, a) for a in ("relu", "tanh"))
    diff = _paired(relu["rows"], tanh["rows"])
    mse = _lower_is_better(task)
    worse = diff.has_ci and (diff.low > ADD_MARGIN if mse else diff.high < -ACC_MARGIN)
    learns, tanh_learns = _learns(relu["est"], task), _learns(tanh["est"], task)
    stable = not relu["diverged"]
    return {"relu": relu["est"].to_dict(), "tanh": tanh["est"].to_dict(),
            "relu_lr": relu["lr"], "tanh_lr": tanh["lr"], "relu_minus_tanh": diff.to_dict(),
            "relu_diverged": relu["diverged"], "tanh_diverged": tanh["diverged"],
            "stable": stable, "learns": learns, "tanh_learns": tanh_learns,
            "informative": learns or tanh_learns, "not_worse": not worse,
            "works": bool(stable and learns and not worse)}


def _why(v: dict, metric: str) -> str:
    """Why relu does not work in a cell, for the explanation."""
    reasons = [f"relu runs diverged: {', '.join(v['relu_diverged'])}"] if not v["stable"] else []
    if not v["learns"]:
        reasons.append(f"mean {metric} {v['relu']['value']:.3f} does not pass the learning "
                       f"threshold")
    if not v["not_worse"]:
        reasons.append(f"worse than tanh ({metric} relu - tanh "
                       f"{v['relu_minus_tanh']['value']:+.3f})")
    return "; ".join(reasons)


def _counts(design: dict) -> str | None:
    """Why the design has too few seeds for a verdict, or None."""
    n_data, n_model = len(design["data_seeds"]), len(design["seeds"])
    if min(n_data, n_model) < MIN_SEEDS:
        return (f"{n_data} data seeds x {n_model} model seeds: fewer than {MIN_SEEDS} of "
                f"either, no verdict.")
    return None


def decide(m: dict) -> Outcome:
    design = m["design"]
    cells = {t: {c: _cell(m, t, c) for c in design["conditions"]} for t in design["tasks"]}
    flat = [(f"{t}/{c}", v, design["tasks"][t]["metric"]) for t, cs in cells.items()
            for c, v in cs.items()]
    works = [n for n, v, _ in flat if v["informative"] and v["works"]]
    fails = [(n, v, met) for n, v, met in flat if v["informative"] and not v["works"]]
    blind = [n for n, v, _ in flat if not v["informative"]]
    diverged = [f"{n} ({', '.join(v['relu_diverged'])})" for n, v, _ in flat
                if v["relu_diverged"]]
    key = ("relu works in: " + (", ".join(works) or "none") + "; neither learns in: "
           + (", ".join(blind) or "none") + "; relu runs diverged: "
           + (", ".join(diverged) or "none"))
    evidence = {"cells": cells, "uninformative": blind,
                "selected_lr": {n: {"relu": v["relu_lr"], "tanh": v["tanh_lr"]}
                                for n, v, _ in flat}}
    few = _counts(design)
    if few:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence, few)
    if not works and not fails:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Neither relu nor tanh RNNs learn in any cell within this budget; "
                       "longer training would separate them.")
    failing = "; ".join(f"{n} ({_why(v, met)})" for n, v, met in fails)
    blind_note = (f" Cells where neither learns (not counted): {', '.join(blind)}."
                  if blind else "")
    if not fails:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "relu RNNs are stable, learn and match tanh in every cell where either "
                       "learns." + blind_note)
    if works:
        return Outcome(Verdict.PARTLY, key, evidence,
                       f"relu RNNs work in {', '.join(works)} but fail in {failing}. The article "
                       "omits the conditions (recurrent init, gradient clipping) that ReLU RNNs "
                       "need." + blind_note)
    return Outcome(Verdict.REFUTED, key, evidence,
                   f"relu RNNs work in no cell where an RNN learns: {failing}." + blind_note)


# --------------------------------------------------------------------------- figure

def _arm_values(m: dict, name: str, act: str, cond: str) -> list[float]:
    """Per-data-seed mean test metric of an arm at its selected learning rate."""
    task = m["design"]["tasks"][name]
    return list(_cluster_means(_arm(m["raw"], task, m["design"]["lrs"], name, cond,
                                    act)["rows"], "test_metric").values())


def plot(m: dict, figures_dir: Path) -> list[str]:
    design, raw = m["design"], m["raw"]
    tasks, acts, conds = design["tasks"], design["activations"], design["conditions"]
    fig, axes = new_figure(ncols=len(tasks), nrows=2, size=(4.6, 3.0))
    n_runs = len(design["seeds"]) * len(design["data_seeds"])
    labels = [f"{a}\n{c}" for a in acts for c in conds]
    colors = ["tab:red" if lab.startswith("relu") else "tab:blue" for lab in labels]
    for col, (name, task) in enumerate(tasks.items()):
        ax = axes[col]
        ci_bars(ax, labels, [_arm_values(m, name, a, c) for a in acts for c in conds],
                n_items=None if task["metric"] == "mse" else design["n_test"][name],
                ylabel=f"test {task['metric']} (mean per data seed)",
                title=f"C19 {name}: length {task['length']}, {task['steps']} steps,\n"
                      f"at the learning rate chosen on validation")
        ax.axhline(task["failure_value"], color="gray", ls="--", lw=1, label="trivial / chance")
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelsize=6)
        ax = axes[len(tasks) + col]
        counts = [sum(r["diverged"] for r in select(raw, task=name, activation=a, condition=c))
                  for a in acts for c in conds]
        ax.bar(np.arange(len(labels)), counts, color=colors, alpha=0.7)
        ax.set_xticks(np.arange(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=6)
        ax.set_ylim(0, n_runs * len(design["lrs"]) + 0.5)
        ax.set_ylabel(f"diverged runs (of {n_runs * len(design['lrs'])}, all learning rates)")
        ax.set_title(f"C19 {name}: divergence", fontsize=9)
    return [save(fig, figures_dir, "c19_rnn_metric_and_divergence.png")]
