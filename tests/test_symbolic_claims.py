"""Claims C01, C12, C14, C16, C22: measured in the run, decided by their rules, plotted."""

from __future__ import annotations

import copy
import json
import time

import pytest

from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims.symbolic_claims import CHECKS

EXPECTED = {"C01": Verdict.SUPPORTED, "C12": Verdict.SUPPORTED, "C14": Verdict.PARTLY,
            "C16": Verdict.SUPPORTED, "C22": Verdict.SUPPORTED}


@pytest.fixture(scope="module")
def measured():
    ctx = Context(Settings(quick=True, seed=0))
    out, start = {}, time.perf_counter()
    for cid, check in CHECKS.items():
        out[cid] = check.measure(ctx)
    out["_seconds"] = time.perf_counter() - start
    return out


def test_family_ids_and_rules():
    assert set(CHECKS) == set(EXPECTED)
    for check in CHECKS.values():
        assert "upported" in check.rule and "efuted" in check.rule


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_measure_is_json_and_decides(measured, cid, tmp_path):
    m = measured[cid]
    json.loads(json.dumps(m))
    outcome = CHECKS[cid].decide(m)
    json.dumps(outcome.evidence)
    assert outcome.verdict == EXPECTED[cid], outcome
    assert outcome.key and outcome.explanation
    if CHECKS[cid].plot is not None:
        names = CHECKS[cid].plot(m, tmp_path)
        assert names and all(n.startswith(cid.lower() + "_") for n in names)
        assert all(0 < (tmp_path / n).stat().st_size < 300_000 for n in names)


def test_family_is_fast(measured):
    assert measured["_seconds"] < 30


def test_c14_evidence(measured):
    ev = CHECKS["C14"].decide(measured["C14"]).evidence
    assert ev["one_sided"] == {"left": "0", "right": "1"}
    assert ev["subdifferential"] == "Interval(0, 1)"
    assert ev["torch_relu_grad_at_0"] == [0.0]


def test_rules_can_refute_and_support(measured):
    m = copy.deepcopy(measured["C14"])
    m["article_vs_derivative"]["intervals"][0]["equal"] = False
    assert CHECKS["C14"].decide(m).verdict == Verdict.REFUTED
    m = copy.deepcopy(measured["C14"])
    m["one_sided"] = m["difference_quotients"] = {"left": "1", "right": "1"}
    assert CHECKS["C14"].decide(m).verdict == Verdict.SUPPORTED

    m = copy.deepcopy(measured["C01"])
    m["torch"]["float32"]["value_mismatches"].append({"category": "regular", "x": 1.0})
    assert CHECKS["C01"].decide(m).verdict == Verdict.REFUTED
    m = copy.deepcopy(measured["C01"])
    m["comparisons"]["§3.1 cases"]["equal"] = False
    assert CHECKS["C01"].decide(m).verdict == Verdict.REFUTED

    m = copy.deepcopy(measured["C12"])
    m["n_maximal_affine_pieces"] = 3
    assert CHECKS["C12"].decide(m).verdict == Verdict.REFUTED

    m = copy.deepcopy(measured["C16"])
    m["runs"][3]["within_bound"] = False
    assert CHECKS["C16"].decide(m).verdict == Verdict.REFUTED

    m = copy.deepcopy(measured["C22"])
    m["tanh"]["torch"][0]["mismatches"].append(
        {"category": "regular", "x": 0.5, "quantity": "value", "torch": 0.0, "expected": 0.46})
    assert CHECKS["C22"].decide(m).verdict == Verdict.PARTLY
    m["elu"]["comparison"]["equal"] = False
    assert CHECKS["C22"].decide(m).verdict == Verdict.REFUTED


def test_c16_covers_seeds_dtypes_and_exact_zeros(measured):
    runs = measured["C16"]["runs"]
    assert len({r["seed"] for r in runs}) == 5 and {r["dtype"] for r in runs} == {
        "float64", "float32"}
    assert all(r["n_exact_zero_preactivations"] > 0 for r in runs)
