"""C02's rule reaches every verdict it names, on hand-built records."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.sparsity import c02_expressivity as c02


def record(acc, *, ratio=2.0, n_data=3, n_model=3, over=False, noise=0.003):
    """``acc[act]``: mean test accuracy; ``ratio``: trained / init region count."""
    rng = np.random.default_rng(0)
    sweeps = [{"kind": k, "value": v, "hidden": h, "bounds": {"serra_upper": 10_000}}
              for k, v, h in (("width", 4, [4]), ("width", 8, [8]), ("depth", 1, [8]),
                              ("depth", 2, [8, 8]))]
    design = {"data_seeds": list(range(5, 5 + n_data)), "model_seeds": list(range(n_model)),
              "bootstrap_seed": 1, "widths": [2, 8, 8, 2], "sweeps": sweeps,
              "trained_shape": {"hidden": [8, 8], "bounds": {"serra_upper": 10_000}},
              "n_test": {"spirals": 250}}
    raw = []
    for d in design["data_seeds"]:
        for m in design["model_seeds"]:
            for act in ("relu", "tanh", "identity"):
                raw.append({"part": "fit", "activation": act, "data_seed": d, "seed": m,
                            "lr": 0.01, "diverged": False, "train_acc": 1.0,
                            "test_acc": min(1.0, acc[act] + rng.normal(0, noise))})
            init = 40 + int(rng.integers(0, 5))
            trained = 20_000 if over else int(init * ratio * np.exp(rng.normal(0, 0.02)))
            raw += [{"part": "trained_regions", "stage": "init", "data_seed": d, "seed": m,
                     "count": init},
                    {"part": "trained_regions", "stage": "trained", "data_seed": d, "seed": m,
                     "count": trained}]
    for s in sweeps:
        raw += [{"part": "sweep", "kind": s["kind"], "value": s["value"], "seed": m,
                 "count": 5 * s["value"] + m} for m in design["model_seeds"]]
    return {"design": design, "raw": raw}


GOOD = {"relu": 0.97, "tanh": 0.96, "identity": 0.6}


def test_fit_beyond_linear_as_good_as_tanh_and_more_regions_is_supported():
    assert c02.decide(record(GOOD)).verdict is Verdict.SUPPORTED


@pytest.mark.parametrize("changes", [{"acc": {**GOOD, "tanh": 0.995}}, {"ratio": 0.5}])
def test_behind_tanh_or_fewer_regions_after_training_is_partly(changes):
    out = c02.decide(record(changes.get("acc", GOOD), ratio=changes.get("ratio", 2.0)))
    assert out.verdict is Verdict.PARTLY, out.explanation


def test_no_better_than_linear_is_refuted():
    assert c02.decide(record({"relu": 0.62, "tanh": 0.96, "identity": 0.6})).verdict \
        is Verdict.REFUTED


def test_too_few_seeds_a_count_above_its_bound_or_a_weak_fit_are_inconclusive():
    assert c02.decide(record(GOOD, n_model=2)).verdict is Verdict.INCONCLUSIVE
    over = c02.decide(record(GOOD, over=True))
    assert over.verdict is Verdict.INCONCLUSIVE and "upper bound" in over.explanation
    weak = c02.decide(record({"relu": 0.8, "tanh": 0.8, "identity": 0.6}))
    assert weak.verdict is Verdict.INCONCLUSIVE
