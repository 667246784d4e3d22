"""C05's rule reaches each of its verdicts on records built by hand.

The records follow the layout of ``c05_gradient_flow.measure``: nested seeds (``n_model`` model
seeds per data seed), one row per network, the deepest depth read by the rule. ``rows`` is also
used by ``test_rule_c15``.
"""

from __future__ import annotations

import math

from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c05_gradient_flow as c05

INITS = ("default", "he", "xavier")
ACTS = ("relu", "tanh", "sigmoid")
DEPTHS = (2, 8)


def rows(relu: dict, sat: dict, *, n_data: int = 3, n_model: int = 3, mech_ok: bool = True,
         spread: float = 0.01, active: int = 100) -> list[dict]:
    """Rows with, at the deepest depth, relu's log10 ratio ``relu[init]`` and every saturating
    activation's ``sat[init]`` (+ ``spread`` × a per-network offset; 0 at the shallow depth).

    ``mech_ok=False`` makes one relu network pass 3 active entries changed; ``active=0``
    measures no active entry.
    """
    out = []
    for a in ACTS:
        for i in INITS:
            for d in DEPTHS:
                for k in range(n_data):
                    for j in range(n_model):
                        seed = k * n_model + j
                        base = (relu if a == "relu" else sat)[i] if d == max(DEPTHS) else 0.0
                        out.append({
                            "seed": seed, "data_seed": 100 + k, "activation": a, "init": i,
                            "depth": d, "log10_ratio": base + spread * ((seed * 7) % 5 - 2),
                            "log10_grad": [base, 0.0], "zero_grad_share": [0.5] * d,
                            "log10_act_var": [0.0] * d, "mean_sq_gain": [0.5] * d,
                            "n_pos": active, "n_neg": active, "n_neg_zero": active,
                            "n_pos_unchanged": active - (3 if not mech_ok and seed == 0
                                                         and a == "relu" else 0)})
    return out


def design(n_data: int = 3, n_model: int = 3) -> dict:
    mf = [{"activation": a, "init": i, "depth": d, "meanfield": 0.0, "chi_unit": 0.0,
           "layers": [0.0] * d} for a in ACTS for i in INITS for d in DEPTHS]
    return {"acts": list(ACTS), "inits": list(INITS), "depths": list(DEPTHS), "width": 16,
            "batch": 8, "n_data_seeds": n_data, "n_model_seeds": n_model,
            "model_seeds": list(range(n_data * n_model)), "meanfield": mf}


def decide(relu, sat, **kw):
    n = {k: kw[k] for k in ("n_data", "n_model") if k in kw}
    return c05.decide({"design": design(**n), "raw": rows(relu, sat, **kw)})


def all_inits(v: float) -> dict:
    return dict.fromkeys(INITS, v)


def test_supported_when_mechanism_and_every_init_hold():
    out = decide(all_inits(0.0), all_inits(-5.0))
    assert out.verdict == Verdict.SUPPORTED
    assert out.evidence["mechanism"]["state"] == "holds"
    assert "holds under default, he, xavier" in out.explanation


def test_partly_names_the_inits_under_which_it_holds():
    out = decide({"default": -5.0, "he": 0.0, "xavier": -3.0}, all_inits(-2.0))
    assert out.verdict == Verdict.PARTLY
    assert {i: c["state"] for i, c in out.evidence["consequence"].items()} == \
        {"default": "fails", "he": "holds", "xavier": "fails"}
    assert "holds under he." in out.explanation and "no vanishing under: he" in out.key


def test_partly_when_relu_vanishes_everywhere_but_less_than_the_saturating_ones():
    out = decide(all_inits(-3.0), all_inits(-8.0))
    assert out.verdict == Verdict.PARTLY
    assert {c["state"] for c in out.evidence["consequence"].values()} == {"reduced"}
    assert "bonferroni CI (family of 6)" in \
        out.evidence["consequence"]["he"]["relu_minus"]["tanh"]["method"]


def test_partly_when_the_mechanism_fails_though_nothing_vanishes():
    out = decide(all_inits(0.0), all_inits(-5.0), mech_ok=False)
    assert out.verdict == Verdict.PARTLY
    assert out.evidence["mechanism"]["state"] == "fails"
    assert out.evidence["mechanism"]["relu_networks_failing"][0]["seed"] == 0


def test_refuted_when_relu_vanishes_under_every_init_no_less_than_saturating():
    assert decide(all_inits(-5.0), all_inits(-3.0)).verdict == Verdict.REFUTED
    assert decide(all_inits(-5.0), all_inits(-5.0)).verdict == Verdict.REFUTED


def test_inconclusive_when_unclear_undecided_or_too_few_seeds():
    unclear = decide(all_inits(-1.0), all_inits(-5.0), spread=0.3)
    assert unclear.verdict == Verdict.INCONCLUSIVE
    assert {c["state"] for c in unclear.evidence["consequence"].values()} == {"unclear"}
    assert decide(all_inits(0.0), all_inits(-5.0), active=0).verdict == Verdict.INCONCLUSIVE
    few = decide(all_inits(0.0), all_inits(-5.0), n_data=2)
    assert few.verdict == Verdict.INCONCLUSIVE and "Fewer than 3" in few.explanation


def test_an_unclear_init_does_not_block_a_settled_partly():
    m = {"design": design(), "raw": rows({"default": -5.0, "he": 0.0, "xavier": -1.0},
                                         all_inits(-2.0))}
    for r in m["raw"]:  # xavier's data seeds disagree: its interval straddles −1
        if r["activation"] == "relu" and r["init"] == "xavier" and r["depth"] == 8:
            r["log10_ratio"] = -1.0 + 0.8 * (r["data_seed"] - 101)
    out = c05.decide(m)
    assert out.evidence["consequence"]["xavier"]["state"] == "unclear"
    assert out.verdict == Verdict.PARTLY


def test_non_finite_networks_are_named_and_excluded():
    m = {"design": design(n_model=4), "raw": rows(all_inits(0.0), all_inits(-5.0), n_model=4)}
    m["raw"][0]["log10_ratio"] = -math.inf
    out = c05.decide(m)
    assert out.verdict == Verdict.SUPPORTED
    assert out.evidence["excluded_networks"] == [
        {"activation": "relu", "init": "default", "depth": 2, "data_seed": 100, "seed": 0}]
    assert "Excluded" in out.explanation
