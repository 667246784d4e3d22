"""C11's rule reaches every verdict it names, on hand-built records."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.sparsity import c11_generalization as c11

MAIN = ("mnist1d", "mnist5k")
ACTS = ("relu", "gelu", "tanh", "identity")


def _design(n_data=3, n_model=3):
    settings = [{"dataset": d, "label": d, "role": "main", "activations": list(ACTS)}
                for d in MAIN]
    settings.append({"dataset": "digits", "label": "digits", "role": "sanity",
                     "activations": ["relu", "identity"]})
    return {"data_seeds": list(range(100, 100 + n_data)), "model_seeds": list(range(n_model)),
            "bootstrap_seed": 7, "fit_target": 0.95, "settings": settings}


def record(test, *, gap=None, ood=None, train=None, n_data=3, n_model=3, noise=0.002,
            diverged=()):
    """Rows for every (dataset, activation, data seed, model seed): ``test[act]`` is the mean
    test accuracy, ``gap[act]`` the gap at matched fit, ``ood[act]`` the OOD accuracy,
    ``train[act]`` the train accuracy at the checkpoint; small seeded noise per unit."""
    rng = np.random.default_rng(0)
    design = _design(n_data, n_model)
    raw = []
    for s in design["settings"]:
        for act in s["activations"]:
            for d in design["data_seeds"]:
                for m in design["model_seeds"]:
                    t = test.get(act, 0.8) + rng.normal(0, noise)
                    g = (gap or {}).get(act, 0.1) + rng.normal(0, noise)
                    row = {"dataset": s["dataset"], "activation": act, "data_seed": d,
                           "seed": m, "lr": 0.01, "diverged": (act, d, m) in diverged,
                           "best_step": 100, "test_acc": t,
                           "train_acc": (train or {}).get(act, 0.99), "val_acc": t, "gap": g,
                           "fit_reached": True, "fit_test_acc": t, "fit_train_acc": t + g,
                           "fit_gap": g}
                    if s["dataset"] == "mnist1d":
                        row["ood_acc"] = (ood or {}).get(act, 0.5) + rng.normal(0, noise)
                    raw.append(row)
    return {"design": design, "raw": raw}


def test_relu_ahead_on_every_measure_is_supported():
    out = c11.decide(record({"relu": 0.85, "gelu": 0.80, "tanh": 0.80, "identity": 0.5},
                             gap={"relu": 0.05, "gelu": 0.1, "tanh": 0.1},
                             ood={"relu": 0.6, "gelu": 0.5, "tanh": 0.5}))
    assert out.verdict is Verdict.SUPPORTED, out.explanation
    assert out.evidence["counts"]["win"] == 4


def test_relu_tied_with_other_nonlinearities_is_partly():
    out = c11.decide(record({"relu": 0.8, "gelu": 0.8, "tanh": 0.8, "identity": 0.5}))
    assert out.verdict is Verdict.PARTLY
    assert out.evidence["counts"]["tie"] == 4


def test_a_larger_gap_at_matched_fit_blocks_supported():
    out = c11.decide(record({"relu": 0.85, "gelu": 0.80, "tanh": 0.80, "identity": 0.5},
                             gap={"relu": 0.2, "gelu": 0.1, "tanh": 0.1}))
    assert out.verdict is Verdict.PARTLY
    assert out.evidence["gap_counts"]["loss"] == 4


def test_relu_behind_the_others_is_refuted():
    out = c11.decide(record({"relu": 0.75, "gelu": 0.80, "tanh": 0.80, "identity": 0.5}))
    assert out.verdict is Verdict.REFUTED
    assert out.evidence["counts"]["loss"] == 4


def test_relu_below_the_linear_floor_is_refuted():
    out = c11.decide(record({"relu": 0.8, "gelu": 0.8, "tanh": 0.8, "identity": 0.85}))
    assert out.verdict is Verdict.REFUTED


@pytest.mark.parametrize("n_data,n_model", [(2, 3), (3, 2)])
def test_too_few_seeds_is_inconclusive(n_data, n_model):
    out = c11.decide(record({"relu": 0.85}, n_data=n_data, n_model=n_model))
    assert out.verdict is Verdict.INCONCLUSIVE
    assert "needs >= 3" in out.explanation


def test_an_unclear_floor_is_inconclusive():
    out = c11.decide(record({"relu": 0.8, "gelu": 0.8, "tanh": 0.8, "identity": 0.79},
                             noise=0.05))
    assert out.verdict is Verdict.INCONCLUSIVE


def test_the_fit_clause_is_symmetric():
    """A loss of an under-fitted relu is not counted, just as a win over an under-fitted
    other activation is not."""
    behind = c11.decide(record({"relu": 0.75, "gelu": 0.8, "tanh": 0.8, "identity": 0.5},
                                train={"relu": 0.8, "gelu": 0.99, "tanh": 0.99}))
    assert behind.evidence["counts"]["loss"] == 0
    assert behind.evidence["counts"]["fit differs"] == 4
    ahead = c11.decide(record({"relu": 0.85, "gelu": 0.8, "tanh": 0.8, "identity": 0.5},
                               train={"relu": 0.99, "gelu": 0.8, "tanh": 0.8}))
    assert ahead.evidence["counts"]["win"] == 0
    assert all("other not fitted" in c["result"] for c in ahead.evidence["test_accuracy"])


def test_diverged_units_are_named_and_excluded():
    out = c11.decide(record({"relu": 0.85, "gelu": 0.80, "tanh": 0.80, "identity": 0.5},
                             diverged={("gelu", 100, 0)}))
    gelu = [c for c in out.evidence["test_accuracy"] if c["other"] == "gelu"]
    assert all(c["excluded_units"] == [[100, 0]] and c["n_units"] == 8 for c in gelu)
