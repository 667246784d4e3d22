"""C13's rule on hand-built records: every verdict it names, the init check of the control and
the exclusion of diverged nets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims._records import check_measured
from reluthe.claims.sparsity.c13_region_density import MARGIN, decide

S, R, P, I = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.PARTLY, Verdict.INCONCLUSIVE
DESIGN = {"margin": MARGIN, "widths": [40, 100, 100, 10],
          "prefix_max_train_loss_difference": {"1": {"100": 0.0}}}


def _net(stage, d, s, log_train, log_test, rng, spread, diverged=False, families=True):
    """One row: rotated densities 8, chords 8·exp(log ratio + noise)."""
    noise = rng.normal(0.0, spread, 2)
    row = {"stage": stage, "step": 0 if stage == "init" else 500, "data_seed": d, "seed": s,
           "diverged": diverged, "train_acc": 0.9, "test_acc": 0.7,
           "density_train": 8.0 * math.exp(log_train + noise[0]), "density_train_rotated": 8.0,
           "per_neuron_layers": [0.05, 0.05], "per_neuron": 0.05}
    if families:
        row.update(density_test=8.0 * math.exp(log_test + noise[1]), density_test_rotated=8.0)
    return row


def _measured(d_train, d_test, d_init=0.0, n_data=3, n_model=3, spread=0.01, diverged=()):
    """A record with the given mean log ratios (training chords, test chords, at init)."""
    rng = np.random.default_rng(0)
    raw = []
    for d in range(1, n_data + 1):
        for s in range(10, 10 + n_model):
            bad = (d, s) in diverged
            raw.append(_net("init", d, s, d_init, d_init, rng, spread, bad))
            raw.append(_net("best_val", d, s, d_train, d_test, rng, spread, bad))
            raw.append(_net("final", d, s, d_train, d_test, rng, spread, bad, families=False))
    raw += [{"stage": "he_init", "step": 0, "data_seed": 1, "seed": s, "hidden": [100] * 4,
             "density_train": 9.0, "per_neuron_layers": [0.06] * 4, "per_neuron": 0.06}
            for s in range(10, 13)]
    return check_measured({"design": dict(DESIGN), "raw": raw}, "C13")


@pytest.mark.parametrize(("args", "kwargs", "verdict"), [
    ((0.4, 0.4), {}, S),
    ((0.4, 0.0), {}, P),
    ((-0.4, -0.4), {}, R),  # sparser along the data
    ((0.0, 0.4), {}, R),  # equal within the margin
    ((0.1, 0.1), {"spread": 0.3}, I),  # not separated from the margin
    ((0.4, 0.4), {"d_init": 0.4}, I),  # the control already differs at init
    ((0.4, 0.4), {"n_data": 2}, I),
])
def test_every_verdict(args, kwargs, verdict):
    out = decide(_measured(*args, **kwargs))
    assert out.verdict == verdict, out.explanation
    json.dumps(out.evidence)


def test_too_few_data_seeds_names_the_reason():
    out = decide(_measured(0.4, 0.4, n_data=2))
    assert "data seed" in out.explanation and "3" in out.explanation


def test_init_failure_of_the_control_is_named():
    out = decide(_measured(0.4, 0.4, d_init=0.4))
    assert "control" in out.explanation and out.evidence["D_train_init"]["low"] > MARGIN


def test_diverged_nets_are_named_and_excluded():
    out = decide(_measured(0.4, 0.4, diverged={(2, 11)}))
    assert out.verdict == S
    assert out.evidence["excluded_diverged"] == ["data seed 2, model seed 11"]
    assert "Excluded as diverged: data seed 2, model seed 11" in out.explanation
    # a whole data seed diverged: 2 usable data seeds, too few
    gone = decide(_measured(0.4, 0.4, diverged={(3, 10), (3, 11), (3, 12)}))
    assert gone.verdict == I and len(gone.evidence["excluded_diverged"]) == 3


def test_evidence_reports_the_family_and_hanin_rolnick_densities():
    ev = decide(_measured(0.4, 0.4)).evidence
    assert "bonferroni CI (family of 2)" in ev["D_train_trained"]["method"]
    assert ev["D_train_trained"]["value"] == pytest.approx(0.4, abs=0.02)
    assert ev["per_neuron_density"]["he_init"]["layers"] == [0.06] * 4
    assert set(ev["density"]["final"]) == {"train", "train_rotated"}


def _with_local(measured, train_counts, rotated_counts):
    """Every init/best_val row gets local counts: the same for the test family (none rotated
    differ), ``train_counts`` around training points and ``rotated_counts`` around their copies."""
    for r in measured["raw"]:
        if r["stage"] in ("init", "best_val"):
            r.update(local_train=list(train_counts), local_train_rotated=list(rotated_counts),
                     local_test=[4, 4], local_test_rotated=[4, 4])
    measured["design"]["local"] = {"norm": "1", "radius": 0.05, "n_points": len(train_counts),
                                   "seeds": [0, 1, 2, 3]}
    return measured


def test_local_complexity_is_reported_beside_the_verdict():
    plain = decide(_measured(0.4, 0.4))
    out = decide(_with_local(_measured(0.4, 0.4), [2, 8], [4, 4]))
    assert out.verdict == plain.verdict  # reported, never judged
    local = out.evidence["local_complexity"]
    assert local["radius"] == 0.05 and local["norm"] == "1"
    for stage in ("init", "best_val"):
        assert local[stage]["geomean_train"] == pytest.approx(4.0)  # sqrt(2 * 8)
        assert local[stage]["log_ratio_train"]["value"] == pytest.approx(0.0, abs=1e-12)
        assert local[stage]["geomean_test"] == pytest.approx(4.0)
    skewed = decide(_with_local(_measured(0.4, 0.4), [8, 8], [2, 2]))
    ratio = skewed.evidence["local_complexity"]["best_val"]["log_ratio_train"]["value"]
    assert ratio == pytest.approx(math.log(4.0))
    assert "Local complexity" in skewed.explanation and "8.0 around training" in skewed.explanation


def test_records_without_local_counts_still_decide():
    out = decide(_measured(0.4, 0.4))
    assert out.evidence["local_complexity"] == {}
    assert "Local complexity" not in out.explanation
