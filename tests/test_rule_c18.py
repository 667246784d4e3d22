"""C18's rule reaches each of its verdicts on hand-built records (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims.architectures import c18_cnn
from reluthe.claims.architectures._cnn import CNNSpec
from reluthe.errors import InvalidInputError

ACTS = list(c18_cnn.ACTIVATIONS)
LRS = [1e-2, 3e-2]


def _offsets(arm: int, n: int) -> np.ndarray:
    """Per-unit offsets: mean 0, a different order for every arm."""
    return np.roll(np.arange(n) - (n - 1) / 2, arm)


def _measure(accs: dict[str, dict[str, float]], n: int = 6, jitter: float = 0.002) -> dict:
    """Rows for every (dataset, activation, lr, unit): the first learning rate has the better
    validation score and the given mean test accuracy, the second is 10 points worse."""
    raw = []
    for d, means in accs.items():
        for i, a in enumerate(ACTS):
            for j, lr in enumerate(LRS):
                for u in range(n):
                    acc = means[a] - 0.10 * j + jitter * _offsets(i, n)[u]
                    raw.append({"seed": u, "data_seed": 100 + u, "dataset": d, "activation": a,
                                "lr": lr, "val_acc": acc, "best_step": 500, "test_acc": acc,
                                "train_acc": acc + 0.05, "diverged": False})
    design = {"activations": ACTS, "datasets": list(accs), "seeds": list(range(n)),
              "data_seeds": [100 + u for u in range(n)], "lrs": LRS, "steps": 600,
              "n_test": {d: 1000 for d in accs}}
    return {"design": design, "raw": raw}


def _accs(relu=0.90, best=None, tanh=0.80, sigmoid=0.70, **other):
    out = {"relu": relu, "gelu": relu if best is None else best, "elu": relu - 0.03,
           "leaky_relu": relu, "tanh": tanh, "sigmoid": sigmoid}
    return {**out, **other}


@pytest.mark.parametrize("mnist1d, mnist5k, verdict", [
    (_accs(), _accs(0.97, tanh=0.95, sigmoid=0.93), Verdict.SUPPORTED),
    # the case: gelu significantly better than relu (by 2.4 pp) is not "top tier"
    (_accs(best=0.924), _accs(0.97, tanh=0.95, sigmoid=0.93), Verdict.PARTLY),
    # relu beats tanh but not sigmoid on mnist5k: not "beats saturating" there
    (_accs(), _accs(0.97, tanh=0.95, sigmoid=0.97), Verdict.PARTLY),
    # saturating activations as good as relu everywhere: no gain of 1 pp possible
    (_accs(tanh=0.905, sigmoid=0.90), _accs(0.97, tanh=0.975, sigmoid=0.97), Verdict.REFUTED),
])
def test_every_verdict(mnist1d, mnist5k, verdict):
    out = c18_cnn.decide(_measure({"mnist1d": mnist1d, "mnist5k": mnist5k}))
    assert out.verdict is verdict, out.explanation
    e = out.evidence["mnist1d"]["relu_minus"]["tanh"]
    assert e["method"].startswith("paired-t; bonferroni CI (family of 5)")
    assert out.evidence["mnist1d"]["lr"]["relu"] == LRS[0]


def test_significantly_worse_relu_is_named_and_not_top_tier():
    out = c18_cnn.decide(_measure({"mnist1d": _accs(best=0.924),
                                   "mnist5k": _accs(0.97, tanh=0.95, sigmoid=0.93)}))
    f = out.evidence["mnist1d"]
    assert not f["top_tier"] and f["significantly_better_than_relu"] == ["gelu"]
    assert f["relu_minus"]["gelu"]["high"] < 0
    assert "gelu is significantly more accurate than relu" in out.explanation


def test_unclear_intervals_are_inconclusive():
    noisy = _measure({"mnist1d": _accs(tanh=0.895, sigmoid=0.895),
                      "mnist5k": _accs(0.90, tanh=0.895, sigmoid=0.895)}, jitter=0.03)
    out = c18_cnn.decide(noisy)
    assert out.verdict is Verdict.INCONCLUSIVE and "neither" in out.explanation


def test_too_few_units_is_inconclusive_but_reported():
    out = c18_cnn.decide(_measure({"mnist1d": _accs(), "mnist5k": _accs(0.97)},
                                  n=MIN_SEEDS - 1))
    assert out.verdict is Verdict.INCONCLUSIVE and f"Fewer than {MIN_SEEDS}" in out.explanation
    assert out.evidence["mnist1d"]["relu"]["high"] <= 1.0


def test_diverged_runs_are_named_and_left_out():
    m = _measure({"mnist1d": _accs(), "mnist5k": _accs(0.97, tanh=0.95, sigmoid=0.93)})
    for row in m["raw"]:
        if row["activation"] == "sigmoid" and row["seed"] == 0:
            row.update(diverged=True, test_acc=math.nan, val_acc=math.nan)
    out = c18_cnn.decide(m)
    assert out.verdict is Verdict.SUPPORTED
    assert "sigmoid lr=0.01 unit seed 0" in out.explanation
    assert out.evidence["mnist1d"]["relu_minus"]["sigmoid"]["n"] == 5
    for row in m["raw"]:  # every relu run diverged on mnist1d: no eligible rate, no verdict
        if row["activation"] == "relu" and row["dataset"] == "mnist1d":
            row.update(diverged=True, test_acc=math.nan)
    out = c18_cnn.decide(m)
    assert out.verdict is Verdict.INCONCLUSIVE and out.evidence["mnist1d"]["lr"]["relu"] is None


def test_learning_rate_is_chosen_on_validation_not_test():
    m = _measure({"mnist1d": _accs(), "mnist5k": _accs(0.97, tanh=0.95, sigmoid=0.93)})
    for row in m["raw"]:  # the second rate: worse on validation, far better on test
        if row["lr"] == LRS[1]:
            row["test_acc"] = 0.99
    out = c18_cnn.decide(m)
    assert set(out.evidence["mnist5k"]["lr"].values()) == {LRS[0]}
    assert out.evidence["mnist1d"]["means"]["relu"] == pytest.approx(0.90)


@pytest.mark.parametrize("shape, convs", [
    ((1, 2, 8, 8), ((4, 3, 1, 1),)),   # 3-D input: no grouped conv3d
    ((40,), ((4, 3, 1, 1),)),          # no channel dimension
    ((1, 8), ((4, 9, 1, 0),)),         # kernel longer than the input
    ((1, 8), ((4, 3, 0, 1),)),         # stride 0
    ((1, 8), ()),                      # no convolution
])
def test_a_cnn_the_stacked_trainer_cannot_run_is_a_named_error(shape, convs):
    with pytest.raises(InvalidInputError):
        CNNSpec(shape, convs)
