"""C04's rule reaches each of its verdicts on records built by hand, names and drops failed
nets, and is inconclusive with too few seeds."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims._records import check_measured
from reluthe.claims.sparsity import c04_sparsity_generalization as c04

S, R, P, I = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.PARTLY, Verdict.INCONCLUSIVE
SPECS = [c04.ArmSpec("mnist1d", "relu"),
         c04.ArmSpec("mnist1d", "relu", (), (("l1_activity", 0.3),)),
         c04.ArmSpec("mnist1d", "relu", (), (("l2_activity", 0.3),)),
         c04.ArmSpec("mnist1d", "leaky_relu"),
         c04.ArmSpec("mnist1d", "leaky_relu", (), (("l1_activity", 0.3),))]
SPARSITY = (0.6, 0.77, 0.75, 0.0, 0.0)  # per arm, in SPECS order
# per arm gap at matched fit and OOD accuracy: sparser relu nets generalize better, and the L1
# penalty helps relu (exact zeros) more than leaky_relu (none)
HELPS = {"gap": (0.36, 0.30, 0.31, 0.40, 0.40), "ood": (0.40, 0.45, 0.45, 0.38, 0.38)}
HURTS = {"gap": (0.36, 0.40, 0.40, 0.30, 0.30), "ood": (0.40, 0.36, 0.36, 0.45, 0.45)}
FLAT = {"gap": (0.35,) * 5, "ood": (0.40,) * 5}


def record(means: dict | None = None, *, n_data: int = 3, n_model: int = 3, spread: float = 0.002,
           shuffled_sparsity: float = 0.5, shuffled_train: float = 1.0,
           jacobian: str = "noise", fail: tuple = ()) -> dict:
    """A C04 record: the default grid with per-arm means plus per-net noise of sd ``spread``,
    the shuffled-label control, ``jacobian`` "noise" (unrelated to the gap) or "gap" (the gap
    itself, so it tracks the gap perfectly); ``fail`` lists (arm index, data seed, model seed)
    nets that diverged."""
    means = HELPS if means is None else means
    rng = np.random.default_rng(0)
    data_seeds, model_seeds = list(range(100, 100 + n_data)), list(range(7, 7 + n_model))
    raw = []
    for i, spec in enumerate(SPECS):
        for d in data_seeds:
            for m in model_seeds:
                gap = means["gap"][i] + spread * rng.standard_normal()
                ood = means["ood"][i] + spread * rng.standard_normal()
                bad = (i, d, m) in fail
                raw.append({"part": "grid", "arm": spec.label, "dataset": "mnist1d",
                            "activation": spec.activation, "data_seed": d, "seed": m,
                            "diverged": bad, "fit_reached": not bad,
                            "fit_gap": None if bad else gap, "test_acc": 0.6,
                            "zero_fraction": SPARSITY[i] + 0.005 * rng.standard_normal()
                            if SPARSITY[i] else 0.0,
                            "jacobian": 100 * gap if jacobian == "gap" else
                            float(rng.uniform(20, 50)),
                            "ood_noisier": ood, "ood_sheared": ood, "ood_rescaled": ood})
    for d in data_seeds:
        for m in model_seeds:
            raw.append({"part": "shuffled", "dataset": "mnist1d", "data_seed": d, "seed": m,
                        "diverged": False, "train_acc": shuffled_train, "test_acc": 0.1,
                        "fit_reached": shuffled_train >= 0.95,
                        "zero_fraction": shuffled_sparsity + 0.005 * rng.standard_normal()})
    design = {"bootstrap_seed": 0, "did": c04.did_pairs(SPECS),
              "shuffled": {"lr": 3e-3, "steps": 2000}}
    return check_measured({"design": design, "raw": raw}, "C04")


def test_the_default_grid_has_one_separation_pair():
    (p,) = c04.did_pairs(SPECS)
    assert p["other"] == "leaky_relu" and p["arms"][1] == "relu + L1 activity 0.3"


def test_supported_when_sparsity_helps_beyond_regularisation():
    out = c04.decide(record())
    assert out.verdict == S, out.explanation
    classes = {k: v["class"] for k, v in out.evidence["comparisons"].items()}
    assert classes["A: rho(sparsity, gap)"] == "for"
    assert classes["B: mnist1d L1 0.3 on gap, relu vs leaky_relu"] == "for"
    assert classes["C: shuffled minus true sparsity"] == "not sparser"


@pytest.mark.parametrize("kwargs, reason", [
    ({"shuffled_sparsity": 0.8}, "sparser than true-label"),
    ({"shuffled_train": 0.7}, "did not fit"),
    ({"jacobian": "gap"}, "Jacobian norm tracks the gap better"),
])
def test_partly_names_the_failing_condition(kwargs, reason):
    out = c04.decide(record(**kwargs))
    assert out.verdict == P and reason in out.explanation


def test_refuted_when_sparser_nets_generalize_worse():
    out = c04.decide(record(HURTS))
    assert out.verdict == R
    assert out.evidence["comparisons"]["A: rho(sparsity, gap)"]["class"] == "against"


def test_refuted_when_l1_helps_equally_without_exact_zeros():
    out = c04.decide(record(FLAT, spread=0.001))
    assert out.verdict == R
    b = [v["class"] for k, v in out.evidence["comparisons"].items() if k.startswith("B")]
    assert b and all(c == "null" for c in b)


def test_inconclusive_when_nothing_is_resolved():
    assert c04.decide(record(FLAT, spread=0.05)).verdict == I


@pytest.mark.parametrize("n_data, n_model", [(2, 3), (1, 3), (3, 1)])
def test_too_few_seeds_is_inconclusive(n_data, n_model):
    out = c04.decide(record(n_data=n_data, n_model=n_model))
    assert out.verdict == I and "seed" in out.explanation


def test_failed_nets_are_named_and_their_unit_dropped():
    out = c04.decide(record(fail=((1, 100, 7),)))
    assert out.verdict == S
    assert [100, 7] not in out.evidence["usable_units"]
    assert len(out.evidence["usable_units"]) == 8
    assert "relu + L1 activity 0.3 (data seed 100, model seed 7): diverged" in \
        out.evidence["excluded"]
    assert "excluded" in out.explanation
    one_per_unit = tuple((k % 5, d, m) for k, (d, m) in
                         enumerate((d, m) for d in range(100, 103) for m in range(7, 10)))
    out = c04.decide(record(fail=one_per_unit))
    assert out.verdict == I and len(out.evidence["excluded"]) == 9 and "seed" in out.explanation


def test_an_arm_that_mostly_misses_the_fit_is_excluded_whole():
    """Rule revision after the first full run: such an arm no longer wipes out every unit."""
    l2 = tuple((2, d, m) for d in range(100, 103) for m in range(7, 12) if (d, m) != (100, 7))
    out = c04.decide(record(fail=l2))
    assert out.verdict == S and len(out.evidence["usable_units"]) == 9
    assert out.evidence["excluded"] == [
        "relu + L2 activity 0.3: 8/9 nets diverged or missed the fit target (arm excluded)"]
    assert "relu + L2 activity 0.3" not in out.evidence["arm_means"]
