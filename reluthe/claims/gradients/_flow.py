"""Gradient flow at initialisation, shared by C05 and C15.

Both claims build MLPs of several activations × inits × depths from the run's model seeds and
measure, on one MNIST-1D batch drawn with the run's probe seed, the gradient of the loss with
respect to each hidden layer's pre-activations (:func:`reluthe.probes.gradients.gradient_flow`,
float64, on CPU). C15 also compares every per-layer ratio with the bound ``sup|f'| · ‖W‖₂``.
"""

from __future__ import annotations

import numpy as np

from reluthe.claims._records import column, select
from reluthe.claims.gradients._common import (
    MIN_SEEDS,
    batch,
    data_seed,
    est,
    flow_state,
    mnist1d,
)

INITS = ("default", "he", "xavier")
DEVICE_NOTE = ("gradient_flow takes no device: it probes a float64 copy of each network on "
               "the CPU")


def flow_design(ctx, cfg: dict) -> dict:
    """The design of a flow measurement: ``cfg`` plus the seeds and the device."""
    return {**cfg, "model_seeds": ctx.seeds("model", cfg["seeds"]), "data_seed": data_seed(ctx),
            "batch_seed": ctx.seeds("probe", 1)[0], "dataset": "mnist1d", "device": "cpu",
            "device_note": DEVICE_NOTE}


def probe_batch(design: dict):
    """The MNIST-1D batch of ``design``, at which every network is probed."""
    return batch(mnist1d(design["data_seed"]), design["batch"], design["batch_seed"])


def flow_rows(ctx, design: dict, x, y, sups: dict | None = None) -> list[dict]:
    """One row per (activation, init, depth, seed); with ``sups``, the per-layer bound too."""
    items = [{"act": a, "init": i, "depths": design["depths"], "width": design["width"],
              "seeds": design["model_seeds"], "x": x, "y": y,
              "sup": None if sups is None else sups[a]}
             for a in design["acts"] for i in design["inits"]]
    return [r for rows in ctx.map(_flow_unit, items) for r in rows]


def _flow_unit(item: dict) -> list[dict]:
    """All depths and seeds of one (activation, init): one gradient_flow per network."""
    from reluthe.models import mlp
    from reluthe.probes.gradients import gradient_flow

    out = []
    x, y, spectral = item["x"], item["y"], item["sup"] is not None
    for depth in item["depths"]:
        for seed in item["seeds"]:
            widths = [x.shape[1]] + [item["width"]] * depth + [10]
            net = mlp(widths, item["act"], item["init"], seed=seed)
            f = gradient_flow(net, x, y, seed=seed, spectral=spectral)
            g = np.log10(f.preact_grad_norm)
            row = {"seed": seed, "activation": item["act"], "init": item["init"],
                   "depth": depth, "log10_ratio": f.log10_ratio(),
                   "log10_weight_ratio": float(np.log10(f.weight_grad_norm[0])
                                               - np.log10(f.weight_grad_norm[-1]))}
            if spectral:
                row.update(_bound_fields(f, item["sup"]))
            else:
                row.update({"log10_grad": np.round(g - g[-1], 4).tolist(),
                            "zero_grad_share": np.round(f.zero_grad_share, 5).tolist(),
                            "log10_act_var": np.round(np.log10(f.act_var), 4).tolist()})
            out.append(row)
    return out


def _bound_fields(f, sup: float) -> dict:
    """Per-layer per-input ratios ‖δ_l‖/‖δ_{l+1}‖ against sup|f'|·‖W_{l+1}‖₂."""
    s = f.sample_grad_norm  # (A, n)
    spec = f.weight_spectral_norm  # weights W_1 .. W_{A+1}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s[:-1] / s[1:]  # (A-1, n): layer l from layer l+1
    bound = sup * spec[1:-1]  # W_{l+1} for l = 1..A-1
    excess = ratio / bound[:, None]
    ok = np.isfinite(excess)
    with np.errstate(divide="ignore"):
        per_input = np.log10(s[0]) - np.log10(s[-1])
    per_input = per_input[np.isfinite(per_input)]
    return {"max_ratio_over_bound": float(excess[ok].max()) if ok.any() else float("nan"),
            "n_checked": int(ok.sum()),
            "median_layer_ratio": float(np.median(ratio[ok])) if ok.any() else float("nan"),
            "layer_bound": bound.tolist(),
            "log10_bound_product": float(np.sum(np.log10(bound))),
            "median_log10_input_ratio": float(np.median(per_input)) if per_input.size
            else float("nan"),
            "contracting_layers": float(np.mean(bound < 1.0))}


def ratio_cell(raw: list[dict], activation: str, init: str, depth: int) -> tuple:
    """``(estimate, state)`` of log10(first / last gradient) over the seeds of one cell."""
    e = est(column(raw, "log10_ratio", activation=activation, init=init, depth=depth))
    return e, flow_state(e)


def too_few_seeds(raw: list[dict], design: dict) -> bool:
    """True when some (activation, init, depth) cell has fewer than MIN_SEEDS seeds."""
    return any(len(select(raw, activation=a, init=i, depth=d)) < MIN_SEEDS
               for a in design["acts"] for i in design["inits"] for d in design["depths"])
