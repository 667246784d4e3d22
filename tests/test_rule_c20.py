"""C20's rule (GAN mode coverage and quality, relu vs leaky_relu vs tanh, across optimiser
settings) driven to each of its verdicts by hand-built records."""

from __future__ import annotations

import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.architectures import c20_gan
from reluthe.claims.architectures._gan import GanMember, Ring, train_gans
from reluthe.errors import InvalidInputError

SETTINGS = list(c20_gan.SETTINGS)
GOOD = {"relu": (7, .8), "leaky_relu": (7, .8), "tanh": (3, .3)}        # supports
LEAKY_BEST = {"relu": (5, .5), "leaky_relu": (7, .8), "tanh": (3, .3)}  # partly
RELU_WORST = {"relu": (3, .3), "leaky_relu": (7, .8), "tanh": (7, .8)}  # refutes
TIE = {"relu": (5, .5), "leaky_relu": (5, .5), "tanh": (5, .5)}         # inconclusive
UNTRAINED = {"relu": (1, .05), "leaky_relu": (0, .01), "tanh": (2, .1)}


def _measure(per_setting: list[dict], n: int = 6) -> dict:
    """Rows built by hand: per setting, each activation's (modes, HQ) plus a per-run jitter."""
    runs = [[100 + i, i] for i in range(n)]
    raw = []
    for setting, arms in zip(SETTINGS, per_setting):
        for k, (a, (modes, hq)) in enumerate(arms.items()):
            for i, (ds, s) in enumerate(runs):
                j = (i + k) % 3 - 1  # a different pattern per arm, mean 0
                raw.append({"seed": s, "data_seed": ds, "setting": setting, "activation": a,
                            "modes_covered": modes + (j > 0), "high_quality": hq + 0.01 * j,
                            "diverged": False})
    design = {"seeds": [s for _, s in runs], "data_seeds": [d for d, _ in runs], "runs": runs,
              "settings": {s: {} for s in SETTINGS}, "activations": list(c20_gan.ACTIVATIONS),
              "modes": 8, "n_eval": 2000, "trained_modes": c20_gan.TRAINED_MODES}
    return {"design": design, "raw": raw}


@pytest.mark.parametrize("arms, verdict", [
    ([GOOD, GOOD, GOOD], Verdict.SUPPORTED),
    ([GOOD, RELU_WORST, TIE], Verdict.PARTLY),
    ([LEAKY_BEST, LEAKY_BEST, LEAKY_BEST], Verdict.PARTLY),
    ([RELU_WORST, TIE, RELU_WORST], Verdict.REFUTED),
    ([TIE, TIE, TIE], Verdict.INCONCLUSIVE),
    ([UNTRAINED, UNTRAINED, UNTRAINED], Verdict.INCONCLUSIVE),
])
def test_rule_reaches_each_verdict(arms, verdict):
    assert c20_gan.decide(_measure(arms)).verdict is verdict


def test_per_setting_outcomes_are_named():
    out = c20_gan.decide(_measure([GOOD, RELU_WORST, TIE]))
    assert out.evidence["setting_outcome"] == dict(zip(SETTINGS, ["supports", "refutes",
                                                                  "inconclusive"]))
    assert all(f"{s}:" in out.explanation for s in SETTINGS)


def test_a_setting_that_does_not_train_is_not_counted():
    out = c20_gan.decide(_measure([GOOD, GOOD, UNTRAINED]))
    assert out.verdict is Verdict.SUPPORTED
    assert out.evidence["setting_outcome"][SETTINGS[2]] == "does not train"
    none = c20_gan.decide(_measure([UNTRAINED] * 3))
    assert "budget" in none.explanation


def test_too_few_runs_is_inconclusive():
    out = c20_gan.decide(_measure([GOOD] * 3, n=2))
    assert out.verdict is Verdict.INCONCLUSIVE and "fewer than 3" in out.explanation


def test_family_intervals_and_bounded_summaries():
    out = c20_gan.decide(_measure([GOOD] * 3))
    effect = out.evidence["relu_vs"][SETTINGS[0]]["tanh"]["effects"]["modes_covered"]
    assert "bonferroni CI (family of 12)" in effect["method"]
    assert effect["confidence"] == pytest.approx(1 - 0.05 / 12)
    for by_act in out.evidence["summary"].values():
        for s in by_act.values():
            assert 0 <= s["modes_covered"]["low"] <= s["modes_covered"]["high"] <= 8
            assert 0 <= s["high_quality"]["low"] <= s["high_quality"]["high"] <= 1


def test_diverged_runs_are_named_in_the_summary():
    m = _measure([GOOD] * 3)
    row = next(r for r in m["raw"] if r["activation"] == "relu" and r["seed"] == 0)
    row.update(diverged=True, modes_covered=0, high_quality=0.0)
    summary = c20_gan.decide(m).evidence["summary"][row["setting"]]["relu"]
    assert summary["diverged"] == ["data 100/model 0"]


def test_harness_rejects_an_empty_stack():
    with pytest.raises(InvalidInputError):
        train_gans([], Ring(), steps=1, betas=(0.5, 0.999), evals=1)
    members = [GanMember(a, 1e-3, 5, 0, 7, 9) for a in ("relu", "tanh")]
    out = train_gans(members, Ring(n_eval=50), steps=2, betas=(0.5, 0.999), evals=1)
    assert len(out["coverage"]) == 2 and tuple(out["samples"].shape) == (2, 50, 2)
