"""C10: ReLU's cheap computation gives better generalization under limited compute.

The article (§2.2.3): because ReLU is cheap, a model can train longer within a compute budget
and so generalize better. Measured: MLPs with each activation train on MNIST-1D under a matched
time budget (the time of 400 relu steps, about 1 s of one CPU thread; the others' steps from
their training-step time relative to relu, measured interleaved as in C06) and under a matched
step budget; the difference between the two comparisons is what the cheaper step adds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import MIN_SEEDS, acc_est, data_seed, error_bars, mnist1d, pct
from reluthe.claims.gradients._timing import SLOWER, STEP_WIDTHS, timing_of, timing_rows
from reluthe.stats import Estimate, compare, mean_ci, paired_diff_ci

ACC_MARGIN = 0.01

RULE = (
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
    f"than {MIN_SEEDS} seeds. Single-arm accuracies are reported with a 95 % interval inside "
    "[0, 1] (Wilson's on the effective number of test examples, stats.accuracy_ci)."
)


def _config(quick: bool) -> dict:
    if quick:
        return {"acts": ["relu", "tanh", "sigmoid"], "widths": [40, 32, 10], "seeds": 3,
                "budget_steps": 60, "rate_seeds": 3, "rounds": 2, "round_steps": 20,
                "lr": 1e-3, "repeats": 7, "number": 3}
    return {"acts": ["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid"],
            "widths": STEP_WIDTHS, "seeds": 20, "budget_steps": 400, "rate_seeds": 5,
            "rounds": 5, "round_steps": 100, "lr": 1e-3, "repeats": 41, "number": 10}


def _rate_rows(design: dict, ds) -> list[dict]:
    """relu's steps per second (CPU time on one thread; wall-clock on CUDA) over short rounds
    of ``rate_seeds`` seeds trained as one batch, after a warm-up call: one row per round."""
    from reluthe.train import Recipe, train_mlps

    dev, timed = design["device"], design["model_seeds"][:design["rate_seeds"]]
    train_mlps(ds, design["widths"], seeds=timed, recipes=Recipe(steps=5, eval_every=5),
               device=dev)
    rows = []
    for k in range(design["rounds"]):
        r = train_mlps(ds, design["widths"], seeds=timed, device=dev,
                       recipes=Recipe(lr=design["lr"], steps=design["round_steps"],
                                      eval_every=design["round_steps"]))
        rows.append({"seed": None, "kind": "rate", "round": k,
                     "relu_steps_per_s": float(design["round_steps"] / (
                         r.train_cpu_s if dev == "cpu" else r.train_time_s))})
    return rows


def _train_rows(design: dict, ds, a: str, ratio: float) -> list[dict]:
    """Each seed of activation ``a`` at the steps that fit the time budget and at relu's steps."""
    from reluthe.train import Recipe, train_mlps

    n_relu = design["budget_steps"]
    n_time = max(1, int(round(n_relu / ratio)))
    lo, hi = min(n_time, n_relu), max(n_time, n_relu)
    res = train_mlps(ds, design["widths"], seeds=design["model_seeds"], activation=a,
                     device=design["device"],
                     recipes=Recipe(lr=design["lr"], steps=hi, eval_every=lo))
    steps = res.steps.tolist()  # training is a prefix: step n of a longer run = an n-step run
    return [{"seed": s, "kind": "train", "activation": a, "steps_time": n_time,
             "acc_time": float(res.test_acc[k, steps.index(n_time)]),
             "acc_step": float(res.test_acc[k, steps.index(n_relu)])}
            for k, s in enumerate(design["model_seeds"])]


@single_threaded
def measure(ctx) -> dict:
    """Rows of three kinds: ``rate`` (relu steps per second, per round), ``timing`` (seconds per
    repeat and activation, timing seed) and ``train`` (test accuracy at the time and the step
    budget, per activation and model seed)."""
    from reluthe.probes.speed import time_training_steps

    cfg = _config(ctx.quick)
    design = {**cfg, "model_seeds": ctx.seeds("model", cfg["seeds"]),
              "data_seed": data_seed(ctx), "timing_seed": ctx.seeds("timing", 1)[0],
              "timing_batch": 128, "device": ctx.device, "dataset": "mnist1d"}
    ds = mnist1d(design["data_seed"])
    design["n_test"] = {design["dataset"]: int(len(ds.x_test))}
    raw = _rate_rows(design, ds)
    best = max(r["relu_steps_per_s"] for r in raw)
    # the time per training step of every activation relative to relu, interleaved: the only
    # timing the comparison depends on
    timing = time_training_steps(cfg["acts"], cfg["widths"], batch_size=design["timing_batch"],
                                 repeats=cfg["repeats"], number=cfg["number"],
                                 device=ctx.device, seed=design["timing_seed"])
    design["timing_threads"] = timing.threads
    raw += timing_rows(timing, kind="timing")
    ctx.log(f"C10: budget {cfg['budget_steps']} relu steps ({cfg['budget_steps'] / best:.2f} s "
            "here); step-time ratios measured")
    for a in cfg["acts"]:
        raw += _train_rows(design, ds, a, timing.ratio("step", a).value)
    return {"design": design, "raw": raw}


def _per_activation(m: dict) -> dict:
    """Activation -> its comparison with relu under the two budgets."""
    design, raw = m["design"], m["raw"]
    timing = timing_of(select(raw, kind="timing"), design["device"], design["timing_threads"])
    relu = np.asarray(column(raw, "acc_step", kind="train", activation="relu"))
    n_test = design["n_test"][design["dataset"]]
    per = {}
    for a in (a for a in design["acts"] if a != "relu"):
        at = np.asarray(column(raw, "acc_time", kind="train", activation=a))
        as_ = np.asarray(column(raw, "acc_step", kind="train", activation=a))
        d_time, d_step = paired_diff_ci(relu, at), paired_diff_ci(relu, as_)
        did = mean_ci(as_ - at)  # (relu - a_time) - (relu - a_step)
        ratio = timing.ratio("step", a)
        cheaper = ratio.has_ci and ratio.low > SLOWER
        c = compare(did, ACC_MARGIN)
        per[a] = {"step_time_ratio": ratio.to_dict(),
                  "steps_in_budget": column(raw, "steps_time", kind="train", activation=a)[0],
                  "acc_time": acc_est(at, n_test).to_dict(),
                  "acc_step": acc_est(as_, n_test).to_dict(),
                  "relu_minus_other_time": d_time.to_dict(),
                  "time_outcome": compare(d_time, ACC_MARGIN),
                  "relu_minus_other_steps": d_step.to_dict(),
                  "speed_contribution": did.to_dict(),
                  "speed_outcome": ("none" if not cheaper or c == "tie" else
                                    {"greater": "helps", "less": "hurts"}.get(c, "unclear"))}
    return per


def _evidence(m: dict) -> dict:
    design, raw = m["design"], m["raw"]
    rates = column(raw, "relu_steps_per_s", kind="rate")
    n_relu = design["budget_steps"]
    return {"relu_steps_in_budget": n_relu, "budget_s_here": n_relu / max(rates),
            "budget_unit": "CPU-s" if design["device"] == "cpu" else "s",
            "relu_steps_per_s_rounds": rates,
            "relu_acc": acc_est(column(raw, "acc_step", kind="train", activation="relu"),
                                design["n_test"][design["dataset"]]).to_dict(),
            "per_activation": _per_activation(m), "margin": ACC_MARGIN, "ratio_margin": SLOWER}


def _key_and_text(ev: dict) -> tuple[str, str]:
    per, n_relu, budget, unit = (ev["per_activation"], ev["relu_steps_in_budget"],
                                 ev["budget_s_here"], ev["budget_unit"])
    others = list(per)
    best = max(others, key=lambda a: per[a]["speed_contribution"]["value"])
    key = (f"budget {n_relu} relu steps ({budget:.2g} {unit} here): relu "
           f"{100 * ev['relu_acc']['value']:.0f}%, "
           + ", ".join(f"{a} {100 * per[a]['acc_time']['value']:.0f}%" for a in others)
           + f"; cheaper steps add at most {100 * per[best]['speed_contribution']['value']:+.1f}"
           f"pt ({best})")
    text = (f"In the time relu needs for {n_relu} steps ({budget:.2g} {unit} here) the others "
            "complete "
            + ", ".join(f"{per[a]['steps_in_budget']} ({a}, step "
                        f"{per[a]['step_time_ratio']['value']:.2f}× relu's)" for a in others)
            + f"; relu's test accuracy {pct(ev['relu_acc'])} compares as "
            + ", ".join(f"{per[a]['time_outcome']} vs {a}" for a in others)
            + ". Matching steps instead of time changes relu's advantage by "
            + ", ".join(f"{100 * per[a]['speed_contribution']['value']:+.1f} points ({a})"
                        for a in others) + ".")
    return key, text


def _refuted_note(per: dict) -> str:
    """The borderline note of a refutation: where matching time shifts the comparison anyway."""
    excluded = [a for a in per if compare(Estimate(**per[a]["speed_contribution"]),
                                          ACC_MARGIN) == "greater"]
    if not excluded:
        return ""
    return (" Borderline: against " + ", ".join(
        f"{a} (step-time ratio {Estimate(**per[a]['step_time_ratio'])})" for a in excluded)
        + f" matching time instead of steps does shift the comparison, but the step "
        f"is not measurably more than {SLOWER:g}× relu's, so the rule does not count "
        "it; this verdict can move to partly supported on a run where that ratio clears "
        "the margin.")


def decide(m: dict) -> Outcome:
    evidence = _evidence(m)
    key, text = _key_and_text(evidence)
    per = evidence["per_activation"]
    if len(select(m["raw"], kind="train", activation="relu")) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds: no verdict.")
    a_all = all(p["time_outcome"] == "greater" for p in per.values())
    s_any = any(p["speed_outcome"] == "helps" for p in per.values())
    nil = all(p["speed_outcome"] == "none" for p in per.values())
    if a_all and s_any:
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if nil and not a_all:
        return Outcome(Verdict.REFUTED, key, evidence,
                       text + " ReLU is not the best under a matched time budget, and "
                       f"for no activation is relu's step both measurably cheaper (step-time "
                       f"ratio CI above {SLOWER:g}) and worth accuracy at matched time."
                       + _refuted_note(per))
    if a_all or s_any:
        return Outcome(Verdict.PARTLY, key, evidence, text + (
            " ReLU is best under the budget, but not because it is cheaper: the advantage is "
            "the same at matched steps." if a_all else
            " Its cheaper step helps against " + ", ".join(
                a for a, p in per.items() if p["speed_outcome"] == "helps")
            + ", but relu is not measurably better than every other activation under the "
            "budget."))
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + " The intervals do not separate the outcomes; more seeds or a longer "
                   "budget would.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    design, raw = m["design"], m["raw"]
    acts, n_relu = design["acts"], design["budget_steps"]
    fig = Figure(figsize=(8, 3.8))
    ax = fig.subplots()
    xs = np.arange(len(acts))
    for k, (label, field) in enumerate([(f"matched time (that of {n_relu} relu steps)",
                                         "acc_time"), (f"matched steps ({n_relu})", "acc_step")]):
        es = [acc_est(column(raw, field, kind="train", activation=a),
                      design["n_test"][design["dataset"]]) for a in acts]
        ax.bar(xs + 0.4 * k, [e.value for e in es], 0.4, label=label, yerr=error_bars(es),
               capsize=2)
    for x, a in zip(xs, acts):
        steps = column(raw, "steps_time", kind="train", activation=a)[0]
        ax.annotate(f"{steps} steps", (x, 0.02), ha="center", fontsize=7, color="white")
    ax.set_xticks(xs + 0.2, acts, fontsize=8)
    ax.set_ylabel("test accuracy (95% CI)")
    ax.legend(fontsize=7)
    ax.set_title("C10: accuracy at a matched time budget vs at matched steps", fontsize=9)
    fig.tight_layout()
    fig.savefig(figures_dir / "c10_budget_accuracy.png", dpi=110)
    return ["c10_budget_accuracy.png"]
