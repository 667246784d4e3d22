"""Claims C01, C12, C14, C16, C22: measured in the run, decided by their rules, plotted."""

from __future__ import annotations

import copy
import json
import time

import pytest

from reluthe.claims._base import CLAIM_NAMES, Context, Settings, Verdict
from reluthe.claims._records import check_measured, decode, encode, select
from reluthe.claims.symbolic import CHECKS, CLAIMS

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


def _same_outcome(a, b) -> bool:
    """Equal verdict, key, explanation and evidence (nan-aware: compared as encoded JSON)."""
    return (a.verdict, a.key, a.explanation) == (b.verdict, b.key, b.explanation) and \
        json.dumps(encode(a.evidence)) == json.dumps(encode(b.evidence))


def test_family_ids_and_rules():
    assert set(CHECKS) == set(EXPECTED)
    assert [m.__name__.rsplit(".", 1)[-1][:3] for m in CLAIMS] == [
        c.lower() for c in sorted(EXPECTED)]
    for module in CLAIMS:
        assert set(CLAIM_NAMES) <= set(vars(module))
    for check in CHECKS.values():
        assert "upported" in check.rule and "efuted" in check.rule


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_measure_is_json_and_decides(measured, cid, tmp_path):
    m = measured[cid]
    outcome = CHECKS[cid].decide(m)
    json.dumps(encode(outcome.evidence))
    assert outcome.verdict == EXPECTED[cid], outcome
    assert outcome.key and outcome.explanation
    if CHECKS[cid].plot is not None:
        names = CHECKS[cid].plot(m, tmp_path)
        assert names and all(n.startswith(cid.lower() + "_") for n in names)
        assert all(0 < (tmp_path / n).stat().st_size < 300_000 for n in names)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_record_re_decides(measured, cid):
    m = check_measured(measured[cid], cid)
    text = json.dumps(encode(m))
    assert len(text) < 1_000_000
    copy_ = decode(json.loads(text))
    assert _same_outcome(CHECKS[cid].decide(copy_), CHECKS[cid].decide(m))
    assert m["design"]["device"] == "cpu"
    if cid != "C16":
        assert all(row["seed"] is None for row in m["raw"]) and m["design"]["device_note"]


def test_family_is_fast(measured):
    assert measured["_seconds"] < 30


def test_c14_evidence(measured):
    ev = CHECKS["C14"].decide(measured["C14"]).evidence
    assert ev["one_sided"] == {"left": "0", "right": "1"}
    assert ev["subdifferential"] == "Interval(0, 1)"
    assert ev["torch_relu_grad_at_0"] == [0.0]


def _rows(m, **cell):
    return select(m["raw"], **cell)


def test_c01_c12_c14_rules_can_refute_and_support(measured):
    m = copy.deepcopy(measured["C14"])
    _rows(m, kind="article_vs_derivative")[0]["intervals"][0]["equal"] = False
    assert CHECKS["C14"].decide(m).verdict == Verdict.REFUTED
    m = copy.deepcopy(measured["C14"])
    for row in _rows(m, kind="one_sided"):
        row["from_pieces"] = row["difference_quotient"] = "1"
    assert CHECKS["C14"].decide(m).verdict == Verdict.SUPPORTED

    m = copy.deepcopy(measured["C01"])
    _rows(m, kind="torch", dtype="float32")[0]["value_mismatches"].append(
        {"category": "regular", "x": 1.0})
    assert CHECKS["C01"].decide(m).verdict == Verdict.REFUTED
    m = copy.deepcopy(measured["C01"])
    _rows(m, kind="form", form="§3.1 cases")[0]["equal"] = False
    assert CHECKS["C01"].decide(m).verdict == Verdict.REFUTED

    m = copy.deepcopy(measured["C12"])
    _rows(m, kind="piece")[-1]["maximal_piece"] = 0  # as if x and 0 were one affine piece
    assert CHECKS["C12"].decide(m).evidence["n_maximal_affine_pieces"] == 1
    assert CHECKS["C12"].decide(m).verdict == Verdict.REFUTED


def test_c16_c22_rules_can_refute(measured):
    m = copy.deepcopy(measured["C16"])
    m["raw"][3]["within_bound"] = False
    assert CHECKS["C16"].decide(m).verdict == Verdict.REFUTED

    m = copy.deepcopy(measured["C22"])
    _rows(m, kind="torch", activation="tanh")[0]["mismatches"].append(
        {"category": "regular", "x": 0.5, "quantity": "value", "torch": 0.0, "expected": 0.46})
    assert CHECKS["C22"].decide(m).verdict == Verdict.PARTLY
    _rows(m, kind="formula", activation="elu")[0]["comparison"]["equal"] = False
    assert CHECKS["C22"].decide(m).verdict == Verdict.REFUTED


def test_c16_covers_seeds_dtypes_and_exact_zeros(measured):
    m = measured["C16"]
    runs = m["raw"]
    assert m["design"]["seeds"] == Context(Settings(seed=0)).seeds("model", 5) == [0, 1, 2, 3, 4]
    assert {r["seed"] for r in runs} == set(m["design"]["seeds"])
    assert {r["dtype"] for r in runs} == {"float64", "float32"} and len(runs) == 10
    assert all(r["n_exact_zero_preactivations"] > 0 for r in runs)
