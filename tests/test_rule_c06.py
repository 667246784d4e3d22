"""C06's rule on hand-built timings: every verdict it names is reachable."""

from __future__ import annotations

import numpy as np
import pytest

from reluthe.claims._base import Verdict
from reluthe.claims.gradients import c06_compute_cost as c06

LABELS = {"alone": ["n=1024", "n=4096"], "forward_only": ["n=1024", "n=4096"],
          "step": ["step", "activation"]}


def _record(alone, forward, step, repeats=8, noise=0.01):
    """A C06 record whose tanh and sigmoid times are ``factor`` × relu's per timing."""
    rng = np.random.default_rng(0)
    factors = {"alone": alone, "forward_only": forward, "step": step}
    raw = []
    for timing, labels in LABELS.items():
        for r in range(repeats):
            for label in labels:
                for name in ("relu", "tanh", "sigmoid"):
                    f = 1.0 if name == "relu" else factors[timing]
                    secs = 1e-3 * f * (1 + noise * rng.standard_normal())
                    if label == "activation":
                        secs *= 0.05
                    raw.append({"seed": 100 + r, "device": "cpu", "timing": timing,
                                "repeat": r, "label": label, "activation": name,
                                "seconds": secs})
    design = {"names": ["relu", "tanh", "sigmoid"], "widths": [40, 32, 10], "devices": ["cpu"],
              "device": "cpu", "timer": "hand-built", "timing_seeds": list(range(100, 108)),
              "threads": {"cpu": {t: 1 for t in LABELS}}}
    return {"design": design, "raw": raw}


@pytest.mark.parametrize("factors, verdict", [
    ((2.0, 2.0, 2.0), Verdict.SUPPORTED),
    ((1.2, 2.0, 1.0), Verdict.PARTLY),  # cheaper per element, not per training step
    ((1.0, 2.0, 1.0), Verdict.PARTLY),  # cheaper only in inference
    ((1.0, 1.0, 1.0), Verdict.REFUTED),
    ((1.0, 1.0, 2.0), Verdict.INCONCLUSIVE),  # a slower step without a slower activation
    ((1.1, 1.1, 1.0), Verdict.INCONCLUSIVE),  # intervals straddle the margin
])
def test_every_verdict_is_reachable(factors, verdict):
    out = c06.decide(_record(*factors))
    assert out.verdict == verdict, out.explanation
    assert set(out.evidence["cpu"]) == {"tanh", "sigmoid"}


def test_forward_only_ratios_enter_the_rule():
    ev = c06.decide(_record(1.0, 2.0, 1.0)).evidence["cpu"]["tanh"]
    assert ev["forward_state"] == "slower" and ev["alone_state"] == "same"
    assert ev["forward_only_pooled"]["value"] == pytest.approx(2.0, rel=0.05)
    assert "forward_state" in c06.RULE or "inference" in c06.RULE


def test_too_few_repeats_is_inconclusive():
    out = c06.decide(_record(2.0, 2.0, 2.0, repeats=5))
    assert out.verdict == Verdict.INCONCLUSIVE and "Fewer than 6 repeats" in out.explanation
