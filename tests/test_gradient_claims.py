"""The gradient-family claims (C05, C06, C09, C10, C15, C17): quick runs and decision rules."""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from reluthe.claims import gradients, registry
from reluthe.claims._base import Context, Outcome, Settings, Verdict
from reluthe.claims._gradients_mymodel import MyModel, build_mymodel

IDS = ("C05", "C06", "C09", "C10", "C15", "C17")
ARTICLE = Path("/work/shared/article.zh.md")


@pytest.fixture(scope="module")
def quick():
    """Quick measurements of all six claims, checking that none touches the global RNGs."""
    ctx = Context(Settings(quick=True, seed=0))
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    out = {cid: json.loads(json.dumps(gradients.CHECKS[cid].measure(ctx))) for cid in IDS}
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])
    return out


def test_checks_are_registered():
    assert set(gradients.CHECKS) == set(IDS)
    claims = {c.id: c for c in registry()}
    for cid in IDS:
        check = gradients.CHECKS[cid]
        assert claims[cid].implemented and len(check.rule) > 200 and check.plot is not None


@pytest.mark.parametrize("cid", IDS)
def test_quick_run_decides_and_plots(quick, cid, tmp_path):
    check = gradients.CHECKS[cid]
    outcome = check.decide(copy.deepcopy(quick[cid]))
    assert isinstance(outcome, Outcome)
    assert outcome.verdict not in (Verdict.NOT_IMPLEMENTED, Verdict.ERROR)
    assert 20 < len(outcome.key) < 300 and re.search(r"\d", outcome.key)
    assert len(outcome.explanation) > 50
    json.dumps(outcome.evidence)
    names = check.plot(quick[cid], tmp_path)
    assert names and all(n.startswith(cid.lower() + "_") and n.endswith(".png") for n in names)
    for n in names:
        assert 5_000 < (tmp_path / n).stat().st_size < 300_000


def test_c05_init_decides_vanishing(quick):
    m = quick["C05"]
    out = gradients.CHECKS["C05"].decide(copy.deepcopy(m))
    # relu at depth 6: torch's default init (χ = 1/6) vanishes, He (χ = 1) preserves
    assert out.evidence["relu_states"]["default"] == "vanishes"
    assert out.evidence["relu_states"]["he"] == "preserved"
    assert out.verdict == Verdict.PARTLY
    assert 0.4 < out.evidence["relu_zero_grad_share"]["value"] < 0.6

    def with_relu(ratio, zero):
        mm = copy.deepcopy(m)
        for r in mm["runs"]:
            if r["activation"] == "relu":
                r["log10_ratio"] = ratio + 0.01 * r["seed"]
                r["zero_grad_share"] = [zero] * len(r["zero_grad_share"])
        return gradients.CHECKS["C05"].decide(mm).verdict

    assert with_relu(0.0, 0.0) == Verdict.SUPPORTED
    assert with_relu(0.0, 0.5) == Verdict.PARTLY
    assert with_relu(-5.0, 0.5) == Verdict.REFUTED
    one = copy.deepcopy(m)
    one["runs"] = [r for r in one["runs"] if r["seed"] == 0]
    assert gradients.CHECKS["C05"].decide(one).verdict == Verdict.INCONCLUSIVE


def test_c15_bound_holds_and_a_violation_is_caught(quick):
    m = quick["C15"]
    out = gradients.CHECKS["C15"].decide(copy.deepcopy(m))
    assert out.evidence["bound_holds"] and out.evidence["max_measured_over_bound"] <= 1
    assert out.evidence["sup_abs_derivative"]["sigmoid"] == 0.25
    bad = copy.deepcopy(m)
    bad["runs"][0]["max_ratio_over_bound"] = 1.5
    assert gradients.CHECKS["C15"].decide(bad).verdict == Verdict.INCONCLUSIVE


def _set_acc(m, fn):
    mm = copy.deepcopy(m)
    for r in mm["runs"]:
        r["test_acc"] = [fn(r) + 0.003 * k for k in range(len(r["test_acc"]))]
    return gradients.CHECKS["C09"].decide(mm).verdict


def test_c09_rule(quick):
    m = quick["C09"]
    out = gradients.CHECKS["C09"].decide(copy.deepcopy(m))
    assert out.evidence["dead_network_formula"]["formula_inside_interval"] >= 3
    deep = max(m["config"]["depths"])
    assert _set_acc(m, lambda r: 0.6 if r["activation"] == "relu" else 0.1) == Verdict.SUPPORTED
    assert _set_acc(m, lambda r: 0.1 if r["activation"] == "relu" else 0.6) == Verdict.REFUTED
    assert _set_acc(m, lambda r: 0.1) == Verdict.INCONCLUSIVE  # nothing learns: budget too small
    # nothing learns at the deepest depth: the rule is judged at the deepest learnable one
    mm = copy.deepcopy(m)
    for r in mm["runs"]:
        r["test_acc"] = [(0.6 if r["depth"] < deep else 0.1) + 0.003 * k
                         for k in range(len(r["test_acc"]))]
    out = gradients.CHECKS["C09"].decide(mm)
    shallow = min(m["config"]["depths"])
    assert out.evidence["judged_depth"] == shallow < deep == out.evidence["deepest_depth"]
    assert set(out.evidence["reach"].values()) == {shallow}
    assert f"judged at depth {shallow}" in out.explanation
    assert out.evidence["diverged"] == {}
    mm["runs"][0]["train_loss"][0] = None  # as a NaN loss reads back from JSON
    out = gradients.CHECKS["C09"].decide(mm)
    r0 = mm["runs"][0]
    assert out.evidence["diverged"] == {f"{r0['activation']}/{r0['init']}": [r0["depth"]]}
    assert "Training diverged" in out.explanation
    assert _set_acc(m, lambda r: 0.6 if r["activation"] == "relu" and r["init"] == "he"
                    or r["depth"] < deep else 0.1) == Verdict.PARTLY


def _c06_with(m, alone_factor, step_factor):
    mm = copy.deepcopy(m)
    cpu = mm["devices"]["cpu"]
    for part, factor in (("alone", alone_factor), ("step", step_factor)):
        d = cpu[part]
        secs = np.array(d["seconds"])
        rng = np.random.default_rng(0)
        for j, n in enumerate(d["names"]):
            f = 1.0 if n == "relu" else factor
            secs[:, :, j] = 1e-3 * f * (1 + 0.01 * rng.standard_normal(secs.shape[:2]))
        if part == "step":
            secs[:, 1, :] *= 0.05  # the activation alone inside the step
        from reluthe.probes.speed import TimingResult

        d.update(TimingResult(d["names"], d["labels"], secs, "relu", "cpu", 1, 0).to_dict())
    return gradients.CHECKS["C06"].decide(mm).verdict


def test_c06_rule(quick):
    m = quick["C06"]
    assert _c06_with(m, 2.0, 2.0) == Verdict.SUPPORTED
    assert _c06_with(m, 2.0, 1.0) == Verdict.PARTLY
    assert _c06_with(m, 1.0, 1.0) == Verdict.REFUTED


def _c10_with(m, relu_acc, other_time, other_step, ratio):
    mm = copy.deepcopy(m)
    for a, run in mm["runs"].items():
        n = len(run["acc_time"])
        if a == "relu":
            run["acc_time"] = run["acc_step"] = [relu_acc + 0.002 * k for k in range(n)]
        else:
            run["acc_time"] = [other_time + 0.003 * k for k in range(n)]
            run["acc_step"] = [other_step + 0.001 * k for k in range(n)]
            mm["timing"]["ratio"]["step"][a] = {"value": ratio, "low": ratio * 0.95,
                                                "high": ratio * 1.05, "n": 3,
                                                "confidence": 0.95, "method": "t"}
    return gradients.CHECKS["C10"].decide(mm).verdict


def test_c10_rule(quick):
    m = quick["C10"]
    assert _c10_with(m, 0.5, 0.3, 0.45, 2.0) == Verdict.SUPPORTED  # ahead, thanks to speed
    assert _c10_with(m, 0.5, 0.3, 0.3, 1.0) == Verdict.PARTLY  # ahead, but not from speed
    assert _c10_with(m, 0.4, 0.4, 0.4, 1.0) == Verdict.REFUTED  # a tie, equal step cost
    assert _c10_with(m, 0.4, 0.4, 0.45, 2.0) == Verdict.PARTLY  # speed helps, not best


def test_c17_rule(quick):
    m = quick["C17"]
    out = gradients.CHECKS["C17"].decide(copy.deepcopy(m))
    assert out.evidence["regions_on_plane"]["trained_median"] > 1
    assert out.evidence["mymodel_vs_relu_twin_max_acc_diff"] < 1e-6
    mm = copy.deepcopy(m)
    n = len(mm["runs"])
    mm["twins"]["relu"]["test_acc"] = [0.6 + 0.01 * k for k in range(n)]
    mm["twins"]["identity"]["test_acc"] = [0.3 + 0.012 * k for k in range(n)]
    mm["twins"]["leaky_relu"]["test_acc"] = [0.5 + 0.011 * k for k in range(n)]
    for r in mm["runs"]:
        for stage in ("init", "trained"):
            r[stage]["log10_grad_ratio"] = 0.01 * r["seed"]
            r[stage]["zero_share"] = [0.5, 0.5]
    assert gradients.CHECKS["C17"].decide(mm).verdict == Verdict.SUPPORTED
    mm["twins"]["leaky_relu"]["test_acc"] = mm["twins"]["relu"]["test_acc"]
    assert gradients.CHECKS["C17"].decide(mm).verdict == Verdict.PARTLY
    mm["runs"] = mm["runs"][:1]
    for k in mm["twins"]:
        mm["twins"][k]["test_acc"] = mm["twins"][k]["test_acc"][:1]
    assert gradients.CHECKS["C17"].decide(mm).verdict == Verdict.INCONCLUSIVE


def test_mymodel_is_the_articles_code():
    net = build_mymodel(0)
    assert sum(p.numel() for p in net.parameters()) == 100 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    from reluthe.probes.capture import capture_activations

    caps = capture_activations(net, torch.randn(3, 100, generator=torch.Generator()))
    assert [c.name for c in caps] == ["relu", "relu"]
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(),
                                                  build_mymodel(0).parameters()))
    if not ARTICLE.exists():
        pytest.skip("the article is not available here")
    block = ARTICLE.read_text(encoding="utf-8").split("```python")[1].split("```")[0]
    article = [line.strip() for line in block.splitlines() if line.strip().startswith(
        ("class", "def", "super", "self.", "x =", "return"))]
    ours = [re.sub(r"\s+# noqa.*$", "", line.strip())
            for line in inspect.getsource(MyModel).splitlines() if line.strip()]
    assert article == [line for line in ours if line.startswith(
        ("class", "def", "super", "self.", "x =", "return"))]
