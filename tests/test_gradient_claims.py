"""The gradient-family claims (C05, C06, C09, C10, C15, C17): quick runs and decision rules."""

from __future__ import annotations

import copy
import inspect
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from reluthe.claims import gradients, registry
from reluthe.claims._base import CLAIM_NAMES, Context, Outcome, Settings, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._records import check_measured, decode, encode, select
from reluthe.claims.gradients.c17_mymodel import MyModel, build_mymodel

IDS = ("C05", "C06", "C09", "C10", "C15", "C17")
ARTICLE = Path("/work/shared/article.zh.md")


@pytest.fixture(scope="module")
def quick():
    """Quick measurements of all six claims, checking that none touches the global RNGs."""
    ctx = Context(Settings(quick=True, seed=0))
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    out = {cid: gradients.CHECKS[cid].measure(ctx) for cid in IDS}
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])
    return out


def test_checks_are_registered():
    assert set(gradients.CHECKS) == set(IDS)
    assert [m.__name__.rsplit(".", 1)[-1][:3] for m in gradients.CLAIMS] == \
        [cid.lower() for cid in IDS]
    claims = {c.id: c for c in registry()}
    for cid, module in zip(IDS, gradients.CLAIMS):
        check = gradients.CHECKS[cid]
        assert claims[cid].implemented and len(check.rule) > 200 and check.plot is not None
        assert all(callable(getattr(module, n)) for n in CLAIM_NAMES if n != "RULE")


@pytest.mark.parametrize("cid", IDS)
def test_quick_record_redecides_from_json(quick, cid):
    """The measurement follows the record contract, and decide on its JSON copy is the same."""
    m = check_measured(quick[cid], cid)
    text = json.dumps(encode(m))
    assert len(text) < 100_000
    again = decode(json.loads(text))
    check_measured(again, cid)
    design = m["design"]
    assert design["device"] == "cpu" and all(
        isinstance(s, int) for s in design.get("model_seeds", []))
    a, b = gradients.CHECKS[cid].decide(m), gradients.CHECKS[cid].decide(again)
    assert (a.verdict, a.key, a.explanation) == (b.verdict, b.key, b.explanation)
    assert json.dumps(encode(a.evidence)) == json.dumps(encode(b.evidence))


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


def test_seeds_come_from_the_streams(quick):
    ctx = Context(Settings(quick=True, seed=0))
    data_seed = ctx.seeds("data", 1)[0]
    for cid in IDS:
        design = quick[cid]["design"]
        if "model_seeds" in design:
            assert design["model_seeds"] == ctx.seeds("model", len(design["model_seeds"]))
            assert design["data_seed"] == data_seed
    assert quick["C06"]["design"]["timing_seed"] == ctx.seeds("timing", 1)[0]
    assert {r["seed"] for r in quick["C06"]["raw"]} == {ctx.seeds("timing", 1)[0]}
    mc = quick["C09"]["design"]
    assert set(mc["mc_seeds"]).isdisjoint(mc["control_seeds"])


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
        for r in select(mm["raw"], activation="relu"):
            r["log10_ratio"] = ratio + 0.01 * r["seed"]
            r["zero_grad_share"] = [zero] * len(r["zero_grad_share"])
        return gradients.CHECKS["C05"].decide(mm).verdict

    assert with_relu(0.0, 0.0) == Verdict.SUPPORTED
    assert with_relu(0.0, 0.5) == Verdict.PARTLY
    assert with_relu(-5.0, 0.5) == Verdict.REFUTED
    one = copy.deepcopy(m)
    one["raw"] = [r for r in one["raw"] if r["seed"] == m["design"]["model_seeds"][0]]
    assert gradients.CHECKS["C05"].decide(one).verdict == Verdict.INCONCLUSIVE


def test_c15_bound_holds_and_a_violation_is_caught(quick):
    m = quick["C15"]
    out = gradients.CHECKS["C15"].decide(copy.deepcopy(m))
    assert out.evidence["bound_holds"] and out.evidence["max_measured_over_bound"] <= 1
    assert out.evidence["sup_abs_derivative"]["sigmoid"] == 0.25
    bad = copy.deepcopy(m)
    bad["raw"][0]["max_ratio_over_bound"] = 1.5
    assert gradients.CHECKS["C15"].decide(bad).verdict == Verdict.INCONCLUSIVE


def _set_acc(m, fn):
    """C09 with every training row's test accuracy ``fn(row)`` (+ a spread over seeds)."""
    mm = copy.deepcopy(m)
    seeds = mm["design"]["model_seeds"]
    for r in select(mm["raw"], kind="train"):
        r["test_acc"] = fn(r) + 0.003 * seeds.index(r["seed"])
    return mm


def test_c09_rule(quick):
    m = quick["C09"]
    decide = gradients.CHECKS["C09"].decide
    out = decide(copy.deepcopy(m))
    assert out.evidence["dead_network_formula"]["formula_inside_interval"] >= 3
    deep = max(m["design"]["depths"])

    def verdict(fn):
        return decide(_set_acc(m, fn)).verdict

    assert verdict(lambda r: 0.6 if r["activation"] == "relu" else 0.1) == Verdict.SUPPORTED
    assert verdict(lambda r: 0.1 if r["activation"] == "relu" else 0.6) == Verdict.REFUTED
    assert verdict(lambda r: 0.1) == Verdict.INCONCLUSIVE  # nothing learns: budget too small
    # nothing learns at the deepest depth: the rule is judged at the deepest learnable one
    mm = _set_acc(m, lambda r: 0.6 if r["depth"] < deep else 0.1)
    out = decide(mm)
    shallow = min(m["design"]["depths"])
    assert out.evidence["judged_depth"] == shallow < deep == out.evidence["deepest_depth"]
    assert set(out.evidence["reach"].values()) == {shallow}
    assert f"judged at depth {shallow}" in out.explanation
    assert out.evidence["diverged"] == {}
    r0 = select(mm["raw"], kind="train")[0]
    r0["train_loss"] = math.nan
    out = decide(mm)
    assert out.evidence["diverged"] == {f"{r0['activation']}/{r0['init']}": [r0["depth"]]}
    assert "Training diverged" in out.explanation
    assert verdict(lambda r: 0.6 if r["activation"] == "relu" and r["init"] == "he"
                   or r["depth"] < deep else 0.1) == Verdict.PARTLY


def _c06_with(m, alone_factor, step_factor):
    """C06 with the CPU timings set to other activations = ``factor`` × relu (1 % noise)."""
    mm = copy.deepcopy(m)
    rng = np.random.default_rng(0)
    for timing, factor in (("alone", alone_factor), ("step", step_factor)):
        for r in select(mm["raw"], device="cpu", timing=timing):
            f = 1.0 if r["activation"] == "relu" else factor
            r["seconds"] = 1e-3 * f * (1 + 0.01 * rng.standard_normal())
            if r["label"] == "activation":
                r["seconds"] *= 0.05  # the activation alone inside the step
    return gradients.CHECKS["C06"].decide(mm).verdict


def test_c06_rule(quick):
    m = quick["C06"]
    assert _c06_with(m, 2.0, 2.0) == Verdict.SUPPORTED
    assert _c06_with(m, 2.0, 1.0) == Verdict.PARTLY
    assert _c06_with(m, 1.0, 1.0) == Verdict.REFUTED


def test_c06_decide_recomputes_the_ratios_from_the_rows(quick):
    m = copy.deepcopy(quick["C06"])
    before = gradients.CHECKS["C06"].decide(m).evidence["cpu"]["tanh"]["step"]["value"]
    for r in select(m["raw"], device="cpu", timing="step", label="step", activation="tanh"):
        r["seconds"] *= 3
    after = gradients.CHECKS["C06"].decide(m).evidence["cpu"]["tanh"]["step"]["value"]
    assert after == pytest.approx(3 * before)


def test_c06_reports_cuda_timings_beside_the_cpu_verdict(quick):
    """A CUDA run's record holds GPU rows too; decide reports them and judges on the CPU."""
    m = copy.deepcopy(quick["C06"])
    m["raw"] += [{**r, "device": "cuda"} for r in select(m["raw"], device="cpu")]
    m["design"]["devices"].append("cuda")
    m["design"]["threads"]["cuda"] = m["design"]["threads"]["cpu"]
    cpu_only = gradients.CHECKS["C06"].decide(copy.deepcopy(quick["C06"]))
    out = gradients.CHECKS["C06"].decide(m)
    assert out.verdict == cpu_only.verdict and out.evidence["cpu"] == cpu_only.evidence["cpu"]
    assert out.evidence["cuda"]["tanh"]["step"] == cpu_only.evidence["cpu"]["tanh"]["step"]


def _c10_with(m, relu_acc, other_time, other_step, ratio):
    mm = copy.deepcopy(m)
    seeds = mm["design"]["model_seeds"]
    for r in select(mm["raw"], kind="train"):
        k = seeds.index(r["seed"])
        if r["activation"] == "relu":
            r["acc_time"] = r["acc_step"] = relu_acc + 0.002 * k
        else:
            r["acc_time"], r["acc_step"] = other_time + 0.003 * k, other_step + 0.001 * k
    rng = np.random.default_rng(0)
    for r in select(mm["raw"], kind="timing", label="step"):
        f = 1.0 if r["activation"] == "relu" else ratio
        r["seconds"] = 1e-3 * f * (1 + 0.005 * rng.standard_normal())
    return gradients.CHECKS["C10"].decide(mm).verdict


def test_c10_rule(quick):
    m = quick["C10"]
    assert _c10_with(m, 0.5, 0.3, 0.45, 2.0) == Verdict.SUPPORTED  # ahead, thanks to speed
    assert _c10_with(m, 0.5, 0.3, 0.3, 1.0) == Verdict.PARTLY  # ahead, but not from speed
    assert _c10_with(m, 0.4, 0.4, 0.4, 1.0) == Verdict.REFUTED  # a tie, equal step cost
    assert _c10_with(m, 0.4, 0.4, 0.45, 2.0) == Verdict.PARTLY  # speed helps, not best


def test_c17_rule(quick):
    m = quick["C17"]
    decide = gradients.CHECKS["C17"].decide
    out = decide(copy.deepcopy(m))
    assert out.evidence["regions_on_plane"]["trained_median"] > 1
    assert out.evidence["mymodel_vs_relu_twin_max_acc_diff"] < 1e-6
    mm = copy.deepcopy(m)
    seeds = mm["design"]["model_seeds"]
    base = {"relu": (0.6, 0.01), "identity": (0.3, 0.012), "leaky_relu": (0.5, 0.011)}
    for r in select(mm["raw"], kind="twin"):
        start, step = base[r["activation"]]
        r["test_acc"] = start + step * seeds.index(r["seed"])
    for r in select(mm["raw"], kind="mymodel"):
        for stage in ("init", "trained"):
            r[f"{stage}_log10_grad_ratio"] = 0.01 * r["seed"]
            r[f"{stage}_zero_share"] = [0.5, 0.5]
    assert decide(mm).verdict == Verdict.SUPPORTED
    relu = {r["seed"]: r["test_acc"] for r in select(mm["raw"], kind="twin", activation="relu")}
    for r in select(mm["raw"], kind="twin", activation="leaky_relu"):
        r["test_acc"] = relu[r["seed"]]
    assert decide(mm).verdict == Verdict.PARTLY
    mm["raw"] = [r for r in mm["raw"] if r["seed"] == seeds[0]]
    assert decide(mm).verdict == Verdict.INCONCLUSIVE


@pytest.mark.parametrize("cid", ["C05", "C09", "C10", "C15", "C17"])
def test_fewer_than_min_seeds_is_inconclusive(quick, cid):
    """With MIN_SEEDS - 1 model seeds every rule of the family answers inconclusive."""
    m = copy.deepcopy(quick[cid])
    drop = set(m["design"]["model_seeds"][MIN_SEEDS - 1:])
    m["raw"] = [r for r in m["raw"] if r["seed"] not in drop]
    out = gradients.CHECKS[cid].decide(m)
    assert out.verdict == Verdict.INCONCLUSIVE and f"Fewer than {MIN_SEEDS}" in out.explanation


def test_accuracies_and_shares_have_bounded_intervals(quick):
    c09 = gradients.CHECKS["C09"].decide(copy.deepcopy(quick["C09"])).evidence
    for cell in c09["accuracy"].values():
        assert cell["test_acc"]["method"] == "wilson, effective n"
        assert 0 <= cell["test_acc"]["low"] <= cell["test_acc"]["high"] <= 1
    c17 = gradients.CHECKS["C17"].decide(copy.deepcopy(quick["C17"])).evidence
    assert c17["zero_share_trained"]["method"] == "percentile bootstrap over seeds"
    assert c17["mymodel_test_acc"]["method"] == "wilson, effective n"


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
