"""C06: ReLU's max operation is cheaper to compute than sigmoid or tanh.

The article (§2.2.3): ReLU needs only a comparison with zero, whereas sigmoid and tanh need
exponentials, so ReLU is cheaper to compute. Measured by interleaved timing
(``reluthe.probes.speed``) on one CPU thread: forward + backward of each activation alone on
tensors of 2^14, 2^17 and 2^20 elements (and forward alone), and a whole MLP training step with
each activation, as ratios to relu per repeat. On a CUDA run (``--device cuda``) the same
timings are made on the GPU too and reported beside the CPU ones; the verdict uses the CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.gradients._common import pct
from reluthe.claims.gradients._timing import SLOWER, STEP_WIDTHS, timing_of, timing_rows
from reluthe.stats import Estimate, mean_ci, median_ratio_ci

NAMED = ("tanh", "sigmoid")  # the alternatives the article names (§2.2.3)
TIMINGS = ("alone", "alone_forward", "step")

RULE = (
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


def _config(quick: bool) -> dict:
    if quick:
        return {"names": ["relu", "tanh", "sigmoid"], "sizes": [2**12, 2**16], "repeats": 7,
                "number": 3, "widths": [40, 32, 10], "batch": 64}
    return {"names": ["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus"],
            "sizes": [2**14, 2**17, 2**20], "repeats": 25, "number": 10,
            "widths": STEP_WIDTHS, "batch": 128}


def _time(design: dict, dev: str) -> dict:
    """The three timings of ``design`` on ``dev``: timing name -> TimingResult."""
    from reluthe.probes.speed import time_activations, time_training_steps

    common = {"repeats": design["repeats"], "number": design["number"], "device": dev,
              "seed": design["timing_seed"]}
    return {"alone": time_activations(design["names"], design["sizes"], **common),
            "alone_forward": time_activations(design["names"], design["sizes"],
                                              backward=False, **common),
            "step": time_training_steps(design["names"], design["widths"],
                                        batch_size=design["batch"], **common)}


def measure(ctx) -> dict:
    """Rows: one per (device, timing, repeat, label, activation) with the measured seconds and
    the timing seed; design: sizes, repeats, widths, devices and torch threads per timing."""
    devices = ["cpu"] + (["cuda"] if ctx.device == "cuda" else [])
    design = {**_config(ctx.quick), "timing_seed": ctx.seeds("timing", 1)[0],
              "devices": devices, "device": ctx.device,
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
    """Timing name -> TimingResult on ``dev``, rebuilt from the record."""
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


def _pooled(timing, name: str) -> Estimate:
    """Ratio to relu pooled over sizes: per repeat the mean log ratio, then the median ratio."""
    secs = np.log(timing.seconds)  # (repeats, sizes, names)
    j, ref = timing.names.index(name), timing.names.index("relu")
    return median_ratio_ci((secs[:, :, j] - secs[:, :, ref]).mean(1))


def _evidence(m: dict) -> dict:
    t = _timings(m, "cpu")
    alone, step = t["alone"], t["step"]
    n_hidden = len(m["design"]["widths"]) - 2
    per = {}
    for n in (n for n in alone.names if n != "relu"):
        pooled = _pooled(alone, n)
        per[n] = {"alone": {lab: alone.ratio(lab, n).to_dict() for lab in alone.labels},
                  "alone_pooled": pooled.to_dict(),
                  "forward_only_pooled": _pooled(t["alone_forward"], n).to_dict(),
                  "alone_state": _status(pooled),
                  "step": step.ratio("step", n).to_dict(),
                  "step_state": _status(step.ratio("step", n)),
                  "share_of_step": _share(step, n, n_hidden).to_dict()}
    evidence = {"cpu": per, "relu_share_of_step": _share(step, "relu", n_hidden).to_dict(),
                "margin": SLOWER, "threads": alone.threads}
    if "cuda" in m["design"]["devices"]:
        g = _timings(m, "cuda")
        evidence["cuda"] = {n: {"alone_largest": g["alone"].ratio(g["alone"].labels[-1],
                                                                  n).to_dict(),
                                "step": g["step"].ratio("step", n).to_dict()} for n in per}
    return evidence


def _key_and_text(m: dict, ev: dict) -> tuple[str, str]:
    per, relu_share = ev["cpu"], Estimate(**ev["relu_share_of_step"])
    names = list(per)
    labels = list(per[names[0]]["alone"])
    small, big = labels[0], labels[-1]

    def r(n, lab):
        return per[n]["alone"][lab]["value"]

    def s(n):
        return per[n]["step"]["value"]

    named = [n for n in NAMED if n in per]
    key = (f"alone ({small}/{big.split('=')[1]} elements): "
           + ", ".join(f"{n} {r(n, small):.1f}/{r(n, big):.1f}×"
                       for n in names if n not in ("leaky_relu", "softplus"))
           + "; training step: " + ", ".join(f"{n} {s(n):.2f}×" for n in named)
           + f"; relu = {100 * relu_share.value:.0f}% of a step")
    text = (f"Alone, the activations cost {', '.join(f'{r(n, small):.1f}×' for n in names)} "
            f"relu's time at {small} elements ({', '.join(names)}) and "
            f"{', '.join(f'{r(n, big):.1f}×' for n in names)} at {big}; inside a training step of "
            f"a {'-'.join(map(str, m['design']['widths']))} MLP the whole step takes "
            + ", ".join(f"{s(n):.2f}× ({n})" for n in names)
            + f" relu's step, because the activation is only {pct(relu_share)} (relu) to "
            + ", ".join(f"{pct(per[n]['share_of_step'])} ({n})" for n in named)
            + " of it: matrix products dominate.")
    text += (" Forward only (no backward; not part of the rule), the pooled ratios are "
             + ", ".join(f"{per[n]['forward_only_pooled']['value']:.1f}× ({n})" for n in names)
             + ": larger, because in training relu's own backward and autograd's fixed "
             "cost per call are paid by every activation alike.")
    return key, text


def decide(m: dict) -> Outcome:
    evidence = _evidence(m)
    key, text = _key_and_text(m, evidence)
    per = evidence["cpu"]
    named = [n for n in NAMED if n in per]
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


def plot(m: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    t = _timings(m, "cpu")
    alone, step = t["alone"], t["step"]
    names = [n for n in alone.names if n != "relu"]
    fig = Figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.8 / len(alone.labels)
    xs = np.arange(len(names))

    def bars(ax, timing, label, offset, legend, color=None):
        es = [timing.ratio(label, n) for n in names]
        ax.bar(xs + offset, [e.value for e in es], width, label=legend, color=color,
               yerr=[[e.value - (e.low or e.value) for e in es],
                     [(e.high or e.value) - e.value for e in es]], capsize=2)

    for k, lab in enumerate(alone.labels):
        bars(ax1, alone, lab, k * width, lab)
    ax1.axhline(1, color="k", lw=0.7)
    ax1.axhline(SLOWER, color="grey", lw=0.7, ls="--")
    ax1.set_xticks(xs + 0.4 - width / 2, names, fontsize=8)
    ax1.set_ylabel("time / relu's time")
    ax1.set_title("activation alone (forward + backward)", fontsize=9)
    ax1.legend(fontsize=7)
    bars(ax2, step, "step", 0, "whole training step", "C7")
    ax2.axhline(1, color="k", lw=0.7)
    ax2.axhline(SLOWER, color="grey", lw=0.7, ls="--")
    ax2.set_xticks(xs, names, fontsize=8)
    ax2.set_title(f"training step of a {'-'.join(map(str, m['design']['widths']))} MLP",
                  fontsize=9)
    fig.suptitle("C06: cost relative to relu, interleaved, 1 CPU thread (95% CI over repeats)")
    fig.tight_layout()
    fig.savefig(figures_dir / "c06_cost_ratios.png", dpi=110)
    return ["c06_cost_ratios.png"]
