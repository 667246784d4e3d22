"""C15's rule reaches each of its verdicts on records built by hand (rows as in C05's test, with
C15's bound fields), and a violated bound stops it."""

from __future__ import annotations

import math

from test_rule_c05 import ACTS, DEPTHS, INITS, all_inits, rows

from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c15_vanishing_bound as c15

SUP = {"relu": 1.0, "tanh": 1.0, "sigmoid": 0.25}


def record(relu, sat, **kw) -> dict:
    raw = rows(relu, sat, **kw)
    for r in raw:
        d = r["depth"]
        r.update({"max_ratio_over_bound": 0.6, "max_gain_over_sup": 1.0, "n_checked": 10,
                  "log10_bound_product": 0.1 * d, "log10_sup_product":
                  d * math.log10(SUP[r["activation"]]),
                  "log10_max_gain_product": d * math.log10(SUP[r["activation"]]),
                  "median_layer_ratio": 0.9, "layer_bound": [1.2] * (d - 1),
                  "contracting_layers": 1.0 if r["activation"] == "sigmoid" else 0.0})
    n_data, n_model = kw.get("n_data", 3), kw.get("n_model", 3)
    design = {"acts": list(ACTS), "inits": list(INITS), "depths": list(DEPTHS),
              "n_data_seeds": n_data, "n_model_seeds": n_model,
              "model_seeds": list(range(n_data * n_model)), "sup_abs_derivative": SUP}
    return {"design": design, "raw": raw}


def test_each_verdict_is_reachable():
    assert c15.decide(record(all_inits(0.0), all_inits(-5.0))).verdict == Verdict.SUPPORTED
    out = c15.decide(record({"default": -5.0, "he": 0.0, "xavier": -3.0}, all_inits(-2.0)))
    assert out.verdict == Verdict.PARTLY and "holds under he." in out.explanation
    assert c15.decide(record(all_inits(-3.0), all_inits(-8.0))).verdict == Verdict.PARTLY
    assert c15.decide(record(all_inits(0.0), all_inits(-5.0), mech_ok=False)).verdict == \
        Verdict.PARTLY
    assert c15.decide(record(all_inits(-5.0), all_inits(-3.0))).verdict == Verdict.REFUTED
    unclear = c15.decide(record(all_inits(-1.0), all_inits(-5.0), spread=0.3))
    assert unclear.verdict == Verdict.INCONCLUSIVE
    few = c15.decide(record(all_inits(0.0), all_inits(-5.0), n_data=2))
    assert few.verdict == Verdict.INCONCLUSIVE and "Fewer than 3" in few.explanation


def test_a_violated_bound_draws_no_verdict():
    for field in ("max_ratio_over_bound", "max_gain_over_sup"):
        m = record(all_inits(0.0), all_inits(-5.0))
        m["raw"][5][field] = 1.5
        out = c15.decide(m)
        assert out.verdict == Verdict.INCONCLUSIVE and "proven bound" in out.explanation
        assert not out.evidence["bounds"]["bound_holds"]
