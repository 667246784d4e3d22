"""C24's rule reaches every verdict it names, on hand-built records."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.sparsity import c24_hidden_layers as c24

MAIN = ("mnist1d", "mnist5k")


def record(drop: dict, n_data=3, n_model=3, noise=0.002, mse_ratio=5.0):
    """Accuracy 0.9 without an output activation, ``0.9 - drop[dataset]`` with ReLU on it."""
    rng = np.random.default_rng(0)
    design = {"data_seeds": list(range(10, 10 + n_data)), "model_seeds": list(range(n_model)),
              "bootstrap_seed": 3,
              "settings": [{"dataset": d, "label": d, "role": "main"} for d in MAIN],
              "teacher": {"negative_target_share": 0.8, "nonnegative_floor_mse": 1.0}}
    raw = []
    for d in design["data_seeds"]:
        for m in design["model_seeds"]:
            unit = {"data_seed": d, "seed": m, "lr": 0.01, "diverged": False}
            for name in MAIN:
                for arm, acc in (("none", 0.9), ("relu", 0.9 - drop[name])):
                    raw.append(unit | {"task": "classification", "dataset": name, "arm": arm,
                                       "test_acc": acc + rng.normal(0, noise),
                                       "all_zero_test": 0.0})
            for arm, mse in (("none", 0.2), ("relu", 0.2 * mse_ratio)):
                raw.append(unit | {"task": "regression", "dataset": "teacher", "arm": arm,
                                   "test_mse": mse * np.exp(rng.normal(0, 0.01))})
    return {"design": design, "raw": raw}


@pytest.mark.parametrize("drop,verdict", [
    ({"mnist1d": 0.05, "mnist5k": 0.05}, Verdict.SUPPORTED),
    ({"mnist1d": 0.05, "mnist5k": 0.0}, Verdict.PARTLY),
    ({"mnist1d": 0.0, "mnist5k": -0.03}, Verdict.REFUTED),
])
def test_classification_carries_the_verdict(drop, verdict):
    out = c24.decide(record(drop))
    assert out.verdict is verdict, out.explanation
    assert out.evidence["regression_log_mse_ratio"]["low"] > 0  # reported in every case


def test_regression_harm_alone_does_not_support_the_claim():
    out = c24.decide(record({"mnist1d": 0.0, "mnist5k": 0.0}, mse_ratio=10.0))
    assert out.verdict is Verdict.REFUTED


def test_unclear_classification_and_too_few_seeds_are_inconclusive():
    noisy = c24.decide(record({"mnist1d": 0.01, "mnist5k": 0.01}, noise=0.05))
    assert noisy.verdict is Verdict.INCONCLUSIVE
    few = c24.decide(record({"mnist1d": 0.05, "mnist5k": 0.05}, n_data=2))
    assert few.verdict is Verdict.INCONCLUSIVE and "needs >= 3" in few.explanation
