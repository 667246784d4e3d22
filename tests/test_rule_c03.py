"""C03's rule reaches each of its verdicts on hand-built records."""

from __future__ import annotations

import numpy as np

from reluthe.claims._base import Verdict
from reluthe.claims.sparsity import c03_sparse_activation as c03

PLAN = {"dataset": "mnist5k", "hidden": [256, 256, 256], "size": 14, "l1_activity": 0.3}
DESIGN = {"bootstrap_seed": 0, "main": ["mnist1d", "mnist5k"], "glorot": PLAN, "anchors": {}}


def _rows(dataset: str, zeros, n_data: int = 3, n_model: int = 3, part: str = "arm",
          activation: str = "relu", spread: float = 0.01) -> list[dict]:
    """One row per (data seed, model seed) with per-layer exact zeros around ``zeros``."""
    rng = np.random.default_rng(len(dataset) + int(100 * zeros[0]))
    out = []
    for d in range(n_data):
        for m in range(n_model):
            z = np.clip(np.asarray(zeros) + spread * rng.standard_normal(len(zeros)), 0, 1)
            out.append({"part": part, "dataset": dataset, "activation": activation,
                        "data_seed": d, "seed": 10 + m, "diverged": False,
                        "zero_test": z.tolist(), "init_zero_test": [0.5] * len(zeros),
                        "dead_train": [0.0] * len(zeros), "zero_fraction": float(z.mean()),
                        "test_acc": 0.9, "lr": 0.01})
    return out


def _measured(mnist1d, mnist5k, **kw) -> dict:
    raw = _rows("mnist1d", mnist1d, **kw) + _rows("mnist5k", mnist5k, **kw)
    raw += _rows("mnist1d", [0.0, 0.0], activation="tanh", spread=0.0)
    raw += _rows("mnist5k", [0.8, 0.8, 0.8], part="glorot")
    return {"design": DESIGN, "raw": raw}


def test_supported_when_every_layer_mixes_active_and_inactive_units():
    out = c03.decide(_measured([0.5, 0.6], [0.3, 0.4]))
    assert out.verdict == Verdict.SUPPORTED
    assert out.evidence["glorot"]["zero_fraction"]["value"] > 0.7


def test_partly_when_some_layers_are_almost_all_zero():
    assert c03.decide(_measured([0.5, 0.6], [0.99, 0.995])).verdict == Verdict.PARTLY


def test_refuted_when_no_layer_is_sparse():
    assert c03.decide(_measured([0.01, 0.02], [0.01, 0.005])).verdict == Verdict.REFUTED


def test_inconclusive_with_too_few_data_seeds():
    out = c03.decide(_measured([0.5, 0.6], [0.3, 0.4], n_data=2))
    assert out.verdict == Verdict.INCONCLUSIVE and "2 data seed" in out.explanation


def test_inconclusive_when_an_interval_straddles_a_threshold():
    m = _measured([0.5, 0.6], [0.3, 0.4])
    for r in m["raw"]:
        if r["part"] == "arm" and r["dataset"] == "mnist5k" and r["activation"] == "relu":
            r["zero_test"][1] = (0.02, 0.05, 0.09)[r["data_seed"]]
    assert c03.decide(m).verdict == Verdict.INCONCLUSIVE


def test_diverged_members_are_named_and_excluded():
    m = _measured([0.5, 0.6], [0.3, 0.4])
    for r in m["raw"]:
        if r["dataset"] == "mnist1d" and r["activation"] == "relu" and r["data_seed"] == 0:
            r["diverged"], r["zero_test"] = True, [float("nan")] * 2
    out = c03.decide(m)
    assert out.verdict == Verdict.INCONCLUSIVE  # 2 data seeds left on mnist1d
    assert len(out.evidence["diverged"]) == 3 and "mnist1d/relu data seed 0" in out.explanation


def record(n_data: int = 3) -> dict:
    """A C03 record with ``n_data`` data seeds (sparse layers everywhere)."""
    return _measured([0.5, 0.6], [0.3, 0.4], n_data=n_data)
