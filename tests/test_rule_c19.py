"""C19's rule (relu vs tanh RNNs) driven to each of its verdicts by hand-built records, and the
named errors of its RNN harness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reluthe.claims._base import Verdict
from reluthe.claims.architectures import c19_rnn
from reluthe.claims.architectures._rnn import Member, task_data, train_rnns
from reluthe.errors import InvalidInputError

DATA, MODEL, LRS = [10, 11, 12], [0, 1, 2], [3e-3, 1e-2]
TRIVIAL = 1 / 6


def _jitter(ds: int, s: int) -> float:
    """A small per-run offset, different for every (data seed, model seed)."""
    return 0.001 * ((3 * (ds - 10) + s) % 5 - 2)


def _measure(value, tasks=("adding20",), data=DATA, model=MODEL) -> dict:
    """Rows built by hand: ``value(task, act, cond, lr, ds, s) -> (val, test, diverged)``."""
    metric = {"adding20": "mse", "mnist1d": "accuracy"}
    raw = []
    for t in tasks:
        for a in c19_rnn.ACTIVATIONS:
            for c in c19_rnn.CONDITIONS:
                for lr in LRS:
                    for ds in data:
                        for s in model:
                            val, test, div = value(t, a, c, lr, ds, s)
                            raw.append({"seed": s, "data_seed": ds, "task": t, "activation": a,
                                        "condition": c, "lr": lr, "val_metric": val,
                                        "test_metric": test, "diverged": div})
    specs = {t: {"metric": metric[t], "trivial_loss": TRIVIAL if t == "adding20" else 2.3,
                 "failure_value": TRIVIAL if t == "adding20" else 0.1, "length": 20,
                 "steps": 1, "n_test": 500} for t in tasks}
    design = {"seeds": list(model), "data_seeds": list(data), "conditions": c19_rnn.CONDITIONS,
              "activations": list(c19_rnn.ACTIVATIONS), "lrs": LRS, "tasks": specs,
              "n_test": {t: 500 for t in tasks}}
    return {"design": design, "raw": raw}


def _mse(relu: float, tanh: float, bad_cells=()):
    """Every run at ``relu`` / ``tanh`` MSE; relu in ``bad_cells`` has one diverged run."""
    def value(t, a, c, lr, ds, s):
        v = (relu if a == "relu" else tanh) + _jitter(ds, s)
        if a == "relu" and c in bad_cells and (ds, s) == (10, 0):
            return TRIVIAL, TRIVIAL, True
        return v, v, False
    return value


def test_supported_when_relu_learns_and_beats_tanh_everywhere():
    out = c19_rnn.decide(_measure(_mse(0.01, 0.03)))
    assert out.verdict is Verdict.SUPPORTED
    assert all(v["works"] for v in out.evidence["cells"]["adding20"].values())


def test_partly_names_the_cell_with_a_diverged_relu_run():
    out = c19_rnn.decide(_measure(_mse(0.01, 0.03, bad_cells=("gaussian",))))
    assert out.verdict is Verdict.PARTLY
    assert "adding20/gaussian (relu runs diverged: data 10/model 0" in out.explanation
    assert "relu runs diverged: adding20/gaussian (data 10/model 0)" in out.key


def test_refuted_when_relu_never_learns_and_tanh_does():
    assert c19_rnn.decide(_measure(_mse(0.16, 0.02))).verdict is Verdict.REFUTED


def test_inconclusive_when_neither_learns():
    out = c19_rnn.decide(_measure(_mse(0.16, 0.16)))
    assert out.verdict is Verdict.INCONCLUSIVE and "budget" in out.explanation
    assert len(out.evidence["uninformative"]) == len(c19_rnn.CONDITIONS)


@pytest.mark.parametrize("data, model", [(DATA[:2], MODEL), (DATA, MODEL[:2])])
def test_inconclusive_with_fewer_than_three_data_or_model_seeds(data, model):
    out = c19_rnn.decide(_measure(_mse(0.01, 0.03), data=data, model=model))
    assert out.verdict is Verdict.INCONCLUSIVE and "fewer than 3" in out.explanation


def test_cells_where_neither_learns_do_not_count():
    def value(t, a, c, lr, ds, s):
        v = 0.16 if c == "identity" else (0.01 if a == "relu" else 0.03)
        return v + _jitter(ds, s), v + _jitter(ds, s), False
    out = c19_rnn.decide(_measure(value))
    assert out.verdict is Verdict.SUPPORTED
    assert out.evidence["uninformative"] == ["adding20/identity"]


def test_learning_rate_is_chosen_on_validation_not_test():
    def value(t, a, c, lr, ds, s):
        if a == "relu":  # lr 3e-3: best validation, worse test; lr 1e-2 the reverse
            val, test = (0.01, 0.05) if lr == 3e-3 else (0.05, 0.001)
            return val + _jitter(ds, s), test + _jitter(ds, s), False
        return 0.03 + _jitter(ds, s), 0.03 + _jitter(ds, s), False
    out = c19_rnn.decide(_measure(value))
    cell = out.evidence["cells"]["adding20"]["gaussian"]
    assert cell["relu_lr"] == 3e-3 and cell["relu"]["value"] == pytest.approx(0.05, abs=0.002)
    assert out.evidence["selected_lr"]["adding20/gaussian"] == {"relu": 3e-3, "tanh": 3e-3}
    assert not cell["not_worse"] and out.verdict is Verdict.REFUTED


def test_relu_worse_than_tanh_on_accuracy_does_not_work():
    def value(t, a, c, lr, ds, s):
        v = (0.5 if a == "relu" else 0.6) + _jitter(ds, s)
        return v, v, False
    out = c19_rnn.decide(_measure(value, tasks=("mnist1d",)))
    cells = out.evidence["cells"]["mnist1d"]
    assert out.verdict is Verdict.REFUTED
    assert all(v["learns"] and not v["not_worse"] for v in cells.values())
    assert all(0 <= v["relu"]["low"] <= v["relu"]["high"] <= 1 for v in cells.values())


def test_a_data_seed_effect_shared_by_the_arms_cancels_in_the_paired_difference():
    def value(t, a, c, lr, ds, s):
        v = (0.02 if a == "relu" else 0.035) + 0.02 * (ds - 11) + _jitter(ds, s)
        return v, v, False
    diff = c19_rnn.decide(_measure(value)).evidence["cells"]["adding20"]["gaussian"][
        "relu_minus_tanh"]
    assert diff["n"] == 3 and diff["high"] < -0.01


def test_harness_raises_named_errors():
    with pytest.raises(InvalidInputError):
        task_data("copy", 20, [0], None)
    with pytest.raises(InvalidInputError):
        task_data("mnist1d", 30, [0], None)
    d = task_data("adding", 6, [0], {"train": 40, "val": 10, "test": 10})
    with pytest.raises(InvalidInputError):
        train_rnns([Member("relu", "gaussian", None, 1e-3, 1, 0)], d, [0], hidden=4, batch=8,
                   steps=2, evals=1)


def test_harness_scores_a_diverged_run_as_trivial():
    torch.manual_seed(0)
    d = task_data("adding", 8, [0], {"train": 64, "val": 16, "test": 16})
    members = [Member("relu", "identity", None, lr, 0, 0) for lr in (1e-3, 1e9)]
    ok, blown = train_rnns(members, d, [0], hidden=8, batch=16, steps=4, evals=2)
    assert not ok["diverged"] and np.isfinite(ok["test_metric"])
    assert blown["diverged"] and blown["test_metric"] == pytest.approx(d.trivial)


def test_full_run_task_at_length_200_runs_end_to_end():
    """The adding problem at 200 steps, which only ``--full`` trains, runs on a tiny budget (the
    quick run covers mnist1d)."""
    out = c19_rnn.run_task("adding200", ("adding", 200, 2), [5], [0], [1e-3])
    assert out["run"]["metric"] == "mse" and out["run"]["length"] == 200
    assert len(out["rows"]) == 2 * len(c19_rnn.CONDITIONS)
    assert all(r["task"] == "adding200" and np.isfinite(r["test_metric"]) for r in out["rows"])
