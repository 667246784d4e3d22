"""C07: "ReLU resembles the activation mechanism of biological neurons" (article §2.2.4).

The article: 类似于生物神经元的激活机制. Not testable here: the statement is an analogy, and
reluthe has no neural recordings to test it against. What is computable is shown next to what the
literature reports for cortex:

* how many ReLU units are active (output > 0) on real inputs (mnist1d test split, MLP
  40-64-64-10), at initialisation (torch default and He init) and after training, against the
  1–4 % of cortical neurons estimated to be active at a time (Lennie 2003, cited by Glorot,
  Bordes & Bengio 2011); one row per (stage, hidden layer, model seed);
* that relu is unbounded (limit +∞, by sympy), while a neuron's firing rate saturates (the
  refractory period caps it) — as do tanh and sigmoid (limits 1); in ``design``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sympy as sp
import torch

from reluthe import data
from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import proportion_est
from reluthe.claims._records import column
from reluthe.claims.architectures._plot import new_figure, save
from reluthe.models import mlp
from reluthe.train import Recipe, train_mlps

WIDTHS = [40, 64, 64, 10]
CORTEX_ACTIVE = (0.01, 0.04)  # Lennie 2003 via Glorot et al. 2011
FULL = {"seeds": 5, "steps": 300}
QUICK = {"seeds": 2, "steps": 30}
INITS = ("default", "he")

RULE = (
    "Not testable: 'resembles biological neurons' is an analogy and no neural data are available "
    "here, so no measurement can confirm or refute it; the verdict is NOT TESTABLE whatever the "
    "numbers. Shown for context (5 seeds): the share of ReLU units with output > 0 on mnist1d "
    "test inputs for an MLP 40-64-64-10 at init (default, He) and after 300 Adam steps, against "
    "the 1-4% of cortical neurons active at a time (Lennie 2003; Glorot et al. 2011); and "
    "relu's limit at +infinity (sympy) against the saturating firing rate of real neurons."
)


def _limits() -> dict:
    x = sp.Symbol("x", real=True)
    funcs = {"relu": sp.Max(0, x), "tanh": sp.tanh(x), "sigmoid": 1 / (1 + sp.exp(-x))}
    return {name: str(sp.limit(f, x, sp.oo)) for name, f in funcs.items()}


def _active_fraction(weights_per_layer, x: torch.Tensor) -> list[float]:
    """Share of (input, unit) pairs with ReLU output > 0 in each hidden layer of one MLP."""
    fracs, h = [], x
    for w, b in weights_per_layer[:-1]:
        h = torch.relu(h @ w.T + b)
        fracs.append(float((h > 0).float().mean()))
    return fracs


def _rows(stage: str, seeds: list[int], per_seed: list[list[float]], **extra) -> list[dict]:
    """One row per (hidden layer, seed) of ``stage``; ``extra`` maps a field to per-seed values."""
    return [{"seed": s, "stage": stage, "layer": layer + 1, "active_fraction": per_seed[i][layer],
             **{k: v[i] for k, v in extra.items()}}
            for layer in range(len(per_seed[0])) for i, s in enumerate(seeds)]


@single_threaded
def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    seeds = ctx.seeds("model", proto["seeds"])
    data_seed = ctx.seeds("data", 1)[0]
    ds = data.load("mnist1d", seed=data_seed)
    x = ds.x_test
    raw = []
    with torch.no_grad():
        for init in INITS:
            per_seed = []
            for s in seeds:
                net = mlp(WIDTHS, "relu", init, seed=s)
                layers = [(m.weight, m.bias) for m in net if isinstance(m, torch.nn.Linear)]
                per_seed.append(_active_fraction(layers, x))
            raw += _rows(f"init ({init})", seeds, per_seed)
    res = train_mlps(ds, WIDTHS, seeds=seeds,
                     recipes=Recipe(steps=proto["steps"], eval_every=proto["steps"]),
                     device=ctx.device)
    hidden = res.hidden(x)
    trained = f"trained ({proto['steps']} steps)"
    raw += _rows(trained, seeds, [[float((h[k] > 0).float().mean()) for h in hidden]
                                  for k in range(len(seeds))],
                 test_acc=res.test_acc[:, -1].tolist())
    design = {"seeds": seeds, "data_seed": data_seed, "dataset": "mnist1d", "widths": WIDTHS,
              "steps": proto["steps"], "stages": [f"init ({i})" for i in INITS] + [trained],
              "limits_at_infinity": _limits(),
              "relu_at_1e6": float(torch.relu(torch.tensor(1e6, dtype=torch.float64))),
              "cortex_active_fraction": list(CORTEX_ACTIVE), "device": ctx.device,
              "n_test": {"mnist1d": int(len(x))}}
    return {"design": design, "raw": raw}


def _estimates(m: dict) -> dict:
    """Stage -> per hidden layer the mean active share over seeds, with its 95 % interval inside
    [0, 1] (stats.accuracy_ci on the n_test × width (input, unit) pairs of one seed)."""
    design = m["design"]
    n_layers, n_test = len(design["widths"]) - 2, design["n_test"]["mnist1d"]
    return {stage: [proportion_est(column(m["raw"], "active_fraction", stage=stage, layer=layer),
                                   n_test * design["widths"][layer])
                    for layer in range(1, n_layers + 1)]
            for stage in design["stages"]}


def decide(m: dict) -> Outcome:
    design = m["design"]
    est = {stage: [e.to_dict() for e in layers] for stage, layers in _estimates(m).items()}
    init = est["init (default)"][0]
    trained = next(v for k, v in est.items() if k.startswith("trained"))[0]
    lo, hi = design["cortex_active_fraction"]
    key = (f"relu units active: {init['value']:.0%} at init, {trained['value']:.0%} trained "
           f"(layer 1) vs ~{lo:.0%}-{hi:.0%} of cortical neurons; relu -> "
           f"{design['limits_at_infinity']['relu']} while firing rates saturate")
    return Outcome(
        Verdict.NOT_TESTABLE, key,
        {"active_fraction": est, "limits_at_infinity": design["limits_at_infinity"],
         "cortex_active_fraction": design["cortex_active_fraction"]},
        "An analogy to biology cannot be tested without neural data. What can be computed "
        "differs from cortex: about half of the ReLU units are active on a typical input (far "
        f"from the {lo:.0%}-{hi:.0%} estimated for cortical neurons, Lennie 2003 / Glorot et al. "
        "2011), and relu grows without bound (limit +oo) whereas firing rates saturate. The "
        "resemblance holds only in a weak sense: zero output below a threshold and a response "
        "that grows with the input above it, one-sided like a neuron's firing rate.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    fig, axes = new_figure(size=(5.2, 3.4))
    ax = axes[0]
    est = _estimates(m)
    stages = list(est)
    n_layers = len(est[stages[0]])
    width = 0.8 / n_layers
    for layer in range(n_layers):
        for i, stage in enumerate(stages):
            e = est[stage][layer]
            xpos = i + (layer - (n_layers - 1) / 2) * width
            ax.bar(xpos, 100 * e.value, width=width * 0.9, color=f"C{layer}",
                   label=f"hidden layer {layer + 1}" if i == 0 else None)
            if e.has_ci:
                ax.errorbar(xpos, 100 * e.value, yerr=[[100 * (e.value - e.low)],
                                                       [100 * (e.high - e.value)]],
                            color="k", capsize=3)
    lo, hi = m["design"]["cortex_active_fraction"]
    ax.axhspan(100 * lo, 100 * hi, color="tab:green", alpha=0.3,
               label="cortex, active at a time")
    ax.set_xticks(np.arange(len(stages)))
    ax.set_xticklabels(stages, fontsize=8)
    ax.set_ylabel("ReLU units active on mnist1d (%)")
    ax.set_title("C07 share of active units: ReLU MLP vs cortex", fontsize=9)
    ax.legend(fontsize=7)
    return [save(fig, figures_dir, "c07_active_fraction.png")]
