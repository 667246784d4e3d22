"""C06: ReLU's max operation is cheaper to compute than sigmoid or tanh.

The article (§2.2.3): ReLU needs only a comparison with zero, whereas sigmoid and tanh need
exponentials, so ReLU is cheaper to compute. Measured with ``torch.utils.benchmark`` (blocked
autorange after a warm-up, CPU time of the process, one torch thread), interleaved per repeat
in a shuffled order (:mod:`reluthe.claims.gradients._timing`): each activation alone on
float32 tensors of 2^14, 2^17 and 2^20 elements, forward + backward (training) and forward
only (inference), and a whole MLP training step with each activation, as ratios to relu within
each repeat; the repeats are the seeds of the ``timing`` stream. On a CUDA run
(``--device cuda``) the same timings are made on the GPU too and reported beside the CPU ones;
the verdict uses the CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.gradients._common import pct
from reluthe.claims.gradients._timing import (
    SLOWER,
    STEP_WIDTHS,
    TIMER_NOTE,
    activation_tasks,
    step_tasks,
    time_interleaved,
    timing_of,
    timing_rows,
)
from reluthe.stats import Estimate, mean_ci

NAMED = ("tanh", "sigmoid")  # the alternatives the article names (§2.2.3)
TIMINGS = ("alone", "forward_only", "step")
MIN_REPEATS = 6  # the fewest repeats with a 95 % order-statistic interval of a median

RULE = (
    "Statistic: time of an activation / time of relu on 1 CPU thread, each time the median "
    "per-call CPU time of torch.utils.benchmark's blocked_autorange (warm-up, then blocks of "
    "calls), the activations timed interleaved in an order shuffled per repeat, one repeat per "
    "timing seed (8 by default, 25 with --full); the median of the per-repeat ratios with a "
    "distribution-free order-statistic 95 % interval (a repeat slowed by another process "
    "cannot move it). Three timings: 'training' = forward + backward of f(x) alone, "
    "'inference' = forward of f(x) alone (no autograd), each on 2^14, 2^17 and 2^20 float32 "
    "elements and pooled over the sizes (per repeat the mean log ratio of the three; each "
    "size is reported too); 'step' = forward, cross-entropy, backward and Adam of a "
    f"{'-'.join(map(str, STEP_WIDTHS))} MLP on a batch of 128 (with the activation's share of "
    f"that step reported). A ratio is 'slower' only if its CI lower bound is > {SLOWER}, "
    f"'same' if the CI lies within [1/{SLOWER}, {SLOWER}], 'faster' if the CI upper bound is "
    f"< 1/{SLOWER}, 'unclear' otherwise. Judged on tanh and sigmoid, the alternatives the "
    "article names: SUPPORTED if both are slower in training, in inference and in the step; "
    "PARTLY if at least one is slower in training or in inference but not all six ratios are "
    "slower (the saving is real per element but not everywhere, e.g. the step is dominated by "
    "matrix products); REFUTED if both are 'same' or 'faster' in training and in inference "
    "and neither step is slower; INCONCLUSIVE otherwise, or with fewer than "
    f"{MIN_REPEATS} repeats. On CUDA runs the GPU ratios are reported too; the verdict uses "
    "the CPU."
)


def _config(quick: bool, full: bool) -> dict:
    if quick:
        return {"names": ["relu", "tanh", "sigmoid"], "sizes": [2**12, 2**16], "repeats": 6,
                "min_run_time": 0.002, "widths": [40, 32, 10], "batch": 64}
    names = (["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus"] if full
             else ["relu", "gelu", "tanh", "sigmoid"])
    return {"names": names, "sizes": [2**14, 2**17, 2**20], "repeats": 25 if full else 8,
            "min_run_time": 0.05 if full else 0.01, "widths": STEP_WIDTHS, "batch": 128}


def _time(design: dict, dev: str) -> dict:
    """The three timings of ``design`` on ``dev``: timing name -> Timing."""
    names, sizes, seeds = design["names"], design["sizes"], design["timing_seeds"]
    size_labels = [f"n={s}" for s in sizes]
    common = {"seeds": seeds, "min_run_time": design["min_run_time"], "device": dev}
    return {
        "alone": time_interleaved(lambda s: activation_tasks(names, sizes, s, dev), names,
                                  size_labels, **common),
        "forward_only": time_interleaved(
            lambda s: activation_tasks(names, sizes, s, dev, backward=False), names,
            size_labels, **common),
        "step": time_interleaved(lambda s: step_tasks(names, design["widths"], design["batch"],
                                                      s, dev), names, ["step", "activation"],
                                 **common)}


def measure(ctx) -> dict:
    """Rows: one per (device, timing, repeat, label, activation) with the measured seconds and
    the repeat's timing seed; design: sizes, seeds, widths, devices and threads per timing."""
    cfg = _config(ctx.quick, ctx.full)
    devices = ["cpu"] + (["cuda"] if ctx.device == "cuda" else [])
    design = {**cfg, "timing_seeds": ctx.seeds("timing", cfg["repeats"]),
              "devices": devices, "device": ctx.device, "timer": TIMER_NOTE,
              "device_note": "timed on the CPU always (the verdict uses the CPU ratios) and "
                             "also on CUDA when the run's device is cuda (reported beside)",
              "threads": {}}
    raw = []
    for dev in devices:
        ctx.log(f"C06: timing activations on {dev}")
        timings = _time(design, dev)
        design["threads"][dev] = {name: t.threads for name, t in timings.items()}
        raw += [row for name, t in timings.items()
                for row in timing_rows(t, device=dev, timing=name)]
    return {"design": design, "raw": raw}


def _timings(m: dict, dev: str) -> dict:
    """Timing name -> Timing on ``dev``, rebuilt from the record."""
    threads = m["design"]["threads"][dev]
    return {name: timing_of(select(m["raw"], device=dev, timing=name), dev, threads[name])
            for name in TIMINGS}


def _share(step, name: str, n_hidden: int) -> Estimate:
    """Share of a training step spent in the activation: n_hidden × alone / step, per repeat."""
    j = step.names.index(name)
    return mean_ci(n_hidden * step.seconds[:, 1, j] / step.seconds[:, 0, j])


def _status(e: Estimate) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low > SLOWER:
        return "slower"
    if e.high <= SLOWER and e.low >= 1 / SLOWER:
        return "same"
    if e.high < 1 / SLOWER:
        return "faster"
    return "unclear"


def _evidence(m: dict) -> dict:
    t = _timings(m, "cpu")
    alone, forward, step = t["alone"], t["forward_only"], t["step"]
    n_hidden = len(m["design"]["widths"]) - 2
    per = {}
    for n in (n for n in alone.names if n != "relu"):
        pooled, fwd = alone.pooled(alone.labels, n), forward.pooled(forward.labels, n)
        per[n] = {"alone": {lab: alone.ratio(lab, n).to_dict() for lab in alone.labels},
                  "alone_pooled": pooled.to_dict(), "alone_state": _status(pooled),
                  "forward_only": {lab: forward.ratio(lab, n).to_dict()
                                   for lab in forward.labels},
                  "forward_only_pooled": fwd.to_dict(), "forward_state": _status(fwd),
                  "step": step.ratio("step", n).to_dict(),
                  "step_state": _status(step.ratio("step", n)),
                  "share_of_step": _share(step, n, n_hidden).to_dict()}
    evidence = {"cpu": per, "relu_share_of_step": _share(step, "relu", n_hidden).to_dict(),
                "margin": SLOWER, "threads": alone.threads, "repeats": len(alone.seeds),
                "timer": m["design"]["timer"]}
    if "cuda" in m["design"]["devices"]:
        g = _timings(m, "cuda")
        evidence["cuda"] = {n: {"alone_largest": g["alone"].ratio(g["alone"].labels[-1],
                                                                  n).to_dict(),
                                "forward_only_largest": g["forward_only"].ratio(
                                    g["forward_only"].labels[-1], n).to_dict(),
                                "step": g["step"].ratio("step", n).to_dict()} for n in per}
    return evidence


def _key_and_text(m: dict, ev: dict) -> tuple[str, str]:
    per, relu_share = ev["cpu"], Estimate(**ev["relu_share_of_step"])
    names = list(per)
    named = [n for n in NAMED if n in per]

    def v(n, field):
        return per[n][field]["value"]

    key = ("training/inference/step vs relu: "
           + ", ".join(f"{n} {v(n, 'alone_pooled'):.2f}/{v(n, 'forward_only_pooled'):.2f}/"
                       f"{v(n, 'step'):.2f}×" for n in names)
           + f"; relu = {100 * relu_share.value:.0f}% of a step")
    labels = list(per[names[0]]["alone"])
    small, big = labels[0], labels[-1]
    text = (f"On {ev['repeats']} interleaved repeats ({ev['timer']}), the activation alone "
            "costs, relative to relu, in training (forward + backward) "
            + ", ".join(f"{per[n]['alone'][small]['value']:.1f}×/"
                        f"{per[n]['alone'][big]['value']:.1f}× ({n})" for n in names)
            + f" at {small.split('=')[1]}/{big.split('=')[1]} elements (pooled over sizes: "
            + ", ".join(f"{Estimate(**per[n]['alone_pooled'])} {n}" for n in named)
            + "), and in inference (forward only) "
            + ", ".join(f"{v(n, 'forward_only_pooled'):.1f}× ({n})" for n in names)
            + " (pooled: " + ", ".join(f"{Estimate(**per[n]['forward_only_pooled'])} {n}"
                                       for n in named)
            + "): inference ratios are larger because relu's own backward and autograd's "
            "fixed cost per call are paid by every activation alike in training. Inside a "
            f"training step of a {'-'.join(map(str, m['design']['widths']))} MLP the whole "
            "step takes " + ", ".join(f"{v(n, 'step'):.2f}× ({n})" for n in names)
            + f" relu's step, because the activation is only {pct(relu_share)} (relu) to "
            + ", ".join(f"{pct(per[n]['share_of_step'])} ({n})" for n in named)
            + " of it: matrix products dominate.")
    return key, text


def _states(per: dict, n: str) -> list[str]:
    return [per[n][f"{t}_state"] for t in ("alone", "forward", "step")]


def decide(m: dict) -> Outcome:
    evidence = _evidence(m)
    key, text = _key_and_text(m, evidence)
    per = evidence["cpu"]
    named = [n for n in NAMED if n in per]
    if evidence["repeats"] < MIN_REPEATS:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_REPEATS} repeats: no order-statistic interval, no "
                       "verdict.")
    per_element = [n for n in named if "slower" in _states(per, n)[:2]]
    if all(_states(per, n) == ["slower"] * 3 for n in named):
        return Outcome(Verdict.SUPPORTED, key, evidence, text)
    if per_element:
        where = {n: [t for t, s in zip(("training", "inference", "step"), _states(per, n))
                     if s != "slower"] for n in named}
        return Outcome(Verdict.PARTLY, key, evidence, text + (
            f" ReLU is measurably cheaper (> {SLOWER}×) than {', '.join(per_element)} per "
            "element, but not everywhere: not slower than relu in "
            + "; ".join(f"{', '.join(w)} ({n})" for n, w in where.items() if w) + "."))
    if all(s in ("same", "faster") for n in named for s in _states(per, n)[:2]) and \
            not any(per[n]["step_state"] == "slower" for n in named):
        return Outcome(Verdict.REFUTED, key, evidence,
                       text + " Neither tanh nor sigmoid is measurably slower than relu here.")
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   text + f" The intervals straddle the {SLOWER}× margin; more repeats on a "
                   "quieter machine would separate them.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    t = _timings(m, "cpu")
    names = [n for n in t["alone"].names if n != "relu"]
    fig = Figure(figsize=(14, 3.8))
    axes = fig.subplots(1, 3, sharey=True)
    xs = np.arange(len(names))

    def bars(ax, timing, label, offset, width, legend, color=None):
        es = [timing.ratio(label, n) for n in names]
        ax.bar(xs + offset, [e.value for e in es], width, label=legend, color=color,
               yerr=[[e.value - (e.low or e.value) for e in es],
                     [(e.high or e.value) - e.value for e in es]], capsize=2)

    titles = {"alone": "activation alone, forward + backward (training)",
              "forward_only": "activation alone, forward only (inference)"}
    for ax, (name, title) in zip(axes, titles.items()):
        timing = t[name]
        width = 0.8 / len(timing.labels)
        for k, lab in enumerate(timing.labels):
            bars(ax, timing, lab, k * width, width, lab.replace("n=", "") + " elements")
        ax.set_xticks(xs + 0.4 - width / 2, names, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    bars(axes[2], t["step"], "step", 0, 0.6, "whole training step", "C7")
    axes[2].set_xticks(xs, names, fontsize=8)
    axes[2].set_title(f"training step of a {'-'.join(map(str, m['design']['widths']))} MLP",
                      fontsize=9)
    for ax in axes:
        ax.axhline(1, color="k", lw=0.7)
        ax.axhline(SLOWER, color="grey", lw=0.7, ls="--")
    axes[0].set_ylabel("time / relu's time")
    fig.suptitle("C06: cost relative to relu, interleaved, 1 CPU thread (95% CI over repeats; "
                 f"dashed: the {SLOWER}× margin)", fontsize=10)
    fig.tight_layout()
    fig.savefig(figures_dir / "c06_cost_ratios.png", dpi=110)
    return ["c06_cost_ratios.png"]
