"""C16 (§3.3): a ReLU layer computes z = Wx + b, then a = max(0, z).

Measured: torch ``nn.Linear(100, 64)`` + ``nn.ReLU`` (the article's first layer), with weights,
bias and a batch of 256 inputs drawn from a seeded ``torch.Generator``, run on the run's device
and compared with ``max(0, Wx + b)`` in numpy float64 against Higham's worst-case rounding bound
for a dot product (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. 2002,
§3.1). Rows: one per model seed and dtype (float64, float32).
"""

from __future__ import annotations

import numpy as np

from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims.symbolic._common import DTYPES

__all__ = ["RULE", "measure", "decide", "plot"]

RULE = (
    "For 5 seeds (ctx.seeds('model', 5)) and dtypes float64 and float32, build torch "
    "nn.Linear(100, 64) + nn.ReLU (the article's first layer) with weights, bias and a batch of"
    " 256 inputs drawn from a seeded torch.Generator (N(0,1), with 16 inputs chosen so that "
    "some pre-activations are exactly 0). Supported if for every seed and dtype (a) torch's "
    "ReLU output equals numpy's maximum(0, z) bit for bit on torch's own z, and (b) torch's z "
    "and output differ from numpy float64 Wx + b and max(0, Wx + b) (same inputs, cast exactly)"
    " by at most Higham's bound gamma_(n+1) * (|W||x| + |b|) with gamma_k = k u / (1 - k u), u "
    "the unit roundoff of the dtype, n the fan-in. Refuted if any seed or dtype fails."
)

plot = None

SHAPE = {"in": 100, "out": 64, "batch": 256}
N_SEEDS = 5
N_ZERO_INPUTS = 16


def _layer(seed: int, dtype_name: str, device: str):
    """The seeded layer and batch, on ``device``; unit 0 has bias 0 and the first inputs are 0."""
    import torch
    from torch import nn

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG
        lin = nn.Linear(SHAPE["in"], SHAPE["out"], dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(SHAPE["out"], SHAPE["in"], generator=gen,
                                     dtype=torch.float64).to(dtype))
        lin.bias.copy_(torch.randn(SHAPE["out"], generator=gen, dtype=torch.float64).to(dtype))
        xb = torch.randn(SHAPE["batch"], SHAPE["in"], generator=gen,
                         dtype=torch.float64).to(dtype)
        xb[:N_ZERO_INPUTS] = 0.0  # z = b there; zero the bias of unit 0 so that z = 0 occurs
        lin.bias[0] = 0.0
    return lin.to(device), xb.to(device)


def _one_run(seed: int, dtype_name: str, device: str) -> dict:
    """torch's z and ReLU output against float64 numpy, as fractions of the rounding bound."""
    import torch
    from torch import nn

    lin, xb = _layer(seed, dtype_name, device)
    with torch.no_grad():
        z_t = lin(xb)
        a_t = nn.ReLU()(z_t)
    w = lin.weight.detach().to("cpu", torch.float64).numpy()
    b = lin.bias.detach().to("cpu", torch.float64).numpy()
    x64 = xb.to("cpu", torch.float64).numpy()
    z_np = x64 @ w.T + b
    a_np = np.maximum(0.0, z_np)
    scale = np.abs(x64) @ np.abs(w).T + np.abs(b)
    u = float(torch.finfo(getattr(torch, dtype_name)).eps) / 2
    k = w.shape[1] + 1
    gamma = k * u / (1 - k * u)
    zt, at = z_t.to("cpu", torch.float64).numpy(), a_t.to("cpu", torch.float64).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_z = np.where(scale > 0, np.abs(zt - z_np) / scale, 0.0)
        ratio_a = np.where(scale > 0, np.abs(at - a_np) / scale, 0.0)
    return {
        "seed": seed, "dtype": dtype_name, "gamma": gamma,
        "relu_bitwise_equal": bool(np.array_equal(at, np.maximum(0.0, zt))),
        "max_z_error_over_scale": float(ratio_z.max()),
        "max_a_error_over_scale": float(ratio_a.max()),
        "within_bound": bool(ratio_z.max() <= gamma and ratio_a.max() <= gamma),
        "n_exact_zero_preactivations": int((zt == 0).sum()),
        "sparsity": float((at == 0).mean()),
    }


def measure(ctx: Context) -> dict:
    """One run per model seed and dtype on ``ctx.device``."""
    seeds = ctx.seeds("model", N_SEEDS)
    raw = [_one_run(s, dt, ctx.device) for s in seeds for dt in DTYPES]
    return {"design": {"seeds": seeds, "dtypes": list(DTYPES), "shape": dict(SHAPE),
                       "n_zero_inputs": N_ZERO_INPUTS, "device": ctx.device},
            "raw": raw}


def decide(measured: dict) -> Outcome:
    """Supported when every run's ReLU is bit-exact and z is within the rounding bound."""
    runs = measured["raw"]
    bitwise = all(r["relu_bitwise_equal"] for r in runs)
    bounded = all(r["within_bound"] for r in runs)
    worst = {dt: max(r["max_z_error_over_scale"] / r["gamma"] for r in runs if r["dtype"] == dt)
             for dt in measured["design"]["dtypes"]}
    evidence = {"n_runs": len(runs), "relu_bitwise_equal": bitwise, "within_bound": bounded,
                "worst_error_as_fraction_of_bound": worst,
                "exact_zero_preactivations": sum(r["n_exact_zero_preactivations"] for r in runs),
                "runs": runs}
    key = (f"{len(runs)} runs: relu bit-exact {bitwise}; Wx+b within Higham bound {bounded} "
           f"(worst {max(worst.values()):.2g} of the bound)")
    if bitwise and bounded:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "torch's Linear+ReLU computes max(0, Wx + b): the ReLU is exact on "
                       "torch's z (z = 0 gives 0), and z differs from float64 Wx + b only by "
                       "floating-point rounding, within the worst-case dot-product bound.")
    return Outcome(Verdict.REFUTED, key, evidence, "See the failing runs in evidence.")
