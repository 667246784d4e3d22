"""C10: ReLU's cheap computation gives better generalization under limited compute.

The article (§2.2.3, §2.3.3): because ReLU is cheap, a model can train longer within a compute
budget and so generalize better. Measured: MLPs with each activation train on MNIST-1D (several
data seeds × model seeds, each activation with its learning rate chosen on validation) for the
longest budget; the time per training step of each activation relative to relu, ``r``, is
timed interleaved as in C06 (:mod:`reluthe.claims.gradients._timing`). Every learning curve
becomes accuracy against time (step × its step time), read at several compute budgets up to
the longest (at each budget the best-validation checkpoint within it, with the learning rate
that is best on validation at that budget), and as the time to reach a target validation
accuracy. The uncertainty of ``r`` is carried into every comparison: an interval's ends are
read at the ends of ``r``'s interval.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.gradients._common import MIN_SEEDS, acc_est, mnist1d
from reluthe.claims.gradients._timing import (
    SLOWER,
    STEP_WIDTHS,
    TIMER_NOTE,
    step_tasks,
    time_interleaved,
    timing_of,
    timing_rows,
)
from reluthe.stats import Estimate, compare, family_ci, mean_ci

NAMED = ("tanh", "sigmoid")  # the alternatives the article names (§2.2.3)
ACC_MARGIN = 0.01
TARGET_FRACTION = 0.9  # target = this × the lowest plateau validation accuracy of the arms
MIN_REPEATS = 6  # the fewest timing repeats with a 95 % order-statistic interval
FAMILY = 0.95

RULE = (
    "Each activation trains a 40-128-128-10 MLP on MNIST-1D (validation split 0.2; Adam, "
    "batch 128) for T relu steps (800 by default, 1600 with --full), 3 data seeds × 3 model "
    "seeds (5 data seeds and 6 activations with --full), every learning rate of a grid "
    "(3e-3, 1e-2, 3e-2) per data seed, evaluated every 50 steps. Step time: r = time of "
    "the activation's training step / relu's, timed interleaved as in C06 "
    "(torch.utils.benchmark, CPU time, 1 thread; median of per-repeat ratios with a 95 % "
    "order-statistic interval over the timing seeds). "
    "Budgets: B = T/8, T/4, T/2 and T relu steps of time; the other activation gets B / r "
    "steps (at most T: the curves end there). At a budget each arm is read at its "
    "best-validation checkpoint among the evaluations within its steps (linearly "
    "interpolated between the two evaluations around a step count that falls between them), "
    "with the learning rate whose mean validation "
    "accuracy there is best (per data seed; the test set chooses nothing). Statistic per "
    "budget: relu − other test accuracy, paired by (data seed, model seed), averaged over "
    "model seeds per data seed, t interval over data seeds (clusters); r's uncertainty is "
    "carried: the interval runs from the lowest to the highest CI end among the readings "
    "with the other's steps at B / r, B / r_low (its most steps) and B / r_high (its fewest). "
    f"Time to target: the target is {TARGET_FRACTION} × the lowest over activations of the "
    "mean best validation accuracy at T; per member (learning rate chosen at T) the step "
    "where its validation curve first reaches it, linear between evaluations (never: "
    "counted as T, named); the ratio other / relu of "
    "the times = (ratio of steps: per-data-seed mean log ratio, t interval over data seeds) × "
    "r, the interval's ends multiplied by the ends of r's 95 % interval. The budgets and "
    "times of tanh and sigmoid (the alternatives the article names) are one family: "
    f"Bonferroni intervals (stats.family_ci, {FAMILY:.0%} jointly). Outcomes: at a budget "
    f"relu is 'ahead' if the interval is above +{ACC_MARGIN}, 'behind' if below "
    f"−{ACC_MARGIN}; relu is 'faster to the target' if the time ratio's interval is above "
    f"{SLOWER}, 'not faster' if its upper end is at most {SLOWER}; relu's step is 'cheaper' "
    f"if r's interval is above {SLOWER}. SUPPORTED: against both tanh and sigmoid, relu is "
    "ahead at some budget, behind at none, faster to the target, and its step is cheaper. "
    "REFUTED: against both, relu is ahead at no budget and not faster to the target. PARTLY: "
    "relu is ahead at some budget or faster to the target against at least one of them, but "
    "SUPPORTED does not hold (e.g. its advantage does not come from a cheaper step). "
    "INCONCLUSIVE: otherwise; also with fewer than "
    f"{MIN_REPEATS} timing repeats, or fewer than {MIN_SEEDS} data seeds, or fewer than "
    f"{MIN_SEEDS} usable model seeds for every learning rate of an (activation, data seed). "
    "A member whose training loss is not finite at some evaluation has diverged: it is named "
    "and excluded before anything is chosen; a learning rate chosen at an edge of the grid "
    "is named. Other activations (--full) are reported, not "
    "judged; accuracies are reported with Wilson intervals on the effective number of test "
    "examples."
)


def _config(quick: bool, full: bool) -> dict:
    if quick:
        return {"acts": ["relu", "tanh", "sigmoid"], "widths": [40, 32, 10], "n_data": 3,
                "n_model": 3, "lrs": [3e-3, 1e-2], "steps": 60, "eval_every": 10,
                "budgets": [15, 30, 60], "repeats": 6, "min_run_time": 0.002}
    acts = ["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid"] if full else \
        ["relu", "tanh", "sigmoid"]
    steps = 1600 if full else 800
    return {"acts": acts, "widths": STEP_WIDTHS, "n_data": 5 if full else 3, "n_model": 3,
            "lrs": [3e-3, 1e-2, 3e-2], "steps": steps, "eval_every": 50,
            "budgets": [steps // 8, steps // 4, steps // 2, steps],
            "repeats": 25 if full else 8, "min_run_time": 0.05 if full else 0.02}


def _curve_rows(res, data_seed: int, activation: str) -> list[dict]:
    """One row per member of a ``select_lr(...).full`` result: its validation and test
    accuracy curves and whether it diverged."""
    return [{"seed": int(res.seeds[k]), "kind": "curve", "data_seed": data_seed,
             "activation": activation, "lr": float(res.recipes[k].lr),
             "diverged": bool(not np.isfinite(res.train_loss[k]).all()),
             "val_acc": [round(float(v), 5) for v in res.val_acc[k]],
             "test_acc": [round(float(v), 5) for v in res.test_acc[k]]}
            for k in range(res.n_members)]


@single_threaded
def measure(ctx) -> dict:
    """Rows of two kinds: ``timing`` (seconds per training step, per timing repeat and
    activation) and ``curve`` (validation and test accuracy at every evaluation, per data
    seed, activation, learning rate and model seed)."""
    from reluthe.protocol import select_lr
    from reluthe.train import Recipe

    cfg = _config(ctx.quick, ctx.full)
    acts, dev = cfg["acts"], ctx.device
    design = {**cfg, "model_seeds": ctx.seeds("model", cfg["n_model"]),
              "data_seeds": ctx.seeds("data", cfg["n_data"]),
              "timing_seeds": ctx.seeds("timing", cfg["repeats"]), "timing_batch": 128,
              "device": dev, "dataset": "mnist1d", "val_size": 0.2, "timer": TIMER_NOTE}
    timing = time_interleaved(
        lambda s: step_tasks(acts, cfg["widths"], design["timing_batch"], s, dev), acts,
        ["step"], design["timing_seeds"], min_run_time=cfg["min_run_time"], device=dev)
    design["timing_threads"] = timing.threads
    raw = timing_rows(timing, kind="timing")
    recipe = Recipe(steps=cfg["steps"], eval_every=cfg["eval_every"])
    for d in design["data_seeds"]:
        ds = mnist1d(d, val_size=design["val_size"])
        design["n_test"] = int(len(ds.x_test))
        ctx.log(f"C10: data seed {d}")
        for a in acts:
            sel = select_lr(ds, cfg["widths"], lrs=cfg["lrs"], seeds=design["model_seeds"],
                            recipe=recipe, activation=a, device=dev)
            design["eval_steps"] = [int(s) for s in sel.full.steps]
            raw += _curve_rows(sel.full, d, a)
    return {"design": design, "raw": raw}


# --- reading the curves -----------------------------------------------------------------------

def _members(m: dict) -> tuple[dict, list[str]]:
    """(activation, data seed) -> lr -> model seed -> (val curve, test curve), without the
    diverged members; and the names of the diverged ones."""
    cells, diverged = {}, []
    for r in select(m["raw"], kind="curve"):
        if r["diverged"]:
            diverged.append(f"{r['activation']} lr {r['lr']:g} data {r['data_seed']} "
                            f"seed {r['seed']}")
            continue
        cells.setdefault((r["activation"], r["data_seed"]), {}).setdefault(r["lr"], {})[
            r["seed"]] = (np.asarray(r["val_acc"]), np.asarray(r["test_acc"]))
    return cells, diverged


def _usable(lrs: dict) -> dict:
    """The learning rates of a cell with at least MIN_SEEDS members."""
    return {lr: seeds for lr, seeds in lrs.items() if len(seeds) >= MIN_SEEDS}


def _at(curves: dict, k: int) -> dict:
    """Model seed -> (best validation accuracy, test accuracy there) among evaluations 0..k."""
    out = {}
    for s, (val, test) in curves.items():
        j = int(np.argmax(val[:k + 1]))  # earliest of ties
        out[s] = (float(val[j]), float(test[j]))
    return out


def _between(curves: dict, k: int, w: float) -> dict:
    """:func:`_at` read at a step between evaluations ``k`` and ``k + 1``, linearly
    interpolated with weight ``w`` on the later one."""
    a, b = _at(curves, k), _at(curves, k + 1)
    return {s: tuple((1 - w) * x + w * y for x, y in zip(a[s], b[s])) for s in a}


def _choose(lrs: dict, k: int, w: float) -> tuple[float, dict]:
    """The learning rate with the best mean validation accuracy within the budget at position
    (k, w) (first of ties) and model seed -> test accuracy at its members' checkpoints."""
    read = {lr: _between(seeds, k, w) for lr, seeds in _usable(lrs).items()}
    lr = max(read, key=lambda x: np.mean([v for v, _ in read[x].values()]))
    return lr, {s: t for s, (_, t) in read[lr].items()}


def _position(grid: np.ndarray, steps: float) -> tuple[int, float]:
    """``steps`` as (k, w): between evaluations k and k + 1 with weight w on k + 1, within
    the grid (clipped at its ends)."""
    steps = float(np.clip(steps, grid[0], grid[-1]))
    k = min(int(np.searchsorted(grid, steps, side="right")) - 1, len(grid) - 2)
    return k, (steps - grid[k]) / (grid[k + 1] - grid[k])


def _crossing(grid: np.ndarray, val: np.ndarray, target: float) -> float | None:
    """The first step at which ``val`` reaches ``target``, interpolated linearly between
    evaluations; ``None`` if it never does."""
    hit = np.flatnonzero(val >= target)
    if not hit.size:
        return None
    j = int(hit[0])
    if j == 0:
        return float(grid[0])
    return float(grid[j - 1] + (target - val[j - 1]) / (val[j] - val[j - 1])
                 * (grid[j] - grid[j - 1]))


def _cluster_means(values: dict) -> np.ndarray:
    """Data seed -> {model seed: value}  ->  the mean over model seeds of each data seed."""
    return np.array([np.mean(list(v.values())) for v in values.values()])


def _paired(a: dict, b: dict) -> dict:
    """Data seed -> {model seed: a - b} over the model seeds both have."""
    return {d: {s: a[d][s] - b[d][s] for s in a[d] if s in b.get(d, {})} for d in a}


# --- the comparisons --------------------------------------------------------------------------

class _Reader:
    """Accuracies of every arm at any step, from the record."""

    def __init__(self, m: dict):
        self.design = m["design"]
        self.grid = np.asarray(self.design["eval_steps"], dtype=float)
        self.cells, self.diverged = _members(m)
        timing = timing_of(select(m["raw"], kind="timing"), self.design["device"],
                           self.design["timing_threads"])
        self.timing = timing
        self.ratio = {a: timing.ratio("step", a) for a in self.design["acts"]}

    def accs(self, a: str, steps: float) -> tuple[dict, dict]:
        """Data seed -> {model seed: test accuracy} of ``a`` within ``steps`` steps (between
        evaluations: interpolated), and data seed -> the learning rate chosen there."""
        k, w = _position(self.grid, steps)
        out, lrs = {}, {}
        for d in self.design["data_seeds"]:
            lrs[d], out[d] = _choose(self.cells[a, d], k, w)
        return out, lrs

    def budget_diff(self, a: str, budget: int, confidence: float) -> Estimate:
        """relu − ``a`` test accuracy at ``budget`` relu steps of time, r carried."""
        relu, _ = self.accs("relu", budget)
        r = self.ratio[a]

        def ci(steps):
            return mean_ci(_cluster_means(_paired(relu, self.accs(a, steps)[0])), confidence)

        mid, low, high = ci(budget / r.value), ci(budget / r.low), ci(budget / r.high)
        return Estimate(mid.value, min(low.low, high.low), max(low.high, high.high), mid.n,
                        confidence, "t over data seeds at the ends of r's interval")

    def target(self) -> float:
        """TARGET_FRACTION × the lowest mean best validation accuracy at the last step."""
        k = len(self.grid) - 1
        plateaus = []
        for a in self.design["acts"]:
            best = []
            for d in self.design["data_seeds"]:
                lr, _ = _choose(self.cells[a, d], k - 1, 1.0)
                best += [v for v, _ in _at(self.cells[a, d][lr], k).values()]
            plateaus.append(np.mean(best))
        return TARGET_FRACTION * float(min(plateaus))

    def steps_to(self, a: str, target: float) -> tuple[dict, list[str]]:
        """Data seed -> {model seed: steps to reach ``target`` validation accuracy} with the
        learning rate chosen at the last step; unreached members count as the last step."""
        out, unreached = {}, []
        for d in self.design["data_seeds"]:
            lr, _ = _choose(self.cells[a, d], len(self.grid) - 2, 1.0)
            out[d] = {}
            for s, (val, _) in self.cells[a, d][lr].items():
                step = _crossing(self.grid, val, target)
                if step is None:
                    unreached.append(f"{a} data {d} seed {s}")
                out[d][s] = max(self.grid[-1] if step is None else step,
                                self.design["eval_every"])
        return out, unreached

    def time_ratio(self, a: str, target: float, confidence: float) -> Estimate:
        """Time of ``a`` / time of relu to reach ``target``: step ratio × r, ends × ends."""
        mine, relu = self.steps_to(a, target)[0], self.steps_to("relu", target)[0]
        logs = {d: {s: math.log(v[s] / relu[d][s]) for s in v if s in relu[d]}
                for d, v in mine.items()}
        e, r = mean_ci(_cluster_means(logs), confidence), self.ratio[a]
        if not (e.has_ci and r.has_ci):
            return Estimate(math.exp(e.value) * r.value, None, None, e.n, confidence)
        return Estimate(math.exp(e.value) * r.value, math.exp(e.low) * r.low,
                        math.exp(e.high) * r.high, e.n, confidence,
                        "exp(t over data seeds of log step ratio) × r, ends × ends")


def _problems(rd: _Reader) -> list[str]:
    """Why no verdict can be reached (empty when the record is usable)."""
    d = rd.design
    out = []
    if len(rd.timing.seeds) < MIN_REPEATS:
        out.append(f"fewer than {MIN_REPEATS} timing repeats (no interval for r)")
    if len(d["data_seeds"]) < MIN_SEEDS:
        out.append(f"fewer than {MIN_SEEDS} data seeds")
    thin = [f"{a} data {ds}" for a in d["acts"] for ds in d["data_seeds"]
            if not _usable(rd.cells.get((a, ds), {}))]
    if thin:
        out.append(f"fewer than {MIN_SEEDS} usable model seeds for every learning rate of "
                   + ", ".join(thin))
    return out


def _time_state(e: Estimate) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low > SLOWER:
        return "relu faster"
    return "not faster" if e.high <= SLOWER else "unclear"


def _budget_state(e: Estimate) -> str:
    """:func:`reluthe.stats.compare` at the accuracy margin, in words of relu's lead."""
    state = compare(e, ACC_MARGIN)
    return {"greater": "ahead", "less": "behind"}.get(state, state)


def _arm_acc(rd: _Reader, a: str, steps: float) -> dict:
    accs = rd.accs(a, steps)[0]
    return acc_est([v for x in accs.values() for v in x.values()], rd.design["n_test"]).to_dict()


def _per_activation(rd: _Reader, target: float) -> dict:
    """Judged activation -> budgets, time to target and step-time ratio (one family)."""
    budgets = rd.design["budgets"]
    judged = [a for a in NAMED if a in rd.design["acts"]]
    makers = [partial(rd.budget_diff, a, b) for a in judged for b in budgets] + \
             [partial(rd.time_ratio, a, target) for a in judged]
    fam = family_ci(makers, FAMILY)
    per = {}
    for i, a in enumerate(judged):
        diffs = fam[i * len(budgets):(i + 1) * len(budgets)]
        time = fam[len(judged) * len(budgets) + i]
        r = rd.ratio[a]
        per[a] = {"step_time_ratio": r.to_dict(),
                  "step_cheaper": bool(r.has_ci and r.low > SLOWER),
                  "budgets": {str(b): {"relu_minus_other": e.to_dict(),
                                       "state": _budget_state(e),
                                       "other_steps": round(b / r.value)}
                              for b, e in zip(budgets, diffs)},
                  "time_to_target_ratio": time.to_dict(), "time_state": _time_state(time)}
    return per


def _evidence(m: dict) -> dict:
    rd = _Reader(m)
    d = rd.design
    problems = _problems(rd)
    ev = {"problems": problems, "diverged": rd.diverged, "margin": ACC_MARGIN,
          "ratio_margin": SLOWER, "budgets_relu_steps": d["budgets"],
          "relu_step_s": float(np.median(rd.timing.seconds[:, 0, rd.timing.names.index(
              "relu")])),
          "reported_ratios": {a: rd.ratio[a].to_dict() for a in d["acts"] if a != "relu"}}
    if problems:
        return ev
    target = rd.target()
    ev["target_val_acc"] = target
    ev["unreached"] = [u for a in d["acts"] for u in rd.steps_to(a, target)[1]]
    ev["acc_at_budget"] = {a: {str(b): _arm_acc(rd, a, b / rd.ratio[a].value)
                               for b in d["budgets"]} for a in d["acts"]}
    last = len(rd.grid) - 1
    ev["chosen_lr"] = {a: {str(b): {str(ds): lr for ds, lr in
                                    rd.accs(a, b / rd.ratio[a].value)[1].items()}
                           for b in d["budgets"]} for a in d["acts"]}  # JSON keys: str
    edges = (min(d["lrs"]), max(d["lrs"]))
    ev["lr_at_grid_edge"] = sorted({f"{a} at {b} ({lr:g})" for a, per in ev["chosen_lr"].items()
                                    for b, lrs in per.items() for lr in lrs.values()
                                    if lr in edges})
    ev["relu_gain_second_half"] = float(np.mean([
        v for ds in d["data_seeds"]
        for v in _gain(rd.cells["relu", ds][rd.accs("relu", d["steps"])[1][ds]],
                       last)]))
    ev["per_activation"] = _per_activation(rd, target)
    return ev


def _gain(curves: dict, last: int) -> list[float]:
    """Per member: best validation accuracy by the last step − by half of it (a plateau
    check, reported)."""
    return [float(val[:last + 1].max() - val[:last // 2 + 1].max()) for val, _ in
            curves.values()]


# --- the verdict ------------------------------------------------------------------------------

def _key_and_text(ev: dict) -> tuple[str, str]:
    per, budgets = ev["per_activation"], ev["budgets_relu_steps"]
    acc = ev["acc_at_budget"]
    key = ("relu − other at " + "/".join(map(str, budgets)) + " relu steps: "
           + "; ".join(f"{a} " + "/".join(
               f"{100 * p['budgets'][str(b)]['relu_minus_other']['value']:+.1f}"
               for b in budgets) + f"pt, time to target {p['time_to_target_ratio']['value']:.2f}×,"
               f" step {p['step_time_ratio']['value']:.2f}×" for a, p in per.items()))
    text = (f"relu's step takes {1e3 * ev['relu_step_s']:.2f} ms of CPU time here; the others' "
            "steps take " + ", ".join(f"{Estimate(**p['step_time_ratio'])} × relu's ({a})"
                                      for a, p in per.items())
            + ". Test accuracy at the budgets of " + ", ".join(map(str, budgets))
            + " relu steps of time: " + "; ".join(
                f"{a} " + ", ".join(f"{100 * acc[a][str(b)]['value']:.0f}%" for b in budgets)
                for a in acc)
            + ". relu − other (Bonferroni intervals, r's uncertainty carried): " + "; ".join(
                f"{a}: " + ", ".join(
                    f"{p['budgets'][str(b)]['state']} "
                    f"{Estimate(**p['budgets'][str(b)]['relu_minus_other'])}" for b in budgets)
                for a, p in per.items())
            + f". Time to the target validation accuracy {100 * ev['target_val_acc']:.1f}%, "
            "other / relu: " + ", ".join(
                f"{Estimate(**p['time_to_target_ratio'])} ({a}, {p['time_state']})"
                for a, p in per.items())
            + f". relu's best validation accuracy still rises by "
            f"{100 * ev['relu_gain_second_half']:.1f} points over the second half of training"
            + (f"; diverged and excluded: {', '.join(ev['diverged'])}" if ev["diverged"] else "")
            + (f"; learning rate chosen at an edge of the grid: "
               f"{', '.join(ev['lr_at_grid_edge'])}" if ev["lr_at_grid_edge"] else "")
            + (f"; never reached the target (counted as the last step): "
               f"{', '.join(ev['unreached'])}" if ev["unreached"] else "") + ".")
    return key, text


def _states(p: dict) -> list[str]:
    return [b["state"] for b in p["budgets"].values()]


def decide(m: dict) -> Outcome:
    ev = _evidence(m)
    if ev["problems"]:
        why = "; ".join(ev["problems"])
        return Outcome(Verdict.INCONCLUSIVE, f"no verdict: {ev['problems'][0]}", ev,
                       f"{why[0].upper()}{why[1:]}: the protocol's minimum is not met.")
    key, text = _key_and_text(ev)
    per = ev["per_activation"]
    ahead = {a: "ahead" in _states(p) or p["time_state"] == "relu faster"
             for a, p in per.items()}
    if all("ahead" in _states(p) and "behind" not in _states(p)
           and p["time_state"] == "relu faster" and p["step_cheaper"] for p in per.values()):
        return Outcome(Verdict.SUPPORTED, key, ev, text)
    if all("ahead" not in _states(p) and p["time_state"] == "not faster"
           for p in per.values()):
        return Outcome(Verdict.REFUTED, key, ev, text + (
            " ReLU is ahead of neither tanh nor sigmoid at any budget and reaches the "
            "target no faster."))
    if any(ahead.values()):
        cheap = [a for a, p in per.items() if p["step_cheaper"]]
        return Outcome(Verdict.PARTLY, key, ev, text + (
            " ReLU is ahead (at some budget or in time to the target) of "
            + ", ".join(a for a, v in ahead.items() if v) + ", but not in every respect the "
            "rule asks for" + ("" if cheap else f"; and its step is not measurably cheaper "
                               f"(no step-time ratio above {SLOWER}), so a lead would not "
                               "come from cheaper computation") + "."))
    return Outcome(Verdict.INCONCLUSIVE, key, ev, text + (
        " The intervals do not separate the outcomes; more data seeds would."))


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    rd = _Reader(m)
    d = rd.design
    relu_s = float(np.median(rd.timing.seconds[:, 0, rd.timing.names.index("relu")]))
    fig = Figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for a in d["acts"]:
        r = rd.ratio[a].value
        means = [np.mean([v for x in rd.accs(a, s)[0].values() for v in x.values()])
                 for s in rd.grid]
        ax1.plot(rd.grid * r * relu_s, means, label=f"{a} (step {r:.2f}× relu's)")
    for b in d["budgets"]:
        ax1.axvline(b * relu_s, color="grey", lw=0.6, ls=":")
    ax1.set_xlabel("CPU seconds of training (steps × step time, 1 thread)")
    ax1.set_ylabel("test accuracy at the best-validation checkpoint so far")
    ax1.set_title("accuracy against time (mean over seeds; dotted: the budgets)", fontsize=9)
    ax1.legend(fontsize=7)
    ev = decide(m).evidence
    if "per_activation" in ev:
        xs = np.arange(len(d["budgets"]))
        for k, (a, p) in enumerate(ev["per_activation"].items()):
            es = [Estimate(**p["budgets"][str(b)]["relu_minus_other"]) for b in d["budgets"]]
            ax2.errorbar(xs + 0.1 * k, [100 * e.value for e in es],
                         yerr=[[100 * (e.value - e.low) for e in es],
                               [100 * (e.high - e.value) for e in es]],
                         fmt="o", capsize=3, label=f"relu − {a}")
        ax2.axhline(0, color="k", lw=0.7)
        ax2.set_xticks(xs, [f"{b} relu steps" for b in d["budgets"]], fontsize=8)
        ax2.set_ylabel("test accuracy difference (points)")
        ax2.set_title("relu − other at matched time (Bonferroni CI, r carried)", fontsize=9)
        ax2.legend(fontsize=7)
    fig.suptitle("C10: accuracy under a compute budget, MNIST-1D", fontsize=10)
    fig.tight_layout()
    fig.savefig(figures_dir / "c10_budget_accuracy.png", dpi=110)
    return ["c10_budget_accuracy.png"]
