"""C21's rule reaches each of its verdicts on hand-built records (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims.architectures import c21_autoencoder

ACTS = list(c21_autoencoder.ACTIVATIONS)
LRS = [3e-3, 1e-2]
CODES = [4, 16]
PCA = 2.0


def _offsets(arm: int, n: int) -> np.ndarray:
    """Per-unit offsets: mean 0, a different order for every arm."""
    return np.roll(np.arange(n) - (n - 1) / 2, arm)


def _measure(ratios: dict[tuple[str, int], dict[str, float]], n: int = 5,
             jitter: float = 0.005) -> dict:
    """Rows for every (dataset, code, activation, lr, unit): the first learning rate has the
    lower validation error and the given mean ratio to PCA, the second is 0.3 x PCA worse."""
    raw = []
    for (d, c), r in ratios.items():
        for i, a in enumerate(ACTS):
            for j, lr in enumerate(LRS):
                for u in range(n):
                    mse = PCA * (r[a] + 0.3 * j + jitter * _offsets(i, n)[u])
                    raw.append({"seed": u, "data_seed": 100 + u, "dataset": d, "code": c,
                                "activation": a, "lr": lr, "val_mse": mse, "best_step": 300,
                                "test_mse": mse, "train_mse": mse, "pca_test_mse": PCA,
                                "diverged": False})
    design = {"activations": ACTS, "datasets": sorted({d for d, _ in ratios}), "codes": CODES,
              "seeds": list(range(n)), "data_seeds": [100 + u for u in range(n)], "lrs": LRS,
              "steps": 500, "hidden": 64}
    return {"design": design, "raw": raw}


GOOD = {"relu": 0.8, "tanh": 0.9, "identity": 1.0}
SAME = {"relu": 1.0, "tanh": 0.9, "identity": 1.0}
WORSE = {"relu": 1.2, "tanh": 0.9, "identity": 1.0}


def _cells(*per_cell: dict) -> dict:
    keys = [(d, c) for d in ("mnist1d", "mnist5k") for c in CODES]
    return dict(zip(keys, per_cell))


@pytest.mark.parametrize("cells, verdict", [
    (_cells(GOOD, GOOD, GOOD, GOOD), Verdict.SUPPORTED),
    (_cells(GOOD, WORSE, GOOD, GOOD), Verdict.PARTLY),       # one bottleneck goes the other way
    (_cells(SAME, WORSE, SAME, SAME), Verdict.REFUTED),
    (_cells(SAME, SAME, SAME, SAME), Verdict.INCONCLUSIVE),  # ties: neither better nor worse
    (_cells(GOOD, GOOD, {"relu": .5, "tanh": .9, "identity": 1.3}, GOOD),
     Verdict.INCONCLUSIVE),                                   # harness fails in one cell
])
def test_every_verdict(cells, verdict):
    out = c21_autoencoder.decide(_measure(cells))
    assert out.verdict is verdict, out.explanation
    e = out.evidence["mnist1d c=4"]["relu_minus_linear"]
    assert e["method"].startswith("paired-t; bonferroni CI (family of 4)")
    assert set(out.evidence["mnist5k c=16"]["lr"].values()) == {LRS[0]}


def test_failed_harness_names_the_cell():
    out = c21_autoencoder.decide(_measure(
        _cells(GOOD, GOOD, {"relu": .5, "tanh": .9, "identity": 1.3}, GOOD)))
    assert "Harness" in out.explanation and "mnist5k c=4" in out.explanation


def test_too_few_units_is_inconclusive():
    out = c21_autoencoder.decide(_measure(_cells(GOOD, GOOD, GOOD, GOOD), n=MIN_SEEDS - 1))
    assert out.verdict is Verdict.INCONCLUSIVE and f"Fewer than {MIN_SEEDS}" in out.explanation


def test_diverged_runs_are_named_and_left_out():
    m = _measure(_cells(GOOD, GOOD, GOOD, GOOD))
    for row in m["raw"]:
        if row["activation"] == "relu" and row["seed"] == 1 and row["code"] == 4:
            row.update(diverged=True, test_mse=math.nan, val_mse=math.nan)
    out = c21_autoencoder.decide(m)
    assert out.verdict is Verdict.SUPPORTED
    assert "relu lr=0.003 unit seed 1" in out.explanation
    assert out.evidence["mnist1d c=4"]["relu_minus_linear"]["n"] == 4
    for row in m["raw"]:  # all but two linear runs of one cell diverged: too few units
        if row["activation"] == "identity" and row["seed"] < 3 and row["dataset"] == "mnist5k":
            row.update(diverged=True, test_mse=math.nan)
    assert c21_autoencoder.decide(m).verdict is Verdict.INCONCLUSIVE


def test_units_are_paired():
    """A unit effect shared by the arms hides relu's gain from Welch but not from pairing."""
    m = _measure(_cells(*[{"relu": .9, "tanh": .9, "identity": 1.0}] * 4))
    for row in m["raw"]:
        row["test_mse"] += PCA * 0.2 * (row["seed"] - 2)  # the same shift in every arm
    out = c21_autoencoder.decide(m)
    assert out.verdict is Verdict.SUPPORTED
    assert out.evidence["mnist5k c=16"]["relu_minus_linear"]["high"] < -0.02


def test_learning_rate_is_chosen_on_validation_not_test():
    m = _measure(_cells(SAME, SAME, SAME, SAME))
    for row in m["raw"]:  # relu's second rate: worse on validation, far better on test
        if row["lr"] == LRS[1] and row["activation"] == "relu":
            row["test_mse"] = 0.1 * PCA
    out = c21_autoencoder.decide(m)
    assert out.evidence["mnist1d c=4"]["lr"]["relu"] == LRS[0]
    assert out.verdict is Verdict.INCONCLUSIVE
