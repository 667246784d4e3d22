"""C06 and C10: is ReLU cheaper to compute, and does that buy accuracy under a compute budget?

C06 times each activation alone (forward + backward) and inside a full MLP training step,
interleaved in one process, as ratios to relu (``reluthe.probes.speed``). C10 trains MLPs with
each activation under a matched time budget (the time of 400 relu steps, about 1 s of one CPU
thread; the others' steps from their step-time ratio to relu measured interleaved) and under a
matched step budget, and separates what the budget in time adds to the comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._gradients_common import est, mnist1d, pct
from reluthe.stats import Estimate, compare, mean_ci, median_ratio_ci, paired_diff_ci

SLOWER = 1.1  # a time ratio counts as "slower" only if its CI lower bound exceeds this
NAMED = ("tanh", "sigmoid")  # the alternatives the article names (§2.2.3)
STEP_WIDTHS = [40, 128, 128, 10]


def _config_c06(quick: bool) -> dict:
    if quick:
        return {"names": ["relu", "tanh", "sigmoid"], "sizes": [2**12, 2**16], "repeats": 7,
                "number": 3, "widths": [40, 32, 10], "batch": 64}
    return {"names": ["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus"],
            "sizes": [2**14, 2**17, 2**20], "repeats": 25, "number": 10,
            "widths": STEP_WIDTHS, "batch": 128}


def measure_c06(ctx) -> dict:
    from reluthe.probes.speed import time_activations, time_training_steps

    cfg = _config_c06(ctx.quick)
    out = {"config": cfg, "base_seed": ctx.seed, "threads": 1, "devices": {}}
    devices = ["cpu"] + (["cuda"] if ctx.device == "cuda" else [])
    for dev in devices:
        ctx.log(f"C06: timing activations on {dev}")
        alone = time_activations(cfg["names"], cfg["sizes"], repeats=cfg["repeats"],
                                 number=cfg["number"], device=dev, seed=ctx.seed)
        forward = time_activations(cfg["names"], cfg["sizes"], repeats=cfg["repeats"],
                                   number=cfg["number"], device=dev, seed=ctx.seed,
                                   backward=False)
        step = time_training_steps(cfg["names"], cfg["widths"], batch_size=cfg["batch"],
                                   repeats=cfg["repeats"], number=cfg["number"], device=dev,
                                   seed=ctx.seed)
        out["devices"][dev] = {"alone": alone.to_dict(), "alone_forward": forward.to_dict(),
                               "step": step.to_dict()}
    return out


def _share(step: dict, name: str, n_hidden: int) -> Estimate:
    """Share of a training step spent in the activation: n_hidden × alone / step, per repeat."""
    secs = np.asarray(step["seconds"])  # (R, [step, activation], names)
    j = step["names"].index(name)
    return mean_ci(n_hidden * secs[:, 1, j] / secs[:, 0, j])


def _status(ratio: dict) -> str:
    e = Estimate(**ratio)
    if not e.has_ci:
        return "unclear"
    if e.low > SLOWER:
        return "slower"
    if e.high <= SLOWER and e.low >= 1 / SLOWER:
        return "same"
    if e.high < 1 / SLOWER:
        return "faster"
    return "unclear"


RULE_C06 = (
    "Statistic: time of an activation / time of relu, each the minimum of 10 timed calls, "
    "measured interleaved (shuffled order) in 25 repeats on 1 CPU thread; the median of the "
    "per-repeat ratios with a distribution-free order-statistic 95 % interval (a repeat slowed "
    "by another process cannot move it). Alone: forward + backward of f(x) on 2^14, "
    "2^17 and 2^20 float32 elements, pooled over the sizes (per repeat, the mean log ratio of "
    "the three; each size is reported too); in a step: forward, cross-entropy, backward and "
    "Adam of a "
    f"{'-'.join(map(str, STEP_WIDTHS))} MLP on a batch of 128, and the activation's share of "
    f"that step. A ratio counts as 'slower' only if its CI lower bound is > {SLOWER} (a noisy "
    f"machine cannot flip it), 'same' if the CI lies within [1/{SLOWER}, {SLOWER}]. Judged on "
    "tanh and sigmoid, the alternatives the article names: SUPPORTED if both are slower alone "
    "and in the step; PARTLY if at least one is slower alone but not every step is slower (the "
    "saving is real per element but the step is dominated by matrix products); REFUTED if both "
    "are 'same' (or faster) alone and neither step is slower; INCONCLUSIVE otherwise. Reported "
    "beside the verdict: the ratios of the forward pass alone (the same timing without "
    "backward). On CUDA runs the GPU ratios are reported too; the verdict uses the CPU."
)


def _pooled(timing: dict, name: str) -> Estimate:
    """Ratio to relu pooled over sizes: per repeat the mean log ratio, then the median ratio."""
    secs = np.log(np.asarray(timing["seconds"]))  # (repeats, sizes, names)
    j, ref = timing["names"].index(name), timing["names"].index("relu")
    return median_ratio_ci((secs[:, :, j] - secs[:, :, ref]).mean(1))


def decide_c06(m: dict) -> Outcome:
    cpu = m["devices"]["cpu"]
    alone, step = cpu["alone"], cpu["step"]
    forward = cpu.get("alone_forward")  # absent in measurements of older code
    n_hidden = len(m["config"]["widths"]) - 2
    names = [n for n in alone["names"] if n != "relu"]
    per = {}
    for n in names:
        pooled = _pooled(alone, n)
        per[n] = {"alone": {lab: alone["ratio"][lab][n] for lab in alone["labels"]},
                  "alone_pooled": pooled.to_dict(),
                  **({"forward_only_pooled": _pooled(forward, n).to_dict()} if forward else {}),
                  "alone_state": _status(pooled.to_dict()),
                  "step": step["ratio"]["step"][n], "step_state": _status(step["ratio"]["step"][n]),
                  "share_of_step": _share(step, n, n_hidden).to_dict()}
    relu_share = _share(step, "relu", n_hidden)
    evidence = {"cpu": per, "relu_share_of_step": relu_share.to_dict(),
                "margin": SLOWER, "threads": alone["threads"]}
    if "cuda" in m["devices"]:
        g = m["devices"]["cuda"]
        evidence["cuda"] = {n: {"alone_largest": g["alone"]["ratio"][g["alone"]["labels"][-1]][n],
                                "step": g["step"]["ratio"]["step"][n]} for n in names}
    big = alone["labels"][-1]
    small = alone["labels"][0]

    def r(n, lab):
        return Estimate(**alone["ratio"][lab][n]).value

    named = [n for n in NAMED if n in per]
    key = (f"alone ({small}/{big.split('=')[1]} elements): "
           + ", ".join(f"{n} {r(n, small):.1f}/{r(n, big):.1f}×"
                       for n in names if n not in ("leaky_relu", "softplus"))
           + "; training step: " + ", ".join(f"{n} {Estimate(**per[n]['step']).value:.2f}×"
                                             for n in named)
           + f"; relu = {100 * relu_share.value:.0f}% of a step")
    text = (f"Alone, the activations cost {', '.join(f'{r(n, small):.1f}×' for n in names)} "
            f"relu's time at {small} elements ({', '.join(names)}) and "
            f"{', '.join(f'{r(n, big):.1f}×' for n in names)} at {big}; inside a training step of "
            f"a {'-'.join(map(str, m['config']['widths']))} MLP the whole step takes "
            + ", ".join(f"{Estimate(**per[n]['step']).value:.2f}× ({n})" for n in names)
            + f" relu's step, because the activation is only {pct(relu_share)} (relu) to "
            + ", ".join(f"{pct(per[n]['share_of_step'])} ({n})" for n in named)
            + " of it: matrix products dominate.")
    if forward:
        text += (" Forward only (no backward; not part of the rule), the pooled ratios are "
                 + ", ".join(f"{Estimate(**per[n]['forward_only_pooled']).value:.1f}× ({n})"
                             for n in names)
                 + ": larger, because in training relu's own backward and autograd's fixed "
                 "cost per call are paid by every activation alike.")
    if any(not Estimate(**per[n]["step"]).has_ci for n in named):
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Fewer than 6 repeats: no order-statistic interval, no verdict.")
    slow = [n for n in named if per[n]["alone_state"] == "slower"]
    step_slow = [n for n in named if per[n]["step_state"] == "slower"]
    not_slow_alone = [n for n in named if per[n]["alone_state"] in ("same", "faster")]
    if len(slow) == len(named) and len(step_slow) == len(named):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if slow:
        return Outcome(Verdict.PARTLY, key, evidence,
                       text + f" ReLU is cheaper than {', '.join(slow)} per element, but "
                       + (f"only the training step with {', '.join(step_slow)} is" if step_slow
                          else "no training step is") + f" measurably slower (> {SLOWER}×).")
    if len(not_slow_alone) == len(named) and not step_slow:
        return Outcome(Verdict.REFUTED, key, evidence,
                       text + " Neither tanh nor sigmoid is measurably slower than relu here.")
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + f" The intervals straddle the {SLOWER}× margin; more repeats on a "
                   "quieter machine would separate them.")


def plot_c06(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    cpu = m["devices"]["cpu"]
    alone, step = cpu["alone"], cpu["step"]
    names = [n for n in alone["names"] if n != "relu"]
    fig = Figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.8 / len(alone["labels"])
    xs = np.arange(len(names))

    def bars(ax, ratios, offset, label, color=None):
        es = [Estimate(**ratios[n]) for n in names]
        ax.bar(xs + offset, [e.value for e in es], width, label=label, color=color,
               yerr=[[e.value - (e.low or e.value) for e in es],
                     [(e.high or e.value) - e.value for e in es]], capsize=2)

    for k, lab in enumerate(alone["labels"]):
        bars(ax1, alone["ratio"][lab], k * width, lab)
    ax1.axhline(1, color="k", lw=0.7)
    ax1.axhline(SLOWER, color="grey", lw=0.7, ls="--")
    ax1.set_xticks(xs + 0.4 - width / 2, names, fontsize=8)
    ax1.set_ylabel("time / relu's time")
    ax1.set_title("activation alone (forward + backward)", fontsize=9)
    ax1.legend(fontsize=7)
    bars(ax2, step["ratio"]["step"], 0, "whole training step", "C7")
    ax2.axhline(1, color="k", lw=0.7)
    ax2.axhline(SLOWER, color="grey", lw=0.7, ls="--")
    ax2.set_xticks(xs, names, fontsize=8)
    ax2.set_title(f"training step of a {'-'.join(map(str, m['config']['widths']))} MLP",
                  fontsize=9)
    fig.suptitle("C06: cost relative to relu, interleaved, 1 CPU thread (95% CI over repeats)")
    fig.tight_layout()
    fig.savefig(figures_dir / "c06_cost_ratios.png", dpi=110)
    return ["c06_cost_ratios.png"]


# --------------------------------------------------------------------------------------------
# C10: matched wall-clock vs matched step budgets

ACC_MARGIN = 0.01


def _config_c10(quick: bool) -> dict:
    if quick:
        return {"acts": ["relu", "tanh", "sigmoid"], "widths": [40, 32, 10], "seeds": 3,
                "budget_steps": 60, "rate_seeds": 3, "rounds": 2, "round_steps": 20,
                "lr": 1e-3, "repeats": 7, "number": 3}
    return {"acts": ["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid"],
            "widths": STEP_WIDTHS, "seeds": 20, "budget_steps": 400, "rate_seeds": 5,
            "rounds": 5, "round_steps": 100, "lr": 1e-3, "repeats": 41, "number": 10}


@single_threaded
def measure_c10(ctx) -> dict:
    from reluthe.probes.speed import time_training_steps
    from reluthe.train import Recipe, train_mlps

    cfg = _config_c10(ctx.quick)
    ds = mnist1d(ctx)
    seeds = [ctx.seed + i for i in range(cfg["seeds"])]
    widths = cfg["widths"]
    # 1. the budget is budget_steps relu steps; what that is in seconds here is reported:
    #    relu's fastest rate (CPU time on one thread; wall-clock on CUDA) over short rounds of
    #    rate_seeds seeds trained as one batch, after a warm-up call
    n_relu = cfg["budget_steps"]
    timed = seeds[:cfg["rate_seeds"]]
    train_mlps(ds, widths, seeds=timed, recipes=Recipe(steps=5, eval_every=5), device=ctx.device)
    rates = []
    for _ in range(cfg["rounds"]):
        r = train_mlps(ds, widths, seeds=timed, device=ctx.device,
                       recipes=Recipe(lr=cfg["lr"], steps=cfg["round_steps"],
                                      eval_every=cfg["round_steps"]))
        rates.append(float(cfg["round_steps"] / (r.train_cpu_s if ctx.device == "cpu"
                                                 else r.train_time_s)))
    # 2. the time per training step of every activation relative to relu, interleaved: the
    #    only timing the comparison depends on
    timing = time_training_steps(cfg["acts"], widths, batch_size=128, repeats=cfg["repeats"],
                                 number=cfg["number"], device=ctx.device, seed=ctx.seed)
    ctx.log(f"C10: budget {n_relu} relu steps ({n_relu / max(rates):.2f} s here); step-time "
            "ratios measured")
    # 3. each activation trains for the steps that fit the same time, and for relu's steps
    runs = {}
    for a in cfg["acts"]:
        ratio = timing.ratio("step", a).value
        n_time = max(1, int(round(n_relu / ratio)))
        lo, hi = min(n_time, n_relu), max(n_time, n_relu)
        res = train_mlps(ds, widths, seeds=seeds, activation=a, device=ctx.device,
                         recipes=Recipe(lr=cfg["lr"], steps=hi, eval_every=lo))
        steps = res.steps.tolist()  # training is a prefix: step n of a longer run = an n-step run
        runs[a] = {"steps_time": n_time, "step_time_ratio": ratio,
                   "acc_time": res.test_acc[:, steps.index(n_time)].tolist(),
                   "acc_step": res.test_acc[:, steps.index(n_relu)].tolist()}
    return {"config": cfg, "base_seed": ctx.seed, "seeds": seeds, "device": ctx.device,
            "relu_steps_per_s": rates, "relu_steps": n_relu,
            "timing": timing.to_dict(), "runs": runs}


RULE_C10 = (
    "Each activation trains 20 seeds of a 40-128-128-10 MLP on MNIST-1D (Adam, lr 1e-3, batch "
    "128), on one CPU thread. Matched time budget: the time of N_relu = 400 relu steps (about "
    "1 s of one CPU thread here; the seconds are reported, from relu's fastest CPU-time rate "
    "over 5 rounds of 100 steps), and for every other activation the steps that fit the same "
    "time, N_relu / r, where r is its training-step time relative to relu measured interleaved "
    "as in C06 (41 repeats, median ratio with an order-statistic interval). The budget is "
    "counted in relu steps so that the machine's speed of the day does not move it; the time "
    "matching rests on r alone, which a busy machine does not move either. Matched step "
    "budget: N_relu steps for all. Statistics: relu − other test accuracy under the time budget "
    f"(same seed = same initial weights and batch order: paired t CI, margin {ACC_MARGIN}); "
    "the speed contribution per seed = (relu − other under "
    "time) − (relu − other under steps), t CI, which can count only where relu's step is "
    f"measurably cheaper (CI of r above {SLOWER}). 'Better under limited compute' (A): relu "
    "greater than every other activation under the time budget. 'Because it is cheaper' (S): a "
    f"speed contribution greater than +{ACC_MARGIN} for at least one activation. SUPPORTED: A "
    "and S. REFUTED: not A, and the speed contribution is nil (r not above the margin, or a tie "
    "within it) for every activation. PARTLY: A or S alone. INCONCLUSIVE: otherwise, or fewer "
    "than 2 seeds."
)


def decide_c10(m: dict) -> Outcome:
    acts = m["config"]["acts"]
    others = [a for a in acts if a != "relu"]
    runs, n_relu = m["runs"], m["relu_steps"]
    relu = np.asarray(runs["relu"]["acc_step"])
    per, time_cmp, contrib = {}, {}, {}
    for a in others:
        at, as_ = np.asarray(runs[a]["acc_time"]), np.asarray(runs[a]["acc_step"])
        d_time, d_step = paired_diff_ci(relu, at), paired_diff_ci(relu, as_)
        did = mean_ci(as_ - at)  # (relu - a_time) - (relu - a_step)
        ratio = Estimate(**m["timing"]["ratio"]["step"][a])
        cheaper = ratio.has_ci and ratio.low > SLOWER
        time_cmp[a] = compare(d_time, ACC_MARGIN)
        c = compare(did, ACC_MARGIN)
        contrib[a] = ("none" if not cheaper or c == "tie" else
                      {"greater": "helps", "less": "hurts"}.get(c, "unclear"))
        per[a] = {"step_time_ratio": ratio.to_dict(), "steps_in_budget": runs[a]["steps_time"],
                  "acc_time": est(at).to_dict(), "acc_step": est(as_).to_dict(),
                  "relu_minus_other_time": d_time.to_dict(), "time_outcome": time_cmp[a],
                  "relu_minus_other_steps": d_step.to_dict(),
                  "speed_contribution": did.to_dict(), "speed_outcome": contrib[a]}
    unit = "CPU-s" if m.get("device", "cpu") == "cpu" else "s"
    budget = n_relu / max(m["relu_steps_per_s"])
    evidence = {"relu_steps_in_budget": n_relu, "budget_s_here": budget, "budget_unit": unit,
                "relu_steps_per_s_rounds": m["relu_steps_per_s"], "relu_acc": est(relu).to_dict(),
                "per_activation": per, "margin": ACC_MARGIN, "ratio_margin": SLOWER}
    best = max(others, key=lambda a: per[a]["speed_contribution"]["value"])
    key = (f"budget {n_relu} relu steps ({budget:.2g} {unit} here): relu {100 * relu.mean():.0f}%, "
           + ", ".join(f"{a} {100 * np.mean(runs[a]['acc_time']):.0f}%" for a in others)
           + f"; cheaper steps add at most {100 * per[best]['speed_contribution']['value']:+.1f}"
           f"pt ({best})")
    text = (f"In the time relu needs for {n_relu} steps ({budget:.2g} {unit} here) the others "
            "complete "
            + ", ".join(f"{runs[a]['steps_time']} ({a}, step {runs[a]['step_time_ratio']:.2f}× "
                        "relu's)" for a in others)
            + f"; relu's test accuracy {pct(est(relu))} compares as "
            + ", ".join(f"{time_cmp[a]} vs {a}" for a in others)
            + ". Matching steps instead of time changes relu's advantage by "
            + ", ".join(f"{100 * per[a]['speed_contribution']['value']:+.1f} points ({a})"
                        for a in others) + ".")
    if len(relu) < 2:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Fewer than two seeds: no confidence interval, no verdict.")
    a_all = all(time_cmp[a] == "greater" for a in others)
    s_any = any(contrib[a] == "helps" for a in others)
    nil = all(contrib[a] == "none" for a in others)
    if a_all and s_any:
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if nil and not a_all:
        excluded = [a for a in others if compare(Estimate(**per[a]["speed_contribution"]),
                                                 ACC_MARGIN) == "greater"]
        note = ("" if not excluded else
                " Borderline: against " + ", ".join(
                    f"{a} (step-time ratio {Estimate(**per[a]['step_time_ratio'])})"
                    for a in excluded)
                + f" matching time instead of steps does shift the comparison, but the step "
                f"is not measurably more than {SLOWER:g}× relu's, so the rule does not count "
                "it; this verdict can move to partly supported on a run where that ratio clears "
                "the margin.")
        return Outcome(Verdict.REFUTED, key, evidence,
                       text + " ReLU is not the best under a matched time budget, and "
                       f"for no activation is relu's step both measurably cheaper (step-time "
                       f"ratio CI above {SLOWER:g}) and worth accuracy at matched time." + note)
    if a_all or s_any:
        return Outcome(Verdict.PARTLY, key, evidence, text + (
            " ReLU is best under the budget, but not because it is cheaper: the advantage is "
            "the same at matched steps." if a_all else
            " Its cheaper step helps against " + ", ".join(a for a in others
                                                           if contrib[a] == "helps")
            + ", but relu is not measurably better than every other activation under the "
            "budget."))
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + " The intervals do not separate the outcomes; more seeds or a longer "
                   "budget would.")


def plot_c10(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    acts = m["config"]["acts"]
    runs = m["runs"]
    fig = Figure(figsize=(8, 3.8))
    ax = fig.subplots()
    xs = np.arange(len(acts))
    for k, (label, field) in enumerate([(f"matched time (that of {m['relu_steps']} relu steps)",
                                         "acc_time"),
                                        (f"matched steps ({m['relu_steps']})", "acc_step")]):
        es = [est(runs[a][field]) for a in acts]
        ax.bar(xs + 0.4 * k, [e.value for e in es], 0.4, label=label,
               yerr=[[e.value - (e.low if e.has_ci else e.value) for e in es],
                     [(e.high if e.has_ci else e.value) - e.value for e in es]], capsize=2)
    for x, a in zip(xs, acts):
        ax.annotate(f"{runs[a]['steps_time']} steps", (x, 0.02), ha="center", fontsize=7,
                    color="white")
    ax.set_xticks(xs + 0.2, acts, fontsize=8)
    ax.set_ylabel("test accuracy (95% CI)")
    ax.legend(fontsize=7)
    ax.set_title("C10: accuracy at a matched time budget vs at matched steps", fontsize=9)
    fig.tight_layout()
    fig.savefig(figures_dir / "c10_budget_accuracy.png", dpi=110)
    return ["c10_budget_accuracy.png"]
