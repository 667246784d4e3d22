"""C17's rule reaches each of its outcomes on records built by hand (no training)."""

from __future__ import annotations

import copy

import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c17_mymodel as c17

DATA, MODEL = (10, 11, 12), (0, 1, 2)
GOOD = {"regions": 50, "acc": {"relu": 0.60, "linear": 0.30, "leaky_0.1": 0.55,
                               "leaky_0.3": 0.54},
        "neg": {"leaky_0.1": 0.15, "leaky_0.3": 0.33}, "zero": 0.5,
        "grad": {"init": -0.4, "trained": -0.2, "sigmoid": -0.9, "tanh": -0.8}}


def _jitter(d: int, s: int) -> float:
    """A small, cell-dependent wobble so that every interval has a width."""
    return 0.002 * ((d * 3 + s) % 5)


def _twin(arm: str, d: int, s: int, spec: dict) -> dict:
    acc = spec["acc"][arm] + _jitter(d, s) * (1 + (arm == "relu"))
    return {"seed": s, "data_seed": d, "kind": "twin", "arm": arm, "lr": 0.01,
            "best_step": 400.0, "test_acc": acc, "train_acc": acc + 0.15, "val_acc": acc,
            "diverged": False,
            "zero_share": spec["zero"] if arm == "relu" else (None if arm == "linear" else 0.0),
            "neg_mass_share": (None if arm == "linear" else
                               0.0 if arm == "relu" else spec["neg"][arm] + _jitter(d, s))}


def _mymodel(d: int, s: int, spec: dict) -> dict:
    g, z = spec["grad"], spec["zero"]
    return {"seed": s, "data_seed": d, "kind": "mymodel",
            "init_zero_share": [0.5, 0.5], "trained_zero_share": [z, z],
            "init_dead_units": [0.0, 0.0], "trained_dead_units": [0.0, 0.05],
            "init_log10_grad_ratio": g["init"] + _jitter(d, s),
            "trained_log10_grad_ratio": g["trained"] + _jitter(d, s),
            "init_zero_grad_share": [0.5, 0.5], "trained_zero_grad_share": [0.5, 0.5],
            "trained_regions": spec["regions"], "trained_linear_regions": spec["regions"],
            "init_max_abs_diff": 0.0, "output_max_abs_diff": 0.0}


def _record(spec: dict = GOOD, model=MODEL) -> dict:
    raw = []
    for d in DATA:
        for s in model:
            raw += [_twin(a, d, s, spec) for a in c17.ARMS]
            raw.append(_mymodel(d, s, spec))
            raw += [{"seed": s, "data_seed": d, "kind": "init_flow", "activation": a,
                     "log10_grad_ratio": spec["grad"][a] + 2 * _jitter(d, s)}
                    for a in c17.SATURATING]
    design = {"data_seeds": list(DATA), "model_seeds": list(model), "bootstrap_seed": 0,
              "n_test": {str(d): 1000 for d in DATA}, "dataset": "mnist1d length=100"}
    return {"design": design, "raw": raw}


def _spec(**changes) -> dict:
    spec = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if isinstance(value, dict):
            spec[key].update(value)
        else:
            spec[key] = value
    return spec


def test_all_purposes_met_is_supported():
    out = c17.decide(_record())
    assert out.evidence["purposes"] == {"nonlinearity": "supported",
                                        "sparsity": "supported", "gradient_flow": "supported"}
    assert out.verdict == Verdict.SUPPORTED


def test_sparse_twin_tie_is_partly():
    out = c17.decide(_record(_spec(acc={"leaky_0.1": 0.60, "leaky_0.3": 0.60})))
    assert out.evidence["purposes"]["sparsity"] == "refuted"
    assert out.verdict == Verdict.PARTLY and "Not supported: sparsity (refuted)." in out.explanation


def test_nothing_supported_and_one_refuted_is_refuted():
    spec = _spec(regions=1, acc={"leaky_0.1": 0.60, "leaky_0.3": 0.60},
                 grad={"init": -2.0, "trained": -2.0})
    out = c17.decide(_record(spec))
    assert set(out.evidence["purposes"].values()) == {"refuted"}
    assert out.verdict == Verdict.REFUTED


def test_nothing_decided_is_inconclusive():
    """Linear gap straddling its margin, twins that do not fill in the zeros (a slope of 0.01),
    and ReLU better than sigmoid but tied with tanh: no purpose is decided."""
    rec = _record(_spec(neg={"leaky_0.1": 0.01, "leaky_0.3": 0.01},
                        grad={"tanh": -0.4}))
    for r in rec["raw"]:
        if r["kind"] == "twin" and r["arm"] == "linear":
            r["test_acc"] = 0.6 - 0.05 * DATA.index(r["data_seed"])
    out = c17.decide(rec)
    assert set(out.evidence["purposes"].values()) == {"unclear"}
    assert out.evidence["sparsity"]["tests_purpose"] == {"leaky_0.1": False,
                                                         "leaky_0.3": False}
    assert out.evidence["gradient_flow"]["compare"] == {"sigmoid": "greater", "tanh": "tie"}
    assert out.verdict == Verdict.INCONCLUSIVE and "no contrast" in out.explanation


def test_fewer_than_min_seeds_is_inconclusive():
    out = c17.decide(_record(model=MODEL[:2]))
    assert out.verdict == Verdict.INCONCLUSIVE and "Fewer than 3" in out.explanation


def test_diverged_runs_are_named_and_dropped():
    rec = _record(model=(0, 1, 2, 3))
    bad = next(r for r in rec["raw"] if r["kind"] == "twin" and r["arm"] == "leaky_0.3")
    bad.update(diverged=True, test_acc=0.1)
    out = c17.decide(rec)
    assert out.verdict == Verdict.SUPPORTED and out.evidence["usable_cells"] == 11
    assert out.evidence["diverged_runs"] == ["leaky_0.3 (data seed 10, model seed 0)"]
    assert "Excluded (diverged): leaky_0.3" in out.explanation
    rec = _record()
    rec["raw"][0]["diverged"] = True  # data seed 10 keeps only 2 usable model seeds
    out = c17.decide(rec)
    assert out.verdict == Verdict.INCONCLUSIVE and "diverged: relu" in out.explanation


@pytest.mark.parametrize("change, purpose", [
    ({"zero": 0.1}, "sparsity"),  # not sparse: sparsity cannot be the mechanism
    ({"grad": {"init": -0.4, "sigmoid": -0.4, "tanh": -0.45}}, "gradient_flow"),
    ({"grad": {"trained": 1.5}}, "gradient_flow"),  # explodes after training
    ({"acc": {"linear": 0.6}}, "nonlinearity"),
])
def test_each_purpose_can_be_refuted(change, purpose):
    out = c17.decide(_record(_spec(**change)))
    assert out.evidence["purposes"][purpose] == "refuted"
    assert out.verdict == Verdict.PARTLY


def test_rule_states_its_thresholds():
    for value in (c17.NONLINEAR_MARGIN, c17.SPARSE_MARGIN, c17.SPARSE_MIN, c17.DENSE_MIN,
                  c17.GRAD_MARGIN):
        assert f"{value}" in c17.RULE
