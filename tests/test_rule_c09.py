"""C09's rule reaches each of its verdicts on records built by hand."""

from __future__ import annotations

import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c09_depth_trainability as c09

ACTS, INITS, DEPTHS = ("relu", "tanh", "sigmoid"), ("he", "xavier"), (2, 8)
DATA, MODEL, LRS = (10, 11, 12), (1, 2, 3), (0.01, 0.1)


def _design() -> dict:
    return {"grid": [[a, i] for a in ACTS for i in INITS], "depths": list(DEPTHS),
            "judged_depth": max(DEPTHS), "lrs": list(LRS), "data_seeds": list(DATA),
            "model_seeds": list(MODEL), "n_test": {"mnist1d": 1000}, "dataset": "mnist1d",
            "width": 32, "steps": 200, "dying_lrs": [0.05], "dying_widths": [40, 8, 8, 10],
            "dying_steps": 200,
            "mc_points": 32}


def _record(acc, spread=None, diverged=lambda r: False) -> dict:
    """Rows for every cell: ``acc(activation, init, depth)`` (+ a small spread over seeds, or
    ``spread(data index)``); the rate 0.01 validates 0.05 higher than 0.1."""
    raw = []
    for a in ACTS:
        for i in INITS:
            for d in DEPTHS:
                for u, s in enumerate(DATA):
                    for k, seed in enumerate(MODEL):
                        for lr in LRS:
                            base = acc(a, i, d) + (spread(u) if spread else 0.004 * u)
                            v = min(max(base + 0.003 * k, 0.0), 1.0)
                            row = {"seed": seed, "data_seed": s, "kind": "train",
                                   "activation": a, "init": i, "depth": d, "lr": lr,
                                   "val_acc": v + (0.05 if lr == 0.01 else 0.0),
                                   "test_acc": v, "train_loss": 2.0 - v, "best_step": 200,
                                   "dead_init": 0.0, "dead_final": 0.01}
                            row["diverged"] = bool(diverged(row))
                            raw.append(row)
    raw.append({"seed": 1, "kind": "dying", "lr": 0.05, "dead_final": 0.1})
    return {"design": _design(), "raw": raw}


def _saturating(a, value, other):
    return other if a in ("tanh", "sigmoid") else value


def test_supported_when_relu_learns_deep_and_beats_both():
    out = c09.decide(_record(lambda a, i, d: 0.6 if a == "relu" or d == 2 else 0.1))
    assert out.verdict == Verdict.SUPPORTED
    assert out.evidence["reach"] == {"relu/he": 8, "relu/xavier": 8, "tanh/he": 2,
                                     "tanh/xavier": 2, "sigmoid/he": 2, "sigmoid/xavier": 2}
    assert out.evidence["accuracy"]["relu/he/depth8"]["lr"] == [0.01] * 3


def test_partly_names_the_init_under_which_relu_fails():
    out = c09.decide(_record(lambda a, i, d: 0.6 if d == 2 or (a == "relu" and i == "he")
                             else 0.1))
    assert out.verdict == Verdict.PARTLY
    assert "the init (relu learns at depth 8 only under he; not under xavier)" in out.explanation


def test_partly_when_a_saturating_activation_trains_as_well():
    out = c09.decide(_record(lambda a, i, d: 0.6 if a != "sigmoid" or d == 2 else 0.1))
    assert out.verdict == Verdict.PARTLY
    assert "relu does not beat tanh (under he, xavier)" in out.explanation


def test_refuted_when_depth_breaks_relu_under_every_init():
    out = c09.decide(_record(lambda a, i, d: 0.6 if d == 2 else 0.1))
    assert out.verdict == Verdict.REFUTED
    assert out.evidence["relu_fails_at_judged_depth"] == {"he": True, "xavier": True}


def test_refuted_when_relu_loses_to_both_under_every_init():
    out = c09.decide(_record(lambda a, i, d: _saturating(a, 0.3, 0.6)))
    assert out.verdict == Verdict.REFUTED
    assert all(v["outcome"] == "less"
               for v in out.evidence["relu_minus_other_at_judged_depth"].values())


def test_inconclusive_when_relu_learns_nowhere():
    out = c09.decide(_record(lambda a, i, d: _saturating(a, 0.1, 0.6)))
    assert out.verdict == Verdict.INCONCLUSIVE and "budget is too small" in out.explanation


def test_inconclusive_when_relu_straddles_the_threshold_at_depth():
    wide = _record(lambda a, i, d: 0.6 if d == 2 else (0.1 if a != "relu" else 0.0),
                   spread=lambda u: (0.12, 0.2, 0.3)[u])
    for r in wide["raw"]:
        if r.get("kind") == "train" and r["activation"] != "relu" and r["depth"] == 8:
            r["test_acc"] = r["val_acc"] = 0.1
    out = c09.decide(wide)
    assert not any(out.evidence["relu_learns_at_judged_depth"].values())
    assert not any(out.evidence["relu_fails_at_judged_depth"].values())
    assert out.verdict == Verdict.INCONCLUSIVE and "cannot decide" in out.explanation


@pytest.mark.parametrize("drop", ["model", "data"])
def test_inconclusive_with_fewer_than_min_seeds(drop):
    m = _record(lambda a, i, d: 0.6 if a == "relu" or d == 2 else 0.1)
    field, value = ("seed", MODEL[0]) if drop == "model" else ("data_seed", DATA[0])
    m["raw"] = [r for r in m["raw"] if r.get(field) != value]
    out = c09.decide(m)
    assert out.verdict == Verdict.INCONCLUSIVE
    assert f"Fewer than 3 {drop} seeds" in out.explanation


def test_a_diverged_rate_is_named_and_excluded_from_the_choice():
    def diverged(r):
        return (r["activation"], r["init"], r["depth"], r["lr"], r["data_seed"]) == \
            ("relu", "he", 8, 0.01, DATA[1]) and r["seed"] == MODEL[0]

    out = c09.decide(_record(lambda a, i, d: 0.6 if a == "relu" or d == 2 else 0.1,
                             diverged=diverged))
    assert out.evidence["diverged"] == {"relu/he/depth8/lr=0.01": [f"data {DATA[1]}, model 1"]}
    assert out.evidence["accuracy"]["relu/he/depth8"]["lr"] == [0.01, 0.1, 0.01]
    assert out.evidence["all_rates_diverged"] == []
    assert "Diverged members" in out.explanation


def test_every_rate_diverging_is_named():
    out = c09.decide(_record(lambda a, i, d: 0.6 if a == "relu" or d == 2 else 0.1,
                             diverged=lambda r: r["activation"] == "sigmoid" and r["depth"] == 8
                             and r["seed"] == MODEL[0]))
    assert set(out.evidence["all_rates_diverged"]) == {"sigmoid/he/depth8",
                                                       "sigmoid/xavier/depth8"}
    assert out.evidence["accuracy"]["sigmoid/he/depth8"]["lr"] == [0.01] * 3
