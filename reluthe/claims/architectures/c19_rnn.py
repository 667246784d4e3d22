"""C19: "in RNNs, ReLU gives good results" (article §5.2).

The article: RNN: ReLU … 取得了不错的效果. Measured: a vanilla (Elman) RNN
``h_t = f(W_x x_t + W_h h_{t-1} + b)``, output ``W_o h_T + b_o``, with f = relu or tanh, on two
tasks:

* the adding problem (:func:`reluthe.probes.architectures.adding_problem`, 100 steps in the
  default run; mean squared error, trivial predictor 1/6);
* mnist1d read one value per step (40 steps; test accuracy, chance 10 %).

Every activation is trained under four conditions: recurrent weights Gaussian N(0, 1/H) (spectral
radius about 1) or the identity (IRNN, Le, Jaitly & Hinton 2015), each without and with
per-model gradient-norm clipping at 1. Input weights use torch's default rule, biases start at 0;
Adam (lr 1e-3). All 2 × 4 × seeds models of a task train as one stacked model; relu and tanh
runs of one seed share initial weights and batches, so they are paired by seed.

A run *diverges* (see :func:`reluthe.probes.architectures.rnn_divergence`) when its loss turns
NaN/inf at a training step, or at an evaluation after step 0 its max |h_t| on the test inputs
exceeds 1e3 or its test loss exceeds 10 × the trivial predictor's (an IRNN's outputs at
initialisation can be large, so step 0 does not count); it is then frozen and scored as the
trivial predictor (MSE = variance of the test targets; accuracy 10 %). The adding problem's
training and test sequences are drawn once per run from the first two seeds of the data stream
(the first also splits mnist1d). One row per (task, activation, condition, seed).
"""

from __future__ import annotations

import itertools
import math
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
from reluthe.probes.architectures import adding_problem, rnn_divergence
from reluthe.stats import mean_ci
from reluthe.train import (
    MemberActivation,
    member_generators,
    member_orders,
    stacked_affine,
    stacked_linear,
    train_stacked,
)

ACTIVATIONS = ("relu", "tanh")
INITS = ("gaussian", "identity")
CLIPS = (None, 1.0)
CONDITIONS = [f"{i}{'+clip' if c else ''}" for i in INITS for c in CLIPS]
H_LIMIT, LOSS_FACTOR = 1e3, 10.0
LR = 1e-3
TASKS = {  # hidden units, batch size, and the adding problem's train / test set sizes
    "adding": {"hidden": 16, "batch": 32, "n_train": 10000, "n_test": 1000},
    "mnist1d": {"hidden": 32, "batch": 32},
}
FULL = {"seeds": 5, "steps": {"adding": 800, "mnist1d": 600}, "length": 100}
QUICK = {"seeds": 2, "steps": {"adding": 16, "mnist1d": 16}, "length": 30}
# decision thresholds
ADD_LEARNS = 0.5    # relu's MSE CI must lie below half the trivial MSE
ACC_LEARNS = 0.2    # relu's accuracy CI must lie above twice chance
ADD_MARGIN = 0.01   # MSE worse than tanh by more than this (CI) counts as worse
ACC_MARGIN = 0.02   # accuracy worse than tanh by more than 2 pp (CI) counts as worse

RULE = (
    "Vanilla RNN, relu vs tanh, each under 4 conditions (recurrent init Gaussian N(0,1/H) or "
    "identity; gradient-norm clipping off or at 1), 5 seeds each in the default run, Adam lr "
    "1e-3, on the adding problem (length 100, MSE) and on mnist1d read step by step (accuracy). "
    "Diverged runs (non-finite loss; max|h| > 1e3 or test loss > 10x trivial at an evaluation) are "
    "counted and scored as the trivial predictor. relu WORKS in a (task, condition) cell if (a) "
    "no seed diverged, (b) it learns: adding: 95% t-CI of mean MSE below 0.5 x trivial MSE; "
    "mnist1d: 95% interval of mean accuracy above 0.2 (inside [0, 1]: Wilson's on the "
    "effective number of test examples, stats.accuracy_ci), and (c) it is not worse than tanh "
    "in the same cell "
    "beyond a margin (paired t-CI over seeds of relu - tanh, the arms sharing init and batches, "
    "not entirely worse than 0.01 MSE / 2 pp). "
    "SUPPORTED: relu works in all 8 cells. PARTLY: in some cells (the conditions are named). "
    "REFUTED: in none, while tanh learns in at least one cell. INCONCLUSIVE: in none and tanh "
    f"learns in none either (budget too small), or fewer than {MIN_SEEDS} seeds."
)


def _task_data(task: str, length: int, data_seeds: list[int], device: str) -> dict:
    """Train/test tensors of ``task`` on ``device``, its class count and trivial loss."""
    if task == "adding":
        cfg = TASKS[task]
        xtr, ytr = adding_problem(cfg["n_train"], length, seed=data_seeds[0])
        xte, yte = adding_problem(cfg["n_test"], length, seed=data_seeds[1])
        n_classes, trivial = None, float(((yte - yte.mean()) ** 2).mean())
    else:
        ds = data.load("mnist1d", seed=data_seeds[0])
        xtr, ytr = ds.x_train.unsqueeze(-1), ds.y_train
        xte, yte = ds.x_test.unsqueeze(-1), ds.y_test
        n_classes, trivial = 10, math.log(10)
    return {"xtr": xtr.to(device), "ytr": ytr.to(device), "xte": xte.to(device),
            "yte": yte.to(device), "n_classes": n_classes, "trivial": trivial}


def _forward(params, x, act, track=False):
    """x: (K, B, T, D) or shared (B, T, D) -> outputs (K, B, out) and max |h_t| per member."""
    eq = "btd,khd->tkbh" if x.dim() == 3 else "kbtd,khd->tkbh"
    u = torch.einsum(eq, x, params["wx"]) + params["b"][None, :, None, :]
    w_t = params["wh"].transpose(1, 2)
    h = torch.zeros(u.shape[1:], device=u.device)
    hmax = torch.zeros(u.shape[1], device=u.device) if track else None
    for u_t in u.unbind(0):  # unbind: one backward node for all steps, not one per step
        h = act(torch.baddbmm(u_t, h, w_t))
        if track:
            hmax = torch.maximum(hmax, h.abs().amax((1, 2)).nan_to_num(math.inf))
    return stacked_affine(h, params["wo"], params["bo"]), hmax


def _losses(out, y, n_classes):
    if n_classes is None:
        return ((out - y) ** 2).mean((1, 2))
    return F.cross_entropy(out.transpose(1, 2), y.expand(out.shape[0], -1) if y.dim() == 1
                           else y, reduction="none").mean(1)


def _stacked_params(members: list[tuple], hid: int, d_in: int, d_out: int, device: str) -> dict:
    """Stacked RNN weights; the recurrent matrix follows each member's init condition.

    Member k draws input-to-hidden, recurrent and output layers in that order from one generator
    seeded by its model seed; the Gaussian recurrent matrix is drawn under both conditions (and
    replaced by the identity for an IRNN), so both conditions share input and output weights.
    """
    gens = member_generators([s for *_, s in members])
    wx, b = stacked_linear(gens, hid, d_in, device=device)
    wh = torch.empty(len(members), hid, hid)
    for j, (_, init, _, _) in enumerate(members):
        gaussian = torch.randn(hid, hid, generator=gens[j]) / math.sqrt(hid)
        wh[j] = torch.eye(hid) if init == "identity" else gaussian
    wo, bo = stacked_linear(gens, d_out, hid, device=device)
    return {"wx": wx, "wh": wh.to(device), "b": b.zero_(), "wo": wo, "bo": bo}


def _evaluator(params, d: dict, act):
    """``evaluate(step)`` for :func:`train_stacked`: test loss, metric, max |h|, divergence."""
    def evaluate(step):
        parts = [_forward(params, d["xte"][i:i + 250], act, track=True)
                 for i in range(0, len(d["xte"]), 250)]
        out = torch.cat([o for o, _ in parts], 1)
        hmax = torch.stack([h for _, h in parts]).amax(0)
        loss = _losses(out, d["yte"], d["n_classes"])
        metric = (loss if d["n_classes"] is None
                  else (out.argmax(-1) == d["yte"]).float().mean(1))
        diverged = rnn_divergence(loss.cpu().numpy(), hmax.cpu().numpy(),
                                  trivial_loss=d["trivial"], h_limit=H_LIMIT,
                                  loss_factor=LOSS_FACTOR)
        # the initial state is not a divergence (an IRNN's initial outputs can be large)
        return {"loss": loss, "metric": metric, "hmax": hmax, "diverged": diverged & (step > 0)}
    return evaluate


@single_threaded
def train_rnns(task: str, seeds: list[int], steps: int, length: int, data_seeds: list[int],
               device: str = "cpu") -> dict:
    """Train relu/tanh RNNs under every condition over ``seeds`` on ``task`` (one stack).

    Returns ``{"rows": [...], "run": {...}}``: a row per (activation, condition, seed) and
    what was run.
    """
    cfg, d = TASKS[task], _task_data(task, length, data_seeds, device)
    members = [(a, i, c, s) for a, i, c in itertools.product(ACTIVATIONS, INITS, CLIPS)
               for s in seeds]
    params = _stacked_params(members, cfg["hidden"], d["xtr"].shape[-1], d["n_classes"] or 1,
                             device)
    act = MemberActivation([a for a, *_ in members])
    clip = torch.tensor([c if c else math.inf for _, _, c, _ in members])
    orders = member_orders(len(d["xtr"]), cfg["batch"], steps, [s for *_, s in members],
                           device=device)

    def member_loss(step):
        idx = orders[step - 1]
        out, _ = _forward(params, d["xtr"][idx], act)
        return _losses(out, d["ytr"][idx], d["n_classes"])

    log = train_stacked(params, member_loss, steps=steps, lr=LR, eval_every=max(1, steps // 4),
                        evaluate=_evaluator(params, d, act), clip=clip, device=device)
    fail = d["trivial"] if d["n_classes"] is None else 1.0 / d["n_classes"]
    metric = np.where(log.diverged, fail, log.final("metric"))
    hmax = np.nanmax(np.stack([e["hmax"] for e in log.evals]), 0)
    rows = [{"seed": s, "task": task, "activation": a, "condition": f"{i}{'+clip' if c else ''}",
             "metric": float(metric[j]), "diverged": bool(log.diverged[j]),
             "diverged_at": int(log.diverged_at[j]), "hidden_max": float(hmax[j])}
            for j, (a, i, c, s) in enumerate(members)]
    run = {"metric": "mse" if d["n_classes"] is None else "accuracy",
           "trivial_loss": d["trivial"], "failure_value": fail, "steps": steps,
           "length": int(d["xtr"].shape[1]), "n_test": int(d["xte"].shape[0]),
           "hidden": cfg["hidden"], "batch": cfg["batch"],
           "stack_time_s": log.time_s}
    return {"rows": rows, "run": run}


def _unit(args):
    return train_rnns(*args)


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    seeds = ctx.seeds("model", proto["seeds"])
    data_seeds = ctx.seeds("data", 2)
    ctx.log(f"C19: relu/tanh x {len(CONDITIONS)} conditions x {len(seeds)} seeds, 2 tasks")
    units = [(task, seeds, proto["steps"][task], proto["length"], data_seeds, ctx.device)
             for task in TASKS]
    results = ctx.map(_unit, units)
    design = {"seeds": seeds, "data_seeds": {"mnist1d": data_seeds[0],
                                             "adding_train": data_seeds[0],
                                             "adding_test": data_seeds[1]},
              "activations": list(ACTIVATIONS), "conditions": CONDITIONS, "lr": LR,
              "h_limit": H_LIMIT, "loss_factor": LOSS_FACTOR,
              "tasks": {task: r["run"] for task, r in zip(TASKS, results)},
              "n_test": {task: r["run"]["n_test"] for task, r in zip(TASKS, results)},
              "device": ctx.device}
    return {"design": design, "raw": [row for r in results for row in r["rows"]]}


def _cell(m: dict, name: str, cond: str) -> dict:
    task = m["design"]["tasks"][name]
    mse = task["metric"] == "mse"
    threshold = ADD_LEARNS * task["trivial_loss"] if mse else ACC_LEARNS
    values = {a: column(m["raw"], "metric", task=name, condition=cond, activation=a)
              for a in ("relu", "tanh")}
    diverged = {a: sum(column(m["raw"], "diverged", task=name, condition=cond, activation=a))
                for a in ("relu", "tanh")}
    if mse:
        e_relu, e_tanh = mean_ci(values["relu"]), mean_ci(values["tanh"])
    else:  # accuracies: the bounded interval
        n_test = m["design"]["n_test"][name]
        e_relu, e_tanh = (proportion_est(values[a], n_test) for a in ("relu", "tanh"))
    diff = paired_diff(m["raw"], "metric", "activation", "relu", "tanh", task=name,
                       condition=cond)

    def learns(e):
        if not e.has_ci:
            return False
        return e.high < threshold if mse else e.low > threshold

    def n_learned(v):  # seeds past the learning threshold, for the explanation only
        v = np.asarray(v, dtype=float)
        return int((v < threshold).sum() if mse else (v > threshold).sum())

    worse = diff.has_ci and (diff.low > ADD_MARGIN if mse else diff.high < -ACC_MARGIN)
    stable = diverged["relu"] == 0
    return {"relu": e_relu.to_dict(), "tanh": e_tanh.to_dict(), "relu_minus_tanh": diff.to_dict(),
            "relu_seeds_learned": n_learned(values["relu"]),
            "tanh_seeds_learned": n_learned(values["tanh"]),
            "relu_diverged": diverged["relu"], "tanh_diverged": diverged["tanh"],
            "stable": stable, "learns": learns(e_relu), "tanh_learns": learns(e_tanh),
            "not_worse": not worse, "works": bool(stable and learns(e_relu) and not worse)}


def _why(m: dict, cells: dict, t: str, c: str) -> str:
    """Why relu does not work in cell (t, c), for the explanation."""
    v, n = cells[t][c], len(m["design"]["seeds"])
    reasons = [f"{v['relu_diverged']}/{n} seeds diverged"] if not v["stable"] else []
    if not v["learns"]:
        reasons.append(f"mean {m['design']['tasks'][t]['metric']} {v['relu']['value']:.3f} "
                       f"does not pass the learning threshold; {v['relu_seeds_learned']}/{n} "
                       f"seeds do, tanh {v['tanh_seeds_learned']}/{n}")
    if not v["not_worse"]:
        reasons.append("worse than tanh")
    return f"{t}/{c} ({', '.join(reasons)})"


def decide(m: dict) -> Outcome:
    design = m["design"]
    n = len(design["seeds"])
    cells = {t: {c: _cell(m, t, c) for c in design["conditions"]} for t in design["tasks"]}
    div = {t: {c: f"{v['relu_diverged']}/{n}" for c, v in cs.items()} for t, cs in cells.items()}
    works = [(t, c) for t, cs in cells.items() for c, v in cs.items() if v["works"]]
    fails = [(t, c) for t, cs in cells.items() for c, v in cs.items() if not v["works"]]
    diverged = [f"{t}/{c} {d}" for t, cs in div.items() for c, d in cs.items()
                if not d.startswith("0/")]
    key = ("relu works in: " + (", ".join(f"{t}/{c}" for t, c in works) or "none")
           + "; relu runs diverged: " + (", ".join(diverged) or "none"))
    evidence = {"cells": cells, "relu_diverged": div}
    if n < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds per cell: no verdict.")
    failing = "; ".join(_why(m, cells, t, c) for t, c in fails)
    if not fails:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "relu RNNs are stable, learn and match tanh under every init and clipping "
                       "condition on both tasks.")
    if works:
        return Outcome(Verdict.PARTLY, key, evidence,
                       "relu RNNs give good results only under some conditions: they work in "
                       + ", ".join(f"{t}/{c}" for t, c in works) + "; they fail in "
                       + failing + ". The article omits the conditions (recurrent init, "
                       "gradient clipping) that ReLU RNNs need.")
    if any(v["tanh_learns"] for cs in cells.values() for v in cs.values()):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "relu RNNs work in no condition while tanh RNNs learn in some: "
                       + failing + ".")
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "Neither relu nor tanh RNNs learn in this budget; longer training would "
                   "separate them. Divergences: " + str(div) + ".")


def plot(m: dict, figures_dir: Path) -> list[str]:
    design, raw = m["design"], m["raw"]
    tasks, acts, conds = design["tasks"], design["activations"], design["conditions"]
    fig, axes = new_figure(ncols=len(tasks), nrows=2, size=(4.6, 3.0))
    n = len(design["seeds"])
    labels = [f"{a}\n{c}" for a in acts for c in conds]
    colors = ["tab:red" if lab.startswith("relu") else "tab:blue" for lab in labels]
    def cells(field, name):
        return [column(raw, field, task=name, activation=a, condition=c)
                for a in acts for c in conds]

    for col, (name, task) in enumerate(tasks.items()):
        ax = axes[col]
        ci_bars(ax, labels, cells("metric", name),
                n_items=None if task["metric"] == "mse" else design["n_test"][name],
                ylabel=task["metric"], title=f"C19 {name} (length {task['length']}, "
                f"{task['steps']} steps)")
        ax.axhline(task["failure_value"], color="gray", ls="--", lw=1, label="trivial / chance")
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelsize=6)
        ax = axes[len(tasks) + col]
        ax.bar(np.arange(len(labels)), [sum(v) for v in cells("diverged", name)], color=colors,
               alpha=0.7)
        ax.set_xticks(np.arange(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=6)
        ax.set_ylim(0, n + 0.5)
        ax.set_ylabel(f"diverged runs (of {n})")
        ax.set_title(f"C19 {name}: divergence", fontsize=9)
    return [save(fig, figures_dir, "c19_rnn_metric_and_divergence.png")]
