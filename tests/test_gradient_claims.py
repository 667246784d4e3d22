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
            seeds = design.get("data_seeds", [design.get("data_seed")])
            assert seeds == ctx.seeds("data", len(seeds)) and seeds[0] == data_seed
    for cid in ("C06", "C10"):
        timing = quick[cid]["design"]["timing_seeds"]
        assert timing == ctx.seeds("timing", len(timing))
    assert {r["seed"] for r in quick["C06"]["raw"]} == set(quick["C06"]["design"]["timing_seeds"])
    mc = quick["C09"]["design"]
    assert set(mc["mc_seeds"]).isdisjoint(mc["control_seeds"])


def test_c05_init_decides_vanishing(quick):
    m = quick["C05"]
    out = gradients.CHECKS["C05"].decide(copy.deepcopy(m))
    # the mechanism is exact; relu at depth 6: torch's default init (χ = 1/6) vanishes, He keeps
    assert out.evidence["mechanism"]["state"] == "holds"
    share = out.evidence["mechanism"]["share_pos_unchanged"]
    assert share["relu"] == 1.0 and share["tanh"] < 1e-3 and share["sigmoid"] == 0.0
    states = {i: c["state"] for i, c in out.evidence["consequence"].items()}
    assert states["default"] in ("fails", "reduced") and states["he"] == "holds"
    assert out.verdict == Verdict.PARTLY and "holds under he" in out.explanation
    assert 0.4 < out.evidence["relu_zero_grad_share"]["value"] < 0.6

    def with_relu(ratio):
        mm = copy.deepcopy(m)
        for r in select(mm["raw"], activation="relu"):
            r["log10_ratio"] = ratio + 0.01 * (r["seed"] % 3)
        return gradients.CHECKS["C05"].decide(mm).verdict

    assert with_relu(0.0) == Verdict.SUPPORTED
    assert with_relu(-5.0) == Verdict.REFUTED
    one = copy.deepcopy(m)
    one["raw"] = [r for r in one["raw"] if r["data_seed"] == m["design"]["data_seeds"][0]]
    assert gradients.CHECKS["C05"].decide(one).verdict == Verdict.INCONCLUSIVE


def test_c15_bound_holds_and_a_violation_is_caught(quick):
    m = quick["C15"]
    out = gradients.CHECKS["C15"].decide(copy.deepcopy(m))
    bounds = out.evidence["bounds"]
    assert bounds["bound_holds"] and bounds["max_measured_over_bound"] <= 1
    assert bounds["max_local_gain_over_sup"] <= 1 + 1e-9
    assert out.evidence["sup_abs_derivative"]["sigmoid"] == 0.25
    assert out.evidence["mechanism"]["state"] == "holds"
    bad = copy.deepcopy(m)
    bad["raw"][0]["max_ratio_over_bound"] = 1.5
    assert gradients.CHECKS["C15"].decide(bad).verdict == Verdict.INCONCLUSIVE


def test_c09_rule(quick):
    """The quick C09 record decides; the hand-built records of tests/test_rule_c09.py drive
    every verdict."""
    m = quick["C09"]
    out = gradients.CHECKS["C09"].decide(copy.deepcopy(m))
    born = out.evidence["dead_network_formula"]
    assert born["formula_inside_interval"] >= 3
    assert born["with_symmetric_biases"]["zero input"]["agreeing"] >= 3
    assert out.evidence["judged_depth"] == max(m["design"]["depths"])
    chosen = {lr for c in out.evidence["accuracy"].values() for lr in c["lr"]}
    assert chosen <= set(m["design"]["lrs"])
    assert out.verdict in (Verdict.SUPPORTED, Verdict.PARTLY)


# C06's and C10's rules on hand-built records: tests/test_rule_c06.py, test_rule_c10.py


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


def test_c17_quick_run_checks_the_articles_model(quick):
    """MyModel starts from the relu twin's weights and, loaded with its trained weights,
    computes its outputs; each arm's learning rate comes from the grid (the rule's outcomes are
    driven in tests/test_rule_c17.py)."""
    m = quick["C17"]
    out = gradients.CHECKS["C17"].decide(copy.deepcopy(m))
    assert out.evidence["mymodel_init_max_abs_diff"] == 0.0
    assert out.evidence["mymodel_output_max_abs_diff"] < 1e-5
    assert out.evidence["nonlinearity"]["regions_median"] > 1
    lrs = {lr for per_data in out.evidence["chosen_lr"].values() for lr in per_data.values()}
    assert lrs <= set(m["design"]["lrs"])
    assert {r["activation"] for r in select(m["raw"], kind="init_flow")} == {"sigmoid", "tanh"}


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
    assert c17["sparsity"]["zero_share"]["method"] == "percentile bootstrap over seeds"
    assert c17["test_acc"]["relu"]["method"] == "wilson, effective n"


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
