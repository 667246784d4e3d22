"""C10's rule on hand-built learning curves and step timings: every verdict is reachable."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe._runner import check_outcome
from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c10_compute_budget as c10

GRID = list(range(0, 81, 10))
DATA, MODEL, LRS = [10, 11, 12], [0, 1, 2], [3e-3, 1e-2]


def _curve(tau, plateau, offset):
    t = np.asarray(GRID, dtype=float)
    return np.clip(plateau * (1 - np.exp(-t / tau)) + 0.1 + offset, 0, 1).round(5).tolist()


def _record(tau, ratio, *, plateau=0.6, data_noise=0.001, repeats=8, seeds=MODEL, lr_gap=0.05):
    """relu learns with time constant 20 steps; tanh and sigmoid with ``tau`` and a step
    ``ratio`` × relu's; ``data_noise`` shifts the others' curves per data seed; the larger
    learning rate's curves lie ``lr_gap`` lower."""
    rng = np.random.default_rng(0)
    raw = [{"seed": 500 + r, "kind": "timing", "repeat": r, "label": "step", "activation": a,
            "seconds": 1e-3 * (1.0 if a == "relu" else ratio) * (1 + 0.005 * rng.standard_normal())}
           for r in range(repeats) for a in ("relu", "tanh", "sigmoid")]
    for d in DATA:
        shift = data_noise * rng.standard_normal()
        for a in ("relu", "tanh", "sigmoid"):
            for lr in LRS:
                for s in seeds:
                    off = 0.0005 * s + (0.0 if a == "relu" else shift) - (lr_gap if lr == 1e-2
                                                                             else 0.0)
                    curve = _curve(20 if a == "relu" else tau, plateau, off)
                    raw.append({"seed": s, "kind": "curve", "data_seed": d, "activation": a,
                                "lr": lr, "diverged": False, "val_acc": curve,
                                "test_acc": curve})
    design = {"acts": ["relu", "tanh", "sigmoid"], "data_seeds": DATA, "model_seeds": list(seeds),
              "eval_steps": GRID, "eval_every": 10, "steps": 80, "budgets": [20, 40, 80],
              "lrs": LRS, "device": "cpu", "timing_threads": 1, "n_test": 1000}
    return {"design": design, "raw": raw}


@pytest.mark.parametrize("tau, ratio, noise, verdict", [
    (20, 2.0, 0.001, Verdict.SUPPORTED),  # same curve per step, step twice as dear
    (40, 1.0, 0.001, Verdict.PARTLY),  # relu learns faster per step, steps cost the same
    (20, 1.0, 0.001, Verdict.REFUTED),  # identical curves and step costs
    (20, 1.0, 0.2, Verdict.INCONCLUSIVE),  # data seeds disagree: intervals straddle
])
def test_every_verdict_is_reachable(tau, ratio, noise, verdict):
    out = check_outcome(c10.decide(_record(tau, ratio, data_noise=noise)))  # a JSON record
    assert out.verdict == verdict, out.explanation
    assert set(out.evidence["per_activation"]) == {"tanh", "sigmoid"}


def test_the_step_ratio_sets_the_other_arms_steps_and_widens_the_interval():
    ev = c10.decide(_record(20, 2.0)).evidence["per_activation"]["tanh"]
    assert ev["budgets"]["40"]["other_steps"] == 20
    assert ev["step_cheaper"] and ev["time_state"] == "relu faster"
    assert ev["time_to_target_ratio"]["value"] == pytest.approx(2.0, rel=0.05)
    e = ev["budgets"]["40"]["relu_minus_other"]
    assert e["low"] < e["value"] < e["high"] and "bonferroni" in e["method"]


def test_a_diverged_member_is_named_and_excluded():
    m = _record(20, 2.0, lr_gap=0.0)
    row = next(r for r in m["raw"] if r["kind"] == "curve" and r["activation"] == "tanh")
    row["diverged"], row["val_acc"] = True, [0.0] * len(GRID)
    out = c10.decide(m)
    assert out.evidence["diverged"] == [f"tanh lr {row['lr']:g} data {row['data_seed']} seed "
                                        f"{row['seed']}"]
    assert "diverged and excluded" in out.explanation
    assert out.verdict == Verdict.SUPPORTED  # the other learning rate still has 3 seeds


@pytest.mark.parametrize("change, reason", [
    ({"seeds": MODEL[:2]}, "usable model seeds"),
    ({"repeats": 5}, "timing repeats"),
])
def test_too_little_evidence_is_inconclusive(change, reason):
    out = c10.decide(_record(20, 2.0, **change))
    assert out.verdict == Verdict.INCONCLUSIVE and reason in out.explanation
